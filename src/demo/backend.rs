//! The demo model backend: a stand-in for the seed's BentoML sentiment service
//! behind the gateway, with its default metric names, and the faults a drill
//! injects into it (error ratio, added latency).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

use super::server::{Handler, ResponseFuture};
use super::{json_response, metrics_response, text_response, MAX_BODY_BYTES};

const SERVICE_NAME: &str = "sentiment_api";
const SERVICE_VERSION: &str = "demo";

/// The fault knobs the backend reads on every request.
#[derive(Debug, Default)]
pub struct BackendFaults {
    pub error_ratio: f64,
    pub latency: Duration,
}

pub struct Backend {
    pub registry: Registry,
    faults: Mutex<BackendFaults>,
    /// Counts requests to spread injected errors evenly: request n fails when
    /// floor((n+1)·r) > floor(n·r), so any window holds the exact ratio
    /// (deterministic, unlike sampling, and the same on every run).
    served: AtomicU64,
    requests: IntCounterVec,
    duration: HistogramVec,
    in_progress: IntGaugeVec,
}

impl Backend {
    pub fn new() -> Arc<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("bentoml_service_request_total", "Total number of requests"),
            &[
                "endpoint",
                "http_response_code",
                "service_name",
                "service_version",
            ],
        )
        .expect("static metric definition is valid");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "bentoml_service_request_duration_seconds",
                "Request duration in seconds",
            ),
            &["endpoint", "service_name", "service_version"],
        )
        .expect("static metric definition is valid");
        let in_progress = IntGaugeVec::new(
            Opts::new(
                "bentoml_service_request_in_progress",
                "Requests in progress",
            ),
            &["endpoint", "service_name", "service_version"],
        )
        .expect("static metric definition is valid");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(duration.clone()),
            Box::new(in_progress.clone()),
        ] {
            registry
                .register(collector)
                .expect("each metric is registered once");
        }
        Arc::new(Backend {
            registry,
            faults: Mutex::new(BackendFaults::default()),
            served: AtomicU64::new(0),
            requests,
            duration,
            in_progress,
        })
    }

    pub fn set_faults(&self, error_ratio: f64, latency: Duration) {
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        faults.error_ratio = error_ratio.clamp(0.0, 1.0);
        faults.latency = latency;
    }

    pub fn handler(self: &Arc<Self>) -> Handler {
        let backend = self.clone();
        Arc::new(move |request| -> ResponseFuture {
            let backend = backend.clone();
            Box::pin(async move { backend.handle(request).await })
        })
    }

    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let path = request.uri().path().to_string();
        match (request.method(), path.as_str()) {
            (&Method::GET, "/metrics") => metrics_response(&self.registry),
            (&Method::GET, "/health" | "/healthz" | "/livez" | "/readyz") => {
                text_response(StatusCode::OK, "ok")
            }
            (&Method::POST, "/predict" | "/batch_predict") => {
                let labels = [path.as_str(), SERVICE_NAME, SERVICE_VERSION];
                self.in_progress.with_label_values(&labels).inc();
                let started = Instant::now();
                let response = self.predict(request, path == "/batch_predict").await;
                self.in_progress.with_label_values(&labels).dec();
                self.duration
                    .with_label_values(&labels)
                    .observe(started.elapsed().as_secs_f64());
                self.requests
                    .with_label_values(&[
                        path.as_str(),
                        response.status().as_str(),
                        SERVICE_NAME,
                        SERVICE_VERSION,
                    ])
                    .inc();
                response
            }
            (_, "/predict" | "/batch_predict") => {
                text_response(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
            }
            _ => text_response(StatusCode::NOT_FOUND, "Not found"),
        }
    }

    async fn predict(&self, request: Request<Incoming>, batch: bool) -> Response<Full<Bytes>> {
        let (error_ratio, latency) = {
            let faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
            (faults.error_ratio, faults.latency)
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let n = self.served.fetch_add(1, Ordering::Relaxed) as f64;
        if ((n + 1.0) * error_ratio).floor() > (n * error_ratio).floor() {
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &serde_json::json!({"error": "injected fault: backend error"}),
            );
        }
        let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                return text_response(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
            }
        };
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({"error": "invalid JSON in request body"}),
            );
        };
        // The service's input schema is `{"request": {"text": ...}}` (or a
        // list of texts for the batch endpoint); anything else is a 400, as a
        // validating model server answers.
        let input = &value["request"];
        let texts: Vec<&str> = if batch {
            input["texts"]
                .as_array()
                .map(|a| a.iter().filter_map(|t| t.as_str()).collect())
                .unwrap_or_default()
        } else {
            input["text"].as_str().into_iter().collect()
        };
        if texts.is_empty() {
            return json_response(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({"error": "validation error: expected {\"request\": {\"text\": \"...\"}}"}),
            );
        }
        let results: Vec<_> = texts.iter().map(|t| classify(t)).collect();
        let body = if batch {
            serde_json::json!({ "predictions": results })
        } else {
            results[0].clone()
        };
        json_response(StatusCode::OK, &body)
    }
}

fn classify(text: &str) -> serde_json::Value {
    let lower = text.to_lowercase();
    let negative = ["not", "bad", "terrible", "awful", "hate"]
        .iter()
        .any(|w| lower.contains(w));
    let (label, score) = if negative {
        ("NEGATIVE", 0.91)
    } else {
        ("POSITIVE", 0.98)
    };
    serde_json::json!({ "sentiment": label, "confidence": score, "text": text })
}
