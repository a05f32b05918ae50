//! Why the load engine uses hyper's connection API and not reqwest: the same
//! closed loop (32 tasks on a 2-thread tokio runtime, each POSTing back to
//! back for 5 s) through reqwest's pooled client and through one hyper
//! HTTP/1.1 connection per task. Prints requests/s and requests per
//! CPU-second of this process for each. `scripts/bench-compare` runs it.
//!
//!     cargo run --release --example client_choice -- http://127.0.0.1:8080/predict

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

const TASKS: usize = 32;
const RUN: Duration = Duration::from_secs(5);
const BODY: &str = r#"{"request": {"text": "Go is amazing!"}}"#;

fn cpu_seconds() -> f64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

async fn with_reqwest(url: &str) -> u64 {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(TASKS)
        .build()
        .unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + RUN;
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (client, url, done) = (client.clone(), url.to_string(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < end {
                    let response = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(BODY)
                        .send()
                        .await
                        .expect("reqwest request");
                    response.bytes().await.expect("reqwest body");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    done.load(Ordering::Relaxed)
}

async fn with_hyper(url: &str) -> u64 {
    let uri: hyper::Uri = url.parse().unwrap();
    let authority = uri.authority().unwrap().to_string();
    let path = uri.path().to_string();
    let done = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + RUN;
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (authority, path, done) = (authority.clone(), path.clone(), done.clone());
            tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(&authority)
                    .await
                    .expect("connect");
                stream.set_nodelay(true).unwrap();
                let (mut sender, connection) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream))
                        .await
                        .expect("handshake");
                tokio::spawn(connection);
                while Instant::now() < end {
                    let request = hyper::Request::post(path.as_str())
                        .header("host", authority.as_str())
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from_static(BODY.as_bytes())))
                        .unwrap();
                    let response = sender.send_request(request).await.expect("hyper request");
                    response.into_body().collect().await.expect("hyper body");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    done.load(Ordering::Relaxed)
}

fn main() {
    let url = std::env::args()
        .nth(1)
        .expect("usage: client_choice http://127.0.0.1:PORT/path");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("| client | req/s | req per CPU-s |\n|---|---:|---:|");
    let mut results = Vec::new();
    for (name, hyper) in [
        ("reqwest 0.12 (pooled Client)", false),
        ("hyper 1 (conn per task)", true),
    ] {
        let (cpu, started) = (cpu_seconds(), Instant::now());
        let requests = runtime.block_on(async {
            if hyper {
                with_hyper(&url).await
            } else {
                with_reqwest(&url).await
            }
        });
        let (cpu, wall) = (cpu_seconds() - cpu, started.elapsed().as_secs_f64());
        println!(
            "| {name} | {:.0} | {:.0} |",
            requests as f64 / wall,
            requests as f64 / cpu
        );
        results.push(requests as f64 / cpu);
        std::thread::sleep(Duration::from_secs(1));
    }
    println!(
        "\nhyper ÷ reqwest, requests per CPU-second: {:.2}",
        results[1] / results[0]
    );
}
