//! `notifies_within`: the page reaches a receiver within a deadline after
//! an anchor, with the arithmetic from the anchor to the notification: time
//! to fire in Prometheus, time to arrive at Alertmanager, the route's
//! `group_wait`, time to the notification. Against a foreign Alertmanager
//! the notification is estimated from its API and the route (`page`).
//!
//! ```yaml
//! - { alert: GatewayHighErrorRate, notifies_within: 2m, receiver: chat, after: condition, during: errors }
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Check, ConditionQuery, Planned};
use crate::checks::context::{alert_context, anchor_time, Anchored};
use crate::checks::evidence::{nullable, DeadlineFigures, PageFigures, Readout, Refusal};
use crate::checks::format::CheckSpec;
use crate::checks::judged::{longer_or_as_long, secs, Judged, Judgement, Judging, Refused, Status};
use crate::checks::page::{
    arrival_after, arrival_not_yet_due, estimated_notification, page_context, PageContext,
};
use crate::checks::validate::{
    anchor_text, required_alert, required_receiver, AlertLabels, AnchorRule, CheckContext,
};
use crate::checks::window::{alertmanager_watched_past, deadline_due, Needed};
use crate::record::{AlertAtAlertmanager, AlertRuleInfo, Labels};
use crate::rules::alertmanager::RouteMatch;
use crate::setup::{AlertRef, Anchor};
use crate::spec::{scaled, FieldPath, Validator};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifiesWithin {
    pub alert: AlertRef,
    pub receiver: String,
    /// Scaled.
    pub deadline: Duration,
    pub anchor: Anchor,
}

/// The figures of a `notifies_within` verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(flatten)]
    pub refusal: Refusal,
    #[serde(flatten)]
    pub page: Option<PageFigures>,
    #[serde(flatten)]
    pub deadline: Option<DeadlineFigures>,
    #[serde(flatten)]
    pub steps: Option<Steps>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_notify_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_at_seconds: Option<f64>,
    /// True when the notification was estimated (a foreign Alertmanager).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_notify_estimated: Option<bool>,
}

/// The steps from the anchor to the page, each `null` when it was not
/// seen: the alert firing, arriving at Alertmanager (and how far off that
/// arrival can be).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Steps {
    #[serde(deserialize_with = "nullable")]
    pub time_to_fire_seconds: Option<f64>,
    #[serde(deserialize_with = "nullable")]
    pub time_to_alertmanager_seconds: Option<f64>,
    #[serde(deserialize_with = "nullable")]
    pub arrival_uncertainty_seconds: Option<f64>,
}

impl From<Refusal> for Evidence {
    fn from(refusal: Refusal) -> Self {
        Evidence {
            refusal,
            ..Evidence::default()
        }
    }
}

impl Readout for Evidence {
    fn deadline(&self) -> Option<&DeadlineFigures> {
        self.deadline.as_ref()
    }

    fn time_to_fire_seconds(&self) -> Option<f64> {
        self.steps.as_ref().and_then(|s| s.time_to_fire_seconds)
    }

    fn time_to_notify(&self) -> Option<(&str, f64)> {
        Some((self.receiver.as_deref()?, self.time_to_notify_seconds?))
    }
}

impl Check for NotifiesWithin {
    const NAME: &'static str = "notifies_within";
    const WRITTEN: &'static str = "notifies_within";
    const KEYS: &'static [&'static str] = &[
        "alert",
        "notifies_within",
        "receiver",
        "after",
        "during",
        "condition",
    ];
    const ABOUT_NOTIFICATIONS: bool = true;
    type Evidence = Evidence;

    fn said_by(spec: &CheckSpec) -> bool {
        spec.notifies_within.is_some()
    }

    fn validate(
        spec: &CheckSpec,
        path: &FieldPath,
        context: &CheckContext,
        v: &mut Validator,
    ) -> Vec<Planned<Self>> {
        let field = "notifies_within";
        let alert = required_alert(v, spec, path, AlertLabels::NameOnly);
        let (Some(written), Some(receiver)) = (
            spec.notifies_within,
            required_receiver(spec, field, path, context, v),
        ) else {
            return Vec::new();
        };
        let Some(anchor) = context.anchor(v, spec, field, AnchorRule::EdgeOrCondition, path) else {
            return Vec::new();
        };
        let deadline = scaled(written.0, context.scale);
        context.deadline_fits(v, path.key(field), &anchor, deadline);
        let Some(alert) = alert else {
            return Vec::new();
        };
        let name = spec.name.clone().unwrap_or_else(|| {
            format!(
                "{alert} notifies {receiver} within {written} after {}",
                anchor_text(spec)
            )
        });
        Planned::one(
            name,
            NotifiesWithin {
                alert,
                receiver,
                deadline,
                anchor,
            },
        )
    }

    fn judge(&self, judging: &Judging) -> Judged<Evidence> {
        judge(self, judging).unwrap_or_else(Judged::from)
    }

    /// The anchor came, and Alertmanager was watched past the deadline.
    fn window(&self, judging: &Judging) -> Result<(), Needed> {
        let (due, moment) = deadline_due(judging, &self.anchor, self.deadline)?;
        alertmanager_watched_past(due, moment, judging.observations)
    }

    /// The page came (in time or late), or observation went past the
    /// deadline without it: the check itself only concludes on what the
    /// receiver and Alertmanager recorded.
    fn settled_early(status: Status) -> bool {
        matches!(status, Status::Pass | Status::Fail)
    }

    fn alert(&self) -> Option<&AlertRef> {
        Some(&self.alert)
    }

    fn receiver(&self) -> Option<&str> {
        Some(&self.receiver)
    }

    fn condition(&self) -> Option<ConditionQuery<'_>> {
        ConditionQuery::of(&self.alert, &self.anchor)
    }
}

/// The figures of one notification deadline.
struct Measured<'a> {
    anchor: Anchored,
    deadline_s: f64,
    fired_at: Option<f64>,
    arrival: Option<&'a AlertAtAlertmanager>,
    route: Option<RouteMatch>,
}

fn judge(plan: &NotifiesWithin, judging: &Judging) -> Judgement<Evidence, Refused> {
    let page = page_context(judging.observations)?;
    let alerting = alert_context(&plan.alert, judging.observations)?;
    let anchor = anchor_time(&plan.anchor, judging)?;
    let alert = &plan.alert;
    let from = anchor.at - anchor.tolerance;
    let episodes = &alerting.history.episodes;
    if let Some(already) = episodes
        .iter()
        .find(|e| e.firing_at.is_some_and(|f| f < from) && e.active_at(anchor.at))
    {
        return Ok(Judged::new(
            Status::Fail,
            format!(
                "`{alert}` was already firing before {} (since t={}): a drill has to start from silence to measure the time to the page",
                anchor.name,
                secs(judging.rel(already.firing_at.unwrap_or(anchor.at)))
            ),
            Evidence {
                page: Some(page.figures(None)),
                ..Evidence::default()
            },
        ));
    }
    let episode = episodes
        .iter()
        .filter(|e| e.firing_at.is_some_and(|f| f >= from))
        .min_by(|a, b| a.start().total_cmp(&b.start()));
    let arrival = arrival_after(page.am, alert, from);
    let labels: Option<&Labels> = arrival.map(|a| &a.labels).or(episode.map(|e| &e.labels));
    let measured = Measured {
        deadline_s: plan.deadline.as_secs_f64(),
        fired_at: episode.and_then(|e| e.firing_at),
        arrival,
        route: labels.and_then(|l| page.route_to(l, &plan.receiver)),
        anchor,
    };
    let judged = if page.am.notifications_observable {
        let notified = page
            .am
            .notifications
            .iter()
            .filter(|n| n.receiver == plan.receiver && n.carries(alert, "firing"))
            .find(|n| n.received_at >= from)
            .map(|n| n.received_at);
        observed(plan, &page, &measured, notified, alerting.rule, judging)
    } else {
        estimated(plan, &page, &measured, judging)
    };
    Ok(with_figures(judged, &page, &measured, judging))
}

/// The figures every verdict of this check carries past its first steps.
fn with_figures(
    judged: Judged<Evidence>,
    page: &PageContext,
    m: &Measured,
    judging: &Judging,
) -> Judged<Evidence> {
    let after_anchor = |t: f64| (t - m.anchor.at).max(0.0);
    let evidence = Evidence {
        page: Some(page.figures(m.route.as_ref())),
        deadline: Some(DeadlineFigures {
            anchor: m.anchor.name.clone(),
            anchor_at_seconds: judging.rel(m.anchor.at),
            deadline_seconds: m.deadline_s,
        }),
        steps: Some(Steps {
            time_to_fire_seconds: m.fired_at.map(after_anchor),
            time_to_alertmanager_seconds: m.arrival.map(|a| after_anchor(a.arrived_at)),
            arrival_uncertainty_seconds: m.arrival.map(|a| a.arrival_uncertainty),
        }),
        ..judged.evidence
    };
    Judged { evidence, ..judged }
}

/// Why the deadline cannot be met, or can be missed, from the route's
/// `group_wait` and the rule's `for` alone.
fn why_late(deadline_s: f64, route: Option<&RouteMatch>, for_seconds: f64) -> String {
    let Some(route) = route else {
        return String::new();
    };
    let wait = route.group_wait.as_secs_f64();
    if deadline_s <= wait {
        format!(
            " The deadline cannot be met: the route's group_wait ({}) alone is {}.",
            secs(wait),
            longer_or_as_long(wait, deadline_s)
        )
    } else if deadline_s <= wait + for_seconds {
        format!(
            " The deadline cannot be met: the rule's `for` ({}) and the route's group_wait ({}) together are {} (and the condition is first seen by a scrape after the fault begins).",
            secs(for_seconds),
            secs(wait),
            longer_or_as_long(wait + for_seconds, deadline_s)
        )
    } else {
        String::new()
    }
}

/// A notification reached the receiver at `at`: in time, or late.
fn reached(
    plan: &NotifiesWithin,
    m: &Measured,
    at: f64,
    late: &str,
    judging: &Judging,
) -> Judged<Evidence> {
    let (alert, receiver) = (&plan.alert, &plan.receiver);
    let after = (at - m.anchor.at).max(0.0);
    let steps = steps_text(m);
    let (status, summary) = if after <= m.deadline_s {
        (
            Status::Pass,
            format!(
                "`{alert}` reached `{receiver}` {} after {} (deadline {}){steps}",
                secs(after),
                m.anchor.name,
                secs(m.deadline_s)
            ),
        )
    } else {
        (
            Status::Fail,
            format!(
                "`{alert}` reached `{receiver}` {} after {}, later than the deadline of {}{steps}.{late}",
                secs(after),
                m.anchor.name,
                secs(m.deadline_s)
            ),
        )
    };
    let evidence = Evidence {
        receiver: Some(receiver.clone()),
        time_to_notify_seconds: Some(after),
        notified_at_seconds: Some(judging.rel(at)),
        ..Evidence::default()
    };
    Judged::new(status, summary, evidence)
}

/// The page, as firedrill's receiver took it (the embedded Alertmanager).
fn observed(
    plan: &NotifiesWithin,
    page: &PageContext,
    m: &Measured,
    notified: Option<f64>,
    rule: &AlertRuleInfo,
    judging: &Judging,
) -> Judged<Evidence> {
    let (alert, receiver) = (&plan.alert, &plan.receiver);
    let late = why_late(m.deadline_s, m.route.as_ref(), rule.for_seconds);
    let to_receiver = Evidence {
        receiver: Some(receiver.clone()),
        ..Evidence::default()
    };
    if let Some(at) = notified {
        return reached(plan, m, at, &late, judging);
    }
    let due = m.anchor.at + m.deadline_s;
    if let Some((at, why)) = page.am.failure_within(m.anchor.at, due) {
        return Judged::new(
            Status::Inconclusive,
            format!(
                "no notification reached `{receiver}`, but Alertmanager did not answer at t={} ({why}): the page is not proven missing",
                secs(judging.rel(*at))
            ),
            to_receiver,
        );
    }
    if due > page.observed_until {
        return Judged::new(
            Status::Inconclusive,
            format!(
                "no notification had reached `{receiver}` when observation ended, {} after {}, before the {} deadline",
                secs(page.observed_until - m.anchor.at),
                m.anchor.name,
                secs(m.deadline_s)
            ),
            to_receiver,
        );
    }
    if let Some(unknown) = not_yet_due(plan, page, m, rule, judging) {
        return unknown;
    }
    let why = no_page(plan, page, m, judging);
    Judged::new(
        Status::Fail,
        format!(
            "no notification of `{alert}` reached `{receiver}` within {} after {}: {why}.{late}",
            secs(m.deadline_s),
            m.anchor.name
        ),
        to_receiver,
    )
}

/// `: fired after 8.1s, at Alertmanager after 8.1s, then the route's
/// group_wait of 1.5s`.
fn steps_text(m: &Measured) -> String {
    let mut parts = Vec::new();
    if let Some(f) = m.fired_at {
        parts.push(format!("fired after {}", secs((f - m.anchor.at).max(0.0))));
    }
    if let Some(a) = m.arrival {
        parts.push(format!(
            "at Alertmanager after {}",
            secs((a.arrived_at - m.anchor.at).max(0.0))
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

/// Fired, never seen at Alertmanager, but Alertmanager was last asked
/// before the alert was due there: whether the page came is unknown.
fn not_yet_due(
    plan: &NotifiesWithin,
    page: &PageContext,
    m: &Measured,
    rule: &AlertRuleInfo,
    judging: &Judging,
) -> Option<Judged<Evidence>> {
    let (alert, receiver) = (&plan.alert, &plan.receiver);
    let (Some(fired), None) = (m.fired_at, m.arrival) else {
        return None;
    };
    let why = arrival_not_yet_due(alert, fired, rule.interval_seconds, page.am, judging)?;
    Some(Judged::new(
        Status::Inconclusive,
        format!("{why}: whether it reached `{receiver}` is unknown"),
        Evidence {
            receiver: Some(receiver.clone()),
            ..Evidence::default()
        },
    ))
}

/// Why no page came, from the records.
fn no_page(plan: &NotifiesWithin, page: &PageContext, m: &Measured, judging: &Judging) -> String {
    let alert = &plan.alert;
    let Some(fired) = m.fired_at else {
        return format!(
            "`{alert}` never fired after {}, so nothing was sent to Alertmanager",
            m.anchor.name
        );
    };
    let Some(arrival) = m.arrival else {
        return format!(
            "`{alert}` fired at t={} but never arrived at Alertmanager (is it in Prometheus's `alerting:` configuration?)",
            secs(judging.rel(fired))
        );
    };
    let arrived = secs(judging.rel(arrival.arrived_at));
    if let Some(held) = page.held_back(arrival, &plan.receiver, judging.observations.run_start) {
        return format!(
            "it arrived at Alertmanager at t={arrived}, and {}",
            held.why
        );
    }
    format!(
        "it arrived at Alertmanager at t={arrived}, routed to `{}`, and no notification followed",
        arrival.receivers.join("`, `")
    )
}

/// A foreign Alertmanager: the arrival and the route's group_wait stand
/// in for the notification, marked as such.
fn estimated(
    plan: &NotifiesWithin,
    page: &PageContext,
    m: &Measured,
    judging: &Judging,
) -> Judged<Evidence> {
    let (alert, receiver) = (&plan.alert, &plan.receiver);
    let Some(arrival) = m.arrival else {
        return not_arrived(plan, page, m, judging);
    };
    let to_receiver = Evidence {
        receiver: Some(receiver.clone()),
        ..Evidence::default()
    };
    if let Some(held) = page.held_back(arrival, receiver, judging.observations.run_start) {
        return Judged::new(
            Status::Fail,
            format!(
                "`{alert}` arrived at Alertmanager at t={}, and {} (from Alertmanager's API)",
                secs(judging.rel(arrival.arrived_at)),
                held.why
            ),
            to_receiver,
        );
    }
    let wait = m.route.as_ref().map(|r| r.group_wait).unwrap_or_default();
    let after = (estimated_notification(arrival, wait) - m.anchor.at).max(0.0);
    let status = if after <= m.deadline_s {
        Status::Pass
    } else {
        Status::Fail
    };
    Judged::new(
        status,
        format!(
            "estimated: `{alert}` arrived at Alertmanager {} after {}, routed to `{receiver}`; with the route's group_wait ({}) its notification leaves {} after it ({} the {} deadline; the notification itself is not observable here)",
            secs((arrival.arrived_at - m.anchor.at).max(0.0)),
            m.anchor.name,
            secs(wait.as_secs_f64()),
            secs(after),
            if status == Status::Pass { "within" } else { "past" },
            secs(m.deadline_s)
        ),
        Evidence {
            time_to_notify_seconds: Some(after),
            time_to_notify_estimated: Some(true),
            ..to_receiver
        },
    )
}

/// A foreign Alertmanager that never listed the alert: unknown while it did
/// not answer or the deadline was not watched, else no page can have left.
fn not_arrived(
    plan: &NotifiesWithin,
    page: &PageContext,
    m: &Measured,
    judging: &Judging,
) -> Judged<Evidence> {
    let alert = &plan.alert;
    let due = m.anchor.at + m.deadline_s;
    if let Some((at, why)) = page.am.failure_within(m.anchor.at, due) {
        return Judged::new(
            Status::Inconclusive,
            format!(
                "Alertmanager did not answer at t={} ({why}): whether `{alert}` arrived is unknown",
                secs(judging.rel(*at))
            ),
            Evidence::default(),
        );
    }
    if due > page.observed_until {
        return Judged::new(
            Status::Inconclusive,
            format!("`{alert}` had not arrived at Alertmanager when observation ended, before the deadline"),
            Evidence::default(),
        );
    }
    let why = no_page(plan, page, m, judging);
    Judged::new(
        Status::Fail,
        format!(
            "no notification of `{alert}` can have reached `{}`: {why}",
            plan.receiver
        ),
        Evidence::default(),
    )
}
