//! The parts a plan is made of, validated and plain: where traffic goes and
//! which Prometheus and Alertmanager are watched (`endpoints`), what each
//! phase sends and breaks (`traffic`; its fault is one of `fault_kinds`), a
//! run's share when split (`shard`), and the words checks share
//! (`AlertRef`, `Anchor`, `Source`).
//!
//! Below the records (a phase's record keeps its fault) and the check kinds
//! (whose plans use these words); the whole `Plan`, with its checks, is
//! assembled above them in `plan`. Knows nothing of how a run goes.

mod alert;
mod baseline;
mod check;
mod endpoints;
mod shard;
mod traffic;

pub use alert::{AlertRef, AlertRefError};
pub use baseline::{BaselineSource, DEFAULT_LAST as DEFAULT_BASELINE_RUNS};
pub use check::{Anchor, Source};
pub use endpoints::{
    AlertmanagerPlan, AuthRef, PortRef, PrometheusPlan, SecretSource, ServiceMetrics, ServiceRef,
    TargetPlan, TlsPlan,
};
pub use shard::{Shard, ShardError};
pub use traffic::{LoadModel, Pace, PhasePlan, RateShape, RequestTemplate, WeightedRequest};
// A phase's fault is one of the fault kinds, each in a module of its own
// below (`fault_kinds`); the plan's readers find them here as before.
pub use crate::fault_kinds::{
    ContainerLimits, DemoFaults, ExecFault, FaultPlan, HttpCall, HttpFault, Kubernetes,
    MAX_MEMORY_HOG_BYTES,
};
