//! Prometheus going away in the middle of a drill: what it did not see is
//! inconclusive, never a pass; if it comes back before a deadline, the drill
//! goes on and what it saw afterwards counts. The drill itself (traffic,
//! faults and their restoration) does not depend on Prometheus being up.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::scenario::{demo_http_fault, Phase, Scenario, PREDICT};
use crate::support::{prometheus_for, DemoGateway, TestPrometheus};

fn scenario(dir: &std::path::Path, demo: &DemoGateway, prometheus: &TestPrometheus) -> String {
    Scenario::new("outage")
        .target_url(&demo.gateway)
        .prometheus_url(&prometheus.url())
        .phase(
            Phase::new("healthy")
                .duration("12s")
                .rate("20/s")
                .request(PREDICT),
        )
        .phase(
            Phase::new("errors")
                .duration("20s")
                .rate("20/s")
                .request(PREDICT)
                .fault(&demo_http_fault(&demo.admin, "backend_error_ratio: 0.5")),
        )
        .check("{ alert: GatewayHighErrorRate, silent_during: healthy }")
        .check("{ alert: GatewayHighErrorRate, fires_within: 16s, after: errors.start }")
        .write(&dir.join("outage.yaml"))
}

/// Runs the drill; once its first phase has begun, calls `during` (which
/// breaks Prometheus); returns the exit code and the report.
fn run_with(
    scenario: &str,
    out: &std::path::Path,
    during: impl FnOnce(),
) -> (i32, serde_json::Value, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(["run", scenario, "--out", out.to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "ended early:\n{seen}"
        );
        seen.push_str(&line);
        if line.contains("▶ healthy") {
            break;
        }
    }
    during();
    std::io::Read::read_to_string(&mut stderr, &mut seen).unwrap();
    let status = child.wait().unwrap();
    let report =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    (status.code().unwrap_or(-1), report, seen)
}

fn verdict<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap()
}

#[test]
fn an_outage_makes_what_prometheus_missed_inconclusive_and_the_drill_goes_on() {
    let demo = DemoGateway::start();
    let mut prometheus = prometheus_for(&demo);
    prometheus.wait_until_scraping();
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), &demo, &prometheus);
    let (code, report, stderr) = run_with(&path, &dir.path().join("out"), || {
        std::thread::sleep(Duration::from_secs(3));
        prometheus.kill();
        std::thread::sleep(Duration::from_secs(4));
        prometheus.restart();
    });
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(report["status"]["status"], "completed", "the drill went on");
    assert_eq!(
        report["observations"]["phases"].as_array().unwrap().len(),
        2
    );

    let silent = verdict(&report, "checks[0]");
    assert_eq!(silent["status"], "inconclusive", "{silent:#}");
    assert!(
        silent["summary"]
            .as_str()
            .unwrap()
            .contains("silence is not proven"),
        "{silent:#}"
    );
    let fired = verdict(&report, "checks[1]");
    assert_eq!(
        fired["status"], "pass",
        "Prometheus was back before the deadline: {fired:#}"
    );
    assert!(!report["observations"]["watch"]["failures"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        demo.faults()["backend_error_ratio"],
        0.0,
        "the fault was restored"
    );
}

#[test]
fn prometheus_gone_for_good_makes_every_alert_check_inconclusive() {
    let demo = DemoGateway::start();
    let mut prometheus = prometheus_for(&demo);
    prometheus.wait_until_scraping();
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), &demo, &prometheus);
    let (code, report, stderr) = run_with(&path, &dir.path().join("out"), || {
        std::thread::sleep(Duration::from_secs(3));
        prometheus.kill();
    });
    assert_eq!(code, 3, "{stderr}");
    for id in ["checks[0]", "checks[1]"] {
        let v = verdict(&report, id);
        assert_eq!(v["status"], "inconclusive", "{v:#}");
        assert!(
            v["summary"].as_str().unwrap().contains("cannot be reached")
                || v["summary"].as_str().unwrap().contains("not proven"),
            "{v:#}"
        );
    }
    // The traffic and the fault did not need Prometheus.
    let errors = &report["observations"]["phases"][1]["stats"]["counts"];
    assert!(errors["status_5xx"].as_u64().unwrap() > 100, "{errors}");
    assert!(
        report["observations"]["prometheus_retries"]
            .as_u64()
            .unwrap()
            > 0,
        "retries are in the report"
    );
    assert_eq!(
        demo.faults()["backend_error_ratio"],
        0.0,
        "the fault was restored"
    );
}
