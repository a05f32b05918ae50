//! Faults through the Kubernetes API: a Deployment scaled (restored to the
//! replicas it had) or pods deleted (their controller replaces them;
//! nothing to restore).
//!
//! ```yaml
//! fault: { kubernetes: { scale: { deployment: sentiment-api, replicas: 0 } } }
//! fault: { kubernetes: { delete_pod: { selector: app=sentiment-api } } }
//! ```

use serde::{Deserialize, Serialize};

use super::keys::fault_keys;
use super::{Capabilities, Fault, Setting, Undo};
use crate::spec::{FieldPath, Validator};

/// What the Kubernetes API is asked to do (in report.json, each says its
/// own `kind`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Kubernetes {
    /// A Deployment scaled, restored afterwards.
    Scale {
        deployment: String,
        namespace: Option<String>,
        replicas: u32,
    },
    /// Pods deleted (their controller replaces them).
    DeletePods {
        namespace: Option<String>,
        selector: Option<String>,
        name: Option<String>,
    },
}

fault_keys! {
    /// `kubernetes: { scale }` or `kubernetes: { delete_pod }`.
    pub struct Spec {
        kubernetes: KubeFaultSpec,
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KubeFaultSpec {
    #[serde(default)]
    pub scale: Option<ScaleSpec>,
    #[serde(default)]
    pub delete_pod: Option<DeletePodSpec>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScaleSpec {
    pub deployment: String,
    pub replicas: u32,
    #[serde(default)]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeletePodSpec {
    /// A label selector, e.g. `app=sentiment-api`.
    #[serde(default)]
    pub selector: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
}

impl Fault for Kubernetes {
    const WRITTEN: &'static str = "`kubernetes`";
    type Spec = Spec;

    fn validate(spec: &Spec, path: &FieldPath, _: &Setting, v: &mut Validator) -> Option<Self> {
        let kube = spec.kubernetes.as_ref()?;
        match (&kube.scale, &kube.delete_pod) {
            (Some(scale), None) => Some(Kubernetes::Scale {
                deployment: scale.deployment.clone(),
                namespace: scale.namespace.clone(),
                replicas: scale.replicas,
            }),
            (None, Some(delete)) => {
                if delete.selector.is_some() == delete.name.is_some() {
                    v.problem(
                        path.key("kubernetes").key("delete_pod"),
                        "give the pods as a `selector` (e.g. app=sentiment-api) or a `name`",
                    );
                    return None;
                }
                Some(Kubernetes::DeletePods {
                    namespace: delete.namespace.clone(),
                    selector: delete.selector.clone(),
                    name: delete.name.clone(),
                })
            }
            _ => {
                v.problem(
                    path.key("kubernetes"),
                    "a kubernetes fault is one of `scale` or `delete_pod`",
                );
                None
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Kubernetes::Scale {
                deployment,
                replicas,
                ..
            } => format!("deployment {deployment} scaled to {replicas}"),
            Kubernetes::DeletePods { selector, name, .. } => format!(
                "pods {} deleted",
                name.as_deref().or(selector.as_deref()).unwrap_or("?")
            ),
        }
    }

    fn needs_cluster(&self) -> bool {
        true
    }

    async fn inject<C: Capabilities>(
        &self,
        can: &C,
        undo: &mut Option<Undo>,
    ) -> Result<(), C::Error> {
        match self {
            Kubernetes::Scale {
                deployment,
                namespace,
                replicas,
            } => {
                let original = can.replicas(namespace.as_deref(), deployment).await?;
                *undo = Some(Undo::Replicas {
                    namespace: namespace.clone(),
                    deployment: deployment.clone(),
                    replicas: original,
                });
                let replicas = i32::try_from(*replicas).unwrap_or(i32::MAX);
                can.set_replicas(namespace.as_deref(), deployment, replicas)
                    .await
            }
            Kubernetes::DeletePods {
                namespace,
                selector,
                name,
            } => {
                can.delete_pods(namespace.as_deref(), selector.as_deref(), name.as_deref())
                    .await
            }
        }
    }
}
