//! Time, in one place: the wall clock as Unix seconds, RFC 3339 timestamps
//! (Prometheus's API and the report's own), and how durations are written —
//! for people (`1m10.5s`, `6.6s`) and for Prometheus (`1m30s500ms`, the
//! syntax its configuration and PromQL read back) — with the one number
//! formatter messages share (`trim_float`).
//!
//! Knows nothing of the rest of firedrill.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, as Unix seconds on this machine's clock.
pub fn local_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

/// Now in RFC 3339, to the second (`2026-11-25T20:26:32Z`).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// Unix seconds as RFC 3339 with milliseconds (`2026-11-25T20:26:32.123Z`).
pub fn rfc3339(seconds: f64) -> String {
    let at = UNIX_EPOCH + Duration::from_secs_f64(seconds.max(0.0));
    humantime::format_rfc3339_millis(at).to_string()
}

/// Parses the RFC 3339 timestamps of Prometheus's and Alertmanager's APIs
/// (`lastEvaluation`, `activeAt`, `startsAt`): UTC `Z` or a numeric offset,
/// with or without fractions. Go's zero time (`0001-01-01T00:00:00Z`) means
/// "never" and gives `None`.
pub fn parse_rfc3339(text: &str) -> Option<f64> {
    let text = text.trim();
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

/// A duration for people, to a tenth of a second: `57s`, `1m10.5s`, `2m`,
/// `1h30m`, `3d`, `0.3s`.
pub fn format_duration(d: Duration) -> String {
    format_duration_secs(d.as_secs_f64())
}

/// [`format_duration`] of a number of seconds (negative counts as zero).
pub fn format_duration_secs(seconds: f64) -> String {
    let tenths = (seconds.max(0.0) * 10.0).round() as u64;
    let (days, rest) = (tenths / 864_000, tenths % 864_000);
    let (hours, rest) = (rest / 36_000, rest % 36_000);
    let (minutes, rest) = (rest / 600, rest % 600);
    let mut out = String::new();
    for (value, unit) in [(days, "d"), (hours, "h"), (minutes, "m")] {
        if value > 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    if rest > 0 || out.is_empty() {
        if rest % 10 == 0 {
            out.push_str(&format!("{}s", rest / 10));
        } else {
            out.push_str(&format!("{}.{}s", rest / 10, rest % 10));
        }
    }
    out
}

/// A measured time in seconds with one decimal (`6.6s`), for verdicts.
pub fn format_seconds(seconds: f64) -> String {
    format!("{seconds:.1}s")
}

/// `12.50` → `12.5`, `10.0` → `10`: numbers in messages read as people
/// write them (rates, ratios, quantiles, time scales).
pub fn trim_float(value: f64) -> String {
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

/// A duration in Prometheus's syntax (`1m30s500ms`, `250ms`), rounded to the
/// millisecond, which is the resolution Prometheus itself keeps: for text
/// that Prometheus (or a scenario file) reads back.
pub fn prometheus_duration(d: Duration) -> String {
    promql_parser::util::display_duration(&Duration::from_millis(d.as_millis() as u64))
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

    #[test]
    fn durations_read_as_people_write_them() {
        let fmt = format_duration_secs;
        assert_eq!(fmt(70.5), "1m10.5s");
        assert_eq!(fmt(57.0), "57s");
        assert_eq!(fmt(120.0), "2m");
        assert_eq!(fmt(0.25), "0.3s");
        assert_eq!(fmt(0.0), "0s");
        assert_eq!(fmt(5400.0), "1h30m");
        assert_eq!(fmt(3.0 * 86400.0 + 6.0 * 3600.0), "3d6h");
        assert_eq!(fmt(12_960.0), "3h36m");
        assert_eq!(format_seconds(6.0), "6.0s");
    }

    #[test]
    fn prometheus_syntax_keeps_milliseconds() {
        assert_eq!(
            prometheus_duration(Duration::from_millis(90_500)),
            "1m30s500ms"
        );
    }
}
