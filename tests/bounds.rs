//! Bounded everything: retries with backoff that give up, and answers read
//! up to a limit, so a slow, failing or hostile peer costs time that is
//! bounded and memory that is not its to take.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::firedrill_measured;
use crate::support::http::{Response, Server};
use crate::support::scenario::{Phase, Scenario};
use firedrill::prom::{PromClient, PromError, RetryPolicy};

const TIME_ANSWER: &str =
    r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000.5,"1700000000.5"]}}"#;

/// A whole JSON answer that ends its connection: every request comes on a
/// connection of its own.
fn answer(status: u16, body: &str) -> Response {
    Response::json(status, body).close()
}

fn fast_retries(url: &str) -> PromClient {
    PromClient::new(url).unwrap().with_retry(RetryPolicy {
        attempts: 3,
        first_backoff: Duration::from_millis(50),
    })
}

#[tokio::test]
async fn transient_errors_are_retried_with_backoff_and_counted() {
    let server = Server::start(|request| {
        if request.number < 2 {
            answer(503, "overloaded")
        } else {
            answer(200, TIME_ANSWER)
        }
    });
    let client = fast_retries(&server.url);
    assert_eq!(client.time().await.unwrap(), 1_700_000_000.5);
    assert_eq!(client.retries(), 2);
    assert_eq!(server.requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retries_give_up_and_refusals_are_not_retried() {
    let failing = Server::start(|_| answer(503, "down"));
    let client = fast_retries(&failing.url);
    let error = client.time().await.unwrap_err();
    assert!(
        matches!(error, PromError::Http { status: 503, .. }),
        "{error}"
    );
    assert!(error.is_unavailable(), "a 503 makes checks inconclusive");
    assert_eq!(
        failing.requests.load(Ordering::SeqCst),
        3,
        "bounded: three attempts"
    );

    let refusing = Server::start(|_| {
        answer(
            400,
            r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
        )
    });
    let client = fast_retries(&refusing.url);
    let error = client.query("sum(", None).await.unwrap_err();
    assert!(matches!(error, PromError::Api { .. }), "{error}");
    assert_eq!(
        refusing.requests.load(Ordering::SeqCst),
        1,
        "a refused query is not retried"
    );
}

#[tokio::test]
async fn an_endless_answer_is_cut_at_the_limit() {
    let hostile = Server::start(|_| Response::endless());
    let client = fast_retries(&hostile.url).with_max_response_bytes(1024 * 1024);
    let error = client.rules().await.unwrap_err();
    assert!(matches!(error, PromError::TooLarge { .. }), "{error}");
}

#[test]
fn a_hostile_target_cannot_take_memory_or_hang_the_run() {
    let hostile = Server::start(|_| Response::endless());
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::new("hostile")
        .time_scale(10)
        .phase(
            Phase::new("endless")
                .requests(4)
                .concurrency(2)
                .timeout("60s")
                .request("{ path: / }"),
        )
        .check("{ slo: error_ratio, below: 1%, during: endless, source: client }")
        .write(&dir.path().join("hostile.yaml"));
    let out = dir.path().join("out");
    let started = std::time::Instant::now();
    let (code, stderr, peak_mib) = firedrill_measured(&[
        "run",
        &scenario,
        "--target",
        &hostile.url,
        "--out",
        out.to_str().unwrap(),
    ]);
    // Each answer is cut at 16 MiB (then the connection is dropped), long
    // before the 60s timeout: the run ends, and its memory stays small
    // although the target would have sent forever. The peak counts the
    // embedded Prometheus too (wait4 includes waited-for children), which
    // scrapes the same endless /metrics: without its body_size_limit it
    // reached 7.4 GB here.
    assert!(started.elapsed() < Duration::from_secs(50), "{stderr}");
    assert!(peak_mib < 300.0, "peak RSS {peak_mib:.0} MiB");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let counts = &report["observations"]["phases"][0]["stats"]["counts"];
    assert_eq!(counts["other_errors"], 4, "{counts}");
    assert_eq!(
        code, 1,
        "every request failed, so the error-ratio check fails: {stderr}"
    );
}

#[test]
fn a_hostile_prometheus_cannot_take_memory() {
    let hostile = Server::start(|request| {
        if request.path.contains("/-/ready") {
            answer(200, "ready")
        } else {
            Response::endless()
        }
    });
    let target = Server::start(|_| answer(200, "ok"));
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::new("hostile-prometheus")
        .target_url(&target.url)
        .prometheus_url(&hostile.url)
        .phase(Phase::new("a").requests(5).request("{ path: / }"))
        .write(&dir.path().join("p.yaml"));
    let out = dir.path().join("out");
    let (code, stderr, peak_mib) =
        firedrill_measured(&["run", &scenario, "--out", out.to_str().unwrap()]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("more than 67108864 bytes"), "{stderr}");
    // The answer is read up to 64 MiB and no further.
    assert!(peak_mib < 200.0, "peak RSS {peak_mib:.0} MiB");
    assert!(
        out.join("report.json").is_file(),
        "the report is still written"
    );
}
