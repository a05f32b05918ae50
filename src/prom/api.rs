//! The JSON of Prometheus's HTTP API (v1), as typed values.
//! Reference: https://prometheus.io/docs/prometheus/latest/querying/api/

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

pub use crate::record::Labels;

/// The envelope of every API answer.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<T> {
    pub status: String,
    pub data: Option<T>,
    #[serde(rename = "errorType")]
    pub error_type: Option<String>,
    pub error: Option<String>,
}

/// A sample: Prometheus time (seconds since the epoch) and value.
/// Values arrive as strings so that NaN and ±Inf survive JSON.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub t: f64,
    pub v: f64,
}

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (t, v): (f64, String) = Deserialize::deserialize(d)?;
        let v = match v.as_str() {
            "+Inf" | "Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            other => other.parse().map_err(|_| {
                de::Error::custom(format!("sample value `{other}` is not a number"))
            })?,
        };
        Ok(Point { t, v })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Sample {
    pub metric: Labels,
    pub value: Point,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Series {
    pub metric: Labels,
    #[serde(default)]
    pub values: Vec<Point>,
}

#[derive(Debug, Clone)]
pub enum QueryResult {
    Vector(Vec<Sample>),
    /// From a range selector (`x[5m]`) in an instant query, or a range query.
    Matrix(Vec<Series>),
    Scalar(Point),
}

#[derive(Debug, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
pub(crate) enum RawResult {
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
    Scalar(Point),
    String(serde::de::IgnoredAny),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ActiveAlert {
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Labels,
    /// `pending` or `firing`.
    pub state: String,
    #[serde(rename = "activeAt", default)]
    pub active_at: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AlertsData {
    pub alerts: Vec<ActiveAlert>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RuleGroup {
    pub name: String,
    #[serde(default)]
    pub file: String,
    /// Evaluation interval in seconds.
    pub interval: f64,
    #[serde(rename = "lastEvaluation", default)]
    pub last_evaluation: Option<String>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Rule {
    pub name: String,
    pub query: String,
    /// `alerting` or `recording`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The alert's `for`, in seconds (alerting rules only).
    #[serde(default)]
    pub duration: f64,
    #[serde(default)]
    pub health: String,
    #[serde(rename = "lastError", default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub state: Option<String>,
}

/// A rule's health as the rules API reports it (`ok`, `err`, `unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleHealth {
    Ok,
    Err,
    /// Not evaluated yet, or a value this list does not know.
    Unknown,
}

impl Rule {
    /// Its `health`, read once here rather than compared as text.
    pub fn rule_health(&self) -> RuleHealth {
        match self.health.as_str() {
            "ok" => RuleHealth::Ok,
            "err" => RuleHealth::Err,
            _ => RuleHealth::Unknown,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct RulesData {
    pub groups: Vec<RuleGroup>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Target {
    pub labels: Labels,
    #[serde(rename = "scrapePool", default)]
    pub scrape_pool: String,
    #[serde(rename = "scrapeUrl", default)]
    pub scrape_url: String,
    #[serde(rename = "lastError", default)]
    pub last_error: String,
    #[serde(rename = "lastScrape", default)]
    pub last_scrape: Option<String>,
    /// `up`, `down` or `unknown`.
    pub health: String,
    #[serde(rename = "scrapeInterval", default)]
    pub scrape_interval: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TargetsData {
    #[serde(rename = "activeTargets")]
    pub active_targets: Vec<Target>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BuildInfo {
    pub version: String,
    #[serde(default)]
    pub revision: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ConfigData {
    pub yaml: String,
}

/// `/api/v1/alertmanagers`: where Prometheus sends its alerts.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AlertmanagersData {
    #[serde(rename = "activeAlertmanagers", default)]
    pub active: Vec<AlertmanagerTarget>,
    #[serde(rename = "droppedAlertmanagers", default)]
    pub dropped: Vec<AlertmanagerTarget>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AlertmanagerTarget {
    /// e.g. `http://10.0.0.7:9093/api/v2/alerts`.
    pub url: String,
}
