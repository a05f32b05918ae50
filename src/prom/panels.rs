//! A dashboard's panels asked of Prometheus over a time range, as Grafana
//! would (its interval variables, its step): a panel has data when any of its
//! queries returns any point. Used after a drill (the `dashboard` check) and
//! by `rules check --prometheus`.

use std::time::Duration;

use super::PromClient;
use crate::record::PanelResult;
use crate::rules::dashboard::{interval_variables, substitute, Dashboard};

/// Asks Prometheus each panel's queries over [start, end]; a panel has data
/// when any of its queries returns any point.
pub async fn run_panels(
    dashboard: &Dashboard,
    prometheus: &PromClient,
    start: f64,
    end: f64,
    scrape: Duration,
) -> Vec<PanelResult> {
    let range = Duration::from_secs_f64((end - start).max(1.0));
    let mut variables = interval_variables(range, scrape);
    variables.extend(dashboard.variables.iter().cloned());
    // Grafana's step is $__interval: a coarser step can leave a freshly
    // started Prometheus's few minutes of data between two points.
    let step = (range / 1000).max(scrape).max(Duration::from_millis(100));
    // Evaluate at `end` itself (steps counted back from it): the newest
    // point is the one a young Prometheus or a short run has data for.
    let steps = ((end - start) / step.as_secs_f64()).floor();
    let start = end - steps * step.as_secs_f64();
    let mut results = Vec::new();
    for panel in &dashboard.panels {
        let queries: Vec<String> = panel
            .queries
            .iter()
            .map(|q| substitute(q, &variables))
            .collect();
        let mut has_data = false;
        let mut error = None;
        let mut unavailable = false;
        for query in &queries {
            match prometheus.query_range(query, start, end, step).await {
                Ok(series) => has_data |= series.iter().any(|s| !s.values.is_empty()),
                Err(e) => {
                    unavailable |= e.is_unavailable();
                    error = Some(e.to_string());
                }
            }
        }
        results.push(PanelResult {
            title: panel.title.clone(),
            queries,
            has_data,
            error,
            unavailable,
        });
    }
    results
}
