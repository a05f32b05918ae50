//! Reading an Alertmanager configuration: the routing tree (`matchers`,
//! `match`, `match_re`, `continue`, `group_by`, the timings, each inherited
//! from the parent route as Alertmanager does), the inhibition rules, the
//! receivers and their integrations (with each integration's `send_resolved`,
//! defaulted per integration type as Alertmanager 0.25 defaults it). A
//! configuration may be a plain `alertmanager.yml`, a ConfigMap holding one,
//! or the text `/api/v2/status` reports.
//!
//! Also: which route a label set takes (`routing`), which inhibition rule
//! mutes which alert, and the configuration firedrill's embedded
//! Alertmanager runs (`rewrite`: the same routes, inhibitions, timings and
//! receiver names, every integration a webhook to firedrill's receiver).
//!
//! Pure: text in, values out. Knows nothing of Alertmanager's API.

mod matchers;
mod rewrite;
mod routing;
mod time_intervals;

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_norway::Value;

pub use matchers::{all_match, describe, parse_matchers, MatchOp, Matcher, MatcherError};
pub use rewrite::drill_config;
pub use routing::{Inhibition, RouteMatch};
pub use time_intervals::{Muting, TimeInterval, TimeSpec};

use super::RulesError;

/// What is wrong with an Alertmanager configuration (its file is named by
/// `RulesError::Alertmanager`).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no `route:`")]
    NoRoute,
    #[error("route: the root route needs a `receiver`")]
    NoRootReceiver,
    #[error("{path}: receiver `{receiver}` is not defined (receivers: {known})")]
    UnknownReceiver {
        path: String,
        receiver: String,
        known: String,
    },
    #[error("receivers[{index}]: a receiver needs a `name`")]
    UnnamedReceiver { index: usize },
    #[error("receivers[{index}]: not a mapping")]
    ReceiverNotAMapping { index: usize },
    #[error("not a mapping")]
    NotAMapping,
    #[error("{key}: not a duration")]
    NotADuration { key: String },
    #[error("{key}: `{text}`: {message}")]
    Duration {
        key: String,
        text: String,
        /// promql-parser's words.
        message: String,
    },
    #[error("{key}.{name}: not a string")]
    NotAString { key: String, name: String },
    #[error("{key}: {source}")]
    Matcher {
        key: String,
        #[source]
        source: MatcherError,
    },
    /// Inside a route or an inhibition rule (`route.routes[1]`).
    #[error("{path}: {source}")]
    At {
        path: String,
        #[source]
        source: Box<ConfigError>,
    },
    /// The configuration cannot be written back as YAML.
    #[error("{0}")]
    Write(#[source] serde_norway::Error),
}

impl ConfigError {
    fn at(path: &str, source: ConfigError) -> ConfigError {
        ConfigError::At {
            path: path.to_string(),
            source: Box::new(source),
        }
    }

    /// With the file it is in.
    fn in_file(self, origin: &str) -> RulesError {
        RulesError::Alertmanager {
            origin: origin.to_string(),
            source: self,
        }
    }
}

/// Alertmanager's defaults (config/config.go): a route that sets none of
/// them inherits these through the root.
pub const DEFAULT_GROUP_WAIT: Duration = Duration::from_secs(30);
pub const DEFAULT_GROUP_INTERVAL: Duration = Duration::from_secs(5 * 60);
pub const DEFAULT_REPEAT_INTERVAL: Duration = Duration::from_secs(4 * 3600);
pub const DEFAULT_RESOLVE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The integrations Alertmanager 0.25 knows (`<kind>_configs`), and whether
/// each sends resolved notifications when `send_resolved` is not written
/// (config/notifiers.go: off for email, Slack and WeChat, on for the rest).
pub const INTEGRATIONS: &[(&str, bool)] = &[
    ("webhook", true),
    ("email", false),
    ("pagerduty", true),
    ("slack", false),
    ("opsgenie", true),
    ("wechat", false),
    ("pushover", true),
    ("victorops", true),
    ("sns", true),
    ("telegram", true),
    ("discord", true),
    ("webex", true),
    ("msteams", true),
];

#[derive(Debug, Clone)]
pub struct AlertmanagerConfig {
    /// Where it was read (`path`, `path#ConfigMap/name/key`).
    pub origin: String,
    pub resolve_timeout: Duration,
    pub route: Route,
    pub inhibit_rules: Vec<InhibitRule>,
    pub receivers: Vec<Receiver>,
    /// `time_intervals` and `mute_time_intervals`, by name.
    pub time_intervals: Vec<TimeInterval>,
}

/// How a route groups alerts.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupBy {
    /// These labels' values make the group.
    Labels(Vec<String>),
    /// `group_by: ['...']`: every label (one group per alert).
    All,
}

/// A node of the routing tree, with everything it inherits filled in.
#[derive(Debug, Clone)]
pub struct Route {
    /// `route`, `route.routes[1]`, `route.routes[1].routes[0]`.
    pub path: String,
    pub receiver: String,
    /// `match`, `match_re` and `matchers` together.
    pub matchers: Vec<Matcher>,
    pub continue_matching: bool,
    pub group_by: GroupBy,
    pub group_wait: Duration,
    pub group_interval: Duration,
    pub repeat_interval: Duration,
    /// Names of time intervals that mute it or outside which it is muted.
    pub mute_time_intervals: Vec<String>,
    pub active_time_intervals: Vec<String>,
    pub routes: Vec<Route>,
}

impl Route {
    /// `route.routes[1] {severity="warning"}`, for messages.
    pub fn describe(&self) -> String {
        if self.matchers.is_empty() {
            self.path.clone()
        } else {
            format!("{} {}", self.path, describe(&self.matchers))
        }
    }
}

#[derive(Debug, Clone)]
pub struct InhibitRule {
    /// `inhibit_rules[0]`.
    pub path: String,
    pub source: Vec<Matcher>,
    pub target: Vec<Matcher>,
    pub equal: Vec<String>,
}

impl InhibitRule {
    pub fn describe(&self) -> String {
        format!(
            "{}: source {} mutes target {}{}",
            self.path,
            describe(&self.source),
            describe(&self.target),
            if self.equal.is_empty() {
                String::new()
            } else {
                format!(" when equal on {}", self.equal.join(", "))
            }
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Receiver {
    pub name: String,
    pub integrations: Vec<Integration>,
}

impl Receiver {
    /// Whether any of its integrations sends resolved notifications.
    pub fn sends_resolved(&self) -> bool {
        self.integrations.iter().any(|i| i.send_resolved)
    }

    /// `slack, pagerduty` (or `no integrations`).
    pub fn integration_list(&self) -> String {
        if self.integrations.is_empty() {
            return "no integrations".into();
        }
        self.integrations
            .iter()
            .map(|i| i.kind.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    /// `slack`, `pagerduty`, `webhook`, …
    pub kind: String,
    pub send_resolved: bool,
}

impl AlertmanagerConfig {
    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|r| r.name == name)
    }

    pub fn receiver_names(&self) -> Vec<&str> {
        self.receivers.iter().map(|r| r.name.as_str()).collect()
    }

    /// What the route at `path` is muted by (its `mute_time_intervals` and
    /// `active_time_intervals`).
    pub fn muting(&self, path: &str) -> Muting {
        self.routes()
            .into_iter()
            .find(|r| r.path == path)
            .map_or(Muting::Never, |r| {
                time_intervals::muting(
                    &self.time_intervals,
                    &r.mute_time_intervals,
                    &r.active_time_intervals,
                )
            })
    }

    /// Every route of the tree, depth first (root first).
    pub fn routes(&self) -> Vec<&Route> {
        fn walk<'a>(route: &'a Route, into: &mut Vec<&'a Route>) {
            into.push(route);
            for child in &route.routes {
                walk(child, into);
            }
        }
        let mut all = Vec::new();
        walk(&self.route, &mut all);
        all
    }
}

/// The configuration's text in `text`: the document itself when it has
/// `route:` or `receivers:`, else the first ConfigMap (or Secret
/// `stringData`) value that does. Returns it with its origin.
pub fn config_text(text: &str, origin: &Path) -> Result<Option<(String, String)>, RulesError> {
    let origin_text = origin.display().to_string();
    for (index, document) in serde_norway::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(document).map_err(|e| {
            RulesError::yaml(
                &origin_text,
                e,
                &format!("document {} is not YAML", index + 1),
            )
        })?;
        if is_config(&value) {
            let text = if index == 0 && !text.trim_start().starts_with("---") {
                text.to_string()
            } else {
                serde_norway::to_string(&value)
                    .map_err(|e| ConfigError::Write(e).in_file(&origin_text))?
            };
            return Ok(Some((text, origin_text)));
        }
        let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind != "ConfigMap" && kind != "Secret" {
            continue;
        }
        let name = value
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        let data = value
            .get("data")
            .filter(|_| kind == "ConfigMap")
            .or_else(|| value.get("stringData"))
            .and_then(Value::as_mapping);
        for (key, embedded) in data.into_iter().flatten() {
            let (Some(key), Some(embedded)) = (key.as_str(), embedded.as_str()) else {
                continue;
            };
            if let Ok(inner) = serde_norway::from_str::<Value>(embedded) {
                if is_config(&inner) {
                    return Ok(Some((
                        embedded.to_string(),
                        format!("{origin_text}#{kind}/{name}/{key}"),
                    )));
                }
            }
        }
    }
    Ok(None)
}

fn is_config(value: &Value) -> bool {
    value.get("route").is_some() && value.get("receivers").is_some()
}

/// Reads an Alertmanager configuration (plain, or inside a ConfigMap).
pub fn parse(text: &str, origin: &Path) -> Result<AlertmanagerConfig, RulesError> {
    let Some((text, origin)) = config_text(text, origin)? else {
        return Err(RulesError::plain(
            &origin.display().to_string(),
            "no Alertmanager configuration found (expected `route:` and `receivers:`, or a ConfigMap holding them)".into(),
        ));
    };
    let value: Value =
        serde_norway::from_str(&text).map_err(|e| RulesError::yaml(&origin, e, "not YAML"))?;
    read_config(&value, &origin)
}

fn read_config(value: &Value, origin: &str) -> Result<AlertmanagerConfig, RulesError> {
    read_config_in(value, origin).map_err(|e| e.in_file(origin))
}

fn read_config_in(value: &Value, origin: &str) -> Result<AlertmanagerConfig, ConfigError> {
    let global = value.get("global");
    let resolve_timeout = match global.and_then(|g| g.get("resolve_timeout")) {
        Some(v) => duration(v, "global.resolve_timeout")?,
        None => DEFAULT_RESOLVE_TIMEOUT,
    };
    let root = value.get("route").ok_or(ConfigError::NoRoute)?;
    let defaults = Inherited {
        receiver: String::new(),
        group_by: GroupBy::Labels(Vec::new()),
        group_wait: DEFAULT_GROUP_WAIT,
        group_interval: DEFAULT_GROUP_INTERVAL,
        repeat_interval: DEFAULT_REPEAT_INTERVAL,
    };
    let route = read_route(root, "route", &defaults)?;
    if route.receiver.is_empty() {
        return Err(ConfigError::NoRootReceiver);
    }
    let mut receivers = Vec::new();
    for (i, receiver) in seq(value.get("receivers")).iter().enumerate() {
        receivers.push(read_receiver(receiver, i)?);
    }
    let mut inhibit_rules = Vec::new();
    for (i, rule) in seq(value.get("inhibit_rules")).iter().enumerate() {
        inhibit_rules.push(read_inhibit_rule(rule, i)?);
    }
    let config = AlertmanagerConfig {
        origin: origin.to_string(),
        resolve_timeout,
        route,
        inhibit_rules,
        receivers,
        time_intervals: time_intervals::read(value)?,
    };
    for route in config.routes() {
        if config.receiver(&route.receiver).is_none() {
            return Err(ConfigError::UnknownReceiver {
                path: route.path.clone(),
                receiver: route.receiver.clone(),
                known: config.receiver_names().join(", "),
            });
        }
    }
    Ok(config)
}

fn read_inhibit_rule(rule: &Value, index: usize) -> Result<InhibitRule, ConfigError> {
    let path = format!("inhibit_rules[{index}]");
    let side = |prefix: &str| {
        matchers_of(
            rule,
            &format!("{prefix}_match"),
            &format!("{prefix}_match_re"),
            &format!("{prefix}_matchers"),
        )
        .map_err(|e| ConfigError::at(&path, e))
    };
    Ok(InhibitRule {
        source: side("source")?,
        target: side("target")?,
        equal: strings(rule.get("equal")),
        path: path.clone(),
    })
}

/// What a child route takes from its parent unless it says otherwise.
struct Inherited {
    receiver: String,
    group_by: GroupBy,
    group_wait: Duration,
    group_interval: Duration,
    repeat_interval: Duration,
}

fn read_route(value: &Value, path: &str, parent: &Inherited) -> Result<Route, ConfigError> {
    let at = |e: ConfigError| ConfigError::at(path, e);
    let timing = |key: &str, inherited: Duration| match value.get(key) {
        Some(v) => duration(v, key).map_err(at),
        None => Ok(inherited),
    };
    let group_by = match value.get("group_by") {
        Some(v) => {
            let labels = strings(Some(v));
            if labels.iter().any(|l| l == "...") {
                GroupBy::All
            } else {
                GroupBy::Labels(labels)
            }
        }
        None => parent.group_by.clone(),
    };
    let mut route = Route {
        path: path.to_string(),
        receiver: value
            .get("receiver")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| parent.receiver.clone()),
        matchers: matchers_of(value, "match", "match_re", "matchers").map_err(at)?,
        continue_matching: value
            .get("continue")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        group_by,
        group_wait: timing("group_wait", parent.group_wait)?,
        group_interval: timing("group_interval", parent.group_interval)?,
        repeat_interval: timing("repeat_interval", parent.repeat_interval)?,
        mute_time_intervals: strings(value.get("mute_time_intervals")),
        active_time_intervals: strings(value.get("active_time_intervals")),
        routes: Vec::new(),
    };
    let inherited = Inherited {
        receiver: route.receiver.clone(),
        group_by: route.group_by.clone(),
        group_wait: route.group_wait,
        group_interval: route.group_interval,
        repeat_interval: route.repeat_interval,
    };
    for (i, child) in seq(value.get("routes")).iter().enumerate() {
        route.routes.push(read_route(
            child,
            &format!("{path}.routes[{i}]"),
            &inherited,
        )?);
    }
    Ok(route)
}

fn read_receiver(value: &Value, index: usize) -> Result<Receiver, ConfigError> {
    let name = value
        .get("name")
        .and_then(Value::as_str)
        .ok_or(ConfigError::UnnamedReceiver { index })?
        .to_string();
    let mut integrations = Vec::new();
    let Some(mapping) = value.as_mapping() else {
        return Err(ConfigError::ReceiverNotAMapping { index });
    };
    for (key, configs) in mapping {
        let Some(kind) = key.as_str().and_then(|k| k.strip_suffix("_configs")) else {
            continue;
        };
        let default = INTEGRATIONS
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, d)| *d)
            .unwrap_or(false);
        for config in seq(Some(configs)) {
            integrations.push(Integration {
                kind: kind.to_string(),
                send_resolved: config
                    .get("send_resolved")
                    .and_then(Value::as_bool)
                    .unwrap_or(default),
            });
        }
    }
    Ok(Receiver { name, integrations })
}

/// `match` (equality), `match_re` (regex) and `matchers` (text) together.
fn matchers_of(value: &Value, eq: &str, re: &str, list: &str) -> Result<Vec<Matcher>, ConfigError> {
    let in_key = |key: &str| {
        let key = key.to_string();
        move |source| ConfigError::Matcher { key, source }
    };
    let mut found = Vec::new();
    for (key, op) in [(eq, MatchOp::Equal), (re, MatchOp::Regex)] {
        if let Some(map) = value.get(key).and_then(Value::as_mapping) {
            for (name, v) in map {
                let name = name.as_str().unwrap_or_default();
                let v = scalar(v).ok_or_else(|| ConfigError::NotAString {
                    key: key.to_string(),
                    name: name.to_string(),
                })?;
                found.push(Matcher::new(name, op, &v).map_err(in_key(key))?);
            }
        }
    }
    for text in strings(value.get(list)) {
        found.extend(parse_matchers(&text).map_err(in_key(list))?);
    }
    Ok(found)
}

fn seq(value: Option<&Value>) -> Vec<Value> {
    value
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    seq(value).iter().filter_map(scalar).collect()
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A duration in Prometheus's syntax (`30s`, `1h30m`).
fn duration(value: &Value, key: &str) -> Result<Duration, ConfigError> {
    let text = scalar(value).ok_or_else(|| ConfigError::NotADuration {
        key: key.to_string(),
    })?;
    promql_parser::util::parse_duration(&text).map_err(|message| ConfigError::Duration {
        key: key.to_string(),
        text,
        message,
    })
}

#[cfg(test)]
mod tests;
