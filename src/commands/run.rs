//! `firedrill run`: scenario → environment → drill → checks → report.
//!
//! Whatever happens after the scenario is accepted, a report is written and
//! marked with how the run ended; everything started (demo, Prometheus,
//! faults) is stopped or restored on the way out.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;

use crate::checks;
use crate::drill::{self, Observations, Progress, Silent};
use crate::env::Environment;
use crate::exit;
use crate::report::telemetry::Telemetry;
use crate::report::{self, terminal, Report};
use crate::scenario::{self, Overrides};

pub struct RunOptions {
    pub scenario: PathBuf,
    pub overrides: Overrides,
    /// The report directory; default `<reports_root>/<scenario>-<timestamp>`.
    pub out: Option<PathBuf>,
    pub reports_root: PathBuf,
    pub quiet: bool,
    pub shard: Option<crate::plan::Shard>,
    /// Serve firedrill's own /metrics here while the run lasts.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Push the results to this Pushgateway at the end.
    pub push_gateway: Option<String>,
    /// How to reach the Kubernetes API, for plans that use it.
    pub cluster: crate::cluster::ClusterOptions,
}

pub struct RunOutcome {
    pub exit_code: i32,
    pub report_dir: Option<PathBuf>,
}

pub async fn run(options: &RunOptions, mut shutdown: watch::Receiver<bool>) -> RunOutcome {
    let plan = match scenario::load(&options.scenario, &options.overrides) {
        Ok(plan) => crate::plan::Plan {
            shard: options.shard,
            ..plan
        },
        Err(e) => {
            eprintln!("{e}");
            eprintln!(
                "firedrill: the scenario is invalid; nothing was sent (exit {})",
                exit::INVALID
            );
            return RunOutcome {
                exit_code: exit::INVALID,
                report_dir: None,
            };
        }
    };
    let started_at = report::now_rfc3339();
    let mut progress: Arc<dyn Progress> = if options.quiet {
        Arc::new(Silent)
    } else {
        terminal::TerminalProgress::new()
    };
    // Kept alive for the run: dropping it stops the /metrics server.
    let mut _telemetry = None;
    if let Some(addr) = options.metrics_addr {
        match Telemetry::start(addr, progress.clone()) {
            Ok(telemetry) => {
                eprintln!(
                    "firedrill: serving its own metrics at http://{}/metrics",
                    telemetry.addr()
                );
                progress = telemetry.clone();
                _telemetry = Some(telemetry);
            }
            Err(e) => {
                eprintln!("firedrill: cannot serve metrics on {addr}: {e}");
                return RunOutcome {
                    exit_code: exit::INVALID,
                    report_dir: None,
                };
            }
        }
    }

    let prepared = tokio::select! {
        prepared = Environment::prepare(&plan, &options.cluster) => prepared.map_err(Some),
        _ = shutdown.changed() => Err(None),
    };
    let (observations, environment, prometheus_log, forced_exit) = match prepared {
        Ok(env) => {
            let observations = drill::run(&plan, &env, shutdown, progress).await;
            let log = env.prometheus_log();
            let summary = env.summary.clone();
            // Dropping the environment stops Prometheus and the demo now,
            // before the report is written.
            drop(env);
            (observations, Some(summary), log, None)
        }
        Err(Some(error)) => {
            let code = Some(exit::for_env_error(&error));
            eprintln!("firedrill: {error}");
            (
                Observations::aborted(format!("the environment could not be prepared: {error}")),
                None,
                None,
                code,
            )
        }
        Err(None) => (
            Observations::aborted(
                "interrupted by a signal while the environment was starting".into(),
            ),
            None,
            None,
            None,
        ),
    };

    let verdicts = checks::evaluate(&plan, &observations);
    let mut report = Report::new(&plan, environment, started_at, observations, verdicts);
    if let Some(code) = forced_exit {
        report.exit_code = code;
    }
    if let Some(gateway) = &options.push_gateway {
        match crate::report::push::push(gateway, &report).await {
            Ok(url) => eprintln!("firedrill: results pushed to {url}"),
            Err(e) => {
                eprintln!("firedrill: {e}");
                report
                    .observations
                    .notes
                    .push(format!("the results could not be pushed: {e}"));
            }
        }
    }
    let dir = options
        .out
        .clone()
        .unwrap_or_else(|| report::default_dir(&options.reports_root, &plan.name));
    let written = write_report(&report, &dir, prometheus_log.as_deref());
    eprint!("{}", terminal::summary(&report));
    match &written {
        Ok(()) => eprintln!("report: {}", dir.join("report.json").display()),
        Err(e) => eprintln!(
            "firedrill: could not write the report to {}: {e}",
            dir.display()
        ),
    }
    RunOutcome {
        exit_code: report.exit_code,
        report_dir: written.ok().map(|_| dir),
    }
}

fn write_report(report: &Report, dir: &Path, prometheus_log: Option<&str>) -> std::io::Result<()> {
    report.write_all(dir)?;
    if let Some(log) = prometheus_log {
        std::fs::write(dir.join("prometheus.log"), log)?;
    }
    Ok(())
}
