//! `netsim iptables trace` and `netsim iptables-save --rules FILE`: a real node's
//! `iptables-save` dump, loaded as `iptables-restore` would load it, then traced or re-printed.
//! The trace walks the first packet of a connection through the node's hooks with
//! [`sim_net::netfilter::Netfilter::explore`], so every random `-m statistic` branch is listed
//! with its probability. The JSON form is documented in `docs/trace-json.md` and kept stable.

use std::net::{Ipv4Addr, SocketAddrV4};

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use sim_core::SimTime;
use sim_net::netfilter::explore::{Disposition, Exploration, ExploreOrigin, ExplorePath, ExploreRequest};
use sim_net::netfilter::ext::PayloadAssumption;
use sim_net::netfilter::restore::RestoreErrorKind;
use sim_net::netfilter::save::SaveOptions;
use sim_net::netfilter::spec::SpecError;
use sim_net::netfilter::{Backend, Netfilter, RestoreOptions};
use sim_net::wire::{Packet, TcpFlags};

use super::exit;

/// `netsim iptables ...`
#[derive(Debug, Subcommand)]
pub enum IptablesCommand {
    /// Trace the first packet of a connection through an iptables-save dump.
    Trace(XtTraceArgs),
}

/// The iptables binary a dump is loaded with (`iptables -V` prints it in parentheses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// iptables-nft (nf_tables), the default of current distributions.
    Nft,
    /// iptables-legacy (x_tables).
    Legacy,
}

impl BackendArg {
    fn backend(self) -> Backend {
        match self {
            BackendArg::Nft => Backend::Nft,
            BackendArg::Legacy => Backend::Legacy,
        }
    }
}

/// How rules whose match reads the packet's payload (`string`, `u32`, `bpf`) are evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AssumeArg {
    /// The payload match matches.
    Match,
    /// The payload match does not match.
    Nomatch,
}

/// How a dump is loaded (`iptables trace`, `iptables-save --rules`).
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// The iptables binary the dump is restored with: each accepts different rules.
    #[arg(long, value_enum, default_value = "nft")]
    pub backend: BackendArg,
    /// An `ipset save` dump holding the sets the rules name (`-m set`, `-j SET`).
    #[arg(long, value_name = "FILE")]
    pub ipsets: Option<String>,
    /// Load rules whose match netsim does not simulate, as never matching (a trace lists
    /// each one it passed); without it such a dump is refused, naming the line.
    #[arg(long)]
    pub skip_unknown: bool,
}

/// Arguments of `netsim iptables trace`.
#[derive(Debug, Args)]
pub struct XtTraceArgs {
    /// The packet and the rules.
    #[command(flatten)]
    pub trace: TraceArgs,
    /// How the dump is loaded.
    #[command(flatten)]
    pub dump: DumpArgs,
    /// Evaluate payload matches (`-m string`, `-m u32`, `-m bpf`) as matching or not; without
    /// it a dump with one is refused, naming the rule.
    #[arg(long, value_enum)]
    pub assume: Option<AssumeArg>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// One JSON object (schema: docs/trace-json.md).
    Json,
}

/// Where the packet enters the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Origin {
    /// Arrives from outside: enters PREROUTING.
    External,
    /// Sent by a local process: enters OUTPUT.
    Local,
}

/// Transport protocols a trace can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Proto {
    /// TCP (a SYN).
    Tcp,
    /// UDP.
    Udp,
    /// ICMP echo request.
    Icmp,
    /// SCTP (an INIT).
    Sctp,
}

/// Arguments of `netsim iptables trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The node's rules: an `iptables-save` dump (`iptables trace`) or an nftables ruleset,
    /// as `nft -f` loads it (`nft trace`).
    #[arg(long, value_name = "FILE")]
    pub rules: String,
    /// Source address, with an optional port (`10.0.0.5` or `10.0.0.5:40000`).
    #[arg(long, value_name = "IP[:PORT]")]
    pub src: String,
    /// Destination address and port.
    #[arg(long, value_name = "IP:PORT")]
    pub dst: String,
    /// Transport protocol.
    #[arg(long, value_enum, default_value = "tcp")]
    pub proto: Proto,
    /// The node's own addresses (for `-m addrtype --dst-type LOCAL`); repeatable.
    #[arg(long = "local-ip", value_name = "IP")]
    pub local_ip: Vec<String>,
    /// Where the packet enters.
    #[arg(long, value_enum, default_value = "external")]
    pub origin: Origin,
    /// The input interface for external packets.
    #[arg(long = "in-iface", default_value = "eth0")]
    pub in_iface: String,
    /// The output interface for forwarded packets, if rules test `-o`.
    #[arg(long = "out-iface")]
    pub out_iface: Option<String>,
    /// List every outcome with its probability (default: the most likely path only).
    #[arg(long)]
    pub all_paths: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// Arguments of `netsim iptables-save`.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// An `iptables-save` dump (as `iptables-restore` input).
    #[arg(long, value_name = "FILE", conflicts_with = "node")]
    pub rules: Option<String>,
    /// With `-f PATH...`: the simulated node whose generated rules are printed.
    #[arg(long, value_name = "NAME", requires = "files")]
    pub node: Option<String>,
    /// The cluster, for `--node`.
    #[command(flatten)]
    pub cluster: super::cluster_args::ClusterArgs,
    /// Print packet and byte counters (`-c`).
    #[arg(short = 'c', long)]
    pub counters: bool,
    /// Only this table (`-t`).
    #[arg(short = 't', long)]
    pub table: Option<String>,
    /// How `--rules` is loaded.
    #[command(flatten)]
    pub dump: DumpArgs,
}

fn read(path: &str) -> Result<String, u8> {
    std::fs::read_to_string(path).map_err(|e| {
        eprintln!("{path}: cannot read file: {e}");
        exit::INVALID
    })
}

/// Loads a dump into empty tables, as `iptables-restore` without `-c` does (every counter
/// zero), or prints the error and returns the exit status.
fn load_rules(path: &str, dump: &DumpArgs) -> Result<(Netfilter, String), u8> {
    let mut nf = Netfilter::new();
    // The binary also decides how `iptables-save` orders the tables.
    nf.set_backend(dump.backend.backend());
    if let Some(sets) = &dump.ipsets {
        nf.ipset_restore(&read(sets)?).map_err(|(line, e)| {
            eprintln!("{sets}:{line}: {e}");
            exit::INVALID
        })?;
    }
    let text = read(path)?;
    let opts = RestoreOptions {
        noflush: false,
        counters: false,
        backend: Some(dump.backend.backend()),
        skip_unknown: dump.skip_unknown,
    };
    nf.restore_with(&text, opts).map_err(|e| {
        eprintln!("{path}:{}: {}", e.line, e.kind);
        if matches!(e.kind, RestoreErrorKind::Spec(SpecError::UnknownMatch(_))) {
            eprintln!(
                "hint: --skip-unknown loads such rules as never matching (the trace lists each one it passes)"
            );
        }
        exit::INVALID
    })?;
    Ok((nf, text))
}

/// The first rule of a dump whose match reads the payload: its line and the match's name.
fn first_payload_rule(text: &str) -> Option<(usize, String)> {
    text.lines().enumerate().find_map(|(n, l)| {
        if l.trim_start().starts_with('#') {
            return None;
        }
        let args = sim_net::netfilter::restore::split_args(l).ok()?;
        args.windows(2)
            .find(|w| {
                matches!(w[0].as_str(), "-m" | "--match") && matches!(w[1].as_str(), "string" | "u32" | "bpf")
            })
            .map(|w| (n + 1, w[1].clone()))
    })
}

/// `netsim iptables-save --rules FILE`.
pub fn save(args: SaveArgs) -> u8 {
    let mut built;
    let loaded;
    // A simulated node's dump has the banner lines the real tool (and the in-scenario
    // command) prints, stamped with the simulated clock; a re-printed dump stays byte-exact.
    let mut stamp = None;
    let nf: &Netfilter = match (&args.rules, &args.node) {
        (Some(path), _) => match load_rules(path, &args.dump) {
            Ok((nf, _)) => {
                loaded = nf;
                &loaded
            }
            Err(code) => return code,
        },
        (None, Some(node)) => {
            built = match super::cluster_args::build(&args.cluster) {
                Ok(b) => b,
                Err(code) => return code,
            };
            built.cluster.world_mut().load_rules_of(node);
            stamp = Some(sim_k8s::cluster::exec::ctime(
                built.cluster.world().api.config().epoch_unix_secs,
                built.cluster.now(),
            ));
            let w = built.cluster.world();
            let Some(n) = w.node_index(node).and_then(|i| w.nodes.get(i)) else {
                eprintln!("error: no node named {node:?}");
                return exit::INVALID;
            };
            match w.net.host(n.host) {
                Some(h) => &h.netfilter,
                None => return exit::INVALID,
            }
        }
        (None, None) => {
            eprintln!("error: give --rules FILE (a dump) or -f PATH... --node NAME (a simulated node)");
            return exit::INVALID;
        }
    };
    let opts = SaveOptions { counters: args.counters, timestamp: stamp };
    match &args.table {
        None => print!("{}", nf.save(&opts)),
        Some(t) => match sim_net::netfilter::TableName::parse(t) {
            Some(t) => print!("{}", nf.save_table(t, &opts)),
            None => {
                eprintln!("iptables-save: table '{t}' does not exist");
                return exit::INVALID;
            }
        },
    }
    exit::OK
}

/// Runs `netsim iptables ...`.
pub fn run(cmd: IptablesCommand) -> u8 {
    match cmd {
        IptablesCommand::Trace(a) => trace(a),
    }
}

fn parse_ip(what: &str, s: &str) -> Result<Ipv4Addr, u8> {
    s.parse().map_err(|_| {
        eprintln!("error: invalid value '{s}' for '{what}': expected an IPv4 address");
        exit::INVALID
    })
}

/// Parses `IP[:PORT]`.
pub fn parse_endpoint(what: &str, s: &str, port_required: bool) -> Result<(Ipv4Addr, Option<u16>), u8> {
    if let Ok(sa) = s.parse::<SocketAddrV4>() {
        return Ok((*sa.ip(), Some(sa.port())));
    }
    if port_required {
        eprintln!("error: invalid value '{s}' for '{what}': expected IP:PORT, e.g. 10.96.0.10:53");
        return Err(exit::INVALID);
    }
    Ok((parse_ip(what, s)?, None))
}

/// Builds the first packet of a connection.
pub fn first_packet(proto: Proto, src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16) -> Packet {
    match proto {
        Proto::Tcp => Packet::tcp(src, sport, dst, dport, TcpFlags::SYN),
        Proto::Udp => Packet::udp(src, sport, dst, dport),
        Proto::Icmp => Packet::icmp(src, dst, sim_net::wire::Icmp::EchoRequest { id: sport, seq: 1 }),
        Proto::Sctp => Packet::sctp(src, sport, dst, dport, sim_net::wire::SctpChunk::Init),
    }
}

fn trace(a: XtTraceArgs) -> u8 {
    let (mut nf, text) = match load_rules(&a.trace.rules, &a.dump) {
        Ok(x) => x,
        Err(code) => return code,
    };
    match a.assume {
        Some(AssumeArg::Match) => nf.set_payload_assumption(PayloadAssumption::Match),
        Some(AssumeArg::Nomatch) => nf.set_payload_assumption(PayloadAssumption::NoMatch),
        None => {
            if let Some((line, name)) = first_payload_rule(&text) {
                eprintln!(
                    "{}:{line}: match '{name}' reads the packet's payload, which netsim does not evaluate\n\
                     hint: choose how such rules are taken with --assume match or --assume nomatch \
                     (the trace lists each rule where the assumption decided)",
                    a.trace.rules
                );
                return exit::INVALID;
            }
        }
    }
    trace_loaded(&nf, &a.trace)
}

/// Traces `a`'s packet through loaded rules (iptables tables, nftables, or both) and prints
/// the paths.
pub fn trace_loaded(nf: &Netfilter, a: &TraceArgs) -> u8 {
    let run = || -> Result<Exploration, u8> {
        let (src, sport) = parse_endpoint("--src", &a.src, false)?;
        let (dst, dport) = parse_endpoint("--dst", &a.dst, a.proto != Proto::Icmp)?;
        let mut local_ips = Vec::new();
        for ip in &a.local_ip {
            local_ips.push(parse_ip("--local-ip", ip)?);
        }
        let packet = first_packet(a.proto, src, sport.unwrap_or(40000), dst, dport.unwrap_or(0));
        let origin = match a.origin {
            Origin::External => ExploreOrigin::External { in_iface: a.in_iface.clone() },
            Origin::Local => ExploreOrigin::Local,
        };
        Ok(nf.explore(&ExploreRequest {
            packet,
            origin,
            local_ips,
            out_iface: a.out_iface.clone(),
            now: SimTime::ZERO,
        }))
    };
    let mut exploration = match run() {
        Ok(e) => e,
        Err(code) => return code,
    };
    if !a.all_paths {
        // The most likely path; ties go to the first in exploration order.
        let best = exploration
            .paths
            .iter()
            .enumerate()
            .fold(None::<(usize, f64)>, |best, (i, p)| match best {
                Some((_, bp)) if bp >= p.probability => best,
                _ => Some((i, p.probability)),
            })
            .map(|(i, _)| i);
        exploration.paths = best.map(|i| vec![exploration.paths.swap_remove(i)]).unwrap_or_default();
    }
    match a.format {
        Format::Json => {
            let view = TraceView::new(&exploration);
            match serde_json::to_string_pretty(&view) {
                Ok(s) => println!("{s}"),
                Err(e) => {
                    eprintln!("error: cannot render JSON: {e}");
                    return exit::INVALID;
                }
            }
        }
        Format::Text => print!("{}", render_text(&exploration)),
    }
    exit::OK
}

/// The JSON view of a trace (docs/trace-json.md).
#[derive(Debug, Serialize)]
pub struct TraceView {
    /// Every path listed.
    pub paths: Vec<PathView>,
    /// True when the enumeration stopped at its limit.
    pub truncated: bool,
}

/// One path in the JSON view.
#[derive(Debug, Serialize)]
pub struct PathView {
    /// The probability of this path (all paths of `--all-paths` sum to 1).
    pub probability: f64,
    /// `dnat`, `accept`, `drop`, `reject` or `none` (no rule applied).
    pub disposition: &'static str,
    /// For `reject`: the `--reject-with` type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_with: Option<std::borrow::Cow<'static, str>>,
    /// `ip:port` (or `ip`) the destination was rewritten to, or null.
    pub dnat: Option<String>,
    /// True when a SNAT or MASQUERADE target ran.
    pub masquerade: bool,
    /// The SNAT source address, or null.
    pub snat: Option<String>,
    /// The matched rules, in order, in iptables-save syntax; then the nftables rules and
    /// verdict-map elements (`ip kube-proxy CHAIN: RULE`).
    pub rules: Vec<String>,
    /// The hooks traversed, in order.
    pub hooks: Vec<&'static str>,
    /// Where a stated assumption decided (`HOOK / table: RULE (ext: what)`), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assumptions: Vec<String>,
}

/// The JSON spelling of a disposition.
pub fn disposition_name(d: Disposition) -> (&'static str, Option<std::borrow::Cow<'static, str>>) {
    match d {
        Disposition::Dnat => ("dnat", None),
        Disposition::Accept => ("accept", None),
        Disposition::Drop => ("drop", None),
        Disposition::Reject(w) => ("reject", Some(w.name())),
        Disposition::NoRuleApplied => ("none", None),
    }
}

fn dnat_text(d: Option<(Ipv4Addr, Option<u16>)>) -> Option<String> {
    d.map(|(ip, port)| match port {
        Some(p) => format!("{ip}:{p}"),
        None => ip.to_string(),
    })
}

impl PathView {
    /// The view of one explored path.
    pub fn new(p: &ExplorePath) -> PathView {
        let (disposition, reject_with) = disposition_name(p.disposition);
        PathView {
            probability: p.probability,
            disposition,
            reject_with,
            dnat: dnat_text(p.dnat),
            masquerade: p.masquerade,
            snat: p.snat.map(|a| a.to_string()),
            rules: p.rules.iter().map(|r| r.text.clone()).chain(p.nft_rules.iter().cloned()).collect(),
            hooks: p.hooks.iter().map(|h| h.chain_name()).collect(),
            assumptions: p
                .assumptions
                .iter()
                .map(|x| {
                    format!(
                        "{} / {}: {} ({}: {})",
                        x.hook.chain_name(),
                        x.table.name(),
                        x.rule,
                        x.ext,
                        x.what
                    )
                })
                .collect(),
        }
    }
}

impl TraceView {
    /// The view of an exploration.
    pub fn new(e: &Exploration) -> TraceView {
        TraceView { paths: e.paths.iter().map(PathView::new).collect(), truncated: e.truncated }
    }
}

/// The text form: one block per path, rules grouped by hook and table.
pub fn render_text(e: &Exploration) -> String {
    let mut out = String::new();
    let n = e.paths.len();
    for (i, p) in e.paths.iter().enumerate() {
        let (disp, with) = disposition_name(p.disposition);
        let what = match (disp, p.dnat) {
            ("dnat", Some(_)) => format!("DNAT to {}", dnat_text(p.dnat).unwrap_or_default()),
            ("reject", _) => format!("REJECT ({})", with.as_deref().unwrap_or("icmp-port-unreachable")),
            ("drop", _) => "DROP".to_string(),
            ("accept", _) => "ACCEPT (by rule)".to_string(),
            _ => "no rule applied (accepted by policy)".to_string(),
        };
        let masq = if p.masquerade { ", masqueraded" } else { "" };
        out.push_str(&format!("path {} of {n}: probability {:.4}: {what}{masq}\n", i + 1, p.probability));
        let mut last: Option<(sim_net::netfilter::Hook, sim_net::netfilter::TableName)> = None;
        for r in &p.rules {
            if last != Some((r.hook, r.table)) {
                out.push_str(&format!("  {} / {}\n", r.hook.chain_name(), r.table.name()));
                last = Some((r.hook, r.table));
            }
            out.push_str(&format!("    {}\n", r.text));
        }
        if !p.nft_rules.is_empty() {
            out.push_str("  nftables\n");
            for r in &p.nft_rules {
                out.push_str(&format!("    {r}\n"));
            }
        }
        for x in &p.assumptions {
            out.push_str(&format!(
                "  assumed at {} / {}: {} ({}: {})\n",
                x.hook.chain_name(),
                x.table.name(),
                x.rule,
                x.ext,
                x.what
            ));
        }
        out.push_str(&format!("  packet leaves as: {}\n", p.packet));
    }
    if e.truncated {
        out.push_str("(more paths not listed: the enumeration limit was reached)\n");
    }
    out
}
