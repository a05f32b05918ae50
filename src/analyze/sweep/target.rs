//! The alerts a sweep works on, each read and prepared: its condition, its
//! intervals, the series its ratio reads and the rewritten rules promtool
//! evaluates (or why it cannot be swept), its SLO, its horizon; and the
//! tracks that search its faults, seeded where the timing model expects
//! the changes.

use std::collections::BTreeMap;
use std::time::Duration;

use promql_parser::parser::Expr;

use super::cases::{self, Case, FaultShape};
use super::error::{NotSwept, Unfed};
use super::promtool::{self, Subject};
use super::results::{AlertSweep, ModelFigures};
use super::search::Track;
use super::slo::{self, Slo};
use super::synth;
use super::SweepOptions;
use crate::analyze::condition::{self, Direction, Reader, Recordings, Shape, Signal};
use crate::analyze::rules_check::Setting;
use crate::analyze::timing::{self, Intervals, Knowledge, Step};
use crate::rules::{LoadedGroups, RuleDef};

/// One alert being swept.
pub struct Target<'a> {
    pub rule: &'a RuleDef,
    pub origin: &'a str,
    pub shape: Option<Shape>,
    pub hold: f64,
    pub keep: f64,
    pub intervals: Intervals,
    pub subject: Option<Subject>,
    pub sweep: AlertSweep,
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
            Direction::Below => l.threshold.map(|t| 1.0 - t),
            _ => l.threshold,
        })
        .collect()
}

/// Every alert of the files (or the ones named), read and prepared.
pub fn targets<'a>(
    groups: &'a [LoadedGroups],
    setting: &Setting,
    recordings: &Recordings,
    options: &SweepOptions,
) -> Vec<Target<'a>> {
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
    targets
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
    let (e, s) = (
        intervals.evaluation.as_secs_f64(),
        intervals.scrape.as_secs_f64(),
    );
    let (subject, not_swept) = match subject(index, rule, &expr, recordings, s) {
        Ok(subject) => (Some(subject), None),
        Err(why) => (None, Some(why)),
    };
    let reach = subject
        .as_ref()
        .map(|s| {
            s.alert
                .reads
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
        slo: slo_of(&expr, rule, recordings, options),
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

/// What promtool evaluates for the alert: the series its ratio reads, and
/// its rules rewritten (or why it cannot be swept).
fn subject(
    index: usize,
    rule: &RuleDef,
    expr: &Expr,
    recordings: &Recordings,
    scrape: f64,
) -> Result<Subject, NotSwept> {
    if let Some(joined) = synth::joined(expr) {
        return Err(Unfed::Joined(joined).into());
    }
    let pairs = synth::ratio_pairs(expr, recordings);
    let series = synth::synthesize(&pairs, synth::numerator_counts_failures(expr))?;
    Ok(promtool::subject(
        index, rule, expr, recordings, series, scrape,
    )?)
}

/// The SLO the alert is judged by: the command line's, or its metadata
/// rules' (with the command line's period, if given).
fn slo_of(
    expr: &Expr,
    rule: &RuleDef,
    recordings: &Recordings,
    options: &SweepOptions,
) -> Option<Slo> {
    match (options.objective, options.period) {
        (Some(objective), period) => Some(Slo {
            objective,
            period_seconds: period.map(|p| p.as_secs_f64()).unwrap_or(30.0 * 86_400.0),
            from: "the command line".into(),
        }),
        (None, _) => slo::from_metadata(expr, &rule.labels, recordings).map(|mut slo| {
            if let Some(period) = options.period {
                slo.period_seconds = period.as_secs_f64();
            }
            slo
        }),
    }
}

impl Target<'_> {
    /// The timing model's answer for a step to `error_ratio`.
    pub fn model(&self, error_ratio: f64) -> Option<ModelFigures> {
        let shape = self.shape.as_ref()?;
        let knowledge = Knowledge {
            intervals: self.intervals,
            buckets: &|_| None,
        };
        let timing = timing::time_to_fire(
            shape,
            Step::ErrorShare(error_ratio),
            Duration::from_secs_f64(self.hold),
            Duration::from_secs_f64(self.keep),
            &knowledge,
        )?;
        Some(ModelFigures {
            pending: timing.pending,
            firing: timing.firing,
        })
    }
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

/// Each alert's faults, and the tracks that search them.
pub fn plan(targets: &[Target], options: &SweepOptions) -> (Vec<Track>, Vec<Vec<Case>>) {
    let mut tracks = Vec::new();
    let mut cases_of = Vec::new();
    for (n, target) in targets.iter().enumerate() {
        let cases = cases_for(target, options);
        if target.subject.is_some() && !options.model_only {
            for case in &cases {
                tracks.extend(tracks_for(n, target, case, options, tracks.len()));
            }
        }
        cases_of.push(cases);
    }
    (tracks, cases_of)
}

/// The faults an alert is tried with: each shape at each error ratio.
fn cases_for(target: &Target, options: &SweepOptions) -> Vec<Case> {
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
    shapes
        .iter()
        .flat_map(|shape| {
            ratios.iter().map(|&error_ratio| Case {
                shape: *shape,
                error_ratio,
                history: options.history.map(|h| h.as_secs_f64()),
            })
        })
        .collect()
}

/// One track per alignment of scrapes and evaluations for one fault; the
/// first (at index `first`) leads the others — unless `--thorough`, where
/// every track probes every evaluation.
fn tracks_for(
    n: usize,
    target: &Target,
    case: &Case,
    options: &SweepOptions,
    first: usize,
) -> Vec<Track> {
    let e = target.intervals.evaluation.as_secs_f64();
    let seeds = target
        .model(case.error_ratio)
        .map(|m| seeds(&m, case, target.hold))
        .unwrap_or_default();
    cases::alignments(
        target.intervals.scrape.as_secs_f64(),
        e,
        options.dense_alignments,
    )
    .into_iter()
    .enumerate()
    .map(|(k, alignment)| Track {
        leader: (k > 0 && !options.thorough).then_some(first),
        subject: n,
        case: *case,
        alignment,
        evaluation: e,
        horizon: target.sweep.horizon_seconds,
        seeds: seeds.clone(),
        known: BTreeMap::new(),
        every: options.thorough,
    })
    .collect()
}
