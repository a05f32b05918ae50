//! `firedrill doctor`: the seed's troubleshooting section as one command.
//! Is Prometheus ready, are its rules loaded and healthy, do the gateway's
//! pods carry the `prometheus.io/*` annotations, are they up as scrape
//! targets, and do the gateway's metrics exist — each with its fix.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde::Serialize;

use super::ClusterError;
use crate::prom::{PromClient, QueryResult};

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub check: String,
    pub ok: bool,
    pub detail: String,
    /// What to do when it is not ok.
    pub fix: Option<String>,
}

fn ok(check: &str, detail: String) -> Finding {
    Finding {
        check: check.to_string(),
        ok: true,
        detail,
        fix: None,
    }
}

fn fail(check: &str, detail: String, fix: String) -> Finding {
    Finding {
        check: check.to_string(),
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
}

pub async fn examine(
    client: &Client,
    prometheus: &PromClient,
    options: &DoctorOptions,
) -> Result<Vec<Finding>, ClusterError> {
    let mut findings = Vec::new();
    let url = prometheus.base_url().to_string();

    match prometheus.ready().await {
        Ok(true) => findings.push(ok("Prometheus is ready", url.clone())),
        Ok(false) => findings.push(fail(
            "Prometheus is ready",
            format!("{url}/-/ready answers, but not ready"),
            "kubectl logs -l app=prometheus   # look for configuration or TSDB errors".into(),
        )),
        Err(e) => findings.push(fail(
            "Prometheus is ready",
            e.to_string(),
            "kubectl get pods -l app=prometheus; kubectl port-forward svc/prometheus 9090:9090"
                .into(),
        )),
    }

    match prometheus.rules().await {
        Ok(groups) => {
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
                findings.push(fail(
                    "alert rules are loaded",
                    "Prometheus has no alerting rules".into(),
                    "kubectl apply -f k8s/monitoring/prometheus-rules.yaml && kubectl rollout restart deployment/prometheus".into(),
                ));
            } else if !broken.is_empty() {
                findings.push(fail(
                    "alert rules are healthy",
                    broken.join("; "),
                    "fix the rule's expression (firedrill rules check names the problems)".into(),
                ));
            } else {
                findings.push(ok(
                    "alert rules are loaded and healthy",
                    format!("{} alerting rules in {} groups", rules.len(), groups.len()),
                ));
            }
        }
        Err(e) => findings.push(fail(
            "alert rules are loaded",
            e.to_string(),
            "make Prometheus reachable first".into(),
        )),
    }

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
        findings.push(fail(
            "the gateway's pods exist",
            format!(
                "no pod matches `{}` in namespace `{}`",
                options.selector, options.namespace
            ),
            format!("kubectl get pods -n {} --show-labels", options.namespace),
        ));
        return Ok(findings);
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
            findings.push(ok(
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
            findings.push(fail(
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

    match prometheus.targets().await {
        Ok(targets) => {
            for (pod, address) in &pod_addresses {
                match targets.iter().find(|t| t.scrape_url.contains(address.as_str())) {
                    Some(target) if target.health == "up" => findings.push(ok(
                        &format!("pod {pod} is scraped"),
                        target.scrape_url.clone(),
                    )),
                    Some(target) => findings.push(fail(
                        &format!("pod {pod} is scraped"),
                        format!("{} is {}: {}", target.scrape_url, target.health, target.last_error),
                        "check the prometheus.io/port and path annotations against the container's port".into(),
                    )),
                    None => findings.push(fail(
                        &format!("pod {pod} is scraped"),
                        format!("no Prometheus target for {address}"),
                        "check the scrape config's kubernetes_sd namespaces and the keep relabel rule (Status → Service discovery in the Prometheus UI)".into(),
                    )),
                }
            }
        }
        Err(e) => findings.push(fail(
            "the gateway's pods are scraped",
            e.to_string(),
            "make Prometheus reachable first".into(),
        )),
    }

    let query = format!("count({})", options.metric);
    match prometheus.query(&query, None).await {
        Ok(QueryResult::Vector(samples)) if !samples.is_empty() => findings.push(ok(
            "the gateway's metrics exist",
            format!("{} series of {}", samples[0].value.v, options.metric),
        )),
        Ok(_) => findings.push(fail(
            "the gateway's metrics exist",
            format!("Prometheus has no series of {}", options.metric),
            "send some traffic (firedrill run scenarios/light.yaml), wait a scrape interval, check the metric's name".into(),
        )),
        Err(e) => findings.push(fail("the gateway's metrics exist", e.to_string(), "make Prometheus reachable first".into())),
    }
    Ok(findings)
}
