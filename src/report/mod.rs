//! Reports: `report.json` is the source of truth (scenario as written, plan,
//! environment, observations, verdicts); every other format — the terminal
//! summary, HTML, Markdown, JUnit, CSV — is rendered from it alone, so
//! `firedrill report report.json` re-renders them later. Also the text
//! tables of `rules check` and `rules sweep`, and the sweep's HTML page,
//! rendered from the analysis's data (`analyze` returns data only); and
//! the coverage ledger's table, HTML page and JUnit.

mod check_table;
pub mod compare;
mod csv;
mod html;
mod junit;
mod ledger;
mod ledger_html;
mod markdown;
mod marks;
pub mod merge;
mod sweep;
mod sweep_table;
pub mod terminal;
pub mod view;

pub use check_table::rules_check_table;
pub use ledger::{ledger_junit, ledger_table};
pub use ledger_html::ledger_html;
pub use sweep::sweep_html;
pub use sweep_table::sweep_table;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::checks::{Status, Verdict};
use crate::plan::Plan;
use crate::record::{EnvSummary, Observations, RunStatus};
use crate::time::now_rfc3339;

pub const SCHEMA_VERSION: u32 = 1;

/// Why a report.json could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a firedrill report: {source}", path.display())]
    NotAReport {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: report schema version {found} is not {SCHEMA_VERSION}", path.display())]
    Schema { path: PathBuf, found: u32 },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub firedrill_version: String,
    pub scenario: ScenarioInfo,
    /// The validated plan (durations already time-scaled).
    pub plan: Plan,
    pub environment: Option<EnvSummary>,
    pub started_at: String,
    pub finished_at: String,
    pub status: RunStatus,
    pub verdict: Status,
    pub exit_code: i32,
    pub observations: Observations,
    pub verdicts: Vec<Verdict>,
    /// What Prometheus's rule engine predicted for the deadline checks
    /// (`rules sweep` on the drill's own rules and timeline).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub predictions: Vec<crate::analyze::sweep::Prediction>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioInfo {
    pub name: String,
    pub description: Option<String>,
    pub file: String,
    pub time_scale: f64,
    /// The scenario file exactly as it ran.
    pub source_text: String,
}

impl Report {
    pub fn new(
        plan: &Plan,
        environment: Option<EnvSummary>,
        started_at: String,
        observations: Observations,
        verdicts: Vec<Verdict>,
    ) -> Self {
        let verdict = crate::checks::overall(&verdicts, &observations.status);
        Report {
            schema_version: SCHEMA_VERSION,
            firedrill_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: ScenarioInfo {
                name: plan.name.clone(),
                description: plan.description.clone(),
                file: plan.file.display().to_string(),
                time_scale: plan.time_scale,
                source_text: plan.source_text.clone(),
            },
            plan: plan.clone(),
            environment,
            started_at,
            finished_at: now_rfc3339(),
            status: observations.status.clone(),
            verdict,
            exit_code: crate::exit::for_status(verdict),
            observations,
            verdicts,
            predictions: Vec::new(),
        }
    }

    pub fn read(path: &Path) -> Result<Self, ReadError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let report: Report =
            serde_json::from_str(&text).map_err(|source| ReadError::NotAReport {
                path: path.to_path_buf(),
                source,
            })?;
        if report.schema_version != SCHEMA_VERSION {
            return Err(ReadError::Schema {
                path: path.to_path_buf(),
                found: report.schema_version,
            });
        }
        Ok(report)
    }

    /// Writes report.json and every rendering into `dir`; returns the paths.
    pub fn write_all(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut written = Vec::new();
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        let csv = csv::render(self).map_err(std::io::Error::other)?;
        for (name, content) in [
            ("report.json", json),
            ("summary.md", markdown::render(self)),
            ("junit.xml", junit::render(self)),
            ("series.csv", csv),
            ("report.html", html::render(self)),
        ] {
            let path = dir.join(name);
            write_atomically(&path, content.as_bytes())?;
            written.push(path);
        }
        Ok(written)
    }

    pub fn passed(&self) -> usize {
        self.count(Status::Pass)
    }

    pub fn count(&self, status: Status) -> usize {
        self.verdicts.iter().filter(|v| v.status == status).count()
    }

    /// Seconds from the run's start, for people.
    pub fn relative(&self, t: f64) -> f64 {
        t - self.observations.run_start
    }
}

/// Write to a temporary name, then rename: a reader (or a crash) never sees
/// half a report.
fn write_atomically(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, content)?;
    std::fs::rename(&partial, path)
}

/// A scenario's name as the start of its report directories' names.
pub fn safe_name(scenario: &str) -> String {
    scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `reports/<scenario>-<UTC timestamp>`.
pub fn default_dir(root: &Path, scenario: &str) -> PathBuf {
    let safe = safe_name(scenario);
    let stamp: String = now_rfc3339()
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T' || *c == 'Z')
        .collect();
    root.join(format!("{safe}-{stamp}"))
}

/// The counts of a run's verdicts, after where an interrupted run stopped:
/// "8 passed, 0 failed, 0 inconclusive", "interrupted during `errors`: 5
/// passed, 0 failed, 3 inconclusive".
pub fn tally(report: &Report) -> String {
    let counts = format!(
        "{} passed, {} failed, {} inconclusive",
        report.passed(),
        report.count(Status::Fail),
        report.count(Status::Inconclusive)
    );
    match interruption(report) {
        Some(at) => format!("{at}: {counts}"),
        None => counts,
    }
}

/// Where an interrupted run stopped: during the phase a signal cut short,
/// before the phase it never started, or after the last one.
pub fn interruption(report: &Report) -> Option<String> {
    let RunStatus::Interrupted(_) = &report.status else {
        return None;
    };
    let phases = &report.observations.phases;
    Some(match phases.iter().find(|p| p.cut_short) {
        Some(phase) => format!("interrupted during `{}`", phase.name),
        None => match report.plan.phases.get(phases.len()) {
            Some(next) => format!("interrupted before `{}`", next.name),
            None => "interrupted after the last phase".to_string(),
        },
    })
}

pub fn status_text(status: &RunStatus) -> String {
    match status {
        RunStatus::Completed => "completed".into(),
        RunStatus::Interrupted(reason) => format!("INTERRUPTED: {reason}"),
        RunStatus::Aborted(reason) => format!("ABORTED: {reason}"),
    }
}
