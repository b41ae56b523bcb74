//! `netsim nft list ...` and `netsim nft trace`: an nftables ruleset file loaded as `nft -f`
//! loads it on a fresh host (then listed as `nft list` prints it, or traced like `netsim
//! iptables trace`, same flags and JSON schema), or the table kube-proxy generated in
//! nftables mode on a simulated node (`-f PATH... --node NAME`).

use clap::{Args, Subcommand};
use sim_k8s::cluster::exec::nft_command;
use sim_net::netfilter::Netfilter;

use super::exit;
use super::iptables::{TraceArgs, trace_loaded};

/// `netsim nft ...`
#[derive(Debug, Subcommand)]
pub enum NftCommand {
    /// `nft list ruleset`, `nft list table [FAMILY] NAME`, `nft list chain [FAMILY] TABLE
    /// NAME`, `nft list set|map [FAMILY] TABLE NAME` (FAMILY: ip, ip6, inet, arp, bridge,
    /// netdev; arp, bridge and netdev tables are loaded and listed, not evaluated).
    List(ListArgs),
    /// Trace the first packet of a connection through an nftables ruleset file (`--rules`);
    /// flags and output as `netsim iptables trace`.
    Trace(TraceArgs),
}

/// Arguments of `netsim nft list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// What to list: `ruleset`, `table [FAMILY] NAME`, `chain [FAMILY] TABLE NAME`, `set|map
    /// [FAMILY] TABLE NAME`.
    #[arg(value_name = "WHAT", required = true, num_args = 1..)]
    pub what: Vec<String>,
    /// An nftables ruleset file, loaded as `nft -f FILE` on a fresh host.
    #[arg(long, value_name = "FILE", conflicts_with = "node")]
    pub rules: Option<String>,
    /// With `-f PATH...`: the simulated node whose kube-proxy table is listed.
    #[arg(long, value_name = "NAME", requires = "files")]
    pub node: Option<String>,
    /// The cluster, for `--node`.
    #[command(flatten)]
    pub cluster: super::cluster_args::ClusterArgs,
}

/// Loads an nftables file into fresh tables, or prints nft's error and returns the exit status.
/// `iif` and `oif` may name a fresh namespace's `lo` only for `list` (as `nft -f` on a fresh
/// host), or with `any_interface` any name (`trace` of a ruleset listed on a real node).
fn load(path: &str, any_interface: bool) -> Result<Netfilter, u8> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        eprintln!("Error: Could not process rule: {e}\n{path}");
        exit::INVALID
    })?;
    let mut nf = Netfilter::new();
    let nft = nf.nftables_mut();
    let applied = if any_interface { nft.apply_in(path, &text, None) } else { nft.apply_file(path, &text) };
    applied.map_err(|e| {
        eprintln!("{e}");
        exit::INVALID
    })?;
    eprint!("{}", nft.ruleset().unevaluated_notes(&[]));
    Ok(nf)
}

fn list(a: ListArgs) -> u8 {
    let mut built;
    let mut loaded;
    let nf: &mut Netfilter = match (&a.rules, &a.node) {
        (Some(path), _) => match load(path, false) {
            Ok(nf) => {
                loaded = nf;
                &mut loaded
            }
            Err(code) => return code,
        },
        (None, Some(node)) => {
            built = match super::cluster_args::build(&a.cluster) {
                Ok(b) => b,
                Err(code) => return code,
            };
            let w = built.cluster.world_mut();
            w.load_rules_of(node);
            let Some(host) = w.node_index(node).and_then(|i| w.nodes.get(i)).map(|n| n.host) else {
                eprintln!("error: no node named {node:?}");
                return exit::INVALID;
            };
            match w.net.host_mut(host) {
                Ok(h) => h.rules(),
                Err(_) => return exit::INVALID,
            }
        }
        (None, None) => {
            eprintln!(
                "error: give --rules FILE (an nftables ruleset) or -f PATH... --node NAME (a simulated node)"
            );
            return exit::INVALID;
        }
    };
    let mut args = vec!["list".to_string()];
    args.extend(a.what.iter().cloned());
    // Only `list` runs here: no interface is named.
    let out = nft_command(nf.nftables_mut(), &[], &args);
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    if out.exit_code == 0 { exit::OK } else { exit::INVALID }
}

/// Runs `netsim nft ...`.
pub fn run(cmd: NftCommand) -> u8 {
    match cmd {
        NftCommand::List(a) => list(a),
        NftCommand::Trace(a) => match load(&a.rules, true) {
            Ok(nf) => trace_loaded(&nf, &a),
            Err(code) => code,
        },
    }
}
