//! `firedrill compare` and baselines, on the embedded default (the demo
//! gateway and a real Prometheus): two runs of the quickstart compare
//! clean; the quickstart with 100 ms added to every backend call in
//! `healthy` compares as a regression that names the phase and the
//! percentile; `--history` takes the median of the last passing runs; a
//! run given `--baseline` judges its relative checks against it and pushes
//! its deltas to a real Pushgateway.

use std::path::{Path, PathBuf};

use crate::support::scenario::{Phase, Scenario, PREDICT};
use crate::support::{self, require_prometheus, Pushgateway};

/// scenarios/quickstart.yaml's phases and alert checks (same name, phases,
/// rates and time scale: comparable with it), with `healthy_fault` in
/// `healthy` (none when empty) and `extra` checks. Without the quickstart's
/// absolute p95 bound in `healthy` (250 ms against the demo's ~170 ms
/// service-side p95): a stall of this shared machine has failed it in CI
/// (a client p95 of 254 ms), and a run that fails is left out of a history.
fn quickstart_with(dir: &Path, file: &str, healthy_fault: &str, extra: &[&str]) -> String {
    let phase = |name: &str, duration: &str| {
        Phase::new(name)
            .duration(duration)
            .rate("20/s")
            .request(PREDICT)
    };
    let mut scenario = Scenario::new("quickstart")
        .time_scale(10)
        .phase(if healthy_fault.is_empty() {
            phase("healthy", "2m")
        } else {
            phase("healthy", "2m").fault(healthy_fault)
        })
        .phase(phase("errors", "3m").fault("{ backend_error_ratio: 50% }"))
        .phase(phase("recovery", "4m"))
        .check("{ alert: GatewayHighErrorRate, silent_during: healthy }")
        .check("{ alert: GatewayHighErrorRate, fires_within: 2m30s, after: errors.start }")
        .check("{ alert: GatewayHighErrorRate, resolves_within: 3m30s, after: recovery.start }")
        .check("{ slo: error_ratio, below: 1%, during: healthy }");
    for check in extra {
        scenario = scenario.check(*check);
    }
    scenario.write(&dir.join(file))
}

/// `firedrill run` into `reports/<dir>`; the exit code and stderr.
fn run(scenario: &str, out: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["run", scenario, "--quiet", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = support::firedrill(&args);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `firedrill compare …`: exit code and stdout (stderr on failure).
fn compare(args: &[&str]) -> (i32, String) {
    let mut all = vec!["compare"];
    all.extend_from_slice(args);
    let output = support::firedrill(&all);
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

fn report(dir: &Path) -> String {
    dir.join("report.json").to_str().unwrap().to_string()
}

/// The latency floor at which two clean runs of the quickstart compare
/// clean on this shared 2-core machine (see below).
const CLEAN_FLOOR: &str = "1s";

#[test]
fn quickstart_runs_compare_clean_and_added_latency_in_healthy_is_a_regression() {
    require_prometheus();
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    // The quickstart as `quickstart_with` writes it: its phases, its alert
    // checks counted from the phases and its error SLO; not its absolute
    // latency bound, which is not what this test compares.
    let quickstart = quickstart_with(dir.path(), "quickstart.yaml", "", &[]);
    let runs: Vec<PathBuf> = ["quickstart-20261201T000000Z", "quickstart-20261202T000000Z"]
        .iter()
        .map(|name| history.join(name))
        .collect();
    for out in &runs {
        let (code, stderr) = run(&quickstart, out, &[]);
        assert_eq!(code, 0, "{stderr}");
    }

    // Two runs of the quickstart: nothing regressed. The latency floor is
    // raised from its 5 ms default: this machine's two cores are shared with
    // builds and other drills, and a stall there moves a 240-request p95 by
    // tens of ms from one run to the next (measured: 34.7 ms, then 5.1 ms),
    // and a p99 — the third slowest request — by hundreds (12 ms, then
    // 108 ms in `recovery` with two cargo builds beside it; 13 ms, then
    // 222 ms in `healthy` in a clean CI run). The slowed run below is judged
    // at 50 ms: its 100 ms is beyond that.
    let (code, text) = compare(&["--floor", CLEAN_FLOOR, &report(&runs[0]), &report(&runs[1])]);
    eprintln!("{text}");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("OK · no regression"), "{text}");
    assert!(text.contains("phase `healthy`"), "{text}");
    assert!(
        text.contains("time to fire GatewayHighErrorRate after errors.start"),
        "{text}"
    );

    // The quickstart with every backend call 100 ms slower in `healthy`,
    // given the first run as its baseline: its relative checks are judged
    // against it, and its deltas pushed.
    let gateway = Pushgateway::start();
    let slow_scenario = quickstart_with(
        dir.path(),
        "slow.yaml",
        "{ backend_latency: 100ms }",
        &[
            "{ slo: latency, quantile: p95, at_most: baseline + 10%, floor: 20ms, during: healthy, source: client }",
            "{ slo: latency, quantile: p95, at_most: baseline + 10%, floor: 100ms, during: recovery, source: client }",
        ],
    );
    let slow = dir.path().join("slow");
    let (code, stderr) = run(
        &slow_scenario,
        &slow,
        &[
            "--baseline",
            &report(&runs[0]),
            "--push-gateway",
            &gateway.url,
        ],
    );
    assert_eq!(
        code, 1,
        "the relative p95 check of `healthy` fails: {stderr}"
    );
    assert!(stderr.contains("compared with"), "{stderr}");
    let slow_report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(slow.join("report.json")).unwrap()).unwrap();
    let verdict = |id: &str| {
        slow_report["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == id)
            .unwrap()
            .clone()
    };
    let healthy = verdict("checks[4]");
    assert_eq!(healthy["status"], "fail", "{healthy:#}");
    assert!(
        healthy["summary"]
            .as_str()
            .unwrap()
            .contains("over baseline + 10% (floor 20ms)"),
        "{healthy:#}"
    );
    assert_eq!(
        verdict("checks[5]")["status"],
        "pass",
        "`recovery` was not slowed"
    );
    assert_eq!(slow_report["observations"]["baseline"]["state"], "found");

    let pushed = gateway.metrics();
    let line = |metric: &str, labels: &[&str]| {
        pushed
            .lines()
            .find(|l| l.starts_with(metric) && labels.iter().all(|x| l.contains(x)))
            .map(str::to_string)
    };
    let regressed = line(
        "firedrill_compare_regression{",
        &["figure=\"p95\"", "subject=\"healthy\""],
    );
    assert!(
        regressed.as_deref().is_some_and(|l| l.ends_with(" 1")),
        "{pushed}"
    );
    let change = line(
        "firedrill_compare_relative_change{",
        &["figure=\"p95\"", "subject=\"healthy\""],
    )
    .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok());
    assert!(change.is_some_and(|c| c > 1.0), "{pushed}");
    assert!(
        line("firedrill_compare_baseline_runs", &[]).is_some_and(|l| l.ends_with(" 1")),
        "{pushed}"
    );

    // `compare` names the phase and the percentile, in every format.
    // (The same shared-machine floor: a stall elsewhere must not show as a
    // regression of `errors` or `recovery`; 100 ms in `healthy` is over it.)
    let floor = ["--floor", "50ms"];
    let (code, text) = compare(&[&floor[..], &[&report(&runs[0]), &report(&slow)]].concat());
    eprintln!("{text}");
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("REGRESSION"), "{text}");
    assert!(text.contains("p95 during `healthy`"), "{text}");
    assert!(
        !text.contains("during `recovery` +"),
        "only `healthy` was slowed: {text}"
    );
    let (code, markdown) = compare(
        &[
            &floor[..],
            &["--markdown", &report(&runs[0]), &report(&slow)],
        ]
        .concat(),
    );
    eprintln!("{markdown}");
    assert_eq!(code, 1);
    assert!(markdown.contains("| ❌ | `healthy` p95 |"), "{markdown}");
    let (code, json) =
        compare(&[&floor[..], &["--json", &report(&runs[0]), &report(&slow)]].concat());
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let p95 = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["subject"] == "healthy" && r["figure"] == "p95")
        .unwrap();
    assert_eq!(p95["judgement"], "regression", "{p95:#}");
    assert_eq!(p95["direction"], "worse");

    // Against the median of the history (the two clean runs); the new run's
    // own report is never its own baseline.
    let history_arg = history.to_str().unwrap();
    let (code, text) = compare(&["--history", history_arg, &report(&slow)]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("median of the last 2 passing runs"), "{text}");
    // Two clean runs: the clean pair's floor (above), not the slowed run's
    // (CI runs saw a clean healthy p95 of 98 ms, and a clean `errors` p99
    // of 360 ms, beside other drills).
    let (code, text) = compare(&[
        "--floor",
        CLEAN_FLOOR,
        "--history",
        history_arg,
        &report(&runs[1]),
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("median of the last 1 passing run "), "{text}");
}

/// The example report with `edit` applied, written as `<dir>/<name>/report.json`.
fn edited(dir: &Path, name: &str, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let text =
        std::fs::read_to_string(support::repo().join("reports/example/report.json")).unwrap();
    let mut report: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(&mut report);
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("report.json"), report.to_string()).unwrap();
    out
}

#[test]
fn reports_that_are_not_two_runs_of_one_scenario_are_refused_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let example = support::repo().join("reports/example/report.json");
    let example = example.to_str().unwrap();

    let other = edited(dir.path(), "other", |r| {
        r["scenario"]["name"] = "other".into()
    });
    let (code, text) = compare(&[&report(&other), example]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("ran scenario `other`, the new run `quickstart`"),
        "{text}"
    );

    let renamed = edited(dir.path(), "renamed", |r| {
        r["plan"]["phases"][1]["name"] = "outage".into();
    });
    let (code, text) = compare(&[&report(&renamed), example]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains(
            "has phases [healthy, outage, recovery], the new run [healthy, errors, recovery]"
        ),
        "{text}"
    );

    let (code, text) = compare(&[dir.path().join("missing.json").to_str().unwrap(), example]);
    assert_eq!(code, 2, "{text}");
    let (code, text) = compare(&[example]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("--history"), "{text}");

    // A history with nothing to compare with says what it passed over.
    let history = dir.path().join("history");
    edited(&history, "failed", |r| {
        r["verdict"] = "fail".into();
        r["verdicts"][0]["status"] = "fail".into();
    });
    edited(&history, "other", |r| {
        r["scenario"]["name"] = "other".into()
    });
    let (code, text) = compare(&["--history", history.to_str().unwrap(), example]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("no passing run of `quickstart`")
            && text.contains("1 did not pass, 1 ran another scenario"),
        "{text}"
    );
    // A passing one is taken, the others passed over.
    edited(&history, "passed", |_| {});
    let (code, text) = compare(&["--history", history.to_str().unwrap(), example]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("median of the last 1 passing run"), "{text}");
}

#[test]
fn a_first_run_whose_relative_checks_had_no_baseline_starts_a_history() {
    use firedrill::checks::relative::{Allowance, RelativeBound};
    use firedrill::checks::{CheckKind, CheckPlan, Evidence, Kind, Status, Verdict};
    use firedrill::report::Report;

    let dir = tempfile::tempdir().unwrap();
    let example = support::repo().join("reports/example/report.json");
    let with_relative = |status: Status| {
        let mut report = Report::read(&example).unwrap();
        report.plan.checks.push(CheckPlan {
            id: "checks[8]".into(),
            name: "p95 at most baseline + 10%".into(),
            kind: CheckKind::Latency(firedrill::checks::kinds::latency::Latency {
                quantile: 0.95,
                below: None,
                phase: 0,
                source: firedrill::plan::Source::Client,
                window: None,
                at_most: Some(RelativeBound {
                    allowance: Allowance::Share(0.1),
                    floor: None,
                }),
            }),
        });
        report.verdicts.push(Verdict {
            id: "checks[8]".into(),
            name: "p95 at most baseline + 10%".into(),
            status,
            summary: "its bound is relative to a baseline, and the run had none".into(),
            evidence: Evidence::empty(Kind::Latency),
            window: None,
        });
        report.verdict = status;
        report
    };
    let write = |name: &str, report: &Report| {
        let out = dir.path().join("history").join(name);
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(
            out.join("report.json"),
            serde_json::to_string(report).unwrap(),
        )
        .unwrap();
    };
    // A regression (its relative check failed) stays out of the history...
    write("regressed", &with_relative(Status::Fail));
    let history = dir.path().join("history");
    let history = history.to_str().unwrap();
    let (code, text) = compare(&["--history", history, example.to_str().unwrap()]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("1 did not pass"), "{text}");
    // ...the first night, inconclusive only for want of a baseline, starts it.
    write("first-night", &with_relative(Status::Inconclusive));
    let (code, text) = compare(&["--history", history, example.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("median of the last 1 passing run"), "{text}");
}

/// A manifest's documents as JSON.
fn manifest(file: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(support::repo().join(file)).unwrap();
    serde_norway::from_str(&text).unwrap()
}

#[test]
fn the_nightly_cronjob_writes_its_history_prunes_it_and_compares_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    let history_text = history.to_str().unwrap();
    // The CronJob's command and the nightly scenario, with the history
    // volume's path replaced by a directory here.
    let cronjob = manifest("k8s/harness/cronjob.yaml");
    let container = &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    let command: Vec<String> = container["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            a.as_str()
                .unwrap()
                .replace("/reports/history", history_text)
        })
        .collect();
    assert_eq!(command[..2], ["firedrill", "run"]);
    let configmap = manifest("k8s/harness/scenarios-configmap.yaml");
    let nightly = configmap["data"]["nightly.yaml"]
        .as_str()
        .unwrap()
        .replace("/reports/history", history_text);
    assert!(nightly.contains("at_most: baseline"), "{nightly}");
    let scenario = dir.path().join("nightly.yaml");
    std::fs::write(&scenario, nightly).unwrap();

    // Two older nights and something else in the directory.
    std::fs::create_dir_all(history.join("notes")).unwrap();
    for night in ["nightly-20261101T030000Z", "nightly-20261102T030000Z"] {
        edited(&history, night, |r| {
            r["scenario"]["name"] = "nightly".into()
        });
    }
    // Without the Pushgateway; keeping 2 nights instead of 14.
    let mut args: Vec<&str> = Vec::new();
    let mut words = command[1..].iter().map(String::as_str);
    while let Some(word) = words.next() {
        match word {
            "/scenarios/nightly.yaml" => args.push(scenario.to_str().unwrap()),
            "--push-gateway" => {
                words.next();
            }
            "--keep-reports" => {
                words.next();
                args.extend(["--keep-reports", "2"]);
            }
            other => args.push(other),
        }
    }
    args.push("--quiet");
    // No cluster here: the run is aborted, after its arguments and scenario
    // were read (its checks are listed), and still writes its report into
    // the history.
    let output = support::firedrill_env(&args, &[("KUBECONFIG", "/nonexistent")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no Kubernetes configuration"), "{stderr}");
    assert!(
        stderr.contains("p95 latency at most baseline + 25% (floor 20ms) during healthy"),
        "{stderr}"
    );
    let mut left: Vec<String> = std::fs::read_dir(&history)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left.len(), 3, "the two newest nights and `notes`: {left:?}");
    assert_eq!(left[0], "nightly-20261102T030000Z", "{left:?}");
    assert!(
        left[1].starts_with("nightly-2") && left[1] != left[0],
        "{left:?}"
    );
    assert_eq!(left[2], "notes");
    assert!(stderr.contains("removed the older report"), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(history.join(&left[1]).join("report.json")).unwrap(),
    )
    .unwrap();
    // The nights before were another run's phases (the example's): the
    // baseline says so rather than comparing.
    let baseline = &report["observations"]["baseline"];
    assert_eq!(baseline["state"], "missing", "{baseline}");
    assert!(
        baseline["reason"]
            .as_str()
            .unwrap()
            .contains("no passing run of `nightly`"),
        "{baseline}"
    );
}
