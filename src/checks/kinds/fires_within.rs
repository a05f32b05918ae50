//! `fires_within`: the alert fires within a deadline after an anchor — a
//! phase's start or end, or the moment its condition first held — measured
//! on Prometheus's own evaluation ticks (`ALERTS`).
//!
//! With `at_most: baseline + 20%` (and `floor:`) it must also fire no
//! later than that over the baseline's time to fire for the same alert and
//! anchor (`checks::relative`); the deadline stays the hard limit.
//!
//! ```yaml
//! - { alert: GatewayHighErrorRate, fires_within: 3m, after: errors.start }
//! - { alert: GatewayHighErrorRate, fires_within: 2m, after: condition, during: errors }
//! - { alert: GatewayHighErrorRate, fires_within: 3m, after: errors.start, at_most: baseline + 20%, floor: 30s }
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Check, ConditionQuery, Planned};
use crate::checks::context::{alert_context, anchor_time, rule_figures, Anchored};
use crate::checks::evidence::{nullable, DeadlineFigures, Readout, Refusal, RuleFigures};
use crate::checks::format::CheckSpec;
use crate::checks::judged::{
    longer_or_as_long, secs, Judged, Judgement, Judging, Refused, Status, Unjudged,
};
use crate::checks::noise::{self, FireOdds};
use crate::checks::relative::{self, read_relative, RelativeBound, RelativeFigures};
use crate::checks::validate::{anchor_text, required_alert, AlertLabels, AnchorRule, CheckContext};
use crate::checks::window::{deadline_due, evaluated_past, Needed};
use crate::record::{AlertRuleInfo, Episode};
use crate::setup::{AlertRef, Anchor};
use crate::spec::{scaled, FieldPath, Validator};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiresWithin {
    pub alert: AlertRef,
    /// Scaled.
    pub deadline: Duration,
    pub anchor: Anchor,
    /// No later than this over the baseline's time to fire (scaled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<RelativeBound>,
}

/// The figures of a `fires_within` verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(flatten)]
    pub refusal: Refusal,
    #[serde(flatten)]
    pub deadline: Option<DeadlineFigures>,
    #[serde(flatten)]
    pub rule: Option<RuleFigures>,
    #[serde(flatten)]
    pub fired: Option<Fired>,
    /// It did not fire in time: whether it went pending after the anchor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub went_pending: Option<bool>,
    /// What Prometheus's rule engine predicted for this check (`rules
    /// sweep` on the drill's own rules and timeline), put here after the
    /// judgement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted: Option<Predicted>,
    /// With `at_most`: the baseline's time to fire and the bound over it
    /// (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative: Option<RelativeFigures>,
    /// How sure (an alert on an error ratio): the chance errors at random
    /// fire it within the deadline, at the ratios measured and at a healthy
    /// service's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub odds: Option<FireOdds>,
}

/// When the alert fired, and how long after the anchor it went pending and
/// fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fired {
    pub time_to_fire_seconds: f64,
    /// None: already firing at its first sighting, or `for: 0`.
    #[serde(deserialize_with = "nullable")]
    pub time_to_pending_seconds: Option<f64>,
    pub fired_at_seconds: f64,
}

/// A prediction beside the measurement (the fields of `rules sweep`'s
/// prediction for this check, as report.json writes them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predicted {
    /// The check's id (`checks[2]`).
    pub check: String,
    pub alert: String,
    pub error_ratio: f64,
    /// Seconds after the anchor in the drill's (time-scaled) clock; None:
    /// it does not fire within `drill_horizon_seconds`.
    pub drill: Option<PredictedSpan>,
    pub drill_horizon_seconds: f64,
    /// Seconds after the fault began in production (unscaled); None: never
    /// within `production_horizon_seconds`.
    pub production: Option<PredictedSpan>,
    pub production_horizon_seconds: f64,
    /// Why no prediction could be made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

/// The earliest and latest predicted time, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PredictedSpan {
    pub best_seconds: f64,
    pub worst_seconds: f64,
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
        self.fired.as_ref().map(|f| f.time_to_fire_seconds)
    }
}

impl Check for FiresWithin {
    const NAME: &'static str = "fires_within";
    const WRITTEN: &'static str = "fires_within";
    const KEYS: &'static [&'static str] = &[
        "alert",
        "fires_within",
        "after",
        "during",
        "condition",
        "at_most",
        "floor",
    ];
    type Evidence = Evidence;

    fn said_by(spec: &CheckSpec) -> bool {
        spec.fires_within.is_some()
    }

    fn validate(
        spec: &CheckSpec,
        path: &FieldPath,
        context: &CheckContext,
        v: &mut Validator,
    ) -> Vec<Planned<Self>> {
        let alert = required_alert(v, spec, path, AlertLabels::Allowed);
        let Some(written) = spec.fires_within else {
            return Vec::new();
        };
        let field = "fires_within";
        let Some(anchor) = context.anchor(v, spec, field, AnchorRule::EdgeOrCondition, path) else {
            return Vec::new();
        };
        let deadline = scaled(written.0, context.scale);
        context.deadline_fits(v, path.key(field), &anchor, deadline);
        let at_most = read_relative(spec, path, context.scale, v);
        let Some(alert) = alert else {
            return Vec::new();
        };
        let name = spec.name.clone().unwrap_or_else(|| {
            let relative = spec
                .at_most
                .as_ref()
                .map(|a| format!(" and at most {}", a.0))
                .unwrap_or_default();
            format!(
                "{alert} fires within {written}{relative} after {}",
                anchor_text(spec)
            )
        });
        Planned::one(
            name,
            FiresWithin {
                alert,
                deadline,
                anchor,
                at_most,
            },
        )
    }

    fn judge(&self, judging: &Judging) -> Judged<Evidence> {
        let judged = judge(self, judging).unwrap_or_else(Judged::from);
        match &self.at_most {
            Some(bound) => against_baseline(self, bound, judged, judging),
            None => judged,
        }
    }

    /// The anchor came (a phase's start; a phase's end that was not cut
    /// short; the condition holding), and Prometheus evaluated the group at
    /// or after the deadline.
    fn window(&self, judging: &Judging) -> Result<(), Needed> {
        let (due, moment) = deadline_due(judging, &self.anchor, self.deadline)?;
        evaluated_past(&self.alert, due, moment, judging.observations)
    }

    /// It fired (in time or late), was already firing at the anchor, or
    /// observation went past the deadline without it firing: the check
    /// itself only concludes on what Prometheus recorded.
    fn settled_early(status: Status) -> bool {
        matches!(status, Status::Pass | Status::Fail)
    }

    fn alert(&self) -> Option<&AlertRef> {
        Some(&self.alert)
    }

    fn condition(&self) -> Option<ConditionQuery<'_>> {
        ConditionQuery::of(&self.alert, &self.anchor)
    }
}

fn judge(plan: &FiresWithin, judging: &Judging) -> Judgement<Evidence, Refused> {
    let context = alert_context(&plan.alert, judging.observations)?;
    let anchor = anchor_time(&plan.anchor, judging)?;
    let alert = &plan.alert;
    let deadline_s = plan.deadline.as_secs_f64();
    let figures = Evidence {
        deadline: Some(DeadlineFigures {
            anchor: anchor.name.clone(),
            anchor_at_seconds: judging.rel(anchor.at),
            deadline_seconds: deadline_s,
        }),
        rule: Some(rule_figures(context.rule)),
        ..Evidence::default()
    };
    let episodes = &context.history.episodes;
    let from = anchor.at - anchor.tolerance;
    if let Some(already) = episodes
        .iter()
        .find(|e| e.firing_at.is_some_and(|f| f < from) && e.active_at(anchor.at))
    {
        return Ok(already_firing(alert, &anchor, already, judging, figures));
    }
    let first_firing = episodes
        .iter()
        .filter_map(|e| e.firing_at.map(|f| (f, e.pending_at)))
        .filter(|(f, _)| *f >= from)
        .min_by(|a, b| a.0.total_cmp(&b.0));
    let late = why_late(deadline_s, context.rule);
    let observed_until = judging.observations.observed_until;
    let judged = match first_firing {
        Some((firing_at, pending_at)) => fired(
            alert,
            &anchor,
            deadline_s,
            (firing_at, pending_at),
            &late,
            judging,
            figures,
        ),
        None if anchor.at + deadline_s <= observed_until => Judged::new(
            Status::Fail,
            format!(
                "`{alert}` did not fire within {} after {} (watched until {} after it).{late}",
                secs(deadline_s),
                anchor.name,
                secs(observed_until - anchor.at)
            ),
            Evidence {
                went_pending: Some(
                    episodes
                        .iter()
                        .filter_map(|e| e.pending_at)
                        .any(|p| p >= from),
                ),
                ..figures
            },
        ),
        None => Judged::new(
            Status::Inconclusive,
            format!(
                "`{alert}` had not fired when observation ended, {} after {}, before the {} deadline",
                secs(observed_until - anchor.at),
                anchor.name,
                secs(deadline_s)
            ),
            figures,
        ),
    };
    Ok(with_odds(
        judged,
        context.rule,
        &anchor,
        deadline_s,
        judging,
    ))
}

/// A judged deadline with how sure it is, when the rule reads an error
/// ratio: the chances errors at random fire it in time.
fn with_odds(
    mut judged: Judged<Evidence>,
    rule: &AlertRuleInfo,
    anchor: &Anchored,
    deadline_s: f64,
    judging: &Judging,
) -> Judged<Evidence> {
    if judged.status == Status::Inconclusive {
        return judged;
    }
    let odds = noise::fire_odds(rule, judging.rel(anchor.at), deadline_s, judging);
    if let Some(clause) = odds
        .as_ref()
        .and_then(|o| o.clause(judged.status == Status::Pass))
    {
        judged.summary.push_str(&clause);
    }
    judged.evidence.odds = odds;
    judged
}

/// It was firing before the anchor came: no time to fire can be measured.
fn already_firing(
    alert: &AlertRef,
    anchor: &Anchored,
    already: &Episode,
    judging: &Judging,
    figures: Evidence,
) -> Judged<Evidence> {
    Judged::new(
        Status::Fail,
        format!(
            "`{alert}` was already firing before {} (since t={}): a drill has to start from silence to measure time to fire",
            anchor.name,
            secs(judging.rel(already.firing_at.unwrap_or(anchor.at)))
        ),
        figures,
    )
}

/// It fired after the anchor: in time, or late (and why a working rule may
/// be late).
fn fired(
    alert: &AlertRef,
    anchor: &Anchored,
    deadline_s: f64,
    (firing_at, pending_at): (f64, Option<f64>),
    late: &str,
    judging: &Judging,
    figures: Evidence,
) -> Judged<Evidence> {
    let time_to_fire = (firing_at - anchor.at).max(0.0);
    let (status, summary) = if time_to_fire <= deadline_s {
        (
            Status::Pass,
            format!(
                "`{alert}` fired {} after {} (deadline {})",
                secs(time_to_fire),
                anchor.name,
                secs(deadline_s)
            ),
        )
    } else {
        (
            Status::Fail,
            format!(
                "`{alert}` fired {} after {}, later than the deadline of {}.{late}",
                secs(time_to_fire),
                anchor.name,
                secs(deadline_s)
            ),
        )
    };
    let fired = Fired {
        time_to_fire_seconds: time_to_fire,
        time_to_pending_seconds: pending_at.map(|p| (p - anchor.at).max(0.0)),
        fired_at_seconds: judging.rel(firing_at),
    };
    Judged::new(
        status,
        summary,
        Evidence {
            fired: Some(fired),
            ..figures
        },
    )
}

/// A pass within the deadline is also held to `at_most` over the
/// baseline's time to fire for the same alert and anchor; without a
/// baseline (or that figure in it) the pass becomes inconclusive. A failure
/// or an inconclusive verdict stands as it is.
fn against_baseline(
    plan: &FiresWithin,
    bound: &RelativeBound,
    mut judged: Judged<Evidence>,
    judging: &Judging,
) -> Judged<Evidence> {
    let (Status::Pass, Some(fired), Some(deadline)) = (
        judged.status,
        &judged.evidence.fired,
        &judged.evidence.deadline,
    ) else {
        return judged;
    };
    let measured = fired.time_to_fire_seconds;
    let alert = plan.alert.to_string();
    let base = relative::baseline(judging).and_then(|baseline| {
        baseline
            .figures
            .alerts
            .iter()
            .find(|a| a.kind == <FiresWithin as Check>::NAME && a.alert == alert && a.anchor == deadline.anchor)
            .map(|a| (baseline, a.seconds))
            .ok_or_else(|| {
                Unjudged::inconclusive(format!(
                    "the baseline ({}) has no time to fire for `{alert}` after {} to be relative to",
                    baseline.source, deadline.anchor
                ))
            })
    });
    match base {
        Err(stop) => {
            judged.status = Status::Inconclusive;
            judged.summary.push_str(&format!("; {}", stop.summary));
        }
        Ok((baseline, seconds)) => {
            let limit = bound.limit(seconds);
            let held = measured <= limit;
            judged.summary.push_str(&format!(
                "; {} {} = {} (the baseline's {})",
                if held { "at most" } else { "later than" },
                bound.describe(),
                secs(limit),
                secs(seconds)
            ));
            if !held {
                judged.status = Status::Fail;
            }
            judged.evidence.relative = Some(RelativeFigures {
                baseline: baseline.source.clone(),
                baseline_value: seconds,
                relative_bound: limit,
            });
        }
    }
    judged
}

/// Why the deadline cannot be met, or can be missed by a working rule,
/// from the rule's `for` and evaluation interval alone.
fn why_late(deadline_s: f64, rule: &AlertRuleInfo) -> String {
    if deadline_s <= rule.for_seconds {
        format!(
            " The deadline cannot be met: the rule's `for` ({}) alone is {} (and the condition is first seen by a scrape after the fault begins).",
            secs(rule.for_seconds),
            longer_or_as_long(rule.for_seconds, deadline_s)
        )
    } else if deadline_s < rule.for_seconds + rule.interval_seconds {
        format!(
            " The deadline is shorter than `for` plus one evaluation interval ({} + {}), so even a working rule can miss it.",
            secs(rule.for_seconds),
            secs(rule.interval_seconds)
        )
    } else {
        String::new()
    }
}
