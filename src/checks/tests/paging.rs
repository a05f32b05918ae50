//! The notification checks on hand-made records: each verdict and the
//! reason it names, for the embedded (observed) and a foreign (estimated)
//! Alertmanager.

use std::time::Duration;

use super::{alert, evidence, TestPlan};
use crate::checks::kinds::no_notifications_during::NoNotificationDuring;
use crate::checks::kinds::notifies_resolved_within::NotifiesResolvedWithin;
use crate::checks::kinds::notifies_within::NotifiesWithin;
use crate::checks::kinds::routed_to::RoutedTo;
use crate::checks::{CheckKind, CheckPlan, Status, Verdict};
use crate::record::{
    AlertAtAlertmanager, AlertHistory, AlertRuleInfo, AlertState, AlertmanagerRecord, Episode,
    Labels, Notification, NotifiedAlert, Observations, PhaseRecord, RuleHealth, RunStatus,
    SilenceRecord,
};
use crate::setup::{Anchor, ServiceMetrics};

const CONFIG: &str = r#"
route:
  receiver: chat
  group_by: [alertname, job]
  group_wait: 15s
  group_interval: 5m
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      group_wait: 10s
    - matchers: ['alertname="Quiet"']
      receiver: nobody
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [job]
receivers:
  - name: pager
    pagerduty_configs: [{ routing_key: x }]
  - name: chat
    slack_configs: [{ api_url: http://x, channel: '#a', send_resolved: true }]
  - name: nobody
"#;

fn labels(name: &str, severity: &str) -> Labels {
    [
        ("alertname", name),
        ("severity", severity),
        ("job", "api-gateway"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A run of two phases, 0–10 s and 10–40 s, at time scale 10 (the
/// configuration's 15s group_wait ran as 1.5 s), with `W` firing at 20 s.
fn observations() -> Observations {
    let mut o = Observations::aborted(String::new());
    o.status = RunStatus::Completed;
    o.run_start = 0.0;
    o.run_end = 40.0;
    o.observed_until = 42.0;
    o.phases = ["healthy", "errors"]
        .iter()
        .enumerate()
        .map(|(i, name)| PhaseRecord {
            name: name.to_string(),
            started_at: if i == 0 { 0.0 } else { 10.0 },
            ended_at: if i == 0 { 10.0 } else { 40.0 },
            planned_seconds: 10.0,
            fault: None,
            fault_error: None,
            stats: None,
            load_error: None,
            cut_short: false,
        })
        .collect();
    for name in ["W", "C"] {
        o.rules.insert(
            name.into(),
            AlertRuleInfo {
                group: "g".into(),
                file: "f".into(),
                interval_seconds: 3.0,
                for_seconds: 6.0,
                query: "x > 1".into(),
                health: RuleHealth::Ok,
                last_error: None,
                error_ratio: None,
            },
        );
    }
    o.alerts.insert(
        "W".into(),
        AlertHistory {
            episodes: vec![Episode {
                labels: labels("W", "warning"),
                pending_at: Some(14.0),
                firing_at: Some(20.0),
                last_active: 38.0,
                resolved_at: None,
            }],
            error: None,
        },
    );
    o.alertmanager = Some(AlertmanagerRecord {
        url: "http://127.0.0.1:9093".into(),
        version: "0.25.0".into(),
        notifications_observable: true,
        config_text: CONFIG.into(),
        config_origin: "am.yml".into(),
        time_scale: 10.0,
        polls: 100,
        observed_from: 0.0,
        observed_until: 42.0,
        ..AlertmanagerRecord::default()
    });
    o
}

fn am(o: &mut Observations) -> &mut AlertmanagerRecord {
    o.alertmanager.as_mut().unwrap()
}

fn arrive(
    o: &mut Observations,
    name: &str,
    severity: &str,
    at: f64,
    receivers: &[&str],
    state: AlertState,
) {
    let fingerprint = format!("fp-{name}");
    am(o).alerts.insert(
        fingerprint.clone(),
        AlertAtAlertmanager {
            fingerprint,
            labels: labels(name, severity),
            arrived_at: at,
            arrival_uncertainty: 0.0,
            starts_at: Some(at),
            receivers: receivers.iter().map(|r| r.to_string()).collect(),
            states: vec![state],
            last_seen: 40.0,
            gone_at: None,
        },
    );
}

fn active(at: f64) -> AlertState {
    AlertState {
        at,
        state: "active".into(),
        silenced_by: Vec::new(),
        inhibited_by: Vec::new(),
    }
}

fn notify(o: &mut Observations, receiver: &str, at: f64, name: &str, status: &str) {
    am(o).notifications.push(Notification {
        received_at: at,
        receiver: receiver.into(),
        integration: "slack[0]".into(),
        status: status.into(),
        group_key: String::new(),
        alerts: vec![NotifiedAlert {
            status: status.into(),
            labels: labels(name, "warning"),
            starts_at: Some(20.0),
            ends_at: None,
            annotations: Default::default(),
        }],
    });
}

fn notifies(receiver: &str, deadline: f64) -> CheckPlan {
    CheckPlan {
        id: "checks[0]".into(),
        name: "page".into(),
        kind: CheckKind::NotifiesWithin(NotifiesWithin {
            alert: alert("W"),
            receiver: receiver.into(),
            deadline: Duration::from_secs_f64(deadline),
            anchor: Anchor::PhaseStart { phase: 1 },
        }),
    }
}

/// The check's verdict on `o`, as judged (a run's interruption aside).
fn judge(check: &CheckPlan, o: &Observations) -> Verdict {
    let plan = TestPlan {
        checks: vec![check.clone()],
        phases: Vec::new(),
        service_metrics: ServiceMetrics::default(),
    };
    crate::checks::evaluate_one(&plan, check, o)
}

#[test]
fn the_page_in_time_passes_with_its_arithmetic() {
    let mut o = observations();
    arrive(&mut o, "W", "warning", 20.01, &["chat"], active(20.1));
    notify(&mut o, "chat", 21.52, "W", "firing");
    let verdict = judge(&notifies("chat", 15.0), &o);
    assert_eq!(verdict.status, Status::Pass, "{verdict:#?}");
    assert!(
        verdict
            .summary
            .contains("reached `chat` 11.5s after errors.start"),
        "{}",
        verdict.summary
    );
    assert!(
        verdict.summary.contains("group_wait of 1.5s"),
        "{}",
        verdict.summary
    );
    let e = &evidence(&verdict);
    assert_eq!(
        e["time_to_notify_seconds"]
            .as_f64()
            .map(|t| (t * 100.0).round()),
        Some(1152.0)
    );
    assert_eq!(e["time_to_fire_seconds"].as_f64(), Some(10.0));
    assert_eq!(e["group_wait_seconds"].as_f64(), Some(1.5));
    assert_eq!(e["group_interval_seconds"].as_f64(), Some(30.0));
    assert!(e["route"].as_str().unwrap().starts_with("route"), "{e:?}");
}

#[test]
fn a_deadline_shorter_than_group_wait_fails_with_the_arithmetic() {
    let mut o = observations();
    arrive(&mut o, "W", "warning", 20.01, &["chat"], active(20.1));
    notify(&mut o, "chat", 21.52, "W", "firing");
    let verdict = judge(&notifies("chat", 1.0), &o);
    assert_eq!(verdict.status, Status::Fail);
    assert!(
        verdict.summary.contains("later than the deadline of 1.0s"),
        "{}",
        verdict.summary
    );
    assert!(
        verdict
            .summary
            .contains("cannot be met: the route's group_wait (1.5s) alone is longer"),
        "{}",
        verdict.summary
    );
}

#[test]
fn a_silence_is_named_with_its_matchers_author_and_comment() {
    let mut o = observations();
    arrive(
        &mut o,
        "W",
        "warning",
        20.0,
        &["chat"],
        AlertState {
            at: 20.1,
            state: "suppressed".into(),
            silenced_by: vec!["s-1".into()],
            inhibited_by: Vec::new(),
        },
    );
    am(&mut o).silences.insert(
        "s-1".into(),
        SilenceRecord {
            id: "s-1".into(),
            matchers: vec!["alertname=\"W\"".into()],
            created_by: "ops".into(),
            comment: "maintenance".into(),
            starts_at: Some(0.0),
            ends_at: Some(3600.0),
            state: "active".into(),
        },
    );
    let verdict = judge(&notifies("chat", 15.0), &o);
    assert_eq!(verdict.status, Status::Fail);
    for part in [
        "silence s-1",
        "alertname=\"W\"",
        "created by ops",
        "\"maintenance\"",
        "ends at 1970-01-01T01:00:00",
    ] {
        assert!(
            verdict.summary.contains(part),
            "`{part}` in {}",
            verdict.summary
        );
    }
}

#[test]
fn an_inhibition_names_the_inhibiting_alert_and_rule() {
    let mut o = observations();
    arrive(&mut o, "C", "critical", 18.0, &["pager"], active(18.1));
    arrive(
        &mut o,
        "W",
        "warning",
        20.0,
        &["chat"],
        AlertState {
            at: 20.1,
            state: "suppressed".into(),
            silenced_by: Vec::new(),
            inhibited_by: vec!["fp-C".into()],
        },
    );
    let verdict = judge(&notifies("chat", 15.0), &o);
    assert_eq!(verdict.status, Status::Fail);
    assert!(
        verdict
            .summary
            .contains("inhibited by `C` {job=api-gateway, severity=critical}"),
        "{}",
        verdict.summary
    );
    assert!(
        verdict
            .summary
            .contains("inhibit_rules[0]: source {severity=\"critical\"}"),
        "{}",
        verdict.summary
    );
}

#[test]
fn another_receiver_is_named_with_its_route() {
    let mut o = observations();
    arrive(&mut o, "W", "warning", 20.0, &["chat"], active(20.1));
    notify(&mut o, "chat", 21.5, "W", "firing");
    let verdict = judge(&notifies("pager", 15.0), &o);
    assert_eq!(verdict.status, Status::Fail);
    assert!(
        verdict
            .summary
            .contains("routed it to `chat` via route, not to `pager`"),
        "{}",
        verdict.summary
    );
}

#[test]
fn a_receiver_without_integrations_is_named() {
    let mut o = observations();
    o.alerts.get_mut("W").unwrap().episodes[0].labels = labels("Quiet", "warning");
    let check = CheckPlan {
        kind: CheckKind::NotifiesWithin(NotifiesWithin {
            alert: alert("Quiet"),
            receiver: "nobody".into(),
            deadline: Duration::from_secs(15),
            anchor: Anchor::PhaseStart { phase: 1 },
        }),
        ..notifies("nobody", 15.0)
    };
    o.rules.insert("Quiet".into(), o.rules["W"].clone());
    o.alerts.insert("Quiet".into(), o.alerts["W"].clone());
    arrive(&mut o, "Quiet", "warning", 20.0, &["nobody"], active(20.1));
    let verdict = judge(&check, &o);
    assert_eq!(verdict.status, Status::Fail);
    assert!(
        verdict
            .summary
            .contains("`nobody`, which has no integrations"),
        "{}",
        verdict.summary
    );
}

#[test]
fn alertmanager_down_or_a_cut_window_is_inconclusive_never_a_pass() {
    let mut o = observations();
    am(&mut o)
        .failures
        .push((15.0, "connection refused".into()));
    let verdict = judge(&notifies("chat", 15.0), &o);
    assert_eq!(verdict.status, Status::Inconclusive);
    assert!(
        verdict.summary.contains("not proven missing"),
        "{}",
        verdict.summary
    );

    let mut cut = observations();
    cut.observed_until = 18.0;
    am(&mut cut).observed_until = 18.0;
    assert_eq!(
        judge(&notifies("chat", 15.0), &cut).status,
        Status::Inconclusive
    );

    let mut none = observations();
    none.alertmanager = None;
    assert_eq!(
        judge(&notifies("chat", 15.0), &none).status,
        Status::Inconclusive
    );
}

#[test]
fn a_foreign_alertmanager_is_judged_on_arrival_plus_group_wait_and_says_so() {
    let mut o = observations();
    am(&mut o).notifications_observable = false;
    am(&mut o).time_scale = 1.0;
    arrive(&mut o, "W", "warning", 20.0, &["chat"], active(20.1));
    let verdict = judge(&notifies("chat", 30.0), &o);
    assert_eq!(verdict.status, Status::Pass, "{verdict:#?}");
    assert!(
        verdict.summary.starts_with("estimated:"),
        "{}",
        verdict.summary
    );
    assert_eq!(
        evidence(&verdict)["time_to_notify_seconds"].as_f64(),
        Some(25.0)
    );
    assert!(evidence(&verdict)["measured"]
        .as_str()
        .unwrap()
        .starts_with("estimated"));
    assert_eq!(judge(&notifies("chat", 20.0), &o).status, Status::Fail);
}

#[test]
fn quiet_phases_pass_only_when_watched_to_the_end() {
    let quiet = |receiver: Option<&str>| CheckPlan {
        id: "checks[1]".into(),
        name: "quiet".into(),
        kind: CheckKind::NoNotificationDuring(NoNotificationDuring {
            phase: 1,
            receiver: receiver.map(str::to_string),
            alert: None,
        }),
    };
    let mut o = observations();
    notify(&mut o, "chat", 21.5, "W", "firing");
    let verdict = judge(&quiet(Some("chat")), &o);
    assert_eq!(verdict.status, Status::Fail);
    assert!(
        verdict
            .summary
            .contains("`chat` was notified (slack[0], firing) at t=21.5s"),
        "{}",
        verdict.summary
    );
    assert_eq!(judge(&quiet(Some("pager")), &o).status, Status::Pass);

    let mut interrupted = observations();
    interrupted.status = RunStatus::Interrupted("signal".into());
    assert_eq!(
        judge(&quiet(Some("pager")), &interrupted).status,
        Status::Inconclusive
    );
}

#[test]
fn resolved_notifications_need_a_receiver_that_sends_them() {
    let resolved = |receiver: &str| CheckPlan {
        id: "checks[2]".into(),
        name: "resolved".into(),
        kind: CheckKind::NotifiesResolvedWithin(NotifiesResolvedWithin {
            alert: alert("W"),
            receiver: receiver.into(),
            deadline: Duration::from_secs(20),
            anchor: Anchor::PhaseStart { phase: 1 },
        }),
    };
    let mut o = observations();
    o.alerts.get_mut("W").unwrap().episodes[0].resolved_at = Some(25.0);
    notify(&mut o, "chat", 27.0, "W", "resolved");
    let verdict = judge(&resolved("chat"), &o);
    assert_eq!(verdict.status, Status::Pass, "{verdict:#?}");
    assert_eq!(
        evidence(&verdict)["time_to_notify_seconds"].as_f64(),
        Some(17.0)
    );
    let mut no_resolved = observations();
    am(&mut no_resolved).config_text = CONFIG.replace(", send_resolved: true", "");
    let verdict = judge(&resolved("chat"), &no_resolved);
    assert_eq!(verdict.status, Status::Fail);
    assert!(
        verdict
            .summary
            .contains("never sends resolved notifications"),
        "{}",
        verdict.summary
    );
}

#[test]
fn routed_to_reads_the_apis_receivers() {
    let routed = |receiver: &str| CheckPlan {
        id: "checks[3]".into(),
        name: "routed".into(),
        kind: CheckKind::RoutedTo(RoutedTo {
            alert: alert("W"),
            receiver: receiver.into(),
            phase: Some(1),
        }),
    };
    let mut o = observations();
    arrive(&mut o, "W", "warning", 20.0, &["chat"], active(20.1));
    let verdict = judge(&routed("chat"), &o);
    assert_eq!(verdict.status, Status::Pass, "{verdict:#?}");
    assert!(
        verdict.summary.contains("routed to `chat` via route"),
        "{}",
        verdict.summary
    );
    assert_eq!(judge(&routed("pager"), &o).status, Status::Fail);
}

/// A run that ends (or is interrupted) right after the alert fires, before
/// Alertmanager is asked again, cannot say it never arrived; watched past
/// the next evaluation, it can.
#[test]
fn routed_to_is_inconclusive_until_alertmanager_was_asked_after_the_alert_could_arrive() {
    let routed = CheckPlan {
        id: "checks[3]".into(),
        name: "routed".into(),
        kind: CheckKind::RoutedTo(RoutedTo {
            alert: alert("W"),
            receiver: "chat".into(),
            phase: None,
        }),
    };
    // W fires at t=20, its group evaluates every 3s.
    for (last_poll, status) in [
        (20.0, Status::Inconclusive),
        (22.9, Status::Inconclusive),
        (23.0, Status::Fail),
        (42.0, Status::Fail),
    ] {
        let mut o = observations();
        am(&mut o).observed_until = last_poll;
        let verdict = judge(&routed, &o);
        assert_eq!(
            verdict.status, status,
            "last poll at {last_poll}: {verdict:#?}"
        );
        let expected = if status == Status::Fail {
            "never arrived at Alertmanager, watched until"
        } else {
            "whether it arrived is unknown"
        };
        assert!(verdict.summary.contains(expected), "{}", verdict.summary);
    }
    // Arrived, it passes whenever the last poll came.
    let mut o = observations();
    arrive(&mut o, "W", "warning", 20.0, &["chat"], active(20.1));
    am(&mut o).observed_until = 20.5;
    assert_eq!(judge(&routed, &o).status, Status::Pass);
}

/// The same guard for `notifies_within`: an alert that fired just before
/// observation ended, and had no time to reach Alertmanager, is unknown,
/// not a page that never came.
#[test]
fn notifies_within_is_inconclusive_until_alertmanager_was_asked_after_the_alert_could_arrive() {
    // W fires at t=20 (its group evaluates every 3s); the page is due 11s
    // after errors start (t=10), at t=21.
    let check = notifies("chat", 11.0);
    for (last_poll, status, expected) in [
        (
            22.0,
            Status::Inconclusive,
            "whether it reached `chat` is unknown",
        ),
        (23.0, Status::Fail, "never arrived at Alertmanager"),
        (42.0, Status::Fail, "never arrived at Alertmanager"),
    ] {
        let mut o = observations();
        am(&mut o).observed_until = last_poll;
        let verdict = judge(&check, &o);
        assert_eq!(
            verdict.status, status,
            "last poll at {last_poll}: {verdict:#?}"
        );
        assert!(verdict.summary.contains(expected), "{}", verdict.summary);
    }
}

/// A deadline equal to `for` cannot be met: the condition is first seen by
/// a scrape after the fault begins, then must hold for all of `for`.
#[test]
fn a_notification_deadline_equal_to_for_plus_group_wait_cannot_be_met() {
    let mut o = observations();
    am(&mut o).observed_until = 42.0;
    // `for` 6s; the route to chat waits CONFIG's group_wait.
    let verdict = judge(&notifies("chat", 6.0), &o);
    assert_eq!(verdict.status, Status::Fail, "{verdict:#?}");
    assert!(
        verdict.summary.contains("The deadline cannot be met"),
        "{}",
        verdict.summary
    );
}
