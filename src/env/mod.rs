//! Environments: where the traffic goes, which Prometheus is watched, and how
//! faults are injected.
//!
//! - embedded: the demo gateway and backend in-process, and a real Prometheus
//!   child process scraping them, loaded with the shipped (or the scenario's)
//!   rules, every interval and window divided by the scenario's time_scale;
//! - url: a target and/or a Prometheus that already run somewhere;
//! - the Alertmanager the notification checks watch (`alertmanager`):
//!   an embedded child the embedded Prometheus sends to, or one given by
//!   URL or Service.
//!
//! Everything started here is owned by a guard and stopped on drop.

mod alertmanager;
mod embedded;
mod process;

use std::sync::Arc;
use std::time::Duration;

pub use alertmanager::{start_embedded as start_alertmanager, WatchedAlertmanager};
pub use embedded::start_prometheus;
pub use process::{
    die_with_parent, find_binary, free_port, Binary, ChildProcess, ProcessHandle, ALERTMANAGER,
    ALERTMANAGER_INSTALL_HINT, PROMETHEUS, PROMETHEUS_INSTALL_HINT,
};

use crate::cluster::{self, ClusterError, ClusterHandle, ClusterOptions};
use crate::demo::{DemoConfig, DemoStack};
use crate::faults::FaultContext;
use crate::load::{LoadError, Target};
use crate::plan::{AlertmanagerPlan, AuthRef, Plan, PrometheusPlan, TargetPlan, TlsPlan};
use crate::prom::{Access, AlertmanagerError, PromClient, PromError};
use crate::record::{EnvKind, EnvSummary};
use crate::rules::RulesError;
use crate::secret::{self, Credentials, SecretError};

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{0}")]
    BinaryMissing(String),
    #[error("the embedded {what} failed to start: {message}{}", if log.is_empty() { String::new() } else { format!("\n--- its log ---\n{log}") })]
    ChildStart {
        what: &'static str,
        message: String,
        log: String,
    },
    #[error("{0}")]
    Prom(#[from] PromError),
    #[error("{0}")]
    Alertmanager(#[from] AlertmanagerError),
    #[error("rules: {0}")]
    Rules(#[from] RulesError),
    #[error("{0}")]
    Secret(#[from] SecretError),
    #[error("the CA file {path}: {source}")]
    CaFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the demo gateway failed to start: {0}")]
    Demo(#[source] std::io::Error),
    #[error("{0}")]
    Target(#[from] LoadError),
    #[error("{0}")]
    Cluster(#[from] ClusterError),
}

pub struct Environment {
    pub target: Target,
    pub prometheus: PromClient,
    pub summary: EnvSummary,
    /// What was wrong but did not stop the run (e.g. a target down at start).
    pub notes: Vec<String>,
    /// The Kubernetes API, when the plan uses it.
    pub cluster: Option<ClusterHandle>,
    /// The Alertmanager the notification checks watch.
    pub alertmanager: Option<WatchedAlertmanager>,
    demo: Option<Arc<DemoStack>>,
    process: Option<ChildProcess>,
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

/// The target, resolved: where traffic goes and how the embedded
/// Prometheus would scrape it.
struct ResolvedTarget {
    url: String,
    metrics_path: String,
    tls: TlsPlan,
    credentials: Option<Credentials>,
    /// Where the credentials came from, for the report.
    auth: Option<String>,
    target: Target,
    demo: Option<Arc<DemoStack>>,
}

/// The Prometheus a run watches.
struct Watched {
    client: PromClient,
    kind: EnvKind,
    url: String,
    version: String,
    scrape_seconds: f64,
    evaluation_seconds: f64,
    rule_sources: Vec<String>,
    /// What time scaling did to the embedded rules' thresholds.
    thresholds: Vec<crate::rules::Adjustment>,
    tls: String,
    auth: Option<String>,
    process: Option<ChildProcess>,
    notes: Vec<String>,
}

/// The thresholds time scaling changed, or could not, in the rules of the
/// alerts the plan checks: a verdict on such an alert rests on them.
fn threshold_notes<'a>(
    plan: &'a Plan,
    thresholds: &'a [crate::rules::Adjustment],
) -> impl Iterator<Item = String> + 'a {
    thresholds
        .iter()
        .filter(|a| {
            plan.checks
                .iter()
                .any(|c| c.kind.alert().is_some_and(|alert| alert.name == a.rule()))
        })
        .map(crate::rules::Adjustment::text)
}

/// `http://<address>:<port>` of a Service named by the plan.
async fn service_url(
    cluster: Option<&ClusterHandle>,
    service: &crate::plan::ServiceRef,
) -> Result<String, EnvError> {
    let cluster = cluster.expect("plans with services connect to the cluster first");
    let namespace = cluster.namespace_or(service.namespace.as_deref());
    Ok(cluster::service_url(
        &cluster.client,
        namespace,
        &service.name,
        service.port.as_ref(),
    )
    .await?)
}

async fn resolve_target(
    plan: &Plan,
    cluster: Option<&ClusterHandle>,
) -> Result<ResolvedTarget, EnvError> {
    let (url, metrics_path, auth, tls, demo) = match &plan.target {
        TargetPlan::Url {
            base_url,
            metrics_path,
            auth,
            tls,
        } => (
            base_url.clone(),
            metrics_path.clone(),
            auth.as_ref(),
            tls.clone(),
            None,
        ),
        TargetPlan::Kubernetes {
            service,
            metrics_path,
        } => (
            service_url(cluster, service).await?,
            metrics_path.clone(),
            None,
            TlsPlan::default(),
            None,
        ),
        TargetPlan::Embedded { limits } => {
            let config = DemoConfig {
                limits: crate::faults::demo_limits(limits),
                ..DemoConfig::default()
            };
            let demo = DemoStack::start(config).map_err(EnvError::Demo)?;
            let url = format!("http://{}", demo.gateway_addr());
            (url, "/metrics".into(), None, TlsPlan::default(), Some(demo))
        }
    };
    let credentials = resolve(auth)?;
    let target = Target::resolve(
        &url,
        credentials.as_ref().map(Credentials::authorization),
        &tls,
    )
    .await?;
    Ok(ResolvedTarget {
        url,
        metrics_path,
        tls,
        credentials,
        auth: auth.map(Credentials::describe),
        target,
        demo,
    })
}

/// Starts the embedded Prometheus, scraping the target (and the demo's
/// backend), and waits until it has data.
async fn start_embedded(
    resolved: &ResolvedTarget,
    settings: &embedded::Settings<'_>,
) -> Result<Watched, EnvError> {
    let target = &resolved.target;
    let targets = embedded::ScrapeTargets {
        gateway: target.addr.to_string(),
        gateway_path: resolved.metrics_path.clone(),
        backend: resolved.demo.as_ref().map(|d| d.backend_addr().to_string()),
        cadvisor: resolved.demo.as_ref().map(|d| d.kubelet_addr().to_string()),
        credentials: resolved.credentials.clone(),
        tls: target
            .tls
            .is_some()
            .then(|| (resolved.tls.clone(), target.host.clone())),
    };
    let started = embedded::start(settings, targets).await?;
    let notes = embedded::wait_for_first_data(&started)
        .await?
        .into_iter()
        .collect();
    Ok(Watched {
        kind: EnvKind::Embedded,
        url: started.process.url().to_string(),
        version: started.process.version().to_string(),
        scrape_seconds: started.scrape.as_secs_f64(),
        evaluation_seconds: started.evaluation.as_secs_f64(),
        rule_sources: started.rule_sources,
        thresholds: started.adjustments,
        tls: "http (no TLS), loopback".into(),
        auth: None,
        client: started.client,
        process: Some(started.process),
        notes,
    })
}

/// Credentials and TLS for a server firedrill did not start.
fn access(auth: Option<&AuthRef>, tls: &TlsPlan) -> Result<Access, EnvError> {
    let ca_pem = match &tls.ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|source| EnvError::CaFile {
            path: path.display().to_string(),
            source,
        })?),
        None => None,
    };
    Ok(Access {
        credentials: resolve(auth)?,
        ca_pem,
        insecure_skip_verify: tls.insecure_skip_verify,
    })
}

/// The Alertmanager the plan names, started (embedded) or connected to.
async fn prepare_alertmanager(
    plan: &Plan,
    cluster: Option<&ClusterHandle>,
) -> Result<Option<WatchedAlertmanager>, EnvError> {
    Ok(Some(match &plan.alertmanager {
        None => return Ok(None),
        Some(AlertmanagerPlan::Embedded { config }) => {
            alertmanager::start_embedded(config.as_deref(), plan.time_scale).await?
        }
        Some(AlertmanagerPlan::Url { url, auth, tls }) => {
            alertmanager::connect(
                url.clone(),
                access(auth.as_ref(), tls)?,
                EnvKind::Url,
                tls_description(url, tls),
                auth.as_ref().map(Credentials::describe),
            )
            .await?
        }
        Some(AlertmanagerPlan::Kubernetes { service, auth }) => {
            let url = service_url(cluster, service).await?;
            let tls = TlsPlan::default();
            alertmanager::connect(
                url.clone(),
                access(auth.as_ref(), &tls)?,
                EnvKind::Kubernetes,
                tls_description(&url, &tls),
                auth.as_ref().map(Credentials::describe),
            )
            .await?
        }
    }))
}

/// Connects to a Prometheus that already runs, and reads its intervals.
async fn connect_prometheus(
    url: String,
    auth: Option<&AuthRef>,
    tls: &TlsPlan,
    kind: EnvKind,
) -> Result<Watched, EnvError> {
    let access = access(auth, tls)?;
    let client = PromClient::with_access(&url, access)?;
    client.wait_ready(Duration::from_secs(10)).await?;
    let version = client
        .buildinfo()
        .await
        .map(|b| b.version)
        .unwrap_or_else(|_| "unknown".into());
    let (scrape_seconds, evaluation_seconds) = observed_intervals(&client).await?;
    Ok(Watched {
        client,
        kind,
        tls: tls_description(&url, tls),
        url,
        version,
        scrape_seconds,
        evaluation_seconds,
        rule_sources: vec!["(the rules the Prometheus it watched had loaded)".into()],
        thresholds: Vec::new(),
        auth: auth.map(Credentials::describe),
        process: None,
        notes: Vec::new(),
    })
}

impl Environment {
    /// Starts (embedded) or connects to (url, kubernetes) what the plan
    /// asks for, and waits until Prometheus is ready and has data.
    pub async fn prepare(plan: &Plan, cluster_options: &ClusterOptions) -> Result<Self, EnvError> {
        let cluster = if plan.needs_cluster() {
            Some(ClusterHandle::connect(cluster_options).await?)
        } else {
            None
        };
        let resolved = resolve_target(plan, cluster.as_ref()).await?;
        // First, so the embedded Prometheus can be pointed at it.
        let alertmanager = prepare_alertmanager(plan, cluster.as_ref()).await?;
        let watched = match &plan.prometheus {
            PrometheusPlan::Url { url, auth, tls } => {
                connect_prometheus(url.clone(), auth.as_ref(), tls, EnvKind::Url).await?
            }
            PrometheusPlan::Kubernetes { service, auth } => {
                let url = service_url(cluster.as_ref(), service).await?;
                connect_prometheus(url, auth.as_ref(), &TlsPlan::default(), EnvKind::Kubernetes)
                    .await?
            }
            PrometheusPlan::Embedded {
                rule_files,
                scrape_interval,
                evaluation_interval,
            } => {
                let settings = embedded::Settings {
                    rule_files,
                    scrape_interval: *scrape_interval,
                    evaluation_interval: *evaluation_interval,
                    pace: plan.pace(),
                    alertmanager: alertmanager.as_ref().and_then(WatchedAlertmanager::address),
                };
                start_embedded(&resolved, &settings).await?
            }
        };
        Ok(Environment {
            summary: EnvSummary {
                kind: watched.kind,
                target_tls: tls_description(&resolved.url, &resolved.tls),
                target_url: resolved.url,
                prometheus_url: watched.url,
                prometheus_version: watched.version,
                scrape_interval_seconds: watched.scrape_seconds,
                evaluation_interval_seconds: watched.evaluation_seconds,
                rule_sources: watched.rule_sources,
                rule_thresholds: watched.thresholds.iter().map(|a| a.text()).collect(),
                prometheus_tls: watched.tls,
                prometheus_auth: watched.auth,
                target_auth: resolved.auth,
                alertmanager: alertmanager.as_ref().map(|a| a.summary.clone()),
            },
            target: resolved.target,
            prometheus: watched.client,
            notes: threshold_notes(plan, &watched.thresholds)
                .chain(watched.notes)
                .collect(),
            cluster,
            alertmanager,
            demo: resolved.demo,
            process: watched.process,
        })
    }

    /// What the faults room needs to inject a phase's fault here.
    pub fn fault_context(&self) -> FaultContext {
        FaultContext {
            demo: self.demo.clone(),
            cluster: self.cluster.clone(),
        }
    }

    /// The embedded Alertmanager's log, copied before the process is dropped.
    pub fn alertmanager_log(&self) -> Option<String> {
        self.alertmanager
            .as_ref()
            .and_then(WatchedAlertmanager::log)
    }

    /// The embedded Prometheus's log, copied before the process is dropped.
    pub fn prometheus_log(&self) -> Option<String> {
        self.process
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p.log_path()).ok())
    }

    /// The embedded Prometheus process, for tests that stop it on purpose.
    pub fn prometheus_process(&mut self) -> Option<&mut ChildProcess> {
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
