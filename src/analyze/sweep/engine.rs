//! Asking Prometheus's own rule engine (`promtool test rules`) many
//! questions at once: does this alert's condition hold at this instant,
//! given these series? The sweep asks it about faults (`promtool`), the
//! coverage about provocations; what each question writes is theirs
//! (`Feed`), the machinery is here.
//!
//! Every question gets its own copy of its series, labelled
//! `firedrill_probe="<n>"` and shifted in time so that its instant falls
//! on the one evaluation promtool makes after its first (the test file's
//! `evaluation_interval` is that far away). Each alert is given rewritten
//! (`promtool::alert`): with no `for`, keeping the probe label through
//! aggregations and vector matching, so thousands of questions are one
//! evaluation of one rule group. Alerts go into rule files of at most
//! `BATCH` (each test group evaluates every rule of its file, so a file of
//! a thousand alerts would cost a thousand evaluations per group).
//!
//! Samples: for `rate`, `increase`, `irate`, `delta` and `idelta` over
//! counters, only the first and last samples of each window (and the one
//! before the last) change the result — the middle ones cancel, and the
//! extrapolation threshold (1.1 × the mean interval) grows with fewer
//! samples but still covers a start or end less than one scrape away
//! (promql/functions.go `extrapolatedRate`) — so only those are written
//! (`Reads::sparse`). Other functions get every sample of their windows.
//!
//! promtool's engine refuses a query that holds more than 10,000 samples
//! in memory at once: questions go into test groups small enough
//! (`group_sizes`), each its own database — and as few as that allows, for
//! a group costs promtool about 8 ms however small it is. A
//! sample at 0 opens each database (it refuses samples more than 12 hours
//! older than the first it is given). A rule that fails to evaluate ends
//! its test group: its alert's questions are answered `Failed` with
//! promtool's words, and the others of the file are asked again without it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitStatus;

use super::error::SweepError;
use super::runner::{run_files, Spent, Turn};
use crate::rules::{Group, RuleDef};

/// The label that keeps probes apart.
pub const PROBE: &str = "firedrill_probe";
/// A series of value 1 each probe of an alert that asks `absent()` (or
/// reads `vector()`) gets: `absent(x)` is asked as `MARKER unless
/// on(firedrill_probe) x`, per probe.
pub const MARKER: &str = "firedrill_probe_present";
/// At most this many alerts in one rule file.
const BATCH: usize = 48;
/// Below promtool's limit of 10,000 samples a query may load.
const SAMPLE_BUDGET: usize = 8000;

/// One alert as promtool evaluates it, apart from the others.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The rewritten alert (`firedrill_sweep_<n>`, no `for`).
    pub rule: RuleDef,
    /// The recording rules it reads, rewritten, inputs first.
    pub recordings: Vec<RuleDef>,
    /// What its windows need from the samples.
    pub reads: Reads,
    /// Its scrape interval, seconds.
    pub scrape: f64,
    /// Its rules read `MARKER`: each probe gets one.
    pub marked: bool,
}

/// What an expression's windows read from the raw series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reads {
    /// (window, offset) in seconds of every selector of a raw series (a
    /// window of 0: an instant selector, the last sample).
    pub ranges: Vec<(f64, f64)>,
    /// Only first and last samples matter (counters under rate and its kin).
    pub sparse: bool,
    /// The raw metrics its selectors load (None: a selector without a
    /// metric name, which loads any).
    pub metrics: Option<BTreeSet<String>>,
    /// A subquery: its inner range evaluated for every series at once.
    pub whole: bool,
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

/// One question: does alert `alert`'s condition hold at case time `time`,
/// with samples at `sample + k·S`?
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Question {
    pub alert: usize,
    pub sample: f64,
    pub time: f64,
    /// Every sample of the reach, not only the ones the windows' ends read
    /// (series that begin or change inside a window).
    pub dense: bool,
}

/// One sample as promtool's input notation writes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sample {
    Value(f64),
    /// A staleness marker: the series ends here (its target is gone).
    Stale,
}

/// A series a question writes: its name, its labels (the probe label is
/// added here) and its samples by group index.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub metric: String,
    pub labels: BTreeMap<String, String>,
    pub samples: Vec<(u64, Sample)>,
}

/// What the questions write.
pub trait Feed {
    /// The series of question `n`, with samples at `times`: each a group
    /// index and the case time it stands for (`origin`: the case time of
    /// the group's first instant, index 0).
    fn written(&self, n: usize, times: &[(u64, f64)], origin: f64) -> Vec<Written>;
}

/// promtool's answer to one question.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Holds,
    Silent,
    /// Its rules failed to evaluate on its series: promtool's words.
    Failed(String),
}

/// Answers every question.
pub fn answer(
    promtool: &Path,
    alerts: &[Alert],
    questions: &[Question],
    feed: &dyn Feed,
    dir: &Path,
) -> Result<Vec<Answer>, SweepError> {
    let mut answers: Vec<Option<Answer>> = vec![None; questions.len()];
    let mut failed: BTreeMap<usize, String> = BTreeMap::new();
    for attempt in 0.. {
        let open: Vec<usize> = (0..questions.len())
            .filter(|&n| answers[n].is_none())
            .collect();
        if open.is_empty() {
            break;
        }
        if attempt > 8 {
            return Err(SweepError::Unsettled);
        }
        let at = dir.join(format!("attempt-{attempt}"));
        std::fs::create_dir_all(&at).map_err(|source| SweepError::Io {
            path: at.clone(),
            source,
        })?;
        let batch = Batch {
            alerts,
            questions,
            feed,
            dir: &at,
        };
        for (members, outcome) in batch.run(promtool, &open)? {
            if outcome.errors.is_empty() {
                for n in members {
                    answers[n] = Some(if outcome.fired.contains(&n) {
                        Answer::Holds
                    } else {
                        Answer::Silent
                    });
                }
                continue;
            }
            for (rule, message) in &outcome.errors {
                for (a, alert) in alerts.iter().enumerate() {
                    if uses_rule(alert, rule) {
                        failed.entry(a).or_insert_with(|| message.clone());
                    }
                }
            }
            let mut blamed = false;
            for n in members {
                if let Some(message) = failed.get(&questions[n].alert) {
                    answers[n] = Some(Answer::Failed(message.clone()));
                    blamed = true;
                }
            }
            if !blamed {
                return Err(SweepError::PromtoolFailed {
                    status: outcome.status,
                    output: outcome.errors.iter().map(|(_, m)| m.clone()).collect(),
                });
            }
        }
    }
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or(Answer::Silent))
        .collect())
}

fn uses_rule(alert: &Alert, name: &str) -> bool {
    alert.rule.alert.as_deref() == Some(name)
        || alert
            .recordings
            .iter()
            .any(|r| r.record.as_deref() == Some(name))
}

/// One round of files for promtool.
struct Batch<'a> {
    alerts: &'a [Alert],
    questions: &'a [Question],
    feed: &'a dyn Feed,
    dir: &'a Path,
}

/// What promtool said about one test file.
struct Outcome {
    status: ExitStatus,
    /// The questions whose alert fired.
    fired: BTreeSet<usize>,
    /// Rules that failed to evaluate: (rule name, promtool's line).
    errors: Vec<(String, String)>,
}

impl Batch<'_> {
    fn io(&self, source: std::io::Error) -> SweepError {
        SweepError::Io {
            path: self.dir.to_path_buf(),
            source,
        }
    }

    /// Writes and runs the files for the questions `open`; returns each
    /// file's questions and what promtool said of them.
    fn run(
        &self,
        promtool: &Path,
        open: &[usize],
    ) -> Result<Vec<(Vec<usize>, Outcome)>, SweepError> {
        let files = self.write(open)?;
        let names: Vec<String> = files.iter().map(|(name, _)| name.clone()).collect();
        let members: BTreeMap<&str, &Vec<usize>> =
            files.iter().map(|(name, m)| (name.as_str(), m)).collect();
        let mut results = Vec::new();
        // promtool writes its failures to stderr without saying which file
        // they are about: a question is known by its probe label, a rule
        // that failed by its name; its process's files go together.
        for report in run_files(promtool, self.dir, &names, Spent::Kept, Turn::First)? {
            let text = format!("{}{}", report.stdout, report.stderr);
            let outcome = parse(&text, report.status, self.questions, self.alerts)?;
            let questions: Vec<usize> = report
                .files
                .iter()
                .filter_map(|f| members.get(f.as_str()))
                .flat_map(|m| m.iter().copied())
                .collect();
            results.push((questions, outcome));
        }
        Ok(results)
    }

    /// Writes the rule files and test files for `open`; returns each test
    /// file's name with its questions.
    fn write(&self, open: &[usize]) -> Result<Vec<(String, Vec<usize>)>, SweepError> {
        // Alerts by rule file, in order.
        let mut involved: Vec<usize> = open.iter().map(|&n| self.questions[n].alert).collect();
        involved.sort_unstable();
        involved.dedup();
        let batch_of: BTreeMap<usize, usize> = involved
            .iter()
            .enumerate()
            .map(|(k, &a)| (a, k / BATCH))
            .collect();
        let batches: Vec<&[usize]> = involved.chunks(BATCH).collect();
        for (b, members) in batches.iter().enumerate() {
            let text = rule_file(self.alerts, members)?;
            std::fs::write(self.dir.join(format!("rules-{b}.yaml")), text)
                .map_err(|e| self.io(e))?;
        }
        // One test file per rule file, scrape interval and offset of the
        // evaluation after the last sample: the test's one evaluation must
        // fall at that offset.
        let mut classes: BTreeMap<(usize, u64, u64), Vec<usize>> = BTreeMap::new();
        for &n in open {
            let question = &self.questions[n];
            let s = ms(self.alerts[question.alert].scrape).max(1);
            let offset = ((question.time - question.sample) * 1000.0).round() as i64;
            let delta = offset.rem_euclid(s as i64) as u64;
            classes
                .entry((batch_of[&question.alert], s, delta))
                .or_default()
                .push(n);
        }
        let mut files = Vec::new();
        for (i, ((b, s, delta), members)) in classes.iter().enumerate() {
            // Big classes are split so every core gets a share.
            let parts = if members.len() >= 200 { 4 } else { 1 };
            for (k, part) in members.chunks(members.len().div_ceil(parts)).enumerate() {
                let name = format!("test-{i}-{k}.yaml");
                let text = self.test_file((*b, batches[*b]), part, *s, *delta);
                std::fs::write(self.dir.join(&name), text).map_err(|e| self.io(e))?;
                files.push((name, part.to_vec()));
            }
        }
        Ok(files)
    }

    /// A test file for the questions `members` (of rule file `b`), whose
    /// scrape is `s` ms and whose instants fall `delta` ms after a sample.
    fn test_file(
        &self,
        (b, evaluated): (usize, &[usize]),
        members: &[usize],
        s: u64,
        delta: u64,
    ) -> String {
        let reach = members
            .iter()
            .map(|&n| self.alerts[self.questions[n].alert].reads.reach())
            .fold(0.0, f64::max);
        // The one evaluation after 0: past every window's reach.
        let samples_before = ((reach * 1000.0) as u64).div_ceil(s) + 3;
        let g = samples_before * s + delta;
        let mut text =
            format!("rule_files: [rules-{b}.yaml]\nevaluation_interval: {g}ms\ntests:\n");
        let written: Vec<Vec<Written>> = members.iter().map(|&n| self.series(n, g, s)).collect();
        let readers: Vec<&Reads> = evaluated.iter().map(|&a| &self.alerts[a].reads).collect();
        let mut start = 0;
        for size in group_sizes(&written, &readers) {
            let range = start..start + size;
            start += size;
            let (group, samples) = (&members[range.clone()], &written[range]);
            let _ = writeln!(
                text,
                "  - interval: {s}ms\n    input_series:\n      - series: 'firedrill_sweep_anchor'\n        values: '0'"
            );
            let mut asked = BTreeSet::new();
            for (&n, series) in group.iter().zip(samples) {
                asked.insert(self.questions[n].alert);
                for w in series {
                    if w.samples.is_empty() {
                        continue;
                    }
                    let _ = writeln!(
                        text,
                        "      - series: '{}'\n        values: '{}'",
                        selector_text(&w.metric, &w.labels, (PROBE, &n.to_string()))
                            .replace('\'', "''"),
                        encode(&w.samples)
                    );
                }
            }
            text.push_str("    alert_rule_test:\n");
            for a in asked {
                let _ = writeln!(
                    text,
                    "      - eval_time: {g}ms\n        alertname: {}\n        exp_alerts: []",
                    self.alerts[a].rule.alert.as_deref().unwrap_or_default()
                );
            }
        }
        text
    }

    /// Question `n`'s series and their samples (group indices and values),
    /// with its marker when its alert reads one.
    fn series(&self, n: usize, g: u64, s: u64) -> Vec<Written> {
        let question = &self.questions[n];
        let alert = &self.alerts[question.alert];
        let indices = sample_indices(&alert.reads, g, s, question.dense);
        // Case time of group sample i: i·S − G + t.
        let case_time = |i: u64| (i * s) as f64 / 1000.0 - g as f64 / 1000.0 + question.time;
        let times: Vec<(u64, f64)> = indices.iter().map(|&i| (i, case_time(i))).collect();
        let mut written = self.feed.written(n, &times, case_time(0));
        if alert.marked {
            written.push(Written {
                metric: MARKER.into(),
                labels: BTreeMap::new(),
                samples: vec![(g / s, Sample::Value(1.0))],
            });
        }
        written
    }
}

fn ms(seconds: f64) -> u64 {
    (seconds * 1000.0).round().max(0.0) as u64
}

/// `metric{a="b",…}` with `extra` added, as promtool reads it.
pub fn selector_text(
    metric: &str,
    labels: &BTreeMap<String, String>,
    extra: (&str, &str),
) -> String {
    let mut all: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != extra.0)
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if !extra.0.is_empty() {
        all.push(format!("{}=\"{}\"", extra.0, escape(extra.1)));
    }
    format!("{metric}{{{}}}", all.join(","))
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The rule file of the alerts `members`: one group, every recording rule
/// first (once), then the alerts.
fn rule_file(alerts: &[Alert], members: &[usize]) -> Result<String, SweepError> {
    let mut rules: Vec<RuleDef> = Vec::new();
    for &a in members {
        for recording in &alerts[a].recordings {
            if !rules.contains(recording) {
                rules.push(recording.clone());
            }
        }
    }
    rules.extend(members.iter().map(|&a| alerts[a].rule.clone()));
    crate::rules::render_rule_file(vec![Group {
        name: "firedrill-sweep".into(),
        interval: None,
        limit: None,
        rules,
    }])
    .map_err(SweepError::RuleFile)
}

/// How many questions (their series `written`, in order) go into each test
/// group: as many as promtool's limit of samples in memory allows (each
/// group is its own database, and each costs promtool about 8 ms however
/// small). Every rule of the file is evaluated on every group, and its
/// query selects every series the group holds of the metrics it names
/// (`readers`: each rule's reads). A function over a window loads one
/// series' window at a time, so a query holds about two samples per
/// series (the selected, the result) and the longest window; a subquery
/// evaluates its inner range for every series at once, so every sample
/// counts. A question heavier than the budget goes alone.
fn group_sizes(written: &[Vec<Written>], readers: &[&Reads]) -> Vec<usize> {
    #[derive(Clone, Copy, Default)]
    struct Load {
        series: usize,
        longest: usize,
        samples: usize,
    }
    let joined = |l: &Load, a: &Load| Load {
        series: l.series + a.series,
        longest: l.longest.max(a.longest),
        samples: l.samples + a.samples,
    };
    let cost = |reader: &Reads, load: Load| {
        if reader.whole {
            2 * load.samples
        } else {
            2 * load.series + load.longest
        }
    };
    let mut sizes = Vec::new();
    let mut loaded = vec![Load::default(); readers.len()];
    for series in written {
        let adds: Vec<Load> = readers
            .iter()
            .map(|reader| {
                let read = series.iter().filter(|w| {
                    reader
                        .metrics
                        .as_ref()
                        .is_none_or(|names| names.contains(&w.metric))
                });
                read.fold(Load::default(), |sum, w| Load {
                    series: sum.series + 1,
                    longest: sum.longest.max(w.samples.len()),
                    samples: sum.samples + w.samples.len(),
                })
            })
            .collect();
        let fits = readers
            .iter()
            .zip(loaded.iter().zip(&adds))
            .all(|(reader, (l, a))| cost(reader, joined(l, a)) <= SAMPLE_BUDGET);
        match sizes.last_mut() {
            Some(size) if fits => *size += 1,
            _ => {
                sizes.push(1);
                loaded.iter_mut().for_each(|l| *l = Load::default());
            }
        }
        for (l, a) in loaded.iter_mut().zip(&adds) {
            *l = joined(l, a);
        }
    }
    sizes
}

/// The samples (group indices, every `s` ms) an evaluation at `g` ms needs.
/// (`dense`: every sample of the reach.)
pub(super) fn sample_indices(reads: &Reads, g: u64, s: u64, dense: bool) -> Vec<u64> {
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
/// `_xn` for n missing samples, `stale` for a staleness marker.
pub fn encode(values: &[(u64, Sample)]) -> String {
    let mut tokens: Vec<String> = Vec::new();
    let mut next = 0u64;
    let mut k = 0;
    let value = |k: usize| match values.get(k) {
        Some((_, Sample::Value(v))) => Some(*v),
        _ => None,
    };
    while k < values.len() {
        let i = values[k].0;
        if i > next {
            tokens.push(format!("_x{}", i - next));
        }
        let Some(v) = value(k) else {
            tokens.push("stale".into());
            next = i + 1;
            k += 1;
            continue;
        };
        // Extend a run of consecutive samples with one step.
        let mut run = 1;
        if let Some(second) = value(k + 1).filter(|_| values[k + 1].0 == i + 1) {
            let step = second - v;
            while let Some(here) = value(k + run) {
                let before = value(k + run - 1).unwrap_or(v);
                if values[k + run].0 != i + run as u64
                    || (here - before - step).abs() > 1e-9 * v.abs().max(1.0)
                {
                    break;
                }
                run += 1;
            }
            if run >= 3 && step < 0.0 {
                tokens.push(format!("{v}-{}x{}", -step, run - 1));
            } else if run >= 3 {
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

/// Which questions' alerts fired, and which rules failed, from what one
/// promtool process said. Every alert is evaluated on every probe's
/// series; only the probe's own alert answers it.
fn parse(
    text: &str,
    status: ExitStatus,
    questions: &[Question],
    alerts: &[Alert],
) -> Result<Outcome, SweepError> {
    // Anything but the report of unexpected alerts and of failing rules is
    // a problem with the test itself (samples refused, a file unread).
    let expected = |line: &str| {
        let line = line.trim();
        line.is_empty()
            || line == "]"
            || line == "FAILED:"
            || line == "SUCCESS"
            || line.starts_with("rule: ")
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
    let errors = text
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("rule: ")?;
            let (name, _) = rest.split_once(", ")?;
            Some((name.to_string(), line.trim().to_string()))
        })
        .collect();
    let mut fired = BTreeSet::new();
    for line in text.lines() {
        let (Some(id), Some(alert)) = (label_value(line, PROBE), label_value(line, "alertname"))
        else {
            continue;
        };
        let Ok(id) = id.parse::<usize>() else {
            continue;
        };
        let Some(question) = questions.get(id) else {
            continue;
        };
        if alerts[question.alert].rule.alert.as_deref() == Some(alert.as_str()) {
            fired.insert(id);
        }
    }
    Ok(Outcome {
        status,
        fired,
        errors,
    })
}

/// The value of `label` in a line of promtool's `Labels:{a="b", …}`.
pub fn label_value(line: &str, label: &str) -> Option<String> {
    let needle = format!("{label}=\"");
    let at = line.find(&needle)?;
    line[at + needle.len()..]
        .split('"')
        .next()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expanding_notation_round_trips_runs_gaps_and_staleness() {
        let v = Sample::Value;
        let values = vec![
            (2, v(1.0)),
            (3, v(2.0)),
            (4, v(3.0)),
            (5, v(4.0)),
            (9, v(10.0)),
            (10, v(12.0)),
            (11, Sample::Stale),
            (14, v(1.0)),
        ];
        assert_eq!(encode(&values), "_x2 1+1x3 _x3 10 12 stale _x2 1");
        let falling: Vec<(u64, Sample)> = (0..4).map(|i| (i, v(9.0 - 2.0 * i as f64))).collect();
        assert_eq!(encode(&falling), "9-2x3");
    }

    fn question(metrics: &[(&str, usize)]) -> Vec<Written> {
        metrics
            .iter()
            .map(|(metric, samples)| Written {
                metric: metric.to_string(),
                labels: BTreeMap::new(),
                samples: (0..*samples as u64)
                    .map(|i| (i, Sample::Value(1.0)))
                    .collect(),
            })
            .collect()
    }

    fn reads(metrics: &[&str], whole: bool) -> Reads {
        Reads {
            ranges: vec![(21_600.0, 0.0)],
            sparse: false,
            metrics: Some(metrics.iter().map(|m| m.to_string()).collect()),
            whole,
        }
    }

    #[test]
    fn questions_over_long_windows_share_a_group_when_only_one_window_is_held_at_a_time() {
        // A six-hour window every 15 s: 1,443 samples a series. A function
        // over it loads one series' window at a time: a thousand questions
        // hold 2,000 samples of series and one window — one group.
        let written: Vec<Vec<Written>> = (0..1000).map(|_| question(&[("x", 1443)])).collect();
        let window = reads(&["x"], false);
        assert_eq!(group_sizes(&written, &[&window]), vec![1000]);
        // A subquery holds every sample at once: two questions a group.
        let subquery = reads(&["x"], true);
        let sizes = group_sizes(&written[..6], &[&subquery]);
        assert_eq!(sizes, vec![2, 2, 2]);
        // A rule reading other metrics does not count these series.
        let other = reads(&["y"], true);
        assert_eq!(group_sizes(&written[..6], &[&window, &other]), vec![6]);
    }

    #[test]
    fn a_group_holds_no_more_series_than_a_query_may_select() {
        // 3 series a question: 2 samples each series selected, at most
        // 8,000 — 1,333 questions a group.
        let written: Vec<Vec<Written>> = (0..2000)
            .map(|_| question(&[("a", 3), ("b", 3), ("c", 3)]))
            .collect();
        let all = reads(&["a", "b", "c"], false);
        let sizes = group_sizes(&written, &[&all]);
        assert_eq!(sizes.iter().sum::<usize>(), 2000);
        assert!(
            sizes.iter().all(|&n| 2 * 3 * n + 3 <= SAMPLE_BUDGET),
            "{sizes:?}"
        );
        assert_eq!(sizes.len(), 2);
        // A selector without a metric name selects them all.
        let any = Reads {
            metrics: None,
            ..reads(&[], false)
        };
        assert_eq!(group_sizes(&written, &[&any]), sizes);
    }

    #[test]
    fn sparse_windows_keep_their_first_and_last_samples() {
        let reads = Reads {
            ranges: vec![(300.0, 0.0), (3600.0, 0.0)],
            sparse: true,
            ..Reads::default()
        };
        // Evaluation at 7215 s with samples every 30 s.
        let i = sample_indices(&reads, 7_215_000, 30_000, false);
        // last sample ≤ 7215 s: 240 (7200 s); 5m window from 6915 s: 231;
        // 1h window from 3615 s: 121.
        assert_eq!(i, vec![121, 231, 239, 240]);
    }
}
