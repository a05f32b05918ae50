//! What an alert's condition watches, read from its syntax tree: comparisons
//! (leaves) joined by `and`, `or` and `unless`. Each leaf is a signal — a
//! ratio of rates, a histogram quantile, a rate, a gauge, `up`, `absent()`,
//! an age (`time() - x`), a windowed function of a gauge — compared with a
//! threshold in the signal's own unit: constant sub-expressions are folded
//! (`14.4 * 0.001`, `24 * 3600`) and scaling is undone (`… * 100 > 5` is a
//! share above 0.05, `(time() - x) / 3600 > 24` an age above 86400 s).
//!
//! The reading is a composition, not a list of whole-expression patterns: a
//! value is a signal seen through a map (affine when the constants are
//! known, monotone when a gauge scales it), and a condition is a tree of
//! leaves. The timing model answers per leaf and composes along the tree.
//! Knows nothing of intervals or steps.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use promql_parser::parser::{AggregateExpr, BinaryExpr, Call, Expr, LabelModifier, VectorSelector};
use serde::Serialize;

use crate::rules::promql::{self, metric_name, output_labels, single_selector, unparen};

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
        function: &'static str,
    },
    /// `max/min/avg/sum/last_over_time` of a gauge.
    OverTime {
        window: Duration,
        function: &'static str,
    },
    /// `changes` or `resets`.
    Changes {
        window: Duration,
        function: &'static str,
    },
    /// `delta` or `idelta` of a gauge.
    Delta {
        window: Duration,
        function: &'static str,
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

impl Signal {
    /// Signals of one kind over the same metrics move together under a step.
    pub fn kind(&self) -> &'static str {
        match self {
            Signal::Ratio { .. } | Signal::AnyIncrease { .. } => "ratio",
            Signal::Quantile { .. } => "quantile",
            Signal::Rate { .. } => "rate",
            Signal::OverTime { .. } => "over_time",
            Signal::Changes { .. } => "changes",
            Signal::Delta { .. } => "delta",
            Signal::Deriv { .. } => "deriv",
            Signal::PredictLinear { .. } => "predict_linear",
            Signal::Gauge => "gauge",
            Signal::Up => "up",
            Signal::Absent { .. } => "absent",
            Signal::Age => "age",
            Signal::Constant { .. } => "constant",
            Signal::Opaque { .. } => "opaque",
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

/// What the reader needs to know: the recording rules of the files given.
pub struct Reader<'a> {
    pub recordings: &'a Recordings,
    /// The group of the rule being read: recording rules of the same group
    /// are evaluated just before it, in order, with no delay.
    group: Option<&'a str>,
    /// How deep in a chain of recording rules the reading is (a rule that
    /// reads itself must not loop).
    depth: Cell<u8>,
}

impl<'a> Reader<'a> {
    pub fn new(recordings: &'a Recordings) -> Self {
        Reader {
            recordings,
            group: None,
            depth: Cell::new(0),
        }
    }

    /// Reading a rule of `group`.
    pub fn in_group(self, group: &'a str) -> Self {
        Reader {
            group: Some(group),
            ..self
        }
    }

    fn is_recorded(&self, name: &str) -> bool {
        self.recordings.contains_key(name)
    }

    /// The one recording rule a selector reads, if its labels tell which.
    pub fn recording_for(&self, selector: &VectorSelector) -> Result<&'a Recording, Unmodelled> {
        recording_for(self.recordings, selector)
    }
}

/// The one recording rule of `recordings` a selector reads, if its labels
/// tell which (a rule whose own labels contradict a matcher is not it).
pub fn recording_for<'a>(
    recordings: &'a Recordings,
    selector: &VectorSelector,
) -> Result<&'a Recording, Unmodelled> {
    let name = metric_name(selector).unwrap_or_default();
    let candidates: Vec<&Recording> = recordings
        .get(&name)
        .into_iter()
        .flatten()
        .filter(|r| {
            selector.matchers.matchers.iter().all(|m| {
                m.name == "__name__" || r.labels.get(&m.name).is_none_or(|value| m.is_match(value))
            })
        })
        .collect();
    let Some(first) = candidates.first() else {
        return Err(Unmodelled::RecordedHere(format!(
            "reads `{selector}`, but no recording rule in these files writes `{name}` with those labels"
        )));
    };
    let text = first.expr.to_string();
    if candidates.iter().any(|r| r.expr.to_string() != text) {
        return Err(Unmodelled::RecordedHere(format!(
            "reads `{selector}`, which {} recording rules write with different expressions (select the labels that tell them apart)",
            candidates.len()
        )));
    }
    Ok(first)
}

/// Reads an alert's expression.
pub fn read(expr: &Expr, reader: &Reader) -> Result<Shape, Unmodelled> {
    let shape = condition(expr, reader)?;
    if shape
        .leaves()
        .iter()
        .all(|l| matches!(l.signal, Signal::Opaque { .. }))
    {
        return Err(Unmodelled::Construct("any part of this condition".into()));
    }
    Ok(shape)
}

fn condition(expr: &Expr, reader: &Reader) -> Result<Shape, Unmodelled> {
    match unparen(expr) {
        Expr::Binary(b) if b.op.is_set_operator() => set_operation(b, reader),
        Expr::Binary(b) if b.op.is_comparison_operator() && !returns_bool(b) => {
            comparison(b, reader)
        }
        Expr::Call(c) if matches!(c.func.name, "absent" | "absent_over_time") => absent(c, reader),
        // `max(x > 0.0144) without (sloth_window)`: an aggregation of what
        // passes the comparison has series exactly when something passes.
        Expr::Aggregate(a) if is_comparison(&a.expr) => condition(&a.expr, reader),
        Expr::Binary(b)
            if matches!(b.op.to_string().as_str(), "*" | "/") && is_comparison(&b.lhs) =>
        {
            joined(b, reader)
        }
        other => exists(other, reader),
    }
}

fn is_comparison(expr: &Expr) -> bool {
    matches!(unparen(expr), Expr::Binary(b) if (b.op.is_comparison_operator() && !returns_bool(b)) || b.op.is_set_operator())
}

/// `(condition) * on(instance) group_left(nodename) node_uname_info`: the
/// condition, its series given an info metric's labels (value 1) — the
/// join holds while the info series exists.
fn joined(b: &BinaryExpr, reader: &Reader) -> Result<Shape, Unmodelled> {
    let main = condition(&b.lhs, reader)?;
    let join = exists(&b.rhs, reader).unwrap_or_else(|why| opaque(&b.rhs, why));
    Ok(Shape::Compound(Compound::And {
        of: flatten(main, join, |c| match c {
            Compound::And { of } => Some(of),
            _ => None,
        }),
    }))
}

fn returns_bool(b: &BinaryExpr) -> bool {
    b.modifier.as_ref().is_some_and(|m| m.return_bool)
}

/// A part that is not read, where a guard stands.
fn opaque(side: &Expr, why: Unmodelled) -> Shape {
    Shape::Leaf(Leaf {
        signal: Signal::Opaque { reason: why.text() },
        direction: Direction::Exists,
        inclusive: false,
        threshold: None,
        text: side.to_string(),
        metrics: BTreeSet::new(),
        never_zero: false,
        recording_delay_seconds: 0.0,
    })
}

fn set_operation(b: &BinaryExpr, reader: &Reader) -> Result<Shape, Unmodelled> {
    let op = b.op.to_string();
    let lhs = condition(&b.lhs, reader);
    let rhs = condition(&b.rhs, reader).unwrap_or_else(|why| opaque(&b.rhs, why));
    // A main side the model cannot read is not replaced: the timing would be
    // the guard's.
    let lhs = match (lhs, op.as_str()) {
        (Ok(shape), _) => shape,
        (Err(why), "or") => opaque(&b.lhs, why),
        (Err(why), _) => return Err(why),
    };
    Ok(Shape::Compound(match op.as_str() {
        "and" => Compound::And {
            of: flatten(lhs, rhs, |c| match c {
                Compound::And { of } => Some(of),
                _ => None,
            }),
        },
        "or" => Compound::Or {
            of: flatten(lhs, rhs, |c| match c {
                Compound::Or { of } => Some(of),
                _ => None,
            }),
        },
        _ => Compound::Unless {
            main: Box::new(lhs),
            except: Box::new(rhs),
        },
    }))
}

fn flatten(lhs: Shape, rhs: Shape, same: fn(Compound) -> Option<Vec<Shape>>) -> Vec<Shape> {
    let mut of = Vec::new();
    for side in [lhs, rhs] {
        match side {
            Shape::Compound(c) => match same(c.clone()) {
                Some(inner) => of.extend(inner),
                None => of.push(Shape::Compound(c)),
            },
            leaf => of.push(leaf),
        }
    }
    of
}

/// The value of a constant expression (`14.4 * 0.001`, `-1`, `24 * 3600`).
pub fn constant(expr: &Expr) -> Option<f64> {
    match unparen(expr) {
        Expr::NumberLiteral(n) => Some(n.val),
        Expr::Unary(u) => constant(&u.expr).map(|v| -v),
        Expr::Binary(b) if !b.op.is_comparison_operator() && !b.op.is_set_operator() => {
            arithmetic(&b.op.to_string(), constant(&b.lhs)?, constant(&b.rhs)?)
        }
        _ => None,
    }
}

fn arithmetic(op: &str, a: f64, b: f64) -> Option<f64> {
    Some(match op {
        "+" => a + b,
        "-" => a - b,
        "*" => a * b,
        "/" => a / b,
        "%" => a % b,
        "^" => a.powf(b),
        _ => return None,
    })
}

/// `op` as if the value were on the other side.
fn flipped(op: &str) -> &str {
    match op {
        ">" => "<",
        ">=" => "<=",
        "<" => ">",
        "<=" => ">=",
        other => other,
    }
}

fn direction_of(op: &str) -> (Direction, bool) {
    match op {
        ">" => (Direction::Above, false),
        ">=" => (Direction::Above, true),
        "<" => (Direction::Below, false),
        "<=" => (Direction::Below, true),
        "==" => (Direction::Equal, true),
        _ => (Direction::NotEqual, false),
    }
}

/// `count(…)` is at least 1 whenever it returns anything: `count(…) < 1`,
/// `== 0` or `<= 0` can never hold (aggregating nothing returns nothing).
pub fn count_never_matches(value: &Expr, op: &str, threshold: f64) -> bool {
    let Expr::Aggregate(a) = unparen(value) else {
        return false;
    };
    if a.op.to_string() != "count" {
        return false;
    }
    match op {
        "<" => threshold <= 1.0,
        "<=" | "==" => threshold < 1.0,
        _ => false,
    }
}

fn comparison(b: &BinaryExpr, reader: &Reader) -> Result<Shape, Unmodelled> {
    let op = b.op.to_string();
    let (value_expr, threshold, op) = if let Some(c) = constant(&b.rhs) {
        (&*b.lhs, c, op.as_str())
    } else if let Some(c) = constant(&b.lhs) {
        (&*b.rhs, c, flipped(&op))
    } else {
        return vector_comparison(b, reader);
    };
    // `(x and on(instance) guard) > 30` is `x > 30 and on(instance) guard`.
    if let Expr::Binary(set) = unparen(value_expr) {
        if set.op.is_set_operator() {
            return set_bound(set, op, threshold, b, reader);
        }
    }
    // `x > 0.8 < 10000`: both comparisons must hold.
    if is_comparison(value_expr)
        && !matches!(unparen(value_expr), Expr::Binary(v) if v.op.is_set_operator())
    {
        let inner = condition(value_expr, reader)?;
        let outer = bound(value_expr, op, threshold, b, reader)?;
        return Ok(Shape::Compound(Compound::And {
            of: flatten(inner, outer, |c| match c {
                Compound::And { of } => Some(of),
                _ => None,
            }),
        }));
    }
    // `count(filter) > n`: the filter is the condition, any counted series.
    if let Some(filter) = counted_filter(value_expr) {
        if matches!(op, ">" | ">=") && threshold < 1.0 {
            return condition(filter, reader);
        }
    }
    bound(value_expr, op, threshold, b, reader)
}

/// `value op threshold` as a leaf.
fn bound(
    value_expr: &Expr,
    op: &str,
    threshold: f64,
    b: &BinaryExpr,
    reader: &Reader,
) -> Result<Shape, Unmodelled> {
    let never_zero = count_never_matches(value_expr, op, threshold);
    let (direction, inclusive) = direction_of(op);
    let text = b.to_string();
    Ok(Shape::Leaf(match value(value_expr, reader)? {
        Value::Constant(v) => Leaf {
            signal: Signal::Constant { value: v },
            direction,
            inclusive,
            threshold: Some(threshold),
            text,
            metrics: BTreeSet::new(),
            never_zero,
            recording_delay_seconds: 0.0,
        },
        Value::Clock => return Err(Unmodelled::Construct("a comparison of time() alone".into())),
        Value::Moving(m) => {
            let (direction, threshold) = m.map.invert(direction, threshold);
            Leaf {
                signal: m.signal,
                direction,
                inclusive,
                threshold,
                text,
                metrics: m.metrics,
                never_zero,
                recording_delay_seconds: m.lag,
            }
        }
    }))
}

/// A comparison of a set operation, pushed into it.
fn set_bound(
    set: &BinaryExpr,
    op: &str,
    threshold: f64,
    b: &BinaryExpr,
    reader: &Reader,
) -> Result<Shape, Unmodelled> {
    let main = bound(&set.lhs, op, threshold, b, reader)?;
    let guard = |side: &Expr| condition(side, reader).unwrap_or_else(|why| opaque(side, why));
    Ok(match set.op.to_string().as_str() {
        "and" => Shape::Compound(Compound::And {
            of: vec![main, guard(&set.rhs)],
        }),
        "unless" => Shape::Compound(Compound::Unless {
            main: Box::new(main),
            except: Box::new(guard(&set.rhs)),
        }),
        // `(count(x) or vector(0)) < 1`: the default stands in when x has no
        // series, so where the default satisfies the comparison, x's absence does.
        _ => match default_of(&set.rhs) {
            // `count(x) < 1` holds only through the default: x is absent.
            Some(default) if satisfies(default, op, threshold) => match main {
                Shape::Leaf(leaf) if leaf.never_zero => absent_of(&set.lhs, reader)?,
                main => Shape::Compound(Compound::Or {
                    of: vec![main, absent_of(&set.lhs, reader)?],
                }),
            },
            Some(_) => main,
            None => Shape::Compound(Compound::Or {
                of: vec![main, bound(&set.rhs, op, threshold, b, reader)?],
            }),
        },
    })
}

/// `vector(c)`: the value `c`.
fn default_of(expr: &Expr) -> Option<f64> {
    match unparen(expr) {
        Expr::Call(c) if c.func.name == "vector" => constant(c.args.args.first()?),
        _ => None,
    }
}

fn satisfies(value: f64, op: &str, threshold: f64) -> bool {
    match op {
        ">" => value > threshold,
        ">=" => value >= threshold,
        "<" => value < threshold,
        "<=" => value <= threshold,
        "==" => value == threshold,
        _ => value != threshold,
    }
}

/// The leaf "`expr` has no series" (for a default that stands in then).
fn absent_of(expr: &Expr, reader: &Reader) -> Result<Shape, Unmodelled> {
    let selector = single_selector(expr)
        .ok_or_else(|| Unmodelled::Construct(format!("a default for {expr}")))?;
    let name = metric_name(selector).unwrap_or_default();
    check_recorded(&name, reader)?;
    Ok(Shape::Leaf(Leaf {
        signal: Signal::Absent {
            of: if name == "up" {
                AbsentOf::Up
            } else {
                AbsentOf::Series
            },
            window: None,
        },
        direction: Direction::Exists,
        inclusive: false,
        threshold: None,
        text: format!("no series of {selector}"),
        metrics: BTreeSet::from([name]),
        never_zero: false,
        recording_delay_seconds: 0.0,
    }))
}

/// `count(x > 5)`, `count by (job) (up == 0)`: the comparison counted.
fn counted_filter(value: &Expr) -> Option<&Expr> {
    let Expr::Aggregate(a) = unparen(value) else {
        return None;
    };
    if a.op.to_string() != "count" {
        return None;
    }
    match unparen(&a.expr) {
        inner @ Expr::Binary(b) if b.op.is_comparison_operator() && !returns_bool(b) => Some(inner),
        _ => None,
    }
}

/// `a > b` between two vectors: a gauge against a gauge (replicas wanted
/// against replicas available), or a signal against a gauge limit.
fn vector_comparison(b: &BinaryExpr, reader: &Reader) -> Result<Shape, Unmodelled> {
    let op = b.op.to_string();
    let (lhs, rhs) = (value(&b.lhs, reader)?, value(&b.rhs, reader)?);
    let (moving, op, other) = match (lhs, rhs) {
        (Value::Moving(l), Value::Moving(r)) if l.signal == Signal::Gauge => {
            if r.signal == Signal::Gauge {
                let mut metrics = l.metrics;
                metrics.extend(r.metrics);
                (
                    Moving {
                        signal: Signal::Gauge,
                        metrics,
                        map: Map::IDENTITY,
                        lag: l.lag.max(r.lag),
                    },
                    op.as_str(),
                    None,
                )
            } else {
                (r, flipped(&op), Some(l))
            }
        }
        (Value::Moving(l), Value::Moving(r)) if r.signal == Signal::Gauge => {
            (l, op.as_str(), Some(r))
        }
        _ => {
            return Err(Unmodelled::Construct(
                "a comparison between two windowed expressions".into(),
            ))
        }
    };
    let mut metrics = moving.metrics;
    let mut lag = moving.lag;
    if let Some(other) = other {
        metrics.extend(other.metrics);
        lag = lag.max(other.lag);
    }
    let (direction, inclusive) = direction_of(op);
    let direction = match moving.map {
        Map::Affine { a, .. } if a < 0.0 => direction.flipped(),
        Map::Monotone { increasing: false } => direction.flipped(),
        _ => direction,
    };
    Ok(Shape::Leaf(Leaf {
        signal: moving.signal,
        direction,
        inclusive,
        threshold: None,
        text: b.to_string(),
        metrics,
        never_zero: false,
        recording_delay_seconds: lag,
    }))
}

impl Direction {
    fn flipped(self) -> Direction {
        match self {
            Direction::Above => Direction::Below,
            Direction::Below => Direction::Above,
            other => other,
        }
    }
}

/// A bare expression: holds while it has series.
fn exists(expr: &Expr, reader: &Reader) -> Result<Shape, Unmodelled> {
    let (signal, metrics, lag) = match value(expr, reader)? {
        Value::Constant(v) => (Signal::Constant { value: v }, BTreeSet::new(), 0.0),
        Value::Moving(m) => (m.signal, m.metrics, m.lag),
        Value::Clock => return Err(Unmodelled::Construct("time() alone".into())),
    };
    Ok(Shape::Leaf(Leaf {
        signal,
        direction: Direction::Exists,
        inclusive: false,
        threshold: None,
        text: expr.to_string(),
        metrics,
        never_zero: false,
        recording_delay_seconds: lag,
    }))
}

fn absent(c: &Call, reader: &Reader) -> Result<Shape, Unmodelled> {
    let arg = c
        .args
        .args
        .first()
        .ok_or_else(|| Unmodelled::Construct("absent() without an argument".into()))?;
    let (inner, window): (&Expr, Option<Duration>) = match unparen(arg) {
        Expr::MatrixSelector(m) => (arg, Some(m.range)),
        other if c.func.name == "absent_over_time" => {
            return Err(Unmodelled::Construct(format!(
                "absent_over_time of {other}"
            )))
        }
        other => (other, None),
    };
    if window.is_none() && !promql::windows(inner).is_empty() {
        return Err(Unmodelled::Construct(
            "absent() of a windowed expression".into(),
        ));
    }
    let selector = single_selector(inner)
        .ok_or_else(|| Unmodelled::Construct("absent() of several selectors".into()))?;
    let name = metric_name(selector).unwrap_or_default();
    check_recorded(&name, reader)?;
    let of = if name != "up" {
        AbsentOf::Series
    } else if healthy_filter(inner) {
        AbsentOf::HealthyUp
    } else if matches!(unparen(inner), Expr::Binary(_)) {
        return Err(Unmodelled::Construct(format!("absent({inner})")));
    } else {
        AbsentOf::Up
    };
    Ok(Shape::Leaf(Leaf {
        signal: Signal::Absent { of, window },
        direction: Direction::Exists,
        inclusive: false,
        threshold: None,
        text: c.to_string(),
        metrics: BTreeSet::from([name]),
        never_zero: false,
        recording_delay_seconds: 0.0,
    }))
}

/// `up{…} == 1`, `> 0` or `>= 1` (or `!= 0`): only targets scraped successfully.
fn healthy_filter(expr: &Expr) -> bool {
    let Expr::Binary(b) = unparen(expr) else {
        return false;
    };
    let Some(c) = constant(&b.rhs) else {
        return false;
    };
    match b.op.to_string().as_str() {
        "==" | ">=" => c == 1.0,
        ">" | "!=" => c == 0.0,
        _ => false,
    }
}

fn check_recorded(name: &str, reader: &Reader) -> Result<(), Unmodelled> {
    if reader.is_recorded(name) {
        Err(Unmodelled::RecordedHere(format!(
            "reads `{name}`, recorded by a rule in these files, through a window or absent(), which the model does not follow"
        )))
    } else if name.contains(':') {
        Err(Unmodelled::RecordedElsewhere(name.to_string()))
    } else {
        Ok(())
    }
}

/// How a value depends on its signal.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Map {
    /// a·signal + b.
    Affine { a: f64, b: f64 },
    /// Scaled by a gauge (or through a monotone function): only the sense.
    Monotone { increasing: bool },
}

impl Map {
    const IDENTITY: Map = Map::Affine { a: 1.0, b: 0.0 };

    fn add(self, c: f64) -> Map {
        match self {
            Map::Affine { a, b } => Map::Affine { a, b: b + c },
            monotone => monotone,
        }
    }

    fn scale(self, c: f64) -> Map {
        match self {
            Map::Affine { a, b } => Map::Affine { a: a * c, b: b * c },
            Map::Monotone { increasing } => Map::Monotone {
                increasing: increasing == (c > 0.0),
            },
        }
    }

    fn increasing(self) -> bool {
        match self {
            Map::Affine { a, .. } => a > 0.0,
            Map::Monotone { increasing } => increasing,
        }
    }

    /// `value op θ` as `signal op' θ'`.
    fn invert(self, direction: Direction, threshold: f64) -> (Direction, Option<f64>) {
        match self {
            Map::Affine { a, b } if a != 0.0 => {
                let direction = if a < 0.0 {
                    direction.flipped()
                } else {
                    direction
                };
                (direction, Some((threshold - b) / a))
            }
            Map::Affine { .. } => (direction, None),
            Map::Monotone { increasing } => {
                let direction = if increasing {
                    direction
                } else {
                    direction.flipped()
                };
                (direction, None)
            }
        }
    }
}

/// A value that moves with a signal.
#[derive(Debug, Clone, PartialEq)]
struct Moving {
    signal: Signal,
    metrics: BTreeSet<String>,
    map: Map,
    /// Seconds of recording-rule evaluations between the inputs and here.
    lag: f64,
}

enum Value {
    Constant(f64),
    /// `time()`.
    Clock,
    Moving(Moving),
}

fn moving(signal: Signal, name: String, map: Map) -> Value {
    Value::Moving(Moving {
        signal,
        metrics: BTreeSet::from([name]),
        map,
        lag: 0.0,
    })
}

fn unread(what: impl Into<String>) -> Unmodelled {
    Unmodelled::Construct(what.into())
}

fn value(expr: &Expr, reader: &Reader) -> Result<Value, Unmodelled> {
    match expr {
        Expr::Paren(p) => value(&p.expr, reader),
        Expr::NumberLiteral(n) => Ok(Value::Constant(n.val)),
        Expr::Unary(u) => Ok(match value(&u.expr, reader)? {
            Value::Constant(v) => Value::Constant(-v),
            Value::Moving(m) => Value::Moving(Moving {
                map: m.map.scale(-1.0),
                ..m
            }),
            Value::Clock => return Err(unread("-time()")),
        }),
        Expr::VectorSelector(v) => selector_value(v, reader),
        Expr::Aggregate(a) => aggregate_value(a, reader),
        Expr::Call(c) => call_value(c, reader),
        Expr::Binary(b) => binary_value(b, reader),
        Expr::Subquery(_) => Err(unread("a subquery")),
        other => Err(unread(format!("`{other}` as a value"))),
    }
}

fn selector_value(v: &VectorSelector, reader: &Reader) -> Result<Value, Unmodelled> {
    let name = metric_name(v).unwrap_or_default();
    if reader.is_recorded(&name) {
        return follow(v, reader);
    }
    check_recorded(&name, reader)?;
    let signal = if name == "up" {
        Signal::Up
    } else {
        Signal::Gauge
    };
    Ok(moving(signal, name, Map::IDENTITY))
}

/// A recorded series read as what its rule computes, up to one evaluation
/// of the rule's group later.
fn follow(v: &VectorSelector, reader: &Reader) -> Result<Value, Unmodelled> {
    let recording = reader.recording_for(v)?;
    if v.offset.is_some() || v.at.is_some() {
        return Err(unread("a recorded series read with `offset` or `@`"));
    }
    let depth = reader.depth.get();
    if depth >= 8 {
        return Err(Unmodelled::RecordedHere(format!(
            "reads `{v}` through more than 8 recording rules"
        )));
    }
    reader.depth.set(depth + 1);
    let inner = value(&recording.expr, reader);
    reader.depth.set(depth);
    let lag = if reader.group == Some(recording.group.as_str()) {
        0.0
    } else {
        recording.interval.as_secs_f64()
    };
    Ok(match inner? {
        Value::Moving(m) => Value::Moving(Moving {
            lag: m.lag + lag,
            ..m
        }),
        other => other,
    })
}

fn aggregate_value(a: &AggregateExpr, reader: &Reader) -> Result<Value, Unmodelled> {
    let op = a.op.to_string();
    let inner = value(&a.expr, reader)?;
    match op.as_str() {
        "sum" | "avg" | "min" | "max" | "topk" | "bottomk" | "quantile" | "limitk" => Ok(inner),
        // The number of series is an instant number (a failed scrape
        // leaves `up` counted: its value is 0, the series is there).
        "count" | "group" => match inner {
            Value::Moving(m) if matches!(m.signal, Signal::Gauge | Signal::Up) => {
                Ok(Value::Moving(Moving {
                    signal: Signal::Gauge,
                    map: Map::IDENTITY,
                    ..m
                }))
            }
            Value::Moving(_) => Err(unread(format!("{op}() of a windowed expression"))),
            _ => Ok(Value::Constant(1.0)),
        },
        other => Err(unread(format!("{other}()"))),
    }
}

/// The selector and window of a function's range argument.
fn range_argument(c: &Call, at: usize) -> Result<(&VectorSelector, Duration), Unmodelled> {
    match c.args.args.get(at).map(|a| unparen(a)) {
        Some(Expr::MatrixSelector(m)) => Ok((&m.vs, m.range)),
        Some(Expr::Subquery(_)) => Err(unread(format!("{}() of a subquery", c.func.name))),
        _ => Err(unread(format!("{}() of this argument", c.func.name))),
    }
}

fn windowed(c: &Call, at: usize, reader: &Reader) -> Result<(String, Duration), Unmodelled> {
    let (selector, window) = range_argument(c, at)?;
    let name = metric_name(selector).unwrap_or_default();
    check_recorded(&name, reader)?;
    Ok((name, window))
}

fn call_value(c: &Call, reader: &Reader) -> Result<Value, Unmodelled> {
    let function = c.func.name;
    let first = || {
        c.args
            .args
            .first()
            .ok_or_else(|| unread(format!("{function}() without arguments")))
    };
    match function {
        "rate" | "irate" | "increase" => {
            let (name, window) = windowed(c, 0, reader)?;
            // increase() is rate() × W (both extrapolate to the window).
            let map = if function == "increase" {
                Map::Affine {
                    a: window.as_secs_f64(),
                    b: 0.0,
                }
            } else {
                Map::IDENTITY
            };
            Ok(moving(Signal::Rate { window, function }, name, map))
        }
        "delta" | "idelta" => {
            let (name, window) = windowed(c, 0, reader)?;
            Ok(moving(
                Signal::Delta { window, function },
                name,
                Map::IDENTITY,
            ))
        }
        "deriv" => {
            let (name, window) = windowed(c, 0, reader)?;
            Ok(moving(Signal::Deriv { window }, name, Map::IDENTITY))
        }
        "predict_linear" => {
            let (name, window) = windowed(c, 0, reader)?;
            let horizon_seconds = c
                .args
                .args
                .get(1)
                .and_then(|h| constant(h))
                .ok_or_else(|| unread("predict_linear() with a horizon that is not a constant"))?;
            let signal = Signal::PredictLinear {
                window,
                horizon_seconds,
            };
            Ok(moving(signal, name, Map::IDENTITY))
        }
        "max_over_time" | "min_over_time" | "avg_over_time" | "sum_over_time"
        | "last_over_time" => {
            let (name, window) = windowed(c, 0, reader)?;
            Ok(moving(
                Signal::OverTime { window, function },
                name,
                Map::IDENTITY,
            ))
        }
        "changes" | "resets" => {
            let (name, window) = windowed(c, 0, reader)?;
            Ok(moving(
                Signal::Changes { window, function },
                name,
                Map::IDENTITY,
            ))
        }
        "histogram_quantile" => quantile_value(c, reader),
        "abs" | "ceil" | "floor" | "round" | "clamp" | "clamp_min" | "clamp_max" | "sqrt"
        | "exp" | "ln" | "log2" | "log10" => match value(first()?, reader)? {
            Value::Moving(m) => Ok(Value::Moving(Moving {
                map: Map::Monotone {
                    increasing: m.map.increasing(),
                },
                ..m
            })),
            _ => Err(unread(format!("{function}() of a constant"))),
        },
        "label_replace" | "label_join" | "sort" | "sort_desc" | "sort_by_label"
        | "sort_by_label_desc" | "scalar" => value(first()?, reader),
        "time" => Ok(Value::Clock),
        "vector" => value(first()?, reader),
        other => Err(unread(format!("{other}()"))),
    }
}

fn quantile_value(c: &Call, reader: &Reader) -> Result<Value, Unmodelled> {
    let quantile = c
        .args
        .args
        .first()
        .and_then(|q| constant(q))
        .ok_or_else(|| unread("histogram_quantile() of a quantile that is not a constant"))?;
    let argument = c
        .args
        .args
        .get(1)
        .ok_or_else(|| unread("histogram_quantile() without a histogram"))?;
    let selector = single_selector(argument)
        .ok_or_else(|| unread("histogram_quantile() over several selectors"))?;
    let name = metric_name(selector).unwrap_or_default();
    check_recorded(&name, reader)?;
    let window = promql::windows(argument)
        .into_iter()
        .max()
        .ok_or_else(|| unread("histogram_quantile() without a rate window"))?;
    let native = !name.ends_with("_bucket");
    let signal = Signal::Quantile {
        window,
        quantile,
        histogram: name.trim_end_matches("_bucket").to_string(),
        native,
        le_dropped: !native && !output_labels(argument).keeps("le"),
    };
    Ok(moving(signal, name, Map::IDENTITY))
}

fn binary_value(b: &BinaryExpr, reader: &Reader) -> Result<Value, Unmodelled> {
    if b.op.is_set_operator() {
        // `x or vector(0)`: x's value where it has series.
        if b.op.to_string() == "or" && default_of(&b.rhs).is_some() {
            return value(&b.lhs, reader);
        }
        // `x and on(…) y` inside a value: x's value where y lets it through.
        if b.op.to_string() != "or" {
            return value(&b.lhs, reader);
        }
        return Err(unread(format!("`{}` inside a value", b.op)));
    }
    if b.op.is_comparison_operator() {
        if returns_bool(b) {
            return Err(unread("a comparison with `bool`"));
        }
        // A filter inside a value (`limit > 0`): the value, where it holds.
        return match constant(&b.lhs) {
            Some(_) => value(&b.rhs, reader),
            None => value(&b.lhs, reader),
        };
    }
    let op = b.op.to_string();
    let (lhs, rhs) = (value(&b.lhs, reader)?, value(&b.rhs, reader)?);
    match (lhs, rhs) {
        (Value::Constant(l), Value::Constant(r)) => arithmetic(&op, l, r)
            .map(Value::Constant)
            .ok_or_else(|| unread(format!("`{op}` of constants"))),
        (Value::Moving(m), Value::Constant(c)) => with_constant(m, &op, c, false),
        (Value::Constant(c), Value::Moving(m)) => with_constant(m, &op, c, true),
        // `time() - x`, or of `max_over_time(x[24h])` (x's last value,
        // kept through gaps).
        (Value::Clock, Value::Moving(m))
            if op == "-"
                && matches!(
                    &m.signal,
                    Signal::Gauge
                        | Signal::OverTime {
                            function: "max_over_time" | "last_over_time",
                            ..
                        }
                ) =>
        {
            Ok(Value::Moving(Moving {
                signal: Signal::Age,
                map: Map::IDENTITY,
                ..m
            }))
        }
        // `expiry - time()`: a gauge that also falls as time passes.
        (Value::Moving(m), Value::Clock)
            if op == "-"
                && matches!(
                    &m.signal,
                    Signal::Gauge
                        | Signal::OverTime {
                            function: "last_over_time",
                            ..
                        }
                ) =>
        {
            Ok(Value::Moving(Moving {
                map: Map::IDENTITY,
                ..m
            }))
        }
        (Value::Moving(l), Value::Moving(r)) => between_signals(b, &op, l, r),
        _ => Err(unread(format!("`{op}` with time()"))),
    }
}

fn with_constant(m: Moving, op: &str, c: f64, constant_first: bool) -> Result<Value, Unmodelled> {
    let map = match (op, constant_first) {
        ("+", _) => m.map.add(c),
        ("-", false) => m.map.add(-c),
        ("-", true) => m.map.scale(-1.0).add(c),
        ("*", _) => m.map.scale(c),
        ("/", false) if c != 0.0 => m.map.scale(1.0 / c),
        // c / x falls as x rises (for positive x and c).
        ("/", true) => Map::Monotone {
            increasing: (c > 0.0) != m.map.increasing(),
        },
        _ => return Err(unread(format!("`{op}` with a constant"))),
    };
    Ok(Value::Moving(Moving { map, ..m }))
}

fn between_signals(b: &BinaryExpr, op: &str, l: Moving, r: Moving) -> Result<Value, Unmodelled> {
    let lag = l.lag.max(r.lag);
    let mut metrics = l.metrics.clone();
    metrics.extend(r.metrics.iter().cloned());
    let rated = |m: &Moving| matches!(m.signal, Signal::Rate { .. });
    // A last value over a window is a gauge that tolerates gaps.
    let static_kind = |m: &Moving| {
        matches!(
            m.signal,
            Signal::Gauge
                | Signal::OverTime {
                    function: "last_over_time",
                    ..
                }
        )
    };
    if op == "/" && rated(&l) && rated(&r) {
        let window = window_of(&l.signal).max(window_of(&r.signal));
        let mean = l.metrics.iter().any(|n| n.ends_with("_sum"))
            && r.metrics.iter().any(|n| n.ends_with("_count"));
        let signal = if self_division(b).is_some() {
            Signal::AnyIncrease { window }
        } else {
            Signal::Ratio { window, mean }
        };
        let map = match (l.map, r.map) {
            (Map::Affine { a: a1, b: 0.0 }, Map::Affine { a: a2, b: 0.0 }) => {
                Map::Affine { a: a1 / a2, b: 0.0 }
            }
            _ => Map::Monotone { increasing: true },
        };
        return Ok(Value::Moving(Moving {
            signal,
            metrics,
            map,
            lag,
        }));
    }
    if op == "+" && rated(&l) && rated(&r) && l.map == r.map {
        return Ok(Value::Moving(Moving { metrics, lag, ..l }));
    }
    let scaled = |m: Moving, increasing: bool| {
        Ok(Value::Moving(Moving {
            map: Map::Monotone {
                increasing: increasing == m.map.increasing(),
            },
            metrics: metrics.clone(),
            lag,
            ..m
        }))
    };
    match (static_kind(&l), static_kind(&r), op) {
        // Gauges with gauges: the value itself is the gauge.
        (true, true, _) => Ok(Value::Moving(Moving {
            signal: Signal::Gauge,
            metrics,
            map: Map::IDENTITY,
            lag,
        })),
        // A signal scaled by a gauge (a limit, a capacity, an info
        // metric's 1 joined for its labels).
        (false, true, "*" | "/") => scaled(l, true),
        (true, false, "*") => scaled(r, true),
        (true, false, "/") => scaled(r, false),
        _ if l.signal == r.signal && matches!(l.signal, Signal::Up) => scaled(l, true),
        _ => Err(unread(format!("`{op}` between two signals"))),
    }
}

fn window_of(signal: &Signal) -> Duration {
    match signal {
        Signal::Ratio { window, .. }
        | Signal::AnyIncrease { window }
        | Signal::Quantile { window, .. }
        | Signal::Rate { window, .. }
        | Signal::OverTime { window, .. }
        | Signal::Changes { window, .. }
        | Signal::Delta { window, .. }
        | Signal::Deriv { window }
        | Signal::PredictLinear { window, .. } => *window,
        Signal::Absent { window, .. } => window.unwrap_or_default(),
        _ => Duration::ZERO,
    }
}

/// The label a self-dividing ratio narrows, if `b` is one: a ratio of one
/// metric to itself where a matcher narrows a label neither side aggregates
/// away, so each series is divided by itself (the seed's error-rate rule).
pub fn self_division(b: &BinaryExpr) -> Option<String> {
    if b.op.to_string() != "/" {
        return None;
    }
    let (left, right) = (single_selector(&b.lhs)?, single_selector(&b.rhs)?);
    if metric_name(left)? != metric_name(right)? {
        return None;
    }
    let key =
        |m: &promql_parser::label::Matcher| (m.name.clone(), m.op.to_string(), m.value.clone());
    let on_right: Vec<_> = right.matchers.matchers.iter().map(key).collect();
    let on_left: Vec<_> = left.matchers.matchers.iter().map(key).collect();
    let narrowed = left
        .matchers
        .matchers
        .iter()
        .filter(|m| m.name != "__name__" && !on_right.contains(&key(m)))
        .chain(
            right
                .matchers
                .matchers
                .iter()
                .filter(|m| m.name != "__name__" && !on_left.contains(&key(m))),
        )
        .map(|m| m.name.clone());
    let considered = |label: &str| match b.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
        None => true,
        Some(LabelModifier::Include(on)) => on.labels.iter().any(|l| l == label),
        Some(LabelModifier::Exclude(ignoring)) => !ignoring.labels.iter().any(|l| l == label),
    };
    let (left_labels, right_labels) = (output_labels(&b.lhs), output_labels(&b.rhs));
    narrowed
        .into_iter()
        .find(|label| left_labels.keeps(label) && right_labels.keeps(label) && considered(label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::parser::parse;

    fn shape(q: &str) -> Result<Shape, Unmodelled> {
        let mut recordings = Recordings::new();
        recordings.insert(
            "job:errors:ratio_rate5m".into(),
            vec![Recording {
                expr: parse("sum by (job) (rate(e[5m])) / sum by (job) (rate(t[5m]))").unwrap(),
                labels: BTreeMap::new(),
                interval: Duration::from_secs(30),
                group: "recordings".into(),
            }],
        );
        read(&parse(q).unwrap(), &Reader::new(&recordings))
    }

    fn leaf(q: &str) -> Leaf {
        match shape(q) {
            Ok(Shape::Leaf(leaf)) => leaf,
            other => panic!("{q}: {other:?}"),
        }
    }

    #[test]
    fn scaling_and_constant_expressions_are_undone() {
        let l = leaf("sum(rate(e[5m])) / sum(rate(t[5m])) * 100 > 5");
        assert!(matches!(l.signal, Signal::Ratio { mean: false, .. }));
        assert!((l.threshold.unwrap() - 0.05).abs() < 1e-12);
        let l = leaf("sum(rate(e[1h])) / sum(rate(t[1h])) > (14.4 * 0.001)");
        assert!((l.threshold.unwrap() - 0.0144).abs() < 1e-12);
        let l = leaf("(time() - x_last_success_timestamp_seconds) / 3600 > 24");
        assert_eq!(
            (l.signal.clone(), l.threshold),
            (Signal::Age, Some(86400.0))
        );
        // 100 - used% > 90 is a free share below 0.1.
        let l = leaf("100 - (node_filesystem_avail_bytes / node_filesystem_size_bytes * 100) > 90");
        assert_eq!(l.signal, Signal::Gauge);
        assert_eq!(l.direction, Direction::Below);
        assert!((l.threshold.unwrap() - 0.1).abs() < 1e-12);
        let l = leaf("increase(x_total[1h]) > 60");
        assert!((l.threshold.unwrap() - 60.0 / 3600.0).abs() < 1e-12);
        let l = leaf("predict_linear(node_filesystem_avail_bytes[6h], 24 * 3600) < 0");
        assert!(
            matches!(l.signal, Signal::PredictLinear { horizon_seconds, .. } if horizon_seconds == 86400.0)
        );
    }

    #[test]
    fn guards_and_alternatives_compose() {
        let s =
            shape("sum(rate(e[5m])) / sum(rate(t[5m])) > 0.05 and sum(rate(t[5m])) > 1").unwrap();
        assert!(matches!(&s, Shape::Compound(Compound::And { of }) if of.len() == 2));
        let primaries = s.primaries();
        assert!(matches!(primaries[0].signal, Signal::Ratio { .. }));
        let s = shape("up{job=\"a\"} == 0 or absent(up{job=\"a\"})").unwrap();
        assert_eq!(s.primaries().len(), 2);
        let s = shape("x > 1 unless on(instance) maintenance == 1").unwrap();
        assert!(matches!(&s, Shape::Compound(Compound::Unless { .. })));
        // A recorded series is read as what its rule computes, up to one
        // evaluation of the rule's group later.
        assert!(shape("x > 1 and on() job:errors:ratio_rate5m > 0").is_ok());
        let l = leaf("job:errors:ratio_rate5m > 0.01");
        assert!(matches!(l.signal, Signal::Ratio { mean: false, .. }));
        assert_eq!((l.threshold, l.recording_delay_seconds), (Some(0.01), 30.0));
        // Through a window it is not followed, and says so.
        assert!(matches!(
            shape("max_over_time(job:errors:ratio_rate5m[1h]) > 0.01"),
            Err(Unmodelled::RecordedHere(_))
        ));
        assert!(matches!(
            shape("slo:sli_error:ratio_rate1h > 0.01"),
            Err(Unmodelled::RecordedElsewhere(_))
        ));
    }

    #[test]
    fn sloth_burn_rate_alerts_are_read_through_their_recording_rules() {
        let mut recordings = Recordings::new();
        for window in ["5m", "1h", "30m", "6h"] {
            let rule = |id: &str| {
                Recording {
                expr: parse(&format!(
                    r#"(sum(rate(http_requests_total{{job="{id}",code=~"5.."}}[{window}]))) / (sum(rate(http_requests_total{{job="{id}"}}[{window}])))"#
                ))
                .unwrap(),
                labels: BTreeMap::from([
                    ("sloth_id".to_string(), id.to_string()),
                    ("sloth_window".to_string(), window.to_string()),
                ]),
                interval: Duration::from_secs(60),
                group: "recordings".into(),
            }
            };
            recordings
                .entry(format!("slo:sli_error:ratio_rate{window}"))
                .or_default()
                .extend([rule("a"), rule("b")]);
        }
        let q = r#"(max(slo:sli_error:ratio_rate5m{sloth_id="a"} > (14.4 * 0.001)) without (sloth_window)
              and max(slo:sli_error:ratio_rate1h{sloth_id="a"} > (14.4 * 0.001)) without (sloth_window))
            or (max(slo:sli_error:ratio_rate30m{sloth_id="a"} > (6 * 0.001)) without (sloth_window)
              and max(slo:sli_error:ratio_rate6h{sloth_id="a"} > (6 * 0.001)) without (sloth_window))"#;
        let s = read(&parse(q).unwrap(), &Reader::new(&recordings)).unwrap();
        let Shape::Compound(Compound::Or { of }) = &s else {
            panic!("{s:?}")
        };
        assert_eq!(of.len(), 2);
        let leaves = s.leaves();
        assert_eq!(leaves.len(), 4);
        let windows: Vec<u64> = leaves
            .iter()
            .map(|l| match l.signal {
                Signal::Ratio { window, .. } => window.as_secs(),
                ref other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(windows, vec![300, 3600, 1800, 21600]);
        assert!((leaves[0].threshold.unwrap() - 0.0144).abs() < 1e-12);
        assert!((leaves[2].threshold.unwrap() - 0.006).abs() < 1e-12);
        assert!(leaves.iter().all(|l| l.recording_delay_seconds == 60.0));
        // Without the label that tells two SLOs apart, nobody can say which.
        let ambiguous = "slo:sli_error:ratio_rate5m > 0.0144";
        assert!(matches!(
            read(&parse(ambiguous).unwrap(), &Reader::new(&recordings)),
            Err(Unmodelled::RecordedHere(_))
        ));
    }

    #[test]
    fn joins_limits_and_filters_keep_the_signal() {
        let l = leaf("rate(node_network_receive_errs_total[2m]) / rate(node_network_receive_packets_total[2m]) > 0.01");
        assert!(matches!(l.signal, Signal::Ratio { .. }));
        let l = leaf("(node_load1 / count without (cpu, mode) (node_cpu_seconds_total{mode=\"idle\"})) * on(instance) group_left(nodename) node_uname_info > 2");
        assert_eq!(l.signal, Signal::Gauge);
        let l = leaf(
            "sum by (pod) (rate(cpu_seconds_total[5m])) / sum by (pod) (quota / period) > 0.9",
        );
        assert!(matches!(l.signal, Signal::Rate { .. }));
        assert_eq!(l.threshold, None);
        let l = leaf("kube_deployment_spec_replicas != kube_deployment_status_replicas_available");
        assert_eq!(
            (l.signal, l.direction),
            (Signal::Gauge, Direction::NotEqual)
        );
        let l = leaf("count by (job) (up == 0) > 0");
        assert_eq!(l.signal, Signal::Up);
        assert!(leaf("count(kube_node_info) == 0").never_zero);
        assert!(!leaf("count(kube_node_info) < 3").never_zero);
    }

    #[test]
    fn absent_knows_what_it_is_asked_about() {
        let of = |q: &str| match leaf(q).signal {
            Signal::Absent { of, .. } => of,
            other => panic!("{other:?}"),
        };
        assert_eq!(of("absent(up{job=\"a\"})"), AbsentOf::Up);
        assert_eq!(of("absent(up{job=\"a\"} == 1)"), AbsentOf::HealthyUp);
        assert_eq!(
            of("absent(kube_state_metrics_build_info)"),
            AbsentOf::Series
        );
        assert!(matches!(
            leaf("absent_over_time(up{job=\"a\"}[5m])").signal,
            Signal::Absent {
                window: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn histograms_keep_their_unit_and_native_ones_have_no_le() {
        let l = leaf("histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket[5m]))) > 1000");
        assert!(
            matches!(&l.signal, Signal::Quantile { histogram, native: false, .. } if histogram == "istio_request_duration_milliseconds")
        );
        let l = leaf("histogram_quantile(0.9, sum(rate(http_request_duration_seconds[5m]))) > 0.5");
        assert!(matches!(
            l.signal,
            Signal::Quantile {
                native: true,
                le_dropped: false,
                ..
            }
        ));
        let l = leaf("histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m]))) * 1000 > 500");
        assert_eq!(l.threshold, Some(0.5));
    }
}
