//! `firedrill rules check`: the rules analysis, printed as a table for
//! people or as JSON for tools. Exit 0 without findings, 1 with any, 2 when
//! the input is invalid, 3 when the Prometheus given cannot be asked.

use std::path::PathBuf;
use std::time::Duration;

use crate::analyze::{self, CheckError, CheckOptions};
use crate::exit;
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

/// `firedrill rules …`: the analysis of rules without traffic.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum RulesCommand {
    Check(RulesCheckArgs),
}

pub async fn check(args: RulesCheckArgs) -> i32 {
    let scenario = match &args.scenario {
        Some(path) => match scenario::load(path, &Overrides::default()) {
            Ok(plan) => Some(plan),
            Err(e) => {
                eprintln!("{e}");
                return exit::INVALID;
            }
        },
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
    let report = match analyze::check(&options).await {
        Ok(report) => report,
        Err(CheckError::Input(e)) => {
            eprintln!("firedrill: {e}");
            return exit::INVALID;
        }
        Err(CheckError::Prometheus(e)) => {
            eprintln!("firedrill: {e}");
            return exit::INCONCLUSIVE;
        }
        Err(CheckError::Alertmanager(e)) => {
            eprintln!("firedrill: {e}");
            return exit::INCONCLUSIVE;
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("firedrill: {e}");
                return exit::INCONCLUSIVE;
            }
        }
    } else {
        print!("{}", analyze::render_table(&report));
    }
    if report.problems() == 0 {
        exit::PASS
    } else {
        exit::FAIL
    }
}
