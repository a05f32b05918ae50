//! Alert timelines from Prometheus's own record of its evaluations.
//!
//! At every evaluation of an alerting rule, Prometheus writes a sample of
//! `ALERTS{alertname, alertstate="pending"|"firing", <labels>}` for each
//! active alert, stamped with the evaluation time. Read back with a range
//! selector, these samples give the exact evaluation ticks at which an alert
//! went pending and firing — no polling delay. An alert resolves at the first
//! evaluation without a sample: one group interval after the last one.

use std::collections::BTreeMap;

use crate::prom::{Labels, Series};
use crate::record::Episode;

/// Builds episodes from ALERTS range-selector series.
///
/// `interval`: the rule group's evaluation interval (seconds); samples more
/// than 1.5 intervals apart belong to different episodes. `observed_until`:
/// the last evaluation Prometheus could have written before the query; an
/// episode whose last sample is within one interval of it may still be active.
pub fn episodes(series: &[Series], interval: f64, observed_until: f64) -> Vec<Episode> {
    // Pending and firing are separate series; join them per label set.
    let mut by_labels: BTreeMap<Labels, Vec<(f64, bool)>> = BTreeMap::new();
    for s in series {
        let firing = s.metric.get("alertstate").map(String::as_str) == Some("firing");
        let mut labels = s.metric.clone();
        labels.remove("alertstate");
        labels.remove("__name__");
        let samples = by_labels.entry(labels).or_default();
        samples.extend(s.values.iter().filter(|p| p.v > 0.0).map(|p| (p.t, firing)));
    }
    let mut result = Vec::new();
    for (labels, mut samples) in by_labels {
        samples.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut current: Option<Episode> = None;
        for (t, firing) in samples {
            let continues = current
                .as_ref()
                .is_some_and(|e| t - e.last_active <= interval * 1.5);
            if !continues {
                if let Some(mut done) = current.take() {
                    done.resolved_at = Some(done.last_active + interval);
                    result.push(done);
                }
                current = Some(Episode {
                    labels: labels.clone(),
                    pending_at: None,
                    firing_at: None,
                    last_active: t,
                    resolved_at: None,
                });
            }
            let episode = current.as_mut().expect("set just above");
            episode.last_active = t;
            if firing {
                episode.firing_at.get_or_insert(t);
            } else if episode.firing_at.is_none() {
                episode.pending_at.get_or_insert(t);
            }
        }
        if let Some(mut last) = current {
            if last.last_active + interval * 1.5 < observed_until {
                last.resolved_at = Some(last.last_active + interval);
            }
            result.push(last);
        }
    }
    result.sort_by(|a, b| a.start().total_cmp(&b.start()));
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prom::Point;

    fn series(state: &str, times: &[f64]) -> Series {
        let mut metric = Labels::new();
        metric.insert("alertname".into(), "A".into());
        metric.insert("alertstate".into(), state.into());
        Series {
            metric,
            values: times.iter().map(|t| Point { t: *t, v: 1.0 }).collect(),
        }
    }

    #[test]
    fn pending_then_firing_then_resolved() {
        let data = [
            series("pending", &[100.0, 102.0, 104.0]),
            series("firing", &[106.0, 108.0, 110.0]),
        ];
        let found = episodes(&data, 2.0, 130.0);
        assert_eq!(found.len(), 1);
        let e = &found[0];
        assert_eq!(e.pending_at, Some(100.0));
        assert_eq!(e.firing_at, Some(106.0));
        assert_eq!(e.resolved_at, Some(112.0));
        assert!(e.active_at(111.0) && !e.active_at(112.0) && !e.active_at(99.0));
    }

    #[test]
    fn gaps_split_episodes_and_recent_ones_stay_open() {
        let data = [series("firing", &[10.0, 12.0, 30.0, 32.0])];
        let found = episodes(&data, 2.0, 33.0);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].resolved_at, Some(14.0));
        assert_eq!(found[1].firing_at, Some(30.0));
        assert_eq!(
            found[1].resolved_at, None,
            "still active when observation ended"
        );
    }
}
