//! What a phase's traffic did, in memory that does not grow with the run:
//! counters, HDR histograms of latency and send lag, and a per-second series
//! (one small histogram per second, kept compressed). Everything merges
//! exactly, so shards of one run (threads here, pods in a distributed run)
//! add up to the same numbers as a single recorder would.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latencies are recorded in microseconds, up to an hour.
const MAX_MICROS: u64 = 3_600_000_000;

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Status(u16),
    /// The TCP connection could not be made (refused, unreachable).
    Connect,
    /// No complete answer within the phase's timeout.
    Timeout,
    /// The connection was closed or reset before a complete answer.
    Reset,
    /// Anything else (a malformed answer, a body over the size limit).
    Other,
}

/// Counters by outcome. `requests` counts every scheduled request, including
/// those dropped before they could be sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub requests: u64,
    pub status_1xx: u64,
    pub status_2xx: u64,
    pub status_3xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    pub connect_errors: u64,
    pub timeouts: u64,
    pub resets: u64,
    pub other_errors: u64,
    /// Scheduled but never sent: every connection was still busy when the
    /// phase ended.
    pub dropped: u64,
}

impl Counts {
    pub fn count(&mut self, outcome: Outcome) {
        self.requests += 1;
        match outcome {
            Outcome::Status(code) => match code / 100 {
                1 => self.status_1xx += 1,
                2 => self.status_2xx += 1,
                3 => self.status_3xx += 1,
                4 => self.status_4xx += 1,
                _ => self.status_5xx += 1,
            },
            Outcome::Connect => self.connect_errors += 1,
            Outcome::Timeout => self.timeouts += 1,
            Outcome::Reset => self.resets += 1,
            Outcome::Other => self.other_errors += 1,
        }
    }

    pub fn add(&mut self, other: &Counts) {
        self.requests += other.requests;
        self.status_1xx += other.status_1xx;
        self.status_2xx += other.status_2xx;
        self.status_3xx += other.status_3xx;
        self.status_4xx += other.status_4xx;
        self.status_5xx += other.status_5xx;
        self.connect_errors += other.connect_errors;
        self.timeouts += other.timeouts;
        self.resets += other.resets;
        self.other_errors += other.other_errors;
        self.dropped += other.dropped;
    }

    pub fn responses(&self) -> u64 {
        self.status_1xx + self.status_2xx + self.status_3xx + self.status_4xx + self.status_5xx
    }

    pub fn transport_errors(&self) -> u64 {
        self.connect_errors + self.timeouts + self.resets + self.other_errors
    }

    /// What an error-ratio SLO counts as failed: server errors, requests that
    /// got no answer, and requests never sent. 4xx are the client's fault
    /// (the seed's invalid-JSON requests) and do not count.
    pub fn failed(&self) -> u64 {
        self.status_5xx + self.transport_errors() + self.dropped
    }
}

/// An HDR histogram of microseconds, serialized as base64 of HDR's V2
/// compressed format (readable by every HdrHistogram implementation).
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyHistogram(pub Histogram<u64>);

impl LatencyHistogram {
    /// Three significant digits: 0.1% error, for whole phases.
    pub fn precise() -> Self {
        LatencyHistogram(
            Histogram::new_with_bounds(1, MAX_MICROS, 3)
                .expect("static histogram bounds are valid"),
        )
    }

    /// Two significant digits: small enough to keep one per second.
    pub fn coarse() -> Self {
        LatencyHistogram(
            Histogram::new_with_bounds(1, MAX_MICROS, 2)
                .expect("static histogram bounds are valid"),
        )
    }

    pub fn record(&mut self, value: Duration) {
        let micros = (value.as_micros() as u64).clamp(1, MAX_MICROS);
        self.0.saturating_record(micros);
    }

    /// Adds another histogram's counts (never fails: both share bounds).
    pub fn add(&mut self, other: &LatencyHistogram) {
        // Values from a histogram with other bounds are clamped, not lost.
        if self.0.add(&other.0).is_err() {
            for v in other.0.iter_recorded() {
                self.0.saturating_record_n(
                    v.value_iterated_to().clamp(1, MAX_MICROS),
                    v.count_at_value(),
                );
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The value at quantile `q`, in milliseconds (0 when empty).
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        self.0.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.0.max() as f64 / 1000.0
    }

    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            count: self.count(),
            min_ms: if self.0.is_empty() {
                0.0
            } else {
                self.0.min() as f64 / 1000.0
            },
            mean_ms: self.0.mean() / 1000.0,
            p50_ms: self.quantile_ms(0.50),
            p90_ms: self.quantile_ms(0.90),
            p95_ms: self.quantile_ms(0.95),
            p99_ms: self.quantile_ms(0.99),
            p999_ms: self.quantile_ms(0.999),
            max_ms: self.max_ms(),
        }
    }

    pub fn to_base64(&self) -> String {
        let mut bytes = Vec::new();
        // Writing to a Vec cannot fail for a valid histogram.
        if V2DeflateSerializer::new()
            .serialize(&self.0, &mut bytes)
            .is_err()
        {
            return String::new();
        }
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    pub fn from_base64(text: &str) -> Result<Self, HistogramDecodeError> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(text)?;
        Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map(LatencyHistogram)
            .map_err(HistogramDecodeError::Histogram)
    }
}

/// A histogram in report.json that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum HistogramDecodeError {
    #[error("histogram is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// Said with hdrhistogram's `Debug` (its variant's name), as before.
    #[error("histogram cannot be decoded: {0:?}")]
    Histogram(#[source] hdrhistogram::serialization::DeserializeError),
}

impl Serialize for LatencyHistogram {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for LatencyHistogram {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        LatencyHistogram::from_base64(&text).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    pub min_ms: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// One second of a phase (by completion time, from the phase's start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondStats {
    pub second: u32,
    #[serde(flatten)]
    pub counts: Counts,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The second's latencies (two significant digits, compressed: a few
    /// hundred bytes), so merged runs recompute exact per-second percentiles
    /// and a long run's series stays small in memory.
    pub histogram: String,
}

impl SecondStats {
    pub fn new(second: u32, counts: Counts, histogram: &LatencyHistogram) -> Self {
        SecondStats {
            second,
            counts,
            p50_ms: histogram.quantile_ms(0.50),
            p95_ms: histogram.quantile_ms(0.95),
            p99_ms: histogram.quantile_ms(0.99),
            max_ms: histogram.max_ms(),
            histogram: histogram.to_base64(),
        }
    }

    pub fn latency(&self) -> LatencyHistogram {
        LatencyHistogram::from_base64(&self.histogram)
            .unwrap_or_else(|_| LatencyHistogram::coarse())
    }

    fn merge(&mut self, other: &SecondStats) {
        self.counts.add(&other.counts);
        let mut histogram = self.latency();
        histogram.add(&other.latency());
        *self = SecondStats::new(self.second, self.counts, &histogram);
    }
}

/// Connections opened, by the protocol they speak (ALPN decides for https).
/// More than the worker count means the target closed some (or failed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connections {
    pub http1: u64,
    pub http2: u64,
}

/// Everything recorded about one phase's traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseStats {
    pub counts: Counts,
    /// Requests sent later than intended because every connection was busy
    /// (the in-flight bound was hit). Their latency counts from the intended time.
    pub delayed: u64,
    /// From each request's intended send time to its complete answer.
    pub latency: LatencyHistogram,
    /// From intended to actual send time (open model).
    pub send_lag: LatencyHistogram,
    pub series: Vec<SecondStats>,
    /// Seconds from the phase's start to the last answer.
    pub elapsed_seconds: f64,
    #[serde(default)]
    pub connections: Connections,
    /// Load threads that sent the phase (summed over merged shards); 0 in
    /// reports written before the engine said.
    #[serde(default)]
    pub threads: u32,
    /// The clock that timed the phase's sends (open model only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacer: Option<PacerRan>,
}

/// The clock that timed an open-model phase's sends, as it ran: the report
/// says so, since tokio's timer sends up to a millisecond late. Ordered
/// from the finest clock to the coarsest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PacerRan {
    /// The high-resolution kernel timer (timerfd), as asked.
    Timerfd,
    /// tokio's 1 ms timer, as asked (`--pacing tokio`).
    Tokio,
    /// timerfd was asked for and could not be had (no timerfd here, or no
    /// file descriptor left) for some or all waits: tokio's timer ran those.
    TokioFallback,
}

impl PacerRan {
    /// Two shards' pacers as one: the coarser clock, since a figure timed
    /// by either holds only what the coarser one can say.
    pub fn merge(self, other: PacerRan) -> PacerRan {
        self.max(other)
    }

    pub fn label(self) -> &'static str {
        match self {
            PacerRan::Timerfd => "timerfd",
            PacerRan::Tokio => "tokio",
            PacerRan::TokioFallback => "tokio (timerfd unavailable)",
        }
    }
}

impl Default for PhaseStats {
    fn default() -> Self {
        PhaseStats {
            counts: Counts::default(),
            delayed: 0,
            latency: LatencyHistogram::precise(),
            send_lag: LatencyHistogram::precise(),
            series: Vec::new(),
            elapsed_seconds: 0.0,
            connections: Connections::default(),
            threads: 0,
            pacer: None,
        }
    }
}

impl PhaseStats {
    /// Builds a phase's statistics from individual samples (second of
    /// completion from the phase's start, outcome, latency): the same result
    /// the engine's recorders produce, for tools and tests that replay data.
    pub fn from_samples(samples: &[(u32, Outcome, Duration)]) -> Self {
        let mut stats = PhaseStats::default();
        let mut seconds: std::collections::BTreeMap<u32, (Counts, LatencyHistogram)> =
            std::collections::BTreeMap::new();
        for &(second, outcome, latency) in samples {
            stats.counts.count(outcome);
            let (counts, histogram) = seconds
                .entry(second)
                .or_insert_with(|| (Counts::default(), LatencyHistogram::coarse()));
            counts.count(outcome);
            if matches!(outcome, Outcome::Status(_) | Outcome::Timeout) {
                stats.latency.record(latency);
                histogram.record(latency);
            }
            stats.elapsed_seconds = stats.elapsed_seconds.max(second as f64 + 1.0);
        }
        for (second, (counts, histogram)) in seconds {
            stats.merge_second(&SecondStats::new(second, counts, &histogram));
        }
        stats
    }

    /// Adds another recorder's (or shard's) observations of the same phase.
    pub fn merge(&mut self, other: &PhaseStats) {
        self.counts.add(&other.counts);
        self.delayed += other.delayed;
        self.connections.http1 += other.connections.http1;
        self.connections.http2 += other.connections.http2;
        self.threads += other.threads;
        self.pacer = match (self.pacer, other.pacer) {
            (Some(a), Some(b)) => Some(a.merge(b)),
            (a, b) => a.or(b),
        };
        self.latency.add(&other.latency);
        self.send_lag.add(&other.send_lag);
        self.elapsed_seconds = self.elapsed_seconds.max(other.elapsed_seconds);
        for second in &other.series {
            self.merge_second(second);
        }
    }

    pub(crate) fn merge_second(&mut self, second: &SecondStats) {
        match self
            .series
            .binary_search_by_key(&second.second, |s| s.second)
        {
            Ok(i) => self.series[i].merge(second),
            Err(i) => self.series.insert(i, second.clone()),
        }
    }
}

/// Counters a progress display reads while a phase runs (updated about once
/// a second per shard, off the hot path).
#[derive(Debug, Default)]
pub struct Live {
    pub requests: AtomicU64,
    pub failed: AtomicU64,
    /// The last completed second's p99, in microseconds.
    pub last_p99_micros: AtomicU64,
}

impl Live {
    pub fn add(&self, counts: &Counts, p99_ms: f64) {
        self.requests.fetch_add(counts.requests, Ordering::Relaxed);
        self.failed.fetch_add(counts.failed(), Ordering::Relaxed);
        self.last_p99_micros
            .store((p99_ms * 1000.0) as u64, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        self.requests.store(0, Ordering::Relaxed);
        self.failed.store(0, Ordering::Relaxed);
        self.last_p99_micros.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_survive_json_and_merge_exactly() {
        let mut a = LatencyHistogram::precise();
        let mut b = LatencyHistogram::precise();
        for ms in 1..=100u64 {
            a.record(Duration::from_millis(ms));
            b.record(Duration::from_millis(ms + 100));
        }
        let json = serde_json::to_string(&a).unwrap();
        let back: LatencyHistogram = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
        let mut merged = a.clone();
        merged.add(&b);
        assert_eq!(merged.count(), 200);
        assert!((merged.quantile_ms(0.5) - 100.0).abs() < 0.2);
    }

    #[test]
    fn failed_counts_server_and_transport_errors_not_client_errors() {
        let mut counts = Counts::default();
        for outcome in [
            Outcome::Status(200),
            Outcome::Status(400),
            Outcome::Status(503),
            Outcome::Connect,
            Outcome::Timeout,
        ] {
            counts.count(outcome);
        }
        assert_eq!(counts.requests, 5);
        assert_eq!(counts.failed(), 3);
        assert_eq!(counts.responses(), 3);
    }

    #[test]
    fn merging_series_adds_seconds_in_order() {
        let second = |s, ms| {
            let mut h = LatencyHistogram::coarse();
            h.record(Duration::from_millis(ms));
            let mut c = Counts::default();
            c.count(Outcome::Status(200));
            SecondStats::new(s, c, &h)
        };
        let mut a = PhaseStats::default();
        a.merge_second(&second(2, 10));
        a.merge_second(&second(0, 10));
        let mut b = PhaseStats::default();
        b.merge_second(&second(2, 30));
        a.merge(&b);
        assert_eq!(
            a.series.iter().map(|s| s.second).collect::<Vec<_>>(),
            vec![0, 2]
        );
        assert_eq!(a.series[1].counts.requests, 2);
        assert!(a.series[1].max_ms >= 29.0);
    }
}
