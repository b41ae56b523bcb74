//! glibc's `getaddrinfo(name, NULL, {AF_INET})` as the xtables `XTTYPE_HOST` options (TPROXY's
//! `--on-ip`) call it, over a fixed `/etc/hosts` and without a DNS server, so that a rule set
//! means the same wherever netsim runs.
//!
//! In glibc's order: a number in `inet_aton`'s forms, whole (`1.2.3` is 1.2.0.3, `0x7f.1`
//! 127.0.0.1, `010.1.1.1` 8.1.1.1, `16909060` 1.2.3.4; not the forms `-s` reads, which are
//! libxtables' own); an IPv6 address is of the wrong family; a name in [`HOSTS`] (compared
//! without case, as the files backend does); then DNS, which refuses a name made of digits
//! and dots, or one `res_hnok` finds no host name, and otherwise cannot answer: netsim has no
//! resolver, as a network namespace without a network has none (the real binaries measured
//! there said `Temporary failure in name resolution`). Measured with iptables v1.8.9, glibc
//! 2.36 (`sim-net/tests/xtables_backends.rs`).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The hosts netsim's `/etc/hosts` has: Debian's IPv4 line.
pub const HOSTS: &[(&str, Ipv4Addr)] = &[("localhost", Ipv4Addr::LOCALHOST)];

/// Debian's `/etc/networks` (netbase 6.4), what `getnetbyaddr` answers from.
pub const NETWORKS: &[(&str, Ipv4Addr)] = &[
    ("default", Ipv4Addr::new(0, 0, 0, 0)),
    ("loopback", Ipv4Addr::new(127, 0, 0, 0)),
    ("link-local", Ipv4Addr::new(169, 254, 0, 0)),
];

/// libxtables' `xtables_ipaddr_to_anyname` (what `iptables -L` without `-n` prints for an
/// address): `gethostbyaddr` ([`HOSTS`]; netsim has no DNS to ask for others), else
/// `getnetbyaddr` ([`NETWORKS`]), else the dotted quad.
pub fn addr_to_anyname(a: Ipv4Addr) -> String {
    HOSTS
        .iter()
        .chain(NETWORKS)
        .find(|(_, x)| *x == a)
        .map_or_else(|| a.to_string(), |(name, _)| name.to_string())
}

/// Why `getaddrinfo` found no IPv4 address, as `gai_strerror` words it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GaiError {
    /// `EAI_NONAME`.
    NoName,
    /// `EAI_ADDRFAMILY`: the name is an address of another family.
    AddrFamily,
    /// `EAI_AGAIN`: the name needs a DNS server.
    Again,
}

impl fmt::Display for GaiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GaiError::NoName => "Name or service not known",
            GaiError::AddrFamily => "Address family for hostname not supported",
            GaiError::Again => "Temporary failure in name resolution",
        })
    }
}

/// `getaddrinfo(name, NULL, {AF_INET})`'s first address.
pub fn resolve_v4(name: &str) -> Result<Ipv4Addr, GaiError> {
    if let Some(a) = inet_aton(name) {
        return Ok(a);
    }
    if name.parse::<Ipv6Addr>().is_ok() {
        return Err(GaiError::AddrFamily);
    }
    if let Some((_, a)) = HOSTS.iter().find(|(h, _)| h.eq_ignore_ascii_case(name)) {
        return Ok(*a);
    }
    let digits_and_dots = name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !name.ends_with('.');
    if digits_and_dots || !res_hnok(name) {
        return Err(GaiError::NoName);
    }
    Err(GaiError::Again)
}

/// glibc's `__inet_aton_exact`: one to four numbers (C's `strtoul(.., 0)`: `0x` hex, `0`
/// octal) separated by dots, the last filling the bytes left; nothing after them.
pub fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut vals = Vec::with_capacity(parts.len());
    for p in &parts {
        let (digits, radix) = match p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            Some(h) => (h, 16),
            None if p.len() > 1 && p.starts_with('0') => (&p[1..], 8),
            None => (*p, 10),
        };
        // `0x` alone is 0, as strtoul reads it.
        if digits.is_empty() && radix != 16 {
            return None;
        }
        if !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        vals.push(if digits.is_empty() { 0 } else { u64::from_str_radix(digits, radix).ok()? });
    }
    let (last, head) = vals.split_last()?;
    if head.iter().any(|v| *v > 255) {
        return None;
    }
    let rest_bits = 8 * (4 - head.len() as u32);
    if rest_bits < 64 && *last >> rest_bits != 0 {
        return None;
    }
    let mut n = *last as u32;
    for (i, v) in head.iter().enumerate() {
        n |= (*v as u32) << (24 - 8 * i as u32);
    }
    Some(Ipv4Addr::from(n))
}

/// glibc's `res_hnok`: printable ASCII without blanks, labels of 1 to 63 letters, digits, `-`
/// or `_` (a `\` escapes the next character), a single trailing dot allowed, and the first
/// label not starting with `-`.
fn res_hnok(name: &str) -> bool {
    if name.is_empty() || !name.bytes().all(|b| b > b' ' && b <= b'~') {
        return false;
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let mut labels = Vec::new();
    let mut label = String::new();
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => labels.push(std::mem::take(&mut label)),
            '\\' => match chars.next() {
                Some(e) => label.push(e),
                None => return false,
            },
            c => label.push(c),
        }
    }
    labels.push(label);
    if labels.first().is_some_and(|l| l.starts_with('-')) {
        return false;
    }
    labels.iter().all(|l| {
        (1..=63).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As glibc 2.36 answered in a network namespace without a network.
    #[test]
    fn answers_as_glibc_did() {
        let ok = |s: &str, a: [u8; 4]| assert_eq!(resolve_v4(s), Ok(Ipv4Addr::from(a)), "{s}");
        ok("1.2.3.4", [1, 2, 3, 4]);
        ok("1.2.3", [1, 2, 0, 3]);
        ok("0x7f.1", [127, 0, 0, 1]);
        ok("010.1.1.1", [8, 1, 1, 1]);
        ok("16909060", [1, 2, 3, 4]);
        ok("123", [0, 0, 0, 123]);
        ok("localhost", [127, 0, 0, 1]);
        ok("LOCALHOST", [127, 0, 0, 1]);
        for s in ["1.2.3.4/24", "1.2.3.256", "1.2.3.4.5", "abc/def", "-x", "a b", "08.1.1.1", "1.2.3.4 ", "*"]
        {
            assert_eq!(resolve_v4(s), Err(GaiError::NoName), "{s}");
        }
        for s in ["host.invalid", "a_b", "x-", "1.2.3.", "1a.2", "ip6-localhost", "1e3", "foo\\bar", "a."] {
            assert_eq!(resolve_v4(s), Err(GaiError::Again), "{s}");
        }
        assert_eq!(resolve_v4("::1"), Err(GaiError::AddrFamily));
    }

    #[test]
    fn addresses_by_name() {
        assert_eq!(addr_to_anyname(Ipv4Addr::LOCALHOST), "localhost");
        assert_eq!(addr_to_anyname(Ipv4Addr::new(127, 0, 0, 0)), "loopback");
        assert_eq!(addr_to_anyname(Ipv4Addr::new(169, 254, 169, 254)), "169.254.169.254");
    }
}
