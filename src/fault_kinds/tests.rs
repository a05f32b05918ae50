//! The kinds' plans as report.json keeps them, and `fault:` as a scenario
//! writes it.

use std::time::Duration;

use super::*;

/// report.json's `plan.phases[].fault`, one of each kind, as written
/// before the kinds had modules of their own: old reports read back.
#[test]
fn each_fault_kind_keeps_its_json() {
    let call = |url: &str| HttpCall {
        method: "PUT".into(),
        url: url.into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: b"{}".to_vec(),
    };
    let cases = [
        (
            FaultPlan::Demo(DemoFaults {
                backend_error_ratio: 0.5,
                backend_latency: Duration::from_millis(250),
                memory_hog: 0.9,
                ..DemoFaults::default()
            }),
            r#"{"kind":"demo","backend_error_ratio":0.5,"backend_latency_ms":250,"backend_down":false,"gateway_down":false,"memory_hog":0.9,"cpu_burn":0.0}"#,
        ),
        (
            FaultPlan::Http(HttpFault {
                start: call("http://127.0.0.1:1/start"),
                restore: call("http://127.0.0.1:1/stop"),
            }),
            r#"{"kind":"http","start":{"method":"PUT","url":"http://127.0.0.1:1/start","headers":[["content-type","application/json"]],"body":"{}"},"restore":{"method":"PUT","url":"http://127.0.0.1:1/stop","headers":[["content-type","application/json"]],"body":"{}"}}"#,
        ),
        (
            FaultPlan::Exec(ExecFault {
                start: vec!["touch".into(), "/tmp/x".into()],
                restore: vec!["rm".into(), "/tmp/x".into()],
            }),
            r#"{"kind":"exec","start":["touch","/tmp/x"],"restore":["rm","/tmp/x"]}"#,
        ),
        (
            FaultPlan::Kubernetes(Kubernetes::Scale {
                deployment: "sentiment-api".into(),
                namespace: None,
                replicas: 0,
            }),
            r#"{"kind":"scale","deployment":"sentiment-api","namespace":null,"replicas":0}"#,
        ),
        (
            FaultPlan::Kubernetes(Kubernetes::DeletePods {
                namespace: Some("ml".into()),
                selector: Some("app=sentiment-api".into()),
                name: None,
            }),
            r#"{"kind":"delete_pods","namespace":"ml","selector":"app=sentiment-api","name":null}"#,
        ),
    ];
    for (plan, json) in cases {
        assert_eq!(serde_json::to_string(&plan).unwrap(), json);
        assert_eq!(serde_json::from_str::<FaultPlan>(json).unwrap(), plan);
    }
    // A report written before the memory hog and the CPU burn.
    let old = r#"{"kind":"demo","backend_error_ratio":0.5,"backend_latency_ms":0,"backend_down":false,"gateway_down":false}"#;
    assert_eq!(
        serde_json::from_str::<FaultPlan>(old).unwrap(),
        FaultPlan::Demo(DemoFaults {
            backend_error_ratio: 0.5,
            ..DemoFaults::default()
        })
    );
}

/// `fault:` read and validated as a phase of an embedded run reads it.
fn read(yaml: &str) -> (Option<FaultPlan>, Vec<String>) {
    let spec: FaultSpec = serde_norway::from_str(yaml).unwrap();
    let limits = ContainerLimits::default();
    let setting = Setting {
        embedded: Some(&limits),
        max_timeout: Duration::from_secs(3600),
    };
    let mut v = Validator::default();
    let plan = validate(&spec, &FieldPath::root().key("fault"), &setting, &mut v);
    let problems = v
        .into_problems()
        .into_iter()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect();
    (plan, problems)
}

#[test]
fn each_kind_is_said_by_its_keys() {
    let (plan, problems) = read("{ backend_down: true, cpu_burn: 50% }");
    assert_eq!(
        plan,
        Some(FaultPlan::Demo(DemoFaults {
            backend_down: true,
            cpu_burn: 0.5,
            ..DemoFaults::default()
        }))
    );
    assert!(problems.is_empty(), "{problems:?}");
    let (plan, _) = read("{ exec: { start: [touch, x], restore: [rm, x] } }");
    assert_eq!(plan.map(|p| p.describe()).as_deref(), Some("exec touch x"));
    let (plan, _) = read("{ kubernetes: { delete_pod: { name: api-0 } } }");
    assert!(plan.is_some_and(|p| p.needs_cluster()));
    let (plan, _) = read("{ http: { start: { method: PUT, url: 'http://127.0.0.1:1/a' }, restore: { url: 'http://127.0.0.1:1/b' } } }");
    assert_eq!(
        plan.map(|p| p.describe()).as_deref(),
        Some("http PUT http://127.0.0.1:1/a")
    );
}

#[test]
fn one_kind_at_a_time_and_an_empty_fault_is_the_demos() {
    let (plan, problems) = read("{ backend_down: true, exec: { start: [a], restore: [b] } }");
    assert_eq!(plan, None);
    assert_eq!(
        problems,
        ["fault: choose one kind of fault: the demo gateway's, `http`, `exec` or `kubernetes`"]
    );
    let (plan, problems) = read("{}");
    assert_eq!(plan, None);
    assert_eq!(
        problems,
        [
            "fault: an empty fault: set backend_error_ratio, backend_latency, backend_down, \
          gateway_down, memory_hog, cpu_burn or http"
        ]
    );
    let (_, problems) = read("{ kubernetes: {} }");
    assert_eq!(
        problems,
        ["fault.kubernetes: a kubernetes fault is one of `scale` or `delete_pod`"]
    );
}

#[test]
fn keys_are_read_as_serde_derives_them() {
    let unknown = serde_norway::from_str::<FaultSpec>("{ backend_down: true, backend_dwn: true }")
        .unwrap_err()
        .to_string();
    assert!(
        unknown.starts_with("unknown field `backend_dwn`, expected one of `backend_error_ratio`"),
        "{unknown}"
    );
    let bad = serde_norway::from_str::<FaultSpec>("{ memory_hog: -5% }")
        .unwrap_err()
        .to_string();
    assert!(
        bad.starts_with("memory_hog: ratio `-5%`: must be between 0 and 1"),
        "{bad}"
    );
    let twice = serde_norway::from_str::<FaultSpec>("{ gateway_down: true, gateway_down: false }");
    assert!(twice.is_err());
    let null: FaultSpec = serde_norway::from_str("{ backend_down: ~ }").unwrap();
    assert_eq!(null, FaultSpec::default());
}
