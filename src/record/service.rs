//! What the service itself reported through Prometheus: latency quantiles and
//! error ratios per phase, its P95/P99 over the run, and whether each panel of
//! a dashboard had data.

use serde::{Deserialize, Serialize};

use super::QueryFailure;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceObservation {
    pub query: String,
    /// The quantile (seconds) or the error ratio; None when Prometheus had no data.
    pub value: Option<f64>,
    /// Requests Prometheus counted in the window (extrapolated by increase()).
    pub requests_seen: Option<f64>,
    /// Latency checks: cumulative bucket counts (finite upper bound in
    /// seconds, count); the +Inf bucket's count is `requests_seen`.
    pub buckets: Vec<(f64, f64)>,
    pub error: Option<QueryFailure>,
}

/// The service's own P95 and P99 over the whole run, as a dashboard would
/// draw them (rate over a window of four scrape intervals, Grafana's
/// `$__rate_interval` floor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceLatencySeries {
    pub window_seconds: f64,
    pub step_seconds: f64,
    /// (Prometheus time, seconds) pairs.
    pub p95: Vec<(f64, f64)>,
    pub p99: Vec<(f64, f64)>,
    pub error: Option<QueryFailure>,
}

/// A dashboard panel's outcome against a Prometheus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PanelResult {
    pub title: String,
    /// The queries as sent, after substitution.
    pub queries: Vec<String>,
    pub has_data: bool,
    pub error: Option<String>,
    /// The error says Prometheus could not be asked (down, overloaded, not
    /// ready), not that the query is wrong: the panel's emptiness is unknown.
    #[serde(default)]
    pub unavailable: bool,
}

/// A dashboard's panels, asked of Prometheus over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardObservation {
    pub title: String,
    pub panels: Vec<PanelResult>,
    pub error: Option<QueryFailure>,
}

/// A windowed service-side SLO (`window:` with `source: prometheus`):
/// `increase()` over each window of the phase, evaluated at every scrape
/// interval from the phase's start plus a window to its end, so each
/// window holds the scrapes inside it. `error` says when Prometheus could
/// not answer it (or cannot: a window holding fewer than two scrapes has
/// no increase).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceWindows {
    pub window_seconds: f64,
    pub step_seconds: f64,
    /// The query asked over the range (the quantile's, or the ratio's).
    pub query: String,
    pub windows: Vec<ServiceWindow>,
    pub error: Option<QueryFailure>,
}

/// One window, ending at `end_at` (Prometheus time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceWindow {
    pub end_at: f64,
    /// The quantile (seconds) or the error ratio; None without requests.
    pub value: Option<f64>,
    pub requests_seen: Option<f64>,
    /// Latency: cumulative bucket counts (finite upper bound in seconds,
    /// count), as for a whole phase.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<(f64, f64)>,
}
