//! `up/eq-zero`: `up == 0` (or `< 1`, or an aggregation of `up` compared
//! so) is silent when the target disappears: service discovery drops it
//! (a deleted pod, a removed node), and its `up` goes stale instead of
//! becoming 0. Not for targets the Prometheus config lists in
//! `static_configs` (nothing drops them), and not for a comparison inside
//! an `unless` guard (it stops the alert; it is not what makes it fire).
//! Quiet when an alert in the files given (this one or a sibling) asks
//! `absent()` of the same targets. The fix keeps the rule's meaning for
//! aggregated forms.

use promql_parser::label::MatchOp;
use promql_parser::parser::{Expr, VectorSelector};

use super::{walk_marking_guards, Context, Found, Rule};
use crate::analyze::condition::constant;
use crate::analyze::finding::LintId;
use crate::analyze::rules_check::inputs::TargetSource;
use crate::rules::promql::{metric_name, unparen, Aggregation, BinaryOp, Comparison};

pub(super) fn lint(found: &mut Found, rule: &Rule, context: &Context) {
    walk_marking_guards(rule.expr, false, &mut |node, in_guard| {
        if in_guard {
            return;
        }
        let Expr::Binary(b) = node else {
            return;
        };
        let Some(threshold) = constant(&b.rhs) else {
            return;
        };
        let none_up = match BinaryOp::comparison(b.op) {
            Some(Comparison::Equal) => threshold == 0.0,
            Some(Comparison::Less) => threshold == 1.0,
            _ => false,
        };
        if !none_up {
            return;
        }
        let Some(selector) = up_through_aggregation(&b.lhs) else {
            return;
        };
        if (context.absence_covered)(selector) {
            return;
        }
        let how = match (context.targets)(selector) {
            TargetSource::Static => return,
            TargetSource::Discovered(drops) => format!(
                "when {}, its `up` goes stale instead of becoming 0",
                drops.join(" or ")
            ),
            TargetSource::Unknown => "when service discovery drops a target (a deleted pod, a removed node or instance), its `up` goes stale instead of becoming 0 (targets listed in static_configs are never dropped: for them this rule is right)".to_string(),
        };
        let has_job = selector
            .matchers
            .matchers
            .iter()
            .any(|m| m.name == "job" && m.op == MatchOp::Equal);
        let fix = if !has_job {
            // absent() cannot say which job is gone.
            format!("add one alert per job that must be there: absent(up{{job=\"…\"}} == 1) (absent() has no `by`); `{b}` stays for targets that are there and down")
        } else {
            format!("add an alert on absent({selector} == 1), which also fires when the targets are gone (or use it instead)")
        };
        found.add(
            LintId::UpEqZero,
            format!("`{b}` is silent when the targets disappear: {how}"),
            fix,
        );
    });
}

/// The `up` selector `expr` reads, plainly or through sum/min/max/avg.
fn up_through_aggregation(expr: &Expr) -> Option<&VectorSelector> {
    match unparen(expr) {
        Expr::VectorSelector(v) if metric_name(v).as_deref() == Some("up") => Some(v),
        Expr::Aggregate(a)
            if matches!(
                Aggregation::of(a.op),
                Some(Aggregation::Sum | Aggregation::Min | Aggregation::Max | Aggregation::Avg)
            ) =>
        {
            up_through_aggregation(&a.expr)
        }
        _ => None,
    }
}

/// Whether `absent_selector` (asked of `absent()` somewhere) covers the
/// targets `up_selector` watches: each of its matchers is one of `up`'s.
pub fn absence_covers(absent_selector: &VectorSelector, up_selector: &VectorSelector) -> bool {
    if metric_name(absent_selector).as_deref() != Some("up") {
        return false;
    }
    let wanted = &up_selector.matchers.matchers;
    absent_selector
        .matchers
        .matchers
        .iter()
        .filter(|m| m.name != "__name__")
        .all(|m| wanted.contains(m))
}
