//! `firedrill rules check` on a corpus of real-world-style rule files
//! (`tests/rules-corpus/`, in subfolders, read as one directory): the timing
//! model gives a time for the alerts the README says (exactly), each lint fires
//! exactly where the corpus has the mistake it names, the timing and the
//! lints agree on what cannot fire, intervals come from the monitors that
//! give them, and what rests only on an assumed interval is shown without
//! failing the check. Offline: no Prometheus runs here.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::firedrill;
use serde_json::Value;

const CORPUS: &str = "tests/rules-corpus";

fn check(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["rules", "check", "--json"];
    all.extend_from_slice(args);
    let out = firedrill(&all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), report)
}

fn file_of(origin: &str) -> String {
    origin
        .split('#')
        .next()
        .unwrap()
        .trim_start_matches(&format!("{CORPUS}/"))
        .to_string()
}

/// Per rule file, the lint ids that fire (sorted; `~` marks a finding that
/// rests only on an assumption: shown, not counted).
const EXPECTED: &[(&str, &[&str])] = &[
    ("apps/batch/jobs.yaml", &[]),
    // rate() and irate() over 1m at the ServiceMonitor's 30s: one missed scrape.
    (
        "apps/checkout/rules.yaml",
        &["range/too-short", "range/too-short"],
    ),
    (
        "apps/gateway/rules.yaml",
        &[
            "for/below-interval",
            "histogram/le-dropped",
            "histogram/threshold-between-buckets",
            "histogram/threshold-beyond-buckets",
            "ratio/self-division",
        ],
    ),
    (
        "apps/payments/rules.yaml",
        &["for/below-interval", "histogram/le-dropped"],
    ),
    ("blackbox/blackbox.yaml", &[]),
    ("databases/mysql.yaml", &[]),
    // At the ServiceMonitor's 60s: increase()[1m] holds one sample, rate()[3m] three.
    (
        "databases/postgres.yaml",
        &["range/too-short", "range/too-short"],
    ),
    // At the PodMonitor's 60s: delta(), changes() and increase() over 1m.
    (
        "databases/redis.yaml",
        &["range/too-short", "range/too-short", "range/too-short"],
    ),
    // apiserver_request_duration_seconds has a bucket at 4s (the known
    // layout of Kubernetes 1.23+): no finding.
    ("kubernetes/apiserver.yaml", &[]),
    // CoreDNS's buckets double from 0.25ms: 4s lies in (2.048s, 4.096s].
    (
        "kubernetes/coredns.yaml",
        &["histogram/threshold-between-buckets"],
    ),
    // etcd's commit, fsync and round-trip buckets double from 1ms or 0.1ms
    // (0.25s, 0.5s and 0.15s are none of them); gRPC's are not in the table.
    (
        "kubernetes/etcd.yaml",
        &[
            "histogram/threshold-between-buckets",
            "histogram/threshold-between-buckets",
            "histogram/threshold-between-buckets",
            "histogram/threshold-between-buckets~",
            "up/eq-zero",
        ],
    ),
    ("kubernetes/kube-state-metrics.yaml", &["count/never-zero"]),
    // kubelet_pod_worker_duration_seconds has the default buckets (to 10s).
    (
        "kubernetes/kubelet.yaml",
        &["histogram/threshold-beyond-buckets"],
    ),
    ("kubernetes/resources.yaml", &[]),
    ("kubernetes/storage.yaml", &[]),
    ("messaging/kafka.yaml", &["count/never-zero", "up/eq-zero"]),
    ("messaging/rabbitmq.yaml", &[]),
    ("node/host.yaml", &[]),
    ("node/node-mixin.yaml", &[]),
    ("prometheus/alertmanager.yaml", &[]),
    (
        "prometheus/prometheus-self.yaml",
        // Prometheus's own buckets reach 120s: 30s lies in (20s, 60s].
        &[
            "histogram/threshold-between-buckets",
            "up/eq-zero",
            "up/eq-zero",
        ],
    ),
    (
        "targets/scrape-health.yaml",
        &["up/eq-zero", "up/eq-zero", "up/eq-zero"],
    ),
    ("thanos/compact.yaml", &[]),
    // Thanos's HTTP buckets reach 720s: 40s lies in (30s, 60s].
    (
        "thanos/query.yaml",
        &["histogram/threshold-between-buckets"],
    ),
    ("thanos/sidecar.yaml", &[]),
    (
        "thanos/store.yaml",
        // The objstore's buckets are known; the series gate's are not.
        &[
            "histogram/threshold-between-buckets",
            "histogram/threshold-between-buckets~",
        ],
    ),
    ("web/haproxy.yaml", &[]),
    ("web/istio.yaml", &[]),
    (
        "web/nginx.yaml",
        // nginx-lua-prometheus has a bucket at 3s; ingress-nginx the
        // defaults, where 0.3s lies in (0.25s, 0.5s].
        &["histogram/threshold-between-buckets"],
    ),
];

fn findings_by_file(report: &Value) -> BTreeMap<String, Vec<String>> {
    let mut by_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for alert in report["alerts"].as_array().unwrap() {
        by_file
            .entry(file_of(alert["origin"].as_str().unwrap()))
            .or_default();
    }
    for finding in report["findings"].as_array().unwrap() {
        let assumed = if finding["assumption"].is_null() {
            ""
        } else {
            "~"
        };
        by_file
            .entry(file_of(finding["origin"].as_str().unwrap()))
            .or_default()
            .push(format!("{}{assumed}", finding["id"].as_str().unwrap()));
    }
    for ids in by_file.values_mut() {
        ids.sort();
    }
    by_file
}

#[test]
fn the_corpus_is_timed_and_each_lint_fires_only_where_it_should() {
    let (code, report) = check(&[CORPUS]);
    // Counted findings: exit 1.
    assert_eq!(code, 1, "{:#}", report["findings"]);
    assert_eq!(
        report["intervals_from"],
        "tests/rules-corpus/prometheus/prometheus.yml"
    );

    // Coverage: alerts with best/worst times (or an honest "never") for at
    // least one step, over all alerts but those reading a recorded series
    // no file given defines.
    let coverage = &report["coverage"];
    eprintln!(
        "coverage: {} of {} alerts timed ({}%), {} unknowable; not timed: {:#}",
        coverage["timed"],
        coverage["alerts"].as_u64().unwrap() - coverage["unknowable"].as_u64().unwrap(),
        coverage["percent"],
        coverage["unknowable"],
        coverage["not_timed"]
    );
    let alerts = report["alerts"].as_array().unwrap();
    assert_eq!(coverage["alerts"].as_u64().unwrap() as usize, alerts.len());
    assert!(
        alerts.len() >= 200,
        "the corpus has {} alerts",
        alerts.len()
    );
    assert_eq!(
        coverage["unknowable"], 2,
        "KubeCPUOvercommit, KubeMemoryOvercommit"
    );
    let timed = alerts
        .iter()
        .filter(|a| !a["timings"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(coverage["timed"].as_u64().unwrap() as usize, timed);
    // The figures the README quotes, exactly: 231 of the 239 alerts it can
    // know (96.7%), 221 with a finite time for some step, 10 an honest never.
    let finite = alerts
        .iter()
        .filter(|a| {
            a["timings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| !t["firing"].is_null())
        })
        .count();
    assert_eq!(
        (
            alerts.len(),
            timed,
            coverage["percent"].as_f64().unwrap(),
            finite,
            timed - finite
        ),
        (241, 231, 96.7, 221, 10),
        "update the README's figures with these"
    );

    // Exactly these lints, file by file.
    let found = findings_by_file(&report);
    let expected: BTreeMap<String, Vec<String>> = EXPECTED
        .iter()
        .map(|(file, ids)| {
            (
                file.to_string(),
                ids.iter().map(|i| i.to_string()).collect(),
            )
        })
        .collect();
    let files: BTreeSet<&String> = found.keys().chain(expected.keys()).collect();
    let mismatches: Vec<String> = files
        .into_iter()
        .filter(|f| found.get(*f) != expected.get(*f))
        .map(|f| {
            format!(
                "{f}: found {:?}, expected {:?}",
                found.get(f),
                expected.get(f)
            )
        })
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// One source of truth: a finding that says a rule (or the part a step
/// moves) cannot fire is the timing's "never", and every "never" or "may
/// not fire" that rests on a finding names one the report has.
#[test]
fn the_timing_and_the_lints_agree_on_what_cannot_fire() {
    let (_, report) = check(&[CORPUS]);
    let alerts = report["alerts"].as_array().unwrap();
    let findings = report["findings"].as_array().unwrap();
    let ids_of = |alert: &str| -> BTreeSet<&str> {
        findings
            .iter()
            .filter(|f| f["subject"] == alert)
            .map(|f| f["id"].as_str().unwrap())
            .collect()
    };
    let mut checked = 0;
    for finding in findings {
        let cannot_fire = match finding["id"].as_str().unwrap() {
            "histogram/le-dropped" => true,
            // In an `unless` guard it is the guard that never acts.
            "count/never-zero" => !finding["reason"]
                .as_str()
                .unwrap()
                .contains("guard never silences"),
            "histogram/threshold-beyond-buckets" => finding["severity"] == "error",
            "range/too-short" => finding["reason"]
                .as_str()
                .unwrap()
                .contains("can never hold"),
            _ => false,
        };
        if !cannot_fire {
            continue;
        }
        let alert = alerts
            .iter()
            .find(|a| a["alert"] == finding["subject"])
            .unwrap();
        let timings = alert["timings"].as_array().unwrap();
        assert!(!timings.is_empty(), "{alert:#}");
        for timing in timings {
            assert!(timing["firing"].is_null(), "{}: {timing:#}", alert["alert"]);
            assert_eq!(
                timing["finding"], finding["id"],
                "{}: {timing:#}",
                alert["alert"]
            );
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} cannot-fire findings checked");
    for alert in alerts {
        for timing in alert["timings"].as_array().unwrap() {
            if let Some(id) = timing["finding"].as_str() {
                assert!(
                    ids_of(alert["alert"].as_str().unwrap()).contains(id),
                    "{} rests on {id}, which the report does not have: {timing:#}",
                    alert["alert"]
                );
            }
        }
    }
}

#[test]
fn intervals_come_from_the_monitors_that_name_the_job() {
    let (_, report) = check(&[CORPUS]);
    let scrape_of = |alert: &str| {
        report["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["alert"] == alert)
            .unwrap_or_else(|| panic!("no {alert}"))["scrape_interval_seconds"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(scrape_of("PostgresqlDeadLocks"), 60.0, "its ServiceMonitor");
    assert_eq!(
        scrape_of("RedisRejectedConnections"),
        60.0,
        "its PodMonitor (job cache/redis)"
    );
    assert_eq!(
        scrape_of("CheckoutHighErrorRate"),
        30.0,
        "its ServiceMonitor"
    );
    assert_eq!(
        scrape_of("HostOutOfMemory"),
        15.0,
        "Prometheus's global interval"
    );
    let group_of = |alert: &str| {
        report["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["alert"] == alert)
            .unwrap()["group_interval_seconds"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(group_of("BackupTooOld"), 60.0, "the group's own interval");
    assert_eq!(group_of("HostOutOfMemory"), 30.0);
}

/// Without a Prometheus configuration, the 1m default is assumed, said once,
/// and what rests only on it is shown without failing the check — unless
/// `--strict`.
#[test]
fn findings_resting_on_an_assumed_interval_do_not_fail_the_check() {
    // HAProxy's and Istio's rules (nginx's has a counted finding on known
    // buckets, which rests on no interval).
    let haproxy = format!("{CORPUS}/web/haproxy.yaml");
    let istio = format!("{CORPUS}/web/istio.yaml");
    let (code, report) = check(&[&haproxy, &istio]);
    assert_eq!(code, 0, "{:#}", report["findings"]);
    let findings = report["findings"].as_array().unwrap();
    let range: Vec<&Value> = findings
        .iter()
        .filter(|f| f["id"] == "range/too-short")
        .collect();
    assert!(
        !range.is_empty(),
        "HAProxy's [1m] windows at an assumed 1m: {findings:#?}"
    );
    for finding in &range {
        assert!(
            finding["assumption"].as_str().unwrap().contains("1m"),
            "{finding:#}"
        );
        assert!(
            finding["reason"]
                .as_str()
                .unwrap()
                .starts_with("at a scrape interval above"),
            "{finding:#}"
        );
    }
    let notes = report["notes"].as_array().unwrap();
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.as_str().unwrap().contains("assuming"))
            .count(),
        1,
        "said once: {notes:#?}"
    );
    let (strict, _) = check(&[&haproxy, &istio, "--strict"]);
    assert_eq!(strict, 1);
    // Given the interval they were written for, the findings go.
    let (code, report) = check(&[
        &haproxy,
        &istio,
        "--scrape-interval",
        "15s",
        "--evaluation-interval",
        "30s",
    ]);
    assert_eq!(code, 0);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["id"] != "range/too-short"),
        "{:#}",
        report["findings"]
    );
}

#[test]
fn a_directory_without_rules_names_itself_and_what_was_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("deploy/app")).unwrap();
    std::fs::write(
        dir.path().join("deploy/app/deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: app }\n",
    )
    .unwrap();
    let path = dir.path().to_str().unwrap();
    let out = firedrill(&["rules", "check", path]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(path) && stderr.contains(".yaml"),
        "{stderr}"
    );
    // Rules in a subfolder are found.
    std::fs::write(
        dir.path().join("deploy/app/alerts.yaml"),
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: node_load1 > 10\n",
    )
    .unwrap();
    let (code, report) = check(&[
        path,
        "--scrape-interval",
        "15s",
        "--evaluation-interval",
        "30s",
    ]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["alerts"][0]["alert"], "A");
}
