//! A fault made by one HTTP call and undone by another (e.g. a chaos tool's
//! API, or the demo gateway's admin port), each bounded to ten seconds.

use std::time::Duration;

use super::{FaultError, Stage};
use crate::plan::HttpCall;

pub async fn inject(start: &HttpCall, restore: &HttpCall) -> Result<HttpRestore, FaultError> {
    // Armed before the start call: if the call half-succeeded, the restore
    // still runs.
    let armed = HttpRestore {
        call: Some(restore.clone()),
    };
    send(start).await.map_err(|message| FaultError::Http {
        stage: Stage::Start,
        message,
    })?;
    Ok(armed)
}

/// The restore call of an HTTP fault, made by `Drop` if `restore` was not.
pub struct HttpRestore {
    call: Option<HttpCall>,
}

impl HttpRestore {
    pub async fn restore(mut self) -> Result<(), FaultError> {
        match self.call.take() {
            Some(call) => send(&call).await.map_err(|message| FaultError::Http {
                stage: Stage::Restore,
                message,
            }),
            None => Ok(()),
        }
    }
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
