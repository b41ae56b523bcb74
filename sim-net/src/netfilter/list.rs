//! `iptables [-t table] -L [chain] -n [-v] [-x] [--line-numbers]` output.
//!
//! Follows `iptables/iptables.c` `print_header`/`print_firewall` and `xtables_print_num`
//! (formats.md §1.3): fixed-width columns that a long target name pushes right rather than
//! being realigned; counters as `%5llu` up to 99999, then rounded K/M/G/T (`-x` prints exact
//! `%8llu`); `*` for any interface, `0.0.0.0/0` for any address, a bare address for a /32,
//! `!` (or a space) in front of
//! each address column and glued to an inverted interface. Each match then prints its `-L` text (`/* comment */`,
//! `tcp dpt:443`, `ADDRTYPE match dst-type LOCAL`, `statistic mode random probability
//! 0.33333333349`, `recent: CHECK seconds: 10800 reap name: ... side: source mask: ...`), then
//! the target's (`to:10.244.0.87:53`, `masq ports: ...`, `MARK or 0x4000`, `reject-with ...`).
//! Chains are separated by a blank line. The header keeps iptables' trailing spaces.
//!
//! Without `-n` (v1.8.4's `print_firewall`): `anywhere` for any address, `any` for any
//! interface, an address by its `/etc/hosts` or `/etc/networks` name (`localhost`,
//! `loopback/8`; [`super::hosts`]), tcp, udp and multiport ports by their `/etc/services` name
//! (`dpt:https`), ICMP types by name (`icmp echo-request`), protocols by name ([`prot_column`]).
//!
//! Left out: reverse DNS (netsim has none: an address no file names prints as itself), and
//! names of the `/etc/services` entries netsim does not carry ([`super::services`]); the sctp
//! match and the other extensions print their ports as numbers.

use std::fmt::Write as _;

use super::rule::*;
use super::save::{nat_range, push_save_string, push_statistic, set_dirs};
use super::services::ServiceProto;
use super::spec::ListFlags;
use super::table::{Chain, Table, TableError};

/// `xtables_print_num`: a counter in its column (or bare with `notable`).
pub fn print_num(out: &mut String, n: u64, flags: ListFlags, notable: bool) {
    if flags.exact {
        if notable {
            let _ = write!(out, "{n} ");
        } else {
            let _ = write!(out, "{n:>8} ");
        }
        return;
    }
    if n <= 99999 {
        if notable {
            let _ = write!(out, "{n} ");
        } else {
            let _ = write!(out, "{n:>5} ");
        }
        return;
    }
    let mut v = n;
    for unit in ['K', 'M', 'G'] {
        v = (v + 500) / 1000;
        if v <= 9999 {
            if notable {
                let _ = write!(out, "{v}{unit} ");
            } else {
                let _ = write!(out, "{v:>4}{unit} ");
            }
            return;
        }
    }
    v = (v + 500) / 1000;
    if notable {
        let _ = write!(out, "{v}T ");
    } else {
        let _ = write!(out, "{v:>4}T ");
    }
}

fn header(out: &mut String, t: &Table, c: &Chain, flags: ListFlags) {
    let _ = write!(out, "Chain {}", c.name);
    if c.hook.is_some() {
        let _ = write!(out, " (policy {}", c.policy.name());
        if flags.verbose {
            out.push(' ');
            print_num(out, c.counters.packets, flags, true);
            out.push_str("packets, ");
            print_num(out, c.counters.bytes, flags, true);
            out.push_str("bytes");
        }
        out.push_str(")\n");
    } else {
        let _ = writeln!(out, " ({} references)", t.references(&c.name));
    }
    if flags.line_numbers {
        let _ = write!(out, "{:<4} ", "num");
    }
    if flags.verbose {
        if flags.exact {
            let _ = write!(out, "{:>8} {:>10} ", "pkts", "bytes");
        } else {
            let _ = write!(out, "{:>5} {:>5} ", "pkts", "bytes");
        }
    }
    let _ = write!(out, "{:<9} ", "target");
    out.push_str(" prot ");
    out.push_str("opt");
    if flags.verbose {
        let _ = write!(out, " {:<6} {:<6} ", "in", "out");
    }
    let _ = write!(out, " {:<19} ", "source");
    let _ = write!(out, " {:<19} ", "destination");
    out.push('\n');
}

/// An address column: the inversion character (`!` or a space) then `%-19s `, as
/// `print_ipv4_addresses` in iptables/xshared.c prints it: without `-n`, `anywhere` for a zero
/// mask and the address by name ([`super::hosts::addr_to_anyname`]).
fn push_addr_col(out: &mut String, a: &Option<AddrMatch>, numeric: bool) {
    let any = a.as_ref().is_none_or(|m| u32::from(m.mask()) == 0);
    let text = match a {
        _ if any && !numeric => "anywhere".to_string(),
        None => "0.0.0.0/0".to_string(),
        Some(m) => {
            let addr = if numeric { m.addr().to_string() } else { super::hosts::addr_to_anyname(m.addr()) };
            match m.prefix_len() {
                Some(32) => addr,
                Some(l) => format!("{addr}/{l}"),
                None => format!("{addr}/{}", m.mask()),
            }
        }
    };
    out.push(if a.as_ref().is_some_and(|m| m.invert) { '!' } else { ' ' });
    let _ = write!(out, "{text:<19} ");
}

/// An interface column: `*` (`-n`) or `any` for any interface.
fn iface_col(i: Option<&IfaceMatch>, numeric: bool) -> String {
    match i {
        None if numeric => "*".to_string(),
        None => "any".to_string(),
        Some(m) => format!("{}{}", if m.invert { "!" } else { "" }, m.spelled()),
    }
}

/// How a rule's matches are listed: `-n`, and the rule's `-p` (whose `/etc/services`
/// entries name the ports of `-m multiport`).
#[derive(Clone, Copy, Debug)]
pub struct ListStyle {
    /// `-n`.
    pub numeric: bool,
    /// The services' protocol of the rule's `-p`, if it has one.
    pub proto: Option<ServiceProto>,
}

/// A port as `print_port` prints it: its service name of `proto` unless `-n`.
fn port_text(port: u16, proto: Option<ServiceProto>, numeric: bool) -> String {
    match proto.filter(|_| !numeric).and_then(|p| super::services::by_port(port, p)) {
        Some(name) => name.to_string(),
        None => port.to_string(),
    }
}

fn push_list_ports(out: &mut String, name: &str, p: &Option<PortMatch>, proto: ServiceProto, numeric: bool) {
    if let Some(p) = p
        && (p.range.lo != 0 || p.range.hi != 65535 || p.invert)
    {
        let inv = if p.invert { "!" } else { "" };
        let lo = port_text(p.range.lo, Some(proto), numeric);
        if p.range.lo == p.range.hi {
            let _ = write!(out, " {name}:{inv}{lo}");
        } else {
            let _ = write!(out, " {name}s:{inv}{lo}:{}", port_text(p.range.hi, Some(proto), numeric));
        }
    }
}

/// Appends a match's `-L` text.
pub fn push_match_list(out: &mut String, m: &Match, style: ListStyle) {
    match m {
        Match::Tcp(p) | Match::Udp(p) => {
            let proto = if matches!(m, Match::Tcp(_)) { ServiceProto::Tcp } else { ServiceProto::Udp };
            out.push_str(if matches!(m, Match::Tcp(_)) { " tcp" } else { " udp" });
            push_list_ports(out, "spt", &p.sport, proto, style.numeric);
            push_list_ports(out, "dpt", &p.dport, proto, style.numeric);
            // libxt_tcp.c tcp_print, numeric.
            if let Some((o, inv)) = p.option {
                let _ = write!(out, " option={}{o}", if inv { "!" } else { "" });
            }
            if let Some(f) = p.flags
                && (f.mask != 0 || f.invert)
            {
                // print_flags: the flags by name unless `-n` (`SYN,RST,ACK/SYN`, `NONE`).
                let inv = if f.invert { "!" } else { "" };
                let _ = if style.numeric {
                    write!(out, " flags:{inv}0x{:02X}/0x{:02X}", f.mask, f.cmp)
                } else {
                    write!(out, " flags:{inv}{}/{}", tcp_flags_text(f.mask), tcp_flags_text(f.cmp))
                };
            }
        }
        Match::Comment(c) => {
            let _ = write!(out, " /* {c} */");
        }
        Match::Mark(mm) => {
            out.push_str(" mark match");
            if mm.invert {
                out.push_str(" !");
            }
            let _ = write!(out, " 0x{:x}", mm.value);
            if mm.mask != u32::MAX {
                let _ = write!(out, "/0x{:x}", mm.mask);
            }
        }
        Match::AddrType(at) => {
            out.push_str(" ADDRTYPE match");
            if let Some(s) = &at.src {
                let _ = write!(out, " src-type {}{}", if s.invert { "!" } else { "" }, s.types.spelled());
            }
            if let Some(d) = &at.dst {
                let _ = write!(out, " dst-type {}{}", if d.invert { "!" } else { "" }, d.types.spelled());
            }
            if at.limit_iface_in {
                out.push_str(" limit-in");
            }
            if at.limit_iface_out {
                out.push_str(" limit-out");
            }
        }
        Match::Statistic(s) => {
            out.push_str(" statistic");
            push_statistic(out, s, "");
        }
        Match::Recent(r) => {
            if r.invert {
                out.push_str(" !");
            }
            out.push_str(" recent:");
            out.push_str(match r.cmd {
                RecentCmd::Set => " SET",
                RecentCmd::Rcheck => " CHECK",
                RecentCmd::Update => " UPDATE",
                RecentCmd::Remove => " REMOVE",
            });
            if r.seconds > 0 {
                let _ = write!(out, " seconds: {}", r.seconds);
            }
            if r.reap {
                out.push_str(" reap");
            }
            if r.hitcount > 0 {
                let _ = write!(out, " hit_count: {}", r.hitcount);
            }
            if r.rttl {
                out.push_str(" TTL-Match");
            }
            let _ = write!(out, " name: {}", r.name);
            out.push_str(match r.side {
                RecentSide::Source => " side: source",
                RecentSide::Dest => " side: dest",
            });
            let _ = write!(out, " mask: {}", r.mask);
        }
        Match::Conntrack(_) => {
            // The -L form is the save form without the leading dashes (libxt_conntrack.c
            // conntrack_dump with prefix "").
            let mut saved = String::new();
            super::save::push_match(&mut saved, m);
            let body = saved.strip_prefix(" -m conntrack").unwrap_or(&saved);
            out.push_str(&body.replace(" --", " "));
        }
        Match::State(s, inv) => {
            let _ = write!(out, "{} state {}", if *inv { " !" } else { "" }, s.spelled());
        }
        Match::Multiport(mp) => {
            let dir = match mp.dir {
                MultiportDir::Source => "sports",
                MultiportDir::Dest => "dports",
                MultiportDir::Either => "ports",
            };
            // libxt_multiport.c multiport_print1: each port (and each end of a range) by
            // name unless `-n`.
            let list: Vec<String> = mp
                .ports
                .iter()
                .map(|r| {
                    let lo = port_text(r.lo, style.proto, style.numeric);
                    if r.lo == r.hi {
                        lo
                    } else {
                        format!("{lo}:{}", port_text(r.hi, style.proto, style.numeric))
                    }
                })
                .collect();
            let _ = write!(out, " multiport {dir} {}{}", if mp.invert { " !" } else { "" }, list.join(","));
        }
        Match::Set(s) => {
            let _ = write!(
                out,
                "{} match-set {} {}",
                if s.invert { " !" } else { "" },
                s.name,
                set_dirs(&s.dirs)
            );
            let mut saved = String::new();
            super::save::push_match(&mut saved, m);
            if let Some(i) = saved.find(&format!(" {}", set_dirs(&s.dirs))) {
                let tail = &saved[i + 1 + set_dirs(&s.dirs).len()..];
                out.push_str(&tail.replace(" --", " "));
            }
        }
        Match::Unknown(u) => {
            let _ = write!(out, " {} {}", u.name, u.args.join(" "));
        }
        Match::Ext(e) => e.push_list(out, style.numeric),
        Match::Nfacct(n) => {
            // libxt_nfacct.c nfacct_print: `printf(" nfacct-name ")` then xtables_save_string.
            out.push_str(" nfacct-name ");
            push_save_string(out, n.as_str());
        }
        Match::Icmp(im) => {
            // libipt_icmp.c icmp_print + print_icmptype: without `-n` the first name of the
            // type and code range (` icmp echo-request`), else the numeric form
            // (` icmptype 8`, ` icmptype 3 code 1`).
            out.push_str(" icmp");
            let named = ICMP_TYPES.iter().find(|(_, t, c)| *t == im.icmp_type && *c == im.codes);
            if let Some((name, _, _)) = named.filter(|_| !style.numeric) {
                let _ = write!(out, " {}{name}", if im.invert { "!" } else { "" });
                return;
            }
            if im.invert {
                out.push_str(" !");
            }
            let _ = write!(out, "type {}", im.icmp_type);
            if im.codes.0 == im.codes.1 {
                let _ = write!(out, " code {}", im.codes.0);
            } else if im.codes != (0, 255) {
                let _ = write!(out, " codes {}-{}", im.codes.0, im.codes.1);
            }
        }
    }
}

/// Appends a target's `-L` text.
pub fn push_target_list(out: &mut String, t: &Target, numeric: bool) {
    match t {
        Target::Reject(w) => {
            let _ = write!(out, " reject-with {}", w.name());
        }
        Target::Dnat(d) => {
            let _ = write!(out, " to:{}", super::save::dnat_range(d));
            if d.random {
                out.push_str(" random");
            }
            if d.persistent {
                out.push_str(" persistent");
            }
        }
        Target::Snat { addrs, opts } => {
            let _ = write!(out, " to:{}", nat_range(*addrs, opts.ports));
            if opts.random {
                out.push_str(" random");
            }
            if opts.random_fully {
                out.push_str(" random-fully");
            }
            if opts.persistent {
                out.push_str(" persistent");
            }
        }
        Target::Masquerade(o) => {
            if let Some((lo, hi)) = o.ports {
                let _ = write!(out, " masq ports: {lo}");
                if hi != lo {
                    let _ = write!(out, "-{hi}");
                }
            }
            if o.random {
                out.push_str(" random");
            }
            if o.random_fully {
                out.push_str(" random-fully");
            }
        }
        Target::Mark(m) => {
            // libxt_MARK.c mark_tg_print_v2.
            if m.value == 0 {
                let _ = write!(out, " MARK and 0x{:x}", !m.mask);
            } else if m.value == m.mask {
                let _ = write!(out, " MARK or 0x{:x}", m.value);
            } else if m.mask == 0 {
                let _ = write!(out, " MARK xor 0x{:x}", m.value);
            } else if m.mask == u32::MAX {
                let _ = write!(out, " MARK set 0x{:x}", m.value);
            } else {
                let _ = write!(out, " MARK xset 0x{:x}/0x{:x}", m.value, m.mask);
            }
        }
        // libipt_LOG.c LOG_print: with `-n` the numbers, else the level's name and each flag.
        Target::Log(l) if !numeric => {
            const LEVELS: [&str; 8] = ["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"];
            match LEVELS.get(usize::from(l.level)) {
                Some(name) => {
                    let _ = write!(out, " LOG level {name}");
                }
                None => {
                    let _ = write!(out, " LOG UNKNOWN level {}", l.level);
                }
            }
            for (flag, name) in [
                (0x01, "tcp-sequence"),
                (0x02, "tcp-options"),
                (0x04, "ip-options"),
                (0x08, "uid"),
                (0x20, "macdecode"),
            ] {
                if l.flags & flag != 0 {
                    let _ = write!(out, " {name}");
                }
            }
            if !l.prefix.is_empty() {
                let _ = write!(out, " prefix \"{}\"", l.prefix);
            }
        }
        Target::Log(l) => {
            let _ = write!(out, " LOG flags {} level {}", l.flags, l.level);
            if !l.prefix.is_empty() {
                let _ = write!(out, " prefix \"{}\"", l.prefix);
            }
        }
        Target::CtNotrack => out.push_str(" CT notrack"),
        Target::Notrack => out.push_str(" NOTRACK"),
        Target::Ext(e) => e.push_list(out),
        _ => {}
    }
}

/// libxtables' `xtables_chain_protos` in v1.8.4: the names iptables knows without
/// `/etc/protocols`, the first of a number the one printed.
const CHAIN_PROTOS: [(&str, u8); 12] = [
    ("tcp", 6),
    ("sctp", 132),
    ("udp", 17),
    ("udplite", 136),
    ("icmp", 1),
    ("icmpv6", 58),
    ("ipv6-icmp", 58),
    ("esp", 50),
    ("ah", 51),
    ("ipv6-mh", 135),
    ("mh", 135),
    ("all", 0),
];

/// The prot column, as v1.8.4's `proto_to_name(proto, numeric)` names it (iptables.c
/// `print_firewall`, printed `%-5s`, so that a longer name runs into the opt column:
/// `udplite--`; v1.8.9 prints `%-4s `): without `-n`, `getprotobynumber` (Debian's `/etc/protocols`: `gre`,
/// `ipv6-icmp`, `mobility-header`) for any protocol but 0, then [`CHAIN_PROTOS`]; with `-n`,
/// [`CHAIN_PROTOS`] only (`-p gre` is `47`, `-p 58` is `icmpv6`); a number without a name as
/// itself. (v1.8.9 prints every protocol as its number with `-n`, `6` for tcp, `0` for all:
/// netfilter bugzilla 1729, a regression v1.8.10 undid; the model's nodes run v1.8.4.)
fn prot_column(proto: u8, numeric: bool) -> String {
    use crate::wire::Protocol;
    let etc_protocols = || {
        [Protocol::Icmp, Protocol::Tcp, Protocol::Udp, Protocol::Sctp]
            .into_iter()
            .find(|p| p.number() == proto)
            .map(Protocol::name)
            .or_else(|| {
                super::ext::OTHER_PROTOCOLS.iter().find(|(n, _, _)| *n == proto).map(|(_, name, _)| *name)
            })
    };
    let looked_up = if numeric || proto == 0 { None } else { etc_protocols() };
    looked_up
        .or_else(|| CHAIN_PROTOS.iter().find(|(_, n)| *n == proto).map(|(name, _)| *name))
        .map_or_else(|| proto.to_string(), str::to_string)
}

/// One rule row.
fn row(out: &mut String, num: usize, r: &Rule, flags: ListFlags) {
    if flags.line_numbers {
        let _ = write!(out, "{num:<4} ");
    }
    if flags.verbose {
        print_num(out, r.counters.packets, flags, false);
        print_num(out, r.counters.bytes, flags, false);
    }
    // `-j NOTRACK` is CT revision 0 in the kernel: `-L` names it by the target it loaded.
    let target = if matches!(r.target, Target::Notrack) { "CT" } else { r.target.column_name() };
    let _ = write!(out, "{target:<9} ");
    let (proto, invert) = match (&r.proto, r.proto_num) {
        (Some(p), _) => (p.proto.number(), p.invert),
        (None, Some((n, inv))) => (n, inv),
        (None, None) => (0, false),
    };
    out.push(if invert { '!' } else { ' ' });
    let _ = write!(out, "{:<5}", prot_column(proto, flags.numeric));
    // The opt column: `-f`, `!f` or `--` (print_rule4's fragment flags).
    out.push_str(match r.fragment {
        Some(false) => "-f ",
        Some(true) => "!f ",
        None => "-- ",
    });
    if flags.verbose {
        let _ = write!(out, " {:<6} ", iface_col(r.in_iface.as_deref(), flags.numeric));
        let _ = write!(out, "{:<6} ", iface_col(r.out_iface.as_deref(), flags.numeric));
    }
    push_addr_col(out, &r.src, flags.numeric);
    push_addr_col(out, &r.dst, flags.numeric);
    if matches!(r.target, Target::Goto(_)) {
        out.push_str("[goto] ");
    }
    let style = ListStyle {
        numeric: flags.numeric,
        proto: match proto {
            6 => Some(ServiceProto::Tcp),
            17 => Some(ServiceProto::Udp),
            132 => Some(ServiceProto::Sctp),
            _ => None,
        },
    };
    for m in &r.matches {
        push_match_list(out, m, style);
    }
    push_target_list(out, &r.target, flags.numeric);
    out.push('\n');
}

/// `iptables -L [chain]` of one table.
pub fn list(t: &Table, chain: Option<&str>, flags: ListFlags) -> Result<String, TableError> {
    if let Some(c) = chain
        && t.chain(c).is_none()
    {
        return Err(TableError::NoChain(c.to_string()));
    }
    let mut out = String::new();
    let mut first = true;
    for c in t.chains().filter(|c| chain.is_none_or(|n| n == c.name)) {
        if !first {
            out.push('\n');
        }
        first = false;
        header(&mut out, t, c, flags);
        for (i, r) in c.rules.iter().enumerate() {
            row(&mut out, i + 1, r, flags);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_follow_xtables_print_num() {
        let f = ListFlags { verbose: true, ..Default::default() };
        let p = |n: u64| {
            let mut s = String::new();
            print_num(&mut s, n, f, false);
            s
        };
        assert_eq!(p(0), "    0 ");
        assert_eq!(p(99999), "99999 ");
        assert_eq!(p(130_000), " 130K ");
        assert_eq!(p(6_355_000), "6355K ");
        assert_eq!(p(25_000_000), "  25M ");
        assert_eq!(p(3_834_000_000), "3834M ");
        assert_eq!(p(1_462_000), "1462K ");
    }

    use crate::netfilter::{Netfilter, TableName};

    fn listing(text: &str, args: &[&str]) -> String {
        let mut nf = Netfilter::new();
        nf.restore(text, false).unwrap();
        nf.command(args).unwrap()
    }

    #[test]
    fn rows_match_real_captures() {
        // formats.md §1.3, verbatim lines from real clusters.
        let rules = "*nat\n:PREROUTING ACCEPT [5:271]\n:KUBE-SVC-2CMXP7HKUVJN7L6M - [0:0]\n:KUBE-SEP-5T37HVCSKOKNWPMA - [0:0]\n:KUBE-SEP-RE4IJLUL6GLXGFNY - [0:0]\n:KUBE-SEP-ZD7E7L7TA3YWDRC7 - [0:0]\n:KUBE-SEP-W7Y6XSEUY34M5DB2 - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n\
-A KUBE-SVC-2CMXP7HKUVJN7L6M -m comment --comment \"default/nginx cluster IP\" -m tcp -p tcp -d 192.161.154.204 --dport 80 ! -s 192.200.0.0/16 -j KUBE-MARK-MASQ\n\
-A KUBE-SVC-2CMXP7HKUVJN7L6M -m comment --comment \"default/nginx -> 192.200.116.198:80\" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-5T37HVCSKOKNWPMA\n\
-A KUBE-SVC-2CMXP7HKUVJN7L6M -m comment --comment \"default/nginx -> 192.200.116.199:80\" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-RE4IJLUL6GLXGFNY\n\
-A KUBE-SVC-2CMXP7HKUVJN7L6M -m comment --comment \"default/nginx -> 192.200.170.3:80\" -j KUBE-SEP-ZD7E7L7TA3YWDRC7\n\
-A KUBE-SEP-W7Y6XSEUY34M5DB2 -m comment --comment kube-system/kube-dns:dns -s 10.244.0.87 -j KUBE-MARK-MASQ\n\
-A KUBE-SEP-W7Y6XSEUY34M5DB2 -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.0.87:53\nCOMMIT\n";
        let out = listing(rules, &["-t", "nat", "-L", "-n", "-v"]);
        let lines: Vec<&str> = out.lines().map(str::trim_end).collect();
        for want in [
            "Chain PREROUTING (policy ACCEPT 5 packets, 271 bytes)",
            " pkts bytes target     prot opt in     out     source               destination",
            "    0     0 KUBE-MARK-MASQ  tcp  --  *      *      !192.200.0.0/16       192.161.154.204      /* default/nginx cluster IP */ tcp dpt:80",
            "    0     0 KUBE-SEP-5T37HVCSKOKNWPMA  all  --  *      *       0.0.0.0/0            0.0.0.0/0            /* default/nginx -> 192.200.116.198:80 */ statistic mode random probability 0.33333333349",
            "    0     0 KUBE-SEP-RE4IJLUL6GLXGFNY  all  --  *      *       0.0.0.0/0            0.0.0.0/0            /* default/nginx -> 192.200.116.199:80 */ statistic mode random probability 0.50000000000",
            "    0     0 KUBE-SEP-ZD7E7L7TA3YWDRC7  all  --  *      *       0.0.0.0/0            0.0.0.0/0            /* default/nginx -> 192.200.170.3:80 */",
            "Chain KUBE-SEP-W7Y6XSEUY34M5DB2 (0 references)",
            "    0     0 KUBE-MARK-MASQ  all  --  *      *       10.244.0.87          0.0.0.0/0            /* kube-system/kube-dns:dns */",
            "    0     0 DNAT       udp  --  *      *       0.0.0.0/0            0.0.0.0/0            /* kube-system/kube-dns:dns */ udp to:10.244.0.87:53",
            "Chain KUBE-SVC-2CMXP7HKUVJN7L6M (0 references)",
        ] {
            assert!(lines.contains(&want), "missing {want:?} in\n{out}");
        }
        // The header keeps iptables' trailing spaces.
        assert!(out.contains("destination         \n"));
        let short = listing(rules, &["-t", "nat", "-L", "KUBE-SEP-W7Y6XSEUY34M5DB2", "-n"]);
        assert_eq!(
            short,
            "Chain KUBE-SEP-W7Y6XSEUY34M5DB2 (0 references)\ntarget     prot opt source               destination         \nKUBE-MARK-MASQ  all  --  10.244.0.87          0.0.0.0/0            /* kube-system/kube-dns:dns */\nDNAT       udp  --  0.0.0.0/0            0.0.0.0/0            /* kube-system/kube-dns:dns */ udp to:10.244.0.87:53\n"
        );
    }

    #[test]
    fn kube_proxy_listing_snapshot() {
        let full = include_str!("testdata/kube_proxy_full.rules");
        let mut nf = Netfilter::new();
        nf.restore(full, false).unwrap();
        let nat = nf.command(&["-t", "nat", "-L", "-n", "-v", "--line-numbers"]).unwrap();
        insta::assert_snapshot!("kube_proxy_full_nat_list", nat);
        let filter = nf.command(&["-L", "-n", "-v", "-x"]).unwrap();
        insta::assert_snapshot!("kube_proxy_full_filter_list", filter);
        assert!(nf.table(TableName::Nat).chain("KUBE-SERVICES").is_some());
        assert_eq!(
            nf.command(&["-L", "NOPE"]).unwrap_err().to_string(),
            "iptables: No chain/target/match by that name."
        );
    }

    #[test]
    fn target_texts() {
        let out = listing(
            "*nat\n-A POSTROUTING -j MASQUERADE --random-fully\n-A POSTROUTING -p tcp -j MASQUERADE --to-ports 1000-2000\n-A POSTROUTING -j MARK --or-mark 0x4000\n-A POSTROUTING -j MARK --xor-mark 0x4000\n-A POSTROUTING -j MARK --and-mark 0xff\n-A POSTROUTING -j MARK --set-mark 0x1\n-A POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n-A POSTROUTING -m recent --set --name X -j LOG --log-prefix \"p \"\n-A POSTROUTING -m addrtype --dst-type LOCAL -m conntrack --ctstate RELATED,ESTABLISHED -j SNAT --to-source 1.2.3.4\nCOMMIT\n",
            &["-t", "nat", "-L", "POSTROUTING", "-n"],
        );
        insta::assert_snapshot!("target_texts", out);
    }

    #[test]
    fn fragment_flags_and_masks_that_are_no_prefix() {
        // iptables v1.8.9 -L -n prints the same columns (its prot column numerically, a
        // regression of that release: see `prot_column`).
        let out = listing(
            "*filter\n-A FORWARD -s 10.0.0.0/255.0.255.0 -d 1.2.3.4 -p tcp -f -j DROP\n-A FORWARD ! -f -j ACCEPT\nCOMMIT\n",
            &["-L", "FORWARD", "-n"],
        );
        assert_eq!(
            out,
            "Chain FORWARD (policy ACCEPT)\ntarget     prot opt source               destination         \nDROP       tcp  -f  10.0.0.0/255.0.255.0  1.2.3.4             \nACCEPT     all  !f  0.0.0.0/0            0.0.0.0/0           \n"
        );
    }

    #[test]
    fn nfacct_listing() {
        // libxt_nfacct.c nfacct_print: ` nfacct-name ` + xtables_save_string: two spaces.
        let out = listing(
            "*filter\n-A FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP\n-A FORWARD -m nfacct --nfacct-name a.b\nCOMMIT\n",
            &["-L", "FORWARD", "-n"],
        );
        assert_eq!(
            out,
            "Chain FORWARD (policy ACCEPT)\ntarget     prot opt source               destination         \nDROP       all  --  0.0.0.0/0            0.0.0.0/0            ctstate INVALID nfacct-name  ct_state_invalid_dropped_pkts\n           all  --  0.0.0.0/0            0.0.0.0/0            nfacct-name  \"a.b\"\n"
        );
    }

    #[test]
    fn match_texts() {
        let mut nf = Netfilter::new();
        nf.ipset(&["create", "S", "hash:ip"]).unwrap();
        nf.restore(
            "*filter\n-A INPUT -p udp -m multiport ! --dports 53,1000:2000 -j ACCEPT\n-A INPUT -p tcp -m multiport --sports 1,2 -j ACCEPT\n-A INPUT -m set ! --match-set S src,dst -j DROP\n-A INPUT -m conntrack ! --ctstate INVALID --ctstatus SEEN_REPLY -j ACCEPT\n-A INPUT -m state --state NEW -j ACCEPT\n-A INPUT -m statistic --mode nth --every 3 --packet 1 -j ACCEPT\n-A INPUT -m addrtype --src-type LOCAL ! --dst-type UNICAST --limit-iface-out -j ACCEPT\n-A INPUT ! -i cali+ -p tcp -m tcp ! --sport 1:1023 --dport 8080:8090 -j ACCEPT\n-A INPUT ! -p udp -j ACCEPT\n-A INPUT -p icmp --icmp-type echo-request -j ACCEPT\n-A INPUT -p icmp ! --icmp-type 3/1 -j ACCEPT\nCOMMIT\n",
            false,
        )
        .unwrap();
        insta::assert_snapshot!("match_texts", nf.command(&["-L", "INPUT", "-n", "-v"]).unwrap());
    }
}
