//! `firedrill rules check`: the rules analysis, printed as a table for
//! people or as JSON for tools. Exit 0 without findings, 1 with any, 2 when
//! the input is invalid, 3 when the Prometheus given cannot be asked.

use std::path::PathBuf;
use std::time::Duration;

use super::{CommandError, Outcome};
use crate::analyze::{self, CheckOptions};
use crate::scenario::{self, Overrides};

/// Check rule files, Prometheus configs, ServiceMonitors and dashboards
/// (files, or directories searched recursively; plain, ConfigMap or
/// PrometheusRule). Exit 0 without findings, 1 with any (findings resting
/// only on an assumption count with --strict).
#[derive(Debug, Clone, clap::Args)]
pub struct RulesCheckArgs {
    pub files: Vec<PathBuf>,
    /// A live Prometheus: its intervals, its histograms' buckets, missing
    /// series, failing rules, dashboard panels with no data.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// A live Alertmanager: its routing (instead of a configuration file)
    /// and its active silences (one that matches an alert is a finding).
    #[arg(long, value_name = "URL")]
    pub alertmanager: Option<String>,
    /// Check this scenario's deadlines against the rules (and use its rules
    /// when no files are given).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration)]
    pub scrape_interval: Option<Duration>,
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration)]
    pub evaluation_interval: Option<Duration>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Let findings that rest only on an assumption (a scrape interval or
    /// buckets nobody gave) fail the check too.
    #[arg(long)]
    pub strict: bool,
}

/// When each alert fires across every size of fault: error ratios from
/// 100% to 0.1% (and around each threshold), as a step that stays and as
/// bursts, computed by Prometheus's rule engine (promtool test rules, the
/// recording rules included), with the budget spent by then and, given an
/// SLO, precision and recall. Exit 0, or 1 when an alert fires on healthy
/// traffic (or, with --strict, on any finding).
#[derive(Debug, Clone, clap::Args)]
pub struct RulesSweepArgs {
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Only this alert (repeatable).
    #[arg(long = "alert", value_name = "NAME")]
    pub alerts: Vec<String>,
    /// Error ratios to try, comma-separated (`50%,5%,0.1%`).
    #[arg(long, value_name = "RATIOS", value_delimiter = ',', value_parser = parse_share)]
    pub error_ratios: Option<Vec<f64>>,
    /// Burst lengths besides the step that stays, comma-separated (`none`
    /// or empty: the step only).
    #[arg(
        long,
        value_name = "DURATIONS",
        value_delimiter = ',',
        default_value = "5m,30m,1h"
    )]
    pub bursts: Vec<String>,
    /// The SLO's objective (`99.9%`), when no Sloth or Pyrra metadata rule says.
    #[arg(long, value_name = "SHARE", value_parser = parse_share)]
    pub objective: Option<f64>,
    /// The SLO's period (default: the metadata's, else 30d).
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration)]
    pub period: Option<Duration>,
    /// A fault spending at least this share of the budget must fire.
    #[arg(long, value_name = "SHARE", value_parser = parse_share, default_value = "2%")]
    pub page_share: f64,
    /// A fault spending less than this share must not fire.
    #[arg(long, value_name = "SHARE", value_parser = parse_share, default_value = "0.1%")]
    pub false_alarm_share: f64,
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration)]
    pub scrape_interval: Option<Duration>,
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration)]
    pub evaluation_interval: Option<Duration>,
    /// How long after a fault starts (and a burst ends) to look (default:
    /// the alert's longest window, plus `for` and two evaluations).
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration)]
    pub horizon: Option<Duration>,
    /// Requests per second of the synthesized traffic.
    #[arg(long, value_name = "N", default_value_t = 10.0)]
    pub request_rate: f64,
    /// The timing model's arithmetic only (no promtool).
    #[arg(long)]
    pub model_only: bool,
    /// Ask promtool about every evaluation of every phase of scrapes and
    /// evaluations, up to the horizon (much slower; by default a search
    /// asks about some, and one it did not ask about takes the nearest
    /// earlier answer).
    #[arg(long)]
    pub thorough: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also write an HTML page (detection time over error ratio).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Findings (a significant fault missed, a false alarm) fail the command.
    #[arg(long)]
    pub strict: bool,
}

/// `99.9%`, `0.999`, `5%`.
fn parse_share(text: &str) -> Result<f64, ShareError> {
    let text = text.trim();
    let value = match text.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => text.parse::<f64>(),
    }
    .map_err(|source| ShareError::NotANumber {
        text: text.to_string(),
        source,
    })?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(ShareError::OutOfRange {
            text: text.to_string(),
        })
    }
}

/// A share on the command line that is not one.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    #[error("`{text}`: {source}")]
    NotANumber {
        text: String,
        #[source]
        source: std::num::ParseFloatError,
    },
    #[error("`{text}` is not a share between 0 and 100%")]
    OutOfRange { text: String },
}

/// `firedrill rules …`: the analysis of rules without traffic.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum RulesCommand {
    Check(RulesCheckArgs),
    Sweep(RulesSweepArgs),
}

pub async fn sweep(args: RulesSweepArgs) -> Result<Outcome, CommandError> {
    use crate::analyze::sweep::{self, SweepOptions};
    let mut bursts = Vec::new();
    for text in args.bursts.iter().map(|b| b.trim()) {
        if text.is_empty() || text == "none" {
            continue;
        }
        let burst = super::parse_duration(text).map_err(|e| CommandError::Duration {
            option: "--bursts",
            source: e.0,
        })?;
        bursts.push(burst);
    }
    let options = SweepOptions {
        files: args.files,
        alerts: args.alerts,
        error_ratios: args.error_ratios,
        bursts,
        objective: args.objective,
        period: args.period,
        page_share: args.page_share,
        false_alarm_share: args.false_alarm_share,
        scrape_interval: args.scrape_interval,
        evaluation_interval: args.evaluation_interval,
        horizon: args.horizon,
        request_rate: args.request_rate,
        model_only: args.model_only,
        strict: args.strict,
        thorough: args.thorough,
        history: None,
        dense_alignments: false,
    };
    let report = sweep::sweep(&options).await?;
    if let Some(path) = &args.html {
        std::fs::write(path, crate::report::sweep_html(&report)).map_err(|source| {
            CommandError::WriteFile {
                path: path.clone(),
                source,
            }
        })?;
    }
    print_report(
        args.json,
        &report,
        || crate::report::sweep_table(&report),
        report.problems(),
    )
}

pub async fn check(args: RulesCheckArgs) -> Result<Outcome, CommandError> {
    let scenario = match &args.scenario {
        Some(path) => Some(scenario::load(path, &Overrides::default())?),
        None => None,
    };
    let options = CheckOptions {
        files: args.files,
        scenario,
        prometheus: args.prometheus,
        alertmanager: args.alertmanager,
        scrape_interval: args.scrape_interval,
        evaluation_interval: args.evaluation_interval,
        strict: args.strict,
    };
    let report = analyze::check(&options).await?;
    print_report(
        args.json,
        &report,
        || crate::report::rules_check_table(&report),
        report.problems(),
    )
}

/// Prints a report as JSON or as its table; it passes without problems.
fn print_report(
    json: bool,
    report: &impl serde::Serialize,
    table: impl FnOnce() -> String,
    problems: usize,
) -> Result<Outcome, CommandError> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{}", table());
    }
    Ok(if problems == 0 {
        Outcome::Pass
    } else {
        Outcome::Fail
    })
}
