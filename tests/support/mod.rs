//! The one fixture module of the integration tests: runs the real binary,
//! finds the real Prometheus (failing with the install command when it is
//! missing — never skipping), and counts connections to prove that nothing
//! was sent.
#![allow(dead_code)] // each test binary uses its own part of it

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

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
    Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
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

    /// The verdicts whose id starts with `id` (`checks[1]` matches `checks[1].client`).
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

pub fn path_str(path: &Path) -> String {
    path.to_str().expect("utf-8 path").to_string()
}
