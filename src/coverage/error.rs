//! What stops a coverage run (`CoverageError`): files that cannot be read
//! (named with their line), promtool missing or failing to run, the live
//! proof's stack failing to start, a Prometheus that cannot be asked.
//! An alert that cannot be provoked is never one of these: it is a verdict.

use std::path::PathBuf;

use crate::analyze::sweep::SweepError;
use crate::analyze::CheckError;
use crate::prom::PromError;
use crate::rules::alertmanager::MatcherError;
use crate::rules::RulesError;

#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    /// The files given cannot be read (file and line in the message).
    #[error(transparent)]
    Input(#[from] RulesError),
    /// The rules analysis underneath could not run.
    #[error(transparent)]
    Check(#[from] CheckError),
    /// The files hold no alerting rule.
    #[error("no alerting rules in the files given")]
    NoAlerts,
    /// `--require` that does not parse.
    #[error("--require: {0}")]
    Require(#[source] MatcherError),
    #[error("the coverage proof runs Prometheus's rule engine through promtool: install it with `sudo apt-get install prometheus` (or set FIREDRILL_PROMTOOL)")]
    PromtoolMissing,
    /// promtool could not be run, or said something other than its answers.
    #[error(transparent)]
    Promtool(Box<SweepError>),
    /// The live proof's stack (Prometheus, Alertmanager, the exporter)
    /// could not start or be asked.
    #[error("the live proof could not run: {0}")]
    Stack(#[source] Box<crate::env::EnvError>),
    /// The live proof's rules cannot be time-scaled.
    #[error("the live proof cannot time-scale the rules: {0}")]
    Scale(#[from] crate::rules::GroupScaleError),
    /// Coverage's own files (tests, emitted tests) cannot be written.
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The Prometheus given with `--prometheus` cannot be asked.
    #[error(transparent)]
    Prometheus(#[from] PromError),
}

impl From<SweepError> for CoverageError {
    fn from(error: SweepError) -> Self {
        match error {
            SweepError::PromtoolMissing => CoverageError::PromtoolMissing,
            other => CoverageError::Promtool(Box::new(other)),
        }
    }
}

impl From<crate::env::EnvError> for CoverageError {
    fn from(error: crate::env::EnvError) -> Self {
        CoverageError::Stack(Box::new(error))
    }
}

impl From<crate::prom::AlertmanagerError> for CoverageError {
    fn from(error: crate::prom::AlertmanagerError) -> Self {
        CoverageError::Stack(Box::new(error.into()))
    }
}

impl CoverageError {
    /// The files or the command line are wrong (nothing was proven), rather
    /// than the proof failing to run.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            CoverageError::Input(_)
                | CoverageError::Check(CheckError::Input(_))
                | CoverageError::NoAlerts
                | CoverageError::Require(_)
        )
    }
}
