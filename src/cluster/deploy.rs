//! `firedrill deploy`: the monitoring stack, applied server-side (as
//! `kubectl apply --server-side --force-conflicts` does), then waited for:
//! every Deployment applied must finish rolling out, judged as
//! `kubectl rollout status` judges it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{self, Scope};
use kube::Client;
use serde::Deserialize;

use super::ClusterError;

/// The YAML files to apply: `path` itself, or the `.yaml`/`.yml` files in it
/// (sorted, so the order is the same on every run). kustomization files are
/// not objects and are skipped.
pub fn manifest_files(path: &Path) -> Result<Vec<PathBuf>, ClusterError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| ClusterError::Invalid(format!("{}: {e}", path.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .filter(|p| p.file_stem().is_none_or(|s| s != "kustomization"))
        .collect();
    files.sort();
    Ok(files)
}

/// One applied object, for the log.
#[derive(Debug, Clone)]
pub struct Applied {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

pub async fn apply(
    client: &Client,
    namespace: &str,
    files: &[PathBuf],
) -> Result<Vec<Applied>, ClusterError> {
    let params = PatchParams::apply("firedrill").force();
    let mut applied = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| ClusterError::Invalid(format!("{}: {e}", file.display())))?;
        for (index, document) in serde_norway::Deserializer::from_str(&text).enumerate() {
            let where_ = format!("{} (document {})", file.display(), index + 1);
            let value = serde_norway::Value::deserialize(document)
                .map_err(|e| ClusterError::Invalid(format!("{where_}: {e}")))?;
            if value.is_null() {
                continue;
            }
            let json = serde_json::to_value(&value)
                .map_err(|e| ClusterError::Invalid(format!("{where_}: {e}")))?;
            let object: DynamicObject = serde_json::from_value(json)
                .map_err(|e| ClusterError::Invalid(format!("{where_}: {e}")))?;
            let types = object
                .types
                .clone()
                .ok_or_else(|| ClusterError::Invalid(format!("{where_}: no apiVersion/kind")))?;
            let gvk = GroupVersionKind::try_from(&types)
                .map_err(|e| ClusterError::Invalid(format!("{where_}: {e}")))?;
            let name = object.metadata.name.clone().ok_or_else(|| {
                ClusterError::Invalid(format!("{where_}: {} without metadata.name", types.kind))
            })?;
            let (resource, capabilities) =
                discovery::pinned_kind(client, &gvk).await.map_err(|e| {
                    ClusterError::from_kube(
                        e,
                        &format!("discover {}", types.api_version),
                        "get",
                        "(API discovery)",
                    )
                })?;
            let object_namespace = match capabilities.scope {
                Scope::Cluster => None,
                Scope::Namespaced => Some(
                    object
                        .metadata
                        .namespace
                        .clone()
                        .unwrap_or_else(|| namespace.to_string()),
                ),
            };
            let api: Api<DynamicObject> = match &object_namespace {
                None => Api::all_with(client.clone(), &resource),
                Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
            };
            api.patch(&name, &params, &Patch::Apply(&object))
                .await
                .map_err(|e| {
                    ClusterError::from_kube(
                        e,
                        &format!("apply {} `{name}`", types.kind),
                        "patch",
                        &resource.plural,
                    )
                })?;
            applied.push(Applied {
                kind: types.kind.clone(),
                namespace: object_namespace,
                name,
            });
        }
    }
    Ok(applied)
}

/// Where a Deployment's rollout stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    Done,
    /// Still rolling, in kubectl's words.
    Waiting(String),
    /// Past its progress deadline: waiting will not roll it out.
    PastDeadline,
}

/// Rolled out, still rolling, or failed (kubectl rollout status's rules).
pub fn rollout_status(deployment: &Deployment) -> Rollout {
    let status = deployment.status.clone().unwrap_or_default();
    if deployment.metadata.generation.unwrap_or(0) > status.observed_generation.unwrap_or(0) {
        return Rollout::Waiting("waiting for the deployment spec update to be observed".into());
    }
    if status.conditions.iter().flatten().any(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    }) {
        return Rollout::PastDeadline;
    }
    let updated = status.updated_replicas.unwrap_or(0);
    if let Some(wanted) = deployment.spec.as_ref().and_then(|s| s.replicas) {
        if updated < wanted {
            return Rollout::Waiting(format!("{updated} of {wanted} new replicas updated"));
        }
    }
    let total = status.replicas.unwrap_or(0);
    if total > updated {
        return Rollout::Waiting(format!(
            "{} old replicas pending termination",
            total - updated
        ));
    }
    let available = status.available_replicas.unwrap_or(0);
    if available < updated {
        return Rollout::Waiting(format!(
            "{available} of {updated} updated replicas available"
        ));
    }
    Rollout::Done
}

/// Polls every applied Deployment until it has rolled out, or `timeout`.
pub async fn wait_for_rollouts(
    client: &Client,
    applied: &[Applied],
    timeout: Duration,
) -> Result<(), ClusterError> {
    let started = Instant::now();
    for object in applied.iter().filter(|a| a.kind == "Deployment") {
        let namespace = object.namespace.as_deref().unwrap_or("default");
        let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
        loop {
            let deployment = api.get(&object.name).await.map_err(|e| {
                ClusterError::from_kube(
                    e,
                    &format!("get deployment `{}`", object.name),
                    "get",
                    "deployments",
                )
            })?;
            match rollout_status(&deployment) {
                Rollout::Done => break,
                Rollout::Waiting(_) if started.elapsed() < timeout => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Rollout::Waiting(waiting) => {
                    return Err(ClusterError::RolloutTimeout {
                        deployment: object.name.clone(),
                        timeout,
                        waiting,
                    })
                }
                Rollout::PastDeadline => {
                    return Err(ClusterError::PastProgressDeadline {
                        deployment: deployment.metadata.name.clone().unwrap_or_default(),
                    })
                }
            }
        }
    }
    Ok(())
}
