//! The `netsim` command line: argument definitions (clap) and one module per subcommand.
//! Every subcommand returns an exit status: 0 success, 1 an expectation or check failed,
//! 2 invalid input (with `file:line:column` diagnostics on stderr).

pub mod iptables;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A deterministic simulator of Kubernetes Service networking.
#[derive(Debug, Parser)]
#[command(name = "netsim", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with a real node's iptables rules (an `iptables-save` dump).
    #[command(subcommand)]
    Iptables(iptables::IptablesCommand),
    /// Print a dump exactly as `iptables-save` would after `iptables-restore` of it.
    #[command(name = "iptables-save")]
    IptablesSave(iptables::SaveArgs),
}

/// Process exit statuses.
pub mod exit {
    /// Everything held.
    pub const OK: u8 = 0;
    /// A check or expectation failed.
    pub const FAILED: u8 = 1;
    /// The input was invalid.
    pub const INVALID: u8 = 2;
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    let code = match cli.command {
        Command::Iptables(c) => iptables::run(c),
        Command::IptablesSave(a) => iptables::save(a),
    };
    ExitCode::from(code)
}
