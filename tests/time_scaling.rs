//! Thresholds under time scaling, checked by Prometheus's own rule engine
//! (`promtool test rules`), function by function: a rule as written, on a
//! production series, and the same rule as a compressed drill runs it
//! (`rules::scale_rules`), on the series the drill's traffic makes — ten
//! times as fast, or as written with `scale_rates: false` — decide the same
//! way. Each case has a threshold just under the production value and one
//! just over it, so a rewrite that scaled wrongly (or not at all) fires on
//! one side and stays silent on the other.
//!
//! The README's "Time" section is the table these cases prove.

use std::process::Command;
use std::time::Duration;

use firedrill::plan::Pace;
use firedrill::rules::{self, Group, RuleDef};

/// The time scale of every case.
const SCALE: f64 = 10.0;

/// One function's case: the expression (`{}` is the threshold), the
/// threshold that must fire and the one that must not, and the series as
/// production writes them (every 15s) and as a drill does (every 1.5s),
/// rates scaled and kept. Values use promtool's `a+bxN` notation.
struct Case {
    name: &'static str,
    expr: &'static str,
    fires: f64,
    silent: f64,
    production: &'static str,
    scaled: &'static str,
    /// None: with rates as written, no rewrite is sound (reported).
    kept: Option<&'static str>,
}

const CASES: &[Case] = &[
    // A counter at 20/s: rate 20, as production; the drill's 200/s reads
    // rate 200, so the threshold is ×10 with rates scaled.
    Case {
        name: "rate",
        expr: "rate(c_total[5m]) > {}",
        fires: 19.0,
        silent: 21.0,
        production: "0+300x100",
        scaled: "0+300x100",
        kept: Some("0+30x100"),
    },
    Case {
        name: "irate",
        expr: "irate(c_total[5m]) > {}",
        fires: 19.0,
        silent: 21.0,
        production: "0+300x100",
        scaled: "0+300x100",
        kept: Some("0+30x100"),
    },
    // 6000 over the window: the same count in a compressed window when
    // rates are scaled, a tenth of it when they are not.
    Case {
        name: "increase",
        expr: "increase(c_total[5m]) > {}",
        fires: 5700.0,
        silent: 6300.0,
        production: "0+300x100",
        scaled: "0+300x100",
        kept: Some("0+30x100"),
    },
    // A gauge rising 1 per second: a slope driven by the traffic.
    Case {
        name: "deriv",
        expr: "deriv(g[5m]) > {}",
        fires: 0.9,
        silent: 1.1,
        production: "0+15x100",
        scaled: "0+15x100",
        kept: Some("0+1.5x100"),
    },
    Case {
        name: "delta",
        expr: "delta(g[5m]) > {}",
        fires: 280.0,
        silent: 320.0,
        production: "0+15x100",
        scaled: "0+15x100",
        kept: Some("0+1.5x100"),
    },
    Case {
        name: "idelta",
        expr: "idelta(g[5m]) > {}",
        fires: 14.0,
        silent: 16.0,
        production: "0+15x100",
        scaled: "0+15x100",
        kept: Some("0+1.5x100"),
    },
    // A gauge at 8000 falling 1/s: in an hour, 8000 − 3600 − the time it
    // has fallen already. Its horizon (a duration) is divided; with rates
    // as written, level and change read differently: reported, not run.
    Case {
        name: "predict_linear",
        expr: "predict_linear(g[5m], 3600) < {}",
        fires: 4000.0,
        silent: 3600.0,
        production: "8000-15x100",
        scaled: "8000-15x100",
        kept: None,
    },
    // A value that changes at every sample: 20 changes in a window of 20
    // samples, compressed or not (the scrape interval is scaled too).
    Case {
        name: "changes",
        expr: "changes(g[5m]) > {}",
        fires: 15.0,
        silent: 21.0,
        production: "0+1x100",
        scaled: "0+1x100",
        kept: None,
    },
    // A counter restarted every minute: 5 resets in 5m.
    Case {
        name: "resets",
        expr: "resets(c_total[5m]) > {}",
        fires: 3.0,
        silent: 6.0,
        production: "0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3",
        scaled: "0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3",
        kept: None,
    },
    // A timestamp 10 minutes old: an age, divided like every duration.
    Case {
        name: "time() - x",
        expr: "time() - last_success_timestamp_seconds > {}",
        fires: 500.0,
        silent: 700.0,
        production: "-600+15x100",
        scaled: "-60+1.5x100",
        kept: Some("-60+1.5x100"),
    },
    // Gauges' levels, over windows: read as they are.
    Case {
        name: "avg_over_time",
        expr: "avg_over_time(g[5m]) > {}",
        fires: 45.0,
        silent: 55.0,
        production: "50+0x100",
        scaled: "50+0x100",
        kept: Some("50+0x100"),
    },
    Case {
        name: "max_over_time",
        expr: "max_over_time(g[5m]) >= {}",
        fires: 50.0,
        silent: 51.0,
        production: "50+0x100",
        scaled: "50+0x100",
        kept: Some("50+0x100"),
    },
    // As many samples in a compressed window: the scrape interval is
    // scaled with it.
    Case {
        name: "count_over_time",
        expr: "count_over_time(g[5m]) > {}",
        fires: 15.0,
        silent: 25.0,
        production: "50+0x100",
        scaled: "50+0x100",
        kept: Some("50+0x100"),
    },
];

fn promtool() -> std::path::PathBuf {
    firedrill::env::find_binary("FIREDRILL_PROMTOOL", "promtool").unwrap_or_else(|| {
        panic!("this test needs promtool: `sudo apt-get install prometheus` (it ships promtool)")
    })
}

fn group(expr: &str) -> Group {
    Group {
        name: "case".into(),
        interval: Some("15s".into()),
        limit: None,
        rules: vec![RuleDef {
            alert: Some("A".into()),
            record: None,
            expr: expr.into(),
            for_: None,
            keep_firing_for: None,
            labels: Default::default(),
            annotations: Default::default(),
        }],
    }
}

/// Whether promtool agrees that `rule` fires (or not) at `at`, on `values`
/// of the case's series sampled every `interval`.
fn decides(rule: Group, series: &str, values: &str, interval: &str, at: &str, fires: bool) -> bool {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.yaml"),
        rules::render_rule_file(vec![rule]).unwrap(),
    )
    .unwrap();
    let expected = if fires { "[{exp_labels: {}}]" } else { "[]" };
    std::fs::write(
        dir.path().join("test.yaml"),
        format!(
            "rule_files: [rules.yaml]\nevaluation_interval: {interval}\ntests:\n  - interval: {interval}\n    \
             input_series:\n      - series: '{series}'\n        values: '{values}'\n    \
             alert_rule_test:\n      - eval_time: {at}\n        alertname: A\n        exp_alerts: {expected}\n"
        ),
    )
    .unwrap();
    let out = Command::new(promtool())
        .args(["test", "rules", "test.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    out.status.success()
}

/// The case's rule with its threshold, as written or as the drill runs it.
fn rule(case: &Case, threshold: f64, pace: Option<Pace>) -> Group {
    let written = group(&case.expr.replace("{}", &threshold.to_string()));
    match pace {
        None => written,
        Some(pace) => {
            let scaled = rules::scale_rules(&[written], pace, Duration::from_secs(15)).unwrap();
            assert!(
                scaled.adjustments.iter().all(|a| !a.is_unsound()),
                "{}: {:?}",
                case.name,
                scaled.adjustments
            );
            scaled.groups.into_iter().next().unwrap()
        }
    }
}

fn series_name(case: &Case) -> &'static str {
    if case.expr.contains("c_total") {
        "c_total"
    } else if case.expr.contains("last_success_timestamp_seconds") {
        "last_success_timestamp_seconds"
    } else {
        "g"
    }
}

#[test]
fn every_function_decides_in_a_compressed_drill_as_in_production() {
    for case in CASES {
        let name = series_name(case);
        for (threshold, fires) in [(case.fires, true), (case.silent, false)] {
            assert!(
                decides(
                    rule(case, threshold, None),
                    name,
                    case.production,
                    "15s",
                    "10m",
                    fires
                ),
                "{}: production at threshold {threshold} should {}fire",
                case.name,
                if fires { "" } else { "not " }
            );
            let drills = [
                (Pace::new(SCALE, true), Some(case.scaled)),
                (Pace::new(SCALE, false), case.kept),
            ];
            for (pace, values) in drills {
                let Some(values) = values else { continue };
                let drill = rule(case, threshold, Some(pace));
                assert!(
                    decides(drill.clone(), name, values, "1500ms", "1m", fires),
                    "{} (rates scaled: {}): the drill's `{}` should {}fire, as production's does",
                    case.name,
                    pace.rates_scaled,
                    drill.rules[0].expr,
                    if fires { "" } else { "not " }
                );
            }
        }
    }
}

#[test]
fn a_threshold_no_rewrite_makes_sound_is_reported_not_guessed() {
    let scaled = |expr: &str, rates_scaled: bool| {
        rules::scale_rules(
            &[group(expr)],
            Pace::new(SCALE, rates_scaled),
            Duration::from_secs(15),
        )
        .unwrap()
    };
    for (expr, rates_scaled) in [
        ("rate(c_total[5m]) > queue_capacity", true),
        ("rate(cpu_seconds_total[5m]) / cpu_quota > 0.9", true),
        ("predict_linear(g[5m], 3600) < 0", false),
        ("changes(g[5m]) > 15", false),
    ] {
        let result = scaled(expr, rates_scaled);
        let unsound: Vec<_> = result
            .adjustments
            .iter()
            .filter(|a| a.is_unsound())
            .collect();
        // `changes` with rates as written is scaled (a count over a window),
        // not unsound; the others are left as written.
        if expr.starts_with("changes") {
            assert!(unsound.is_empty(), "{expr}: {:?}", result.adjustments);
            continue;
        }
        assert_eq!(unsound.len(), 1, "{expr}: {:?}", result.adjustments);
        assert!(
            unsound[0].text().contains("left as written"),
            "{}",
            unsound[0].text()
        );
    }
}

#[test]
fn the_shipped_rules_pass_promtool_after_their_thresholds_are_scaled() {
    let groups: Vec<Group> = rules::shipped_rules()
        .unwrap()
        .into_iter()
        .flat_map(|l| l.groups)
        .collect();
    let scaled =
        rules::scale_rules(&groups, Pace::new(SCALE, true), Duration::from_secs(30)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yml");
    std::fs::write(&path, rules::render_rule_file(scaled.groups).unwrap()).unwrap();
    let out = Command::new(promtool())
        .args(["check", "rules"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Ratios, latencies and levels are as written; the CPU alert holds a
    // rate against a quota, which no clock compresses: said, not guessed.
    let texts: Vec<String> = scaled.adjustments.iter().map(|a| a.text()).collect();
    assert_eq!(texts.len(), 1, "{texts:#?}");
    assert!(
        texts[0].contains("HighCPUUsage") && texts[0].contains("capacity"),
        "{texts:#?}"
    );
}
