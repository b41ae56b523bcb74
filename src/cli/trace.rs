//! `netsim trace`: the journey of one connection through a cluster built from manifests.
//!
//! Two forms:
//! - `--from X --to DEST:PORT`: a real conversation in the simulated cluster, hop by hop, with
//!   the replies (`--all-paths` first lists every endpoint the first packet can reach, with
//!   its probability, from the first node's rules). The summary comes first, then each packet
//!   at `--detail summary|hops|rules`, for `--packet first|N|all`; `--format json` prints the
//!   same report as JSON Lines (`trace_json`, docs/trace-json.md); `--html FILE` also writes
//!   it as a self-contained HTML page (`html_report`).
//! - `--node NAME --src IP --to IP:PORT`: kube-proxy's rules of one node in isolation, as
//!   kube-proxy's own tests check them: where the first packet from that source goes, as the
//!   `paths` JSON of `netsim iptables trace` (docs/trace-json.md).

use clap::Args;
use sim_core::SimTime;
use sim_k8s::cluster::Target;
use sim_k8s::cluster::trace_report::{PacketSelection, TraceDetail};
use sim_net::netfilter::explore::{ExploreOrigin, ExploreRequest};
use sim_net::network::ConvProto;

use super::cluster_args::{ClusterArgs, build};
use super::exit;
use super::iptables::{Format, Proto, TraceView, first_packet, parse_endpoint, render_text};

/// Arguments of `netsim trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Where the connection starts: a pod, node or external host name (or `pod/NAME`, ...).
    #[arg(long, value_name = "NAME")]
    pub from: Option<String>,
    /// Single-node form: the node whose rules are traced.
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Single-node form: the packet's source address (a local pod, the node, or anywhere).
    #[arg(long, value_name = "IP[:PORT]")]
    pub src: Option<String>,
    /// The destination: `IP:PORT` or `NAME:PORT` (a service name resolves from `--from`).
    #[arg(long, value_name = "DEST:PORT")]
    pub to: String,
    /// Transport protocol.
    #[arg(long, value_enum, default_value = "tcp")]
    pub proto: Proto,
    /// List every outcome with its probability.
    #[arg(long)]
    pub all_paths: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// How much of each packet to print after the summary: `summary` (none), `hops` (a line
    /// per host), `rules` (every step, with the rules that matched).
    #[arg(long, value_enum, default_value = "rules")]
    pub detail: DetailArg,
    /// Which packets to show: `first`, a packet number, or `all`.
    #[arg(long, value_name = "first|N|all", default_value = "all", value_parser = parse_packet)]
    pub packet: PacketSelection,
    /// Draw the connection instead: a Mermaid sequence diagram or a Graphviz (dot) graph.
    #[arg(long, value_enum, value_name = "KIND")]
    pub diagram: Option<Diagram>,
    /// Also write a self-contained HTML report: the topology with the packet's path drawn,
    /// each hop's rules on click, the transcript beside it.
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
}

/// `--detail` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DetailArg {
    /// The summary only.
    Summary,
    /// The summary, then one line per host for each packet.
    Hops,
    /// The summary, then every step of each packet with the rules that matched.
    Rules,
}

impl From<DetailArg> for TraceDetail {
    fn from(d: DetailArg) -> TraceDetail {
        match d {
            DetailArg::Summary => TraceDetail::Summary,
            DetailArg::Hops => TraceDetail::Hops,
            DetailArg::Rules => TraceDetail::Rules,
        }
    }
}

fn parse_packet(s: &str) -> Result<PacketSelection, String> {
    PacketSelection::parse(s)
        .ok_or_else(|| format!("expected first, all or a packet number (1, 2, ...), got {s:?}"))
}

/// Diagram kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Diagram {
    /// A Mermaid `sequenceDiagram`.
    Mermaid,
    /// A Graphviz `digraph`.
    Dot,
}

/// Runs `netsim trace`.
pub fn run(a: TraceArgs) -> u8 {
    let mut built = match build(&a.cluster) {
        Ok(b) => b,
        Err(code) => return code,
    };
    for n in &built.not_simulated {
        eprintln!("netsim: {n}");
    }
    let cluster = &mut built.cluster;
    if let Some(node) = &a.node {
        let Some(src) = &a.src else {
            eprintln!("error: --node needs --src (the first packet's source address)");
            return exit::INVALID;
        };
        let Some(i) = cluster.world().node_index(node) else {
            eprintln!("error: no node named {node:?} (nodes: {})", node_names(cluster));
            return exit::INVALID;
        };
        let (src, sport) = match parse_endpoint("--src", src, false) {
            Ok(v) => v,
            Err(c) => return c,
        };
        let (dst, dport) = match parse_endpoint("--to", &a.to, a.proto != Proto::Icmp) {
            Ok(v) => v,
            Err(c) => return c,
        };
        cluster.world_mut().load_rules_of(node);
        let w = cluster.world();
        let n = &w.nodes[i];
        let Some(host) = w.net.host(n.host) else { return exit::INVALID };
        // A packet from one of this node's pods enters on the bridge; from the node itself it
        // is locally generated; from anywhere else it arrives on eth0.
        let origin = if src == n.ip || src == n.bridge_ip {
            ExploreOrigin::Local
        } else if n.pod_cidr.contains(&src) {
            ExploreOrigin::External { in_iface: w.config.bridge.clone() }
        } else {
            ExploreOrigin::External { in_iface: "eth0".to_string() }
        };
        let local_ips: Vec<_> = host.ifaces().flat_map(|i| i.addrs.iter().map(|a| a.addr())).collect();
        let exploration = host.netfilter.explore(&ExploreRequest {
            packet: first_packet(a.proto, src, sport.unwrap_or(40000), dst, dport.unwrap_or(0)),
            origin,
            local_ips,
            out_iface: None,
            now: SimTime::ZERO,
        });
        let mut exploration = exploration;
        if !a.all_paths && exploration.paths.len() > 1 {
            let best = (0..exploration.paths.len())
                .max_by(|x, y| {
                    exploration.paths[*x]
                        .probability
                        .partial_cmp(&exploration.paths[*y].probability)
                        .unwrap_or(std::cmp::Ordering::Equal)
                        .then(y.cmp(x))
                })
                .unwrap_or(0);
            exploration.paths = vec![exploration.paths.swap_remove(best)];
        }
        return match a.format {
            Format::Json => match serde_json::to_string_pretty(&TraceView::new(&exploration)) {
                Ok(s) => {
                    println!("{s}");
                    exit::OK
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    exit::INVALID
                }
            },
            Format::Text => {
                print!("{}", render_text(&exploration));
                exit::OK
            }
        };
    }
    let Some(from) = &a.from else {
        eprintln!(
            "error: give --from NAME (a conversation in the cluster) or --node NAME --src IP (one node's rules)"
        );
        return exit::INVALID;
    };
    let target: Target = match cluster.resolve_target(from) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID;
        }
    };
    let (dest, port) = match a.to.rsplit_once(':') {
        Some((h, p)) => match p.parse::<u16>() {
            Ok(p) => (h.to_string(), p),
            Err(_) => {
                eprintln!("error: invalid value '{}' for '--to': expected DEST:PORT", a.to);
                return exit::INVALID;
            }
        },
        None if a.proto == Proto::Icmp => (a.to.clone(), 0),
        None => {
            eprintln!("error: invalid value '{}' for '--to': expected DEST:PORT", a.to);
            return exit::INVALID;
        }
    };
    let proto = match a.proto {
        Proto::Tcp => ConvProto::Tcp,
        Proto::Udp => ConvProto::Udp,
        Proto::Icmp => ConvProto::Icmp,
        Proto::Sctp => ConvProto::Sctp,
    };
    if let Some(d) = a.diagram {
        let out = cluster.trace_diagram(&target, &dest, port, proto, d == Diagram::Dot);
        print!("{}", out.stdout);
        eprint!("{}", out.stderr);
        return if out.exit_code == 0 { exit::OK } else { exit::FAILED };
    }
    let detail = TraceDetail::from(a.detail);
    let (out, report) = cluster.trace_with(&target, &dest, port, proto, detail, a.packet);
    if let (Some(path), Some(report)) = (&a.html, &report) {
        let command = format!("netsim trace --from {from} --to {}", a.to);
        let title = format!("netsim trace: {} → {}", report.from, report.dest);
        let page = crate::html_report::HtmlReport {
            title,
            seed: cluster.seed(),
            traces: vec![crate::html_report::TracedConnection {
                command,
                topology: crate::html_report::Topology::of(cluster),
                report: report.clone(),
                text: out.stdout.clone(),
            }],
            topology: crate::html_report::Topology::of(cluster),
            transcript: None,
        };
        if let Err(e) = std::fs::write(path, crate::html_report::render(&page)) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return exit::INVALID;
        }
    }
    match (a.format, report) {
        (Format::Json, Some(report)) => {
            print!("{}", super::trace_json::json_lines(&report, detail, a.packet, out.exit_code));
        }
        (Format::Text, Some(_)) => {
            println!("# seed {}", cluster.seed());
            print!("{}", out.stdout);
            eprint!("{}", out.stderr);
        }
        (_, None) => {
            print!("{}", out.stdout);
            eprint!("{}", out.stderr);
        }
    }
    if out.exit_code == 0 { exit::OK } else { exit::FAILED }
}

fn node_names(c: &sim_k8s::cluster::Cluster) -> String {
    c.world().nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", ")
}
