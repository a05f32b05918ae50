//! PromQL's operators and aggregations as types, read from the parser's
//! tokens (never from their text): arithmetic, comparisons and set
//! operators, and what each comparison means. An operator the parser has
//! and this list does not is an error the caller sees, never a guess.

use std::fmt;

use promql_parser::parser::token::{
    TokenType, T_ADD, T_ATAN2, T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_DIV, T_EQLC, T_GROUP,
    T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS, T_MAX, T_MIN, T_MOD, T_MUL, T_NEQ, T_POW,
    T_QUANTILE, T_STDDEV, T_STDVAR, T_SUB, T_SUM, T_TOPK,
};

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Arithmetic(Arithmetic),
    Comparison(Comparison),
    Set(SetOp),
}

/// `+`, `-`, `*`, `/`, `%`, `^`, `atan2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arithmetic {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
}

/// `==`, `!=`, `>`, `>=`, `<`, `<=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Equal,
    NotEqual,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

/// `and`, `or`, `unless`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    And,
    Or,
    Unless,
}

/// An operator token this module does not know (a newer parser's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the operator `{0}`")]
pub struct UnknownOperator(pub TokenType);

impl BinaryOp {
    /// The operator a binary expression's token stands for.
    pub fn of(token: TokenType) -> Result<BinaryOp, UnknownOperator> {
        Ok(match token.id() {
            T_ADD => BinaryOp::Arithmetic(Arithmetic::Add),
            T_SUB => BinaryOp::Arithmetic(Arithmetic::Sub),
            T_MUL => BinaryOp::Arithmetic(Arithmetic::Mul),
            T_DIV => BinaryOp::Arithmetic(Arithmetic::Div),
            T_MOD => BinaryOp::Arithmetic(Arithmetic::Mod),
            T_POW => BinaryOp::Arithmetic(Arithmetic::Pow),
            T_ATAN2 => BinaryOp::Arithmetic(Arithmetic::Atan2),
            T_EQLC => BinaryOp::Comparison(Comparison::Equal),
            T_NEQ => BinaryOp::Comparison(Comparison::NotEqual),
            T_GTR => BinaryOp::Comparison(Comparison::Greater),
            T_GTE => BinaryOp::Comparison(Comparison::GreaterOrEqual),
            T_LSS => BinaryOp::Comparison(Comparison::Less),
            T_LTE => BinaryOp::Comparison(Comparison::LessOrEqual),
            T_LAND => BinaryOp::Set(SetOp::And),
            T_LOR => BinaryOp::Set(SetOp::Or),
            T_LUNLESS => BinaryOp::Set(SetOp::Unless),
            _ => return Err(UnknownOperator(token)),
        })
    }

    /// The comparison, if the token is one.
    pub fn comparison(token: TokenType) -> Option<Comparison> {
        match BinaryOp::of(token) {
            Ok(BinaryOp::Comparison(c)) => Some(c),
            _ => None,
        }
    }

    /// The arithmetic, if the token is one.
    pub fn arithmetic(token: TokenType) -> Option<Arithmetic> {
        match BinaryOp::of(token) {
            Ok(BinaryOp::Arithmetic(a)) => Some(a),
            _ => None,
        }
    }

    /// The set operator, if the token is one.
    pub fn set(token: TokenType) -> Option<SetOp> {
        match BinaryOp::of(token) {
            Ok(BinaryOp::Set(s)) => Some(s),
            _ => None,
        }
    }
}

impl Arithmetic {
    /// `a op b` as PromQL computes it between scalars (None: `atan2`,
    /// which the analysis does not fold).
    pub fn apply(self, a: f64, b: f64) -> Option<f64> {
        Some(match self {
            Arithmetic::Add => a + b,
            Arithmetic::Sub => a - b,
            Arithmetic::Mul => a * b,
            Arithmetic::Div => a / b,
            Arithmetic::Mod => a % b,
            Arithmetic::Pow => a.powf(b),
            Arithmetic::Atan2 => return None,
        })
    }

    pub fn text(self) -> &'static str {
        match self {
            Arithmetic::Add => "+",
            Arithmetic::Sub => "-",
            Arithmetic::Mul => "*",
            Arithmetic::Div => "/",
            Arithmetic::Mod => "%",
            Arithmetic::Pow => "^",
            Arithmetic::Atan2 => "atan2",
        }
    }
}

impl fmt::Display for Arithmetic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.text())
    }
}

impl Comparison {
    /// The same comparison with the value on the other side (`θ < x` is
    /// `x > θ`).
    pub fn flipped(self) -> Comparison {
        match self {
            Comparison::Greater => Comparison::Less,
            Comparison::GreaterOrEqual => Comparison::LessOrEqual,
            Comparison::Less => Comparison::Greater,
            Comparison::LessOrEqual => Comparison::GreaterOrEqual,
            same => same,
        }
    }

    /// Whether `value op threshold` holds.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Equal => value == threshold,
            Comparison::NotEqual => value != threshold,
            Comparison::Greater => value > threshold,
            Comparison::GreaterOrEqual => value >= threshold,
            Comparison::Less => value < threshold,
            Comparison::LessOrEqual => value <= threshold,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Comparison::Equal => "==",
            Comparison::NotEqual => "!=",
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => ">=",
            Comparison::Less => "<",
            Comparison::LessOrEqual => "<=",
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.text())
    }
}

/// An aggregation operator (`sum`, `count`, `topk`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    CountValues,
    Quantile,
}

impl Aggregation {
    /// The aggregation a token stands for (None: one this list does not know).
    pub fn of(token: TokenType) -> Option<Aggregation> {
        Some(match token.id() {
            T_SUM => Aggregation::Sum,
            T_AVG => Aggregation::Avg,
            T_COUNT => Aggregation::Count,
            T_MIN => Aggregation::Min,
            T_MAX => Aggregation::Max,
            T_GROUP => Aggregation::Group,
            T_STDDEV => Aggregation::Stddev,
            T_STDVAR => Aggregation::Stdvar,
            T_TOPK => Aggregation::Topk,
            T_BOTTOMK => Aggregation::Bottomk,
            T_COUNT_VALUES => Aggregation::CountValues,
            T_QUANTILE => Aggregation::Quantile,
            _ => return None,
        })
    }

    /// It returns some of its input series as they are (`topk`), rather
    /// than one series per group.
    pub fn selects_series(self) -> bool {
        matches!(self, Aggregation::Topk | Aggregation::Bottomk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::parser::{parse, Expr};

    fn op(q: &str) -> BinaryOp {
        match parse(q).unwrap() {
            Expr::Binary(b) => BinaryOp::of(b.op).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tokens_are_read_as_operators() {
        assert_eq!(op("a / b"), BinaryOp::Arithmetic(Arithmetic::Div));
        assert_eq!(
            op("a >= 1"),
            BinaryOp::Comparison(Comparison::GreaterOrEqual)
        );
        assert_eq!(op("a unless b"), BinaryOp::Set(SetOp::Unless));
        assert_eq!(op("a atan2 b"), BinaryOp::Arithmetic(Arithmetic::Atan2));
        assert_eq!(Comparison::Less.flipped(), Comparison::Greater);
        assert_eq!(Comparison::NotEqual.flipped(), Comparison::NotEqual);
        assert!(Comparison::LessOrEqual.holds(1.0, 1.0));
        let Expr::Aggregate(a) = parse("count(x)").unwrap() else {
            panic!()
        };
        assert_eq!(Aggregation::of(a.op), Some(Aggregation::Count));
    }
}
