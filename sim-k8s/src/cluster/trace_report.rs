//! A traced connection as structured data, and its text rendering.
//!
//! [`TraceReport`] is built once from the network's [`NetTrace`] records (`sim-net`'s
//! `network/trace.rs`): a summary (the first packet's path as hops, where DNAT and SNAT
//! happened with the address before and after, the endpoint that served, the address the
//! server saw, the disposition), then every packet of the connection in creation order, each
//! split into hops (one host each) holding that host's steps in the order they happened.
//! NAT on a packet travelling in conntrack's reply direction is the *undoing* of a binding
//! made on the first packet: it is labelled `un-DNAT` (the source is restored) or `un-SNAT`
//! (the destination is restored), as the kernel's `nf_nat_packet` applies the inverse
//! manipulation to replies.
//!
//! The text (`render_text`, with a [`TraceDetail`] and a [`PacketSelection`]) and the JSON Lines
//! of `netsim trace --format json` (root package, docs/trace-json.md) are both rendered from
//! this one structure; the types derive `Serialize` only to be read by that renderer.

use std::fmt::Write as _;
use std::net::SocketAddrV4;

use serde::Serialize;
use sim_core::TraceRecord;
use sim_net::conntrack::Direction;
use sim_net::conntrack::print::entry_line;
use sim_net::nat::Manip;
use sim_net::netfilter::{HookVerdict, NfStep};
use sim_net::network::{Conversation, NetTrace, Outcome, PacketId, RouteTrace};
use sim_net::wire::Packet;

use super::exec::disposition_name;
use super::facade::{Cluster, Target};
use super::ops::describe_disposition;

/// How much of each packet `render_text` prints after the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TraceDetail {
    /// The summary only.
    Summary,
    /// One line per hop: the host, the interfaces, the NAT done there, the disposition.
    Hops,
    /// Every step: conntrack, each hook with the rules that matched, NAT, routes, bridges.
    #[default]
    Rules,
}

impl TraceDetail {
    /// Parses `summary`, `hops` or `rules`.
    pub fn parse(s: &str) -> Option<TraceDetail> {
        match s {
            "summary" => Some(TraceDetail::Summary),
            "hops" => Some(TraceDetail::Hops),
            "rules" => Some(TraceDetail::Rules),
            _ => None,
        }
    }
}

/// Which packets the detail shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PacketSelection {
    /// The first packet only (the one that made the NAT bindings).
    First,
    /// Packet N (1-based, in creation order).
    Nth(usize),
    /// Every packet.
    #[default]
    All,
}

impl PacketSelection {
    /// Parses `first`, `all` or a packet number (1-based).
    pub fn parse(s: &str) -> Option<PacketSelection> {
        match s {
            "first" => Some(PacketSelection::First),
            "all" => Some(PacketSelection::All),
            n => n.parse::<usize>().ok().filter(|n| *n >= 1).map(PacketSelection::Nth),
        }
    }

    /// Whether packet `index` (1-based) is selected.
    pub fn includes(self, index: usize) -> bool {
        match self {
            PacketSelection::First => index == 1,
            PacketSelection::Nth(n) => index == n,
            PacketSelection::All => true,
        }
    }
}

/// One traced connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceReport {
    /// The scenario or cluster seed.
    pub seed: u64,
    /// Where the connection started (`pod/NAME`, `node/NAME`, `host/NAME`).
    pub from: String,
    /// Its address.
    pub from_address: Option<String>,
    /// The destination as given (a name or an address).
    pub dest: String,
    /// The destination address and port the client connected to.
    pub destination: String,
    /// `tcp`, `udp` or `icmp`.
    pub proto: &'static str,
    /// What a reader wants first.
    pub summary: TraceSummary,
    /// Every packet of the connection, in creation order.
    pub packets: Vec<PacketTrace>,
}

/// The outcome of a traced connection, told from its first packet and the conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceSummary {
    /// How the conversation ended: `completed`, `connection refused (RST)`, `timed out ...`.
    pub outcome: String,
    /// The hosts the first packet crossed, in order.
    pub path: Vec<String>,
    /// The NAT the first packet met (the bindings conntrack keeps for the connection).
    pub nat: Vec<NatChange>,
    /// The pod or host that answered, and the address and port the request arrived on.
    pub served_by: Option<ServedByView>,
    /// The client address and port the server saw (after any SNAT).
    pub client_seen: Option<String>,
    /// How the first packet ended.
    pub disposition: Option<DispositionView>,
    /// How many packets the connection took.
    pub packet_count: usize,
}

/// Who answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServedByView {
    /// `pod/NAME`, `node/NAME` or `host/NAME`.
    pub name: String,
    /// The local address and port the request was delivered to.
    pub address: String,
}

/// The kind of a NAT rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum NatKind {
    /// A destination rewrite in the original direction.
    #[serde(rename = "DNAT")]
    Dnat,
    /// A source rewrite in the original direction.
    #[serde(rename = "SNAT")]
    Snat,
    /// A reply's source restored (the inverse of a DNAT).
    #[serde(rename = "un-DNAT")]
    UnDnat,
    /// A reply's destination restored (the inverse of an SNAT).
    #[serde(rename = "un-SNAT")]
    UnSnat,
}

impl NatKind {
    /// The label printed in traces.
    pub fn label(self) -> &'static str {
        match self {
            NatKind::Dnat => "DNAT",
            NatKind::Snat => "SNAT",
            NatKind::UnDnat => "un-DNAT",
            NatKind::UnSnat => "un-SNAT",
        }
    }

    fn of(manip: Manip, dir: Option<Direction>) -> NatKind {
        match (manip, dir) {
            (Manip::Dst, Some(Direction::Reply)) => NatKind::UnSnat,
            (Manip::Src, Some(Direction::Reply)) => NatKind::UnDnat,
            (Manip::Dst, _) => NatKind::Dnat,
            (Manip::Src, _) => NatKind::Snat,
        }
    }
}

/// One NAT rewrite: on which packet and host, at which hook, the address before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NatChange {
    /// The packet (1-based).
    pub packet: usize,
    /// The host that rewrote it.
    pub host: String,
    /// The hook whose rules asked for it (`PREROUTING`, `POSTROUTING`, ...), when a hook ran
    /// on that host before the rewrite; replies are rewritten by conntrack alone.
    pub hook: Option<String>,
    /// DNAT, SNAT, un-DNAT or un-SNAT.
    pub kind: NatKind,
    /// The rewritten address and port before.
    pub before: String,
    /// And after.
    pub after: String,
    /// The last rule that matched in that hook (the `DNAT`/`MASQUERADE` rule for new NAT).
    pub rule: Option<String>,
    /// The whole header before and after.
    pub packet_before: String,
    /// The whole header after.
    pub packet_after: String,
}

/// How a packet ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DispositionView {
    /// The host where it ended.
    pub host: String,
    /// The disposition's name (docs/dispositions: `delivered`, `dropped`, `rejected`, ...).
    pub kind: &'static str,
    /// In words, naming the rule or chain that decided it.
    pub text: String,
}

/// One packet of the connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PacketTrace {
    /// 1-based, in creation order.
    pub index: usize,
    /// `original` (client to server) or `reply`, as conntrack classified it where it was sent.
    pub direction: &'static str,
    /// The header as the sender sent it (tcpdump style).
    pub header: String,
    /// The hosts it crossed.
    pub hops: Vec<HopTrace>,
    /// How it ended (none if the trace stopped before it did).
    pub disposition: Option<DispositionView>,
}

/// One packet on one host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HopTrace {
    /// The host.
    pub host: String,
    /// The interface it arrived on (none where it was generated).
    pub in_iface: Option<String>,
    /// The interface it left on (none where it ended).
    pub out_iface: Option<String>,
    /// The next hop it was sent to.
    pub next_hop: Option<String>,
    /// The header as it arrived (or was sent).
    pub header: String,
    /// Every step on this host, in order.
    pub steps: Vec<TraceStep>,
}

/// One step of a packet on a host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum TraceStep {
    /// The host's stack generated the packet.
    Sent { at_ns: u64, header: String },
    /// It arrived on an interface.
    Received { at_ns: u64, iface: String, header: String },
    /// Conntrack classified it.
    Conntrack { at_ns: u64, state: String, new: bool, direction: Option<&'static str>, entry: Option<String> },
    /// A netfilter hook ran: its verdict and the rules that matched, in iptables-save (or nft)
    /// syntax, in evaluation order.
    Hook { at_ns: u64, hook: String, verdict: String, rules: Vec<String> },
    /// NAT rewrote it.
    Nat { at_ns: u64, nat: NatChange },
    /// The routing decision.
    Route { at_ns: u64, decision: String },
    /// A bridge forwarded the frame.
    Bridge { at_ns: u64, bridge: String, in_port: String, out_port: String },
    /// It left on an interface.
    Transmitted { at_ns: u64, iface: String, next_hop: String },
    /// A conntrack entry was confirmed (inserted).
    ConntrackConfirmed { at_ns: u64, entry: String },
    /// A new conntrack entry clashed with a racing packet's: joined it (`joined`) or
    /// dropped.
    ConntrackClash { at_ns: u64, entry: String, joined: Option<String> },
    /// An IPVS step.
    Ipvs { at_ns: u64, text: String },
    /// A kernel log line.
    KernelLog { at_ns: u64, message: String },
    /// Its end.
    Disposition { at_ns: u64, disposition: DispositionView },
}

impl TraceStep {
    fn at_ns(&self) -> u64 {
        match self {
            TraceStep::Sent { at_ns, .. }
            | TraceStep::Received { at_ns, .. }
            | TraceStep::Conntrack { at_ns, .. }
            | TraceStep::Hook { at_ns, .. }
            | TraceStep::Nat { at_ns, .. }
            | TraceStep::Route { at_ns, .. }
            | TraceStep::Bridge { at_ns, .. }
            | TraceStep::Transmitted { at_ns, .. }
            | TraceStep::ConntrackConfirmed { at_ns, .. }
            | TraceStep::ConntrackClash { at_ns, .. }
            | TraceStep::Ipvs { at_ns, .. }
            | TraceStep::KernelLog { at_ns, .. }
            | TraceStep::Disposition { at_ns, .. } => *at_ns,
        }
    }
}

/// The address and port a rewrite changed: the destination for DNAT and un-SNAT, the source
/// for SNAT and un-DNAT.
fn rewritten(p: &Packet, manip: Manip) -> String {
    let ports = p.transport.ports();
    match (manip, ports) {
        (Manip::Dst, Some((_, d))) => SocketAddrV4::new(p.dst, d).to_string(),
        (Manip::Src, Some((s, _))) => SocketAddrV4::new(p.src, s).to_string(),
        (Manip::Dst, None) => p.dst.to_string(),
        (Manip::Src, None) => p.src.to_string(),
    }
}

/// The outcome of a conversation in words.
pub fn outcome_text(o: Option<&Outcome>) -> String {
    match o {
        Some(Outcome::Completed { .. }) => "completed".to_string(),
        Some(Outcome::Refused) => "connection refused (RST)".to_string(),
        Some(Outcome::Reset) => "connection reset".to_string(),
        Some(Outcome::Unreachable { icmp_type, code, from }) => {
            format!("ICMP type {icmp_type} code {code} ({}) from {from}", icmp_name(*icmp_type, *code))
        }
        Some(Outcome::TimedOut) => "timed out (no answer)".to_string(),
        Some(Outcome::NoRoute) => "no route to the destination (ENETUNREACH)".to_string(),
        Some(Outcome::NotPermitted) => {
            "sendmsg failed: Operation not permitted (EPERM: the sender's own OUTPUT/POSTROUTING dropped it)"
                .to_string()
        }
        Some(Outcome::Failed(why)) => format!("failed: {why}"),
        // `trace` ended on the packets' final dispositions (`Cluster::fate_is_final`).
        None => "no answer: the packet's fate is final (a client would wait for its timeout)".to_string(),
    }
}

/// ICMP type/code names as tcpdump prints them.
fn icmp_name(t: u8, c: u8) -> &'static str {
    match (t, c) {
        (3, 0) => "net unreachable",
        (3, 1) => "host unreachable",
        (3, 3) => "port unreachable",
        (3, 9) | (3, 10) | (3, 13) => "administratively prohibited",
        (3, _) => "destination unreachable",
        (11, _) => "time exceeded",
        _ => "icmp",
    }
}

fn verdict_text(v: &HookVerdict) -> String {
    match v {
        HookVerdict::Accept => "ACCEPT".to_string(),
        HookVerdict::Drop => "DROP".to_string(),
        HookVerdict::Reject(w) => {
            format!("REJECT --reject-with {}", w.name())
        }
    }
}

/// The rules a hook's steps matched, as printed (nftables verdict-map elements indented).
fn matched_rules(steps: &[NfStep]) -> Vec<String> {
    steps
        .iter()
        .filter_map(|s| match s {
            NfStep::RuleMatched { text, .. } => Some(text.clone()),
            NfStep::Nft(sim_net::nftables::NftStep::RuleMatched { text, .. }) => Some(text.clone()),
            // The verdict-map element that chose the next chain (nftables).
            NfStep::Nft(sim_net::nftables::NftStep::MapElement { map, element: Some(e), .. }) => {
                Some(format!("  {map} element {e}"))
            }
            _ => None,
        })
        .collect()
}

/// What the report is about, besides the records.
pub struct TraceRequest<'a> {
    /// The client.
    pub from: &'a Target,
    /// The destination as given.
    pub dest: &'a str,
    /// The destination address and port.
    pub destination: SocketAddrV4,
    /// `tcp`, `udp`, `icmp`.
    pub proto: &'static str,
}

impl Cluster {
    /// Builds the structured report of a traced connection from its records.
    pub fn trace_report(
        &self,
        req: &TraceRequest<'_>,
        conv: &Conversation,
        records: &[TraceRecord<NetTrace>],
    ) -> TraceReport {
        let net = &self.world().net;
        let name = |h| net.host_name(h).to_string();
        let mut packets: Vec<PacketTrace> = conv
            .packets
            .iter()
            .enumerate()
            .map(|(i, _)| PacketTrace {
                index: i + 1,
                direction: "original",
                header: String::new(),
                hops: Vec::new(),
                disposition: None,
            })
            .collect();
        let index_of = |p: PacketId| conv.packets.iter().position(|x| *x == p);
        // Per packet: the direction conntrack last gave it on its current host, and the hook
        // that last ran there with its last matched rule (to say which rule asked for NAT).
        let mut dir: Vec<Option<Direction>> = vec![None; packets.len()];
        let mut last_hook: Vec<Option<(String, Option<String>)>> = vec![None; packets.len()];
        let mut classified: Vec<bool> = vec![false; packets.len()];
        let mut current: Option<usize> = None;
        for r in records {
            let at_ns = r.at.as_nanos();
            let (slot, host) = match &r.event {
                // A line about a packet goes with it (if it is one of this trace's); one
                // about none, with the packet recorded just before it.
                NetTrace::KernelLog { id: Some(p), host, .. } => match index_of(*p) {
                    Some(c) => (c, *host),
                    None => continue,
                },
                NetTrace::KernelLog { id: None, host, .. } => match current {
                    Some(c) => (c, *host),
                    None => continue,
                },
                ev => {
                    // A kernel log line belongs to the packet recorded just before it: one
                    // about another packet (a flood's drop) is not this trace's.
                    let Some(p) = ev.packet().and_then(index_of) else {
                        current = None;
                        continue;
                    };
                    let host = match ev {
                        NetTrace::Sent { host, .. }
                        | NetTrace::Rx { host, .. }
                        | NetTrace::Conntrack { host, .. }
                        | NetTrace::Hook { host, .. }
                        | NetTrace::Nat { host, .. }
                        | NetTrace::Route { host, .. }
                        | NetTrace::Bridge { host, .. }
                        | NetTrace::Tx { host, .. }
                        | NetTrace::CtConfirmed { host, .. }
                        | NetTrace::CtClash { host, .. }
                        | NetTrace::Ipvs { host, .. }
                        | NetTrace::Disposition { host, .. }
                        | NetTrace::KernelLog { host, .. } => *host,
                    };
                    (p, host)
                }
            };
            current = Some(slot);
            let host_name = name(host);
            let pt = &mut packets[slot];
            let new_hop = pt.hops.last().is_none_or(|h| h.host != host_name)
                || matches!(r.event, NetTrace::Rx { .. } | NetTrace::Sent { .. });
            if new_hop {
                let header = match &r.event {
                    NetTrace::Sent { pkt, .. } | NetTrace::Rx { pkt, .. } => pkt.to_string(),
                    _ => String::new(),
                };
                pt.hops.push(HopTrace {
                    host: host_name.clone(),
                    in_iface: None,
                    out_iface: None,
                    next_hop: None,
                    header,
                    steps: Vec::new(),
                });
                last_hook[slot] = None;
                dir[slot] = None;
            }
            let Some(hop) = pt.hops.last_mut() else { continue };
            let step = match &r.event {
                NetTrace::Sent { pkt, .. } => {
                    if pt.header.is_empty() {
                        pt.header = pkt.to_string();
                    }
                    TraceStep::Sent { at_ns, header: pkt.to_string() }
                }
                NetTrace::Rx { iface, pkt, .. } => {
                    hop.in_iface = Some(iface.clone());
                    TraceStep::Received { at_ns, iface: iface.clone(), header: pkt.to_string() }
                }
                NetTrace::Conntrack { state, new, entry, dir: d, .. } => {
                    dir[slot] = *d;
                    if !classified[slot] {
                        classified[slot] = true;
                        if *d == Some(Direction::Reply) {
                            pt.direction = "reply";
                        }
                    }
                    TraceStep::Conntrack {
                        at_ns,
                        state: if *new { "NEW".to_string() } else { format!("{state:?}").to_uppercase() },
                        new: *new,
                        direction: d.map(|d| match d {
                            Direction::Original => "original",
                            Direction::Reply => "reply",
                        }),
                        entry: entry.as_ref().map(|e| entry_line(e, r.at)),
                    }
                }
                NetTrace::Hook { hook, verdict, steps, .. } => {
                    let rules = matched_rules(steps);
                    last_hook[slot] = Some((hook.chain_name().to_string(), rules.last().cloned()));
                    TraceStep::Hook {
                        at_ns,
                        hook: hook.chain_name().to_string(),
                        verdict: verdict_text(verdict),
                        rules,
                    }
                }
                NetTrace::Nat { manip, before, after, .. } => {
                    let kind = NatKind::of(*manip, dir[slot]);
                    let (hook_name, rule) = match (&last_hook[slot], kind) {
                        (Some((h, r)), NatKind::Dnat | NatKind::Snat) => (Some(h.clone()), r.clone()),
                        _ => (None, None),
                    };
                    TraceStep::Nat {
                        at_ns,
                        nat: NatChange {
                            packet: slot + 1,
                            host: host_name.clone(),
                            hook: hook_name,
                            kind,
                            before: rewritten(before, *manip),
                            after: rewritten(after, *manip),
                            rule,
                            packet_before: before.to_string(),
                            packet_after: after.to_string(),
                        },
                    }
                }
                NetTrace::Route { decision, .. } => TraceStep::Route {
                    at_ns,
                    decision: match decision {
                        RouteTrace::Unreachable => "unreachable (no route)".to_string(),
                        d => d.to_string(),
                    },
                },
                NetTrace::Bridge { bridge, in_port, out_port, .. } => TraceStep::Bridge {
                    at_ns,
                    bridge: bridge.clone(),
                    in_port: in_port.clone(),
                    out_port: out_port.clone(),
                },
                NetTrace::Tx { iface, next_hop, .. } => {
                    hop.out_iface = Some(iface.clone());
                    hop.next_hop = Some(next_hop.to_string());
                    TraceStep::Transmitted { at_ns, iface: iface.clone(), next_hop: next_hop.to_string() }
                }
                NetTrace::CtConfirmed { entry, .. } => {
                    TraceStep::ConntrackConfirmed { at_ns, entry: entry_line(entry, r.at) }
                }
                NetTrace::CtClash { entry, joined, .. } => TraceStep::ConntrackClash {
                    at_ns,
                    entry: entry_line(entry, r.at),
                    joined: joined.as_ref().map(|w| entry_line(w, r.at)),
                },
                NetTrace::Ipvs { step, .. } => TraceStep::Ipvs { at_ns, text: step.to_string() },
                NetTrace::KernelLog { message, .. } => {
                    TraceStep::KernelLog { at_ns, message: message.clone() }
                }
                NetTrace::Disposition { disposition, .. } => {
                    let d = DispositionView {
                        host: host_name.clone(),
                        kind: disposition_name(disposition),
                        text: describe_disposition(disposition),
                    };
                    pt.disposition = Some(d.clone());
                    TraceStep::Disposition { at_ns, disposition: d }
                }
            };
            hop.steps.push(step);
        }
        let first = packets.first();
        let summary = TraceSummary {
            outcome: outcome_text(conv.outcome.as_ref()),
            path: first.map(|p| p.hops.iter().map(|h| h.host.clone()).collect()).unwrap_or_default(),
            nat: first
                .map(|p| {
                    p.hops
                        .iter()
                        .flat_map(|h| h.steps.iter())
                        .filter_map(|s| match s {
                            TraceStep::Nat { nat, .. } => Some(nat.clone()),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            served_by: conv
                .served_by
                .as_ref()
                .map(|s| ServedByView { name: self.describe_host(s.host), address: s.local.to_string() }),
            client_seen: conv.served_by.as_ref().map(|s| s.peer.to_string()),
            disposition: first.and_then(|p| p.disposition.clone()),
            packet_count: packets.len(),
        };
        TraceReport {
            seed: self.seed(),
            from: req.from.to_string(),
            from_address: self.address_of(req.from).map(|a| a.to_string()),
            dest: req.dest.to_string(),
            destination: req.destination.to_string(),
            proto: req.proto,
            summary,
            packets,
        }
    }
}

fn secs(at_ns: u64) -> String {
    format!("{:>12}", format!("{:.6}s", at_ns as f64 / 1e9))
}

impl TraceReport {
    /// The first line: `trace: FROM (ADDR) -> DEST (IP:PORT) PROTO`.
    pub fn heading(&self) -> String {
        format!(
            "trace: {} ({}) -> {} ({}) {}",
            self.from,
            self.from_address.as_deref().unwrap_or_default(),
            self.dest,
            self.destination,
            self.proto
        )
    }

    /// The summary block: result, path, NAT, who served, what it saw, how packet 1 ended.
    pub fn render_summary(&self) -> String {
        let s = &self.summary;
        let mut out = String::new();
        let served = match (&s.served_by, &s.client_seen) {
            (Some(b), Some(c)) => format!(", served by {} which saw the client as {c}", b.name),
            _ => String::new(),
        };
        let _ = writeln!(out, "result: {}{served}", s.outcome);
        let _ = writeln!(out, "  path:        {}", s.path.join(" -> "));
        for n in &s.nat {
            let at = match &n.hook {
                Some(h) => format!("{} {h}", n.host),
                None => n.host.clone(),
            };
            let by = n
                .rule
                .as_deref()
                .and_then(|r| r.strip_prefix("-A "))
                .and_then(|r| r.split_whitespace().next())
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<12} {at}: {} -> {}{by}",
                format!("{}:", n.kind.label()),
                n.before,
                n.after
            );
        }
        if s.nat.is_empty() {
            let _ = writeln!(out, "  NAT:         none");
        }
        if let Some(b) = &s.served_by {
            let _ = writeln!(out, "  served by:   {} ({})", b.name, b.address);
        }
        if let Some(c) = &s.client_seen {
            let _ = writeln!(out, "  server saw:  {c}");
        }
        if let Some(d) = &s.disposition {
            let _ = writeln!(out, "  packet 1:    {} on {}", d.text, d.host);
        }
        let _ = writeln!(out, "  packets:     {}", s.packet_count);
        out
    }

    /// The whole text: heading, summary, then the selected packets at the given detail.
    pub fn render_text(&self, detail: TraceDetail, which: PacketSelection) -> String {
        let mut out = self.heading();
        out.push('\n');
        out.push_str(&self.render_summary());
        if detail == TraceDetail::Summary {
            return out;
        }
        let mut shown = 0;
        for p in self.packets.iter().filter(|p| which.includes(p.index)) {
            shown += 1;
            let _ = writeln!(out, "\npacket {} ({}): {}", p.index, p.direction, p.header);
            match detail {
                TraceDetail::Hops => render_hops(&mut out, p),
                _ => render_rules(&mut out, p),
            }
        }
        if shown == 0
            && let PacketSelection::Nth(n) = which
        {
            let _ = writeln!(out, "\nno packet {n} (the connection took {} packets)", self.packets.len());
        }
        out
    }
}

fn render_hops(out: &mut String, p: &PacketTrace) {
    for h in &p.hops {
        let at = h.steps.first().map(|s| secs(s.at_ns())).unwrap_or_default();
        let ifaces = match (&h.in_iface, &h.out_iface) {
            (Some(i), Some(o)) => format!("{i} -> {o}"),
            (None, Some(o)) => format!("out {o}"),
            (Some(i), None) => format!("in {i}"),
            (None, None) => String::new(),
        };
        let nat: Vec<String> = h
            .steps
            .iter()
            .filter_map(|s| match s {
                TraceStep::Nat { nat, .. } => {
                    Some(format!("{} {} -> {}", nat.kind.label(), nat.before, nat.after))
                }
                _ => None,
            })
            .collect();
        let mut line = format!("  {at} {}: {ifaces}", h.host);
        if !nat.is_empty() {
            let _ = write!(line, ", {}", nat.join(", "));
        }
        if let Some(TraceStep::Disposition { disposition, .. }) = h.steps.last() {
            let _ = write!(line, " => {}", disposition.text);
        }
        let _ = writeln!(out, "{line}");
    }
}

fn render_rules(out: &mut String, p: &PacketTrace) {
    for h in &p.hops {
        render_hop_rules(out, h);
    }
}

/// One hop at `rules` detail: every step on that host, with the rules each hook matched (the
/// lines `--detail rules` prints for it; the HTML report shows them when the hop is clicked).
pub fn render_hop_rules(out: &mut String, h: &HopTrace) {
    let host = &h.host;
    for s in &h.steps {
        let t = secs(s.at_ns());
        match s {
            TraceStep::Sent { header, .. } => {
                let _ = writeln!(out, "  {t} {host}: sends {header}");
            }
            TraceStep::Received { iface, header, .. } => {
                let _ = writeln!(out, "  {t} {host}: received on {iface}: {header}");
            }
            TraceStep::Conntrack { state, entry, .. } => {
                let line = entry.as_ref().map(|e| format!(": {e}")).unwrap_or_default();
                let _ = writeln!(out, "  {t} {host}: conntrack {state}{line}");
            }
            TraceStep::Hook { hook, verdict, rules, .. } => {
                if rules.is_empty() && verdict == "ACCEPT" {
                    continue;
                }
                let _ = writeln!(out, "  {t} {host}: {hook} -> {verdict}");
                for m in rules {
                    let _ = writeln!(out, "  {:>12}     {m}", "");
                }
            }
            TraceStep::Nat { nat, .. } => {
                let _ = writeln!(
                    out,
                    "  {t} {host}: {} {} => {}",
                    nat.kind.label(),
                    nat.packet_before,
                    nat.packet_after
                );
            }
            TraceStep::Route { decision, .. } => {
                let _ = writeln!(out, "  {t} {host}: route: {decision}");
            }
            TraceStep::Bridge { bridge, in_port, out_port, .. } => {
                let _ = writeln!(out, "  {t} {host}: bridge {bridge}: {in_port} -> {out_port}");
            }
            TraceStep::Transmitted { iface, next_hop, .. } => {
                let _ = writeln!(out, "  {t} {host}: sent on {iface} to {next_hop}");
            }
            TraceStep::ConntrackConfirmed { entry, .. } => {
                let _ = writeln!(out, "  {t} {host}: conntrack confirmed: {entry}");
            }
            TraceStep::ConntrackClash { entry, joined: Some(w), .. } => {
                let _ = writeln!(
                    out,
                    "  {t} {host}: conntrack clash: {entry} raced an entry with the same NAT, joins it: {w}"
                );
            }
            TraceStep::ConntrackClash { entry, joined: None, .. } => {
                let _ = writeln!(
                    out,
                    "  {t} {host}: conntrack clash: {entry} raced an entry DNATed elsewhere: dropped (insert_failed)"
                );
            }
            TraceStep::Ipvs { text, .. } => {
                let _ = writeln!(out, "  {t} {host}: {text}");
            }
            TraceStep::KernelLog { message, .. } => {
                let _ = writeln!(out, "  {t} {host}: kernel: {message}");
            }
            TraceStep::Disposition { disposition, .. } => {
                let _ = writeln!(out, "  {t} {host}: => {}", disposition.text);
            }
        }
    }
}
