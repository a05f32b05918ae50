//! Faults: one interface to inject a phase's fault and restore it, always —
//! explicitly at the end of the phase (with the outcome recorded), and from
//! `Drop` if the phase is left any other way (an error, a panic, a signal),
//! so no fault outlives the drill.
//!
//! Each kind lives in its own file behind `inject`: the embedded demo's
//! faults (`demo`), an HTTP call that starts and another that restores
//! (`http`), a command that starts and another that restores (`exec`), and
//! the Kubernetes API's scale and pod deletion (`kube`). Adding a kind means a
//! file here, a variant of `FaultPlan`, and the scenario format; the drill
//! only calls `inject` and `Injected::restore`. Knows nothing of how a drill
//! is timed.

mod demo;
mod exec;
mod http;
mod kube;

use std::sync::Arc;

pub use demo::limits_of as demo_limits;
pub use exec::CommandFailure;
pub use http::CallFailure;

use crate::cluster::{ClusterError, ClusterHandle};
use crate::demo::DemoStack;
use crate::plan::FaultPlan;

/// What injecting needs from the environment, and nothing more.
#[derive(Clone, Default)]
pub struct FaultContext {
    /// The embedded demo, when the target is the demo.
    pub demo: Option<Arc<DemoStack>>,
    /// The Kubernetes API, when the plan uses it.
    pub cluster: Option<ClusterHandle>,
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

/// A fault in force: the one guard type. `restore` undoes it and says
/// whether that worked; dropping it without `restore` undoes it too.
pub struct Injected(Armed);

enum Armed {
    Demo(demo::DemoGuard),
    Http(http::HttpRestore),
    Exec(exec::ExecRestore),
    Scale(kube::ScaleGuard),
    /// Deleted pods: their controller replaces them; nothing to restore.
    Nothing,
}

/// Starts the fault `plan` describes.
pub async fn inject(plan: &FaultPlan, context: &FaultContext) -> Result<Injected, FaultError> {
    let armed = match plan {
        FaultPlan::Demo(faults) => {
            let stack = context.demo.as_ref().ok_or(FaultError::NoDemo)?;
            Armed::Demo(demo::inject(stack, faults)?)
        }
        FaultPlan::Exec { start, restore } => Armed::Exec(exec::inject(start, restore)?),
        FaultPlan::Http { start, restore } => Armed::Http(http::inject(start, restore).await?),
        FaultPlan::Scale {
            deployment,
            namespace,
            replicas,
        } => {
            let cluster = context.cluster.as_ref().ok_or(FaultError::NoCluster)?;
            let replicas = i32::try_from(*replicas).unwrap_or(i32::MAX);
            Armed::Scale(
                kube::ScaleGuard::scale(cluster, namespace.as_deref(), deployment, replicas)
                    .await?,
            )
        }
        FaultPlan::DeletePods {
            namespace,
            selector,
            name,
        } => {
            let cluster = context.cluster.as_ref().ok_or(FaultError::NoCluster)?;
            let namespace = cluster.namespace_or(namespace.as_deref());
            kube::delete_pods(
                &cluster.client,
                namespace,
                selector.as_deref(),
                name.as_deref(),
            )
            .await?;
            Armed::Nothing
        }
    };
    Ok(Injected(armed))
}

impl Injected {
    /// Undoes the fault now and says whether that worked (`Drop` can only try).
    pub async fn restore(self) -> Result<(), FaultError> {
        match self.0 {
            Armed::Demo(guard) => guard.restore(),
            Armed::Exec(restore) => restore.restore(),
            Armed::Http(restore) => restore.restore().await,
            Armed::Scale(guard) => guard.restore().await,
            Armed::Nothing => Ok(()),
        }
    }
}
