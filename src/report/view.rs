//! The view model of the HTML report: what the page draws, derived from
//! report.json alone. Every time is in seconds from the run's start, every
//! latency in milliseconds, so the page does no arithmetic on clocks.

use serde::Serialize;

use super::marks::{baseline_curve, baseline_view, window_marks, BaselineView, WindowMark};
use super::terminal::{describe_fault, describe_load};
use super::Report;
use crate::checks::Verdict;
use crate::plan::AlertRef;
use crate::record::{
    AlertmanagerRecord, Counts, EnvSummary, Labels, LatencySummary, PhaseStats, RunStatus,
};

#[derive(Debug, Serialize)]
pub struct View<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub verdict: crate::checks::Status,
    pub status: &'a RunStatus,
    /// Where an interrupted run stopped ("interrupted during `errors`").
    pub interruption: Option<String>,
    pub exit_code: i32,
    pub started_at: &'a str,
    pub finished_at: &'a str,
    pub firedrill_version: &'a str,
    pub environment: Option<&'a EnvSummary>,
    pub time_scale: f64,
    pub scenario_text: &'a str,
    pub run_seconds: f64,
    pub phases: Vec<PhaseView>,
    pub alerts: Vec<AlertView>,
    pub deadlines: Vec<DeadlineView>,
    pub service_latency: Option<ServiceLatencyView>,
    /// What the run was compared with, when it had a baseline.
    pub baseline: Option<BaselineView>,
    /// Each windowed SLO check's worst window.
    pub windows: Vec<WindowMark>,
    pub checks: &'a [Verdict],
    pub notes: &'a [String],
}

#[derive(Debug, Serialize)]
pub struct PhaseView {
    pub name: String,
    pub start: f64,
    pub end: f64,
    pub load: String,
    pub fault: Option<String>,
    pub counts: Option<Counts>,
    pub latency: Option<LatencySummary>,
    /// (percentile in %, ms): the HDR percentile distribution.
    pub percentiles: Option<Vec<(f64, f64)>>,
    /// The baseline's, when the run had one.
    pub baseline_percentiles: Option<Vec<(f64, f64)>>,
    pub series: Vec<SecondView>,
}

#[derive(Debug, Serialize)]
pub struct SecondView {
    pub t: f64,
    pub requests: u64,
    pub status_2xx: u64,
    pub status_3xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    /// No answer: transport errors and requests never sent.
    pub errors: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct AlertView {
    pub name: String,
    pub for_seconds: Option<f64>,
    pub interval_seconds: Option<f64>,
    pub episodes: Vec<EpisodeView>,
    /// When it arrived at Alertmanager (and how it was held there).
    pub arrivals: Vec<ArrivalView>,
    /// Each notification that carried it.
    pub notifications: Vec<NotificationView>,
}

#[derive(Debug, Serialize)]
pub struct ArrivalView {
    pub t: f64,
    pub labels: String,
    pub receivers: Vec<String>,
    /// `silenced`, `inhibited` or None.
    pub held: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct NotificationView {
    pub t: f64,
    pub receiver: String,
    pub integration: String,
    pub status: String,
}

#[derive(Debug, Serialize)]
pub struct EpisodeView {
    pub labels: String,
    pub pending: Option<f64>,
    pub firing: Option<f64>,
    pub resolved: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct DeadlineView {
    pub check: String,
    pub alert: String,
    pub kind: crate::checks::Kind,
    pub anchor: f64,
    pub due: f64,
    pub status: crate::checks::Status,
}

#[derive(Debug, Serialize)]
pub struct ServiceLatencyView {
    pub p95: Vec<(f64, f64)>,
    pub p99: Vec<(f64, f64)>,
}

/// The HDR percentile distribution, with five points per halving of the
/// distance to 100% (as HdrHistogram's own percentile output does).
pub fn percentile_curve(stats: &PhaseStats) -> Vec<(f64, f64)> {
    let histogram = &stats.latency.0;
    if histogram.is_empty() {
        return Vec::new();
    }
    let mut curve: Vec<(f64, f64)> = histogram
        .iter_quantiles(5)
        .map(|v| {
            (
                v.quantile_iterated_to() * 100.0,
                v.value_iterated_to() as f64 / 1000.0,
            )
        })
        .collect();
    curve.dedup_by(|a, b| (a.0 - b.0).abs() < 1e-9);
    curve
}

/// Each checked alert's episodes, arrivals at Alertmanager and notifications.
fn alert_views(report: &Report, rel: impl Fn(f64) -> f64 + Copy) -> Vec<AlertView> {
    let observations = &report.observations;
    let alertmanager = observations.alertmanager.as_ref();
    // The records name an alert as its checks wrote it.
    let alert_ref = |name: &str| {
        report
            .plan
            .checks
            .iter()
            .filter_map(|c| c.kind.alert())
            .find(|a| a.as_str() == name)
            .cloned()
            .or_else(|| AlertRef::parse(name).ok())
    };
    observations
        .alerts
        .iter()
        .map(|(name, history)| {
            let alert = alert_ref(name);
            let rule_name = alert.as_ref().map_or(name.as_str(), |a| a.name.as_str());
            let rule = observations.rules.get(rule_name);
            let (arrivals, notifications) = match (alertmanager, &alert) {
                (Some(am), Some(alert)) => (
                    arrival_views(am, alert, rel),
                    notification_views(am, alert, rel),
                ),
                _ => (Vec::new(), Vec::new()),
            };
            AlertView {
                arrivals,
                notifications,
                name: name.clone(),
                for_seconds: rule.map(|r| r.for_seconds),
                interval_seconds: rule.map(|r| r.interval_seconds),
                episodes: history
                    .episodes
                    .iter()
                    .map(|e| EpisodeView {
                        labels: label_text(&e.labels),
                        pending: e.pending_at.map(rel),
                        firing: e.firing_at.map(rel),
                        resolved: e.resolved_at.map(rel),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// `job=api-gateway,severity=warning`, without `alertname`.
fn label_text(labels: &Labels) -> String {
    labels
        .iter()
        .filter(|(k, _)| k.as_str() != "alertname")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn arrival_views(
    am: &AlertmanagerRecord,
    alert: &AlertRef,
    rel: impl Fn(f64) -> f64,
) -> Vec<ArrivalView> {
    am.arrivals_of(alert)
        .into_iter()
        .map(|a| ArrivalView {
            t: rel(a.arrived_at),
            labels: label_text(&a.labels),
            receivers: a.receivers.clone(),
            held: a.first_suppression().map(|s| {
                if s.silenced_by.is_empty() {
                    "inhibited".to_string()
                } else {
                    "silenced".to_string()
                }
            }),
        })
        .collect()
}

fn notification_views(
    am: &AlertmanagerRecord,
    alert: &AlertRef,
    rel: impl Fn(f64) -> f64,
) -> Vec<NotificationView> {
    am.notifications
        .iter()
        .filter(|n| n.carries(alert, "firing") || n.carries(alert, "resolved"))
        .map(|n| NotificationView {
            t: rel(n.received_at),
            receiver: n.receiver.clone(),
            integration: n.integration.clone(),
            status: n.status.clone(),
        })
        .collect()
}

/// Each phase: its load and fault as written, its counts and latency, and
/// its per-second series.
fn phase_views(report: &Report, rel: impl Fn(f64) -> f64) -> Vec<PhaseView> {
    report
        .observations
        .phases
        .iter()
        .map(|record| {
            let plan = report.plan.phases.iter().find(|p| p.name == record.name);
            let phase_start = rel(record.started_at);
            PhaseView {
                name: record.name.clone(),
                start: phase_start,
                end: rel(record.ended_at),
                load: plan.map(describe_load).unwrap_or_default(),
                fault: plan.and_then(describe_fault),
                counts: record.stats.as_ref().map(|s| s.counts),
                latency: record.stats.as_ref().map(|s| s.latency.summary()),
                percentiles: record.stats.as_ref().map(percentile_curve),
                baseline_percentiles: baseline_curve(report, &record.name),
                series: record
                    .stats
                    .iter()
                    .flat_map(|s| &s.series)
                    .map(|second| SecondView {
                        t: phase_start + second.second as f64 + 0.5,
                        requests: second.counts.requests,
                        status_2xx: second.counts.status_2xx,
                        status_3xx: second.counts.status_3xx,
                        status_4xx: second.counts.status_4xx,
                        status_5xx: second.counts.status_5xx,
                        errors: second.counts.transport_errors() + second.counts.dropped,
                        p50_ms: second.p50_ms,
                        p95_ms: second.p95_ms,
                        p99_ms: second.p99_ms,
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The deadlines to draw on the alerts' timelines: each deadline check's
/// anchor and due time, from its evidence.
fn deadline_views(report: &Report) -> Vec<DeadlineView> {
    report
        .verdicts
        .iter()
        .filter_map(|v| {
            let deadline = v.evidence.readout().deadline()?;
            let check = report.plan.checks.iter().find(|c| c.id == v.id)?;
            Some(DeadlineView {
                check: v.id.clone(),
                alert: check.kind.alert()?.to_string(),
                kind: v.kind(),
                anchor: deadline.anchor_at_seconds,
                due: deadline.anchor_at_seconds + deadline.deadline_seconds,
                status: v.status,
            })
        })
        .collect()
}

pub fn build(report: &Report) -> View<'_> {
    let observations = &report.observations;
    let start = observations.run_start;
    let rel = |t: f64| t - start;
    let service_latency = observations
        .service_latency
        .as_ref()
        .filter(|s| !s.p95.is_empty() || !s.p99.is_empty())
        .map(|s| {
            let convert =
                |points: &[(f64, f64)]| points.iter().map(|(t, v)| (rel(*t), v * 1000.0)).collect();
            ServiceLatencyView {
                p95: convert(&s.p95),
                p99: convert(&s.p99),
            }
        });
    View {
        title: &report.scenario.name,
        description: report.scenario.description.as_deref(),
        verdict: report.verdict,
        status: &report.status,
        interruption: super::interruption(report),
        exit_code: report.exit_code,
        started_at: &report.started_at,
        finished_at: &report.finished_at,
        firedrill_version: &report.firedrill_version,
        environment: report.environment.as_ref(),
        time_scale: report.scenario.time_scale,
        scenario_text: &report.scenario.source_text,
        run_seconds: (observations.observed_until - start).max(0.0),
        phases: phase_views(report, rel),
        alerts: alert_views(report, rel),
        deadlines: deadline_views(report),
        service_latency,
        baseline: baseline_view(report),
        windows: window_marks(report),
        checks: &report.verdicts,
        notes: &observations.notes,
    }
}
