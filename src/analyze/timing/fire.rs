//! How long an alert takes to go pending, to fire and to resolve after a step
//! change in what it watches, from the rule alone: best and worst case over
//! the phases of scrapes and evaluations, which nobody controls.
//!
//! The model (Prometheus 2.x semantics, checked against its engine with
//! `promtool test rules`): each leaf of the condition starts holding a
//! crossing time C after the step (`crossing`); leaves compose along the
//! tree (`compose`). An evaluation sees the condition within one group
//! interval E, so pending ∈ (C_best, C_worst + E]. The alert fires at the
//! first evaluation at least `for` later: firing = pending + ⌈F/E⌉·E. With
//! `keep_firing_for` K, it resolves ⌈K/E⌉·E after its condition stops
//! holding. A condition that holds only for a while (one event leaving a
//! window) fires only if `for` fits in that while.

use std::time::Duration;

use super::compose::respond;
use super::model::{rounded_up, Bounds, Caveat, End, Knowledge, Response, Step, Timing};
use super::steps::{default_steps, leaf_steps};
use crate::analyze::condition::{Leaf, Shape};
use crate::analyze::finding::LintId;
use crate::time::format_duration_secs;

/// The timing of every default step.
pub fn timings(shape: &Shape, hold: Duration, keep: Duration, k: &Knowledge) -> Vec<Timing> {
    default_steps(shape)
        .into_iter()
        .filter_map(|(step, primary)| timing_for(shape, step, primary, hold, keep, k))
        .collect()
}

/// The time from `step` to pending, firing and (when undone) resolution;
/// None when the model does not know what the step does to this condition.
pub fn time_to_fire(
    shape: &Shape,
    step: Step,
    hold: Duration,
    keep: Duration,
    k: &Knowledge,
) -> Option<Timing> {
    let primary = shape
        .primaries()
        .into_iter()
        .find(|leaf| leaf_steps(leaf).iter().any(|s| s.same_kind(&step)))?;
    timing_for(shape, step, primary, hold, keep, k)
}

/// A timing that never fires.
fn never(step: Step, why: String, finding: Option<LintId>) -> Timing {
    Timing {
        step,
        pending: None,
        firing: None,
        resolved: None,
        why,
        finding,
        may_not_fire: None,
    }
}

fn timing_for(
    shape: &Shape,
    step: Step,
    primary: &Leaf,
    hold: Duration,
    keep: Duration,
    k: &Knowledge,
) -> Option<Timing> {
    let (start, end, why, caveat) = match respond(shape, step, primary, k) {
        Response::Unknown(_) => return None,
        Response::Unaffected(_) => {
            return Some(never(
                step,
                "this step does not change what the alert watches".into(),
                None,
            ))
        }
        Response::Never { why, finding } => return Some(never(step, why, finding)),
        Response::Holds {
            start,
            end,
            why,
            caveat,
        } => (start, end, why, caveat),
    };
    let evaluation = k.intervals.evaluation;
    let e = evaluation.as_secs_f64();
    let f = rounded_up(hold, evaluation);
    let pending = start.plus(0.0, e);
    let timing = Timing {
        step,
        pending: Some(pending),
        firing: Some(pending.plus(f, f)),
        resolved: None,
        why: format!(
            "{why}; then up to one evaluation ({}) until it is pending; `for` waits {} (rounded up to whole evaluations)",
            format_duration_secs(e),
            format_duration_secs(f)
        ),
        finding: caveat.as_ref().and_then(|c| c.finding),
        may_not_fire: caveat.map(|c: Caveat| c.why),
    };
    Some(resolution(
        timing,
        start,
        end,
        (e, f, rounded_up(keep, evaluation)),
    ))
}

/// When the alert resolves: `keep_firing_for` after the condition is
/// undone, or after a pulse ends — if `for` fits in the pulse at all.
fn resolution(
    mut timing: Timing,
    start: Bounds,
    end: End,
    (e, f, keep): (f64, f64, f64),
) -> Timing {
    match end {
        End::Undone(undone) => {
            timing.resolved = undone.map(|u| u.plus(keep, e + keep));
        }
        End::Pulse(lasts) => {
            let (best, worst) = (lasts.best_seconds, lasts.worst_seconds);
            // It holds for `best`–`worst` after it starts; the first
            // evaluation seeing it comes within E, and `for` must still find
            // it holding.
            if f >= worst {
                let why = format!(
                    "it holds for only {} after the step, and `for` waits {}: it never fires ({})",
                    format_duration_secs(worst),
                    format_duration_secs(f),
                    timing.why
                );
                return never(timing.step, why, timing.finding);
            }
            if f + e > best && timing.may_not_fire.is_none() {
                timing.may_not_fire = Some(format!(
                    "it holds for {} after the step: `for` ({}) fits only when an evaluation comes soon enough after it starts",
                    format_duration_secs(best),
                    format_duration_secs(f)
                ));
            }
            timing.resolved = Some(start.plus(best + keep, worst + e + keep));
        }
    }
    timing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::condition::{read, Reader, Recordings};
    use crate::analyze::timing::Intervals;

    fn seed_intervals() -> Intervals {
        Intervals {
            scrape: Duration::from_secs(15),
            evaluation: Duration::from_secs(30),
            scrape_timeout: Duration::from_secs(10),
        }
    }

    fn shape(q: &str) -> Shape {
        read(
            &promql_parser::parser::parse(q).unwrap(),
            &Reader::new(&Recordings::new()),
        )
        .unwrap()
    }

    fn at(q: &str, step: Step, hold: u64) -> Timing {
        let k = Knowledge {
            intervals: seed_intervals(),
            buckets: &|_| None,
        };
        time_to_fire(
            &shape(q),
            step,
            Duration::from_secs(hold),
            Duration::ZERO,
            &k,
        )
        .unwrap()
    }

    #[test]
    fn an_aggregated_version_of_the_seeds_rule_fires_in_two_and_a_half_to_three_minutes_at_50_percent(
    ) {
        let rule = "sum(rate(e[5m])) / sum(rate(t[5m])) > 0.05";
        let firing = at(rule, Step::ErrorShare(0.5), 120).firing.unwrap();
        // C = 0.1 × (300 − 15) = 28.5 s best, 0.1 × 300 = 30 s worst.
        assert!((firing.best_seconds - 148.5).abs() < 1e-6, "{firing:?}");
        assert!((firing.worst_seconds - 195.0).abs() < 1e-6, "{firing:?}");
        let firing = at(rule, Step::ErrorShare(0.06), 120).firing.unwrap();
        assert!((firing.best_seconds - 357.5).abs() < 1e-6, "{firing:?}");
        assert!((firing.worst_seconds - 415.0).abs() < 1e-6, "{firing:?}");
        assert!(at(rule, Step::ErrorShare(0.04), 120).firing.is_none());
        // The same rule written as a percentage, with a traffic guard.
        let scaled = "sum(rate(e[5m])) / sum(rate(t[5m])) * 100 > 5 and sum(rate(t[5m])) > 1";
        assert_eq!(
            at(scaled, Step::ErrorShare(0.5), 120).firing,
            at(rule, Step::ErrorShare(0.5), 120).firing
        );
    }

    #[test]
    fn a_ratio_joined_for_its_labels_fires_when_the_ratio_does() {
        let plain = "sum by (pod) (rate(e[5m])) / sum by (pod) (rate(t[5m])) > 0.05";
        for joined in [
            "sum by (pod) (rate(e[5m])) / sum by (pod) (rate(t[5m])) * on(pod) group_left(owner_name) kube_pod_owner > 0.05",
            "sum by (pod) (rate(e[5m])) / sum by (pod) (rate(t[5m])) > on(pod) group_left(owner_name) (0.05 * kube_pod_owner)",
        ] {
            for share in [0.5, 0.06] {
                assert_eq!(
                    at(joined, Step::ErrorShare(share), 120).firing,
                    at(plain, Step::ErrorShare(share), 120).firing,
                    "{joined}"
                );
            }
        }
    }

    #[test]
    fn for_is_rounded_up_to_whole_evaluations() {
        assert_eq!(
            rounded_up(Duration::from_secs(10), Duration::from_secs(30)),
            30.0
        );
        assert_eq!(
            rounded_up(Duration::from_secs(60), Duration::from_secs(30)),
            60.0
        );
        assert_eq!(rounded_up(Duration::ZERO, Duration::from_secs(30)), 0.0);
    }

    #[test]
    fn up_eq_zero_never_sees_a_deleted_pod_but_absent_does() {
        let eq_zero = r#"up{job="a"} == 0"#;
        assert!(at(eq_zero, Step::TargetRemoved, 60).firing.is_none());
        let absent = r#"absent(up{job="a"} == 1)"#;
        assert!(
            at(absent, Step::TargetRemoved, 60)
                .firing
                .unwrap()
                .worst_seconds
                > 60.0
        );
        assert_eq!(
            at(eq_zero, Step::ScrapeFails, 60)
                .firing
                .unwrap()
                .worst_seconds,
            10.0 + 15.0 + 30.0 + 60.0
        );
        // absent(up) without `== 1`: a failed scrape writes up 0, which is present.
        let bare = r#"absent(up{job="a"})"#;
        assert!(at(bare, Step::ScrapeFails, 60).firing.is_none());
        assert!(at(bare, Step::TargetRemoved, 60).firing.is_some());
    }

    #[test]
    fn a_removed_target_goes_stale_without_waiting_for_a_scrape() {
        // Scrape every 15s: the scrape loop stops when discovery drops the
        // target (0–5s), and writes the stale markers two ticks and 1.5s
        // after its last scrape (0–15s before the drop): 16.5s–36.5s. Then up
        // to one evaluation (30s) and `for` (1m) — no further scrape.
        for q in [
            r#"absent(up{job="a"} == 1)"#,
            r#"absent(up{job="a"})"#,
            r#"absent(x{job="a"})"#,
        ] {
            let t = at(q, Step::TargetRemoved, 60);
            let (pending, firing) = (t.pending.unwrap(), t.firing.unwrap());
            assert!((pending.best_seconds - 16.5).abs() < 1e-9, "{q}: {t:?}");
            assert!((pending.worst_seconds - 66.5).abs() < 1e-9, "{q}: {t:?}");
            assert!((firing.worst_seconds - 126.5).abs() < 1e-9, "{q}: {t:?}");
        }
    }

    #[test]
    fn a_quantile_needs_more_than_its_tail_to_be_slow() {
        let rule = "histogram_quantile(0.95, sum by (le) (rate(h_bucket[5m]))) > 0.5";
        assert!(at(rule, Step::SlowShare(0.04), 0).firing.is_none());
        // 5% of 285 s best, of 300 s + 15 + 30 worst.
        let firing = at(rule, Step::SlowShare(1.0), 0).firing.unwrap();
        assert!(
            (firing.best_seconds - 14.25).abs() < 1e-6
                && (firing.worst_seconds - 60.0).abs() < 1e-6,
            "{firing:?}"
        );
    }

    #[test]
    fn gauges_ages_and_windows() {
        // A gauge: the next scrape, then the next evaluation, then `for`.
        let t = at("node_load1 > 10", Step::Crosses, 300);
        let firing = t.firing.unwrap();
        assert_eq!((firing.best_seconds, firing.worst_seconds), (300.0, 345.0));
        // time() − x: exactly the threshold after x stops, no scrape needed.
        let t = at(
            "time() - last_success_timestamp_seconds > 3600",
            Step::Stops,
            0,
        );
        let pending = t.pending.unwrap();
        assert_eq!(
            (pending.best_seconds, pending.worst_seconds),
            (3600.0, 3630.0)
        );
        // One OOM kill in a 1m window holds 45 s: `for: 5m` never fires.
        let t = at("increase(node_vmstat_oom_kill[1m]) > 0", Step::Event, 300);
        assert!(t.firing.is_none(), "{t:?}");
        assert!(at("increase(node_vmstat_oom_kill[1m]) > 0", Step::Event, 0)
            .firing
            .is_some());
        // A window with one sample at every evaluation returns nothing.
        let t = at("rate(x[10s]) > 1", Step::RateMultiple(10.0), 0);
        assert_eq!(
            (t.firing, t.finding.map(|id| id.as_str())),
            (None, Some("range/too-short"))
        );
    }
}
