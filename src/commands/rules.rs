//! `firedrill rules check`: the rules analysis, printed as a table for
//! people or as JSON for tools. Exit 0 without findings, 1 with any, 2 when
//! the input is invalid, 3 when the Prometheus given cannot be asked.

use std::path::PathBuf;
use std::time::Duration;

use crate::exit;
use crate::rules::check::{self, CheckError, CheckOptions};
use crate::scenario::{self, Overrides};

pub struct RulesCheckArgs {
    pub files: Vec<PathBuf>,
    pub scenario: Option<PathBuf>,
    pub prometheus: Option<String>,
    pub scrape_interval: Option<Duration>,
    pub evaluation_interval: Option<Duration>,
    pub json: bool,
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
        scrape_interval: args.scrape_interval,
        evaluation_interval: args.evaluation_interval,
    };
    let report = match check::check(&options).await {
        Ok(report) => report,
        Err(CheckError::Input(e)) => {
            eprintln!("firedrill: {e}");
            return exit::INVALID;
        }
        Err(CheckError::Prometheus(e)) => {
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
        print!("{}", check::render_table(&report));
    }
    if report.problems() == 0 {
        exit::PASS
    } else {
        exit::FAIL
    }
}
