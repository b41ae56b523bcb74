//! The `netsim` binary: see `netsim --help`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    netsim::cli::run(netsim::cli::Cli::parse())
}
