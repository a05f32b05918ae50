//! Unit tests of what an interrupted run still judges: each kind's window
//! rule, the verdicts that settle early, and the run's overall verdict —
//! on hand-made records, no Prometheus.
//!
//! The quickstart's shape, in Prometheus seconds: the run starts at 1000,
//! `healthy` runs 1000–1060 and completes, `errors` starts at 1060 and is
//! cut short by a signal at 1080; `recovery` never starts. The alert's
//! group is evaluated every 10 s (`for: 30s`), the last evaluation seen at
//! 1075; the last scrape of the target Prometheus holds is at 1078.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::{alert, TestPlan};
use crate::checks::interruption::{after_interruption, settled_early, window};
use crate::checks::kinds::dashboard::Dashboard;
use crate::checks::kinds::error_ratio::ErrorRatio;
use crate::checks::kinds::fires_within::FiresWithin;
use crate::checks::kinds::latency::Latency;
use crate::checks::kinds::no_notifications_during::NoNotificationDuring;
use crate::checks::kinds::notifies_within::NotifiesWithin;
use crate::checks::kinds::resolves_within::ResolvesWithin;
use crate::checks::kinds::silent_during::SilentDuring;
use crate::checks::window::Window;
use crate::checks::{evaluate, overall, CheckKind, CheckPlan, Evidence, Kind, Status, Verdict};
use crate::record::{
    AlertHistory, AlertRuleInfo, ConditionObservation, DashboardObservation, Episode, Observations,
    Outcome, PanelResult, PhaseRecord, PhaseStats, RuleHealth, RunStatus, ServiceObservation,
    WatchLog,
};
use crate::setup::{Anchor, LoadModel, PhasePlan, RateShape, ServiceMetrics, Source};

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

fn plan(checks: Vec<CheckKind>) -> TestPlan {
    TestPlan {
        service_metrics: ServiceMetrics::default(),
        phases: vec![
            phase_plan("healthy"),
            phase_plan("errors"),
            phase_plan("recovery"),
        ],
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

/// `count` answers of `status`, each taking `latency_ms`.
fn traffic(count: u32, status: u16, latency_ms: u64) -> PhaseStats {
    let samples: Vec<_> = (0..count)
        .map(|i| {
            (
                i * 20 / count.max(1),
                Outcome::Status(status),
                Duration::from_millis(latency_ms),
            )
        })
        .collect();
    PhaseStats::from_samples(&samples)
}

fn phase_record(name: &str, from: f64, to: f64, cut_short: bool) -> PhaseRecord {
    PhaseRecord {
        name: name.into(),
        started_at: from,
        ended_at: to,
        planned_seconds: 60.0,
        fault: None,
        fault_error: None,
        stats: Some(traffic(400, 200, 20)),
        load_error: None,
        cut_short,
    }
}

/// The run of the module comment: interrupted 20 s into `errors`.
fn interrupted() -> Observations {
    let rules = BTreeMap::from([(
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
    )]);
    let mut watch = WatchLog::default();
    watch.evaluations.insert(
        GROUP.into(),
        (0..9).map(|i| 995.0 + 10.0 * i as f64).collect(),
    );
    Observations {
        status: RunStatus::Interrupted("stopped by a signal during phase `errors`".into()),
        clock_offset_seconds: 0.0,
        run_start: 1000.0,
        run_end: 1080.0,
        observed_until: 1080.5,
        scraped_until: Some(1078.0),
        phases: vec![
            phase_record("healthy", 1000.0, 1060.0, false),
            phase_record("errors", 1060.0, 1080.0, true),
        ],
        rules,
        alerts: BTreeMap::from([(ALERT.to_string(), AlertHistory::default())]),
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

fn with_episode(mut observations: Observations, episode: Episode) -> Observations {
    observations.alerts.insert(
        ALERT.to_string(),
        AlertHistory {
            episodes: vec![episode],
            error: None,
        },
    );
    observations
}

fn episode(pending: Option<f64>, firing: Option<f64>, resolved: Option<f64>) -> Episode {
    Episode {
        labels: BTreeMap::new(),
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

fn judge(kind: CheckKind, observations: &Observations) -> Verdict {
    let mut verdicts = evaluate(&plan(vec![kind]), observations);
    verdicts.remove(0)
}

fn silent_during(phase: usize) -> CheckKind {
    CheckKind::SilentDuring(SilentDuring {
        alert: alert(ALERT),
        phase,
        allow_pending: false,
    })
}

fn fires_within(seconds: u64, anchor: Anchor) -> CheckKind {
    CheckKind::FiresWithin(FiresWithin {
        alert: alert(ALERT),
        deadline: Duration::from_secs(seconds),
        anchor,
        at_most: None,
    })
}

fn resolves_within(seconds: u64, anchor: Anchor) -> CheckKind {
    CheckKind::ResolvesWithin(ResolvesWithin {
        alert: alert(ALERT),
        deadline: Duration::from_secs(seconds),
        anchor,
    })
}

fn latency(phase: usize, below_ms: u64, source: Source) -> CheckKind {
    CheckKind::Latency(Latency {
        quantile: 0.95,
        below: Some(Duration::from_millis(below_ms)),
        phase,
        source,
        window: None,
        at_most: None,
    })
}

fn error_ratio(phase: usize, source: Source) -> CheckKind {
    CheckKind::ErrorRatio(ErrorRatio {
        below: 0.01,
        phase,
        source,
        window: None,
    })
}

fn service(value: f64) -> ServiceObservation {
    ServiceObservation {
        query: "…".into(),
        value: Some(value),
        requests_seen: Some(600.0),
        buckets: Vec::new(),
        error: None,
    }
}

fn needed(verdict: &Verdict) -> &str {
    match &verdict.window {
        Some(Window::Open { needed }) => needed,
        other => panic!("not an open window: {other:?} ({})", verdict.summary),
    }
}

#[test]
fn the_completed_phase_is_judged_as_in_a_complete_run() {
    let mut observations = interrupted();
    observations
        .service
        .insert("checks[2]".into(), service(0.03));
    observations
        .service
        .insert("checks[4]".into(), service(0.0));
    let plan = plan(vec![
        silent_during(0),
        latency(0, 250, Source::Client),
        latency(0, 250, Source::Prometheus),
        error_ratio(0, Source::Client),
        error_ratio(0, Source::Prometheus),
        fires_within(120, Anchor::PhaseStart { phase: 1 }),
        resolves_within(90, Anchor::PhaseStart { phase: 2 }),
    ]);
    let verdicts = evaluate(&plan, &observations);
    for verdict in &verdicts[..5] {
        assert_eq!(verdict.status, Status::Pass, "{}", verdict.summary);
        assert_eq!(verdict.window, Some(Window::Complete), "{}", verdict.id);
        assert!(
            !verdict.summary.contains("rest of the run"),
            "{}",
            verdict.summary
        );
    }
    for verdict in &verdicts[5..] {
        assert_eq!(verdict.status, Status::Inconclusive, "{}", verdict.summary);
        assert!(
            verdict.summary.starts_with("needed the rest of the run: "),
            "{}",
            verdict.summary
        );
    }
    assert!(
        needed(&verdicts[5])
            == "its deadline, 120.0s after errors.start (t=180.0s), came after observation ended (t=80.5s)",
        "{}",
        needed(&verdicts[5])
    );
    assert_eq!(needed(&verdicts[6]), "`recovery` never started");
    assert_eq!(
        overall(&verdicts, &observations.status),
        Status::Inconclusive
    );
}

#[test]
fn a_check_on_the_phase_cut_short_needed_the_rest_of_it() {
    let observations = interrupted();
    for kind in [
        silent_during(1),
        latency(1, 250, Source::Client),
        error_ratio(1, Source::Client),
    ] {
        let verdict = judge(kind, &observations);
        assert_eq!(verdict.status, Status::Inconclusive, "{}", verdict.summary);
        assert_eq!(
            needed(&verdict),
            "`errors` was cut short by the interruption"
        );
        assert!(
            verdict.summary.contains("had it ended here: ") && verdict.summary.ends_with("(PASS)"),
            "{}",
            verdict.summary
        );
    }
    // A latency bound broken on part of a phase is no failure either: the
    // rest of the phase could have brought the quantile under it.
    let verdict = judge(latency(1, 10, Source::Client), &observations);
    assert_eq!(verdict.status, Status::Inconclusive, "{}", verdict.summary);
    assert!(verdict.summary.ends_with("(FAIL)"), "{}", verdict.summary);
}

#[test]
fn silence_needs_an_evaluation_at_or_after_the_phase_end() {
    let mut observations = interrupted();
    // The signal came 2 s after `healthy` ended, before the next evaluation.
    observations.phases[1].ended_at = 1062.0;
    observations.watch.evaluations.insert(
        GROUP.into(),
        vec![995.0, 1005.0, 1015.0, 1025.0, 1035.0, 1045.0, 1055.0],
    );
    let verdict = judge(silent_during(0), &observations);
    assert_eq!(verdict.status, Status::Inconclusive, "{}", verdict.summary);
    assert!(
        needed(&verdict).contains("had not evaluated group `gateway` past the end of `healthy`")
            && needed(&verdict).contains("t=55.0s"),
        "{}",
        needed(&verdict)
    );
    // One evaluation exactly at the end is enough.
    observations
        .watch
        .evaluations
        .get_mut(GROUP)
        .unwrap()
        .push(1060.0);
    assert_eq!(judge(silent_during(0), &observations).status, Status::Pass);
}

#[test]
fn a_service_side_slo_needs_a_scrape_at_or_after_the_phase_end() {
    let mut observations = interrupted();
    observations
        .service
        .insert("checks[0]".into(), service(0.0));
    observations.scraped_until = Some(1059.0);
    let verdict = judge(error_ratio(0, Source::Prometheus), &observations);
    assert_eq!(verdict.status, Status::Inconclusive, "{}", verdict.summary);
    assert!(
        needed(&verdict).contains("had not scraped the target past the end of `healthy`"),
        "{}",
        needed(&verdict)
    );
    observations.scraped_until = None;
    assert_eq!(
        judge(error_ratio(0, Source::Prometheus), &observations).status,
        Status::Inconclusive
    );
    observations.scraped_until = Some(1060.0);
    assert_eq!(
        judge(error_ratio(0, Source::Prometheus), &observations).status,
        Status::Pass
    );
    // The client's own count needs no scrape.
    observations.scraped_until = None;
    assert_eq!(
        judge(error_ratio(0, Source::Client), &observations).status,
        Status::Pass
    );
}

#[test]
fn an_alert_active_during_a_silent_phase_fails_the_interrupted_run() {
    // Pending during `healthy`, which completed...
    let observations = with_episode(interrupted(), episode(Some(1030.0), None, Some(1050.0)));
    let verdict = judge(silent_during(0), &observations);
    assert_eq!(verdict.status, Status::Fail, "{}", verdict.summary);
    assert_eq!(overall(&[verdict], &observations.status), Status::Fail);
    // ...or during `errors`, cut short: what was seen already fails it.
    let observations = with_episode(interrupted(), episode(Some(1070.0), None, None));
    let verdict = judge(silent_during(1), &observations);
    assert_eq!(verdict.status, Status::Fail, "{}", verdict.summary);
    assert!(matches!(verdict.window, Some(Window::Open { .. })));
}

#[test]
fn an_alert_that_fired_in_time_passes_before_its_deadline_came() {
    let observations = with_episode(interrupted(), episode(Some(1062.0), Some(1074.0), None));
    let verdict = judge(
        fires_within(120, Anchor::PhaseStart { phase: 1 }),
        &observations,
    );
    assert_eq!(verdict.status, Status::Pass, "{}", verdict.summary);
    assert!(matches!(verdict.window, Some(Window::Open { .. })));
    // Already firing when its anchor came: a failure nothing can undo.
    let observations = with_episode(interrupted(), episode(None, Some(1030.0), None));
    let verdict = judge(
        fires_within(120, Anchor::PhaseStart { phase: 1 }),
        &observations,
    );
    assert_eq!(verdict.status, Status::Fail, "{}", verdict.summary);
}

#[test]
fn a_deadline_reached_and_evaluated_before_the_signal_is_judged() {
    // 10 s after errors.start is 1070; evaluated at 1075.
    let verdict = judge(
        fires_within(10, Anchor::PhaseStart { phase: 1 }),
        &interrupted(),
    );
    assert_eq!(verdict.window, Some(Window::Complete));
    assert_eq!(verdict.status, Status::Fail, "{}", verdict.summary);
    assert!(
        verdict.summary.contains("did not fire within"),
        "{}",
        verdict.summary
    );
}

#[test]
fn the_end_of_a_phase_cut_short_is_no_anchor() {
    let observations = with_episode(interrupted(), episode(None, Some(1065.0), Some(1075.0)));
    let verdict = judge(
        resolves_within(30, Anchor::PhaseEnd { phase: 1 }),
        &observations,
    );
    assert_eq!(verdict.status, Status::Inconclusive, "{}", verdict.summary);
    assert!(
        verdict.summary.contains("`errors.end` never came"),
        "{}",
        verdict.summary
    );
    let verdict = judge(
        fires_within(30, Anchor::PhaseEnd { phase: 1 }),
        &observations,
    );
    assert_eq!(verdict.status, Status::Inconclusive, "{}", verdict.summary);
}

#[test]
fn a_resolution_is_only_proven_once_its_deadline_was_evaluated() {
    // Resolved at 1075, deadline 1060 + 60 = 1120: it could have come back.
    let observations = with_episode(interrupted(), episode(None, Some(1040.0), Some(1075.0)));
    let verdict = judge(
        resolves_within(60, Anchor::PhaseStart { phase: 1 }),
        &observations,
    );
    assert_eq!(verdict.status, Status::Inconclusive, "{}", verdict.summary);
    assert!(
        verdict.summary.contains("had it ended here"),
        "{}",
        verdict.summary
    );
    // Resolved after a deadline already past: a failure.
    let verdict = judge(
        resolves_within(5, Anchor::PhaseStart { phase: 1 }),
        &observations,
    );
    assert_eq!(verdict.status, Status::Fail, "{}", verdict.summary);
}

#[test]
fn a_condition_that_had_not_held_says_what_was_missing() {
    let mut observations = interrupted();
    observations.conditions.insert(
        "checks[0]".into(),
        ConditionObservation {
            expr: "errors > 0".into(),
            searched_from: 1060.0,
            searched_to: 1080.5,
            step_seconds: 1.0,
            first_true: None,
            error: None,
        },
    );
    let check = fires_within(
        60,
        Anchor::Condition {
            phase: 1,
            expr: None,
        },
    );
    let verdict = judge(check.clone(), &observations);
    assert_eq!(verdict.status, Status::Inconclusive);
    assert_eq!(
        needed(&verdict),
        "the condition had not held when the run stopped"
    );
    // Held at 1064: the deadline (1124) had not been evaluated.
    observations
        .conditions
        .get_mut("checks[0]")
        .unwrap()
        .first_true = Some(1064.0);
    let verdict = judge(check, &observations);
    assert_eq!(verdict.status, Status::Inconclusive, "{}", verdict.summary);
    assert!(
        needed(&verdict).contains("t=124.0s"),
        "{}",
        needed(&verdict)
    );
}

#[test]
fn a_dashboard_with_data_everywhere_passes_and_one_without_is_left_open() {
    let mut observations = interrupted();
    let panel = |has_data| PanelResult {
        title: "Requests".into(),
        queries: vec!["sum(rate(x[1m]))".into()],
        has_data,
        error: None,
        unavailable: false,
    };
    let check = CheckKind::Dashboard(Dashboard {
        file: PathBuf::from("dashboard.json"),
        except: Vec::new(),
    });
    for (has_data, status) in [(true, Status::Pass), (false, Status::Inconclusive)] {
        observations.dashboards.insert(
            "checks[0]".into(),
            DashboardObservation {
                title: "Gateway".into(),
                panels: vec![panel(has_data)],
                error: None,
            },
        );
        let verdict = judge(check.clone(), &observations);
        assert_eq!(verdict.status, status, "{}", verdict.summary);
        assert!(needed(&verdict).contains("whole run"));
    }
}

#[test]
fn a_complete_run_records_no_window() {
    let mut observations = interrupted();
    observations.status = RunStatus::Completed;
    let verdict = judge(silent_during(1), &observations);
    assert_eq!(verdict.window, None);
}

#[test]
fn an_interrupted_run_fails_on_a_failure_and_is_otherwise_inconclusive() {
    let verdict = |status| Verdict {
        id: "checks[0]".into(),
        name: "n".into(),
        status,
        summary: String::new(),
        evidence: Evidence::empty(Kind::SilentDuring),
        window: Some(Window::Complete),
    };
    let status = interrupted().status;
    let all_passed = [verdict(Status::Pass), verdict(Status::Pass)];
    assert_eq!(overall(&all_passed, &status), Status::Inconclusive);
    let one_failed = [verdict(Status::Pass), verdict(Status::Fail)];
    assert_eq!(overall(&one_failed, &status), Status::Fail);
    let aborted = RunStatus::Aborted("no Prometheus".into());
    assert_eq!(overall(&one_failed, &aborted), Status::Inconclusive);
}

#[test]
fn what_settles_early_is_what_more_of_the_run_cannot_undo() {
    use Kind::*;
    use Status::*;
    let early = [
        (SilentDuring, Fail),
        (FiresWithin, Pass),
        (FiresWithin, Fail),
        (ResolvesWithin, Fail),
        (Dashboard, Pass),
    ];
    for kind in [
        FiresWithin,
        ResolvesWithin,
        SilentDuring,
        Latency,
        ErrorRatio,
        Dashboard,
    ] {
        for status in [Pass, Fail] {
            assert_eq!(
                settled_early(kind, status),
                early.contains(&(kind, status)),
                "{kind:?} {status:?}"
            );
        }
    }
    // An open window leaves an inconclusive verdict inconclusive, saying why.
    let before = Verdict {
        id: "checks[0]".into(),
        name: "n".into(),
        status: Inconclusive,
        summary: "Prometheus could not answer".into(),
        evidence: Evidence::empty(Latency),
        window: None,
    };
    let after = after_interruption(
        before,
        Window::Open {
            needed: "`errors` was cut short by the interruption".into(),
        },
    );
    assert_eq!(after.status, Inconclusive);
    assert_eq!(
        after.summary,
        "needed the rest of the run: `errors` was cut short by the interruption; Prometheus could not answer"
    );
}

#[test]
fn the_window_rule_reads_the_plan_for_phases_that_never_ran() {
    let observations = interrupted();
    let plan = plan(vec![latency(2, 250, Source::Client)]);
    assert_eq!(
        window(&plan, &plan.checks[0], &observations),
        Window::Open {
            needed: "`recovery` never started".into()
        }
    );
}

#[test]
fn notification_checks_need_alertmanager_watched_past_their_window() {
    use crate::record::AlertmanagerRecord;
    let watched_until = |until: f64| {
        let mut observations = interrupted();
        observations.alertmanager = Some(AlertmanagerRecord {
            observed_from: 995.0,
            observed_until: until,
            ..AlertmanagerRecord::default()
        });
        observations
    };
    let notifies = CheckKind::NotifiesWithin(NotifiesWithin {
        alert: alert(ALERT),
        receiver: "chat".into(),
        deadline: Duration::from_secs(15),
        anchor: Anchor::PhaseStart { phase: 1 },
    });
    let quiet = CheckKind::NoNotificationDuring(NoNotificationDuring {
        phase: 0,
        receiver: None,
        alert: None,
    });
    let plan = plan(vec![notifies, quiet]);
    // Due at 1075; the healthy phase ended at 1060.
    let early = watched_until(1070.0);
    assert!(matches!(
        window(&plan, &plan.checks[0], &early),
        Window::Open { needed } if needed.contains("Alertmanager was last watched")
    ));
    assert_eq!(window(&plan, &plan.checks[1], &early), Window::Complete);
    let late = watched_until(1080.0);
    assert_eq!(window(&plan, &plan.checks[0], &late), Window::Complete);
    let none = interrupted();
    assert!(matches!(
        window(&plan, &plan.checks[1], &none),
        Window::Open { needed } if needed.contains("no Alertmanager")
    ));
    // A page seen (in time or late) settles the check; a quiet phase
    // broken by a notification settles it too.
    assert!(settled_early(Kind::NotifiesWithin, Status::Pass));
    assert!(settled_early(Kind::NotifiesWithin, Status::Fail));
    assert!(settled_early(Kind::NoNotificationDuring, Status::Fail));
    assert!(!settled_early(Kind::NoNotificationDuring, Status::Pass));
}
