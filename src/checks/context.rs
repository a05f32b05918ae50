//! What the kinds' judgements start from, or why they cannot be judged:
//! the alert's rule as Prometheus has it and its history (alert and
//! notification checks), when the anchor of a deadline came, a phase's
//! traffic and the service's figures (SLO checks).
//!
//! Times come from ALERTS samples (evaluation ticks); the deadline
//! arithmetic follows Prometheus's `for` semantics: an alert goes pending at
//! the first evaluation where its expression holds and fires at the first
//! evaluation at least `for` later, so no deadline shorter than `for` can
//! be met, and one shorter than `for` + an evaluation interval + a scrape
//! interval can be missed by a working rule.

use super::evidence::{Refusal, RuleFigures};
use super::judged::{Judging, Refused, Status, Unjudged};
use crate::record::{
    AlertHistory, AlertRuleInfo, Observations, PhaseRecord, PhaseStats, RuleHealth,
    ServiceObservation, ServiceWindows,
};
use crate::setup::{AlertRef, Anchor};

/// Everything an alert check needs before it can look at episodes.
pub struct AlertContext<'a> {
    pub rule: &'a AlertRuleInfo,
    pub history: &'a AlertHistory,
}

/// The alert's rule and history, or why the check cannot look at them: the
/// rule is not loaded or fails (a failure: the alert can never fire), the
/// history was not collected (inconclusive).
pub fn alert_context<'a>(
    alert: &AlertRef,
    observations: &'a Observations,
) -> Result<AlertContext<'a>, Refused> {
    let Some(rule) = observations.rules.get(&alert.name) else {
        return Err(Refused::new(
            Status::Fail,
            format!("alert `{alert}` is not loaded in Prometheus, so it can never fire"),
            Refusal {
                loaded_alerts: Some(observations.rules.keys().cloned().collect()),
                ..Refusal::default()
            },
        ));
    };
    if rule.health == RuleHealth::Err {
        return Err(Refused::new(
            Status::Fail,
            format!(
                "the rule for `{alert}` fails to evaluate: {}",
                rule.last_error.as_deref().unwrap_or("(no error text)")
            ),
            Refusal {
                query: Some(rule.query.clone()),
                ..Refusal::default()
            },
        ));
    }
    let Some(history) = observations.alerts.get(alert.as_str()) else {
        return Err(Unjudged::inconclusive(format!(
            "no alert history was collected for `{alert}`"
        ))
        .into());
    };
    if let Some(error) = &history.error {
        return Err(Unjudged::inconclusive(format!(
            "Prometheus could not say when `{alert}` was active: {}",
            error.message
        ))
        .into());
    }
    Ok(AlertContext { rule, history })
}

/// The rule's figures, as every alert verdict carries them.
pub fn rule_figures(rule: &AlertRuleInfo) -> RuleFigures {
    RuleFigures {
        rule_for_seconds: rule.for_seconds,
        evaluation_interval_seconds: rule.interval_seconds,
        rule_query: rule.query.clone(),
        rule_group: rule.group.clone(),
    }
}

/// When a deadline's anchor came, the tolerance its measurement allows,
/// and its name (`errors.start`).
#[derive(Debug, Clone, PartialEq)]
pub struct Anchored {
    pub at: f64,
    pub tolerance: f64,
    pub name: String,
}

/// The anchor's time, or why it never came.
pub fn anchor_time(anchor: &Anchor, judging: &Judging) -> Result<Anchored, Refused> {
    let observations = judging.observations;
    let edge = |phase: usize, end: bool| {
        observations.phases.get(phase).map(|p| Anchored {
            at: if end { p.ended_at } else { p.started_at },
            tolerance: 0.001,
            name: format!("{}.{}", p.name, if end { "end" } else { "start" }),
        })
    };
    let found = match anchor {
        Anchor::PhaseStart { phase } => edge(*phase, false),
        // A phase stopped by a signal ended when the signal came: that is
        // not the end the check counts from.
        Anchor::PhaseEnd { phase } => match observations.phases.get(*phase) {
            Some(record) if record.cut_short => {
                return Err(Unjudged::inconclusive(format!(
                    "`{}` was cut short by the interruption, so `{}.end` never came",
                    record.name, record.name
                ))
                .into())
            }
            _ => edge(*phase, true),
        },
        Anchor::Condition { phase, .. } => Some(condition_held(*phase, judging)?),
    };
    found.ok_or_else(|| {
        Unjudged::inconclusive("the phase this check counts from did not run").into()
    })
}

/// When the check's condition first held, from the start of `phase` on.
fn condition_held(phase: usize, judging: &Judging) -> Result<Anchored, Refused> {
    let observations = judging.observations;
    if observations.phases.get(phase).is_none() {
        return Err(Unjudged::inconclusive(
            "the phase in which the condition was expected did not run",
        )
        .into());
    }
    let Some(condition) = observations.conditions.get(judging.check_id) else {
        return Err(Unjudged::inconclusive(
            "the condition was not evaluated (the rule is not loaded, or the run stopped early)",
        )
        .into());
    };
    let shown = Refusal {
        condition: Some(condition.expr.clone()),
        ..Refusal::default()
    };
    if let Some(error) = &condition.error {
        return Err(Refused::new(
            Status::Inconclusive,
            format!(
                "Prometheus could not evaluate the condition: {}",
                error.message
            ),
            shown,
        ));
    }
    match condition.first_true {
        Some(at) => Ok(Anchored {
            at,
            tolerance: condition.step_seconds,
            name: "the condition first held".to_string(),
        }),
        None => Err(Refused::new(
            Status::Inconclusive,
            format!(
                "the condition never held from the start of `{}` to the end of the run: \
                 the drill did not create the situation this check is about",
                judging.phase_name(phase)
            ),
            shown,
        )),
    }
}

/// The phase's record, or that it did not run.
pub fn phase_record(phase: usize, observations: &Observations) -> Result<&PhaseRecord, Unjudged> {
    observations
        .phases
        .get(phase)
        .ok_or_else(|| Unjudged::inconclusive("the phase did not run"))
}

/// The phase's name and client-side traffic, or why it has none.
pub fn phase_stats(
    phase: usize,
    observations: &Observations,
) -> Result<(&str, &PhaseStats), Unjudged> {
    let record = phase_record(phase, observations)?;
    if let Some(error) = &record.load_error {
        return Err(Unjudged::inconclusive(format!(
            "the phase's traffic could not be sent: {error}"
        )));
    }
    match &record.stats {
        Some(stats) => Ok((&record.name, stats)),
        None => Err(Unjudged::inconclusive("the phase sent no traffic")),
    }
}

/// What the service reported for this check, and its value; or why there
/// is none (with the query asked, when there was one).
pub fn service_value<'a>(
    judging: &Judging<'a>,
    nothing_seen: impl FnOnce() -> String,
) -> Result<(&'a ServiceObservation, f64), Refused> {
    let Some(observation) = judging.observations.service.get(judging.check_id) else {
        return Err(Unjudged::inconclusive("Prometheus was not asked").into());
    };
    let asked = Refusal {
        query: Some(observation.query.clone()),
        ..Refusal::default()
    };
    if let Some(error) = &observation.error {
        return Err(Refused::new(
            Status::Inconclusive,
            format!("Prometheus could not answer: {}", error.message),
            asked,
        ));
    }
    match observation.value {
        Some(value) => Ok((observation, value)),
        None => Err(Refused::new(Status::Inconclusive, nothing_seen(), asked)),
    }
}

/// The windows Prometheus answered for a windowed service-side SLO, or why
/// there are none (with the query, when one was asked).
pub fn service_windows_of<'a>(judging: &Judging<'a>) -> Result<&'a ServiceWindows, Refused> {
    let Some(observed) = judging.observations.service_windows.get(judging.check_id) else {
        return Err(Unjudged::inconclusive("Prometheus was not asked for the windows").into());
    };
    if let Some(error) = &observed.error {
        return Err(Refused::new(
            Status::Inconclusive,
            format!("no windows from Prometheus: {}", error.message),
            Refusal {
                query: Some(observed.query.clone()),
                ..Refusal::default()
            },
        ));
    }
    Ok(observed)
}
