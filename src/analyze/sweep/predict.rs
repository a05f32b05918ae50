//! The sweep's prediction for a drill: for each `fires_within` check
//! anchored at the start of a phase whose demo fault sets an error ratio,
//! when Prometheus's rule engine says the alert fires — twice:
//!
//! - for the drill itself: the rules time-scaled as the embedded
//!   Prometheus runs them, and only the drill's own traffic before the
//!   fault (a fresh Prometheus's windows are not full of healthy traffic,
//!   so a burn-rate alert's long windows fill faster than in production);
//! - for production: the rules as written, windows full of healthy
//!   traffic (what `firedrill rules sweep` prints).
//!
//! The run puts both beside the measured time in the check's verdict.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::cases::FaultShape;
use super::error::{NotSwept, SweepError};
use super::SweepOptions;
use crate::analyze::timing::Bounds;
use crate::checks::kinds::fires_within::{FiresWithin, Predicted, PredictedSpan};
use crate::plan::{AlertRef, Anchor, CheckKind, FaultPlan, LoadModel, Plan, PrometheusPlan};
use crate::record::{PhaseRecord, PhaseStats};
use crate::rules::{self, GroupScaleError, LoadedGroups, RulesError};
use crate::time::format_duration_secs;

/// Why a check's prediction could not be made (its text is the
/// prediction's `unavailable`).
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    /// The drill's rules (or the shipped stack) cannot be read.
    #[error("{0}")]
    Rules(#[from] RulesError),
    #[error("{0}")]
    Scale(#[from] GroupScaleError),
    /// The rule files for promtool cannot be written.
    #[error("{0}")]
    TempDir(#[source] std::io::Error),
    #[error("{}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Sweep(#[source] Box<SweepError>),
    #[error("no rule for `{0}` among the drill's rules")]
    NoRule(String),
    #[error("{0}")]
    NotSwept(NotSwept),
    #[error("no step row")]
    NoStepRow,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The check's id (`checks[2]`).
    pub check: String,
    pub alert: String,
    pub error_ratio: f64,
    /// Seconds after the anchor in the drill's (time-scaled) clock; None:
    /// it does not fire within `drill_horizon_seconds`.
    pub drill: Option<Bounds>,
    pub drill_horizon_seconds: f64,
    /// Seconds after the fault began in production (unscaled); None: never
    /// within `production_horizon_seconds`.
    pub production: Option<Bounds>,
    pub production_horizon_seconds: f64,
    /// Why no prediction could be made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// The requests per second the prediction's traffic runs at (in the
    /// drill's clock), and where that figure comes from.
    #[serde(default)]
    pub request_rate: f64,
    #[serde(default)]
    pub rate_from: RateFrom,
}

/// Where a prediction's request rate comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateFrom {
    /// The open model's rate, as written (the middle of a ramp).
    #[default]
    Configured,
    /// A closed model sets no rate: the phase's requests over its time.
    Measured,
    /// A closed model that measured nothing: 10 requests per second assumed.
    Assumed,
}

impl Prediction {
    /// The prediction as a `fires_within` verdict's evidence carries it.
    fn predicted(&self) -> Predicted {
        let span = |s: &Option<Bounds>| {
            s.as_ref().map(|s| PredictedSpan {
                best_seconds: s.best_seconds,
                worst_seconds: s.worst_seconds,
            })
        };
        Predicted {
            check: self.check.clone(),
            alert: self.alert.clone(),
            error_ratio: self.error_ratio,
            drill: span(&self.drill),
            drill_horizon_seconds: self.drill_horizon_seconds,
            production: span(&self.production),
            production_horizon_seconds: self.production_horizon_seconds,
            unavailable: self.unavailable.clone(),
        }
    }
}

impl From<SweepError> for PredictError {
    fn from(error: SweepError) -> Self {
        PredictError::Sweep(Box::new(error))
    }
}

/// What a check's phase does, if the sweep can predict it.
struct Subject<'a> {
    check: &'a str,
    alert: &'a AlertRef,
    deadline: Duration,
    error_ratio: f64,
    rate: f64,
    rate_from: RateFrom,
    /// Seconds of the drill's traffic before the phase (time-scaled).
    history: f64,
}

/// The requests per second a phase sends: an open model's configured
/// rate; a closed model's measured one (its requests over its time), or 10
/// assumed when nothing was measured.
fn phase_rate(model: &LoadModel, measured: Option<&PhaseStats>) -> (f64, RateFrom) {
    if let LoadModel::Open { rate, .. } = model {
        return ((rate.from + rate.to) / 2.0, RateFrom::Configured);
    }
    match measured {
        Some(stats) if stats.counts.requests > 0 && stats.elapsed_seconds > 0.0 => (
            stats.counts.requests as f64 / stats.elapsed_seconds,
            RateFrom::Measured,
        ),
        _ => (10.0, RateFrom::Assumed),
    }
}

fn subjects<'a>(plan: &'a Plan, phases: &[PhaseRecord]) -> Vec<Subject<'a>> {
    plan.checks
        .iter()
        .filter_map(|check| {
            let CheckKind::FiresWithin(FiresWithin {
                alert,
                deadline,
                anchor: Anchor::PhaseStart { phase },
                ..
            }) = &check.kind
            else {
                return None;
            };
            let phase_plan = plan.phases.get(*phase)?;
            let error_ratio = match &phase_plan.fault {
                Some(FaultPlan::Demo(f)) if f.backend_down => 1.0,
                Some(FaultPlan::Demo(f)) if f.backend_error_ratio > 0.0 => f.backend_error_ratio,
                _ => return None,
            };
            let measured = phases.get(*phase).and_then(|p| p.stats.as_ref());
            let (rate, rate_from) = phase_rate(&phase_plan.model, measured);
            let history = plan.phases[..*phase]
                .iter()
                .map(|p| p.planned_duration().as_secs_f64())
                .sum();
            Some(Subject {
                check: &check.id,
                alert,
                deadline: *deadline,
                error_ratio,
                rate,
                rate_from,
                history,
            })
        })
        .collect()
}

/// Predictions for every check the sweep can predict (none when the plan
/// does not run on the embedded Prometheus, whose rules it knows); `phases`
/// are what the drill recorded (a closed model's rate is measured there).
pub async fn predict(plan: &Plan, phases: &[PhaseRecord]) -> Vec<Prediction> {
    let PrometheusPlan::Embedded {
        rule_files,
        scrape_interval,
        evaluation_interval,
    } = &plan.prometheus
    else {
        return Vec::new();
    };
    let subjects = subjects(plan, phases);
    if subjects.is_empty() {
        return Vec::new();
    }
    let prepared = prepare(
        rule_files,
        *scrape_interval,
        *evaluation_interval,
        plan.time_scale,
    );
    let mut predictions = Vec::new();
    for subject in subjects {
        let mut prediction = Prediction {
            check: subject.check.to_string(),
            alert: subject.alert.to_string(),
            error_ratio: subject.error_ratio,
            drill: None,
            drill_horizon_seconds: 0.0,
            production: None,
            production_horizon_seconds: 0.0,
            unavailable: None,
            request_rate: subject.rate,
            rate_from: subject.rate_from,
        };
        match &prepared {
            Ok(files) => {
                if let Err(why) = fill(&mut prediction, &subject, files).await {
                    prediction.unavailable = Some(why.to_string());
                }
            }
            Err(why) => prediction.unavailable = Some(why.to_string()),
        }
        predictions.push(prediction);
    }
    predictions
}

/// The rule files as written and as the drill scaled them, with their
/// intervals.
struct Files {
    _dir: tempfile::TempDir,
    original: PathBuf,
    scaled: PathBuf,
    scrape: Duration,
    evaluation: Duration,
    time_scale: f64,
}

fn prepare(
    rule_files: &[PathBuf],
    scrape: Option<Duration>,
    evaluation: Option<Duration>,
    time_scale: f64,
) -> Result<Files, PredictError> {
    let (shipped_scrape, shipped_evaluation) = rules::shipped_intervals()?;
    let (scrape, evaluation) = (
        scrape.unwrap_or(shipped_scrape),
        evaluation.unwrap_or(shipped_evaluation),
    );
    let loaded: Vec<LoadedGroups> = if rule_files.is_empty() {
        rules::shipped_rules()
    } else {
        rules::load_rule_files(rule_files)
    }?;
    let groups: Vec<rules::Group> = loaded.iter().flat_map(|l| l.groups.clone()).collect();
    let scaled = groups
        .iter()
        .map(|g| rules::scale_group(g, time_scale, evaluation))
        .collect::<Result<Vec<_>, _>>()?;
    let dir = tempfile::tempdir().map_err(PredictError::TempDir)?;
    let write = |name: &str, groups: Vec<rules::Group>| -> Result<PathBuf, PredictError> {
        let path = dir.path().join(name);
        let text = rules::render_rule_file(groups)?;
        std::fs::write(&path, text).map_err(|source| PredictError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    };
    Ok(Files {
        original: write("rules.yaml", groups)?,
        scaled: write("scaled.yaml", scaled)?,
        scrape,
        evaluation,
        time_scale,
        _dir: dir,
    })
}

/// The step row of the alert the check names, from one sweep.
async fn firing(
    options: SweepOptions,
    alert: &AlertRef,
) -> Result<(Option<Bounds>, f64), PredictError> {
    let report = super::sweep(&options).await?;
    let found = report
        .alerts
        .iter()
        .find(|a| {
            let mut labels = a.labels.clone();
            labels.insert("alertname".into(), a.alert.clone());
            alert.matches(&labels)
        })
        .ok_or_else(|| PredictError::NoRule(alert.to_string()))?;
    if let Some(why) = &found.not_swept {
        return Err(PredictError::NotSwept(why.clone()));
    }
    let row = found
        .rows
        .iter()
        .find(|r| r.case.shape == FaultShape::Step)
        .ok_or(PredictError::NoStepRow)?;
    Ok((row.firing, found.horizon_seconds))
}

async fn fill(
    prediction: &mut Prediction,
    subject: &Subject<'_>,
    files: &Files,
) -> Result<(), PredictError> {
    let name = subject.alert.name.clone();
    let scaled = |d: Duration| rules::scale_duration(d, files.time_scale);
    let base = |file: &Path| SweepOptions {
        files: vec![file.to_path_buf()],
        alerts: vec![name.clone()],
        error_ratios: Some(vec![subject.error_ratio]),
        bursts: Vec::new(),
        request_rate: subject.rate,
        dense_alignments: true,
        ..SweepOptions::default()
    };
    let (drill, horizon) = firing(
        SweepOptions {
            scrape_interval: Some(scaled(files.scrape)),
            evaluation_interval: Some(scaled(files.evaluation)),
            horizon: Some(subject.deadline * 2),
            history: Some(Duration::from_secs_f64(subject.history)),
            ..base(&files.scaled)
        },
        subject.alert,
    )
    .await?;
    prediction.drill = drill;
    prediction.drill_horizon_seconds = horizon;
    let (production, horizon) = firing(
        SweepOptions {
            scrape_interval: Some(files.scrape),
            evaluation_interval: Some(files.evaluation),
            ..base(&files.original)
        },
        subject.alert,
    )
    .await?;
    prediction.production = production;
    prediction.production_horizon_seconds = horizon;
    Ok(())
}

/// Puts each prediction beside the measurement in its check's verdict:
/// the figures in the evidence, a clause in the summary.
pub fn annotate(verdicts: &mut [crate::checks::Verdict], predictions: &[Prediction]) {
    let span = |s: &Option<Bounds>, horizon: f64| match s {
        Some(_) => Bounds::text(*s),
        None => format!("never within {}", format_duration_secs(horizon)),
    };
    for prediction in predictions {
        let Some(verdict) = verdicts.iter_mut().find(|v| v.id == prediction.check) else {
            continue;
        };
        if let crate::checks::Evidence::FiresWithin(evidence) = &mut verdict.evidence {
            evidence.predicted = Some(prediction.predicted());
        }
        if let Some(why) = &prediction.unavailable {
            verdict
                .summary
                .push_str(&format!(" (no prediction: {why})"));
            continue;
        }
        verdict.summary.push_str(&format!(
            "; Prometheus's rule engine predicted {} for this drill (in production, with windows full of healthy traffic: {}){}",
            span(&prediction.drill, prediction.drill_horizon_seconds),
            span(&prediction.production, prediction.production_horizon_seconds),
            rate_clause(prediction)
        ));
    }
}

/// What a prediction's traffic assumed, when the scenario did not say it.
fn rate_clause(prediction: &Prediction) -> String {
    match prediction.rate_from {
        RateFrom::Configured => String::new(),
        RateFrom::Measured => format!(
            ", at the phase's measured {:.1} requests/s (its closed model sets no rate)",
            prediction.request_rate
        ),
        RateFrom::Assumed => format!(
            ", assuming {:.0} requests/s (the phase's closed model sets no rate and it measured none)",
            prediction.request_rate
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::RateShape;

    #[test]
    fn a_closed_phase_is_predicted_at_its_measured_rate_or_says_what_it_assumed() {
        let closed = LoadModel::Closed {
            requests: 600,
            concurrency: 4,
            pause: Duration::from_millis(100),
            max_duration: None,
        };
        let mut stats = PhaseStats::default();
        stats.counts.requests = 600;
        stats.elapsed_seconds = 20.0;
        assert_eq!(
            phase_rate(&closed, Some(&stats)),
            (30.0, RateFrom::Measured)
        );
        assert_eq!(phase_rate(&closed, None), (10.0, RateFrom::Assumed));
        assert_eq!(
            phase_rate(&closed, Some(&PhaseStats::default())),
            (10.0, RateFrom::Assumed)
        );
        let open = LoadModel::Open {
            rate: RateShape {
                from: 20.0,
                to: 40.0,
            },
            duration: Duration::from_secs(60),
            connections: 8,
        };
        assert_eq!(
            phase_rate(&open, Some(&stats)),
            (30.0, RateFrom::Configured)
        );
        let mut prediction = Prediction {
            check: "checks[0]".into(),
            alert: "A".into(),
            error_ratio: 0.5,
            drill: None,
            drill_horizon_seconds: 60.0,
            production: None,
            production_horizon_seconds: 600.0,
            unavailable: None,
            request_rate: 10.0,
            rate_from: RateFrom::Assumed,
        };
        assert!(rate_clause(&prediction).contains("assuming 10 requests/s"));
        prediction.rate_from = RateFrom::Measured;
        prediction.request_rate = 30.0;
        assert!(rate_clause(&prediction).contains("measured 30.0 requests/s"));
        prediction.rate_from = RateFrom::Configured;
        assert!(rate_clause(&prediction).is_empty());
    }
}
