//! What a sweep makes of the answers: an alert's row per fault (promtool's
//! answers over the alignments, or the model's arithmetic alone), the
//! budget spent by the time it fired, precision and recall with a finding
//! per miss and false alarm, and a note wherever promtool and the timing
//! model disagree.

use super::cases::{Case, FaultShape};
use super::results::{percent, Computed, Row, ShareBounds};
use super::search::{Outcome, Track};
use super::slo::{Scores, Significance};
use super::target::Target;
use super::SweepOptions;
use crate::analyze::finding::{LintFinding, LintId};
use crate::analyze::timing::Bounds;
use crate::time::format_duration_secs;

/// An alert's row for one fault: promtool's answers over the alignments,
/// or the model's alone.
pub fn row(target: &Target, case: &Case, tracks: &[&Track], options: &SweepOptions) -> Row {
    let model = (case.shape == FaultShape::Step)
        .then(|| target.model(case.error_ratio))
        .flatten();
    let outcomes: Vec<Outcome> = tracks
        .iter()
        .filter(|t| t.case == *case)
        .map(|t| t.outcome(target.hold, target.keep))
        .collect();
    let probed = !options.model_only && !outcomes.is_empty();
    let computed_by = match (probed, options.thorough, model.is_some()) {
        (true, true, _) => Computed::EveryEvaluation,
        (true, false, _) => Computed::Search,
        (false, _, true) => Computed::Model,
        (false, _, false) => Computed::Nothing,
    };
    let mut row = Row {
        case: *case,
        computed_by,
        pending: None,
        firing: None,
        resolved_after_end: None,
        phases_firing: 0,
        phases: outcomes.len(),
        episodes: 0,
        before_the_fault: false,
        budget_at_firing: None,
        fault_budget: None,
        significance: None,
        model,
    };
    if !probed {
        if let Some(m) = model {
            row.pending = m.pending;
            row.firing = m.firing;
        }
    } else {
        answered(
            &mut row,
            &outcomes,
            case,
            target.sweep.recording_delay_seconds,
        );
    }
    budget(&mut row, target, case, options);
    row
}

/// promtool's answers over the alignments; worst cases later by `lag`
/// (recording rules of other groups, read late).
fn answered(row: &mut Row, outcomes: &[Outcome], case: &Case, lag: f64) {
    let later = |b: Option<Bounds>| b.map(|b| b.plus(0.0, lag));
    row.pending = later(Bounds::over(outcomes.iter().filter_map(|o| o.pending)));
    row.firing = later(Bounds::over(outcomes.iter().filter_map(|o| o.firing)));
    row.phases_firing = outcomes.iter().filter(|o| o.firing.is_some()).count();
    row.episodes = outcomes.iter().map(|o| o.episodes).max().unwrap_or(0);
    row.before_the_fault = outcomes.iter().any(|o| o.pending.is_some_and(|p| p < 0.0));
    if let Some(end) = case.shape.end() {
        row.resolved_after_end = later(Bounds::over(
            outcomes
                .iter()
                .filter(|o| o.firing.is_some())
                .filter_map(|o| o.resolved.map(|r| r - end)),
        ));
    }
}

/// The budget spent by the time it fired and by the whole fault, and
/// whether the fault must fire the alert.
fn budget(row: &mut Row, target: &Target, case: &Case, options: &SweepOptions) {
    let Some(slo) = &target.sweep.slo else {
        return;
    };
    row.budget_at_firing = row.firing.map(|f| ShareBounds {
        best_share: slo.budget_spent(case.error_ratio, f.best_seconds.max(0.0)),
        worst_share: slo.budget_spent(case.error_ratio, f.worst_seconds.max(0.0)),
    });
    let duration = case.shape.end().unwrap_or(target.sweep.horizon_seconds);
    let spent = slo.budget_spent(case.error_ratio, duration);
    row.fault_budget = Some(spent);
    row.significance = Some(if spent >= options.page_share {
        Significance::Significant
    } else if spent < options.false_alarm_share {
        Significance::Minor
    } else {
        Significance::Neither
    });
}

fn finding(target: &Target, id: LintId, reason: String, fix: &str) -> LintFinding {
    LintFinding::new(id, target.sweep.name(), target.origin, reason, fix)
}

/// Precision and recall, and a finding per miss and false alarm.
pub fn score(target: &mut Target, options: &SweepOptions, findings: &mut Vec<LintFinding>) {
    if target.sweep.rows.iter().any(|r| r.before_the_fault) {
        findings.push(finding(
            target,
            LintId::SweepFiresOnHealthyTraffic,
            "it is pending or firing before any fault, on traffic without errors".into(),
            "check the condition on healthy traffic (a ratio that is 1 whenever the series exist?)",
        ));
    }
    if target.sweep.slo.is_none() || options.model_only {
        return;
    }
    let mut scores = Scores::default();
    for row in &target.sweep.rows {
        let fired_somewhere = row.phases_firing > 0;
        let fired_everywhere = row.phases > 0 && row.phases_firing == row.phases;
        if fired_somewhere {
            scores.fired += 1;
        }
        match row.significance {
            Some(Significance::Significant) if fired_everywhere => scores.detected += 1,
            Some(Significance::Significant) => {
                scores.missed += 1;
                findings.push(missed(target, row, fired_somewhere));
            }
            Some(Significance::Minor) if fired_somewhere => {
                scores.false_alarms += 1;
                findings.push(false_alarm(target, row));
            }
            _ => {}
        }
    }
    target.sweep.scores = Some(scores.finish());
}

fn missed(target: &Target, row: &Row, fired_somewhere: bool) -> LintFinding {
    finding(
        target,
        LintId::SweepMissed,
        format!(
            "{} to {} errors spends {} of the error budget{} and it {}",
            case_text(&row.case),
            percent(row.case.error_ratio),
            percent(row.fault_budget.unwrap_or(0.0)),
            if row.case.shape == FaultShape::Step {
                format!(
                    " within {}",
                    format_duration_secs(target.sweep.horizon_seconds)
                )
            } else {
                String::new()
            },
            if fired_somewhere {
                "fires at some phases of scrapes and evaluations only"
            } else {
                "never fires"
            }
        ),
        "lower the burn-rate threshold or add a window pair that covers this burn (the Workbook's 6× over 6h, 3× over 1d)",
    )
}

fn false_alarm(target: &Target, row: &Row) -> LintFinding {
    finding(
        target,
        LintId::SweepFalseAlarm,
        format!(
            "it fires on {} to {} errors, which spends only {} of the error budget",
            case_text(&row.case),
            percent(row.case.error_ratio),
            percent(row.fault_budget.unwrap_or(0.0))
        ),
        "require a longer window (or `and` it with one) so short faults cannot fire it",
    )
}

fn case_text(case: &Case) -> String {
    match case.shape {
        FaultShape::Step => "a step".into(),
        FaultShape::Burst(d) => format!("a {} burst", format_duration_secs(d)),
    }
}

/// Where promtool and the model disagree by more than an evaluation and a
/// scrape: a bug in one of them, said plainly.
pub fn cross_check(target: &Target, notes: &mut Vec<String>) {
    let slack = target.intervals.evaluation.as_secs_f64() + target.intervals.scrape.as_secs_f64();
    for row in &target.sweep.rows {
        let (Some(model), true) = (row.model, row.phases > 0) else {
            continue;
        };
        let disagree = match (model.firing, row.firing) {
            (None, None) => false,
            (Some(m), Some(p)) => {
                p.best_seconds < m.best_seconds - slack - 1e-6
                    || p.worst_seconds > m.worst_seconds + slack + 1e-6
            }
            (Some(_), None) | (None, Some(_)) => true,
        };
        if disagree {
            notes.push(format!(
                "{}: at {} errors promtool and the timing model disagree (promtool {}, model {}) — a bug in firedrill's model; please report it",
                target.sweep.name(),
                percent(row.case.error_ratio),
                Bounds::text(row.firing),
                Bounds::text(model.firing)
            ));
        }
    }
}
