//! The dashboard stage of `rules check`: `[$__interval]` used as a range
//! window (found offline), and, with a live Prometheus, panels with no data
//! over the last hour.

use std::time::Duration;

use serde::Serialize;

use super::lint::{Finding, Severity};
use crate::prom::{panels, PromClient};
use crate::record::PanelResult;
use crate::rules::dashboard::Dashboard;

#[derive(Debug, Clone, Serialize)]
pub struct DashboardResult {
    pub title: String,
    pub origin: String,
    pub panels: Vec<PanelResult>,
}

/// Checks each dashboard; findings and notes are added to the report's.
pub async fn check(
    dashboards: &[Dashboard],
    prometheus: Option<&PromClient>,
    scrape: Duration,
    findings: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) -> Vec<DashboardResult> {
    let mut results = Vec::new();
    for dashboard in dashboards {
        findings.extend(interval_window_findings(dashboard));
        if let Some(client) = prometheus {
            let end = crate::time::local_now();
            let panels = panels::run_panels(dashboard, client, end - 3600.0, end, scrape).await;
            findings.extend(no_data_findings(dashboard, &panels));
            results.push(DashboardResult {
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
    results
}

fn no_data_findings(dashboard: &Dashboard, panels: &[PanelResult]) -> Vec<Finding> {
    panels
        .iter()
        .filter(|p| !p.has_data)
        .map(|panel| Finding {
            id: "dashboard/no-data",
            severity: Severity::Warning,
            subject: format!("{} / {}", dashboard.title, panel.title),
            origin: dashboard.origin.clone(),
            reason: match &panel.error {
                Some(e) => format!("its query fails: {e}"),
                None => format!("no data in the last hour for {}", panel.queries.join(" ; ")),
            },
            fix: "check the metric names and labels in Prometheus (Graph tab), and that the target is scraped".into(),
            assumption: None,
        })
        .collect()
}

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
            assumption: None,
        })
        .collect()
}
