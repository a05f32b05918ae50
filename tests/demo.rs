//! The demo gateway behaves like the seed's Go gateway: routes, status
//! codes, metric names, labels and default buckets, and faults switched at
//! run time (in-process and through the admin API).

use std::net::SocketAddr;

use std::sync::Arc;

use firedrill::demo::{DemoConfig, DemoStack, Faults};
use firedrill::faults::{self, FaultContext, Injected};
use firedrill::plan::{DemoFaults, FaultPlan};

async fn post(client: &reqwest::Client, url: &str, body: &str, json: bool) -> u16 {
    let mut request = client.post(url).body(body.to_string());
    if json {
        request = request.header("content-type", "application/json");
    }
    request
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

const VALID: &str = r#"{"request": {"text": "Go is amazing!"}}"#;

#[tokio::test]
async fn routes_status_codes_and_the_seeds_metrics() {
    let stack = DemoStack::start(DemoConfig::default()).unwrap();
    let base = format!("http://{}", stack.gateway_addr());
    let client = reqwest::Client::new();

    let health: serde_json::Value = client
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["backend"], "ok");

    let answer: serde_json::Value = client
        .post(format!("{base}/predict"))
        .header("content-type", "application/json")
        .body(VALID)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["sentiment"], "POSITIVE");
    assert_eq!(
        post(&client, &format!("{base}/predict"), "invalid json", false).await,
        400
    );
    let batch = r#"{"request": {"texts": ["good", "not good"]}}"#;
    assert_eq!(
        post(&client, &format!("{base}/batch_predict"), batch, true).await,
        200
    );
    let get = client.get(format!("{base}/predict")).send().await.unwrap();
    assert_eq!(get.status().as_u16(), 405);
    let missing = client.get(format!("{base}/nope")).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);

    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"gateway_http_requests_total{endpoint="/predict",method="POST",status="200"} 1"#,
        r#"gateway_http_requests_total{endpoint="/predict",method="POST",status="400"} 1"#,
        r#"gateway_http_requests_total{endpoint="/predict",method="GET",status="405"} 1"#,
        r#"gateway_backend_requests_total{endpoint="/predict",status="200"} 1"#,
        r#"gateway_backend_requests_total{endpoint="/predict",status="400"} 1"#,
        r#"gateway_http_request_duration_seconds_count{endpoint="/predict",method="POST"} 2"#,
        r#"gateway_backend_request_duration_seconds_count{endpoint="/predict"} 2"#,
    ] {
        assert!(metrics.contains(line), "missing `{line}` in\n{metrics}");
    }
    // Go's prometheus.DefBuckets, in order.
    let buckets: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("gateway_http_request_duration_seconds_bucket{endpoint=\"/predict\",method=\"POST\""))
        .filter_map(|l| l.split("le=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(
        buckets,
        ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]
    );
}

/// The demo's faults injected the way a drill injects them.
async fn inject(stack: &Arc<DemoStack>, faults: DemoFaults) -> Injected {
    let context = FaultContext {
        demo: Some(stack.clone()),
        ..FaultContext::default()
    };
    faults::inject(&FaultPlan::Demo(faults), &context)
        .await
        .unwrap()
}

#[tokio::test]
async fn faults_switch_at_run_time_and_the_guard_restores_health() {
    let stack = DemoStack::start(DemoConfig::default()).unwrap();
    let url = format!("http://{}/predict", stack.gateway_addr());
    let client = reqwest::Client::new();

    {
        let _guard = inject(
            &stack,
            DemoFaults {
                backend_error_ratio: 0.5,
                ..DemoFaults::default()
            },
        )
        .await;
        let mut codes = Vec::new();
        for _ in 0..10 {
            codes.push(post(&client, &url, VALID, true).await);
        }
        assert_eq!(codes.iter().filter(|c| **c == 500).count(), 5, "{codes:?}");
    }
    assert_eq!(
        post(&client, &url, VALID, true).await,
        200,
        "restored on drop"
    );

    {
        let _guard = inject(
            &stack,
            DemoFaults {
                backend_down: true,
                ..DemoFaults::default()
            },
        )
        .await;
        assert_eq!(post(&client, &url, VALID, true).await, 503);
        let metrics = client
            .get(format!("http://{}/metrics", stack.gateway_addr()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics
            .contains(r#"gateway_backend_requests_total{endpoint="/predict",status="error"} 1"#));
    }

    let guard = inject(
        &stack,
        DemoFaults {
            gateway_down: true,
            ..DemoFaults::default()
        },
    )
    .await;
    assert_eq!(
        post(&client, &url, VALID, true).await,
        0,
        "connection refused"
    );
    guard.restore().await.unwrap();
    assert_eq!(post(&client, &url, VALID, true).await, 200);
}

#[tokio::test]
async fn the_admin_api_sets_and_clears_faults() {
    let stack = DemoStack::start(DemoConfig::default()).unwrap();
    let admin = stack
        .start_admin(SocketAddr::from(([127, 0, 0, 1], 0)))
        .unwrap();
    let faults = format!("http://{}/faults", admin.addr());
    let url = format!("http://{}/predict", stack.gateway_addr());
    let client = reqwest::Client::new();

    let set = client
        .put(&faults)
        .body(r#"{"backend_error_ratio": 1.0}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(set.status().as_u16(), 200);
    assert_eq!(post(&client, &url, VALID, true).await, 500);
    let bad = client
        .put(&faults)
        .body(r#"{"backend_error_ratio": 2}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let unknown = client
        .put(&faults)
        .body(r#"{"chaos": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 400);
    client.delete(&faults).send().await.unwrap();
    assert_eq!(post(&client, &url, VALID, true).await, 200);
    let now: Faults = client
        .get(&faults)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now, Faults::default());
}
