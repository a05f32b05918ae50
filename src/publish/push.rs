//! Results pushed to a Prometheus Pushgateway at the end of a run, so the
//! dashboard that shows the service also shows whether its drills pass:
//! the verdict, each check, time to fire and to resolve per alert check, time
//! to the notification per alert and receiver, and
//! client-side latency quantiles and outcomes per phase.
//!
//! One group per scenario (and shard), replaced by every run (HTTP PUT), so
//! a dashboard always shows the latest result. Written with the prometheus
//! crate's text encoder and sent with our async client (the crate's own
//! `push` feature would bring a blocking HTTP stack).

use std::time::Duration;

use base64::Engine as _;
use prometheus::{Encoder, GaugeVec, Opts, Registry, TextEncoder};

use crate::checks::window::Window;
use crate::checks::Status;
use crate::report::Report;

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    let vec =
        GaugeVec::new(Opts::new(name, help), labels).expect("static metric definition is valid");
    registry
        .register(Box::new(vec.clone()))
        .expect("each metric is registered once");
    vec
}

/// The report as Prometheus text exposition format.
pub fn render(report: &Report) -> String {
    let registry = Registry::new();
    run_metrics(&registry, report);
    check_metrics(&registry, report);
    phase_metrics(&registry, report);
    super::deltas::register(&registry, report);
    let mut buffer = Vec::new();
    // Encoding our own well-formed metrics into a Vec cannot fail.
    let _ = TextEncoder::new().encode(&registry.gather(), &mut buffer);
    String::from_utf8_lossy(&buffer).into_owned()
}

/// The verdict, the exit code and when the run ended.
fn run_metrics(registry: &Registry, report: &Report) {
    let verdict = gauge(
        registry,
        "firedrill_run_verdict",
        "1 for the run's verdict (pass, fail or inconclusive)",
        &["verdict"],
    );
    let label = |s: Status| match s {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::Inconclusive => "inconclusive",
    };
    verdict.with_label_values(&[label(report.verdict)]).set(1.0);
    gauge(
        registry,
        "firedrill_run_exit_code",
        "The run's exit code",
        &[],
    )
    .with_label_values(&[] as &[&str])
    .set(report.exit_code as f64);
    // An evicted or timed-out run still pushes: its checks are judged on
    // what was finished, and this says the run did not complete.
    gauge(
        registry,
        "firedrill_run_interrupted",
        "1 if a signal stopped the run before its end (its checks judged on the part that ran), else 0",
        &[],
    )
    .with_label_values(&[] as &[&str])
    .set(f64::from(u8::from(matches!(
        report.status,
        crate::record::RunStatus::Interrupted(_)
    ))));
    gauge(
        registry,
        "firedrill_run_finished_timestamp_seconds",
        "When the run ended (Unix time)",
        &[],
    )
    .with_label_values(&[] as &[&str])
    .set(crate::time::local_now());
}

/// The gauges of each check's outcome and the alert checks' times.
struct CheckGauges {
    passed: GaugeVec,
    inconclusive: GaugeVec,
    time_to_fire: GaugeVec,
    time_to_resolve: GaugeVec,
    time_to_notify: GaugeVec,
    window_complete: GaugeVec,
}

impl CheckGauges {
    fn new(registry: &Registry) -> Self {
        let check = &["id", "check", "kind"];
        CheckGauges {
            passed: gauge(
                registry,
                "firedrill_check_passed",
                "1 if the check passed, else 0",
                check,
            ),
            inconclusive: gauge(
                registry,
                "firedrill_check_inconclusive",
                "1 if the check could not be judged, else 0",
                check,
            ),
            time_to_fire: gauge(
                registry,
                "firedrill_alert_time_to_fire_seconds",
                "Seconds from the check's anchor to the alert firing",
                &["alert", "id"],
            ),
            time_to_resolve: gauge(
                registry,
                "firedrill_alert_time_to_resolve_seconds",
                "Seconds from the check's anchor to the alert resolving",
                &["alert", "id"],
            ),
            time_to_notify: gauge(
                registry,
                "firedrill_alert_time_to_notify_seconds",
                "Seconds from the check's anchor to the notification reaching the receiver",
                &["alert", "receiver"],
            ),
            window_complete: gauge(
                registry,
                "firedrill_check_window_complete",
                "Interrupted runs: 1 if the check's window was over (and seen by Prometheus) before the signal, else 0",
                check,
            ),
        }
    }
}

/// Each check's outcome, and the alert checks' times to fire, resolve and
/// notify (read from their evidence).
fn check_metrics(registry: &Registry, report: &Report) {
    let gauges = CheckGauges::new(registry);
    for verdict in &report.verdicts {
        let alert = report
            .plan
            .checks
            .iter()
            .find(|c| c.id == verdict.id)
            .and_then(|c| c.kind.alert())
            .map(|a| a.as_str())
            .unwrap_or("");
        let figures = verdict.evidence.readout();
        if let Some((receiver, seconds)) = figures.time_to_notify() {
            gauges
                .time_to_notify
                .with_label_values(&[alert, receiver])
                .set(seconds);
        }
        let labels = [
            verdict.id.as_str(),
            verdict.name.as_str(),
            verdict.kind().as_str(),
        ];
        gauges
            .passed
            .with_label_values(&labels)
            .set(f64::from(u8::from(verdict.status == Status::Pass)));
        gauges
            .inconclusive
            .with_label_values(&labels)
            .set(f64::from(u8::from(verdict.status == Status::Inconclusive)));
        if let Some(window) = &verdict.window {
            gauges
                .window_complete
                .with_label_values(&labels)
                .set(f64::from(u8::from(*window == Window::Complete)));
        }
        for (value, metric) in [
            (figures.time_to_fire_seconds(), &gauges.time_to_fire),
            (figures.time_to_resolve_seconds(), &gauges.time_to_resolve),
        ] {
            if let Some(value) = value {
                metric
                    .with_label_values(&[alert, verdict.id.as_str()])
                    .set(value);
            }
        }
    }
}

/// Client-side latency quantiles and outcomes per phase.
fn phase_metrics(registry: &Registry, report: &Report) {
    let latency = gauge(
        registry,
        "firedrill_phase_latency_seconds",
        "Client-side latency quantiles per phase (from each request's intended send time)",
        &["phase", "quantile"],
    );
    let requests = gauge(
        registry,
        "firedrill_phase_requests",
        "Requests per phase by outcome",
        &["phase", "outcome"],
    );
    for phase in &report.observations.phases {
        let Some(stats) = &phase.stats else { continue };
        for (q, text) in [(0.5, "0.5"), (0.95, "0.95"), (0.99, "0.99")] {
            latency
                .with_label_values(&[phase.name.as_str(), text])
                .set(stats.latency.quantile_ms(q) / 1000.0);
        }
        let c = &stats.counts;
        for (outcome, count) in [
            ("2xx", c.status_2xx),
            ("3xx", c.status_3xx),
            ("4xx", c.status_4xx),
            ("5xx", c.status_5xx),
            ("no_answer", c.transport_errors() + c.dropped),
        ] {
            requests
                .with_label_values(&[phase.name.as_str(), outcome])
                .set(count as f64);
        }
    }
}

/// One grouping label in a Pushgateway URL path: `/name/value` when the
/// value is a plain word, else `/name@base64/<value in base64url>`, the form
/// the Pushgateway defines for any other value.
fn path_segment(name: &str, value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        format!("/{name}/{value}")
    } else {
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value);
        format!("/{name}@base64/{encoded}")
    }
}

/// The group's URL: `<base>/metrics/job/firedrill/scenario/<name>[/shard/<i>]`.
pub fn group_url(base: &str, report: &Report) -> String {
    let mut url = format!(
        "{}/metrics/job/firedrill{}",
        base.trim_end_matches('/'),
        path_segment("scenario", &report.scenario.name)
    );
    if let Some(shard) = report.plan.shard {
        url.push_str(&path_segment("shard", &shard.index.to_string()));
    }
    url
}

/// Why the results could not be pushed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("{0}")]
    Client(#[source] reqwest::Error),
    #[error("cannot reach the Pushgateway at {url}: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the Pushgateway at {url} answered HTTP {status}: {body}")]
    Refused {
        url: String,
        status: reqwest::StatusCode,
        body: String,
    },
}

/// PUTs the report's metrics, replacing the group's previous ones; the
/// group's URL when it was taken.
pub async fn push(base: &str, report: &Report) -> Result<String, PushError> {
    let url = group_url(base, report);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(PushError::Client)?;
    let response = client
        .put(&url)
        .header("content-type", TextEncoder::new().format_type())
        .body(render(report))
        .send()
        .await
        .map_err(|source| PushError::Unreachable {
            url: url.clone(),
            source,
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(url)
    } else {
        let body = response.text().await.unwrap_or_default();
        Err(PushError::Refused {
            url,
            status,
            body: body.trim().to_string(),
        })
    }
}
