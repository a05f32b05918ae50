//! What a leaf's window does to its timing: a window that holds too few
//! samples never lets it hold (the `range/too-short` lint says the same,
//! from the same arithmetic in `condition`), or only at some phases; and
//! the arithmetic of a share of the window (or of its samples) that must
//! follow the step, which the per-signal answers share.

use super::model::{Bounds, Caveat, End, Knowledge, Response};
use crate::analyze::condition::{holding, Function, Holding, Leaf};
use crate::analyze::finding::LintId;
use crate::time::format_duration_secs;

/// The window and function of a windowed leaf.
fn window_of(leaf: &Leaf) -> Option<(std::time::Duration, Function)> {
    Some((leaf.signal.window()?, leaf.signal.function()?))
}

/// A window that holds too few samples at every evaluation: never (the
/// `range/too-short` lint says the same, from the same arithmetic).
pub(super) fn window_check(leaf: &Leaf, k: &Knowledge) -> Option<Response> {
    let (window, function) = window_of(leaf)?;
    let needed = function.samples_needed();
    (holding(needed, window, k.intervals.scrape) == Holding::Never).then(|| Response::Never {
        why: format!(
            "{function}() over {} holds fewer than {needed} samples at a scrape every {}: it {}",
            format_duration_secs(window.as_secs_f64()),
            format_duration_secs(k.intervals.scrape.as_secs_f64()),
            if function.returns_zero_when_short() {
                "returns 0 whatever the series does"
            } else {
                "returns nothing"
            }
        ),
        finding: Some(LintId::RangeTooShort),
    })
}

/// A window with enough samples at some phases only: it may never fire.
pub(super) fn with_window_caveat(response: Response, leaf: &Leaf, k: &Knowledge) -> Response {
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
        let needed = function.samples_needed();
        (holding(needed, window, k.intervals.scrape) == Holding::SomePhases).then(|| Caveat {
            why: format!(
                "{function}() over {} holds {needed} samples only at some phases of evaluations against scrapes (fixed when Prometheus starts): at the others it never fires",
                format_duration_secs(window.as_secs_f64())
            ),
            finding: Some(LintId::RangeTooShort),
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
pub(super) fn sample_span(w: f64, s: f64) -> f64 {
    (w - s).max(s.min(w))
}

/// A share `fraction` of the window must follow the step: after
/// fraction·(W − S) at best, fraction·W at worst (when the series is new),
/// plus the scrape; undone, the rest of the window must pass.
pub(super) fn window_share(fraction: f64, w: f64, s: f64, why: String) -> Response {
    let d = sample_span(w, s);
    Response::holds(
        Bounds::scraped(fraction * d, fraction * w, s),
        End::Undone(Some(Bounds::scraped(
            (1.0 - fraction) * d,
            (1.0 - fraction) * w,
            s,
        ))),
        why,
    )
}

/// The multiple of this leaf's threshold that a step to `m` × the primary's
/// reaches (the same counter compared twice, e.g. two windows).
pub(super) fn own_multiple(leaf: &Leaf, primary: &Leaf, m: f64) -> f64 {
    match (leaf.threshold, primary.threshold) {
        (Some(own), Some(theirs)) if own != 0.0 && theirs != 0.0 => m * theirs / own,
        _ => m,
    }
}

/// A share `fraction` of the window's samples must follow the step.
pub(super) fn sample_share(fraction: f64, w: f64, s: f64) -> Bounds {
    let fewest = (w / s + 1e-9).floor().max(1.0);
    let needed = |n: f64| (n * fraction + 1e-9).floor();
    Bounds::scraped(needed(fewest) * s, needed(fewest + 1.0) * s, s)
}
