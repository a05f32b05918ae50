//! Where traffic goes and what is watched: `target:` (the embedded demo, a
//! URL, a Kubernetes Service) and `prometheus:` (embedded, a URL, a
//! Service), with their credentials and TLS settings.

use std::path::Path;

use super::access;
use crate::plan::{ContainerLimits, PrometheusPlan, ServiceRef, TargetPlan};
use crate::scenario::format::{KubeServiceSpec, PrometheusSpec, TargetSpec};
use crate::spec::{FieldPath, Validator};

/// `http(s)://host:port` with nothing after the authority but an optional `/`.
pub(super) fn check_url(
    v: &mut Validator,
    path: FieldPath,
    url: &str,
    allow_https: bool,
) -> Option<String> {
    let trimmed = url.trim_end_matches('/');
    let rest = match (
        trimmed.strip_prefix("http://"),
        trimmed.strip_prefix("https://"),
    ) {
        (Some(rest), _) => rest,
        (None, Some(rest)) if allow_https => rest,
        (None, Some(_)) => {
            v.problem(
                path,
                format!("URL `{url}`: https targets are not supported yet (plain http only)"),
            );
            return None;
        }
        (None, None) => {
            v.problem(
                path,
                format!("URL `{url}` must start with http:// or https://"),
            );
            return None;
        }
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', ' ', '@']) {
        v.problem(
            path,
            format!(
                "URL `{url}` must be scheme and host only, like http://127.0.0.1:8080 \
                 (credentials go in `auth`, never in the URL)"
            ),
        );
        return None;
    }
    Some(trimmed.to_string())
}

/// Problems for the keys set that only apply elsewhere.
fn refuse(
    v: &mut Validator,
    path: &FieldPath,
    keys: &[(&str, bool)],
    why: impl Fn(&str) -> String,
) {
    for (field, set) in keys {
        if *set {
            v.problem(path.key(field), why(field));
        }
    }
}

pub(super) fn validate_target(
    v: &mut Validator,
    spec: Option<&TargetSpec>,
    path: &FieldPath,
    base_dir: &Path,
) -> Option<TargetPlan> {
    let Some(spec) = spec else {
        return Some(TargetPlan::Embedded {
            limits: ContainerLimits::default(),
        });
    };
    if spec.limits.is_some() && (spec.base_url.is_some() || spec.kubernetes.is_some()) {
        v.problem(
            path.key("limits"),
            "`limits` are the embedded demo's; a real target's are what its own cAdvisor reports",
        );
    }
    let chosen = [
        spec.embedded == Some(true),
        spec.base_url.is_some(),
        spec.kubernetes.is_some(),
    ];
    if chosen.iter().filter(|c| **c).count() > 1 {
        v.problem(
            path.clone(),
            "choose one: `embedded: true`, `base_url` or `kubernetes`",
        );
        return None;
    }
    let metrics_path = spec
        .metrics_path
        .clone()
        .unwrap_or_else(|| "/metrics".to_string());
    if !metrics_path.starts_with('/') {
        v.problem(path.key("metrics_path"), "metrics_path must start with `/`");
    }
    let for_url = |field: &str| format!("`{field}` applies to a `base_url` target");
    if let Some(kube) = &spec.kubernetes {
        let keys = [("auth", spec.auth.is_some()), ("tls", spec.tls.is_some())];
        refuse(v, path, &keys, for_url);
        let service = validate_service_ref(v, kube, &path.key("kubernetes"))?;
        return Some(TargetPlan::Kubernetes {
            service,
            metrics_path,
        });
    }
    match (spec.embedded, &spec.base_url) {
        (_, Some(url)) => url_target(v, spec, url, metrics_path, path, base_dir),
        (Some(false), None) => {
            v.problem(
                path.clone(),
                "with `embedded: false` the target needs a `base_url` or `kubernetes`",
            );
            None
        }
        (_, None) => {
            let keys = [
                ("metrics_path", spec.metrics_path.is_some()),
                ("auth", spec.auth.is_some()),
                ("tls", spec.tls.is_some()),
            ];
            refuse(v, path, &keys, for_url);
            let limits = &path.key("limits");
            Some(TargetPlan::Embedded {
                limits: super::resources::validate_limits(v, spec.limits.as_ref(), limits),
            })
        }
    }
}

fn url_target(
    v: &mut Validator,
    spec: &TargetSpec,
    url: &str,
    metrics_path: String,
    path: &FieldPath,
    base_dir: &Path,
) -> Option<TargetPlan> {
    let auth = spec
        .auth
        .as_ref()
        .and_then(|a| access::validate_auth(v, a, &path.key("auth"), base_dir));
    let tls = spec
        .tls
        .as_ref()
        .map(|t| access::validate_tls(v, t, &path.key("tls"), base_dir))
        .unwrap_or_default();
    let base_url = check_url(v, path.key("base_url"), url, true)?;
    Some(TargetPlan::Url {
        base_url,
        metrics_path,
        auth,
        tls,
    })
}

/// A DNS-1123 name, as Kubernetes requires for services and namespaces.
fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

pub(super) fn validate_service_ref(
    v: &mut Validator,
    spec: &KubeServiceSpec,
    path: &FieldPath,
) -> Option<ServiceRef> {
    let before = v.count();
    if !is_dns_label(&spec.service) {
        v.problem(
            path.key("service"),
            format!(
                "`{}` is not a Kubernetes service name (lower-case letters, digits, `-`)",
                spec.service
            ),
        );
    }
    if let Some(namespace) = &spec.namespace {
        if !is_dns_label(namespace) {
            v.problem(
                path.key("namespace"),
                format!("`{namespace}` is not a Kubernetes namespace name"),
            );
        }
    }
    (v.count() == before).then(|| ServiceRef {
        name: spec.service.clone(),
        namespace: spec.namespace.clone(),
        port: spec.port.clone(),
    })
}

pub(super) fn validate_prometheus(
    v: &mut Validator,
    spec: Option<&PrometheusSpec>,
    path: &FieldPath,
    scenario_path: &Path,
) -> Option<PrometheusPlan> {
    let default = PrometheusSpec::default();
    let spec = spec.unwrap_or(&default);
    let base_dir = scenario_path.parent().unwrap_or(Path::new("."));
    if let Some(kube) = &spec.kubernetes {
        if spec.url.is_some() || spec.embedded == Some(true) {
            v.problem(
                path.clone(),
                "choose one: `embedded: true`, `url` or `kubernetes`",
            );
            return None;
        }
        let keys = [
            ("rules", spec.rules.is_some()),
            ("scrape_interval", spec.scrape_interval.is_some()),
            ("evaluation_interval", spec.evaluation_interval.is_some()),
            ("tls", spec.tls.is_some()),
        ];
        refuse(v, path, &keys, |field| {
            format!("`{field}` does not apply to a Prometheus found through Kubernetes")
        });
        let auth = spec
            .auth
            .as_ref()
            .and_then(|a| access::validate_auth(v, a, &path.key("auth"), base_dir));
        let service = validate_service_ref(v, kube, &path.key("kubernetes"))?;
        return Some(PrometheusPlan::Kubernetes { service, auth });
    }
    if let Some(url) = &spec.url {
        return url_prometheus(v, spec, url, path, base_dir);
    }
    if spec.embedded == Some(false) {
        v.problem(
            path.clone(),
            "with `embedded: false` Prometheus needs a `url`",
        );
        return None;
    }
    embedded_prometheus(v, spec, path, base_dir)
}

fn url_prometheus(
    v: &mut Validator,
    spec: &PrometheusSpec,
    url: &str,
    path: &FieldPath,
    base_dir: &Path,
) -> Option<PrometheusPlan> {
    if spec.embedded == Some(true) {
        v.problem(path.clone(), "choose one: `embedded: true` or `url`");
        return None;
    }
    let keys = [
        ("rules", spec.rules.is_some()),
        ("scrape_interval", spec.scrape_interval.is_some()),
        ("evaluation_interval", spec.evaluation_interval.is_some()),
    ];
    refuse(v, path, &keys, |field| {
        format!("`{field}` configures the embedded Prometheus; an external one has its own")
    });
    let auth = spec
        .auth
        .as_ref()
        .and_then(|a| access::validate_auth(v, a, &path.key("auth"), base_dir));
    let tls = spec
        .tls
        .as_ref()
        .map(|t| access::validate_tls(v, t, &path.key("tls"), base_dir))
        .unwrap_or_default();
    let url = check_url(v, path.key("url"), url, true)?;
    Some(PrometheusPlan::Url { url, auth, tls })
}

fn embedded_prometheus(
    v: &mut Validator,
    spec: &PrometheusSpec,
    path: &FieldPath,
    base_dir: &Path,
) -> Option<PrometheusPlan> {
    let keys = [("auth", spec.auth.is_some()), ("tls", spec.tls.is_some())];
    refuse(v, path, &keys, |field| {
        format!("`{field}` applies to a Prometheus given by `url`")
    });
    let rule_files = spec
        .rules
        .clone()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .filter_map(|(i, file)| {
            let resolved = base_dir.join(&file);
            if resolved.is_file() {
                Some(resolved)
            } else {
                v.problem(
                    path.key("rules").index(i),
                    format!(
                        "rule file `{file}` not found (looked for {})",
                        resolved.display()
                    ),
                );
                None
            }
        })
        .collect();
    Some(PrometheusPlan::Embedded {
        rule_files,
        scrape_interval: spec.scrape_interval.map(|d| d.0),
        evaluation_interval: spec.evaluation_interval.map(|d| d.0),
    })
}
