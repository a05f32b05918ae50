//! From what the file says to what the drill runs: every rule a scenario must
//! follow, checked in one pass that collects every problem with its field
//! path, so a person fixes a file in one go rather than one error per run.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use super::format::{
    CheckSpec, FaultSpec, PhaseSpec, PrometheusSpec, RateSpec, RequestSpec, ScenarioFile,
    TargetSpec,
};
use super::locate::FieldPath;
use super::units::{format_duration, HumanDuration, Ratio};
use crate::demo::Faults;
use crate::plan::{
    Anchor, CheckKind, CheckPlan, LoadModel, PhasePlan, Plan, PrometheusPlan, RateShape,
    RequestTemplate, ServiceMetrics, Source, TargetPlan, WeightedRequest,
};

/// Bounds that keep a typo (`rate: 1000000000/s`, `duration: 1000d`) from
/// turning into a run nobody meant.
const MAX_RATE: f64 = 1_000_000.0;
const MAX_PHASE_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);
const MAX_REQUESTS: u64 = 1_000_000_000;
const MAX_CONCURRENCY: u32 = 10_000;
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
const MAX_TIME_SCALE: f64 = 1000.0;
const MAX_MIX_WEIGHT: u32 = 10_000;
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

struct Validator {
    findings: Vec<Finding>,
}

impl Validator {
    fn problem(&mut self, path: FieldPath, message: impl Into<String>) {
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

    let target = validate_target(&mut v, file.target.as_ref(), &root.key("target"));
    let prometheus = validate_prometheus(
        &mut v,
        file.prometheus.as_ref(),
        &root.key("prometheus"),
        scenario_path,
    );
    if matches!(target, Some(TargetPlan::Embedded))
        && matches!(prometheus, Some(PrometheusPlan::Url { .. }))
    {
        v.problem(
            root.key("prometheus"),
            "an external Prometheus cannot scrape the in-process demo gateway: use \
             `prometheus: { embedded: true }`, or start `firedrill demo-gateway` and point \
             both `target.base_url` and your Prometheus at it",
        );
    }

    let time_scale = file.time_scale.unwrap_or(1.0);
    if !(time_scale.is_finite() && time_scale > 0.0 && time_scale <= MAX_TIME_SCALE) {
        v.problem(
            root.key("time_scale"),
            format!("time_scale must be a number above 0 and at most {MAX_TIME_SCALE} (got {time_scale})"),
        );
    } else if time_scale != 1.0 && matches!(prometheus, Some(PrometheusPlan::Url { .. })) {
        v.problem(
            root.key("time_scale"),
            "time_scale needs the embedded Prometheus: firedrill can only compress the \
             intervals and rule windows of a Prometheus it configures itself",
        );
    }
    let scale = if time_scale.is_finite() && time_scale > 0.0 {
        time_scale
    } else {
        1.0
    };

    let service_metrics = validate_service_metrics(&mut v, &file, &root.key("service_metrics"));

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
        &mut v,
        root.key("defaults").key("connections"),
        "connections",
        default_connections,
    );
    let default_headers = defaults.headers.clone().unwrap_or_default();

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
        let context = PhaseContext {
            scale,
            default_timeout,
            default_connections,
            default_headers: &default_headers,
            embedded_target: matches!(target, Some(TargetPlan::Embedded)),
        };
        if let Some(phase) = validate_phase(&mut v, spec, &path, &context) {
            phases.push(phase);
        }
    }

    let phase_names: Vec<String> = file.phases.iter().map(|p| p.name.clone()).collect();
    let windows = (phases.len() == file.phases.len())
        .then(|| phase_windows(&phases))
        .flatten();
    let context = CheckContext {
        phase_names: &phase_names,
        phases: &file.phases,
        windows,
        scale,
    };
    let mut checks = Vec::new();
    for (i, spec) in file.checks.iter().enumerate() {
        let path = root.key("checks").index(i);
        checks.extend(validate_check(&mut v, spec, &path, i, &context));
    }

    match (v.findings.is_empty(), target, prometheus) {
        (true, Some(target), Some(prometheus)) => Ok(Plan {
            name: file.name.trim().to_string(),
            description: file.description.clone(),
            file: scenario_path.to_path_buf(),
            source_text: source_text.to_string(),
            time_scale: scale,
            target,
            prometheus,
            service_metrics,
            phases,
            checks,
        }),
        _ => Err(v.findings),
    }
}

fn apply_overrides(file: &mut ScenarioFile, overrides: &Overrides) {
    if let Some(url) = &overrides.target_url {
        let metrics_path = file.target.as_ref().and_then(|t| t.metrics_path.clone());
        file.target = Some(TargetSpec {
            embedded: None,
            base_url: Some(url.clone()),
            metrics_path,
        });
    }
    if let Some(url) = &overrides.prometheus_url {
        file.prometheus = Some(PrometheusSpec {
            url: Some(url.clone()),
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

fn check_count(v: &mut Validator, path: FieldPath, what: &str, value: u32) {
    if value == 0 || value > MAX_CONCURRENCY {
        v.problem(
            path,
            format!("{what} must be between 1 and {MAX_CONCURRENCY} (got {value})"),
        );
    }
}

/// `http://host:port` with nothing after the authority but an optional `/`.
fn check_http_url(v: &mut Validator, path: FieldPath, url: &str) -> Option<String> {
    let trimmed = url.trim_end_matches('/');
    let Some(rest) = trimmed.strip_prefix("http://") else {
        let hint = if trimmed.starts_with("https://") {
            "https is not supported yet (plain http only)"
        } else {
            "it must start with http://"
        };
        v.problem(path, format!("URL `{url}`: {hint}"));
        return None;
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', ' ']) {
        v.problem(
            path,
            format!("URL `{url}` must be scheme and host only, like http://127.0.0.1:8080"),
        );
        return None;
    }
    Some(trimmed.to_string())
}

fn validate_target(
    v: &mut Validator,
    spec: Option<&TargetSpec>,
    path: &FieldPath,
) -> Option<TargetPlan> {
    let Some(spec) = spec else {
        return Some(TargetPlan::Embedded);
    };
    match (spec.embedded, &spec.base_url) {
        (Some(true), Some(_)) => {
            v.problem(path.clone(), "choose one: `embedded: true` or `base_url`");
            None
        }
        (_, Some(url)) => {
            let base_url = check_http_url(v, path.key("base_url"), url)?;
            let metrics_path = spec
                .metrics_path
                .clone()
                .unwrap_or_else(|| "/metrics".to_string());
            if !metrics_path.starts_with('/') {
                v.problem(path.key("metrics_path"), "metrics_path must start with `/`");
            }
            Some(TargetPlan::Url {
                base_url,
                metrics_path,
            })
        }
        (Some(false), None) => {
            v.problem(
                path.clone(),
                "with `embedded: false` the target needs a `base_url`",
            );
            None
        }
        (_, None) => {
            if spec.metrics_path.is_some() {
                v.problem(
                    path.key("metrics_path"),
                    "metrics_path applies to a `base_url` target",
                );
            }
            Some(TargetPlan::Embedded)
        }
    }
}

fn validate_prometheus(
    v: &mut Validator,
    spec: Option<&PrometheusSpec>,
    path: &FieldPath,
    scenario_path: &Path,
) -> Option<PrometheusPlan> {
    let default = PrometheusSpec::default();
    let spec = spec.unwrap_or(&default);
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
        let url = check_http_url(v, path.key("url"), url)?;
        return Some(PrometheusPlan::Url { url });
    }
    if spec.embedded == Some(false) {
        v.problem(
            path.clone(),
            "with `embedded: false` Prometheus needs a `url`",
        );
        return None;
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

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

struct PhaseContext<'a> {
    scale: f64,
    default_timeout: Duration,
    default_connections: u32,
    default_headers: &'a BTreeMap<String, String>,
    embedded_target: bool,
}

fn scaled(d: Duration, scale: f64) -> Duration {
    Duration::from_secs_f64(d.as_secs_f64() / scale)
}

fn validate_phase(
    v: &mut Validator,
    spec: &PhaseSpec,
    path: &FieldPath,
    context: &PhaseContext,
) -> Option<PhasePlan> {
    let before = v.findings.len();
    if let Some(duration) = spec.duration {
        if duration.0 > MAX_PHASE_DURATION {
            v.problem(
                path.key("duration"),
                format!(
                    "duration {duration} is longer than the {} a phase may last",
                    format_duration(MAX_PHASE_DURATION)
                ),
            );
        }
    }
    let timeout = spec.timeout.map(|t| t.0).unwrap_or(context.default_timeout);
    if timeout > MAX_TIMEOUT {
        v.problem(
            path.key("timeout"),
            format!("timeout is at most {}", format_duration(MAX_TIMEOUT)),
        );
    }

    let open_only = [("connections", spec.connections.is_some())];
    let closed_only = [
        ("concurrency", spec.concurrency.is_some()),
        ("pause", spec.pause.is_some()),
    ];
    let model = match (&spec.rate, spec.requests) {
        (Some(_), Some(_)) => {
            v.problem(
                path.clone(),
                "choose one load model: `rate` + `duration` (open) or `requests` (closed)",
            );
            None
        }
        (Some(rate), None) => {
            for (field, set) in closed_only {
                if set {
                    v.problem(
                        path.key(field),
                        format!("`{field}` belongs to the closed model (`requests`); an open-model phase sets `rate` and `connections`"),
                    );
                }
            }
            let shape = validate_rate(v, rate, &path.key("rate"));
            let connections = spec.connections.unwrap_or(context.default_connections);
            check_count(v, path.key("connections"), "connections", connections);
            match spec.duration {
                None => {
                    v.problem(
                        path.key("duration"),
                        "an open-model phase (`rate`) needs a `duration`",
                    );
                    None
                }
                Some(duration) => shape.map(|rate| LoadModel::Open {
                    rate,
                    duration: scaled(duration.0, context.scale),
                    connections,
                }),
            }
        }
        (None, Some(requests)) => {
            for (field, set) in open_only {
                if set {
                    v.problem(
                        path.key(field),
                        format!("`{field}` belongs to the open model (`rate`); a closed-model phase sets `concurrency`"),
                    );
                }
            }
            if requests == 0 || requests > MAX_REQUESTS {
                v.problem(
                    path.key("requests"),
                    format!("requests must be between 1 and {MAX_REQUESTS} (got {requests})"),
                );
            }
            let concurrency = spec.concurrency.unwrap_or(1);
            check_count(v, path.key("concurrency"), "concurrency", concurrency);
            let pause = spec.pause.map(|p| p.0).unwrap_or_default();
            if pause > MAX_TIMEOUT {
                v.problem(
                    path.key("pause"),
                    format!("pause is at most {}", format_duration(MAX_TIMEOUT)),
                );
            }
            Some(LoadModel::Closed {
                requests,
                concurrency,
                pause,
                max_duration: spec.duration.map(|d| scaled(d.0, context.scale)),
            })
        }
        (None, None) => match spec.duration {
            Some(duration) => {
                for (field, set) in open_only.iter().chain(closed_only.iter()) {
                    if *set {
                        v.problem(
                            path.key(field),
                            format!("`{field}` needs traffic: add `rate` or `requests`"),
                        );
                    }
                }
                if spec.request.is_some() || spec.mix.is_some() {
                    v.problem(
                        path.clone(),
                        "this phase has a request but no load: add `rate: 10/s` (open model) \
                         or `requests: 100` (closed model)",
                    );
                }
                Some(LoadModel::Idle {
                    duration: scaled(duration.0, context.scale),
                })
            }
            None => {
                v.problem(
                    path.clone(),
                    "a phase needs `rate` + `duration` (open model), `requests` (closed \
                     model), or only `duration` (a phase without traffic)",
                );
                None
            }
        },
    };

    let requests = match (&model, &spec.request, &spec.mix) {
        // An idle phase's request was reported above; with no model at all
        // (a broken rate), the request is still checked.
        (Some(LoadModel::Idle { .. }), _, _) => Vec::new(),
        (None, None, None) => Vec::new(),
        (_, Some(_), Some(_)) => {
            v.problem(path.clone(), "choose one: `request` or `mix`");
            Vec::new()
        }
        (_, None, None) => {
            v.problem(
                path.key("request"),
                "a phase with traffic needs a `request` (or a weighted `mix`)",
            );
            Vec::new()
        }
        (_, Some(request), None) => {
            validate_request(v, request, &path.key("request"), context.default_headers)
                .map(|request| vec![WeightedRequest { weight: 1, request }])
                .unwrap_or_default()
        }
        (_, None, Some(mix)) => {
            if mix.is_empty() {
                v.problem(path.key("mix"), "a mix needs at least one request");
            }
            let mut total = 0u32;
            let mut entries = Vec::new();
            for (j, entry) in mix.iter().enumerate() {
                let entry_path = path.key("mix").index(j);
                let weight = entry.weight.unwrap_or(1);
                if weight == 0 || weight > MAX_MIX_WEIGHT {
                    v.problem(
                        entry_path.key("weight"),
                        format!("weight must be between 1 and {MAX_MIX_WEIGHT} (got {weight})"),
                    );
                }
                total = total.saturating_add(weight);
                if let Some(request) = validate_request(
                    v,
                    &entry.request,
                    &entry_path.key("request"),
                    context.default_headers,
                ) {
                    entries.push(WeightedRequest { weight, request });
                }
            }
            if total > MAX_MIX_WEIGHT {
                v.problem(
                    path.key("mix"),
                    format!(
                        "the weights add up to {total}; keep them at most {MAX_MIX_WEIGHT} in all"
                    ),
                );
            }
            entries
        }
    };

    let fault = spec
        .fault
        .as_ref()
        .and_then(|f| validate_fault(v, f, &path.key("fault"), context.embedded_target));

    if v.findings.len() > before {
        return None;
    }
    Some(PhasePlan {
        name: spec.name.clone(),
        model: model?,
        requests,
        fault,
        timeout,
    })
}

fn validate_rate(v: &mut Validator, rate: &RateSpec, path: &FieldPath) -> Option<RateShape> {
    let (from, to) = match rate {
        RateSpec::Constant(r) => (r.0, r.0),
        RateSpec::Ramp { from, to } => (from.0, to.0),
    };
    if from > MAX_RATE || to > MAX_RATE {
        v.problem(
            path.clone(),
            format!(
                "rate is at most {MAX_RATE}/s per firedrill process; split the load with shards"
            ),
        );
        return None;
    }
    if from <= 0.0 && to <= 0.0 {
        v.problem(
            path.clone(),
            "rate must be greater than zero (for a phase without traffic, give only `duration`)",
        );
        return None;
    }
    Some(RateShape { from, to })
}

fn validate_request(
    v: &mut Validator,
    spec: &RequestSpec,
    path: &FieldPath,
    default_headers: &BTreeMap<String, String>,
) -> Option<RequestTemplate> {
    let before = v.findings.len();
    if !spec.path.starts_with('/')
        || spec
            .path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        v.problem(
            path.key("path"),
            format!(
                "path `{}` must start with `/` and contain no spaces (the target's base URL is set once, in `target`)",
                spec.path
            ),
        );
    }
    let has_body = spec.json.is_some() || spec.body.is_some();
    let method = spec
        .method
        .clone()
        .unwrap_or_else(|| if has_body { "POST" } else { "GET" }.to_string());
    if method.is_empty() || !method.chars().all(|c| c.is_ascii_uppercase()) {
        v.problem(
            path.key("method"),
            format!("method `{method}` must be an upper-case HTTP method like GET or POST"),
        );
    }
    let mut headers: BTreeMap<String, String> = default_headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    for (name, value) in &spec.headers {
        headers.insert(name.to_ascii_lowercase(), value.clone());
    }
    for (name, value) in &headers {
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
        if !valid_name || value.chars().any(|c| c == '\r' || c == '\n') {
            v.problem(
                path.key("headers").key(name),
                format!("header `{name}` has an invalid name or a line break in its value"),
            );
        }
    }
    let body = match (&spec.json, &spec.body) {
        (Some(_), Some(_)) => {
            v.problem(path.clone(), "choose one: `json` or `body`");
            Vec::new()
        }
        (Some(json), None) => {
            headers
                .entry("content-type".into())
                .or_insert_with(|| "application/json".into());
            serde_json::to_vec(json).unwrap_or_default()
        }
        (None, Some(body)) => body.clone().into_bytes(),
        (None, None) => Vec::new(),
    };
    if v.findings.len() > before {
        return None;
    }
    Some(RequestTemplate {
        method,
        path: spec.path.clone(),
        headers: headers.into_iter().collect(),
        body,
    })
}

fn validate_fault(
    v: &mut Validator,
    spec: &FaultSpec,
    path: &FieldPath,
    embedded_target: bool,
) -> Option<Faults> {
    if !embedded_target {
        v.problem(
            path.clone(),
            "these faults are injected into the embedded demo gateway; with a `base_url` \
             target, firedrill has no way to inject them",
        );
        return None;
    }
    if *spec == FaultSpec::default() {
        v.problem(
            path.clone(),
            "an empty fault: set backend_error_ratio, backend_latency, backend_down or gateway_down",
        );
        return None;
    }
    if let Some(latency) = spec.backend_latency {
        if latency.0 > MAX_TIMEOUT {
            v.problem(
                path.key("backend_latency"),
                format!(
                    "backend_latency is at most {}",
                    format_duration(MAX_TIMEOUT)
                ),
            );
            return None;
        }
    }
    Some(Faults {
        backend_error_ratio: spec.backend_error_ratio.map(|r| r.0).unwrap_or(0.0),
        backend_latency: spec.backend_latency.map(|d| d.0).unwrap_or_default(),
        backend_down: spec.backend_down.unwrap_or(false),
        gateway_down: spec.gateway_down.unwrap_or(false),
    })
}

struct CheckContext<'a> {
    phase_names: &'a [String],
    phases: &'a [PhaseSpec],
    /// Planned (start, end) of each phase from the run's start, scaled; `None`
    /// when a closed-model phase has no duration cap (the run's length then
    /// depends on the target's speed).
    windows: Option<Vec<(Duration, Duration)>>,
    scale: f64,
}

fn phase_windows(phases: &[PhasePlan]) -> Option<Vec<(Duration, Duration)>> {
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
fn check_deadline_fits(
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
    fn phase(&self, v: &mut Validator, path: FieldPath, name: &str) -> Option<usize> {
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

fn validate_check(
    v: &mut Validator,
    spec: &CheckSpec,
    path: &FieldPath,
    index: usize,
    context: &CheckContext,
) -> Vec<CheckPlan> {
    let id = format!("checks[{index}]");
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
                "a check needs `alert: <name>` (fires_within, resolves_within, silent_during) \
                 or `slo: latency | error_ratio`",
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
    if !is_metric_name(alert) || alert.contains(':') {
        v.problem(
            path.key("alert"),
            format!("`{alert}` is not an alert name (letters, digits and `_`)"),
        );
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
    let custom_name = spec.name.clone();
    if let Some(phase_name) = &spec.silent_during {
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
        let name =
            custom_name.unwrap_or_else(|| format!("{alert} stays silent during {phase_name}"));
        return Some((
            name,
            CheckKind::SilentDuring {
                alert: alert.to_string(),
                phase,
                allow_pending,
            },
        ));
    }
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
    let anchor = if after == "condition" {
        if field == "resolves_within" {
            v.problem(
                path.key("after"),
                "`resolves_within` counts from a phase edge, e.g. `after: recovery.start`",
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
        Anchor::Condition {
            phase,
            expr: spec.condition.clone(),
        }
    } else {
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
        context.anchor(v, path.key("after"), after)?
    };
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
    let name = custom_name
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
    let sources = match &spec.source {
        None => vec![Source::Client, Source::Prometheus],
        Some(list) => {
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
    };
    let Some(below) = &spec.below else {
        v.problem(path.key("below"), "an slo check needs `below`");
        return Vec::new();
    };
    let mut kinds = Vec::new();
    match slo {
        "latency" => {
            let Some(quantile) = spec.quantile else {
                v.problem(
                    path.key("quantile"),
                    "a latency check needs `quantile`, e.g. p95",
                );
                return Vec::new();
            };
            let bound = match HumanDuration::parse(&below.0) {
                Ok(bound) => bound,
                Err(e) => {
                    v.problem(path.key("below"), e);
                    return Vec::new();
                }
            };
            for source in sources {
                let name = spec.name.clone().unwrap_or_else(|| {
                    format!("{} latency below {bound} during {during}", quantile.label())
                });
                kinds.push((
                    name,
                    CheckKind::Latency {
                        quantile: quantile.0,
                        below: bound.0,
                        phase,
                        source,
                    },
                ));
            }
        }
        "error_ratio" => {
            if spec.quantile.is_some() {
                v.problem(path.key("quantile"), "`quantile` applies to `slo: latency`");
            }
            let bound = match Ratio::parse(&below.0) {
                Ok(bound) => bound,
                Err(e) => {
                    v.problem(path.key("below"), e);
                    return Vec::new();
                }
            };
            for source in sources {
                let name = spec
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("error ratio below {bound} during {during}"));
                kinds.push((
                    name,
                    CheckKind::ErrorRatio {
                        below: bound.0,
                        phase,
                        source,
                    },
                ));
            }
        }
        other => {
            v.problem(
                path.key("slo"),
                format!("unknown slo `{other}`: use latency or error_ratio"),
            );
            return Vec::new();
        }
    }
    let several = kinds.len() > 1;
    kinds
        .into_iter()
        .map(|(name, kind)| {
            let source = match &kind {
                CheckKind::Latency { source, .. } | CheckKind::ErrorRatio { source, .. } => *source,
                _ => Source::Client,
            };
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
