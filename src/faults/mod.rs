//! What a fault can do, done: the `Capabilities` the fault kinds
//! (`fault_kinds`, one module each) inject and undo through — set the
//! embedded demo's faults (`demo`), make an HTTP call (`http`), run a
//! command (`exec`), scale a Deployment and delete pods through the
//! Kubernetes API (`kube`) — each also from `Drop`, which cannot await.
//!
//! `inject` starts a phase's fault with this environment's capabilities and
//! returns the guard that restores it, explicitly at the end of the phase
//! (with the outcome recorded) or from `Drop` if the phase is left any other
//! way (an error, a panic, a signal), so no fault outlives the drill. A new
//! kind of fault is a module in `fault_kinds`; it touches this room only if
//! it needs a capability not here. Knows nothing of how a drill is timed,
//! nor of which kinds of fault there are.

mod demo;
mod exec;
mod http;
mod kube;

use std::sync::Arc;

pub use crate::fault_kinds::Stage;
pub use demo::limits_of as demo_limits;
pub use exec::CommandFailure;
pub use http::CallFailure;

use crate::cluster::{ClusterError, ClusterHandle};
use crate::demo::DemoStack;
use crate::fault_kinds::{self, Capabilities, Undo};
use crate::plan::{DemoFaults, FaultPlan, HttpCall};

/// A fault in force: `restore` undoes it and says whether that worked;
/// dropping it without `restore` undoes it too.
pub type Injected = fault_kinds::Injected<FaultContext>;

/// Starts the fault `plan` describes, with what `context` can do.
pub async fn inject(plan: &FaultPlan, context: &FaultContext) -> Result<Injected, FaultError> {
    fault_kinds::inject(plan, context.clone()).await
}

/// What injecting needs from the environment, and nothing more.
#[derive(Clone, Default)]
pub struct FaultContext {
    /// The embedded demo, when the target is the demo.
    pub demo: Option<Arc<DemoStack>>,
    /// The Kubernetes API, when the plan uses it.
    pub cluster: Option<ClusterHandle>,
}

#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error("the demo gateway is not running")]
    NoDemo,
    #[error("could not inject the demo fault: {0}")]
    DemoInject(#[source] crate::demo::FaultsError),
    #[error("could not restore the demo gateway: {0}")]
    DemoRestore(#[source] crate::demo::FaultsError),
    #[error("the fault's {stage} command failed: {source}")]
    Command {
        stage: Stage,
        #[source]
        source: CommandFailure,
    },
    #[error("the fault's {stage} call failed: {source}")]
    Http {
        stage: Stage,
        #[source]
        source: CallFailure,
    },
    #[error("no Kubernetes API connection (this plan was not expected to need one)")]
    NoCluster,
    #[error("{0}")]
    Cluster(#[from] ClusterError),
}

impl FaultContext {
    fn cluster(&self) -> Result<&ClusterHandle, FaultError> {
        self.cluster.as_ref().ok_or(FaultError::NoCluster)
    }
}

impl Capabilities for FaultContext {
    type Error = FaultError;

    fn set_demo_faults(&self, faults: &DemoFaults, stage: Stage) -> Result<(), FaultError> {
        demo::set(self.demo.as_ref(), faults, stage)
    }

    async fn call_http(&self, call: &HttpCall, stage: Stage) -> Result<(), FaultError> {
        http::call(call, stage).await
    }

    fn run_command(&self, argv: &[String], stage: Stage) -> Result<(), FaultError> {
        exec::run(argv, stage)
    }

    async fn replicas(&self, namespace: Option<&str>, deployment: &str) -> Result<i32, FaultError> {
        let cluster = self.cluster()?;
        let namespace = cluster.namespace_or(namespace);
        Ok(kube::replicas(&cluster.client, namespace, deployment).await?)
    }

    async fn set_replicas(
        &self,
        namespace: Option<&str>,
        deployment: &str,
        replicas: i32,
    ) -> Result<(), FaultError> {
        let cluster = self.cluster()?;
        let namespace = cluster.namespace_or(namespace);
        Ok(kube::set_replicas(&cluster.client, namespace, deployment, replicas).await?)
    }

    async fn delete_pods(
        &self,
        namespace: Option<&str>,
        selector: Option<&str>,
        name: Option<&str>,
    ) -> Result<(), FaultError> {
        let cluster = self.cluster()?;
        let namespace = cluster.namespace_or(namespace);
        kube::delete_pods(&cluster.client, namespace, selector, name).await?;
        Ok(())
    }

    fn undo_from_drop(&self, undo: &Undo) {
        match undo {
            Undo::DemoHealthy => demo::heal_from_drop(self.demo.as_ref()),
            Undo::Call(call) => http::restore_from_drop(call),
            Undo::Command(argv) => exec::restore_from_drop(argv),
            Undo::Replicas {
                namespace,
                deployment,
                replicas,
            } => {
                if let Some(cluster) = &self.cluster {
                    let namespace = cluster.namespace_or(namespace.as_deref());
                    kube::scale_from_drop(&cluster.options, namespace, deployment, *replicas);
                }
            }
        }
    }
}
