//! The one guard of a fault in force: `inject` starts a phase's fault and
//! returns it; `restore` undoes it and says whether that worked; dropping it
//! without `restore` (an error, a panic, a signal) undoes it too, so no
//! fault outlives the drill.

use super::{Capabilities, FaultPlan, Undo};

/// A fault in force, and what undoes it.
pub struct Injected<C: Capabilities> {
    can: C,
    /// None: nothing to undo (deleted pods: their controller replaces them),
    /// or already undone.
    undo: Option<Undo>,
}

/// Starts the fault `plan` describes. If starting fails after the fault
/// armed its undo, the undo runs before the error is returned.
pub async fn inject<C: Capabilities>(plan: &FaultPlan, can: C) -> Result<Injected<C>, C::Error> {
    let mut injected = Injected { can, undo: None };
    plan.start(&injected.can, &mut injected.undo).await?;
    Ok(injected)
}

impl<C: Capabilities> Injected<C> {
    /// Undoes the fault now and says whether that worked (`Drop` can only try).
    pub async fn restore(mut self) -> Result<(), C::Error> {
        match self.undo.take() {
            Some(undo) => undo.perform(&self.can).await,
            None => Ok(()),
        }
    }
}

impl<C: Capabilities> Drop for Injected<C> {
    fn drop(&mut self) {
        if let Some(undo) = self.undo.take() {
            self.can.undo_from_drop(&undo);
        }
    }
}
