//! What only a running Prometheus can tell about rules: its intervals, the
//! buckets its histograms really have, selectors that match no series
//! (`series/missing`), and rules whose evaluation fails
//! (`rule/evaluation-error`). (What a live Alertmanager tells is in
//! `silences`.)

use promql_parser::parser::{Expr, VectorSelector};

use crate::analyze::finding::{LintFinding, LintId, Severity};
use crate::prom::{PromClient, PromError, QueryResult, RuleHealth};
use crate::rules::promql::{self, metric_name};
use crate::rules::{parse_global_intervals, IntervalDurations};

/// global.scrape_interval, evaluation_interval and scrape_timeout of the
/// configuration Prometheus is running.
pub async fn intervals(prometheus: &PromClient) -> Result<IntervalDurations, PromError> {
    let yaml = prometheus.config_yaml().await?;
    let origin = prometheus.base_url();
    // What Prometheus runs is valid; anything unreadable counts as unset.
    Ok(parse_global_intervals(&yaml, std::path::Path::new(origin))
        .and_then(|global| global.durations(origin))
        .unwrap_or_default())
}

async fn count(prometheus: &PromClient, query: &str) -> Result<f64, PromError> {
    Ok(prometheus
        .scalar(&format!("count({query})"), None)
        .await?
        .unwrap_or(0.0))
}

/// The `le` bounds of `histogram`'s buckets (finite ones, sorted).
pub async fn bucket_bounds(prometheus: &PromClient, histogram: &str) -> Option<Vec<f64>> {
    let query = format!("count by (le) ({{__name__=\"{histogram}_bucket\"}})");
    let QueryResult::Vector(samples) = prometheus.query(&query, None).await.ok()? else {
        return None;
    };
    let mut bounds: Vec<f64> = samples
        .iter()
        .filter_map(|s| s.metric.get("le")?.parse::<f64>().ok())
        .filter(|b| b.is_finite())
        .collect();
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    (!bounds.is_empty()).then_some(bounds)
}

/// Selectors of `expr` that match no series. Names defined by recording
/// rules in the same files, and ALERTS, are skipped: they exist only once
/// the rules run. Inside `absent()`, no series means the alert fires.
///
/// Three different things are told apart: the metric does not exist (a
/// finding, with the nearest names Prometheus has); a label the selector
/// asks for does not exist on it (a finding, with the labels it has); the
/// metric and labels exist but no series has these values *yet* — client
/// libraries create a labelled series at its first increment, so the 5xx
/// series of a service that has not failed is missing — shown for
/// information, not counted.
pub async fn missing_series(
    prometheus: &PromClient,
    alert: &str,
    origin: &str,
    expr: &Expr,
    recorded: &[String],
) -> Result<Vec<LintFinding>, PromError> {
    let absent: Vec<String> = promql::absent_selectors(expr)
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut findings = Vec::new();
    let mut seen = Vec::new();
    let mut names: Option<Vec<String>> = None;
    for selector in promql::selectors(expr) {
        let text = selector.to_string();
        let Some(name) = metric_name(selector) else {
            continue;
        };
        if seen.contains(&text) || name.starts_with("ALERTS") || recorded.contains(&name) {
            continue;
        }
        seen.push(text.clone());
        if count(prometheus, &text).await? > 0.0 {
            continue;
        }
        let (why, kind) = what_is_missing(prometheus, selector, &name, &mut names).await?;
        findings.push(missing_finding(
            alert,
            origin,
            &text,
            why,
            kind,
            absent.contains(&text),
        ));
    }
    Ok(findings)
}

/// Why a selector with no series has none: its metric is not there (with
/// the nearest names, asked once: `names`), a label is not, or only the
/// values are not yet.
async fn what_is_missing(
    prometheus: &PromClient,
    selector: &VectorSelector,
    name: &str,
    names: &mut Option<Vec<String>>,
) -> Result<(String, Missing), PromError> {
    let metric = format!("{{__name__=\"{name}\"}}");
    if count(prometheus, &metric).await? == 0.0 {
        if names.is_none() {
            *names = Some(prometheus.label_values("__name__", None).await?);
        }
        let near = nearest(name, names.as_deref().unwrap_or_default());
        return Ok((
            format!(
                "Prometheus has no series of `{name}` at all{}",
                did_you_mean(&near)
            ),
            Missing::Metric,
        ));
    }
    let labels = prometheus.label_names(&metric).await?;
    let unknown: Vec<&str> = selector
        .matchers
        .matchers
        .iter()
        .filter(|m| m.name != "__name__" && !m.is_match("") && !labels.contains(&m.name))
        .map(|m| m.name.as_str())
        .collect();
    if let Some(label) = unknown.first() {
        let near = nearest(label, &labels);
        return Ok((
            format!(
                "`{name}` has no label `{label}` (its labels: {}){}",
                labels
                    .iter()
                    .filter(|l| *l != "__name__")
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                did_you_mean(&near)
            ),
            Missing::Label,
        ));
    }
    Ok((
        format!(
            "`{name}` and its labels exist, but no series has the values `{selector}` asks for yet ({})",
            seen_values(prometheus, name, selector).await?
        ),
        Missing::Values,
    ))
}

/// What a selector with no series is missing.
#[derive(PartialEq)]
enum Missing {
    Metric,
    Label,
    Values,
}

fn missing_finding(
    alert: &str,
    origin: &str,
    text: &str,
    why: String,
    kind: Missing,
    in_absent: bool,
) -> LintFinding {
    let (severity, reason, fix) = if in_absent {
        (
            Severity::Error,
            format!("absent({text}) over nothing: {why}, so this alert fires all the time"),
            "select what the scrape config really produces (its job and labels), e.g. check the job name against Status → Targets".to_string(),
        )
    } else if kind == Missing::Values {
        (
            Severity::Info,
            format!("{why}: client libraries create a labelled series at its first increment, so the alert cannot fire until one exists"),
            "nothing, if the values are right: the series appears with the first such event".to_string(),
        )
    } else {
        (
            Severity::Warning,
            format!("{why}: this alert cannot fire until it has"),
            "check the metric's name and labels against what the target exposes, or that the target is scraped".to_string(),
        )
    };
    LintFinding::new(LintId::SeriesMissing, alert, origin, reason, fix).with_severity(severity)
}

/// The values the selector's labels do take on the metric, for the reader.
async fn seen_values(
    prometheus: &PromClient,
    name: &str,
    selector: &VectorSelector,
) -> Result<String, PromError> {
    let mut parts = Vec::new();
    for m in &selector.matchers.matchers {
        if m.name == "__name__" {
            continue;
        }
        let mut values = prometheus
            .label_values(&m.name, Some(&format!("{{__name__=\"{name}\"}}")))
            .await?;
        values.truncate(6);
        parts.push(format!("{} seen: {}", m.name, values.join(", ")));
    }
    Ok(parts.join("; "))
}

fn did_you_mean(near: &[String]) -> String {
    match near {
        [] => String::new(),
        [one] => format!("; did you mean `{one}`?"),
        many => format!(
            "; did you mean one of {}?",
            many.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Up to three of `candidates` closest to `name` by edit distance, within
/// a third of its length (at least 2 edits).
pub fn nearest(name: &str, candidates: &[String]) -> Vec<String> {
    let limit = (name.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &String)> = candidates
        .iter()
        .filter(|c| c.as_str() != name)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, c)| c.clone()).collect()
}

/// Levenshtein distance, one row at a time.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Alerts among `names` that the Prometheus evaluates with an error.
pub async fn evaluation_errors(
    prometheus: &PromClient,
    names: &[(String, String)],
) -> Result<Vec<LintFinding>, PromError> {
    let mut findings = Vec::new();
    for group in prometheus.rules().await? {
        for rule in &group.rules {
            if rule.rule_health() != RuleHealth::Err {
                continue;
            }
            let Some((_, origin)) = names.iter().find(|(name, _)| *name == rule.name) else {
                continue;
            };
            findings.push(LintFinding::new(
                LintId::RuleEvaluationError,
                rule.name.clone(),
                origin.clone(),
                format!(
                    "Prometheus fails to evaluate it: {}",
                    rule.last_error.clone().unwrap_or_default()
                ),
                "fix the expression: with the error, the alert can never fire",
            ));
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_names_are_offered() {
        let names: Vec<String> = [
            "gateway_http_requests_total",
            "gateway_http_request_duration_seconds_bucket",
            "up",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            nearest("gateway_http_request_total", &names),
            vec!["gateway_http_requests_total".to_string()]
        );
        assert!(nearest("node_load1", &names).is_empty());
        assert_eq!(edit_distance("status", "statu"), 1);
        assert_eq!(edit_distance("code", "status"), 6);
    }
}
