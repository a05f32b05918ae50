//! fires_within, resolves_within, silent_during: judged on hand-made
//! alert histories and evaluation ticks.

use std::time::Duration;

use super::*;
use crate::checks::kinds::fires_within::FiresWithin;
use crate::checks::kinds::resolves_within::ResolvesWithin;
use crate::checks::kinds::silent_during::SilentDuring;
use crate::record::{ConditionObservation, QueryFailure};
use crate::setup::Anchor;

fn fires_within(seconds: u64, anchor: Anchor) -> CheckKind {
    CheckKind::FiresWithin(FiresWithin {
        alert: alert(ALERT),
        deadline: Duration::from_secs(seconds),
        anchor,
        at_most: None,
    })
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
    assert_eq!(verdict.kind(), Kind::FiresWithin);
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
    assert_eq!(evidence(&verdict)["went_pending"], false);
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
    assert_eq!(evidence(&verdict)["anchor"], "the condition first held");

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
    rule.health = RuleHealth::Err;
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
    CheckKind::ResolvesWithin(ResolvesWithin {
        alert: alert(ALERT),
        deadline: Duration::from_secs(seconds),
        anchor: Anchor::PhaseEnd { phase: 1 },
    })
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

pub(super) fn silent_during(phase: usize, allow_pending: bool) -> CheckKind {
    CheckKind::SilentDuring(SilentDuring {
        alert: alert(ALERT),
        phase,
        allow_pending,
    })
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
