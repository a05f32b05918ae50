//! Finding when an alert's condition starts and stops holding, by probing
//! the evaluations after a fault (`promtool`), and what Prometheus's alert
//! state machine makes of it.
//!
//! Each track — one alert, one fault, one alignment of scrapes and evaluations
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
use std::time::Instant;

use super::cases::{Alignment, Case};
use super::error::SweepError;
use super::promtool::{self, Probe, Subject, Traffic};

/// How many probes, in how many rounds, and the seconds spent in promtool.
pub struct Effort {
    pub probes: usize,
    pub rounds: usize,
    pub promtool_seconds: f64,
}

/// Probes every track until each change is pinned to two evaluations.
pub fn probe_all(
    subjects: &[Subject],
    tracks: &mut [Track],
    rate: f64,
) -> Result<Effort, SweepError> {
    let promtool = crate::env::find_binary("FIREDRILL_PROMTOOL", "promtool")
        .ok_or(SweepError::PromtoolMissing)?;
    // FIREDRILL_SWEEP_KEEP=1 keeps promtool's files (to run them by hand).
    let keep = std::env::var_os("FIREDRILL_SWEEP_KEEP").is_some();
    let dir = tempfile::Builder::new()
        .prefix("firedrill-sweep")
        .disable_cleanup(keep)
        .tempdir()
        .map_err(|source| SweepError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    if keep {
        eprintln!("sweep: promtool's files are in {}", dir.path().display());
    }
    let traffic = Traffic { rate };
    let mut effort = Effort {
        probes: 0,
        rounds: 0,
        promtool_seconds: 0.0,
    };
    loop {
        let (probes, owners) = next_round(tracks);
        if probes.is_empty() {
            return Ok(effort);
        }
        effort.rounds += 1;
        if effort.rounds > 40 {
            return Err(SweepError::Unsettled);
        }
        effort.probes += probes.len();
        let asked = Instant::now();
        let round_dir = dir.path().join(format!("round-{}", effort.rounds));
        std::fs::create_dir_all(&round_dir).map_err(|source| SweepError::Io {
            path: round_dir.clone(),
            source,
        })?;
        let answers = promtool::answer(&promtool, subjects, &probes, &traffic, &round_dir)?;
        effort.promtool_seconds += asked.elapsed().as_secs_f64();
        if keep {
            eprintln!(
                "sweep: round {}: {} probes in {:.2}s",
                effort.rounds,
                probes.len(),
                asked.elapsed().as_secs_f64()
            );
        }
        for ((t, j), fired) in owners.into_iter().zip(answers) {
            tracks[t].known.insert(j, fired);
        }
    }
}

/// The probes every track wants next, and whose (track, evaluation) each is.
fn next_round(tracks: &[Track]) -> (Vec<Probe>, Vec<(usize, i64)>) {
    let mut probes = Vec::new();
    let mut owners = Vec::new();
    for (t, track) in tracks.iter().enumerate() {
        let leader = track.leader.map(|l| &tracks[l]);
        for j in track.wanted(leader) {
            probes.push(track.probe(j));
            owners.push((t, j));
        }
    }
    (probes, owners)
}

/// One line of inquiry.
#[derive(Debug, Clone)]
pub struct Track {
    /// The track at the first alignment of the same alert and fault, which
    /// this one waits for and searches around.
    pub leader: Option<usize>,
    pub subject: usize,
    pub case: Case,
    /// Where its scrapes and evaluations fall against the fault.
    pub alignment: Alignment,
    /// The alert group's evaluation interval, seconds.
    pub evaluation: f64,
    /// How long after the fault's start (and, for a burst, its end) to look.
    pub horizon: f64,
    /// Instants (seconds after the start) worth probing first.
    pub seeds: Vec<f64>,
    /// What promtool answered, by evaluation (0: the first at or after the start).
    pub known: BTreeMap<i64, bool>,
    /// Probe every evaluation from one before the fault to the horizon
    /// (`--thorough`), instead of searching: no answer is inferred.
    pub every: bool,
}

impl Track {
    fn time(&self, j: i64) -> f64 {
        self.alignment.tick + j as f64 * self.evaluation
    }

    fn tick_at_or_after(&self, t: f64) -> i64 {
        ((t - self.alignment.tick) / self.evaluation - 1e-9).ceil() as i64
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
    /// leader (the same alert and fault at the first alignment) waits for it,
    /// then probes around the leader's changes — a change at another alignment
    /// lies within an evaluation and a scrape of it — on a sparser grid.
    pub fn wanted(&self, leader: Option<&Track>) -> Vec<i64> {
        if self.every {
            return (-1..=self.last())
                .filter(|j| !self.known.contains_key(j))
                .collect();
        }
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
            sample: self.alignment.sample,
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
            alignment: Alignment {
                sample: 7.5,
                tick: 15.0,
            },
            evaluation: 30.0,
            horizon: 3600.0,
            seeds: vec![],
            known: BTreeMap::new(),
            every: false,
        }
    }

    /// Answers probes from a condition known in closed form, round by round.
    fn search(t: &mut Track, holds: &dyn Fn(f64) -> bool) -> usize {
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
    fn the_search_answers_as_probing_every_evaluation_does() {
        // Conditions in closed form, as a burst of errors makes them: holds
        // from some instant for a while (a window filling and emptying), or
        // from an instant on, for `for` and `keep_firing_for` of several sizes.
        type Condition = Box<dyn Fn(f64) -> bool>;
        let cases: Vec<(FaultShape, Condition)> = vec![
            (
                FaultShape::Burst(600.0),
                Box::new(|at| (200.0..=1500.0).contains(&at)),
            ),
            (
                FaultShape::Burst(300.0),
                Box::new(|at| (95.0..410.0).contains(&at)),
            ),
            (FaultShape::Step, Box::new(|at| at >= 2400.0)),
            (FaultShape::Step, Box::new(|_| false)),
        ];
        for (shape, holds) in cases {
            let (mut searched, mut every) = (track(shape), track(shape));
            every.every = true;
            search(&mut searched, &holds);
            search(&mut every, &holds);
            assert_eq!(
                every.known.len() as i64,
                every.last() + 2,
                "every evaluation asked"
            );
            assert!(
                searched.known.len() < every.known.len() / 4,
                "{}",
                searched.known.len()
            );
            for (hold, keep) in [(0.0, 0.0), (120.0, 0.0), (300.0, 60.0), (1800.0, 0.0)] {
                assert_eq!(
                    searched.outcome(hold, keep),
                    every.outcome(hold, keep),
                    "{shape:?} for {hold} keep {keep}"
                );
            }
        }
    }

    #[test]
    fn the_first_and_last_evaluations_of_a_window_are_found() {
        let mut t = track(FaultShape::Burst(600.0));
        let rounds = search(&mut t, &|at| (200.0..=1500.0).contains(&at));
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
