//! A plain-text rendering of the packet-walk trace, one line per step, in the spirit of
//! `tcpdump` and `iptables -j TRACE` (`<time> #<packet> <host>: <step>`). Rule matches are shown
//! with their `iptables-save` text; hooks that accepted with no rule matching and no NAT are
//! omitted to keep the walk readable.

use std::fmt::{self, Write};

use sim_core::TraceRecord;

use super::Network;
use super::trace::{Delivery, Disposition, NetTrace, RouteTrace};
use crate::ipvs::IpvsDrop;
use crate::nat::Manip;
use crate::netfilter::{HookVerdict, NatRequest, NfStep};
use crate::nftables::NftStep;

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disposition::Delivered(Delivery::Socket { proto, local }) => {
                write!(f, "delivered to {proto} socket {local}")
            }
            Disposition::Delivered(Delivery::Stack) => f.write_str("delivered to the host stack"),
            Disposition::DroppedByRule(r) => {
                write!(f, "dropped by rule {} {} #{}", r.table.name(), r.chain, r.index)
            }
            Disposition::Rejected(r, w) => {
                write!(f, "rejected by rule {} {} #{} with {}", r.table.name(), r.chain, r.index, w.name())
            }
            Disposition::DroppedByPolicy(t, c) => write!(f, "dropped by policy of {} {}", t.name(), c),
            Disposition::DroppedByNft(d) => write!(f, "dropped by {d}"),
            Disposition::RejectedByNft(d, w) => write!(f, "rejected by {d} with {}", w.name()),
            Disposition::NoRoute => f.write_str("no route to host network (ENETUNREACH)"),
            Disposition::HostUnreachable => f.write_str("host unreachable (no neighbour answered)"),
            Disposition::NoListener => f.write_str("no listener on that port"),
            Disposition::NoSocket => f.write_str("no socket for this connection (stray packet)"),
            Disposition::TtlExceeded => f.write_str("TTL exceeded in transit"),
            Disposition::ConntrackFull => f.write_str("nf_conntrack: table full, dropping packet"),
            Disposition::ConntrackInsertFailed => {
                f.write_str("conntrack insert failed (clashed with a racing packet's entry)")
            }
            Disposition::InterfaceDown => f.write_str("interface down"),
            Disposition::Partitioned => f.write_str("lost on the wire (network partition)"),
            Disposition::ForwardingDisabled => f.write_str("not for this host and ip_forward=0"),
            Disposition::Martian => f.write_str("martian 127.0.0.0/8 address (route_localnet=0)"),
            Disposition::HairpinDropped => f.write_str("bridge port not in hairpin mode"),
            Disposition::NatFailed => f.write_str("NAT failed"),
            Disposition::IpvsDropped(IpvsDrop::NoDestination) => {
                f.write_str("dropped by IPVS: no destination available (ICMP port unreachable sent)")
            }
            Disposition::IpvsDropped(IpvsDrop::DestUnavailable) => {
                f.write_str("dropped by IPVS: the connection's real server was deleted")
            }
        }
    }
}

fn nat_text(n: &NatRequest) -> String {
    match n {
        NatRequest::Dnat { addr, port: Some(p) } => format!("DNAT to {addr}:{p}"),
        NatRequest::Dnat { addr, port: None } => format!("DNAT to {addr}"),
        NatRequest::Snat { addr, .. } => format!("SNAT to {addr}"),
        NatRequest::Masquerade { .. } => "MASQUERADE".to_string(),
    }
}

/// Renders trace records (all of [`Network::trace`], or a filtered slice) as text.
pub fn render_trace<'a>(
    net: &Network,
    records: impl IntoIterator<Item = &'a TraceRecord<NetTrace>>,
) -> String {
    let mut out = String::new();
    for r in records {
        let at = r.at;
        let mut line = |id: Option<u64>, host: super::HostId, text: String| {
            let id = id.map(|i| format!("#{i} ")).unwrap_or_default();
            let _ = writeln!(out, "{at} {id}{}: {text}", net.host_name(host));
        };
        match &r.event {
            NetTrace::Sent { id, host, pkt, .. } => line(Some(id.0), *host, format!("send {pkt}")),
            NetTrace::Rx { id, host, iface, pkt } => line(Some(id.0), *host, format!("rx {iface} {pkt}")),
            NetTrace::Conntrack { id, host, state, new, .. } => {
                let what =
                    if *new { "new connection".to_string() } else { format!("{state:?}").to_uppercase() };
                line(Some(id.0), *host, format!("conntrack {what}"));
            }
            NetTrace::Hook { id, host, hook, verdict, nat, steps } => {
                let matched: Vec<&NfStep> = steps
                    .iter()
                    .filter(|s| {
                        matches!(s, NfStep::RuleMatched { .. } | NfStep::Nft(NftStep::RuleMatched { .. }))
                    })
                    .collect();
                if *verdict == HookVerdict::Accept && nat.is_none() && matched.is_empty() {
                    continue;
                }
                let v = match verdict {
                    HookVerdict::Accept => "ACCEPT".to_string(),
                    HookVerdict::Drop => "DROP".to_string(),
                    HookVerdict::Reject(w) => format!("REJECT {}", w.name()),
                };
                let n = nat.as_ref().map(|n| format!(", {}", nat_text(n))).unwrap_or_default();
                line(Some(id.0), *host, format!("{} {v}{n}", hook.chain_name()));
                for s in steps {
                    match s {
                        NfStep::RuleMatched { rule, text } => {
                            line(Some(id.0), *host, format!("  {} {}", rule.table.name(), text));
                        }
                        NfStep::Statistic { p_u32, matched, .. } => {
                            let p = f64::from(*p_u32) / f64::from(1u32 << 31);
                            line(
                                Some(id.0),
                                *host,
                                format!(
                                    "  statistic p={p:.5} {}",
                                    if *matched { "matched" } else { "not matched" }
                                ),
                            );
                        }
                        NfStep::Nft(NftStep::RuleMatched { rule, text }) => {
                            let t =
                                format!("  nft {} {} {}: {text}", rule.family.name(), rule.table, rule.chain);
                            line(Some(id.0), *host, t);
                        }
                        NfStep::Nft(NftStep::MapElement { map, key, element, .. }) => {
                            let e = element.as_deref().unwrap_or("no element");
                            line(Some(id.0), *host, format!("  map {map} [{key}]: {e}"));
                        }
                        NfStep::Nft(NftStep::Numgen { modulus, value }) => {
                            line(Some(id.0), *host, format!("  numgen random mod {modulus} = {value}"));
                        }
                        _ => {}
                    }
                }
            }
            NetTrace::Nat { id, host, manip, before, after } => {
                let m = match manip {
                    Manip::Dst => "dst",
                    Manip::Src => "src",
                };
                line(Some(id.0), *host, format!("nat {m}: {before} => {after}"));
            }
            NetTrace::Route { id, host, decision } => {
                let d = match decision {
                    RouteTrace::Local => "local".to_string(),
                    RouteTrace::Unicast(r) => r.to_string(),
                    RouteTrace::Multipath { .. } => decision.to_string(),
                    RouteTrace::Unreachable => "unreachable".to_string(),
                };
                line(Some(id.0), *host, format!("route {d}"));
            }
            NetTrace::Bridge { id, host, bridge, in_port, out_port } => {
                line(Some(id.0), *host, format!("bridge {bridge} {in_port} -> {out_port}"));
            }
            NetTrace::Tx { id, host, iface, next_hop, .. } => {
                line(Some(id.0), *host, format!("tx {iface} to {next_hop}"))
            }
            NetTrace::CtConfirmed { id, host, entry } => {
                line(Some(id.0), *host, format!("conntrack confirmed {} {}", entry.orig, entry.reply));
            }
            NetTrace::CtClash { id, host, entry, joined } => {
                let what = match joined {
                    Some(w) => format!("joins the racing packet's entry {} {}", w.orig, w.reply),
                    None => "drop (insert_failed)".to_string(),
                };
                line(Some(id.0), *host, format!("conntrack clash {} {}: {what}", entry.orig, entry.reply));
            }
            NetTrace::Ipvs { id, host, step } => line(Some(id.0), *host, step.to_string()),
            NetTrace::KernelLog { host, message, .. } => line(None, *host, format!("kernel: {message}")),
            NetTrace::Disposition { id, host, disposition } => {
                line(Some(id.0), *host, format!("=> {disposition}"))
            }
        }
    }
    out
}
