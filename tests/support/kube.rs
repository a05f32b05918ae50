//! A mock Kubernetes API server: realistic JSON (objects, lists, `Status`
//! errors) for the calls firedrill makes, every request recorded for the
//! test to check. Deployments have live replica counts, and can be linked
//! to the demo gateway's fault admin, so scaling the model backend to zero
//! through the API really takes it down.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::http::{Request, Response, Server};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Query parameters, form-decoded (kube writes `?&a=b`).
    pub query: BTreeMap<String, String>,
    pub content_type: String,
    pub body: String,
}

type Responder = Box<dyn Fn(&Recorded) -> Option<(u16, Value)> + Send>;

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    /// Checked first to last; the first that answers wins.
    responders: Vec<Responder>,
}

pub struct MockApi {
    pub url: String,
    state: Arc<Mutex<State>>,
    /// Serves while the mock lives.
    _server: Server,
}

pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

impl MockApi {
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let server = Server::start(move |request| answer(request, &shared));
        MockApi {
            url: server.url.clone(),
            state,
            _server: server,
        }
    }

    /// Answers requests `respond` recognises (later additions win).
    pub fn on(&self, respond: impl Fn(&Recorded) -> Option<(u16, Value)> + Send + 'static) {
        self.state
            .lock()
            .unwrap()
            .responders
            .insert(0, Box::new(respond));
    }

    /// Answers `method path` with a fixed status and body.
    pub fn route(&self, method: &str, path: &str, code: u16, body: Value) {
        let (method, path) = (method.to_string(), path.to_string());
        self.on(move |r| (r.method == method && r.path == path).then(|| (code, body.clone())));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// A kubeconfig pointing at this server, default namespace `default`.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n  - name: mock\n    cluster: {{ server: \"{}\" }}\n\
                 contexts:\n  - name: mock\n    context: {{ cluster: mock, namespace: default }}\ncurrent-context: mock\n",
                self.url
            ),
        )
        .unwrap();
        path
    }

    /// A Service `name` in `default` whose cluster IP is loopback.
    pub fn service(&self, name: &str, port: u16) {
        self.route(
            "GET",
            &format!("/api/v1/namespaces/default/services/{name}"),
            200,
            json!({"kind": "Service", "apiVersion": "v1",
                   "metadata": {"name": name, "namespace": "default", "uid": "6f1c2d9e-2b1a-4d8e-9a55-3c1f0e7b9a10", "resourceVersion": "48211"},
                   "spec": {"ports": [{"name": "http", "protocol": "TCP", "port": port, "targetPort": port}],
                            "selector": {"app": name}, "clusterIP": "127.0.0.1", "clusterIPs": ["127.0.0.1"],
                            "type": "ClusterIP", "sessionAffinity": "None"},
                   "status": {"loadBalancer": {}}}),
        );
    }

    /// A Deployment with `replicas`, its `scale` subresource (GET and merge
    /// PATCH, which change the replicas), and a rolled-out status. When
    /// `on_scale` is given, it is called with every new replica count.
    pub fn deployment(
        &self,
        name: &str,
        replicas: i64,
        on_scale: Option<Box<dyn Fn(i64) + Send + Sync>>,
    ) {
        let current = Arc::new(Mutex::new(replicas));
        let base = format!("/apis/apps/v1/namespaces/default/deployments/{name}");
        let scale_body = |n: i64, name: &str| {
            json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
                   "metadata": {"name": name, "namespace": "default", "resourceVersion": "48402"},
                   "spec": {"replicas": n}, "status": {"replicas": n, "selector": format!("app={name}")}})
        };
        let name = name.to_string();
        let on_scale = on_scale.map(Arc::new);
        self.on(move |r| {
            if r.path == format!("{base}/scale") {
                let mut n = current.lock().unwrap();
                if r.method == "PATCH" {
                    let patch: Value = serde_json::from_str(&r.body).ok()?;
                    *n = patch["spec"]["replicas"].as_i64()?;
                    if let Some(callback) = &on_scale {
                        callback(*n);
                    }
                }
                return Some((200, scale_body(*n, &name)));
            }
            if r.path == base && r.method == "GET" {
                let n = *current.lock().unwrap();
                return Some((200, json!({"kind": "Deployment", "apiVersion": "apps/v1",
                    "metadata": {"name": name, "namespace": "default", "generation": 2},
                    "spec": {"replicas": n, "selector": {"matchLabels": {"app": name}},
                             "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": "x"}]}}},
                    "status": {"observedGeneration": 2, "replicas": n, "updatedReplicas": n, "readyReplicas": n, "availableReplicas": n}})));
            }
            None
        });
    }
}

/// Records the request, then answers with the first responder that
/// recognises it, or a 404 `Status`.
fn answer(request: &Request, state: &Mutex<State>) -> Response {
    let request = Recorded {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query_pairs().into_iter().collect(),
        content_type: request.header("content-type").unwrap_or_default(),
        body: String::from_utf8_lossy(&request.body).into_owned(),
    };
    let mut state = state.lock().unwrap();
    state.requests.push(request.clone());
    let (code, body) = state
        .responders
        .iter()
        .find_map(|respond| respond(&request))
        .unwrap_or_else(|| {
            (
                404,
                status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
            )
        });
    Response::json(code, body.to_string())
}
