//! `slo: error_ratio`: the share of failed requests over a phase stays
//! below a bound, counted by firedrill's client (5xx, no answer, never
//! sent — not 4xx) or by the service (its counters, the `error_selector`
//! out of `requests_total`); both unless `source` says one.
//!
//! With `window:` the ratio is judged over every window of the phase
//! (`checks::sliding`): the worst window's, and `for: N` windows back to
//! back.
//!
//! ```yaml
//! - { slo: error_ratio, below: 1%, during: healthy }
//! - { slo: error_ratio, below: 5%, window: 1m, for: 2, during: steady }
//! ```

use serde::{Deserialize, Serialize};

use super::{Check, Planned, ServiceQuery};
use crate::checks::context::{phase_record, phase_stats, service_value, service_windows_of};
use crate::checks::evidence::{nullable, Readout, Refusal};
use crate::checks::format::CheckSpec;
use crate::checks::judged::{Judged, Judgement, Judging, Refused, Status, Unjudged};
use crate::checks::sliding::{self, observed_windows, read_window, SlidingWindow, WindowFigures};
use crate::checks::validate::{slo_common, CheckContext};
use crate::checks::window::{phase_measured, Needed};
use crate::record::Counts;
use crate::setup::Source;
use crate::spec::units::Ratio;
use crate::spec::{FieldPath, Validator};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRatio {
    pub below: f64,
    pub phase: usize,
    pub source: Source,
    /// Judged over every window of the phase, not the phase as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<SlidingWindow>,
}

/// The figures of an error-ratio verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(flatten)]
    pub measured: Option<Measured>,
    /// Client-side: the phase's outcomes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
    #[serde(flatten)]
    pub service: Option<ServiceFigures>,
    /// Service-side: the PromQL asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// With `window`: the worst window, and the first bad ones back to back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows: Option<WindowFigures>,
}

/// The ratio measured (the worst window's, with `window`) and its bound
/// (shares, not percentages).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    pub ratio: f64,
    pub bound: f64,
}

/// What Prometheus counted: requests in the phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceFigures {
    #[serde(deserialize_with = "nullable")]
    pub requests_seen: Option<f64>,
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

impl Check for ErrorRatio {
    const NAME: &'static str = "error_ratio";
    const WRITTEN: &'static str = "slo: error_ratio";
    const KEYS: &'static [&'static str] = &["slo", "below", "during", "source", "window", "for"];
    type Evidence = Evidence;

    fn said_by(spec: &CheckSpec) -> bool {
        spec.slo.as_deref() == Some("error_ratio")
    }

    fn validate(
        spec: &CheckSpec,
        path: &FieldPath,
        context: &CheckContext,
        v: &mut Validator,
    ) -> Vec<Planned<Self>> {
        let Some((during, phase, sources, below)) = slo_common(spec, path, context, v) else {
            return Vec::new();
        };
        let bound = match Ratio::parse(below) {
            Ok(bound) => bound,
            Err(e) => {
                v.problem(path.key("below"), e.to_string());
                return Vec::new();
            }
        };
        let window = read_window(spec, path, context, phase, v);
        let name = spec.name.clone().unwrap_or_else(|| match spec.window {
            Some(w) => format!("error ratio below {bound} over {w} windows during {during}"),
            None => format!("error ratio below {bound} during {during}"),
        });
        sources
            .into_iter()
            .map(|source| Planned {
                name: name.clone(),
                source: Some(source),
                plan: ErrorRatio {
                    below: bound.0,
                    phase,
                    source,
                    window,
                },
            })
            .collect()
    }

    fn judge(&self, judging: &Judging) -> Judged<Evidence> {
        match (self.source, self.window) {
            (Source::Client, None) => client(self, judging).unwrap_or_else(Judged::from),
            (Source::Prometheus, None) => service(self, judging).unwrap_or_else(Judged::from),
            (source, Some(window)) => {
                windowed(self, source, window, judging).unwrap_or_else(Judged::from)
            }
        }
    }

    /// The phase ran to its end; counted by the service, Prometheus also
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
        (self.source == Source::Prometheus).then_some(ServiceQuery::ErrorRatio {
            phase: self.phase,
            window: self.window.map(|w| w.seconds),
        })
    }
}

fn percent(ratio: f64) -> String {
    format!("{:.2}%", ratio * 100.0)
}

fn client(plan: &ErrorRatio, judging: &Judging) -> Judgement<Evidence> {
    let (name, stats) = phase_stats(plan.phase, judging.observations)?;
    let counts = stats.counts;
    if counts.requests == 0 {
        return Ok(Judged::new(
            Status::Inconclusive,
            format!("`{name}` sent no requests"),
            Evidence::default(),
        ));
    }
    let ratio = counts.failed() as f64 / counts.requests as f64;
    let status = if ratio < plan.below {
        Status::Pass
    } else {
        Status::Fail
    };
    Ok(Judged::new(
        status,
        format!(
            "client-side error ratio during `{name}` was {} ({} of {} requests: 5xx, no answer or never sent; bound {})",
            percent(ratio),
            counts.failed(),
            counts.requests,
            percent(plan.below)
        ),
        Evidence {
            measured: Some(Measured {
                ratio,
                bound: plan.below,
            }),
            counts: Some(counts),
            ..Evidence::default()
        },
    ))
}

fn service(plan: &ErrorRatio, judging: &Judging) -> Judgement<Evidence, Refused> {
    let phase_name = judging.phase_name(plan.phase);
    let (observation, ratio) = service_value(judging, || {
        format!("Prometheus counted no requests during `{phase_name}`")
    })?;
    let status = if ratio < plan.below {
        Status::Pass
    } else {
        Status::Fail
    };
    Ok(Judged::new(
        status,
        format!(
            "service-side error ratio during `{phase_name}` was {} of about {:.0} requests (bound {})",
            percent(ratio),
            observation.requests_seen.unwrap_or(0.0),
            percent(plan.below)
        ),
        Evidence {
            measured: Some(Measured {
                ratio,
                bound: plan.below,
            }),
            service: Some(ServiceFigures {
                requests_seen: observation.requests_seen,
            }),
            query: Some(observation.query.clone()),
            ..Evidence::default()
        },
    ))
}

/// Over every window of the phase (the client's per-second series, or the
/// windows Prometheus answered): the worst window's ratio, and whether
/// `for` windows back to back were over the bound.
fn windowed(
    plan: &ErrorRatio,
    source: Source,
    window: SlidingWindow,
    judging: &Judging,
) -> Judgement<Evidence, Refused> {
    let record = phase_record(plan.phase, judging.observations)?;
    let name = &record.name;
    let (figures, counts, query, step) = windows_of(plan, source, window, record, judging)?;
    let Some(worst) = figures.worst.as_ref().map(|w| w.value) else {
        return Err(Unjudged::inconclusive(format!("no window of `{name}` had requests")).into());
    };
    let status = if figures.breach_from_seconds.is_some() {
        Status::Fail
    } else {
        Status::Pass
    };
    let summary = format!(
        "{}-side error ratio over {} during `{name}`{}: {} the {} bound — {}",
        if source == Source::Client {
            "client"
        } else {
            "service"
        },
        window.describe(),
        if source == Source::Client {
            String::new()
        } else {
            format!(
                " (increase() over each window, every {}s)",
                crate::time::trim_float(step)
            )
        },
        if status == Status::Pass {
            "within"
        } else {
            "over"
        },
        percent(plan.below),
        sliding::describe(&figures, percent)
    );
    Ok(Judged::new(
        status,
        summary,
        Evidence {
            measured: Some(Measured {
                ratio: worst,
                bound: plan.below,
            }),
            counts,
            query,
            windows: Some(figures),
            ..Evidence::default()
        },
    ))
}

/// The windows' figures, with the client's counts or the query asked, and
/// how far apart the windows start.
type Windows = (WindowFigures, Option<Counts>, Option<String>, f64);

fn windows_of(
    plan: &ErrorRatio,
    source: Source,
    window: SlidingWindow,
    record: &crate::record::PhaseRecord,
    judging: &Judging,
) -> Result<Windows, Refused> {
    let offset = judging.rel(record.started_at);
    let bad = |_: usize, w: &sliding::WindowValue| w.value.is_some_and(|v| v >= plan.below);
    Ok(match source {
        Source::Client => {
            let (_, stats) = phase_stats(plan.phase, judging.observations)?;
            let seconds = (record.ended_at - record.started_at).ceil().max(1.0) as u32;
            let windows = sliding::error_ratio_windows(&stats.series, seconds, window.seconds);
            let figures = sliding::figures(&windows, window, 1.0, offset, bad);
            (figures, Some(stats.counts), None, 1.0)
        }
        Source::Prometheus => {
            let observed = service_windows_of(judging)?;
            let windows = observed_windows(observed, record.started_at, 1.0);
            let figures = sliding::figures(&windows, window, observed.step_seconds, offset, bad);
            (
                figures,
                None,
                Some(observed.query.clone()),
                observed.step_seconds,
            )
        }
    })
}
