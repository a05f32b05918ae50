use std::path::Path;
use std::time::Duration;

use super::*;
use crate::checks::kinds::fires_within::FiresWithin;
use crate::checks::kinds::latency::Latency;
use crate::plan::{Anchor, CheckKind, LoadModel, PrometheusPlan, Source, TargetPlan};

fn plan(text: &str) -> Plan {
    parse(text, Path::new("s.yaml"), &Overrides::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// The problems, as `line:column field: message` lines.
fn problems(text: &str) -> Vec<Problem> {
    match parse(text, Path::new("s.yaml"), &Overrides::default()) {
        Ok(_) => panic!("expected the scenario to be refused"),
        Err(ScenarioError::Invalid { problems, .. }) => problems,
        Err(other) => panic!("unexpected error {other}"),
    }
}

const BASE: &str = "name: t\nphases:\n  - name: a\n    duration: 1m\n    rate: 10/s\n    request: { path: /predict, json: { request: { text: hi } } }\n";

#[test]
fn a_minimal_scenario_runs_on_the_embedded_default() {
    let p = plan(BASE);
    assert_eq!(
        p.target,
        TargetPlan::Embedded {
            limits: crate::plan::ContainerLimits::default()
        }
    );
    assert!(matches!(p.prometheus, PrometheusPlan::Embedded { .. }));
    let phase = &p.phases[0];
    assert_eq!(
        phase.requests[0].request.method, "POST",
        "a body implies POST"
    );
    assert!(phase.requests[0]
        .request
        .headers
        .contains(&("content-type".into(), "application/json".into())));
    assert_eq!(phase.timeout, Duration::from_secs(10));
}

#[test]
fn time_scale_divides_durations_and_deadlines_not_rates() {
    let text = format!(
        "{BASE}time_scale: 10\nchecks:\n  - {{ alert: A, fires_within: 30s, after: a.start }}\n"
    );
    let p = plan(&text);
    match &p.phases[0].model {
        LoadModel::Open { rate, duration, .. } => {
            assert_eq!(*duration, Duration::from_secs(6));
            assert_eq!(rate.from, 10.0);
        }
        other => panic!("{other:?}"),
    }
    match &p.checks[0].kind {
        CheckKind::FiresWithin(FiresWithin {
            deadline, anchor, ..
        }) => {
            assert_eq!(*deadline, Duration::from_secs(3));
            assert_eq!(*anchor, Anchor::PhaseStart { phase: 0 });
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn slo_checks_expand_to_one_check_per_source() {
    let text =
        format!("{BASE}checks:\n  - {{ slo: latency, quantile: p99, below: 300ms, during: a }}\n");
    let p = plan(&text);
    assert_eq!(p.checks.len(), 2);
    assert_eq!(p.checks[0].id, "checks[0].client");
    assert!(matches!(
        p.checks[1].kind,
        CheckKind::Latency(Latency { source: Source::Prometheus, quantile, .. }) if quantile == 0.99
    ));
}

#[test]
fn syntax_errors_name_line_and_column() {
    let found = problems("name: t\nphases: [\n");
    assert_eq!(found.len(), 1);
    assert!(found[0].position.line >= 2, "{found:?}");
}

#[test]
fn type_errors_name_the_field() {
    let text = BASE.replace("rate: 10/s", "rate: 10");
    let found = problems(&text);
    assert_eq!(found[0].field, "phases[0].rate", "{found:?}");
    assert!(found[0].message.contains("needs a unit"), "{found:?}");
    assert_eq!(found[0].position.line, 5);
}

#[test]
fn unknown_fields_are_refused() {
    let text = BASE.replace("rate: 10/s", "rate: 10/s\n    rat: 5/s");
    let found = problems(&text);
    assert!(
        found[0].message.contains("unknown field `rat`"),
        "{found:?}"
    );
}

#[test]
fn every_validation_problem_is_reported_at_once_with_its_place() {
    let text = "name: t\nphases:\n  - name: a\n    duration: 1m\n    rate: 0/s\n    request: { path: predict }\n  - name: a\n    duration: 1m\nchecks:\n  - { alert: A, silent_during: nope }\n  - { alert: A, fires_within: 5m, after: a.start }\n  - { slo: latency, below: 1s, during: a }\n";
    let found = problems(text);
    let fields: Vec<&str> = found.iter().map(|p| p.field.as_str()).collect();
    assert!(fields.contains(&"phases[0].rate"), "{found:#?}");
    assert!(fields.contains(&"phases[0].request.path"), "{found:#?}");
    assert!(
        fields.contains(&"phases[1].name"),
        "duplicate name: {found:#?}"
    );
    assert!(fields.contains(&"checks[0].silent_during"), "{found:#?}");
    assert!(fields.contains(&"checks[2].quantile"), "{found:#?}");
    let rate = found.iter().find(|p| p.field == "phases[0].rate").unwrap();
    assert_eq!((rate.position.line, rate.position.column), (5, 11));
    let unknown = found
        .iter()
        .find(|p| p.field == "checks[0].silent_during")
        .unwrap();
    assert!(
        unknown.message.contains("no phase named `nope`"),
        "{unknown:?}"
    );
    assert_eq!(unknown.position.line, 10);
}

#[test]
fn a_deadline_past_the_end_of_the_run_is_refused() {
    let text = format!("{BASE}checks:\n  - {{ alert: A, fires_within: 2m, after: a.start }}\n");
    let found = problems(&text);
    assert_eq!(found[0].field, "checks[0].fires_within");
    assert!(
        found[0].message.contains("after the run's last phase"),
        "{found:?}"
    );
}

#[test]
fn demo_faults_need_the_embedded_target_and_time_scale_the_embedded_prometheus() {
    let text = format!(
        "{}target: {{ base_url: http://127.0.0.1:9 }}\nprometheus: {{ url: http://127.0.0.1:9090 }}\ntime_scale: 5\n",
        BASE.replace(
            "    request:",
            "    fault: { backend_error_ratio: 10% }\n    request:"
        )
    );
    let found = problems(&text);
    let fields: Vec<&str> = found.iter().map(|p| p.field.as_str()).collect();
    assert!(fields.contains(&"phases[0].fault"), "{found:#?}");
    assert!(fields.contains(&"time_scale"), "{found:#?}");
}

#[test]
fn the_rendered_error_reads_file_line_column_field_message() {
    let text = BASE.replace("rate: 10/s", "rate: -1/s");
    let err = parse(&text, Path::new("scenarios/x.yaml"), &Overrides::default()).unwrap_err();
    let rendered = err.to_string();
    assert!(
        rendered.starts_with("scenarios/x.yaml:5:11: phases[0].rate:"),
        "{rendered}"
    );
}

#[test]
fn overrides_replace_target_and_prometheus() {
    let overrides = Overrides {
        target_url: Some("http://127.0.0.1:8080".into()),
        prometheus_url: Some("http://127.0.0.1:9090".into()),
        time_scale: None,
    };
    let p = parse(BASE, Path::new("s.yaml"), &overrides).unwrap();
    assert_eq!(
        p.target,
        TargetPlan::Url {
            base_url: "http://127.0.0.1:8080".into(),
            metrics_path: "/metrics".into(),
            auth: None,
            tls: Default::default(),
        }
    );
    assert_eq!(
        p.prometheus,
        PrometheusPlan::Url {
            url: "http://127.0.0.1:9090".into(),
            auth: None,
            tls: Default::default(),
        }
    );
}

#[test]
fn every_shipped_scenario_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            load(&path, &Overrides::default()).unwrap_or_else(|e| panic!("{e}"));
            count += 1;
        }
    }
    assert!(count >= 5, "found {count} scenarios");
}

/// A small deterministic generator (xorshift64*), so the fuzz test below is
/// the same on every run and every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Fragments that are meaningful to this format, so mutations reach deep
/// into validation, not only the YAML parser.
const FRAGMENTS: &[&str] = &[
    "0",
    "-1",
    "1e309",
    "NaN",
    "0/s",
    "10",
    "10/s",
    "-5/s",
    "1d",
    "0s",
    "99999999999999999999",
    "p100",
    "p0",
    "150%",
    "~",
    "null",
    "[]",
    "{}",
    "\"\"",
    "'",
    "\"",
    ":",
    "- ",
    "  ",
    "\t",
    "#",
    "&a",
    "*a",
    "!!binary",
    "condition",
    "nope.start",
    "healthy.end",
    "\u{0}",
    "é",
    "\u{202e}",
    "rate:",
    "duration:",
    "requests:",
    "fault:",
    "checks:",
    "phases:",
    "{ from: 1/s, to: 0/s }",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for _ in 0..=rng.below(3) {
        let i = rng.below(lines.len());
        match rng.below(6) {
            0 if !lines.is_empty() => {
                lines.remove(i);
            }
            1 if !lines.is_empty() => {
                let copy = lines[i].clone();
                lines.insert(rng.below(lines.len()), copy);
            }
            2 => {
                // Replace a value after a colon.
                if let Some(line) = lines.get_mut(i) {
                    if let Some(colon) = line.find(": ") {
                        line.truncate(colon + 2);
                        line.push_str(FRAGMENTS[rng.below(FRAGMENTS.len())]);
                    }
                }
            }
            3 => {
                if let Some(line) = lines.get_mut(i) {
                    let at = rng.below(line.len() + 1);
                    if line.is_char_boundary(at) {
                        line.insert_str(at, FRAGMENTS[rng.below(FRAGMENTS.len())]);
                    }
                }
            }
            4 => {
                if let Some(line) = lines.get_mut(i) {
                    let keep = rng.below(line.len() + 1);
                    if line.is_char_boundary(keep) {
                        line.truncate(keep);
                    }
                }
            }
            _ => lines.truncate(i),
        }
    }
    lines.join("\n")
}

#[test]
fn mutated_scenarios_never_panic_and_every_error_is_located() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            sources.push(std::fs::read_to_string(&path).unwrap());
        }
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut refused, mut accepted) = (0, 0);
    for round in 0..4000 {
        let source = &sources[round % sources.len()];
        let text = mutate(source, &mut rng);
        let line_count = text.lines().count().max(1);
        let result = std::panic::catch_unwind(|| {
            parse(&text, Path::new("fuzz.yaml"), &Overrides::default())
        });
        match result {
            Err(_) => panic!("the parser panicked on:\n{text}"),
            Ok(Ok(_)) => accepted += 1,
            Ok(Err(ScenarioError::Invalid { problems, .. })) => {
                refused += 1;
                assert!(!problems.is_empty(), "{text}");
                for p in &problems {
                    assert!(!p.message.trim().is_empty(), "empty message for:\n{text}");
                    assert!(!p.field.is_empty(), "no field named: {p:?}\n{text}");
                    assert!(
                        p.position.line >= 1 && p.position.line <= line_count + 1,
                        "line {} outside the file ({line_count} lines): {p:?}\n{text}",
                        p.position.line
                    );
                    assert!(p.position.column >= 1, "{p:?}");
                }
            }
            Ok(Err(other)) => panic!("unexpected error kind {other}"),
        }
    }
    eprintln!("fuzz: {refused} refused, {accepted} accepted, 0 panics");
    // The mutations must exercise both outcomes, or the test proves little.
    assert!(
        refused > 1000 && accepted > 100,
        "refused {refused}, accepted {accepted}"
    );
}

#[test]
fn https_targets_take_tls_settings_and_only_url_targets_do() {
    let p = plan(&format!(
        "{BASE}target: {{ base_url: https://127.0.0.1:8443, tls: {{ insecure_skip_verify: true }} }}\nprometheus: {{ url: http://127.0.0.1:9090 }}\n"
    ));
    let TargetPlan::Url { base_url, tls, .. } = &p.target else {
        panic!("{:?}", p.target)
    };
    assert_eq!(base_url, "https://127.0.0.1:8443");
    assert!(tls.insecure_skip_verify);

    let found = problems(&format!(
        "{BASE}target: {{ embedded: true, tls: {{ insecure_skip_verify: true }} }}\n"
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].field, "target.tls");
    assert!(
        found[0].message.contains("applies to a `base_url` target"),
        "{found:?}"
    );
}

#[test]
fn a_key_that_does_not_go_with_the_checks_kind_is_refused_naming_the_kinds_it_goes_with() {
    let text = format!(
        "{BASE}checks:\n  - {{ alert: A, silent_during: a, after: a.start }}\n  - {{ alert: A, fires_within: 1m, silent_during: a }}\n  - {{ slo: error_ratio, below: 1%, during: a, quantile: p95 }}\n"
    );
    let found = problems(&text);
    let at = |field: &str| {
        found
            .iter()
            .find(|p| p.field == field)
            .unwrap_or_else(|| panic!("no problem at {field}: {found:#?}"))
    };
    assert!(
        at("checks[0].after")
            .message
            .contains("does not go with `silent_during` (it goes with `fires_within`"),
        "{found:#?}"
    );
    assert!(
        at("checks[1]")
            .message
            .contains("`fires_within` and `silent_during`"),
        "{found:#?}"
    );
    assert!(
        at("checks[2].quantile")
            .message
            .contains("it goes with `slo: latency`"),
        "{found:#?}"
    );
}
