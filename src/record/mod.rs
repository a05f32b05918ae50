//! The run's records: what a run observed, as plain serde data — its status,
//! each phase (its traffic, its fault), the alert rules and their episodes,
//! the alerts at Alertmanager and the notifications it sent (`paging`),
//! when conditions held, what the service reported, the environment it ran
//! in — and the `Progress` interface through which they are told as they
//! happen.
//!
//! Every stage above writes or reads these types; this room imports nothing
//! above the plan's parts (`setup`), and knows nothing of how the records
//! were made.

mod alerts;
mod baseline;
mod paging;
mod service;
mod traffic;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use alerts::{
    AlertEvent, AlertHistory, AlertRuleInfo, AlertStage, ConditionObservation, Episode, Labels,
    QueryFailure, RuleHealth, UnknownAlertStage, WatchLog,
};
pub use baseline::{
    quantile_grid, AlertFigure, Baseline, BaselineRecord, BaselineRun, Figures, PhaseFigures,
    ServiceFigure,
};
pub use paging::{
    AlertAtAlertmanager, AlertState, AlertmanagerRecord, Notification, NotifiedAlert, SilenceRecord,
};
pub use service::{
    DashboardObservation, PanelResult, ServiceLatencySeries, ServiceObservation, ServiceWindow,
    ServiceWindows,
};
pub use traffic::{
    Connections, Counts, HistogramDecodeError, LatencyHistogram, LatencySummary, Live, Outcome,
    PacerRan, PhaseStats, SecondStats,
};

use crate::setup::{FaultPlan, PhasePlan};
use crate::time::local_now;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum RunStatus {
    Completed,
    /// Stopped by a signal (Ctrl-C, SIGTERM) before the last phase ended.
    Interrupted(String),
    /// Could not run at all, or stopped by an error.
    Aborted(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseRecord {
    pub name: String,
    /// Prometheus time.
    pub started_at: f64,
    pub ended_at: f64,
    pub planned_seconds: f64,
    pub fault: Option<FaultPlan>,
    /// Set if a fault could not be injected or restored.
    pub fault_error: Option<String>,
    /// None for a phase without traffic.
    pub stats: Option<PhaseStats>,
    pub load_error: Option<String>,
    /// Stopped by a signal before its planned end: `ended_at` is when the
    /// signal came, not the phase's end, and its traffic is only a part.
    #[serde(default)]
    pub cut_short: bool,
}

/// Everything a drill saw, on Prometheus's clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Observations {
    pub status: RunStatus,
    pub clock_offset_seconds: f64,
    pub run_start: f64,
    pub run_end: f64,
    /// When the final questions were asked: events after it are unknown.
    pub observed_until: f64,
    /// The newest sample of the service's request counter Prometheus held
    /// when asked (its last scrape of the target). Samples of a series are
    /// ingested in time order, so every scrape before it is in Prometheus's
    /// data.
    #[serde(default)]
    pub scraped_until: Option<f64>,
    pub phases: Vec<PhaseRecord>,
    /// Every alerting rule Prometheus had loaded, by alert name.
    pub rules: BTreeMap<String, AlertRuleInfo>,
    /// The alerts the checks are about.
    pub alerts: BTreeMap<String, AlertHistory>,
    /// By check id: when the check's condition first held.
    pub conditions: BTreeMap<String, ConditionObservation>,
    /// By check id: service-side latency and error numbers.
    pub service: BTreeMap<String, ServiceObservation>,
    /// By check id: a windowed service-side SLO's windows.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_windows: BTreeMap<String, ServiceWindows>,
    /// The service's P95/P99 over the run (absent for aborted runs).
    #[serde(default)]
    pub service_latency: Option<ServiceLatencySeries>,
    /// By check id: dashboards' panels over the run.
    #[serde(default)]
    pub dashboards: BTreeMap<String, DashboardObservation>,
    pub watch: WatchLog,
    /// The Alertmanager watched, and the notifications taken.
    #[serde(default)]
    pub alertmanager: Option<AlertmanagerRecord>,
    pub prometheus_retries: u64,
    pub notes: Vec<String>,
    /// What the run was compared with (`baseline:`, `run --baseline`), or
    /// why there was nothing to compare with; absent when none was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineRecord>,
}

impl Observations {
    /// A run that could not start: no traffic was sent.
    pub fn aborted(reason: String) -> Self {
        Observations {
            status: RunStatus::Aborted(reason),
            clock_offset_seconds: 0.0,
            run_start: local_now(),
            run_end: local_now(),
            observed_until: local_now(),
            scraped_until: None,
            phases: Vec::new(),
            rules: BTreeMap::new(),
            alerts: BTreeMap::new(),
            conditions: BTreeMap::new(),
            service: BTreeMap::new(),
            service_windows: BTreeMap::new(),
            service_latency: None,
            dashboards: BTreeMap::new(),
            watch: WatchLog::default(),
            alertmanager: None,
            prometheus_retries: 0,
            notes: Vec::new(),
            baseline: None,
        }
    }
}

/// Which kind of environment a run had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvKind {
    /// The demo gateway in-process and a Prometheus child firedrill started.
    Embedded,
    /// A Prometheus (and target) given by URL.
    Url,
    /// Found through the Kubernetes API.
    Kubernetes,
}

impl fmt::Display for EnvKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EnvKind::Embedded => "embedded",
            EnvKind::Url => "url",
            EnvKind::Kubernetes => "kubernetes",
        })
    }
}

/// What the report records about the environment. Credentials appear only as
/// where they came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvSummary {
    pub kind: EnvKind,
    pub target_url: String,
    pub prometheus_url: String,
    pub prometheus_version: String,
    /// The effective (scaled) scrape interval, in seconds.
    pub scrape_interval_seconds: f64,
    /// The effective (scaled) rule evaluation interval, in seconds.
    pub evaluation_interval_seconds: f64,
    /// Where the loaded rules came from.
    pub rule_sources: Vec<String>,
    /// How Prometheus's certificate was checked: "http", "verified", or
    /// "NOT VERIFIED" when the scenario asked to skip verification.
    #[serde(default)]
    pub prometheus_tls: String,
    #[serde(default)]
    pub prometheus_auth: Option<String>,
    #[serde(default)]
    pub target_auth: Option<String>,
    /// How the target's certificate was checked (as for Prometheus).
    #[serde(default)]
    pub target_tls: String,
    /// The Alertmanager watched, if any.
    #[serde(default)]
    pub alertmanager: Option<AlertmanagerSummary>,
}

/// Which Alertmanager a run watched, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertmanagerSummary {
    pub url: String,
    pub version: String,
    /// `embedded` (firedrill started it and receives its notifications) or
    /// `url`/`kubernetes` (read-only).
    pub kind: EnvKind,
    /// Where its routing came from.
    pub config_origin: String,
    pub tls: String,
    pub auth: Option<String>,
}

/// Told what happens as it happens (the terminal view and the run's own
/// /metrics implement it).
pub trait Progress: Send + Sync {
    /// The run began: the scenario's name, its time scale, where it runs.
    fn run_started(&self, _scenario: &str, _time_scale: f64, _env: &EnvSummary) {}
    fn phase_started(&self, _index: usize, _phase: &PhasePlan, _live: &Arc<Live>) {}
    fn phase_finished(&self, _index: usize, _record: &PhaseRecord) {}
    fn alert_changed(&self, _event: &AlertEvent) {}
    /// An alert reached Alertmanager (first sighting).
    fn alert_arrived(&self, _alert: &AlertAtAlertmanager) {}
    /// A notification reached firedrill's receiver.
    fn notified(&self, _notification: &Notification) {}
    fn note(&self, _text: &str) {}
}

/// Says nothing.
pub struct Silent;
impl Progress for Silent {}
