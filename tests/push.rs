//! Results pushed to a real Pushgateway and read back; firedrill's own
//! /metrics scraped while it runs.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::scenario::{Phase, Scenario, PREDICT};
use crate::support::{self, http, repo, require_prometheus, Pushgateway};

fn scenario(dir: &std::path::Path, name: &str, bound: &str) -> String {
    Scenario::new(name)
        .time_scale(10)
        .phase(
            Phase::new("steady")
                .duration("60s")
                .rate("20/s")
                .request(PREDICT),
        )
        .check("{ alert: GatewayHighErrorRate, silent_during: steady }")
        .check(format!(
            "{{ slo: latency, quantile: p95, below: {bound}, during: steady, source: client }}"
        ))
        .write(&dir.join("push.yaml"))
}

#[test]
fn results_are_pushed_and_read_back_and_metrics_are_served_during_the_run() {
    require_prometheus();
    let gateway = Pushgateway::start();
    let dir = tempfile::tempdir().unwrap();
    let metrics_port = firedrill::env::free_port().unwrap();
    let name = "push drill/1"; // not a plain word: pushed with the @base64 form
    let path = scenario(dir.path(), name, "250ms");
    let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(["run", &path, "--quiet", "--push-gateway", &gateway.url])
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
        .args(["--out", dir.path().join("out").to_str().unwrap()])
        .current_dir(repo())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // While it runs, its own metrics show the phase and its traffic.
    let started = Instant::now();
    let live = loop {
        let body = http::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
            .map(|reply| reply.body)
            .unwrap_or_default();
        let requests = body
            .lines()
            .find(|l| l.starts_with("firedrill_phase_requests{phase=\"steady\"}"))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        if requests > 0.0 {
            break body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "no live metrics: {body}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(
        live.contains(&format!("firedrill_running{{scenario=\"{name}\"}} 1")),
        "{live}"
    );
    let stderr = support::stderr_of(&mut child);
    assert_eq!(child.wait().unwrap().code(), Some(0), "{stderr}");
    assert!(stderr.contains("results pushed to"), "{stderr}");

    let pushed = http::get(format!("{}/metrics", gateway.url)).unwrap().body;
    // Labels print sorted: job and scenario need not be adjacent.
    let in_group =
        |l: &str| l.contains("job=\"firedrill\"") && l.contains(&format!("scenario=\"{name}\""));
    let has = |metric: &str, labels: &str, value: &str| {
        pushed.lines().any(|l| {
            l.starts_with(&format!("{metric}{{"))
                && l.contains(labels)
                && in_group(l)
                && l.ends_with(&format!(" {value}"))
        })
    };
    assert!(
        has("firedrill_run_verdict", "verdict=\"pass\"", "1"),
        "{pushed}"
    );
    assert!(has("firedrill_run_exit_code", "", "0"), "{pushed}");
    assert!(
        has("firedrill_check_passed", "id=\"checks[0]\"", "1"),
        "{pushed}"
    );
    assert!(
        has("firedrill_check_passed", "id=\"checks[1]\"", "1"),
        "{pushed}"
    );
    assert!(
        pushed.contains("firedrill_phase_latency_seconds{"),
        "{pushed}"
    );
    assert!(pushed.contains("outcome=\"2xx\""), "{pushed}");

    // The next run replaces the group: a failing run leaves no stale "pass".
    let path = scenario(dir.path(), name, "1ms");
    let again = support::firedrill(&[
        "run",
        &path,
        "--quiet",
        "--push-gateway",
        &gateway.url,
        "--out",
        dir.path().join("again").to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(1));
    let pushed = http::get(format!("{}/metrics", gateway.url)).unwrap().body;
    let verdicts: Vec<&str> = pushed
        .lines()
        .filter(|l| l.starts_with("firedrill_run_verdict{") && in_group(l))
        .collect();
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    assert!(verdicts[0].contains("verdict=\"fail\""), "{verdicts:?}");
}

#[test]
fn an_unreachable_pushgateway_is_reported_but_does_not_change_the_verdict() {
    require_prometheus();
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), "unpushed", "250ms");
    let port = firedrill::env::free_port().unwrap();
    let out = dir.path().join("out");
    let run = support::firedrill(&[
        "run",
        &path,
        "--quiet",
        "--push-gateway",
        &format!("http://127.0.0.1:{port}"),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let notes = report["observations"]["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("could not be pushed")),
        "{notes:?}"
    );
}
