//! The first stages of `rules check`: what to read (the files given, or a
//! scenario's rules, or the shipped stack), and which scrape and evaluation
//! intervals apply (the command line, a Prometheus config among the files,
//! a live Prometheus, or Prometheus's defaults — said once when assumed).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::timing::Intervals;
use super::{CheckError, CheckOptions};
use crate::plan::PrometheusPlan;
use crate::prom::PromClient;
use crate::rules::dashboard::{self, Dashboard};
use crate::rules::{
    self, parse_global_intervals, parse_rule_text, IntervalDurations, LoadedGroups, RulesError,
};

/// What was read.
pub struct Inputs {
    pub groups: Vec<LoadedGroups>,
    /// An Alertmanager configuration among the files (the last one read).
    pub alertmanager: Option<crate::rules::alertmanager::AlertmanagerConfig>,
    pub dashboards: Vec<Dashboard>,
    /// The intervals of the Prometheus config found among the files.
    pub config: IntervalDurations,
    pub config_origin: Option<String>,
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
                    let text = std::fs::read_to_string(path).map_err(|e| {
                        RulesError::plain(&path.display().to_string(), e.to_string())
                    })?;
                    crate::rules::alertmanager::parse(&text, path)?
                }
                None => rules::shipped_alertmanager()?,
            });
        }
    }
    if inputs.groups.is_empty() && inputs.dashboards.is_empty() {
        return Err(RulesError::plain(
            "(command line)",
            "nothing to check: give rule files, dashboards or a scenario".into(),
        ));
    }
    Ok(inputs)
}

/// Reads the given files; a directory stands for its YAML and JSON files,
/// of which those holding nothing to check (a Deployment) are skipped.
fn read_inputs(paths: &[PathBuf]) -> Result<Inputs, RulesError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            files.extend(
                expand(std::slice::from_ref(path))
                    .into_iter()
                    .map(|f| (f, false)),
            );
        } else {
            files.push((path.clone(), true));
        }
    }
    let mut inputs = Inputs {
        groups: Vec::new(),
        alertmanager: None,
        dashboards: Vec::new(),
        config: IntervalDurations::default(),
        config_origin: None,
    };
    for (file, named) in &files {
        let origin = file.display().to_string();
        let text =
            std::fs::read_to_string(file).map_err(|e| RulesError::plain(&origin, e.to_string()))?;
        let is_json = text.trim_start().starts_with('{');
        let groups = if is_json {
            Vec::new()
        } else {
            parse_rule_text(&text, file)?
        };
        let dashboards = dashboard::parse_dashboards(&text, file)?;
        let intervals = if is_json {
            Default::default()
        } else {
            parse_global_intervals(&text, file)?
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
        let found_config = !intervals.is_empty();
        if found_config {
            let found = intervals.durations(&origin)?;
            let config = &mut inputs.config;
            config.scrape_interval = found.scrape_interval.or(config.scrape_interval);
            config.evaluation_interval = found.evaluation_interval.or(config.evaluation_interval);
            config.scrape_timeout = found.scrape_timeout.or(config.scrape_timeout);
            inputs.config_origin = Some(origin.clone());
        }
        if groups.is_empty()
            && dashboards.is_empty()
            && !found_config
            && !found_alertmanager
            && *named
        {
            return Err(RulesError::plain(
                &origin,
                "no rule groups, Prometheus or Alertmanager configuration, or Grafana dashboard found"
                    .into(),
            ));
        }
        inputs.groups.extend(groups);
        inputs.dashboards.extend(dashboards);
    }
    Ok(inputs)
}

/// The intervals that apply, and where they came from: the command line
/// first, then a config among the files, then the live Prometheus, then
/// Prometheus's defaults (1m, noted as an assumption).
pub async fn intervals(
    options: &CheckOptions,
    inputs: &Inputs,
    prometheus: Option<&PromClient>,
    notes: &mut Vec<String>,
) -> Result<(Intervals, String), CheckError> {
    let live = match prometheus {
        Some(client) => Some(super::live::intervals(client).await?),
        None => None,
    };
    let from_live = |pick: fn(&IntervalDurations) -> Option<Duration>| live.as_ref().and_then(pick);
    let scrape = options
        .scrape_interval
        .or(inputs.config.scrape_interval)
        .or(from_live(|l| l.scrape_interval));
    let evaluation = options
        .evaluation_interval
        .or(inputs.config.evaluation_interval)
        .or(from_live(|l| l.evaluation_interval));
    let timeout = inputs
        .config
        .scrape_timeout
        .or(from_live(|l| l.scrape_timeout));
    let from = if options.scrape_interval.is_some() || options.evaluation_interval.is_some() {
        "the command line".to_string()
    } else if let Some(origin) = &inputs.config_origin {
        origin.clone()
    } else if live.is_some() {
        format!(
            "the configuration of {}",
            options.prometheus.clone().unwrap_or_default()
        )
    } else {
        notes.push("no Prometheus configuration given: assuming Prometheus's defaults (scrape and evaluate every 1m)".into());
        "Prometheus's defaults".to_string()
    };
    let scrape = scrape.unwrap_or(Duration::from_secs(60));
    Ok((
        Intervals {
            scrape,
            evaluation: evaluation.unwrap_or(Duration::from_secs(60)),
            scrape_timeout: timeout.unwrap_or(Duration::from_secs(10)).min(scrape),
        },
        from,
    ))
}

/// Files given as arguments, expanded when they are directories.
pub fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.extension()
                        .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
                })
                .filter(|p| p.file_stem().is_none_or(|s| s != "kustomization"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(Path::new(path).to_path_buf());
        }
    }
    files
}
