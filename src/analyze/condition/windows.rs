//! How many samples a range window holds, and whether that is enough for
//! the function reading it. One answer for both the `range/too-short` lint
//! and the timing model, so that when the lint says a window returns
//! nothing the timing says "never" (and points at the finding).
//!
//! Prometheus 2.x selects the samples of `x[W]` at evaluation time T from
//! [T−W, T]. With a sample every S, that is ⌊W/S⌋ samples, one more at some
//! phases when W/S is not a whole number (scrape and evaluation timestamps
//! each keep their own fixed offset, so an exact multiple gains the extra
//! sample at no phase that matters). What each function needs is the
//! function's own (`Function::samples_needed`).

use std::time::Duration;

/// How a window of W serves a function needing `needed` samples at one
/// sample every S.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Holding {
    /// Fewer than needed at every evaluation.
    Never,
    /// Enough at some phases of evaluations against scrapes, too few at others.
    SomePhases,
    /// Enough, but one missed scrape leaves too few.
    OneMissed,
    /// Enough after one missed scrape, not after two in a row.
    TwoMissed,
    Enough,
}

/// The fewest and most samples a window of `w` holds at one every `s`.
pub fn sample_count(w: Duration, s: Duration) -> (usize, usize) {
    let ratio = w.as_secs_f64() / s.as_secs_f64().max(1e-9);
    let fewest = (ratio + 1e-9).floor() as usize;
    let whole = (ratio - ratio.round()).abs() < 1e-9;
    (fewest, if whole { fewest } else { fewest + 1 })
}

pub fn holding(needed: usize, w: Duration, s: Duration) -> Holding {
    let (fewest, most) = sample_count(w, s);
    if most < needed {
        Holding::Never
    } else if fewest < needed {
        Holding::SomePhases
    } else if fewest < needed + 1 {
        Holding::OneMissed
    } else if fewest < needed + 2 && needed >= 2 {
        // The usual "at least four scrape intervals" for rate() and friends;
        // a function that needs one sample is fine with two.
        Holding::TwoMissed
    } else {
        Holding::Enough
    }
}

/// The scrape interval above which a window of `w` falls to `level` (or
/// worse) for a function needing `needed` samples: ⌊W/S⌋ < k ⇔ S > W/k.
pub fn interval_above_which(level: Holding, needed: usize, w: Duration) -> Duration {
    let k = match level {
        Holding::Never | Holding::SomePhases => needed,
        Holding::OneMissed => needed + 1,
        Holding::TwoMissed | Holding::Enough => needed + 2,
    };
    w / k.max(1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn rate_needs_two_samples_and_over_time_one() {
        // rate over 1m at 1m: one sample at every evaluation.
        assert_eq!(holding(2, s(60), s(60)), Holding::Never);
        // 90s at 1m: one or two, depending on the phase.
        assert_eq!(holding(2, s(90), s(60)), Holding::SomePhases);
        // 30s at 15s: two, and one missed scrape leaves one.
        assert_eq!(holding(2, s(30), s(15)), Holding::OneMissed);
        // Three scrapes: one missed leaves two, two in a row leave one.
        assert_eq!(holding(2, s(45), s(15)), Holding::TwoMissed);
        assert_eq!(holding(2, s(60), s(15)), Holding::Enough);
        // max_over_time over 1m at 1m holds one sample: enough.
        assert_eq!(holding(1, s(60), s(60)), Holding::OneMissed);
        assert_eq!(holding(1, s(30), s(60)), Holding::SomePhases);
        assert_eq!(holding(1, s(60), s(30)), Holding::Enough);
    }

    #[test]
    fn the_interval_at_which_a_window_becomes_too_short() {
        assert_eq!(interval_above_which(Holding::SomePhases, 2, s(120)), s(60));
        assert_eq!(interval_above_which(Holding::TwoMissed, 2, s(120)), s(30));
    }
}
