//! `histogram/le-dropped`: `histogram_quantile` over an aggregation of a
//! classic histogram's buckets that drops `le`: the result is always
//! empty, the alert can never fire. A native histogram has no `le`.

use super::{Context, Found, Rule};
use crate::analyze::condition::quantile_call;
use crate::analyze::finding::LintId;
use crate::rules::promql::{self, output_labels};

pub(super) fn lint(found: &mut Found, rule: &Rule, _: &Context) {
    promql::walk(rule.expr, &mut |node| {
        let Some((_, histogram, argument)) = quantile_call(node) else {
            return;
        };
        let classic = promql::single_selector(argument)
            .and_then(promql::metric_name)
            .is_some_and(|n| n.ends_with("_bucket"));
        if classic && !output_labels(argument).keeps("le") {
            found.add(
                LintId::HistogramLeDropped,
                format!("histogram_quantile over an aggregation of {histogram}_bucket that drops `le`: the result is always empty, so this can never fire"),
                "keep `le` in the aggregation: sum by (le) (…) or sum by (job, le) (…)".into(),
            );
        }
    });
}
