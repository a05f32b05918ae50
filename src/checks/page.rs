//! What every notification check starts from: the Alertmanager watched,
//! its routing configuration (read with `rules::alertmanager`), and why an
//! alert that arrived there was not sent to a receiver.
//!
//! When the page did not come, a verdict says why, in this order: the
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

use std::time::Duration;

use super::evidence::{PageFigures, RouteFigures};
use super::judged::{secs, Judging, Unjudged};
use crate::record::{AlertAtAlertmanager, AlertmanagerRecord, Labels, Observations};
use crate::rules::alertmanager::{self, AlertmanagerConfig, RouteMatch};
use crate::setup::AlertRef;

/// What every notification check starts from.
pub struct PageContext<'a> {
    pub am: &'a AlertmanagerRecord,
    /// None when the configuration could not be read (said in the verdict).
    pub config: Option<AlertmanagerConfig>,
    pub config_error: Option<String>,
    /// Up to when both Prometheus and Alertmanager were watched.
    pub observed_until: f64,
}

/// Why an alert that reached Alertmanager was not sent to a receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldBack {
    /// What happened, for a sentence.
    pub why: String,
    /// `silenced`, `inhibited`, `routed elsewhere` or `receiver without
    /// integrations`.
    pub reason: &'static str,
}

pub fn page_context(observations: &Observations) -> Result<PageContext<'_>, Unjudged> {
    let Some(am) = &observations.alertmanager else {
        return Err(Unjudged::inconclusive(
            "no Alertmanager was watched, so no notification could be seen",
        ));
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
    pub fn routes(&self, labels: &Labels) -> Vec<RouteMatch> {
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
    pub fn route_to(&self, labels: &Labels, receiver: &str) -> Option<RouteMatch> {
        let routes = self.routes(labels);
        routes
            .iter()
            .find(|m| m.receiver == receiver)
            .or(routes.first())
            .cloned()
    }

    /// The figures every notification verdict carries: how it was measured,
    /// and the route's timing.
    pub fn figures(&self, route: Option<&RouteMatch>) -> PageFigures {
        PageFigures {
            measured: if self.am.notifications_observable {
                "observed: every notification went to firedrill's receiver"
            } else {
                "estimated: from Alertmanager's API (arrival, state, receivers) and the route's timing; the notifications themselves are not observable at a foreign Alertmanager"
            }
            .to_string(),
            alertmanager: self.am.url.clone(),
            route: route.map(|route| RouteFigures {
                route: route.path_text(),
                route_receiver: route.receiver.clone(),
                group_wait_seconds: route.group_wait.as_secs_f64(),
                group_interval_seconds: route.group_interval.as_secs_f64(),
            }),
            config_error: self.config_error.clone(),
        }
    }

    /// Why an alert that reached Alertmanager was not sent to `receiver`,
    /// if the records say: silenced, inhibited, routed elsewhere, or a
    /// receiver with no integrations.
    pub fn held_back(
        &self,
        alert: &AlertAtAlertmanager,
        receiver: &str,
        run_start: f64,
    ) -> Option<HeldBack> {
        if let Some(held) = alert.first_suppression() {
            if let Some(id) = held.silenced_by.first() {
                return Some(HeldBack {
                    why: self.silence_text(id, held.at - run_start),
                    reason: "silenced",
                });
            }
            if let Some(fp) = held.inhibited_by.first() {
                return Some(HeldBack {
                    why: self.inhibition_text(alert, fp),
                    reason: "inhibited",
                });
            }
        }
        if !alert.receivers.is_empty() && !alert.receivers.iter().any(|r| r == receiver) {
            let via = self
                .routes(&alert.labels)
                .into_iter()
                .find(|m| alert.receivers.contains(&m.receiver))
                .map(|m| format!(" via {}", m.path_text()))
                .unwrap_or_default();
            return Some(HeldBack {
                why: format!(
                    "Alertmanager routed it to `{}`{via}, not to `{receiver}`",
                    alert.receivers.join("`, `")
                ),
                reason: "routed elsewhere",
            });
        }
        let found = self.config.as_ref().and_then(|c| c.receiver(receiver))?;
        found.integrations.is_empty().then(|| HeldBack {
            why: format!(
                "it was routed to `{receiver}`, which has no integrations: Alertmanager routes to it and sends nothing"
            ),
            reason: "receiver without integrations",
        })
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
pub fn labels_text(labels: &Labels) -> String {
    let inner: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "alertname")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// The first arrival of `alert` at Alertmanager at or after `from`.
pub fn arrival_after<'a>(
    am: &'a AlertmanagerRecord,
    alert: &AlertRef,
    from: f64,
) -> Option<&'a AlertAtAlertmanager> {
    am.arrivals_of(alert)
        .into_iter()
        .find(|a| a.arrived_at >= from || a.gone_at.is_none_or(|g| g > from))
}

/// When Alertmanager sends the first notification of a new group: one
/// `group_wait` after the group is created — at once when the alert began
/// longer than `group_wait` ago (dispatch.go, aggrGroup.insert).
pub fn estimated_notification(arrival: &AlertAtAlertmanager, group_wait: Duration) -> f64 {
    let wait = group_wait.as_secs_f64();
    match arrival.starts_at {
        Some(started) if started + wait < arrival.arrived_at => arrival.arrived_at,
        _ => arrival.arrived_at + wait,
    }
}

/// The least time given to an alert to reach Alertmanager after it fires
/// (Prometheus's notifier sends at once; a second covers a loaded machine).
const MIN_DELIVERY_SECONDS: f64 = 1.0;

/// Why whether `alert` (fired at `fired_at`, its rule evaluated every
/// `interval_seconds`) reached Alertmanager is unknown, if Alertmanager was
/// last asked before it was due there — a clause for the verdict, which
/// says what is unknown. Prometheus sends an alert at the evaluation that
/// fires it; until the next evaluation has passed, and Alertmanager was
/// asked after that, not having seen it there says nothing (a run that
/// ends, or is interrupted, just after it fires).
pub fn arrival_not_yet_due(
    alert: &AlertRef,
    fired_at: f64,
    interval_seconds: f64,
    am: &AlertmanagerRecord,
    judging: &Judging,
) -> Option<String> {
    let due = fired_at + interval_seconds.max(MIN_DELIVERY_SECONDS);
    (am.observed_until < due).then(|| {
        format!(
            "`{alert}` fired at t={}, and Alertmanager was last asked at t={}, before it could be seen there (it is sent at the evaluation that fires it, given until the next, t={})",
            secs(judging.rel(fired_at)),
            secs(judging.rel(am.observed_until)),
            secs(judging.rel(due))
        )
    })
}
