//! HTTP for the tests, both ways: one loopback server (hyper 1) whose
//! behaviour is a closure from a request to a response, and one blocking
//! client (reqwest) for whatever a test GETs or PUTs by hand.
//!
//! Every server runs on its own thread with its own tokio runtime, whether
//! the test is a plain `#[test]` or a `#[tokio::test]`: one design, and the
//! server never competes with the test's runtime. The closure is
//! synchronous and runs on the runtime's blocking pool, so it may block
//! (sleep, lock, call `get`/`send`) without holding up other connections —
//! as a stalled service would. A server stops when it is dropped.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// A request as the server's closure sees it.
pub struct Request {
    /// How many requests this server received before this one.
    pub number: usize,
    pub method: String,
    pub path: String,
    /// The raw query string (without `?`), empty when there is none.
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Request {
    /// A header's value (lossy UTF-8), if it was sent.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    /// The query's parameters, form-decoded, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let url = reqwest::Url::parse(&format!("http://server/?{}", self.query))
            .expect("a query string parses");
        url.query_pairs().into_owned().collect()
    }
}

/// What the server's closure answers.
pub struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Answer,
}

enum Answer {
    Whole(Bytes),
    Endless,
}

impl Response {
    /// `status` with a plain body.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Answer::Whole(Bytes::from(body.into())),
        }
    }

    /// 200 `ok`.
    pub fn ok() -> Self {
        Self::text(200, "ok")
    }

    /// `status` with `content-type: application/json` (the body is sent as
    /// given, JSON or not).
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self::text(status, body).header("content-type", "application/json")
    }

    /// 200 JSON whose chunked body never ends: 64 KiB chunks for as long as
    /// the peer reads (a hostile peer).
    pub fn endless() -> Self {
        Response {
            status: 200,
            headers: vec![("content-type", "application/json".into())],
            body: Answer::Endless,
        }
    }

    /// Adds a header (`name` in lowercase).
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// `connection: close`: the connection ends with this answer, so the
    /// client's next request comes on a new one.
    pub fn close(self) -> Self {
        self.header("connection", "close")
    }
}

/// An HTTP/1.1 server on a free loopback port (keep-alive unless an answer
/// says `close`); stopped on drop.
pub struct Server {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub url: String,
    /// Requests received (counted before the closure is called).
    pub requests: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

impl Server {
    pub fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let handler: Arc<Handler> = Arc::new(handler);
        let counter = requests.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime for the test server");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                tokio::select! {
                    _ = accept_loop(listener, handler, counter) => {}
                    _ = stopped => {}
                }
            });
            // Closures still blocking (a stall) are not waited for.
            runtime.shutdown_background();
        });
        Server {
            url: format!("http://127.0.0.1:{port}"),
            requests,
            stop: Some(stop),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    handler: Arc<Handler>,
    counter: Arc<AtomicUsize>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let (handler, counter) = (handler.clone(), counter.clone());
        tokio::spawn(async move {
            let service =
                service_fn(move |request| answer(request, handler.clone(), counter.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    request: hyper::Request<Incoming>,
    handler: Arc<Handler>,
    counter: Arc<AtomicUsize>,
) -> Result<hyper::Response<BoxBody<Bytes, Infallible>>, hyper::Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let request = Request {
        number: counter.fetch_add(1, Ordering::SeqCst),
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body,
    };
    let response = tokio::task::spawn_blocking(move || handler(&request))
        .await
        .unwrap_or_else(|panic| Response::text(500, format!("the test server's closure: {panic}")));
    let mut answer = hyper::Response::builder().status(response.status);
    for (name, value) in response.headers {
        answer = answer.header(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).expect("a valid header value"),
        );
    }
    let body = match response.body {
        Answer::Whole(bytes) => Full::new(bytes).boxed(),
        Answer::Endless => Endless(Bytes::from(vec![b'x'; 65536])).boxed(),
    };
    Ok(answer.body(body).expect("a valid response"))
}

/// A body that never ends (chunked: no length is known).
struct Endless(Bytes);

impl hyper::body::Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(Some(Ok(Frame::data(self.0.clone()))))
    }
}

/// A finished exchange: the status and the body (lossy UTF-8).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// GET `url`, blocking (not for async code: it runs its own runtime).
/// Errors are the transport's (refused, reset, timed out); any status is a
/// reply.
pub fn get(url: impl reqwest::IntoUrl) -> Result<Reply, reqwest::Error> {
    send("GET", url, None)
}

/// GET `url` with `params` added to its query, URL-encoded.
pub fn get_with_query(url: &str, params: &[(&str, &str)]) -> Result<Reply, reqwest::Error> {
    let url = reqwest::Url::parse_with_params(url, params).expect("a valid URL");
    get(url)
}

/// `method` `url` with an optional body, blocking, like `get`.
pub fn send(
    method: &str,
    url: impl reqwest::IntoUrl,
    body: Option<&str>,
) -> Result<Reply, reqwest::Error> {
    send_typed(method, url, body, None)
}

/// `method` `url` with a JSON body (`content-type: application/json`).
pub fn send_json(
    method: &str,
    url: impl reqwest::IntoUrl,
    body: &serde_json::Value,
) -> Result<Reply, reqwest::Error> {
    send_typed(
        method,
        url,
        Some(&body.to_string()),
        Some("application/json"),
    )
}

fn send_typed(
    method: &str,
    url: impl reqwest::IntoUrl,
    body: Option<&str>,
    content_type: Option<&str>,
) -> Result<Reply, reqwest::Error> {
    let content_type = content_type.map(str::to_string);
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
    let body = body.map(str::to_string);
    let url = url.into_url()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the test client");
    runtime.block_on(async move {
        // No proxy: the tests' traffic stays on loopback whatever the
        // environment says. No pool outlives this call's runtime.
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()?;
        let mut request = client.request(method, url);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let body = response.text().await?;
        Ok(Reply { status, body })
    })
}
