//! The first stages of `rules check`: what to read (the files given — a
//! directory stands for every YAML and JSON file under it, hidden folders
//! skipped — or a scenario's rules, or the shipped stack), and which scrape
//! and evaluation intervals apply: the command line, a Prometheus config or
//! Prometheus resource among the files, a live Prometheus, a ServiceMonitor's
//! or PodMonitor's `interval` for the job an alert reads — or, when nothing
//! says, Prometheus's defaults, said once and marked as assumed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use promql_parser::label::MatchOp;
use promql_parser::parser::{Expr, VectorSelector};

use crate::analyze::timing::Intervals;
use crate::plan::{Plan, PrometheusPlan};
use crate::rules::dashboard::{self, Dashboard};
use crate::rules::monitors::{self, Monitor, OperatorIntervals};
use crate::rules::{
    self, parse_global_intervals, parse_rule_text, promql, IntervalDurations, LoadedGroups,
    RulesError, ScrapeJob,
};
use crate::time::format_duration;

/// What `rules check` is asked to read and judge.
#[derive(Debug, Default, Clone)]
pub struct CheckOptions {
    pub files: Vec<PathBuf>,
    pub scenario: Option<Plan>,
    pub prometheus: Option<String>,
    /// A live Alertmanager: its configuration and active silences.
    pub alertmanager: Option<String>,
    pub scrape_interval: Option<Duration>,
    pub evaluation_interval: Option<Duration>,
    /// Findings that rest only on an assumption count too.
    pub strict: bool,
}

/// What was read.
pub struct Inputs {
    pub groups: Vec<LoadedGroups>,
    /// An Alertmanager configuration among the files (the last one read).
    pub alertmanager: Option<crate::rules::alertmanager::AlertmanagerConfig>,
    pub dashboards: Vec<Dashboard>,
    /// The intervals of the Prometheus config found among the files.
    pub config: IntervalDurations,
    /// Its scrape configs' jobs.
    pub jobs: Vec<ScrapeJob>,
    pub config_origin: Option<String>,
    pub monitors: Vec<Monitor>,
    /// A prometheus-operator Prometheus resource's intervals.
    pub operator: Option<(String, OperatorIntervals)>,
}

/// Reads what `options` names: its files, else the scenario's rule files,
/// else (for a scenario on the embedded default) the shipped stack.
pub fn gather(options: &CheckOptions) -> Result<Inputs, RulesError> {
    let scenario_prometheus = options.scenario.as_ref().map(|p| &p.prometheus);
    let mut files = options.files.clone();
    if files.is_empty() {
        if let Some(PrometheusPlan::Embedded { rule_files, .. }) = scenario_prometheus {
            files = rule_files.clone();
        }
    }
    let mut inputs = read_inputs(&files)?;
    if files.is_empty() && matches!(scenario_prometheus, Some(PrometheusPlan::Embedded { .. })) {
        inputs.groups = rules::shipped_rules()?;
        let (scrape, evaluation) = rules::shipped_intervals()?;
        inputs.config.scrape_interval = Some(scrape);
        inputs.config.evaluation_interval = Some(evaluation);
        inputs.config_origin = Some(rules::SHIPPED_CONFIG_PATH.into());
    }
    if inputs.alertmanager.is_none() {
        if let Some(crate::plan::AlertmanagerPlan::Embedded { config }) = options
            .scenario
            .as_ref()
            .and_then(|p| p.alertmanager.as_ref())
        {
            inputs.alertmanager = Some(match config {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| RulesError::read(&path.display().to_string(), e))?;
                    crate::rules::alertmanager::parse(&text, path)?
                }
                None => rules::shipped_alertmanager()?,
            });
        }
    }
    if inputs.groups.is_empty() && inputs.dashboards.is_empty() {
        let dirs: Vec<String> = files
            .iter()
            .filter(|f| f.is_dir())
            .map(|f| f.display().to_string())
            .collect();
        let message = if dirs.is_empty() {
            "nothing to check: give rule files, dashboards or a scenario".to_string()
        } else {
            format!(
                "nothing to check in {}: no rule groups (plain, ConfigMap or PrometheusRule) or Grafana dashboards in any .yaml, .yml or .json file under it (hidden folders skipped)",
                dirs.join(", ")
            )
        };
        return Err(RulesError::plain("(command line)", message));
    }
    Ok(inputs)
}

/// Reads the given files; a directory stands for its YAML and JSON files,
/// of which those holding nothing to check (a Deployment) are skipped.
fn read_inputs(paths: &[PathBuf]) -> Result<Inputs, RulesError> {
    let mut files: Vec<(PathBuf, bool)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for path in paths {
        let named = !path.is_dir();
        for file in expand(std::slice::from_ref(path)) {
            // The same file through a directory and by name is read once.
            if seen.insert(file.canonicalize().unwrap_or_else(|_| file.clone())) {
                files.push((file, named));
            }
        }
    }
    let mut inputs = Inputs {
        groups: Vec::new(),
        alertmanager: None,
        dashboards: Vec::new(),
        config: IntervalDurations::default(),
        jobs: Vec::new(),
        config_origin: None,
        monitors: Vec::new(),
        operator: None,
    };
    for (file, named) in &files {
        read_one(file, *named, &mut inputs)?;
    }
    Ok(inputs)
}

fn read_one(file: &Path, named: bool, inputs: &mut Inputs) -> Result<(), RulesError> {
    let origin = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| RulesError::read(&origin, e))?;
    let is_json = text.trim_start().starts_with('{');
    let groups = if is_json {
        Vec::new()
    } else {
        parse_rule_text(&text, file)?
    };
    let dashboards = dashboard::parse_dashboards(&text, file)?;
    // Only a file naming one of these kinds can hold one (spares a parse).
    let may_hold_monitors = ["ServiceMonitor", "PodMonitor", "kind: Prometheus"]
        .iter()
        .any(|kind| text.contains(kind));
    let (intervals, found_monitors) = if is_json {
        (Default::default(), monitors::Found::default())
    } else if may_hold_monitors {
        (
            parse_global_intervals(&text, file)?,
            monitors::parse_monitors(&text, file)?,
        )
    } else {
        (
            parse_global_intervals(&text, file)?,
            monitors::Found::default(),
        )
    };
    let alertmanager = if is_json {
        None
    } else {
        match crate::rules::alertmanager::config_text(&text, file)? {
            Some(_) => Some(crate::rules::alertmanager::parse(&text, file)?),
            None => None,
        }
    };
    let found_alertmanager = alertmanager.is_some();
    if alertmanager.is_some() {
        inputs.alertmanager = alertmanager;
    }
    inputs.jobs.extend(intervals.jobs.iter().cloned());
    let found_config = !intervals.is_empty();
    if found_config {
        let found = intervals.durations(&origin)?;
        let config = &mut inputs.config;
        config.scrape_interval = found.scrape_interval.or(config.scrape_interval);
        config.evaluation_interval = found.evaluation_interval.or(config.evaluation_interval);
        config.scrape_timeout = found.scrape_timeout.or(config.scrape_timeout);
        inputs.config_origin = Some(origin.clone());
    }
    let found_monitors_any =
        !found_monitors.monitors.is_empty() || found_monitors.prometheus.is_some();
    if groups.is_empty()
        && dashboards.is_empty()
        && !found_config
        && !found_monitors_any
        && !found_alertmanager
        && named
    {
        return Err(RulesError::plain(
            &origin,
            "no rule groups, Prometheus or Alertmanager configuration, ServiceMonitor or Grafana dashboard found"
                .into(),
        ));
    }
    inputs.groups.extend(groups);
    inputs.dashboards.extend(dashboards);
    inputs.monitors.extend(found_monitors.monitors);
    if found_monitors.prometheus.is_some() {
        inputs.operator = found_monitors.prometheus;
    }
    Ok(())
}

/// What the analysis knows of the intervals, and what it assumes.
#[derive(Debug, Clone)]
pub struct Setting {
    /// Prometheus-wide (the scrape interval where no monitor says otherwise).
    pub intervals: Intervals,
    /// Where they came from.
    pub from: String,
    /// Set when nobody gave the scrape interval: what is assumed.
    pub scrape_assumed: Option<String>,
    /// Set when nobody gave the evaluation interval.
    pub evaluation_assumed: Option<String>,
    /// The command line gave the scrape interval: it wins over monitors.
    pub scrape_from_command_line: bool,
    pub monitors: Vec<Monitor>,
    /// The jobs of the Prometheus config among the files.
    pub jobs: Vec<ScrapeJob>,
}

/// Where a selector's targets come from, as the files given say.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetSource {
    /// Every job it can match lists its targets in `static_configs`: no
    /// discovery drops them.
    Static,
    /// Some job it can match is discovered: how a target is dropped
    /// (`kubernetes_sd_configs (role pod) drops a deleted pod`).
    Discovered(Vec<String>),
    /// Nothing given names its jobs.
    Unknown,
}

impl Setting {
    /// Where the targets of `selector` come from: the jobs of the
    /// Prometheus config and the monitors given that its `job` matcher
    /// matches (every job, without one).
    pub fn targets_of(&self, selector: &VectorSelector) -> TargetSource {
        let job_matchers: Vec<_> = selector
            .matchers
            .matchers
            .iter()
            .filter(|m| m.name == "job")
            .collect();
        let matches = |job: &str| job_matchers.iter().all(|m| m.is_match(job));
        let mut dropped: Vec<String> = Vec::new();
        let mut any = false;
        for job in self.jobs.iter().filter(|j| matches(&j.name)) {
            any = true;
            if !job.is_static() {
                dropped.extend(
                    job.discovery
                        .iter()
                        .filter(|(how, _)| how != "static_configs")
                        .map(|(how, role)| drop_text(how, role.as_deref())),
                );
            }
        }
        if self
            .monitors
            .iter()
            .any(|m| m.jobs.iter().any(|j| matches(j)))
        {
            any = true;
            dropped.push(
                "a ServiceMonitor's or PodMonitor's Kubernetes discovery drops a deleted pod"
                    .to_string(),
            );
        }
        dropped.sort();
        dropped.dedup();
        match (any, dropped.is_empty()) {
            (false, _) => TargetSource::Unknown,
            (true, true) => TargetSource::Static,
            (true, false) => TargetSource::Discovered(dropped),
        }
    }

    /// The scrape interval of what `expr` reads: a monitor's for the job it
    /// names, else Prometheus's; and whether that is assumed.
    pub fn scrape_for(&self, expr: &Expr) -> (Duration, Option<String>) {
        if self.scrape_from_command_line {
            return (self.intervals.scrape, None);
        }
        let global = self.intervals.scrape;
        let known_global = self.scrape_assumed.is_none().then_some(global);
        let job_matchers: Vec<_> = promql::selectors(expr)
            .into_iter()
            .flat_map(|s| s.matchers.matchers.iter())
            .filter(|m| m.name == "job" && matches!(m.op, MatchOp::Equal | MatchOp::Re(_)))
            .collect();
        let matched: Vec<Option<Duration>> = self
            .monitors
            .iter()
            .filter(|monitor| {
                job_matchers
                    .iter()
                    .any(|m| monitor.jobs.iter().any(|job| m.is_match(job)))
            })
            .flat_map(|monitor| monitor.intervals.iter().copied())
            .collect();
        // A monitor's endpoint without `interval` uses Prometheus's.
        let resolved: Vec<Option<Duration>> = matched.iter().map(|i| i.or(known_global)).collect();
        if !resolved.is_empty() && resolved.iter().all(Option::is_some) {
            let longest = resolved.into_iter().flatten().max().unwrap_or(global);
            return (longest, None);
        }
        if let Some(known) = known_global {
            return (known, None);
        }
        let given: Vec<Duration> = self
            .monitors
            .iter()
            .flat_map(|m| m.intervals.iter().flatten().copied())
            .collect();
        match given.iter().max() {
            Some(longest) => (
                *longest,
                Some(format!(
                    "the scrape interval ({}, the longest the ServiceMonitors and PodMonitors given set; none names this alert's job)",
                    format_duration(*longest)
                )),
            ),
            None => (global, self.scrape_assumed.clone()),
        }
    }
}

/// The intervals that apply, and where they came from: the command line
/// first, then a config among the files, then a Prometheus resource, then
/// the live Prometheus's (`live`), then Prometheus's defaults (1m, noted as
/// assumed).
pub fn intervals(
    options: &CheckOptions,
    inputs: &Inputs,
    live: Option<IntervalDurations>,
    notes: &mut Vec<String>,
) -> Setting {
    let from_live = |pick: fn(&IntervalDurations) -> Option<Duration>| live.as_ref().and_then(pick);
    let operator = inputs
        .operator
        .as_ref()
        .map(|(_, o)| *o)
        .unwrap_or_default();
    let scrape = options
        .scrape_interval
        .or(inputs.config.scrape_interval)
        .or(operator.scrape)
        .or(from_live(|l| l.scrape_interval));
    let evaluation = options
        .evaluation_interval
        .or(inputs.config.evaluation_interval)
        .or(operator.evaluation)
        .or(from_live(|l| l.evaluation_interval));
    let timeout = inputs
        .config
        .scrape_timeout
        .or(from_live(|l| l.scrape_timeout));
    let from = if options.scrape_interval.is_some() || options.evaluation_interval.is_some() {
        "the command line".to_string()
    } else if let Some(origin) = &inputs.config_origin {
        origin.clone()
    } else if let Some((origin, _)) = &inputs.operator {
        origin.clone()
    } else if live.is_some() {
        format!(
            "the configuration of {}",
            options.prometheus.clone().unwrap_or_default()
        )
    } else {
        "Prometheus's defaults".to_string()
    };
    let assumed = |what: &str| {
        format!("the {what} interval (1m, Prometheus's default; nothing given says otherwise)")
    };
    let scrape_assumed = scrape.is_none().then(|| assumed("scrape"));
    let evaluation_assumed = evaluation.is_none().then(|| assumed("evaluation"));
    if scrape.is_none() || evaluation.is_none() {
        let which = match (scrape.is_none(), evaluation.is_none()) {
            (true, true) => "scrape and evaluation intervals",
            (true, false) => "scrape interval",
            _ => "evaluation interval",
        };
        let monitors = if scrape.is_none() && !inputs.monitors.is_empty() {
            " where no ServiceMonitor or PodMonitor names the job"
        } else {
            ""
        };
        notes.push(format!(
            "no Prometheus configuration gives the {which}: assuming Prometheus's default of 1m{monitors}; findings that rest only on this are shown but do not fail the check (--strict makes them count); give --scrape-interval/--evaluation-interval, the Prometheus config, or --prometheus"
        ));
    }
    let scrape = scrape.unwrap_or(Duration::from_secs(60));
    Setting {
        intervals: Intervals {
            scrape,
            evaluation: evaluation.unwrap_or(Duration::from_secs(60)),
            scrape_timeout: timeout.unwrap_or(Duration::from_secs(10)).min(scrape),
        },
        from,
        scrape_assumed,
        evaluation_assumed,
        scrape_from_command_line: options.scrape_interval.is_some(),
        monitors: inputs.monitors.clone(),
        jobs: inputs.jobs.clone(),
    }
}

/// How one discovery mechanism drops a target.
fn drop_text(how: &str, role: Option<&str>) -> String {
    match (how, role) {
        ("kubernetes_sd_configs", Some("node")) => {
            "kubernetes_sd_configs (role node) drops a removed node".to_string()
        }
        ("kubernetes_sd_configs", Some(role @ ("service" | "ingress"))) => {
            format!("kubernetes_sd_configs (role {role}) drops a deleted {role}")
        }
        ("kubernetes_sd_configs", Some(role)) => {
            format!("kubernetes_sd_configs (role {role}) drops a deleted pod")
        }
        (how, _) => format!("{how} drops a target it no longer finds"),
    }
}

/// Files given as arguments; a directory stands for every `.yaml`, `.yml`
/// and `.json` file under it (sorted; hidden folders and files and
/// kustomization files skipped).
pub fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            walk_dir(path, &mut found);
            found.sort();
            files.extend(found);
        } else {
            files.push(Path::new(path).to_path_buf());
        }
    }
    files
}

fn walk_dir(dir: &Path, into: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok);
    for entry in entries {
        let path = entry.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk_dir(&path, into);
        } else if path
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
            && path.file_stem().is_none_or(|s| s != "kustomization")
        {
            into.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_searched_recursively_without_hidden_folders() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("team/app");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(nested.join("rules.yaml"), "groups: []").unwrap();
        std::fs::write(dir.path().join(".git/config.yaml"), "x: 1").unwrap();
        std::fs::write(dir.path().join("kustomization.yaml"), "resources: []").unwrap();
        let found = expand(&[dir.path().to_path_buf()]);
        assert_eq!(found, vec![nested.join("rules.yaml")]);
    }

    #[test]
    fn the_config_says_which_jobs_are_static_and_how_the_others_drop_targets() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("prometheus.yml"),
            "global: { scrape_interval: 15s }\nscrape_configs:\n  - job_name: db\n    static_configs: [{ targets: [db:9187] }]\n    relabel_configs: [{ target_label: team, replacement: data }]\n  - job_name: web\n    kubernetes_sd_configs: [{ role: pod }]\n  - job_name: nodes\n    kubernetes_sd_configs: [{ role: node }]\n  - job_name: vms\n    ec2_sd_configs: [{ region: eu-west-1 }]\n",
        )
        .unwrap();
        let options = CheckOptions {
            files: vec![dir.path().to_path_buf()],
            ..CheckOptions::default()
        };
        let inputs = read_inputs(&options.files).unwrap();
        let setting = intervals(&options, &inputs, None, &mut Vec::new());
        let of = |q: &str| match promql_parser::parser::parse(q).unwrap() {
            Expr::VectorSelector(v) => setting.targets_of(&v),
            other => panic!("{other:?}"),
        };
        assert_eq!(of(r#"up{job="db"}"#), TargetSource::Static);
        assert_eq!(
            of(r#"up{job="web"}"#),
            TargetSource::Discovered(vec![
                "kubernetes_sd_configs (role pod) drops a deleted pod".into()
            ])
        );
        assert_eq!(
            of(r#"up{job=~"nodes|vms"}"#),
            TargetSource::Discovered(vec![
                "ec2_sd_configs drops a target it no longer finds".into(),
                "kubernetes_sd_configs (role node) drops a removed node".into(),
            ])
        );
        assert_eq!(of(r#"up{job="elsewhere"}"#), TargetSource::Unknown);
        assert!(matches!(of("up"), TargetSource::Discovered(d) if d.len() == 3));
    }
}
