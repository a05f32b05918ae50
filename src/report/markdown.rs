//! A Markdown summary for a CI job page or a pull-request comment.

use super::terminal::describe_rate;
use super::{interruption, status_text, tally, Report};
use crate::checks::Status;
use crate::plan::{LoadModel, PhasePlan};
use crate::record::RunStatus;

fn icon(status: Status) -> &'static str {
    match status {
        Status::Pass => "✅",
        Status::Fail => "❌",
        Status::Inconclusive => "⚠️",
    }
}

/// Pipes and line breaks would break a table row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "## {} firedrill: {} — {}\n\n",
        icon(report.verdict),
        cell(&report.scenario.name),
        report.verdict.label()
    ));
    if report.status != RunStatus::Completed {
        out.push_str(&format!("**Run {}**\n\n", status_text(&report.status)));
    }
    match interruption(report) {
        // Checks whose window was over before the signal are judged.
        Some(_) => out.push_str(&format!(
            "{} (of {} checks) · exit code {}\n\n",
            tally(report),
            report.verdicts.len(),
            report.exit_code
        )),
        None => out.push_str(&format!(
            "{} of {} checks passed, {} failed, {} inconclusive · exit code {}\n\n",
            report.passed(),
            report.verdicts.len(),
            report.count(Status::Fail),
            report.count(Status::Inconclusive),
            report.exit_code
        )),
    }
    if let Some(env) = &report.environment {
        out.push_str(&format!(
            "Environment: {} · target {} · Prometheus {} ({}) · time scale ×{}\n\n",
            env.kind,
            env.target_url,
            env.prometheus_version,
            env.prometheus_url,
            report.scenario.time_scale
        ));
    }
    checks_table(&mut out, report);
    phases_table(&mut out, report);
    for note in &report.observations.notes {
        out.push_str(&format!("> {}\n", cell(note)));
    }
    out
}

fn checks_table(out: &mut String, report: &Report) {
    if report.verdicts.is_empty() {
        return;
    }
    out.push_str("| | Check | Result |\n|---|---|---|\n");
    for verdict in &report.verdicts {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            icon(verdict.status),
            cell(&verdict.name),
            cell(&verdict.summary)
        ));
    }
    out.push('\n');
}

fn phases_table(out: &mut String, report: &Report) {
    if report.observations.phases.is_empty() {
        return;
    }
    out.push_str(
        "| Phase | Duration | Rate | Requests | 2xx | 4xx | 5xx | No answer | p50 | p95 | p99 |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for phase in &report.observations.phases {
        let seconds = phase.ended_at - phase.started_at;
        // The rate as written and as sent (open model only).
        let rate = match report.plan.phases.iter().find(|p| p.name == phase.name) {
            Some(PhasePlan {
                model: LoadModel::Open { rate, .. },
                pace,
                ..
            }) => describe_rate(rate, *pace),
            _ => String::new(),
        };
        match &phase.stats {
            Some(stats) => {
                let c = &stats.counts;
                let l = stats.latency.summary();
                out.push_str(&format!(
                    "| {} | {:.1}s | {} | {} | {} | {} | {} | {} | {:.1}ms | {:.1}ms | {:.1}ms |\n",
                    cell(&phase.name),
                    seconds,
                    cell(&rate),
                    c.requests,
                    c.status_2xx,
                    c.status_4xx,
                    c.status_5xx,
                    c.transport_errors() + c.dropped,
                    l.p50_ms,
                    l.p95_ms,
                    l.p99_ms
                ));
            }
            None => out.push_str(&format!(
                "| {} | {:.1}s | | (no traffic) | | | | | | | |\n",
                cell(&phase.name),
                seconds
            )),
        }
    }
    out.push('\n');
}
