//! The synthetic exporter: a loopback HTTP server firedrill owns, serving
//! on one path per scrape target what each provocation's series read now
//! (`Timeline::values` at the moment of the scrape, in production time).
//! `job` and `instance` are not in the exposition: the scrape
//! configuration gives them, as in production, so selectors match as they
//! would there. A target whose `up` the provocation sets to 0 answers 503;
//! one whose `up` it withdraws is in `gone`, for the stack to take out of
//! Prometheus's configuration; a series the provocation withdraws
//! (`absent()`) is left out of the page and goes stale.
//!
//! Time compression: the timeline runs `scale` times faster than the wall
//! clock, but a counter advances at its production slope per wall second
//! (its production value divided by the scale), so `rate()` over a window
//! divided by the scale reads the production rate: thresholds are not
//! scaled, windows are.
//!
//! It knows nothing of Prometheus or the proof: the stack tells it which
//! targets exist and when a provocation begins or ends.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

use crate::coverage::levels::Level;
use crate::coverage::series::{Kind, SeriesSpec};
use crate::coverage::timeline::{Phase, Timeline};

/// One scrape target of one alert.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetDef {
    /// `/a3/t0`.
    pub path: String,
    pub job: String,
    pub instance: String,
    /// The series it serves (indices into the alert's specs).
    pub series: Vec<usize>,
    /// The `up` series standing for this target's health, if the alert
    /// reads it.
    pub up: Option<usize>,
}

/// One alert's series, served from when it was added.
struct Served {
    specs: Vec<SeriesSpec>,
    timeline: Timeline,
    origin: Instant,
    targets: Vec<TargetDef>,
}

type Shared = Arc<Mutex<BTreeMap<usize, Served>>>;

pub struct Exporter {
    pub address: std::net::SocketAddr,
    scale: f64,
    served: Shared,
    stop: Option<oneshot::Sender<()>>,
}

impl Exporter {
    /// Listens on a free loopback port.
    pub async fn start(scale: f64) -> std::io::Result<Exporter> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let served: Shared = Arc::new(Mutex::new(BTreeMap::new()));
        let (stop, stopped) = oneshot::channel();
        let shared = served.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = serve(listener, shared, scale) => {}
                _ = stopped => {}
            }
        });
        Ok(Exporter {
            address,
            scale,
            served,
            stop: Some(stop),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<usize, Served>> {
        self.served.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serves alert `n`'s series at `healthy` from now on.
    pub fn add(&self, n: usize, specs: &[SeriesSpec], healthy: &[Level], targets: Vec<TargetDef>) {
        self.lock().insert(
            n,
            Served {
                specs: specs.to_vec(),
                timeline: Timeline {
                    phases: vec![Phase {
                        from: 0.0,
                        levels: healthy.to_vec(),
                    }],
                    clock: 0.0,
                },
                origin: Instant::now(),
                targets,
            },
        );
    }

    /// Alert `n`'s series hold `levels` from now on (production seconds
    /// since it was added are returned).
    pub fn switch(&self, n: usize, levels: &[Level]) -> f64 {
        let mut all = self.lock();
        let Some(served) = all.get_mut(&n) else {
            return 0.0;
        };
        let from = served.origin.elapsed().as_secs_f64() * self.scale;
        served.timeline.phases.push(Phase {
            from,
            levels: levels.to_vec(),
        });
        from
    }

    /// The paths of the targets whose `up` the provocation withdraws now:
    /// they must leave Prometheus's configuration (a target cannot take
    /// its own `up` away; answering 503 makes it 0).
    pub fn gone(&self) -> BTreeSet<String> {
        let all = self.lock();
        let mut gone = BTreeSet::new();
        for served in all.values() {
            let t = served.origin.elapsed().as_secs_f64() * self.scale;
            for target in &served.targets {
                let Some(u) = target.up else { continue };
                if up_at(served, u, t).is_none() {
                    gone.insert(target.path.clone());
                }
            }
        }
        gone
    }

    /// Stops serving every alert (their targets are gone from the
    /// configuration by then).
    pub fn clear(&self) {
        self.lock().clear();
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(listener: tokio::net::TcpListener, served: Shared, scale: f64) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            continue;
        };
        let served = served.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let page = page(&served, request.uri().path(), scale);
                async move { Ok::<_, Infallible>(page) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}

/// The page of the target at `path`, now.
fn page(served: &Shared, path: &str, scale: f64) -> Response<Full<Bytes>> {
    let all = served.lock().unwrap_or_else(|e| e.into_inner());
    let found = all.values().find_map(|s| {
        s.targets
            .iter()
            .find(|t| t.path == path)
            .map(|target| (s, target))
    });
    let Some((served, target)) = found else {
        return answer(StatusCode::NOT_FOUND, "no such target\n".into());
    };
    let t = served.origin.elapsed().as_secs_f64() * scale;
    if let Some(u) = target.up {
        if up_at(served, u, t).is_none_or(|v| v < 0.5) {
            return answer(StatusCode::SERVICE_UNAVAILABLE, "down (provoked)\n".into());
        }
    }
    answer(StatusCode::OK, exposition(served, target, t, scale))
}

/// The value of the `up` series `u` at production time `t` (None: the
/// provocation withdraws it).
fn up_at(served: &Served, u: usize, t: f64) -> Option<f64> {
    served
        .timeline
        .values(&served.specs, u, t)
        .first()
        .copied()
        .flatten()
}

/// The text exposition of `target`'s series at production time `t`.
fn exposition(served: &Served, target: &TargetDef, t: f64, scale: f64) -> String {
    let mut text = String::new();
    for &i in &target.series {
        let spec = &served.specs[i];
        let values = served.timeline.values(&served.specs, i, t);
        for (labels, value) in spec.members().into_iter().zip(values) {
            let Some(value) = value else { continue };
            let value = match spec.kind {
                Kind::Counter | Kind::Histogram { .. } => value / scale,
                _ => value,
            };
            let labels: Vec<String> = labels
                .iter()
                .filter(|(k, _)| k.as_str() != "job" && k.as_str() != "instance")
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let _ = writeln!(text, "{}{{{}}} {value}", spec.metric, labels.join(","));
        }
    }
    text
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_as_the_text_format_wants() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
