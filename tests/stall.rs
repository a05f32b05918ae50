//! No coordinated omission: a target that stops answering for one second in
//! the middle of an open-model run shows in firedrill's percentiles, and
//! firedrill still sends every request the schedule asked for.
//!
//! What "shows" can mean, exactly: a request due at time t inside a stall of
//! length S waits until the stall ends, so its latency is the rest of the
//! stall. Over a run of length T, the share of requests slower than x is
//! (S − x)/T, which puts the p99 at S − 0.01·T (0.96 s here) and the maximum
//! at S. A tool that times from the actual send (wrk's coordinated omission)
//! sees one slow request per connection and a p99 of milliseconds.

use crate::support;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::http::{Response, Server};

const STALL_AT: Duration = Duration::from_millis(1500);
const STALL: Duration = Duration::from_secs(1);

/// An HTTP/1.1 keep-alive server on loopback that answers at once, except
/// that nothing is answered between STALL_AT and STALL_AT + STALL after its
/// first request: a request that arrives then waits (on its own blocking
/// thread, the other connections are still read) until the stall ends.
fn stalling_server() -> Server {
    let first = OnceLock::new();
    Server::start(move |_| {
        let start = *first.get_or_init(Instant::now);
        let (stall_start, stall_end) = (start + STALL_AT, start + STALL_AT + STALL);
        let now = Instant::now();
        if now >= stall_start && now < stall_end {
            std::thread::sleep(stall_end - now);
        }
        Response::ok()
    })
}

#[test]
fn a_one_second_stall_shows_in_the_p99() {
    let server = stalling_server();
    let url = format!("{}/", server.url);
    let out = support::firedrill(&[
        "load",
        &url,
        "--rate",
        "500/s",
        "--duration",
        "4s",
        "--connections",
        "64",
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let ms = |path: &[&str]| path.iter().fold(&summary, |v, k| &v[*k]).as_f64().unwrap();

    // Every scheduled request was sent and answered: a stall does not make
    // firedrill send less.
    assert_eq!(summary["counts"]["requests"], 2000, "{summary:#}");
    assert_eq!(summary["counts"]["status_2xx"], 2000, "{summary:#}");

    eprintln!(
        "p50 {:.1}ms p99 {:.1}ms max {:.1}ms, {} delayed",
        ms(&["latency", "p50_ms"]),
        ms(&["latency", "p99_ms"]),
        ms(&["latency", "max_ms"]),
        summary["delayed"]
    );
    let stall_ms = STALL.as_secs_f64() * 1000.0;
    let expected_p99 = stall_ms - 0.01 * 4000.0;
    // A few ms of leeway: the server's clock starts at its first request,
    // firedrill's at its first send.
    assert!(
        ms(&["latency", "p99_ms"]) >= expected_p99 - 30.0,
        "p99 below {expected_p99}ms: {summary:#}"
    );
    assert!(
        ms(&["latency", "max_ms"]) >= stall_ms - 30.0,
        "max below the stall: {summary:#}"
    );
    // Bounded by the stall: nothing waited much longer than it.
    assert!(ms(&["latency", "max_ms"]) < stall_ms + 250.0, "{summary:#}");
    // Requests due during the stall found no free connection: counted.
    assert!(summary["delayed"].as_u64().unwrap() > 300, "{summary:#}");
    // Outside the stall the target answers at once: the median is unaffected.
    assert!(ms(&["latency", "p50_ms"]) < 50.0, "{summary:#}");
    assert_eq!(summary["pacer"], "timerfd", "the pacer that ran is named");
}

#[test]
fn threads_share_the_schedule_and_send_all_of_it() {
    let server = Server::start(|_| Response::ok());
    let url = format!("{}/", server.url);
    for threads in ["1", "2"] {
        let out = support::firedrill(&[
            "load",
            &url,
            "--rate",
            "1000/s",
            "--duration",
            "1s",
            "--connections",
            "8",
            "--threads",
            threads,
            "--json",
        ]);
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            summary["threads"],
            threads.parse::<u64>().unwrap(),
            "{summary:#}"
        );
        assert_eq!(summary["counts"]["requests"], 1000, "{summary:#}");
        assert_eq!(summary["counts"]["status_2xx"], 1000, "{summary:#}");
        assert_eq!(summary["pacer"], "timerfd", "{summary:#}");
    }
}
