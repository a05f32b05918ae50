//! The scenario file format, version 1, exactly as a person writes it.
//!
//! These types mirror the YAML one to one (`deny_unknown_fields` everywhere, so
//! a misspelt key is an error, not a silently ignored setting). Meaning is
//! given to them in `validate`, which turns a `ScenarioFile` into a `Plan`.
//! A check's keys are the check kinds' (`checks::format::CheckSpec`); a
//! phase's `fault:` keys are the fault kinds' (`fault_kinds::FaultSpec`). See the
//! README's "Scenario reference" for every field.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::checks::format::CheckSpec;
use crate::fault_kinds::FaultSpec;
use crate::spec::units::{ByteSize, Cores, HumanDuration, Rate};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    #[serde(default)]
    pub version: Option<u32>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Where traffic goes. Omitted: the embedded demo gateway.
    #[serde(default)]
    pub target: Option<TargetSpec>,
    /// Which Prometheus to watch. Omitted: an embedded Prometheus child process.
    #[serde(default)]
    pub prometheus: Option<PrometheusSpec>,
    /// Which Alertmanager the notification checks watch. Omitted: none, or,
    /// when a check is about notifications, an embedded one loaded with the
    /// shipped routing tree.
    #[serde(default)]
    pub alertmanager: Option<AlertmanagerSpec>,
    /// Divides every interval, window, `for`, phase duration and deadline, so a
    /// ten-minute drill runs in one minute. Embedded Prometheus only.
    #[serde(default)]
    pub time_scale: Option<f64>,
    /// Under `time_scale`, whether open-model rates are multiplied by it
    /// (and closed-model pauses divided), so each compressed window holds
    /// as many requests as production's. Default true; false keeps the
    /// rates as written, and the run notes the noise that costs.
    #[serde(default)]
    pub scale_rates: Option<bool>,
    /// The metric names the service-side checks query (default: the seed's gateway).
    #[serde(default)]
    pub service_metrics: Option<ServiceMetricsSpec>,
    /// Settings shared by every phase unless a phase overrides them.
    #[serde(default)]
    pub defaults: Option<DefaultsSpec>,
    pub phases: Vec<PhaseSpec>,
    #[serde(default)]
    pub checks: Vec<CheckSpec>,
    /// What relative checks (`at_most: baseline + 10%`) are judged against:
    /// a report.json, or a directory of report directories.
    #[serde(default)]
    pub baseline: Option<BaselineSpec>,
}

/// `baseline: reports/nightly` or `baseline: { path: reports/nightly, last: 7 }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum BaselineSpec {
    Path(String),
    Full {
        path: String,
        #[serde(default)]
        last: Option<usize>,
    },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    #[serde(default)]
    pub embedded: Option<bool>,
    #[serde(default)]
    pub base_url: Option<String>,
    /// Where the target's metrics are, for an embedded Prometheus scraping a URL
    /// target (default `/metrics`).
    #[serde(default)]
    pub metrics_path: Option<String>,
    /// Credentials for every request, from an environment variable or a file.
    #[serde(default)]
    pub auth: Option<AuthSpec>,
    /// For an https `base_url`: a CA to trust, or no verification.
    #[serde(default)]
    pub tls: Option<TlsSpec>,
    /// A Service found through the Kubernetes API.
    #[serde(default)]
    pub kubernetes: Option<KubeServiceSpec>,
    /// The embedded demo's container limits (its cAdvisor series).
    #[serde(default)]
    pub limits: Option<LimitsSpec>,
}

/// As a pod spec's `resources.limits`: `{ memory: 256Mi, cpu: 500m }`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    #[serde(default)]
    pub memory: Option<ByteSize>,
    #[serde(default)]
    pub cpu: Option<Cores>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KubeServiceSpec {
    pub service: String,
    #[serde(default)]
    pub namespace: Option<String>,
    /// A port number or name.
    #[serde(default)]
    pub port: Option<crate::plan::PortRef>,
}

/// Where credentials come from. Never the credential itself: a scenario file
/// is copied into every report.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuthSpec {
    #[serde(default)]
    pub bearer_token_env: Option<String>,
    #[serde(default)]
    pub bearer_token_file: Option<String>,
    #[serde(default)]
    pub basic: Option<BasicAuthSpec>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthSpec {
    pub username: String,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// Trust this CA (PEM) in addition to the system's.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Do not verify the server's certificate. Shown in every report.
    #[serde(default)]
    pub insecure_skip_verify: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSpec {
    #[serde(default)]
    pub embedded: Option<bool>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub auth: Option<AuthSpec>,
    #[serde(default)]
    pub tls: Option<TlsSpec>,
    /// A Service found through the Kubernetes API.
    #[serde(default)]
    pub kubernetes: Option<KubeServiceSpec>,
    /// Rule files (plain, ConfigMap or PrometheusRule) the embedded Prometheus
    /// loads, relative to the scenario file. Default: the shipped `k8s/monitoring` rules.
    #[serde(default)]
    pub rules: Option<Vec<String>>,
    /// Embedded only, before time scaling. Default: the shipped config (15s / 30s).
    #[serde(default)]
    pub scrape_interval: Option<HumanDuration>,
    #[serde(default)]
    pub evaluation_interval: Option<HumanDuration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerSpec {
    #[serde(default)]
    pub embedded: Option<bool>,
    /// The embedded Alertmanager's routing (an alertmanager.yml, or a
    /// ConfigMap holding one), relative to the scenario file. Default: the
    /// shipped `k8s/monitoring/alertmanager.yaml`.
    #[serde(default)]
    pub config: Option<String>,
    /// An Alertmanager that runs somewhere (read-only).
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub auth: Option<AuthSpec>,
    #[serde(default)]
    pub tls: Option<TlsSpec>,
    #[serde(default)]
    pub kubernetes: Option<KubeServiceSpec>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceMetricsSpec {
    #[serde(default)]
    pub requests_total: Option<String>,
    #[serde(default)]
    pub duration_seconds: Option<String>,
    /// Label matchers that pick the traffic the SLO is about, e.g. `endpoint="/predict"`.
    #[serde(default)]
    pub selector: Option<String>,
    /// Which of those requests failed (default `status=~"5.."`).
    #[serde(default)]
    pub error_selector: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultsSpec {
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    #[serde(default)]
    pub connections: Option<u32>,
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSpec {
    pub name: String,
    #[serde(default)]
    pub duration: Option<HumanDuration>,
    #[serde(default)]
    pub rate: Option<RateSpec>,
    #[serde(default)]
    pub connections: Option<u32>,
    #[serde(default)]
    pub requests: Option<u64>,
    #[serde(default)]
    pub concurrency: Option<u32>,
    #[serde(default)]
    pub pause: Option<HumanDuration>,
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    #[serde(default)]
    pub request: Option<RequestSpec>,
    #[serde(default)]
    pub mix: Option<Vec<MixEntrySpec>>,
    #[serde(default)]
    pub fault: Option<FaultSpec>,
    /// A phase that fills the rules' windows before anything is judged:
    /// no check may watch it.
    #[serde(default)]
    pub warm_up: Option<bool>,
}

/// `rate: 10/s` or `rate: { from: 1/s, to: 50/s }` (a linear ramp over the phase).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateSpec {
    Constant(Rate),
    Ramp { from: Rate, to: Rate },
}

impl<'de> Deserialize<'de> for RateSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RateVisitor;
        impl<'de> Visitor<'de> for RateVisitor {
            type Value = RateSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a rate like 10/s, or a ramp { from: 1/s, to: 50/s }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RateSpec, E> {
                Rate::parse(v).map(RateSpec::Constant).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RateSpec, E> {
                Err(E::custom(format!(
                    "rate `{v}` needs a unit: write it as {v}/s"
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RateSpec, E> {
                Err(E::custom(format!(
                    "rate `{v}` needs a unit: write it as {v}/s"
                )))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RateSpec, A::Error> {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Ramp {
                    from: Rate,
                    to: Rate,
                }
                let ramp = Ramp::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RateSpec::Ramp {
                    from: ramp.from,
                    to: ramp.to,
                })
            }
        }
        d.deserialize_any(RateVisitor)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    #[serde(default)]
    pub method: Option<String>,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body (sent with `content-type: application/json`).
    #[serde(default)]
    pub json: Option<serde_json::Value>,
    /// A raw body, sent as written (the seed's `invalid json` request).
    #[serde(default)]
    pub body: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixEntrySpec {
    #[serde(default)]
    pub weight: Option<u32>,
    pub request: RequestSpec,
}
