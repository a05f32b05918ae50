//! One clock for a drill: Prometheus's.
//!
//! Every figure compares firedrill's events (a phase began, a fault was
//! injected) with Prometheus's timestamps (evaluation ticks). A remote
//! Prometheus's clock can be off from ours, so we read its `time()` and take
//! the offset against the midpoint of the round trip (the NTP idea, good to
//! half the round-trip time, which is reported).

use crate::prom::{PromClient, PromError};
use crate::time::local_now;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Prometheus time minus local time, in seconds.
    pub offset_seconds: f64,
    /// Round trip of the measurement, in seconds (the offset's uncertainty
    /// is half of it).
    pub round_trip_seconds: f64,
}

impl Clock {
    /// Measures the offset a few times and keeps the tightest round trip.
    pub async fn align(prometheus: &PromClient) -> Result<Self, PromError> {
        let mut best: Option<Clock> = None;
        for _ in 0..3 {
            let before = local_now();
            let theirs = prometheus.time().await?;
            let after = local_now();
            let candidate = Clock {
                offset_seconds: theirs - (before + after) / 2.0,
                round_trip_seconds: after - before,
            };
            if best.is_none_or(|b| candidate.round_trip_seconds < b.round_trip_seconds) {
                best = Some(candidate);
            }
        }
        Ok(best.expect("three measurements were taken"))
    }

    /// Now, on Prometheus's clock.
    pub fn now(&self) -> f64 {
        local_now() + self.offset_seconds
    }
}
