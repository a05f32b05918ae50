//! A mock Kubernetes API server: realistic JSON (objects, lists, `Status`
//! errors) for the calls firedrill makes, every request recorded for the
//! test to check. Deployments have live replica counts, and can be linked
//! to the demo gateway's fault admin, so scaling the model backend to zero
//! through the API really takes it down.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

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
}

pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn decode(text: &str) -> String {
    let text = text.replace('+', " ");
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl MockApi {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve(stream, shared));
            }
        });
        MockApi { url, state }
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

fn serve(stream: std::net::TcpStream, state: Arc<Mutex<State>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let mut length = 0usize;
        let mut content_type = String::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "content-type" => content_type = value.trim().to_string(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
        let query = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        let request = Recorded {
            method,
            path: path.to_string(),
            query,
            content_type,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        let (code, answer) = {
            let mut state = state.lock().unwrap();
            state.requests.push(request.clone());
            state
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
                })
        };
        let text = answer.to_string();
        let head = format!(
            "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            text.len()
        );
        if writer
            .write_all(head.as_bytes())
            .and_then(|_| writer.write_all(text.as_bytes()))
            .is_err()
        {
            return;
        }
    }
}
