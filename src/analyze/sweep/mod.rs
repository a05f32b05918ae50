//! `firedrill rules sweep`: when each alert fires across every size of
//! fault — error ratios from 100% down to 0.1% and around the alert's own
//! thresholds, as a step that stays and as bursts — computed by
//! Prometheus's own rule engine (`promtool test rules`, recording rules
//! included), with the timing model's arithmetic beside it. Given an SLO
//! (the command line, or Sloth's or Pyrra's metadata rules), also the share
//! of the error budget spent by the time it fires, and precision and recall
//! in the SRE Workbook's sense.
//!
//! In stages: `synth` (which series the alert's ratio reads, with labels
//! its selectors match) → `cases` (ratios, shapes, phases, counters) →
//! `search` (which evaluations to ask about, and the alert's states over
//! the answers) → `promtool` (the answers) → `slo` (budget, precision,
//! recall) → `table` (for people; `--json` serializes `SweepReport`).

mod cases;
mod predict;
mod promtool;
mod search;
mod slo;
mod synth;
mod table;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use promql_parser::parser::Expr;
use serde::Serialize;

pub use cases::{Case, FaultShape};
pub use predict::{annotate, predict, Prediction};
pub use slo::{Scores, Significance, Slo};
pub use table::render_table;

use super::condition::{self, Reader, Recordings, Shape, Signal};
use super::inputs;
use super::lint::{Finding, Severity};
use super::timing::{self, Bounds, Intervals, Knowledge, Step};
use super::CheckOptions;
use crate::rules::{LoadedGroups, RuleDef, RulesError};
use crate::time::format_duration_secs as fmt;

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
    /// Many phases of scrapes and evaluations (32), for a figure a single
    /// measurement is held against.
    pub dense_phases: bool,
    /// Every phase on the full grid, instead of searching the other phases
    /// around the first phase's changes (slower; the same answers unless a
    /// phase changes where the first does not).
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
            dense_phases: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("{0}")]
    Input(#[from] RulesError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Promtool(String),
    #[error("{0}")]
    Io(String),
}

/// Best and worst over the phases of scrapes and evaluations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Span {
    pub best_seconds: f64,
    pub worst_seconds: f64,
}

impl Span {
    fn over(values: impl Iterator<Item = f64>) -> Option<Span> {
        values.fold(None, |span: Option<Span>, v| {
            Some(match span {
                None => Span {
                    best_seconds: v,
                    worst_seconds: v,
                },
                Some(s) => Span {
                    best_seconds: s.best_seconds.min(v),
                    worst_seconds: s.worst_seconds.max(v),
                },
            })
        })
    }
}

/// The timing model's answer for a step (`rules check`'s arithmetic).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelFigures {
    pub pending: Option<Bounds>,
    pub firing: Option<Bounds>,
}

/// One fault's row of an alert's table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub case: Case,
    /// Seconds after the fault began, over the phases where it happened.
    pub pending: Option<Span>,
    pub firing: Option<Span>,
    /// Seconds after the fault ended (bursts) until it stopped firing.
    pub resolved_after_end: Option<Span>,
    /// Phases where it fired, of all phases tried.
    pub phases_firing: usize,
    pub phases: usize,
    /// The most times it started firing after one fault.
    pub episodes: usize,
    /// It was pending or firing before the fault (on healthy traffic).
    pub before_the_fault: bool,
    /// The budget spent by the time it fired.
    pub budget_at_firing: Option<Span>,
    /// The budget the whole fault spends (a step: over the horizon).
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
    pub not_swept: Option<String>,
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

/// An objective as people write it: 99.9%, 99.95%.
pub fn objective_text(objective: f64) -> String {
    let text = format!("{:.4}", objective * 100.0);
    format!("{}%", text.trim_end_matches('0').trim_end_matches('.'))
}

#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    pub intervals_from: String,
    /// "promtool" (Prometheus's evaluator) or "model".
    pub engine: String,
    pub request_rate: f64,
    pub page_share: f64,
    pub false_alarm_share: f64,
    pub alerts: Vec<AlertSweep>,
    pub findings: Vec<Finding>,
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

/// One alert being swept.
struct Target<'a> {
    rule: &'a RuleDef,
    origin: &'a str,
    shape: Option<Shape>,
    hold: f64,
    keep: f64,
    intervals: Intervals,
    subject: Option<promtool::Subject>,
    sweep: AlertSweep,
}

fn seconds(text: Option<&str>) -> f64 {
    text.and_then(|t| promql_parser::util::parse_duration(t).ok())
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The thresholds of the condition's ratio leaves.
fn ratio_thresholds(shape: &Shape) -> Vec<f64> {
    shape
        .leaves()
        .iter()
        .filter(|l| matches!(l.signal, Signal::Ratio { mean: false, .. }))
        .filter_map(|l| match l.direction {
            condition::Direction::Below => l.threshold.map(|t| 1.0 - t),
            _ => l.threshold,
        })
        .collect()
}

pub async fn sweep(options: &SweepOptions) -> Result<SweepReport, SweepError> {
    let started = Instant::now();
    let check = CheckOptions {
        files: options.files.clone(),
        scrape_interval: options.scrape_interval,
        evaluation_interval: options.evaluation_interval,
        ..CheckOptions::default()
    };
    let inputs = inputs::gather(&check)?;
    let mut notes = Vec::new();
    let setting = inputs::intervals(&check, &inputs, None, &mut notes)
        .await
        .map_err(|e| SweepError::Usage(e.to_string()))?;
    let recordings = super::alerts::recordings(&inputs.groups, setting.intervals.evaluation);
    let mut targets = targets(&inputs.groups, &setting, &recordings, options)?;
    if targets.is_empty() {
        return Err(SweepError::Usage(if options.alerts.is_empty() {
            "no alerting rules in the files given".into()
        } else {
            format!(
                "no alert named {} in the files given",
                options.alerts.join(", ")
            )
        }));
    }
    let (mut tracks, cases_of) = plan(&targets, options);
    let subjects: Vec<promtool::Subject> = targets
        .iter()
        .map(|t| {
            t.subject.clone().unwrap_or_else(|| promtool::Subject {
                rule: t.rule.clone(),
                recordings: Vec::new(),
                series: Vec::new(),
                reads: promtool::Reads::default(),
                scrape: t.intervals.scrape.as_secs_f64(),
            })
        })
        .collect();
    let (probes, rounds, promtool_seconds) = if tracks.is_empty() {
        (0, 0, 0.0)
    } else {
        probe_all(&subjects, &mut tracks, options.request_rate)?
    };
    let mut findings = Vec::new();
    for (n, target) in targets.iter_mut().enumerate() {
        let mine: Vec<&search::Track> = tracks.iter().filter(|t| t.subject == n).collect();
        for case in &cases_of[n] {
            let row = row(target, case, &mine, options);
            target.sweep.rows.push(row);
        }
        if target.sweep.not_swept.is_none() {
            score(target, options, &mut findings);
            cross_check(target, &mut notes);
        }
    }
    Ok(SweepReport {
        intervals_from: setting.from,
        engine: if options.model_only {
            "model".into()
        } else {
            "promtool".into()
        },
        request_rate: options.request_rate,
        page_share: options.page_share,
        false_alarm_share: options.false_alarm_share,
        alerts: targets.into_iter().map(|t| t.sweep).collect(),
        findings,
        notes,
        probes,
        rounds,
        elapsed_seconds: started.elapsed().as_secs_f64(),
        promtool_seconds,
        strict: options.strict,
    })
}

/// Each alert's faults, and the tracks that search them.
fn plan(targets: &[Target], options: &SweepOptions) -> (Vec<search::Track>, Vec<Vec<Case>>) {
    let mut tracks = Vec::new();
    let mut cases_of = Vec::new();
    for (n, target) in targets.iter().enumerate() {
        let thresholds = target
            .shape
            .as_ref()
            .map(ratio_thresholds)
            .unwrap_or_default();
        let ratios = cases::error_ratios(options.error_ratios.as_deref(), &thresholds);
        let mut shapes = vec![FaultShape::Step];
        shapes.extend(
            options
                .bursts
                .iter()
                .map(|d| FaultShape::Burst(d.as_secs_f64())),
        );
        let cases: Vec<Case> = shapes
            .iter()
            .flat_map(|shape| {
                ratios.iter().map(|&error_ratio| Case {
                    shape: *shape,
                    error_ratio,
                    history: options.history.map(|h| h.as_secs_f64()),
                })
            })
            .collect();
        if target.subject.is_some() && !options.model_only {
            let e = target.intervals.evaluation.as_secs_f64();
            for case in &cases {
                let seeds = model(target, case.error_ratio)
                    .map(|m| seeds(&m, case, target.hold))
                    .unwrap_or_default();
                let first = tracks.len();
                for (k, phase) in cases::phases(
                    target.intervals.scrape.as_secs_f64(),
                    e,
                    options.dense_phases,
                )
                .into_iter()
                .enumerate()
                {
                    tracks.push(search::Track {
                        leader: (k > 0 && !options.thorough).then_some(first),
                        subject: n,
                        case: *case,
                        phase,
                        evaluation: e,
                        horizon: target.sweep.horizon_seconds,
                        seeds: seeds.clone(),
                        known: BTreeMap::new(),
                    });
                }
            }
        }
        cases_of.push(cases);
    }
    (tracks, cases_of)
}

/// Every alert of the files (or the ones named), read and prepared.
fn targets<'a>(
    groups: &'a [LoadedGroups],
    setting: &inputs::Setting,
    recordings: &Recordings,
    options: &SweepOptions,
) -> Result<Vec<Target<'a>>, SweepError> {
    let mut targets = Vec::new();
    for loaded in groups {
        for group in &loaded.groups {
            for rule in &group.rules {
                let Some(alert) = &rule.alert else { continue };
                if !options.alerts.is_empty() && !options.alerts.contains(alert) {
                    continue;
                }
                let Ok(expr) = promql_parser::parser::parse(&rule.expr) else {
                    continue;
                };
                let evaluation = group
                    .interval
                    .as_deref()
                    .and_then(|t| promql_parser::util::parse_duration(t).ok())
                    .unwrap_or(setting.intervals.evaluation);
                let (scrape, _) = setting.scrape_for(&expr);
                let index = targets.len();
                targets.push(target(
                    index,
                    rule,
                    (&loaded.origin, &group.name),
                    expr,
                    Intervals {
                        scrape,
                        evaluation,
                        scrape_timeout: setting.intervals.scrape_timeout.min(scrape),
                    },
                    recordings,
                    options,
                ));
            }
        }
    }
    Ok(targets)
}

fn target<'a>(
    index: usize,
    rule: &'a RuleDef,
    (origin, group): (&'a str, &str),
    expr: Expr,
    intervals: Intervals,
    recordings: &Recordings,
    options: &SweepOptions,
) -> Target<'a> {
    let hold = seconds(rule.for_.as_deref());
    let keep = seconds(rule.keep_firing_for.as_deref());
    let shape = condition::read(&expr, &Reader::new(recordings).in_group(group)).ok();
    // promtool evaluates the recording rules just before the alert; from
    // another group, Prometheus may read them up to its interval later.
    let lag = shape
        .as_ref()
        .map(|s| {
            s.leaves()
                .iter()
                .map(|l| l.recording_delay_seconds)
                .fold(0.0, f64::max)
        })
        .unwrap_or(0.0);
    let slo = match (options.objective, options.period) {
        (Some(objective), period) => Some(Slo {
            objective,
            period_seconds: period.map(|p| p.as_secs_f64()).unwrap_or(30.0 * 86_400.0),
            from: "the command line".into(),
        }),
        (None, _) => slo::from_metadata(&expr, &rule.labels, recordings).map(|mut slo| {
            if let Some(period) = options.period {
                slo.period_seconds = period.as_secs_f64();
            }
            slo
        }),
    };
    let (e, s) = (
        intervals.evaluation.as_secs_f64(),
        intervals.scrape.as_secs_f64(),
    );
    let pairs = synth::ratio_pairs(&expr, recordings);
    let prepared = synth::synthesize(&pairs, synth::numerator_counts_failures(&expr))
        .map_err(|why| format!("the sweep changes error ratios, and {why}"))
        .and_then(|series| promtool::subject(index, rule, &expr, recordings, series, s));
    let (subject, not_swept) = match prepared {
        Ok(subject) => (Some(subject), None),
        Err(why) => (None, Some(why)),
    };
    let reach = subject
        .as_ref()
        .map(|s| {
            s.reads
                .ranges
                .iter()
                .map(|(w, o)| w + o)
                .fold(0.0, f64::max)
        })
        .unwrap_or(0.0);
    let horizon = options
        .horizon
        .map(|h| h.as_secs_f64())
        .unwrap_or(reach + hold + keep + 2.0 * e + 2.0 * s);
    let sweep = AlertSweep {
        alert: rule.alert.clone().unwrap_or_default(),
        labels: rule.labels.clone(),
        origin: origin.to_string(),
        for_seconds: hold,
        keep_firing_for_seconds: keep,
        evaluation_seconds: e,
        scrape_seconds: s,
        horizon_seconds: horizon,
        recording_delay_seconds: lag,
        slo,
        not_swept,
        rows: Vec::new(),
        scores: None,
    };
    Target {
        rule,
        origin,
        shape,
        hold,
        keep,
        intervals,
        subject,
        sweep,
    }
}

/// The timing model's answer for a step to `error_ratio`.
fn model(target: &Target, error_ratio: f64) -> Option<ModelFigures> {
    let shape = target.shape.as_ref()?;
    let knowledge = Knowledge {
        intervals: target.intervals,
        buckets: &|_| None,
    };
    let timing = timing::time_to_fire(
        shape,
        Step::ErrorShare(error_ratio),
        Duration::from_secs_f64(target.hold),
        Duration::from_secs_f64(target.keep),
        &knowledge,
    )?;
    Some(ModelFigures {
        pending: timing.pending,
        firing: timing.firing,
    })
}

/// Instants worth probing first: where the model expects changes.
fn seeds(model: &ModelFigures, case: &Case, hold: f64) -> Vec<f64> {
    let mut seeds = Vec::new();
    if let Some(p) = model.pending {
        seeds.extend([p.best_seconds, p.worst_seconds]);
        if let Some(end) = case.shape.end() {
            seeds.extend([end, end + p.worst_seconds - hold]);
        }
    }
    seeds
}

/// Probes every track until each change is pinned to two evaluations.
fn probe_all(
    subjects: &[promtool::Subject],
    tracks: &mut [search::Track],
    rate: f64,
) -> Result<(usize, usize, f64), SweepError> {
    let promtool = crate::env::find_binary("FIREDRILL_PROMTOOL", "promtool").ok_or_else(|| {
        SweepError::Promtool(
            "the sweep runs Prometheus's rule engine through promtool: install it with `sudo apt-get install prometheus` (or set FIREDRILL_PROMTOOL), or pass --model-only for the arithmetic alone".into(),
        )
    })?;
    // FIREDRILL_SWEEP_KEEP=1 keeps promtool's files (to run them by hand).
    let keep = std::env::var_os("FIREDRILL_SWEEP_KEEP").is_some();
    let dir = tempfile::Builder::new()
        .prefix("firedrill-sweep")
        .disable_cleanup(keep)
        .tempdir()
        .map_err(|e| SweepError::Io(e.to_string()))?;
    if keep {
        eprintln!("sweep: promtool's files are in {}", dir.path().display());
    }
    let traffic = promtool::Traffic { rate };
    let (mut probes_asked, mut rounds, mut waited) = (0, 0, 0.0);
    loop {
        let mut probes = Vec::new();
        let mut owners = Vec::new();
        for (t, track) in tracks.iter().enumerate() {
            let leader = track.leader.map(|l| &tracks[l]);
            for j in track.wanted(leader) {
                probes.push(track.probe(j));
                owners.push((t, j));
            }
        }
        if probes.is_empty() {
            return Ok((probes_asked, rounds, waited));
        }
        rounds += 1;
        if rounds > 40 {
            return Err(SweepError::Promtool(
                "the search did not settle after 40 rounds of probes".into(),
            ));
        }
        probes_asked += probes.len();
        let asked = Instant::now();
        let round_dir = dir.path().join(format!("round-{rounds}"));
        std::fs::create_dir_all(&round_dir).map_err(|e| SweepError::Io(e.to_string()))?;
        let answers = promtool::answer(&promtool, subjects, &probes, &traffic, &round_dir)?;
        waited += asked.elapsed().as_secs_f64();
        if keep {
            eprintln!(
                "sweep: round {rounds}: {} probes in {:.2}s",
                probes.len(),
                asked.elapsed().as_secs_f64()
            );
        }
        for ((t, j), fired) in owners.into_iter().zip(answers) {
            tracks[t].known.insert(j, fired);
        }
    }
}

/// An alert's row for one fault: promtool's answers over the phases, or
/// the model's alone.
fn row(target: &Target, case: &Case, tracks: &[&search::Track], options: &SweepOptions) -> Row {
    let model = (case.shape == FaultShape::Step)
        .then(|| model(target, case.error_ratio))
        .flatten();
    let outcomes: Vec<search::Outcome> = tracks
        .iter()
        .filter(|t| t.case == *case)
        .map(|t| t.outcome(target.hold, target.keep))
        .collect();
    let mut row = Row {
        case: *case,
        pending: None,
        firing: None,
        resolved_after_end: None,
        phases_firing: 0,
        phases: outcomes.len(),
        episodes: 0,
        before_the_fault: false,
        budget_at_firing: None,
        fault_budget: None,
        significance: None,
        model,
    };
    if options.model_only || outcomes.is_empty() {
        if let Some(m) = model {
            row.pending = m.pending.map(|b| Span {
                best_seconds: b.best_seconds,
                worst_seconds: b.worst_seconds,
            });
            row.firing = m.firing.map(|b| Span {
                best_seconds: b.best_seconds,
                worst_seconds: b.worst_seconds,
            });
        }
    } else {
        let lag = target.sweep.recording_delay_seconds;
        let later = |s: Option<Span>| {
            s.map(|s| Span {
                worst_seconds: s.worst_seconds + lag,
                ..s
            })
        };
        row.pending = later(Span::over(outcomes.iter().filter_map(|o| o.pending)));
        row.firing = later(Span::over(outcomes.iter().filter_map(|o| o.firing)));
        row.phases_firing = outcomes.iter().filter(|o| o.firing.is_some()).count();
        row.episodes = outcomes.iter().map(|o| o.episodes).max().unwrap_or(0);
        row.before_the_fault = outcomes.iter().any(|o| o.pending.is_some_and(|p| p < 0.0));
        if let Some(end) = case.shape.end() {
            row.resolved_after_end = later(Span::over(
                outcomes
                    .iter()
                    .filter(|o| o.firing.is_some())
                    .filter_map(|o| o.resolved.map(|r| r - end)),
            ));
        }
    }
    if let Some(slo) = &target.sweep.slo {
        row.budget_at_firing = row.firing.map(|f| Span {
            best_seconds: slo.budget_spent(case.error_ratio, f.best_seconds.max(0.0)),
            worst_seconds: slo.budget_spent(case.error_ratio, f.worst_seconds.max(0.0)),
        });
        let duration = case.shape.end().unwrap_or(target.sweep.horizon_seconds);
        let spent = slo.budget_spent(case.error_ratio, duration);
        row.fault_budget = Some(spent);
        row.significance = Some(if spent >= options.page_share {
            Significance::Significant
        } else if spent < options.false_alarm_share {
            Significance::Minor
        } else {
            Significance::Neither
        });
    }
    row
}

fn finding(
    target: &Target,
    id: &'static str,
    severity: Severity,
    reason: String,
    fix: &str,
) -> Finding {
    Finding {
        id,
        severity,
        subject: target.sweep.name(),
        origin: target.origin.to_string(),
        reason,
        fix: fix.to_string(),
        assumption: None,
    }
}

/// Precision and recall, and a finding per miss and false alarm.
fn score(target: &mut Target, options: &SweepOptions, findings: &mut Vec<Finding>) {
    if target.sweep.rows.iter().any(|r| r.before_the_fault) {
        findings.push(finding(
            target,
            "sweep/fires-on-healthy-traffic",
            Severity::Error,
            "it is pending or firing before any fault, on traffic without errors".into(),
            "check the condition on healthy traffic (a ratio that is 1 whenever the series exist?)",
        ));
    }
    if target.sweep.slo.is_none() || options.model_only {
        return;
    }
    let mut scores = Scores::default();
    for row in &target.sweep.rows {
        let fired_somewhere = row.phases_firing > 0;
        let fired_everywhere = row.phases > 0 && row.phases_firing == row.phases;
        if fired_somewhere {
            scores.fired += 1;
        }
        let spent = row.fault_budget.unwrap_or(0.0);
        match row.significance {
            Some(Significance::Significant) if fired_everywhere => scores.detected += 1,
            Some(Significance::Significant) => {
                scores.missed += 1;
                findings.push(finding(
                    target,
                    "sweep/missed",
                    Severity::Warning,
                    format!(
                        "{} to {} errors spends {} of the error budget{} and it {}",
                        case_text(&row.case),
                        percent(row.case.error_ratio),
                        percent(spent),
                        if row.case.shape == FaultShape::Step {
                            format!(" within {}", fmt(target.sweep.horizon_seconds))
                        } else {
                            String::new()
                        },
                        if fired_somewhere {
                            "fires at some phases of scrapes and evaluations only"
                        } else {
                            "never fires"
                        }
                    ),
                    "lower the burn-rate threshold or add a window pair that covers this burn (the Workbook's 6× over 6h, 3× over 1d)",
                ));
            }
            Some(Significance::Minor) if fired_somewhere => {
                scores.false_alarms += 1;
                findings.push(finding(
                    target,
                    "sweep/false-alarm",
                    Severity::Warning,
                    format!(
                        "it fires on {} to {} errors, which spends only {} of the error budget",
                        case_text(&row.case),
                        percent(row.case.error_ratio),
                        percent(spent)
                    ),
                    "require a longer window (or `and` it with one) so short faults cannot fire it",
                ));
            }
            _ => {}
        }
    }
    target.sweep.scores = Some(scores.finish());
}

fn case_text(case: &Case) -> String {
    match case.shape {
        FaultShape::Step => "a step".into(),
        FaultShape::Burst(d) => format!("a {} burst", fmt(d)),
    }
}

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

/// Where promtool and the model disagree by more than an evaluation and a
/// scrape: a bug in one of them, said plainly.
fn cross_check(target: &Target, notes: &mut Vec<String>) {
    let slack = target.intervals.evaluation.as_secs_f64() + target.intervals.scrape.as_secs_f64();
    for row in &target.sweep.rows {
        let (Some(model), true) = (row.model, row.phases > 0) else {
            continue;
        };
        let disagree = match (model.firing, row.firing) {
            (None, None) => false,
            (Some(m), Some(p)) => {
                p.best_seconds < m.best_seconds - slack - 1e-6
                    || p.worst_seconds > m.worst_seconds + slack + 1e-6
            }
            (Some(_), None) | (None, Some(_)) => true,
        };
        if disagree {
            notes.push(format!(
                "{}: at {} errors promtool and the timing model disagree (promtool {}, model {}) — a bug in firedrill's model; please report it",
                target.sweep.name(),
                percent(row.case.error_ratio),
                table::span_text(row.firing),
                table::bounds_text(model.firing)
            ));
        }
    }
}
