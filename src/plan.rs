//! The plan: a scenario after validation, with every unit resolved, every
//! name checked and time scaling applied. The drill runs a `Plan`; nothing
//! downstream re-reads the YAML.
//!
//! Plain data only: what to send and what to check, not how. Its parts are
//! `setup`'s (targets, phases, faults, `AlertRef`) and the check kinds'
//! (`checks`); both are re-exported here, so a reader of the plan has one
//! door.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::checks::{CheckKind, CheckPlan};
pub use crate::setup::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    pub description: Option<String>,
    pub file: PathBuf,
    /// The scenario exactly as written, kept for the report.
    pub source_text: String,
    /// Durations in this plan are already divided by it.
    pub time_scale: f64,
    pub target: TargetPlan,
    pub prometheus: PrometheusPlan,
    /// The Alertmanager the notification checks watch (None: none).
    #[serde(default)]
    pub alertmanager: Option<AlertmanagerPlan>,
    pub service_metrics: ServiceMetrics,
    pub phases: Vec<PhasePlan>,
    pub checks: Vec<CheckPlan>,
    /// This process's share of a run split over several (`--shard i/n`):
    /// the plan describes the whole run; the load engine sends the share.
    #[serde(default)]
    pub shard: Option<Shard>,
    /// What the run is compared with (`baseline:`, `run --baseline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineSource>,
}

impl Plan {
    /// True when the run talks to the Kubernetes API.
    pub fn needs_cluster(&self) -> bool {
        matches!(self.target, TargetPlan::Kubernetes { .. })
            || matches!(self.prometheus, PrometheusPlan::Kubernetes { .. })
            || matches!(self.alertmanager, Some(AlertmanagerPlan::Kubernetes { .. }))
            || self
                .phases
                .iter()
                .any(|p| p.fault.as_ref().is_some_and(FaultPlan::needs_cluster))
    }

    /// Wall time of the traffic, from the first phase's start to the last
    /// phase's planned end (closed-model phases count their duration cap).
    pub fn planned_duration(&self) -> Duration {
        self.phases.iter().map(PhasePlan::planned_duration).sum()
    }
}

/// What judging needs of a plan: its checks, and the phases and service
/// metrics their verdicts name.
impl crate::checks::ToJudge for Plan {
    fn checks(&self) -> &[CheckPlan] {
        &self.checks
    }

    fn phases(&self) -> &[PhasePlan] {
        &self.phases
    }

    fn service_metrics(&self) -> &ServiceMetrics {
        &self.service_metrics
    }
}
