//! After the traffic: asking Prometheus what happened, once, with exact
//! timestamps — alert episodes from `ALERTS`, when each check's condition
//! first held, and the service-side latency and error numbers of each phase.

use std::collections::BTreeMap;
use std::time::Duration;

use super::timeline::episodes;
use crate::checks::{ConditionQuery, ServiceQuery};
use crate::plan::{AlertRef, Plan, ServiceMetrics};
use crate::prom::{PromClient, QueryResult};
use crate::record::{
    AlertHistory, AlertRuleInfo, ConditionObservation, DashboardObservation, Observations,
    PhaseRecord, QueryFailure, RunStatus, ServiceLatencySeries, ServiceObservation, WatchLog,
};

pub struct Collector<'a> {
    pub prometheus: &'a PromClient,
    pub plan: &'a Plan,
    pub phases: &'a [PhaseRecord],
    pub rules: &'a BTreeMap<String, AlertRuleInfo>,
    pub run_start: f64,
    pub observed_until: f64,
    pub scrape_interval: f64,
}

impl Collector<'_> {
    /// The run's observations: what the drill saw itself (its status, the
    /// clock, the watch log, notes), and everything asked of Prometheus
    /// after the traffic.
    pub async fn observations(
        &self,
        run_end: f64,
        status: RunStatus,
        clock_offset_seconds: f64,
        watch: WatchLog,
        notes: Vec<String>,
    ) -> Observations {
        Observations {
            status,
            clock_offset_seconds,
            run_start: self.run_start,
            run_end,
            observed_until: self.observed_until,
            scraped_until: self.scraped_until().await,
            phases: self.phases.to_vec(),
            rules: self.rules.clone(),
            alerts: self.alert_histories().await,
            conditions: self.conditions().await,
            service: self.service_measurements().await,
            service_windows: self.service_windows().await,
            service_latency: Some(self.service_latency(run_end).await),
            dashboards: self.dashboards().await,
            watch,
            alertmanager: None,
            prometheus_retries: self.prometheus.retries(),
            notes,
            baseline: None,
        }
    }

    /// The timestamp of the newest sample of the service's request counter:
    /// Prometheus's last scrape of the target that it has ingested (None when
    /// it holds no such series, or cannot say).
    pub async fn scraped_until(&self) -> Option<f64> {
        let metrics = &self.plan.service_metrics;
        let query = format!(
            "max(timestamp({}{{{}}}))",
            metrics.requests_total, metrics.selector
        );
        match self
            .prometheus
            .scalar(&query, Some(self.observed_until))
            .await
        {
            Ok(value) => value.filter(|t| t.is_finite()),
            Err(_) => None,
        }
    }

    pub async fn alert_histories(&self) -> BTreeMap<String, AlertHistory> {
        let mut alerts: Vec<&AlertRef> = self
            .plan
            .checks
            .iter()
            .filter_map(|c| c.kind.alert())
            .collect();
        alerts.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        alerts.dedup_by(|a, b| a.as_str() == b.as_str());
        let mut histories = BTreeMap::new();
        for alert in alerts {
            let interval = self
                .rules
                .get(&alert.name)
                .map(|r| r.interval_seconds)
                .unwrap_or(60.0);
            // Look back two intervals before the run, to see alerts that were
            // already active when it began.
            let window = self.observed_until - self.run_start + 2.0 * interval;
            let query = format!(
                "{}[{}ms]",
                alert.alerts_selector(),
                (window * 1000.0).ceil() as u64
            );
            let history = match self
                .prometheus
                .query(&query, Some(self.observed_until))
                .await
            {
                Ok(QueryResult::Matrix(series)) => AlertHistory {
                    episodes: episodes(&series, interval, self.observed_until),
                    error: None,
                },
                Ok(_) => AlertHistory::default(),
                Err(e) => AlertHistory {
                    episodes: Vec::new(),
                    error: Some((&e).into()),
                },
            };
            histories.insert(alert.to_string(), history);
        }
        histories
    }

    pub async fn conditions(&self) -> BTreeMap<String, ConditionObservation> {
        let mut found = BTreeMap::new();
        for check in &self.plan.checks {
            let Some(ConditionQuery { alert, phase, expr }) = check.kind.condition() else {
                continue;
            };
            let expr = match (expr, self.rules.get(&alert.name)) {
                (Some(expr), _) => expr.to_string(),
                (None, Some(rule)) => rule.query.clone(),
                (None, None) => continue, // the check reports the missing rule
            };
            let from = self
                .phases
                .get(phase)
                .map(|p| p.started_at)
                .unwrap_or(self.run_start);
            let to = self.observed_until;
            // A quarter of a scrape interval: the condition can only change
            // when a scrape lands, so this finds it to within that.
            let step = (self.scrape_interval / 4.0)
                .max(0.05)
                .max((to - from) / 10_000.0);
            let observation = match self
                .prometheus
                .query_range(&expr, from, to, Duration::from_secs_f64(step))
                .await
            {
                Ok(series) => ConditionObservation {
                    expr,
                    searched_from: from,
                    searched_to: to,
                    step_seconds: step,
                    first_true: series
                        .iter()
                        .filter_map(|s| s.values.iter().find(|p| !p.v.is_nan()).map(|p| p.t))
                        .fold(None, |best: Option<f64>, t| {
                            Some(best.map_or(t, |b| b.min(t)))
                        }),
                    error: None,
                },
                Err(e) => ConditionObservation {
                    expr,
                    searched_from: from,
                    searched_to: to,
                    step_seconds: step,
                    first_true: None,
                    error: Some((&e).into()),
                },
            };
            found.insert(check.id.clone(), observation);
        }
        found
    }

    pub async fn service_measurements(&self) -> BTreeMap<String, ServiceObservation> {
        let mut found = BTreeMap::new();
        for check in &self.plan.checks {
            let observation = match check.kind.service_query() {
                Some(ServiceQuery::Latency {
                    quantile, phase, ..
                }) => match self.phases.get(phase) {
                    Some(record) => self.latency(quantile, record).await,
                    None => continue,
                },
                Some(ServiceQuery::ErrorRatio { phase, .. }) => match self.phases.get(phase) {
                    Some(record) => self.error_ratio(record).await,
                    None => continue,
                },
                None => continue,
            };
            found.insert(check.id.clone(), observation);
        }
        found
    }

    pub async fn service_latency(&self, run_end: f64) -> ServiceLatencySeries {
        let metrics = &self.plan.service_metrics;
        let window = 4.0 * self.scrape_interval;
        let step = self.scrape_interval.max((run_end - self.run_start) / 600.0);
        let mut series = ServiceLatencySeries {
            window_seconds: window,
            step_seconds: step,
            p95: Vec::new(),
            p99: Vec::new(),
            error: None,
        };
        for (quantile, target) in [(0.95, &mut series.p95), (0.99, &mut series.p99)] {
            let query = format!(
                "histogram_quantile({quantile}, sum by (le) (rate({}_bucket{{{}}}[{}ms])))",
                metrics.duration_seconds,
                metrics.selector,
                (window * 1000.0).round() as u64
            );
            match self
                .prometheus
                .query_range(
                    &query,
                    self.run_start,
                    run_end,
                    Duration::from_secs_f64(step),
                )
                .await
            {
                Ok(found) => {
                    *target = found
                        .iter()
                        .flat_map(|s| s.values.iter())
                        .filter(|p| p.v.is_finite())
                        .map(|p| (p.t, p.v))
                        .collect();
                }
                Err(e) => series.error = Some((&e).into()),
            }
        }
        series
    }

    pub async fn dashboards(&self) -> BTreeMap<String, DashboardObservation> {
        let mut found = BTreeMap::new();
        for check in &self.plan.checks {
            let Some(file) = check.kind.dashboard() else {
                continue;
            };
            let dashboards = std::fs::read_to_string(file)
                .map_err(|e| e.to_string())
                .and_then(|text| {
                    crate::rules::dashboard::parse_dashboards(&text, file)
                        .map_err(|e| e.to_string())
                });
            // Each panel's queries say whether Prometheus could be asked
            // (`PanelResult::unavailable`): no separate readiness probe.
            let observation = match dashboards {
                Err(e) => DashboardObservation {
                    title: file.display().to_string(),
                    panels: Vec::new(),
                    error: Some(QueryFailure {
                        message: e,
                        unavailable: false,
                    }),
                },
                Ok(dashboards) => {
                    let mut panels = Vec::new();
                    for dashboard in &dashboards {
                        panels.extend(
                            crate::prom::panels::run_panels(
                                dashboard,
                                self.prometheus,
                                self.run_start,
                                self.observed_until,
                                Duration::from_secs_f64(self.scrape_interval),
                            )
                            .await,
                        );
                    }
                    DashboardObservation {
                        title: dashboards
                            .iter()
                            .map(|d| d.title.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                        panels,
                        error: None,
                    }
                }
            };
            found.insert(check.id.clone(), observation);
        }
        found
    }

    /// The phase as a range selector: evaluated at the phase's end over its
    /// length, so increase() sees exactly the scrapes inside the phase.
    fn window(&self, record: &PhaseRecord) -> (f64, String) {
        let length = (record.ended_at - record.started_at).max(self.scrape_interval);
        (
            record.ended_at,
            format!("[{}ms]", (length * 1000.0).round() as u64),
        )
    }

    async fn latency(&self, quantile: f64, record: &PhaseRecord) -> ServiceObservation {
        let metrics = &self.plan.service_metrics;
        let (at, range) = self.window(record);
        let buckets_query = format!(
            "sum by (le) (increase({}_bucket{{{}}}{range}))",
            metrics.duration_seconds, metrics.selector
        );
        let query = format!("histogram_quantile({quantile}, {buckets_query})");
        let mut observation = ServiceObservation {
            query: query.clone(),
            value: None,
            requests_seen: None,
            buckets: Vec::new(),
            error: None,
        };
        match self.prometheus.scalar(&query, Some(at)).await {
            Ok(value) => observation.value = value.filter(|v| v.is_finite()),
            Err(e) => {
                observation.error = Some((&e).into());
                return observation;
            }
        }
        match self.prometheus.query(&buckets_query, Some(at)).await {
            Ok(QueryResult::Vector(samples)) => {
                let mut buckets: Vec<(f64, f64)> = samples
                    .iter()
                    .filter_map(|s| {
                        let le = s.metric.get("le")?;
                        let bound = if le == "+Inf" {
                            f64::INFINITY
                        } else {
                            le.parse().ok()?
                        };
                        Some((bound, s.value.v))
                    })
                    .collect();
                buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                // The +Inf bucket is the total; JSON has no infinity, so it
                // is kept as the count and dropped from the bounds.
                observation.requests_seen = buckets.last().map(|b| b.1);
                buckets.retain(|(le, _)| le.is_finite());
                observation.buckets = buckets;
            }
            Ok(_) => {}
            Err(e) => observation.error = Some((&e).into()),
        }
        observation
    }

    async fn error_ratio(&self, record: &PhaseRecord) -> ServiceObservation {
        let metrics: &ServiceMetrics = &self.plan.service_metrics;
        let (at, range) = self.window(record);
        let joined = |extra: &str| {
            [metrics.selector.as_str(), extra]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        };
        let total_query = format!(
            "sum(increase({}{{{}}}{range}))",
            metrics.requests_total,
            joined("")
        );
        let errors_query = format!(
            "sum(increase({}{{{}}}{range}))",
            metrics.requests_total,
            joined(&metrics.error_selector)
        );
        let mut observation = ServiceObservation {
            query: format!("{errors_query} / {total_query}"),
            value: None,
            requests_seen: None,
            buckets: Vec::new(),
            error: None,
        };
        let total = match self.prometheus.scalar(&total_query, Some(at)).await {
            Ok(total) => total,
            Err(e) => {
                observation.error = Some((&e).into());
                return observation;
            }
        };
        // No 5xx series at all is an empty result: zero errors.
        let errors = match self.prometheus.scalar(&errors_query, Some(at)).await {
            Ok(errors) => errors.unwrap_or(0.0),
            Err(e) => {
                observation.error = Some((&e).into());
                return observation;
            }
        };
        observation.requests_seen = total;
        observation.value = total.filter(|t| *t > 0.0).map(|t| errors / t);
        observation
    }
}
