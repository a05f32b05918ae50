//! What firedrill leaves behind when it is stopped: nothing. A Ctrl-C in the
//! middle of a run stops the traffic, stops the Prometheus child and removes
//! its directory, writes a report marked "interrupted", and exits 3.

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::scenario::{demo_http_fault, Phase, Scenario, PREDICT};
use support::{repo, require_prometheus, DemoGateway};

/// The pid and data directory of a `prometheus` process whose parent is `parent`.
fn prometheus_child_of(parent: u32) -> Option<(u32, PathBuf)> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let after_comm = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let ppid: u32 = after_comm
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        if ppid != parent || !stat.contains("(prometheus)") {
            continue;
        }
        let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let config = cmdline
            .split('\0')
            .find_map(|arg| arg.strip_prefix("--config.file="))
            .map(PathBuf::from)?;
        return Some((pid, config.parent()?.to_path_buf()));
    }
    None
}

#[test]
fn ctrl_c_stops_everything_and_still_writes_an_interrupted_report() {
    require_prometheus();
    let out = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(["run", "scenarios/quickstart.yaml", "--out"])
        .arg(out.path())
        .current_dir(repo())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let started = Instant::now();
    let (prometheus_pid, prometheus_dir) = loop {
        if let Some(found) = prometheus_child_of(child.id()) {
            break found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no Prometheus child appeared"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(prometheus_dir.is_dir());
    // Wait for the first phase to begin (Prometheus needs a few seconds to
    // scrape and evaluate once), then let traffic flow for a moment.
    let mut stderr_pipe = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut stderr = String::new();
    loop {
        let mut line = String::new();
        let read = std::io::BufRead::read_line(&mut stderr_pipe, &mut line).unwrap();
        assert!(
            read > 0,
            "firedrill ended before the first phase:\n{stderr}"
        );
        stderr.push_str(&line);
        if line.contains("▶ healthy") {
            break;
        }
    }
    std::thread::sleep(Duration::from_secs(3));
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "firedrill did not stop after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    std::io::Read::read_to_string(&mut stderr_pipe, &mut stderr).unwrap();
    assert_eq!(status.code(), Some(3), "{stderr}");

    assert!(
        !PathBuf::from(format!("/proc/{prometheus_pid}")).exists(),
        "the Prometheus child still runs"
    );
    assert!(!prometheus_dir.exists(), "its directory was not removed");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(
        report["status"]["status"], "interrupted",
        "{}",
        report["status"]
    );
    assert_eq!(report["verdict"], "inconclusive");
    assert_eq!(report["exit_code"], 3);
    assert!(
        report["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["status"] != "pass"),
        "an interrupted run passes nothing"
    );
    let phases = report["observations"]["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 1, "stopped in the first phase");
    assert!(phases[0]["stats"]["counts"]["requests"].as_u64().unwrap() > 0);
    assert!(stderr.contains("INTERRUPTED"), "{stderr}");
}

#[test]
fn sigterm_during_an_http_fault_restores_it_and_writes_an_interrupted_report() {
    require_prometheus();
    let demo = DemoGateway::start();
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::new("fault")
        .time_scale(10)
        .target_url(&demo.gateway)
        .phase(
            Phase::new("healthy")
                .duration("20s")
                .rate("20/s")
                .request(PREDICT),
        )
        .phase(
            Phase::new("broken")
                .duration("5m")
                .rate("20/s")
                .request(PREDICT)
                .fault(&demo_http_fault(&demo.admin, "backend_error_ratio: 1.0")),
        )
        .write(&dir.path().join("fault.yaml"));
    let out = dir.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(["run", &scenario, "--out", out.to_str().unwrap()])
        .current_dir(repo())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr_pipe = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut stderr = String::new();
    loop {
        let mut line = String::new();
        let read = std::io::BufRead::read_line(&mut stderr_pipe, &mut line).unwrap();
        assert!(read > 0, "ended before the fault phase:\n{stderr}");
        stderr.push_str(&line);
        if line.contains("▶ broken") {
            break;
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        demo.faults()["backend_error_ratio"],
        1.0,
        "the fault is in force"
    );
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    std::io::Read::read_to_string(&mut stderr_pipe, &mut stderr).unwrap();
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert_eq!(
        demo.faults()["backend_error_ratio"],
        0.0,
        "the fault was restored: {stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["status"]["status"], "interrupted");
    let phases = report["observations"]["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 2);
    assert!(phases[1]["fault_error"].is_null(), "{}", phases[1]);
    assert!(phases[1]["stats"]["counts"]["status_5xx"].as_u64().unwrap() > 0);
}

#[test]
fn an_exec_fault_runs_its_start_and_restore_commands() {
    require_prometheus();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fault.log");
    let scenario = dir.path().join("exec.yaml");
    let exec = |start: &str, restore: &str| {
        Scenario::new("exec")
            .time_scale(10)
            .phase(Phase::new("broken").duration("20s").fault(&format!(
                "{{ exec: {{ start: {start}, restore: {restore} }} }}"
            )))
            .write(&scenario)
    };
    let path = exec(
        &format!("[sh, -c, \"echo started >> {}\"]", log.display()),
        &format!("[sh, -c, \"echo restored >> {}\"]", log.display()),
    );
    let out = dir.path().join("out");
    let run = support::firedrill(&["run", &path, "--quiet", "--out", out.to_str().unwrap()]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "started\nrestored\n"
    );

    // A start command that fails stops the drill, with its error.
    let path = exec("[sh, -c, \"echo nope >&2; exit 3\"]", "[\"true\"]");
    let run = support::firedrill(&["run", &path, "--quiet", "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("the fault's start command failed") && stderr.contains("nope"),
        "{stderr}"
    );
}
