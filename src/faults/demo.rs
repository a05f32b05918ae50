//! The embedded demo's faults: set on the running demo, healthy again when
//! the guard is restored or dropped.

use std::sync::Arc;

use super::FaultError;
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

pub fn inject(stack: &Arc<DemoStack>, plan: &DemoFaults) -> Result<DemoGuard, FaultError> {
    // Armed before the change: a half-applied switch is still undone.
    let guard = DemoGuard {
        stack: stack.clone(),
        restored: false,
    };
    stack
        .set_faults(&faults_of(plan))
        .map_err(FaultError::DemoInject)?;
    Ok(guard)
}

/// Restores a healthy demo when dropped.
pub struct DemoGuard {
    stack: Arc<DemoStack>,
    restored: bool,
}

impl DemoGuard {
    pub fn restore(mut self) -> Result<(), FaultError> {
        self.restored = true;
        self.stack
            .set_faults(&Faults::default())
            .map_err(FaultError::DemoRestore)
    }
}

impl Drop for DemoGuard {
    fn drop(&mut self) {
        if !self.restored {
            if let Err(e) = self.stack.set_faults(&Faults::default()) {
                eprintln!("firedrill: could not restore the demo gateway's health: {e}");
            }
        }
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
}
