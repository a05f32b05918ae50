//! `firedrill coverage`'s live proof: a real Prometheus and Alertmanager,
//! time-compressed, fed by firedrill's synthetic exporter — the shipped
//! stack 8 of 8 proven live (receiver, notified, resolved); the live
//! verdicts silenced (naming the inhibitor), unrouted and late in one run
//! (tests/coverage-fixtures/live-verdicts); a target that vanishes taken
//! out of Prometheus for `absent(up{…})`; an interrupted run leaves no
//! child and no temporary directory.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{self, firedrill_env, repo};

fn ledger_of(args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    support::require_prometheus();
    support::require_alertmanager();
    let mut all = vec!["coverage", "--json"];
    all.extend_from_slice(args);
    let out = firedrill_env(&all, env);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let ledger = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), ledger, stderr)
}

fn line<'a>(ledger: &'a Value, alert: &str) -> &'a Value {
    ledger["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["alert"] == alert)
        .unwrap_or_else(|| panic!("no {alert} in {ledger:#}"))
}

#[test]
fn the_shipped_stack_is_proven_live_eight_of_eight() {
    // The default proof (auto) runs both for eight alerts.
    let (code, ledger, stderr) = ledger_of(&["k8s/monitoring"], &[]);
    assert_eq!(code, 0, "{ledger:#}\n{stderr}");
    let alerts = ledger["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 8);
    for alert in alerts {
        assert_eq!(alert["verdict"], "proven", "{alert:#}");
        let why = alert["why"].as_str().unwrap();
        assert!(why.starts_with("live: fired"), "{why}");
        let fired = alert["fired_after_seconds"].as_f64().unwrap();
        let notified = alert["notified_after_seconds"].as_f64().unwrap();
        assert!(notified >= fired, "{alert:#}");
        assert!(
            alert["resolved_after_seconds"].as_f64().is_some(),
            "{alert:#}"
        );
        let receiver = alert["receiver"].as_str().unwrap();
        let expected = if alert["labels"]["severity"] == "critical" {
            "pager"
        } else {
            "chat"
        };
        assert_eq!(receiver, expected, "{alert:#}");
        assert!(why.contains(&format!("notified `{expected}`")), "{why}");
    }
    assert_eq!(ledger["summary"]["proven"], 8);
}

#[test]
fn live_verdicts_name_the_inhibitor_the_empty_receiver_and_the_wrong_model() {
    let fixture = "tests/coverage-fixtures/live-verdicts";
    let (code, ledger, stderr) = ledger_of(
        &[
            fixture,
            "--proof",
            "live",
            "--scrape-interval",
            "15s",
            "--evaluation-interval",
            "30s",
        ],
        &[("FIREDRILL_COVERAGE_WRONG_MODEL", "DiskAlmostFull=600")],
    );
    assert_eq!(code, 1, "{ledger:#}\n{stderr}");
    let down = line(&ledger, "PaymentsDown");
    assert_eq!(down["verdict"], "proven", "{down:#}");
    assert_eq!(down["receiver"], "pager");
    assert!(down["notified_after_seconds"].as_f64().is_some());

    // Fired at Prometheus, held at Alertmanager by the critical alert.
    let slow = line(&ledger, "PaymentsSlow");
    assert_eq!(slow["verdict"], "silenced", "{slow:#}");
    assert!(slow["fired_after_seconds"].as_f64().is_some());
    assert!(slow["notified_after_seconds"].is_null());
    let why = slow["why"].as_str().unwrap();
    assert!(
        why.contains("inhibited by PaymentsDown at Alertmanager")
            && why.contains("inhibit_rules[0]"),
        "{why}"
    );

    let orders = line(&ledger, "OrdersBacklog");
    assert_eq!(orders["verdict"], "unrouted", "{orders:#}");
    assert_eq!(orders["receiver"], "orders-chat");
    assert!(
        orders["why"].as_str().unwrap().contains("no integrations"),
        "{orders:#}"
    );

    // The measurement is right and the (test-fed) model wrong: late, both shown.
    let disk = line(&ledger, "DiskAlmostFull");
    assert_eq!(disk["verdict"], "late", "{disk:#}");
    let fired = disk["fired_after_seconds"].as_f64().unwrap();
    let best = disk["predicted"]["best_seconds"].as_f64().unwrap();
    assert!(fired < best - 300.0, "{disk:#}");
    assert!(disk["why"]
        .as_str()
        .unwrap()
        .contains("one of them is wrong"));
}

#[test]
fn a_vanished_target_leaves_prometheus_and_its_absent_alert_fires_live_in_time() {
    // `absent(up{job="worker"})`: a target answering 503 keeps `up` at 0;
    // the proof must take the target out of Prometheus's configuration,
    // and time the provocation from when Prometheus dropped it.
    let (code, ledger, stderr) = ledger_of(
        &["tests/coverage-fixtures/vanished.yaml", "--proof", "live"],
        &[],
    );
    assert_eq!(code, 0, "{ledger:#}\n{stderr}");
    let missing = line(&ledger, "WorkerTargetMissing");
    assert_eq!(missing["verdict"], "proven", "{missing:#}");
    let fired = missing["fired_after_seconds"].as_f64().unwrap();
    let best = missing["predicted"]["best_seconds"].as_f64().unwrap();
    let worst = missing["predicted"]["worst_seconds"].as_f64().unwrap();
    assert!(fired >= best - 60.0 && fired <= worst + 60.0, "{missing:#}");
    assert!(
        missing["resolved_after_seconds"].as_f64().is_some(),
        "{missing:#}"
    );
}

#[test]
fn an_alert_that_never_fired_live_is_not_said_to_have_resolved() {
    // The shifted model lets the watch give up after 5 s of wall clock
    // (5 minutes here), long before a 30-minute `for` ends.
    let (code, ledger, stderr) = ledger_of(
        &[
            "tests/coverage-fixtures/unfired.yaml",
            "--proof",
            "live",
            "--scrape-interval",
            "30s",
            "--evaluation-interval",
            "30s",
        ],
        &[("FIREDRILL_COVERAGE_WRONG_MODEL", "DiskFillingSlowly=-1795")],
    );
    assert_eq!(code, 1, "{ledger:#}\n{stderr}");
    let slow = line(&ledger, "DiskFillingSlowly");
    assert_eq!(slow["verdict"], "late", "{slow:#}");
    assert!(slow["fired_after_seconds"].is_null(), "{slow:#}");
    assert!(slow["resolved_after_seconds"].is_null(), "{slow:#}");
    let why = slow["why"].as_str().unwrap();
    assert!(
        why.contains("it did not fire within") && !why.contains("resolved"),
        "{why}"
    );
}

/// The pids of processes whose command line mentions `text`.
fn processes_mentioning(text: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(text))
                .unwrap_or(false)
        })
        .collect()
}

#[test]
fn an_interrupted_live_run_leaves_no_child_and_no_temporary_directory() {
    support::require_prometheus();
    support::require_alertmanager();
    let tmp = tempfile::tempdir().unwrap();
    let tmp_text = tmp.path().display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args([
            "coverage",
            "tests/coverage-fixtures/live-verdicts",
            "--proof",
            "live",
        ])
        .current_dir(repo())
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // Both children up: Prometheus and Alertmanager run from directories
    // under TMPDIR.
    while processes_mentioning(&tmp_text).len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the live stack did not start"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "firedrill ended before the live proof"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    support::interrupt_coverage(&mut child, started);
    assert_eq!(
        processes_mentioning(&tmp_text),
        Vec::<u32>::new(),
        "a child still runs"
    );
    let left: Vec<PathBuf> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
