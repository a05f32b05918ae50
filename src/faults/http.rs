//! Making a fault's HTTP call (e.g. to a chaos tool's API, or the demo
//! gateway's admin port), bounded to ten seconds.

use std::time::Duration;

use super::{FaultError, Stage};
use crate::plan::HttpCall;

/// Makes a fault's call at `stage`.
pub async fn call(call: &HttpCall, stage: Stage) -> Result<(), FaultError> {
    send(call)
        .await
        .map_err(|source| FaultError::Http { stage, source })
}

/// Makes a restore call from `Drop`, which cannot await: on a thread of its
/// own, with a small runtime, waited for (bounded by the call's timeout).
pub fn restore_from_drop(call: &HttpCall) {
    let call = call.clone();
    let worker = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(CallFailure::Runtime)
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

/// Why a fault's HTTP call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CallFailure {
    #[error("{0}")]
    Client(#[source] reqwest::Error),
    #[error("{0}")]
    Method(#[source] hyper::http::method::InvalidMethod),
    #[error("{method} {url}: {source}")]
    Send {
        method: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{method} {url} answered HTTP {status}")]
    Status {
        method: String,
        url: String,
        status: reqwest::StatusCode,
    },
    /// `Drop`'s runtime for the restore call could not be built.
    #[error("{0}")]
    Runtime(#[source] std::io::Error),
}

async fn send(call: &HttpCall) -> Result<(), CallFailure> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(CallFailure::Client)?;
    let method =
        reqwest::Method::from_bytes(call.method.as_bytes()).map_err(CallFailure::Method)?;
    let mut request = client.request(method, &call.url).body(call.body.clone());
    for (name, value) in &call.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|source| CallFailure::Send {
        method: call.method.clone(),
        url: call.url.clone(),
        source,
    })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(CallFailure::Status {
            method: call.method.clone(),
            url: call.url.clone(),
            status,
        })
    }
}
