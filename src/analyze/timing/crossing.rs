//! When one leaf of a condition starts holding after a step, and when it
//! stops — the arithmetic per signal (`counters`, `gauges`), before the
//! evaluation that sees it (`fire` adds that, and `for`; `compose` joins
//! leaves along the tree).
//!
//! Times are seconds after the step, as a sample that makes the leaf hold
//! is in Prometheus: a change the target shows waits for the next scrape, up
//! to S (`Bounds::scraped`); a change only the clock makes (`time() - x`
//! growing, a window sliding past an old sample) does not.
//!
//! Windows follow Prometheus 2.x: `x[W]` at evaluation time T holds the
//! samples in [T−W, T]; rate() is the slope between the first and last of
//! them, extrapolated (promql/functions.go `extrapolatedRate`); the
//! `*_over_time` functions aggregate the samples, each counting once.

use super::counters::{any_increase, changes, delta, deriv, predict_linear, quantile, rate, ratio};
use super::gauges::{absent, age, constant, gauge, over_time, up};
use super::model::{Knowledge, Response, Step};
use super::window::{window_check, with_window_caveat};
use crate::analyze::condition::{Direction, Leaf, Signal};
use crate::analyze::finding::LintId;

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
            finding: Some(LintId::CountNeverZero),
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
            rate(leaf, step, primary, window.as_secs_f64(), *function, s)
        }
        Signal::OverTime { window, function } => over_time(
            leaf,
            step,
            primary,
            (
                window.as_secs_f64(),
                k.intervals.scrape_timeout.as_secs_f64(),
            ),
            *function,
            s,
        ),
        Signal::Changes { window, function } => {
            changes(leaf, step, window.as_secs_f64(), *function, k)
        }
        Signal::Delta { window, function } => delta(step, window.as_secs_f64(), *function, s),
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
