//! Bounds relative to a baseline: `at_most: baseline + 10%` with `floor:
//! 5ms` on a latency SLO, the same on `fires_within` — the figure may grow
//! by the share over the baseline's (the run's `baseline:` or `run
//! --baseline`), and never fails within the floor of it: the bound is
//! max(baseline × 1.10, baseline + floor).
//!
//! A run without a baseline, a baseline that could not be read or that
//! lacks the figure makes the check inconclusive, saying which — never a
//! pass: a relative bound with nothing to be relative to proves nothing.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::format::CheckSpec;
use super::judged::{Judging, Unjudged};
use crate::record::Baseline;
use crate::spec::units::HumanDuration;
use crate::spec::{scaled, FieldPath, Validator};

/// How much worse than the baseline a figure may be.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Allowance {
    /// A share of the baseline (0.10 for `baseline + 10%`).
    Share(f64),
    /// A duration over the baseline (`baseline + 20ms`).
    Over(Duration),
}

/// `at_most: baseline + 10%` and `floor: 5ms`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RelativeBound {
    pub allowance: Allowance,
    /// Never a failure within this of the baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<Duration>,
}

impl RelativeBound {
    /// The bound over `baseline` (seconds).
    pub fn limit(&self, baseline: f64) -> f64 {
        let grown = match self.allowance {
            Allowance::Share(share) => baseline * (1.0 + share),
            Allowance::Over(d) => baseline + d.as_secs_f64(),
        };
        let floored = baseline + self.floor.map_or(0.0, |f| f.as_secs_f64());
        grown.max(floored)
    }

    /// `baseline + 10% (floor 5ms)`.
    pub fn describe(&self) -> String {
        let over = match self.allowance {
            Allowance::Share(0.0) => "baseline".to_string(),
            Allowance::Share(share) => {
                format!("baseline + {}%", crate::time::trim_float(share * 100.0))
            }
            Allowance::Over(d) => format!("baseline + {}", shown(d)),
        };
        match self.floor {
            Some(floor) => format!("{over} (floor {})", shown(floor)),
            None => over,
        }
    }
}

/// `5ms`, `4.5s`, `1m30s`: as run (a time's is scaled).
fn shown(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", crate::time::trim_float(d.as_secs_f64() * 1000.0))
    } else {
        crate::time::format_duration(d)
    }
}

/// `baseline`, `baseline + 10%`, `baseline + 20ms`.
fn parse(text: &str) -> Option<Allowance> {
    let rest = text.trim().strip_prefix("baseline")?.trim();
    if rest.is_empty() {
        return Some(Allowance::Share(0.0));
    }
    let amount = rest.strip_prefix('+')?.trim();
    match amount.strip_suffix('%') {
        Some(percent) => percent
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|p| p.is_finite() && *p >= 0.0)
            .map(|p| Allowance::Share(p / 100.0)),
        None => HumanDuration::parse(amount)
            .ok()
            .map(|d| Allowance::Over(d.0)),
    }
}

/// `at_most` and `floor` of a check; problems go to `v`. Durations are
/// divided by `scale`: 1 for a latency (latency bounds are never scaled),
/// the time scale for a time to fire (like its deadline). A baseline is
/// only ever a run at the same time scale.
pub fn read_relative(
    spec: &CheckSpec,
    path: &FieldPath,
    scale: f64,
    v: &mut Validator,
) -> Option<RelativeBound> {
    let Some(text) = &spec.at_most else {
        if spec.floor.is_some() {
            v.problem(
                path.key("floor"),
                "`floor` goes with `at_most: baseline + …`",
            );
        }
        return None;
    };
    match parse(&text.0) {
        Some(allowance) => Some(RelativeBound {
            allowance: match allowance {
                Allowance::Over(d) => Allowance::Over(scaled(d, scale)),
                share => share,
            },
            floor: spec.floor.map(|f| scaled(f.0, scale)),
        }),
        None => {
            v.problem(
                path.key("at_most"),
                format!(
                    "`at_most: {}`: write `baseline`, `baseline + 10%` or `baseline + 20ms`",
                    text.0
                ),
            );
            None
        }
    }
}

/// The baseline the run recorded, or why the check cannot be judged
/// against one.
pub fn baseline<'a>(judging: &Judging<'a>) -> Result<&'a Baseline, Unjudged> {
    match &judging.observations.baseline {
        Some(crate::record::BaselineRecord::Found(baseline)) => Ok(baseline),
        Some(crate::record::BaselineRecord::Missing { source, reason }) => {
            Err(Unjudged::inconclusive(format!(
                "its bound is relative to a baseline, and the baseline {source} could not be used: {reason}"
            )))
        }
        None => Err(Unjudged::inconclusive(
            "its bound is relative to a baseline, and the run had none: give the scenario \
             `baseline:` or run it with `--baseline`",
        )),
    }
}

/// What a relative bound was judged with (seconds or ms, as the kind's
/// figure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelativeFigures {
    /// Where the baseline came from.
    pub baseline: String,
    pub baseline_value: f64,
    /// max(baseline × (1 + share), baseline + floor).
    pub relative_bound: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_reads_as_written() {
        assert_eq!(parse("baseline"), Some(Allowance::Share(0.0)));
        assert_eq!(parse("baseline + 10%"), Some(Allowance::Share(0.1)));
        assert_eq!(
            parse("baseline+20ms"),
            Some(Allowance::Over(Duration::from_millis(20)))
        );
        assert_eq!(parse("10%"), None);
        assert_eq!(parse("baseline - 10%"), None);
        assert_eq!(parse("baseline + 20"), None);
    }

    #[test]
    fn the_bound_is_the_larger_of_the_share_and_the_floor() {
        let bound = RelativeBound {
            allowance: Allowance::Share(0.10),
            floor: Some(Duration::from_millis(5)),
        };
        // 10% of 6 ms is less than the 5 ms floor...
        assert!((bound.limit(0.006) - 0.011).abs() < 1e-12);
        // ...10% of 200 ms is more.
        assert!((bound.limit(0.200) - 0.220).abs() < 1e-12);
        assert_eq!(bound.describe(), "baseline + 10% (floor 5ms)");
    }
}
