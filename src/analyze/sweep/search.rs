//! Finding when an alert's condition starts and stops holding, by probing
//! the evaluations after a fault (`promtool`), and what Prometheus's alert
//! state machine makes of it.
//!
//! Each track — one alert, one fault, one phase of scrapes and evaluations
//! — first probes a grid of evaluations: the first few after the fault
//! starts (and ends), then ever sparser (×1.5) up to the horizon, plus the
//! evaluations the timing model names. Wherever two neighbouring answers
//! differ, the evaluation between them is probed next, until every change
//! is pinned to two consecutive evaluations. Then the evaluations are run
//! through the alert's states as rules/alerting.go does: pending at the
//! first evaluation where the condition holds, firing at the first at least
//! `for` later (reset if one in between does not hold), resolved at the
//! first that does not hold once `keep_firing_for` has passed since the
//! condition stopped.

use std::collections::BTreeMap;

use super::cases::{Case, Phase};
use super::promtool::Probe;

/// One line of inquiry.
#[derive(Debug, Clone)]
pub struct Track {
    /// The track at the first phase of the same alert and fault, which
    /// this one waits for and searches around.
    pub leader: Option<usize>,
    pub subject: usize,
    pub case: Case,
    pub phase: Phase,
    /// The alert group's evaluation interval, seconds.
    pub evaluation: f64,
    /// How long after the fault's start (and, for a burst, its end) to look.
    pub horizon: f64,
    /// Instants (seconds after the start) worth probing first.
    pub seeds: Vec<f64>,
    /// What promtool answered, by evaluation (0: the first at or after the start).
    pub known: BTreeMap<i64, bool>,
}

impl Track {
    fn time(&self, j: i64) -> f64 {
        self.phase.tick + j as f64 * self.evaluation
    }

    fn tick_at_or_after(&self, t: f64) -> i64 {
        ((t - self.phase.tick) / self.evaluation - 1e-9).ceil() as i64
    }

    fn last(&self) -> i64 {
        let end = self.case.shape.end().unwrap_or(0.0);
        self.tick_at_or_after(end + self.horizon)
    }

    /// The grid: one evaluation before the fault, the first few after each
    /// anchor (the fault's start and end), then sparser by `factor`, and
    /// the evaluations around each seed.
    fn grid(&self, factor: f64, seeds: &[f64]) -> Vec<i64> {
        let mut ticks = vec![-1];
        let mut anchors = vec![0.0];
        anchors.extend(self.case.shape.end());
        let last = self.last();
        for anchor in anchors {
            let mut offset = 0.0;
            while offset <= self.horizon + self.evaluation {
                ticks.push(self.tick_at_or_after(anchor + offset));
                offset = if offset < 2.0 * self.evaluation {
                    offset + self.evaluation
                } else {
                    offset * factor
                };
            }
        }
        for seed in seeds {
            let j = self.tick_at_or_after(*seed);
            ticks.extend([j - 1, j, j + 1]);
        }
        ticks.push(last);
        ticks.retain(|j| (-1..=last).contains(j));
        ticks.sort_unstable();
        ticks.dedup();
        ticks
    }

    /// Where the condition changes between two answered evaluations:
    /// the instants of the last before and the first after.
    fn changes(&self) -> Vec<(f64, f64)> {
        self.known
            .iter()
            .zip(self.known.iter().skip(1))
            .filter(|((_, x), (_, y))| x != y)
            .map(|((a, _), (b, _))| (self.time(*a), self.time(*b)))
            .collect()
    }

    /// The evaluations to probe next: unanswered grid points, else one
    /// between each pair of neighbours that disagree. A track following a
    /// leader (the same alert and fault at the first phase) waits for it,
    /// then probes around the leader's changes — a change at another phase
    /// lies within an evaluation and a scrape of it — on a sparser grid.
    pub fn wanted(&self, leader: Option<&Track>) -> Vec<i64> {
        let grid = match leader {
            None => self.grid(2.0, &self.seeds),
            Some(leader) if !leader.settled() => return Vec::new(),
            Some(leader) => {
                let mut seeds = self.seeds.clone();
                for (before, after) in leader.changes() {
                    seeds.extend([
                        before - self.evaluation,
                        before,
                        after,
                        after + self.evaluation,
                    ]);
                }
                self.grid(4.0, &seeds)
            }
        };
        let missing: Vec<i64> = grid
            .into_iter()
            .filter(|j| !self.known.contains_key(j))
            .collect();
        if !missing.is_empty() {
            return missing;
        }
        self.bisections()
    }

    fn bisections(&self) -> Vec<i64> {
        self.known
            .iter()
            .zip(self.known.iter().skip(1))
            .filter(|((a, x), (b, y))| x != y && **b > **a + 1)
            .map(|((a, _), (b, _))| (a + b) / 2)
            .collect()
    }

    /// Every change pinned to two consecutive evaluations (and something
    /// answered at all).
    pub fn settled(&self) -> bool {
        !self.known.is_empty() && self.bisections().is_empty()
    }

    pub fn probe(&self, j: i64) -> Probe {
        Probe {
            subject: self.subject,
            case: self.case,
            sample: self.phase.sample,
            time: self.time(j),
        }
    }

    /// The condition at evaluation j: the answer there, or its neighbour's
    /// (neighbours that agree have no change between them).
    fn holds(&self, j: i64) -> bool {
        self.known
            .range(..=j)
            .next_back()
            .map(|(_, v)| *v)
            .unwrap_or(false)
    }

    /// The alert's states over the evaluations.
    pub fn outcome(&self, hold: f64, keep: f64) -> Outcome {
        #[derive(PartialEq)]
        enum State {
            Inactive,
            Pending,
            Firing,
        }
        let mut state = State::Inactive;
        let mut out = Outcome::default();
        let (mut active_at, mut keep_since) = (0.0, None::<f64>);
        for j in -1..=self.last() {
            let t = self.time(j);
            if self.holds(j) {
                keep_since = None;
                if state == State::Inactive {
                    state = State::Pending;
                    active_at = t;
                    out.pending.get_or_insert(t);
                }
                if state == State::Pending && t - active_at >= hold - 1e-9 {
                    state = State::Firing;
                    out.firing.get_or_insert(t);
                    out.episodes += 1;
                    out.resolved = None;
                }
            } else {
                match state {
                    State::Pending => state = State::Inactive,
                    State::Firing => {
                        let since = *keep_since.get_or_insert(t);
                        if t - since >= keep - 1e-9 {
                            state = State::Inactive;
                            out.resolved = Some(t);
                            keep_since = None;
                        }
                    }
                    State::Inactive => {}
                }
            }
        }
        out
    }
}

/// What the alert did after one fault, in seconds after the fault began.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Outcome {
    pub pending: Option<f64>,
    pub firing: Option<f64>,
    /// When it last stopped firing (None: never fired, or still firing at
    /// the horizon).
    pub resolved: Option<f64>,
    /// How many times it started firing.
    pub episodes: usize,
}

#[cfg(test)]
mod tests {
    use super::super::cases::FaultShape;
    use super::*;

    fn track(shape: FaultShape) -> Track {
        Track {
            leader: None,
            subject: 0,
            case: Case {
                shape,
                error_ratio: 1.0,
                history: None,
            },
            phase: Phase {
                sample: 7.5,
                tick: 15.0,
            },
            evaluation: 30.0,
            horizon: 3600.0,
            seeds: vec![],
            known: BTreeMap::new(),
        }
    }

    /// Answers probes from a condition known in closed form, round by round.
    fn search(t: &mut Track, holds: impl Fn(f64) -> bool) -> usize {
        let mut rounds = 0;
        loop {
            let wanted = t.wanted(None);
            if wanted.is_empty() {
                return rounds;
            }
            rounds += 1;
            for j in wanted {
                let at = t.time(j);
                t.known.insert(j, holds(at));
            }
        }
    }

    #[test]
    fn the_first_and_last_evaluations_of_a_window_are_found() {
        let mut t = track(FaultShape::Burst(600.0));
        let rounds = search(&mut t, |at| (200.0..=1500.0).contains(&at));
        assert!(rounds < 12, "{rounds}");
        let o = t.outcome(0.0, 0.0);
        assert_eq!(o.pending, Some(225.0));
        assert_eq!(o.firing, Some(225.0));
        assert_eq!(o.resolved, Some(1515.0));
        assert_eq!(o.episodes, 1);
        // `for: 2m` waits four evaluations; `keep_firing_for: 1m` two more.
        let o = t.outcome(120.0, 60.0);
        assert_eq!((o.firing, o.resolved), (Some(345.0), Some(1575.0)));
        // `for` longer than the condition holds: never fires.
        let o = t.outcome(1800.0, 0.0);
        assert_eq!((o.pending, o.firing), (Some(225.0), None));
    }
}
