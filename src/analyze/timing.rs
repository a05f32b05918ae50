//! How long an alert takes to go pending, to fire and to resolve after a step
//! change in what it watches, from the rule alone: best and worst case over
//! the phases of scrapes and evaluations, which nobody controls.
//!
//! The model (Prometheus 2.x semantics, checked against its engine with
//! `promtool test rules`): the condition holds once the newest sample has
//! crossed the threshold, C after the step; that sample arrives within one
//! scrape interval S, and an evaluation sees it within one group interval E.
//! So pending ∈ (C, C+S+E]. The alert fires at the first evaluation at least
//! `for` later: firing = pending + ⌈F/E⌉·E. With `keep_firing_for` K, it
//! resolves ⌈K/E⌉·E after its condition stops holding.
//!
//! For a ratio of rates over a window W, stepped from 0 to p with threshold
//! θ: rate() over a steady series is the slope between the first and last
//! samples in the window, so the ratio reaches θ when a share θ/p of the
//! D = W − S seconds those samples span lies after the step: C = (θ/p)·D
//! (up to (θ/p)·W when the error series first appears with the step).

use std::time::Duration;

use serde::Serialize;

use crate::time::format_duration_secs as fmt;

/// What the analysis needs to know about the Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Intervals {
    pub scrape: Duration,
    pub evaluation: Duration,
    pub scrape_timeout: Duration,
}

/// The shapes of alert condition the analysis understands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "shape")]
pub enum Shape {
    /// `sum(rate(errors[W])) / sum(rate(total[W])) > θ`.
    Ratio { window: Duration, threshold: f64 },
    /// A ratio whose two sides are the same series (`rate(x{s=~"5.."}) /
    /// rate(x)` unaggregated): 1 whenever the window holds any increase.
    AnyIncrease { window: Duration },
    /// `histogram_quantile(q, … rate(h_bucket[W]) …) > T`.
    Quantile {
        window: Duration,
        quantile: f64,
        threshold: f64,
    },
    /// `absent(up{…} == 1)` (`absent: true`) or `up{…} == 0`.
    TargetDown { absent: bool },
    /// `rate(x[W]) > c` or `increase(x[W]) > c`.
    Rate { window: Duration, threshold: f64 },
}

/// A step change in what the alert watches.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "step", content = "value")]
pub enum Step {
    /// The share of failing requests steps from 0 to this.
    ErrorShare(f64),
    /// The share of requests slower than the threshold steps from 0 to this.
    SlowShare(f64),
    /// The rate steps from 0 to this multiple of the threshold.
    RateMultiple(f64),
    /// The target's scrapes start failing (the process is down or hung).
    ScrapeFails,
    /// The target disappears from service discovery (its pod is deleted).
    TargetRemoved,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bounds {
    pub best_seconds: f64,
    pub worst_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    pub step: Step,
    /// None: the condition never holds for this step.
    pub pending: Option<Bounds>,
    pub firing: Option<Bounds>,
    /// After the step is undone (where the model knows).
    pub resolved: Option<Bounds>,
    /// The arithmetic, in words.
    pub why: String,
}

/// ⌈d/E⌉·E: how long `for: d` really waits in a group evaluated every E.
pub fn rounded_up(d: Duration, every: Duration) -> f64 {
    let (d, e) = (d.as_secs_f64(), every.as_secs_f64());
    if d <= 0.0 || e <= 0.0 {
        return d.max(0.0);
    }
    (d / e - 1e-9).ceil() * e
}

/// When the condition starts holding after a step (seconds, best and worst
/// over the phases of scrapes), and when it stops holding once the step is
/// undone — before the scrape and evaluation that make Prometheus see it.
enum Crossing {
    Never(String),
    After {
        best: f64,
        worst: f64,
        undone: Option<(f64, f64)>,
        why: String,
    },
}

/// The time from `step` to pending, firing and (when undone) resolution.
pub fn time_to_fire(
    shape: &Shape,
    step: Step,
    hold: Duration,
    keep_firing: Duration,
    intervals: &Intervals,
) -> Timing {
    let s = intervals.scrape.as_secs_f64();
    let e = intervals.evaluation.as_secs_f64();
    let f = rounded_up(hold, intervals.evaluation);
    let k = rounded_up(keep_firing, intervals.evaluation);
    match crossing(shape, step, intervals) {
        Crossing::Never(why) => Timing {
            step,
            pending: None,
            firing: None,
            resolved: None,
            why,
        },
        // Crossing after (best, worst], then up to a scrape and an evaluation.
        Crossing::After {
            best,
            worst,
            undone,
            why,
        } => Timing {
            step,
            pending: Some(Bounds {
                best_seconds: best,
                worst_seconds: worst + s + e,
            }),
            firing: Some(Bounds {
                best_seconds: best + f,
                worst_seconds: worst + s + e + f,
            }),
            resolved: undone.map(|(best, worst)| Bounds {
                best_seconds: best + k,
                worst_seconds: worst + s + e + k,
            }),
            why: format!(
                "{why}; then up to one scrape ({}) and one evaluation ({}) until it is pending; `for` waits {} (rounded up to whole evaluations)",
                fmt(s),
                fmt(e),
                fmt(f)
            ),
        },
    }
}

fn crossing(shape: &Shape, step: Step, intervals: &Intervals) -> Crossing {
    let s = intervals.scrape.as_secs_f64();
    match (shape, step) {
        (Shape::Ratio { window, threshold }, Step::ErrorShare(p)) => {
            ratio_crossing(window.as_secs_f64(), *threshold, p, s)
        }
        (Shape::AnyIncrease { window }, Step::ErrorShare(p)) if p > 0.0 => {
            let w = window.as_secs_f64();
            Crossing::After {
                best: 0.0,
                worst: s,
                undone: Some((w - s, w)),
                why: format!(
                    "its ratio is 1 as soon as any error is in the window (whatever the share): after one sample, or two when the error series is new (up to {})",
                    fmt(s)
                ),
            }
        }
        (
            Shape::Quantile {
                window,
                quantile,
                threshold,
            },
            Step::SlowShare(share),
        ) => quantile_crossing(window.as_secs_f64(), *quantile, *threshold, share, s),
        (Shape::TargetDown { .. }, Step::ScrapeFails) => {
            let timeout = intervals.scrape_timeout.as_secs_f64();
            Crossing::After {
                best: 0.0,
                worst: timeout,
                undone: Some((0.0, 0.0)),
                why: format!(
                    "the next scrape fails (refused at once, or after the {} scrape timeout) and writes up = 0",
                    fmt(timeout)
                ),
            }
        }
        (Shape::TargetDown { absent: false }, Step::TargetRemoved) => Crossing::Never(
            "service discovery drops a deleted pod's target: its `up` goes stale, it never becomes 0, so `up == 0` never holds (absent(up{…} == 1) does)"
                .into(),
        ),
        (Shape::TargetDown { absent: true }, Step::TargetRemoved) => Crossing::After {
            best: 1.1 * s,
            worst: 2.1 * s + 5.0,
            undone: Some((0.0, s)),
            why: format!(
                "discovery drops the target within 5s and the series go stale 1.1–2.1 scrape intervals later: after {}–{}",
                fmt(1.1 * s),
                fmt(2.1 * s + 5.0)
            ),
        },
        (Shape::Rate { window, threshold }, Step::RateMultiple(multiple)) => {
            rate_crossing(window.as_secs_f64(), *threshold, multiple, s)
        }
        _ => Crossing::Never("this step does not change what the alert watches".into()),
    }
}

/// The span the samples of a window of `w` seconds cover (first to last),
/// at a scrape every `s` seconds.
fn sample_span(w: f64, s: f64) -> f64 {
    (w - s).max(s.min(w))
}

/// A share `fraction` of the window must follow the step: after
/// fraction·(W − S) at best, fraction·W at worst (when the series is new);
/// undone, the rest of the window must pass.
fn window_share(fraction: f64, w: f64, s: f64, why: String) -> Crossing {
    let d = sample_span(w, s);
    Crossing::After {
        best: fraction * d,
        worst: fraction * w,
        undone: Some(((1.0 - fraction) * d, (1.0 - fraction) * w)),
        why,
    }
}

fn ratio_crossing(w: f64, threshold: f64, p: f64, s: f64) -> Crossing {
    if p <= threshold {
        return Crossing::Never(format!(
            "an error share of {:.1}% never exceeds the threshold {:.1}%",
            p * 100.0,
            threshold * 100.0
        ));
    }
    let share = threshold / p;
    let d = sample_span(w, s);
    window_share(
        share,
        w,
        s,
        format!(
            "the ratio over {} reaches {:.3} when θ/p = {:.3} of the window follows the step: after {}–{}",
            fmt(w),
            threshold,
            share,
            fmt(share * d),
            fmt(share * w)
        ),
    )
}

fn quantile_crossing(w: f64, quantile: f64, threshold: f64, share: f64, s: f64) -> Crossing {
    let needed = 1.0 - quantile;
    if share <= needed {
        return Crossing::Never(format!(
            "with {:.1}% of requests slow the p{} stays under {threshold}s: more than {:.1}% must be",
            share * 100.0,
            quantile * 100.0,
            needed * 100.0
        ));
    }
    let fraction = needed / share;
    let d = sample_span(w, s);
    window_share(
        fraction,
        w,
        s,
        format!(
            "the p{} over {} passes {threshold}s when slow requests are more than {:.1}% of the window: after {}–{}",
            quantile * 100.0,
            fmt(w),
            needed * 100.0,
            fmt(fraction * d),
            fmt(fraction * w)
        ),
    )
}

fn rate_crossing(w: f64, threshold: f64, multiple: f64, s: f64) -> Crossing {
    if multiple <= 1.0 {
        return Crossing::Never(format!(
            "a rate of {multiple}× the threshold {threshold} never exceeds it"
        ));
    }
    window_share(
        1.0 / multiple,
        w,
        s,
        format!(
            "the rate over {} passes {threshold} once 1/{multiple} of the window follows the step",
            fmt(w)
        ),
    )
}

/// The steps the analysis shows for a shape when no scenario says which:
/// a clear breach (ten times the threshold) and a marginal one (1.2 times).
pub fn default_steps(shape: &Shape) -> Vec<Step> {
    let mut steps = match shape {
        Shape::Ratio { threshold, .. } => vec![
            Step::ErrorShare((threshold * 10.0).min(1.0)),
            Step::ErrorShare((threshold * 1.2).min(1.0)),
        ],
        Shape::AnyIncrease { .. } => vec![Step::ErrorShare(0.5), Step::ErrorShare(0.01)],
        Shape::Quantile { quantile, .. } => {
            let tail = 1.0 - quantile;
            vec![
                Step::SlowShare((tail * 10.0).min(1.0)),
                Step::SlowShare((tail * 1.2).min(1.0)),
            ]
        }
        Shape::TargetDown { .. } => vec![Step::ScrapeFails, Step::TargetRemoved],
        Shape::Rate { .. } => vec![Step::RateMultiple(10.0), Step::RateMultiple(1.2)],
    };
    steps.dedup();
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_intervals() -> Intervals {
        Intervals {
            scrape: Duration::from_secs(15),
            evaluation: Duration::from_secs(30),
            scrape_timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn an_aggregated_version_of_the_seeds_rule_fires_in_two_and_a_half_to_three_minutes_at_50_percent(
    ) {
        let shape = Shape::Ratio {
            window: Duration::from_secs(300),
            threshold: 0.05,
        };
        let t = time_to_fire(
            &shape,
            Step::ErrorShare(0.5),
            Duration::from_secs(120),
            Duration::ZERO,
            &seed_intervals(),
        );
        let firing = t.firing.unwrap();
        // C = 0.1 × (300 − 15) = 28.5 s best, 0.1 × 300 = 30 s worst.
        assert!((firing.best_seconds - 148.5).abs() < 1e-6, "{firing:?}");
        assert!((firing.worst_seconds - 195.0).abs() < 1e-6, "{firing:?}");
        let at_6 = time_to_fire(
            &shape,
            Step::ErrorShare(0.06),
            Duration::from_secs(120),
            Duration::ZERO,
            &seed_intervals(),
        );
        let firing = at_6.firing.unwrap();
        assert!((firing.best_seconds - 357.5).abs() < 1e-6, "{firing:?}");
        assert!((firing.worst_seconds - 415.0).abs() < 1e-6, "{firing:?}");
        let below = time_to_fire(
            &shape,
            Step::ErrorShare(0.04),
            Duration::from_secs(120),
            Duration::ZERO,
            &seed_intervals(),
        );
        assert!(below.firing.is_none());
    }

    #[test]
    fn for_is_rounded_up_to_whole_evaluations() {
        assert_eq!(
            rounded_up(Duration::from_secs(10), Duration::from_secs(30)),
            30.0
        );
        assert_eq!(
            rounded_up(Duration::from_secs(60), Duration::from_secs(30)),
            60.0
        );
        assert_eq!(rounded_up(Duration::ZERO, Duration::from_secs(30)), 0.0);
    }

    #[test]
    fn up_eq_zero_never_sees_a_deleted_pod_but_absent_does() {
        let eq_zero = Shape::TargetDown { absent: false };
        let hold = Duration::from_secs(60);
        assert!(time_to_fire(
            &eq_zero,
            Step::TargetRemoved,
            hold,
            Duration::ZERO,
            &seed_intervals()
        )
        .firing
        .is_none());
        let absent = Shape::TargetDown { absent: true };
        let t = time_to_fire(
            &absent,
            Step::TargetRemoved,
            hold,
            Duration::ZERO,
            &seed_intervals(),
        );
        assert!(t.firing.unwrap().worst_seconds > 60.0);
        let failed = time_to_fire(
            &eq_zero,
            Step::ScrapeFails,
            hold,
            Duration::ZERO,
            &seed_intervals(),
        );
        assert_eq!(
            failed.firing.unwrap().worst_seconds,
            10.0 + 15.0 + 30.0 + 60.0
        );
    }

    #[test]
    fn a_quantile_needs_more_than_its_tail_to_be_slow() {
        let shape = Shape::Quantile {
            window: Duration::from_secs(300),
            quantile: 0.95,
            threshold: 0.5,
        };
        let none = time_to_fire(
            &shape,
            Step::SlowShare(0.04),
            Duration::ZERO,
            Duration::ZERO,
            &seed_intervals(),
        );
        assert!(none.firing.is_none());
        let all = time_to_fire(
            &shape,
            Step::SlowShare(1.0),
            Duration::ZERO,
            Duration::ZERO,
            &seed_intervals(),
        );
        // 5% of 285 s best, of 300 s worst, + 15 + 30.
        let firing = all.firing.unwrap();
        assert!(
            (firing.best_seconds - 14.25).abs() < 1e-6
                && (firing.worst_seconds - 60.0).abs() < 1e-6,
            "{firing:?}"
        );
    }
}
