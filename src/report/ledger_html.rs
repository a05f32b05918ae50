//! The coverage ledger as one self-contained HTML page (no script, no
//! CDN), in the report family's style: the counts by verdict, the table,
//! then each alert — why, the series of its provocation (healthy and
//! provoking), and the promtool test that proved it.

use std::fmt::Write as _;

use super::ledger::{cells, HEADINGS};
use crate::coverage::{Ledger, Verdict};
use crate::time::format_duration_secs;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn colour(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Proven => "#2ca02c",
        Verdict::Late | Verdict::Noisy => "#ff7f0e",
        Verdict::NotProvoked => "#7f7f7f",
        _ => "#d62728",
    }
}

/// The counts by verdict, each in its colour.
fn counts(ledger: &Ledger) -> String {
    let mut counts = String::new();
    for verdict in Verdict::ALL {
        let n = ledger.summary.counts.get(&verdict).copied().unwrap_or(0);
        let _ = write!(
            counts,
            r#"<span class="count" style="border-color:{}">{} <b>{n}</b></span>"#,
            colour(verdict),
            verdict.as_str()
        );
    }
    counts
}

/// The ledger's table, each alert linked to its section.
fn table(ledger: &Ledger) -> String {
    let mut table = String::from("<table><thead><tr>");
    for heading in HEADINGS {
        let _ = write!(table, "<th>{heading}</th>");
    }
    table.push_str("</tr></thead><tbody>");
    for (k, line) in ledger.alerts.iter().enumerate() {
        let row = cells(line, &ledger.alerts);
        let _ = write!(
            table,
            r##"<tr><td><a href="#alert-{k}">{}</a></td><td style="color:{}">{}</td>"##,
            escape(&row[0]),
            colour(line.verdict),
            escape(&row[1])
        );
        for cell in &row[2..] {
            let _ = write!(table, "<td>{}</td>", escape(cell));
        }
        table.push_str("</tr>");
    }
    table.push_str("</tbody></table>");
    table
}

/// Each alert: why, its provocation's series, the test that proved it.
fn details(ledger: &Ledger) -> String {
    let mut details = String::new();
    for (k, line) in ledger.alerts.iter().enumerate() {
        let _ = write!(
            details,
            r#"<section id="alert-{k}"><h3>{} <span style="color:{}">{}</span></h3><p class="note">{}</p><p>{}</p>"#,
            escape(&line.alert),
            colour(line.verdict),
            line.verdict.as_str(),
            escape(&line.origin),
            escape(&line.why)
        );
        if let Some(p) = &line.provocation {
            details.push_str("<ul>");
            for (i, spec) in p.series.iter().enumerate() {
                let _ = write!(
                    details,
                    "<li><code>{}</code>: {} → {}</li>",
                    escape(&spec.selector()),
                    escape(&p.healthy[i].describe(spec)),
                    escape(&p.provoking[i].describe(spec))
                );
            }
            details.push_str("</ul>");
        }
        if let Some(test) = &line.test {
            let _ = write!(
                details,
                "<details><summary>the promtool test</summary><pre>{}</pre></details>",
                escape(test)
            );
        }
        details.push_str("</section>");
    }
    details
}

/// The page.
pub fn ledger_html(ledger: &Ledger) -> String {
    let notes: String = ledger
        .notes
        .iter()
        .map(|n| format!("<p class=\"note\">{}</p>", escape(n)))
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>firedrill coverage</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; max-width: 1100px; }}
table {{ border-collapse: collapse; font-size: 13px; }}
th, td {{ text-align: left; padding: 4px 10px; border-bottom: 1px solid #ddd; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 12px; }}
.note {{ color: #555; }}
.count {{ display: inline-block; border-left: 6px solid; padding: 2px 10px; margin: 0 8px 8px 0; background: #f6f6f6; }}
</style></head><body>
<h1>Alert coverage: {figure}</h1>
<p class="note">Each alert provoked from its own rule and proven by {proof} in {elapsed}.</p>
<div id="counts">{counts}</div>
<div id="ledger">{table}</div>
{notes}
<h2>Alerts</h2>
{details}
</body></html>
"#,
        figure = escape(&ledger.figure()),
        proof = if ledger.proof == "promtool" {
            "Prometheus's rule engine (promtool test rules)"
        } else {
            "the live stack"
        },
        elapsed = format_duration_secs(ledger.summary.elapsed_seconds),
        counts = counts(ledger),
        table = table(ledger),
        details = details(ledger),
    )
}
