//! `notifies_resolved_within`: the news that the alert resolved reaches a
//! receiver within a deadline after a phase's edge: the alert resolving in
//! Prometheus, then its group's next flush (`group_interval`) — and only
//! if the receiver sends resolved notifications at all.
//!
//! ```yaml
//! - { alert: GatewayHighErrorRate, notifies_resolved_within: 3m30s, receiver: chat, after: recovery.start }
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Check, Planned};
use crate::checks::context::{alert_context, anchor_time, Anchored};
use crate::checks::evidence::{nullable, DeadlineFigures, PageFigures, Readout, Refusal};
use crate::checks::format::CheckSpec;
use crate::checks::judged::{secs, Judged, Judgement, Judging, Refused, Status};
use crate::checks::page::{page_context, PageContext};
use crate::checks::validate::{
    anchor_text, required_alert, required_receiver, AlertLabels, AnchorRule, CheckContext,
};
use crate::checks::window::{alertmanager_watched_past, deadline_due, Needed};
use crate::record::Episode;
use crate::rules::alertmanager::RouteMatch;
use crate::setup::{AlertRef, Anchor};
use crate::spec::{scaled, FieldPath, Validator};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifiesResolvedWithin {
    pub alert: AlertRef,
    pub receiver: String,
    /// Scaled.
    pub deadline: Duration,
    pub anchor: Anchor,
}

/// The figures of a `notifies_resolved_within` verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(flatten)]
    pub refusal: Refusal,
    #[serde(flatten)]
    pub page: Option<PageFigures>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    #[serde(flatten)]
    pub deadline: Option<DeadlineFigures>,
    #[serde(flatten)]
    pub resolution: Option<Resolution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_notify_seconds: Option<f64>,
    /// True when the notification was estimated (a foreign Alertmanager).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_notify_estimated: Option<bool>,
}

/// When the alert resolved in Prometheus (`null`: it did not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    #[serde(deserialize_with = "nullable")]
    pub resolved_at_seconds: Option<f64>,
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

    fn time_to_notify(&self) -> Option<(&str, f64)> {
        Some((self.receiver.as_deref()?, self.time_to_notify_seconds?))
    }
}

impl Check for NotifiesResolvedWithin {
    const NAME: &'static str = "notifies_resolved_within";
    const WRITTEN: &'static str = "notifies_resolved_within";
    const KEYS: &'static [&'static str] =
        &["alert", "notifies_resolved_within", "receiver", "after"];
    const ABOUT_NOTIFICATIONS: bool = true;
    type Evidence = Evidence;

    fn said_by(spec: &CheckSpec) -> bool {
        spec.notifies_resolved_within.is_some()
    }

    fn validate(
        spec: &CheckSpec,
        path: &FieldPath,
        context: &CheckContext,
        v: &mut Validator,
    ) -> Vec<Planned<Self>> {
        let field = "notifies_resolved_within";
        let alert = required_alert(v, spec, path, AlertLabels::NameOnly);
        let (Some(written), Some(receiver)) = (
            spec.notifies_resolved_within,
            required_receiver(spec, field, path, context, v),
        ) else {
            return Vec::new();
        };
        // The resolution counts from a phase edge, as `resolves_within` does.
        let Some(anchor) = context.anchor(v, spec, field, AnchorRule::EdgeOnly, path) else {
            return Vec::new();
        };
        let deadline = scaled(written.0, context.scale);
        context.deadline_fits(v, path.key(field), &anchor, deadline);
        let Some(alert) = alert else {
            return Vec::new();
        };
        let name = spec.name.clone().unwrap_or_else(|| {
            format!(
                "{alert}'s resolution reaches {receiver} within {written} after {}",
                anchor_text(spec)
            )
        });
        Planned::one(
            name,
            NotifiesResolvedWithin {
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

    /// The news came (in time or late), or observation went past the
    /// deadline without it.
    fn settled_early(status: Status) -> bool {
        matches!(status, Status::Pass | Status::Fail)
    }

    fn alert(&self) -> Option<&AlertRef> {
        Some(&self.alert)
    }

    fn receiver(&self) -> Option<&str> {
        Some(&self.receiver)
    }
}

fn judge(plan: &NotifiesResolvedWithin, judging: &Judging) -> Judgement<Evidence, Refused> {
    let page = page_context(judging.observations)?;
    let alerting = alert_context(&plan.alert, judging.observations)?;
    let anchor = anchor_time(&plan.anchor, judging)?;
    let (alert, receiver) = (&plan.alert, &plan.receiver);
    let deadline_s = plan.deadline.as_secs_f64();
    let due = anchor.at + deadline_s;
    let episode = alerting
        .history
        .episodes
        .iter()
        .filter(|e| e.start() <= due)
        .max_by(|a, b| a.start().total_cmp(&b.start()));
    let route = episode.and_then(|e| page.route_to(&e.labels, receiver));
    let figures = Evidence {
        page: Some(page.figures(route.as_ref())),
        receiver: Some(receiver.clone()),
        deadline: Some(DeadlineFigures {
            anchor: anchor.name.clone(),
            anchor_at_seconds: judging.rel(anchor.at),
            deadline_seconds: deadline_s,
        }),
        resolution: Some(Resolution {
            resolved_at_seconds: episode.and_then(|e| e.resolved_at).map(|r| judging.rel(r)),
        }),
        ..Evidence::default()
    };
    if let Some(found) = page.config.as_ref().and_then(|c| c.receiver(receiver)) {
        if !found.sends_resolved() {
            return Ok(Judged::new(
                Status::Fail,
                format!(
                    "receiver `{receiver}` never sends resolved notifications: `send_resolved` is off for its {} (Slack's, email's and WeChat's default)",
                    found.integration_list()
                ),
                figures,
            ));
        }
    }
    let Some(episode) = episode else {
        return Ok(Judged::new(
            Status::Inconclusive,
            format!("`{alert}` was never active, so there was nothing to resolve"),
            figures,
        ));
    };
    let deadline = (anchor, deadline_s);
    Ok(if page.am.notifications_observable {
        observed(
            plan,
            &page,
            route.as_ref(),
            episode,
            deadline,
            judging,
            figures,
        )
    } else {
        estimated(plan, &page, route.as_ref(), deadline, figures)
    })
}

/// The resolved notification, as firedrill's receiver took it.
fn observed(
    plan: &NotifiesResolvedWithin,
    page: &PageContext,
    route: Option<&RouteMatch>,
    episode: &Episode,
    (anchor, deadline_s): (Anchored, f64),
    judging: &Judging,
    figures: Evidence,
) -> Judged<Evidence> {
    let (alert, receiver) = (&plan.alert, &plan.receiver);
    let due = anchor.at + deadline_s;
    let notified = page
        .am
        .notifications
        .iter()
        .filter(|n| &n.receiver == receiver && n.carries(alert, "resolved"))
        .find(|n| n.received_at >= anchor.at - anchor.tolerance);
    let interval = route.map(|r| r.group_interval.as_secs_f64()).unwrap_or(0.0);
    let (status, summary) = match (notified, episode.resolved_at) {
        (Some(n), _) => {
            let after = (n.received_at - anchor.at).max(0.0);
            let status = if after <= deadline_s { Status::Pass } else { Status::Fail };
            let summary = format!(
                "`{receiver}` was told `{alert}` resolved {} after {} ({} the deadline of {}){}",
                secs(after),
                anchor.name,
                if status == Status::Pass { "within" } else { "later than" },
                secs(deadline_s),
                episode
                    .resolved_at
                    .map(|r| format!(": resolved in Prometheus after {}, then the group's next flush (group_interval {})", secs((r - anchor.at).max(0.0)), secs(interval)))
                    .unwrap_or_default()
            );
            let evidence = Evidence {
                time_to_notify_seconds: Some(after),
                ..figures
            };
            return Judged::new(status, summary, evidence);
        }
        _ if due > page.observed_until => (
            Status::Inconclusive,
            format!("the resolved notification had not reached `{receiver}` when observation ended, before the deadline"),
        ),
        _ if page.am.failure_within(anchor.at, due).is_some() => (
            Status::Inconclusive,
            "Alertmanager did not answer during the deadline: the resolved notification is not proven missing".to_string(),
        ),
        (None, None) => (
            Status::Fail,
            format!(
                "`{alert}` was still active {} after {}: no resolution to notify",
                secs(page.observed_until - anchor.at),
                anchor.name
            ),
        ),
        (None, Some(resolved)) => (
            Status::Fail,
            format!(
                "`{alert}` resolved in Prometheus at t={}, but no resolved notification reached `{receiver}` by the deadline (group_interval {})",
                secs(judging.rel(resolved)),
                secs(interval)
            ),
        ),
    };
    Judged::new(status, summary, figures)
}

/// A foreign Alertmanager: the alert's leaving the API (it resolved) plus
/// the route's group_interval (the group's next flush, at worst).
fn estimated(
    plan: &NotifiesResolvedWithin,
    page: &PageContext,
    route: Option<&RouteMatch>,
    (anchor, deadline_s): (Anchored, f64),
    figures: Evidence,
) -> Judged<Evidence> {
    let (alert, receiver) = (&plan.alert, &plan.receiver);
    let gone = page
        .am
        .arrivals_of(alert)
        .into_iter()
        .filter_map(|a| a.gone_at)
        .find(|g| *g >= anchor.at);
    let Some(gone) = gone else {
        let status = if anchor.at + deadline_s > page.observed_until {
            Status::Inconclusive
        } else {
            Status::Fail
        };
        return Judged::new(
            status,
            format!(
                "`{alert}` was not seen to resolve at Alertmanager after {}",
                anchor.name
            ),
            figures,
        );
    };
    let interval = route.map(|r| r.group_interval.as_secs_f64()).unwrap_or(0.0);
    let after = (gone + interval - anchor.at).max(0.0);
    let status = if after <= deadline_s {
        Status::Pass
    } else {
        Status::Fail
    };
    Judged::new(
        status,
        format!(
            "estimated: `{alert}` resolved at Alertmanager {} after {}; `{receiver}` hears of it by the group's next flush, at most group_interval ({}) later: {} ({} the deadline of {})",
            secs((gone - anchor.at).max(0.0)),
            anchor.name,
            secs(interval),
            secs(after),
            if status == Status::Pass { "within" } else { "past" },
            secs(deadline_s)
        ),
        Evidence {
            time_to_notify_seconds: Some(after),
            time_to_notify_estimated: Some(true),
            ..figures
        },
    )
}
