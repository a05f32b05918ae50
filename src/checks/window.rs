//! Interrupted runs: what a check still needed of the run. A signal
//! (Ctrl-C; SIGTERM from an evicted pod, a drained node or a Job's deadline)
//! stops a run part-way. A check whose window was over before the signal —
//! and, where Prometheus decides, evaluated or scraped past its end — is
//! judged exactly as in a complete run; one whose window was still open says
//! what it needed (`Needed`).
//!
//! Each kind states its own window rule (`Check::window`) with the pieces
//! here: a phase ran to its end, the anchor came, Prometheus evaluated or
//! scraped past a moment, Alertmanager was watched past it. Pure: it reads
//! the plan and the observations only.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::judged::{secs, Judging};
use crate::record::{Observations, PhaseRecord};
use crate::setup::{AlertRef, Anchor};

/// Whether a check's window was over, and seen, when the run stopped.
/// Recorded with each verdict of an interrupted run (report.json's
/// `verdicts[].window`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Window {
    /// Judged as in a complete run.
    Complete,
    /// Still open: what the check needed of the rest of the run.
    Open { needed: String },
}

impl Window {
    pub fn of(found: Result<(), Needed>) -> Self {
        match found {
            Ok(()) => Window::Complete,
            Err(needed) => Window::Open {
                needed: needed.to_string(),
            },
        }
    }
}

/// A moment a check's window reaches to, for sentences.
#[derive(Debug, Clone, PartialEq)]
pub enum Moment {
    /// `the end of `healthy``.
    PhaseEnd { phase: String },
    /// `its deadline, 15.0s after errors.start`.
    Deadline { seconds: f64, after: String },
}

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Moment::PhaseEnd { phase } => write!(f, "the end of `{phase}`"),
            Moment::Deadline { seconds, after } => {
                write!(f, "its deadline, {} after {after}", secs(*seconds))
            }
        }
    }
}

/// What a check needed of the rest of an interrupted run. Times are in
/// seconds from the run's start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Needed {
    #[error("`{phase}` never started")]
    NeverStarted { phase: String },
    #[error("`{phase}` was cut short by the interruption")]
    CutShort { phase: String },
    #[error("the condition had not held when the run stopped")]
    ConditionNotHeld,
    #[error("it looks at the whole run, and the run stopped early")]
    WholeRun,
    #[error("Prometheus has no rule for `{alert}`")]
    NoRule { alert: String },
    #[error("{moment} (t={}), came after observation ended (t={})", secs(*.at), secs(*.until))]
    AfterObservation { moment: Moment, at: f64, until: f64 },
    #[error(
        "Prometheus had not evaluated group `{group}` past {moment} (t={}; last evaluation seen {})",
        secs(*.at),
        seen_at(*.last, "none")
    )]
    NotEvaluated {
        group: String,
        moment: Moment,
        at: f64,
        last: Option<f64>,
    },
    #[error("no Alertmanager was watched")]
    NoAlertmanager,
    #[error(
        "Alertmanager was last watched at t={}, before {moment} (t={})",
        secs(*.last),
        secs(*.at)
    )]
    AlertmanagerNotWatched { moment: Moment, at: f64, last: f64 },
    #[error(
        "Prometheus had not scraped the target past {moment} (t={}; last scrape {})",
        secs(*.at),
        seen_at(*.last, "unknown")
    )]
    NotScraped {
        moment: Moment,
        at: f64,
        last: Option<f64>,
    },
}

fn seen_at(t: Option<f64>, otherwise: &str) -> String {
    t.map(|t| format!("at t={}", secs(t)))
        .unwrap_or_else(|| otherwise.to_string())
}

fn end_of(record: &PhaseRecord) -> Moment {
    Moment::PhaseEnd {
        phase: record.name.clone(),
    }
}

/// The phase's record, if it ran to its planned end.
pub fn phase_over<'a>(judging: &Judging<'a>, phase: usize) -> Result<&'a PhaseRecord, Needed> {
    match judging.observations.phases.get(phase) {
        None => Err(Needed::NeverStarted {
            phase: judging.phase_name(phase).to_string(),
        }),
        Some(record) if record.cut_short => Err(Needed::CutShort {
            phase: record.name.clone(),
        }),
        Some(record) => Ok(record),
    }
}

/// When the check's anchor came, and its name.
pub fn anchor_at(judging: &Judging, anchor: &Anchor) -> Result<(f64, String), Needed> {
    match anchor {
        Anchor::PhaseStart { phase } => match judging.observations.phases.get(*phase) {
            Some(record) => Ok((record.started_at, format!("{}.start", record.name))),
            None => Err(Needed::NeverStarted {
                phase: judging.phase_name(*phase).to_string(),
            }),
        },
        Anchor::PhaseEnd { phase } => phase_over(judging, *phase)
            .map(|record| (record.ended_at, format!("{}.end", record.name))),
        Anchor::Condition { .. } => judging
            .observations
            .conditions
            .get(judging.check_id)
            .and_then(|c| c.first_true)
            .map(|t| (t, "the condition held".to_string()))
            .ok_or(Needed::ConditionNotHeld),
    }
}

/// When a deadline counted from `anchor` falls due, and how to say it.
pub fn deadline_due(
    judging: &Judging,
    anchor: &Anchor,
    deadline: Duration,
) -> Result<(f64, Moment), Needed> {
    let (at, after) = anchor_at(judging, anchor)?;
    let seconds = deadline.as_secs_f64();
    Ok((at + seconds, Moment::Deadline { seconds, after }))
}

/// Prometheus evaluated the alert's rule group at or after `t`.
pub fn evaluated_past(
    alert: &AlertRef,
    t: f64,
    moment: Moment,
    observations: &Observations,
) -> Result<(), Needed> {
    let Some(rule) = observations.rules.get(&alert.name) else {
        return Err(Needed::NoRule {
            alert: alert.to_string(),
        });
    };
    let rel = |t: f64| t - observations.run_start;
    match observations.watch.evaluated_until(&rule.group) {
        Some(last) if last >= t => Ok(()),
        _ if t > observations.observed_until => Err(Needed::AfterObservation {
            moment,
            at: rel(t),
            until: rel(observations.observed_until),
        }),
        last => Err(Needed::NotEvaluated {
            group: rule.group.clone(),
            moment,
            at: rel(t),
            last: last.map(rel),
        }),
    }
}

/// The alert's group was evaluated past the end of `phase`, which ran to
/// its end.
pub fn evaluated_past_phase(
    judging: &Judging,
    alert: &AlertRef,
    phase: usize,
) -> Result<(), Needed> {
    let record = phase_over(judging, phase)?;
    evaluated_past(alert, record.ended_at, end_of(record), judging.observations)
}

/// Alertmanager was watched (its API polled, the receiver listening) at or
/// after `t`.
pub fn alertmanager_watched_past(
    t: f64,
    moment: Moment,
    observations: &Observations,
) -> Result<(), Needed> {
    let Some(am) = &observations.alertmanager else {
        return Err(Needed::NoAlertmanager);
    };
    if am.observed_until >= t {
        return Ok(());
    }
    Err(Needed::AlertmanagerNotWatched {
        moment,
        at: t - observations.run_start,
        last: am.observed_until - observations.run_start,
    })
}

/// `phase` ran to its end, and Alertmanager was watched past it.
pub fn alertmanager_watched_past_phase(judging: &Judging, phase: usize) -> Result<(), Needed> {
    let record = phase_over(judging, phase)?;
    alertmanager_watched_past(record.ended_at, end_of(record), judging.observations)
}

/// `phase` ran to its end and, for a figure the service measured,
/// Prometheus holds a scrape of the target at or after that end (samples
/// are ingested in time order, so every scrape inside the phase is in).
pub fn phase_measured(judging: &Judging, phase: usize, by_service: bool) -> Result<(), Needed> {
    let record = phase_over(judging, phase)?;
    if !by_service {
        return Ok(());
    }
    let observations = judging.observations;
    let rel = |t: f64| t - observations.run_start;
    match observations.scraped_until {
        Some(last) if last >= record.ended_at => Ok(()),
        last => Err(Needed::NotScraped {
            moment: end_of(record),
            at: rel(record.ended_at),
            last: last.map(rel),
        }),
    }
}
