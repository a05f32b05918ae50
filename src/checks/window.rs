//! Interrupted runs: what can still be judged. A signal (Ctrl-C; SIGTERM
//! from an evicted pod, a drained node or a Job's deadline) stops a run
//! part-way. A check whose window was over before the signal — and, where
//! Prometheus decides, evaluated or scraped past its end — is judged exactly
//! as in a complete run. A check whose window was still open is
//! inconclusive and says what it needed, unless what it had already seen
//! settles it: an alert that went off during a phase that had to stay
//! silent fails, whatever the rest of the run would have done.
//!
//! One rule per check kind, in [`window`]; a new kind adds an arm there and,
//! when some of its verdicts cannot be changed by more of the run, one in
//! [`settled_early`]. Pure: it reads the plan and the observations only.

use serde::{Deserialize, Serialize};

use super::{secs, Kind, Status, Verdict};
use crate::plan::{Anchor, CheckKind, CheckPlan, Plan, Source};
use crate::record::{Observations, PhaseRecord};

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

/// The window of `check` in an interrupted run, by kind:
///
/// - `silent_during`: its phase ran to its end, and Prometheus evaluated the
///   alert's rule group at or after that end (every evaluation inside the
///   phase has then written its `ALERTS` samples);
/// - `fires_within`, `resolves_within`: the anchor came (a phase's start; a
///   phase's end that was not cut short; the condition holding), and
///   Prometheus evaluated the group at or after the deadline;
/// - `latency`, `error_ratio`: the phase ran to its end; measured by the
///   service, Prometheus also holds a scrape of the target at or after that
///   end (samples are ingested in time order, so every scrape inside the
///   phase is in);
/// - `dashboard`: never complete: it looks at the whole run;
/// - `notifies_within`, `notifies_resolved_within`: the anchor came, and
///   Alertmanager was watched past the deadline;
/// - `no_notification_during`: its phase ran to its end, and Alertmanager
///   was watched past that end;
/// - `routed_to`: its phase (when it names one) ran to its end, and
///   Alertmanager was watched past it; without a phase it looks at the whole
///   run.
pub fn window(plan: &Plan, check: &CheckPlan, observations: &Observations) -> Window {
    let found = match &check.kind {
        CheckKind::SilentDuring { alert, phase, .. } => phase_over(plan, *phase, observations)
            .and_then(|record| {
                evaluated_past(alert, record.ended_at, &end_of(record), observations)
            }),
        CheckKind::FiresWithin {
            alert,
            deadline,
            anchor,
        }
        | CheckKind::ResolvesWithin {
            alert,
            deadline,
            anchor,
        } => anchor_at(plan, check, anchor, observations).and_then(|(at, name)| {
            let due = at + deadline.as_secs_f64();
            let what = format!(
                "its deadline, {} after {name}",
                secs(deadline.as_secs_f64())
            );
            evaluated_past(alert, due, &what, observations)
        }),
        CheckKind::Latency { phase, source, .. } | CheckKind::ErrorRatio { phase, source, .. } => {
            phase_over(plan, *phase, observations).and_then(|record| match source {
                Source::Client => Ok(()),
                Source::Prometheus => scraped_past(record, observations),
            })
        }
        CheckKind::Dashboard { .. } | CheckKind::RoutedTo { phase: None, .. } => {
            Err("it looks at the whole run, and the run stopped early".to_string())
        }
        CheckKind::NotifiesWithin {
            deadline, anchor, ..
        }
        | CheckKind::NotifiesResolvedWithin {
            deadline, anchor, ..
        } => anchor_at(plan, check, anchor, observations).and_then(|(at, name)| {
            let due = at + deadline.as_secs_f64();
            let what = format!(
                "its deadline, {} after {name}",
                secs(deadline.as_secs_f64())
            );
            alertmanager_watched_past(due, &what, observations)
        }),
        CheckKind::NoNotificationDuring { phase, .. }
        | CheckKind::RoutedTo {
            phase: Some(phase), ..
        } => phase_over(plan, *phase, observations).and_then(|record| {
            alertmanager_watched_past(record.ended_at, &end_of(record), observations)
        }),
    };
    match found {
        Ok(()) => Window::Complete,
        Err(needed) => Window::Open { needed },
    }
}

/// Whether a verdict reached on an open window is one the rest of the run
/// could not change.
pub fn settled_early(kind: Kind, status: Status) -> bool {
    match (kind, status) {
        // The alert was pending or firing inside the phase (or its rule is
        // missing or broken): silence can no longer be shown.
        (Kind::SilentDuring, Status::Fail) => true,
        // It fired (in time or late), was already firing at the anchor, or
        // observation went past the deadline without it firing: the check
        // itself only concludes on what Prometheus recorded.
        (Kind::FiresWithin, Status::Pass | Status::Fail) => true,
        // It resolved late, or was still active past the deadline.
        (Kind::ResolvesWithin, Status::Fail) => true,
        // Every panel showed data: more of the run cannot take it away.
        (Kind::Dashboard, Status::Pass) => true,
        // The page came (in time or late), or observation went past the
        // deadline without it: the check itself only concludes on what the
        // receiver and Alertmanager recorded.
        (Kind::NotifiesWithin | Kind::NotifiesResolvedWithin, Status::Pass | Status::Fail) => true,
        // Somebody was notified inside the phase; the alert was seen routed
        // (to the receiver, or elsewhere, or held back): routing does not
        // change with more of the run.
        (Kind::NoNotificationDuring, Status::Fail) => true,
        (Kind::RoutedTo, Status::Pass | Status::Fail) => true,
        // A silence or a resolution not yet shown to last its window; an SLO
        // over part of a phase, which the rest of it could move either way.
        _ => false,
    }
}

/// A verdict of an interrupted run, given its window: kept when the window
/// was complete or the verdict settled early, else inconclusive, saying what
/// it needed and what it had seen.
pub fn after_interruption(mut verdict: Verdict, window: Window) -> Verdict {
    if let Window::Open { needed } = &window {
        if verdict.status == Status::Inconclusive {
            verdict.summary = format!("needed the rest of the run: {needed}; {}", verdict.summary);
        } else if !settled_early(verdict.kind, verdict.status) {
            verdict.summary = format!(
                "needed the rest of the run: {needed}; had it ended here: {} ({})",
                verdict.summary,
                verdict.status.label()
            );
            verdict.status = Status::Inconclusive;
        }
    }
    verdict.window = Some(window);
    verdict
}

/// `healthy.end`, for sentences.
fn end_of(record: &PhaseRecord) -> String {
    format!("the end of `{}`", record.name)
}

fn phase_name(plan: &Plan, phase: usize) -> &str {
    plan.phases
        .get(phase)
        .map(|p| p.name.as_str())
        .unwrap_or("?")
}

/// The phase's record, if it ran to its planned end.
fn phase_over<'a>(
    plan: &Plan,
    phase: usize,
    observations: &'a Observations,
) -> Result<&'a PhaseRecord, String> {
    match observations.phases.get(phase) {
        None => Err(format!("`{}` never started", phase_name(plan, phase))),
        Some(record) if record.cut_short => Err(format!(
            "`{}` was cut short by the interruption",
            record.name
        )),
        Some(record) => Ok(record),
    }
}

/// When the check's anchor came, and its name.
fn anchor_at(
    plan: &Plan,
    check: &CheckPlan,
    anchor: &Anchor,
    observations: &Observations,
) -> Result<(f64, String), String> {
    match anchor {
        Anchor::PhaseStart { phase } => match observations.phases.get(*phase) {
            Some(record) => Ok((record.started_at, format!("{}.start", record.name))),
            None => Err(format!("`{}` never started", phase_name(plan, *phase))),
        },
        Anchor::PhaseEnd { phase } => phase_over(plan, *phase, observations)
            .map(|record| (record.ended_at, format!("{}.end", record.name))),
        Anchor::Condition { .. } => observations
            .conditions
            .get(&check.id)
            .and_then(|c| c.first_true)
            .map(|t| (t, "the condition held".to_string()))
            .ok_or_else(|| "the condition had not held when the run stopped".to_string()),
    }
}

/// Prometheus evaluated the alert's rule group at or after `t`.
fn evaluated_past(
    alert: &str,
    t: f64,
    what: &str,
    observations: &Observations,
) -> Result<(), String> {
    let Some(rule) = observations
        .rules
        .get(crate::plan::AlertRef::name_of(alert))
    else {
        return Err(format!("Prometheus has no rule for `{alert}`"));
    };
    let rel = |t: f64| secs(t - observations.run_start);
    match observations.watch.evaluated_until(&rule.group) {
        Some(last) if last >= t => Ok(()),
        _ if t > observations.observed_until => Err(format!(
            "{what} (t={}), came after observation ended (t={})",
            rel(t),
            rel(observations.observed_until)
        )),
        last => Err(format!(
            "Prometheus had not evaluated group `{}` past {what} (t={}; last evaluation seen {})",
            rule.group,
            secs(t - observations.run_start),
            last.map(|l| format!("at t={}", secs(l - observations.run_start)))
                .unwrap_or_else(|| "none".into())
        )),
    }
}

/// Alertmanager was watched (its API polled, the receiver listening) at or
/// after `t`.
fn alertmanager_watched_past(
    t: f64,
    what: &str,
    observations: &Observations,
) -> Result<(), String> {
    let Some(am) = &observations.alertmanager else {
        return Err("no Alertmanager was watched".into());
    };
    if am.observed_until >= t {
        return Ok(());
    }
    Err(format!(
        "Alertmanager was last watched at t={}, before {what} (t={})",
        secs(am.observed_until - observations.run_start),
        secs(t - observations.run_start)
    ))
}

/// Prometheus holds a scrape of the target at or after the phase's end.
fn scraped_past(record: &PhaseRecord, observations: &Observations) -> Result<(), String> {
    match observations.scraped_until {
        Some(last) if last >= record.ended_at => Ok(()),
        last => Err(format!(
            "Prometheus had not scraped the target past {} (t={}; last scrape {})",
            end_of(record),
            secs(record.ended_at - observations.run_start),
            last.map(|l| format!("at t={}", secs(l - observations.run_start)))
                .unwrap_or_else(|| "unknown".into())
        )),
    }
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
