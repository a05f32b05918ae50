//! The plan: a scenario after validation, with every unit resolved, every
//! name checked and time scaling applied. The drill runs a `Plan`; nothing
//! downstream re-reads the YAML.
//!
//! Plain data only: what to send and what to check, not how.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The alert a check names, as written: `Name`, or `Name{label="value",…}`
/// to tell apart alerts that share a name (Sloth's page and ticket alerts,
/// Pyrra's `ErrorBudgetBurn` windows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRef {
    pub name: String,
    /// Labels the alert must carry (equality only).
    pub labels: Vec<(String, String)>,
}

impl AlertRef {
    /// Reads `text`; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<AlertRef, String> {
        let expr = promql_parser::parser::parse(text).map_err(|e| e.to_string())?;
        let promql_parser::parser::Expr::VectorSelector(selector) = expr else {
            return Err("an alert is named `Name` or `Name{label=\"value\"}`".into());
        };
        let name = selector
            .name
            .clone()
            .ok_or("the alert's name comes first: `Name{label=\"value\"}`")?;
        let mut labels = Vec::new();
        for m in &selector.matchers.matchers {
            if m.name == "__name__" {
                continue;
            }
            if !matches!(m.op, promql_parser::label::MatchOp::Equal) {
                return Err(format!(
                    "`{}{}\"{}\"`: only `=` picks an alert's labels",
                    m.name, m.op, m.value
                ));
            }
            labels.push((m.name.clone(), m.value.clone()));
        }
        if selector.offset.is_some() || selector.at.is_some() {
            return Err("an alert name takes no `offset` or `@`".into());
        }
        Ok(AlertRef { name, labels })
    }

    /// The name alone (`Name{…}` → `Name`), for text that did not parse too.
    pub fn name_of(text: &str) -> &str {
        text.split('{').next().unwrap_or(text).trim()
    }

    /// Whether an alert with `labels` (alertname among them) is this one.
    pub fn matches(text: &str, labels: &BTreeMap<String, String>) -> bool {
        match AlertRef::parse(text) {
            Ok(alert) => {
                labels.get("alertname") == Some(&alert.name)
                    && alert.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            }
            Err(_) => labels.get("alertname").map(String::as_str) == Some(text),
        }
    }

    /// `ALERTS{alertname="Name",label="value"}`.
    pub fn alerts_selector(text: &str) -> String {
        let alert = AlertRef::parse(text).unwrap_or(AlertRef {
            name: text.to_string(),
            labels: Vec::new(),
        });
        let mut matchers = vec![format!("alertname=\"{}\"", alert.name)];
        matchers.extend(
            alert
                .labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))),
        );
        format!("ALERTS{{{}}}", matchers.join(","))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    pub description: Option<String>,
    pub file: PathBuf,
    /// The scenario exactly as written, kept for the report.
    pub source_text: String,
    /// Durations in this plan are already divided by it.
    pub time_scale: f64,
    pub target: TargetPlan,
    pub prometheus: PrometheusPlan,
    /// The Alertmanager the notification checks watch (None: none).
    #[serde(default)]
    pub alertmanager: Option<AlertmanagerPlan>,
    pub service_metrics: ServiceMetrics,
    pub phases: Vec<PhasePlan>,
    pub checks: Vec<CheckPlan>,
    /// This process's share of a run split over several (`--shard i/n`):
    /// the plan describes the whole run; the load engine sends the share.
    #[serde(default)]
    pub shard: Option<Shard>,
}

/// Shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("shard `{text}`: write it as i/n, e.g. 0/3"))?;
        let index: u32 = index
            .trim()
            .parse()
            .map_err(|_| format!("shard `{text}`: `{index}` is not a number"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("shard `{text}`: `{count}` is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("shard `{text}`: need 0 <= i < n"));
        }
        Ok(Shard { index, count })
    }

    /// This shard's part of a whole split as evenly as integers allow (the
    /// first `whole % count` shards take one more).
    pub fn share_of(&self, whole: u64) -> u64 {
        let (index, count) = (self.index as u64, self.count as u64);
        whole / count + u64::from(index < whole % count)
    }

    /// This shard's part of a load model: the arrival rate, or the request
    /// count and concurrency, divided by the number of shards.
    pub fn apply(&self, model: &LoadModel) -> LoadModel {
        let n = self.count as f64;
        match model {
            LoadModel::Open {
                rate,
                duration,
                connections,
            } => LoadModel::Open {
                rate: RateShape {
                    from: rate.from / n,
                    to: rate.to / n,
                },
                duration: *duration,
                connections: self.share_of(*connections as u64).max(1) as u32,
            },
            LoadModel::Closed {
                requests,
                concurrency,
                pause,
                max_duration,
            } => LoadModel::Closed {
                requests: self.share_of(*requests),
                concurrency: self.share_of(*concurrency as u64).max(1) as u32,
                pause: *pause,
                max_duration: *max_duration,
            },
            LoadModel::Idle { duration } => LoadModel::Idle {
                duration: *duration,
            },
        }
    }
}

impl Plan {
    /// True when the run talks to the Kubernetes API.
    pub fn needs_cluster(&self) -> bool {
        matches!(self.target, TargetPlan::Kubernetes { .. })
            || matches!(self.prometheus, PrometheusPlan::Kubernetes { .. })
            || matches!(self.alertmanager, Some(AlertmanagerPlan::Kubernetes { .. }))
            || self
                .phases
                .iter()
                .any(|p| p.fault.as_ref().is_some_and(FaultPlan::needs_cluster))
    }

    /// Wall time of the traffic, from the first phase's start to the last
    /// phase's planned end (closed-model phases count their duration cap).
    pub fn planned_duration(&self) -> Duration {
        self.phases.iter().map(PhasePlan::planned_duration).sum()
    }

    pub fn phase_index(&self, name: &str) -> Option<usize> {
        self.phases.iter().position(|p| p.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TargetPlan {
    /// The in-process demo gateway (and its model backend).
    Embedded {
        /// Its container's limits, which its cAdvisor series report.
        #[serde(default)]
        limits: ContainerLimits,
    },
    /// A Service, found through the Kubernetes API.
    Kubernetes {
        service: ServiceRef,
        metrics_path: String,
    },
    Url {
        base_url: String,
        metrics_path: String,
        #[serde(default)]
        auth: Option<AuthRef>,
        /// For https: the CA to trust, or no verification.
        #[serde(default)]
        tls: TlsPlan,
    },
}

/// The embedded demo's container limits, as a pod spec's `resources.limits`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ContainerLimits {
    pub memory_bytes: u64,
    /// CPU cores (`500m` is 0.5).
    pub cpu_cores: f64,
}

impl Default for ContainerLimits {
    /// The demo's own defaults (`demo::Limits`): 512 MiB and one core.
    fn default() -> Self {
        ContainerLimits {
            memory_bytes: 512 << 20,
            cpu_cores: 1.0,
        }
    }
}

/// The most memory a hog may take (`demo::MAX_MEMORY_HOG_BYTES`, which the
/// demo holds itself to; validation refuses more before anything runs).
pub const MAX_MEMORY_HOG_BYTES: u64 = 1 << 30;

/// A Kubernetes Service: its name, its namespace (None: the configuration's
/// default namespace) and which of its ports (None: its only port, or the
/// one named `http`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceRef {
    pub name: String,
    pub namespace: Option<String>,
    pub port: Option<PortRef>,
}

/// A service port, by number or by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PortRef {
    Number(u16),
    Name(String),
}

/// Where a credential is read from when the run starts. The plan (and so
/// every report) holds only this reference, never the value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "scheme")]
pub enum AuthRef {
    Bearer {
        token: SecretSource,
    },
    Basic {
        username: String,
        password: SecretSource,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "from", content = "name")]
pub enum SecretSource {
    Env(String),
    File(PathBuf),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TlsPlan {
    pub ca_file: Option<PathBuf>,
    pub insecure_skip_verify: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PrometheusPlan {
    Embedded {
        /// Empty: the rules shipped in `k8s/monitoring`, built into the binary.
        rule_files: Vec<PathBuf>,
        /// Before scaling; `None`: the shipped Prometheus config's value.
        scrape_interval: Option<Duration>,
        evaluation_interval: Option<Duration>,
    },
    Url {
        url: String,
        #[serde(default)]
        auth: Option<AuthRef>,
        #[serde(default)]
        tls: TlsPlan,
    },
    /// A Service, found through the Kubernetes API.
    Kubernetes {
        service: ServiceRef,
        #[serde(default)]
        auth: Option<AuthRef>,
    },
}

/// Which Alertmanager a drill watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AlertmanagerPlan {
    /// A child firedrill starts, the embedded Prometheus sends to, and whose
    /// every integration is a webhook to firedrill's receiver.
    Embedded {
        /// The routing configuration; `None`: the one `k8s/monitoring` ships.
        config: Option<PathBuf>,
    },
    /// One that runs somewhere, read through its API only.
    Url {
        url: String,
        #[serde(default)]
        auth: Option<AuthRef>,
        #[serde(default)]
        tls: TlsPlan,
    },
    /// A Service, found through the Kubernetes API.
    Kubernetes {
        service: ServiceRef,
        #[serde(default)]
        auth: Option<AuthRef>,
    },
}

/// What the service-side (PromQL) checks query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceMetrics {
    pub requests_total: String,
    pub duration_seconds: String,
    /// Label matchers without braces, e.g. `endpoint=~"/predict|/batch_predict"`.
    pub selector: String,
    /// The matcher that picks failed requests out of `requests_total`.
    pub error_selector: String,
}

impl Default for ServiceMetrics {
    fn default() -> Self {
        ServiceMetrics {
            requests_total: "gateway_http_requests_total".into(),
            duration_seconds: "gateway_http_request_duration_seconds".into(),
            selector: r#"endpoint=~"/predict|/batch_predict""#.into(),
            error_selector: r#"status=~"5..""#.into(),
        }
    }
}

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckPlan {
    /// Where it was written: `checks[2]`.
    pub id: String,
    /// What a person reads in a report.
    pub name: String,
    pub kind: CheckKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "check")]
pub enum CheckKind {
    FiresWithin {
        alert: String,
        deadline: Duration,
        anchor: Anchor,
    },
    ResolvesWithin {
        alert: String,
        deadline: Duration,
        anchor: Anchor,
    },
    SilentDuring {
        alert: String,
        phase: usize,
        allow_pending: bool,
    },
    Latency {
        quantile: f64,
        below: Duration,
        phase: usize,
        source: Source,
    },
    ErrorRatio {
        below: f64,
        phase: usize,
        source: Source,
    },
    /// Every panel of a Grafana dashboard shows data over the run.
    Dashboard { file: PathBuf, except: Vec<String> },
    /// A notification of the alert reaches `receiver` within the deadline.
    NotifiesWithin {
        alert: String,
        receiver: String,
        deadline: Duration,
        anchor: Anchor,
    },
    /// The notification that the alert resolved reaches `receiver` within
    /// the deadline.
    NotifiesResolvedWithin {
        alert: String,
        receiver: String,
        deadline: Duration,
        anchor: Anchor,
    },
    /// No notification during the phase (to `receiver`, about `alert`, or
    /// to anyone about anything).
    NoNotificationDuring {
        phase: usize,
        receiver: Option<String>,
        alert: Option<String>,
    },
    /// Alertmanager routes the alert to `receiver` (and does not hold it
    /// back), from the phase's start on (or at any time).
    RoutedTo {
        alert: String,
        receiver: String,
        phase: Option<usize>,
    },
}

impl CheckKind {
    pub fn alert(&self) -> Option<&str> {
        match self {
            CheckKind::FiresWithin { alert, .. }
            | CheckKind::ResolvesWithin { alert, .. }
            | CheckKind::SilentDuring { alert, .. }
            | CheckKind::NotifiesWithin { alert, .. }
            | CheckKind::NotifiesResolvedWithin { alert, .. }
            | CheckKind::RoutedTo { alert, .. } => Some(alert),
            CheckKind::NoNotificationDuring { alert, .. } => alert.as_deref(),
            CheckKind::Latency { .. }
            | CheckKind::ErrorRatio { .. }
            | CheckKind::Dashboard { .. } => None,
        }
    }
}

impl CheckKind {
    /// Whether the check is about notifications (it needs an Alertmanager).
    pub fn is_about_notifications(&self) -> bool {
        matches!(
            self,
            CheckKind::NotifiesWithin { .. }
                | CheckKind::NotifiesResolvedWithin { .. }
                | CheckKind::NoNotificationDuring { .. }
                | CheckKind::RoutedTo { .. }
        )
    }

    /// The receiver a notification check names.
    pub fn receiver(&self) -> Option<&str> {
        match self {
            CheckKind::NotifiesWithin { receiver, .. }
            | CheckKind::NotifiesResolvedWithin { receiver, .. }
            | CheckKind::RoutedTo { receiver, .. } => Some(receiver),
            CheckKind::NoNotificationDuring { receiver, .. } => receiver.as_deref(),
            _ => None,
        }
    }
}

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
