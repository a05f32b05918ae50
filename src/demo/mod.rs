//! The demo: an API gateway and a model backend that behave like the seed's
//! stack (its Go gateway in front of a BentoML model), with faults that can
//! be switched at run time, and the container series a kubelet's cAdvisor
//! would serve for it (`container`), raised for real by a memory hog and a
//! CPU burn (`stress`). The embedded environment runs it in-process;
//! `firedrill demo-gateway` runs it alone, with an admin port to set faults.
//!
//! Knows nothing of the harness: it is the system under test.

mod admin;
mod backend;
mod burn;
pub mod container;
mod gateway;
mod hog;
pub(crate) mod server;
mod stress;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::CONTENT_TYPE;
use hyper::{Response, StatusCode};
use prometheus::{Encoder, Registry, TextEncoder};
use serde::{Deserialize, Serialize};

use backend::Backend;
use gateway::Gateway;
use server::SwitchableServer;
use stress::Stress;

pub use burn::THREAD_NAME as CPU_BURN_THREAD;
pub use container::Limits;
pub use stress::{Refused, MAX_MEMORY_HOG_BYTES};

/// The Prometheus job the demo gateway is scraped as: the seed's name for
/// its Go gateway (its Kubernetes service and `job` label).
pub const GATEWAY_JOB: &str = "api-gateway";
/// The Prometheus job the demo's model backend is scraped as: the seed's
/// name for its BentoML service.
pub const BACKEND_JOB: &str = "sentiment-api";
/// The Prometheus job the demo's container series are scraped as: the name
/// `k8s/monitoring/prometheus-config.yaml` gives the kubelets' cAdvisor.
pub const CADVISOR_JOB: &str = "kubernetes-cadvisor";

/// Request bodies above this are refused (a hostile client cannot make the
/// demo buffer without bound).
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The faults a drill can inject. `Faults::default()` is healthy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Share of backend calls that answer 500.
    pub backend_error_ratio: f64,
    /// Latency added to every backend call (in JSON: milliseconds).
    #[serde(with = "millis", rename = "backend_latency_ms")]
    pub backend_latency: Duration,
    /// The backend stops listening: the gateway answers 503.
    pub backend_down: bool,
    /// The gateway stops listening.
    pub gateway_down: bool,
    /// Memory is taken until the working set is this share of the
    /// container's memory limit (0: none).
    pub memory_hog: f64,
    /// Threads spin until the process uses this share of the container's
    /// CPU limit (0: none).
    pub cpu_burn: f64,
}

/// Why faults could not be set.
#[derive(Debug, thiserror::Error)]
pub enum FaultsError {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("could not switch a server: {0}")]
    Switch(#[source] io::Error),
    #[error("could not take {} MiB for the memory hog: {source}", target_bytes >> 20)]
    Hog {
        target_bytes: u64,
        #[source]
        source: io::Error,
    },
    #[error("could not start the CPU burn's threads: {0}")]
    Burn(#[source] io::Error),
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

/// Where to listen (port 0 picks a free port), and the container's limits.
#[derive(Debug, Clone, Copy)]
pub struct DemoConfig {
    pub gateway: SocketAddr,
    pub backend: SocketAddr,
    /// Serves the container series at `/metrics/cadvisor`, as a kubelet does.
    pub kubelet: SocketAddr,
    pub limits: Limits,
}

impl Default for DemoConfig {
    fn default() -> Self {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        DemoConfig {
            gateway: loopback,
            backend: loopback,
            kubelet: loopback,
            limits: Limits::default(),
        }
    }
}

/// The running gateway, backend and container series. Dropping it stops
/// them, and gives back what a hog or a burn holds.
pub struct DemoStack {
    gateway: SwitchableServer,
    backend_server: SwitchableServer,
    kubelet: SwitchableServer,
    backend: Arc<Backend>,
    limits: Limits,
    pod: String,
    faults: Mutex<Faults>,
    stress: Mutex<Stress>,
}

impl DemoStack {
    /// Starts the servers on the current tokio runtime.
    pub fn start(config: DemoConfig) -> io::Result<Arc<Self>> {
        let backend = Backend::new();
        let backend_server = SwitchableServer::start(config.backend, backend.handler())?;
        let gateway = Gateway::new(format!("http://{}", backend_server.addr()));
        let gateway_server = SwitchableServer::start(config.gateway, gateway.handler())?;
        let pod = container::pod_name();
        let registry = Registry::new();
        registry
            .register(Box::new(container::ContainerCollector::new(
                config.limits,
                &pod,
            )))
            .expect("the container series are registered once");
        let kubelet = SwitchableServer::start(config.kubelet, kubelet_handler(registry))?;
        Ok(Arc::new(DemoStack {
            gateway: gateway_server,
            backend_server,
            kubelet,
            backend,
            limits: config.limits,
            pod,
            faults: Mutex::new(Faults::default()),
            stress: Mutex::new(Stress::default()),
        }))
    }

    pub fn gateway_addr(&self) -> SocketAddr {
        self.gateway.addr()
    }

    pub fn backend_addr(&self) -> SocketAddr {
        self.backend_server.addr()
    }

    /// Where the container series are served (path `/metrics/cadvisor`).
    pub fn kubelet_addr(&self) -> SocketAddr {
        self.kubelet.addr()
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The pod the container series are labelled with.
    pub fn pod(&self) -> &str {
        &self.pod
    }

    /// Bytes the memory hog holds now (0: none).
    pub fn hog_bytes(&self) -> u64 {
        self.lock_stress().hog_bytes()
    }

    /// Threads the CPU burn runs now (0: none).
    pub fn burn_threads(&self) -> usize {
        self.lock_stress().burn_threads()
    }

    fn lock_stress(&self) -> std::sync::MutexGuard<'_, Stress> {
        // Poisoned only by a panic mid-change; what it holds is still owned.
        self.stress.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn faults(&self) -> Faults {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether `faults` can be set here (shares, the hog's cap, the cores).
    pub fn check(&self, faults: &Faults) -> Result<(), Refused> {
        stress::check(faults, &self.limits)
    }

    /// Sets the faults in force now (replacing the previous ones). Refused
    /// faults change nothing.
    pub fn set_faults(&self, faults: &Faults) -> Result<(), FaultsError> {
        self.check(faults)?;
        self.backend
            .set_faults(faults.backend_error_ratio, faults.backend_latency);
        switch(&self.backend_server, faults.backend_down).map_err(FaultsError::Switch)?;
        switch(&self.gateway, faults.gateway_down).map_err(FaultsError::Switch)?;
        self.lock_stress().apply(faults, &self.limits)?;
        *self.faults.lock().unwrap_or_else(|e| e.into_inner()) = faults.clone();
        Ok(())
    }

    /// The admin API of `firedrill demo-gateway` (GET/PUT/DELETE /faults).
    pub fn start_admin(self: &Arc<Self>, addr: SocketAddr) -> io::Result<AdminServer> {
        let server = SwitchableServer::start(addr, admin::handler(self.clone()))?;
        Ok(AdminServer { server })
    }
}

/// The kubelet's endpoint for the container series; nothing else.
fn kubelet_handler(registry: Registry) -> server::Handler {
    let registry = Arc::new(registry);
    Arc::new(move |request| -> server::ResponseFuture {
        let registry = registry.clone();
        Box::pin(async move {
            match (request.method(), request.uri().path()) {
                (&hyper::Method::GET, "/metrics/cadvisor") => metrics_response(&registry),
                _ => text_response(StatusCode::NOT_FOUND, "Not found: use /metrics/cadvisor"),
            }
        })
    })
}

fn switch(server: &SwitchableServer, down: bool) -> io::Result<()> {
    if down {
        server.down();
        Ok(())
    } else {
        server.up()
    }
}

pub struct AdminServer {
    server: SwitchableServer,
}

impl AdminServer {
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }
}

fn text_response(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

fn metrics_response(registry: &Registry) -> Response<Full<Bytes>> {
    let encoder = TextEncoder::new();
    let mut buffer = Vec::new();
    if encoder.encode(&registry.gather(), &mut buffer).is_err() {
        return text_response(StatusCode::INTERNAL_SERVER_ERROR, "metrics encoding failed");
    }
    let mut response = Response::new(Full::new(Bytes::from(buffer)));
    if let Ok(value) = hyper::header::HeaderValue::from_str(encoder.format_type()) {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
}
