//! The exit-code contract (documented in the README):
//!
//! - 0: every check passed;
//! - 1: at least one check failed;
//! - 2: the scenario or the command line is invalid (nothing was sent);
//! - 3: inconclusive: Prometheus or the target could not be reached, or the
//!   run was interrupted. Never reported as a pass.
//!
//! Here are the codes, and the code a run's report records (`for_status`,
//! `for_env_error`). What a command returns, `Result<Outcome,
//! CommandError>`, becomes an exit code in `commands::outcome`, the one
//! mapping: it sits above the rooms whose errors it classifies, this below.

use crate::checks::Status;
use crate::env::EnvError;

pub const PASS: i32 = 0;
pub const FAIL: i32 = 1;
pub const INVALID: i32 = 2;
pub const INCONCLUSIVE: i32 = 3;

/// The environment could not be prepared. Rule files, credentials and CA
/// files named by the scenario are input like the scenario itself (2);
/// anything else kept the run from happening (3).
pub fn for_env_error(error: &EnvError) -> i32 {
    match error {
        EnvError::Rules(_)
        | EnvError::Secret(_)
        | EnvError::CaFile { .. }
        | EnvError::Cluster(crate::cluster::ClusterError::Config(_)) => INVALID,
        _ => INCONCLUSIVE,
    }
}

pub fn for_status(status: Status) -> i32 {
    match status {
        Status::Pass => PASS,
        Status::Fail => FAIL,
        Status::Inconclusive => INCONCLUSIVE,
    }
}
