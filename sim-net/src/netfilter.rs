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
//! is the stack's job. The tables after nat at a hook see the packet as nat's DNAT left it (at
//! LOCAL_OUT the kernel rewrites and re-routes before filter runs: a node's own connection to a
//! firewalled LB IP reaches filter's `KUBE-PROXY-FIREWALL` with the endpoint as destination). Random choices (`-m statistic`) are asked of a [`Decider`], so that a
//! seeded stream and an exhaustive path explorer use the same code.
//!
//! Submodules: [`rule`] (the rule model), [`table`] (chains and edits), [`spec`] (the iptables
//! command line), [`restore`] (`iptables-restore` input), [`save`] (`iptables-save`/`-S`),
//! [`list`] (`iptables -L -n -v`), [`command`] (`iptables ...` edits), [`eval`] (traversal),
//! [`recent`] (`-m recent` lists), [`ipset`] (IP sets), [`explore`] (every path of a first
//! packet through one node, with probabilities).
//!
//! [`ext`] holds the xtables extensions real nodes' rules carry (physdev, owner, limit,
//! hashlimit, ... TCPMSS, NFLOG, CONNMARK, REDIRECT, ...), with the assumptions they are
//! evaluated under; a trace shows each assumption that decided something as
//! [`NfStep::Assumed`].
//!
//! `-m nfacct` counts into named accounting objects kept here ([`NfacctCounters`], read with
//! `nfacct_counters`; no tool prints them yet).
//!
//! The namespace's nftables ruleset ([`crate::nftables`]) lives here too: when base chains are
//! registered at a hook, [`Netfilter::hook_entries`] orders them with the tables by priority
//! (ties: the tables first) and `run_hook` evaluates each entry with its engine, sharing the
//! packet's mark, conntrack and NAT (the first binding wins; later entries see the DNATed
//! destination). Without nft base chains at a hook, the tables run exactly as before.
//!
//! Entry points on [`Netfilter`]: `run_hook` (evaluate), `restore(text, noflush)`
//! (`iptables-restore`), `save(&SaveOptions)` (`iptables-save`), `command(&["-t", "nat", ...])`
//! (`iptables`, including `-L` and `-S`), `ipset(&[...])` (`ipset`), `explore(&ExploreRequest)`.

use std::net::Ipv4Addr;
use std::rc::Rc;

use sim_core::SimTime;

use crate::wire::Packet;

mod chain_key;
pub mod command;
pub mod eval;
pub mod explore;
pub mod ext;
pub mod hosts;
pub mod ipset;
pub mod list;
pub mod passwd;
pub mod recent;
pub mod restore;
pub mod rule;
pub mod save;
pub mod services;
pub mod spec;
pub mod table;

pub use command::CommandError;
pub use explore::{
    Disposition, Exploration, ExploreOrigin, ExplorePath, ExploreRequest, PathAssumption, PathRule,
};
pub use restore::{RestoreError, RestoreOptions};
pub use rule::{Counters, Match, Rule, Target};
pub use save::SaveOptions;
pub use spec::{Backend, ListFlags, Policy};
pub use table::{Chain, Table, TableError};

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
    /// `security`: mandatory access control (SECMARK), filter-like, after filter at
    /// LOCAL_IN, FORWARD and LOCAL_OUT (`iptable_security`, priority `NF_IP_PRI_SECURITY`).
    Security,
}

impl TableName {
    /// The name iptables uses (`nat`).
    pub const fn name(self) -> &'static str {
        match self {
            TableName::Raw => "raw",
            TableName::Mangle => "mangle",
            TableName::Nat => "nat",
            TableName::Filter => "filter",
            TableName::Security => "security",
        }
    }
    /// Parses a table name.
    pub fn parse(s: &str) -> Option<TableName> {
        match s {
            "raw" => Some(TableName::Raw),
            "mangle" => Some(TableName::Mangle),
            "nat" => Some(TableName::Nat),
            "filter" => Some(TableName::Filter),
            "security" => Some(TableName::Security),
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
    /// What the extensions read besides (conntrack entry, bridge ports, input address);
    /// `Default::default()` when the caller has none of it.
    pub ext: ext::ExtContext<'a>,
}

/// Chooses the outcome of a random match. A seeded stream makes one choice; an explorer
/// enumerates both.
pub trait Decider {
    /// Returns true if `-m statistic --mode random --probability p` matches, where `p_u32` is the
    /// kernel's stored fixed-point probability (`p = p_u32 / 2^31`).
    fn statistic(&mut self, p_u32: u32) -> bool;

    /// Returns `numgen random mod modulus` (in `0..modulus`). By default a chain of yes/no
    /// questions with probabilities 1/N, 1/(N-1), ... (uniform, and what an explorer of
    /// statistic matches already enumerates); a seeded stream draws as the kernel does.
    fn numgen(&mut self, modulus: u32) -> u32 {
        for i in 0..modulus.saturating_sub(1) {
            let left = u64::from(modulus - i);
            let p_u32 = u32::try_from((1u64 << 31) / left).unwrap_or(u32::MAX);
            if self.statistic(p_u32) {
                return i;
            }
        }
        modulus.saturating_sub(1)
    }
}

/// Decides random matches from a seeded [`sim_core::SimRng`], as the kernel does from
/// `get_random_u32()`.
impl Decider for sim_core::SimRng {
    fn statistic(&mut self, p_u32: u32) -> bool {
        self.kernel_probability(p_u32)
    }

    /// `nft_ng_random_eval`: `reciprocal_scale(get_random_u32(), modulus)`.
    fn numgen(&mut self, modulus: u32) -> u32 {
        ((u64::from(self.next_u32()) * u64::from(modulus)) >> 32) as u32
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
    /// ICMP destination unreachable with a code no `--reject-with` names (nft's `reject with
    /// icmp 4`, `frag-needed`, and the unnamed codes).
    IcmpCode(u8),
}

impl RejectWith {
    /// The answer that sends ICMP destination-unreachable `code`.
    pub fn icmp_code(code: u8) -> RejectWith {
        match code {
            0 => RejectWith::IcmpNetUnreachable,
            1 => RejectWith::IcmpHostUnreachable,
            2 => RejectWith::IcmpProtoUnreachable,
            3 => RejectWith::IcmpPortUnreachable,
            9 => RejectWith::IcmpNetProhibited,
            10 => RejectWith::IcmpHostProhibited,
            13 => RejectWith::IcmpAdminProhibited,
            c => RejectWith::IcmpCode(c),
        }
    }

    /// Its name: `REJECT --reject-with`'s (`libipt_REJECT.c`), or for a code it has none for,
    /// `icmp-code-N`.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed(match self {
            RejectWith::IcmpNetUnreachable => "icmp-net-unreachable",
            RejectWith::IcmpHostUnreachable => "icmp-host-unreachable",
            RejectWith::IcmpPortUnreachable => "icmp-port-unreachable",
            RejectWith::IcmpProtoUnreachable => "icmp-proto-unreachable",
            RejectWith::IcmpNetProhibited => "icmp-net-prohibited",
            RejectWith::IcmpHostProhibited => "icmp-host-prohibited",
            RejectWith::IcmpAdminProhibited => "icmp-admin-prohibited",
            RejectWith::TcpReset => "tcp-reset",
            RejectWith::IcmpCode(c) => return std::borrow::Cow::Owned(format!("icmp-code-{c}")),
        })
    }
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
    /// `-j SNAT --to-source addr[:port[-port]]`. `random_fully` is set by `--random` or
    /// `--random-fully` (`NF_NAT_RANGE_PROTO_RANDOM_ALL`: never keep the source port).
    Snat { addr: Ipv4Addr, ports: Option<(u16, u16)>, random_fully: bool },
    /// `-j MASQUERADE`: the primary address of the outgoing interface; `random_fully` as for
    /// SNAT.
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
    /// A `-j LOG` rule ran (non-terminating); the kernel would log with this prefix.
    Log { rule: RuleRef, prefix: String },
    /// The traversal nested deeper than [`eval::MAX_DEPTH`] chains; the packet is dropped.
    DepthExceeded { table: TableName, depth: usize },
    /// An extension of a rule was evaluated under a stated assumption (what the model does
    /// not see: a uid, a MAC address, a payload ...); `what` says how the packet was treated.
    Assumed { rule: RuleRef, ext: &'static str, what: &'static str },
    /// A step in an nftables base chain.
    Nft(crate::nftables::NftStep),
}

/// The outcome of [`Netfilter::run_hook`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookResult {
    /// Accept, drop or reject.
    pub verdict: HookVerdict,
    /// A NAT binding requested by the nat table, if any.
    pub nat: Option<NatRequest>,
    /// True if a raw-table `NOTRACK`/`CT --notrack` ran: the stack must not track the packet.
    pub notrack: bool,
    /// For DROP and REJECT: what decided it (a disposition names it). Known whether or not a
    /// trace was asked for.
    pub decided_by: Option<Decision>,
    /// The connection mark a `CONNMARK` target set, for the stack to keep in the conntrack
    /// entry.
    pub ct_mark: Option<u32>,
}

/// What ended a hook with DROP or REJECT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// A rule's `DROP` or `REJECT` target.
    Rule(RuleRef),
    /// A built-in chain's DROP policy.
    Policy {
        /// The table.
        table: TableName,
        /// The built-in chain.
        chain: String,
    },
    /// Jumps nested deeper than the engine allows; the packet is dropped.
    DepthExceeded {
        /// The table.
        table: TableName,
    },
    /// An nftables rule, verdict-map element or base-chain policy.
    Nft(crate::nftables::NftDecision),
}

/// The rule set of one network namespace: all tables, ipsets and `-m recent` lists.
#[derive(Clone, Debug)]
pub struct Netfilter {
    /// Shared with every namespace whose table is still pristine (most pods' namespaces never
    /// get a rule): copied on the first write, a rule edit or a packet's counter
    /// ([`Rc::make_mut`]).
    tables: [Rc<Table>; TABLES],
    /// The tables a restore or a command registered (what `iptables-save` prints), in the
    /// order they were first registered ([`Netfilter::touch`]).
    loaded: Vec<TableName>,
    ipsets: ipset::IpSets,
    recent: recent::RecentLists,
    nfacct: NfacctCounters,
    ext: ext::ExtState,
    nft: crate::nftables::Nftables,
    /// The `iptables` binary of this namespace (what `iptables -V` prints).
    backend: spec::Backend,
}

/// The nfnetlink_acct accounting objects `-m nfacct` counts into, by name. An object comes
/// into being on its first packet (the kernel needs it created first with `nfacct add`; the
/// model has no `nfacct` tool, so a rule naming it is taken as that creation).
pub type NfacctCounters = std::collections::BTreeMap<rule::NfacctName, Counters>;

impl Default for Netfilter {
    fn default() -> Self {
        Netfilter::new()
    }
}

/// How many tables there are.
const TABLES: usize = 5;

/// All tables, in [`tidx`] order.
pub const ALL_TABLES: [TableName; TABLES] =
    [TableName::Raw, TableName::Mangle, TableName::Nat, TableName::Filter, TableName::Security];

/// The order iptables-nft's `iptables-save` prints tables in, whatever the order they were
/// loaded in (measured with v1.8.9). iptables-legacy's
/// prints `/proc/net/ip_tables_names`, the kernel's list of the namespace's tables, which
/// `xt_register_table` adds each to at its head: the table last registered first
/// ([`Netfilter::save`]).
pub const SAVE_ORDER: [TableName; TABLES] =
    [TableName::Mangle, TableName::Security, TableName::Raw, TableName::Filter, TableName::Nat];

const fn tidx(t: TableName) -> usize {
    match t {
        TableName::Raw => 0,
        TableName::Mangle => 1,
        TableName::Nat => 2,
        TableName::Filter => 3,
        TableName::Security => 4,
    }
}

/// The tables registered at a hook, in kernel priority order (raw −300, mangle −150,
/// nat-dst −100, filter 0, security 50, nat-src 100).
pub const fn hook_tables(hook: Hook) -> &'static [TableName] {
    match hook {
        Hook::Prerouting => &[TableName::Raw, TableName::Mangle, TableName::Nat],
        Hook::Input => &[TableName::Mangle, TableName::Filter, TableName::Security, TableName::Nat],
        Hook::Forward => &[TableName::Mangle, TableName::Filter, TableName::Security],
        Hook::Output => {
            &[TableName::Raw, TableName::Mangle, TableName::Nat, TableName::Filter, TableName::Security]
        }
        Hook::Postrouting => &[TableName::Mangle, TableName::Nat],
    }
}

thread_local! {
    /// The empty tables, built once per thread and shared by every new namespace.
    static PRISTINE: [Rc<Table>; TABLES] = ALL_TABLES.map(|t| Rc::new(Table::new(t)));
}

/// The empty tables (every built-in chain, policy ACCEPT, no rules), shared.
fn pristine_tables() -> [Rc<Table>; TABLES] {
    PRISTINE.with(|p| p.clone())
}

impl Netfilter {
    /// Empty tables: every built-in chain present with policy ACCEPT and no rules.
    pub fn new() -> Self {
        Netfilter {
            tables: pristine_tables(),
            loaded: Vec::new(),
            ipsets: ipset::IpSets::default(),
            recent: recent::RecentLists::default(),
            nfacct: NfacctCounters::new(),
            ext: ext::ExtState::default(),
            nft: crate::nftables::Nftables::new(),
            // The model's nodes run iptables v1.8.4 (legacy), as the articles' nodes did.
            backend: spec::Backend::Legacy,
        }
    }

    /// The `iptables` binary of this namespace: `iptables -V` says `(legacy)` or
    /// `(nf_tables)`.
    pub fn backend(&self) -> spec::Backend {
        self.backend
    }

    /// Sets the `iptables` binary of this namespace.
    pub fn set_backend(&mut self, b: spec::Backend) {
        self.backend = b;
    }

    /// The nftables ruleset (empty unless something loaded one).
    pub fn nftables(&self) -> &crate::nftables::Nftables {
        &self.nft
    }

    /// The nftables ruleset, to load (`apply`) or build.
    pub fn nftables_mut(&mut self) -> &mut crate::nftables::Nftables {
        &mut self.nft
    }

    /// How rules with payload matches (`string`, `u32`, `bpf`) are evaluated from now on.
    pub fn set_payload_assumption(&mut self, a: ext::PayloadAssumption) {
        self.ext.payload = a;
    }

    /// One table.
    pub fn table(&self, t: TableName) -> &Table {
        &self.tables[tidx(t)]
    }

    /// True if a restore or command has touched the table (so `iptables-save` prints it).
    pub fn is_loaded(&self, t: TableName) -> bool {
        self.loaded.contains(&t)
    }

    /// Registers the table in the namespace if it is not yet: iptables-legacy does on any
    /// access (a restore's `*table` line, any command that parsed, even `-L` or a failed
    /// `-A`: the kernel instantiates a table on its first `getsockopt`); iptables-nft when it
    /// creates the table's first chain or rule (measured with v1.8.9 on Linux 6.18).
    pub(crate) fn touch(&mut self, t: TableName) {
        if !self.is_loaded(t) {
            self.loaded.push(t);
        }
    }

    /// The IP sets.
    pub fn ipsets(&self) -> &ipset::IpSets {
        &self.ipsets
    }

    /// The `-m recent` lists.
    pub fn recent(&self) -> &recent::RecentLists {
        &self.recent
    }

    /// The `-m nfacct` accounting objects and their packet/byte counts (what
    /// `nfacct list` would show; nothing prints them yet).
    pub fn nfacct_counters(&self) -> &NfacctCounters {
        &self.nfacct
    }

    /// Number of rules (in any table) that use ipset `name`.
    pub fn set_references(&self, name: &str) -> usize {
        self.tables
            .iter()
            .flat_map(|t| t.chains())
            .flat_map(|c| &c.rules)
            .flat_map(|r| &r.matches)
            .filter(|m| matches!(m, Match::Set(s) if s.name == name))
            .count()
    }

    /// Runs an `ipset` command (without the leading `ipset`), e.g.
    /// `["add", "KUBE-CLUSTER-IP", "10.96.0.1,tcp:443"]`.
    pub fn ipset(&mut self, args: &[&str]) -> Result<String, ipset::IpSetError> {
        let refs: Vec<(String, usize)> =
            self.ipsets.names().map(|n| (n.to_string(), self.set_references(n))).collect();
        let lookup = move |n: &str| refs.iter().find(|(k, _)| k == n).map_or(0, |(_, c)| *c);
        self.ipsets.command(args, &lookup)
    }

    /// `ipset restore` of an `ipset save` dump: one `create`/`add` (or other ipset command)
    /// per line; blank lines, `#` comments and `COMMIT` are skipped. Stops at the first bad
    /// line, returning its 1-based number and the error (`ipset v7.x: Error in line N: ...`).
    pub fn ipset_restore(&mut self, text: &str) -> Result<(), (usize, ipset::IpSetError)> {
        for (n, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') || l == "COMMIT" {
                continue;
            }
            let args: Vec<&str> = l.split_whitespace().collect();
            self.ipset(&args).map_err(|e| (n + 1, e))?;
        }
        Ok(())
    }

    /// True if the table's hooks are registered (as `run_hook` decides too): always for raw, mangle, nat and filter (the
    /// model's nodes have their modules loaded), for security once a restore or a command
    /// touched it (`iptable_security` is loaded on first use), so that a node without one
    /// traces as before.
    fn registered(&self, t: TableName) -> bool {
        t != TableName::Security || self.is_loaded(t)
    }

    /// `iptables-save [-c]` of every loaded table, in the order this namespace's backend
    /// prints them: iptables-nft in [`SAVE_ORDER`] (mangle, security, raw, filter, nat),
    /// iptables-legacy the table registered last first (measured with v1.8.9: nat, filter,
    /// mangle, raw, security loaded in that order save as security, raw, mangle, filter, nat).
    pub fn save(&self, opts: &SaveOptions) -> String {
        match self.backend {
            spec::Backend::Nft => SAVE_ORDER
                .iter()
                .filter(|t| self.is_loaded(**t))
                .map(|t| save::save_table(self.table(*t), opts))
                .collect(),
            spec::Backend::Legacy => {
                self.loaded.iter().rev().map(|t| save::save_table(self.table(*t), opts)).collect()
            }
        }
    }

    /// `iptables -t table -L [chain]` with the given flags (`-n` is implied).
    pub fn list(&self, t: TableName, chain: Option<&str>, flags: ListFlags) -> Result<String, TableError> {
        list::list(self.table(t), chain, flags)
    }

    /// `iptables -t table -S [chain]`.
    pub fn list_rules(&self, t: TableName, chain: Option<&str>) -> Result<String, TableError> {
        if let Some(c) = chain
            && self.table(t).chain(c).is_none()
        {
            return Err(TableError::NoChain(c.to_string()));
        }
        Ok(save::list_rules(self.table(t), chain, false))
    }

    /// What opening table `t` (`iptables-save -t t`) does to the namespace: iptables-legacy
    /// registers it, so a later `iptables-save` prints it; iptables-nft creates nothing
    /// (measured with v1.8.9).
    pub fn open_table(&mut self, t: TableName) {
        if self.backend == spec::Backend::Legacy {
            self.touch(t);
        }
    }

    /// `iptables-save -t table` (see [`Netfilter::open_table`] for what it registers).
    pub fn save_table(&self, t: TableName, opts: &SaveOptions) -> String {
        save::save_table(self.table(t), opts)
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
        if !self.nft.hook_chains(hook).is_empty() {
            return self.run_hook_with_nft(hook, pkt, ctx, decider, trace);
        }
        let mut trace = trace;
        let mut env = eval::Env {
            recent: &mut self.recent,
            ipsets: &mut self.ipsets,
            nfacct: &mut self.nfacct,
            ext: &mut self.ext,
            notrack: false,
            decided_by: None,
            ct_mark: None,
        };
        let mut nat = None;
        // The packet as the tables after nat see it: at LOCAL_OUT the kernel's nat hook
        // rewrites the destination and `ip_route_me_harder` re-routes before filter (0) runs,
        // so filter sees the DNATed destination (a node's own connection to a firewalled LB
        // IP is not dropped by KUBE-PROXY-FIREWALL). Built only when a DNAT happened.
        let mut view: Option<Packet> = None;
        for t in hook_tables(hook) {
            let registered = *t != TableName::Security || self.loaded.contains(t);
            if (*t == TableName::Nat && !ctx.ct_new) || !registered {
                continue;
            }
            let p: &mut Packet = match view.as_mut() {
                Some(v) => v,
                None => &mut *pkt,
            };
            let table = Rc::make_mut(&mut self.tables[tidx(*t)]);
            match eval::run_table(table, hook, p, ctx, decider, &mut env, &mut trace) {
                eval::TableVerdict::Accept => {}
                eval::TableVerdict::Nat(n) => {
                    nat = Some(n);
                    if let NatRequest::Dnat { addr, port } = n {
                        view = Some(dnat_view(p, addr, port));
                    }
                }
                eval::TableVerdict::Drop => {
                    return HookResult {
                        verdict: HookVerdict::Drop,
                        nat: None,
                        notrack: env.notrack,
                        decided_by: env.decided_by,
                        ct_mark: env.ct_mark,
                    };
                }
                eval::TableVerdict::Reject(w) => {
                    return HookResult {
                        verdict: HookVerdict::Reject(w),
                        nat: None,
                        notrack: env.notrack,
                        decided_by: env.decided_by,
                        ct_mark: env.ct_mark,
                    };
                }
            }
        }
        if let Some(v) = view {
            pkt.mark = v.mark;
        }
        HookResult {
            verdict: HookVerdict::Accept,
            nat,
            notrack: env.notrack,
            decided_by: None,
            ct_mark: env.ct_mark,
        }
    }

    /// The entries registered at `hook` in priority order: the iptables tables at their fixed
    /// priorities and the nftables base chains (ties: iptables first, registered at boot).
    pub fn hook_entries(&mut self, hook: Hook) -> smallvec::SmallVec<[HookEntry; 12]> {
        // Built per packet: a few entries, kept off the heap.
        let mut v: smallvec::SmallVec<[(i32, u8, HookEntry); 12]> = hook_tables(hook)
            .iter()
            .filter(|t| self.registered(**t))
            .map(|t| (xt_priority(*t, hook), 0, HookEntry::Xtables(*t)))
            .collect();
        for c in self.nft.hook_chains(hook) {
            v.push((c.priority, 1, HookEntry::Nft { table: c.table, chain: c.chain, nat: c.nat }));
        }
        v.sort_by_key(|e| (e.0, e.1));
        v.into_iter().map(|e| e.2).collect()
    }

    /// `run_hook` when nftables base chains are registered at the hook: every entry in
    /// priority order, sharing marks, conntrack and NAT (the first binding wins; later
    /// entries see the DNATed destination).
    fn run_hook_with_nft(
        &mut self,
        hook: Hook,
        pkt: &mut Packet,
        ctx: &HookContext<'_>,
        decider: &mut dyn Decider,
        trace: Option<&mut Vec<NfStep>>,
    ) -> HookResult {
        use crate::nftables::eval as nft_eval;
        let entries = self.hook_entries(hook);
        let mut trace = trace;
        let mut env = eval::Env {
            recent: &mut self.recent,
            ipsets: &mut self.ipsets,
            nfacct: &mut self.nfacct,
            ext: &mut self.ext,
            notrack: false,
            decided_by: None,
            ct_mark: None,
        };
        let mut nenv = nft_eval::NftEnv { orig: Some((pkt.src, pkt.dst)), ..Default::default() };
        let mut nat: Option<NatRequest> = None;
        let mut view: Option<Packet> = None;
        let done = |verdict, decided_by, env: &eval::Env<'_>, nenv: &nft_eval::NftEnv| HookResult {
            verdict,
            nat: None,
            notrack: env.notrack || nenv.notrack,
            decided_by,
            ct_mark: nenv.ct_mark.or(env.ct_mark),
        };
        for e in entries {
            let p: &mut Packet = match view.as_mut() {
                Some(v) => v,
                None => &mut *pkt,
            };
            let out = match e {
                HookEntry::Xtables(t) => {
                    if t == TableName::Nat && (!ctx.ct_new || nat.is_some()) {
                        continue;
                    }
                    let table = Rc::make_mut(&mut self.tables[tidx(t)]);
                    match eval::run_table(table, hook, p, ctx, decider, &mut env, &mut trace) {
                        eval::TableVerdict::Accept => nft_eval::ChainVerdict::Accept,
                        eval::TableVerdict::Nat(n) => nft_eval::ChainVerdict::Nat(n),
                        eval::TableVerdict::Drop => {
                            return done(HookVerdict::Drop, env.decided_by.clone(), &env, &nenv);
                        }
                        eval::TableVerdict::Reject(w) => {
                            return done(HookVerdict::Reject(w), env.decided_by.clone(), &env, &nenv);
                        }
                    }
                }
                HookEntry::Nft { table, chain, nat: is_nat } => {
                    if is_nat && (!ctx.ct_new || nat.is_some()) {
                        continue;
                    }
                    let rs = self.nft.ruleset_for_eval();
                    nft_eval::run_base_chain(rs, table, chain, p, ctx, decider, &mut nenv, &mut trace)
                }
            };
            match out {
                nft_eval::ChainVerdict::Accept => {}
                nft_eval::ChainVerdict::Nat(n) => {
                    nat = Some(n);
                    if let NatRequest::Dnat { addr, port } = n {
                        // Later entries at this hook see the translated destination, as the
                        // kernel's nat hook rewrites the packet before them.
                        view = Some(dnat_view(p, addr, port));
                        nenv.dnat_done = true;
                    }
                }
                nft_eval::ChainVerdict::Drop => {
                    let d = nenv.decided_by.clone().map(Decision::Nft);
                    return done(HookVerdict::Drop, d, &env, &nenv);
                }
                nft_eval::ChainVerdict::Reject(w) => {
                    let d = nenv.decided_by.clone().map(Decision::Nft);
                    return done(HookVerdict::Reject(w), d, &env, &nenv);
                }
            }
        }
        if let Some(v) = view {
            pkt.mark = v.mark;
        }
        HookResult {
            verdict: HookVerdict::Accept,
            nat,
            notrack: env.notrack || nenv.notrack,
            decided_by: None,
            ct_mark: nenv.ct_mark.or(env.ct_mark),
        }
    }
}

/// The packet as the entries after a DNAT at the same hook see it: the new destination
/// address and port (the stack applies the binding to the real packet).
fn dnat_view(p: &Packet, addr: Ipv4Addr, port: Option<u16>) -> Packet {
    let mut v = p.clone();
    v.dst = addr;
    if let (Some(dp), Some((sp, _))) = (port, v.transport.ports()) {
        v.transport.set_ports(sp, dp);
    }
    v
}

/// One thing registered at a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookEntry {
    /// An iptables table.
    Xtables(TableName),
    /// An nftables base chain: indices of the table in the ruleset and the chain in the table.
    Nft {
        /// The table's index.
        table: usize,
        /// The chain's index.
        chain: usize,
        /// True for a nat chain.
        nat: bool,
    },
}

/// The fixed priority of an iptables table at a hook (`NF_IP_PRI_*`): raw -300, mangle -150,
/// nat -100 (destination: prerouting, output) or 100 (source: input, postrouting), filter 0,
/// security 50.
pub const fn xt_priority(t: TableName, hook: Hook) -> i32 {
    match t {
        TableName::Raw => -300,
        TableName::Mangle => -150,
        TableName::Nat => match hook {
            Hook::Prerouting | Hook::Output => -100,
            _ => 100,
        },
        TableName::Filter => 0,
        TableName::Security => 50,
    }
}
