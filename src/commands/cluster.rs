//! `firedrill doctor` and `firedrill deploy`: the Kubernetes commands.

use std::time::Duration;

use super::{CommandError, Outcome};
use crate::cluster::{self, deploy, doctor, ClusterOptions};
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

/// Passes when every claim holds, fails when one does not; an error when
/// the cluster cannot be asked at all.
pub async fn doctor(options: &ClusterOptions, args: &DoctorArgs) -> Result<Outcome, CommandError> {
    let (client, _) = cluster::connect(options)
        .await
        .map_err(CommandError::Cluster)?;
    let url = match &args.prometheus {
        Some(url) => url.clone(),
        None => {
            match cluster::service_url(&client, &args.namespace, &args.prometheus_service, None)
                .await
            {
                Ok(url) => url,
                Err(e) => {
                    println!("FAIL  Prometheus's service exists\n      {e}\n      fix: kubectl apply -f k8s/monitoring/ (or: firedrill deploy k8s/monitoring)");
                    return Ok(Outcome::Fail);
                }
            }
        }
    };
    let prometheus = PromClient::new(&url).map_err(CommandError::Prometheus)?;
    let diagnoses = doctor::examine(
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
    .map_err(CommandError::Cluster)?;
    for diagnosis in &diagnoses {
        println!(
            "{}  {}\n      {}",
            if diagnosis.ok { "ok  " } else { "FAIL" },
            diagnosis.claim,
            diagnosis.detail
        );
        if let Some(fix) = &diagnosis.fix {
            println!("      fix: {fix}");
        }
    }
    let failed = diagnoses.iter().filter(|d| !d.ok).count();
    println!("\n{} checks, {failed} failed", diagnoses.len());
    Ok(if failed == 0 {
        Outcome::Pass
    } else {
        Outcome::Fail
    })
}

/// Applies the manifests and waits for the rollout: passes when every
/// Deployment rolled out.
pub async fn deploy(options: &ClusterOptions, args: &DeployArgs) -> Result<Outcome, CommandError> {
    let (path, namespace, timeout) = (args.path.as_path(), args.namespace.as_str(), args.timeout);
    let files = deploy::manifest_files(path).map_err(CommandError::Manifests)?;
    if files.is_empty() {
        return Err(CommandError::NoManifests(path.to_path_buf()));
    }
    let (client, _) = cluster::connect(options)
        .await
        .map_err(CommandError::Cluster)?;
    let applied = deploy::apply(&client, namespace, &files)
        .await
        .map_err(CommandError::Deploy)?;
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
    deploy::wait_for_rollouts(&client, &applied, timeout)
        .await
        .map_err(CommandError::Deploy)?;
    println!("rolled out");
    Ok(Outcome::Pass)
}
