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
//! histogram). Buckets come from a live Prometheus, or are known (the seed
//! gateway's); otherwise a `_seconds` histogram is judged against the
//! client libraries' default buckets, and the finding says it rests on that
//! assumption (shown, not failing). A histogram in another unit, or a
//! native one, with unknown buckets, is not judged.

use promql_parser::parser::Expr;

use super::{Context, Found, Severity};
use crate::analyze::condition::{Direction, Shape, Signal};
use crate::rules::promql::{metric_name, single_selector, unparen};

/// Go's and Rust's prometheus client default buckets (seconds).
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Bucket bounds and where they were learnt.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownBuckets {
    pub bounds: Vec<f64>,
    pub from: String,
}

/// Histograms whose buckets the project knows: the seed gateway's (the
/// Go middleware's default buckets, which the demo gateway reproduces).
pub fn known_layout(histogram: &str) -> Option<KnownBuckets> {
    matches!(
        histogram,
        "gateway_http_request_duration_seconds" | "gateway_backend_request_duration_seconds"
    )
    .then(|| KnownBuckets {
        bounds: DEFAULT_BUCKETS.to_vec(),
        from: "the seed gateway's (its client's default buckets)".into(),
    })
}

/// `t` is one of the bucket bounds (to float precision): a quantile at it is
/// exact, not interpolated.
pub fn is_bucket_bound(bounds: &[f64], t: f64) -> bool {
    bounds
        .iter()
        .any(|b| (b - t).abs() < 1e-9 * b.abs().max(1.0))
}

/// Whether histogram_quantile over these bounds can never pass `t`.
pub fn never_exceeds(bounds: &[f64], t: f64, inclusive: bool) -> bool {
    let top = bounds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    t > top || (t == top && !inclusive)
}

/// The histogram a `histogram_quantile` reads, its quantile, and its
/// argument (for the `le` check).
pub fn quantile_call(expr: &Expr) -> Option<(f64, String, &Expr)> {
    let Expr::Call(call) = unparen(expr) else {
        return None;
    };
    if call.func.name != "histogram_quantile" {
        return None;
    }
    let quantile = match unparen(call.args.args.first()?) {
        Expr::NumberLiteral(n) => n.val,
        _ => return None,
    };
    let argument = call.args.args.get(1)?;
    let name = single_selector(argument).and_then(metric_name)?;
    Some((
        quantile,
        name.trim_end_matches("_bucket").to_string(),
        argument,
    ))
}

/// A histogram's unit, from its name.
pub fn unit(histogram: &str) -> Option<&'static str> {
    [
        ("_seconds", "s"),
        ("_milliseconds", "ms"),
        ("_microseconds", "µs"),
        ("_bytes", " bytes"),
    ]
    .into_iter()
    .find(|(suffix, _)| histogram.ends_with(suffix))
    .map(|(_, unit)| unit)
}

pub(super) fn lint_thresholds(found: &mut Found, shape: &Shape, context: &Context) {
    for leaf in shape.leaves() {
        let Signal::Quantile {
            histogram,
            quantile,
            native: false,
            le_dropped: false,
            ..
        } = &leaf.signal
        else {
            continue;
        };
        let (Direction::Above, Some(t)) = (leaf.direction, leaf.threshold) else {
            continue;
        };
        let u = unit(histogram).unwrap_or("");
        let (bounds, assumption) = match (context.buckets)(histogram) {
            Some(known) => (known.bounds, None),
            // The client libraries' defaults are in seconds: for another
            // unit there is nothing to assume.
            None if u == "s" => (
                DEFAULT_BUCKETS.to_vec(),
                Some("the client library's default buckets (0.005s–10s); give --prometheus to read the real ones".to_string()),
            ),
            None => continue,
        };
        let top = bounds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if never_exceeds(&bounds, t, leaf.inclusive) {
            let (severity, reason) = match &assumption {
                None => (
                    Severity::Error,
                    format!("the threshold {t}{u} is above the last finite bucket ({top}{u}) of {histogram}: histogram_quantile never estimates more than {top}{u}, so this can never fire"),
                ),
                Some(_) => (
                    Severity::Warning,
                    format!("if {histogram} has the client library's default buckets, the threshold {t}{u} is above the last finite one ({top}{u}): histogram_quantile would never estimate more, and this could never fire"),
                ),
            };
            found.add_assuming(
                "histogram/threshold-beyond-buckets",
                severity,
                reason,
                format!("make sure {histogram} has buckets above {t}{u}, or lower the threshold"),
                assumption,
            );
        } else if !is_bucket_bound(&bounds, t) {
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
            let of = match &assumption {
                Some(_) => format!("{histogram} (assuming the default buckets)"),
                None => histogram.clone(),
            };
            found.add_assuming(
                "histogram/threshold-between-buckets",
                Severity::Warning,
                format!(
                    "{t}{u} is not a bucket boundary of {of}: the p{} is interpolated inside ({below}{u}, {above}{u}], so the estimate can be off by up to {}{u} — the alert can fire with no request over {t}{u}, or stay silent with many",
                    quantile * 100.0,
                    trim(above - below)
                ),
                format!("use a bucket boundary as the threshold ({below}{u} or {above}{u}), or add a bucket at {t}{u}"),
                assumption,
            );
        }
    }
}

/// A difference of bounds without float noise (0.25 − 0.1 = 0.15).
fn trim(v: f64) -> f64 {
    (v * 1e9).round() / 1e9
}
