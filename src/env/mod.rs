//! Environments: where the traffic goes, which Prometheus is watched, and how
//! faults are injected.
//!
//! - embedded: the demo gateway and backend in-process, and a real Prometheus
//!   child process scraping them, loaded with the shipped (or the scenario's)
//!   rules, every interval and window divided by the scenario's time_scale;
//! - url: a target and/or a Prometheus that already run somewhere.
//!
//! Everything started here is owned by a guard and stopped on drop.

mod embedded;
mod process;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use process::{find_binary, free_port, PrometheusProcess, PROMETHEUS_INSTALL_HINT};

use crate::cluster::{self, ClusterError, ClusterOptions};
use crate::demo::{DemoConfig, DemoStack, FaultGuard, Faults};
use crate::load::{LoadError, Target};
use crate::plan::{AuthRef, Plan, PrometheusPlan, TargetPlan, TlsPlan};
use crate::prom::{Access, PromClient, PromError};
use crate::rules::RulesError;
use crate::secret::{self, Credentials, SecretError};

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{0}")]
    PrometheusMissing(String),
    #[error("the embedded Prometheus failed to start: {message}{}", if log.is_empty() { String::new() } else { format!("\n--- its log ---\n{log}") })]
    PrometheusStart { message: String, log: String },
    #[error("{0}")]
    Prom(#[from] PromError),
    #[error("rules: {0}")]
    Rules(#[from] RulesError),
    #[error("{0}")]
    Secret(#[from] SecretError),
    #[error("the CA file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("the demo gateway failed to start: {0}")]
    Demo(std::io::Error),
    #[error("{0}")]
    Target(#[from] LoadError),
    #[error("{0}")]
    Cluster(#[from] ClusterError),
}

/// What the report records about the environment. Credentials appear only as
/// where they came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvSummary {
    pub kind: String,
    pub target_url: String,
    pub prometheus_url: String,
    pub prometheus_version: String,
    /// The effective (scaled) scrape interval, in seconds.
    pub scrape_interval_seconds: f64,
    /// The effective (scaled) rule evaluation interval, in seconds.
    pub evaluation_interval_seconds: f64,
    /// Where the loaded rules came from.
    pub rule_sources: Vec<String>,
    /// How Prometheus's certificate was checked: "http", "verified", or
    /// "NOT VERIFIED" when the scenario asked to skip verification.
    #[serde(default)]
    pub prometheus_tls: String,
    #[serde(default)]
    pub prometheus_auth: Option<String>,
    #[serde(default)]
    pub target_auth: Option<String>,
    /// How the target's certificate was checked (as for Prometheus).
    #[serde(default)]
    pub target_tls: String,
}

pub struct Environment {
    pub target: Target,
    pub prometheus: PromClient,
    pub summary: EnvSummary,
    /// What was wrong but did not stop the run (e.g. a target down at start).
    pub notes: Vec<String>,
    /// The Kubernetes API, when the plan uses it: a client, the default
    /// namespace, and how to connect again (faults restore from `Drop`).
    pub cluster: Option<(kube::Client, String, ClusterOptions)>,
    demo: Option<Arc<DemoStack>>,
    process: Option<PrometheusProcess>,
}

fn resolve(auth: Option<&AuthRef>) -> Result<Option<Credentials>, SecretError> {
    auth.map(secret::resolve).transpose()
}

fn tls_description(url: &str, tls: &TlsPlan) -> String {
    if !url.starts_with("https://") {
        "http (no TLS)".into()
    } else if tls.insecure_skip_verify {
        "https, certificate NOT VERIFIED (insecure_skip_verify: true)".into()
    } else if let Some(ca) = &tls.ca_file {
        format!("https, certificate verified against {}", ca.display())
    } else {
        "https, certificate verified".into()
    }
}

impl Environment {
    /// Starts (embedded) or connects to (url, kubernetes) what the plan
    /// asks for, and waits until Prometheus is ready and has data.
    pub async fn prepare(plan: &Plan, cluster_options: &ClusterOptions) -> Result<Self, EnvError> {
        let cluster = if plan.needs_cluster() {
            let (client, namespace) = cluster::connect(cluster_options).await?;
            Some((client, namespace, cluster_options.clone()))
        } else {
            None
        };
        let service_url = |service: &crate::plan::ServiceRef| {
            let cluster = cluster.as_ref();
            let service = service.clone();
            async move {
                let (client, default_namespace, _) =
                    cluster.expect("plans with services connect to the cluster first");
                let namespace = service.namespace.as_deref().unwrap_or(default_namespace);
                cluster::service_url(client, namespace, &service.name, service.port.as_ref()).await
            }
        };
        let no_tls = TlsPlan::default();
        let (target_url, metrics_path, target_auth, target_tls, demo) = match &plan.target {
            TargetPlan::Url {
                base_url,
                metrics_path,
                auth,
                tls,
            } => (
                base_url.clone(),
                metrics_path.clone(),
                auth.as_ref(),
                tls,
                None,
            ),
            TargetPlan::Kubernetes {
                service,
                metrics_path,
            } => (
                service_url(service).await?,
                metrics_path.clone(),
                None,
                &no_tls,
                None,
            ),
            TargetPlan::Embedded => {
                let demo = DemoStack::start(DemoConfig::default()).map_err(EnvError::Demo)?;
                let url = format!("http://{}", demo.gateway_addr());
                (url, "/metrics".to_string(), None, &no_tls, Some(demo))
            }
        };
        let target_credentials = resolve(target_auth)?;
        let target = Target::resolve(
            &target_url,
            target_credentials.as_ref().map(Credentials::authorization),
            target_tls,
        )
        .await?;
        let target_auth = target_auth.map(Credentials::describe);

        let (url, auth, tls, kind) = match &plan.prometheus {
            PrometheusPlan::Url { url, auth, tls } => (url.clone(), auth, tls.clone(), "url"),
            PrometheusPlan::Kubernetes { service, auth } => (
                service_url(service).await?,
                auth,
                TlsPlan::default(),
                "kubernetes",
            ),
            PrometheusPlan::Embedded {
                rule_files,
                scrape_interval,
                evaluation_interval,
            } => {
                let targets = embedded::ScrapeTargets {
                    gateway: target.addr.to_string(),
                    gateway_path: metrics_path,
                    backend: demo.as_ref().map(|d| d.backend_addr().to_string()),
                    credentials: target_credentials,
                    tls: target
                        .tls
                        .is_some()
                        .then(|| (target_tls.clone(), target.host.clone())),
                };
                let started = embedded::start(
                    rule_files,
                    *scrape_interval,
                    *evaluation_interval,
                    plan.time_scale,
                    targets,
                )
                .await?;
                let notes = embedded::wait_for_first_data(&started.client, started.scrape)
                    .await?
                    .into_iter()
                    .collect();
                return Ok(Environment {
                    summary: EnvSummary {
                        kind: "embedded".into(),
                        target_tls: tls_description(&target_url, target_tls),
                        target_url,
                        prometheus_url: started.process.url().to_string(),
                        prometheus_version: started.process.version().to_string(),
                        scrape_interval_seconds: started.scrape.as_secs_f64(),
                        evaluation_interval_seconds: started.evaluation.as_secs_f64(),
                        rule_sources: started.rule_sources,
                        prometheus_tls: "http (no TLS), loopback".into(),
                        prometheus_auth: None,
                        target_auth,
                    },
                    target,
                    prometheus: started.client,
                    notes,
                    cluster,
                    demo,
                    process: Some(started.process),
                });
            }
        };
        let ca_pem = match &tls.ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| EnvError::CaFile {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?),
            None => None,
        };
        let access = Access {
            credentials: resolve(auth.as_ref())?,
            ca_pem,
            insecure_skip_verify: tls.insecure_skip_verify,
        };
        let prometheus = PromClient::with_access(&url, access)?;
        prometheus.wait_ready(Duration::from_secs(10)).await?;
        let version = prometheus
            .buildinfo()
            .await
            .map(|b| b.version)
            .unwrap_or_else(|_| "unknown".into());
        let (scrape, evaluation) = observed_intervals(&prometheus).await?;
        Ok(Environment {
            summary: EnvSummary {
                kind: kind.into(),
                target_tls: tls_description(&target_url, target_tls),
                target_url,
                prometheus_tls: tls_description(&url, &tls),
                prometheus_url: url,
                prometheus_version: version,
                scrape_interval_seconds: scrape,
                evaluation_interval_seconds: evaluation,
                rule_sources: vec!["(the rules the Prometheus it watched had loaded)".into()],
                prometheus_auth: auth.as_ref().map(Credentials::describe),
                target_auth,
            },
            target,
            prometheus,
            notes: Vec::new(),
            cluster,
            demo,
            process: None,
        })
    }

    /// Injects demo faults until the guard drops. `None` when the target is
    /// not the embedded demo (validation refuses such scenarios).
    pub fn inject(&self, faults: &Faults) -> Option<std::io::Result<FaultGuard>> {
        self.demo.as_ref().map(|demo| demo.inject(faults))
    }

    pub fn prometheus_log_tail(&self, lines: usize) -> Option<String> {
        self.process.as_ref().map(|p| p.log_tail(lines))
    }

    /// The embedded Prometheus's log, copied before the process is dropped.
    pub fn prometheus_log(&self) -> Option<String> {
        self.process
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p.log_path()).ok())
    }

    /// The embedded Prometheus process, for tests that stop it on purpose.
    pub fn prometheus_process(&mut self) -> Option<&mut PrometheusProcess> {
        self.process.as_mut()
    }

    pub fn demo(&self) -> Option<&Arc<DemoStack>> {
        self.demo.as_ref()
    }
}

/// A Prometheus we did not configure: its intervals, as it reports them.
async fn observed_intervals(prometheus: &PromClient) -> Result<(f64, f64), EnvError> {
    let groups = prometheus.rules().await?;
    let evaluation = groups.iter().map(|g| g.interval).fold(f64::NAN, f64::min);
    let targets = prometheus.targets().await?;
    let scrape = targets
        .iter()
        .filter_map(|t| t.scrape_interval.as_deref())
        .filter_map(|s| promql_parser::util::parse_duration(s).ok())
        .map(|d| d.as_secs_f64())
        .fold(f64::NAN, f64::min);
    Ok((
        if scrape.is_nan() { 15.0 } else { scrape },
        if evaluation.is_nan() {
            60.0
        } else {
            evaluation
        },
    ))
}
