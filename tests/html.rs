//! The HTML report, opened in headless Chromium as a reviewer would open it:
//! no console errors, and the charts and the alert timeline drawn from the
//! data (elements present and non-empty), for a passing run and for a run
//! that never started.

use std::path::Path;
use std::process::Command;

use crate::support::scenario::{Phase, Scenario};
use crate::support::{self, firedrill};

/// Renders `report.json` to HTML with `firedrill report`, loads it in headless
/// Chromium, and returns the DOM after the page's scripts ran and the
/// console messages it logged.
fn open_in_chromium(report_json: &Path) -> (String, Vec<String>) {
    let out = tempfile::tempdir().unwrap();
    let rendered = firedrill(&[
        "report",
        report_json.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(
        out.path().join("report.html").is_file(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let chromium =
        firedrill::env::find_binary("FIREDRILL_CHROMIUM", "chromium").unwrap_or_else(|| {
            panic!("this test needs headless Chromium: `sudo apt-get install chromium`")
        });
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!(
            "file://{}",
            out.path().join("report.html").display()
        ))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    let console = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .map(str::to_string)
        .collect();
    (dom, console)
}

/// The part of the DOM inside the element with this id (up to the next
/// element with an id at the same level: enough to count marks in a chart).
fn element<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the page"));
    let rest = &dom[start..];
    let end = rest
        .find("</figure>")
        .or_else(|| rest.find("</table>"))
        .unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn the_example_report_renders_its_charts_and_timeline_without_errors() {
    let report = support::repo().join("reports/example/report.json");
    let (dom, console) = open_in_chromium(&report);
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(
        dom.contains("data-render=\"ok\""),
        "the page did not finish rendering"
    );
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();

    let checks = data["verdicts"].as_array().unwrap().len();
    assert_eq!(
        element(&dom, "checks-table")
            .matches("class=\"check-row")
            .count(),
        checks
    );
    assert!(element(&dom, "verdict").contains("PASS"));

    let seconds: usize = data["observations"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["stats"]["series"].as_array().unwrap().len())
        .sum();
    let requests = element(&dom, "chart-requests");
    assert_eq!(
        requests.matches("class=\"bar\"").count(),
        seconds,
        "one bar per second"
    );
    assert_eq!(
        requests.matches("class=\"band").count(),
        3,
        "one band per phase"
    );

    let latency = element(&dom, "chart-latency");
    assert!(
        latency.matches("<path").count() >= 5,
        "p50/p95/p99 and Prometheus P95/P99 lines"
    );

    let timeline = element(&dom, "chart-timeline");
    assert!(timeline.contains("episode-pending") && timeline.contains("episode-firing"));
    assert_eq!(
        timeline.matches("class=\"fault-marker").count(),
        2,
        "the fault's start and end"
    );
    assert_eq!(
        timeline.matches("class=\"deadline deadline-pass").count(),
        3,
        "three deadline checks"
    );

    let distribution = element(&dom, "chart-distribution");
    assert_eq!(
        distribution.matches("class=\"percentile-line").count(),
        3,
        "one curve per phase"
    );
    assert!(!dom.contains("class=\"no-data\""), "every chart has data");
}

#[test]
fn a_run_that_never_started_still_renders_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::new("nowhere")
        .target_url("http://127.0.0.1:9")
        .prometheus_url("http://127.0.0.1:9")
        .phase(Phase::new("a").duration("1s"))
        .check("{ alert: A, silent_during: a }")
        .write(&dir.path().join("nowhere.yaml"));
    let out = dir.path().join("out");
    let run = firedrill(&["run", &scenario, "--out", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(3));
    let (dom, console) = open_in_chromium(&out.join("report.json"));
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(dom.contains("data-render=\"ok\""));
    assert!(element(&dom, "run-banner").contains("ABORTED"));
    assert!(element(&dom, "verdict").contains("INCONCLUSIVE"));
    for chart in [
        "chart-requests",
        "chart-latency",
        "chart-timeline",
        "chart-distribution",
    ] {
        assert!(
            element(&dom, chart).contains("<svg"),
            "{chart} is drawn, empty"
        );
    }
}

#[test]
fn an_interrupted_run_says_where_it_stopped_and_which_windows_were_complete() {
    // The example run, as if a signal had come during `recovery`: its first
    // check judged on a complete window, its resolution left open.
    let example = support::repo().join("reports/example/report.json");
    let mut data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example).unwrap()).unwrap();
    data["status"] = serde_json::json!({
        "status": "interrupted", "reason": "stopped by a signal during phase `recovery`"
    });
    data["verdict"] = "inconclusive".into();
    data["exit_code"] = 3.into();
    data["observations"]["phases"][2]["cut_short"] = true.into();
    let verdicts = data["verdicts"].as_array_mut().unwrap();
    for verdict in verdicts.iter_mut() {
        verdict["window"] = serde_json::json!({ "state": "complete" });
    }
    let resolves = verdicts
        .iter_mut()
        .find(|v| v["kind"] == "resolves_within")
        .unwrap();
    resolves["status"] = "inconclusive".into();
    resolves["window"] = serde_json::json!({
        "state": "open", "needed": "its deadline came after observation ended"
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    std::fs::write(&path, serde_json::to_string(&data).unwrap()).unwrap();

    let (dom, console) = open_in_chromium(&path);
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(dom.contains("data-render=\"ok\""));
    assert!(element(&dom, "run-banner").contains("INTERRUPTED"));
    let tally = element(&dom, "tally");
    assert!(
        tally.contains("interrupted during <code>recovery</code>"),
        "{tally}"
    );
    let checks = element(&dom, "checks-table");
    let count = data["verdicts"].as_array().unwrap().len();
    assert_eq!(
        checks.matches("data-window=\"complete\"").count(),
        count - 1,
        "{checks}"
    );
    assert_eq!(checks.matches("data-window=\"open\"").count(), 1);
    assert!(checks.contains("window open when the run stopped"));
}

#[test]
fn a_baseline_is_drawn_beside_each_phase_and_the_worst_window_on_the_latency_chart() {
    use firedrill::checks::{self, CheckKind, CheckPlan};
    use firedrill::record::BaselineRecord;
    use firedrill::report::compare::{self, Wanted};
    use firedrill::report::Report;

    let example = support::repo().join("reports/example/report.json");
    let mut report = Report::read(&example).unwrap();
    // A windowed p95 over `healthy`, judged on the recorded traffic, and the
    // run compared with itself.
    report.plan.checks.push(CheckPlan {
        id: "checks[8]".into(),
        name: "p95 latency below 5ms over 2s windows during healthy".into(),
        kind: CheckKind::Latency(checks::kinds::latency::Latency {
            quantile: 0.95,
            below: Some(std::time::Duration::from_millis(5)),
            phase: 0,
            source: firedrill::plan::Source::Client,
            window: Some(checks::sliding::SlidingWindow {
                seconds: 2,
                consecutive: 1,
            }),
            at_most: None,
        }),
    });
    let baseline = compare::from_report(&example, &Wanted::of(&report, None)).unwrap();
    report.observations.baseline = Some(BaselineRecord::Found(baseline));
    report.verdicts = checks::evaluate(&report.plan, &report.observations);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    std::fs::write(&path, serde_json::to_string(&report).unwrap()).unwrap();

    let (dom, console) = open_in_chromium(&path);
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(dom.contains("data-render=\"ok\""));
    let distribution = element(&dom, "chart-distribution");
    assert_eq!(
        distribution.matches("class=\"baseline-line").count(),
        3,
        "one baseline curve per phase"
    );
    assert!(
        distribution.contains("dashed: the baseline ("),
        "the legend names it"
    );
    let latency = element(&dom, "chart-latency");
    assert_eq!(
        latency.matches("class=\"worst-window\"").count(),
        1,
        "the windowed check's worst window"
    );
    assert!(latency.contains("data-check=\"checks[8]\""));
}
