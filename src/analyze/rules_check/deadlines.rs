//! A scenario's `fires_within` deadlines held against the rules' timing:
//! each is met (the worst case is inside it), can be missed, or cannot be
//! met — with the arithmetic. Also: latency SLOs whose bound is not a
//! bucket boundary of the service's histogram.

use std::time::Duration;

use promql_parser::label::MatchOp;
use promql_parser::parser::Expr;
use serde::Serialize;

use super::alerts::{AlertAnalysis, Buckets};
use super::routing::label_sets;
use crate::analyze::condition::{
    constant, is_bucket_bound, Direction, Leaf, Shape, Signal, SignalKind, DEFAULT_BUCKETS,
};
use crate::analyze::finding::{LintFinding, LintId, Severity};
use crate::analyze::timing::{self, Bounds, Intervals, Knowledge, Step};
use crate::demo::{container, BACKEND_JOB, GATEWAY_JOB};
use crate::plan::{Anchor, CheckKind, DemoFaults, FaultPlan, Kubernetes, Plan, Source};
use crate::rules::alertmanager::AlertmanagerConfig;
use crate::rules::promql::{self, BinaryOp};
use crate::time::format_duration_secs;

/// What the timing model says of a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DeadlineOutcome {
    /// The worst case is within the deadline.
    #[serde(rename = "met")]
    Met,
    /// The best case is within it, the worst is not.
    #[serde(rename = "can be missed")]
    CanBeMissed,
    /// Even the best case is later (or the alert never fires).
    #[serde(rename = "cannot be met")]
    CannotBeMet,
    /// The model does not know the rule's shape or what the fault does to it.
    #[serde(rename = "unknown")]
    Unknown,
}

impl DeadlineOutcome {
    pub fn text(&self) -> &'static str {
        match self {
            DeadlineOutcome::Met => "met",
            DeadlineOutcome::CanBeMissed => "can be missed",
            DeadlineOutcome::CannotBeMet => "cannot be met",
            DeadlineOutcome::Unknown => "unknown",
        }
    }

    /// The finding's severity, for outcomes that are findings.
    fn severity(&self) -> Option<Severity> {
        match self {
            DeadlineOutcome::CannotBeMet => Some(Severity::Error),
            DeadlineOutcome::CanBeMissed => Some(Severity::Warning),
            DeadlineOutcome::Met | DeadlineOutcome::Unknown => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DeadlineCheck {
    pub check: String,
    pub alert: String,
    /// As written in the scenario (before time scaling).
    pub deadline_seconds: f64,
    pub anchor: String,
    pub step: Option<Step>,
    pub firing: Option<Bounds>,
    pub outcome: DeadlineOutcome,
    pub why: String,
}

/// The step a phase's fault makes in what an alert watches (its primary
/// leaves' kind decides).
fn step_for(fault: Option<&FaultPlan>, shape: &Shape, expr: &str) -> Option<Step> {
    let fault = fault?;
    let watches_job = |job: &str| selects_job(expr, job);
    let kinds: Vec<SignalKind> = shape.primaries().iter().map(|l| l.signal.kind()).collect();
    let has = |kind: SignalKind| kinds.contains(&kind);
    match fault {
        FaultPlan::Demo(f) if has(SignalKind::Ratio) => {
            if f.gateway_down {
                None // the gateway counts nothing while it is down
            } else if f.backend_down {
                Some(Step::ErrorShare(1.0))
            } else if f.backend_error_ratio > 0.0 {
                Some(Step::ErrorShare(f.backend_error_ratio))
            } else {
                None
            }
        }
        FaultPlan::Demo(f) if has(SignalKind::Quantile) => {
            let threshold = shape.primaries().iter().find_map(|l| {
                matches!(l.signal, Signal::Quantile { .. })
                    .then_some(l.threshold)
                    .flatten()
            })?;
            (f.backend_latency.as_secs_f64() > threshold).then_some(Step::SlowShare(1.0))
        }
        FaultPlan::Demo(f) if has(SignalKind::Up) || has(SignalKind::Absent) => {
            let down = (f.gateway_down && watches_job(GATEWAY_JOB))
                || (f.backend_down && watches_job(BACKEND_JOB));
            down.then_some(Step::ScrapeFails)
        }
        FaultPlan::Demo(f) if f.memory_hog > 0.0 || f.cpu_burn > 0.0 => shape
            .primaries()
            .iter()
            .find_map(|leaf| stress_step(f, leaf)),
        FaultPlan::Kubernetes(Kubernetes::Scale {
            deployment,
            replicas: 0,
            ..
        }) if (has(SignalKind::Up) || has(SignalKind::Absent)) && watches_job(deployment) => {
            Some(Step::TargetRemoved)
        }
        FaultPlan::Kubernetes(Kubernetes::Scale { replicas: 0, .. }) if has(SignalKind::Ratio) => {
            Some(Step::ErrorShare(1.0))
        }
        _ => None,
    }
}

/// What the demo's memory hog or CPU burn does to a leaf over its
/// container series: working set / limit crosses the threshold when the
/// hog's share is above it; CPU rate / quota steps to the burn's share,
/// that multiple of the threshold (from 0: the demo's own use before the
/// burn only makes it cross sooner).
fn stress_step(fault: &DemoFaults, leaf: &Leaf) -> Option<Step> {
    let reads = |a: &str, b: &str| leaf.metrics.contains(a) && leaf.metrics.contains(b);
    // A gauge scales the CPU's rate (quota / period): the number the
    // comparison is written with is the threshold on the ratio.
    let threshold = leaf.threshold.or_else(|| {
        let expr = promql_parser::parser::parse(&leaf.text).ok()?;
        match promql::unparen(&expr) {
            Expr::Binary(b) if BinaryOp::comparison(b.op).is_some() => constant(&b.rhs),
            _ => None,
        }
    })?;
    if threshold <= 0.0 || leaf.direction != Direction::Above {
        return None;
    }
    match leaf.signal {
        Signal::Gauge if reads(container::WORKING_SET, container::MEMORY_LIMIT) => {
            (fault.memory_hog > threshold).then_some(Step::Crosses)
        }
        Signal::Rate { .. } if reads(container::CPU_USAGE, container::CPU_QUOTA) => {
            // Three decimals: the model's text shows the multiple as is.
            let multiple = (fault.cpu_burn / threshold * 1000.0).round() / 1000.0;
            (fault.cpu_burn > threshold).then_some(Step::RateMultiple(multiple))
        }
        _ => None,
    }
}

/// Whether a selector of `expr` names `job` exactly (`job="api-gateway"`).
fn selects_job(expr: &str, job: &str) -> bool {
    let Ok(parsed) = promql_parser::parser::parse(expr) else {
        return false;
    };
    promql::selectors(&parsed).iter().any(|s| {
        s.matchers
            .matchers
            .iter()
            .any(|m| m.name == "job" && m.op == MatchOp::Equal && m.value == job)
    })
}

/// Every `fires_within` and `notifies_within` check of `plan`, against the
/// analysed alerts (and, for the page, the routing).
pub fn check(
    plan: &Plan,
    alerts: &[AlertAnalysis],
    intervals: &Intervals,
    routing: Option<&AlertmanagerConfig>,
) -> Vec<DeadlineCheck> {
    let mut found = Vec::new();
    for check in &plan.checks {
        let (alert, deadline, anchor, receiver) = match &check.kind {
            CheckKind::FiresWithin(c) => (&c.alert, &c.deadline, &c.anchor, None),
            CheckKind::NotifiesWithin(c) => (&c.alert, &c.deadline, &c.anchor, Some(&c.receiver)),
            _ => continue,
        };
        let deadline_seconds = deadline.as_secs_f64() * plan.time_scale;
        // A rule's own labels must not contradict the ones the check names.
        let named = |a: &&AlertAnalysis| {
            a.alert == alert.name
                && alert
                    .labels
                    .iter()
                    .all(|(k, v)| a.labels.get(k).is_none_or(|own| own == v))
        };
        let deadline_check = match alerts.iter().find(named) {
            Some(analysis) => {
                let judged = one(plan, anchor, analysis, intervals, deadline_seconds);
                match receiver {
                    Some(receiver) => page(judged, analysis, receiver, routing, deadline_seconds),
                    None => judged,
                }
            }
            None => Judged {
                anchor: String::new(),
                edge: false,
                step: None,
                firing: None,
                outcome: DeadlineOutcome::Unknown,
                why: format!("no rule named `{alert}` in the rules checked"),
            },
        };
        found.push(DeadlineCheck {
            check: check.id.clone(),
            alert: alert.to_string(),
            deadline_seconds,
            anchor: deadline_check.anchor,
            step: deadline_check.step,
            firing: deadline_check.firing,
            outcome: deadline_check.outcome,
            why: deadline_check.why,
        });
    }
    found
}

/// A notification deadline: the firing bounds plus the route's
/// `group_wait` (Alertmanager's first flush of a new group).
fn page(
    fired: Judged,
    analysis: &AlertAnalysis,
    receiver: &str,
    routing: Option<&AlertmanagerConfig>,
    deadline_seconds: f64,
) -> Judged {
    let Some(config) = routing else {
        return Judged {
            outcome: DeadlineOutcome::Unknown,
            why: "no Alertmanager configuration to route it with".into(),
            ..fired
        };
    };
    // Recording rules are not followed here (yet): the labels are the
    // expression's own, as before.
    let routes: Vec<_> = label_sets(analysis, config, &Default::default())
        .iter()
        .flat_map(|labels| config.route_for(labels))
        .collect();
    let Some(route) = routes.iter().find(|r| r.receiver == receiver) else {
        let elsewhere: Vec<String> = routes
            .iter()
            .map(|r| format!("`{}` via {}", r.receiver, r.path_text()))
            .collect();
        return Judged {
            firing: None,
            outcome: DeadlineOutcome::CannotBeMet,
            why: format!(
                "it is routed to {}, never to `{receiver}`",
                elsewhere.join(", ")
            ),
            ..fired
        };
    };
    let wait = route.group_wait.as_secs_f64();
    let firing = fired.firing.map(|b| b.plus(wait, wait));
    let outcome = match &firing {
        Some(b) => against(*b, deadline_seconds, fired.edge),
        None => fired.outcome,
    };
    let why = match &firing {
        Some(b) => format!(
            "notifies `{receiver}` {}–{} after {}: it {}; then {}'s group_wait {}{}",
            format_duration_secs(b.best_seconds),
            format_duration_secs(b.worst_seconds),
            fired.anchor,
            fired.why,
            route.path_text(),
            format_duration_secs(wait),
            unreached_best(*b, deadline_seconds, fired.edge, &fired.anchor)
        ),
        None => fired.why.clone(),
    };
    Judged {
        firing,
        outcome,
        why,
        ..fired
    }
}

/// A deadline judged: the parts of a `DeadlineCheck` that the timing gives.
struct Judged {
    anchor: String,
    /// The anchor is a phase's start or end (a fault begins or ends), not
    /// the moment the condition held: the best case is a limit, not reached.
    edge: bool,
    step: Option<Step>,
    firing: Option<Bounds>,
    outcome: DeadlineOutcome,
    why: String,
}

fn one(
    plan: &Plan,
    anchor: &Anchor,
    analysis: &AlertAnalysis,
    intervals: &Intervals,
    deadline_seconds: f64,
) -> Judged {
    let group_intervals = Intervals {
        scrape: Duration::from_secs_f64(analysis.scrape_interval_seconds),
        evaluation: Duration::from_secs_f64(analysis.group_interval_seconds),
        ..*intervals
    };
    let hold = Duration::from_secs_f64(analysis.for_seconds);
    let predicted = match anchor {
        Anchor::Condition { .. } => after_condition(hold, &group_intervals),
        Anchor::PhaseStart { phase } | Anchor::PhaseEnd { phase } => {
            let start = matches!(anchor, Anchor::PhaseStart { .. });
            after_phase(plan, *phase, start, analysis, hold, group_intervals)
        }
    };
    let Predicted {
        anchor: anchor_text,
        firing,
        step,
        why,
    } = predicted;
    let edge = !matches!(anchor, Anchor::Condition { .. });
    let outcome = match (&firing, step) {
        (Some(b), _) => against(*b, deadline_seconds, edge),
        (None, Some(_)) => DeadlineOutcome::CannotBeMet,
        (None, None) => DeadlineOutcome::Unknown,
    };
    let (outcome, why) = if outcome == DeadlineOutcome::Unknown {
        fault_independent(hold, &group_intervals, deadline_seconds, &anchor_text, why)
    } else {
        (outcome, why)
    };
    let arithmetic = match &firing {
        Some(b) => format!(
            "fires {}–{} after {anchor_text}; {why}{}",
            format_duration_secs(b.best_seconds),
            format_duration_secs(b.worst_seconds),
            unreached_best(*b, deadline_seconds, edge, &anchor_text)
        ),
        None if step.is_some() => format!("never fires after {anchor_text}: {why}"),
        None => why,
    };
    Judged {
        anchor: anchor_text,
        edge,
        step,
        firing,
        outcome,
        why: arithmetic,
    }
}

/// A deadline against the firing bounds. After a phase's edge the best case
/// is a limit the alert never reaches — the condition cannot hold at the
/// instant the fault starts (or ends): a scrape after it must first see it,
/// so pending ∈ (C_best, C_worst + E] — and a deadline at the best case
/// cannot be met. After the condition held, the best case is reached (the
/// next evaluation may come at that instant).
fn against(firing: Bounds, deadline_seconds: f64, edge: bool) -> DeadlineOutcome {
    let best = firing.best_seconds;
    if best > deadline_seconds + NOISE || (edge && best >= deadline_seconds - NOISE) {
        DeadlineOutcome::CannotBeMet
    } else if firing.worst_seconds <= deadline_seconds + NOISE {
        DeadlineOutcome::Met
    } else {
        DeadlineOutcome::CanBeMissed
    }
}

/// Seconds of float noise in sums of intervals (0.1 + 0.2).
const NOISE: f64 = 1e-9;

/// Why a deadline exactly at the best case cannot be met (empty otherwise).
fn unreached_best(firing: Bounds, deadline_seconds: f64, edge: bool, anchor: &str) -> String {
    if !edge || (firing.best_seconds - deadline_seconds).abs() > NOISE {
        return String::new();
    }
    format!(
        "; {} is a limit, never reached: the condition cannot hold at the instant of {anchor} (a scrape after it must first see the change), so it fires later than {} after {anchor}",
        format_duration_secs(firing.best_seconds),
        format_duration_secs(firing.best_seconds)
    )
}

/// What the timing model predicts after an anchor.
struct Predicted {
    anchor: String,
    firing: Option<Bounds>,
    step: Option<Step>,
    why: String,
}

/// After the condition held: the next evaluation, then `for`.
fn after_condition(hold: Duration, intervals: &Intervals) -> Predicted {
    let f = timing::rounded_up(hold, intervals.evaluation);
    let e = intervals.evaluation.as_secs_f64();
    Predicted {
        anchor: "its condition held".to_string(),
        firing: Some(Bounds::new(f, f + e)),
        step: None,
        why: format!(
            "the next evaluation comes within {} and `for` waits {}",
            format_duration_secs(e),
            format_duration_secs(f)
        ),
    }
}

/// After a phase starts (or ends): the step its fault makes in what the
/// alert watches, timed.
fn after_phase(
    plan: &Plan,
    phase: usize,
    start: bool,
    analysis: &AlertAnalysis,
    hold: Duration,
    intervals: Intervals,
) -> Predicted {
    let phase_plan = &plan.phases[phase];
    let anchor = format!(
        "{}.{}",
        phase_plan.name,
        if start { "start" } else { "end" }
    );
    let unknown = |why: &str| Predicted {
        anchor: anchor.clone(),
        firing: None,
        step: None,
        why: why.to_string(),
    };
    let Some(shape) = &analysis.shape else {
        return unknown("the timing model does not know this rule's shape");
    };
    let fault_unknown = "the timing model does not know what this phase's fault does to the rule";
    let Some(step) = step_for(phase_plan.fault.as_ref(), shape, &analysis.expr) else {
        return unknown(fault_unknown);
    };
    let knowledge = Knowledge {
        intervals,
        buckets: &|_| None,
    };
    match timing::time_to_fire(shape, step, hold, Duration::ZERO, &knowledge) {
        Some(t) => Predicted {
            anchor,
            firing: t.firing,
            step: Some(step),
            why: t.why,
        },
        None => unknown(fault_unknown),
    }
}

/// Whatever the fault does, `for` waits whole evaluations after the first
/// one that sees the condition, and that evaluation comes after the fault
/// starts (a scrape must first see the fault): a deadline up to ⌈for/E⌉·E
/// cannot be met — `for: 2m` and a 2m deadline included — and one shorter
/// than that plus an evaluation can be missed.
fn fault_independent(
    hold: Duration,
    intervals: &Intervals,
    deadline_seconds: f64,
    anchor_text: &str,
    why: String,
) -> (DeadlineOutcome, String) {
    let f = timing::rounded_up(hold, intervals.evaluation);
    let e = intervals.evaluation.as_secs_f64();
    let bound = format!(
        "whatever the fault does, the first evaluation that sees the condition comes within {} and `for` then waits {}",
        format_duration_secs(e),
        format_duration_secs(f)
    );
    if deadline_seconds <= f + NOISE {
        (
            DeadlineOutcome::CannotBeMet,
            format!(
                "{why}; but {bound}, and that evaluation comes after {anchor_text} (a scrape after it must first see the fault): it fires later than {} after {anchor_text}, never at {} or sooner",
                format_duration_secs(f),
                format_duration_secs(f)
            ),
        )
    } else if deadline_seconds < f + e {
        (
            DeadlineOutcome::CanBeMissed,
            format!(
                "{why}; but {bound}: even a condition that holds at once fires {}–{} after {anchor_text}",
                format_duration_secs(f),
                format_duration_secs(f + e)
            ),
        )
    } else {
        (DeadlineOutcome::Unknown, why)
    }
}

/// The deadlines that are findings: those that cannot be met (errors) or
/// can be missed (warnings).
pub fn findings(plan: &Plan, deadlines: &[DeadlineCheck]) -> Vec<LintFinding> {
    deadlines
        .iter()
        .filter_map(|deadline| {
            let severity = deadline.outcome.severity()?;
            Some(LintFinding::new(
                LintId::ScenarioDeadline,
                format!("{} ({})", deadline.check, deadline.alert),
                plan.file.display().to_string(),
                format!(
                    "the deadline {} {}: {}",
                    format_duration_secs(deadline.deadline_seconds),
                    deadline.outcome.text(),
                    deadline.why
                ),
                "lengthen the deadline to the worst case, or change the rule (window, `for`) so it fires sooner",
            ).with_severity(severity))
        })
        .collect()
}

/// Latency SLOs checked against Prometheus histograms at a bound that is
/// not a bucket boundary rest on interpolation.
pub fn slo_threshold_findings(plan: &Plan, buckets: &Buckets) -> Vec<LintFinding> {
    let histogram = &plan.service_metrics.duration_seconds;
    let (bounds, assumed) = match buckets.get(histogram).cloned().flatten() {
        Some(bounds) => (bounds, false),
        None => (DEFAULT_BUCKETS.to_vec(), true),
    };
    plan.checks
        .iter()
        .filter_map(|check| match &check.kind {
            CheckKind::Latency(latency) if latency.source == Source::Prometheus => {
                // A bound relative to a baseline only is no bucket question.
                let t = latency.below?.as_secs_f64();
                (!is_bucket_bound(&bounds, t)).then(|| LintFinding::new(
                    LintId::HistogramThresholdBetweenBuckets,
                    check.id.clone(),
                    plan.file.display().to_string(),
                    format!(
                        "the SLO bound {}ms is not a bucket boundary of {histogram}{}: its service-side check rests on interpolation",
                        t * 1000.0,
                        if assumed { " (assuming the default buckets)" } else { "" }
                    ),
                    "use a bucket boundary as the bound",
                ))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every(evaluation: u64) -> Intervals {
        Intervals {
            scrape: Duration::from_secs(15),
            evaluation: Duration::from_secs(evaluation),
            scrape_timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn a_deadline_equal_to_for_after_a_fault_cannot_be_met() {
        // Whatever the fault does: `for` of whole evaluations, and the first
        // evaluation that sees the fault comes after it starts.
        for (hold, evaluation) in [(120, 30), (60, 60), (45, 15)] {
            let d = hold as f64;
            let (outcome, why) = fault_independent(
                Duration::from_secs(hold),
                &every(evaluation),
                d,
                "errors.start",
                "opaque".into(),
            );
            assert_eq!(outcome, DeadlineOutcome::CannotBeMet, "{hold}s: {why}");
            assert!(
                why.contains(&format!("later than {}", format_duration_secs(d))),
                "{why}"
            );
            // Just over `for`: met only when an evaluation comes soon enough.
            let (outcome, _) = fault_independent(
                Duration::from_secs(hold),
                &every(evaluation),
                d + 1.0,
                "errors.start",
                "opaque".into(),
            );
            assert_eq!(outcome, DeadlineOutcome::CanBeMissed, "{hold}s");
        }
        // `for: 50s` every 30s waits 1m: a 1m deadline cannot be met either.
        let (outcome, _) = fault_independent(
            Duration::from_secs(50),
            &every(30),
            60.0,
            "a.start",
            String::new(),
        );
        assert_eq!(outcome, DeadlineOutcome::CannotBeMet);
    }

    #[test]
    fn the_best_case_after_a_phase_edge_is_a_limit_but_after_the_condition_it_is_reached() {
        let firing = Bounds::new(120.0, 165.0);
        assert_eq!(against(firing, 120.0, true), DeadlineOutcome::CannotBeMet);
        assert_eq!(against(firing, 120.0, false), DeadlineOutcome::CanBeMissed);
        assert_eq!(against(firing, 130.0, true), DeadlineOutcome::CanBeMissed);
        assert_eq!(against(firing, 165.0, true), DeadlineOutcome::Met);
        assert_eq!(against(firing, 119.0, false), DeadlineOutcome::CannotBeMet);
        let why = unreached_best(firing, 120.0, true, "errors.start");
        assert!(why.contains("later than 2m after errors.start"), "{why}");
        assert!(unreached_best(firing, 130.0, true, "errors.start").is_empty());
        assert!(unreached_best(firing, 120.0, false, "its condition held").is_empty());
    }
}
