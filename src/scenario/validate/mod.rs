//! From what the file says to what the drill runs: every rule a scenario must
//! follow, checked in one pass that collects every problem with its field
//! path, so a person fixes a file in one go rather than one error per run.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

mod access;
mod check;
mod notify;
mod phase;
mod resources;

use super::format::{PrometheusSpec, ScenarioFile, TargetSpec};
use super::locate::FieldPath;
use crate::plan::{
    AlertmanagerPlan, CheckPlan, ContainerLimits, PhasePlan, Plan, PrometheusPlan, ServiceMetrics,
    ServiceRef, TargetPlan,
};
use crate::time::format_duration;
use check::{phase_windows, validate_check, CheckContext};
use phase::{validate_phase, PhaseContext};

/// Bounds that keep a typo (`rate: 1000000000/s`, `duration: 1000d`) from
/// turning into a run nobody meant.
pub(super) const MAX_RATE: f64 = 1_000_000.0;
pub(super) const MAX_PHASE_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);
pub(super) const MAX_REQUESTS: u64 = 1_000_000_000;
pub(super) const MAX_CONCURRENCY: u32 = 10_000;
pub(super) const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
const MAX_TIME_SCALE: f64 = 1000.0;
pub(super) const MAX_MIX_WEIGHT: u32 = 10_000;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_CONNECTIONS: u32 = 64;

/// A problem found by validation, not yet located in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub path: FieldPath,
    pub message: String,
}

/// Settings given on the command line, applied before validation so they are
/// checked like the file's own.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub target_url: Option<String>,
    pub prometheus_url: Option<String>,
    pub time_scale: Option<f64>,
}

pub(super) struct Validator {
    findings: Vec<Finding>,
}

impl Validator {
    pub(super) fn problem(&mut self, path: FieldPath, message: impl Into<String>) {
        self.findings.push(Finding {
            path,
            message: message.into(),
        });
    }
}

pub fn validate(
    mut file: ScenarioFile,
    scenario_path: &Path,
    source_text: &str,
    overrides: &Overrides,
) -> Result<Plan, Vec<Finding>> {
    apply_overrides(&mut file, overrides);
    let mut v = Validator {
        findings: Vec::new(),
    };
    let root = FieldPath::root();
    validate_header(&mut v, &file, &root);

    let base_dir = scenario_path.parent().unwrap_or(Path::new("."));
    let target = validate_target(&mut v, file.target.as_ref(), &root.key("target"), base_dir);
    let prometheus = validate_prometheus(
        &mut v,
        file.prometheus.as_ref(),
        &root.key("prometheus"),
        scenario_path,
    );
    let external_prometheus = matches!(
        prometheus,
        Some(PrometheusPlan::Url { .. } | PrometheusPlan::Kubernetes { .. })
    );
    let embedded = embedded_limits(&mut v, target.as_ref(), external_prometheus, &root);
    let (alertmanager, receivers) = notify::validate_alertmanager(
        &mut v,
        file.alertmanager.as_ref(),
        prometheus.as_ref(),
        &root.key("alertmanager"),
        base_dir,
    );
    let scale = validate_time_scale(&mut v, file.time_scale, external_prometheus, &root);
    let service_metrics = validate_service_metrics(&mut v, &file, &root.key("service_metrics"));
    let phases = validate_phases(&mut v, &file, scale, embedded, &root);
    let phase_names: Vec<String> = file.phases.iter().map(|p| p.name.clone()).collect();
    let context = CheckContext {
        base_dir,
        phase_names: &phase_names,
        phases: &file.phases,
        windows: (phases.len() == file.phases.len())
            .then(|| phase_windows(&phases))
            .flatten(),
        scale,
        receivers: receivers.as_ref(),
    };
    let checks = validate_checks(&mut v, &file, &context, &root);
    let alertmanager =
        implied_alertmanager(&mut v, alertmanager, &file, &checks, external_prometheus);

    match (v.findings.is_empty(), target, prometheus) {
        (true, Some(target), Some(prometheus)) => Ok(Plan {
            name: file.name.trim().to_string(),
            description: file.description.clone(),
            file: scenario_path.to_path_buf(),
            source_text: source_text.to_string(),
            time_scale: scale,
            target,
            prometheus,
            alertmanager,
            service_metrics,
            phases,
            checks,
            shard: None,
        }),
        _ => Err(v.findings),
    }
}

/// The embedded demo's limits when the target is the embedded demo, which
/// only the embedded Prometheus can scrape.
fn embedded_limits(
    v: &mut Validator,
    target: Option<&TargetPlan>,
    external_prometheus: bool,
    root: &FieldPath,
) -> Option<ContainerLimits> {
    let Some(TargetPlan::Embedded { limits }) = target else {
        return None;
    };
    if external_prometheus {
        v.problem(
            root.key("prometheus"),
            "an external Prometheus cannot scrape the in-process demo gateway: use \
             `prometheus: { embedded: true }`, or start `firedrill demo-gateway` and point \
             both `target.base_url` and your Prometheus at it",
        );
    }
    Some(*limits)
}

/// The file's version and name.
fn validate_header(v: &mut Validator, file: &ScenarioFile, root: &FieldPath) {
    if let Some(version) = file.version {
        if version != 1 {
            v.problem(
                root.key("version"),
                format!("unsupported scenario version {version}; this firedrill reads version 1"),
            );
        }
    }
    if file.name.trim().is_empty() {
        v.problem(root.key("name"), "a scenario needs a non-empty name");
    }
}

fn validate_checks(
    v: &mut Validator,
    file: &ScenarioFile,
    context: &CheckContext,
    root: &FieldPath,
) -> Vec<CheckPlan> {
    let mut checks = Vec::new();
    for (i, spec) in file.checks.iter().enumerate() {
        let path = root.key("checks").index(i);
        checks.extend(validate_check(v, spec, &path, i, context));
    }
    checks
}

/// The Alertmanager to watch: the one written, or, when a check is about
/// notifications and none is, the embedded default (with an embedded
/// Prometheus; an external one sends to an Alertmanager firedrill must be
/// told about).
fn implied_alertmanager(
    v: &mut Validator,
    written: Option<AlertmanagerPlan>,
    file: &ScenarioFile,
    checks: &[CheckPlan],
    external_prometheus: bool,
) -> Option<AlertmanagerPlan> {
    if written.is_some() || file.alertmanager.is_some() {
        return written;
    }
    let index = checks
        .iter()
        .position(|c| c.kind.is_about_notifications())?;
    if external_prometheus {
        let at = checks[index]
            .id
            .trim_start_matches("checks[")
            .split(']')
            .next()
            .and_then(|i| i.parse().ok())
            .unwrap_or(0);
        v.problem(
            FieldPath::root().key("checks").index(at),
            "a notification check needs the Alertmanager your Prometheus sends to: add \
             `alertmanager: { url: http://… }` (or `kubernetes: { service: alertmanager }`)",
        );
        return None;
    }
    Some(AlertmanagerPlan::Embedded { config: None })
}

/// The time scale to apply (1 when the one written is refused).
fn validate_time_scale(
    v: &mut Validator,
    time_scale: Option<f64>,
    external_prometheus: bool,
    root: &FieldPath,
) -> f64 {
    let time_scale = time_scale.unwrap_or(1.0);
    if !(time_scale.is_finite() && time_scale > 0.0 && time_scale <= MAX_TIME_SCALE) {
        v.problem(
            root.key("time_scale"),
            format!("time_scale must be a number above 0 and at most {MAX_TIME_SCALE} (got {time_scale})"),
        );
    } else if time_scale != 1.0 && external_prometheus {
        v.problem(
            root.key("time_scale"),
            "time_scale needs the embedded Prometheus: firedrill can only compress the \
             intervals and rule windows of a Prometheus it configures itself",
        );
    }
    if time_scale.is_finite() && time_scale > 0.0 {
        time_scale
    } else {
        1.0
    }
}

/// The phases, with the scenario's defaults applied; unique, well-formed
/// names.
fn validate_phases(
    v: &mut Validator,
    file: &ScenarioFile,
    scale: f64,
    embedded: Option<ContainerLimits>,
    root: &FieldPath,
) -> Vec<PhasePlan> {
    let defaults = file.defaults.clone().unwrap_or_default();
    let default_timeout = defaults.timeout.map(|d| d.0).unwrap_or(DEFAULT_TIMEOUT);
    if default_timeout > MAX_TIMEOUT {
        v.problem(
            root.key("defaults").key("timeout"),
            format!("timeout is at most {}", format_duration(MAX_TIMEOUT)),
        );
    }
    let default_connections = defaults.connections.unwrap_or(DEFAULT_CONNECTIONS);
    check_count(
        v,
        root.key("defaults").key("connections"),
        "connections",
        default_connections,
    );
    let default_headers = defaults.headers.clone().unwrap_or_default();
    let context = PhaseContext {
        scale,
        default_timeout,
        default_connections,
        default_headers: &default_headers,
        embedded,
    };

    if file.phases.is_empty() {
        v.problem(root.key("phases"), "a scenario needs at least one phase");
    }
    let mut seen = HashSet::new();
    let mut phases = Vec::new();
    for (i, spec) in file.phases.iter().enumerate() {
        let path = root.key("phases").index(i);
        if !is_phase_name(&spec.name) {
            v.problem(
                path.key("name"),
                format!(
                    "phase name `{}` must be non-empty and use only letters, digits, `-` and `_` \
                     (checks refer to it as `{}.start`)",
                    spec.name, spec.name
                ),
            );
        } else if !seen.insert(spec.name.clone()) {
            v.problem(
                path.key("name"),
                format!(
                    "phase name `{}` is used twice; names must be unique",
                    spec.name
                ),
            );
        }
        if let Some(phase) = validate_phase(v, spec, &path, &context) {
            phases.push(phase);
        }
    }
    phases
}

fn apply_overrides(file: &mut ScenarioFile, overrides: &Overrides) {
    if let Some(url) = &overrides.target_url {
        let metrics_path = file.target.as_ref().and_then(|t| t.metrics_path.clone());
        let auth = file.target.as_ref().and_then(|t| t.auth.clone());
        let tls = file.target.as_ref().and_then(|t| t.tls.clone());
        file.target = Some(TargetSpec {
            embedded: None,
            base_url: Some(url.clone()),
            metrics_path,
            auth,
            tls,
            kubernetes: None,
            // The demo's limits; a URL target reports its own.
            limits: None,
        });
    }
    if let Some(url) = &overrides.prometheus_url {
        // The file's credentials and TLS settings still apply to the new URL.
        let (auth, tls) = file
            .prometheus
            .as_ref()
            .map(|p| (p.auth.clone(), p.tls.clone()))
            .unwrap_or_default();
        file.prometheus = Some(PrometheusSpec {
            url: Some(url.clone()),
            auth,
            tls,
            kubernetes: None,
            ..PrometheusSpec::default()
        });
    }
    if let Some(scale) = overrides.time_scale {
        file.time_scale = Some(scale);
    }
}

fn is_phase_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(super) fn check_count(v: &mut Validator, path: FieldPath, what: &str, value: u32) {
    if value == 0 || value > MAX_CONCURRENCY {
        v.problem(
            path,
            format!("{what} must be between 1 and {MAX_CONCURRENCY} (got {value})"),
        );
    }
}

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

fn validate_target(
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
    if let Some(kube) = &spec.kubernetes {
        for (field, set) in [("auth", spec.auth.is_some()), ("tls", spec.tls.is_some())] {
            if set {
                v.problem(
                    path.key(field),
                    format!("`{field}` applies to a `base_url` target"),
                );
            }
        }
        let service = validate_service_ref(v, kube, &path.key("kubernetes"))?;
        return Some(TargetPlan::Kubernetes {
            service,
            metrics_path,
        });
    }
    match (spec.embedded, &spec.base_url) {
        (_, Some(url)) => {
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
        (Some(false), None) => {
            v.problem(
                path.clone(),
                "with `embedded: false` the target needs a `base_url` or `kubernetes`",
            );
            None
        }
        (_, None) => Some(embedded_target(v, spec, path)),
    }
}

/// The embedded demo, with its container's limits.
fn embedded_target(v: &mut Validator, spec: &TargetSpec, path: &FieldPath) -> TargetPlan {
    for (field, set) in [
        ("metrics_path", spec.metrics_path.is_some()),
        ("auth", spec.auth.is_some()),
        ("tls", spec.tls.is_some()),
    ] {
        if set {
            v.problem(
                path.key(field),
                format!("`{field}` applies to a `base_url` target"),
            );
        }
    }
    TargetPlan::Embedded {
        limits: resources::validate_limits(v, spec.limits.as_ref(), &path.key("limits")),
    }
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
    spec: &crate::scenario::format::KubeServiceSpec,
    path: &FieldPath,
) -> Option<ServiceRef> {
    let before = v.findings.len();
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
    (v.findings.len() == before).then(|| ServiceRef {
        name: spec.service.clone(),
        namespace: spec.namespace.clone(),
        port: spec.port.clone(),
    })
}

fn validate_prometheus(
    v: &mut Validator,
    spec: Option<&PrometheusSpec>,
    path: &FieldPath,
    scenario_path: &Path,
) -> Option<PrometheusPlan> {
    let default = PrometheusSpec::default();
    let spec = spec.unwrap_or(&default);
    if let Some(kube) = &spec.kubernetes {
        if spec.url.is_some() || spec.embedded == Some(true) {
            v.problem(
                path.clone(),
                "choose one: `embedded: true`, `url` or `kubernetes`",
            );
            return None;
        }
        for (field, set) in [
            ("rules", spec.rules.is_some()),
            ("scrape_interval", spec.scrape_interval.is_some()),
            ("evaluation_interval", spec.evaluation_interval.is_some()),
            ("tls", spec.tls.is_some()),
        ] {
            if set {
                v.problem(
                    path.key(field),
                    format!("`{field}` does not apply to a Prometheus found through Kubernetes"),
                );
            }
        }
        let base_dir = scenario_path.parent().unwrap_or(Path::new("."));
        let auth = spec
            .auth
            .as_ref()
            .and_then(|a| access::validate_auth(v, a, &path.key("auth"), base_dir));
        let service = validate_service_ref(v, kube, &path.key("kubernetes"))?;
        return Some(PrometheusPlan::Kubernetes { service, auth });
    }
    if let Some(url) = &spec.url {
        if spec.embedded == Some(true) {
            v.problem(path.clone(), "choose one: `embedded: true` or `url`");
            return None;
        }
        for (field, set) in [
            ("rules", spec.rules.is_some()),
            ("scrape_interval", spec.scrape_interval.is_some()),
            ("evaluation_interval", spec.evaluation_interval.is_some()),
        ] {
            if set {
                v.problem(
                    path.key(field),
                    format!(
                        "`{field}` configures the embedded Prometheus; an external one has its own"
                    ),
                );
            }
        }
        let base_dir = scenario_path.parent().unwrap_or(Path::new("."));
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
        return Some(PrometheusPlan::Url { url, auth, tls });
    }
    if spec.embedded == Some(false) {
        v.problem(
            path.clone(),
            "with `embedded: false` Prometheus needs a `url`",
        );
        return None;
    }
    for (field, set) in [("auth", spec.auth.is_some()), ("tls", spec.tls.is_some())] {
        if set {
            v.problem(
                path.key(field),
                format!("`{field}` applies to a Prometheus given by `url`"),
            );
        }
    }
    let base_dir = scenario_path.parent().unwrap_or(Path::new("."));
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

fn validate_service_metrics(
    v: &mut Validator,
    file: &ScenarioFile,
    path: &FieldPath,
) -> ServiceMetrics {
    let mut metrics = ServiceMetrics::default();
    let Some(spec) = &file.service_metrics else {
        return metrics;
    };
    for (field, value, slot) in [
        (
            "requests_total",
            &spec.requests_total,
            &mut metrics.requests_total,
        ),
        (
            "duration_seconds",
            &spec.duration_seconds,
            &mut metrics.duration_seconds,
        ),
    ] {
        if let Some(name) = value {
            if is_metric_name(name) {
                *slot = name.clone();
            } else {
                v.problem(
                    path.key(field),
                    format!("`{name}` is not a Prometheus metric name"),
                );
            }
        }
    }
    for (field, value, slot) in [
        ("selector", &spec.selector, &mut metrics.selector),
        (
            "error_selector",
            &spec.error_selector,
            &mut metrics.error_selector,
        ),
    ] {
        let Some(selector) = value else { continue };
        let selector = selector
            .trim()
            .trim_start_matches('{')
            .trim_end_matches('}')
            .to_string();
        let probe = format!("{}{{{selector}}}", metrics.requests_total);
        match promql_parser::parser::parse(&probe) {
            Ok(_) => *slot = selector,
            Err(e) => v.problem(
                path.key(field),
                format!("`{selector}` is not valid PromQL label matchers: {e}"),
            ),
        }
    }
    metrics
}

pub(super) fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

pub(super) fn scaled(d: Duration, scale: f64) -> Duration {
    Duration::from_secs_f64(d.as_secs_f64() / scale)
}
