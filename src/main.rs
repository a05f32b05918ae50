//! The command line: parses arguments and calls the library. The
//! arguments themselves are declared in the library (`commands::Cli`), so the
//! manual's test parses its examples with the same definition. See
//! `firedrill --help`, and docs/ for the manual.

use clap::Parser;
use firedrill::commands::{self, Cli};

fn main() {
    let cli = Cli::parse();
    std::process::exit(commands::execute(cli.command, cli.cluster));
}
