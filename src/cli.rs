//! The `netsim` command line: argument definitions (clap) and one module per subcommand.
//! Every subcommand returns an exit status: 0 success, 1 an expectation or check failed,
//! 2 invalid input (with `file:line:column` diagnostics on stderr).

pub mod cluster_args;
pub mod generate;
pub mod iptables;
pub mod kubectl;
pub mod nft;
pub mod scenario;
pub mod shell;
pub mod trace;
pub mod trace_json;

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
    /// Run a scenario file and print its transcript (exit 1 if an expectation fails).
    Run(scenario::RunArgs),
    /// Run every scenario under the given paths; ends with `N passed, M failed`.
    Test(scenario::TestArgs),
    /// An interactive prompt on a scenario's cluster (type the article's commands).
    Shell(shell::ShellArgs),
    /// Run a kubectl command against a cluster built from manifests.
    Kubectl(kubectl::KubectlArgs),
    /// Trace one connection through a cluster built from manifests.
    Trace(trace::TraceArgs),
    /// Work with a real node's iptables rules (an `iptables-save` dump).
    #[command(subcommand)]
    Iptables(iptables::IptablesCommand),
    /// Print a dump as `iptables-save` would after `iptables-restore` of it, or the rules
    /// kube-proxy generated on a simulated node (`-f PATH... --node NAME`).
    #[command(name = "iptables-save")]
    IptablesSave(iptables::SaveArgs),
    /// Work with nftables rulesets: list a ruleset file as `nft list` prints it, trace a
    /// packet through it, or list the table kube-proxy generated in nftables mode on a
    /// simulated node (`-f PATH... --node NAME`).
    #[command(subcommand)]
    Nft(nft::NftCommand),
    /// Write a synthetic cluster's manifests (nodes, services, deployments or a dump) for
    /// scale measurements.
    Generate(generate::GenerateArgs),
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
        Command::Run(a) => scenario::run(a),
        Command::Test(a) => scenario::test(a),
        Command::Shell(a) => shell::run(a),
        Command::Kubectl(a) => kubectl::run(a),
        Command::Trace(a) => trace::run(a),
        Command::Iptables(c) => iptables::run(c),
        Command::IptablesSave(a) => iptables::save(a),
        Command::Nft(c) => nft::run(c),
        Command::Generate(a) => generate::run(a),
    };
    ExitCode::from(code)
}
