//! One HTTP/1.1 keep-alive connection, as a load generator needs it: connect
//! lazily, reconnect after any failure, bound every exchange by a timeout,
//! read answers without keeping them, and name what went wrong.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderName, HeaderValue, HOST};
use hyper::{HeaderMap, Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::stats::Outcome;
use crate::plan::RequestTemplate;

/// Answers larger than this end the connection (a hostile target cannot make
/// firedrill read forever; the timeout bounds time, this bounds bytes).
const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// A request ready to send many times.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl PreparedRequest {
    pub fn new(template: &RequestTemplate, target: &super::Target) -> Result<Self, String> {
        let authority = target.authority.as_str();
        let method = Method::from_bytes(template.method.as_bytes())
            .map_err(|_| format!("invalid method `{}`", template.method))?;
        let uri: Uri = template
            .path
            .parse()
            .map_err(|e| format!("invalid path `{}`: {e}", template.path))?;
        let mut headers = HeaderMap::new();
        headers.insert(
            HOST,
            HeaderValue::from_str(authority).map_err(|e| format!("invalid host: {e}"))?,
        );
        for (name, value) in &template.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| format!("invalid header name `{name}`: {e}"))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| format!("invalid value for header `{name}`: {e}"))?;
            headers.insert(name, value);
        }
        if let Some(secret) = &target.authorization {
            let mut value = HeaderValue::from_str(secret.expose())
                .map_err(|_| "the credentials are not a valid header value".to_string())?;
            value.set_sensitive(true);
            headers.insert(hyper::header::AUTHORIZATION, value);
        }
        Ok(PreparedRequest {
            method,
            uri,
            headers,
            body: Bytes::from(template.body.clone()),
        })
    }

    fn build(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

pub struct Connection {
    addr: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    pub fn new(addr: SocketAddr) -> Self {
        Connection { addr, sender: None }
    }

    /// Sends one request and reads the whole answer, within `timeout`.
    pub async fn send(&mut self, request: &PreparedRequest, timeout: Duration) -> Outcome {
        match tokio::time::timeout(timeout, self.exchange(request)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                // The connection may be mid-answer: never reuse it.
                self.sender = None;
                Outcome::Timeout
            }
        }
    }

    async fn exchange(&mut self, request: &PreparedRequest) -> Outcome {
        let sender = match self.ready_sender().await {
            Ok(sender) => sender,
            Err(outcome) => return outcome,
        };
        let response = match sender.send_request(request.build()).await {
            Ok(response) => response,
            Err(e) => {
                self.sender = None;
                return classify(&e);
            }
        };
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut received = 0u64;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => {
                    if let Some(data) = frame.data_ref() {
                        received += data.len() as u64;
                        if received > MAX_RESPONSE_BYTES {
                            self.sender = None;
                            return Outcome::Other;
                        }
                    }
                }
                Err(e) => {
                    self.sender = None;
                    return classify(&e);
                }
            }
        }
        Outcome::Status(status)
    }

    async fn ready_sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, Outcome> {
        if let Some(sender) = &mut self.sender {
            // A closed keep-alive connection (server timeout, `Connection:
            // close`) is replaced, not counted as an error.
            if sender.ready().await.is_err() {
                self.sender = None;
            }
        }
        if self.sender.is_none() {
            let stream = TcpStream::connect(self.addr)
                .await
                .map_err(|_| Outcome::Connect)?;
            let _ = stream.set_nodelay(true);
            let (sender, connection) = http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|_| Outcome::Connect)?;
            tokio::task::spawn_local(async move {
                // Ends when the peer closes or the sender is dropped.
                let _ = connection.await;
            });
            self.sender = Some(sender);
        }
        self.sender.as_mut().ok_or(Outcome::Connect)
    }
}

fn classify(error: &hyper::Error) -> Outcome {
    if error.is_incomplete_message() || error.is_closed() || error.is_canceled() {
        return Outcome::Reset;
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::UnexpectedEof => Outcome::Reset,
                _ => Outcome::Other,
            };
        }
        source = cause.source();
    }
    Outcome::Other
}
