//! What was seen of the page: the alerts that arrived at Alertmanager (when,
//! their state over time, the silences and inhibitions that held them, the
//! receivers it chose), every notification the in-process receiver took
//! (when, for which receiver and integration, firing or resolved, for which
//! alerts), the silences Alertmanager had, and when it could not be asked.
//! Times are on Prometheus's clock, like every other record.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Labels;
use crate::setup::AlertRef;

/// Everything the drill saw of one Alertmanager.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertmanagerRecord {
    pub url: String,
    pub version: String,
    /// True for the embedded Alertmanager: every notification went to
    /// firedrill's receiver and is in `notifications`. False for a foreign
    /// one, whose notifications leave for the real integrations unseen.
    pub notifications_observable: bool,
    /// The routing configuration the checks read: the user's file (or the
    /// shipped one) for the embedded Alertmanager, the loaded one (from
    /// /api/v2/status) for a foreign one.
    pub config_text: String,
    pub config_origin: String,
    /// The factor the running configuration's timings were divided by.
    pub time_scale: f64,
    pub notifications: Vec<Notification>,
    /// By fingerprint.
    pub alerts: BTreeMap<String, AlertAtAlertmanager>,
    /// Every silence seen while the drill ran, by id.
    pub silences: BTreeMap<String, SilenceRecord>,
    pub polls: u64,
    /// Polls that failed: when, and why.
    pub failures: Vec<(f64, String)>,
    /// The first and last poll's times: what is known lies between them.
    pub observed_from: f64,
    pub observed_until: f64,
    /// Alertmanager's own counters by integration, at the end minus at the
    /// start of the run (absent when /metrics could not be read).
    #[serde(default)]
    pub notifications_sent: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    pub notifications_failed: Option<BTreeMap<String, f64>>,
}

impl AlertmanagerRecord {
    /// The first failed poll within [from, to], if Alertmanager stopped
    /// answering then.
    pub fn failure_within(&self, from: f64, to: f64) -> Option<&(f64, String)> {
        self.failures.iter().find(|(t, _)| *t >= from && *t <= to)
    }

    /// Alerts a check names (`Name` or `Name{label="value"}`) that reached
    /// Alertmanager, in arrival order.
    pub fn arrivals_of(&self, alert: &AlertRef) -> Vec<&AlertAtAlertmanager> {
        let mut found: Vec<&AlertAtAlertmanager> = self
            .alerts
            .values()
            .filter(|a| alert.matches(&a.labels))
            .collect();
        found.sort_by(|a, b| a.arrived_at.total_cmp(&b.arrived_at));
        found
    }
}

/// One notification as firedrill's receiver took it (a webhook POST,
/// Alertmanager's payload version 4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// When it arrived, on Prometheus's clock.
    pub received_at: f64,
    pub receiver: String,
    /// The integration it replaced (`slack[0]`, `pagerduty[0]`).
    pub integration: String,
    /// `firing` or `resolved` (resolved only when every alert of the group is).
    pub status: String,
    #[serde(default)]
    pub group_key: String,
    pub alerts: Vec<NotifiedAlert>,
}

impl Notification {
    /// It carries the alert a check names in state `status` (firing or
    /// resolved).
    pub fn carries(&self, alert: &AlertRef, status: &str) -> bool {
        self.alerts
            .iter()
            .any(|a| a.status == status && alert.matches(&a.labels))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifiedAlert {
    pub status: String,
    pub labels: Labels,
    #[serde(default)]
    pub starts_at: Option<f64>,
    #[serde(default)]
    pub ends_at: Option<f64>,
    /// Its annotations as rendered (kept for `coverage`'s payload check,
    /// not written to report.json).
    #[serde(skip)]
    pub annotations: Labels,
}

/// One alert (one label set) at Alertmanager.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertAtAlertmanager {
    pub fingerprint: String,
    pub labels: Labels,
    /// When it arrived: Alertmanager's `updatedAt` at the first sighting,
    /// kept between the last poll that did not see it and the first that did.
    pub arrived_at: f64,
    /// How far off `arrived_at` can be (0 when `updatedAt` was in that span).
    pub arrival_uncertainty: f64,
    /// Its `startsAt`: when Prometheus says it began firing.
    #[serde(default)]
    pub starts_at: Option<f64>,
    /// The receivers Alertmanager routed it to.
    pub receivers: Vec<String>,
    /// Its state at the first sighting and at every change.
    pub states: Vec<AlertState>,
    pub last_seen: f64,
    /// The first poll that no longer had it (it resolved), if one did.
    #[serde(default)]
    pub gone_at: Option<f64>,
}

impl AlertAtAlertmanager {
    /// Whether it was ever held back (silenced or inhibited), and the first
    /// such state.
    pub fn first_suppression(&self) -> Option<&AlertState> {
        self.states.iter().find(|s| s.state == "suppressed")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    pub at: f64,
    /// `active`, `suppressed` or `unprocessed`.
    pub state: String,
    pub silenced_by: Vec<String>,
    /// Fingerprints of the alerts inhibiting it.
    pub inhibited_by: Vec<String>,
}

/// A silence, as Alertmanager listed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SilenceRecord {
    pub id: String,
    /// `alertname="GatewayHighErrorRate"`, …
    pub matchers: Vec<String>,
    pub created_by: String,
    pub comment: String,
    pub starts_at: Option<f64>,
    pub ends_at: Option<f64>,
    /// `active`, `pending` or `expired`, when last seen.
    pub state: String,
}
