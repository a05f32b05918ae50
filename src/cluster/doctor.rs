//! `firedrill doctor`: the seed's troubleshooting section as one command.
//! Is Prometheus ready, are its rules loaded and healthy, does it send its
//! alerts to an Alertmanager that answers (and which silences are active),
//! do the gateway's
//! pods carry the `prometheus.io/*` annotations, are they up as scrape
//! targets, and do the gateway's metrics exist — each with its fix.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde::Serialize;

use super::ClusterError;
use crate::prom::{PromClient, QueryResult};

/// One claim about the wiring the doctor examined ("Prometheus is ready"),
/// whether it holds, what was seen, and the fix when it does not.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub claim: String,
    pub ok: bool,
    pub detail: String,
    /// What to do when it is not ok.
    pub fix: Option<String>,
}

fn ok(claim: &str, detail: String) -> Diagnosis {
    Diagnosis {
        claim: claim.to_string(),
        ok: true,
        detail,
        fix: None,
    }
}

fn fail(claim: &str, detail: String, fix: String) -> Diagnosis {
    Diagnosis {
        claim: claim.to_string(),
        ok: false,
        detail,
        fix: Some(fix),
    }
}

pub struct DoctorOptions {
    pub namespace: String,
    /// Pods of the gateway, e.g. `app=api-gateway`.
    pub selector: String,
    /// A metric the gateway must expose.
    pub metric: String,
    /// Ask this Alertmanager instead of the address Prometheus has (which
    /// may be a pod IP out of reach).
    pub alertmanager: Option<String>,
}

/// Prometheus sends its alerts to an Alertmanager, that Alertmanager
/// answers, and its active silences (each one a page that will not come).
async fn alertmanagers(prometheus: &PromClient, given: Option<&str>) -> Vec<Diagnosis> {
    let claim = "Prometheus sends its alerts to an Alertmanager";
    let targets = match prometheus.alertmanagers().await {
        Ok(found) => found,
        Err(e) => {
            return vec![fail(
                claim,
                e.to_string(),
                "make Prometheus reachable first".into(),
            )]
        }
    };
    let mut diagnoses = Vec::new();
    if targets.active.is_empty() {
        diagnoses.push(fail(
            claim,
            format!(
                "no active Alertmanager ({} dropped): alerts fire and nobody is paged",
                targets.dropped.len()
            ),
            "add `alerting: { alertmanagers: [{ static_configs: [{ targets: [\"alertmanager:9093\"] }] }] }` to prometheus.yml (k8s/monitoring/prometheus-config.yaml has it) and kubectl apply -f k8s/monitoring/alertmanager.yaml".into(),
        ));
        if given.is_none() {
            return diagnoses;
        }
    } else {
        diagnoses.push(ok(
            claim,
            targets
                .active
                .iter()
                .map(|t| t.url.clone())
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    let bases: Vec<String> = match given {
        Some(url) => vec![url.trim_end_matches('/').to_string()],
        None => targets
            .active
            .iter()
            .map(|t| t.url.split("/api/").next().unwrap_or(&t.url).to_string())
            .collect(),
    };
    for base in bases {
        diagnoses.extend(one_alertmanager(&base).await);
    }
    diagnoses
}

async fn one_alertmanager(base: &str) -> Vec<Diagnosis> {
    let claim = format!("Alertmanager {base} answers");
    let client = match crate::prom::AlertmanagerClient::new(base) {
        Ok(client) => client,
        Err(e) => return vec![fail(&claim, e.to_string(), "check the URL".into())],
    };
    let silences = match client.silences().await {
        Ok(silences) => silences,
        Err(e) => {
            return vec![fail(
                &claim,
                e.to_string(),
                "kubectl get pods -l app=alertmanager; from outside the cluster: kubectl port-forward svc/alertmanager 9093:9093 and --alertmanager http://127.0.0.1:9093".into(),
            )]
        }
    };
    let active: Vec<_> = silences
        .iter()
        .filter(|s| s.status.state == "active")
        .collect();
    let mut diagnoses = vec![ok(&claim, format!("{} active silences", active.len()))];
    for silence in active {
        diagnoses.push(ok(
            &format!("active silence {}", silence.id),
            format!(
                "{} · created by {}: \"{}\" · ends {}",
                silence
                    .matchers
                    .iter()
                    .map(|m| m.text())
                    .collect::<Vec<_>>()
                    .join(", "),
                silence.created_by,
                silence.comment,
                silence.ends_at
            ),
        ));
    }
    diagnoses
}

pub async fn examine(
    client: &Client,
    prometheus: &PromClient,
    options: &DoctorOptions,
) -> Result<Vec<Diagnosis>, ClusterError> {
    let mut diagnoses = vec![
        prometheus_ready(prometheus).await,
        alert_rules(prometheus).await,
    ];
    diagnoses.extend(alertmanagers(prometheus, options.alertmanager.as_deref()).await);
    let Some(addresses) = gateway_pods(client, options, &mut diagnoses).await? else {
        return Ok(diagnoses);
    };
    diagnoses.extend(pods_scraped(prometheus, &addresses).await);
    diagnoses.push(gateway_metrics(prometheus, &options.metric).await);
    Ok(diagnoses)
}

async fn prometheus_ready(prometheus: &PromClient) -> Diagnosis {
    let url = prometheus.base_url().to_string();
    match prometheus.ready().await {
        Ok(true) => ok("Prometheus is ready", url),
        Ok(false) => fail(
            "Prometheus is ready",
            format!("{url}/-/ready answers, but not ready"),
            "kubectl logs -l app=prometheus   # look for configuration or TSDB errors".into(),
        ),
        Err(e) => fail(
            "Prometheus is ready",
            e.to_string(),
            "kubectl get pods -l app=prometheus; kubectl port-forward svc/prometheus 9090:9090"
                .into(),
        ),
    }
}

async fn alert_rules(prometheus: &PromClient) -> Diagnosis {
    let groups = match prometheus.rules().await {
        Ok(groups) => groups,
        Err(e) => {
            return fail(
                "alert rules are loaded",
                e.to_string(),
                "make Prometheus reachable first".into(),
            )
        }
    };
    let rules: Vec<_> = groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter(|r| r.kind == "alerting")
        .collect();
    let broken: Vec<String> = rules
        .iter()
        .filter(|r| r.health == "err")
        .map(|r| format!("{}: {}", r.name, r.last_error.clone().unwrap_or_default()))
        .collect();
    if rules.is_empty() {
        fail(
            "alert rules are loaded",
            "Prometheus has no alerting rules".into(),
            "kubectl apply -f k8s/monitoring/prometheus-rules.yaml && kubectl rollout restart deployment/prometheus".into(),
        )
    } else if !broken.is_empty() {
        fail(
            "alert rules are healthy",
            broken.join("; "),
            "fix the rule's expression (firedrill rules check names the problems)".into(),
        )
    } else {
        ok(
            "alert rules are loaded and healthy",
            format!("{} alerting rules in {} groups", rules.len(), groups.len()),
        )
    }
}

/// The gateway's pods and their scrape annotations; returns the addresses
/// Prometheus should scrape (pod, ip:port), or None when there is no pod.
async fn gateway_pods(
    client: &Client,
    options: &DoctorOptions,
    diagnoses: &mut Vec<Diagnosis>,
) -> Result<Option<Vec<(String, String)>>, ClusterError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &options.namespace);
    let list = pods
        .list(&ListParams::default().labels(&options.selector))
        .await
        .map_err(|e| {
            ClusterError::from_kube(
                e,
                &format!(
                    "list pods `{}` in namespace `{}`",
                    options.selector, options.namespace
                ),
                "list",
                "pods",
            )
        })?;
    if list.items.is_empty() {
        diagnoses.push(fail(
            "the gateway's pods exist",
            format!(
                "no pod matches `{}` in namespace `{}`",
                options.selector, options.namespace
            ),
            format!("kubectl get pods -n {} --show-labels", options.namespace),
        ));
        return Ok(None);
    }
    let mut pod_addresses = Vec::new();
    for pod in &list.items {
        let name = pod.name_any();
        let annotations = pod.annotations();
        let scrape = annotations.get("prometheus.io/scrape").map(String::as_str);
        let port = annotations.get("prometheus.io/port");
        let path = annotations
            .get("prometheus.io/path")
            .map(String::as_str)
            .unwrap_or("/metrics");
        if scrape == Some("true") && port.is_some() {
            diagnoses.push(ok(
                &format!("pod {name} is annotated for scraping"),
                format!(
                    "port {}, path {path}",
                    port.map(String::as_str).unwrap_or("?")
                ),
            ));
            if let (Some(ip), Some(port)) =
                (pod.status.as_ref().and_then(|s| s.pod_ip.clone()), port)
            {
                pod_addresses.push((name.clone(), format!("{ip}:{port}")));
            }
        } else {
            diagnoses.push(fail(
                &format!("pod {name} is annotated for scraping"),
                format!(
                    "prometheus.io/scrape={}, prometheus.io/port={}",
                    scrape.unwrap_or("(missing)"),
                    port.map(String::as_str).unwrap_or("(missing)")
                ),
                format!(
                    "kubectl patch deployment <gateway> -n {} -p '{{\"spec\":{{\"template\":{{\"metadata\":{{\"annotations\":{{\"prometheus.io/scrape\":\"true\",\"prometheus.io/port\":\"8080\",\"prometheus.io/path\":\"/metrics\"}}}}}}}}}}'",
                    options.namespace
                ),
            ));
        }
    }
    Ok(Some(pod_addresses))
}

async fn pods_scraped(prometheus: &PromClient, addresses: &[(String, String)]) -> Vec<Diagnosis> {
    let targets = match prometheus.targets().await {
        Ok(targets) => targets,
        Err(e) => {
            return vec![fail(
                "the gateway's pods are scraped",
                e.to_string(),
                "make Prometheus reachable first".into(),
            )]
        }
    };
    addresses
        .iter()
        .map(|(pod, address)| {
            match targets.iter().find(|t| t.scrape_url.contains(address.as_str())) {
                Some(target) if target.health == "up" => ok(
                    &format!("pod {pod} is scraped"),
                    target.scrape_url.clone(),
                ),
                Some(target) => fail(
                    &format!("pod {pod} is scraped"),
                    format!("{} is {}: {}", target.scrape_url, target.health, target.last_error),
                    "check the prometheus.io/port and path annotations against the container's port".into(),
                ),
                None => fail(
                    &format!("pod {pod} is scraped"),
                    format!("no Prometheus target for {address}"),
                    "check the scrape config's kubernetes_sd namespaces and the keep relabel rule (Status → Service discovery in the Prometheus UI)".into(),
                ),
            }
        })
        .collect()
}

async fn gateway_metrics(prometheus: &PromClient, metric: &str) -> Diagnosis {
    let query = format!("count({metric})");
    match prometheus.query(&query, None).await {
        Ok(QueryResult::Vector(samples)) if !samples.is_empty() => ok(
            "the gateway's metrics exist",
            format!("{} series of {metric}", samples[0].value.v),
        ),
        Ok(_) => fail(
            "the gateway's metrics exist",
            format!("Prometheus has no series of {metric}"),
            "send some traffic (firedrill run scenarios/light.yaml), wait a scrape interval, check the metric's name".into(),
        ),
        Err(e) => fail(
            "the gateway's metrics exist",
            e.to_string(),
            "make Prometheus reachable first".into(),
        ),
    }
}
