//! The nftables ruleset model: tables (in creation order) holding sets, maps and chains, each
//! with the handle the kernel would give it. It can be built with these types as well as parsed
//! from the `nft -f` language ([`super::parse`]); [`super::list`] prints it.
//!
//! Set elements are kept by key in a hash map (a verdict-map lookup is one hash lookup,
//! whatever the size of the map, as with the kernel's `nft_set_hash`); elements with a range
//! or prefix in some field are scanned in order after the exact lookup misses. Chains and sets
//! are found by name through hash maps with the fixed [`FxBuild`] hasher.

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use std::rc::Rc;

use indexmap::IndexMap;
use sim_core::SimTime;
use sim_core::hash::FxBuildHasher as FxBuild;

use super::expr::{DataType, Stmt, Value, Verdict};
use crate::netfilter::Hook;

/// An address family of tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// `ip`: IPv4.
    Ip,
    /// `ip6`: IPv6. Loaded, listed and checked like the others, but the model's packets are
    /// IPv4, so an `ip6` table's base chains never run (as on a host with no IPv6 traffic).
    Ip6,
    /// `inet`: IPv4 and IPv6 (the model carries IPv4 only: `ip6` matches never hold).
    Inet,
    /// `arp`: ARP packets, at their own `input` and `output` hooks. Loaded, listed and
    /// checked, not evaluated: the model resolves neighbours without ARP packets.
    Arp,
    /// `bridge`: frames a bridge forwards or delivers, at the bridge layer's hooks. Loaded,
    /// listed and checked, not evaluated: the model's bridges pass frames without those hooks.
    Bridge,
    /// `netdev`: every packet a device receives (`ingress`) or sends (`egress`), before and
    /// after the IP stack. Loaded, listed and checked, not evaluated.
    Netdev,
}

impl Family {
    /// `ip`, `ip6`, `inet`, `arp`, `bridge`, `netdev`.
    pub const fn name(self) -> &'static str {
        match self {
            Family::Ip => "ip",
            Family::Ip6 => "ip6",
            Family::Inet => "inet",
            Family::Arp => "arp",
            Family::Bridge => "bridge",
            Family::Netdev => "netdev",
        }
    }

    /// The family named `name`.
    pub fn parse(name: &str) -> Option<Family> {
        Some(match name {
            "ip" => Family::Ip,
            "ip6" => Family::Ip6,
            "inet" => Family::Inet,
            "arp" => Family::Arp,
            "bridge" => Family::Bridge,
            "netdev" => Family::Netdev,
            _ => return None,
        })
    }

    /// True if the family's base chains see IPv4 packets (`ip`, `inet`).
    pub const fn sees_ipv4(self) -> bool {
        matches!(self, Family::Ip | Family::Inet)
    }

    /// True if the model evaluates the family's base chains at all (`ip`, `ip6`, `inet`; an
    /// `ip6` table's would run for IPv6 packets). The others are loaded and listed only.
    pub const fn evaluated(self) -> bool {
        matches!(self, Family::Ip | Family::Ip6 | Family::Inet)
    }

    /// True if a rule of the family may see IPv4 and IPv6 packets alike, so that its fields
    /// (`ip saddr`, `ip6 daddr`) decide which: `inet`, and the link-layer `bridge` and
    /// `netdev`.
    pub const fn carries_both(self) -> bool {
        matches!(self, Family::Inet | Family::Bridge | Family::Netdev)
    }
}

/// A base chain's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChainType {
    /// `filter`.
    Filter,
    /// `nat`: consulted for a connection's first packet only.
    Nat,
    /// `route`: output hook only (a mark change would re-route; the model does not re-route).
    Route,
}

impl ChainType {
    /// `filter`, `nat`, `route`.
    pub const fn name(self) -> &'static str {
        match self {
            ChainType::Filter => "filter",
            ChainType::Nat => "nat",
            ChainType::Route => "route",
        }
    }
}

/// A base chain's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// `accept` (the default).
    Accept,
    /// `drop`.
    Drop,
}

/// A base chain's hook. The ip, ip6, inet and bridge families have the five of the IP stack
/// (bridge's are the bridge layer's, of the same names); arp has `input` and `output`;
/// netdev has a device's `ingress` and `egress`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChainHook {
    /// `prerouting`.
    Prerouting,
    /// `input`.
    Input,
    /// `forward`.
    Forward,
    /// `output`.
    Output,
    /// `postrouting`.
    Postrouting,
    /// `ingress`: a device's received packets (netdev).
    Ingress,
    /// `egress`: a device's sent packets (netdev).
    Egress,
}

impl ChainHook {
    /// The hook's name (`prerouting`).
    pub const fn name(self) -> &'static str {
        match self {
            ChainHook::Prerouting => "prerouting",
            ChainHook::Input => "input",
            ChainHook::Forward => "forward",
            ChainHook::Output => "output",
            ChainHook::Postrouting => "postrouting",
            ChainHook::Ingress => "ingress",
            ChainHook::Egress => "egress",
        }
    }

    /// The hook named `name`, if nft knows it in some family.
    pub fn parse(name: &str) -> Option<ChainHook> {
        Some(match name {
            "prerouting" => ChainHook::Prerouting,
            "input" => ChainHook::Input,
            "forward" => ChainHook::Forward,
            "output" => ChainHook::Output,
            "postrouting" => ChainHook::Postrouting,
            "ingress" => ChainHook::Ingress,
            "egress" => ChainHook::Egress,
            _ => return None,
        })
    }

    /// The IP stack's hook of the same name, where the model's packets pass.
    pub const fn stack(self) -> Option<Hook> {
        match self {
            ChainHook::Prerouting => Some(Hook::Prerouting),
            ChainHook::Input => Some(Hook::Input),
            ChainHook::Forward => Some(Hook::Forward),
            ChainHook::Output => Some(Hook::Output),
            ChainHook::Postrouting => Some(Hook::Postrouting),
            ChainHook::Ingress | ChainHook::Egress => None,
        }
    }

    /// True if nft knows the hook in `family` (`str2hooknum`): bridge has no `ingress`, arp
    /// only `input`, `forward` and `output` (the kernel registers no `forward`), netdev only
    /// `ingress` and `egress`. The inet family's `ingress` is known, but not modelled.
    pub const fn in_family(self, family: Family) -> bool {
        match family {
            Family::Ip | Family::Ip6 | Family::Bridge => self.stack().is_some(),
            Family::Inet => !matches!(self, ChainHook::Egress),
            Family::Arp => matches!(self, ChainHook::Input | ChainHook::Forward | ChainHook::Output),
            Family::Netdev => matches!(self, ChainHook::Ingress | ChainHook::Egress),
        }
    }
}

/// The standard priority names of the ip, ip6, inet, arp and netdev families
/// (`src/rule.c` `std_prios`).
const STD_PRIOS: [(&str, i32); 6] =
    [("raw", -300), ("mangle", -150), ("dstnat", -100), ("filter", 0), ("security", 50), ("srcnat", 100)];

/// The bridge family's (`bridge_std_prios`: `NF_BR_PRI_*`).
const BRIDGE_STD_PRIOS: [(&str, i32); 4] =
    [("dstnat", -300), ("filter", -200), ("out", 100), ("srcnat", 300)];

fn std_prios(family: Family) -> &'static [(&'static str, i32)] {
    if family == Family::Bridge { &BRIDGE_STD_PRIOS } else { &STD_PRIOS }
}

/// Whether the standard priority `prio` may be named at `hook` of `family`
/// (`std_prio_family_hook_compat` of nft v1.0.6).
fn std_prio_compat(prio: i32, family: Family, hook: ChainHook) -> bool {
    let ip = matches!(family, Family::Ip | Family::Ip6 | Family::Inet);
    match (family, prio) {
        (Family::Bridge, -300) => hook == ChainHook::Prerouting,
        (Family::Bridge, -200) => true,
        (Family::Bridge, 100) => hook == ChainHook::Output,
        (Family::Bridge, 300) => hook == ChainHook::Postrouting,
        (Family::Bridge, _) => false,
        (_, 0) => ip || matches!(family, Family::Arp | Family::Netdev),
        (_, -300 | -150 | 50) => ip,
        (_, -100) => ip && hook == ChainHook::Prerouting,
        (_, 100) => ip && hook == ChainHook::Postrouting,
        _ => false,
    }
}

/// The value of the standard priority `name` at `hook` of `family` (`std_prio_lookup`); None
/// where nft refuses it ("invalid priority expression value in this context").
pub fn std_priority(name: &str, family: Family, hook: ChainHook) -> Option<i32> {
    std_prios(family).iter().find(|(n, v)| *n == name && std_prio_compat(*v, family, hook)).map(|(_, v)| *v)
}

/// A priority as nft lists it (`prio2str`): named after the first standard priority within
/// 10 of it (`filter + 5`, `srcnat - 10`) if that name is valid at the hook, else a number.
pub fn priority_text(prio: i32, family: Family, hook: ChainHook) -> String {
    for &(name, std) in std_prios(family) {
        let off = i64::from(prio) - i64::from(std);
        if off.abs() <= 10 {
            if !std_prio_compat(std, family, hook) {
                break;
            }
            return match off {
                0 => name.to_string(),
                o if o > 0 => format!("{name} + {o}"),
                o => format!("{name} - {}", -o),
            };
        }
    }
    prio.to_string()
}

/// What makes a chain a base chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BaseChain {
    /// `type filter|nat|route`.
    pub kind: ChainType,
    /// `hook ...`.
    pub hook: ChainHook,
    /// `priority N` (names resolved).
    pub priority: i32,
    /// `policy accept|drop`.
    pub policy: Policy,
}

/// One rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The kernel's handle.
    pub handle: u64,
    /// The statements, in order.
    pub stmts: Vec<Stmt>,
    /// `comment "..."`.
    pub comment: Option<String>,
}

impl Rule {
    /// A rule of these statements (the handle is given when it is added to a chain).
    pub fn new(stmts: Vec<Stmt>) -> Rule {
        Rule { handle: 0, stmts, comment: None }
    }
}

/// A chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// Its name.
    pub name: String,
    /// The kernel's handle.
    pub handle: u64,
    /// `comment "..."`.
    pub comment: Option<String>,
    /// Set for a base chain.
    pub base: Option<BaseChain>,
    /// A netdev base chain's `device "eth0"` or `devices = { ... }`, sorted as the kernel
    /// returns them.
    pub devices: Vec<String>,
    /// The rules.
    pub rules: Vec<Rule>,
}

impl Chain {
    /// A regular chain without rules.
    pub fn new(name: &str) -> Chain {
        Chain {
            name: name.to_string(),
            handle: 0,
            comment: None,
            base: None,
            devices: Vec::new(),
            rules: Vec::new(),
        }
    }
}

/// Set flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SetFlags {
    /// `constant`.
    pub constant: bool,
    /// `interval`: elements may be ranges and prefixes.
    pub interval: bool,
    /// `timeout`: elements may expire.
    pub timeout: bool,
    /// `dynamic`: the packet path may add elements.
    pub dynamic: bool,
}

/// One field of an element key: a value, or a range (a prefix is a range).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyPart {
    /// One value.
    Single(Value),
    /// `lo-hi` inclusive (`10.0.0.0/8` is `10.0.0.0-10.255.255.255`).
    Range(Value, Value),
}

impl KeyPart {
    fn contains(&self, v: &Value) -> bool {
        match self {
            KeyPart::Single(s) => s == v,
            KeyPart::Range(lo, hi) => lo <= v && v <= hi,
        }
    }
}

/// The data of a map element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapData {
    /// A verdict (`vmap`).
    Verdict(Verdict),
    /// A value.
    Value(Value),
}

/// One element of a set or map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    /// The key, one part per field.
    pub key: Vec<KeyPart>,
    /// The data, for a map.
    pub data: Option<MapData>,
    /// `comment "..."`.
    pub comment: Option<String>,
    /// `timeout T` given with the element, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// When a timed-out element stops matching.
    pub expires: Option<SimTime>,
}

impl Element {
    /// An element with a plain key.
    pub fn new(key: Vec<Value>, data: Option<MapData>) -> Element {
        Element {
            key: key.into_iter().map(KeyPart::Single).collect(),
            data,
            comment: None,
            timeout_ms: None,
            expires: None,
        }
    }

    fn exact_key(&self) -> Option<Vec<Value>> {
        self.key
            .iter()
            .map(|p| match p {
                KeyPart::Single(v) => Some(v.clone()),
                KeyPart::Range(..) => None,
            })
            .collect()
    }

    fn live(&self, now: SimTime) -> bool {
        self.expires.is_none_or(|t| now < t)
    }

    /// The order `nft list` prints elements in: the kernel's key bytes, compared as one
    /// number (a single big-endian field by value; concatenations and host-order fields
    /// from the last byte).
    pub(crate) fn sort_key(&self) -> Vec<u8> {
        let mut b = Vec::new();
        for p in &self.key {
            match p {
                KeyPart::Single(v) | KeyPart::Range(v, _) => v.key_bytes(&mut b),
            }
        }
        let big = self.key.len() == 1
            && matches!(&self.key[0], KeyPart::Single(v) | KeyPart::Range(v, _) if v.is_big_endian());
        if !big {
            b.reverse();
        }
        b
    }
}

/// The position of an element in [`Elements`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementAt {
    /// The i-th element with a plain key.
    Exact(usize),
    /// The i-th element with a range.
    Range(usize),
}

/// The elements of a set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Elements {
    /// Elements with a plain key, hashed (the kernel's `nft_set_hash`): a lookup costs the
    /// same at any size. `nft list` order is computed when listing.
    exact: IndexMap<Vec<Value>, Element, FxBuild>,
    ranges: Vec<Element>,
}

impl Elements {
    /// Adds (or replaces) an element.
    pub fn insert(&mut self, e: Element) {
        match e.exact_key() {
            Some(k) => {
                self.exact.insert(k, e);
            }
            None => match self.ranges.iter_mut().find(|r| r.key == e.key) {
                Some(r) => *r = e,
                None => self.ranges.push(e),
            },
        }
    }

    /// Removes the element with this key; false if there was none.
    pub fn remove(&mut self, key: &[KeyPart]) -> bool {
        let exact: Option<Vec<Value>> = key
            .iter()
            .map(|p| match p {
                KeyPart::Single(v) => Some(v.clone()),
                KeyPart::Range(..) => None,
            })
            .collect();
        if let Some(k) = exact {
            return self.exact.swap_remove(&k).is_some();
        }
        let before = self.ranges.len();
        self.ranges.retain(|r| r.key != key);
        before != self.ranges.len()
    }

    /// The live element whose key holds `key`: an exact lookup, then the ranges in order.
    pub fn lookup(&self, key: &[Value], now: SimTime) -> Option<&Element> {
        self.lookup_at(key, now).and_then(|at| self.at(at))
    }

    /// Where [`Elements::lookup`]'s element is, to find it again with [`Elements::at`] while
    /// the set is not changed.
    pub fn lookup_at(&self, key: &[Value], now: SimTime) -> Option<ElementAt> {
        if let Some(i) = self.exact.get_index_of(key).filter(|i| self.exact[*i].live(now)) {
            return Some(ElementAt::Exact(i));
        }
        self.ranges
            .iter()
            .position(|r| {
                r.live(now) && r.key.len() == key.len() && r.key.iter().zip(key).all(|(p, v)| p.contains(v))
            })
            .map(ElementAt::Range)
    }

    /// The element at a position [`Elements::lookup_at`] gave.
    pub fn at(&self, at: ElementAt) -> Option<&Element> {
        match at {
            ElementAt::Exact(i) => self.exact.get_index(i).map(|(_, e)| e),
            ElementAt::Range(i) => self.ranges.get(i),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.exact.len() + self.ranges.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All elements in `nft list` order.
    pub fn listed(&self) -> Vec<&Element> {
        let mut v: Vec<&Element> = self.exact.values().chain(self.ranges.iter()).collect();
        v.sort_by_cached_key(|e| e.sort_key());
        v
    }

    /// Removes every element.
    pub fn clear(&mut self) {
        self.exact.clear();
        self.ranges.clear();
    }

    /// Drops elements that expired before `now`.
    pub fn expire(&mut self, now: SimTime) {
        self.exact.retain(|_, e| e.live(now));
        self.ranges.retain(|e| e.live(now));
    }

    /// Every element, exact ones first (for reference checks).
    pub fn iter(&self) -> impl Iterator<Item = &Element> {
        self.exact.values().chain(self.ranges.iter())
    }
}

/// A named set or map (or the anonymous set of a rule, whose name is empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Set {
    /// Its name.
    pub name: String,
    /// The kernel's handle.
    pub handle: u64,
    /// The key type, one per concatenated field.
    pub key: Vec<DataType>,
    /// The data type, for a map (`verdict` for a verdict map).
    pub data: Option<DataType>,
    /// Flags.
    pub flags: SetFlags,
    /// The default element timeout, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// `size N`.
    pub size: Option<u32>,
    /// `comment "..."`.
    pub comment: Option<String>,
    /// The elements.
    pub elements: Elements,
}

impl Set {
    /// An empty set (`data: None`) or map with this key.
    pub fn new(name: &str, key: Vec<DataType>, data: Option<DataType>) -> Set {
        Set {
            name: name.to_string(),
            handle: 0,
            key,
            data,
            flags: SetFlags::default(),
            timeout_ms: None,
            size: None,
            comment: None,
            elements: Elements::default(),
        }
    }

    /// True for a map.
    pub fn is_map(&self) -> bool {
        self.data.is_some()
    }
}

/// Table flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TableFlags {
    /// `dormant`: the table's base chains are not registered (nothing is evaluated).
    pub dormant: bool,
}

/// A table's chains by name, in creation order, shared copy-on-write.
pub type Chains = IndexMap<Rc<str>, Rc<Chain>, FxBuild>;

/// A table's named sets and maps by name, in creation order, shared copy-on-write.
pub type Sets = IndexMap<String, Rc<Set>, FxBuild>;

/// A table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Its family.
    pub family: Family,
    /// Its name.
    pub name: String,
    /// The kernel's handle.
    pub handle: u64,
    /// Flags.
    pub flags: TableFlags,
    /// `comment "..."`.
    pub comment: Option<String>,
    /// Named sets and maps, in creation order. Shared copy-on-write ([`Rc::make_mut`]) with
    /// the copy an `nft -f` transaction edits, like the chains.
    pub sets: Sets,
    /// Chains, in creation order. Shared copy-on-write ([`Rc::make_mut`]): a transaction
    /// edits a copy of the ruleset, which shares every chain it leaves alone.
    pub chains: Chains,
    next_handle: u64,
}

impl Table {
    /// An empty table.
    pub fn new(family: Family, name: &str) -> Table {
        Table {
            family,
            name: name.to_string(),
            handle: 0,
            flags: TableFlags::default(),
            comment: None,
            sets: IndexMap::default(),
            chains: IndexMap::default(),
            next_handle: 1,
        }
    }

    /// The handle the next chain, set or rule added to this table gets.
    pub fn next_handle(&self) -> u64 {
        self.next_handle
    }

    fn handle(&mut self) -> u64 {
        let h = self.next_handle;
        self.next_handle += 1;
        h
    }

    /// Adds a chain (keeping an existing one of that name, whose base settings are updated
    /// when `chain` has them, as `nft add chain` does); returns it.
    pub fn add_chain(&mut self, chain: Chain) -> &mut Chain {
        let handle = if self.chains.contains_key(chain.name.as_str()) { 0 } else { self.handle() };
        let name: Rc<str> = Rc::from(chain.name.as_str());
        let entry = Rc::make_mut(
            self.chains.entry(name).or_insert_with(|| Rc::new(Chain { handle, ..Chain::new(&chain.name) })),
        );
        if chain.base.is_some() {
            entry.base = chain.base;
        }
        if !chain.devices.is_empty() {
            entry.devices = chain.devices;
        }
        if chain.comment.is_some() {
            entry.comment = chain.comment;
        }
        for r in chain.rules {
            entry.rules.push(r);
        }
        entry
    }

    /// Adds a rule at the end of `chain` (or at `index`), giving it a handle; `None` if there
    /// is no such chain.
    pub fn add_rule(&mut self, chain: &str, mut rule: Rule, index: Option<usize>) -> Option<u64> {
        if !self.chains.contains_key(chain) {
            return None;
        }
        let h = self.handle();
        rule.handle = h;
        let c = Rc::make_mut(self.chains.get_mut(chain)?);
        let at = index.unwrap_or(c.rules.len()).min(c.rules.len());
        c.rules.insert(at, rule);
        Some(h)
    }

    /// Adds a set or map (an existing one of that name is kept); returns it.
    pub fn add_set(&mut self, mut set: Set) -> &mut Set {
        if !self.sets.contains_key(&set.name) {
            set.handle = self.handle();
        }
        let name = set.name.clone();
        Rc::make_mut(self.sets.entry(name).or_insert_with(|| Rc::new(set)))
    }
}

/// Every table, in creation order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ruleset {
    /// The tables.
    pub tables: Vec<Table>,
    next_handle: u64,
}

impl Ruleset {
    /// An empty ruleset.
    pub fn new() -> Ruleset {
        Ruleset::default()
    }

    /// A table.
    pub fn table(&self, family: Family, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.family == family && t.name == name)
    }

    /// A table, mutably.
    pub fn table_mut(&mut self, family: Family, name: &str) -> Option<&mut Table> {
        self.tables.iter_mut().find(|t| t.family == family && t.name == name)
    }

    /// Adds a table (keeping an existing one of that name); returns it.
    pub fn add_table(&mut self, family: Family, name: &str) -> &mut Table {
        let i = match self.tables.iter().position(|t| t.family == family && t.name == name) {
            Some(i) => i,
            None => {
                self.next_handle += 1;
                let mut t = Table::new(family, name);
                t.handle = self.next_handle;
                self.tables.push(t);
                self.tables.len() - 1
            }
        };
        &mut self.tables[i]
    }

    /// Removes a table; false if there was none.
    pub fn delete_table(&mut self, family: Family, name: &str) -> bool {
        let before = self.tables.len();
        self.tables.retain(|t| !(t.family == family && t.name == name));
        before != self.tables.len()
    }

    /// The tables whose base chains the model does not evaluate (arp, bridge, netdev), which
    /// the commands that load rules name as such.
    pub fn unevaluated(&self) -> impl Iterator<Item = &Table> {
        self.tables.iter().filter(|t| !t.family.evaluated())
    }

    /// What the commands that load rules say of the tables [`Self::unevaluated`] names that
    /// `before` (the ruleset they loaded into) did not have: one line each, in creation order.
    pub fn unevaluated_notes(&self, before: &[(Family, String)]) -> String {
        let mut out = String::new();
        for t in self.unevaluated() {
            if !before.iter().any(|(f, n)| *f == t.family && *n == t.name) {
                let what = match t.family {
                    Family::Arp => "the model resolves neighbours without ARP packets",
                    Family::Bridge => "the model's bridges pass frames without the bridge family's hooks",
                    _ => "the model's packets do not pass the netdev family's ingress and egress hooks",
                };
                let _ = writeln!(
                    out,
                    "netsim: table {} {} is loaded and listed but not evaluated: {what}",
                    t.family.name(),
                    t.name
                );
            }
        }
        out
    }

    /// The (family, name) of every table, to give [`Self::unevaluated_notes`].
    pub fn table_names(&self) -> Vec<(Family, String)> {
        self.tables.iter().map(|t| (t.family, t.name.clone())).collect()
    }

    /// The base chains at `hook` as (table index, chain index, priority), in priority order
    /// (ties: table creation order, then chain order, as registration order).
    pub fn base_chains(&self, hook: Hook) -> Vec<(usize, usize, i32)> {
        let mut v: Vec<(usize, usize, i32)> = Vec::new();
        // An ip6 table's chains register at the IPv6 hooks, which no packet of the model
        // reaches; the arp, bridge and netdev families' are not evaluated.
        for (ti, t) in
            self.tables.iter().enumerate().filter(|(_, t)| !t.flags.dormant && t.family.sees_ipv4())
        {
            for (ci, c) in t.chains.values().enumerate() {
                if let Some(b) = c.base.filter(|b| b.hook.stack() == Some(hook)) {
                    v.push((ti, ci, b.priority));
                }
            }
        }
        v.sort_by_key(|e| e.2);
        v
    }
}

/// A prefix as the range it covers.
pub fn prefix_range(addr: Ipv4Addr, len: u8) -> (Ipv4Addr, Ipv4Addr) {
    let a = u32::from(addr);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len.min(32))) };
    (Ipv4Addr::from(a & mask), Ipv4Addr::from((a & mask) | !mask))
}

/// An IPv6 prefix as the range it covers.
pub fn prefix_range6(addr: Ipv6Addr, len: u8) -> (Ipv6Addr, Ipv6Addr) {
    let a = u128::from(addr);
    let mask = if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len.min(128))) };
    (Ipv6Addr::from(a & mask), Ipv6Addr::from((a & mask) | !mask))
}

/// The range an address prefix (`ipv4_addr` or `ipv6_addr` value) covers; `None` for other
/// values.
pub fn value_prefix_range(v: &Value, len: u8) -> Option<(Value, Value)> {
    match v {
        Value::Addr(a) => {
            let (lo, hi) = prefix_range(*a, len);
            Some((Value::Addr(lo), Value::Addr(hi)))
        }
        Value::Addr6(a) => {
            let (lo, hi) = prefix_range6(*a, len);
            Some((Value::Addr6(lo), Value::Addr6(hi)))
        }
        _ => None,
    }
}

/// The prefix length of the address range `lo-hi`, if it is one (`None` also for values that
/// are not addresses).
pub fn value_as_prefix(lo: &Value, hi: &Value) -> Option<u8> {
    let (l, h, bits) = match (lo, hi) {
        (Value::Addr(l), Value::Addr(h)) => (u128::from(u32::from(*l)), u128::from(u32::from(*h)), 32u32),
        (Value::Addr6(l), Value::Addr6(h)) => (u128::from(*l), u128::from(*h), 128),
        _ => return None,
    };
    if h < l {
        return None;
    }
    // The low bits that vary between lo and hi: a prefix has them all 0 in lo, all 1 in hi.
    let span_bits = 128 - (l ^ h).leading_zeros();
    let low_mask = if span_bits == 128 { u128::MAX } else { (1u128 << span_bits) - 1 };
    if l & low_mask != 0 || h & low_mask != low_mask {
        return None;
    }
    Some((bits - span_bits) as u8)
}
