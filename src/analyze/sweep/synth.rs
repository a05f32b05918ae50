//! The traffic a sweep feeds an alert: which series its error ratio reads —
//! the selectors under `rate(bad) / rate(all)`, followed through recording
//! rules — and label values that make each selector match, or not.
//!
//! Two layouts are met in practice. One metric split by a label
//! (`x{code=~"5.."} / x`): a failing series that both selectors match and a
//! succeeding one that only the denominator matches. Two metrics
//! (`errors_total / requests_total`): one series each, the total counting
//! the errors too. A ratio compared from below (`good / all < 0.99`) counts
//! the successes in its numerator.

use std::collections::BTreeMap;

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{Expr, VectorSelector};
use serde::Serialize;

use super::error::Unfed;
use crate::analyze::condition::{recording_for, unit_valued, Recordings};
use crate::rules::promql::{
    self, metric_name, single_selector, unparen, walk, Arithmetic, BinaryOp, Comparison,
};

/// What a synthesized series counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Failing requests.
    Bad,
    /// Succeeding requests.
    Good,
    /// All requests.
    Total,
}

/// One counter the sweep writes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub metric: String,
    pub labels: BTreeMap<String, String>,
    pub role: Role,
}

/// The (numerator, denominator) selectors of every ratio of rates in
/// `expr`, recording rules followed.
pub fn ratio_pairs(expr: &Expr, recordings: &Recordings) -> Vec<(VectorSelector, VectorSelector)> {
    let mut pairs = Vec::new();
    collect(expr, recordings, 0, &mut pairs);
    pairs.dedup_by(|a, b| a.0.to_string() == b.0.to_string() && a.1.to_string() == b.1.to_string());
    pairs
}

fn collect(
    expr: &Expr,
    recordings: &Recordings,
    depth: u8,
    into: &mut Vec<(VectorSelector, VectorSelector)>,
) {
    if depth > 8 {
        return;
    }
    walk(expr, &mut |node| match node {
        Expr::Binary(b) if BinaryOp::arithmetic(b.op) == Some(Arithmetic::Div) => {
            let rated = |side: &Expr| !promql::windows(side).is_empty();
            if rated(&b.lhs) && rated(&b.rhs) {
                if let (Some(n), Some(d)) = (single_selector(&b.lhs), single_selector(&b.rhs)) {
                    into.push((n.clone(), d.clone()));
                }
            }
        }
        Expr::VectorSelector(v) => {
            let name = metric_name(v).unwrap_or_default();
            if recordings.contains_key(&name) {
                if let Ok(recording) = recording_for(recordings, v) {
                    collect(&recording.expr, recordings, depth + 1, into);
                }
            }
        }
        _ => {}
    });
}

/// An info metric `expr` joins for its labels (by `*`, `/` or a
/// comparison), which the sweep does not write.
pub fn joined(expr: &Expr) -> Option<String> {
    let mut found = None;
    walk(expr, &mut |node| {
        if let Expr::Binary(b) = node {
            let joins = matches!(
                BinaryOp::arithmetic(b.op),
                Some(Arithmetic::Mul | Arithmetic::Div)
            ) || b.op.is_comparison_operator();
            for side in [&b.lhs, &b.rhs] {
                if joins && found.is_none() && unit_valued(side) {
                    found = Some(side.to_string());
                }
            }
        }
    });
    found
}

/// The series that make `pairs` see an error ratio: for a ratio compared
/// from above the numerator counts failures, from below successes.
pub fn synthesize(
    pairs: &[(VectorSelector, VectorSelector)],
    numerator_counts_failures: bool,
) -> Result<Vec<Series>, Unfed> {
    let Some((first_num, first_den)) = pairs.first() else {
        return Err(Unfed::NoRatio);
    };
    let num_metric = metric_name(first_num).unwrap_or_default();
    let den_metric = metric_name(first_den).unwrap_or_default();
    let nums: Vec<&VectorSelector> = pairs.iter().map(|(n, _)| n).collect();
    let dens: Vec<&VectorSelector> = pairs.iter().map(|(_, d)| d).collect();
    for (selector, metric) in nums
        .iter()
        .map(|n| (n, &num_metric))
        .chain(dens.iter().map(|d| (d, &den_metric)))
    {
        if metric_name(selector).as_ref() != Some(metric) {
            return Err(Unfed::MixedMetrics {
                selector: selector.to_string(),
                metric: metric.clone(),
            });
        }
    }
    let (numerator_role, other_role) = if numerator_counts_failures {
        (Role::Bad, Role::Good)
    } else {
        (Role::Good, Role::Bad)
    };
    let sides = Sides {
        nums: &nums,
        dens: &dens,
        first: (first_num, first_den),
    };
    if num_metric == den_metric {
        one_metric(&sides, num_metric, (numerator_role, other_role))
    } else {
        two_metrics(&sides, (num_metric, den_metric), numerator_role)
    }
}

/// The numerators and denominators of a condition's ratios (and its first
/// pair, to name in a reason).
struct Sides<'a> {
    nums: &'a [&'a VectorSelector],
    dens: &'a [&'a VectorSelector],
    first: (&'a VectorSelector, &'a VectorSelector),
}

/// One metric, split by a label: the numerator's series matches every
/// selector, the other every denominator and no numerator.
fn one_metric(
    sides: &Sides,
    metric: String,
    (numerator_role, other_role): (Role, Role),
) -> Result<Vec<Series>, Unfed> {
    let (first_num, first_den) = sides.first;
    let all: Vec<&Matcher> = sides
        .nums
        .iter()
        .chain(sides.dens)
        .flat_map(|s| matchers(s))
        .collect();
    let numerator = labels_matching(&all, None).ok_or_else(|| Unfed::NoCommonLabels {
        numerator: first_num.to_string(),
        denominator: first_den.to_string(),
    })?;
    let den_matchers: Vec<&Matcher> = sides.dens.iter().flat_map(|s| matchers(s)).collect();
    let extra: Vec<&Matcher> = sides
        .nums
        .iter()
        .flat_map(|s| matchers(s))
        .filter(|m| !den_matchers.iter().any(|d| same(d, m)))
        .collect();
    let other = extra
        .iter()
        .find_map(|avoid| labels_matching(&den_matchers, Some(avoid)))
        .ok_or_else(|| Unfed::NoOtherLabels {
            numerator: first_num.to_string(),
            denominator: first_den.to_string(),
        })?;
    Ok(vec![
        Series {
            metric: metric.clone(),
            labels: numerator,
            role: numerator_role,
        },
        Series {
            metric,
            labels: other,
            role: other_role,
        },
    ])
}

/// Two metrics: one series each, the total counting the errors too.
fn two_metrics(
    sides: &Sides,
    (num_metric, den_metric): (String, String),
    numerator_role: Role,
) -> Result<Vec<Series>, Unfed> {
    let (first_num, first_den) = sides.first;
    let num_matchers: Vec<&Matcher> = sides.nums.iter().flat_map(|s| matchers(s)).collect();
    let den_matchers: Vec<&Matcher> = sides.dens.iter().flat_map(|s| matchers(s)).collect();
    let numerator = labels_matching(&num_matchers, None)
        .ok_or_else(|| Unfed::NoLabels(first_num.to_string()))?;
    let total = labels_matching(&den_matchers, None)
        .ok_or_else(|| Unfed::NoLabels(first_den.to_string()))?;
    Ok(vec![
        Series {
            metric: num_metric,
            labels: numerator,
            role: numerator_role,
        },
        Series {
            metric: den_metric,
            labels: total,
            role: Role::Total,
        },
    ])
}

fn matchers(selector: &VectorSelector) -> impl Iterator<Item = &Matcher> {
    selector
        .matchers
        .matchers
        .iter()
        .filter(|m| m.name != "__name__")
}

fn same(a: &Matcher, b: &Matcher) -> bool {
    a.name == b.name && a.op == b.op && a.value == b.value
}

/// Label values satisfying every matcher of `all`, and not `avoid`.
fn labels_matching(all: &[&Matcher], avoid: Option<&Matcher>) -> Option<BTreeMap<String, String>> {
    let mut names: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
    if let Some(avoid) = avoid {
        names.push(&avoid.name);
    }
    names.sort_unstable();
    names.dedup();
    let mut labels = BTreeMap::new();
    for name in names {
        let on: Vec<&Matcher> = all.iter().copied().filter(|m| m.name == name).collect();
        let not = avoid.filter(|a| a.name == name);
        let value = value_for(&on, not)?;
        // An empty value is an absent label.
        if !value.is_empty() {
            labels.insert(name.to_string(), value);
        }
    }
    Some(labels)
}

/// Values people give labels, to try against regular expressions.
const COMMON: &[&str] = &[
    "500",
    "503",
    "502",
    "504",
    "429",
    "404",
    "400",
    "200",
    "201",
    "204",
    "301",
    "5xx",
    "4xx",
    "2xx",
    "error",
    "failure",
    "failed",
    "fail",
    "success",
    "ok",
    "OK",
    "true",
    "false",
    "GET",
    "POST",
    "firedrill",
    "x",
    "0",
    "1",
];

/// A value every matcher of `on` accepts and `not` refuses.
pub fn value_for(on: &[&Matcher], not: Option<&Matcher>) -> Option<String> {
    let mut candidates: Vec<String> = Vec::new();
    for m in on.iter().copied().chain(not) {
        match &m.op {
            MatchOp::Equal | MatchOp::NotEqual => candidates.push(m.value.clone()),
            MatchOp::Re(_) | MatchOp::NotRe(_) => candidates.extend(regex_literals(&m.value)),
        }
    }
    candidates.extend(COMMON.iter().map(|c| c.to_string()));
    candidates.push(String::new());
    candidates.into_iter().find(|value| {
        on.iter().all(|m| m.is_match(value)) && not.is_none_or(|n| !n.is_match(value))
    })
}

/// Strings a regular expression is likely to match, read from its text:
/// each alternative with wildcards and classes made concrete (`5..` → `500`,
/// `[45]xx` → `4xx`). Every candidate is checked against the matcher itself.
fn regex_literals(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    for alternative in split_alternatives(pattern) {
        let mut text = String::new();
        let mut chars = alternative.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '(' | ')' | '^' | '$' | '?' | '*' | '+' => {}
                '.' => text.push('0'),
                '\\' => match chars.next() {
                    Some('d') => text.push('0'),
                    Some('w') => text.push('a'),
                    Some(other) => text.push(other),
                    None => {}
                },
                '[' => {
                    let mut first = None;
                    for c in chars.by_ref() {
                        if c == ']' {
                            break;
                        }
                        if first.is_none() && c != '^' {
                            first = Some(c);
                        }
                    }
                    text.extend(first);
                }
                '{' => {
                    for c in chars.by_ref() {
                        if c == '}' {
                            break;
                        }
                    }
                }
                other => text.push(other),
            }
        }
        out.push(text);
    }
    out
}

/// The top-level alternatives of `a|(b|c)d`, and of each group's inside.
fn split_alternatives(pattern: &str) -> Vec<String> {
    let inner = pattern.trim_start_matches('^').trim_end_matches('$');
    let stripped = inner
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .filter(|s| !s.contains('(') && !s.contains(')'))
        .unwrap_or(inner);
    let mut parts = Vec::new();
    let (mut depth, mut current) = (0, String::new());
    for c in stripped.chars() {
        match c {
            '(' => {
                depth += 1;
                current.push(c);
            }
            ')' => {
                depth -= 1;
                current.push(c);
            }
            '|' if depth == 0 => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
}

/// The ratio leaves' direction, read from the alert: whether the numerator
/// of its ratio counts failures (compared from above) or successes.
pub fn numerator_counts_failures(expr: &Expr) -> bool {
    let mut below = false;
    walk(expr, &mut |node| {
        if let Expr::Binary(b) = unparen(node) {
            if matches!(
                BinaryOp::comparison(b.op),
                Some(Comparison::Less | Comparison::LessOrEqual)
            ) {
                below = true;
            }
        }
    });
    !below
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::parser::parse;

    #[test]
    fn a_joined_info_metric_is_named_and_a_plain_ratio_joins_nothing() {
        let joined = |q: &str| joined(&parse(q).unwrap());
        assert_eq!(
            joined("sum by (pod) (rate(e[5m])) / sum by (pod) (rate(t[5m])) * on(pod) group_left(owner_name) kube_pod_owner > 0.1").as_deref(),
            Some("kube_pod_owner")
        );
        assert!(joined(
            "(rate(e[5m]) / rate(t[5m]) > 0.01) * on(instance) group_left(nodename) node_uname_info{nodename=~\".+\"}"
        )
        .is_some());
        assert_eq!(
            joined("sum(rate(e[5m])) / sum(rate(t[5m])) > 0.05 and sum(rate(t[5m])) > 1"),
            None
        );
    }

    fn pairs(q: &str) -> Vec<(VectorSelector, VectorSelector)> {
        ratio_pairs(&parse(q).unwrap(), &Recordings::new())
    }

    #[test]
    fn one_metric_split_by_status() {
        let p = pairs(
            r#"sum(rate(http_requests_total{job="api",code=~"(5..|429)"}[5m])) / sum(rate(http_requests_total{job="api"}[5m])) > 0.01"#,
        );
        let series = synthesize(&p, true).unwrap();
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].role, Role::Bad);
        assert_eq!(series[0].labels["job"], "api");
        assert!(["500", "429"].contains(&series[0].labels["code"].as_str()));
        assert_eq!(series[1].role, Role::Good);
        assert_eq!(series[1].labels["job"], "api");
        assert_ne!(
            series[1].labels.get("code").map(String::as_str),
            Some("500")
        );
    }

    #[test]
    fn two_metrics_and_success_ratios() {
        let p = pairs("sum(rate(errors_total[5m])) / sum(rate(requests_total[5m])) > 0.05");
        let series = synthesize(&p, true).unwrap();
        assert_eq!(
            (series[0].metric.as_str(), series[0].role),
            ("errors_total", Role::Bad)
        );
        assert_eq!(
            (series[1].metric.as_str(), series[1].role),
            ("requests_total", Role::Total)
        );
        let q = r#"sum(rate(x{code=~"2.."}[5m])) / sum(rate(x[5m])) < 0.99"#;
        assert!(!numerator_counts_failures(&parse(q).unwrap()));
        let series = synthesize(&pairs(q), false).unwrap();
        assert_eq!(series[0].role, Role::Good);
        assert!(series[0].labels["code"].starts_with('2'));
        assert_eq!(series[1].role, Role::Bad);
    }

    #[test]
    fn regex_literals_are_made_concrete() {
        assert_eq!(regex_literals("(5..|429)"), vec!["500", "429"]);
        assert_eq!(regex_literals("[45]xx"), vec!["4xx"]);
    }
}
