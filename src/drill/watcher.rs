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

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::clock::{parse_rfc3339, Clock};
use super::Progress;
use crate::prom::PromClient;

/// An alert changing state, as seen by polling /api/v1/alerts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertEvent {
    /// Prometheus time at which the change was seen.
    pub seen_at: f64,
    pub alert: String,
    /// `pending`, `firing`, or `inactive`.
    pub state: String,
    pub labels: String,
}

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
}

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
            let mut states: BTreeMap<(String, String), String> = BTreeMap::new();
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
    states: &mut BTreeMap<(String, String), String>,
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
        if states.get(&key) != Some(&alert.state) {
            states.insert(key, alert.state.clone());
            let event = AlertEvent {
                seen_at: now,
                alert: name,
                state: alert.state,
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
            state: "inactive".into(),
            labels: key.1,
        };
        progress.alert_changed(&event);
        log.events.push(event);
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
    }
}
