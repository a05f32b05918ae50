//! `silent_during`: the alert is neither pending nor firing (or, with
//! `allow_pending`, not firing) at any evaluation during a phase — and
//! Prometheus was seen evaluating its rule all along, or silence is not
//! proven.
//!
//! ```yaml
//! - { alert: GatewayHighErrorRate, silent_during: healthy }
//! ```

use serde::{Deserialize, Serialize};

use super::{Check, Planned};
use crate::checks::context::{alert_context, phase_record, rule_figures, AlertContext};
use crate::checks::evidence::{nullable, PhaseFigures, Readout, Refusal, RuleFigures};
use crate::checks::format::CheckSpec;
use crate::checks::judged::{secs, Judged, Judgement, Judging, Refused, Status};
use crate::checks::noise::{self, Filling, NoiseFigures};
use crate::checks::validate::{required_alert, AlertLabels, CheckContext};
use crate::checks::window::{evaluated_past_phase, Needed};
use crate::record::{Episode, Labels, PhaseRecord};
use crate::setup::AlertRef;
use crate::spec::{FieldPath, Validator};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SilentDuring {
    pub alert: AlertRef,
    pub phase: usize,
    pub allow_pending: bool,
}

/// The figures of a `silent_during` verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(flatten)]
    pub refusal: Refusal,
    #[serde(flatten)]
    pub phase: Option<PhaseFigures>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_pending: Option<bool>,
    #[serde(flatten)]
    pub rule: Option<RuleFigures>,
    /// The episode that broke the silence.
    #[serde(flatten)]
    pub heard: Option<Heard>,
    /// The longest stretch of the phase with no evaluation of the rule's
    /// group seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub largest_evaluation_gap_seconds: Option<f64>,
    /// How sure (an alert on an error ratio): what random errors at the
    /// ratio measured do to it in such a phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<NoiseFigures>,
    /// Its evaluations in the phase while its window was still filling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filling: Option<Filling>,
}

/// When the alert was heard inside the phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heard {
    /// Absent when it only went pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firing_at_seconds: Option<f64>,
    #[serde(deserialize_with = "nullable")]
    pub pending_at_seconds: Option<f64>,
    pub labels: Labels,
}

impl From<Refusal> for Evidence {
    fn from(refusal: Refusal) -> Self {
        Evidence {
            refusal,
            ..Evidence::default()
        }
    }
}

impl Readout for Evidence {}

impl Check for SilentDuring {
    const NAME: &'static str = "silent_during";
    const WRITTEN: &'static str = "silent_during";
    const KEYS: &'static [&'static str] = &["alert", "silent_during", "allow_pending"];
    type Evidence = Evidence;

    fn said_by(spec: &CheckSpec) -> bool {
        spec.silent_during.is_some()
    }

    fn validate(
        spec: &CheckSpec,
        path: &FieldPath,
        context: &CheckContext,
        v: &mut Validator,
    ) -> Vec<Planned<Self>> {
        let alert = required_alert(v, spec, path, AlertLabels::Allowed);
        let Some(phase_name) = &spec.silent_during else {
            return Vec::new();
        };
        let Some(phase) = context.watched_phase(v, path.key("silent_during"), phase_name) else {
            return Vec::new();
        };
        let Some(alert) = alert else {
            return Vec::new();
        };
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| format!("{alert} stays silent during {phase_name}"));
        Planned::one(
            name,
            SilentDuring {
                alert,
                phase,
                allow_pending: spec.allow_pending.unwrap_or(false),
            },
        )
    }

    fn judge(&self, judging: &Judging) -> Judged<Evidence> {
        judge(self, judging).unwrap_or_else(Judged::from)
    }

    /// Its phase ran to its end, and Prometheus evaluated the alert's rule
    /// group at or after that end (every evaluation inside the phase has
    /// then written its `ALERTS` samples).
    fn window(&self, judging: &Judging) -> Result<(), Needed> {
        evaluated_past_phase(judging, &self.alert, self.phase)
    }

    /// The alert was pending or firing inside the phase (or its rule is
    /// missing or broken): silence can no longer be shown.
    fn settled_early(status: Status) -> bool {
        status == Status::Fail
    }

    fn alert(&self) -> Option<&AlertRef> {
        Some(&self.alert)
    }
}

fn judge(plan: &SilentDuring, judging: &Judging) -> Judgement<Evidence, Refused> {
    let context = alert_context(&plan.alert, judging.observations)?;
    let record = phase_record(plan.phase, judging.observations)?;
    let figures = Evidence {
        phase: Some(PhaseFigures {
            phase: record.name.clone(),
            phase_from_seconds: judging.rel(record.started_at),
            phase_to_seconds: judging.rel(record.ended_at),
        }),
        allow_pending: Some(plan.allow_pending),
        rule: Some(rule_figures(context.rule)),
        noise: noise::in_phase(context.rule, plan.phase, judging),
        filling: noise::filling(context.rule, plan.phase, judging),
        ..Evidence::default()
    };
    let noise_clause = figures
        .noise
        .as_ref()
        .and_then(|n| n.silence_clause(plan.allow_pending))
        .unwrap_or_default();
    if let Some((mut summary, heard)) = heard(plan, record, &context, judging) {
        let broke_at = heard
            .pending_at_seconds
            .or(heard.firing_at_seconds)
            .unwrap_or_default()
            .max(judging.rel(record.started_at));
        if let Some(filling) = figures.filling.as_ref().filter(|f| f.covers(broke_at)) {
            summary.push_str(&filling.broke_clause());
        }
        summary.push_str(&noise_clause);
        return Ok(Judged::new(
            Status::Fail,
            summary,
            Evidence {
                heard: Some(heard),
                ..figures
            },
        ));
    }
    let mut judged = unheard(plan, record, &context, judging, figures);
    if judged.status == Status::Pass {
        // An error ratio over a phase without errors cannot cross on a thin
        // window either: then the filling changed nothing worth saying.
        let errorless = judged
            .evidence
            .noise
            .as_ref()
            .is_some_and(|n| n.measured_error_ratio == 0.0);
        if let Some(filling) = judged.evidence.filling.as_ref().filter(|_| !errorless) {
            judged.summary.push_str(&filling.clause());
        }
        judged.summary.push_str(&noise_clause);
    }
    Ok(judged)
}

/// The first episode inside the phase that breaks its silence: what to
/// say, and when it was heard.
fn heard(
    plan: &SilentDuring,
    record: &PhaseRecord,
    context: &AlertContext,
    judging: &Judging,
) -> Option<(String, Heard)> {
    let (from, to) = (record.started_at, record.ended_at);
    let alert = &plan.alert;
    let rel = |t: f64| judging.rel(t);
    for episode in &context.history.episodes {
        let end = episode
            .resolved_at
            .unwrap_or(judging.observations.observed_until);
        if let Some(firing) = episode.firing_at.filter(|f| *f <= to && end > from) {
            let summary = format!(
                "`{alert}` was firing during `{}` (from t={}{})",
                record.name,
                secs(rel(firing.max(from))),
                if firing < from {
                    ", already when the phase began"
                } else {
                    ""
                }
            );
            return Some((summary, heard_in(episode, Some(rel(firing)), judging)));
        }
        if plan.allow_pending {
            continue;
        }
        let pending_end = episode.firing_at.unwrap_or(end);
        if let Some(pending) = episode
            .pending_at
            .filter(|p| *p <= to && pending_end > from)
        {
            let summary = format!(
                "`{alert}` went pending during `{}` at t={}: its condition held on this traffic \
                 (set `allow_pending: true` to accept conditions that `for` absorbs)",
                record.name,
                secs(rel(pending.max(from)))
            );
            return Some((summary, heard_in(episode, None, judging)));
        }
    }
    None
}

fn heard_in(episode: &Episode, firing_at_seconds: Option<f64>, judging: &Judging) -> Heard {
    Heard {
        firing_at_seconds,
        pending_at_seconds: episode.pending_at.map(|p| judging.rel(p)),
        labels: episode.labels.clone(),
    }
}

/// Nothing was heard: silence is only proof if Prometheus was evaluating
/// the rule all along — it answered every poll during the phase, and no
/// evaluation is missing (consecutive evaluations are one interval apart;
/// a missed observation of one is tolerated, two are not).
fn unheard(
    plan: &SilentDuring,
    record: &PhaseRecord,
    context: &AlertContext,
    judging: &Judging,
    figures: Evidence,
) -> Judged<Evidence> {
    let (from, to) = (record.started_at, record.ended_at);
    let watch = &judging.observations.watch;
    if let Some((at, why)) = watch.failures.iter().find(|(t, _)| *t >= from && *t <= to) {
        return Judged::new(
            Status::Inconclusive,
            format!(
                "no alert was seen, but Prometheus did not answer at t={} during `{}` ({why}): silence is not proven",
                secs(judging.rel(*at)),
                record.name
            ),
            figures,
        );
    }
    let gap = watch.largest_gap(&context.rule.group, from, to);
    let allowed = 2.0 * context.rule.interval_seconds + 1.0;
    let figures = Evidence {
        largest_evaluation_gap_seconds: Some(gap),
        ..figures
    };
    if gap > allowed {
        return Judged::new(
            Status::Inconclusive,
            format!(
                "no alert was seen, but Prometheus's evaluations of group `{}` were not observed for {} of the phase (allowed {}): silence is not proven",
                context.rule.group,
                secs(gap),
                secs(allowed)
            ),
            figures,
        );
    }
    Judged::new(
        Status::Pass,
        format!(
            "`{}` was {} throughout `{}` ({} evaluated)",
            plan.alert,
            if plan.allow_pending {
                "never firing"
            } else {
                "neither pending nor firing"
            },
            record.name,
            secs(to - from)
        ),
        figures,
    )
}
