//! Comparing runs: `firedrill compare BASE NEW` (or `--history DIR`), the
//! baseline a run with relative checks is judged against, and the deltas
//! a run with a baseline pushes.
//!
//! Bottom up: `figures` (what a report measured, from report.json alone;
//! the median of several), `history` (where a baseline comes from: one
//! report, or the last N passing runs of the same scenario), `diff` (each
//! figure beside its baseline, judged against the limits; pure), `render`
//! (terminal and Markdown; JSON is the comparison's serde form).

mod diff;
mod figures;
mod history;
mod render;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use diff::{alert_subject, quantile_label, Direction, Judgement, Limits, Row, Section, Unit};
pub use figures::{figures_of, median, median_of};
pub use history::{baseline_at, compatible, from_history, from_report, prune_history, Wanted};
pub use render::{conclusion, markdown, terminal};

use crate::record::{Baseline, BaselineRecord, BaselineRun};
use crate::report::Report;

/// Why two runs could not be compared: the input is wrong (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error(transparent)]
    Read(#[from] crate::report::ReadError),
    #[error("{base} ran scenario `{base_scenario}`, the new run `{new_scenario}`: compare runs of one scenario")]
    DifferentScenarios {
        base: String,
        base_scenario: String,
        new_scenario: String,
    },
    #[error("{base} has phases [{base_phases}], the new run [{new_phases}]: compare runs with the same phases")]
    DifferentPhases {
        base: String,
        base_phases: String,
        new_phases: String,
    },
    #[error("cannot read the history in {}: {source}", dir.display())]
    History {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no passing run of `{scenario}` in {}: {why}", dir.display())]
    NoHistory {
        dir: PathBuf,
        scenario: String,
        why: String,
    },
}

/// Where a side of the comparison came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// A report's path, or how a history was reduced.
    pub source: String,
    pub runs: Vec<BaselineRun>,
}

/// Two runs (or a run and a history), figure by figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub scenario: String,
    pub base: Side,
    pub new: Side,
    /// The limits as applied (the time floor resolved).
    pub limits: Limits,
    pub rows: Vec<Row>,
    pub regressions: usize,
}

impl Comparison {
    pub fn regressed(&self) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .filter(|r| r.judgement == Judgement::Regression)
    }
}

/// The new run (`new`, read from `new_source`) against `baseline`.
pub fn compare(baseline: &Baseline, new: &Report, new_source: &str, limits: &Limits) -> Comparison {
    let figures = figures_of(new);
    let limits = Limits {
        time_floor_seconds: limits.time_floor_seconds.or(figures.tick_seconds),
        ..*limits
    };
    let rows = diff::rows(&baseline.figures, &figures, &limits);
    Comparison {
        scenario: new.scenario.name.clone(),
        base: Side {
            source: baseline.source.clone(),
            runs: baseline.runs.clone(),
        },
        new: Side {
            source: new_source.to_string(),
            runs: vec![BaselineRun {
                report: new_source.to_string(),
                started_at: new.started_at.clone(),
            }],
        },
        limits,
        regressions: rows
            .iter()
            .filter(|r| r.judgement == Judgement::Regression)
            .count(),
        rows,
    }
}

/// A report against the baseline it recorded (a run with `baseline:` or
/// `--baseline`), with the default limits; None when it recorded none.
pub fn against_recorded(report: &Report) -> Option<Comparison> {
    let baseline = report.observations.baseline.as_ref()?.found()?;
    Some(compare(baseline, report, "this run", &Limits::default()))
}

/// The baseline a run asked for (`baseline:` in its scenario, `run
/// --baseline`): found, or why not. Never an error: the checks that need
/// it say it is missing.
pub fn baseline_for_run(plan: &crate::plan::Plan, path: &Path, last: usize) -> BaselineRecord {
    let wanted = Wanted {
        scenario: plan.name.clone(),
        phases: plan.phases.iter().map(|p| p.name.clone()).collect(),
        time_scale: plan.time_scale,
        exclude: None,
    };
    match baseline_at(path, last, &wanted) {
        Ok(baseline) => BaselineRecord::Found(baseline),
        Err(e) => BaselineRecord::Missing {
            source: path.display().to_string(),
            reason: e.to_string(),
        },
    }
}
