//! `firedrill rules check`: the analysis of a monitoring stack without
//! traffic. It reads rule files, Prometheus configs and dashboards (plain,
//! ConfigMap or PrometheusRule), lints every alert, computes its time to
//! fire, checks a scenario's deadlines against it, and, given a live
//! Prometheus, finds selectors with no series, rules that fail to evaluate,
//! and dashboard panels with no data; given an Alertmanager configuration
//! (or a live Alertmanager), where each alert is routed and how long its
//! first notification takes.
//!
//! In stages, one file each: `inputs` (what to read, and the intervals that
//! apply) → `alerts` (per alert: the condition read, `lint`, `live` checks,
//! timing) → `routing` and `silences` (where each alert goes, and what mutes
//! it) → `deadlines` (a scenario's checks against the timing) →
//! `dashboards`. The report is data: `report` renders it for people,
//! `--json` serializes it. Knows nothing of drills.

mod alerts;
mod dashboards;
mod deadlines;
mod inputs;
mod lint;
mod live;
mod routing;
mod silences;

use std::time::Duration;

use serde::Serialize;

pub use alerts::{job_matchers, recordings, AlertAnalysis, Coverage};
pub use dashboards::DashboardResult;
pub use deadlines::{DeadlineCheck, DeadlineOutcome};
pub use inputs::{gather, intervals, CheckOptions, Inputs, Setting, TargetSource};
pub use routing::{carried, label_sets, labels_text, source_without_equal, RoutingResult};

use super::finding::{LintFinding, Severity};
use super::timing::Intervals;
use crate::plan::Plan;
use crate::prom::alertmanager::AmSilence;
use crate::prom::{AlertmanagerClient, AlertmanagerError, PromClient, PromError};
use crate::rules::alertmanager::AlertmanagerConfig;
use crate::rules::RulesError;

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0}")]
    Input(#[from] RulesError),
    #[error("{0}")]
    Prometheus(#[from] PromError),
    #[error("{0}")]
    Alertmanager(#[from] AlertmanagerError),
}

#[derive(Debug, Clone, Serialize)]
pub struct RulesReport {
    pub intervals: Intervals,
    /// Where the intervals came from.
    pub intervals_from: String,
    /// How many alerts the timing model gives a time for.
    pub coverage: Coverage,
    /// `--strict`: findings resting on an assumption fail the check too.
    pub strict: bool,
    pub alerts: Vec<AlertAnalysis>,
    pub findings: Vec<LintFinding>,
    pub deadlines: Vec<DeadlineCheck>,
    pub dashboards: Vec<DashboardResult>,
    /// Where each alert is routed (with an Alertmanager configuration).
    pub routing: Vec<RoutingResult>,
    /// Where the routing came from.
    pub routing_from: Option<String>,
    pub notes: Vec<String>,
}

impl RulesReport {
    /// Problems (not notes): what makes the command exit 1. A finding that
    /// rests only on an assumption is shown but counts only with `--strict`.
    pub fn problems(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .filter(|f| self.strict || f.assumption.is_none())
            .count()
    }
}

pub async fn check(options: &CheckOptions) -> Result<RulesReport, CheckError> {
    let mut notes = Vec::new();
    let mut inputs = inputs::gather(options)?;
    let mut silences = Vec::new();
    if let Some(url) = &options.alertmanager {
        let (config, active) = live_alertmanager(url).await?;
        inputs.alertmanager = Some(config);
        silences = active;
    }
    let prometheus = match &options.prometheus {
        Some(url) => {
            let client = PromClient::new(url)?;
            client.wait_ready(Duration::from_secs(10)).await?;
            Some(client)
        }
        None => None,
    };
    let live_intervals = match &prometheus {
        Some(client) => Some(live::intervals(client).await?),
        None => None,
    };
    let setting = inputs::intervals(options, &inputs, live_intervals, &mut notes);
    let intervals = setting.intervals;
    let analysed = alerts::analyse(&inputs.groups, &setting, prometheus.as_ref()).await?;
    let mut findings = analysed.findings;
    let mut routes = Vec::new();
    if let Some(config) = &inputs.alertmanager {
        let recordings = alerts::recordings(&inputs.groups, intervals.evaluation);
        let (found, routing_findings) = routing::analyse(&analysed.alerts, config, &recordings);
        routes = found;
        findings.extend(routing_findings);
        findings.extend(silences::findings(
            &silences,
            &analysed.alerts,
            options.scenario.as_ref(),
            config,
            &recordings,
        ));
    }
    let mut deadlines = Vec::new();
    if let Some(plan) = &options.scenario {
        deadlines = deadlines::check(
            plan,
            &analysed.alerts,
            &intervals,
            inputs.alertmanager.as_ref(),
        );
        findings.extend(scenario_findings(plan, &deadlines, &analysed.buckets));
    }
    let dashboards = dashboards::check(
        &inputs.dashboards,
        prometheus.as_ref(),
        intervals.scrape,
        &mut findings,
        &mut notes,
    )
    .await;
    in_order(&mut findings);
    Ok(RulesReport {
        intervals,
        intervals_from: setting.from,
        coverage: alerts::coverage(&analysed.alerts),
        strict: options.strict,
        alerts: analysed.alerts,
        findings,
        deadlines,
        dashboards,
        routing: routes,
        routing_from: inputs.alertmanager.as_ref().map(|c| c.origin.clone()),
        notes,
    })
}

/// A live Alertmanager's configuration and its active silences.
async fn live_alertmanager(url: &str) -> Result<(AlertmanagerConfig, Vec<AmSilence>), CheckError> {
    let client = AlertmanagerClient::new(url)?;
    client.wait_ready(Duration::from_secs(10)).await?;
    let status = client.status().await?;
    let origin = format!("{url}/api/v2/status");
    let config =
        crate::rules::alertmanager::parse(&status.config_text, std::path::Path::new(&origin))?;
    let silences = client
        .silences()
        .await?
        .into_iter()
        .filter(|s| s.status.state == "active")
        .collect();
    Ok((config, silences))
}

/// What a scenario's checks find: deadlines that cannot be met or can be
/// missed, latency bounds between two buckets.
fn scenario_findings(
    plan: &Plan,
    deadlines: &[DeadlineCheck],
    buckets: &alerts::Buckets,
) -> Vec<LintFinding> {
    let mut findings = deadlines::findings(plan, deadlines);
    findings.extend(deadlines::slo_threshold_findings(plan, buckets));
    findings
}

/// Findings in the order people read them — counted before assumed, the
/// most severe first, then by subject, place and lint — and one per rule,
/// lint and place.
fn in_order(findings: &mut Vec<LintFinding>) {
    findings.sort_by(|a, b| {
        (
            a.assumption.is_some(),
            b.severity,
            &a.subject,
            &a.origin,
            a.id.as_str(),
            &a.reason,
        )
            .cmp(&(
                b.assumption.is_some(),
                a.severity,
                &b.subject,
                &b.origin,
                b.id.as_str(),
                &b.reason,
            ))
    });
    findings.dedup_by(|a, b| {
        (a.id, &a.subject, &a.origin, &a.reason) == (b.id, &b.subject, &b.origin, &b.reason)
    });
}
