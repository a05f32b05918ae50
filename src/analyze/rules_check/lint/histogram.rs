//! Latency thresholds against a classic histogram's buckets:
//! `histogram/threshold-beyond-buckets` (histogram_quantile never estimates
//! more than the last finite bucket bound — promql/quantile.go returns that
//! bound when the rank falls in the +Inf bucket — so `> top` never holds)
//! and `histogram/threshold-between-buckets` (between two bounds the
//! estimate is a linear interpolation, not a measurement).
//!
//! The threshold is read in the histogram's own unit (from its name:
//! `_seconds`, `_milliseconds`, `_bytes`), after the condition's scaling is
//! undone (`histogram_quantile(…) * 1000 > 500` is 0.5 on a `_seconds`
//! histogram). Buckets come from a live Prometheus, or are known (the
//! table of layouts in `condition::buckets`, each with its source, which
//! the finding names); otherwise a `_seconds` histogram is judged against the
//! client libraries' default buckets, and the finding says it rests on that
//! assumption (shown, not failing). A histogram in another unit, or a
//! native one, with unknown buckets, is not judged.

use super::{Context, Found, Rule};
use crate::analyze::condition::{
    is_bucket_bound, never_exceeds, unit, Direction, Leaf, Signal, DEFAULT_BUCKETS,
};
use crate::analyze::finding::{LintFinding, LintId, Severity};

pub(super) fn lint(found: &mut Found, rule: &Rule, context: &Context) {
    let Some(shape) = rule.shape else {
        return;
    };
    for leaf in shape.leaves() {
        judge(found, leaf, context);
    }
}

/// A latency threshold of one leaf against its histogram's buckets (known,
/// or the defaults assumed for a `_seconds` histogram).
fn judge(found: &mut Found, leaf: &Leaf, context: &Context) {
    let Signal::Quantile {
        histogram,
        quantile,
        native: false,
        le_dropped: false,
        ..
    } = &leaf.signal
    else {
        return;
    };
    let (Direction::Above, Some(t)) = (leaf.direction, leaf.threshold) else {
        return;
    };
    let u = unit(histogram).unwrap_or("");
    let (bounds, from, assumption) = match (context.buckets)(histogram) {
        Some(known) => (known.bounds, Some(known.from), None),
        // The client libraries' defaults are in seconds: for another unit
        // there is nothing to assume.
        None if u == "s" => (
            DEFAULT_BUCKETS.to_vec(),
            None,
            Some("the client library's default buckets (0.005s–10s); give --prometheus to read the real ones".to_string()),
        ),
        None => return,
    };
    let of = match &from {
        Some(from) => format!("{histogram} (buckets of {from})"),
        None => histogram.to_string(),
    };
    let threshold = Threshold {
        histogram,
        of: &of,
        t,
        u,
        bounds: &bounds,
    };
    let finding = if never_exceeds(&bounds, t, leaf.inclusive) {
        beyond(found, &threshold, assumption.is_some())
    } else if !is_bucket_bound(&bounds, t) {
        between(found, &threshold, *quantile, assumption.is_some())
    } else {
        return;
    };
    found.push(finding.assuming(assumption));
}

/// A threshold `t` in unit `u` against a histogram's bucket bounds.
struct Threshold<'a> {
    histogram: &'a str,
    /// The histogram, and where its buckets were learnt.
    of: &'a str,
    t: f64,
    u: &'a str,
    bounds: &'a [f64],
}

/// Above the last finite bucket: never fires (if the buckets are assumed,
/// only a warning that it could never fire).
fn beyond(found: &Found, threshold: &Threshold, assumed: bool) -> LintFinding {
    let Threshold {
        histogram,
        of,
        t,
        u,
        ..
    } = *threshold;
    let top = threshold
        .bounds
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let (severity, reason) = if assumed {
        (
            Severity::Warning,
            format!("if {histogram} has the client library's default buckets, the threshold {t}{u} is above the last finite one ({top}{u}): histogram_quantile would never estimate more, and this could never fire"),
        )
    } else {
        (
            Severity::Error,
            format!("the threshold {t}{u} is above the last finite bucket ({top}{u}) of {of}: histogram_quantile never estimates more than {top}{u}, so this can never fire"),
        )
    };
    found
        .finding(
            LintId::HistogramThresholdBeyondBuckets,
            reason,
            format!("make sure {histogram} has buckets above {t}{u}, or lower the threshold"),
        )
        .with_severity(severity)
}

/// Between two bounds: the quantile is interpolated there.
fn between(found: &Found, threshold: &Threshold, quantile: f64, assumed: bool) -> LintFinding {
    let Threshold {
        of: known_of,
        t,
        u,
        bounds,
        ..
    } = *threshold;
    let below = bounds
        .iter()
        .copied()
        .filter(|b| *b < t)
        .fold(0.0, f64::max);
    let above = bounds
        .iter()
        .copied()
        .filter(|b| *b > t)
        .fold(f64::INFINITY, f64::min);
    let of = if assumed {
        format!("{known_of} (assuming the default buckets)")
    } else {
        known_of.to_string()
    };
    found.finding(
        LintId::HistogramThresholdBetweenBuckets,
        format!(
            "{t}{u} is not a bucket boundary of {of}: the p{} is interpolated inside ({below}{u}, {above}{u}], so the estimate can be off by up to {}{u} — the alert can fire with no request over {t}{u}, or stay silent with many",
            quantile * 100.0,
            trim(above - below)
        ),
        format!("use a bucket boundary as the threshold ({below}{u} or {above}{u}), or add a bucket at {t}{u}"),
    )
}

/// A difference of bounds without float noise (0.25 − 0.1 = 0.15).
fn trim(v: f64) -> f64 {
    (v * 1e9).round() / 1e9
}
