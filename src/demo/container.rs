//! The demo's container series: what a kubelet's cAdvisor exposes at
//! `/metrics/cadvisor` for the pod the demo stands for, under cAdvisor's
//! names and labels, with this process's real usage against configured
//! limits. Read when scraped (a `Collector`), never cached.
//!
//! One container, `gateway` in pod `api-gateway-demo-<pid>` of namespace
//! `default`. The model backend runs in the same process on the same
//! threads, so its share of the memory and the CPU cannot be told apart:
//! the whole process is the gateway's container and the backend has no
//! container series of its own (a `sentiment-api-…` pod with the same
//! figures would count them twice). cAdvisor's `id`, `image` and `name`
//! labels are left out: no rule or panel selects on them, and here they
//! could only be made up.
//!
//! Working set: cAdvisor's is the cgroup's memory usage minus its inactive
//! file pages. For one process that is its resident set — anonymous memory
//! (heap, the hog) and the file pages it maps — read from the `resident`
//! field of /proc/self/statm (the counter /proc/self/status shows as
//! VmRSS, without parsing a page of text). Page cache the process only
//! read through is not in it: a cgroup would count it, but mostly as
//! inactive file pages, which the working set subtracts.
//!
//! CPU: user plus system seconds of every thread, from getrusage
//! (microseconds, where /proc/self/stat counts 10 ms ticks).

use std::collections::HashMap;
use std::io;

use prometheus::core::{Collector, Desc};
use prometheus::proto::{Counter, Gauge, LabelPair, Metric, MetricFamily, MetricType};

pub const WORKING_SET: &str = "container_memory_working_set_bytes";
pub const MEMORY_LIMIT: &str = "container_spec_memory_limit_bytes";
pub const CPU_USAGE: &str = "container_cpu_usage_seconds_total";
pub const CPU_QUOTA: &str = "container_spec_cpu_quota";
pub const CPU_PERIOD: &str = "container_spec_cpu_period";

/// The CFS period a kubelet sets (`--cpu-cfs-quota-period`, 100ms), in
/// microseconds as cAdvisor reports it; the quota is the limit's share of it.
pub const CPU_PERIOD_MICROS: f64 = 100_000.0;

/// The pod and container the series are labelled with.
pub const NAMESPACE: &str = "default";
pub const CONTAINER: &str = "gateway";

/// What the demo's container may use, as its pod spec's `resources.limits`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub memory_bytes: u64,
    /// CPU cores (`500m` is 0.5).
    pub cpu_cores: f64,
}

impl Default for Limits {
    /// 512 MiB and one core: the demo alone holds about 8 MiB; with
    /// firedrill's load engine in the same process (the embedded
    /// environment) the busiest shipped scenario, slo-burn at 100 requests
    /// a second, peaks at 4% of the memory and 6% of the core.
    fn default() -> Self {
        Limits {
            memory_bytes: 512 << 20,
            cpu_cores: 1.0,
        }
    }
}

/// `api-gateway-demo-<pid>`: a pod name as a Deployment's pods have, unique
/// per process as pods are per restart.
pub fn pod_name() -> String {
    format!("api-gateway-demo-{}", std::process::id())
}

/// This process's resident set, in bytes (see the module comment).
pub fn working_set_bytes() -> io::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let resident: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable /proc/self/statm"))?;
    Ok(resident * page_size())
}

/// User plus system CPU seconds of every thread of this process so far.
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given, which is
    // zeroed (a valid `rusage`) and lives across the call.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return 0.0;
        }
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

pub fn page_size() -> u64 {
    // SAFETY: sysconf reads a constant of the system; no memory is passed.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096).max(1)
}

/// The five series, read at every scrape.
pub struct ContainerCollector {
    limits: Limits,
    labels: Vec<LabelPair>,
    descs: Vec<Desc>,
}

const SERIES: [(&str, &str); 5] = [
    (WORKING_SET, "Current working set of the container in bytes"),
    (MEMORY_LIMIT, "Memory limit for the container."),
    (
        CPU_USAGE,
        "Cumulative cpu time consumed by the container in core-seconds",
    ),
    (CPU_QUOTA, "CPU quota of the container."),
    (CPU_PERIOD, "CPU period of the container."),
];

impl ContainerCollector {
    pub fn new(limits: Limits, pod: &str) -> Self {
        let labels = [
            ("container", CONTAINER),
            ("namespace", NAMESPACE),
            ("pod", pod),
        ];
        let const_labels: HashMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let descs = SERIES
            .iter()
            .map(|(name, help)| {
                Desc::new(
                    name.to_string(),
                    help.to_string(),
                    Vec::new(),
                    const_labels.clone(),
                )
                .expect("static metric definition is valid")
            })
            .collect();
        let labels = labels
            .iter()
            .map(|(k, v)| {
                let mut pair = LabelPair::default();
                pair.set_name(k.to_string());
                pair.set_value(v.to_string());
                pair
            })
            .collect();
        ContainerCollector {
            limits,
            labels,
            descs,
        }
    }

    fn family(&self, name: &str, help: &str, value: f64) -> MetricFamily {
        let mut metric = Metric::from_label(self.labels.clone());
        let kind = if name == CPU_USAGE {
            let mut counter = Counter::default();
            counter.set_value(value);
            metric.set_counter(counter);
            MetricType::COUNTER
        } else {
            let mut gauge = Gauge::default();
            gauge.set_value(value);
            metric.set_gauge(gauge);
            MetricType::GAUGE
        };
        let mut family = MetricFamily::default();
        family.set_name(name.to_string());
        family.set_help(help.to_string());
        family.set_field_type(kind);
        family.set_metric(vec![metric]);
        family
    }
}

impl Collector for ContainerCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let values = [
            // An unreadable /proc leaves the series out rather than show 0.
            working_set_bytes().ok().map(|b| b as f64),
            Some(self.limits.memory_bytes as f64),
            Some(cpu_seconds()),
            Some(self.limits.cpu_cores * CPU_PERIOD_MICROS),
            Some(CPU_PERIOD_MICROS),
        ];
        SERIES
            .iter()
            .zip(values)
            .filter_map(|((name, help), value)| Some(self.family(name, help, value?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_series_carry_cadvisors_names_labels_and_the_process_usage() {
        let collector = ContainerCollector::new(
            Limits {
                memory_bytes: 256 << 20,
                cpu_cores: 0.5,
            },
            "api-gateway-demo-1",
        );
        let families = collector.collect();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        assert_eq!(names, SERIES.map(|(n, _)| n));
        let value = |name: &str| {
            let family = families.iter().find(|f| f.name() == name).unwrap();
            let metric = &family.get_metric()[0];
            let labels: Vec<(&str, &str)> = metric
                .get_label()
                .iter()
                .map(|l| (l.name(), l.value()))
                .collect();
            assert_eq!(
                labels,
                [
                    ("container", "gateway"),
                    ("namespace", "default"),
                    ("pod", "api-gateway-demo-1")
                ]
            );
            if name == CPU_USAGE {
                metric.get_counter().get_value()
            } else {
                metric.get_gauge().get_value()
            }
        };
        assert_eq!(value(MEMORY_LIMIT), (256 << 20) as f64);
        assert_eq!(value(CPU_QUOTA) / value(CPU_PERIOD), 0.5);
        assert!(
            value(WORKING_SET) > 1e6,
            "a process has a megabyte resident"
        );
        assert!(value(CPU_USAGE) > 0.0);
    }
}
