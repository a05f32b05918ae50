//! Checks: turning observations into verdicts — pass, fail or inconclusive —
//! each with the evidence a person needs to believe it.
//!
//! Pure functions of the plan and the observations; how the observations
//! were made is not their business. The rule they never break: a check that
//! could not be judged is inconclusive, never a pass. An interrupted run
//! judges what it finished (`window`).

mod alerts;
mod dashboard;
mod notify;
mod slo;
pub mod window;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::plan::{CheckKind, CheckPlan, Plan};
use crate::record::{Observations, RunStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Where the check was written (`checks[2]`, `checks[3].client`).
    pub id: String,
    pub name: String,
    pub kind: Kind,
    pub status: Status,
    /// One sentence: why this status.
    pub summary: String,
    /// The figures behind it, by name.
    pub evidence: BTreeMap<String, serde_json::Value>,
    /// In an interrupted run: whether the check's window was over before the
    /// signal, or what it still needed (absent for other runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<window::Window>,
}

impl Verdict {
    fn new(check: &CheckPlan, status: Status, summary: String) -> Self {
        Verdict {
            id: check.id.clone(),
            name: check.name.clone(),
            kind: Kind::of(&check.kind),
            status,
            summary,
            evidence: BTreeMap::new(),
            window: None,
        }
    }

    fn with(mut self, key: &str, value: impl Serialize) -> Self {
        if let Ok(value) = serde_json::to_value(value) {
            self.evidence.insert(key.to_string(), value);
        }
        self
    }
}

/// Which kind of check a verdict judges (in JSON and in the Pushgateway's
/// labels: `fires_within`, `resolves_within`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    FiresWithin,
    ResolvesWithin,
    SilentDuring,
    Latency,
    ErrorRatio,
    Dashboard,
    NotifiesWithin,
    NotifiesResolvedWithin,
    NoNotificationDuring,
    RoutedTo,
}

impl Kind {
    pub fn of(kind: &CheckKind) -> Self {
        match kind {
            CheckKind::FiresWithin { .. } => Kind::FiresWithin,
            CheckKind::ResolvesWithin { .. } => Kind::ResolvesWithin,
            CheckKind::SilentDuring { .. } => Kind::SilentDuring,
            CheckKind::Latency { .. } => Kind::Latency,
            CheckKind::ErrorRatio { .. } => Kind::ErrorRatio,
            CheckKind::Dashboard { .. } => Kind::Dashboard,
            CheckKind::NotifiesWithin { .. } => Kind::NotifiesWithin,
            CheckKind::NotifiesResolvedWithin { .. } => Kind::NotifiesResolvedWithin,
            CheckKind::NoNotificationDuring { .. } => Kind::NoNotificationDuring,
            CheckKind::RoutedTo { .. } => Kind::RoutedTo,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::FiresWithin => "fires_within",
            Kind::ResolvesWithin => "resolves_within",
            Kind::SilentDuring => "silent_during",
            Kind::Latency => "latency",
            Kind::ErrorRatio => "error_ratio",
            Kind::Dashboard => "dashboard",
            Kind::NotifiesWithin => "notifies_within",
            Kind::NotifiesResolvedWithin => "notifies_resolved_within",
            Kind::NoNotificationDuring => "no_notifications_during",
            Kind::RoutedTo => "routed_to",
        }
    }

    /// A deadline on an alert's timeline (drawn on the report's timeline).
    pub fn is_deadline(&self) -> bool {
        matches!(
            self,
            Kind::FiresWithin
                | Kind::ResolvesWithin
                | Kind::NotifiesWithin
                | Kind::NotifiesResolvedWithin
        )
    }
}

/// Judges every check of the plan; in an interrupted run, each on what it
/// needed having been seen or not (`window`).
pub fn evaluate(plan: &Plan, observations: &Observations) -> Vec<Verdict> {
    plan.checks
        .iter()
        .map(|check| {
            let verdict = evaluate_one(plan, check, observations);
            match observations.status {
                RunStatus::Interrupted(_) => {
                    window::after_interruption(verdict, window::window(plan, check, observations))
                }
                _ => verdict,
            }
        })
        .collect()
}

fn evaluate_one(plan: &Plan, check: &CheckPlan, observations: &Observations) -> Verdict {
    if let RunStatus::Aborted(reason) = &observations.status {
        return Verdict::new(
            check,
            Status::Inconclusive,
            format!("the run did not happen: {reason}"),
        );
    }
    match &check.kind {
        CheckKind::FiresWithin {
            alert,
            deadline,
            anchor,
        } => alerts::fires_within(check, alert, *deadline, anchor, observations),
        CheckKind::ResolvesWithin {
            alert,
            deadline,
            anchor,
        } => alerts::resolves_within(check, alert, *deadline, anchor, observations),
        CheckKind::SilentDuring {
            alert,
            phase,
            allow_pending,
        } => alerts::silent_during(check, alert, *phase, *allow_pending, observations),
        CheckKind::Latency {
            quantile,
            below,
            phase,
            source,
        } => slo::latency(
            plan,
            check,
            *quantile,
            *below,
            *phase,
            *source,
            observations,
        ),
        CheckKind::ErrorRatio {
            below,
            phase,
            source,
        } => slo::error_ratio(check, *below, *phase, *source, observations),
        CheckKind::Dashboard { except, .. } => {
            dashboard::every_panel_has_data(check, except, observations)
        }
        CheckKind::NotifiesWithin {
            alert,
            receiver,
            deadline,
            anchor,
        } => notify::notifies_within(check, alert, receiver, *deadline, anchor, observations),
        CheckKind::NotifiesResolvedWithin {
            alert,
            receiver,
            deadline,
            anchor,
        } => notify::notifies_resolved_within(
            check,
            alert,
            receiver,
            *deadline,
            anchor,
            observations,
        ),
        CheckKind::NoNotificationDuring {
            phase,
            receiver,
            alert,
        } => notify::no_notification_during(
            check,
            *phase,
            receiver.as_deref(),
            alert.as_deref(),
            observations,
        ),
        CheckKind::RoutedTo {
            alert,
            receiver,
            phase,
        } => notify::routed_to(check, alert, receiver, *phase, observations),
    }
}

/// The overall verdict of a run: any failure fails it — an interrupted one
/// too, since nothing the rest of it could do would undo a failure already
/// seen; otherwise anything not proven makes it inconclusive. A run that did
/// not complete is never a pass.
pub fn overall(verdicts: &[Verdict], status: &RunStatus) -> Status {
    let failed = verdicts.iter().any(|v| v.status == Status::Fail);
    match status {
        RunStatus::Aborted(_) => Status::Inconclusive,
        RunStatus::Interrupted(_) if failed => Status::Fail,
        RunStatus::Interrupted(_) => Status::Inconclusive,
        RunStatus::Completed if failed => Status::Fail,
        RunStatus::Completed if verdicts.iter().any(|v| v.status == Status::Inconclusive) => {
            Status::Inconclusive
        }
        RunStatus::Completed => Status::Pass,
    }
}

/// Seconds with one decimal, for sentences.
fn secs(value: f64) -> String {
    format!("{value:.1}s")
}

#[cfg(test)]
mod tests;
