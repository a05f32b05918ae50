//! Alert checks: fires within a deadline, resolves within a deadline, stays
//! silent. Times come from ALERTS samples (evaluation ticks); the deadline
//! arithmetic follows Prometheus's `for` semantics: an alert goes pending at
//! the first evaluation where its expression holds and fires at the first
//! evaluation at least `for` later, so no deadline shorter than `for` can
//! be met, and one shorter than `for` + an evaluation interval + a scrape
//! interval can be missed by a working rule.

use std::time::Duration;

use super::{secs, Status, Verdict};
use crate::plan::{Anchor, CheckPlan};
use crate::record::{AlertHistory, AlertRuleInfo, Observations};

/// Everything an alert check needs before it can look at episodes, or the
/// verdict that it cannot be judged.
pub(super) struct AlertContext<'a> {
    pub(super) rule: &'a AlertRuleInfo,
    pub(super) history: &'a AlertHistory,
}

pub(super) fn context<'a>(
    check: &CheckPlan,
    alert: &str,
    observations: &'a Observations,
) -> Result<AlertContext<'a>, Box<Verdict>> {
    let Some(rule) = observations
        .rules
        .get(crate::plan::AlertRef::name_of(alert))
    else {
        return Err(Box::new(
            Verdict::new(
                check,
                Status::Fail,
                format!("alert `{alert}` is not loaded in Prometheus, so it can never fire"),
            )
            .with(
                "loaded_alerts",
                observations.rules.keys().collect::<Vec<_>>(),
            ),
        ));
    };
    if rule.health == "err" {
        return Err(Box::new(
            Verdict::new(
                check,
                Status::Fail,
                format!(
                    "the rule for `{alert}` fails to evaluate: {}",
                    rule.last_error.as_deref().unwrap_or("(no error text)")
                ),
            )
            .with("query", &rule.query),
        ));
    }
    let Some(history) = observations.alerts.get(alert) else {
        return Err(Box::new(Verdict::new(
            check,
            Status::Inconclusive,
            format!("no alert history was collected for `{alert}`"),
        )));
    };
    if let Some(error) = &history.error {
        return Err(Box::new(Verdict::new(
            check,
            Status::Inconclusive,
            format!(
                "Prometheus could not say when `{alert}` was active: {}",
                error.message
            ),
        )));
    }
    Ok(AlertContext { rule, history })
}

/// The anchor's time, with the tolerance its measurement allows.
pub(super) fn anchor_time(
    check: &CheckPlan,
    anchor: &Anchor,
    observations: &Observations,
) -> Result<(f64, f64, String), Box<Verdict>> {
    let phase_time = |phase: usize, end: bool| {
        observations.phases.get(phase).map(|p| {
            let t = if end { p.ended_at } else { p.started_at };
            let edge = if end { "end" } else { "start" };
            (t, 0.001, format!("{}.{edge}", p.name))
        })
    };
    let found = match anchor {
        Anchor::PhaseStart { phase } => phase_time(*phase, false),
        // A phase stopped by a signal ended when the signal came: that is
        // not the end the check counts from.
        Anchor::PhaseEnd { phase } => match observations.phases.get(*phase) {
            Some(record) if record.cut_short => {
                return Err(Box::new(Verdict::new(
                    check,
                    Status::Inconclusive,
                    format!(
                        "`{}` was cut short by the interruption, so `{}.end` never came",
                        record.name, record.name
                    ),
                )))
            }
            _ => phase_time(*phase, true),
        },
        Anchor::Condition { phase, .. } => {
            if observations.phases.get(*phase).is_none() {
                return Err(Box::new(Verdict::new(
                    check,
                    Status::Inconclusive,
                    "the phase in which the condition was expected did not run".into(),
                )));
            }
            let Some(condition) = observations.conditions.get(&check.id) else {
                return Err(Box::new(Verdict::new(
                    check,
                    Status::Inconclusive,
                    "the condition was not evaluated (the rule is not loaded, or the run stopped early)".into(),
                )));
            };
            if let Some(error) = &condition.error {
                return Err(Box::new(
                    Verdict::new(
                        check,
                        Status::Inconclusive,
                        format!(
                            "Prometheus could not evaluate the condition: {}",
                            error.message
                        ),
                    )
                    .with("condition", &condition.expr),
                ));
            }
            match condition.first_true {
                Some(t) => Some((
                    t,
                    condition.step_seconds,
                    "the condition first held".to_string(),
                )),
                None => {
                    let phase_name = observations
                        .phases
                        .get(*phase)
                        .map(|p| p.name.as_str())
                        .unwrap_or("?");
                    return Err(Box::new(Verdict::new(
                        check,
                        Status::Inconclusive,
                        format!(
                            "the condition never held from the start of `{phase_name}` to the end of the run: \
                             the drill did not create the situation this check is about"
                        ),
                    )
                    .with("condition", &condition.expr)));
                }
            }
        }
    };
    found.ok_or_else(|| {
        Box::new(Verdict::new(
            check,
            Status::Inconclusive,
            "the phase this check counts from did not run".into(),
        ))
    })
}

fn rule_evidence(verdict: Verdict, rule: &AlertRuleInfo, observations: &Observations) -> Verdict {
    let _ = observations;
    verdict
        .with("rule_for_seconds", rule.for_seconds)
        .with("evaluation_interval_seconds", rule.interval_seconds)
        .with("rule_query", &rule.query)
        .with("rule_group", &rule.group)
}

pub fn fires_within(
    check: &CheckPlan,
    alert: &str,
    deadline: Duration,
    anchor: &Anchor,
    observations: &Observations,
) -> Verdict {
    let context = match context(check, alert, observations) {
        Ok(context) => context,
        Err(verdict) => return *verdict,
    };
    let (anchor_t, tolerance, anchor_name) = match anchor_time(check, anchor, observations) {
        Ok(found) => found,
        Err(verdict) => return *verdict,
    };
    let rule = context.rule;
    let deadline_s = deadline.as_secs_f64();
    let rel = |t: f64| t - observations.run_start;
    let verdict_of = |status: Status, summary: String| {
        let mut verdict = Verdict::new(check, status, summary)
            .with("anchor", &anchor_name)
            .with("anchor_at_seconds", rel(anchor_t))
            .with("deadline_seconds", deadline_s);
        verdict = rule_evidence(verdict, rule, observations);
        verdict
    };

    let impossible = deadline_s < rule.for_seconds;
    let tight = deadline_s < rule.for_seconds + rule.interval_seconds;
    let why_late = if impossible {
        format!(
            " The deadline cannot be met: the rule's `for` ({}) alone is longer than it.",
            secs(rule.for_seconds)
        )
    } else if tight {
        format!(
            " The deadline is shorter than `for` plus one evaluation interval ({} + {}), so even a working rule can miss it.",
            secs(rule.for_seconds),
            secs(rule.interval_seconds)
        )
    } else {
        String::new()
    };

    if let Some(already) =
        context.history.episodes.iter().find(|e| {
            e.firing_at.is_some_and(|f| f < anchor_t - tolerance) && e.active_at(anchor_t)
        })
    {
        return verdict_of(
            Status::Fail,
            format!(
                "`{alert}` was already firing before {anchor_name} (since t={}): a drill has to start from silence to measure time to fire",
                secs(rel(already.firing_at.unwrap_or(anchor_t)))
            ),
        );
    }
    let first_firing = context
        .history
        .episodes
        .iter()
        .filter_map(|e| e.firing_at.map(|f| (f, e.pending_at)))
        .filter(|(f, _)| *f >= anchor_t - tolerance)
        .min_by(|a, b| a.0.total_cmp(&b.0));
    match first_firing {
        Some((firing_at, pending_at)) => {
            let time_to_fire = (firing_at - anchor_t).max(0.0);
            let status = if time_to_fire <= deadline_s {
                Status::Pass
            } else {
                Status::Fail
            };
            let summary = if status == Status::Pass {
                format!(
                    "`{alert}` fired {} after {anchor_name} (deadline {})",
                    secs(time_to_fire),
                    secs(deadline_s)
                )
            } else {
                format!(
                    "`{alert}` fired {} after {anchor_name}, later than the deadline of {}.{why_late}",
                    secs(time_to_fire),
                    secs(deadline_s)
                )
            };
            verdict_of(status, summary)
                .with("time_to_fire_seconds", time_to_fire)
                .with("time_to_pending_seconds", pending_at.map(|p| (p - anchor_t).max(0.0)))
                .with("fired_at_seconds", rel(firing_at))
        }
        None if anchor_t + deadline_s <= observations.observed_until => verdict_of(
            Status::Fail,
            format!(
                "`{alert}` did not fire within {} after {anchor_name} (watched until {} after it).{why_late}",
                secs(deadline_s),
                secs(observations.observed_until - anchor_t)
            ),
        )
        .with(
            "went_pending",
            context
                .history
                .episodes
                .iter()
                .filter_map(|e| e.pending_at)
                .any(|p| p >= anchor_t - tolerance),
        ),
        None => verdict_of(
            Status::Inconclusive,
            format!(
                "`{alert}` had not fired when observation ended, {} after {anchor_name}, before the {} deadline",
                secs(observations.observed_until - anchor_t),
                secs(deadline_s)
            ),
        ),
    }
}

pub fn resolves_within(
    check: &CheckPlan,
    alert: &str,
    deadline: Duration,
    anchor: &Anchor,
    observations: &Observations,
) -> Verdict {
    let context = match context(check, alert, observations) {
        Ok(context) => context,
        Err(verdict) => return *verdict,
    };
    let (anchor_t, _, anchor_name) = match anchor_time(check, anchor, observations) {
        Ok(found) => found,
        Err(verdict) => return *verdict,
    };
    let deadline_s = deadline.as_secs_f64();
    let due = anchor_t + deadline_s;
    let rel = |t: f64| t - observations.run_start;
    let base = |status: Status, summary: String| {
        rule_evidence(
            Verdict::new(check, status, summary)
                .with("anchor", &anchor_name)
                .with("anchor_at_seconds", rel(anchor_t))
                .with("deadline_seconds", deadline_s),
            context.rule,
            observations,
        )
    };
    // Every episode that began before the deadline must be over by it.
    let Some(last) = context
        .history
        .episodes
        .iter()
        .filter(|e| e.start() <= due)
        .max_by(|a, b| a.start().total_cmp(&b.start()))
    else {
        return base(
            Status::Inconclusive,
            format!("`{alert}` was never active, so there was nothing to resolve"),
        );
    };
    match last.resolved_at {
        Some(resolved) if resolved <= due => {
            let after = resolved - anchor_t;
            let summary = if after <= 0.0 {
                format!(
                    "`{alert}` had already resolved {} before {anchor_name}",
                    secs(-after)
                )
            } else {
                format!(
                    "`{alert}` resolved {} after {anchor_name} (deadline {})",
                    secs(after),
                    secs(deadline_s)
                )
            };
            base(Status::Pass, summary)
                .with("time_to_resolve_seconds", after.max(0.0))
                .with("resolved_at_seconds", rel(resolved))
        }
        Some(resolved) => base(
            Status::Fail,
            format!(
                "`{alert}` resolved {} after {anchor_name}, later than the deadline of {}",
                secs(resolved - anchor_t),
                secs(deadline_s)
            ),
        )
        .with("time_to_resolve_seconds", resolved - anchor_t)
        .with("resolved_at_seconds", rel(resolved)),
        None if observations.observed_until >= due => base(
            Status::Fail,
            format!(
                "`{alert}` was still active {} after {anchor_name}, past the deadline of {}",
                secs(observations.observed_until - anchor_t),
                secs(deadline_s)
            ),
        ),
        None => base(
            Status::Inconclusive,
            format!(
                "`{alert}` was still active when observation ended, before the {} deadline",
                secs(deadline_s)
            ),
        ),
    }
}

pub fn silent_during(
    check: &CheckPlan,
    alert: &str,
    phase: usize,
    allow_pending: bool,
    observations: &Observations,
) -> Verdict {
    let context = match context(check, alert, observations) {
        Ok(context) => context,
        Err(verdict) => return *verdict,
    };
    let Some(record) = observations.phases.get(phase) else {
        return Verdict::new(check, Status::Inconclusive, "the phase did not run".into());
    };
    let (from, to) = (record.started_at, record.ended_at);
    let rel = |t: f64| t - observations.run_start;
    let base = |status: Status, summary: String| {
        rule_evidence(
            Verdict::new(check, status, summary)
                .with("phase", &record.name)
                .with("phase_from_seconds", rel(from))
                .with("phase_to_seconds", rel(to))
                .with("allow_pending", allow_pending),
            context.rule,
            observations,
        )
    };
    for episode in &context.history.episodes {
        let end = episode.resolved_at.unwrap_or(observations.observed_until);
        if let Some(firing) = episode.firing_at {
            if firing <= to && end > from {
                let when = firing.max(from);
                return base(
                    Status::Fail,
                    format!(
                        "`{alert}` was firing during `{}` (from t={}{})",
                        record.name,
                        secs(rel(when)),
                        if firing < from {
                            ", already when the phase began"
                        } else {
                            ""
                        }
                    ),
                )
                .with("firing_at_seconds", rel(firing))
                .with("pending_at_seconds", episode.pending_at.map(rel))
                .with("labels", &episode.labels);
            }
        }
        if !allow_pending {
            if let Some(pending) = episode.pending_at {
                let pending_end = episode.firing_at.unwrap_or(end);
                if pending <= to && pending_end > from {
                    return base(
                        Status::Fail,
                        format!(
                            "`{alert}` went pending during `{}` at t={}: its condition held on this traffic \
                             (set `allow_pending: true` to accept conditions that `for` absorbs)",
                            record.name,
                            secs(rel(pending.max(from)))
                        ),
                    )
                    .with("pending_at_seconds", rel(pending))
                    .with("labels", &episode.labels);
                }
            }
        }
    }
    // Silence is only proof if Prometheus was evaluating the rule all along:
    // it answered every poll during the phase, and no evaluation is missing
    // (consecutive evaluations are one interval apart; a missed observation
    // of one is tolerated, two are not).
    if let Some((at, why)) = observations
        .watch
        .failures
        .iter()
        .find(|(t, _)| *t >= from && *t <= to)
    {
        return base(
            Status::Inconclusive,
            format!(
                "no alert was seen, but Prometheus did not answer at t={} during `{}` ({why}): silence is not proven",
                secs(rel(*at)),
                record.name
            ),
        );
    }
    let gap = observations
        .watch
        .largest_gap(&context.rule.group, from, to);
    let allowed = 2.0 * context.rule.interval_seconds + 1.0;
    if gap > allowed {
        return base(
            Status::Inconclusive,
            format!(
                "no alert was seen, but Prometheus's evaluations of group `{}` were not observed for {} of the phase (allowed {}): silence is not proven",
                context.rule.group,
                secs(gap),
                secs(allowed)
            ),
        )
        .with("largest_evaluation_gap_seconds", gap);
    }
    base(
        Status::Pass,
        format!(
            "`{alert}` was {} throughout `{}` ({} evaluated)",
            if allow_pending {
                "never firing"
            } else {
                "neither pending nor firing"
            },
            record.name,
            secs(to - from)
        ),
    )
    .with("largest_evaluation_gap_seconds", gap)
}
