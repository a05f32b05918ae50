//! Unit tests of the checks: each kind judged on hand-made records, for
//! pass, fail and inconclusive and the edges between them — no Prometheus,
//! no traffic. The end-to-end tests in `tests/` judge the same functions on
//! records a real drill made.
//!
//! Times are Prometheus seconds; the run starts at 1000, phase `healthy`
//! runs 1000–1060, `errors` 1060–1120, and observation ends at 1200 unless a
//! test says otherwise. The alert's group is evaluated every 10 s with
//! `for: 30s`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::plan::{
    Anchor, CheckKind, CheckPlan, LoadModel, PhasePlan, Plan, PrometheusPlan, RateShape,
    ServiceMetrics, Source, TargetPlan,
};
use crate::record::{
    AlertHistory, AlertRuleInfo, ConditionObservation, DashboardObservation, Episode, Observations,
    Outcome, PanelResult, PhaseRecord, PhaseStats, QueryFailure, RunStatus, ServiceObservation,
    WatchLog,
};

const ALERT: &str = "GatewayHighErrorRate";
const GROUP: &str = "gateway";

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

fn plan(checks: Vec<CheckKind>) -> Plan {
    Plan {
        name: "unit".into(),
        description: None,
        file: PathBuf::from("unit.yaml"),
        source_text: String::new(),
        time_scale: 1.0,
        target: TargetPlan::Embedded {
            limits: Default::default(),
        },
        prometheus: PrometheusPlan::Embedded {
            rule_files: Vec::new(),
            scrape_interval: None,
            evaluation_interval: None,
        },
        alertmanager: None,
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
        shard: None,
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
            health: "ok".into(),
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
        service_latency: None,
        dashboards: BTreeMap::new(),
        watch,
        alertmanager: None,
        prometheus_retries: 0,
        notes: Vec::new(),
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
    verdict
        .evidence
        .get(key)
        .and_then(|v| v.as_f64())
        .unwrap_or_else(|| panic!("no number `{key}` in {:?}", verdict.evidence))
}

fn fires_within(seconds: u64, anchor: Anchor) -> CheckKind {
    CheckKind::FiresWithin {
        alert: ALERT.into(),
        deadline: Duration::from_secs(seconds),
        anchor,
    }
}

const ERRORS_START: Anchor = Anchor::PhaseStart { phase: 1 };

// ---- fires_within ----

#[test]
fn an_alert_that_fires_before_the_deadline_passes_with_its_times() {
    let observations = with_episodes(
        observations(),
        vec![episode(Some(1070.0), Some(1100.0), None)],
    );
    let verdict = judge(fires_within(60, ERRORS_START), &observations);
    assert_eq!(verdict.status, Status::Pass, "{}", verdict.summary);
    assert_eq!(verdict.kind, Kind::FiresWithin);
    assert_eq!(number(&verdict, "time_to_fire_seconds"), 40.0);
    assert_eq!(number(&verdict, "time_to_pending_seconds"), 10.0);
    assert_eq!(number(&verdict, "anchor_at_seconds"), 60.0);
    assert_eq!(number(&verdict, "rule_for_seconds"), 30.0);
}

#[test]
fn firing_exactly_at_the_deadline_passes_and_a_tick_later_fails() {
    let at = with_episodes(observations(), vec![episode(None, Some(1120.0), None)]);
    assert_eq!(
        judge(fires_within(60, ERRORS_START), &at).status,
        Status::Pass
    );
    let late = with_episodes(observations(), vec![episode(None, Some(1130.0), None)]);
    let verdict = judge(fires_within(60, ERRORS_START), &late);
    assert_eq!(verdict.status, Status::Fail);
    assert!(
        verdict.summary.contains("later than the deadline"),
        "{}",
        verdict.summary
    );
}

#[test]
fn an_alert_that_never_fires_fails_once_the_deadline_was_watched() {
    let verdict = judge(fires_within(60, ERRORS_START), &observations());
    assert_eq!(verdict.status, Status::Fail);
    assert!(verdict.summary.contains("did not fire within"));
    assert_eq!(verdict.evidence["went_pending"], false);
}

#[test]
fn an_alert_not_yet_firing_when_observation_ended_before_the_deadline_is_inconclusive() {
    let mut observations = observations();
    observations.observed_until = 1100.0;
    let verdict = judge(fires_within(60, ERRORS_START), &observations);
    assert_eq!(verdict.status, Status::Inconclusive, "{}", verdict.summary);
}

#[test]
fn an_alert_already_firing_at_the_anchor_fails_the_drill() {
    let observations = with_episodes(observations(), vec![episode(None, Some(1030.0), None)]);
    let verdict = judge(fires_within(60, ERRORS_START), &observations);
    assert_eq!(verdict.status, Status::Fail);
    assert!(
        verdict.summary.contains("already firing"),
        "{}",
        verdict.summary
    );
}

#[test]
fn an_episode_that_resolved_before_the_anchor_does_not_count() {
    let observations = with_episodes(
        observations(),
        vec![
            episode(None, Some(1010.0), Some(1030.0)),
            episode(Some(1065.0), Some(1095.0), None),
        ],
    );
    let verdict = judge(fires_within(60, ERRORS_START), &observations);
    assert_eq!(verdict.status, Status::Pass, "{}", verdict.summary);
    assert_eq!(number(&verdict, "time_to_fire_seconds"), 35.0);
}

#[test]
fn a_deadline_shorter_than_for_is_called_impossible_and_one_under_for_plus_an_evaluation_tight() {
    let late = with_episodes(observations(), vec![episode(None, Some(1100.0), None)]);
    let impossible = judge(fires_within(20, ERRORS_START), &late);
    assert_eq!(impossible.status, Status::Fail);
    assert!(
        impossible.summary.contains("cannot be met"),
        "{}",
        impossible.summary
    );
    let tight = judge(fires_within(35, ERRORS_START), &late);
    assert_eq!(tight.status, Status::Fail);
    assert!(
        tight.summary.contains("even a working rule can miss it"),
        "{}",
        tight.summary
    );
}

#[test]
fn time_is_counted_from_when_the_condition_first_held() {
    let mut observations = with_episodes(
        observations(),
        vec![episode(Some(1080.0), Some(1110.0), None)],
    );
    observations.conditions.insert(
        "checks[0]".into(),
        ConditionObservation {
            expr: "x > 0.05".into(),
            searched_from: 1060.0,
            searched_to: 1200.0,
            step_seconds: 0.5,
            first_true: Some(1075.0),
            error: None,
        },
    );
    let anchor = Anchor::Condition {
        phase: 1,
        expr: None,
    };
    let verdict = judge(fires_within(45, anchor.clone()), &observations);
    assert_eq!(verdict.status, Status::Pass, "{}", verdict.summary);
    assert_eq!(number(&verdict, "time_to_fire_seconds"), 35.0);
    assert_eq!(verdict.evidence["anchor"], "the condition first held");

    let mut never = observations.clone();
    never
        .conditions
        .get_mut("checks[0]")
        .expect("set above")
        .first_true = None;
    let verdict = judge(fires_within(45, anchor.clone()), &never);
    assert_eq!(verdict.status, Status::Inconclusive);
    assert!(
        verdict.summary.contains("never held"),
        "{}",
        verdict.summary
    );

    let mut failed = observations;
    failed
        .conditions
        .get_mut("checks[0]")
        .expect("set above")
        .error = Some(QueryFailure {
        message: "timeout".into(),
        unavailable: true,
    });
    assert_eq!(
        judge(fires_within(45, anchor), &failed).status,
        Status::Inconclusive
    );
}

#[test]
fn an_alert_prometheus_does_not_have_or_cannot_evaluate_fails() {
    let mut missing = observations();
    missing.rules.clear();
    let verdict = judge(fires_within(60, ERRORS_START), &missing);
    assert_eq!(verdict.status, Status::Fail);
    assert!(
        verdict.summary.contains("not loaded"),
        "{}",
        verdict.summary
    );

    let mut broken = observations();
    let rule = broken.rules.get_mut(ALERT).expect("loaded");
    rule.health = "err".into();
    rule.last_error = Some("many-to-many matching not allowed".into());
    let verdict = judge(fires_within(60, ERRORS_START), &broken);
    assert_eq!(verdict.status, Status::Fail);
    assert!(
        verdict.summary.contains("many-to-many"),
        "{}",
        verdict.summary
    );
}

#[test]
fn an_alert_history_prometheus_could_not_give_is_inconclusive() {
    let mut observations = observations();
    observations.alerts.insert(
        ALERT.to_string(),
        AlertHistory {
            episodes: Vec::new(),
            error: Some(QueryFailure {
                message: "connection refused".into(),
                unavailable: true,
            }),
        },
    );
    let verdict = judge(fires_within(60, ERRORS_START), &observations);
    assert_eq!(verdict.status, Status::Inconclusive);
    assert!(verdict.summary.contains("connection refused"));
}

// ---- resolves_within ----

fn resolves_within(seconds: u64) -> CheckKind {
    CheckKind::ResolvesWithin {
        alert: ALERT.into(),
        deadline: Duration::from_secs(seconds),
        anchor: Anchor::PhaseEnd { phase: 1 },
    }
}

#[test]
fn resolving_before_the_deadline_passes_and_after_it_fails() {
    let on_time = with_episodes(
        observations(),
        vec![episode(Some(1070.0), Some(1100.0), Some(1150.0))],
    );
    let verdict = judge(resolves_within(60), &on_time);
    assert_eq!(verdict.status, Status::Pass, "{}", verdict.summary);
    assert_eq!(number(&verdict, "time_to_resolve_seconds"), 30.0);

    let late = with_episodes(
        observations(),
        vec![episode(Some(1070.0), Some(1100.0), Some(1190.0))],
    );
    let verdict = judge(resolves_within(60), &late);
    assert_eq!(verdict.status, Status::Fail);
    assert_eq!(number(&verdict, "time_to_resolve_seconds"), 70.0);
}

#[test]
fn an_alert_still_active_is_a_failure_past_the_deadline_and_inconclusive_before() {
    let active = with_episodes(
        observations(),
        vec![episode(Some(1070.0), Some(1100.0), None)],
    );
    assert_eq!(judge(resolves_within(60), &active).status, Status::Fail);
    let mut early = active;
    early.observed_until = 1150.0;
    assert_eq!(
        judge(resolves_within(60), &early).status,
        Status::Inconclusive
    );
}

#[test]
fn an_alert_that_was_never_active_has_nothing_to_resolve() {
    let verdict = judge(resolves_within(60), &observations());
    assert_eq!(verdict.status, Status::Inconclusive);
    assert!(verdict.summary.contains("never active"));
}

// ---- silent_during ----

fn silent_during(phase: usize, allow_pending: bool) -> CheckKind {
    CheckKind::SilentDuring {
        alert: ALERT.into(),
        phase,
        allow_pending,
    }
}

#[test]
fn silence_proven_by_evaluations_all_through_the_phase_passes() {
    let verdict = judge(silent_during(0, false), &observations());
    assert_eq!(verdict.status, Status::Pass, "{}", verdict.summary);
    assert_eq!(number(&verdict, "largest_evaluation_gap_seconds"), 10.0);
}

#[test]
fn firing_or_pending_inside_the_phase_fails_and_pending_can_be_allowed() {
    let firing = with_episodes(
        observations(),
        vec![episode(Some(1010.0), Some(1040.0), Some(1100.0))],
    );
    let verdict = judge(silent_during(0, true), &firing);
    assert_eq!(verdict.status, Status::Fail);
    assert!(
        verdict.summary.contains("was firing"),
        "{}",
        verdict.summary
    );

    let pending = with_episodes(
        observations(),
        vec![episode(Some(1020.0), None, Some(1040.0))],
    );
    let verdict = judge(silent_during(0, false), &pending);
    assert_eq!(verdict.status, Status::Fail);
    assert!(
        verdict.summary.contains("went pending"),
        "{}",
        verdict.summary
    );
    assert_eq!(
        judge(silent_during(0, true), &pending).status,
        Status::Pass,
        "allow_pending accepts a condition that `for` absorbs"
    );
}

#[test]
fn an_alert_firing_since_before_the_phase_fails_it() {
    let observations = with_episodes(
        observations(),
        vec![episode(Some(960.0), Some(990.0), Some(1020.0))],
    );
    let verdict = judge(silent_during(0, true), &observations);
    assert_eq!(verdict.status, Status::Fail);
    assert!(verdict.summary.contains("already when the phase began"));
}

#[test]
fn an_episode_after_the_phase_does_not_break_its_silence() {
    let observations = with_episodes(
        observations(),
        vec![episode(Some(1070.0), Some(1100.0), None)],
    );
    assert_eq!(
        judge(silent_during(0, false), &observations).status,
        Status::Pass
    );
}

#[test]
fn silence_without_proof_of_evaluation_is_inconclusive() {
    let mut gap = observations();
    let mut evaluations = ticks(995.0, 1010.0);
    evaluations.extend(ticks(1045.0, 1200.0));
    gap.watch.evaluations.insert(GROUP.into(), evaluations);
    let verdict = judge(silent_during(0, false), &gap);
    assert_eq!(verdict.status, Status::Inconclusive, "{}", verdict.summary);
    assert_eq!(number(&verdict, "largest_evaluation_gap_seconds"), 40.0);

    let mut unanswered = observations();
    unanswered
        .watch
        .failures
        .push((1030.0, "connection refused".into()));
    let verdict = judge(silent_during(0, false), &unanswered);
    assert_eq!(verdict.status, Status::Inconclusive);
    assert!(verdict.summary.contains("did not answer"));
}

#[test]
fn a_gap_of_two_evaluations_is_tolerated_and_more_is_not() {
    // Allowed: 2 × 10 s + 1 s.
    let mut tolerated = observations();
    let mut evaluations = ticks(995.0, 1015.0);
    evaluations.extend(ticks(1036.0, 1200.0));
    tolerated
        .watch
        .evaluations
        .insert(GROUP.into(), evaluations);
    assert_eq!(
        judge(silent_during(0, false), &tolerated).status,
        Status::Pass
    );
}

// ---- latency and error ratio ----

fn latency(quantile: f64, below_ms: u64, source: Source) -> CheckKind {
    CheckKind::Latency {
        quantile,
        below: Duration::from_millis(below_ms),
        phase: 0,
        source,
    }
}

#[test]
fn client_latency_passes_under_its_bound_and_fails_at_it() {
    let verdict = judge(latency(0.95, 50, Source::Client), &observations());
    assert_eq!(verdict.status, Status::Pass, "{}", verdict.summary);
    assert!((number(&verdict, "value_ms") - 20.0).abs() < 0.1);
    let verdict = judge(latency(0.95, 20, Source::Client), &observations());
    assert_eq!(verdict.status, Status::Fail, "{}", verdict.summary);
}

#[test]
fn client_latency_without_answers_or_traffic_is_inconclusive() {
    let mut no_answers = observations();
    no_answers.phases[0].stats = Some(PhaseStats::from_samples(&[(
        0,
        Outcome::Connect,
        Duration::ZERO,
    )]));
    let verdict = judge(latency(0.95, 50, Source::Client), &no_answers);
    assert_eq!(verdict.status, Status::Inconclusive);
    assert!(
        verdict.summary.contains("no request"),
        "{}",
        verdict.summary
    );

    let mut failed_load = observations();
    failed_load.phases[0].stats = None;
    failed_load.phases[0].load_error = Some("cannot resolve".into());
    assert_eq!(
        judge(latency(0.95, 50, Source::Client), &failed_load).status,
        Status::Inconclusive
    );

    let mut not_run = observations();
    not_run.phases.clear();
    assert_eq!(
        judge(latency(0.95, 50, Source::Client), &not_run).status,
        Status::Inconclusive
    );
}

fn service(value: Option<f64>, seen: f64, buckets: Vec<(f64, f64)>) -> ServiceObservation {
    ServiceObservation {
        query: "histogram_quantile(…)".into(),
        value,
        requests_seen: Some(seen),
        buckets,
        error: None,
    }
}

#[test]
fn service_latency_at_a_bucket_boundary_is_decided_by_the_exact_share() {
    let mut observations = observations();
    // 96% of 1000 requests at most 0.5 s: p95 < 500 ms holds exactly, even
    // though histogram_quantile's estimate says 0.6 s.
    let buckets = vec![(0.1, 500.0), (0.5, 960.0), (1.0, 1000.0)];
    observations.service.insert(
        "checks[0]".into(),
        service(Some(0.6), 1000.0, buckets.clone()),
    );
    let verdict = judge(latency(0.95, 500, Source::Prometheus), &observations);
    assert_eq!(verdict.status, Status::Pass, "{}", verdict.summary);
    assert!(verdict.summary.contains("exact"), "{}", verdict.summary);

    observations.service.insert(
        "checks[0]".into(),
        service(
            Some(0.4),
            1000.0,
            vec![(0.1, 500.0), (0.5, 940.0), (1.0, 1000.0)],
        ),
    );
    let verdict = judge(latency(0.95, 500, Source::Prometheus), &observations);
    assert_eq!(verdict.status, Status::Fail, "94% under the bound");
}

#[test]
fn service_latency_between_buckets_rests_on_the_estimate_and_says_so() {
    let mut observations = observations();
    observations.service.insert(
        "checks[0]".into(),
        service(Some(0.2), 1000.0, vec![(0.1, 500.0), (0.5, 990.0)]),
    );
    let verdict = judge(latency(0.95, 300, Source::Prometheus), &observations);
    assert_eq!(verdict.status, Status::Pass);
    assert!(
        verdict.summary.contains("interpolated") && verdict.summary.contains("0.1s and 0.5s"),
        "{}",
        verdict.summary
    );
}

#[test]
fn service_checks_without_data_or_without_an_answer_are_inconclusive() {
    let mut no_data = observations();
    no_data
        .service
        .insert("checks[0]".into(), service(None, 0.0, Vec::new()));
    assert_eq!(
        judge(latency(0.95, 500, Source::Prometheus), &no_data).status,
        Status::Inconclusive
    );
    let mut refused = observations();
    let mut observation = service(Some(0.1), 10.0, Vec::new());
    observation.error = Some(QueryFailure {
        message: "503".into(),
        unavailable: true,
    });
    refused.service.insert("checks[0]".into(), observation);
    assert_eq!(
        judge(latency(0.95, 500, Source::Prometheus), &refused).status,
        Status::Inconclusive
    );
    assert_eq!(
        judge(latency(0.95, 500, Source::Prometheus), &observations()).status,
        Status::Inconclusive,
        "not asked at all"
    );
}

fn error_ratio(below: f64, source: Source) -> CheckKind {
    CheckKind::ErrorRatio {
        below,
        phase: 0,
        source,
    }
}

#[test]
fn client_error_ratio_counts_5xx_and_no_answers_but_not_4xx() {
    let mut samples: Vec<_> = (0..90)
        .map(|_| (0, Outcome::Status(200), Duration::from_millis(5)))
        .collect();
    samples.extend((0..5).map(|_| (0, Outcome::Status(400), Duration::from_millis(5))));
    samples.extend((0..3).map(|_| (0, Outcome::Status(503), Duration::from_millis(5))));
    samples.extend((0..2).map(|_| (0, Outcome::Timeout, Duration::from_secs(10))));
    let mut observations = observations();
    observations.phases[0].stats = Some(PhaseStats::from_samples(&samples));
    let verdict = judge(error_ratio(0.06, Source::Client), &observations);
    assert_eq!(verdict.status, Status::Pass, "{}", verdict.summary);
    assert!((number(&verdict, "ratio") - 0.05).abs() < 1e-9);
    assert_eq!(
        judge(error_ratio(0.05, Source::Client), &observations).status,
        Status::Fail,
        "the bound is exclusive"
    );
}

#[test]
fn service_error_ratio_is_judged_on_what_prometheus_counted() {
    let mut observations = observations();
    let mut counted = service(Some(0.02), 500.0, Vec::new());
    counted.query = "errors / total".into();
    observations.service.insert("checks[0]".into(), counted);
    assert_eq!(
        judge(error_ratio(0.05, Source::Prometheus), &observations).status,
        Status::Pass
    );
    assert_eq!(
        judge(error_ratio(0.01, Source::Prometheus), &observations).status,
        Status::Fail
    );
    observations
        .service
        .insert("checks[0]".into(), service(None, 0.0, Vec::new()));
    assert_eq!(
        judge(error_ratio(0.05, Source::Prometheus), &observations).status,
        Status::Inconclusive
    );
}

// ---- dashboard ----

fn panel(title: &str, has_data: bool) -> PanelResult {
    PanelResult {
        title: title.into(),
        queries: vec!["up".into()],
        has_data,
        error: None,
        unavailable: false,
    }
}

fn dashboard_check(except: &[&str]) -> CheckKind {
    CheckKind::Dashboard {
        file: PathBuf::from("dashboard.json"),
        except: except.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn a_dashboard_passes_when_every_judged_panel_has_data() {
    let mut observations = observations();
    observations.dashboards.insert(
        "checks[0]".into(),
        DashboardObservation {
            title: "Gateway".into(),
            panels: vec![panel("Requests", true), panel("Pod CPU", false)],
            error: None,
        },
    );
    let verdict = judge(dashboard_check(&[]), &observations);
    assert_eq!(verdict.status, Status::Fail);
    assert!(verdict.summary.contains("Pod CPU"), "{}", verdict.summary);
    let verdict = judge(dashboard_check(&["Pod CPU"]), &observations);
    assert_eq!(verdict.status, Status::Pass, "{}", verdict.summary);
}

#[test]
fn a_dashboard_that_could_not_be_asked_is_inconclusive_and_one_that_cannot_be_read_fails() {
    let failure = |unavailable| {
        let mut observations = observations();
        observations.dashboards.insert(
            "checks[0]".into(),
            DashboardObservation {
                title: "Gateway".into(),
                panels: Vec::new(),
                error: Some(QueryFailure {
                    message: "boom".into(),
                    unavailable,
                }),
            },
        );
        judge(dashboard_check(&[]), &observations).status
    };
    assert_eq!(failure(true), Status::Inconclusive);
    assert_eq!(failure(false), Status::Fail);
}

#[test]
fn a_panel_prometheus_could_not_answer_for_makes_the_dashboard_inconclusive_not_empty() {
    let mut observations = observations();
    let mut unasked = panel("Latency", false);
    unasked.error = Some("Prometheus at … answered HTTP 503: not ready".into());
    unasked.unavailable = true;
    observations.dashboards.insert(
        "checks[0]".into(),
        DashboardObservation {
            title: "Gateway".into(),
            panels: vec![panel("Requests", true), unasked.clone()],
            error: None,
        },
    );
    let verdict = judge(dashboard_check(&[]), &observations);
    assert_eq!(verdict.status, Status::Inconclusive, "{}", verdict.summary);
    assert!(verdict.summary.contains("Latency"), "{}", verdict.summary);
    // A query Prometheus refuses is the dashboard's fault: it fails.
    unasked.unavailable = false;
    observations
        .dashboards
        .get_mut("checks[0]")
        .expect("set above")
        .panels[1] = unasked;
    assert_eq!(
        judge(dashboard_check(&[]), &observations).status,
        Status::Fail
    );
}

// ---- the run as a whole ----

#[test]
fn a_run_that_did_not_happen_proves_nothing() {
    let mut aborted = observations();
    aborted.status = RunStatus::Aborted("Prometheus did not start".into());
    let verdict = judge(silent_during(0, false), &aborted);
    assert_eq!(verdict.status, Status::Inconclusive);
    assert!(verdict.summary.contains("did not happen"));
    assert_eq!(overall(&[verdict], &aborted.status), Status::Inconclusive);
}

#[test]
fn an_interrupted_run_never_passes() {
    let mut interrupted = observations();
    interrupted.status = RunStatus::Interrupted("stopped by a signal during phase `errors`".into());
    interrupted.phases[1].cut_short = true;
    let verdict = judge(silent_during(1, false), &interrupted);
    assert_ne!(verdict.status, Status::Pass);
    assert_ne!(overall(&[verdict], &interrupted.status), Status::Pass);
}

#[test]
fn any_failure_fails_the_run_and_anything_unproven_makes_it_inconclusive() {
    let verdict = |status| Verdict {
        id: "checks[0]".into(),
        name: "n".into(),
        kind: Kind::Latency,
        status,
        summary: String::new(),
        evidence: BTreeMap::new(),
        window: None,
    };
    let completed = RunStatus::Completed;
    assert_eq!(
        overall(&[verdict(Status::Pass), verdict(Status::Pass)], &completed),
        Status::Pass
    );
    assert_eq!(
        overall(
            &[verdict(Status::Inconclusive), verdict(Status::Fail)],
            &completed
        ),
        Status::Fail
    );
    assert_eq!(
        overall(
            &[verdict(Status::Pass), verdict(Status::Inconclusive)],
            &completed
        ),
        Status::Inconclusive
    );
}
