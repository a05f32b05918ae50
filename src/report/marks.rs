//! What the HTML report draws of a baseline and of SLO windows, from
//! report.json alone: each phase's baseline percentile curve (beside the
//! run's own), where the baseline came from, and each windowed check's
//! worst window (marked on the latency chart).

use serde::Serialize;

use super::Report;
use crate::checks::{Evidence, Status};
use crate::record::Baseline;

/// The baseline a run was compared with, as the page names it.
#[derive(Debug, Serialize)]
pub struct BaselineView {
    pub source: String,
    pub runs: usize,
}

/// A windowed check's worst window, in seconds from the run's start.
#[derive(Debug, Serialize)]
pub struct WindowMark {
    pub check: String,
    pub name: String,
    /// `latency` (value in ms) or `error_ratio` (a share).
    pub kind: &'static str,
    pub from: f64,
    pub to: f64,
    pub value: f64,
    pub bound: Option<f64>,
    pub status: Status,
}

pub fn baseline_view(report: &Report) -> Option<BaselineView> {
    let baseline = found(report)?;
    Some(BaselineView {
        source: baseline.source.clone(),
        runs: baseline.runs.len(),
    })
}

fn found(report: &Report) -> Option<&Baseline> {
    report.observations.baseline.as_ref()?.found()
}

/// The baseline's percentile curve of `phase`, as the page's curves are
/// written: (percentile in %, ms).
pub fn baseline_curve(report: &Report, phase: &str) -> Option<Vec<(f64, f64)>> {
    let figures = found(report)?
        .figures
        .phases
        .iter()
        .find(|p| p.phase == phase)?;
    (!figures.percentiles.is_empty()).then(|| {
        figures
            .percentiles
            .iter()
            .map(|(q, ms)| (q * 100.0, *ms))
            .collect()
    })
}

/// Every windowed check's worst window.
pub fn window_marks(report: &Report) -> Vec<WindowMark> {
    report
        .verdicts
        .iter()
        .filter_map(|v| {
            let (kind, windows, bound) = match &v.evidence {
                Evidence::Latency(e) => (
                    "latency",
                    e.windows.as_ref()?,
                    e.measured.as_ref().map(|m| m.bound_ms),
                ),
                Evidence::ErrorRatio(e) => (
                    "error_ratio",
                    e.windows.as_ref()?,
                    e.measured.as_ref().map(|m| m.bound),
                ),
                _ => return None,
            };
            let worst = windows.worst.as_ref()?;
            Some(WindowMark {
                check: v.id.clone(),
                name: v.name.clone(),
                kind,
                from: worst.from_seconds,
                to: worst.to_seconds,
                value: worst.value,
                bound,
                status: v.status,
            })
        })
        .collect()
}
