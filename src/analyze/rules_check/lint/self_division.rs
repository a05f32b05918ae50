//! `ratio/self-division`: a ratio of one metric to itself where a matcher
//! narrows a label that neither side aggregates away: each series is
//! divided by itself, and the ratio is 1 whenever the numerator has any
//! data (the seed's error-rate rule).

use promql_parser::parser::Expr;

use super::{Context, Found, Rule};
use crate::analyze::condition::self_division;
use crate::analyze::finding::LintId;
use crate::rules::promql;

pub(super) fn lint(found: &mut Found, rule: &Rule, _: &Context) {
    promql::walk(rule.expr, &mut |node| {
        let Expr::Binary(b) = node else {
            return;
        };
        if let Some(label) = self_division(b) {
            found.add(
                LintId::RatioSelfDivision,
                format!(
                    "`{b}` keeps the `{label}` label on both sides, so each series is divided by itself: the ratio is 1 whenever the numerator has any data, whatever the real share"
                ),
                format!("aggregate both sides first, e.g. sum by (job) (…) / sum by (job) (…), so `{label}` is summed away"),
            );
        }
    });
}
