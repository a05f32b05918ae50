//! What was seen of alerts: the rules Prometheus had loaded, each alert's
//! episodes (from `ALERTS`, on evaluation ticks), the state changes seen while
//! the drill ran, the evaluation ticks that prove the rules were evaluated,
//! and when a check's condition first held.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A series' labels, by name.
pub type Labels = BTreeMap<String, String>;

/// A question Prometheus could not answer, and whether that was because it
/// could not be reached (inconclusive) or because it refused (a failure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryFailure {
    pub message: String,
    pub unavailable: bool,
}

/// An alerting rule as Prometheus has it loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRuleInfo {
    pub group: String,
    pub file: String,
    pub interval_seconds: f64,
    pub for_seconds: f64,
    pub query: String,
    pub health: RuleHealth,
    pub last_error: Option<String>,
    /// Its condition read as an error ratio over a window compared with a
    /// threshold, when it is one (read from the rules after the run): what
    /// says how likely random errors are to fire it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_ratio: Option<RatioCondition>,
}

/// An alert's condition as an error ratio: `errors / requests` over the
/// window (the drill's, scaled) held above the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatioCondition {
    pub window_seconds: f64,
    pub threshold: f64,
    /// `>=` rather than `>`.
    pub inclusive: bool,
}

/// A rule's health as Prometheus reports it (`/api/v1/rules`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleHealth {
    Ok,
    /// Its last evaluation failed (`lastError` says why).
    Err,
    /// Not evaluated yet.
    Unknown,
}

impl RuleHealth {
    /// Prometheus's `health` field; anything but `ok` and `err` is unknown.
    pub fn of(health: &str) -> Self {
        match health {
            "ok" => RuleHealth::Ok,
            "err" => RuleHealth::Err,
            _ => RuleHealth::Unknown,
        }
    }
}

/// One stretch of an alert being active (pending and/or firing), for one
/// label set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// The alert's labels (without `alertstate`).
    pub labels: Labels,
    /// First evaluation at which it was pending (None: `for: 0`, or already
    /// firing when the window began).
    pub pending_at: Option<f64>,
    pub firing_at: Option<f64>,
    /// Last evaluation at which it was active.
    pub last_active: f64,
    /// The evaluation at which it was no longer active; None if still active
    /// when observation ended.
    pub resolved_at: Option<f64>,
}

impl Episode {
    /// Active (pending or firing) at time `t`.
    pub fn active_at(&self, t: f64) -> bool {
        self.start() <= t && self.resolved_at.is_none_or(|r| t < r)
    }

    pub fn start(&self) -> f64 {
        self.pending_at
            .or(self.firing_at)
            .unwrap_or(self.last_active)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertHistory {
    pub episodes: Vec<Episode>,
    pub error: Option<QueryFailure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionObservation {
    pub expr: String,
    pub searched_from: f64,
    pub searched_to: f64,
    pub step_seconds: f64,
    /// The first evaluation step at which the expression returned a result.
    pub first_true: Option<f64>,
    pub error: Option<QueryFailure>,
}

/// An alert changing state, as seen by polling /api/v1/alerts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertEvent {
    /// Prometheus time at which the change was seen.
    pub seen_at: f64,
    pub alert: String,
    pub state: AlertStage,
    pub labels: String,
}

/// Where an alert stands in Prometheus: its expression does not hold
/// (inactive), holds for less than `for` (pending), or has held for `for`
/// (firing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStage {
    Inactive,
    Pending,
    Firing,
}

/// A state Prometheus's alerts API does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown alert state `{0}` (Prometheus says inactive, pending or firing)")]
pub struct UnknownAlertStage(pub String);

impl std::str::FromStr for AlertStage {
    type Err = UnknownAlertStage;

    fn from_str(state: &str) -> Result<Self, Self::Err> {
        match state {
            "inactive" => Ok(AlertStage::Inactive),
            "pending" => Ok(AlertStage::Pending),
            "firing" => Ok(AlertStage::Firing),
            other => Err(UnknownAlertStage(other.to_string())),
        }
    }
}

impl AlertStage {
    pub fn as_str(&self) -> &'static str {
        match self {
            AlertStage::Inactive => "inactive",
            AlertStage::Pending => "pending",
            AlertStage::Firing => "firing",
        }
    }
}

impl std::fmt::Display for AlertStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the watcher saw while the drill ran.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WatchLog {
    pub events: Vec<AlertEvent>,
    /// Evaluation timestamps seen per rule group (from `lastEvaluation`).
    pub evaluations: BTreeMap<String, Vec<f64>>,
    /// Polls that failed, with when and why.
    pub failures: Vec<(f64, String)>,
    pub polls: u64,
}

impl WatchLog {
    /// The longest stretch within [from, to] with no evaluation seen for
    /// `group`, in seconds (the whole window when none was seen).
    pub fn largest_gap(&self, group: &str, from: f64, to: f64) -> f64 {
        let Some(ticks) = self.evaluations.get(group) else {
            return to - from;
        };
        let mut previous = from;
        let mut largest: f64 = 0.0;
        for &t in ticks.iter().filter(|t| **t > from && **t < to) {
            largest = largest.max(t - previous);
            previous = t;
        }
        largest.max(to - previous)
    }

    /// The latest evaluation of `group` the watcher saw. A group's rules are
    /// evaluated in order, one evaluation after another, so every evaluation
    /// up to this one has written its `ALERTS` samples.
    pub fn evaluated_until(&self, group: &str) -> Option<f64> {
        self.evaluations.get(group)?.last().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_measured_inside_the_window() {
        let mut log = WatchLog::default();
        log.evaluations
            .insert("g".into(), vec![10.0, 12.0, 14.0, 30.0, 32.0]);
        assert_eq!(log.largest_gap("g", 11.0, 15.0), 2.0);
        assert_eq!(log.largest_gap("g", 11.0, 31.0), 16.0);
        assert_eq!(log.largest_gap("other", 0.0, 5.0), 5.0);
        assert_eq!(log.evaluated_until("g"), Some(32.0));
        assert_eq!(log.evaluated_until("other"), None);
    }
}
