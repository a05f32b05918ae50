//! The levels a series can be held at (a counter's rate, a gauge's value,
//! a timestamp fresh or frozen, a histogram's observations in one bucket,
//! the series gone), and the candidates for each series of an alert: a
//! nominal level on the safe side of the thresholds that read it, and
//! alternatives past them — chosen from the condition tree (thresholds and
//! directions, in each signal's own unit), the expression's constants, and
//! the roles of a ratio's counters. promtool, not this file, decides which
//! candidates hold the condition (`provoke`).

use serde::Serialize;

use super::series::{Kind, Role, SeriesSpec};
use crate::analyze::condition::{Direction, Function, Leaf, Shape, Signal};

/// One series' state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "level")]
pub enum Level {
    /// The series is gone (its target removed, or never there).
    Absent,
    /// A counter counting this many events per second.
    Rate { per_second: f64 },
    /// A counter that restarts from zero every `every` seconds.
    Resets { per_second: f64, every: f64 },
    /// A gauge at this value.
    Value { value: f64 },
    /// A gauge alternating between `value` and `value + 1` every `every`
    /// seconds.
    Flapping { value: f64, every: f64 },
    /// A gauge moving from `from` at this pace since the state began.
    Slope { from: f64, per_second: f64 },
    /// A timestamp that keeps up with the clock.
    Fresh,
    /// A timestamp stuck at the moment the state began.
    Frozen,
    /// A timestamp this many seconds ahead of the clock (behind, when
    /// negative): a deadline.
    Ahead { seconds: f64 },
    /// A histogram's observations, all in bucket `bucket` (0: at or below
    /// the first bound; the number of bounds: above the last), this many
    /// per second.
    Observed { bucket: usize, per_second: f64 },
}

impl Level {
    /// A state that looks the same whenever it began (a healthy state must
    /// be one).
    pub fn is_static(&self) -> bool {
        !matches!(self, Level::Slope { .. } | Level::Frozen)
    }

    /// In words, for a person reading a test or the ledger.
    pub fn describe(&self, spec: &SeriesSpec) -> String {
        match self {
            Level::Absent => "gone (no samples, a staleness marker)".into(),
            Level::Rate { per_second } => format!("counting {per_second}/s"),
            Level::Resets { per_second, every } => {
                format!("counting {per_second}/s, restarting every {every}s")
            }
            Level::Value { value } => format!("at {value}"),
            Level::Flapping { value, every } => {
                format!("alternating {value} and {} every {every}s", value + 1.0)
            }
            Level::Slope { from, per_second } => format!("moving from {from} by {per_second}/s"),
            Level::Fresh => "the current time (fresh)".into(),
            Level::Frozen => "stuck at the moment the state began".into(),
            Level::Ahead { seconds } if *seconds >= 0.0 => {
                format!(
                    "{} ahead of the clock",
                    crate::time::format_duration_secs(*seconds)
                )
            }
            Level::Ahead { seconds } => {
                format!(
                    "{} behind the clock",
                    crate::time::format_duration_secs(-seconds)
                )
            }
            Level::Observed { bucket, per_second } => {
                let Kind::Histogram { bounds } = &spec.kind else {
                    return format!("observations in bucket {bucket}");
                };
                let upper = bounds
                    .get(*bucket)
                    .map_or("+Inf".to_string(), |b| format!("{b}"));
                let lower = if *bucket == 0 {
                    "0".to_string()
                } else {
                    format!("{}", bounds[bucket - 1])
                };
                format!("{per_second} observations/s, all in ({lower}, {upper}]")
            }
        }
    }
}

/// The candidates of an alert: a nominal level per series and, per series,
/// the alternatives to try (most natural first).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidates {
    pub nominal: Vec<Level>,
    pub alternatives: Vec<Vec<Level>>,
}

/// Requests per second of a ratio's traffic.
const TRAFFIC: f64 = 10.0;

/// The candidates for `specs`, from the condition `shape` (None: not read),
/// the expression's constants and the scrape interval.
pub fn candidates(
    specs: &[SeriesSpec],
    shape: Option<&Shape>,
    constants: &[f64],
    scrape: f64,
) -> Candidates {
    let leaves: Vec<&Leaf> = shape.map(|s| s.leaves()).unwrap_or_default();
    let mut nominal: Vec<Level> = Vec::new();
    let mut alternatives: Vec<Vec<Level>> = Vec::new();
    for spec in specs {
        // A second series like another: gone while healthy, then like it.
        if let Some(original) = spec.twin_of {
            let mut alts = vec![nominal[original]];
            alts.extend(
                alternatives[original]
                    .iter()
                    .copied()
                    .filter(|l| *l != Level::Absent),
            );
            nominal.push(Level::Absent);
            alternatives.push(alts);
            continue;
        }
        let reading: Vec<&Leaf> = leaves
            .iter()
            .copied()
            .filter(|l| l.metrics.contains(&spec.metric))
            .collect();
        let (n, mut alts) = match &spec.kind {
            Kind::Counter => {
                let (n, mut alts) = counter(spec, &reading, scrape);
                // A rate scaled by a gauge: the expression's constants.
                if reading.iter().any(|l| l.threshold.is_none()) {
                    alts.extend(
                        constants
                            .iter()
                            .filter(|c| **c > 0.0)
                            .map(|c| rate(2.0 * c)),
                    );
                }
                (n, alts)
            }
            Kind::Gauge => gauge(spec, &reading, constants, scrape),
            Kind::Timestamp => (Level::Fresh, vec![Level::Frozen]),
            Kind::Deadline => deadline(constants),
            Kind::Histogram { bounds } => histogram(bounds, &reading),
        };
        alts.push(Level::Absent);
        let mut unique: Vec<Level> = Vec::new();
        for level in alts {
            if level != n && !unique.contains(&level) && finite(&level) {
                unique.push(level);
            }
        }
        nominal.push(n);
        alternatives.push(unique);
    }
    Candidates {
        nominal,
        alternatives,
    }
}

fn finite(level: &Level) -> bool {
    match level {
        Level::Rate { per_second } => per_second.is_finite() && *per_second >= 0.0,
        Level::Value { value } => value.is_finite(),
        Level::Slope { from, per_second } => from.is_finite() && per_second.is_finite(),
        _ => true,
    }
}

/// Six significant digits: levels read well (`1.44/s`, not `1.4399999999999182/s`).
fn round(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(5 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

fn rate(per_second: f64) -> Level {
    Level::Rate {
        per_second: round(per_second),
    }
}

fn value(value: f64) -> Level {
    Level::Value {
        value: round(value),
    }
}

/// A counter: a ratio's failures start at none and rise to a share past
/// the threshold; a rate compared with a threshold starts on its safe side.
fn counter(spec: &SeriesSpec, reading: &[&Leaf], scrape: f64) -> (Level, Vec<Level>) {
    let ratio = reading
        .iter()
        .find(|l| matches!(l.signal, Signal::Ratio { mean: false, .. }));
    match (spec.role, ratio) {
        // Failures take the place of successes: the traffic stays TRAFFIC.
        (Some(Role::Failures), leaf) => {
            let mut alts: Vec<Level> = leaf
                .and_then(|l| failing_share(l))
                .map(|s| rate(TRAFFIC * s))
                .into_iter()
                .collect();
            alts.push(rate(TRAFFIC));
            return (rate(0.0), alts);
        }
        (Some(Role::Others), _) => return (rate(TRAFFIC), vec![rate(0.0), rate(100.0 * TRAFFIC)]),
        _ => {}
    }
    let resets = reading.iter().any(|l| {
        matches!(
            l.signal,
            Signal::Changes {
                function: Function::Resets,
                ..
            }
        )
    });
    if resets {
        return (
            rate(TRAFFIC),
            vec![Level::Resets {
                per_second: TRAFFIC,
                every: 2.0 * scrape,
            }],
        );
    }
    let Some(leaf) = reading
        .iter()
        .find(|l| matches!(l.signal, Signal::Rate { .. }))
    else {
        return (rate(TRAFFIC), vec![rate(0.0), rate(100.0 * TRAFFIC)]);
    };
    match (leaf.direction, leaf.threshold) {
        (Direction::Above, Some(t)) if t > 0.0 => (rate(0.0), vec![rate(10.0 * t), rate(2.0 * t)]),
        (Direction::Above, Some(_)) => (rate(0.0), vec![rate(1.0), rate(0.1)]),
        (Direction::Below, Some(t)) if t > 0.0 => (rate(10.0 * t), vec![rate(0.0), rate(t / 2.0)]),
        (Direction::Below | Direction::Equal, Some(0.0)) => (rate(1.0), vec![rate(0.0)]),
        _ => (
            rate(TRAFFIC),
            vec![rate(0.0), rate(100.0 * TRAFFIC), rate(0.1)],
        ),
    }
}

/// The share of failing requests that clearly passes a ratio's threshold
/// (None: no share can).
fn failing_share(leaf: &Leaf) -> Option<f64> {
    let t = leaf.threshold?;
    let bad = match leaf.direction {
        Direction::Above => t,
        Direction::Below => 1.0 - t,
        _ => return None,
    };
    (0.0..1.0)
        .contains(&bad)
        .then(|| (bad * 10.0).min((1.0 + bad) / 2.0).max(1e-3))
}

/// Past a threshold `t` in `direction`, and its safe side.
fn sides(direction: Direction, t: f64) -> (f64, f64) {
    let double = |x: f64| if x > 0.0 { 2.0 * x } else { x / 2.0 };
    let half = |x: f64| if x > 0.0 { x / 2.0 } else { 2.0 * x };
    match direction {
        Direction::Above if t == 0.0 => (1.0, 0.0),
        Direction::Above => (double(t), half(t)),
        Direction::Below if t == 0.0 => (-1.0, 1.0),
        Direction::Below => (half(t), double(t)),
        Direction::Equal => (t, t + 1.0),
        Direction::NotEqual => (t + 1.0, t),
        Direction::Exists => (1.0, 1.0),
    }
}

/// A gauge: the first metric a comparison names is held on its safe side
/// (the others at 1, so a ratio of gauges starts at that side too); the
/// alternatives pass each threshold, move (`deriv`, `predict_linear`),
/// flap (`changes`), or take the expression's constants.
fn gauge(
    spec: &SeriesSpec,
    reading: &[&Leaf],
    constants: &[f64],
    scrape: f64,
) -> (Level, Vec<Level>) {
    if spec.metric == "up" {
        return (value(1.0), vec![value(0.0)]);
    }
    let first = |l: &Leaf| {
        l.metrics
            .iter()
            .filter_map(|m| l.text.find(m.as_str()).map(|at| (at, m)))
            .min()
            .map(|(_, m)| m == &spec.metric)
            .unwrap_or(true)
    };
    let mut nominal = None;
    let mut alts = Vec::new();
    // Between two bounds (`> 0.9 < 1`): the middle.
    let bound = |direction| {
        reading
            .iter()
            .filter(|l| l.direction == direction)
            .find_map(|l| l.threshold)
    };
    if let (Some(low), Some(high)) = (bound(Direction::Above), bound(Direction::Below)) {
        if low < high {
            alts.push(value((low + high) / 2.0));
        }
    }
    for leaf in reading {
        let Some(t) = leaf.threshold else {
            alts.extend([value(0.0), value(2.0), value(10.0)]);
            continue;
        };
        let (past, safe) = sides(leaf.direction, t);
        let averaged = matches!(
            leaf.signal,
            Signal::OverTime {
                function: Function::AvgOverTime | Function::SumOverTime,
                ..
            }
        );
        let here = if averaged && leaf.direction == Direction::Above && t > 0.0 {
            // The model's step for an average: from 0 to a multiple.
            alts.extend([value(2.0 * t), value(10.0 * t)]);
            0.0
        } else {
            alts.push(value(past));
            safe
        };
        if first(leaf) {
            nominal.get_or_insert(here);
        }
        moving(leaf, t, nominal.unwrap_or(here), scrape, &mut alts);
        // Moving from past the threshold already (`and` with its level).
        moving(leaf, t, past, scrape, &mut alts);
    }
    alts.extend([value(0.0), value(1.0), value(10.0)]);
    for &c in constants.iter().filter(|c| c.is_finite() && **c != 0.0) {
        alts.extend([c, 2.0 * c, c / 2.0, c + 1.0, c - 1.0].map(value));
    }
    alts.truncate(16);
    let from = nominal.unwrap_or(1.0);
    // A gauge that keeps rising (an increase over a subquery).
    alts.push(Level::Slope {
        from,
        per_second: 1.0,
    });
    (value(from), alts)
}

/// A deadline: 30 days ahead, then passed, due now, and closer than each
/// constant the expression names.
fn deadline(constants: &[f64]) -> (Level, Vec<Level>) {
    let ahead = |seconds: f64| Level::Ahead { seconds };
    let day = 86_400.0;
    let mut alts: Vec<Level> = [-1.0, 0.0, 1.0 / 24.0, 0.5, 1.0, 4.0, 10.0, 60.0]
        .iter()
        .map(|d| ahead(d * day))
        .collect();
    alts.extend(
        constants
            .iter()
            .filter(|c| **c > 1.0)
            .map(|c| ahead(c / 2.0)),
    );
    (ahead(30.0 * 86_400.0), alts)
}

/// Alternatives that move a gauge: a slope for `deriv` and
/// `predict_linear`, a jump for `delta`, flapping for `changes`.
fn moving(leaf: &Leaf, t: f64, from: f64, scrape: f64, alts: &mut Vec<Level>) {
    match (&leaf.signal, leaf.direction) {
        (Signal::Deriv { .. }, Direction::Above) => alts.push(Level::Slope {
            from,
            per_second: if t > 0.0 { 2.0 * t } else { 1.0 },
        }),
        (Signal::Deriv { .. }, Direction::Below) => alts.push(Level::Slope {
            from,
            per_second: if t < 0.0 { 2.0 * t } else { -1.0 },
        }),
        // Reaches the threshold a quarter of the horizon after the step.
        (
            Signal::PredictLinear {
                horizon_seconds, ..
            },
            Direction::Above | Direction::Below,
        ) if *horizon_seconds > 0.0 && t != from => alts.push(Level::Slope {
            from,
            per_second: (t - from) * 4.0 / horizon_seconds,
        }),
        (Signal::Delta { .. }, Direction::Above | Direction::Below) => {
            alts.push(value(from + 2.0 * t + if t == 0.0 { 1.0 } else { 0.0 }));
        }
        (Signal::Changes { .. }, _) => alts.push(Level::Flapping {
            value: from,
            every: scrape,
        }),
        _ => {}
    }
}

/// A histogram: every observation in the first bucket, or in a bucket past
/// the thresholds of the quantiles that read it.
fn histogram(bounds: &[f64], reading: &[&Leaf]) -> (Level, Vec<Level>) {
    let observed = |bucket| Level::Observed {
        bucket,
        per_second: TRAFFIC,
    };
    let threshold = reading.iter().find_map(|l| match (&l.signal, l.direction) {
        (Signal::Quantile { .. }, Direction::Above) => l.threshold,
        _ => None,
    });
    let mut order: Vec<usize> = (1..=bounds.len()).collect();
    if let Some(t) = threshold {
        // Buckets whose lower bound is at or past the threshold first.
        order.sort_by_key(|&k| bounds[k - 1] < t);
    }
    (observed(0), order.into_iter().map(observed).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::condition::{read, Reader, Recordings};
    use crate::coverage::series::series;
    use promql_parser::parser::parse;

    fn of(q: &str) -> (Vec<SeriesSpec>, Candidates) {
        let expr = parse(q).unwrap();
        let recordings = Recordings::new();
        let specs = series(&expr, &recordings, &|_| vec![0.1, 0.5, 1.0]).unwrap();
        let shape = read(&expr, &Reader::new(&recordings)).ok();
        let c = candidates(&specs, shape.as_ref(), &[], 15.0);
        (specs, c)
    }

    #[test]
    fn a_ratios_failures_start_at_none_and_rise_past_the_threshold() {
        let (specs, c) = of(r#"sum(rate(x{code=~"5.."}[5m])) / sum(rate(x[5m])) > 0.05"#);
        assert_eq!(specs[0].role, Some(Role::Failures));
        assert_eq!(c.nominal, vec![rate(0.0), rate(TRAFFIC)]);
        // 50% of the requests failing: 5 of 10.
        assert_eq!(c.alternatives[0][0], rate(5.0));
        assert_eq!(c.alternatives[0].last(), Some(&Level::Absent));
    }

    #[test]
    fn gauges_start_on_the_safe_side_and_quantiles_in_the_first_bucket() {
        let (_, c) = of("node_load1 > 10");
        assert_eq!(c.nominal, vec![value(5.0)]);
        assert_eq!(c.alternatives[0][0], value(20.0));
        let (_, c) = of(r#"avail / size < 0.1"#);
        assert_eq!(c.nominal, vec![value(0.2), value(1.0)]);
        let (_, c) = of("histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m]))) > 0.5");
        assert_eq!(
            c.nominal,
            vec![Level::Observed {
                bucket: 0,
                per_second: TRAFFIC
            }]
        );
        // (0.5, 1] before (0.1, 0.5].
        assert!(matches!(
            c.alternatives[0][0],
            Level::Observed { bucket: 2, .. }
        ));
    }
}
