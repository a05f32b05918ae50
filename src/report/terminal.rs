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
use crate::plan::{FaultPlan, LoadModel, Pace, PhasePlan, RateShape};
use crate::record::{
    AlertAtAlertmanager, AlertEvent, AlertStage, EnvSummary, Live, Notification, PhaseRecord,
    Progress,
};
use crate::time::{format_duration, prometheus_duration, trim_float};

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
    pace: Pace,
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
                pace: phase.pace,
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
    let production = if phase.pace.rates_scaled {
        format!(" ({:.1}/s in production)", phase.pace.written(rate))
    } else {
        String::new()
    };
    Some(format!(
        "  … {} {elapsed:.0}s{total} · {rate:.1} req/s{production} · {failed} failed · p99 {p99:.1}ms · {alerts}",
        phase.name
    ))
}

/// A rate as the scenario wrote it and as it is sent: `20/s`, `20/s in
/// production, sent at 200/s`, or with `scale_rates: false`, `20/s as
/// written (a window holds what 2/s would in production)`.
pub fn describe_rate(rate: &RateShape, pace: Pace) -> String {
    let shape = |scale: f64| {
        if rate.from == rate.to {
            format!("{}/s", trim_float(rate.from * scale))
        } else {
            format!(
                "{}/s → {}/s",
                trim_float(rate.from * scale),
                trim_float(rate.to * scale)
            )
        }
    };
    if !pace.is_compressed() {
        shape(1.0)
    } else if pace.rates_scaled {
        format!(
            "{} in production, sent at {}",
            shape(1.0 / pace.rate_factor()),
            shape(1.0)
        )
    } else {
        format!(
            "{} as written (scale_rates: false: a window holds what {} would in production)",
            shape(1.0),
            shape(1.0 / pace.time_scale)
        )
    }
}

/// A closed-model pause as written and as run (divided when rates are
/// scaled).
fn describe_pause(pause: Duration, pace: Pace) -> String {
    if pace.rates_scaled && !pause.is_zero() {
        // To the millisecond: a divided pause is often under a tenth.
        format!(
            "{} in production, {} run",
            prometheus_duration(pause.mul_f64(pace.time_scale)),
            prometheus_duration(pause)
        )
    } else {
        format_duration(pause)
    }
}

pub fn describe_load(phase: &PhasePlan) -> String {
    let load = match &phase.model {
        LoadModel::Open {
            rate,
            duration,
            connections,
        } => format!(
            "{} · open model {} · ≤{connections} in flight",
            format_duration(*duration),
            describe_rate(rate, phase.pace)
        ),
        LoadModel::Closed {
            requests,
            concurrency,
            pause,
            max_duration,
        } => format!(
            "closed model {requests} requests · {concurrency} at a time · pause {}{}",
            describe_pause(*pause, phase.pace),
            max_duration
                .map(|d| format!(" · at most {}", format_duration(d)))
                .unwrap_or_default()
        ),
        LoadModel::Idle { duration } => format!("{} · no traffic", format_duration(*duration)),
    };
    if phase.warm_up {
        format!("{load} · warm-up, not judged")
    } else {
        load
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

/// The one line a phase's fault is shown with (its kind says it).
pub fn describe_fault(phase: &PhasePlan) -> Option<String> {
    phase.fault.as_ref().map(FaultPlan::describe)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_is_shown_as_written_and_as_sent() {
        let rate = RateShape {
            from: 200.0,
            to: 200.0,
        };
        assert_eq!(describe_rate(&rate, Pace::default()), "200/s");
        assert_eq!(
            describe_rate(&rate, Pace::new(10.0, true)),
            "20/s in production, sent at 200/s"
        );
        assert_eq!(
            describe_rate(&rate, Pace::new(10.0, false)),
            "200/s as written (scale_rates: false: a window holds what 20/s would in production)"
        );
        assert_eq!(
            describe_pause(Duration::from_millis(10), Pace::new(10.0, true)),
            "100ms in production, 10ms run"
        );
    }

    /// The one line each kind of fault is shown with (terminal, reports).
    #[test]
    fn each_fault_kind_has_its_line() {
        let phase = |fault: FaultPlan| PhasePlan {
            name: "p".into(),
            model: LoadModel::Idle {
                duration: Duration::from_secs(1),
            },
            requests: Vec::new(),
            fault: Some(fault),
            timeout: Duration::from_secs(1),
            pace: Pace::default(),
            warm_up: false,
        };
        let call = crate::plan::HttpCall {
            method: "PUT".into(),
            url: "http://127.0.0.1:1/start".into(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        let demo = crate::plan::DemoFaults {
            backend_error_ratio: 0.5,
            backend_latency: Duration::from_secs(2),
            backend_down: true,
            gateway_down: true,
            memory_hog: 0.95,
            cpu_burn: 1.0,
        };
        let cases = [
            (
                FaultPlan::Demo(demo),
                "backend errors 50%, backend +2s, backend down, gateway down, \
                 memory hog to 95% of the limit, CPU burn to 100% of the limit",
            ),
            (
                FaultPlan::Http(crate::plan::HttpFault {
                    start: call.clone(),
                    restore: call,
                }),
                "http PUT http://127.0.0.1:1/start",
            ),
            (
                FaultPlan::Exec(crate::plan::ExecFault {
                    start: vec!["touch".into(), "/tmp/x".into()],
                    restore: Vec::new(),
                }),
                "exec touch /tmp/x",
            ),
            (
                FaultPlan::Kubernetes(crate::plan::Kubernetes::Scale {
                    deployment: "sentiment-api".into(),
                    namespace: None,
                    replicas: 0,
                }),
                "deployment sentiment-api scaled to 0",
            ),
            (
                FaultPlan::Kubernetes(crate::plan::Kubernetes::DeletePods {
                    namespace: None,
                    selector: Some("app=sentiment-api".into()),
                    name: None,
                }),
                "pods app=sentiment-api deleted",
            ),
        ];
        for (fault, line) in cases {
            assert_eq!(describe_fault(&phase(fault)).as_deref(), Some(line));
        }
    }
}
