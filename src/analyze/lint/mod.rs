//! The lints promtool does not do: mistakes in what a rule means, found in
//! its syntax tree. Each has an id, a one-line reason and a suggested fix.
//!
//! - `ratio/self-division`: a ratio of one metric to itself where a matcher
//!   narrows a label that neither side aggregates away: each series is
//!   divided by itself, the ratio is 1 (the seed's error-rate rule).
//! - `histogram/le-dropped`: `histogram_quantile` over an aggregation of a
//!   classic histogram's buckets that drops `le`: the result is always
//!   empty, the alert can never fire.
//! - `histogram/threshold-between-buckets`, `histogram/threshold-beyond-buckets`
//!   (`histogram`): a latency threshold against the histogram's buckets.
//! - `range/too-short` (`range`): a range window with too few samples for
//!   its function.
//! - `up/eq-zero` (`up`): `up == 0` is silent when service discovery drops
//!   the target (its `up` goes stale, never 0).
//! - `count/never-zero`: `count(…) == 0` (or `< 1`) never holds: count()
//!   over nothing returns nothing, not 0.
//! - `for/below-interval`: `for` shorter than the group's interval.
//!
//! A finding that rests only on an assumption (a scrape interval nobody
//! gave, buckets nobody read) says so in `assumption`; it is shown but does
//! not fail the command unless `--strict`.

pub mod histogram;
mod range;
pub mod up;

use std::time::Duration;

use promql_parser::parser::{Expr, VectorSelector};
use serde::Serialize;

use super::condition::{self, constant, Shape};
use crate::rules::promql::{self, output_labels};
use crate::time::format_duration as fmt;

pub use histogram::{is_bucket_bound, quantile_call, KnownBuckets, DEFAULT_BUCKETS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Shown, never counted (e.g. a selector with no series *yet*).
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub severity: Severity,
    /// The alert (or panel, or check) it is about.
    pub subject: String,
    /// Where it was read.
    pub origin: String,
    pub reason: String,
    pub fix: String,
    /// What it rests on that nobody said (None: only on what was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assumption: Option<String>,
}

/// What a lint needs besides the rule.
pub struct Context<'a> {
    /// The scrape interval of what the alert reads.
    pub scrape_interval: Duration,
    /// Set when nobody said the scrape interval: what is assumed.
    pub scrape_assumed: Option<String>,
    pub group_interval: Duration,
    /// Set when nobody said the group's interval.
    pub group_assumed: Option<String>,
    /// Prometheus's evaluation interval: a subquery's default step.
    pub evaluation_interval: Duration,
    /// Bucket boundaries of a histogram (`name` without `_bucket`), when known.
    pub buckets: &'a dyn Fn(&str) -> Option<KnownBuckets>,
    /// Whether some alert (this one or another) fires when the targets of
    /// this `up` selector are gone.
    pub absence_covered: &'a dyn Fn(&VectorSelector) -> bool,
}

/// Lints one alerting rule; `shape` is its condition as the timing model
/// reads it (None when it does not).
pub fn lint_alert(
    name: &str,
    origin: &str,
    expr: &Expr,
    shape: Option<&Shape>,
    hold: Duration,
    context: &Context,
) -> Vec<Finding> {
    let mut found = Found {
        subject: name,
        origin,
        findings: Vec::new(),
    };
    lint_structure(&mut found, expr);
    if let Some(shape) = shape {
        histogram::lint_thresholds(&mut found, shape, context);
    }
    up::lint_up_eq_zero(&mut found, expr, context);
    range::lint_windows(&mut found, expr, context);
    lint_hold(&mut found, hold, context);
    found.findings
}

/// The findings of one rule, as they are found: one per lint and reason (a
/// window written twice is one finding).
pub(crate) struct Found<'a> {
    subject: &'a str,
    origin: &'a str,
    findings: Vec<Finding>,
}

impl Found<'_> {
    fn add(&mut self, id: &'static str, severity: Severity, reason: String, fix: String) {
        self.add_assuming(id, severity, reason, fix, None);
    }

    fn add_assuming(
        &mut self,
        id: &'static str,
        severity: Severity,
        reason: String,
        fix: String,
        assumption: Option<String>,
    ) {
        if self
            .findings
            .iter()
            .any(|f| f.id == id && f.reason == reason)
        {
            return;
        }
        self.findings.push(Finding {
            id,
            severity,
            subject: self.subject.to_string(),
            origin: self.origin.to_string(),
            reason,
            fix,
            assumption,
        });
    }
}

/// Mistakes anywhere in the expression: a self-dividing ratio, a
/// histogram_quantile that loses `le`, a count compared with 0.
fn lint_structure(found: &mut Found, expr: &Expr) {
    promql::walk(expr, &mut |node| {
        if let Expr::Binary(b) = node {
            if let Some(label) = condition::self_division(b) {
                found.add(
                    "ratio/self-division",
                    Severity::Error,
                    format!(
                        "`{}` keeps the `{label}` label on both sides, so each series is divided by itself: the ratio is 1 whenever the numerator has any data, whatever the real share",
                        b
                    ),
                    format!("aggregate both sides first, e.g. sum by (job) (…) / sum by (job) (…), so `{label}` is summed away"),
                );
            }
            lint_count_zero(found, b);
        }
        if let Some((_, histogram, argument)) = quantile_call(node) {
            // A native histogram has no `le`: nothing to keep.
            let classic = promql::single_selector(argument)
                .and_then(promql::metric_name)
                .is_some_and(|n| n.ends_with("_bucket"));
            if classic && !output_labels(argument).keeps("le") {
                found.add(
                    "histogram/le-dropped",
                    Severity::Error,
                    format!("histogram_quantile over an aggregation of {histogram}_bucket that drops `le`: the result is always empty, so this can never fire"),
                    "keep `le` in the aggregation: sum by (le) (…) or sum by (job, le) (…)".into(),
                );
            }
        }
    });
}

/// `count(x) == 0`: aggregating no series returns nothing, not 0.
fn lint_count_zero(found: &mut Found, b: &promql_parser::parser::BinaryExpr) {
    if !b.op.is_comparison_operator() {
        return;
    }
    let op = b.op.to_string();
    let (value, threshold) = match (constant(&b.rhs), constant(&b.lhs)) {
        (Some(c), _) => (&*b.lhs, c),
        _ => return,
    };
    if condition::count_never_matches(value, &op, threshold) {
        found.add(
            "count/never-zero",
            Severity::Error,
            format!("`{b}` never holds: count() over no series returns nothing, not 0, so this is silent exactly when nothing is left to count"),
            format!("compare with a default: `({value} or vector(0)) {op} {threshold}`, or alert on absent(…) of what is counted"),
        );
    }
}

/// `for` shorter than the group's interval.
fn lint_hold(found: &mut Found, hold: Duration, context: &Context) {
    if !hold.is_zero() && hold < context.group_interval {
        found.add_assuming(
            "for/below-interval",
            Severity::Warning,
            format!(
                "`for: {}` is shorter than the group's interval ({}): an alert fires at an evaluation, so it waits {} anyway",
                fmt(hold),
                fmt(context.group_interval),
                fmt(context.group_interval)
            ),
            format!("write `for: {}` (or 0) so the rule says what it does", fmt(context.group_interval)),
            context.group_assumed.clone(),
        );
    }
}

/// The selectors `expr` asks `absent()` (or `absent_over_time()`) about
/// (whose emptiness then means "fire", not "no data").
pub fn absent_selectors(expr: &Expr) -> Vec<&VectorSelector> {
    let mut found = Vec::new();
    promql::walk(expr, &mut |node| {
        if let Expr::Call(c) = node {
            if c.func.name == "absent" || c.func.name == "absent_over_time" {
                if let Some(arg) = c.args.args.first() {
                    found.extend(promql::selectors(arg));
                }
            }
        }
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::parser::parse;

    fn lint(expr: &str, hold: u64) -> Vec<&'static str> {
        let context = Context {
            scrape_interval: Duration::from_secs(15),
            scrape_assumed: None,
            group_interval: Duration::from_secs(30),
            group_assumed: None,
            evaluation_interval: Duration::from_secs(30),
            buckets: &|name| histogram::known_layout(name),
            absence_covered: &|_| false,
        };
        let parsed = parse(expr).unwrap();
        let none = condition::Recordings::new();
        let shape = condition::read(&parsed, &condition::Reader::new(&none)).ok();
        lint_alert(
            "A",
            "test",
            &parsed,
            shape.as_ref(),
            Duration::from_secs(hold),
            &context,
        )
        .into_iter()
        .map(|f| f.id)
        .collect()
    }

    #[test]
    fn the_seeds_ratio_divides_each_series_by_itself() {
        let seed = r#"rate(gateway_http_requests_total{status=~"5.."}[5m]) / rate(gateway_http_requests_total[5m]) > 0.05"#;
        assert_eq!(lint(seed, 120), vec!["ratio/self-division"]);
        let fixed = r#"sum by (job) (rate(gateway_http_requests_total{status=~"5.."}[5m])) / sum by (job) (rate(gateway_http_requests_total[5m])) > 0.05"#;
        assert!(lint(fixed, 120).is_empty());
        let ignoring = r#"sum by (job, status) (rate(x{status=~"5.."}[5m])) / ignoring(status) group_left sum by (job) (rate(x[5m])) > 0.05"#;
        assert!(lint(ignoring, 120).is_empty(), "{:?}", lint(ignoring, 120));
        let kept_by = r#"sum by (status) (rate(x{status=~"5.."}[5m])) / sum by (status) (rate(x[5m])) > 0.05"#;
        assert_eq!(lint(kept_by, 120), vec!["ratio/self-division"]);
    }

    #[test]
    fn histogram_lints() {
        assert_eq!(
            lint(
                "histogram_quantile(0.95, sum by (job) (rate(gateway_http_request_duration_seconds_bucket[5m]))) > 0.5",
                60
            ),
            vec!["histogram/le-dropped"]
        );
        assert_eq!(
            lint(
                "histogram_quantile(0.95, sum by (le) (rate(gateway_http_request_duration_seconds_bucket[5m]))) > 0.3",
                60
            ),
            vec!["histogram/threshold-between-buckets"]
        );
        assert!(lint(
            "histogram_quantile(0.95, sum by (le) (rate(gateway_http_request_duration_seconds_bucket[5m]))) > 0.5",
            60
        )
        .is_empty());
        assert_eq!(
            lint(
                "histogram_quantile(0.99, sum by (le) (rate(gateway_http_request_duration_seconds_bucket[5m]))) > 10",
                60
            ),
            vec!["histogram/threshold-beyond-buckets"]
        );
        // A native histogram has no `le` to drop.
        assert!(lint(
            "histogram_quantile(0.9, sum(rate(http_request_duration_seconds[5m]))) > 0.5",
            60
        )
        .is_empty());
    }

    #[test]
    fn windows_up_and_for() {
        assert_eq!(lint("rate(x[20s]) > 1", 60), vec!["range/too-short"]);
        assert_eq!(lint("rate(x[45s]) > 1", 60), vec!["range/too-short"]);
        assert!(lint("rate(x[1m]) > 1", 60).is_empty());
        assert_eq!(lint(r#"up{job="api"} == 0"#, 60), vec!["up/eq-zero"]);
        assert!(lint(r#"absent(up{job="api"} == 1)"#, 60).is_empty());
        assert_eq!(lint("rate(x[5m]) > 1", 10), vec!["for/below-interval"]);
        // Three samples are enough for max_over_time, not for rate().
        assert!(lint("max_over_time(x[45s]) > 1", 60).is_empty());
        assert_eq!(lint("changes(x[30s]) > 0", 60), vec!["range/too-short"]);
        // The same window twice is one finding.
        assert_eq!(
            lint("rate(a[20s]) / rate(b[20s]) > 0.1", 60),
            vec!["range/too-short"]
        );
        assert_eq!(
            lint("count(kube_node_info) == 0", 60),
            vec!["count/never-zero"]
        );
        assert!(lint("(count(kube_node_info) or vector(0)) == 0", 60).is_empty());
    }
}
