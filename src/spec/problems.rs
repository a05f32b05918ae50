//! The problems validation finds, each at a field path, collected so that a
//! file's author reads every one at once rather than one per run.

use super::FieldPath;

/// A problem found by validation, not yet located in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldProblem {
    pub path: FieldPath,
    pub message: String,
}

/// Collects problems as validation walks a scenario.
#[derive(Debug, Default)]
pub struct Validator {
    problems: Vec<FieldProblem>,
}

impl Validator {
    pub fn new() -> Self {
        Validator::default()
    }

    pub fn problem(&mut self, path: FieldPath, message: impl Into<String>) {
        self.problems.push(FieldProblem {
            path,
            message: message.into(),
        });
    }

    /// How many problems were found so far: a part of a file is valid when
    /// validating it added none.
    pub fn count(&self) -> usize {
        self.problems.len()
    }

    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn into_problems(self) -> Vec<FieldProblem> {
        self.problems
    }
}
