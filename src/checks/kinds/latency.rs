//! `slo: latency`: a latency quantile over a phase stays below a bound,
//! measured by firedrill's client (HDR histograms, from each request's
//! intended send time) or by the service (its Prometheus histogram); both
//! unless `source` says one.
//!
//! A Prometheus histogram only knows bucket counts: when the bound is a
//! bucket boundary, the share of requests under it is exact and decides;
//! otherwise histogram_quantile interpolates inside a bucket, and the
//! verdict says it rests on that estimate.
//!
//! With `window:` the quantile is judged over every window of the phase
//! (`checks::sliding`); with `at_most: baseline + 10%` (and `floor:`)
//! against the run's baseline (`checks::relative`), with or without
//! `below`.
//!
//! ```yaml
//! - { slo: latency, quantile: p95, below: 500ms, during: healthy, source: [client, prometheus] }
//! - { slo: latency, quantile: p90, below: 100ms, window: 5s, during: steady, source: client }
//! - { slo: latency, quantile: p95, at_most: baseline + 10%, floor: 5ms, during: healthy }
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Check, Planned, ServiceQuery};
use crate::checks::context::{phase_record, phase_stats, service_value, service_windows_of};
use crate::checks::evidence::{nullable, Readout, Refusal};
use crate::checks::format::CheckSpec;
use crate::checks::judged::{Judged, Judgement, Judging, Refused, Status, Unjudged};
use crate::checks::relative::{self, read_relative, RelativeBound, RelativeFigures};
use crate::checks::sliding::{self, observed_windows, read_window, SlidingWindow, WindowFigures};
use crate::checks::validate::{slo_scope, CheckContext};
use crate::checks::window::{phase_measured, Needed};
use crate::record::{Counts, LatencySummary, PhaseStats};
use crate::setup::Source;
use crate::spec::units::{HumanDuration, Quantile};
use crate::spec::{FieldPath, Validator};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub quantile: f64,
    /// None: only `at_most` bounds it.
    pub below: Option<Duration>,
    pub phase: usize,
    pub source: Source,
    /// Judged over every window of the phase, not the phase as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<SlidingWindow>,
    /// A bound relative to the run's baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<RelativeBound>,
}

/// The figures of a latency verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(flatten)]
    pub measured: Option<Measured>,
    /// Client-side: the phase's latency distribution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencySummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
    /// Client-side: requests sent late because every connection was busy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delayed: Option<u64>,
    #[serde(flatten)]
    pub service: Option<ServiceFigures>,
    /// Service-side: the PromQL asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// With `window`: the worst window, and the first bad ones back to back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows: Option<WindowFigures>,
    /// With `at_most`: the baseline's quantile and the bound over it (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative: Option<RelativeFigures>,
}

/// The quantile measured (the worst window's, with `window`) and the
/// bound it was held to (the tighter of `below` and `at_most`), in ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    pub value_ms: f64,
    pub bound_ms: f64,
}

/// What Prometheus counted: requests in the phase, and the histogram's
/// cumulative buckets (upper bound in seconds, count).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceFigures {
    #[serde(deserialize_with = "nullable")]
    pub requests_seen: Option<f64>,
    pub buckets: Vec<(f64, f64)>,
}

impl From<Refusal> for Evidence {
    fn from(refusal: Refusal) -> Self {
        Evidence {
            query: refusal.query,
            ..Evidence::default()
        }
    }
}

impl Readout for Evidence {}

impl Check for Latency {
    const NAME: &'static str = "latency";
    const WRITTEN: &'static str = "slo: latency";
    const KEYS: &'static [&'static str] = &[
        "slo", "quantile", "below", "during", "source", "window", "for", "at_most", "floor",
    ];
    type Evidence = Evidence;

    fn said_by(spec: &CheckSpec) -> bool {
        spec.slo.as_deref() == Some("latency")
    }

    fn validate(
        spec: &CheckSpec,
        path: &FieldPath,
        context: &CheckContext,
        v: &mut Validator,
    ) -> Vec<Planned<Self>> {
        let Some((during, phase, sources)) = slo_scope(spec, path, context, v) else {
            return Vec::new();
        };
        let Some(quantile) = spec.quantile else {
            v.problem(
                path.key("quantile"),
                "a latency check needs `quantile`, e.g. p95",
            );
            return Vec::new();
        };
        let below = match spec.below.as_ref().map(|b| HumanDuration::parse(&b.0)) {
            None => None,
            Some(Ok(bound)) => Some(bound),
            Some(Err(e)) => {
                v.problem(path.key("below"), e.to_string());
                return Vec::new();
            }
        };
        let at_most = read_relative(spec, path, 1.0, v);
        if below.is_none() && spec.at_most.is_none() {
            v.problem(
                path.key("below"),
                "a latency check needs `below` (e.g. 500ms), `at_most: baseline + 10%`, or both",
            );
            return Vec::new();
        }
        let window = read_window(spec, path, context, phase, v);
        if window.is_some() && spec.at_most.is_some() {
            v.problem(
                path.key("at_most"),
                "`at_most` does not go with `window`: a baseline holds whole-phase figures, not windows",
            );
        }
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| default_name(spec, quantile, below, at_most, during));
        sources
            .into_iter()
            .map(|source| Planned {
                name: name.clone(),
                source: Some(source),
                plan: Latency {
                    quantile: quantile.0,
                    below: below.map(|b| b.0),
                    phase,
                    source,
                    window,
                    at_most,
                },
            })
            .collect()
    }

    fn judge(&self, judging: &Judging) -> Judged<Evidence> {
        match self.source {
            Source::Client => client(self, judging).unwrap_or_else(Judged::from),
            Source::Prometheus => service(self, judging).unwrap_or_else(Judged::from),
        }
    }

    /// The phase ran to its end; measured by the service, Prometheus also
    /// holds a scrape of the target at or after that end.
    fn window(&self, judging: &Judging) -> Result<(), Needed> {
        phase_measured(judging, self.phase, self.source == Source::Prometheus)
    }

    /// An SLO over part of a phase, which the rest of it could move either
    /// way, is never settled early.
    fn settled_early(_: Status) -> bool {
        false
    }

    fn service_query(&self) -> Option<ServiceQuery> {
        (self.source == Source::Prometheus).then_some(ServiceQuery::Latency {
            quantile: self.quantile,
            phase: self.phase,
            window: self.window.map(|w| w.seconds),
        })
    }
}

/// `p95 latency below 500ms during healthy`, `p95 latency at most
/// baseline + 10% (floor 5ms) during healthy`, `p90 latency below 100ms
/// over 5s windows during steady`.
fn default_name(
    spec: &CheckSpec,
    quantile: Quantile,
    below: Option<HumanDuration>,
    at_most: Option<RelativeBound>,
    during: &str,
) -> String {
    let bounds = match (below, at_most) {
        (Some(b), Some(r)) => format!("below {b} and at most {}", r.describe()),
        (Some(b), None) => format!("below {b}"),
        (None, Some(r)) => format!("at most {}", r.describe()),
        (None, None) => String::new(),
    };
    let windows = match (spec.window, &spec.r#for) {
        (Some(w), Some(n)) => format!(" over {w} windows (for {})", n.0),
        (Some(w), None) => format!(" over {w} windows"),
        _ => String::new(),
    };
    format!(
        "{} latency {bounds}{windows} during {during}",
        quantile.label()
    )
}

fn label(quantile: f64) -> String {
    format!("p{}", crate::time::trim_float(quantile * 100.0))
}

fn client(plan: &Latency, judging: &Judging) -> Judgement<Evidence> {
    let (name, stats) = phase_stats(plan.phase, judging.observations)?;
    if stats.latency.count() == 0 {
        return Ok(Judged::new(
            Status::Inconclusive,
            format!("no request of `{name}` got an answer, so it has no latency"),
            Evidence {
                counts: Some(stats.counts),
                ..Evidence::default()
            },
        ));
    }
    if let Some(window) = plan.window {
        return client_windows(plan, window, name, stats, judging);
    }
    let value = stats.latency.quantile_ms(plan.quantile);
    let absolute = plan.below.map(|below| {
        let bound_ms = below.as_secs_f64() * 1000.0;
        let held = value < bound_ms;
        let how = if held { "under" } else { "not under" };
        (held, bound_ms, format!("{how} the {bound_ms:.0}ms bound"))
    });
    let judged = against_bounds(value, absolute, plan, name, judging);
    let mut summary = format!(
        "client-side {} during `{name}` was {value:.1}ms ({}{} requests)",
        label(plan.quantile),
        judged
            .parts
            .iter()
            .map(|p| format!("{p}, "))
            .collect::<String>(),
        stats.latency.count()
    );
    if stats.counts.dropped > 0 {
        summary.push_str(&format!(
            "; {} requests were never sent (every connection busy) and count at their wait so far",
            stats.counts.dropped
        ));
    }
    if let Some(why) = &judged.unjudged {
        summary.push_str(&format!("; {why}"));
    }
    Ok(Judged::new(
        judged.status,
        summary,
        Evidence {
            measured: Some(Measured {
                value_ms: value,
                bound_ms: judged.bound_ms,
            }),
            latency: Some(stats.latency.summary()),
            counts: Some(stats.counts),
            delayed: Some(stats.delayed),
            relative: judged.relative,
            ..Evidence::default()
        },
    ))
}

/// How a value (ms) fared against a check's bounds: `below` (its outcome
/// and words, given), `at_most` (judged here against the baseline).
struct Bounded {
    status: Status,
    /// `under the 250ms bound`, `over baseline + 10% (floor 5ms) = 11.4ms
    /// (the baseline's 6.4ms)`.
    parts: Vec<String>,
    /// Why `at_most` could not be judged.
    unjudged: Option<String>,
    /// The tighter bound.
    bound_ms: f64,
    relative: Option<RelativeFigures>,
}

fn against_bounds(
    value_ms: f64,
    absolute: Option<(bool, f64, String)>,
    plan: &Latency,
    phase: &str,
    judging: &Judging,
) -> Bounded {
    let mut bounded = Bounded {
        status: Status::Pass,
        parts: Vec::new(),
        unjudged: None,
        bound_ms: f64::INFINITY,
        relative: None,
    };
    if let Some((held, bound_ms, words)) = absolute {
        bounded.parts.push(words);
        bounded.bound_ms = bound_ms;
        if !held {
            bounded.status = Status::Fail;
        }
    }
    let Some(at_most) = &plan.at_most else {
        return bounded;
    };
    match relative_to(plan, at_most, phase, judging) {
        Ok(figures) => {
            let held = value_ms <= figures.relative_bound;
            bounded.parts.push(format!(
                "{} {} = {:.1}ms (the baseline's {:.1}ms)",
                if held { "at most" } else { "over" },
                at_most.describe(),
                figures.relative_bound,
                figures.baseline_value
            ));
            bounded.bound_ms = bounded.bound_ms.min(figures.relative_bound);
            if !held {
                bounded.status = Status::Fail;
            }
            bounded.relative = Some(figures);
        }
        Err(stop) => {
            // A failure of `below` stands; without it, nothing is proven.
            if bounded.status == Status::Pass {
                bounded.status = Status::Inconclusive;
            }
            bounded.unjudged = Some(stop.summary);
        }
    }
    bounded
}

/// The baseline's quantile for this check (its phase by name, or its
/// service-side figure) and the bound over it.
fn relative_to(
    plan: &Latency,
    at_most: &RelativeBound,
    phase: &str,
    judging: &Judging,
) -> Result<RelativeFigures, Unjudged> {
    let baseline = relative::baseline(judging)?;
    let q = label(plan.quantile);
    let base_ms = match plan.source {
        Source::Client => baseline
            .figures
            .phases
            .iter()
            .find(|p| p.phase == phase)
            .and_then(|p| p.quantile_ms(plan.quantile)),
        Source::Prometheus => baseline
            .figures
            .service
            .iter()
            .find(|s| s.kind == "latency" && s.phase == phase && s.quantile == Some(plan.quantile))
            .map(|s| s.value),
    }
    .ok_or_else(|| {
        Unjudged::inconclusive(format!(
            "the baseline ({}) has no {} {q} for `{phase}` to be relative to",
            baseline.source,
            plan.source.as_str()
        ))
    })?;
    Ok(RelativeFigures {
        baseline: baseline.source.clone(),
        baseline_value: base_ms,
        relative_bound: at_most.limit(base_ms / 1000.0) * 1000.0,
    })
}

/// Over every window of the phase: the worst window's quantile, and
/// whether `for` windows back to back were over the bound.
fn client_windows(
    plan: &Latency,
    window: SlidingWindow,
    name: &str,
    stats: &PhaseStats,
    judging: &Judging,
) -> Judgement<Evidence> {
    let record = phase_record(plan.phase, judging.observations)?;
    let Some(below) = plan.below else {
        return Err(Unjudged::inconclusive(
            "a windowed latency check needs `below`",
        ));
    };
    let bound_ms = below.as_secs_f64() * 1000.0;
    let seconds = (record.ended_at - record.started_at).ceil().max(1.0) as u32;
    let windows = sliding::latency_windows(&stats.series, seconds, window.seconds, plan.quantile);
    let offset = judging.rel(record.started_at);
    let mut figures = sliding::figures(&windows, window, 1.0, offset, |_, w| {
        w.value.is_some_and(|v| v >= bound_ms)
    });
    figures.significant_digits = Some(2);
    let Some(worst) = figures.worst.as_ref().map(|w| w.value) else {
        return Err(Unjudged::inconclusive(format!(
            "no window of `{name}` had an answer"
        )));
    };
    let status = if figures.breach_from_seconds.is_some() {
        Status::Fail
    } else {
        Status::Pass
    };
    let p = label(plan.quantile);
    let summary = format!(
        "client-side {p} over {} during `{name}`: {} the {bound_ms:.0}ms bound — {}; the whole phase's {p} was {:.1}ms",
        window.describe(),
        if status == Status::Pass { "within" } else { "over" },
        sliding::describe(&figures, |v| format!("{v:.1}ms")),
        stats.latency.quantile_ms(plan.quantile)
    );
    Ok(Judged::new(
        status,
        summary,
        Evidence {
            measured: Some(Measured {
                value_ms: worst,
                bound_ms,
            }),
            latency: Some(stats.latency.summary()),
            counts: Some(stats.counts),
            delayed: Some(stats.delayed),
            windows: Some(figures),
            ..Evidence::default()
        },
    ))
}

fn service(plan: &Latency, judging: &Judging) -> Judgement<Evidence, Refused> {
    if let Some(window) = plan.window {
        return service_windows(plan, window, judging);
    }
    let phase_name = judging.phase_name(plan.phase);
    let (observation, value) = service_value(judging, || {
        format!(
            "Prometheus saw no requests matching {{{}}} during `{phase_name}`",
            judging.service_metrics.selector
        )
    })?;
    let value_ms = value * 1000.0;
    let absolute = plan.below.map(|below| {
        let (held, how) = service_bound(
            plan.quantile,
            below,
            value,
            &observation.buckets,
            observation.requests_seen,
        );
        (held, below.as_secs_f64() * 1000.0, how)
    });
    let judged = against_bounds(value_ms, absolute, plan, phase_name, judging);
    let mut summary = format!(
        "service-side {} during `{phase_name}` was {value_ms:.1}ms",
        label(plan.quantile)
    );
    for part in &judged.parts {
        summary.push_str(&format!("; {part}"));
    }
    if let Some(why) = &judged.unjudged {
        summary.push_str(&format!("; {why}"));
    }
    Ok(Judged::new(
        judged.status,
        summary,
        Evidence {
            measured: Some(Measured {
                value_ms,
                bound_ms: judged.bound_ms,
            }),
            service: Some(ServiceFigures {
                requests_seen: observation.requests_seen,
                buckets: observation.buckets.clone(),
            }),
            query: Some(observation.query.clone()),
            relative: judged.relative,
            ..Evidence::default()
        },
    ))
}

/// Whether the service's quantile held `below`, and how that is known:
/// exactly when the bound is a bucket boundary (the share of requests
/// under it), else histogram_quantile's interpolation.
fn service_bound(
    quantile: f64,
    below: Duration,
    value: f64,
    buckets: &[(f64, f64)],
    requests_seen: Option<f64>,
) -> (bool, String) {
    let bound_s = below.as_secs_f64();
    let bound_ms = bound_s * 1000.0;
    let total = requests_seen.unwrap_or(0.0);
    let boundary = buckets.iter().find(|(le, _)| (le - bound_s).abs() < 1e-9);
    match boundary {
        Some((_, under)) if total > 0.0 => {
            let share = under / total;
            (
                share >= quantile,
                format!(
                    "{:.2}% of requests took at most {bound_ms:.0}ms (exact: the bound is a bucket boundary)",
                    share * 100.0
                ),
            )
        }
        _ => (
            value < bound_s,
            format!(
                "estimate: {bound_ms:.0}ms is not a bucket boundary, so histogram_quantile interpolated within a bucket ({})",
                bucket_around(buckets, value)
            ),
        ),
    }
}

/// Over each window Prometheus answered: the worst window's quantile and
/// whether `for` windows back to back were over the bound.
fn service_windows(
    plan: &Latency,
    window: SlidingWindow,
    judging: &Judging,
) -> Judgement<Evidence, Refused> {
    let phase_name = judging.phase_name(plan.phase);
    let record = phase_record(plan.phase, judging.observations)?;
    let observed = service_windows_of(judging)?;
    let Some(below) = plan.below else {
        return Err(Unjudged::inconclusive("a windowed latency check needs `below`").into());
    };
    let bound_ms = below.as_secs_f64() * 1000.0;
    let values = observed_windows(observed, record.started_at, 1000.0);
    let held: Vec<bool> = observed
        .windows
        .iter()
        .map(|w| match w.value {
            Some(v) => service_bound(plan.quantile, below, v, &w.buckets, w.requests_seen).0,
            None => true,
        })
        .collect();
    let offset = judging.rel(record.started_at);
    let figures = sliding::figures(&values, window, observed.step_seconds, offset, |i, _| {
        !held[i]
    });
    let status = match (&figures.worst, figures.breach_from_seconds) {
        (None, _) => Status::Inconclusive,
        (Some(_), Some(_)) => Status::Fail,
        (Some(_), None) => Status::Pass,
    };
    let exact = observed.windows.iter().any(|w| {
        w.buckets
            .iter()
            .any(|(le, _)| (le - below.as_secs_f64()).abs() < 1e-9)
    });
    let summary = format!(
        "service-side {} over {} during `{phase_name}` (increase() over each window, every {}s): {} the {bound_ms:.0}ms bound — {}; {}",
        label(plan.quantile),
        window.describe(),
        crate::time::trim_float(observed.step_seconds),
        match status {
            Status::Pass => "within",
            Status::Fail => "over",
            Status::Inconclusive => "nothing to judge against",
        },
        sliding::describe(&figures, |v| format!("{v:.1}ms")),
        if exact {
            "exact: the bound is a bucket boundary"
        } else {
            "estimate: the bound is not a bucket boundary, so histogram_quantile interpolated"
        }
    );
    Ok(Judged::new(
        status,
        summary,
        Evidence {
            measured: figures.worst.as_ref().map(|w| Measured {
                value_ms: w.value,
                bound_ms,
            }),
            query: Some(observed.query.clone()),
            windows: Some(figures),
            ..Evidence::default()
        },
    ))
}

fn bucket_around(buckets: &[(f64, f64)], value: f64) -> String {
    let upper = buckets.iter().position(|(le, _)| *le >= value);
    match upper {
        Some(0) => format!("between 0 and {}s", buckets[0].0),
        Some(i) => format!("between {}s and {}s", buckets[i - 1].0, buckets[i].0),
        None => "above the last bucket".into(),
    }
}
