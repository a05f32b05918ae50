//! Scenario files: reading, parsing and validating them into a `Plan`.
//!
//! Owns the file format and its errors. Every error names the file, the line
//! and column, and the field (`phases[1].rate`); all problems in a file are
//! reported together, before anything is sent. Knows nothing of HTTP or
//! Prometheus beyond checking that PromQL given in a scenario parses.

mod format;
mod locate;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use crate::spec::{units, FieldPath};
pub use locate::Position;
pub use validate::Overrides;

use crate::plan::Plan;

/// One thing wrong with a scenario file, located.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub position: Position,
    /// `phases[1].rate`, or empty when the file could not be parsed at all.
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: cannot read the scenario file: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let field = if p.field.is_empty() {
            String::new()
        } else {
            format!(" {}:", p.field)
        };
        out.push_str(&format!(
            "{}:{}:{}:{field} {}",
            path.display(),
            p.position.line,
            p.position.column,
            p.message
        ));
    }
    out
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.position.line, self.position.column, self.field, self.message
        )
    }
}

/// Reads, parses and validates a scenario file.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Plan, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path, overrides)
}

/// Parses and validates scenario text; `path` names it in messages and
/// anchors relative rule-file paths.
pub fn parse(text: &str, path: &Path, overrides: &Overrides) -> Result<Plan, ScenarioError> {
    let invalid = |problems| ScenarioError::Invalid {
        path: path.to_path_buf(),
        problems,
    };
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(invalid(vec![Problem {
            position: Position { line: 1, column: 1 },
            field: FieldPath::root().to_string(),
            message: "the scenario file is empty: it needs a `name` and `phases`".into(),
        }]));
    }
    let locator = locate::Locator::new(text);
    let file: format::ScenarioFile = serde_norway::from_str(text).map_err(|e| {
        let mut problem = serde_problem(&e);
        if problem.field.is_empty() {
            // A syntax error: name the field it interrupts.
            problem.field = locator.path_at(problem.position).to_string();
        }
        invalid(vec![problem])
    })?;
    validate::validate(file, path, text, overrides).map_err(|problems| {
        invalid(
            problems
                .into_iter()
                .map(|problem| Problem {
                    position: locator.locate(&problem.path),
                    field: problem.path.to_string(),
                    message: problem.message,
                })
                .collect(),
        )
    })
}

/// serde_norway's message reads `phases[0].rate: invalid … at line 5 column 11`;
/// split it into field, message and position.
fn serde_problem(error: &serde_norway::Error) -> Problem {
    let position = error
        .location()
        .map(|l| Position {
            line: l.line(),
            column: l.column(),
        })
        .unwrap_or(Position { line: 1, column: 1 });
    let mut message = error.to_string();
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    let (field, message) = match message.split_once(": ") {
        Some((field, rest)) if looks_like_field_path(field) => {
            (field.to_string(), rest.to_string())
        }
        _ => (String::new(), message),
    };
    // "unknown field `rat`" and "missing field `name`" are about a field
    // inside the path serde names: name that field itself.
    let field = match backticked_after(&message, &["unknown field `", "missing field `"]) {
        Some(name) if field.is_empty() => name,
        Some(name) => format!("{field}.{name}"),
        None => field,
    };
    Problem {
        position,
        field,
        message: explain_serde_message(&message),
    }
}

fn backticked_after(message: &str, prefixes: &[&str]) -> Option<String> {
    prefixes.iter().find_map(|prefix| {
        let rest = message.strip_prefix(prefix)?;
        rest.split('`').next().map(str::to_string)
    })
}

fn looks_like_field_path(text: &str) -> bool {
    !text.is_empty()
        && !text.contains(' ')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c))
}

/// serde says "unknown field `rat`, expected one of …"; that is already clear.
/// A missing top-level key reads better with the hint of what the file needs.
fn explain_serde_message(message: &str) -> String {
    if message.starts_with("missing field `phases`") {
        return format!("{message}: a scenario lists its traffic under `phases:`");
    }
    message.to_string()
}

#[cfg(test)]
mod tests;
