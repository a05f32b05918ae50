//! What each phase sends and does: its load model (open, closed, idle), its
//! requests, its fault.

use std::time::Duration;

use serde::{Deserialize, Serialize};

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
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FaultPlan {
    /// The embedded demo gateway's faults.
    Demo(DemoFaults),
    /// One HTTP call starts the fault, another restores.
    Http { start: HttpCall, restore: HttpCall },
    /// One command starts the fault, another restores (argv, no shell).
    Exec {
        start: Vec<String>,
        restore: Vec<String>,
    },
    /// A Deployment scaled through the Kubernetes API, restored afterwards.
    Scale {
        deployment: String,
        namespace: Option<String>,
        replicas: u32,
    },
    /// Pods deleted through the Kubernetes API (their controller replaces them).
    DeletePods {
        namespace: Option<String>,
        selector: Option<String>,
        name: Option<String>,
    },
}

impl FaultPlan {
    pub fn needs_cluster(&self) -> bool {
        matches!(self, FaultPlan::Scale { .. } | FaultPlan::DeletePods { .. })
    }
}

/// Faults of the embedded demo gateway. `DemoFaults::default()` is healthy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoFaults {
    /// Share of backend calls that answer 500.
    pub backend_error_ratio: f64,
    /// Latency added to every backend call (in JSON: milliseconds).
    #[serde(with = "millis", rename = "backend_latency_ms")]
    pub backend_latency: Duration,
    /// The backend stops listening: the gateway answers 503.
    pub backend_down: bool,
    /// The gateway stops listening.
    pub gateway_down: bool,
    /// Memory is taken until the demo's working set is this share of its
    /// memory limit (0: none).
    pub memory_hog: f64,
    /// Threads spin until the demo's process uses this share of its CPU
    /// limit (0: none).
    pub cpu_burn: f64,
}

mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpCall {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    #[serde(with = "body_text")]
    pub body: Vec<u8>,
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

mod body_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(body: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(body))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        String::deserialize(d).map(String::into_bytes)
    }
}

#[cfg(test)]
mod fault_json_tests {
    use super::*;

    /// report.json's `plan.phases[].fault`, one of each kind, as written
    /// before the kinds had modules of their own: old reports read back.
    #[test]
    fn each_fault_kind_keeps_its_json() {
        let call = |url: &str| HttpCall {
            method: "PUT".into(),
            url: url.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: b"{}".to_vec(),
        };
        let cases = [
            (
                FaultPlan::Demo(DemoFaults {
                    backend_error_ratio: 0.5,
                    backend_latency: Duration::from_millis(250),
                    memory_hog: 0.9,
                    ..DemoFaults::default()
                }),
                r#"{"kind":"demo","backend_error_ratio":0.5,"backend_latency_ms":250,"backend_down":false,"gateway_down":false,"memory_hog":0.9,"cpu_burn":0.0}"#,
            ),
            (
                FaultPlan::Http {
                    start: call("http://127.0.0.1:1/start"),
                    restore: call("http://127.0.0.1:1/stop"),
                },
                r#"{"kind":"http","start":{"method":"PUT","url":"http://127.0.0.1:1/start","headers":[["content-type","application/json"]],"body":"{}"},"restore":{"method":"PUT","url":"http://127.0.0.1:1/stop","headers":[["content-type","application/json"]],"body":"{}"}}"#,
            ),
            (
                FaultPlan::Exec {
                    start: vec!["touch".into(), "/tmp/x".into()],
                    restore: vec!["rm".into(), "/tmp/x".into()],
                },
                r#"{"kind":"exec","start":["touch","/tmp/x"],"restore":["rm","/tmp/x"]}"#,
            ),
            (
                FaultPlan::Scale {
                    deployment: "sentiment-api".into(),
                    namespace: None,
                    replicas: 0,
                },
                r#"{"kind":"scale","deployment":"sentiment-api","namespace":null,"replicas":0}"#,
            ),
            (
                FaultPlan::DeletePods {
                    namespace: Some("ml".into()),
                    selector: Some("app=sentiment-api".into()),
                    name: None,
                },
                r#"{"kind":"delete_pods","namespace":"ml","selector":"app=sentiment-api","name":null}"#,
            ),
        ];
        for (plan, json) in cases {
            assert_eq!(serde_json::to_string(&plan).unwrap(), json);
            assert_eq!(serde_json::from_str::<FaultPlan>(json).unwrap(), plan);
        }
        // A report written before the memory hog and the CPU burn.
        let old = r#"{"kind":"demo","backend_error_ratio":0.5,"backend_latency_ms":0,"backend_down":false,"gateway_down":false}"#;
        assert_eq!(
            serde_json::from_str::<FaultPlan>(old).unwrap(),
            FaultPlan::Demo(DemoFaults {
                backend_error_ratio: 0.5,
                ..DemoFaults::default()
            })
        );
    }
}
