//! What a sweep reports, as data: per alert, a row per fault with when it
//! went pending and fired over the alignments of scrapes and evaluations,
//! the budget spent by then, and the timing model's figures beside them;
//! the alert's scores; the findings. `report` renders it; `--json`
//! serializes it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::cases::Case;
use super::error::NotSwept;
use super::slo::{Scores, Significance, Slo};
use crate::analyze::finding::{LintFinding, Severity};
use crate::analyze::timing::Bounds;

/// The timing model's answer for a step (`rules check`'s arithmetic).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelFigures {
    pub pending: Option<Bounds>,
    pub firing: Option<Bounds>,
}

/// The least and the most of the error budget spent (shares of it, 0.02
/// for 2%), over the alignments of scrapes and evaluations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ShareBounds {
    pub best_share: f64,
    pub worst_share: f64,
}

/// What computed a row's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Computed {
    /// promtool answered every evaluation, from one before the fault to
    /// the horizon, at every alignment (`--thorough`).
    EveryEvaluation,
    /// promtool answered a search of the evaluations; one it was not asked
    /// about takes the nearest earlier answer (neighbours that agree are
    /// taken to have no change between them).
    Search,
    /// No probes: the timing model's arithmetic (`--model-only`, or an
    /// alert promtool is not asked about).
    Model,
    /// Neither: no probes, and the model does not know this fault.
    Nothing,
}

impl Computed {
    /// As a table's column says it.
    pub fn text(self) -> &'static str {
        match self {
            Computed::EveryEvaluation => "promtool, every evaluation",
            Computed::Search => "promtool, searched",
            Computed::Model => "timing model",
            Computed::Nothing => "–",
        }
    }
}

/// One fault's row of an alert's table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub case: Case,
    /// What computed its figures.
    pub computed_by: Computed,
    /// Seconds after the fault began, over the alignments where it happened.
    pub pending: Option<Bounds>,
    pub firing: Option<Bounds>,
    /// Seconds after the fault ended (bursts) until it stopped firing.
    pub resolved_after_end: Option<Bounds>,
    /// Alignments of scrapes and evaluations where it fired, of all tried
    /// (in the JSON, `phases`: "the phases of scrapes and evaluations").
    pub phases_firing: usize,
    pub phases: usize,
    /// The most times it started firing after one fault.
    pub episodes: usize,
    /// It was pending or firing before the fault (on healthy traffic).
    pub before_the_fault: bool,
    /// The share of the error budget spent by the time it fired.
    pub budget_at_firing: Option<ShareBounds>,
    /// The share of the budget the whole fault spends (a step: over the horizon).
    pub fault_budget: Option<f64>,
    pub significance: Option<Significance>,
    /// The timing model's figures (steps only).
    pub model: Option<ModelFigures>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertSweep {
    pub alert: String,
    pub labels: BTreeMap<String, String>,
    pub origin: String,
    pub for_seconds: f64,
    pub keep_firing_for_seconds: f64,
    pub evaluation_seconds: f64,
    pub scrape_seconds: f64,
    pub horizon_seconds: f64,
    /// promtool runs the recording rules just before the alert; from other
    /// groups, Prometheus may read them up to this much later, which the
    /// worst cases include.
    pub recording_delay_seconds: f64,
    pub slo: Option<Slo>,
    /// Why it was not swept (not an error ratio, …).
    pub not_swept: Option<NotSwept>,
    pub rows: Vec<Row>,
    pub scores: Option<Scores>,
}

impl AlertSweep {
    /// The alert's name, with its severity labels (Sloth and Pyrra give
    /// several alerts one name).
    pub fn name(&self) -> String {
        let labels: Vec<String> = self
            .labels
            .iter()
            .filter(|(k, _)| k.contains("severity") || matches!(k.as_str(), "long" | "short"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if labels.is_empty() {
            self.alert.clone()
        } else {
            format!("{} {{{}}}", self.alert, labels.join(", "))
        }
    }
}

/// Which engine answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// Prometheus's rule engine, through `promtool test rules`.
    Promtool,
    /// The timing model's arithmetic alone.
    Model,
}

#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    pub intervals_from: String,
    pub engine: Engine,
    pub request_rate: f64,
    pub page_share: f64,
    pub false_alarm_share: f64,
    pub alerts: Vec<AlertSweep>,
    pub findings: Vec<LintFinding>,
    pub notes: Vec<String>,
    /// How many evaluations promtool was asked about, in how many runs.
    pub probes: usize,
    pub rounds: usize,
    pub elapsed_seconds: f64,
    /// Of which waiting for promtool.
    pub promtool_seconds: f64,
    pub strict: bool,
}

impl SweepReport {
    pub fn problems(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| self.strict || f.severity == Severity::Error)
            .count()
    }
}

/// A share as people read it: `50%`, `2.0%`, `0.10%`, `0.0100%`.
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p >= 10.0 {
        format!("{p:.0}%")
    } else if p >= 1.0 {
        format!("{p:.1}%")
    } else if p >= 0.01 {
        format!("{p:.2}%")
    } else {
        format!("{p:.4}%")
    }
}
