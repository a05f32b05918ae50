//! The demo API gateway: behaves like the seed's Go gateway (module 4).
//!
//! Same routes (POST /predict and /batch_predict proxied to the model
//! backend, GET /health, GET /metrics, GET /), same status codes (405 for a
//! wrong method, 404 for an unknown path, 503 when the backend cannot be
//! reached, the backend's own status otherwise) and the same metrics, with
//! the same names, labels and default buckets. Like the Go middleware, every
//! request is counted, /metrics scrapes included, with `endpoint` set to the
//! request path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, HOST};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

use super::server::{Handler, ResponseFuture};
use super::{json_response, metrics_response, text_response, MAX_BODY_BYTES};

/// The seed gateway's backend timeout.
const BACKEND_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Gateway {
    pub registry: Registry,
    backend_url: String,
    client: Client<HttpConnector, Full<Bytes>>,
    next_request_id: AtomicU64,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    backend_requests: IntCounterVec,
    backend_duration: HistogramVec,
}

impl Gateway {
    /// `backend_url`: scheme and authority of the model backend, e.g. `http://127.0.0.1:3000`.
    pub fn new(backend_url: String) -> Arc<Self> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "gateway_http_requests_total",
                "Total number of HTTP requests",
            ),
            &["method", "endpoint", "status"],
        )
        .expect("static metric definition is valid");
        // prometheus::DEFAULT_BUCKETS are Go's prometheus.DefBuckets:
        // 0.005 … 10 seconds, eleven buckets.
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "gateway_http_request_duration_seconds",
                "HTTP request duration in seconds",
            ),
            &["method", "endpoint"],
        )
        .expect("static metric definition is valid");
        let backend_requests = IntCounterVec::new(
            Opts::new(
                "gateway_backend_requests_total",
                "Total number of backend requests",
            ),
            &["endpoint", "status"],
        )
        .expect("static metric definition is valid");
        let backend_duration = HistogramVec::new(
            HistogramOpts::new(
                "gateway_backend_request_duration_seconds",
                "Backend request duration in seconds",
            ),
            &["endpoint"],
        )
        .expect("static metric definition is valid");
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(backend_requests.clone()),
            Box::new(backend_duration.clone()),
        ] {
            registry
                .register(collector)
                .expect("each metric is registered once");
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .build(connector);
        Arc::new(Gateway {
            registry,
            backend_url,
            client,
            next_request_id: AtomicU64::new(1),
            http_requests,
            http_duration,
            backend_requests,
            backend_duration,
        })
    }

    pub fn handler(self: &Arc<Self>) -> Handler {
        let gateway = self.clone();
        Arc::new(move |request| -> ResponseFuture {
            let gateway = gateway.clone();
            Box::pin(async move { gateway.handle(request).await })
        })
    }

    /// The metrics middleware around the router.
    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let started = Instant::now();
        let method = request.method().to_string();
        let path = request.uri().path().to_string();
        let request_id = request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!(
                    "demo-{:016x}",
                    self.next_request_id.fetch_add(1, Ordering::Relaxed)
                )
            });
        let mut response = self.route(request, &path, &request_id).await;
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-request-id", value);
        }
        self.http_requests
            .with_label_values(&[method.as_str(), path.as_str(), response.status().as_str()])
            .inc();
        self.http_duration
            .with_label_values(&[method.as_str(), path.as_str()])
            .observe(started.elapsed().as_secs_f64());
        response
    }

    async fn route(
        &self,
        request: Request<Incoming>,
        path: &str,
        request_id: &str,
    ) -> Response<Full<Bytes>> {
        match path {
            "/health" if request.method() == Method::GET => self.health().await,
            "/predict" | "/batch_predict" if request.method() == Method::POST => {
                self.proxy(request, path, request_id).await
            }
            "/health" | "/predict" | "/batch_predict" => {
                text_response(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
            }
            "/metrics" => metrics_response(&self.registry),
            "/" => json_response(
                StatusCode::OK,
                &serde_json::json!({
                    "service": "Sentiment Analysis API Gateway (firedrill demo)",
                    "version": "2.0.0",
                    "endpoints": {
                        "/health": "Health check endpoint",
                        "/predict": "Single text sentiment analysis",
                        "/batch_predict": "Batch sentiment analysis",
                        "/metrics": "Prometheus metrics"
                    }
                }),
            ),
            _ => text_response(StatusCode::NOT_FOUND, "Not found"),
        }
    }

    /// Like the seed: always 200, with the backend's reachability in the body.
    async fn health(&self) -> Response<Full<Bytes>> {
        let probe = Request::get(format!("{}/health", self.backend_url))
            .body(Full::new(Bytes::new()))
            .expect("static request is valid");
        let backend = match tokio::time::timeout(Duration::from_secs(2), self.client.request(probe))
            .await
        {
            Ok(Ok(response)) => {
                serde_json::json!({"backend": "ok", "backend_status": response.status().as_u16()})
            }
            Ok(Err(e)) => {
                serde_json::json!({"backend": "unreachable", "backend_error": e.to_string()})
            }
            Err(_) => serde_json::json!({"backend": "unreachable", "backend_error": "timeout"}),
        };
        let mut body = serde_json::json!({"status": "ok", "service": "api-gateway"});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), backend.as_object()) {
            body.extend(extra.clone());
        }
        json_response(StatusCode::OK, &body)
    }

    async fn proxy(
        &self,
        request: Request<Incoming>,
        path: &str,
        request_id: &str,
    ) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return text_response(StatusCode::BAD_REQUEST, "Failed to read request"),
        };
        let mut backend_request = Request::builder()
            .method(parts.method)
            .uri(format!("{}{}", self.backend_url, path));
        for (name, value) in &parts.headers {
            if name != HOST && name != CONNECTION {
                backend_request = backend_request.header(name, value);
            }
        }
        let Ok(backend_request) = backend_request
            .header("x-request-id", request_id)
            .body(Full::new(body))
        else {
            return text_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error");
        };

        let started = Instant::now();
        let outcome = tokio::time::timeout(BACKEND_TIMEOUT, async {
            let response = self.client.request(backend_request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((parts, body))
        })
        .await;
        let elapsed = started.elapsed().as_secs_f64();
        let (status_label, response) = match outcome {
            Ok(Ok((parts, body))) => {
                let mut response = Response::new(Full::new(body));
                *response.status_mut() = parts.status;
                *response.headers_mut() = parts.headers;
                (parts.status.as_str().to_string(), response)
            }
            // Connection refused, reset or timed out: the seed labels the
            // backend call "error" and answers 503.
            _ => (
                "error".to_string(),
                text_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Backend service unavailable",
                ),
            ),
        };
        self.backend_requests
            .with_label_values(&[path, status_label.as_str()])
            .inc();
        self.backend_duration
            .with_label_values(&[path])
            .observe(elapsed);
        response
    }
}
