//! `/etc/services` as the real iptables reads it, from a fixed table instead of the machine's
//! file, so that a rule set means the same wherever netsim runs.
//!
//! [`SERVICES`] is a subset of Debian's `/etc/services` (netbase 6.4): the common entries, in
//! the file's order, with their aliases. The two lookups libxtables makes:
//!
//! - [`by_name`] is `getservbyname(name, proto)`, what `xtables_parse_port` calls after a
//!   number did not parse (the tcp and sctp matches, `-m multiport` with the rule's `-p`): the
//!   first entry of that protocol with that name or alias;
//! - [`by_name_any`] is `xtables_getportbyname`'s `getaddrinfo(NULL, name, NULL)` (the udp and
//!   conntrack matches' `XTTYPE_PORTRC` options): glibc tries tcp, then udp, and takes the
//!   first answer (so `-p udp --dport ssh` is port 22).
//!
//! Names are compared exactly (`HTTP` is not `http`), as glibc's files backend does.
//! Measured with iptables v1.8.9 (`sim-net/tests/xtables_backends.rs`).

/// The protocol column of an `/etc/services` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceProto {
    /// `tcp`.
    Tcp,
    /// `udp`.
    Udp,
    /// `sctp`.
    Sctp,
}

/// One line of `/etc/services`: `name port/proto aliases...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    /// The official name.
    pub name: &'static str,
    /// The port.
    pub port: u16,
    /// The protocol.
    pub proto: ServiceProto,
    /// The aliases.
    pub aliases: &'static [&'static str],
}

impl Service {
    fn is_called(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }
}

/// The entries netsim knows, a subset of netbase 6.4's `/etc/services` in its order.
pub const SERVICES: &[Service] = &[
    Service { name: "echo", port: 7, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "echo", port: 7, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "discard", port: 9, proto: ServiceProto::Tcp, aliases: &["sink", "null"] },
    Service { name: "discard", port: 9, proto: ServiceProto::Udp, aliases: &["sink", "null"] },
    Service { name: "daytime", port: 13, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "daytime", port: 13, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "ftp-data", port: 20, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "ftp", port: 21, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "ssh", port: 22, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "telnet", port: 23, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "smtp", port: 25, proto: ServiceProto::Tcp, aliases: &["mail"] },
    Service { name: "time", port: 37, proto: ServiceProto::Tcp, aliases: &["timserver"] },
    Service { name: "time", port: 37, proto: ServiceProto::Udp, aliases: &["timserver"] },
    Service { name: "whois", port: 43, proto: ServiceProto::Tcp, aliases: &["nicname"] },
    Service { name: "domain", port: 53, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "domain", port: 53, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "bootps", port: 67, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "bootpc", port: 68, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "tftp", port: 69, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "http", port: 80, proto: ServiceProto::Tcp, aliases: &["www"] },
    Service {
        name: "kerberos",
        port: 88,
        proto: ServiceProto::Tcp,
        aliases: &["kerberos5", "krb5", "kerberos-sec"],
    },
    Service {
        name: "kerberos",
        port: 88,
        proto: ServiceProto::Udp,
        aliases: &["kerberos5", "krb5", "kerberos-sec"],
    },
    Service { name: "pop3", port: 110, proto: ServiceProto::Tcp, aliases: &["pop-3"] },
    Service { name: "sunrpc", port: 111, proto: ServiceProto::Tcp, aliases: &["portmapper"] },
    Service { name: "sunrpc", port: 111, proto: ServiceProto::Udp, aliases: &["portmapper"] },
    Service {
        name: "auth",
        port: 113,
        proto: ServiceProto::Tcp,
        aliases: &["authentication", "tap", "ident"],
    },
    Service { name: "nntp", port: 119, proto: ServiceProto::Tcp, aliases: &["readnews", "untp"] },
    Service { name: "ntp", port: 123, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "netbios-ns", port: 137, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "netbios-dgm", port: 138, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "netbios-ssn", port: 139, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "imap2", port: 143, proto: ServiceProto::Tcp, aliases: &["imap"] },
    Service { name: "snmp", port: 161, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "snmp", port: 161, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "snmp-trap", port: 162, proto: ServiceProto::Tcp, aliases: &["snmptrap"] },
    Service { name: "snmp-trap", port: 162, proto: ServiceProto::Udp, aliases: &["snmptrap"] },
    Service { name: "bgp", port: 179, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "ldap", port: 389, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "ldap", port: 389, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "https", port: 443, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "https", port: 443, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "microsoft-ds", port: 445, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "kpasswd", port: 464, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "kpasswd", port: 464, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "submissions", port: 465, proto: ServiceProto::Tcp, aliases: &["ssmtp", "smtps", "urd"] },
    Service { name: "shell", port: 514, proto: ServiceProto::Tcp, aliases: &["cmd", "syslog"] },
    Service { name: "syslog", port: 514, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "printer", port: 515, proto: ServiceProto::Tcp, aliases: &["spooler"] },
    Service { name: "dhcpv6-client", port: 546, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "dhcpv6-server", port: 547, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "submission", port: 587, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "ldaps", port: 636, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "ldaps", port: 636, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "kerberos-adm", port: 749, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "domain-s", port: 853, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "domain-s", port: 853, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "rsync", port: 873, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "ftps", port: 990, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "imaps", port: 993, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "pop3s", port: 995, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "socks", port: 1080, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "openvpn", port: 1194, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "openvpn", port: 1194, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "ms-sql-s", port: 1433, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "l2f", port: 1701, proto: ServiceProto::Udp, aliases: &["l2tp"] },
    Service { name: "radius", port: 1812, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "radius", port: 1812, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "radius-acct", port: 1813, proto: ServiceProto::Tcp, aliases: &["radacct"] },
    Service { name: "radius-acct", port: 1813, proto: ServiceProto::Udp, aliases: &["radacct"] },
    Service { name: "nfs", port: 2049, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "nfs", port: 2049, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "iscsi-target", port: 3260, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "mysql", port: 3306, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "ms-wbt-server", port: 3389, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "epmd", port: 4369, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "ipsec-nat-t", port: 4500, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "sip", port: 5060, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "sip", port: 5060, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "sip-tls", port: 5061, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "sip-tls", port: 5061, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "xmpp-client", port: 5222, proto: ServiceProto::Tcp, aliases: &["jabber-client"] },
    Service { name: "xmpp-server", port: 5269, proto: ServiceProto::Tcp, aliases: &["jabber-server"] },
    Service { name: "mdns", port: 5353, proto: ServiceProto::Udp, aliases: &[] },
    Service { name: "postgresql", port: 5432, proto: ServiceProto::Tcp, aliases: &["postgres"] },
    Service { name: "amqps", port: 5671, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "amqp", port: 5672, proto: ServiceProto::Tcp, aliases: &[] },
    Service { name: "amqp", port: 5672, proto: ServiceProto::Sctp, aliases: &[] },
    Service { name: "x11", port: 6000, proto: ServiceProto::Tcp, aliases: &["x11-0"] },
    Service { name: "http-alt", port: 8080, proto: ServiceProto::Tcp, aliases: &["webcache"] },
];

/// `getservbyname(name, proto)`: the port of the first entry of `proto` called `name`.
pub fn by_name(name: &str, proto: ServiceProto) -> Option<u16> {
    SERVICES.iter().find(|s| s.proto == proto && s.is_called(name)).map(|s| s.port)
}

/// `getaddrinfo(NULL, name, NULL)`'s port: the tcp entry called `name`, else the udp one.
pub fn by_name_any(name: &str) -> Option<u16> {
    by_name(name, ServiceProto::Tcp).or_else(|| by_name(name, ServiceProto::Udp))
}

/// `getservbyport(port, proto)`: the official name of the first entry of `proto` with that
/// port (what `iptables -L` without `-n` prints for a port: `tcp dpt:https`).
pub fn by_port(port: u16, proto: ServiceProto) -> Option<&'static str> {
    SERVICES.iter().find(|s| s.proto == proto && s.port == port).map(|s| s.name)
}

/// `getservbyname(name, NULL)` (libxtables' `xtables_service_to_port(name, NULL)`, what the
/// NAT targets' `parse_ports` call): the first entry of any protocol called `name`.
pub fn by_name_first(name: &str) -> Option<u16> {
    SERVICES.iter().find(|s| s.is_called(name)).map(|s| s.port)
}

/// libxtables' `xtables_getportbyname(s)` (`XTTYPE_PORT` options such as TPROXY's
/// `--on-port`), that is glibc's `getaddrinfo(NULL, s, NULL)`: `s` read whole by
/// `strtoul(s, &end, 10)` (blanks and a sign before it; beyond `u64` it saturates), the
/// value cast to C's `int` and then to the 16-bit port (70000 is 4464, 2^32 is 0); when `s`
/// is not all number or the `int` is negative (`-1`, 2147483648), a service name
/// ([`by_name_any`]).
pub fn getportbyname(s: &str) -> Option<u16> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        let v = digits.parse::<u64>().unwrap_or(u64::MAX);
        // strtoul negates in unsigned arithmetic; a saturated value stays ULONG_MAX.
        let v = if negative && v != u64::MAX { v.wrapping_neg() } else { v };
        let as_int = v as u32 as i32;
        if as_int >= 0 {
            return Some(as_int as u16);
        }
    }
    by_name_any(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_by_protocol_and_alias() {
        assert_eq!(by_name("ssh", ServiceProto::Tcp), Some(22));
        assert_eq!(by_name("www", ServiceProto::Tcp), Some(80));
        assert_eq!(by_name("ntp", ServiceProto::Tcp), None);
        assert_eq!(by_name("ntp", ServiceProto::Udp), Some(123));
        assert_eq!(by_name("amqp", ServiceProto::Sctp), Some(5672));
        assert_eq!(by_name("http", ServiceProto::Sctp), None);
        // `shell 514/tcp cmd syslog`: the tcp alias comes before `syslog 514/udp`.
        assert_eq!(by_name("syslog", ServiceProto::Tcp), Some(514));
        assert_eq!(by_name_any("ssh"), Some(22));
        assert_eq!(by_name_any("domain"), Some(53));
        assert_eq!(by_name_any("ntp"), Some(123));
        assert_eq!(by_name_any("HTTP"), None);
        assert_eq!(by_name_first("ftp-data"), Some(20));
        assert_eq!(by_name_first("ntp"), Some(123));
        assert_eq!(by_port(443, ServiceProto::Tcp), Some("https"));
        assert_eq!(by_port(80, ServiceProto::Udp), None);
    }

    /// As TPROXY `--on-port` took them (iptables v1.8.9, glibc 2.36).
    #[test]
    fn getportbyname_is_getaddrinfo() {
        for (s, want) in [
            ("80", Some(80)),
            ("+80", Some(80)),
            ("080", Some(80)),
            ("70000", Some(4464)),
            ("4294967296", Some(0)),
            ("2147483647", Some(65535)),
            ("4294967377", Some(81)),
            ("http", Some(80)),
            ("ssh", Some(22)),
            ("domain", Some(53)),
            ("-1", None),
            ("0x50", None),
            ("8a", None),
            ("80:90", None),
            ("2147483648", None),
            ("4294967295", None),
            ("99999999999999999999", None),
            ("HTTP", None),
        ] {
            assert_eq!(getportbyname(s), want, "{s:?}");
        }
    }

    #[test]
    fn every_entry_is_well_formed() {
        for s in SERVICES {
            assert!(!s.name.is_empty() && !s.name.bytes().all(|b| b.is_ascii_digit()), "{s:?}");
        }
    }
}
