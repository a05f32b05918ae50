//! What each phase sends and does: its load model (open, closed, idle), its
//! requests, its fault.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::fault_kinds::FaultPlan;
use crate::spec::body_text;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhasePlan {
    pub name: String,
    pub model: LoadModel,
    pub requests: Vec<WeightedRequest>,
    pub fault: Option<FaultPlan>,
    pub timeout: Duration,
    /// How its traffic stands for production's under `time_scale`.
    #[serde(default)]
    pub pace: Pace,
    /// It fills the rules' windows before anything is judged: no check
    /// watches it (`warm_up: true`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub warm_up: bool,
}

impl PhasePlan {
    pub fn planned_duration(&self) -> Duration {
        match &self.model {
            LoadModel::Open { duration, .. } | LoadModel::Idle { duration } => *duration,
            LoadModel::Closed { max_duration, .. } => max_duration.unwrap_or_default(),
        }
    }
}

/// How a phase's traffic stands for production's under `time_scale`. One
/// compressed second stands for `time_scale` production seconds, so a
/// compressed window holds as many requests as production's only when the
/// arrival rate is multiplied by the scale (closed model: the pauses
/// divided) — `scale_rates`, the default. Concurrency is not scaled: it is
/// how many clients there are, not how often they send.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pace {
    pub time_scale: f64,
    /// Rates multiplied by `time_scale`, pauses divided by it.
    pub rates_scaled: bool,
}

impl Default for Pace {
    /// Uncompressed (and what a report written before `Pace` meant).
    fn default() -> Self {
        Pace {
            time_scale: 1.0,
            rates_scaled: false,
        }
    }
}

impl Pace {
    pub fn new(time_scale: f64, scale_rates: bool) -> Self {
        Pace {
            time_scale,
            rates_scaled: scale_rates && time_scale != 1.0,
        }
    }

    /// Whether the drill runs compressed.
    pub fn is_compressed(&self) -> bool {
        self.time_scale != 1.0
    }

    /// What the rates written are multiplied by when sent.
    pub fn rate_factor(&self) -> f64 {
        if self.rates_scaled {
            self.time_scale
        } else {
            1.0
        }
    }

    /// The rate as the scenario wrote it (production's), from the rate sent.
    pub fn written(&self, sent: f64) -> f64 {
        sent / self.rate_factor()
    }

    /// The production rate whose windows hold what this phase's compressed
    /// windows hold: the rate sent divided by the scale (the written rate
    /// when rates are scaled; `time_scale` times less when they are not).
    pub fn production_equivalent(&self, sent: f64) -> f64 {
        sent / self.time_scale
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "model")]
pub enum LoadModel {
    /// Requests arrive on a schedule whatever the target does: latency is
    /// measured from each request's intended send time.
    Open {
        rate: RateShape,
        duration: Duration,
        /// The bound on requests in flight.
        connections: u32,
    },
    /// `concurrency` clients each send, wait for the answer, pause, repeat.
    Closed {
        requests: u64,
        concurrency: u32,
        pause: Duration,
        max_duration: Option<Duration>,
    },
    /// No traffic: the drill only watches (recovery, settling).
    Idle { duration: Duration },
}

/// Requests per second, constant (`from == to`) or a linear ramp over the phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateShape {
    pub from: f64,
    pub to: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightedRequest {
    pub weight: u32,
    pub request: RequestTemplate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestTemplate {
    pub method: String,
    /// Path and query, starting with `/`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// In JSON: the body as text (bodies come from YAML text, so they are UTF-8).
    #[serde(with = "body_text")]
    pub body: Vec<u8>,
}
