//! Reading alert rules where people keep them: plain Prometheus rule files,
//! Kubernetes ConfigMaps that embed rule files, and prometheus-operator
//! PrometheusRule resources, in single- or multi-document YAML. Documents of
//! other kinds (a Deployment next to the ConfigMap) are skipped.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::RulesError;

/// A rule group as written in a rule file. Fields are kept as text so a
/// group can be written back out unchanged except for what was scaled.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Group {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    pub rules: Vec<RuleDef>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct RuleDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(deserialize_with = "scalar_text")]
    pub expr: String,
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_firing_for: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// `expr: 1` is valid PromQL written as a YAML number.
fn scalar_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let value = serde_norway::Value::deserialize(d)?;
    match value {
        serde_norway::Value::String(s) => Ok(s),
        serde_norway::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expr must be PromQL text, got {other:?}"
        ))),
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct RuleFile {
    pub groups: Vec<Group>,
}

/// Rule groups read from one file, with where each came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedGroups {
    /// `path` or `path#ConfigMap/name/key`.
    pub origin: String,
    pub groups: Vec<Group>,
}

/// Reads every rule group in `text`. `origin` names the file in errors.
pub fn parse_rule_text(text: &str, origin: &Path) -> Result<Vec<LoadedGroups>, RulesError> {
    let origin_text = origin.display().to_string();
    let mut found = Vec::new();
    for (index, document) in serde_norway::Deserializer::from_str(text).enumerate() {
        let value = serde_norway::Value::deserialize(document).map_err(|e| {
            RulesError::yaml(
                &origin_text,
                e,
                &format!("document {} is not YAML", index + 1),
            )
        })?;
        if value.is_null() {
            continue;
        }
        let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        let name = value
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(|n| n.as_str())
            .unwrap_or("?");
        if value.get("groups").is_some() {
            let file: RuleFile = from_value(value, &origin_text)?;
            found.push(LoadedGroups {
                origin: origin_text.clone(),
                groups: file.groups,
            });
        } else if kind == "ConfigMap" {
            let Some(data) = value.get("data").and_then(|d| d.as_mapping()) else {
                continue;
            };
            for (key, embedded) in data {
                let (Some(key), Some(embedded)) = (key.as_str(), embedded.as_str()) else {
                    continue;
                };
                let inner_origin = format!("{origin_text}#ConfigMap/{name}/{key}");
                let Ok(inner) = serde_norway::from_str::<serde_norway::Value>(embedded) else {
                    continue; // not YAML: a dashboard JSON or a script
                };
                if inner.get("groups").is_none() {
                    continue; // e.g. prometheus.yml next to the rules
                }
                let file: RuleFile = serde_norway::from_str(embedded)
                    .map_err(|e| RulesError::yaml(&inner_origin, e, "not a valid rule file"))?;
                found.push(LoadedGroups {
                    origin: inner_origin,
                    groups: file.groups,
                });
            }
        } else if kind == "PrometheusRule" {
            let Some(spec) = value.get("spec").cloned() else {
                continue;
            };
            let file: RuleFile = from_value(spec, &format!("{origin_text}#PrometheusRule/{name}"))?;
            found.push(LoadedGroups {
                origin: format!("{origin_text}#PrometheusRule/{name}"),
                groups: file.groups,
            });
        }
    }
    Ok(found)
}

fn from_value(value: serde_norway::Value, origin: &str) -> Result<RuleFile, RulesError> {
    serde_norway::from_value(value)
        .map_err(|e| RulesError::yaml(origin, e, "not a valid rule file"))
}

/// The Prometheus configuration values a drill needs from a config file (or a
/// ConfigMap holding `prometheus.yml`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GlobalIntervals {
    pub scrape_interval: Option<String>,
    pub evaluation_interval: Option<String>,
    pub scrape_timeout: Option<String>,
    /// The scrape configs' jobs and how each finds its targets.
    pub jobs: Vec<ScrapeJob>,
}

/// One `scrape_configs` entry: its job and how it finds its targets.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapeJob {
    pub name: String,
    /// Each `*_configs` it has, as written (`static_configs`,
    /// `kubernetes_sd_configs`), with a Kubernetes role when one is given
    /// (`kubernetes_sd_configs` role `pod`).
    pub discovery: Vec<(String, Option<String>)>,
}

impl ScrapeJob {
    /// Its targets are only the ones written in the file: no discovery can
    /// drop them.
    pub fn is_static(&self) -> bool {
        !self.discovery.is_empty()
            && self
                .discovery
                .iter()
                .all(|(how, _)| how == "static_configs")
    }
}

/// The jobs of a Prometheus config's `scrape_configs`.
fn scrape_jobs(config: &serde_norway::Value) -> Vec<ScrapeJob> {
    let Some(entries) = config.get("scrape_configs").and_then(|c| c.as_sequence()) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let name = entry.get("job_name")?.as_str()?.to_string();
            let discovery = entry
                .as_mapping()?
                .iter()
                .filter_map(|(key, value)| {
                    let key = key.as_str()?;
                    key.ends_with("_configs").then(|| {
                        let role = value
                            .as_sequence()
                            .and_then(|s| s.first())
                            .and_then(|c| c.get("role"))
                            .and_then(|r| r.as_str())
                            .map(str::to_string);
                        (key.to_string(), role)
                    })
                })
                .filter(|(key, _)| {
                    !matches!(key.as_str(), "relabel_configs" | "metric_relabel_configs")
                })
                .collect();
            Some(ScrapeJob { name, discovery })
        })
        .collect()
}

/// The intervals of a [`GlobalIntervals`] as durations.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct IntervalDurations {
    pub scrape_interval: Option<std::time::Duration>,
    pub evaluation_interval: Option<std::time::Duration>,
    pub scrape_timeout: Option<std::time::Duration>,
}

impl GlobalIntervals {
    /// Each interval that is set, parsed in Prometheus's duration syntax;
    /// `origin` names the file in the error.
    pub fn durations(&self, origin: &str) -> Result<IntervalDurations, RulesError> {
        let parse = |text: &Option<String>| {
            text.as_deref()
                .map(|t| {
                    promql_parser::util::parse_duration(t)
                        .map_err(|e| RulesError::plain(origin, format!("`{t}`: {e}")))
                })
                .transpose()
        };
        Ok(IntervalDurations {
            scrape_interval: parse(&self.scrape_interval)?,
            evaluation_interval: parse(&self.evaluation_interval)?,
            scrape_timeout: parse(&self.scrape_timeout)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.scrape_interval.is_none() && self.evaluation_interval.is_none()
    }
}

pub fn parse_global_intervals(text: &str, origin: &Path) -> Result<GlobalIntervals, RulesError> {
    let origin_text = origin.display().to_string();
    for document in serde_norway::Deserializer::from_str(text) {
        let value = serde_norway::Value::deserialize(document)
            .map_err(|e| RulesError::yaml(&origin_text, e, "not YAML"))?;
        let config = if value.get("kind").and_then(|k| k.as_str()) == Some("ConfigMap") {
            let embedded = value
                .get("data")
                .and_then(|d| d.as_mapping())
                .and_then(|data| {
                    data.iter()
                        .filter_map(|(_, v)| v.as_str())
                        .find(|v| v.contains("scrape_configs") || v.contains("global:"))
                })
                .map(str::to_string);
            match embedded {
                Some(text) => serde_norway::from_str::<serde_norway::Value>(&text)
                    .map_err(|e| RulesError::yaml(&origin_text, e, "prometheus.yml is not YAML"))?,
                None => continue,
            }
        } else {
            value
        };
        if let Some(global) = config.get("global") {
            let text_of = |key: &str| global.get(key).and_then(|v| v.as_str()).map(str::to_string);
            return Ok(GlobalIntervals {
                scrape_interval: text_of("scrape_interval"),
                evaluation_interval: text_of("evaluation_interval"),
                scrape_timeout: text_of("scrape_timeout"),
                jobs: scrape_jobs(&config),
            });
        }
    }
    Ok(GlobalIntervals::default())
}
