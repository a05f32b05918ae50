//! Relative bounds (`at_most: baseline + 10%`, `floor:`) on a latency SLO
//! and on `fires_within`: judged against the run's baseline, inconclusive —
//! never a pass — without one; and windowed SLOs judged window by window.

use std::time::Duration;

use super::*;
use crate::checks::kinds::fires_within::FiresWithin;
use crate::checks::kinds::latency::Latency;
use crate::checks::relative::{Allowance, RelativeBound};
use crate::checks::sliding::SlidingWindow;
use crate::record::{AlertFigure, Baseline, BaselineRecord, Figures, PhaseFigures};
use crate::setup::{Anchor, Source};

fn relative_latency(below_ms: Option<u64>) -> CheckKind {
    CheckKind::Latency(Latency {
        quantile: 0.95,
        below: below_ms.map(Duration::from_millis),
        phase: 0,
        source: Source::Client,
        window: None,
        at_most: Some(RelativeBound {
            allowance: Allowance::Share(0.10),
            floor: Some(Duration::from_millis(5)),
        }),
    })
}

/// A baseline whose `healthy` p95 is `p95_ms` and whose alert fired
/// `fired` seconds after `errors.start`.
fn baseline(p95_ms: f64, fired: f64) -> BaselineRecord {
    BaselineRecord::Found(Baseline {
        source: "last week".into(),
        runs: Vec::new(),
        figures: Figures {
            phases: vec![PhaseFigures {
                phase: "healthy".into(),
                requests: 600,
                answered: 600,
                failed: 0,
                seconds: 60.0,
                percentiles: vec![(0.5, p95_ms / 2.0), (0.95, p95_ms), (1.0, p95_ms * 2.0)],
            }],
            alerts: vec![AlertFigure {
                kind: "fires_within".into(),
                alert: ALERT.into(),
                anchor: "errors.start".into(),
                receiver: None,
                seconds: fired,
            }],
            ..Figures::default()
        },
    })
}

fn with_baseline(record: Option<BaselineRecord>) -> Observations {
    let mut observations = observations();
    observations.baseline = record;
    observations
}

#[test]
fn a_relative_latency_bound_holds_within_its_share_and_floor_of_the_baseline() {
    // This run's p95 is 20 ms: at most max(16 × 1.1, 16 + 5) = 21 ms.
    let verdict = judge(
        relative_latency(None),
        &with_baseline(Some(baseline(16.0, 30.0))),
    );
    assert_eq!(verdict.status, Status::Pass, "{}", verdict.summary);
    assert!(
        verdict
            .summary
            .contains("at most baseline + 10% (floor 5ms) = 21.0ms (the baseline's 16.0ms)"),
        "{}",
        verdict.summary
    );
    assert_eq!(evidence(&verdict)["relative"]["baseline_value"], 16.0);
    let verdict = judge(
        relative_latency(None),
        &with_baseline(Some(baseline(10.0, 30.0))),
    );
    assert_eq!(verdict.status, Status::Fail, "{}", verdict.summary);
    assert!(
        verdict.summary.contains("over baseline + 10%"),
        "{}",
        verdict.summary
    );
}

#[test]
fn without_a_baseline_a_relative_bound_is_inconclusive_never_a_pass() {
    let verdict = judge(relative_latency(None), &with_baseline(None));
    assert_eq!(verdict.status, Status::Inconclusive, "{}", verdict.summary);
    assert!(
        verdict.summary.contains("the run had none"),
        "{}",
        verdict.summary
    );
    let missing = BaselineRecord::Missing {
        source: "reports/".into(),
        reason: "no passing run of `quickstart` in reports/".into(),
    };
    let verdict = judge(relative_latency(Some(50)), &with_baseline(Some(missing)));
    assert_eq!(verdict.status, Status::Inconclusive, "{}", verdict.summary);
    assert!(
        verdict.summary.contains("no passing run"),
        "{}",
        verdict.summary
    );
    // A baseline without the phase's figure proves nothing either.
    let mut other = baseline(15.0, 30.0);
    if let BaselineRecord::Found(b) = &mut other {
        b.figures.phases[0].phase = "other".into();
    }
    let verdict = judge(relative_latency(None), &with_baseline(Some(other)));
    assert_eq!(verdict.status, Status::Inconclusive, "{}", verdict.summary);
    // ...but a `below` that failed fails, baseline or not.
    let verdict = judge(relative_latency(Some(10)), &with_baseline(None));
    assert_eq!(verdict.status, Status::Fail, "{}", verdict.summary);
}

fn relative_fire(share: f64) -> CheckKind {
    CheckKind::FiresWithin(FiresWithin {
        alert: alert(ALERT),
        deadline: Duration::from_secs(60),
        anchor: Anchor::PhaseStart { phase: 1 },
        at_most: Some(RelativeBound {
            allowance: Allowance::Share(share),
            floor: None,
        }),
    })
}

#[test]
fn time_to_fire_is_held_to_the_baselines_for_the_same_alert_and_anchor() {
    // Fired 40 s after errors.start (1060), within the 60 s deadline.
    let fired = |record| {
        with_episodes(
            with_baseline(record),
            vec![episode(Some(1070.0), Some(1100.0), None)],
        )
    };
    let verdict = judge(relative_fire(0.5), &fired(Some(baseline(15.0, 30.0))));
    assert_eq!(verdict.status, Status::Pass, "{}", verdict.summary);
    let verdict = judge(relative_fire(0.2), &fired(Some(baseline(15.0, 30.0))));
    assert_eq!(verdict.status, Status::Fail, "{}", verdict.summary);
    assert!(
        verdict
            .summary
            .contains("later than baseline + 20% = 36.0s"),
        "{}",
        verdict.summary
    );
    let verdict = judge(relative_fire(0.5), &fired(None));
    assert_eq!(verdict.status, Status::Inconclusive, "{}", verdict.summary);
}

#[test]
fn a_windowed_latency_check_fails_on_its_worst_window_not_the_phase() {
    // 60 s of 20 ms, but 300 ms in seconds 30–34: 8% of the phase, every
    // request of a 5 s window.
    let samples: Vec<_> = (0..600u32)
        .map(|i| {
            let second = i / 10;
            let ms = if (30..35).contains(&second) { 300 } else { 20 };
            (second, Outcome::Status(200), Duration::from_millis(ms))
        })
        .collect();
    let mut observations = observations();
    observations.phases[0].stats = Some(PhaseStats::from_samples(&samples));
    let check = |window| {
        CheckKind::Latency(Latency {
            quantile: 0.9,
            below: Some(Duration::from_millis(100)),
            phase: 0,
            source: Source::Client,
            window,
            at_most: None,
        })
    };
    assert_eq!(judge(check(None), &observations).status, Status::Pass);
    let five = SlidingWindow {
        seconds: 5,
        consecutive: 1,
    };
    let verdict = judge(check(Some(five)), &observations);
    assert_eq!(verdict.status, Status::Fail, "{}", verdict.summary);
    let windows = &evidence(&verdict)["windows"];
    assert_eq!(windows["worst"]["from_seconds"], 30.0, "{windows}");
    assert_eq!(
        windows["breach_from_seconds"], 26.0,
        "the first window over: 26–31 s holds 1 s of 5 (20%)"
    );
    // A window is over with one slow second of five (20% > 10%): two back
    // to back (26–31, 31–36) can be, three (15 s) cannot.
    let back_to_back = |consecutive| SlidingWindow {
        seconds: 5,
        consecutive,
    };
    let verdict = judge(check(Some(back_to_back(2))), &observations);
    assert_eq!(verdict.status, Status::Fail, "{}", verdict.summary);
    let verdict = judge(check(Some(back_to_back(3))), &observations);
    assert_eq!(verdict.status, Status::Pass, "{}", verdict.summary);
    assert!(
        verdict.summary.contains("never 3 back to back"),
        "{}",
        verdict.summary
    );
}
