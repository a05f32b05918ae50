//! A Prometheus child process on a free loopback port, owned by a guard: it
//! is stopped (SIGTERM, then SIGKILL after a grace period) and its temporary
//! directory removed when the guard is dropped — on success, error, panic or
//! Ctrl-C. On Linux the child also dies with firedrill (PR_SET_PDEATHSIG),
//! so even a SIGKILL of firedrill leaves no Prometheus behind.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::EnvError;
use crate::prom::PromClient;

/// Where to look for the binary, in order: this variable, then PATH.
pub const PROMETHEUS_ENV: &str = "FIREDRILL_PROMETHEUS";
pub const PROMETHEUS_INSTALL_HINT: &str = "install it with `sudo apt-get install prometheus` \
    (Debian/Ubuntu), or download it from https://prometheus.io/download/ and set \
    FIREDRILL_PROMETHEUS=/path/to/prometheus";

/// Finds an executable by an environment variable or on PATH.
pub fn find_binary(env_var: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Asks the OS for a free port on 127.0.0.1. Another process could take it
/// before the child binds it; `start` retries when that happens.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub struct PrometheusProcess {
    child: Child,
    dir: TempDir,
    url: String,
    version: String,
}

/// What the child runs with: the config and rule files' text, and flags.
pub struct ProcessConfig {
    /// prometheus.yml; `{rules}` is replaced by the rule file's path and
    /// `{dir}` by the private directory holding the secret files.
    pub config_yaml: String,
    pub rules_yaml: String,
    /// Files written with mode 0600 into the private directory.
    pub secret_files: Vec<(String, crate::secret::Secret)>,
    pub lookback_delta: Duration,
}

impl PrometheusProcess {
    pub async fn start(config: &ProcessConfig) -> Result<Self, EnvError> {
        let binary = find_binary(PROMETHEUS_ENV, "prometheus").ok_or_else(|| {
            EnvError::PrometheusMissing(format!(
                "Prometheus is needed for the embedded environment and was not found on PATH: {PROMETHEUS_INSTALL_HINT}"
            ))
        })?;
        let version = version_of(&binary);
        let mut last_error = String::new();
        for _attempt in 0..3 {
            match Self::start_once(&binary, config, version.clone()).await {
                Ok(process) => return Ok(process),
                Err(EnvError::PrometheusStart { message, log })
                    if log.contains("address already in use") =>
                {
                    last_error = message;
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Err(EnvError::PrometheusStart {
            message: format!("no free port after 3 attempts: {last_error}"),
            log: String::new(),
        })
    }

    async fn start_once(
        binary: &Path,
        config: &ProcessConfig,
        version: String,
    ) -> Result<Self, EnvError> {
        let io = |what: &str, e: std::io::Error| EnvError::PrometheusStart {
            message: format!("{what}: {e}"),
            log: String::new(),
        };
        let dir = tempfile::Builder::new()
            .prefix("firedrill-prometheus-")
            .tempdir()
            .map_err(|e| io("cannot create a temporary directory", e))?;
        let rules_path = dir.path().join("rules.yml");
        std::fs::write(&rules_path, &config.rules_yaml).map_err(|e| io("cannot write rules", e))?;
        for (name, secret) in &config.secret_files {
            write_private(&dir.path().join(name), secret.expose())
                .map_err(|e| io("cannot write a credentials file", e))?;
        }
        let config_path = dir.path().join("prometheus.yml");
        let config_yaml = config
            .config_yaml
            .replace("{rules}", &rules_path.display().to_string())
            .replace("{dir}", &dir.path().display().to_string());
        std::fs::write(&config_path, config_yaml).map_err(|e| io("cannot write config", e))?;
        let port = free_port().map_err(|e| io("cannot find a free port", e))?;
        let log_path = dir.path().join("prometheus.log");
        let log = File::create(&log_path).map_err(|e| io("cannot create the log", e))?;
        let log_err = log.try_clone().map_err(|e| io("cannot open the log", e))?;
        let lookback_ms = config.lookback_delta.as_millis().max(1000);
        let mut command = Command::new(binary);
        command
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=1d")
            .arg(format!("--query.lookback-delta={lookback_ms}ms"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        die_with_parent(&mut command);
        let child = command.spawn().map_err(|e| EnvError::PrometheusStart {
            message: format!("cannot run {}: {e}", binary.display()),
            log: String::new(),
        })?;
        let mut process = PrometheusProcess {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
            version,
        };
        process.wait_ready(Duration::from_secs(30)).await?;
        Ok(process)
    }

    async fn wait_ready(&mut self, timeout: Duration) -> Result<(), EnvError> {
        let client = PromClient::new(&self.url).map_err(EnvError::Prom)?;
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(EnvError::PrometheusStart {
                    message: format!("Prometheus exited at start ({status})"),
                    log: self.log_tail(30),
                });
            }
            if let Ok(true) = client.ready().await {
                return Ok(());
            }
            if started.elapsed() > timeout {
                return Err(EnvError::PrometheusStart {
                    message: format!("Prometheus was not ready after {timeout:?}"),
                    log: self.log_tail(30),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("prometheus.log")
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        terminate(self.child.id());
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrometheusProcess {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
        // `dir` (config, rules, TSDB, log) is removed by TempDir's own Drop.
    }
}

/// Creates a file only its owner can read.
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(content.as_bytes())
}

fn version_of(binary: &Path) -> String {
    Command::new(binary)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| {
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            text.lines()
                .next()
                .and_then(|line| line.split("version ").nth(1))
                .map(|v| v.split_whitespace().next().unwrap_or(v).to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

#[cfg(unix)]
fn terminate(pid: u32) {
    // SAFETY: sending a signal to our own child's pid has no memory effects.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
}

#[cfg(not(unix))]
fn terminate(_pid: u32) {}
