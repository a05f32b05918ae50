//! SLO burn-rate alerts in a drill (`scenarios/slo-burn.yaml`, the
//! gateway's Sloth-form rules, time-compressed ten-fold): a trickle below
//! the objective pages nobody, a fast burn pages — and when it does agrees
//! with what Prometheus's rule engine predicted for this drill's own
//! timeline (`rules sweep` with the drill's history), shown beside the
//! production figure (windows full of healthy traffic: the Workbook's
//! W·b·(1−SLO)/e, 1h·14.4·0.001/20% ≈ 4m19s, plus scrape, evaluation and
//! the recording rules' group).

use crate::support;

#[test]
fn a_fast_burn_pages_when_the_rule_engine_predicts_and_a_trickle_pages_nobody() {
    support::require_prometheus();
    assert!(
        firedrill::env::find_binary("FIREDRILL_PROMTOOL", "promtool").is_some(),
        "this test needs promtool: `sudo apt-get install prometheus` ships it"
    );
    let run = support::run_scenario("scenarios/slo-burn.yaml", &["--quiet"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    for silent in ["checks[0]", "checks[1]"] {
        assert_eq!(run.status_of(silent), "pass", "{silent}");
    }
    let page = run.verdict("checks[3]");
    assert_eq!(page["status"], "pass", "{page:#}");
    let measured = page["evidence"]["time_to_fire_seconds"].as_f64().unwrap();
    let predicted = &page["evidence"]["predicted"];
    let (best, worst) = (
        predicted["drill"]["best_seconds"].as_f64().unwrap(),
        predicted["drill"]["worst_seconds"].as_f64().unwrap(),
    );
    // The prediction probes 32 phases of scrapes and evaluations; the drill
    // ran at one of them, or between two: one scaled scrape (1.5s) of slack.
    assert!(
        measured >= best - 1.5 && measured <= worst + 1.5,
        "measured {measured}s, predicted {best}–{worst}s"
    );
    // In production the 1h window holds an hour of healthy traffic.
    let production = &predicted["production"];
    let (p_best, p_worst) = (
        production["best_seconds"].as_f64().unwrap(),
        production["worst_seconds"].as_f64().unwrap(),
    );
    let workbook = 3600.0 * 14.4 * 0.001 / 0.2;
    assert!(
        p_best >= workbook - 15.0 && p_worst <= workbook + 15.0 + 30.0 + 30.0,
        "{p_best}–{p_worst} against {workbook}"
    );
    assert!(page["summary"]
        .as_str()
        .unwrap()
        .contains("Prometheus's rule engine predicted"));
    assert_eq!(run.report()["predictions"].as_array().unwrap().len(), 1);
    // The report's other renderings carry it too.
    assert!(run
        .file("summary.md")
        .contains("in production, with windows full of healthy traffic"));
}
