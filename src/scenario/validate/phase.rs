//! Phases: the load model (open, closed or idle), requests and mixes, faults.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{check_count, MAX_MIX_WEIGHT, MAX_PHASE_DURATION, MAX_RATE, MAX_REQUESTS, MAX_TIMEOUT};
use crate::fault_kinds::{self, Setting};
use crate::plan::{
    ContainerLimits, LoadModel, Pace, PhasePlan, RateShape, RequestTemplate, WeightedRequest,
};
use crate::scenario::format::{MixEntrySpec, PhaseSpec, RateSpec, RequestSpec};
use crate::spec::{scaled, FieldPath, Validator, CREDENTIAL_HEADERS};
use crate::time::{format_duration, trim_float};

pub(super) struct PhaseContext<'a> {
    pub(super) scale: f64,
    /// Rates multiplied by the scale, pauses divided (`scale_rates`).
    pub(super) pace: Pace,
    pub(super) default_timeout: Duration,
    pub(super) default_connections: u32,
    pub(super) default_headers: &'a BTreeMap<String, String>,
    /// The embedded demo's limits; None for any other target.
    pub(super) embedded: Option<ContainerLimits>,
}

pub(super) fn validate_phase(
    v: &mut Validator,
    spec: &PhaseSpec,
    path: &FieldPath,
    context: &PhaseContext,
) -> Option<PhasePlan> {
    let before = v.count();
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
    let model = validate_model(v, spec, path, context);
    let requests = validate_requests(v, spec, model.as_ref(), path, context);
    let setting = Setting {
        embedded: context.embedded.as_ref(),
        max_timeout: MAX_TIMEOUT,
    };
    let fault = spec
        .fault
        .as_ref()
        .and_then(|f| fault_kinds::validate(f, &path.key("fault"), &setting, v));

    let warm_up = spec.warm_up.unwrap_or(false);
    if warm_up && matches!(model, Some(LoadModel::Idle { .. })) {
        v.problem(
            path.key("warm_up"),
            "a warm-up phase fills the rules' windows with traffic: give it a `rate` (or `requests`)",
        );
    }
    if v.count() > before {
        return None;
    }
    Some(PhasePlan {
        name: spec.name.clone(),
        model: model?,
        requests,
        fault,
        timeout,
        pace: context.pace,
        warm_up,
    })
}

/// A field the phase may set, and whether it does.
type FieldSet = (&'static str, bool);

/// Fields only the open model has.
fn open_only(spec: &PhaseSpec) -> [FieldSet; 1] {
    [("connections", spec.connections.is_some())]
}

/// Fields only the closed model has.
fn closed_only(spec: &PhaseSpec) -> [FieldSet; 2] {
    [
        ("concurrency", spec.concurrency.is_some()),
        ("pause", spec.pause.is_some()),
    ]
}

/// The load model: open (`rate` + `duration`), closed (`requests`), or idle
/// (`duration` alone).
fn validate_model(
    v: &mut Validator,
    spec: &PhaseSpec,
    path: &FieldPath,
    context: &PhaseContext,
) -> Option<LoadModel> {
    match (&spec.rate, spec.requests) {
        (Some(_), Some(_)) => {
            v.problem(
                path.clone(),
                "choose one load model: `rate` + `duration` (open) or `requests` (closed)",
            );
            None
        }
        (Some(rate), None) => open_model(v, spec, rate, path, context),
        (None, Some(requests)) => closed_model(v, spec, requests, path, context),
        (None, None) => idle_model(v, spec, path, context),
    }
}

fn open_model(
    v: &mut Validator,
    spec: &PhaseSpec,
    rate: &RateSpec,
    path: &FieldPath,
    context: &PhaseContext,
) -> Option<LoadModel> {
    for (field, set) in closed_only(spec) {
        if set {
            v.problem(
                path.key(field),
                format!("`{field}` belongs to the closed model (`requests`); an open-model phase sets `rate` and `connections`"),
            );
        }
    }
    let shape = validate_rate(v, rate, &path.key("rate"), context.pace);
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

fn closed_model(
    v: &mut Validator,
    spec: &PhaseSpec,
    requests: u64,
    path: &FieldPath,
    context: &PhaseContext,
) -> Option<LoadModel> {
    for (field, set) in open_only(spec) {
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
    // Each client's pause is the time between its requests: divided, the
    // same requests come `time_scale` times as often. Concurrency stays:
    // it is how many clients there are.
    let pause = if context.pace.rates_scaled {
        scaled(pause, context.scale)
    } else {
        pause
    };
    Some(LoadModel::Closed {
        requests,
        concurrency,
        pause,
        max_duration: spec.duration.map(|d| scaled(d.0, context.scale)),
    })
}

fn idle_model(
    v: &mut Validator,
    spec: &PhaseSpec,
    path: &FieldPath,
    context: &PhaseContext,
) -> Option<LoadModel> {
    let Some(duration) = spec.duration else {
        v.problem(
            path.clone(),
            "a phase needs `rate` + `duration` (open model), `requests` (closed \
             model), or only `duration` (a phase without traffic)",
        );
        return None;
    };
    for (field, set) in open_only(spec).into_iter().chain(closed_only(spec)) {
        if set {
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

/// The phase's `request`, or its weighted `mix`.
fn validate_requests(
    v: &mut Validator,
    spec: &PhaseSpec,
    model: Option<&LoadModel>,
    path: &FieldPath,
    context: &PhaseContext,
) -> Vec<WeightedRequest> {
    match (model, &spec.request, &spec.mix) {
        // An idle phase's request was reported with its model; with no model
        // at all (a broken rate), the request is still checked.
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
        (_, None, Some(mix)) => validate_mix(v, mix, path, context),
    }
}

fn validate_mix(
    v: &mut Validator,
    mix: &[MixEntrySpec],
    path: &FieldPath,
    context: &PhaseContext,
) -> Vec<WeightedRequest> {
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
            format!("the weights add up to {total}; keep them at most {MAX_MIX_WEIGHT} in all"),
        );
    }
    entries
}

/// The rate as sent: as written, times the scale when rates are scaled.
fn validate_rate(
    v: &mut Validator,
    rate: &RateSpec,
    path: &FieldPath,
    pace: Pace,
) -> Option<RateShape> {
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
    let factor = pace.rate_factor();
    if from.max(to) * factor > MAX_RATE {
        v.problem(
            path.clone(),
            format!(
                "{}/s in production is sent at {}/s under time_scale {} (each compressed window \
                 holds production's requests), above the {MAX_RATE}/s a firedrill process sends: \
                 split the load with shards, lower time_scale, or set `scale_rates: false` and \
                 accept windows {} times thinner",
                trim_float(from.max(to)),
                trim_float(from.max(to) * factor),
                trim_float(factor),
                trim_float(factor)
            ),
        );
        return None;
    }
    let (from, to) = (from * factor, to * factor);
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
    let before = v.count();
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
    let mut headers = request_headers(v, spec, path, default_headers);
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
    if v.count() > before {
        return None;
    }
    Some(RequestTemplate {
        method,
        path: spec.path.clone(),
        headers: headers.into_iter().collect(),
        body,
    })
}

/// The request's headers (the defaults' overridden by its own, names in
/// lower case), none carrying credentials, each well-formed.
fn request_headers(
    v: &mut Validator,
    spec: &RequestSpec,
    path: &FieldPath,
    default_headers: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut headers: BTreeMap<String, String> = default_headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    for (name, value) in &spec.headers {
        headers.insert(name.to_ascii_lowercase(), value.clone());
    }
    for name in headers.keys() {
        if CREDENTIAL_HEADERS.contains(&name.as_str()) {
            v.problem(
                path.key("headers").key(name),
                format!(
                    "`{name}` carries credentials: give them in `target.auth` (from an environment \
                     variable or a file), because the scenario text is copied into every report"
                ),
            );
        }
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
    headers
}
