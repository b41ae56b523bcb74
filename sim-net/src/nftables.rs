//! nftables: the ruleset `nft -f` loads and `nft list` prints, evaluated at the netfilter
//! hooks alongside the iptables tables (kernel reference: `net/netfilter/nf_tables_core.c`;
//! tool reference: nftables v1.0.6, `src/parser_bison.y`, `src/rule.c`, `src/expression.c`).
//!
//! Submodules: [`lexer`] and [`parse`] (the `nft -f` language, applied as one transaction),
//! [`ruleset`] (tables, chains, rules, sets and maps with handles; buildable in code),
//! [`expr`] (expressions, values, statements), [`limit`] (the `limit` statement's token
//! bucket), [`eval`] (one base chain with kernel semantics), [`list`] (`nft list
//! ruleset|table|chain`, byte for byte as nft prints).
//!
//! **Syntax.** `table [ip|ip6|inet|arp|bridge|netdev] NAME { ... }` blocks with `flags dormant`, `comment`, `chain`,
//! `set` and `map` items; commands `add|create table|chain|rule|set|map|element`, `insert
//! rule`, `delete table|chain|rule ... handle N|set|map|element`, `flush
//! ruleset|table|chain|set|map`, rule positions `handle|position|index N`; `#` comments;
//! `define|redefine|undefine NAME = ...` and `$NAME`.
//! Chains: `type filter|nat|route hook prerouting|input|forward|output|postrouting|ingress|egress
//! [device NAME | devices = { NAME, ... }] priority (raw|mangle|dstnat|filter|security|srcnat|out
//! [+|- N] | N); policy accept|drop;`, `comment`.
//! Sets and maps: `type T [. T ...] [: T|verdict]`, `flags constant,interval,timeout,dynamic`,
//! `timeout`, `size`, `comment`, `elements = { ... }` (values, `lo-hi`, `addr/len`, element
//! `timeout` and `comment`).
//!
//! **Expressions.** `ip saddr|daddr|protocol|ttl`, `ip6 saddr|daddr|nexthdr|hoplimit`, `th|tcp|udp|sctp sport|dport`, `tcp flags`,
//! `icmp type`, `meta l4proto|nfproto|protocol|pkttype|iifname|oifname|mark` (and bare `iifname`, `oifname`, `pkttype`,
//! `mark`), `ct state|status|mark`, `ct original|reply [ip] saddr|daddr`, `fib saddr|daddr
//! type`, `numgen random mod N [offset M]` (drawn from the host's seeded stream with the
//! kernel's `reciprocal_scale`), concatenations `a . b . c`, `& | ^` (`and`, `or`, `xor`) with a
//! constant; relations implicit, `==`, `!=`, `<`, `>`, `<=`, `>=`; right-hand sides values,
//! bitmask lists (`established,related`), ranges, prefixes, anonymous sets `{ ... }` and named
//! sets `@name`; verdict maps `vmap @name` / `vmap { ... }` (a hash lookup for plain keys).
//!
//! **Statements.** `accept`, `drop`, `continue`, `return`, `jump`, `goto`, `counter [packets N
//! bytes M]`, `log [prefix "..."]`, `notrack`, `reject [with icmp [type] CODE | with tcp
//! reset]`, `dnat|snat [ip] to ADDR[:PORT[-PORT]]`, `masquerade [to :PORT[-PORT]]` with
//! `random`, `fully-random`, `persistent`, `limit rate [over] N/UNIT [burst N packets]` and
//! `limit rate [over] N bytes|kbytes|mbytes/UNIT [burst N bytes|kbytes|mbytes]` (the kernel's
//! token bucket in simulated time), `meta mark set ...`, `ct mark set ...`, `add|update
//! @set { KEY [timeout T] }`, `comment "..."`.
//!
//! **Accepted by nft but not evaluated here** (refused with an error that says so):
//! `include`, the inet family's `ingress` hook, `typeof`, set
//! `counter`/`policy`/`gc-interval`/`auto-merge`, element `expires`/`counter`, named limits
//! (`limit name`, `add limit`), `quota`, `queue`, `redirect`, `tproxy`, `dup`, `fwd`, `meter`,
//! `synproxy`, `numgen inc`, `fib` with `iif`/`oif`/`mark` or results other than `type`, `log`
//! options other than `prefix`, `meta`/`ct` keys not listed above, flowtables and stateful
//! objects.
//!
//! **Departures.** The model carries no IPv6 packets:
//! `ip6` tables (IPv6 addresses, sets, maps, NAT) are parsed, checked and listed as nft does,
//! but their base chains never run; so are tables of the arp, bridge and netdev families
//! (their hooks, devices, priorities and rules checked as nft and the kernel check them),
//! whose loading is named on stderr by the commands that load rules; and in an inet table `ip6` matches never hold and `dnat
//! ip6 to` does nothing to an IPv4 packet. A syntax error names the first token netsim cannot use, in nft's
//! words (`syntax error, unexpected newline`), but without bison's error recovery (only the
//! first error is reported) and with fewer "expecting" lists. A transaction is checked as the
//! kernel checks it: missing jump targets and sets, and, for what a base chain reaches, loops
//! and nesting deeper than 16 (`Too many links`) and NAT statements its type and hook cannot
//! run (`Operation not supported`); the error names the last rule the transaction added on the
//! offending path. A ruleset built in code is not checked (its loops drop the packet at
//! [`eval::MAX_DEPTH`]). Elements added by
//! `update @set` are listed without their `expires` time. NAT statements reach the stack as
//! the iptables targets do: only a connection's first packet consults nat chains, the first
//! binding at a hook wins, and a later chain at the same hook sees the DNATed destination. A
//! `route` chain's mark change does not re-route. Header fields are merged as
//! `payload_try_merge` merges them after the protocol matches they imply were dropped, so
//! `ip protocol tcp tcp dport 1 counter tcp sport 2`, which nft does not merge (its `ip
//! protocol` field still counts there), is merged here. `meta protocol` is `ip` for every packet,
//! and `meta pkttype` is read from the packet's destination address (broadcast, multicast,
//! else host) rather than from a frame's. The NAT flag `random` draws the port as
//! `fully-random` does, and `persistent` changes nothing (a NAT target is one address). A set's
//! `size` is kept and printed, not enforced. `iifname`/`oifname` patterns ending in `*` match
//! by prefix in comparisons, not as set elements. The path explorer
//! ([`crate::netfilter::explore`]) follows nft chains' verdicts, NAT and `numgen` branches
//! but lists only iptables rules on a path.
//!
//! ```
//! use sim_net::nftables::{Element, Family, MapData, Nftables, Value, Verdict};
//! use std::net::Ipv4Addr;
//!
//! let mut nft = Nftables::new();
//! nft.apply("table ip kube-proxy {
//! \tmap service-ips { type ipv4_addr . inet_proto . inet_service : verdict; }
//! \tchain svc { meta l4proto tcp dnat to 10.180.0.1:80; }
//! \tchain nat-prerouting { type nat hook prerouting priority dstnat;
//! \t\tip daddr . meta l4proto . th dport vmap @service-ips
//! \t}
//! }
//! add element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 : goto svc }
//! ").unwrap();
//! // The same model can be changed in code (here: a second element; sets and chains are
//! // shared copy-on-write with the copy a transaction edits).
//! let t = nft.ruleset_mut().table_mut(Family::Ip, "kube-proxy").unwrap();
//! std::rc::Rc::make_mut(&mut t.sets["service-ips"]).elements.insert(Element::new(
//!     vec![Value::Addr(Ipv4Addr::new(172, 30, 0, 42)), Value::Proto(17), Value::Port(53)],
//!     Some(MapData::Verdict(Verdict::Goto("svc".into()))),
//! ));
//! assert!(nft.list_chain(Family::Ip, "kube-proxy", "nat-prerouting").unwrap().contains(
//!     "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
//! ));
//! // Constructs netsim does not evaluate are refused by name.
//! assert!(nft.apply("add rule ip kube-proxy svc quota 10 mbytes").is_err());
//! ```

use std::fmt;

pub mod eval;
pub mod expr;
pub mod lexer;
pub mod limit;
pub mod list;
pub mod parse;
pub mod ruleset;

pub use expr::{DataType, Expr, Rhs, SetRef, Stmt, Value, Verdict};
pub use ruleset::{
    BaseChain, Chain, ChainHook, ChainType, Element, Family, MapData, Policy, Rule, Ruleset, Set, Table,
};

use crate::netfilter::HookVerdict;

/// An input nft would refuse (or that netsim does not model), located as nft locates it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{col}-{end}: Error: {message}\n{source_line}\n{caret}")]
pub struct NftError {
    /// The file name (`/dev/stdin` for text given directly).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based first column.
    pub col: usize,
    /// Last column (inclusive).
    pub end: usize,
    /// nft's wording.
    pub message: String,
    /// The offending line.
    pub source_line: String,
    /// Spaces (tabs kept) and `^` under the offending span.
    pub caret: String,
}

impl NftError {
    pub(crate) fn at(
        file: &str,
        src: &str,
        line: usize,
        col: usize,
        end: usize,
        message: String,
    ) -> NftError {
        let source_line = src.lines().nth(line.saturating_sub(1)).unwrap_or("").to_string();
        let mut caret: String = source_line
            .chars()
            .take(col.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let pad = col.saturating_sub(1).saturating_sub(caret.chars().count());
        caret.extend(std::iter::repeat_n(' ', pad));
        caret.extend(std::iter::repeat_n('^', end.saturating_sub(col) + 1));
        NftError { file: file.to_string(), line, col, end, message, source_line, caret }
    }

    /// Underlines columns `col..=end` of the same line with `~`, as nft marks the expression
    /// or statement an error relates to beside the `^` of the error itself.
    pub(crate) fn with_context(mut self, col: usize, end: usize) -> NftError {
        let width = self.caret.chars().count().max(end);
        let mut marks: Vec<char> = self.caret.chars().chain(std::iter::repeat(' ')).take(width).collect();
        let source: Vec<char> = self.source_line.chars().collect();
        for c in col.max(1)..=end {
            if let Some(m) = marks.get_mut(c - 1)
                && *m != '^'
            {
                *m = '~';
            }
        }
        // Blank columns before a mark keep the source's tabs, as nft's do.
        for (i, m) in marks.iter_mut().enumerate() {
            if *m == ' ' && source.get(i) == Some(&'\t') {
                *m = '\t';
            }
        }
        let last = marks.iter().rposition(|m| *m == '^' || *m == '~').map_or(0, |i| i + 1);
        self.caret = marks[..last].iter().collect();
        self
    }
}

/// Identifies an nftables rule: table, chain, 1-based position and kernel handle.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NftRuleRef {
    /// The table's family.
    pub family: Family,
    /// The table.
    pub table: String,
    /// The chain.
    pub chain: String,
    /// 1-based position in the chain.
    pub index: usize,
    /// The rule's handle (`nft -a list`).
    pub handle: u64,
}

impl fmt::Display for NftRuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} #{} (handle {})",
            self.family.name(),
            self.table,
            self.chain,
            self.index,
            self.handle
        )
    }
}

/// What ended a hook in an nftables chain with a drop or a reject.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NftDecision {
    /// A rule's verdict; `element` is the verdict-map element that gave it, if one did.
    Rule {
        /// The rule.
        rule: NftRuleRef,
        /// The map element (`1.2.3.4 . tcp . 80 : drop`).
        element: Option<String>,
    },
    /// A base chain's drop policy.
    Policy {
        /// The family.
        family: Family,
        /// The table.
        table: String,
        /// The base chain.
        chain: String,
    },
    /// Jumps nested deeper than [`eval::MAX_DEPTH`].
    DepthExceeded {
        /// The family.
        family: Family,
        /// The table.
        table: String,
    },
}

impl fmt::Display for NftDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NftDecision::Rule { rule, element: None } => write!(f, "nft rule {rule}"),
            NftDecision::Rule { rule, element: Some(e) } => write!(f, "nft rule {rule} element {e}"),
            NftDecision::Policy { family, table, chain } => {
                write!(f, "policy of nft chain {} {table} {chain}", family.name())
            }
            NftDecision::DepthExceeded { family, table } => {
                write!(f, "jump depth limit in nft table {} {table}", family.name())
            }
        }
    }
}

/// One step of an nftables traversal (carried in [`crate::netfilter::NfStep::Nft`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NftStep {
    /// A rule ran to a verdict or to its end; `text` is its `nft list` form.
    RuleMatched {
        /// The rule.
        rule: NftRuleRef,
        /// Its text.
        text: String,
    },
    /// A verdict map gave the rule's verdict.
    MapElement {
        /// The rule.
        rule: NftRuleRef,
        /// `@name`, or `{ ... }` for an anonymous map.
        map: String,
        /// The key looked up.
        key: String,
        /// The element found.
        element: Option<String>,
    },
    /// `numgen random mod N` drew `value`.
    Numgen {
        /// The modulus.
        modulus: u32,
        /// The draw.
        value: u32,
    },
    /// A chain ran out of rules; a base chain's policy (`Some(true)`: accept).
    ChainEnd {
        /// The family.
        family: Family,
        /// The table.
        table: String,
        /// The chain.
        chain: String,
        /// A base chain's policy: accept (true) or drop.
        policy: Option<bool>,
    },
    /// A `log` statement ran.
    Log {
        /// Its prefix.
        prefix: String,
    },
}

impl NftStep {
    /// The hook verdict a chain end implies, if it is a base chain's.
    pub fn policy_verdict(&self) -> Option<HookVerdict> {
        match self {
            NftStep::ChainEnd { policy: Some(true), .. } => Some(HookVerdict::Accept),
            NftStep::ChainEnd { policy: Some(false), .. } => Some(HookVerdict::Drop),
            _ => None,
        }
    }
}

/// The nftables state of one network namespace.
#[derive(Clone, Debug, Default)]
pub struct Nftables {
    ruleset: Ruleset,
    /// The base chains per hook, in priority order, as (table, chain, priority, is nat);
    /// rebuilt after any change of the ruleset's shape (`None`: stale).
    hooks: Option<[Vec<HookChain>; 5]>,
}

/// A base chain registered at a hook: table and chain indices, priority, and whether it is a
/// nat chain (consulted only for a connection's first packet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HookChain {
    /// Index of the table in the ruleset.
    pub table: usize,
    /// Index of the chain in the table.
    pub chain: usize,
    /// Its priority.
    pub priority: i32,
    /// True for `type nat`.
    pub nat: bool,
}

const fn hook_slot(h: crate::netfilter::Hook) -> usize {
    use crate::netfilter::Hook;
    match h {
        Hook::Prerouting => 0,
        Hook::Input => 1,
        Hook::Forward => 2,
        Hook::Output => 3,
        Hook::Postrouting => 4,
    }
}

impl Nftables {
    /// An empty ruleset.
    pub fn new() -> Nftables {
        Nftables::default()
    }

    /// `nft -f -` with `text`: applied as one transaction, or not at all.
    pub fn apply(&mut self, text: &str) -> Result<(), NftError> {
        self.apply_file("/dev/stdin", text)
    }

    /// `nft -f FILE`: `file` names the input in error messages. The namespace is taken to
    /// have only `lo` (a fresh one), for `iif` and `oif`.
    pub fn apply_file(&mut self, file: &str, text: &str) -> Result<(), NftError> {
        self.apply_in(file, text, Some(&["lo".to_string()]))
    }

    /// `nft -f FILE` in a namespace whose interfaces are `interfaces` (what `iif` and `oif`
    /// may name); `None` takes any name (a ruleset listed on another machine).
    pub fn apply_in(
        &mut self,
        file: &str,
        text: &str,
        interfaces: Option<&[String]>,
    ) -> Result<(), NftError> {
        self.hooks = None;
        parse::apply(&mut self.ruleset, file, text, interfaces)
    }

    /// The base chains registered at `hook`, in priority order (ties: table creation order,
    /// then chain order). Kept between calls, so the packet path does not scan every chain.
    pub fn hook_chains(&mut self, hook: crate::netfilter::Hook) -> &[HookChain] {
        let rs = &self.ruleset;
        let hooks = self.hooks.get_or_insert_with(|| {
            use crate::netfilter::Hook;
            [Hook::Prerouting, Hook::Input, Hook::Forward, Hook::Output, Hook::Postrouting].map(|h| {
                rs.base_chains(h)
                    .into_iter()
                    .map(|(table, chain, priority)| {
                        let nat = rs
                            .tables
                            .get(table)
                            .and_then(|t| t.chains.get_index(chain))
                            .is_some_and(|(_, c)| c.base.is_some_and(|b| b.kind == ChainType::Nat));
                        HookChain { table, chain, priority, nat }
                    })
                    .collect()
            })
        });
        &hooks[hook_slot(hook)]
    }

    /// The ruleset for evaluation: counters and dynamic sets change, its shape does not.
    pub(crate) fn ruleset_for_eval(&mut self) -> &mut Ruleset {
        &mut self.ruleset
    }

    /// The ruleset.
    pub fn ruleset(&self) -> &Ruleset {
        &self.ruleset
    }

    /// The ruleset, to build or change in code.
    pub fn ruleset_mut(&mut self) -> &mut Ruleset {
        self.hooks = None;
        &mut self.ruleset
    }

    /// `nft list ruleset`.
    pub fn list_ruleset(&self) -> String {
        list::ruleset(&self.ruleset)
    }

    /// `nft list table FAMILY NAME`; `None` if there is no such table.
    pub fn list_table(&self, family: Family, name: &str) -> Option<String> {
        self.ruleset.table(family, name).map(list::table)
    }

    /// `nft list chain FAMILY TABLE NAME`; `None` if there is no such chain.
    pub fn list_chain(&self, family: Family, table: &str, chain: &str) -> Option<String> {
        let t = self.ruleset.table(family, table)?;
        t.chains.get(chain).map(|c| list::chain_in_table(t, c))
    }

    /// `nft list set|map FAMILY TABLE NAME`; `None` if there is no such set.
    pub fn list_set(&self, family: Family, table: &str, set: &str) -> Option<String> {
        let t = self.ruleset.table(family, table)?;
        t.sets.get(set).map(|s| list::set_in_table(t, s))
    }
}
