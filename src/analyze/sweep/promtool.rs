//! The sweep's questions to Prometheus's rule engine (`engine` asks
//! them): for this alert, this fault, this phase, does the condition hold
//! at case time t? Here: each alert rewritten so that probes stay apart
//! (`alert`: the alert and every recording rule it reads, in one group,
//! recording rules first, keeping the `firedrill_probe` label through
//! aggregations (`sum` becomes `sum by (firedrill_probe)`) and vector
//! matching (`on(…)` gains it); `absent()` and `vector()` asked per probe
//! through a marker series when the caller allows it), and the counters a
//! fault writes (`Feed`). The alert is given no `for`: it fires at an
//! evaluation exactly when its condition holds there; `for` and
//! `keep_firing_for` are applied afterwards (`search`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use promql_parser::parser::{Expr, LabelModifier};

use super::cases::{Case, Counters};
use super::engine::{self, Alert, Answer, Feed, Question, Reads, Sample, Written, MARKER, PROBE};
use super::error::{SweepError, Unprobeable};
use super::synth::Series;
use crate::analyze::condition::{recording_for, Recording, Recordings};
use crate::rules::promql::{metric_name, walk};
use crate::rules::RuleDef;

/// One alert as the sweep asks promtool about it: rewritten, and the
/// series its ratio reads.
#[derive(Debug, Clone)]
pub struct Subject {
    pub alert: Alert,
    /// The series it reads, as the sweep writes them.
    pub series: Vec<Series>,
}

/// Whether `absent()` and `vector()` may be asked per probe, through a
/// marker series each probe gets (the sweep's counters do not need them;
/// coverage's provocations do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Markers {
    Refuse,
    Allow,
}

/// `alert` (its expression parsed) as promtool evaluates it apart from the
/// others, named by `index`.
pub fn alert(
    index: usize,
    alert: &RuleDef,
    expr: &Expr,
    recordings: &Recordings,
    scrape: f64,
    markers: Markers,
) -> Result<Alert, Unprobeable> {
    let chain = chain(expr, recordings)?;
    let mut reads = Reads {
        sparse: true,
        metrics: Some(BTreeSet::new()),
        ..Reads::default()
    };
    let mut rewritten = Vec::new();
    let mut marked = false;
    for (name, recording) in &chain {
        read_windows(&recording.expr, recordings, &mut reads)?;
        let (expr, uses) = multiplexed_with(&recording.expr, markers)?;
        marked |= uses;
        rewritten.push(RuleDef {
            alert: None,
            record: Some(name.clone()),
            expr: expr.to_string(),
            for_: None,
            keep_firing_for: None,
            labels: recording.labels.clone(),
            annotations: BTreeMap::new(),
        });
    }
    read_windows(expr, recordings, &mut reads)?;
    let (multiplexed, uses) = multiplexed_with(expr, markers)?;
    let rule = RuleDef {
        alert: Some(format!("firedrill_sweep_{index}")),
        record: None,
        expr: multiplexed.to_string(),
        for_: None,
        keep_firing_for: None,
        labels: alert.labels.clone(),
        annotations: BTreeMap::new(),
    };
    if marked || uses {
        if let Some(metrics) = &mut reads.metrics {
            metrics.insert(MARKER.to_string());
        }
    }
    Ok(Alert {
        rule,
        recordings: rewritten,
        reads,
        scrape,
        marked: marked || uses,
    })
}

/// Builds the sweep's subject for `alert`, with `index` naming it.
pub fn subject(
    index: usize,
    rule: &RuleDef,
    expr: &Expr,
    recordings: &Recordings,
    series: Vec<Series>,
    scrape: f64,
) -> Result<Subject, Unprobeable> {
    Ok(Subject {
        alert: alert(index, rule, expr, recordings, scrape, Markers::Refuse)?,
        series,
    })
}

/// The recording rules `expr` reads, transitively, each after the ones it
/// reads (so one group evaluates them in order).
fn chain<'a>(
    expr: &Expr,
    recordings: &'a Recordings,
) -> Result<Vec<(String, &'a Recording)>, Unprobeable> {
    let mut order: Vec<(String, &'a Recording)> = Vec::new();
    visit(expr, recordings, &mut order, 0)?;
    Ok(order)
}

fn visit<'a>(
    expr: &Expr,
    recordings: &'a Recordings,
    order: &mut Vec<(String, &'a Recording)>,
    depth: u8,
) -> Result<(), Unprobeable> {
    if depth > 8 {
        return Err(Unprobeable::TooDeep);
    }
    let mut found = Vec::new();
    walk(expr, &mut |node| {
        if let Expr::VectorSelector(v) = node {
            let name = metric_name(v).unwrap_or_default();
            if recordings.contains_key(&name) {
                found.push((name, recording_for(recordings, v)));
            }
        }
    });
    for (name, recording) in found {
        let recording = recording.map_err(Unprobeable::Recording)?;
        if order.iter().any(|(_, r)| std::ptr::eq(*r, recording)) {
            continue;
        }
        visit(&recording.expr, recordings, order, depth + 1)?;
        if !order.iter().any(|(_, r)| std::ptr::eq(*r, recording)) {
            order.push((name, recording));
        }
    }
    Ok(())
}

/// Notes what the windows of `expr` read from raw series.
fn read_windows(
    expr: &Expr,
    recordings: &Recordings,
    reads: &mut Reads,
) -> Result<(), Unprobeable> {
    let seconds = |d: std::time::Duration| d.as_secs_f64();
    let offset = |o: &Option<promql_parser::parser::Offset>| match o {
        Some(promql_parser::parser::Offset::Pos(d)) => seconds(*d),
        Some(promql_parser::parser::Offset::Neg(d)) => -seconds(*d),
        None => 0.0,
    };
    let mut problem = None;
    let mut noted = Vec::new();
    walk(expr, &mut |node| match node {
        Expr::MatrixSelector(m) => {
            if recordings.contains_key(&metric_name(&m.vs).unwrap_or_default()) {
                problem = Some(Unprobeable::RecordedThroughWindow(m.vs.to_string()));
            }
            noted.push(metric_name(&m.vs));
            reads.ranges.push((seconds(m.range), offset(&m.vs.offset)));
        }
        Expr::VectorSelector(v)
            if !recordings.contains_key(&metric_name(v).unwrap_or_default()) =>
        {
            noted.push(metric_name(v));
            reads.ranges.push((0.0, offset(&v.offset)));
        }
        Expr::Subquery(s) => {
            reads.sparse = false;
            reads.whole = true;
            reads.ranges.push((seconds(s.range), offset(&s.offset)));
        }
        Expr::Call(c) => {
            let over_range = c
                .args
                .args
                .iter()
                .any(|a| matches!(**a, Expr::MatrixSelector(_)));
            if over_range
                && !matches!(
                    c.func.name,
                    "rate" | "increase" | "irate" | "delta" | "idelta"
                )
            {
                reads.sparse = false;
            }
        }
        _ => {}
    });
    for name in noted {
        match (name, &mut reads.metrics) {
            (Some(name), Some(metrics)) => {
                metrics.insert(name);
            }
            (None, metrics) => *metrics = None,
            (Some(_), None) => {}
        }
    }
    problem.map_or(Ok(()), Err)
}

/// `expr` rewritten so that each probe's series stay apart, and whether it
/// reads the marker.
fn multiplexed_with(expr: &Expr, markers: Markers) -> Result<(Expr, bool), Unprobeable> {
    let mut expr = expr.clone();
    let mut rewriting = Rewriting {
        markers,
        problem: None,
        marked: false,
    };
    rewriting.rewrite(&mut expr);
    match rewriting.problem {
        Some(problem) => Err(problem),
        None => Ok((expr, rewriting.marked)),
    }
}

fn keep_probe(modifier: &mut Option<LabelModifier>) {
    match modifier {
        None => {
            *modifier = Some(LabelModifier::Include(promql_parser::label::Labels::new(
                vec![PROBE],
            )))
        }
        Some(LabelModifier::Include(labels)) => {
            if !labels.labels.iter().any(|l| l == PROBE) {
                labels.labels.push(PROBE.to_string());
            }
        }
        Some(LabelModifier::Exclude(labels)) => labels.labels.retain(|l| l != PROBE),
    }
}

struct Rewriting {
    markers: Markers,
    problem: Option<Unprobeable>,
    marked: bool,
}

impl Rewriting {
    fn rewrite(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Aggregate(a) => {
                keep_probe(&mut a.modifier);
                self.rewrite(&mut a.expr);
                if let Some(param) = &mut a.param {
                    self.rewrite(param);
                }
            }
            Expr::Binary(b) => {
                if let Some(modifier) = &mut b.modifier {
                    if let Some(LabelModifier::Include(on)) = &mut modifier.matching {
                        if !on.labels.iter().any(|l| l == PROBE) {
                            on.labels.push(PROBE.to_string());
                        }
                    }
                }
                self.rewrite(&mut b.lhs);
                self.rewrite(&mut b.rhs);
            }
            Expr::Unary(u) => self.rewrite(&mut u.expr),
            Expr::Paren(p) => self.rewrite(&mut p.expr),
            Expr::Subquery(s) => self.rewrite(&mut s.expr),
            Expr::Call(c) => {
                for arg in &mut c.args.args {
                    self.rewrite(arg);
                }
                let name = c.func.name;
                if !matches!(name, "absent" | "absent_over_time" | "scalar" | "vector") {
                    return;
                }
                if name == "scalar" || self.markers == Markers::Refuse {
                    self.problem = Some(Unprobeable::Global(name));
                    return;
                }
                let argument = c
                    .args
                    .args
                    .first()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                // absent(x): the marker where x has no series, per probe.
                let text = match name {
                    "absent" => format!("({MARKER} unless on ({PROBE}) ({argument}))"),
                    "absent_over_time" => {
                        format!("({MARKER} unless on ({PROBE}) count_over_time({argument}))")
                    }
                    _ => format!("({MARKER} * 0 + ({argument}))"),
                };
                match promql_parser::parser::parse(&text) {
                    Ok(parsed) => {
                        *expr = parsed;
                        self.marked = true;
                    }
                    Err(_) => self.problem = Some(Unprobeable::Global(name)),
                }
            }
            _ => {}
        }
    }
}

/// One question: does subject `subject`'s condition hold `time` seconds
/// after `case` began, with samples at `sample + k·S`?
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub subject: usize,
    pub case: Case,
    pub sample: f64,
    pub time: f64,
}

/// Requests per second of the synthesized traffic.
pub struct Traffic {
    pub rate: f64,
}

/// Answers every probe: whether its subject's alert fires at its instant.
pub fn answer(
    promtool: &Path,
    subjects: &[Subject],
    probes: &[Probe],
    traffic: &Traffic,
    dir: &Path,
) -> Result<Vec<bool>, SweepError> {
    if probes.is_empty() {
        return Ok(Vec::new());
    }
    let alerts: Vec<Alert> = subjects.iter().map(|s| s.alert.clone()).collect();
    let questions: Vec<Question> = probes
        .iter()
        .map(|p| Question {
            alert: p.subject,
            sample: p.sample,
            time: p.time,
            dense: p.case.history.is_some(),
        })
        .collect();
    let feed = Faults {
        subjects,
        probes,
        traffic,
    };
    engine::answer(promtool, &alerts, &questions, &feed, dir)?
        .into_iter()
        .map(|answer| match answer {
            Answer::Holds => Ok(true),
            Answer::Silent => Ok(false),
            Answer::Failed(output) => Err(SweepError::RuleFailed { output }),
        })
        .collect()
}

/// The counters each probe's fault writes.
struct Faults<'a> {
    subjects: &'a [Subject],
    probes: &'a [Probe],
    traffic: &'a Traffic,
}

impl Feed for Faults<'_> {
    fn written(&self, n: usize, times: &[(u64, f64)], origin: f64) -> Vec<Written> {
        let probe = &self.probes[n];
        // Traffic started at the group's first instant.
        let start = origin;
        let counters = Counters {
            rate: self.traffic.rate,
            case: probe.case,
        };
        self.subjects[probe.subject]
            .series
            .iter()
            .map(|series| Written {
                metric: series.metric.clone(),
                labels: series.labels.clone(),
                samples: times
                    .iter()
                    .filter(|(_, u)| counters.exists(series.role, *u))
                    .map(|&(i, u)| (i, Sample::Value(counters.value(series.role, start, u))))
                    .collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::parser::parse;

    #[test]
    fn aggregations_and_matching_keep_the_probe_label() {
        let e = parse(
            r#"sum(rate(x{a="b"}[5m])) / on (job) sum by (job) (rate(x[5m])) > 0.1 and max(y) without (w) > 1"#,
        )
        .unwrap();
        let text = multiplexed_with(&e, Markers::Refuse).unwrap().0.to_string();
        assert!(
            text.contains("sum by (firedrill_probe) (rate(x{a=\"b\"}[5m]))"),
            "{text}"
        );
        assert!(text.contains("on (job, firedrill_probe)"), "{text}");
        assert!(text.contains("sum by (job, firedrill_probe)"), "{text}");
        assert!(text.contains("max without (w) (y)"), "{text}");
        assert!(multiplexed_with(&parse("absent(up)").unwrap(), Markers::Refuse).is_err());
        let (marked, uses) = multiplexed_with(
            &parse(r#"absent(up{job="a"} == 1) or ((count(x) or vector(0)) < 1)"#).unwrap(),
            Markers::Allow,
        )
        .unwrap();
        let text = marked.to_string();
        assert!(uses);
        assert!(
            text.contains("firedrill_probe_present unless on (firedrill_probe)"),
            "{text}"
        );
        assert!(text.contains("firedrill_probe_present * 0 + (0)"), "{text}");
        assert!(multiplexed_with(&parse("x > scalar(y)").unwrap(), Markers::Allow).is_err());
    }
}
