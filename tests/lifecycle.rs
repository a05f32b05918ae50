//! What firedrill leaves behind when it is stopped: nothing. A Ctrl-C in the
//! middle of a run stops the traffic, stops the Prometheus child and removes
//! its directory, writes a report marked "interrupted", and exits 3.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::scenario::{demo_http_fault, Phase, Scenario, PREDICT};
use crate::support::{self, repo, require_prometheus, DemoGateway};

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
    let status = support::interrupt(&mut child, started);
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

/// A `firedrill run` in the background, its stderr read line by line so a
/// test can time a signal from the run's own output.
struct Running {
    child: std::process::Child,
    stderr: std::io::BufReader<std::process::ChildStderr>,
    seen: String,
}

impl Running {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
            .args(args)
            .current_dir(repo())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        Running {
            child,
            stderr,
            seen: String::new(),
        }
    }

    /// Reads stderr until a line contains `needle`.
    fn wait_for_line(&mut self, needle: &str) {
        loop {
            let mut line = String::new();
            let read = std::io::BufRead::read_line(&mut self.stderr, &mut line).unwrap();
            assert!(read > 0, "ended before `{needle}`:\n{}", self.seen);
            self.seen.push_str(&line);
            if line.contains(needle) {
                return;
            }
        }
    }

    /// Sends `signal`, waits for the exit; returns the exit code, all of
    /// stderr, and the seconds from the signal to the exit.
    fn stop_with(mut self, signal: libc::c_int) -> (Option<i32>, String, f64) {
        let sent = Instant::now();
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, signal);
        }
        std::io::Read::read_to_string(&mut self.stderr, &mut self.seen).unwrap();
        let status = self.child.wait().unwrap();
        (status.code(), self.seen, sent.elapsed().as_secs_f64())
    }
}

fn report_in(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

fn verdict<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no verdict {id}: {}", report["verdicts"]))
}

/// The counts line an interrupted run prints, from its report.
fn tally_of(report: &serde_json::Value, during: &str) -> String {
    let count = |status: &str| {
        report["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["status"] == status)
            .count()
    };
    format!(
        "interrupted during `{during}`: {} passed, {} failed, {} inconclusive",
        count("pass"),
        count("fail"),
        count("inconclusive")
    )
}

/// The quickstart stopped by `signal` five seconds into `errors` (after
/// Prometheus's next evaluation, 3 s at ×10, and before the alert can fire,
/// which takes its `for` of 6 s after going pending): the checks of the
/// completed `healthy` phase keep their verdicts, the others are
/// inconclusive and say so, and the run is inconclusive (exit 3). Returns
/// the report, stderr, and the seconds from the signal to the exit.
fn quickstart_interrupted_during_errors(
    signal: libc::c_int,
    extra: &[&str],
) -> (serde_json::Value, String, f64, tempfile::TempDir) {
    require_prometheus();
    let out = tempfile::tempdir().unwrap();
    let mut args = vec!["run", "scenarios/quickstart.yaml", "--out"];
    args.push(out.path().to_str().unwrap());
    args.extend_from_slice(extra);
    let mut run = Running::start(&args);
    run.wait_for_line("▶ errors");
    std::thread::sleep(Duration::from_secs(5));
    let (code, stderr, seconds) = run.stop_with(signal);
    assert_eq!(code, Some(3), "{stderr}");

    let report = report_in(out.path());
    assert_eq!(report["status"]["status"], "interrupted", "{stderr}");
    assert_eq!(report["verdict"], "inconclusive");
    assert_eq!(report["exit_code"], 3);
    let phases = report["observations"]["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 2, "stopped in the second phase");
    assert_eq!(phases[0]["cut_short"], false);
    assert_eq!(phases[1]["cut_short"], true);
    // `healthy`: its silence, both latency SLOs and both error-ratio SLOs.
    for id in [
        "checks[0]",
        "checks[4].client",
        "checks[4].prometheus",
        "checks[5].client",
        "checks[5].prometheus",
    ] {
        let v = verdict(&report, id);
        assert_eq!(v["status"], "pass", "{id}: {v}\n{stderr}");
        assert_eq!(v["window"]["state"], "complete", "{id}: {v}");
    }
    // Resolution after `recovery.start` needed the rest of the run.
    let resolves = verdict(&report, "checks[3]");
    assert_eq!(resolves["status"], "inconclusive", "{resolves}");
    assert_eq!(resolves["window"]["state"], "open");
    assert!(
        resolves["summary"]
            .as_str()
            .unwrap()
            .starts_with("needed the rest of the run: `recovery` never started"),
        "{resolves}"
    );
    // The deadlines counted from `errors` had not come: not failures.
    for id in ["checks[1]", "checks[2]"] {
        assert_ne!(verdict(&report, id)["status"], "fail", "{id}");
    }
    let tally = tally_of(&report, "errors");
    assert!(
        stderr.contains(&format!("INCONCLUSIVE · {tally} · exit code 3")),
        "{tally}\n{stderr}"
    );
    let summary = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
    assert!(summary.contains(&tally), "{summary}");
    let (valid, messages) = support::xmllint(
        &repo().join("tests/fixtures/junit.xsd"),
        &out.path().join("junit.xml"),
    );
    assert!(valid, "{messages}");
    let junit = std::fs::read_to_string(out.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains("name=\"firedrill.interrupted\" value=\"interrupted during `errors`\""),
        "{junit}"
    );
    (report, stderr, seconds, out)
}

#[test]
fn sigint_during_the_second_phase_keeps_the_verdicts_of_the_first() {
    let (_, _, seconds, _) = quickstart_interrupted_during_errors(libc::SIGINT, &[]);
    eprintln!("from SIGINT to exit: {seconds:.2}s");
}

#[test]
fn sigterm_during_the_second_phase_keeps_the_verdicts_of_the_first_and_pushes_them() {
    let gateway = support::Pushgateway::start();
    let (report, stderr, seconds, _) =
        quickstart_interrupted_during_errors(libc::SIGTERM, &["--push-gateway", &gateway.url]);
    eprintln!("from SIGTERM to exit, report and push included: {seconds:.2}s");
    assert!(stderr.contains("results pushed to"), "{stderr}");
    let pushed = gateway.metrics();
    let has = |metric: &str, labels: &str, value: &str| {
        pushed.lines().any(|l| {
            l.starts_with(metric)
                && l.contains("scenario=\"quickstart\"")
                && l.contains(labels)
                && l.ends_with(&format!(" {value}"))
        })
    };
    assert!(has("firedrill_run_interrupted", "", "1"), "{pushed}");
    assert!(
        has("firedrill_run_verdict", "verdict=\"inconclusive\"", "1"),
        "{pushed}"
    );
    for v in report["verdicts"].as_array().unwrap() {
        let id = format!("id=\"{}\"", v["id"].as_str().unwrap());
        let passed = if v["status"] == "pass" { "1" } else { "0" };
        let inconclusive = if v["status"] == "inconclusive" {
            "1"
        } else {
            "0"
        };
        let complete = if v["window"]["state"] == "complete" {
            "1"
        } else {
            "0"
        };
        assert!(has("firedrill_check_passed", &id, passed), "{id}\n{pushed}");
        assert!(
            has("firedrill_check_inconclusive", &id, inconclusive),
            "{id}\n{pushed}"
        );
        assert!(
            has("firedrill_check_window_complete", &id, complete),
            "{id}\n{pushed}"
        );
    }
}

#[test]
fn an_alert_in_a_completed_silent_phase_fails_the_interrupted_run() {
    require_prometheus();
    let dir = tempfile::tempdir().unwrap();
    // Every backend call fails during `broken` (15 s at ×10): the error-rate
    // alert goes pending within a few evaluations, inside the phase that had
    // to stay silent.
    let scenario = Scenario::new("broken-then-stopped")
        .time_scale(10)
        .phase(
            Phase::new("broken")
                .duration("150s")
                .rate("20/s")
                .request(PREDICT)
                .fault("{ backend_error_ratio: 100% }"),
        )
        .phase(
            Phase::new("after")
                .duration("5m")
                .rate("20/s")
                .request(PREDICT),
        )
        .check("{ alert: GatewayHighErrorRate, silent_during: broken }")
        .check("{ slo: error_ratio, below: 1%, during: after, source: client }")
        .write(&dir.path().join("broken.yaml"));
    let out = dir.path().join("out");
    let mut run = Running::start(&["run", &scenario, "--out", out.to_str().unwrap()]);
    run.wait_for_line("▶ after");
    std::thread::sleep(Duration::from_secs(1));
    let (code, stderr, _) = run.stop_with(libc::SIGTERM);
    assert_eq!(
        code,
        Some(1),
        "nothing the rest could do undoes it:\n{stderr}"
    );

    let report = report_in(&out);
    assert_eq!(report["status"]["status"], "interrupted");
    assert_eq!(report["verdict"], "fail");
    assert_eq!(report["exit_code"], 1);
    let silent = verdict(&report, "checks[0]");
    assert_eq!(silent["status"], "fail", "{silent}");
    let after = verdict(&report, "checks[1]");
    assert_eq!(after["status"], "inconclusive", "{after}");
    assert!(
        after["summary"]
            .as_str()
            .unwrap()
            .contains("`after` was cut short by the interruption"),
        "{after}"
    );
    assert!(
        stderr.contains(
            "FAIL · interrupted during `after`: 0 passed, 1 failed, 1 inconclusive · exit code 1"
        ),
        "{stderr}"
    );
}
