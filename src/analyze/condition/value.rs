//! Reading values: what a (sub-)expression's value is — a constant, the
//! clock (`time()`), or a signal seen through a map (affine when the
//! constants are known, monotone when a gauge scales it). Constant
//! sub-expressions are folded (`14.4 * 0.001`, `24 * 3600`), recorded
//! series followed to what their rule computes, and a ratio of rates read
//! as a share of events. `read` compares these values with thresholds.

use std::collections::BTreeSet;
use std::time::Duration;

use promql_parser::parser::{AggregateExpr, BinaryExpr, Call, Expr, LabelModifier, VectorSelector};

use super::function::Function;
use super::model::{Direction, Signal, Unmodelled};
use super::reader::{check_recorded, Reader};
use crate::rules::promql::{
    self, metric_name, output_labels, single_selector, unparen, Aggregation, Arithmetic, BinaryOp,
    SetOp,
};

/// The value of a constant expression (`14.4 * 0.001`, `-1`, `24 * 3600`).
pub fn constant(expr: &Expr) -> Option<f64> {
    match unparen(expr) {
        Expr::NumberLiteral(n) => Some(n.val),
        Expr::Unary(u) => constant(&u.expr).map(|v| -v),
        Expr::Binary(b) => BinaryOp::arithmetic(b.op)?.apply(constant(&b.lhs)?, constant(&b.rhs)?),
        _ => None,
    }
}

/// A comparison that returns 0 or 1 (`bool`) rather than filtering.
pub(super) fn returns_bool(b: &BinaryExpr) -> bool {
    b.modifier.as_ref().is_some_and(|m| m.return_bool)
}

/// `vector(c)`: the value `c`.
pub(super) fn default_of(expr: &Expr) -> Option<f64> {
    match unparen(expr) {
        Expr::Call(c) if c.func.name == "vector" => constant(c.args.args.first()?),
        _ => None,
    }
}

/// How a value depends on its signal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Map {
    /// a·signal + b.
    Affine { a: f64, b: f64 },
    /// Scaled by a gauge (or through a monotone function): only the sense.
    Monotone { increasing: bool },
}

impl Map {
    pub(super) const IDENTITY: Map = Map::Affine { a: 1.0, b: 0.0 };

    pub(super) fn add(self, c: f64) -> Map {
        match self {
            Map::Affine { a, b } => Map::Affine { a, b: b + c },
            monotone => monotone,
        }
    }

    pub(super) fn scale(self, c: f64) -> Map {
        match self {
            Map::Affine { a, b } => Map::Affine { a: a * c, b: b * c },
            Map::Monotone { increasing } => Map::Monotone {
                increasing: increasing == (c > 0.0),
            },
        }
    }

    pub(super) fn increasing(self) -> bool {
        match self {
            Map::Affine { a, .. } => a > 0.0,
            Map::Monotone { increasing } => increasing,
        }
    }

    /// `value op θ` as `signal op' θ'`.
    pub(super) fn invert(self, direction: Direction, threshold: f64) -> (Direction, Option<f64>) {
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
pub(super) struct Moving {
    pub(super) signal: Signal,
    pub(super) metrics: BTreeSet<String>,
    pub(super) map: Map,
    /// Seconds of recording-rule evaluations between the inputs and here.
    pub(super) lag: f64,
}

/// What a (sub-)expression's value is, as far as the model reads it.
pub(super) enum Value {
    Constant(f64),
    /// `time()`.
    Clock,
    Moving(Moving),
}

pub(super) fn moving(signal: Signal, name: String, map: Map) -> Value {
    Value::Moving(Moving {
        signal,
        metrics: BTreeSet::from([name]),
        map,
        lag: 0.0,
    })
}

pub(super) fn unread(what: impl Into<String>) -> Unmodelled {
    Unmodelled::Construct(what.into())
}

/// The value of `expr`: a constant, the clock, or a signal seen through a map.
pub(super) fn value(expr: &Expr, reader: &Reader) -> Result<Value, Unmodelled> {
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
    let op = a.op;
    let inner = value(&a.expr, reader)?;
    match Aggregation::of(op) {
        Some(
            Aggregation::Sum
            | Aggregation::Avg
            | Aggregation::Min
            | Aggregation::Max
            | Aggregation::Topk
            | Aggregation::Bottomk
            | Aggregation::Quantile,
        ) => Ok(inner),
        // The number of series is an instant number (a failed scrape
        // leaves `up` counted: its value is 0, the series is there).
        Some(Aggregation::Count | Aggregation::Group) => match inner {
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
        _ => Err(unread(format!("{op}()"))),
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
    let name = c.func.name;
    if let Some(function) = Function::from_name(name) {
        return range_value(c, function, reader);
    }
    let first = || {
        c.args
            .args
            .first()
            .ok_or_else(|| unread(format!("{name}() without arguments")))
    };
    match name {
        "histogram_quantile" => quantile_value(c, reader),
        "abs" | "ceil" | "floor" | "round" | "clamp" | "clamp_min" | "clamp_max" | "sqrt"
        | "exp" | "ln" | "log2" | "log10" => match value(first()?, reader)? {
            Value::Moving(m) => Ok(Value::Moving(Moving {
                map: Map::Monotone {
                    increasing: m.map.increasing(),
                },
                ..m
            })),
            _ => Err(unread(format!("{name}() of a constant"))),
        },
        "label_replace" | "label_join" | "sort" | "sort_desc" | "sort_by_label"
        | "sort_by_label_desc" | "scalar" => value(first()?, reader),
        "time" => Ok(Value::Clock),
        "vector" => value(first()?, reader),
        other => Err(unread(format!("{other}()"))),
    }
}

/// A function over a window of a raw series: the signal it makes.
fn range_value(c: &Call, function: Function, reader: &Reader) -> Result<Value, Unmodelled> {
    use Function::*;
    let (name, window) = match function {
        HoltWinters | CountOverTime | QuantileOverTime | StddevOverTime | StdvarOverTime
        | PresentOverTime | MadOverTime => return Err(unread(format!("{function}()"))),
        _ => windowed(c, 0, reader)?,
    };
    let signal = match function {
        Rate | Irate | Increase => Signal::Rate { window, function },
        Delta | Idelta => Signal::Delta { window, function },
        Deriv => Signal::Deriv { window },
        PredictLinear => Signal::PredictLinear {
            window,
            horizon_seconds: c
                .args
                .args
                .get(1)
                .and_then(|h| constant(h))
                .ok_or_else(|| unread("predict_linear() with a horizon that is not a constant"))?,
        },
        Changes | Resets => Signal::Changes { window, function },
        _ => Signal::OverTime { window, function },
    };
    // increase() is rate() × W (both extrapolate to the window).
    let map = if function == Increase {
        Map::Affine {
            a: window.as_secs_f64(),
            b: 0.0,
        }
    } else {
        Map::IDENTITY
    };
    Ok(moving(signal, name, map))
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

/// Whether `expr` is 1 wherever it has series: an info metric (`*_info`,
/// kube-state-metrics' `kube_*_labels`, `_annotations` and `_owner`,
/// kubelet's `kubelet_node_name`), `group(…)` of anything, or an
/// aggregation that keeps values (`max`, `topk`, …) of one. Joined with
/// `* on(…) group_left(…)`, it brings labels and leaves the value alone.
pub fn unit_valued(expr: &Expr) -> bool {
    match unparen(expr) {
        Expr::VectorSelector(v) => metric_name(v).is_some_and(|name| {
            name.ends_with("_info")
                || name == "kubelet_node_name"
                || (name.starts_with("kube_")
                    && ["_labels", "_annotations", "_owner"]
                        .iter()
                        .any(|suffix| name.ends_with(suffix)))
        }),
        Expr::Aggregate(a) => match Aggregation::of(a.op) {
            Some(Aggregation::Group) => true,
            Some(
                Aggregation::Max
                | Aggregation::Min
                | Aggregation::Avg
                | Aggregation::Topk
                | Aggregation::Bottomk,
            ) => unit_valued(&a.expr),
            _ => false,
        },
        _ => false,
    }
}

fn binary_value(b: &BinaryExpr, reader: &Reader) -> Result<Value, Unmodelled> {
    // `x * on(pod) group_left(owner) kube_pod_owner`, `0.2 * on(…) info`:
    // the join brings labels; the value is the other side's.
    if matches!(
        BinaryOp::arithmetic(b.op),
        Some(Arithmetic::Mul | Arithmetic::Div)
    ) && unit_valued(&b.rhs)
    {
        return value(&b.lhs, reader);
    }
    if BinaryOp::arithmetic(b.op) == Some(Arithmetic::Mul) && unit_valued(&b.lhs) {
        return value(&b.rhs, reader);
    }
    let op = match BinaryOp::of(b.op) {
        Ok(BinaryOp::Arithmetic(op)) => op,
        // `x or vector(0)`: x's value where it has series.
        Ok(BinaryOp::Set(SetOp::Or)) if default_of(&b.rhs).is_some() => {
            return value(&b.lhs, reader)
        }
        Ok(BinaryOp::Set(SetOp::Or)) => return Err(unread(format!("`{}` inside a value", b.op))),
        // `x and on(…) y` inside a value: x's value where y lets it through.
        Ok(BinaryOp::Set(_)) => return value(&b.lhs, reader),
        Ok(BinaryOp::Comparison(_)) if returns_bool(b) => {
            return Err(unread("a comparison with `bool`"))
        }
        // A filter inside a value (`limit > 0`): the value, where it holds.
        Ok(BinaryOp::Comparison(_)) => {
            return match constant(&b.lhs) {
                Some(_) => value(&b.rhs, reader),
                None => value(&b.lhs, reader),
            }
        }
        Err(unknown) => return Err(unread(unknown.to_string())),
    };
    let (lhs, rhs) = (value(&b.lhs, reader)?, value(&b.rhs, reader)?);
    match (lhs, rhs) {
        (Value::Constant(l), Value::Constant(r)) => op
            .apply(l, r)
            .map(Value::Constant)
            .ok_or_else(|| unread(format!("`{op}` of constants"))),
        (Value::Moving(m), Value::Constant(c)) => with_constant(m, op, c, false),
        (Value::Constant(c), Value::Moving(m)) => with_constant(m, op, c, true),
        // `time() - x`, or of `max_over_time(x[24h])` (x's last value,
        // kept through gaps).
        (Value::Clock, Value::Moving(m))
            if op == Arithmetic::Sub
                && matches!(
                    &m.signal,
                    Signal::Gauge
                        | Signal::OverTime {
                            function: Function::MaxOverTime | Function::LastOverTime,
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
        (Value::Moving(m), Value::Clock) if op == Arithmetic::Sub && tolerates_gaps(&m) => {
            Ok(Value::Moving(Moving {
                map: Map::IDENTITY,
                ..m
            }))
        }
        (Value::Moving(l), Value::Moving(r)) => between_signals(b, op, l, r),
        _ => Err(unread(format!("`{op}` with time()"))),
    }
}

/// A gauge, or its last value over a window (a gauge that tolerates gaps).
fn tolerates_gaps(m: &Moving) -> bool {
    matches!(
        m.signal,
        Signal::Gauge
            | Signal::OverTime {
                function: Function::LastOverTime,
                ..
            }
    )
}

fn with_constant(
    m: Moving,
    op: Arithmetic,
    c: f64,
    constant_first: bool,
) -> Result<Value, Unmodelled> {
    let map = match (op, constant_first) {
        (Arithmetic::Add, _) => m.map.add(c),
        (Arithmetic::Sub, false) => m.map.add(-c),
        (Arithmetic::Sub, true) => m.map.scale(-1.0).add(c),
        (Arithmetic::Mul, _) => m.map.scale(c),
        (Arithmetic::Div, false) if c != 0.0 => m.map.scale(1.0 / c),
        // c / x falls as x rises (for positive x and c).
        (Arithmetic::Div, true) => Map::Monotone {
            increasing: (c > 0.0) != m.map.increasing(),
        },
        _ => return Err(unread(format!("`{op}` with a constant"))),
    };
    Ok(Value::Moving(Moving { map, ..m }))
}

fn between_signals(
    b: &BinaryExpr,
    op: Arithmetic,
    l: Moving,
    r: Moving,
) -> Result<Value, Unmodelled> {
    let lag = l.lag.max(r.lag);
    let mut metrics = l.metrics.clone();
    metrics.extend(r.metrics.iter().cloned());
    let rated = |m: &Moving| matches!(m.signal, Signal::Rate { .. });
    // A last value over a window is a gauge that tolerates gaps.
    let static_kind = tolerates_gaps;
    if op == Arithmetic::Div && rated(&l) && rated(&r) {
        let window = l
            .signal
            .window()
            .unwrap_or_default()
            .max(r.signal.window().unwrap_or_default());
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
    if op == Arithmetic::Add && rated(&l) && rated(&r) && l.map == r.map {
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
        (false, true, Arithmetic::Mul | Arithmetic::Div) => scaled(l, true),
        (true, false, Arithmetic::Mul) => scaled(r, true),
        (true, false, Arithmetic::Div) => scaled(r, false),
        _ if l.signal == r.signal && matches!(l.signal, Signal::Up) => scaled(l, true),
        _ => Err(unread(format!("`{op}` between two signals"))),
    }
}

/// The label a self-dividing ratio narrows, if `b` is one: a ratio of one
/// metric to itself where a matcher narrows a label neither side aggregates
/// away, so each series is divided by itself (the seed's error-rate rule).
pub fn self_division(b: &BinaryExpr) -> Option<String> {
    if BinaryOp::arithmetic(b.op) != Some(Arithmetic::Div) {
        return None;
    }
    let (left, right) = (single_selector(&b.lhs)?, single_selector(&b.rhs)?);
    if metric_name(left)? != metric_name(right)? {
        return None;
    }
    let (on_left, on_right) = (&left.matchers.matchers, &right.matchers.matchers);
    let narrowed = on_left
        .iter()
        .filter(|m| m.name != "__name__" && !on_right.contains(m))
        .chain(
            on_right
                .iter()
                .filter(|m| m.name != "__name__" && !on_left.contains(m)),
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
