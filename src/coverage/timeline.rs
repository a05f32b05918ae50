//! What a provocation's series read at any instant: states one after
//! another (healthy, then the provocation from its start, then healthy
//! again), each a level per series, and the value each series (each of a
//! histogram's buckets) holds at time t. Counters accumulate what every
//! earlier state counted; a total counts the events of the series it
//! includes; a series whose events give way to another's (a success to a
//! failure) counts that much less, so the traffic stays what it was; a
//! frozen timestamp holds the moment its state began; a slope moves from
//! it. promtool's tests (`oracle`, `proof`) write these values
//! at their sample times; a live exporter would serve them.

use super::levels::Level;
use super::series::{Kind, SeriesSpec};

/// A counter's value before anything is counted: well above zero, as a
/// series that has counted for a while is (so `rate()`'s extrapolation is
/// not clipped at zero).
const BASE: f64 = 1000.0;

/// One state: from `from` seconds on, each series at its level.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub from: f64,
    pub levels: Vec<Level>,
}

/// States one after another. The first begins where the series begin.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub phases: Vec<Phase>,
    /// What the clock reads at time 0 (`time()` and the timestamps series
    /// hold are the clock's).
    pub clock: f64,
}

impl Timeline {
    /// The state at `t`.
    fn at(&self, t: f64) -> Option<&Phase> {
        self.phases.iter().rev().find(|p| p.from <= t)
    }

    /// The values of series `i`'s members (one per bucket for a histogram)
    /// at `t`; None where it has no sample (gone, or not begun).
    pub fn values(&self, specs: &[SeriesSpec], i: usize, t: f64) -> Vec<Option<f64>> {
        let spec = &specs[i];
        let members = spec.member_count();
        let Some(phase) = self.at(t) else {
            return vec![None; members];
        };
        let level = phase.levels[i];
        if level == Level::Absent {
            return vec![None; members];
        }
        match &spec.kind {
            Kind::Counter => vec![Some(self.counter(specs, i, t))],
            Kind::Histogram { bounds } => (0..=bounds.len())
                .map(|bucket| Some(self.bucket(i, bucket, t)))
                .collect(),
            Kind::Gauge | Kind::Timestamp | Kind::Deadline => {
                vec![Some(self.gauge(level, phase.from, t))]
            }
        }
    }

    /// Events counted by `t`, over every state so far.
    fn counter(&self, specs: &[SeriesSpec], i: usize, t: f64) -> f64 {
        let mut total = BASE;
        for (k, phase) in self.phases.iter().enumerate() {
            let end = self.phases.get(k + 1).map_or(t, |next| next.from.min(t));
            // A state that lasted no time (or begins after t) counted nothing.
            if end <= phase.from {
                continue;
            }
            let span = end - phase.from;
            let rate_of = |j: usize| match phase.levels[j] {
                Level::Rate { per_second } => per_second,
                _ => 0.0,
            };
            let given_way: f64 = specs[i].replaced_by.iter().map(|&j| rate_of(j)).sum();
            let own = match phase.levels[i] {
                Level::Rate { per_second } => (per_second - given_way).max(0.0) * span,
                // Restarts: what is counted since the last restart.
                Level::Resets { per_second, every } if end >= t => {
                    return per_second * ((t - phase.from).rem_euclid(every));
                }
                Level::Resets { .. } => 0.0,
                _ => 0.0,
            };
            let included: f64 = specs[i].includes.iter().map(|&j| rate_of(j) * span).sum();
            total += own + included;
        }
        total
    }

    /// A histogram's bucket `bucket` (`le` its bound; the last: `+Inf`):
    /// every observation at or below its bound, over every state so far.
    fn bucket(&self, i: usize, bucket: usize, t: f64) -> f64 {
        let mut total = BASE;
        for (k, phase) in self.phases.iter().enumerate() {
            let end = self.phases.get(k + 1).map_or(t, |next| next.from.min(t));
            // A state that lasted no time (or begins after t) counted nothing.
            if end <= phase.from {
                continue;
            }
            if let Level::Observed {
                bucket: at,
                per_second,
            } = phase.levels[i]
            {
                if at <= bucket {
                    total += per_second * (end - phase.from);
                }
            }
        }
        total
    }

    fn gauge(&self, level: Level, from: f64, t: f64) -> f64 {
        match level {
            Level::Value { value } => value,
            Level::Flapping { value, every } => {
                value + ((t - from) / every).floor().rem_euclid(2.0)
            }
            Level::Slope {
                from: v,
                per_second,
            } => v + per_second * (t - from),
            Level::Fresh => self.clock + t,
            Level::Frozen => self.clock + from,
            Level::Ahead { seconds } => self.clock + t + seconds,
            Level::Rate { per_second } => BASE + per_second * (t - from),
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn spec(metric: &str, kind: Kind, includes: Vec<usize>) -> SeriesSpec {
        SeriesSpec {
            metric: metric.into(),
            labels: BTreeMap::new(),
            kind,
            role: None,
            includes: includes.clone(),
            replaced_by: includes,
            twin_of: None,
        }
    }

    #[test]
    fn counters_accumulate_over_states_and_totals_include_their_parts() {
        let specs = vec![
            spec("errors_total", Kind::Counter, vec![]),
            spec("requests_total", Kind::Counter, vec![0]),
        ];
        let rate = |per_second| Level::Rate { per_second };
        let timeline = Timeline {
            phases: vec![
                Phase {
                    from: 0.0,
                    levels: vec![rate(0.0), rate(10.0)],
                },
                Phase {
                    from: 100.0,
                    levels: vec![rate(10.0), rate(10.0)],
                },
            ],
            clock: 0.0,
        };
        assert_eq!(timeline.values(&specs, 0, 150.0), vec![Some(BASE + 500.0)]);
        // 10 requests a second throughout, 5 of them failing after 100 s.
        assert_eq!(timeline.values(&specs, 1, 150.0), vec![Some(BASE + 1500.0)]);
        assert_eq!(timeline.values(&specs, 0, -1.0), vec![None]);
    }

    #[test]
    fn buckets_timestamps_and_staleness() {
        let specs = vec![
            spec(
                "h_bucket",
                Kind::Histogram {
                    bounds: vec![0.1, 1.0],
                },
                vec![],
            ),
            spec("last_success", Kind::Timestamp, vec![]),
        ];
        let timeline = Timeline {
            phases: vec![
                Phase {
                    from: 0.0,
                    levels: vec![
                        Level::Observed {
                            bucket: 0,
                            per_second: 1.0,
                        },
                        Level::Fresh,
                    ],
                },
                Phase {
                    from: 10.0,
                    levels: vec![Level::Absent, Level::Frozen],
                },
            ],
            clock: 1000.0,
        };
        assert_eq!(timeline.values(&specs, 0, 5.0), vec![Some(BASE + 5.0); 3]);
        assert_eq!(timeline.values(&specs, 1, 5.0), vec![Some(1005.0)]);
        assert_eq!(timeline.values(&specs, 1, 50.0), vec![Some(1010.0)]);
        assert_eq!(timeline.values(&specs, 0, 12.0), vec![None; 3]);
    }
}
