//! Where a run's baseline comes from (`baseline:` in a scenario, `run
//! --baseline`): a report.json, or a directory of report directories whose
//! last passing runs of the scenario make the median. Which of the two is
//! decided when the run reads it, as is whether it is there at all.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How many passing runs of a history make a baseline, unless told.
pub const DEFAULT_LAST: usize = 7;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineSource {
    /// A report.json, or a directory of report directories.
    pub path: PathBuf,
    /// From a directory: the last this many passing runs.
    pub last: usize,
}
