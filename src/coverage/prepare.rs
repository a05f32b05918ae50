//! Each alert made ready for the oracle: its expression read, its series
//! and their candidate levels, its rules rewritten for promtool, how long
//! the oracle waits after a change — or, when that cannot be done, the
//! verdict and why (a native histogram, a recorded series read through a
//! window, a window over promtool's sample limit). Also what the static
//! analysis already says can never hold (`dead` lints, counted ones only).

use promql_parser::parser::Expr;

use super::levels::candidates;
use super::provoke::Prepared;
use super::series::{self, required_selectors};
use crate::analyze::condition::{
    known_layout, unit, Direction, Recordings, Shape, Signal, DEFAULT_BUCKETS,
};
use crate::analyze::finding::{LintFinding, LintId, Severity};
use crate::analyze::rules_check::{job_matchers, AlertAnalysis};
use crate::analyze::sweep::{promtool_alert, Markers};
use crate::rules::promql::walk;
use crate::rules::RuleDef;

/// promtool refuses a query loading more samples of one series.
const SAMPLE_LIMIT: f64 = 10_000.0;

/// What is known of one alert besides its provocation.
#[derive(Debug, Clone, Default)]
pub struct Details {
    pub scrape: f64,
    pub evaluation: f64,
    pub hold: f64,
    pub keep: f64,
    pub reach: f64,
    /// A counted lint says its condition can never hold: why.
    pub dead: Option<String>,
    /// The raw selectors it needs series of (for `--prometheus`).
    pub selectors: Vec<String>,
    /// Notes on what the provocation assumes (a histogram's buckets).
    pub assumed: Vec<String>,
}

/// Lints that say a condition can never hold.
const NEVER: &[LintId] = &[
    LintId::RangeTooShort,
    LintId::CountNeverZero,
    LintId::HistogramLeDropped,
    LintId::HistogramThresholdBeyondBuckets,
    LintId::RatioBounded,
];

/// Why the counted lints say `analysis`'s alert can never fire.
pub fn dead_reason(analysis: &AlertAnalysis, findings: &[LintFinding]) -> Option<String> {
    let reasons: Vec<String> = findings
        .iter()
        .filter(|f| f.subject == analysis.alert && f.origin == analysis.origin)
        .filter(|f| NEVER.contains(&f.id) && f.assumption.is_none())
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{}: {}", f.id, f.reason))
        .collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

fn seconds(text: Option<&str>) -> f64 {
    text.and_then(|t| promql_parser::util::parse_duration(t).ok())
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Prepares alert number `index` for the oracle, or says why it cannot be.
pub fn prepare(
    index: usize,
    rule: &RuleDef,
    analysis: &AlertAnalysis,
    expr: &Expr,
    recordings: &Recordings,
    details: &mut Details,
) -> Result<Prepared, String> {
    let (s, e) = (
        analysis.scrape_interval_seconds,
        analysis.group_interval_seconds,
    );
    details.scrape = s;
    details.evaluation = e;
    details.hold = analysis.for_seconds;
    details.keep = seconds(rule.keep_firing_for.as_deref());
    details.selectors = required_selectors(expr, recordings);
    let shape = analysis.shape.as_ref();
    let mut assumed = Vec::new();
    // The table of known layouts tells apart exporters sharing a name by
    // the rule's `job` matchers, as `rules check` does.
    let jobs = job_matchers(expr);
    let bounds = |histogram: &str| histogram_bounds(histogram, &jobs, shape, &mut Vec::new());
    let specs = series::series(expr, recordings, &bounds).map_err(|e| e.to_string())?;
    for spec in &specs {
        if let series::Kind::Histogram { .. } = spec.kind {
            histogram_bounds(
                spec.metric.trim_end_matches("_bucket"),
                &jobs,
                shape,
                &mut assumed,
            );
        }
    }
    details.assumed = assumed;
    let alert =
        promtool_alert(index, rule, expr, recordings, s, Markers::Allow).map_err(|why| {
            format!("promtool cannot be asked about it apart from other alerts: {why}")
        })?;
    check_windows(&alert.reads.ranges, s)?;
    details.reach = alert.reads.reach();
    let candidates = candidates(&specs, shape, &constants(expr), s);
    let horizon = details.reach + 2.0 * s + e + ages(shape) + s;
    let early = early(&alert.reads.ranges, shape, (s, e)).filter(|t| *t < horizon);
    let mut alert = alert;
    if specs
        .iter()
        .any(|s| matches!(s.kind, series::Kind::Timestamp | series::Kind::Deadline))
    {
        // The oracle's clock must read more than the horizon when the
        // change comes (timestamps are the clock's): its samples begin
        // before it.
        alert.reads.ranges.push((horizon, 0.0));
    }
    Ok(Prepared {
        specs,
        candidates,
        alert,
        horizon,
        early,
        offset: super::testfile::sample_offset(s, e),
    })
}

/// promtool's engine refuses a window of one series over its limit.
fn check_windows(ranges: &[(f64, f64)], s: f64) -> Result<(), String> {
    let longest = ranges.iter().map(|(w, _)| *w).fold(0.0, f64::max);
    if longest / s > SAMPLE_LIMIT - 2.0 {
        return Err(format!(
            "its window of {} holds {} samples at a {} scrape, over the {} samples promtool's engine loads for one series",
            crate::time::format_duration_secs(longest),
            (longest / s).round(),
            crate::time::format_duration_secs(s),
            SAMPLE_LIMIT
        ));
    }
    Ok(())
}

/// When else to ask, soon after the change: a window read `offset` into the
/// past holds the old state once the present ones hold the new; a change
/// within a window (`delta`, `changes`) shows while it holds both.
fn early(ranges: &[(f64, f64)], shape: Option<&Shape>, (s, e): (f64, f64)) -> Option<f64> {
    if ranges.iter().any(|(_, offset)| *offset > 0.0) {
        let present = ranges
            .iter()
            .filter(|(_, offset)| *offset == 0.0)
            .map(|(w, _)| *w)
            .fold(300.0, f64::max);
        return Some(present + 2.0 * s + e);
    }
    shape
        .map(|sh| sh.leaves())
        .unwrap_or_default()
        .iter()
        .filter(|l| matches!(l.signal, Signal::Delta { .. } | Signal::Changes { .. }))
        .filter_map(|l| l.signal.window())
        .map(|w| (w.as_secs_f64() / 2.0).max(2.0 * s + e))
        .reduce(f64::min)
}

/// How much longer than its windows the oracle waits for an age (`time()
/// - x > θ`) to pass its threshold.
fn ages(shape: Option<&Shape>) -> f64 {
    shape
        .map(|s| s.leaves())
        .unwrap_or_default()
        .iter()
        .filter(|l| l.signal == Signal::Age && l.direction == Direction::Above)
        .filter_map(|l| l.threshold)
        .fold(0.0, |most: f64, t| most.max(t * 1.5))
}

/// The constants an expression compares with or scales by.
fn constants(expr: &Expr) -> Vec<f64> {
    let mut found = Vec::new();
    walk(expr, &mut |node| {
        if let Expr::NumberLiteral(n) = node {
            if n.val.abs() < 1e12 && !found.contains(&n.val) {
                found.push(n.val);
            }
        }
    });
    found
}

/// A histogram's bucket bounds: known ones, or the client libraries'
/// defaults with each threshold a quantile of it is compared with, and
/// twice it (noted in `assumed`).
fn histogram_bounds(
    histogram: &str,
    jobs: &[String],
    shape: Option<&Shape>,
    assumed: &mut Vec<String>,
) -> Vec<f64> {
    if let Some(known) = known_layout(histogram, jobs) {
        return known.bounds;
    }
    let mut bounds = DEFAULT_BUCKETS.to_vec();
    let thresholds: Vec<f64> = shape
        .map(|s| s.leaves())
        .unwrap_or_default()
        .iter()
        .filter(|l| matches!(&l.signal, Signal::Quantile { histogram: h, .. } if h == histogram))
        .filter_map(|l| l.threshold)
        .filter(|t| *t > 0.0)
        .collect();
    for t in &thresholds {
        bounds.extend([*t, 2.0 * t]);
    }
    bounds.sort_by(f64::total_cmp);
    bounds.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
    let unit = unit(histogram).unwrap_or("");
    assumed.push(format!(
        "{histogram}'s buckets are not known: the client libraries' defaults{} are assumed{unit_note}",
        if thresholds.is_empty() {
            String::new()
        } else {
            format!(
                " with the thresholds {} and twice them added",
                thresholds
                    .iter()
                    .map(|t| format!("{t}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        unit_note = if unit.is_empty() || unit == "s" {
            String::new()
        } else {
            format!(" (in its unit, {})", unit.trim())
        }
    ));
    bounds
}
