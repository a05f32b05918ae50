//! Injecting a phase's fault and restoring it, always: explicitly at the end
//! of the phase (with the outcome recorded), and from `Drop` if the phase is
//! left any other way (an error, a panic), so no fault outlives the drill.

use std::time::Duration;

use crate::demo::FaultGuard;
use crate::env::Environment;
use crate::plan::{FaultPlan, HttpCall};

/// A fault in force.
pub enum Injected {
    Demo(FaultGuard),
    Http(HttpRestore),
}

pub async fn inject(plan: &FaultPlan, env: &Environment) -> Result<Injected, String> {
    match plan {
        FaultPlan::Demo(faults) => match env.inject(faults) {
            Some(Ok(guard)) => Ok(Injected::Demo(guard)),
            Some(Err(e)) => Err(format!("could not inject the demo fault: {e}")),
            None => Err("the demo gateway is not running".into()),
        },
        FaultPlan::Http { start, restore } => {
            // Armed before the start call: if the call half-succeeded, the
            // restore still runs.
            let armed = HttpRestore {
                call: Some(restore.clone()),
            };
            send(start)
                .await
                .map_err(|e| format!("the fault's start call failed: {e}"))?;
            Ok(Injected::Http(armed))
        }
    }
}

impl Injected {
    pub async fn restore(self) -> Result<(), String> {
        match self {
            Injected::Demo(guard) => guard
                .restore()
                .map_err(|e| format!("could not restore the demo gateway: {e}")),
            Injected::Http(mut restore) => match restore.call.take() {
                Some(call) => send(&call)
                    .await
                    .map_err(|e| format!("the fault's restore call failed: {e}")),
                None => Ok(()),
            },
        }
    }
}

/// The restore call of an HTTP fault, made by `Drop` if `restore` was not.
pub struct HttpRestore {
    call: Option<HttpCall>,
}

impl Drop for HttpRestore {
    fn drop(&mut self) {
        let Some(call) = self.call.take() else { return };
        // Drop cannot await: make the call on a thread of its own, with a
        // small runtime, and wait for it (bounded by the call's timeout).
        let worker = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|runtime| runtime.block_on(send(&call)))
        });
        match worker.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("firedrill: could not restore a fault: {e}"),
            Err(_) => {
                eprintln!("firedrill: could not restore a fault: the restoring thread failed")
            }
        }
    }
}

async fn send(call: &HttpCall) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let method = reqwest::Method::from_bytes(call.method.as_bytes()).map_err(|e| e.to_string())?;
    let mut request = client.request(method, &call.url).body(call.body.clone());
    for (name, value) in &call.headers {
        request = request.header(name, value);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("{} {}: {e}", call.method, call.url))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!(
            "{} {} answered HTTP {status}",
            call.method, call.url
        ))
    }
}
