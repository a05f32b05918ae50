//! Checks: which kind each is, the phases and anchors it names, its bounds,
//! and whether its deadline fits in the run.

use std::time::Duration;

use super::{is_metric_name, scaled, Validator};
use crate::plan::{Anchor, CheckKind, CheckPlan, LoadModel, PhasePlan, Source};
use crate::scenario::format::{CheckSpec, PhaseSpec};
use crate::scenario::locate::FieldPath;
use crate::scenario::units::{HumanDuration, Ratio};
use crate::time::format_duration;

pub(super) struct CheckContext<'a> {
    /// The scenario file's directory: files a check names are relative to it.
    pub(super) base_dir: &'a std::path::Path,
    pub(super) phase_names: &'a [String],
    pub(super) phases: &'a [PhaseSpec],
    /// Planned (start, end) of each phase from the run's start, scaled; `None`
    /// when a closed-model phase has no duration cap (the run's length then
    /// depends on the target's speed).
    pub(super) windows: Option<Vec<(Duration, Duration)>>,
    pub(super) scale: f64,
    /// The receivers notification checks may name, when known now.
    pub(super) receivers: Option<&'a super::notify::KnownReceivers>,
}

pub(super) fn phase_windows(phases: &[PhasePlan]) -> Option<Vec<(Duration, Duration)>> {
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

/// A deadline counted from a phase edge must end before the run does, or the
/// run cannot tell whether it was met.
pub(super) fn check_deadline_fits(
    v: &mut Validator,
    path: FieldPath,
    anchor: &Anchor,
    deadline: Duration,
    windows: &[(Duration, Duration)],
) {
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

impl CheckContext<'_> {
    pub(super) fn phase(&self, v: &mut Validator, path: FieldPath, name: &str) -> Option<usize> {
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

    fn anchor(&self, v: &mut Validator, path: FieldPath, text: &str) -> Option<Anchor> {
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
}

pub(super) fn validate_check(
    v: &mut Validator,
    spec: &CheckSpec,
    path: &FieldPath,
    index: usize,
    context: &CheckContext,
) -> Vec<CheckPlan> {
    let id = format!("checks[{index}]");
    if super::notify::is_notification_check(spec) {
        return super::notify::validate_notification_check(v, spec, path, context)
            .map(|(name, kind)| vec![CheckPlan { id, name, kind }])
            .unwrap_or_default();
    }
    if spec.receiver.is_some() {
        v.problem(
            path.key("receiver"),
            "`receiver` goes with `notifies_within`, `notifies_resolved_within` or `no_notifications_during`",
        );
    }
    if let Some(file) = &spec.dashboard {
        if spec.alert.is_some() || spec.slo.is_some() {
            v.problem(
                path.clone(),
                "a check is about an `alert`, an `slo` or a `dashboard`, one of them",
            );
            return Vec::new();
        }
        return validate_dashboard_check(v, spec, file, path, context)
            .map(|(name, kind)| vec![CheckPlan { id, name, kind }])
            .unwrap_or_default();
    }
    if spec.except.is_some() {
        v.problem(path.key("except"), "`except` goes with `dashboard`");
    }
    match (&spec.alert, &spec.slo) {
        (Some(_), Some(_)) => {
            v.problem(
                path.clone(),
                "a check is either about an `alert` or an `slo`, not both",
            );
            Vec::new()
        }
        (None, None) => {
            v.problem(
                path.clone(),
                "a check needs `alert: <name>` (fires_within, resolves_within, silent_during, \
                 notifies_within, notifies_resolved_within, routed_to), `slo: latency | error_ratio`, \
                 `dashboard` or `no_notifications_during`",
            );
            Vec::new()
        }
        (Some(alert), None) => validate_alert_check(v, spec, alert, path, context)
            .map(|(name, kind)| vec![CheckPlan { id, name, kind }])
            .unwrap_or_default(),
        (None, Some(slo)) => validate_slo_check(v, spec, slo, path, &id, context),
    }
}

fn validate_alert_check(
    v: &mut Validator,
    spec: &CheckSpec,
    alert: &str,
    path: &FieldPath,
    context: &CheckContext,
) -> Option<(String, CheckKind)> {
    let name = crate::plan::AlertRef::name_of(alert);
    if !is_metric_name(name) || name.contains(':') {
        v.problem(
            path.key("alert"),
            format!("`{alert}` is not an alert name (letters, digits and `_`, then optionally `{{label=\"value\"}}`)"),
        );
    } else if let Err(why) = crate::plan::AlertRef::parse(alert) {
        v.problem(path.key("alert"), format!("`{alert}`: {why}"));
    }
    for (field, set) in [
        ("slo", spec.slo.is_some()),
        ("quantile", spec.quantile.is_some()),
        ("below", spec.below.is_some()),
        ("source", spec.source.is_some()),
    ] {
        if set {
            v.problem(
                path.key(field),
                format!("`{field}` belongs to an `slo` check, not an `alert` check"),
            );
        }
    }
    let kinds = [
        spec.fires_within.is_some(),
        spec.resolves_within.is_some(),
        spec.silent_during.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        v.problem(
            path.clone(),
            "an alert check says exactly one of: `fires_within`, `resolves_within`, `silent_during`",
        );
        return None;
    }
    match &spec.silent_during {
        Some(phase_name) => validate_silent_check(v, spec, alert, phase_name, path, context),
        None => validate_deadline_check(v, spec, alert, path, context),
    }
}

fn validate_silent_check(
    v: &mut Validator,
    spec: &CheckSpec,
    alert: &str,
    phase_name: &str,
    path: &FieldPath,
    context: &CheckContext,
) -> Option<(String, CheckKind)> {
    for (field, set) in [
        ("after", spec.after.is_some()),
        ("during", spec.during.is_some()),
        ("condition", spec.condition.is_some()),
    ] {
        if set {
            v.problem(
                path.key(field),
                format!("`{field}` does not apply to `silent_during`"),
            );
        }
    }
    let phase = context.phase(v, path.key("silent_during"), phase_name)?;
    let allow_pending = spec.allow_pending.unwrap_or(false);
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| format!("{alert} stays silent during {phase_name}"));
    Some((
        name,
        CheckKind::SilentDuring {
            alert: alert.to_string(),
            phase,
            allow_pending,
        },
    ))
}

/// `fires_within` or `resolves_within`, with its anchor.
fn validate_deadline_check(
    v: &mut Validator,
    spec: &CheckSpec,
    alert: &str,
    path: &FieldPath,
    context: &CheckContext,
) -> Option<(String, CheckKind)> {
    if spec.allow_pending.is_some() {
        v.problem(
            path.key("allow_pending"),
            "`allow_pending` applies to `silent_during`",
        );
    }
    let (deadline, field) = match (spec.fires_within, spec.resolves_within) {
        (Some(d), _) => (d, "fires_within"),
        (None, Some(d)) => (d, "resolves_within"),
        (None, None) => return None,
    };
    let Some(after) = &spec.after else {
        v.problem(
            path.key("after"),
            format!("`{field}` needs `after`: `<phase>.start`, `<phase>.end` or `condition`"),
        );
        return None;
    };
    let anchor = validate_anchor(v, spec, field, after, path, context)?;
    let verb = if field == "fires_within" {
        "fires"
    } else {
        "resolves"
    };
    let anchor_text = if after == "condition" {
        match &spec.condition {
            Some(_) => "its condition held".to_string(),
            None => "the alert's condition held".to_string(),
        }
    } else {
        after.clone()
    };
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| format!("{alert} {verb} within {deadline} after {anchor_text}"));
    let deadline = scaled(deadline.0, context.scale);
    if let Some(windows) = &context.windows {
        check_deadline_fits(v, path.key(field), &anchor, deadline, windows);
    }
    let alert = alert.to_string();
    let kind = if field == "fires_within" {
        CheckKind::FiresWithin {
            alert,
            deadline,
            anchor,
        }
    } else {
        CheckKind::ResolvesWithin {
            alert,
            deadline,
            anchor,
        }
    };
    Some((name, kind))
}

/// What a deadline counts from: a phase edge, or (`after: condition`) the
/// moment a condition first held during a phase.
pub(super) fn validate_anchor(
    v: &mut Validator,
    spec: &CheckSpec,
    field: &str,
    after: &str,
    path: &FieldPath,
    context: &CheckContext,
) -> Option<Anchor> {
    if after != "condition" {
        for (extra, set) in [
            ("during", spec.during.is_some()),
            ("condition", spec.condition.is_some()),
        ] {
            if set {
                v.problem(
                    path.key(extra),
                    format!("`{extra}` goes with `after: condition`"),
                );
            }
        }
        return context.anchor(v, path.key("after"), after);
    }
    if field == "resolves_within" {
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
    let phase = context.phase(v, path.key("during"), during)?;
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

fn validate_slo_check(
    v: &mut Validator,
    spec: &CheckSpec,
    slo: &str,
    path: &FieldPath,
    id: &str,
    context: &CheckContext,
) -> Vec<CheckPlan> {
    for (field, set) in [
        ("fires_within", spec.fires_within.is_some()),
        ("resolves_within", spec.resolves_within.is_some()),
        ("silent_during", spec.silent_during.is_some()),
        ("allow_pending", spec.allow_pending.is_some()),
        ("after", spec.after.is_some()),
        ("condition", spec.condition.is_some()),
    ] {
        if set {
            v.problem(
                path.key(field),
                format!("`{field}` belongs to an `alert` check, not an `slo` check"),
            );
        }
    }
    let Some(during) = &spec.during else {
        v.problem(path.key("during"), "an slo check needs `during: <phase>`");
        return Vec::new();
    };
    let Some(phase) = context.phase(v, path.key("during"), during) else {
        return Vec::new();
    };
    let phase_spec = &context.phases[phase];
    if phase_spec.rate.is_none() && phase_spec.requests.is_none() {
        v.problem(
            path.key("during"),
            format!("phase `{during}` sends no traffic, so it has no latency or error ratio"),
        );
    }
    let sources = validate_sources(v, spec, path);
    let Some(below) = &spec.below else {
        v.problem(path.key("below"), "an slo check needs `below`");
        return Vec::new();
    };
    let kinds = match slo {
        "latency" => latency_kinds(v, spec, &below.0, during, phase, sources, path),
        "error_ratio" => error_ratio_kinds(v, spec, &below.0, during, phase, sources, path),
        other => {
            v.problem(
                path.key("slo"),
                format!("unknown slo `{other}`: use latency or error_ratio"),
            );
            Vec::new()
        }
    };
    // One check per source; with both, each gets its own id.
    let several = kinds.len() > 1;
    kinds
        .into_iter()
        .map(|(name, source, kind)| {
            let suffix = match source {
                Source::Client => "client",
                Source::Prometheus => "prometheus",
            };
            CheckPlan {
                id: if several {
                    format!("{id}.{suffix}")
                } else {
                    id.to_string()
                },
                name: format!("{name} [{suffix}]"),
                kind,
            }
        })
        .collect()
}

/// A check's name and kind for each of its sources.
type SourcedKinds = Vec<(String, Source, CheckKind)>;

fn latency_kinds(
    v: &mut Validator,
    spec: &CheckSpec,
    below: &str,
    during: &str,
    phase: usize,
    sources: Vec<Source>,
    path: &FieldPath,
) -> SourcedKinds {
    let Some(quantile) = spec.quantile else {
        v.problem(
            path.key("quantile"),
            "a latency check needs `quantile`, e.g. p95",
        );
        return Vec::new();
    };
    let bound = match HumanDuration::parse(below) {
        Ok(bound) => bound,
        Err(e) => {
            v.problem(path.key("below"), e);
            return Vec::new();
        }
    };
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| format!("{} latency below {bound} during {during}", quantile.label()));
    sources
        .into_iter()
        .map(|source| {
            let kind = CheckKind::Latency {
                quantile: quantile.0,
                below: bound.0,
                phase,
                source,
            };
            (name.clone(), source, kind)
        })
        .collect()
}

fn error_ratio_kinds(
    v: &mut Validator,
    spec: &CheckSpec,
    below: &str,
    during: &str,
    phase: usize,
    sources: Vec<Source>,
    path: &FieldPath,
) -> SourcedKinds {
    if spec.quantile.is_some() {
        v.problem(path.key("quantile"), "`quantile` applies to `slo: latency`");
    }
    let bound = match Ratio::parse(below) {
        Ok(bound) => bound,
        Err(e) => {
            v.problem(path.key("below"), e);
            return Vec::new();
        }
    };
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| format!("error ratio below {bound} during {during}"));
    sources
        .into_iter()
        .map(|source| {
            let kind = CheckKind::ErrorRatio {
                below: bound.0,
                phase,
                source,
            };
            (name.clone(), source, kind)
        })
        .collect()
}

/// `source: [client, prometheus]` (both when not given).
fn validate_sources(v: &mut Validator, spec: &CheckSpec, path: &FieldPath) -> Vec<Source> {
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

fn validate_dashboard_check(
    v: &mut Validator,
    spec: &CheckSpec,
    file: &str,
    path: &FieldPath,
    context: &CheckContext,
) -> Option<(String, CheckKind)> {
    let resolved = context.base_dir.join(file);
    let text = match std::fs::read_to_string(&resolved) {
        Ok(text) => text,
        Err(e) => {
            v.problem(
                path.key("dashboard"),
                format!("cannot read `{}`: {e}", resolved.display()),
            );
            return None;
        }
    };
    let dashboards = match crate::rules::dashboard::parse_dashboards(&text, &resolved) {
        Ok(found) if !found.is_empty() => found,
        Ok(_) => {
            v.problem(
                path.key("dashboard"),
                format!("`{file}` holds no Grafana dashboard (JSON with panels, or a ConfigMap with a *.json key)"),
            );
            return None;
        }
        Err(e) => {
            v.problem(path.key("dashboard"), e.to_string());
            return None;
        }
    };
    let except = spec.except.clone().unwrap_or_default();
    for (i, title) in except.iter().enumerate() {
        if !dashboards
            .iter()
            .flat_map(|d| &d.panels)
            .any(|p| &p.title == title)
        {
            v.problem(
                path.key("except").index(i),
                format!("no panel titled `{title}` in `{file}`"),
            );
        }
    }
    let title = dashboards
        .iter()
        .map(|d| d.title.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| format!("every panel of dashboard `{title}` has data"));
    Some((
        name,
        CheckKind::Dashboard {
            file: resolved,
            except,
        },
    ))
}
