//! The ledger: one line per alert — its verdict, why, what the timing
//! model predicted and what the proof measured (fired, routed, notified,
//! resolved) — and the summary: counts by verdict and the time it took.
//! Data only: `report` renders the terminal table, the HTML page and
//! JUnit; `--json` serializes exactly the fields below. Also the gate: an
//! alert is required unless `--require` narrows them, and every required
//! one must be proven.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::provoke::Provocation;
use crate::analyze::timing::Bounds;
use crate::rules::alertmanager::{all_match, Matcher};

/// What the proof concluded about one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Provoked, fired within the predicted bounds (or with no bounds to
    /// hold it to), resolved; routed to a receiver that notifies.
    Proven,
    /// Fired outside the predicted bounds: the model or the measurement is
    /// wrong.
    Late,
    /// Its condition can never hold (or, with `--prometheus`, reads series
    /// that are not there).
    Dead,
    /// Already pending or firing on the live Prometheus given.
    Noisy,
    /// No notification reaches a receiver with integrations.
    Unrouted,
    /// Muted: by an inhibition, a time interval or a silence that applies.
    Silenced,
    /// No provocation was found, or the proof could not run it.
    NotProvoked,
}

impl Verdict {
    pub const ALL: [Verdict; 7] = [
        Verdict::Proven,
        Verdict::Late,
        Verdict::Dead,
        Verdict::Noisy,
        Verdict::Unrouted,
        Verdict::Silenced,
        Verdict::NotProvoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Proven => "proven",
            Verdict::Late => "late",
            Verdict::Dead => "dead",
            Verdict::Noisy => "noisy",
            Verdict::Unrouted => "unrouted",
            Verdict::Silenced => "silenced",
            Verdict::NotProvoked => "not_provoked",
        }
    }
}

/// One alert's line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertLedger {
    pub alert: String,
    /// The rule's own labels.
    pub labels: BTreeMap<String, String>,
    pub verdict: Verdict,
    pub why: String,
    /// The timing model's bounds of firing after the provocation began.
    pub predicted: Option<Bounds>,
    pub fired_after_seconds: Option<f64>,
    pub receiver: Option<String>,
    pub notified_after_seconds: Option<f64>,
    pub resolved_after_seconds: Option<f64>,
    /// Where the rule was read (not in the JSON: its fields are issue 20's).
    #[serde(skip)]
    pub origin: String,
    /// The healthy state and the provocation, when one was found.
    #[serde(skip)]
    pub provocation: Option<Provocation>,
    /// The test that proved it (a `promtool test rules` group).
    #[serde(skip)]
    pub test: Option<String>,
}

impl AlertLedger {
    /// `alertname` and the rule's labels, for `--require`.
    pub fn label_set(&self) -> crate::record::Labels {
        let mut labels: crate::record::Labels = self
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.insert("alertname".into(), self.alert.clone());
        labels
    }
}

/// Counts by verdict, and how long the run took.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub counts: BTreeMap<Verdict, usize>,
    pub elapsed_seconds: f64,
}

impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(Verdict::ALL.len() + 1))?;
        for verdict in Verdict::ALL {
            map.serialize_entry(verdict.as_str(), &self.counts.get(&verdict).unwrap_or(&0))?;
        }
        map.serialize_entry("elapsed_seconds", &self.elapsed_seconds)?;
        map.end()
    }
}

/// The ledger of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ledger {
    pub alerts: Vec<AlertLedger>,
    pub summary: Summary,
    /// The proof that ran (`promtool`, `live`, `promtool and live`).
    pub proof: String,
    /// What the run assumed or could not do, said once (why a proof did
    /// not run among them).
    pub notes: Vec<String>,
    /// Emitted test files promtool did not pass (with its words).
    #[serde(skip)]
    pub emit_failures: Vec<String>,
}

impl Ledger {
    pub fn new(
        alerts: Vec<AlertLedger>,
        elapsed_seconds: f64,
        proof: &str,
        notes: Vec<String>,
    ) -> Ledger {
        let mut counts = BTreeMap::new();
        for alert in &alerts {
            *counts.entry(alert.verdict).or_insert(0) += 1;
        }
        Ledger {
            alerts,
            summary: Summary {
                counts,
                elapsed_seconds,
            },
            proof: proof.to_string(),
            notes,
            emit_failures: Vec::new(),
        }
    }

    /// The alerts `require` asks for (all when it is empty).
    pub fn required<'a>(&'a self, require: &'a [Matcher]) -> impl Iterator<Item = &'a AlertLedger> {
        self.alerts
            .iter()
            .filter(move |a| all_match(require, &a.label_set()))
    }

    /// Every required alert is proven (and every emitted test passes).
    pub fn passes(&self, require: &[Matcher]) -> bool {
        self.emit_failures.is_empty()
            && self.required(require).all(|a| a.verdict == Verdict::Proven)
    }

    /// proven of total, as people say it (`8/8 proven`).
    pub fn figure(&self) -> String {
        let proven = self.summary.counts.get(&Verdict::Proven).unwrap_or(&0);
        let mut text = format!("{proven}/{} proven", self.alerts.len());
        for verdict in Verdict::ALL.into_iter().skip(1) {
            if let Some(n) = self.summary.counts.get(&verdict).filter(|n| **n > 0) {
                text.push_str(&format!(", {n} {}", verdict.as_str()));
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(alert: &str, severity: &str, verdict: Verdict) -> AlertLedger {
        AlertLedger {
            alert: alert.into(),
            labels: BTreeMap::from([("severity".to_string(), severity.to_string())]),
            verdict,
            why: String::new(),
            predicted: None,
            fired_after_seconds: None,
            receiver: None,
            notified_after_seconds: None,
            resolved_after_seconds: None,
            origin: String::new(),
            provocation: None,
            test: None,
        }
    }

    #[test]
    fn the_gate_counts_only_required_alerts() {
        let ledger = Ledger::new(
            vec![
                line("A", "critical", Verdict::Proven),
                line("B", "warning", Verdict::Dead),
            ],
            1.0,
            "promtool",
            Vec::new(),
        );
        assert!(!ledger.passes(&[]));
        let critical =
            crate::rules::alertmanager::parse_matchers(r#"severity="critical""#).unwrap();
        assert!(ledger.passes(&critical));
        let json = serde_json::to_value(&ledger).unwrap();
        assert_eq!(json["summary"]["dead"], 1);
        assert_eq!(json["summary"]["not_provoked"], 0);
        assert_eq!(ledger.figure(), "1/2 proven, 1 dead");
        let fields: Vec<&str> = json["alerts"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            fields,
            [
                "alert",
                "fired_after_seconds",
                "labels",
                "notified_after_seconds",
                "predicted",
                "receiver",
                "resolved_after_seconds",
                "verdict",
                "why"
            ]
        );
    }
}
