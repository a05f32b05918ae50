//! Every format is rendered from report.json alone: `firedrill report`
//! re-renders the committed example, and each rendering is checked the way
//! its consumer reads it (CSV parsed back with the csv crate, JUnit validated
//! against the schema CI systems apply, with xmllint).

use crate::support::{firedrill, repo, xmllint};

const EXAMPLE: &str = "reports/example/report.json";

fn rerender() -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let result = firedrill(&["report", EXAMPLE, "--out", out.path().to_str().unwrap()]);
    assert_eq!(
        result.status.code(),
        Some(0),
        "the example passed, so its report exits 0: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    out
}

fn example() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(repo().join(EXAMPLE)).unwrap()).unwrap()
}

#[test]
fn the_csv_series_parses_back_one_row_per_second_per_phase() {
    let out = rerender();
    let mut reader = csv::Reader::from_path(out.path().join("series.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    for column in [
        "phase",
        "second",
        "run_seconds",
        "requests",
        "status_5xx",
        "p99_ms",
    ] {
        assert!(
            headers.iter().any(|h| h == column),
            "{column} in {headers:?}"
        );
    }
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let report = example();
    let expected: usize = report["observations"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["stats"]["series"].as_array().map(Vec::len).unwrap_or(0))
        .sum();
    assert_eq!(rows.len(), expected);
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let mut total = 0u64;
    for row in &rows {
        let requests: u64 = row[column("requests")].parse().unwrap();
        let by_class: u64 = [
            "status_1xx",
            "status_2xx",
            "status_3xx",
            "status_4xx",
            "status_5xx",
        ]
        .iter()
        .chain(
            [
                "connect_errors",
                "timeouts",
                "resets",
                "other_errors",
                "dropped",
            ]
            .iter(),
        )
        .map(|c| row[column(c)].parse::<u64>().unwrap())
        .sum();
        assert_eq!(requests, by_class, "{row:?}");
        total += requests;
    }
    let phases_total: u64 = report["observations"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["stats"]["counts"]["requests"].as_u64())
        .sum();
    assert_eq!(
        total, phases_total,
        "the series adds up to the phase totals"
    );
}

#[test]
fn the_junit_file_validates_against_the_ci_schema() {
    let out = rerender();
    let schema = repo().join("tests/fixtures/junit.xsd");
    let junit = out.path().join("junit.xml");
    let (valid, messages) = xmllint(&schema, &junit);
    assert!(valid, "{messages}");
    let text = std::fs::read_to_string(&junit).unwrap();
    let checks = example()["verdicts"].as_array().unwrap().len();
    assert_eq!(
        text.matches("<testcase ").count(),
        checks,
        "one test case per check"
    );

    // The schema bites: a suite without its counts is refused.
    let broken = out.path().join("broken.xml");
    std::fs::write(&broken, text.replacen(" tests=\"", " cases=\"", 2)).unwrap();
    let (valid, _) = xmllint(&schema, &broken);
    assert!(!valid, "a testsuite without `tests` must not validate");
}

#[test]
fn failing_and_inconclusive_checks_are_failures_and_errors_in_junit() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = example();
    let verdicts = report["verdicts"].as_array_mut().unwrap();
    verdicts[0]["status"] = "fail".into();
    verdicts[1]["status"] = "inconclusive".into();
    let path = dir.path().join("report.json");
    std::fs::write(&path, serde_json::to_string(&report).unwrap()).unwrap();
    let result = firedrill(&["report", path.to_str().unwrap()]);
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<failure ").count(), 1, "{junit}");
    assert_eq!(junit.matches("<error ").count(), 1, "{junit}");
    let (valid, messages) = xmllint(
        &repo().join("tests/fixtures/junit.xsd"),
        &dir.path().join("junit.xml"),
    );
    assert!(valid, "{messages}");
    // The exit code is the report's own (it says "pass"; re-rendering does
    // not re-judge), and the Markdown shows the edited statuses.
    assert_eq!(result.status.code(), Some(0));
    let markdown = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        markdown.contains("❌") && markdown.contains("⚠️"),
        "{markdown}"
    );
}

#[test]
fn a_file_that_is_not_a_report_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    std::fs::write(&path, "{\"hello\": 1}").unwrap();
    let result = firedrill(&["report", path.to_str().unwrap()]);
    assert_eq!(result.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&result.stderr).contains("not a firedrill report"));
}
