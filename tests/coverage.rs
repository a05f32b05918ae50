//! `firedrill coverage`: every alert provoked from its own rule and proven
//! by Prometheus's rule engine (promtool test rules) — the shipped stack
//! 8 of 8; each verdict from a fixture of its own (tests/coverage-fixtures,
//! whose README says which and why); emitted tests that pass promtool from
//! their directory; the JSON ledger's shape; the exit codes and
//! `--require`; temporary directories removed; a live Prometheus that makes
//! alerts noisy or dead; alerts proven as the oracle settles them, round by
//! round.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{self, firedrill_env, TestPrometheus};

const INTERVALS: &[&str] = &["--scrape-interval", "15s", "--evaluation-interval", "30s"];

fn require_promtool() -> std::path::PathBuf {
    firedrill::env::find_binary("FIREDRILL_PROMTOOL", "promtool")
        .expect("this test needs promtool: `sudo apt-get install prometheus` ships it")
}

/// `firedrill coverage --json ARGS`: exit code, the ledger, stderr.
fn coverage(args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    require_promtool();
    let mut all = vec!["coverage", "--json"];
    all.extend_from_slice(args);
    // The promtool proof unless a test asks for another (the live one has
    // tests of its own: tests/coverage_live.rs).
    if !args.contains(&"--proof") {
        all.extend(["--proof", "promtool"]);
    }
    let out = firedrill_env(&all, env);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let ledger = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), ledger, stderr)
}

fn fixture(name: &str) -> String {
    format!("tests/coverage-fixtures/{name}")
}

/// The ledger's line for `alert`.
fn line<'a>(ledger: &'a Value, alert: &str) -> &'a Value {
    ledger["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["alert"] == alert)
        .unwrap_or_else(|| panic!("no {alert} in {ledger:#}"))
}

#[test]
fn the_shipped_stack_is_proven_alert_by_alert_within_the_models_bounds() {
    let (code, ledger, stderr) = coverage(&["k8s/monitoring", "--proof", "promtool"], &[]);
    assert_eq!(code, 0, "{ledger:#}\n{stderr}");
    let alerts = ledger["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 8);
    for alert in alerts {
        let fields: Vec<&str> = alert
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            fields,
            [
                "alert",
                "fired_after_seconds",
                "labels",
                "notified_after_seconds",
                "predicted",
                "receiver",
                "resolved_after_seconds",
                "verdict",
                "why"
            ]
        );
        assert_eq!(alert["verdict"], "proven", "{alert:#}");
        let fired = alert["fired_after_seconds"].as_f64().unwrap();
        assert!(
            alert["resolved_after_seconds"].as_f64().is_some(),
            "{alert:#}"
        );
        assert!(
            alert["notified_after_seconds"].is_null(),
            "no live proof yet"
        );
        assert!(alert["labels"]["severity"].is_string());
        // Every alert has bounds (the CPU one too: a rate a gauge scales,
        // its multiple read from the provocation's steady state), and
        // promtool's first firing lies within them.
        let b = alert["predicted"].as_object().expect("predicted bounds");
        let (best, worst) = (
            b["best_seconds"].as_f64().unwrap(),
            b["worst_seconds"].as_f64().unwrap(),
        );
        assert!(best <= fired && fired <= worst, "{alert:#}");
    }
    // Routed by the shipped Alertmanager configuration.
    assert_eq!(line(&ledger, "GatewayDown")["receiver"], "pager");
    assert_eq!(line(&ledger, "GatewayHighErrorRate")["receiver"], "chat");
    let summary = &ledger["summary"];
    assert_eq!(summary["proven"], 8);
    for verdict in [
        "late",
        "dead",
        "noisy",
        "unrouted",
        "silenced",
        "not_provoked",
    ] {
        assert_eq!(summary[verdict], 0, "{summary:#}");
    }
    assert!(summary["elapsed_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn each_static_verdict_comes_from_a_fixture_of_its_own() {
    for (file, alert, verdict, why) in [
        ("dead-ratio.yaml", "CheckoutErrors", "dead", "ratio/bounded"),
        ("count-zero.yaml", "NoWorkers", "dead", "count/never-zero"),
        (
            "quantile-beyond.yaml",
            "GatewayP99Beyond",
            "dead",
            "histogram/threshold-beyond-buckets",
        ),
        (
            "le-dropped.yaml",
            "QueueLatency",
            "dead",
            "histogram/le-dropped",
        ),
        (
            "native-histogram.yaml",
            "UploadLatency",
            "not_provoked",
            "native histogram",
        ),
    ] {
        let (code, ledger, stderr) =
            coverage(&[&[fixture(file).as_str()][..], INTERVALS].concat(), &[]);
        assert_eq!(code, 1, "{file}: {ledger:#}\n{stderr}");
        let line = line(&ledger, alert);
        assert_eq!(line["verdict"], verdict, "{file}: {line:#}");
        let text = line["why"].as_str().unwrap();
        assert!(text.contains(why), "{file}: {text}");
        if verdict == "dead" {
            // promtool tried, and agrees.
            assert!(text.contains("promtool agrees"), "{file}: {text}");
            assert!(line["fired_after_seconds"].is_null());
        }
    }
}

#[test]
fn a_model_fed_wrong_bounds_makes_a_proven_alert_late() {
    let late = fixture("late.yaml");
    let args = [&[late.as_str()][..], INTERVALS].concat();
    let (code, ledger, _) = coverage(&args, &[]);
    assert_eq!(code, 0, "{ledger:#}");
    let honest = line(&ledger, "DiskAlmostFull").clone();
    assert_eq!(honest["verdict"], "proven");
    // The test-only hook shifts the model's bounds ten minutes later.
    let (code, ledger, _) = coverage(&args, &[("FIREDRILL_COVERAGE_WRONG_MODEL", "600")]);
    assert_eq!(code, 1);
    let late = line(&ledger, "DiskAlmostFull");
    assert_eq!(late["verdict"], "late", "{late:#}");
    // Both are shown: the measurement, and the (wrong) model.
    assert_eq!(late["fired_after_seconds"], honest["fired_after_seconds"]);
    let best = late["predicted"]["best_seconds"].as_f64().unwrap();
    assert_eq!(
        best,
        honest["predicted"]["best_seconds"].as_f64().unwrap() + 600.0
    );
    assert!(late["why"]
        .as_str()
        .unwrap()
        .contains("one of them is wrong"));
}

#[test]
fn routes_to_nobody_and_routes_muted_or_inhibited_are_named() {
    let (code, ledger, _) = coverage(
        &[&[fixture("unrouted").as_str()][..], INTERVALS].concat(),
        &[],
    );
    assert_eq!(code, 1);
    let orders = line(&ledger, "OrdersBacklog");
    assert_eq!(orders["verdict"], "unrouted", "{orders:#}");
    assert_eq!(orders["receiver"], "orders-chat");
    assert!(orders["why"].as_str().unwrap().contains("no integrations"));
    assert!(
        orders["fired_after_seconds"].as_f64().is_some(),
        "promtool fired it"
    );

    let (code, ledger, _) = coverage(
        &[&[fixture("inhibited").as_str()][..], INTERVALS].concat(),
        &[],
    );
    assert_eq!(code, 1);
    let slow = line(&ledger, "PaymentsSlow");
    assert_eq!(slow["verdict"], "silenced", "{slow:#}");
    let why = slow["why"].as_str().unwrap();
    assert!(
        why.contains("PaymentsDown") && why.contains("inhibit_rules[0]"),
        "{why}"
    );
    assert_eq!(line(&ledger, "PaymentsDown")["verdict"], "proven");

    let (code, ledger, _) = coverage(&[&[fixture("muted").as_str()][..], INTERVALS].concat(), &[]);
    assert_eq!(code, 1);
    let stale = line(&ledger, "ReportsStale");
    assert_eq!(stale["verdict"], "silenced", "{stale:#}");
    let why = stale["why"].as_str().unwrap();
    assert!(
        why.contains("muted always") && why.contains("weekdays"),
        "{why}"
    );
}

/// Runs promtool on every test file in `dir`, from `dir`.
fn promtool_passes(dir: &Path) -> Vec<String> {
    let tests: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".test.yaml"))
        .collect();
    assert!(!tests.is_empty(), "no tests in {}", dir.display());
    let out = Command::new(require_promtool())
        .args(["test", "rules"])
        .args(&tests)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    tests
}

#[test]
fn emitted_tests_pass_promtool_unchanged_from_their_directory() {
    let out = tempfile::tempdir().unwrap();
    for (source, args) in [
        ("k8s/monitoring", vec![]),
        ("tests/rules-fixtures/slo/sloth.yaml", vec![]),
        (
            "tests/rules-corpus/kubernetes/etcd.yaml",
            INTERVALS.to_vec(),
        ),
        ("tests/rules-corpus/apps", vec![]),
    ] {
        let dir = out.path().join(source.replace('/', "_"));
        let dir_text = dir.display().to_string();
        let mut all = vec![source, "--emit-tests", dir_text.as_str()];
        all.extend(args);
        let (code, ledger, stderr) = coverage(&all, &[]);
        assert!(code == 0 || code == 1, "{source}: {stderr}");
        let proven = ledger["summary"]["proven"].as_u64().unwrap();
        assert!(proven > 0, "{source}: {ledger:#}");
        let tests = promtool_passes(&dir);
        let text: String = tests
            .iter()
            .map(|t| std::fs::read_to_string(dir.join(t)).unwrap())
            .collect();
        // One test group per proven alert, each saying what it is.
        assert_eq!(
            text.matches("  - name: ").count() as u64,
            proven,
            "{source}"
        );
        assert!(text.contains("# Written by `firedrill coverage --emit-tests`"));
        assert!(text.contains("predicted"), "{source}");
        if source == "k8s/monitoring" {
            // A ConfigMap's rules are written out beside the tests.
            assert!(dir.join("prometheus-rules.rules.yaml").exists());
        } else {
            // A plain rule file is loaded where it is, by a relative path.
            assert!(text.contains("rule_files: [\"../"), "{source}");
        }
    }
}

#[test]
fn exit_codes_say_proven_not_proven_bad_input_and_could_not_run() {
    let require = fixture("require.yaml");
    let with = |extra: &[&str]| {
        let mut args = vec![require.as_str()];
        args.extend_from_slice(INTERVALS);
        args.extend_from_slice(extra);
        coverage(&args, &[])
    };
    let (code, ledger, _) = with(&[]);
    assert_eq!(code, 1, "the warning is dead: {ledger:#}");
    assert_eq!(line(&ledger, "ServiceDown")["verdict"], "proven");
    assert_eq!(line(&ledger, "ServiceErrors")["verdict"], "dead");
    let (code, _, _) = with(&["--require", r#"severity="critical""#]);
    assert_eq!(code, 0, "only the critical alert is required");
    let (code, _, stderr) = with(&["--require", r#"severity=~"[""#]);
    assert_eq!(code, 2, "{stderr}");

    // Bad input names the file and the line.
    let (code, _, stderr) = coverage(&[&fixture("bad.yaml")], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("tests/coverage-fixtures/bad.yaml:6:"),
        "{stderr}"
    );

    // The proof could not run: no promtool, or no Prometheus for the live
    // proof.
    let (code, _, stderr) = coverage(
        &["k8s/monitoring"],
        &[
            ("FIREDRILL_PROMTOOL", "/nonexistent/promtool"),
            ("PATH", "/nonexistent"),
        ],
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("promtool"), "{stderr}");
    let (code, _, stderr) = coverage(
        &["k8s/monitoring", "--proof", "live"],
        &[("FIREDRILL_PROMETHEUS", "/nonexistent/prometheus")],
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("live proof could not run"), "{stderr}");
}

#[test]
fn the_ledger_renders_as_a_table_junit_and_a_page() {
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("coverage.xml");
    let html = out.path().join("coverage.html");
    let run = support::firedrill(&[
        "coverage",
        "--proof",
        "promtool",
        &fixture("require.yaml"),
        "--scrape-interval",
        "15s",
        "--evaluation-interval",
        "30s",
        "--junit",
        &junit.display().to_string(),
        "--html",
        &html.display().to_string(),
    ]);
    assert_eq!(run.status.code(), Some(1));
    let table = String::from_utf8_lossy(&run.stdout);
    for heading in [
        "alert",
        "verdict",
        "fired after",
        "predicted",
        "receiver",
        "notified after",
        "resolved after",
    ] {
        assert!(table.contains(heading), "{table}");
    }
    assert!(table.contains("Coverage: 1/2 proven, 1 dead"), "{table}");
    let junit = std::fs::read_to_string(junit).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), 2);
    assert_eq!(junit.matches("<failure ").count(), 1);
    let html = std::fs::read_to_string(html).unwrap();
    assert!(html.contains("ServiceDown") && html.contains("<table>"));
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"));
}

/// The work directory a run kept in `tmp` (`FIREDRILL_COVERAGE_KEEP`).
fn kept_work(tmp: &Path) -> std::path::PathBuf {
    std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("firedrill-coverage")
        })
        .expect("the kept work directory")
}

/// The alerts whose rule file under `proof/batch-<n>` of a kept work
/// directory in `tmp`.
fn proven_in_batch(tmp: &Path, n: usize) -> Vec<String> {
    let batch = kept_work(tmp).join("proof").join(format!("batch-{n}"));
    let mut alerts: Vec<String> = std::fs::read_dir(&batch)
        .unwrap_or_else(|e| panic!("{}: {e}", batch.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".rules.yaml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .flat_map(|text| {
            let first = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("- alert: "));
            first.map(str::to_string)
        })
        .collect();
    alerts.sort();
    alerts
}

#[test]
fn alerts_are_proven_as_the_oracle_settles_them_round_by_round() {
    let tmp = tempfile::tempdir().unwrap();
    let env = [
        ("TMPDIR", tmp.path().to_str().unwrap()),
        ("FIREDRILL_COVERAGE_KEEP", "1"),
    ];
    let files = [
        "tests/rules-corpus/databases/mysql.yaml",
        "tests/rules-corpus/prometheus/prometheus-self.yaml",
    ];
    let (code, ledger, stderr) = coverage(&[&files[..], INTERVALS].concat(), &env);
    assert_eq!(code, 0, "{stderr}\n{ledger:#}");
    let summary = &ledger["summary"];
    assert_eq!(summary["proven"], 24, "{ledger:#}");
    // Settled by the oracle's first round (Watchdog too: it holds in every
    // state, and there is nothing left to try), proven in a batch of their
    // own, begun as that round ends.
    let first = proven_in_batch(tmp.path(), 0);
    assert_eq!(first.len(), 21, "{first:?}");
    for alert in ["MysqlDown", "Watchdog"] {
        assert!(first.contains(&alert.to_string()), "{first:?}");
    }
    // Settled by its second round (one series alone does not make them
    // hold): a second batch.
    assert_eq!(
        proven_in_batch(tmp.path(), 1),
        [
            "MysqlSlaveIoThreadNotRunning",
            "MysqlSlaveReplicationLag",
            "PrometheusNotIngestingSamples"
        ]
    );
    assert!(!kept_work(tmp.path()).join("proof/batch-2").exists());
    for alert in ["MysqlSlaveReplicationLag", "Watchdog", "MysqlDown"] {
        let line = line(&ledger, alert);
        assert_eq!(line["verdict"], "proven", "{line:#}");
        assert!(line["fired_after_seconds"].is_number(), "{line:#}");
    }
}

#[test]
fn an_interrupted_promtool_proof_kills_promtool_and_stops_at_once() {
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    // A promtool that says who it is and never ends by itself.
    let pids = tmp.path().join("pids");
    let stand_in = tmp.path().join("promtool");
    std::fs::write(
        &stand_in,
        format!("#!/bin/sh\necho $$ >> {}\nexec sleep 300\n", pids.display()),
    )
    .unwrap();
    std::fs::set_permissions(&stand_in, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(["coverage", "--json", "--proof", "promtool"])
        .arg(fixture("require.yaml"))
        .args(INTERVALS)
        .env("FIREDRILL_PROMTOOL", &stand_in)
        .env("TMPDIR", &work)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let running = || -> Vec<String> {
        let text = std::fs::read_to_string(&pids).unwrap_or_default();
        text.lines()
            .map(str::to_string)
            .filter(|pid| {
                // Gone, or a zombie waiting for its reaper.
                std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                    stat.rsplit(')')
                        .next()
                        .is_some_and(|s| !s.starts_with(" Z"))
                })
            })
            .collect()
    };
    while running().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "promtool never ran"
        );
        assert!(child.try_wait().unwrap().is_none(), "firedrill ended first");
        std::thread::sleep(Duration::from_millis(50));
    }
    let signalled = Instant::now();
    support::interrupt_coverage(&mut child, started);
    // Killed, not waited for: the stand-in never ends by itself.
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "firedrill took {:?} to stop",
        signalled.elapsed()
    );
    let stopped = Instant::now();
    while !running().is_empty() {
        assert!(
            stopped.elapsed() < Duration::from_secs(5),
            "promtool outlived firedrill: {:?}",
            running()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let left: Vec<_> = std::fs::read_dir(&work).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn temporary_directories_are_removed_whatever_the_outcome() {
    let tmp = tempfile::tempdir().unwrap();
    let env = [("TMPDIR", tmp.path().to_str().unwrap())];
    let (code, _, _) = coverage(
        &[&[fixture("require.yaml").as_str()][..], INTERVALS].concat(),
        &env,
    );
    assert_eq!(code, 1);
    let (code, _, _) = coverage(&[&fixture("bad.yaml")], &env);
    assert_eq!(code, 2);
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_live_prometheus_makes_an_alert_noisy_or_dead_there() {
    support::require_prometheus();
    let rules = "groups:\n  - name: live\n    interval: 1s\n    rules:\n      - alert: AlreadyFiring\n        expr: vector(1)\n";
    let config = "global: { scrape_interval: 1s, evaluation_interval: 1s }\nrule_files: [\"{dir}/rules.yml\"]\nscrape_configs:\n  - { job_name: prometheus, static_configs: [{ targets: [\"127.0.0.1:{port}\"] }] }\n";
    let prometheus = TestPrometheus::start_on_own_port(config, rules);
    prometheus.wait_for("up{job=\"prometheus\"}");
    prometheus.wait_for("ALERTS{alertname=\"AlreadyFiring\"}");
    let url = format!("http://127.0.0.1:{}", prometheus.port);
    let live = fixture("live.yaml");
    let args = [
        &[live.as_str(), "--prometheus", url.as_str()][..],
        INTERVALS,
    ]
    .concat();
    let (code, ledger, stderr) = coverage(&args, &[]);
    assert_eq!(code, 1, "{stderr}");
    let noisy = line(&ledger, "AlreadyFiring");
    assert_eq!(noisy["verdict"], "noisy", "{noisy:#}");
    assert!(noisy["why"].as_str().unwrap().contains(&url));
    let dead = line(&ledger, "NoSuchService");
    assert_eq!(dead["verdict"], "dead", "{dead:#}");
    assert!(dead["why"]
        .as_str()
        .unwrap()
        .contains("no_such_service_requests_total"));
    assert_eq!(line(&ledger, "PrometheusDown")["verdict"], "proven");
}

/// The default proof does not hold a run for many minutes without a word:
/// Sloth's ticket alert fires after hours and resolves hours later, which
/// even compressed is longer than `auto` allows, so promtool alone proves
/// it, and the ledger says why.
#[test]
fn the_default_proof_says_why_it_did_not_run_live() {
    let (code, ledger, stderr) = coverage(
        &["tests/rules-fixtures/slo/sloth.yaml", "--proof", "auto"],
        &[],
    );
    assert_eq!(code, 0, "{ledger:#}\n{stderr}");
    assert_eq!(ledger["proof"], "promtool", "{ledger:#}");
    let notes = ledger["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| {
            let n = n.as_str().unwrap();
            n.contains("promtool only") && n.contains("to fire and resolve, compressed")
        }),
        "{notes:#?}"
    );
    assert_eq!(ledger["summary"]["proven"], 2, "{ledger:#}");
}

/// `--proof live` on an alert the live proof cannot run (an age against
/// Prometheus's clock): its verdict is promtool's, its why and the
/// ledger's proof say so — not "proof: live".
#[test]
fn an_alert_that_cannot_run_live_keeps_promtools_verdict_and_says_so() {
    let (code, ledger, stderr) = coverage(
        &["tests/coverage-fixtures/age.yaml", "--proof", "live"],
        &[],
    );
    assert_eq!(code, 0, "{ledger:#}\n{stderr}");
    assert_eq!(ledger["proof"], "promtool", "{ledger:#}");
    let line = &ledger["alerts"][0];
    assert_eq!(line["verdict"], "proven", "{line:#}");
    let why = line["why"].as_str().unwrap();
    assert!(
        why.starts_with("promtool: fired") && why.contains("not run live: a timestamp"),
        "{why}"
    );
    let notes = ledger["notes"].to_string();
    assert!(
        notes.contains("of the 1 alerts provoked, none can run live"),
        "{notes}"
    );
}
