//! The command line's promises that need no Prometheus: broken scenario
//! files are refused with file, line, column and field, exit 2, and nothing
//! is sent; the shipped scenarios validate.

use crate::support::{self, firedrill, ConnectionCounter};

/// Every file in tests/bad-scenarios, where its problem is, and what is said.
const BROKEN: &[(&str, &str, &str)] = &[
    (
        "syntax.yaml",
        "3:3",
        "phases: did not find expected node content",
    ),
    (
        "unknown-field.yaml",
        "5:5",
        "phases[0].rat: unknown field `rat`",
    ),
    (
        "rate-without-unit.yaml",
        "5:11",
        "phases[0].rate: rate `10` needs a unit",
    ),
    (
        "zero-rate.yaml",
        "5:11",
        "phases[0].rate: rate must be greater than zero",
    ),
    (
        "negative-rate.yaml",
        "5:11",
        "phases[0].rate: rate `-5/s` must be a non-negative number",
    ),
    (
        "deadline-without-unit.yaml",
        "9:19",
        "checks[0].fires_within: duration `30` has no unit",
    ),
    (
        "unknown-phase.yaml",
        "9:20",
        "checks[0].silent_during: no phase named `recovery`",
    ),
    (
        "huge-duration.yaml",
        "4:15",
        "phases[0].duration: duration 1000d is longer than",
    ),
    (
        "huge-rate.yaml",
        "5:11",
        "phases[0].rate: rate is at most 1000000/s",
    ),
    (
        "wrong-type.yaml",
        "2:9",
        "phases: invalid type: string \"yes\", expected a sequence",
    ),
    ("missing-name.yaml", "1:1", "name: missing field `name`"),
    (
        "bad-quantile.yaml",
        "8:31",
        "checks[0].quantile: quantile `p100`: must be strictly between 0 and 1",
    ),
    (
        "request-and-mix.yaml",
        "3:9",
        "phases[0]: choose one: `request` or `mix`",
    ),
    (
        "bad-promql-condition.yaml",
        "12:16",
        "checks[0].condition: condition is not valid PromQL",
    ),
    (
        "fault-on-url-target.yaml",
        "8:12",
        "phases[0].fault: these faults are injected into the embedded demo gateway",
    ),
    (
        "empty.yaml",
        "1:1",
        "(top level): the scenario file is empty",
    ),
    (
        "not-a-mapping.yaml",
        "1:1",
        "(top level): invalid type: sequence",
    ),
    (
        "two-load-models.yaml",
        "3:9",
        "phases[0]: choose one load model",
    ),
    (
        "deadline-past-the-run.yaml",
        "8:50",
        "checks[0].fires_within: the deadline ends 4m after the run's last phase",
    ),
    (
        "zero-time-scale.yaml",
        "7:13",
        "time_scale: time_scale must be a number above 0",
    ),
    (
        "path-without-slash.yaml",
        "6:36",
        "phases[0].request.path: path `predict` must start with `/`",
    ),
];

#[test]
fn broken_scenarios_are_refused_with_their_place_and_nothing_is_sent() {
    let target = ConnectionCounter::start();
    let reports = tempfile::tempdir().unwrap();
    for (file, at, message) in BROKEN {
        let path = format!("tests/bad-scenarios/{file}");
        let out = firedrill(&[
            "run",
            &path,
            "--target",
            &target.url,
            "--reports",
            reports.path().to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        let expected = format!("{path}:{at}: {message}");
        assert!(
            stderr.contains(&expected),
            "{file}: expected `{expected}` in:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{file}: {stderr}");
    }
    assert_eq!(target.connections(), 0, "a refused scenario sends nothing");
    assert_eq!(
        std::fs::read_dir(reports.path()).unwrap().count(),
        0,
        "an invalid scenario runs nothing, so it has no report"
    );
}

#[test]
fn the_corpus_lists_every_broken_file() {
    let mut on_disk: Vec<String> = std::fs::read_dir(support::repo().join("tests/bad-scenarios"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = BROKEN.iter().map(|(f, _, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn validate_reports_all_problems_of_several_files_and_accepts_good_ones() {
    let out = firedrill(&[
        "validate",
        "scenarios/quickstart.yaml",
        "tests/bad-scenarios/zero-rate.yaml",
        "tests/bad-scenarios/unknown-phase.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("scenarios/quickstart.yaml: ok"), "{stdout}");
    assert!(stderr.contains("zero-rate.yaml:5:11"), "{stderr}");
    assert!(stderr.contains("unknown-phase.yaml:9:20"), "{stderr}");
    let all = firedrill(&[
        "validate",
        "scenarios/quickstart.yaml",
        "scenarios/light.yaml",
        "scenarios/sustained.yaml",
        "scenarios/mixed-errors.yaml",
        "scenarios/seed-false-positive.yaml",
    ]);
    assert_eq!(
        all.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
}

#[test]
fn help_documents_the_exit_codes() {
    let out = firedrill(&["--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("0 every check passed") && text.contains("3 inconclusive"),
        "{text}"
    );
}
