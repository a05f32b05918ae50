//! `firedrill rules check`: reads rule files, Prometheus configs and
//! dashboards (plain, ConfigMap or PrometheusRule), lints every alert,
//! computes its time to fire, checks a scenario's deadlines against it, and,
//! given a live Prometheus, finds selectors with no series, rules that fail
//! to evaluate, and dashboard panels with no data.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::dashboard::{self, Dashboard, PanelResult};
use super::lint::{self, Finding, Severity};
use super::timing::{self, Intervals, Shape, Step, Timing};
use super::{parse_global_intervals, parse_rule_text, LoadedGroups, RulesError};
use crate::plan::{Anchor, CheckKind, FaultPlan, Plan, PrometheusPlan, Source};
use crate::prom::{PromClient, PromError};

#[derive(Debug, Default, Clone)]
pub struct CheckOptions {
    pub files: Vec<PathBuf>,
    pub scenario: Option<Plan>,
    pub prometheus: Option<String>,
    pub scrape_interval: Option<Duration>,
    pub evaluation_interval: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0}")]
    Input(#[from] RulesError),
    #[error("{0}")]
    Prometheus(#[from] PromError),
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertAnalysis {
    pub alert: String,
    pub origin: String,
    pub group: String,
    pub expr: String,
    pub for_seconds: f64,
    pub group_interval_seconds: f64,
    /// None: a condition the timing model does not know.
    pub shape: Option<Shape>,
    pub timings: Vec<Timing>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeadlineCheck {
    pub check: String,
    pub alert: String,
    /// As written in the scenario (before time scaling).
    pub deadline_seconds: f64,
    pub anchor: String,
    pub step: Option<Step>,
    pub firing: Option<timing::Bounds>,
    /// `met` (worst case within), `can be missed`, `cannot be met`, `unknown`.
    pub outcome: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DashboardResult {
    pub title: String,
    pub origin: String,
    pub panels: Vec<PanelResult>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RulesReport {
    pub intervals: Intervals,
    /// Where the intervals came from.
    pub intervals_from: String,
    pub alerts: Vec<AlertAnalysis>,
    pub findings: Vec<Finding>,
    pub deadlines: Vec<DeadlineCheck>,
    pub dashboards: Vec<DashboardResult>,
    pub notes: Vec<String>,
}

impl RulesReport {
    /// Problems (not notes): what makes the command exit 1.
    pub fn problems(&self) -> usize {
        self.findings.len()
    }
}

struct Inputs {
    groups: Vec<LoadedGroups>,
    dashboards: Vec<Dashboard>,
    scrape: Option<Duration>,
    evaluation: Option<Duration>,
    timeout: Option<Duration>,
    config_origin: Option<String>,
}

/// Reads the given files; a directory stands for its YAML and JSON files,
/// of which those holding nothing to check (a Deployment) are skipped.
fn read_inputs(paths: &[PathBuf]) -> Result<Inputs, RulesError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            files.extend(
                expand(std::slice::from_ref(path))
                    .into_iter()
                    .map(|f| (f, false)),
            );
        } else {
            files.push((path.clone(), true));
        }
    }
    let mut inputs = Inputs {
        groups: Vec::new(),
        dashboards: Vec::new(),
        scrape: None,
        evaluation: None,
        timeout: None,
        config_origin: None,
    };
    for (file, named) in &files {
        let origin = file.display().to_string();
        let text =
            std::fs::read_to_string(file).map_err(|e| RulesError::plain(&origin, e.to_string()))?;
        let groups = if text.trim_start().starts_with('{') {
            Vec::new()
        } else {
            parse_rule_text(&text, file)?
        };
        let dashboards = dashboard::parse_dashboards(&text, file)?;
        let intervals = if text.trim_start().starts_with('{') {
            Default::default()
        } else {
            parse_global_intervals(&text, file)?
        };
        let parse = |text: &Option<String>| -> Result<Option<Duration>, RulesError> {
            text.as_deref()
                .map(|t| {
                    promql_parser::util::parse_duration(t)
                        .map_err(|e| RulesError::plain(&origin, e))
                })
                .transpose()
        };
        let found_config =
            intervals.scrape_interval.is_some() || intervals.evaluation_interval.is_some();
        if found_config {
            inputs.scrape = parse(&intervals.scrape_interval)?.or(inputs.scrape);
            inputs.evaluation = parse(&intervals.evaluation_interval)?.or(inputs.evaluation);
            inputs.timeout = parse(&intervals.scrape_timeout)?.or(inputs.timeout);
            inputs.config_origin = Some(origin.clone());
        }
        if groups.is_empty() && dashboards.is_empty() && !found_config && *named {
            return Err(RulesError::plain(
                &origin,
                "no rule groups, Prometheus configuration or Grafana dashboard found".into(),
            ));
        }
        inputs.groups.extend(groups);
        inputs.dashboards.extend(dashboards);
    }
    Ok(inputs)
}

pub async fn check(options: &CheckOptions) -> Result<RulesReport, CheckError> {
    let mut notes = Vec::new();
    let mut files = options.files.clone();
    if files.is_empty() {
        if let Some(PrometheusPlan::Embedded { rule_files, .. }) =
            options.scenario.as_ref().map(|p| &p.prometheus)
        {
            files = rule_files.clone();
        }
    }
    let mut inputs = read_inputs(&files)?;
    let uses_shipped = files.is_empty()
        && matches!(
            options.scenario.as_ref().map(|p| &p.prometheus),
            Some(PrometheusPlan::Embedded { .. })
        );
    if uses_shipped {
        inputs.groups = super::shipped_rules()?;
        let (scrape, evaluation) = super::shipped_intervals()?;
        inputs.scrape = Some(scrape);
        inputs.evaluation = Some(evaluation);
        inputs.config_origin = Some(super::SHIPPED_CONFIG_PATH.into());
    }
    if inputs.groups.is_empty() && inputs.dashboards.is_empty() {
        return Err(RulesError::plain(
            "(command line)",
            "nothing to check: give rule files, dashboards or a scenario".into(),
        )
        .into());
    }

    let prometheus = match &options.prometheus {
        Some(url) => {
            let client = PromClient::new(url)?;
            client.wait_ready(Duration::from_secs(10)).await?;
            Some(client)
        }
        None => None,
    };
    let live = match &prometheus {
        Some(client) => Some(super::live::intervals(client).await?),
        None => None,
    };
    let (intervals, intervals_from) = {
        let from_live = |i: usize| live.as_ref().and_then(|l| l[i]);
        let scrape = options.scrape_interval.or(inputs.scrape).or(from_live(0));
        let evaluation = options
            .evaluation_interval
            .or(inputs.evaluation)
            .or(from_live(1));
        let timeout = inputs.timeout.or(from_live(2));
        let from = if options.scrape_interval.is_some() || options.evaluation_interval.is_some() {
            "the command line".to_string()
        } else if let Some(origin) = &inputs.config_origin {
            origin.clone()
        } else if live.is_some() {
            format!(
                "the configuration of {}",
                options.prometheus.clone().unwrap_or_default()
            )
        } else {
            notes.push("no Prometheus configuration given: assuming Prometheus's defaults (scrape and evaluate every 1m)".into());
            "Prometheus's defaults".to_string()
        };
        let scrape = scrape.unwrap_or(Duration::from_secs(60));
        (
            Intervals {
                scrape,
                evaluation: evaluation.unwrap_or(Duration::from_secs(60)),
                scrape_timeout: timeout.unwrap_or(Duration::from_secs(10)).min(scrape),
            },
            from,
        )
    };

    // Recording rules' names exist only once the rules run.
    let recorded: Vec<String> = inputs
        .groups
        .iter()
        .flat_map(|l| &l.groups)
        .flat_map(|g| &g.rules)
        .filter_map(|r| r.record.clone())
        .collect();
    let mut findings = Vec::new();
    let mut alerts = Vec::new();
    let mut bucket_cache: Vec<(String, Option<Vec<f64>>)> = Vec::new();
    for loaded in &inputs.groups {
        for group in &loaded.groups {
            let group_interval = group
                .interval
                .as_deref()
                .and_then(|t| promql_parser::util::parse_duration(t).ok())
                .unwrap_or(intervals.evaluation);
            for rule in &group.rules {
                let Some(alert) = &rule.alert else { continue };
                let hold = rule
                    .for_
                    .as_deref()
                    .and_then(|t| promql_parser::util::parse_duration(t).ok())
                    .unwrap_or_default();
                let keep = rule
                    .keep_firing_for
                    .as_deref()
                    .and_then(|t| promql_parser::util::parse_duration(t).ok())
                    .unwrap_or_default();
                let expr = match promql_parser::parser::parse(&rule.expr) {
                    Ok(expr) => expr,
                    Err(e) => {
                        findings.push(Finding {
                            id: "rule/parse",
                            severity: Severity::Error,
                            subject: alert.clone(),
                            origin: loaded.origin.clone(),
                            reason: format!("the expression does not parse: {e}"),
                            fix: "fix the PromQL (promtool check rules says the same)".into(),
                        });
                        continue;
                    }
                };
                if let Some(client) = &prometheus {
                    let mut histograms = Vec::new();
                    // The histograms the lints will ask about (lint::quantile_call).
                    super::promql::walk(&expr, &mut |node| {
                        if let Some((_, histogram, _)) = lint::quantile_call(node) {
                            histograms.push(histogram);
                        }
                    });
                    for histogram in histograms {
                        if !bucket_cache.iter().any(|(h, _)| *h == histogram) {
                            let bounds = super::live::bucket_bounds(client, &histogram).await;
                            bucket_cache.push((histogram, bounds));
                        }
                    }
                    findings.extend(
                        super::live::missing_series(
                            client,
                            alert,
                            &loaded.origin,
                            &expr,
                            &recorded,
                        )
                        .await?,
                    );
                }
                let buckets = |name: &str| {
                    bucket_cache
                        .iter()
                        .find(|(h, _)| h == name)
                        .and_then(|(_, b)| b.clone())
                };
                let context = lint::Context {
                    scrape_interval: intervals.scrape,
                    group_interval,
                    buckets: &buckets,
                };
                findings.extend(lint::lint_alert(
                    alert,
                    &loaded.origin,
                    &expr,
                    hold,
                    &context,
                ));
                let shape = lint::classify(&expr).or_else(|| lint::classify_absent(&expr));
                let group_intervals = Intervals {
                    evaluation: group_interval,
                    ..intervals
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
                alerts.push(AlertAnalysis {
                    alert: alert.clone(),
                    origin: loaded.origin.clone(),
                    group: group.name.clone(),
                    expr: rule.expr.trim().to_string(),
                    for_seconds: hold.as_secs_f64(),
                    group_interval_seconds: group_interval.as_secs_f64(),
                    shape,
                    timings,
                });
            }
        }
    }
    if let Some(client) = &prometheus {
        let names: Vec<(String, String)> = alerts
            .iter()
            .map(|a| (a.alert.clone(), a.origin.clone()))
            .collect();
        findings.extend(super::live::evaluation_errors(client, &names).await?);
    }

    let mut deadlines = Vec::new();
    if let Some(plan) = &options.scenario {
        deadlines = deadline_checks(plan, &alerts, &intervals);
        for deadline in &deadlines {
            let severity = match deadline.outcome.as_str() {
                "cannot be met" => Severity::Error,
                "can be missed" => Severity::Warning,
                _ => continue,
            };
            findings.push(Finding {
                id: "scenario/deadline",
                severity,
                subject: format!("{} ({})", deadline.check, deadline.alert),
                origin: plan.file.display().to_string(),
                reason: format!("the deadline {} {}: {}", fmt(deadline.deadline_seconds), deadline.outcome, deadline.why),
                fix: "lengthen the deadline to the worst case, or change the rule (window, `for`) so it fires sooner".into(),
            });
        }
        findings.extend(slo_threshold_findings(plan, &bucket_cache));
    }

    let mut dashboards = Vec::new();
    for dashboard in &inputs.dashboards {
        findings.extend(interval_window_findings(dashboard));
        if let Some(client) = &prometheus {
            let end = crate::drill::local_now();
            let panels =
                dashboard::run_panels(dashboard, client, end - 3600.0, end, intervals.scrape).await;
            for panel in panels.iter().filter(|p| !p.has_data) {
                findings.push(Finding {
                    id: "dashboard/no-data",
                    severity: Severity::Warning,
                    subject: format!("{} / {}", dashboard.title, panel.title),
                    origin: dashboard.origin.clone(),
                    reason: match &panel.error {
                        Some(e) => format!("its query fails: {e}"),
                        None => format!("no data in the last hour for {}", panel.queries.join(" ; ")),
                    },
                    fix: "check the metric names and labels in Prometheus (Graph tab), and that the target is scraped".into(),
                });
            }
            dashboards.push(DashboardResult {
                title: dashboard.title.clone(),
                origin: dashboard.origin.clone(),
                panels,
            });
        } else if !dashboard.panels.is_empty() {
            notes.push(format!(
                "dashboard `{}`: {} panels read; give --prometheus to find the ones with no data",
                dashboard.title,
                dashboard.panels.len()
            ));
        }
    }
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.subject.cmp(&b.subject)));
    Ok(RulesReport {
        intervals,
        intervals_from,
        alerts,
        findings,
        deadlines,
        dashboards,
        notes,
    })
}

use timing::fmt;

/// `[$__interval]` as a range window: at the floor of $__interval (a zoomed-in
/// view) it holds one scrape, and rate() shows nothing.
fn interval_window_findings(dashboard: &Dashboard) -> Vec<Finding> {
    dashboard
        .panels
        .iter()
        .filter(|p| p.queries.iter().any(|q| q.contains("[$__interval]") || q.contains("[${__interval}]")))
        .map(|p| Finding {
            id: "dashboard/interval-window",
            severity: Severity::Warning,
            subject: format!("{} / {}", dashboard.title, p.title),
            origin: dashboard.origin.clone(),
            reason: "`[$__interval]` as a range window holds a single scrape when the time range is short: the panel shows No data".into(),
            fix: "use [$__rate_interval] (at least four scrape intervals)".into(),
        })
        .collect()
}

/// The step a phase's fault makes in what an alert watches.
fn step_for(fault: Option<&FaultPlan>, shape: &Shape, expr: &str) -> Option<Step> {
    let fault = fault?;
    let watches_job = |job: &str| expr.contains(&format!("job=\"{job}\""));
    match (fault, shape) {
        (FaultPlan::Demo(f), Shape::Ratio { .. } | Shape::AnyIncrease { .. }) => {
            if f.gateway_down {
                None // the gateway counts nothing while it is down
            } else if f.backend_down {
                Some(Step::ErrorShare(1.0))
            } else if f.backend_error_ratio > 0.0 {
                Some(Step::ErrorShare(f.backend_error_ratio))
            } else {
                None
            }
        }
        (FaultPlan::Demo(f), Shape::Quantile { threshold, .. }) => {
            (f.backend_latency.as_secs_f64() > *threshold).then_some(Step::SlowShare(1.0))
        }
        (FaultPlan::Demo(f), Shape::TargetDown { .. }) => {
            let down = (f.gateway_down && watches_job("api-gateway"))
                || (f.backend_down && watches_job("sentiment-api"));
            down.then_some(Step::ScrapeFails)
        }
        (
            FaultPlan::Scale {
                deployment,
                replicas: 0,
                ..
            },
            Shape::TargetDown { .. },
        ) if watches_job(deployment) => Some(Step::TargetRemoved),
        (FaultPlan::Scale { replicas: 0, .. }, Shape::Ratio { .. } | Shape::AnyIncrease { .. }) => {
            Some(Step::ErrorShare(1.0))
        }
        _ => None,
    }
}

fn deadline_checks(
    plan: &Plan,
    alerts: &[AlertAnalysis],
    intervals: &Intervals,
) -> Vec<DeadlineCheck> {
    let mut found = Vec::new();
    for check in &plan.checks {
        let CheckKind::FiresWithin {
            alert,
            deadline,
            anchor,
        } = &check.kind
        else {
            continue;
        };
        let deadline_seconds = deadline.as_secs_f64() * plan.time_scale;
        let Some(analysis) = alerts.iter().find(|a| &a.alert == alert) else {
            found.push(DeadlineCheck {
                check: check.id.clone(),
                alert: alert.clone(),
                deadline_seconds,
                anchor: String::new(),
                step: None,
                firing: None,
                outcome: "unknown".into(),
                why: format!("no rule named `{alert}` in the rules checked"),
            });
            continue;
        };
        let group_intervals = Intervals {
            evaluation: Duration::from_secs_f64(analysis.group_interval_seconds),
            ..*intervals
        };
        let hold = Duration::from_secs_f64(analysis.for_seconds);
        let (anchor_text, firing, step, why) = match anchor {
            Anchor::Condition { .. } => {
                let f = timing::rounded_up(hold, group_intervals.evaluation);
                let e = group_intervals.evaluation.as_secs_f64();
                (
                    "its condition held".to_string(),
                    Some(timing::Bounds {
                        best_seconds: f,
                        worst_seconds: f + e,
                    }),
                    None,
                    format!(
                        "the next evaluation comes within {} and `for` waits {}",
                        fmt(e),
                        fmt(f)
                    ),
                )
            }
            Anchor::PhaseStart { phase } | Anchor::PhaseEnd { phase } => {
                let phase_plan = &plan.phases[*phase];
                let text = format!(
                    "{}.{}",
                    phase_plan.name,
                    if matches!(anchor, Anchor::PhaseStart { .. }) {
                        "start"
                    } else {
                        "end"
                    }
                );
                let step = analysis
                    .shape
                    .as_ref()
                    .and_then(|shape| step_for(phase_plan.fault.as_ref(), shape, &analysis.expr));
                match (&analysis.shape, step) {
                    (Some(shape), Some(step)) => {
                        let t = timing::time_to_fire(
                            shape,
                            step,
                            hold,
                            Duration::ZERO,
                            &group_intervals,
                        );
                        (text, t.firing, Some(step), t.why)
                    }
                    (None, _) => (
                        text,
                        None,
                        None,
                        "the timing model does not know this rule's shape".into(),
                    ),
                    (Some(_), None) => (
                        text,
                        None,
                        None,
                        "the timing model does not know what this phase's fault does to the rule"
                            .into(),
                    ),
                }
            }
        };
        let outcome = match (&firing, step, anchor) {
            (Some(b), _, _) if b.worst_seconds <= deadline_seconds => "met",
            (Some(b), _, _) if b.best_seconds > deadline_seconds => "cannot be met",
            (Some(_), _, _) => "can be missed",
            (None, Some(_), _) => "cannot be met",
            (None, None, _) => "unknown",
        };
        let arithmetic = match &firing {
            Some(b) => format!(
                "fires {}–{} after {anchor_text}; {why}",
                fmt(b.best_seconds),
                fmt(b.worst_seconds)
            ),
            None if step.is_some() => format!("never fires after {anchor_text}: {why}"),
            None => why,
        };
        found.push(DeadlineCheck {
            check: check.id.clone(),
            alert: alert.clone(),
            deadline_seconds,
            anchor: anchor_text,
            step,
            firing,
            outcome: outcome.into(),
            why: arithmetic,
        });
    }
    found
}

/// Latency SLOs checked against Prometheus histograms at a bound that is
/// not a bucket boundary rest on interpolation.
fn slo_threshold_findings(plan: &Plan, buckets: &[(String, Option<Vec<f64>>)]) -> Vec<Finding> {
    let histogram = &plan.service_metrics.duration_seconds;
    let (bounds, assumed) = match buckets
        .iter()
        .find(|(h, _)| h == histogram)
        .and_then(|(_, b)| b.clone())
    {
        Some(bounds) => (bounds, false),
        None => (lint::DEFAULT_BUCKETS.to_vec(), true),
    };
    plan.checks
        .iter()
        .filter_map(|check| match &check.kind {
            CheckKind::Latency {
                below,
                source: Source::Prometheus,
                ..
            } => {
                let t = below.as_secs_f64();
                (!bounds.iter().any(|b| (b - t).abs() < 1e-9)).then(|| Finding {
                    id: "histogram/threshold-between-buckets",
                    severity: Severity::Warning,
                    subject: check.id.clone(),
                    origin: plan.file.display().to_string(),
                    reason: format!(
                        "the SLO bound {}ms is not a bucket boundary of {histogram}{}: its service-side check rests on interpolation",
                        t * 1000.0,
                        if assumed { " (assuming the default buckets)" } else { "" }
                    ),
                    fix: "use a bucket boundary as the bound".into(),
                })
            }
            _ => None,
        })
        .collect()
}

/// The report as a table for people.
pub fn render_table(report: &RulesReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Intervals: scrape {}, evaluation {} (from {})\n\n",
        crate::scenario::units::format_duration(report.intervals.scrape),
        crate::scenario::units::format_duration(report.intervals.evaluation),
        report.intervals_from
    ));
    out.push_str("Time to fire after a step change (best – worst):\n");
    for alert in &report.alerts {
        out.push_str(&format!(
            "  {} (for {}, every {})\n",
            alert.alert,
            fmt(alert.for_seconds),
            fmt(alert.group_interval_seconds)
        ));
        if alert.timings.is_empty() {
            out.push_str("      (a condition the timing model does not know)\n");
        }
        for t in &alert.timings {
            let step = match t.step {
                Step::ErrorShare(p) => format!("errors → {:.1}%", p * 100.0),
                Step::SlowShare(f) => format!("slow requests → {:.1}%", f * 100.0),
                Step::RateMultiple(m) => format!("rate → {m}× threshold"),
                Step::ScrapeFails => "scrapes fail".into(),
                Step::TargetRemoved => "target removed".into(),
            };
            let range = |b: &Option<timing::Bounds>| {
                b.map(|b| format!("{}–{}", fmt(b.best_seconds), fmt(b.worst_seconds)))
                    .unwrap_or_else(|| "never".into())
            };
            out.push_str(&format!(
                "      {step:<22} pending {:<18} firing {:<18} resolved {}\n",
                range(&t.pending),
                range(&t.firing),
                range(&t.resolved)
            ));
        }
    }
    if !report.deadlines.is_empty() {
        out.push_str("\nScenario deadlines:\n");
        for d in &report.deadlines {
            out.push_str(&format!(
                "  {:<14} {} {} within {}: {}\n      {}\n",
                d.outcome.to_uppercase(),
                d.check,
                d.alert,
                fmt(d.deadline_seconds),
                d.anchor,
                d.why
            ));
        }
    }
    for dashboard in &report.dashboards {
        out.push_str(&format!("\nDashboard `{}`:\n", dashboard.title));
        for panel in &dashboard.panels {
            out.push_str(&format!(
                "  {:<8} {}\n",
                if panel.has_data { "data" } else { "NO DATA" },
                panel.title
            ));
        }
    }
    out.push_str(&format!("\n{} findings\n", report.findings.len()));
    for f in &report.findings {
        out.push_str(&format!(
            "  {:<7} {:<38} {}\n          {}\n          fix: {}\n",
            match f.severity {
                Severity::Error => "ERROR",
                Severity::Warning => "WARN",
            },
            f.id,
            f.subject,
            f.reason,
            f.fix
        ));
    }
    for note in &report.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

/// Files given as arguments, expanded when they are directories.
pub fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.extension()
                        .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
                })
                .filter(|p| p.file_stem().is_none_or(|s| s != "kustomization"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(Path::new(path).to_path_buf());
        }
    }
    files
}
