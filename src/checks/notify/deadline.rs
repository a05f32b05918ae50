//! `notifies_within` and `notifies_resolved_within`: the page (or the news
//! that the alert resolved) reaches a receiver within a deadline after an
//! anchor, with the arithmetic from the anchor to the notification: time
//! to fire in Prometheus, time to arrive at Alertmanager, time to the
//! notification, and the route's `group_wait`/`group_interval`.

use std::time::Duration;

use super::super::alerts::{anchor_time, context};
use super::{arrival_after, estimated_notification, page_context, PageContext};
use crate::checks::{secs, Status, Verdict};
use crate::plan::{Anchor, CheckPlan};
use crate::record::{AlertAtAlertmanager, Labels, Observations};
use crate::rules::alertmanager::RouteMatch;

/// The figures of one notification deadline, for its verdict.
struct Measured<'a> {
    anchor_t: f64,
    anchor_name: String,
    deadline_s: f64,
    fired_at: Option<f64>,
    arrival: Option<&'a AlertAtAlertmanager>,
    route: Option<RouteMatch>,
}

pub fn notifies_within(
    check: &CheckPlan,
    alert: &str,
    receiver: &str,
    deadline: Duration,
    anchor: &Anchor,
    observations: &Observations,
) -> Verdict {
    let page = match page_context(check, observations) {
        Ok(page) => page,
        Err(verdict) => return *verdict,
    };
    let alerting = match context(check, alert, observations) {
        Ok(found) => found,
        Err(verdict) => return *verdict,
    };
    let (anchor_t, tolerance, anchor_name) = match anchor_time(check, anchor, observations) {
        Ok(found) => found,
        Err(verdict) => return *verdict,
    };
    let rel = |t: f64| t - observations.run_start;
    if let Some(already) =
        alerting.history.episodes.iter().find(|e| {
            e.firing_at.is_some_and(|f| f < anchor_t - tolerance) && e.active_at(anchor_t)
        })
    {
        return page.evidence(
            Verdict::new(
                check,
                Status::Fail,
                format!(
                    "`{alert}` was already firing before {anchor_name} (since t={}): a drill has to start from silence to measure the time to the page",
                    secs(rel(already.firing_at.unwrap_or(anchor_t)))
                ),
            ),
            None,
        );
    }
    let episode = alerting
        .history
        .episodes
        .iter()
        .filter(|e| e.firing_at.is_some_and(|f| f >= anchor_t - tolerance))
        .min_by(|a, b| a.start().total_cmp(&b.start()));
    let arrival = arrival_after(page.am, alert, anchor_t - tolerance);
    let labels: Option<&Labels> = arrival.map(|a| &a.labels).or(episode.map(|e| &e.labels));
    let measured = Measured {
        anchor_t,
        anchor_name,
        deadline_s: deadline.as_secs_f64(),
        fired_at: episode.and_then(|e| e.firing_at),
        arrival,
        route: labels.and_then(|l| page.route_to(l, receiver)),
    };
    let notified = page
        .am
        .notifications
        .iter()
        .filter(|n| n.receiver == receiver && n.carries(alert, "firing"))
        .find(|n| n.received_at >= anchor_t - tolerance)
        .map(|n| n.received_at);
    let verdict = if page.am.notifications_observable {
        observed(
            check,
            alert,
            receiver,
            &page,
            &measured,
            notified,
            alerting.rule.for_seconds,
            observations,
        )
    } else {
        estimated(check, alert, receiver, &page, &measured, observations)
    };
    with_figures(verdict, &page, &measured, observations)
}

/// The figures every verdict of this check carries.
fn with_figures(
    verdict: Verdict,
    page: &PageContext,
    m: &Measured,
    observations: &Observations,
) -> Verdict {
    let rel = |t: f64| t - observations.run_start;
    page.evidence(verdict, m.route.as_ref())
        .with("anchor", &m.anchor_name)
        .with("anchor_at_seconds", rel(m.anchor_t))
        .with("deadline_seconds", m.deadline_s)
        .with(
            "time_to_fire_seconds",
            m.fired_at.map(|f| (f - m.anchor_t).max(0.0)),
        )
        .with(
            "time_to_alertmanager_seconds",
            m.arrival.map(|a| (a.arrived_at - m.anchor_t).max(0.0)),
        )
        .with(
            "arrival_uncertainty_seconds",
            m.arrival.map(|a| a.arrival_uncertainty),
        )
}

/// Why the deadline cannot be met, or can be missed, from the route's
/// `group_wait` and the rule's `for` alone.
fn why_late(deadline_s: f64, route: Option<&RouteMatch>, for_seconds: f64) -> String {
    let Some(route) = route else {
        return String::new();
    };
    let wait = route.group_wait.as_secs_f64();
    if deadline_s < wait {
        format!(
            " The deadline cannot be met: the route's group_wait ({}) alone is longer than it.",
            secs(wait)
        )
    } else if deadline_s < wait + for_seconds {
        format!(
            " The deadline cannot be met: the rule's `for` ({}) and the route's group_wait ({}) together are longer than it.",
            secs(for_seconds),
            secs(wait)
        )
    } else {
        String::new()
    }
}

#[allow(clippy::too_many_arguments)]
fn observed(
    check: &CheckPlan,
    alert: &str,
    receiver: &str,
    page: &PageContext,
    m: &Measured,
    notified: Option<f64>,
    for_seconds: f64,
    observations: &Observations,
) -> Verdict {
    let late = why_late(m.deadline_s, m.route.as_ref(), for_seconds);
    let steps = steps_text(m);
    if let Some(at) = notified {
        let after = (at - m.anchor_t).max(0.0);
        let (status, summary) = if after <= m.deadline_s {
            (
                Status::Pass,
                format!(
                    "`{alert}` reached `{receiver}` {} after {} (deadline {}){steps}",
                    secs(after),
                    m.anchor_name,
                    secs(m.deadline_s)
                ),
            )
        } else {
            (
                Status::Fail,
                format!(
                    "`{alert}` reached `{receiver}` {} after {}, later than the deadline of {}{steps}.{late}",
                    secs(after),
                    m.anchor_name,
                    secs(m.deadline_s)
                ),
            )
        };
        return Verdict::new(check, status, summary)
            .with("receiver", receiver)
            .with("time_to_notify_seconds", after)
            .with("notified_at_seconds", at - observations.run_start);
    }
    let due = m.anchor_t + m.deadline_s;
    if let Some((at, why)) = page.am.failure_within(m.anchor_t, due) {
        return Verdict::new(
            check,
            Status::Inconclusive,
            format!(
                "no notification reached `{receiver}`, but Alertmanager did not answer at t={} ({why}): the page is not proven missing",
                secs(at - observations.run_start)
            ),
        )
        .with("receiver", receiver);
    }
    if due > page.observed_until {
        return Verdict::new(
            check,
            Status::Inconclusive,
            format!(
                "no notification had reached `{receiver}` when observation ended, {} after {}, before the {} deadline",
                secs(page.observed_until - m.anchor_t),
                m.anchor_name,
                secs(m.deadline_s)
            ),
        )
        .with("receiver", receiver);
    }
    let why = no_page(alert, receiver, page, m, observations);
    Verdict::new(
        check,
        Status::Fail,
        format!(
            "no notification of `{alert}` reached `{receiver}` within {} after {}: {why}.{late}",
            secs(m.deadline_s),
            m.anchor_name
        ),
    )
    .with("receiver", receiver)
}

/// `: fired after 8.1s, at Alertmanager after 8.1s, then the route's
/// group_wait of 1.5s`.
fn steps_text(m: &Measured) -> String {
    let mut parts = Vec::new();
    if let Some(f) = m.fired_at {
        parts.push(format!("fired after {}", secs((f - m.anchor_t).max(0.0))));
    }
    if let Some(a) = m.arrival {
        parts.push(format!(
            "at Alertmanager after {}",
            secs((a.arrived_at - m.anchor_t).max(0.0))
        ));
    }
    if let Some(route) = &m.route {
        parts.push(format!(
            "then the route's group_wait of {}",
            secs(route.group_wait.as_secs_f64())
        ));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join(", "))
    }
}

/// Why no page came, from the records.
fn no_page(
    alert: &str,
    receiver: &str,
    page: &PageContext,
    m: &Measured,
    observations: &Observations,
) -> String {
    let rel = |t: f64| t - observations.run_start;
    let Some(fired) = m.fired_at else {
        return format!(
            "`{alert}` never fired after {}, so nothing was sent to Alertmanager",
            m.anchor_name
        );
    };
    let Some(arrival) = m.arrival else {
        return format!(
            "`{alert}` fired at t={} but never arrived at Alertmanager (is it in Prometheus's `alerting:` configuration?)",
            secs(rel(fired))
        );
    };
    if let Some((why, _)) = page.held_back(arrival, receiver, observations.run_start) {
        return format!(
            "it arrived at Alertmanager at t={}, and {why}",
            secs(rel(arrival.arrived_at))
        );
    }
    format!(
        "it arrived at Alertmanager at t={}, routed to `{}`, and no notification followed",
        secs(rel(arrival.arrived_at)),
        arrival.receivers.join("`, `")
    )
}

/// A foreign Alertmanager: the arrival and the route's group_wait stand
/// in for the notification, marked as such.
fn estimated(
    check: &CheckPlan,
    alert: &str,
    receiver: &str,
    page: &PageContext,
    m: &Measured,
    observations: &Observations,
) -> Verdict {
    let rel = |t: f64| t - observations.run_start;
    let due = m.anchor_t + m.deadline_s;
    let Some(arrival) = m.arrival else {
        if let Some((at, why)) = page.am.failure_within(m.anchor_t, due) {
            return Verdict::new(
                check,
                Status::Inconclusive,
                format!("Alertmanager did not answer at t={} ({why}): whether `{alert}` arrived is unknown", secs(rel(*at))),
            );
        }
        if due > page.observed_until {
            return Verdict::new(
                check,
                Status::Inconclusive,
                format!("`{alert}` had not arrived at Alertmanager when observation ended, before the deadline"),
            );
        }
        let why = no_page(alert, receiver, page, m, observations);
        return Verdict::new(
            check,
            Status::Fail,
            format!("no notification of `{alert}` can have reached `{receiver}`: {why}"),
        );
    };
    if let Some((why, _)) = page.held_back(arrival, receiver, observations.run_start) {
        return Verdict::new(
            check,
            Status::Fail,
            format!(
                "`{alert}` arrived at Alertmanager at t={}, and {why} (from Alertmanager's API)",
                secs(rel(arrival.arrived_at))
            ),
        )
        .with("receiver", receiver);
    }
    let wait = m.route.as_ref().map(|r| r.group_wait).unwrap_or_default();
    let at = estimated_notification(arrival, wait);
    let after = (at - m.anchor_t).max(0.0);
    let status = if after <= m.deadline_s {
        Status::Pass
    } else {
        Status::Fail
    };
    Verdict::new(
        check,
        status,
        format!(
            "estimated: `{alert}` arrived at Alertmanager {} after {}, routed to `{receiver}`; with the route's group_wait ({}) its notification leaves {} after it ({} the {} deadline; the notification itself is not observable here)",
            secs((arrival.arrived_at - m.anchor_t).max(0.0)),
            m.anchor_name,
            secs(wait.as_secs_f64()),
            secs(after),
            if status == Status::Pass { "within" } else { "past" },
            secs(m.deadline_s)
        ),
    )
    .with("receiver", receiver)
    .with("time_to_notify_seconds", after)
    .with("time_to_notify_estimated", true)
}

pub fn notifies_resolved_within(
    check: &CheckPlan,
    alert: &str,
    receiver: &str,
    deadline: Duration,
    anchor: &Anchor,
    observations: &Observations,
) -> Verdict {
    let page = match page_context(check, observations) {
        Ok(page) => page,
        Err(verdict) => return *verdict,
    };
    let alerting = match context(check, alert, observations) {
        Ok(found) => found,
        Err(verdict) => return *verdict,
    };
    let (anchor_t, tolerance, anchor_name) = match anchor_time(check, anchor, observations) {
        Ok(found) => found,
        Err(verdict) => return *verdict,
    };
    let rel = |t: f64| t - observations.run_start;
    let deadline_s = deadline.as_secs_f64();
    let due = anchor_t + deadline_s;
    let episode = alerting
        .history
        .episodes
        .iter()
        .filter(|e| e.start() <= due)
        .max_by(|a, b| a.start().total_cmp(&b.start()));
    let route = episode.and_then(|e| page.route_to(&e.labels, receiver));
    let base = |status: Status, summary: String| {
        page.evidence(Verdict::new(check, status, summary), route.as_ref())
            .with("receiver", receiver)
            .with("anchor", &anchor_name)
            .with("anchor_at_seconds", rel(anchor_t))
            .with("deadline_seconds", deadline_s)
            .with(
                "resolved_at_seconds",
                episode.and_then(|e| e.resolved_at).map(rel),
            )
    };
    if let Some(found) = page.config.as_ref().and_then(|c| c.receiver(receiver)) {
        if !found.sends_resolved() {
            return base(
                Status::Fail,
                format!(
                    "receiver `{receiver}` never sends resolved notifications: `send_resolved` is off for its {} (Slack's, email's and WeChat's default)",
                    found.integration_list()
                ),
            );
        }
    }
    let Some(episode) = episode else {
        return base(
            Status::Inconclusive,
            format!("`{alert}` was never active, so there was nothing to resolve"),
        );
    };
    if !page.am.notifications_observable {
        return resolved_estimate(
            alert,
            receiver,
            &page,
            route.as_ref(),
            (anchor_t, &anchor_name, deadline_s),
            &base,
        );
    }
    let notified = page
        .am
        .notifications
        .iter()
        .filter(|n| n.receiver == receiver && n.carries(alert, "resolved"))
        .find(|n| n.received_at >= anchor_t - tolerance);
    let interval = route
        .as_ref()
        .map(|r| r.group_interval.as_secs_f64())
        .unwrap_or(0.0);
    match (notified, episode.resolved_at) {
        (Some(n), _) => {
            let after = (n.received_at - anchor_t).max(0.0);
            let status = if after <= deadline_s { Status::Pass } else { Status::Fail };
            base(
                status,
                format!(
                    "`{receiver}` was told `{alert}` resolved {} after {anchor_name} ({} the deadline of {}){}",
                    secs(after),
                    if status == Status::Pass { "within" } else { "later than" },
                    secs(deadline_s),
                    episode
                        .resolved_at
                        .map(|r| format!(": resolved in Prometheus after {}, then the group's next flush (group_interval {})", secs((r - anchor_t).max(0.0)), secs(interval)))
                        .unwrap_or_default()
                ),
            )
            .with("time_to_notify_seconds", after)
        }
        _ if due > page.observed_until => base(
            Status::Inconclusive,
            format!("the resolved notification had not reached `{receiver}` when observation ended, before the deadline"),
        ),
        _ if page.am.failure_within(anchor_t, due).is_some() => base(
            Status::Inconclusive,
            "Alertmanager did not answer during the deadline: the resolved notification is not proven missing".into(),
        ),
        (None, None) => base(
            Status::Fail,
            format!("`{alert}` was still active {} after {anchor_name}: no resolution to notify", secs(page.observed_until - anchor_t)),
        ),
        (None, Some(resolved)) => base(
            Status::Fail,
            format!(
                "`{alert}` resolved in Prometheus at t={}, but no resolved notification reached `{receiver}` by the deadline (group_interval {})",
                secs(rel(resolved)),
                secs(interval)
            ),
        ),
    }
}

/// A foreign Alertmanager: the alert's leaving the API (it resolved) plus
/// the route's group_interval (the group's next flush, at worst).
fn resolved_estimate(
    alert: &str,
    receiver: &str,
    page: &PageContext,
    route: Option<&RouteMatch>,
    (anchor_t, anchor_name, deadline_s): (f64, &str, f64),
    base: &dyn Fn(Status, String) -> Verdict,
) -> Verdict {
    let gone = page
        .am
        .arrivals_of(alert)
        .into_iter()
        .filter_map(|a| a.gone_at)
        .find(|g| *g >= anchor_t);
    let Some(gone) = gone else {
        return base(
            if anchor_t + deadline_s > page.observed_until {
                Status::Inconclusive
            } else {
                Status::Fail
            },
            format!("`{alert}` was not seen to resolve at Alertmanager after {anchor_name}"),
        );
    };
    let interval = route.map(|r| r.group_interval.as_secs_f64()).unwrap_or(0.0);
    let after = (gone + interval - anchor_t).max(0.0);
    let status = if after <= deadline_s {
        Status::Pass
    } else {
        Status::Fail
    };
    base(
        status,
        format!(
            "estimated: `{alert}` resolved at Alertmanager {} after {anchor_name}; `{receiver}` hears of it by the group's next flush, at most group_interval ({}) later: {} ({} the deadline of {})",
            secs((gone - anchor_t).max(0.0)),
            secs(interval),
            secs(after),
            if status == Status::Pass { "within" } else { "past" },
            secs(deadline_s)
        ),
    )
    .with("time_to_notify_seconds", after)
    .with("time_to_notify_estimated", true)
}
