//! `firedrill rules sweep`: when each alert fires across every size of
//! fault — error ratios from 100% down to 0.1% and around the alert's own
//! thresholds, as a step that stays and as bursts — computed by
//! Prometheus's own rule engine (`promtool test rules`, recording rules
//! included), with the timing model's arithmetic beside it. Given an SLO
//! (the command line, or Sloth's or Pyrra's metadata rules), also the share
//! of the error budget spent by the time it fires, and precision and recall
//! in the SRE Workbook's sense.
//!
//! In stages: `target` (each alert read and prepared: `synth`, which series
//! its ratio reads; `promtool`, its rules rewritten) → `cases` (ratios,
//! shapes, alignments, counters) → `search` (which evaluations to ask
//! about, and the alert's states over the answers) → `promtool` (the
//! answers) → `score` (rows, budget, precision, recall: `slo`) →
//! `results` (the data; `report` renders it, `--json` serializes it).
//! `predict` runs a sweep for a drill's deadline checks; `noise` says what
//! errors drawn at random (not held exactly) do, for the sweep's rows and
//! a drill's verdicts (`stats`).

mod cases;
mod engine;
mod error;
mod noise;
mod predict;
mod promtool;
mod results;
mod runner;
mod score;
mod search;
mod slo;
mod synth;
mod target;

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use cases::{Case, FaultShape};
pub use engine::{
    answer as ask_promtool, encode, label_value, selector_text, Alert, Answer, Feed, Question,
    Reads, Sample, Written, MARKER, PROBE,
};
pub use error::{NotSwept, SweepError, Unfed, Unprobeable};
pub use noise::{ratio_condition, read_error_ratios};
pub use predict::{annotate, predict, PredictError, Prediction, RateFrom};
pub use promtool::{alert as promtool_alert, Markers};
pub use results::{
    percent, AlertSweep, Computed, Engine, ModelFigures, Row, ShareBounds, SweepReport,
};
pub use runner::{cancel as cancel_promtool, run_files, Report, Spent, Turn};
pub use slo::{Scores, Significance, Slo};
pub use synth::{numerator_counts_failures, ratio_pairs, value_for};

use super::rules_check::{self, CheckOptions};
use promtool::Subject;
use search::{Effort, Track};

#[derive(Debug, Clone)]
pub struct SweepOptions {
    pub files: Vec<PathBuf>,
    /// Only these alerts (by name); all when empty.
    pub alerts: Vec<String>,
    /// Error ratios to try (default: 100% … 0.1% and each threshold ±10%).
    pub error_ratios: Option<Vec<f64>>,
    /// Burst lengths, besides the step that stays.
    pub bursts: Vec<Duration>,
    /// The SLO's objective (0.999) and period, when the rules do not say.
    pub objective: Option<f64>,
    pub period: Option<Duration>,
    /// A fault spending at least this share of the budget must fire.
    pub page_share: f64,
    /// A fault spending less than this share must not.
    pub false_alarm_share: f64,
    pub scrape_interval: Option<Duration>,
    pub evaluation_interval: Option<Duration>,
    /// How long after a fault starts (and a burst ends) to look.
    pub horizon: Option<Duration>,
    /// Requests per second of the synthesized traffic.
    pub request_rate: f64,
    /// The timing model's arithmetic only, without promtool.
    pub model_only: bool,
    /// Findings (a missed fault, a false alarm) make the command exit 1.
    pub strict: bool,
    /// Only this much traffic before the fault (a drill's fresh
    /// Prometheus), instead of windows full of it.
    pub history: Option<Duration>,
    /// Many alignments of scrapes and evaluations (32), for a figure a
    /// single measurement is held against.
    pub dense_alignments: bool,
    /// Every evaluation of every alignment asked of promtool, from one
    /// before the fault to the horizon, instead of a search that gives an
    /// unasked evaluation the nearest earlier answer (much slower: for
    /// checking the search, or a figure nothing may be inferred in).
    pub thorough: bool,
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions {
            files: Vec::new(),
            alerts: Vec::new(),
            error_ratios: None,
            bursts: [300, 1800, 3600]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            objective: None,
            period: None,
            page_share: 0.02,
            false_alarm_share: 0.001,
            scrape_interval: None,
            evaluation_interval: None,
            horizon: None,
            request_rate: 10.0,
            model_only: false,
            strict: false,
            thorough: false,
            history: None,
            dense_alignments: false,
        }
    }
}

pub async fn sweep(options: &SweepOptions) -> Result<SweepReport, SweepError> {
    let started = Instant::now();
    let check = CheckOptions {
        files: options.files.clone(),
        scrape_interval: options.scrape_interval,
        evaluation_interval: options.evaluation_interval,
        ..CheckOptions::default()
    };
    let inputs = rules_check::gather(&check)?;
    let mut notes = Vec::new();
    let setting = rules_check::intervals(&check, &inputs, None, &mut notes);
    let recordings = rules_check::recordings(&inputs.groups, setting.intervals.evaluation);
    let mut targets = target::targets(&inputs.groups, &setting, &recordings, options);
    if targets.is_empty() {
        return Err(SweepError::NoAlerts {
            named: options.alerts.clone(),
        });
    }
    let (mut tracks, cases_of) = target::plan(&targets, options);
    let effort = if tracks.is_empty() {
        Effort {
            probes: 0,
            rounds: 0,
            promtool_seconds: 0.0,
        }
    } else {
        search::probe_all(&subjects(&targets), &mut tracks, options.request_rate)?
    };
    let mut findings = Vec::new();
    for (n, target) in targets.iter_mut().enumerate() {
        let mine: Vec<&Track> = tracks.iter().filter(|t| t.subject == n).collect();
        for case in &cases_of[n] {
            let row = score::row(target, case, &mine, options);
            target.sweep.rows.push(row);
        }
        if target.sweep.not_swept.is_none() {
            score::score(target, options, &mut findings);
            score::cross_check(target, &mut notes);
            let history = options.history.map(|h| h.as_secs_f64());
            noise::by_chance(target, options.request_rate, history, &mut notes);
        }
    }
    Ok(SweepReport {
        intervals_from: setting.from,
        engine: if options.model_only {
            Engine::Model
        } else {
            Engine::Promtool
        },
        request_rate: options.request_rate,
        page_share: options.page_share,
        false_alarm_share: options.false_alarm_share,
        alerts: targets.into_iter().map(|t| t.sweep).collect(),
        findings,
        notes,
        probes: effort.probes,
        rounds: effort.rounds,
        elapsed_seconds: started.elapsed().as_secs_f64(),
        promtool_seconds: effort.promtool_seconds,
        strict: options.strict,
    })
}

/// What promtool evaluates for each target (one that cannot be swept
/// still holds its place, with nothing to evaluate).
fn subjects(targets: &[target::Target]) -> Vec<Subject> {
    targets
        .iter()
        .map(|t| {
            t.subject.clone().unwrap_or_else(|| Subject {
                alert: Alert {
                    rule: t.rule.clone(),
                    recordings: Vec::new(),
                    reads: Reads::default(),
                    scrape: t.intervals.scrape.as_secs_f64(),
                    marked: false,
                },
                series: Vec::new(),
            })
        })
        .collect()
}
