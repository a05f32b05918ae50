//! The dashboard stage of `rules check`: `[$__interval]` used as a range
//! window (found offline), and, with a live Prometheus, panels with no data
//! over the last hour.

use std::time::Duration;

use serde::Serialize;

use crate::analyze::finding::{LintFinding, LintId};
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
    findings: &mut Vec<LintFinding>,
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

fn no_data_findings(dashboard: &Dashboard, panels: &[PanelResult]) -> Vec<LintFinding> {
    panels
        .iter()
        .filter(|p| !p.has_data)
        .map(|panel| LintFinding::new(
            LintId::DashboardNoData,
            format!("{} / {}", dashboard.title, panel.title),
            dashboard.origin.clone(),
            match &panel.error {
                Some(e) => format!("its query fails: {e}"),
                None => format!("no data in the last hour for {}", panel.queries.join(" ; ")),
            },
            "check the metric names and labels in Prometheus (Graph tab), and that the target is scraped",
        ))
        .collect()
}

/// `[$__interval]` as a range window: at the floor of $__interval (a zoomed-in
/// view) it holds one scrape, and rate() shows nothing.
fn interval_window_findings(dashboard: &Dashboard) -> Vec<LintFinding> {
    dashboard
        .panels
        .iter()
        .filter(|p| p.queries.iter().any(|q| q.contains("[$__interval]") || q.contains("[${__interval}]")))
        .map(|p| LintFinding::new(
            LintId::DashboardIntervalWindow,
            format!("{} / {}", dashboard.title, p.title),
            dashboard.origin.clone(),
            "`[$__interval]` as a range window holds a single scrape when the time range is short: the panel shows No data".into(),
            "use [$__rate_interval] (at least four scrape intervals)",
        ))
        .collect()
}
