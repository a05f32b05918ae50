//! A fault made by one HTTP call and undone by another (e.g. a chaos
//! tool's API, or the demo gateway's admin port), for any target.
//!
//! ```yaml
//! fault:
//!   http:
//!     start: { method: PUT, url: http://127.0.0.1:9100/faults, json: { backend_error_ratio: 0.5 } }
//!     restore: { method: PUT, url: http://127.0.0.1:9100/faults, json: {} }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::keys::fault_keys;
use super::{Capabilities, Fault, Setting, Stage, Undo};
use crate::spec::{body_text, FieldPath, Validator, CREDENTIAL_HEADERS};

/// One call starts the fault, another restores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpFault {
    pub start: HttpCall,
    pub restore: HttpCall,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpCall {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    #[serde(with = "body_text")]
    pub body: Vec<u8>,
}

fault_keys! {
    /// `http: { start, restore }`.
    pub struct Spec {
        http: HttpFaultSpec,
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpFaultSpec {
    pub start: HttpCallSpec,
    pub restore: HttpCallSpec,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpCallSpec {
    #[serde(default)]
    pub method: Option<String>,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub json: Option<serde_json::Value>,
    #[serde(default)]
    pub body: Option<String>,
}

impl Fault for HttpFault {
    const WRITTEN: &'static str = "`http`";
    type Spec = Spec;

    fn validate(spec: &Spec, path: &FieldPath, _: &Setting, v: &mut Validator) -> Option<Self> {
        let http = spec.http.as_ref()?;
        let start = validate_call(v, &http.start, &path.key("http").key("start"));
        let restore = validate_call(v, &http.restore, &path.key("http").key("restore"));
        Some(HttpFault {
            start: start?,
            restore: restore?,
        })
    }

    fn describe(&self) -> String {
        format!("http {} {}", self.start.method, self.start.url)
    }

    async fn inject<C: Capabilities>(
        &self,
        can: &C,
        undo: &mut Option<Undo>,
    ) -> Result<(), C::Error> {
        *undo = Some(Undo::Call(self.restore.clone()));
        can.call_http(&self.start, Stage::Start).await
    }
}

fn validate_call(v: &mut Validator, spec: &HttpCallSpec, path: &FieldPath) -> Option<HttpCall> {
    let before = v.count();
    let rest = spec
        .url
        .strip_prefix("http://")
        .or_else(|| spec.url.strip_prefix("https://"));
    if rest.is_none_or(|r| r.is_empty() || r.starts_with('/') || r.contains('@')) {
        v.problem(
            path.key("url"),
            format!(
                "`{}` must be a full http(s) URL without credentials in it",
                spec.url
            ),
        );
    }
    let has_body = spec.json.is_some() || spec.body.is_some();
    let method = spec
        .method
        .clone()
        .unwrap_or_else(|| if has_body { "POST" } else { "GET" }.to_string());
    if method.is_empty() || !method.chars().all(|c| c.is_ascii_uppercase()) {
        v.problem(
            path.key("method"),
            format!("method `{method}` must be an upper-case HTTP method like PUT or DELETE"),
        );
    }
    let mut headers: Vec<(String, String)> = spec
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    for (name, _) in &headers {
        if CREDENTIAL_HEADERS.contains(&name.as_str()) {
            v.problem(
                path.key("headers").key(name),
                format!("`{name}` carries credentials, which would be copied into every report"),
            );
        }
    }
    let body = match (&spec.json, &spec.body) {
        (Some(_), Some(_)) => {
            v.problem(path.clone(), "choose one: `json` or `body`");
            Vec::new()
        }
        (Some(json), None) => {
            headers.push(("content-type".into(), "application/json".into()));
            serde_json::to_vec(json).unwrap_or_default()
        }
        (None, Some(body)) => body.clone().into_bytes(),
        (None, None) => Vec::new(),
    };
    (v.count() == before).then(|| HttpCall {
        method,
        url: spec.url.clone(),
        headers,
        body,
    })
}
