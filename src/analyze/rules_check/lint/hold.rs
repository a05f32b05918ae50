//! `for/below-interval`: `for` shorter than the group's evaluation
//! interval. An alert fires at an evaluation, so it waits a whole interval
//! anyway; the rule should say what it does.

use super::{Context, Found, Rule};
use crate::analyze::finding::LintId;
use crate::time::format_duration;

pub(super) fn lint(found: &mut Found, rule: &Rule, context: &Context) {
    let (hold, interval) = (rule.hold, context.group_interval);
    if hold.is_zero() || hold >= interval {
        return;
    }
    let finding = found
        .finding(
            LintId::ForBelowInterval,
            format!(
                "`for: {}` is shorter than the group's interval ({}): an alert fires at an evaluation, so it waits {} anyway",
                format_duration(hold),
                format_duration(interval),
                format_duration(interval)
            ),
            format!(
                "write `for: {}` (or 0) so the rule says what it does",
                format_duration(interval)
            ),
        )
        .assuming(context.group_assumed.clone());
    found.push(finding);
}
