//! When a leaf over a counter's window starts and stops holding after a
//! step: ratios of rates, histogram quantiles, rates, `changes`/`resets`,
//! `delta`, `deriv` and `predict_linear`. rate() over a steady series is
//! the slope between the first and last samples in the window, so a ratio
//! stepped from 0 to p reaches θ when a share θ/p of the D = W − S seconds
//! those samples span lies after the step: C = (θ/p)·D (up to (θ/p)·W when
//! the error series first appears with the step).

use super::model::{Bounds, Caveat, End, Knowledge, Response, Step};
use super::window::{own_multiple, sample_span, window_share};
use crate::analyze::condition::{never_exceeds, sample_count, Direction, Function, Leaf, Signal};
use crate::analyze::finding::LintId;
use crate::time::format_duration_secs;

pub(super) fn ratio(leaf: &Leaf, step: Step, w: f64, mean: bool, s: f64) -> Response {
    let Step::ErrorShare(p) = step else {
        return Response::Unknown("this step does not change a ratio".into());
    };
    let Some(threshold) = leaf.threshold else {
        return Response::Unknown("a ratio scaled by a gauge".into());
    };
    let share = match leaf.direction {
        Direction::Above if p <= threshold => {
            return Response::never(format!(
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
            return Response::never(format!(
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
            format_duration_secs(w),
            percent_or_value(threshold, mean),
            share,
            format_duration_secs(share * d),
            format_duration_secs(share * w)
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

pub(super) fn any_increase(step: Step, w: f64, s: f64) -> Response {
    let Step::ErrorShare(p) = step else {
        return Response::Unknown("this step does not change a ratio".into());
    };
    if p <= 0.0 {
        return Response::never("no errors, no increase");
    }
    Response::holds(
        Bounds::scraped(0.0, s, s),
        End::Undone(Some(Bounds::scraped(w - s, w, s))),
        format!(
            "its ratio is 1 as soon as any error is in the window (whatever the share): after one sample, or two when the error series is new (up to {})",
            format_duration_secs(s)
        ),
    )
}

pub(super) fn quantile(leaf: &Leaf, step: Step, k: &Knowledge) -> Response {
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
            finding: Some(LintId::HistogramLeDropped),
        };
    }
    let (Step::SlowShare(share), Direction::Above, Some(threshold)) =
        (step, leaf.direction, leaf.threshold)
    else {
        return Response::Unknown("this comparison of a quantile".into());
    };
    if let Some(bounds) = (k.buckets)(histogram) {
        if never_exceeds(&bounds, threshold, leaf.inclusive) {
            return Response::Never {
                why: format!("histogram_quantile never estimates more than the last finite bucket of {histogram}"),
                finding: Some(LintId::HistogramThresholdBeyondBuckets),
            };
        }
    }
    let needed = 1.0 - quantile;
    if share <= needed {
        return Response::never(format!(
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
            format_duration_secs(w),
            needed * 100.0,
            format_duration_secs(fraction * d),
            format_duration_secs(fraction * w)
        ),
    )
}

pub(super) fn rate(
    leaf: &Leaf,
    step: Step,
    primary: &Leaf,
    w: f64,
    function: Function,
    s: f64,
) -> Response {
    // irate() reads the last two samples: its window is one scrape.
    let w = if function == Function::Irate {
        s.min(w)
    } else {
        w
    };
    let zero = leaf.threshold == Some(0.0);
    match (step, leaf.direction) {
        (Step::RateMultiple(m), Direction::Above) => {
            multiple(leaf, primary, m, true, (w, s), function)
        }
        (Step::FallsFrom(m), Direction::Below) => {
            multiple(leaf, primary, m, false, (w, s), function)
        }
        (Step::Stops, Direction::Below | Direction::Equal) if zero || leaf.direction == Direction::Below => {
            Response::holds(
                Bounds::new(w - s, w),
                End::Undone(Some(Bounds::scraped(0.0, s, s))),
                format!(
                    "{function}() over {} is 0 once the window's first sample follows the last increase: after {}–{}",
                    format_duration_secs(w),
                    format_duration_secs(w - s),
                    format_duration_secs(w)
                ),
            )
        }
        (Step::Starts, Direction::Above) if zero => Response::holds(
            Bounds::scraped(0.0, s, s),
            End::Undone(Some(Bounds::new(w - s, w))),
            format!(
                "the first sample after the counter starts shows an increase (the second, up to {}, when the series is new)",
                format_duration_secs(s)
            ),
        ),
        (Step::Event, Direction::Above) if zero => Response::holds(
            Bounds::scraped(0.0, 0.0, s),
            End::Pulse(Bounds::new(w - s, w - s)),
            format!(
                "one increment shows at the next scrape and stays in the {} window for {} (a counter created by this very increment, a new label value, shows no increase at all)",
                format_duration_secs(w),
                format_duration_secs(w - s)
            ),
        ),
        (Step::RateMultiple(m), Direction::Below) | (Step::FallsFrom(m), Direction::Above) => {
            bounded_the_other_way(leaf, primary, m, step, function)
        }
        _ => Response::Unknown(format!("this step on {function}()")),
    }
}

/// A rate stepped to (`rising`) or falling from `m` × the threshold: a
/// share of the window must follow the step.
fn multiple(
    leaf: &Leaf,
    primary: &Leaf,
    m: f64,
    rising: bool,
    (w, s): (f64, f64),
    function: Function,
) -> Response {
    let m = own_multiple(leaf, primary, m);
    if rising {
        if m <= 1.0 {
            return Response::never(format!("a rate of {m:.2}× the threshold never exceeds it"));
        }
        window_share(
            1.0 / m,
            w,
            s,
            format!(
                "{function}() over {} passes the threshold once 1/{m} of the window follows the step",
                format_duration_secs(w)
            ),
        )
    } else {
        if m <= 1.0 {
            return Response::never("the rate was already below the threshold");
        }
        window_share(
            1.0 - 1.0 / m,
            w,
            s,
            format!(
                "{function}() over {} falls below the threshold once {:.2} of the window follows the drop",
                format_duration_secs(w),
                1.0 - 1.0 / m
            ),
        )
    }
}

/// The same rate bounded the other way (`> 0.8 < 10000`): a guard, unless
/// the step takes it past.
fn bounded_the_other_way(
    leaf: &Leaf,
    primary: &Leaf,
    m: f64,
    step: Step,
    function: Function,
) -> Response {
    let rising = matches!(step, Step::RateMultiple(_));
    match (leaf.threshold, primary.threshold) {
        (Some(own), Some(theirs)) if (m * theirs >= own) == rising => Response::never(format!(
            "the step takes {function}() past `{}` too",
            leaf.text
        )),
        _ => Response::Unaffected(leaf.text.clone()),
    }
}

pub(super) fn changes(
    leaf: &Leaf,
    step: Step,
    w: f64,
    function: Function,
    k: &Knowledge,
) -> Response {
    let s = k.intervals.scrape.as_secs_f64();
    let what = if function == Function::Resets {
        "reset"
    } else {
        "change"
    };
    let n = leaf.threshold.unwrap_or(0.0).max(0.0).floor();
    match (step, leaf.direction) {
        (Step::Event, Direction::Above) if n == 0.0 => Response::holds(
            Bounds::scraped(0.0, 0.0, s),
            End::Pulse(Bounds::new(w - s, w - s)),
            format!(
                "one {what} shows at the next scrape and stays in the {} window for {}",
                format_duration_secs(w),
                format_duration_secs(w - s)
            ),
        ),
        (Step::Starts, Direction::Above) => {
            let (fewest, most) =
                sample_count(std::time::Duration::from_secs_f64(w), k.intervals.scrape);
            let needed = n as usize + 2;
            if most < needed {
                return Response::never(format!(
                    "a {} window holds at most {most} samples, so at most {} {what}s: never more than {n}",
                    format_duration_secs(w),
                    most.saturating_sub(1)
                ));
            }
            let response = Response::holds(
                Bounds::scraped(n * s, n * s, s),
                End::Undone(Some(Bounds::scraped(
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
                                format_duration_secs(w)
                            ),
                            finding: None,
                        }),
                    };
                }
            }
            response
        }
        (Step::Stops, Direction::Below | Direction::Equal) if n == 0.0 => Response::holds(
            Bounds::new((w - 2.0 * s).max(0.0), (w - s).max(0.0)),
            End::Undone(Some(Bounds::scraped(0.0, 0.0, s))),
            format!(
                "0 once the last {what} has left the {} window",
                format_duration_secs(w)
            ),
        ),
        _ => Response::Unknown(format!("this step on {function}()")),
    }
}

pub(super) fn delta(step: Step, w: f64, function: Function, s: f64) -> Response {
    if step != Step::Crosses {
        return Response::Unknown(format!("this step on {function}()"));
    }
    // A level step shows in the difference until the sample before it
    // leaves the window (idelta: until the next sample).
    let lasts = if function == Function::Idelta {
        s
    } else {
        w - s
    };
    Response::holds(
        Bounds::scraped(0.0, 0.0, s),
        End::Pulse(Bounds::new(lasts, lasts)),
        format!(
            "a step in the gauge shows in {function}() at the next scrape, for {} (the gauge staying at its new level is a difference of 0 after that)",
            format_duration_secs(lasts)
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

pub(super) fn deriv(leaf: &Leaf, step: Step, primary: &Leaf, w: f64, s: f64) -> Response {
    match step {
        Step::RateMultiple(m) => {
            let m = own_multiple(leaf, primary, m);
            let (Some(f), Some(back)) =
                (solve(ramp_slope, 1.0 / m), solve(ramp_slope, 1.0 - 1.0 / m))
            else {
                return Response::never("the slope never gets past the threshold");
            };
            Response::holds(
                Bounds::scraped(f * w, f * w, s),
                End::Undone(Some(Bounds::scraped(back * w, back * w, s))),
                format!(
                    "the least-squares slope over {} reaches 1/{m} of the new slope once {:.2} of the window follows the change",
                    format_duration_secs(w),
                    f
                ),
            )
        }
        Step::Starts => Response::holds(
            Bounds::scraped(0.0, 0.0, s),
            End::Undone(Some(Bounds::new(w - s, w))),
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
fn predict_linear_crossing(w: f64, h: f64, fills_in: f64) -> f64 {
    let moved = |f: f64| w * f * f / 2.0 + ramp_slope(f) * (w / 2.0 + h);
    match solve(|f| moved(f) / fills_in.max(1e-9), 1.0) {
        Some(f) => f * w,
        None => fills_in - h,
    }
}

pub(super) fn predict_linear(leaf: &Leaf, step: Step, w: f64, h: f64, s: f64) -> Response {
    let Step::FillsIn(fills_in) = step else {
        return Response::Unknown("this step on predict_linear()".into());
    };
    if !matches!(leaf.direction, Direction::Above | Direction::Below) {
        return Response::Unknown("this comparison of predict_linear()".into());
    }
    let t = predict_linear_crossing(w, h, fills_in).max(0.0);
    Response::holds(
        Bounds::scraped(t, t, s),
        End::Undone(None),
        format!(
            "fitted over {}, the line {} ahead passes the threshold {} after the gauge starts moving at a pace that reaches it in {}",
            format_duration_secs(w),
            format_duration_secs(h),
            format_duration_secs(t),
            format_duration_secs(fills_in)
        ),
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
