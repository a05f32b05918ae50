//! Which steps the analysis shows for a condition when no scenario says
//! which: for each leaf a step may be about, a clear breach (ten times the
//! threshold) and a marginal one (1.2 times), or the one event its signal
//! knows.

use super::gauges::zero_holds;
use super::model::Step;
use crate::analyze::condition::{Direction, Function, Leaf, Shape, Signal};

/// The default steps of one leaf.
pub fn leaf_steps(leaf: &Leaf) -> Vec<Step> {
    let t = leaf.threshold;
    let zero = t == Some(0.0);
    let (above, below) = (
        leaf.direction == Direction::Above,
        leaf.direction == Direction::Below,
    );
    let multiples = || vec![Step::RateMultiple(10.0), Step::RateMultiple(1.2)];
    let drops = || vec![Step::FallsFrom(10.0), Step::FallsFrom(1.2)];
    let mut steps = match &leaf.signal {
        Signal::Ratio { mean, .. } => ratio_steps(leaf, *mean),
        Signal::AnyIncrease { .. } => vec![Step::ErrorShare(0.5), Step::ErrorShare(0.01)],
        Signal::Quantile { quantile, .. } if above => {
            let tail = 1.0 - quantile;
            vec![
                Step::SlowShare((tail * 10.0).min(1.0)),
                Step::SlowShare((tail * 1.2).min(1.0)),
            ]
        }
        Signal::Rate { .. } if above && zero => vec![Step::Starts, Step::Event],
        Signal::Rate { .. } if above && t.is_none_or(|t| t > 0.0) => multiples(),
        Signal::Rate { .. } if below && t.is_none_or(|t| t > 0.0) => drops(),
        Signal::Rate { .. } if zero && (below || leaf.direction == Direction::Equal) => {
            vec![Step::Stops]
        }
        Signal::OverTime { function, .. } => over_time_steps(leaf, *function),
        Signal::Changes { .. } if above && zero => vec![Step::Event, Step::Starts],
        Signal::Changes { .. } if above => vec![Step::Starts],
        Signal::Changes { .. } if zero => vec![Step::Stops],
        Signal::Delta { .. } if above || below => vec![Step::Crosses],
        Signal::Deriv { .. } if zero && (above || below) => vec![Step::Starts],
        Signal::Deriv { .. }
            if (above && t.is_some_and(|t| t > 0.0)) || (below && t.is_some_and(|t| t < 0.0)) =>
        {
            multiples()
        }
        Signal::PredictLinear {
            horizon_seconds, ..
        } if above || below => {
            vec![
                Step::FillsIn(horizon_seconds / 4.0),
                Step::FillsIn(*horizon_seconds),
            ]
        }
        Signal::Gauge if leaf.direction != Direction::Exists => vec![Step::Crosses],
        Signal::Up if !zero_holds(leaf) => vec![Step::Crosses],
        Signal::Up | Signal::Absent { .. } => vec![Step::ScrapeFails, Step::TargetRemoved],
        Signal::Age if above => vec![Step::Stops],
        Signal::Age if below => vec![Step::Event],
        Signal::Constant { .. } => vec![Step::RulesLoaded],
        _ => vec![],
    };
    steps.dedup();
    steps
}

/// A ratio: a share of failing requests (of good ones, compared from
/// below) past the threshold; a mean past it.
fn ratio_steps(leaf: &Leaf, mean: bool) -> Vec<Step> {
    match (mean, leaf.direction, leaf.threshold) {
        (false, Direction::Above, Some(t)) if t > 0.0 && t < 1.0 => vec![
            Step::ErrorShare((t * 10.0).min(1.0)),
            Step::ErrorShare((t * 1.2).min(1.0)),
        ],
        (false, Direction::Below, Some(t)) if t > 0.0 && t <= 1.0 => vec![
            Step::ErrorShare(((1.0 - t) * 10.0).min(1.0)),
            Step::ErrorShare(((1.0 - t) * 1.2).min(1.0)),
        ],
        (true, Direction::Above, Some(t)) if t > 0.0 => {
            vec![Step::ErrorShare(t * 10.0), Step::ErrorShare(t * 1.2)]
        }
        _ => vec![],
    }
}

/// `*_over_time` of a gauge (or of `up`: the share of failed scrapes).
fn over_time_steps(leaf: &Leaf, function: Function) -> Vec<Step> {
    let t = leaf.threshold;
    let zero = t == Some(0.0);
    let (above, below) = (
        leaf.direction == Direction::Above,
        leaf.direction == Direction::Below,
    );
    let averaged = matches!(function, Function::AvgOverTime | Function::SumOverTime);
    match function {
        // `avg_over_time(up[W]) < 0.9`: the share of failed scrapes.
        Function::AvgOverTime
            if below && leaf.metrics.len() == 1 && leaf.metrics.contains("up") =>
        {
            vec![Step::ScrapeFails]
        }
        _ if !averaged => vec![Step::Crosses],
        _ if above && zero => vec![Step::Crosses],
        _ if above => vec![Step::RateMultiple(10.0), Step::RateMultiple(1.2)],
        _ if below && t.is_none_or(|t| t > 0.0) => {
            vec![Step::FallsFrom(10.0), Step::FallsFrom(1.2)]
        }
        _ => vec![],
    }
}

/// Every step the alert's primaries know, each with the leaf it is about.
pub fn default_steps(shape: &Shape) -> Vec<(Step, &Leaf)> {
    let mut steps: Vec<(Step, &Leaf)> = Vec::new();
    for leaf in shape.primaries() {
        for step in leaf_steps(leaf) {
            if !steps.iter().any(|(s, _)| *s == step) {
                steps.push((step, leaf));
            }
        }
    }
    steps
}
