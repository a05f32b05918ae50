//! `firedrill rules sweep`: when burn-rate and threshold alerts fire across
//! sizes of fault, computed by Prometheus 2.42's rule engine through
//! `promtool test rules` (recording rules included), checked against the
//! SRE Workbook's arithmetic — an alert on burn rate b over window W, at
//! error ratio e, holds after W·b·(1−SLO)/e — and against firedrill's own
//! timing model, which must agree within an evaluation and a scrape.
//!
//! The fixtures are ours, written in the forms Sloth and Pyrra generate
//! (`tests/rules-fixtures/slo/`): 99.9% over 30 days (Sloth: 14.4× over 1h
//! and 5m or 6× over 6h and 30m pages, 3× over 1d and 2h or 1× over 3d and
//! 6h tickets) and over 28 days (Pyrra: 14×, 7×, 2×, 1×, each with `for`).

use crate::support;

use serde_json::Value;

fn require_promtool() {
    assert!(
        firedrill::env::find_binary("FIREDRILL_PROMTOOL", "promtool").is_some(),
        "this test needs promtool: `sudo apt-get install prometheus` ships it"
    );
}

fn sweep(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["rules", "sweep", "--json"];
    all.extend_from_slice(args);
    let out = support::firedrill(&all);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

fn alert<'a>(report: &'a Value, name: &str, label: (&str, &str)) -> &'a Value {
    report["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["alert"] == name && a["labels"][label.0] == label.1)
        .unwrap_or_else(|| panic!("no {name} {label:?} in {report:#}"))
}

/// The step row at `ratio`.
fn step_row(alert: &Value, ratio: f64) -> &Value {
    alert["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["case"]["shape"] == "step"
                && (r["case"]["error_ratio"].as_f64().unwrap() - ratio).abs() < 1e-9
        })
        .unwrap_or_else(|| panic!("no step row at {ratio}"))
}

/// (best, worst) of a span, if there is one.
fn span(span: &Value) -> Option<(f64, f64)> {
    (!span.is_null()).then(|| {
        (
            span["best_seconds"].as_f64().unwrap(),
            span["worst_seconds"].as_f64().unwrap(),
        )
    })
}

/// promtool's firing span for a step to `ratio`, if it fired.
fn step_firing(alert: &Value, ratio: f64) -> Option<(f64, f64)> {
    span(&step_row(alert, ratio)["firing"])
}

/// The timing model's firing bounds for the same step.
fn model_firing(alert: &Value, ratio: f64) -> Option<(f64, f64)> {
    span(&step_row(alert, ratio)["model"]["firing"])
}

/// W·b·(1−SLO)/e, the later of the two windows of a pair, the sooner of
/// the pairs that can fire.
fn workbook(pairs: &[(f64, f64, f64)], objective: f64, e: f64) -> Option<f64> {
    pairs
        .iter()
        .filter(|(_, _, b)| e > b * (1.0 - objective))
        .map(|(long, short, b)| {
            (long * b * (1.0 - objective) / e).max(short * b * (1.0 - objective) / e)
        })
        .reduce(f64::min)
}

const H: f64 = 3600.0;
const SLOTH_OBJECTIVE: f64 = 1.0 - 0.0009999999999999432;
const D: f64 = 86_400.0;

#[test]
fn sloth_burn_rate_alerts_fire_when_the_workbook_says() {
    require_promtool();
    let (code, report) = sweep(&[
        "tests/rules-fixtures/slo/sloth.yaml",
        "--scrape-interval",
        "30s",
        "--evaluation-interval",
        "30s",
        "--error-ratios",
        "100%,10%,2%,1%,0.5%,0.1%",
        "--bursts",
        "5m",
    ]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["engine"], "promtool");
    let (e, s) = (30.0, 30.0);
    let page = alert(
        &report,
        "MyServiceHighErrorRate",
        ("sloth_severity", "page"),
    );
    let ticket = alert(
        &report,
        "MyServiceHighErrorRate",
        ("sloth_severity", "ticket"),
    );
    // The SLO comes from Sloth's metadata rules.
    assert!((page["slo"]["objective"].as_f64().unwrap() - 0.999).abs() < 1e-9);
    assert_eq!(page["slo"]["period_seconds"].as_f64(), Some(30.0 * D));
    let pairs_page = [(H, 300.0, 14.4), (6.0 * H, 1800.0, 6.0)];
    let pairs_ticket = [(D, 2.0 * H, 3.0), (3.0 * D, 6.0 * H, 1.0)];
    let mut checked = 0;
    for (alert, pairs) in [(page, &pairs_page[..]), (ticket, &pairs_ticket[..])] {
        for ratio in [1.0, 0.1, 0.02, 0.01, 0.005, 0.001] {
            // Sloth writes the budget as 0.0009999999999999432 (1 − 0.999 in
            // floating point): 0.1% errors exceed it, just.
            let expected = workbook(pairs, SLOTH_OBJECTIVE, ratio)
                .filter(|t| *t < alert["horizon_seconds"].as_f64().unwrap());
            let measured = step_firing(alert, ratio);
            match (expected, measured) {
                (None, None) => {}
                (Some(t), Some((best, worst))) => {
                    // The crossing, then the next scrape and evaluation (and
                    // the recording rules' group, evaluated apart).
                    assert!(
                        best >= t - s && worst <= t + 2.0 * e + s,
                        "{} at {ratio}: promtool {best}–{worst}, the Workbook {t}",
                        alert["labels"]["sloth_severity"]
                    );
                    checked += 1;
                }
                other => panic!(
                    "{} at {ratio}: {other:?}",
                    alert["labels"]["sloth_severity"]
                ),
            }
            // The timing model (what `rules check` prints) agrees with
            // promtool within an evaluation and a scrape; its own worst case
            // adds the recording rules' group interval.
            match (model_firing(alert, ratio), measured) {
                (None, None) => {}
                (Some((m_best, m_worst)), Some((best, worst))) => assert!(
                    best >= m_best - e - s
                        && worst <= m_worst + e + s
                        && m_worst <= best + 2.0 * e + 2.0 * s,
                    "model {m_best}–{m_worst}, promtool {best}–{worst}"
                ),
                (model, measured)
                    if workbook(pairs, SLOTH_OBJECTIVE, ratio)
                        .is_some_and(|t| t >= alert["horizon_seconds"].as_f64().unwrap()) =>
                {
                    assert!(measured.is_none(), "{model:?} {measured:?}")
                }
                other => panic!("model and promtool disagree at {ratio}: {other:?}"),
            }
        }
    }
    assert!(checked >= 8, "{checked}");
    // The Workbook's examples: a step to 100% pages after ≈52 s, to 10%
    // after ≈8m38s, to 2% after ≈43m, to 1% (via 6×) after ≈3h36m.
    let (best, _) = step_firing(page, 1.0).unwrap();
    assert!((51.84..=51.84 + 60.0).contains(&best));
    let (best, _) = step_firing(page, 0.01).unwrap();
    assert!((12_960.0 - 30.0..=12_960.0 + 60.0).contains(&best));
    assert!(
        report["notes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| !n.as_str().unwrap().contains("disagree")),
        "{:#}",
        report["notes"]
    );
    // A five-minute burst of 100% pages, and is over well inside an hour.
    let burst = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["case"]["shape"] == "burst" && r["case"]["error_ratio"] == 1.0)
        .unwrap();
    assert!(!burst["firing"].is_null());
    assert!(
        burst["resolved_after_end"]["worst_seconds"]
            .as_f64()
            .unwrap()
            < H
    );
    // Precision and recall: no page on a fault that spends nothing of note.
    assert_eq!(page["scores"]["false_alarms"], 0);
    assert!(page["scores"]["recall"].as_f64().unwrap() > 0.5);
}

#[test]
fn pyrra_burn_rate_alerts_follow_their_own_factors_and_for() {
    require_promtool();
    let (code, report) = sweep(&[
        "tests/rules-fixtures/slo/pyrra.yaml",
        "--scrape-interval",
        "30s",
        "--error-ratios",
        "100%,10%,2%",
        "--bursts",
        "",
    ]);
    assert_eq!(code, 0, "{report:#}");
    let (e, s) = (30.0, 30.0);
    for (long, short, factor, hold) in [
        ("1h", "5m", 14.0, 120.0),
        ("6h", "30m", 7.0, 900.0),
        ("1d", "2h", 2.0, 3600.0),
    ] {
        let alert = alert(&report, "ErrorBudgetBurn", ("long", long));
        assert_eq!(alert["labels"]["short"], short);
        assert_eq!(alert["for_seconds"].as_f64(), Some(hold));
        assert!(
            alert["slo"]["from"]
                .as_str()
                .unwrap()
                .contains("pyrra_objective"),
            "{alert:#}"
        );
        let w = promql_parser::util::parse_duration(long)
            .unwrap()
            .as_secs_f64();
        for ratio in [1.0, 0.1, 0.02] {
            let t = w * factor * 0.001 / ratio;
            match step_firing(alert, ratio) {
                Some((best, worst)) => assert!(
                    best >= t + hold - s && worst <= t + hold + e + s,
                    "{long} at {ratio}: promtool {best}–{worst}, expected {t} + for {hold}"
                ),
                None => assert!(
                    t + hold > alert["horizon_seconds"].as_f64().unwrap()
                        || ratio <= factor * 0.001,
                    "{long} at {ratio} never fired"
                ),
            }
        }
    }
}

#[test]
fn the_seeds_self_dividing_ratio_fires_far_below_its_threshold_and_the_fixed_rule_does_not() {
    require_promtool();
    let args = |file: &'static str| {
        vec![
            file,
            "--alert",
            "GatewayHighErrorRate",
            "--scrape-interval",
            "15s",
            "--evaluation-interval",
            "30s",
            "--error-ratios",
            "50%,2%",
            "--bursts",
            "",
            "--objective",
            "99.9%",
        ]
    };
    let (_, seed) = sweep(&args("scenarios/rules/seed-alerts.yaml"));
    let seed_alert = alert(&seed, "GatewayHighErrorRate", ("severity", "warning"));
    // Its ratio is 1 whenever a 5xx exists: 2% fires like 50%, after `for`.
    let (best, worst) = step_firing(seed_alert, 0.02).expect("the seed's rule fires at 2%");
    assert!(best >= 120.0 && worst < 240.0, "{best}–{worst}");
    let (_, fixed) = sweep(&args("k8s/monitoring/prometheus-rules.yaml"));
    let fixed_alert = alert(&fixed, "GatewayHighErrorRate", ("severity", "warning"));
    assert!(step_firing(fixed_alert, 0.02).is_none());
    assert!(step_firing(fixed_alert, 0.5).is_some());
}

/// The search (a grid of evaluations, bisected where answers differ, the
/// other alignments searched around the first's changes) against promtool
/// asked about every evaluation of every alignment (`--thorough`), on a
/// small case: the same rows, and each says what computed it.
#[test]
fn the_search_gives_the_answers_of_probing_every_evaluation() {
    require_promtool();
    let args = [
        "k8s/monitoring/prometheus-rules.yaml",
        "--alert",
        "GatewayHighErrorRate",
        "--scrape-interval",
        "15s",
        "--evaluation-interval",
        "30s",
        "--error-ratios",
        "50%,6%,4%",
        "--bursts",
        "5m",
        "--horizon",
        "30m",
        "--objective",
        "99%",
    ];
    let (_, searched) = sweep(&args);
    let mut thorough_args = args.to_vec();
    thorough_args.push("--thorough");
    let (_, every) = sweep(&thorough_args);
    let without_source = |report: &Value, source: &str| -> Value {
        let mut alerts = report["alerts"].clone();
        for alert in alerts.as_array_mut().unwrap() {
            let rows = alert["rows"].as_array_mut().unwrap();
            assert!(!rows.is_empty(), "{alert:#}");
            for row in rows {
                assert_eq!(row["computed_by"], source, "{row:#}");
                row.as_object_mut().unwrap().remove("computed_by");
            }
        }
        alerts
    };
    assert_eq!(
        without_source(&searched, "search"),
        without_source(&every, "every_evaluation")
    );
    assert!(
        searched["probes"].as_u64().unwrap() * 3 < every["probes"].as_u64().unwrap(),
        "{} searched, {} every",
        searched["probes"],
        every["probes"]
    );
    // Without promtool's answers, each row says it is the model's.
    let mut model_args = args.to_vec();
    model_args.push("--model-only");
    let (_, model) = sweep(&model_args);
    for row in model["alerts"][0]["rows"].as_array().unwrap() {
        let step = row["case"]["shape"] == "step";
        assert_eq!(
            row["computed_by"],
            if step { "model" } else { "nothing" },
            "{row:#}"
        );
    }
}

#[test]
fn the_html_page_draws_each_alert_and_the_budget_lines() {
    require_promtool();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("sweep.html");
    let out = support::firedrill(&[
        "rules",
        "sweep",
        "tests/rules-fixtures/slo/sloth.yaml",
        "--scrape-interval",
        "30s",
        "--evaluation-interval",
        "30s",
        "--error-ratios",
        "100%,10%,1%",
        "--bursts",
        "",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("SLO 99.9% over 30d"), "{table}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("<polyline").count(), 2, "one line per alert");
    for share in ["2.0% of budget", "5.0% of budget", "10% of budget"] {
        assert!(html.contains(share), "{share}");
    }
    assert!(!html.contains("<script"), "no script, no CDN");
}

/// `rules check` reads the burn-rate alerts through their recording rules
/// (it printed "a condition the timing model does not know" before).
#[test]
fn rules_check_times_sloth_and_pyrra_alerts_through_their_recording_rules() {
    for (file, alerts) in [
        ("tests/rules-fixtures/slo/sloth.yaml", 2),
        ("tests/rules-fixtures/slo/pyrra.yaml", 4),
    ] {
        let out = support::firedrill(&["rules", "check", "--json", file]);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["coverage"]["alerts"], alerts, "{file}");
        assert_eq!(report["coverage"]["timed"], alerts, "{report:#}");
        assert!(report["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["shape"]["shape"] == "or" || a["shape"]["shape"] == "and"));
    }
}
