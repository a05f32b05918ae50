//! The demo: an API gateway and a model backend that behave like the seed's
//! stack (its Go gateway in front of a BentoML model), with faults that can
//! be switched at run time. The embedded environment runs it in-process;
//! `firedrill demo-gateway` runs it alone, with an admin port to set faults.
//!
//! Knows nothing of the harness: it is the system under test.

mod admin;
mod backend;
mod gateway;
pub(crate) mod server;

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

/// The Prometheus job the demo gateway is scraped as: the seed's name for
/// its Go gateway (its Kubernetes service and `job` label).
pub const GATEWAY_JOB: &str = "api-gateway";
/// The Prometheus job the demo's model backend is scraped as: the seed's
/// name for its BentoML service.
pub const BACKEND_JOB: &str = "sentiment-api";

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

/// Where to listen. Port 0 picks a free port.
#[derive(Debug, Clone, Copy)]
pub struct DemoConfig {
    pub gateway: SocketAddr,
    pub backend: SocketAddr,
}

impl Default for DemoConfig {
    fn default() -> Self {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        DemoConfig {
            gateway: loopback,
            backend: loopback,
        }
    }
}

/// The running gateway and backend. Dropping it stops both.
pub struct DemoStack {
    gateway: SwitchableServer,
    backend_server: SwitchableServer,
    backend: Arc<Backend>,
    faults: Mutex<Faults>,
}

impl DemoStack {
    /// Starts both servers on the current tokio runtime.
    pub fn start(config: DemoConfig) -> io::Result<Arc<Self>> {
        let backend = Backend::new();
        let backend_server = SwitchableServer::start(config.backend, backend.handler())?;
        let gateway = Gateway::new(format!("http://{}", backend_server.addr()));
        let gateway_server = SwitchableServer::start(config.gateway, gateway.handler())?;
        Ok(Arc::new(DemoStack {
            gateway: gateway_server,
            backend_server,
            backend,
            faults: Mutex::new(Faults::default()),
        }))
    }

    pub fn gateway_addr(&self) -> SocketAddr {
        self.gateway.addr()
    }

    pub fn backend_addr(&self) -> SocketAddr {
        self.backend_server.addr()
    }

    pub fn faults(&self) -> Faults {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sets the faults in force now (replacing the previous ones).
    pub fn set_faults(&self, faults: &Faults) -> io::Result<()> {
        self.backend
            .set_faults(faults.backend_error_ratio, faults.backend_latency);
        switch(&self.backend_server, faults.backend_down)?;
        switch(&self.gateway, faults.gateway_down)?;
        *self.faults.lock().unwrap_or_else(|e| e.into_inner()) = faults.clone();
        Ok(())
    }

    /// The admin API of `firedrill demo-gateway` (GET/PUT/DELETE /faults).
    pub fn start_admin(self: &Arc<Self>, addr: SocketAddr) -> io::Result<AdminServer> {
        let server = SwitchableServer::start(addr, admin::handler(self.clone()))?;
        Ok(AdminServer { server })
    }
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
