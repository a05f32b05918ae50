//! A client for Alertmanager's API v2 (and its /metrics): the alerts it
//! holds (their state, silences, inhibitions and receivers), its silences,
//! its status (the loaded configuration, as text) and how many
//! notifications each integration sent or failed to send.
//!
//! Read-only, but for `create_silence` (the tests' and a person's tool).
//! Errors are typed as for Prometheus: "cannot be reached" (a check
//! becomes inconclusive) apart from "answered something else". Answers are
//! read up to a size limit. Reference:
//! https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{authorize, error_chain, http_client, is_certificate_error, Access, ClientError};
use crate::record::Labels;
use crate::secret::{Credentials, Secret};

/// Alertmanager's answers are small; a bigger one is refused, not buffered.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum AlertmanagerError {
    #[error("Alertmanager at {url} cannot be reached: {}", error_chain(.source))]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// No HTTP client could be made for it (its CA file is not PEM).
    #[error("Alertmanager at {url} cannot be reached: {source}")]
    Client {
        url: String,
        #[source]
        source: ClientError,
    },
    #[error("Alertmanager at {url}: TLS failed: {} (trust its CA with `alertmanager.tls.ca_file`, or, knowingly, `insecure_skip_verify: true`)", error_chain(.source))]
    Tls {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("Alertmanager at {url} answered HTTP {status}: {body}")]
    Http {
        url: String,
        status: u16,
        body: String,
    },
    #[error("Alertmanager at {url} sent an answer firedrill cannot read: {message}")]
    Decode { url: String, message: String },
    #[error("Alertmanager at {url} did not become ready within {waited:?}: {last}")]
    NotReady {
        url: String,
        waited: Duration,
        last: String,
    },
}

impl AlertmanagerError {
    /// It could not be asked (the verdict is inconclusive), as opposed to
    /// an answer that says something is wrong.
    pub fn is_unavailable(&self) -> bool {
        match self {
            AlertmanagerError::Unreachable { .. }
            | AlertmanagerError::Client { .. }
            | AlertmanagerError::Tls { .. }
            | AlertmanagerError::NotReady { .. } => true,
            AlertmanagerError::Http { status, .. } => *status >= 500 || *status == 429,
            AlertmanagerError::Decode { .. } => false,
        }
    }
}

/// An alert as `/api/v2/alerts` has it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AmAlert {
    pub labels: Labels,
    #[serde(default)]
    pub fingerprint: String,
    #[serde(rename = "startsAt", default)]
    pub starts_at: String,
    #[serde(rename = "updatedAt", default)]
    pub updated_at: String,
    #[serde(rename = "endsAt", default)]
    pub ends_at: String,
    #[serde(default)]
    pub receivers: Vec<AmReceiver>,
    pub status: AmAlertStatus,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AmReceiver {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AmAlertStatus {
    /// `active`, `suppressed` or `unprocessed`.
    pub state: String,
    #[serde(rename = "silencedBy", default)]
    pub silenced_by: Vec<String>,
    #[serde(rename = "inhibitedBy", default)]
    pub inhibited_by: Vec<String>,
}

/// A silence as `/api/v2/silences` has it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AmSilence {
    pub id: String,
    pub matchers: Vec<AmMatcher>,
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    #[serde(rename = "createdBy", default)]
    pub created_by: String,
    #[serde(default)]
    pub comment: String,
    pub status: AmSilenceStatus,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AmSilenceStatus {
    /// `active`, `pending` or `expired`.
    pub state: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AmMatcher {
    pub name: String,
    pub value: String,
    #[serde(rename = "isRegex", default)]
    pub is_regex: bool,
    /// Absent in Alertmanager < 0.22: equality.
    #[serde(rename = "isEqual", default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl AmMatcher {
    /// `name="value"`, `name!~"re"`, … as Alertmanager writes it.
    pub fn text(&self) -> String {
        let op = match (self.is_equal, self.is_regex) {
            (true, false) => "=",
            (false, false) => "!=",
            (true, true) => "=~",
            (false, true) => "!~",
        };
        format!(
            "{}{op}{}",
            self.name,
            serde_json::to_string(&self.value).unwrap_or_default()
        )
    }
}

/// `/api/v2/status`: the loaded configuration and the version.
#[derive(Debug, Clone)]
pub struct AmStatus {
    pub config_text: String,
    pub version: String,
}

#[derive(Deserialize)]
struct RawStatus {
    config: RawConfig,
    #[serde(rename = "versionInfo", default)]
    version_info: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawConfig {
    original: String,
}

/// Notifications sent and failed, by integration, from Alertmanager's
/// own counters (`alertmanager_notifications_total`,
/// `alertmanager_notifications_failed_total`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotificationCounters {
    pub sent: BTreeMap<String, f64>,
    pub failed: BTreeMap<String, f64>,
}

#[derive(Clone)]
pub struct AlertmanagerClient {
    base: String,
    http: reqwest::Client,
    authorization: Option<Secret>,
}

impl AlertmanagerClient {
    pub fn new(base_url: &str) -> Result<Self, AlertmanagerError> {
        Self::with_access(base_url, Access::default())
    }

    pub fn with_access(base_url: &str, access: Access) -> Result<Self, AlertmanagerError> {
        let http = http_client(&access).map_err(|source| AlertmanagerError::Client {
            url: base_url.to_string(),
            source,
        })?;
        Ok(AlertmanagerClient {
            base: base_url.trim_end_matches('/').to_string(),
            http,
            authorization: access.credentials.as_ref().map(Credentials::authorization),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// GET /-/ready.
    pub async fn ready(&self) -> Result<bool, AlertmanagerError> {
        let url = format!("{}/-/ready", self.base);
        let response = authorize(self.http.get(&url), self.authorization.as_ref())
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .map_err(|e| unreachable(&url, e))?;
        let status = response.status().as_u16();
        if status == 401 || status == 403 {
            return Err(AlertmanagerError::Http {
                url,
                status,
                body: "Alertmanager refused the credentials (see `alertmanager.auth`)".into(),
            });
        }
        Ok(response.status().is_success())
    }

    /// Polls /-/ready until it answers 200 or `timeout` passes.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), AlertmanagerError> {
        let started = Instant::now();
        loop {
            let last = match self.ready().await {
                Ok(true) => return Ok(()),
                Ok(false) => "answered, but not ready".to_string(),
                Err(e @ (AlertmanagerError::Tls { .. } | AlertmanagerError::Http { .. })) => {
                    return Err(e)
                }
                Err(e) => e.to_string(),
            };
            if started.elapsed() >= timeout {
                return Err(AlertmanagerError::NotReady {
                    url: self.base.clone(),
                    waited: timeout,
                    last,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn status(&self) -> Result<AmStatus, AlertmanagerError> {
        let raw: RawStatus = self.get_json("/api/v2/status").await?;
        Ok(AmStatus {
            config_text: raw.config.original,
            version: raw
                .version_info
                .get("version")
                .cloned()
                .unwrap_or_else(|| "unknown".into()),
        })
    }

    /// Every alert it holds that has not resolved (active, silenced,
    /// inhibited, unprocessed).
    pub async fn alerts(&self) -> Result<Vec<AmAlert>, AlertmanagerError> {
        self.get_json("/api/v2/alerts").await
    }

    pub async fn silences(&self) -> Result<Vec<AmSilence>, AlertmanagerError> {
        self.get_json("/api/v2/silences").await
    }

    /// Creates a silence; returns its id.
    pub async fn create_silence(
        &self,
        matchers: &[AmMatcher],
        ends_in: Duration,
        created_by: &str,
        comment: &str,
    ) -> Result<String, AlertmanagerError> {
        let now = crate::time::local_now();
        let body = serde_json::json!({
            "matchers": matchers,
            "startsAt": crate::time::rfc3339(now - 1.0),
            "endsAt": crate::time::rfc3339(now + ends_in.as_secs_f64()),
            "createdBy": created_by,
            "comment": comment,
        });
        let url = format!("{}/api/v2/silences", self.base);
        let request = authorize(
            self.http.post(&url).json(&body),
            self.authorization.as_ref(),
        );
        #[derive(Deserialize)]
        struct Created {
            #[serde(rename = "silenceID")]
            silence_id: String,
        }
        let created: Created = self.send(&url, request).await?;
        Ok(created.silence_id)
    }

    /// Its notification counters, read from /metrics.
    pub async fn counters(&self) -> Result<NotificationCounters, AlertmanagerError> {
        let url = format!("{}/metrics", self.base);
        let request = authorize(self.http.get(&url), self.authorization.as_ref());
        let text = self.read(&url, request).await?;
        Ok(parse_counters(&String::from_utf8_lossy(&text)))
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, AlertmanagerError> {
        let url = format!("{}{}", self.base, path);
        let request = authorize(self.http.get(&url), self.authorization.as_ref());
        self.send(&url, request).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, AlertmanagerError> {
        let body = self.read(url, request).await?;
        serde_json::from_slice(&body).map_err(|e| AlertmanagerError::Decode {
            url: url.to_string(),
            message: e.to_string(),
        })
    }

    async fn read(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Vec<u8>, AlertmanagerError> {
        let mut response = request.send().await.map_err(|e| unreachable(url, e))?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(url, e))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(AlertmanagerError::Decode {
                    url: url.to_string(),
                    message: format!("more than {MAX_RESPONSE_BYTES} bytes"),
                });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(AlertmanagerError::Http {
                url: url.to_string(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
            });
        }
        Ok(body)
    }
}

fn unreachable(url: &str, error: reqwest::Error) -> AlertmanagerError {
    let url = url.to_string();
    if is_certificate_error(&error) {
        AlertmanagerError::Tls { url, source: error }
    } else {
        AlertmanagerError::Unreachable { url, source: error }
    }
}

/// The two counters by `integration`, from Prometheus's text format.
pub fn parse_counters(text: &str) -> NotificationCounters {
    let mut counters = NotificationCounters::default();
    for line in text.lines() {
        let (target, rest) = if let Some(rest) =
            line.strip_prefix("alertmanager_notifications_total{")
        {
            (&mut counters.sent, rest)
        } else if let Some(rest) = line.strip_prefix("alertmanager_notifications_failed_total{") {
            (&mut counters.failed, rest)
        } else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once('}') else {
            continue;
        };
        let integration = labels
            .split(',')
            .find_map(|pair| pair.trim().strip_prefix("integration="))
            .map(|v| v.trim_matches('"').to_string());
        if let (Some(integration), Ok(value)) = (integration, value.trim().parse::<f64>()) {
            *target.entry(integration).or_default() += value;
        }
    }
    counters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_summed_by_integration() {
        let text = "# HELP x\nalertmanager_notifications_total{integration=\"webhook\"} 3\n\
            alertmanager_notifications_total{integration=\"webhook\",receiver_name=\"chat\"} 2\n\
            alertmanager_notifications_failed_total{integration=\"webhook\",reason=\"other\"} 1\n\
            alertmanager_notifications_total{integration=\"email\"} 0\n";
        let counters = parse_counters(text);
        assert_eq!(counters.sent["webhook"], 5.0);
        assert_eq!(counters.sent["email"], 0.0);
        assert_eq!(counters.failed["webhook"], 1.0);
    }

    #[test]
    fn matchers_are_written_as_alertmanager_writes_them() {
        let m = |is_equal, is_regex| AmMatcher {
            name: "alertname".into(),
            value: "A".into(),
            is_regex,
            is_equal,
        };
        assert_eq!(m(true, false).text(), "alertname=\"A\"");
        assert_eq!(m(false, true).text(), "alertname!~\"A\"");
    }
}
