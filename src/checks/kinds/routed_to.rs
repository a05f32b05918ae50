//! `routed_to`: Alertmanager routes the alert to a receiver and does not
//! hold it back (silence, inhibition), from a phase's start on or at any
//! time — judged on Alertmanager's API, so it holds at a foreign one too.
//!
//! ```yaml
//! - { alert: GatewayHighErrorRate, routed_to: chat, during: errors }
//! ```

use serde::{Deserialize, Serialize};

use super::{Check, Planned};
use crate::checks::evidence::{PageFigures, Readout};
use crate::checks::format::CheckSpec;
use crate::checks::judged::{secs, Judged, Judgement, Judging, Status, Unjudged};
use crate::checks::page::{
    arrival_after, arrival_not_yet_due, labels_text, page_context, PageContext,
};
use crate::checks::validate::{required_alert, AlertLabels, CheckContext};
use crate::checks::window::{alertmanager_watched_past_phase, Needed};
use crate::setup::AlertRef;
use crate::spec::{FieldPath, Validator};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutedTo {
    pub alert: AlertRef,
    pub receiver: String,
    /// From this phase's start on (None: at any time in the run).
    pub phase: Option<usize>,
}

/// The figures of a `routed_to` verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(flatten)]
    pub page: Option<PageFigures>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// Why it was not sent to the receiver: `silenced`, `inhibited`,
    /// `routed elsewhere` or `receiver without integrations`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Readout for Evidence {}

impl Check for RoutedTo {
    const NAME: &'static str = "routed_to";
    const WRITTEN: &'static str = "routed_to";
    const KEYS: &'static [&'static str] = &["alert", "routed_to", "during"];
    const ABOUT_NOTIFICATIONS: bool = true;
    type Evidence = Evidence;

    fn said_by(spec: &CheckSpec) -> bool {
        spec.routed_to.is_some()
    }

    fn validate(
        spec: &CheckSpec,
        path: &FieldPath,
        context: &CheckContext,
        v: &mut Validator,
    ) -> Vec<Planned<Self>> {
        let alert = required_alert(v, spec, path, AlertLabels::NameOnly);
        let Some(receiver) = &spec.routed_to else {
            return Vec::new();
        };
        context.known_receiver(v, receiver, path.key("routed_to"));
        let phase = match &spec.during {
            Some(name) => match context.watched_phase(v, path.key("during"), name) {
                Some(phase) => Some(phase),
                None => return Vec::new(),
            },
            None => None,
        };
        let Some(alert) = alert else {
            return Vec::new();
        };
        let during = spec
            .during
            .as_ref()
            .map(|p| format!(" during {p}"))
            .unwrap_or_default();
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| format!("{alert} is routed to {receiver}{during}"));
        Planned::one(
            name,
            RoutedTo {
                alert,
                receiver: receiver.clone(),
                phase,
            },
        )
    }

    fn judge(&self, judging: &Judging) -> Judged<Evidence> {
        judge(self, judging).unwrap_or_else(Judged::from)
    }

    /// Its phase (when it names one) ran to its end, and Alertmanager was
    /// watched past it; without a phase it looks at the whole run.
    fn window(&self, judging: &Judging) -> Result<(), Needed> {
        match self.phase {
            Some(phase) => alertmanager_watched_past_phase(judging, phase),
            None => Err(Needed::WholeRun),
        }
    }

    /// The alert was seen routed (to the receiver, or elsewhere, or held
    /// back): routing does not change with more of the run.
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

fn judge(plan: &RoutedTo, judging: &Judging) -> Judgement<Evidence> {
    let page = page_context(judging.observations)?;
    let from = match plan.phase.map(|p| judging.observations.phases.get(p)) {
        Some(Some(record)) => record.started_at,
        Some(None) => return Err(Unjudged::inconclusive("the phase did not run")),
        None => judging.observations.run_start,
    };
    let (alert, receiver) = (&plan.alert, &plan.receiver);
    let arrival = arrival_after(page.am, alert, from);
    let route = arrival.and_then(|a| page.route_to(&a.labels, receiver));
    let figures = Evidence {
        page: Some(page.figures(route.as_ref())),
        receiver: Some(receiver.clone()),
        reason: None,
    };
    let Some(arrival) = arrival else {
        let (status, summary) = not_arrived(plan, &page, from, judging);
        return Ok(Judged::new(status, summary, figures));
    };
    let arrived = secs(judging.rel(arrival.arrived_at));
    let labels = labels_text(&arrival.labels);
    if let Some(held) = page.held_back(arrival, receiver, judging.observations.run_start) {
        return Ok(Judged::new(
            Status::Fail,
            format!(
                "`{alert}` {labels} arrived at Alertmanager at t={arrived}, and {}",
                held.why
            ),
            Evidence {
                reason: Some(held.reason.to_string()),
                ..figures
            },
        ));
    }
    if !arrival.receivers.iter().any(|r| r == receiver) {
        return Ok(Judged::new(
            Status::Fail,
            format!("Alertmanager listed no receiver for `{alert}` (its API gave none)"),
            figures,
        ));
    }
    let via = route
        .as_ref()
        .map(|r| format!(" via {}", r.path_text()))
        .unwrap_or_default();
    Ok(Judged::new(
        Status::Pass,
        format!(
            "`{alert}` {labels} arrived at Alertmanager at t={arrived} and was routed to `{receiver}`{via}, not held back (Alertmanager's API)"
        ),
        figures,
    ))
}

/// The alert never reached Alertmanager: it did not fire (the drill did
/// not create the situation), Alertmanager did not always answer, or it
/// fired and was lost on the way.
fn not_arrived(
    plan: &RoutedTo,
    page: &PageContext,
    from: f64,
    judging: &Judging,
) -> (Status, String) {
    let alert = &plan.alert;
    let observations = judging.observations;
    let fired_at = observations.alerts.get(alert.as_str()).and_then(|h| {
        h.episodes
            .iter()
            .filter_map(|e| e.firing_at)
            .filter(|f| *f >= from)
            .min_by(f64::total_cmp)
    });
    let Some(fired_at) = fired_at else {
        return (
            Status::Inconclusive,
            format!("`{alert}` did not fire, so nothing reached Alertmanager: the drill did not create the situation this check is about"),
        );
    };
    if page.am.failure_within(from, page.observed_until).is_some() {
        return (
            Status::Inconclusive,
            format!("`{alert}` fired, but Alertmanager did not always answer: whether it arrived is unknown"),
        );
    }
    let interval = observations
        .rules
        .get(&alert.name)
        .map(|r| r.interval_seconds)
        .unwrap_or(0.0);
    let asked = page.am.observed_until;
    if let Some(why) = arrival_not_yet_due(alert, fired_at, interval, page.am, judging) {
        return (
            Status::Inconclusive,
            format!("{why}: whether it arrived is unknown"),
        );
    }
    (
        Status::Fail,
        format!(
            "`{alert}` fired at t={} but never arrived at Alertmanager, watched until t={} (is it in Prometheus's `alerting:` configuration?)",
            secs(judging.rel(fired_at)),
            secs(judging.rel(asked))
        ),
    )
}
