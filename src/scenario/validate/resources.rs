//! The embedded demo's container limits (`target.limits`), of which its
//! resource faults (`memory_hog`, `cpu_burn`, `fault_kinds::demo`) take
//! shares.

use crate::plan::ContainerLimits;
use crate::scenario::format::LimitsSpec;
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
