//! How long an alert takes to go pending, to fire and to resolve after a step
//! change in what it watches, from the rule alone: best and worst case over
//! the phases of scrapes and evaluations, which nobody controls.
//!
//! The model (Prometheus 2.x semantics, checked against its engine with
//! `promtool test rules`): each leaf of the condition (`condition`) starts
//! holding a crossing time C after the step (`crossing`: the arithmetic per
//! signal, including the wait for the next scrape where the target must show
//! the change); leaves compose along the tree — `and` holds once all its
//! parts do, `or` once one does, `unless` while its exception does not —
//! with the parts a step does not move (guards) assumed to let the alert
//! fire. An evaluation sees the condition within one group interval E, so
//! pending ∈ (C_best, C_worst + E]. The alert fires at the first evaluation
//! at least `for` later: firing = pending + ⌈F/E⌉·E. With `keep_firing_for`
//! K, it resolves ⌈K/E⌉·E after its condition stops holding. A condition
//! that holds only for a while (one event leaving a window) fires only if
//! `for` fits in that while.
//!
//! For a ratio of rates over a window W, stepped from 0 to p with threshold
//! θ: rate() over a steady series is the slope between the first and last
//! samples in the window, so the ratio reaches θ when a share θ/p of the
//! D = W − S seconds those samples span lies after the step: C = (θ/p)·D
//! (up to (θ/p)·W when the error series first appears with the step).

use std::time::Duration;

use serde::Serialize;

use super::condition::{Compound, Direction, Leaf, Shape, Signal};
use super::crossing::{self, Arrival, Caveat, End, Response};
use crate::time::format_duration_secs as fmt;

/// What the analysis needs to know about the Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Intervals {
    pub scrape: Duration,
    pub evaluation: Duration,
    pub scrape_timeout: Duration,
}

/// What the timing model may ask besides the rule.
pub struct Knowledge<'a> {
    /// The scrape interval of what the alert reads, its group's interval.
    pub intervals: Intervals,
    /// A histogram's bucket bounds (without `_bucket`), when known.
    pub buckets: &'a dyn Fn(&str) -> Option<Vec<f64>>,
}

/// A step change in what the alert watches.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "step", content = "value")]
pub enum Step {
    /// The share of failing requests (or the mean observed) steps from 0 to this.
    ErrorShare(f64),
    /// The share of requests slower than the threshold steps from 0 to this.
    SlowShare(f64),
    /// The rate (or the value, or the slope) steps from 0 to this multiple of the threshold.
    RateMultiple(f64),
    /// The value falls to 0 from this multiple of the threshold.
    FallsFrom(f64),
    /// A counter starts increasing (a value starts changing, a gauge starts
    /// moving) at every scrape, and keeps on.
    Starts,
    /// One increment, one change, one restart.
    Event,
    /// A counter stops increasing, a timestamp stops advancing.
    Stops,
    /// An instant value steps past the threshold and stays.
    Crosses,
    /// A gauge starts moving toward the threshold at a pace that reaches it
    /// this many seconds after the step (`predict_linear`).
    FillsIn(f64),
    /// The target's scrapes start failing (the process is down or hung).
    ScrapeFails,
    /// The target disappears from service discovery (its pod is deleted).
    TargetRemoved,
    /// The rules are loaded (a constant condition).
    RulesLoaded,
}

impl Step {
    /// Steps of one kind, whatever their size.
    fn same_kind(&self, other: &Step) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
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
    /// After the step is undone (where the model knows); after the step
    /// itself for a single event.
    pub resolved: Option<Bounds>,
    /// The arithmetic, in words.
    pub why: String,
    /// The finding this timing rests on (a window holding too few samples, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<&'static str>,
    /// It fires at some phases of scrapes and evaluations only: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub may_not_fire: Option<String>,
}

/// ⌈d/E⌉·E: how long `for: d` really waits in a group evaluated every E.
pub fn rounded_up(d: Duration, every: Duration) -> f64 {
    let (d, e) = (d.as_secs_f64(), every.as_secs_f64());
    if d <= 0.0 || e <= 0.0 {
        return d.max(0.0);
    }
    (d / e - 1e-9).ceil() * e
}

/// The steps the analysis shows for a leaf when no scenario says which: a
/// clear breach (ten times the threshold) and a marginal one (1.2 times),
/// or the one event the signal knows.
pub fn leaf_steps(leaf: &Leaf) -> Vec<Step> {
    let t = leaf.threshold;
    let zero = t == Some(0.0);
    let (above, below) = (
        leaf.direction == Direction::Above,
        matches!(leaf.direction, Direction::Below),
    );
    let multiples = || vec![Step::RateMultiple(10.0), Step::RateMultiple(1.2)];
    let drops = || vec![Step::FallsFrom(10.0), Step::FallsFrom(1.2)];
    let mut steps = match &leaf.signal {
        Signal::Ratio { mean: false, .. } => match (leaf.direction, t) {
            (Direction::Above, Some(t)) if t > 0.0 && t < 1.0 => {
                vec![
                    Step::ErrorShare((t * 10.0).min(1.0)),
                    Step::ErrorShare((t * 1.2).min(1.0)),
                ]
            }
            (Direction::Below, Some(t)) if t > 0.0 && t <= 1.0 => vec![
                Step::ErrorShare(((1.0 - t) * 10.0).min(1.0)),
                Step::ErrorShare(((1.0 - t) * 1.2).min(1.0)),
            ],
            _ => vec![],
        },
        Signal::Ratio { mean: true, .. } => match t {
            Some(t) if above && t > 0.0 => {
                vec![Step::ErrorShare(t * 10.0), Step::ErrorShare(t * 1.2)]
            }
            _ => vec![],
        },
        Signal::AnyIncrease { .. } => vec![Step::ErrorShare(0.5), Step::ErrorShare(0.01)],
        Signal::Quantile { quantile, .. } if above => {
            let tail = 1.0 - quantile;
            vec![
                Step::SlowShare((tail * 10.0).min(1.0)),
                Step::SlowShare((tail * 1.2).min(1.0)),
            ]
        }
        Signal::Rate { .. } if above && zero => vec![Step::Starts, Step::Event],
        Signal::Rate { .. } if above && t.is_none_or(|t| t > 0.0) => multiples(),
        Signal::Rate { .. } if below && t.is_none_or(|t| t > 0.0) => drops(),
        Signal::Rate { .. } if zero && (below || leaf.direction == Direction::Equal) => {
            vec![Step::Stops]
        }
        // `avg_over_time(up[W]) < 0.9`: the share of failed scrapes.
        Signal::OverTime {
            function: "avg_over_time",
            ..
        } if below && leaf.metrics.len() == 1 && leaf.metrics.contains("up") => {
            vec![Step::ScrapeFails]
        }
        Signal::OverTime { function, .. } => match *function {
            "avg_over_time" | "sum_over_time" if above && zero => vec![Step::Crosses],
            "avg_over_time" | "sum_over_time" if above => multiples(),
            "avg_over_time" | "sum_over_time" if below && t.is_none_or(|t| t > 0.0) => drops(),
            "avg_over_time" | "sum_over_time" => vec![],
            _ => vec![Step::Crosses],
        },
        Signal::Changes { .. } if above && zero => vec![Step::Event, Step::Starts],
        Signal::Changes { .. } if above => vec![Step::Starts],
        Signal::Changes { .. } if zero => vec![Step::Stops],
        Signal::Delta { .. } if above || below => vec![Step::Crosses],
        Signal::Deriv { .. } if zero && (above || below) => vec![Step::Starts],
        Signal::Deriv { .. }
            if (above && t.is_some_and(|t| t > 0.0)) || (below && t.is_some_and(|t| t < 0.0)) =>
        {
            multiples()
        }
        Signal::PredictLinear {
            horizon_seconds, ..
        } if above || below => {
            vec![
                Step::FillsIn(horizon_seconds / 4.0),
                Step::FillsIn(*horizon_seconds),
            ]
        }
        Signal::Gauge if leaf.direction != Direction::Exists => vec![Step::Crosses],
        Signal::Up if !crossing::zero_holds(leaf) => vec![Step::Crosses],
        Signal::Up | Signal::Absent { .. } => vec![Step::ScrapeFails, Step::TargetRemoved],
        Signal::Age if above => vec![Step::Stops],
        Signal::Age if below => vec![Step::Event],
        Signal::Constant { .. } => vec![Step::RulesLoaded],
        _ => vec![],
    };
    steps.dedup();
    steps
}

/// Every step the alert's primaries know, each with the leaf it is about.
pub fn default_steps(shape: &Shape) -> Vec<(Step, &Leaf)> {
    let mut steps: Vec<(Step, &Leaf)> = Vec::new();
    for leaf in shape.primaries() {
        for step in leaf_steps(leaf) {
            if !steps.iter().any(|(s, _)| *s == step) {
                steps.push((step, leaf));
            }
        }
    }
    steps
}

/// The timing of every default step.
pub fn timings(shape: &Shape, hold: Duration, keep: Duration, k: &Knowledge) -> Vec<Timing> {
    default_steps(shape)
        .into_iter()
        .filter_map(|(step, primary)| timing_for(shape, step, primary, hold, keep, k))
        .collect()
}

/// The time from `step` to pending, firing and (when undone) resolution;
/// None when the model does not know what the step does to this condition.
pub fn time_to_fire(
    shape: &Shape,
    step: Step,
    hold: Duration,
    keep: Duration,
    k: &Knowledge,
) -> Option<Timing> {
    let primary = shape
        .primaries()
        .into_iter()
        .find(|leaf| leaf_steps(leaf).iter().any(|s| s.same_kind(&step)))?;
    timing_for(shape, step, primary, hold, keep, k)
}

fn timing_for(
    shape: &Shape,
    step: Step,
    primary: &Leaf,
    hold: Duration,
    keep: Duration,
    k: &Knowledge,
) -> Option<Timing> {
    let response = respond(shape, step, primary, k);
    let e = k.intervals.evaluation.as_secs_f64();
    let f = rounded_up(hold, k.intervals.evaluation);
    let keep = rounded_up(keep, k.intervals.evaluation);
    let never = |why: String, finding| Timing {
        step,
        pending: None,
        firing: None,
        resolved: None,
        why,
        finding,
        may_not_fire: None,
    };
    let (start, end, why, caveat) = match response {
        Response::Unknown(_) => return None,
        Response::Unaffected(_) => {
            return Some(never(
                "this step does not change what the alert watches".into(),
                None,
            ))
        }
        Response::Never { why, finding } => return Some(never(why, finding)),
        Response::Holds {
            start,
            end,
            why,
            caveat,
        } => (start, end, why, caveat),
    };
    let pending = Bounds {
        best_seconds: start.best,
        worst_seconds: start.worst + e,
    };
    let firing = Bounds {
        best_seconds: pending.best_seconds + f,
        worst_seconds: pending.worst_seconds + f,
    };
    let why = format!(
        "{why}; then up to one evaluation ({}) until it is pending; `for` waits {} (rounded up to whole evaluations)",
        fmt(e),
        fmt(f)
    );
    let mut timing = Timing {
        step,
        pending: Some(pending),
        firing: Some(firing),
        resolved: None,
        why,
        finding: caveat.as_ref().and_then(|c| c.finding),
        may_not_fire: caveat.map(|c| c.why),
    };
    match end {
        End::Undone(undone) => {
            timing.resolved = undone.map(|u| Bounds {
                best_seconds: u.best + keep,
                worst_seconds: u.worst + e + keep,
            });
        }
        End::Pulse { best, worst } => {
            // It holds for `best`–`worst` after it starts; the first
            // evaluation seeing it comes within E, and `for` must still find
            // it holding.
            if f >= worst {
                let why = format!(
                    "it holds for only {} after the step, and `for` waits {}: it never fires ({})",
                    fmt(worst),
                    fmt(f),
                    timing.why
                );
                return Some(never(why, timing.finding));
            }
            if f + e > best && timing.may_not_fire.is_none() {
                timing.may_not_fire = Some(format!(
                    "it holds for {} after the step: `for` ({}) fits only when an evaluation comes soon enough after it starts",
                    fmt(best),
                    fmt(f)
                ));
            }
            timing.resolved = Some(Bounds {
                best_seconds: start.best + best + keep,
                worst_seconds: start.worst + worst + e + keep,
            });
        }
    }
    Some(timing)
}

/// The tree's answer: leaves answer, compounds compose.
fn respond(shape: &Shape, step: Step, primary: &Leaf, k: &Knowledge) -> Response {
    match shape {
        Shape::Leaf(leaf) => delayed(
            crossing::respond(leaf, step, primary, k),
            leaf.recording_delay_seconds,
        ),
        Shape::Compound(Compound::And { of }) => of
            .iter()
            .map(|s| respond(s, step, primary, k))
            .reduce(both)
            .unwrap_or(Response::Unknown("an empty `and`".into())),
        Shape::Compound(Compound::Or { of }) => of
            .iter()
            .map(|s| respond(s, step, primary, k))
            .reduce(either)
            .unwrap_or(Response::Unknown("an empty `or`".into())),
        Shape::Compound(Compound::Unless { main, except }) => unless(
            respond(main, step, primary, k),
            respond(except, step, primary, k),
        ),
    }
}

/// A leaf read through recording rules is seen up to `lag` later: each
/// rule's group writes its result at its own next evaluation.
fn delayed(response: Response, lag: f64) -> Response {
    if lag <= 0.0 {
        return response;
    }
    let later = |a: Arrival| Arrival {
        best: a.best,
        worst: a.worst + lag,
    };
    match response {
        Response::Holds {
            start,
            end,
            why,
            caveat,
        } => Response::Holds {
            start: later(start),
            end: match end {
                End::Undone(undone) => End::Undone(undone.map(later)),
                pulse => pulse,
            },
            why: format!(
                "{why}, then up to {} until the recording rules' groups write it",
                fmt(lag)
            ),
            caveat,
        },
        other => other,
    }
}

/// A guard's text, short.
fn short(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 70 {
        format!("{}…", text.chars().take(69).collect::<String>())
    } else {
        text
    }
}

fn later(a: Arrival, b: Arrival) -> Arrival {
    Arrival {
        best: a.best.max(b.best),
        worst: a.worst.max(b.worst),
    }
}

fn earlier(a: Arrival, b: Arrival) -> Arrival {
    Arrival {
        best: a.best.min(b.best),
        worst: a.worst.min(b.worst),
    }
}

fn assuming(response: Response, note: String) -> Response {
    match response {
        Response::Holds {
            start,
            end,
            why,
            caveat,
        } => Response::Holds {
            start,
            end,
            why: format!("{why} ({note})"),
            caveat,
        },
        other => other,
    }
}

/// `a and b`: both must hold.
fn both(a: Response, b: Response) -> Response {
    use Response::*;
    match (a, b) {
        (never @ Never { .. }, _) | (_, never @ Never { .. }) => never,
        (unknown @ Unknown(_), _) | (_, unknown @ Unknown(_)) => unknown,
        (Unaffected(x), Unaffected(y)) => Unaffected(format!("{x} and {y}")),
        (moved @ Holds { .. }, Unaffected(guard)) | (Unaffected(guard), moved @ Holds { .. }) => {
            assuming(moved, format!("assuming `{}` holds", short(&guard)))
        }
        (
            Holds {
                start: s1,
                end: e1,
                why: w1,
                caveat: c1,
            },
            Holds {
                start: s2,
                end: e2,
                why: w2,
                caveat: c2,
            },
        ) => {
            let end = match (e1, e2) {
                (End::Undone(Some(u1)), End::Undone(Some(u2))) => {
                    End::Undone(Some(earlier(u1, u2)))
                }
                (End::Undone(_), End::Undone(_)) => End::Undone(None),
                _ => return Unknown("a single event joined with `and`".into()),
            };
            Holds {
                start: later(s1, s2),
                end,
                why: format!("{w1}; and {w2}"),
                caveat: merge(c1, c2),
            }
        }
    }
}

fn merge(a: Option<Caveat>, b: Option<Caveat>) -> Option<Caveat> {
    a.or(b)
}

/// `a or b`: one is enough.
fn either(a: Response, b: Response) -> Response {
    use Response::*;
    match (a, b) {
        (unknown @ Unknown(_), _) | (_, unknown @ Unknown(_)) => unknown,
        (Unaffected(x), Unaffected(y)) => Unaffected(format!("{x} or {y}")),
        (moved @ Holds { .. }, Unaffected(other)) | (Unaffected(other), moved @ Holds { .. }) => {
            assuming(
                moved,
                format!("assuming `{}` did not hold before", short(&other)),
            )
        }
        (moved @ Holds { .. }, Never { .. }) | (Never { .. }, moved @ Holds { .. }) => moved,
        (never @ Never { .. }, Never { .. }) => never,
        (never @ Never { .. }, Unaffected(_)) | (Unaffected(_), never @ Never { .. }) => never,
        (
            Holds {
                start: s1,
                end: e1,
                why: w1,
                caveat: c1,
            },
            Holds {
                start: s2,
                end: e2,
                why: w2,
                caveat: c2,
            },
        ) => {
            let end = match (e1, e2) {
                (End::Undone(Some(u1)), End::Undone(Some(u2))) => End::Undone(Some(later(u1, u2))),
                (End::Undone(_), End::Undone(_)) => End::Undone(None),
                _ => return Unknown("a single event joined with `or`".into()),
            };
            // The sooner of the two decides; its caveat only if both have one.
            Holds {
                start: earlier(s1, s2),
                end,
                why: format!("{w1}; or {w2}"),
                caveat: if c1.is_some() && c2.is_some() {
                    c1
                } else {
                    None
                },
            }
        }
    }
}

/// `main unless except`: main must hold and except not.
fn unless(main: Response, except: Response) -> Response {
    use Response::*;
    match (main, except) {
        (moved @ Holds { .. }, Unaffected(except)) => assuming(
            moved,
            format!("assuming `{}` does not hold", short(&except)),
        ),
        (moved @ Holds { .. }, Never { .. }) => moved,
        (Holds { .. }, _) => Unknown("the step also moves the exception of `unless`".into()),
        (other, _) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::super::condition::{read, Reader, Recordings};
    use super::*;

    fn seed_intervals() -> Intervals {
        Intervals {
            scrape: Duration::from_secs(15),
            evaluation: Duration::from_secs(30),
            scrape_timeout: Duration::from_secs(10),
        }
    }

    fn shape(q: &str) -> Shape {
        read(
            &promql_parser::parser::parse(q).unwrap(),
            &Reader::new(&Recordings::new()),
        )
        .unwrap()
    }

    fn at(q: &str, step: Step, hold: u64) -> Timing {
        let k = Knowledge {
            intervals: seed_intervals(),
            buckets: &|_| None,
        };
        time_to_fire(
            &shape(q),
            step,
            Duration::from_secs(hold),
            Duration::ZERO,
            &k,
        )
        .unwrap()
    }

    #[test]
    fn an_aggregated_version_of_the_seeds_rule_fires_in_two_and_a_half_to_three_minutes_at_50_percent(
    ) {
        let rule = "sum(rate(e[5m])) / sum(rate(t[5m])) > 0.05";
        let firing = at(rule, Step::ErrorShare(0.5), 120).firing.unwrap();
        // C = 0.1 × (300 − 15) = 28.5 s best, 0.1 × 300 = 30 s worst.
        assert!((firing.best_seconds - 148.5).abs() < 1e-6, "{firing:?}");
        assert!((firing.worst_seconds - 195.0).abs() < 1e-6, "{firing:?}");
        let firing = at(rule, Step::ErrorShare(0.06), 120).firing.unwrap();
        assert!((firing.best_seconds - 357.5).abs() < 1e-6, "{firing:?}");
        assert!((firing.worst_seconds - 415.0).abs() < 1e-6, "{firing:?}");
        assert!(at(rule, Step::ErrorShare(0.04), 120).firing.is_none());
        // The same rule written as a percentage, with a traffic guard.
        let scaled = "sum(rate(e[5m])) / sum(rate(t[5m])) * 100 > 5 and sum(rate(t[5m])) > 1";
        assert_eq!(
            at(scaled, Step::ErrorShare(0.5), 120).firing,
            at(rule, Step::ErrorShare(0.5), 120).firing
        );
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
        let eq_zero = r#"up{job="a"} == 0"#;
        assert!(at(eq_zero, Step::TargetRemoved, 60).firing.is_none());
        let absent = r#"absent(up{job="a"} == 1)"#;
        assert!(
            at(absent, Step::TargetRemoved, 60)
                .firing
                .unwrap()
                .worst_seconds
                > 60.0
        );
        assert_eq!(
            at(eq_zero, Step::ScrapeFails, 60)
                .firing
                .unwrap()
                .worst_seconds,
            10.0 + 15.0 + 30.0 + 60.0
        );
        // absent(up) without `== 1`: a failed scrape writes up 0, which is present.
        let bare = r#"absent(up{job="a"})"#;
        assert!(at(bare, Step::ScrapeFails, 60).firing.is_none());
        assert!(at(bare, Step::TargetRemoved, 60).firing.is_some());
    }

    #[test]
    fn a_quantile_needs_more_than_its_tail_to_be_slow() {
        let rule = "histogram_quantile(0.95, sum by (le) (rate(h_bucket[5m]))) > 0.5";
        assert!(at(rule, Step::SlowShare(0.04), 0).firing.is_none());
        // 5% of 285 s best, of 300 s + 15 + 30 worst.
        let firing = at(rule, Step::SlowShare(1.0), 0).firing.unwrap();
        assert!(
            (firing.best_seconds - 14.25).abs() < 1e-6
                && (firing.worst_seconds - 60.0).abs() < 1e-6,
            "{firing:?}"
        );
    }

    #[test]
    fn gauges_ages_and_windows() {
        // A gauge: the next scrape, then the next evaluation, then `for`.
        let t = at("node_load1 > 10", Step::Crosses, 300);
        let firing = t.firing.unwrap();
        assert_eq!((firing.best_seconds, firing.worst_seconds), (300.0, 345.0));
        // time() − x: exactly the threshold after x stops, no scrape needed.
        let t = at(
            "time() - last_success_timestamp_seconds > 3600",
            Step::Stops,
            0,
        );
        let pending = t.pending.unwrap();
        assert_eq!(
            (pending.best_seconds, pending.worst_seconds),
            (3600.0, 3630.0)
        );
        // One OOM kill in a 1m window holds 45 s: `for: 5m` never fires.
        let t = at("increase(node_vmstat_oom_kill[1m]) > 0", Step::Event, 300);
        assert!(t.firing.is_none(), "{t:?}");
        assert!(at("increase(node_vmstat_oom_kill[1m]) > 0", Step::Event, 0)
            .firing
            .is_some());
        // A window with one sample at every evaluation returns nothing.
        let t = at("rate(x[10s]) > 1", Step::RateMultiple(10.0), 0);
        assert_eq!((t.firing, t.finding), (None, Some("range/too-short")));
    }
}
