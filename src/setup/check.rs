//! The words checks of several kinds share: what a deadline counts from
//! (`Anchor`) and who measured a figure (`Source`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "at")]
pub enum Anchor {
    PhaseStart {
        phase: usize,
    },
    PhaseEnd {
        phase: usize,
    },
    /// The first moment, at or after the phase's start, that the condition held.
    Condition {
        phase: usize,
        /// `None`: the alert rule's own expression, as Prometheus has it loaded.
        expr: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Measured by firedrill's load engine (HDR histograms).
    Client,
    /// Measured by the service and queried from Prometheus.
    Prometheus,
}

impl Source {
    /// `client` or `prometheus`, as a scenario writes it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Client => "client",
            Source::Prometheus => "prometheus",
        }
    }
}
