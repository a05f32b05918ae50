//! firedrill's own /metrics while it runs (`--metrics-addr`): the scenario,
//! the phase in progress with its requests, failures and last p99, and the
//! alert states Prometheus reports — so a long in-cluster run can be watched
//! from the same Prometheus. It wraps the terminal view and passes every
//! event on to it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use prometheus::{Encoder, GaugeVec, Opts, Registry, TextEncoder};

use crate::demo::server::{Handler, ResponseFuture, SwitchableServer};
use crate::plan::PhasePlan;
use crate::record::{AlertEvent, AlertStage, EnvSummary, Live, PhaseRecord, Progress};

#[derive(Default)]
struct State {
    scenario: String,
    phase: Option<(usize, String, Arc<Live>)>,
    phases_done: usize,
    alerts: BTreeMap<String, AlertStage>,
}

pub struct Telemetry {
    inner: Arc<dyn Progress>,
    state: Arc<Mutex<State>>,
    server: SwitchableServer,
}

impl Telemetry {
    /// Serves /metrics on `addr` (must be called within a tokio runtime).
    pub fn start(addr: SocketAddr, inner: Arc<dyn Progress>) -> std::io::Result<Arc<Self>> {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let handler: Handler = Arc::new(move |_request| -> ResponseFuture {
            let body = render(&shared);
            Box::pin(async move {
                let mut response = Response::new(Full::new(Bytes::from(body)));
                if let Ok(value) =
                    hyper::header::HeaderValue::from_str(TextEncoder::new().format_type())
                {
                    response
                        .headers_mut()
                        .insert(hyper::header::CONTENT_TYPE, value);
                }
                response
            })
        });
        let server = SwitchableServer::start(addr, handler)?;
        Ok(Arc::new(Telemetry {
            inner,
            state,
            server,
        }))
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        if let Ok(mut state) = self.state.lock() {
            change(&mut state);
        }
    }
}

fn render(state: &Mutex<State>) -> String {
    let registry = Registry::new();
    let gauge = |name: &str, help: &str, labels: &[&str]| {
        let vec = GaugeVec::new(Opts::new(name, help), labels)
            .expect("static metric definition is valid");
        registry
            .register(Box::new(vec.clone()))
            .expect("each metric is registered once");
        vec
    };
    let info = gauge("firedrill_running", "1 while a drill runs", &["scenario"]);
    let phase = gauge(
        "firedrill_phase",
        "The phase in progress (its index as the value)",
        &["phase"],
    );
    let done = gauge("firedrill_phases_done", "Phases finished so far", &[]);
    let requests = gauge(
        "firedrill_phase_requests",
        "Requests of the phase in progress so far",
        &["phase"],
    );
    let failed = gauge(
        "firedrill_phase_failed_requests",
        "Failed requests (5xx, no answer, never sent) of the phase in progress",
        &["phase"],
    );
    let p99 = gauge(
        "firedrill_phase_p99_seconds",
        "The last full second's p99 latency",
        &["phase"],
    );
    let alerts = gauge(
        "firedrill_alert_state",
        "1 for each alert's state as last seen in Prometheus",
        &["alert", "state"],
    );
    if let Ok(state) = state.lock() {
        info.with_label_values(&[state.scenario.as_str()]).set(1.0);
        done.with_label_values(&[] as &[&str])
            .set(state.phases_done as f64);
        if let Some((index, name, live)) = &state.phase {
            let labels = [name.as_str()];
            phase.with_label_values(&labels).set(*index as f64);
            requests
                .with_label_values(&labels)
                .set(live.requests.load(Ordering::Relaxed) as f64);
            failed
                .with_label_values(&labels)
                .set(live.failed.load(Ordering::Relaxed) as f64);
            p99.with_label_values(&labels)
                .set(live.last_p99_micros.load(Ordering::Relaxed) as f64 / 1e6);
        }
        for (alert, alert_state) in &state.alerts {
            alerts
                .with_label_values(&[alert.as_str(), alert_state.as_str()])
                .set(1.0);
        }
    }
    let mut buffer = Vec::new();
    let _ = TextEncoder::new().encode(&registry.gather(), &mut buffer);
    String::from_utf8_lossy(&buffer).into_owned()
}

impl Progress for Telemetry {
    fn run_started(&self, scenario: &str, time_scale: f64, env: &EnvSummary) {
        self.update(|s| s.scenario = scenario.to_string());
        self.inner.run_started(scenario, time_scale, env);
    }

    fn phase_started(&self, index: usize, phase: &PhasePlan, live: &Arc<Live>) {
        self.update(|s| s.phase = Some((index, phase.name.clone(), live.clone())));
        self.inner.phase_started(index, phase, live);
    }

    fn phase_finished(&self, index: usize, record: &PhaseRecord) {
        self.update(|s| {
            s.phase = None;
            s.phases_done = index + 1;
        });
        self.inner.phase_finished(index, record);
    }

    fn alert_changed(&self, event: &AlertEvent) {
        self.update(|s| {
            s.alerts.insert(event.alert.clone(), event.state);
        });
        self.inner.alert_changed(event);
    }

    fn note(&self, text: &str) {
        self.inner.note(text);
    }
}
