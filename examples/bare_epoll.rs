//! The ceiling for a load generator on this machine: the least a closed-loop
//! HTTP/1.1 client can do per request. Each thread owns one epoll instance
//! (mio) and its share of the keep-alive connections; per request it makes
//! one write of a pre-encoded POST and one read (epoll amortized over every
//! connection ready at a wake), and takes the answer's end from its
//! Content-Length. No clock read, no timeout, no histogram, no reconnection,
//! no chunked bodies: a load generator that measures anything does more, so
//! what this reaches in requests per CPU-second bounds what any can reach
//! against the same target, and the rest of the cost is the kernel's.
//! `scripts/bench-compare` runs it beside firedrill and wrk (section
//! `ceiling`); not a tool, and never pointed anywhere but loopback.
//!
//!     cargo run --release --example bare_epoll -- 127.0.0.1:8080 /predict 32 2 10
//!     (address, path, connections, threads, seconds) → {"requests": N, "threads": T}

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

const BODY: &str = r#"{"request": {"text": "Go is amazing!"}}"#;

struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    filled: usize,
}

impl Connection {
    /// Reads what is there; true once a whole answer is in (then the buffer
    /// is reset for the next one). Errors end the run: this is a probe.
    fn read_answer(&mut self) -> std::io::Result<bool> {
        loop {
            match self.stream.read(&mut self.buf[self.filled..]) {
                Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut answer = httparse::Response::new(&mut headers);
            let head = match answer.parse(&self.buf[..self.filled]) {
                Ok(httparse::Status::Complete(head)) => head,
                Ok(httparse::Status::Partial) if self.filled < self.buf.len() => continue,
                _ => return Err(ErrorKind::InvalidData.into()),
            };
            let length = answer
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| {
                    std::str::from_utf8(h.value)
                        .ok()?
                        .trim()
                        .parse::<usize>()
                        .ok()
                })
                .ok_or(ErrorKind::InvalidData)?;
            if self.filled >= head + length {
                // One request in flight: nothing can follow the answer.
                self.filled = 0;
                return Ok(true);
            }
        }
    }
}

fn run_thread(
    address: SocketAddr,
    request: Arc<Vec<u8>>,
    connections: usize,
    stop: Arc<AtomicBool>,
) -> std::io::Result<u64> {
    let mut poll = Poll::new()?;
    let mut open = Vec::with_capacity(connections);
    for index in 0..connections {
        let stream = std::net::TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(stream);
        poll.registry()
            .register(&mut stream, Token(index), Interest::READABLE)?;
        stream.write_all(&request)?;
        open.push(Connection {
            stream,
            buf: vec![0; 16 * 1024],
            filled: 0,
        });
    }
    let mut events = Events::with_capacity(connections.max(1));
    let mut answered = 0u64;
    while !stop.load(Ordering::Relaxed) {
        match poll.poll(&mut events, Some(Duration::from_millis(100))) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            other => other?,
        }
        for event in events.iter() {
            let connection = &mut open[event.token().0];
            if connection.read_answer()? {
                answered += 1;
                // A 100-byte request always fits an empty socket buffer.
                connection.stream.write_all(&request)?;
            }
        }
    }
    Ok(answered)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [address, path, connections, threads, seconds] = args.as_slice() else {
        return Err("usage: bare_epoll ADDRESS PATH CONNECTIONS THREADS SECONDS".into());
    };
    let address: SocketAddr = address.parse()?;
    if !address.ip().is_loopback() {
        return Err(format!("{address} is not a loopback address").into());
    }
    let (connections, threads): (usize, usize) = (connections.parse()?, threads.parse()?);
    let threads = threads.max(1);
    let seconds: u64 = seconds.parse()?;
    let request = Arc::new(
        format!(
            "POST {path} HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n{BODY}",
            BODY.len()
        )
        .into_bytes(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..threads)
        .map(|index| {
            let share = connections / threads + usize::from(index < connections % threads);
            let (request, stop) = (request.clone(), stop.clone());
            std::thread::spawn(move || run_thread(address, request, share, stop))
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut requests = 0;
    for worker in workers {
        requests += worker.join().map_err(|_| "a thread panicked")??;
    }
    println!("{{\"requests\": {requests}, \"threads\": {threads}}}");
    Ok(())
}
