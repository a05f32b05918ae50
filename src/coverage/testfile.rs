//! Writing `promtool test rules` files: one test group per alert — its
//! series written every scrape from the timeline (healthy, the
//! provocation, healthy again), and what promtool must see at given
//! evaluations — with comments a person reads: which alert, what each
//! series stands for, the predicted bounds. Text only; `proof` decides the
//! times, `emit` where the files go.

use std::fmt::Write as _;

use super::got::{duration_text, Alerted};
use super::levels::Level;
use super::provoke::written;
use super::series::SeriesSpec;
use super::timeline::Timeline;
use crate::analyze::sweep::{encode, selector_text};

/// One alert's test group.
pub struct Group<'a> {
    /// Comment lines above it (without `#`).
    pub comment: Vec<String>,
    /// The group's name: promtool names it in each failure.
    pub name: String,
    pub alert: &'a str,
    pub specs: &'a [SeriesSpec],
    pub timeline: &'a Timeline,
    /// Seconds between samples, and between evaluations.
    pub scrape: f64,
    pub evaluation: f64,
    /// The last sample's time, seconds.
    pub end: f64,
    /// Evaluations (ms) and the alerts expected firing there.
    pub expect: Vec<(u64, Vec<Alerted>)>,
}

/// The group as YAML, indented for a `tests:` list.
pub fn group_text(group: &Group) -> String {
    let mut text = String::new();
    for line in &group.comment {
        let _ = writeln!(text, "  # {line}");
    }
    // Samples every scrape, off the evaluations (which fall on whole
    // intervals from 0), as scrapes and evaluations fall in a real
    // Prometheus: the test's interval is that offset, the values between
    // two samples missing (`_`).
    let offset = sample_offset(group.scrape, group.evaluation);
    let _ = writeln!(
        text,
        "  - name: {}\n    interval: {}\n    input_series:",
        json_string(&group.name),
        duration_text((offset * 1000.0).round() as u64)
    );
    let stride = (group.scrape / offset).round().max(1.0) as u64;
    let count = ((group.end - offset) / group.scrape).floor().max(0.0) as u64;
    let times: Vec<(u64, f64)> = (0..=count)
        .map(|k| (1 + k * stride, (1 + k * stride) as f64 * offset))
        .collect();
    for series in written(group.specs, group.timeline, &times) {
        if series.samples.is_empty() {
            continue;
        }
        let selector = selector_text(&series.metric, &series.labels, ("", ""));
        let _ = writeln!(
            text,
            "      - series: '{}'\n        values: '{}'",
            selector.replace('\'', "''"),
            encode(&series.samples)
        );
    }
    text.push_str("    alert_rule_test:\n");
    for (at, alerts) in &group.expect {
        let _ = writeln!(
            text,
            "      - eval_time: {}\n        alertname: {}\n        exp_alerts: {}",
            duration_text(*at),
            group.alert,
            expected(alerts)
        );
    }
    text
}

/// Where samples fall after whole intervals: half the largest step both
/// the scrape and the evaluation intervals are multiples of, so no sample
/// falls on an evaluation (a window then holds the samples it holds at
/// almost every phase, not one more).
pub fn sample_offset(scrape: f64, evaluation: f64) -> f64 {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let ms = |x: f64| (x * 1000.0).round().max(1.0) as u64;
    gcd(ms(scrape), ms(evaluation)) as f64 / 2000.0
}

/// `exp_alerts` in JSON's flow style (valid YAML, every string escaped).
fn expected(alerts: &[Alerted]) -> String {
    let list: Vec<serde_json::Value> = alerts
        .iter()
        .map(|a| {
            let labels: serde_json::Map<String, serde_json::Value> = a
                .labels
                .iter()
                .filter(|(k, _)| k.as_str() != "alertname")
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            serde_json::json!({ "exp_labels": labels, "exp_annotations": a.annotations })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// A whole test file: its header comment, the rule files it loads, the
/// evaluation interval, the order of rule groups (recording rules before
/// what reads them), and the groups.
pub fn file_text(
    header: &[String],
    rule_files: &[String],
    evaluation: f64,
    order: &[String],
    groups: &[String],
) -> String {
    let mut text = String::new();
    for line in header {
        let _ = writeln!(text, "# {line}");
    }
    let quoted: Vec<String> = rule_files.iter().map(|f| json_string(f)).collect();
    let _ = writeln!(text, "rule_files: [{}]", quoted.join(", "));
    let _ = writeln!(
        text,
        "evaluation_interval: {}",
        duration_text((evaluation * 1000.0).round() as u64)
    );
    if !order.is_empty() {
        let quoted: Vec<String> = order.iter().map(|g| json_string(g)).collect();
        let _ = writeln!(text, "group_eval_order: [{}]", quoted.join(", "));
    }
    text.push_str("tests:\n");
    for group in groups {
        text.push_str(group);
    }
    text
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// One comment line per series: what it stands for in each state.
pub fn series_comments(
    specs: &[SeriesSpec],
    healthy: &[Level],
    provoking: &[Level],
) -> Vec<String> {
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let what = if healthy[i] == provoking[i] {
                format!("{} throughout", healthy[i].describe(spec))
            } else {
                format!(
                    "{}, then {}",
                    healthy[i].describe(spec),
                    provoking[i].describe(spec)
                )
            };
            format!("  {}: {what}", spec.selector())
        })
        .collect()
}
