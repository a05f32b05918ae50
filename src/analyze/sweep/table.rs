//! The sweep for people: per alert, per fault shape, a line per error ratio
//! with the time to pending and to firing, the time to resolve after a
//! burst, the budget spent by then, and the model's arithmetic beside it.

use std::fmt::Write as _;

use super::super::timing::Bounds;
use super::{percent, AlertSweep, FaultShape, Row, Span, SweepReport};
use crate::time::format_duration_secs as fmt;

pub fn span_text(span: Option<Span>) -> String {
    match span {
        None => "never".into(),
        Some(s) if (s.worst_seconds - s.best_seconds).abs() < 1e-6 => fmt(s.best_seconds),
        Some(s) => format!("{}–{}", fmt(s.best_seconds), fmt(s.worst_seconds)),
    }
}

pub fn bounds_text(bounds: Option<Bounds>) -> String {
    span_text(bounds.map(|b| Span {
        best_seconds: b.best_seconds,
        worst_seconds: b.worst_seconds,
    }))
}

fn budget_text(span: Option<Span>) -> String {
    match span {
        None => "–".into(),
        Some(s) if percent(s.best_seconds) == percent(s.worst_seconds) => percent(s.best_seconds),
        Some(s) => format!("{}–{}", percent(s.best_seconds), percent(s.worst_seconds)),
    }
}

fn title(alert: &AlertSweep) -> String {
    format!(
        "{} (for {}, every {}, scrape {}{})",
        alert.name(),
        fmt(alert.for_seconds),
        fmt(alert.evaluation_seconds),
        fmt(alert.scrape_seconds),
        if alert.recording_delay_seconds > 0.0 {
            format!(
                ", recording rules of other groups read up to {} late",
                fmt(alert.recording_delay_seconds)
            )
        } else {
            String::new()
        }
    )
}

fn firing_text(row: &Row, horizon: f64) -> String {
    let mut text = match row.firing {
        None if row.phases > 0 => format!("never within {}", fmt(horizon)),
        other => span_text(other),
    };
    if row.phases_firing > 0 && row.phases_firing < row.phases {
        let _ = write!(text, " ({} of {} phases)", row.phases_firing, row.phases);
    }
    if row.episodes > 1 {
        let _ = write!(text, " ×{}", row.episodes);
    }
    text
}

/// One alert: its SLO, scores, and a block per fault shape.
fn alert_table(out: &mut String, alert: &AlertSweep) {
    let _ = writeln!(out, "\n{}", title(alert));
    if let Some(why) = &alert.not_swept {
        let _ = writeln!(out, "  not swept: {why}");
        return;
    }
    match &alert.slo {
        Some(slo) => {
            let _ = writeln!(
                out,
                "  SLO {} over {} (from {})",
                super::objective_text(slo.objective),
                fmt(slo.period_seconds),
                slo.from
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  no SLO known: give --objective for the budget columns"
            );
        }
    }
    if let Some(scores) = &alert.scores {
        let show = |v: Option<f64>| v.map(percent).unwrap_or_else(|| "–".into());
        let _ = writeln!(
            out,
            "  precision {} · recall {} ({} significant faults detected, {} missed, {} false alarms)",
            show(scores.precision),
            show(scores.recall),
            scores.detected,
            scores.missed,
            scores.false_alarms
        );
    }
    let mut shapes: Vec<FaultShape> = alert.rows.iter().map(|r| r.case.shape).collect();
    shapes.dedup();
    for shape in shapes {
        let _ = writeln!(
            out,
            "  {:<24} {:<16} {:<28} {:<16} {:<14} {}",
            shape.label(),
            "pending",
            "firing",
            if shape == FaultShape::Step {
                ""
            } else {
                "resolved after"
            },
            "budget spent",
            if shape == FaultShape::Step {
                "model: firing"
            } else {
                ""
            }
        );
        for row in alert.rows.iter().filter(|r| r.case.shape == shape) {
            let _ = writeln!(
                out,
                "    {:<22} {:<16} {:<28} {:<16} {:<14} {}",
                format!(
                    "{}{}",
                    percent(row.case.error_ratio),
                    if row.before_the_fault {
                        " (fires before!)"
                    } else {
                        ""
                    }
                ),
                span_text(row.pending),
                firing_text(row, alert.horizon_seconds),
                if shape == FaultShape::Step {
                    String::new()
                } else if row.firing.is_none() {
                    "–".into()
                } else {
                    span_text(row.resolved_after_end)
                },
                budget_text(row.budget_at_firing),
                row.model.map(|m| bounds_text(m.firing)).unwrap_or_default()
            );
        }
    }
}

pub fn render_table(report: &SweepReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Sweep by {} · intervals from {} · {} requests/s",
        if report.engine == "promtool" {
            "Prometheus's rule engine (promtool test rules)"
        } else {
            "the timing model's arithmetic"
        },
        report.intervals_from,
        report.request_rate
    );
    for alert in &report.alerts {
        alert_table(&mut out, alert);
    }
    if !report.findings.is_empty() {
        let _ = writeln!(out, "\n{} findings", report.findings.len());
        for f in &report.findings {
            let _ = writeln!(
                out,
                "  {:<7} {:<30} {}\n          {}\n          fix: {}",
                match f.severity {
                    super::Severity::Error => "ERROR",
                    super::Severity::Warning => "WARNING",
                    super::Severity::Info => "INFO",
                },
                f.id,
                f.subject,
                f.reason,
                f.fix
            );
        }
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let _ = writeln!(
        out,
        "\n{} evaluations asked of promtool in {} runs, {:.1}s ({:.1}s of it in promtool)",
        report.probes, report.rounds, report.elapsed_seconds, report.promtool_seconds
    );
    out
}
