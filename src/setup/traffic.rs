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
}

impl PhasePlan {
    pub fn planned_duration(&self) -> Duration {
        match &self.model {
            LoadModel::Open { duration, .. } | LoadModel::Idle { duration } => *duration,
            LoadModel::Closed { max_duration, .. } => max_duration.unwrap_or_default(),
        }
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
