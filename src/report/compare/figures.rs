//! A report's comparable figures, read from report.json alone: each phase's
//! percentile curve from its HDR histogram (not from the rounded summary),
//! its counts and length; each alert check's measured time; each
//! service-side SLO's value. And the median of several runs' figures.

use crate::checks::{CheckKind, Evidence, Kind, Verdict};
use crate::plan::Source;
use crate::record::{quantile_grid, AlertFigure, Figures, PhaseFigures, ServiceFigure};
use crate::report::Report;

/// What `report` measured, in the shape a baseline keeps.
pub fn figures_of(report: &Report) -> Figures {
    let grid = quantile_grid();
    let phases = report
        .plan
        .phases
        .iter()
        .map(|planned| {
            let record = report
                .observations
                .phases
                .iter()
                .find(|p| p.name == planned.name);
            let mut figures = PhaseFigures {
                phase: planned.name.clone(),
                ..PhaseFigures::default()
            };
            if let Some(record) = record {
                figures.seconds = (record.ended_at - record.started_at).max(0.0);
            }
            if let Some(stats) = record.and_then(|r| r.stats.as_ref()) {
                figures.requests = stats.counts.requests;
                figures.failed = stats.counts.failed();
                figures.answered = stats.latency.count();
                if figures.answered > 0 {
                    figures.percentiles = grid
                        .iter()
                        .map(|q| (*q, stats.latency.quantile_ms(*q)))
                        .collect();
                }
            }
            figures
        })
        .collect();
    Figures {
        scenario: report.scenario.name.clone(),
        time_scale: report.scenario.time_scale,
        phases,
        alerts: report
            .verdicts
            .iter()
            .filter_map(|v| alert_figure(report, v))
            .collect(),
        service: report
            .verdicts
            .iter()
            .filter_map(|v| service_figure(report, v))
            .collect(),
        tick_seconds: report
            .environment
            .as_ref()
            .map(|e| e.evaluation_interval_seconds + e.scrape_interval_seconds),
    }
}

/// The time an alert check measured, keyed by what it measures.
fn alert_figure(report: &Report, verdict: &Verdict) -> Option<AlertFigure> {
    let check = report.plan.checks.iter().find(|c| c.id == verdict.id)?;
    let alert = check.kind.alert()?.to_string();
    let readout = verdict.evidence.readout();
    let anchor = readout.deadline()?.anchor.clone();
    let (seconds, receiver) = match verdict.kind() {
        Kind::FiresWithin => (readout.time_to_fire_seconds()?, None),
        Kind::ResolvesWithin => (readout.time_to_resolve_seconds()?, None),
        Kind::NotifiesWithin | Kind::NotifiesResolvedWithin => {
            let (receiver, seconds) = readout.time_to_notify()?;
            (seconds, Some(receiver.to_string()))
        }
        _ => return None,
    };
    Some(AlertFigure {
        kind: verdict.kind().as_str().to_string(),
        alert,
        anchor,
        receiver,
        seconds,
    })
}

/// A service-side SLO's whole-phase value (a windowed one measures
/// something else: its worst window).
fn service_figure(report: &Report, verdict: &Verdict) -> Option<ServiceFigure> {
    let check = report.plan.checks.iter().find(|c| c.id == verdict.id)?;
    let name = |phase: usize| report.plan.phases.get(phase).map(|p| p.name.clone());
    match (&check.kind, &verdict.evidence) {
        (CheckKind::Latency(plan), Evidence::Latency(evidence))
            if plan.source == Source::Prometheus && plan.window.is_none() =>
        {
            Some(ServiceFigure {
                kind: "latency".into(),
                phase: name(plan.phase)?,
                quantile: Some(plan.quantile),
                value: evidence.measured.as_ref()?.value_ms,
                requests_seen: evidence.service.as_ref().and_then(|s| s.requests_seen),
            })
        }
        (CheckKind::ErrorRatio(plan), Evidence::ErrorRatio(evidence))
            if plan.source == Source::Prometheus && plan.window.is_none() =>
        {
            Some(ServiceFigure {
                kind: "error_ratio".into(),
                phase: name(plan.phase)?,
                quantile: None,
                value: evidence.measured.as_ref()?.ratio,
                requests_seen: evidence.service.as_ref().and_then(|s| s.requests_seen),
            })
        }
        _ => None,
    }
}

/// The median of `values` (the mean of the middle two for an even count);
/// None for none.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

fn median_count(values: impl Iterator<Item = u64>) -> u64 {
    median(values.map(|v| v as f64).collect()).map_or(0, |m| m.round() as u64)
}

/// The median of runs of one scenario with the same phases: each figure's
/// median over the runs that have it; a phase's curve, the median at each
/// quantile of the grid.
pub fn median_of(runs: &[Figures]) -> Figures {
    let Some(first) = runs.first() else {
        return Figures::default();
    };
    let phases = first
        .phases
        .iter()
        .enumerate()
        .map(|(i, phase)| {
            let same: Vec<&PhaseFigures> = runs.iter().filter_map(|r| r.phases.get(i)).collect();
            PhaseFigures {
                phase: phase.phase.clone(),
                requests: median_count(same.iter().map(|p| p.requests)),
                answered: median_count(same.iter().map(|p| p.answered)),
                failed: median_count(same.iter().map(|p| p.failed)),
                seconds: median(same.iter().map(|p| p.seconds).collect()).unwrap_or(0.0),
                percentiles: median_curve(&same),
            }
        })
        .collect();
    let mut alerts: Vec<AlertFigure> = Vec::new();
    for figure in runs.iter().flat_map(|r| &r.alerts) {
        if alerts.iter().any(|a| a.same_as(figure)) {
            continue;
        }
        let seconds = runs
            .iter()
            .flat_map(|r| &r.alerts)
            .filter(|a| a.same_as(figure))
            .map(|a| a.seconds)
            .collect();
        alerts.push(AlertFigure {
            seconds: median(seconds).unwrap_or(figure.seconds),
            ..figure.clone()
        });
    }
    let mut service: Vec<ServiceFigure> = Vec::new();
    for figure in runs.iter().flat_map(|r| &r.service) {
        if service.iter().any(|s| s.same_as(figure)) {
            continue;
        }
        let same: Vec<&ServiceFigure> = runs
            .iter()
            .flat_map(|r| &r.service)
            .filter(|s| s.same_as(figure))
            .collect();
        service.push(ServiceFigure {
            value: median(same.iter().map(|s| s.value).collect()).unwrap_or(figure.value),
            requests_seen: median(same.iter().filter_map(|s| s.requests_seen).collect()),
            ..figure.clone()
        });
    }
    Figures {
        scenario: first.scenario.clone(),
        time_scale: first.time_scale,
        phases,
        alerts,
        service,
        tick_seconds: median(runs.iter().filter_map(|r| r.tick_seconds).collect()),
    }
}

/// The median curve of the phases that have one.
fn median_curve(phases: &[&PhaseFigures]) -> Vec<(f64, f64)> {
    let curves: Vec<&Vec<(f64, f64)>> = phases
        .iter()
        .map(|p| &p.percentiles)
        .filter(|c| !c.is_empty())
        .collect();
    let Some(first) = curves.first() else {
        return Vec::new();
    };
    first
        .iter()
        .enumerate()
        .map(|(i, (q, _))| {
            let at: Vec<f64> = curves
                .iter()
                .filter_map(|c| c.get(i))
                .map(|p| p.1)
                .collect();
            (*q, median(at).unwrap_or(0.0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(values: &[f64]) -> PhaseFigures {
        PhaseFigures {
            phase: "p".into(),
            requests: 100,
            answered: 100,
            failed: 0,
            seconds: 10.0,
            percentiles: values
                .iter()
                .enumerate()
                .map(|(i, v)| (i as f64 / 10.0, *v))
                .collect(),
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }

    #[test]
    fn the_median_curve_is_taken_quantile_by_quantile_and_stays_a_distribution() {
        let runs: Vec<Figures> = [[1.0, 5.0, 9.0], [2.0, 3.0, 30.0], [3.0, 4.0, 4.5]]
            .iter()
            .map(|v| Figures {
                phases: vec![phase(v)],
                ..Figures::default()
            })
            .collect();
        let median = median_of(&runs);
        let values: Vec<f64> = median.phases[0].percentiles.iter().map(|p| p.1).collect();
        assert_eq!(values, vec![2.0, 4.0, 9.0]);
        assert!(values.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn alert_times_are_matched_by_what_they_measure() {
        let fire = |anchor: &str, seconds| AlertFigure {
            kind: "fires_within".into(),
            alert: "A".into(),
            anchor: anchor.into(),
            receiver: None,
            seconds,
        };
        let runs = vec![
            Figures {
                alerts: vec![fire("errors.start", 10.0), fire("condition", 3.0)],
                ..Figures::default()
            },
            Figures {
                alerts: vec![fire("errors.start", 14.0)],
                ..Figures::default()
            },
        ];
        let median = median_of(&runs);
        assert_eq!(median.alerts.len(), 2);
        assert_eq!(median.alerts[0].seconds, 12.0);
        assert_eq!(median.alerts[1].seconds, 3.0);
    }
}
