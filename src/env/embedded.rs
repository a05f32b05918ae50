//! The embedded Prometheus: its configuration (the shipped config's
//! intervals, scaled; static targets standing in for Kubernetes service
//! discovery, under the job names discovery gives them there), its rules
//! (shipped or the scenario's, scaled), and the wait until it has scraped
//! and evaluated once.

use std::time::Duration;

use super::process::{ChildProcess, ChildSpec, PROMETHEUS};
use super::EnvError;
use crate::demo::{BACKEND_JOB, CADVISOR_JOB, GATEWAY_JOB};
use crate::plan::Pace;
use crate::prom::PromClient;
use crate::rules::{self, LoadedGroups, RulesError};
use crate::secret::{Credentials, Secret};

/// A scrape reads at most this much. Prometheus's default is no limit, and a
/// target that answers /metrics with an endless body would have it buffer
/// gigabytes; a real gateway's page is a few kilobytes.
const SCRAPE_BODY_LIMIT: &str = "16MB";

/// What the embedded Prometheus scrapes.
pub struct ScrapeTargets {
    /// `host:port` of the gateway (or URL target), scraped as job `api-gateway`
    /// (`demo::GATEWAY_JOB`).
    pub gateway: String,
    pub gateway_path: String,
    /// The demo's model backend, scraped as job `sentiment-api`
    /// (`demo::BACKEND_JOB`).
    pub backend: Option<String>,
    /// The demo's container series (`/metrics/cadvisor`), scraped as job
    /// `kubernetes-cadvisor` (`demo::CADVISOR_JOB`).
    pub cadvisor: Option<String>,
    /// Credentials for scraping the gateway (a URL target that requires them).
    pub credentials: Option<Credentials>,
    /// An https target: its TLS settings and the name its certificate holds.
    pub tls: Option<(crate::plan::TlsPlan, String)>,
}

pub struct Embedded {
    pub process: ChildProcess,
    pub client: PromClient,
    pub scrape: Duration,
    pub evaluation: Duration,
    pub rule_sources: Vec<String>,
    /// Thresholds the time scaling rewrote, or left as written because no
    /// rewrite is sound.
    pub adjustments: Vec<rules::Adjustment>,
    /// The scaled rule file, loaded once the targets have been scraped
    /// (`wait_for_first_data`), and how many groups it holds.
    rules_yaml: String,
    rule_groups: usize,
}

/// What the embedded Prometheus evaluates, how often, and where it sends.
pub struct Settings<'a> {
    pub rule_files: &'a [std::path::PathBuf],
    pub scrape_interval: Option<Duration>,
    pub evaluation_interval: Option<Duration>,
    /// The time scale, and whether rates are scaled with it (the rules'
    /// thresholds follow).
    pub pace: Pace,
    /// `host:port` of the embedded Alertmanager it sends its alerts to.
    pub alertmanager: Option<String>,
}

pub async fn start(settings: &Settings<'_>, targets: ScrapeTargets) -> Result<Embedded, EnvError> {
    let rules = scaled_rules(settings)?;
    let (scrape_auth, secret_files) = scrape_credentials(targets.credentials.as_ref());
    let mut config = config_yaml(
        &targets,
        rules.scrape,
        rules.evaluation,
        &(scrape_auth + &scrape_tls(&targets)),
    );
    if let Some(alertmanager) = &settings.alertmanager {
        config.push_str(&format!(
            "alerting:\n  alertmanagers:\n    - api_version: v2\n      static_configs:\n        - targets: [\"{alertmanager}\"]\n"
        ));
    }
    let rule_groups = rules.groups.len();
    let rules_yaml = rules::render_rule_file(rules.groups)?;
    let spec = ChildSpec {
        binary: PROMETHEUS,
        path: PROMETHEUS.find("the embedded environment")?,
        files: vec![("prometheus.yml".into(), config)],
        // Started without rules: they are loaded after the first scrape, so
        // no alert is evaluated on an empty database (an `absent(up)` rule
        // would go pending, fire, and page, before any data arrived).
        raw_files: vec![("rules.yml".into(), NO_RULES.into())],
        secret_files,
        args: prometheus_args(settings.pace.time_scale),
        log_name: "prometheus.log",
    };
    let process = ChildProcess::start(&spec).await?;
    let client = PromClient::new(process.url())?;
    Ok(Embedded {
        process,
        client,
        scrape: rules.scrape,
        evaluation: rules.evaluation,
        rule_sources: rules.sources,
        adjustments: rules.adjustments,
        rules_yaml,
        rule_groups,
    })
}

/// A Prometheus for a caller that writes its own configuration (`{dir}`
/// and `{port}` filled in, as for every child) and loads its own rules
/// later (`rules.yml` in its directory, empty at start; rewrite it and
/// `reload`): the same guard, flags and time-scaled defaults as the
/// embedded environment's. `coverage`'s live proof runs on it.
pub async fn start_prometheus(
    config: &str,
    time_scale: f64,
) -> Result<(ChildProcess, PromClient), EnvError> {
    let spec = ChildSpec {
        binary: PROMETHEUS,
        path: PROMETHEUS.find("the live proof")?,
        files: vec![("prometheus.yml".into(), config.to_string())],
        raw_files: vec![("rules.yml".into(), NO_RULES.into())],
        secret_files: Vec::new(),
        args: prometheus_args(time_scale),
        log_name: "prometheus.log",
    };
    let process = ChildProcess::start(&spec).await?;
    let client = PromClient::new(process.url())?;
    Ok((process, client))
}

/// The intervals and the rule groups the embedded Prometheus runs with,
/// every one divided by the time scale.
struct ScaledRules {
    scrape: Duration,
    evaluation: Duration,
    groups: Vec<rules::Group>,
    /// Where the groups came from, for the report.
    sources: Vec<String>,
    adjustments: Vec<rules::Adjustment>,
}

/// The shipped config's intervals (or the scenario's) and the shipped
/// rules (or the scenario's rule files), scaled.
fn scaled_rules(settings: &Settings<'_>) -> Result<ScaledRules, EnvError> {
    let Settings {
        rule_files,
        scrape_interval,
        evaluation_interval,
        pace,
        ..
    } = *settings;
    let time_scale = pace.time_scale;
    let (shipped_scrape, shipped_evaluation) = rules::shipped_intervals()?;
    let scrape = rules::scale_duration(scrape_interval.unwrap_or(shipped_scrape), time_scale);
    let evaluation_unscaled = evaluation_interval.unwrap_or(shipped_evaluation);
    let evaluation = rules::scale_duration(evaluation_unscaled, time_scale);
    let loaded: Vec<LoadedGroups> = if rule_files.is_empty() {
        rules::shipped_rules()?
    } else {
        rules::load_rule_files(rule_files)?
    };
    // All files at once: an alert may read what another file records.
    let groups: Vec<rules::Group> = loaded.iter().flat_map(|l| l.groups.clone()).collect();
    let scaled = rules::scale_rules(&groups, pace, evaluation_unscaled).map_err(|e| {
        let origin = loaded
            .iter()
            .find(|l| l.groups.iter().any(|g| g.name == e.group))
            .map(|l| l.origin.clone())
            .unwrap_or_default();
        RulesError::Scale { origin, source: e }
    })?;
    Ok(ScaledRules {
        scrape,
        evaluation,
        groups: scaled.groups,
        sources: loaded.iter().map(|l| l.origin.clone()).collect(),
        adjustments: scaled.adjustments,
    })
}

/// The gateway's scrape credentials, as Prometheus reads them: from files
/// written into its private directory (mode 0600) and removed with it.
/// Returns the scrape config's auth block and the files.
fn scrape_credentials(credentials: Option<&Credentials>) -> (String, Vec<(String, Secret)>) {
    match credentials {
        Some(Credentials::Bearer(token)) => (
            "    authorization:\n      type: Bearer\n      credentials_file: \"{dir}/scrape-secret\"\n"
                .to_string(),
            vec![("scrape-secret".to_string(), token.clone())],
        ),
        Some(Credentials::Basic { username, password }) => (
            format!(
                "    basic_auth:\n      username: {}\n      password_file: \"{{dir}}/scrape-secret\"\n",
                serde_json::to_string(username).unwrap_or_default()
            ),
            vec![("scrape-secret".to_string(), password.clone())],
        ),
        None => (String::new(), Vec::new()),
    }
}

/// Prometheus's flags: its private directory and port, and its defaults
/// that are durations, scaled like everything else.
fn prometheus_args(time_scale: f64) -> Vec<String> {
    let ms = |d: Duration| format!("{}ms", d.as_millis().max(1));
    // Prometheus's 5m default, scaled, so a target that stops answering
    // goes stale as fast.
    let lookback = rules::scale_duration(Duration::from_secs(300), time_scale);
    // Firing alerts are sent again every `resend-delay` (1m by default):
    // scaled, so Alertmanager sees them refreshed as often as in production.
    let resend = rules::scale_duration(Duration::from_secs(60), time_scale);
    vec![
        "--config.file={dir}/prometheus.yml".into(),
        "--storage.tsdb.path={dir}/data".into(),
        "--web.listen-address=127.0.0.1:{port}".into(),
        "--storage.tsdb.retention.time=1d".into(),
        format!(
            "--query.lookback-delta={}",
            ms(lookback.max(Duration::from_secs(1)))
        ),
        format!("--rules.alert.resend-delay={}", ms(resend)),
    ]
}

const NO_RULES: &str = "groups: []\n";

/// `scheme: https` and a `tls_config` for an https target (indented for
/// the gateway's scrape config, like the auth block).
fn scrape_tls(targets: &ScrapeTargets) -> String {
    let Some((tls, server_name)) = &targets.tls else {
        return String::new();
    };
    let mut block = format!(
        "    scheme: https\n    tls_config:\n      server_name: {}\n      insecure_skip_verify: {}\n",
        serde_json::to_string(server_name).unwrap_or_default(),
        tls.insecure_skip_verify
    );
    if let Some(ca) = &tls.ca_file {
        let ca = std::fs::canonicalize(ca).unwrap_or_else(|_| ca.clone());
        block.push_str(&format!(
            "      ca_file: {}\n",
            serde_json::to_string(&ca.to_string_lossy()).unwrap_or_default()
        ));
    }
    block
}

fn config_yaml(
    targets: &ScrapeTargets,
    scrape: Duration,
    evaluation: Duration,
    auth: &str,
) -> String {
    let ms = |d: Duration| format!("{}ms", d.as_millis().max(1));
    let timeout = scrape.min(Duration::from_secs(10));
    let mut config = format!(
        "global:\n  scrape_interval: {}\n  scrape_timeout: {}\n  evaluation_interval: {}\n\
         rule_files:\n  - \"{{dir}}/rules.yml\"\n\
         scrape_configs:\n  - job_name: {GATEWAY_JOB}\n    metrics_path: \"{}\"\n    body_size_limit: {SCRAPE_BODY_LIMIT}\n{auth}    static_configs:\n      - targets: [\"{}\"]\n",
        ms(scrape),
        ms(timeout),
        ms(evaluation),
        targets.gateway_path,
        targets.gateway,
    );
    if let Some(backend) = &targets.backend {
        config.push_str(&format!(
            "  - job_name: {BACKEND_JOB}\n    body_size_limit: {SCRAPE_BODY_LIMIT}\n    static_configs:\n      - targets: [\"{backend}\"]\n"
        ));
    }
    // As the shipped job: no target label but `job` and `instance`, so the
    // exposed `namespace`, `pod` and `container` are kept as they are.
    if let Some(cadvisor) = &targets.cadvisor {
        config.push_str(&format!(
            "  - job_name: {CADVISOR_JOB}\n    metrics_path: /metrics/cadvisor\n    body_size_limit: {SCRAPE_BODY_LIMIT}\n    static_configs:\n      - targets: [\"{cadvisor}\"]\n"
        ));
    }
    config
}

/// Waits until every target has been scraped, then loads the rules and
/// waits until every rule group has been evaluated after that, so the first
/// phase starts with data and no alert is pending from before the data
/// arrived. A target that cannot be scraped does not stop the run (its
/// traffic is still sent and counted, and its alerts are what the drill is
/// about): the rules are loaded anyway at the deadline, and what was wrong
/// is returned, for the report.
pub async fn wait_for_first_data(embedded: &Embedded) -> Result<Option<String>, EnvError> {
    let prometheus = &embedded.client;
    let scrape = embedded.scrape;
    let deadline = tokio::time::Instant::now() + (scrape * 10).max(Duration::from_secs(20));
    let (scraped_at, note) = loop {
        let targets = prometheus.targets().await?;
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
                        .and_then(crate::time::parse_rfc3339)
                })
                .fold(0.0, f64::max);
            break (scraped_at, None);
        }
        // Every target tried at least once and some failed: the target is
        // down, and waiting longer will not bring it up.
        let all_tried = !targets.is_empty() && targets.iter().all(|t| t.health != "unknown");
        if all_tried || tokio::time::Instant::now() > deadline {
            break (
                0.0,
                Some(format!(
                    "when the run began, Prometheus could not scrape {}",
                    waiting.join(", ")
                )),
            );
        }
        tokio::time::sleep(scrape.min(Duration::from_millis(500))).await;
    };
    load_rules(embedded, deadline).await?;
    if note.is_some() {
        return Ok(note);
    }
    loop {
        let groups = prometheus.rules().await?;
        let evaluated = groups.iter().all(|g| {
            g.last_evaluation
                .as_deref()
                .and_then(crate::time::parse_rfc3339)
                .is_some_and(|t| t > scraped_at)
        });
        if evaluated {
            return Ok(None);
        }
        if tokio::time::Instant::now() > deadline {
            return Ok(Some(
                "when the run began, Prometheus had not evaluated its rules since its first scrape"
                    .into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Writes the rule file and has Prometheus reload it; waits until every
/// group is loaded (a reload that fails leaves the old, empty rules in
/// place and only logs why, so the log is shown).
async fn load_rules(embedded: &Embedded, deadline: tokio::time::Instant) -> Result<(), EnvError> {
    let failed = |message: String| EnvError::ChildStart {
        what: PROMETHEUS.what,
        message,
        log: embedded.process.log_tail(30),
    };
    embedded
        .process
        .write_file("rules.yml", &embedded.rules_yaml)
        .map_err(|e| failed(format!("cannot write its rules: {e}")))?;
    embedded.process.reload();
    // A reload takes milliseconds; a bad rule file is refused at once.
    let give_up = deadline.max(tokio::time::Instant::now() + Duration::from_secs(10));
    loop {
        let loaded = embedded.client.rules().await?.len();
        if loaded >= embedded.rule_groups {
            return Ok(());
        }
        if tokio::time::Instant::now() > give_up {
            return Err(failed(format!(
                "Prometheus did not load its rules ({loaded} of {} groups after a reload)",
                embedded.rule_groups
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
