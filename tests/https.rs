//! HTTPS targets: TLS through rustls, HTTP/2 when ALPN agrees. The server is
//! a real Prometheus serving TLS (Go's server offers h2), with a certificate
//! from a CA made for the test.

use crate::support::scenario::{Phase, Scenario};
use crate::support::{self, TestPrometheus};
use serde_json::Value;

fn tls_prometheus() -> TestPrometheus {
    let certs = tempfile::tempdir().unwrap();
    support::issue_certificates(certs.path());
    let file = |name: &'static str| (name, std::fs::read(certs.path().join(name)).unwrap());
    TestPrometheus::start_with_files(
        "global: { scrape_interval: 1s }\n",
        "groups: []\n",
        "tls_server_config:\n  cert_file: {dir}/cert.pem\n  key_file: {dir}/key.pem\n",
        &[file("ca.pem"), file("cert.pem"), file("key.pem")],
    )
}

fn load(args: &[&str]) -> (Option<i32>, Value, String) {
    let mut all = vec!["load"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = support::firedrill(&all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let summary = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code(), summary, stderr)
}

#[test]
fn https_targets_speak_http2_and_verify_the_certificate() {
    let prometheus = tls_prometheus();
    let url = format!("https://127.0.0.1:{}/-/healthy", prometheus.port);
    let ca = prometheus.dir.path().join("ca.pem");
    let ca = ca.to_str().unwrap();

    // Closed model: every request answered, over HTTP/2 connections only.
    let (code, summary, stderr) = load(&[&url, "--cacert", ca, "-c", "4", "-n", "200"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(summary["counts"]["status_2xx"], 200, "{summary:#}");
    assert_eq!(summary["connections_opened"]["http1"], 0, "{summary:#}");
    assert_eq!(summary["connections_opened"]["http2"], 4, "{summary:#}");

    // Open model over the same.
    let (code, summary, stderr) = load(&[&url, "--cacert", ca, "--rate", "200/s", "-d", "2s"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(summary["counts"]["status_2xx"], 400, "{summary:#}");

    // A certificate nobody vouches for is refused: no answers, exit 3.
    let (code, summary, _) = load(&[&url, "-c", "1", "-n", "5"]);
    assert_eq!(code, Some(3), "{summary:#}");
    assert_eq!(summary["counts"]["connect_errors"], 5, "{summary:#}");

    // Unless told otherwise, knowingly.
    let (code, summary, stderr) = load(&[&url, "-k", "-c", "1", "-n", "5"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(summary["counts"]["status_2xx"], 5, "{summary:#}");
}

/// A scenario whose target is https: the load goes over TLS, and the
/// embedded Prometheus scrapes the target over TLS too (scheme, CA and server
/// name in its generated config). GatewayDown (`absent(up{job="api-gateway"}
/// == 1)`, `for: 1m`, scaled to 6 s) would fire within the 2-minute phase
/// (12 s scaled) if those scrapes failed.
#[test]
fn a_scenario_with_an_https_target_is_loaded_and_scraped_over_tls() {
    let prometheus = tls_prometheus();
    let dir = tempfile::tempdir().unwrap();
    let ca = prometheus.dir.path().join("ca.pem");
    let scenario = Scenario::new("https-target")
        .time_scale(10)
        .target_url(&format!("https://localhost:{}", prometheus.port))
        .target("tls", format!("{{ ca_file: {} }}", ca.display()))
        .phase(
            Phase::new("traffic")
                .duration("2m")
                .rate("20/s")
                .request("{ path: /-/healthy }"),
        )
        .check("{ alert: GatewayDown, silent_during: traffic }")
        .check("{ slo: error_ratio, below: 1%, during: traffic, source: client }")
        .write(&dir.path().join("https.yaml"));
    let run = support::run_scenario(&scenario, &["--quiet"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    let report = run.report();
    assert!(
        report["environment"]["target_tls"]
            .as_str()
            .unwrap()
            .contains("verified against"),
        "{:#}",
        report["environment"]
    );
    let counts = &report["observations"]["phases"][0]["stats"]["counts"];
    assert_eq!(counts["status_2xx"], counts["requests"], "{counts}");
    let connections = &report["observations"]["phases"][0]["stats"]["connections"];
    assert!(connections["http2"].as_u64().unwrap() > 0, "{connections}");
}
