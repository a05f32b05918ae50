//! `no_notifications_during` (nobody — or one receiver — is notified, of
//! anything or of one alert, during a phase) and `routed_to` (Alertmanager
//! routes an alert to a receiver and does not hold it back).

use super::{estimated_notification, labels_text, page_context};
use crate::checks::{secs, Status, Verdict};
use crate::plan::CheckPlan;
use crate::record::{Observations, RunStatus};

/// The phase ran to its end (a later phase began, or the run completed).
fn phase_completed(observations: &Observations, phase: usize) -> bool {
    phase + 1 < observations.phases.len()
        || (phase < observations.phases.len() && observations.status == RunStatus::Completed)
}

pub fn no_notification_during(
    check: &CheckPlan,
    phase: usize,
    receiver: Option<&str>,
    alert: Option<&str>,
    observations: &Observations,
) -> Verdict {
    let page = match page_context(check, observations) {
        Ok(page) => page,
        Err(verdict) => return *verdict,
    };
    let Some(record) = observations.phases.get(phase) else {
        return Verdict::new(check, Status::Inconclusive, "the phase did not run".into());
    };
    let (from, to) = (record.started_at, record.ended_at);
    let rel = |t: f64| t - observations.run_start;
    let to_whom = receiver.map(|r| format!(" to `{r}`")).unwrap_or_default();
    let about = alert.map(|a| format!(" about `{a}`")).unwrap_or_default();
    let base = |status: Status, summary: String| {
        page.evidence(Verdict::new(check, status, summary), None)
            .with("phase", &record.name)
            .with("phase_from_seconds", rel(from))
            .with("phase_to_seconds", rel(to))
            .with("receiver", receiver)
    };
    if let Some(found) = noisy(
        &page,
        record,
        (from, to),
        receiver,
        alert,
        observations.run_start,
    ) {
        return base(Status::Fail, found.0).with("notified_at_seconds", found.1);
    }
    if let Some((at, why)) = page.am.failure_within(from, to) {
        return base(
            Status::Inconclusive,
            format!(
                "no notification{to_whom}{about} was seen, but Alertmanager did not answer at t={} ({why}): quiet is not proven",
                secs(rel(*at))
            ),
        );
    }
    if !phase_completed(observations, phase) || page.observed_until < to {
        return base(
            Status::Inconclusive,
            format!(
                "no notification{to_whom}{about} was seen, but `{}` was not observed to its end",
                record.name
            ),
        );
    }
    base(
        Status::Pass,
        format!(
            "no notification{to_whom}{about} during `{}` ({} {}; Alertmanager answered all {} polls)",
            record.name,
            secs(to - from),
            if page.am.notifications_observable {
                "watched at firedrill's receiver"
            } else {
                "estimated from Alertmanager's API"
            },
            page.am.polls
        ),
    )
}

pub fn routed_to(
    check: &CheckPlan,
    alert: &str,
    receiver: &str,
    phase: Option<usize>,
    observations: &Observations,
) -> Verdict {
    let page = match page_context(check, observations) {
        Ok(page) => page,
        Err(verdict) => return *verdict,
    };
    let from = match phase.map(|p| observations.phases.get(p)) {
        Some(Some(record)) => record.started_at,
        Some(None) => {
            return Verdict::new(check, Status::Inconclusive, "the phase did not run".into())
        }
        None => observations.run_start,
    };
    let rel = |t: f64| t - observations.run_start;
    let arrival = super::arrival_after(page.am, alert, from);
    let route = arrival.and_then(|a| page.route_to(&a.labels, receiver));
    let base = |status: Status, summary: String| {
        page.evidence(Verdict::new(check, status, summary), route.as_ref())
            .with("receiver", receiver)
    };
    let Some(arrival) = arrival else {
        let fired = observations.alerts.get(alert).is_some_and(|h| {
            h.episodes
                .iter()
                .any(|e| e.firing_at.is_some_and(|f| f >= from))
        });
        if !fired {
            return base(
                Status::Inconclusive,
                format!("`{alert}` did not fire, so nothing reached Alertmanager: the drill did not create the situation this check is about"),
            );
        }
        if page.am.failure_within(from, page.observed_until).is_some() {
            return base(
                Status::Inconclusive,
                format!("`{alert}` fired, but Alertmanager did not always answer: whether it arrived is unknown"),
            );
        }
        return base(
            Status::Fail,
            format!("`{alert}` fired but never arrived at Alertmanager (is it in Prometheus's `alerting:` configuration?)"),
        );
    };
    if let Some((why, reason)) = page.held_back(arrival, receiver, observations.run_start) {
        return base(
            Status::Fail,
            format!(
                "`{alert}` {} arrived at Alertmanager at t={}, and {why}",
                labels_text(&arrival.labels),
                secs(rel(arrival.arrived_at))
            ),
        )
        .with("reason", reason);
    }
    if !arrival.receivers.iter().any(|r| r == receiver) {
        return base(
            Status::Fail,
            format!("Alertmanager listed no receiver for `{alert}` (its API gave none)"),
        );
    }
    base(
        Status::Pass,
        format!(
            "`{alert}` {} arrived at Alertmanager at t={} and was routed to `{receiver}`{}, not held back (Alertmanager's API)",
            labels_text(&arrival.labels),
            secs(rel(arrival.arrived_at)),
            route
                .as_ref()
                .map(|r| format!(" via {}", r.path_text()))
                .unwrap_or_default()
        ),
    )
}

/// The first notification (or, at a foreign Alertmanager, the first alert
/// whose notification would leave) inside the window: what to say, and when.
fn noisy(
    page: &super::PageContext,
    record: &crate::record::PhaseRecord,
    (from, to): (f64, f64),
    receiver: Option<&str>,
    alert: Option<&str>,
    run_start: f64,
) -> Option<(String, f64)> {
    let rel = |t: f64| t - run_start;
    if page.am.notifications_observable {
        let offending = page.am.notifications.iter().find(|n| {
            n.received_at >= from
                && n.received_at <= to
                && receiver.is_none_or(|r| n.receiver == r)
                && alert.is_none_or(|a| n.carries(a, "firing") || n.carries(a, "resolved"))
        });
        if let Some(n) = offending {
            let names: Vec<String> = n
                .alerts
                .iter()
                .map(|a| {
                    format!(
                        "{} {}",
                        a.labels.get("alertname").map(String::as_str).unwrap_or("?"),
                        labels_text(&a.labels)
                    )
                })
                .collect();
            return Some((
                format!(
                    "`{}` was notified ({}, {}) at t={} during `{}`: {}",
                    n.receiver,
                    n.integration,
                    n.status,
                    secs(rel(n.received_at)),
                    record.name,
                    names.join("; ")
                ),
                rel(n.received_at),
            ));
        }
    } else {
        // From the API: an alert routed there, not held back, whose
        // notification would leave inside the phase.
        let offending = page.am.alerts.values().find(|a| {
            let name = a.labels.get("alertname").map(String::as_str).unwrap_or("");
            let wait = page
                .route_to(&a.labels, receiver.unwrap_or(""))
                .map(|r| r.group_wait)
                .unwrap_or_default();
            let at = estimated_notification(a, wait);
            alert.is_none_or(|x| x == name)
                && receiver.is_none_or(|r| a.receivers.iter().any(|x| x == r))
                && a.first_suppression().is_none()
                && at >= from
                && at <= to
        });
        if let Some(a) = offending {
            return Some((
                format!(
                    "estimated: `{}` {} arrived at Alertmanager at t={}, routed to `{}` and not held back: its notification leaves during `{}` (notifications are not observable at a foreign Alertmanager)",
                    a.labels.get("alertname").map(String::as_str).unwrap_or("?"),
                    labels_text(&a.labels),
                    secs(rel(a.arrived_at)),
                    a.receivers.join("`, `"),
                    record.name
                ),
                rel(a.arrived_at),
            ));
        }
    }
    None
}
