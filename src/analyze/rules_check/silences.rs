//! What a live Alertmanager's active silences mute: each silence held
//! against every label set an alert can take (`routing::label_sets`) —
//! a scenario's alerts when one is given, else every alert analysed
//! (`alertmanager/silence`).

use super::alerts::AlertAnalysis;
use super::routing::{label_sets, labels_text};
use crate::analyze::condition::Recordings;
use crate::analyze::finding::{LintFinding, LintId};
use crate::plan::Plan;
use crate::prom::alertmanager::AmSilence;
use crate::rules::alertmanager::{all_match, AlertmanagerConfig, MatchOp, Matcher};

/// Active silences that match an alert.
pub fn findings(
    silences: &[AmSilence],
    alerts: &[AlertAnalysis],
    scenario: Option<&Plan>,
    config: &AlertmanagerConfig,
    recordings: &Recordings,
) -> Vec<LintFinding> {
    let wanted: Option<Vec<&str>> = scenario.map(|p| {
        p.checks
            .iter()
            .filter_map(|c| c.kind.alert())
            .map(|a| a.name.as_str())
            .collect()
    });
    let mut findings = Vec::new();
    for silence in silences {
        let matchers = matchers_of(silence);
        for alert in alerts {
            if wanted
                .as_ref()
                .is_some_and(|w| !w.contains(&alert.alert.as_str()))
            {
                continue;
            }
            let matched = label_sets(alert, config, recordings)
                .into_iter()
                .find(|labels| all_match(&matchers, labels));
            if let Some(labels) = matched {
                findings.push(muted(silence, &alert.alert, &labels_text(&labels)));
            }
        }
    }
    findings
}

/// A silence's matchers as Alertmanager applies them (one that does not
/// compile matches nothing).
fn matchers_of(silence: &AmSilence) -> Vec<Matcher> {
    silence
        .matchers
        .iter()
        .filter_map(|m| {
            let op = match (m.is_equal, m.is_regex) {
                (true, false) => MatchOp::Equal,
                (false, false) => MatchOp::NotEqual,
                (true, true) => MatchOp::Regex,
                (false, true) => MatchOp::NotRegex,
            };
            Matcher::new(&m.name, op, &m.value).ok()
        })
        .collect()
}

fn muted(silence: &AmSilence, alert: &str, labels: &str) -> LintFinding {
    LintFinding::new(
        LintId::AlertmanagerSilence,
        format!("{alert} {{{labels}}}"),
        format!("silence {}", silence.id),
        format!(
            "the active silence {} ({}, created by {}: \"{}\", ends at {}) mutes this alert: its page would not come",
            silence.id,
            silence.matchers.iter().map(|m| m.text()).collect::<Vec<_>>().join(", "),
            silence.created_by,
            silence.comment,
            silence.ends_at
        ),
        format!(
            "expire it if the maintenance is over: amtool silence expire {}",
            silence.id
        ),
    )
}
