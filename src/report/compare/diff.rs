//! The comparison itself, pure: each figure of a baseline beside the new
//! run's, its delta and direction, and whether it is a regression — worse
//! by more than a relative limit *and* by more than an absolute floor, on
//! enough samples to mean something.
//!
//! Why both: a relative limit alone flags a 3 ms p95 that became 4 ms (33%,
//! and noise); a floor alone flags nothing on a 2 s p95 that grew 200 ms.
//! The floors differ by what a figure is: latency in milliseconds, alert
//! times in evaluation ticks (an alert's time moves by a tick from where
//! the phases fall between evaluations alone), error ratios in percentage
//! points, throughput in requests per second.

use serde::Serialize;

use crate::record::{Figures, PhaseFigures};

/// When a worse figure is a regression.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Limits {
    /// Worse by more than this share of the baseline (0.10: 10%).
    pub max_regression: f64,
    /// ...and by more than this many ms (latency quantiles).
    pub latency_floor_ms: f64,
    /// ...and by more than this many seconds (alert times); None: one
    /// evaluation interval plus one scrape interval of the new run.
    pub time_floor_seconds: Option<f64>,
    /// ...and by more than this share (error ratios: 0.01 is one
    /// percentage point).
    pub error_ratio_floor: f64,
    /// ...and by more than this many requests per second (throughput).
    pub throughput_floor: f64,
    /// Samples a figure must rest on, on both sides, to be judged: for a
    /// quantile q, requests slower than it (answers × (1 − q)); for an
    /// error ratio or a throughput, ten times this many requests.
    pub min_samples: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_regression: 0.10,
            latency_floor_ms: 5.0,
            time_floor_seconds: None,
            error_ratio_floor: 0.01,
            throughput_floor: 1.0,
            min_samples: 10,
        }
    }
}

/// The unit a figure is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Ms,
    Seconds,
    Ratio,
    PerSecond,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Better,
    Worse,
    Unchanged,
    /// One side has no value.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Judgement {
    Regression,
    /// Better, unchanged, or worse within the limits.
    Within,
    /// Shown, not judged (`why` says so).
    NotJudged,
}

/// Which part of the run a figure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    Phase,
    Alert,
    Service,
}

/// One figure, both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub section: Section,
    /// The phase, or the alert and its anchor (`GatewayHighErrorRate after
    /// errors.start`), or the service SLO's phase.
    pub subject: String,
    /// `p50`, `p95`, `p99`, `error_ratio`, `throughput`, `time_to_fire`,
    /// `time_to_resolve`, `time_to_notify`, `service_p95`, `service_error_ratio`.
    pub figure: String,
    pub unit: Unit,
    pub base: Option<f64>,
    pub new: Option<f64>,
    pub direction: Direction,
    pub judgement: Judgement,
    /// Why a figure was not judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl Row {
    pub fn delta(&self) -> Option<f64> {
        Some(self.new? - self.base?)
    }

    /// The delta as a share of the baseline (None from a zero baseline).
    pub fn relative(&self) -> Option<f64> {
        let base = self.base?;
        (base.abs() > 1e-12).then(|| self.delta().map(|d| d / base.abs()))?
    }
}

/// One figure to compare, before it is judged.
struct Pair {
    section: Section,
    subject: String,
    figure: String,
    unit: Unit,
    base: Option<f64>,
    new: Option<f64>,
    /// Higher is worse (latency, errors, times), or lower (throughput).
    higher_is_worse: bool,
    floor: f64,
    /// Why it cannot be judged, whatever the values.
    unjudged: Option<String>,
}

/// Every figure of `base` beside `new`'s (same scenario, same phases).
pub fn rows(base: &Figures, new: &Figures, limits: &Limits) -> Vec<Row> {
    let mut pairs = Vec::new();
    for (b, n) in base.phases.iter().zip(&new.phases) {
        phase_pairs(b, n, limits, &mut pairs);
    }
    let time_floor = limits
        .time_floor_seconds
        .or(new.tick_seconds)
        .unwrap_or(0.0);
    let scales_differ = (base.time_scale - new.time_scale).abs() > 1e-9;
    for figure in &new.alerts {
        let subject = alert_subject(&figure.alert, figure.receiver.as_deref(), &figure.anchor);
        let before = base.alerts.iter().find(|a| a.same_as(figure));
        pairs.push(Pair {
            section: Section::Alert,
            subject,
            figure: time_figure(&figure.kind).to_string(),
            unit: Unit::Seconds,
            base: before.map(|a| a.seconds),
            new: Some(figure.seconds),
            higher_is_worse: true,
            floor: time_floor,
            unjudged: scales_differ.then(|| {
                format!(
                    "the runs' time scales differ (×{} and ×{})",
                    crate::time::trim_float(base.time_scale),
                    crate::time::trim_float(new.time_scale)
                )
            }),
        });
    }
    for figure in &new.service {
        let before = base.service.iter().find(|s| s.same_as(figure));
        let tail = figure.quantile.map_or(1.0, |q| 1.0 - q);
        let needed = if figure.quantile.is_some() {
            limits.min_samples as f64
        } else {
            10.0 * limits.min_samples as f64
        };
        let thin = [before.and_then(|b| b.requests_seen), figure.requests_seen]
            .iter()
            .any(|seen| seen.unwrap_or(0.0) * tail < needed);
        let (name, unit, floor) = match figure.quantile {
            Some(q) => (
                format!("service_{}", quantile_label(q)),
                Unit::Ms,
                limits.latency_floor_ms,
            ),
            None => (
                "service_error_ratio".into(),
                Unit::Ratio,
                limits.error_ratio_floor,
            ),
        };
        pairs.push(Pair {
            section: Section::Service,
            subject: figure.phase.clone(),
            figure: name,
            unit,
            base: before.map(|b| b.value),
            new: Some(figure.value),
            higher_is_worse: true,
            floor,
            unjudged: thin.then(|| "Prometheus counted too few requests".to_string()),
        });
    }
    pairs.into_iter().map(|p| judge(p, limits)).collect()
}

/// What an alert check's time is called, by its kind.
fn time_figure(kind: &str) -> &'static str {
    match kind {
        "fires_within" => "time_to_fire",
        "resolves_within" => "time_to_resolve",
        "notifies_resolved_within" => "time_to_notify_resolved",
        _ => "time_to_notify",
    }
}

/// `GatewayHighErrorRate after errors.start`, `GatewayHighErrorRate → chat
/// after the condition first held`.
pub fn alert_subject(alert: &str, receiver: Option<&str>, anchor: &str) -> String {
    match receiver {
        Some(receiver) => format!("{alert} → {receiver} after {anchor}"),
        None => format!("{alert} after {anchor}"),
    }
}

/// `p95`, `p99.9`.
pub fn quantile_label(q: f64) -> String {
    format!("p{}", crate::time::trim_float(q * 100.0))
}

/// The latency quantiles compared per phase.
pub const QUANTILES: [f64; 3] = [0.50, 0.95, 0.99];

fn phase_pairs(base: &PhaseFigures, new: &PhaseFigures, limits: &Limits, pairs: &mut Vec<Pair>) {
    let few = |needed: f64, have: [f64; 2], what: String| {
        let least = have[0].min(have[1]);
        (least < needed).then(|| {
            format!(
                "{} {what} on one side (needs {})",
                crate::time::trim_float((least * 10.0).floor() / 10.0),
                crate::time::trim_float(needed)
            )
        })
    };
    let min = limits.min_samples as f64;
    for q in QUANTILES {
        let label = quantile_label(q);
        let tail = |p: &PhaseFigures| p.answered as f64 * (1.0 - q);
        pairs.push(Pair {
            section: Section::Phase,
            subject: new.phase.clone(),
            figure: label.clone(),
            unit: Unit::Ms,
            base: base.quantile_ms(q),
            new: new.quantile_ms(q),
            higher_is_worse: true,
            floor: limits.latency_floor_ms,
            unjudged: few(
                min,
                [tail(base), tail(new)],
                format!("requests beyond {label}"),
            ),
        });
    }
    let requests = [base.requests as f64, new.requests as f64];
    for (figure, unit, b, n, higher_is_worse, floor) in [
        (
            "error_ratio",
            Unit::Ratio,
            base.error_ratio(),
            new.error_ratio(),
            true,
            limits.error_ratio_floor,
        ),
        (
            "throughput",
            Unit::PerSecond,
            base.throughput(),
            new.throughput(),
            false,
            limits.throughput_floor,
        ),
    ] {
        pairs.push(Pair {
            section: Section::Phase,
            subject: new.phase.clone(),
            figure: figure.to_string(),
            unit,
            base: b,
            new: n,
            higher_is_worse,
            floor,
            unjudged: few(10.0 * min, requests, "requests".into()),
        });
    }
}

fn judge(pair: Pair, limits: &Limits) -> Row {
    let (direction, worse_by) = match (pair.base, pair.new) {
        (Some(base), Some(new)) => {
            let worse_by = if pair.higher_is_worse {
                new - base
            } else {
                base - new
            };
            // Below a thousandth of the baseline, a change is rounding.
            let direction = if worse_by.abs() < 1e-9 || worse_by.abs() < 1e-3 * base.abs() {
                Direction::Unchanged
            } else if worse_by > 0.0 {
                Direction::Worse
            } else {
                Direction::Better
            };
            (direction, Some((worse_by, base)))
        }
        _ => (Direction::Unknown, None),
    };
    let (judgement, why) = match (worse_by, pair.unjudged) {
        (None, _) => (
            Judgement::NotJudged,
            Some(
                match pair.base {
                    None => "no baseline figure",
                    Some(_) => "no figure in the new run",
                }
                .to_string(),
            ),
        ),
        (Some(_), Some(why)) => (Judgement::NotJudged, Some(why)),
        (Some((worse_by, base)), None) => {
            let regressed = worse_by > pair.floor && worse_by > limits.max_regression * base.abs();
            (
                if regressed {
                    Judgement::Regression
                } else {
                    Judgement::Within
                },
                None,
            )
        }
    };
    Row {
        section: pair.section,
        subject: pair.subject,
        figure: pair.figure,
        unit: pair.unit,
        base: pair.base,
        new: pair.new,
        direction,
        judgement,
        why,
    }
}
