//! The sweep as one self-contained HTML page (no script, no CDN): the time
//! to fire after a step, over error ratio, on log axes — a line per alert
//! with its best-to-worst band, the Workbook's budget lines (the time a
//! step spends 2%, 5% and 10% of the error budget) — then each alert's
//! table, as the terminal prints it.

use std::fmt::Write as _;

use super::sweep_table::sweep_table;
use crate::analyze::sweep::{percent, AlertSweep, Engine, FaultShape, Slo, SweepReport};
use crate::time::format_duration_secs;

const WIDTH: f64 = 880.0;
const HEIGHT: f64 = 480.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 110.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 50.0;
const COLOURS: &[&str] = &[
    "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Log axes: error ratio 0.1%–100% across, seconds up.
struct Axes {
    x_min: f64,
    x_max: f64,
    y_min: f64,
    y_max: f64,
}

impl Axes {
    fn x(&self, ratio: f64) -> f64 {
        let f = (ratio.log10() - self.x_min) / (self.x_max - self.x_min);
        LEFT + f * (WIDTH - LEFT - RIGHT)
    }

    fn y(&self, seconds: f64) -> f64 {
        let f = (seconds.max(1e-3).log10() - self.y_min) / (self.y_max - self.y_min);
        HEIGHT - BOTTOM - f.clamp(0.0, 1.0) * (HEIGHT - TOP - BOTTOM)
    }
}

fn label(alert: &AlertSweep) -> String {
    alert.name()
}

fn chart(report: &SweepReport) -> String {
    let swept: Vec<&AlertSweep> = report
        .alerts
        .iter()
        .filter(|a| a.not_swept.is_none())
        .collect();
    let ratios: Vec<f64> = swept
        .iter()
        .flat_map(|a| a.rows.iter().map(|r| r.case.error_ratio))
        .collect();
    let horizon = swept.iter().map(|a| a.horizon_seconds).fold(60.0, f64::max);
    let axes = Axes {
        x_min: ratios.iter().copied().fold(1.0, f64::min).log10().floor(),
        x_max: 0.0,
        y_min: 0.0,
        y_max: horizon.log10().ceil(),
    };
    let mut svg = format!(
        r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="time to fire over error ratio" font-family="sans-serif" font-size="12">"#
    );
    grid(&mut svg, &axes);
    if let Some(slo) = swept.iter().find_map(|a| a.slo.as_ref()) {
        budget_lines(&mut svg, &axes, slo);
    }
    for (n, alert) in swept.iter().enumerate() {
        alert_line(&mut svg, &axes, alert, n);
    }
    svg.push_str("</svg><ul class=\"legend\">");
    for (n, alert) in swept.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<li><span style="background:{}"></span>{}</li>"#,
            COLOURS[n % COLOURS.len()],
            escape(&label(alert))
        );
    }
    svg.push_str("</ul>");
    svg
}

/// The page.
pub fn sweep_html(report: &SweepReport) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>firedrill sweep</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; max-width: 1100px; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 12px; }}
.note {{ color: #555; }}
.legend {{ list-style: none; padding: 0; }}
.legend span {{ display: inline-block; width: 14px; height: 4px; margin-right: 8px; vertical-align: middle; }}
</style></head><body>
<h1>When each alert fires, by the size of the fault</h1>
<p class="note">Computed by {engine} (the tables below say, row by row, what computed it); the line is the latest phase of scrapes and evaluations, the band reaches the earliest. × marks a ratio that never fires within the horizon. Dashed: the time a step spends 2%, 5% and 10% of the error budget (the SRE Workbook's page and ticket lines).</p>
<figure id="detection-time">{chart}</figure>
<h2>The tables</h2>
<pre id="tables">{tables}</pre>
</body></html>
"#,
        engine = if report.engine == Engine::Promtool {
            "Prometheus's rule engine (promtool test rules)"
        } else {
            "the timing model's arithmetic"
        },
        chart = chart(report),
        tables = escape(&sweep_table(report)),
    )
}

/// Decades across, durations up, and the axis titles.
fn grid(svg: &mut String, axes: &Axes) {
    // Grid and ticks.
    let mut decade = axes.x_min;
    while decade <= axes.x_max {
        let x = axes.x(10f64.powf(decade));
        let _ = write!(
            *svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{}" stroke="#ddd"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
            HEIGHT - BOTTOM,
            HEIGHT - BOTTOM + 16.0,
            percent(10f64.powf(decade))
        );
        decade += 1.0;
    }
    for seconds in [
        1.0f64,
        10.0,
        60.0,
        600.0,
        3600.0,
        21_600.0,
        86_400.0,
        259_200.0,
        2_592_000.0,
    ] {
        if seconds.log10() > axes.y_max {
            continue;
        }
        let y = axes.y(seconds);
        let _ = write!(
            *svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            format_duration_secs(seconds)
        );
    }
    let _ = write!(
        *svg,
        r##"<text x="{}" y="{}" text-anchor="middle">error ratio of a step that stays (log)</text><text x="16" y="{}" transform="rotate(-90 16 {})" text-anchor="middle">time to fire (log)</text>"##,
        (LEFT + WIDTH - RIGHT) / 2.0,
        HEIGHT - 10.0,
        HEIGHT / 2.0,
        HEIGHT / 2.0
    );
}

/// The Workbook's budget lines: a step to e spends a share s of the budget
/// after s·(1−SLO)·period / e.
fn budget_lines(svg: &mut String, axes: &Axes, slo: &Slo) {
    for share in [0.02, 0.05, 0.10] {
        let at = |e: f64| share * (1.0 - slo.objective) * slo.period_seconds / e;
        let (e0, e1) = (10f64.powf(axes.x_min), 1.0);
        let _ = write!(
            svg,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="4 4"/><text x="{:.1}" y="{:.1}" fill="#666">{} of budget</text>"##,
            axes.x(e0),
            axes.y(at(e0)),
            axes.x(e1),
            axes.y(at(e1)),
            WIDTH - RIGHT + 4.0,
            axes.y(at(e1)) + 4.0,
            percent(share)
        );
    }
}

/// One alert: its step rows' time to fire (worst as the line, best to
/// worst as the band), the ratios that never fire, its legend.
fn alert_line(svg: &mut String, axes: &Axes, alert: &AlertSweep, n: usize) {
    let colour = COLOURS[n % COLOURS.len()];
    let steps: Vec<_> = alert
        .rows
        .iter()
        .filter(|r| r.case.shape == FaultShape::Step)
        .collect();
    let fired: Vec<_> = steps
        .iter()
        .filter_map(|r| Some((r.case.error_ratio, r.firing?)))
        .collect();
    if fired.len() > 1 {
        let upper: Vec<String> = fired
            .iter()
            .map(|(e, s)| format!("{:.1},{:.1}", axes.x(*e), axes.y(s.worst_seconds)))
            .collect();
        let lower: Vec<String> = fired
            .iter()
            .rev()
            .map(|(e, s)| format!("{:.1},{:.1}", axes.x(*e), axes.y(s.best_seconds)))
            .collect();
        let _ = write!(
            svg,
            r#"<polygon points="{} {}" fill="{colour}" fill-opacity="0.15" stroke="none"/><polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            upper.join(" "),
            lower.join(" "),
            upper.join(" ")
        );
    }
    for (e, s) in &fired {
        let _ = write!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{}: {} errors fire after {}–{}</title></circle>"#,
            axes.x(*e),
            axes.y(s.worst_seconds),
            escape(&label(alert)),
            percent(*e),
            format_duration_secs(s.best_seconds),
            format_duration_secs(s.worst_seconds)
        );
    }
    for row in steps.iter().filter(|r| r.firing.is_none()) {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" fill="{colour}" text-anchor="middle">×<title>{}: {} errors never fire within {}</title></text>"#,
            axes.x(row.case.error_ratio),
            TOP + 10.0 + 12.0 * n as f64,
            escape(&label(alert)),
            percent(row.case.error_ratio),
            format_duration_secs(alert.horizon_seconds)
        );
    }
}
