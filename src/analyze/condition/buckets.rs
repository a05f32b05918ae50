//! What a classic histogram's buckets let `histogram_quantile` say:
//! it never estimates more than the last finite bucket bound
//! (promql/quantile.go returns that bound when the rank falls in the +Inf
//! bucket), and between two bounds the estimate is a linear interpolation,
//! not a measurement. The client libraries' default buckets, the layouts
//! the project knows (the seed gateway's), and a histogram's unit read from
//! its name (`_seconds`, `_milliseconds`, `_bytes`).

use promql_parser::parser::Expr;

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
