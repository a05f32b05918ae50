//! `rules check` for people: the intervals, each alert's time to fire after
//! a step, where each is routed, how many alerts that covers, a scenario's
//! deadlines, dashboards' panels, then the findings (those resting only on
//! an assumption apart). Rendered from the report's data alone.

use crate::analyze::finding::{LintFinding, Severity};
use crate::analyze::rules_check::{AlertAnalysis, RoutingResult, RulesReport};
use crate::analyze::timing::{Bounds, Step};
use crate::time::{format_duration, format_duration_secs};

fn step_text(step: Step) -> String {
    match step {
        Step::ErrorShare(p) if p <= 1.0 => format!("errors → {:.1}%", p * 100.0),
        Step::ErrorShare(p) => format!("mean → {p}"),
        Step::SlowShare(f) => format!("slow requests → {:.1}%", f * 100.0),
        Step::RateMultiple(m) => format!("0 → {m}× threshold"),
        Step::FallsFrom(m) => format!("{m}× threshold → 0"),
        Step::Starts => "starts moving".into(),
        Step::Event => "one event".into(),
        Step::Stops => "stops".into(),
        Step::Crosses => "value crosses".into(),
        Step::FillsIn(s) => format!("reaches it in {}", format_duration_secs(s)),
        Step::ScrapeFails => "scrapes fail".into(),
        Step::TargetRemoved => "target removed".into(),
        Step::RulesLoaded => "rules loaded".into(),
    }
}

/// The report as a table for people.
pub fn rules_check_table(report: &RulesReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Intervals: scrape {}, evaluation {} (from {})\n\n",
        format_duration(report.intervals.scrape),
        format_duration(report.intervals.evaluation),
        report.intervals_from
    ));
    out.push_str("Time to fire after a step change (best – worst):\n");
    for alert in &report.alerts {
        render_alert(report, alert, &mut out);
    }
    render_routing(report, &mut out);
    let c = &report.coverage;
    out.push_str(&format!(
        "\nTimed: {} of {} alerts ({}%){}\n",
        c.timed,
        c.alerts - c.unknowable,
        c.percent,
        if c.unknowable > 0 {
            format!(
                "; {} more read recorded series no file given defines",
                c.unknowable
            )
        } else {
            String::new()
        }
    ));
    render_deadlines(report, &mut out);
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
    render_findings(report, &mut out);
    for note in &report.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

/// One alert: its name (with its labels when another shares it) and a
/// line per step.
fn render_alert(report: &RulesReport, alert: &AlertAnalysis, out: &mut String) {
    // Alerts that share a name (Sloth's page and ticket, Pyrra's windows)
    // are told apart by their labels.
    let shared = report
        .alerts
        .iter()
        .filter(|a| a.alert == alert.alert)
        .count()
        > 1;
    let labels = if shared {
        let own: Vec<String> = alert
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!(" {{{}}}", own.join(", "))
    } else {
        String::new()
    };
    out.push_str(&format!(
        "  {}{labels} (for {}, every {})\n",
        alert.alert,
        format_duration_secs(alert.for_seconds),
        format_duration_secs(alert.group_interval_seconds)
    ));
    if alert.timings.is_empty() {
        let why = alert
            .unmodelled
            .as_ref()
            .map(|u| u.text())
            .unwrap_or_else(|| "no step of what it watches is known".into());
        out.push_str(&format!("      (no timing: {why})\n"));
    }
    for t in &alert.timings {
        let range = |b: &Option<Bounds>| {
            b.map(|b| {
                format!(
                    "{}–{}",
                    format_duration_secs(b.best_seconds),
                    format_duration_secs(b.worst_seconds)
                )
            })
            .unwrap_or_else(|| "never".into())
        };
        // A resolution the model does not say is not a "never".
        let resolved = match (&t.firing, &t.resolved) {
            (Some(_), None) => "not modelled".to_string(),
            _ => range(&t.resolved),
        };
        out.push_str(&format!(
            "      {:<22} pending {:<18} firing {:<18} resolved {resolved}\n",
            step_text(t.step),
            range(&t.pending),
            range(&t.firing),
        ));
        if t.firing.is_none() {
            out.push_str(&format!("          never: {}\n", first_clause(&t.why)));
        }
        if let Some(why) = &t.may_not_fire {
            out.push_str(&format!("          or never: {why}\n"));
        }
    }
}

fn render_routing(report: &RulesReport, out: &mut String) {
    let Some(from) = &report.routing_from else {
        return;
    };
    out.push_str(&format!("\nRouting (from {from}):\n"));
    let mut current = "";
    for route in &report.routing {
        if route.alert != current {
            out.push_str(&format!("  {}\n", route.alert));
            current = &route.alert;
        }
        out.push_str(&format!("      {}\n", describe_route(route)));
    }
}

fn first_clause(why: &str) -> &str {
    why.split("; then up to one evaluation")
        .next()
        .unwrap_or(why)
}

fn render_deadlines(report: &RulesReport, out: &mut String) {
    if report.deadlines.is_empty() {
        return;
    }
    out.push_str("\nScenario deadlines:\n");
    for d in &report.deadlines {
        out.push_str(&format!(
            "  {:<14} {} {} within {}: {}\n      {}\n",
            d.outcome.text().to_uppercase(),
            d.check,
            d.alert,
            format_duration_secs(d.deadline_seconds),
            d.anchor,
            d.why
        ));
    }
}

fn render_findings(report: &RulesReport, out: &mut String) {
    let (info, findings): (Vec<&LintFinding>, Vec<&LintFinding>) = report
        .findings
        .iter()
        .partition(|f| f.severity == Severity::Info);
    let (counted, assumed): (Vec<&LintFinding>, Vec<&LintFinding>) = findings
        .into_iter()
        .partition(|f| report.strict || f.assumption.is_none());
    out.push_str(&format!("\n{} findings\n", counted.len()));
    let one = |f: &LintFinding, out: &mut String| {
        out.push_str(&format!(
            "  {:<7} {:<38} {}\n          {}\n          fix: {}\n",
            match f.severity {
                Severity::Error => "ERROR",
                Severity::Warning => "WARN",
                Severity::Info => "INFO",
            },
            f.id,
            f.subject,
            f.reason,
            f.fix
        ));
        if let Some(assumption) = &f.assumption {
            out.push_str(&format!("          rests on: {assumption}\n"));
        }
    };
    for f in counted {
        one(f, out);
    }
    if !assumed.is_empty() {
        out.push_str(&format!(
            "\n{} more resting only on assumptions (not counted; --strict counts them)\n",
            assumed.len()
        ));
        for f in assumed {
            one(f, out);
        }
    }
    if !info.is_empty() {
        out.push_str(&format!(
            "\n{} for information (never counted)\n",
            info.len()
        ));
        for f in info {
            one(f, out);
        }
    }
}

/// One line per route, for the table.
fn describe_route(result: &RoutingResult) -> String {
    let notify = result
        .first_notification
        .map(|b| {
            format!(
                "first notification {}–{} after the step",
                format_duration_secs(b.best_seconds),
                format_duration_secs(b.worst_seconds)
            )
        })
        .unwrap_or_else(|| "time to fire unknown".into());
    format!(
        "{{{}}} → {} ({}) via {} · group_wait {}, group_interval {}{} · {notify}",
        result.labels,
        result.receiver,
        result.integrations,
        result.route,
        format_duration_secs(result.group_wait_seconds),
        format_duration_secs(result.group_interval_seconds),
        if result.group_shared {
            " (group shared with other alerts)"
        } else {
            ""
        },
    )
}
