//! `resolves_within`: every episode of the alert that began before the
//! deadline is over by it, counted from a phase's edge (a recovery's start).
//!
//! ```yaml
//! - { alert: GatewayHighErrorRate, resolves_within: 3m30s, after: recovery.start }
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Check, Planned};
use crate::checks::context::{alert_context, anchor_time, rule_figures, Anchored};
use crate::checks::evidence::{DeadlineFigures, Readout, Refusal, RuleFigures};
use crate::checks::format::CheckSpec;
use crate::checks::judged::{secs, Judged, Judgement, Judging, Refused, Status};
use crate::checks::validate::{anchor_text, required_alert, AlertLabels, AnchorRule, CheckContext};
use crate::checks::window::{deadline_due, evaluated_past, Needed};
use crate::setup::{AlertRef, Anchor};
use crate::spec::{scaled, FieldPath, Validator};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvesWithin {
    pub alert: AlertRef,
    /// Scaled.
    pub deadline: Duration,
    pub anchor: Anchor,
}

/// The figures of a `resolves_within` verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(flatten)]
    pub refusal: Refusal,
    #[serde(flatten)]
    pub deadline: Option<DeadlineFigures>,
    #[serde(flatten)]
    pub rule: Option<RuleFigures>,
    #[serde(flatten)]
    pub resolved: Option<Resolved>,
}

/// When it resolved, and how long after the anchor (0 when before it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolved {
    pub time_to_resolve_seconds: f64,
    pub resolved_at_seconds: f64,
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

    fn time_to_resolve_seconds(&self) -> Option<f64> {
        self.resolved.as_ref().map(|r| r.time_to_resolve_seconds)
    }
}

impl Check for ResolvesWithin {
    const NAME: &'static str = "resolves_within";
    const WRITTEN: &'static str = "resolves_within";
    const KEYS: &'static [&'static str] = &["alert", "resolves_within", "after"];
    type Evidence = Evidence;

    fn said_by(spec: &CheckSpec) -> bool {
        spec.resolves_within.is_some()
    }

    fn validate(
        spec: &CheckSpec,
        path: &FieldPath,
        context: &CheckContext,
        v: &mut Validator,
    ) -> Vec<Planned<Self>> {
        let alert = required_alert(v, spec, path, AlertLabels::Allowed);
        let Some(written) = spec.resolves_within else {
            return Vec::new();
        };
        let field = "resolves_within";
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
                "{alert} resolves within {written} after {}",
                anchor_text(spec)
            )
        });
        Planned::one(
            name,
            ResolvesWithin {
                alert,
                deadline,
                anchor,
            },
        )
    }

    fn judge(&self, judging: &Judging) -> Judged<Evidence> {
        judge(self, judging).unwrap_or_else(Judged::from)
    }

    /// The anchor came, and Prometheus evaluated the group at or after the
    /// deadline.
    fn window(&self, judging: &Judging) -> Result<(), Needed> {
        let (due, moment) = deadline_due(judging, &self.anchor, self.deadline)?;
        evaluated_past(&self.alert, due, moment, judging.observations)
    }

    /// It resolved late, or was still active past the deadline; a
    /// resolution not yet shown to last its window could still change.
    fn settled_early(status: Status) -> bool {
        status == Status::Fail
    }

    fn alert(&self) -> Option<&AlertRef> {
        Some(&self.alert)
    }
}

fn judge(plan: &ResolvesWithin, judging: &Judging) -> Judgement<Evidence, Refused> {
    let context = alert_context(&plan.alert, judging.observations)?;
    let anchor = anchor_time(&plan.anchor, judging)?;
    let alert = &plan.alert;
    let deadline_s = plan.deadline.as_secs_f64();
    let due = anchor.at + deadline_s;
    let figures = Evidence {
        deadline: Some(DeadlineFigures {
            anchor: anchor.name.clone(),
            anchor_at_seconds: judging.rel(anchor.at),
            deadline_seconds: deadline_s,
        }),
        rule: Some(rule_figures(context.rule)),
        ..Evidence::default()
    };
    // Every episode that began before the deadline must be over by it.
    let Some(last) = context
        .history
        .episodes
        .iter()
        .filter(|e| e.start() <= due)
        .max_by(|a, b| a.start().total_cmp(&b.start()))
    else {
        return Ok(Judged::new(
            Status::Inconclusive,
            format!("`{alert}` was never active, so there was nothing to resolve"),
            figures,
        ));
    };
    Ok(resolution(
        alert,
        &anchor,
        deadline_s,
        last.resolved_at,
        judging,
        figures,
    ))
}

/// The last episode that began before the deadline: resolved by it (or
/// before the anchor), resolved late, or still active.
fn resolution(
    alert: &AlertRef,
    anchor: &Anchored,
    deadline_s: f64,
    resolved_at: Option<f64>,
    judging: &Judging,
    figures: Evidence,
) -> Judged<Evidence> {
    let due = anchor.at + deadline_s;
    let observed_until = judging.observations.observed_until;
    let with_resolution = |resolved: f64, after: f64| Evidence {
        resolved: Some(Resolved {
            time_to_resolve_seconds: after,
            resolved_at_seconds: judging.rel(resolved),
        }),
        ..figures.clone()
    };
    match resolved_at {
        Some(resolved) if resolved <= due => {
            let after = resolved - anchor.at;
            let summary = if after <= 0.0 {
                format!(
                    "`{alert}` had already resolved {} before {}",
                    secs(-after),
                    anchor.name
                )
            } else {
                format!(
                    "`{alert}` resolved {} after {} (deadline {})",
                    secs(after),
                    anchor.name,
                    secs(deadline_s)
                )
            };
            Judged::new(
                Status::Pass,
                summary,
                with_resolution(resolved, after.max(0.0)),
            )
        }
        Some(resolved) => Judged::new(
            Status::Fail,
            format!(
                "`{alert}` resolved {} after {}, later than the deadline of {}",
                secs(resolved - anchor.at),
                anchor.name,
                secs(deadline_s)
            ),
            with_resolution(resolved, resolved - anchor.at),
        ),
        None if observed_until >= due => Judged::new(
            Status::Fail,
            format!(
                "`{alert}` was still active {} after {}, past the deadline of {}",
                secs(observed_until - anchor.at),
                anchor.name,
                secs(deadline_s)
            ),
            figures,
        ),
        None => Judged::new(
            Status::Inconclusive,
            format!(
                "`{alert}` was still active when observation ended, before the {} deadline",
                secs(deadline_s)
            ),
            figures,
        ),
    }
}
