//! The commands: each subcommand's arguments (clap structs, declared once,
//! here) and the function that runs it, returning `Result<Outcome,
//! CommandError>` (`outcome`, where the exit code is decided). `main.rs`
//! parses the command line and calls `execute`.

pub mod cluster;
pub mod compare;
pub mod coverage;
pub mod load;
pub mod outcome;
pub mod rules;
pub mod run;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::sync::watch;

use crate::cluster::ClusterOptions;
use crate::demo::{DemoConfig, DemoStack};
use crate::exit;
use crate::report::{terminal, Report};
use crate::scenario::{self, Overrides};

pub use outcome::{CommandError, Outcome};

/// The whole command line: a subcommand and the options every command takes.
/// `main.rs` parses it; tests/docs.rs parses the manual's examples with it.
#[derive(Debug, clap::Parser)]
#[command(
    name = "firedrill",
    version,
    about = "Drive traffic and faults at a service, watch Prometheus, and check that the alerts \
             that must fire do so in time, that the others stay silent, and that latency SLOs hold.",
    after_help = "Exit codes: 0 every check passed · 1 a check failed · 2 invalid scenario or \
                  command line (nothing sent) · 3 inconclusive (Prometheus or the target \
                  unreachable, or the run was interrupted)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    Run(run::RunArgs),
    Load(load::LoadArgs),
    Validate(ValidateArgs),
    Report(ReportArgs),
    Merge(MergeArgs),
    Compare(compare::CompareArgs),
    /// Analyse alert rules and dashboards: lints promtool misses, worst-case
    /// time to fire, a scenario's deadlines, and (with --prometheus) series
    /// that do not exist, rules that fail, panels with no data.
    Rules {
        #[command(subcommand)]
        command: rules::RulesCommand,
    },
    Coverage(coverage::CoverageArgs),
    Doctor(cluster::DoctorArgs),
    Deploy(cluster::DeployArgs),
    DemoGateway(DemoGatewayArgs),
}

/// Options every command takes: how to reach Kubernetes.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// The kubeconfig for commands and scenarios that use Kubernetes
    /// (default: $KUBECONFIG, ~/.kube/config, or the pod's service account).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
}

/// Check scenario files without sending anything (exit 0 or 2).
#[derive(Debug, Clone, clap::Args)]
pub struct ValidateArgs {
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
}

/// Re-render a report's formats from its report.json; exits with its exit code.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    pub report: PathBuf,
    /// Write the renderings here (default: next to report.json).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Combine the reports of a run's shards (`run --shard i/n`) into one:
/// traffic summed exactly (HDR histograms added), checks judged again.
#[derive(Debug, Clone, clap::Args)]
pub struct MergeArgs {
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Where the merged report goes.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Run the demo gateway and model backend alone (for a Prometheus of your own).
#[derive(Debug, Clone, clap::Args)]
pub struct DemoGatewayArgs {
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    #[arg(long, default_value_t = 0)]
    pub backend_port: u16,
    /// The fault admin API (GET/PUT/DELETE /faults).
    #[arg(long, default_value_t = 0)]
    pub admin_port: u16,
    /// The container series, as a kubelet serves them (GET /metrics/cadvisor).
    #[arg(long, default_value_t = 0)]
    pub cadvisor_port: u16,
    /// The container's memory limit the series report (default 512Mi).
    #[arg(long, value_name = "QUANTITY", value_parser = crate::scenario::units::ByteSize::parse)]
    pub memory_limit: Option<crate::scenario::units::ByteSize>,
    /// The container's CPU limit the series report, in cores (default 1).
    #[arg(long, value_name = "QUANTITY", value_parser = crate::scenario::units::Cores::parse)]
    pub cpu_limit: Option<crate::scenario::units::Cores>,
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
}

/// Runs `command` on a runtime of its own; prints the error that ended it,
/// if one did, and returns the process's exit code.
pub fn execute(command: Command, cluster: ClusterArgs) -> i32 {
    let result = tokio::runtime::Runtime::new()
        .map_err(CommandError::Runtime)
        .and_then(|runtime| {
            let result = runtime.block_on(dispatch(command, cluster));
            // The runtime (and everything it owns) is dropped before the
            // process exits.
            drop(runtime);
            result
        });
    outcome::conclude(result)
}

/// Runs `command`.
pub async fn dispatch(command: Command, cluster: ClusterArgs) -> Result<Outcome, CommandError> {
    let cluster = ClusterOptions {
        kubeconfig: cluster.kubeconfig,
        context: cluster.context,
    };
    match command {
        Command::Run(args) => run::run(&args, &cluster, shutdown_on_signals()).await,
        Command::Validate(args) => validate(&args.scenarios, &Overrides::default()),
        Command::Report(args) => rerender(&args.report, args.out.as_deref()),
        Command::Merge(args) => merge(&args.reports, &args.out),
        Command::Compare(args) => compare::compare(&args),
        Command::Rules {
            command: rules::RulesCommand::Check(args),
        } => rules::check(args).await,
        Command::Rules {
            command: rules::RulesCommand::Sweep(args),
        } => rules::sweep(args).await,
        Command::Coverage(args) => coverage::coverage(args).await,
        Command::Doctor(args) => cluster::doctor(&cluster, &args).await,
        Command::Deploy(args) => cluster::deploy(&cluster, &args).await,
        Command::Load(args) => load::load(args).await,
        Command::DemoGateway(args) => demo_gateway(&args).await,
    }
}

/// Durations on the command line, in a scenario's syntax (`30s`, `2m`).
fn parse_duration(text: &str) -> Result<std::time::Duration, InvalidDuration> {
    scenario::units::HumanDuration::parse(text)
        .map(|d| d.0)
        .map_err(InvalidDuration)
}

/// A duration on the command line that does not parse; the scenario's
/// unit parser says why.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct InvalidDuration(#[from] pub crate::spec::units::UnitError);

/// A channel that turns true at the first SIGINT or SIGTERM. A second
/// signal exits at once (the child Prometheus still dies with us, through
/// PR_SET_PDEATHSIG).
pub fn shutdown_on_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let mut signals = 0;
        loop {
            wait_for_signal().await;
            signals += 1;
            if signals == 1 {
                eprintln!("\nfiredrill: stopping: traffic stops, faults are restored, the report is written (signal again to quit at once)");
                let _ = tx.send(true);
            } else {
                std::process::exit(exit::INCONCLUSIVE);
            }
        }
    });
    rx
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut interrupt), Ok(mut terminate)) => {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// `firedrill validate`: parse and validate scenario files, send nothing.
/// Every file is read; the invalid ones are the error.
pub fn validate(paths: &[PathBuf], overrides: &Overrides) -> Result<Outcome, CommandError> {
    let mut invalid = Vec::new();
    for path in paths {
        match scenario::load(path, overrides) {
            Ok(plan) => {
                println!(
                    "{}: ok: `{}`, {} phases ({} after time scale ×{}), {} checks",
                    path.display(),
                    plan.name,
                    plan.phases.len(),
                    crate::time::format_duration(plan.planned_duration()),
                    plan.time_scale,
                    plan.checks.len()
                );
                for phase in &plan.phases {
                    println!("  phase {}: {}", phase.name, terminal::describe_load(phase));
                }
                for check in &plan.checks {
                    println!("  check {}: {}", check.id, check.name);
                }
            }
            Err(e) => invalid.push(e),
        }
    }
    if invalid.is_empty() {
        Ok(Outcome::Pass)
    } else {
        Err(CommandError::Scenarios(invalid))
    }
}

/// `firedrill report`: re-render a report.json's formats, print its verdict,
/// and exit with its exit code.
pub fn rerender(path: &Path, out: Option<&Path>) -> Result<Outcome, CommandError> {
    let report = Report::read(path).map_err(CommandError::ReadReport)?;
    let dir = out
        .map(Path::to_path_buf)
        .or_else(|| path.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let written = report
        .write_all(&dir)
        .map_err(|source| CommandError::WriteReport { dir, source })?;
    for p in written {
        eprintln!("wrote {}", p.display());
    }
    eprint!("{}", terminal::summary(&report));
    Ok(Outcome::Report {
        exit_code: report.exit_code,
    })
}

/// `firedrill merge`: the shard reports of one run combined, every format
/// written to `out`; exits with the merged run's exit code.
pub fn merge(paths: &[PathBuf], out: &Path) -> Result<Outcome, CommandError> {
    let mut reports = Vec::new();
    for path in paths {
        let report = Report::read(path).map_err(CommandError::ReadReport)?;
        reports.push((path.display().to_string(), report));
    }
    let merged = crate::report::merge::merge(reports)?;
    merged
        .write_all(out)
        .map_err(|source| CommandError::WriteReport {
            dir: out.to_path_buf(),
            source,
        })?;
    eprint!("{}", terminal::summary(&merged));
    eprintln!("report: {}", out.join("report.json").display());
    Ok(Outcome::Report {
        exit_code: merged.exit_code,
    })
}

/// `firedrill demo-gateway`: the demo stack alone, until a signal.
pub async fn demo_gateway(args: &DemoGatewayArgs) -> Result<Outcome, CommandError> {
    let at = |port| SocketAddr::new(args.bind, port);
    let defaults = DemoConfig::default().limits;
    let config = DemoConfig {
        gateway: at(args.port),
        backend: at(args.backend_port),
        kubelet: at(args.cadvisor_port),
        limits: crate::demo::Limits {
            memory_bytes: args.memory_limit.map_or(defaults.memory_bytes, |m| m.0),
            cpu_cores: args.cpu_limit.map_or(defaults.cpu_cores, |c| c.0),
        },
    };
    let stack = DemoStack::start(config).map_err(CommandError::DemoGateway)?;
    let admin = stack
        .start_admin(at(args.admin_port))
        .map_err(CommandError::DemoAdmin)?;
    let limits = stack.limits();
    let addresses = format!(
        "demo gateway:  http://{}   (POST /predict, /batch_predict; GET /health, /metrics)\n\
         model backend: http://{}   (GET /metrics: bentoml_* metrics)\n\
         fault admin:   http://{}/faults   (GET; PUT {{\"backend_error_ratio\":0.5}} or {{\"memory_hog\":0.95,\"cpu_burn\":0.95}}; DELETE)\n\
         cAdvisor:      http://{}/metrics/cadvisor   (container_* of pod {}, limits {} memory, {} CPU)\n",
        stack.gateway_addr(),
        stack.backend_addr(),
        admin.addr(),
        stack.kubelet_addr(),
        stack.pod(),
        crate::scenario::units::ByteSize(limits.memory_bytes),
        crate::time::trim_float(limits.cpu_cores)
    );
    // One write, and no panic if nobody reads: whoever started the demo may
    // have read the lines it wanted and closed the pipe, and the demo must
    // keep serving (println! would panic on the broken pipe).
    let mut stdout = std::io::stdout().lock();
    let _ = std::io::Write::write_all(&mut stdout, addresses.as_bytes())
        .and_then(|()| std::io::Write::flush(&mut stdout));
    drop(stdout);
    let mut shutdown = shutdown_on_signals();
    let _ = shutdown.changed().await;
    Ok(Outcome::Pass)
}
