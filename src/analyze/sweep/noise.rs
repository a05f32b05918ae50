//! Chance beside the drill and the sweep (`stats`): the error ratio an
//! alert's condition compares — its window and threshold, read through the
//! condition model, recording rules followed — so that a drill's checks
//! can say how likely random errors were to decide their verdict; and, for
//! `rules sweep`, whose rows are exact ratios, how likely a fault's errors
//! drawn at random at the sweep's request rate are to fire the alert.

use std::time::Duration;

use promql_parser::parser::parse;

use crate::analyze::condition::{self, Compound, Direction, Reader, Recordings, Shape, Signal};
use crate::analyze::rules_check::recordings;
use crate::plan::{Plan, PrometheusPlan};
use crate::record::{Observations, RatioCondition};
use crate::rules::{self, LoadedGroups};

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
