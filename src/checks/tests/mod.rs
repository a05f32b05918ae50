//! Unit tests of the checks: each kind judged on hand-made records, for
//! pass, fail and inconclusive and the edges between them — no Prometheus,
//! no traffic. The end-to-end tests in `tests/` judge the same functions on
//! records a real drill made.
//!
//! Times are Prometheus seconds; the run starts at 1000, phase `healthy`
//! runs 1000–1060, `errors` 1060–1120, and observation ends at 1200 unless a
//! test says otherwise. The alert's group is evaluated every 10 s with
//! `for: 30s`.

//!
//! The fixtures are here; the tests sit beside the kinds they judge
//! (`alerts`, `slo`), the notification kinds' (`paging`) and interrupted
//! runs' (`interruption`) with fixtures of their own. Evidence is read as
//! report.json writes it (`evidence`), so the tests hold its keys too.

mod alerts;
mod interruption;
mod paging;
mod relative;
mod slo;

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::record::{
    AlertHistory, AlertRuleInfo, Episode, Observations, Outcome, PhaseRecord, PhaseStats,
    RuleHealth, RunStatus, WatchLog,
};
use crate::setup::{AlertRef, LoadModel, PhasePlan, RateShape, ServiceMetrics};

const ALERT: &str = "GatewayHighErrorRate";
const GROUP: &str = "gateway";

/// A plan as judging sees it: its checks, phases and service metrics.
struct TestPlan {
    checks: Vec<CheckPlan>,
    phases: Vec<PhasePlan>,
    service_metrics: ServiceMetrics,
}

impl ToJudge for TestPlan {
    fn checks(&self) -> &[CheckPlan] {
        &self.checks
    }

    fn phases(&self) -> &[PhasePlan] {
        &self.phases
    }

    fn service_metrics(&self) -> &ServiceMetrics {
        &self.service_metrics
    }
}

fn alert(name: &str) -> AlertRef {
    AlertRef::parse(name).expect("an alert name")
}

/// A verdict's evidence as report.json writes it.
fn evidence(verdict: &Verdict) -> serde_json::Value {
    verdict.evidence.to_json().expect("evidence is JSON")
}

fn phase_plan(name: &str) -> PhasePlan {
    PhasePlan {
        name: name.into(),
        model: LoadModel::Open {
            rate: RateShape {
                from: 10.0,
                to: 10.0,
            },
            duration: Duration::from_secs(60),
            connections: 8,
        },
        requests: Vec::new(),
        fault: None,
        timeout: Duration::from_secs(10),
    }
}

fn plan(checks: Vec<CheckKind>) -> TestPlan {
    TestPlan {
        service_metrics: ServiceMetrics::default(),
        phases: vec![phase_plan("healthy"), phase_plan("errors")],
        checks: checks
            .into_iter()
            .enumerate()
            .map(|(i, kind)| CheckPlan {
                id: format!("checks[{i}]"),
                name: format!("check {i}"),
                kind,
            })
            .collect(),
    }
}

/// `count` answers of `status`, each taking `latency_ms`, over 60 seconds.
fn traffic(count: u32, status: u16, latency_ms: u64) -> PhaseStats {
    let samples: Vec<_> = (0..count)
        .map(|i| {
            (
                i * 60 / count.max(1),
                Outcome::Status(status),
                Duration::from_millis(latency_ms),
            )
        })
        .collect();
    PhaseStats::from_samples(&samples)
}

fn phase_record(name: &str, from: f64, to: f64, stats: Option<PhaseStats>) -> PhaseRecord {
    PhaseRecord {
        name: name.into(),
        started_at: from,
        ended_at: to,
        planned_seconds: to - from,
        fault: None,
        fault_error: None,
        stats,
        load_error: None,
        cut_short: false,
    }
}

/// Evaluation ticks of `GROUP` every 10 s from `from` to `to`.
fn ticks(from: f64, to: f64) -> Vec<f64> {
    let mut t = from;
    let mut found = Vec::new();
    while t <= to {
        found.push(t);
        t += 10.0;
    }
    found
}

/// A completed run with both phases, the alert's rule loaded and evaluated
/// all along, and no episode yet.
fn observations() -> Observations {
    let mut rules = BTreeMap::new();
    rules.insert(
        ALERT.to_string(),
        AlertRuleInfo {
            group: GROUP.into(),
            file: "rules.yml".into(),
            interval_seconds: 10.0,
            for_seconds: 30.0,
            query: "sum(rate(errors[1m])) / sum(rate(total[1m])) > 0.05".into(),
            health: RuleHealth::Ok,
            last_error: None,
        },
    );
    let mut alerts = BTreeMap::new();
    alerts.insert(ALERT.to_string(), AlertHistory::default());
    let mut watch = WatchLog::default();
    watch.evaluations.insert(GROUP.into(), ticks(995.0, 1200.0));
    Observations {
        status: RunStatus::Completed,
        clock_offset_seconds: 0.0,
        run_start: 1000.0,
        run_end: 1120.0,
        observed_until: 1200.0,
        scraped_until: Some(1199.0),
        phases: vec![
            phase_record("healthy", 1000.0, 1060.0, Some(traffic(600, 200, 20))),
            phase_record("errors", 1060.0, 1120.0, Some(traffic(600, 200, 20))),
        ],
        rules,
        alerts,
        conditions: BTreeMap::new(),
        service: BTreeMap::new(),
        service_windows: BTreeMap::new(),
        service_latency: None,
        dashboards: BTreeMap::new(),
        watch,
        alertmanager: None,
        prometheus_retries: 0,
        notes: Vec::new(),
        baseline: None,
    }
}

fn episode(pending: Option<f64>, firing: Option<f64>, resolved: Option<f64>) -> Episode {
    Episode {
        labels: BTreeMap::from([("alertname".to_string(), ALERT.to_string())]),
        pending_at: pending,
        firing_at: firing,
        last_active: resolved
            .map(|r| r - 10.0)
            .or(firing)
            .or(pending)
            .unwrap_or(0.0),
        resolved_at: resolved,
    }
}

fn with_episodes(mut observations: Observations, episodes: Vec<Episode>) -> Observations {
    observations.alerts.insert(
        ALERT.to_string(),
        AlertHistory {
            episodes,
            error: None,
        },
    );
    observations
}

/// The one verdict of a plan with one check.
fn judge(kind: CheckKind, observations: &Observations) -> Verdict {
    let plan = plan(vec![kind]);
    let mut verdicts = evaluate(&plan, observations);
    assert_eq!(verdicts.len(), 1);
    verdicts.remove(0)
}

fn number(verdict: &Verdict, key: &str) -> f64 {
    evidence(verdict)
        .get(key)
        .and_then(|v| v.as_f64())
        .unwrap_or_else(|| panic!("no number `{key}` in {:?}", verdict.evidence))
}

/// Every kind's evidence as drills wrote it before evidence was typed: one
/// verdict per kind, status and set of keys, from a complete and an
/// interrupted run of every kind (`verdicts.json`). Read back and written
/// again, each is the same JSON: no key renamed, none dropped.
#[test]
fn verdicts_in_report_json_read_back_and_write_the_same() {
    let written: serde_json::Value =
        serde_json::from_str(include_str!("verdicts.json")).expect("fixture is JSON");
    let verdicts: Vec<Verdict> =
        serde_json::from_value(written.clone()).expect("every verdict reads back");
    assert_eq!(
        serde_json::to_value(&verdicts).expect("verdicts are JSON"),
        written
    );
    let kinds: std::collections::HashSet<Kind> = verdicts.iter().map(Verdict::kind).collect();
    assert_eq!(kinds.len(), Kind::ALL.len(), "every kind is in the fixture");
}
