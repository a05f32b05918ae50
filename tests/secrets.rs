//! Credentials and TLS, against a real Prometheus that requires basic auth
//! over TLS and a target that records what it was sent: credentials come
//! from an environment variable or a file, are sent where they belong, and
//! appear in no output; certificates are verified unless the scenario says
//! otherwise, and the report says so.

use std::path::Path;

use crate::support::scenario::{Phase, Scenario};
use crate::support::{self, all_files, firedrill_env, RecordingTarget, TestPrometheus};

const TOKEN: &str = "firedrill-test-token-91c2e8";
const PASSWORD: &str = "firedrill-test-password-7f3a";
/// bcrypt of PASSWORD (cost 4), for Prometheus's web config.
const PASSWORD_HASH: &str = "$2b$04$5ZfwgxX/EoN6bVzreRY3wejbO7xKd10N/aJA5XVA/YvKOFQXVfcIC";

const CONFIG: &str =
    "global: { scrape_interval: 1s, evaluation_interval: 1s }\nrule_files: [\"{dir}/rules.yml\"]\n";
const RULES: &str = "groups:\n  - name: test\n    interval: 1s\n    rules:\n      - alert: NeverFires\n        expr: vector(0) > 1\n";

/// Prometheus over TLS with basic auth. Its certificate is issued by a CA
/// made for this test (`ca.pem` in its directory), as a real one would be.
fn secured_prometheus() -> TestPrometheus {
    let web = format!(
        "tls_server_config:\n  cert_file: {{dir}}/cert.pem\n  key_file: {{dir}}/key.pem\nbasic_auth_users:\n  firedrill: \"{PASSWORD_HASH}\"\n"
    );
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    support::issue_certificates(dir);
    let file = |name: &'static str| (name, std::fs::read(dir.join(name)).unwrap());
    TestPrometheus::start_with_files(
        CONFIG,
        RULES,
        &web,
        &[file("ca.pem"), file("cert.pem"), file("key.pem")],
    )
}

fn scenario(dir: &Path, target: &str, prometheus_port: u16, tls: &str) -> String {
    let password_file = dir.join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    Scenario::new("secrets")
        .target_url(target)
        .target("auth", "{ bearer_token_env: FIREDRILL_TEST_TOKEN }")
        .prometheus_url(&format!("https://127.0.0.1:{prometheus_port}"))
        .prometheus(
            "auth",
            format!(
                "{{ basic: {{ username: firedrill, password_file: {} }} }}",
                password_file.display()
            ),
        )
        .prometheus("tls", tls)
        .phase(
            Phase::new("traffic")
                .requests(1000)
                .concurrency(1)
                .pause("20ms")
                .duration("3s")
                .request("{ path: /predict, json: { request: { text: hi } } }"),
        )
        .phase(Phase::new("watch").duration("2s"))
        .check("{ alert: NeverFires, silent_during: traffic }")
        .check("{ slo: error_ratio, below: 1%, during: traffic, source: client }")
        .write(&dir.join("secrets.yaml"))
}

struct Outcome {
    code: Option<i32>,
    everything: String,
    report: Option<serde_json::Value>,
}

fn run(scenario: &str, out: &Path) -> Outcome {
    let output = firedrill_env(
        &["run", scenario, "--out", out.to_str().unwrap()],
        &[("FIREDRILL_TEST_TOKEN", TOKEN)],
    );
    let mut everything = String::from_utf8_lossy(&output.stdout).into_owned();
    everything.push_str(&String::from_utf8_lossy(&output.stderr));
    if out.exists() {
        for (path, text) in all_files(out) {
            everything.push_str(&format!("\n=== {}\n{text}", path.display()));
        }
    }
    let report = std::fs::read_to_string(out.join("report.json"))
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    Outcome {
        code: output.status.code(),
        everything,
        report,
    }
}

fn assert_no_secret(outcome: &Outcome) {
    for secret in [TOKEN, PASSWORD] {
        assert!(
            !outcome.everything.contains(secret),
            "a secret was printed or written:\n{}",
            outcome.everything
        );
    }
}

#[test]
fn credentials_are_sent_where_they_belong_and_written_nowhere() {
    let prometheus = secured_prometheus();
    let target = RecordingTarget::start();
    let dir = tempfile::tempdir().unwrap();
    let ca = prometheus.dir.path().join("ca.pem");
    let path = scenario(
        dir.path(),
        &target.url,
        prometheus.port,
        &format!("{{ ca_file: {} }}", ca.display()),
    );
    let outcome = run(&path, &dir.path().join("out"));
    assert_eq!(
        outcome.code,
        Some(0),
        "{}\n{}",
        outcome.everything,
        prometheus.log()
    );
    assert_no_secret(&outcome);

    let seen = target.authorizations.lock().unwrap().clone();
    assert!(seen.len() > 50, "{} requests", seen.len());
    let expected = format!("Bearer {TOKEN}");
    assert!(
        seen.iter().all(|a| a.as_deref() == Some(expected.as_str())),
        "{seen:?}"
    );

    let report = outcome.report.unwrap();
    let env = &report["environment"];
    assert!(
        env["prometheus_tls"]
            .as_str()
            .unwrap()
            .contains("verified against"),
        "{env}"
    );
    assert_eq!(
        env["target_auth"],
        "bearer token from environment variable FIREDRILL_TEST_TOKEN"
    );
    assert!(env["prometheus_auth"]
        .as_str()
        .unwrap()
        .starts_with("basic auth as `firedrill`"));
}

#[test]
fn an_unverifiable_certificate_is_refused_unless_the_scenario_says_so() {
    let prometheus = secured_prometheus();
    let target = RecordingTarget::start();
    let dir = tempfile::tempdir().unwrap();

    let strict = scenario(dir.path(), &target.url, prometheus.port, "{ }");
    let refused = run(&strict, &dir.path().join("strict"));
    assert_eq!(refused.code, Some(3), "{}", refused.everything);
    assert!(
        refused.everything.contains("certificate"),
        "{}",
        refused.everything
    );
    assert!(
        target.authorizations.lock().unwrap().is_empty(),
        "no traffic without Prometheus"
    );
    assert_no_secret(&refused);

    let insecure = scenario(
        dir.path(),
        &target.url,
        prometheus.port,
        "{ insecure_skip_verify: true }",
    );
    let accepted = run(&insecure, &dir.path().join("insecure"));
    assert_eq!(accepted.code, Some(0), "{}", accepted.everything);
    assert!(accepted
        .everything
        .contains("! Prometheus over https, certificate NOT VERIFIED"));
    let report = accepted.report.clone().unwrap();
    assert!(report["environment"]["prometheus_tls"]
        .as_str()
        .unwrap()
        .contains("NOT VERIFIED"));
    assert_no_secret(&accepted);
}

#[test]
fn a_wrong_password_is_inconclusive_and_not_printed() {
    let prometheus = secured_prometheus();
    let target = RecordingTarget::start();
    let dir = tempfile::tempdir().unwrap();
    let ca = prometheus.dir.path().join("ca.pem");
    let path = scenario(
        dir.path(),
        &target.url,
        prometheus.port,
        &format!("{{ ca_file: {} }}", ca.display()),
    );
    std::fs::write(dir.path().join("password"), "not-the-password\n").unwrap();
    let outcome = run(&path, &dir.path().join("out"));
    assert_eq!(outcome.code, Some(3), "{}", outcome.everything);
    assert!(outcome.everything.contains("401"), "{}", outcome.everything);
    assert!(!outcome.everything.contains("not-the-password"));
    assert_no_secret(&outcome);
}

#[test]
fn credentials_must_come_from_the_environment_or_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = Scenario::new("literal")
        .target_url("http://127.0.0.1:9")
        .prometheus_url("http://127.0.0.1:9")
        .phase(
            Phase::new("a")
                .requests(1)
                .request(r#"{ path: /, headers: { Authorization: "Bearer abc" } }"#),
        )
        .write(&dir.path().join("literal.yaml"));
    let out = firedrill_env(&["run", &path], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains(
            "phases[0].request.headers.authorization: `authorization` carries credentials"
        ),
        "{stderr}"
    );

    // The error's place (line 4, column 29) is the variable's name in the
    // builder's fixed layout: `target:`, `  base_url: ...`, `  auth: { ... }`.
    let unset = Scenario::new("unset")
        .target_url("http://127.0.0.1:9")
        .target("auth", "{ bearer_token_env: FIREDRILL_SURELY_UNSET }")
        .prometheus_url("http://127.0.0.1:9")
        .phase(Phase::new("a").duration("1s"))
        .write(&dir.path().join("unset.yaml"));
    let out = firedrill_env(&["run", &unset], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains(":4:29: target.auth.bearer_token_env: the environment variable `FIREDRILL_SURELY_UNSET` is not set"), "{stderr}");
}
