//! The resource faults in force — a memory hog and a CPU burn, both a share
//! of the container's limits — and the bounds every request for them is
//! held to before anything is taken.

use super::burn::{available_cores, CpuBurn};
use super::container::Limits;
use super::hog::MemoryHog;
use super::{Faults, FaultsError};

/// The most memory a hog may take, whatever the limit: the demo shares the
/// machine with whatever else runs there.
pub const MAX_MEMORY_HOG_BYTES: u64 = 1 << 30;

/// Faults the demo will not take, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refused {
    #[error("{field} must be between 0 and 1 (got {value})")]
    NotAShare { field: &'static str, value: f64 },
    #[error(
        "a memory hog to {}% of the {} MiB limit could take {} MiB, above the {} MiB a hog may take",
        percent(*.share),
        .limit_bytes >> 20,
        (*.share * *.limit_bytes as f64) as u64 >> 20,
        MAX_MEMORY_HOG_BYTES >> 20
    )]
    HogAboveCap { share: f64, limit_bytes: u64 },
    #[error(
        "a CPU burn to {}% of a {limit_cores}-core limit needs {} cores; this machine has {available}",
        percent(*.share),
        .share * .limit_cores
    )]
    BurnAboveCores {
        share: f64,
        limit_cores: f64,
        available: usize,
    },
}

/// `0.95` → `95` (two decimals at most).
fn percent(share: f64) -> f64 {
    (share * 10_000.0).round() / 100.0
}

/// Whether `faults` can be taken under `limits`.
pub fn check(faults: &Faults, limits: &Limits) -> Result<(), Refused> {
    for (field, value) in [
        ("backend_error_ratio", faults.backend_error_ratio),
        ("memory_hog", faults.memory_hog),
        ("cpu_burn", faults.cpu_burn),
    ] {
        if !(0.0..=1.0).contains(&value) {
            return Err(Refused::NotAShare { field, value });
        }
    }
    if faults.memory_hog * limits.memory_bytes as f64 > MAX_MEMORY_HOG_BYTES as f64 {
        return Err(Refused::HogAboveCap {
            share: faults.memory_hog,
            limit_bytes: limits.memory_bytes,
        });
    }
    let available = available_cores();
    if faults.cpu_burn * limits.cpu_cores > available as f64 {
        return Err(Refused::BurnAboveCores {
            share: faults.cpu_burn,
            limit_cores: limits.cpu_cores,
            available,
        });
    }
    Ok(())
}

/// The hog and the burn in force, with the share each was asked for.
#[derive(Default)]
pub struct Stress {
    hog: Option<(f64, MemoryHog)>,
    burn: Option<(f64, CpuBurn)>,
}

impl Stress {
    /// Brings the hog and the burn to what `faults` asks (0: none). One
    /// already in force at the same share is kept as it is.
    pub fn apply(&mut self, faults: &Faults, limits: &Limits) -> Result<(), FaultsError> {
        if self.hog.as_ref().map(|(share, _)| *share) != Some(faults.memory_hog) {
            // Given back first: the new hog is measured without the old.
            self.hog = None;
            if faults.memory_hog > 0.0 {
                let target = (faults.memory_hog * limits.memory_bytes as f64) as u64;
                let hog = MemoryHog::reach(target).map_err(|source| FaultsError::Hog {
                    target_bytes: target,
                    source,
                })?;
                self.hog = Some((faults.memory_hog, hog));
            }
        }
        if self.burn.as_ref().map(|(share, _)| *share) != Some(faults.cpu_burn) {
            self.burn = None;
            if faults.cpu_burn > 0.0 {
                let burn = CpuBurn::start(faults.cpu_burn * limits.cpu_cores)
                    .map_err(FaultsError::Burn)?;
                self.burn = Some((faults.cpu_burn, burn));
            }
        }
        Ok(())
    }

    /// Bytes the hog holds (0: none).
    pub fn hog_bytes(&self) -> u64 {
        self.hog.as_ref().map_or(0, |(_, hog)| hog.bytes())
    }

    /// Threads the burn runs (0: none).
    pub fn burn_threads(&self) -> usize {
        self.burn.as_ref().map_or(0, |(_, burn)| burn.threads())
    }
}
