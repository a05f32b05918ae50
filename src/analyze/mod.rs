//! `firedrill rules check`: the analysis of a monitoring stack without
//! traffic. It reads rule files, Prometheus configs and dashboards (plain,
//! ConfigMap or PrometheusRule), lints every alert, computes its time to
//! fire, checks a scenario's deadlines against it, and, given a live
//! Prometheus, finds selectors with no series, rules that fail to evaluate,
//! and dashboard panels with no data; given an Alertmanager configuration
//! (or a live Alertmanager), where each alert is routed and how long its
//! first notification takes (`routing`).
//!
//! In stages, one file each: `inputs` (what to read, and the intervals that
//! apply) → `alerts` (per alert: the condition read, lints, live checks,
//! timing) → `deadlines` (a scenario's checks against the timing) →
//! `dashboards` → `table` (the output for people; `--json` serializes
//! `RulesReport`). The knowledge the stages apply: `condition` (what an
//! expression watches, as a tree of comparisons), `timing` and `crossing`
//! (when it fires after a step), `windows` (how many samples a window
//! holds, for the timing and the lints alike), `lint`, `live`. Knows
//! nothing of drills.

mod alerts;
pub mod condition;
mod crossing;
mod dashboards;
mod deadlines;
mod inputs;
pub mod lint;
mod live;
pub mod routing;
pub mod sweep;
mod table;
pub mod timing;
pub mod windows;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

pub use alerts::{AlertAnalysis, Coverage};
pub use dashboards::DashboardResult;
pub use deadlines::{DeadlineCheck, DeadlineOutcome};
pub use inputs::expand;
pub use lint::{Finding, Severity};
pub use table::render_table;
pub use timing::Intervals;

use crate::plan::Plan;
use crate::prom::{PromClient, PromError};
use crate::rules::RulesError;

#[derive(Debug, Default, Clone)]
pub struct CheckOptions {
    pub files: Vec<PathBuf>,
    pub scenario: Option<Plan>,
    pub prometheus: Option<String>,
    /// A live Alertmanager: its configuration and active silences.
    pub alertmanager: Option<String>,
    pub scrape_interval: Option<Duration>,
    pub evaluation_interval: Option<Duration>,
    /// Findings that rest only on an assumption count too.
    pub strict: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0}")]
    Input(#[from] RulesError),
    #[error("{0}")]
    Prometheus(#[from] PromError),
    #[error("{0}")]
    Alertmanager(#[from] crate::prom::AlertmanagerError),
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
    pub findings: Vec<Finding>,
    pub deadlines: Vec<DeadlineCheck>,
    pub dashboards: Vec<DashboardResult>,
    /// Where each alert is routed (with an Alertmanager configuration).
    pub routing: Vec<routing::RoutingResult>,
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
        let client = crate::prom::AlertmanagerClient::new(url)?;
        client.wait_ready(Duration::from_secs(10)).await?;
        let status = client.status().await?;
        let origin = format!("{url}/api/v2/status");
        inputs.alertmanager = Some(crate::rules::alertmanager::parse(
            &status.config_text,
            std::path::Path::new(&origin),
        )?);
        silences = client
            .silences()
            .await?
            .into_iter()
            .filter(|s| s.status.state == "active")
            .collect();
    }
    let prometheus = match &options.prometheus {
        Some(url) => {
            let client = PromClient::new(url)?;
            client.wait_ready(Duration::from_secs(10)).await?;
            Some(client)
        }
        None => None,
    };
    let setting = inputs::intervals(options, &inputs, prometheus.as_ref(), &mut notes).await?;
    let intervals = setting.intervals;
    let analysed = alerts::analyse(&inputs.groups, &setting, prometheus.as_ref()).await?;
    let mut findings = analysed.findings;
    let (routes, routing_findings) = match &inputs.alertmanager {
        Some(config) => routing::analyse(&analysed.alerts, config),
        None => (Vec::new(), Vec::new()),
    };
    findings.extend(routing_findings);
    if let Some(config) = &inputs.alertmanager {
        findings.extend(live::silence_findings(
            &silences,
            &analysed.alerts,
            options.scenario.as_ref(),
            config,
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
        findings.extend(deadlines::findings(plan, &deadlines));
        findings.extend(deadlines::slo_threshold_findings(plan, &analysed.buckets));
    }
    let dashboards = dashboards::check(
        &inputs.dashboards,
        prometheus.as_ref(),
        intervals.scrape,
        &mut findings,
        &mut notes,
    )
    .await;
    findings.sort_by(|a, b| {
        (
            a.assumption.is_some(),
            b.severity,
            &a.subject,
            &a.origin,
            a.id,
            &a.reason,
        )
            .cmp(&(
                b.assumption.is_some(),
                a.severity,
                &b.subject,
                &b.origin,
                b.id,
                &b.reason,
            ))
    });
    // One finding per rule, lint and place.
    findings.dedup_by(|a, b| {
        (a.id, &a.subject, &a.origin, &a.reason) == (b.id, &b.subject, &b.origin, &b.reason)
    });
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
