//! Notification checks: the page reaches a receiver within a deadline, its
//! resolution does too, nobody is notified during a phase, Alertmanager
//! routes an alert to a receiver. Judged on what was seen of Alertmanager
//! (`record::AlertmanagerRecord`) and its routing configuration, read with
//! `rules::alertmanager`.
//!
//! When the page did not come, the verdict says why, in this order: the
//! alert never fired; it never reached Alertmanager; a silence held it
//! (id, matchers, who, why, until when); another alert inhibited it (which,
//! through which rule); it was routed to another receiver (which, via
//! which route); the receiver has no integrations.
//!
//! Against a foreign Alertmanager the notifications themselves are not
//! observable: a verdict then rests on its API (arrival, state, receivers)
//! plus the route's timing, and says so (`measured: estimated`). A window
//! that was not observed to its end (Alertmanager not answering, the run
//! cut short) makes a check inconclusive, never a pass.

mod deadline;
mod quiet;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use deadline::{notifies_resolved_within, notifies_within};
pub use quiet::{no_notification_during, routed_to};

use super::{secs, Status, Verdict};
use crate::plan::CheckPlan;
use crate::record::{AlertAtAlertmanager, AlertmanagerRecord, Labels, Observations};
use crate::rules::alertmanager::{self, AlertmanagerConfig, RouteMatch};

/// What every notification check starts from.
struct PageContext<'a> {
    am: &'a AlertmanagerRecord,
    /// None when the configuration could not be read (said in the verdict).
    config: Option<AlertmanagerConfig>,
    config_error: Option<String>,
    /// Up to when both Prometheus and Alertmanager were watched.
    observed_until: f64,
}

fn page_context<'a>(
    check: &CheckPlan,
    observations: &'a Observations,
) -> Result<PageContext<'a>, Box<Verdict>> {
    let Some(am) = &observations.alertmanager else {
        return Err(Box::new(Verdict::new(
            check,
            Status::Inconclusive,
            "no Alertmanager was watched, so no notification could be seen".into(),
        )));
    };
    let (config, config_error) =
        match alertmanager::parse(&am.config_text, std::path::Path::new(&am.config_origin)) {
            Ok(config) => (Some(config), None),
            Err(e) => (None, Some(e.to_string())),
        };
    Ok(PageContext {
        am,
        config,
        config_error,
        observed_until: observations
            .observed_until
            .min(am.observed_until.max(am.observed_from)),
    })
}

impl PageContext<'_> {
    /// The routes `labels` takes, with the timings as they ran (scaled).
    fn routes(&self, labels: &Labels) -> Vec<RouteMatch> {
        let scale = self.am.time_scale.max(f64::MIN_POSITIVE);
        let Some(config) = &self.config else {
            return Vec::new();
        };
        config
            .route_for(labels)
            .into_iter()
            .map(|mut m| {
                m.group_wait = m.group_wait.div_f64(scale);
                m.group_interval = m.group_interval.div_f64(scale);
                m.repeat_interval = m.repeat_interval.div_f64(scale);
                m
            })
            .collect()
    }

    /// The route to `receiver` among those `labels` take, else the first.
    fn route_to(&self, labels: &Labels, receiver: &str) -> Option<RouteMatch> {
        let routes = self.routes(labels);
        routes
            .iter()
            .find(|m| m.receiver == receiver)
            .or(routes.first())
            .cloned()
    }

    /// Evidence every notification verdict carries: how it was measured,
    /// and the route's timing.
    fn evidence(&self, verdict: Verdict, route: Option<&RouteMatch>) -> Verdict {
        let mut verdict = verdict
            .with(
                "measured",
                if self.am.notifications_observable {
                    "observed: every notification went to firedrill's receiver"
                } else {
                    "estimated: from Alertmanager's API (arrival, state, receivers) and the route's timing; the notifications themselves are not observable at a foreign Alertmanager"
                },
            )
            .with("alertmanager", &self.am.url);
        if let Some(route) = route {
            verdict = verdict
                .with("route", route.path_text())
                .with("route_receiver", &route.receiver)
                .with("group_wait_seconds", route.group_wait.as_secs_f64())
                .with("group_interval_seconds", route.group_interval.as_secs_f64());
        }
        if let Some(error) = &self.config_error {
            verdict = verdict.with("config_error", error);
        }
        verdict
    }

    /// Why an alert that reached Alertmanager was not sent to `receiver`,
    /// if the records say: silenced, inhibited, routed elsewhere, or a
    /// receiver with no integrations.
    fn held_back(
        &self,
        alert: &AlertAtAlertmanager,
        receiver: &str,
        run_start: f64,
    ) -> Option<(String, &'static str)> {
        if let Some(held) = alert.first_suppression() {
            if let Some(id) = held.silenced_by.first() {
                return Some((self.silence_text(id, held.at - run_start), "silenced"));
            }
            if let Some(fp) = held.inhibited_by.first() {
                return Some((self.inhibition_text(alert, fp), "inhibited"));
            }
        }
        if !alert.receivers.is_empty() && !alert.receivers.iter().any(|r| r == receiver) {
            let route = self
                .routes(&alert.labels)
                .into_iter()
                .find(|m| alert.receivers.contains(&m.receiver));
            let via = route
                .map(|m| format!(" via {}", m.path_text()))
                .unwrap_or_default();
            return Some((
                format!(
                    "Alertmanager routed it to `{}`{via}, not to `{receiver}`",
                    alert.receivers.join("`, `")
                ),
                "routed elsewhere",
            ));
        }
        if let Some(found) = self.config.as_ref().and_then(|c| c.receiver(receiver)) {
            if found.integrations.is_empty() {
                return Some((
                    format!(
                        "it was routed to `{receiver}`, which has no integrations: Alertmanager routes to it and sends nothing"
                    ),
                    "receiver without integrations",
                ));
            }
        }
        None
    }

    fn silence_text(&self, id: &str, at: f64) -> String {
        match self.am.silences.get(id) {
            Some(silence) => format!(
                "silence {id} held it from t={} ({}, created by {}: \"{}\", ends at {})",
                secs(at),
                silence.matchers.join(", "),
                if silence.created_by.is_empty() {
                    "?"
                } else {
                    &silence.created_by
                },
                silence.comment,
                silence
                    .ends_at
                    .map(crate::time::rfc3339)
                    .unwrap_or_else(|| "?".into())
            ),
            None => format!("silence {id} held it (its details were not listed)"),
        }
    }

    fn inhibition_text(&self, target: &AlertAtAlertmanager, fingerprint: &str) -> String {
        let source = self
            .am
            .alerts
            .values()
            .find(|a| a.fingerprint == fingerprint);
        let Some(source) = source else {
            return format!("it was inhibited by the alert with fingerprint {fingerprint}");
        };
        let name = source
            .labels
            .get("alertname")
            .cloned()
            .unwrap_or_else(|| "?".into());
        let rule = self
            .config
            .as_ref()
            .and_then(|c| c.inhibited_by(&target.labels, std::slice::from_ref(&source.labels)))
            .map(|i| format!(" through {}", i.rule_text))
            .unwrap_or_default();
        format!(
            "it was inhibited by `{name}` {}{rule}",
            labels_text(&source.labels)
        )
    }
}

/// `{job=api-gateway, severity=warning}` without `alertname`.
fn labels_text(labels: &Labels) -> String {
    let inner: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "alertname")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// The first arrival of `alert` at Alertmanager at or after `from`.
fn arrival_after<'a>(
    am: &'a AlertmanagerRecord,
    alert: &str,
    from: f64,
) -> Option<&'a AlertAtAlertmanager> {
    am.arrivals_of(alert)
        .into_iter()
        .find(|a| a.arrived_at >= from || a.gone_at.is_none_or(|g| g > from))
}

/// When Alertmanager sends the first notification of a new group: one
/// `group_wait` after the group is created — at once when the alert began
/// longer than `group_wait` ago (dispatch.go, aggrGroup.insert).
fn estimated_notification(arrival: &AlertAtAlertmanager, group_wait: Duration) -> f64 {
    let wait = group_wait.as_secs_f64();
    match arrival.starts_at {
        Some(started) if started + wait < arrival.arrived_at => arrival.arrived_at,
        _ => arrival.arrived_at + wait,
    }
}
