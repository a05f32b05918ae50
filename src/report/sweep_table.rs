//! The sweep for people: per alert, per fault shape, a line per error ratio
//! with the time to pending and to firing, the time to resolve after a
//! burst, the budget spent by then, and the model's arithmetic beside it.
//! Rendered from the sweep's data alone.

use std::fmt::Write as _;

use crate::analyze::finding::Severity;
use crate::analyze::sweep::{
    percent, AlertSweep, Engine, FaultShape, Row, ShareBounds, SweepReport,
};
use crate::analyze::timing::Bounds;
use crate::time::format_duration_secs;

/// An objective as people write it: 99.9%, 99.95%.
fn objective_text(objective: f64) -> String {
    let text = format!("{:.4}", objective * 100.0);
    format!("{}%", text.trim_end_matches('0').trim_end_matches('.'))
}

/// A fault shape as a table's heading says it.
fn shape_label(shape: FaultShape) -> String {
    match shape {
        FaultShape::Step => "a step that stays".into(),
        FaultShape::Burst(d) => format!("a burst of {}", format_duration_secs(d)),
    }
}

fn budget_text(shares: Option<ShareBounds>) -> String {
    match shares {
        None => "–".into(),
        Some(s) if percent(s.best_share) == percent(s.worst_share) => percent(s.best_share),
        Some(s) => format!("{}–{}", percent(s.best_share), percent(s.worst_share)),
    }
}

fn title(alert: &AlertSweep) -> String {
    format!(
        "{} (for {}, every {}, scrape {}{})",
        alert.name(),
        format_duration_secs(alert.for_seconds),
        format_duration_secs(alert.evaluation_seconds),
        format_duration_secs(alert.scrape_seconds),
        if alert.recording_delay_seconds > 0.0 {
            format!(
                ", recording rules of other groups read up to {} late",
                format_duration_secs(alert.recording_delay_seconds)
            )
        } else {
            String::new()
        }
    )
}

fn firing_text(row: &Row, horizon: f64) -> String {
    let mut text = match row.firing {
        None if row.phases > 0 => format!("never within {}", format_duration_secs(horizon)),
        other => Bounds::text(other),
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
    slo_and_scores(out, alert);
    let mut shapes: Vec<FaultShape> = alert.rows.iter().map(|r| r.case.shape).collect();
    shapes.dedup();
    for shape in shapes {
        shape_block(out, alert, shape);
    }
}

/// The SLO the alert is judged by, and its precision and recall.
fn slo_and_scores(out: &mut String, alert: &AlertSweep) {
    match &alert.slo {
        Some(slo) => {
            let _ = writeln!(
                out,
                "  SLO {} over {} (from {})",
                objective_text(slo.objective),
                format_duration_secs(slo.period_seconds),
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
}

/// A fault shape's heading and its rows, one per error ratio.
fn shape_block(out: &mut String, alert: &AlertSweep, shape: FaultShape) {
    {
        let _ = writeln!(
            out,
            "  {:<24} {:<16} {:<28} {:<16} {:<14} {:<20} computed by",
            shape_label(shape),
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
                "    {:<22} {:<16} {:<28} {:<16} {:<14} {:<20} {}",
                format!(
                    "{}{}",
                    percent(row.case.error_ratio),
                    if row.before_the_fault {
                        " (fires before!)"
                    } else {
                        ""
                    }
                ),
                Bounds::text(row.pending),
                firing_text(row, alert.horizon_seconds),
                if shape == FaultShape::Step {
                    String::new()
                } else if row.firing.is_none() {
                    "–".into()
                } else {
                    Bounds::text(row.resolved_after_end)
                },
                budget_text(row.budget_at_firing),
                row.model
                    .map(|m| Bounds::text(m.firing))
                    .unwrap_or_default(),
                row.computed_by.text()
            );
        }
    }
}

pub fn sweep_table(report: &SweepReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Sweep by {} · intervals from {} · {} requests/s",
        if report.engine == Engine::Promtool {
            "Prometheus's rule engine (promtool test rules), where each row says so"
        } else {
            "the timing model's arithmetic"
        },
        report.intervals_from,
        report.request_rate
    );
    if report.engine == Engine::Promtool {
        let _ = writeln!(
            out,
            "computed by: \"promtool, searched\" — promtool answered a search of the evaluations, and one it was not asked about takes the nearest earlier answer (--thorough asks every one); \"timing model\" — no probes, the model's arithmetic"
        );
    }
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
                    Severity::Error => "ERROR",
                    Severity::Warning => "WARNING",
                    Severity::Info => "INFO",
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
