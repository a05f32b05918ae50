//! When each request of an open-model phase is meant to be sent.
//!
//! Request `i` has an intended send time fixed before the run, whatever the
//! target does; the engine measures latency from it, so a stalled target
//! cannot make firedrill send less and hide the stall (no coordinated
//! omission). For a linear ramp from r0 to r1 over D, the number of requests
//! due by time t is N(t) = r0·t + (r1−r0)·t²/(2D); request i is due when
//! N(t) = i, solved for t.

use std::time::Duration;

use crate::plan::RateShape;

#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    from: f64,
    to: f64,
    duration: f64,
    total: u64,
}

impl Schedule {
    pub fn new(rate: RateShape, duration: Duration) -> Self {
        let duration = duration.as_secs_f64();
        let expected = (rate.from + rate.to) / 2.0 * duration;
        Schedule {
            from: rate.from,
            to: rate.to,
            duration,
            // Request i is due at N(t) = i; the last one due within the phase
            // is floor(N(D) − ε).
            total: (expected - 1e-9).ceil().max(0.0) as u64,
        }
    }

    /// How many requests the phase sends.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The intended send time of request `i`, from the phase's start, or
    /// `None` past the end of the phase.
    pub fn offset(&self, i: u64) -> Option<Duration> {
        if i >= self.total {
            return None;
        }
        let n = i as f64;
        if i == 0 {
            return Some(Duration::ZERO);
        }
        let t = if (self.to - self.from).abs() < 1e-12 {
            n / self.from
        } else {
            // Solve a·t² + b·t − n = 0 with a = (r1−r0)/(2D), b = r0, for the
            // root in [0, D]. Written as 2n / (b + sqrt(b² + 4an)) to stay
            // exact when a is tiny and when r0 is 0.
            let a = (self.to - self.from) / (2.0 * self.duration);
            let b = self.from;
            let discriminant = (b * b + 4.0 * a * n).max(0.0);
            let denominator = b + discriminant.sqrt();
            if denominator <= 0.0 {
                return None;
            }
            2.0 * n / denominator
        };
        Some(Duration::from_secs_f64(t.clamp(0.0, self.duration)))
    }
}

/// Picks which request of a weighted mix ticket `i` sends: smooth weighted
/// round robin laid out once, so the proportions are exact over every cycle
/// and a run is the same every time (the seed's mixed traffic alternates
/// valid and invalid requests exactly).
#[derive(Debug, Clone)]
pub struct MixTable {
    order: Vec<u32>,
}

impl MixTable {
    pub fn new(weights: &[u32]) -> Self {
        let total: i64 = weights.iter().map(|w| *w as i64).sum();
        let mut current = vec![0i64; weights.len()];
        let mut order = Vec::with_capacity(total.max(1) as usize);
        for _ in 0..total {
            for (c, w) in current.iter_mut().zip(weights) {
                *c += *w as i64;
            }
            let (best, _) = current
                .iter()
                .enumerate()
                .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
                .expect("weights are not empty when total > 0");
            current[best] -= total;
            order.push(best as u32);
        }
        if order.is_empty() {
            order.push(0);
        }
        MixTable { order }
    }

    pub fn pick(&self, ticket: u64) -> usize {
        self.order[(ticket % self.order.len() as u64) as usize] as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constant(rate: f64) -> RateShape {
        RateShape {
            from: rate,
            to: rate,
        }
    }

    #[test]
    fn constant_rate_spaces_requests_evenly() {
        let s = Schedule::new(constant(10.0), Duration::from_secs(2));
        assert_eq!(s.total(), 20);
        assert_eq!(s.offset(0), Some(Duration::ZERO));
        assert_eq!(s.offset(5), Some(Duration::from_millis(500)));
        assert_eq!(s.offset(19), Some(Duration::from_millis(1900)));
        assert_eq!(s.offset(20), None);
    }

    #[test]
    fn ramps_send_the_area_under_the_rate() {
        let ramp = RateShape {
            from: 0.0,
            to: 100.0,
        };
        let s = Schedule::new(ramp, Duration::from_secs(10));
        assert_eq!(s.total(), 500);
        // Half the requests of a ramp from zero are due at D/√2.
        let half = s.offset(250).unwrap().as_secs_f64();
        assert!((half - 10.0 / 2f64.sqrt()).abs() < 1e-6, "{half}");
        // Offsets increase and stay within the phase.
        let offsets: Vec<_> = (0..500).map(|i| s.offset(i).unwrap()).collect();
        assert!(offsets.windows(2).all(|w| w[0] <= w[1]));
        assert!(*offsets.last().unwrap() <= Duration::from_secs(10));
        let down = Schedule::new(
            RateShape {
                from: 100.0,
                to: 0.0,
            },
            Duration::from_secs(10),
        );
        assert_eq!(down.total(), 500);
        assert!(down.offset(250).unwrap() < Duration::from_secs(3));
    }

    #[test]
    fn a_mix_keeps_exact_proportions_and_interleaves() {
        let mix = MixTable::new(&[1, 1]);
        let picks: Vec<_> = (0..6).map(|i| mix.pick(i)).collect();
        assert_eq!(picks, vec![0, 1, 0, 1, 0, 1]);
        let mix = MixTable::new(&[3, 1]);
        let picks: Vec<_> = (0..8).map(|i| mix.pick(i)).collect();
        assert_eq!(picks.iter().filter(|p| **p == 1).count(), 2);
        assert_ne!(
            picks[0..4],
            [0, 0, 0, 1][..],
            "spread, not bunched: {picks:?}"
        );
    }
}
