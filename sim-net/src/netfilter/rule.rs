//! One iptables rule as the kernel stores it (`struct ipt_entry`): the base IPv4 match
//! (`-s -d -i -o -p` with their `!` inversions), a list of extension matches (`-m ...`) in the
//! order they were added, a target and the rule's packet/byte counters.
//!
//! References: `struct ipt_ip` in `include/uapi/linux/netfilter_ipv4/ip_tables.h` (base match
//! fields and `IPT_INV_*` flags), `man iptables-extensions` for each match and target. Values
//! are kept in the kernel's form (an address and a CIDR mask; a mark as value/mask; a
//! probability as the kernel's u32), so that printing reproduces what `iptables-save` shows.
//!
//! The extensions real nodes' rules add (physdev, owner, limit, ... and TCPMSS, NFLOG, ...) are
//! [`Match::Ext`] and [`Target::Ext`], defined in [`super::ext`].
//!
//! Left out: IPv6, fragments (`-f`), and matches or targets no real node dump we know of uses
//! (see [`Match`], [`Target`] and [`super::ext`] for what exists).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{AddrType, CtState, RejectWith};
use crate::wire::Protocol;

/// A rule's or a policy's counters, as `iptables -L -v` and `iptables-save -c` show them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counters {
    /// Packets that matched.
    pub packets: u64,
    /// Bytes of those packets (`Packet::len`).
    pub bytes: u64,
}

impl Counters {
    /// Counts one packet of `len` bytes.
    pub fn add(&mut self, len: u64) {
        self.packets = self.packets.wrapping_add(1);
        self.bytes = self.bytes.wrapping_add(len);
    }
}

/// `[!] -s/-d addr[/mask]`: an address and a mask, the address kept masked, as the kernel
/// stores them (`struct ipt_ip`'s `src`/`smsk`). The mask is usually a prefix's (`/24`) but
/// may be any (`/255.0.255.0`: both iptables backends take it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddrMatch {
    /// The address, masked.
    addr: Ipv4Addr,
    /// The mask.
    mask: Ipv4Addr,
    /// `!` given.
    pub invert: bool,
}

impl AddrMatch {
    /// The test of `net` (its address truncated to the prefix).
    pub fn of_net(net: Ipv4Net, invert: bool) -> AddrMatch {
        AddrMatch { addr: net.network(), mask: net.netmask(), invert }
    }
    /// The test of `addr` under any `mask` (the address is masked).
    pub fn with_mask(addr: Ipv4Addr, mask: Ipv4Addr, invert: bool) -> AddrMatch {
        AddrMatch { addr: Ipv4Addr::from(u32::from(addr) & u32::from(mask)), mask, invert }
    }
    /// The masked address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }
    /// The mask.
    pub fn mask(&self) -> Ipv4Addr {
        self.mask
    }
    /// The prefix length, if the mask is a prefix's.
    pub fn prefix_len(&self) -> Option<u8> {
        let m = u32::from(self.mask);
        (m.leading_ones() + m.trailing_zeros() == 32).then(|| m.leading_ones() as u8)
    }
    /// The network, if the mask is a prefix's.
    pub fn net(&self) -> Option<Ipv4Net> {
        self.prefix_len().and_then(|l| Ipv4Net::new(self.addr, l).ok())
    }
    /// True if `a` passes this match.
    #[inline]
    pub fn matches(&self, a: Ipv4Addr) -> bool {
        ((u32::from(a) & u32::from(self.mask)) == u32::from(self.addr)) != self.invert
    }
}

/// `addr/len`, or `addr/mask` for a mask that is no prefix's (`xtables_ipmask_to_numeric`);
/// without the `!`.
impl std::fmt::Display for AddrMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.prefix_len() {
            Some(l) => write!(f, "{}/{l}", self.addr),
            None => write!(f, "{}/{}", self.addr, self.mask),
        }
    }
}

/// `[!] -i/-o name[+]`: an interface name, `+` making it a prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IfaceMatch {
    /// The name without the trailing `+`.
    pub name: String,
    /// A trailing `+` was given: any interface whose name starts with `name` matches.
    pub wildcard: bool,
    /// `!` given.
    pub invert: bool,
}

impl IfaceMatch {
    /// True if the packet's interface (`None` where the hook has none) passes.
    pub fn matches(&self, iface: Option<&str>) -> bool {
        let name = iface.unwrap_or("");
        let hit = if self.wildcard { name.starts_with(&self.name) } else { name == self.name };
        hit != self.invert
    }
    /// The name as written (`cali+`).
    pub fn spelled(&self) -> String {
        if self.wildcard { format!("{}+", self.name) } else { self.name.clone() }
    }
}

/// `[!] -p proto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProtoMatch {
    /// The protocol.
    pub proto: Protocol,
    /// `!` given.
    pub invert: bool,
}

/// An inclusive port range `lo:hi` (a single port has `lo == hi`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// First port.
    pub lo: u16,
    /// Last port.
    pub hi: u16,
}

impl PortRange {
    /// True if `p` lies in the range.
    #[inline]
    pub fn contains(&self, p: u16) -> bool {
        self.lo <= p && p <= self.hi
    }
    /// `80` or `1000:2000`, as iptables-save writes ports.
    pub fn spelled(&self) -> String {
        if self.lo == self.hi { self.lo.to_string() } else { format!("{}:{}", self.lo, self.hi) }
    }
}

/// `[!] --sport/--dport range`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortMatch {
    /// The ports.
    pub range: PortRange,
    /// `!` given.
    pub invert: bool,
}

impl PortMatch {
    /// True if `p` passes.
    #[inline]
    pub fn matches(&self, p: u16) -> bool {
        self.range.contains(p) != self.invert
    }
}

/// `-m tcp` / `-m udp` options (`man iptables-extensions`: tcp, udp). `flags` and `option`
/// are tcp only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct L4Ports {
    /// `--sport`.
    pub sport: Option<PortMatch>,
    /// `--dport`.
    pub dport: Option<PortMatch>,
    /// `[!] --tcp-flags mask comp` (`--syn` is `FIN,SYN,RST,ACK SYN`).
    pub flags: Option<TcpFlagsMatch>,
    /// `[!] --tcp-option n`.
    pub option: Option<(u8, bool)>,
}

/// `[!] --tcp-flags mask comp`: `(flags & mask) == comp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TcpFlagsMatch {
    /// The flags examined.
    pub mask: u8,
    /// The flags that must be set among them.
    pub cmp: u8,
    /// `!` given.
    pub invert: bool,
}

/// libxt_tcp.c `tcp_flag_names`, in print order.
pub const TCP_FLAG_NAMES: [(&str, u8); 6] =
    [("FIN", 0x01), ("SYN", 0x02), ("RST", 0x04), ("PSH", 0x08), ("ACK", 0x10), ("URG", 0x20)];

/// `print_tcpf`: `FIN,SYN` or `NONE`.
pub fn tcp_flags_text(flags: u8) -> String {
    if flags == 0 {
        return "NONE".to_string();
    }
    TCP_FLAG_NAMES.iter().filter(|(_, b)| flags & b != 0).map(|(n, _)| *n).collect::<Vec<_>>().join(",")
}

/// `-m mark [!] --mark value[/mask]`: `(mark & mask) == value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MarkMatch {
    /// The value compared.
    pub value: u32,
    /// The mask (0xffffffff when none was given).
    pub mask: u32,
    /// `!` given.
    pub invert: bool,
}

/// A set of route types for `-m addrtype` (bit `1 << RTN_*`, as `xt_addrtype` stores them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AddrTypeSet(pub u16);

/// The route type names of `libxt_addrtype.c`, indexed by `RTN_*` number.
pub const ADDRTYPE_NAMES: [&str; 12] = [
    "UNSPEC",
    "UNICAST",
    "LOCAL",
    "BROADCAST",
    "ANYCAST",
    "MULTICAST",
    "BLACKHOLE",
    "UNREACHABLE",
    "PROHIBIT",
    "THROW",
    "NAT",
    "XRESOLVE",
];

impl AddrTypeSet {
    /// The bit of one of the model's address types.
    pub fn bit_of(t: AddrType) -> u16 {
        let rtn = match t {
            AddrType::Unicast => 1,
            AddrType::Local => 2,
            AddrType::Broadcast => 3,
            AddrType::Multicast => 5,
            AddrType::Unreachable => 7,
        };
        1 << rtn
    }
    /// True if `t` is in the set.
    pub fn contains(&self, t: AddrType) -> bool {
        self.0 & Self::bit_of(t) != 0
    }
    /// `LOCAL,UNICAST` in `RTN_*` order, as iptables prints.
    pub fn spelled(&self) -> String {
        let mut parts = Vec::new();
        for (i, n) in ADDRTYPE_NAMES.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                parts.push(*n);
            }
        }
        parts.join(",")
    }
}

/// `[!] --src-type/--dst-type types`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddrTypeCheck {
    /// Types that match.
    pub types: AddrTypeSet,
    /// `!` given.
    pub invert: bool,
}

/// `-m addrtype`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AddrTypeMatch {
    /// `--src-type`.
    pub src: Option<AddrTypeCheck>,
    /// `--dst-type`.
    pub dst: Option<AddrTypeCheck>,
    /// `--limit-iface-in` (accepted and printed; the model's address types are per host).
    pub limit_iface_in: bool,
    /// `--limit-iface-out` (accepted and printed).
    pub limit_iface_out: bool,
}

/// The mode of `-m statistic`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatisticMode {
    /// `--mode random --probability p`, stored as `lround(p * 2^31)`.
    Random {
        /// The kernel fixed-point probability.
        p_u32: u32,
    },
    /// `--mode nth --every n --packet p`: one packet in `n`, starting at counter `p`.
    Nth {
        /// `--every` (≥ 1).
        every: u32,
        /// `--packet` (< every).
        packet: u32,
    },
}

/// `-m statistic`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StatisticMatch {
    /// The mode and its parameters.
    pub mode: StatisticMode,
    /// `!` given (before `--probability` or `--every`).
    pub invert: bool,
    /// The kernel's running counter of nth mode (starts at `--packet`).
    pub nth_count: u32,
}

/// Converts a probability as written (`0.3333333333`) to the kernel's u32, as
/// `libxt_statistic.c` does: `lround(0x80000000 * p)`.
pub fn probability_to_u32(p: f64) -> u32 {
    (p * 2147483648.0).round() as u32
}

/// The probability `iptables-save` prints for a stored u32: `%.11f` of `p_u32 / 2^31`.
pub fn probability_text(p_u32: u32) -> String {
    format!("{:.11}", f64::from(p_u32) / 2147483648.0)
}

/// The command of `-m recent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecentCmd {
    /// `--set`: record the address; always matches.
    Set,
    /// `--rcheck`: match if the address is recorded.
    Rcheck,
    /// `--update`: like `--rcheck`, and refresh the entry when matched.
    Update,
    /// `--remove`: match and forget the address if it is recorded.
    Remove,
}

/// Which address `-m recent` records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecentSide {
    /// `--rsource` (the default).
    Source,
    /// `--rdest`.
    Dest,
}

/// `-m recent` (xt_recent revision 1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RecentMatch {
    /// The command.
    pub cmd: RecentCmd,
    /// `--seconds` (0 = not given).
    pub seconds: u32,
    /// `--reap`.
    pub reap: bool,
    /// `--hitcount` (0 = not given).
    pub hitcount: u32,
    /// `--rttl`.
    pub rttl: bool,
    /// `--name` (default `DEFAULT`).
    pub name: String,
    /// `--mask` (default 255.255.255.255).
    pub mask: Ipv4Addr,
    /// `--rsource`/`--rdest`.
    pub side: RecentSide,
    /// `!` given.
    pub invert: bool,
}

/// A set of conntrack states for `--ctstate`/`--state`, bits in `libxt_conntrack.c` print
/// order: INVALID NEW RELATED ESTABLISHED UNTRACKED SNAT DNAT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CtStateSet(pub u8);

/// Names of the [`CtStateSet`] bits.
pub const CTSTATE_NAMES: [&str; 7] =
    ["INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED", "SNAT", "DNAT"];

impl CtStateSet {
    /// The bit of a packet's state.
    pub fn bit_of(s: CtState) -> u8 {
        match s {
            CtState::Invalid => 1,
            CtState::New => 2,
            CtState::Related => 4,
            CtState::Established => 8,
            CtState::Untracked => 16,
        }
    }
    /// `RELATED,ESTABLISHED`.
    pub fn spelled(&self) -> String {
        spell_bits(u32::from(self.0), &CTSTATE_NAMES)
    }
}

/// A set of conntrack status bits for `--ctstatus`: NONE EXPECTED SEEN_REPLY ASSURED CONFIRMED.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CtStatusSet(pub u8);

/// Names of the [`CtStatusSet`] bits (bit 0 = NONE).
pub const CTSTATUS_NAMES: [&str; 5] = ["NONE", "EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED"];

impl CtStatusSet {
    /// `SEEN_REPLY,ASSURED`.
    pub fn spelled(&self) -> String {
        spell_bits(u32::from(self.0), &CTSTATUS_NAMES)
    }
}

fn spell_bits(bits: u32, names: &[&str]) -> String {
    let mut parts = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if bits & (1 << i) != 0 {
            parts.push(*n);
        }
    }
    parts.join(",")
}

/// `-m conntrack` (revision 3). The tuple, expiry and direction options real nodes rarely
/// use are boxed, so that kube-proxy's `--ctstate` rules stay small.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConntrackMatch {
    /// `[!] --ctstate`.
    pub state: Option<(CtStateSet, bool)>,
    /// `[!] --ctstatus`.
    pub status: Option<(CtStatusSet, bool)>,
    /// The other options, if any was given.
    pub tuple: Option<Box<CtTupleMatch>>,
}

/// `-m conntrack` options on the connection's tuples, expiry and direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CtTupleMatch {
    /// `[!] --ctproto` (protocol number).
    pub proto: Option<(u8, bool)>,
    /// `[!] --ctorigsrc`.
    pub orig_src: Option<(Ipv4Net, bool)>,
    /// `[!] --ctorigdst`.
    pub orig_dst: Option<(Ipv4Net, bool)>,
    /// `[!] --ctreplsrc`.
    pub repl_src: Option<(Ipv4Net, bool)>,
    /// `[!] --ctrepldst`.
    pub repl_dst: Option<(Ipv4Net, bool)>,
    /// `[!] --ctorigsrcport`.
    pub orig_sport: Option<(PortRange, bool)>,
    /// `[!] --ctorigdstport`.
    pub orig_dport: Option<(PortRange, bool)>,
    /// `[!] --ctreplsrcport`.
    pub repl_sport: Option<(PortRange, bool)>,
    /// `[!] --ctrepldstport`.
    pub repl_dport: Option<(PortRange, bool)>,
    /// `[!] --ctexpire lo[:hi]` (seconds).
    pub expire: Option<((u32, u32), bool)>,
    /// `--ctdir ORIGINAL` (false) / `REPLY` (true).
    pub dir_reply: Option<bool>,
}

impl ConntrackMatch {
    /// True if any option was given (libxt_conntrack: "At least one option is required").
    pub fn any(&self) -> bool {
        *self != ConntrackMatch::default()
    }
    /// The tuple options, created on first use (parsing).
    pub fn tuple_mut(&mut self) -> &mut CtTupleMatch {
        self.tuple.get_or_insert_with(Box::default)
    }
}

/// Which ports `-m multiport` compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MultiportDir {
    /// `--sports`.
    Source,
    /// `--dports`.
    Dest,
    /// `--ports`: either.
    Either,
}

/// `-m multiport [!] --dports p[,p:q...]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MultiportMatch {
    /// Which ports are compared.
    pub dir: MultiportDir,
    /// Up to 15 ports or ranges.
    pub ports: Vec<PortRange>,
    /// `!` given.
    pub invert: bool,
}

/// One dimension of `--match-set NAME src,dst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetDir {
    /// Take the source address/port.
    Src,
    /// Take the destination address/port.
    Dst,
}

/// `-m set [!] --match-set NAME dir[,dir...]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SetMatch {
    /// The ipset name.
    pub name: String,
    /// One direction per set dimension (a boxed slice: rules stay small).
    pub dirs: Box<[SetDir]>,
    /// `!` given.
    pub invert: bool,
    /// The revision-4 options (`--return-nomatch`, counters), boxed: rarely given.
    pub opts: Option<Box<SetOpts>>,
}

impl SetMatch {
    /// The revision-4 options, created on first use (parsing).
    pub fn opts_mut(&mut self) -> &mut SetOpts {
        self.opts.get_or_insert_with(Box::default)
    }
}

/// `-m set` options beyond the set (libxt_set.c revision 4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SetOpts {
    /// `--return-nomatch`.
    pub return_nomatch: bool,
    /// `! --update-counters`.
    pub no_update_counters: bool,
    /// `! --update-subcounters`.
    pub no_update_subcounters: bool,
    /// `[!] --packets-eq N`, `--packets-lt N`, `--packets-gt N`: (op 0 eq 1 ne 2 lt 3 gt, N).
    pub packets: Option<(u8, u64)>,
    /// The same for bytes.
    pub bytes: Option<(u8, u64)>,
}

/// An extension match (`-m name ...`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Match {
    /// `-m tcp` (explicit, or loaded implicitly by `-p tcp --dport`).
    Tcp(L4Ports),
    /// `-m udp`.
    Udp(L4Ports),
    /// `-m comment --comment text` (always matches).
    Comment(String),
    /// `-m mark`.
    Mark(MarkMatch),
    /// `-m addrtype`.
    AddrType(AddrTypeMatch),
    /// `-m statistic`.
    Statistic(StatisticMatch),
    /// `-m recent`.
    Recent(RecentMatch),
    /// `-m conntrack`.
    Conntrack(ConntrackMatch),
    /// `-m state [!] --state`.
    State(CtStateSet, bool),
    /// `-m multiport`.
    Multiport(MultiportMatch),
    /// `-m set`.
    Set(SetMatch),
    /// `-m icmp [!] --icmp-type type[/code]`.
    Icmp(IcmpMatch),
    /// `-m nfacct --nfacct-name NAME` (xt_nfacct): always matches, and counts the packet into
    /// the named accounting object ([`super::Netfilter::nfacct_counters`]).
    Nfacct(NfacctName),
    /// The extensions of [`super::ext`] (boxed: the common matches stay small).
    Ext(Box<super::ext::ExtMatch>),
    /// A match netsim does not simulate, loaded with `--skip-unknown`: kept as written (its
    /// options verbatim) and never matching; a trace lists each rule it made not match.
    Unknown(Box<UnknownMatch>),
}

/// `-m NAME OPTIONS...` of a match netsim does not simulate ([`Match::Unknown`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UnknownMatch {
    /// The name given to `-m`.
    pub name: String,
    /// The options after it, as given (`!` included).
    pub args: Vec<String>,
}

/// The longest `--nfacct-name`: `NFACCT_NAME_MAX` (32) bytes including the terminating NUL.
pub const NFACCT_NAME_MAX: usize = 31;

/// The name of an nfnetlink_acct accounting object, as `struct xt_nfacct_match_info` holds it
/// (1 to [`NFACCT_NAME_MAX`] bytes, no newline).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NfacctName(String);

impl NfacctName {
    /// Checks a name as `libxt_nfacct.c` does: at least one character (`.min = 1`), no newline.
    /// A longer name is cut to [`NFACCT_NAME_MAX`] bytes, as `xtopt_parse_string` copies at most
    /// the field's size minus the NUL.
    pub fn parse(s: &str) -> Option<NfacctName> {
        if s.is_empty() || s.contains('\n') {
            return None;
        }
        let mut end = s.len().min(NFACCT_NAME_MAX);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        Some(NfacctName(s[..end].to_string()))
    }
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `-m icmp [!] --icmp-type type[/code]` (libipt_icmp.c; type 255 means any).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IcmpMatch {
    /// The ICMP type (255 = any).
    pub icmp_type: u8,
    /// Inclusive code range (0..=255 when no code was given).
    pub codes: (u8, u8),
    /// `!` given.
    pub invert: bool,
}

/// ICMP type names `--icmp-type` accepts (libipt_icmp.c `icmp_codes`): name, type, code range.
pub const ICMP_TYPES: [(&str, u8, (u8, u8)); 40] = [
    ("any", 255, (0, 255)),
    ("echo-reply", 0, (0, 255)),
    ("pong", 0, (0, 255)),
    ("destination-unreachable", 3, (0, 255)),
    ("network-unreachable", 3, (0, 0)),
    ("host-unreachable", 3, (1, 1)),
    ("protocol-unreachable", 3, (2, 2)),
    ("port-unreachable", 3, (3, 3)),
    ("fragmentation-needed", 3, (4, 4)),
    ("source-route-failed", 3, (5, 5)),
    ("network-unknown", 3, (6, 6)),
    ("host-unknown", 3, (7, 7)),
    ("network-prohibited", 3, (9, 9)),
    ("host-prohibited", 3, (10, 10)),
    ("TOS-network-unreachable", 3, (11, 11)),
    ("TOS-host-unreachable", 3, (12, 12)),
    ("communication-prohibited", 3, (13, 13)),
    ("host-precedence-violation", 3, (14, 14)),
    ("precedence-cutoff", 3, (15, 15)),
    ("source-quench", 4, (0, 255)),
    ("redirect", 5, (0, 255)),
    ("network-redirect", 5, (0, 0)),
    ("host-redirect", 5, (1, 1)),
    ("TOS-network-redirect", 5, (2, 2)),
    ("TOS-host-redirect", 5, (3, 3)),
    ("echo-request", 8, (0, 255)),
    ("ping", 8, (0, 255)),
    ("router-advertisement", 9, (0, 255)),
    ("router-solicitation", 10, (0, 255)),
    ("time-exceeded", 11, (0, 255)),
    ("ttl-exceeded", 11, (0, 255)),
    ("ttl-zero-during-transit", 11, (0, 0)),
    ("ttl-zero-during-reassembly", 11, (1, 1)),
    ("parameter-problem", 12, (0, 255)),
    ("ip-header-bad", 12, (0, 0)),
    ("required-option-missing", 12, (1, 1)),
    ("timestamp-request", 13, (0, 255)),
    ("timestamp-reply", 14, (0, 255)),
    ("address-mask-request", 17, (0, 255)),
    ("address-mask-reply", 18, (0, 255)),
];

impl Match {
    /// The `-m` name.
    pub fn name(&self) -> &'static str {
        match self {
            Match::Tcp(_) => "tcp",
            Match::Udp(_) => "udp",
            Match::Comment(_) => "comment",
            Match::Mark(_) => "mark",
            Match::AddrType(_) => "addrtype",
            Match::Statistic(_) => "statistic",
            Match::Recent(_) => "recent",
            Match::Conntrack(_) => "conntrack",
            Match::State(..) => "state",
            Match::Multiport(_) => "multiport",
            Match::Set(_) => "set",
            Match::Icmp(_) => "icmp",
            Match::Nfacct(_) => "nfacct",
            Match::Ext(e) => e.name(),
            Match::Unknown(_) => "unknown",
        }
    }
}

/// A chain named by a jump, with its position in the table (resolved when the rule is added).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChainRef {
    /// The chain name.
    pub name: String,
    /// The chain's id in its table ([`Table::pos_of_id`](super::table::Table::pos_of_id) gives
    /// its position); `usize::MAX` until resolved.
    pub idx: usize,
}

/// `-j MARK`: `mark = (mark & !mask) ^ value` (every MARK option is stored this way).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MarkTarget {
    /// XORed in.
    pub value: u32,
    /// Bits cleared first.
    pub mask: u32,
}

impl MarkTarget {
    /// Applies the target to a mark.
    pub fn apply(&self, mark: u32) -> u32 {
        (mark & !self.mask) ^ self.value
    }
}

/// The address range of `--to-destination`/`--to-source` (`min-max`, or one address), as
/// the kernel's `struct nf_nat_range` holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddrRange {
    /// The first address.
    pub min: Ipv4Addr,
    /// The last address (equal to `min` for one address).
    pub max: Ipv4Addr,
}

impl AddrRange {
    /// One address.
    pub fn single(a: Ipv4Addr) -> AddrRange {
        AddrRange { min: a, max: a }
    }

    /// The address the kernel maps a connection from `src` to `dst` to, as
    /// `find_best_ips_proto` (net/netfilter/nf_nat_core.c) chooses it: one address is taken
    /// as is; otherwise `min + reciprocal_scale(jhash2(src, initval), max - min + 1)`, where
    /// `src` is the tuple's 16-byte `union nf_inet_addr` and `initval` is the destination
    /// address (0 with `--persistent`; conntrack zone 0). So a client keeps its address
    /// across connections, and the choice matches the real kernel's (checked against it in a
    /// network namespace: `sim-net/tests/xtables_real.rs`).
    pub fn pick(&self, src: Ipv4Addr, dst: Ipv4Addr, persistent: bool) -> Ipv4Addr {
        let (lo, hi) = (u32::from(self.min), u32::from(self.max));
        if lo >= hi {
            return self.min;
        }
        // The kernel reads the addresses as stored (network order) into host-order words.
        let word = |a: Ipv4Addr| u32::from_le_bytes(a.octets());
        let j = jhash2(&[word(src), 0, 0, 0], if persistent { 0 } else { word(dst) });
        let dist = u64::from(hi - lo) + 1;
        Ipv4Addr::from(lo + ((u64::from(j) * dist) >> 32) as u32)
    }
}

impl std::fmt::Display for AddrRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.min == self.max { write!(f, "{}", self.min) } else { write!(f, "{}-{}", self.min, self.max) }
    }
}

/// The kernel's `jhash2` (include/linux/jhash.h, Bob Jenkins' lookup3 over 32-bit words).
pub fn jhash2(k: &[u32], initval: u32) -> u32 {
    let init = 0xdead_beefu32.wrapping_add((k.len() as u32) << 2).wrapping_add(initval);
    let (mut a, mut b, mut c) = (init, init, init);
    let mut k = k;
    while k.len() > 3 {
        a = a.wrapping_add(k[0]);
        b = b.wrapping_add(k[1]);
        c = c.wrapping_add(k[2]);
        // __jhash_mix.
        a = a.wrapping_sub(c);
        a ^= c.rotate_left(4);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= a.rotate_left(6);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= b.rotate_left(8);
        b = b.wrapping_add(a);
        a = a.wrapping_sub(c);
        a ^= c.rotate_left(16);
        c = c.wrapping_add(b);
        b = b.wrapping_sub(a);
        b ^= a.rotate_left(19);
        a = a.wrapping_add(c);
        c = c.wrapping_sub(b);
        c ^= b.rotate_left(4);
        b = b.wrapping_add(a);
        k = &k[3..];
    }
    if k.is_empty() {
        return c;
    }
    if k.len() == 3 {
        c = c.wrapping_add(k[2]);
    }
    if k.len() >= 2 {
        b = b.wrapping_add(k[1]);
    }
    a = a.wrapping_add(k[0]);
    // __jhash_final.
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(14));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(11));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(25));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(16));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(4));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(14));
    c ^= b;
    c.wrapping_sub(b.rotate_left(24))
}

/// `-j DNAT` options (libxt_DNAT.c, `struct nf_nat_range2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DnatTarget {
    /// The address range, or `None` for a port-only `--to-destination :port`.
    pub addrs: Option<AddrRange>,
    /// The port range.
    pub ports: Option<(u16, u16)>,
    /// `--random`.
    pub random: bool,
    /// `--persistent`.
    pub persistent: bool,
}

impl DnatTarget {
    /// `--to-destination addr[:port]`.
    pub fn to(addr: Ipv4Addr, port: Option<u16>) -> DnatTarget {
        DnatTarget {
            addrs: Some(AddrRange::single(addr)),
            ports: port.map(|p| (p, p)),
            random: false,
            persistent: false,
        }
    }

    /// The destination a connection from `src` to `dst:dport` is mapped to: the address as
    /// [`AddrRange::pick`] chooses it (kept when no address was given), and the port kept
    /// if it is already in the range, else the range's first port (`nf_nat_l4proto_unique_tuple`
    /// with offset 0 for DNAT). Left out: the uniqueness walk over ports already in use, and
    /// `--random`'s random offset (the first port is taken).
    pub fn resolve(&self, src: Ipv4Addr, dst: Ipv4Addr, dport: Option<u16>) -> (Ipv4Addr, Option<u16>) {
        let addr = self.addrs.map_or(dst, |r| r.pick(src, dst, self.persistent));
        let port = self.ports.map(|(lo, hi)| match dport {
            Some(p) if (lo..=hi).contains(&p) => p,
            _ => lo,
        });
        (addr, port)
    }
}

/// `-j SNAT`/`-j MASQUERADE` options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SnatOpts {
    /// `:port-port` of `--to-source`, or `--to-ports`.
    pub ports: Option<(u16, u16)>,
    /// `--random`.
    pub random: bool,
    /// `--random-fully`.
    pub random_fully: bool,
    /// `--persistent` (SNAT only).
    pub persistent: bool,
}

/// `-j LOG` options.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LogTarget {
    /// `--log-prefix`.
    pub prefix: String,
    /// `--log-level` (syslog level, default 4 = warning).
    pub level: u8,
    /// `IPT_LOG_*` flags: 0x01 `--log-tcp-sequence`, 0x02 `--log-tcp-options`, 0x04
    /// `--log-ip-options`, 0x08 `--log-uid`, 0x20 `--log-macdecode`.
    pub flags: u8,
}

/// The `LOG` flag options in `LOG_save` order.
pub const LOG_FLAGS: [(&str, u8); 5] = [
    ("--log-tcp-sequence", 0x01),
    ("--log-tcp-options", 0x02),
    ("--log-ip-options", 0x04),
    ("--log-uid", 0x08),
    ("--log-macdecode", 0x20),
];

/// What a matching rule does.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// No `-j`: the rule only counts.
    None,
    /// `ACCEPT`: ends this table's traversal; the next table still runs.
    Accept,
    /// `DROP`: ends the hook.
    Drop,
    /// `RETURN`: back to the calling chain (the policy in a built-in chain).
    Return,
    /// `REJECT [--reject-with]`: ends the hook, the stack answers.
    Reject(RejectWith),
    /// `-j CHAIN`: pushes a return point.
    Jump(ChainRef),
    /// `-g CHAIN`: continues in CHAIN without a return point.
    Goto(ChainRef),
    /// `DNAT --to-destination [addr[-addr]][:port[-port]] [--random] [--persistent]`.
    Dnat(DnatTarget),
    /// `SNAT --to-source addr[-addr][:ports]`.
    Snat {
        /// The source address range.
        addrs: AddrRange,
        /// Options.
        opts: SnatOpts,
    },
    /// `MASQUERADE`.
    Masquerade(SnatOpts),
    /// `MARK`.
    Mark(MarkTarget),
    /// `LOG` (non-terminating; recorded in the trace).
    Log(LogTarget),
    /// `NOTRACK` (raw table).
    Notrack,
    /// `CT --notrack` (raw table).
    CtNotrack,
    /// The targets of [`super::ext`].
    Ext(Box<super::ext::ExtTarget>),
}

impl Target {
    /// The target name as `iptables -L` prints it in the target column.
    pub fn column_name(&self) -> &str {
        match self {
            Target::None => "",
            Target::Accept => "ACCEPT",
            Target::Drop => "DROP",
            Target::Return => "RETURN",
            Target::Reject(_) => "REJECT",
            Target::Jump(c) | Target::Goto(c) => &c.name,
            Target::Dnat { .. } => "DNAT",
            Target::Snat { .. } => "SNAT",
            Target::Masquerade(_) => "MASQUERADE",
            Target::Mark(_) => "MARK",
            Target::Log(_) => "LOG",
            Target::Notrack => "NOTRACK",
            Target::CtNotrack => "CT",
            Target::Ext(e) => e.name(),
        }
    }
    /// The chain a jump or goto names.
    pub fn chain(&self) -> Option<&ChainRef> {
        match self {
            Target::Jump(c) | Target::Goto(c) => Some(c),
            _ => None,
        }
    }
}

/// Parses a `--reject-with` value, including the aliases `libipt_REJECT.c` accepts.
pub fn parse_reject_with(s: &str) -> Option<RejectWith> {
    Some(match s {
        "icmp-net-unreachable" | "net-unreach" => RejectWith::IcmpNetUnreachable,
        "icmp-host-unreachable" | "host-unreach" => RejectWith::IcmpHostUnreachable,
        "icmp-port-unreachable" | "port-unreach" => RejectWith::IcmpPortUnreachable,
        "icmp-proto-unreachable" | "proto-unreach" => RejectWith::IcmpProtoUnreachable,
        "icmp-net-prohibited" | "net-prohib" => RejectWith::IcmpNetProhibited,
        "icmp-host-prohibited" | "host-prohib" => RejectWith::IcmpHostProhibited,
        "icmp-admin-prohibited" | "admin-prohib" => RejectWith::IcmpAdminProhibited,
        "tcp-reset" | "tcp-rst" => RejectWith::TcpReset,
        _ => return None,
    })
}

/// One rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// `-s`.
    pub src: Option<AddrMatch>,
    /// `-d`.
    pub dst: Option<AddrMatch>,
    /// `-i`. Boxed, as `-o` is: few rules name an interface (none of kube-proxy's endpoint
    /// and service chains), and inline the two took 64 of a rule's 168 bytes.
    pub in_iface: Option<Box<IfaceMatch>>,
    /// `-o`.
    pub out_iface: Option<Box<IfaceMatch>>,
    /// `-p` (`None` = all).
    pub proto: Option<ProtoMatch>,
    /// `-p` of a protocol the model generates no traffic of (`gre`, `esp`, `4`): the number
    /// and `!`. Set only when `proto` is `None`.
    pub proto_num: Option<(u8, bool)>,
    /// `-f` (`Some(false)`: second and further fragments only) or `! -f` (`Some(true)`:
    /// unfragmented packets and first fragments). The model's packets are never fragmented,
    /// so `-f` matches none of them and `! -f` all.
    pub fragment: Option<bool>,
    /// Extension matches in the order added.
    pub matches: Vec<Match>,
    /// The target.
    pub target: Target,
    /// Packet and byte counters.
    pub counters: Counters,
}

impl Rule {
    /// A rule that matches everything and has no target.
    pub fn new() -> Rule {
        Rule {
            src: None,
            dst: None,
            in_iface: None,
            out_iface: None,
            proto: None,
            proto_num: None,
            fragment: None,
            matches: Vec::new(),
            target: Target::None,
            counters: Counters::default(),
        }
    }

    /// True if the two rules are the same rule spec (counters ignored), as `iptables -D` compares.
    pub fn same_spec(&self, other: &Rule) -> bool {
        self.src == other.src
            && self.dst == other.dst
            && self.in_iface == other.in_iface
            && self.out_iface == other.out_iface
            && self.proto == other.proto
            && self.proto_num == other.proto_num
            && self.fragment == other.fragment
            && match (&self.target, &other.target) {
                // Chain indices are an implementation detail; the spec names the chain.
                (Target::Jump(a), Target::Jump(b)) | (Target::Goto(a), Target::Goto(b)) => a.name == b.name,
                (a, b) => a == b,
            }
            && self.matches.len() == other.matches.len()
            && self.matches.iter().zip(&other.matches).all(|(a, b)| match (a, b) {
                // The nth counter is run-time state, not part of the spec.
                (Match::Statistic(x), Match::Statistic(y)) => x.mode == y.mode && x.invert == y.invert,
                _ => a == b,
            })
    }
}

impl Default for Rule {
    fn default() -> Self {
        Rule::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probability_fixed_point_matches_real_iptables_save() {
        // formats.md §1.1: kube-proxy writes %0.10f of 1/n; iptables-save prints these.
        let cases = [
            (2, "0.50000000000"),
            (3, "0.33333333349"),
            (4, "0.25000000000"),
            (5, "0.20000000019"),
            (6, "0.16666666651"),
            (7, "0.14285714272"),
        ];
        for (n, want) in cases {
            let written = format!("{:.10}", 1.0 / f64::from(n));
            let p: f64 = written.parse().unwrap();
            assert_eq!(probability_text(probability_to_u32(p)), want, "1/{n}");
        }
        assert_eq!(probability_to_u32(1.0), 0x8000_0000);
    }

    #[test]
    fn mark_target_forms() {
        // --or-mark 0x4000 = --set-xmark 0x4000/0x4000; --xor-mark 0x4000 = 0x4000/0x0.
        let or = MarkTarget { value: 0x4000, mask: 0x4000 };
        assert_eq!(or.apply(0x1), 0x4001);
        let xor = MarkTarget { value: 0x4000, mask: 0 };
        assert_eq!(xor.apply(0x4001), 0x1);
        let set = MarkTarget { value: 0x10, mask: 0xffff_ffff };
        assert_eq!(set.apply(0xff00), 0x10);
    }

    #[test]
    fn address_and_iface_matching() {
        let m = AddrMatch::of_net("10.244.0.0/16".parse().unwrap(), true);
        assert!(!m.matches(Ipv4Addr::new(10, 244, 3, 4)));
        assert!(m.matches(Ipv4Addr::new(10, 96, 0, 10)));
        let any = AddrMatch::of_net("0.0.0.0/0".parse().unwrap(), false);
        assert!(any.matches(Ipv4Addr::new(1, 2, 3, 4)));
        // A mask that is no prefix's: the second octet is not looked at.
        let odd = AddrMatch::with_mask(Ipv4Addr::new(10, 1, 2, 3), Ipv4Addr::new(255, 0, 255, 0), false);
        assert_eq!(odd.to_string(), "10.0.2.0/255.0.255.0");
        assert_eq!(odd.net(), None);
        assert!(odd.matches(Ipv4Addr::new(10, 77, 2, 9)));
        assert!(!odd.matches(Ipv4Addr::new(10, 77, 3, 9)));
        assert_eq!(m.to_string(), "10.244.0.0/16");
        let i = IfaceMatch { name: "cali".into(), wildcard: true, invert: false };
        assert!(i.matches(Some("cali123")));
        assert!(!i.matches(Some("eth0")));
        assert!(!i.matches(None));
        let plus = IfaceMatch { name: String::new(), wildcard: true, invert: false };
        assert!(plus.matches(Some("eth0")));
    }

    #[test]
    fn rules_stay_small() {
        // A 10,000-service KUBE-SERVICES holds ~40,000 matches: the extensions' options are
        // boxed (Match::Ext, conntrack's tuple options, set's counters) so that adding them
        // did not grow the matches kube-proxy writes.
        assert!(std::mem::size_of::<Match>() <= 56, "{}", std::mem::size_of::<Match>());
        assert!(std::mem::size_of::<Target>() <= 40, "{}", std::mem::size_of::<Target>());
    }

    #[test]
    fn state_sets_print_in_kernel_order() {
        let s = CtStateSet(CtStateSet::bit_of(CtState::Established) | CtStateSet::bit_of(CtState::Related));
        assert_eq!(s.spelled(), "RELATED,ESTABLISHED");
        let a = AddrTypeSet(AddrTypeSet::bit_of(AddrType::Local) | AddrTypeSet::bit_of(AddrType::Unicast));
        assert_eq!(a.spelled(), "UNICAST,LOCAL");
    }

    /// The kernel's choices, read from `conntrack -L` in a network namespace (kernel 6.x,
    /// iptables-nft 1.8.9): `-A OUTPUT -d 1.1.1.1 -p udp -j DNAT --to-destination
    /// 10.0.0.1-10.0.0.9:80-90` and `-A POSTROUTING -o d0 -p udp -j SNAT --to-source
    /// 192.168.5.10-192.168.5.20`, a datagram from 192.168.5.1 to 1.1.1.1:53 and one to :85.
    #[test]
    fn nat_ranges_pick_what_the_kernel_picked() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let dnat = DnatTarget {
            addrs: Some(AddrRange { min: ip("10.0.0.1"), max: ip("10.0.0.9") }),
            ports: Some((80, 90)),
            random: false,
            persistent: false,
        };
        assert_eq!(dnat.resolve(ip("192.168.5.1"), ip("1.1.1.1"), Some(53)), (ip("10.0.0.3"), Some(80)));
        assert_eq!(dnat.resolve(ip("192.168.5.1"), ip("1.1.1.1"), Some(85)), (ip("10.0.0.3"), Some(85)));
        let snat = AddrRange { min: ip("192.168.5.10"), max: ip("192.168.5.20") };
        assert_eq!(snat.pick(ip("192.168.5.1"), ip("10.0.0.3"), false), ip("192.168.5.20"));
        assert_eq!(AddrRange::single(ip("1.2.3.4")).pick(ip("9.9.9.9"), ip("8.8.8.8"), false), ip("1.2.3.4"));
        // A port-only DNAT keeps the address.
        let port_only =
            DnatTarget { addrs: None, ports: Some((8080, 8080)), random: false, persistent: false };
        assert_eq!(port_only.resolve(ip("1.1.1.1"), ip("2.2.2.2"), Some(80)), (ip("2.2.2.2"), Some(8080)));
    }
}
