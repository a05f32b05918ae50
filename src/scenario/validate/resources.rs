//! The embedded demo's container limits (`target.limits`) and its resource
//! faults (`memory_hog`, `cpu_burn`: shares of those limits), held to what
//! the demo itself takes, so a drill it would refuse mid-run is refused here.

use crate::plan::{ContainerLimits, MAX_MEMORY_HOG_BYTES};
use crate::scenario::format::{FaultSpec, LimitsSpec};
use crate::spec::units::ByteSize;
use crate::spec::{FieldPath, Validator};

/// Below this a memory limit is a typo (`memory: 256` is 256 bytes): the
/// demo's own process takes more before any traffic.
const MIN_MEMORY_LIMIT: u64 = 16 << 20;
/// Above these, a typo too.
const MAX_MEMORY_LIMIT: u64 = 1 << 40;
const MAX_CPU_LIMIT: f64 = 1024.0;

/// `limits` as written, with the demo's defaults for what is not.
pub(super) fn validate_limits(
    v: &mut Validator,
    spec: Option<&LimitsSpec>,
    path: &FieldPath,
) -> ContainerLimits {
    let mut limits = ContainerLimits::default();
    let Some(spec) = spec else {
        return limits;
    };
    if let Some(memory) = spec.memory {
        if !(MIN_MEMORY_LIMIT..=MAX_MEMORY_LIMIT).contains(&memory.0) {
            v.problem(
                path.key("memory"),
                format!(
                    "a memory limit of {memory} is out of bounds: between {} and {} \
                     (write the unit: 256Mi, 1Gi)",
                    ByteSize(MIN_MEMORY_LIMIT),
                    ByteSize(MAX_MEMORY_LIMIT)
                ),
            );
        }
        limits.memory_bytes = memory.0;
    }
    if let Some(cpu) = spec.cpu {
        if cpu.0 > MAX_CPU_LIMIT {
            v.problem(
                path.key("cpu"),
                format!("a CPU limit of {cpu} cores is more than {MAX_CPU_LIMIT}"),
            );
        }
        limits.cpu_cores = cpu.0;
    }
    limits
}

/// The memory hog's and the CPU burn's shares (0: none): above 0, a hog
/// within `MAX_MEMORY_HOG_BYTES`, a burn within this machine's cores.
pub(super) fn validate_stress(
    v: &mut Validator,
    spec: &FaultSpec,
    path: &FieldPath,
    limits: &ContainerLimits,
) -> (f64, f64) {
    let hog = spec.memory_hog.map_or(0.0, |r| r.0);
    let burn = spec.cpu_burn.map_or(0.0, |r| r.0);
    for (field, share) in [("memory_hog", spec.memory_hog), ("cpu_burn", spec.cpu_burn)] {
        if share.is_some_and(|r| r.0 == 0.0) {
            v.problem(
                path.key(field),
                format!("{field} is a share of the limit above 0% (leave it out for none)"),
            );
        }
    }
    let hog_bytes = hog * limits.memory_bytes as f64;
    if hog_bytes > MAX_MEMORY_HOG_BYTES as f64 {
        v.problem(
            path.key("memory_hog"),
            format!(
                "memory_hog {}% of the {} limit could take {}, above the {} a hog may take \
                 (lower the share or target.limits.memory)",
                percent(hog),
                ByteSize(limits.memory_bytes),
                ByteSize(hog_bytes as u64),
                ByteSize(MAX_MEMORY_HOG_BYTES)
            ),
        );
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if burn * limits.cpu_cores > cores as f64 {
        v.problem(
            path.key("cpu_burn"),
            format!(
                "cpu_burn {}% of a {}-core limit needs {} cores; this machine has {cores}",
                percent(burn),
                limits.cpu_cores,
                burn * limits.cpu_cores
            ),
        );
    }
    (hog, burn)
}

/// `0.95` → `95` (two decimals at most).
fn percent(share: f64) -> f64 {
    (share * 10_000.0).round() / 100.0
}
