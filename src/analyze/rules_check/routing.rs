//! Routing without traffic: for each alert rule, and each label set its
//! labels can take, the receiver(s) an Alertmanager configuration sends it
//! to, by which route, and the worst-case time to the first notification
//! (time to fire + `group_wait`; + `group_interval` when its group can
//! already exist, because another alert shares it), and what its time
//! intervals do to it (muted always, at some times, or never). Findings: an
//! alert that reaches a receiver with no integrations, a route muted at
//! every moment, an inhibition rule whose source and target both match the
//! same alert, one without `equal` (any source, anywhere, mutes every
//! target everywhere), a `continue: false` route that shadows a later, more
//! specific one. (Silences: `silences`.)
//!
//! The label sets: `alertname`, the rule's own labels, and the labels the
//! expression's result keeps — recording rules followed, so an alert on a
//! series recorded by `sum(…)` carries only what the recording keeps and
//! its rule's own labels — with their value where every selector pins it
//! (`absent(up{job="x"} == 1)` → `job="x"`) or the recording rule sets it.
//! A label whose value is not known but which the routing tree or an
//! inhibition rule matches on takes each value they name, and one value
//! they do not (`<other>`).

use std::collections::{BTreeMap, BTreeSet};

use promql_parser::label::MatchOp as PromOp;
use promql_parser::parser::Expr;
use serde::Serialize;

use super::alerts::AlertAnalysis;
use crate::analyze::condition::{recording_for, Recordings};
use crate::analyze::finding::{LintFinding, LintId};
use crate::analyze::timing::Bounds;
use crate::record::Labels;
use crate::rules::alertmanager::{
    all_match, AlertmanagerConfig, MatchOp, Matcher, Muting, Route, RouteMatch,
};
use crate::rules::promql::{self, metric_name, Labels as Output};

/// A value no matcher names (a label whose value is not known).
pub const OTHER: &str = "<other>";
/// At most this many label sets per alert.
const MAX_VARIANTS: usize = 8;

#[derive(Debug, Clone, Serialize)]
pub struct RoutingResult {
    pub alert: String,
    /// `job=api-gateway, severity=warning` (without alertname).
    pub labels: String,
    pub receiver: String,
    pub integrations: String,
    pub route: String,
    pub group_wait_seconds: f64,
    pub group_interval_seconds: f64,
    /// Another alert can share its group: the first notification may wait
    /// for the group's next flush (`group_interval`) instead.
    pub group_shared: bool,
    /// Time to fire (the worst case over the analysed steps) plus the wait;
    /// none when its route is muted at every moment.
    pub first_notification: Option<Bounds>,
    /// What the route's time intervals do (absent: nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub muted: Option<String>,
}

/// The label sets `analysis`'s alert can take.
pub fn label_sets(
    analysis: &AlertAnalysis,
    config: &AlertmanagerConfig,
    recordings: &Recordings,
) -> Vec<Labels> {
    let mut known: Labels = analysis
        .labels
        .iter()
        .filter(|(_, v)| !v.contains("{{"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    known.insert("alertname".into(), analysis.alert.clone());
    let mut unknown = BTreeSet::new();
    let mentioned = mentioned_values(config);
    if let Ok(expr) = promql_parser::parser::parse(&analysis.expr) {
        let (pinned, kept) = expression_labels(&expr, recordings);
        for (name, value) in pinned {
            known.entry(name).or_insert(value);
        }
        for name in mentioned.keys() {
            if !known.contains_key(name) && kept.keeps(name) {
                unknown.insert(name.clone());
            }
        }
    }
    let mut sets = vec![known];
    for name in unknown {
        let mut values: Vec<String> = mentioned
            .get(&name)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        values.push(OTHER.into());
        let mut next = Vec::new();
        for set in &sets {
            for value in &values {
                let mut variant = set.clone();
                variant.insert(name.clone(), value.clone());
                next.push(variant);
            }
        }
        next.truncate(MAX_VARIANTS);
        sets = next;
    }
    sets
}

/// Labels the result carries with a known value, and which it keeps.
fn expression_labels(expr: &Expr, recordings: &Recordings) -> (Labels, Output) {
    let mut pinned = Labels::new();
    let mut absent = None;
    promql::walk(expr, &mut |node| {
        if let Expr::Call(call) = node {
            if call.func.name == "absent" {
                absent = Some(node);
            }
        }
    });
    let source = absent.unwrap_or(expr);
    let selectors = promql::selectors(source);
    let kept = if absent.is_some() {
        Output::Only(BTreeSet::new())
    } else {
        carried(expr, recordings, 0)
    };
    let mut names = BTreeSet::new();
    for s in &selectors {
        for m in &s.matchers.matchers {
            names.insert(m.name.clone());
        }
    }
    for name in names {
        let values: BTreeSet<&str> = selectors
            .iter()
            .map(|s| {
                s.matchers
                    .matchers
                    .iter()
                    .find(|m| m.name == name && matches!(m.op, PromOp::Equal))
                    .map(|m| m.value.as_str())
            })
            .collect::<Option<BTreeSet<&str>>>()
            .unwrap_or_default();
        if values.len() == 1 && (absent.is_some() || kept.keeps(&name)) && name != "__name__" {
            pinned.insert(
                name,
                values.into_iter().next().unwrap_or_default().to_string(),
            );
        }
    }
    // A recording rule's own labels are on what it writes.
    for selector in promql::selectors(expr) {
        if let Ok(recording) = recording_for(recordings, selector) {
            for (name, value) in &recording.labels {
                if kept.keeps(name) && !value.contains("{{") {
                    pinned.entry(name.clone()).or_insert_with(|| value.clone());
                }
            }
        }
    }
    (pinned, kept)
}

/// The labels `expr`'s result keeps, a recorded series carrying what its
/// rule's expression keeps and the rule's own labels.
pub fn carried(expr: &Expr, recordings: &Recordings, depth: u8) -> Output {
    promql::output_labels_with(expr, &|selector| {
        let name = metric_name(selector).unwrap_or_default();
        if depth > 8 || !recordings.contains_key(&name) {
            return Output::All;
        }
        match recording_for(recordings, selector) {
            Ok(recording) => match carried(&recording.expr, recordings, depth + 1) {
                Output::Only(mut kept) => {
                    kept.extend(recording.labels.keys().cloned());
                    Output::Only(kept)
                }
                Output::AllExcept(mut dropped) => {
                    dropped.retain(|d| !recording.labels.contains_key(d));
                    Output::AllExcept(dropped)
                }
                Output::All => Output::All,
            },
            Err(_) => Output::All,
        }
    })
}

/// For each label the configuration matches on, the values its `=`
/// matchers name.
fn mentioned_values(config: &AlertmanagerConfig) -> BTreeMap<String, BTreeSet<String>> {
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut add = |m: &Matcher| {
        let values = found.entry(m.name.clone()).or_default();
        if m.op == MatchOp::Equal || m.op == MatchOp::NotEqual {
            values.insert(m.value.clone());
        }
    };
    for route in config.routes() {
        route.matchers.iter().for_each(&mut add);
    }
    for rule in &config.inhibit_rules {
        rule.source.iter().chain(&rule.target).for_each(&mut add);
    }
    found
}

/// `job=api-gateway, severity=warning`.
pub fn labels_text(labels: &Labels) -> String {
    labels
        .iter()
        .filter(|(k, _)| k.as_str() != "alertname")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where each alert goes, and what is wrong with the configuration.
pub fn analyse(
    alerts: &[AlertAnalysis],
    config: &AlertmanagerConfig,
    recordings: &Recordings,
) -> (Vec<RoutingResult>, Vec<LintFinding>) {
    let mut results = Vec::new();
    let mut findings = Vec::new();
    let every: Vec<(String, Labels)> = alerts
        .iter()
        .flat_map(|a| {
            label_sets(a, config, recordings)
                .into_iter()
                .map(move |l| (a.alert.clone(), l))
        })
        .collect();
    for analysis in alerts {
        // The earliest best and the latest worst over the analysed steps.
        let firing = analysis
            .timings
            .iter()
            .filter_map(|t| t.firing)
            .reduce(Bounds::widest);
        for labels in label_sets(analysis, config, recordings) {
            for route in config.route_for(&labels) {
                let shared = every.iter().any(|(name, other)| {
                    name != &analysis.alert
                        && config
                            .route_for(other)
                            .iter()
                            .any(|r| r.route == route.route && r.group_labels == route.group_labels)
                });
                let receiver = config.receiver(&route.receiver);
                if receiver.is_some_and(|r| r.integrations.is_empty()) {
                    findings.push(no_integrations(analysis, &labels, &route, config));
                }
                let muted_always = matches!(route.muting, Muting::Always { .. });
                if muted_always {
                    findings.push(muted(analysis, &labels, &route, config));
                }
                let wait = route.group_wait.as_secs_f64();
                let interval = route.group_interval.as_secs_f64();
                results.push(RoutingResult {
                    alert: analysis.alert.clone(),
                    labels: labels_text(&labels),
                    receiver: route.receiver.clone(),
                    integrations: receiver.map(|r| r.integration_list()).unwrap_or_default(),
                    route: route.path_text(),
                    group_wait_seconds: wait,
                    group_interval_seconds: interval,
                    group_shared: shared,
                    first_notification: firing
                        .filter(|_| !muted_always)
                        .map(|b| b.plus(wait, if shared { wait.max(interval) } else { wait })),
                    muted: (route.muting != Muting::Never).then(|| route.muting.text()),
                });
            }
            findings.extend(self_inhibition(analysis, &labels, config));
        }
    }
    findings.extend(shadowed_routes(&config.route, &config.origin));
    findings.extend(inhibitions_without_equal(&every, config));
    dedup(&mut findings);
    (results, findings)
}

fn no_integrations(
    analysis: &AlertAnalysis,
    labels: &Labels,
    route: &RouteMatch,
    config: &AlertmanagerConfig,
) -> LintFinding {
    LintFinding::new(
        LintId::AlertmanagerNoIntegrations,
        format!("{} {{{}}}", analysis.alert, labels_text(labels)),
        config.origin.clone(),
        format!(
            "routed to `{}` via {}, a receiver with no integrations: Alertmanager routes to it and nobody is notified",
            route.receiver,
            route.path_text()
        ),
        format!(
            "give `{}` an integration, or route the alert to a receiver that has one",
            route.receiver
        ),
    )
}

fn muted(
    analysis: &AlertAnalysis,
    labels: &Labels,
    route: &RouteMatch,
    config: &AlertmanagerConfig,
) -> LintFinding {
    LintFinding::new(
        LintId::AlertmanagerMutedAlways,
        format!("{} {{{}}}", analysis.alert, labels_text(labels)),
        config.origin.clone(),
        format!(
            "routed to `{}` via {}, which is {}: Alertmanager never notifies anyone of it",
            route.receiver,
            route.path_text(),
            route.muting.text()
        ),
        "fix the time interval (or the route's mute_time_intervals / active_time_intervals) so the route is active at some time",
    )
}

/// An alert `every` holds (by name, with one of its label sets) that the
/// inhibition `rule`, which has no `equal`, lets mute `target`.
pub fn source_without_equal<'a>(
    rule: &crate::rules::alertmanager::InhibitRule,
    target: (&str, &Labels),
    every: &'a [(String, Labels)],
) -> Option<&'a str> {
    if !rule.equal.is_empty() || !all_match(&rule.target, target.1) {
        return None;
    }
    every
        .iter()
        .find(|(name, labels)| {
            name != target.0
                && all_match(&rule.source, labels)
                && !(all_match(&rule.source, target.1) && all_match(&rule.target, labels))
        })
        .map(|(name, _)| name.as_str())
}

/// Inhibition rules without `equal`: a source alert from any service mutes
/// every target, everywhere.
fn inhibitions_without_equal(
    every: &[(String, Labels)],
    config: &AlertmanagerConfig,
) -> Vec<LintFinding> {
    let mut findings = Vec::new();
    for rule in config.inhibit_rules.iter().filter(|r| r.equal.is_empty()) {
        let example = every.iter().find_map(|(name, labels)| {
            source_without_equal(rule, (name, labels), every).map(|source| (source, name))
        });
        let example = match example {
            Some((source, target)) => {
                format!(" (here: whenever {source} fires, for whatever service, {target} is muted)")
            }
            None => String::new(),
        };
        findings.push(LintFinding::new(
            LintId::AlertmanagerInhibitWithoutEqual,
            rule.path.clone(),
            config.origin.clone(),
            format!(
                "{} has no `equal`: any alert matching its source, from any service, mutes every alert matching its target everywhere{example}",
                rule.describe()
            ),
            "add `equal` with the labels that say which alerts belong together (e.g. equal: [namespace, job])",
        ));
    }
    findings
}

fn dedup(findings: &mut Vec<LintFinding>) {
    let mut seen = BTreeSet::new();
    findings.retain(|f| seen.insert((f.id.as_str(), f.subject.clone(), f.reason.clone())));
}

fn self_inhibition(
    analysis: &AlertAnalysis,
    labels: &Labels,
    config: &AlertmanagerConfig,
) -> Vec<LintFinding> {
    config
        .inhibit_rules
        .iter()
        .filter(|rule| all_match(&rule.source, labels) && all_match(&rule.target, labels))
        .map(|rule| LintFinding::new(
            LintId::AlertmanagerSelfInhibition,
            format!("{} {{{}}}", analysis.alert, labels_text(labels)),
            config.origin.clone(),
            format!(
                "{}: its source and its target both match this alert, so the alert meant to mute others can itself be muted (by any alert matching the source alone)",
                rule.describe()
            ),
            "narrow the source or the target so that no alert matches both (e.g. source severity=\"critical\", target severity=\"warning\")",
        ))
        .collect()
}

/// `a`'s matchers hold for every label set `b`'s matchers allow.
fn implied_by(a: &[Matcher], b: &[Matcher]) -> bool {
    a.iter().all(|m| {
        b.iter().any(|n| {
            n.name == m.name && (n == m || (n.op == MatchOp::Equal && m.matches_value(&n.value)))
        })
    })
}

fn shadowed_routes(route: &Route, origin: &str) -> Vec<LintFinding> {
    let mut findings = Vec::new();
    for (i, earlier) in route.routes.iter().enumerate() {
        if earlier.continue_matching {
            continue;
        }
        for later in &route.routes[i + 1..] {
            if implied_by(&earlier.matchers, &later.matchers) {
                findings.push(LintFinding::new(
                    LintId::AlertmanagerShadowedRoute,
                    later.describe(),
                    origin,
                    format!(
                        "never reached: {} matches every alert it does and has `continue: false`, so `{}` never gets them",
                        earlier.describe(),
                        later.receiver
                    ),
                    format!("move {} before {}, or add `continue: true` to the earlier route", later.path, earlier.path),
                ));
            }
        }
    }
    for child in &route.routes {
        findings.extend(shadowed_routes(child, origin));
    }
    findings
}
