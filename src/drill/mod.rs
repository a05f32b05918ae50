//! The drill: runs a plan's phases in order on one clock (Prometheus's),
//! with the load engine sending traffic, faults injected and always
//! restored, a watcher following Prometheus, and — when the plan checks
//! notifications — a watcher following Alertmanager and the receiver its
//! notifications arrive at; then asks Prometheus what happened, with exact
//! timestamps. Produces `Observations`; judging them is the checks' job,
//! rendering them the report's.

mod clock;
mod collect;
mod pace;
mod paging;
mod receiver;
mod service_windows;
mod timeline;
mod watcher;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use clock::Clock;
pub use receiver::Receiver;
pub use timeline::episodes;

use crate::env::Environment;
use crate::faults;
use crate::load;
use crate::plan::{LoadModel, PhasePlan, Plan, Shard};
use crate::prom::PromClient;
use crate::record::{
    AlertRuleInfo, AlertmanagerRecord, Live, Observations, PhaseRecord, Progress, RuleHealth,
    RunStatus,
};

/// Runs the plan against the environment. Never fails: what went wrong is in
/// the observations (status, notes, per-query errors), so a report is always
/// written.
pub async fn run(
    plan: &Plan,
    env: &Environment,
    mut shutdown: watch::Receiver<bool>,
    progress: Arc<dyn Progress>,
) -> Observations {
    progress.run_started(&plan.name, plan.time_scale, &env.summary);
    let prometheus = env.prometheus.clone();
    let (clock, rules) = match align_and_read_rules(&prometheus).await {
        Ok(found) => found,
        Err(e) => return Observations::aborted(format!("before any traffic: {e}")),
    };
    let notes = starting_notes(plan, env, &rules, progress.as_ref());

    let evaluation = Duration::from_secs_f64(env.summary.evaluation_interval_seconds);
    let poll_every = (evaluation / 2).clamp(Duration::from_millis(200), Duration::from_secs(2));
    let watcher = watcher::Watcher::start(prometheus.clone(), clock, poll_every, progress.clone());
    let (paging, mut notes) = start_paging(env, clock, progress.clone(), notes);

    let run_start = clock.now();
    let (phases, mut status) = run_phases(plan, env, &clock, &mut shutdown, progress).await;
    let run_end = clock.now();
    notes.extend(
        plan.phases
            .iter()
            .zip(&phases)
            .filter_map(|(phase, record)| pace::unsustained(phase, record)),
    );
    if status == RunStatus::Completed {
        status = settle(env, evaluation, &mut shutdown).await;
    }
    let watch_log = watcher.finish().await;
    let alertmanager = finish_paging(paging, &mut notes).await;
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
    let mut observations = collector
        .observations(run_end, status, clock.offset_seconds, watch_log, notes)
        .await;
    observations.alertmanager = alertmanager;
    observations
}

/// Runs the phases in order until they are done, a signal comes, or a
/// fault cannot be injected; returns their records and how the run ended.
async fn run_phases(
    plan: &Plan,
    env: &Environment,
    clock: &Clock,
    shutdown: &mut watch::Receiver<bool>,
    progress: Arc<dyn Progress>,
) -> (Vec<PhaseRecord>, RunStatus) {
    let mut phases = Vec::new();
    let live = Arc::new(Live::default());
    for (index, phase) in plan.phases.iter().enumerate() {
        if *shutdown.borrow() {
            let status = RunStatus::Interrupted(format!(
                "stopped by a signal before phase `{}`",
                phase.name
            ));
            return (phases, status);
        }
        live.reset();
        progress.phase_started(index, phase, &live);
        let (record, end) = run_phase(phase, plan.shard, env, clock, shutdown, live.clone()).await;
        progress.phase_finished(index, &record);
        if let Some(note) = pace::unsustained(phase, &record) {
            progress.note(&note);
        }
        let fault_error = record.fault_error.clone();
        phases.push(record);
        let status = match end {
            PhaseEnd::Completed => continue,
            PhaseEnd::Interrupted => {
                RunStatus::Interrupted(format!("stopped by a signal during phase `{}`", phase.name))
            }
            PhaseEnd::FaultFailed => RunStatus::Aborted(format!(
                "the fault of phase `{}` could not be injected: {}",
                phase.name,
                fault_error.unwrap_or_default()
            )),
        };
        return (phases, status);
    }
    (phases, RunStatus::Completed)
}

/// Lets Prometheus scrape and evaluate past the end of the traffic, so the
/// last moments of the run are in its data.
async fn settle(
    env: &Environment,
    evaluation: Duration,
    shutdown: &mut watch::Receiver<bool>,
) -> RunStatus {
    let settle = evaluation
        + Duration::from_secs_f64(env.summary.scrape_interval_seconds)
        + Duration::from_millis(500);
    tokio::select! {
        _ = tokio::time::sleep(settle) => RunStatus::Completed,
        _ = shutdown.changed() => RunStatus::Interrupted(
            "stopped by a signal while waiting for the last evaluations".into(),
        ),
    }
}

/// The Alertmanager watcher and (embedded) the notification receiver.
type Paging = Option<(
    paging::AlertmanagerWatcher,
    Option<receiver::Receiver>,
    AlertmanagerRecord,
)>;

fn start_paging(
    env: &Environment,
    clock: Clock,
    progress: Arc<dyn Progress>,
    mut notes: Vec<String>,
) -> (Paging, Vec<String>) {
    let Some(alertmanager) = &env.alertmanager else {
        return (None, notes);
    };
    let receiver = match alertmanager.take_receiver() {
        Some(listener) => match receiver::Receiver::start(listener, clock, progress.clone()) {
            Ok(receiver) => Some(receiver),
            Err(e) => {
                notes.push(format!("the notification receiver could not serve: {e}"));
                None
            }
        },
        None => None,
    };
    let config = crate::rules::alertmanager::parse(
        &alertmanager.config_text,
        std::path::Path::new(&alertmanager.summary.config_origin),
    );
    // A quarter of the shortest group_wait, so an arrival is placed well
    // inside the wait that follows it.
    let shortest_wait = config
        .as_ref()
        .ok()
        .and_then(|c| c.routes().iter().map(|r| r.group_wait).min())
        .map(|w| w.div_f64(alertmanager.time_scale))
        .unwrap_or(Duration::from_secs(4));
    let poll_every = (shortest_wait / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
    if let Err(e) = &config {
        notes.push(format!(
            "the Alertmanager's configuration could not be read ({e}): checks cannot say which route was taken"
        ));
    }
    let record = AlertmanagerRecord {
        url: alertmanager.summary.url.clone(),
        version: alertmanager.summary.version.clone(),
        notifications_observable: alertmanager.notifications_observable(),
        config_text: alertmanager.config_text.clone(),
        config_origin: alertmanager.summary.config_origin.clone(),
        time_scale: alertmanager.time_scale,
        ..AlertmanagerRecord::default()
    };
    let watcher = paging::AlertmanagerWatcher::start(
        alertmanager.client.clone(),
        clock,
        poll_every,
        record.clone(),
        progress,
    );
    (Some((watcher, receiver, record)), notes)
}

async fn finish_paging(paging: Paging, notes: &mut Vec<String>) -> Option<AlertmanagerRecord> {
    let (watcher, receiver, fallback) = paging?;
    let mut record = watcher.finish().await.unwrap_or(fallback);
    if let Some(receiver) = receiver {
        let (notifications, refused) = receiver.finish();
        record.notifications = notifications;
        for why in refused {
            notes.push(format!(
                "the notification receiver refused a request: {why}"
            ));
        }
    }
    if let Some((first, why)) = record.failures.first() {
        notes.push(format!(
            "Alertmanager did not answer {} of {} polls, the first at t={:.1}s: {why}",
            record.failures.len(),
            record.polls,
            first - record.observed_from
        ));
    }
    Some(record)
}

/// Prometheus's clock, and every alerting rule it has loaded.
async fn align_and_read_rules(
    prometheus: &PromClient,
) -> Result<(Clock, BTreeMap<String, AlertRuleInfo>), crate::prom::PromError> {
    let clock = Clock::align(prometheus).await?;
    let rules = loaded_alert_rules(prometheus).await?;
    Ok((clock, rules))
}

/// What the environment noted, and each checked alert that Prometheus has
/// not loaded (its checks will fail), told to `progress` as well.
fn starting_notes(
    plan: &Plan,
    env: &Environment,
    rules: &BTreeMap<String, AlertRuleInfo>,
    progress: &dyn Progress,
) -> Vec<String> {
    let mut notes = env.notes.clone();
    notes.extend(pace::accepted_noise(plan));
    for note in &notes {
        progress.note(note);
    }
    for check in &plan.checks {
        if let Some(alert) = check.kind.alert() {
            let name = alert.name.as_str();
            if !rules.contains_key(name) && !notes.iter().any(|n: &String| n.contains(name)) {
                let note = format!(
                    "alert `{alert}` is not loaded in Prometheus ({}): checks about it fail",
                    env.summary.prometheus_url
                );
                progress.note(&note);
                notes.push(note);
            }
        }
    }
    notes
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
    let record = |fault_error, traffic: Traffic| PhaseRecord {
        name: phase.name.clone(),
        started_at,
        ended_at: clock.now(),
        planned_seconds: phase.planned_duration().as_secs_f64(),
        fault: phase.fault.clone(),
        fault_error,
        stats: traffic.stats,
        load_error: traffic.load_error,
        cut_short: traffic.interrupted,
    };
    // The injected fault restores itself when dropped, whatever happens
    // below.
    let injected = match inject_fault(phase, shard, env).await {
        Ok(injected) => injected,
        // The phase is about its fault: without it there is nothing to
        // observe, and the drill stops here.
        Err(e) => {
            return (
                record(Some(e.to_string()), Traffic::default()),
                PhaseEnd::FaultFailed,
            )
        }
    };
    let traffic = send_traffic(phase, shard, env, shutdown, live).await;
    let mut fault_error = None;
    if let Some(injected) = injected {
        if let Err(e) = injected.restore().await {
            fault_error = Some(e.to_string());
        }
    }
    let end = if traffic.interrupted {
        PhaseEnd::Interrupted
    } else {
        PhaseEnd::Completed
    };
    (record(fault_error, traffic), end)
}

/// Injects the phase's fault, if it has one. In a sharded run only shard 0
/// injects it: one scale-down and one restore, not one per shard racing
/// each other.
async fn inject_fault(
    phase: &PhasePlan,
    shard: Option<Shard>,
    env: &Environment,
) -> Result<Option<faults::Injected>, faults::FaultError> {
    let injects = shard.is_none_or(|s| s.index == 0);
    match phase.fault.as_ref().filter(|_| injects) {
        Some(plan) => Ok(Some(faults::inject(plan, &env.fault_context()).await?)),
        None => Ok(None),
    }
}

/// What a phase's traffic did.
#[derive(Default)]
struct Traffic {
    stats: Option<load::PhaseStats>,
    load_error: Option<String>,
    /// A signal cut it short.
    interrupted: bool,
}

/// Sends the phase's traffic (this shard's part of it), or idles through
/// it, until its end or a signal.
async fn send_traffic(
    phase: &PhasePlan,
    shard: Option<Shard>,
    env: &Environment,
    shutdown: &mut watch::Receiver<bool>,
    live: Arc<Live>,
) -> Traffic {
    let mut traffic = Traffic::default();
    if let LoadModel::Idle { duration } = &phase.model {
        tokio::select! {
            _ = tokio::time::sleep(*duration) => {}
            _ = shutdown.changed() => traffic.interrupted = true,
        }
        return traffic;
    }
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
            traffic.interrupted = true;
            let _ = stop_tx.send(true);
            task.await
        }
    };
    match result {
        Ok(Ok(stats)) => traffic.stats = Some(stats),
        Ok(Err(e)) => traffic.load_error = Some(e.to_string()),
        Err(e) => traffic.load_error = Some(format!("the load engine crashed: {e}")),
    }
    traffic
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
                    health: RuleHealth::of(&rule.health),
                    last_error: rule.last_error.clone().filter(|e| !e.is_empty()),
                    error_ratio: None,
                });
        }
    }
    Ok(rules)
}
