//! What a command returns, `Result<Outcome, CommandError>`, and the one
//! place that turns it into the process's exit code (the contract of
//! `exit`, README "Exit codes") and prints the error.
//!
//! A command that did its work returns an `Outcome`: its verdict. One that
//! could not returns a `CommandError`, which keeps its cause; the class of
//! each error (invalid input, 2; could not find out, 3; the deploy failed, 1)
//! is decided here, in `CommandError::exit_code`, and nowhere else. What a
//! command prints on its way (tables, summaries, a run's narration) stays
//! with the command; only the error that ends it is printed here.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::load::LoadCommandError;
use crate::analyze::sweep::SweepError;
use crate::analyze::CheckError;
use crate::cluster::ClusterError;
use crate::coverage::CoverageError;
use crate::exit;
use crate::prom::PromError;
use crate::report::compare::CompareError;
use crate::report::merge::MergeError;
use crate::scenario::ScenarioError;

/// What a command that did its work concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked about held: the scenarios are valid, the analysis
    /// or the doctor found nothing, the stack rolled out, the load was
    /// answered.
    Pass,
    /// Something asked about does not hold: the analysis found problems,
    /// a doctor's check failed.
    Fail,
    /// A drill's report (`run`, `report`, `merge`): the exit code it
    /// recorded when its run ended (`exit::for_status` of its verdict, or
    /// `exit::for_env_error` when the environment could not be prepared).
    Report { exit_code: i32 },
}

impl Outcome {
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Pass => exit::PASS,
            Outcome::Fail => exit::FAIL,
            Outcome::Report { exit_code } => exit_code,
        }
    }
}

/// Boxed: a sweep's error is large, and every command returns this type.
impl From<SweepError> for CommandError {
    fn from(error: SweepError) -> Self {
        CommandError::Sweep(Box::new(error))
    }
}

/// Why a command stopped before it could conclude.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The tokio runtime could not be built (`main`).
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A scenario that does not parse or validate: its own message names
    /// the file, line, column and field.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// `validate`: every scenario that does not parse or validate.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Scenarios(Vec<ScenarioError>),
    /// `run`: the scenario is invalid, so nothing was sent.
    #[error(transparent)]
    NothingSent(ScenarioError),
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// A run's report was not written. The run does not pass: nothing
    /// would show what it checked.
    #[error("could not write the report to {}: {source}", dir.display())]
    ReportNotWritten {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
        /// The exit code the report holds.
        recorded: i32,
    },
    /// A report.json that cannot be read (its message names the file).
    #[error(transparent)]
    ReadReport(#[from] crate::report::ReadError),
    #[error("cannot merge: {0}")]
    Merge(#[from] MergeError),
    /// `compare`: reports that are not two runs of one scenario.
    #[error("cannot compare: {0}")]
    Compare(#[from] CompareError),
    /// `compare`: reports given in a way it does not take.
    #[error("compare: {0}")]
    CompareUsage(&'static str),
    /// Renderings (`report`, `merge`) that could not be written.
    #[error("cannot write to {}: {source}", dir.display())]
    WriteReport {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    WriteFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A result that cannot be printed as JSON.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// `rules check`.
    #[error(transparent)]
    Rules(#[from] CheckError),
    /// `rules sweep`.
    #[error(transparent)]
    Sweep(Box<SweepError>),
    /// `coverage` (boxed: its error holds a sweep's).
    #[error(transparent)]
    Coverage(Box<CoverageError>),
    /// A duration on the command line, in a scenario's syntax.
    #[error("{option}: {source}")]
    Duration {
        option: &'static str,
        #[source]
        source: crate::spec::units::UnitError,
    },
    #[error("cannot start the demo gateway: {0}")]
    DemoGateway(#[source] std::io::Error),
    #[error("cannot start the admin port: {0}")]
    DemoAdmin(#[source] std::io::Error),
    /// A Prometheus URL no client can be made for.
    #[error(transparent)]
    Prometheus(PromError),
    /// The Kubernetes API could not be asked.
    #[error(transparent)]
    Cluster(ClusterError),
    #[error("no .yaml files in {}", .0.display())]
    NoManifests(PathBuf),
    /// Manifests that cannot be read.
    #[error(transparent)]
    Manifests(ClusterError),
    /// The cluster refused a manifest, or a Deployment did not roll out.
    #[error(transparent)]
    Deploy(ClusterError),
    /// `load`.
    #[error(transparent)]
    Load(#[from] LoadCommandError),
}

impl CommandError {
    /// The contract's class of each error: 2 when the input (scenario,
    /// command line, files named) is invalid and nothing was sent; 3 when
    /// something could not be reached, started or written, so nothing can
    /// be said; 1 when the deploy was refused or did not roll out.
    pub fn exit_code(&self) -> i32 {
        use CommandError as E;
        match self {
            E::Scenario(_)
            | E::Scenarios(_)
            | E::NothingSent(_)
            | E::Metrics { .. }
            | E::ReadReport(_)
            | E::Merge(_)
            | E::Compare(_)
            | E::CompareUsage(_)
            | E::Duration { .. }
            | E::DemoGateway(_)
            | E::DemoAdmin(_)
            | E::Prometheus(_)
            | E::NoManifests(_)
            | E::Manifests(_)
            | E::Rules(CheckError::Input(_))
            | E::Load(LoadCommandError::Arguments(_) | LoadCommandError::Target(_)) => {
                exit::INVALID
            }
            E::Sweep(e) if e.is_invalid_input() => exit::INVALID,
            E::Coverage(e) if e.is_invalid_input() => exit::INVALID,
            E::Runtime(_)
            | E::WriteReport { .. }
            | E::WriteFile { .. }
            | E::Json(_)
            | E::Rules(_)
            | E::Sweep(_)
            | E::Coverage(_)
            | E::Cluster(_)
            | E::Load(_) => exit::INCONCLUSIVE,
            // A report that could not be written cannot show a pass.
            E::ReportNotWritten { recorded, .. } if *recorded == exit::PASS => exit::INCONCLUSIVE,
            E::ReportNotWritten { recorded, .. } => *recorded,
            E::Deploy(_) => exit::FAIL,
        }
    }
}

/// Prints the error that ended a command (if one did) and returns the
/// process's exit code.
pub fn conclude(result: Result<Outcome, CommandError>) -> i32 {
    match result {
        Ok(outcome) => outcome.exit_code(),
        Err(error) => {
            print_error(&error);
            error.exit_code()
        }
    }
}

/// The one place a command's error is printed, on stderr. A scenario's
/// problems stand alone (they start with the file's path); `load` names
/// itself; the rest say `firedrill:`.
fn print_error(error: &CommandError) {
    match error {
        CommandError::Scenario(_) | CommandError::Scenarios(_) => eprintln!("{error}"),
        CommandError::NothingSent(_) => {
            eprintln!("{error}");
            eprintln!(
                "firedrill: the scenario is invalid; nothing was sent (exit {})",
                error.exit_code()
            );
        }
        CommandError::Load(_) => eprintln!("firedrill load: {error}"),
        _ => eprintln!("firedrill: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io() -> std::io::Error {
        std::io::Error::other("disk full")
    }

    #[test]
    fn outcomes_follow_the_contract() {
        assert_eq!(Outcome::Pass.exit_code(), 0);
        assert_eq!(Outcome::Fail.exit_code(), 1);
        for code in 0..=3 {
            assert_eq!(Outcome::Report { exit_code: code }.exit_code(), code);
        }
    }

    #[test]
    fn a_run_whose_report_was_not_written_never_passes() {
        let unwritten = |recorded| CommandError::ReportNotWritten {
            dir: PathBuf::from("reports/x"),
            source: io(),
            recorded,
        };
        assert_eq!(unwritten(exit::PASS).exit_code(), exit::INCONCLUSIVE);
        assert_eq!(unwritten(exit::FAIL).exit_code(), exit::FAIL);
        assert_eq!(unwritten(exit::INVALID).exit_code(), exit::INVALID);
        assert_eq!(
            unwritten(exit::INCONCLUSIVE).exit_code(),
            exit::INCONCLUSIVE
        );
    }

    #[test]
    fn errors_keep_their_cause() {
        let error = CommandError::WriteReport {
            dir: PathBuf::from("out"),
            source: io(),
        };
        assert_eq!(error.to_string(), "cannot write to out: disk full");
        let source = std::error::Error::source(&error).expect("a cause");
        assert_eq!(source.to_string(), "disk full");
        assert_eq!(error.exit_code(), exit::INCONCLUSIVE);
    }

    #[test]
    fn input_is_invalid_and_the_unreachable_inconclusive() {
        let duration = CommandError::Duration {
            option: "--bursts",
            source: crate::spec::units::UnitError::EmptyDuration,
        };
        assert_eq!(duration.exit_code(), exit::INVALID);
        assert_eq!(
            duration.to_string(),
            "--bursts: empty duration; write it with a unit, e.g. 30s or 2m"
        );
        assert_eq!(
            CommandError::NoManifests(PathBuf::from("k8s")).exit_code(),
            exit::INVALID
        );
        assert_eq!(CommandError::Runtime(io()).exit_code(), exit::INCONCLUSIVE);
        assert_eq!(
            CommandError::Load(LoadCommandError::NoAnswer).exit_code(),
            exit::INCONCLUSIVE
        );
        assert_eq!(
            CommandError::Deploy(ClusterError::Invalid("refused".into())).exit_code(),
            exit::FAIL
        );
    }
}
