//! The PromQL range functions the analysis knows, as a type: which signal
//! a function makes of its window, and how many samples it needs before it
//! says anything (promql/functions.go): rate, irate, increase, delta,
//! idelta, deriv, predict_linear and holt_winters return nothing with fewer
//! than two samples; changes and resets return 0 (not nothing) with fewer
//! than two; the `*_over_time` functions work with one.

use std::fmt;

use serde::Serialize;

/// A function over a range window (`rate(x[5m])`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    Rate,
    Irate,
    Increase,
    Delta,
    Idelta,
    Deriv,
    PredictLinear,
    HoltWinters,
    Changes,
    Resets,
    AvgOverTime,
    MinOverTime,
    MaxOverTime,
    SumOverTime,
    CountOverTime,
    QuantileOverTime,
    StddevOverTime,
    StdvarOverTime,
    LastOverTime,
    PresentOverTime,
    MadOverTime,
}

/// Every function with its PromQL name.
const NAMES: &[(Function, &str)] = &[
    (Function::Rate, "rate"),
    (Function::Irate, "irate"),
    (Function::Increase, "increase"),
    (Function::Delta, "delta"),
    (Function::Idelta, "idelta"),
    (Function::Deriv, "deriv"),
    (Function::PredictLinear, "predict_linear"),
    (Function::HoltWinters, "holt_winters"),
    (Function::Changes, "changes"),
    (Function::Resets, "resets"),
    (Function::AvgOverTime, "avg_over_time"),
    (Function::MinOverTime, "min_over_time"),
    (Function::MaxOverTime, "max_over_time"),
    (Function::SumOverTime, "sum_over_time"),
    (Function::CountOverTime, "count_over_time"),
    (Function::QuantileOverTime, "quantile_over_time"),
    (Function::StddevOverTime, "stddev_over_time"),
    (Function::StdvarOverTime, "stdvar_over_time"),
    (Function::LastOverTime, "last_over_time"),
    (Function::PresentOverTime, "present_over_time"),
    (Function::MadOverTime, "mad_over_time"),
];

impl Function {
    /// The function a call names (None: not a range function known here).
    pub fn from_name(name: &str) -> Option<Function> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }

    /// Its PromQL name.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(f, _)| *f == self)
            .map(|(_, n)| *n)
            .expect("every function is in NAMES")
    }

    /// The samples it needs before it says anything (or anything true).
    pub fn samples_needed(self) -> usize {
        match self {
            Function::Rate
            | Function::Irate
            | Function::Increase
            | Function::Delta
            | Function::Idelta
            | Function::Deriv
            | Function::PredictLinear
            | Function::HoltWinters
            | Function::Changes
            | Function::Resets => 2,
            _ => 1,
        }
    }

    /// With fewer samples than needed, it returns 0 (not nothing).
    pub fn returns_zero_when_short(self) -> bool {
        matches!(self, Function::Changes | Function::Resets)
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_serialize_as_written() {
        for (function, name) in NAMES {
            assert_eq!(Function::from_name(name), Some(*function));
            assert_eq!(function.name(), *name);
            assert_eq!(
                serde_json::to_string(function).unwrap(),
                format!("\"{name}\"")
            );
        }
        assert_eq!(Function::from_name("histogram_quantile"), None);
    }
}
