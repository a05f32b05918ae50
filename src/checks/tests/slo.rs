//! slo: latency, slo: error_ratio, dashboard, and the run as a whole.

use std::path::PathBuf;
use std::time::Duration;

use super::alerts::silent_during;
use super::*;
use crate::checks::kinds::dashboard::Dashboard;
use crate::checks::kinds::error_ratio::ErrorRatio;
use crate::checks::kinds::latency::Latency;
use crate::record::{DashboardObservation, PanelResult, QueryFailure, ServiceObservation};
use crate::setup::Source;

// ---- latency and error ratio ----

fn latency(quantile: f64, below_ms: u64, source: Source) -> CheckKind {
    CheckKind::Latency(Latency {
        quantile,
        below: Some(Duration::from_millis(below_ms)),
        phase: 0,
        source,
        window: None,
        at_most: None,
    })
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
    CheckKind::ErrorRatio(ErrorRatio {
        below,
        phase: 0,
        source,
        window: None,
    })
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
    CheckKind::Dashboard(Dashboard {
        file: PathBuf::from("dashboard.json"),
        except: except.iter().map(|s| s.to_string()).collect(),
    })
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
        status,
        summary: String::new(),
        evidence: Evidence::empty(Kind::Latency),
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
