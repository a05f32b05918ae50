//! Scrape intervals that prometheus-operator resources give: a
//! ServiceMonitor's `spec.endpoints[].interval`, a PodMonitor's
//! `spec.podMetricsEndpoints[].interval`, and a Prometheus resource's
//! `spec.scrapeInterval` and `spec.evaluationInterval`. Documents of other
//! kinds are skipped.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::RulesError;

/// A ServiceMonitor or PodMonitor: the jobs its targets are likely to get
/// and the intervals its endpoints set.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    /// `path#Kind/name`.
    pub origin: String,
    /// The `job` values its targets get, as far as the resource tells: the
    /// operator names a ServiceMonitor's job after the Service (its name is
    /// not in the resource; its selector's app labels usually are), a
    /// PodMonitor's `namespace/name`.
    pub jobs: Vec<String>,
    /// Each endpoint's interval (None: Prometheus's scrape interval).
    pub intervals: Vec<Option<Duration>>,
}

/// What a Prometheus resource sets.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OperatorIntervals {
    pub scrape: Option<Duration>,
    pub evaluation: Option<Duration>,
}

#[derive(Default)]
pub struct Found {
    pub monitors: Vec<Monitor>,
    pub prometheus: Option<(String, OperatorIntervals)>,
}

fn duration(text: Option<&str>, origin: &str) -> Result<Option<Duration>, RulesError> {
    text.map(|t| {
        promql_parser::util::parse_duration(t)
            .map_err(|e| RulesError::plain(origin, format!("interval `{t}`: {e}")))
    })
    .transpose()
}

/// The monitors and Prometheus resources in `text`.
pub fn parse_monitors(text: &str, origin: &Path) -> Result<Found, RulesError> {
    let origin_text = origin.display().to_string();
    let mut found = Found::default();
    for document in serde_norway::Deserializer::from_str(text) {
        let Ok(value) = serde_norway::Value::deserialize(document) else {
            continue; // the rule reader reports YAML errors
        };
        let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        let text_at = |v: &serde_norway::Value, key: &str| {
            v.get(key).and_then(|x| x.as_str()).map(str::to_string)
        };
        let metadata = value.get("metadata").cloned().unwrap_or_default();
        let name = text_at(&metadata, "name").unwrap_or_else(|| "?".into());
        let namespace = text_at(&metadata, "namespace");
        let here = format!("{origin_text}#{kind}/{name}");
        let spec = value.get("spec").cloned().unwrap_or_default();
        let endpoints = match kind {
            "ServiceMonitor" => "endpoints",
            "PodMonitor" => "podMetricsEndpoints",
            "Prometheus" => {
                let intervals = OperatorIntervals {
                    scrape: duration(spec.get("scrapeInterval").and_then(|v| v.as_str()), &here)?,
                    evaluation: duration(
                        spec.get("evaluationInterval").and_then(|v| v.as_str()),
                        &here,
                    )?,
                };
                found.prometheus = Some((here, intervals));
                continue;
            }
            _ => continue,
        };
        let mut intervals = Vec::new();
        for endpoint in spec
            .get(endpoints)
            .and_then(|e| e.as_sequence())
            .into_iter()
            .flatten()
        {
            intervals.push(duration(
                endpoint.get("interval").and_then(|v| v.as_str()),
                &here,
            )?);
        }
        let mut jobs = vec![name.clone()];
        if kind == "PodMonitor" {
            jobs.push(format!(
                "{}/{name}",
                namespace.as_deref().unwrap_or("default")
            ));
        }
        let labels = spec
            .get("selector")
            .and_then(|s| s.get("matchLabels"))
            .and_then(|l| l.as_mapping());
        for (key, label) in labels.into_iter().flatten() {
            let key = key.as_str().unwrap_or("");
            if matches!(
                key,
                "app"
                    | "app.kubernetes.io/name"
                    | "k8s-app"
                    | "name"
                    | "app.kubernetes.io/component"
            ) {
                if let Some(label) = label.as_str() {
                    jobs.push(label.to_string());
                }
            }
        }
        jobs.dedup();
        found.monitors.push(Monitor {
            origin: here,
            jobs,
            intervals,
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_monitors_and_the_prometheus_resource() {
        let text = r#"
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: { name: node-exporter, namespace: monitoring }
spec:
  selector: { matchLabels: { app.kubernetes.io/name: node-exporter } }
  endpoints: [{ port: metrics, interval: 15s }]
---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: { name: redis, namespace: cache }
spec:
  podMetricsEndpoints: [{ port: metrics }]
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: { name: k8s }
spec: { scrapeInterval: 30s, evaluationInterval: 30s }
"#;
        let found = parse_monitors(text, Path::new("m.yaml")).unwrap();
        assert_eq!(found.monitors.len(), 2);
        assert_eq!(
            found.monitors[0].intervals,
            vec![Some(Duration::from_secs(15))]
        );
        assert!(found.monitors[1].jobs.contains(&"cache/redis".to_string()));
        assert_eq!(
            found.prometheus.unwrap().1.scrape,
            Some(Duration::from_secs(30))
        );
    }
}
