//! `no_notifications_during`: nobody — or one receiver — is notified, of
//! anything or of one alert, during a phase. At a foreign Alertmanager the
//! notifications are estimated from its API: an alert routed there, not
//! held back, whose notification would leave inside the phase.
//!
//! ```yaml
//! - no_notifications_during: healthy
//! - { no_notifications_during: errors, receiver: pager }
//! ```

use serde::{Deserialize, Serialize};

use super::{Check, Planned};
use crate::checks::context::phase_record;
use crate::checks::evidence::{nullable, PageFigures, PhaseFigures, Readout};
use crate::checks::format::CheckSpec;
use crate::checks::judged::{secs, Judged, Judgement, Judging, Status};
use crate::checks::page::{estimated_notification, labels_text, page_context, PageContext};
use crate::checks::validate::{alert_named, AlertLabels, CheckContext};
use crate::checks::window::{alertmanager_watched_past_phase, Needed};
use crate::record::{Observations, PhaseRecord, RunStatus};
use crate::setup::AlertRef;
use crate::spec::{FieldPath, Validator};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoNotificationDuring {
    pub phase: usize,
    /// Only this receiver must stay quiet (None: every one).
    pub receiver: Option<String>,
    /// Only notifications of this alert count (None: any).
    pub alert: Option<AlertRef>,
}

/// The figures of a `no_notifications_during` verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(flatten)]
    pub page: Option<PageFigures>,
    #[serde(flatten)]
    pub quiet: Option<Quiet>,
    /// When the first notification inside the phase came (seconds from
    /// the run's start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_at_seconds: Option<f64>,
}

/// The phase that had to stay quiet, and for whom (`null`: everyone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quiet {
    #[serde(flatten)]
    pub phase: PhaseFigures,
    #[serde(deserialize_with = "nullable")]
    pub receiver: Option<String>,
}

impl Readout for Evidence {}

impl Check for NoNotificationDuring {
    const NAME: &'static str = "no_notifications_during";
    const WRITTEN: &'static str = "no_notifications_during";
    const KEYS: &'static [&'static str] = &["no_notifications_during", "receiver", "alert"];
    const ABOUT_NOTIFICATIONS: bool = true;
    type Evidence = Evidence;

    fn said_by(spec: &CheckSpec) -> bool {
        spec.no_notifications_during.is_some()
    }

    fn validate(
        spec: &CheckSpec,
        path: &FieldPath,
        context: &CheckContext,
        v: &mut Validator,
    ) -> Vec<Planned<Self>> {
        let alert = match &spec.alert {
            Some(text) => match alert_named(v, text, path, AlertLabels::NameOnly) {
                Some(alert) => Some(alert),
                None => return Vec::new(),
            },
            None => None,
        };
        if let Some(receiver) = &spec.receiver {
            context.known_receiver(v, receiver, path.key("receiver"));
        }
        let Some(phase_name) = &spec.no_notifications_during else {
            return Vec::new();
        };
        let Some(phase) = context.watched_phase(v, path.key("no_notifications_during"), phase_name)
        else {
            return Vec::new();
        };
        let name = spec.name.clone().unwrap_or_else(|| {
            let to = spec.receiver.as_ref().map(|r| format!(" to {r}"));
            let about = spec.alert.as_ref().map(|a| format!(" about {a}"));
            format!(
                "no notification{}{} during {phase_name}",
                to.unwrap_or_default(),
                about.unwrap_or_default()
            )
        });
        Planned::one(
            name,
            NoNotificationDuring {
                phase,
                receiver: spec.receiver.clone(),
                alert,
            },
        )
    }

    fn judge(&self, judging: &Judging) -> Judged<Evidence> {
        judge(self, judging).unwrap_or_else(Judged::from)
    }

    /// Its phase ran to its end, and Alertmanager was watched past that end.
    fn window(&self, judging: &Judging) -> Result<(), Needed> {
        alertmanager_watched_past_phase(judging, self.phase)
    }

    /// Somebody was notified inside the phase: more of the run cannot undo
    /// it; a quiet not yet watched to its end could still break.
    fn settled_early(status: Status) -> bool {
        status == Status::Fail
    }

    fn alert(&self) -> Option<&AlertRef> {
        self.alert.as_ref()
    }

    fn receiver(&self) -> Option<&str> {
        self.receiver.as_deref()
    }
}

/// The phase ran to its end (a later phase began, or the run completed).
fn phase_completed(observations: &Observations, phase: usize) -> bool {
    phase + 1 < observations.phases.len()
        || (phase < observations.phases.len() && observations.status == RunStatus::Completed)
}

fn judge(plan: &NoNotificationDuring, judging: &Judging) -> Judgement<Evidence> {
    let page = page_context(judging.observations)?;
    let record = phase_record(plan.phase, judging.observations)?;
    let (from, to) = (record.started_at, record.ended_at);
    let to_whom = plan
        .receiver
        .as_ref()
        .map(|r| format!(" to `{r}`"))
        .unwrap_or_default();
    let about = plan
        .alert
        .as_ref()
        .map(|a| format!(" about `{a}`"))
        .unwrap_or_default();
    let figures = Evidence {
        page: Some(page.figures(None)),
        quiet: Some(Quiet {
            phase: PhaseFigures {
                phase: record.name.clone(),
                phase_from_seconds: judging.rel(from),
                phase_to_seconds: judging.rel(to),
            },
            receiver: plan.receiver.clone(),
        }),
        notified_at_seconds: None,
    };
    if let Some((summary, at)) = noisy(plan, &page, record, judging) {
        let evidence = Evidence {
            notified_at_seconds: Some(at),
            ..figures
        };
        return Ok(Judged::new(Status::Fail, summary, evidence));
    }
    if let Some((at, why)) = page.am.failure_within(from, to) {
        return Ok(Judged::new(
            Status::Inconclusive,
            format!(
                "no notification{to_whom}{about} was seen, but Alertmanager did not answer at t={} ({why}): quiet is not proven",
                secs(judging.rel(*at))
            ),
            figures,
        ));
    }
    if !phase_completed(judging.observations, plan.phase) || page.observed_until < to {
        return Ok(Judged::new(
            Status::Inconclusive,
            format!(
                "no notification{to_whom}{about} was seen, but `{}` was not observed to its end",
                record.name
            ),
            figures,
        ));
    }
    Ok(Judged::new(
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
        figures,
    ))
}

/// The first notification (or, at a foreign Alertmanager, the first alert
/// whose notification would leave) inside the phase: what to say, and when
/// (seconds from the run's start).
fn noisy(
    plan: &NoNotificationDuring,
    page: &PageContext,
    record: &PhaseRecord,
    judging: &Judging,
) -> Option<(String, f64)> {
    if !page.am.notifications_observable {
        return noisy_estimate(plan, page, record, judging);
    }
    let (from, to) = (record.started_at, record.ended_at);
    let (receiver, alert) = (plan.receiver.as_deref(), plan.alert.as_ref());
    let n = page.am.notifications.iter().find(|n| {
        n.received_at >= from
            && n.received_at <= to
            && receiver.is_none_or(|r| n.receiver == r)
            && alert.is_none_or(|a| n.carries(a, "firing") || n.carries(a, "resolved"))
    })?;
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
    let at = judging.rel(n.received_at);
    Some((
        format!(
            "`{}` was notified ({}, {}) at t={} during `{}`: {}",
            n.receiver,
            n.integration,
            n.status,
            secs(at),
            record.name,
            names.join("; ")
        ),
        at,
    ))
}

/// From the API: an alert routed there, not held back, whose notification
/// would leave inside the phase.
fn noisy_estimate(
    plan: &NoNotificationDuring,
    page: &PageContext,
    record: &PhaseRecord,
    judging: &Judging,
) -> Option<(String, f64)> {
    let (from, to) = (record.started_at, record.ended_at);
    let receiver = plan.receiver.as_deref();
    let a = page.am.alerts.values().find(|a| {
        let name = a.labels.get("alertname").map(String::as_str).unwrap_or("");
        let wait = page
            .route_to(&a.labels, receiver.unwrap_or(""))
            .map(|r| r.group_wait)
            .unwrap_or_default();
        let at = estimated_notification(a, wait);
        plan.alert.as_ref().is_none_or(|x| x.as_str() == name)
            && receiver.is_none_or(|r| a.receivers.iter().any(|x| x == r))
            && a.first_suppression().is_none()
            && at >= from
            && at <= to
    })?;
    let at = judging.rel(a.arrived_at);
    Some((
        format!(
            "estimated: `{}` {} arrived at Alertmanager at t={}, routed to `{}` and not held back: its notification leaves during `{}` (notifications are not observable at a foreign Alertmanager)",
            a.labels.get("alertname").map(String::as_str).unwrap_or("?"),
            labels_text(&a.labels),
            secs(at),
            a.receivers.join("`, `"),
            record.name
        ),
        at,
    ))
}
