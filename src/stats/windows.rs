//! An error ratio over a sliding window, evaluated at every interval and
//! held for `for` before it fires — an alerting rule as Prometheus runs it —
//! with each request failing at random: how likely it is to go pending, or
//! to fire, within a span of a run, given the requests each window held.
//!
//! Consecutive windows overlap, so their crossings are not independent and
//! no product of per-evaluation chances is right; the span's chance is
//! simulated instead (seeded, so a figure is the same every time it is
//! computed), beside each evaluation's exact binomial chance.
//!
//! What it leaves out: `rate()`'s extrapolation to the window's edges and
//! the scrapes' sampling (the window is taken as the requests answered in
//! it), and a series that does not exist until its first error.

use std::ops::Range;

use super::binomial;

/// One second of a run's traffic: the requests answered in it, and the
/// chance that each one failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Second {
    pub requests: u64,
    pub error_share: f64,
}

/// A run's traffic, second by second from its start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Traffic {
    pub seconds: Vec<Second>,
}

impl Traffic {
    /// The seconds a window ending at `t` holds: those whose middle lies in
    /// `(t − window, t]`.
    fn range(&self, t: f64, window: f64) -> Range<usize> {
        let bound = |x: f64| (x.floor() + 1.0).clamp(0.0, self.seconds.len() as f64) as usize;
        let (from, to) = (bound(t - window - 0.5), bound(t - 0.5));
        from..to.max(from)
    }

    /// The requests a window ending at `t` held.
    pub fn held(&self, t: f64, window: f64) -> u64 {
        self.seconds[self.range(t, window)]
            .iter()
            .map(|s| s.requests)
            .sum()
    }

    /// The requests a window ending at `t` held, and the share of them
    /// expected to fail.
    fn expected(&self, t: f64, window: f64) -> (u64, f64) {
        let seconds = &self.seconds[self.range(t, window)];
        let requests: u64 = seconds.iter().map(|s| s.requests).sum();
        let errors: f64 = seconds
            .iter()
            .map(|s| s.requests as f64 * s.error_share)
            .sum();
        (
            requests,
            if requests == 0 {
                0.0
            } else {
                errors / requests as f64
            },
        )
    }
}

/// An alerting rule over an error ratio: `errors / requests` over the
/// window, compared with the threshold (`>`, or `>=` when inclusive) at
/// every evaluation, firing once it has held for `for`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioRule {
    pub window_seconds: f64,
    pub threshold: f64,
    pub inclusive: bool,
    pub evaluation_seconds: f64,
    pub for_seconds: f64,
}

impl RatioRule {
    /// Whether a window holding `errors` of `requests` crosses the
    /// threshold (an empty window has no ratio, so never does).
    fn crosses(&self, errors: u64, requests: u64) -> bool {
        if requests == 0 {
            return false;
        }
        let ratio = errors as f64 / requests as f64;
        ratio > self.threshold || (self.inclusive && ratio >= self.threshold)
    }

    /// The chance that one evaluation of a window of `requests`, each
    /// failing with probability `error_share`, crosses the threshold.
    pub fn crossing_chance(&self, requests: u64, error_share: f64) -> f64 {
        if requests == 0 {
            return 0.0;
        }
        let limit = self.threshold * requests as f64;
        if self.inclusive {
            binomial::at_least(requests, error_share, limit.ceil().max(0.0) as u64)
        } else {
            binomial::more_than(requests, error_share, limit.floor().max(0.0) as u64)
        }
    }
}

/// Seconds from the run's start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub from: f64,
    pub to: f64,
}

/// How often something happened in simulated runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chance {
    pub hits: u32,
    pub trials: u32,
}

impl Chance {
    pub fn share(&self) -> f64 {
        if self.trials == 0 {
            0.0
        } else {
            self.hits as f64 / self.trials as f64
        }
    }

    /// `23%`, `0.4%`, or `under 0.05%` (no hit: below the simulation's
    /// resolution, not zero).
    pub fn text(&self) -> String {
        if self.hits == 0 {
            return format!("under {}", percent(1.0 / self.trials.max(1) as f64));
        }
        percent(self.share())
    }
}

/// A probability as people read it: `23%`, `4.5%`, `0.40%`, `0.012%`.
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p == 0.0 {
        "0%".to_string()
    } else if p >= 10.0 {
        format!("{p:.0}%")
    } else if p >= 1.0 {
        format!("{p:.1}%")
    } else if p >= 0.1 {
        format!("{p:.2}%")
    } else if p >= 1e-4 {
        format!("{}%", crate::time::trim_float((p * 1e4).round() / 1e4))
    } else {
        format!("{share:.0e}")
    }
}

/// What random errors do to a rule within a span.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Noise {
    /// Runs in which the alert was pending or firing at an evaluation
    /// inside the span.
    pub pending: Chance,
    /// Runs in which it was firing at an evaluation inside the span.
    pub firing: Chance,
    /// The largest chance, over the span's evaluations, that one of them
    /// crosses the threshold (binomial, exact, for the window it held).
    pub per_evaluation: f64,
}

/// The state of an alert between evaluations.
#[derive(Clone, Copy)]
enum State {
    Inactive,
    Pending { since: f64 },
    Firing,
}

/// The chance that errors at random, at each second's `error_share`, make
/// `rule` go pending or fire inside `span`: `trials` runs of the whole
/// traffic up to the span's end (windows reach back, and `for` carries
/// over), each with its own alignment of evaluations, seeded by `seed`.
pub fn noise(traffic: &Traffic, rule: &RatioRule, span: Span, trials: u32, seed: u64) -> Noise {
    let mut rng = fastrand::Rng::with_seed(seed);
    let evaluation = rule.evaluation_seconds.max(0.001);
    let (mut pending, mut firing) = (0, 0);
    let mut errors = vec![0u64; traffic.seconds.len() + 1];
    for _ in 0..trials {
        // Errors drawn second by second, summed so a window is two lookups.
        for (i, second) in traffic.seconds.iter().enumerate() {
            errors[i + 1] = errors[i] + draw(&mut rng, second.requests, second.error_share);
        }
        let mut state = State::Inactive;
        let (mut seen_pending, mut seen_firing) = (false, false);
        let mut t = rng.f64() * evaluation;
        while t <= span.to {
            let range = traffic.range(t, rule.window_seconds);
            let requests = traffic.seconds[range.clone()]
                .iter()
                .map(|s| s.requests)
                .sum();
            state = step(
                state,
                rule.crosses(errors[range.end] - errors[range.start], requests),
                t,
                rule.for_seconds,
            );
            if t >= span.from {
                seen_pending |= !matches!(state, State::Inactive);
                seen_firing |= matches!(state, State::Firing);
            }
            t += evaluation;
        }
        pending += u32::from(seen_pending);
        firing += u32::from(seen_firing);
    }
    Noise {
        pending: Chance {
            hits: pending,
            trials,
        },
        firing: Chance {
            hits: firing,
            trials,
        },
        per_evaluation: per_evaluation(traffic, rule, span),
    }
}

/// Prometheus's `for`: pending at the first evaluation that holds, firing
/// at the first one at least `for` later, inactive at any that does not.
fn step(state: State, holds: bool, t: f64, for_seconds: f64) -> State {
    match (holds, state) {
        (false, _) => State::Inactive,
        (true, State::Firing) => State::Firing,
        (true, State::Inactive) if for_seconds <= 0.0 => State::Firing,
        (true, State::Inactive) => State::Pending { since: t },
        (true, State::Pending { since }) if t - since >= for_seconds - 1e-9 => State::Firing,
        (true, pending) => pending,
    }
}

/// The largest chance that one evaluation inside the span crosses.
fn per_evaluation(traffic: &Traffic, rule: &RatioRule, span: Span) -> f64 {
    let evaluation = rule.evaluation_seconds.max(0.001);
    let mut largest: f64 = 0.0;
    let mut t = span.from;
    while t <= span.to {
        let (requests, share) = traffic.expected(t, rule.window_seconds);
        largest = largest.max(rule.crossing_chance(requests, share));
        t += evaluation;
    }
    largest
}

/// A draw from `Binomial(n, p)`: by inversion while the mean is small,
/// from the normal approximation above that (its error is far below what
/// a verdict's figure shows).
fn draw(rng: &mut fastrand::Rng, n: u64, p: f64) -> u64 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    let mean = n as f64 * p;
    if mean < 30.0 {
        let ratio = p / (1.0 - p);
        let mut term = (n as f64 * (1.0 - p).ln()).exp();
        let (mut k, mut cumulative, u) = (0u64, term, rng.f64());
        while u > cumulative && k < n {
            term *= ratio * (n - k) as f64 / (k + 1) as f64;
            k += 1;
            cumulative += term;
        }
        return k;
    }
    // Box–Muller.
    let (u1, u2) = (rng.f64().max(f64::MIN_POSITIVE), rng.f64());
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    (mean + z * (mean * (1.0 - p)).sqrt())
        .round()
        .clamp(0.0, n as f64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steady(seconds: usize, rate: u64, error_share: f64) -> Traffic {
        Traffic {
            seconds: vec![
                Second {
                    requests: rate,
                    error_share
                };
                seconds
            ],
        }
    }

    /// The rule compressed ten-fold: 5% over 30s, evaluated every
    /// 3s, `for` 6s.
    fn rule() -> RatioRule {
        RatioRule {
            window_seconds: 30.0,
            threshold: 0.05,
            inclusive: false,
            evaluation_seconds: 3.0,
            for_seconds: 6.0,
        }
    }

    #[test]
    fn windows_hold_the_seconds_they_cover() {
        let traffic = steady(100, 10, 0.0);
        assert_eq!(traffic.held(30.0, 30.0), 300);
        assert_eq!(
            traffic.held(5.0, 30.0),
            50,
            "a window reaching back before the run"
        );
        assert_eq!(traffic.held(200.0, 30.0), 0, "after the traffic");
    }

    #[test]
    fn a_production_sized_window_does_not_fire_on_two_percent_and_a_thin_one_can() {
        // 48s of a compressed 8-minute phase after 30s that fill the windows.
        let span = Span {
            from: 30.0,
            to: 78.0,
        };
        let scaled = noise(&steady(78, 200, 0.02), &rule(), span, 500, 7);
        assert_eq!(scaled.pending.hits, 0);
        assert!(scaled.per_evaluation < 1e-30, "{}", scaled.per_evaluation);
        // Evaluated from the first second, thin windows cross often.
        let thin = noise(
            &steady(78, 20, 0.02),
            &rule(),
            Span {
                from: 0.0,
                to: 78.0,
            },
            500,
            7,
        );
        assert!(thin.pending.share() > 0.03, "{:?}", thin.pending);
        assert!(thin.firing.hits <= thin.pending.hits);
    }

    #[test]
    fn errors_above_the_threshold_fire_and_seeds_repeat() {
        let traffic = steady(60, 100, 0.2);
        let span = Span {
            from: 30.0,
            to: 60.0,
        };
        let a = noise(&traffic, &rule(), span, 200, 1);
        assert_eq!(a.firing.hits, 200);
        assert_eq!(a, noise(&traffic, &rule(), span, 200, 1));
    }

    #[test]
    fn for_holds_the_alert_pending_before_it_fires() {
        let mut state = State::Inactive;
        for (t, holds) in [(0.0, true), (3.0, true), (6.0, true)] {
            state = step(state, holds, t, 6.0);
        }
        assert!(matches!(state, State::Firing));
        assert!(matches!(
            step(State::Firing, false, 9.0, 6.0),
            State::Inactive
        ));
        assert!(matches!(
            step(State::Inactive, true, 0.0, 0.0),
            State::Firing
        ));
    }

    #[test]
    fn draws_keep_their_mean() {
        let mut rng = fastrand::Rng::with_seed(3);
        for (n, p) in [(50u64, 0.02f64), (10_000, 0.3)] {
            let total: u64 = (0..2000).map(|_| draw(&mut rng, n, p)).sum();
            let mean = total as f64 / 2000.0;
            assert!(
                (mean - n as f64 * p).abs() < 0.05 * n as f64 * p + 0.1,
                "{n} {p}: {mean}"
            );
        }
    }

    #[test]
    fn shares_read_as_people_write_them() {
        assert_eq!(percent(0.23), "23%");
        assert_eq!(percent(0.045), "4.5%");
        assert_eq!(percent(0.004), "0.40%");
        assert_eq!(
            Chance {
                hits: 0,
                trials: 2000
            }
            .text(),
            "under 0.05%"
        );
    }
}
