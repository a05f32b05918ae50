//! End-to-end drills on the embedded default: the real binary, the demo
//! gateway, and a real Prometheus child process (time-compressed ten-fold).
//! These are the runs the README promises, checked by their exit codes and
//! their report.json.

use crate::support::{self, require_prometheus, run_scenario};

#[test]
fn the_quickstart_passes_on_the_embedded_default() {
    require_prometheus();
    let run = run_scenario("scenarios/quickstart.yaml", &["--quiet"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    let report = run.report();
    assert_eq!(report["verdict"], "pass");
    assert_eq!(report["status"]["status"], "completed");
    let verdicts = report["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 8);
    assert!(
        verdicts.iter().all(|v| v["status"] == "pass"),
        "{verdicts:#?}"
    );

    // The figures come from Prometheus's evaluation ticks: time to fire is at
    // least the rule's `for` (1m scaled to 6s) and within the deadline.
    let fired = run.verdict("checks[2]");
    let time_to_fire = fired["evidence"]["time_to_fire_seconds"].as_f64().unwrap();
    let for_seconds = fired["evidence"]["rule_for_seconds"].as_f64().unwrap();
    assert_eq!(for_seconds, 6.0);
    assert!(
        time_to_fire >= for_seconds && time_to_fire <= 15.0,
        "{fired:#}"
    );

    // Traffic went where it should: healthy answers 2xx, the fault half 5xx.
    let phases = report["observations"]["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 3);
    let errors = &phases[1]["stats"]["counts"];
    let ratio = errors["status_5xx"].as_f64().unwrap() / errors["requests"].as_f64().unwrap();
    assert!((ratio - 0.5).abs() < 0.02, "{errors}");

    // Every format is written next to report.json.
    assert!(run.file("junit.xml").contains("<testsuite"));
    assert!(run.file("summary.md").contains("PASS"));
    assert!(run.file("prometheus.log").contains("Server is ready"));

    // report.json alone re-renders every format (no value JSON cannot hold).
    let again = tempfile::tempdir().unwrap();
    let report_path = run.dir.path().join("report.json");
    let rerendered = support::firedrill(&[
        "report",
        report_path.to_str().unwrap(),
        "--out",
        again.path().to_str().unwrap(),
    ]);
    assert_eq!(
        rerendered.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&rerendered.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(again.path().join("junit.xml")).unwrap(),
        run.file("junit.xml")
    );
}

#[test]
fn a_deadline_shorter_than_the_rules_for_fails_and_says_why() {
    require_prometheus();
    let run = run_scenario(
        "tests/scenarios/deadline-shorter-than-for.yaml",
        &["--quiet"],
    );
    assert_eq!(run.code, 1, "stderr:\n{}", run.stderr);
    let verdict = run.verdict("checks[0]");
    assert_eq!(verdict["status"], "fail");
    let summary = verdict["summary"].as_str().unwrap();
    assert!(summary.contains("later than the deadline"), "{summary}");
    assert!(
        summary.contains("cannot be met") && summary.contains("`for` (6.0s)"),
        "{summary}"
    );
    assert!(run.stderr.contains("FAIL"), "{}", run.stderr);
}

#[test]
fn the_seeds_error_ratio_rule_is_caught_firing_at_two_percent() {
    require_prometheus();
    let run = run_scenario("scenarios/seed-false-positive.yaml", &["--quiet"]);
    assert_eq!(run.code, 1, "stderr:\n{}", run.stderr);
    // The traffic really was under the 5% threshold...
    assert_eq!(run.status_of("checks[2].client"), "pass");
    assert_eq!(run.status_of("checks[2].prometheus"), "pass");
    // ...and the seed's rule went off anyway.
    let silent = run.verdict("checks[0]");
    assert_eq!(silent["status"], "fail", "{silent:#}");
    assert!(
        silent["evidence"]["pending_at_seconds"].is_number(),
        "evidence names when it went pending: {silent:#}"
    );
    // The seed's MLServiceDown names a job that does not exist: it fires on
    // a healthy service.
    assert_eq!(run.status_of("checks[1]"), "fail");
}

#[test]
fn the_fixed_rules_stay_silent_on_the_same_traffic() {
    require_prometheus();
    let run = run_scenario("tests/scenarios/fixed-rules-two-percent.yaml", &["--quiet"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    assert_eq!(run.status_of("checks[0]"), "pass");
    assert_eq!(run.status_of("checks[1]"), "pass");
}

#[test]
fn every_gateway_and_backend_alert_of_the_seed_fires_on_its_real_fault_and_resolves() {
    require_prometheus();
    let run = run_scenario("scenarios/seed-alerts.yaml", &["--quiet"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    let report = run.report();
    let verdicts = report["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 16, "{verdicts:#?}");
    assert!(
        verdicts.iter().all(|v| v["status"] == "pass"),
        "{verdicts:#?}"
    );
    // Each of the six fired on the traffic (not a synthetic series).
    for alert in [
        "GatewayHighErrorRate",
        "MLBackendErrors",
        "GatewayHighLatency",
        "MLInferenceLatencyHigh",
        "MLServiceDown",
        "GatewayDown",
    ] {
        let fired = verdicts.iter().any(|v| {
            v["kind"] == "fires_within"
                && v["summary"]
                    .as_str()
                    .is_some_and(|s| s.starts_with(&format!("`{alert}` fired ")))
        });
        assert!(fired, "{alert}: {verdicts:#?}");
    }
    // Healthy traffic answers no 500: no chance of random errors to speak
    // of (the next phase's errors once leaked into it: "31%").
    for v in verdicts.iter().filter(|v| v["kind"] == "silent_during") {
        let summary = v["summary"].as_str().unwrap();
        assert!(!summary.contains("errors at random"), "{summary}");
    }
}
