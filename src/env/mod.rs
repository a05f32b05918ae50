//! Environments: where the traffic goes, which Prometheus is watched, and how
//! faults are injected.
//!
//! - embedded: the demo gateway and backend in-process, and a real Prometheus
//!   child process scraping them, loaded with the shipped (or the scenario's)
//!   rules, every interval and window divided by the scenario's time_scale;
//! - url: a target and/or a Prometheus that already run somewhere.
//!
//! Everything started here is owned by a guard and stopped on drop.

mod process;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use process::{find_binary, free_port, PrometheusProcess, PROMETHEUS_INSTALL_HINT};

use crate::demo::{DemoConfig, DemoStack, FaultGuard, Faults};
use crate::load::{LoadError, Target};
use crate::plan::{Plan, PrometheusPlan, TargetPlan};
use crate::prom::{PromClient, PromError};
use crate::rules::{self, RulesError};

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
    #[error("the demo gateway failed to start: {0}")]
    Demo(std::io::Error),
    #[error("{0}")]
    Target(#[from] LoadError),
    #[error("{0}")]
    NotScraped(String),
}

/// What the report records about the environment.
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
}

pub struct Environment {
    pub target: Target,
    pub prometheus: PromClient,
    pub summary: EnvSummary,
    demo: Option<Arc<DemoStack>>,
    process: Option<PrometheusProcess>,
}

impl Environment {
    /// Starts (embedded) or connects to (url) what the plan asks for, and
    /// waits until Prometheus is ready and scrapes the target.
    pub async fn prepare(plan: &Plan) -> Result<Self, EnvError> {
        let demo = match plan.target {
            TargetPlan::Embedded => {
                Some(DemoStack::start(DemoConfig::default()).map_err(EnvError::Demo)?)
            }
            TargetPlan::Url { .. } => None,
        };
        let (target_url, metrics_path) = match (&plan.target, &demo) {
            (
                TargetPlan::Url {
                    base_url,
                    metrics_path,
                },
                _,
            ) => (base_url.clone(), metrics_path.clone()),
            (TargetPlan::Embedded, Some(demo)) => (
                format!("http://{}", demo.gateway_addr()),
                "/metrics".to_string(),
            ),
            (TargetPlan::Embedded, None) => unreachable!("the embedded target starts the demo"),
        };
        let target = Target::resolve(&target_url).await?;

        match &plan.prometheus {
            PrometheusPlan::Url { url } => {
                let prometheus = PromClient::new(url)?;
                prometheus.wait_ready(Duration::from_secs(10)).await?;
                let version = prometheus
                    .buildinfo()
                    .await
                    .map(|b| b.version)
                    .unwrap_or_else(|_| "unknown".into());
                let (scrape, evaluation) = observed_intervals(&prometheus).await?;
                Ok(Environment {
                    summary: EnvSummary {
                        kind: "url".into(),
                        target_url,
                        prometheus_url: url.clone(),
                        prometheus_version: version,
                        scrape_interval_seconds: scrape,
                        evaluation_interval_seconds: evaluation,
                        rule_sources: vec![
                            "(the rules the Prometheus at the URL has loaded)".into()
                        ],
                    },
                    target,
                    prometheus,
                    demo,
                    process: None,
                })
            }
            PrometheusPlan::Embedded {
                rule_files,
                scrape_interval,
                evaluation_interval,
            } => {
                let (shipped_scrape, shipped_evaluation) = rules::shipped_intervals()?;
                let scrape = rules::scale_duration(
                    scrape_interval.unwrap_or(shipped_scrape),
                    plan.time_scale,
                );
                let evaluation_unscaled = evaluation_interval.unwrap_or(shipped_evaluation);
                let evaluation = rules::scale_duration(evaluation_unscaled, plan.time_scale);
                let loaded = if rule_files.is_empty() {
                    rules::shipped_rules()?
                } else {
                    rules::load_rule_files(rule_files)?
                };
                let mut groups = Vec::new();
                for source in &loaded {
                    for group in &source.groups {
                        groups.push(
                            rules::scale_group(group, plan.time_scale, evaluation_unscaled)
                                .map_err(|message| RulesError {
                                    origin: source.origin.clone(),
                                    location: None,
                                    message,
                                })?,
                        );
                    }
                }
                let scrape_targets = ScrapeTargets {
                    gateway: format!("{}", target.addr),
                    gateway_path: metrics_path,
                    backend: demo.as_ref().map(|d| d.backend_addr().to_string()),
                };
                let config = process::ProcessConfig {
                    config_yaml: embedded_config(&scrape_targets, scrape, evaluation),
                    rules_yaml: rules::render_rule_file(groups)?,
                    // Prometheus's 5m default, scaled like everything else, so
                    // a target that stops answering goes stale as fast.
                    lookback_delta: rules::scale_duration(
                        Duration::from_secs(300),
                        plan.time_scale,
                    ),
                };
                let process = PrometheusProcess::start(&config).await?;
                let prometheus = PromClient::new(process.url())?;
                let environment = Environment {
                    summary: EnvSummary {
                        kind: "embedded".into(),
                        target_url,
                        prometheus_url: process.url().to_string(),
                        prometheus_version: process.version().to_string(),
                        scrape_interval_seconds: scrape.as_secs_f64(),
                        evaluation_interval_seconds: evaluation.as_secs_f64(),
                        rule_sources: loaded.iter().map(|l| l.origin.clone()).collect(),
                    },
                    target,
                    prometheus,
                    demo,
                    process: Some(process),
                };
                environment.wait_for_first_scrape(scrape).await?;
                Ok(environment)
            }
        }
    }

    /// Every scrape target up once, so the first phase starts with data.
    async fn wait_for_first_scrape(&self, scrape: Duration) -> Result<(), EnvError> {
        let deadline = tokio::time::Instant::now() + (scrape * 10).max(Duration::from_secs(20));
        loop {
            let targets = self.prometheus.targets().await?;
            let waiting: Vec<String> = targets
                .iter()
                .filter(|t| t.health != "up")
                .map(|t| format!("{} ({}: {})", t.scrape_url, t.health, t.last_error))
                .collect();
            if !targets.is_empty() && waiting.is_empty() {
                let scraped_at = targets
                    .iter()
                    .filter_map(|t| {
                        t.last_scrape
                            .as_deref()
                            .and_then(crate::drill::parse_rfc3339)
                    })
                    .fold(0.0, f64::max);
                return self.wait_for_evaluation_after(scraped_at, deadline).await;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(EnvError::NotScraped(format!(
                    "Prometheus could not scrape: {}",
                    waiting.join(", ")
                )));
            }
            tokio::time::sleep(scrape.min(Duration::from_millis(500))).await;
        }
    }

    /// Every rule group evaluated once with the scraped data, so alerts
    /// that hold only before the first scrape (`absent(up == 1)`) are
    /// resolved before the first phase.
    async fn wait_for_evaluation_after(
        &self,
        scraped_at: f64,
        deadline: tokio::time::Instant,
    ) -> Result<(), EnvError> {
        loop {
            let groups = self.prometheus.rules().await?;
            let evaluated = groups.iter().all(|g| {
                g.last_evaluation
                    .as_deref()
                    .and_then(crate::drill::parse_rfc3339)
                    .is_some_and(|t| t > scraped_at)
            });
            if evaluated {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(EnvError::NotScraped(
                    "Prometheus did not evaluate its rules after the first scrape".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
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

struct ScrapeTargets {
    gateway: String,
    gateway_path: String,
    backend: Option<String>,
}

/// The embedded Prometheus's config: the shipped config's intervals (scaled),
/// with static targets standing in for Kubernetes service discovery, under
/// the job names that discovery gives them there (job = the pod's app label).
fn embedded_config(targets: &ScrapeTargets, scrape: Duration, evaluation: Duration) -> String {
    let ms = |d: Duration| format!("{}ms", d.as_millis().max(1));
    let timeout = scrape.min(Duration::from_secs(10));
    let mut config = format!(
        "global:\n  scrape_interval: {}\n  scrape_timeout: {}\n  evaluation_interval: {}\n\
         rule_files:\n  - \"{{rules}}\"\n\
         scrape_configs:\n  - job_name: api-gateway\n    metrics_path: \"{}\"\n    static_configs:\n      - targets: [\"{}\"]\n",
        ms(scrape),
        ms(timeout),
        ms(evaluation),
        targets.gateway_path,
        targets.gateway,
    );
    if let Some(backend) = &targets.backend {
        config.push_str(&format!(
            "  - job_name: sentiment-api\n    static_configs:\n      - targets: [\"{backend}\"]\n"
        ));
    }
    config
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
