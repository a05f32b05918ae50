//! The `alertmanager:` key: which Alertmanager the notification checks
//! watch, and, when its routing is known now (the embedded one's file, or
//! the shipped one), the receivers a check may name.

use std::path::Path;

use super::access;
use super::endpoints::{check_url, validate_service_ref};
use crate::checks::validate::KnownReceivers;
use crate::plan::{AlertmanagerPlan, PrometheusPlan};
use crate::rules::alertmanager;
use crate::scenario::format::AlertmanagerSpec;
use crate::spec::{FieldPath, Validator};

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
    embedded(v, spec, embedded_prometheus, path, base_dir)
}

/// An Alertmanager firedrill starts, with the routing of `config` (or the
/// shipped one).
fn embedded(
    v: &mut Validator,
    spec: &AlertmanagerSpec,
    embedded_prometheus: bool,
    path: &FieldPath,
    base_dir: &Path,
) -> (Option<AlertmanagerPlan>, Option<KnownReceivers>) {
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
    let text = match std::fs::read_to_string(&resolved) {
        Ok(text) => text,
        Err(e) => {
            v.problem(
                path.key("config"),
                format!("cannot read `{}`: {e}", resolved.display()),
            );
            return (None, None);
        }
    };
    match alertmanager::parse(&text, &resolved) {
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
            v.problem(path.key("config"), e.to_string());
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
