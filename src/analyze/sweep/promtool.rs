//! Asking Prometheus's own rule engine (`promtool test rules`) whether an
//! alert's condition holds at given instants after a fault began.
//!
//! A probe is one question: for this alert, this fault, this phase, does
//! the condition hold at case time t? Probes are answered in bulk. Every
//! probe gets its own copy of the input series, labelled
//! `firedrill_probe="<n>"` and shifted in time so that its instant t falls
//! on the one evaluation promtool makes after its first (the test file's
//! `evaluation_interval` is that far away); the rules — the alert and every
//! recording rule it reads, in one group, recording rules first — are
//! rewritten to keep that label through aggregations (`sum` becomes `sum by
//! (firedrill_probe)`) and vector matching (`on(…)` gains it), so thousands
//! of probes are one evaluation of one rule group. The alert is given no
//! `for`: it fires at an evaluation exactly when its condition holds there;
//! `for` and `keep_firing_for` are applied afterwards (`search`).
//!
//! Samples: for `rate`, `increase`, `irate`, `delta` and `idelta` over
//! counters, only the first and last samples of each window (and the one
//! before the last) change the result — the middle ones cancel, and the
//! extrapolation threshold (1.1 × the mean interval) grows with fewer
//! samples but still covers a start or end less than one scrape away
//! (promql/functions.go `extrapolatedRate`) — so only those are written.
//! Other functions get every sample of their windows.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, ExitStatus};

use promql_parser::parser::{Expr, LabelModifier};

use super::cases::{Case, Counters};
use super::error::{SweepError, Unprobeable};
use super::synth::Series;
use crate::analyze::condition::{recording_for, Recording, Recordings};
use crate::rules::promql::{metric_name, walk};
use crate::rules::{Group, RuleDef};

/// The label that keeps probes apart.
pub const PROBE: &str = "firedrill_probe";

/// One alert as promtool evaluates it.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The rewritten alert (`firedrill_sweep_<n>`, no `for`).
    pub rule: RuleDef,
    /// The recording rules it reads, rewritten, inputs first.
    pub recordings: Vec<RuleDef>,
    /// The series it reads, as the sweep writes them.
    pub series: Vec<Series>,
    /// What its windows need from the samples.
    pub reads: Reads,
    /// Its scrape interval, seconds.
    pub scrape: f64,
}

/// What an expression's windows read from the raw series.
#[derive(Debug, Clone, Default)]
pub struct Reads {
    /// (window, offset) in seconds of every selector of a raw series (a
    /// window of 0: an instant selector, the last sample).
    pub ranges: Vec<(f64, f64)>,
    /// Only first and last samples matter (counters under rate and its kin).
    pub sparse: bool,
}

impl Reads {
    /// How far back the windows reach, seconds.
    pub fn reach(&self) -> f64 {
        self.ranges
            .iter()
            .map(|(w, o)| w + o)
            .fold(0.0, f64::max)
            // An instant selector looks back up to 5 minutes.
            .max(300.0)
    }
}

/// Builds the subject for `alert` (its expression parsed), with `index`
/// naming it.
pub fn subject(
    index: usize,
    alert: &RuleDef,
    expr: &Expr,
    recordings: &Recordings,
    series: Vec<Series>,
    scrape: f64,
) -> Result<Subject, Unprobeable> {
    let chain = chain(expr, recordings)?;
    let mut reads = Reads {
        sparse: true,
        ..Reads::default()
    };
    let mut rewritten = Vec::new();
    for (name, recording) in &chain {
        read_windows(&recording.expr, recordings, &mut reads)?;
        rewritten.push(RuleDef {
            alert: None,
            record: Some(name.clone()),
            expr: multiplexed(&recording.expr)?.to_string(),
            for_: None,
            keep_firing_for: None,
            labels: recording.labels.clone(),
            annotations: BTreeMap::new(),
        });
    }
    read_windows(expr, recordings, &mut reads)?;
    let rule = RuleDef {
        alert: Some(format!("firedrill_sweep_{index}")),
        record: None,
        expr: multiplexed(expr)?.to_string(),
        for_: None,
        keep_firing_for: None,
        labels: alert.labels.clone(),
        annotations: BTreeMap::new(),
    };
    Ok(Subject {
        rule,
        recordings: rewritten,
        series,
        reads,
        scrape,
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
    walk(expr, &mut |node| match node {
        Expr::MatrixSelector(m) => {
            if recordings.contains_key(&metric_name(&m.vs).unwrap_or_default()) {
                problem = Some(Unprobeable::RecordedThroughWindow(m.vs.to_string()));
            }
            reads.ranges.push((seconds(m.range), offset(&m.vs.offset)));
        }
        Expr::VectorSelector(v)
            if !recordings.contains_key(&metric_name(v).unwrap_or_default()) =>
        {
            reads.ranges.push((0.0, offset(&v.offset)));
        }
        Expr::Subquery(s) => {
            reads.sparse = false;
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
    problem.map_or(Ok(()), Err)
}

/// `expr` rewritten so that each probe's series stay apart.
pub fn multiplexed(expr: &Expr) -> Result<Expr, Unprobeable> {
    let mut expr = expr.clone();
    let mut problem = None;
    rewrite(&mut expr, &mut problem);
    problem.map_or(Ok(expr), Err)
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

fn rewrite(expr: &mut Expr, problem: &mut Option<Unprobeable>) {
    match expr {
        Expr::Aggregate(a) => {
            keep_probe(&mut a.modifier);
            rewrite(&mut a.expr, problem);
            if let Some(param) = &mut a.param {
                rewrite(param, problem);
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
            rewrite(&mut b.lhs, problem);
            rewrite(&mut b.rhs, problem);
        }
        Expr::Unary(u) => rewrite(&mut u.expr, problem),
        Expr::Paren(p) => rewrite(&mut p.expr, problem),
        Expr::Subquery(s) => rewrite(&mut s.expr, problem),
        Expr::Call(c) => {
            if matches!(c.func.name, "absent" | "absent_over_time" | "scalar") {
                *problem = Some(Unprobeable::Global(c.func.name));
            }
            for arg in &mut c.args.args {
                rewrite(arg, problem);
            }
        }
        _ => {}
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
    let io = |source| SweepError::Io {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::write(dir.join("rules.yaml"), rule_file(subjects)?).map_err(io)?;
    let files = write_tests(subjects, probes, traffic, dir)?;
    let run = |source| SweepError::PromtoolRun {
        promtool: promtool.to_path_buf(),
        source,
    };
    let running: Vec<std::process::Child> = files
        .iter()
        .filter(|f| !f.is_empty())
        .map(|f| {
            Command::new(promtool)
                .arg("test")
                .arg("rules")
                .args(f)
                .current_dir(dir)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .map_err(run)
        })
        .collect::<Result<_, _>>()?;
    let mut fired = vec![false; probes.len()];
    for child in running {
        let output = child.wait_with_output().map_err(run)?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let answers = parse_answers(&text, output.status, probes, subjects)?;
        for (slot, answer) in fired.iter_mut().zip(answers) {
            *slot |= answer;
        }
    }
    Ok(fired)
}

/// Writes the test files for `probes` into `dir`, and returns their names
/// split among the promtool processes to run (one per core, at most 4).
fn write_tests(
    subjects: &[Subject],
    probes: &[Probe],
    traffic: &Traffic,
    dir: &Path,
) -> Result<Vec<Vec<String>>, SweepError> {
    // One test file per scrape interval and offset of the evaluation after
    // the last sample: the test's one evaluation must fall at that offset.
    let mut classes: BTreeMap<(u64, u64), Vec<usize>> = BTreeMap::new();
    for (n, probe) in probes.iter().enumerate() {
        let s = ms(subjects[probe.subject].scrape);
        let offset = ((probe.time - probe.sample) * 1000.0).round() as i64;
        let delta = offset.rem_euclid(s as i64) as u64;
        classes.entry((s, delta)).or_default().push(n);
    }
    // promtool runs one test file after another on one core: the probes
    // are spread over one process per core.
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let mut files: Vec<Vec<String>> = vec![Vec::new(); workers];
    let mut next = 0;
    for (i, ((s, delta), members)) in classes.iter().enumerate() {
        let parts = if members.len() >= 200 { workers } else { 1 };
        for (k, part) in members.chunks(members.len().div_ceil(parts)).enumerate() {
            let name = format!("test-{i}-{k}.yaml");
            let text = test_file(subjects, probes, part, *s, *delta, traffic);
            std::fs::write(dir.join(&name), text).map_err(|source| SweepError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
            files[next % workers].push(name);
            next += 1;
        }
    }
    Ok(files)
}

fn ms(seconds: f64) -> u64 {
    (seconds * 1000.0).round().max(0.0) as u64
}

fn rule_file(subjects: &[Subject]) -> Result<String, SweepError> {
    let mut rules: Vec<RuleDef> = Vec::new();
    for subject in subjects {
        for recording in &subject.recordings {
            if !rules.contains(recording) {
                rules.push(recording.clone());
            }
        }
    }
    rules.extend(subjects.iter().map(|s| s.rule.clone()));
    crate::rules::render_rule_file(vec![Group {
        name: "firedrill-sweep".into(),
        interval: None,
        limit: None,
        rules,
    }])
    .map_err(SweepError::RuleFile)
}

/// A test file for the probes `members`, whose scrape is `s` ms and whose
/// instants fall `delta` ms after a sample.
fn test_file(
    subjects: &[Subject],
    probes: &[Probe],
    members: &[usize],
    s: u64,
    delta: u64,
    traffic: &Traffic,
) -> String {
    let reach = members
        .iter()
        .map(|n| subjects[probes[*n].subject].reads.reach())
        .fold(0.0, f64::max);
    // The one evaluation after 0: past every window's reach.
    let samples_before = ((reach * 1000.0) as u64).div_ceil(s) + 3;
    let g = samples_before * s + delta;
    let mut text = format!("rule_files: [rules.yaml]\nevaluation_interval: {g}ms\ntests:\n");
    // Each probe's samples: (series, values), written once.
    let written: Vec<Vec<Written>> = members
        .iter()
        .map(|&n| probe_series(subjects, &probes[n], n, g, s, traffic))
        .collect();
    // promtool's engine refuses a query that loads more than 10,000 samples:
    // probes go into test groups small enough (each group is its own
    // database and evaluation). A query reads a window of each series.
    let per_probe = written
        .iter()
        .zip(members)
        .map(|(series, n)| {
            let reads = &subjects[probes[*n].subject].reads;
            series
                .iter()
                .map(|(_, values)| values.len().min(samples_per_window(reads, s)))
                .sum::<usize>()
                * 2
        })
        .max()
        .unwrap_or(1)
        .max(1);
    let chunk = (SAMPLE_BUDGET / per_probe).max(1);
    for (group, samples) in members.chunks(chunk).zip(written.chunks(chunk)) {
        // One sample at 0 opens the test database there: it refuses samples
        // more than 12 hours older than the first it is given, and promtool
        // loads series in no fixed order, but everything at 0 first.
        let _ = writeln!(
            text,
            "  - interval: {s}ms\n    input_series:\n      - series: 'firedrill_sweep_anchor'\n        values: '0'"
        );
        let mut alerts = BTreeSet::new();
        for (&n, series) in group.iter().zip(samples) {
            alerts.insert(probes[n].subject);
            for (selector, values) in series {
                if values.is_empty() {
                    continue;
                }
                let _ = writeln!(
                    text,
                    "      - series: '{}'\n        values: '{}'",
                    selector.replace('\'', "''"),
                    encode(values)
                );
            }
        }
        text.push_str("    alert_rule_test:\n");
        for subject in alerts {
            let _ = writeln!(
                text,
                "      - eval_time: {g}ms\n        alertname: {}\n        exp_alerts: []",
                subjects[subject].rule.alert.as_deref().unwrap_or_default()
            );
        }
    }
    text
}

/// A series as written: its selector, and its samples (group index, value).
type Written = (String, Vec<(u64, f64)>);

/// One probe's series and their samples (group indices and values).
fn probe_series(
    subjects: &[Subject],
    probe: &Probe,
    n: usize,
    g: u64,
    s: u64,
    traffic: &Traffic,
) -> Vec<Written> {
    let subject = &subjects[probe.subject];
    let dense = probe.case.history.is_some();
    let indices = sample_indices(&subject.reads, g, s, dense);
    // Case time of group sample i: i·S − G + t.
    let case_time = |i: u64| (i * s) as f64 / 1000.0 - g as f64 / 1000.0 + probe.time;
    let start = case_time(0);
    let counters = Counters {
        rate: traffic.rate,
        case: probe.case,
    };
    subject
        .series
        .iter()
        .map(|series| {
            let values = indices
                .iter()
                .filter(|&&i| counters.exists(series.role, case_time(i)))
                .map(|&i| (i, counters.value(series.role, start, case_time(i))))
                .collect();
            (series.selector_text((PROBE, &n.to_string())), values)
        })
        .collect()
}

/// Below promtool's limit of 10,000 samples a query may load.
const SAMPLE_BUDGET: usize = 8000;

/// The most samples one series puts into one window.
pub fn samples_per_window(reads: &Reads, s: u64) -> usize {
    if reads.sparse {
        3
    } else {
        ((reads.reach() * 1000.0) as u64 / s.max(1)) as usize + 2
    }
}

/// The samples (group indices, every `s` ms) an evaluation at `g` ms needs.
/// (`dense`: every sample of the reach, for a case whose series begin
/// inside it.)
fn sample_indices(reads: &Reads, g: u64, s: u64, dense: bool) -> Vec<u64> {
    let last = g / s;
    if dense || !reads.sparse {
        let first = last.saturating_sub(((reads.reach() * 1000.0) as u64).div_ceil(s) + 2);
        return (first..=last).collect();
    }
    let mut needed = BTreeSet::new();
    for &(window, offset) in &reads.ranges {
        let end = g as i64 - (offset * 1000.0).round() as i64;
        let s = s as i64;
        let last_in = end.div_euclid(s).max(0);
        needed.insert(last_in as u64);
        needed.insert((last_in - 1).max(0) as u64);
        if window > 0.0 {
            // Prometheus 2 windows are closed on the left: [end − W, end].
            let from = end - (window * 1000.0).round() as i64;
            let first_in = (from + s - 1).div_euclid(s).max(0);
            needed.insert(first_in as u64);
        }
    }
    needed.into_iter().collect()
}

/// promtool's expanding notation: `a+bxn` for runs of a constant step,
/// `_xn` for n missing samples.
fn encode(values: &[(u64, f64)]) -> String {
    let mut tokens: Vec<String> = Vec::new();
    let mut next = 0u64;
    let mut k = 0;
    while k < values.len() {
        let (i, v) = values[k];
        if i > next {
            tokens.push(format!("_x{}", i - next));
        }
        // Extend a run of consecutive samples with one step.
        let mut run = 1;
        if k + 1 < values.len() && values[k + 1].0 == i + 1 {
            let step = values[k + 1].1 - v;
            while k + run < values.len()
                && values[k + run].0 == i + run as u64
                && (values[k + run].1 - values[k + run - 1].1 - step).abs()
                    <= 1e-9 * v.abs().max(1.0)
            {
                run += 1;
            }
            if run >= 3 {
                tokens.push(format!("{v}+{step}x{}", run - 1));
            } else {
                run = 1;
                tokens.push(format!("{v}"));
            }
        } else {
            tokens.push(format!("{v}"));
        }
        next = i + run as u64;
        k += run;
    }
    tokens.join(" ")
}

/// Which probes fired, from promtool's report of the alerts it saw where
/// none were expected. Every alert is evaluated on every probe's series;
/// only the probe's own alert answers it.
fn parse_answers(
    text: &str,
    status: ExitStatus,
    probes: &[Probe],
    subjects: &[Subject],
) -> Result<Vec<bool>, SweepError> {
    // Anything but the report of unexpected alerts is a problem with the
    // test itself (a rule that fails to evaluate, samples refused).
    let expected = |line: &str| {
        let line = line.trim();
        line.is_empty()
            || line == "]"
            || line == "FAILED:"
            || line == "SUCCESS"
            || [
                "Unit Testing:",
                "alertname:",
                "exp:",
                "got:",
                "Labels:",
                "Annotations:",
            ]
            .iter()
            .any(|p| line.starts_with(p))
            || line
                .strip_suffix(':')
                .is_some_and(|n| n.parse::<usize>().is_ok())
    };
    let unexpected: Vec<&str> = text.lines().filter(|l| !expected(l)).take(10).collect();
    if !unexpected.is_empty() || (!status.success() && !text.contains("FAILED")) {
        return Err(SweepError::PromtoolFailed {
            status,
            output: if unexpected.is_empty() {
                text.lines().take(10).collect::<Vec<_>>().join("\n")
            } else {
                unexpected.join("\n")
            },
        });
    }
    let mut fired = vec![false; probes.len()];
    let value = |line: &str, label: &str| -> Option<String> {
        let needle = format!("{label}=\"");
        let at = line.find(&needle)?;
        line[at + needle.len()..]
            .split('"')
            .next()
            .map(str::to_string)
    };
    for line in text.lines() {
        let (Some(id), Some(alert)) = (value(line, PROBE), value(line, "alertname")) else {
            continue;
        };
        let Ok(id) = id.parse::<usize>() else {
            continue;
        };
        let Some(probe) = probes.get(id) else {
            continue;
        };
        if subjects[probe.subject].rule.alert.as_deref() == Some(alert.as_str()) {
            fired[id] = true;
        }
    }
    Ok(fired)
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
        let text = multiplexed(&e).unwrap().to_string();
        assert!(
            text.contains("sum by (firedrill_probe) (rate(x{a=\"b\"}[5m]))"),
            "{text}"
        );
        assert!(text.contains("on (job, firedrill_probe)"), "{text}");
        assert!(text.contains("sum by (job, firedrill_probe)"), "{text}");
        assert!(text.contains("max without (w) (y)"), "{text}");
        assert!(multiplexed(&parse("absent(up)").unwrap()).is_err());
    }

    #[test]
    fn the_expanding_notation_round_trips_runs_and_gaps() {
        let values = vec![
            (2, 1.0),
            (3, 2.0),
            (4, 3.0),
            (5, 4.0),
            (9, 10.0),
            (10, 12.0),
        ];
        assert_eq!(encode(&values), "_x2 1+1x3 _x3 10 12");
    }

    #[test]
    fn sparse_windows_keep_their_first_and_last_samples() {
        let reads = Reads {
            ranges: vec![(300.0, 0.0), (3600.0, 0.0)],
            sparse: true,
        };
        // Evaluation at 7215 s with samples every 30 s.
        let i = sample_indices(&reads, 7_215_000, 30_000, false);
        // last sample ≤ 7215 s: 240 (7200 s); 5m window from 6915 s: 231;
        // 1h window from 3615 s: 121.
        assert_eq!(i, vec![121, 231, 239, 240]);
    }
}
