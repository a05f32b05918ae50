//! A stand-in service whose errors are random, as a real service's are
//! (the demo gateway's faults are exact: 50% is every second call): each
//! request to `/predict` fails with 500 with the given probability, drawn
//! from a seeded generator, and `/metrics` counts them under the seed
//! gateway's name, `gateway_http_requests_total{endpoint,method,status}`,
//! both status series present from the first scrape.
//!
//! One target, two users: `main.rs` beside it serves it as a process (the
//! noise benchmark, `scripts/bench-noise`), and the integration tests
//! include this file (`tests/support/random_errors.rs`) to serve it
//! in-process.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus::{Encoder, IntCounterVec, Opts, Registry, TextEncoder};

/// What the stand-in does.
#[derive(Debug, Clone, Copy)]
pub struct RandomErrors {
    /// The probability that a request to `/predict` fails with 500.
    pub error_ratio: f64,
    pub seed: u64,
}

struct State {
    config: RandomErrors,
    rng: Mutex<fastrand::Rng>,
    requests: IntCounterVec,
    registry: Registry,
}

/// Serves on `listener` for as long as the future runs.
pub async fn serve(listener: tokio::net::TcpListener, config: RandomErrors) {
    let state = Arc::new(state(config));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(answer(&state, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn state(config: RandomErrors) -> State {
    let registry = Registry::new();
    let requests = IntCounterVec::new(
        Opts::new("gateway_http_requests_total", "Requests, by status."),
        &["endpoint", "method", "status"],
    )
    .expect("a valid metric");
    registry
        .register(Box::new(requests.clone()))
        .expect("registered once");
    for status in ["200", "500"] {
        requests.with_label_values(&["/predict", "POST", status]);
    }
    State {
        config,
        rng: Mutex::new(fastrand::Rng::with_seed(config.seed)),
        requests,
        registry,
    }
}

async fn answer(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    let method = request.method().to_string();
    // Read the body whole, as a service would before answering.
    let _ = request.into_body().collect().await;
    match path.as_str() {
        "/metrics" => {
            let mut text = Vec::new();
            let _ = TextEncoder::new().encode(&state.registry.gather(), &mut text);
            Response::new(Full::new(Bytes::from(text)))
        }
        "/predict" => {
            let failed = {
                let mut rng = state.rng.lock().unwrap_or_else(|e| e.into_inner());
                rng.f64() < state.config.error_ratio
            };
            let (status, body) = if failed {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    r#"{"error":"model failed"}"#,
                )
            } else {
                (StatusCode::OK, r#"{"result":"POSITIVE"}"#)
            };
            state
                .requests
                .with_label_values(&["/predict", &method, status.as_str()])
                .inc();
            let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
            *response.status_mut() = status;
            response
        }
        _ => {
            let mut response = Response::new(Full::new(Bytes::from_static(b"not found")));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    }
}
