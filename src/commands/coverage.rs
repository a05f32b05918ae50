//! `firedrill coverage`: every alert of the rule files proven from its own
//! rule, a ledger printed (a table, or `--json`), written as HTML and
//! JUnit on request, the proofs written as promtool tests with
//! `--emit-tests`. Exit 0 when every required alert is proven, 1 when one
//! is not, 2 for bad input, 3 when the proof could not run.

use std::path::PathBuf;
use std::time::Duration;

use super::{CommandError, Outcome};
use crate::coverage::{self, CoverageError, CoverageOptions, Ledger, Proof, Spent};
use crate::rules::alertmanager::parse_matchers;

/// Prove every alert from its own rule: a provocation built from its
/// condition (recording rules followed), proven by Prometheus's rule engine
/// (promtool test rules) — silent on its healthy state, firing within the
/// timing model's bounds with its labels and annotations, resolved after —
/// and, with an Alertmanager configuration among the files, routed to a
/// receiver that notifies. Exit 0 when every required alert is proven, 1
/// when one is not, 2 for bad input, 3 when the proof could not run.
#[derive(Debug, Clone, clap::Args)]
pub struct CoverageArgs {
    /// Rule files, directories (searched recursively), Prometheus and
    /// Alertmanager configurations, plain or in ConfigMaps and
    /// PrometheusRules.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// A live Prometheus: alerts already pending or firing there are
    /// `noisy`; those whose selectors match no series there are `dead`.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// Write the proofs as promtool tests here, to commit beside the rules.
    #[arg(long, value_name = "DIR")]
    pub emit_tests: Option<PathBuf>,
    /// Print the ledger as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also write the ledger as an HTML page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write JUnit XML (one test case per alert).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// The live proof's time compression (the promtool proof runs any time
    /// span exactly and does not need it).
    #[arg(long, value_name = "N")]
    pub time_scale: Option<f64>,
    /// Only these alerts must be proven (Alertmanager matchers on the
    /// rule's labels and alertname: `severity="critical"`).
    #[arg(long, value_name = "MATCHERS")]
    pub require: Option<String>,
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration)]
    pub scrape_interval: Option<Duration>,
    #[arg(long, value_name = "DURATION", value_parser = super::parse_duration)]
    pub evaluation_interval: Option<Duration>,
    /// Which proof runs: promtool (Prometheus's rule engine, any time
    /// span, exact), live (a real Prometheus and Alertmanager,
    /// time-compressed, fed by firedrill's exporter), both, or auto (both
    /// for at most 50 alerts when the binaries are installed, else
    /// promtool).
    #[arg(long, value_enum, default_value_t = ProofArg::Auto)]
    pub proof: ProofArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProofArg {
    Promtool,
    Live,
    Both,
    Auto,
}

impl From<CoverageError> for CommandError {
    fn from(error: CoverageError) -> Self {
        CommandError::Coverage(Box::new(error))
    }
}

pub async fn coverage(args: CoverageArgs) -> Result<Outcome, CommandError> {
    let require = match &args.require {
        Some(text) => parse_matchers(text).map_err(CoverageError::Require)?,
        None => Vec::new(),
    };
    // FIREDRILL_COVERAGE_KEEP=1 keeps promtool's files (to run them by hand).
    let keep = std::env::var_os("FIREDRILL_COVERAGE_KEEP").is_some();
    let options = CoverageOptions {
        files: args.files.clone(),
        prometheus: args.prometheus.clone(),
        emit_tests: args.emit_tests.clone(),
        proof: match args.proof {
            ProofArg::Promtool => Proof::Promtool,
            ProofArg::Live => Proof::Live,
            ProofArg::Both => Proof::Both,
            ProofArg::Auto => Proof::Auto,
        },
        time_scale: args.time_scale,
        scrape_interval: args.scrape_interval,
        evaluation_interval: args.evaluation_interval,
        spent: if keep { Spent::Kept } else { Spent::Removed },
    };
    let workdir = tempfile::Builder::new()
        .prefix("firedrill-coverage")
        .disable_cleanup(keep)
        .tempdir()
        .map_err(|source| CoverageError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    if keep {
        eprintln!(
            "coverage: promtool's files are in {}",
            workdir.path().display()
        );
    }
    // A signal ends the run with nothing left behind: the promtool
    // processes are killed (the proof runs them synchronously: its threads
    // then end with an error), the run is a task, aborted at its next
    // await — the live proof's children and their directories go with it
    // (their guards) — and waited for a bounded time, then the work
    // directory is removed.
    let path = workdir.path().to_path_buf();
    let mut run = tokio::spawn(async move { coverage::coverage(&options, &path).await });
    let ledger = tokio::select! {
        joined = &mut run => joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())),
        _ = super::wait_for_signal() => {
            crate::analyze::sweep::cancel_promtool();
            run.abort();
            let _ = tokio::time::timeout(Duration::from_secs(20), &mut run).await;
            if !keep {
                let _ = std::fs::remove_dir_all(workdir.path());
            }
            eprintln!("\nfiredrill: coverage interrupted; nothing was proven");
            std::process::exit(crate::exit::INCONCLUSIVE);
        }
    };
    drop(workdir);
    let ledger = ledger?;
    write_renderings(&args, &ledger)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&ledger)?);
    } else {
        print!("{}", crate::report::ledger_table(&ledger));
    }
    Ok(if ledger.passes(&require) {
        Outcome::Pass
    } else {
        Outcome::Fail
    })
}

fn write_renderings(args: &CoverageArgs, ledger: &Ledger) -> Result<(), CommandError> {
    let write = |path: &PathBuf, text: String| {
        std::fs::write(path, text).map_err(|source| CommandError::WriteFile {
            path: path.clone(),
            source,
        })
    };
    if let Some(path) = &args.html {
        write(path, crate::report::ledger_html(ledger))?;
    }
    if let Some(path) = &args.junit {
        write(path, crate::report::ledger_junit(ledger))?;
    }
    Ok(())
}
