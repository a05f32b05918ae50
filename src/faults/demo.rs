//! Setting the embedded demo's faults: what the plan asks, in the demo's own
//! terms (the demo knows nothing of plans).

use std::sync::Arc;

use super::{FaultError, Stage};
use crate::demo::{DemoStack, Faults, Limits};
use crate::plan::{ContainerLimits, DemoFaults};

/// The demo's limits for what the plan says.
pub fn limits_of(plan: &ContainerLimits) -> Limits {
    Limits {
        memory_bytes: plan.memory_bytes,
        cpu_cores: plan.cpu_cores,
    }
}

/// The demo's own faults for what the plan asks.
fn faults_of(plan: &DemoFaults) -> Faults {
    Faults {
        backend_error_ratio: plan.backend_error_ratio,
        backend_latency: plan.backend_latency,
        backend_down: plan.backend_down,
        gateway_down: plan.gateway_down,
        memory_hog: plan.memory_hog,
        cpu_burn: plan.cpu_burn,
    }
}

pub fn set(
    stack: Option<&Arc<DemoStack>>,
    plan: &DemoFaults,
    stage: Stage,
) -> Result<(), FaultError> {
    let stack = stack.ok_or(FaultError::NoDemo)?;
    stack.set_faults(&faults_of(plan)).map_err(|e| match stage {
        Stage::Start => FaultError::DemoInject(e),
        Stage::Restore => FaultError::DemoRestore(e),
    })
}

/// Makes the demo healthy from `Drop`: tries, and says if it could not.
pub fn heal_from_drop(stack: Option<&Arc<DemoStack>>) {
    let Some(stack) = stack else { return };
    if let Err(e) = stack.set_faults(&Faults::default()) {
        eprintln!("firedrill: could not restore the demo gateway's health: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan mirrors the demo's defaults and cap (the demo knows nothing
    /// of plans); this is where the two meet.
    #[test]
    fn the_plan_and_the_demo_agree_on_defaults_and_the_hog_cap() {
        assert_eq!(limits_of(&ContainerLimits::default()), Limits::default());
        assert_eq!(
            crate::plan::MAX_MEMORY_HOG_BYTES,
            crate::demo::MAX_MEMORY_HOG_BYTES
        );
    }

    /// Undoing sets the plan's healthy faults: they must be the demo's.
    #[test]
    fn the_plans_healthy_faults_are_the_demos() {
        assert_eq!(faults_of(&DemoFaults::default()), Faults::default());
    }
}
