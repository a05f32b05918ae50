//! Human units in scenario files: durations (`30s`, `2m`, `1h30m`, `500ms`, in
//! Prometheus's own duration syntax), rates (`10/s`, `600/m`), ratios (`5%` or
//! `0.05`), quantiles (`p95`, `0.95`), and a container's limits in
//! Kubernetes's quantity syntax: memory (`256Mi`, `1Gi`, `500M`) and CPU
//! (`500m`, `0.5`, `2`).
//!
//! Each type deserializes from YAML with an error that says what was expected,
//! so a typo is reported at its line and column before anything is sent. The
//! error (`UnitError`) says what is wrong with the text; where it is, is the
//! caller's to say.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::time::{prometheus_duration, trim_float};

/// What is wrong with a unit as written. The messages are the ones a
/// scenario's author reads, after the field's path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnitError {
    #[error("empty duration; write it with a unit, e.g. 30s or 2m")]
    EmptyDuration,
    #[error("duration `{text}` has no unit; write e.g. {text}s or {text}m")]
    DurationWithoutUnit { text: String },
    /// Prometheus's duration parser refused it (its message is text).
    #[error("duration `{text}`: {reason} (examples: 500ms, 30s, 2m, 1h30m)")]
    Duration { text: String, reason: String },
    #[error("rate `{text}` needs a unit: write it as 10/s, 600/m or 36000/h")]
    RateWithoutUnit { text: String },
    #[error("rate `{text}`: `{number}` is not a number")]
    RateNotANumber { text: String, number: String },
    #[error("rate `{text}`: unknown unit `/{unit}` (use /s, /m or /h)")]
    RateUnit { text: String, unit: String },
    #[error("rate `{text}` must be a non-negative number")]
    NegativeRate { text: String },
    #[error("ratio `{text}`: `{number}` is not a number")]
    PercentNotANumber { text: String, number: String },
    #[error("ratio `{text}` is not a number or a percentage")]
    RatioNotANumber { text: String },
    #[error("must be between 0 and 1 (or 0% and 100%)")]
    RatioOutOfRange,
    #[error("quantile `{text}`: write p95, p99 or 0.95")]
    QuantileNotANumber { text: String },
    #[error("must be strictly between 0 and 1 (p0 < q < p100)")]
    QuantileOutOfRange,
    #[error(
        "memory `{text}`: unknown unit `{unit}` (use Ki, Mi, Gi, Ti, k, M, G or T, as in 256Mi)"
    )]
    MemoryUnit { text: String, unit: String },
    #[error("memory `{text}`: `{number}` is not a number")]
    MemoryNotANumber { text: String, number: String },
    #[error("must be a positive number of bytes")]
    MemoryOutOfRange,
    #[error("cpu `{text}` is not a number of cores or millicores (like 0.5 or 500m)")]
    CoresNotANumber { text: String },
    #[error("must be more than 0 cores")]
    CoresOutOfRange,
    /// A range error, said about the text it was read from.
    #[error("{kind} `{text}`: {source}")]
    Written {
        kind: &'static str,
        text: String,
        #[source]
        source: Box<UnitError>,
    },
}

impl UnitError {
    fn about(self, kind: &'static str, text: &str) -> UnitError {
        UnitError::Written {
            kind,
            text: text.to_string(),
            source: Box::new(self),
        }
    }
}

/// A duration written with a unit. A bare number is refused: `deadline: 30`
/// could mean seconds or minutes, and a drill must not guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn parse(text: &str) -> Result<Self, UnitError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(UnitError::EmptyDuration);
        }
        if text.parse::<f64>().is_ok() {
            return Err(UnitError::DurationWithoutUnit { text: text.into() });
        }
        // Prometheus's own grammar (ms, s, m, h, d, w, y), so the same text means
        // the same thing in a scenario and in a rule file.
        promql_parser::util::parse_duration(text)
            .map(HumanDuration)
            .map_err(|reason| UnitError::Duration {
                text: text.into(),
                reason: reason.to_string(),
            })
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&prometheus_duration(self.0))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor {
            expecting: "a duration with a unit, like 30s or 2m",
            parse: HumanDuration::parse,
        })
    }
}

/// A request rate in requests per second.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rate(pub f64);

impl Rate {
    pub fn parse(text: &str) -> Result<Self, UnitError> {
        let text = text.trim();
        let Some((number, unit)) = text.split_once('/') else {
            return Err(UnitError::RateWithoutUnit { text: text.into() });
        };
        let number: f64 = number
            .trim()
            .parse()
            .map_err(|_| UnitError::RateNotANumber {
                text: text.into(),
                number: number.into(),
            })?;
        let per_second = match unit.trim() {
            "s" => number,
            "m" => number / 60.0,
            "h" => number / 3600.0,
            other => {
                return Err(UnitError::RateUnit {
                    text: text.into(),
                    unit: other.into(),
                })
            }
        };
        if !per_second.is_finite() || per_second < 0.0 {
            return Err(UnitError::NegativeRate { text: text.into() });
        }
        Ok(Rate(per_second))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", trim_float(self.0))
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor {
            expecting: "a rate like 10/s",
            parse: Rate::parse,
        })
    }
}

/// A fraction between 0 and 1, written `5%` or `0.05`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Ratio(pub f64);

impl Ratio {
    pub fn parse(text: &str) -> Result<Self, UnitError> {
        let text = text.trim();
        let value = if let Some(percent) = text.strip_suffix('%') {
            percent
                .trim()
                .parse::<f64>()
                .map(|p| p / 100.0)
                .map_err(|_| UnitError::PercentNotANumber {
                    text: text.into(),
                    number: percent.into(),
                })?
        } else {
            text.parse::<f64>()
                .map_err(|_| UnitError::RatioNotANumber { text: text.into() })?
        };
        Self::from_f64(value).map_err(|e| e.about("ratio", text))
    }

    fn from_f64(value: f64) -> Result<Self, UnitError> {
        if value.is_finite() && (0.0..=1.0).contains(&value) {
            Ok(Ratio(value))
        } else {
            Err(UnitError::RatioOutOfRange)
        }
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", trim_float(self.0 * 100.0))
    }
}

impl Serialize for Ratio {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberOrText {
            expecting: "a ratio like 5% or 0.05",
            parse: Ratio::parse,
            from_f64: Ratio::from_f64,
        })
    }
}

/// Bytes, as a Kubernetes memory quantity: a number with a binary (`Ki`,
/// `Mi`, `Gi`, `Ti`) or decimal (`k`, `M`, `G`, `T`) suffix, or none (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(text: &str) -> Result<Self, UnitError> {
        let text = text.trim();
        let split = text
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len());
        let (number, suffix) = text.split_at(split);
        let unit: u64 = match suffix {
            "" => 1,
            "Ki" => 1 << 10,
            "Mi" => 1 << 20,
            "Gi" => 1 << 30,
            "Ti" => 1 << 40,
            "k" => 1_000,
            "M" => 1_000_000,
            "G" => 1_000_000_000,
            "T" => 1_000_000_000_000,
            _ => {
                return Err(UnitError::MemoryUnit {
                    text: text.into(),
                    unit: suffix.into(),
                })
            }
        };
        let number: f64 = number
            .trim()
            .parse()
            .map_err(|_| UnitError::MemoryNotANumber {
                text: text.into(),
                number: number.into(),
            })?;
        Self::from_f64(number * unit as f64).map_err(|e| e.about("memory", text))
    }

    fn from_f64(bytes: f64) -> Result<Self, UnitError> {
        if bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64 {
            Ok(ByteSize(bytes.round() as u64))
        } else {
            Err(UnitError::MemoryOutOfRange)
        }
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (unit, name) = [(1u64 << 30, "Gi"), (1 << 20, "Mi"), (1 << 10, "Ki")]
            .into_iter()
            .find(|(unit, _)| self.0 >= *unit)
            .unwrap_or((1, ""));
        write!(f, "{}{name}", trim_float(self.0 as f64 / unit as f64))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberOrText {
            expecting: "a memory size like 256Mi or 1Gi",
            parse: ByteSize::parse,
            from_f64: ByteSize::from_f64,
        })
    }
}

/// CPU cores, as a Kubernetes CPU quantity: `500m` (millicores) or a number.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Cores(pub f64);

impl Cores {
    pub fn parse(text: &str) -> Result<Self, UnitError> {
        let text = text.trim();
        let (number, scale) = match text.strip_suffix('m') {
            Some(millis) => (millis, 1000.0),
            None => (text, 1.0),
        };
        let number: f64 = number
            .trim()
            .parse()
            .map_err(|_| UnitError::CoresNotANumber { text: text.into() })?;
        Self::from_f64(number / scale).map_err(|e| e.about("cpu", text))
    }

    fn from_f64(cores: f64) -> Result<Self, UnitError> {
        if cores.is_finite() && cores > 0.0 {
            Ok(Cores(cores))
        } else {
            Err(UnitError::CoresOutOfRange)
        }
    }
}

impl fmt::Display for Cores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", trim_float(self.0))
    }
}

impl<'de> Deserialize<'de> for Cores {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberOrText {
            expecting: "CPU cores like 500m or 0.5",
            parse: Cores::parse,
            from_f64: Cores::from_f64,
        })
    }
}

/// A quantile strictly between 0 and 1, written `p95`, `p99.9` or `0.95`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Quantile(pub f64);

impl Quantile {
    pub fn parse(text: &str) -> Result<Self, UnitError> {
        let text = text.trim();
        let not_a_number = |_| UnitError::QuantileNotANumber { text: text.into() };
        let value = match text.strip_prefix('p') {
            Some(percentile) => percentile
                .parse::<f64>()
                // Rounded so p99.9 is 0.999, not 0.9990000000000001.
                .map(|p| (p / 100.0 * 1e12).round() / 1e12)
                .map_err(not_a_number)?,
            None => text.parse::<f64>().map_err(not_a_number)?,
        };
        Self::from_f64(value).map_err(|e| e.about("quantile", text))
    }

    fn from_f64(value: f64) -> Result<Self, UnitError> {
        if value.is_finite() && value > 0.0 && value < 1.0 {
            Ok(Quantile(value))
        } else {
            Err(UnitError::QuantileOutOfRange)
        }
    }

    /// `p95`, `p99.9`: how people name quantiles in reports.
    pub fn label(&self) -> String {
        format!("p{}", trim_float(self.0 * 100.0))
    }
}

impl fmt::Display for Quantile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl Serialize for Quantile {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.label())
    }
}

impl<'de> Deserialize<'de> for Quantile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberOrText {
            expecting: "a quantile like p95 or 0.95",
            parse: Quantile::parse,
            from_f64: Quantile::from_f64,
        })
    }
}

/// Accepts only strings (durations and rates must carry a unit).
struct TextVisitor<T> {
    expecting: &'static str,
    parse: fn(&str) -> Result<T, UnitError>,
}

impl<'de, T> Visitor<'de> for TextVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        (self.parse)(&v.to_string()).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        (self.parse)(&v.to_string()).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        (self.parse)(&v.to_string()).map_err(E::custom)
    }
}

/// Accepts numbers as well as text (`0.05` or `5%`).
struct NumberOrText<T> {
    expecting: &'static str,
    parse: fn(&str) -> Result<T, UnitError>,
    from_f64: fn(f64) -> Result<T, UnitError>,
}

impl<'de, T> Visitor<'de> for NumberOrText<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        (self.from_f64)(v as f64).map_err(|e| E::custom(format!("`{v}`: {e}")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        (self.from_f64)(v as f64).map_err(|e| E::custom(format!("`{v}`: {e}")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        (self.from_f64)(v).map_err(|e| E::custom(format!("`{v}`: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_prometheus_syntax_and_need_a_unit() {
        assert_eq!(
            HumanDuration::parse("2m").unwrap().0,
            Duration::from_secs(120)
        );
        assert_eq!(
            HumanDuration::parse("1h30m").unwrap().0,
            Duration::from_secs(5400)
        );
        assert_eq!(
            HumanDuration::parse("500ms").unwrap().0,
            Duration::from_millis(500)
        );
        let err = HumanDuration::parse("30").unwrap_err();
        assert!(err.to_string().contains("no unit"), "{err}");
        assert!(HumanDuration::parse("0s").is_err());
        assert!(HumanDuration::parse("2 minutes").is_err());
        assert_eq!(
            HumanDuration(Duration::from_millis(90_500)).to_string(),
            "1m30s500ms"
        );
    }

    #[test]
    fn rates_ratios_and_quantiles() {
        assert_eq!(Rate::parse("10/s").unwrap().0, 10.0);
        assert_eq!(Rate::parse("600/m").unwrap().0, 10.0);
        assert!(Rate::parse("10")
            .unwrap_err()
            .to_string()
            .contains("needs a unit"));
        assert!(Rate::parse("-1/s").is_err());
        assert!(Rate::parse("10/d")
            .unwrap_err()
            .to_string()
            .contains("unknown unit"));
        assert_eq!(Ratio::parse("5%").unwrap().0, 0.05);
        assert_eq!(Ratio::parse("0.5").unwrap().0, 0.5);
        assert!(Ratio::parse("150%").is_err());
        assert_eq!(Quantile::parse("p99.9").unwrap().0, 0.999);
        assert_eq!(Quantile::parse("0.95").unwrap().label(), "p95");
        assert!(Quantile::parse("1").is_err());
        assert!(Quantile::parse("p100").is_err());
    }

    #[test]
    fn memory_and_cpu_in_kubernetes_quantities() {
        assert_eq!(ByteSize::parse("256Mi").unwrap().0, 256 << 20);
        assert_eq!(ByteSize::parse("1.5Gi").unwrap().0, 3 << 29);
        assert_eq!(ByteSize::parse("500M").unwrap().0, 500_000_000);
        assert_eq!(ByteSize::parse("4096").unwrap().0, 4096);
        assert!(ByteSize::parse("256MB")
            .unwrap_err()
            .to_string()
            .contains("unknown unit `MB`"));
        assert!(ByteSize::parse("-1Mi").is_err());
        assert!(ByteSize::parse("0").is_err());
        assert_eq!(ByteSize(256 << 20).to_string(), "256Mi");
        assert_eq!(Cores::parse("500m").unwrap().0, 0.5);
        assert_eq!(Cores::parse("2").unwrap().0, 2.0);
        assert!(Cores::parse("0m").is_err());
        assert!(Cores::parse("half")
            .unwrap_err()
            .to_string()
            .contains("not a number"));
    }
}
