//! Compressed drills keep production's statistics: against a stand-in
//! service whose errors are random (2%, seeded), under a 5% rule on the
//! error ratio, a scaled drill sends production's requests per window and
//! says when its windows were still filling; one that keeps its rates
//! (`scale_rates: false`) says the noise it accepted, in its notes and in
//! the verdict.

use std::path::Path;

use crate::support::random_errors::{RandomErrors, RandomTarget};
use crate::support::{require_prometheus, run_scenario, Run};

/// The issue's rule, over a one-minute window (6s compressed ten-fold).
const RULES: &str = r#"groups:
  - name: noise
    rules:
      - alert: RandomErrorRatio
        expr: sum(rate(gateway_http_requests_total{status=~"5.."}[1m])) / sum(rate(gateway_http_requests_total[1m])) > 0.05
        for: 30s
"#;

fn drill(target: &RandomTarget, dir: &Path, extra: &str, phases: &str) -> Run {
    std::fs::write(dir.join("rules.yaml"), RULES).unwrap();
    let scenario = dir.join("noise.yaml");
    std::fs::write(
        &scenario,
        format!(
            "name: noise\ntime_scale: 10\n{extra}target: {{ base_url: {} }}\n\
             prometheus: {{ embedded: true, rules: [rules.yaml] }}\nphases:\n{phases}\
             checks:\n  - {{ alert: RandomErrorRatio, silent_during: healthy }}\n  \
             - {{ slo: error_ratio, below: 5%, during: healthy, source: client }}\n",
            target.url
        ),
    )
    .unwrap();
    run_scenario(scenario.to_str().unwrap(), &["--quiet"])
}

const REQUEST: &str = "request: { method: POST, path: /predict, body: hi }";

#[test]
fn scaled_rates_fill_windows_as_production_and_a_drill_says_when_they_were_filling() {
    require_prometheus();
    let target = RandomTarget::start(RandomErrors {
        error_ratio: 0.02,
        seed: 11,
    });
    let dir = tempfile::tempdir().unwrap();
    let run = drill(
        &target,
        dir.path(),
        "",
        &format!("  - {{ name: healthy, duration: 2m, rate: 20/s, {REQUEST} }}\n"),
    );
    // 20/s in production is sent at 200/s: about 2400 requests in 12s.
    let phase = &run.report()["observations"]["phases"][0];
    let requests = phase["stats"]["counts"]["requests"].as_u64().unwrap();
    assert!((2000..=2600).contains(&requests), "{requests}");
    assert!(run
        .file("summary.md")
        .contains("20/s in production, sent at 200/s"));
    let verdict = run.verdict("checks[0]");
    let noise = &verdict["evidence"]["noise"];
    let (window, production) = (
        noise["window_requests"].as_u64().unwrap(),
        noise["production_window_requests"].as_u64().unwrap(),
    );
    assert_eq!(window, production, "{noise}");
    assert!(
        (1000..=1400).contains(&window),
        "a 6s window at 200/s: {noise}"
    );
    // The first phase's first evaluations hold less than a full window.
    let filling = &verdict["evidence"]["filling"];
    assert!(filling["evaluations"].as_u64().unwrap() >= 1, "{verdict}");
    let summary = verdict["summary"].as_str().unwrap();
    eprintln!("{summary}");
    assert!(
        summary.contains("still filling") && summary.contains("warm_up: true"),
        "{summary}"
    );
    let rerun = &run.verdict("checks[1]")["evidence"]["rerun"];
    assert_eq!(rerun["requests"].as_u64(), Some(requests), "{rerun}");
}

#[test]
fn rates_kept_as_written_note_their_noise_and_a_warm_up_phase_is_not_judged() {
    require_prometheus();
    let target = RandomTarget::start(RandomErrors {
        error_ratio: 0.02,
        seed: 12,
    });
    let dir = tempfile::tempdir().unwrap();
    let run = drill(
        &target,
        dir.path(),
        "scale_rates: false\n",
        &format!(
            "  - {{ name: warmup, warm_up: true, duration: 1m, rate: 20/s, {REQUEST} }}\n  \
             - {{ name: healthy, duration: 2m, rate: 20/s, {REQUEST} }}\n"
        ),
    );
    let notes = run.report()["observations"]["notes"].to_string();
    assert!(
        notes.contains("scale_rates: false") && notes.contains("noisier"),
        "{notes}"
    );
    let verdict = run.verdict("checks[0]");
    let noise = &verdict["evidence"]["noise"];
    let (window, production) = (
        noise["window_requests"].as_u64().unwrap(),
        noise["production_window_requests"].as_u64().unwrap(),
    );
    assert!(
        (100..=140).contains(&window),
        "a 6s window at 20/s: {noise}"
    );
    assert!(production.abs_diff(window * 10) <= 10, "{noise}");
    let summary = verdict["summary"].as_str().unwrap();
    eprintln!("{summary}");
    assert!(
        summary.contains("errors at random at the")
            && summary.contains(&format!("production's hold {production}")),
        "the verdict says the noise it accepted: {summary}"
    );
    // The warm-up filled the window: no evaluation in `healthy` was on a
    // filling one.
    assert!(verdict["evidence"].get("filling").is_none(), "{verdict}");
    assert!(run.file("summary.md").contains("20/s as written"));
}
