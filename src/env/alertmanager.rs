//! The Alertmanager a drill watches. Embedded: a child firedrill starts on
//! a free loopback port (the same guard as Prometheus's), running the
//! user's routing tree — or the one `k8s/monitoring` ships — rewritten so
//! every integration is a webhook to a loopback port that the drill's
//! receiver serves, its timings divided by the time scale. Foreign (url,
//! kubernetes): read through its API only, its configuration from
//! /api/v2/status.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use super::process::{ChildProcess, ChildSpec, ALERTMANAGER};
use super::EnvError;
use crate::prom::{Access, AlertmanagerClient};
use crate::record::{AlertmanagerSummary, EnvKind};
use crate::rules::{self, alertmanager, RulesError};

/// The Alertmanager of a run, started or found.
pub struct WatchedAlertmanager {
    pub client: AlertmanagerClient,
    pub summary: AlertmanagerSummary,
    /// The routing the checks read (the user's text, unscaled, for the
    /// embedded one; the loaded text for a foreign one).
    pub config_text: String,
    /// The factor the running configuration's timings were divided by.
    pub time_scale: f64,
    /// Embedded only: where its webhooks arrive, until the drill takes it.
    receiver: Mutex<Option<TcpListener>>,
    process: Option<ChildProcess>,
}

impl WatchedAlertmanager {
    /// The listening socket of firedrill's receiver (once; None for a
    /// foreign Alertmanager, whose notifications are not observable).
    pub fn take_receiver(&self) -> Option<TcpListener> {
        self.receiver
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    pub fn notifications_observable(&self) -> bool {
        self.process.is_some()
    }

    /// `127.0.0.1:<port>` of the embedded one, for Prometheus's config.
    pub fn address(&self) -> Option<String> {
        self.process
            .as_ref()
            .map(|p| p.url().trim_start_matches("http://").to_string())
    }

    pub fn log(&self) -> Option<String> {
        self.process
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p.log_path()).ok())
    }

    /// The child, for tests that stop it on purpose.
    pub fn process(&self) -> Option<&ChildProcess> {
        self.process.as_ref()
    }
}

/// Starts the embedded Alertmanager with `config` (None: the shipped one).
pub async fn start_embedded(
    config: Option<&Path>,
    time_scale: f64,
) -> Result<WatchedAlertmanager, EnvError> {
    let (text, origin) = match config {
        Some(path) => (
            std::fs::read_to_string(path)
                .map_err(|e| RulesError::read(&path.display().to_string(), e))?,
            path.to_path_buf(),
        ),
        None => (
            rules::SHIPPED_ALERTMANAGER.to_string(),
            Path::new(rules::SHIPPED_ALERTMANAGER_PATH).to_path_buf(),
        ),
    };
    let parsed = alertmanager::parse(&text, &origin)?;
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| EnvError::ChildStart {
        what: "Alertmanager",
        message: format!("cannot open the notification receiver's port: {e}"),
        log: String::new(),
    })?;
    let receiver_port = listener
        .local_addr()
        .map_err(|e| EnvError::ChildStart {
            what: "Alertmanager",
            message: format!("the notification receiver's port: {e}"),
            log: String::new(),
        })?
        .port();
    let running = alertmanager::drill_config(
        &text,
        &origin,
        &format!("http://127.0.0.1:{receiver_port}"),
        time_scale,
    )?;
    let spec = ChildSpec {
        binary: ALERTMANAGER,
        path: ALERTMANAGER.find("checks about notifications")?,
        files: Vec::new(),
        raw_files: vec![("alertmanager.yml".into(), running)],
        secret_files: Vec::new(),
        args: vec![
            "--config.file={dir}/alertmanager.yml".into(),
            "--storage.path={dir}/data".into(),
            "--web.listen-address=127.0.0.1:{port}".into(),
            // An empty address turns off its gossip port: one instance,
            // nothing listening beyond loopback.
            "--cluster.listen-address=".into(),
        ],
        log_name: "alertmanager.log",
    };
    let process = ChildProcess::start(&spec).await?;
    let client = AlertmanagerClient::new(process.url())?;
    Ok(WatchedAlertmanager {
        summary: AlertmanagerSummary {
            url: process.url().to_string(),
            version: process.version().to_string(),
            kind: EnvKind::Embedded,
            config_origin: parsed.origin,
            tls: "http (no TLS), loopback".into(),
            auth: None,
        },
        client,
        config_text: text,
        time_scale,
        receiver: Mutex::new(Some(listener)),
        process: Some(process),
    })
}

/// Connects to an Alertmanager that runs somewhere and reads its
/// configuration.
pub async fn connect(
    url: String,
    access: Access,
    kind: EnvKind,
    tls: String,
    auth: Option<String>,
) -> Result<WatchedAlertmanager, EnvError> {
    let client = AlertmanagerClient::with_access(&url, access)?;
    client.wait_ready(Duration::from_secs(10)).await?;
    let status = client.status().await?;
    Ok(WatchedAlertmanager {
        summary: AlertmanagerSummary {
            url: url.clone(),
            version: status.version,
            kind,
            config_origin: format!("{url}/api/v2/status"),
            tls,
            auth,
        },
        client,
        config_text: status.config_text,
        time_scale: 1.0,
        receiver: Mutex::new(None),
        process: None,
    })
}
