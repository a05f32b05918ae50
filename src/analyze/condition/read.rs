//! Reading conditions: an alert's expression into the condition model's
//! tree (`model`). Comparisons become leaves, in the signal's own unit —
//! scaling is undone (`… * 100 > 5` is a share above 0.05, `(time() - x) /
//! 3600 > 24` an age above 86400 s) — and `and`, `or`, `unless` become
//! compounds; a guard the model does not read stands as an opaque leaf.
//! The reading is a composition, not a list of whole-expression patterns:
//! values come from `value`, one sub-expression at a time.

use std::collections::BTreeSet;
use std::time::Duration;

use promql_parser::parser::{BinaryExpr, Call, Expr};

use super::model::{AbsentOf, Compound, Direction, Leaf, Shape, Signal, Unmodelled};
use super::reader::{check_recorded, Reader};
use super::value::{constant, default_of, returns_bool, value, Map, Moving, Value};
use crate::rules::promql::{
    self, metric_name, single_selector, unparen, Aggregation, Arithmetic, BinaryOp, Comparison,
    SetOp,
};

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
    let expr = unparen(expr);
    match expr {
        Expr::Binary(b) => match BinaryOp::of(b.op) {
            Ok(BinaryOp::Set(op)) => set_operation(b, op, reader),
            Ok(BinaryOp::Comparison(op)) if !returns_bool(b) => comparison(b, op, reader),
            Ok(BinaryOp::Arithmetic(Arithmetic::Mul | Arithmetic::Div))
                if is_comparison(&b.lhs) =>
            {
                joined(b, reader)
            }
            Ok(_) => exists(expr, reader),
            Err(unknown) => Err(Unmodelled::Construct(unknown.to_string())),
        },
        Expr::Call(c) if matches!(c.func.name, "absent" | "absent_over_time") => absent(c, reader),
        // `max(x > 0.0144) without (sloth_window)`: an aggregation of what
        // passes the comparison has series exactly when something passes.
        Expr::Aggregate(a) if is_comparison(&a.expr) => condition(&a.expr, reader),
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

fn set_operation(b: &BinaryExpr, op: SetOp, reader: &Reader) -> Result<Shape, Unmodelled> {
    let lhs = condition(&b.lhs, reader);
    let rhs = condition(&b.rhs, reader).unwrap_or_else(|why| opaque(&b.rhs, why));
    // A main side the model cannot read is not replaced: the timing would be
    // the guard's.
    let lhs = match (lhs, op) {
        (Ok(shape), _) => shape,
        (Err(why), SetOp::Or) => opaque(&b.lhs, why),
        (Err(why), _) => return Err(why),
    };
    Ok(Shape::Compound(match op {
        SetOp::And => Compound::And {
            of: flatten(lhs, rhs, |c| match c {
                Compound::And { of } => Some(of),
                _ => None,
            }),
        },
        SetOp::Or => Compound::Or {
            of: flatten(lhs, rhs, |c| match c {
                Compound::Or { of } => Some(of),
                _ => None,
            }),
        },
        SetOp::Unless => Compound::Unless {
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

/// `count(…)` is at least 1 whenever it returns anything: `count(…) < 1`,
/// `== 0` or `<= 0` can never hold (aggregating nothing returns nothing).
pub fn count_never_matches(value: &Expr, op: Comparison, threshold: f64) -> bool {
    let Expr::Aggregate(a) = unparen(value) else {
        return false;
    };
    if Aggregation::of(a.op) != Some(Aggregation::Count) {
        return false;
    }
    match op {
        Comparison::Less => threshold <= 1.0,
        Comparison::LessOrEqual | Comparison::Equal => threshold < 1.0,
        _ => false,
    }
}

fn comparison(b: &BinaryExpr, op: Comparison, reader: &Reader) -> Result<Shape, Unmodelled> {
    let (value_expr, threshold, op) = if let Some(c) = threshold_of(&b.rhs, reader) {
        (&*b.lhs, c, op)
    } else if let Some(c) = threshold_of(&b.lhs, reader) {
        (&*b.rhs, c, op.flipped())
    } else {
        return vector_comparison(b, op, reader);
    };
    // `(x and on(instance) guard) > 30` is `x > 30 and on(instance) guard`.
    if let Expr::Binary(set) = unparen(value_expr) {
        if let Some(set_op) = BinaryOp::set(set.op) {
            return set_bound(set, set_op, op, threshold, b, reader);
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
        if matches!(op, Comparison::Greater | Comparison::GreaterOrEqual) && threshold < 1.0 {
            return condition(filter, reader);
        }
    }
    bound(value_expr, op, threshold, b, reader)
}

/// A side that is a threshold: a constant, or one joined for its labels
/// (`on(pod) group_left(owner) (0.2 * kube_pod_owner)` is 0.2 wherever the
/// join finds a series).
fn threshold_of(side: &Expr, reader: &Reader) -> Option<f64> {
    constant(side).or_else(|| match value(side, reader) {
        Ok(Value::Constant(c)) if !matches!(unparen(side), Expr::Call(_) | Expr::Aggregate(_)) => {
            Some(c)
        }
        _ => None,
    })
}

/// `value op threshold` as a leaf.
fn bound(
    value_expr: &Expr,
    op: Comparison,
    threshold: f64,
    b: &BinaryExpr,
    reader: &Reader,
) -> Result<Shape, Unmodelled> {
    let never_zero = count_never_matches(value_expr, op, threshold);
    let (direction, inclusive) = Direction::of(op);
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
    set_op: SetOp,
    op: Comparison,
    threshold: f64,
    b: &BinaryExpr,
    reader: &Reader,
) -> Result<Shape, Unmodelled> {
    let main = bound(&set.lhs, op, threshold, b, reader)?;
    let guard = |side: &Expr| condition(side, reader).unwrap_or_else(|why| opaque(side, why));
    Ok(match set_op {
        SetOp::And => Shape::Compound(Compound::And {
            of: vec![main, guard(&set.rhs)],
        }),
        SetOp::Unless => Shape::Compound(Compound::Unless {
            main: Box::new(main),
            except: Box::new(guard(&set.rhs)),
        }),
        // `(count(x) or vector(0)) < 1`: the default stands in when x has no
        // series, so where the default satisfies the comparison, x's absence does.
        SetOp::Or => match default_of(&set.rhs) {
            // `count(x) < 1` holds only through the default: x is absent.
            Some(default) if op.holds(default, threshold) => match main {
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
    if Aggregation::of(a.op) != Some(Aggregation::Count) {
        return None;
    }
    match unparen(&a.expr) {
        inner @ Expr::Binary(b) if b.op.is_comparison_operator() && !returns_bool(b) => Some(inner),
        _ => None,
    }
}

/// `a > b` between two vectors: a gauge against a gauge (replicas wanted
/// against replicas available), or a signal against a gauge limit.
fn vector_comparison(b: &BinaryExpr, op: Comparison, reader: &Reader) -> Result<Shape, Unmodelled> {
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
                    op,
                    None,
                )
            } else {
                (r, op.flipped(), Some(l))
            }
        }
        (Value::Moving(l), Value::Moving(r)) if r.signal == Signal::Gauge => (l, op, Some(r)),
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
    let (direction, inclusive) = Direction::of(op);
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
    match BinaryOp::comparison(b.op) {
        Some(Comparison::Equal | Comparison::GreaterOrEqual) => c == 1.0,
        Some(Comparison::Greater | Comparison::NotEqual) => c == 0.0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::model::{Recording, Recordings};
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
    fn thresholds_behind_joins_are_kept() {
        let ratio = "sum by (namespace, pod) (rate(e[5m])) / sum by (namespace, pod) (rate(t[5m]))";
        // The compared side joined with an info metric (value 1) for its labels.
        for join in [
            "* on(namespace, pod) group_left(owner_name) kube_pod_owner",
            "* on(namespace, pod) group_left(node) topk by (namespace, pod) (1, kube_pod_info)",
            "* on(namespace) group_left(team) group by (namespace, team) (kube_namespace_labels)",
        ] {
            let l = leaf(&format!("({ratio}) {join} > 0.2"));
            assert!(matches!(l.signal, Signal::Ratio { .. }), "{join}: {l:?}");
            assert_eq!(l.threshold, Some(0.2), "{join}");
        }
        // The threshold on the joined side: 0.2 wherever the join finds a series.
        let l = leaf(&format!(
            "{ratio} > on(namespace, pod) group_left(owner_name) (0.2 * kube_pod_owner)"
        ));
        assert!(matches!(l.signal, Signal::Ratio { .. }));
        assert_eq!((l.direction, l.threshold), (Direction::Above, Some(0.2)));
        let l = leaf("(100 * node_uname_info) < on(instance) group_right(nodename) node_load1");
        assert_eq!(
            (l.signal, l.direction, l.threshold),
            (Signal::Gauge, Direction::Above, Some(100.0))
        );
        // A real gauge on the joined side is a threshold nobody knows.
        let l = leaf(&format!(
            "{ratio} > on(namespace) group_left() (0.2 * kube_resourcequota{{type=\"hard\"}})"
        ));
        assert_eq!(l.threshold, None);
        let l = leaf("rate(x[5m]) * on(instance) group_left() node_memory_MemTotal_bytes > 10");
        assert_eq!(l.threshold, None);
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
