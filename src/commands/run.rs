//! `firedrill run`: scenario → environment → drill → checks → report.
//!
//! Whatever happens after the scenario is accepted, a report is written and
//! marked with how the run ended; everything started (demo, Prometheus,
//! faults) is stopped or restored on the way out.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;

use crate::checks;
use crate::cluster::ClusterOptions;
use crate::drill;
use crate::env::Environment;
use crate::exit;
use crate::plan::{BaselineSource, DEFAULT_BASELINE_RUNS};
use crate::publish::telemetry::Telemetry;
use crate::record::{EnvSummary, Observations, Progress, Silent};
use crate::report::{self, terminal, Report};
use crate::scenario::{self, Overrides};

use super::{CommandError, Outcome};

/// Run a scenario: traffic, faults, alert and SLO checks; writes a report.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The scenario file (YAML).
    pub scenario: PathBuf,
    /// Send traffic to this base URL instead of the scenario's target.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Watch this Prometheus instead of the scenario's.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// Override the scenario's time_scale (embedded Prometheus only).
    #[arg(long, value_name = "FACTOR")]
    pub time_scale: Option<f64>,
    /// Write the report here (default: reports/<scenario>-<timestamp>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where default report directories are created.
    #[arg(long = "reports", value_name = "DIR", default_value = "reports")]
    pub reports_root: PathBuf,
    /// Print only the final verdicts.
    #[arg(long, short)]
    pub quiet: bool,
    /// Run shard i of n (0-based): this process sends 1/n of the arrival
    /// rate (or of the requests); `firedrill merge` combines the reports.
    /// Only shard 0 injects faults.
    #[arg(long, value_name = "i/n", value_parser = crate::plan::Shard::parse)]
    pub shard: Option<crate::plan::Shard>,
    /// Serve firedrill's own Prometheus metrics here during the run
    /// (e.g. 0.0.0.0:9464 in a pod).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Push the results to this Pushgateway when the run ends.
    #[arg(long, value_name = "URL", env = "FIREDRILL_PUSH_GATEWAY")]
    pub push_gateway: Option<String>,
    /// The load engine's HTTP/1.1 client: `lean` (default) or `hyper` (for
    /// comparison).
    #[arg(long, value_enum, default_value_t = crate::load::Client::Lean)]
    pub client: crate::load::Client,
    /// How open-model requests wait for their send time: `timerfd`
    /// (default) or `tokio` (its 1 ms tick, for comparison).
    #[arg(long, value_enum, default_value_t = crate::load::Pacing::Timerfd)]
    pub pacing: crate::load::Pacing,
    /// Load threads. Default: all cores, but one fewer (at least one) when
    /// the target is on this machine, which needs a core to answer.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
    /// Compare with this baseline (instead of the scenario's `baseline:`): a
    /// report.json, or a directory of report directories (the median of its
    /// last passing runs of the scenario). Checks with `at_most: baseline +
    /// …` are judged against it; the report records it, and the push
    /// carries the deltas.
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,
    /// With a directory as baseline: how many of its last passing runs.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub baseline_last: Option<u64>,
    /// After writing the report under --reports, keep only the newest N
    /// report directories of this scenario there (a nightly job's history).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "out")]
    pub keep_reports: Option<u64>,
}

impl RunArgs {
    /// The baseline to read: `--baseline` (relative to the working
    /// directory) over the scenario's, `--baseline-last` over either's count.
    fn baseline_source(&self, written: Option<BaselineSource>) -> Option<BaselineSource> {
        let mut source = match (&self.baseline, written) {
            (Some(path), _) => BaselineSource {
                path: path.clone(),
                last: DEFAULT_BASELINE_RUNS,
            },
            (None, Some(written)) => written,
            (None, None) => return None,
        };
        if let Some(last) = self.baseline_last {
            source.last = last as usize;
        }
        Some(source)
    }

    /// What the command line changes in the scenario.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            target_url: self.target.clone(),
            prometheus_url: self.prometheus.clone(),
            time_scale: self.time_scale,
        }
    }

    /// How the load engine sends.
    pub fn engine(&self) -> crate::load::Engine {
        crate::load::Engine {
            client: self.client,
            pacing: self.pacing,
            threads: self
                .threads
                .map_or(crate::load::Threads::Auto, crate::load::Threads::Exactly),
        }
    }
}

/// Runs a scenario: loads it, prepares its environment, runs the drill,
/// judges what it observed, and writes the report. Whatever happens after
/// the scenario is accepted, the outcome is the report's.
pub async fn run(
    options: &RunArgs,
    cluster: &ClusterOptions,
    shutdown: watch::Receiver<bool>,
) -> Result<Outcome, CommandError> {
    let mut plan = crate::plan::Plan {
        shard: options.shard,
        ..scenario::load(&options.scenario, &options.overrides())
            .map_err(CommandError::NothingSent)?
    };
    plan.baseline = options.baseline_source(plan.baseline.take());
    let started_at = crate::time::now_rfc3339();
    // Kept for the run: dropping it stops the /metrics server.
    let listeners = Listeners::start(options)?;
    let progress = listeners.progress.clone();
    let drilled = prepare_and_drill(&plan, options, cluster, shutdown, progress).await;
    let logs = drilled.logs;
    let mut observations = drilled.observations;
    // Read after the drill: a history the run itself will join is read
    // without it.
    observations.baseline = plan
        .baseline
        .as_ref()
        .map(|b| report::compare::baseline_for_run(&plan, &b.path, b.last));
    let mut verdicts = checks::evaluate(&plan, &observations);
    // Beside each deadline the drill measured: when Prometheus's rule
    // engine says the alert fires, here and in production.
    let predictions = if drilled.environment.is_some() {
        crate::analyze::sweep::predict(&plan, &observations.phases).await
    } else {
        Vec::new()
    };
    crate::analyze::sweep::annotate(&mut verdicts, &predictions);
    let mut report = Report::new(
        &plan,
        drilled.environment,
        started_at,
        observations,
        verdicts,
    );
    report.predictions = predictions;
    if let Some(code) = drilled.exit_code {
        report.exit_code = code;
    }
    finish(options, &plan, report, &logs).await
}

/// Who hears the run as it goes: the terminal (nobody with `--quiet`) and,
/// when asked for, firedrill's own /metrics, served while this is kept.
struct Listeners {
    progress: Arc<dyn Progress>,
    _telemetry: Option<Arc<Telemetry>>,
}

impl Listeners {
    fn start(options: &RunArgs) -> Result<Self, CommandError> {
        let progress: Arc<dyn Progress> = if options.quiet {
            Arc::new(Silent)
        } else {
            terminal::TerminalProgress::new()
        };
        let Some(addr) = options.metrics_addr else {
            return Ok(Listeners {
                progress,
                _telemetry: None,
            });
        };
        let telemetry = Telemetry::start(addr, progress)
            .map_err(|source| CommandError::Metrics { addr, source })?;
        eprintln!(
            "firedrill: serving its own metrics at http://{}/metrics",
            telemetry.addr()
        );
        Ok(Listeners {
            progress: telemetry.clone(),
            _telemetry: Some(telemetry),
        })
    }
}

/// What the drill left for the report.
struct Drilled {
    observations: Observations,
    /// The environment it ran in, when it could be prepared.
    environment: Option<EnvSummary>,
    logs: Logs,
    /// The exit code the report records instead of its verdict's: why the
    /// run could not happen (`exit::for_env_error`).
    exit_code: Option<i32>,
}

/// Prepares the environment and runs the drill in it. A run whose
/// environment could not be prepared (or that was interrupted meanwhile)
/// is aborted, and says why; it still gets its report.
async fn prepare_and_drill(
    plan: &crate::plan::Plan,
    options: &RunArgs,
    cluster: &ClusterOptions,
    mut shutdown: watch::Receiver<bool>,
    progress: Arc<dyn Progress>,
) -> Drilled {
    let prepared = tokio::select! {
        prepared = Environment::prepare(plan, cluster) => prepared.map_err(Some),
        _ = shutdown.changed() => Err(None),
    };
    let aborted = |why: String, exit_code| Drilled {
        observations: Observations::aborted(why),
        environment: None,
        logs: Logs::default(),
        exit_code,
    };
    let mut env = match prepared {
        Ok(env) => env,
        Err(Some(error)) => {
            // Said now, as the run goes on to its report.
            eprintln!("firedrill: {error}");
            let why = format!("the environment could not be prepared: {error}");
            return aborted(why, Some(exit::for_env_error(&error)));
        }
        Err(None) => {
            let why = "interrupted by a signal while the environment was starting";
            return aborted(why.into(), None);
        }
    };
    env.target = env.target.clone().with_engine(options.engine());
    let observations = drill::run(plan, &env, shutdown, progress).await;
    let logs = Logs {
        prometheus: env.prometheus_log(),
        alertmanager: env.alertmanager_log(),
    };
    let environment = Some(env.summary.clone());
    // Dropping the environment stops Prometheus and the demo now, before
    // the report is written.
    drop(env);
    Drilled {
        observations,
        environment,
        logs,
        exit_code: None,
    }
}

/// Writes the report, then pushes the results (when asked), and says where.
/// The report comes first: a pod evicted during the push (which waits on
/// the network, up to its timeout) keeps its report. A failed push is noted
/// in the report, written again. A run whose report could not be written
/// does not pass: nothing would show what it checked.
async fn finish(
    options: &RunArgs,
    plan: &crate::plan::Plan,
    mut report: Report,
    logs: &Logs,
) -> Result<Outcome, CommandError> {
    let dir = options
        .out
        .clone()
        .unwrap_or_else(|| report::default_dir(&options.reports_root, &plan.name));
    let mut written = write_report(&report, &dir, logs);
    if let Some(gateway) = &options.push_gateway {
        match crate::publish::push::push(gateway, &report).await {
            Ok(url) => eprintln!("firedrill: results pushed to {url}"),
            Err(e) => {
                // The run goes on: the failure is said, and noted in the report.
                eprintln!("firedrill: {e}");
                report
                    .observations
                    .notes
                    .push(format!("the results could not be pushed: {e}"));
                written = written.and_then(|()| write_report(&report, &dir, logs));
            }
        }
    }
    eprint!("{}", terminal::summary(&report));
    say_baseline(&report);
    match written {
        Ok(()) => {
            eprintln!("report: {}", dir.join("report.json").display());
            if let (Some(keep), None) = (options.keep_reports, &options.out) {
                prune(&options.reports_root, &plan.name, keep as usize);
            }
            Ok(Outcome::Report {
                exit_code: report.exit_code,
            })
        }
        Err(source) => Err(CommandError::ReportNotWritten {
            dir,
            source,
            recorded: report.exit_code,
        }),
    }
}

/// The embedded children's logs, copied before they are stopped.
#[derive(Default)]
struct Logs {
    prometheus: Option<String>,
    alertmanager: Option<String>,
}

fn write_report(report: &Report, dir: &Path, logs: &Logs) -> std::io::Result<()> {
    report.write_all(dir)?;
    for (name, log) in [
        ("prometheus.log", &logs.prometheus),
        ("alertmanager.log", &logs.alertmanager),
    ] {
        if let Some(log) = log {
            std::fs::write(dir.join(name), log)?;
        }
    }
    Ok(())
}

/// One line on the baseline: what the run was compared with and whether a
/// figure regressed (the checks with `at_most` decide the verdict; `firedrill
/// compare` shows every figure).
fn say_baseline(report: &Report) {
    match &report.observations.baseline {
        None => {}
        Some(crate::record::BaselineRecord::Missing { source, reason }) => {
            eprintln!("baseline {source}: not used: {reason}")
        }
        Some(crate::record::BaselineRecord::Found(baseline)) => {
            if let Some(comparison) = report::compare::against_recorded(report) {
                eprintln!(
                    "compared with {}: {}",
                    baseline.source,
                    report::compare::conclusion(&comparison)
                );
            }
        }
    }
}

/// `--keep-reports`: the older report directories of the scenario go; a
/// directory that cannot be removed is said and left.
fn prune(root: &Path, scenario: &str, keep: usize) {
    match report::compare::prune_history(root, scenario, keep) {
        Ok(removed) => {
            for dir in removed {
                eprintln!("removed the older report {}", dir.display());
            }
        }
        Err(e) => eprintln!("firedrill: could not prune {}: {e}", root.display()),
    }
}
