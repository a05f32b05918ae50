//! The parts a plan is made of, validated and plain: where traffic goes and
//! which Prometheus and Alertmanager are watched (`endpoints`), what each
//! phase sends and breaks (`traffic`), a run's share when split (`shard`),
//! and the words checks share (`AlertRef`, `Anchor`, `Source`).
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
    AlertmanagerPlan, AuthRef, ContainerLimits, PortRef, PrometheusPlan, SecretSource,
    ServiceMetrics, ServiceRef, TargetPlan, TlsPlan, MAX_MEMORY_HOG_BYTES,
};
pub use shard::{Shard, ShardError};
pub use traffic::{
    DemoFaults, FaultPlan, HttpCall, LoadModel, PhasePlan, RateShape, RequestTemplate,
    WeightedRequest,
};
