//! The commands: each subcommand's arguments (clap structs, declared once,
//! here) and the function that runs it and returns the process's exit code.
//! `main.rs` parses the command line and calls `dispatch`.

pub mod cluster;
pub mod load;
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

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    Run(run::RunArgs),
    Load(load::LoadArgs),
    Validate(ValidateArgs),
    Report(ReportArgs),
    Merge(MergeArgs),
    /// Analyse alert rules and dashboards: lints promtool misses, worst-case
    /// time to fire, a scenario's deadlines, and (with --prometheus) series
    /// that do not exist, rules that fail, panels with no data.
    Rules {
        #[command(subcommand)]
        command: rules::RulesCommand,
    },
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
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
}

/// Runs `command`; returns the process's exit code.
pub async fn dispatch(command: Command, cluster: ClusterArgs) -> i32 {
    let cluster = ClusterOptions {
        kubeconfig: cluster.kubeconfig,
        context: cluster.context,
    };
    match command {
        Command::Run(args) => {
            run::run(&args, &cluster, shutdown_on_signals())
                .await
                .exit_code
        }
        Command::Validate(args) => validate(&args.scenarios, &Overrides::default()),
        Command::Report(args) => rerender(&args.report, args.out.as_deref()),
        Command::Merge(args) => merge(&args.reports, &args.out),
        Command::Rules {
            command: rules::RulesCommand::Check(args),
        } => rules::check(args).await,
        Command::Rules {
            command: rules::RulesCommand::Sweep(args),
        } => rules::sweep(args).await,
        Command::Doctor(args) => cluster::doctor(&cluster, &args).await,
        Command::Deploy(args) => cluster::deploy(&cluster, &args).await,
        Command::Load(args) => load::load(args).await,
        Command::DemoGateway(args) => {
            let at = |port| SocketAddr::new(args.bind, port);
            demo_gateway(at(args.port), at(args.backend_port), at(args.admin_port)).await
        }
    }
}

/// Durations on the command line, in a scenario's syntax (`30s`, `2m`).
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    scenario::units::HumanDuration::parse(text)
        .map(|d| d.0)
        .map_err(|e| e.to_string())
}

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
pub fn validate(paths: &[PathBuf], overrides: &Overrides) -> i32 {
    let mut code = exit::PASS;
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
            Err(e) => {
                eprintln!("{e}");
                code = exit::INVALID;
            }
        }
    }
    code
}

/// `firedrill report`: re-render a report.json's formats, print its verdict,
/// and exit with its exit code.
pub fn rerender(path: &Path, out: Option<&Path>) -> i32 {
    let report = match Report::read(path) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("firedrill: {e}");
            return exit::INVALID;
        }
    };
    let dir = out
        .map(Path::to_path_buf)
        .or_else(|| path.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    match report.write_all(&dir) {
        Ok(paths) => {
            for p in paths {
                eprintln!("wrote {}", p.display());
            }
        }
        Err(e) => {
            eprintln!("firedrill: cannot write to {}: {e}", dir.display());
            return exit::INCONCLUSIVE;
        }
    }
    eprint!("{}", terminal::summary(&report));
    report.exit_code
}

/// `firedrill merge`: the shard reports of one run combined, every format
/// written to `out`; exits with the merged run's exit code.
pub fn merge(paths: &[PathBuf], out: &Path) -> i32 {
    let mut reports = Vec::new();
    for path in paths {
        match Report::read(path) {
            Ok(report) => reports.push((path.display().to_string(), report)),
            Err(e) => {
                eprintln!("firedrill: {e}");
                return exit::INVALID;
            }
        }
    }
    let merged = match crate::report::merge::merge(reports) {
        Ok(merged) => merged,
        Err(e) => {
            eprintln!("firedrill: cannot merge: {e}");
            return exit::INVALID;
        }
    };
    if let Err(e) = merged.write_all(out) {
        eprintln!("firedrill: cannot write to {}: {e}", out.display());
        return exit::INCONCLUSIVE;
    }
    eprint!("{}", terminal::summary(&merged));
    eprintln!("report: {}", out.join("report.json").display());
    merged.exit_code
}

/// `firedrill demo-gateway`: the demo stack alone, until a signal.
pub async fn demo_gateway(gateway: SocketAddr, backend: SocketAddr, admin: SocketAddr) -> i32 {
    let stack = match DemoStack::start(DemoConfig { gateway, backend }) {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("firedrill: cannot start the demo gateway: {e}");
            return exit::INVALID;
        }
    };
    let admin = match stack.start_admin(admin) {
        Ok(admin) => admin,
        Err(e) => {
            eprintln!("firedrill: cannot start the admin port: {e}");
            return exit::INVALID;
        }
    };
    println!(
        "demo gateway:  http://{}   (POST /predict, /batch_predict; GET /health, /metrics)",
        stack.gateway_addr()
    );
    println!(
        "model backend: http://{}   (GET /metrics: bentoml_* metrics)",
        stack.backend_addr()
    );
    println!(
        "fault admin:   http://{}/faults   (GET; PUT {{\"backend_error_ratio\":0.5}}; DELETE)",
        admin.addr()
    );
    let mut shutdown = shutdown_on_signals();
    let _ = shutdown.changed().await;
    exit::PASS
}
