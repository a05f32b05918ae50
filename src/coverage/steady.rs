//! The value of an expression once a state of a provocation has lasted
//! long enough to fill every window: each counter counting at its rate,
//! each gauge at its value. It reads the forms a gauge-scaled rate is
//! written in — `rate`, `irate`, `increase`; gauges and their `avg`, `min`,
//! `max`, `last_over_time`; `sum`, `avg`, `min`, `max`, `count` by or
//! without labels; arithmetic with scalars and between vectors matched one
//! to one, as Prometheus matches them — and answers None for anything
//! else. The timing model uses it where a gauge scales a rate
//! (`rate(cpu[5m]) / (quota / period) > 0.9`): the multiple of the
//! threshold a provocation reaches is that value over the threshold.

use std::collections::BTreeMap;

use promql_parser::parser::{
    AggregateExpr, BinaryExpr, Call, Expr, LabelModifier, VectorMatchCardinality, VectorSelector,
};

use super::levels::Level;
use super::series::{Kind, SeriesSpec};
use crate::rules::promql::{unparen, Aggregation, Arithmetic, BinaryOp};

type Labels = BTreeMap<String, String>;

/// A value at the steady state.
#[derive(Debug, Clone, PartialEq)]
pub enum Steady {
    Scalar(f64),
    /// Series (labels without the metric name) and their values.
    Vector(Vec<(Labels, f64)>),
}

/// `expr`'s value with `series` held at `levels`.
pub fn value(expr: &Expr, series: &[SeriesSpec], levels: &[Level]) -> Option<Steady> {
    let at = State { series, levels };
    at.value(expr)
}

struct State<'a> {
    series: &'a [SeriesSpec],
    levels: &'a [Level],
}

impl State<'_> {
    fn value(&self, expr: &Expr) -> Option<Steady> {
        match unparen(expr) {
            Expr::NumberLiteral(n) => Some(Steady::Scalar(n.val)),
            Expr::Unary(u) => negated(self.value(&u.expr)?),
            Expr::VectorSelector(s) => self.selected(s, gauge),
            Expr::Call(call) => self.call(call),
            Expr::Aggregate(a) => self.aggregate(a),
            Expr::Binary(b) => self.binary(b),
            _ => None,
        }
    }

    /// The plain series `selector` selects, each read through `read`
    /// (None for a level it cannot read: no steady value); absent ones
    /// left out.
    fn selected(
        &self,
        selector: &VectorSelector,
        read: impl Fn(Level) -> Option<f64>,
    ) -> Option<Steady> {
        if selector.offset.is_some() || selector.at.is_some() {
            return None;
        }
        let mut found = Vec::new();
        for (spec, level) in self.series.iter().zip(self.levels) {
            if !spec.selected_by(selector) || *level == Level::Absent {
                continue;
            }
            if !matches!(spec.kind, Kind::Counter | Kind::Gauge) {
                return None;
            }
            found.push((spec.labels.clone(), read(*level)?));
        }
        Some(Steady::Vector(found))
    }

    fn call(&self, call: &Call) -> Option<Steady> {
        let [arg] = call.args.args.as_slice() else {
            return None;
        };
        let Expr::MatrixSelector(m) = unparen(arg) else {
            return None;
        };
        let window = m.range.as_secs_f64();
        match call.func.name {
            "rate" | "irate" => self.selected(&m.vs, rate),
            "increase" => self.selected(&m.vs, |level| Some(rate(level)? * window)),
            "avg_over_time" | "min_over_time" | "max_over_time" | "last_over_time" => {
                self.selected(&m.vs, gauge)
            }
            _ => None,
        }
    }

    fn aggregate(&self, a: &AggregateExpr) -> Option<Steady> {
        if a.param.is_some() {
            return None;
        }
        let how = Aggregation::of(a.op)?;
        // `count(x)` counts series, whatever they hold (a counter's too).
        let counted = match (how, unparen(&a.expr)) {
            (Aggregation::Count, Expr::VectorSelector(s)) => Some(self.selected(s, |_| Some(1.0))),
            _ => None,
        };
        let Steady::Vector(samples) = counted.unwrap_or_else(|| self.value(&a.expr))? else {
            return None;
        };
        let mut groups: BTreeMap<Labels, Vec<f64>> = BTreeMap::new();
        for (labels, v) in samples {
            let kept = labels
                .into_iter()
                .filter(|(k, _)| match &a.modifier {
                    None => false,
                    Some(LabelModifier::Include(by)) => by.labels.contains(k),
                    Some(LabelModifier::Exclude(without)) => !without.labels.contains(k),
                })
                .collect();
            groups.entry(kept).or_default().push(v);
        }
        let mut out = Vec::new();
        for (labels, vs) in groups {
            let n = vs.len() as f64;
            let v = match how {
                Aggregation::Sum => vs.iter().sum(),
                Aggregation::Avg => vs.iter().sum::<f64>() / n,
                Aggregation::Count => n,
                Aggregation::Min => vs.iter().copied().fold(f64::INFINITY, f64::min),
                Aggregation::Max => vs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                _ => return None,
            };
            out.push((labels, v));
        }
        Some(Steady::Vector(out))
    }

    fn binary(&self, b: &BinaryExpr) -> Option<Steady> {
        let op = match BinaryOp::of(b.op).ok()? {
            BinaryOp::Arithmetic(op) => op,
            _ => return None,
        };
        let apply = |x: f64, y: f64| op.apply(x, y);
        match (self.value(&b.lhs)?, self.value(&b.rhs)?) {
            (Steady::Scalar(x), Steady::Scalar(y)) => apply(x, y).map(Steady::Scalar),
            (Steady::Vector(v), Steady::Scalar(y)) => each(v, |x| apply(x, y)),
            (Steady::Scalar(x), Steady::Vector(v)) => each(v, |y| apply(x, y)),
            (Steady::Vector(l), Steady::Vector(r)) => one_to_one(b, op, l, r),
        }
    }
}

/// A gauge's value.
fn gauge(level: Level) -> Option<f64> {
    match level {
        Level::Value { value } => Some(value),
        _ => None,
    }
}

/// A counter's rate.
fn rate(level: Level) -> Option<f64> {
    match level {
        Level::Rate { per_second } => Some(per_second),
        _ => None,
    }
}

fn negated(value: Steady) -> Option<Steady> {
    match value {
        Steady::Scalar(x) => Some(Steady::Scalar(-x)),
        Steady::Vector(v) => each(v, |x| Some(-x)),
    }
}

fn each(v: Vec<(Labels, f64)>, f: impl Fn(f64) -> Option<f64>) -> Option<Steady> {
    v.into_iter()
        .map(|(labels, x)| Some((labels, f(x)?)))
        .collect::<Option<Vec<_>>>()
        .map(Steady::Vector)
}

/// Vector with vector, one to one on the labels `on(…)` names (all but
/// those `ignoring(…)` names, by default all): a side with two series for
/// one match is an error in Prometheus, and None here; `group_left` and
/// `group_right` are not read. The result keeps the left side's labels
/// (only the `on` ones, or without the ignored ones).
fn one_to_one(
    b: &BinaryExpr,
    op: Arithmetic,
    l: Vec<(Labels, f64)>,
    r: Vec<(Labels, f64)>,
) -> Option<Steady> {
    let modifier = b.modifier.as_ref();
    if modifier.is_some_and(|m| !matches!(m.card, VectorMatchCardinality::OneToOne)) {
        return None;
    }
    let matching = modifier.and_then(|m| m.matching.as_ref());
    let key = |labels: &Labels| -> Labels {
        labels
            .iter()
            .filter(|(k, _)| match matching {
                None => true,
                Some(LabelModifier::Include(on)) => on.labels.contains(k),
                Some(LabelModifier::Exclude(ignoring)) => !ignoring.labels.contains(k),
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let mut right: BTreeMap<Labels, f64> = BTreeMap::new();
    for (labels, y) in &r {
        if right.insert(key(labels), *y).is_some() {
            return None;
        }
    }
    let mut out: Vec<(Labels, f64)> = Vec::new();
    for (labels, x) in l {
        let k = key(&labels);
        if out.iter().any(|(seen, _)| key(seen) == k) {
            return None;
        }
        if let Some(&y) = right.get(&k) {
            let kept = match matching {
                Some(LabelModifier::Include(_)) => k,
                _ => key(&labels),
            };
            out.push((kept, op.apply(x, y)?));
        }
    }
    Some(Steady::Vector(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(metric: &str, labels: &[(&str, &str)], kind: Kind) -> SeriesSpec {
        SeriesSpec {
            metric: metric.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            kind,
            role: None,
            includes: Vec::new(),
            replaced_by: Vec::new(),
            twin_of: None,
        }
    }

    fn at(q: &str, series: &[SeriesSpec], levels: &[Level]) -> Option<Vec<f64>> {
        let expr = promql_parser::parser::parse(q).unwrap();
        match value(&expr, series, levels)? {
            Steady::Scalar(x) => Some(vec![x]),
            Steady::Vector(v) => Some(v.into_iter().map(|(_, x)| x).collect()),
        }
    }

    #[test]
    fn a_rate_over_a_quota_is_the_share_of_the_limit_used() {
        let pod = [("container", "c"), ("pod", "api-gateway0")];
        let series = [
            spec("cpu_total", &pod, Kind::Counter),
            spec("quota", &pod, Kind::Gauge),
            spec("period", &pod, Kind::Gauge),
        ];
        let levels = [
            Level::Rate { per_second: 1.5 },
            Level::Value { value: 200_000.0 },
            Level::Value { value: 100_000.0 },
        ];
        let q = r#"sum by (namespace, pod) (rate(cpu_total{container!="", pod=~"api-gateway.*"}[5m]))
            / sum by (namespace, pod) (quota{container!=""} / period{container!=""})"#;
        assert_eq!(at(q, &series, &levels), Some(vec![0.75]));
        // Matched on the labels given, or ignoring those named.
        assert_eq!(
            at("rate(cpu_total[1m]) / on(pod) quota", &series, &levels),
            Some(vec![1.5 / 200_000.0])
        );
        assert_eq!(
            at("increase(cpu_total[1m]) * 2", &series, &levels),
            Some(vec![180.0])
        );
        // A selector that selects nothing: an empty vector, not a value.
        assert_eq!(
            at(
                r#"rate(cpu_total{pod="other"}[5m]) / quota"#,
                &series,
                &levels
            ),
            Some(vec![])
        );
    }

    #[test]
    fn count_groups_and_what_it_cannot_read_is_none() {
        let series = [
            spec("switches", &[("instance", "a")], Kind::Counter),
            spec("cpu", &[("instance", "a"), ("cpu", "0")], Kind::Counter),
            spec("cpu", &[("instance", "a"), ("cpu", "1")], Kind::Counter),
        ];
        let levels = [
            Level::Rate {
                per_second: 30_000.0,
            },
            Level::Rate { per_second: 1.0 },
            Level::Rate { per_second: 1.0 },
        ];
        for q in [
            "rate(switches[5m]) / count without (cpu) (rate(cpu[5m]))",
            "rate(switches[5m]) / count without (cpu) (cpu)",
        ] {
            assert_eq!(at(q, &series, &levels), Some(vec![15_000.0]), "{q}");
        }
        // A counter's raw value has no steady state; group_left is not read;
        // two series on one side of a one-to-one match is Prometheus's error.
        for q in [
            "switches / 2",
            "rate(switches[5m]) / on(instance) group_left count(rate(cpu[5m]))",
            "rate(switches[5m]) / ignoring(cpu) rate(cpu[5m])",
            "histogram_quantile(0.9, rate(cpu[5m]))",
        ] {
            assert_eq!(at(q, &series, &levels), None, "{q}");
        }
    }
}
