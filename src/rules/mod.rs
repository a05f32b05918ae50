//! Reading what a monitoring stack is configured with: alert rules (plain
//! rule files, ConfigMaps, PrometheusRule resources), a Prometheus
//! configuration's intervals, Grafana dashboards; PromQL read from its syntax
//! tree; Alertmanager configurations (`alertmanager`: routing, inhibition,
//! receivers); time-scaling rules for compressed drills; and the monitoring stack
//! shipped in `k8s/monitoring/`, built into the binary so the embedded
//! environment works from any directory.
//!
//! Plain reading, no I/O beyond files: knows nothing of Prometheus's API, of
//! load or of how a drill runs (`analyze` judges what is read here).

pub mod alertmanager;
pub mod dashboard;
pub mod monitors;
pub mod promql;
mod scale;
mod source;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use scale::{scale_duration, scale_expr, scale_group, GroupScaleError, ScaleError};
pub use source::{
    parse_global_intervals, parse_rule_text, GlobalIntervals, Group, IntervalDurations,
    LoadedGroups, RuleDef, RuleFile, ScrapeJob,
};

/// The shipped monitoring stack: the fixed rules and the Prometheus config.
pub const SHIPPED_RULES: &str = include_str!("../../k8s/monitoring/prometheus-rules.yaml");
pub const SHIPPED_RULES_PATH: &str = "k8s/monitoring/prometheus-rules.yaml";
pub const SHIPPED_CONFIG: &str = include_str!("../../k8s/monitoring/prometheus-config.yaml");
pub const SHIPPED_CONFIG_PATH: &str = "k8s/monitoring/prometheus-config.yaml";
/// The shipped Alertmanager (a ConfigMap holding its routing tree, with its
/// Deployment and Service): the embedded Alertmanager's default.
pub const SHIPPED_ALERTMANAGER: &str = include_str!("../../k8s/monitoring/alertmanager.yaml");
pub const SHIPPED_ALERTMANAGER_PATH: &str = "k8s/monitoring/alertmanager.yaml";

/// What cannot be read, and where: the file, the line and column when the
/// parser knows them, and the cause.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A file that cannot be read.
    #[error("{origin}: {source}")]
    Read {
        origin: String,
        #[source]
        source: std::io::Error,
    },
    /// YAML that does not parse, or not into what was expected there.
    #[error("{origin}{}: {context}: {}", position(.source.location().map(|l| (l.line(), l.column()))), yaml_message(.source))]
    Yaml {
        origin: String,
        /// What was being read (`not a valid rule file`).
        context: String,
        #[source]
        source: serde_norway::Error,
    },
    /// JSON that does not parse.
    #[error("{origin}{}: not JSON: {source}", position(Some((.source.line(), .source.column()))))]
    Json {
        origin: String,
        #[source]
        source: serde_json::Error,
    },
    /// An Alertmanager configuration that is not valid.
    #[error("{origin}: {source}")]
    Alertmanager {
        origin: String,
        #[source]
        source: alertmanager::ConfigError,
    },
    /// A rule group that cannot be time-scaled.
    #[error("{origin}: {source}")]
    Scale {
        origin: String,
        #[source]
        source: GroupScaleError,
    },
    /// Groups that cannot be written as a rule file.
    #[error("(generated rule file): {0}")]
    Render(#[source] serde_norway::Error),
    /// Something read that firedrill cannot use, in its own words.
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// `:line:column`, when known.
fn position(location: Option<(usize, usize)>) -> String {
    location
        .map(|(line, column)| format!(":{line}:{column}"))
        .unwrap_or_default()
}

/// serde_norway's message without its own " at line …" (the position is
/// written once, after the file).
fn yaml_message(error: &serde_norway::Error) -> String {
    let mut message = error.to_string();
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    message
}

impl RulesError {
    pub(crate) fn yaml(origin: &str, source: serde_norway::Error, context: &str) -> Self {
        RulesError::Yaml {
            origin: origin.to_string(),
            context: context.to_string(),
            source,
        }
    }

    /// A file that cannot be read.
    pub fn read(origin: &str, source: std::io::Error) -> Self {
        RulesError::Read {
            origin: origin.to_string(),
            source,
        }
    }

    /// Something read that firedrill cannot use, in its own words.
    pub(crate) fn plain(origin: &str, message: String) -> Self {
        RulesError::Invalid {
            origin: origin.to_string(),
            message,
        }
    }
}

/// Reads every rule group from the given files.
pub fn load_rule_files(paths: &[PathBuf]) -> Result<Vec<LoadedGroups>, RulesError> {
    let mut all = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RulesError::read(&path.display().to_string(), e))?;
        let found = parse_rule_text(&text, path)?;
        if found.is_empty() {
            return Err(RulesError::plain(
                &path.display().to_string(),
                "no rule groups found (expected `groups:`, a ConfigMap embedding a rule file, or a PrometheusRule)".into(),
            ));
        }
        all.extend(found);
    }
    Ok(all)
}

/// The rules shipped in `k8s/monitoring/`.
pub fn shipped_rules() -> Result<Vec<LoadedGroups>, RulesError> {
    parse_rule_text(SHIPPED_RULES, Path::new(SHIPPED_RULES_PATH))
}

/// The shipped Prometheus config's scrape and evaluation intervals.
pub fn shipped_intervals() -> Result<(Duration, Duration), RulesError> {
    let intervals = parse_global_intervals(SHIPPED_CONFIG, Path::new(SHIPPED_CONFIG_PATH))?
        .durations(SHIPPED_CONFIG_PATH)?;
    // Prometheus's defaults where the config sets none.
    Ok((
        intervals.scrape_interval.unwrap_or(Duration::from_secs(60)),
        intervals
            .evaluation_interval
            .unwrap_or(Duration::from_secs(60)),
    ))
}

/// The shipped Alertmanager configuration.
pub fn shipped_alertmanager() -> Result<alertmanager::AlertmanagerConfig, RulesError> {
    alertmanager::parse(SHIPPED_ALERTMANAGER, Path::new(SHIPPED_ALERTMANAGER_PATH))
}

/// Renders groups as a Prometheus rule file.
pub fn render_rule_file(groups: Vec<Group>) -> Result<String, RulesError> {
    serde_norway::to_string(&RuleFile { groups }).map_err(RulesError::Render)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_stack_has_eight_alerts_and_the_seed_intervals() {
        let groups = shipped_rules().unwrap();
        let alerts: Vec<_> = groups
            .iter()
            .flat_map(|g| &g.groups)
            .flat_map(|g| &g.rules)
            .filter_map(|r| r.alert.clone())
            .collect();
        assert_eq!(alerts.len(), 8, "{alerts:?}");
        assert!(alerts.contains(&"GatewayHighErrorRate".to_string()));
        let (scrape, evaluation) = shipped_intervals().unwrap();
        assert_eq!(scrape, Duration::from_secs(15));
        assert_eq!(evaluation, Duration::from_secs(30));
    }

    #[test]
    fn reads_configmaps_and_prometheusrules() {
        let text = r#"
apiVersion: v1
kind: ConfigMap
metadata: { name: rules }
data:
  prometheus.yml: |
    global: { scrape_interval: 15s }
  alert-rules.yml: |
    groups:
      - name: g
        rules:
          - alert: A
            expr: up == 0
            for: 1m
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: { name: pr }
spec:
  groups:
    - name: h
      interval: 10s
      rules:
        - alert: B
          expr: 1
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: ignored }
"#;
        let found = parse_rule_text(text, Path::new("stack.yaml")).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0].origin,
            "stack.yaml#ConfigMap/rules/alert-rules.yml"
        );
        assert_eq!(found[0].groups[0].rules[0].for_.as_deref(), Some("1m"));
        assert_eq!(found[1].groups[0].rules[0].expr, "1");
    }

    #[test]
    fn a_broken_rule_file_names_its_origin_and_line() {
        let text = "groups:\n  - name: g\n    rules:\n      - alert: A\n";
        let err = parse_rule_text(text, Path::new("bad.yaml")).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("bad.yaml:"), "{message}");
        assert!(message.contains("expr"), "{message}");
    }
}
