//! What a PromQL expression is made of, read from its syntax tree (never
//! from its text): the labels a result keeps, the selectors and range
//! windows it uses, the selectors `absent()` is asked about, and its
//! operators as types (`operator`).

mod operator;

use std::collections::BTreeSet;
use std::time::Duration;

use promql_parser::label::MatchOp;
use promql_parser::parser::{Expr, LabelModifier, VectorSelector};

pub use operator::{Aggregation, Arithmetic, BinaryOp, Comparison, SetOp, UnknownOperator};

/// The labels the series of an expression's result carry.
#[derive(Debug, Clone, PartialEq)]
pub enum Labels {
    /// Whatever the selected series have (unknown, so any label may be there).
    All,
    /// All but these.
    AllExcept(BTreeSet<String>),
    /// Exactly these.
    Only(BTreeSet<String>),
}

impl Labels {
    pub fn keeps(&self, label: &str) -> bool {
        match self {
            Labels::All => true,
            Labels::AllExcept(dropped) => !dropped.contains(label),
            Labels::Only(kept) => kept.contains(label),
        }
    }
}

fn names(labels: &promql_parser::label::Labels) -> BTreeSet<String> {
    labels.labels.iter().cloned().collect()
}

/// Functions that return one series per input series, labels intact
/// (apart from `__name__`, which does not matter here).
const LABEL_PRESERVING: &[&str] = &[
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "deriv",
    "abs",
    "ceil",
    "floor",
    "round",
    "clamp",
    "clamp_min",
    "clamp_max",
    "exp",
    "ln",
    "log2",
    "log10",
    "sqrt",
    "sgn",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "quantile_over_time",
    "last_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "present_over_time",
    "predict_linear",
    "holt_winters",
    "resets",
    "changes",
    "timestamp",
];

/// The labels of `expr`'s result series.
pub fn output_labels(expr: &Expr) -> Labels {
    output_labels_with(expr, &|_| Labels::All)
}

/// The labels of `expr`'s result series, a selector's own being what
/// `selected` says (a recorded series: what its rule keeps).
pub fn output_labels_with(expr: &Expr, selected: &dyn Fn(&VectorSelector) -> Labels) -> Labels {
    let output_labels = |e: &Expr| output_labels_with(e, selected);
    match expr {
        Expr::VectorSelector(v) => selected(v),
        Expr::MatrixSelector(m) => selected(&m.vs),
        Expr::Paren(p) => output_labels(&p.expr),
        Expr::Unary(u) => output_labels(&u.expr),
        Expr::Subquery(s) => output_labels(&s.expr),
        Expr::Aggregate(a) => {
            if Aggregation::of(a.op).is_some_and(Aggregation::selects_series) {
                return output_labels(&a.expr);
            }
            match &a.modifier {
                None => Labels::Only(BTreeSet::new()),
                Some(LabelModifier::Include(by)) => Labels::Only(names(by)),
                Some(LabelModifier::Exclude(without)) => match output_labels(&a.expr) {
                    Labels::Only(kept) => {
                        Labels::Only(kept.difference(&names(without)).cloned().collect())
                    }
                    Labels::AllExcept(dropped) => {
                        Labels::AllExcept(dropped.union(&names(without)).cloned().collect())
                    }
                    Labels::All => Labels::AllExcept(names(without)),
                },
            }
        }
        Expr::Call(c) => {
            let name = c.func.name;
            let first = c.args.args.first();
            if LABEL_PRESERVING.contains(&name) {
                return first.map(|a| output_labels(a)).unwrap_or(Labels::All);
            }
            match name {
                // histogram_quantile(φ, v): v's labels without `le`.
                "histogram_quantile" => match c.args.args.get(1).map(|a| output_labels(a)) {
                    Some(Labels::Only(kept)) => {
                        Labels::Only(kept.into_iter().filter(|l| l != "le").collect())
                    }
                    Some(Labels::AllExcept(mut dropped)) => {
                        dropped.insert("le".into());
                        Labels::AllExcept(dropped)
                    }
                    _ => Labels::AllExcept(BTreeSet::from(["le".to_string()])),
                },
                "vector" | "time" | "scalar" => Labels::Only(BTreeSet::new()),
                _ => Labels::All,
            }
        }
        Expr::Binary(b) => {
            // A comparison or arithmetic with a scalar keeps the vector's labels;
            // between vectors, the left side's (one-to-one, and many-to-one).
            let left = output_labels(&b.lhs);
            match &b.modifier {
                Some(m) => match &m.matching {
                    Some(LabelModifier::Include(on)) if !b.op.is_comparison_operator() => {
                        // `on(...)` without group_x keeps only the matched labels.
                        match &m.card {
                            promql_parser::parser::VectorMatchCardinality::OneToOne => {
                                Labels::Only(names(on))
                            }
                            _ => left,
                        }
                    }
                    _ => left,
                },
                None => left,
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => Labels::Only(BTreeSet::new()),
        Expr::Extension(_) => Labels::All,
    }
}

/// Every vector selector in `expr` (inside range selectors too).
pub fn selectors(expr: &Expr) -> Vec<&VectorSelector> {
    let mut found = Vec::new();
    walk(expr, &mut |e| match e {
        Expr::VectorSelector(v) => found.push(v),
        Expr::MatrixSelector(m) => found.push(&m.vs),
        _ => {}
    });
    found
}

/// Every range window (`x[5m]`, subquery ranges) in `expr`.
pub fn windows(expr: &Expr) -> Vec<Duration> {
    let mut found = Vec::new();
    walk(expr, &mut |e| match e {
        Expr::MatrixSelector(m) => found.push(m.range),
        Expr::Subquery(s) => found.push(s.range),
        _ => {}
    });
    found
}

/// Visits every node, parents before children.
pub fn walk<'a>(expr: &'a Expr, visit: &mut dyn FnMut(&'a Expr)) {
    visit(expr);
    match expr {
        Expr::Aggregate(a) => {
            if let Some(param) = &a.param {
                walk(param, visit);
            }
            walk(&a.expr, visit);
        }
        Expr::Unary(u) => walk(&u.expr, visit),
        Expr::Binary(b) => {
            walk(&b.lhs, visit);
            walk(&b.rhs, visit);
        }
        Expr::Paren(p) => walk(&p.expr, visit),
        Expr::Subquery(s) => walk(&s.expr, visit),
        Expr::Call(c) => {
            for arg in &c.args.args {
                walk(arg, visit);
            }
        }
        _ => {}
    }
}

/// The metric name a selector names (by `name{}` or `{__name__="…"}`).
pub fn metric_name(selector: &VectorSelector) -> Option<String> {
    selector.name.clone().or_else(|| {
        selector
            .matchers
            .matchers
            .iter()
            .find(|m| m.name == "__name__" && matches!(m.op, MatchOp::Equal))
            .map(|m| m.value.clone())
    })
}

/// The one selector an expression reads, through functions and aggregations
/// (`sum(rate(x{a="b"}[5m]))` → `x{a="b"}`), if it reads exactly one.
pub fn single_selector(expr: &Expr) -> Option<&VectorSelector> {
    let found = selectors(expr);
    (found.len() == 1).then(|| found[0])
}

/// Removes parentheses.
pub fn unparen(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(p) => unparen(&p.expr),
        other => other,
    }
}

/// The selectors `expr` asks `absent()` (or `absent_over_time()`) about,
/// whose emptiness then means "fire", not "no data".
pub fn absent_selectors(expr: &Expr) -> Vec<&VectorSelector> {
    let mut found = Vec::new();
    walk(expr, &mut |node| {
        if let Expr::Call(c) = node {
            if c.func.name == "absent" || c.func.name == "absent_over_time" {
                if let Some(arg) = c.args.args.first() {
                    found.extend(selectors(arg));
                }
            }
        }
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::parser::parse;

    #[test]
    fn aggregation_decides_which_labels_survive() {
        let labels = |q: &str| output_labels(&parse(q).unwrap());
        assert_eq!(labels("rate(x[5m])"), Labels::All);
        assert!(!labels("sum(rate(x[5m]))").keeps("status"));
        assert!(labels("sum by (status) (rate(x[5m]))").keeps("status"));
        assert!(!labels("sum without (status) (rate(x[5m]))").keeps("status"));
        assert!(labels("sum without (job) (rate(x[5m]))").keeps("status"));
        assert!(!labels("histogram_quantile(0.9, rate(h_bucket[5m]))").keeps("le"));
        assert!(labels("histogram_quantile(0.9, rate(h_bucket[5m]))").keeps("job"));
    }
}
