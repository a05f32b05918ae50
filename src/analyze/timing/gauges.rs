//! When a leaf over a gauge or a target's scrapes starts and stops
//! holding after a step: `*_over_time` of a gauge, a gauge itself, `up`,
//! `absent()`, an age (`time() - x`) and a constant. A change the target
//! shows waits for the next scrape; a change only the clock makes (an age
//! growing, a window sliding past an old sample) does not.

use super::model::{Bounds, End, Knowledge, Response, Step};
use super::window::{own_multiple, sample_share};
use crate::analyze::condition::{AbsentOf, Direction, Function, Leaf};
use crate::time::format_duration_secs;

/// A window's start and end of holding, and the arithmetic in words (or
/// the answer when there is none).
type Held = Result<(Bounds, Bounds, String), Response>;

pub(super) fn over_time(
    leaf: &Leaf,
    step: Step,
    primary: &Leaf,
    (w, timeout): (f64, f64),
    function: Function,
    s: f64,
) -> Response {
    let found = match function {
        Function::LastOverTime | Function::MaxOverTime | Function::MinOverTime => {
            extremes(leaf, step, function, w, s)
        }
        Function::AvgOverTime | Function::SumOverTime => {
            averages(leaf, step, primary, (w, timeout), function, s)
        }
        _ => Err(Response::Unknown(format!("this step on {function}()"))),
    };
    match found {
        Ok((start, undone, why)) => Response::holds(
            start,
            End::Undone(Some(undone)),
            format!("{function}(): {why}"),
        ),
        Err(response) => response,
    }
}

/// `last_over_time`, `max_over_time`, `min_over_time`: one sample decides.
fn extremes(leaf: &Leaf, step: Step, function: Function, w: f64, s: f64) -> Held {
    use Function::{LastOverTime, MaxOverTime, MinOverTime};
    let at_next = Bounds::scraped(0.0, 0.0, s);
    let slid = Bounds::new(w - s, w);
    match (step, function, leaf.direction) {
        (Step::Crosses, LastOverTime, _) => Ok((at_next, at_next, "the last sample".to_string())),
        // On a 0/1 gauge, `max_over_time(x) == 0` is "every sample 0",
        // `min_over_time(x) == 0` "some sample 0".
        (Step::Crosses, MaxOverTime, Direction::Above)
        | (Step::Crosses, MinOverTime, Direction::Below | Direction::Equal) => Ok((
            at_next,
            slid,
            format!(
                "one sample past the threshold is enough; undone, it stays in the {} window",
                format_duration_secs(w)
            ),
        )),
        (Step::Crosses, MinOverTime, Direction::Above)
        | (Step::Crosses, MaxOverTime, Direction::Below | Direction::Equal) => Ok((
            slid,
            at_next,
            format!(
                "every sample in the {} window must be past the threshold",
                format_duration_secs(w)
            ),
        )),
        _ => Err(Response::Unknown(format!("this step on {function}()"))),
    }
}

/// `avg_over_time`, `sum_over_time`: a share of the samples decides.
fn averages(
    leaf: &Leaf,
    step: Step,
    primary: &Leaf,
    (w, timeout): (f64, f64),
    function: Function,
    s: f64,
) -> Held {
    match (step, leaf.direction) {
        (Step::RateMultiple(m), Direction::Above) => {
            let m = own_multiple(leaf, primary, m);
            if m <= 1.0 {
                return Err(Response::never("the value never gets past the threshold"));
            }
            Ok((
                sample_share(1.0 / m, w, s),
                sample_share(1.0 - 1.0 / m, w, s),
                format!(
                    "more than 1/{m} of the samples in the {} window must follow the step",
                    format_duration_secs(w)
                ),
            ))
        }
        (Step::FallsFrom(m), Direction::Below) => {
            let m = own_multiple(leaf, primary, m);
            if m <= 1.0 {
                return Err(Response::never("the value was already below the threshold"));
            }
            Ok((
                sample_share(1.0 - 1.0 / m, w, s),
                sample_share(1.0 / m, w, s),
                format!(
                    "more than {:.2} of the samples in the {} window must follow the drop",
                    1.0 - 1.0 / m,
                    format_duration_secs(w)
                ),
            ))
        }
        // up steps from 1 to 0: the average falls below θ once more than
        // 1 − θ of the samples are failed scrapes.
        (Step::ScrapeFails, Direction::Below) if function == Function::AvgOverTime => {
            let Some(t) = leaf.threshold.filter(|t| *t > 0.0 && *t <= 1.0) else {
                return Err(Response::Unknown(
                    "this comparison of avg_over_time(up)".into(),
                ));
            };
            // A failed scrape writes its 0 up to the scrape timeout late.
            let start = sample_share(1.0 - t, w, s).plus(0.0, timeout);
            Ok((
                start,
                sample_share(t, w, s),
                format!(
                    "more than {:.0}% of the scrapes in the {} window must fail",
                    (1.0 - t) * 100.0,
                    format_duration_secs(w)
                ),
            ))
        }
        (Step::Crosses, _) => Ok((
            Bounds::scraped(0.0, 0.0, s),
            Bounds::new(w - s, w),
            "any sample past 0 moves it past 0".to_string(),
        )),
        _ => Err(Response::Unknown(format!("this step on {function}()"))),
    }
}

pub(super) fn gauge(step: Step, s: f64) -> Response {
    if step != Step::Crosses {
        return Response::Unknown("this step on a gauge".into());
    }
    Response::holds(
        Bounds::scraped(0.0, 0.0, s),
        End::Undone(Some(Bounds::scraped(0.0, 0.0, s))),
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

pub(super) fn up(leaf: &Leaf, step: Step, k: &Knowledge) -> Response {
    // `sum(up) > 1`: a number of healthy targets, crossing like a gauge.
    if !zero_holds(leaf) {
        return gauge(step, k.intervals.scrape.as_secs_f64());
    }
    let s = k.intervals.scrape.as_secs_f64();
    match step {
        Step::ScrapeFails => scrape_fails(k, "the next scrape fails", "writes up = 0"),
        Step::TargetRemoved => Response::never(
            "service discovery drops a deleted pod's target: its `up` goes stale, it never becomes 0, so `up == 0` never holds (absent(up{…} == 1) does)",
        ),
        _ => Response::Unknown(format!("this step on up (scrape every {})", format_duration_secs(s))),
    }
}

fn scrape_fails(k: &Knowledge, what: &str, writes: &str) -> Response {
    let s = k.intervals.scrape.as_secs_f64();
    let timeout = k.intervals.scrape_timeout.as_secs_f64();
    Response::holds(
        Bounds::scraped(0.0, timeout, s),
        End::Undone(Some(Bounds::scraped(0.0, 0.0, s))),
        format!(
            "{what} (refused at once, or after the {} scrape timeout) and {writes}",
            format_duration_secs(timeout)
        ),
    )
}

pub(super) fn absent(
    of: AbsentOf,
    window: Option<std::time::Duration>,
    step: Step,
    k: &Knowledge,
) -> Response {
    let s = k.intervals.scrape.as_secs_f64();
    let back = End::Undone(Some(Bounds::scraped(0.0, s, s)));
    match (step, of, window) {
        (Step::ScrapeFails, AbsentOf::Up, _) => Response::never(
            "a failed scrape writes `up 0`, which is present: absent(up{…}) stays empty while the target is discovered (absent(up{…} == 1) fires)",
        ),
        (Step::ScrapeFails, _, None) => scrape_fails(
            k,
            "the next scrape fails",
            "marks the target's series stale (up = 0 for `up`)",
        ),
        (Step::ScrapeFails, _, Some(w)) => {
            let w = w.as_secs_f64();
            Response::holds(
                Bounds::new(w - s, w),
                back,
                format!("the last sample leaves the {} window {}–{} after the step", format_duration_secs(w), format_duration_secs(w - s), format_duration_secs(w)),
            )
        }
        // The scrape loop, stopped when discovery drops the target (within
        // 5s), writes the stale markers itself — no scrape to wait for — two
        // of its ticks and a tenth of an interval after its last scrape
        // (scrape/scrape.go `endOfRunStaleness`): 1.1–2.1 intervals after the
        // drop, the last scrape having come up to one interval before it.
        (Step::TargetRemoved, _, None) => Response::holds(
            Bounds::new(1.1 * s, 2.1 * s + 5.0),
            back,
            format!(
                "discovery drops the target within 5s and the scrape loop writes the stale markers two ticks and a tenth of an interval after its last scrape: after {}–{}",
                format_duration_secs(1.1 * s),
                format_duration_secs(2.1 * s + 5.0)
            ),
        ),
        (Step::TargetRemoved, _, Some(w)) => {
            let w = w.as_secs_f64();
            Response::holds(
                Bounds::new(w - s, w + 5.0),
                back,
                format!(
                    "the last sample (discovery drops the target within 5s) leaves the {} window",
                    format_duration_secs(w)
                ),
            )
        }
        _ => Response::Unknown("this step on absent()".into()),
    }
}

pub(super) fn age(leaf: &Leaf, step: Step, s: f64) -> Response {
    let Some(threshold) = leaf.threshold else {
        return Response::Unknown("an age scaled by a gauge".into());
    };
    match (step, leaf.direction) {
        (Step::Stops, Direction::Above) => Response::holds(
            Bounds::new(threshold.max(0.0), threshold.max(0.0)),
            End::Undone(Some(Bounds::scraped(0.0, 0.0, s))),
            format!(
                "time() − x passes {} that long after x last advanced (while x is still scraped: once its series goes stale the alert stops)",
                format_duration_secs(threshold)
            ),
        ),
        (Step::Event, Direction::Below) => Response::holds(
            Bounds::scraped(0.0, 0.0, s),
            End::Pulse(Bounds::new(threshold.max(0.0), threshold.max(0.0))),
            format!("x jumps to the present (a restart) at the next scrape, and stays younger than {} for that long", format_duration_secs(threshold)),
        ),
        _ => Response::Unknown("this step on an age".into()),
    }
}

pub(super) fn constant(leaf: &Leaf, value: f64, step: Step) -> Response {
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
        return Response::never(format!(
            "the constant {value} never satisfies `{}`",
            leaf.text
        ));
    }
    Response::holds(
        Bounds::new(0.0, 0.0),
        End::Undone(None),
        "a constant holds from the first evaluation after the rules are loaded".into(),
    )
}
