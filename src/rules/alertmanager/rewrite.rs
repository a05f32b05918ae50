//! The configuration the embedded Alertmanager runs: the user's, with the
//! same routing tree, inhibition rules, timings and receiver names, and
//! every integration (Slack, PagerDuty, email, webhook, …) replaced by a
//! webhook to firedrill's in-process receiver — so nothing leaves the
//! machine, and what is tested is the user's routing. Each integration
//! becomes its own webhook (`/notify/<kind>/<n>`), keeping its
//! `send_resolved`, so a receiver that pages on PagerDuty and posts to
//! Slack is still called twice, and resolved notifications go where they
//! would. A receiver with no integrations keeps none.
//!
//! With a time scale, `group_wait`, `group_interval` and `repeat_interval`
//! (made explicit at the root first, so the defaults are scaled too) and
//! `global.resolve_timeout` are divided by it. Fields firedrill does not
//! know are kept as written; `templates` are dropped (they only shape the
//! messages of the integrations that are replaced).

use std::path::Path;
use std::time::Duration;

use serde_norway::{Mapping, Value};

use super::{
    config_text, parse, ConfigError, RulesError, DEFAULT_GROUP_INTERVAL, DEFAULT_GROUP_WAIT,
    DEFAULT_REPEAT_INTERVAL, DEFAULT_RESOLVE_TIMEOUT, INTEGRATIONS,
};
use crate::rules::scale_duration;

/// `webhook_base`: e.g. `http://127.0.0.1:40123` (no trailing slash).
pub fn drill_config(
    text: &str,
    origin: &Path,
    webhook_base: &str,
    time_scale: f64,
) -> Result<String, RulesError> {
    // Validates it first, so a broken file is named as the user wrote it.
    parse(text, origin)?;
    let (text, origin) =
        config_text(text, origin)?.expect("parse found a configuration in this text");
    let mut value: Value =
        serde_norway::from_str(&text).map_err(|e| RulesError::yaml(&origin, e, "not YAML"))?;
    let error = |e: ConfigError| e.in_file(&origin);
    let root = value
        .as_mapping_mut()
        .ok_or_else(|| error(ConfigError::NotAMapping))?;
    root.remove("templates");

    let global = root
        .entry(Value::from("global"))
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if let Some(global) = global.as_mapping_mut() {
        scale_key(
            global,
            "resolve_timeout",
            DEFAULT_RESOLVE_TIMEOUT,
            time_scale,
        )
        .map_err(error)?;
    }

    if let Some(route) = root.get_mut("route").and_then(Value::as_mapping_mut) {
        for (key, default) in [
            ("group_wait", DEFAULT_GROUP_WAIT),
            ("group_interval", DEFAULT_GROUP_INTERVAL),
            ("repeat_interval", DEFAULT_REPEAT_INTERVAL),
        ] {
            if !route.contains_key(key) {
                route.insert(Value::from(key), Value::from(render(default)));
            }
        }
        scale_route(route, time_scale).map_err(error)?;
    }

    if let Some(receivers) = root.get_mut("receivers").and_then(Value::as_sequence_mut) {
        for receiver in receivers.iter_mut().filter_map(Value::as_mapping_mut) {
            replace_integrations(receiver, webhook_base);
        }
    }
    serde_norway::to_string(&value).map_err(|e| error(ConfigError::Write(e)))
}

fn render(d: Duration) -> String {
    promql_parser::util::display_duration(&d)
}

/// Divides a duration-valued key by `factor` (writing `default`, scaled,
/// when the key is absent and a default is given).
fn scale_key(
    map: &mut Mapping,
    key: &str,
    default: Duration,
    factor: f64,
) -> Result<(), ConfigError> {
    let current = match map.get(key) {
        Some(value) => {
            let text = value.as_str().ok_or_else(|| ConfigError::NotADuration {
                key: key.to_string(),
            })?;
            promql_parser::util::parse_duration(text).map_err(|message| ConfigError::Duration {
                key: key.to_string(),
                text: text.to_string(),
                message,
            })?
        }
        None => default,
    };
    map.insert(
        Value::from(key),
        Value::from(render(scale_duration(current, factor))),
    );
    Ok(())
}

fn scale_route(route: &mut Mapping, factor: f64) -> Result<(), ConfigError> {
    for key in ["group_wait", "group_interval", "repeat_interval"] {
        if route.contains_key(key) {
            scale_key(route, key, Duration::ZERO, factor)?;
        }
    }
    if let Some(children) = route.get_mut("routes").and_then(Value::as_sequence_mut) {
        for child in children.iter_mut().filter_map(Value::as_mapping_mut) {
            scale_route(child, factor)?;
        }
    }
    Ok(())
}

fn replace_integrations(receiver: &mut Mapping, webhook_base: &str) {
    let mut webhooks = Vec::new();
    let keys: Vec<String> = receiver
        .keys()
        .filter_map(Value::as_str)
        .filter(|k| k.ends_with("_configs"))
        .map(str::to_string)
        .collect();
    for key in keys {
        let kind = key.trim_end_matches("_configs").to_string();
        let default = INTEGRATIONS
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, d)| *d)
            .unwrap_or(false);
        let configs = receiver
            .remove(key.as_str())
            .and_then(|v| v.as_sequence().cloned())
            .unwrap_or_default();
        for (n, config) in configs.iter().enumerate() {
            let send_resolved = config
                .get("send_resolved")
                .and_then(Value::as_bool)
                .unwrap_or(default);
            let mut webhook = Mapping::new();
            webhook.insert(
                Value::from("url"),
                Value::from(format!("{webhook_base}/notify/{kind}/{n}")),
            );
            webhook.insert(Value::from("send_resolved"), Value::from(send_resolved));
            // Its own (empty) HTTP settings: a global proxy or credentials
            // must not apply to a loopback call.
            let mut http = Mapping::new();
            http.insert(Value::from("follow_redirects"), Value::from(false));
            webhook.insert(Value::from("http_config"), Value::Mapping(http));
            webhooks.push(Value::Mapping(webhook));
        }
    }
    if !webhooks.is_empty() {
        receiver.insert(Value::from("webhook_configs"), Value::Sequence(webhooks));
    }
}
