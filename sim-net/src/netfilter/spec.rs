//! The iptables command line: an argument vector (`-t nat -A KUBE-SERVICES -d 10.96.0.10/32 -p
//! udp -m udp --dport 53 -j KUBE-SVC-X`) parsed into a command and a typed [`Rule`].
//!
//! Follows `iptables/xshared.c` / `iptables.c` `do_command4`: `!` inverts the next option, an
//! extension option belongs to the match (`-m`) or target (`-j`) that defines it, and a
//! `--dport` after `-p tcp` with no `-m tcp` loads the tcp match implicitly (which is why
//! `iptables-save` then prints `-m tcp`). Both iptables-restore lines and `iptables ...`
//! commands go through this parser. Error texts follow iptables' own where it has one.
//!
//! What the real iptables v1.8.9 accepts and refuses, and in which words, was measured with
//! both backends' binaries (`sim-net/tests/xtables_backends.rs` holds the table and re-measures
//! it): an extension option given twice is refused (`comment: option "--comment" can only be
//! used once.`; tcp's and sctp's own `Only one `--destination-port' allowed`), options that
//! exclude each other name both ([`EXCLUSIVE`]); the three port parsers differ as the real ones
//! do: tcp/sctp (`parse_port_range`: `strtoul` base 0, a reversed range refused), udp and
//! conntrack (`parse_port_range_xt`: decimal, modulo 65536, a reversed range kept), the NAT
//! targets (`parse_nat_ports`: port 0 allowed); the first two read service names as
//! libxtables does ([`super::services`]: by the match's protocol, or tcp then udp);
//! `-i`/`-o` where the built-in chain has no such interface is refused as the rule is parsed;
//! a protocol option after `! -p tcp` loads the tcp match, as after `-p tcp`; `-s a,b -d c,d`
//! stands for one rule per address pair ([`CommandLine::rules`]), each address with any mask
//! (`/255.0.255.0`). What the kernel refuses is reported per backend by the restore (see
//! [`check_protocols`] and [`kernel_checks`]).
//!
//! Left out: long-option abbreviations, `--option ! value` (deprecated intrapositioned
//! negation), host names for addresses, IPv6.

mod common;

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::TableName;
use super::ext::{ExtMatch, ExtTarget, KNOWN_UNSIMULATED_MATCHES, KNOWN_UNSIMULATED_TARGETS};
use super::rule::*;
use super::services::{self, ServiceProto};
use crate::wire::Protocol;

/// A built-in chain's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// `ACCEPT`.
    Accept,
    /// `DROP`.
    Drop,
}

impl Policy {
    /// `ACCEPT` / `DROP`.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Accept => "ACCEPT",
            Policy::Drop => "DROP",
        }
    }
    /// Parses `ACCEPT`/`DROP`.
    pub fn parse(s: &str) -> Option<Policy> {
        match s {
            "ACCEPT" => Some(Policy::Accept),
            "DROP" => Some(Policy::Drop),
            _ => None,
        }
    }
}

/// The command of one iptables invocation or restore line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `-A chain rule`.
    Append(String),
    /// `-I chain [n] rule` (1-based, default 1).
    Insert(String, usize),
    /// `-D chain n` or `-D chain rule`.
    Delete(String, Option<usize>),
    /// `-R chain n rule`.
    Replace(String, usize),
    /// `-N chain`.
    NewChain(String),
    /// `-X [chain]`.
    DeleteChain(Option<String>),
    /// `-F [chain]`.
    Flush(Option<String>),
    /// `-Z [chain]`.
    Zero(Option<String>),
    /// `-P chain policy`.
    Policy(String, Policy),
    /// `-L [chain]`.
    List(Option<String>),
    /// `-S [chain]`.
    ListRules(Option<String>),
    /// `-C chain rule`: succeeds if the rule exists.
    Check(String),
    /// `-E old new`: renames a user chain.
    Rename(String, String),
}

/// Listing flags (`-n -v -x --line-numbers`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListFlags {
    /// `-v`.
    pub verbose: bool,
    /// `-x`: exact counters.
    pub exact: bool,
    /// `--line-numbers`.
    pub line_numbers: bool,
    /// `-n`: numbers instead of names (addresses, interfaces, ports, protocols, ...).
    pub numeric: bool,
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandLine {
    /// `-t table` (default filter).
    pub table: TableName,
    /// The command.
    pub op: Op,
    /// The rule spec, for commands that take one.
    pub rule: Rule,
    /// True if any rule-spec option was given (distinguishes `-D chain n` from `-D chain spec`).
    pub has_spec: bool,
    /// Listing flags.
    pub flags: ListFlags,
    /// The addresses of `-s a,b` and `-d a,b`, in the order given (empty when the option was
    /// not given or named one address): the command stands for one rule per source and destination pair, sources
    /// outermost, as `iptables.c`'s `append_entry` loops; [`rule`](Self::rule) holds the
    /// first pair. See [`CommandLine::rules`].
    pub addrs: AddrLists,
}

/// The address lists of `-s` and `-d` (`xtables_ipparse_multiple`: comma-separated, no
/// duplicate removed, `0.0.0.0/0` stored as no test). A list is kept only when the option
/// named several addresses; one address is just the rule's own test.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddrLists {
    /// `-s`'s addresses.
    pub src: Vec<Option<AddrMatch>>,
    /// `-d`'s addresses.
    pub dst: Vec<Option<AddrMatch>>,
}

impl CommandLine {
    /// The rules the command stands for: [`rule`](Self::rule) once per source and destination
    /// address pair, in `iptables.c`'s order (each source with every destination in turn).
    pub fn rules(&self) -> Vec<Rule> {
        let one = |v: &[Option<AddrMatch>], cur: Option<AddrMatch>| {
            if v.is_empty() { vec![cur] } else { v.to_vec() }
        };
        let mut out = Vec::new();
        for s in one(&self.addrs.src, self.rule.src) {
            for d in one(&self.addrs.dst, self.rule.dst) {
                let mut r = self.rule.clone();
                r.src = s;
                r.dst = d;
                out.push(r);
            }
        }
        out
    }
}

/// Why a command line was refused. Messages follow iptables' wording.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// An option iptables does not know (or not for the loaded matches/target).
    #[error("unknown option \"{0}\"")]
    UnknownOption(String),
    /// An option that needs a value had none.
    #[error("option \"{0}\" requires an argument")]
    MissingArgument(String),
    /// `-m name` for a match the model does not have. (iptables-restore itself says
    /// "Couldn't load match `name':No such file or directory", which reads like a missing
    /// file.)
    #[error("match `{0}' is not simulated by netsim{hint}", hint = unknown_hint(.0, &KNOWN_UNSIMULATED_MATCHES))]
    UnknownMatch(String),
    /// `-j NAME` for a target iptables has that the model does not simulate.
    #[error("target `{0}' is not simulated by netsim")]
    UnsimulatedTarget(String),
    /// A bad value.
    #[error("{0}")]
    BadValue(String),
    /// No command (-A, -I, ...) was given.
    #[error("no command specified")]
    NoCommand,
    /// Two commands were given.
    #[error("multiple commands specified")]
    MultipleCommands,
    /// `!` not followed by an invertible option.
    #[error("cannot have ! before {0}")]
    BadInvert(String),
    /// An option given twice.
    #[error("multiple {0} flags not allowed")]
    Duplicate(String),
}

/// Says whether an unknown extension name is one real iptables has.
fn unknown_hint(name: &str, known: &[&str]) -> &'static str {
    if known.contains(&name) {
        " (a real iptables extension the model does not evaluate)"
    } else {
        " (nor an iptables extension netsim knows of)"
    }
}

pub(super) fn bad(msg: impl Into<String>) -> SpecError {
    SpecError::BadValue(msg.into())
}

/// Parses an IPv4 address or network (`1.2.3.4`, `10.0.0.0/8`, `10.0.0.0/255.0.0.0`); the
/// address is masked. A dotted mask must be a prefix's here (the conntrack and other
/// matches' addresses); `-s`/`-d` take any ([`parse_addr_mask`]).
pub fn parse_net(s: &str) -> Result<Ipv4Net, SpecError> {
    let (addr, mask) = parse_addr_mask(s)?;
    let bits = u32::from(mask);
    if bits.leading_ones() + bits.trailing_zeros() != 32 {
        let m = s.split_once('/').map_or(s, |(_, m)| m);
        return Err(bad(format!("invalid mask `{m}' specified")));
    }
    Ipv4Net::new(addr, bits.leading_ones() as u8)
        .map(|n| n.trunc())
        .map_err(|_| bad(format!("host/network `{s}' not found")))
}

/// [`parse_net`] without masking the address (`9.9.9.9/24` stays so): the conntrack
/// match's addresses, which `xtables_ipparse_any` leaves as given.
fn parse_net_unmasked(s: &str) -> Result<Ipv4Net, SpecError> {
    let net = parse_net(s)?;
    let (addr, _) = parse_addr_mask(s)?;
    Ipv4Net::new(addr, net.prefix_len()).map_err(|_| bad(format!("host/network `{s}' not found")))
}

/// Parses `addr[/len]` or `addr/a.b.c.d` as `xtables_ipparse_multiple` reads one address of
/// `-s`/`-d`: the mask a prefix length up to 32 or any dotted quad (`/255.0.255.0` is taken,
/// by both backends), the address in `numeric_to_ipaddr`'s forms; returns the address
/// (unmasked) and the mask.
pub fn parse_addr_mask(s: &str) -> Result<(Ipv4Addr, Ipv4Addr), SpecError> {
    let not_found = || bad(format!("host/network `{s}' not found"));
    let (addr, mask) = match s.split_once('/') {
        None => (s, Ipv4Addr::BROADCAST),
        Some((a, m)) => {
            let mask = if m.contains('.') {
                m.parse().map_err(|_| bad(format!("invalid mask `{m}' specified")))?
            } else {
                let len = m
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= 32)
                    .ok_or_else(|| bad(format!("invalid mask `{m}' specified")))?;
                Ipv4Addr::from(u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0))
            };
            (a, mask)
        }
    };
    Ok((parse_dotted(addr).ok_or_else(not_found)?, mask))
}

/// Parses `-s`/`-d`'s value as `xtables_ipparse_multiple` does: addresses separated by
/// commas, each as [`parse_addr_mask`] takes it (an empty one is `host/network `' not
/// found`).
pub fn parse_addr_list(s: &str) -> Result<Vec<(Ipv4Addr, Ipv4Addr)>, SpecError> {
    s.split(',').map(parse_addr_mask).collect()
}

/// An address as xtables' `numeric_to_ipaddr` reads it: one to four dotted parts in
/// `strtoul(.., 0)` forms of at most 255, the missing ones zero (`10` is 10.0.0.0, `10.1` is
/// 10.1.0.0, `010.1.2.3` is 8.1.2.3; measured with iptables v1.8.9).
fn parse_dotted(s: &str) -> Option<Ipv4Addr> {
    parse_plain_quad(s.as_bytes()).or_else(|| parse_dotted_general(s))
}

/// [`parse_dotted`] in every form.
fn parse_dotted_general(s: &str) -> Option<Ipv4Addr> {
    if s.split('.').count() > 4 {
        return None;
    }
    let mut b = [0u8; 4];
    for (i, p) in s.split('.').enumerate() {
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        b[i] = parse_u32(p).and_then(|v| u8::try_from(v).ok())?;
    }
    Some(Ipv4Addr::from(b))
}

/// The common case of [`parse_dotted`] without its splits: four decimal parts of one to
/// three digits, no leading zero (`010` is octal there), each at most 255. `None` for
/// anything else, which the general reading then takes.
fn parse_plain_quad(s: &[u8]) -> Option<Ipv4Addr> {
    let mut out = [0u8; 4];
    let mut part = 0;
    let mut i = 0;
    loop {
        let start = i;
        let mut v: u32 = 0;
        while i < s.len() && s[i].is_ascii_digit() && i - start < 3 {
            v = v * 10 + u32::from(s[i] - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || (digits > 1 && s[start] == b'0') || v > 255 {
            return None;
        }
        out[part] = v as u8;
        part += 1;
        if part == 4 {
            return (i == s.len()).then_some(Ipv4Addr::from(out));
        }
        if s.get(i) != Some(&b'.') {
            return None;
        }
        i += 1;
    }
}

/// Parses a port number in C's `strtoul(s, NULL, 0)` forms (`80`, `0x50`, `010`) up to 65535.
pub fn parse_port(s: &str) -> Result<u16, SpecError> {
    parse_u32(s)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| bad(format!("invalid port/service `{s}' specified")))
}

/// Parses a port as `xtables_parse_port(s, proto)` does: a number as [`parse_port`] reads it,
/// else a service name of `proto` ([`services::by_name`]; none for a protocol without
/// entries, such as udplite).
pub fn parse_service_port(s: &str, proto: Option<ServiceProto>) -> Result<u16, SpecError> {
    parse_port(s).or_else(|e| proto.and_then(|p| services::by_name(s, p)).ok_or(e))
}

/// Parses `p`, `lo:hi`, `:hi`, `lo:` as the tcp and sctp matches do (`parse_tcp_ports`),
/// each port a number or a service name of `proto`: `lo` above `hi` is refused.
pub fn parse_port_range(s: &str, proto: Option<ServiceProto>) -> Result<PortRange, SpecError> {
    match s.split_once(':') {
        None => {
            let p = parse_service_port(s, proto)?;
            Ok(PortRange { lo: p, hi: p })
        }
        Some((a, b)) => {
            let lo = if a.is_empty() { 0 } else { parse_service_port(a, proto)? };
            let hi = if b.is_empty() { 65535 } else { parse_service_port(b, proto)? };
            if lo > hi {
                return Err(bad("invalid portrange (min > max)"));
            }
            Ok(PortRange { lo, hi })
        }
    }
}

/// Parses a port range as the xtables option parser's `XTTYPE_PORTRC` does (`xtopt_parse_mport`,
/// the udp and conntrack matches): at most two `:`-separated decimal numbers, each taken
/// modulo 65536 as the kernel's 16-bit field stores it (`--dport 70000` is port 4464), and
/// `lo` above `hi` is accepted (such a range matches nothing). `ext` and `opt` (the option's
/// long name) are for the messages. A part that is not a number is a service name of tcp or
/// udp (`xtables_getportbyname`: [`services::by_name_any`]).
pub fn parse_port_range_xt(ext: &str, opt: &str, s: &str) -> Result<PortRange, SpecError> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() > 2 {
        return Err(bad(format!("{ext}: Too many components for option \"{opt}\" (max: 2)")));
    }
    let one = |p: &str, default: u16| -> Result<u16, SpecError> {
        if p.is_empty() {
            return Ok(default);
        }
        if !p.bytes().all(|b| b.is_ascii_digit()) {
            return services::by_name_any(p)
                .ok_or_else(|| bad(format!("Port \"{p}\" does not resolve to anything.")));
        }
        // strtoul saturates at ULONG_MAX, whose low 16 bits are 65535.
        Ok(p.parse::<u64>().map_or(u16::MAX, |v| (v & 0xffff) as u16))
    };
    match parts.as_slice() {
        [p] if p.is_empty() => Err(bad(format!("Port \"{p}\" does not resolve to anything."))),
        [p] => {
            let p = one(p, 0)?;
            Ok(PortRange { lo: p, hi: p })
        }
        [a, b] => Ok(PortRange { lo: one(a, 0)?, hi: one(b, 65535)? }),
        _ => Err(bad(format!("{ext}: Too many components for option \"{opt}\" (max: 2)"))),
    }
}

/// A port test; `0:65535` is the kernel's "no test" and is stored as none, so that it neither
/// prints nor distinguishes rules.
fn port_match(range: PortRange, invert: bool) -> Option<PortMatch> {
    if range.lo == 0 && range.hi == 65535 && !invert { None } else { Some(PortMatch { range, invert }) }
}

/// Parses a number as C's `strtoul(s, NULL, 0)` does (`0x4000`, `0755`, `16384`).
pub fn parse_u32(s: &str) -> Option<u32> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

/// `value[/mask]` as `XTTYPE_MARKMASK32` reads it (`xtopt_parse_markmask`): each number
/// [`xtables_strtoui`] up to `u32::MAX`, and nothing after the mask; `ext` names the
/// extension in the messages.
pub(super) fn parse_mark_pair(ext: &str, opt: &str, s: &str) -> Result<(u32, Option<u32>), SpecError> {
    let err = || bad(format!("{ext}: bad integer value for option \"{opt}\", or out of range."));
    let (v, rest) = xtables_strtoui(s, u32::MAX.into()).ok_or_else(err)?;
    let (m, rest) = match rest.strip_prefix('/') {
        Some(after) => {
            let (m, rest) = xtables_strtoui(after, u32::MAX.into()).ok_or_else(err)?;
            (Some(m as u32), rest)
        }
        None => (None, rest),
    };
    if !rest.is_empty() {
        return Err(bad(format!("{ext}: trailing garbage after value for option \"{opt}\".")));
    }
    Ok((v as u32, m))
}

/// libxtables' `xtables_strtoui(s, &end, .., 0, max)`: C's `strtoul(s, &end, 0)` after
/// blanks and an optional `+` (a `-` is refused), the value at most `max`; the value and
/// what follows it, or `None` when no number starts `s` or it is too large.
pub(super) fn xtables_strtoui(s: &str, max: u64) -> Option<(u64, &str)> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let t = t.strip_prefix('+').unwrap_or(t);
    strtoul_prefix(t).filter(|(v, _)| *v <= max)
}

fn parse_ctstates(s: &str) -> Result<CtStateSet, SpecError> {
    let mut bits = 0u8;
    for part in s.split(',') {
        let i = CTSTATE_NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(part))
            .ok_or_else(|| bad(format!("Bad ctstate \"{part}\"")))?;
        bits |= 1 << i;
    }
    Ok(CtStateSet(bits))
}

/// `FIN,SYN,RST,ACK`, `ALL`, `NONE` (case-insensitive, as libxt_tcp.c `parse_tcp_flags`).
fn parse_tcp_flags(s: &str) -> Result<u8, SpecError> {
    let mut bits = 0u8;
    for part in s.split(',') {
        bits |= if part.eq_ignore_ascii_case("ALL") {
            0x3f
        } else if part.eq_ignore_ascii_case("NONE") {
            0
        } else {
            TCP_FLAG_NAMES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(part))
                .map(|(_, b)| *b)
                .ok_or_else(|| bad(format!("Unknown TCP flag `{part}'")))?
        };
    }
    Ok(bits)
}

fn parse_ctstatus(s: &str) -> Result<CtStatusSet, SpecError> {
    let mut bits = 0u8;
    for part in s.split(',') {
        let i = CTSTATUS_NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(part))
            .ok_or_else(|| bad(format!("Bad ctstatus \"{part}\"")))?;
        bits |= 1 << i;
    }
    Ok(CtStatusSet(bits))
}

/// libxt_addrtype.c `parse_types`: each name may be abbreviated (`LOC` is `LOCAL`, `X` is
/// `XRESOLVE`: the first type the name begins, in the kernel's order).
fn parse_addrtypes(s: &str) -> Result<AddrTypeSet, SpecError> {
    if s.starts_with(',') {
        return Err(bad(format!("addrtype: bad type `{s}'")));
    }
    let mut bits = 0u16;
    for part in s.split(',') {
        let i = ADDRTYPE_NAMES
            .iter()
            .position(|n| {
                !part.is_empty() && n.len() >= part.len() && n[..part.len()].eq_ignore_ascii_case(part)
            })
            .ok_or_else(|| bad(format!("addrtype: bad type \"{part}\"")))?;
        bits |= 1 << i;
    }
    Ok(AddrTypeSet(bits))
}

/// `--to-destination`/`--to-source` parsed: the addresses (none for `:port`) and the ports.
type NatTo = (Option<AddrRange>, Option<(u16, u16)>);

/// Parses `[addr[-addr]][:port[-port]]` of `--to-destination`/`--to-source` (libxt_DNAT.c
/// `parse_to`): the address part may be empty (`:80`, ports only).
fn parse_nat_range(s: &str) -> Result<NatTo, SpecError> {
    let (a, p) = match s.split_once(':') {
        None => (s, None),
        Some((a, p)) => (a, Some(p)),
    };
    // A plain dotted quad (kube-proxy's every DNAT) is read without the general parser; it
    // reads such a quad the same.
    let one = |a: &str| match parse_plain_quad(a.as_bytes()) {
        Some(ip) => Ok(ip),
        None => a.parse::<Ipv4Addr>().map_err(|_| bad(format!("Bad IP address \"{a}\""))),
    };
    let addrs = match a.split_once('-') {
        _ if a.is_empty() => None,
        None => Some(AddrRange::single(one(a)?)),
        Some((lo, hi)) => Some(AddrRange { min: one(lo)?, max: one(hi)? }),
    };
    let ports = match p {
        None => None,
        Some(p) if p.contains(':') => return Err(bad(format!("Bad IP address \"{s}\""))),
        Some(p) => Some(parse_nat_ports(p)?),
    };
    if addrs.is_none() && ports.is_none() {
        return Err(bad(format!("Bad IP address \"{a}\"")));
    }
    Ok((addrs, ports))
}

/// C's `strtoul(s, &end, 0)` on a prefix of `s`: the value and the rest, or `None` when no
/// digit starts `s`. A value beyond `u64` saturates (strtoul's `ERANGE`).
pub(super) fn strtoul_prefix(s: &str) -> Option<(u64, &str)> {
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) if h.starts_with(|c: char| c.is_ascii_hexdigit()) => (h, 16),
        _ if s.starts_with('0') => (s, 8),
        _ => (s, 10),
    };
    let n = digits.find(|c: char| !c.is_digit(radix)).unwrap_or(digits.len());
    if n == 0 {
        return None;
    }
    let v = u64::from_str_radix(&digits[..n], radix).unwrap_or(u64::MAX);
    Some((v, &digits[n..]))
}

/// The ports of `--to-destination`/`--to-source`/`--to-ports`: `port` or `lo-hi`, as
/// libxt_DNAT.c / libxt_REDIRECT.c / libxt_MASQUERADE.c `parse_ports` read them
/// (`xtables_strtoui(.., 0, UINT16_MAX)`, so `0`, `0x50` and `+80` are ports); their
/// messages. When the first port is no number, the whole argument is a service name
/// (`xtables_service_to_port(arg, NULL)`: `http` is 80, `ftp-data` 20; `80-http` and
/// `http-90` are refused), as v1.8.9 measured.
pub(super) fn parse_nat_ports(p: &str) -> Result<(u16, u16), SpecError> {
    // The usual form, one decimal port without a leading zero, read directly.
    if let Some(v) = plain_port(p) {
        return Ok((v, v));
    }
    fn port(s: &str) -> Result<(u16, &str), SpecError> {
        match xtables_strtoui(s, u16::MAX.into()) {
            Some((v, rest)) => Ok((v as u16, rest)),
            None => Err(bad(format!("Port `{s}' not valid"))),
        }
    }
    if xtables_strtoui(p, u16::MAX.into()).is_none() {
        let lo = services::by_name_first(p).ok_or_else(|| bad(format!("Port `{p}' not valid")))?;
        return Ok((lo, lo));
    }
    let (lo, rest) = port(p)?;
    let hi_text = match rest.chars().next() {
        None => return Ok((lo, lo)),
        Some('-') => &rest[1..],
        Some(':') => return Err(bad("Invalid port:port syntax - use dash")),
        Some(_) => return Err(bad(format!("Garbage after port value: `{rest}'"))),
    };
    let (hi, rest) = port(hi_text)?;
    if !rest.is_empty() {
        return Err(bad(format!("Garbage after port range: `{rest}'")));
    }
    if hi < lo {
        return Err(bad(format!("Port range `{hi_text}' funky")));
    }
    Ok((lo, hi))
}

/// A port written as one to five decimal digits without a leading zero, at most 65535: what
/// `xtables_strtoui` reads as that number with nothing after it. `None` for any other text.
fn plain_port(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 5 || (b[0] == b'0' && b.len() > 1) || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().fold(0u32, |v, d| v * 10 + u32::from(d - b'0')).try_into().ok()
}

/// Cursor over the arguments.
pub(super) struct Args<'a> {
    v: &'a [&'a str],
    i: usize,
}

impl<'a> Args<'a> {
    pub(super) fn next(&mut self) -> Option<&'a str> {
        let r = self.v.get(self.i).copied();
        if r.is_some() {
            self.i += 1;
        }
        r
    }
    pub(super) fn value(&mut self, opt: &str) -> Result<&'a str, SpecError> {
        self.next().ok_or_else(|| SpecError::MissingArgument(opt.to_string()))
    }
    pub(super) fn peek(&self) -> Option<&'a str> {
        self.v.get(self.i).copied()
    }
    /// The next argument if it is not an option (an optional chain name or rule number).
    fn optional(&mut self) -> Option<&'a str> {
        match self.peek() {
            Some(s) if !s.starts_with('-') && s != "!" => self.next(),
            _ => None,
        }
    }
}

/// A short list on the stack, spilling to the heap past `N`: the few options of one rule
/// (a rule line is parsed without allocating for them).
struct Small<T, const N: usize> {
    buf: [T; N],
    len: usize,
    spill: Vec<T>,
}

impl<T: Copy + Default, const N: usize> Default for Small<T, N> {
    fn default() -> Self {
        Small { buf: [T::default(); N], len: 0, spill: Vec::new() }
    }
}

impl<T: Copy + PartialEq, const N: usize> Small<T, N> {
    fn push(&mut self, x: T) {
        if self.len < N {
            self.buf[self.len] = x;
            self.len += 1;
        } else {
            self.spill.push(x);
        }
    }

    fn contains(&self, x: &T) -> bool {
        self.buf[..self.len].contains(x) || self.spill.contains(x)
    }

    fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.buf[..self.len].iter().chain(&self.spill)
    }

    fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let all: Vec<T> =
            self.buf[..self.len].iter().chain(&self.spill).copied().filter(|x| keep(x)).collect();
        self.len = 0;
        self.spill.clear();
        for x in all {
            self.push(x);
        }
    }
}

impl<V: Copy + Default + PartialEq, const N: usize> Small<(usize, V), N> {
    /// The value pushed last for `k` (a map's `get` after inserts).
    fn last_of(&self, k: usize) -> Option<V> {
        self.iter().rev().find(|(j, _)| *j == k).map(|(_, v)| *v)
    }
}

/// Target under construction, with flags to validate required options.
struct TargetBuilder {
    target: Target,
    has_to: bool,
    has_mark_op: bool,
}

/// Parses a full iptables argument vector (without the leading `iptables`).
pub fn parse_command<S: AsRef<str>>(argv: &[S]) -> Result<CommandLine, SpecError> {
    parse_command_with(argv, false)
}

/// [`parse_command`]; with `skip_unknown`, a match netsim does not simulate is kept as a
/// [`Match::Unknown`] that takes the options after it (up to the next `-m`, `-j` or an option
/// a later match or the target claims).
pub fn parse_command_with<S: AsRef<str>>(argv: &[S], skip_unknown: bool) -> Result<CommandLine, SpecError> {
    let v: Vec<&str> = argv.iter().map(AsRef::as_ref).collect();
    parse_args(&v, skip_unknown)
}

/// [`parse_command_with`] over borrowed arguments (no copy of any of them).
fn parse_args<'a>(argv: &'a [&'a str], skip_unknown: bool) -> Result<CommandLine, SpecError> {
    let mut a = Args { v: argv, i: 0 };
    let mut table = TableName::Filter;
    let mut op: Option<Op> = None;
    let mut rule = Rule::new();
    let mut has_spec = false;
    let mut flags = ListFlags::default();
    let mut addrs = AddrLists::default();
    let (mut src_given, mut dst_given) = (false, false);
    let mut tb: Option<TargetBuilder> = None;
    let mut invert = false;
    let mut proto_given = false;
    // `-m statistic --mode nth` given, by match index.
    let mut stat_nth: Small<(usize, bool), 4> = Small::default();
    let mut recent_cmd: std::collections::BTreeMap<usize, &str> = std::collections::BTreeMap::new();
    let mut mandatory_given: Small<usize, 8> = Small::default();
    // The extension options given, by match index (`usize::MAX`: the target) and canonical
    // long name: xtables refuses an option given twice to one extension.
    // (A few per rule: a list is cheaper than a tree.)
    let mut seen: Small<(usize, &str), 16> = Small::default();
    let set_op = |op: &mut Option<Op>, new: Op| -> Result<(), SpecError> {
        if op.is_some() {
            return Err(SpecError::MultipleCommands);
        }
        *op = Some(new);
        Ok(())
    };

    while let Some(arg) = a.next() {
        if arg == "!" {
            if invert {
                return Err(bad("multiple consecutive ! not allowed"));
            }
            invert = true;
            continue;
        }
        let inv = std::mem::take(&mut invert);
        let invertible = || {
            matches!(
                arg,
                "-s" | "--source"
                    | "--src"
                    | "-d"
                    | "--destination"
                    | "--dst"
                    | "-p"
                    | "--protocol"
                    | "-i"
                    | "--in-interface"
                    | "-o"
                    | "--out-interface"
                    | "-f"
                    | "--fragment"
            ) || (arg.starts_with("--") && !matches!(arg, "--table" | "--jump" | "--goto" | "--match"))
        };
        if inv && !invertible() {
            return Err(SpecError::BadInvert(arg.to_string()));
        }
        match arg {
            // The arms name distinct options, so their order is free: the common ones first
            // (a string match compares arm by arm).
            "-m" | "--match" => {
                has_spec = true;
                let name = a.value(arg)?;
                match new_match(name) {
                    Err(SpecError::UnknownMatch(n)) if skip_unknown => {
                        rule.matches
                            .push(Match::Unknown(Box::new(UnknownMatch { name: n, args: Vec::new() })));
                    }
                    m => rule.matches.push(m?),
                }
            }
            "-j" | "--jump" | "-g" | "--goto" => {
                has_spec = true;
                let name = a.value(arg)?;
                if tb.is_some() {
                    return Err(bad("multiple -j flags not allowed"));
                }
                let goto = arg == "-g" || arg == "--goto";
                tb = Some(new_target(name, goto)?);
            }
            "-A" | "--append" => {
                let c = a.value(arg)?;
                set_op(&mut op, Op::Append(c.to_string()))?;
            }
            "-p" | "--protocol" => {
                has_spec = true;
                if proto_given {
                    return Err(SpecError::Duplicate("-p".into()));
                }
                proto_given = true;
                let v = a.value(arg)?;
                if v.eq_ignore_ascii_case("all") || v == "0" {
                    if inv {
                        return Err(bad("rule would never match protocol"));
                    }
                    rule.proto = None;
                    rule.proto_num = None;
                } else if let Some(p) = Protocol::parse(v) {
                    rule.proto = Some(ProtoMatch { proto: p, invert: inv });
                    rule.proto_num = None;
                } else {
                    let n = super::ext::parse_other_protocol(v)
                        .ok_or_else(|| bad(format!("unknown protocol \"{v}\" specified")))?;
                    rule.proto = None;
                    rule.proto_num = Some((n, inv));
                }
            }
            "-s" | "--source" | "--src" | "-d" | "--destination" | "--dst" => {
                has_spec = true;
                let source = matches!(arg, "-s" | "--source" | "--src");
                let (list, given) =
                    if source { (&mut addrs.src, &mut src_given) } else { (&mut addrs.dst, &mut dst_given) };
                if *given {
                    return Err(SpecError::Duplicate(if source { "-s" } else { "-d" }.into()));
                }
                *given = true;
                let v = a.value(arg)?;
                // One address (the usual case) needs no list: see `AddrLists`.
                let first = if v.contains(',') {
                    *list = parse_addr_list(v)?
                        .into_iter()
                        .map(|(addr, mask)| any_is_none(AddrMatch::with_mask(addr, mask, inv)))
                        .collect();
                    list.first().copied().flatten()
                } else {
                    let (addr, mask) = parse_addr_mask(v)?;
                    any_is_none(AddrMatch::with_mask(addr, mask, inv))
                };
                if source {
                    rule.src = first;
                } else {
                    rule.dst = first;
                }
            }
            "-t" | "--table" => {
                let t = a.value(arg)?;
                table = TableName::parse(t).ok_or_else(|| {
                    bad(format!(
                        "can't initialize iptables table `{t}': Table does not exist (do you need to insmod?)"
                    ))
                })?;
            }
            "-I" | "--insert" => {
                let c = a.value(arg)?.to_string();
                let n = match a.optional() {
                    Some(n) => parse_rulenum(n)?,
                    None => 1,
                };
                set_op(&mut op, Op::Insert(c, n))?;
            }
            "-D" | "--delete" => {
                let c = a.value(arg)?.to_string();
                let n = match a.optional() {
                    Some(n) => Some(parse_rulenum(n)?),
                    None => None,
                };
                set_op(&mut op, Op::Delete(c, n))?;
            }
            "-R" | "--replace" => {
                let c = a.value(arg)?.to_string();
                let n = parse_rulenum(a.value(arg)?)?;
                set_op(&mut op, Op::Replace(c, n))?;
            }
            "-N" | "--new-chain" => {
                let c = a.value(arg)?;
                check_chain_name(c)?;
                set_op(&mut op, Op::NewChain(c.to_string()))?;
            }
            "-X" | "--delete-chain" => {
                let c = a.optional().map(str::to_string);
                set_op(&mut op, Op::DeleteChain(c))?;
            }
            "-F" | "--flush" => {
                let c = a.optional().map(str::to_string);
                set_op(&mut op, Op::Flush(c))?;
            }
            "-Z" | "--zero" => {
                let c = a.optional().map(str::to_string);
                set_op(&mut op, Op::Zero(c))?;
            }
            "-P" | "--policy" => {
                let c = a.value(arg)?.to_string();
                let p = a.value(arg)?;
                let p = Policy::parse(p)
                    .ok_or_else(|| bad(format!("Bad policy name. Run `dmesg' for more information.{p}")))?;
                set_op(&mut op, Op::Policy(c, p))?;
            }
            "-L" | "--list" => {
                let c = a.optional().map(str::to_string);
                set_op(&mut op, Op::List(c))?;
            }
            "-S" | "--list-rules" => {
                let c = a.optional().map(str::to_string);
                set_op(&mut op, Op::ListRules(c))?;
            }
            "-C" | "--check" => {
                let c = a.value(arg)?;
                set_op(&mut op, Op::Check(c.to_string()))?;
            }
            "-E" | "--rename-chain" => {
                let old = a.value(arg)?.to_string();
                let new = a.value(arg)?;
                check_chain_name(new)?;
                set_op(&mut op, Op::Rename(old, new.to_string()))?;
            }
            "-n" | "--numeric" => flags.numeric = true,
            // The IPv4 program takes `-4` and ignores it.
            "-4" | "--ipv4" => {}
            "-v" | "--verbose" => flags.verbose = true,
            "-x" | "--exact" => flags.exact = true,
            "--line-numbers" => flags.line_numbers = true,
            "-w" | "--wait" => {
                a.optional();
            }
            "-c" | "--set-counters" => {
                let p = a.value(arg)?;
                let (pk, by) = match p.split_once(':') {
                    Some((x, y)) => (x.to_string(), y.to_string()),
                    None => (p.to_string(), a.value(arg)?.to_string()),
                };
                let pk = pk.parse().map_err(|_| bad(format!("-c packet counter not numeric: {pk}")))?;
                let by = by.parse().map_err(|_| bad(format!("-c byte counter not numeric: {by}")))?;
                rule.counters = Counters { packets: pk, bytes: by };
            }
            "-f" | "--fragment" => {
                has_spec = true;
                if rule.fragment.is_some() {
                    return Err(SpecError::Duplicate("-f".into()));
                }
                rule.fragment = Some(inv);
            }
            "-i" | "--in-interface" | "-o" | "--out-interface" => {
                has_spec = true;
                let v = a.value(arg)?;
                if v.is_empty() || v.len() > 15 {
                    return Err(bad(format!("interface name `{v}' must be shorter than IFNAMSIZ (15)")));
                }
                let (name, wildcard) = match v.strip_suffix('+') {
                    Some(n) => (n.to_string(), true),
                    None => (v.to_string(), false),
                };
                // `-i +` names every interface: no test at all (iptables-save prints none).
                let m = (!(name.is_empty() && wildcard && !inv)).then_some(IfaceMatch {
                    name,
                    wildcard,
                    invert: inv,
                });
                let input = arg == "-i" || arg == "--in-interface";
                let slot = if input { &mut rule.in_iface } else { &mut rule.out_iface };
                if slot.is_some() {
                    return Err(SpecError::Duplicate(if input { "-i" } else { "-o" }.into()));
                }
                *slot = m.map(Box::new);
            }
            opt if opt.starts_with("--") => {
                has_spec = true;
                // `-m recent` takes exactly one command; remember which matches got one.
                // (libxt_recent.c: the four exclude each other; the message names the one
                // first in its option table first.)
                const RECENT_CMDS: [&str; 4] = ["--set", "--rcheck", "--update", "--remove"];
                if RECENT_CMDS.contains(&opt)
                    && let Some(i) = rule.matches.iter().rposition(|m| matches!(m, Match::Recent(_)))
                    && let Some(earlier) = recent_cmd.insert(i, opt)
                {
                    if earlier == opt {
                        return Err(bad(format!("recent: option \"{opt}\" can only be used once.")));
                    }
                    let (x, y) = if RECENT_CMDS.iter().position(|c| *c == earlier)
                        < RECENT_CMDS.iter().position(|c| *c == opt)
                    {
                        (earlier, opt)
                    } else {
                        (opt, earlier)
                    };
                    return Err(bad(format!("recent: option \"{x}\" cannot be used together with \"{y}\".")));
                }
                // The target's options first, then the matches, latest first.
                if let Some(t) = tb.as_mut() {
                    // (An option does not change which target it is: the name is read after.)
                    if seen.contains(&(usize::MAX, opt)) {
                        let name = t.target.column_name();
                        return Err(bad(format!("{name}: option \"{opt}\" can only be used once.")));
                    }
                    let took = match target_option(t, opt, inv, &mut a) {
                        Ok(took) => took,
                        Err(SpecError::BadInvert(o)) if o.starts_with("--") => {
                            let name = t.target.column_name();
                            return Err(bad(format!("{name}: option \"{o}\" cannot be inverted.")));
                        }
                        Err(e) => return Err(e),
                    };
                    if took {
                        exclusions(t.target.column_name(), opt, usize::MAX, &seen)?;
                        seen.push((usize::MAX, opt));
                        continue;
                    }
                }
                let mut done = false;
                let svc = match rule.proto {
                    Some(ProtoMatch { proto: Protocol::Tcp, invert: false }) => Some(ServiceProto::Tcp),
                    Some(ProtoMatch { proto: Protocol::Udp, invert: false }) => Some(ServiceProto::Udp),
                    Some(ProtoMatch { proto: Protocol::Sctp, invert: false }) => Some(ServiceProto::Sctp),
                    _ => None,
                };
                for (i, m) in rule.matches.iter_mut().enumerate().rev() {
                    let key = canonical_option(m, opt);
                    // Refused before its value is read, as `xtables_option_parse` does.
                    if seen.contains(&(i, key)) {
                        return Err(once_message(m, key));
                    }
                    exclusions(ext_of(m), key, i, &seen)?;
                    let ext_name = match &*m {
                        Match::Ext(e) => e.name(),
                        other => other.name(),
                    };
                    let took = match_option(m, opt, inv, &mut a, svc).map_err(|e| match e {
                        // xtables_option_parse's words for an option without XTOPT_INVERT.
                        SpecError::BadInvert(o)
                            if o.starts_with("--") && !matches!(ext_name, "tcp" | "sctp") =>
                        {
                            bad(format!("{ext_name}: option \"{o}\" cannot be inverted."))
                        }
                        e => e,
                    })?;
                    if took {
                        if matches!(opt, "--comment" | "--mark" | "--nfacct-name") {
                            mandatory_given.push(i);
                        }
                        if !matches!(m, Match::Unknown(_)) {
                            seen.push((i, key));
                        }
                        // `-m policy --next` starts another element: its options may be
                        // given again (and `--next` itself repeats).
                        if ext_name == "policy" && opt == "--next" {
                            seen.retain(|(j, k)| {
                                *j != i || !(POLICY_ELEM_OPTS.contains(k) || *k == "--next")
                            });
                        }
                        if let Match::Statistic(st) = m
                            && opt == "--mode"
                        {
                            stat_nth.push((i, matches!(st.mode, StatisticMode::Nth { .. })));
                        }
                        done = true;
                        break;
                    }
                }
                if done {
                    continue;
                }
                // Implicit protocol match: `-p tcp --dport 80` loads `-m tcp`, and so does
                // `! -p tcp --dport 80` (`load_proto` looks at the protocol, not at the `!`;
                // the backends then differ, see `check_protocols`).
                let port_opt = matches!(opt, "--dport" | "--sport" | "--destination-port" | "--source-port");
                if let Some(p) = rule.proto
                    && ((matches!(p.proto, Protocol::Tcp | Protocol::Udp | Protocol::Sctp) && port_opt)
                        || (p.proto == Protocol::Tcp
                            && matches!(opt, "--tcp-flags" | "--syn" | "--tcp-option"))
                        || (p.proto == Protocol::Sctp && opt == "--chunk-types")
                        || (p.proto == Protocol::Icmp && opt == "--icmp-type"))
                {
                    let mut m = match p.proto {
                        Protocol::Tcp => Match::Tcp(L4Ports::default()),
                        Protocol::Udp => Match::Udp(L4Ports::default()),
                        Protocol::Sctp => match ExtMatch::new("sctp") {
                            Some(e) => Match::Ext(Box::new(e)),
                            None => return Err(SpecError::UnknownOption(opt.to_string())),
                        },
                        _ => Match::Icmp(IcmpMatch { icmp_type: 255, codes: (0, 255), invert: false }),
                    };
                    let key = canonical_option(&m, opt);
                    match_option(&mut m, opt, inv, &mut a, None)?;
                    seen.push((rule.matches.len(), key));
                    rule.matches.push(m);
                    continue;
                }
                return Err(SpecError::UnknownOption(opt.to_string()));
            }
            other => {
                if other.starts_with('-') {
                    return Err(SpecError::UnknownOption(other.to_string()));
                }
                return Err(bad(format!("Bad argument `{other}'")));
            }
        }
    }
    if invert {
        return Err(bad("nothing appropriate following !"));
    }
    let op = op.ok_or(SpecError::NoCommand)?;
    if let Some(t) = tb {
        rule.target = finish_target(t, &rule)?;
    }
    for (i, m) in rule.matches.iter().enumerate() {
        if matches!(m, Match::Recent(_)) && !recent_cmd.contains_key(&i) {
            return Err(bad("recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'"));
        }
        // XTOPT_MAND options of libxt_comment, libxt_mark and libxt_nfacct.
        let connmark = matches!(m, Match::Ext(e) if e.name() == "connmark");
        if (connmark || matches!(m, Match::Comment(_) | Match::Mark(_) | Match::Nfacct(_)))
            && !mandatory_given.contains(&i)
        {
            let opt = match m {
                Match::Comment(_) => "--comment",
                Match::Nfacct(_) => "--nfacct-name",
                _ => "--mark",
            };
            return Err(bad(format!("{}: option \"{opt}\" must be specified", m.name())));
        }
    }
    for (i, m) in rule.matches.iter().enumerate() {
        if let Match::Statistic(st) = m {
            let given = |o: &str| seen.contains(&(i, o));
            statistic_check(st, stat_nth.last_of(i), given)?;
        }
    }
    for m in &mut rule.matches {
        if let Match::Ext(e) = m {
            e.finish()?;
        }
    }
    validate_matches(&rule)?;
    // iptables.c do_command4, after the options: the address lists.
    let multiple = addrs.src.len() > 1 || addrs.dst.len() > 1;
    let inverted = |l: &[Option<AddrMatch>]| l.iter().flatten().any(|m| m.invert);
    if multiple && (inverted(&addrs.src) || inverted(&addrs.dst)) {
        return Err(bad("! not allowed with multiple source or destination IP addresses"));
    }
    if multiple && matches!(op, Op::Replace(..)) {
        return Err(bad("Replacement rule does not specify a unique address"));
    }
    Ok(CommandLine { table, op, rule, has_spec, flags, addrs })
}

/// `-s 0.0.0.0/0` is stored as no address match at all, as in the kernel (mask 0), so it is
/// neither printed nor distinguished by `-D`.
fn any_is_none(m: AddrMatch) -> Option<AddrMatch> {
    if m.mask().is_unspecified() && !m.invert { None } else { Some(m) }
}

/// libxt_statistic.c's final checks, then the option table's (`xtables_options_fcheck`:
/// exclusions, `--every` needing `--packet`, `--mode` mandatory), in the order the real
/// iptables v1.8.9 reports them. `nth` is the `--mode` given (`None`: none, so random).
fn statistic_check(
    s: &StatisticMatch,
    nth: Option<bool>,
    given: impl Fn(&str) -> bool,
) -> Result<(), SpecError> {
    let is_nth = nth == Some(true);
    let (prob, every, packet) = (given("--probability"), given("--every"), given("--packet"));
    if !is_nth && !prob {
        return Err(bad("--probability must be specified when using random mode"));
    }
    if is_nth && !every && !packet {
        return Err(bad("--every and --packet must be specified when using nth mode"));
    }
    if let StatisticMode::Nth { every: n, packet: p } = s.mode
        && is_nth
        && p >= n
    {
        return Err(bad("the --packet p must be 0 <= p <= n-1"));
    }
    for (o, set) in [("--every", every), ("--packet", packet)] {
        if prob && set {
            return Err(bad(format!(
                "statistic: option \"--probability\" cannot be used together with \"{o}\"."
            )));
        }
    }
    if every && !packet {
        return Err(bad("statistic: option \"--every\" also requires \"--packet\"."));
    }
    if nth.is_none() {
        return Err(bad("statistic: option \"--mode\" must be specified"));
    }
    Ok(())
}

/// The long name an extension's option is known by (`--dport` is `--destination-port`): the
/// name xtables' messages print and the key of the "only once" check. The tcp match's `--syn`
/// and `--tcp-flags` share one key (libxt_tcp.c refuses the second of either).
fn canonical_option<'o>(m: &Match, opt: &'o str) -> &'o str {
    let ext = match m {
        Match::Ext(e) => e.name(),
        _ => m.name(),
    };
    match (ext, opt) {
        ("tcp" | "udp" | "sctp", "--sport") => "--source-port",
        ("tcp" | "udp" | "sctp", "--dport") => "--destination-port",
        ("tcp", "--syn" | "--tcp-flags") => "--syn|--tcp-flags",
        ("multiport", "--sports") => "--source-ports",
        ("multiport", "--dports") => "--destination-ports",
        ("set", "--set") => "--match-set",
        _ => opt,
    }
}

/// The options of one `-m policy` element (libxt_policy.c checks their repetition itself).
const POLICY_ELEM_OPTS: [&str; 6] = ["--reqid", "--spi", "--proto", "--mode", "--tunnel-src", "--tunnel-dst"];

/// The refusal of an option given twice to one match: libxt_tcp.c's and libxt_sctp.c's own
/// words (old-style parsers), else the xtables option parser's (`xtables_option_parse`).
fn once_message(m: &Match, key: &str) -> SpecError {
    let ext = match m {
        Match::Ext(e) => e.name(),
        _ => m.name(),
    };
    match (ext, key) {
        ("tcp", "--syn|--tcp-flags") => bad("Only one of `--syn' or `--tcp-flags'  allowed"),
        ("policy", k) if POLICY_ELEM_OPTS.contains(&k) => bad(format!("policy match: double {k} option")),
        ("tcp" | "sctp", _) => bad(format!("Only one `{key}' allowed")),
        _ => bad(format!("{ext}: option \"{key}\" can only be used once.")),
    }
}

/// Options of one extension that exclude each other, measured with iptables v1.8.9: the
/// message names first the one listed first here, whichever was given first.
const EXCLUSIVE: [(&str, &[&str]); 6] = [
    ("multiport", &["--source-ports", "--destination-ports", "--ports"]),
    ("hashlimit", &["--hashlimit-upto", "--hashlimit-above"]),
    ("connlimit", &["--connlimit-upto", "--connlimit-above"]),
    ("ttl", &["--ttl-lt", "--ttl-gt", "--ttl-eq"]),
    ("dscp", &["--dscp", "--dscp-class"]),
    ("MARK", &["--set-xmark", "--set-mark", "--and-mark", "--or-mark", "--xor-mark"]),
];

/// Refuses `opt` (canonical) for the extension `ext` (at `idx`: a match index, `usize::MAX`
/// the target) if an option it excludes was given.
fn exclusions(ext: &str, opt: &str, idx: usize, seen: &Small<(usize, &str), 16>) -> Result<(), SpecError> {
    // Most extensions have no such options (kube-proxy's comment, tcp, statistic, DNAT):
    // one length-and-byte test instead of six string comparisons per option.
    if !matches!(ext.as_bytes().first(), Some(b'm' | b'h' | b'c' | b't' | b'd' | b'M')) {
        return Ok(());
    }
    for (e, group) in EXCLUSIVE {
        if e != ext {
            continue;
        }
        let Some(at) = group.iter().position(|o| *o == opt) else {
            continue;
        };
        for (j, other) in group.iter().enumerate() {
            if j != at && seen.contains(&(idx, *other)) {
                let (x, y) = if j < at { (*other, opt) } else { (opt, *other) };
                return Err(bad(format!("{ext}: option \"{x}\" cannot be used together with \"{y}\".")));
            }
        }
    }
    Ok(())
}

/// The name an extension calls itself in messages (`-m` name).
fn ext_of(m: &Match) -> &'static str {
    match m {
        Match::Ext(e) => e.name(),
        _ => m.name(),
    }
}

fn parse_rulenum(s: &str) -> Result<usize, SpecError> {
    s.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| bad(format!("Invalid rule number `{s}'")))
}

/// Chain names: at most 28 characters, not starting with `-` or `!`, no spaces.
pub fn check_chain_name(c: &str) -> Result<(), SpecError> {
    if c.len() > 28 {
        return Err(bad(format!("chain name `{c}' too long (must be under 29 chars)")));
    }
    if c.starts_with('-') {
        return Err(bad("chain name not allowed to start with `-'"));
    }
    let blank = match c.is_ascii() {
        // char::is_whitespace on ASCII: space and \t \n \x0b \x0c \r.
        true => c.bytes().any(|b| matches!(b, b' ' | b'\t'..=b'\r')),
        false => c.chars().any(char::is_whitespace),
    };
    if c.is_empty() || c.starts_with('!') || blank {
        return Err(bad(format!("Invalid chain name `{c}'")));
    }
    if new_target_builtin(c).is_some() {
        return Err(bad("chain name may not clash with target name"));
    }
    Ok(())
}

fn new_match(name: &str) -> Result<Match, SpecError> {
    Ok(match name {
        "tcp" => Match::Tcp(L4Ports::default()),
        "udp" => Match::Udp(L4Ports::default()),
        "comment" => Match::Comment(String::new()),
        "mark" => Match::Mark(MarkMatch { value: 0, mask: u32::MAX, invert: false }),
        "addrtype" => Match::AddrType(AddrTypeMatch::default()),
        "statistic" => Match::Statistic(StatisticMatch {
            mode: StatisticMode::Random { p_u32: u32::MAX },
            invert: false,
            nth_count: 0,
        }),
        "recent" => Match::Recent(RecentMatch {
            cmd: RecentCmd::Set,
            seconds: 0,
            reap: false,
            hitcount: 0,
            rttl: false,
            name: String::new(),
            mask: Ipv4Addr::BROADCAST,
            side: RecentSide::Source,
            invert: false,
        }),
        "conntrack" => Match::Conntrack(ConntrackMatch::default()),
        "state" => Match::State(CtStateSet(0), false),
        "multiport" => {
            Match::Multiport(MultiportMatch { dir: MultiportDir::Dest, ports: Vec::new(), invert: false })
        }
        "set" => {
            Match::Set(SetMatch { name: String::new(), dirs: Box::default(), invert: false, opts: None })
        }
        "icmp" => Match::Icmp(IcmpMatch { icmp_type: 255, codes: (0, 255), invert: false }),
        "nfacct" => Match::Nfacct(NfacctName::default()),
        _ => match ExtMatch::new(name) {
            Some(e) => Match::Ext(Box::new(e)),
            None => return Err(SpecError::UnknownMatch(name.to_string())),
        },
    })
}

/// Offers `opt` to match `m`; returns false if the match has no such option.
/// `svc` is the protocol whose service names a port may be (`-m multiport`: the rule's `-p`
/// so far, as libxt_multiport.c's `check_proto` reads it).
fn match_option(
    m: &mut Match,
    opt: &str,
    inv: bool,
    a: &mut Args<'_>,
    svc: Option<ServiceProto>,
) -> Result<bool, SpecError> {
    let tcp = matches!(m, Match::Tcp(_));
    match m {
        Match::Unknown(u) => {
            // Its options' arities are unknown: the values are the arguments up to the next
            // option or `!`.
            if inv {
                u.args.push("!".to_string());
            }
            u.args.push(opt.to_string());
            while let Some(v) = a.optional() {
                u.args.push(v.to_string());
            }
        }
        Match::Tcp(p) | Match::Udp(p) => {
            match opt {
                "--sport" | "--source-port" => {
                    let v = a.value(opt)?;
                    let r = if tcp {
                        parse_port_range(v, Some(ServiceProto::Tcp))?
                    } else {
                        parse_port_range_xt("udp", "--source-port", v)?
                    };
                    p.sport = port_match(r, inv);
                }
                "--dport" | "--destination-port" => {
                    let v = a.value(opt)?;
                    let r = if tcp {
                        parse_port_range(v, Some(ServiceProto::Tcp))?
                    } else {
                        parse_port_range_xt("udp", "--destination-port", v)?
                    };
                    p.dport = port_match(r, inv);
                }
                // libxt_tcp.c: `--syn` is `--tcp-flags FIN,SYN,RST,ACK SYN`.
                "--syn" if tcp => p.flags = Some(TcpFlagsMatch { mask: 0x17, cmp: 0x02, invert: inv }),
                "--tcp-flags" if tcp => {
                    let mask = a.value(opt)?;
                    let cmp = a.optional().ok_or_else(|| bad("--tcp-flags requires two args."))?;
                    let (mask, cmp) = (parse_tcp_flags(mask)?, parse_tcp_flags(cmp)?);
                    p.flags = Some(TcpFlagsMatch { mask, cmp, invert: inv });
                }
                "--tcp-option" if tcp => {
                    let v = a.value(opt)?;
                    let n = v.parse::<u8>().map_err(|_| bad(format!("Bad TCP option \"{v}\"")))?;
                    p.option = Some((n, inv));
                }
                _ => return Ok(false),
            }
        }
        Match::Comment(c) => match opt {
            "--comment" => {
                if inv {
                    return Err(SpecError::BadInvert(opt.into()));
                }
                let v = a.value(opt)?;
                if v.len() > 255 {
                    return Err(bad("COMMENT must be shorter than 256 characters"));
                }
                *c = v.to_string();
            }
            _ => return Ok(false),
        },
        Match::Nfacct(n) => match opt {
            "--nfacct-name" => {
                // XTTYPE_STRING without XTOPT_INVERT: `!` is refused.
                if inv {
                    return Err(SpecError::BadInvert(opt.into()));
                }
                let v = a.value(opt)?;
                *n = NfacctName::parse(v).ok_or_else(|| {
                    if v.is_empty() {
                        bad("Argument must have a minimum length of 1 characters")
                    } else {
                        bad("Newlines not allowed in --nfacct-name")
                    }
                })?;
            }
            _ => return Ok(false),
        },
        Match::Mark(mm) => match opt {
            "--mark" => {
                let (v, m) = parse_mark_pair("mark", opt, a.value(opt)?)?;
                *mm = MarkMatch { value: v, mask: m.unwrap_or(u32::MAX), invert: inv };
            }
            _ => return Ok(false),
        },
        Match::AddrType(at) => match opt {
            "--src-type" => {
                at.src = Some(AddrTypeCheck { types: parse_addrtypes(a.value(opt)?)?, invert: inv })
            }
            "--dst-type" => {
                at.dst = Some(AddrTypeCheck { types: parse_addrtypes(a.value(opt)?)?, invert: inv })
            }
            "--limit-iface-in" => at.limit_iface_in = true,
            "--limit-iface-out" => at.limit_iface_out = true,
            _ => return Ok(false),
        },
        Match::Statistic(s) => match opt {
            "--mode" => {
                let v = a.value(opt)?;
                // An earlier --probability (or --every/--packet) keeps its value.
                s.mode = match (v, s.mode) {
                    ("random", m @ StatisticMode::Random { .. }) | ("nth", m @ StatisticMode::Nth { .. }) => {
                        m
                    }
                    ("random", _) => StatisticMode::Random { p_u32: u32::MAX },
                    ("nth", _) => StatisticMode::Nth { every: 0, packet: 0 },
                    _ => return Err(bad(format!("Bad mode \"{v}\""))),
                };
            }
            "--probability" => {
                let v = a.value(opt)?;
                // XTTYPE_DOUBLE with min 0, max 1 (libxt_statistic.c).
                let p = v.parse::<f64>().ok().filter(|p| (0.0..=1.0).contains(p)).ok_or_else(|| {
                    bad("statistic: bad value for option \"--probability\", or out of range (0-1).")
                })?;
                s.invert |= inv;
                s.mode = StatisticMode::Random { p_u32: probability_to_u32(p) };
            }
            "--every" | "--packet" => {
                let v = a.value(opt)?;
                let min = u32::from(opt == "--every");
                let n = v.parse::<u32>().ok().filter(|n| *n >= min).ok_or_else(|| {
                    bad(format!(
                        "statistic: bad value for option \"{opt}\", or out of range ({min}-4294967295)."
                    ))
                })?;
                s.invert |= inv;
                let (mut every, mut packet) = match s.mode {
                    StatisticMode::Nth { every, packet } => (every, packet),
                    StatisticMode::Random { .. } => (0, 0),
                };
                if opt == "--every" {
                    every = n;
                } else {
                    packet = n;
                }
                s.mode = StatisticMode::Nth { every, packet };
                s.nth_count = packet;
            }
            _ => return Ok(false),
        },
        Match::Recent(r) => match opt {
            "--set" | "--rcheck" | "--update" | "--remove" => {
                r.cmd = match opt {
                    "--set" => RecentCmd::Set,
                    "--rcheck" => RecentCmd::Rcheck,
                    "--update" => RecentCmd::Update,
                    _ => RecentCmd::Remove,
                };
                r.invert = inv;
            }
            "--seconds" => {
                let v = a.value(opt)?;
                r.seconds = v.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                    bad("recent: bad value for option \"--seconds\", or out of range (1-4294967295).")
                })?;
            }
            "--hitcount" => {
                let v = a.value(opt)?;
                r.hitcount = v.parse().map_err(|_| {
                    bad("recent: bad value for option \"--hitcount\", or out of range (0-4294967295).")
                })?;
            }
            "--reap" => r.reap = true,
            "--rttl" => r.rttl = true,
            "--name" => {
                let v = a.value(opt)?;
                if v.is_empty() || v.len() > 200 {
                    return Err(bad("recent: bad --name"));
                }
                r.name = v.to_string();
            }
            "--mask" => {
                let v = a.value(opt)?;
                r.mask = v.parse().map_err(|_| bad(format!("recent: bad --mask \"{v}\"")))?;
            }
            "--rsource" => r.side = RecentSide::Source,
            "--rdest" => r.side = RecentSide::Dest,
            _ => return Ok(false),
        },
        Match::Conntrack(c) => match opt {
            "--ctstate" => c.state = Some((parse_ctstates(a.value(opt)?)?, inv)),
            "--ctstatus" => c.status = Some((parse_ctstatus(a.value(opt)?)?, inv)),
            "--ctproto" => {
                let v = a.value(opt)?;
                let n = match Protocol::parse(v) {
                    Some(p) => p.number(),
                    None => {
                        v.parse::<u8>().map_err(|_| bad(format!("unknown protocol \"{v}\" specified")))?
                    }
                };
                c.tuple_mut().proto = Some((n, inv));
            }
            // libxt_conntrack.c keeps the address as given (`9.9.9.9/24`); the kernel masks
            // it when it compares (conntrack_addrcmp), and iptables-save prints it unmasked.
            "--ctorigsrc" => c.tuple_mut().orig_src = Some((parse_net_unmasked(a.value(opt)?)?, inv)),
            "--ctorigdst" => c.tuple_mut().orig_dst = Some((parse_net_unmasked(a.value(opt)?)?, inv)),
            "--ctreplsrc" => c.tuple_mut().repl_src = Some((parse_net_unmasked(a.value(opt)?)?, inv)),
            "--ctrepldst" => c.tuple_mut().repl_dst = Some((parse_net_unmasked(a.value(opt)?)?, inv)),
            "--ctorigsrcport" => {
                c.tuple_mut().orig_sport =
                    Some((parse_port_range_xt("conntrack", "--ctorigsrcport", a.value(opt)?)?, inv))
            }
            "--ctorigdstport" => {
                c.tuple_mut().orig_dport =
                    Some((parse_port_range_xt("conntrack", "--ctorigdstport", a.value(opt)?)?, inv))
            }
            "--ctreplsrcport" => {
                c.tuple_mut().repl_sport =
                    Some((parse_port_range_xt("conntrack", "--ctreplsrcport", a.value(opt)?)?, inv))
            }
            "--ctrepldstport" => {
                c.tuple_mut().repl_dport =
                    Some((parse_port_range_xt("conntrack", "--ctrepldstport", a.value(opt)?)?, inv))
            }
            "--ctexpire" => {
                let v = a.value(opt)?;
                // XTTYPE_UINT32RC: a reversed range is kept (and matches nothing).
                let err = |p: &str| {
                    bad(format!(
                        "conntrack: bad value for option \"--ctexpire\" near \"{p}\", or out of range (0-4294967295)."
                    ))
                };
                let num = |p: &str| p.parse::<u32>().map_err(|_| err(p));
                let (lo, hi) = match v.split_once(':') {
                    None => (num(v)?, num(v)?),
                    Some((x, y)) => (num(x)?, num(y)?),
                };
                c.tuple_mut().expire = Some(((lo, hi), inv));
            }
            "--ctdir" => {
                if inv {
                    return Err(bad("conntrack: option \"--ctdir\" cannot be inverted."));
                }
                let v = a.value(opt)?;
                c.tuple_mut().dir_reply = Some(if v.eq_ignore_ascii_case("ORIGINAL") {
                    false
                } else if v.eq_ignore_ascii_case("REPLY") {
                    true
                } else {
                    return Err(bad(format!("conntrack: Bad value for \"--ctdir\" option: \"{v}\"")));
                });
            }
            _ => return Ok(false),
        },
        Match::State(s, i) => match opt {
            "--state" => {
                *s = parse_ctstates(a.value(opt)?).map_err(|e| match e {
                    // libxt_state.c's word.
                    SpecError::BadValue(m) => bad(m.replace("Bad ctstate", "Bad state")),
                    e => e,
                })?;
                *i = inv;
            }
            _ => return Ok(false),
        },
        Match::Multiport(mp) => {
            let dir = match opt {
                "--sports" | "--source-ports" => MultiportDir::Source,
                "--dports" | "--destination-ports" => MultiportDir::Dest,
                "--ports" => MultiportDir::Either,
                _ => return Ok(false),
            };
            let v = a.value(opt)?;
            let mut ports = Vec::new();
            let mut slots = 0;
            for part in v.split(',') {
                // A name needs the protocol (`check_proto`, before any port is read).
                if svc.is_none() && part.split(':').any(|p| !p.is_empty() && parse_port(p).is_err()) {
                    return Err(bad(
                        "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'",
                    ));
                }
                // libxt_multiport.c parse_multi_ports: its own word for a reversed range.
                let r = parse_port_range(part, svc).map_err(|e| match e {
                    SpecError::BadValue(m) if m.starts_with("invalid portrange") => {
                        bad("invalid portrange specified")
                    }
                    e => e,
                })?;
                slots += if r.lo == r.hi { 1 } else { 2 };
                ports.push(r);
            }
            if slots > 15 {
                return Err(bad("too many ports specified"));
            }
            *mp = MultiportMatch { dir, ports, invert: inv };
        }
        Match::Icmp(im) => match opt {
            "--icmp-type" => {
                let v = a.value(opt)?;
                let (t, codes) = match ICMP_TYPES.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(v)) {
                    Some((_, t, c)) => (*t, *c),
                    None => {
                        // libxt_icmp.c parse_icmp: its words for each half.
                        let err = || bad(format!("Unknown ICMP type `{v}'"));
                        let code_err = || bad(format!("Unknown ICMP code `{v}'"));
                        match v.split_once('/') {
                            Some((t, c)) => {
                                let t = t.parse().map_err(|_| err())?;
                                let c: u8 = c.parse().map_err(|_| code_err())?;
                                (t, (c, c))
                            }
                            None => (v.parse().map_err(|_| err())?, (0, 255)),
                        }
                    }
                };
                *im = IcmpMatch { icmp_type: t, codes, invert: inv };
            }
            _ => return Ok(false),
        },
        Match::Set(s) => match opt {
            "--match-set" | "--set" => {
                let name = a.value(opt)?;
                let dirs = a.value(opt)?;
                s.name = name.to_string();
                s.dirs = super::ext::parse_dirs(dirs)?.into_boxed_slice();
                s.invert = inv;
            }
            "--return-nomatch" => s.opts_mut().return_nomatch = true,
            "--update-counters" => s.opts_mut().no_update_counters = inv,
            "--update-subcounters" => s.opts_mut().no_update_subcounters = inv,
            "--packets-eq" | "--packets-lt" | "--packets-gt" | "--bytes-eq" | "--bytes-lt" | "--bytes-gt" => {
                let v = a.value(opt)?;
                let n: u64 = v.parse().map_err(|_| bad(format!("Bad {opt} value \"{v}\"")))?;
                let op = if opt.ends_with("-eq") {
                    u8::from(inv)
                } else if inv {
                    return Err(SpecError::BadInvert(opt.to_string()));
                } else if opt.ends_with("-lt") {
                    2
                } else {
                    3
                };
                if opt.starts_with("--packets") {
                    s.opts_mut().packets = Some((op, n));
                } else {
                    s.opts_mut().bytes = Some((op, n));
                }
            }
            _ => return Ok(false),
        },
        Match::Ext(e) => return e.option(opt, inv, a),
    }
    Ok(true)
}

fn new_target_builtin(name: &str) -> Option<Target> {
    Some(match name {
        "ACCEPT" => Target::Accept,
        "DROP" => Target::Drop,
        "RETURN" => Target::Return,
        "REJECT" => Target::Reject(super::RejectWith::IcmpPortUnreachable),
        "DNAT" => Target::Dnat(DnatTarget { addrs: None, ports: None, random: false, persistent: false }),
        "SNAT" => Target::Snat { addrs: AddrRange::single(Ipv4Addr::UNSPECIFIED), opts: SnatOpts::default() },
        "MASQUERADE" => Target::Masquerade(SnatOpts::default()),
        "MARK" => Target::Mark(MarkTarget { value: 0, mask: 0 }),
        "LOG" => Target::Log(LogTarget { prefix: String::new(), level: 4, flags: 0 }),
        "NOTRACK" => Target::Notrack,
        "CT" => Target::Ext(Box::new(ExtTarget::Ct(super::ext::CtTarget::default()))),
        _ => Target::Ext(Box::new(ExtTarget::new(name)?)),
    })
}

fn new_target(name: &str, goto: bool) -> Result<TargetBuilder, SpecError> {
    let target = match new_target_builtin(name) {
        Some(t) if !goto => t,
        Some(_) => return Err(bad(format!("goto '{name}' is not a chain"))),
        None => {
            if name.is_empty() || name.starts_with('-') {
                return Err(SpecError::MissingArgument(if goto { "-g" } else { "-j" }.into()));
            }
            if name.len() > 28 {
                return Err(bad(format!("Invalid target name `{name}' (28 chars max)")));
            }
            if KNOWN_UNSIMULATED_TARGETS.contains(&name) {
                return Err(SpecError::UnsimulatedTarget(name.to_string()));
            }
            let c = ChainRef { name: name.to_string(), idx: usize::MAX };
            if goto { Target::Goto(c) } else { Target::Jump(c) }
        }
    };
    Ok(TargetBuilder { target, has_to: false, has_mark_op: false })
}

fn target_option(t: &mut TargetBuilder, opt: &str, inv: bool, a: &mut Args<'_>) -> Result<bool, SpecError> {
    let no_inv = |inv: bool| if inv { Err(SpecError::BadInvert(opt.to_string())) } else { Ok(()) };
    match &mut t.target {
        Target::Reject(w) if opt == "--reject-with" => {
            no_inv(inv)?;
            let v = a.value(opt)?;
            *w = parse_reject_with(v).ok_or_else(|| bad(format!("unknown reject type \"{v}\"")))?;
        }
        Target::Dnat(d) if opt == "--to-destination" => {
            no_inv(inv)?;
            let v = a.value(opt)?;
            (d.addrs, d.ports) = parse_nat_range(v)?;
            t.has_to = true;
        }
        Target::Dnat(d) if opt == "--random" => d.random = true,
        Target::Dnat(d) if opt == "--persistent" => d.persistent = true,
        Target::Snat { addrs, opts } => match opt {
            "--to-source" => {
                no_inv(inv)?;
                let v = a.value(opt)?;
                let (ad, ports) = parse_nat_range(v)?;
                *addrs = ad.ok_or_else(|| bad(format!("Bad IP address \"{v}\"")))?;
                opts.ports = ports;
                t.has_to = true;
            }
            "--random" => opts.random = true,
            "--random-fully" => opts.random_fully = true,
            "--persistent" => opts.persistent = true,
            _ => return Ok(false),
        },
        Target::Masquerade(opts) => match opt {
            "--to-ports" => opts.ports = Some(parse_nat_ports(a.value(opt)?)?),
            "--random" => opts.random = true,
            "--random-fully" => opts.random_fully = true,
            _ => return Ok(false),
        },
        Target::Mark(m) => {
            let (v, mask) = match opt {
                "--set-xmark" | "--set-mark" | "--and-mark" | "--or-mark" | "--xor-mark" => {
                    no_inv(inv)?;
                    parse_mark_pair("MARK", opt, a.value(opt)?)?
                }
                _ => return Ok(false),
            };
            t.has_mark_op = true;
            // libxt_MARK.c mark_tg_parse_v2: every form becomes (value, mask) for
            // `mark = (mark & ~mask) ^ value`.
            *m = match opt {
                "--set-xmark" => MarkTarget { value: v, mask: mask.unwrap_or(u32::MAX) },
                "--set-mark" => MarkTarget { value: v, mask: v | mask.unwrap_or(u32::MAX) },
                "--and-mark" => MarkTarget { value: 0, mask: !v },
                "--or-mark" => MarkTarget { value: v, mask: v },
                _ => MarkTarget { value: v, mask: 0 },
            };
        }
        Target::Log(l) => match opt {
            "--log-prefix" => {
                let v = a.value(opt)?;
                // libxt_LOG.c: the prefix is cut to the kernel's 29 bytes, silently (as the
                // real iptables does).
                let mut end = v.len().min(29);
                while !v.is_char_boundary(end) {
                    end -= 1;
                }
                l.prefix = v[..end].to_string();
            }
            "--log-level" => {
                let v = a.value(opt)?;
                // libxt_LOG.c's names (`warn` and `err` are not among them).
                let names = [
                    ("emerg", 0),
                    ("panic", 0),
                    ("alert", 1),
                    ("crit", 2),
                    ("error", 3),
                    ("warning", 4),
                    ("notice", 5),
                    ("info", 6),
                    ("debug", 7),
                ];
                l.level = match v.parse::<u8>() {
                    Ok(n) if n <= 7 => n,
                    _ => names
                        .iter()
                        .find(|(n, _)| *n == v)
                        .map(|(_, l)| *l)
                        .ok_or_else(|| bad(format!("log level \"{v}\" unknown")))?,
                };
            }
            _ => match LOG_FLAGS.iter().find(|(n, _)| *n == opt) {
                Some((_, bit)) => l.flags |= bit,
                None => return Ok(false),
            },
        },
        Target::CtNotrack if opt == "--notrack" => {}
        Target::Ext(e) => return e.option(opt, inv, a),
        _ => return Ok(false),
    }
    Ok(true)
}

fn finish_target(t: TargetBuilder, rule: &Rule) -> Result<Target, SpecError> {
    // libxt_DNAT.c / libxt_MASQUERADE.c: a port range needs `entry->ip.proto` TCP, UDP, SCTP,
    // DCCP or ICMP (the ICMP id is mapped); `!` does not change the stored protocol.
    let l4 = matches!(
        rule.proto,
        Some(ProtoMatch { proto: Protocol::Tcp | Protocol::Udp | Protocol::Sctp | Protocol::Icmp, .. })
    ) || matches!(rule.proto_num, Some((33, _)));
    match &t.target {
        Target::Dnat(d) => {
            if !t.has_to {
                return Err(bad("DNAT: option \"--to-destination\" must be specified"));
            }
            if d.ports.is_some() && !l4 {
                return Err(bad("Need TCP, UDP, SCTP or DCCP with port specification"));
            }
        }
        Target::Snat { opts, .. } => {
            if !t.has_to {
                return Err(bad("SNAT: option \"--to-source\" must be specified"));
            }
            if opts.ports.is_some() && !l4 {
                return Err(bad("Need TCP, UDP, SCTP or DCCP with port specification"));
            }
        }
        Target::Masquerade(opts) if opts.ports.is_some() && !l4 => {
            return Err(bad("Need TCP, UDP, SCTP or DCCP with port specification"));
        }
        Target::Mark(_) if !t.has_mark_op => {
            return Err(bad("MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required"));
        }
        Target::Ext(e) => {
            e.finish()?;
            match &**e {
                // Plain `CT --notrack` keeps its own variant (what kube-proxy-era dumps have).
                ExtTarget::Ct(c)
                    if c.notrack && *c == super::ext::CtTarget { notrack: true, ..Default::default() } =>
                {
                    return Ok(Target::CtNotrack);
                }
                ExtTarget::Redirect { ports: Some(_), .. } if !l4 => {
                    return Err(bad("Need TCP, UDP, SCTP or DCCP with port specification"));
                }
                _ => {}
            }
        }
        _ => {}
    }
    Ok(t.target)
}

fn validate_matches(rule: &Rule) -> Result<(), SpecError> {
    let proto = rule.proto.filter(|p| !p.invert).map(|p| p.proto);
    for m in &rule.matches {
        match m {
            Match::Multiport(mp) => {
                // udplite (136) and dccp (33) are protocols the model carries no traffic of.
                let other_l4 = matches!(rule.proto_num, Some((33 | 136, false)));
                if !matches!(proto, Some(Protocol::Tcp | Protocol::Udp | Protocol::Sctp)) && !other_l4 {
                    return Err(bad(
                        "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'",
                    ));
                }
                if mp.ports.is_empty() {
                    // (sic: libxt_multiport.c's word)
                    return Err(bad("multiport expection an option"));
                }
            }
            Match::Comment(_) | Match::Mark(_) | Match::Tcp(_) | Match::Udp(_) => {}
            Match::AddrType(at) if at.src.is_none() && at.dst.is_none() => {
                return Err(bad("addrtype: you must specify --src-type or --dst-type"));
            }
            Match::Recent(r) if r.reap && r.seconds == 0 => {
                return Err(bad("recent: option \"--reap\" also requires \"--seconds\"."));
            }
            Match::Conntrack(c) if !c.any() => {
                return Err(bad("conntrack: At least one option is required"));
            }
            Match::State(s, _) if s.0 == 0 => {
                return Err(bad("state: option \"--state\" must be specified"));
            }
            Match::Set(s) if s.name.is_empty() => {
                return Err(bad("You must specify `--match-set' with proper arguments"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Which `iptables` 1.8 a rule set is loaded by: `iptables-nft` (nf_tables, the default of
/// current distributions) or `iptables-legacy` (x_tables). They accept different rules; the
/// differences modelled are in [`check_protocols`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backend {
    /// `iptables-nft`: `iptables -V` prints `(nf_tables)`.
    #[default]
    Nft,
    /// `iptables-legacy`: `iptables -V` prints `(legacy)`.
    Legacy,
}

impl Backend {
    /// The word `iptables -V` prints in parentheses.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Nft => "nf_tables",
            Backend::Legacy => "legacy",
        }
    }
}

/// A protocol match (`-m tcp/udp/icmp/sctp`) whose protocol the rule's `-p` does not give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtoProblem {
    /// Refused as the rule is parsed, with this message (iptables-nft's userspace check).
    Parse(SpecError),
    /// Refused by the kernel when the rule is loaded (`xt_check_match`'s `.proto` check): the
    /// message the kernel logs.
    Kernel(&'static str),
}

/// The protocol matches' checks, as each backend makes them (measured with the real
/// iptables v1.8.9 binaries, `sim-net/tests/xtables_real.rs`):
///
/// - legacy: the kernel refuses `-m tcp`/`-m udp`/`-m icmp`/`-m sctp` unless `-p` names that
///   protocol un-inverted (`xt_check_match`: "only valid for protocol N");
///   `iptables-legacy-restore` reports it at COMMIT as `line N failed`;
/// - nft: `-m tcp`/`-m udp` need `-p tcp`/`-p udp`, inverted or not (`TCP match requires
///   '-p tcp'`, as the rule is parsed); with `! -p udp` the ports are compared as nftables'
///   `th sport/dport` (any transport header); `-m icmp`/`-m sctp` stay xtables matches, which
///   the kernel refuses as for legacy (`RULE_APPEND failed (Invalid argument)`).
///
/// `None` for `backend` is the model's `iptables` command (the kernel's rule, reported at once).
pub fn check_protocols(rule: &Rule, backend: Option<Backend>) -> Option<ProtoProblem> {
    let exact = rule.proto.filter(|p| !p.invert).map(|p| p.proto);
    let named = rule.proto.map(|p| p.proto);
    // iptables-nft: an inverted match of every address cannot be expressed; the kernel
    // refuses the rule (legacy loads it, and it never matches).
    if backend == Some(Backend::Nft)
        && [rule.src, rule.dst].iter().flatten().any(|a| a.invert && a.mask().is_unspecified())
    {
        return Some(ProtoProblem::Kernel("an inverted match of 0.0.0.0/0"));
    }
    for m in &rule.matches {
        let (need, kernel_msg, nft_msg) = match m {
            Match::Tcp(_) => {
                (Protocol::Tcp, "tcp match: only valid for protocol 6", Some("TCP match requires '-p tcp'"))
            }
            Match::Udp(_) => {
                (Protocol::Udp, "udp match: only valid for protocol 17", Some("UDP match requires '-p udp'"))
            }
            Match::Icmp(_) => (Protocol::Icmp, "icmp match: only valid for protocol 1", None),
            Match::Ext(e) if e.name() == "sctp" => {
                (Protocol::Sctp, "sctp match: only valid for protocol 132", None)
            }
            _ => continue,
        };
        match (backend, nft_msg) {
            (Some(Backend::Nft), Some(msg)) => {
                if named != Some(need) {
                    return Some(ProtoProblem::Parse(bad(msg)));
                }
            }
            _ => {
                if exact != Some(need) {
                    return Some(ProtoProblem::Kernel(kernel_msg));
                }
            }
        }
    }
    kernel_checks(rule).map(ProtoProblem::Kernel)
}

/// Applies defaults that depend on the whole rule: `-m recent` without `--name` uses the
/// list `DEFAULT`. Called once per parsed rule.
pub fn normalize(rule: &mut Rule) {
    for m in &mut rule.matches {
        if let Match::Recent(r) = m
            && r.name.is_empty()
        {
            r.name = "DEFAULT".to_string();
        }
    }
}

/// Parses a command line and normalizes its rule; a protocol match without its `-p` is
/// refused with the kernel's reason (the model's `iptables` command).
pub fn parse<S: AsRef<str>>(argv: &[S]) -> Result<CommandLine, SpecError> {
    let c = parse_unchecked(argv, false)?;
    match check_protocols(&c.rule, None) {
        Some(ProtoProblem::Parse(e)) => Err(e),
        Some(ProtoProblem::Kernel(m)) => Err(kernel_refusal(m)),
        None => Ok(c),
    }
}

/// How the model's own `iptables` reports what the kernel refuses: a protocol match
/// with a hint to the `-p` it needs, anything else as iptables does (`Invalid argument`).
pub fn kernel_refusal(msg: &str) -> SpecError {
    match ["tcp", "udp", "icmp", "sctp"].into_iter().find(|p| msg.starts_with(&format!("{p} match"))) {
        Some(p) => bad(format!("{msg} (use -p {p})")),
        None => bad(format!("Invalid argument. Run `dmesg' for more information. ({msg})")),
    }
}

/// What the kernel's `checkentry` functions refuse in a rule beyond the protocol matches
/// (both backends load these as xtables extensions): the kernel's log message.
fn kernel_checks(rule: &Rule) -> Option<&'static str> {
    let tcp = matches!(rule.proto, Some(ProtoMatch { proto: Protocol::Tcp, invert: false }));
    match &rule.target {
        // ipt_REJECT's checkentry: a TCP reset needs a (non-inverted) `-p tcp`.
        Target::Reject(super::RejectWith::TcpReset) if !tcp => return Some("TCP_RESET invalid for non-tcp"),
        // xt_TPROXY's checkentry: TCP or UDP only.
        Target::Ext(e)
            if e.name() == "TPROXY"
                && !matches!(
                    rule.proto,
                    Some(ProtoMatch { proto: Protocol::Tcp | Protocol::Udp, invert: false })
                ) =>
        {
            return Some("TPROXY needs -p tcp or -p udp");
        }
        // xt_TCPMSS's `.proto = IPPROTO_TCP`.
        Target::Ext(e) if e.name() == "TCPMSS" && !tcp => {
            return Some("TCPMSS target: only valid for protocol 6");
        }
        _ => {}
    }
    // xt_owner's checkentry: a reversed uid or gid range.
    let reversed = |r: Option<((u32, u32), bool)>| r.is_some_and(|((lo, hi), _)| lo > hi);
    if rule
        .matches
        .iter()
        .any(|m| matches!(m, Match::Ext(e) if e.owner().is_some_and(|o| reversed(o.uid) || reversed(o.gid))))
    {
        return Some("owner: the uid or gid range is reversed");
    }
    // xt_recent's checkentry: `--set` takes no `--seconds`.
    rule.matches
        .iter()
        .any(|m| matches!(m, Match::Recent(r) if r.cmd == RecentCmd::Set && r.seconds > 0))
        .then_some("recent: --set cannot be combined with --seconds")
}

/// Parses a command line and normalizes its rule, leaving [`check_protocols`] to the caller;
/// `skip_unknown` as for [`parse_command_with`].
pub fn parse_unchecked<S: AsRef<str>>(argv: &[S], skip_unknown: bool) -> Result<CommandLine, SpecError> {
    let mut c = parse_command_with(argv, skip_unknown)?;
    normalize(&mut c.rule);
    Ok(c)
}

/// [`parse_unchecked`] over borrowed arguments.
pub(super) fn parse_unchecked_args(argv: &[&str], skip_unknown: bool) -> Result<CommandLine, SpecError> {
    // kube-proxy's most common lines, each read as a whole: see `common`.
    let mut c = match common::parse(argv) {
        Some(c) => c,
        None => parse_args(argv, skip_unknown)?,
    };
    normalize(&mut c.rule);
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn the_plain_quad_reader_agrees_where_it_answers(s in "[0-9a-fx.]{0,17}") {
            if let Some(a) = parse_plain_quad(s.as_bytes()) {
                proptest::prop_assert_eq!(Some(a), parse_dotted_general(&s));
                // and as the standard reader (DNAT's `--to-destination`) does.
                proptest::prop_assert_eq!(Some(a), s.parse::<Ipv4Addr>().ok());
            }
        }

        #[test]
        fn the_plain_port_reader_agrees_where_it_answers(s in "[0-9x+-]{0,7}") {
            if let Some(p) = plain_port(&s) {
                proptest::prop_assert_eq!(xtables_strtoui(&s, u16::MAX.into()), Some((u64::from(p), "")));
            }
        }

        #[test]
        fn plain_ports_are_read_by_the_fast_reader(p: u16) {
            proptest::prop_assert_eq!(plain_port(&p.to_string()), Some(p));
        }

        #[test]
        fn plain_quads_agree_with_the_standard_reader(a: u8, b: u8, c: u8, d: u8) {
            let s = format!("{a}.{b}.{c}.{d}");
            proptest::prop_assert_eq!(parse_plain_quad(s.as_bytes()), s.parse::<Ipv4Addr>().ok());
        }

        #[test]
        fn plain_quads_are_read_by_the_fast_reader(a: u8, b: u8, c: u8, d: u8) {
            let s = format!("{a}.{b}.{c}.{d}");
            proptest::prop_assert_eq!(parse_plain_quad(s.as_bytes()), Some(Ipv4Addr::new(a, b, c, d)));
        }
    }

    #[test]
    fn chain_names_with_blanks_are_refused() {
        for bad in ["A B", "A\tB", "A\x0bB", "A\x0cB", "A\rB", "A\u{a0}B", "A\u{2003}B", "", "!A"] {
            assert!(check_chain_name(bad).is_err(), "{bad:?}");
        }
        for good in ["KUBE-SVC-K7ZVFMM3TUXRXRZR", "a.b_c", "CHAÎNE"] {
            assert!(check_chain_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn protocol_names_in_any_case_and_numbers() {
        for (s, want) in [
            ("tcp", Some(Protocol::Tcp)),
            ("TCP", Some(Protocol::Tcp)),
            ("Udp", Some(Protocol::Udp)),
            ("17", Some(Protocol::Udp)),
            ("icmp", Some(Protocol::Icmp)),
            ("1", Some(Protocol::Icmp)),
            ("SCTP", Some(Protocol::Sctp)),
            ("132", Some(Protocol::Sctp)),
            ("06", None),
            ("tcpx", None),
        ] {
            assert_eq!(Protocol::parse(s), want, "{s}");
        }
    }

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn kube_proxy_written_form() {
        let c = parse(&argv(
            "-A KUBE-SERVICES -m comment --comment x -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-X",
        ))
        .unwrap();
        assert_eq!(c.op, Op::Append("KUBE-SERVICES".into()));
        assert_eq!(c.rule.dst.unwrap().to_string(), "172.30.0.41/32");
        assert_eq!(c.rule.matches.len(), 2);
        assert!(matches!(c.rule.matches[1], Match::Tcp(L4Ports { dport: Some(_), .. })));
        assert_eq!(c.rule.target.chain().unwrap().name, "KUBE-SVC-X");
    }

    #[test]
    fn implicit_tcp_match_is_added() {
        let c = parse(&argv("-A X -p tcp --dport 1000:2000 -j ACCEPT")).unwrap();
        assert_eq!(
            c.rule.matches,
            vec![Match::Tcp(L4Ports {
                sport: None,
                dport: Some(PortMatch { range: PortRange { lo: 1000, hi: 2000 }, invert: false }),
                ..Default::default()
            })]
        );
    }

    #[test]
    fn errors_are_worded_like_iptables() {
        let e = parse(&argv("-A X --frobnicate")).unwrap_err();
        assert_eq!(e.to_string(), "unknown option \"--frobnicate\"");
        let e = parse(&argv("-A X -m nosuch")).unwrap_err();
        // Not iptables-restore's "Couldn't load match `nosuch':No such file or directory",
        // which reads like a missing file: netsim says what it does not simulate.
        assert_eq!(
            e.to_string(),
            "match `nosuch' is not simulated by netsim (nor an iptables extension netsim knows of)"
        );
        let e = parse(&argv("-A X -m time --timestart 09:00 -j DROP")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "match `time' is not simulated by netsim (a real iptables extension the model does not evaluate)"
        );
        let e = parse(&argv("-A X -j CLASSIFY --set-class 1:1")).unwrap_err();
        assert_eq!(e.to_string(), "target `CLASSIFY' is not simulated by netsim");
        let e = parse(&argv("-A X -s 10.0.0.300")).unwrap_err();
        assert_eq!(e.to_string(), "host/network `10.0.0.300' not found");
        let e = parse(&argv("-A X -m tcp --dport 80")).unwrap_err();
        assert!(e.to_string().contains("tcp match"));
        assert_eq!(
            parse(&argv("-A X -j DNAT")).unwrap_err().to_string(),
            "DNAT: option \"--to-destination\" must be specified"
        );
        assert!(
            parse(&argv("-A X -m recent --name A -j DROP"))
                .unwrap_err()
                .to_string()
                .contains("you must specify one of")
        );
        assert!(
            parse(&argv("-A X -m recent --set --rcheck -j DROP"))
                .unwrap_err()
                .to_string()
                .contains("recent: option \"--set\" cannot be used together with \"--rcheck\".")
        );
        assert_eq!(
            parse(&argv("-A X -m comment -j DROP")).unwrap_err().to_string(),
            "comment: option \"--comment\" must be specified"
        );
        assert_eq!(
            parse(&argv("-A X -m mark -j DROP")).unwrap_err().to_string(),
            "mark: option \"--mark\" must be specified"
        );
        let r = parse(&argv("-A X -m recent --rcheck -j DROP")).unwrap().rule;
        assert!(
            matches!(&r.matches[0], Match::Recent(m) if m.name == "DEFAULT" && m.cmd == RecentCmd::Rcheck)
        );
    }

    #[test]
    fn nets_are_masked() {
        assert_eq!(parse_net("10.244.1.7/16").unwrap().to_string(), "10.244.0.0/16");
        assert_eq!(parse_net("10.0.0.0/255.255.0.0").unwrap().to_string(), "10.0.0.0/16");
        assert!(parse_net("10.0.0.0/33").is_err());
    }

    #[test]
    fn address_lists_stand_for_one_rule_per_pair() {
        let c = parse(&argv("-A X -s 1.1.1.1,10.0.0.0/8 -d 2.2.2.2,0.0.0.0/0 -j ACCEPT")).unwrap();
        let pairs: Vec<(Option<String>, Option<String>)> =
            c.rules().iter().map(|r| (r.src.map(|m| m.to_string()), r.dst.map(|m| m.to_string()))).collect();
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            pairs,
            vec![
                (s("1.1.1.1/32"), s("2.2.2.2/32")),
                (s("1.1.1.1/32"), None),
                (s("10.0.0.0/8"), s("2.2.2.2/32")),
                (s("10.0.0.0/8"), None),
            ]
        );
        assert_eq!(parse(&argv("-A X -j ACCEPT")).unwrap().rules().len(), 1);
        assert_eq!(
            parse(&argv("-A X ! -s 1.1.1.1,2.2.2.2")).unwrap_err().to_string(),
            "! not allowed with multiple source or destination IP addresses"
        );
        assert_eq!(
            parse(&argv("-R X 1 -d 1.1.1.1,2.2.2.2")).unwrap_err().to_string(),
            "Replacement rule does not specify a unique address"
        );
        assert_eq!(parse(&argv("-A X -s 1.1.1.1,")).unwrap_err().to_string(), "host/network `' not found");
    }

    #[test]
    fn owner_names_and_ranges() {
        let ids = |s: &str| {
            let r = parse(&argv(&format!("-A X -m owner {s} -j ACCEPT"))).unwrap().rule;
            match &r.matches[0] {
                Match::Ext(e) => e.owner().map(|o| (o.uid.map(|u| u.0), o.gid.map(|g| g.0))),
                _ => None,
            }
        };
        assert_eq!(
            ids("--uid-owner nobody --gid-owner nogroup"),
            Some((Some((65534, 65534)), Some((65534, 65534))))
        );
        assert_eq!(ids("--uid-owner 0x10:+20"), Some((Some((16, 20)), None)));
        for bad in ["--uid-owner root-5", "--gid-owner nobody", "--uid-owner 4294967295", "--uid-owner 5-"] {
            assert!(parse(&argv(&format!("-A X -m owner {bad}"))).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_names_by_protocol() {
        let dport = |s: &str| match &parse(&argv(&format!("-A X {s} -j ACCEPT"))).unwrap().rule.matches[0] {
            Match::Tcp(p) | Match::Udp(p) => p.dport.map(|d| (d.range.lo, d.range.hi)),
            _ => None,
        };
        assert_eq!(dport("-p tcp --dport http:https"), Some((80, 443)));
        assert_eq!(dport("-p udp --dport ssh"), Some((22, 22)));
        assert_eq!(
            parse(&argv("-A X -p tcp --dport ntp")).unwrap_err().to_string(),
            "invalid port/service `ntp' specified"
        );
    }

    #[test]
    fn mark_forms() {
        let t = |s: &str| parse(&argv(&format!("-A X -j MARK {s}"))).unwrap().rule.target;
        assert_eq!(t("--or-mark 0x4000"), Target::Mark(MarkTarget { value: 0x4000, mask: 0x4000 }));
        assert_eq!(t("--xor-mark 0x4000"), Target::Mark(MarkTarget { value: 0x4000, mask: 0 }));
        assert_eq!(t("--set-mark 0x10"), Target::Mark(MarkTarget { value: 0x10, mask: u32::MAX }));
        assert_eq!(t("--and-mark 0xff"), Target::Mark(MarkTarget { value: 0, mask: !0xff }));
    }
}
