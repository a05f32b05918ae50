//! `slo: error_ratio`: the share of failed requests over a phase stays
//! below a bound, counted by firedrill's client (5xx, no answer, never
//! sent — not 4xx) or by the service (its counters, the `error_selector`
//! out of `requests_total`); both unless `source` says one.
//!
//! ```yaml
//! - { slo: error_ratio, below: 1%, during: healthy }
//! ```

use serde::{Deserialize, Serialize};

use super::{Check, Planned, ServiceQuery};
use crate::checks::context::{phase_stats, service_value};
use crate::checks::evidence::{nullable, Readout, Refusal};
use crate::checks::format::CheckSpec;
use crate::checks::judged::{Judged, Judgement, Judging, Refused, Status};
use crate::checks::validate::{slo_common, CheckContext};
use crate::checks::window::{phase_measured, Needed};
use crate::record::Counts;
use crate::setup::Source;
use crate::spec::units::Ratio;
use crate::spec::{FieldPath, Validator};
use crate::stats::{self, binomial};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRatio {
    pub below: f64,
    pub phase: usize,
    pub source: Source,
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
    /// How sure: the chance another phase of as many requests, erring at
    /// random at the ratio measured, lands on the other side of the bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun: Option<Rerun>,
}

/// The chance a verdict flips on a rerun: requests failing at random at the
/// measured ratio (binomial, exact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rerun {
    pub requests: u64,
    pub other_side_chance: f64,
}

impl Rerun {
    /// A phase failing at `ratio` over `requests`: the chance a phase like
    /// it lands on the other side of `bound` (a failure is `ratio ≥ bound`).
    fn of(requests: u64, ratio: f64, bound: f64) -> Option<Rerun> {
        if requests == 0 {
            return None;
        }
        let fails = binomial::at_least(requests, ratio, (bound * requests as f64).ceil() as u64);
        Some(Rerun {
            requests,
            other_side_chance: if ratio < bound { fails } else { 1.0 - fails },
        })
    }

    /// `; at the 0.90% measured, another phase of 600 requests would fail
    /// with chance 42%`, when that is not negligible.
    fn clause(&self, ratio: f64, passed: bool) -> String {
        if self.other_side_chance < 0.01 {
            return String::new();
        }
        format!(
            "; at the {} measured, another phase of {} requests erring at random would {} with \
             chance {}: this verdict is not sure",
            percent(ratio),
            self.requests,
            if passed { "fail" } else { "pass" },
            stats::percent(self.other_side_chance)
        )
    }
}

/// The ratio measured and its bound (shares, not percentages).
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
    const KEYS: &'static [&'static str] = &["slo", "below", "during", "source"];
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
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| format!("error ratio below {bound} during {during}"));
        sources
            .into_iter()
            .map(|source| Planned {
                name: name.clone(),
                source: Some(source),
                plan: ErrorRatio {
                    below: bound.0,
                    phase,
                    source,
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
        (self.source == Source::Prometheus)
            .then_some(ServiceQuery::ErrorRatio { phase: self.phase })
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
    let rerun = Rerun::of(counts.requests, ratio, plan.below);
    Ok(Judged::new(
        status,
        format!(
            "client-side error ratio during `{name}` was {} ({} of {} requests: 5xx, no answer or never sent; bound {}){}",
            percent(ratio),
            counts.failed(),
            counts.requests,
            percent(plan.below),
            rerun
                .as_ref()
                .map(|r| r.clause(ratio, status == Status::Pass))
                .unwrap_or_default()
        ),
        Evidence {
            measured: Some(Measured {
                ratio,
                bound: plan.below,
            }),
            counts: Some(counts),
            rerun,
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
    let requests = observation.requests_seen.unwrap_or(0.0).round().max(0.0) as u64;
    let rerun = Rerun::of(requests, ratio, plan.below);
    Ok(Judged::new(
        status,
        format!(
            "service-side error ratio during `{phase_name}` was {} of about {:.0} requests (bound {}){}",
            percent(ratio),
            observation.requests_seen.unwrap_or(0.0),
            percent(plan.below),
            rerun
                .as_ref()
                .map(|r| r.clause(ratio, status == Status::Pass))
                .unwrap_or_default()
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
            rerun,
            ..Evidence::default()
        },
    ))
}
