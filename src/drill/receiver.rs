//! firedrill's notification receiver: the one webhook every integration of
//! the embedded Alertmanager was rewritten to. It takes each POST
//! (Alertmanager's webhook payload, version 4), records when it arrived on
//! the drill's clock, for which receiver and integration, firing or
//! resolved, for which alerts — and answers 200, as a healthy PagerDuty or
//! Slack would. Bodies are read up to a bound; anything that is not a
//! payload is answered 400 and noted.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::sync::oneshot;

use super::clock::Clock;
use crate::record::{Labels, Notification, NotifiedAlert, Progress};
use crate::time::parse_rfc3339;

/// A notification for a few alerts is a few kilobytes.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

#[derive(Deserialize)]
struct Payload {
    receiver: String,
    status: String,
    #[serde(rename = "groupKey", default)]
    group_key: String,
    #[serde(default)]
    alerts: Vec<PayloadAlert>,
}

#[derive(Deserialize)]
struct PayloadAlert {
    status: String,
    #[serde(default)]
    labels: Labels,
    #[serde(rename = "startsAt", default)]
    starts_at: String,
    #[serde(rename = "endsAt", default)]
    ends_at: String,
    #[serde(default)]
    annotations: Labels,
}

#[derive(Default)]
struct Taken {
    notifications: Vec<Notification>,
    refused: Vec<String>,
}

/// Serves while it lives; `finish` stops it and returns what it took.
pub struct Receiver {
    taken: Arc<Mutex<Taken>>,
    stop: Option<oneshot::Sender<()>>,
}

impl Receiver {
    /// Serves `listener` (bound by the environment, its port written into
    /// Alertmanager's configuration).
    pub fn start(
        listener: std::net::TcpListener,
        clock: Clock,
        progress: Arc<dyn Progress>,
    ) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let taken = Arc::new(Mutex::new(Taken::default()));
        let (stop, stopped) = oneshot::channel();
        let shared = taken.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = accept(listener, shared, clock, progress) => {}
                _ = stopped => {}
            }
        });
        Ok(Receiver {
            taken,
            stop: Some(stop),
        })
    }

    /// The notifications taken so far, in arrival order (it keeps serving).
    pub fn taken(&self) -> Vec<Notification> {
        self.taken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .notifications
            .clone()
    }

    /// Stops serving; the notifications in arrival order, and the requests
    /// it refused.
    pub fn finish(mut self) -> (Vec<Notification>, Vec<String>) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        (
            std::mem::take(&mut taken.notifications),
            std::mem::take(&mut taken.refused),
        )
    }
}

async fn accept(
    listener: tokio::net::TcpListener,
    taken: Arc<Mutex<Taken>>,
    clock: Clock,
    progress: Arc<dyn Progress>,
) {
    let serve = move |stream: tokio::net::TcpStream| {
        let (taken, progress) = (taken.clone(), progress.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let (taken, progress) = (taken.clone(), progress.clone());
                async move { Ok::<_, Infallible>(take(request, &taken, clock, progress.as_ref()).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    };
    accept_loop(|| async { listener.accept().await.map(|(s, _)| s) }, serve).await;
}

/// The first pause after a failed accept, and the longest.
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Accepts connections for ever, handing each to `serve`. A failed accept
/// (out of file descriptors: EMFILE, ENFILE; a connection aborted before it
/// was taken) is retried after a pause that doubles from 5ms to 1s and
/// starts over at the next success — what Go's net/http server does —
/// rather than at once, which spins a core while descriptors are short.
async fn accept_loop<S, A, F>(mut accept: A, mut serve: impl FnMut(S))
where
    A: FnMut() -> F,
    F: std::future::Future<Output = std::io::Result<S>>,
{
    let mut pause = Duration::ZERO;
    loop {
        match accept().await {
            Ok(stream) => {
                pause = Duration::ZERO;
                serve(stream);
            }
            Err(_) => {
                pause = (pause * 2).clamp(FIRST_BACKOFF, MAX_BACKOFF);
                tokio::time::sleep(pause).await;
            }
        }
    }
}

async fn take(
    request: Request<Incoming>,
    taken: &Mutex<Taken>,
    clock: Clock,
    progress: &dyn Progress,
) -> Response<Full<Bytes>> {
    // Stamped on arrival, before the body is read.
    let received_at = clock.now();
    let path = request.uri().path().to_string();
    let refuse = |why: String| {
        taken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .refused
            .push(why);
        let mut response = Response::new(Full::new(Bytes::from_static(b"not a webhook payload\n")));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response
    };
    let Some(integration) = integration_of(&path) else {
        return refuse(format!(
            "{} {path}: not /notify/<kind>/<n>",
            request.method()
        ));
    };
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(e) => return refuse(format!("{path}: the body could not be read: {e}")),
    };
    let payload: Payload = match serde_json::from_slice(&body) {
        Ok(payload) => payload,
        Err(e) => return refuse(format!("{path}: not Alertmanager's webhook payload: {e}")),
    };
    let notification = Notification {
        received_at,
        receiver: payload.receiver,
        integration,
        status: payload.status,
        group_key: payload.group_key,
        alerts: payload
            .alerts
            .into_iter()
            .map(|a| NotifiedAlert {
                status: a.status,
                labels: a.labels,
                starts_at: parse_rfc3339(&a.starts_at),
                ends_at: parse_rfc3339(&a.ends_at),
                annotations: a.annotations,
            })
            .collect(),
    };
    progress.notified(&notification);
    taken
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .notifications
        .push(notification);
    Response::new(Full::new(Bytes::from_static(b"ok\n")))
}

/// `/notify/slack/0` → `slack[0]`.
fn integration_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/notify/")?;
    let (kind, n) = rest.split_once('/')?;
    let n: usize = n.parse().ok()?;
    (!kind.is_empty() && kind.chars().all(|c| c.is_ascii_lowercase()))
        .then(|| format!("{kind}[{n}]"))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    /// Out of file descriptors, as accept(2) says it.
    fn emfile() -> std::io::Error {
        std::io::Error::from_raw_os_error(libc::EMFILE)
    }

    #[tokio::test]
    async fn a_failing_accept_backs_off_instead_of_spinning() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let accept = move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(emfile()) }
        };
        let started = Instant::now();
        let _ = tokio::time::timeout(
            Duration::from_millis(600),
            super::accept_loop(accept, |_: ()| {}),
        )
        .await;
        // 5, 10, 20, … 320ms: at most 8 tries in 600ms (a spin makes millions).
        let tries = calls.load(Ordering::SeqCst);
        assert!(
            (4..=9).contains(&tries),
            "{tries} accepts in {:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn after_failures_it_serves_again_and_the_pause_starts_over() {
        // Three failures, a connection, three failures, a connection.
        let script = Arc::new(Mutex::new(vec![
            Err(emfile()),
            Err(emfile()),
            Err(emfile()),
            Ok(1),
            Err(emfile()),
            Err(emfile()),
            Err(emfile()),
            Ok(2),
        ]));
        let next = script.clone();
        let accept = move || {
            let step = {
                let mut left = next.lock().unwrap();
                (!left.is_empty()).then(|| left.remove(0))
            };
            async move {
                match step {
                    Some(result) => result,
                    None => std::future::pending().await,
                }
            }
        };
        let served = Arc::new(Mutex::new(Vec::new()));
        let into = served.clone();
        let started = Instant::now();
        let _ = tokio::time::timeout(
            Duration::from_millis(400),
            super::accept_loop(accept, move |n: u32| {
                into.lock().unwrap().push((n, started.elapsed()))
            }),
        )
        .await;
        let served = served.lock().unwrap().clone();
        assert_eq!(
            served.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            vec![1, 2]
        );
        // 5 + 10 + 20ms before each: had the pause not started over, the
        // second would wait 40 + 80 + 160ms more.
        let between = served[1].1 - served[0].1;
        assert!(between < Duration::from_millis(200), "{between:?}");
        assert!(
            served[0].1 >= Duration::from_millis(35),
            "{:?}",
            served[0].1
        );
    }

    #[test]
    fn integrations_are_named_from_the_path() {
        assert_eq!(
            super::integration_of("/notify/slack/0").as_deref(),
            Some("slack[0]")
        );
        assert_eq!(super::integration_of("/notify/slack"), None);
        assert_eq!(super::integration_of("/other/slack/0"), None);
    }
}
