//! What judging one check gives before it becomes a verdict: a status, one
//! sentence, the kind's evidence. The helpers every kind shares stop early
//! with `Unjudged` (nothing to show) or `Refused` (what was seen, for alert
//! checks); a kind's judgement carries them up with `?`, and they become its
//! verdict as they are.

use super::evidence::Refusal;
use crate::record::Observations;
use crate::setup::{PhasePlan, ServiceMetrics};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Inconclusive,
}

impl Status {
    pub fn label(&self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Inconclusive => "INCONCLUSIVE",
        }
    }
}

/// What a kind's judgement has to go on.
#[derive(Clone, Copy)]
pub struct Judging<'a> {
    /// The check's id (`checks[2]`): its condition, service figures and
    /// dashboard are recorded under it.
    pub check_id: &'a str,
    pub observations: &'a Observations,
    /// The plan's phases, for the names of those that never ran.
    pub phases: &'a [PhasePlan],
    pub service_metrics: &'a ServiceMetrics,
}

impl Judging<'_> {
    /// Seconds from the run's start, for people.
    pub fn rel(&self, t: f64) -> f64 {
        t - self.observations.run_start
    }

    /// A phase's name, from the records or else the plan.
    pub fn phase_name(&self, phase: usize) -> &str {
        self.observations
            .phases
            .get(phase)
            .map(|p| p.name.as_str())
            .or_else(|| self.phases.get(phase).map(|p| p.name.as_str()))
            .unwrap_or("?")
    }
}

/// A judgement: pass, fail or inconclusive, one sentence why, the figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged<E> {
    pub status: Status,
    pub summary: String,
    pub evidence: E,
}

impl<E> Judged<E> {
    pub fn new(status: Status, summary: impl Into<String>, evidence: E) -> Self {
        Judged {
            status,
            summary: summary.into(),
            evidence,
        }
    }
}

/// A kind's judgement, or why it stopped before its figures.
pub type Judgement<E, Stop = Unjudged> = Result<Judged<E>, Stop>;

/// Why a check stopped before its figures, with nothing to show: no
/// Alertmanager was watched, the phase did not run, it sent no traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct Unjudged {
    pub status: Status,
    pub summary: String,
}

impl Unjudged {
    pub fn inconclusive(summary: impl Into<String>) -> Self {
        Unjudged {
            status: Status::Inconclusive,
            summary: summary.into(),
        }
    }
}

/// Why an alert check stopped before its figures, with what it saw: the
/// alerts Prometheus had instead, the rule's failing query, the condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub status: Status,
    pub summary: String,
    pub refusal: Refusal,
}

impl Refused {
    pub fn new(status: Status, summary: impl Into<String>, refusal: Refusal) -> Self {
        Refused {
            status,
            summary: summary.into(),
            refusal,
        }
    }
}

impl From<Unjudged> for Refused {
    fn from(stop: Unjudged) -> Self {
        Refused::new(stop.status, stop.summary, Refusal::default())
    }
}

impl<E: Default> From<Unjudged> for Judged<E> {
    fn from(stop: Unjudged) -> Self {
        Judged::new(stop.status, stop.summary, E::default())
    }
}

impl<E: From<Refusal>> From<Refused> for Judged<E> {
    fn from(stop: Refused) -> Self {
        Judged::new(stop.status, stop.summary, E::from(stop.refusal))
    }
}

/// Seconds with one decimal, for sentences.
pub fn secs(value: f64) -> String {
    format!("{value:.1}s")
}

/// `longer than it` or, a span equal to the deadline, `as long as it`
/// (which cannot be met either: nothing happens at the fault's instant).
pub fn longer_or_as_long(span: f64, deadline_s: f64) -> &'static str {
    if span > deadline_s {
        "longer than it"
    } else {
        "as long as it"
    }
}
