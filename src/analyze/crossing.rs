//! When one leaf of a condition starts holding after a step, and when it
//! stops — the arithmetic per signal, before the evaluation that sees it
//! (`timing` adds that, and `for`, and composes leaves along the tree).
//!
//! Times are seconds after the step, as a sample that makes the leaf hold
//! is in Prometheus: a change the target shows waits for the next scrape, up
//! to S (`Arrival::scraped`); a change only the clock makes (`time() - x`
//! growing, a window sliding past an old sample) does not.
//!
//! Windows follow Prometheus 2.x: `x[W]` at evaluation time T holds the
//! samples in [T−W, T]; rate() is the slope between the first and last of
//! them, extrapolated (promql/functions.go `extrapolatedRate`); the
//! `*_over_time` functions aggregate the samples, each counting once.

use super::condition::{AbsentOf, Direction, Leaf, Signal};
use super::timing::{Knowledge, Step};
use super::windows::{self, Holding};
use crate::time::format_duration_secs as fmt;

/// The first moment (best and worst over the phases nobody controls).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrival {
    pub best: f64,
    pub worst: f64,
}

impl Arrival {
    /// Holding from c_best–c_worst into the first scrape after the step,
    /// which comes within S.
    fn scraped(c_best: f64, c_worst: f64, s: f64) -> Arrival {
        Arrival {
            best: c_best.max(0.0),
            worst: c_worst.max(0.0) + s,
        }
    }

    fn at(best: f64, worst: f64) -> Arrival {
        Arrival { best, worst }
    }
}

/// How a leaf that starts holding stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum End {
    /// Once the step is undone, after this (None: the model does not say).
    Undone(Option<Arrival>),
    /// By itself, this long after it started (a single event leaving the window).
    Pulse { best: f64, worst: f64 },
}

/// Why a timing rests on a finding or on luck.
#[derive(Debug, Clone, PartialEq)]
pub struct Caveat {
    pub why: String,
    pub finding: Option<&'static str>,
}

/// A leaf's (or a tree's) answer to a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// The step does not move it (a guard); the text of what it is.
    Unaffected(String),
    /// The model does not know what the step does to it.
    Unknown(String),
    Never {
        why: String,
        finding: Option<&'static str>,
    },
    Holds {
        start: Arrival,
        end: End,
        why: String,
        caveat: Option<Caveat>,
    },
}

fn never(why: impl Into<String>) -> Response {
    Response::Never {
        why: why.into(),
        finding: None,
    }
}

fn holds(start: Arrival, end: End, why: String) -> Response {
    Response::Holds {
        start,
        end,
        why,
        caveat: None,
    }
}

/// Whether `step`, made in what `primary` watches, moves `leaf`: leaves of
/// the same kind over the same metrics move together (two windows of one
/// error ratio); a target's scrapes move every `up` and `absent()`.
fn moves(leaf: &Leaf, step: Step, primary: &Leaf) -> bool {
    match step {
        Step::ScrapeFails | Step::TargetRemoved => {
            matches!(leaf.signal, Signal::Up | Signal::Absent { .. })
                || (matches!(leaf.signal, Signal::OverTime { .. }) && leaf.metrics.contains("up"))
        }
        Step::RulesLoaded => matches!(leaf.signal, Signal::Constant { .. }),
        _ if std::ptr::eq(leaf, primary) => true,
        Step::Crosses => {
            leaf.signal.kind() == primary.signal.kind()
                && leaf.direction == primary.direction
                && !leaf.metrics.is_disjoint(&primary.metrics)
        }
        _ => {
            leaf.signal.kind() == primary.signal.kind()
                && !leaf.metrics.is_disjoint(&primary.metrics)
        }
    }
}

/// What `step` does to `leaf`.
pub fn respond(leaf: &Leaf, step: Step, primary: &Leaf, k: &Knowledge) -> Response {
    if leaf.never_zero {
        return Response::Never {
            why: format!(
                "`{}` never holds: count() over no series returns nothing, not 0",
                leaf.text
            ),
            finding: Some("count/never-zero"),
        };
    }
    if matches!(leaf.signal, Signal::Opaque { .. })
        || leaf.direction == Direction::Exists
            && !matches!(leaf.signal, Signal::Absent { .. } | Signal::Constant { .. })
    {
        return Response::Unaffected(leaf.text.clone());
    }
    if !moves(leaf, step, primary) {
        return Response::Unaffected(leaf.text.clone());
    }
    if let Some(blocked) = window_check(leaf, k) {
        return blocked;
    }
    let s = k.intervals.scrape.as_secs_f64();
    let response = match &leaf.signal {
        Signal::Ratio { window, mean } => ratio(leaf, step, window.as_secs_f64(), *mean, s),
        Signal::AnyIncrease { window } => any_increase(step, window.as_secs_f64(), s),
        Signal::Quantile { .. } => quantile(leaf, step, k),
        Signal::Rate { window, function } => {
            rate(leaf, step, primary, window.as_secs_f64(), function, s)
        }
        Signal::OverTime { window, function } => over_time(
            leaf,
            step,
            primary,
            (
                window.as_secs_f64(),
                k.intervals.scrape_timeout.as_secs_f64(),
            ),
            function,
            s,
        ),
        Signal::Changes { window, function } => {
            changes(leaf, step, window.as_secs_f64(), function, k)
        }
        Signal::Delta { window, function } => delta(step, window.as_secs_f64(), function, s),
        Signal::Deriv { window } => deriv(leaf, step, primary, window.as_secs_f64(), s),
        Signal::PredictLinear {
            window,
            horizon_seconds,
        } => predict_linear(leaf, step, window.as_secs_f64(), *horizon_seconds, s),
        Signal::Gauge => gauge(step, s),
        Signal::Up => up(leaf, step, k),
        Signal::Absent { of, window } => absent(*of, *window, step, k),
        Signal::Age => age(leaf, step, s),
        Signal::Constant { value } => constant(leaf, *value, step),
        Signal::Opaque { .. } => Response::Unaffected(leaf.text.clone()),
    };
    with_window_caveat(response, leaf, k)
}

/// The window and function of a windowed leaf.
fn window_of(leaf: &Leaf) -> Option<(std::time::Duration, &'static str)> {
    match &leaf.signal {
        Signal::Ratio { window, .. } | Signal::AnyIncrease { window } => Some((*window, "rate")),
        Signal::Quantile { window, .. } => Some((*window, "rate")),
        Signal::Rate { window, function }
        | Signal::OverTime { window, function }
        | Signal::Changes { window, function }
        | Signal::Delta { window, function } => Some((*window, function)),
        Signal::Deriv { window } => Some((*window, "deriv")),
        Signal::PredictLinear { window, .. } => Some((*window, "predict_linear")),
        _ => None,
    }
}

/// A window that holds too few samples at every evaluation: never (the
/// `range/too-short` lint says the same, from the same arithmetic).
fn window_check(leaf: &Leaf, k: &Knowledge) -> Option<Response> {
    let (window, function) = window_of(leaf)?;
    let needed = windows::samples_needed(function)?;
    (windows::holding(needed, window, k.intervals.scrape) == Holding::Never).then(|| {
        Response::Never {
            why: format!(
                "{function}() over {} holds fewer than {needed} samples at a scrape every {}: it {}",
                fmt(window.as_secs_f64()),
                fmt(k.intervals.scrape.as_secs_f64()),
                if windows::returns_zero(function) {
                    "returns 0 whatever the series does"
                } else {
                    "returns nothing"
                }
            ),
            finding: Some("range/too-short"),
        }
    })
}

/// A window with enough samples at some phases only: it may never fire.
fn with_window_caveat(response: Response, leaf: &Leaf, k: &Knowledge) -> Response {
    let Response::Holds {
        start,
        end,
        why,
        caveat: None,
    } = response
    else {
        return response;
    };
    let caveat = window_of(leaf).and_then(|(window, function)| {
        let needed = windows::samples_needed(function)?;
        (windows::holding(needed, window, k.intervals.scrape) == Holding::SomePhases).then(|| Caveat {
            why: format!(
                "{function}() over {} holds {needed} samples only at some phases of evaluations against scrapes (fixed when Prometheus starts): at the others it never fires",
                fmt(window.as_secs_f64())
            ),
            finding: Some("range/too-short"),
        })
    });
    Response::Holds {
        start,
        end,
        why,
        caveat,
    }
}

/// The span the samples of a window of `w` seconds cover (first to last),
/// at a scrape every `s` seconds.
fn sample_span(w: f64, s: f64) -> f64 {
    (w - s).max(s.min(w))
}

/// A share `fraction` of the window must follow the step: after
/// fraction·(W − S) at best, fraction·W at worst (when the series is new),
/// plus the scrape; undone, the rest of the window must pass.
fn window_share(fraction: f64, w: f64, s: f64, why: String) -> Response {
    let d = sample_span(w, s);
    holds(
        Arrival::scraped(fraction * d, fraction * w, s),
        End::Undone(Some(Arrival::scraped(
            (1.0 - fraction) * d,
            (1.0 - fraction) * w,
            s,
        ))),
        why,
    )
}

fn ratio(leaf: &Leaf, step: Step, w: f64, mean: bool, s: f64) -> Response {
    let Step::ErrorShare(p) = step else {
        return Response::Unknown("this step does not change a ratio".into());
    };
    let Some(threshold) = leaf.threshold else {
        return Response::Unknown("a ratio scaled by a gauge".into());
    };
    let share = match leaf.direction {
        Direction::Above if p <= threshold => {
            return never(format!(
                "{} of {} never exceeds the threshold {}",
                if mean { "a mean" } else { "a share" },
                percent_or_value(p, mean),
                percent_or_value(threshold, mean)
            ))
        }
        Direction::Above => threshold / p,
        // A share of good events: 1 − (errors) falls below θ.
        Direction::Below if !mean && 1.0 - threshold < p => (1.0 - threshold) / p,
        Direction::Below if !mean => {
            return never(format!(
                "with {} failing the ratio stays above {}",
                percent_or_value(p, false),
                percent_or_value(threshold, false)
            ))
        }
        _ => return Response::Unknown("this comparison of a ratio".into()),
    };
    let d = sample_span(w, s);
    window_share(
        share,
        w,
        s,
        format!(
            "the ratio over {} reaches {} when {:.3} of the window follows the step: after {}–{}",
            fmt(w),
            percent_or_value(threshold, mean),
            share,
            fmt(share * d),
            fmt(share * w)
        ),
    )
}

fn percent_or_value(v: f64, mean: bool) -> String {
    if mean {
        format!("{v}")
    } else {
        format!("{:.1}%", v * 100.0)
    }
}

fn any_increase(step: Step, w: f64, s: f64) -> Response {
    let Step::ErrorShare(p) = step else {
        return Response::Unknown("this step does not change a ratio".into());
    };
    if p <= 0.0 {
        return never("no errors, no increase");
    }
    holds(
        Arrival::scraped(0.0, s, s),
        End::Undone(Some(Arrival::scraped(w - s, w, s))),
        format!(
            "its ratio is 1 as soon as any error is in the window (whatever the share): after one sample, or two when the error series is new (up to {})",
            fmt(s)
        ),
    )
}

fn quantile(leaf: &Leaf, step: Step, k: &Knowledge) -> Response {
    let Signal::Quantile {
        window,
        quantile,
        histogram,
        le_dropped,
        ..
    } = &leaf.signal
    else {
        return Response::Unknown(String::new());
    };
    if *le_dropped {
        return Response::Never {
            why: format!("the aggregation drops `le`: histogram_quantile over {histogram}_bucket is always empty"),
            finding: Some("histogram/le-dropped"),
        };
    }
    let (Step::SlowShare(share), Direction::Above, Some(threshold)) =
        (step, leaf.direction, leaf.threshold)
    else {
        return Response::Unknown("this comparison of a quantile".into());
    };
    if let Some(bounds) = (k.buckets)(histogram) {
        if super::lint::histogram::never_exceeds(&bounds, threshold, leaf.inclusive) {
            return Response::Never {
                why: format!("histogram_quantile never estimates more than the last finite bucket of {histogram}"),
                finding: Some("histogram/threshold-beyond-buckets"),
            };
        }
    }
    let needed = 1.0 - quantile;
    if share <= needed {
        return never(format!(
            "with {:.1}% of requests slow the p{} stays under {threshold}: more than {:.1}% must be",
            share * 100.0,
            quantile * 100.0,
            needed * 100.0
        ));
    }
    let w = window.as_secs_f64();
    let s = k.intervals.scrape.as_secs_f64();
    let fraction = needed / share;
    let d = sample_span(w, s);
    window_share(
        fraction,
        w,
        s,
        format!(
            "the p{} over {} passes {threshold} when slow requests are more than {:.1}% of the window: after {}–{}",
            quantile * 100.0,
            fmt(w),
            needed * 100.0,
            fmt(fraction * d),
            fmt(fraction * w)
        ),
    )
}

/// The multiple of this leaf's threshold that a step to `m` × the primary's
/// reaches (the same counter compared twice, e.g. two windows).
fn own_multiple(leaf: &Leaf, primary: &Leaf, m: f64) -> f64 {
    match (leaf.threshold, primary.threshold) {
        (Some(own), Some(theirs)) if own != 0.0 && theirs != 0.0 => m * theirs / own,
        _ => m,
    }
}

fn rate(leaf: &Leaf, step: Step, primary: &Leaf, w: f64, function: &str, s: f64) -> Response {
    // irate() reads the last two samples: its window is one scrape.
    let w = if function == "irate" { s.min(w) } else { w };
    let zero = leaf.threshold == Some(0.0);
    match (step, leaf.direction) {
        (Step::RateMultiple(m), Direction::Above) => {
            let m = own_multiple(leaf, primary, m);
            if m <= 1.0 {
                return never(format!("a rate of {m:.2}× the threshold never exceeds it"));
            }
            window_share(
                1.0 / m,
                w,
                s,
                format!(
                    "{function}() over {} passes the threshold once 1/{m} of the window follows the step",
                    fmt(w)
                ),
            )
        }
        (Step::FallsFrom(m), Direction::Below) => {
            let m = own_multiple(leaf, primary, m);
            if m <= 1.0 {
                return never("the rate was already below the threshold");
            }
            window_share(
                1.0 - 1.0 / m,
                w,
                s,
                format!(
                    "{function}() over {} falls below the threshold once {:.2} of the window follows the drop",
                    fmt(w),
                    1.0 - 1.0 / m
                ),
            )
        }
        (Step::Stops, Direction::Below | Direction::Equal) if zero || leaf.direction == Direction::Below => {
            holds(
                Arrival::at(w - s, w),
                End::Undone(Some(Arrival::scraped(0.0, s, s))),
                format!(
                    "{function}() over {} is 0 once the window's first sample follows the last increase: after {}–{}",
                    fmt(w),
                    fmt(w - s),
                    fmt(w)
                ),
            )
        }
        (Step::Starts, Direction::Above) if zero => holds(
            Arrival::scraped(0.0, s, s),
            End::Undone(Some(Arrival::at(w - s, w))),
            format!(
                "the first sample after the counter starts shows an increase (the second, up to {}, when the series is new)",
                fmt(s)
            ),
        ),
        (Step::Event, Direction::Above) if zero => holds(
            Arrival::scraped(0.0, 0.0, s),
            End::Pulse {
                best: w - s,
                worst: w - s,
            },
            format!(
                "one increment shows at the next scrape and stays in the {} window for {} (a counter created by this very increment, a new label value, shows no increase at all)",
                fmt(w),
                fmt(w - s)
            ),
        ),
        // The same rate bounded the other way (`> 0.8 < 10000`): a guard,
        // unless the step takes it past.
        (Step::RateMultiple(m), Direction::Below) | (Step::FallsFrom(m), Direction::Above) => {
            let rising = matches!(step, Step::RateMultiple(_));
            match (leaf.threshold, primary.threshold) {
                (Some(own), Some(theirs)) if (m * theirs >= own) == rising => {
                    never(format!("the step takes {function}() past `{}` too", leaf.text))
                }
                _ => Response::Unaffected(leaf.text.clone()),
            }
        }
        _ => Response::Unknown(format!("this step on {function}()")),
    }
}

/// A share `fraction` of the window's samples must follow the step.
fn sample_share(fraction: f64, w: f64, s: f64) -> Arrival {
    let fewest = (w / s + 1e-9).floor().max(1.0);
    let needed = |n: f64| (n * fraction + 1e-9).floor();
    Arrival::scraped(needed(fewest) * s, needed(fewest + 1.0) * s, s)
}

fn over_time(
    leaf: &Leaf,
    step: Step,
    primary: &Leaf,
    (w, timeout): (f64, f64),
    function: &str,
    s: f64,
) -> Response {
    let name = function.trim_end_matches("_over_time");
    let at_next = Arrival::scraped(0.0, 0.0, s);
    let slid = Arrival::at(w - s, w);
    let (start, undone, why) = match (step, name, leaf.direction) {
        (Step::Crosses, "last", _) => (at_next, at_next, "the last sample".to_string()),
        // On a 0/1 gauge, `max_over_time(x) == 0` is "every sample 0",
        // `min_over_time(x) == 0` "some sample 0".
        (Step::Crosses, "max", Direction::Above)
        | (Step::Crosses, "min", Direction::Below | Direction::Equal) => (
            at_next,
            slid,
            format!(
                "one sample past the threshold is enough; undone, it stays in the {} window",
                fmt(w)
            ),
        ),
        (Step::Crosses, "min", Direction::Above)
        | (Step::Crosses, "max", Direction::Below | Direction::Equal) => (
            slid,
            at_next,
            format!(
                "every sample in the {} window must be past the threshold",
                fmt(w)
            ),
        ),
        (Step::RateMultiple(m), "avg" | "sum", Direction::Above) => {
            let m = own_multiple(leaf, primary, m);
            if m <= 1.0 {
                return never("the value never gets past the threshold");
            }
            (
                sample_share(1.0 / m, w, s),
                sample_share(1.0 - 1.0 / m, w, s),
                format!(
                    "more than 1/{m} of the samples in the {} window must follow the step",
                    fmt(w)
                ),
            )
        }
        (Step::FallsFrom(m), "avg" | "sum", Direction::Below) => {
            let m = own_multiple(leaf, primary, m);
            if m <= 1.0 {
                return never("the value was already below the threshold");
            }
            (
                sample_share(1.0 - 1.0 / m, w, s),
                sample_share(1.0 / m, w, s),
                format!(
                    "more than {:.2} of the samples in the {} window must follow the drop",
                    1.0 - 1.0 / m,
                    fmt(w)
                ),
            )
        }
        // up steps from 1 to 0: the average falls below θ once more than
        // 1 − θ of the samples are failed scrapes.
        (Step::ScrapeFails, "avg", Direction::Below) => {
            let Some(t) = leaf.threshold.filter(|t| *t > 0.0 && *t <= 1.0) else {
                return Response::Unknown("this comparison of avg_over_time(up)".into());
            };
            // A failed scrape writes its 0 up to the scrape timeout late.
            let mut start = sample_share(1.0 - t, w, s);
            start.worst += timeout;
            (
                start,
                sample_share(t, w, s),
                format!(
                    "more than {:.0}% of the scrapes in the {} window must fail",
                    (1.0 - t) * 100.0,
                    fmt(w)
                ),
            )
        }
        (Step::Crosses, "avg" | "sum", _) => (
            at_next,
            slid,
            "any sample past 0 moves it past 0".to_string(),
        ),
        _ => return Response::Unknown(format!("this step on {function}()")),
    };
    holds(
        start,
        End::Undone(Some(undone)),
        format!("{function}(): {why}"),
    )
}

fn changes(leaf: &Leaf, step: Step, w: f64, function: &str, k: &Knowledge) -> Response {
    let s = k.intervals.scrape.as_secs_f64();
    let what = if function == "resets" {
        "reset"
    } else {
        "change"
    };
    let n = leaf.threshold.unwrap_or(0.0).max(0.0).floor();
    match (step, leaf.direction) {
        (Step::Event, Direction::Above) if n == 0.0 => holds(
            Arrival::scraped(0.0, 0.0, s),
            End::Pulse {
                best: w - s,
                worst: w - s,
            },
            format!(
                "one {what} shows at the next scrape and stays in the {} window for {}",
                fmt(w),
                fmt(w - s)
            ),
        ),
        (Step::Starts, Direction::Above) => {
            let (fewest, most) =
                windows::sample_count(std::time::Duration::from_secs_f64(w), k.intervals.scrape);
            let needed = n as usize + 2;
            if most < needed {
                return never(format!(
                    "a {} window holds at most {most} samples, so at most {} {what}s: never more than {n}",
                    fmt(w),
                    most.saturating_sub(1)
                ));
            }
            let response = holds(
                Arrival::scraped(n * s, n * s, s),
                End::Undone(Some(Arrival::scraped(
                    (w - (n + 2.0) * s).max(0.0),
                    (w - (n + 2.0) * s).max(0.0),
                    s,
                ))),
                format!(
                    "a {what} at every scrape: more than {n} after {} samples",
                    n + 1.0
                ),
            );
            if fewest < needed {
                if let Response::Holds {
                    start, end, why, ..
                } = response
                {
                    return Response::Holds {
                        start,
                        end,
                        why,
                        caveat: Some(Caveat {
                            why: format!(
                                "the {} window holds {needed} samples only at some phases",
                                fmt(w)
                            ),
                            finding: None,
                        }),
                    };
                }
            }
            response
        }
        (Step::Stops, Direction::Below | Direction::Equal) if n == 0.0 => holds(
            Arrival::at((w - 2.0 * s).max(0.0), (w - s).max(0.0)),
            End::Undone(Some(Arrival::scraped(0.0, 0.0, s))),
            format!("0 once the last {what} has left the {} window", fmt(w)),
        ),
        _ => Response::Unknown(format!("this step on {function}()")),
    }
}

fn delta(step: Step, w: f64, function: &str, s: f64) -> Response {
    if step != Step::Crosses {
        return Response::Unknown(format!("this step on {function}()"));
    }
    // A level step shows in the difference until the sample before it
    // leaves the window (idelta: until the next sample).
    let lasts = if function == "idelta" { s } else { w - s };
    holds(
        Arrival::scraped(0.0, 0.0, s),
        End::Pulse {
            best: lasts,
            worst: lasts,
        },
        format!(
            "a step in the gauge shows in {function}() at the next scrape, for {} (the gauge staying at its new level is a difference of 0 after that)",
            fmt(lasts)
        ),
    )
}

/// 3f² − 2f³: the least-squares slope over a window whose last share f
/// rises at 1 per second (continuous samples), as a share of 1.
fn ramp_slope(f: f64) -> f64 {
    3.0 * f * f - 2.0 * f * f * f
}

/// The smallest f in (0, 1] where `g(f)` reaches `target` (g increasing).
fn solve(g: impl Fn(f64) -> f64, target: f64) -> Option<f64> {
    if g(1.0) < target {
        return None;
    }
    let (mut lo, mut hi) = (0.0, 1.0);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if g(mid) >= target {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

fn deriv(leaf: &Leaf, step: Step, primary: &Leaf, w: f64, s: f64) -> Response {
    match step {
        Step::RateMultiple(m) => {
            let m = own_multiple(leaf, primary, m);
            let (Some(f), Some(back)) =
                (solve(ramp_slope, 1.0 / m), solve(ramp_slope, 1.0 - 1.0 / m))
            else {
                return never("the slope never gets past the threshold");
            };
            holds(
                Arrival::scraped(f * w, f * w, s),
                End::Undone(Some(Arrival::scraped(back * w, back * w, s))),
                format!(
                    "the least-squares slope over {} reaches 1/{m} of the new slope once {:.2} of the window follows the change",
                    fmt(w),
                    f
                ),
            )
        }
        Step::Starts => holds(
            Arrival::scraped(0.0, 0.0, s),
            End::Undone(Some(Arrival::at(w - s, w))),
            "the first sample after the gauge starts moving tilts the slope".into(),
        ),
        _ => Response::Unknown("this step on deriv()".into()),
    }
}

/// When predict_linear(x[W], h) passes the threshold after x starts moving
/// toward it at a pace that would reach it F seconds after the step. With
/// the last share f = t/W of the window on the ramp (continuous samples),
/// the fitted line's value at T + h has moved W·f²/2 + g(f)·(W/2 + h) paces
/// (g the ramp slope share); past the window, t + h.
pub fn predict_linear_crossing(w: f64, h: f64, fills_in: f64) -> f64 {
    let moved = |f: f64| w * f * f / 2.0 + ramp_slope(f) * (w / 2.0 + h);
    match solve(|f| moved(f) / fills_in.max(1e-9), 1.0) {
        Some(f) => f * w,
        None => fills_in - h,
    }
}

fn predict_linear(leaf: &Leaf, step: Step, w: f64, h: f64, s: f64) -> Response {
    let Step::FillsIn(fills_in) = step else {
        return Response::Unknown("this step on predict_linear()".into());
    };
    if !matches!(leaf.direction, Direction::Above | Direction::Below) {
        return Response::Unknown("this comparison of predict_linear()".into());
    }
    let t = predict_linear_crossing(w, h, fills_in).max(0.0);
    holds(
        Arrival::scraped(t, t, s),
        End::Undone(None),
        format!(
            "fitted over {}, the line {} ahead passes the threshold {} after the gauge starts moving at a pace that reaches it in {}",
            fmt(w),
            fmt(h),
            fmt(t),
            fmt(fills_in)
        ),
    )
}

fn gauge(step: Step, s: f64) -> Response {
    if step != Step::Crosses {
        return Response::Unknown("this step on a gauge".into());
    }
    holds(
        Arrival::scraped(0.0, 0.0, s),
        End::Undone(Some(Arrival::scraped(0.0, 0.0, s))),
        "the next scrape brings the new value".into(),
    )
}

/// Whether `up` at 0 makes the leaf hold.
pub fn zero_holds(leaf: &Leaf) -> bool {
    match (leaf.direction, leaf.threshold) {
        (Direction::Below, Some(t)) => 0.0 < t || (leaf.inclusive && t == 0.0),
        (Direction::Equal, Some(t)) => t == 0.0,
        (Direction::NotEqual, Some(t)) => t != 0.0,
        (Direction::Below | Direction::Equal, None) => true,
        _ => false,
    }
}

fn up(leaf: &Leaf, step: Step, k: &Knowledge) -> Response {
    // `sum(up) > 1`: a number of healthy targets, crossing like a gauge.
    if !zero_holds(leaf) {
        return gauge(step, k.intervals.scrape.as_secs_f64());
    }
    let s = k.intervals.scrape.as_secs_f64();
    match step {
        Step::ScrapeFails => scrape_fails(k, "the next scrape fails", "writes up = 0"),
        Step::TargetRemoved => never(
            "service discovery drops a deleted pod's target: its `up` goes stale, it never becomes 0, so `up == 0` never holds (absent(up{…} == 1) does)",
        ),
        _ => Response::Unknown(format!("this step on up (scrape every {})", fmt(s))),
    }
}

fn scrape_fails(k: &Knowledge, what: &str, writes: &str) -> Response {
    let s = k.intervals.scrape.as_secs_f64();
    let timeout = k.intervals.scrape_timeout.as_secs_f64();
    holds(
        Arrival::scraped(0.0, timeout, s),
        End::Undone(Some(Arrival::scraped(0.0, 0.0, s))),
        format!(
            "{what} (refused at once, or after the {} scrape timeout) and {writes}",
            fmt(timeout)
        ),
    )
}

fn absent(
    of: AbsentOf,
    window: Option<std::time::Duration>,
    step: Step,
    k: &Knowledge,
) -> Response {
    let s = k.intervals.scrape.as_secs_f64();
    let back = End::Undone(Some(Arrival::scraped(0.0, s, s)));
    match (step, of, window) {
        (Step::ScrapeFails, AbsentOf::Up, _) => never(
            "a failed scrape writes `up 0`, which is present: absent(up{…}) stays empty while the target is discovered (absent(up{…} == 1) fires)",
        ),
        (Step::ScrapeFails, _, None) => scrape_fails(
            k,
            "the next scrape fails",
            "marks the target's series stale (up = 0 for `up`)",
        ),
        (Step::ScrapeFails, _, Some(w)) => {
            let w = w.as_secs_f64();
            holds(
                Arrival::at(w - s, w),
                back,
                format!("the last sample leaves the {} window {}–{} after the step", fmt(w), fmt(w - s), fmt(w)),
            )
        }
        (Step::TargetRemoved, _, None) => holds(
            Arrival::scraped(1.1 * s, 2.1 * s + 5.0, s),
            back,
            format!(
                "discovery drops the target within 5s and the series go stale 1.1–2.1 scrape intervals later: after {}–{}",
                fmt(1.1 * s),
                fmt(2.1 * s + 5.0)
            ),
        ),
        (Step::TargetRemoved, _, Some(w)) => {
            let w = w.as_secs_f64();
            holds(
                Arrival::at(w - s, w + 5.0),
                back,
                format!(
                    "the last sample (discovery drops the target within 5s) leaves the {} window",
                    fmt(w)
                ),
            )
        }
        _ => Response::Unknown("this step on absent()".into()),
    }
}

fn age(leaf: &Leaf, step: Step, s: f64) -> Response {
    let Some(threshold) = leaf.threshold else {
        return Response::Unknown("an age scaled by a gauge".into());
    };
    match (step, leaf.direction) {
        (Step::Stops, Direction::Above) => holds(
            Arrival::at(threshold.max(0.0), threshold.max(0.0)),
            End::Undone(Some(Arrival::scraped(0.0, 0.0, s))),
            format!(
                "time() − x passes {} that long after x last advanced (while x is still scraped: once its series goes stale the alert stops)",
                fmt(threshold)
            ),
        ),
        (Step::Event, Direction::Below) => holds(
            Arrival::scraped(0.0, 0.0, s),
            End::Pulse {
                best: threshold.max(0.0),
                worst: threshold.max(0.0),
            },
            format!("x jumps to the present (a restart) at the next scrape, and stays younger than {} for that long", fmt(threshold)),
        ),
        _ => Response::Unknown("this step on an age".into()),
    }
}

fn constant(leaf: &Leaf, value: f64, step: Step) -> Response {
    if step != Step::RulesLoaded {
        return Response::Unaffected(leaf.text.clone());
    }
    let t = leaf.threshold.unwrap_or(0.0);
    let holds_now = match leaf.direction {
        Direction::Exists => true,
        Direction::Above => value > t || (leaf.inclusive && value == t),
        Direction::Below => value < t || (leaf.inclusive && value == t),
        Direction::Equal => value == t,
        Direction::NotEqual => value != t,
    };
    if !holds_now {
        return never(format!(
            "the constant {value} never satisfies `{}`",
            leaf.text
        ));
    }
    holds(
        Arrival::at(0.0, 0.0),
        End::Undone(None),
        "a constant holds from the first evaluation after the rules are loaded".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predict_linear_fires_sooner_for_a_faster_fill() {
        let (w, h) = (3600.0, 4.0 * 3600.0);
        let fast = predict_linear_crossing(w, h, h / 4.0);
        let slow = predict_linear_crossing(w, h, h);
        assert!(fast < slow, "{fast} {slow}");
        // Fitted over a full window of the ramp, the line passes once t + h ≥ F.
        assert!((predict_linear_crossing(600.0, 60.0, 2000.0) - 1940.0).abs() < 1e-6);
    }

    #[test]
    fn the_ramp_slope_is_a_smoothstep() {
        assert_eq!(ramp_slope(0.0), 0.0);
        assert_eq!(ramp_slope(1.0), 1.0);
        let f = solve(ramp_slope, 0.5).unwrap();
        assert!((f - 0.5).abs() < 1e-9);
    }
}
