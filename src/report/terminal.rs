//! The terminal view: what happens as it happens (phases, traffic, alert
//! state changes), then the verdicts. Writes to stderr, so stdout stays
//! clean for tools; `--quiet` silences the running commentary.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::{status_text, Report};
use crate::checks::Status;
use crate::drill::{AlertEvent, PhaseRecord, Progress};
use crate::env::EnvSummary;
use crate::load::Live;
use crate::plan::{LoadModel, PhasePlan, Plan};
use crate::scenario::units::{format_duration, trim_float};

pub struct TerminalProgress {
    started: Mutex<Option<Instant>>,
}

impl TerminalProgress {
    pub fn new() -> Arc<Self> {
        Arc::new(TerminalProgress {
            started: Mutex::new(None),
        })
    }

    fn elapsed(&self) -> f64 {
        self.started
            .lock()
            .ok()
            .and_then(|s| *s)
            .map(|s| s.elapsed().as_secs_f64())
            .unwrap_or(0.0)
    }

    fn line(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
    }
}

pub fn describe_load(phase: &PhasePlan) -> String {
    match &phase.model {
        LoadModel::Open {
            rate,
            duration,
            connections,
        } => {
            let rate = if rate.from == rate.to {
                format!("{}/s", trim_float(rate.from))
            } else {
                format!("{}/s → {}/s", trim_float(rate.from), trim_float(rate.to))
            };
            format!(
                "{} · open model {rate} · ≤{connections} in flight",
                format_duration(*duration)
            )
        }
        LoadModel::Closed {
            requests,
            concurrency,
            pause,
            max_duration,
        } => format!(
            "closed model {requests} requests · {concurrency} at a time · pause {}{}",
            format_duration(*pause),
            max_duration
                .map(|d| format!(" · at most {}", format_duration(d)))
                .unwrap_or_default()
        ),
        LoadModel::Idle { duration } => format!("{} · no traffic", format_duration(*duration)),
    }
}

pub fn describe_fault(phase: &PhasePlan) -> Option<String> {
    let fault = phase.fault.as_ref()?;
    let mut parts = Vec::new();
    if fault.backend_error_ratio > 0.0 {
        parts.push(format!(
            "backend errors {}%",
            trim_float(fault.backend_error_ratio * 100.0)
        ));
    }
    if !fault.backend_latency.is_zero() {
        parts.push(format!(
            "backend +{}",
            format_duration(fault.backend_latency)
        ));
    }
    if fault.backend_down {
        parts.push("backend down".into());
    }
    if fault.gateway_down {
        parts.push("gateway down".into());
    }
    Some(parts.join(", "))
}

impl Progress for TerminalProgress {
    fn run_started(&self, plan: &Plan, env: &EnvSummary) {
        if let Ok(mut started) = self.started.lock() {
            *started = Some(Instant::now());
        }
        self.line(&format!(
            "firedrill · {} · {} target {} · Prometheus {} at {}{}",
            plan.name,
            env.kind,
            env.target_url,
            env.prometheus_version,
            env.prometheus_url,
            if plan.time_scale != 1.0 {
                format!(" · time scale ×{}", trim_float(plan.time_scale))
            } else {
                String::new()
            }
        ));
    }

    fn phase_started(&self, _index: usize, phase: &PhasePlan, _live: &Arc<Live>) {
        let fault = describe_fault(phase)
            .map(|f| format!(" · fault: {f}"))
            .unwrap_or_default();
        self.line(&format!(
            "[+{:6.1}s] ▶ {} ({}){fault}",
            self.elapsed(),
            phase.name,
            describe_load(phase)
        ));
    }

    fn phase_finished(&self, _index: usize, record: &PhaseRecord) {
        let body = match (&record.stats, &record.load_error) {
            (_, Some(error)) => format!("traffic failed: {error}"),
            (Some(stats), None) => {
                let c = &stats.counts;
                let l = stats.latency.summary();
                format!(
                    "{} requests: {} 2xx, {} 4xx, {} 5xx, {} no answer · p50 {:.1}ms p95 {:.1}ms p99 {:.1}ms",
                    c.requests,
                    c.status_2xx,
                    c.status_4xx,
                    c.status_5xx,
                    c.transport_errors() + c.dropped,
                    l.p50_ms,
                    l.p95_ms,
                    l.p99_ms
                )
            }
            (None, None) => "no traffic".into(),
        };
        self.line(&format!(
            "[+{:6.1}s]   {} done in {:.1}s · {body}",
            self.elapsed(),
            record.name,
            record.ended_at - record.started_at
        ));
        if let Some(error) = &record.fault_error {
            self.line(&format!("            ! {error}"));
        }
    }

    fn alert_changed(&self, event: &AlertEvent) {
        let labels = if event.labels.is_empty() {
            String::new()
        } else {
            format!(" {{{}}}", event.labels)
        };
        self.line(&format!(
            "[+{:6.1}s]   alert {}{labels} → {}",
            self.elapsed(),
            event.alert,
            event.state
        ));
    }

    fn note(&self, text: &str) {
        self.line(&format!("[+{:6.1}s]   note: {text}", self.elapsed()));
    }
}

/// The verdicts and the final word, as printed at the end of a run (or by
/// `firedrill report`).
pub fn summary(report: &Report) -> String {
    let mut out = String::new();
    out.push_str("\nChecks\n");
    for verdict in &report.verdicts {
        out.push_str(&format!(
            "  {:<12} {}\n               {}\n",
            verdict.status.label(),
            verdict.name,
            verdict.summary
        ));
    }
    if report.verdicts.is_empty() {
        out.push_str("  (this scenario has no checks)\n");
    }
    for note in &report.observations.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    if !matches!(report.status, crate::drill::RunStatus::Completed) {
        out.push_str(&format!("\nRun {}\n", status_text(&report.status)));
    }
    out.push_str(&format!(
        "\n{} · {} passed, {} failed, {} inconclusive · exit code {}\n",
        report.verdict.label(),
        report.passed(),
        report.count(Status::Fail),
        report.count(Status::Inconclusive),
        report.exit_code
    ));
    out
}
