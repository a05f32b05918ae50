//! The coverage ledger for people and for CI: the terminal table (alert,
//! verdict, fired after, predicted, receiver, notified after, resolved
//! after), then why each alert got its verdict; and JUnit, one test case
//! per alert (a failure unless proven). Rendered from the ledger's data
//! alone (the HTML page is `ledger_html`).

use std::fmt::Write as _;

use crate::analyze::timing::Bounds;
use crate::coverage::{AlertLedger, Ledger, Verdict};
use crate::time::format_duration_secs;

fn seconds(value: Option<f64>) -> String {
    value.map_or("–".into(), format_duration_secs)
}

/// `GatewayDown` or `GatewayDown (critical)` when names repeat.
fn name(line: &AlertLedger, all: &[AlertLedger]) -> String {
    let twins = all.iter().filter(|a| a.alert == line.alert).count();
    match line.labels.get("severity") {
        Some(severity) if twins > 1 => format!("{} ({severity})", line.alert),
        _ => line.alert.clone(),
    }
}

/// The table's cells for one alert.
pub fn cells(line: &AlertLedger, all: &[AlertLedger]) -> [String; 7] {
    [
        name(line, all),
        line.verdict.as_str().to_string(),
        seconds(line.fired_after_seconds),
        line.predicted.map_or("–".into(), |b| Bounds::text(Some(b))),
        line.receiver.clone().unwrap_or_else(|| "–".into()),
        seconds(line.notified_after_seconds),
        seconds(line.resolved_after_seconds),
    ]
}

pub const HEADINGS: [&str; 7] = [
    "alert",
    "verdict",
    "fired after",
    "predicted",
    "receiver",
    "notified after",
    "resolved after",
];

/// The ledger as a terminal table, the summary, and why.
pub fn ledger_table(ledger: &Ledger) -> String {
    let rows: Vec<[String; 7]> = ledger
        .alerts
        .iter()
        .map(|line| cells(line, &ledger.alerts))
        .collect();
    let mut widths = HEADINGS.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(&HEADINGS.map(String::from));
    for row in &rows {
        out.push_str(&line(row));
    }
    let _ = writeln!(
        out,
        "\nCoverage: {} (proof: {}, {})",
        ledger.figure(),
        ledger.proof,
        format_duration_secs(ledger.summary.elapsed_seconds)
    );
    out.push_str("\nWhy:\n");
    for alert in &ledger.alerts {
        let _ = writeln!(
            out,
            "  {} — {}: {}",
            name(alert, &ledger.alerts),
            alert.verdict.as_str(),
            alert.why
        );
    }
    for note in &ledger.notes {
        let _ = writeln!(out, "\nNote: {note}");
    }
    for failure in &ledger.emit_failures {
        let _ = writeln!(out, "\nEmitted test failing: {failure}");
    }
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one test case per alert, a failure unless proven.
pub fn ledger_junit(ledger: &Ledger) -> String {
    let failures = ledger
        .alerts
        .iter()
        .filter(|a| a.verdict != Verdict::Proven)
        .count();
    let total = ledger.alerts.len();
    let seconds = ledger.summary.elapsed_seconds;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"firedrill coverage\" tests=\"{total}\" failures=\"{failures}\" errors=\"0\" time=\"{seconds:.3}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"coverage\" tests=\"{total}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{seconds:.3}\">"
    );
    for line in &ledger.alerts {
        let _ = writeln!(
            out,
            "    <testcase classname=\"firedrill.coverage.{}\" name=\"{}\" time=\"0\">",
            escape(&line.origin),
            escape(&name(line, &ledger.alerts))
        );
        if line.verdict != Verdict::Proven {
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                escape(line.verdict.as_str()),
                escape(line.verdict.as_str()),
                escape(&line.why)
            );
        }
        let _ = writeln!(
            out,
            "      <system-out>{}</system-out>\n    </testcase>",
            escape(&line.why)
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
