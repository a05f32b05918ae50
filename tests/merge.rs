//! `firedrill merge`: shard reports combine into exactly the report a single
//! run of the same recorded traffic would give, check by check; and a run
//! split over two processes against one Prometheus merges into one verdict.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::scenario::{demo_http_fault, Phase, Scenario, PREDICT};
use crate::support::{self, prometheus_for, repo, DemoGateway};
use firedrill::checks;
use firedrill::load::{Outcome, PhaseStats};
use firedrill::plan::Shard;
use firedrill::report::merge::merge;
use firedrill::report::Report;

/// Deterministic traffic for one phase: (second, outcome, latency).
fn samples(phase: usize, errors_every: u64) -> Vec<(u32, Outcome, Duration)> {
    let mut state = 0x2545_F491_4F6C_DD1Du64 ^ (phase as u64 + 1);
    (0..2000u64)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let latency = Duration::from_micros(500 + state % 40_000);
            let outcome = if errors_every > 0 && i % errors_every == 1 {
                Outcome::Status(503)
            } else if i % 97 == 0 {
                Outcome::Status(400)
            } else {
                Outcome::Status(200)
            };
            ((i / 100) as u32, outcome, latency)
        })
        .collect()
}

#[test]
fn shards_merge_into_exactly_the_single_runs_verdicts() {
    let base = Report::read(&repo().join("reports/example/report.json")).unwrap();
    let mut single = base.clone();
    let mut shards = [base.clone(), base.clone()];
    for (i, phase) in base.observations.phases.iter().enumerate() {
        if phase.stats.is_none() {
            continue;
        }
        // Every 150th request fails (all odd): 1.33% of shard 1's share, none of shard
        // 0's, 0.67% of the whole — under the 1% bound only when merged.
        let all = samples(i, 150);
        let (odd, even): (Vec<_>, Vec<_>) = all.iter().enumerate().partition(|(j, _)| j % 2 == 1);
        let strip = |v: Vec<(usize, &(u32, Outcome, Duration))>| {
            v.into_iter().map(|(_, s)| *s).collect::<Vec<_>>()
        };
        single.observations.phases[i].stats = Some(PhaseStats::from_samples(&all));
        shards[0].observations.phases[i].stats = Some(PhaseStats::from_samples(&strip(even)));
        shards[1].observations.phases[i].stats = Some(PhaseStats::from_samples(&strip(odd)));
    }
    single.verdicts = checks::evaluate(&single.plan, &single.observations);
    for (index, shard) in shards.iter_mut().enumerate() {
        shard.plan.shard = Some(Shard {
            index: index as u32,
            count: 2,
        });
        shard.verdicts = checks::evaluate(&shard.plan, &shard.observations);
    }
    let error_check = "checks[5].client";
    let status_of = |r: &Report, id: &str| r.verdicts.iter().find(|v| v.id == id).unwrap().status;
    assert_eq!(
        status_of(&shards[1], error_check),
        checks::Status::Fail,
        "one shard alone fails"
    );

    let merged = merge(vec![
        ("a".into(), shards[0].clone()),
        ("b".into(), shards[1].clone()),
    ])
    .unwrap();
    for (m, s) in merged
        .observations
        .phases
        .iter()
        .zip(&single.observations.phases)
    {
        assert_eq!(
            m.stats, s.stats,
            "phase {}: merged traffic equals the whole",
            m.name
        );
    }
    assert_eq!(merged.verdicts.len(), single.verdicts.len());
    for (m, s) in merged.verdicts.iter().zip(&single.verdicts) {
        assert_eq!(m.id, s.id);
        assert_eq!(m.status, s.status, "{}", m.id);
        assert_eq!(m.summary, s.summary, "{}", m.id);
        assert_eq!(m.evidence, s.evidence, "{}", m.id);
    }
    assert_eq!(
        status_of(&merged, error_check),
        checks::Status::Pass,
        "the whole run passes"
    );
    assert!(merged.plan.shard.is_none());
}

#[test]
fn merge_refuses_what_is_not_one_run() {
    let base = Report::read(&repo().join("reports/example/report.json")).unwrap();
    let shard = |index, count| {
        let mut r = base.clone();
        r.plan.shard = Some(Shard { index, count });
        ("r".to_string(), r)
    };
    assert!(
        merge(vec![("whole".into(), base.clone())]).is_err(),
        "not a shard"
    );
    let missing = merge(vec![shard(0, 3), shard(1, 3)]).unwrap_err();
    assert!(
        missing.to_string().contains("shard 2 of 3 appears 0 times"),
        "{missing}"
    );
    let twice = merge(vec![shard(0, 2), shard(0, 2)]).unwrap_err();
    assert!(twice.to_string().contains("appears 2 times"), "{twice}");
    let mut other = shard(1, 2);
    other.1.scenario.source_text.push_str("\n# edited");
    assert!(merge(vec![shard(0, 2), other])
        .unwrap_err()
        .to_string()
        .contains("different scenario"));
}

#[test]
fn a_run_split_over_two_processes_merges_into_one_verdict() {
    let demo = DemoGateway::start();
    let prometheus = prometheus_for(&demo);
    prometheus.wait_until_scraping();
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::new("split")
        .target_url(&demo.gateway)
        .prometheus_url(&prometheus.url())
        .phase(
            Phase::new("healthy")
                .duration("10s")
                .rate("40/s")
                .request(PREDICT),
        )
        .phase(
            Phase::new("errors")
                .duration("20s")
                .rate("40/s")
                .request(PREDICT)
                .fault(&demo_http_fault(&demo.admin, "backend_error_ratio: 0.5")),
        )
        .check("{ alert: GatewayHighErrorRate, silent_during: healthy }")
        .check("{ alert: GatewayHighErrorRate, fires_within: 16s, after: errors.start }")
        .check("{ slo: error_ratio, below: 1%, during: healthy, source: client }")
        .write(&dir.path().join("split.yaml"));
    let shards: Vec<_> = (0..2)
        .map(|i| {
            let out = dir.path().join(format!("shard-{i}"));
            let child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
                .args([
                    "run",
                    &scenario,
                    "--quiet",
                    "--shard",
                    &format!("{i}/2"),
                    "--out",
                ])
                .arg(&out)
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            (child, out)
        })
        .collect();
    let mut outs = Vec::new();
    for (mut child, out) in shards {
        child.wait().unwrap();
        outs.push(out.join("report.json"));
    }
    let merged_dir = dir.path().join("merged");
    let merged = support::firedrill(&[
        "merge",
        outs[0].to_str().unwrap(),
        outs[1].to_str().unwrap(),
        "--out",
        merged_dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&merged.stderr);
    assert_eq!(merged.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(merged_dir.join("report.json")).unwrap())
            .unwrap();
    let healthy = report["observations"]["phases"][0]["stats"]["counts"]["requests"]
        .as_u64()
        .unwrap();
    assert!(
        (398..=402).contains(&healthy),
        "40/s for 10s split in two: {healthy}"
    );
    assert!(
        report["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["status"] == "pass"),
        "{:#}",
        report["verdicts"]
    );
    assert!(merged_dir.join("report.html").is_file());
}
