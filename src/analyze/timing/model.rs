//! The timing model's types, shared by `crossing` (when one leaf starts and
//! stops holding) and the composition above it (`compose`, `fire`): what
//! the model may ask besides the rule (`Knowledge`), the step it is asked
//! about, the one bounds type for every best/worst pair in seconds, and a
//! leaf's (or a tree's) answer to a step (`Response`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::analyze::finding::LintId;
use crate::time::format_duration_secs;

/// What the analysis needs to know about the Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Intervals {
    pub scrape: Duration,
    pub evaluation: Duration,
    pub scrape_timeout: Duration,
}

/// What the timing model may ask besides the rule.
pub struct Knowledge<'a> {
    /// The scrape interval of what the alert reads, its group's interval.
    pub intervals: Intervals,
    /// A histogram's bucket bounds (without `_bucket`), when known.
    pub buckets: &'a dyn Fn(&str) -> Option<Vec<f64>>,
}

/// A step change in what the alert watches.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "step", content = "value")]
pub enum Step {
    /// The share of failing requests (or the mean observed) steps from 0 to this.
    ErrorShare(f64),
    /// The share of requests slower than the threshold steps from 0 to this.
    SlowShare(f64),
    /// The rate (or the value, or the slope) steps from 0 to this multiple of the threshold.
    RateMultiple(f64),
    /// The value falls to 0 from this multiple of the threshold.
    FallsFrom(f64),
    /// A counter starts increasing (a value starts changing, a gauge starts
    /// moving) at every scrape, and keeps on.
    Starts,
    /// One increment, one change, one restart.
    Event,
    /// A counter stops increasing, a timestamp stops advancing.
    Stops,
    /// An instant value steps past the threshold and stays.
    Crosses,
    /// A gauge starts moving toward the threshold at a pace that reaches it
    /// this many seconds after the step (`predict_linear`).
    FillsIn(f64),
    /// The target's scrapes start failing (the process is down or hung).
    ScrapeFails,
    /// The target disappears from service discovery (its pod is deleted).
    TargetRemoved,
    /// The rules are loaded (a constant condition).
    RulesLoaded,
}

impl Step {
    /// Steps of one kind, whatever their size.
    pub fn same_kind(&self, other: &Step) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// Best and worst over the phases of scrapes and evaluations, which nobody
/// controls: a moment (seconds after the step) or a duration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    pub best_seconds: f64,
    pub worst_seconds: f64,
}

impl Bounds {
    pub fn new(best_seconds: f64, worst_seconds: f64) -> Bounds {
        Bounds {
            best_seconds,
            worst_seconds,
        }
    }

    /// Holding from `c_best`–`c_worst` into the first scrape after the
    /// step, which comes within `s`: a change the target shows waits for it.
    pub fn scraped(c_best: f64, c_worst: f64, s: f64) -> Bounds {
        Bounds::new(c_best.max(0.0), c_worst.max(0.0) + s)
    }

    /// The smallest bounds holding every value (None: no value).
    pub fn over(values: impl Iterator<Item = f64>) -> Option<Bounds> {
        values.fold(None, |bounds: Option<Bounds>, v| {
            Some(match bounds {
                None => Bounds::new(v, v),
                Some(b) => Bounds::new(b.best_seconds.min(v), b.worst_seconds.max(v)),
            })
        })
    }

    /// Both ends moved later: the best by `best`, the worst by `worst`.
    pub fn plus(self, best: f64, worst: f64) -> Bounds {
        Bounds::new(self.best_seconds + best, self.worst_seconds + worst)
    }

    /// The later of two moments, end by end (both must have come).
    pub fn later(self, other: Bounds) -> Bounds {
        Bounds::new(
            self.best_seconds.max(other.best_seconds),
            self.worst_seconds.max(other.worst_seconds),
        )
    }

    /// The earlier of two moments, end by end (one is enough).
    pub fn earlier(self, other: Bounds) -> Bounds {
        Bounds::new(
            self.best_seconds.min(other.best_seconds),
            self.worst_seconds.min(other.worst_seconds),
        )
    }

    /// The widest of two: the best of the bests, the worst of the worsts.
    pub fn widest(self, other: Bounds) -> Bounds {
        Bounds::new(
            self.best_seconds.min(other.best_seconds),
            self.worst_seconds.max(other.worst_seconds),
        )
    }

    /// `12s–1m30s`, one figure when both ends agree, `never` for None.
    pub fn text(bounds: Option<Bounds>) -> String {
        match bounds {
            None => "never".into(),
            Some(b) if (b.worst_seconds - b.best_seconds).abs() < 1e-6 => {
                format_duration_secs(b.best_seconds)
            }
            Some(b) => format!(
                "{}–{}",
                format_duration_secs(b.best_seconds),
                format_duration_secs(b.worst_seconds)
            ),
        }
    }
}

/// The timing of one step: when the alert goes pending, fires, resolves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    pub step: Step,
    /// None: the condition never holds for this step.
    pub pending: Option<Bounds>,
    pub firing: Option<Bounds>,
    /// After the step is undone (where the model knows); after the step
    /// itself for a single event.
    pub resolved: Option<Bounds>,
    /// The arithmetic, in words.
    pub why: String,
    /// The finding this timing rests on (a window holding too few samples, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding: Option<LintId>,
    /// It fires at some phases of scrapes and evaluations only: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub may_not_fire: Option<String>,
}

/// How a leaf that starts holding stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum End {
    /// Once the step is undone, after this (None: the model does not say).
    Undone(Option<Bounds>),
    /// By itself, this long after it started (a single event leaving the window).
    Pulse(Bounds),
}

/// Why a timing rests on a finding or on luck.
#[derive(Debug, Clone, PartialEq)]
pub struct Caveat {
    pub why: String,
    pub finding: Option<LintId>,
}

/// A leaf's (or a tree's) answer to a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// The step does not move it (a guard); the text of what it is.
    Unaffected(String),
    /// The model does not know what the step does to it.
    Unknown(String),
    Never {
        why: String,
        finding: Option<LintId>,
    },
    Holds {
        start: Bounds,
        end: End,
        why: String,
        caveat: Option<Caveat>,
    },
}

impl Response {
    /// It never holds, for a reason no finding names.
    pub fn never(why: impl Into<String>) -> Response {
        Response::Never {
            why: why.into(),
            finding: None,
        }
    }

    /// It holds from `start` until `end`, without caveat.
    pub fn holds(start: Bounds, end: End, why: String) -> Response {
        Response::Holds {
            start,
            end,
            why,
            caveat: None,
        }
    }
}

/// ⌈d/E⌉·E: how long `for: d` really waits in a group evaluated every E.
pub fn rounded_up(d: Duration, every: Duration) -> f64 {
    let (d, e) = (d.as_secs_f64(), every.as_secs_f64());
    if d <= 0.0 || e <= 0.0 {
        return d.max(0.0);
    }
    (d / e - 1e-9).ceil() * e
}
