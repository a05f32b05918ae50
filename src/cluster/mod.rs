//! Kubernetes, through its API (the kube crate): finding services, scaling
//! deployments and deleting pods as faults, checking that the monitoring
//! stack is wired (`doctor`), and deploying it (`deploy`).
//!
//! Configuration comes from `--kubeconfig`/`--context`, else `$KUBECONFIG` or
//! `~/.kube/config`, else the pod's service account (in-cluster). Every API
//! error is turned into a sentence that names the object and, for RBAC
//! denials, the permission to grant.

pub mod deploy;
pub mod doctor;

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::plan::PortRef;

/// Where the Kubernetes configuration comes from.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("no Kubernetes configuration: {0} (give --kubeconfig, set KUBECONFIG, or run in a pod with a service account)")]
    Config(String),
    #[error("the Kubernetes API server cannot be reached: {0}")]
    Unreachable(String),
    #[error("{what}: forbidden by RBAC: {message} (grant `{verb}` on `{resource}` to firedrill's service account; k8s/harness/rbac.yaml has the Role)")]
    Forbidden {
        what: String,
        verb: String,
        resource: String,
        message: String,
    },
    #[error("{what}: not found: {message}")]
    NotFound { what: String, message: String },
    #[error("{what}: {message}")]
    Api { what: String, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error("deployment `{deployment}` exceeded its progress deadline")]
    PastProgressDeadline { deployment: String },
    #[error("deployment `{deployment}` did not roll out within {timeout:?}: {waiting}")]
    RolloutTimeout {
        deployment: String,
        timeout: Duration,
        waiting: String,
    },
}

impl ClusterError {
    /// Turns a kube error about `what` (e.g. "get service default/api")
    /// into a sentence; `verb` and `resource` name the RBAC permission the
    /// call needs, for the hint on a 403.
    pub fn from_kube(error: kube::Error, what: &str, verb: &str, resource: &str) -> Self {
        match error {
            kube::Error::Api(response) if response.code == 403 => ClusterError::Forbidden {
                what: what.to_string(),
                verb: verb.to_string(),
                resource: resource.to_string(),
                message: response.message,
            },
            kube::Error::Api(response) if response.code == 404 => ClusterError::NotFound {
                what: what.to_string(),
                message: response.message,
            },
            kube::Error::Api(response) if response.code == 401 => ClusterError::Api {
                what: what.to_string(),
                message: format!(
                    "unauthorized: the credentials were refused ({})",
                    response.message
                ),
            },
            kube::Error::Api(response) => ClusterError::Api {
                what: what.to_string(),
                message: format!(
                    "HTTP {} {}: {}",
                    response.code, response.reason, response.message
                ),
            },
            kube::Error::Service(e) => ClusterError::Unreachable(format!("{what}: {e}")),
            kube::Error::HyperError(e) => ClusterError::Unreachable(format!("{what}: {e}")),
            other => ClusterError::Api {
                what: what.to_string(),
                message: other.to_string(),
            },
        }
    }
}

/// A connection to the Kubernetes API for a run: a client, the namespace
/// its configuration names, and how to connect again (a fault restored from
/// `Drop` needs a client of its own).
#[derive(Clone)]
pub struct ClusterHandle {
    pub client: Client,
    pub namespace: String,
    pub options: ClusterOptions,
}

impl ClusterHandle {
    pub async fn connect(options: &ClusterOptions) -> Result<Self, ClusterError> {
        let (client, namespace) = connect(options).await?;
        Ok(ClusterHandle {
            client,
            namespace,
            options: options.clone(),
        })
    }

    /// `namespace`, or the configuration's default when none is given.
    pub fn namespace_or<'a>(&'a self, namespace: Option<&'a str>) -> &'a str {
        namespace.unwrap_or(&self.namespace)
    }
}

/// A client, and the namespace its configuration names.
pub async fn connect(options: &ClusterOptions) -> Result<(Client, String), ClusterError> {
    let mut config = match &options.kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .map_err(|e| ClusterError::Config(format!("{}: {e}", path.display())))?;
            let select = KubeConfigOptions {
                context: options.context.clone(),
                ..KubeConfigOptions::default()
            };
            Config::from_custom_kubeconfig(kubeconfig, &select)
                .await
                .map_err(|e| ClusterError::Config(format!("{}: {e}", path.display())))?
        }
        None if options.context.is_some() => {
            let select = KubeConfigOptions {
                context: options.context.clone(),
                ..KubeConfigOptions::default()
            };
            Config::from_kubeconfig(&select)
                .await
                .map_err(|e| ClusterError::Config(e.to_string()))?
        }
        None => Config::infer()
            .await
            .map_err(|e| ClusterError::Config(e.to_string()))?,
    };
    // kube's default read timeout is almost five minutes: too long to learn
    // that an API server is stuck.
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(30));
    config.write_timeout = Some(Duration::from_secs(30));
    let namespace = config.default_namespace.clone();
    let client = Client::try_from(config).map_err(|e| ClusterError::Config(e.to_string()))?;
    Ok((client, namespace))
}

/// `http://<cluster IP>:<port>` of a Service — or, for a headless service,
/// of its first ready endpoint.
pub async fn service_url(
    client: &Client,
    namespace: &str,
    name: &str,
    port: Option<&PortRef>,
) -> Result<String, ClusterError> {
    let what = format!("service `{name}` in namespace `{namespace}`");
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    let service = services
        .get(name)
        .await
        .map_err(|e| ClusterError::from_kube(e, &format!("get {what}"), "get", "services"))?;
    let spec = service
        .spec
        .ok_or_else(|| ClusterError::Invalid(format!("{what} has no spec")))?;
    let ports = spec.ports.unwrap_or_default();
    let chosen = match port {
        None if ports.len() == 1 => ports.first(),
        None => ports
            .iter()
            .find(|p| p.name.as_deref() == Some("http"))
            .or(ports.first()),
        Some(PortRef::Number(n)) => ports.iter().find(|p| p.port == i32::from(*n)),
        Some(PortRef::Name(n)) => ports.iter().find(|p| p.name.as_deref() == Some(n.as_str())),
    }
    .ok_or_else(|| {
        let known: Vec<String> = ports
            .iter()
            .map(|p| {
                format!(
                    "{}{}",
                    p.port,
                    p.name
                        .as_ref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default()
                )
            })
            .collect();
        ClusterError::Invalid(format!(
            "{what} has no port {port:?}; its ports: {}",
            known.join(", ")
        ))
    })?;
    match spec.cluster_ip.as_deref() {
        Some(ip) if !ip.is_empty() && ip != "None" => {
            Ok(format!("http://{}:{}", host(ip), chosen.port))
        }
        _ => headless_url(client, namespace, name, chosen.name.as_deref()).await,
    }
}

fn host(ip: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_string()
    }
}

async fn headless_url(
    client: &Client,
    namespace: &str,
    service: &str,
    port_name: Option<&str>,
) -> Result<String, ClusterError> {
    let what = format!("endpoints of headless service `{service}` in namespace `{namespace}`");
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), namespace);
    let list = slices
        .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={service}")))
        .await
        .map_err(|e| {
            ClusterError::from_kube(e, &format!("list {what}"), "list", "endpointslices")
        })?;
    for slice in list.items {
        let port = slice
            .ports
            .unwrap_or_default()
            .into_iter()
            .find(|p| port_name.is_none() || p.name.as_deref() == port_name)
            .and_then(|p| p.port);
        for endpoint in slice.endpoints {
            // The API's contract: no `ready` condition means ready.
            let ready = endpoint.conditions.and_then(|c| c.ready).unwrap_or(true);
            if let (true, Some(address), Some(port)) = (ready, endpoint.addresses.first(), port) {
                return Ok(format!("http://{}:{port}", host(address)));
            }
        }
    }
    Err(ClusterError::Invalid(format!("{what}: no ready endpoint")))
}
