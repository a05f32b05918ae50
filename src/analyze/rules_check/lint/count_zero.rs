//! `count/never-zero`: `count(x) == 0` (or `< 1`, `<= 0`) never holds:
//! aggregating no series returns nothing, not 0, so the alert is silent
//! exactly when nothing is left to count — or, in the guard of an
//! `unless`, the guard never silences the alert.

use promql_parser::parser::Expr;

use super::{walk_marking_guards, Context, Found, Rule};
use crate::analyze::condition::{constant, count_never_matches};
use crate::analyze::finding::LintId;
use crate::rules::promql::BinaryOp;

pub(super) fn lint(found: &mut Found, rule: &Rule, _: &Context) {
    walk_marking_guards(rule.expr, false, &mut |node, in_guard| {
        let Expr::Binary(b) = node else {
            return;
        };
        let Some(op) = BinaryOp::comparison(b.op) else {
            return;
        };
        let Some(threshold) = constant(&b.rhs) else {
            return;
        };
        let value = &*b.lhs;
        if count_never_matches(value, op, threshold) {
            let consequence = if in_guard {
                "so this `unless` guard never silences the alert, even when nothing is left to count"
            } else {
                "so this is silent exactly when nothing is left to count"
            };
            found.add(
                LintId::CountNeverZero,
                format!("`{b}` never holds: count() over no series returns nothing, not 0, {consequence}"),
                format!("compare with a default: `({value} or vector(0)) {op} {threshold}`, or alert on absent(…) of what is counted"),
            );
        }
    });
}
