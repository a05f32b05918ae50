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
//! ```yaml
//! - { slo: latency, quantile: p95, below: 500ms, during: healthy, source: [client, prometheus] }
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Check, Planned, ServiceQuery};
use crate::checks::context::{phase_stats, service_value};
use crate::checks::evidence::{nullable, Readout, Refusal};
use crate::checks::format::CheckSpec;
use crate::checks::judged::{Judged, Judgement, Judging, Refused, Status};
use crate::checks::validate::{slo_common, CheckContext};
use crate::checks::window::{phase_measured, Needed};
use crate::record::{Counts, LatencySummary};
use crate::setup::Source;
use crate::spec::units::HumanDuration;
use crate::spec::{FieldPath, Validator};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub quantile: f64,
    pub below: Duration,
    pub phase: usize,
    pub source: Source,
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
}

/// The quantile measured and its bound, in milliseconds.
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
    const KEYS: &'static [&'static str] = &["slo", "quantile", "below", "during", "source"];
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
        let Some((during, phase, sources, below)) = slo_common(spec, path, context, v) else {
            return Vec::new();
        };
        let Some(quantile) = spec.quantile else {
            v.problem(
                path.key("quantile"),
                "a latency check needs `quantile`, e.g. p95",
            );
            return Vec::new();
        };
        let bound = match HumanDuration::parse(below) {
            Ok(bound) => bound,
            Err(e) => {
                v.problem(path.key("below"), e.to_string());
                return Vec::new();
            }
        };
        let name = spec.name.clone().unwrap_or_else(|| {
            format!("{} latency below {bound} during {during}", quantile.label())
        });
        sources
            .into_iter()
            .map(|source| Planned {
                name: name.clone(),
                source: Some(source),
                plan: Latency {
                    quantile: quantile.0,
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
        })
    }
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
    let bound_ms = plan.below.as_secs_f64() * 1000.0;
    let value = stats.latency.quantile_ms(plan.quantile);
    let status = if value < bound_ms {
        Status::Pass
    } else {
        Status::Fail
    };
    let mut summary = format!(
        "client-side {} during `{name}` was {value:.1}ms ({} the {bound_ms:.0}ms bound, {} requests)",
        label(plan.quantile),
        if status == Status::Pass { "under" } else { "not under" },
        stats.latency.count()
    );
    if stats.counts.dropped > 0 {
        summary.push_str(&format!(
            "; {} requests were never sent (every connection busy) and count at their wait so far",
            stats.counts.dropped
        ));
    }
    Ok(Judged::new(
        status,
        summary,
        Evidence {
            measured: Some(Measured {
                value_ms: value,
                bound_ms,
            }),
            latency: Some(stats.latency.summary()),
            counts: Some(stats.counts),
            delayed: Some(stats.delayed),
            ..Evidence::default()
        },
    ))
}

fn service(plan: &Latency, judging: &Judging) -> Judgement<Evidence, Refused> {
    let phase_name = judging.phase_name(plan.phase);
    let (observation, value) = service_value(judging, || {
        format!(
            "Prometheus saw no requests matching {{{}}} during `{phase_name}`",
            judging.service_metrics.selector
        )
    })?;
    let bound_ms = plan.below.as_secs_f64() * 1000.0;
    let value_ms = value * 1000.0;
    let bound_s = plan.below.as_secs_f64();
    let total = observation.requests_seen.unwrap_or(0.0);
    let boundary = observation
        .buckets
        .iter()
        .find(|(le, _)| (le - bound_s).abs() < 1e-9);
    let (status, how) = match boundary {
        Some((_, under)) if total > 0.0 => {
            let share = under / total;
            (
                if share >= plan.quantile { Status::Pass } else { Status::Fail },
                format!(
                    "{:.2}% of requests took at most {bound_ms:.0}ms (exact: the bound is a bucket boundary)",
                    share * 100.0
                ),
            )
        }
        _ => (
            if value < bound_s { Status::Pass } else { Status::Fail },
            format!(
                "estimate: {bound_ms:.0}ms is not a bucket boundary, so histogram_quantile interpolated within a bucket ({})",
                bucket_around(&observation.buckets, value)
            ),
        ),
    };
    Ok(Judged::new(
        status,
        format!(
            "service-side {} during `{phase_name}` was {value_ms:.1}ms; {how}",
            label(plan.quantile)
        ),
        Evidence {
            measured: Some(Measured { value_ms, bound_ms }),
            service: Some(ServiceFigures {
                requests_seen: observation.requests_seen,
                buckets: observation.buckets.clone(),
            }),
            query: Some(observation.query.clone()),
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
