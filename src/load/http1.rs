//! The lean HTTP/1.1 path: each request encoded once into the bytes that go
//! on the wire and written with one write; each answer parsed with
//! `httparse` (the parser hyper uses) out of one buffer per connection,
//! reused for every answer, its body drained without being kept.
//!
//! Framing as RFC 9112 §6.3 has it: no body after HEAD, 1xx, 204 and 304;
//! `Transfer-Encoding: chunked` (sizes read with `httparse::parse_chunk_size`,
//! trailers skipped); else `Content-Length`; else the body runs to the end
//! of the connection. Interim 1xx answers are skipped. `Connection: close`
//! (or HTTP/1.0 without keep-alive) ends the connection after the answer.
//! Bodies are bounded like hyper's path (16 MiB): a hostile target cannot
//! make firedrill read forever.

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Headers beyond this many make an answer malformed (hyper allows 100).
const MAX_HEADERS: usize = 100;
/// A status line and headers longer than this make an answer malformed.
const MAX_HEAD_BYTES: usize = 64 * 1024;
const READ_CHUNK: usize = 16 * 1024;

/// A request as it goes on the wire.
#[derive(Debug, Clone)]
pub struct Wire {
    bytes: Bytes,
    head: bool,
    /// May be sent again after a written attempt got no answer (Go's
    /// transport rule): GET, HEAD, OPTIONS and TRACE, or a request that
    /// carries an `Idempotency-Key` (or `X-Idempotency-Key`) header.
    replayable: bool,
}

impl Wire {
    /// `method path HTTP/1.1`, Host, the headers, Content-Length when there
    /// is a body (or the method usually has one), the body.
    pub fn encode(
        method: &str,
        path: &str,
        host: &str,
        headers: &[(&str, &[u8])],
        body: &[u8],
    ) -> Wire {
        let mut bytes = BytesMut::with_capacity(128 + body.len());
        bytes.put_slice(method.as_bytes());
        bytes.put_u8(b' ');
        bytes.put_slice(path.as_bytes());
        bytes.put_slice(b" HTTP/1.1\r\nhost: ");
        bytes.put_slice(host.as_bytes());
        bytes.put_slice(b"\r\n");
        for (name, value) in headers {
            bytes.put_slice(name.as_bytes());
            bytes.put_slice(b": ");
            bytes.put_slice(value);
            bytes.put_slice(b"\r\n");
        }
        if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
            bytes.put_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        }
        bytes.put_slice(b"\r\n");
        bytes.put_slice(body);
        let keyed = headers.iter().any(|(name, _)| {
            name.eq_ignore_ascii_case("idempotency-key")
                || name.eq_ignore_ascii_case("x-idempotency-key")
        });
        Wire {
            bytes: bytes.freeze(),
            head: method == "HEAD",
            replayable: keyed || matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE"),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether a written attempt that got no answer may be sent again.
    pub fn replayable(&self) -> bool {
        self.replayable
    }
}

/// Plain TCP, or TLS that negotiated HTTP/1.1.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    /// Writes all of `bytes`; on failure, also says whether any byte may
    /// have reached the peer.
    async fn write_all(&mut self, bytes: &[u8]) -> Result<(), (std::io::Error, bool)> {
        match self {
            Stream::Plain(s) => {
                let mut written = 0;
                while written < bytes.len() {
                    match s.write(&bytes[written..]).await {
                        Ok(0) => {
                            let error = std::io::ErrorKind::WriteZero.into();
                            return Err((error, written > 0));
                        }
                        Ok(n) => written += n,
                        Err(e) => return Err((e, written > 0)),
                    }
                }
                Ok(())
            }
            // rustls takes the request into its buffer, then writes records:
            // after a failure, what reached the socket is not known, so it
            // may have been written.
            Stream::Tls(s) => {
                let flushed = match s.write_all(bytes).await {
                    Ok(()) => s.flush().await,
                    Err(e) => Err(e),
                };
                flushed.map_err(|e| (e, true))
            }
        }
    }

    /// Whether the peer closed (or broke) the connection while it was idle:
    /// readable with no request outstanding means an end of stream, an
    /// error, or bytes nobody asked for. Never waits; a syscall only when
    /// the connection is readable.
    fn closed_while_idle(&mut self) -> bool {
        use std::task::{Context, Poll, Waker};
        let mut cx = Context::from_waker(Waker::noop());
        match self {
            Stream::Plain(s) => match s.poll_read_ready(&mut cx) {
                Poll::Pending => false,
                Poll::Ready(Err(_)) => true,
                Poll::Ready(Ok(())) => {
                    let mut byte = [0u8; 1];
                    !matches!(s.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
                }
            },
            Stream::Tls(s) => {
                // Also reads what TLS sends unasked (session tickets).
                let mut byte = [0u8; 1];
                let mut buf = tokio::io::ReadBuf::new(&mut byte);
                !matches!(
                    std::pin::Pin::new(s.as_mut()).poll_read(&mut cx, &mut buf),
                    Poll::Pending
                )
            }
        }
    }

    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls(s) => read_tls(s, buf).await,
        }
    }
}

async fn read_tls<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut tokio_rustls::client::TlsStream<S>,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    match s.read(buf).await {
        // A peer that closes without close_notify: the end of the stream.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
        other => other,
    }
}

/// How an exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A reused connection was closed (or reset) before any byte of the
    /// answer: the server may have ended it while idle, or as the request
    /// arrived, or after it took the request. `written` says whether any
    /// byte of the request went out; the caller decides whether it may be
    /// sent again.
    Closed { written: bool },
    /// The connection broke mid-answer (reset, or closed early).
    Reset,
    /// A malformed answer, or one larger than the bound.
    Other,
}

fn io_failure(error: &std::io::Error) -> Failure {
    match error.kind() {
        std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::ConnectionAborted
        | std::io::ErrorKind::BrokenPipe
        | std::io::ErrorKind::UnexpectedEof => Failure::Reset,
        _ => Failure::Other,
    }
}

/// A complete answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The connection may carry the next request.
    pub reusable: bool,
}

/// How an answer's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// One HTTP/1.1 connection with its read buffer.
pub struct Connection {
    stream: Stream,
    buf: Vec<u8>,
    /// Bytes of `buf` read and not yet parsed: `buf[start..filled]`.
    start: usize,
    filled: usize,
    /// Answers completed on it (a reused connection may have gone stale).
    served: u64,
    max_body: u64,
}

impl Connection {
    pub fn new(stream: Stream, max_body: u64) -> Self {
        Connection {
            stream,
            buf: vec![0; READ_CHUNK],
            start: 0,
            filled: 0,
            served: 0,
            max_body,
        }
    }

    /// Whether the connection, idle between answers, was closed by its
    /// peer: to be replaced before anything is written on it.
    pub fn closed_while_idle(&mut self) -> bool {
        self.served > 0 && self.stream.closed_while_idle()
    }

    /// Sends `wire` and reads the whole answer.
    pub async fn exchange(&mut self, wire: &Wire) -> Result<Answer, Failure> {
        self.start = 0;
        self.filled = 0;
        let reused = self.served > 0;
        if let Err((e, written)) = self.stream.write_all(wire.bytes()).await {
            return Err(if reused {
                Failure::Closed { written }
            } else {
                io_failure(&e)
            });
        }
        let mut got_bytes = false;
        loop {
            let (status, version_1_0, framing, close) = match self.head(wire.head).await {
                Ok(head) => head,
                Err(Failure::Closed { .. }) if got_bytes || !reused => return Err(Failure::Reset),
                Err(failure) => return Err(failure),
            };
            got_bytes = true;
            // Interim answers (100 Continue, 103 Early Hints) come first.
            if (100..200).contains(&status) {
                if status == 101 {
                    return Err(Failure::Other);
                }
                continue;
            }
            self.body(framing).await?;
            self.served += 1;
            let reusable = !close && !version_1_0 && framing != Framing::UntilClose;
            return Ok(Answer { status, reusable });
        }
    }

    /// Reads more into the buffer; Ok(false) at the end of the stream.
    async fn fill(&mut self) -> Result<bool, Failure> {
        if self.start == self.filled {
            self.start = 0;
            self.filled = 0;
        } else if self.filled == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.filled, 0);
                self.filled -= self.start;
                self.start = 0;
            } else if self.buf.len() < MAX_HEAD_BYTES {
                self.buf.resize(self.buf.len() * 2, 0);
            } else {
                return Err(Failure::Other);
            }
        }
        match self.stream.read(&mut self.buf[self.filled..]).await {
            Ok(0) => Ok(false),
            Ok(n) => {
                self.filled += n;
                Ok(true)
            }
            Err(e) => Err(io_failure(&e)),
        }
    }

    /// The status line and headers: (status, HTTP/1.0, framing, close).
    async fn head(&mut self, head_request: bool) -> Result<(u16, bool, Framing, bool), Failure> {
        loop {
            if self.filled > self.start {
                // Left uninitialized: httparse writes the ones it finds
                // (zeroing 100 slots would cost more than parsing a head).
                let mut headers = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
                let mut response = httparse::Response::new(&mut []);
                let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
                    &mut response,
                    &self.buf[self.start..self.filled],
                    &mut headers,
                );
                match parsed {
                    Ok(httparse::Status::Complete(length)) => {
                        let status = response.code.ok_or(Failure::Other)?;
                        let version_1_0 = response.version == Some(0);
                        let (framing, close) =
                            framing(status, head_request, version_1_0, response.headers)?;
                        self.start += length;
                        return Ok((status, version_1_0, framing, close));
                    }
                    Ok(httparse::Status::Partial) => {}
                    Err(_) => return Err(Failure::Other),
                }
            }
            let before = self.filled - self.start;
            // Closed or reset before the answer's first byte: on a reused
            // connection, the server had ended it (`exchange` decides).
            match self.fill().await {
                Ok(true) => {}
                Ok(false) | Err(Failure::Reset) if before == 0 => {
                    return Err(Failure::Closed { written: true })
                }
                Ok(false) => return Err(Failure::Reset),
                Err(failure) => return Err(failure),
            }
        }
    }

    /// Drains the body.
    async fn body(&mut self, framing: Framing) -> Result<(), Failure> {
        match framing {
            Framing::None => Ok(()),
            Framing::Length(length) => {
                if length > self.max_body {
                    return Err(Failure::Other);
                }
                self.skip(length).await
            }
            Framing::UntilClose => {
                let mut total = 0u64;
                loop {
                    total += (self.filled - self.start) as u64;
                    self.start = self.filled;
                    if total > self.max_body {
                        return Err(Failure::Other);
                    }
                    if !self.fill().await? {
                        return Ok(());
                    }
                }
            }
            Framing::Chunked => self.chunked().await,
        }
    }

    /// Reads past `count` bytes of body; the connection ending first is a reset.
    async fn skip(&mut self, count: u64) -> Result<(), Failure> {
        let mut left = count;
        loop {
            let available = (self.filled - self.start) as u64;
            let taken = available.min(left);
            self.start += taken as usize;
            left -= taken;
            if left == 0 {
                return Ok(());
            }
            if !self.fill().await? {
                return Err(Failure::Reset);
            }
        }
    }

    async fn chunked(&mut self) -> Result<(), Failure> {
        let mut total = 0u64;
        loop {
            // The size line.
            let size = loop {
                match httparse::parse_chunk_size(&self.buf[self.start..self.filled]) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.start += used;
                        break size;
                    }
                    Ok(httparse::Status::Partial) => {
                        if !self.fill().await? {
                            return Err(Failure::Reset);
                        }
                    }
                    Err(_) => return Err(Failure::Other),
                }
            };
            if size == 0 {
                return self.trailers().await;
            }
            total += size;
            if total > self.max_body {
                return Err(Failure::Other);
            }
            // The data and its CRLF.
            self.skip(size + 2).await?;
        }
    }

    /// Trailer fields after the last chunk, up to the empty line.
    async fn trailers(&mut self) -> Result<(), Failure> {
        loop {
            let pending = &self.buf[self.start..self.filled];
            if pending.starts_with(b"\r\n") {
                self.start += 2;
                return Ok(());
            }
            if let Some(at) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                self.start += at + 4;
                return Ok(());
            }
            if !self.fill().await? {
                return Err(Failure::Reset);
            }
        }
    }
}

/// How the body is delimited, and whether the connection ends after it.
fn framing(
    status: u16,
    head_request: bool,
    version_1_0: bool,
    headers: &[httparse::Header],
) -> Result<(Framing, bool), Failure> {
    let (mut length, mut chunked, mut close, mut keep_alive) = (None, false, false, false);
    for header in headers {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or(Failure::Other)?;
            if length.is_some_and(|l| l != value) {
                return Err(Failure::Other);
            }
            length = Some(value);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = header
                .value
                .rsplit(|b| *b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            for token in header.value.split(|b| *b == b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    let close = close || (version_1_0 && !keep_alive);
    let framing = if head_request || (100..200).contains(&status) || status == 204 || status == 304
    {
        Framing::None
    } else if chunked {
        Framing::Chunked
    } else if let Some(length) = length {
        Framing::Length(length)
    } else {
        Framing::UntilClose
    };
    Ok((framing, close))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_encoded_once_with_its_length() {
        let wire = Wire::encode(
            "POST",
            "/predict",
            "127.0.0.1:8080",
            &[("x-team", b"sre")],
            b"{}",
        );
        assert_eq!(
            std::str::from_utf8(wire.bytes()).unwrap(),
            "POST /predict HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nx-team: sre\r\ncontent-length: 2\r\n\r\n{}"
        );
        let get = Wire::encode("GET", "/", "h", &[], b"");
        assert!(!std::str::from_utf8(get.bytes())
            .unwrap()
            .contains("content-length"));
        assert!(Wire::encode("HEAD", "/", "h", &[], b"").head);
    }

    #[test]
    fn framing_follows_the_rfc() {
        let h = |name: &'static str, value: &'static str| httparse::Header {
            name,
            value: value.as_bytes(),
        };
        assert_eq!(
            framing(200, false, false, &[h("Content-Length", "5")]),
            Ok((Framing::Length(5), false))
        );
        assert_eq!(
            framing(
                200,
                false,
                false,
                &[
                    h("Transfer-Encoding", "gzip, chunked"),
                    h("Connection", "close")
                ]
            ),
            Ok((Framing::Chunked, true))
        );
        assert_eq!(framing(204, false, false, &[]), Ok((Framing::None, false)));
        assert_eq!(
            framing(200, true, false, &[h("Content-Length", "5")]),
            Ok((Framing::None, false))
        );
        assert_eq!(
            framing(200, false, true, &[]),
            Ok((Framing::UntilClose, true))
        );
        assert_eq!(
            framing(
                200,
                false,
                true,
                &[h("Connection", "keep-alive"), h("Content-Length", "0")]
            ),
            Ok((Framing::Length(0), false))
        );
        assert_eq!(
            framing(200, false, false, &[h("Content-Length", "x")]),
            Err(Failure::Other)
        );
    }
}
