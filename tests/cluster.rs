//! Kubernetes, against a mock API server that answers with realistic JSON:
//! services found through the API, the backend scaled to zero as a fault (and
//! restored — the drill the seed's stack needs most), RBAC denials and
//! missing objects as clear errors, `doctor`, and `deploy`.

use crate::support::kube::{status, MockApi};
use crate::support::scenario::{Phase, Scenario, PREDICT};
use crate::support::{self, firedrill, http, prometheus_for, DemoGateway, TestPrometheus};
use serde_json::json;

fn port_of(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().parse().unwrap()
}

/// A cluster whose api-gateway-service and prometheus Services are the
/// demo gateway and a test Prometheus, and whose sentiment-api Deployment,
/// scaled to zero, takes the demo's model backend down.
fn cluster(demo: &DemoGateway, prometheus: &TestPrometheus) -> MockApi {
    let api = MockApi::start();
    api.service("api-gateway-service", port_of(&demo.gateway));
    api.service("prometheus", prometheus.port);
    let admin = demo.admin.clone();
    api.deployment(
        "sentiment-api",
        2,
        Some(Box::new(move |replicas| {
            let body = format!("{{\"backend_down\": {}}}", replicas == 0);
            http::send("PUT", format!("{admin}/faults"), Some(&body))
                .expect("the fault admin answers");
        })),
    );
    api
}

/// The backend scaled to zero through the API for the middle phase; both
/// alerts fire, and resolve once it is scaled back.
fn scenario(dir: &std::path::Path) -> String {
    Scenario::new("backend-down")
        .target("kubernetes", "{ service: api-gateway-service, port: http }")
        .prometheus("kubernetes", "{ service: prometheus }")
        .phase(
            Phase::new("healthy")
                .duration("10s")
                .rate("20/s")
                .request(PREDICT),
        )
        .phase(
            Phase::new("backend-down")
                .duration("20s")
                .rate("20/s")
                .request(PREDICT)
                .fault("{ kubernetes: { scale: { deployment: sentiment-api, replicas: 0 } } }"),
        )
        .phase(
            Phase::new("recovery")
                .duration("25s")
                .rate("20/s")
                .request(PREDICT),
        )
        .check("{ alert: GatewayHighErrorRate, silent_during: healthy }")
        .check("{ alert: GatewayHighErrorRate, fires_within: 15s, after: backend-down.start }")
        .check("{ alert: MLServiceDown, fires_within: 15s, after: backend-down.start }")
        .check("{ alert: GatewayHighErrorRate, resolves_within: 22s, after: recovery.start }")
        .check("{ alert: MLServiceDown, resolves_within: 22s, after: recovery.start }")
        .write(&dir.join("cluster.yaml"))
}

#[test]
fn scaling_the_backend_to_zero_fires_both_alerts_and_restoring_resolves_them() {
    let demo = DemoGateway::start();
    let prometheus = prometheus_for(&demo);
    let api = cluster(&demo, &prometheus);
    prometheus.wait_until_scraping();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(dir.path());
    let path = scenario(dir.path());
    let out = dir.path().join("out");
    let run = firedrill(&[
        "run",
        &path,
        "--quiet",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        report["environment"]["target_url"], demo.gateway,
        "found through the API"
    );
    assert_eq!(report["environment"]["kind"], "kubernetes");
    let down = &report["observations"]["phases"][1]["stats"]["counts"];
    assert!(
        down["status_5xx"].as_u64().unwrap() > 300,
        "the backend was down: {down}"
    );

    // Scaled to zero, then back to the two replicas it had.
    let patches: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert_eq!(patches.len(), 2, "{patches:#?}");
    for (patch, replicas) in patches.iter().zip([0, 2]) {
        assert_eq!(
            patch.path,
            "/apis/apps/v1/namespaces/default/deployments/sentiment-api/scale"
        );
        assert_eq!(patch.content_type, "application/merge-patch+json");
        assert_eq!(
            patch.query.get("fieldManager").map(String::as_str),
            Some("firedrill")
        );
        let body: serde_json::Value = serde_json::from_str(&patch.body).unwrap();
        assert_eq!(body, json!({"spec": {"replicas": replicas}}));
    }
    assert_eq!(demo.faults()["backend_down"], false);
}

#[test]
fn an_rbac_denial_stops_the_drill_with_the_permission_to_grant() {
    let demo = DemoGateway::start();
    let prometheus = prometheus_for(&demo);
    let api = cluster(&demo, &prometheus);
    api.route(
        "PATCH",
        "/apis/apps/v1/namespaces/default/deployments/sentiment-api/scale",
        403,
        status(403, "Forbidden", "deployments.apps \"sentiment-api\" is forbidden: User \"system:serviceaccount:default:firedrill\" cannot patch resource \"deployments/scale\" in API group \"apps\" in the namespace \"default\""),
    );
    prometheus.wait_until_scraping();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(dir.path());
    let out = dir.path().join("out");
    let run = firedrill(&[
        "run",
        &scenario(dir.path()),
        "--quiet",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("forbidden by RBAC"), "{stderr}");
    assert!(
        stderr.contains("grant `patch` on `deployments/scale`"),
        "{stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["status"]["status"], "aborted");
    assert_eq!(
        report["observations"]["phases"].as_array().unwrap().len(),
        2,
        "stopped at the fault's phase"
    );
}

#[test]
fn missing_objects_are_named() {
    let api = MockApi::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(dir.path());
    let path = Scenario::new("missing")
        .target("kubernetes", "{ service: nope }")
        .prometheus("kubernetes", "{ service: prometheus }")
        .phase(Phase::new("a").duration("1s"))
        .write(&dir.path().join("missing.yaml"));
    api.route(
        "GET",
        "/api/v1/namespaces/default/services/nope",
        404,
        status(404, "NotFound", "services \"nope\" not found"),
    );
    let run = firedrill(&[
        "run",
        &path,
        "--quiet",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(
            "get service `nope` in namespace `default`: not found: services \"nope\" not found"
        ),
        "{stderr}"
    );

    let deploy_missing = firedrill(&[
        "deploy",
        "k8s/monitoring",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&deploy_missing.stderr);
    assert_ne!(deploy_missing.status.code(), Some(0));
    assert!(
        stderr.contains("discover v1"),
        "discovery is answered 404 here: {stderr}"
    );
}

#[test]
fn doctor_names_what_is_wrong_and_how_to_fix_it() {
    let demo = DemoGateway::start();
    let prometheus = prometheus_for(&demo);
    // The demo's request counter has series once Prometheus's own scrapes
    // have been counted and scraped.
    prometheus.wait_for("gateway_http_requests_total");
    let api = MockApi::start();
    let pod = |name: &str, annotations: serde_json::Value| {
        json!({"metadata": {"name": name, "namespace": "default", "labels": {"app": "api-gateway"}, "annotations": annotations},
               "spec": {"containers": [{"name": "gateway", "image": "x"}]},
               "status": {"phase": "Running", "podIP": "127.0.0.1"}})
    };
    let port = port_of(&demo.gateway).to_string();
    api.on(move |r| {
        (r.method == "GET"
            && r.path == "/api/v1/namespaces/default/pods"
            && r.query.get("labelSelector").map(String::as_str) == Some("app=api-gateway"))
        .then(|| {
            (200, json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": [
                pod("api-gateway-1", json!({"prometheus.io/scrape": "true", "prometheus.io/port": port, "prometheus.io/path": "/metrics"})),
                pod("api-gateway-2", json!({}))
            ]}))
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(dir.path());
    let prometheus_url = prometheus.url();
    let run = firedrill(&[
        "doctor",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--prometheus",
        &prometheus_url,
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for line in [
        "ok    Prometheus is ready",
        "ok    alert rules are loaded and healthy",
        "ok    pod api-gateway-1 is annotated for scraping",
        "FAIL  pod api-gateway-2 is annotated for scraping",
        "fix: kubectl patch deployment",
        "ok    pod api-gateway-1 is scraped",
        "ok    the gateway's metrics exist",
    ] {
        assert!(stdout.contains(line), "`{line}` in:\n{stdout}");
    }

    api.route(
        "GET",
        "/api/v1/namespaces/default/pods",
        403,
        status(403, "Forbidden", "pods is forbidden: User \"system:serviceaccount:default:firedrill\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""),
    );
    let denied = firedrill(&[
        "doctor",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--prometheus",
        &prometheus_url,
    ]);
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert_eq!(denied.status.code(), Some(3));
    assert!(stderr.contains("grant `list` on `pods`"), "{stderr}");
}

#[test]
fn deploy_applies_the_monitoring_stack_server_side_and_waits_for_the_rollout() {
    let api = MockApi::start();
    let resources = |group_version: &str, list: serde_json::Value| json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list});
    let resource = |name: &str, kind: &str, namespaced: bool| json!({"name": name, "singularName": name.trim_end_matches('s'), "namespaced": namespaced, "kind": kind, "verbs": ["create", "get", "list", "patch"]});
    api.route(
        "GET",
        "/api/v1",
        200,
        resources(
            "v1",
            json!([
                resource("configmaps", "ConfigMap", true),
                resource("services", "Service", true),
                resource("serviceaccounts", "ServiceAccount", true)
            ]),
        ),
    );
    api.route(
        "GET",
        "/apis/apps/v1",
        200,
        resources(
            "apps/v1",
            json!([resource("deployments", "Deployment", true)]),
        ),
    );
    api.route(
        "GET",
        "/apis/rbac.authorization.k8s.io/v1",
        200,
        resources(
            "rbac.authorization.k8s.io/v1",
            json!([
                resource("clusterroles", "ClusterRole", false),
                resource("clusterrolebindings", "ClusterRoleBinding", false)
            ]),
        ),
    );
    // Server-side apply answers with the object it was sent.
    api.on(|r| {
        (r.method == "PATCH").then(|| (200, serde_json::from_str(&r.body).unwrap_or_default()))
    });
    api.deployment("prometheus", 1, None);
    // k8s/monitoring/alertmanager.yaml's Deployment rolls out too.
    api.deployment("alertmanager", 1, None);

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(dir.path());
    let run = firedrill(&[
        "deploy",
        "k8s/monitoring",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("applied ConfigMap default/prometheus-rules"),
        "{stdout}"
    );
    assert!(
        stdout.contains("applied ClusterRole prometheus"),
        "{stdout}"
    );
    assert!(stdout.contains("rolled out"), "{stdout}");
    let applies: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    // 8 objects of Prometheus and Grafana, 3 of the Alertmanager.
    assert_eq!(
        applies.len(),
        11,
        "every object of k8s/monitoring: {applies:#?}"
    );
    for apply in &applies {
        assert_eq!(apply.content_type, "application/apply-patch+yaml");
        assert_eq!(
            apply.query.get("fieldManager").map(String::as_str),
            Some("firedrill")
        );
        assert_eq!(apply.query.get("force").map(String::as_str), Some("true"));
    }
    assert!(applies
        .iter()
        .any(|a| a.path == "/apis/rbac.authorization.k8s.io/v1/clusterroles/prometheus"));
}

#[test]
fn the_in_cluster_scenarios_are_valid() {
    let text =
        std::fs::read_to_string(support::repo().join("k8s/harness/scenarios-configmap.yaml"))
            .unwrap();
    let configmap: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let data = configmap["data"].as_object().unwrap();
    assert!(data.contains_key("nightly.yaml"));
    let dir = tempfile::tempdir().unwrap();
    for (name, scenario) in data {
        let path = dir.path().join(name);
        std::fs::write(&path, scenario.as_str().unwrap()).unwrap();
        let out = firedrill(&["validate", path.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn doctor_checks_the_alertmanager_and_lists_its_silences() {
    let alertmanager = support::TestAlertmanager::start(
        &std::fs::read_to_string(support::repo().join("tests/alertmanager/foreign.yml")).unwrap(),
    );
    let id = alertmanager.silence(
        json!([{ "name": "alertname", "value": "GatewayHighErrorRate", "isRegex": false, "isEqual": true }]),
        "ops@example",
        "gateway maintenance",
    );
    let demo = DemoGateway::start();
    let prometheus = support::prometheus_alerting(&demo, &alertmanager);
    let without = prometheus_for(&demo);
    let api = MockApi::start();
    api.route(
        "GET",
        "/api/v1/namespaces/default/pods",
        200,
        json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": []}),
    );
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(dir.path());
    let doctor = |url: &str| {
        let out = firedrill(&[
            "doctor",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--prometheus",
            url,
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    // Prometheus reads its configuration's Alertmanagers within a second.
    let started = std::time::Instant::now();
    let mut stdout = doctor(&prometheus.url());
    while !stdout.contains("ok    Prometheus sends its alerts to an Alertmanager")
        && started.elapsed().as_secs() < 20
    {
        std::thread::sleep(std::time::Duration::from_millis(500));
        stdout = doctor(&prometheus.url());
    }
    for line in [
        "ok    Prometheus sends its alerts to an Alertmanager",
        &format!("ok    Alertmanager {} answers", alertmanager.url()),
        &format!("ok    active silence {id}"),
        "gateway maintenance",
    ] {
        assert!(stdout.contains(line), "`{line}` in:\n{stdout}");
    }
    let stdout = doctor(&without.url());
    assert!(
        stdout.contains("FAIL  Prometheus sends its alerts to an Alertmanager"),
        "{stdout}"
    );
    assert!(
        stdout.contains("k8s/monitoring/alertmanager.yaml"),
        "{stdout}"
    );
}
