//! After the traffic, for the windowed service-side SLOs: the service's own
//! figures over each window of the phase, asked of Prometheus as a range
//! query of `increase()` over the window, stepped by the scrape interval
//! from the phase's start plus one window to its end.
//!
//! What Prometheus can answer exactly: a window holds whole scrapes, and
//! increase() over it extrapolates every series of one target by the same
//! factor, so a share (requests under a bucket bound, errors over requests)
//! is exact. What it cannot: a window holding fewer than two scrapes has
//! no increase at all, and a quantile between bucket bounds is
//! histogram_quantile's interpolation; the check says which.

use std::collections::BTreeMap;
use std::time::Duration;

use super::collect::Collector;
use crate::checks::ServiceQuery;
use crate::plan::ServiceMetrics;
use crate::prom::Series;
use crate::record::{PhaseRecord, QueryFailure, ServiceWindow, ServiceWindows};

/// Points of range queries that share a start and a step, by timestamp.
fn key(t: f64) -> i64 {
    (t * 1000.0).round() as i64
}

impl Collector<'_> {
    /// By check id: the windows of each windowed service-side SLO.
    pub async fn service_windows(&self) -> BTreeMap<String, ServiceWindows> {
        let mut found = BTreeMap::new();
        for check in &self.plan.checks {
            let (quantile, phase, window) = match check.kind.service_query() {
                Some(ServiceQuery::Latency {
                    quantile,
                    phase,
                    window: Some(window),
                }) => (Some(quantile), phase, window),
                Some(ServiceQuery::ErrorRatio {
                    phase,
                    window: Some(window),
                }) => (None, phase, window),
                _ => continue,
            };
            let Some(record) = self.phases.get(phase) else {
                continue;
            };
            let windows = self.windows_of(quantile, record, f64::from(window)).await;
            found.insert(check.id.clone(), windows);
        }
        found
    }

    async fn windows_of(
        &self,
        quantile: Option<f64>,
        record: &PhaseRecord,
        window: f64,
    ) -> ServiceWindows {
        let metrics = &self.plan.service_metrics;
        let range = format!("[{}ms]", (window * 1000.0).round() as u64);
        let (query, ratio_parts) = match quantile {
            Some(q) => (
                format!(
                    "histogram_quantile({q}, {})",
                    buckets_query(metrics, &range)
                ),
                None,
            ),
            None => {
                let (errors, total) = ratio_queries(metrics, &range);
                (format!("{errors} / {total}"), Some((errors, total)))
            }
        };
        let mut out = ServiceWindows {
            window_seconds: window,
            step_seconds: self.scrape_interval,
            query,
            windows: Vec::new(),
            error: None,
        };
        let cannot = |message: String| {
            Some(QueryFailure {
                message,
                unavailable: false,
            })
        };
        if window < 2.0 * self.scrape_interval {
            out.error = cannot(format!(
                "Prometheus cannot answer a {window}s window: it holds fewer than two scrapes at a {}s scrape interval, and increase() needs two",
                self.scrape_interval
            ));
            return out;
        }
        let (from, to) = (record.started_at + window, record.ended_at);
        if from > to + 1e-6 {
            out.error = cannot(format!(
                "the phase ran {:.1}s, shorter than the {window}s window",
                record.ended_at - record.started_at
            ));
            return out;
        }
        let result = match (quantile, ratio_parts) {
            (Some(_), _) => {
                self.latency_windows(&out.query, metrics, &range, from, to)
                    .await
            }
            (None, Some((errors, total))) => self.ratio_windows(&errors, &total, from, to).await,
            (None, None) => Ok(Vec::new()),
        };
        match result {
            Ok(windows) => out.windows = windows,
            Err(e) => out.error = Some((&e).into()),
        }
        out
    }

    async fn range(
        &self,
        expr: &str,
        from: f64,
        to: f64,
    ) -> Result<Vec<Series>, crate::prom::PromError> {
        self.prometheus
            .query_range(
                expr,
                from,
                to,
                Duration::from_secs_f64(self.scrape_interval),
            )
            .await
    }

    async fn latency_windows(
        &self,
        quantile_query: &str,
        metrics: &ServiceMetrics,
        range: &str,
        from: f64,
        to: f64,
    ) -> Result<Vec<ServiceWindow>, crate::prom::PromError> {
        let values = self.range(quantile_query, from, to).await?;
        let buckets = self.range(&buckets_query(metrics, range), from, to).await?;
        let mut by_time: BTreeMap<i64, ServiceWindow> = BTreeMap::new();
        for series in &buckets {
            let Some(le) = series.metric.get("le") else {
                continue;
            };
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                match le.parse::<f64>() {
                    Ok(bound) => bound,
                    Err(_) => continue,
                }
            };
            for point in &series.values {
                let window = by_time
                    .entry(key(point.t))
                    .or_insert_with(|| empty(point.t));
                // The +Inf bucket is the total (JSON has no infinity).
                if bound.is_infinite() {
                    window.requests_seen = Some(point.v);
                } else {
                    window.buckets.push((bound, point.v));
                }
            }
        }
        for point in values.iter().flat_map(|s| &s.values) {
            let window = by_time
                .entry(key(point.t))
                .or_insert_with(|| empty(point.t));
            window.value = Some(point.v).filter(|v| v.is_finite());
        }
        let mut windows: Vec<ServiceWindow> = by_time.into_values().collect();
        for window in &mut windows {
            window.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        Ok(windows)
    }

    async fn ratio_windows(
        &self,
        errors: &str,
        total: &str,
        from: f64,
        to: f64,
    ) -> Result<Vec<ServiceWindow>, crate::prom::PromError> {
        let totals = self.range(total, from, to).await?;
        let failed = self.range(errors, from, to).await?;
        // No 5xx series at all is an empty result: zero errors.
        let failed: BTreeMap<i64, f64> = failed
            .iter()
            .flat_map(|s| &s.values)
            .map(|p| (key(p.t), p.v))
            .collect();
        Ok(totals
            .iter()
            .flat_map(|s| &s.values)
            .map(|p| ServiceWindow {
                end_at: p.t,
                value: (p.v > 0.0).then(|| failed.get(&key(p.t)).copied().unwrap_or(0.0) / p.v),
                requests_seen: Some(p.v),
                buckets: Vec::new(),
            })
            .collect())
    }
}

fn empty(t: f64) -> ServiceWindow {
    ServiceWindow {
        end_at: t,
        value: None,
        requests_seen: None,
        buckets: Vec::new(),
    }
}

fn buckets_query(metrics: &ServiceMetrics, range: &str) -> String {
    format!(
        "sum by (le) (increase({}_bucket{{{}}}{range}))",
        metrics.duration_seconds, metrics.selector
    )
}

/// The errors' and the requests' increase over the window.
fn ratio_queries(metrics: &ServiceMetrics, range: &str) -> (String, String) {
    let joined = |extra: &str| {
        [metrics.selector.as_str(), extra]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    };
    (
        format!(
            "sum(increase({}{{{}}}{range}))",
            metrics.requests_total,
            joined(&metrics.error_selector)
        ),
        format!(
            "sum(increase({}{{{}}}{range}))",
            metrics.requests_total,
            joined("")
        ),
    )
}
