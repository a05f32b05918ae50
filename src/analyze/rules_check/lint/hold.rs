//! `for/below-interval`: `for` shorter than the group's evaluation
//! interval. An alert fires at an evaluation, so it waits a whole interval
//! anyway; the rule should say what it does. A `for` under 10s is shorter
//! than every evaluation interval in common use: that finding rests on no
//! assumed interval.

use std::time::Duration;

use super::{Context, Found, Rule};
use crate::analyze::finding::LintId;
use crate::time::format_duration;

/// The shortest evaluation interval in common use.
const SHORTEST_COMMON: Duration = Duration::from_secs(10);

pub(super) fn lint(found: &mut Found, rule: &Rule, context: &Context) {
    let (hold, interval) = (rule.hold, context.group_interval);
    if hold.is_zero() || hold >= interval {
        return;
    }
    let everywhere = context.group_assumed.is_some() && hold < SHORTEST_COMMON;
    let (shorter_than, waits) = if everywhere {
        (
            format!(
                "every common evaluation interval (10s and above; {} assumed here)",
                format_duration(interval)
            ),
            "a whole interval".to_string(),
        )
    } else {
        (
            format!("the group's interval ({})", format_duration(interval)),
            format_duration(interval),
        )
    };
    let finding = found
        .finding(
            LintId::ForBelowInterval,
            format!(
                "`for: {}` is shorter than {shorter_than}: an alert fires at an evaluation, so it waits {waits} anyway",
                format_duration(hold),
            ),
            format!(
                "write `for: {}` (or 0) so the rule says what it does",
                format_duration(interval)
            ),
        )
        .assuming((!everywhere).then(|| context.group_assumed.clone()).flatten());
    found.push(finding);
}
