//! What the packet walk records: one [`NetTrace`] per step of every packet, and the closed set
//! of [`Disposition`]s a packet can end with. Records are structured data (packets, conntrack
//! entry snapshots, netfilter steps); [`super::render`] turns them into text, and callers may
//! render them their own way.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::conntrack::{CtEntry, Direction};
use crate::iface::HostId;
use crate::ipvs::{IpvsDrop, IpvsTrace};
use crate::nat::Manip;
use crate::netfilter::{CtState, Hook, HookVerdict, NatRequest, NfStep, RejectWith, RuleRef, TableName};
use crate::route::{MultipathHashPolicy, Route};
use crate::wire::{Packet, Protocol};

use super::{ConvId, PacketId};

/// Who consumed a delivered packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// A socket: a listener, a server connection or a client conversation.
    Socket {
        /// Protocol.
        proto: Protocol,
        /// The local address and port the packet was delivered to.
        local: SocketAddrV4,
    },
    /// The host's own stack: an ICMP echo request answered, an ICMP error or echo reply
    /// consumed.
    Stack,
}

/// How a packet's life ended. Every packet gets exactly one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Reached a socket, or was answered/consumed by the host stack (echo reply, ICMP error).
    Delivered(Delivery),
    /// A rule with target `DROP` matched.
    DroppedByRule(RuleRef),
    /// A `REJECT` rule matched; the answer (ICMP error or TCP RST) is a new packet.
    Rejected(RuleRef, RejectWith),
    /// A built-in chain ran out of rules and its policy is `DROP`.
    DroppedByPolicy(TableName, String),
    /// An nftables `drop` (a rule, a verdict-map element or a base chain's policy).
    DroppedByNft(crate::nftables::NftDecision),
    /// An nftables `reject`; the answer is a new packet.
    RejectedByNft(crate::nftables::NftDecision, RejectWith),
    /// No route to the destination: a local sender gets `ENETUNREACH`, a forwarder sends
    /// ICMP net unreachable.
    NoRoute,
    /// Neighbour resolution failed: nobody on the link owns the next hop (ARP failure; after
    /// 3 s the sender's stack answers ICMP host unreachable), or the device is a dummy
    /// (which discards everything sent through it), or a bridge knows no port for it.
    HostUnreachable,
    /// Reached a host with no socket on that port: answered with TCP RST or ICMP port
    /// unreachable.
    NoListener,
    /// A segment or datagram matching no connection of the receiver (a stray reply, such as a
    /// SYN-ACK from an address the client never contacted): TCP answers RST, UDP port
    /// unreachable; an RST is silently dropped.
    NoSocket,
    /// TTL ran out on a forwarder: answered with ICMP time exceeded.
    TtlExceeded,
    /// A new connection found the conntrack table full
    /// ("nf_conntrack: table full, dropping packet").
    ConntrackFull,
    /// A new UDP flow's entry clashed at confirmation with the entry of a packet of the same
    /// flow that raced it and was DNATed elsewhere: dropped, counted in `insert_failed`
    /// ([`crate::conntrack::NatClash::Drop`]).
    ConntrackInsertFailed,
    /// The receiving or sending interface (or the veth peer) is down.
    InterfaceDown,
    /// Lost on the wire between two hosts a network partition separates
    /// ([`crate::network::Network::cut`]): the sender sees nothing.
    Partitioned,
    /// Not for this host and `net.ipv4.ip_forward = 0`: silently dropped.
    ForwardingDisabled,
    /// A 127.0.0.0/8 address arrived on a non-loopback interface with
    /// `route_localnet = 0` (martian).
    Martian,
    /// A br_netfilter bridge would have sent a DNATed frame back out of the port it came in
    /// on, and that port is not in hairpin mode (a pod reaching itself through its Service).
    HairpinDropped,
    /// NAT could not be set up (MASQUERADE without an address): dropped, as the kernel's
    /// `NF_DROP`. (No free port is not a NAT failure: the entry clashes at confirmation.)
    NatFailed,
    /// IP Virtual Server dropped it (`NF_DROP` from `ip_vs_in`): a new connection to a
    /// virtual service with no usable real server (answered with ICMP port unreachable, for
    /// TCP too, by `ip_vs_leave`), or a packet of a connection whose real server was deleted
    /// (silently).
    IpvsDropped(IpvsDrop),
}

/// Where the routing decision sent a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteTrace {
    /// Local delivery.
    Local,
    /// Out of a device.
    Unicast(Route),
    /// Out of a device through next hop `nexthop` (1-based) of the `of` next hops of a
    /// multipath route; `chosen` is that path as a single-path route.
    Multipath { chosen: Route, nexthop: usize, of: usize, policy: MultipathHashPolicy },
    /// No route.
    Unreachable,
}

/// `local`, the route line, `unreachable`; a multipath choice says which next hop and why:
/// `203.0.113.10 via 10.32.1.149 dev eth0 proto static (multipath: nexthop 2 of 2,
/// fib_multipath_hash_policy 1)`.
impl std::fmt::Display for RouteTrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteTrace::Local => f.write_str("local"),
            RouteTrace::Unicast(r) => write!(f, "{r}"),
            RouteTrace::Multipath { chosen, nexthop, of, policy } => write!(
                f,
                "{chosen} (multipath: nexthop {nexthop} of {of}, fib_multipath_hash_policy {})",
                policy.value()
            ),
            RouteTrace::Unreachable => f.write_str("unreachable"),
        }
    }
}

/// One recorded step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetTrace {
    /// A host stack generated a packet.
    Sent { id: PacketId, host: HostId, pkt: Packet, conv: Option<ConvId> },
    /// A packet arrived on an interface.
    Rx { id: PacketId, host: HostId, iface: String, pkt: Packet },
    /// Conntrack classified the packet; the entry snapshot if there is one.
    Conntrack {
        id: PacketId,
        host: HostId,
        state: CtState,
        new: bool,
        entry: Option<CtEntry>,
        dir: Option<Direction>,
    },
    /// A hook ran.
    Hook {
        id: PacketId,
        host: HostId,
        hook: Hook,
        verdict: HookVerdict,
        nat: Option<NatRequest>,
        steps: Vec<NfStep>,
    },
    /// NAT rewrote the packet.
    Nat { id: PacketId, host: HostId, manip: Manip, before: Packet, after: Packet },
    /// The routing decision.
    Route { id: PacketId, host: HostId, decision: RouteTrace },
    /// A bridge forwarded the frame between two ports.
    Bridge { id: PacketId, host: HostId, bridge: String, in_port: String, out_port: String },
    /// The packet left on an interface towards a next hop.
    Tx { id: PacketId, host: HostId, iface: String, next_hop: Ipv4Addr, pkt: Packet },
    /// A new conntrack entry was inserted.
    CtConfirmed { id: PacketId, host: HostId, entry: CtEntry },
    /// A new entry could not be inserted: another packet of its flow, racing it, was
    /// confirmed first. `joined` is that winner when the packet may use it (the same NAT);
    /// `None` means the packet is dropped (`insert_failed`).
    CtClash { id: PacketId, host: HostId, entry: CtEntry, joined: Option<CtEntry> },
    /// An IP Virtual Server step: scheduling, an existing connection, a reply un-NATed, or
    /// why IPVS let the packet go to the local stack.
    Ipvs { id: PacketId, host: HostId, step: IpvsTrace },
    /// A kernel log line (`nf_conntrack: table full, dropping packet`), and the packet it is
    /// about when there is one.
    KernelLog { id: Option<PacketId>, host: HostId, message: String },
    /// The packet's end.
    Disposition { id: PacketId, host: HostId, disposition: Disposition },
}

impl NetTrace {
    /// The packet this record is about, if any.
    pub fn packet(&self) -> Option<PacketId> {
        match self {
            NetTrace::Sent { id, .. }
            | NetTrace::Rx { id, .. }
            | NetTrace::Conntrack { id, .. }
            | NetTrace::Hook { id, .. }
            | NetTrace::Nat { id, .. }
            | NetTrace::Route { id, .. }
            | NetTrace::Bridge { id, .. }
            | NetTrace::Tx { id, .. }
            | NetTrace::CtConfirmed { id, .. }
            | NetTrace::CtClash { id, .. }
            | NetTrace::Ipvs { id, .. }
            | NetTrace::Disposition { id, .. } => Some(*id),
            NetTrace::KernelLog { id, .. } => *id,
        }
    }
}
