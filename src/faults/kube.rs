//! What a fault can do through the Kubernetes API: read and set a
//! Deployment's replicas (also from `Drop`, which cannot await), and delete
//! pods.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};

use crate::cluster::{connect, ClusterError, ClusterOptions};

fn replicas_patch(replicas: i32) -> serde_json::Value {
    serde_json::json!({ "spec": { "replicas": replicas } })
}

pub async fn set_replicas(
    client: &Client,
    namespace: &str,
    deployment: &str,
    replicas: i32,
) -> Result<(), ClusterError> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    api.patch_scale(
        deployment,
        &PatchParams::apply("firedrill"),
        &Patch::Merge(&replicas_patch(replicas)),
    )
    .await
    .map(|_| ())
    .map_err(|e| {
        ClusterError::from_kube(
            e,
            &format!("scale deployment `{deployment}` in namespace `{namespace}` to {replicas}"),
            "patch",
            "deployments/scale",
        )
    })
}

/// A Deployment's replicas now.
pub async fn replicas(
    client: &Client,
    namespace: &str,
    deployment: &str,
) -> Result<i32, ClusterError> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let scale = api.get_scale(deployment).await.map_err(|e| {
        ClusterError::from_kube(
            e,
            &format!("read the scale of deployment `{deployment}` in namespace `{namespace}`"),
            "get",
            "deployments/scale",
        )
    })?;
    Ok(scale.spec.and_then(|s| s.replicas).unwrap_or(0))
}

/// Scales a Deployment back from `Drop`, which cannot await, and a client
/// belongs to the runtime that made it: with a fresh client, on a thread
/// and runtime of its own. Tries, and says if it could not.
pub fn scale_from_drop(options: &ClusterOptions, namespace: &str, deployment: &str, replicas: i32) {
    let (options, namespace, deployment) = (
        options.clone(),
        namespace.to_string(),
        deployment.to_string(),
    );
    let worker = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let (client, _) = connect(&options).await.map_err(|e| e.to_string())?;
            set_replicas(&client, &namespace, &deployment, replicas)
                .await
                .map_err(|e| e.to_string())
        })
    });
    match worker.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("firedrill: could not restore the deployment's replicas: {e}"),
        Err(_) => eprintln!("firedrill: could not restore the deployment's replicas"),
    }
}

/// Deletes the pods a label selector (or a name) picks; returns their names.
pub async fn delete_pods(
    client: &Client,
    namespace: &str,
    selector: Option<&str>,
    name: Option<&str>,
) -> Result<Vec<String>, ClusterError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let names: Vec<String> = match (name, selector) {
        (Some(name), _) => vec![name.to_string()],
        (None, Some(selector)) => api
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(|e| {
                ClusterError::from_kube(
                    e,
                    &format!("list pods `{selector}` in namespace `{namespace}`"),
                    "list",
                    "pods",
                )
            })?
            .items
            .iter()
            .map(|p| p.name_any())
            .collect(),
        (None, None) => {
            return Err(ClusterError::Invalid(
                "delete_pod needs a name or a selector".into(),
            ))
        }
    };
    if names.is_empty() {
        return Err(ClusterError::NotFound {
            what: format!(
                "pods `{}` in namespace `{namespace}`",
                selector.unwrap_or("")
            ),
            message: "no pod matches".into(),
        });
    }
    for pod in &names {
        api.delete(pod, &DeleteParams::default())
            .await
            .map_err(|e| {
                ClusterError::from_kube(
                    e,
                    &format!("delete pod `{pod}` in namespace `{namespace}`"),
                    "delete",
                    "pods",
                )
            })?;
    }
    Ok(names)
}
