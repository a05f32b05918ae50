//! What a classic histogram's buckets let `histogram_quantile` say:
//! it never estimates more than the last finite bucket bound
//! (promql/quantile.go returns that bound when the rank falls in the +Inf
//! bucket), and between two bounds the estimate is a linear interpolation,
//! not a measurement. The client libraries' default buckets, the layouts
//! the project knows — a table by metric name (and, for a name many
//! exporters share, the job), each read from the exporter's source and
//! named there — and a histogram's unit read from its name (`_seconds`,
//! `_milliseconds`, `_bytes`).

use promql_parser::parser::Expr;

use crate::rules::promql::{metric_name, single_selector, unparen};

/// Go's and Rust's prometheus client default buckets (seconds).
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Bucket bounds and where they were learnt.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownBuckets {
    pub bounds: Vec<f64>,
    pub from: String,
}

/// How a layout's bounds are written in its source.
#[derive(Debug, Clone, Copy)]
enum Bounds {
    List(&'static [f64]),
    /// client_golang's `ExponentialBuckets(start, factor, count)`.
    Exponential {
        start: f64,
        factor: f64,
        count: u32,
    },
}

impl Bounds {
    fn values(self) -> Vec<f64> {
        match self {
            Bounds::List(list) => list.to_vec(),
            Bounds::Exponential {
                start,
                factor,
                count,
            } => (0..count).map(|i| start * factor.powi(i as i32)).collect(),
        }
    }
}

/// One exporter's buckets for one histogram, and where they were read.
struct Layout {
    histogram: &'static str,
    /// For a name many exporters share: a part of the `job` the rule
    /// selects (`thanos`), without which the layout is not assumed.
    job: Option<&'static str>,
    bounds: Bounds,
    /// The exporter, its version, and the file that sets the buckets.
    source: &'static str,
}

/// Buckets of well-known exporters whose layouts are not the client
/// defaults (or are, said by their source). A histogram not here has
/// unknown buckets: findings on it rest on an assumption.
const LAYOUTS: &[Layout] = &[
    Layout {
        histogram: "gateway_http_request_duration_seconds",
        job: None,
        bounds: Bounds::List(DEFAULT_BUCKETS),
        source: "the seed gateway, its client's default buckets",
    },
    Layout {
        histogram: "gateway_backend_request_duration_seconds",
        job: None,
        bounds: Bounds::List(DEFAULT_BUCKETS),
        source: "the seed gateway, its client's default buckets",
    },
    Layout {
        histogram: "prometheus_http_request_duration_seconds",
        job: None,
        bounds: Bounds::List(&[0.1, 0.2, 0.4, 1.0, 3.0, 8.0, 20.0, 60.0, 120.0]),
        source: "Prometheus 2.x, prometheus/prometheus web/web.go",
    },
    Layout {
        histogram: "http_request_duration_seconds",
        job: Some("thanos"),
        bounds: Bounds::List(&[
            0.001, 0.01, 0.1, 0.3, 0.6, 1.0, 3.0, 6.0, 9.0, 20.0, 30.0, 60.0, 90.0, 120.0, 240.0,
            360.0, 720.0,
        ]),
        source: "Thanos, thanos-io/thanos pkg/extprom/http/metrics.go (its default when no buckets are given)",
    },
    Layout {
        histogram: "thanos_objstore_bucket_operation_duration_seconds",
        job: None,
        bounds: Bounds::List(&[
            0.001, 0.01, 0.1, 0.3, 0.6, 1.0, 3.0, 6.0, 9.0, 20.0, 30.0, 60.0, 90.0, 120.0,
        ]),
        source: "Thanos, thanos-io/objstore objstore.go (objstore_bucket_operation_duration_seconds under Thanos's thanos_ prefix)",
    },
    Layout {
        histogram: "coredns_dns_request_duration_seconds",
        job: None,
        bounds: Bounds::Exponential {
            start: 0.00025,
            factor: 2.0,
            count: 16,
        },
        source: "CoreDNS 1.x, coredns/coredns plugin/metrics/vars/vars.go (plugin.TimeBuckets in plugin/plugin.go: 0.25ms to 8s)",
    },
    Layout {
        histogram: "nginx_http_request_duration_seconds",
        job: None,
        bounds: Bounds::List(&[
            0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0,
            3.0, 4.0, 5.0, 10.0,
        ]),
        source: "nginx-lua-prometheus, knyar/nginx-lua-prometheus prometheus.lua DEFAULT_BUCKETS (the name its README gives this histogram)",
    },
    Layout {
        histogram: "nginx_ingress_controller_request_duration_seconds",
        job: None,
        bounds: Bounds::List(DEFAULT_BUCKETS),
        source: "ingress-nginx, kubernetes/ingress-nginx pkg/flags/flags.go (--time-buckets defaults to client_golang's DefBuckets)",
    },
    Layout {
        histogram: "etcd_network_peer_round_trip_time_seconds",
        job: None,
        bounds: Bounds::Exponential {
            start: 0.0001,
            factor: 2.0,
            count: 16,
        },
        source: "etcd 3.4+, etcd-io/etcd rafthttp metrics.go (3.3 and older: 14 buckets, the same bounds up to 0.8192s)",
    },
    Layout {
        histogram: "etcd_disk_wal_fsync_duration_seconds",
        job: None,
        bounds: Bounds::Exponential {
            start: 0.001,
            factor: 2.0,
            count: 14,
        },
        source: "etcd 3.x, etcd-io/etcd server/storage/wal/metrics.go (1ms to 8.192s)",
    },
    Layout {
        histogram: "etcd_disk_backend_commit_duration_seconds",
        job: None,
        bounds: Bounds::Exponential {
            start: 0.001,
            factor: 2.0,
            count: 14,
        },
        source: "etcd 3.x, etcd-io/etcd server/storage/backend/metrics.go (1ms to 8.192s)",
    },
    Layout {
        histogram: "apiserver_request_duration_seconds",
        job: None,
        bounds: Bounds::List(&[
            0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0,
            8.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
        ]),
        source: "Kubernetes 1.23+, kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/endpoints/metrics/metrics.go (set in 1.23, kubernetes#106306)",
    },
    Layout {
        histogram: "kubelet_pod_worker_duration_seconds",
        job: None,
        bounds: Bounds::List(DEFAULT_BUCKETS),
        source: "Kubernetes, kubernetes/kubernetes pkg/kubelet/metrics/metrics.go (metrics.DefBuckets)",
    },
];

/// The buckets of `histogram` if the table knows them; `jobs` are the
/// values (or patterns) of the `job` matchers the rule selects with, for a
/// name many exporters share.
pub fn known_layout(histogram: &str, jobs: &[String]) -> Option<KnownBuckets> {
    LAYOUTS
        .iter()
        .filter(|l| l.histogram == histogram)
        .find(|l| {
            l.job
                .is_none_or(|part| jobs.iter().any(|j| j.contains(part)))
        })
        .map(|l| KnownBuckets {
            bounds: l.bounds.values(),
            from: l.source.to_string(),
        })
}

/// `t` is one of the bucket bounds (to float precision): a quantile at it is
/// exact, not interpolated.
pub fn is_bucket_bound(bounds: &[f64], t: f64) -> bool {
    bounds
        .iter()
        .any(|b| (b - t).abs() < 1e-9 * b.abs().max(1.0))
}

/// Whether histogram_quantile over these bounds can never pass `t`.
pub fn never_exceeds(bounds: &[f64], t: f64, inclusive: bool) -> bool {
    let top = bounds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    t > top || (t == top && !inclusive)
}

/// The histogram a `histogram_quantile` reads, its quantile, and its
/// argument (for the `le` check).
pub fn quantile_call(expr: &Expr) -> Option<(f64, String, &Expr)> {
    let Expr::Call(call) = unparen(expr) else {
        return None;
    };
    if call.func.name != "histogram_quantile" {
        return None;
    }
    let quantile = match unparen(call.args.args.first()?) {
        Expr::NumberLiteral(n) => n.val,
        _ => return None,
    };
    let argument = call.args.args.get(1)?;
    let name = single_selector(argument).and_then(metric_name)?;
    Some((
        quantile,
        name.trim_end_matches("_bucket").to_string(),
        argument,
    ))
}

/// A histogram's unit, from its name.
pub fn unit(histogram: &str) -> Option<&'static str> {
    [
        ("_seconds", "s"),
        ("_milliseconds", "ms"),
        ("_microseconds", "µs"),
        ("_bytes", " bytes"),
    ]
    .into_iter()
    .find(|(suffix, _)| histogram.ends_with(suffix))
    .map(|(_, unit)| unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_knows_each_layout_from_its_source_and_shared_names_by_job() {
        let coredns = known_layout("coredns_dns_request_duration_seconds", &[]).unwrap();
        assert_eq!(coredns.bounds.len(), 16);
        assert!((coredns.bounds[0] - 0.00025).abs() < 1e-12);
        assert!((coredns.bounds[15] - 8.192).abs() < 1e-9);
        assert!(coredns.from.contains("plugin/metrics/vars/vars.go"));
        let prometheus = known_layout("prometheus_http_request_duration_seconds", &[]).unwrap();
        assert!(
            is_bucket_bound(&prometheus.bounds, 20.0) && !is_bucket_bound(&prometheus.bounds, 30.0)
        );
        // A name many exporters share is known only for the job it names.
        assert!(known_layout("http_request_duration_seconds", &[]).is_none());
        assert!(known_layout("http_request_duration_seconds", &["api".into()]).is_none());
        let thanos = known_layout(
            "http_request_duration_seconds",
            &[".*thanos-query.*".into()],
        )
        .unwrap();
        assert!(never_exceeds(DEFAULT_BUCKETS, 40.0, false));
        assert!(!never_exceeds(&thanos.bounds, 40.0, false));
        assert!(known_layout("my_app_latency_seconds", &[]).is_none());
        for layout in LAYOUTS {
            let bounds = layout.bounds.values();
            assert!(
                bounds.windows(2).all(|w| w[0] < w[1]),
                "{}",
                layout.histogram
            );
            assert!(!layout.source.is_empty());
        }
    }
}
