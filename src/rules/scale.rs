//! Time scaling: dividing every duration in a rule by the same factor, so a
//! drill written in real minutes runs in seconds against the same rules.
//!
//! What is scaled: the group's evaluation interval, `for`, `keep_firing_for`,
//! and inside the PromQL (parsed, never pattern-matched) every range window
//! (`x[5m]`), subquery range and resolution, and `offset`. What is not:
//! `@` timestamps (absolute instants). Prometheus keeps durations to the
//! millisecond, so results are rounded to it (at least 1ms). `scale_rules`
//! also rewrites the thresholds, so that they read as production's at the
//! drill's pace (`thresholds`).

use std::collections::BTreeMap;
use std::time::Duration;

use promql_parser::parser::{self, Expr, Offset};
use promql_parser::util::{display_duration, parse_duration};

use super::source::Group;
use super::thresholds::{Adjustment, Reading, Rewrite};
use crate::setup::Pace;

/// A part of a rule that does not parse, so cannot be scaled (the
/// parser's own words).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScaleError {
    #[error("interval: {0}")]
    Interval(String),
    #[error("expr: {0}")]
    Expr(String),
    #[error("duration `{text}`: {message}")]
    Duration { text: String, message: String },
}

/// A group that cannot be scaled: which group (and rule), and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("group {group}{}: {source}", .rule.as_ref().map(|r| format!(", rule {r}")).unwrap_or_default())]
pub struct GroupScaleError {
    pub group: String,
    pub rule: Option<String>,
    #[source]
    pub source: ScaleError,
}

pub fn scale_duration(d: Duration, factor: f64) -> Duration {
    let millis = (d.as_secs_f64() * 1000.0 / factor).round().max(1.0);
    Duration::from_millis(millis as u64)
}

fn scale_text(text: &str, factor: f64) -> Result<String, ScaleError> {
    let d = parse_duration(text).map_err(|message| ScaleError::Duration {
        text: text.to_string(),
        message,
    })?;
    Ok(display_duration(&scale_duration(d, factor)))
}

/// Rewrites a PromQL expression with its durations divided by `factor`.
pub fn scale_expr(expr: &str, factor: f64) -> Result<String, ScaleError> {
    let mut ast = parser::parse(expr).map_err(ScaleError::Expr)?;
    scale_ast(&mut ast, factor);
    Ok(ast.to_string())
}

fn scale_offset(offset: &mut Option<Offset>, factor: f64) {
    if let Some(offset) = offset {
        *offset = match offset {
            Offset::Pos(d) => Offset::Pos(scale_duration(*d, factor)),
            Offset::Neg(d) => Offset::Neg(scale_duration(*d, factor)),
        };
    }
}

fn scale_ast(expr: &mut Expr, factor: f64) {
    match expr {
        Expr::Aggregate(a) => {
            scale_ast(&mut a.expr, factor);
            if let Some(param) = &mut a.param {
                scale_ast(param, factor);
            }
        }
        Expr::Unary(u) => scale_ast(&mut u.expr, factor),
        Expr::Binary(b) => {
            scale_ast(&mut b.lhs, factor);
            scale_ast(&mut b.rhs, factor);
        }
        Expr::Paren(p) => scale_ast(&mut p.expr, factor),
        Expr::Subquery(s) => {
            s.range = scale_duration(s.range, factor);
            if let Some(step) = &mut s.step {
                *step = scale_duration(*step, factor);
            }
            scale_offset(&mut s.offset, factor);
            scale_ast(&mut s.expr, factor);
        }
        Expr::VectorSelector(v) => scale_offset(&mut v.offset, factor),
        Expr::MatrixSelector(m) => {
            m.range = scale_duration(m.range, factor);
            scale_offset(&mut m.vs.offset, factor);
        }
        Expr::Call(c) => {
            for arg in &mut c.args.args {
                scale_ast(arg, factor);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Scales a group; `default_interval` is the global evaluation interval
/// (before scaling), used when the group sets none, so the scaled group
/// states its interval explicitly.
pub fn scale_group(
    group: &Group,
    factor: f64,
    default_interval: Duration,
) -> Result<Group, GroupScaleError> {
    let mut scaled = group.clone();
    let at = |rule: Option<&str>, source| GroupScaleError {
        group: group.name.clone(),
        rule: rule.map(str::to_string),
        source,
    };
    let interval = match &group.interval {
        Some(text) => parse_duration(text).map_err(|e| at(None, ScaleError::Interval(e)))?,
        None => default_interval,
    };
    scaled.interval = Some(display_duration(&scale_duration(interval, factor)));
    for rule in &mut scaled.rules {
        let name = rule
            .alert
            .clone()
            .or(rule.record.clone())
            .unwrap_or_default();
        rule.expr = scale_expr(&rule.expr, factor).map_err(|e| at(Some(&name), e))?;
        for text in [&mut rule.for_, &mut rule.keep_firing_for]
            .into_iter()
            .flatten()
        {
            *text = scale_text(text, factor).map_err(|e| at(Some(&name), e))?;
        }
    }
    Ok(scaled)
}

/// Rule groups as a compressed drill runs them, and what was done to
/// their thresholds.
#[derive(Debug, Clone)]
pub struct ScaledRules {
    pub groups: Vec<Group>,
    /// Thresholds scaled, and those left as written because no rewrite is
    /// sound, rule by rule.
    pub adjustments: Vec<Adjustment>,
}

/// Rule groups as a drill at `pace` runs them: every duration divided
/// (`scale_group`), and every threshold rewritten to read as production's
/// (`thresholds`), the readings of recorded series carried to the rules
/// that read them.
pub fn scale_rules(
    groups: &[Group],
    pace: Pace,
    default_interval: Duration,
) -> Result<ScaledRules, GroupScaleError> {
    let mut scaled = groups
        .iter()
        .map(|g| scale_group(g, pace.time_scale, default_interval))
        .collect::<Result<Vec<_>, _>>()?;
    let recorded = recorded_readings(&scaled, pace);
    let mut adjustments = Vec::new();
    for group in &mut scaled {
        for rule in &mut group.rules {
            let name = rule
                .alert
                .clone()
                .or(rule.record.clone())
                .unwrap_or_default();
            let mut ast = parser::parse(&rule.expr).map_err(|e| GroupScaleError {
                group: group.name.clone(),
                rule: Some(name.clone()),
                source: ScaleError::Expr(e),
            })?;
            let mut rewrite = Rewrite::new(pace, &recorded, &name);
            rewrite.read(&mut ast);
            rule.expr = ast.to_string();
            adjustments.extend(rewrite.adjustments);
        }
    }
    Ok(ScaledRules {
        groups: scaled,
        adjustments,
    })
}

/// What each recorded series reads in the drill. A rule may read a series
/// that a later rule writes, so the readings are computed in rounds until
/// they settle; a name written by rules that read differently is unknown.
fn recorded_readings(groups: &[Group], pace: Pace) -> BTreeMap<String, Reading> {
    let mut recorded = BTreeMap::new();
    for _ in 0..8 {
        let mut next: BTreeMap<String, Reading> = BTreeMap::new();
        for rule in groups.iter().flat_map(|g| &g.rules) {
            let (Some(name), Ok(mut ast)) = (&rule.record, parser::parse(&rule.expr)) else {
                continue;
            };
            let reading = Rewrite::new(pace, &recorded, name).read(&mut ast);
            next.entry(name.clone())
                .and_modify(|known| {
                    if *known != reading {
                        *known = Reading::Unknown(format!(
                            "`{name}`, written by recording rules that read differently"
                        ));
                    }
                })
                .or_insert(reading);
        }
        if next == recorded {
            break;
        }
        recorded = next;
    }
    recorded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_offsets_and_subqueries_are_divided() {
        let scaled = scale_expr(
            r#"sum(rate(x{status=~"5.."}[5m] offset 1m)) / sum(rate(x[5m])) > 0.05"#,
            10.0,
        )
        .unwrap();
        assert_eq!(
            scaled,
            r#"sum(rate(x{status=~"5.."}[30s] offset 6s)) / sum(rate(x[30s])) > 0.05"#
        );
        let scaled = scale_expr("max_over_time(rate(y[2m])[10m:1m])", 4.0).unwrap();
        assert_eq!(scaled, "max_over_time(rate(y[30s])[2m30s:15s])");
    }

    #[test]
    fn scaled_expressions_parse_back_to_the_same_shape() {
        let original = r#"histogram_quantile(0.95, sum by (le) (rate(h_bucket{job="a"}[5m]))) > 0.5 and on (job) absent(up{job="a"} == 1)"#;
        let scaled = scale_expr(original, 1.0).unwrap();
        assert_eq!(
            parser::parse(&scaled).unwrap(),
            parser::parse(original).unwrap()
        );
    }

    #[test]
    fn durations_round_to_milliseconds_and_never_reach_zero() {
        assert_eq!(
            scale_duration(Duration::from_secs(15), 10.0),
            Duration::from_millis(1500)
        );
        assert_eq!(
            scale_duration(Duration::from_millis(1), 1000.0),
            Duration::from_millis(1)
        );
    }
}
