//! One clock for a drill: Prometheus's.
//!
//! Every figure compares firedrill's events (a phase began, a fault was
//! injected) with Prometheus's timestamps (evaluation ticks). A remote
//! Prometheus's clock can be off from ours, so we read its `time()` and take
//! the offset against the midpoint of the round trip (the NTP idea, good to
//! half the round-trip time, which is reported).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::prom::{PromClient, PromError};

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Clock {
    /// Prometheus time minus local time, in seconds.
    pub offset_seconds: f64,
    /// Round trip of the measurement, in seconds (the offset's uncertainty
    /// is half of it).
    pub round_trip_seconds: f64,
}

pub fn local_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
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

/// Parses the RFC 3339 timestamps of Prometheus's API (`lastEvaluation`,
/// `activeAt`): UTC `Z` or a numeric offset, with or without fractions.
pub fn parse_rfc3339(text: &str) -> Option<f64> {
    let text = text.trim();
    // Go prints the zero time as 0001-01-01T00:00:00Z for "never".
    if text.starts_with("0001-") {
        return None;
    }
    let (base, offset_seconds) = match text.strip_suffix('Z') {
        Some(base) => (base.to_string(), 0i64),
        None => {
            let split = text.len().checked_sub(6)?;
            let (base, offset) = text.split_at(split);
            let sign = match offset.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hours: i64 = offset.get(1..3)?.parse().ok()?;
            let minutes: i64 = offset.get(4..6)?.parse().ok()?;
            (base.to_string(), sign * (hours * 3600 + minutes * 60))
        }
    };
    let utc = humantime::parse_rfc3339_weak(&base).ok()?;
    let seconds = utc.duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
    Some(seconds - offset_seconds as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utc_and_offsets() {
        let utc = parse_rfc3339("2026-11-25T20:00:00.5Z").unwrap();
        let plus2 = parse_rfc3339("2026-11-25T22:00:00.5+02:00").unwrap();
        assert!((utc - plus2).abs() < 1e-6);
        assert!((utc - 1_795_636_800.5).abs() < 1e-3, "{utc}");
        assert_eq!(parse_rfc3339("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
