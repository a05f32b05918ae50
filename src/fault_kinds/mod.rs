//! The kinds of fault, one module each (as `checks::kinds` holds the check
//! kinds): a kind's module holds the keys a scenario writes it with, their
//! validation into its plan, the plan (report.json's `plan.phases[].fault`),
//! the one line the terminal and the reports show it with, and how it is
//! injected and undone.
//!
//! `fault_kinds!` below is the one list of kinds; `FaultPlan` (a phase's
//! fault, by kind) and `FaultSpec` (a phase's `fault:` as written, every
//! kind's keys side by side) are derived from it. A new kind is a new module
//! implementing `Fault` and one line in the list.
//!
//! Injecting needs rooms far above this one (the demo, the Kubernetes API,
//! an HTTP client, commands), while the plan, which holds the faults, sits
//! below the records. So a kind injects through `Capabilities`, the few
//! things a fault can do, declared here and implemented by `faults`; what
//! undoes it is data (`Undo`), armed before the fault starts and performed
//! by the one guard, `Injected`, explicitly or from `Drop`. Knows nothing of
//! the demo, Kubernetes or HTTP clients, nor of how a drill is timed.

mod demo;
mod exec;
mod guard;
mod http;
mod keys;
mod kubernetes;

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::spec::{FieldPath, Validator};

pub use demo::{ContainerLimits, DemoFaults, MAX_MEMORY_HOG_BYTES};
pub use exec::ExecFault;
pub use guard::{inject, Injected};
pub use http::{HttpCall, HttpFault};
pub use keys::Keys;
pub use kubernetes::Kubernetes;

/// One kind of fault, implemented by its plan.
pub trait Fault: Sized {
    /// How "choose one kind of fault" names it.
    const WRITTEN: &'static str;
    /// Whether a fault that sets no key at all (`fault: {}`) is read as
    /// this kind, whose validation then says what is missing.
    const READS_EMPTY: bool = false;
    /// Its keys in a phase's `fault:` mapping.
    type Spec: Keys;

    /// Its plan from its keys as written; problems go to `v`.
    fn validate(
        spec: &Self::Spec,
        path: &FieldPath,
        setting: &Setting,
        v: &mut Validator,
    ) -> Option<Self>;

    /// The one line the terminal and the reports show it with.
    fn describe(&self) -> String;

    /// Whether injecting it needs the Kubernetes API.
    fn needs_cluster(&self) -> bool {
        false
    }

    /// Starts the fault. What undoes it goes into `undo` before anything
    /// is changed, so a half-applied fault is still undone.
    fn inject<C: Capabilities>(
        &self,
        can: &C,
        undo: &mut Option<Undo>,
    ) -> impl Future<Output = Result<(), C::Error>> + Send;
}

/// What validating a fault needs to know of the rest of the scenario.
#[derive(Debug, Clone, Copy)]
pub struct Setting<'a> {
    /// The embedded demo's limits; None for any other target.
    pub embedded: Option<&'a ContainerLimits>,
    /// The longest a request may wait (and so the most latency a fault may add).
    pub max_timeout: Duration,
}

/// Whether a failure happened while starting the fault or while undoing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Start,
    Restore,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Start => "start",
            Stage::Restore => "restore",
        })
    }
}

/// What a fault can do, implemented where it can be done (`faults`). A kind
/// that needs something new adds it here and there.
pub trait Capabilities: Send + Sync {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Sets the embedded demo's faults (`DemoFaults::default()`: healthy).
    fn set_demo_faults(&self, faults: &DemoFaults, stage: Stage) -> Result<(), Self::Error>;

    /// Makes one HTTP call.
    fn call_http(
        &self,
        call: &HttpCall,
        stage: Stage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Runs one command (argv, no shell) to completion.
    fn run_command(&self, argv: &[String], stage: Stage) -> Result<(), Self::Error>;

    /// A Deployment's replicas now (namespace None: the configuration's).
    fn replicas(
        &self,
        namespace: Option<&str>,
        deployment: &str,
    ) -> impl Future<Output = Result<i32, Self::Error>> + Send;

    /// Scales a Deployment.
    fn set_replicas(
        &self,
        namespace: Option<&str>,
        deployment: &str,
        replicas: i32,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Deletes the pods a name, or else a label selector, picks.
    fn delete_pods(
        &self,
        namespace: Option<&str>,
        selector: Option<&str>,
        name: Option<&str>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Performs `undo` from `Drop`, which cannot await nor return an error:
    /// blocking, and saying on stderr what could not be undone.
    fn undo_from_drop(&self, undo: &Undo);
}

/// What undoes a fault, as data: one capability's call.
#[derive(Debug, Clone, PartialEq)]
pub enum Undo {
    /// The embedded demo made healthy.
    DemoHealthy,
    Call(HttpCall),
    Command(Vec<String>),
    Replicas {
        namespace: Option<String>,
        deployment: String,
        replicas: i32,
    },
}

impl Undo {
    /// Performs it now.
    pub async fn perform<C: Capabilities>(&self, can: &C) -> Result<(), C::Error> {
        match self {
            Undo::DemoHealthy => can.set_demo_faults(&DemoFaults::default(), Stage::Restore),
            Undo::Call(call) => can.call_http(call, Stage::Restore).await,
            Undo::Command(argv) => can.run_command(argv, Stage::Restore),
            Undo::Replicas {
                namespace,
                deployment,
                replicas,
            } => {
                can.set_replicas(namespace.as_deref(), deployment, *replicas)
                    .await
            }
        }
    }
}

/// Derives, from the list of kinds: `FaultPlan` (a phase's fault, by kind;
/// report.json's `plan.phases[].fault`, tagged `kind`), `FaultSpec` (every
/// kind's keys, read from one mapping, unknown keys refused), `validate`
/// (which kind a fault says, then that kind's validation), and what each
/// kind answers through `FaultPlan`.
macro_rules! fault_kinds {
    ($($(#[$attr:meta])* $variant:ident($module:ident::$plan:ident),)*) => {
        /// A phase's fault, by kind.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case", tag = "kind")]
        pub enum FaultPlan {
            $($(#[$attr])* $variant($module::$plan),)*
        }

        impl FaultPlan {
            /// The one line the terminal and the reports show it with.
            pub fn describe(&self) -> String {
                match self {
                    $(FaultPlan::$variant(plan) => plan.describe(),)*
                }
            }

            pub fn needs_cluster(&self) -> bool {
                match self {
                    $(FaultPlan::$variant(plan) => plan.needs_cluster(),)*
                }
            }

            async fn start<C: Capabilities>(
                &self,
                can: &C,
                undo: &mut Option<Undo>,
            ) -> Result<(), C::Error> {
                match self {
                    $(FaultPlan::$variant(plan) => plan.inject(can, undo).await,)*
                }
            }
        }

        /// A phase's `fault:` as written: each kind's keys, side by side in
        /// one mapping.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct FaultSpec {
            $(pub $module: <$module::$plan as Fault>::Spec,)*
        }

        impl FaultSpec {
            /// Every key a fault may have, kind by kind in the list's order.
            pub fn keys() -> &'static [&'static str] {
                static KEYS: OnceLock<Vec<&'static str>> = OnceLock::new();
                KEYS.get_or_init(|| {
                    [$(<<$module::$plan as Fault>::Spec as Keys>::KEYS,)*].concat()
                })
            }

            /// Reads the value of `key`, one of `keys()`, into its kind's keys.
            fn read<'de, A: MapAccess<'de>>(
                &mut self,
                key: &'static str,
                map: &mut A,
            ) -> Result<(), A::Error> {
                $(if <<$module::$plan as Fault>::Spec as Keys>::KEYS.contains(&key) {
                    return self.$module.read(key, map);
                })*
                Err(de::Error::unknown_field(key, Self::keys()))
            }
        }

        /// Which kind `spec` says (one whose keys it sets; with none set,
        /// the kind that reads an empty fault), then that kind's
        /// validation into its plan.
        pub fn validate(
            spec: &FaultSpec,
            path: &FieldPath,
            setting: &Setting,
            v: &mut Validator,
        ) -> Option<FaultPlan> {
            let set = [$(spec.$module.is_set(),)*];
            if set.iter().filter(|s| **s).count() > 1 {
                let kinds = [$(<$module::$plan as Fault>::WRITTEN,)*];
                v.problem(
                    path.clone(),
                    format!("choose one kind of fault: {}", either(&kinds, "or")),
                );
                return None;
            }
            let empty = !set.contains(&true);
            $(if spec.$module.is_set() || (empty && <$module::$plan as Fault>::READS_EMPTY) {
                return <$module::$plan as Fault>::validate(&spec.$module, path, setting, v)
                    .map(FaultPlan::$variant);
            })*
            None
        }
    };
}

fault_kinds! {
    Demo(demo::DemoFaults),
    Http(http::HttpFault),
    Exec(exec::ExecFault),
    // Its own plans carry their `kind` (`scale`, `delete_pods`); serde
    // wants such a variant last.
    #[serde(untagged)]
    Kubernetes(kubernetes::Kubernetes),
}

/// `a`, `a or b`, `a, b or c`.
fn either(items: &[&str], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., final_one] => format!("{} {last} {final_one}", rest.join(", ")),
    }
}

impl<'de> Deserialize<'de> for FaultSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct("FaultSpec", FaultSpec::keys(), SpecVisitor)
    }
}

struct SpecVisitor;

impl<'de> Visitor<'de> for SpecVisitor {
    type Value = FaultSpec;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("struct FaultSpec")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FaultSpec, A::Error> {
        let mut spec = FaultSpec::default();
        let mut seen: Vec<&'static str> = Vec::new();
        while let Some(key) = map.next_key_seed(KnownKey)? {
            if seen.contains(&key) {
                return Err(de::Error::duplicate_field(key));
            }
            seen.push(key);
            spec.read(key, &mut map)?;
        }
        Ok(spec)
    }
}

/// A key of `FaultSpec::keys()`; any other is refused where it is written
/// (as serde's derived identifiers refuse it).
struct KnownKey;

impl<'de> DeserializeSeed<'de> for KnownKey {
    type Value = &'static str;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'static str, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for KnownKey {
    type Value = &'static str;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field identifier")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<&'static str, E> {
        FaultSpec::keys()
            .iter()
            .find(|known| **known == key)
            .copied()
            .ok_or_else(|| E::unknown_field(key, FaultSpec::keys()))
    }
}

#[cfg(test)]
mod tests;
