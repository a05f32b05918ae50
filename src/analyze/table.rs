//! `rules check` for people: the intervals, each alert's time to fire after
//! a step, a scenario's deadlines, dashboards' panels, then the findings.

use super::lint::Severity;
use super::timing::{self, Step};
use super::RulesReport;
use crate::time::{format_duration, format_duration_secs as fmt};

/// The report as a table for people.
pub fn render_table(report: &RulesReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Intervals: scrape {}, evaluation {} (from {})\n\n",
        format_duration(report.intervals.scrape),
        format_duration(report.intervals.evaluation),
        report.intervals_from
    ));
    out.push_str("Time to fire after a step change (best – worst):\n");
    for alert in &report.alerts {
        out.push_str(&format!(
            "  {} (for {}, every {})\n",
            alert.alert,
            fmt(alert.for_seconds),
            fmt(alert.group_interval_seconds)
        ));
        if alert.timings.is_empty() {
            out.push_str("      (a condition the timing model does not know)\n");
        }
        for t in &alert.timings {
            let step = match t.step {
                Step::ErrorShare(p) => format!("errors → {:.1}%", p * 100.0),
                Step::SlowShare(f) => format!("slow requests → {:.1}%", f * 100.0),
                Step::RateMultiple(m) => format!("rate → {m}× threshold"),
                Step::ScrapeFails => "scrapes fail".into(),
                Step::TargetRemoved => "target removed".into(),
            };
            let range = |b: &Option<timing::Bounds>| {
                b.map(|b| format!("{}–{}", fmt(b.best_seconds), fmt(b.worst_seconds)))
                    .unwrap_or_else(|| "never".into())
            };
            out.push_str(&format!(
                "      {step:<22} pending {:<18} firing {:<18} resolved {}\n",
                range(&t.pending),
                range(&t.firing),
                range(&t.resolved)
            ));
        }
    }
    if let Some(from) = &report.routing_from {
        out.push_str(&format!("\nRouting (from {from}):\n"));
        let mut current = "";
        for route in &report.routing {
            if route.alert != current {
                out.push_str(&format!("  {}\n", route.alert));
                current = &route.alert;
            }
            out.push_str(&format!("      {}\n", super::routing::describe(route)));
        }
    }
    if !report.deadlines.is_empty() {
        out.push_str("\nScenario deadlines:\n");
        for d in &report.deadlines {
            out.push_str(&format!(
                "  {:<14} {} {} within {}: {}\n      {}\n",
                d.outcome.text().to_uppercase(),
                d.check,
                d.alert,
                fmt(d.deadline_seconds),
                d.anchor,
                d.why
            ));
        }
    }
    for dashboard in &report.dashboards {
        out.push_str(&format!("\nDashboard `{}`:\n", dashboard.title));
        for panel in &dashboard.panels {
            out.push_str(&format!(
                "  {:<8} {}\n",
                if panel.has_data { "data" } else { "NO DATA" },
                panel.title
            ));
        }
    }
    out.push_str(&format!("\n{} findings\n", report.findings.len()));
    for f in &report.findings {
        out.push_str(&format!(
            "  {:<7} {:<38} {}\n          {}\n          fix: {}\n",
            match f.severity {
                Severity::Error => "ERROR",
                Severity::Warning => "WARN",
            },
            f.id,
            f.subject,
            f.reason,
            f.fix
        ));
    }
    for note in &report.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}
