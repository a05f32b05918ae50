//! What a run is compared with: the figures of one earlier run, or of the
//! median of several (`compare --history`, a scenario's `baseline:`,
//! `run --baseline`), as plain data — and the figures of any run in the
//! same shape, so one comparison serves both.
//!
//! A phase keeps its latency as a percentile curve on a fixed grid of
//! quantiles, read from the run's HDR histogram: exact for one run (the
//! histogram's own value at each quantile), and for several the median at
//! each quantile (a pointwise median of non-decreasing curves is itself
//! non-decreasing, so it is still a distribution). Alert times are keyed by
//! what they measure (kind, alert, anchor, receiver), not by a check's
//! position, so a scenario may gain or reorder checks.
//!
//! Knows nothing of where the figures were read or how they are judged.

use serde::{Deserialize, Serialize};

/// The quantiles a phase's curve is kept at: every 5% to p95, every
/// percent to p99, then every tenth and hundredth of a percent into the
/// tail, then the maximum — 42 points, dense where an HDR plot (and a
/// latency SLO) looks, so a baseline costs a few KB per phase.
pub fn quantile_grid() -> Vec<f64> {
    let mut grid: Vec<f64> = (1..=19).map(|p| p as f64 / 20.0).collect();
    grid.extend((96..=99).map(|p| p as f64 / 100.0));
    grid.extend((1..=9).map(|p| 0.99 + p as f64 / 1000.0));
    grid.extend((1..=9).map(|p| 0.999 + p as f64 / 10_000.0));
    grid.push(1.0);
    // Rounded so p99.9 is 0.999, the way a scenario's `p99.9` is read.
    grid.iter().map(|q| (q * 1e12).round() / 1e12).collect()
}

/// What a run measured that another run can be compared with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub scenario: String,
    pub time_scale: f64,
    /// Every phase of the plan, in order (a phase without traffic has an
    /// empty curve).
    pub phases: Vec<PhaseFigures>,
    pub alerts: Vec<AlertFigure>,
    pub service: Vec<ServiceFigure>,
    /// One evaluation interval plus one scrape interval, as run: how far an
    /// alert's time moves from where the phases fall between ticks alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick_seconds: Option<f64>,
}

/// One phase's traffic.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseFigures {
    pub phase: String,
    /// Every scheduled request.
    pub requests: u64,
    /// Requests with a latency (answered, or timed out at their timeout).
    pub answered: u64,
    /// What an error-ratio SLO counts as failed.
    pub failed: u64,
    /// How long the phase ran.
    pub seconds: f64,
    /// (quantile, ms) on `quantile_grid`; empty without answers.
    pub percentiles: Vec<(f64, f64)>,
}

impl PhaseFigures {
    /// The latency at `q` in ms: exact on the grid, interpolated between
    /// its points elsewhere; None without answers.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let points = &self.percentiles;
        let upper = points.iter().position(|(at, _)| *at >= q - 1e-12)?;
        let (q1, v1) = points[upper];
        if upper == 0 || (q1 - q).abs() < 1e-12 {
            return Some(v1);
        }
        let (q0, v0) = points[upper - 1];
        Some(v0 + (v1 - v0) * (q - q0) / (q1 - q0))
    }

    /// Failed requests over all requests; None without requests.
    pub fn error_ratio(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.failed as f64 / self.requests as f64)
    }

    /// Answers per second over the phase; None for a phase without traffic.
    pub fn throughput(&self) -> Option<f64> {
        (self.requests > 0 && self.seconds > 0.0).then(|| self.answered as f64 / self.seconds)
    }
}

/// What an alert check measured: seconds from its anchor to the alert
/// firing, resolving, or its notification reaching a receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertFigure {
    /// The check kind's name (`fires_within`, `resolves_within`,
    /// `notifies_within`, `notifies_resolved_within`).
    pub kind: String,
    pub alert: String,
    /// What the time counts from, as the verdict names it (`errors.start`,
    /// `the condition first held`).
    pub anchor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    pub seconds: f64,
}

impl AlertFigure {
    /// Whether two figures measure the same thing.
    pub fn same_as(&self, other: &AlertFigure) -> bool {
        self.kind == other.kind
            && self.alert == other.alert
            && self.anchor == other.anchor
            && self.receiver == other.receiver
    }
}

/// What the service's own metrics said of a phase, for a service-side SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceFigure {
    /// `latency` or `error_ratio`.
    pub kind: String,
    pub phase: String,
    /// Latency: the quantile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantile: Option<f64>,
    /// Latency in ms, or the error ratio.
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_seen: Option<f64>,
}

impl ServiceFigure {
    pub fn same_as(&self, other: &ServiceFigure) -> bool {
        self.kind == other.kind && self.phase == other.phase && self.quantile == other.quantile
    }
}

/// One run a baseline was made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineRun {
    /// Its report.json, as it was named.
    pub report: String,
    pub started_at: String,
}

/// The figures a run is compared with, and where they came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// What was asked (`reports/a/report.json`, `median of the last 7
    /// passing runs in /reports/history`).
    pub source: String,
    pub runs: Vec<BaselineRun>,
    pub figures: Figures,
}

/// A baseline as a run recorded it: found, or why not (a missing file, a
/// report of another scenario, no passing run yet). Checks with relative
/// bounds are inconclusive without one, never a pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum BaselineRecord {
    Found(Baseline),
    Missing { source: String, reason: String },
}

impl BaselineRecord {
    pub fn found(&self) -> Option<&Baseline> {
        match self {
            BaselineRecord::Found(baseline) => Some(baseline),
            BaselineRecord::Missing { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_holds_the_usual_quantiles_exactly() {
        let grid = quantile_grid();
        for q in [0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0] {
            assert!(grid.contains(&q), "{q}");
        }
        assert_eq!(grid.len(), 42);
        assert!(grid.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_quantile_off_the_grid_is_interpolated() {
        let phase = PhaseFigures {
            percentiles: vec![(0.5, 10.0), (0.6, 20.0), (1.0, 50.0)],
            ..PhaseFigures::default()
        };
        assert_eq!(phase.quantile_ms(0.5), Some(10.0));
        assert_eq!(phase.quantile_ms(0.1), Some(10.0));
        assert!((phase.quantile_ms(0.55).unwrap() - 15.0).abs() < 1e-9);
        assert_eq!(PhaseFigures::default().quantile_ms(0.5), None);
    }
}
