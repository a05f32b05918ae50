//! The raw series an alert reads, found from its expression with recording
//! rules followed: each selector with the kind its context gives it (a
//! counter under `rate`/`increase`/`irate`/`resets`, a classic histogram's
//! buckets under `histogram_quantile`, a timestamp under `time() - x`, a
//! gauge otherwise), and label values that make the selectors match — one
//! canonical value per label name across the alert, so `on(…)`,
//! `group_left` and `by` joins meet, and variants where selectors of one
//! metric differ (a 5xx series and another the denominator alone counts).
//! Ratios of rates give their series a role: which counts failures, and
//! which total also counts another's events.
//!
//! Knows nothing of levels or of promtool.

use std::collections::{BTreeMap, BTreeSet};

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{Expr, VectorSelector};
use serde::Serialize;

use crate::analyze::condition::{recording_for, Recordings};
use crate::analyze::sweep::{numerator_counts_failures, ratio_pairs, value_for};
use crate::rules::promql::{metric_name, unparen, Aggregation, Arithmetic, BinaryOp};

/// What a series is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Kind {
    /// It only grows (it counts events): read through `rate` and its kin.
    Counter,
    /// An instant value.
    Gauge,
    /// Seconds since the epoch of something past (`time() - x`).
    Timestamp,
    /// Seconds since the epoch of something to come (`x - time()`: a
    /// certificate's expiry).
    Deadline,
    /// A classic histogram's `_bucket` series, one per bound (`le`) and
    /// `+Inf`.
    Histogram { bounds: Vec<f64> },
}

/// What a counter of a ratio counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Failures (the numerator of a ratio compared from above, the rest of
    /// one compared from below).
    Failures,
    /// Everything else.
    Others,
}

/// One series the provocation writes (a histogram: its buckets).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesSpec {
    /// The metric name (a histogram's `_bucket` name).
    pub metric: String,
    /// Its labels (a histogram's without `le`).
    pub labels: BTreeMap<String, String>,
    #[serde(flatten)]
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// A total that also counts these series' events (`requests_total`
    /// beside `errors_total`): indices into the provocation's series.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<usize>,
    /// Its own events give way to these series' events: a request that
    /// fails is one fewer that succeeds, so the traffic stays what it was
    /// (the timing model's share of failing requests).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replaced_by: Vec<usize>,
    /// A second series like this one, on another instance (for `count()`):
    /// absent while healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub twin_of: Option<usize>,
}

impl SeriesSpec {
    /// Whether `selector` selects this series (a histogram's `le` matcher
    /// aside: its labels are without `le`).
    pub fn selected_by(&self, selector: &VectorSelector) -> bool {
        metric_name(selector).as_deref() == Some(self.metric.as_str())
            && own_matchers(selector)
                .filter(|m| m.name != "le" || !matches!(self.kind, Kind::Histogram { .. }))
                .all(|m| m.is_match(self.labels.get(&m.name).map_or("", String::as_str)))
    }

    /// `metric{a="b"}`, as people read it.
    pub fn selector(&self) -> String {
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        format!("{}{{{}}}", self.metric, labels.join(", "))
    }

    /// How many series it writes: `members().len()`, without writing them.
    pub fn member_count(&self) -> usize {
        match &self.kind {
            Kind::Histogram { bounds } => bounds.len() + 1,
            _ => 1,
        }
    }

    /// The series it writes: its own labels, one per bucket for a
    /// histogram (`le` added, `+Inf` last).
    pub fn members(&self) -> Vec<BTreeMap<String, String>> {
        match &self.kind {
            Kind::Histogram { bounds } => bounds
                .iter()
                .map(|b| format!("{b}"))
                .chain(["+Inf".to_string()])
                .map(|le| {
                    let mut labels = self.labels.clone();
                    labels.insert("le".into(), le);
                    labels
                })
                .collect(),
            _ => vec![self.labels.clone()],
        }
    }
}

/// Why an alert's series cannot be written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unwritable {
    #[error("{0}")]
    Recording(String),
    #[error("no label values match `{0}`")]
    NoLabels(String),
    #[error("it reads the native histogram `{0}`, which promtool's test input cannot write")]
    Native(String),
}

/// How a selector is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Context {
    Gauge,
    Deadline,
    Timestamp,
    Counter,
    Histogram,
}

/// A raw selector and how it is read.
struct Use {
    selector: VectorSelector,
    context: Context,
    /// Under `count()` (or `sum()` of `up`): how many series there are
    /// matters.
    counted: bool,
}

/// How the part of an expression being read is read.
#[derive(Debug, Clone, Copy)]
struct How {
    context: Context,
    counted: bool,
    summed: bool,
}

/// The series of `expr` (recording rules followed), with canonical label
/// values and roles; `histogram_bounds` gives each histogram's bounds.
pub fn series(
    expr: &Expr,
    recordings: &Recordings,
    histogram_bounds: &dyn Fn(&str) -> Vec<f64>,
) -> Result<Vec<SeriesSpec>, Unwritable> {
    let mut uses = Vec::new();
    let how = How {
        context: Context::Gauge,
        counted: false,
        summed: false,
    };
    collect(expr, how, recordings, 0, &mut uses)?;
    let canonical = canonical_values(&uses);
    // Series meet on the labels joins and groupings name, and one-to-one
    // matching (`a / b`) on every label either side keeps: a series carries
    // such a label, at its one value, when a selector of the other side
    // pins it.
    let joins = join_labels(expr, recordings, 0);
    let mut matched = BTreeMap::new();
    matched_labels(expr, recordings, 0, &mut matched);
    let mut by_metric: BTreeMap<String, Vec<&Use>> = BTreeMap::new();
    for u in &uses {
        by_metric
            .entry(metric_name(&u.selector).unwrap_or_default())
            .or_default()
            .push(u);
    }
    let mut specs = Vec::new();
    let shared = Shared {
        canonical: &canonical,
        joins: &joins,
        matched: &matched,
    };
    for (metric, used) in &by_metric {
        let kind = match used.iter().map(|u| u.context).max() {
            Some(Context::Histogram) if !metric.ends_with("_bucket") => {
                return Err(Unwritable::Native(metric.clone()))
            }
            Some(Context::Histogram) => Kind::Histogram {
                bounds: histogram_bounds(metric.trim_end_matches("_bucket")),
            },
            Some(Context::Counter) => Kind::Counter,
            Some(Context::Timestamp) => Kind::Timestamp,
            Some(Context::Deadline) => Kind::Deadline,
            _ => Kind::Gauge,
        };
        metric_series(metric, used, kind, &shared, &mut specs)?;
    }
    assign_roles(expr, recordings, &mut specs);
    Ok(specs)
}

/// What every metric's series are built with.
struct Shared<'a> {
    canonical: &'a BTreeMap<String, String>,
    joins: &'a BTreeSet<String>,
    matched: &'a BTreeMap<String, BTreeSet<String>>,
}

/// The series of one metric (and their twins, when it is counted).
fn metric_series(
    metric: &str,
    used: &[&Use],
    kind: Kind,
    shared: &Shared,
    specs: &mut Vec<SeriesSpec>,
) -> Result<(), Unwritable> {
    let selectors: Vec<&VectorSelector> = distinct(used);
    let counted = used.iter().any(|u| u.counted);
    let empty = BTreeSet::new();
    let wanted = shared.matched.get(metric).unwrap_or(&empty);
    for mut labels in label_sets(&selectors, shared.canonical, &kind)? {
        for (name, value) in shared.canonical {
            let free = selectors
                .iter()
                .all(|s| own_matchers(s).all(|m| &m.name != name));
            if free && name != "le" && (shared.joins.contains(name) || wanted.contains(name)) {
                labels.entry(name.clone()).or_insert_with(|| value.clone());
            }
        }
        let original = specs.len();
        specs.push(SeriesSpec {
            metric: metric.to_string(),
            labels: labels.clone(),
            kind: kind.clone(),
            role: None,
            includes: Vec::new(),
            replaced_by: Vec::new(),
            twin_of: None,
        });
        // Counted: a second series like it, on another instance.
        if counted {
            let name = if labels.contains_key("instance") {
                "replica"
            } else {
                "instance"
            };
            labels.insert(name.into(), format!("{name}-2"));
            specs.push(SeriesSpec {
                labels,
                twin_of: Some(original),
                ..specs[original].clone()
            });
        }
    }
    Ok(())
}

/// For one-to-one matching on all labels (`a / b`, no `on`): each label a
/// selector of one side pins and that side keeps, by the metrics of the
/// other side (which must carry it too for the series to meet).
fn matched_labels(
    expr: &Expr,
    recordings: &Recordings,
    depth: u8,
    into: &mut BTreeMap<String, BTreeSet<String>>,
) {
    if depth > 8 {
        return;
    }
    crate::rules::promql::walk(expr, &mut |node| match node {
        Expr::Binary(b) if !b.op.is_set_operator() => {
            let ignored: BTreeSet<String> =
                match b.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
                    Some(promql_parser::parser::LabelModifier::Include(_)) => return,
                    Some(promql_parser::parser::LabelModifier::Exclude(list)) => {
                        list.labels.iter().cloned().collect()
                    }
                    None => BTreeSet::new(),
                };
            for (side, other) in [(&b.lhs, &b.rhs), (&b.rhs, &b.lhs)] {
                let kept = crate::rules::promql::output_labels(side);
                let metrics: Vec<String> = crate::rules::promql::selectors(other)
                    .into_iter()
                    .filter_map(metric_name)
                    .collect();
                for selector in crate::rules::promql::selectors(side) {
                    for m in own_matchers(selector) {
                        if kept.keeps(&m.name) && !ignored.contains(&m.name) {
                            for metric in &metrics {
                                into.entry(metric.clone())
                                    .or_default()
                                    .insert(m.name.clone());
                            }
                        }
                    }
                }
            }
        }
        Expr::VectorSelector(v) => {
            if let Ok(recording) = recording_for(recordings, v) {
                matched_labels(&recording.expr, recordings, depth + 1, into);
            }
        }
        _ => {}
    });
}

/// The labels `on(…)`, `ignoring(…)`, `group_left(…)` and `by(…)` name,
/// recording rules followed.
fn join_labels(expr: &Expr, recordings: &Recordings, depth: u8) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if depth > 8 {
        return names;
    }
    crate::rules::promql::walk(expr, &mut |node| match node {
        Expr::Aggregate(a) => {
            if let Some(promql_parser::parser::LabelModifier::Include(by)) = &a.modifier {
                names.extend(by.labels.iter().cloned());
            }
        }
        Expr::Binary(b) => {
            if let Some(modifier) = &b.modifier {
                if let Some(matching) = &modifier.matching {
                    names.extend(matching.labels().labels.iter().cloned());
                }
                if let promql_parser::parser::VectorMatchCardinality::ManyToOne(labels)
                | promql_parser::parser::VectorMatchCardinality::OneToMany(labels) =
                    &modifier.card
                {
                    names.extend(labels.labels.iter().cloned());
                }
            }
        }
        Expr::VectorSelector(v) => {
            if let Ok(recording) = recording_for(recordings, v) {
                names.extend(join_labels(&recording.expr, recordings, depth + 1));
            }
        }
        _ => {}
    });
    names
}

/// Every raw selector of `expr`, with how it is read.
fn collect(
    expr: &Expr,
    how: How,
    recordings: &Recordings,
    depth: u8,
    into: &mut Vec<Use>,
) -> Result<(), Unwritable> {
    let context = how.context;
    let with = |context| How { context, ..how };
    let push = |v: &VectorSelector, into: &mut Vec<Use>| {
        let up = metric_name(v).as_deref() == Some("up");
        into.push(Use {
            selector: v.clone(),
            context,
            counted: how.counted || (how.summed && up),
        });
    };
    if depth > 8 {
        return Err(Unwritable::Recording(
            "it reads through more than 8 recording rules".into(),
        ));
    }
    match expr {
        Expr::VectorSelector(v) => {
            let name = metric_name(v).unwrap_or_default();
            if recordings.contains_key(&name) {
                let recording =
                    recording_for(recordings, v).map_err(|u| Unwritable::Recording(u.text()))?;
                return collect(&recording.expr, how, recordings, depth + 1, into);
            }
            push(v, into);
        }
        Expr::MatrixSelector(m) => {
            let name = metric_name(&m.vs).unwrap_or_default();
            if recordings.contains_key(&name) {
                return Err(Unwritable::Recording(format!(
                    "it reads the recorded series `{}` through a window, which needs every earlier evaluation of its rule",
                    m.vs
                )));
            }
            push(&m.vs, into);
        }
        Expr::Call(c) => {
            let inner = call_context(c.func.name, context);
            for (k, arg) in c.args.args.iter().enumerate() {
                // histogram_quantile's first argument is the quantile.
                if c.func.name == "histogram_quantile" && k == 0 {
                    continue;
                }
                collect(arg, with(inner), recordings, depth, into)?;
            }
        }
        Expr::Binary(b) => {
            let (lhs, rhs) = clock_contexts(b, context);
            collect(&b.lhs, with(lhs), recordings, depth, into)?;
            collect(&b.rhs, with(rhs), recordings, depth, into)?;
        }
        Expr::Aggregate(a) => {
            let op = Aggregation::of(a.op);
            let inner = How {
                counted: how.counted || op == Some(Aggregation::Count),
                summed: how.summed || op == Some(Aggregation::Sum),
                ..how
            };
            collect(&a.expr, inner, recordings, depth, into)?
        }
        Expr::Paren(p) => collect(&p.expr, how, recordings, depth, into)?,
        Expr::Unary(u) => collect(&u.expr, how, recordings, depth, into)?,
        Expr::Subquery(s) => collect(&s.expr, with(Context::Gauge), recordings, depth, into)?,
        _ => {}
    }
    Ok(())
}

/// How a function's arguments are read, inside `context`.
fn call_context(name: &str, context: Context) -> Context {
    match name {
        // A histogram's buckets are counters read through rate().
        "rate" | "irate" | "increase" if context == Context::Histogram => context,
        "rate" | "irate" | "increase" | "resets" => Context::Counter,
        "histogram_quantile" => Context::Histogram,
        // A timestamp's last value over a window is still one.
        name if name.ends_with("_over_time")
            && matches!(context, Context::Timestamp | Context::Deadline) =>
        {
            context
        }
        "delta" | "idelta" | "deriv" | "predict_linear" | "changes" => Context::Gauge,
        name if name.ends_with("_over_time") => Context::Gauge,
        _ => context,
    }
}

/// How the two sides of `b` are read: `time() - x` makes x a timestamp,
/// `x - time()` a deadline.
fn clock_contexts(b: &promql_parser::parser::BinaryExpr, context: Context) -> (Context, Context) {
    let is_clock = |e: &Expr| matches!(unparen(e), Expr::Call(c) if c.func.name == "time");
    let minus = BinaryOp::arithmetic(b.op) == Some(Arithmetic::Sub);
    let lhs = if minus && is_clock(&b.rhs) {
        Context::Deadline
    } else {
        context
    };
    let rhs = if minus && is_clock(&b.lhs) {
        Context::Timestamp
    } else {
        context
    };
    (lhs, rhs)
}

/// The raw selectors `expr` needs series of (recording rules followed;
/// not those only `absent()` asks about), each once, as written.
pub fn required_selectors(expr: &Expr, recordings: &Recordings) -> Vec<String> {
    let mut found = Vec::new();
    required(expr, recordings, 0, &mut found);
    found.sort();
    found.dedup();
    found
}

fn required(expr: &Expr, recordings: &Recordings, depth: u8, into: &mut Vec<String>) {
    if depth > 8 {
        return;
    }
    let mut selector = |v: &VectorSelector| {
        let name = metric_name(v).unwrap_or_default();
        match recording_for(recordings, v) {
            Ok(recording) if recordings.contains_key(&name) => {
                required(&recording.expr, recordings, depth + 1, into)
            }
            _ if recordings.contains_key(&name) => {}
            _ => into.push(v.to_string()),
        }
    };
    match expr {
        Expr::VectorSelector(v) => selector(v),
        Expr::MatrixSelector(m) => selector(&m.vs),
        Expr::Call(c) if c.func.name.starts_with("absent") => {}
        Expr::Call(c) => c
            .args
            .args
            .iter()
            .for_each(|a| required(a, recordings, depth, into)),
        Expr::Binary(b) => {
            required(&b.lhs, recordings, depth, into);
            required(&b.rhs, recordings, depth, into);
        }
        Expr::Aggregate(a) => required(&a.expr, recordings, depth, into),
        Expr::Paren(p) => required(&p.expr, recordings, depth, into),
        Expr::Unary(u) => required(&u.expr, recordings, depth, into),
        Expr::Subquery(s) => required(&s.expr, recordings, depth, into),
        _ => {}
    }
}

/// The selectors of one metric, each once (by text).
fn distinct<'a>(used: &[&'a Use]) -> Vec<&'a VectorSelector> {
    let mut seen = BTreeSet::new();
    used.iter()
        .map(|u| &u.selector)
        .filter(|s| seen.insert(matchers_text(s)))
        .collect()
}

fn matchers_text(selector: &VectorSelector) -> String {
    let mut all: Vec<String> = own_matchers(selector).map(|m| m.to_string()).collect();
    all.sort();
    all.join(",")
}

/// A selector's matchers, without the name (and without `le`, which a
/// histogram's buckets set themselves).
fn own_matchers(selector: &VectorSelector) -> impl Iterator<Item = &Matcher> {
    selector
        .matchers
        .matchers
        .iter()
        .chain(selector.matchers.or_matchers.iter().flatten())
        .filter(|m| m.name != "__name__")
}

/// One value per label name that every matcher of the alert on it accepts,
/// where there is one: joins meet on it.
fn canonical_values(uses: &[Use]) -> BTreeMap<String, String> {
    let mut by_name: BTreeMap<&str, Vec<&Matcher>> = BTreeMap::new();
    for u in uses {
        for m in own_matchers(&u.selector) {
            by_name.entry(&m.name).or_default().push(m);
        }
    }
    by_name
        .into_iter()
        .filter_map(|(name, on)| Some((name.to_string(), pick(name, &on, None)?)))
        .collect()
}

/// A value every matcher of `on` accepts and `not` refuses: the value such
/// a label usually has when it is accepted (`status!~"5.."` → `200`, not
/// the first code that passes), else a name-based one when only negative
/// matchers speak (`container!=""` → `container-1`).
fn pick(name: &str, on: &[&Matcher], not: Option<&Matcher>) -> Option<String> {
    let only_negative = on
        .iter()
        .all(|m| matches!(m.op, MatchOp::NotEqual | MatchOp::NotRe(_)));
    let accepts = |v: &str| on.iter().all(|m| m.is_match(v)) && not.is_none_or(|n| !n.is_match(v));
    if let Some(usual) = usual_value(name).filter(|v| accepts(v)) {
        return Some(usual.to_string());
    }
    let friendly = format!("{name}-1");
    if only_negative && accepts(&friendly) {
        return Some(friendly);
    }
    value_for(on, not)
}

/// What a label of this name holds on an ordinary, healthy request.
fn usual_value(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    if name.starts_with("grpc_") {
        (name == "grpc_code").then_some("OK")
    } else if name == "method" || name.ends_with("_method") {
        Some("GET")
    } else if name == "code" || name.contains("status") || name.ends_with("_code") {
        Some("200")
    } else {
        None
    }
}

/// Label values for the series of one metric: one matching every selector
/// when there is one (else one per selector), and for each pair of
/// selectors one the second matches and the first does not (the 2xx
/// series beside the 5xx one).
fn label_sets(
    selectors: &[&VectorSelector],
    canonical: &BTreeMap<String, String>,
    kind: &Kind,
) -> Result<Vec<BTreeMap<String, String>>, Unwritable> {
    let histogram = matches!(kind, Kind::Histogram { .. });
    let keep = |m: &&Matcher| !(histogram && m.name == "le");
    let all: Vec<&Matcher> = selectors
        .iter()
        .flat_map(|s| own_matchers(s))
        .filter(keep)
        .collect();
    let mut sets = Vec::new();
    match labels_for(&all, None, canonical) {
        Some(common) => sets.push(common),
        None => {
            for s in selectors {
                let on: Vec<&Matcher> = own_matchers(s).filter(keep).collect();
                let labels = labels_for(&on, None, canonical)
                    .ok_or_else(|| Unwritable::NoLabels(s.to_string()))?;
                if !sets.contains(&labels) {
                    sets.push(labels);
                }
            }
        }
    }
    for a in selectors {
        for b in selectors {
            if std::ptr::eq(*a, *b) || sets.len() >= 4 {
                continue;
            }
            let on: Vec<&Matcher> = own_matchers(b).filter(keep).collect();
            let only_a = own_matchers(a)
                .filter(keep)
                .find(|m| !on.iter().any(|n| n.to_string() == m.to_string()));
            let Some(avoid) = only_a else { continue };
            let already = sets.iter().any(|set| {
                on.iter()
                    .all(|m| m.is_match(set.get(&m.name).map_or("", String::as_str)))
                    && !avoid.is_match(set.get(&avoid.name).map_or("", String::as_str))
            });
            if already {
                continue;
            }
            if let Some(labels) = labels_for(&on, Some(avoid), canonical) {
                sets.push(labels);
            }
        }
    }
    Ok(sets)
}

/// Label values satisfying `all` (and not `avoid`), the canonical value
/// first where it does.
fn labels_for(
    all: &[&Matcher],
    avoid: Option<&Matcher>,
    canonical: &BTreeMap<String, String>,
) -> Option<BTreeMap<String, String>> {
    let mut names: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
    names.extend(avoid.map(|a| a.name.as_str()));
    names.sort_unstable();
    names.dedup();
    let mut labels = BTreeMap::new();
    for name in names {
        let on: Vec<&Matcher> = all.iter().copied().filter(|m| m.name == name).collect();
        let not = avoid.filter(|a| a.name == name);
        let accepts =
            |v: &str| on.iter().all(|m| m.is_match(v)) && not.is_none_or(|n| !n.is_match(v));
        let value = match canonical.get(name) {
            Some(c) if accepts(c) => c.clone(),
            _ => pick(name, &on, not)?,
        };
        // An empty value is an absent label.
        if !value.is_empty() {
            labels.insert(name.to_string(), value);
        }
    }
    Some(labels)
}

/// Roles from the ratios of rates the alert reads: the series that count
/// failures, and totals that count another metric's events too.
fn assign_roles(expr: &Expr, recordings: &Recordings, specs: &mut [SeriesSpec]) {
    let failures_above = numerator_counts_failures(expr);
    for (num, den) in ratio_pairs(expr, recordings) {
        // `rate(x_sum) / rate(x_count)`: a mean, not a share of events.
        let (n, d) = (
            metric_name(&num).unwrap_or_default(),
            metric_name(&den).unwrap_or_default(),
        );
        if n.ends_with("_sum") && d.ends_with("_count") {
            continue;
        }
        let numerators: Vec<usize> = (0..specs.len())
            .filter(|&i| specs[i].selected_by(&num))
            .collect();
        let num_metric = metric_name(&num).unwrap_or_default();
        for (i, spec) in specs.iter_mut().enumerate() {
            if !spec.selected_by(&den) {
                continue;
            }
            let counts_failures = numerators.contains(&i) == failures_above;
            if spec.role.is_none() {
                spec.role = Some(if counts_failures {
                    Role::Failures
                } else {
                    Role::Others
                });
            }
            let gives_way: Vec<usize> = if spec.metric != num_metric {
                // A total: it counts the numerator's events, which take
                // the place of its own.
                for &n in &numerators {
                    if !spec.includes.contains(&n) {
                        spec.includes.push(n);
                    }
                }
                numerators.clone()
            } else {
                Vec::new()
            };
            for n in gives_way {
                if !spec.replaced_by.contains(&n) {
                    spec.replaced_by.push(n);
                }
            }
        }
        // Within one metric, the series the numerator does not count give
        // way to those it does.
        let failing: Vec<usize> = (0..specs.len())
            .filter(|&i| specs[i].role == Some(Role::Failures) && specs[i].metric == num_metric)
            .collect();
        for spec in specs.iter_mut() {
            if spec.role == Some(Role::Others) && spec.metric == num_metric {
                for &n in &failing {
                    if !spec.replaced_by.contains(&n) {
                        spec.replaced_by.push(n);
                    }
                }
            }
        }
        for &n in &numerators {
            if specs[n].role.is_none() {
                specs[n].role = Some(if failures_above {
                    Role::Failures
                } else {
                    Role::Others
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::parser::parse;

    fn of(q: &str) -> Vec<SeriesSpec> {
        series(&parse(q).unwrap(), &Recordings::new(), &|_| {
            vec![0.1, 0.5, 1.0]
        })
        .unwrap()
    }

    #[test]
    fn a_ratio_of_one_metric_gets_a_failing_and_a_succeeding_series() {
        let s = of(
            r#"sum by (job) (rate(http_requests_total{job="api",code=~"5.."}[5m])) / sum by (job) (rate(http_requests_total{job="api"}[5m])) > 0.05"#,
        );
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[0].labels["code"], "500");
        assert_eq!(s[0].role, Some(Role::Failures));
        assert_eq!(s[1].labels["job"], "api");
        assert!(!s[1].labels.get("code").is_some_and(|c| c.starts_with('5')));
        assert_eq!(s[1].role, Some(Role::Others));
    }

    #[test]
    fn a_series_the_numerator_refuses_gets_the_usual_healthy_value() {
        let s = of(
            r#"sum(rate(requests_total{status!~"5.."}[5m])) / sum(rate(requests_total[5m])) < 0.95"#,
        );
        let statuses: Vec<&str> = s
            .iter()
            .filter_map(|x| x.labels.get("status").map(String::as_str))
            .collect();
        assert!(statuses.contains(&"200"), "{s:?}");
        assert!(!statuses.iter().any(|v| v.starts_with("status-")), "{s:?}");
        let s = of(r#"sum(rate(rpc_total{grpc_code!="OK", grpc_method!=""}[5m])) > 1"#);
        assert_ne!(s[0].labels["grpc_code"], "OK");
        // A gRPC method is no HTTP verb.
        assert_eq!(s[0].labels["grpc_method"], "grpc_method-1");
    }

    #[test]
    fn two_metrics_a_total_counts_the_errors_too() {
        let s = of("sum(rate(errors_total[5m])) / sum(rate(requests_total[5m])) > 0.05");
        let errors = s.iter().position(|x| x.metric == "errors_total").unwrap();
        let total = s.iter().find(|x| x.metric == "requests_total").unwrap();
        assert_eq!(total.includes, vec![errors]);
        assert_eq!(s[errors].role, Some(Role::Failures));
    }

    #[test]
    fn joins_meet_on_one_value_and_kinds_follow_the_context() {
        let s = of(
            r#"max by (pod) (container_memory_working_set_bytes{container!="", pod=~"api-gateway.*"} / on (pod, container) (container_spec_memory_limit_bytes{container!=""} > 0)) > 0.9"#,
        );
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].labels["container"], s[1].labels["container"]);
        assert_eq!(s[0].labels["container"], "container-1");
        assert!(s[1].labels["pod"].starts_with("api-gateway"));
        assert!(s.iter().all(|x| x.kind == Kind::Gauge));
        let s = of("histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m]))) > 0.5");
        assert_eq!(s[0].members().len(), 4);
        assert_eq!(s[0].member_count(), 4);
        let s = of("time() - last_success_timestamp_seconds > 3600");
        assert_eq!(s[0].kind, Kind::Timestamp);
        assert!(matches!(
            series(
                &parse("histogram_quantile(0.9, sum(rate(h_seconds[5m]))) > 1").unwrap(),
                &Recordings::new(),
                &|_| vec![]
            ),
            Err(Unwritable::Native(_))
        ));
    }
}
