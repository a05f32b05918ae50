//! The timing model of `firedrill rules check` against Prometheus's own
//! evaluator: for each shape of condition, synthetic series with a step in
//! what the alert watches are given to `promtool test rules` (Prometheus
//! 2.42's rule engine), at every phase of the step against the evaluation
//! ticks, and the first evaluation at which the alert fires must lie within
//! the best and worst case `rules check` computes — or, where it says
//! "never", the alert must not fire at all.
//!
//! How the step is placed: promtool writes a sample every S, so a change
//! first shows in sample k, made at an instant nobody knows in the S before
//! it. For a gauge (or anything the target shows at once) every such
//! instant must be covered: the delay from sample k, d, must satisfy
//! best ≤ d and d + S ≤ worst. A counter's new rate (or a gauge's new
//! slope) fills the whole interval before sample k, so the step is at
//! sample k − 1: d + S within [best, worst]. A timestamp that stops advancing is timed from its last
//! advance. promtool evaluates at multiples of its own `evaluation_interval`
//! (not a group's `interval`), which the checks are given as the group's.

use crate::support;

use std::fmt::Write as _;

use serde_json::Value;

/// How a case's step is placed against the samples (see the module comment).
#[derive(Clone, Copy, PartialEq)]
enum Placed {
    /// The change shows in sample k; it was made up to S before.
    Gauge,
    /// The counter's new rate (a gauge's new slope) runs from sample k − 1.
    Counter,
    /// Timed from sample k − 1 exactly (a timestamp's last advance).
    Exact,
}

struct Case {
    name: &'static str,
    expr: &'static str,
    hold: &'static str,
    /// The step as `rules check --json` names it (`step` and `value`).
    step: (&'static str, Option<f64>),
    placed: Placed,
    /// Input series for a step at sample `k`: (series, values).
    series: fn(k: usize) -> Vec<(String, String)>,
    /// How far to look, in seconds.
    horizon: u64,
}

const S: u64 = 15;
const E: u64 = 30;
/// Samples before the earliest step: every window (up to 1h) starts full.
const BEFORE: usize = 250;

fn gauge(name: &str, before: f64, after: f64, k: usize) -> (String, String) {
    (name.to_string(), format!("{before}x{} {after}x600", k - 1))
}

/// A counter rising by `before` per sample up to sample k − 1, by `after` from k.
fn counter(name: &str, before: f64, after: f64, k: usize) -> (String, String) {
    let at = (k - 1) as f64 * before;
    (
        name.to_string(),
        format!("0+{before}x{} {}+{after}x600", k - 1, at + after),
    )
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "gauge",
            expr: "node_load1 > 10",
            hold: "1m",
            step: ("crosses", None),
            placed: Placed::Gauge,
            series: |k| vec![gauge("node_load1{instance=\"a\"}", 1.0, 20.0, k)],
            horizon: 600,
        },
        Case {
            name: "scaled gauge ratio joined with an info metric",
            expr: "(node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes * 100 < 10) * on(instance) group_left (nodename) node_uname_info",
            hold: "2m",
            step: ("crosses", None),
            placed: Placed::Gauge,
            series: |k| {
                vec![
                    gauge("node_memory_MemAvailable_bytes{instance=\"a\"}", 50.0, 5.0, k),
                    gauge("node_memory_MemTotal_bytes{instance=\"a\"}", 100.0, 100.0, k),
                    gauge("node_uname_info{instance=\"a\",nodename=\"n\"}", 1.0, 1.0, k),
                ]
            },
            horizon: 600,
        },
        Case {
            name: "error ratio in percent with a traffic guard, 50% errors",
            expr: "sum(rate(errors_total[5m])) / sum(rate(requests_total[5m])) * 100 > 5 and sum(rate(requests_total[5m])) > 1",
            hold: "2m",
            step: ("error_share", Some(0.5)),
            placed: Placed::Counter,
            series: |k| {
                vec![
                    counter("requests_total", 300.0, 300.0, k),
                    counter("errors_total", 0.0, 150.0, k),
                ]
            },
            horizon: 900,
        },
        Case {
            name: "the same at 6% errors (a marginal breach)",
            expr: "sum(rate(errors_total[5m])) / sum(rate(requests_total[5m])) * 100 > 5 and sum(rate(requests_total[5m])) > 1",
            hold: "2m",
            step: ("error_share", Some(0.06)),
            placed: Placed::Counter,
            series: |k| {
                vec![
                    counter("requests_total", 300.0, 300.0, k),
                    counter("errors_total", 0.0, 18.0, k),
                ]
            },
            horizon: 1200,
        },
        Case {
            name: "two burn-rate windows joined with and (constant thresholds)",
            expr: "sum(rate(errors_total[1h])) / sum(rate(requests_total[1h])) > (14.4 * 0.001) and sum(rate(errors_total[5m])) / sum(rate(requests_total[5m])) > (14.4 * 0.001)",
            hold: "2m",
            step: ("error_share", Some(0.144)),
            placed: Placed::Counter,
            series: |k| {
                vec![
                    counter("requests_total", 1000.0, 1000.0, k),
                    counter("errors_total", 0.0, 144.0, k),
                ]
            },
            horizon: 1800,
        },
        Case {
            name: "one increment of a counter (increase > 0, for 0)",
            expr: "increase(oom_kill_total[1m]) > 0",
            hold: "0s",
            step: ("event", None),
            placed: Placed::Counter,
            series: |k| {
                vec![(
                    "oom_kill_total".into(),
                    format!("3x{} 4x600", k - 1),
                )]
            },
            horizon: 600,
        },
        Case {
            name: "one increment with a `for` longer than it shows",
            expr: "increase(oom_kill_total[1m]) > 0",
            hold: "2m",
            step: ("event", None),
            placed: Placed::Counter,
            series: |k| vec![("oom_kill_total".into(), format!("3x{} 4x600", k - 1))],
            horizon: 600,
        },
        Case {
            name: "a counter that stops (rate <= 0)",
            expr: "rate(samples_appended_total[5m]) <= 0",
            hold: "1m",
            step: ("stops", None),
            placed: Placed::Counter,
            series: |k| vec![counter("samples_appended_total", 100.0, 0.0, k)],
            horizon: 900,
        },
        Case {
            name: "a counter falling from ten times the threshold (rate < θ)",
            expr: "sum(rate(orders_total[10m])) < 1",
            hold: "1m",
            step: ("falls_from", Some(10.0)),
            placed: Placed::Counter,
            series: |k| vec![counter("orders_total", 150.0, 0.0, k)],
            horizon: 1500,
        },
        Case {
            name: "time() - x: a timestamp that stops advancing",
            expr: "(time() - backup_last_success_timestamp_seconds) / 60 > 10",
            hold: "1m",
            step: ("stops", None),
            placed: Placed::Exact,
            series: |k| {
                let last = (k - 1) as u64 * S;
                vec![(
                    "backup_last_success_timestamp_seconds".into(),
                    format!("0+{S}x{} {last}x600", k - 1),
                )]
            },
            horizon: 1200,
        },
        Case {
            name: "absent(up == 1) when scrapes fail",
            expr: "absent(up{job=\"a\"} == 1)",
            hold: "1m",
            step: ("scrape_fails", None),
            placed: Placed::Gauge,
            series: |k| vec![gauge("up{job=\"a\",instance=\"x\"}", 1.0, 0.0, k)],
            horizon: 600,
        },
        Case {
            name: "absent(up) without == 1 never fires when scrapes fail",
            expr: "absent(up{job=\"a\"})",
            hold: "1m",
            step: ("scrape_fails", None),
            placed: Placed::Gauge,
            series: |k| vec![gauge("up{job=\"a\",instance=\"x\"}", 1.0, 0.0, k)],
            horizon: 600,
        },
        Case {
            name: "absent() of a series a failed scrape marks stale",
            expr: "(count(redis_instance_info{role=\"master\"}) or vector(0)) < 1",
            hold: "30s",
            step: ("scrape_fails", None),
            placed: Placed::Gauge,
            series: |k| {
                vec![(
                    "redis_instance_info{role=\"master\"}".into(),
                    format!("1x{} stale", k - 1),
                )]
            },
            horizon: 600,
        },
        Case {
            name: "absent_over_time() after the last sample",
            expr: "absent_over_time(heartbeat{job=\"a\"}[5m])",
            hold: "0s",
            step: ("scrape_fails", None),
            placed: Placed::Gauge,
            series: |k| vec![("heartbeat{job=\"a\"}".into(), format!("1x{}", k - 1))],
            horizon: 900,
        },
        Case {
            name: "count of failing targets",
            expr: "count by (job) (up{job=\"a\"} == 0) > 0",
            hold: "1m",
            step: ("scrape_fails", None),
            placed: Placed::Gauge,
            series: |k| vec![gauge("up{job=\"a\",instance=\"x\"}", 1.0, 0.0, k)],
            horizon: 600,
        },
        Case {
            name: "max_over_time: one sample is enough",
            expr: "max_over_time(queue_depth[5m]) > 10",
            hold: "1m",
            step: ("crosses", None),
            placed: Placed::Gauge,
            series: |k| vec![gauge("queue_depth", 1.0, 20.0, k)],
            horizon: 900,
        },
        Case {
            name: "min_over_time: every sample must be past",
            expr: "min_over_time(queue_depth[5m]) > 10",
            hold: "1m",
            step: ("crosses", None),
            placed: Placed::Gauge,
            series: |k| vec![gauge("queue_depth", 1.0, 20.0, k)],
            horizon: 900,
        },
        Case {
            name: "avg_over_time, stepping to ten times the threshold",
            expr: "avg_over_time(probe_duration_seconds[5m]) > 1",
            hold: "1m",
            step: ("rate_multiple", Some(10.0)),
            placed: Placed::Gauge,
            series: |k| vec![gauge("probe_duration_seconds", 0.0, 10.0, k)],
            horizon: 900,
        },
        Case {
            name: "avg_over_time(up) when scrapes fail",
            expr: "avg_over_time(up{job=\"a\"}[10m]) < 0.9",
            hold: "1m",
            step: ("scrape_fails", None),
            placed: Placed::Gauge,
            series: |k| vec![gauge("up{job=\"a\",instance=\"x\"}", 1.0, 0.0, k)],
            horizon: 900,
        },
        Case {
            name: "changes() > 2 of a value changing at every scrape",
            expr: "changes(process_start_time_seconds[15m]) > 2",
            hold: "0s",
            step: ("starts", None),
            placed: Placed::Gauge,
            series: |k| {
                vec![(
                    "process_start_time_seconds".into(),
                    format!("100x{} 200+1x600", k - 1),
                )]
            },
            horizon: 900,
        },
        Case {
            name: "delta() < θ after a level step (it holds while the old sample is in the window)",
            expr: "delta(redis_connected_slaves[5m]) < -5",
            hold: "1m",
            step: ("crosses", None),
            placed: Placed::Gauge,
            series: |k| vec![gauge("redis_connected_slaves", 20.0, 10.0, k)],
            horizon: 900,
        },
        Case {
            name: "deriv() of a gauge starting to rise at ten times the threshold",
            expr: "deriv(temperature_celsius[10m]) > 0.1",
            hold: "0s",
            step: ("rate_multiple", Some(10.0)),
            placed: Placed::Counter,
            series: |k| {
                vec![(
                    "temperature_celsius".into(),
                    format!("20x{} 35+15x600", k - 1),
                )]
            },
            horizon: 1200,
        },
        Case {
            name: "predict_linear() of a disk starting to fill at a pace that fills it in 1h",
            expr: "predict_linear(node_filesystem_avail_bytes[1h], 4 * 3600) < 0 and node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.4",
            hold: "0s",
            step: ("fills_in", Some(3600.0)),
            placed: Placed::Counter,
            series: |k| {
                vec![
                    (
                        "node_filesystem_avail_bytes".into(),
                        format!("3600x{} {}-{S}x600", k - 1, 3600 - S),
                    ),
                    gauge("node_filesystem_size_bytes", 10000.0, 10000.0, k),
                ]
            },
            horizon: 2400,
        },
        Case {
            name: "an `or` of two bounds on one gauge",
            expr: "probe_http_status_code <= 199 or probe_http_status_code >= 400",
            hold: "0s",
            step: ("crosses", None),
            placed: Placed::Gauge,
            series: |k| vec![gauge("probe_http_status_code", 200.0, 0.0, k)],
            horizon: 600,
        },
    ]
}

/// The rule file: one copy of the alert per phase (promtool names the
/// alert, not the test, in what it reports).
fn rule_file(case: &Case, phases: usize) -> String {
    let mut rules = String::from("groups:\n  - name: g\n    rules:\n");
    for phase in 0..phases {
        writeln!(
            rules,
            "      - alert: P{phase}\n        expr: '{}'\n        for: {}",
            case.expr.replace('\'', "''"),
            case.hold
        )
        .unwrap();
    }
    rules
}

/// One test per phase: the step at sample BEFORE + phase; an empty
/// expectation at every evaluation, so promtool reports each firing one.
fn test_file(case: &Case, phases: usize) -> String {
    let mut test = format!("rule_files: [rules.yaml]\nevaluation_interval: {E}s\ntests:\n");
    for phase in 0..phases {
        let k = BEFORE + phase;
        writeln!(test, "  - interval: {S}s\n    input_series:").unwrap();
        for (series, values) in (case.series)(k) {
            writeln!(
                test,
                "      - series: '{series}'\n        values: '{values}'"
            )
            .unwrap();
        }
        writeln!(test, "    alert_rule_test:").unwrap();
        let mut t = 0;
        while t <= (k as u64) * S + case.horizon {
            writeln!(
                test,
                "      - {{ eval_time: {t}s, alertname: P{phase}, exp_alerts: [] }}"
            )
            .unwrap();
            t += E;
        }
    }
    test
}

/// The first time each phase's alert fires, from promtool's report.
fn first_firing(report: &str, phases: usize) -> Vec<Option<f64>> {
    let mut first = vec![None; phases];
    for line in report.lines() {
        let Some(rest) = line.trim().strip_prefix("alertname: P") else {
            continue;
        };
        let (phase, rest) = rest.split_once(',').expect("alertname: Pn, time: …");
        let phase: usize = phase.parse().unwrap();
        let time = rest
            .trim()
            .strip_prefix("time: ")
            .and_then(|t| t.split(',').next())
            .expect("a time");
        let seconds = promql_parser::util::parse_duration(time.trim())
            .unwrap()
            .as_secs_f64();
        if first[phase].is_none_or(|f: f64| seconds < f) {
            first[phase] = Some(seconds);
        }
    }
    first
}

/// `rules check`'s timing of the case's step: (best, worst) to firing, or None.
fn computed(dir: &std::path::Path, case: &Case) -> Option<(f64, f64)> {
    let rules = dir.join("rules.yaml");
    let out = support::firedrill(&[
        "rules",
        "check",
        "--json",
        "--scrape-interval",
        &format!("{S}s"),
        "--evaluation-interval",
        &format!("{E}s"),
        rules.to_str().unwrap(),
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: {}",
            case.name,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let alert = &report["alerts"][0];
    let timing = alert["timings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            t["step"]["step"] == case.step.0
                && case
                    .step
                    .1
                    .is_none_or(|v| (t["step"]["value"].as_f64().unwrap() - v).abs() < 1e-9)
        })
        .unwrap_or_else(|| panic!("{}: no timing for {:?}: {alert:#}", case.name, case.step.0));
    let firing = &timing["firing"];
    (!firing.is_null()).then(|| {
        (
            firing["best_seconds"].as_f64().unwrap(),
            firing["worst_seconds"].as_f64().unwrap(),
        )
    })
}

#[test]
fn the_timing_model_agrees_with_prometheus_rule_engine() {
    let promtool =
        firedrill::env::find_binary("FIREDRILL_PROMTOOL", "promtool").unwrap_or_else(|| {
            panic!("this test needs promtool: `sudo apt-get install prometheus` ships it")
        });
    // Every phase of a step against the evaluation ticks.
    let phases = (E / S) as usize;
    let mut problems = Vec::new();
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rules.yaml"), rule_file(&case, phases)).unwrap();
        std::fs::write(dir.path().join("test.yaml"), test_file(&case, phases)).unwrap();
        let out = std::process::Command::new(&promtool)
            .args(["test", "rules", "test.yaml"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !report.contains("error") || report.contains("FAILED"),
            "{}: promtool could not run the test: {report}",
            case.name
        );
        let measured = first_firing(&report, phases);
        let bounds = computed(dir.path(), &case);
        for (phase, fired) in measured.iter().enumerate() {
            let k = (BEFORE + phase) as f64;
            let verdict = match (bounds, fired) {
                (None, None) => continue,
                (None, Some(t)) => Some(format!("computed never, fired at {t}s")),
                (Some(_), None) => Some("computed a time, never fired".to_string()),
                (Some((best, worst)), Some(t)) => {
                    let s = S as f64;
                    let (low, high) = match case.placed {
                        // Made at any instant in the S before sample k.
                        Placed::Gauge => (t - k * s, t - k * s + s),
                        Placed::Counter | Placed::Exact => (t - (k - 1.0) * s, t - (k - 1.0) * s),
                    };
                    eprintln!(
                        "{}: phase {phase}: fired {low}s–{high}s after the step, computed {best}s–{worst}s",
                        case.name
                    );
                    (low < best - 1e-6 || high > worst + 1e-6).then(|| {
                        format!("fired {low}s–{high}s after the step, outside {best}s–{worst}s")
                    })
                }
            };
            if let Some(verdict) = verdict {
                problems.push(format!("{} (phase {phase}): {verdict}", case.name));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
