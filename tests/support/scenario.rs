//! Scenario files for the tests, built where the test can be read:
//!
//! ```ignore
//! Scenario::new("outage")
//!     .target_url(&demo.gateway)
//!     .prometheus_url(&prometheus.url())
//!     .phase(Phase::new("healthy").duration("12s").rate("20/s").request(PREDICT))
//!     .check("{ alert: GatewayHighErrorRate, silent_during: healthy }")
//!     .write(&dir.path().join("outage.yaml"))
//! ```
//!
//! The top level and a phase's own fields get a method each (they are what
//! a test varies). A phase's `request` and `fault`, a check, and the
//! target's or Prometheus's `auth`/`tls`/`kubernetes` are nested mappings:
//! they are passed as YAML flow text, which reads as the scenario file
//! would — a method per nested field would be a YAML library and hide the
//! file. Values are written as given (durations, rates and numbers plain, so
//! YAML types them as the file would); the builder only quotes a name or URL
//! that would not stay a plain string.
//!
//! The layout is fixed, one line per item, in this order: `name`,
//! `time_scale`, the `target` block (`base_url` first, then the other
//! fields in the order given), the `prometheus` block, the `alertmanager`
//! block, `phases`, `checks`.
//! Tests that assert a validation error's line:column rely on it.

use std::path::Path;

/// The demo gateway's prediction request, as the shipped scenarios send it.
pub const PREDICT: &str = "{ method: POST, path: /predict, json: { request: { text: hi } } }";

/// An `http` fault on the demo gateway's admin API at `admin`: PUT
/// `{ <faults> }` to `/faults` to start, DELETE `/faults` to restore.
pub fn demo_http_fault(admin: &str, faults: &str) -> String {
    format!(
        "{{ http: {{ start: {{ method: PUT, url: {admin}/faults, json: {{ {faults} }} }}, \
         restore: {{ method: DELETE, url: {admin}/faults }} }} }}"
    )
}

#[derive(Clone, Debug)]
pub struct Scenario {
    name: String,
    time_scale: Option<String>,
    target: Vec<(String, String)>,
    prometheus: Vec<(String, String)>,
    alertmanager: Vec<(String, String)>,
    phases: Vec<Phase>,
    checks: Vec<String>,
}

impl Scenario {
    pub fn new(name: &str) -> Self {
        Scenario {
            name: name.to_string(),
            time_scale: None,
            target: Vec::new(),
            prometheus: Vec::new(),
            alertmanager: Vec::new(),
            phases: Vec::new(),
            checks: Vec::new(),
        }
    }

    pub fn time_scale(mut self, scale: u32) -> Self {
        self.time_scale = Some(scale.to_string());
        self
    }

    /// `target.base_url`.
    pub fn target_url(mut self, url: &str) -> Self {
        self.target.insert(0, ("base_url".into(), scalar(url)));
        self
    }

    /// Another field of `target` (`auth`, `tls`, `kubernetes`), as YAML.
    pub fn target(mut self, field: &str, yaml: impl Into<String>) -> Self {
        self.target.push((field.into(), yaml.into()));
        self
    }

    /// `prometheus.url`.
    pub fn prometheus_url(mut self, url: &str) -> Self {
        self.prometheus.insert(0, ("url".into(), scalar(url)));
        self
    }

    /// Another field of `prometheus` (`auth`, `tls`, `kubernetes`), as YAML.
    pub fn prometheus(mut self, field: &str, yaml: impl Into<String>) -> Self {
        self.prometheus.push((field.into(), yaml.into()));
        self
    }

    /// A field of `alertmanager` (`config`, `url`, `embedded`), as YAML.
    pub fn alertmanager(mut self, field: &str, yaml: impl Into<String>) -> Self {
        self.alertmanager.push((field.into(), yaml.into()));
        self
    }

    pub fn phase(mut self, phase: Phase) -> Self {
        self.phases.push(phase);
        self
    }

    /// A check, as a YAML flow mapping: `{ alert: A, silent_during: a }`.
    pub fn check(mut self, yaml: impl Into<String>) -> Self {
        self.checks.push(yaml.into());
        self
    }

    pub fn yaml(&self) -> String {
        let mut text = format!("name: {}\n", scalar(&self.name));
        if let Some(scale) = &self.time_scale {
            text.push_str(&format!("time_scale: {scale}\n"));
        }
        for (key, fields) in [
            ("target", &self.target),
            ("prometheus", &self.prometheus),
            ("alertmanager", &self.alertmanager),
        ] {
            if !fields.is_empty() {
                text.push_str(&format!("{key}:\n"));
                for (field, value) in fields {
                    text.push_str(&format!("  {field}: {value}\n"));
                }
            }
        }
        text.push_str("phases:\n");
        for phase in &self.phases {
            text.push_str(&format!("  - {}\n", phase.yaml()));
        }
        if !self.checks.is_empty() {
            text.push_str("checks:\n");
            for check in &self.checks {
                text.push_str(&format!("  - {check}\n"));
            }
        }
        text
    }

    /// Writes the scenario to `path` (in the test's temporary directory)
    /// and returns the path, for the command line.
    pub fn write(&self, path: &Path) -> String {
        std::fs::write(path, self.yaml()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path.to_str().expect("utf-8 temp path").to_string()
    }
}

/// One phase, written as a flow mapping on one line, fields in the order
/// given (`name` first).
#[derive(Clone, Debug)]
pub struct Phase {
    fields: Vec<(&'static str, String)>,
}

impl Phase {
    pub fn new(name: &str) -> Self {
        Phase {
            fields: vec![("name", scalar(name))],
        }
    }

    fn field(mut self, key: &'static str, value: impl ToString) -> Self {
        self.fields.push((key, value.to_string()));
        self
    }

    pub fn duration(self, duration: &str) -> Self {
        self.field("duration", duration)
    }

    pub fn rate(self, rate: &str) -> Self {
        self.field("rate", rate)
    }

    pub fn requests(self, requests: u64) -> Self {
        self.field("requests", requests)
    }

    pub fn concurrency(self, concurrency: u64) -> Self {
        self.field("concurrency", concurrency)
    }

    pub fn pause(self, pause: &str) -> Self {
        self.field("pause", pause)
    }

    pub fn timeout(self, timeout: &str) -> Self {
        self.field("timeout", timeout)
    }

    /// The request, as a YAML flow mapping: `{ path: / }`.
    pub fn request(self, yaml: &str) -> Self {
        self.field("request", yaml)
    }

    /// The fault, as a YAML flow mapping: `{ gateway_down: true }`.
    pub fn fault(self, yaml: &str) -> Self {
        self.field("fault", yaml)
    }

    fn yaml(&self) -> String {
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|(key, value)| format!("{key}: {value}"))
            .collect();
        format!("{{ {} }}", fields.join(", "))
    }
}

/// `text` as a YAML string: plain when it stays one in block and flow
/// context (names, loopback URLs, temporary paths), quoted otherwise.
fn scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && text.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '/')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c))
        && !text.ends_with(':')
        && !matches!(
            text,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        )
        && text.parse::<f64>().is_err();
    if plain {
        text.to_string()
    } else {
        serde_json::to_string(text).expect("a string serialises")
    }
}
