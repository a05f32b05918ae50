//! Where Alertmanager sends a label set, and what mutes it, following its
//! dispatcher (dispatch/route.go `Route.Match`): a route matches when its
//! matchers do; its children are tried in order, each match collected, and
//! the first matching child without `continue: true` ends the search; a
//! route none of whose children match is itself the match. And its
//! inhibitor (inhibit/inhibit.go `Mutes`): a target is muted by an active
//! source alert with equal values of the `equal` labels — except that an
//! alert matching both sides is not muted by another that does too.

use std::time::Duration;

use super::{all_match, AlertmanagerConfig, GroupBy, InhibitRule, Muting, Route};
use crate::record::Labels;

/// One route a label set reaches, with what decides its timing.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteMatch {
    pub receiver: String,
    /// From the root to the matching route: `route`, `route.routes[1]
    /// {severity="warning"}`.
    pub path: Vec<String>,
    /// The matching route's own path (`route.routes[1]`).
    pub route: String,
    pub group_wait: Duration,
    pub group_interval: Duration,
    pub repeat_interval: Duration,
    /// The labels whose values make the alert's group (its group key).
    pub group_labels: Labels,
    pub muted_by_time: bool,
    /// What its time intervals do to it.
    pub muting: Muting,
}

impl RouteMatch {
    /// `route > route.routes[1] {severity="warning"}`.
    pub fn path_text(&self) -> String {
        self.path.join(" > ")
    }
}

/// An alert muted by another, and the rule that does it.
#[derive(Debug, Clone, PartialEq)]
pub struct Inhibition {
    /// `inhibit_rules[0]`, and the rule in words.
    pub rule: String,
    pub rule_text: String,
    /// Index into the sources given.
    pub source: usize,
}

impl AlertmanagerConfig {
    /// Every route `labels` reaches (usually one; more with `continue`).
    pub fn route_for(&self, labels: &Labels) -> Vec<RouteMatch> {
        let mut found = Vec::new();
        let mut trail = Vec::new();
        match_route(&self.route, labels, &mut trail, &mut found);
        for m in &mut found {
            m.muting = self.muting(&m.route);
        }
        found
    }

    /// The inhibition rule muting `target`, if any of the active `sources`
    /// (other alerts' labels) mutes it.
    pub fn inhibited_by(&self, target: &Labels, sources: &[Labels]) -> Option<Inhibition> {
        for rule in &self.inhibit_rules {
            if !all_match(&rule.target, target) {
                continue;
            }
            // Both sides match the target: sources that match both sides
            // do not count (Alertmanager's excludeTwoSidedMatch).
            let two_sided = all_match(&rule.source, target);
            let source = sources.iter().position(|source| {
                source != target
                    && all_match(&rule.source, source)
                    && equal_on(rule, source, target)
                    && !(two_sided && all_match(&rule.target, source))
            });
            if let Some(source) = source {
                return Some(Inhibition {
                    rule: rule.path.clone(),
                    rule_text: rule.describe(),
                    source,
                });
            }
        }
        None
    }
}

fn equal_on(rule: &InhibitRule, a: &Labels, b: &Labels) -> bool {
    rule.equal.iter().all(|name| {
        a.get(name).map(String::as_str).unwrap_or("")
            == b.get(name).map(String::as_str).unwrap_or("")
    })
}

fn match_route(
    route: &Route,
    labels: &Labels,
    trail: &mut Vec<String>,
    found: &mut Vec<RouteMatch>,
) -> bool {
    if !all_match(&route.matchers, labels) {
        return false;
    }
    trail.push(route.describe());
    let before = found.len();
    for child in &route.routes {
        if match_route(child, labels, trail, found) && !child.continue_matching {
            break;
        }
    }
    if found.len() == before {
        found.push(RouteMatch {
            receiver: route.receiver.clone(),
            path: trail.clone(),
            route: route.path.clone(),
            group_wait: route.group_wait,
            group_interval: route.group_interval,
            repeat_interval: route.repeat_interval,
            group_labels: group_labels(&route.group_by, labels),
            muted_by_time: !route.mute_time_intervals.is_empty()
                || !route.active_time_intervals.is_empty(),
            muting: Muting::Never,
        });
    }
    trail.pop();
    true
}

fn group_labels(group_by: &GroupBy, labels: &Labels) -> Labels {
    match group_by {
        GroupBy::All => labels.clone(),
        GroupBy::Labels(names) => names
            .iter()
            .filter_map(|n| labels.get(n).map(|v| (n.clone(), v.clone())))
            .collect(),
    }
}
