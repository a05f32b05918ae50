//! What only a running Prometheus can tell about rules: its intervals, the
//! buckets its histograms really have, selectors that match no series
//! (`series/missing`), and rules whose evaluation fails
//! (`rule/evaluation-error`).

use promql_parser::parser::Expr;

use super::lint::{Finding, Severity};
use crate::prom::{PromClient, PromError, QueryResult};
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
pub async fn missing_series(
    prometheus: &PromClient,
    alert: &str,
    origin: &str,
    expr: &Expr,
    recorded: &[String],
) -> Result<Vec<Finding>, PromError> {
    let absent: Vec<String> = super::lint::absent_selectors(expr)
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut findings = Vec::new();
    let mut seen = Vec::new();
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
        let metric_exists = count(prometheus, &format!("{{__name__=\"{name}\"}}")).await? > 0.0;
        let why = if metric_exists {
            format!("`{name}` exists, but no series has the labels `{text}` asks for")
        } else {
            format!("Prometheus has no series of `{name}` at all")
        };
        let (severity, reason, fix) = if absent.contains(&text) {
            (
                Severity::Error,
                format!("absent({text}) over nothing: {why}, so this alert fires all the time"),
                "select what the scrape config really produces (its job and labels), e.g. check the job name against Status → Targets".to_string(),
            )
        } else {
            (
                Severity::Warning,
                format!("{why}: this alert cannot fire until it has"),
                "check the metric's name and labels against what the target exposes, or that the target is scraped".to_string(),
            )
        };
        findings.push(Finding {
            id: "series/missing",
            severity,
            subject: alert.to_string(),
            origin: origin.to_string(),
            reason,
            fix,
            assumption: None,
        });
    }
    Ok(findings)
}

/// Alerts among `names` that the Prometheus evaluates with an error.
pub async fn evaluation_errors(
    prometheus: &PromClient,
    names: &[(String, String)],
) -> Result<Vec<Finding>, PromError> {
    let mut findings = Vec::new();
    for group in prometheus.rules().await? {
        for rule in &group.rules {
            if rule.health != "err" {
                continue;
            }
            let Some((_, origin)) = names.iter().find(|(name, _)| *name == rule.name) else {
                continue;
            };
            findings.push(Finding {
                id: "rule/evaluation-error",
                severity: Severity::Error,
                subject: rule.name.clone(),
                origin: origin.clone(),
                reason: format!(
                    "Prometheus fails to evaluate it: {}",
                    rule.last_error.clone().unwrap_or_default()
                ),
                fix: "fix the expression: with the error, the alert can never fire".into(),
                assumption: None,
            });
        }
    }
    Ok(findings)
}

/// Active silences that match an alert: a scenario's alerts when one is
/// given, else every alert analysed (`alertmanager/silence`).
pub fn silence_findings(
    silences: &[crate::prom::alertmanager::AmSilence],
    alerts: &[super::AlertAnalysis],
    scenario: Option<&crate::plan::Plan>,
    config: &crate::rules::alertmanager::AlertmanagerConfig,
) -> Vec<Finding> {
    use crate::rules::alertmanager::{all_match, MatchOp, Matcher};
    let wanted: Option<Vec<&str>> =
        scenario.map(|p| p.checks.iter().filter_map(|c| c.kind.alert()).collect());
    let mut findings = Vec::new();
    for silence in silences {
        let matchers: Vec<Matcher> = silence
            .matchers
            .iter()
            .filter_map(|m| {
                let op = match (m.is_equal, m.is_regex) {
                    (true, false) => MatchOp::Equal,
                    (false, false) => MatchOp::NotEqual,
                    (true, true) => MatchOp::Regex,
                    (false, true) => MatchOp::NotRegex,
                };
                Matcher::new(&m.name, op, &m.value).ok()
            })
            .collect();
        for alert in alerts {
            if wanted
                .as_ref()
                .is_some_and(|w| !w.contains(&alert.alert.as_str()))
            {
                continue;
            }
            let matched = super::routing::label_sets(alert, config)
                .into_iter()
                .find(|labels| all_match(&matchers, labels));
            if let Some(labels) = matched {
                findings.push(Finding {
                    id: "alertmanager/silence",
                    severity: Severity::Error,
                    subject: format!("{} {{{}}}", alert.alert, super::routing::labels_text(&labels)),
                    origin: format!("silence {}", silence.id),
                    reason: format!(
                        "the active silence {} ({}, created by {}: \"{}\", ends at {}) mutes this alert: its page would not come",
                        silence.id,
                        silence.matchers.iter().map(|m| m.text()).collect::<Vec<_>>().join(", "),
                        silence.created_by,
                        silence.comment,
                        silence.ends_at
                    ),
                    fix: format!("expire it if the maintenance is over: amtool silence expire {}", silence.id),
                    assumption: None,
                });
            }
        }
    }
    findings
}
