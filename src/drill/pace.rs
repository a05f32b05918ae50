//! What the run says about the pace of its traffic under `time_scale`: the
//! noise a scenario accepts when it keeps its rates as written
//! (`scale_rates: false`), and a phase that did not send at the pace that
//! gives its compressed windows production's requests — the target or this
//! machine did not keep up (the engine's dropped and late requests), or a
//! closed model's clients waited on answers that do not shrink with the
//! scale. Said as notes, so no check measures something else in silence.

use crate::plan::{LoadModel, PhasePlan, Plan};
use crate::record::PhaseRecord;
use crate::stats::percent;
use crate::time::trim_float;

/// Requests never sent, as a share of those due, above which a phase did
/// not keep its pace.
const DROPPED_SHARE: f64 = 0.001;
/// Late sends of more than this shift requests into other seconds (and
/// windows) than planned.
const LATE_MS: f64 = 1000.0;
/// A closed-model phase whose compressed windows hold less than this share
/// of what production's would.
const CLOSED_SHARE: f64 = 0.9;

/// The noise the run accepts: rates kept as written under `time_scale`.
pub(super) fn accepted_noise(plan: &Plan) -> Option<String> {
    let kept = plan
        .phases
        .iter()
        .find(|p| p.pace.is_compressed() && !p.pace.rates_scaled)?;
    let scale = kept.pace.time_scale;
    Some(format!(
        "scale_rates: false — rates are sent as written under time_scale {}: each compressed \
         window holds 1/{} of the requests production's holds, so an error ratio over it is \
         {}× noisier (√{}); checks on error ratios say how likely their verdict was by chance",
        trim_float(scale),
        trim_float(scale),
        trim_float((scale.sqrt() * 10.0).round() / 10.0),
        trim_float(scale)
    ))
}

/// Why a phase's traffic did not keep the pace its windows needed, if it
/// did not.
pub(super) fn unsustained(phase: &PhasePlan, record: &PhaseRecord) -> Option<String> {
    let stats = record.stats.as_ref()?;
    match &phase.model {
        LoadModel::Open { rate, .. } => {
            let due = stats.counts.requests.max(1);
            let dropped = stats.counts.dropped as f64 / due as f64;
            let late_p99 = stats.send_lag.quantile_ms(0.99);
            if dropped <= DROPPED_SHARE && late_p99 <= LATE_MS {
                return None;
            }
            let sent = (rate.from + rate.to) / 2.0;
            let intended = if phase.pace.rates_scaled {
                format!(
                    "{}/s ({}/s in production, ×{} so each window holds production's requests)",
                    trim_float(sent),
                    trim_float(phase.pace.written(sent)),
                    trim_float(phase.pace.rate_factor())
                )
            } else {
                format!("{}/s", trim_float(sent))
            };
            Some(format!(
                "`{}` did not keep its pace of {intended}: {} of {} requests never went out and \
                 {} went out late (1% of them over {:.0}ms) — every connection was busy, or this \
                 machine fell behind — so its windows held fewer requests than planned; raise \
                 `connections`, lower `time_scale`, or run where the target and firedrill keep up",
                phase.name, stats.counts.dropped, due, stats.delayed, late_p99
            ))
        }
        LoadModel::Closed {
            concurrency, pause, ..
        } if phase.pace.rates_scaled => {
            let seconds = stats
                .elapsed_seconds
                .max(record.ended_at - record.started_at);
            let sent = stats.counts.requests as f64 / seconds.max(1e-9);
            // What the same clients send in production, waiting as long for
            // each answer: the latency is the service's, not scaled.
            let latency = stats.latency.summary().mean_ms / 1000.0;
            let production = *concurrency as f64
                / (latency + pause.as_secs_f64() * phase.pace.time_scale).max(1e-9);
            let share = phase.pace.production_equivalent(sent) / production;
            (share < CLOSED_SHARE).then(|| {
                format!(
                    "`{}`'s {concurrency} clients sent {}/s, where production's would send \
                     {}/s ×{}: each waits for its answer (mean {:.1}ms), which time_scale does \
                     not shorten, so its compressed windows held {} of production's requests; \
                     raise `concurrency` ×{} to send as often",
                    phase.name,
                    trim_float((sent * 10.0).round() / 10.0),
                    trim_float((production * 10.0).round() / 10.0),
                    trim_float(phase.pace.time_scale),
                    latency * 1000.0,
                    percent(share),
                    trim_float((1.0 / share).ceil())
                )
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::plan::{Pace, RateShape};
    use crate::record::{Outcome, PhaseStats};

    fn phase(model: LoadModel, pace: Pace) -> PhasePlan {
        PhasePlan {
            name: "healthy".into(),
            model,
            requests: Vec::new(),
            fault: None,
            timeout: Duration::from_secs(10),
            pace,
            warm_up: false,
        }
    }

    fn record(stats: PhaseStats, seconds: f64) -> PhaseRecord {
        PhaseRecord {
            name: "healthy".into(),
            started_at: 100.0,
            ended_at: 100.0 + seconds,
            planned_seconds: seconds,
            fault: None,
            fault_error: None,
            stats: Some(stats),
            load_error: None,
            cut_short: false,
        }
    }

    fn open() -> LoadModel {
        LoadModel::Open {
            rate: RateShape {
                from: 200.0,
                to: 200.0,
            },
            duration: Duration::from_secs(10),
            connections: 8,
        }
    }

    #[test]
    fn a_phase_that_dropped_requests_says_it_did_not_keep_its_pace() {
        let answered: Vec<_> = (0..1990)
            .map(|i| (i / 200, Outcome::Status(200), Duration::from_millis(2)))
            .collect();
        let mut stats = PhaseStats::from_samples(&answered);
        let pace = Pace::new(10.0, true);
        assert_eq!(
            unsustained(&phase(open(), pace), &record(stats.clone(), 10.0)),
            None
        );
        stats.counts.requests += 10;
        stats.counts.dropped += 10;
        let note = unsustained(&phase(open(), pace), &record(stats, 10.0)).unwrap();
        assert!(
            note.contains("10 of 2000 requests never went out"),
            "{note}"
        );
        assert!(note.contains("200/s (20/s in production, ×10"), "{note}");
    }

    #[test]
    fn closed_clients_waiting_on_answers_fill_fewer_windows() {
        // 1 client, a 100ms pause run as 10ms, answers taking 40ms: 20/s
        // sent where production's 1/(0.04 + 0.1) ≈ 7.1/s ×10 would be 71/s.
        let answered: Vec<_> = (0..200)
            .map(|i| (i / 20, Outcome::Status(200), Duration::from_millis(40)))
            .collect();
        let model = LoadModel::Closed {
            requests: 200,
            concurrency: 1,
            pause: Duration::from_millis(10),
            max_duration: None,
        };
        let stats = PhaseStats::from_samples(&answered);
        let note = unsustained(
            &phase(model.clone(), Pace::new(10.0, true)),
            &record(stats.clone(), 10.0),
        )
        .unwrap();
        assert!(note.contains("held 28% of production's requests"), "{note}");
        assert_eq!(
            unsustained(&phase(model, Pace::new(10.0, false)), &record(stats, 10.0)),
            None
        );
    }

    #[test]
    fn keeping_rates_notes_the_noise() {
        let text = |keep: &str| {
            format!(
                "name: t\ntime_scale: 10\n{keep}phases:\n  - {{ name: a, duration: 1m, rate: 20/s, request: {{ path: / }} }}\n"
            )
        };
        let plan = |text: &str| {
            crate::scenario::parse(text, std::path::Path::new("s.yaml"), &Default::default())
                .unwrap()
        };
        let note = accepted_noise(&plan(&text("scale_rates: false\n")));
        assert!(note.is_some_and(|n| n.contains("3.2× noisier")));
        assert_eq!(accepted_noise(&plan(&text(""))), None);
    }
}
