//! `ratio/bounded`: a ratio of rates is a share of events — at most 1, at
//! least 0 — so compared with a number above 1 (`> 5` where 5% was meant,
//! the `* 100` forgotten) or below 0 it can never hold. Certain when both
//! sides count one metric (the numerator's series are among the
//! denominator's); resting on an assumption when the numerator is another
//! metric (`errors_total / requests_total`: that the errors are counted
//! among the requests).

use super::{Context, Found, Rule};
use crate::analyze::condition::{Direction, Signal};
use crate::analyze::finding::LintId;

pub(super) fn lint(found: &mut Found, rule: &Rule, _: &Context) {
    let Some(shape) = rule.shape else {
        return;
    };
    for leaf in shape.leaves() {
        let (Signal::Ratio { mean: false, .. }, Some(t)) = (&leaf.signal, leaf.threshold) else {
            continue;
        };
        let never = match leaf.direction {
            Direction::Above => t > 1.0 || (t == 1.0 && !leaf.inclusive),
            Direction::Below => t < 0.0 || (t == 0.0 && !leaf.inclusive),
            _ => false,
        };
        if !never {
            continue;
        }
        let metrics: Vec<&str> = leaf.metrics.iter().map(String::as_str).collect();
        let assumption = (metrics.len() > 1).then(|| {
            format!(
                "that the ratio's numerator counts a subset of its denominator's events ({})",
                metrics.join(", ")
            )
        });
        let meant = if t > 1.0 {
            format!(" (if {}% was meant: {})", t, t / 100.0)
        } else {
            String::new()
        };
        let finding = found
            .finding(
                LintId::RatioBounded,
                format!(
                    "`{}` compares a share of events, which is never above 1 nor below 0, with {t}: this can never hold",
                    leaf.text
                ),
                format!("compare the share with a number between 0 and 1{meant}, or multiply the ratio by 100"),
            )
            .assuming(assumption);
        found.push(finding);
    }
}
