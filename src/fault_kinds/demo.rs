//! The embedded demo gateway's own faults: backend errors, latency and
//! outage, the gateway down, and — against its container's limits — a
//! memory hog and a CPU burn. Set on the running demo; healthy again when
//! undone.
//!
//! ```yaml
//! fault: { backend_error_ratio: 50%, backend_latency: 2s, memory_hog: 90% }
//! ```
//!
//! The limits live here because the hog's and the burn's shares are shares
//! of them (the target's plan holds them too).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::keys::fault_keys;
use super::{Capabilities, Fault, Setting, Stage, Undo};
use crate::spec::units::{ByteSize, HumanDuration, Ratio};
use crate::spec::{FieldPath, Validator};
use crate::time::{format_duration, trim_float};

/// Faults of the embedded demo gateway. `DemoFaults::default()` is healthy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoFaults {
    /// Share of backend calls that answer 500.
    pub backend_error_ratio: f64,
    /// Latency added to every backend call (in JSON: milliseconds).
    #[serde(with = "millis", rename = "backend_latency_ms")]
    pub backend_latency: Duration,
    /// The backend stops listening: the gateway answers 503.
    pub backend_down: bool,
    /// The gateway stops listening.
    pub gateway_down: bool,
    /// Memory is taken until the demo's working set is this share of its
    /// memory limit (0: none).
    pub memory_hog: f64,
    /// Threads spin until the demo's process uses this share of its CPU
    /// limit (0: none).
    pub cpu_burn: f64,
}

mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// The embedded demo's container limits, as a pod spec's `resources.limits`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ContainerLimits {
    pub memory_bytes: u64,
    /// CPU cores (`500m` is 0.5).
    pub cpu_cores: f64,
}

impl Default for ContainerLimits {
    /// The demo's own defaults (`demo::Limits`): 512 MiB and one core.
    fn default() -> Self {
        ContainerLimits {
            memory_bytes: 512 << 20,
            cpu_cores: 1.0,
        }
    }
}

/// The most memory a hog may take (`demo::MAX_MEMORY_HOG_BYTES`, which the
/// demo holds itself to; validation refuses more before anything runs).
pub const MAX_MEMORY_HOG_BYTES: u64 = 1 << 30;

fault_keys! {
    /// The demo's keys, written flat in `fault:`.
    pub struct Spec {
        /// This share of backend calls answers 500 (the gateway passes it on).
        backend_error_ratio: Ratio,
        /// Added to every backend call.
        backend_latency: HumanDuration,
        /// The model backend stops listening: the gateway answers 503 and its
        /// scrape target goes down.
        backend_down: bool,
        /// The gateway itself stops listening (connections refused, scrape fails).
        gateway_down: bool,
        /// Memory is taken until the demo's working set is this share of its
        /// memory limit.
        memory_hog: Ratio,
        /// Threads spin until the demo's process uses this share of its CPU limit.
        cpu_burn: Ratio,
    }
}

impl Fault for DemoFaults {
    const WRITTEN: &'static str = "the demo gateway's";
    const READS_EMPTY: bool = true;
    type Spec = Spec;

    fn validate(
        spec: &Spec,
        path: &FieldPath,
        setting: &Setting,
        v: &mut Validator,
    ) -> Option<Self> {
        let Some(limits) = setting.embedded else {
            v.problem(
                path.clone(),
                "these faults are injected into the embedded demo gateway; with a `base_url` \
                 target, give an `http` fault (a call that starts it and one that restores)",
            );
            return None;
        };
        if *spec == Spec::default() {
            v.problem(
                path.clone(),
                "an empty fault: set backend_error_ratio, backend_latency, backend_down, \
                 gateway_down, memory_hog, cpu_burn or http",
            );
            return None;
        }
        if let Some(latency) = spec.backend_latency {
            if latency.0 > setting.max_timeout {
                v.problem(
                    path.key("backend_latency"),
                    format!(
                        "backend_latency is at most {}",
                        format_duration(setting.max_timeout)
                    ),
                );
                return None;
            }
        }
        let before = v.count();
        let (memory_hog, cpu_burn) = validate_stress(v, spec, path, limits);
        if v.count() > before {
            return None;
        }
        Some(DemoFaults {
            backend_error_ratio: spec.backend_error_ratio.map(|r| r.0).unwrap_or(0.0),
            backend_latency: spec.backend_latency.map(|d| d.0).unwrap_or_default(),
            backend_down: spec.backend_down.unwrap_or(false),
            gateway_down: spec.gateway_down.unwrap_or(false),
            memory_hog,
            cpu_burn,
        })
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.backend_error_ratio > 0.0 {
            parts.push(format!(
                "backend errors {}%",
                trim_float(self.backend_error_ratio * 100.0)
            ));
        }
        if !self.backend_latency.is_zero() {
            parts.push(format!(
                "backend +{}",
                format_duration(self.backend_latency)
            ));
        }
        if self.backend_down {
            parts.push("backend down".into());
        }
        if self.gateway_down {
            parts.push("gateway down".into());
        }
        if self.memory_hog > 0.0 {
            parts.push(format!(
                "memory hog to {}% of the limit",
                trim_float(self.memory_hog * 100.0)
            ));
        }
        if self.cpu_burn > 0.0 {
            parts.push(format!(
                "CPU burn to {}% of the limit",
                trim_float(self.cpu_burn * 100.0)
            ));
        }
        parts.join(", ")
    }

    async fn inject<C: Capabilities>(
        &self,
        can: &C,
        undo: &mut Option<Undo>,
    ) -> Result<(), C::Error> {
        *undo = Some(Undo::DemoHealthy);
        can.set_demo_faults(self, Stage::Start)
    }
}

/// The memory hog's and the CPU burn's shares (0: none): above 0, a hog
/// within `MAX_MEMORY_HOG_BYTES`, a burn within this machine's cores.
fn validate_stress(
    v: &mut Validator,
    spec: &Spec,
    path: &FieldPath,
    limits: &ContainerLimits,
) -> (f64, f64) {
    let hog = spec.memory_hog.map_or(0.0, |r| r.0);
    let burn = spec.cpu_burn.map_or(0.0, |r| r.0);
    for (field, share) in [("memory_hog", spec.memory_hog), ("cpu_burn", spec.cpu_burn)] {
        if share.is_some_and(|r| r.0 == 0.0) {
            v.problem(
                path.key(field),
                format!("{field} is a share of the limit above 0% (leave it out for none)"),
            );
        }
    }
    let hog_bytes = hog * limits.memory_bytes as f64;
    if hog_bytes > MAX_MEMORY_HOG_BYTES as f64 {
        v.problem(
            path.key("memory_hog"),
            format!(
                "memory_hog {}% of the {} limit could take {}, above the {} a hog may take \
                 (lower the share or target.limits.memory)",
                percent(hog),
                ByteSize(limits.memory_bytes),
                ByteSize(hog_bytes as u64),
                ByteSize(MAX_MEMORY_HOG_BYTES)
            ),
        );
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if burn * limits.cpu_cores > cores as f64 {
        v.problem(
            path.key("cpu_burn"),
            format!(
                "cpu_burn {}% of a {}-core limit needs {} cores; this machine has {cores}",
                percent(burn),
                limits.cpu_cores,
                burn * limits.cpu_cores
            ),
        );
    }
    (hog, burn)
}

/// `0.95` → `95` (two decimals at most).
fn percent(share: f64) -> f64 {
    (share * 10_000.0).round() / 100.0
}
