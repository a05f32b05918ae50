//! `range/too-short`: a range window with too few samples for the function
//! reading it, judged per function (`windows`): rate() and friends need two
//! samples and return nothing with fewer, changes() and resets() need two
//! and return 0, the `*_over_time` functions need one. A subquery's range
//! is judged against its step (Prometheus's evaluation interval when it
//! gives none), a selector's against the scrape interval.
//!
//! When nobody gave the scrape interval, the finding says at which
//! intervals the window falls to each level (never, some phases, one or two
//! missed scrapes); if it is too short even at 10s — the shortest scrape
//! interval in common use — it holds at every common interval, rests on no
//! assumption, and counts.

use std::time::Duration;

use promql_parser::parser::Expr;

use super::{Context, Found, Rule};
use crate::analyze::condition::{holding, interval_above_which, sample_count, Function, Holding};
use crate::analyze::finding::{LintId, Severity};
use crate::rules::promql;
use crate::time::format_duration;

pub(super) fn lint(found: &mut Found, rule: &Rule, context: &Context) {
    promql::walk(rule.expr, &mut |node| {
        let Expr::Call(call) = node else {
            return;
        };
        let Some(function) = Function::from_name(call.func.name) else {
            return;
        };
        for arg in &call.args.args {
            let (window, every, what, assumed) = match promql::unparen(arg) {
                Expr::MatrixSelector(m) => (
                    m.range,
                    context.scrape_interval,
                    "scrape",
                    context.scrape_assumed.clone(),
                ),
                Expr::Subquery(s) => (
                    s.range,
                    s.step.unwrap_or(context.evaluation_interval),
                    "subquery step",
                    None,
                ),
                _ => continue,
            };
            judge(found, function, window, every, what, assumed);
        }
    });
}

/// The shortest scrape interval in common use: a window too short at it is
/// too short at every common interval, whatever the real one is.
const SHORTEST_COMMON: Duration = Duration::from_secs(10);

fn judge(
    found: &mut Found,
    function: Function,
    window: Duration,
    every: Duration,
    what: &str,
    assumed: Option<String>,
) {
    let needed = function.samples_needed();
    let level = holding(needed, window, every);
    if level == Holding::Enough {
        return;
    }
    let at_shortest = holding(needed, window, SHORTEST_COMMON);
    if assumed.is_some() && at_shortest != Holding::Enough && every >= SHORTEST_COMMON {
        // Too short at 10s and above: no assumption needed; judged at its
        // mildest (the shortest interval), which holds at every longer one.
        let finding = found
            .finding(
                LintId::RangeTooShort,
                format!(
                    "the {} window of {function}() is too short at every common scrape interval (10s and above): {}",
                    format_duration(window),
                    levels_by_interval(function, window, at_shortest)
                ),
                fix(function, window.max(SHORTEST_COMMON * (needed as u32 + 2)), what, needed),
            )
            .with_severity(severity(at_shortest));
        found.push(finding);
        return;
    }
    let outcome = if function.returns_zero_when_short() {
        "it returns 0 whatever the series does"
    } else {
        "it returns nothing"
    };
    let samples = if needed == 1 {
        "a sample"
    } else {
        "two samples"
    };
    let (fewest, _) = sample_count(window, every);
    let consequence = match level {
        Holding::Never => format!("{function}() needs two and {outcome}, so this part can never hold"),
        Holding::SomePhases => format!("it holds {samples} only at some phases of evaluations against {what}s (fixed once Prometheus starts): at the others {outcome} and the alert may never fire"),
        Holding::OneMissed => format!("one missed {what} leaves fewer than {function}() needs: {outcome} for that evaluation and `for` starts over"),
        _ => format!("two missed {what}s in a row leave fewer than {function}() needs: {outcome} for those evaluations and `for` starts over"),
    };
    let minimum = every * (needed as u32 + 2);
    let reason = match &assumed {
        // Nobody said the interval: say where the window stops being
        // enough, and what it does at each interval.
        Some(_) => format!(
            "at a {what} interval above {}, the {} window of {function}() is too short: {}",
            format_duration(interval_above_which(mildest_defect(needed), needed, window)),
            format_duration(window),
            levels_by_interval(function, window, mildest_defect(needed))
        ),
        None => format!(
            "the {} window of {function}() holds {} at a {what} every {}: {consequence}",
            format_duration(window),
            match (level, fewest) {
                (Holding::Never, _) => "at most one sample".to_string(),
                (Holding::SomePhases, n) => format!("{n} or {} samples", n + 1),
                (_, 1) => "one sample".to_string(),
                (_, n) => format!("{n} samples"),
            },
            format_duration(every)
        ),
    };
    let finding = found
        .finding(
            LintId::RangeTooShort,
            reason,
            fix(function, minimum, what, needed),
        )
        .with_severity(severity(level))
        .assuming(assumed);
    found.push(finding);
}

fn fix(_function: Function, minimum: Duration, what: &str, needed: usize) -> String {
    format!(
        "use a window of at least {} ({} {what} intervals)",
        format_duration(minimum),
        needed + 2
    )
}

/// The mildest level that is a defect: two missed scrapes for a function
/// needing two samples, one for a function needing one.
fn mildest_defect(needed: usize) -> Holding {
    if needed >= 2 {
        Holding::TwoMissed
    } else {
        Holding::OneMissed
    }
}

/// Too few at some evaluations: an error; too few after missed scrapes: a warning.
fn severity(level: Holding) -> Severity {
    if level <= Holding::SomePhases {
        Severity::Error
    } else {
        Severity::Warning
    }
}

/// What a window of `w` does for `function` at each scrape interval, from
/// the mildest level shown (`mildest`) to the worst: `above 15s two missed
/// in a row leave too few; …; at 1m or more at most one sample (…)`.
fn levels_by_interval(function: Function, w: Duration, mildest: Holding) -> String {
    let needed = function.samples_needed();
    let outcome = if function.returns_zero_when_short() {
        "returns 0 whatever the series does"
    } else {
        "returns nothing"
    };
    let samples = if needed == 1 {
        "a sample"
    } else {
        "two samples"
    };
    let mut levels = Vec::new();
    if needed >= 2 {
        levels.push((
            Holding::TwoMissed,
            "two missed scrapes in a row leave too few".to_string(),
        ));
    }
    levels.push((
        Holding::OneMissed,
        "one missed scrape leaves too few".to_string(),
    ));
    levels.push((
        Holding::SomePhases,
        format!("it holds {samples} only at some phases of evaluations against scrapes"),
    ));
    let mut parts: Vec<String> = levels
        .into_iter()
        .filter(|(level, _)| *level <= mildest)
        .map(|(level, text)| {
            format!(
                "above {} {text}",
                format_duration(interval_above_which(level, needed, w))
            )
        })
        .collect();
    if needed >= 2 {
        // ⌈W/S⌉ ≤ n − 1 at every phase ⇔ S ≥ W/(n − 1).
        parts.push(format!(
            "at {} or more it holds at most one sample at every evaluation ({function}() {outcome})",
            format_duration(w / (needed as u32 - 1))
        ));
    }
    parts.join("; ")
}
