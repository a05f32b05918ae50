//! The figures several kinds' evidence share, each a group written together
//! or not at all (flattened into the kind's evidence, so report.json keeps
//! one flat object per verdict), and `Readout`: what reports and the push
//! read of any kind's evidence.
//!
//! A field that is written even without a value (`null`) is read with
//! `nullable`: required, so a group is found in report.json exactly when it
//! was written, and read back the same.

use serde::{Deserialize, Deserializer, Serialize};

/// Reads a field that is always written, `null` or not: unlike a plain
/// `Option`, a missing one is an error, so the group holding it is absent.
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

/// What an alert check saw before it stopped: the alerts Prometheus had
/// loaded (the named one missing), the rule's query (it fails to
/// evaluate), the condition (it could not be evaluated, or never held).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loaded_alerts: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// The alert rule as Prometheus had it loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleFigures {
    pub rule_for_seconds: f64,
    pub evaluation_interval_seconds: f64,
    pub rule_query: String,
    pub rule_group: String,
}

/// What a deadline counts from, when that came (seconds from the run's
/// start), and how long it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineFigures {
    pub anchor: String,
    pub anchor_at_seconds: f64,
    pub deadline_seconds: f64,
}

/// The phase a check watches, in seconds from the run's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseFigures {
    pub phase: String,
    pub phase_from_seconds: f64,
    pub phase_to_seconds: f64,
}

/// How a notification verdict was measured, at which Alertmanager, and the
/// route the alert took there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageFigures {
    pub measured: String,
    pub alertmanager: String,
    #[serde(flatten)]
    pub route: Option<RouteFigures>,
    /// The routing configuration could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_error: Option<String>,
}

/// The route an alert takes to a receiver, with its timings as they ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteFigures {
    pub route: String,
    pub route_receiver: String,
    pub group_wait_seconds: f64,
    pub group_interval_seconds: f64,
}

/// What the report and the push read of a verdict's evidence, whatever its
/// kind; a kind answers what it measures, the rest is `None`.
pub trait Readout {
    /// The deadline on the alert's timeline (the report draws it).
    fn deadline(&self) -> Option<&DeadlineFigures> {
        None
    }

    /// Seconds from the anchor to the alert firing.
    fn time_to_fire_seconds(&self) -> Option<f64> {
        None
    }

    /// Seconds from the anchor to the alert resolving.
    fn time_to_resolve_seconds(&self) -> Option<f64> {
        None
    }

    /// The receiver a notification reached, and seconds from the anchor.
    fn time_to_notify(&self) -> Option<(&str, f64)> {
        None
    }
}
