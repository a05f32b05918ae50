//! The drill: runs a plan's phases in order on one clock (Prometheus's),
//! with the load engine sending traffic, faults injected and always
//! restored, and a watcher following Prometheus; then asks Prometheus what
//! happened, with exact timestamps. Produces `Observations`; judging them is
//! the checks' job, rendering them the report's.

mod clock;
mod collect;
mod faults;
mod timeline;
mod watcher;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

pub use clock::{local_now, parse_rfc3339, Clock};
pub use collect::{
    AlertHistory, AlertRuleInfo, ConditionObservation, DashboardObservation, QueryFailure,
    ServiceLatencySeries, ServiceObservation,
};
pub use timeline::{episodes, Episode};
pub use watcher::{AlertEvent, WatchLog};

use crate::env::{EnvSummary, Environment};
use crate::load::{self, Live, PhaseStats};
use crate::plan::{FaultPlan, LoadModel, PhasePlan, Plan, Shard};
use crate::prom::PromClient;

/// Told what happens as it happens (the terminal view implements it).
pub trait Progress: Send + Sync {
    fn run_started(&self, _plan: &Plan, _env: &EnvSummary) {}
    fn phase_started(&self, _index: usize, _phase: &PhasePlan, _live: &Arc<Live>) {}
    fn phase_finished(&self, _index: usize, _record: &PhaseRecord) {}
    fn alert_changed(&self, _event: &AlertEvent) {}
    fn note(&self, _text: &str) {}
}

/// Says nothing.
pub struct Silent;
impl Progress for Silent {}

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
    pub phases: Vec<PhaseRecord>,
    /// Every alerting rule Prometheus had loaded, by alert name.
    pub rules: BTreeMap<String, AlertRuleInfo>,
    /// The alerts the checks are about.
    pub alerts: BTreeMap<String, AlertHistory>,
    /// By check id: when the check's condition first held.
    pub conditions: BTreeMap<String, ConditionObservation>,
    /// By check id: service-side latency and error numbers.
    pub service: BTreeMap<String, ServiceObservation>,
    /// The service's P95/P99 over the run (absent for aborted runs).
    #[serde(default)]
    pub service_latency: Option<ServiceLatencySeries>,
    /// By check id: dashboards' panels over the run.
    #[serde(default)]
    pub dashboards: BTreeMap<String, DashboardObservation>,
    pub watch: WatchLog,
    pub prometheus_retries: u64,
    pub notes: Vec<String>,
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
            phases: Vec::new(),
            rules: BTreeMap::new(),
            alerts: BTreeMap::new(),
            conditions: BTreeMap::new(),
            service: BTreeMap::new(),
            service_latency: None,
            dashboards: BTreeMap::new(),
            watch: WatchLog::default(),
            prometheus_retries: 0,
            notes: Vec::new(),
        }
    }
}

/// Runs the plan against the environment. Never fails: what went wrong is in
/// the observations (status, notes, per-query errors), so a report is always
/// written.
pub async fn run(
    plan: &Plan,
    env: &Environment,
    mut shutdown: watch::Receiver<bool>,
    progress: Arc<dyn Progress>,
) -> Observations {
    progress.run_started(plan, &env.summary);
    let prometheus = env.prometheus.clone();
    let clock = match Clock::align(&prometheus).await {
        Ok(clock) => clock,
        Err(e) => {
            return Observations::aborted(format!("before any traffic: {e}"));
        }
    };
    let rules = match loaded_alert_rules(&prometheus).await {
        Ok(rules) => rules,
        Err(e) => return Observations::aborted(format!("before any traffic: {e}")),
    };
    let mut notes = env.notes.clone();
    for note in &notes {
        progress.note(note);
    }
    for check in &plan.checks {
        if let Some(alert) = check.kind.alert() {
            if !rules.contains_key(alert) && !notes.iter().any(|n: &String| n.contains(alert)) {
                let note = format!(
                    "alert `{alert}` is not loaded in Prometheus ({}): checks about it fail",
                    env.summary.prometheus_url
                );
                progress.note(&note);
                notes.push(note);
            }
        }
    }

    let evaluation = Duration::from_secs_f64(env.summary.evaluation_interval_seconds);
    let poll_every = (evaluation / 2).clamp(Duration::from_millis(200), Duration::from_secs(2));
    let watcher = watcher::Watcher::start(prometheus.clone(), clock, poll_every, progress.clone());

    let run_start = clock.now();
    let mut status = RunStatus::Completed;
    let mut phases = Vec::new();
    let live = Arc::new(Live::default());
    for (index, phase) in plan.phases.iter().enumerate() {
        if *shutdown.borrow() {
            status = RunStatus::Interrupted(format!(
                "stopped by a signal before phase `{}`",
                phase.name
            ));
            break;
        }
        live.reset();
        progress.phase_started(index, phase, &live);
        let (record, end) =
            run_phase(phase, plan.shard, env, &clock, &mut shutdown, live.clone()).await;
        progress.phase_finished(index, &record);
        let fault_error = record.fault_error.clone();
        phases.push(record);
        match end {
            PhaseEnd::Completed => {}
            PhaseEnd::Interrupted => {
                status = RunStatus::Interrupted(format!(
                    "stopped by a signal during phase `{}`",
                    phase.name
                ));
                break;
            }
            PhaseEnd::FaultFailed => {
                status = RunStatus::Aborted(format!(
                    "the fault of phase `{}` could not be injected: {}",
                    phase.name,
                    fault_error.unwrap_or_default()
                ));
                break;
            }
        }
    }
    let run_end = clock.now();

    // Let Prometheus scrape and evaluate past the end of the traffic, so the
    // last moments of the run are in its data.
    if status == RunStatus::Completed {
        let settle = evaluation
            + Duration::from_secs_f64(env.summary.scrape_interval_seconds)
            + Duration::from_millis(500);
        tokio::select! {
            _ = tokio::time::sleep(settle) => {}
            _ = shutdown.changed() => {
                status = RunStatus::Interrupted("stopped by a signal while waiting for the last evaluations".into());
            }
        }
    }
    let watch_log = watcher.finish().await;
    let observed_until = clock.now();
    let collector = collect::Collector {
        prometheus: &prometheus,
        plan,
        phases: &phases,
        rules: &rules,
        run_start,
        observed_until,
        scrape_interval: env.summary.scrape_interval_seconds,
    };
    let alerts = collector.alert_histories().await;
    let conditions = collector.conditions().await;
    let service = collector.service_measurements().await;
    let service_latency = Some(collector.service_latency(run_end).await);
    let dashboards = collector.dashboards().await;
    Observations {
        status,
        clock_offset_seconds: clock.offset_seconds,
        run_start,
        run_end,
        observed_until,
        phases,
        rules,
        alerts,
        conditions,
        service,
        service_latency,
        dashboards,
        watch: watch_log,
        prometheus_retries: prometheus.retries(),
        notes,
    }
}

/// Runs one phase; returns its record and whether a signal cut it short.
async fn run_phase(
    phase: &PhasePlan,
    shard: Option<Shard>,
    env: &Environment,
    clock: &Clock,
    shutdown: &mut watch::Receiver<bool>,
    live: Arc<Live>,
) -> (PhaseRecord, PhaseEnd) {
    let started_at = clock.now();
    let mut fault_error = None;
    // The injected fault restores itself when dropped, whatever happens
    // below. In a sharded run only shard 0 injects it: one scale-down and
    // one restore, not one per shard racing each other.
    let injects = shard.is_none_or(|s| s.index == 0);
    let injected = match phase.fault.as_ref().filter(|_| injects) {
        Some(plan) => match faults::inject(plan, env).await {
            Ok(injected) => Some(injected),
            Err(e) => {
                // The phase is about its fault: without it there is nothing
                // to observe, and the drill stops here.
                let record = PhaseRecord {
                    name: phase.name.clone(),
                    started_at,
                    ended_at: clock.now(),
                    planned_seconds: phase.planned_duration().as_secs_f64(),
                    fault: phase.fault.clone(),
                    fault_error: Some(e),
                    stats: None,
                    load_error: None,
                };
                return (record, PhaseEnd::FaultFailed);
            }
        },
        None => None,
    };
    let mut interrupted = false;
    let mut stats = None;
    let mut load_error = None;
    match &phase.model {
        LoadModel::Idle { duration } => {
            tokio::select! {
                _ = tokio::time::sleep(*duration) => {}
                _ = shutdown.changed() => interrupted = true,
            }
        }
        _ => {
            let (stop_tx, stop_rx) = watch::channel(false);
            let target = env.target.clone();
            let mut plan = phase.clone();
            if let Some(shard) = shard {
                plan.model = shard.apply(&phase.model);
            }
            let mut task =
                tokio::task::spawn_blocking(move || load::run_phase(&target, &plan, stop_rx, live));
            let result = tokio::select! {
                result = &mut task => result,
                _ = shutdown.changed() => {
                    interrupted = true;
                    let _ = stop_tx.send(true);
                    task.await
                }
            };
            match result {
                Ok(Ok(phase_stats)) => stats = Some(phase_stats),
                Ok(Err(e)) => load_error = Some(e.to_string()),
                Err(e) => load_error = Some(format!("the load engine crashed: {e}")),
            }
        }
    }
    if let Some(injected) = injected {
        if let Err(e) = injected.restore().await {
            fault_error = Some(e);
        }
    }
    let record = PhaseRecord {
        name: phase.name.clone(),
        started_at,
        ended_at: clock.now(),
        planned_seconds: phase.planned_duration().as_secs_f64(),
        fault: phase.fault.clone(),
        fault_error,
        stats,
        load_error,
    };
    let end = if interrupted {
        PhaseEnd::Interrupted
    } else {
        PhaseEnd::Completed
    };
    (record, end)
}

/// How a phase ended.
enum PhaseEnd {
    Completed,
    Interrupted,
    /// Its fault could not be injected; the drill stops.
    FaultFailed,
}

async fn loaded_alert_rules(
    prometheus: &PromClient,
) -> Result<BTreeMap<String, AlertRuleInfo>, crate::prom::PromError> {
    let mut rules = BTreeMap::new();
    for group in prometheus.rules().await? {
        for rule in &group.rules {
            if rule.kind != "alerting" {
                continue;
            }
            rules
                .entry(rule.name.clone())
                .or_insert_with(|| AlertRuleInfo {
                    group: group.name.clone(),
                    file: group.file.clone(),
                    interval_seconds: group.interval,
                    for_seconds: rule.duration,
                    query: rule.query.clone(),
                    health: rule.health.clone(),
                    last_error: rule.last_error.clone().filter(|e| !e.is_empty()),
                });
        }
    }
    Ok(rules)
}
