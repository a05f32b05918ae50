//! Chance beside the drill and the sweep (`stats`): the error ratio an
//! alert's condition compares — its window and threshold, read through the
//! condition model, recording rules followed — so that a drill's checks
//! can say how likely random errors were to decide their verdict; and, for
//! `rules sweep`, whose rows are exact ratios, how likely a fault's errors
//! drawn at random at the sweep's request rate are to fire the alert.

use std::time::Duration;

use promql_parser::parser::parse;

use super::cases::FaultShape;
use super::results::percent;
use super::target::Target;
use crate::analyze::condition::{self, Compound, Direction, Reader, Recordings, Shape, Signal};
use crate::analyze::rules_check::recordings;
use crate::plan::{Plan, PrometheusPlan};
use crate::record::{Observations, RatioCondition};
use crate::rules::{self, LoadedGroups};
use crate::stats::{self, RatioRule, Second, Span, Traffic};
use crate::time::{format_duration_secs, trim_float};

/// Simulated runs per sweep row: fewer than a verdict's, a row being one
/// figure of many.
const SWEEP_TRIALS: u32 = 500;
/// Seconds of traffic a row's simulation may span: alerts over windows of
/// days (burn rates' long windows) are not simulated.
const LONGEST_SECONDS: f64 = 6.0 * 3600.0;
/// Where chance and the exact ratio disagree enough to say so.
const DISAGREE: f64 = 0.05;

/// The error ratio a condition compares, when it is one: a ratio leaf
/// (a success ratio below a threshold is an error ratio above its
/// complement), or the `and` of several, of which the one over the longest
/// window (the least noisy: both must hold, so the chance is at most
/// its). Other shapes (`or`, `unless`) are not read.
pub fn ratio_condition(shape: &Shape) -> Option<RatioCondition> {
    let leaves = match shape {
        Shape::Leaf(_) => shape.leaves(),
        Shape::Compound(Compound::And { .. }) => shape.leaves(),
        Shape::Compound(_) => return None,
    };
    leaves
        .into_iter()
        .filter_map(|leaf| {
            let Signal::Ratio {
                window,
                mean: false,
            } = leaf.signal
            else {
                return None;
            };
            let threshold = leaf.threshold?;
            let threshold = match leaf.direction {
                Direction::Above => threshold,
                Direction::Below => 1.0 - threshold,
                _ => return None,
            };
            Some(RatioCondition {
                window_seconds: window.as_secs_f64(),
                threshold,
                inclusive: leaf.inclusive,
            })
        })
        .max_by(|a, b| a.window_seconds.total_cmp(&b.window_seconds))
}

/// Reads, for every alerting rule the drill saw, its condition (as
/// Prometheus had it loaded) as an error ratio.
pub fn read_error_ratios(plan: &Plan, observations: &mut Observations) {
    let recordings = drill_recordings(plan);
    for info in observations.rules.values_mut() {
        let Ok(expr) = parse(&info.query) else {
            continue;
        };
        let reader = Reader::new(&recordings).in_group(&info.group);
        info.error_ratio = condition::read(&expr, &reader)
            .ok()
            .as_ref()
            .and_then(ratio_condition);
    }
}

/// The recording rules the drill's embedded Prometheus ran (scaled as it
/// ran them); none for a Prometheus the drill did not configure.
fn drill_recordings(plan: &Plan) -> Recordings {
    let PrometheusPlan::Embedded {
        rule_files,
        evaluation_interval,
        ..
    } = &plan.prometheus
    else {
        return Recordings::new();
    };
    let loaded = if rule_files.is_empty() {
        rules::shipped_rules()
    } else {
        rules::load_rule_files(rule_files)
    };
    let shipped = rules::shipped_intervals().map(|(_, e)| e);
    let (Ok(loaded), Ok(shipped)) = (loaded, shipped) else {
        return Recordings::new();
    };
    let evaluation: Duration = evaluation_interval.unwrap_or(shipped);
    let groups: Vec<rules::Group> = loaded.into_iter().flat_map(|l| l.groups).collect();
    let Ok(scaled) = rules::scale_rules(&groups, plan.pace(), evaluation) else {
        return Recordings::new();
    };
    recordings(
        &[LoadedGroups {
            origin: String::new(),
            groups: scaled.groups,
        }],
        rules::scale_duration(evaluation, plan.time_scale),
    )
}

/// For each step row of an alert on an error ratio: the chance that errors
/// drawn at random at the row's ratio, `request_rate` a second, with the
/// windows full of healthy traffic (or `history` seconds of it) before the
/// fault, fire it within the horizon — the rows themselves are exact
/// ratios, which a real service's errors are not. A note where the two
/// disagree: a ratio that never fires exactly fires by chance, or one that
/// fires exactly may not.
pub fn by_chance(
    target: &mut Target,
    request_rate: f64,
    history: Option<f64>,
    notes: &mut Vec<String>,
) {
    let Some(ratio) = target.shape.as_ref().and_then(ratio_condition) else {
        return;
    };
    let rule = RatioRule {
        window_seconds: ratio.window_seconds,
        threshold: ratio.threshold,
        inclusive: ratio.inclusive,
        evaluation_seconds: target.intervals.evaluation.as_secs_f64(),
        for_seconds: target.hold,
    };
    let before = history.unwrap_or(ratio.window_seconds).ceil();
    let horizon = target.sweep.horizon_seconds;
    if before + horizon > LONGEST_SECONDS || request_rate <= 0.0 {
        return;
    }
    let name = target.sweep.name();
    for row in &mut target.sweep.rows {
        if row.case.shape != FaultShape::Step {
            continue;
        }
        let traffic = step_traffic(request_rate, before, horizon, row.case.error_ratio);
        let span = Span {
            from: before,
            to: before + horizon,
        };
        let chance = stats::noise(&traffic, &rule, span, SWEEP_TRIALS, 24).firing;
        row.noise_firing_chance = Some(chance.share());
        let said = match row.firing {
            None if chance.share() >= DISAGREE => "though held exactly that ratio never does",
            Some(_) if chance.share() <= 1.0 - DISAGREE => {
                "though held exactly that ratio always does"
            }
            _ => continue,
        };
        notes.push(format!(
            "{name}: at {}/s, errors at random at {} fire it within {} with chance {}, {said}",
            trim_float(request_rate),
            percent(row.case.error_ratio),
            format_duration_secs(horizon),
            chance.text()
        ));
    }
}

/// `request_rate` a second (whole requests, spread evenly), healthy for
/// `before` seconds, then failing at `error_ratio` for `horizon`.
fn step_traffic(request_rate: f64, before: f64, horizon: f64, error_ratio: f64) -> Traffic {
    let seconds = (before + horizon).ceil() as usize + 1;
    Traffic {
        seconds: (0..seconds)
            .map(|i| Second {
                requests: ((i + 1) as f64 * request_rate).floor() as u64
                    - (i as f64 * request_rate).floor() as u64,
                error_share: if (i as f64) < before {
                    0.0
                } else {
                    error_ratio
                },
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(expr: &str) -> Option<RatioCondition> {
        let recordings = Recordings::new();
        let shape = condition::read(&parse(expr).unwrap(), &Reader::new(&recordings)).ok()?;
        ratio_condition(&shape)
    }

    #[test]
    fn error_ratios_are_read_and_other_conditions_are_not() {
        let issue = read(
            r#"sum(rate(http_requests_total{status=~"5.."}[30s])) / sum(rate(http_requests_total[30s])) > 0.05"#,
        );
        assert_eq!(
            issue,
            Some(RatioCondition {
                window_seconds: 30.0,
                threshold: 0.05,
                inclusive: false
            })
        );
        let two_windows = read(
            r#"sum(rate(x_total{code="500"}[30s])) / sum(rate(x_total[30s])) > 0.1 and sum(rate(x_total{code="500"}[6m])) / sum(rate(x_total[6m])) >= 0.1"#,
        )
        .unwrap();
        assert_eq!(two_windows.window_seconds, 360.0);
        assert!(two_windows.inclusive);
        assert_eq!(read("rate(x_total[30s]) > 5"), None);
        assert_eq!(
            read("histogram_quantile(0.95, sum by (le) (rate(h_bucket[30s]))) > 0.5"),
            None
        );
    }
}
