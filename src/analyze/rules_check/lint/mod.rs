//! The lints promtool does not do: mistakes in what a rule means, found in
//! its syntax tree and its condition. One file per lint (or per pair that
//! share their arithmetic), each with its id in the registry
//! (`analyze::finding::LintId`, with its severity and doc) and its line in
//! `LINTS` below:
//!
//! - `self_division`: `ratio/self-division`;
//! - `bounded`: `ratio/bounded`;
//! - `count_zero`: `count/never-zero`;
//! - `le_dropped`: `histogram/le-dropped`;
//! - `histogram`: `histogram/threshold-between-buckets` and
//!   `histogram/threshold-beyond-buckets`;
//! - `up`: `up/eq-zero`;
//! - `range`: `range/too-short`;
//! - `hold`: `for/below-interval`.
//!
//! A finding that rests only on an assumption (a scrape interval nobody
//! gave, buckets nobody read) says so in `assumption`; it is shown but does
//! not fail the command unless `--strict`.

mod bounded;
mod count_zero;
mod histogram;
mod hold;
mod le_dropped;
mod range;
mod self_division;
mod up;

use std::time::Duration;

use promql_parser::parser::{Expr, VectorSelector};

use crate::analyze::condition::{KnownBuckets, Shape};
use crate::analyze::finding::{LintFinding, LintId};

pub use up::absence_covers;

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

/// One alerting rule as the lints see it.
pub struct Rule<'a> {
    pub expr: &'a Expr,
    /// Its condition as the timing model reads it (None when it does not).
    pub shape: Option<&'a Shape>,
    /// Its `for`.
    pub hold: Duration,
}

/// A lint: looks at one rule, adds what it finds.
type Lint = fn(&mut Found, &Rule, &Context);

/// Every lint, in the order each rule's findings are gathered.
const LINTS: &[Lint] = &[
    self_division::lint,
    bounded::lint,
    count_zero::lint,
    le_dropped::lint,
    histogram::lint,
    up::lint,
    range::lint,
    hold::lint,
];

/// Lints one alerting rule; `shape` is its condition as the timing model
/// reads it (None when it does not).
pub fn lint_alert(
    name: &str,
    origin: &str,
    expr: &Expr,
    shape: Option<&Shape>,
    hold: Duration,
    context: &Context,
) -> Vec<LintFinding> {
    let mut found = Found {
        subject: name,
        origin,
        findings: Vec::new(),
    };
    let rule = Rule { expr, shape, hold };
    for lint in LINTS {
        lint(&mut found, &rule, context);
    }
    found.findings
}

/// The findings of one rule, as they are found: one per lint and reason (a
/// window written twice is one finding).
pub struct Found<'a> {
    subject: &'a str,
    origin: &'a str,
    findings: Vec<LintFinding>,
}

impl Found<'_> {
    /// A finding of this rule at the lint's own severity.
    fn finding(&self, id: LintId, reason: String, fix: String) -> LintFinding {
        LintFinding::new(id, self.subject, self.origin, reason, fix)
    }

    fn add(&mut self, id: LintId, reason: String, fix: String) {
        let finding = self.finding(id, reason, fix);
        self.push(finding);
    }

    fn push(&mut self, finding: LintFinding) {
        if self
            .findings
            .iter()
            .any(|f| f.id == finding.id && f.reason == finding.reason)
        {
            return;
        }
        self.findings.push(finding);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::condition::{known_layout, read, Reader, Recordings};
    use promql_parser::parser::parse;

    fn lint(expr: &str, hold: u64) -> Vec<&'static str> {
        let context = Context {
            scrape_interval: Duration::from_secs(15),
            scrape_assumed: None,
            group_interval: Duration::from_secs(30),
            group_assumed: None,
            evaluation_interval: Duration::from_secs(30),
            buckets: &|name| known_layout(name),
            absence_covered: &|_| false,
        };
        let parsed = parse(expr).unwrap();
        let none = Recordings::new();
        let shape = read(&parsed, &Reader::new(&none)).ok();
        lint_alert(
            "A",
            "test",
            &parsed,
            shape.as_ref(),
            Duration::from_secs(hold),
            &context,
        )
        .into_iter()
        .map(|f| f.id.as_str())
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
        let share = r#"sum(rate(x{code=~"5.."}[5m])) / sum(rate(x[5m]))"#;
        assert_eq!(lint(&format!("{share} > 5"), 60), vec!["ratio/bounded"]);
        assert!(lint(&format!("{share} * 100 > 5"), 60).is_empty());
        assert!(lint(&format!("{share} >= 1"), 60).is_empty(), "all failing");
        assert!(lint(&format!("{share} > 0.05"), 60).is_empty());
    }
}
