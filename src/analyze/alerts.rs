//! The per-alert stage of `rules check`: each alerting rule parsed, linted,
//! checked against a live Prometheus when one is given (missing series,
//! evaluation errors, its histograms' real buckets), and timed.

use std::collections::BTreeMap;
use std::time::Duration;

use promql_parser::parser::Expr;
use serde::Serialize;

use super::lint::{self, Finding, Severity};
use super::live;
use super::timing::{self, Intervals, Shape, Timing};
use super::CheckError;
use crate::prom::PromClient;
use crate::rules::{promql, Group, LoadedGroups, RuleDef};

#[derive(Debug, Clone, Serialize)]
pub struct AlertAnalysis {
    pub alert: String,
    pub origin: String,
    /// The rule's own labels (`severity: warning`), as written.
    pub labels: BTreeMap<String, String>,
    pub group: String,
    pub expr: String,
    pub for_seconds: f64,
    pub group_interval_seconds: f64,
    /// None: a condition the timing model does not know.
    pub shape: Option<Shape>,
    pub timings: Vec<Timing>,
}

/// Histograms' bucket bounds read from a live Prometheus, by histogram name
/// (without `_bucket`); `None`: asked, and it has no such buckets.
pub type Buckets = BTreeMap<String, Option<Vec<f64>>>;

pub struct Analysed {
    pub alerts: Vec<AlertAnalysis>,
    pub findings: Vec<Finding>,
    pub buckets: Buckets,
}

/// Analyses every alerting rule of `groups`.
pub async fn analyse(
    groups: &[LoadedGroups],
    intervals: &Intervals,
    prometheus: Option<&PromClient>,
) -> Result<Analysed, CheckError> {
    // Recording rules' names exist only once the rules run.
    let recorded: Vec<String> = groups
        .iter()
        .flat_map(|l| &l.groups)
        .flat_map(|g| &g.rules)
        .filter_map(|r| r.record.clone())
        .collect();
    let mut analysed = Analysed {
        alerts: Vec::new(),
        findings: Vec::new(),
        buckets: Buckets::new(),
    };
    for loaded in groups {
        for group in &loaded.groups {
            for rule in &group.rules {
                let Some(alert) = &rule.alert else { continue };
                let site = Site {
                    alert,
                    origin: &loaded.origin,
                    group,
                    rule,
                };
                site.analyse(intervals, prometheus, &recorded, &mut analysed)
                    .await?;
            }
        }
    }
    if let Some(client) = prometheus {
        let names: Vec<(String, String)> = analysed
            .alerts
            .iter()
            .map(|a| (a.alert.clone(), a.origin.clone()))
            .collect();
        analysed
            .findings
            .extend(live::evaluation_errors(client, &names).await?);
    }
    Ok(analysed)
}

/// One alerting rule and where it was written.
struct Site<'a> {
    alert: &'a str,
    origin: &'a str,
    group: &'a Group,
    rule: &'a RuleDef,
}

fn duration_of(text: Option<&str>) -> Option<Duration> {
    text.and_then(|t| promql_parser::util::parse_duration(t).ok())
}

impl Site<'_> {
    async fn analyse(
        &self,
        intervals: &Intervals,
        prometheus: Option<&PromClient>,
        recorded: &[String],
        into: &mut Analysed,
    ) -> Result<(), CheckError> {
        let group_interval =
            duration_of(self.group.interval.as_deref()).unwrap_or(intervals.evaluation);
        let hold = duration_of(self.rule.for_.as_deref()).unwrap_or_default();
        let keep = duration_of(self.rule.keep_firing_for.as_deref()).unwrap_or_default();
        let expr = match promql_parser::parser::parse(&self.rule.expr) {
            Ok(expr) => expr,
            Err(e) => {
                into.findings.push(Finding {
                    id: "rule/parse",
                    severity: Severity::Error,
                    subject: self.alert.to_string(),
                    origin: self.origin.to_string(),
                    reason: format!("the expression does not parse: {e}"),
                    fix: "fix the PromQL (promtool check rules says the same)".into(),
                });
                return Ok(());
            }
        };
        if let Some(client) = prometheus {
            prefetch_buckets(client, &expr, &mut into.buckets).await;
            into.findings.extend(
                live::missing_series(client, self.alert, self.origin, &expr, recorded).await?,
            );
        }
        let buckets = |name: &str| into.buckets.get(name).cloned().flatten();
        let context = lint::Context {
            scrape_interval: intervals.scrape,
            group_interval,
            buckets: &buckets,
        };
        let findings = lint::lint_alert(self.alert, self.origin, &expr, hold, &context);
        into.findings.extend(findings);
        let shape = lint::classify(&expr).or_else(|| lint::classify_absent(&expr));
        let group_intervals = Intervals {
            evaluation: group_interval,
            ..*intervals
        };
        let timings = shape
            .iter()
            .flat_map(|s| {
                timing::default_steps(s)
                    .into_iter()
                    .map(move |step| (s, step))
            })
            .map(|(s, step)| timing::time_to_fire(s, step, hold, keep, &group_intervals))
            .collect();
        into.alerts.push(AlertAnalysis {
            alert: self.alert.to_string(),
            origin: self.origin.to_string(),
            labels: self.rule.labels.clone(),
            group: self.group.name.clone(),
            expr: self.rule.expr.trim().to_string(),
            for_seconds: hold.as_secs_f64(),
            group_interval_seconds: group_interval.as_secs_f64(),
            shape,
            timings,
        });
        Ok(())
    }
}

/// Reads the buckets of the histograms the lints will ask about
/// (`lint::quantile_call`), once per histogram.
async fn prefetch_buckets(client: &PromClient, expr: &Expr, buckets: &mut Buckets) {
    let mut histograms = Vec::new();
    promql::walk(expr, &mut |node| {
        if let Some((_, histogram, _)) = lint::quantile_call(node) {
            histograms.push(histogram);
        }
    });
    for histogram in histograms {
        if let std::collections::btree_map::Entry::Vacant(slot) = buckets.entry(histogram) {
            let bounds = live::bucket_bounds(client, slot.key()).await;
            slot.insert(bounds);
        }
    }
}
