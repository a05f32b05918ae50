//! The SLO a sweep judges alerts by: its objective and period, from the
//! command line or from the metadata rules Sloth (`slo:objective:ratio`,
//! `slo:time_period:days`) and Pyrra (`pyrra_objective`, `pyrra_window`)
//! write next to their alerts; the share of the error budget a fault spends;
//! and precision and recall in the SRE Workbook's sense.

use promql_parser::parser::Expr;
use serde::Serialize;

use crate::analyze::condition::{constant, Recording, Recordings};
use crate::rules::promql::{unparen, walk};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slo {
    /// 0.999 for 99.9%.
    pub objective: f64,
    pub period_seconds: f64,
    /// Where it was read.
    pub from: String,
}

impl Slo {
    /// The share of the period's error budget that `error_ratio` for
    /// `seconds` spends (at a steady request rate).
    pub fn budget_spent(&self, error_ratio: f64, seconds: f64) -> f64 {
        error_ratio * seconds / ((1.0 - self.objective) * self.period_seconds)
    }
}

/// A constant recording rule's value (`vector(0.999)`, `30`).
fn value_of(expr: &Expr) -> Option<f64> {
    match unparen(expr) {
        Expr::Call(c) if c.func.name == "vector" => constant(c.args.args.first()?),
        other => constant(other),
    }
}

/// The label values an alert's selectors pin (`sloth_id="…"`, `slo="…"`).
fn pinned(expr: &Expr, label: &str) -> Vec<String> {
    let mut values = Vec::new();
    walk(expr, &mut |node| {
        let selector = match node {
            Expr::VectorSelector(v) => v,
            Expr::MatrixSelector(m) => &m.vs,
            _ => return,
        };
        for m in &selector.matchers.matchers {
            if m.name == label && matches!(m.op, promql_parser::label::MatchOp::Equal) {
                values.push(m.value.clone());
            }
        }
    });
    values
}

/// The SLO an alert's metadata rules declare: the objective and period
/// recorded with the same `sloth_id` (Sloth) or `slo` (Pyrra) the alert
/// reads, or the only ones in the files.
pub fn from_metadata(
    alert: &Expr,
    alert_labels: &std::collections::BTreeMap<String, String>,
    recordings: &Recordings,
) -> Option<Slo> {
    let forms = [
        (
            "slo:objective:ratio",
            "slo:time_period:days",
            86_400.0,
            "sloth_id",
        ),
        ("pyrra_objective", "pyrra_window", 1.0, "slo"),
    ];
    for (objective_name, period_name, unit, key) in forms {
        let Some(objectives) = recordings.get(objective_name) else {
            continue;
        };
        let mut wanted = pinned(alert, key);
        wanted.extend(alert_labels.get(key).cloned());
        let pick = |rules: &[Recording]| -> Option<(f64, Option<String>)> {
            let matching: Vec<_> = rules
                .iter()
                .filter(|r| {
                    r.labels
                        .get(key)
                        .is_none_or(|v| wanted.is_empty() || wanted.contains(v))
                })
                .collect();
            let rule = match matching.as_slice() {
                [one] => one,
                _ if rules.len() == 1 => &rules[0],
                _ => return None,
            };
            Some((value_of(&rule.expr)?, rule.labels.get(key).cloned()))
        };
        let (objective, id) = pick(objectives)?;
        let period = recordings
            .get(period_name)
            .and_then(|rules| pick(rules))
            .map(|(v, _)| v * unit)
            .unwrap_or(if key == "slo" {
                28.0 * 86_400.0
            } else {
                30.0 * 86_400.0
            });
        if !(0.0..1.0).contains(&objective) || period <= 0.0 {
            return None;
        }
        return Some(Slo {
            objective,
            period_seconds: period,
            from: format!(
                "`{objective_name}`{} and `{period_name}` in the rules",
                id.map(|id| format!(" ({key}={id})")).unwrap_or_default()
            ),
        });
    }
    None
}

/// How a fault counts for precision and recall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Significance {
    /// It spends at least the page's share of the budget: it must fire.
    Significant,
    /// It spends less than the false-alarm share: it must not fire.
    Minor,
    /// In between: either is fine.
    Neither,
}

/// Precision and recall over an alert's faults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Scores {
    /// Fired on a significant fault.
    pub detected: usize,
    /// Did not fire (at every phase) on a significant fault.
    pub missed: usize,
    /// Fired (at some phase) on a minor fault.
    pub false_alarms: usize,
    /// Fired, on any fault.
    pub fired: usize,
    /// detected ÷ (detected + missed); None without significant faults.
    pub recall: Option<f64>,
    /// (fired − false alarms) ÷ fired; None when it never fired.
    pub precision: Option<f64>,
}

impl Scores {
    pub fn finish(mut self) -> Scores {
        let significant = self.detected + self.missed;
        self.recall = (significant > 0).then(|| self.detected as f64 / significant as f64);
        self.precision =
            (self.fired > 0).then(|| (self.fired - self.false_alarms) as f64 / self.fired as f64);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workbooks_budget_arithmetic() {
        let slo = Slo {
            objective: 0.999,
            period_seconds: 30.0 * 86_400.0,
            from: String::new(),
        };
        // 14.4× for an hour spends 2% of a 30-day budget.
        assert!((slo.budget_spent(0.0144, 3600.0) - 0.02).abs() < 1e-9);
        // 100% errors for 52 s: about 2% too.
        assert!((slo.budget_spent(1.0, 51.84) - 0.02).abs() < 1e-9);
    }
}
