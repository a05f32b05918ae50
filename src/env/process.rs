//! A child process firedrill starts — Prometheus, Alertmanager — on a free
//! loopback port with a private temporary directory, owned by a guard: it is
//! stopped (SIGTERM, then SIGKILL after a grace period) and its directory
//! removed when the guard is dropped — on success, error, panic or Ctrl-C.
//! On Linux the child also dies with firedrill (PR_SET_PDEATHSIG), so even a
//! SIGKILL of firedrill leaves nothing behind. `start` waits until the child
//! answers `GET /-/ready` (both serve it) and retries on another port when
//! the one picked was taken meanwhile; a missing binary is an error that
//! says how to install it.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::EnvError;
use crate::secret::Secret;

/// Where to look for the Prometheus binary, in order: this variable, then PATH.
pub const PROMETHEUS_ENV: &str = "FIREDRILL_PROMETHEUS";
pub const PROMETHEUS_INSTALL_HINT: &str = "install it with `sudo apt-get install prometheus` \
    (Debian/Ubuntu), or download it from https://prometheus.io/download/ and set \
    FIREDRILL_PROMETHEUS=/path/to/prometheus";
pub const ALERTMANAGER_ENV: &str = "FIREDRILL_ALERTMANAGER";
pub const ALERTMANAGER_INSTALL_HINT: &str = "install it with `sudo apt-get install \
    prometheus-alertmanager` (Debian/Ubuntu), or download it from \
    https://prometheus.io/download/ and set FIREDRILL_ALERTMANAGER=/path/to/alertmanager";

/// A kind of child: what it is called, where its binary is found, how to
/// install it.
#[derive(Debug, Clone, Copy)]
pub struct Binary {
    /// For messages: `Prometheus`, `Alertmanager`.
    pub what: &'static str,
    pub env_var: &'static str,
    /// Names tried on PATH, in order.
    pub names: &'static [&'static str],
    pub install_hint: &'static str,
}

pub const PROMETHEUS: Binary = Binary {
    what: "Prometheus",
    env_var: PROMETHEUS_ENV,
    names: &["prometheus"],
    install_hint: PROMETHEUS_INSTALL_HINT,
};

/// Debian names the binary `prometheus-alertmanager`; upstream's archive
/// `alertmanager`.
pub const ALERTMANAGER: Binary = Binary {
    what: "Alertmanager",
    env_var: ALERTMANAGER_ENV,
    names: &["prometheus-alertmanager", "alertmanager"],
    install_hint: ALERTMANAGER_INSTALL_HINT,
};

impl Binary {
    /// The binary's path, or the error that says how to install it.
    pub fn find(&self, needed_for: &str) -> Result<PathBuf, EnvError> {
        self.names
            .iter()
            .find_map(|name| find_binary(self.env_var, name))
            .ok_or_else(|| {
                EnvError::BinaryMissing(format!(
                    "{} is needed for {needed_for} and was not found on PATH: {}",
                    self.what, self.install_hint
                ))
            })
    }
}

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

/// What a child runs with. In file contents and arguments, `{dir}` is
/// replaced by its private directory and `{port}` by its port.
pub struct ChildSpec {
    pub binary: Binary,
    pub path: PathBuf,
    /// Files written into the private directory (`{dir}`, `{port}` filled in).
    pub files: Vec<(String, String)>,
    /// Files written as they are (rules: their text is the user's).
    pub raw_files: Vec<(String, String)>,
    /// Files written with mode 0600 (credentials).
    pub secret_files: Vec<(String, Secret)>,
    pub args: Vec<String>,
    /// The log file's name in the directory (`prometheus.log`).
    pub log_name: &'static str,
}

pub struct ChildProcess {
    what: &'static str,
    child: Child,
    dir: TempDir,
    url: String,
    version: String,
    log_name: &'static str,
}

impl ChildProcess {
    pub async fn start(spec: &ChildSpec) -> Result<Self, EnvError> {
        let version = version_of(&spec.path);
        let mut last_error = String::new();
        for _attempt in 0..3 {
            match Self::start_once(spec, version.clone()).await {
                Ok(process) => return Ok(process),
                Err(EnvError::ChildStart { message, log, .. })
                    if log.contains("address already in use") =>
                {
                    last_error = message;
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Err(EnvError::ChildStart {
            what: spec.binary.what,
            message: format!("no free port after 3 attempts: {last_error}"),
            log: String::new(),
        })
    }

    async fn start_once(spec: &ChildSpec, version: String) -> Result<Self, EnvError> {
        let what = spec.binary.what;
        let io = |doing: &str, e: std::io::Error| EnvError::ChildStart {
            what,
            message: format!("{doing}: {e}"),
            log: String::new(),
        };
        let dir = tempfile::Builder::new()
            .prefix(&format!("firedrill-{}-", what.to_lowercase()))
            .tempdir()
            .map_err(|e| io("cannot create a temporary directory", e))?;
        let port = free_port().map_err(|e| io("cannot find a free port", e))?;
        let fill = |text: &str| {
            text.replace("{dir}", &dir.path().display().to_string())
                .replace("{port}", &port.to_string())
        };
        for (name, content) in &spec.files {
            std::fs::write(dir.path().join(name), fill(content))
                .map_err(|e| io(&format!("cannot write {name}"), e))?;
        }
        for (name, content) in &spec.raw_files {
            std::fs::write(dir.path().join(name), content)
                .map_err(|e| io(&format!("cannot write {name}"), e))?;
        }
        for (name, secret) in &spec.secret_files {
            write_private(&dir.path().join(name), secret.expose())
                .map_err(|e| io("cannot write a credentials file", e))?;
        }
        let log_path = dir.path().join(spec.log_name);
        let log = File::create(&log_path).map_err(|e| io("cannot create the log", e))?;
        let log_err = log.try_clone().map_err(|e| io("cannot open the log", e))?;
        let mut command = Command::new(&spec.path);
        command
            .args(spec.args.iter().map(|a| fill(a)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        die_with_parent(&mut command);
        let child = command.spawn().map_err(|e| EnvError::ChildStart {
            what,
            message: format!("cannot run {}: {e}", spec.path.display()),
            log: String::new(),
        })?;
        let mut process = ChildProcess {
            what,
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
            version,
            log_name: spec.log_name,
        };
        process.wait_ready(Duration::from_secs(30)).await?;
        Ok(process)
    }

    async fn wait_ready(&mut self, timeout: Duration) -> Result<(), EnvError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .no_proxy()
            .build()
            .map_err(|e| EnvError::ChildStart {
                what: self.what,
                message: format!("cannot build an HTTP client: {e}"),
                log: String::new(),
            })?;
        let ready = format!("{}/-/ready", self.url);
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(EnvError::ChildStart {
                    what: self.what,
                    message: format!("{} exited at start ({status})", self.what),
                    log: self.log_tail(30),
                });
            }
            if let Ok(response) = client.get(&ready).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            if started.elapsed() > timeout {
                return Err(EnvError::ChildStart {
                    what: self.what,
                    message: format!("{} was not ready after {timeout:?}", self.what),
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

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join(self.log_name)
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Asks the child to reload its configuration (SIGHUP, which both
    /// Prometheus and Alertmanager read as a reload).
    pub fn reload(&self) {
        signal(self.child.id(), Signal::Hangup);
    }

    /// Writes `content` into the child's directory (as `name`), replacing
    /// what was there.
    pub fn write_file(&self, name: &str, content: &str) -> std::io::Result<()> {
        std::fs::write(self.dir.path().join(name), content)
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        signal(self.child.id(), Signal::Terminate);
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

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
        // `dir` (configuration, data, log) is removed by TempDir's own Drop.
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

/// `prometheus --version` says `prometheus, version 2.42.0+ds (…)`;
/// Alertmanager says the same of itself.
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

/// The command's process gets SIGTERM when the thread that started it ends
/// (firedrill exiting, even killed): nothing firedrill starts outlives it.
#[cfg(target_os = "linux")]
pub fn die_with_parent(command: &mut Command) {
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
pub fn die_with_parent(_command: &mut Command) {}

/// A handle on a child process that can kill it however long it is held:
/// a pidfd names its process, and once that one is reaped it names none —
/// never another that took its number. Taken right after the spawn, before
/// anyone waits for the child.
#[cfg(target_os = "linux")]
pub struct ProcessHandle(std::os::fd::OwnedFd);

#[cfg(target_os = "linux")]
impl ProcessHandle {
    /// None where the kernel has no pidfds (before Linux 5.3).
    pub fn of(child: &std::process::Child) -> Option<ProcessHandle> {
        use std::os::fd::FromRawFd;
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id(), 0) };
        // SAFETY: a non-negative result is an open fd that nothing else owns.
        (fd >= 0).then(|| ProcessHandle(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) }))
    }

    /// SIGKILL, if the process is still there.
    pub fn kill(&self) {
        use std::os::fd::AsRawFd;
        // SAFETY: signalling through our own pidfd; no memory is passed.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            );
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub struct ProcessHandle;

#[cfg(not(target_os = "linux"))]
impl ProcessHandle {
    pub fn of(_child: &std::process::Child) -> Option<ProcessHandle> {
        None
    }

    pub fn kill(&self) {}
}

enum Signal {
    Terminate,
    Hangup,
}

#[cfg(unix)]
fn signal(pid: u32, which: Signal) {
    let number = match which {
        Signal::Terminate => libc::SIGTERM,
        Signal::Hangup => libc::SIGHUP,
    };
    // SAFETY: sending a signal to our own child's pid has no memory effects.
    unsafe {
        libc::kill(pid as libc::pid_t, number);
    }
}

#[cfg(not(unix))]
fn signal(_pid: u32, _which: Signal) {}
