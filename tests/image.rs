//! The runtime image of the in-cluster jobs: laid out once (`image/layout`),
//! by `scripts/build-image` and by the Dockerfile alike, named as the
//! manifests in `k8s/harness/` name it — and built here, loaded back from
//! its archives and run: as user 65532, every directory of the image
//! mounted read-only, writing only to its `/reports` and `/tmp` volumes. It
//! validates the in-cluster scenarios and runs a real drill against a demo
//! gateway and a Prometheus on the host's loopback (buildah's chroot
//! isolation shares the host's network), and finds its CA certificates.
//!
//! No container engine runs here (`podman run` cannot set rlimits in this
//! sandbox); `buildah run --isolation=chroot` runs the image's argv without
//! a shell, which the image does not have.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::buildah::{require, run_in, text, tree, Store, Tree, Volumes};
use crate::support::scenario::{Phase, Scenario, PREDICT};
use crate::support::{self, prometheus_for, repo, DemoGateway, TestPrometheus};

/// `image/layout`, read as `scripts/build-image` reads it.
#[derive(Debug, Default)]
struct Layout {
    name: String,
    user: String,
    workdir: String,
    entrypoint: String,
    cmd: String,
    labels: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
    binary: String,
    copies: Vec<(String, String)>,
}

fn layout() -> Layout {
    let text = std::fs::read_to_string(repo().join("image/layout")).unwrap();
    let mut layout = Layout::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once(char::is_whitespace)
            .unwrap_or_else(|| panic!("image/layout: `{line}` has no value"));
        let value = value.trim().to_string();
        let pair = |v: &str, at: char| {
            let (a, b) = v.split_once(at).unwrap();
            (a.trim().to_string(), b.trim().to_string())
        };
        match key {
            "name" => layout.name = value,
            "user" => layout.user = value,
            "workdir" => layout.workdir = value,
            "entrypoint" => layout.entrypoint = value,
            "cmd" => layout.cmd = value,
            "binary" => layout.binary = value,
            "label" => {
                let (k, v) = pair(&value, '=');
                layout.labels.insert(k, v);
            }
            "env" => {
                let (k, v) = pair(&value, '=');
                layout.env.insert(k, v);
            }
            "copy" => layout.copies.push(pair(&value, ' ')),
            other => panic!("image/layout: unknown key `{other}`"),
        }
    }
    layout
}

/// The image the script tags: the layout's name and the crate's version.
fn image_name() -> String {
    format!("{}:{}", layout().name, env!("CARGO_PKG_VERSION"))
}

/// Splits a Dockerfile argument list on blanks outside double quotes,
/// dropping the quotes (`a="b c" d` → `a=b c`, `d`).
fn words(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let (mut word, mut quoted, mut any) = (String::new(), false, false);
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    found.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        found.push(word);
    }
    found
}

/// The Dockerfile's last stage: its base and instructions, continuation
/// lines joined, comments dropped.
fn runtime_stage() -> (String, Vec<(String, String)>) {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(&format!("{part} ")),
            None => {
                current.push_str(line);
                let full = std::mem::take(&mut current);
                if let Some((word, rest)) = full.split_once(char::is_whitespace) {
                    instructions.push((word.to_uppercase(), rest.trim().to_string()));
                }
            }
        }
    }
    let last_from = instructions
        .iter()
        .rposition(|(word, _)| word == "FROM")
        .expect("the Dockerfile has a FROM");
    let base = instructions[last_from].1.clone();
    (base, instructions.split_off(last_from + 1))
}

#[test]
fn the_dockerfile_lays_the_image_out_as_the_layout_says() {
    let layout = layout();
    let (base, stage) = runtime_stage();
    // PATH and SSL_CERT_FILE come from this base; the script sets the
    // layout's `env` itself.
    assert!(
        base.starts_with("gcr.io/distroless/cc-debian12"),
        "the layout's env is distroless's: {base}"
    );
    assert_eq!(
        layout.env["PATH"],
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    );
    assert_eq!(
        layout.env["SSL_CERT_FILE"],
        "/etc/ssl/certs/ca-certificates.crt"
    );
    let one = |word: &str| {
        let found: Vec<&String> = stage
            .iter()
            .filter(|(w, _)| w == word)
            .map(|(_, a)| a)
            .collect();
        assert_eq!(found.len(), 1, "{word}: {found:?}");
        found[0].clone()
    };
    let json = |text: String| -> Vec<String> { serde_json::from_str(&text).unwrap() };
    assert_eq!(one("USER"), layout.user);
    assert_eq!(one("WORKDIR"), layout.workdir);
    assert_eq!(json(one("ENTRYPOINT")), vec![layout.entrypoint.clone()]);
    assert_eq!(json(one("CMD")), vec![layout.cmd.clone()]);
    assert!(
        stage.iter().all(|(w, _)| w != "ENV"),
        "ENV would override the base's"
    );

    let mut labels = BTreeMap::new();
    let mut copies = Vec::new();
    let mut binary = Vec::new();
    for (word, args) in &stage {
        match word.as_str() {
            "LABEL" => {
                for pair in words(args) {
                    let (k, v) = pair.split_once('=').unwrap();
                    labels.insert(k.to_string(), v.to_string());
                }
            }
            "COPY" => {
                let parts = words(args);
                let (dest, sources) = parts.split_last().unwrap();
                match sources.first().filter(|s| s.starts_with("--from=")) {
                    Some(_) => binary.push(dest.clone()),
                    None => {
                        assert_eq!(sources.len(), 1, "{args}");
                        copies.push((sources[0].clone(), dest.clone()));
                    }
                }
            }
            _ => {}
        }
    }
    assert_eq!(labels, layout.labels);
    assert_eq!(binary, vec![layout.binary.clone()]);
    assert_eq!(copies, layout.copies);
}

/// Every pod template in `k8s/harness/`, with its firedrill container.
fn firedrill_pods() -> Vec<(String, serde_json::Value)> {
    fn walk(value: &serde_json::Value, file: &str, found: &mut Vec<(String, serde_json::Value)>) {
        if let Some(containers) = value.get("containers").and_then(|c| c.as_array()) {
            if containers.iter().any(|c| c["name"] == "firedrill") {
                found.push((file.to_string(), value.clone()));
            }
        }
        match value {
            serde_json::Value::Object(map) => map.values().for_each(|v| walk(v, file, found)),
            serde_json::Value::Array(list) => list.iter().for_each(|v| walk(v, file, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(repo().join("k8s/harness"))
        .unwrap()
        .flatten()
    {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            for document in serde_norway::Deserializer::from_str(&text) {
                let value: serde_json::Value = serde::Deserialize::deserialize(document).unwrap();
                walk(&value, &path.display().to_string(), &mut found);
            }
        }
    }
    found
}

#[test]
fn the_manifests_run_the_image_the_script_builds_and_give_it_time_to_report() {
    let pods = firedrill_pods();
    assert_eq!(pods.len(), 4, "cronjob, job, sharded job, merge job");
    for (file, pod) in &pods {
        let container = pod["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "firedrill")
            .unwrap();
        assert_eq!(container["image"], image_name().as_str(), "{file}");
        assert_eq!(container["imagePullPolicy"], "IfNotPresent", "{file}");
        assert_eq!(pod["securityContext"]["runAsUser"], 65532, "{file}");
        assert_eq!(
            container["securityContext"]["readOnlyRootFilesystem"], true,
            "{file}"
        );
        // A drill's pod: sized in the README from the measured time a
        // SIGTERM takes to restore, report and push (Kubernetes' default of
        // 30 s is not assumed).
        if container["command"][1] == "run" {
            assert_eq!(pod["terminationGracePeriodSeconds"], 60, "{file}");
        }
    }
}

// ---- the image, built and run ----

/// Builds the image with the script, from the binary this `cargo test`
/// built (a release build would add minutes to CI); returns the archives'
/// directory.
fn build_image(store: &Store) -> PathBuf {
    require("mmdebstrap", "mmdebstrap");
    require("buildah", "buildah");
    require("objcopy", "binutils");
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "scripts/build-image needs root (mmdebstrap's root mode): run the tests as root"
    );
    let out = store.path().join("archives");
    let started = std::time::Instant::now();
    let built = Command::new(repo().join("scripts/build-image"))
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_firedrill"))
        .arg("--storage")
        .arg(store.path().join("build"))
        .arg("--out")
        .arg(&out)
        .current_dir(repo())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(built.status.success(), "scripts/build-image: {stderr}");
    eprintln!(
        "scripts/build-image: {:.1}s\n{stderr}",
        started.elapsed().as_secs_f64()
    );
    out
}

/// Loads an archive into `store` as `podman load` would; the config it
/// carries must be the layout's.
fn load_back(store: &Store, archive: &str) {
    let loaded = store.ok(&["pull", "--quiet", archive]);
    assert!(!loaded.is_empty(), "{archive}: no image id");
    let images = store.ok(&["images", "--format", "{{.Name}}:{{.Tag}}"]);
    assert!(
        images.lines().any(|i| i == image_name()),
        "{archive}: {images}"
    );
    let config = store.config(&image_name());
    let layout = layout();
    assert_eq!(config["User"], layout.user.as_str(), "{archive}");
    assert_eq!(config["WorkingDir"], layout.workdir.as_str());
    assert_eq!(config["Entrypoint"], serde_json::json!([layout.entrypoint]));
    assert_eq!(config["Cmd"], serde_json::json!([layout.cmd]));
    for (key, value) in &layout.labels {
        assert_eq!(config["Labels"][key], value.as_str(), "{archive}: {key}");
    }
    let env: Vec<String> = serde_json::from_value(config["Env"].clone()).unwrap();
    for (key, value) in &layout.env {
        assert!(
            env.contains(&format!("{key}={value}")),
            "{archive}: {env:?}"
        );
    }
}

/// What is in the image, and that it is what a distroless image holds: no
/// shell, no package manager, everything root's but nonroot's home, nothing
/// world-writable but /tmp. Printed for the record.
fn check_contents(files: &Tree) {
    let listing: Vec<String> = files
        .iter()
        .filter(|(p, _)| !p.starts_with("/scenarios-default/") && !p.starts_with("/k8s/"))
        .map(|(p, (mode, uid, size, _))| format!("{mode:o} {uid:>5} {size:>9} {p}"))
        .collect();
    eprintln!(
        "image contents (scenarios-default/ and k8s/ not listed):\n{}",
        listing.join("\n")
    );
    for path in [
        "/bin/sh",
        "/usr/bin/sh",
        "/usr/bin/bash",
        "/usr/bin/dpkg",
        "/usr/bin/apt",
    ] {
        assert!(!files.contains_key(path), "{path} is in the image");
    }
    for required in [
        "/usr/local/bin/firedrill",
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/passwd",
        "/etc/group",
        "/scenarios-default/quickstart.yaml",
        "/k8s/monitoring/prometheus-rules.yaml",
        "/usr/share/doc/libc6/copyright",
    ] {
        assert!(files.contains_key(required), "{required} is missing");
    }
    let executables: Vec<&String> = files
        .iter()
        .filter(|(_, (mode, ..))| mode & 0o170000 == 0o100000 && mode & 0o111 != 0)
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        executables,
        [
            "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            "/usr/local/bin/firedrill"
        ],
        "the only programs: the binary, its loader and libc (which runs too)"
    );
    for (path, (mode, uid, ..)) in files {
        let is_link = mode & 0o170000 == 0o120000;
        if path.starts_with("/home/nonroot") {
            assert_eq!(*uid, 65532, "{path}");
        } else {
            assert_eq!(*uid, 0, "{path} is not root's");
        }
        if !is_link && path != "/tmp" {
            assert_eq!(mode & 0o002, 0, "{path} is world-writable");
        }
    }
}

/// The in-cluster scenarios, written to the scenarios volume.
fn configmap_scenarios(volumes: &Volumes) -> Vec<String> {
    let text =
        std::fs::read_to_string(repo().join("k8s/harness/scenarios-configmap.yaml")).unwrap();
    let configmap: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let mut paths = Vec::new();
    for (name, scenario) in configmap["data"].as_object().unwrap() {
        std::fs::write(
            volumes.path("scenarios").join(name),
            scenario.as_str().unwrap(),
        )
        .unwrap();
        paths.push(format!("/scenarios/{name}"));
    }
    assert!(paths.len() >= 2, "{paths:?}");
    paths
}

/// A drill from inside the image against the host's loopback: a demo
/// gateway and a Prometheus scraping it (the shipped rules at ×10), URL
/// target and URL Prometheus; the report lands on the reports volume.
fn drill_from_the_image(store: &Store, container: &str, root: &Path, volumes: &Volumes) {
    let demo = DemoGateway::start();
    let prometheus = prometheus_for(&demo);
    prometheus.wait_until_scraping();
    Scenario::new("in-image")
        .target_url(&demo.gateway)
        .prometheus_url(&prometheus.url())
        .phase(
            Phase::new("healthy")
                .duration("8s")
                .rate("20/s")
                .request(PREDICT),
        )
        .check("{ alert: GatewayHighErrorRate, silent_during: healthy }")
        .check("{ slo: latency, quantile: p95, below: 250ms, during: healthy }")
        .check("{ slo: error_ratio, below: 1%, during: healthy }")
        .write(&volumes.path("scenarios").join("in-image.yaml"));
    let run = run_in(
        store,
        container,
        root,
        volumes,
        &[],
        &[
            "firedrill",
            "run",
            "/scenarios/in-image.yaml",
            "--out",
            "/reports/run",
        ],
    );
    eprintln!(
        "the drill in the image:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));

    let dir = volumes.path("reports").join("run");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["verdict"], "pass");
    assert_eq!(report["environment"]["kind"], "url");
    assert_eq!(report["environment"]["target_url"], demo.gateway.as_str());
    assert_eq!(report["verdicts"].as_array().unwrap().len(), 5);
    for name in [
        "report.json",
        "report.html",
        "summary.md",
        "junit.xml",
        "series.csv",
    ] {
        let meta = std::fs::metadata(dir.join(name)).unwrap();
        assert_eq!(meta.uid(), 65532, "{name} was written by the image's user");
    }
}

/// The kube client trusts the CA bundle at the path the image fills: a
/// server whose certificate a test CA issued is refused with the image's
/// (Debian's) bundle, and accepted with the test CA bound over that path.
fn finds_its_ca_certificates(store: &Store, container: &str, root: &Path, volumes: &Volumes) {
    let certs = tempfile::tempdir().unwrap();
    support::issue_certificates(certs.path());
    let file = |name: &'static str| (name, std::fs::read(certs.path().join(name)).unwrap());
    let server = TestPrometheus::start_with_files(
        "global: { scrape_interval: 1m }\n",
        "groups: []\n",
        "tls_server_config:\n  cert_file: {dir}/cert.pem\n  key_file: {dir}/key.pem\n",
        &[file("ca.pem"), file("cert.pem"), file("key.pem")],
    );
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\n\
         clusters: [{{ name: c, cluster: {{ server: \"https://127.0.0.1:{}\" }} }}]\n\
         users: [{{ name: u, user: {{ token: not-a-secret }} }}]\n\
         contexts: [{{ name: x, context: {{ cluster: c, user: u, namespace: default }} }}]\n\
         current-context: x\n",
        server.port
    );
    std::fs::write(volumes.path("kube").join("config"), kubeconfig).unwrap();
    let ca = volumes.path("kube").join("ca.pem");
    std::fs::copy(certs.path().join("ca.pem"), &ca).unwrap();
    let doctor = ["firedrill", "doctor", "--kubeconfig", "/kube/config"];

    let bundle = std::fs::read_to_string(root.join("etc/ssl/certs/ca-certificates.crt")).unwrap();
    assert!(
        bundle.matches("BEGIN CERTIFICATE").count() > 100,
        "Debian's roots"
    );
    let refused = run_in(store, container, root, volumes, &[], &doctor);
    assert!(
        String::from_utf8_lossy(&refused.stdout)
            .contains("the Kubernetes API server cannot be reached"),
        "{}",
        text(&refused)
    );
    let trusted = run_in(
        store,
        container,
        root,
        volumes,
        &[
            "--mount".into(),
            format!(
                "type=bind,src={},dst=/etc/ssl/certs/ca-certificates.crt,ro=true",
                ca.display()
            ),
        ],
        &doctor,
    );
    // Past TLS: the server's own answer (it is no Kubernetes API).
    assert!(
        String::from_utf8_lossy(&trusted.stdout).contains("404 page not found"),
        "{}",
        text(&trusted)
    );
}

#[test]
fn the_image_runs_firedrill_as_nonroot_on_a_read_only_root_and_drills() {
    let store = Store::new();
    let archives = build_image(&store);
    let version = env!("CARGO_PKG_VERSION");
    let archive = |suffix: &str| {
        let path = archives.join(format!("firedrill-{version}.{suffix}.tar"));
        let size = std::fs::metadata(&path).unwrap().len() as f64 / 1e6;
        eprintln!("{}: {size:.1} MB", path.display());
        path.display().to_string()
    };
    // Each into a store of its own: the archive alone makes the image. The
    // Docker archive's (what `kind load` and `docker load` get) is run.
    load_back(&Store::new(), &format!("oci-archive:{}", archive("oci")));
    let loaded = Store::new();
    load_back(&loaded, &format!("docker-archive:{}", archive("docker")));
    eprintln!(
        "image size: {}",
        loaded.ok(&["images", "--format", "{{.Size}}", &image_name()])
    );
    let container = loaded.ok(&["from", "--quiet", &image_name()]);
    let root = PathBuf::from(loaded.ok(&["mount", &container]));
    check_contents(&tree(&root));

    // The first run adds buildah's mount points (/etc/hosts, /dev, ...) to
    // the container; later runs can then bind the image read-only.
    let version_out = loaded.buildah(&[
        "run",
        "--isolation=chroot",
        &container,
        "--",
        "firedrill",
        "--version",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&version_out.stdout).trim(),
        format!("firedrill {version}"),
        "{}",
        text(&version_out)
    );
    let volumes = Volumes::new();
    let before = tree(&root);

    let scenarios = configmap_scenarios(&volumes);
    let mut validate = vec!["firedrill", "validate"];
    validate.extend(scenarios.iter().map(String::as_str));
    let valid = run_in(&loaded, &container, &root, &volumes, &[], &validate);
    assert_eq!(valid.status.code(), Some(0), "{}", text(&valid));

    drill_from_the_image(&loaded, &container, &root, &volumes);
    finds_its_ca_certificates(&loaded, &container, &root, &volumes);

    // Read-only even for root: writing into the image fails.
    let as_root = run_in(
        &loaded,
        &container,
        &root,
        &volumes,
        &["--user".into(), "0:0".into()],
        &[
            "firedrill",
            "report",
            "/reports/run/report.json",
            "--out",
            "/usr/local/report",
        ],
    );
    assert!(
        String::from_utf8_lossy(&as_root.stderr).contains("Read-only file system"),
        "{}",
        text(&as_root)
    );
    assert_eq!(tree(&root), before, "the image's files changed");
}
