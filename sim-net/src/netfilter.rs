//! Netfilter: the kernel's packet-filtering framework as iptables (legacy/nft-compat) presents
//! it. This module is the *interface* between the rule engine and the network stack:
//!
//! - the stack ([`crate`]'s hosts) calls [`Netfilter::run_hook`] at each hook with a
//!   [`HookContext`] (interfaces, conntrack state, address types) and applies what comes back
//!   ([`HookResult`]: a verdict and, in the nat table, a [`NatRequest`]);
//! - the rule engine walks the tables registered at that hook in kernel priority order
//!   (raw −300, mangle −150, nat-dst −100, filter 0, nat-src 100) and their chains.
//!
//! Kernel semantics the engine keeps: the nat table is consulted only for a connection's first
//! packet (`HookContext::ct_new`); later packets and replies are translated by conntrack, which
//! is the stack's job. Random choices (`-m statistic`) are asked of a [`Decider`], so that a
//! seeded stream and an exhaustive path explorer use the same code.

use std::net::Ipv4Addr;

use sim_core::SimTime;

use crate::wire::Packet;

/// The iptables tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TableName {
    /// `raw`: before conntrack (NOTRACK).
    Raw,
    /// `mangle`: packet alteration (marks).
    Mangle,
    /// `nat`: address translation, first packet of a connection only.
    Nat,
    /// `filter`: accept, drop, reject.
    Filter,
}

impl TableName {
    /// The name iptables uses (`nat`).
    pub const fn name(self) -> &'static str {
        match self {
            TableName::Raw => "raw",
            TableName::Mangle => "mangle",
            TableName::Nat => "nat",
            TableName::Filter => "filter",
        }
    }
    /// Parses a table name.
    pub fn parse(s: &str) -> Option<TableName> {
        match s {
            "raw" => Some(TableName::Raw),
            "mangle" => Some(TableName::Mangle),
            "nat" => Some(TableName::Nat),
            "filter" => Some(TableName::Filter),
            _ => None,
        }
    }
}

/// The netfilter hooks (the built-in chains).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hook {
    /// After a packet arrives on an interface, before routing.
    Prerouting,
    /// Routed to a local address.
    Input,
    /// Routed through this host.
    Forward,
    /// Locally generated, after the output route lookup.
    Output,
    /// About to leave on an interface.
    Postrouting,
}

impl Hook {
    /// The built-in chain name (`PREROUTING`).
    pub const fn chain_name(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
        }
    }
}

/// The address classes of `-m addrtype` (the kernel's `RTN_*` route types).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddrType {
    /// An address of this host (any interface, including 127.0.0.0/8).
    Local,
    /// An ordinary unicast address elsewhere.
    Unicast,
    /// A broadcast address.
    Broadcast,
    /// A multicast address.
    Multicast,
    /// No route.
    Unreachable,
}

/// The conntrack state of the packet, as `-m conntrack --ctstate` / `-m state` see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CtState {
    /// First packet of a connection.
    New,
    /// A packet of a connection that has seen traffic both ways (or is a reply).
    Established,
    /// Related to an existing connection (ICMP errors).
    Related,
    /// Could not be tracked.
    Invalid,
    /// Exempted by `-j NOTRACK`/`CT --notrack`.
    Untracked,
}

/// What the stack knows about a packet when it runs a hook.
pub struct HookContext<'a> {
    /// Simulated now (for `-m recent --seconds`).
    pub now: SimTime,
    /// The input interface (`-i`), where one applies (PREROUTING, INPUT, FORWARD).
    pub in_iface: Option<&'a str>,
    /// The output interface (`-o`), where one applies (FORWARD, OUTPUT, POSTROUTING).
    pub out_iface: Option<&'a str>,
    /// The conntrack state.
    pub ct_state: CtState,
    /// True for the first packet of a connection: only then is the nat table consulted.
    pub ct_new: bool,
    /// Whether the packet's connection has seen a reply (`--ctstatus SEEN_REPLY`), if needed.
    pub ct_seen_reply: bool,
    /// The route type of an address on this host (for `-m addrtype`).
    pub addr_type: &'a dyn Fn(Ipv4Addr) -> AddrType,
}

/// Chooses the outcome of a random match. A seeded stream makes one choice; an explorer
/// enumerates both.
pub trait Decider {
    /// Returns true if `-m statistic --mode random --probability p` matches, where `p_u32` is the
    /// kernel's stored fixed-point probability (`p = p_u32 / 2^31`).
    fn statistic(&mut self, p_u32: u32) -> bool;
}

/// Decides random matches from a seeded [`sim_core::SimRng`], as the kernel does from
/// `get_random_u32()`.
impl Decider for sim_core::SimRng {
    fn statistic(&mut self, p_u32: u32) -> bool {
        self.kernel_probability(p_u32)
    }
}

/// The ICMP/TCP answer of `-j REJECT --reject-with`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectWith {
    /// `icmp-net-unreachable`.
    IcmpNetUnreachable,
    /// `icmp-host-unreachable`.
    IcmpHostUnreachable,
    /// `icmp-port-unreachable` (the default).
    IcmpPortUnreachable,
    /// `icmp-proto-unreachable`.
    IcmpProtoUnreachable,
    /// `icmp-net-prohibited`.
    IcmpNetProhibited,
    /// `icmp-host-prohibited`.
    IcmpHostProhibited,
    /// `icmp-admin-prohibited`.
    IcmpAdminProhibited,
    /// `tcp-reset`.
    TcpReset,
}

/// The final verdict of one hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HookVerdict {
    /// The packet continues.
    Accept,
    /// Silently dropped (a `DROP` rule or a chain policy).
    Drop,
    /// Dropped and answered (`REJECT`); the stack generates the answer.
    Reject(RejectWith),
}

/// A translation requested by the nat table for a new connection; the stack records it in the
/// conntrack entry and rewrites the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NatRequest {
    /// `-j DNAT --to-destination addr[:port]`.
    Dnat { addr: Ipv4Addr, port: Option<u16> },
    /// `-j SNAT --to-source addr[:port[-port]]`.
    Snat { addr: Ipv4Addr, ports: Option<(u16, u16)>, random_fully: bool },
    /// `-j MASQUERADE`: the primary address of the outgoing interface.
    Masquerade { ports: Option<(u16, u16)>, random_fully: bool },
}

/// Identifies a rule: table, chain and 1-based position, as `iptables -L --line-numbers` counts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RuleRef {
    /// The table.
    pub table: TableName,
    /// The chain name.
    pub chain: String,
    /// The 1-based rule number.
    pub index: usize,
}

/// One step of a traversal, recorded when the caller asks for a trace. A `Statistic` step holds
/// the kernel fixed-point probability (`p = p_u32 / 2^31`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NfStep {
    /// A rule matched; `rule` is its `iptables-save` text (`-A CHAIN ...`).
    RuleMatched { rule: RuleRef, text: String },
    /// A chain ran out of rules: a built-in chain applies its policy, a user chain returns.
    ChainEnd { table: TableName, chain: String, policy: Option<HookVerdict> },
    /// A random match was decided.
    Statistic { rule: RuleRef, p_u32: u32, matched: bool },
}

/// The outcome of [`Netfilter::run_hook`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookResult {
    /// Accept, drop or reject.
    pub verdict: HookVerdict,
    /// A NAT binding requested by the nat table, if any.
    pub nat: Option<NatRequest>,
}

/// The rule set of one network namespace: all tables, ipsets and `-m recent` lists.
#[derive(Clone, Debug, Default)]
pub struct Netfilter {
    _private: (),
}

impl Netfilter {
    /// Empty tables: every built-in chain present with policy ACCEPT and no rules.
    pub fn new() -> Self {
        Netfilter { _private: () }
    }

    /// Runs every table registered at `hook`, in kernel priority order, on `pkt` (whose mark
    /// may be changed). `trace`, when given, receives every step.
    pub fn run_hook(
        &mut self,
        hook: Hook,
        pkt: &mut Packet,
        ctx: &HookContext<'_>,
        decider: &mut dyn Decider,
        trace: Option<&mut Vec<NfStep>>,
    ) -> HookResult {
        let _ = (hook, pkt, ctx, decider, trace);
        HookResult { verdict: HookVerdict::Accept, nat: None }
    }
}
