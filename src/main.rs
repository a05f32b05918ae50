//! The command line: parses arguments and calls the library. See
//! `firedrill --help`, and the README for the scenario reference.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use firedrill::commands;
use firedrill::scenario::Overrides;

#[derive(Parser)]
#[command(
    name = "firedrill",
    version,
    about = "Drive traffic and faults at a service, watch Prometheus, and check that the alerts \
             that must fire do so in time, that the others stay silent, and that latency SLOs hold.",
    after_help = "Exit codes: 0 every check passed · 1 a check failed · 2 invalid scenario or \
                  command line (nothing sent) · 3 inconclusive (Prometheus or the target \
                  unreachable, or the run was interrupted)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The kubeconfig for commands and scenarios that use Kubernetes
    /// (default: $KUBECONFIG, ~/.kube/config, or the pod's service account).
    #[arg(long, global = true, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME")]
    context: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario: traffic, faults, alert and SLO checks; writes a report.
    Run {
        /// The scenario file (YAML).
        scenario: PathBuf,
        /// Send traffic to this base URL instead of the scenario's target.
        #[arg(long, value_name = "URL")]
        target: Option<String>,
        /// Watch this Prometheus instead of the scenario's.
        #[arg(long, value_name = "URL")]
        prometheus: Option<String>,
        /// Override the scenario's time_scale (embedded Prometheus only).
        #[arg(long, value_name = "FACTOR")]
        time_scale: Option<f64>,
        /// Write the report here (default: reports/<scenario>-<timestamp>).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Where default report directories are created.
        #[arg(long, value_name = "DIR", default_value = "reports")]
        reports: PathBuf,
        /// Print only the final verdicts.
        #[arg(long, short)]
        quiet: bool,
        /// Run shard i of n (0-based): this process sends 1/n of the arrival
        /// rate (or of the requests); `firedrill merge` combines the reports.
        /// Only shard 0 injects faults.
        #[arg(long, value_name = "i/n", value_parser = firedrill::plan::Shard::parse)]
        shard: Option<firedrill::plan::Shard>,
        /// Serve firedrill's own Prometheus metrics here during the run
        /// (e.g. 0.0.0.0:9464 in a pod).
        #[arg(long, value_name = "ADDR")]
        metrics_addr: Option<SocketAddr>,
        /// Push the results to this Pushgateway when the run ends.
        #[arg(long, value_name = "URL", env = "FIREDRILL_PUSH_GATEWAY")]
        push_gateway: Option<String>,
    },
    /// The load engine alone: send traffic to a URL and print what happened
    /// (no scenario, Prometheus or checks). Open model with --rate, latency
    /// from each request's intended send time; closed model without.
    Load {
        /// The URL to send every request to (http://host:port/path).
        url: String,
        /// Open model: arrivals per second, `20000/s`, or a ramp `100/s..1000/s`.
        #[arg(long, value_name = "RATE")]
        rate: Option<String>,
        /// Connections: the bound on requests in flight (open model), the
        /// number of clients (closed model).
        #[arg(long, short = 'c', default_value_t = 32)]
        connections: u32,
        #[arg(long, short = 'd', default_value = "10s", value_parser = parse_duration)]
        duration: std::time::Duration,
        /// Closed model: stop after this many requests.
        #[arg(long, short = 'n')]
        requests: Option<u64>,
        #[arg(long, short = 'm', default_value = "GET")]
        method: String,
        /// `Name: value`, repeatable.
        #[arg(long = "header", short = 'H', value_name = "HEADER")]
        headers: Vec<String>,
        #[arg(long, short = 'b')]
        body: Option<String>,
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        timeout: std::time::Duration,
        /// https: trust this CA (PEM) besides the public roots.
        #[arg(long, value_name = "FILE")]
        cacert: Option<PathBuf>,
        /// https: do not verify the certificate (knowingly).
        #[arg(long, short = 'k')]
        insecure: bool,
        /// Print JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Check scenario files without sending anything (exit 0 or 2).
    Validate {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Re-render a report's formats from its report.json; exits with its exit code.
    Report {
        report: PathBuf,
        /// Write the renderings here (default: next to report.json).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Combine the reports of a run's shards (`run --shard i/n`) into one:
    /// traffic summed exactly (HDR histograms added), checks judged again.
    Merge {
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Where the merged report goes.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Analyse alert rules and dashboards: lints promtool misses, worst-case
    /// time to fire, a scenario's deadlines, and (with --prometheus) series
    /// that do not exist, rules that fail, panels with no data.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Check that the monitoring stack is wired: Prometheus ready, rules
    /// loaded and healthy, the gateway's pods annotated and scraped, its
    /// metrics present; each failure with its fix.
    Doctor {
        #[arg(long, default_value = "default")]
        namespace: String,
        /// The gateway's pods.
        #[arg(long, default_value = "app=api-gateway")]
        selector: String,
        /// Prometheus by URL...
        #[arg(long, value_name = "URL", conflicts_with = "prometheus_service")]
        prometheus: Option<String>,
        /// ...or by its Service in the namespace.
        #[arg(long, value_name = "NAME", default_value = "prometheus")]
        prometheus_service: String,
        /// A metric the gateway must expose.
        #[arg(long, default_value = "gateway_http_requests_total")]
        metric: String,
    },
    /// Apply manifests server-side (the monitoring stack) and wait for the rollout.
    Deploy {
        /// A directory of YAML files (e.g. k8s/monitoring) or one file.
        path: PathBuf,
        #[arg(long, default_value = "default")]
        namespace: String,
        /// How long to wait for Deployments to roll out.
        #[arg(long, default_value = "5m", value_parser = parse_duration)]
        timeout: std::time::Duration,
    },
    /// Run the demo gateway and model backend alone (for a Prometheus of your own).
    DemoGateway {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        #[arg(long, default_value_t = 0)]
        backend_port: u16,
        /// The fault admin API (GET/PUT/DELETE /faults).
        #[arg(long, default_value_t = 0)]
        admin_port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Check rule files, Prometheus configs and dashboards (files or directories;
    /// plain, ConfigMap or PrometheusRule). Exit 0 without findings, 1 with any.
    Check {
        files: Vec<PathBuf>,
        /// A live Prometheus: its intervals, its histograms' buckets, missing
        /// series, failing rules, dashboard panels with no data.
        #[arg(long, value_name = "URL")]
        prometheus: Option<String>,
        /// Check this scenario's deadlines against the rules (and use its rules
        /// when no files are given).
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        scrape_interval: Option<std::time::Duration>,
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        evaluation_interval: Option<std::time::Duration>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    firedrill::scenario::units::HumanDuration::parse(text).map(|d| d.0)
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("firedrill: cannot start the async runtime: {e}");
            std::process::exit(firedrill::exit::INCONCLUSIVE);
        }
    };
    let cluster = firedrill::cluster::ClusterOptions {
        kubeconfig: cli.kubeconfig.clone(),
        context: cli.context.clone(),
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Run {
                scenario,
                target,
                prometheus,
                time_scale,
                out,
                reports,
                quiet,
                shard,
                metrics_addr,
                push_gateway,
            } => {
                let options = commands::run::RunOptions {
                    scenario,
                    overrides: Overrides {
                        target_url: target,
                        prometheus_url: prometheus,
                        time_scale,
                    },
                    out,
                    reports_root: reports,
                    quiet,
                    shard,
                    metrics_addr,
                    push_gateway,
                    cluster: cluster.clone(),
                };
                let shutdown = commands::shutdown_on_signals();
                commands::run::run(&options, shutdown).await.exit_code
            }
            Command::Validate { scenarios } => {
                commands::validate(&scenarios, &Overrides::default())
            }
            Command::Report { report, out } => commands::rerender(&report, out.as_deref()),
            Command::Merge { reports, out } => commands::merge(&reports, &out),
            Command::Rules {
                command:
                    RulesCommand::Check {
                        files,
                        prometheus,
                        scenario,
                        scrape_interval,
                        evaluation_interval,
                        json,
                    },
            } => {
                commands::rules::check(commands::rules::RulesCheckArgs {
                    files,
                    scenario,
                    prometheus,
                    scrape_interval,
                    evaluation_interval,
                    json,
                })
                .await
            }
            Command::Doctor {
                namespace,
                selector,
                prometheus,
                prometheus_service,
                metric,
            } => {
                let options = commands::cluster::DoctorArgs {
                    namespace,
                    selector,
                    prometheus,
                    prometheus_service,
                    metric,
                };
                commands::cluster::doctor(&cluster, &options).await
            }
            Command::Deploy {
                path,
                namespace,
                timeout,
            } => commands::cluster::deploy(&cluster, &path, &namespace, timeout).await,
            Command::Load {
                url,
                rate,
                connections,
                duration,
                requests,
                method,
                headers,
                body,
                timeout,
                cacert,
                insecure,
                json,
            } => {
                commands::load::load(commands::load::LoadArgs {
                    url,
                    rate,
                    connections,
                    duration,
                    requests,
                    method,
                    headers,
                    body,
                    timeout,
                    tls: firedrill::plan::TlsPlan {
                        ca_file: cacert,
                        insecure_skip_verify: insecure,
                    },
                    json,
                })
                .await
            }
            Command::DemoGateway {
                port,
                backend_port,
                admin_port,
                bind,
            } => {
                commands::demo_gateway(
                    SocketAddr::new(bind, port),
                    SocketAddr::new(bind, backend_port),
                    SocketAddr::new(bind, admin_port),
                )
                .await
            }
        }
    });
    // Drop the runtime (and everything it owns) before exiting.
    drop(runtime);
    std::process::exit(code);
}
