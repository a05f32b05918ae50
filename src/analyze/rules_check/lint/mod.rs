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

use crate::rules::promql::{BinaryOp, SetOp};

use crate::analyze::condition::{KnownBuckets, Shape};
use crate::analyze::finding::{LintFinding, LintId};

use super::inputs::TargetSource;

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
    /// Where the targets of a selector come from (static, discovered).
    pub targets: &'a dyn Fn(&VectorSelector) -> TargetSource,
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

/// Visits every node of `expr`, saying whether it lies in the guard of an
/// `unless` (`x unless up == 0`): a comparison there stops the alert, it is
/// not what makes it fire.
fn walk_marking_guards<'a>(expr: &'a Expr, in_guard: bool, visit: &mut dyn FnMut(&'a Expr, bool)) {
    visit(expr, in_guard);
    match expr {
        Expr::Binary(b) => {
            let guard = in_guard || BinaryOp::set(b.op) == Some(SetOp::Unless);
            walk_marking_guards(&b.lhs, in_guard, visit);
            walk_marking_guards(&b.rhs, guard, visit);
        }
        Expr::Paren(p) => walk_marking_guards(&p.expr, in_guard, visit),
        Expr::Aggregate(a) => walk_marking_guards(&a.expr, in_guard, visit),
        Expr::Unary(u) => walk_marking_guards(&u.expr, in_guard, visit),
        Expr::Subquery(s) => walk_marking_guards(&s.expr, in_guard, visit),
        Expr::Call(c) => {
            for arg in &c.args.args {
                walk_marking_guards(arg, in_guard, visit);
            }
        }
        _ => {}
    }
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
    use crate::analyze::finding::Severity;
    use promql_parser::parser::parse;

    fn lint(expr: &str, hold: u64) -> Vec<&'static str> {
        lint_findings(expr, hold, &|_| TargetSource::Unknown)
            .into_iter()
            .map(|f| f.id.as_str())
            .collect()
    }

    fn lint_findings(
        expr: &str,
        hold: u64,
        targets: &dyn Fn(&VectorSelector) -> TargetSource,
    ) -> Vec<LintFinding> {
        lint_at(expr, hold, targets, None)
    }

    /// With nothing given: Prometheus's default of 1m assumed for both.
    fn lint_assumed(expr: &str, hold: u64) -> Vec<LintFinding> {
        lint_at(expr, hold, &|_| TargetSource::Unknown, Some("1m"))
    }

    fn lint_at(
        expr: &str,
        hold: u64,
        targets: &dyn Fn(&VectorSelector) -> TargetSource,
        assumed: Option<&str>,
    ) -> Vec<LintFinding> {
        let (scrape, group) = match assumed {
            Some(_) => (60, 60),
            None => (15, 30),
        };
        let context = Context {
            scrape_interval: Duration::from_secs(scrape),
            scrape_assumed: assumed.map(str::to_string),
            group_interval: Duration::from_secs(group),
            group_assumed: assumed.map(str::to_string),
            evaluation_interval: Duration::from_secs(30),
            buckets: &|name| known_layout(name, &[]),
            absence_covered: &|_| false,
            targets,
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
    }

    #[test]
    fn a_window_too_short_at_every_common_interval_counts_without_an_interval_given() {
        // rate() over 15s: at 10s one or two samples, at 15s or more one.
        let found = lint_assumed("rate(x[15s]) > 1", 60);
        assert_eq!(found.len(), 1);
        let f = &found[0];
        assert_eq!(
            (f.id, f.severity, f.assumption.clone()),
            (LintId::RangeTooShort, Severity::Error, None)
        );
        assert!(
            f.reason
                .contains("every common scrape interval (10s and above)"),
            "{}",
            f.reason
        );
        assert!(
            f.reason
                .contains("at 15s or more it holds at most one sample"),
            "{}",
            f.reason
        );
        assert!(
            f.reason
                .contains("above 7.5s it holds two samples only at some phases"),
            "{}",
            f.reason
        );
        // One missed scrape at 10s: still at every interval, a warning.
        let found = lint_assumed("rate(x[25s]) > 1", 60);
        assert_eq!(
            (found[0].severity, found[0].assumption.clone()),
            (Severity::Warning, None)
        );
        // rate() over 1m is fine at 15s: it rests on the assumed 1m, and
        // says at which intervals it holds part of the time — not "never".
        let found = lint_assumed("rate(x[1m]) > 1", 60);
        assert_eq!(found.len(), 1);
        let f = &found[0];
        assert!(f.assumption.is_some());
        assert!(!f.reason.contains("can never hold"), "{}", f.reason);
        assert!(
            f.reason
                .contains("at 1m or more it holds at most one sample"),
            "{}",
            f.reason
        );
        assert!(
            f.reason
                .contains("above 30s it holds two samples only at some phases"),
            "{}",
            f.reason
        );
        // Three samples at 1m: only two missed scrapes matter, above 45s.
        let found = lint_assumed("rate(x[3m]) > 1", 60);
        assert!(
            found[0]
                .reason
                .contains("above 45s two missed scrapes in a row"),
            "{}",
            found[0].reason
        );
        assert_eq!(found[0].severity, Severity::Warning);
        // `for: 5s` is below every common evaluation interval; 30s only below the assumed one.
        let ids = |q: &str, hold: u64| -> Vec<(LintId, bool)> {
            lint_assumed(q, hold)
                .into_iter()
                .map(|f| (f.id, f.assumption.is_some()))
                .collect()
        };
        assert_eq!(ids("x > 1", 5), vec![(LintId::ForBelowInterval, false)]);
        assert_eq!(ids("x > 1", 30), vec![(LintId::ForBelowInterval, true)]);
    }

    #[test]
    fn up_eq_zero_names_how_targets_are_dropped_and_spares_static_ones_and_guards() {
        // Jobs as a Prometheus config would give them: `db` static, `web`
        // discovered by Kubernetes pods.
        let targets = |s: &VectorSelector| {
            let job = s.matchers.matchers.iter().find(|m| m.name == "job");
            match job.map(|m| m.value.as_str()) {
                Some("db") => TargetSource::Static,
                Some("web") => TargetSource::Discovered(vec![
                    "kubernetes_sd_configs (role pod) drops a deleted pod".into(),
                ]),
                _ => TargetSource::Unknown,
            }
        };
        let ids = |q: &str| -> Vec<LintFinding> { lint_findings(q, 60, &targets) };
        assert!(
            ids(r#"up{job="db"} == 0"#).is_empty(),
            "static targets are never dropped"
        );
        assert!(ids(r#"min by (job) (up{job="db"}) < 1"#).is_empty());
        let web = ids(r#"sum by (job) (up{job="web"}) == 0"#);
        assert_eq!(web.len(), 1);
        assert!(
            web[0].reason.contains("role pod) drops a deleted pod"),
            "{}",
            web[0].reason
        );
        // Nothing given says how `queue`'s targets are found: no pod is presumed.
        let unknown = ids(r#"up{job="queue"} == 0"#);
        assert_eq!(unknown.len(), 1);
        assert!(
            unknown[0]
                .reason
                .contains("static_configs are never dropped"),
            "{}",
            unknown[0].reason
        );
        // In an `unless` guard, `up == 0` silences the alert; it is not what
        // makes it fire. On the firing side of an `unless` (or in `and`) it is.
        assert!(
            ids(r#"rate(errors_total{job="web"}[5m]) > 1 unless on(job) up{job="web"} == 0"#)
                .is_empty()
        );
        assert_eq!(
            ids(r#"up{job="web"} == 0 unless on(job) maintenance_mode == 1"#).len(),
            1
        );
        assert_eq!(
            ids(r#"rate(errors_total{job="web"}[5m]) > 1 and on(job) up{job="web"} == 0"#).len(),
            1
        );
        // count() == 0 in a guard: the guard, not the alert, is what never acts.
        let guard = ids("rate(errors_total[5m]) > 1 unless on() count(maintenance_window) == 0");
        assert_eq!(guard.len(), 1);
        assert!(
            guard[0]
                .reason
                .contains("this `unless` guard never silences the alert"),
            "{}",
            guard[0].reason
        );
        let firing = ids("count(kube_node_info) == 0");
        assert!(
            firing[0]
                .reason
                .contains("silent exactly when nothing is left"),
            "{}",
            firing[0].reason
        );
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
