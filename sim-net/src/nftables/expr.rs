//! nftables expressions, values and statements: the typed form of what a rule says, printed
//! the way `nft list` prints it (`src/expression.c`, `src/statement.c`, `src/datatype.c`).
//!
//! A [`Value`] carries its data type, so it prints itself (`tcp`, `0x00004000`, `"eth0"`,
//! `established,related`). Bitmask types (ct state, ct status, tcp flags) match a plain
//! `ct state new` as "any of these bits" and `ct state == new` as equality, as nft compiles them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ruleset::Family;

/// The data types of set keys, map data and expressions (`nft describe` names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DataType {
    /// `ipv4_addr`.
    Ipv4Addr,
    /// `ipv6_addr`.
    Ipv6Addr,
    /// `inet_proto`.
    InetProto,
    /// `inet_service` (a port).
    InetService,
    /// `mark`.
    Mark,
    /// `ifname`.
    Ifname,
    /// `ct_state`.
    CtState,
    /// `ct_status`.
    CtStatus,
    /// `integer`.
    Integer,
    /// `fib_addrtype`.
    FibAddrType,
    /// `icmp_type`.
    IcmpType,
    /// `tcp_flag`.
    TcpFlag,
    /// `nf_proto`.
    NfProto,
    /// `ether_type` (`meta protocol`).
    EtherType,
    /// `pkt_type` (`meta pkttype`).
    PktType,
    /// `verdict` (map data only).
    Verdict,
}

impl DataType {
    /// The name `nft` uses.
    pub const fn name(self) -> &'static str {
        match self {
            DataType::Ipv4Addr => "ipv4_addr",
            DataType::Ipv6Addr => "ipv6_addr",
            DataType::InetProto => "inet_proto",
            DataType::InetService => "inet_service",
            DataType::Mark => "mark",
            DataType::Ifname => "ifname",
            DataType::CtState => "ct_state",
            DataType::CtStatus => "ct_status",
            DataType::Integer => "integer",
            DataType::FibAddrType => "fib_addrtype",
            DataType::IcmpType => "icmp_type",
            DataType::TcpFlag => "tcp_flag",
            DataType::NfProto => "nf_proto",
            DataType::EtherType => "ether_type",
            DataType::PktType => "pkt_type",
            DataType::Verdict => "verdict",
        }
    }

    /// Parses a type name.
    pub fn parse(s: &str) -> Option<DataType> {
        [
            DataType::Ipv4Addr,
            DataType::Ipv6Addr,
            DataType::InetProto,
            DataType::InetService,
            DataType::Mark,
            DataType::Ifname,
            DataType::CtState,
            DataType::CtStatus,
            DataType::Integer,
            DataType::FibAddrType,
            DataType::IcmpType,
            DataType::TcpFlag,
            DataType::NfProto,
            DataType::EtherType,
            DataType::PktType,
            DataType::Verdict,
        ]
        .into_iter()
        .find(|t| t.name() == s)
    }

    /// The width in bits of an address type (for prefix lengths), `None` for other types.
    pub const fn addr_bits(self) -> Option<u32> {
        match self {
            DataType::Ipv4Addr => Some(32),
            DataType::Ipv6Addr => Some(128),
            _ => None,
        }
    }

    /// True for the bitmask types, whose plain match tests "any of these bits".
    pub const fn is_bitmask(self) -> bool {
        matches!(self, DataType::CtState | DataType::CtStatus | DataType::TcpFlag)
    }

    /// How many elements of a named set of this key type `nft list` prints on one line
    /// (`calculate_delim` in `src/expression.c`); `None`: one per line.
    pub(crate) const fn per_line(self) -> Option<usize> {
        match self {
            DataType::NfProto
            | DataType::Integer
            | DataType::InetProto
            | DataType::InetService
            | DataType::TcpFlag
            | DataType::Mark => Some(5),
            DataType::Ipv4Addr | DataType::CtState | DataType::CtStatus | DataType::PktType => Some(2),
            _ => None,
        }
    }
}

/// `ct state` bits (`IP_CT_*` as `NF_CT_STATE_BIT`).
pub mod ct_state {
    /// `invalid`.
    pub const INVALID: u32 = 1;
    /// `established`.
    pub const ESTABLISHED: u32 = 2;
    /// `related`.
    pub const RELATED: u32 = 4;
    /// `new`.
    pub const NEW: u32 = 8;
    /// `untracked`.
    pub const UNTRACKED: u32 = 64;
    /// Names in the order nft prints them.
    pub const NAMES: [(u32, &str); 5] = [
        (INVALID, "invalid"),
        (ESTABLISHED, "established"),
        (RELATED, "related"),
        (NEW, "new"),
        (UNTRACKED, "untracked"),
    ];
}

/// `ct status` bits (`IPS_*`).
pub mod ct_status {
    /// `snat`.
    pub const SNAT: u32 = 16;
    /// `dnat`.
    pub const DNAT: u32 = 32;
    /// Names in the order nft prints them.
    pub const NAMES: [(u32, &str); 7] = [
        (1, "expected"),
        (2, "seen-reply"),
        (4, "assured"),
        (8, "confirmed"),
        (SNAT, "snat"),
        (DNAT, "dnat"),
        (512, "dying"),
    ];
}

/// Protocol names as nft reads and prints them: `/etc/protocols` of the reference host
/// (Debian's netbase 6.4, nft's `getprotobyname`/`getprotobynumber`); a number's first name is
/// the one printed.
const PROTOCOLS: [(u8, &str); 56] = [
    (0, "ip"),
    (0, "hopopt"),
    (1, "icmp"),
    (2, "igmp"),
    (3, "ggp"),
    (4, "ipencap"),
    (5, "st"),
    (6, "tcp"),
    (8, "egp"),
    (9, "igp"),
    (12, "pup"),
    (17, "udp"),
    (20, "hmp"),
    (22, "xns-idp"),
    (27, "rdp"),
    (29, "iso-tp4"),
    (33, "dccp"),
    (36, "xtp"),
    (37, "ddp"),
    (38, "idpr-cmtp"),
    (41, "ipv6"),
    (43, "ipv6-route"),
    (44, "ipv6-frag"),
    (45, "idrp"),
    (46, "rsvp"),
    (47, "gre"),
    (50, "esp"),
    (51, "ah"),
    (57, "skip"),
    (58, "ipv6-icmp"),
    (59, "ipv6-nonxt"),
    (60, "ipv6-opts"),
    (73, "rspf"),
    (81, "vmtp"),
    (88, "eigrp"),
    (89, "ospf"),
    (93, "ax.25"),
    (94, "ipip"),
    (97, "etherip"),
    (98, "encap"),
    (103, "pim"),
    (108, "ipcomp"),
    (112, "vrrp"),
    (115, "l2tp"),
    (124, "isis"),
    (132, "sctp"),
    (133, "fc"),
    (135, "mobility-header"),
    (136, "udplite"),
    (137, "mpls-in-ip"),
    (138, "manet"),
    (139, "hip"),
    (140, "shim6"),
    (141, "wesp"),
    (142, "rohc"),
    (143, "ethernet"),
];

const TCP_FLAGS: [(u32, &str); 8] =
    [(1, "fin"), (2, "syn"), (4, "rst"), (8, "psh"), (16, "ack"), (32, "urg"), (64, "ecn"), (128, "cwr")];

const FIB_TYPES: [(u8, &str); 12] = [
    (0, "unspec"),
    (1, "unicast"),
    (2, "local"),
    (3, "broadcast"),
    (4, "anycast"),
    (5, "multicast"),
    (6, "blackhole"),
    (7, "unreachable"),
    (8, "prohibit"),
    (9, "throw"),
    (10, "nat"),
    (11, "xresolve"),
];

const ICMP_TYPES: [(u8, &str); 9] = [
    (0, "echo-reply"),
    (3, "destination-unreachable"),
    (5, "redirect"),
    (8, "echo-request"),
    (9, "router-advertisement"),
    (10, "router-solicitation"),
    (11, "time-exceeded"),
    (12, "parameter-problem"),
    (13, "timestamp-request"),
];

/// A typed constant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    /// `ipv4_addr`.
    Addr(Ipv4Addr),
    /// `ipv6_addr`.
    Addr6(Ipv6Addr),
    /// `inet_proto` (a protocol number).
    Proto(u8),
    /// `inet_service`.
    Port(u16),
    /// `mark`.
    Mark(u32),
    /// `ifname`.
    Ifname(String),
    /// `ct_state` bits.
    CtState(u32),
    /// `ct_status` bits.
    CtStatus(u32),
    /// `integer`.
    Int(u64),
    /// `fib_addrtype` (`RTN_*`).
    FibType(u8),
    /// `icmp_type`.
    IcmpType(u8),
    /// `tcp_flag` bits.
    TcpFlags(u32),
    /// `nf_proto` (2: ipv4).
    NfProto(u8),
    /// `ether_type` (0x0800: ip).
    EtherType(u16),
    /// `pkt_type` (0: host).
    PktType(u8),
}

impl Value {
    /// The value's data type.
    pub fn dtype(&self) -> DataType {
        match self {
            Value::Addr(_) => DataType::Ipv4Addr,
            Value::Addr6(_) => DataType::Ipv6Addr,
            Value::Proto(_) => DataType::InetProto,
            Value::Port(_) => DataType::InetService,
            Value::Mark(_) => DataType::Mark,
            Value::Ifname(_) => DataType::Ifname,
            Value::CtState(_) => DataType::CtState,
            Value::CtStatus(_) => DataType::CtStatus,
            Value::Int(_) => DataType::Integer,
            Value::FibType(_) => DataType::FibAddrType,
            Value::IcmpType(_) => DataType::IcmpType,
            Value::TcpFlags(_) => DataType::TcpFlag,
            Value::NfProto(_) => DataType::NfProto,
            Value::EtherType(_) => DataType::EtherType,
            Value::PktType(_) => DataType::PktType,
        }
    }

    /// The bits of a bitmask or integer value (for `&`, `|`, `^` and bit tests).
    pub fn bits(&self) -> u64 {
        match self {
            Value::Addr(a) => u64::from(u32::from(*a)),
            // The low 64 bits (a binop on an IPv6 address never reaches a packet here).
            Value::Addr6(a) => u128::from(*a) as u64,
            Value::Proto(p)
            | Value::FibType(p)
            | Value::IcmpType(p)
            | Value::NfProto(p)
            | Value::PktType(p) => u64::from(*p),
            Value::Port(p) | Value::EtherType(p) => u64::from(*p),
            Value::Mark(m) | Value::CtState(m) | Value::CtStatus(m) | Value::TcpFlags(m) => u64::from(*m),
            Value::Int(i) => *i,
            Value::Ifname(_) => 0,
        }
    }

    /// The value as the kernel stores it in a set key (each field padded to 4 bytes, network
    /// byte order except `mark`, `ifname` and integers, which are host order), for `nft
    /// list`'s element order.
    pub(crate) fn key_bytes(&self, out: &mut Vec<u8>) {
        match self {
            Value::Addr(a) => out.extend_from_slice(&a.octets()),
            Value::Addr6(a) => out.extend_from_slice(&a.octets()),
            Value::Proto(p)
            | Value::NfProto(p)
            | Value::FibType(p)
            | Value::IcmpType(p)
            | Value::PktType(p) => out.extend_from_slice(&[*p, 0, 0, 0]),
            Value::Port(p) | Value::EtherType(p) => {
                out.extend_from_slice(&p.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
            }
            Value::Mark(m) | Value::CtState(m) | Value::CtStatus(m) | Value::TcpFlags(m) => {
                out.extend_from_slice(&m.to_le_bytes())
            }
            Value::Int(i) => out.extend_from_slice(&(*i as u32).to_le_bytes()),
            Value::Ifname(s) => {
                let mut b = [0u8; 16];
                for (d, c) in b.iter_mut().zip(s.bytes()) {
                    *d = c;
                }
                out.extend_from_slice(&b);
            }
        }
    }

    /// True for types stored in network byte order (their single-field sets sort by value).
    pub(crate) fn is_big_endian(&self) -> bool {
        matches!(
            self,
            Value::Addr(_)
                | Value::Addr6(_)
                | Value::Proto(_)
                | Value::Port(_)
                | Value::NfProto(_)
                | Value::EtherType(_)
                | Value::PktType(_)
        )
    }

    /// Parses a constant of type `t` from one token's text (`tcp`, `80`, `0x4000`,
    /// `established`, `"eth0"` without quotes ...). Bitmask types take one name; lists are
    /// joined by the parser.
    pub fn parse(t: DataType, s: &str) -> Option<Value> {
        let num = || parse_number(s);
        Some(match t {
            DataType::Ipv4Addr => Value::Addr(s.parse().ok()?),
            DataType::Ipv6Addr => Value::Addr6(s.parse().ok()?),
            DataType::InetProto => Value::Proto(match PROTOCOLS.iter().find(|(_, n)| *n == s) {
                Some((p, _)) => *p,
                None => u8::try_from(num()?).ok()?,
            }),
            DataType::InetService => Value::Port(match s {
                "http" => 80,
                "https" => 443,
                "ssh" => 22,
                "domain" => 53,
                _ => u16::try_from(num()?).ok()?,
            }),
            DataType::Mark => Value::Mark(u32::try_from(num()?).ok()?),
            DataType::Ifname => Value::Ifname(s.to_string()),
            DataType::CtState => Value::CtState(named_bits(&ct_state::NAMES, s)?),
            DataType::CtStatus => Value::CtStatus(named_bits(&ct_status::NAMES, s)?),
            DataType::TcpFlag => Value::TcpFlags(named_bits(&TCP_FLAGS, s)?),
            DataType::Integer => Value::Int(num()?),
            DataType::FibAddrType => Value::FibType(FIB_TYPES.iter().find(|(_, n)| *n == s)?.0),
            DataType::IcmpType => Value::IcmpType(match ICMP_TYPES.iter().find(|(_, n)| *n == s) {
                Some((v, _)) => *v,
                None => u8::try_from(num()?).ok()?,
            }),
            DataType::NfProto => Value::NfProto(match s {
                "ipv4" => 2,
                "ipv6" => 10,
                _ => u8::try_from(num()?).ok()?,
            }),
            DataType::EtherType => Value::EtherType(match ETHER_TYPES.iter().find(|(_, n)| *n == s) {
                Some((v, _)) => *v,
                None if s == "vlan" => ETHER_TYPE_8021Q,
                None => u16::try_from(num()?).ok()?,
            }),
            DataType::PktType => Value::PktType(match PKT_TYPES.iter().find(|(_, n)| *n == s) {
                Some((v, _)) => *v,
                None if s == "unicast" => 0,
                None => u8::try_from(num()?).ok()?,
            }),
            DataType::Verdict => return None,
        })
    }

    /// The value of bitmask type `t` with bits `b` (`None` for other types, or bits that do
    /// not fit).
    pub(crate) fn from_bits(t: DataType, b: u64) -> Option<Value> {
        let b = u32::try_from(b).ok()?;
        Some(match t {
            DataType::CtState => Value::CtState(b),
            DataType::CtStatus => Value::CtStatus(b),
            DataType::TcpFlag => Value::TcpFlags(b),
            _ => return None,
        })
    }

    /// Adds the bits of another value of the same bitmask type (`new,established`).
    pub(crate) fn or_bits(&self, other: &Value) -> Option<Value> {
        Some(match (self, other) {
            (Value::CtState(a), Value::CtState(b)) => Value::CtState(a | b),
            (Value::CtStatus(a), Value::CtStatus(b)) => Value::CtStatus(a | b),
            (Value::TcpFlags(a), Value::TcpFlags(b)) => Value::TcpFlags(a | b),
            _ => return None,
        })
    }
}

/// A decimal or `0x` hexadecimal number.
pub(crate) fn parse_number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn named_bits(table: &[(u32, &str)], s: &str) -> Option<u32> {
    match table.iter().find(|(_, n)| *n == s) {
        Some((b, _)) => Some(*b),
        None => parse_number(s).and_then(|n| u32::try_from(n).ok()),
    }
}

fn write_bits(f: &mut fmt::Formatter<'_>, table: &[(u32, &str)], bits: u32) -> fmt::Result {
    let mut first = true;
    let mut rest = bits;
    for (b, n) in table {
        if bits & b != 0 {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            f.write_str(n)?;
            rest &= !b;
        }
    }
    if rest != 0 || first {
        if !first {
            f.write_str(",")?;
        }
        write!(f, "0x{rest:x}")?;
    }
    Ok(())
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Addr(a) => write!(f, "{a}"),
            Value::Addr6(a) => write_ipv6(f, a),
            Value::Proto(p) => match PROTOCOLS.iter().find(|(n, _)| n == p) {
                Some((_, name)) => f.write_str(name),
                None => write!(f, "{p}"),
            },
            Value::Port(p) => write!(f, "{p}"),
            Value::Mark(m) => write!(f, "0x{m:08x}"),
            Value::Ifname(s) => write!(f, "\"{s}\""),
            Value::CtState(b) => write_bits(f, &ct_state::NAMES, *b),
            Value::CtStatus(b) => write_bits(f, &ct_status::NAMES, *b),
            Value::TcpFlags(b) => write_bits(f, &TCP_FLAGS, *b),
            Value::Int(i) => write!(f, "{i}"),
            Value::FibType(t) => match FIB_TYPES.iter().find(|(v, _)| v == t) {
                Some((_, n)) => f.write_str(n),
                None => write!(f, "{t}"),
            },
            Value::IcmpType(t) => match ICMP_TYPES.iter().find(|(v, _)| v == t) {
                Some((_, n)) => f.write_str(n),
                None => write!(f, "{t}"),
            },
            Value::NfProto(p) => match p {
                2 => f.write_str("ipv4"),
                10 => f.write_str("ipv6"),
                n => write!(f, "{n}"),
            },
            Value::EtherType(t) => match ETHER_TYPES.iter().find(|(v, _)| v == t) {
                Some((_, n)) => f.write_str(n),
                None => write!(f, "0x{t:04x}"),
            },
            Value::PktType(t) => match PKT_TYPES.iter().find(|(v, _)| v == t) {
                Some((_, n)) => f.write_str(n),
                None => write!(f, "{t}"),
            },
        }
    }
}

/// The Ethernet protocols nft names (`ethertype_tbl` in `src/proto.c`); `vlan` is read as
/// `8021q`.
pub const ETHER_TYPES: [(u16, &str); 5] =
    [(0x0800, "ip"), (0x0806, "arp"), (0x86dd, "ip6"), (ETHER_TYPE_8021Q, "8021q"), (0x88a8, "8021ad")];

/// IEEE 802.1Q's ethertype.
const ETHER_TYPE_8021Q: u16 = 0x8100;

/// The IPv4 ethertype, every packet of the model's.
pub const ETHER_TYPE_IP: u16 = 0x0800;

/// The packet types nft names (`pkttype_type_tbl` in `src/meta.c`, `PACKET_*`); `unicast` is
/// read as `host`.
pub const PKT_TYPES: [(u8, &str); 4] = [(0, "host"), (1, "broadcast"), (2, "multicast"), (3, "other")];

/// An IPv6 address as nft prints it (glibc's `inet_ntop`): RFC 5952's compressed form, and,
/// unlike Rust's `Display`, the deprecated IPv4-compatible form `::1.2.3.4` for addresses
/// whose first 96 bits are zero and whose seventh group is not.
fn write_ipv6(f: &mut fmt::Formatter<'_>, a: &Ipv6Addr) -> fmt::Result {
    let s = a.segments();
    if s[..6] == [0; 6] && s[6] != 0 {
        let [_, _, _, _, _, _, _, _, _, _, _, _, b0, b1, b2, b3] = a.octets();
        return write!(f, "::{b0}.{b1}.{b2}.{b3}");
    }
    write!(f, "{a}")
}

/// A header field (`ip saddr`, `th dport`, `tcp flags` ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Payload {
    /// `ip saddr`.
    IpSaddr,
    /// `ip daddr`.
    IpDaddr,
    /// `ip protocol`.
    IpProtocol,
    /// `ip ttl`.
    IpTtl,
    /// `ip length`: the datagram's total length.
    IpLength,
    /// `ip6 saddr`.
    Ip6Saddr,
    /// `ip6 daddr`.
    Ip6Daddr,
    /// `ip6 nexthdr`.
    Ip6Nexthdr,
    /// `ip6 hoplimit`.
    Ip6Hoplimit,
    /// `th sport`: the transport header's first 16 bits, whatever the protocol.
    ThSport,
    /// `th dport`.
    ThDport,
    /// `tcp sport`.
    TcpSport,
    /// `tcp dport`.
    TcpDport,
    /// `tcp flags`.
    TcpFlags,
    /// `udp sport`.
    UdpSport,
    /// `udp dport`.
    UdpDport,
    /// `sctp sport`.
    SctpSport,
    /// `sctp dport`.
    SctpDport,
    /// `icmp type`.
    IcmpType,
}

impl Payload {
    /// `ip saddr`.
    pub const fn text(self) -> &'static str {
        match self {
            Payload::IpSaddr => "ip saddr",
            Payload::IpDaddr => "ip daddr",
            Payload::IpProtocol => "ip protocol",
            Payload::IpTtl => "ip ttl",
            Payload::IpLength => "ip length",
            Payload::Ip6Saddr => "ip6 saddr",
            Payload::Ip6Daddr => "ip6 daddr",
            Payload::Ip6Nexthdr => "ip6 nexthdr",
            Payload::Ip6Hoplimit => "ip6 hoplimit",
            Payload::ThSport => "th sport",
            Payload::ThDport => "th dport",
            Payload::TcpSport => "tcp sport",
            Payload::TcpDport => "tcp dport",
            Payload::TcpFlags => "tcp flags",
            Payload::UdpSport => "udp sport",
            Payload::UdpDport => "udp dport",
            Payload::SctpSport => "sctp sport",
            Payload::SctpDport => "sctp dport",
            Payload::IcmpType => "icmp type",
        }
    }

    /// The protocol a field implies (`tcp dport` needs TCP), for the dependency nft drops.
    pub const fn protocol(self) -> Option<u8> {
        match self {
            Payload::TcpSport | Payload::TcpDport | Payload::TcpFlags => Some(6),
            Payload::UdpSport | Payload::UdpDport => Some(17),
            Payload::SctpSport | Payload::SctpDport => Some(132),
            Payload::IcmpType => Some(1),
            _ => None,
        }
    }

    /// The network-layer protocol whose header the field reads (`ip` or `ip6`), for nft's
    /// "conflicting protocols" check; `None` for transport fields.
    pub const fn network(self) -> Option<Family> {
        match self {
            Payload::IpSaddr
            | Payload::IpDaddr
            | Payload::IpProtocol
            | Payload::IpTtl
            | Payload::IpLength => Some(Family::Ip),
            Payload::Ip6Saddr | Payload::Ip6Daddr | Payload::Ip6Nexthdr | Payload::Ip6Hoplimit => {
                Some(Family::Ip6)
            }
            _ => None,
        }
    }

    fn dtype(self) -> DataType {
        match self {
            Payload::IpSaddr | Payload::IpDaddr => DataType::Ipv4Addr,
            Payload::Ip6Saddr | Payload::Ip6Daddr => DataType::Ipv6Addr,
            Payload::IpProtocol | Payload::Ip6Nexthdr => DataType::InetProto,
            Payload::IpTtl | Payload::IpLength | Payload::Ip6Hoplimit => DataType::Integer,
            Payload::TcpFlags => DataType::TcpFlag,
            Payload::IcmpType => DataType::IcmpType,
            _ => DataType::InetService,
        }
    }
}

/// A `meta` key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetaKey {
    /// `meta l4proto`.
    L4proto,
    /// `meta nfproto` (inet tables).
    Nfproto,
    /// `iifname`.
    Iifname,
    /// `oifname`.
    Oifname,
    /// `iif`: the input interface, named in the rule and resolved to its index when the rule
    /// is added (nft refuses a name the namespace has no interface for). Matched by name:
    /// the same while the interface is not deleted and created again.
    Iif,
    /// `oif`, likewise for the output interface.
    Oif,
    /// `meta mark`.
    Mark,
    /// `meta protocol`: the packet's ethertype (every packet of the model is IPv4).
    Protocol,
    /// `meta pkttype`: host, broadcast or multicast, from the destination address.
    Pkttype,
}

/// A `ct` key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CtKey {
    /// `ct state`.
    State,
    /// `ct status`.
    Status,
    /// `ct mark`.
    Mark,
    /// `ct original ip saddr`.
    OriginalSaddr,
    /// `ct original ip daddr`.
    OriginalDaddr,
    /// `ct reply ip saddr`.
    ReplySaddr,
    /// `ct reply ip daddr`.
    ReplyDaddr,
}

/// `&`, `|`, `^`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `&` (`and`).
    And,
    /// `|` (`or`).
    Or,
    /// `^` (`xor`).
    Xor,
}

/// Something evaluated against a packet.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    /// A header field.
    Payload(Payload),
    /// `meta KEY`.
    Meta(MetaKey),
    /// `ct KEY`.
    Ct(CtKey),
    /// `fib saddr|daddr type`: the route type of the address.
    FibType {
        /// `daddr` (true) or `saddr`.
        daddr: bool,
    },
    /// `numgen random mod N [offset O]`.
    Numgen {
        /// The modulus.
        modulus: u32,
        /// Added to the draw.
        offset: u32,
    },
    /// `a . b . c`.
    Concat(Vec<Expr>),
    /// `expr & value` (and `|`, `^`).
    Binop {
        /// The operand.
        left: Box<Expr>,
        /// The operator.
        op: BinOp,
        /// The constant.
        right: u64,
    },
    /// A constant (the value of a `set` statement).
    Const(Value),
}

impl Expr {
    /// The data type of the expression's value, one per field of a concatenation.
    pub fn dtypes(&self) -> Vec<DataType> {
        match self {
            Expr::Concat(v) => v.iter().flat_map(|e| e.dtypes()).collect(),
            other => vec![other.dtype()],
        }
    }

    /// The data type of a single (non-concatenated) expression.
    pub fn dtype(&self) -> DataType {
        match self {
            Expr::Payload(p) => p.dtype(),
            Expr::Meta(MetaKey::L4proto) => DataType::InetProto,
            Expr::Meta(MetaKey::Nfproto) => DataType::NfProto,
            Expr::Meta(MetaKey::Iifname | MetaKey::Oifname | MetaKey::Iif | MetaKey::Oif) => DataType::Ifname,
            Expr::Meta(MetaKey::Mark) | Expr::Ct(CtKey::Mark) => DataType::Mark,
            Expr::Meta(MetaKey::Protocol) => DataType::EtherType,
            Expr::Meta(MetaKey::Pkttype) => DataType::PktType,
            Expr::Ct(CtKey::State) => DataType::CtState,
            Expr::Ct(CtKey::Status) => DataType::CtStatus,
            Expr::Ct(_) => DataType::Ipv4Addr,
            Expr::FibType { .. } => DataType::FibAddrType,
            Expr::Numgen { .. } => DataType::Integer,
            Expr::Concat(v) => v.first().map_or(DataType::Integer, Expr::dtype),
            Expr::Binop { left, .. } => left.dtype(),
            Expr::Const(v) => v.dtype(),
        }
    }
}

fn write_const(f: &mut fmt::Formatter<'_>, t: DataType, v: u64) -> fmt::Result {
    match t {
        DataType::Mark => write!(f, "0x{:08x}", v as u32),
        _ => match Value::from_bits(t, v) {
            Some(flags) => write!(f, "{flags}"),
            None => write!(f, "0x{v:x}"),
        },
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Payload(p) => f.write_str(p.text()),
            Expr::Meta(k) => f.write_str(match k {
                MetaKey::L4proto => "meta l4proto",
                MetaKey::Nfproto => "meta nfproto",
                MetaKey::Iifname => "iifname",
                MetaKey::Iif => "iif",
                MetaKey::Oif => "oif",
                MetaKey::Oifname => "oifname",
                MetaKey::Mark => "meta mark",
                MetaKey::Protocol => "meta protocol",
                MetaKey::Pkttype => "meta pkttype",
            }),
            Expr::Ct(k) => f.write_str(match k {
                CtKey::State => "ct state",
                CtKey::Status => "ct status",
                CtKey::Mark => "ct mark",
                CtKey::OriginalSaddr => "ct original ip saddr",
                CtKey::OriginalDaddr => "ct original ip daddr",
                CtKey::ReplySaddr => "ct reply ip saddr",
                CtKey::ReplyDaddr => "ct reply ip daddr",
            }),
            Expr::FibType { daddr } => write!(f, "fib {} type", if *daddr { "daddr" } else { "saddr" }),
            Expr::Numgen { modulus, offset } => {
                write!(f, "numgen random mod {modulus}")?;
                if *offset != 0 {
                    write!(f, " offset {offset}")?;
                }
                Ok(())
            }
            Expr::Concat(v) => {
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" . ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            Expr::Binop { left, op, right } => {
                let o = match op {
                    BinOp::And => "&",
                    BinOp::Or => "|",
                    BinOp::Xor => "^",
                };
                write!(f, "{left} {o} ")?;
                write_const(f, left.dtype(), *right)
            }
            Expr::Const(v) => write!(f, "{v}"),
        }
    }
}

/// A relational operator. `Implicit` is the operator-less form (`tcp dport 80`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RelOp {
    /// No operator: equality, or "any of these bits" for bitmask types.
    Implicit,
    /// `==` (printed only where nft prints it: after a binop, and for bitmask types).
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `>`.
    Gt,
    /// `<=`.
    Le,
    /// `>=`.
    Ge,
}

/// A verdict.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    /// `accept`: ends this base chain (other base chains at the hook still run).
    Accept,
    /// `drop`: final.
    Drop,
    /// `continue`.
    Continue,
    /// `return`.
    Return,
    /// `jump CHAIN`.
    Jump(String),
    /// `goto CHAIN`.
    Goto(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Accept => f.write_str("accept"),
            Verdict::Drop => f.write_str("drop"),
            Verdict::Continue => f.write_str("continue"),
            Verdict::Return => f.write_str("return"),
            Verdict::Jump(c) => write!(f, "jump {c}"),
            Verdict::Goto(c) => write!(f, "goto {c}"),
        }
    }
}

/// The right-hand side of a match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rhs {
    /// A constant.
    Value(Value),
    /// `lo-hi`.
    Range(Value, Value),
    /// `addr/len` (an `ipv4_addr` or `ipv6_addr` value).
    Prefix(Value, u8),
    /// `@name` or `{ ... }`.
    Set(SetRef),
}

/// A set a rule refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetRef {
    /// `@name`: a named set or map of the rule's table.
    Named(String),
    /// `{ ... }`: an anonymous set or map, owned by the rule.
    Anon(Box<super::ruleset::Set>),
}

/// What `reject` answers, as nft holds it (`stmt->reject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reject {
    /// The table family's default, listed as plain `reject`: port unreachable, in ICMP in an
    /// ip table, ICMPv6 in ip6, the packet's own in inet (`icmpx port-unreachable`).
    Default,
    /// `with icmp CODE`: ICMP destination unreachable with this code. In an inet table the
    /// statement is about IPv4 packets only.
    Icmp(u8),
    /// `with icmpv6 CODE`: ICMPv6 destination unreachable (IPv6 packets only).
    Icmpv6(u8),
    /// `with icmpx CODE` (inet tables): 0 no route, 2 host unreachable, 3 administratively
    /// prohibited, each in the packet's own ICMP (1, port unreachable, is [`Reject::Default`]).
    Icmpx(u8),
    /// `with tcp reset`.
    TcpReset,
}

/// `snat`/`dnat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NatKind {
    /// `snat to`.
    Snat,
    /// `dnat to`.
    Dnat,
}

/// NAT flags (`random`, `fully-random`, `persistent`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NatFlags {
    /// `random`.
    pub random: bool,
    /// `fully-random`.
    pub fully_random: bool,
    /// `persistent`.
    pub persistent: bool,
}

impl fmt::Display for NatFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = Vec::new();
        if self.random {
            names.push("random");
        }
        if self.fully_random {
            names.push("fully-random");
        }
        if self.persistent {
            names.push("persistent");
        }
        if !names.is_empty() {
            write!(f, " {}", names.join(","))?;
        }
        Ok(())
    }
}

/// `add @set { key }` or `update @set { key }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetOp {
    /// `add`.
    Add,
    /// `update` (refreshes the timeout).
    Update,
}

/// One statement of a rule, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stmt {
    /// `left [op] right`: the rule stops here unless it holds.
    Match {
        /// The packet side.
        left: Expr,
        /// The operator.
        op: RelOp,
        /// The constant side.
        right: Rhs,
    },
    /// `counter packets N bytes M`.
    Counter {
        /// Packets counted.
        packets: u64,
        /// Bytes counted.
        bytes: u64,
    },
    /// A verdict.
    Verdict(Verdict),
    /// `key vmap @map` / `key vmap { k : verdict, ... }`; a miss goes on to the next rule.
    Vmap {
        /// The lookup key.
        key: Expr,
        /// The verdict map.
        map: SetRef,
    },
    /// Adjacent header fields nft merged into one load and one comparison
    /// (`payload_try_merge`), where that changes what the rule does or how it is listed:
    /// `tcp sport != 1 tcp dport != 2` is one 32-bit `!=`, which holds unless every field
    /// equals its value; `th sport 1 th dport 2` is listed as the raw `@th,0,32 0x10002`.
    /// (Merged `==` runs of named protocols mean what their fields do and stay apart.)
    Merged {
        /// The fields, in header order, with their values.
        fields: Vec<(Payload, Value)>,
        /// `!=` rather than `==`.
        ne: bool,
    },
    /// `limit rate ...`: the kernel's token bucket; the rule stops here unless it matches.
    Limit(Box<super::limit::Limit>),
    /// `log [prefix "..."]`.
    Log {
        /// The prefix.
        prefix: Option<String>,
    },
    /// `notrack`.
    Notrack,
    /// `reject [with ...]`.
    Reject(Reject),
    /// `snat|dnat [ip|ip6] to ADDR[:PORT[-PORT]] [flags]`.
    Nat {
        /// Source or destination.
        kind: NatKind,
        /// The address (IPv6 in `ip6` tables, or with `ip6` in `inet` tables).
        addr: IpAddr,
        /// Written in an `inet` table, where nft names the family (`dnat ip to ...`).
        inet: bool,
        /// The port range (`dnat` uses the first).
        ports: Option<(u16, u16)>,
        /// Flags.
        flags: NatFlags,
    },
    /// `masquerade [to :PORT[-PORT]] [flags]`.
    Masquerade {
        /// The port range.
        ports: Option<(u16, u16)>,
        /// Flags.
        flags: NatFlags,
    },
    /// `meta mark set VALUE`.
    MetaMarkSet(Expr),
    /// `ct mark set VALUE`.
    CtMarkSet(Expr),
    /// `add|update @set { key [timeout T] }`.
    SetUpdate {
        /// `add` or `update`.
        op: SetOp,
        /// The set.
        set: String,
        /// The key.
        key: Expr,
        /// An element timeout in milliseconds (else the set's).
        timeout_ms: Option<u64>,
    },
}

/// Prints a duration as nft does (`3h`, `1m30s`, `500ms`).
pub fn format_time(ms: u64) -> String {
    let mut out = String::new();
    let (d, h, m, s, r) = (ms / 86_400_000, ms / 3_600_000 % 24, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    for (v, u) in [(d, "d"), (h, "h"), (m, "m"), (s, "s"), (r, "ms")] {
        if v > 0 {
            out.push_str(&format!("{v}{u}"));
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

/// Parses `3h`, `10800s`, `1d2h3m4s`, `500ms`, or a bare number of seconds.
pub fn parse_time(s: &str) -> Option<u64> {
    if let Ok(n) = s.parse::<u64>() {
        return n.checked_mul(1000);
    }
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (mul, len) = if rest.starts_with("ms") {
            (1, 2)
        } else {
            match rest.chars().next()? {
                'd' => (86_400_000, 1),
                'h' => (3_600_000, 1),
                'm' => (60_000, 1),
                's' => (1000, 1),
                _ => return None,
            }
        };
        rest = &rest[len..];
        total = total.checked_add(n.checked_mul(mul)?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_as_nft_prints_them() {
        assert_eq!(Value::Mark(0x4000).to_string(), "0x00004000");
        assert_eq!(
            Value::CtState(ct_state::ESTABLISHED | ct_state::RELATED).to_string(),
            "established,related"
        );
        assert_eq!(Value::Proto(6).to_string(), "tcp");
        assert_eq!(Value::parse(DataType::InetProto, "udp"), Some(Value::Proto(17)));
        assert_eq!(Value::parse(DataType::Ipv4Addr, "1.2.3.400"), None);
        assert_eq!(format_time(10_800_000), "3h");
        assert_eq!(format_time(90_000), "1m30s");
        assert_eq!(parse_time("1h2m3s"), Some(3_723_000));
        assert_eq!(parse_time("10800s"), Some(10_800_000));
        assert_eq!(parse_time("x"), None);
    }
}
