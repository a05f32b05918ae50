//! The lean HTTP/1.1 path against servers that answer in every way the RFC
//! allows, and some it does not: a raw TCP server per test (std threads, a
//! scripted answer per request), `firedrill load -n N` (the closed model,
//! one connection) through the lean client and through hyper, and the same
//! counts from both.

use crate::support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;

/// What the server writes for the request numbered `n` (from 0, across
/// connections), and whether it then closes the connection.
type Script = dyn Fn(usize, &str) -> (Vec<u8>, bool) + Send + Sync;

struct RawServer {
    url: String,
    connections: Arc<AtomicUsize>,
    /// Requests read whole, answered or not.
    received: Arc<AtomicUsize>,
}

impl RawServer {
    fn start(script: impl Fn(usize, &str) -> (Vec<u8>, bool) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x", listener.local_addr().unwrap());
        let script: Arc<Script> = Arc::new(script);
        let counter = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let accepted = connections.clone();
        let received = counter.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                accepted.fetch_add(1, Ordering::SeqCst);
                let (script, counter) = (script.clone(), counter.clone());
                std::thread::spawn(move || serve(stream, &*script, &counter));
            }
        });
        RawServer {
            url,
            connections,
            received,
        }
    }
}

/// Reads requests (head, then Content-Length bytes) and answers each.
fn serve(mut stream: TcpStream, script: &Script, counter: &AtomicUsize) {
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&pending[..end]).to_string();
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or(0);
        while pending.len() < end + 4 + length {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
        }
        pending.drain(..end + 4 + length);
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let (answer, close) = script(n, &head);
        if stream.write_all(&answer).is_err() || close {
            return;
        }
    }
}

fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn load(url: &str, client: &str, extra: &[&str]) -> Value {
    let mut args = vec!["load", url, "-d", "20s", "--json", "--client", client];
    if !extra.contains(&"-n") {
        args.extend(["-n", "20"]);
    }
    if !extra.contains(&"--timeout") {
        args.extend(["--timeout", "2s"]);
    }
    if !extra.contains(&"-c") {
        args.extend(["-c", "1"]);
    }
    args.extend_from_slice(extra);
    let out = support::firedrill(&args);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Runs both clients against one server; returns (lean, hyper) counts.
fn both(server: &RawServer, extra: &[&str]) -> (Value, Value) {
    let lean = load(&server.url, "lean", extra);
    let hyper = load(&server.url, "hyper", extra);
    (lean["counts"].clone(), hyper["counts"].clone())
}

#[test]
fn content_length_and_chunked_answers_are_read_whole() {
    let server = RawServer::start(|n, _| {
        let answer = if n % 2 == 0 {
            ok("hello")
        } else {
            // Chunk extensions, a chunk split oddly, and trailers.
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: t\r\n\r\n".to_vec()
        };
        (answer, false)
    });
    let (lean, hyper) = both(&server, &[]);
    assert_eq!(lean["status_2xx"], 20, "{lean}");
    assert_eq!(lean, hyper);
    // One keep-alive connection each.
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

#[test]
fn a_server_that_closes_after_n_requests_is_reconnected_without_errors() {
    // `Connection: close` on every fifth answer.
    let announced = RawServer::start(|n, _| {
        if n % 5 == 4 {
            (
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok".to_vec(),
                true,
            )
        } else {
            (ok("ok"), false)
        }
    });
    let report = load(&announced.url, "lean", &[]);
    assert_eq!(report["counts"]["status_2xx"], 20, "{report}");
    assert_eq!(report["connections_opened"]["http1"], 4);
    // Closed silently after every third answer: the next request finds the
    // connection gone before any byte of its answer, and is sent again.
    let silent = RawServer::start(|n, _| (ok("ok"), n % 3 == 2));
    let (lean, hyper) = both(&silent, &[]);
    assert_eq!(lean["status_2xx"], 20, "{lean}");
    assert_eq!(lean["resets"], 0, "{lean}");
    // hyper retries only when it sees the close before sending: when the
    // close races the next request, it counts a reset (seen in CI).
    assert_eq!(
        hyper["status_2xx"].as_u64().unwrap() + hyper["resets"].as_u64().unwrap(),
        20,
        "{hyper}"
    );
}

#[test]
fn a_malformed_status_line_is_an_error_of_its_own_kind() {
    let server = RawServer::start(|_, _| (b"HTTP/1.1 2OO OK\r\n\r\n".to_vec(), false));
    let (lean, hyper) = both(&server, &[]);
    assert_eq!(lean["other_errors"], 20, "{lean}");
    assert_eq!(lean["status_2xx"], 0);
    assert_eq!(hyper["other_errors"], 20, "{hyper}");
}

#[test]
fn an_endless_body_is_cut_at_the_limit() {
    let server = RawServer::start(|_, _| {
        // 17 MiB of chunks: more than the 16 MiB bound.
        let mut answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let chunk = format!("100000\r\n{}\r\n", "x".repeat(0x100000));
        for _ in 0..17 {
            answer.extend_from_slice(chunk.as_bytes());
        }
        (answer, true)
    });
    let report = load(&server.url, "lean", &["-n", "3"]);
    assert_eq!(report["counts"]["other_errors"], 3, "{report}");
}

#[test]
fn interim_answers_are_skipped_and_head_has_no_body() {
    let server = RawServer::start(|_, head| {
        if head.starts_with("HEAD") {
            // A length, and no body: HEAD answers never have one.
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec(),
                false,
            )
        } else {
            (
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n".to_vec(),
                false,
            )
        }
    });
    let (lean, hyper) = both(&server, &["-m", "POST", "-b", "{}"]);
    assert_eq!(lean["status_2xx"], 20, "{lean}");
    assert_eq!(lean["timeouts"], 0);
    assert_eq!(lean, hyper);
    let (lean, hyper) = both(&server, &["-m", "HEAD"]);
    assert_eq!(lean["status_2xx"], 20, "{lean}");
    assert_eq!(
        lean["timeouts"], 0,
        "a HEAD answer's length is no body to wait for"
    );
    assert_eq!(lean, hyper);
}

#[test]
fn an_http_1_0_answer_without_a_length_runs_to_the_close() {
    let server = RawServer::start(|_, _| (b"HTTP/1.0 200 OK\r\n\r\nthe whole rest".to_vec(), true));
    let (lean, hyper) = both(&server, &[]);
    assert_eq!(lean["status_2xx"], 20, "{lean}");
    assert_eq!(lean, hyper);
}

#[test]
fn requests_reach_the_server_as_written() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let server = RawServer::start(move |_, head| {
        record.lock().unwrap().push(head.to_string());
        (ok("ok"), false)
    });
    load(
        &server.url,
        "lean",
        &[
            "-n",
            "2",
            "-m",
            "POST",
            "-H",
            "X-Team: sre",
            "-b",
            "{\"a\":1}",
        ],
    );
    let heads = seen.lock().unwrap();
    assert_eq!(heads.len(), 2);
    let host = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/x");
    assert_eq!(
        heads[0],
        format!("POST /x HTTP/1.1\r\nhost: {host}\r\nx-team: sre\r\ncontent-length: 7")
    );
}

#[test]
fn a_written_post_that_gets_no_answer_is_counted_not_sent_again() {
    // Every third request is read whole, then the connection closes with no
    // answer: the server may have processed it. (Each one arrives on a
    // reused connection: the first two of each connection are answered.)
    let script = |n: usize, _: &str| {
        if n % 3 == 2 {
            (Vec::new(), true)
        } else {
            (ok("ok"), false)
        }
    };
    let server = RawServer::start(script);
    let report = load(&server.url, "lean", &["-m", "POST", "-b", "{}"]);
    let counts = &report["counts"];
    assert_eq!(
        server.received.load(Ordering::SeqCst),
        20,
        "each POST reached the server once: {report}"
    );
    assert_eq!(counts["requests"], 20, "{report}");
    assert_eq!(counts["status_2xx"], 14, "{report}");
    assert_eq!(counts["resets"], 6, "counted as what they are: {report}");

    // A GET is replayable (as an Idempotency-Key makes a POST): sent again on
    // a new connection, so the server sees the 9 taken ones twice.
    for extra in [
        &[][..],
        &["-m", "POST", "-b", "{}", "-H", "Idempotency-Key: k"][..],
    ] {
        let server = RawServer::start(script);
        let report = load(&server.url, "lean", extra);
        assert_eq!(report["counts"]["status_2xx"], 20, "{report}");
        assert_eq!(report["counts"]["resets"], 0, "{report}");
        assert_eq!(server.received.load(Ordering::SeqCst), 29, "{report}");
    }
}

#[test]
fn threads_run_as_asked_each_with_its_share_of_the_requests() {
    let server = RawServer::start(|_, _| (ok("ok"), false));
    for (threads, requests) in [("1", 41), ("2", 41), ("3", 40)] {
        let report = load(
            &server.url,
            "lean",
            &["-c", "4", "--threads", threads, "-n", &requests.to_string()],
        );
        assert_eq!(
            report["threads"],
            threads.parse::<u64>().unwrap(),
            "{report}"
        );
        assert_eq!(report["counts"]["status_2xx"], requests, "{report}");
        assert_eq!(report["counts"]["requests"], requests, "{report}");
        assert!(report.get("pacer").is_none(), "closed model: no pacer");
    }
    // By default a target on this machine is left a core.
    let cores = std::thread::available_parallelism().unwrap().get() as u64;
    let report = load(&server.url, "lean", &["-c", "16"]);
    assert_eq!(report["threads"], (cores - 1).clamp(1, 8), "{report}");
}

#[test]
fn a_request_past_its_timeout_is_counted_at_the_timeout_and_its_connection_replaced() {
    // Each connection's fourth request is read and never answered (the
    // server holds it for 3 s, then closes): with a 300 ms timeout, three
    // of twelve requests time out. One connection's worker keeps one timer
    // for all its requests, moved later each time: it must fire at the
    // hung request's deadline, after three requests moved it, and again
    // after it has fired.
    // The answered ones take 60 ms each: a timer left at an earlier
    // request's deadline would fire 120 ms or more too early.
    let script = |n: usize, _: &str| {
        if n % 4 == 3 {
            std::thread::sleep(std::time::Duration::from_secs(3));
            (Vec::new(), true)
        } else {
            std::thread::sleep(std::time::Duration::from_millis(60));
            (ok("ok"), false)
        }
    };
    for client in ["lean", "hyper"] {
        let server = RawServer::start(script);
        let report = load(&server.url, client, &["-n", "12", "--timeout", "300ms"]);
        let counts = &report["counts"];
        assert_eq!(counts["requests"], 12, "{client}: {report}");
        assert_eq!(counts["timeouts"], 3, "{client}: {report}");
        assert_eq!(counts["status_2xx"], 9, "{client}: {report}");
        assert_eq!(
            server.connections.load(Ordering::SeqCst),
            3,
            "{client}: a timed-out connection is never reused: {report}"
        );
        let (fastest, slowest) = (
            report["latency"]["min_ms"].as_f64().unwrap(),
            report["latency"]["max_ms"].as_f64().unwrap(),
        );
        assert!(fastest >= 60.0, "{client}: the answers' delay: {report}");
        assert!(
            (300.0..1000.0).contains(&slowest),
            "{client}: a timeout counts at the timeout, not before it: {report}"
        );
    }
}
