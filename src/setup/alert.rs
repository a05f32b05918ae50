//! `AlertRef`: the alert a check names, read once when the scenario is
//! validated and carried typed from there on — by the plan, the records'
//! matching, the queries asked of Prometheus and the reports.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The alert a check names, as written: `Name`, or `Name{label="value",…}`
/// to tell apart alerts that share a name (Sloth's page and ticket alerts,
/// Pyrra's `ErrorBudgetBurn` windows). In JSON: the text as written, which
/// also keys the records of the alert (`observations.alerts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRef {
    pub name: String,
    /// Labels the alert must carry (equality only).
    pub labels: Vec<(String, String)>,
    /// The text as the scenario wrote it.
    text: String,
}

/// Why a text does not name an alert.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertRefError {
    /// promql-parser's own message (it reports errors as text).
    #[error("{0}")]
    NotPromQL(String),
    #[error("an alert is named `Name` or `Name{{label=\"value\"}}`")]
    NotASelector,
    #[error("the alert's name comes first: `Name{{label=\"value\"}}`")]
    NoName,
    #[error("`{label}{op}\"{value}\"`: only `=` picks an alert's labels")]
    NotEquality {
        label: String,
        op: String,
        value: String,
    },
    #[error("an alert name takes no `offset` or `@`")]
    OffsetOrAt,
}

impl AlertRef {
    /// Reads `text`: a bare name as it is (an alert may be called `sum`),
    /// anything else as a PromQL selector.
    pub fn parse(text: &str) -> Result<AlertRef, AlertRefError> {
        if is_bare_name(text) {
            return Ok(AlertRef {
                name: text.to_string(),
                labels: Vec::new(),
                text: text.to_string(),
            });
        }
        let expr = promql_parser::parser::parse(text).map_err(AlertRefError::NotPromQL)?;
        let promql_parser::parser::Expr::VectorSelector(selector) = expr else {
            return Err(AlertRefError::NotASelector);
        };
        let name = selector.name.clone().ok_or(AlertRefError::NoName)?;
        let mut labels = Vec::new();
        for m in &selector.matchers.matchers {
            if m.name == "__name__" {
                continue;
            }
            if !matches!(m.op, promql_parser::label::MatchOp::Equal) {
                return Err(AlertRefError::NotEquality {
                    label: m.name.clone(),
                    op: m.op.to_string(),
                    value: m.value.clone(),
                });
            }
            labels.push((m.name.clone(), m.value.clone()));
        }
        if selector.offset.is_some() || selector.at.is_some() {
            return Err(AlertRefError::OffsetOrAt);
        }
        Ok(AlertRef {
            name,
            labels,
            text: text.to_string(),
        })
    }

    /// The text as written (`Name{severity="page"}`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether an alert with `labels` (alertname among them) is this one.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        labels.get("alertname") == Some(&self.name)
            && self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    /// `ALERTS{alertname="Name",label="value"}`.
    pub fn alerts_selector(&self) -> String {
        let mut matchers = vec![format!("alertname=\"{}\"", self.name)];
        matchers.extend(
            self.labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))),
        );
        format!("ALERTS{{{}}}", matchers.join(","))
    }
}

fn is_bare_name(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

impl fmt::Display for AlertRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for AlertRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for AlertRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        AlertRef::parse(&text).map_err(|e| serde::de::Error::custom(format!("`{text}`: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_alone_or_with_labels_and_only_equality() {
        let plain = AlertRef::parse("GatewayDown").unwrap();
        assert_eq!(
            (plain.name.as_str(), plain.labels.len()),
            ("GatewayDown", 0)
        );
        let sloth = AlertRef::parse(r#"ErrorBudgetBurn{sloth_severity="page"}"#).unwrap();
        assert_eq!(sloth.name, "ErrorBudgetBurn");
        assert_eq!(sloth.as_str(), r#"ErrorBudgetBurn{sloth_severity="page"}"#);
        assert_eq!(
            sloth.alerts_selector(),
            r#"ALERTS{alertname="ErrorBudgetBurn",sloth_severity="page"}"#
        );
        let labels = BTreeMap::from([
            ("alertname".to_string(), "ErrorBudgetBurn".to_string()),
            ("sloth_severity".to_string(), "page".to_string()),
        ]);
        assert!(sloth.matches(&labels));
        assert!(
            !AlertRef::parse("ErrorBudgetBurn{sloth_severity=\"ticket\"}")
                .unwrap()
                .matches(&labels)
        );
        assert!(matches!(
            AlertRef::parse(r#"A{x=~"y"}"#),
            Err(AlertRefError::NotEquality { .. })
        ));
        assert!(AlertRef::parse("{x=\"y\"}").is_err());
        assert_eq!(AlertRef::parse("sum").unwrap().name, "sum");
    }

    #[test]
    fn in_json_it_is_the_text_as_written() {
        let alert = AlertRef::parse(r#"A{ x = "y" }"#).unwrap();
        let json = serde_json::to_string(&alert).unwrap();
        assert_eq!(json, r#""A{ x = \"y\" }""#);
        assert_eq!(serde_json::from_str::<AlertRef>(&json).unwrap(), alert);
    }
}
