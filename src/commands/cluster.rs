//! `firedrill doctor` and `firedrill deploy`: the Kubernetes commands.

use std::time::Duration;

use crate::cluster::{self, deploy, doctor, ClusterOptions};
use crate::exit;
use crate::prom::PromClient;

/// Check that the monitoring stack is wired: Prometheus ready, rules
/// loaded and healthy, the gateway's pods annotated and scraped, its
/// metrics present; each failure with its fix.
#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// The gateway's pods.
    #[arg(long, default_value = "app=api-gateway")]
    pub selector: String,
    /// Prometheus by URL...
    #[arg(long, value_name = "URL", conflicts_with = "prometheus_service")]
    pub prometheus: Option<String>,
    /// ...or by its Service in the namespace.
    #[arg(long, value_name = "NAME", default_value = "prometheus")]
    pub prometheus_service: String,
    /// A metric the gateway must expose.
    #[arg(long, default_value = "gateway_http_requests_total")]
    pub metric: String,
    /// Ask this Alertmanager (e.g. through `kubectl port-forward`) instead
    /// of the address Prometheus sends to.
    #[arg(long, value_name = "URL")]
    pub alertmanager: Option<String>,
}

/// Apply manifests server-side (the monitoring stack) and wait for the rollout.
#[derive(Debug, Clone, clap::Args)]
pub struct DeployArgs {
    /// A directory of YAML files (e.g. k8s/monitoring) or one file.
    pub path: std::path::PathBuf,
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// How long to wait for Deployments to roll out.
    #[arg(long, default_value = "5m", value_parser = super::parse_duration)]
    pub timeout: Duration,
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
            alertmanager: args.alertmanager.clone(),
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

pub async fn deploy(options: &ClusterOptions, args: &DeployArgs) -> i32 {
    let (path, namespace, timeout) = (args.path.as_path(), args.namespace.as_str(), args.timeout);
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
