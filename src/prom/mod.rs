//! A client for Prometheus's HTTP API: query, query_range, alerts, rules,
//! targets, its Alertmanagers, build info, readiness, and Prometheus's own
//! clock; and (`alertmanager`) one for Alertmanager's API v2: its alerts,
//! silences, status and notification counters.
//!
//! Errors are typed so the caller can tell "Prometheus is unreachable" (the
//! verdict becomes inconclusive) from "Prometheus refused the query" (a bug in
//! a check or rule). Transient failures are retried a bounded number of times
//! with backoff, and every retry is counted so a report can show it. Answers
//! are read up to a size limit. Knows nothing of scenarios.

pub mod alertmanager;
mod api;
pub mod panels;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use alertmanager::{AlertmanagerClient, AlertmanagerError};
pub use api::{
    ActiveAlert, AlertmanagersData, BuildInfo, Labels, Point, QueryResult, Rule, RuleGroup,
    RuleHealth, Sample, Series, Target,
};
use api::{AlertsData, ConfigData, Envelope, RawResult, RulesData, TargetsData};
use serde::de::DeserializeOwned;

use crate::record::QueryFailure;
use crate::secret::{Credentials, Secret};

/// How to reach a Prometheus that is not ours: credentials and TLS.
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub credentials: Option<Credentials>,
    /// An extra CA certificate (PEM) to trust.
    pub ca_pem: Option<Vec<u8>>,
    /// Accept any certificate. Only on the user's explicit request.
    pub insecure_skip_verify: bool,
}

/// Largest API answer read into memory; a bigger one is an error, not an OOM.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PromError {
    /// `kind`: timed out, connection failed, request failed.
    #[error("Prometheus at {url} cannot be reached: {kind}: {}", error_chain(.source))]
    Unreachable {
        url: String,
        kind: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// No HTTP client could be made for it (its CA file is not PEM).
    #[error("Prometheus at {url} cannot be reached: {source}")]
    Client {
        url: String,
        #[source]
        source: ClientError,
    },
    #[error("Prometheus at {url}: TLS failed: {} (trust its CA with `prometheus.tls.ca_file`, or, knowingly, `insecure_skip_verify: true`)", error_chain(.source))]
    Tls {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("Prometheus at {url} answered HTTP {status}: {body}")]
    Http {
        url: String,
        status: u16,
        body: String,
    },
    #[error("Prometheus at {url} refused the request ({error_type}): {error}")]
    Api {
        url: String,
        error_type: String,
        error: String,
    },
    #[error("Prometheus at {url} sent an answer firedrill cannot read: {message}")]
    Decode { url: String, message: String },
    #[error("Prometheus at {url} sent more than {limit} bytes; narrow the query")]
    TooLarge { url: String, limit: usize },
    #[error("Prometheus at {url} did not become ready within {waited:?}: {last}")]
    NotReady {
        url: String,
        waited: Duration,
        last: String,
    },
}

impl PromError {
    /// True when the failure says nothing about the checks, only that
    /// Prometheus could not be asked (the verdict must be inconclusive).
    /// Waiting or retrying will not help (bad certificate, refused
    /// credentials, a query Prometheus rejects).
    pub fn is_permanent(&self) -> bool {
        matches!(self, PromError::Tls { .. }) || !self.is_unavailable()
    }

    pub fn is_unavailable(&self) -> bool {
        match self {
            PromError::Unreachable { .. }
            | PromError::Client { .. }
            | PromError::Tls { .. }
            | PromError::TooLarge { .. }
            | PromError::NotReady { .. } => true,
            PromError::Http { status, .. } => *status >= 500 || *status == 429,
            PromError::Api { error_type, .. } => {
                matches!(
                    error_type.as_str(),
                    "timeout" | "canceled" | "unavailable" | "internal"
                )
            }
            PromError::Decode { .. } => false,
        }
    }
}

impl From<&PromError> for QueryFailure {
    fn from(e: &PromError) -> Self {
        QueryFailure {
            message: e.to_string(),
            unavailable: e.is_unavailable(),
        }
    }
}

/// How hard to try before giving up on a request.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(200),
        }
    }
}

#[derive(Clone)]
pub struct PromClient {
    base: String,
    http: reqwest::Client,
    authorization: Option<Secret>,
    retry: RetryPolicy,
    max_response_bytes: usize,
    retries: Arc<AtomicU64>,
}

impl PromClient {
    /// `base_url`: e.g. `http://127.0.0.1:9090` (no trailing path).
    pub fn new(base_url: &str) -> Result<Self, PromError> {
        Self::with_access(base_url, Access::default())
    }

    pub fn with_access(base_url: &str, access: Access) -> Result<Self, PromError> {
        let http = http_client(&access).map_err(|source| PromError::Client {
            url: base_url.to_string(),
            source,
        })?;
        Ok(PromClient {
            base: base_url.trim_end_matches('/').to_string(),
            http,
            authorization: access.credentials.as_ref().map(Credentials::authorization),
            retry: RetryPolicy::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            retries: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Adds the credentials, marked sensitive so no layer prints them.
    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        authorize(request, self.authorization.as_ref())
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Requests retried so far (by this client and its clones).
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// GET /-/ready: true when Prometheus serves queries.
    pub async fn ready(&self) -> Result<bool, PromError> {
        let url = format!("{}/-/ready", self.base);
        let response = self
            .authorize(self.http.get(&url))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .map_err(|e| unreachable(&url, e))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(PromError::Http {
                url,
                status: status.as_u16(),
                body: "Prometheus refused the credentials (see `prometheus.auth`)".into(),
            });
        }
        Ok(status.is_success())
    }

    /// Polls /-/ready until it answers 200 or `timeout` passes.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), PromError> {
        let started = Instant::now();
        loop {
            let last = match self.ready().await {
                Ok(true) => return Ok(()),
                Ok(false) => "answered, but not ready".to_string(),
                // Waiting does not fix a certificate or refused credentials.
                Err(e) if e.is_permanent() => return Err(e),
                Err(e) => e.to_string(),
            };
            if started.elapsed() >= timeout {
                return Err(PromError::NotReady {
                    url: self.base.clone(),
                    waited: timeout,
                    last,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn buildinfo(&self) -> Result<BuildInfo, PromError> {
        self.get("/api/v1/status/buildinfo", &[]).await
    }

    /// The configuration Prometheus is running, as YAML text.
    pub async fn config_yaml(&self) -> Result<String, PromError> {
        let data: ConfigData = self.get("/api/v1/status/config", &[]).await?;
        Ok(data.yaml)
    }

    /// An instant query's single value: the first sample of a vector, or a
    /// scalar; `None` when the vector is empty.
    pub async fn scalar(&self, expr: &str, at: Option<f64>) -> Result<Option<f64>, PromError> {
        Ok(match self.query(expr, at).await? {
            QueryResult::Vector(samples) => samples.first().map(|s| s.value.v),
            QueryResult::Scalar(point) => Some(point.v),
            QueryResult::Matrix(_) => None,
        })
    }

    /// An instant query, at `at` (Prometheus time) or now.
    pub async fn query(&self, expr: &str, at: Option<f64>) -> Result<QueryResult, PromError> {
        let mut form = vec![("query", expr.to_string())];
        if let Some(at) = at {
            form.push(("time", format!("{at:.3}")));
        }
        let raw: RawResult = self.post("/api/v1/query", &form).await?;
        Ok(match raw {
            RawResult::Vector(v) => QueryResult::Vector(v),
            RawResult::Matrix(m) => QueryResult::Matrix(m),
            RawResult::Scalar(p) => QueryResult::Scalar(p),
            RawResult::String(_) => QueryResult::Vector(Vec::new()),
        })
    }

    /// A range query: the expression evaluated at every `step` from `start` to `end`.
    pub async fn query_range(
        &self,
        expr: &str,
        start: f64,
        end: f64,
        step: Duration,
    ) -> Result<Vec<Series>, PromError> {
        let form = vec![
            ("query", expr.to_string()),
            ("start", format!("{start:.3}")),
            ("end", format!("{end:.3}")),
            ("step", format!("{:.3}", step.as_secs_f64().max(0.001))),
        ];
        match self.post("/api/v1/query_range", &form).await? {
            RawResult::Matrix(m) => Ok(m),
            other => Err(PromError::Decode {
                url: format!("{}/api/v1/query_range", self.base),
                message: format!("expected a matrix, got {other:?}"),
            }),
        }
    }

    /// Prometheus's clock now, read as `time()` (for aligning firedrill's).
    pub async fn time(&self) -> Result<f64, PromError> {
        match self.query("time()", None).await? {
            QueryResult::Scalar(p) => Ok(p.v),
            other => Err(PromError::Decode {
                url: format!("{}/api/v1/query", self.base),
                message: format!("time() returned {other:?}"),
            }),
        }
    }

    pub async fn alerts(&self) -> Result<Vec<ActiveAlert>, PromError> {
        let data: AlertsData = self.get("/api/v1/alerts", &[]).await?;
        Ok(data.alerts)
    }

    pub async fn rules(&self) -> Result<Vec<RuleGroup>, PromError> {
        let data: RulesData = self.get("/api/v1/rules", &[]).await?;
        Ok(data.groups)
    }

    /// The Alertmanagers Prometheus sends its alerts to (and those it
    /// discovered but dropped).
    pub async fn alertmanagers(&self) -> Result<AlertmanagersData, PromError> {
        self.get("/api/v1/alertmanagers", &[]).await
    }

    /// Every value `label` takes (`__name__`: every metric name), among the
    /// series `matching` selects when given.
    pub async fn label_values(
        &self,
        label: &str,
        matching: Option<&str>,
    ) -> Result<Vec<String>, PromError> {
        let path = format!("/api/v1/label/{label}/values");
        let params: Vec<(&str, &str)> = matching.map(|m| vec![("match[]", m)]).unwrap_or_default();
        self.get(&path, &params).await
    }

    /// The label names of the series `matching` selects.
    pub async fn label_names(&self, matching: &str) -> Result<Vec<String>, PromError> {
        self.get("/api/v1/labels", &[("match[]", matching)]).await
    }

    pub async fn targets(&self) -> Result<Vec<Target>, PromError> {
        let data: TargetsData = self.get("/api/v1/targets", &[("state", "active")]).await?;
        Ok(data.active_targets)
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<T, PromError> {
        let url = format!("{}{}", self.base, path);
        self.with_retries(&url, || self.authorize(self.http.get(&url).query(params)))
            .await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, String)],
    ) -> Result<T, PromError> {
        let url = format!("{}{}", self.base, path);
        self.with_retries(&url, || self.authorize(self.http.post(&url).form(form)))
            .await
    }

    async fn with_retries<T: DeserializeOwned>(
        &self,
        url: &str,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<T, PromError> {
        let mut backoff = self.retry.first_backoff;
        let mut attempt = 1;
        loop {
            match self.send_once(url, request()).await {
                Err(e) if !e.is_permanent() && attempt < self.retry.attempts.max(1) => {
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    attempt += 1;
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
                result => return result,
            }
        }
    }

    async fn send_once<T: DeserializeOwned>(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, PromError> {
        let mut response = request.send().await.map_err(|e| unreachable(url, e))?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(url, e))? {
            if body.len() + chunk.len() > self.max_response_bytes {
                return Err(PromError::TooLarge {
                    url: url.to_string(),
                    limit: self.max_response_bytes,
                });
            }
            body.extend_from_slice(&chunk);
        }
        // The API answers errors as JSON with 400/422/503 too; prefer its words.
        match serde_json::from_slice::<Envelope<T>>(&body) {
            Ok(envelope) if envelope.status == "success" => {
                envelope.data.ok_or_else(|| PromError::Decode {
                    url: url.to_string(),
                    message: "success without data".into(),
                })
            }
            Ok(envelope) => Err(PromError::Api {
                url: url.to_string(),
                error_type: envelope.error_type.unwrap_or_default(),
                error: envelope.error.unwrap_or_default(),
            }),
            Err(_) if !status.is_success() => Err(PromError::Http {
                url: url.to_string(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
            }),
            Err(e) => Err(PromError::Decode {
                url: url.to_string(),
                message: e.to_string(),
            }),
        }
    }
}

/// Why no HTTP client could be made for an API.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the CA file is not a PEM certificate: {0}")]
    NotPem(#[source] reqwest::Error),
    #[error("cannot build an HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

/// The HTTP client both API clients use: bounded timeouts, the CA to
/// trust or (on request) none checked.
pub(crate) fn http_client(access: &Access) -> Result<reqwest::Client, ClientError> {
    // A query firedrill sends answers in well under a second on a healthy
    // Prometheus (or Alertmanager); ten seconds means it is not healthy.
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(3));
    if let Some(pem) = &access.ca_pem {
        let certificate = reqwest::Certificate::from_pem(pem).map_err(ClientError::NotPem)?;
        builder = builder.add_root_certificate(certificate);
    }
    if access.insecure_skip_verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder.build().map_err(ClientError::Build)
}

/// The `Authorization` header for credentials, marked sensitive so no
/// layer prints it.
pub(crate) fn authorize(
    request: reqwest::RequestBuilder,
    authorization: Option<&Secret>,
) -> reqwest::RequestBuilder {
    match authorization.map(|s| reqwest::header::HeaderValue::from_str(s.expose())) {
        Some(Ok(mut value)) => {
            value.set_sensitive(true);
            request.header(reqwest::header::AUTHORIZATION, value)
        }
        _ => request,
    }
}

fn unreachable(url: &str, error: reqwest::Error) -> PromError {
    let url = url.to_string();
    if is_certificate_error(&error) {
        return PromError::Tls { url, source: error };
    }
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    PromError::Unreachable {
        url,
        kind,
        source: error,
    }
}

/// rustls says so in the error's chain (reqwest has no kind for it).
pub(crate) fn is_certificate_error(error: &reqwest::Error) -> bool {
    let chain = error_chain(error);
    chain.contains("certificate") || chain.contains("InvalidCertificate")
}

/// reqwest's top-level message is generic; the cause says what happened.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
