//! One keep-alive connection, as a load generator needs it: connect lazily,
//! reconnect after any failure, bound every exchange by a timeout, read
//! answers without keeping them, and name what went wrong. Plain HTTP/1.1,
//! or over TLS (rustls) HTTP/2 or HTTP/1.1 as ALPN decides. Each worker owns
//! its connection and keeps one request in flight on it, in both protocols.
//!
//! HTTP/1.1 goes through the lean path (`http1`: the request encoded once,
//! answers parsed with httparse from a reused buffer) unless the target
//! asks for hyper (`Client::Hyper`, kept for comparison); HTTP/2 is always
//! hyper's.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1 as hyper_http1, http2};
use hyper::header::{HeaderName, HeaderValue, HOST};
use hyper::{HeaderMap, Method, Request, Response, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types::ServerName};
use tokio_rustls::TlsConnector;

use super::error::{RequestError, TlsError};
use super::http1;
use crate::plan::RequestTemplate;
use crate::record::Outcome;

/// Answers larger than this end the connection (a hostile target cannot make
/// firedrill read forever; the timeout bounds time, this bounds bytes).
const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// A request ready to send many times.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    method: Method,
    /// Origin form (`/path?query`), for HTTP/1.1.
    uri: Uri,
    /// Absolute form, for HTTP/2's `:scheme` and `:authority`.
    absolute: Uri,
    headers: HeaderMap,
    body: Bytes,
    /// The same request as the lean HTTP/1.1 path writes it.
    wire: http1::Wire,
}

impl PreparedRequest {
    pub fn new(template: &RequestTemplate, target: &super::Target) -> Result<Self, RequestError> {
        let authority = target.authority.as_str();
        let method = Method::from_bytes(template.method.as_bytes()).map_err(|source| {
            RequestError::Method {
                method: template.method.clone(),
                source,
            }
        })?;
        let invalid_path = |source| RequestError::Path {
            path: template.path.clone(),
            source,
        };
        let uri: Uri = template.path.parse().map_err(invalid_path)?;
        let mut headers = HeaderMap::new();
        headers.insert(
            HOST,
            HeaderValue::from_str(authority).map_err(RequestError::Host)?,
        );
        for (name, value) in &template.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|source| {
                RequestError::HeaderName {
                    name: name.clone(),
                    source,
                }
            })?;
            let value =
                HeaderValue::from_str(value).map_err(|source| RequestError::HeaderValue {
                    name: name.to_string(),
                    source,
                })?;
            headers.insert(name, value);
        }
        if let Some(secret) = &target.authorization {
            let mut value =
                HeaderValue::from_str(secret.expose()).map_err(RequestError::Credentials)?;
            value.set_sensitive(true);
            headers.insert(hyper::header::AUTHORIZATION, value);
        }
        let scheme = if target.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let absolute: Uri = format!("{scheme}://{authority}{}", template.path)
            .parse()
            .map_err(invalid_path)?;
        let fields: Vec<(&str, &[u8])> = headers
            .iter()
            .filter(|(name, _)| *name != HOST)
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
            .collect();
        let wire = http1::Wire::encode(
            method.as_str(),
            &uri.to_string(),
            authority,
            &fields,
            &template.body,
        );
        Ok(PreparedRequest {
            method,
            uri,
            absolute,
            headers,
            body: Bytes::from(template.body.clone()),
            wire,
        })
    }

    fn build(&self, http2: bool) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.headers_mut() = self.headers.clone();
        if http2 {
            // `:authority` replaces Host in HTTP/2.
            *request.uri_mut() = self.absolute.clone();
            request.headers_mut().remove(HOST);
        } else {
            *request.uri_mut() = self.uri.clone();
        }
        request
    }
}

/// TLS for an https target: the public roots (webpki-roots) plus the
/// scenario's CA, or no verification when asked for knowingly.
#[derive(Clone)]
pub struct Tls {
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tls({:?})", self.server_name)
    }
}

impl Tls {
    pub fn new(host: &str, plan: &crate::plan::TlsPlan) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?;
        let mut config = if plan.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
                .with_no_client_auth()
        } else {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            if let Some(path) = &plan.ca_file {
                add_ca_file(&mut roots, path)?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        };
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let server_name =
            ServerName::try_from(host.to_string()).map_err(|source| TlsError::ServerName {
                host: host.to_string(),
                source,
            })?;
        Ok(Tls {
            connector: TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }
}

/// Trusts the certificates of a PEM file besides the public roots.
fn add_ca_file(roots: &mut rustls::RootCertStore, path: &std::path::Path) -> Result<(), TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::CaFile {
            path: path.to_path_buf(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::CaEmpty {
            path: path.to_path_buf(),
        });
    }
    for cert in certs {
        roots.add(cert).map_err(|source| TlsError::CaCertificate {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

/// `insecure_skip_verify: true`: signatures are still checked, the chain and
/// the name are not.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Which HTTP/1.1 client the engine uses (HTTP/2 is always hyper's).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Client {
    /// The request encoded once, answers parsed with httparse.
    #[default]
    Lean,
    /// hyper's connection API, for comparison.
    Hyper,
}

enum Sender {
    Lean(http1::Connection),
    Http1(hyper_http1::SendRequest<Full<Bytes>>),
    Http2(http2::SendRequest<Full<Bytes>>),
}

impl Sender {
    async fn ready(&mut self) -> Result<(), hyper::Error> {
        match self {
            Sender::Lean(_) => Ok(()),
            Sender::Http1(s) => s.ready().await,
            Sender::Http2(s) => s.ready().await,
        }
    }

    async fn send(
        &mut self,
        request: &PreparedRequest,
    ) -> Result<Response<Incoming>, hyper::Error> {
        match self {
            Sender::Lean(_) => unreachable!("the lean path does not go through hyper"),
            Sender::Http1(s) => s.send_request(request.build(false)).await,
            Sender::Http2(s) => s.send_request(request.build(true)).await,
        }
    }
}

pub struct Connection {
    addr: SocketAddr,
    tls: Option<Tls>,
    client: Client,
    sender: Option<Sender>,
    /// Set when a connection was opened, until the worker records it.
    opened: Option<Protocol>,
    /// The exchange's deadline, one timer for the connection's life: moved
    /// later for each request (tokio then updates it in place, where a
    /// timer per request is put into and taken out of its wheel each time).
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
}

impl Connection {
    pub fn new(target: &super::Target) -> Self {
        Connection {
            addr: target.addr,
            tls: target.tls.clone(),
            client: target.engine.client,
            sender: None,
            opened: None,
            timer: None,
        }
    }

    /// The protocol of a connection opened since the last call.
    pub fn take_opened(&mut self) -> Option<Protocol> {
        self.opened.take()
    }

    /// Sends one request and reads the whole answer, by `deadline`.
    pub async fn send(
        &mut self,
        request: &PreparedRequest,
        deadline: std::time::Instant,
    ) -> Outcome {
        let deadline = tokio::time::Instant::from_std(deadline);
        let mut timer = match self.timer.take() {
            Some(mut timer) => {
                timer.as_mut().reset(deadline);
                timer
            }
            None => Box::pin(tokio::time::sleep_until(deadline)),
        };
        // The answer first, as `timeout_at` does: one that is ready wins
        // over a deadline that has just passed. The timer outside tokio's
        // per-task budget, also as `timeout_at` does: an exchange that uses
        // it up (a flood of interim answers) still times out.
        let outcome = tokio::select! {
            biased;
            outcome = self.exchange(request) => outcome,
            () = tokio::task::unconstrained(timer.as_mut()) => {
                // The connection may be mid-answer: never reuse it.
                self.sender = None;
                Outcome::Timeout
            }
        };
        self.timer = Some(timer);
        outcome
    }

    async fn exchange(&mut self, request: &PreparedRequest) -> Outcome {
        let sender = match self.ready_sender().await {
            Ok(sender) => sender,
            Err(outcome) => return outcome,
        };
        if let Sender::Lean(connection) = sender {
            let mut answer = connection.exchange(&request.wire).await;
            if answer.is_err_and(|failure| may_send_again(failure, &request.wire)) {
                // The reused connection had ended: once more, on a new one.
                self.sender = None;
                answer = match self.ready_sender().await {
                    Ok(Sender::Lean(connection)) => connection.exchange(&request.wire).await,
                    Ok(_) => Err(http1::Failure::Other),
                    Err(outcome) => return outcome,
                };
            }
            return self.lean_outcome(answer);
        }
        let response = match sender.send(request).await {
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

    fn lean_outcome(&mut self, answer: Result<http1::Answer, http1::Failure>) -> Outcome {
        match answer {
            Ok(answer) => {
                if !answer.reusable {
                    self.sender = None;
                }
                Outcome::Status(answer.status)
            }
            Err(failure) => {
                self.sender = None;
                match failure {
                    http1::Failure::Other => Outcome::Other,
                    http1::Failure::Closed { .. } | http1::Failure::Reset => Outcome::Reset,
                }
            }
        }
    }

    async fn ready_sender(&mut self) -> Result<&mut Sender, Outcome> {
        if let Some(sender) = &mut self.sender {
            // A closed keep-alive connection (server timeout, `Connection:
            // close`, GOAWAY) is replaced, not counted as an error. The lean
            // path looks for the close before writing, as hyper's `ready()`
            // does: a request written on it could not be sent again safely.
            let closed = match sender {
                Sender::Lean(connection) => connection.closed_while_idle(),
                _ => sender.ready().await.is_err(),
            };
            if closed {
                self.sender = None;
            }
        }
        if self.sender.is_none() {
            let stream = TcpStream::connect(self.addr)
                .await
                .map_err(|_| Outcome::Connect)?;
            let _ = stream.set_nodelay(true);
            let lean = self.client == Client::Lean;
            let sender = match &self.tls {
                None if lean => Sender::Lean(http1::Connection::new(
                    http1::Stream::Plain(stream),
                    MAX_RESPONSE_BYTES,
                )),
                None => handshake_http1(stream).await?,
                Some(tls) => {
                    let stream = tls
                        .connector
                        .connect(tls.server_name.clone(), stream)
                        .await
                        .map_err(|_| Outcome::Connect)?;
                    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                        let (sender, connection) =
                            http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                                .await
                                .map_err(|_| Outcome::Connect)?;
                        tokio::task::spawn_local(async move {
                            let _ = connection.await;
                        });
                        Sender::Http2(sender)
                    } else if lean {
                        Sender::Lean(http1::Connection::new(
                            http1::Stream::Tls(Box::new(stream)),
                            MAX_RESPONSE_BYTES,
                        ))
                    } else {
                        handshake_http1(stream).await?
                    }
                }
            };
            self.opened = Some(match sender {
                Sender::Lean(_) | Sender::Http1(_) => Protocol::Http1,
                Sender::Http2(_) => Protocol::Http2,
            });
            self.sender = Some(sender);
        }
        self.sender.as_mut().ok_or(Outcome::Connect)
    }
}

async fn handshake_http1<S>(stream: S) -> Result<Sender, Outcome>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper_http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| Outcome::Connect)?;
    tokio::task::spawn_local(async move {
        // Ends when the peer closes or the sender is dropped.
        let _ = connection.await;
    });
    Ok(Sender::Http1(sender))
}

/// Whether a request whose reused connection ended before any byte of the
/// answer may go again on a new connection: if none of it was written, or
/// if it is replayable (Go's transport rule). Otherwise the server may have
/// taken it, and sending it again could process a POST twice while it is
/// counted once: it counts as a reset.
fn may_send_again(failure: http1::Failure, wire: &http1::Wire) -> bool {
    match failure {
        http1::Failure::Closed { written } => !written || wire.replayable(),
        http1::Failure::Reset | http1::Failure::Other => false,
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

#[cfg(test)]
mod tests {
    use super::*;
    use http1::{Failure, Wire};

    #[test]
    fn only_unwritten_or_replayable_requests_are_sent_again() {
        let post = Wire::encode("POST", "/", "h", &[], b"{}");
        let get = Wire::encode("GET", "/", "h", &[], b"");
        let keyed = Wire::encode("POST", "/", "h", &[("idempotency-key", b"k1")], b"{}");
        let unwritten = Failure::Closed { written: false };
        let written = Failure::Closed { written: true };
        assert!(may_send_again(unwritten, &post), "nothing went out");
        assert!(
            !may_send_again(written, &post),
            "the server may have taken it"
        );
        assert!(may_send_again(written, &get));
        assert!(may_send_again(written, &keyed));
        assert!(!may_send_again(Failure::Reset, &get), "an answer had begun");
        assert!(!may_send_again(Failure::Other, &get));
    }
}
