//! The one fixture module of the integration tests: runs the real binary,
//! finds the real Prometheus (failing with the install command when it is
//! missing — never skipping), and counts connections to prove that nothing
//! was sent. HTTP servers and requests are in `http`, scenario files in
//! `scenario`, the mock Kubernetes API in `kube`.

pub mod buildah;
pub mod http;
pub mod kube;
pub mod random_errors;
pub mod scenario;

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Sends SIGINT to firedrill `child` and waits for it to end, at most 90 s
/// after `started`.
pub fn interrupt(
    child: &mut std::process::Child,
    started: std::time::Instant,
) -> std::process::ExitStatus {
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(90),
            "firedrill did not stop after SIGINT"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Interrupts a `firedrill coverage` child (stderr piped): it exits 3 and
/// says it was interrupted. Returns what it wrote to stderr.
pub fn interrupt_coverage(child: &mut std::process::Child, started: std::time::Instant) -> String {
    let status = interrupt(child, started);
    let stderr = stderr_of(child);
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    stderr
}

/// All a child wrote to its piped stderr, until it closed it.
pub fn stderr_of(child: &mut std::process::Child) -> String {
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    stderr
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fails the test, with the install command, when Prometheus is missing.
pub fn require_prometheus() {
    let found = std::env::var_os("FIREDRILL_PROMETHEUS").is_some()
        || std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join("prometheus").is_file()))
            .unwrap_or(false);
    assert!(
        found,
        "this test needs a real Prometheus: `sudo apt-get install prometheus` \
         (or set FIREDRILL_PROMETHEUS=/path/to/prometheus)"
    );
}

pub fn firedrill(args: &[&str]) -> Output {
    firedrill_env(args, &[])
}

pub fn firedrill_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(repo())
        .output()
        .expect("the firedrill binary runs")
}

/// A finished `firedrill run`: exit code, stderr, and the report it wrote.
pub struct Run {
    pub code: i32,
    pub stderr: String,
    pub dir: tempfile::TempDir,
    pub report: Option<serde_json::Value>,
}

impl Run {
    pub fn report(&self) -> &serde_json::Value {
        self.report
            .as_ref()
            .unwrap_or_else(|| panic!("no report was written; stderr:\n{}", self.stderr))
    }

    /// The verdict whose id is exactly `id`. A check judged from two sources
    /// has one verdict per source, each named in full: `checks[1].client`
    /// and `checks[1].prometheus`, never `checks[1]`.
    pub fn verdict(&self, id: &str) -> &serde_json::Value {
        self.report()["verdicts"]
            .as_array()
            .expect("verdicts is a list")
            .iter()
            .find(|v| v["id"].as_str().is_some_and(|i| i == id))
            .unwrap_or_else(|| panic!("no verdict {id} in {}", self.report()["verdicts"]))
    }

    pub fn status_of(&self, id: &str) -> String {
        self.verdict(id)["status"]
            .as_str()
            .unwrap_or("?")
            .to_string()
    }

    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

pub fn run_scenario(scenario: &str, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().to_str().expect("utf-8 temp path").to_string();
    let mut args = vec!["run", scenario, "--out", &out];
    args.extend_from_slice(extra);
    let started = std::time::Instant::now();
    let output = firedrill(&args);
    eprintln!("{scenario}: {:.1}s", started.elapsed().as_secs_f64());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = std::fs::read_to_string(dir.path().join("report.json"))
        .ok()
        .map(|text| serde_json::from_str(&text).expect("report.json is JSON"));
    Run {
        code: output.status.code().unwrap_or(-1),
        stderr,
        dir,
        report,
    }
}

/// A loopback listener that counts the connections made to it.
pub struct ConnectionCounter {
    pub url: String,
    count: Arc<AtomicUsize>,
}

impl ConnectionCounter {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                seen.fetch_add(1, Ordering::SeqCst);
                let mut buffer = [0u8; 1024];
                let _ = stream.read(&mut buffer);
            }
        });
        ConnectionCounter { url, count }
    }

    pub fn connections(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

/// A real Prometheus started by a test, on a free loopback port, with its own
/// directory; stopped on drop. `kill` and `restart` (same port, same data)
/// simulate an outage.
pub struct TestPrometheus {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<std::process::Child>,
    web_config: bool,
    extra_args: Vec<String>,
}

impl TestPrometheus {
    /// `config` may refer to `{dir}` (the Prometheus's own directory).
    pub fn start(config: &str, rules: &str, web_config: Option<&str>) -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), config, rules, web_config)
    }

    /// With `{port}` in the config replaced by its own port (to scrape itself).
    pub fn start_on_own_port(config: &str, rules: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut prometheus = Self::start_in(
            tempfile::tempdir().unwrap(),
            &config.replace("{port}", &port.to_string()),
            rules,
            None,
        );
        prometheus.kill();
        prometheus.port = port;
        prometheus.restart();
        prometheus
    }

    /// With `files` written into its directory first (certificates).
    pub fn start_with_files(
        config: &str,
        rules: &str,
        web_config: &str,
        files: &[(&str, Vec<u8>)],
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        Self::start_in(dir, config, rules, Some(web_config))
    }

    fn start_in(
        dir: tempfile::TempDir,
        config: &str,
        rules: &str,
        web_config: Option<&str>,
    ) -> Self {
        require_prometheus();
        let config = config.replace("{dir}", dir.path().to_str().unwrap());
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        std::fs::write(dir.path().join("rules.yml"), rules).unwrap();
        if let Some(web) = web_config {
            std::fs::write(
                dir.path().join("web.yml"),
                web.replace("{dir}", dir.path().to_str().unwrap()),
            )
            .unwrap();
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut prometheus = TestPrometheus {
            port,
            dir,
            child: None,
            web_config: web_config.is_some(),
            extra_args: Vec::new(),
        };
        prometheus.restart();
        prometheus
    }

    /// With extra command-line flags.
    pub fn start_with_args(config: &str, rules: &str, args: &[&str]) -> Self {
        let mut prometheus = Self::start(config, rules, None);
        prometheus.kill();
        prometheus.extra_args = args.iter().map(|a| a.to_string()).collect();
        prometheus.restart();
        prometheus
    }

    pub fn restart(&mut self) {
        let binary =
            std::env::var_os("FIREDRILL_PROMETHEUS").unwrap_or_else(|| "prometheus".into());
        let dir = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("prometheus.log"))
            .unwrap();
        let mut command = Command::new(binary);
        command
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            .args(&self.extra_args)
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if self.web_config {
            command.arg(format!(
                "--web.config.file={}",
                dir.join("web.yml").display()
            ));
        }
        self.child = Some(command.spawn().expect("prometheus starts"));
        // Ready when the port accepts connections (the API may need TLS/auth).
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "Prometheus did not listen: {}",
                std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits (up to 60 s) until `query` returns at least one series.
    pub fn wait_for(&self, query: &str) {
        let started = std::time::Instant::now();
        let endpoint = format!("{}/api/v1/query", self.url());
        loop {
            let answer = http::get_with_query(&endpoint, &[("query", query)])
                .map(|reply| reply.body)
                .unwrap_or_default();
            if answer.contains("\"result\":[{") {
                return;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "Prometheus never answered `{query}`: {answer}"
            );
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
    }

    /// Waits until Prometheus scrapes the gateway and has evaluated its
    /// rules on the data (Prometheus applies static targets on a 5 s tick).
    pub fn wait_until_scraping(&self) {
        self.wait_for("up{job=\"api-gateway\"} == 1");
        std::thread::sleep(std::time::Duration::from_secs(3));
    }
}

impl Drop for TestPrometheus {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A real Pushgateway on a free loopback port, without persistence;
/// stopped on drop.
pub struct Pushgateway {
    pub url: String,
    child: std::process::Child,
}

impl Pushgateway {
    pub fn start() -> Self {
        let binary = firedrill::env::find_binary("FIREDRILL_PUSHGATEWAY", "prometheus-pushgateway")
            .unwrap_or_else(|| {
                panic!(
                    "this test needs a Pushgateway: `sudo apt-get install prometheus-pushgateway`"
                )
            });
        let port = firedrill::env::free_port().unwrap();
        let child = Command::new(binary)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--persistence.file=")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "the Pushgateway did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Pushgateway {
            url: format!("http://127.0.0.1:{port}"),
            child,
        }
    }
}

impl Drop for Pushgateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Pushgateway {
    /// What it holds, in the text format.
    pub fn metrics(&self) -> String {
        http::get(format!("{}/metrics", self.url))
            .expect("the Pushgateway answers")
            .body
    }
}

/// A target (HTTP/1.1, keep-alive) that answers 200 to everything and
/// records each request's Authorization header.
pub struct RecordingTarget {
    pub url: String,
    pub authorizations: Arc<std::sync::Mutex<Vec<Option<String>>>>,
    /// Serves while the target lives.
    _server: http::Server,
}

impl RecordingTarget {
    pub fn start() -> Self {
        let authorizations = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = authorizations.clone();
        let server = http::Server::start(move |request| {
            seen.lock().unwrap().push(request.header("authorization"));
            http::Response::ok()
        });
        RecordingTarget {
            url: server.url.clone(),
            authorizations,
            _server: server,
        }
    }
}

/// Every file under `dir`, as text (lossy), with its path.
pub fn all_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(all_files(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            found.push((path, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    found
}

/// `firedrill demo-gateway` as a child process (the system under test for
/// URL-mode drills), with its fault admin API; stopped on drop.
pub struct DemoGateway {
    pub gateway: String,
    pub backend: String,
    pub admin: String,
    child: std::process::Child,
}

impl DemoGateway {
    pub fn start() -> Self {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
            .args(["demo-gateway", "--port", "0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the demo gateway starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut url_on = |prefix: &str| {
            let line = lines.next().expect("a line").expect("utf-8");
            assert!(line.starts_with(prefix), "{line}");
            line.split_whitespace()
                .find(|w| w.starts_with("http://"))
                .expect("a URL")
                .trim_end_matches("/faults")
                .to_string()
        };
        let gateway = url_on("demo gateway:");
        let backend = url_on("model backend:");
        let admin = url_on("fault admin:");
        DemoGateway {
            gateway,
            backend,
            admin,
            child,
        }
    }

    /// The faults in force, as the admin API reports them.
    pub fn faults(&self) -> serde_json::Value {
        let reply = http::get(format!("{}/faults", self.admin)).expect("the fault admin answers");
        serde_json::from_str(&reply.body).unwrap_or_else(|_| panic!("not JSON: {reply:?}"))
    }
}

impl Drop for DemoGateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Prometheus scraping a demo gateway, loaded with the shipped rules
/// compressed ten-fold (scrape 1.5s, evaluation 3s, `for: 1m` → 6s), as the
/// embedded environment would run them, but started and stopped by the test.
pub fn prometheus_for(demo: &DemoGateway) -> TestPrometheus {
    let groups: Vec<firedrill::rules::Group> = firedrill::rules::shipped_rules()
        .unwrap()
        .iter()
        .flat_map(|l| l.groups.iter())
        .map(|g| {
            firedrill::rules::scale_group(g, 10.0, std::time::Duration::from_secs(30)).unwrap()
        })
        .collect();
    let rules = firedrill::rules::render_rule_file(groups).unwrap();
    let config = format!(
        "global: {{ scrape_interval: 1500ms, evaluation_interval: 3s }}\n\
         rule_files: [\"{{dir}}/rules.yml\"]\n\
         scrape_configs:\n\
         \x20 - {{ job_name: api-gateway, static_configs: [{{ targets: [\"{}\"] }}] }}\n\
         \x20 - {{ job_name: sentiment-api, static_configs: [{{ targets: [\"{}\"] }}] }}\n",
        demo.gateway.trim_start_matches("http://"),
        demo.backend.trim_start_matches("http://"),
    );
    TestPrometheus::start(&config, &rules, None)
}

/// Runs the firedrill binary to completion and returns its exit code,
/// stderr, and peak resident memory in MiB (from wait4's rusage).
// The child is reaped by wait4 (which std's wait cannot do, as it drops the
// rusage), so clippy's zombie check does not see it.
#[allow(clippy::zombie_processes)]
pub fn firedrill_measured(args: &[&str]) -> (i32, String, f64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .current_dir(repo())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = stderr_of(&mut child);
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child with valid pointers.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, stderr, usage.ru_maxrss as f64 / 1024.0)
}

/// Validates `file` against an XML schema with xmllint: (valid, messages).
pub fn xmllint(schema: &std::path::Path, file: &std::path::Path) -> (bool, String) {
    let binary = firedrill::env::find_binary("FIREDRILL_XMLLINT", "xmllint")
        .unwrap_or_else(|| panic!("this test needs xmllint: `sudo apt-get install libxml2-utils`"));
    let out = Command::new(binary)
        .args(["--noout", "--schema"])
        .arg(schema)
        .arg(file)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("this test needs openssl: `sudo apt-get install openssl`");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA made for a test (`ca.pem`, `ca.key`) and a certificate it issued
/// for 127.0.0.1 and localhost (`cert.pem`, `key.pem`), written to `dir`.
pub fn issue_certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-days",
                "1",
                "-subj",
                "/CN=firedrill-test-ca",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        ]
        .concat(),
        dir,
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-subj",
                "/CN=localhost",
                "-keyout",
                "key.pem",
                "-out",
                "leaf.csr",
            ],
        ]
        .concat(),
        dir,
    );
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "leaf.ext",
            "-out",
            "cert.pem",
        ],
        dir,
    );
}

/// Fails the test, with the install command, when Alertmanager is missing.
pub fn require_alertmanager() -> PathBuf {
    firedrill::env::ALERTMANAGER
        .find("this test")
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A real Alertmanager started by a test, on a free loopback port, with its
/// own directory and no gossip port; stopped on drop. For the "foreign
/// Alertmanager" drills: the test's Prometheus sends to it.
pub struct TestAlertmanager {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

impl TestAlertmanager {
    pub fn start(config: &str) -> Self {
        let binary = require_alertmanager();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("alertmanager.yml"), config).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.path().join("alertmanager.log")).unwrap();
        let child = Command::new(binary)
            .arg(format!(
                "--config.file={}",
                dir.path().join("alertmanager.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("alertmanager starts");
        let alertmanager = TestAlertmanager {
            port,
            dir,
            child: Some(child),
        };
        let started = std::time::Instant::now();
        while !http::get(format!("{}/-/ready", alertmanager.url())).is_ok_and(|r| r.status == 200) {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "Alertmanager was not ready: {}",
                alertmanager.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        alertmanager
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:<port>`, for Prometheus's `alerting:` configuration.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("alertmanager.log")).unwrap_or_default()
    }

    /// Creates a silence through the API (one hour long); returns its id.
    pub fn silence(&self, matchers: serde_json::Value, created_by: &str, comment: &str) -> String {
        let now = std::time::SystemTime::now();
        let stamp = |t: std::time::SystemTime| humantime::format_rfc3339_seconds(t).to_string();
        let body = serde_json::json!({
            "matchers": matchers,
            "startsAt": stamp(now - std::time::Duration::from_secs(1)),
            "endsAt": stamp(now + std::time::Duration::from_secs(3600)),
            "createdBy": created_by,
            "comment": comment,
        });
        let reply = http::send_json("POST", format!("{}/api/v2/silences", self.url()), &body)
            .expect("Alertmanager answers");
        assert_eq!(reply.status, 200, "{}", reply.body);
        let created: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        created["silenceID"].as_str().unwrap().to_string()
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestAlertmanager {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Like `prometheus_for`, sending its alerts to `alertmanager` and
/// re-sending them every 6 s (Prometheus's 1m, compressed ten-fold).
pub fn prometheus_alerting(demo: &DemoGateway, alertmanager: &TestAlertmanager) -> TestPrometheus {
    let groups: Vec<firedrill::rules::Group> = firedrill::rules::shipped_rules()
        .unwrap()
        .iter()
        .flat_map(|l| l.groups.iter())
        .map(|g| {
            firedrill::rules::scale_group(g, 10.0, std::time::Duration::from_secs(30)).unwrap()
        })
        .collect();
    let rules = firedrill::rules::render_rule_file(groups).unwrap();
    let config = format!(
        "global: {{ scrape_interval: 1500ms, evaluation_interval: 3s }}\n\
         rule_files: [\"{{dir}}/rules.yml\"]\n\
         alerting:\n  alertmanagers:\n    - api_version: v2\n      static_configs: [{{ targets: [\"{}\"] }}]\n\
         scrape_configs:\n\
         \x20 - {{ job_name: api-gateway, static_configs: [{{ targets: [\"{}\"] }}] }}\n\
         \x20 - {{ job_name: sentiment-api, static_configs: [{{ targets: [\"{}\"] }}] }}\n",
        alertmanager.address(),
        demo.gateway.trim_start_matches("http://"),
        demo.backend.trim_start_matches("http://"),
    );
    TestPrometheus::start_with_args(&config, &rules, &["--rules.alert.resend-delay=6s"])
}
