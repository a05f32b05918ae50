//! What the live proof runs, and in which batches: each alert's scrape
//! targets (one per `job` and `instance` its series carry: a `job` label
//! becomes a scrape job, an `instance` the target's label, an unpinned one
//! a name of the alert's own), what it reads and writes (metric names, the
//! health of a job's targets), and batches in which no alert reads what
//! another writes — nor inhibits another, unless the static routing says
//! it does, in which case the two run together so Alertmanager can show
//! it. Then each batch's Prometheus configuration and rules, time-scaled
//! as drills scale theirs (`rules::scale_group`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use super::exporter::TargetDef;
use crate::analyze::timing::Bounds;
use crate::coverage::provoke::Provocation;
use crate::coverage::series::Kind;
use crate::record::Labels;
use crate::rules::alertmanager::{all_match, AlertmanagerConfig};
use crate::rules::{Group, GroupScaleError, LoadedGroups, RuleDef};

/// The scrape job of series with no `job` label.
pub const DEFAULT_JOB: &str = "firedrill-coverage";

/// One alert the live proof runs.
pub struct Live<'a> {
    /// Its index in the ledger.
    pub n: usize,
    pub rule: &'a RuleDef,
    pub origin: &'a str,
    pub provocation: &'a Provocation,
    pub targets: Vec<TargetDef>,
    reads: BTreeSet<String>,
    writes: BTreeSet<String>,
    /// Alerts (ledger indices) the static routing says inhibit it: run
    /// with it, and kept firing while it is.
    pub inhibitors: Vec<usize>,
    /// The model's bounds of firing after the provocation.
    pub predicted: Option<Bounds>,
    /// Its `for`, `keep_firing_for` and how far back its windows reach,
    /// production seconds.
    pub hold: f64,
    pub keep: f64,
    pub reach: f64,
}

fn seconds(text: Option<&str>) -> f64 {
    text.and_then(|t| promql_parser::util::parse_duration(t).ok())
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Why an alert cannot run live (it stays with the promtool proof).
pub fn unservable(p: &Provocation) -> Option<&'static str> {
    p.series.iter().find_map(|s| match s.kind {
        Kind::Timestamp | Kind::Deadline => Some(
            "a timestamp compared with time() cannot be time-compressed (Prometheus's clock is not)",
        ),
        _ => None,
    })
}

impl<'a> Live<'a> {
    pub fn new(n: usize, rule: &'a RuleDef, origin: &'a str, provocation: &'a Provocation) -> Self {
        let mut by_target: BTreeMap<(String, String), TargetDef> = BTreeMap::new();
        let (mut reads, mut writes) = (BTreeSet::new(), BTreeSet::new());
        for (i, spec) in provocation.series.iter().enumerate() {
            let job = spec
                .labels
                .get("job")
                .cloned()
                .unwrap_or(DEFAULT_JOB.into());
            let pinned = spec.labels.get("instance").cloned();
            let instance = pinned.clone().unwrap_or(format!("coverage-{n}"));
            let next = by_target.len();
            let target = by_target
                .entry((job.clone(), instance.clone()))
                .or_insert_with(|| TargetDef {
                    path: format!("/a{n}/t{next}"),
                    job: job.clone(),
                    instance: instance.clone(),
                    series: Vec::new(),
                    up: None,
                });
            if spec.metric == "up" {
                target.up = Some(i);
                reads.insert(format!("up:{job}"));
            } else {
                target.series.push(i);
                reads.insert(spec.metric.clone());
                writes.insert(spec.metric.clone());
            }
            if pinned.is_some() {
                reads.insert(format!("target:{job}/{instance}"));
            }
        }
        for target in by_target.values() {
            writes.insert(format!("up:{}", target.job));
            writes.insert(format!("target:{}/{}", target.job, target.instance));
        }
        Live {
            n,
            rule,
            origin,
            provocation,
            targets: by_target.into_values().collect(),
            reads,
            writes,
            inhibitors: Vec::new(),
            predicted: None,
            hold: seconds(rule.for_.as_deref()),
            keep: seconds(rule.keep_firing_for.as_deref()),
            reach: 0.0,
        }
    }

    /// `alertname` and the rule's fixed labels.
    pub fn labels(&self) -> Labels {
        let mut labels: Labels = self
            .rule
            .labels
            .iter()
            .filter(|(_, v)| !v.contains("{{"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.insert(
            "alertname".into(),
            self.rule.alert.clone().unwrap_or_default(),
        );
        labels
    }

    /// Its alerts among `found`: the name and fixed labels match.
    pub fn owns(&self, labels: &Labels) -> bool {
        self.labels().iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    fn clashes(&self, other: &Live) -> bool {
        !self.reads.is_disjoint(&other.writes) || !other.reads.is_disjoint(&self.writes)
    }
}

/// Whether one of the two would inhibit the other (an inhibition rule
/// whose source matches one's labels and target the other's).
fn inhibits(config: Option<&AlertmanagerConfig>, a: &Live, b: &Live) -> bool {
    let Some(config) = config else { return false };
    let (la, lb) = (a.labels(), b.labels());
    config.inhibit_rules.iter().any(|rule| {
        (all_match(&rule.source, &la) && all_match(&rule.target, &lb))
            || (all_match(&rule.source, &lb) && all_match(&rule.target, &la))
    })
}

/// Batches (indices into `alerts`): apart where they clash or one would
/// inhibit the other, together where one is the other's named inhibitor.
pub fn batches(alerts: &[Live], config: Option<&AlertmanagerConfig>) -> Vec<Vec<usize>> {
    let apart = |a: &Live, b: &Live| {
        let together = a.inhibitors.contains(&b.n) || b.inhibitors.contains(&a.n);
        a.clashes(b) || (!together && inhibits(config, a, b))
    };
    let mut batches: Vec<Vec<usize>> = Vec::new();
    // Inhibitors first, so the alerts they mute can join their batch.
    let mut order: Vec<usize> = (0..alerts.len()).collect();
    order.sort_by_key(|&k| !alerts[k].inhibitors.is_empty());
    for k in order {
        let wanted = batches.iter().position(|b| {
            b.iter()
                .any(|&j| alerts[k].inhibitors.contains(&alerts[j].n))
        });
        let fits = |b: &Vec<usize>| b.iter().all(|&j| !apart(&alerts[k], &alerts[j]));
        match wanted
            .filter(|&w| fits(&batches[w]))
            .or_else(|| batches.iter().position(fits))
        {
            Some(b) => batches[b].push(k),
            None => batches.push(vec![k]),
        }
    }
    batches
}

/// The Prometheus configuration of a batch: a scrape job per `job`, each
/// target on `exporter` with its own path and `instance` — but those in
/// `gone` (paths): a provocation has withdrawn them, and Prometheus stops
/// scraping them and marks their series stale, `up` with them, as when a
/// target leaves service discovery.
pub fn prometheus_config(
    alerts: &[&Live],
    exporter: &str,
    (scrape, evaluation): (Duration, Duration),
    alertmanager: Option<&str>,
    gone: &BTreeSet<String>,
) -> String {
    let ms = |d: Duration| format!("{}ms", d.as_millis().max(1));
    let mut text = format!(
        "global:\n  scrape_interval: {}\n  scrape_timeout: {}\n  evaluation_interval: {}\nrule_files:\n  - \"{{dir}}/rules.yml\"\n",
        ms(scrape),
        ms(scrape.min(Duration::from_secs(10))),
        ms(evaluation)
    );
    if let Some(am) = alertmanager {
        let _ = write!(
            text,
            "alerting:\n  alertmanagers:\n    - api_version: v2\n      static_configs:\n        - targets: [\"{am}\"]\n"
        );
    }
    let mut jobs: BTreeMap<&str, Vec<&TargetDef>> = BTreeMap::new();
    for target in alerts.iter().flat_map(|a| &a.targets) {
        let present = jobs.entry(&target.job).or_default();
        if !gone.contains(&target.path) {
            present.push(target);
        }
    }
    text.push_str("scrape_configs:\n");
    for (job, targets) in jobs {
        let none = if targets.is_empty() { " []" } else { "" };
        let _ = writeln!(
            text,
            "  - job_name: {}\n    static_configs:{none}",
            json(job)
        );
        for target in targets {
            let _ = writeln!(
                text,
                "      - targets: [\"{exporter}\"]\n        labels: {{ __metrics_path__: {}, instance: {} }}",
                json(&target.path),
                json(&target.instance)
            );
        }
    }
    text
}

fn json(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// A batch's rule groups: its alerts (and their namesakes in their
/// files) and the recording rules they read, scaled.
pub fn batch_groups(
    alerts: &[&Live],
    groups: &[LoadedGroups],
    read: &BTreeSet<String>,
    scale: f64,
    evaluation: Duration,
) -> Result<Vec<Group>, GroupScaleError> {
    let mut kept: Vec<Group> = Vec::new();
    for loaded in groups {
        for group in &loaded.groups {
            let rules: Vec<RuleDef> = group
                .rules
                .iter()
                .filter(|r| {
                    r.record.as_ref().is_some_and(|n| read.contains(n))
                        || alerts.iter().any(|a| {
                            a.origin == loaded.origin
                                && r.alert.is_some()
                                && r.alert == a.rule.alert
                        })
                })
                .cloned()
                .collect();
            if rules.is_empty() {
                continue;
            }
            let mut name = group.name.clone();
            while kept.iter().any(|g| g.name == name) {
                name.push('\'');
            }
            let group = Group {
                name,
                rules,
                ..group.clone()
            };
            kept.push(crate::rules::scale_group(&group, scale, evaluation)?);
        }
    }
    Ok(kept)
}
