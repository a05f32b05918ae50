//! The command line: parses arguments and calls the library. See
//! `firedrill --help`, and the README for the scenario reference.

use clap::Parser;
use firedrill::commands::{self, ClusterArgs, Command};

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
    #[command(flatten)]
    cluster: ClusterArgs,
}

fn main() {
    let cli = Cli::parse();
    std::process::exit(commands::execute(cli.command, cli.cluster));
}
