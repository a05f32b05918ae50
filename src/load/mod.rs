//! The load engine: sends a phase's traffic and records what happened.
//!
//! Open model (arrival rate, linear ramps) and closed model (count,
//! concurrency, pause). Latency is measured from each request's *intended*
//! send time, so a stalled target shows up in the percentiles instead of
//! silently slowing the load (no coordinated omission). Memory does not grow
//! with run length: HDR histograms and per-second aggregates only, nothing
//! kept per request. Knows nothing of Prometheus or reports.

mod client;
mod engine;
mod error;
mod http1;
mod pacing;
mod schedule;
mod threads;

use std::net::SocketAddr;
use std::sync::Arc;

pub use crate::record::{
    Connections, Counts, LatencyHistogram, LatencySummary, Live, Outcome, PacerRan, PhaseStats,
    SecondStats,
};
pub use client::{Client, PreparedRequest};
pub use error::{LoadError, RequestError, TargetError, TlsError};
pub use pacing::Pacing;
pub use schedule::{MixTable, Schedule};
pub use threads::Threads;
use tokio::sync::watch;

use crate::plan::{LoadModel, PhasePlan};

/// How the engine sends, beside where: the HTTP/1.1 client, the pacer, the
/// threads. The defaults are the fast ones; the others are kept for comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Engine {
    pub client: Client,
    pub pacing: Pacing,
    pub threads: Threads,
}

/// Where traffic goes: resolved once, before the first phase.
#[derive(Debug, Clone)]
pub struct Target {
    pub base_url: String,
    pub addr: SocketAddr,
    /// `host:port` for the Host header (`:authority` in HTTP/2).
    pub authority: String,
    /// The host alone, without port or brackets: the name a certificate holds.
    pub host: String,
    /// Sent with every request; never printed.
    pub authorization: Option<crate::secret::Secret>,
    /// For https targets: TLS, with ALPN offering h2 and http/1.1.
    pub tls: Option<client::Tls>,
    /// The HTTP/1.1 client, the pacer and the threads.
    pub engine: Engine,
}

impl Target {
    /// Resolves `http://host[:port]` or `https://host[:port]`; `tls` says
    /// which CA to trust (besides the public roots) for https.
    pub async fn resolve(
        base_url: &str,
        authorization: Option<crate::secret::Secret>,
        tls: &crate::plan::TlsPlan,
    ) -> Result<Self, LoadError> {
        let error = |source: TargetError| LoadError::Target {
            url: base_url.to_string(),
            source,
        };
        let (rest, https) = match (
            base_url.strip_prefix("http://"),
            base_url.strip_prefix("https://"),
        ) {
            (Some(rest), _) => (rest, false),
            (None, Some(rest)) => (rest, true),
            (None, None) => return Err(error(TargetError::Scheme)),
        };
        let authority = rest.trim_end_matches('/').to_string();
        let has_port = authority.rsplit_once(':').is_some_and(|(host, p)| {
            p.parse::<u16>().is_ok() && (!host.starts_with('[') || host.ends_with(']'))
        });
        let with_port = if has_port {
            authority.clone()
        } else {
            format!("{authority}:{}", if https { 443 } else { 80 })
        };
        let addr = tokio::net::lookup_host(&with_port)
            .await
            .map_err(|e| error(TargetError::Resolve(e)))?
            .next()
            .ok_or_else(|| error(TargetError::NoAddress))?;
        let host = with_port
            .rsplit_once(':')
            .map(|(host, _)| host.trim_start_matches('[').trim_end_matches(']'))
            .unwrap_or_default()
            .to_string();
        let tls = if https {
            Some(client::Tls::new(&host, tls).map_err(|e| error(e.into()))?)
        } else {
            None
        };
        Ok(Target {
            base_url: base_url.trim_end_matches('/').to_string(),
            addr,
            authority,
            host,
            authorization,
            tls,
            engine: Engine::default(),
        })
    }

    /// The same target through another client, pacer or thread count.
    pub fn with_engine(self, engine: Engine) -> Self {
        Target { engine, ..self }
    }
}

/// Sends one phase's traffic; blocks the calling thread until the phase's
/// last request has been answered (or timed out), or until `stop` turns true.
/// Idle phases (no traffic) are the drill's business, not the engine's.
pub fn run_phase(
    target: &Target,
    phase: &PhasePlan,
    stop: watch::Receiver<bool>,
    live: Arc<Live>,
) -> Result<PhaseStats, LoadError> {
    let requests = phase
        .requests
        .iter()
        .map(|weighted| {
            PreparedRequest::new(&weighted.request, target).map_err(|source| LoadError::Request {
                path: weighted.request.path.clone(),
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if requests.is_empty() {
        return Err(LoadError::NoRequest {
            phase: phase.name.clone(),
        });
    }
    let weights: Vec<u32> = phase.requests.iter().map(|r| r.weight).collect();
    let (model, workers) = match &phase.model {
        LoadModel::Open {
            rate,
            duration,
            connections,
        } => (
            engine::Model::Open {
                schedule: Schedule::new(*rate, *duration),
                duration: *duration,
            },
            *connections,
        ),
        LoadModel::Closed {
            requests,
            concurrency,
            pause,
            max_duration,
        } => (
            engine::Model::Closed {
                requests: *requests,
                pause: *pause,
                max_duration: *max_duration,
            },
            *concurrency,
        ),
        LoadModel::Idle { .. } => {
            return Err(LoadError::Idle {
                phase: phase.name.clone(),
            })
        }
    };
    let job = engine::Job {
        model,
        workers,
        requests,
        mix: MixTable::new(&weights),
        timeout: phase.timeout,
    };
    engine::run(job, target, stop, live)
}
