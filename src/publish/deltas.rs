//! The push's deltas: a run with a baseline (`baseline:`, `run
//! --baseline`) pushes each figure's change against it, so a dashboard
//! charts the nightly drill against its own past (README "Regressions").
//!
//! `firedrill_compare_relative_change` is unitless ((new − base) / base, +
//! when the figure grew); the absolute deltas carry their unit in their
//! name (`_seconds` for latency quantiles and alert times, `_ratio` for
//! error ratios, `_requests_per_second` for throughput).
//! `firedrill_compare_regression` is set for judged figures only.

use prometheus::{GaugeVec, Opts, Registry};

use crate::record::BaselineRecord;
use crate::report::compare::{self, Judgement, Row, Unit};
use crate::report::Report;

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    let vec =
        GaugeVec::new(Opts::new(name, help), labels).expect("static metric definition is valid");
    registry
        .register(Box::new(vec.clone()))
        .expect("each metric is registered once");
    vec
}

const FIGURE: &[&str] = &["section", "subject", "figure"];

/// Registers the deltas of `report` against its recorded baseline; nothing
/// when it asked for none.
pub fn register(registry: &Registry, report: &Report) {
    let Some(recorded) = &report.observations.baseline else {
        return;
    };
    let runs = match recorded {
        BaselineRecord::Found(baseline) => baseline.runs.len(),
        BaselineRecord::Missing { .. } => 0,
    };
    let no_labels: &[&str] = &[];
    gauge(
        registry,
        "firedrill_compare_baseline_runs",
        "Runs the baseline was the median of (0: the baseline asked for could not be used)",
        &[],
    )
    .with_label_values(no_labels)
    .set(runs as f64);
    let Some(comparison) = compare::against_recorded(report) else {
        return;
    };
    gauge(
        registry,
        "firedrill_compare_regressions",
        "Figures worse than the baseline by more than the limits",
        &[],
    )
    .with_label_values(no_labels)
    .set(comparison.regressions as f64);
    let gauges = Gauges::new(registry);
    for row in &comparison.rows {
        gauges.set(row);
    }
}

struct Gauges {
    relative: GaugeVec,
    seconds: GaugeVec,
    ratio: GaugeVec,
    throughput: GaugeVec,
    regression: GaugeVec,
}

impl Gauges {
    fn new(registry: &Registry) -> Self {
        Gauges {
            relative: gauge(
                registry,
                "firedrill_compare_relative_change",
                "(this run − baseline) / baseline, per figure",
                FIGURE,
            ),
            seconds: gauge(
                registry,
                "firedrill_compare_delta_seconds",
                "This run minus the baseline: latency quantiles and alert times",
                FIGURE,
            ),
            ratio: gauge(
                registry,
                "firedrill_compare_delta_ratio",
                "This run minus the baseline: error ratios",
                FIGURE,
            ),
            throughput: gauge(
                registry,
                "firedrill_compare_delta_requests_per_second",
                "This run minus the baseline: throughput",
                FIGURE,
            ),
            regression: gauge(
                registry,
                "firedrill_compare_regression",
                "1 if the figure regressed against the baseline, 0 if not (judged figures only)",
                FIGURE,
            ),
        }
    }

    fn set(&self, row: &Row) {
        let section = match row.section {
            compare::Section::Phase => "phase",
            compare::Section::Alert => "alert",
            compare::Section::Service => "service",
        };
        let labels = [section, row.subject.as_str(), row.figure.as_str()];
        if let Some(relative) = row.relative() {
            self.relative.with_label_values(&labels).set(relative);
        }
        if let Some(delta) = row.delta() {
            let (gauge, value) = match row.unit {
                Unit::Ms => (&self.seconds, delta / 1000.0),
                Unit::Seconds => (&self.seconds, delta),
                Unit::Ratio => (&self.ratio, delta),
                Unit::PerSecond => (&self.throughput, delta),
            };
            gauge.with_label_values(&labels).set(value);
        }
        if row.judgement != Judgement::NotJudged {
            self.regression
                .with_label_values(&labels)
                .set(f64::from(u8::from(row.judgement == Judgement::Regression)));
        }
    }
}
