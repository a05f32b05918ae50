//! A fault made by a command and undone by another (argv, no shell).
//!
//! ```yaml
//! fault: { exec: { start: [tc, qdisc, add, ...], restore: [tc, qdisc, del, ...] } }
//! ```

use serde::{Deserialize, Serialize};

use super::keys::fault_keys;
use super::{Capabilities, Fault, Setting, Stage, Undo};
use crate::spec::{FieldPath, Validator};

/// One command starts the fault, another restores (argv, no shell).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecFault {
    pub start: Vec<String>,
    pub restore: Vec<String>,
}

fault_keys! {
    /// `exec: { start, restore }`.
    pub struct Spec {
        /// Commands (argv, no shell) that start and restore the fault.
        exec: ExecFaultSpec,
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExecFaultSpec {
    pub start: Vec<String>,
    pub restore: Vec<String>,
}

impl Fault for ExecFault {
    const WRITTEN: &'static str = "`exec`";
    type Spec = Spec;

    fn validate(spec: &Spec, path: &FieldPath, _: &Setting, v: &mut Validator) -> Option<Self> {
        let exec = spec.exec.as_ref()?;
        for (field, argv) in [("start", &exec.start), ("restore", &exec.restore)] {
            if argv.is_empty() || argv[0].trim().is_empty() {
                v.problem(
                    path.key("exec").key(field),
                    "give the command as a list: [program, arg, ...] (no shell)",
                );
            }
        }
        Some(ExecFault {
            start: exec.start.clone(),
            restore: exec.restore.clone(),
        })
    }

    fn describe(&self) -> String {
        format!("exec {}", self.start.join(" "))
    }

    async fn inject<C: Capabilities>(
        &self,
        can: &C,
        undo: &mut Option<Undo>,
    ) -> Result<(), C::Error> {
        *undo = Some(Undo::Command(self.restore.clone()));
        can.run_command(&self.start, Stage::Start)
    }
}
