//! The lints promtool does not do: mistakes in what a rule means, found in
//! its syntax tree. Each has an id, a one-line reason and a suggested fix.
//!
//! - `ratio/self-division`: a ratio of one metric to itself where a matcher
//!   narrows a label that neither side aggregates away: each series is
//!   divided by itself, the ratio is 1 (the seed's error-rate rule).
//! - `histogram/le-dropped`: `histogram_quantile` over an aggregation that
//!   drops `le`: the result is always empty, the alert can never fire.
//! - `histogram/threshold-between-buckets`: a latency threshold that is not
//!   a bucket boundary: histogram_quantile interpolates, so the alert can
//!   fire with no request over the threshold, or miss ones that are.
//! - `histogram/threshold-beyond-buckets`: a threshold at or above the last
//!   finite bucket: the estimate never exceeds it.
//! - `range/too-short`: a range window shorter than four scrape intervals.
//! - `up/eq-zero`: `up == 0` is silent when service discovery drops the
//!   target (its `up` goes stale, never 0).
//! - `for/below-interval`: `for` shorter than the group's interval.

use std::time::Duration;

use promql_parser::parser::{BinaryExpr, Expr, LabelModifier};
use serde::Serialize;

use super::timing::Shape;
use crate::rules::promql::{
    self, comparison, metric_name, output_labels, single_selector, unparen, Comparison,
};
use crate::time::format_duration as fmt;

/// Go's and Rust's prometheus client default buckets, used when the real
/// ones are not known (give `--prometheus` to read them).
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// `t` is one of the bucket bounds (to float precision): a quantile at it is
/// exact, not interpolated.
pub fn is_bucket_bound(bounds: &[f64], t: f64) -> bool {
    bounds.iter().any(|b| (b - t).abs() < 1e-9)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
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
}

/// What a lint needs besides the rule.
pub struct Context<'a> {
    pub scrape_interval: Duration,
    pub group_interval: Duration,
    /// Bucket boundaries of a histogram (`name` without `_bucket`), if known.
    pub buckets: &'a dyn Fn(&str) -> Option<Vec<f64>>,
}

/// The label a self-dividing ratio narrows, if `b` is one.
fn self_division(b: &BinaryExpr) -> Option<String> {
    if b.op.to_string() != "/" {
        return None;
    }
    let (left, right) = (single_selector(&b.lhs)?, single_selector(&b.rhs)?);
    if metric_name(left)? != metric_name(right)? {
        return None;
    }
    let key =
        |m: &promql_parser::label::Matcher| (m.name.clone(), m.op.to_string(), m.value.clone());
    let on_right: Vec<_> = right.matchers.matchers.iter().map(key).collect();
    let on_left: Vec<_> = left.matchers.matchers.iter().map(key).collect();
    let narrowed = left
        .matchers
        .matchers
        .iter()
        .filter(|m| m.name != "__name__" && !on_right.contains(&key(m)))
        .chain(
            right
                .matchers
                .matchers
                .iter()
                .filter(|m| m.name != "__name__" && !on_left.contains(&key(m))),
        )
        .map(|m| m.name.clone());
    let considered = |label: &str| match b.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
        None => true,
        Some(LabelModifier::Include(on)) => on.labels.iter().any(|l| l == label),
        Some(LabelModifier::Exclude(ignoring)) => !ignoring.labels.iter().any(|l| l == label),
    };
    let (left_labels, right_labels) = (output_labels(&b.lhs), output_labels(&b.rhs));
    narrowed
        .into_iter()
        .find(|label| left_labels.keeps(label) && right_labels.keeps(label) && considered(label))
}

/// The histogram a `histogram_quantile` reads, its quantile, and its
/// argument (for the `le` check).
pub fn quantile_call(expr: &Expr) -> Option<(f64, String, &Expr)> {
    let Expr::Call(call) = unparen(expr) else {
        return None;
    };
    if call.func.name != "histogram_quantile" {
        return None;
    }
    let quantile = match unparen(call.args.args.first()?) {
        Expr::NumberLiteral(n) => n.val,
        _ => return None,
    };
    let argument = call.args.args.get(1)?;
    let name = single_selector(argument).and_then(metric_name)?;
    Some((
        quantile,
        name.trim_end_matches("_bucket").to_string(),
        argument,
    ))
}

/// The shape of an alert's condition, when the timing model knows it.
pub fn classify(expr: &Expr) -> Option<Shape> {
    let condition = comparison(expr)?;
    let rises_past = matches!(condition.op.as_str(), ">" | ">=");
    let is_zero = condition.op == "==" && condition.threshold == 0.0;
    if !(rises_past || is_zero) {
        return None;
    }
    let value = unparen(condition.value);
    let window = || promql::windows(value).into_iter().max();
    if let Expr::Binary(b) = value {
        // A ratio of two rates (errors over requests): both sides read a
        // range window. usage / limit, a gauge over a gauge, is not one.
        let rated = |side: &Expr| !promql::windows(side).is_empty();
        if b.op.to_string() == "/" && rated(&b.lhs) && rated(&b.rhs) {
            let window = window()?;
            return Some(if self_division(b).is_some() {
                Shape::AnyIncrease { window }
            } else {
                Shape::Ratio {
                    window,
                    threshold: condition.threshold,
                }
            });
        }
    }
    if let Some((quantile, _, _)) = quantile_call(value) {
        return Some(Shape::Quantile {
            window: window()?,
            quantile,
            threshold: condition.threshold,
        });
    }
    if condition.op == "==" {
        return (single_selector(value).and_then(metric_name).as_deref() == Some("up"))
            .then_some(Shape::TargetDown { absent: false });
    }
    if let Expr::Call(c) = value {
        if matches!(c.func.name, "rate" | "increase" | "irate") {
            return Some(Shape::Rate {
                window: window()?,
                threshold: condition.threshold,
            });
        }
    }
    if let Expr::Aggregate(_) = value {
        if promql::selectors(value).len() == 1 && window().is_some() {
            return Some(Shape::Rate {
                window: window()?,
                threshold: condition.threshold,
            });
        }
    }
    None
}

/// `absent(up{…} == 1)` (or `absent(up{…})`), read as a target-down shape.
pub fn classify_absent(expr: &Expr) -> Option<Shape> {
    let Expr::Call(c) = unparen(expr) else {
        return None;
    };
    if c.func.name != "absent" {
        return None;
    }
    let inner = c.args.args.first()?;
    (single_selector(inner).and_then(metric_name).as_deref() == Some("up"))
        .then_some(Shape::TargetDown { absent: true })
}

/// Lints one alerting rule.
pub fn lint_alert(
    name: &str,
    origin: &str,
    expr: &Expr,
    hold: Duration,
    context: &Context,
) -> Vec<Finding> {
    let mut found = Found {
        subject: name,
        origin,
        findings: Vec::new(),
    };
    lint_structure(&mut found, expr);
    if let Some(condition) = comparison(expr) {
        lint_histogram_threshold(&mut found, &condition, context);
        lint_up_eq_zero(&mut found, expr, &condition);
    }
    lint_windows(&mut found, expr, context);
    lint_hold(&mut found, hold, context);
    found.findings
}

/// The findings of one rule, as they are found.
struct Found<'a> {
    subject: &'a str,
    origin: &'a str,
    findings: Vec<Finding>,
}

impl Found<'_> {
    fn add(&mut self, id: &'static str, severity: Severity, reason: String, fix: String) {
        self.findings.push(Finding {
            id,
            severity,
            subject: self.subject.to_string(),
            origin: self.origin.to_string(),
            reason,
            fix,
        });
    }
}

/// Mistakes anywhere in the expression: a self-dividing ratio, a
/// histogram_quantile that loses `le`.
fn lint_structure(found: &mut Found, expr: &Expr) {
    promql::walk(expr, &mut |node| {
        if let Expr::Binary(b) = node {
            if let Some(label) = self_division(b) {
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
        }
        if let Some((_, histogram, argument)) = quantile_call(node) {
            if !output_labels(argument).keeps("le") {
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

/// A latency threshold against the histogram's buckets.
fn lint_histogram_threshold(found: &mut Found, condition: &Comparison, context: &Context) {
    let Some((quantile, histogram, _)) = quantile_call(condition.value) else {
        return;
    };
    let (bounds, assumed) = match (context.buckets)(&histogram) {
        Some(bounds) => (bounds, false),
        None => (DEFAULT_BUCKETS.to_vec(), true),
    };
    let assumption = if assumed {
        " (assuming the client library's default buckets; give --prometheus to read the real ones)"
    } else {
        ""
    };
    let t = condition.threshold;
    let top = bounds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if t >= top && matches!(condition.op.as_str(), ">" | ">=") {
        found.add(
            "histogram/threshold-beyond-buckets",
            Severity::Error,
            format!("the threshold {t}s is at or above the last finite bucket ({top}s) of {histogram}{assumption}: histogram_quantile never estimates more than {top}s, so this can never fire"),
            format!("add buckets above {t}s to the histogram, or lower the threshold"),
        );
    } else if !is_bucket_bound(&bounds, t) {
        let below = bounds
            .iter()
            .copied()
            .filter(|b| *b < t)
            .fold(0.0, f64::max);
        let above = bounds
            .iter()
            .copied()
            .filter(|b| *b > t)
            .fold(f64::INFINITY, f64::min);
        found.add(
            "histogram/threshold-between-buckets",
            Severity::Warning,
            format!(
                "{t}s is not a bucket boundary of {histogram}{assumption}: the p{} is interpolated inside ({below}s, {above}s], so the estimate can be off by up to {:.0}ms — the alert can fire with no request over {t}s, or stay silent with many",
                quantile * 100.0,
                (above - below) * 1000.0
            ),
            format!("use a bucket boundary as the threshold ({below}s or {above}s), or add a bucket at {t}s"),
        );
    }
}

/// `up == 0`: silent when the target disappears.
fn lint_up_eq_zero(found: &mut Found, expr: &Expr, condition: &Comparison) {
    if condition.op != "==" || condition.threshold != 0.0 {
        return;
    }
    let Some(selector) = single_selector(condition.value) else {
        return;
    };
    if metric_name(selector).as_deref() == Some("up") {
        found.add(
            "up/eq-zero",
            Severity::Warning,
            format!("`{}` is silent when the target disappears: service discovery drops a deleted pod, and its `up` goes stale instead of 0", expr),
            format!("alert on absent({} == 1) too, or instead", condition.value),
        );
    }
}

/// Range windows too short for the scrape interval.
fn lint_windows(found: &mut Found, expr: &Expr, context: &Context) {
    let minimum = context.scrape_interval * 4;
    for window in promql::windows(expr) {
        if window < context.scrape_interval * 2 {
            found.add(
                "range/too-short",
                Severity::Error,
                format!(
                    "the window {} holds fewer than two scrapes (every {}): rate() and friends usually return nothing",
                    fmt(window),
                    fmt(context.scrape_interval)
                ),
                format!("use a window of at least {}", fmt(minimum)),
            );
        } else if window < minimum {
            found.add(
                "range/too-short",
                Severity::Warning,
                format!(
                    "the window {} holds under four scrapes (every {}): one missed scrape leaves too few samples, the result drops out and `for` starts over",
                    fmt(window),
                    fmt(context.scrape_interval)
                ),
                format!("use a window of at least {}", fmt(minimum)),
            );
        }
    }
}

/// `for` shorter than the group's interval.
fn lint_hold(found: &mut Found, hold: Duration, context: &Context) {
    if !hold.is_zero() && hold < context.group_interval {
        found.add(
            "for/below-interval",
            Severity::Warning,
            format!(
                "`for: {}` is shorter than the group's interval ({}): an alert fires at an evaluation, so it waits {} anyway",
                fmt(hold),
                fmt(context.group_interval),
                fmt(context.group_interval)
            ),
            format!("write `for: {}` (or 0) so the rule says what it does", fmt(context.group_interval)),
        );
    }
}

/// Whether `expr` uses `absent()` over a selector (whose emptiness then
/// means "fire", not "no data").
pub fn absent_selectors(expr: &Expr) -> Vec<String> {
    let mut found = Vec::new();
    promql::walk(expr, &mut |node| {
        if let Expr::Call(c) = node {
            if c.func.name == "absent" || c.func.name == "absent_over_time" {
                if let Some(arg) = c.args.args.first() {
                    for selector in promql::selectors(arg) {
                        found.push(selector.to_string());
                    }
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
            group_interval: Duration::from_secs(30),
            buckets: &|_| None,
        };
        lint_alert(
            "A",
            "test",
            &parse(expr).unwrap(),
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
                "histogram_quantile(0.95, sum by (job) (rate(h_bucket[5m]))) > 0.5",
                60
            ),
            vec!["histogram/le-dropped"]
        );
        assert_eq!(
            lint(
                "histogram_quantile(0.95, sum by (le) (rate(h_bucket[5m]))) > 0.3",
                60
            ),
            vec!["histogram/threshold-between-buckets"]
        );
        assert!(lint(
            "histogram_quantile(0.95, sum by (le) (rate(h_bucket[5m]))) > 0.5",
            60
        )
        .is_empty());
        assert_eq!(
            lint(
                "histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m]))) > 10",
                60
            ),
            vec!["histogram/threshold-beyond-buckets"]
        );
    }

    #[test]
    fn windows_up_and_for() {
        assert_eq!(lint("rate(x[20s]) > 1", 60), vec!["range/too-short"]);
        assert_eq!(lint("rate(x[45s]) > 1", 60), vec!["range/too-short"]);
        assert!(lint("rate(x[1m]) > 1", 60).is_empty());
        assert_eq!(lint(r#"up{job="api"} == 0"#, 60), vec!["up/eq-zero"]);
        assert!(lint(r#"absent(up{job="api"} == 1)"#, 60).is_empty());
        assert_eq!(lint("rate(x[5m]) > 1", 10), vec!["for/below-interval"]);
    }

    #[test]
    fn shapes() {
        let shape =
            |q: &str| classify(&parse(q).unwrap()).or_else(|| classify_absent(&parse(q).unwrap()));
        assert!(matches!(
            shape("sum(rate(e[2m])) / sum(rate(t[2m])) > 0.05"),
            Some(Shape::Ratio { .. })
        ));
        assert!(matches!(
            shape(r#"rate(x{s="5"}[5m]) / rate(x[5m]) > 0.05"#),
            Some(Shape::AnyIncrease { .. })
        ));
        assert!(matches!(
            shape("histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m]))) > 1"),
            Some(Shape::Quantile { .. })
        ));
        assert!(matches!(
            shape(r#"absent(up{job="a"} == 1)"#),
            Some(Shape::TargetDown { absent: true })
        ));
        assert!(matches!(
            shape(r#"up{job="a"} == 0"#),
            Some(Shape::TargetDown { absent: false })
        ));
        assert!(matches!(
            shape("rate(x[5m]) > 0.1"),
            Some(Shape::Rate { .. })
        ));
    }
}
