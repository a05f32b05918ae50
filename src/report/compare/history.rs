//! Where a baseline comes from: one report.json, or the last N passing runs
//! of the same scenario in a directory of report directories (what `run
//! --reports DIR` writes, one `<scenario>-<timestamp>/` per run), reduced
//! to their median. "Passing" lets in a run whose relative checks alone
//! were inconclusive for want of a baseline (the first run of a history). Runs of other scenarios are passed over; runs of the
//! same scenario with other phases or another time scale, and runs that
//! did not pass, are passed over and counted, so an empty history says why.

use std::path::{Path, PathBuf};

use super::figures::{figures_of, median_of};
use super::CompareError;
use crate::checks::{CheckKind, Status};
use crate::record::{Baseline, BaselineRun, RunStatus};
use crate::report::Report;

/// What the runs of a baseline must have in common with the run they are
/// compared with.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub scenario: String,
    pub phases: Vec<String>,
    pub time_scale: f64,
    /// The new run's own report, never its own baseline.
    pub exclude: Option<PathBuf>,
}

impl Wanted {
    pub fn of(report: &Report, path: Option<&Path>) -> Self {
        Wanted {
            scenario: report.scenario.name.clone(),
            phases: report.plan.phases.iter().map(|p| p.name.clone()).collect(),
            time_scale: report.scenario.time_scale,
            exclude: path.and_then(|p| p.canonicalize().ok()),
        }
    }
}

/// The phases a report planned, by name.
pub fn phase_names(report: &Report) -> Vec<String> {
    report.plan.phases.iter().map(|p| p.name.clone()).collect()
}

/// `base` may be compared with what is wanted: the same scenario, the same
/// phases (in order); or the error that says which differ.
pub fn compatible(base: &Report, base_name: &str, wanted: &Wanted) -> Result<(), CompareError> {
    if base.scenario.name != wanted.scenario {
        return Err(CompareError::DifferentScenarios {
            base: base_name.to_string(),
            base_scenario: base.scenario.name.clone(),
            new_scenario: wanted.scenario.clone(),
        });
    }
    let phases = phase_names(base);
    if phases != wanted.phases {
        return Err(CompareError::DifferentPhases {
            base: base_name.to_string(),
            base_phases: phases.join(", "),
            new_phases: wanted.phases.join(", "),
        });
    }
    Ok(())
}

/// One report as a baseline.
pub fn from_report(path: &Path, wanted: &Wanted) -> Result<Baseline, CompareError> {
    let report = Report::read(path)?;
    let name = path.display().to_string();
    compatible(&report, &name, wanted)?;
    Ok(Baseline {
        source: name.clone(),
        runs: vec![BaselineRun {
            report: name,
            started_at: report.started_at.clone(),
        }],
        figures: figures_of(&report),
    })
}

/// Why runs of a history were passed over, for the message that says none
/// was left.
#[derive(Debug, Default)]
struct Passed {
    unreadable: usize,
    other_scenario: usize,
    other_phases: usize,
    other_time_scale: usize,
    not_passing: usize,
}

impl Passed {
    fn say(&self) -> String {
        let parts: Vec<String> = [
            (self.not_passing, "did not pass"),
            (self.other_phases, "had other phases"),
            (self.other_time_scale, "ran at another time scale"),
            (self.other_scenario, "ran another scenario"),
            (self.unreadable, "could not be read"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, why)| format!("{n} {why}"))
        .collect();
        if parts.is_empty() {
            "it holds no report directory".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// Whether a run counts as passing for a history: it passed, or nothing
/// failed and the only checks not passed are relative ones left
/// inconclusive (the run had no baseline yet, or one without their figure).
/// Without the second, a nightly job's first run — its relative checks
/// inconclusive, with nothing to compare with — could never start the
/// history. A run whose relative check failed (a regression) stays out, so
/// regressions do not drag the baseline after them.
fn passed_but_for_its_baseline(report: &Report) -> bool {
    if report.verdict == Status::Pass {
        return true;
    }
    let relative = |id: &str| {
        report.plan.checks.iter().any(|c| {
            c.id == id
                && match &c.kind {
                    CheckKind::Latency(plan) => plan.at_most.is_some(),
                    CheckKind::FiresWithin(plan) => plan.at_most.is_some(),
                    _ => false,
                }
        })
    };
    report.status == RunStatus::Completed
        && report.verdicts.iter().all(|v| match v.status {
            Status::Pass => true,
            Status::Fail => false,
            Status::Inconclusive => relative(&v.id),
        })
}

/// The median of the last `last` passing runs of the wanted scenario in
/// `dir`, ordered by when they started.
pub fn from_history(dir: &Path, last: usize, wanted: &Wanted) -> Result<Baseline, CompareError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CompareError::History {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut passed = Passed::default();
    let mut runs: Vec<(String, PathBuf, Report)> = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path().join("report.json");
        if !path.is_file() {
            continue;
        }
        if wanted.exclude.is_some() && path.canonicalize().ok() == wanted.exclude {
            continue;
        }
        let Ok(report) = Report::read(&path) else {
            passed.unreadable += 1;
            continue;
        };
        if report.scenario.name != wanted.scenario {
            passed.other_scenario += 1;
        } else if phase_names(&report) != wanted.phases {
            passed.other_phases += 1;
        } else if (report.scenario.time_scale - wanted.time_scale).abs() > 1e-9 {
            passed.other_time_scale += 1;
        } else if !passed_but_for_its_baseline(&report) {
            passed.not_passing += 1;
        } else {
            runs.push((report.started_at.clone(), path, report));
        }
    }
    if runs.is_empty() {
        return Err(CompareError::NoHistory {
            dir: dir.to_path_buf(),
            scenario: wanted.scenario.clone(),
            why: passed.say(),
        });
    }
    runs.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let chosen = &runs[runs.len().saturating_sub(last.max(1))..];
    let figures: Vec<_> = chosen.iter().map(|(_, _, r)| figures_of(r)).collect();
    Ok(Baseline {
        source: format!(
            "median of the last {} passing run{} of `{}` in {}",
            chosen.len(),
            if chosen.len() == 1 { "" } else { "s" },
            wanted.scenario,
            dir.display()
        ),
        runs: chosen
            .iter()
            .map(|(started, path, _)| BaselineRun {
                report: path.display().to_string(),
                started_at: started.clone(),
            })
            .collect(),
        figures: median_of(&figures),
    })
}

/// A baseline from `path`: a report.json, or a directory of report
/// directories (the last `last` passing runs).
pub fn baseline_at(path: &Path, last: usize, wanted: &Wanted) -> Result<Baseline, CompareError> {
    if path.is_dir() {
        from_history(path, last, wanted)
    } else {
        from_report(path, wanted)
    }
}

/// Removes all but the newest `keep` report directories of `scenario` under
/// `root` (`run --keep-reports`): only directories named as `run` names
/// them (`<scenario>-<UTC timestamp>`, which sort by time) that hold a
/// report.json; anything else there is left alone. Returns what it removed.
pub fn prune_history(root: &Path, scenario: &str, keep: usize) -> std::io::Result<Vec<PathBuf>> {
    let prefix = format!("{}-", crate::report::safe_name(scenario));
    let stamped = |rest: &str| {
        rest.len() == 16
            && rest.ends_with('Z')
            && rest.chars().nth(8) == Some('T')
            && rest.chars().filter(char::is_ascii_digit).count() == 14
    };
    let mut runs: Vec<PathBuf> = std::fs::read_dir(root)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(&prefix))
                .is_some_and(stamped)
                && p.join("report.json").is_file()
        })
        .collect();
    runs.sort();
    let old = runs.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for dir in runs.into_iter().take(old) {
        std::fs::remove_dir_all(&dir)?;
        removed.push(dir);
    }
    Ok(removed)
}
