//! What the timing model predicts for a provocation: the step it is (a
//! share of failing requests, a rate past its threshold, a gauge crossing,
//! a timestamp that stops, a target gone, …), read from the levels that
//! change and the leaves that read them, and the model's firing bounds for
//! that step. Where no step of the model says what the provocation does,
//! the prediction is absent, with why.

use std::time::Duration;

use promql_parser::parser::Expr;

use super::levels::Level;
use super::provoke::Provocation;
use super::series::{Kind, Role};
use super::steady::{self, Steady};
use crate::analyze::condition::{constant, Direction, Function, Leaf, Shape, Signal};
use crate::analyze::timing::{self, Bounds, Intervals, Knowledge, Step};
use crate::rules::promql::{unparen, windows, BinaryOp, Comparison};

/// The model's answer for a provocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Seconds after the provocation began (None: the model has no step
    /// for it, or says it never fires: `why`).
    pub firing: Option<Bounds>,
    /// Seconds after the provocation is withdrawn until it resolves.
    pub resolved: Option<Bounds>,
    pub step: Option<Step>,
    pub why: String,
}

/// What the alert's rule says besides its condition.
pub struct Rule<'a> {
    pub shape: Option<&'a Shape>,
    pub hold: Duration,
    pub keep: Duration,
    pub intervals: Intervals,
}

/// The model's firing bounds for `provocation`.
pub fn predict(provocation: &Provocation, rule: &Rule) -> Prediction {
    let Some(shape) = rule.shape else {
        return Prediction {
            firing: None,
            resolved: None,
            step: None,
            why: "the timing model does not read this condition".into(),
        };
    };
    let bounds = |name: &str| {
        provocation.series.iter().find_map(|s| match &s.kind {
            Kind::Histogram { bounds } if s.metric.trim_end_matches("_bucket") == name => {
                Some(bounds.clone())
            }
            _ => None,
        })
    };
    let knowledge = Knowledge {
        intervals: rule.intervals,
        buckets: &bounds,
    };
    let steps = steps(provocation, shape);
    for step in &steps {
        if let Some(timing) = timing::time_to_fire(shape, *step, rule.hold, rule.keep, &knowledge) {
            let why = match timing.firing {
                Some(_) => format!("the timing model, for the step {}", step_text(step)),
                None => format!(
                    "the timing model says it never fires for the step {}: {}",
                    step_text(step),
                    timing.why
                ),
            };
            return Prediction {
                firing: timing.firing,
                resolved: timing.resolved,
                step: Some(*step),
                why,
            };
        }
    }
    Prediction {
        firing: None,
        resolved: None,
        step: None,
        why: if steps.is_empty() {
            "the timing model has no step for what this provocation changes".into()
        } else {
            format!(
                "the timing model does not time the step {} for this condition",
                step_text(&steps[0])
            )
        },
    }
}

fn step_text(step: &Step) -> String {
    serde_json::to_string(step).unwrap_or_default()
}

/// The steps the provocation may be, most specific first.
fn steps(p: &Provocation, shape: &Shape) -> Vec<Step> {
    if p.always {
        return vec![Step::RulesLoaded];
    }
    let leaves = shape.leaves();
    let mut steps = Vec::new();
    for i in p.changed() {
        let spec = &p.series[i];
        let reading: Vec<&Leaf> = leaves
            .iter()
            .copied()
            .filter(|l| l.metrics.contains(&spec.metric))
            .collect();
        let (before, after) = (p.healthy[i], p.provoking[i]);
        for leaf in &reading {
            steps.extend(leaf_step(p, i, leaf, before, after, reading.len() == 1));
        }
        if after == Level::Absent {
            steps.push(Step::TargetRemoved);
        }
    }
    steps.dedup();
    steps
}

/// The step a change of series `i` is, for one leaf reading it (`alone`:
/// the only leaf that reads it — the model applies a step to every leaf
/// of its kind over the same metric).
fn leaf_step(
    p: &Provocation,
    i: usize,
    leaf: &Leaf,
    before: Level,
    after: Level,
    alone: bool,
) -> Vec<Step> {
    let t = leaf.threshold;
    let spec = &p.series[i];
    match (&leaf.signal, after) {
        (Signal::Ratio { mean: false, .. }, _) if spec.role.is_some() => {
            failing_share(p).map(Step::ErrorShare).into_iter().collect()
        }
        (Signal::Ratio { mean: true, .. }, _) => {
            mean(p).map(Step::ErrorShare).into_iter().collect()
        }
        (Signal::Quantile { .. }, Level::Observed { .. }) => vec![Step::SlowShare(1.0)],
        (Signal::Rate { .. }, Level::Rate { per_second }) => {
            let (from, total) = (
                summed(p, &spec.metric, &p.healthy),
                summed(p, &spec.metric, &p.provoking),
            );
            match (leaf.direction, t) {
                // The rate over the window moves from `from` to `total` as
                // the window fills, and passes `t` at (t − from) / (total −
                // from) of it: the model's 1/multiple (from 0: total / t).
                (Direction::Above, Some(t)) if t > from => {
                    vec![Step::RateMultiple((total - from) / (t - from))]
                }
                (Direction::Above, Some(_)) => vec![Step::Starts],
                (Direction::Below, Some(t)) if t > 0.0 && per_second == 0.0 => {
                    vec![Step::FallsFrom(from / t)]
                }
                (_, Some(t)) if t == 0.0 && per_second == 0.0 => vec![Step::Stops],
                (Direction::Above, None) if alone => scaled_multiple(p, &leaf.text)
                    .map(Step::RateMultiple)
                    .into_iter()
                    .collect(),
                _ => vec![],
            }
        }
        (Signal::Changes { .. }, Level::Resets { .. } | Level::Flapping { .. }) => {
            vec![Step::Starts]
        }
        (Signal::Up, Level::Value { .. }) => vec![Step::Crosses, Step::ScrapeFails],
        (Signal::Absent { .. }, Level::Value { value }) if spec.metric == "up" && value == 0.0 => {
            vec![Step::ScrapeFails]
        }
        (Signal::Age, Level::Frozen) => vec![Step::Stops],
        (Signal::Deriv { .. }, Level::Slope { per_second, .. }) => match t {
            Some(t) if t != 0.0 => vec![Step::RateMultiple(per_second / t)],
            _ => vec![Step::Starts],
        },
        (Signal::PredictLinear { .. }, Level::Slope { from, per_second }) => match t {
            Some(t) if per_second != 0.0 => vec![Step::FillsIn((t - from) / per_second)],
            _ => vec![],
        },
        (
            Signal::OverTime {
                function: Function::AvgOverTime | Function::SumOverTime,
                ..
            },
            Level::Value { value },
        ) => match (leaf.direction, t, before) {
            (Direction::Above, Some(t), Level::Value { value: 0.0 }) if t > 0.0 => {
                vec![Step::RateMultiple(value / t)]
            }
            (Direction::Below, Some(t), Level::Value { value: was }) if t > 0.0 && value == 0.0 => {
                vec![Step::FallsFrom(was / t)]
            }
            _ if spec.metric == "up" => vec![Step::ScrapeFails],
            _ => vec![],
        },
        (Signal::Gauge | Signal::OverTime { .. } | Signal::Delta { .. }, Level::Value { .. }) => {
            vec![Step::Crosses]
        }
        _ => vec![],
    }
}

/// A rate a gauge scales, compared from above (`rate(cpu[5m]) / (quota /
/// period) > 0.9`: no threshold in the rate's own unit): the multiple of
/// its threshold the provocation reaches, read from the compared value at
/// the healthy and the provoking steady states, where that value is one
/// series', only rates over one window change, and it moves with them in
/// proportion.
fn scaled_multiple(p: &Provocation, comparison: &str) -> Option<f64> {
    let expr = promql_parser::parser::parse(comparison).ok()?;
    let Expr::Binary(b) = unparen(&expr) else {
        return None;
    };
    if b.modifier.as_ref().is_some_and(|m| m.return_bool) {
        return None;
    }
    let Ok(BinaryOp::Comparison(op)) = BinaryOp::of(b.op) else {
        return None;
    };
    use Comparison::{Greater, GreaterOrEqual, Less, LessOrEqual};
    let (side, threshold) = match (constant(&b.lhs), constant(&b.rhs), op) {
        (None, Some(t), Greater | GreaterOrEqual) => (&b.lhs, t),
        (Some(t), None, Less | LessOrEqual) => (&b.rhs, t),
        _ => return None,
    };
    // The model fills one window: rates over several fill at their paces.
    let ranges = windows(side);
    if ranges.iter().any(|r| *r != ranges[0]) {
        return None;
    }
    // Only rates change: a gauge, a count, a series that comes or goes
    // would step at once, not along the window.
    let only_rates = p.healthy.iter().zip(&p.provoking).all(|pair| match pair {
        (Level::Rate { .. }, Level::Rate { .. }) => true,
        (h, v) => h == v,
    });
    if !only_rates {
        return None;
    }
    let one = |levels: &[Level]| match steady::value(side, &p.series, levels)? {
        Steady::Vector(v) if v.len() == 1 => Some(v[0].1),
        _ => None,
    };
    // Each counter's rate over the window when `f` of it follows the step.
    let mixed = |f: f64| -> Vec<Level> {
        p.healthy
            .iter()
            .zip(&p.provoking)
            .map(|pair| match pair {
                (Level::Rate { per_second: h }, Level::Rate { per_second: v }) => Level::Rate {
                    per_second: (1.0 - f) * h + f * v,
                },
                (_, v) => *v,
            })
            .collect()
    };
    let (healthy, provoked) = (one(&p.healthy)?, one(&p.provoking)?);
    if !(healthy < threshold && threshold < provoked) {
        return None;
    }
    // Were the value to move along the window as the rates do (affine in
    // them), it would pass the threshold at (threshold − healthy) /
    // (provoked − healthy) of it: the model's 1/multiple. That it does is
    // checked there and halfway (a `max` of a steady rate and a rising one
    // does not).
    let m = (provoked - healthy) / (threshold - healthy);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs());
    let affine = close(one(&mixed(1.0 / m))?, threshold)
        && close(one(&mixed(0.5))?, (healthy + provoked) / 2.0);
    affine.then_some(m)
}

/// The share of failing events of a ratio's counters in the provocation
/// (the others' own events give way to the failures').
fn failing_share(p: &Provocation) -> Option<f64> {
    let rate = |j: usize| match p.provoking[j] {
        Level::Rate { per_second } => per_second,
        _ => 0.0,
    };
    let (mut failing, mut all) = (0.0, 0.0);
    for (i, spec) in p.series.iter().enumerate() {
        let given_way: f64 = spec.replaced_by.iter().map(|&j| rate(j)).sum();
        match spec.role {
            Some(Role::Failures) => {
                failing += rate(i);
                all += rate(i);
            }
            Some(Role::Others) => all += (rate(i) - given_way).max(0.0),
            None => {}
        }
    }
    (all > 0.0).then(|| failing / all)
}

/// A mean (`rate(x_sum) / rate(x_count)`) in the provocation.
fn mean(p: &Provocation) -> Option<f64> {
    let rate_of = |suffix: &str| {
        p.series
            .iter()
            .zip(&p.provoking)
            .filter(|(s, _)| s.metric.ends_with(suffix))
            .map(|(_, l)| match l {
                Level::Rate { per_second } => *per_second,
                _ => 0.0,
            })
            .sum::<f64>()
    };
    let count = rate_of("_count");
    (count > 0.0).then(|| rate_of("_sum") / count)
}

/// The summed rate of `metric`'s series at `levels`.
fn summed(p: &Provocation, metric: &str, levels: &[Level]) -> f64 {
    p.series
        .iter()
        .zip(levels)
        .filter(|(s, _)| s.metric == metric)
        .map(|(_, l)| match l {
            Level::Rate { per_second } => *per_second,
            _ => 0.0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::series::SeriesSpec;

    fn series(metric: &str, kind: Kind) -> SeriesSpec {
        SeriesSpec {
            metric: metric.into(),
            labels: [("pod".to_string(), "p0".to_string())].into(),
            kind,
            role: None,
            includes: Vec::new(),
            replaced_by: Vec::new(),
            twin_of: None,
        }
    }

    fn cpu(healthy: f64, provoking: f64) -> Provocation {
        let limit = [Level::Value { value: 2.0 }, Level::Value { value: 1.0 }];
        let rate = |per_second| Level::Rate { per_second };
        Provocation {
            series: vec![
                series("cpu", Kind::Counter),
                series("quota", Kind::Gauge),
                series("period", Kind::Gauge),
            ],
            healthy: [vec![rate(healthy)], limit.to_vec()].concat(),
            provoking: [vec![rate(provoking)], limit.to_vec()].concat(),
            always: false,
            tried: 2,
            held_after: 0.0,
        }
    }

    fn shape(q: &str) -> Shape {
        use crate::analyze::condition::{read, Reader, Recordings};
        read(
            &promql_parser::parser::parse(q).unwrap(),
            &Reader::new(&Recordings::new()),
        )
        .unwrap()
    }

    #[test]
    fn a_rate_passes_its_threshold_as_the_window_fills_from_where_it_was() {
        // 1/s to 3/s against 2/s: past it halfway through the window.
        let p = cpu(1.0, 3.0);
        assert_eq!(
            steps(&p, &shape("rate(cpu[5m]) > 2")),
            vec![Step::RateMultiple(2.0)]
        );
        // Against a 2-core limit: 0.5 to 1.5 against 0.9, past it at 0.4.
        assert_eq!(
            steps(&p, &shape("rate(cpu[5m]) / quota > 0.9")),
            vec![Step::RateMultiple(2.5)]
        );
        // Two leaves over the counter: the model would time both with one
        // leaf's multiple; no step.
        let both = "rate(cpu[5m]) / quota > 0.9 and rate(cpu[1h]) / quota > 0.1";
        assert_eq!(steps(&p, &shape(both)), vec![]);
    }

    #[test]
    fn a_rate_a_gauge_scales_reaches_the_multiple_its_steady_value_says() {
        let p = cpu(0.0, 3.0);
        // 3 cores of a 2-core limit: 1.5 against 0.9, from 0.
        for q in [
            "sum by (pod) (rate(cpu[5m])) / sum by (pod) (quota / period) > 0.9",
            "0.9 < rate(cpu[5m]) / on(pod) (quota / period)",
        ] {
            let m = scaled_multiple(&p, q).unwrap();
            assert!((m - 1.5 / 0.9).abs() < 1e-12, "{q}: {m}");
        }
        // From 0.5 of the limit to 1.5: past 0.9 at 0.4 of the window; an
        // offset moves with the rate too (1 to 2.5: past 2 at 2/3).
        let m = scaled_multiple(&cpu(1.0, 3.0), "rate(cpu[5m]) / quota > 0.9").unwrap();
        assert!((m - 1.0 / 0.4).abs() < 1e-12, "{m}");
        let m = scaled_multiple(&p, "rate(cpu[5m]) / quota + 1 > 2").unwrap();
        assert!((m - 1.5).abs() < 1e-12, "{m}");
        // The limit halved with the provocation: it steps at once (0.5 to
        // 3, past 0.9 at 0.2 of the window, not 1/m's 0.16).
        let mut halved = cpu(1.0, 3.0);
        halved.provoking[1] = Level::Value { value: 1.0 };
        // A container steady at 0.5 of the limit beside one rising from 0
        // to 1.5: their max passes 0.9 at 0.6 of the window, not 1/m's 0.4.
        let mut beside = cpu(0.0, 3.0);
        beside.series.push(SeriesSpec {
            labels: [("pod", "p0"), ("container", "b")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
            ..series("cpu", Kind::Counter)
        });
        beside.healthy.push(Level::Rate { per_second: 1.0 });
        beside.provoking.push(Level::Rate { per_second: 1.0 });
        // Not moving along the window with the rates, past the threshold
        // already while healthy, compared from below: the model's step says
        // nothing of these.
        for (p, q) in [
            (cpu(0.0, 3.0), "rate(cpu[5m]) * rate(cpu[5m]) / quota > 0.9"),
            (halved, "rate(cpu[5m]) / quota > 0.9"),
            (
                beside,
                "max by (pod) (rate(cpu[5m])) / on(pod) sum by (pod) (quota) > 0.9",
            ),
            (
                cpu(0.0, 3.0),
                "(rate(cpu[5m]) + rate(cpu[1h])) / quota > 0.9",
            ),
            (cpu(2.0, 3.0), "rate(cpu[5m]) / quota > 0.9"),
            (cpu(0.0, 3.0), "rate(cpu[5m]) / quota < 0.9"),
            (cpu(0.0, 3.0), "rate(cpu[5m]) / quota > bool 0.9"),
        ] {
            assert_eq!(scaled_multiple(&p, q), None, "{q}");
        }
    }
}
