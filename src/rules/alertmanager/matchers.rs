//! Alertmanager's label matchers: `name="value"`, `name!="value"`,
//! `name=~"regex"` and `name!~"regex"`, as written in `matchers:` lists,
//! inhibition rules and silences, and the older `match:`/`match_re:` maps.
//!
//! Alertmanager semantics: a label that is not there has the value "" (so
//! `severity=""` matches an alert without one); regular expressions are
//! anchored at both ends (`^(?:re)$`, RE2 syntax, which the `regex` crate
//! shares for everything Alertmanager configurations use).

use std::fmt;

use regex::Regex;

use crate::record::Labels;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    fn text(&self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// A matcher (or a `matchers:` entry) that cannot be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MatcherError {
    #[error("`{0}` is not a label name")]
    NotALabelName(String),
    #[error("`{value}` is not a regular expression: {source}")]
    Regex {
        value: String,
        #[source]
        source: regex::Error,
    },
    #[error("`{name}` needs an operator: =, !=, =~ or !~")]
    NoOperator { name: String },
    #[error("a value ends in a lone `\\`")]
    LoneBackslash,
    #[error("the value of `{name}` has no closing quote")]
    Unclosed { name: String },
    #[error("`{text}`: an opening `{{` without its `}}`")]
    Unbalanced { text: String },
    #[error("`{text}`: expected `,` before `{rest}`")]
    NoComma { text: String, rest: String },
    /// One matcher of an entry, with the entry.
    #[error("`{text}`: {source}")]
    In {
        text: String,
        #[source]
        source: Box<MatcherError>,
    },
}

/// One matcher. Compares equal by its text.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Matcher {
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Self, MatcherError> {
        if !is_label_name(name) {
            return Err(MatcherError::NotALabelName(name.to_string()));
        }
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                Some(Regex::new(&format!("^(?:{value})$")).map_err(|source| {
                    MatcherError::Regex {
                        value: value.to_string(),
                        source,
                    }
                })?)
            }
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            regex,
        })
    }

    pub fn matches_value(&self, value: &str) -> bool {
        match (&self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            (_, None) => false,
        }
    }

    /// Whether the labels match (a missing label counts as "").
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matches_value(labels.get(&self.name).map(String::as_str).unwrap_or(""))
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = serde_json::to_string(&self.value).unwrap_or_default();
        write!(f, "{}{}{quoted}", self.name, self.op.text())
    }
}

/// Every matcher of a list matches.
pub fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

/// `{a="b", c=~"d"}` for messages (`{}` for an empty list).
pub fn describe(matchers: &[Matcher]) -> String {
    let inner: Vec<String> = matchers.iter().map(Matcher::to_string).collect();
    format!("{{{}}}", inner.join(", "))
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses one entry of a `matchers:` list. Like Alertmanager, an entry may
/// hold several matchers separated by commas, optionally in braces, and a
/// value may be quoted (`"…"`, with `\"`, `\\` and `\n` escapes) or not.
pub fn parse_matchers(text: &str) -> Result<Vec<Matcher>, MatcherError> {
    let trimmed = text.trim();
    let inner = match trimmed.strip_prefix('{') {
        Some(rest) => rest
            .strip_suffix('}')
            .ok_or_else(|| MatcherError::Unbalanced {
                text: text.to_string(),
            })?,
        None => trimmed,
    };
    let mut matchers = Vec::new();
    let mut rest = inner.trim_start();
    while !rest.is_empty() {
        let (matcher, after) = parse_one(rest).map_err(|e| MatcherError::In {
            text: text.to_string(),
            source: Box::new(e),
        })?;
        matchers.push(matcher);
        rest = after.trim_start();
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim_start();
        } else if !rest.is_empty() {
            return Err(MatcherError::NoComma {
                text: text.to_string(),
                rest: rest.to_string(),
            });
        }
    }
    Ok(matchers)
}

/// One matcher from the front of `text`; returns it and what follows.
fn parse_one(text: &str) -> Result<(Matcher, &str), MatcherError> {
    let name_end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    let name = &text[..name_end];
    let after_name = text[name_end..].trim_start();
    let (op, after_op) = [
        ("=~", MatchOp::Regex),
        ("!~", MatchOp::NotRegex),
        ("!=", MatchOp::NotEqual),
        ("=", MatchOp::Equal),
    ]
    .iter()
    .find_map(|(token, op)| after_name.strip_prefix(token).map(|rest| (*op, rest)))
    .ok_or_else(|| MatcherError::NoOperator {
        name: name.to_string(),
    })?;
    let after_op = after_op.trim_start();
    let (value, rest) = if let Some(quoted) = after_op.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err(MatcherError::LoneBackslash),
                },
                Some((_, c)) => value.push(c),
                None => {
                    return Err(MatcherError::Unclosed {
                        name: name.to_string(),
                    })
                }
            }
        };
        (value, &quoted[end + 1..])
    } else {
        let end = after_op.find(',').unwrap_or(after_op.len());
        (after_op[..end].trim_end().to_string(), &after_op[end..])
    };
    Ok((Matcher::new(name, op, &value)?, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_four_operators_and_missing_labels() {
        let warning = labels(&[("severity", "warning"), ("job", "api-gateway")]);
        let cases = [
            ("severity=\"warning\"", true),
            ("severity!=\"warning\"", false),
            ("severity=~\"warn.*|critical\"", true),
            ("severity!~\"warn\"", true), // anchored: `warn` is not `warning`
            ("team=\"\"", true),          // a missing label is ""
            ("team!=\"\"", false),
            ("severity=warning", true), // unquoted
        ];
        for (text, expected) in cases {
            let parsed = parse_matchers(text).unwrap();
            assert_eq!(all_match(&parsed, &warning), expected, "{text}");
        }
    }

    #[test]
    fn lists_braces_quotes_and_errors() {
        let parsed = parse_matchers(r#"{severity="critical", comment="a, \"b\""}"#).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1].value, "a, \"b\"");
        assert_eq!(
            describe(&parsed),
            r#"{severity="critical", comment="a, \"b\""}"#
        );
        assert!(parse_matchers("severity")
            .unwrap_err()
            .to_string()
            .contains("operator"));
        assert!(parse_matchers("a=~\"(\"")
            .unwrap_err()
            .to_string()
            .contains("regular"));
        assert!(parse_matchers("a=\"x")
            .unwrap_err()
            .to_string()
            .contains("closing quote"));
        assert!(parse_matchers("").unwrap().is_empty());
    }
}
