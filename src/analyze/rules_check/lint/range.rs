//! `range/too-short`: a range window with too few samples for the function
//! reading it, judged per function (`windows`): rate() and friends need two
//! samples and return nothing with fewer, changes() and resets() need two
//! and return 0, the `*_over_time` functions need one. A subquery's range
//! is judged against its step (Prometheus's evaluation interval when it
//! gives none), a selector's against the scrape interval.

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
    let severity = if level <= Holding::SomePhases {
        Severity::Error
    } else {
        Severity::Warning
    };
    let minimum = every * (needed as u32 + 2);
    let reason = match &assumed {
        // Nobody said the interval: say where the window stops being enough.
        Some(_) => format!(
            "at a {what} interval above {}, the {} window of {function}() is too short: {consequence}",
            format_duration(interval_above_which(level, needed, window)),
            format_duration(window)
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
    let fix = format!(
        "use a window of at least {} ({} {what} intervals)",
        format_duration(minimum),
        needed + 2
    );
    let finding = found
        .finding(LintId::RangeTooShort, reason, fix)
        .with_severity(severity)
        .assuming(assumed);
    found.push(finding);
}
