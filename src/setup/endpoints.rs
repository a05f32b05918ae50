//! Where a run sends its traffic and which Prometheus and Alertmanager it
//! watches: the target, the endpoints, how credentials are found (never the
//! credentials themselves), and the metric names the service-side checks
//! query.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::fault_kinds::ContainerLimits;

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
