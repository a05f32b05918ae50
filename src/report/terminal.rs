//! The terminal view: what happens as it happens (phases, traffic, alert
//! state changes), then the verdicts. Writes to stderr, so stdout stays
//! clean for tools. On a terminal, a status line is redrawn twice a second
//! during each phase (elapsed/total, rate, failures, p99, alert states); off
//! a terminal it stays quiet. `--quiet` silences the commentary altogether.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{status_text, tally, Report};
use crate::plan::{FaultPlan, LoadModel, PhasePlan};
use crate::record::{
    AlertAtAlertmanager, AlertEvent, AlertStage, EnvSummary, Live, Notification, PhaseRecord,
    Progress,
};
use crate::time::{format_duration, trim_float};

/// Clears the current line (the status line, when one is shown).
const CLEAR_LINE: &str = "\r\x1b[2K";

pub struct TerminalProgress {
    started: Mutex<Option<Instant>>,
    status_line: bool,
    shared: Arc<Mutex<LiveState>>,
}

#[derive(Default)]
struct LiveState {
    phase: Option<LivePhase>,
    /// "alert{labels}" → state, for the status line.
    alerts: BTreeMap<String, AlertStage>,
}

struct LivePhase {
    name: String,
    started: Instant,
    planned: f64,
    counters: Arc<Live>,
    stop: Arc<AtomicBool>,
}

impl TerminalProgress {
    pub fn new() -> Arc<Self> {
        Arc::new(TerminalProgress {
            started: Mutex::new(None),
            status_line: std::io::stderr().is_terminal(),
            shared: Arc::new(Mutex::new(LiveState::default())),
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
        // Hold the state lock so the status line is not drawn mid-message.
        let _state = self.shared.lock();
        let mut err = std::io::stderr().lock();
        if self.status_line {
            let _ = write!(err, "{CLEAR_LINE}");
        }
        let _ = writeln!(err, "{text}");
    }

    fn start_status_line(&self, phase: &PhasePlan, live: &Arc<Live>) {
        let stop = Arc::new(AtomicBool::new(false));
        if let Ok(mut state) = self.shared.lock() {
            state.phase = Some(LivePhase {
                name: phase.name.clone(),
                started: Instant::now(),
                planned: phase.planned_duration().as_secs_f64(),
                counters: live.clone(),
                stop: stop.clone(),
            });
        }
        let shared = self.shared.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                let Ok(state) = shared.lock() else { return };
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                if let Some(text) = status_text_of(&state) {
                    let mut err = std::io::stderr().lock();
                    let _ = write!(err, "{CLEAR_LINE}{text}");
                    let _ = err.flush();
                }
            }
        });
    }

    fn stop_status_line(&self) {
        if let Ok(mut state) = self.shared.lock() {
            if let Some(phase) = state.phase.take() {
                phase.stop.store(true, Ordering::Relaxed);
            }
        }
    }
}

fn status_text_of(state: &LiveState) -> Option<String> {
    let phase = state.phase.as_ref()?;
    let elapsed = phase.started.elapsed().as_secs_f64();
    let requests = phase.counters.requests.load(Ordering::Relaxed);
    let failed = phase.counters.failed.load(Ordering::Relaxed);
    let p99 = phase.counters.last_p99_micros.load(Ordering::Relaxed) as f64 / 1000.0;
    let rate = if elapsed > 0.5 {
        requests as f64 / elapsed
    } else {
        0.0
    };
    let total = if phase.planned > 0.0 {
        format!("/{:.0}s", phase.planned)
    } else {
        String::new()
    };
    let alerts: Vec<String> = state
        .alerts
        .iter()
        .filter(|(_, s)| **s != AlertStage::Inactive)
        .map(|(a, s)| format!("{a} {s}"))
        .collect();
    let alerts = if alerts.is_empty() {
        "no alerts".to_string()
    } else {
        alerts.join(", ")
    };
    Some(format!(
        "  … {} {elapsed:.0}s{total} · {rate:.1} req/s · {failed} failed · p99 {p99:.1}ms · {alerts}",
        phase.name
    ))
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

/// How the engine ran a phase: its threads, and the clock that timed the
/// sends (open model). Empty for reports written before the engine said.
fn describe_engine(stats: &crate::record::PhaseStats) -> String {
    let mut out = String::new();
    if stats.threads > 0 {
        let plural = if stats.threads == 1 { "" } else { "s" };
        out.push_str(&format!(" · {} load thread{plural}", stats.threads));
    }
    if let Some(pacer) = stats.pacer {
        out.push_str(&format!(" · {} pacer", pacer.label()));
    }
    out
}

pub fn describe_fault(phase: &PhasePlan) -> Option<String> {
    let fault = match phase.fault.as_ref()? {
        FaultPlan::Http { start, .. } => {
            return Some(format!("http {} {}", start.method, start.url));
        }
        FaultPlan::Exec { start, .. } => return Some(format!("exec {}", start.join(" "))),
        FaultPlan::Scale {
            deployment,
            replicas,
            ..
        } => return Some(format!("deployment {deployment} scaled to {replicas}")),
        FaultPlan::DeletePods { selector, name, .. } => {
            return Some(format!(
                "pods {} deleted",
                name.as_deref().or(selector.as_deref()).unwrap_or("?")
            ))
        }
        FaultPlan::Demo(fault) => fault,
    };
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
    if fault.memory_hog > 0.0 {
        parts.push(format!(
            "memory hog to {}% of the limit",
            trim_float(fault.memory_hog * 100.0)
        ));
    }
    if fault.cpu_burn > 0.0 {
        parts.push(format!(
            "CPU burn to {}% of the limit",
            trim_float(fault.cpu_burn * 100.0)
        ));
    }
    Some(parts.join(", "))
}

impl Progress for TerminalProgress {
    fn run_started(&self, scenario: &str, time_scale: f64, env: &EnvSummary) {
        if let Ok(mut started) = self.started.lock() {
            *started = Some(Instant::now());
        }
        self.line(&format!(
            "firedrill · {} · {} target {} · Prometheus {} at {}{}",
            scenario,
            env.kind,
            env.target_url,
            env.prometheus_version,
            env.prometheus_url,
            if time_scale != 1.0 {
                format!(" · time scale ×{}", trim_float(time_scale))
            } else {
                String::new()
            }
        ));
        if let Some(am) = &env.alertmanager {
            self.line(&format!(
                "  Alertmanager {} at {} ({}; routing from {})",
                am.version,
                am.url,
                if am.kind == crate::record::EnvKind::Embedded {
                    "embedded, every integration a webhook to firedrill"
                } else {
                    "read-only: its notifications are not observable"
                },
                am.config_origin
            ));
        }
        if env.prometheus_tls.contains("NOT VERIFIED") {
            self.line(&format!("  ! Prometheus over {}", env.prometheus_tls));
        }
        if env.target_tls.contains("NOT VERIFIED") {
            self.line(&format!("  ! Target over {}", env.target_tls));
        }
    }

    fn phase_started(&self, _index: usize, phase: &PhasePlan, live: &Arc<Live>) {
        let fault = describe_fault(phase)
            .map(|f| format!(" · fault: {f}"))
            .unwrap_or_default();
        self.line(&format!(
            "[+{:6.1}s] ▶ {} ({}){fault}",
            self.elapsed(),
            phase.name,
            describe_load(phase)
        ));
        if self.status_line {
            self.start_status_line(phase, live);
        }
    }

    fn phase_finished(&self, _index: usize, record: &PhaseRecord) {
        self.stop_status_line();
        let body = match (&record.stats, &record.load_error) {
            (_, Some(error)) => format!("traffic failed: {error}"),
            (Some(stats), None) => {
                let c = &stats.counts;
                let l = stats.latency.summary();
                format!(
                    "{} requests: {} 2xx, {} 4xx, {} 5xx, {} no answer · p50 {:.1}ms p95 {:.1}ms p99 {:.1}ms{}",
                    c.requests,
                    c.status_2xx,
                    c.status_4xx,
                    c.status_5xx,
                    c.transport_errors() + c.dropped,
                    l.p50_ms,
                    l.p95_ms,
                    l.p99_ms,
                    describe_engine(stats)
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
        if let Ok(mut state) = self.shared.lock() {
            state.alerts.insert(event.alert.clone(), event.state);
        }
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

    fn alert_arrived(&self, alert: &AlertAtAlertmanager) {
        let labels: Vec<String> = alert
            .labels
            .iter()
            .filter(|(k, _)| k.as_str() != "alertname")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let held = alert
            .states
            .first()
            .filter(|s| s.state == "suppressed")
            .map(|s| {
                if s.silenced_by.is_empty() {
                    " · inhibited".to_string()
                } else {
                    format!(" · silenced by {}", s.silenced_by.join(", "))
                }
            })
            .unwrap_or_default();
        self.line(&format!(
            "[+{:6.1}s]   alert {} {{{}}} → at Alertmanager, routed to {}{held}",
            self.elapsed(),
            alert
                .labels
                .get("alertname")
                .map(String::as_str)
                .unwrap_or("?"),
            labels.join(","),
            if alert.receivers.is_empty() {
                "(none)".to_string()
            } else {
                alert.receivers.join(", ")
            }
        ));
    }

    fn notified(&self, notification: &Notification) {
        let alerts: Vec<&str> = notification
            .alerts
            .iter()
            .filter_map(|a| a.labels.get("alertname").map(String::as_str))
            .collect();
        self.line(&format!(
            "[+{:6.1}s]   notification → {} ({}) · {} · {}",
            self.elapsed(),
            notification.receiver,
            notification.integration,
            notification.status,
            alerts.join(", ")
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
    if !matches!(report.status, crate::record::RunStatus::Completed) {
        out.push_str(&format!("\nRun {}\n", status_text(&report.status)));
    }
    out.push_str(&format!(
        "\n{} · {} · exit code {}\n",
        report.verdict.label(),
        tally(report),
        report.exit_code
    ));
    out
}
