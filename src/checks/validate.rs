//! What the kinds' validation shares: the scenario around a check (its
//! phases, their planned windows, the time scale, the receivers known now)
//! and the readings several kinds make — a phase by name, an anchor, a
//! deadline that must end inside the run, an alert's name, a receiver, the
//! sources of an SLO.

use std::path::Path;
use std::time::Duration;

use super::format::CheckSpec;
use crate::setup::{AlertRef, Anchor, LoadModel, PhasePlan, Source};
use crate::spec::{is_metric_name, FieldPath, Validator};
use crate::time::format_duration;

/// The scenario around the checks, as validation needs it.
pub struct CheckContext<'a> {
    /// The scenario file's directory: files a check names are relative to it.
    pub base_dir: &'a Path,
    pub phase_names: &'a [String],
    /// Whether each phase sends traffic (an SLO needs some).
    pub sends_traffic: &'a [bool],
    /// Planned (start, end) of each phase from the run's start, scaled; `None`
    /// when a closed-model phase has no duration cap (the run's length then
    /// depends on the target's speed).
    pub windows: Option<Vec<(Duration, Duration)>>,
    pub scale: f64,
    /// The receivers notification checks may name, when known now.
    pub receivers: Option<&'a KnownReceivers>,
}

/// The receivers a check may name, when the routing is known before the run.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownReceivers {
    pub names: Vec<String>,
    pub origin: String,
}

/// Planned (start, end) of each phase, or `None` when a closed-model phase
/// has no duration cap.
pub fn phase_windows(phases: &[PhasePlan]) -> Option<Vec<(Duration, Duration)>> {
    let mut windows = Vec::new();
    let mut t = Duration::ZERO;
    for phase in phases {
        if let LoadModel::Closed {
            max_duration: None, ..
        } = phase.model
        {
            return None;
        }
        let end = t + phase.planned_duration();
        windows.push((t, end));
        t = end;
    }
    Some(windows)
}

/// Which edges an anchor may be: a resolution counts from a phase edge, a
/// firing also from the moment a condition held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorRule {
    EdgeOrCondition,
    EdgeOnly,
}

impl CheckContext<'_> {
    pub fn phase(&self, v: &mut Validator, path: FieldPath, name: &str) -> Option<usize> {
        let index = self.phase_names.iter().position(|p| p == name);
        if index.is_none() {
            v.problem(
                path,
                format!(
                    "no phase named `{name}` (phases: {})",
                    self.phase_names.join(", ")
                ),
            );
        }
        index
    }

    /// `<phase>.start` or `<phase>.end`.
    fn edge(&self, v: &mut Validator, path: FieldPath, text: &str) -> Option<Anchor> {
        let Some((phase, edge)) = text.rsplit_once('.') else {
            v.problem(
                path,
                format!("`after: {text}`: write `<phase>.start`, `<phase>.end` or `condition`"),
            );
            return None;
        };
        let index = self.phase(v, path.clone(), phase)?;
        match edge {
            "start" => Some(Anchor::PhaseStart { phase: index }),
            "end" => Some(Anchor::PhaseEnd { phase: index }),
            other => {
                v.problem(
                    path,
                    format!("`after: {text}`: `.{other}` is not `.start` or `.end`"),
                );
                None
            }
        }
    }

    /// What a deadline counts from (`after`, needed by `field`): a phase
    /// edge, or (`after: condition`) the moment a condition first held
    /// during `during`.
    pub fn anchor(
        &self,
        v: &mut Validator,
        spec: &CheckSpec,
        field: &str,
        rule: AnchorRule,
        path: &FieldPath,
    ) -> Option<Anchor> {
        let Some(after) = &spec.after else {
            v.problem(
                path.key("after"),
                format!("`{field}` needs `after`: `<phase>.start`, `<phase>.end` or `condition`"),
            );
            return None;
        };
        if after != "condition" {
            // A kind anchored at edges only does not read these keys at all
            // (`checks::kinds` says so); one that also reads a condition
            // reads them with `after: condition` only.
            for (extra, set) in [
                ("during", spec.during.is_some()),
                ("condition", spec.condition.is_some()),
            ] {
                if set && rule == AnchorRule::EdgeOrCondition {
                    v.problem(
                        path.key(extra),
                        format!("`{extra}` goes with `after: condition`"),
                    );
                }
            }
            return self.edge(v, path.key("after"), after);
        }
        if rule == AnchorRule::EdgeOnly {
            v.problem(
                path.key("after"),
                "a resolution counts from a phase edge, e.g. `after: recovery.start`",
            );
            return None;
        }
        let Some(during) = &spec.during else {
            v.problem(
                path.key("during"),
                "`after: condition` needs `during: <phase>`: the phase in which the condition is expected to become true",
            );
            return None;
        };
        let phase = self.phase(v, path.key("during"), during)?;
        if let Some(expr) = &spec.condition {
            if let Err(e) = promql_parser::parser::parse(expr) {
                v.problem(
                    path.key("condition"),
                    format!("condition is not valid PromQL: {e}"),
                );
                return None;
            }
        }
        Some(Anchor::Condition {
            phase,
            expr: spec.condition.clone(),
        })
    }

    /// A deadline counted from a phase edge must end before the run does, or
    /// the run cannot tell whether it was met.
    pub fn deadline_fits(
        &self,
        v: &mut Validator,
        path: FieldPath,
        anchor: &Anchor,
        deadline: Duration,
    ) {
        let Some(windows) = &self.windows else {
            return;
        };
        let anchor_at = match anchor {
            Anchor::PhaseStart { phase } => windows[*phase].0,
            Anchor::PhaseEnd { phase } => windows[*phase].1,
            Anchor::Condition { .. } => return,
        };
        let run_end = windows.last().map(|w| w.1).unwrap_or_default();
        if anchor_at + deadline > run_end {
            v.problem(
                path,
                format!(
                    "the deadline ends {} after the run's last phase (anchor at {} + deadline {} > run end {}); \
                     add a phase (one with only `duration` watches without traffic) or shorten the deadline",
                    format_duration(anchor_at + deadline - run_end),
                    format_duration(anchor_at),
                    format_duration(deadline),
                    format_duration(run_end),
                ),
            );
        }
    }

    /// A receiver a notification check names must exist, when the routing
    /// is known now.
    pub fn known_receiver(&self, v: &mut Validator, receiver: &str, path: FieldPath) {
        let Some(known) = self.receivers else {
            return;
        };
        if !known.names.iter().any(|n| n == receiver) {
            v.problem(
                path,
                format!(
                    "no receiver named `{receiver}` in {} (receivers: {})",
                    known.origin,
                    known.names.join(", ")
                ),
            );
        }
    }
}

/// How the anchor reads in a check's default name.
pub fn anchor_text(spec: &CheckSpec) -> String {
    match spec.after.as_deref() {
        Some("condition") if spec.condition.is_some() => "its condition held".to_string(),
        Some("condition") => "the alert's condition held".to_string(),
        other => other.unwrap_or_default().to_string(),
    }
}

/// Whether an alert a check names may carry `{label="value"}`: alert checks
/// tell apart alerts that share a name; notification checks name one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertLabels {
    Allowed,
    NameOnly,
}

/// `alert`, which this kind needs.
pub fn required_alert(
    v: &mut Validator,
    spec: &CheckSpec,
    path: &FieldPath,
    labels: AlertLabels,
) -> Option<AlertRef> {
    let Some(text) = &spec.alert else {
        v.problem(path.key("alert"), "this check needs `alert: <name>`");
        return None;
    };
    alert_named(v, text, path, labels)
}

/// An alert's name as written, or the problem with it.
pub fn alert_named(
    v: &mut Validator,
    text: &str,
    path: &FieldPath,
    labels: AlertLabels,
) -> Option<AlertRef> {
    let name = text.split('{').next().unwrap_or(text).trim();
    let plain = is_metric_name(name) && !name.contains(':');
    if labels == AlertLabels::NameOnly {
        if !plain || name != text {
            v.problem(
                path.key("alert"),
                format!("`{text}` is not an alert name (letters, digits and `_`)"),
            );
            return None;
        }
    } else if !plain {
        v.problem(
            path.key("alert"),
            format!("`{text}` is not an alert name (letters, digits and `_`, then optionally `{{label=\"value\"}}`)"),
        );
        return None;
    }
    match AlertRef::parse(text) {
        Ok(alert) => Some(alert),
        Err(why) => {
            v.problem(path.key("alert"), format!("`{text}`: {why}"));
            None
        }
    }
}

/// `source: [client, prometheus]` (both when not given).
pub fn sources(v: &mut Validator, spec: &CheckSpec, path: &FieldPath) -> Vec<Source> {
    let Some(list) = &spec.source else {
        return vec![Source::Client, Source::Prometheus];
    };
    let mut sources = Vec::new();
    for (i, name) in list.0.iter().enumerate() {
        match name.as_str() {
            "client" => sources.push(Source::Client),
            "prometheus" => sources.push(Source::Prometheus),
            other => v.problem(
                path.key("source").index(i),
                format!("unknown source `{other}`: use client, prometheus or both"),
            ),
        }
    }
    if list.0.is_empty() {
        v.problem(path.key("source"), "source lists no source");
    }
    sources
}

/// What both SLO kinds read first: `during` (a phase that sends traffic),
/// `source`, `below` (as text, read by the kind).
pub fn slo_common<'s>(
    spec: &'s CheckSpec,
    path: &FieldPath,
    context: &CheckContext,
    v: &mut Validator,
) -> Option<(&'s str, usize, Vec<Source>, &'s str)> {
    let (during, phase, sources) = slo_scope(spec, path, context, v)?;
    let Some(below) = &spec.below else {
        v.problem(path.key("below"), "an slo check needs `below`");
        return None;
    };
    Some((during, phase, sources, &below.0))
}

/// What an SLO is about: `during` (a phase that sends traffic) and
/// `source`; its bounds are the kind's to read.
pub fn slo_scope<'s>(
    spec: &'s CheckSpec,
    path: &FieldPath,
    context: &CheckContext,
    v: &mut Validator,
) -> Option<(&'s str, usize, Vec<Source>)> {
    let Some(during) = &spec.during else {
        v.problem(path.key("during"), "an slo check needs `during: <phase>`");
        return None;
    };
    let phase = context.phase(v, path.key("during"), during)?;
    if !context.sends_traffic.get(phase).copied().unwrap_or(true) {
        v.problem(
            path.key("during"),
            format!("phase `{during}` sends no traffic, so it has no latency or error ratio"),
        );
    }
    let sources = sources(v, spec, path);
    Some((during, phase, sources))
}

/// `receiver`, which a notification deadline needs, known to the routing
/// when it is known now.
pub fn required_receiver(
    spec: &CheckSpec,
    field: &str,
    path: &FieldPath,
    context: &CheckContext,
    v: &mut Validator,
) -> Option<String> {
    let Some(receiver) = &spec.receiver else {
        v.problem(
            path.key("receiver"),
            format!("`{field}` needs `receiver: <name>`: the receiver the page must reach"),
        );
        return None;
    };
    context.known_receiver(v, receiver, path.key("receiver"));
    Some(receiver.clone())
}
