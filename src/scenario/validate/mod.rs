//! From what the file says to what the drill runs: every rule a scenario must
//! follow, checked in one pass that collects every problem with its field
//! path, so a person fixes a file in one go rather than one error per run.
//! Each check is the check kinds' to read (`checks::kinds`); this walks the
//! file and gives them the scenario around it.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

mod access;
mod alertmanager;
mod checks;
mod endpoints;
mod phase;
mod resources;

use super::format::{BaselineSpec, PrometheusSpec, ScenarioFile, TargetSpec};
use crate::plan::{
    BaselineSource, ContainerLimits, PhasePlan, Plan, PrometheusPlan, ServiceMetrics, TargetPlan,
    DEFAULT_BASELINE_RUNS,
};
use crate::spec::{is_metric_name, FieldPath, FieldProblem, Validator};
use crate::time::format_duration;
use endpoints::{validate_prometheus, validate_target};
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

/// Settings given on the command line, applied before validation so they are
/// checked like the file's own.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub target_url: Option<String>,
    pub prometheus_url: Option<String>,
    pub time_scale: Option<f64>,
}

pub fn validate(
    mut file: ScenarioFile,
    scenario_path: &Path,
    source_text: &str,
    overrides: &Overrides,
) -> Result<Plan, Vec<FieldProblem>> {
    apply_overrides(&mut file, overrides);
    let mut v = Validator::new();
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
    if matches!(target, Some(TargetPlan::Embedded { .. })) && external_prometheus {
        v.problem(
            root.key("prometheus"),
            "an external Prometheus cannot scrape the in-process demo gateway: use \
             `prometheus: { embedded: true }`, or start `firedrill demo-gateway` and point \
             both `target.base_url` and your Prometheus at it",
        );
    }
    let (alertmanager, receivers) = alertmanager::validate_alertmanager(
        &mut v,
        file.alertmanager.as_ref(),
        prometheus.as_ref(),
        &root.key("alertmanager"),
        base_dir,
    );
    let scale = validate_time_scale(&mut v, file.time_scale, external_prometheus, &root);
    let service_metrics = validate_service_metrics(&mut v, &file, &root.key("service_metrics"));
    let embedded = match &target {
        Some(TargetPlan::Embedded { limits }) => Some(*limits),
        _ => None,
    };
    let phases = validate_phases(&mut v, &file, scale, embedded, &root);
    let checks =
        checks::validate_checks(&mut v, &file, &phases, scale, receivers.as_ref(), base_dir);
    let alertmanager =
        checks::implied_alertmanager(&mut v, alertmanager, &file, &checks, external_prometheus);
    let baseline = validate_baseline(&mut v, &file, base_dir, &root);

    match (v.is_empty(), target, prometheus) {
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
            baseline,
        }),
        _ => Err(v.into_problems()),
    }
}

/// `baseline`: a path relative to the scenario file's directory; with a
/// directory, how many of its last passing runs.
fn validate_baseline(
    v: &mut Validator,
    file: &ScenarioFile,
    base_dir: &Path,
    root: &FieldPath,
) -> Option<BaselineSource> {
    let (path, last) = match file.baseline.as_ref()? {
        BaselineSpec::Path(path) => (path, None),
        BaselineSpec::Full { path, last } => (path, *last),
    };
    if path.trim().is_empty() {
        v.problem(
            root.key("baseline"),
            "a baseline names a report.json or a directory of reports",
        );
        return None;
    }
    if last == Some(0) {
        v.problem(
            root.key("baseline").key("last"),
            "`last` counts runs: at least 1",
        );
        return None;
    }
    Some(BaselineSource {
        path: base_dir.join(path),
        last: last.unwrap_or(DEFAULT_BASELINE_RUNS),
    })
}

/// `version` and `name`.
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
