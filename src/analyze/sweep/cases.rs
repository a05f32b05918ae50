//! What a sweep tries: error ratios, fault shapes (a step that stays, a
//! burst of a given length), the alignments of scrapes and evaluations
//! against the fault's start (what the rest of firedrill calls "the phases
//! of scrapes and evaluations", which nobody controls — not a scenario's
//! phases), and the counters each case writes.

use serde::Serialize;

use super::synth::Role;

/// How the fault runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "shape", content = "seconds")]
pub enum FaultShape {
    /// Errors start and stay.
    Step,
    /// Errors for this many seconds, then none.
    Burst(f64),
}

impl FaultShape {
    /// When the fault ends (seconds after it started), if it does.
    pub fn end(&self) -> Option<f64> {
        match self {
            FaultShape::Step => None,
            FaultShape::Burst(d) => Some(*d),
        }
    }
}

/// One fault: its shape and its share of failing requests.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Case {
    #[serde(flatten)]
    pub shape: FaultShape,
    pub error_ratio: f64,
    /// Seconds of traffic before the fault, when not "since long before":
    /// a drill's fresh Prometheus holds only what the drill sent, and its
    /// error series appears with the first error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<f64>,
}

/// The error ratios a sweep tries: the given ones, or the default list
/// and each threshold ±10% (where the alert decides).
pub fn error_ratios(given: Option<&[f64]>, thresholds: &[f64]) -> Vec<f64> {
    let mut ratios: Vec<f64> = match given {
        Some(given) => given.to_vec(),
        None => {
            let mut all = vec![1.0, 0.5, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001];
            for t in thresholds {
                if *t > 0.0 && *t < 1.0 {
                    all.push(round_ratio(t * 1.1).min(1.0));
                    all.push(round_ratio(t * 0.9));
                }
            }
            all
        }
    };
    ratios.retain(|r| *r > 0.0 && *r <= 1.0);
    ratios.sort_by(|a, b| b.total_cmp(a));
    ratios.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
    ratios
}

/// Four significant digits: ratios read well and stay distinct.
fn round_ratio(r: f64) -> f64 {
    let digits = 4 - (r.log10().floor() as i32) - 1;
    let scale = 10f64.powi(digits);
    (r * scale).round() / scale
}

/// Where scrapes and evaluations fall against the fault's start, which
/// nobody controls: samples at `sample + k·S` after it (the first within
/// S), evaluations at `tick + j·E`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Alignment {
    pub sample: f64,
    pub tick: f64,
}

/// Alignments spread over a scrape (where the first sample falls) and over
/// an evaluation interval (where the ticks fall): 2 × max(2, E/S), at most
/// 8; `dense`: 4 × 8, for a figure to hold a single measurement against.
pub fn alignments(scrape: f64, evaluation: f64, dense: bool) -> Vec<Alignment> {
    let (samples, ticks) = if dense {
        (4, 8)
    } else {
        (2, ((evaluation / scrape).round() as usize).clamp(2, 4))
    };
    let mut alignments = Vec::new();
    for k in 0..samples {
        let sample = (k as f64 + 0.5) * scrape / samples as f64;
        for i in 0..ticks {
            let tick = (sample + (i as f64 + 0.5) * evaluation / ticks as f64) % evaluation;
            alignments.push(Alignment {
                sample: round_ms(sample),
                tick: round_ms(tick),
            });
        }
    }
    alignments
}

pub fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// The counters of a case, at `u` seconds after the step: `rate` requests
/// per second since long before, a share `error_ratio` of them failing
/// while the fault runs. Bases keep every counter well above zero, as a
/// series that has counted for a while is (so rate()'s extrapolation is
/// not clipped at zero).
pub struct Counters {
    pub rate: f64,
    pub case: Case,
}

impl Counters {
    const BASE_TOTAL: f64 = 1.0e6;
    const BASE_BAD: f64 = 1.0e4;

    /// Whether the series of `role` exists at case time `u`: always, but
    /// with a history, from the traffic's start (and for failures, from the
    /// first failure: client libraries create a labelled series then).
    pub fn exists(&self, role: Role, u: f64) -> bool {
        match self.case.history {
            None => true,
            Some(history) => match role {
                Role::Bad => self.value(role, 0.0, u) > 0.0,
                _ => u >= -history,
            },
        }
    }

    /// Seconds of the fault in [start, u].
    fn faulty(&self, start: f64, u: f64) -> f64 {
        let end = self.case.shape.end().unwrap_or(f64::INFINITY);
        (u.min(end) - start.max(0.0)).max(0.0)
    }

    /// Requests of `role` counted by case time `u`, traffic having started
    /// at `start` (or `history` before the fault, from zero).
    pub fn value(&self, role: Role, start: f64, u: f64) -> f64 {
        if let Some(history) = self.case.history {
            let total = self.rate * (u + history).max(0.0);
            let bad = self.rate * self.case.error_ratio * self.faulty(0.0, u);
            return match role {
                Role::Total => total,
                Role::Bad => bad,
                Role::Good => total - bad,
            };
        }
        let total = Self::BASE_TOTAL + self.rate * (u - start).max(0.0);
        let bad = Self::BASE_BAD + self.rate * self.case.error_ratio * self.faulty(start, u);
        match role {
            Role::Total => total + Self::BASE_BAD,
            Role::Bad => bad,
            Role::Good => total - (bad - Self::BASE_BAD),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ratios_include_the_thresholds_neighbours() {
        let r = error_ratios(None, &[0.0144]);
        assert!(r.contains(&0.01584) && r.contains(&0.01296), "{r:?}");
        assert_eq!(r[0], 1.0);
        assert!(r.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn counters_follow_the_fault() {
        let c = Counters {
            rate: 10.0,
            case: Case {
                shape: FaultShape::Burst(60.0),
                error_ratio: 0.5,
                history: None,
            },
        };
        let bad = |u| c.value(Role::Bad, -100.0, u);
        let good = |u| c.value(Role::Good, -100.0, u);
        let total = |u| c.value(Role::Total, -100.0, u);
        assert_eq!(bad(30.0) - bad(0.0), 150.0);
        assert_eq!(bad(200.0) - bad(60.0), 0.0);
        assert_eq!(good(30.0) - good(0.0), 150.0);
        assert_eq!(total(30.0) - total(0.0), 300.0);
    }

    #[test]
    fn phases_spread_over_scrapes_and_ticks() {
        let p = alignments(30.0, 30.0, false);
        assert_eq!(p.len(), 4);
        assert!(p.iter().all(|p| p.tick >= 0.0 && p.tick < 30.0));
        assert_eq!(alignments(15.0, 60.0, false).len(), 8);
        assert_eq!(alignments(15.0, 60.0, true).len(), 32);
    }
}
