//! The per-second series as CSV: one row per second per phase, for a
//! spreadsheet or a plotting script.

use serde::Serialize;

use super::Report;

#[derive(Debug, Serialize)]
struct Row<'a> {
    phase: &'a str,
    /// Seconds from the phase's start.
    second: u32,
    /// Seconds from the run's start to the start of this second.
    run_seconds: f64,
    requests: u64,
    status_1xx: u64,
    status_2xx: u64,
    status_3xx: u64,
    status_4xx: u64,
    status_5xx: u64,
    connect_errors: u64,
    timeouts: u64,
    resets: u64,
    other_errors: u64,
    dropped: u64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

pub fn render(report: &Report) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut wrote_any = false;
    for phase in &report.observations.phases {
        let Some(stats) = &phase.stats else { continue };
        let phase_start = phase.started_at - report.observations.run_start;
        for s in &stats.series {
            let c = &s.counts;
            writer.serialize(Row {
                phase: &phase.name,
                second: s.second,
                run_seconds: ((phase_start + s.second as f64) * 1000.0).round() / 1000.0,
                requests: c.requests,
                status_1xx: c.status_1xx,
                status_2xx: c.status_2xx,
                status_3xx: c.status_3xx,
                status_4xx: c.status_4xx,
                status_5xx: c.status_5xx,
                connect_errors: c.connect_errors,
                timeouts: c.timeouts,
                resets: c.resets,
                other_errors: c.other_errors,
                dropped: c.dropped,
                p50_ms: s.p50_ms,
                p95_ms: s.p95_ms,
                p99_ms: s.p99_ms,
                max_ms: s.max_ms,
            })?;
            wrote_any = true;
        }
    }
    if !wrote_any {
        // A header alone still tells a reader what the columns would be.
        writer.write_record([
            "phase",
            "second",
            "run_seconds",
            "requests",
            "status_1xx",
            "status_2xx",
            "status_3xx",
            "status_4xx",
            "status_5xx",
            "connect_errors",
            "timeouts",
            "resets",
            "other_errors",
            "dropped",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "max_ms",
        ])?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
