//! Watching Prometheus while the drill runs: alert state changes (for the
//! live view and the event log) and proof that the rules were evaluated all
//! along (a gap — Prometheus down, overloaded, restarted — makes "the alert
//! stayed silent" unprovable, and the check inconclusive).
//!
//! The figures in verdicts do not come from here (polling adds its interval
//! to every time); they come from `ALERTS` samples, read after the run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::clock::Clock;
use crate::prom::PromClient;
use crate::record::{AlertEvent, AlertStage, Progress, WatchLog};
use crate::time::parse_rfc3339;

pub struct Watcher {
    stop: watch::Sender<bool>,
    task: JoinHandle<WatchLog>,
}

impl Watcher {
    pub fn start(
        prometheus: PromClient,
        clock: Clock,
        poll_every: Duration,
        progress: Arc<dyn Progress>,
    ) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut log = WatchLog::default();
            let mut states: BTreeMap<(String, String), AlertStage> = BTreeMap::new();
            loop {
                poll_once(
                    &prometheus,
                    &clock,
                    &mut log,
                    &mut states,
                    progress.as_ref(),
                )
                .await;
                tokio::select! {
                    _ = tokio::time::sleep(poll_every) => {}
                    _ = stopped.changed() => break,
                }
            }
            // One last look, so changes up to the end are in the log.
            poll_once(
                &prometheus,
                &clock,
                &mut log,
                &mut states,
                progress.as_ref(),
            )
            .await;
            log
        });
        Watcher { stop, task }
    }

    pub async fn finish(self) -> WatchLog {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}

async fn poll_once(
    prometheus: &PromClient,
    clock: &Clock,
    log: &mut WatchLog,
    states: &mut BTreeMap<(String, String), AlertStage>,
    progress: &dyn Progress,
) {
    log.polls += 1;
    let now = clock.now();
    match prometheus.rules().await {
        Ok(groups) => {
            for group in groups {
                if let Some(t) = group.last_evaluation.as_deref().and_then(parse_rfc3339) {
                    let ticks = log.evaluations.entry(group.name).or_default();
                    if ticks.last().is_none_or(|last| *last < t) {
                        ticks.push(t);
                    }
                }
            }
        }
        Err(e) => {
            log.failures.push((now, e.to_string()));
            return;
        }
    }
    let alerts = match prometheus.alerts().await {
        Ok(alerts) => alerts,
        Err(e) => {
            log.failures.push((now, e.to_string()));
            return;
        }
    };
    let mut seen = BTreeSet::new();
    for alert in alerts {
        let name = alert.labels.get("alertname").cloned().unwrap_or_default();
        let labels = alert
            .labels
            .iter()
            .filter(|(k, _)| k.as_str() != "alertname")
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let key = (name.clone(), labels.clone());
        seen.insert(key.clone());
        // Prometheus lists active alerts only: pending or firing.
        let Ok(state) = alert.state.parse::<AlertStage>() else {
            continue;
        };
        if states.get(&key) != Some(&state) {
            states.insert(key, state);
            let event = AlertEvent {
                seen_at: now,
                alert: name,
                state,
                labels,
            };
            progress.alert_changed(&event);
            log.events.push(event);
        }
    }
    let gone: Vec<_> = states
        .keys()
        .filter(|k| !seen.contains(*k))
        .cloned()
        .collect();
    for key in gone {
        states.remove(&key);
        let event = AlertEvent {
            seen_at: now,
            alert: key.0,
            state: AlertStage::Inactive,
            labels: key.1,
        };
        progress.alert_changed(&event);
        log.events.push(event);
    }
}
