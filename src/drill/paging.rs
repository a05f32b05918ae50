//! Watching Alertmanager while the drill runs: when each alert arrives (its
//! `updatedAt` at the first sighting, kept between the polls that bracket
//! it), its state over time (active, or suppressed by which silences and
//! inhibiting alerts), the receivers it was routed to, the silences in
//! force, and every poll it did not answer (a gap makes "no page came"
//! unprovable: the checks say inconclusive). With the in-process receiver
//! (`receiver`), this is what `record::AlertmanagerRecord` holds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::clock::Clock;
use crate::prom::alertmanager::{AmAlert, AmSilence};
use crate::prom::AlertmanagerClient;
use crate::record::{AlertAtAlertmanager, AlertState, AlertmanagerRecord, Progress, SilenceRecord};
use crate::time::parse_rfc3339;

pub struct AlertmanagerWatcher {
    stop: watch::Sender<bool>,
    task: JoinHandle<AlertmanagerRecord>,
}

/// What the watcher keeps between polls.
struct State {
    record: AlertmanagerRecord,
    /// The fingerprint's current key in `record.alerts` (a second episode
    /// of the same labels gets `fp#2`).
    current: BTreeMap<String, String>,
    last_poll: Option<f64>,
    start_counters: Option<crate::prom::alertmanager::NotificationCounters>,
}

impl AlertmanagerWatcher {
    pub fn start(
        client: AlertmanagerClient,
        clock: Clock,
        poll_every: Duration,
        record: AlertmanagerRecord,
        progress: Arc<dyn Progress>,
    ) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut state = State {
                record,
                current: BTreeMap::new(),
                last_poll: None,
                start_counters: client.counters().await.ok(),
            };
            state.record.observed_from = clock.now();
            refresh_silences(&client, &clock, &mut state).await;
            loop {
                poll_once(&client, &clock, &mut state, progress.as_ref()).await;
                tokio::select! {
                    _ = tokio::time::sleep(poll_every) => {}
                    _ = stopped.changed() => break,
                }
            }
            poll_once(&client, &clock, &mut state, progress.as_ref()).await;
            refresh_silences(&client, &clock, &mut state).await;
            if let (Some(start), Ok(end)) = (&state.start_counters, client.counters().await) {
                let delta = |a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>| {
                    b.iter()
                        .map(|(k, v)| (k.clone(), v - a.get(k).copied().unwrap_or(0.0)))
                        .filter(|(_, v)| *v != 0.0)
                        .collect()
                };
                state.record.notifications_sent = Some(delta(&start.sent, &end.sent));
                state.record.notifications_failed = Some(delta(&start.failed, &end.failed));
            }
            state.record
        });
        AlertmanagerWatcher { stop, task }
    }

    pub async fn finish(self) -> Option<AlertmanagerRecord> {
        let _ = self.stop.send(true);
        self.task.await.ok()
    }
}

async fn refresh_silences(client: &AlertmanagerClient, clock: &Clock, state: &mut State) {
    match client.silences().await {
        Ok(silences) => {
            for silence in silences {
                state
                    .record
                    .silences
                    .insert(silence.id.clone(), silence_record(&silence));
            }
        }
        Err(e) => state.record.failures.push((clock.now(), e.to_string())),
    }
}

fn silence_record(silence: &AmSilence) -> SilenceRecord {
    SilenceRecord {
        id: silence.id.clone(),
        matchers: silence.matchers.iter().map(|m| m.text()).collect(),
        created_by: silence.created_by.clone(),
        comment: silence.comment.clone(),
        starts_at: parse_rfc3339(&silence.starts_at),
        ends_at: parse_rfc3339(&silence.ends_at),
        state: silence.status.state.clone(),
    }
}

async fn poll_once(
    client: &AlertmanagerClient,
    clock: &Clock,
    state: &mut State,
    progress: &dyn Progress,
) {
    state.record.polls += 1;
    let now = clock.now();
    let alerts = match client.alerts().await {
        Ok(alerts) => alerts,
        Err(e) => {
            state.record.failures.push((now, e.to_string()));
            return;
        }
    };
    let previous = state.last_poll.replace(now);
    state.record.observed_until = now;
    let mut seen = Vec::new();
    let mut unknown_silence = false;
    for alert in &alerts {
        seen.push(alert.fingerprint.clone());
        unknown_silence |= alert
            .status
            .silenced_by
            .iter()
            .any(|id| !state.record.silences.contains_key(id));
        let key = state.current.get(&alert.fingerprint).cloned();
        match key.and_then(|k| state.record.alerts.get_mut(&k)) {
            Some(known) => update(known, alert, now),
            None => {
                let arrived = first_sighting(alert, now, previous, clock);
                progress.alert_arrived(&arrived);
                let episodes = state
                    .record
                    .alerts
                    .keys()
                    .filter(|k| k.split('#').next() == Some(alert.fingerprint.as_str()))
                    .count();
                let key = if episodes == 0 {
                    alert.fingerprint.clone()
                } else {
                    format!("{}#{}", alert.fingerprint, episodes + 1)
                };
                state.current.insert(alert.fingerprint.clone(), key.clone());
                state.record.alerts.insert(key, arrived);
            }
        }
    }
    // Alerts no longer listed have resolved (Alertmanager lists only
    // unresolved ones).
    let gone: Vec<String> = state
        .current
        .keys()
        .filter(|fp| !seen.contains(fp))
        .cloned()
        .collect();
    for fingerprint in gone {
        if let Some(key) = state.current.remove(&fingerprint) {
            if let Some(alert) = state.record.alerts.get_mut(&key) {
                alert.gone_at = Some(now);
            }
        }
    }
    if unknown_silence {
        refresh_silences(client, clock, state).await;
    }
}

fn state_of(alert: &AmAlert, at: f64) -> AlertState {
    AlertState {
        at,
        state: alert.status.state.clone(),
        silenced_by: alert.status.silenced_by.clone(),
        inhibited_by: alert.status.inhibited_by.clone(),
    }
}

fn update(known: &mut AlertAtAlertmanager, alert: &AmAlert, now: f64) {
    known.last_seen = now;
    let current = state_of(alert, now);
    let changed = known.states.last().is_none_or(|last| {
        last.state != current.state
            || last.silenced_by != current.silenced_by
            || last.inhibited_by != current.inhibited_by
    });
    if changed {
        known.states.push(current);
    }
    for receiver in &alert.receivers {
        if !known.receivers.contains(&receiver.name) {
            known.receivers.push(receiver.name.clone());
        }
    }
}

/// The alert's arrival: Alertmanager's `updatedAt` (its receipt time, on
/// this machine's clock for the embedded one), kept between the previous
/// poll (which did not have it) and this one (which does).
fn first_sighting(
    alert: &AmAlert,
    now: f64,
    previous: Option<f64>,
    clock: &Clock,
) -> AlertAtAlertmanager {
    let offset = clock.offset_seconds;
    let updated = parse_rfc3339(&alert.updated_at).map(|t| t + offset);
    let earliest = previous.unwrap_or(f64::NEG_INFINITY);
    let (arrived_at, uncertainty) = match updated {
        Some(t) if t >= earliest && t <= now + 0.001 => (t, 0.0),
        _ => (now, previous.map(|p| now - p).unwrap_or(0.0)),
    };
    AlertAtAlertmanager {
        fingerprint: alert.fingerprint.clone(),
        labels: alert.labels.clone(),
        arrived_at,
        arrival_uncertainty: uncertainty,
        starts_at: parse_rfc3339(&alert.starts_at).map(|t| t + offset),
        receivers: alert.receivers.iter().map(|r| r.name.clone()).collect(),
        states: vec![state_of(alert, now)],
        last_seen: now,
        gone_at: None,
    }
}
