//! A target that is down — from the start, or for a phase in the middle —
//! does not stop the run: its failures are counted by kind, the run
//! completes, and the report is written.

use crate::support::scenario::{Phase, Scenario, PREDICT};
use crate::support::{require_prometheus, run_scenario};

#[test]
fn a_target_down_from_the_start_is_counted_and_the_run_completes() {
    require_prometheus();
    // A port that was free a moment ago: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let path = Scenario::new("down")
        .time_scale(10)
        .phase(
            Phase::new("traffic")
                .duration("30s")
                .rate("10/s")
                .request("{ path: /predict }"),
        )
        .check("{ slo: error_ratio, below: 1%, during: traffic, source: client }")
        .write(&dir.path().join("down.yaml"));
    let run = run_scenario(
        &path,
        &["--target", &format!("http://127.0.0.1:{port}"), "--quiet"],
    );
    assert_eq!(run.code, 1, "the error-ratio check fails: {}", run.stderr);
    let report = run.report();
    assert_eq!(report["status"]["status"], "completed");
    // 10/s in production is sent at 100/s under time_scale 10 (rates are
    // scaled with time), for the 3s the phase runs.
    let counts = &report["observations"]["phases"][0]["stats"]["counts"];
    assert_eq!(counts["requests"], 300, "{counts}");
    assert_eq!(counts["connect_errors"], 300, "{counts}");
    let notes = report["observations"]["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("could not scrape")),
        "{notes:?}"
    );
}

#[test]
fn a_target_down_mid_run_is_counted_by_kind_in_its_phase() {
    require_prometheus();
    let dir = tempfile::tempdir().unwrap();
    let path = Scenario::new("flap")
        .time_scale(10)
        .phase(
            Phase::new("up")
                .duration("30s")
                .rate("20/s")
                .request(PREDICT),
        )
        .phase(
            Phase::new("down")
                .duration("30s")
                .rate("20/s")
                .request(PREDICT)
                .fault("{ gateway_down: true }"),
        )
        .phase(
            Phase::new("back")
                .duration("30s")
                .rate("20/s")
                .request(PREDICT),
        )
        .write(&dir.path().join("flap.yaml"));
    let run = run_scenario(&path, &["--quiet"]);
    assert_eq!(run.code, 0, "no checks: {}", run.stderr);
    let phases = run.report()["observations"]["phases"]
        .as_array()
        .unwrap()
        .clone();
    let counts = |i: usize| phases[i]["stats"]["counts"].clone();
    assert_eq!(
        counts(0)["status_2xx"],
        counts(0)["requests"],
        "{}",
        counts(0)
    );
    let down = counts(1);
    let failed = down["connect_errors"].as_u64().unwrap() + down["resets"].as_u64().unwrap();
    assert_eq!(
        failed,
        down["requests"].as_u64().unwrap(),
        "every request of the down phase failed, by kind: {down}"
    );
    assert!(down["connect_errors"].as_u64().unwrap() > 50, "{down}");
    assert_eq!(
        counts(2)["status_2xx"],
        counts(2)["requests"],
        "the gateway came back: {}",
        counts(2)
    );
}
