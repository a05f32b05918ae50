//! Thresholds under time scaling: what each PromQL value reads in a
//! compressed drill against production, and every threshold rewritten to
//! match — or, where no rewrite is sound, said so.
//!
//! One compressed second stands for `time_scale` production seconds. With
//! rates scaled (the default), the drill's traffic arrives `time_scale`
//! times as fast, so a counter grows as much in a compressed window as in
//! production's: `increase()` and counts over a window read the same, and
//! per-second quantities (`rate()`, `irate()`, `deriv()`) read `time_scale`
//! times higher. With rates kept as written (`scale_rates: false`) it is
//! the other way round. Ratios of like quantities (error ratios, latencies)
//! read the same either way, and so do gauges' levels, which firedrill
//! does not move. A threshold takes the reading of what it is compared
//! with (or added to, or clamped against); the README's "Time" has the
//! table, function by function.
//!
//! A reading is a factor (drill ÷ production), a moment (`time()`,
//! timestamps: their differences are durations, divided by the scale), a
//! constant (takes the unit of what it meets) or unknown. A comparison of
//! two quantities that read differently — a rate against a gauge, or a
//! rate divided by a gauge against a number (a rate against a capacity,
//! which no clock compresses) — has no sound rewrite: it is left as written
//! and reported. Knows nothing of how the drill runs; `scale` calls it.

use std::collections::BTreeMap;

use promql_parser::parser::token::{TokenType, T_MUL};
use promql_parser::parser::{BinaryExpr, Call, Expr, NumberLiteral, ParenExpr, VectorSelector};

use super::promql::metric_name;
use super::promql::{Aggregation, Arithmetic, BinaryOp, SetOp};
use crate::setup::Pace;

/// What a value reads in the drill, against production.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// Number literals: take the unit of what they meet.
    Constant,
    /// The drill reads `factor` times production's value. `level`: a
    /// gauge's level (which the drill does not move) enters it.
    Scaled { factor: f64, level: bool },
    /// A moment: `time()`, `timestamp()`, a `*_timestamp_seconds` gauge.
    Instant,
    /// Nothing says how the drill's value relates to production's: why.
    Unknown(String),
}

impl Reading {
    fn scaled(factor: f64) -> Reading {
        Reading::Scaled {
            factor,
            level: false,
        }
    }

    /// A gauge's level, or a number that does not depend on time.
    fn level() -> Reading {
        Reading::Scaled {
            factor: 1.0,
            level: true,
        }
    }

    /// As a person reads it: `a per-second quantity (read ×10)`.
    fn describe(&self) -> String {
        match self {
            Reading::Constant => "a number".into(),
            Reading::Scaled { factor, level } if same(*factor, 1.0) => {
                if *level {
                    "a gauge's level (read as it is)".into()
                } else {
                    "a quantity read as it is".into()
                }
            }
            Reading::Scaled { factor, level } => format!(
                "{} (read ×{})",
                if *level {
                    "a changing quantity over a gauge's level"
                } else {
                    "a quantity time scaling moves"
                },
                tidy(*factor)
            ),
            Reading::Instant => "a moment".into(),
            Reading::Unknown(why) => why.clone(),
        }
    }
}

/// Whether two factors are the same (they are products of the scale).
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Twelve significant digits: `100 × 0.1` is `10`, not `10.000000000000002`.
fn tidy(x: f64) -> f64 {
    format!("{x:.11e}").parse().unwrap_or(x)
}

/// A threshold the rewrite scaled, or one it left as written because no
/// rewrite is sound.
#[derive(Debug, Clone, PartialEq)]
pub enum Adjustment {
    Scaled {
        rule: String,
        /// The comparison (or sum) as the rewrite found it.
        written: String,
        factor: f64,
        what: String,
    },
    Unsound {
        rule: String,
        written: String,
        why: String,
    },
}

impl Adjustment {
    pub fn rule(&self) -> &str {
        match self {
            Adjustment::Scaled { rule, .. } | Adjustment::Unsound { rule, .. } => rule,
        }
    }

    pub fn is_unsound(&self) -> bool {
        matches!(self, Adjustment::Unsound { .. })
    }

    /// One line for the run's notes and the report.
    pub fn text(&self) -> String {
        match self {
            Adjustment::Scaled {
                rule,
                written,
                factor,
                what,
            } => format!(
                "rule `{rule}`: the threshold in `{written}` is ×{} in the drill ({what})",
                tidy(*factor)
            ),
            Adjustment::Unsound { rule, written, why } => format!(
                "rule `{rule}`: `{written}` is left as written — {why}: under time_scale it does \
                 not test what production's rule tests"
            ),
        }
    }
}

/// What a constant meets.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    /// A comparison's other side, or a bound (`clamp`, `round`).
    Compared,
    /// A sum's other term (`time() - 3600`: a duration).
    Added,
}

/// One rule's rewrite: the pace it stands for, the readings of the series
/// recording rules write, and what it changed.
pub struct Rewrite<'a> {
    pace: Pace,
    recorded: &'a BTreeMap<String, Reading>,
    rule: &'a str,
    pub adjustments: Vec<Adjustment>,
}

impl<'a> Rewrite<'a> {
    pub fn new(pace: Pace, recorded: &'a BTreeMap<String, Reading>, rule: &'a str) -> Self {
        Rewrite {
            pace,
            recorded,
            rule,
            adjustments: Vec::new(),
        }
    }

    /// `expr`'s reading, rewriting the thresholds inside it.
    pub fn read(&mut self, expr: &mut Expr) -> Reading {
        match expr {
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) => Reading::Constant,
            Expr::VectorSelector(v) => self.selector(v),
            Expr::MatrixSelector(m) => self.selector(&m.vs),
            Expr::Paren(p) => self.read(&mut p.expr),
            Expr::Unary(u) => self.read(&mut u.expr),
            Expr::Subquery(s) => self.read(&mut s.expr),
            Expr::Aggregate(a) => {
                let inner = self.read(&mut a.expr);
                if let Some(param) = &mut a.param {
                    // `topk`'s k, `quantile`'s φ: counts and shares.
                    self.read(param);
                }
                match Aggregation::of(a.op) {
                    Some(Aggregation::Count | Aggregation::CountValues | Aggregation::Group) => {
                        Reading::scaled(1.0)
                    }
                    Some(Aggregation::Stdvar) => power(&inner, 2.0),
                    _ => inner,
                }
            }
            Expr::Binary(b) => self.binary(b),
            Expr::Call(c) => self.call(c),
            Expr::Extension(_) => Reading::Unknown("an extension of PromQL".into()),
        }
    }

    /// A series: what a recording rule gave it, or what its name says (a
    /// counter's raw value, a timestamp, else a gauge).
    fn selector(&self, selector: &VectorSelector) -> Reading {
        let name = metric_name(selector).unwrap_or_default();
        if let Some(reading) = self.recorded.get(&name) {
            return reading.clone();
        }
        let counter = ["_total", "_count", "_sum", "_bucket"]
            .iter()
            .any(|suffix| name.ends_with(suffix));
        let moment = [
            "_timestamp_seconds",
            "_time_seconds",
            "_timestamp",
            "_created",
        ]
        .iter()
        .any(|suffix| name.ends_with(suffix));
        if moment {
            Reading::Instant
        } else if counter {
            Reading::Unknown(format!(
                "the raw value of counter `{name}` (all it counted since it started)"
            ))
        } else {
            Reading::level()
        }
    }

    fn binary(&mut self, b: &mut BinaryExpr) -> Reading {
        let written = b.to_string();
        let left = self.read(&mut b.lhs);
        let right = self.read(&mut b.rhs);
        let returns_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
        match BinaryOp::of(b.op) {
            Err(e) => Reading::Unknown(e.to_string()),
            Ok(BinaryOp::Comparison(_)) => {
                let kept = self.align(b, &left, &right, Role::Compared, &written);
                if returns_bool {
                    Reading::scaled(1.0)
                } else {
                    kept
                }
            }
            Ok(BinaryOp::Set(SetOp::Or)) if left != right => match (&left, &right) {
                (Reading::Scaled { factor: fa, .. }, Reading::Scaled { factor: fb, .. })
                    if same(*fa, *fb) =>
                {
                    left
                }
                _ => Reading::Unknown(format!("`{written}` joins values that read differently")),
            },
            Ok(BinaryOp::Set(_)) => left,
            Ok(BinaryOp::Arithmetic(op)) => self.arithmetic(op, b, left, right, &written),
        }
    }

    fn arithmetic(
        &mut self,
        op: Arithmetic,
        b: &mut BinaryExpr,
        left: Reading,
        right: Reading,
        written: &str,
    ) -> Reading {
        use Reading::{Constant, Scaled};
        if let Some(reading) = self.moments(op, b, &left, &right, written) {
            return reading;
        }
        match (op, left.clone(), right.clone()) {
            (Arithmetic::Add | Arithmetic::Sub | Arithmetic::Mod, _, _) => {
                self.align(b, &left, &right, Role::Added, written)
            }
            (Arithmetic::Mul | Arithmetic::Div, _, Constant) => left,
            (Arithmetic::Mul, Constant, _) => right,
            (Arithmetic::Div, Constant, Scaled { factor, level }) => Scaled {
                factor: 1.0 / factor,
                level,
            },
            (
                Arithmetic::Mul | Arithmetic::Div,
                Scaled {
                    factor: fa,
                    level: la,
                },
                Scaled {
                    factor: fb,
                    level: lb,
                },
            ) => Scaled {
                factor: if op == Arithmetic::Mul {
                    fa * fb
                } else {
                    fa / fb
                },
                level: la || lb,
            },
            (Arithmetic::Pow, Scaled { .. }, Constant) => match literal(&b.rhs) {
                Some(exponent) => power(&left, exponent),
                None => Reading::Unknown(format!("`{written}` raises to a power it computes")),
            },
            (_, Constant, Constant) => Constant,
            (_, Scaled { factor: fa, .. }, Scaled { factor: fb, .. })
                if same(fa, 1.0) && same(fb, 1.0) =>
            {
                Reading::scaled(1.0)
            }
            _ => Reading::Unknown(format!(
                "`{written}` combines {} and {}",
                left.describe(),
                right.describe()
            )),
        }
    }

    /// Sums and differences of moments: seconds between two, or since a
    /// gauge taken for one (`time() - last_success`), are a duration; a
    /// number added to a moment is one (`time() - 3600`).
    fn moments(
        &mut self,
        op: Arithmetic,
        b: &mut BinaryExpr,
        left: &Reading,
        right: &Reading,
        written: &str,
    ) -> Option<Reading> {
        use Reading::{Constant, Instant};
        let gauge = |r: &Reading| matches!(r, Reading::Scaled { factor, level: true } if same(*factor, 1.0));
        let duration = Reading::scaled(1.0 / self.pace.time_scale);
        Some(match (op, left, right) {
            (Arithmetic::Sub, Instant, Instant) => duration,
            (Arithmetic::Sub, Instant, other) | (Arithmetic::Sub, other, Instant)
                if gauge(other) =>
            {
                duration
            }
            (Arithmetic::Add | Arithmetic::Sub, Instant, Constant) => {
                self.meet(&mut b.rhs, &Instant, Role::Added, written);
                Instant
            }
            (Arithmetic::Add, Constant, Instant) => {
                self.meet(&mut b.lhs, &Instant, Role::Added, written);
                Instant
            }
            _ => return None,
        })
    }

    /// Two sides that must read alike (a comparison, a sum): a constant
    /// side takes the other's unit; two quantities must already agree.
    fn align(
        &mut self,
        b: &mut BinaryExpr,
        left: &Reading,
        right: &Reading,
        role: Role,
        written: &str,
    ) -> Reading {
        match (left, right) {
            (Reading::Constant, Reading::Constant) => Reading::Constant,
            (Reading::Constant, other) => {
                self.meet(&mut b.lhs, other, role, written);
                other.clone()
            }
            (other, Reading::Constant) => {
                self.meet(&mut b.rhs, other, role, written);
                other.clone()
            }
            (
                Reading::Scaled {
                    factor: fa,
                    level: la,
                },
                Reading::Scaled {
                    factor: fb,
                    level: lb,
                },
            ) if same(*fa, *fb) => Reading::Scaled {
                factor: *fa,
                level: *la || *lb,
            },
            (Reading::Instant, Reading::Instant) => Reading::Instant,
            (one, other) => {
                let why = format!("it compares {} with {}", one.describe(), other.describe());
                self.unsound(written, why.clone());
                Reading::Unknown(why)
            }
        }
    }

    /// A constant meeting a value of this reading: scaled with it, left
    /// (a factor of 1, a zero, an absolute moment), or reported.
    fn meet(&mut self, constant: &mut Expr, other: &Reading, role: Role, written: &str) {
        // Any factor keeps a zero, and a sign (a quantity of unknown
        // reading may be a sum of two that read differently: not even its
        // sign is known).
        let zero = literal(constant) == Some(0.0);
        if zero && !matches!(other, Reading::Unknown(_)) {
            return;
        }
        let factor = match other {
            Reading::Constant => return,
            // A moment compared with a number is an absolute time, which
            // is not scaled (like `@`); added to one, a duration.
            Reading::Instant if role == Role::Compared => return,
            Reading::Instant => 1.0 / self.pace.time_scale,
            Reading::Scaled { factor, .. } if same(*factor, 1.0) => return,
            Reading::Scaled { level: true, .. } => {
                self.unsound(
                    written,
                    format!(
                        "it holds {} against a number: a rate against a capacity, which no \
                         clock compresses",
                        other.describe()
                    ),
                );
                return;
            }
            Reading::Scaled { factor, .. } => *factor,
            Reading::Unknown(why) => {
                self.unsound(
                    written,
                    format!("nothing says how {why} reads in the drill"),
                );
                return;
            }
        };
        scale_constant(constant, factor);
        self.adjustments.push(Adjustment::Scaled {
            rule: self.rule.to_string(),
            written: written.to_string(),
            factor,
            what: self.kind_of(factor).into(),
        });
    }

    /// What a factor makes a quantity, at this pace, for people.
    fn kind_of(&self, factor: f64) -> &'static str {
        let (k, ts) = (self.pace.rate_factor(), self.pace.time_scale);
        if same(factor, 1.0 / ts) {
            "a duration, or a count over a window of traffic kept as written"
        } else if same(factor, k) {
            "a per-second quantity, at the drill's pace"
        } else if same(factor, k / ts) {
            "a count over a window"
        } else {
            "what it is compared with reads so"
        }
    }

    fn unsound(&mut self, written: &str, why: String) {
        let adjustment = Adjustment::Unsound {
            rule: self.rule.to_string(),
            written: written.to_string(),
            why,
        };
        if !self.adjustments.contains(&adjustment) {
            self.adjustments.push(adjustment);
        }
    }

    /// A function's reading; the README's table, function by function.
    fn call(&mut self, c: &mut Call) -> Reading {
        let name = c.func.name;
        let (k, ts) = (self.pace.rate_factor(), self.pace.time_scale);
        let readings: Vec<Reading> = c.args.args.iter_mut().map(|a| self.read(a)).collect();
        let first = readings.first().cloned().unwrap_or(Reading::Constant);
        // The series a range function reads, as a factor (a counter's raw
        // value counts for its changes only).
        let inner = match &first {
            Reading::Scaled { factor, .. } => *factor,
            _ => 1.0,
        };
        match name {
            // Per second of traffic that arrives `k` times as fast.
            "rate" | "irate" => Reading::scaled(k),
            "deriv" => Reading::scaled(k * inner),
            // Over a window `ts` times shorter of traffic `k` times faster.
            "increase" | "changes" | "resets" => Reading::scaled(k / ts),
            "delta" | "idelta" => Reading::scaled(k / ts * inner),
            "predict_linear" => self.predict_linear(c, &first),
            "avg_over_time" | "min_over_time" | "max_over_time" | "last_over_time"
            | "sum_over_time" | "stddev_over_time" | "mad_over_time" | "first_over_time" => first,
            "quantile_over_time" => readings.get(1).cloned().unwrap_or(first),
            "stdvar_over_time" => power(&first, 2.0),
            // A scrape interval scaled with the window: as many samples.
            "count_over_time" | "present_over_time" | "absent_over_time" | "absent" | "sgn" => {
                Reading::scaled(1.0)
            }
            "time" | "timestamp" => Reading::Instant,
            "pi" => Reading::Constant,
            "vector"
            | "scalar"
            | "sort"
            | "sort_desc"
            | "sort_by_label"
            | "sort_by_label_desc"
            | "label_replace"
            | "label_join"
            | "abs"
            | "ceil"
            | "floor"
            | "holt_winters"
            | "double_exponential_smoothing"
            | "info" => first,
            "round" | "clamp" | "clamp_min" | "clamp_max" => {
                let written = c.to_string();
                for (arg, reading) in c.args.args.iter_mut().zip(&readings).skip(1) {
                    if *reading == Reading::Constant {
                        self.meet(arg, &first, Role::Compared, &written);
                    }
                }
                first
            }
            "sqrt" => power(&first, 0.5),
            "histogram_count" | "histogram_sum" => readings.last().cloned().unwrap_or(first),
            // Shares of a histogram's observations, and bounds in its unit.
            "histogram_quantile" | "histogram_fraction" | "histogram_avg" | "histogram_stddev"
            | "histogram_stdvar" => Reading::scaled(1.0),
            "day_of_month" | "day_of_week" | "day_of_year" | "days_in_month" | "hour"
            | "minute" | "month" | "year" => Reading::scaled(1.0),
            _ if matches!(first, Reading::Constant) => Reading::Constant,
            _ if matches!(first, Reading::Scaled { factor, .. } if same(factor, 1.0)) => {
                Reading::scaled(1.0)
            }
            _ => Reading::Unknown(format!("`{name}()` of {}", first.describe())),
        }
    }

    /// `predict_linear(v[W], t)`: the level now plus the slope times `t`
    /// seconds ahead — a duration, divided by the scale. The sum is sound
    /// only when a change over a window reads as production's (rates
    /// scaled): with rates as written it is `time_scale` times smaller
    /// than the level it is added to.
    fn predict_linear(&mut self, c: &mut Call, level: &Reading) -> Reading {
        let ts = self.pace.time_scale;
        if let Some(horizon) = c.args.args.get_mut(1) {
            if literal(horizon).is_none() && !is_constant(horizon) {
                return Reading::Unknown("a prediction over a horizon it computes".into());
            }
            scale_constant(horizon, 1.0 / ts);
        }
        if same(self.pace.rate_factor(), ts) {
            level.clone()
        } else {
            Reading::Unknown(
                "predict_linear(), whose change over its horizon reads ÷time_scale with rates \
                 as written, while the level it adds it to does not"
                    .into(),
            )
        }
    }
}

/// `x^exponent`'s reading.
fn power(reading: &Reading, exponent: f64) -> Reading {
    match reading {
        Reading::Scaled { factor, level } => Reading::Scaled {
            factor: factor.powf(exponent),
            level: *level,
        },
        other => other.clone(),
    }
}

/// A number literal's value (through parentheses and a sign).
fn literal(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::NumberLiteral(n) => Some(n.val),
        Expr::Paren(p) => literal(&p.expr),
        Expr::Unary(u) => literal(&u.expr).map(|v| -v),
        _ => None,
    }
}

/// Whether `expr` is made of number literals only.
fn is_constant(expr: &Expr) -> bool {
    match expr {
        Expr::NumberLiteral(_) => true,
        Expr::Paren(p) => is_constant(&p.expr),
        Expr::Unary(u) => is_constant(&u.expr),
        Expr::Binary(b) => is_constant(&b.lhs) && is_constant(&b.rhs),
        _ => false,
    }
}

/// Multiplies a constant by `factor`: a literal in place, anything else as
/// `(…) * factor`.
fn scale_constant(expr: &mut Expr, factor: f64) {
    match expr {
        Expr::NumberLiteral(n) => n.val = tidy(n.val * factor),
        other => {
            let inner = std::mem::replace(other, Expr::NumberLiteral(NumberLiteral::new(0.0)));
            let lhs = match inner {
                paren @ Expr::Paren(_) => paren,
                inner => Expr::Paren(ParenExpr {
                    expr: Box::new(inner),
                }),
            };
            *other = Expr::Binary(BinaryExpr {
                op: TokenType::new(T_MUL),
                lhs: Box::new(lhs),
                rhs: Box::new(Expr::NumberLiteral(NumberLiteral::new(tidy(factor)))),
                modifier: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::parser::parse;

    /// The expression rewritten at `time_scale: 10`, rates scaled or not,
    /// and what was reported unsound.
    fn rewrite(expr: &str, rates_scaled: bool) -> (String, Vec<Adjustment>) {
        let mut ast = parse(expr).unwrap();
        let recorded = BTreeMap::from([(
            "job:requests:rate5m".to_string(),
            Reading::scaled(if rates_scaled { 10.0 } else { 1.0 }),
        )]);
        let mut rewrite = Rewrite::new(Pace::new(10.0, rates_scaled), &recorded, "A");
        rewrite.read(&mut ast);
        (ast.to_string(), rewrite.adjustments)
    }

    fn scaled(expr: &str) -> String {
        let (text, adjustments) = rewrite(expr, true);
        assert!(
            adjustments.iter().all(|a| !a.is_unsound()),
            "{adjustments:?}"
        );
        text
    }

    fn kept(expr: &str) -> String {
        let (text, adjustments) = rewrite(expr, false);
        assert!(
            adjustments.iter().all(|a| !a.is_unsound()),
            "{adjustments:?}"
        );
        text
    }

    #[test]
    fn per_second_thresholds_follow_scaled_rates_and_counts_follow_kept_ones() {
        assert_eq!(
            scaled("rate(x_total[30s]) > 100"),
            "rate(x_total[30s]) > 1000"
        );
        assert_eq!(
            scaled("irate(x_total[30s]) >= 5"),
            "irate(x_total[30s]) >= 50"
        );
        assert_eq!(scaled("deriv(queue[30s]) > 2"), "deriv(queue[30s]) > 20");
        assert_eq!(
            scaled("increase(x_total[6m]) > 100"),
            "increase(x_total[6m]) > 100"
        );
        assert_eq!(scaled("delta(queue[6m]) > 100"), "delta(queue[6m]) > 100");
        assert_eq!(kept("rate(x_total[30s]) > 100"), "rate(x_total[30s]) > 100");
        assert_eq!(
            kept("increase(x_total[6m]) > 100"),
            "increase(x_total[6m]) > 10"
        );
        assert_eq!(kept("changes(state[6m]) > 3"), "changes(state[6m]) > 0.3");
        assert_eq!(kept("resets(x_total[6m]) > 0"), "resets(x_total[6m]) > 0");
        assert_eq!(
            scaled("job:requests:rate5m > 100"),
            "job:requests:rate5m > 1000"
        );
    }

    #[test]
    fn ratios_latencies_levels_and_counts_of_samples_are_not_scaled() {
        for expr in [
            r#"sum(rate(x_total{status=~"5.."}[30s])) / sum(rate(x_total[30s])) > 0.05"#,
            "histogram_quantile(0.95, sum by (le) (rate(h_bucket[30s]))) > 0.5",
            "avg_over_time(memory_bytes[30s]) > 1000000",
            "max_over_time(queue[30s]) >= 10",
            "count_over_time(up[30s]) < 5",
            r#"absent(up{job="a"} == 1)"#,
            "absent_over_time(x[30s])",
            "rate(x_total[30s]) > 0",
            "count(up == 0) > 2",
        ] {
            assert_eq!(scaled(expr), parse(expr).unwrap().to_string(), "{expr}");
            assert_eq!(kept(expr), parse(expr).unwrap().to_string(), "{expr}");
        }
    }

    #[test]
    fn durations_written_as_numbers_are_divided() {
        assert_eq!(
            scaled("time() - last_success_timestamp_seconds > 3600"),
            "time() - last_success_timestamp_seconds > 360"
        );
        assert_eq!(
            scaled("last_success_timestamp_seconds < time() - 3600"),
            "last_success_timestamp_seconds < time() - 360"
        );
        assert_eq!(
            scaled("predict_linear(disk_free_bytes[6m], 14400) < 0"),
            "predict_linear(disk_free_bytes[6m], 1440) < 0"
        );
        assert_eq!(
            scaled("predict_linear(disk_free_bytes[6m], 4 * 3600) < 1000"),
            "predict_linear(disk_free_bytes[6m], (4 * 3600) * 0.1) < 1000"
        );
    }

    #[test]
    fn constants_take_the_unit_of_what_they_meet() {
        assert_eq!(
            scaled("rate(x_total[30s]) > (10 * 10)"),
            "rate(x_total[30s]) > (10 * 10) * 10"
        );
        assert_eq!(
            scaled("100 < rate(x_total[30s])"),
            "1000 < rate(x_total[30s])"
        );
        assert_eq!(
            scaled("rate(x_total[30s]) * 60 > 6000"),
            "rate(x_total[30s]) * 60 > 60000"
        );
        assert_eq!(
            scaled("clamp_min(rate(x_total[30s]), 1) > 5"),
            "clamp_min(rate(x_total[30s]), 10) > 50"
        );
        assert_eq!(
            scaled("sum(rate(x_total[30s])) / count(up) > 100"),
            "sum(rate(x_total[30s])) / count(up) > 1000"
        );
    }

    #[test]
    fn what_no_rewrite_makes_sound_is_left_and_reported() {
        for (expr, rates_scaled, why) in [
            ("rate(x_total[30s]) > queue_capacity", true, "compares"),
            (
                "rate(cpu_seconds_total[30s]) / cpu_quota > 0.9",
                true,
                "capacity",
            ),
            ("x_total > 1000", true, "raw value of counter"),
            (
                "predict_linear(disk_free_bytes[6m], 3600) < 0",
                false,
                "predict_linear",
            ),
            ("exp(rate(x_total[30s])) > 2", true, "exp()"),
        ] {
            let (text, adjustments) = rewrite(expr, rates_scaled);
            let unsound: Vec<_> = adjustments.iter().filter(|a| a.is_unsound()).collect();
            assert_eq!(unsound.len(), 1, "{expr}: {adjustments:?}");
            assert!(
                unsound[0].text().contains(why),
                "{expr}: {}",
                unsound[0].text()
            );
            if !expr.starts_with("predict_linear") {
                assert_eq!(
                    text,
                    parse(expr).unwrap().to_string(),
                    "{expr} is left as written"
                );
            }
        }
        // The same comparisons with rates as written read alike.
        let (_, adjustments) = rewrite("rate(cpu_seconds_total[30s]) / cpu_quota > 0.9", false);
        assert!(adjustments.is_empty());
    }
}
