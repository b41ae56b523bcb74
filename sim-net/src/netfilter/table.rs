//! One iptables table: its built-in chains (with policies and policy counters) and user
//! chains, each an ordered list of rules, plus the edits `iptables` makes to them.
//!
//! Follows libiptc's model (`libiptc/libiptc.c`): built-in chains come first in hook order,
//! user chains are kept sorted by name (which is why `iptables-save` prints them
//! alphabetically), a user chain can be deleted only when empty and unreferenced, and a jump
//! must name an existing chain. The kernel's loop check (`mark_source_chains` in
//! `net/ipv4/netfilter/ip_tables.c`, failing with ELOOP "Too many levels of links") is
//! [`Table::check_loops`]. Jumps are resolved to chain ids (mapped to positions) so that
//! traversal does not look names up, and chains are shared copy-on-write between a table and
//! the copy `iptables-restore --noflush` edits.
//!
//! Left out: per-hook target validity checks beyond the table (e.g. DNAT in POSTROUTING).

use std::collections::BTreeMap;
use std::rc::Rc;

use indexmap::IndexMap;

use super::chain_key::{ChainKey, Name};
use super::rule::{Counters, Rule, Target};
use super::spec::Policy;
use super::{Hook, TableName};

/// A chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// The chain name.
    pub name: String,
    /// The hook of a built-in chain; `None` for a user chain.
    pub hook: Option<Hook>,
    /// The policy (built-in chains only; user chains print `-`).
    pub policy: Policy,
    /// Policy counters (packets that fell off the end of a built-in chain).
    pub counters: Counters,
    /// The rules, in order.
    pub rules: Vec<Rule>,
    /// Lookup of candidate rules by destination address (see [`DstIndex`]).
    pub(crate) index: DstIndex,
    /// What the load-time checks need of the rules (see [`Links`]).
    pub(crate) links: Links,
}

/// What the kernel's load-time checks ([`Table::check_loops`], [`Table::check_hooks`]) need
/// of a chain's rules: its jumps in rule order and the hooks all its rules allow. Kept up to
/// date as rules are appended, rebuilt (when stale) after other edits, so a `COMMIT` walks the
/// jump graph rather than every rule of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Links {
    valid: bool,
    /// (rule index, chain id) of each jump or goto.
    jumps: Vec<(u32, u32)>,
    /// The hooks (bits) every rule of the chain may be used from.
    allowed: u8,
}

/// Every hook's bit.
const ALL_HOOKS: u8 = 31;

impl Default for Links {
    fn default() -> Self {
        Links { valid: true, jumps: Vec::new(), allowed: ALL_HOOKS }
    }
}

impl Links {
    fn add(&mut self, i: usize, r: &Rule) {
        if let Some(c) = r.target.chain() {
            self.jumps.push((i as u32, c.idx as u32));
        }
        if let Some((_, _, a)) = hook_limit_parts(r) {
            self.allowed &= a;
        }
    }

    fn of(rules: &[Rule]) -> Links {
        let mut l = Links::default();
        for (i, r) in rules.iter().enumerate() {
            l.add(i, r);
        }
        l
    }
}

/// A per-chain lookup that lets traversal skip rules that cannot match a packet's destination,
/// keeping exact linear semantics. Rules with a non-inverted `-d a.b.c.d/32` are filed under
/// that address; every other rule is in `other`. For a packet to `dst`, the rules that can
/// match are exactly `by_dst[dst]` ∪ `other`, visited in rule order: a skipped rule would have
/// failed its `-d` test before any extension match ran, so no counter, `-m recent` update or
/// random draw is lost. This turns kube-proxy's KUBE-SERVICES (one `-d clusterIP/32` rule per
/// service port) from a linear scan into a lookup, as in the brief's 10,000-service target.
/// Built lazily on first traversal after an edit; the destination lookup only for chains of
/// at least [`DstIndex::MIN_RULES`] rules.
///
/// Alongside, every rule gets a compact [`Prefilter`] (its address, protocol and leading
/// port tests as integers, in one contiguous array) so that a linear scan touches a few
/// cache lines per dozen rules instead of each rule's heap data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DstIndex {
    valid: bool,
    use_dst: bool,
    by_dst: BTreeMap<u32, Vec<u32>>,
    other: Vec<u32>,
    /// For each rule, the next rule of the same class (same `-d` bucket, or `other`).
    next_in_class: Vec<u32>,
    pub(crate) fast: Vec<Prefilter>,
}

/// The side-effect-free tests of a rule, flattened: source and destination as
/// (network, mask, invert), the protocol number (0 = any), and the ports of the rule's first
/// tcp/udp match when no match with side effects (statistic, recent) comes before it. A rule
/// failing its prefilter cannot match; one passing it is then evaluated in full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prefilter {
    src_net: u32,
    src_mask: u32,
    src_inv: bool,
    dst_net: u32,
    dst_mask: u32,
    dst_inv: bool,
    proto: u8,
    proto_inv: bool,
    /// Non-zero: the protocol a port test needs (6 or 17).
    l4: u8,
    sport: (u16, u16, bool),
    dport: (u16, u16, bool),
}

impl Prefilter {
    fn of(r: &Rule) -> Prefilter {
        let addr = |a: &Option<super::rule::AddrMatch>| match a {
            Some(m) => (u32::from(m.addr()), u32::from(m.mask()), m.invert),
            None => (0, 0, false),
        };
        let (src_net, src_mask, src_inv) = addr(&r.src);
        let (dst_net, dst_mask, dst_inv) = addr(&r.dst);
        let (proto, proto_inv) = r.proto.map_or((0, false), |p| (p.proto.number(), p.invert));
        let mut f = Prefilter {
            src_net,
            src_mask,
            src_inv,
            dst_net,
            dst_mask,
            dst_inv,
            proto,
            proto_inv,
            l4: 0,
            sport: (0, 65535, false),
            dport: (0, 65535, false),
        };
        for m in &r.matches {
            match m {
                super::rule::Match::Tcp(p) | super::rule::Match::Udp(p) => {
                    f.l4 = if matches!(m, super::rule::Match::Tcp(_)) { 6 } else { 17 };
                    if let Some(s) = p.sport {
                        f.sport = (s.range.lo, s.range.hi, s.invert);
                    }
                    if let Some(d) = p.dport {
                        f.dport = (d.range.lo, d.range.hi, d.invert);
                    }
                    break;
                }
                // Matches with side effects (a counter, a list, an nfacct object) must run
                // whenever the kernel would reach them, so nothing after them may prefilter.
                super::rule::Match::Statistic(_)
                | super::rule::Match::Recent(_)
                | super::rule::Match::Nfacct(_) => break,
                super::rule::Match::Ext(e) if e.has_side_effects() => break,
                _ => {}
            }
        }
        f
    }

    /// True unless the rule certainly cannot match a packet with these fields.
    #[inline(always)]
    pub fn pass(&self, src: u32, dst: u32, proto: u8, ports: (u16, u16)) -> bool {
        if ((dst & self.dst_mask) == self.dst_net) == self.dst_inv {
            return false;
        }
        if ((src & self.src_mask) == self.src_net) == self.src_inv {
            return false;
        }
        if self.proto != 0 && (proto == self.proto) == self.proto_inv {
            return false;
        }
        if self.l4 != 0 {
            if proto != self.l4 {
                return false;
            }
            let (lo, hi, inv) = self.dport;
            if (lo <= ports.1 && ports.1 <= hi) == inv {
                return false;
            }
            let (lo, hi, inv) = self.sport;
            if (lo <= ports.0 && ports.0 <= hi) == inv {
                return false;
            }
        }
        true
    }
}

impl DstIndex {
    /// Chains shorter than this are scanned linearly.
    pub const MIN_RULES: usize = 32;

    /// True if the index is current.
    pub fn is_valid(&self) -> bool {
        self.valid
    }

    /// True if destination lookup is in use (a long chain).
    pub fn uses_dst(&self) -> bool {
        self.use_dst
    }

    fn invalidate(&mut self) {
        self.valid = false;
        self.use_dst = false;
        self.by_dst.clear();
        self.other.clear();
        self.next_in_class.clear();
        self.fast.clear();
    }

    /// Rebuilds the prefilters and, for long chains, the destination lookup.
    pub fn rebuild(&mut self, rules: &[Rule]) {
        let all: Vec<&Rule> = rules.iter().collect();
        self.rebuild_refs(&all);
    }

    fn rebuild_refs(&mut self, rules: &[&Rule]) {
        self.invalidate();
        self.fast = rules.iter().map(|r| Prefilter::of(r)).collect();
        self.valid = true;
        if rules.len() < Self::MIN_RULES || rules.len() > u32::MAX as usize {
            return;
        }
        self.use_dst = true;
        for (i, r) in rules.iter().enumerate() {
            match &r.dst {
                Some(d) if !d.invert && d.prefix_len() == Some(32) => {
                    self.by_dst.entry(u32::from(d.addr())).or_default().push(i as u32);
                }
                _ => self.other.push(i as u32),
            }
        }
        self.next_in_class = vec![u32::MAX; rules.len()];
        for class in self.by_dst.values().chain(std::iter::once(&self.other)) {
            for w in class.windows(2) {
                self.next_in_class[w[0] as usize] = w[1];
            }
        }
    }

    /// Keeps the index current as `r` is appended at position `i` (the chain's length before
    /// the append): a long chain's index is extended in place, so that a chain loaded by
    /// `iptables-restore` (kube-proxy's KUBE-SERVICES: one rule per service port) is ready for
    /// the first packet; the index of a short chain is left to be built lazily (on first
    /// traversal), as is one made stale by another edit.
    fn appended(&mut self, r: &Rule, i: usize, rules: &[Rule]) {
        let len = i + 1;
        if len < Self::MIN_RULES {
            self.invalidate();
        } else if len == Self::MIN_RULES || (self.valid && !self.use_dst) {
            // Just long enough (or indexed while short): build it once.
            self.rebuild_with(rules, r);
        } else if self.valid {
            self.fast.push(Prefilter::of(r));
            let class = match &r.dst {
                Some(d) if !d.invert && d.prefix_len() == Some(32) => {
                    self.by_dst.entry(u32::from(d.addr())).or_default()
                }
                _ => &mut self.other,
            };
            if let Some(&prev) = class.last() {
                self.next_in_class[prev as usize] = i as u32;
            }
            class.push(i as u32);
            self.next_in_class.push(u32::MAX);
        }
    }

    /// [`Self::rebuild`] over `rules` followed by `last` (the rule being appended).
    fn rebuild_with(&mut self, rules: &[Rule], last: &Rule) {
        let mut all: Vec<&Rule> = Vec::with_capacity(rules.len() + 1);
        all.extend(rules);
        all.push(last);
        self.rebuild_refs(&all);
    }

    /// Cursors for a packet to `dst` resuming at rule `pos`: the first candidate ≥ `pos` in
    /// the `dst` bucket and in `other` (`usize::MAX` when none). Advance with [`Self::advance`].
    #[inline]
    pub fn cursors(&self, dst: u32, pos: usize) -> (usize, usize) {
        let first = |v: &[u32]| {
            let k = v.partition_point(|&i| (i as usize) < pos);
            v.get(k).map_or(usize::MAX, |&i| i as usize)
        };
        (self.by_dst.get(&dst).map_or(usize::MAX, |v| first(v)), first(&self.other))
    }

    /// The next candidate after `c` in `c`'s class.
    #[inline]
    pub fn advance(&self, c: usize) -> usize {
        match self.next_in_class.get(c) {
            Some(&n) if n != u32::MAX => n as usize,
            _ => usize::MAX,
        }
    }
}

/// Why a table edit was refused; messages are iptables' own.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// The chain does not exist.
    #[error("No chain/target/match by that name.")]
    NoChain(String),
    /// A jump names a chain that does not exist.
    #[error("Couldn't load target `{0}':No such file or directory")]
    NoTarget(String),
    /// `-N` of an existing chain.
    #[error("Chain already exists.")]
    Exists(String),
    /// `-X` of a chain that still has rules or references.
    #[error("Directory not empty.")]
    NotEmpty(String),
    /// `-X` of a referenced chain.
    #[error("Too many links.")]
    Referenced(String),
    /// A rule number out of range.
    #[error("Index of insertion too big.")]
    BadIndex,
    /// `-D` by number or spec that matches nothing.
    #[error("Bad rule (does a matching rule exist in that chain?).")]
    NoSuchRule,
    /// An operation on a built-in chain that only user chains allow, or vice versa.
    #[error("Invalid argument. Run `dmesg' for more information. ({0})")]
    Invalid(String),
    /// `-i` in a chain with no input interface, `-o` in one with no output interface
    /// (refused by iptables itself as the rule is parsed, on both backends).
    #[error("{0}")]
    IfaceInChain(String),
    /// DROP in the nat table (refused by iptables itself).
    #[error("The \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.")]
    NatDrop,
    /// A jump loop (the kernel's ELOOP).
    #[error("Too many levels of links. (loop: {0})")]
    Loop(String),
}

/// One table.
///
/// Chains are shared copy-on-write ([`Rc`]): `iptables-restore --noflush` edits a copy of the
/// table and swaps it in at `COMMIT`, and the copy shares every chain the block leaves alone.
/// A jump names its chain by a stable id ([`ChainRef::idx`](super::rule::ChainRef)), mapped to
/// the chain's position here, so that adding, sorting or deleting chains touches no rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Which table.
    pub name: TableName,
    /// By name, held in the key ([`ChainKey`]), so a lookup reads no other memory than the
    /// map's entry; the copy `--noflush` edits copies names without allocating.
    chains: IndexMap<ChainKey, Slot, sim_core::hash::FxBuildHasher>,
    /// The position of each chain id in `chains` (`u32::MAX`: deleted).
    pos: Vec<u32>,
    /// Chains were removed or renamed (moving others) since `pos` was last brought up to date.
    moved: bool,
    /// User chains were appended out of name order since the last sort.
    unsorted: bool,
    /// How many chains were appended since the last sort (which sort suits: see
    /// [`Self::ensure_resolved`]).
    appended: usize,
    /// The jumps and gotos into each chain id (libiptc's `references`), so that `-X` need
    /// not read every chain. Kept up to date by appends; any other edit of rules marks it
    /// stale, and it is counted again (one pass) when `-X` or a `COMMIT` next needs it.
    refs: Vec<u32>,
    /// `refs` is current.
    refs_valid: bool,
}

/// A chain, its id and its rank in [`chain_order`].
#[derive(Clone, Debug, PartialEq, Eq)]
struct Slot {
    id: u32,
    /// A built-in chain's hook bit, [`USER_RANK`] for a user chain: chains sort by rank, then
    /// by their key (the name), so the sort reads the map's entries only, no chain.
    rank: u8,
    chain: Rc<Chain>,
}

/// The rank of every user chain: after the built-ins' hook bits.
const USER_RANK: u8 = 32;

/// A chain's [`Slot::rank`].
fn slot_rank(c: &Chain) -> u8 {
    c.hook.map_or(USER_RANK, hook_bit)
}

/// Counts a chain's jumps in the reference counts.
fn link(refs: &mut [u32], links: &Links) {
    for &(_, to) in &links.jumps {
        if let Some(r) = refs.get_mut(to as usize) {
            *r += 1;
        }
    }
}

/// A chain with no rules, otherwise like `c` (a flushed chain).
fn emptied(c: &Chain) -> Chain {
    Chain {
        name: c.name.clone(),
        hook: c.hook,
        policy: c.policy,
        counters: c.counters,
        rules: Vec::new(),
        index: DstIndex::default(),
        links: Links::default(),
    }
}

/// Sort key of a chain: built-ins first in hook order, then user chains by name.
fn chain_order(c: &Chain) -> (u8, u8, &str) {
    match c.hook {
        Some(h) => (0, hook_bit(h), ""),
        None => (1, 0, c.name.as_str()),
    }
}

pub(super) fn hook_bit(h: Hook) -> u8 {
    match h {
        Hook::Prerouting => 1,
        Hook::Input => 2,
        Hook::Forward => 4,
        Hook::Output => 8,
        Hook::Postrouting => 16,
    }
}

/// The hooks (as a bit set) a rule's target or match may be used from, if the kernel limits
/// them (the `.hooks` of the xt_target/xt_match), with what limits them.
pub(super) fn hook_limits(r: &Rule) -> Option<(String, u8)> {
    hook_limit_parts(r).map(|(name, kind, allowed)| (format!("{name} {kind}"), allowed))
}

/// [`hook_limits`] without building the message: the extension's name, `target` or
/// `match`, and the allowed hooks.
fn hook_limit_parts(r: &Rule) -> Option<(&str, &'static str, u8)> {
    let allowed = match r.target {
        Target::Dnat { .. } => Some(hook_bit(Hook::Prerouting) | hook_bit(Hook::Output)),
        Target::Snat { .. } => Some(hook_bit(Hook::Input) | hook_bit(Hook::Postrouting)),
        Target::Masquerade(_) => Some(hook_bit(Hook::Postrouting)),
        Target::Reject(_) => Some(hook_bit(Hook::Input) | hook_bit(Hook::Forward) | hook_bit(Hook::Output)),
        _ => None,
    };
    if let Some(a) = allowed {
        return Some((r.target.column_name(), "target", a));
    }
    // xt_rpfilter: PREROUTING only (of raw and mangle).
    if r.matches.iter().any(|m| matches!(m, super::rule::Match::Ext(e) if e.name() == "rpfilter")) {
        return Some(("rpfilter", "match", hook_bit(Hook::Prerouting)));
    }
    // xt_owner: only where the packet has a local socket.
    if r.matches.iter().any(|m| matches!(m, super::rule::Match::Ext(e) if e.name() == "owner")) {
        return Some(("owner", "match", hook_bit(Hook::Output) | hook_bit(Hook::Postrouting)));
    }
    None
}

/// Why the kernel refuses `rule` in the built-in chain of `hook` (the hook check the kernel
/// makes as the rule is loaded), if it does.
pub fn hook_problem(rule: &Rule, chain: &str, hook: Hook) -> Option<String> {
    let (what, allowed) = hook_limits(rule)?;
    (hook_bit(hook) & !allowed != 0)
        .then(|| format!("{what} in chain {chain} used from a hook it does not support"))
}

/// The built-in chains of a table in kernel order.
pub fn builtin_hooks(t: TableName) -> &'static [Hook] {
    match t {
        TableName::Raw => &[Hook::Prerouting, Hook::Output],
        TableName::Mangle => &[Hook::Prerouting, Hook::Input, Hook::Forward, Hook::Output, Hook::Postrouting],
        TableName::Nat => &[Hook::Prerouting, Hook::Input, Hook::Output, Hook::Postrouting],
        TableName::Filter | TableName::Security => &[Hook::Input, Hook::Forward, Hook::Output],
    }
}

impl Table {
    /// A table with its built-in chains, policy ACCEPT, no rules.
    pub fn new(name: TableName) -> Table {
        let mut t = Table {
            name,
            chains: IndexMap::default(),
            pos: Vec::new(),
            moved: false,
            unsorted: false,
            appended: 0,
            refs: Vec::new(),
            refs_valid: true,
        };
        for h in builtin_hooks(name) {
            let n = h.chain_name().to_string();
            t.add(Chain {
                name: n,
                hook: Some(*h),
                policy: Policy::Accept,
                counters: Counters::default(),
                rules: Vec::new(),
                index: DstIndex::default(),
                links: Links::default(),
            });
        }
        t
    }

    /// Appends a chain under a new id.
    fn add(&mut self, c: Chain) {
        let id = self.pos.len() as u32;
        self.pos.push(self.chains.len() as u32);
        self.refs.push(0);
        self.chains.insert(ChainKey::new(&c.name), Slot { id, rank: slot_rank(&c), chain: Rc::new(c) });
    }

    /// The position of the chain with id `id` (`usize::MAX` if it was deleted).
    #[inline]
    pub fn pos_of_id(&self, id: usize) -> usize {
        match self.pos.get(id) {
            Some(&p) if p != u32::MAX => p as usize,
            _ => usize::MAX,
        }
    }

    /// All chains: built-ins in kernel order, then user chains sorted by name.
    pub fn chains(&self) -> impl Iterator<Item = &Chain> {
        let mut v: Vec<&Chain> = self.chains.values().map(|s| &*s.chain).collect();
        if self.unsorted {
            v.sort_by(|a, b| chain_order(a).cmp(&chain_order(b)));
        }
        v.into_iter()
    }

    /// A chain by name.
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.get(&Name(name)).map(|s| &*s.chain)
    }

    /// A chain by index.
    pub fn chain_at(&self, idx: usize) -> Option<&Chain> {
        self.chains.get_index(idx).map(|(_, s)| &*s.chain)
    }

    /// A chain by index, mutable (copied first if another table shares it).
    pub(crate) fn chain_at_mut(&mut self, idx: usize) -> Option<&mut Chain> {
        self.chains.get_index_mut(idx).map(|(_, s)| Rc::make_mut(&mut s.chain))
    }

    /// The index of a chain.
    pub fn chain_index(&self, name: &str) -> Option<usize> {
        self.chains.get_index_of(&Name(name))
    }

    /// The index of the built-in chain of `hook`, if this table has one.
    pub fn hook_index(&self, hook: Hook) -> Option<usize> {
        // The built-in chains are the first ones (created with the table, never deleted, sorted
        // before every user chain): a scan of at most five beats hashing the name per packet.
        self.chains.values().take_while(|s| s.chain.hook.is_some()).position(|s| s.chain.hook == Some(hook))
    }

    /// A chain for editing: its destination index, its links and the reference counts
    /// become stale.
    fn chain_mut(&mut self, name: &str) -> Result<&mut Chain, TableError> {
        let s = self.chains.get_mut(&Name(name)).ok_or_else(|| TableError::NoChain(name.to_string()))?;
        let c = Rc::make_mut(&mut s.chain);
        c.index.invalidate();
        c.links.valid = false;
        self.refs_valid = false;
        Ok(c)
    }

    /// A chain for changing its policy or counters only: rules, index and links stay.
    fn chain_mut_keeping_rules(&mut self, name: &str) -> Result<&mut Chain, TableError> {
        let s = self.chains.get_mut(&Name(name)).ok_or_else(|| TableError::NoChain(name.to_string()))?;
        Ok(Rc::make_mut(&mut s.chain))
    }

    /// Brings every chain's [`Links`] and the reference counts up to date.
    fn ensure_refs(&mut self) {
        if self.refs_valid {
            return;
        }
        self.refs.iter_mut().for_each(|r| *r = 0);
        for s in self.chains.values_mut() {
            if !s.chain.links.valid {
                let c = Rc::make_mut(&mut s.chain);
                c.links = Links::of(&c.rules);
            }
            link(&mut self.refs, &s.chain.links);
        }
        self.refs_valid = true;
    }

    /// Number of rules in other chains that jump or go to `name` (`-L`'s "references").
    pub fn references(&self, name: &str) -> usize {
        let by_name =
            |c: &Chain| c.rules.iter().filter(|r| r.target.chain().is_some_and(|t| t.name == name)).count();
        let Some(id) = self.chains.get(&Name(name)).map(|s| s.id) else {
            return self.chains.values().map(|s| by_name(&s.chain)).sum();
        };
        if self.refs_valid {
            return self.refs.get(id as usize).map_or(0, |&r| r as usize);
        }
        // A jump to the chain holds its id: the summaries answer without reading rules.
        self.chains
            .values()
            .map(|s| match s.chain.links.valid {
                true => s.chain.links.jumps.iter().filter(|j| j.1 == id).count(),
                false => by_name(&s.chain),
            })
            .sum()
    }

    /// `-N`: creates a user chain (kept sorted among the user chains).
    pub fn new_chain(&mut self, name: &str) -> Result<(), TableError> {
        if self.chains.contains_key(&Name(name)) {
            return Err(TableError::Exists(name.to_string()));
        }
        self.new_chain_unchecked(name);
        Ok(())
    }

    /// [`Self::new_chain`] of a name the caller knows is free.
    pub(crate) fn new_chain_unchecked(&mut self, name: &str) {
        // Appended now, sorted lazily (see `ensure_resolved`): declaring n chains stays
        // O(n log n) instead of O(n²) shifting.
        self.add(Chain {
            name: name.to_string(),
            hook: None,
            policy: Policy::Accept,
            counters: Counters::default(),
            rules: Vec::new(),
            index: DstIndex::default(),
            links: Links::default(),
        });
        self.unsorted = true;
        self.appended += 1;
    }

    /// `-E old new`: renames a user chain; jumps to it follow the new name.
    pub fn rename_chain(&mut self, old: &str, new: &str) -> Result<(), TableError> {
        let c = self.chain(old).ok_or_else(|| TableError::NoChain(old.to_string()))?;
        if c.hook.is_some() {
            return Err(TableError::Invalid(format!("cannot rename built-in chain {old}")));
        }
        if self.chains.contains_key(&Name(new)) {
            return Err(TableError::Exists(new.to_string()));
        }
        let Some(mut slot) = self.chains.shift_remove(&Name(old)) else {
            return Err(TableError::NoChain(old.to_string()));
        };
        Rc::make_mut(&mut slot.chain).name = new.to_string();
        slot.rank = slot_rank(&slot.chain);
        self.chains.insert(ChainKey::new(new), slot);
        let refers = |r: &Rule| r.target.chain().is_some_and(|cr| cr.name == old);
        for s in self.chains.values_mut() {
            // Only the chains that jump to it are copied.
            if !s.chain.rules.iter().any(refers) {
                continue;
            }
            for r in &mut Rc::make_mut(&mut s.chain).rules {
                if let Target::Jump(cr) | Target::Goto(cr) = &mut r.target
                    && cr.name == old
                {
                    cr.name = new.to_string();
                }
            }
        }
        self.unsorted = true;
        self.moved = true;
        Ok(())
    }

    /// `-X chain`: deletes an empty, unreferenced user chain.
    pub fn delete_chain(&mut self, name: &str) -> Result<(), TableError> {
        let c = self.chain(name).ok_or_else(|| TableError::NoChain(name.to_string()))?;
        if c.hook.is_some() {
            return Err(TableError::Invalid(format!("cannot delete built-in chain {name}")));
        }
        let empty = c.rules.is_empty();
        self.ensure_refs();
        if self.references(name) > 0 {
            return Err(TableError::Referenced(name.to_string()));
        }
        if !empty {
            return Err(TableError::NotEmpty(name.to_string()));
        }
        // Swapped out (the last chain takes its place) rather than shifted: a shift moves
        // every later chain and re-indexes each in the hash table, once per `-X`. The order
        // is restored by the next sort, which finds the runs still in order.
        if let Some(i) = self.chains.get_index_of(&Name(name)) {
            let last = self.chains.len() - 1;
            if let Some((_, s)) = self.chains.swap_remove_index(i) {
                self.pos[s.id as usize] = u32::MAX;
            }
            if i != last {
                self.unsorted = true;
            }
        }
        self.moved = true;
        Ok(())
    }

    /// `-X` with no chain: deletes every user chain (all must be unreferenced from built-ins
    /// and empty, as iptables requires after `-F`).
    pub fn delete_all_user_chains(&mut self) -> Result<(), TableError> {
        let users: Vec<String> = self.chains().filter(|c| c.hook.is_none()).map(|c| c.name.clone()).collect();
        for c in &users {
            let referenced_by_builtin = self
                .chains
                .values()
                .filter(|s| s.chain.hook.is_some())
                .flat_map(|s| &s.chain.rules)
                .any(|r| r.target.chain().is_some_and(|t| &t.name == c));
            if referenced_by_builtin {
                return Err(TableError::Referenced(c.clone()));
            }
            if self.chain(c).is_some_and(|ch| !ch.rules.is_empty()) {
                return Err(TableError::NotEmpty(c.clone()));
            }
        }
        let pos = &mut self.pos;
        self.chains.retain(|_, s| {
            let keep = s.chain.hook.is_some();
            if !keep {
                pos[s.id as usize] = u32::MAX;
            }
            keep
        });
        self.moved = true;
        Ok(())
    }

    /// `-F [chain]`.
    pub fn flush(&mut self, name: Option<&str>) -> Result<(), TableError> {
        // A chain shared with another table is replaced by an empty one, not copied first.
        self.refs_valid = false;
        let flush = |s: &mut Slot| match Rc::get_mut(&mut s.chain) {
            Some(c) => {
                c.rules.clear();
                c.index.invalidate();
                c.links = Links::default();
            }
            None => s.chain = Rc::new(emptied(&s.chain)),
        };
        match name {
            Some(n) => {
                flush(self.chains.get_mut(&Name(n)).ok_or_else(|| TableError::NoChain(n.to_string()))?)
            }
            None => self.chains.values_mut().for_each(flush),
        }
        Ok(())
    }

    /// `-Z [chain]`: zeroes rule and policy counters.
    pub fn zero(&mut self, name: Option<&str>) -> Result<(), TableError> {
        let zero = |c: &mut Chain| {
            c.counters = Counters::default();
            c.rules.iter_mut().for_each(|r| r.counters = Counters::default());
        };
        match name {
            Some(n) => zero(self.chain_mut_keeping_rules(n)?),
            None => self.chains.values_mut().for_each(|s| zero(Rc::make_mut(&mut s.chain))),
        }
        Ok(())
    }

    /// `-P chain policy` (built-in chains only).
    pub fn set_policy(
        &mut self,
        name: &str,
        p: Policy,
        counters: Option<Counters>,
    ) -> Result<(), TableError> {
        let c = self.chain_mut_keeping_rules(name)?;
        if c.hook.is_none() {
            return Err(TableError::Invalid(format!(
                "chain {name} is not a built-in chain and has no policy"
            )));
        }
        c.policy = p;
        if let Some(k) = counters {
            c.counters = k;
        }
        Ok(())
    }

    /// Resolves a rule's jump to a chain index, checking the target exists and fits the table.
    pub fn resolve(&self, rule: &mut Rule) -> Result<(), TableError> {
        match &mut rule.target {
            Target::Jump(c) | Target::Goto(c) => {
                let s = self
                    .chains
                    .get(&Name(c.name.as_str()))
                    .ok_or_else(|| TableError::NoTarget(c.name.clone()))?;
                c.idx = s.id as usize;
                if s.chain.hook.is_some() {
                    // Jumping to a built-in chain is refused by the kernel.
                    return Err(TableError::Invalid(format!("cannot jump to built-in chain {}", c.name)));
                }
            }
            Target::Dnat { .. } | Target::Snat { .. } | Target::Masquerade(_)
                if self.name != TableName::Nat =>
            {
                return Err(TableError::Invalid(format!(
                    "{} target only valid in nat table",
                    rule.target.column_name()
                )));
            }
            Target::Ext(e) if e.table_only().is_some_and(|t| t != self.name) => {
                return Err(TableError::Invalid(format!(
                    "{} target only valid in {} table",
                    e.name(),
                    e.table_only().map_or("", |t| t.name())
                )));
            }
            // ipt_REJECT's `.table = "filter"` (not mangle, raw or security either).
            Target::Reject(_) if self.name != TableName::Filter => {
                return Err(TableError::Invalid("REJECT target only valid in filter table".to_string()));
            }
            Target::Notrack | Target::CtNotrack if self.name != TableName::Raw => {
                return Err(TableError::Invalid(format!(
                    "{} target only valid in raw table",
                    rule.target.column_name()
                )));
            }
            _ => {}
        }
        Ok(())
    }

    /// `-A chain rule`.
    pub fn append(&mut self, chain: &str, mut rule: Rule) -> Result<(), TableError> {
        self.resolve(&mut rule)?;
        let s = self.chains.get_mut(&Name(chain)).ok_or_else(|| TableError::NoChain(chain.to_string()))?;
        let c = Rc::make_mut(&mut s.chain);
        c.index.appended(&rule, c.rules.len(), &c.rules);
        if c.links.valid {
            c.links.add(c.rules.len(), &rule);
            if self.refs_valid
                && let Some(r) = rule.target.chain().and_then(|t| self.refs.get_mut(t.idx))
            {
                *r += 1;
            }
        }
        // Most chains are short (kube-proxy's endpoint chains have two rules): a chain's first
        // rule gets room for two, not the four `Vec` starts with (a rule is 168 bytes).
        if c.rules.capacity() == 0 {
            c.rules.reserve_exact(2);
        }
        c.rules.push(rule);
        Ok(())
    }

    /// `-I chain n rule` (1-based; `n` may be one past the end).
    pub fn insert(&mut self, chain: &str, n: usize, mut rule: Rule) -> Result<(), TableError> {
        self.resolve(&mut rule)?;
        let c = self.chain_mut(chain)?;
        if n == 0 || n > c.rules.len() + 1 {
            return Err(TableError::BadIndex);
        }
        c.rules.insert(n - 1, rule);
        Ok(())
    }

    /// `-R chain n rule`.
    pub fn replace(&mut self, chain: &str, n: usize, mut rule: Rule) -> Result<(), TableError> {
        self.resolve(&mut rule)?;
        let c = self.chain_mut(chain)?;
        let slot = c.rules.get_mut(n.wrapping_sub(1)).ok_or(TableError::NoSuchRule)?;
        *slot = rule;
        Ok(())
    }

    /// `-D chain n`.
    pub fn delete_num(&mut self, chain: &str, n: usize) -> Result<(), TableError> {
        let c = self.chain_mut(chain)?;
        if n == 0 || n > c.rules.len() {
            return Err(TableError::NoSuchRule);
        }
        c.rules.remove(n - 1);
        Ok(())
    }

    /// `-D chain rule`: deletes the first rule with the same spec.
    pub fn delete_spec(&mut self, chain: &str, mut rule: Rule) -> Result<(), TableError> {
        // An unknown jump target cannot match any existing rule.
        self.resolve(&mut rule).map_err(|_| TableError::NoSuchRule)?;
        let c = self.chain_mut(chain)?;
        let pos = c.rules.iter().position(|r| r.same_spec(&rule)).ok_or(TableError::NoSuchRule)?;
        c.rules.remove(pos);
        Ok(())
    }

    /// Re-resolves every jump to its chain's current index if chains were added or removed
    /// since the last time (done lazily, so that declaring thousands of chains stays linear).
    pub fn ensure_resolved(&mut self) {
        if self.unsorted {
            self.unsorted = false;
            self.moved = true;
            // The map's entries hold the keys: no chain is read, and the hash table is rebuilt
            // once. Names are unique, so either sort gives `chain_order`'s order. A table of
            // chains mostly declared since the last sort (a restore without `--noflush`) sorts
            // keys computed once per chain; a sorted table with a few chains appended or
            // swapped in (`--noflush`) takes the stable sort, which finds the runs in order.
            if self.appended > self.chains.len() / 4 {
                self.chains.sort_by_cached_key(|k, s| (s.rank, k.sort_key()));
            } else {
                self.chains.sort_by(|ka, a, kb, b| a.rank.cmp(&b.rank).then_with(|| ka.cmp(kb)));
            }
            self.appended = 0;
        }
        if !self.moved {
            return;
        }
        // Jumps name chains by id: only the ids' positions change, no rule is touched.
        for (p, s) in self.chains.values().enumerate() {
            self.pos[s.id as usize] = p as u32;
        }
        self.moved = false;
        // Ids of deleted chains are not reused; once they outnumber the live ones (kube-proxy
        // replaces endpoint chains as endpoints change), the ids are renumbered.
        if self.pos.len() > 2 * self.chains.len() + 1024 {
            self.renumber();
        }
    }

    /// Gives every chain its position as id, and every jump the new id of its chain.
    fn renumber(&mut self) {
        let old = std::mem::take(&mut self.pos);
        let old_refs = std::mem::take(&mut self.refs);
        self.refs = vec![0; self.chains.len()];
        let new_id = |id: usize| old.get(id).copied().unwrap_or(u32::MAX);
        for (p, s) in self.chains.values_mut().enumerate() {
            self.refs[p] = old_refs.get(s.id as usize).copied().unwrap_or(0);
            s.id = p as u32;
            let has_jumps = s.chain.rules.iter().any(|r| r.target.chain().is_some());
            if !has_jumps {
                continue;
            }
            let c = Rc::make_mut(&mut s.chain);
            for r in &mut c.rules {
                if let Target::Jump(cr) | Target::Goto(cr) = &mut r.target {
                    cr.idx = match new_id(cr.idx) {
                        u32::MAX => usize::MAX,
                        p => p as usize,
                    };
                }
            }
            for j in &mut c.links.jumps {
                j.1 = new_id(j.1 as usize);
            }
        }
        self.pos = (0..self.chains.len() as u32).collect();
    }

    /// The table's jump graph by chain position, flattened for the load-time checks: one
    /// sequential pass over the chains (after [`Self::ensure_refs`] brought stale [`Links`]
    /// and the reference counts up to date), so that the loop walk and the hook propagation
    /// read three arrays instead of every chain's heap data, several times each.
    fn jump_graph(&mut self) -> JumpGraph {
        self.ensure_resolved();
        self.ensure_refs();
        let n = self.chains.len();
        let mut g = JumpGraph {
            start: Vec::with_capacity(n + 1),
            to: Vec::new(),
            allowed: Vec::with_capacity(n),
            hook: Vec::with_capacity(n),
        };
        let pos = &self.pos;
        for s in self.chains.values() {
            let c = &s.chain;
            debug_assert!(c.links.valid, "ensure_refs brought every chain's links up to date");
            g.start.push(g.to.len() as u32);
            g.to.extend(c.links.jumps.iter().filter_map(|&(_, id)| match pos.get(id as usize) {
                Some(&p) if (p as usize) < n => Some(p),
                _ => None,
            }));
            g.allowed.push(c.links.allowed);
            g.hook.push(c.hook.map_or(0, hook_bit));
        }
        g.start.push(g.to.len() as u32);
        g
    }

    /// The kernel's checks at `COMMIT`, in its order: [`Self::check_loops`], then
    /// [`Self::check_hooks`], over one [`JumpGraph`].
    pub fn check_commit(&mut self) -> Result<(), TableError> {
        let g = self.jump_graph();
        self.find_loop(&g)?;
        self.hooks_refused(&g)
    }

    /// The kernel's per-hook target check (`xt_check_target`): a target may only be reached
    /// from the hooks it supports (DNAT from PREROUTING/OUTPUT, SNAT from INPUT/POSTROUTING,
    /// MASQUERADE from POSTROUTING, REJECT from INPUT/FORWARD/OUTPUT), including through user
    /// chains. Chains no built-in chain reaches are not checked, as in the kernel.
    pub fn check_hooks(&mut self) -> Result<(), TableError> {
        let g = self.jump_graph();
        self.hooks_refused(&g)
    }

    fn hooks_refused(&self, g: &JumpGraph) -> Result<(), TableError> {
        // Hooks (as a bit set) from which each chain is reachable.
        let mut reach = g.hook.clone();
        let mut work: Vec<u32> = (0..reach.len() as u32).filter(|&i| reach[i as usize] != 0).collect();
        while let Some(i) = work.pop() {
            let bits = reach[i as usize];
            for &j in g.targets(i as usize) {
                let r = &mut reach[j as usize];
                if *r | bits != *r {
                    *r |= bits;
                    work.push(j);
                }
            }
        }
        // The chains' summaries say whether some rule is refused; the rules then say which.
        if reach.iter().zip(&g.allowed).all(|(r, a)| r & !a == 0) {
            return Ok(());
        }
        for (i, s) in self.chains.values().enumerate() {
            let c = &s.chain;
            for r in &c.rules {
                let Some((name, kind, allowed)) = hook_limit_parts(r) else {
                    continue;
                };
                if reach[i] & !allowed != 0 {
                    return Err(TableError::Invalid(format!(
                        "{name} {kind} in chain {} used from a hook it does not support",
                        c.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// The kernel's load-time loop check: fails if a chain can reach itself through jumps
    /// and gotos. The error names the cycle.
    pub fn check_loops(&mut self) -> Result<(), TableError> {
        let g = self.jump_graph();
        self.find_loop(&g)
    }

    fn find_loop(&self, g: &JumpGraph) -> Result<(), TableError> {
        // Iterative DFS with colours: 0 unvisited, 1 on stack, 2 done.
        let n = g.hook.len();
        let mut colour = vec![0u8; n];
        // (chain, its next jump's place in `g.to`)
        let mut stack: Vec<(u32, u32)> = Vec::new();
        // The walk starts at the built-in chains only, as the kernel's `mark_source_chains`
        // does: a loop among chains no built-in chain reaches is loaded (both iptables
        // backends accept it, measured).
        for start in 0..n {
            if colour[start] != 0 || g.hook[start] == 0 {
                continue;
            }
            stack.push((start as u32, g.start[start]));
            colour[start] = 1;
            while let Some((node, at)) = stack.last_mut() {
                let end = g.start[*node as usize + 1];
                if *at == end {
                    colour[*node as usize] = 2;
                    stack.pop();
                    continue;
                }
                let j = g.to[*at as usize] as usize;
                *at += 1;
                match colour[j] {
                    0 => {
                        colour[j] = 1;
                        stack.push((j as u32, g.start[j]));
                    }
                    1 => {
                        let from = stack.iter().position(|(x, _)| *x as usize == j).unwrap_or(0);
                        let name = |p: usize| self.chains[p].chain.name.as_str();
                        let mut names: Vec<&str> =
                            stack[from..].iter().map(|(x, _)| name(*x as usize)).collect();
                        names.push(name(j));
                        return Err(TableError::Loop(names.join(" -> ")));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// A table's jumps by chain position in compressed rows (the targets of chain `i` are
/// `to[start[i]..start[i + 1]]`, in rule order), with each chain's allowed hooks and, for a
/// built-in chain, its hook's bit.
struct JumpGraph {
    start: Vec<u32>,
    to: Vec<u32>,
    allowed: Vec<u8>,
    hook: Vec<u8>,
}

impl JumpGraph {
    fn targets(&self, i: usize) -> &[u32] {
        &self.to[self.start[i] as usize..self.start[i + 1] as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netfilter::rule::ChainRef;

    fn jump(to: &str) -> Rule {
        Rule { target: Target::Jump(ChainRef { name: to.into(), idx: usize::MAX }), ..Rule::new() }
    }

    #[test]
    fn user_chains_stay_sorted_and_jumps_follow() {
        let mut t = Table::new(TableName::Nat);
        t.new_chain("KUBE-SVC-B").unwrap();
        t.new_chain("KUBE-SERVICES").unwrap();
        t.append("PREROUTING", jump("KUBE-SERVICES")).unwrap();
        t.new_chain("KUBE-A").unwrap();
        t.ensure_resolved();
        let names: Vec<_> = t.chains().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING", "KUBE-A", "KUBE-SERVICES", "KUBE-SVC-B"]
        );
        let r = &t.chain("PREROUTING").unwrap().rules[0];
        assert_eq!(r.target.chain().unwrap().idx, 5);
        assert_eq!(t.references("KUBE-SERVICES"), 1);
        assert_eq!(t.delete_chain("KUBE-SERVICES"), Err(TableError::Referenced("KUBE-SERVICES".into())));
        assert_eq!(t.new_chain("KUBE-A"), Err(TableError::Exists("KUBE-A".into())));
        assert_eq!(
            t.append("OUTPUT", jump("NOPE")).unwrap_err().to_string(),
            "Couldn't load target `NOPE':No such file or directory"
        );
    }

    #[test]
    fn targets_are_checked_against_reaching_hooks() {
        let mut t = Table::new(TableName::Nat);
        t.new_chain("SEP").unwrap();
        let dnat = Rule {
            target: Target::Dnat(super::super::rule::DnatTarget::to(
                std::net::Ipv4Addr::new(10, 0, 0, 1),
                None,
            )),
            ..Rule::new()
        };
        t.append("SEP", dnat).unwrap();
        assert!(t.check_hooks().is_ok(), "unreferenced chains are not checked");
        t.append("PREROUTING", jump("SEP")).unwrap();
        assert!(t.check_hooks().is_ok());
        t.append("POSTROUTING", jump("SEP")).unwrap();
        assert!(matches!(t.check_hooks(), Err(TableError::Invalid(_))));
    }

    /// The references `-X` and `-L` see, counted from every rule.
    fn recount(t: &Table, name: &str) -> usize {
        t.chains().flat_map(|c| &c.rules).filter(|r| r.target.chain().is_some_and(|c| c.name == name)).count()
    }

    #[derive(Clone, Debug)]
    enum Edit {
        Append(usize, usize),
        Insert(usize, usize),
        Replace(usize, usize),
        DeleteNum(usize),
        Flush(usize),
        FlushAll,
        Policy,
        Zero(usize),
        Delete(usize),
        Create(usize),
        Commit,
        Copy,
    }

    fn edit() -> impl proptest::strategy::Strategy<Value = Edit> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (0..7usize, 0..7usize).prop_map(|(a, b)| Edit::Append(a, b)),
            1 => (0..7usize, 0..7usize).prop_map(|(a, b)| Edit::Insert(a, b)),
            1 => (0..7usize, 0..7usize).prop_map(|(a, b)| Edit::Replace(a, b)),
            1 => (0..7usize).prop_map(Edit::DeleteNum),
            1 => (0..7usize).prop_map(Edit::Flush),
            1 => Just(Edit::FlushAll),
            1 => Just(Edit::Policy),
            1 => (0..7usize).prop_map(Edit::Zero),
            2 => (0..7usize).prop_map(Edit::Delete),
            2 => (0..7usize).prop_map(Edit::Create),
            1 => Just(Edit::Commit),
            1 => Just(Edit::Copy),
        ]
    }

    proptest::proptest! {
        /// The counted references agree with a count over every rule after any edits
        /// (refused ones included), through copies and commits.
        #[test]
        fn reference_counts_agree_with_the_rules(edits in proptest::collection::vec(edit(), 0..60)) {
            const NAMES: [&str; 7] = ["INPUT", "A", "B", "C", "D", "E", "F"];
            let mut t = Table::new(TableName::Filter);
            for n in &NAMES[1..] {
                t.new_chain(n).unwrap();
            }
            for e in edits {
                let _ = match e {
                    Edit::Append(a, b) => t.append(NAMES[a], jump(NAMES[b])),
                    Edit::Insert(a, b) => t.insert(NAMES[a], 1, jump(NAMES[b])),
                    Edit::Replace(a, b) => t.replace(NAMES[a], 1, jump(NAMES[b])),
                    Edit::DeleteNum(a) => t.delete_num(NAMES[a], 1),
                    Edit::Flush(a) => t.flush(Some(NAMES[a])),
                    Edit::FlushAll => t.flush(None),
                    Edit::Policy => t.set_policy("INPUT", Policy::Drop, None),
                    Edit::Zero(a) => t.zero(Some(NAMES[a])),
                    Edit::Delete(a) => t.delete_chain(NAMES[a]),
                    Edit::Create(a) => t.new_chain(NAMES[a]),
                    Edit::Commit => t.check_commit(),
                    Edit::Copy => {
                        t = t.clone();
                        Ok(())
                    }
                };
                for n in NAMES {
                    if t.chain(n).is_some() {
                        proptest::prop_assert_eq!(t.references(n), recount(&t, n), "{}", n);
                    }
                }
            }
        }
    }

    #[test]
    fn ids_are_renumbered_when_deleted_chains_outnumber_live_ones() {
        let mut t = Table::new(TableName::Filter);
        t.new_chain("KEEP").unwrap();
        t.append("INPUT", jump("KEEP")).unwrap();
        for i in 0..3000 {
            let name = format!("GONE-{i}");
            t.new_chain(&name).unwrap();
            t.ensure_resolved();
            t.delete_chain(&name).unwrap();
            t.ensure_resolved();
        }
        assert!(t.pos.len() < 2 * t.chains.len() + 1024 + 2, "ids renumbered: {}", t.pos.len());
        let id = t.chain("INPUT").unwrap().rules[0].target.chain().unwrap().idx;
        assert_eq!(t.pos_of_id(id), t.chain_index("KEEP").unwrap());
        assert_eq!(t.references("KEEP"), 1);
        t.append("KEEP", jump("INPUT")).unwrap_err();
        t.new_chain("B").unwrap();
        t.append("KEEP", jump("B")).unwrap();
        t.append("B", jump("KEEP")).unwrap();
        assert_eq!(t.check_loops(), Err(TableError::Loop("KEEP -> B -> KEEP".into())));
    }

    #[test]
    fn loops_are_found() {
        let mut t = Table::new(TableName::Filter);
        t.new_chain("A").unwrap();
        t.new_chain("B").unwrap();
        t.append("A", jump("B")).unwrap();
        assert!(t.check_loops().is_ok());
        t.append("B", jump("A")).unwrap();
        // No built-in chain reaches the loop: the kernel loads it.
        assert!(t.check_loops().is_ok());
        t.append("INPUT", jump("A")).unwrap();
        assert_eq!(t.check_loops(), Err(TableError::Loop("A -> B -> A".into())));
    }
}
