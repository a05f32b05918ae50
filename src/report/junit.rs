//! JUnit XML: one test case per check, so CI systems show failures natively.
//! Failures carry the verdict's summary as the message and its evidence as
//! the body; inconclusive checks are errors (something kept the check from
//! running), never successes.

use super::Report;
use crate::checks::window::Window;
use crate::checks::Status;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

pub fn render(report: &Report) -> String {
    let failures = report.count(Status::Fail);
    let errors = report.count(Status::Inconclusive);
    let seconds = (report.observations.observed_until - report.observations.run_start).max(0.0);
    let suite = escape(&report.scenario.name);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"firedrill\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{seconds:.3}\">\n",
        report.verdicts.len()
    ));
    out.push_str(&format!(
        "  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{seconds:.3}\" timestamp=\"{}\">\n",
        report.verdicts.len(),
        escape(report.started_at.trim_end_matches('Z'))
    ));
    // An interrupted run says where it stopped; each check then says
    // whether its window was over before the signal.
    if let Some(at) = super::interruption(report) {
        out.push_str(&format!(
            "    <properties>\n      <property name=\"firedrill.run\" value=\"{}\"/>\n      <property name=\"firedrill.interrupted\" value=\"{}\"/>\n    </properties>\n",
            escape(&super::status_text(&report.status)),
            escape(&at)
        ));
    }
    for verdict in &report.verdicts {
        out.push_str(&format!(
            "    <testcase classname=\"firedrill.{suite}\" name=\"{}\" time=\"0\">\n",
            escape(&format!("{} ({})", verdict.name, verdict.id))
        ));
        let evidence = serde_json::to_string_pretty(&verdict.evidence).unwrap_or_default();
        match verdict.status {
            Status::Pass => {}
            Status::Fail => out.push_str(&format!(
                "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                escape(&verdict.summary),
                escape(verdict.kind().as_str()),
                escape(&evidence)
            )),
            Status::Inconclusive => out.push_str(&format!(
                "      <error message=\"{}\" type=\"inconclusive\">{}</error>\n",
                escape(&verdict.summary),
                escape(&evidence)
            )),
        }
        let window = match &verdict.window {
            Some(Window::Complete) => "\nwindow: complete before the interruption".to_string(),
            Some(Window::Open { needed }) => {
                format!("\nwindow: open when the run stopped ({needed})")
            }
            None => String::new(),
        };
        out.push_str(&format!(
            "      <system-out>{}{}</system-out>\n    </testcase>\n",
            escape(&verdict.summary),
            escape(&window)
        ));
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
