//! Where each alert's notification goes, without traffic, from the
//! Alertmanager configuration among the files: the receiver(s) its label
//! sets reach (the labels promtool saw it fire with, when the proof ran;
//! else the ones the routing analysis says it can carry), and whether it
//! is `unrouted` (every route ends at a receiver with no integrations) or
//! `silenced` (every route muted at all times by its time intervals, or an
//! inhibition without `equal` that another alert of these rules sets off,
//! for any service). The live proof confirms these by sending alerts.

use crate::record::Labels;
use crate::rules::alertmanager::{AlertmanagerConfig, Muting};

/// What the static routing says of one alert.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Routed {
    /// The receivers it reaches, joined (`pager`, `chat, pager`).
    pub receiver: Option<String>,
    /// Why no notification reaches anyone.
    pub unrouted: Option<String>,
    /// Why it is muted.
    pub silenced: Option<String>,
}

/// Routes `name`'s label sets; `every` is each alert of the rules with
/// each label set it can take (for inhibitions).
pub fn route(
    name: &str,
    sets: &[Labels],
    config: &AlertmanagerConfig,
    every: &[(String, Labels)],
) -> Routed {
    let mut receivers: Vec<String> = Vec::new();
    let mut unrouted = Vec::new();
    let mut silenced = Vec::new();
    for labels in sets {
        let routes = config.route_for(labels);
        let mut notifies = false;
        let mut muted = None;
        for route in &routes {
            if !receivers.contains(&route.receiver) {
                receivers.push(route.receiver.clone());
            }
            let integrations = config
                .receiver(&route.receiver)
                .is_some_and(|r| !r.integrations.is_empty());
            if !integrations {
                unrouted.push(format!(
                    "routed to `{}` via {}, a receiver with no integrations: nobody is notified",
                    route.receiver,
                    route.path_text()
                ));
                continue;
            }
            match &route.muting {
                Muting::Always { .. } => {
                    muted.get_or_insert(format!(
                        "its route {} to `{}` is {}",
                        route.path_text(),
                        route.receiver,
                        route.muting.text()
                    ));
                }
                _ => notifies = true,
            }
        }
        let inhibited = config.inhibit_rules.iter().find_map(|rule| {
            crate::analyze::rules_check::source_without_equal(rule, (name, labels), every).map(
                |source| {
                    format!(
                        "inhibited by {source} through {} (no `equal`: whenever {source} fires, for any service, this alert is muted everywhere)",
                        rule.describe()
                    )
                },
            )
        });
        match (notifies, muted, inhibited) {
            (true, _, None) => return routed(receivers, None, None),
            (_, _, Some(why)) => silenced.push(why),
            (false, Some(why), None) => silenced.push(why),
            (false, None, None) => {}
        }
    }
    let silenced = (!silenced.is_empty()).then(|| silenced.join("; "));
    let unrouted = (silenced.is_none() && !unrouted.is_empty()).then(|| {
        unrouted.dedup();
        unrouted.join("; ")
    });
    routed(receivers, unrouted, silenced)
}

fn routed(receivers: Vec<String>, unrouted: Option<String>, silenced: Option<String>) -> Routed {
    Routed {
        receiver: (!receivers.is_empty()).then(|| receivers.join(", ")),
        unrouted,
        silenced,
    }
}
