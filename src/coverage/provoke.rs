//! Finding each alert's healthy state and its provocation, with
//! Prometheus's rule engine as the oracle: many candidate assignments of
//! levels are asked at once (one probe each, `sweep`'s multiplexing), each
//! "does the condition hold once this state has lasted long enough for
//! every window to hold it?". The healthy state is the nominal one (every
//! series on the safe side of its thresholds) if it is silent, else the
//! silent one nearest it; the provocation is the first candidate that
//! holds with the fewest changes from the healthy state — one series
//! changed first, then two. `and`, `or` and `unless` are thus solved as a
//! whole, not leaf by leaf.

use std::path::Path;

use serde::Serialize;

use super::levels::{Candidates, Level};
use super::series::SeriesSpec;
use super::timeline::{Phase, Timeline};
use crate::analyze::sweep::{
    ask_promtool, Alert, Answer, Feed, Question, Sample, SweepError, Written,
};

/// One alert as the oracle asks about it.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub specs: Vec<SeriesSpec>,
    pub candidates: Candidates,
    /// Its rules rewritten for promtool (probes apart).
    pub alert: Alert,
    /// Seconds after a change at which the oracle asks: every window holds
    /// only the new state, ages have passed their thresholds.
    pub horizon: f64,
    /// Also asked this soon after the change (an alert comparing a window
    /// with one `offset` into the past, or a change within a window: only
    /// while the window holds both states).
    pub early: Option<f64>,
    /// Where samples fall after whole intervals (`testfile::sample_offset`).
    pub offset: f64,
}

/// A healthy state and the provocation that makes the condition hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provocation {
    pub series: Vec<SeriesSpec>,
    pub healthy: Vec<Level>,
    pub provoking: Vec<Level>,
    /// The condition holds in every state tried (a constant condition):
    /// there is no healthy state, the alert fires from the start.
    pub always: bool,
    /// How many states promtool was asked about.
    pub tried: usize,
    /// How soon after the change the oracle first saw the provocation's
    /// condition hold, seconds (its `early` time or its horizon).
    #[serde(skip)]
    pub held_after: f64,
}

impl Provocation {
    /// The series whose level the provocation changes.
    pub fn changed(&self) -> Vec<usize> {
        (0..self.series.len())
            .filter(|&i| self.healthy[i] != self.provoking[i])
            .collect()
    }
}

/// What the oracle found for one alert.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    Provoked(Provocation),
    /// No state tried makes the condition hold: how many were tried.
    NeverHolds {
        tried: usize,
    },
    /// Its rules fail to evaluate on its series: promtool's words.
    Failed(String),
}

/// One assignment of levels to ask about, and whose it is.
#[derive(Clone)]
struct Asked {
    alert: usize,
    levels: Vec<Level>,
}

/// Where one alert's search stands.
#[derive(Clone)]
enum Search {
    Start,
    /// The nominal state is silent: looking for two changes that hold.
    Pairs,
    /// The nominal state holds: looking for a silent state two changes away.
    SilentPairs,
    Done(Found),
}

/// Finds the provocation of every prepared alert (None: nothing to ask).
///
/// `settled` is told, after each round, what was found for the alerts whose
/// search ended in it (by index), so their proof can begin while the
/// others are still searched; every prepared alert is told of once.
pub fn provoke(
    promtool: &Path,
    prepared: &[Option<Prepared>],
    dir: &Path,
    settled: &mut dyn FnMut(Vec<(usize, Found)>),
) -> Result<Vec<Option<Found>>, SweepError> {
    let mut searches: Vec<Search> = prepared
        .iter()
        .map(|p| match p {
            Some(_) => Search::Start,
            None => Search::Done(Found::NeverHolds { tried: 0 }),
        })
        .collect();
    let mut tried = vec![0usize; prepared.len()];
    // Every state seen to hold, and how soon after the change, by alert.
    let mut held: Vec<Vec<(Vec<Level>, f64)>> = vec![Vec::new(); prepared.len()];
    // What each search found, from the round it settled in (the unprepared
    // stay None: they need no proof).
    let mut found: Vec<Option<Found>> = vec![None; prepared.len()];
    for round in 0..2 {
        let asked = questions(&searches, prepared);
        if asked.is_empty() {
            break;
        }
        let (answers, soonest) = ask(
            promtool,
            prepared,
            &asked,
            &dir.join(format!("round-{round}")),
        )?;
        for (q, after) in asked.iter().zip(soonest) {
            if let Some(after) = after {
                held[q.alert].push((q.levels.clone(), after));
            }
        }
        for (a, search) in searches.iter_mut().enumerate() {
            let Some(p) = &prepared[a] else { continue };
            let mine: Vec<(&Asked, &Answer)> = asked
                .iter()
                .zip(&answers)
                .filter(|(q, _)| q.alert == a)
                .collect();
            if mine.is_empty() {
                continue;
            }
            tried[a] += mine.len();
            *search = decide(search, p, &mine, tried[a]);
        }
        // Done, or nothing left to ask (no pairs to try): settled now.
        let over = |search: &Search, p: &Prepared| {
            matches!(search, Search::Done(_)) || next_states(search, p).is_empty()
        };
        settle(
            prepared, &searches, &tried, &held, over, &mut found, settled,
        );
    }
    settle(
        prepared,
        &searches,
        &tried,
        &held,
        |_, _| true,
        &mut found,
        settled,
    );
    Ok(found)
}

/// What a round asks: the next states to try of every search not done.
fn questions(searches: &[Search], prepared: &[Option<Prepared>]) -> Vec<Asked> {
    let mut asked: Vec<Asked> = Vec::new();
    for (a, search) in searches.iter().enumerate() {
        let Some(p) = &prepared[a] else { continue };
        let levels = next_states(search, p);
        asked.extend(levels.into_iter().map(|levels| Asked { alert: a, levels }));
    }
    asked
}

/// The states a search tries next (none once it is done).
fn next_states(search: &Search, p: &Prepared) -> Vec<Vec<Level>> {
    match search {
        Search::Start => round_one(&p.candidates),
        Search::Pairs => pairs(&p.candidates, |_| true),
        Search::SilentPairs => pairs(&p.candidates, Level::is_static),
        Search::Done(_) => Vec::new(),
    }
}

/// Concludes the searches not settled yet that `over` says have ended,
/// into `found`, and tells `settled` of them (if any). `tried`: how many
/// states each search tried; `held`: the states seen to hold, and how soon
/// after the change.
fn settle(
    prepared: &[Option<Prepared>],
    searches: &[Search],
    tried: &[usize],
    held: &[Vec<(Vec<Level>, f64)>],
    over: impl Fn(&Search, &Prepared) -> bool,
    found: &mut [Option<Found>],
    settled: &mut dyn FnMut(Vec<(usize, Found)>),
) {
    let ended: Vec<(usize, Found)> = (0..prepared.len())
        .filter(|&a| found[a].is_none())
        .filter_map(|a| {
            let (p, search) = (prepared[a].as_ref()?, &searches[a]);
            over(search, p).then(|| (a, conclude(search.clone(), p, tried[a], &held[a])))
        })
        .collect();
    for (a, f) in &ended {
        found[*a] = Some(f.clone());
    }
    if !ended.is_empty() {
        settled(ended);
    }
}

/// Where a search ended, as a finding (`held`: the states seen to hold,
/// and how soon after the change).
fn conclude(search: Search, p: &Prepared, tried: usize, held: &[(Vec<Level>, f64)]) -> Found {
    match search {
        Search::Done(Found::Provoked(mut provocation)) => {
            provocation.held_after = held
                .iter()
                .find(|(levels, _)| *levels == provocation.provoking)
                .map_or(p.horizon, |(_, after)| *after);
            Found::Provoked(provocation)
        }
        Search::Done(found) => found,
        // Nothing two changes away to try.
        Search::SilentPairs => Found::Provoked(Provocation {
            series: p.specs.clone(),
            healthy: p.candidates.nominal.clone(),
            provoking: p.candidates.nominal.clone(),
            always: true,
            tried,
            held_after: p.horizon,
        }),
        _ => Found::NeverHolds { tried },
    }
}

/// What one round's answers decide for one alert.
fn decide(search: &Search, p: &Prepared, mine: &[(&Asked, &Answer)], tried: usize) -> Search {
    if let Some((_, Answer::Failed(why))) =
        mine.iter().find(|(_, a)| matches!(a, Answer::Failed(_)))
    {
        return Search::Done(Found::Failed(why.clone()));
    }
    let holds = |answer: &Answer| *answer == Answer::Holds;
    let provoked = |healthy: &[Level], provoking: &[Level], always| {
        Search::Done(Found::Provoked(Provocation {
            series: p.specs.clone(),
            healthy: healthy.to_vec(),
            provoking: provoking.to_vec(),
            always,
            tried,
            held_after: p.horizon,
        }))
    };
    let nominal = &p.candidates.nominal;
    let first_holding = mine.iter().find(|(_, a)| holds(a)).map(|(q, _)| &q.levels);
    let first_silent = mine
        .iter()
        .find(|(q, a)| !holds(a) && q.levels.iter().all(Level::is_static))
        .map(|(q, _)| &q.levels);
    match search {
        Search::Start => {
            let nominal_holds = holds(mine[0].1);
            let rest = &mine[1..];
            if !nominal_holds {
                match rest.iter().find(|(_, a)| holds(a)) {
                    Some((q, _)) => provoked(nominal, &q.levels, false),
                    None => Search::Pairs,
                }
            } else {
                match rest
                    .iter()
                    .find(|(q, a)| !holds(a) && q.levels.iter().all(Level::is_static))
                {
                    Some((q, _)) => provoked(&q.levels, nominal, false),
                    None => Search::SilentPairs,
                }
            }
        }
        Search::Pairs => match first_holding {
            Some(levels) => provoked(nominal, levels, false),
            None => Search::Done(Found::NeverHolds { tried }),
        },
        Search::SilentPairs => match first_silent {
            Some(levels) => provoked(levels, nominal, false),
            None => provoked(nominal, nominal, true),
        },
        Search::Done(found) => Search::Done(found.clone()),
    }
}

/// The nominal state, then every state one series away from it: each
/// series' first alternative before any series' second.
fn round_one(c: &Candidates) -> Vec<Vec<Level>> {
    let mut all = vec![c.nominal.clone()];
    let deepest = c.alternatives.iter().map(Vec::len).max().unwrap_or(0);
    for rank in 0..deepest {
        for (i, alternatives) in c.alternatives.iter().enumerate() {
            if let Some(level) = alternatives.get(rank) {
                let mut levels = c.nominal.clone();
                levels[i] = *level;
                all.push(levels);
            }
        }
    }
    all
}

/// At most this many states two series away from the nominal one.
const MOST_PAIRS: usize = 120;
/// The alternatives of each series paired with another's.
const PAIRED: usize = 5;

/// States two series away from the nominal one (their levels passing
/// `keep`), the most natural alternatives first.
fn pairs(c: &Candidates, keep: fn(&Level) -> bool) -> Vec<Vec<Level>> {
    let mut found: Vec<(usize, Vec<Level>)> = Vec::new();
    let n = c.alternatives.len();
    for i in 0..n {
        for j in i + 1..n {
            for (ri, a) in c.alternatives[i].iter().take(PAIRED).enumerate() {
                for (rj, b) in c.alternatives[j].iter().take(PAIRED).enumerate() {
                    if !keep(a) || !keep(b) {
                        continue;
                    }
                    let mut levels = c.nominal.clone();
                    levels[i] = *a;
                    levels[j] = *b;
                    found.push((ri + rj, levels));
                }
            }
        }
    }
    found.sort_by_key(|(rank, _)| *rank);
    found.truncate(MOST_PAIRS);
    found.into_iter().map(|(_, levels)| levels).collect()
}

/// Asks promtool about every assignment: the nominal state, then the
/// assignment from time 0, asked `horizon` seconds later (and `early`).
/// Returns each answer, and how soon after the change it held.
fn ask(
    promtool: &Path,
    prepared: &[Option<Prepared>],
    asked: &[Asked],
    dir: &Path,
) -> Result<(Vec<Answer>, Vec<Option<f64>>), SweepError> {
    std::fs::create_dir_all(dir).map_err(|source| SweepError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    // The engine asks about alerts by index: the prepared ones in order.
    let mut index = vec![usize::MAX; prepared.len()];
    let mut alerts = Vec::new();
    for (a, p) in prepared.iter().enumerate() {
        if let Some(p) = p {
            index[a] = alerts.len();
            alerts.push(p.alert.clone());
        }
    }
    // Each state asked once, or twice (also early); `of` says whose.
    let mut questions: Vec<Question> = Vec::new();
    let mut of: Vec<usize> = Vec::new();
    for (n, q) in asked.iter().enumerate() {
        let p = prepared[q.alert]
            .as_ref()
            .expect("asked only about prepared alerts");
        for time in std::iter::once(p.horizon).chain(p.early) {
            questions.push(Question {
                alert: index[q.alert],
                sample: p.offset,
                time,
                dense: false,
            });
            of.push(n);
        }
    }
    let feed = States {
        prepared,
        asked,
        of: &of,
    };
    let answers = ask_promtool(promtool, &alerts, &questions, &feed, dir)?;
    // A state holds if it holds at either time.
    let mut combined = vec![Answer::Silent; asked.len()];
    let mut soonest: Vec<Option<f64>> = vec![None; asked.len()];
    for ((n, answer), question) in of.into_iter().zip(answers).zip(&questions) {
        if answer == Answer::Holds {
            soonest[n] = Some(soonest[n].map_or(question.time, |t: f64| t.min(question.time)));
        }
        combined[n] = match (&combined[n], answer) {
            (Answer::Failed(why), _) => Answer::Failed(why.clone()),
            (_, Answer::Failed(why)) => Answer::Failed(why),
            (Answer::Holds, _) | (_, Answer::Holds) => Answer::Holds,
            _ => Answer::Silent,
        };
    }
    Ok((combined, soonest))
}

/// The series each asked state writes.
struct States<'a> {
    prepared: &'a [Option<Prepared>],
    asked: &'a [Asked],
    /// The asked state of each question.
    of: &'a [usize],
}

impl Feed for States<'_> {
    fn written(&self, n: usize, times: &[(u64, f64)], origin: f64) -> Vec<Written> {
        let q = &self.asked[self.of[n]];
        let Some(p) = &self.prepared[q.alert] else {
            return Vec::new();
        };
        let timeline = Timeline {
            phases: vec![
                Phase {
                    from: origin.min(0.0),
                    levels: p.candidates.nominal.clone(),
                },
                Phase {
                    from: 0.0,
                    levels: q.levels.clone(),
                },
            ],
            // The group's clock reads 0 at its first instant.
            clock: -origin,
        };
        written(&p.specs, &timeline, times)
    }
}

/// The samples of every series (every member of a histogram) at `times`.
/// A series that goes away gets a staleness marker at the second sample
/// after its last, as Prometheus writes them for a target that
/// disappeared (scrape.go `endOfRunStaleness`: just over two intervals
/// later).
pub fn written(specs: &[SeriesSpec], timeline: &Timeline, times: &[(u64, f64)]) -> Vec<Written> {
    let mut all = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let members = spec.members();
        let mut samples: Vec<Vec<(u64, Sample)>> = vec![Vec::new(); members.len()];
        let (mut seen, mut gone) = (false, 0);
        for &(index, t) in times {
            let values = timeline.values(specs, i, t);
            if values.iter().all(Option::is_none) {
                gone += 1;
                if seen && gone == 2 {
                    for member in &mut samples {
                        member.push((index, Sample::Stale));
                    }
                }
                continue;
            }
            (seen, gone) = (true, 0);
            for (m, value) in values.into_iter().enumerate() {
                if let Some(v) = value {
                    samples[m].push((index, Sample::Value(v)));
                }
            }
        }
        for (labels, samples) in members.into_iter().zip(samples) {
            all.push(Written {
                metric: spec.metric.clone(),
                labels,
                samples,
            });
        }
    }
    all
}
