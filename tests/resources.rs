//! The resource alerts on the embedded default: the demo's container series
//! (cAdvisor's names and labels, the process's real memory and CPU against
//! its configured limits), the memory hog and the CPU burn that raise them
//! for real and are always given back, `scenarios/resources.yaml` drilled
//! end to end, and bad values refused with their place.
//!
//! The in-process tests measure this very process (/proc/self): nextest
//! runs each test in a process of its own.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use firedrill::cluster::ClusterOptions;
use firedrill::demo::{DemoConfig, DemoStack, Limits, CPU_BURN_THREAD};
use firedrill::env::Environment;
use firedrill::faults::{self, FaultContext, Injected};
use firedrill::plan::{DemoFaults, FaultPlan};
use firedrill::prom::{Point, PromClient, QueryResult, Sample};
use firedrill::scenario::{self, Overrides};

use crate::support::{self, firedrill, run_scenario};

const MIB: f64 = (1 << 20) as f64;

/// VmRSS of a process, in bytes, as /proc/<pid>/status shows it.
fn rss_of(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status");
    kib * 1024.0
}

/// Threads of a process named as the CPU burn names its own.
fn burn_threads_of(pid: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim() == CPU_BURN_THREAD)
        .count()
}

async fn inject(stack: &Arc<DemoStack>, faults: DemoFaults) -> Injected {
    let context = FaultContext {
        demo: Some(stack.clone()),
        ..FaultContext::default()
    };
    faults::inject(&FaultPlan::Demo(faults), &context)
        .await
        .unwrap()
}

/// Waits until the process's resident set satisfies `holds` (the kernel
/// gives back unmapped pages at once, but /proc's counters may lag a little).
fn wait_for_rss(pid: &str, holds: impl Fn(f64) -> bool) -> f64 {
    let started = Instant::now();
    loop {
        let rss = rss_of(pid);
        if holds(rss) || started.elapsed() > Duration::from_secs(5) {
            return rss;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hog_and_the_burn_are_given_back_on_restore_and_when_their_guard_is_dropped() {
    let limits = Limits {
        memory_bytes: 256 << 20,
        cpu_cores: 0.5,
    };
    let stack = DemoStack::start(DemoConfig {
        limits,
        ..DemoConfig::default()
    })
    .unwrap();
    let before = rss_of("self");
    assert_eq!(burn_threads_of("self"), 0);
    let stress = DemoFaults {
        memory_hog: 0.9,
        cpu_burn: 0.9,
        ..DemoFaults::default()
    };
    let target = 0.9 * 256.0 * MIB;

    // Restored at the end of the phase.
    let guard = inject(&stack, stress.clone()).await;
    let held = rss_of("self");
    assert!(
        (held - target).abs() < 4.0 * MIB,
        "working set {:.1} MiB, asked for {:.1} MiB",
        held / MIB,
        target / MIB
    );
    assert!(burn_threads_of("self") > 0);
    guard.restore().await.unwrap();
    let after = wait_for_rss("self", |rss| rss < before + 16.0 * MIB);
    assert!(
        after < before + 16.0 * MIB,
        "{:.1} → {:.1} → {:.1} MiB",
        before / MIB,
        held / MIB,
        after / MIB
    );
    assert_eq!(burn_threads_of("self"), 0, "the burn's threads are joined");
    assert_eq!((stack.hog_bytes(), stack.burn_threads()), (0, 0));

    // Dropped without `restore` (a phase left by an error or a signal).
    let guard = inject(&stack, stress).await;
    assert!(rss_of("self") > target - 4.0 * MIB);
    assert!(burn_threads_of("self") > 0);
    drop(guard);
    let after = wait_for_rss("self", |rss| rss < before + 16.0 * MIB);
    assert!(after < before + 16.0 * MIB, "{:.1} MiB", after / MIB);
    assert_eq!(burn_threads_of("self"), 0);
}

/// The one sample `query` returns, or the test fails saying what came back.
async fn one_sample(prometheus: &PromClient, query: &str) -> Sample {
    match prometheus.query(query, None).await.unwrap() {
        QueryResult::Vector(mut samples) if samples.len() == 1 => samples.remove(0),
        other => panic!("`{query}` should return one series, got {other:?}"),
    }
}

/// What an alert of the shipped rules compares with its threshold.
fn compared_value(alert: &str) -> String {
    let groups = firedrill::rules::shipped_rules().unwrap();
    let rule = groups
        .iter()
        .flat_map(|l| l.groups.iter())
        .flat_map(|g| g.rules.iter())
        .find(|r| r.alert.as_deref() == Some(alert))
        .unwrap_or_else(|| panic!("{alert} is a shipped rule"));
    match promql_parser::parser::parse(&rule.expr).unwrap() {
        promql_parser::parser::Expr::Binary(comparison) => comparison.lhs.to_string(),
        other => panic!("{alert}: `value > threshold`, not {other}"),
    }
}

/// The first scrape of `selector` after `since` (Prometheus time, seconds):
/// its own timestamp and value, as stored.
async fn scraped_after(prometheus: &PromClient, selector: &str, since: f64) -> Point {
    let started = Instant::now();
    loop {
        let last = match prometheus
            .query(&format!("{selector}[1m]"), None)
            .await
            .unwrap()
        {
            QueryResult::Matrix(series) if series.len() == 1 => series[0].values.last().copied(),
            other => panic!("`{selector}` should be one series, got {other:?}"),
        };
        if let Some(point) = last.filter(|p| p.t > since) {
            return point;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no scrape of {selector}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_container_series_exist_on_the_embedded_default_and_track_the_process() {
    support::require_prometheus();
    let text = "name: series\ntime_scale: 10\ntarget: { limits: { memory: 256Mi, cpu: 500m } }\n\
                phases:\n  - { name: idle, duration: 1m }\n";
    let plan = scenario::parse(
        text,
        std::path::Path::new("series.yaml"),
        &Overrides::default(),
    )
    .unwrap();
    let env = Environment::prepare(&plan, &ClusterOptions::default())
        .await
        .unwrap();
    let prometheus = &env.prometheus;
    let stack = env.demo().expect("the embedded demo").clone();
    let pod = stack.pod().to_string();
    let working_set = format!(
        "container_memory_working_set_bytes{{job=\"kubernetes-cadvisor\",namespace=\"default\",pod=\"{pod}\",container=\"gateway\"}}"
    );

    // The series carry cAdvisor's names and the pod's labels, the limits
    // configured, and the process's own resident set.
    let limit = one_sample(prometheus, "container_spec_memory_limit_bytes").await;
    assert_eq!(limit.value.v, 256.0 * MIB);
    assert_eq!(limit.metric["pod"], pod);
    let quota = one_sample(
        prometheus,
        "container_spec_cpu_quota / container_spec_cpu_period",
    )
    .await;
    assert_eq!(quota.value.v, 0.5);
    let scraped = scraped_after(prometheus, &working_set, now()).await.v;
    let rss = rss_of("self");
    assert!(
        (scraped - rss).abs() < 2.0 * MIB + 0.05 * rss,
        "series {:.1} MiB, /proc {:.1} MiB",
        scraped / MIB,
        rss / MIB
    );

    let guard = hog_and_burn_show_in_the_series(prometheus, &stack, &working_set).await;
    guard.restore().await.unwrap();
    rules_check_finds_the_container_series(prometheus.base_url());
}

/// The hog raises the working set for real, the burn makes the CPU seconds
/// climb, and both alerts' expressions join the series into one for the pod.
async fn hog_and_burn_show_in_the_series(
    prometheus: &PromClient,
    stack: &Arc<DemoStack>,
    working_set: &str,
) -> Injected {
    let pod = stack.pod();
    let guard = inject(
        stack,
        DemoFaults {
            memory_hog: 0.95,
            cpu_burn: 0.95,
            ..DemoFaults::default()
        },
    )
    .await;
    let hogged = scraped_after(prometheus, working_set, now()).await.v;
    let rss = rss_of("self");
    assert!(
        (hogged - 0.95 * 256.0 * MIB).abs() < 4.0 * MIB && (hogged - rss).abs() < 4.0 * MIB,
        "series {:.1} MiB, /proc {:.1} MiB, asked for 243.2 MiB",
        hogged / MIB,
        rss / MIB
    );
    let cpu = format!("container_cpu_usage_seconds_total{{pod=\"{pod}\"}}");
    let first = scraped_after(prometheus, &cpu, now()).await;
    let last = scraped_after(prometheus, &cpu, first.t + 3.0).await;
    let cores = (last.v - first.v) / (last.t - first.t);
    // Loose: the cores are shared with whatever else runs on the machine.
    assert!(
        cores > 0.2,
        "the burn used {cores:.2} cores, asked for 0.475"
    );

    // Both alerts' expressions (as shipped: the CPU's 5m window holds only
    // seconds of the burn yet) join the series into one for the pod.
    let memory = one_sample(prometheus, &compared_value("HighMemoryUsage")).await;
    assert_eq!(memory.metric["pod"], pod);
    assert!(
        memory.value.v > 0.9,
        "working set / limit {}",
        memory.value.v
    );
    let cpu = one_sample(prometheus, &compared_value("HighCPUUsage")).await;
    assert_eq!(cpu.metric["pod"], pod);
    assert!(cpu.value.v > 0.0, "rate / quota {}", cpu.value.v);
    guard
}

/// `rules check`'s live series check finds the container series.
fn rules_check_finds_the_container_series(prometheus: &str) {
    let out = firedrill(&[
        "rules",
        "check",
        "k8s/monitoring",
        "--prometheus",
        prometheus,
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let missing: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "series/missing")
        .collect();
    assert!(
        missing
            .iter()
            .all(|f| !f["reason"].as_str().unwrap_or("").contains("container_")),
        "{missing:#?}"
    );
    // The check did ask: with no traffic yet, the backend's series are not there.
    assert!(
        missing.iter().any(|f| f["reason"]
            .as_str()
            .unwrap_or("")
            .contains("gateway_backend_")),
        "{missing:#?}"
    );
}

#[test]
fn the_resources_drill_passes_and_both_alerts_fire_then_resolve() {
    support::require_prometheus();
    let run = run_scenario("scenarios/resources.yaml", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Silent while healthy, fired within their deadlines, resolved.
    for check in 0..6 {
        let id = format!("checks[{check}]");
        assert_eq!(run.status_of(&id), "pass", "{id}: {}", run.stderr);
    }
    assert!(
        run.stderr
            .contains("fault: memory hog to 95% of the limit, CPU burn to 100% of the limit"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_drill_gives_the_memory_back_and_stops_the_burn() {
    support::require_prometheus();
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("pressure.yaml");
    std::fs::write(
        &scenario,
        "name: pressure\ntime_scale: 10\ntarget: { limits: { memory: 256Mi, cpu: 500m } }\n\
         phases:\n  - { name: pressure, duration: 10m, fault: { memory_hog: 90%, cpu_burn: 90% } }\n",
    )
    .unwrap();
    let before = rss_of("self");
    let args = firedrill::commands::run::RunArgs {
        scenario,
        target: None,
        prometheus: None,
        time_scale: None,
        out: Some(dir.path().join("report")),
        reports_root: dir.path().to_path_buf(),
        quiet: true,
        shard: None,
        metrics_addr: None,
        push_gateway: None,
        client: firedrill::load::Client::Lean,
        pacing: firedrill::load::Pacing::Timerfd,
        threads: None,
        baseline: None,
        baseline_last: None,
        keep_reports: None,
    };
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(async move {
        firedrill::commands::run::run(&args, &ClusterOptions::default(), shutdown).await
    });
    let started = Instant::now();
    while burn_threads_of("self") == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "no burn began");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let held = wait_for_rss("self", |rss| rss > 0.85 * 256.0 * MIB);
    assert!(held > 0.85 * 256.0 * MIB, "{:.1} MiB", held / MIB);
    stop.send(true).unwrap();
    let outcome = run.await.unwrap().unwrap();
    assert_eq!(outcome.exit_code(), 3, "interrupted");
    assert_eq!(burn_threads_of("self"), 0, "no burn thread is left");
    let after = wait_for_rss("self", |rss| rss < before + 32.0 * MIB);
    assert!(
        after < before + 32.0 * MIB,
        "{:.1} → {:.1} → {:.1} MiB",
        before / MIB,
        held / MIB,
        after / MIB
    );
}

#[test]
fn demo_gateway_runs_the_resource_faults_through_its_admin_api() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(["demo-gateway", "--port", "0", "--memory-limit", "256Mi"])
        .args(["--cpu-limit", "500m"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .take(4)
        .map(Result::unwrap)
        .collect();
    let url = |prefix: &str| {
        let line = lines.iter().find(|l| l.starts_with(prefix)).unwrap();
        line.split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap()
            .to_string()
    };
    let (admin, cadvisor) = (url("fault admin:"), url("cAdvisor:"));
    let series = || support::http::get(&cadvisor).unwrap().body;
    assert!(
        series().contains("container_spec_memory_limit_bytes{container=\"gateway\",namespace=\"default\",pod=\"api-gateway-demo-"),
        "{}",
        series()
    );
    let put = |body: &str| support::http::send("PUT", &admin, Some(body)).unwrap();
    let refused = put(r#"{"memory_hog": 1.5}"#);
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(refused.body.contains("memory_hog must be between 0 and 1"));

    let before = rss_of(&pid);
    assert_eq!(put(r#"{"memory_hog": 0.9, "cpu_burn": 0.9}"#).status, 200);
    let held = rss_of(&pid);
    assert!(
        (held - 0.9 * 256.0 * MIB).abs() < 4.0 * MIB,
        "{:.1} MiB",
        held / MIB
    );
    assert!(burn_threads_of(&pid) > 0);
    let reported: f64 = series()
        .lines()
        .find(|l| l.starts_with("container_memory_working_set_bytes{"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap();
    assert!((reported - held).abs() < 4.0 * MIB, "{reported} vs {held}");

    let restored = support::http::send("DELETE", &admin, None).unwrap();
    assert_eq!(restored.status, 200);
    let after = wait_for_rss(&pid, |rss| rss < before + 16.0 * MIB);
    assert!(after < before + 16.0 * MIB, "{:.1} MiB", after / MIB);
    assert_eq!(burn_threads_of(&pid), 0);
    let _ = child.kill();
    let _ = child.wait();
}

/// A scenario with one embedded phase whose fault and limits are given.
fn scenario_with(limits: &str, fault: &str) -> String {
    format!(
        "name: bad\ntarget: {{ limits: {limits} }}\nphases:\n  - name: p\n    duration: 1m\n    rate: 1/s\n    request: {{ path: /health }}\n    fault: {fault}\n"
    )
}

#[test]
fn bad_limits_and_resource_faults_are_refused_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            scenario_with("{ memory: 2Gi }", "{ memory_hog: 95% }"),
            "8:26: phases[0].fault.memory_hog: memory_hog 95% of the 2Gi limit could take 1.9Gi, above the 1Gi a hog may take",
        ),
        (
            scenario_with("{ memory: 256Mi }", "{ memory_hog: -5% }"),
            "8:26: phases[0].fault.memory_hog: ratio `-5%`: must be between 0 and 1",
        ),
        (
            scenario_with("{ memory: 256Mi }", "{ memory_hog: 150% }"),
            "8:26: phases[0].fault.memory_hog: ratio `150%`: must be between 0 and 1",
        ),
        (
            scenario_with("{ cpu: 500m }", "{ cpu_burn: lots }"),
            "8:24: phases[0].fault.cpu_burn: ratio `lots` is not a number or a percentage",
        ),
        (
            scenario_with("{ cpu: 1000 }", "{ cpu_burn: 50% }"),
            "8:24: phases[0].fault.cpu_burn: cpu_burn 50% of a 1000-core limit needs 500 cores",
        ),
        (
            scenario_with("{ memory: 256 }", "{ memory_hog: 50% }"),
            "2:29: target.limits.memory: a memory limit of 256 is out of bounds",
        ),
        (
            scenario_with("{ cpu: 0 }", "{ cpu_burn: 50% }"),
            "2:26: target.limits.cpu: `0`: must be more than 0 cores",
        ),
        (
            scenario_with("{ memory: 256Mi }", "{ memory_hog: 0% }"),
            "8:26: phases[0].fault.memory_hog: memory_hog is a share of the limit above 0%",
        ),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad-{i}.yaml"));
        std::fs::write(&path, text).unwrap();
        let out = firedrill(&["validate", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}\n{stderr}");
        let expected = format!("{}:{expected}", path.display());
        assert!(
            stderr.contains(&expected),
            "expected `{expected}` in:\n{stderr}"
        );
    }
    // Limits are the embedded demo's.
    let path = dir.path().join("url.yaml");
    std::fs::write(
        &path,
        "name: bad\ntarget: { base_url: http://127.0.0.1:1, limits: { memory: 256Mi } }\n\
         phases:\n  - { name: p, duration: 1m, rate: 1/s, request: { path: /health } }\n",
    )
    .unwrap();
    let out = firedrill(&["validate", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("target.limits: `limits` are the embedded demo's"),
        "{stderr}"
    );
}
