//! `firedrill doctor` and `firedrill deploy`: the Kubernetes commands.

use std::path::Path;
use std::time::Duration;

use crate::cluster::{self, deploy, doctor, ClusterOptions};
use crate::exit;
use crate::prom::PromClient;

pub struct DoctorArgs {
    pub namespace: String,
    pub selector: String,
    pub prometheus: Option<String>,
    pub prometheus_service: String,
    pub metric: String,
}

/// Exit 0 when every check is fine, 1 when one is not, 3 when the cluster
/// cannot be asked at all.
pub async fn doctor(options: &ClusterOptions, args: &DoctorArgs) -> i32 {
    let (client, _) = match cluster::connect(options).await {
        Ok(connected) => connected,
        Err(e) => {
            eprintln!("firedrill: {e}");
            return exit::INCONCLUSIVE;
        }
    };
    let url = match &args.prometheus {
        Some(url) => url.clone(),
        None => {
            match cluster::service_url(&client, &args.namespace, &args.prometheus_service, None)
                .await
            {
                Ok(url) => url,
                Err(e) => {
                    println!("FAIL  Prometheus's service exists\n      {e}\n      fix: kubectl apply -f k8s/monitoring/ (or: firedrill deploy k8s/monitoring)");
                    return exit::FAIL;
                }
            }
        }
    };
    let prometheus = match PromClient::new(&url) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("firedrill: {e}");
            return exit::INVALID;
        }
    };
    let findings = match doctor::examine(
        &client,
        &prometheus,
        &doctor::DoctorOptions {
            namespace: args.namespace.clone(),
            selector: args.selector.clone(),
            metric: args.metric.clone(),
        },
    )
    .await
    {
        Ok(findings) => findings,
        Err(e) => {
            eprintln!("firedrill: {e}");
            return exit::INCONCLUSIVE;
        }
    };
    for finding in &findings {
        println!(
            "{}  {}\n      {}",
            if finding.ok { "ok  " } else { "FAIL" },
            finding.check,
            finding.detail
        );
        if let Some(fix) = &finding.fix {
            println!("      fix: {fix}");
        }
    }
    let failed = findings.iter().filter(|f| !f.ok).count();
    println!("\n{} checks, {failed} failed", findings.len());
    if failed == 0 {
        exit::PASS
    } else {
        exit::FAIL
    }
}

pub async fn deploy(
    options: &ClusterOptions,
    path: &Path,
    namespace: &str,
    timeout: Duration,
) -> i32 {
    let files = match deploy::manifest_files(path) {
        Ok(files) if !files.is_empty() => files,
        Ok(_) => {
            eprintln!("firedrill: no .yaml files in {}", path.display());
            return exit::INVALID;
        }
        Err(e) => {
            eprintln!("firedrill: {e}");
            return exit::INVALID;
        }
    };
    let (client, _) = match cluster::connect(options).await {
        Ok(connected) => connected,
        Err(e) => {
            eprintln!("firedrill: {e}");
            return exit::INCONCLUSIVE;
        }
    };
    let applied = match deploy::apply(&client, namespace, &files).await {
        Ok(applied) => applied,
        Err(e) => {
            eprintln!("firedrill: {e}");
            return exit::FAIL;
        }
    };
    for object in &applied {
        println!(
            "applied {} {}{}",
            object.kind,
            object
                .namespace
                .as_deref()
                .map(|n| format!("{n}/"))
                .unwrap_or_default(),
            object.name
        );
    }
    match deploy::wait_for_rollouts(&client, &applied, timeout).await {
        Ok(()) => {
            println!("rolled out");
            exit::PASS
        }
        Err(e) => {
            eprintln!("firedrill: {e}");
            exit::FAIL
        }
    }
}
