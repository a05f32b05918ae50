//! SLO windows: a 2-second latency spike inside a 30-second phase, from a
//! target of the test's own, fails a `window: 5s` p90 check while the
//! whole-phase p90 check passes; `for: 3` (three windows back to back)
//! passes; and `firedrill merge` of shards keeps the windows exact.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::http::{Response, Server};
use crate::support::scenario::{Phase, Scenario};
use crate::support::{self, TestPrometheus};
use firedrill::checks::{self, CheckKind, CheckPlan, Evidence, Status};
use firedrill::load::{Outcome, PhaseStats};
use firedrill::plan::{Shard, Source};
use firedrill::report::merge::merge;
use firedrill::report::Report;

const SPIKE_AT: Duration = Duration::from_secs(14);
const SPIKE: Duration = Duration::from_secs(2);
const SLOW: Duration = Duration::from_millis(300);

/// Answers at once, except requests arriving between SPIKE_AT and SPIKE_AT
/// + SPIKE after its first request: those take SLOW.
fn spiking_server() -> Server {
    let first = OnceLock::new();
    Server::start(move |_| {
        let start = *first.get_or_init(Instant::now);
        let since = start.elapsed();
        if since >= SPIKE_AT && since < SPIKE_AT + SPIKE {
            std::thread::sleep(SLOW);
        }
        Response::ok()
    })
}

const CONFIG: &str =
    "global: { scrape_interval: 1s, evaluation_interval: 1s }\nrule_files: [\"{dir}/rules.yml\"]\n";
const RULES: &str = "groups:\n  - name: test\n    interval: 1s\n    rules:\n      - alert: NeverFires\n        expr: vector(0) > 1\n";

#[test]
fn a_two_second_spike_fails_a_five_second_window_while_the_whole_phase_passes() {
    let prometheus = TestPrometheus::start(CONFIG, RULES, None);
    let target = spiking_server();
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::new("spike")
        .target_url(&target.url)
        .prometheus_url(&prometheus.url())
        .phase(
            Phase::new("steady")
                .duration("30s")
                .rate("20/s")
                .request("{ method: GET, path: / }"),
        )
        .check("{ slo: latency, quantile: p90, below: 100ms, during: steady, source: client }")
        .check("{ slo: latency, quantile: p90, below: 100ms, window: 5s, during: steady, source: client }")
        .check("{ slo: latency, quantile: p90, below: 100ms, window: 5s, for: 3 windows, during: steady, source: client }")
        .write(&dir.path().join("spike.yaml"));
    let out = dir.path().join("out");
    let run = support::firedrill(&["run", &scenario, "--quiet", "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    eprintln!("{stderr}");
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    let report = Report::read(&out.join("report.json")).unwrap();
    let verdict = |id: &str| report.verdicts.iter().find(|v| v.id == id).unwrap();

    let whole = verdict("checks[0]");
    assert_eq!(whole.status, Status::Pass, "{}", whole.summary);

    let windowed = verdict("checks[1]");
    assert_eq!(windowed.status, Status::Fail, "{}", windowed.summary);
    let Evidence::Latency(evidence) = &windowed.evidence else {
        panic!("{windowed:?}")
    };
    let windows = evidence.windows.as_ref().expect("window figures");
    let worst = windows.worst.as_ref().expect("a worst window");
    // The worst window holds the spike: its p90 is the spike's latency.
    assert!(worst.value >= 290.0, "{windows:?}");
    assert!(
        (worst.to_seconds - worst.from_seconds - 5.0).abs() < 1e-6,
        "{windows:?}"
    );
    // It lies around the spike (answers arrive 14–16.3 s into the phase).
    let phase_start = report.observations.phases[0].started_at - report.observations.run_start;
    let spike = phase_start + SPIKE_AT.as_secs_f64();
    assert!(
        worst.from_seconds <= spike + 2.5 && worst.to_seconds >= spike,
        "{windows:?} (spike at {spike})"
    );
    assert!(
        windowed.summary.contains("the worst 5s window"),
        "{}",
        windowed.summary
    );

    // Three windows back to back (15 s of a bad p90) never happened.
    let sustained = verdict("checks[2]");
    assert_eq!(sustained.status, Status::Pass, "{}", sustained.summary);
    assert!(
        sustained.summary.contains("never 3 back to back"),
        "{}",
        sustained.summary
    );
}

/// 30 seconds of 20 requests per second at 2 ms; shard 1's half of
/// seconds 14 and 15 takes 300 ms.
fn samples(slow_share: bool) -> Vec<(u32, Outcome, Duration)> {
    (0..30u32)
        .flat_map(|s| {
            (0..10).map(move |_| {
                let spiked = slow_share && (s == 14 || s == 15);
                let ms = if spiked { 300 } else { 2 };
                (s, Outcome::Status(200), Duration::from_millis(ms))
            })
        })
        .collect()
}

#[test]
fn merged_shards_keep_windows_exact() {
    let mut base = Report::read(&support::repo().join("reports/example/report.json")).unwrap();
    // A p90 over 5-second windows of `healthy`: over the bound where a
    // window holds the slow seconds (20% of its requests when merged, 40%
    // of shard 1's, none of shard 0's).
    let check = |id: &str| CheckPlan {
        id: id.into(),
        name: "p90 in 5s windows".into(),
        kind: CheckKind::Latency(firedrill::checks::kinds::latency::Latency {
            quantile: 0.9,
            below: Some(Duration::from_millis(100)),
            phase: 0,
            source: Source::Client,
            window: Some(firedrill::checks::sliding::SlidingWindow {
                seconds: 5,
                consecutive: 1,
            }),
            at_most: None,
        }),
    };
    base.plan.checks = vec![check("checks[0]")];
    base.observations.phases[0].started_at = base.observations.run_start;
    base.observations.phases[0].ended_at = base.observations.run_start + 30.0;
    let mut single = base.clone();
    let mut both: Vec<(u32, Outcome, Duration)> = samples(false);
    both.extend(samples(true));
    single.observations.phases[0].stats = Some(PhaseStats::from_samples(&both));
    single.verdicts = checks::evaluate(&single.plan, &single.observations);

    let shards: Vec<(String, Report)> = [false, true]
        .iter()
        .enumerate()
        .map(|(index, slow)| {
            let mut shard = base.clone();
            shard.plan.shard = Some(Shard {
                index: index as u32,
                count: 2,
            });
            shard.observations.phases[0].stats = Some(PhaseStats::from_samples(&samples(*slow)));
            shard.verdicts = checks::evaluate(&shard.plan, &shard.observations);
            (format!("shard {index}"), shard)
        })
        .collect();
    // One shard alone passes (no slow request), the other fails.
    assert_eq!(shards[0].1.verdicts[0].status, Status::Pass);
    assert_eq!(shards[1].1.verdicts[0].status, Status::Fail);

    let merged = merge(shards).unwrap();
    let (m, s) = (&merged.verdicts[0], &single.verdicts[0]);
    assert_eq!(m.status, Status::Fail, "{}", m.summary);
    assert_eq!(m.summary, s.summary);
    assert_eq!(
        m.evidence, s.evidence,
        "merged windows equal the single run's"
    );
    let Evidence::Latency(evidence) = &m.evidence else {
        panic!("{m:?}")
    };
    let worst = evidence.windows.as_ref().unwrap().worst.as_ref().unwrap();
    assert_eq!(worst.requests, 100);
    assert!(worst.value >= 297.0, "{worst:?}");
}

#[test]
fn service_side_windows_come_from_prometheus_and_say_when_it_cannot_answer() {
    support::require_prometheus();
    let dir = tempfile::tempdir().unwrap();
    let predict = crate::support::scenario::PREDICT;
    // Ten-fold compressed: scrapes every 1.5 s, `1m` windows are 6 s.
    let scenario = Scenario::new("service-windows")
        .time_scale(10)
        .phase(Phase::new("healthy").duration("2m").rate("20/s").request(predict))
        .phase(
            Phase::new("errors")
                .duration("2m")
                .rate("20/s")
                .request(predict)
                .fault("{ backend_error_ratio: 50% }"),
        )
        .check("{ slo: error_ratio, below: 10%, window: 1m, during: healthy, source: prometheus }")
        .check("{ slo: error_ratio, below: 10%, window: 1m, during: errors, source: prometheus }")
        .check("{ slo: latency, quantile: p95, below: 250ms, window: 1m, during: healthy, source: prometheus }")
        .check("{ slo: latency, quantile: p95, below: 250ms, window: 20s, during: healthy, source: prometheus }")
        .write(&dir.path().join("service-windows.yaml"));
    let out = dir.path().join("out");
    let run = support::firedrill(&["run", &scenario, "--quiet", "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    eprintln!("{stderr}");
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    let report = Report::read(&out.join("report.json")).unwrap();
    let verdict = |id: &str| report.verdicts.iter().find(|v| v.id == id).unwrap();

    let healthy = verdict("checks[0]");
    assert_eq!(healthy.status, Status::Pass, "{}", healthy.summary);
    assert!(
        healthy.summary.contains("increase() over each window"),
        "{}",
        healthy.summary
    );
    let errors = verdict("checks[1]");
    assert_eq!(errors.status, Status::Fail, "{}", errors.summary);
    let Evidence::ErrorRatio(evidence) = &errors.evidence else {
        panic!("{errors:?}")
    };
    let worst = evidence
        .windows
        .as_ref()
        .and_then(|w| w.worst.as_ref())
        .unwrap();
    assert!(worst.value > 0.3, "{worst:?}");
    let windows = &report.observations.service_windows["checks[1]"];
    assert_eq!(windows.window_seconds, 6.0);
    assert!(windows.windows.len() >= 3, "{windows:?}");

    let latency = verdict("checks[2]");
    assert_eq!(latency.status, Status::Pass, "{}", latency.summary);
    // 2 s windows hold fewer than two 1.5 s scrapes: Prometheus cannot say.
    let short = verdict("checks[3]");
    assert_eq!(short.status, Status::Inconclusive, "{}", short.summary);
    assert!(
        short.summary.contains("cannot answer a 2s window"),
        "{}",
        short.summary
    );
}

#[test]
fn windows_and_relative_bounds_are_validated_where_they_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let predict = crate::support::scenario::PREDICT;
    let scenario = Scenario::new("bad-windows")
        .time_scale(10)
        .phase(
            Phase::new("steady")
                .duration("1m")
                .rate("10/s")
                .request(predict),
        )
        .check("{ slo: latency, quantile: p90, below: 100ms, window: 5s, during: steady }")
        .check("{ slo: latency, quantile: p90, below: 100ms, for: 3, during: steady }")
        .check(
            "{ slo: latency, quantile: p90, at_most: baseline + 10%, window: 1m, during: steady }",
        )
        .check("{ slo: latency, quantile: p90, at_most: 10%, during: steady }")
        .check("{ slo: latency, quantile: p90, during: steady }")
        .check("{ slo: error_ratio, below: 1%, window: 1m, for: 2 windows, during: steady }")
        .check("{ slo: error_ratio, below: 1%, at_most: baseline, during: steady }")
        .write(&dir.path().join("bad.yaml"));
    let output = support::firedrill(&["validate", &scenario]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for expected in [
        "checks[0].window: `window: 5s` is 0.5s under time_scale 10",
        "checks[1].for: `for` counts windows: it goes with `window`",
        "checks[2].at_most: `at_most` does not go with `window`",
        "checks[3].at_most: `at_most: 10%`: write `baseline`, `baseline + 10%` or `baseline + 20ms`",
        "checks[4].below: a latency check needs `below` (e.g. 500ms), `at_most: baseline + 10%`, or both",
        "checks[5].window: 2 6s windows back to back need 12s of the phase, and it runs 6s (as run)",
        "checks[6].at_most: `at_most` does not go with `slo: error_ratio`",
    ] {
        assert!(stderr.contains(expected), "missing `{expected}` in:\n{stderr}");
    }
}
