//! `count/never-zero`: `count(x) == 0` (or `< 1`, `<= 0`) never holds:
//! aggregating no series returns nothing, not 0, so the alert is silent
//! exactly when nothing is left to count.

use promql_parser::parser::Expr;

use super::{Context, Found, Rule};
use crate::analyze::condition::{constant, count_never_matches};
use crate::analyze::finding::LintId;
use crate::rules::promql::{self, BinaryOp};

pub(super) fn lint(found: &mut Found, rule: &Rule, _: &Context) {
    promql::walk(rule.expr, &mut |node| {
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
            found.add(
                LintId::CountNeverZero,
                format!("`{b}` never holds: count() over no series returns nothing, not 0, so this is silent exactly when nothing is left to count"),
                format!("compare with a default: `({value} or vector(0)) {op} {threshold}`, or alert on absent(…) of what is counted"),
            );
        }
    });
}
