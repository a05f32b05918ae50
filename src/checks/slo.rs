//! SLO checks: a latency quantile and an error ratio over a phase, measured
//! by firedrill's client (HDR histograms, from each request's intended send
//! time) or by the service (its Prometheus histogram and counters).
//!
//! A Prometheus histogram only knows bucket counts: when the bound is a
//! bucket boundary, the share of requests under it is exact and decides;
//! otherwise histogram_quantile interpolates inside a bucket, and the
//! verdict says it rests on that estimate.

use std::time::Duration;

use super::{Status, Verdict};
use crate::plan::{CheckPlan, Plan, Source};
use crate::record::{Observations, PhaseStats};

fn phase_stats<'a>(
    check: &CheckPlan,
    phase: usize,
    observations: &'a Observations,
) -> Result<(&'a str, &'a PhaseStats), Box<Verdict>> {
    let Some(record) = observations.phases.get(phase) else {
        return Err(Box::new(Verdict::new(
            check,
            Status::Inconclusive,
            "the phase did not run".into(),
        )));
    };
    if let Some(error) = &record.load_error {
        return Err(Box::new(Verdict::new(
            check,
            Status::Inconclusive,
            format!("the phase's traffic could not be sent: {error}"),
        )));
    }
    match &record.stats {
        Some(stats) => Ok((&record.name, stats)),
        None => Err(Box::new(Verdict::new(
            check,
            Status::Inconclusive,
            "the phase sent no traffic".into(),
        ))),
    }
}

pub fn latency(
    plan: &Plan,
    check: &CheckPlan,
    quantile: f64,
    below: Duration,
    phase: usize,
    source: Source,
    observations: &Observations,
) -> Verdict {
    let bound_ms = below.as_secs_f64() * 1000.0;
    let label = format!("p{}", crate::time::trim_float(quantile * 100.0));
    match source {
        Source::Client => {
            let (name, stats) = match phase_stats(check, phase, observations) {
                Ok(found) => found,
                Err(verdict) => return *verdict,
            };
            if stats.latency.count() == 0 {
                return Verdict::new(
                    check,
                    Status::Inconclusive,
                    format!("no request of `{name}` got an answer, so it has no latency"),
                )
                .with("counts", stats.counts);
            }
            let value = stats.latency.quantile_ms(quantile);
            let status = if value < bound_ms {
                Status::Pass
            } else {
                Status::Fail
            };
            let mut summary = format!(
                "client-side {label} during `{name}` was {value:.1}ms ({} the {bound_ms:.0}ms bound, {} requests)",
                if status == Status::Pass { "under" } else { "not under" },
                stats.latency.count()
            );
            if stats.counts.dropped > 0 {
                summary.push_str(&format!(
                    "; {} requests were never sent (every connection busy) and count at their wait so far",
                    stats.counts.dropped
                ));
            }
            Verdict::new(check, status, summary)
                .with("value_ms", value)
                .with("bound_ms", bound_ms)
                .with("latency", stats.latency.summary())
                .with("counts", stats.counts)
                .with("delayed", stats.delayed)
        }
        Source::Prometheus => {
            let Some(observation) = observations.service.get(&check.id) else {
                return Verdict::new(
                    check,
                    Status::Inconclusive,
                    "Prometheus was not asked".into(),
                );
            };
            if let Some(error) = &observation.error {
                return Verdict::new(
                    check,
                    Status::Inconclusive,
                    format!("Prometheus could not answer: {}", error.message),
                )
                .with("query", &observation.query);
            }
            let phase_name = observations
                .phases
                .get(phase)
                .map(|p| p.name.as_str())
                .unwrap_or("?");
            let Some(value) = observation.value else {
                return Verdict::new(
                    check,
                    Status::Inconclusive,
                    format!(
                        "Prometheus saw no requests matching {{{}}} during `{phase_name}`",
                        plan.service_metrics.selector
                    ),
                )
                .with("query", &observation.query);
            };
            let value_ms = value * 1000.0;
            let bound_s = below.as_secs_f64();
            let total = observation.requests_seen.unwrap_or(0.0);
            let boundary = observation
                .buckets
                .iter()
                .find(|(le, _)| (le - bound_s).abs() < 1e-9);
            let (status, how) = match boundary {
                Some((_, under)) if total > 0.0 => {
                    let share = under / total;
                    (
                        if share >= quantile { Status::Pass } else { Status::Fail },
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
            Verdict::new(
                check,
                status,
                format!("service-side {label} during `{phase_name}` was {value_ms:.1}ms; {how}"),
            )
            .with("value_ms", value_ms)
            .with("bound_ms", bound_ms)
            .with("requests_seen", observation.requests_seen)
            .with("query", &observation.query)
            .with("buckets", &observation.buckets)
        }
    }
}

fn bucket_around(buckets: &[(f64, f64)], value: f64) -> String {
    let upper = buckets.iter().position(|(le, _)| *le >= value);
    match upper {
        Some(0) => format!("between 0 and {}s", buckets[0].0),
        Some(i) => format!("between {}s and {}s", buckets[i - 1].0, buckets[i].0),
        None => "above the last bucket".into(),
    }
}

pub fn error_ratio(
    check: &CheckPlan,
    below: f64,
    phase: usize,
    source: Source,
    observations: &Observations,
) -> Verdict {
    let percent = |r: f64| format!("{:.2}%", r * 100.0);
    match source {
        Source::Client => {
            let (name, stats) = match phase_stats(check, phase, observations) {
                Ok(found) => found,
                Err(verdict) => return *verdict,
            };
            let counts = stats.counts;
            if counts.requests == 0 {
                return Verdict::new(
                    check,
                    Status::Inconclusive,
                    format!("`{name}` sent no requests"),
                );
            }
            let ratio = counts.failed() as f64 / counts.requests as f64;
            let status = if ratio < below {
                Status::Pass
            } else {
                Status::Fail
            };
            Verdict::new(
                check,
                status,
                format!(
                    "client-side error ratio during `{name}` was {} ({} of {} requests: 5xx, no answer or never sent; bound {})",
                    percent(ratio),
                    counts.failed(),
                    counts.requests,
                    percent(below)
                ),
            )
            .with("ratio", ratio)
            .with("bound", below)
            .with("counts", counts)
        }
        Source::Prometheus => {
            let Some(observation) = observations.service.get(&check.id) else {
                return Verdict::new(
                    check,
                    Status::Inconclusive,
                    "Prometheus was not asked".into(),
                );
            };
            if let Some(error) = &observation.error {
                return Verdict::new(
                    check,
                    Status::Inconclusive,
                    format!("Prometheus could not answer: {}", error.message),
                )
                .with("query", &observation.query);
            }
            let phase_name = observations
                .phases
                .get(phase)
                .map(|p| p.name.as_str())
                .unwrap_or("?");
            let Some(ratio) = observation.value else {
                return Verdict::new(
                    check,
                    Status::Inconclusive,
                    format!("Prometheus counted no requests during `{phase_name}`"),
                )
                .with("query", &observation.query);
            };
            let status = if ratio < below {
                Status::Pass
            } else {
                Status::Fail
            };
            Verdict::new(
                check,
                status,
                format!(
                    "service-side error ratio during `{phase_name}` was {} of about {:.0} requests (bound {})",
                    percent(ratio),
                    observation.requests_seen.unwrap_or(0.0),
                    percent(below)
                ),
            )
            .with("ratio", ratio)
            .with("bound", below)
            .with("requests_seen", observation.requests_seen)
            .with("query", &observation.query)
        }
    }
}
