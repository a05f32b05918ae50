//! Notification checks (`notifies_within`, `notifies_resolved_within`,
//! `routed_to`, `no_notifications_during`) and the `alertmanager:` key they
//! need: which Alertmanager, and, when its routing is known now (the
//! embedded one's file), that every receiver a check names exists.

use std::path::Path;

use super::check::{check_deadline_fits, validate_anchor, CheckContext};
use super::{access, check_url, is_metric_name, scaled, validate_service_ref, Validator};
use crate::plan::{AlertmanagerPlan, CheckKind, PrometheusPlan};
use crate::rules::alertmanager;
use crate::scenario::format::{AlertmanagerSpec, CheckSpec};
use crate::scenario::locate::FieldPath;

/// The receivers a check may name, when the routing is known before the run.
pub(super) struct KnownReceivers {
    pub names: Vec<String>,
    pub origin: String,
}

/// The `alertmanager:` key as written (None when absent), and the
/// receivers of the routing the embedded one will load.
pub(super) fn validate_alertmanager(
    v: &mut Validator,
    spec: Option<&AlertmanagerSpec>,
    prometheus: Option<&PrometheusPlan>,
    path: &FieldPath,
    base_dir: &Path,
) -> (Option<AlertmanagerPlan>, Option<KnownReceivers>) {
    let embedded_prometheus = matches!(prometheus, Some(PrometheusPlan::Embedded { .. }));
    let Some(spec) = spec else {
        // A notification check without the key gets the shipped routing.
        return (None, shipped_receivers(v, path));
    };
    let chosen = [
        spec.embedded == Some(true) || spec.config.is_some(),
        spec.url.is_some(),
        spec.kubernetes.is_some(),
    ];
    if chosen.iter().filter(|c| **c).count() > 1 {
        v.problem(
            path.clone(),
            "choose one: `embedded: true` (or `config`), `url` or `kubernetes`",
        );
        return (None, None);
    }
    if spec.url.is_some() || spec.kubernetes.is_some() {
        if embedded_prometheus {
            v.problem(
                path.clone(),
                "the embedded Prometheus sends its alerts only to an embedded Alertmanager (a drill \
                 must page nobody): use `alertmanager: { config: alertmanager.yml }`, or watch the \
                 Prometheus that sends to this Alertmanager (`prometheus: { url: … }`)",
            );
            return (None, None);
        }
        return (foreign(v, spec, path, base_dir), None);
    }
    for (field, set) in [("auth", spec.auth.is_some()), ("tls", spec.tls.is_some())] {
        if set {
            v.problem(
                path.key(field),
                format!("`{field}` applies to an Alertmanager given by `url`"),
            );
        }
    }
    if spec.embedded == Some(false) {
        v.problem(
            path.clone(),
            "with `embedded: false` the Alertmanager needs a `url` or `kubernetes`",
        );
        return (None, None);
    }
    if !embedded_prometheus {
        v.problem(
            path.clone(),
            "an embedded Alertmanager needs the embedded Prometheus (firedrill points it there); \
             to watch the Alertmanager your Prometheus sends to, give `alertmanager: { url: … }`",
        );
        return (None, None);
    }
    let Some(file) = &spec.config else {
        return (
            Some(AlertmanagerPlan::Embedded { config: None }),
            shipped_receivers(v, path),
        );
    };
    let resolved = base_dir.join(file);
    let parsed = std::fs::read_to_string(&resolved)
        .map_err(|e| format!("cannot read `{}`: {e}", resolved.display()))
        .and_then(|text| alertmanager::parse(&text, &resolved).map_err(|e| e.to_string()));
    match parsed {
        Ok(config) => (
            Some(AlertmanagerPlan::Embedded {
                config: Some(resolved),
            }),
            Some(KnownReceivers {
                names: config.receivers.iter().map(|r| r.name.clone()).collect(),
                origin: file.clone(),
            }),
        ),
        Err(e) => {
            v.problem(path.key("config"), e);
            (None, None)
        }
    }
}

fn shipped_receivers(v: &mut Validator, path: &FieldPath) -> Option<KnownReceivers> {
    match crate::rules::shipped_alertmanager() {
        Ok(config) => Some(KnownReceivers {
            names: config.receivers.iter().map(|r| r.name.clone()).collect(),
            origin: crate::rules::SHIPPED_ALERTMANAGER_PATH.into(),
        }),
        Err(e) => {
            v.problem(path.clone(), e.to_string());
            None
        }
    }
}

fn foreign(
    v: &mut Validator,
    spec: &AlertmanagerSpec,
    path: &FieldPath,
    base_dir: &Path,
) -> Option<AlertmanagerPlan> {
    let auth = spec
        .auth
        .as_ref()
        .and_then(|a| access::validate_auth(v, a, &path.key("auth"), base_dir));
    if let Some(kube) = &spec.kubernetes {
        if spec.tls.is_some() {
            v.problem(
                path.key("tls"),
                "`tls` does not apply to an Alertmanager found through Kubernetes",
            );
        }
        let service = validate_service_ref(v, kube, &path.key("kubernetes"))?;
        return Some(AlertmanagerPlan::Kubernetes { service, auth });
    }
    let tls = spec
        .tls
        .as_ref()
        .map(|t| access::validate_tls(v, t, &path.key("tls"), base_dir))
        .unwrap_or_default();
    let url = check_url(v, path.key("url"), spec.url.as_deref()?, true)?;
    Some(AlertmanagerPlan::Url { url, auth, tls })
}

/// Whether a check spec is one of the notification kinds.
pub(super) fn is_notification_check(spec: &CheckSpec) -> bool {
    spec.notifies_within.is_some()
        || spec.notifies_resolved_within.is_some()
        || spec.routed_to.is_some()
        || spec.no_notifications_during.is_some()
}

/// A notification check's name and kind.
pub(super) fn validate_notification_check(
    v: &mut Validator,
    spec: &CheckSpec,
    path: &FieldPath,
    context: &CheckContext,
) -> Option<(String, CheckKind)> {
    for (field, set) in [
        ("slo", spec.slo.is_some()),
        ("dashboard", spec.dashboard.is_some()),
        ("fires_within", spec.fires_within.is_some()),
        ("resolves_within", spec.resolves_within.is_some()),
        ("silent_during", spec.silent_during.is_some()),
        ("allow_pending", spec.allow_pending.is_some()),
        ("quantile", spec.quantile.is_some()),
        ("below", spec.below.is_some()),
        ("source", spec.source.is_some()),
    ] {
        if set {
            v.problem(
                path.key(field),
                format!("`{field}` does not go with a notification check"),
            );
        }
    }
    let kinds = [
        spec.notifies_within.is_some(),
        spec.notifies_resolved_within.is_some(),
        spec.routed_to.is_some(),
        spec.no_notifications_during.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        v.problem(
            path.clone(),
            "a notification check says exactly one of: `notifies_within`, \
             `notifies_resolved_within`, `routed_to`, `no_notifications_during`",
        );
        return None;
    }
    if let Some(alert) = &spec.alert {
        if !is_metric_name(alert) || alert.contains(':') {
            v.problem(
                path.key("alert"),
                format!("`{alert}` is not an alert name (letters, digits and `_`)"),
            );
        }
    }
    if let Some(receiver) = spec.receiver.as_ref().or(spec.routed_to.as_ref()) {
        let field = if spec.routed_to.is_some() {
            "routed_to"
        } else {
            "receiver"
        };
        known_receiver(v, receiver, &path.key(field), context);
    }
    if let Some(phase_name) = &spec.no_notifications_during {
        return quiet(v, spec, phase_name, path, context);
    }
    let Some(alert) = &spec.alert else {
        v.problem(path.key("alert"), "this check needs `alert: <name>`");
        return None;
    };
    if let Some(receiver) = &spec.routed_to {
        return routed(v, spec, alert, receiver, path, context);
    }
    deadline(v, spec, alert, path, context)
}

fn known_receiver(v: &mut Validator, receiver: &str, path: &FieldPath, context: &CheckContext) {
    if let Some(known) = context.receivers {
        if !known.names.iter().any(|n| n == receiver) {
            v.problem(
                path.clone(),
                format!(
                    "no receiver named `{receiver}` in {} (receivers: {})",
                    known.origin,
                    known.names.join(", ")
                ),
            );
        }
    }
}

fn quiet(
    v: &mut Validator,
    spec: &CheckSpec,
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
                format!("`{field}` does not apply to `no_notifications_during`"),
            );
        }
    }
    let phase = context.phase(v, path.key("no_notifications_during"), phase_name)?;
    let to = spec
        .receiver
        .as_ref()
        .map(|r| format!(" to {r}"))
        .unwrap_or_default();
    let about = spec
        .alert
        .as_ref()
        .map(|a| format!(" about {a}"))
        .unwrap_or_default();
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| format!("no notification{to}{about} during {phase_name}"));
    Some((
        name,
        CheckKind::NoNotificationDuring {
            phase,
            receiver: spec.receiver.clone(),
            alert: spec.alert.clone(),
        },
    ))
}

fn routed(
    v: &mut Validator,
    spec: &CheckSpec,
    alert: &str,
    receiver: &str,
    path: &FieldPath,
    context: &CheckContext,
) -> Option<(String, CheckKind)> {
    for (field, set) in [
        ("after", spec.after.is_some()),
        ("condition", spec.condition.is_some()),
        ("receiver", spec.receiver.is_some()),
    ] {
        if set {
            v.problem(
                path.key(field),
                format!("`{field}` does not apply to `routed_to` (which names the receiver)"),
            );
        }
    }
    let phase = match &spec.during {
        Some(name) => Some(context.phase(v, path.key("during"), name)?),
        None => None,
    };
    let during = spec
        .during
        .as_ref()
        .map(|p| format!(" during {p}"))
        .unwrap_or_default();
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| format!("{alert} is routed to {receiver}{during}"));
    Some((
        name,
        CheckKind::RoutedTo {
            alert: alert.to_string(),
            receiver: receiver.to_string(),
            phase,
        },
    ))
}

/// `notifies_within` or `notifies_resolved_within`, with its anchor.
fn deadline(
    v: &mut Validator,
    spec: &CheckSpec,
    alert: &str,
    path: &FieldPath,
    context: &CheckContext,
) -> Option<(String, CheckKind)> {
    let (deadline, field) = match (spec.notifies_within, spec.notifies_resolved_within) {
        (Some(d), _) => (d, "notifies_within"),
        (None, Some(d)) => (d, "notifies_resolved_within"),
        (None, None) => return None,
    };
    let Some(receiver) = &spec.receiver else {
        v.problem(
            path.key("receiver"),
            format!("`{field}` needs `receiver: <name>`: the receiver the page must reach"),
        );
        return None;
    };
    let Some(after) = &spec.after else {
        v.problem(
            path.key("after"),
            format!("`{field}` needs `after`: `<phase>.start`, `<phase>.end` or `condition`"),
        );
        return None;
    };
    // The resolution counts from a phase edge, as resolves_within does.
    let anchor_field = if field == "notifies_within" {
        "fires_within"
    } else {
        "resolves_within"
    };
    let anchor = validate_anchor(v, spec, anchor_field, after, path, context)?;
    let anchor_text = if after == "condition" {
        match &spec.condition {
            Some(_) => "its condition held".to_string(),
            None => "the alert's condition held".to_string(),
        }
    } else {
        after.clone()
    };
    let name = spec.name.clone().unwrap_or_else(|| {
        if field == "notifies_within" {
            format!("{alert} notifies {receiver} within {deadline} after {anchor_text}")
        } else {
            format!("{alert}'s resolution reaches {receiver} within {deadline} after {anchor_text}")
        }
    });
    let deadline = scaled(deadline.0, context.scale);
    if let Some(windows) = &context.windows {
        check_deadline_fits(v, path.key(field), &anchor, deadline, windows);
    }
    let (alert, receiver) = (alert.to_string(), receiver.clone());
    let kind = if field == "notifies_within" {
        CheckKind::NotifiesWithin {
            alert,
            receiver,
            deadline,
            anchor,
        }
    } else {
        CheckKind::NotifiesResolvedWithin {
            alert,
            receiver,
            deadline,
            anchor,
        }
    };
    Some((name, kind))
}
