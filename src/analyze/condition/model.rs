//! The condition model: what an alert's condition watches, as a tree of
//! comparisons (leaves) joined by `and`, `or` and `unless`. Each leaf is a
//! signal — a ratio of rates, a histogram quantile, a rate, a gauge, `up`,
//! `absent()`, an age (`time() - x`), a windowed function of a gauge —
//! compared with a threshold in the signal's own unit; and the recording
//! rules a reading may follow. Plain types: `read` builds them, the timing
//! model and the lints read them. Knows nothing of intervals or steps.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use promql_parser::parser::Expr;
use serde::Serialize;

use super::function::Function;
use crate::rules::promql::Comparison;

/// How a leaf compares its signal with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Above,
    Below,
    Equal,
    NotEqual,
    /// No comparison: the leaf holds while it has series (`absent()`, a bare
    /// selector, `vector(1)`).
    Exists,
}

/// What `absent()` is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AbsentOf {
    /// `absent(up{…})`: a failed scrape writes `up 0`, which is present.
    Up,
    /// `absent(up{…} == 1)`: no target scraped successfully.
    HealthyUp,
    /// Any other series: a failed scrape marks it stale.
    Series,
}

/// The quantity a leaf compares.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "shape")]
pub enum Signal {
    /// `rate(bad[W]) / rate(all[W])`: a share of events (`mean`: a
    /// `_sum / _count` pair, the mean of what is observed).
    Ratio { window: Duration, mean: bool },
    /// A ratio whose two sides are the same series (`rate(x{s=~"5.."}) /
    /// rate(x)` unaggregated): 1 whenever the window holds any increase.
    AnyIncrease { window: Duration },
    /// `histogram_quantile(q, … rate(h_bucket[W]) …)`, in the histogram's unit.
    Quantile {
        window: Duration,
        quantile: f64,
        histogram: String,
        /// A native histogram (no `_bucket` series, no `le`).
        native: bool,
        /// The aggregation drops `le`: always empty (`histogram/le-dropped`).
        le_dropped: bool,
    },
    /// `rate`, `irate`, `increase` of a counter, per second.
    Rate {
        window: Duration,
        function: Function,
    },
    /// `max/min/avg/sum/last_over_time` of a gauge.
    OverTime {
        window: Duration,
        function: Function,
    },
    /// `changes` or `resets`.
    Changes {
        window: Duration,
        function: Function,
    },
    /// `delta` or `idelta` of a gauge.
    Delta {
        window: Duration,
        function: Function,
    },
    /// `deriv`: the gauge's slope, per second.
    Deriv { window: Duration },
    /// `predict_linear(x[W], h)`.
    PredictLinear {
        window: Duration,
        horizon_seconds: f64,
    },
    /// An instant value of gauges (any arithmetic or aggregation of them).
    Gauge,
    /// `up`: the outcome of the last scrape.
    Up,
    /// `absent(…)`, or `absent_over_time(…[W])` (`window`).
    Absent {
        of: AbsentOf,
        window: Option<Duration>,
    },
    /// `time() - x`: seconds since the timestamp `x`.
    Age,
    /// A constant vector (`vector(1)`, the Watchdog).
    Constant { value: f64 },
    /// A part the model does not read, in a guard's place: assumed to let
    /// the alert fire (`and`) or not to stop it (`unless`, `or`).
    Opaque { reason: String },
}

/// What a signal is, whatever its window or threshold: signals of one
/// kind over the same metrics move together under a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    /// A ratio of rates (or its degenerate self-division).
    Ratio,
    Quantile,
    Rate,
    OverTime,
    Changes,
    Delta,
    Deriv,
    PredictLinear,
    Gauge,
    Up,
    Absent,
    Age,
    Constant,
    Opaque,
}

impl Signal {
    pub fn kind(&self) -> SignalKind {
        match self {
            Signal::Ratio { .. } | Signal::AnyIncrease { .. } => SignalKind::Ratio,
            Signal::Quantile { .. } => SignalKind::Quantile,
            Signal::Rate { .. } => SignalKind::Rate,
            Signal::OverTime { .. } => SignalKind::OverTime,
            Signal::Changes { .. } => SignalKind::Changes,
            Signal::Delta { .. } => SignalKind::Delta,
            Signal::Deriv { .. } => SignalKind::Deriv,
            Signal::PredictLinear { .. } => SignalKind::PredictLinear,
            Signal::Gauge => SignalKind::Gauge,
            Signal::Up => SignalKind::Up,
            Signal::Absent { .. } => SignalKind::Absent,
            Signal::Age => SignalKind::Age,
            Signal::Constant { .. } => SignalKind::Constant,
            Signal::Opaque { .. } => SignalKind::Opaque,
        }
    }

    /// The range window it reads, if any (`absent_over_time`'s too).
    pub fn window(&self) -> Option<Duration> {
        match self {
            Signal::Ratio { window, .. }
            | Signal::AnyIncrease { window }
            | Signal::Quantile { window, .. }
            | Signal::Rate { window, .. }
            | Signal::OverTime { window, .. }
            | Signal::Changes { window, .. }
            | Signal::Delta { window, .. }
            | Signal::Deriv { window }
            | Signal::PredictLinear { window, .. } => Some(*window),
            Signal::Absent { window, .. } => *window,
            _ => None,
        }
    }

    /// The range function that reads its window (a ratio's and a
    /// quantile's are rates).
    pub fn function(&self) -> Option<Function> {
        match self {
            Signal::Ratio { .. } | Signal::AnyIncrease { .. } | Signal::Quantile { .. } => {
                Some(Function::Rate)
            }
            Signal::Rate { function, .. }
            | Signal::OverTime { function, .. }
            | Signal::Changes { function, .. }
            | Signal::Delta { function, .. } => Some(*function),
            Signal::Deriv { .. } => Some(Function::Deriv),
            Signal::PredictLinear { .. } => Some(Function::PredictLinear),
            _ => None,
        }
    }

    /// Which leaf of an `and` is the one a step is about: the most specific.
    fn rank(&self) -> u8 {
        match self {
            Signal::Ratio { .. } | Signal::AnyIncrease { .. } | Signal::Quantile { .. } => 9,
            Signal::Absent { .. } | Signal::Up => 8,
            Signal::PredictLinear { .. } => 7,
            Signal::Rate { .. } => 6,
            Signal::Changes { .. } | Signal::Deriv { .. } | Signal::Delta { .. } => 5,
            Signal::OverTime { .. } | Signal::Age => 4,
            Signal::Gauge => 3,
            Signal::Constant { .. } => 1,
            Signal::Opaque { .. } => 0,
        }
    }
}

/// One comparison of a condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leaf {
    #[serde(flatten)]
    pub signal: Signal,
    pub direction: Direction,
    /// `>=`, `<=` rather than `>`, `<`.
    pub inclusive: bool,
    /// In the signal's own unit; None when a gauge scales it (only
    /// multiples of it are known).
    pub threshold: Option<f64>,
    /// The comparison as written.
    pub text: String,
    /// The metrics it reads.
    #[serde(skip)]
    pub metrics: BTreeSet<String>,
    /// `count(…) < 1` and the like can never hold (`count/never-zero`).
    #[serde(skip)]
    pub never_zero: bool,
    /// Read through recording rules: the most their groups' evaluations may
    /// delay what the alert sees (one interval per rule in the chain).
    #[serde(skip_serializing_if = "is_zero")]
    pub recording_delay_seconds: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// Comparisons joined as the expression joins them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "shape")]
pub enum Compound {
    And {
        of: Vec<Shape>,
    },
    Or {
        of: Vec<Shape>,
    },
    Unless {
        main: Box<Shape>,
        except: Box<Shape>,
    },
}

/// An alert's condition as the timing model reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Shape {
    Leaf(Leaf),
    Compound(Compound),
}

impl Shape {
    /// Every leaf, left to right.
    pub fn leaves(&self) -> Vec<&Leaf> {
        match self {
            Shape::Leaf(leaf) => vec![leaf],
            Shape::Compound(Compound::And { of } | Compound::Or { of }) => {
                of.iter().flat_map(Shape::leaves).collect()
            }
            Shape::Compound(Compound::Unless { main, except }) => {
                let mut all = main.leaves();
                all.extend(except.leaves());
                all
            }
        }
    }

    /// The leaves a step may be about: the most specific of each `and`,
    /// every branch of an `or`, the main side of an `unless`.
    pub fn primaries(&self) -> Vec<&Leaf> {
        match self {
            Shape::Leaf(leaf) => vec![leaf],
            Shape::Compound(Compound::Or { of }) => of.iter().flat_map(Shape::primaries).collect(),
            Shape::Compound(Compound::Unless { main, .. }) => main.primaries(),
            Shape::Compound(Compound::And { of }) => {
                let candidates: Vec<&Leaf> = of.iter().flat_map(Shape::primaries).collect();
                let best = candidates.iter().map(|l| l.signal.rank()).max();
                candidates
                    .into_iter()
                    .filter(|l| Some(l.signal.rank()) == best)
                    .take(1)
                    .collect()
            }
        }
    }
}

/// Why an alert's condition is not read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum Unmodelled {
    /// It reads a series recorded by a rule in the files given in a way the
    /// model does not follow (through a window, or several rules write it).
    RecordedHere(String),
    /// It reads a recorded series (a name with `:`) no file given defines:
    /// nothing says what it holds.
    RecordedElsewhere(String),
    /// A construct the model does not read.
    Construct(String),
}

impl Unmodelled {
    pub fn text(&self) -> String {
        match self {
            Unmodelled::RecordedHere(why) => why.clone(),
            Unmodelled::RecordedElsewhere(name) => {
                format!("reads `{name}`, a recorded series no file given defines")
            }
            Unmodelled::Construct(what) => format!("the model does not read {what}"),
        }
    }
}

/// A recording rule, as the reader follows it.
#[derive(Debug, Clone)]
pub struct Recording {
    pub expr: Expr,
    /// The labels the rule adds (`labels:`), which selectors may match on.
    pub labels: BTreeMap<String, String>,
    /// Its group's evaluation interval: the most later than its inputs an
    /// alert of another group may read what it wrote (groups are evaluated
    /// independently; within a group, rules run in order).
    pub interval: Duration,
    /// Its group's name.
    pub group: String,
}

/// Recording rules by the name they write.
pub type Recordings = BTreeMap<String, Vec<Recording>>;

impl Direction {
    /// How a comparison operator compares (and whether it includes the
    /// threshold).
    pub fn of(op: Comparison) -> (Direction, bool) {
        match op {
            Comparison::Greater => (Direction::Above, false),
            Comparison::GreaterOrEqual => (Direction::Above, true),
            Comparison::Less => (Direction::Below, false),
            Comparison::LessOrEqual => (Direction::Below, true),
            Comparison::Equal => (Direction::Equal, true),
            Comparison::NotEqual => (Direction::NotEqual, false),
        }
    }

    /// The same comparison seen through a falling map (`-x > θ` is `x < −θ`).
    pub fn flipped(self) -> Direction {
        match self {
            Direction::Above => Direction::Below,
            Direction::Below => Direction::Above,
            other => other,
        }
    }
}
