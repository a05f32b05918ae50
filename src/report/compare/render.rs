//! A comparison for people: the terminal's table, and Markdown for a
//! pull-request comment (regressions and worse figures up front, the rest
//! folded away, so tiny changes do not drown the one that matters).

use super::diff::{Direction, Judgement, Row, Section, Unit};
use super::Comparison;
use crate::time::trim_float;

/// A value in its unit: `6.4ms`, `9.6s`, `0.42%`, `20.0/s`.
pub fn value(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Ms => format!("{v:.1}ms"),
        Unit::Seconds => format!("{v:.1}s"),
        Unit::Ratio => format!("{:.2}%", v * 100.0),
        Unit::PerSecond => format!("{v:.1}/s"),
    }
}

/// The delta, signed, and as a share of the baseline: `+100.6ms (+1572%)`;
/// an error ratio's in percentage points.
pub fn delta(row: &Row) -> String {
    let Some(d) = row.delta() else {
        return "—".to_string();
    };
    if row.direction == Direction::Unchanged {
        return "±0".to_string();
    }
    let sign = if d < 0.0 { "-" } else { "+" };
    let absolute = match row.unit {
        Unit::Ratio => format!("{sign}{:.2}pp", d.abs() * 100.0),
        unit => format!("{sign}{}", value(unit, d.abs())),
    };
    match row.relative() {
        Some(r) if row.unit != Unit::Ratio => format!("{absolute} ({sign}{:.0}%)", r.abs() * 100.0),
        _ => absolute,
    }
}

/// What the row concluded: `REGRESSION`, `worse, within the limits`,
/// `better`, `unchanged`, `not judged: …`.
pub fn outcome(row: &Row) -> String {
    let direction = match row.direction {
        Direction::Better => "better",
        Direction::Worse => "worse",
        Direction::Unchanged => "unchanged",
        Direction::Unknown => "",
    };
    match row.judgement {
        Judgement::Regression => "REGRESSION".to_string(),
        Judgement::Within if row.direction == Direction::Worse => {
            "worse, within the limits".to_string()
        }
        Judgement::Within => direction.to_string(),
        Judgement::NotJudged => {
            let why = row.why.as_deref().unwrap_or("");
            if direction.is_empty() {
                format!("not judged: {why}")
            } else {
                format!("{direction}, not judged: {why}")
            }
        }
    }
}

/// `p95`, `error ratio`, `time to fire`, `service p95`.
pub fn figure_name(row: &Row) -> String {
    row.figure.replace('_', " ")
}

/// Where a row belongs, for the headings: `phase `healthy``, `alerts`,
/// `service-side SLOs`.
fn heading(row: &Row) -> String {
    match row.section {
        Section::Phase => format!("phase `{}`", row.subject),
        Section::Alert => "alert checks".to_string(),
        Section::Service => "service-side SLOs (Prometheus)".to_string(),
    }
}

/// The figure's label in its section: a phase's rows are named by the
/// figure alone; the others also by their subject.
fn label(row: &Row) -> String {
    match row.section {
        Section::Phase => figure_name(row),
        Section::Alert => format!("{} {}", figure_name(row), row.subject),
        Section::Service => format!("{} during `{}`", figure_name(row), row.subject),
    }
}

/// The rule a regression was judged by, in one sentence.
pub fn rule(comparison: &Comparison) -> String {
    let l = &comparison.limits;
    format!(
        "a regression is worse by more than {}% and by more than the floor: {} (latency), {} (alert times), {}% (error ratio), {}/s (throughput); \
         a figure resting on fewer than {} samples (requests beyond a quantile; ×10 requests for error ratio and throughput) is shown, not judged",
        trim_float(l.max_regression * 100.0),
        value(Unit::Ms, l.latency_floor_ms).replace(".0ms", "ms"),
        l.time_floor_seconds
            .map_or("none".to_string(), |s| format!("{}s", trim_float((s * 10.0).round() / 10.0))),
        trim_float(l.error_ratio_floor * 100.0),
        trim_float(l.throughput_floor),
        l.min_samples
    )
}

fn side(name: &str, side: &super::Side) -> String {
    let started: Vec<&str> = side.runs.iter().map(|r| r.started_at.as_str()).collect();
    match started.as_slice() {
        [one] => format!("  {name:<5} {} (started {one})\n", side.source),
        many => format!(
            "  {name:<5} {} (started {} … {})\n",
            side.source,
            many.first().copied().unwrap_or(""),
            many.last().copied().unwrap_or("")
        ),
    }
}

/// The verdict and what regressed, in one line.
pub fn conclusion(comparison: &Comparison) -> String {
    let not_judged = comparison
        .rows
        .iter()
        .filter(|r| r.judgement == Judgement::NotJudged)
        .count();
    if comparison.regressions == 0 {
        return format!(
            "OK · no regression ({} figures, {not_judged} not judged)",
            comparison.rows.len()
        );
    }
    let which: Vec<String> = comparison
        .regressed()
        .map(|r| match r.section {
            Section::Phase => format!("{} during `{}` {}", figure_name(r), r.subject, delta(r)),
            _ => format!("{} {}", label(r), delta(r)),
        })
        .collect();
    format!(
        "REGRESSION · {} regression{}: {}",
        comparison.regressions,
        if comparison.regressions == 1 { "" } else { "s" },
        which.join("; ")
    )
}

/// The terminal's table.
pub fn terminal(comparison: &Comparison) -> String {
    let mut out = format!("firedrill compare · {}\n", comparison.scenario);
    out.push_str(&side("base:", &comparison.base));
    out.push_str(&side("new:", &comparison.new));
    out.push_str(&format!("  {}\n", rule(comparison)));
    let width = comparison
        .rows
        .iter()
        .map(|r| label(r).chars().count())
        .max()
        .unwrap_or(0)
        .clamp(16, 72);
    let mut last_heading = String::new();
    for row in &comparison.rows {
        let heading = heading(row);
        if heading != last_heading {
            out.push_str(&format!(
                "\n{heading:<w$} {:>11} {:>11} {:>20}\n",
                "base",
                "new",
                "delta",
                w = width + 2
            ));
            last_heading = heading;
        }
        let shown = |v: Option<f64>| v.map_or("—".to_string(), |v| value(row.unit, v));
        out.push_str(&format!(
            "  {:<width$} {:>11} {:>11} {:>20}  {}\n",
            label(row),
            shown(row.base),
            shown(row.new),
            delta(row),
            outcome(row)
        ));
    }
    out.push('\n');
    out.push_str(&format!(
        "{} · exit code {}\n",
        conclusion(comparison),
        u8::from(comparison.regressions > 0)
    ));
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn table(rows: &[&Row]) -> String {
    let mut out =
        String::from("| | figure | base | new | delta | |\n|---|---|---:|---:|---:|---|\n");
    for row in rows {
        let shown = |v: Option<f64>| v.map_or("—".to_string(), |v| value(row.unit, v));
        let icon = match row.judgement {
            Judgement::Regression => "❌",
            Judgement::NotJudged => "·",
            Judgement::Within if row.direction == Direction::Worse => "⚠️",
            Judgement::Within => "✅",
        };
        let figure = match row.section {
            Section::Phase | Section::Service => {
                format!("`{}` {}", cell(&row.subject), cell(&figure_name(row)))
            }
            Section::Alert => format!("{} {}", cell(&figure_name(row)), cell(&row.subject)),
        };
        out.push_str(&format!(
            "| {icon} | {figure} | {} | {} | {} | {} |\n",
            shown(row.base),
            shown(row.new),
            cell(&delta(row)),
            cell(&outcome(row))
        ));
    }
    out
}

/// Markdown for a pull-request comment.
pub fn markdown(comparison: &Comparison) -> String {
    let (icon, headline) = if comparison.regressions == 0 {
        ("✅", "no regression".to_string())
    } else {
        (
            "❌",
            format!(
                "{} regression{}",
                comparison.regressions,
                if comparison.regressions == 1 { "" } else { "s" }
            ),
        )
    };
    let mut out = format!(
        "## {icon} firedrill compare: {} — {headline}\n\n",
        cell(&comparison.scenario)
    );
    out.push_str(&format!(
        "Base: {} · new: {}\n\n",
        cell(&comparison.base.source),
        cell(&comparison.new.source)
    ));
    let (shown, folded): (Vec<&Row>, Vec<&Row>) = comparison.rows.iter().partition(|r| {
        r.judgement == Judgement::Regression
            || (r.direction == Direction::Worse && r.judgement == Judgement::NotJudged)
    });
    if !shown.is_empty() {
        out.push_str(&table(&shown));
        out.push('\n');
    }
    out.push_str(&format!(
        "<details><summary>{} other figures (better, unchanged, or within the limits)</summary>\n\n{}\n</details>\n\n",
        folded.len(),
        table(&folded)
    ));
    out.push_str(&format!("_{}_\n", cell(&rule(comparison))));
    out
}
