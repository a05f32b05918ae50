//! How sure a verdict on an alert over an error ratio is, when requests
//! fail at random: from the requests the rule's windows held (the run's
//! own traffic, second by second) and the error ratio measured, the chance
//! that random errors alone make it go pending or fire (`stats`); and the
//! evaluations made while its window was still filling — fewer requests
//! than a full one holds, which is not the test production's rule makes.
//!
//! The figures count firedrill's own traffic (what the client saw
//! answered, its 5xx at the phase's measured share): a Prometheus that
//! also sees other traffic holds fuller windows. What the rule reads comes
//! from `AlertRuleInfo::error_ratio`, read from the rules after the run.

use serde::{Deserialize, Serialize};

use super::judged::{secs, Judging};
use crate::record::{AlertRuleInfo, Observations, PhaseRecord};
use crate::stats::{self, percent, RatioRule, Second, Span, Traffic};
use crate::time::trim_float;

/// Simulated runs per figure: a chance below 1 in this many shows as
/// `under 0.05%`.
const TRIALS: u32 = 2000;
/// One seed for every figure: the same run gives the same report.
const SEED: u64 = 24;
/// A chance from which a verdict's sentence mentions it.
const WORTH_SAYING: f64 = 0.01;
/// A window holding less than this share of a full one is still filling.
const FILLING: f64 = 0.9;

/// What random errors at the measured ratio do to the alert within the
/// check's span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseFigures {
    /// The share of answers that were 5xx, at which errors are drawn.
    pub measured_error_ratio: f64,
    pub threshold: f64,
    pub window_seconds: f64,
    /// The requests a full window holds at the phase's pace, and what
    /// production's window holds (the same when rates are scaled).
    pub window_requests: u64,
    pub production_window_requests: u64,
    /// The largest chance that one evaluation in the span crosses the
    /// threshold (binomial, exact, for the window it held).
    pub per_evaluation_chance: f64,
    /// Shares of simulated runs in which it went pending (or fired), and
    /// fired, within the span; `simulated` runs, so 0 means under 1 in it.
    pub pending_chance: f64,
    pub firing_chance: f64,
    pub simulated: u32,
}

/// Evaluations of the rule inside a phase made while its window was still
/// filling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filling {
    pub window_seconds: f64,
    pub evaluations: u32,
    /// When the window first held a full one's requests, in seconds from
    /// the run's start.
    pub until_seconds: f64,
    /// The fewest requests such a window held, and what a full one holds.
    pub fewest_requests: u64,
    pub full_requests: u64,
}

/// The share of a phase's answers that were 5xx (None: it had none).
fn measured_share(record: &PhaseRecord) -> Option<f64> {
    let counts = record.stats.as_ref()?.counts;
    let answered = counts.responses();
    (answered > 0).then(|| counts.status_5xx as f64 / answered as f64)
}

/// The answered requests of `phases` second by second from the run's
/// start, each failing with its phase's `share`. A window looks back: to
/// judge a phase, pass the phases up to it — a later phase's first second,
/// counted whole, would leak into the evaluations just before it began.
fn traffic(
    observations: &Observations,
    phases: &[PhaseRecord],
    share: impl Fn(&PhaseRecord) -> f64,
) -> Traffic {
    let mut seconds: Vec<Second> = Vec::new();
    for record in phases {
        let Some(stats) = &record.stats else { continue };
        let offset = (record.started_at - observations.run_start)
            .max(0.0)
            .floor() as usize;
        let error_share = share(record);
        for second in &stats.series {
            let at = offset + second.second as usize;
            if seconds.len() <= at {
                seconds.resize(
                    at + 1,
                    Second {
                        requests: 0,
                        error_share: 0.0,
                    },
                );
            }
            seconds[at].requests += second.counts.responses();
            seconds[at].error_share = error_share;
        }
    }
    Traffic { seconds }
}

fn ratio_rule(info: &AlertRuleInfo) -> Option<RatioRule> {
    let ratio = info.error_ratio?;
    Some(RatioRule {
        window_seconds: ratio.window_seconds,
        threshold: ratio.threshold,
        inclusive: ratio.inclusive,
        evaluation_seconds: info.interval_seconds,
        for_seconds: info.for_seconds,
    })
}

/// A phase's span, in seconds from the run's start.
fn span_of(record: &PhaseRecord, observations: &Observations) -> Span {
    Span {
        from: record.started_at - observations.run_start,
        to: record.ended_at - observations.run_start,
    }
}

/// Requests a full window holds at the phase's pace, and production's.
fn window_sizes(window_seconds: f64, phase: usize, judging: &Judging) -> Option<(u64, u64)> {
    let record = judging.observations.phases.get(phase)?;
    let answered = record.stats.as_ref()?.counts.responses() as f64;
    let seconds = record.ended_at - record.started_at;
    if seconds <= 0.0 || answered == 0.0 {
        return None;
    }
    let full = answered / seconds * window_seconds;
    let pace = judging
        .phases
        .get(phase)
        .map(|p| p.pace)
        .unwrap_or_default();
    let production = full * pace.time_scale / pace.rate_factor();
    Some((full.round() as u64, production.round() as u64))
}

/// What random errors at the phase's measured ratio do to the rule within
/// the phase (`silent_during`).
pub fn in_phase(info: &AlertRuleInfo, phase: usize, judging: &Judging) -> Option<NoiseFigures> {
    let rule = ratio_rule(info)?;
    let observations = judging.observations;
    let record = observations.phases.get(phase)?;
    let share = measured_share(record)?;
    let traffic = traffic(observations, &observations.phases[..=phase], |r| {
        measured_share(r).unwrap_or(0.0)
    });
    let noise = stats::noise(&traffic, &rule, span_of(record, observations), TRIALS, SEED);
    let (window_requests, production_window_requests) =
        window_sizes(rule.window_seconds, phase, judging)?;
    Some(NoiseFigures {
        measured_error_ratio: share,
        threshold: rule.threshold,
        window_seconds: rule.window_seconds,
        window_requests,
        production_window_requests,
        per_evaluation_chance: noise.per_evaluation,
        pending_chance: noise.pending.share(),
        firing_chance: noise.firing.share(),
        simulated: TRIALS,
    })
}

impl NoiseFigures {
    fn chance_text(share: f64, simulated: u32) -> String {
        stats::Chance {
            hits: (share * simulated as f64).round() as u32,
            trials: simulated,
        }
        .text()
    }

    pub fn pending_text(&self) -> String {
        Self::chance_text(self.pending_chance, self.simulated)
    }

    pub fn firing_text(&self) -> String {
        Self::chance_text(self.firing_chance, self.simulated)
    }

    /// `windows of 600 requests, where production's hold 6000`.
    fn windows_text(&self) -> String {
        if self.window_requests == self.production_window_requests {
            format!(
                "{}s windows of about {} requests, as production's",
                trim_float(self.window_seconds),
                self.window_requests
            )
        } else {
            format!(
                "{}s windows of about {} requests, where production's hold {}",
                trim_float(self.window_seconds),
                self.window_requests,
                self.production_window_requests
            )
        }
    }

    /// The clause a `silent_during` verdict adds: how likely random errors
    /// at the measured ratio were to break the silence. Said when that is
    /// not negligible, or when the windows are thinner than production's
    /// (the noise a scenario accepted).
    pub fn silence_clause(&self, allow_pending: bool) -> Option<String> {
        let (chance, went) = if allow_pending {
            (self.firing_chance, "fire")
        } else {
            (self.pending_chance, "go pending")
        };
        let thinner = self.window_requests < self.production_window_requests;
        if chance < WORTH_SAYING && !thinner {
            return None;
        }
        Some(format!(
            "; errors at random at the {} measured would make it {went} in such a phase with \
             chance {} ({}; one evaluation crosses {} with chance up to {})",
            percent(self.measured_error_ratio),
            if allow_pending {
                self.firing_text()
            } else {
                self.pending_text()
            },
            self.windows_text(),
            percent(self.threshold),
            percent(self.per_evaluation_chance)
        ))
    }
}

/// The chance that the alert fires within a deadline, from random errors
/// at the ratios measured, and at a healthy service's ratio (measured in
/// the phases without a fault): how sure a `fires_within` verdict is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FireOdds {
    pub threshold: f64,
    pub window_seconds: f64,
    /// Each phase's own 5xx share: the chance it fires within the deadline.
    pub at_measured_chance: f64,
    /// The 5xx share of the phases without a fault, and the chance a
    /// service erring at that share would fire within the deadline too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_error_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_chance: Option<f64>,
    pub simulated: u32,
}

/// How sure a deadline is: the chances it fires within `deadline` seconds
/// after `anchor_at` (seconds from the run's start).
pub fn fire_odds(
    info: &AlertRuleInfo,
    anchor_at: f64,
    deadline: f64,
    judging: &Judging,
) -> Option<FireOdds> {
    let rule = ratio_rule(info)?;
    let observations = judging.observations;
    let span = Span {
        from: anchor_at,
        to: anchor_at + deadline,
    };
    let measured = traffic(observations, &observations.phases, |r| {
        measured_share(r).unwrap_or(0.0)
    });
    let at_measured = stats::noise(&measured, &rule, span, TRIALS, SEED).firing;
    let healthy_ratio = healthy_share(observations);
    let healthy = healthy_ratio.map(|share| {
        let healthy = traffic(observations, &observations.phases, |_| share);
        stats::noise(&healthy, &rule, span, TRIALS, SEED)
            .firing
            .share()
    });
    Some(FireOdds {
        threshold: rule.threshold,
        window_seconds: rule.window_seconds,
        at_measured_chance: at_measured.share(),
        healthy_error_ratio: healthy_ratio,
        healthy_chance: healthy,
        simulated: TRIALS,
    })
}

/// The 5xx share of the phases without a fault that sent traffic; None
/// when there are none, or they had no 5xx (then nothing fires at random).
fn healthy_share(observations: &Observations) -> Option<f64> {
    let (errors, answered) = observations
        .phases
        .iter()
        .filter(|p| p.fault.is_none())
        .filter_map(|p| p.stats.as_ref())
        .fold((0, 0), |(e, a), s| {
            (e + s.counts.status_5xx, a + s.counts.responses())
        });
    (answered > 0 && errors > 0).then(|| errors as f64 / answered as f64)
}

impl FireOdds {
    /// The clause a `fires_within` verdict adds when it could have gone the
    /// other way: a pass a healthy service would also have met, or an
    /// outcome the measured errors make far from sure.
    pub fn clause(&self, passed: bool) -> Option<String> {
        let chance = |share: f64| {
            stats::Chance {
                hits: (share * self.simulated as f64).round() as u32,
                trials: self.simulated,
            }
            .text()
        };
        let mut said = String::new();
        if let (Some(ratio), Some(healthy)) = (self.healthy_error_ratio, self.healthy_chance) {
            if passed && healthy >= WORTH_SAYING {
                said.push_str(&format!(
                    "; a healthy service erring at random at {} (as the phases without a fault \
                     did) fires within the deadline too, with chance {}: this pass does not tell \
                     them apart",
                    percent(ratio),
                    chance(healthy)
                ));
            }
        }
        let against = if passed {
            1.0 - self.at_measured_chance
        } else {
            self.at_measured_chance
        };
        if against >= WORTH_SAYING {
            said.push_str(&format!(
                "; errors at random at the ratios measured fire it within the deadline with \
                 chance {} ({}s windows over {}): this outcome was not sure",
                chance(self.at_measured_chance),
                trim_float(self.window_seconds),
                percent(self.threshold)
            ));
        }
        (!said.is_empty()).then_some(said)
    }
}

/// The rule's evaluations inside a phase while its window held less than
/// a full one (at the phase's pace): the run began, or traffic changed,
/// too recently for it to hold what production's holds. The evaluations
/// are Prometheus's own ticks of the rule's group when they were watched.
pub fn filling(info: &AlertRuleInfo, phase: usize, judging: &Judging) -> Option<Filling> {
    let window = window_of(info)?;
    let observations = judging.observations;
    let record = observations.phases.get(phase)?;
    let (full, _) = window_sizes(window, phase, judging)?;
    let traffic = traffic(observations, &observations.phases, |_| 0.0);
    let span = span_of(record, observations);
    let is_full = |t: f64| traffic.held(t, window) as f64 >= FILLING * full as f64;
    // When the window first holds a full one's requests, to a quarter second.
    let mut filled = span.from;
    while !is_full(filled) && filled <= span.to {
        filled += 0.25;
    }
    if filled == span.from {
        return None;
    }
    let ticks: Vec<f64> = match observations.watch.evaluations.get(&info.group) {
        Some(ticks) => ticks
            .iter()
            .map(|t| t - observations.run_start)
            .filter(|t| *t >= span.from && *t < filled)
            .collect(),
        None => {
            let evaluation = info.interval_seconds.max(0.001);
            let count = ((filled - span.from) / evaluation).ceil() as usize;
            (0..count)
                .map(|i| span.from + i as f64 * evaluation)
                .collect()
        }
    };
    // An empty window has no ratio (it cannot fire): the fewest that count
    // are those of windows that held something.
    let fewest = ticks
        .iter()
        .map(|t| traffic.held(*t, window))
        .filter(|held| *held > 0)
        .min()
        .unwrap_or(0);
    Some(Filling {
        window_seconds: window,
        evaluations: ticks.len() as u32,
        until_seconds: filled,
        fewest_requests: fewest,
        full_requests: full,
    })
}

/// The window the rule reads: its error ratio's, else the longest range
/// in its query.
fn window_of(info: &AlertRuleInfo) -> Option<f64> {
    if let Some(ratio) = info.error_ratio {
        return Some(ratio.window_seconds);
    }
    let expr = promql_parser::parser::parse(&info.query).ok()?;
    crate::rules::promql::windows(&expr)
        .into_iter()
        .max()
        .map(|w| w.as_secs_f64())
}

impl Filling {
    /// Whether a moment (seconds from the run's start) came while the
    /// window was filling.
    pub fn covers(&self, at: f64) -> bool {
        at < self.until_seconds
    }

    /// What a silence broken on a filling window says.
    pub fn broke_clause(&self) -> String {
        format!(
            " — while its {}s window was still filling (until t={}, as few as {} of the ~{} \
             requests a full one holds): not the test production's rule makes; let a \
             `warm_up: true` phase fill the windows first",
            trim_float(self.window_seconds),
            secs(self.until_seconds),
            self.fewest_requests,
            self.full_requests
        )
    }

    /// Why such evaluations are not production's test, and what to do.
    pub fn clause(&self) -> String {
        format!(
            "; {} evaluation{} of the rule in it came while its {}s window was still filling \
             (until t={}, as few as {} of the ~{} requests a full one holds): not the test \
             production's rule makes — let a `warm_up: true` phase fill the windows first",
            self.evaluations,
            if self.evaluations == 1 { "" } else { "s" },
            trim_float(self.window_seconds),
            secs(self.until_seconds),
            self.fewest_requests,
            self.full_requests
        )
    }
}
