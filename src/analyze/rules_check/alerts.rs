//! The per-alert stage of `rules check`: each alerting rule parsed, read
//! into the condition the timing model knows (`condition`), linted, checked
//! against a live Prometheus when one is given (missing series, evaluation
//! errors, its histograms' real buckets), and timed.

use std::collections::BTreeMap;
use std::time::Duration;

use promql_parser::parser::{Expr, VectorSelector};
use serde::Serialize;

use super::inputs::Setting;
use super::lint;
use super::live;
use crate::analyze::condition::{
    self, known_layout, quantile_call, KnownBuckets, Reader, Recording, Recordings, Shape,
    Unmodelled,
};
use crate::analyze::finding::{LintFinding, LintId};
use crate::analyze::timing::{self, Intervals, Knowledge, Timing};
use crate::prom::{PromClient, PromError};
use crate::rules::{promql, Group, LoadedGroups, RuleDef};

#[derive(Debug, Clone, Serialize)]
pub struct AlertAnalysis {
    pub alert: String,
    pub origin: String,
    /// The rule's own labels (`severity: warning`), as written.
    pub labels: BTreeMap<String, String>,
    pub group: String,
    pub expr: String,
    pub for_seconds: f64,
    pub group_interval_seconds: f64,
    /// The scrape interval of what it reads (a monitor's for its job, or
    /// Prometheus's).
    pub scrape_interval_seconds: f64,
    /// None: a condition the timing model does not read (`unmodelled` says why).
    pub shape: Option<Shape>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unmodelled: Option<Unmodelled>,
    pub timings: Vec<Timing>,
}

/// Histograms' bucket bounds read from a live Prometheus, by histogram name
/// (without `_bucket`); `None`: asked, and it has no such buckets.
pub type Buckets = BTreeMap<String, Option<Vec<f64>>>;

pub struct Analysed {
    pub alerts: Vec<AlertAnalysis>,
    pub findings: Vec<LintFinding>,
    pub buckets: Buckets,
}

/// One alerting rule and where it was written.
struct Site<'a> {
    alert: &'a str,
    origin: &'a str,
    group: &'a Group,
    rule: &'a RuleDef,
}

/// Analyses every alerting rule of `groups`.
pub async fn analyse(
    groups: &[LoadedGroups],
    setting: &Setting,
    prometheus: Option<&PromClient>,
) -> Result<Analysed, PromError> {
    // Recording rules' names exist only once the rules run.
    let recorded: Vec<String> = groups
        .iter()
        .flat_map(|l| &l.groups)
        .flat_map(|g| &g.rules)
        .filter_map(|r| r.record.clone())
        .collect();
    let sites = sites(groups);
    let absent = absent_selectors(&sites);
    let mut analysed = Analysed {
        alerts: Vec::new(),
        findings: Vec::new(),
        buckets: Buckets::new(),
    };
    let recordings = recordings(groups, setting.intervals.evaluation);
    let shared = Shared {
        setting,
        recorded: &recorded,
        recordings: &recordings,
        absent: &absent,
    };
    for site in &sites {
        site.analyse(&shared, prometheus, &mut analysed).await?;
    }
    if let Some(client) = prometheus {
        let names: Vec<(String, String)> = analysed
            .alerts
            .iter()
            .map(|a| (a.alert.clone(), a.origin.clone()))
            .collect();
        analysed
            .findings
            .extend(live::evaluation_errors(client, &names).await?);
    }
    Ok(analysed)
}

/// Every alerting rule of `groups`, with where it was written.
fn sites(groups: &[LoadedGroups]) -> Vec<Site<'_>> {
    groups
        .iter()
        .flat_map(|loaded| loaded.groups.iter().map(move |g| (loaded, g)))
        .flat_map(|(loaded, group)| group.rules.iter().map(move |r| (loaded, group, r)))
        .filter_map(|(loaded, group, rule)| {
            Some(Site {
                alert: rule.alert.as_deref()?,
                origin: &loaded.origin,
                group,
                rule,
            })
        })
        .collect()
}

/// What every alert asks absent() about: an `up == 0` alert is covered
/// when one of them watches the same targets. (Only expressions that
/// mention it are parsed for this; each is parsed again when analysed, so
/// no syntax tree outlives its alert.)
fn absent_selectors(sites: &[Site]) -> Vec<VectorSelector> {
    sites
        .iter()
        .filter(|s| s.rule.expr.contains("absent"))
        .filter_map(|s| promql_parser::parser::parse(&s.rule.expr).ok())
        .flat_map(|expr| {
            promql::absent_selectors(&expr)
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The recording rules of `groups` that parse, by the name they write;
/// a group without an interval is evaluated every `evaluation`.
pub fn recordings(groups: &[LoadedGroups], evaluation: Duration) -> Recordings {
    let mut recordings = Recordings::new();
    for group in groups.iter().flat_map(|l| &l.groups) {
        let interval = duration_of(group.interval.as_deref()).unwrap_or(evaluation);
        for rule in &group.rules {
            let Some(name) = &rule.record else { continue };
            let Ok(expr) = promql_parser::parser::parse(&rule.expr) else {
                continue;
            };
            recordings.entry(name.clone()).or_default().push(Recording {
                expr,
                labels: rule.labels.clone(),
                interval,
                group: group.name.clone(),
            });
        }
    }
    recordings
}

/// What every site's analysis reads.
struct Shared<'a> {
    setting: &'a Setting,
    recorded: &'a [String],
    recordings: &'a Recordings,
    absent: &'a [VectorSelector],
}

fn duration_of(text: Option<&str>) -> Option<Duration> {
    text.and_then(|t| promql_parser::util::parse_duration(t).ok())
}

/// Buckets known for `histogram`: live ones first, then known layouts
/// (`jobs`: the rule's `job` matchers, for names many exporters share).
fn known_buckets(live: &Buckets, histogram: &str, jobs: &[String]) -> Option<KnownBuckets> {
    match live.get(histogram) {
        Some(Some(bounds)) => Some(KnownBuckets {
            bounds: bounds.clone(),
            from: "the live Prometheus".into(),
        }),
        _ => known_layout(histogram, jobs),
    }
}

/// The values (or patterns) of the `job` matchers `expr` selects with.
pub fn job_matchers(expr: &Expr) -> Vec<String> {
    crate::rules::promql::selectors(expr)
        .into_iter()
        .flat_map(|s| s.matchers.matchers.iter())
        .filter(|m| m.name == "job")
        .map(|m| m.value.clone())
        .collect()
}

/// The intervals and durations one alert is judged with, and what of
/// them nobody said.
struct Times {
    group_interval: Duration,
    group_assumed: Option<String>,
    scrape: Duration,
    scrape_assumed: Option<String>,
    hold: Duration,
    keep: Duration,
}

impl Site<'_> {
    async fn analyse(
        &self,
        shared: &Shared<'_>,
        prometheus: Option<&PromClient>,
        into: &mut Analysed,
    ) -> Result<(), PromError> {
        let expr = match promql_parser::parser::parse(&self.rule.expr) {
            Ok(expr) => expr,
            Err(e) => {
                into.findings.push(LintFinding::new(
                    LintId::RuleParse,
                    self.alert,
                    self.origin,
                    format!("the expression does not parse: {e}"),
                    "fix the PromQL (promtool check rules says the same)",
                ));
                return Ok(());
            }
        };
        if let Some(client) = prometheus {
            prefetch_buckets(client, &expr, &mut into.buckets).await;
            into.findings.extend(
                live::missing_series(client, self.alert, self.origin, &expr, shared.recorded)
                    .await?,
            );
        }
        let read = condition::read(
            &expr,
            &Reader::new(shared.recordings).in_group(&self.group.name),
        );
        let times = self.times(shared.setting, &expr);
        let jobs = job_matchers(&expr);
        let known = |name: &str| known_buckets(&into.buckets, name, &jobs);
        let findings = self.lint(shared, &expr, read.as_ref().ok(), &times, &known);
        let timings = match &read {
            Ok(shape) => self.timings(shape, &times, shared.setting, &known),
            Err(_) => Vec::new(),
        };
        into.findings.extend(findings);
        into.alerts.push(self.analysis(read, &times, timings));
        Ok(())
    }

    fn times(&self, setting: &Setting, expr: &Expr) -> Times {
        let given_interval = duration_of(self.group.interval.as_deref());
        let (scrape, scrape_assumed) = setting.scrape_for(expr);
        Times {
            group_interval: given_interval.unwrap_or(setting.intervals.evaluation),
            group_assumed: given_interval
                .is_none()
                .then(|| setting.evaluation_assumed.clone())
                .flatten(),
            scrape,
            scrape_assumed,
            hold: duration_of(self.rule.for_.as_deref()).unwrap_or_default(),
            keep: duration_of(self.rule.keep_firing_for.as_deref()).unwrap_or_default(),
        }
    }

    fn lint(
        &self,
        shared: &Shared<'_>,
        expr: &Expr,
        shape: Option<&Shape>,
        times: &Times,
        buckets: &dyn Fn(&str) -> Option<KnownBuckets>,
    ) -> Vec<LintFinding> {
        let covered = |up: &VectorSelector| {
            shared
                .absent
                .iter()
                .any(|absent| lint::absence_covers(absent, up))
        };
        let context = lint::Context {
            scrape_interval: times.scrape,
            scrape_assumed: times.scrape_assumed.clone(),
            group_interval: times.group_interval,
            group_assumed: times.group_assumed.clone(),
            evaluation_interval: shared.setting.intervals.evaluation,
            buckets,
            absence_covered: &covered,
            targets: &|selector: &VectorSelector| shared.setting.targets_of(selector),
        };
        lint::lint_alert(self.alert, self.origin, expr, shape, times.hold, &context)
    }

    fn timings(
        &self,
        shape: &Shape,
        times: &Times,
        setting: &Setting,
        buckets: &dyn Fn(&str) -> Option<KnownBuckets>,
    ) -> Vec<Timing> {
        let bounds = |name: &str| buckets(name).map(|k| k.bounds);
        let knowledge = Knowledge {
            intervals: Intervals {
                scrape: times.scrape,
                evaluation: times.group_interval,
                scrape_timeout: setting.intervals.scrape_timeout.min(times.scrape),
            },
            buckets: &bounds,
        };
        timing::timings(shape, times.hold, times.keep, &knowledge)
    }

    fn analysis(
        &self,
        read: Result<Shape, Unmodelled>,
        times: &Times,
        timings: Vec<Timing>,
    ) -> AlertAnalysis {
        let (shape, unmodelled) = match read {
            Ok(shape) => (Some(shape), None),
            Err(why) => (None, Some(why)),
        };
        AlertAnalysis {
            alert: self.alert.to_string(),
            origin: self.origin.to_string(),
            labels: self.rule.labels.clone(),
            group: self.group.name.clone(),
            expr: self.rule.expr.trim().to_string(),
            for_seconds: times.hold.as_secs_f64(),
            group_interval_seconds: times.group_interval.as_secs_f64(),
            scrape_interval_seconds: times.scrape.as_secs_f64(),
            shape,
            unmodelled,
            timings,
        }
    }
}

/// Reads the buckets of the histograms the lints will ask about
/// (`quantile_call`), once per histogram.
async fn prefetch_buckets(client: &PromClient, expr: &Expr, buckets: &mut Buckets) {
    let mut histograms = Vec::new();
    promql::walk(expr, &mut |node| {
        if let Some((_, histogram, _)) = quantile_call(node) {
            histograms.push(histogram);
        }
    });
    for histogram in histograms {
        if let std::collections::btree_map::Entry::Vacant(slot) = buckets.entry(histogram) {
            let bounds = live::bucket_bounds(client, slot.key()).await;
            slot.insert(bounds);
        }
    }
}

/// How many alerts the timing model gives a time for.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Coverage {
    pub alerts: usize,
    /// With best/worst times (or an honest "never") for at least one step.
    pub timed: usize,
    /// Reading a recorded series no file given defines: nobody can say
    /// what it holds, so they are not counted.
    pub unknowable: usize,
    /// timed ÷ (alerts − unknowable), in percent.
    pub percent: f64,
    /// The others, with why.
    pub not_timed: Vec<(String, String)>,
}

pub fn coverage(alerts: &[AlertAnalysis]) -> Coverage {
    let mut coverage = Coverage {
        alerts: alerts.len(),
        ..Coverage::default()
    };
    for alert in alerts {
        if !alert.timings.is_empty() {
            coverage.timed += 1;
        } else if matches!(alert.unmodelled, Some(Unmodelled::RecordedElsewhere(_))) {
            coverage.unknowable += 1;
        } else {
            let why = match &alert.unmodelled {
                Some(why) => why.text(),
                None => "no step of what it watches is known to the model".into(),
            };
            coverage.not_timed.push((alert.alert.clone(), why));
        }
    }
    let counted = coverage.alerts - coverage.unknowable;
    coverage.percent = if counted == 0 {
        100.0
    } else {
        (coverage.timed as f64 * 1000.0 / counted as f64).round() / 10.0
    };
    coverage
}
