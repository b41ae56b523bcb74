//! IP sets (`ipset`) as `-m set --match-set NAME src,dst` consults them.
//!
//! Follows ipset(8) and the kernel's `net/netfilter/ipset/ip_set_hash_*.c`: a set has a type
//! with one to three dimensions; each `src`/`dst` flag of `--match-set` says which packet
//! address or port fills a dimension (a dimension with no flag takes the destination, as the
//! kernel's unset `IPSET_DIM_*_SRC` bit does). Types modelled: `hash:ip`, `hash:net`,
//! `hash:ip,port`, `hash:ip,port,ip` (kube-proxy IPVS mode's `KUBE-LOOP-BACK`),
//! `hash:ip,port,net` (its `KUBE-LOAD-BALANCER-SOURCE-CIDR`) and `bitmap:port`.
//! [`IpSets::command`] accepts `create`, `add`, `del`, `test`, `flush`, `destroy`, `list` and
//! `save`, with ipset's error wording.
//!
//! Left out: timeouts, counters, `nomatch`, IPv6, other set types. `ipset list` prints members
//! sorted (the kernel prints hash order) and a modelled "Size in memory".

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use indexmap::IndexMap;
use ipnet::Ipv4Net;

use super::rule::SetDir;
use crate::wire::{Packet, Protocol};

/// A set type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetType {
    /// `hash:ip`.
    HashIp,
    /// `hash:net`.
    HashNet,
    /// `hash:ip,port`.
    HashIpPort,
    /// `hash:ip,port,ip`.
    HashIpPortIp,
    /// `hash:ip,port,net`.
    HashIpPortNet,
    /// `bitmap:port` with its range.
    BitmapPort {
        /// First port.
        lo: u16,
        /// Last port.
        hi: u16,
    },
}

impl SetType {
    /// The ipset type name.
    pub fn name(&self) -> &'static str {
        match self {
            SetType::HashIp => "hash:ip",
            SetType::HashNet => "hash:net",
            SetType::HashIpPort => "hash:ip,port",
            SetType::HashIpPortIp => "hash:ip,port,ip",
            SetType::HashIpPortNet => "hash:ip,port,net",
            SetType::BitmapPort { .. } => "bitmap:port",
        }
    }
    fn revision(&self) -> u8 {
        match self {
            SetType::HashIp => 4,
            SetType::HashNet => 6,
            SetType::HashIpPort => 5,
            SetType::HashIpPortIp => 5,
            SetType::HashIpPortNet => 7,
            SetType::BitmapPort { .. } => 3,
        }
    }
}

/// A member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SetEntry {
    /// An address.
    Ip(Ipv4Addr),
    /// A network.
    Net(Ipv4Net),
    /// An address, protocol and port (`10.96.0.1,tcp:443`).
    IpPort(Ipv4Addr, Protocol, u16),
    /// An address, protocol, port and a second address (`10.244.1.5,tcp:80,10.244.1.5`).
    IpPortIp(Ipv4Addr, Protocol, u16, Ipv4Addr),
    /// An address, protocol, port and a network (`203.0.113.10,tcp:80,192.168.0.0/16`).
    IpPortNet(Ipv4Addr, Protocol, u16, Ipv4Net),
    /// A port.
    Port(u16),
}

impl std::fmt::Display for SetEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetEntry::Ip(a) => write!(f, "{a}"),
            SetEntry::Net(n) => write!(f, "{n}"),
            SetEntry::IpPort(a, p, port) => write!(f, "{a},{}:{port}", p.name()),
            SetEntry::IpPortIp(a, p, port, b) => write!(f, "{a},{}:{port},{b}", p.name()),
            SetEntry::IpPortNet(a, p, port, n) => write!(f, "{a},{}:{port},{n}", p.name()),
            SetEntry::Port(p) => write!(f, "{p}"),
        }
    }
}

/// One set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpSet {
    /// The set name.
    pub name: String,
    /// The type.
    pub kind: SetType,
    /// The members.
    pub entries: BTreeSet<SetEntry>,
    /// `maxelem` (default 65536).
    pub maxelem: usize,
}

impl IpSet {
    /// True if the packet, read along `dirs`, is a member.
    pub fn test(&self, dirs: &[SetDir], pkt: &Packet) -> bool {
        let dir = |i: usize| dirs.get(i).copied().unwrap_or(SetDir::Dst);
        let addr = |d: SetDir| if d == SetDir::Src { pkt.src } else { pkt.dst };
        let port = |d: SetDir| pkt.transport.ports().map(|(s, t)| if d == SetDir::Src { s } else { t });
        match self.kind {
            SetType::HashIp => self.entries.contains(&SetEntry::Ip(addr(dir(0)))),
            SetType::HashNet => {
                let a = addr(dir(0));
                self.entries.iter().any(|e| matches!(e, SetEntry::Net(n) if n.contains(&a)))
            }
            SetType::HashIpPort => match port(dir(1)) {
                Some(p) => self.entries.contains(&SetEntry::IpPort(addr(dir(0)), pkt.protocol(), p)),
                None => false,
            },
            SetType::HashIpPortIp => match port(dir(1)) {
                Some(p) => {
                    self.entries.contains(&SetEntry::IpPortIp(addr(dir(0)), pkt.protocol(), p, addr(dir(2))))
                }
                None => false,
            },
            SetType::HashIpPortNet => match port(dir(1)) {
                Some(p) => {
                    let (a, proto, c) = (addr(dir(0)), pkt.protocol(), addr(dir(2)));
                    self.entries.iter().any(|e| {
                        matches!(e, SetEntry::IpPortNet(x, q, n, net) if *x == a && *q == proto && *n == p && net.contains(&c))
                    })
                }
                None => false,
            },
            SetType::BitmapPort { .. } => {
                port(dir(0)).is_some_and(|p| self.entries.contains(&SetEntry::Port(p)))
            }
        }
    }

    /// `IP,[PROTO:]PORT` as an [`SetEntry::IpPort`].
    fn parse_ip_port(&self, s: &str) -> Result<SetEntry, IpSetError> {
        let bad = || {
            IpSetError::Syntax(format!("Syntax error: cannot parse {s}: resolving to IPv4 address failed"))
        };
        let (a, rest) = s.split_once(',').ok_or_else(bad)?;
        let (proto, port) = match rest.split_once(':') {
            Some((p, n)) => (Protocol::parse(p).ok_or_else(bad)?, n),
            None => (Protocol::Tcp, rest),
        };
        let port: u16 = port
            .parse()
            .map_err(|_| IpSetError::Syntax(format!("Syntax error: cannot parse '{port}' as a port")))?;
        Ok(SetEntry::IpPort(a.parse().map_err(|_| bad())?, proto, port))
    }

    fn parse_entry(&self, s: &str) -> Result<SetEntry, IpSetError> {
        let bad = || {
            IpSetError::Syntax(format!("Syntax error: cannot parse {s}: resolving to IPv4 address failed"))
        };
        match self.kind {
            SetType::HashIp => s.parse().map(SetEntry::Ip).map_err(|_| bad()),
            SetType::HashNet => {
                let n: Ipv4Net = if s.contains('/') {
                    s.parse().map_err(|_| bad())?
                } else {
                    Ipv4Net::new(s.parse().map_err(|_| bad())?, 32).map_err(|_| bad())?
                };
                Ok(SetEntry::Net(n.trunc()))
            }
            SetType::HashIpPortNet => {
                let (head, b) = s.rsplit_once(',').ok_or_else(bad)?;
                let SetEntry::IpPort(a, proto, port) = self.parse_ip_port(head)? else { return Err(bad()) };
                let n: Ipv4Net = if b.contains('/') {
                    b.parse().map_err(|_| bad())?
                } else {
                    Ipv4Net::new(b.parse().map_err(|_| bad())?, 32).map_err(|_| bad())?
                };
                Ok(SetEntry::IpPortNet(a, proto, port, n.trunc()))
            }
            SetType::HashIpPortIp => {
                let (head, b) = s.rsplit_once(',').ok_or_else(bad)?;
                let (a, rest) = head.split_once(',').ok_or_else(bad)?;
                let (proto, port) = match rest.split_once(':') {
                    Some((p, n)) => (Protocol::parse(p).ok_or_else(bad)?, n),
                    None => (Protocol::Tcp, rest),
                };
                let port: u16 = port.parse().map_err(|_| {
                    IpSetError::Syntax(format!("Syntax error: cannot parse '{port}' as a port"))
                })?;
                Ok(SetEntry::IpPortIp(
                    a.parse().map_err(|_| bad())?,
                    proto,
                    port,
                    b.parse().map_err(|_| bad())?,
                ))
            }
            SetType::HashIpPort => self.parse_ip_port(s),
            SetType::BitmapPort { lo, hi } => {
                let p: u16 = s
                    .parse()
                    .map_err(|_| IpSetError::Syntax(format!("Syntax error: cannot parse '{s}' as a port")))?;
                if p < lo || p > hi {
                    return Err(IpSetError::Syntax("Element is out of the range of the set".into()));
                }
                Ok(SetEntry::Port(p))
            }
        }
    }
}

/// Why an `ipset` command failed (ipset's wording).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IpSetError {
    /// No such set.
    #[error("The set with the given name does not exist")]
    NoSet(String),
    /// `create` of an existing set.
    #[error("Set cannot be created: set with the same name already exists")]
    Exists(String),
    /// `add` of a member.
    #[error("Element cannot be added to the set: it's already added")]
    AlreadyAdded,
    /// `del` of a non-member.
    #[error("Element cannot be deleted from the set: it's not added")]
    NotAdded,
    /// `test` of a non-member.
    #[error("{0} is NOT in set {1}.")]
    NotInSet(String, String),
    /// A full set.
    #[error("Hash is full, cannot add more elements")]
    Full,
    /// `destroy` of a set in use by a rule.
    #[error("Set cannot be destroyed: it is in use by a kernel component")]
    InUse(String),
    /// A syntax problem.
    #[error("{0}")]
    Syntax(String),
}

/// All sets of one network namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpSets {
    sets: IndexMap<String, IpSet>,
}

impl IpSets {
    /// A set by name.
    pub fn get(&self, name: &str) -> Option<&IpSet> {
        self.sets.get(name)
    }

    /// Set names in creation order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.sets.keys().map(String::as_str)
    }

    /// `ipset create NAME TYPE`.
    pub fn create(&mut self, name: &str, kind: SetType, exist_ok: bool) -> Result<(), IpSetError> {
        if let Some(s) = self.sets.get(name) {
            if exist_ok && s.kind == kind {
                return Ok(());
            }
            return Err(IpSetError::Exists(name.to_string()));
        }
        if name.is_empty() || name.len() > 31 {
            return Err(IpSetError::Syntax(format!(
                "Syntax error: setname '{name}' is longer than 31 characters"
            )));
        }
        self.sets.insert(
            name.to_string(),
            IpSet { name: name.to_string(), kind, entries: BTreeSet::new(), maxelem: 65536 },
        );
        Ok(())
    }

    /// `ipset add NAME ENTRY`.
    pub fn add(&mut self, name: &str, entry: &str, exist_ok: bool) -> Result<(), IpSetError> {
        let set = self.sets.get_mut(name).ok_or_else(|| IpSetError::NoSet(name.to_string()))?;
        let e = set.parse_entry(entry)?;
        if set.entries.contains(&e) {
            return if exist_ok { Ok(()) } else { Err(IpSetError::AlreadyAdded) };
        }
        if set.entries.len() >= set.maxelem {
            return Err(IpSetError::Full);
        }
        set.entries.insert(e);
        Ok(())
    }

    /// `ipset del NAME ENTRY`.
    pub fn del(&mut self, name: &str, entry: &str, exist_ok: bool) -> Result<(), IpSetError> {
        let set = self.sets.get_mut(name).ok_or_else(|| IpSetError::NoSet(name.to_string()))?;
        let e = set.parse_entry(entry)?;
        if !set.entries.remove(&e) && !exist_ok {
            return Err(IpSetError::NotAdded);
        }
        Ok(())
    }

    /// True if `pkt` read along `dirs` is in set `name` (false for a missing set).
    pub fn test(&self, name: &str, dirs: &[SetDir], pkt: &Packet) -> bool {
        self.sets.get(name).is_some_and(|s| s.test(dirs, pkt))
    }

    /// `ipset list [NAME]`; `references` gives the number of rules using a set.
    pub fn list(&self, name: Option<&str>, references: &dyn Fn(&str) -> usize) -> Result<String, IpSetError> {
        let mut out = String::new();
        let sets: Vec<&IpSet> = match name {
            Some(n) => vec![self.sets.get(n).ok_or_else(|| IpSetError::NoSet(n.to_string()))?],
            None => self.sets.values().collect(),
        };
        for (i, s) in sets.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "Name: {}", s.name);
            let _ = writeln!(out, "Type: {}", s.kind.name());
            let _ = writeln!(out, "Revision: {}", s.kind.revision());
            match s.kind {
                SetType::BitmapPort { lo, hi } => {
                    let _ = writeln!(out, "Header: range {lo}-{hi}");
                }
                _ => {
                    let _ = writeln!(out, "Header: family inet hashsize 1024 maxelem {}", s.maxelem);
                }
            }
            let _ = writeln!(out, "Size in memory: {}", 200 + 16 * s.entries.len());
            let _ = writeln!(out, "References: {}", references(&s.name));
            let _ = writeln!(out, "Number of entries: {}", s.entries.len());
            out.push_str("Members:\n");
            for e in &s.entries {
                let _ = writeln!(out, "{e}");
            }
        }
        Ok(out)
    }

    /// `ipset save [NAME]`: a `create` line per set (its header as `list` shows it) followed by
    /// an `add` line per member, the input `ipset restore` takes.
    pub fn save(&self, name: Option<&str>) -> Result<String, IpSetError> {
        let sets: Vec<&IpSet> = match name {
            Some(n) => vec![self.sets.get(n).ok_or_else(|| IpSetError::NoSet(n.to_string()))?],
            None => self.sets.values().collect(),
        };
        let mut out = String::new();
        for s in sets {
            match s.kind {
                SetType::BitmapPort { lo, hi } => {
                    let _ = writeln!(out, "create {} {} range {lo}-{hi}", s.name, s.kind.name());
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "create {} {} family inet hashsize 1024 maxelem {}",
                        s.name,
                        s.kind.name(),
                        s.maxelem
                    );
                }
            }
            for e in &s.entries {
                let _ = writeln!(out, "add {} {e}", s.name);
            }
        }
        Ok(out)
    }

    /// Runs an `ipset` command line (without the leading `ipset`); `in_use` tells whether a rule
    /// references a set. Returns what ipset prints.
    pub fn command(
        &mut self,
        args: &[&str],
        references: &dyn Fn(&str) -> usize,
    ) -> Result<String, IpSetError> {
        let exist = args.contains(&"-exist") || args.contains(&"-!");
        let args: Vec<&str> = args.iter().copied().filter(|a| *a != "-exist" && *a != "-!").collect();
        let arg = |i: usize| {
            args.get(i)
                .copied()
                .ok_or_else(|| IpSetError::Syntax("Syntax error: missing mandatory argument".into()))
        };
        match args.first().copied() {
            Some("create" | "n" | "-N") => {
                let name = arg(1)?;
                let kind = match arg(2)? {
                    "hash:ip" => SetType::HashIp,
                    "hash:net" => SetType::HashNet,
                    "hash:ip,port" => SetType::HashIpPort,
                    "hash:ip,port,ip" => SetType::HashIpPortIp,
                    "hash:ip,port,net" => SetType::HashIpPortNet,
                    "bitmap:port" => {
                        let pos = args.iter().position(|a| *a == "range").ok_or_else(|| {
                            IpSetError::Syntax("Syntax error: Missing mandatory option range".into())
                        })?;
                        let r = arg(pos + 1)?;
                        let (lo, hi) = r
                            .split_once('-')
                            .ok_or_else(|| IpSetError::Syntax(format!("Syntax error: bad range {r}")))?;
                        let p = |s: &str| {
                            s.parse::<u16>().map_err(|_| {
                                IpSetError::Syntax(format!("Syntax error: cannot parse '{s}' as a port"))
                            })
                        };
                        SetType::BitmapPort { lo: p(lo)?, hi: p(hi)? }
                    }
                    t => return Err(IpSetError::Syntax(format!("Syntax error: Unknown set type {t}"))),
                };
                self.create(name, kind, exist)?;
                if let Some(pos) = args.iter().position(|a| *a == "maxelem")
                    && let Some(set) = self.sets.get_mut(name)
                {
                    set.maxelem = arg(pos + 1)?
                        .parse()
                        .map_err(|_| IpSetError::Syntax("Syntax error: bad maxelem".into()))?;
                }
                Ok(String::new())
            }
            Some("add" | "a" | "-A") => self.add(arg(1)?, arg(2)?, exist).map(|_| String::new()),
            Some("del" | "d" | "-D") => self.del(arg(1)?, arg(2)?, exist).map(|_| String::new()),
            Some("test" | "t" | "-T") => {
                let (n, e) = (arg(1)?, arg(2)?);
                let set = self.sets.get(n).ok_or_else(|| IpSetError::NoSet(n.to_string()))?;
                let entry = set.parse_entry(e)?;
                if set.entries.contains(&entry) {
                    Ok(format!("{e} is in set {n}.\n"))
                } else {
                    Err(IpSetError::NotInSet(e.to_string(), n.to_string()))
                }
            }
            Some("flush" | "f" | "-F") => {
                match args.get(1) {
                    Some(n) => {
                        self.sets.get_mut(*n).ok_or_else(|| IpSetError::NoSet(n.to_string()))?.entries.clear()
                    }
                    None => self.sets.values_mut().for_each(|s| s.entries.clear()),
                }
                Ok(String::new())
            }
            Some("destroy" | "x" | "-X") => {
                let names: Vec<String> = match args.get(1) {
                    Some(n) => vec![n.to_string()],
                    None => self.sets.keys().cloned().collect(),
                };
                for n in &names {
                    if !self.sets.contains_key(n) {
                        return Err(IpSetError::NoSet(n.clone()));
                    }
                    if references(n) > 0 {
                        return Err(IpSetError::InUse(n.clone()));
                    }
                }
                for n in &names {
                    self.sets.shift_remove(n);
                }
                Ok(String::new())
            }
            Some("list" | "l" | "-L") => self.list(args.get(1).copied(), references),
            Some("save" | "s" | "-S") => self.save(args.get(1).copied()),
            Some(c) => {
                Err(IpSetError::Syntax(format!("Syntax error: No command specified: unknown argument {c}")))
            }
            None => Err(IpSetError::Syntax("Syntax error: No command specified".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_prints_restore_input() {
        let mut s = IpSets::default();
        let none = |_: &str| 0;
        s.command(&["create", "KUBE-CLUSTER-IP", "hash:ip,port"], &none).unwrap();
        s.command(&["add", "KUBE-CLUSTER-IP", "10.96.0.1,tcp:443"], &none).unwrap();
        s.command(&["create", "KUBE-NODE-PORT-TCP", "bitmap:port", "range", "0-65535"], &none).unwrap();
        s.command(&["add", "KUBE-NODE-PORT-TCP", "30380"], &none).unwrap();
        assert_eq!(
            s.command(&["save"], &none).unwrap(),
            "create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536\nadd KUBE-CLUSTER-IP 10.96.0.1,tcp:443\ncreate KUBE-NODE-PORT-TCP bitmap:port range 0-65535\nadd KUBE-NODE-PORT-TCP 30380\n"
        );
        assert_eq!(s.command(&["save", "nope"], &none).unwrap_err(), IpSetError::NoSet("nope".into()));
    }

    #[test]
    fn hash_ip_port_net_matches_a_source_network() {
        let mut s = IpSets::default();
        let none = |_: &str| 0;
        s.command(&["create", "KUBE-LOAD-BALANCER-SOURCE-CIDR", "hash:ip,port,net"], &none).unwrap();
        s.command(&["add", "KUBE-LOAD-BALANCER-SOURCE-CIDR", "203.0.113.10,tcp:80,192.168.0.0/16"], &none)
            .unwrap();
        let from = |src: Ipv4Addr| {
            Packet::tcp(src, 40000, Ipv4Addr::new(203, 0, 113, 10), 80, crate::wire::TcpFlags::SYN)
        };
        let dirs = [SetDir::Dst, SetDir::Dst, SetDir::Src];
        assert!(s.test("KUBE-LOAD-BALANCER-SOURCE-CIDR", &dirs, &from(Ipv4Addr::new(192, 168, 3, 4))));
        assert!(!s.test("KUBE-LOAD-BALANCER-SOURCE-CIDR", &dirs, &from(Ipv4Addr::new(10, 0, 0, 1))));
        let listed = s.command(&["list", "KUBE-LOAD-BALANCER-SOURCE-CIDR"], &none).unwrap();
        assert!(listed.contains("Type: hash:ip,port,net\n"), "{listed}");
        assert!(listed.ends_with("Members:\n203.0.113.10,tcp:80,192.168.0.0/16\n"), "{listed}");
    }

    #[test]
    fn hash_ip_port_matches_along_dirs() {
        let mut s = IpSets::default();
        let none = |_: &str| 0;
        s.command(&["create", "KUBE-CLUSTER-IP", "hash:ip,port"], &none).unwrap();
        s.command(&["add", "KUBE-CLUSTER-IP", "10.96.0.1,tcp:443"], &none).unwrap();
        let p = Packet::tcp(
            Ipv4Addr::new(10, 0, 0, 5),
            40000,
            Ipv4Addr::new(10, 96, 0, 1),
            443,
            crate::wire::TcpFlags::SYN,
        );
        assert!(s.test("KUBE-CLUSTER-IP", &[SetDir::Dst, SetDir::Dst], &p));
        assert!(!s.test("KUBE-CLUSTER-IP", &[SetDir::Src, SetDir::Dst], &p));
        let e = s.command(&["add", "KUBE-CLUSTER-IP", "10.96.0.1,tcp:443"], &none).unwrap_err();
        assert_eq!(e.to_string(), "Element cannot be added to the set: it's already added");
        assert!(s.command(&["add", "KUBE-CLUSTER-IP", "10.96.0.1,tcp:443", "-exist"], &none).is_ok());
        assert_eq!(
            s.command(&["list", "KUBE-CLUSTER-IP"], &|_| 1).unwrap(),
            "Name: KUBE-CLUSTER-IP\nType: hash:ip,port\nRevision: 5\nHeader: family inet hashsize 1024 maxelem 65536\nSize in memory: 216\nReferences: 1\nNumber of entries: 1\nMembers:\n10.96.0.1,tcp:443\n"
        );
        assert_eq!(
            s.command(&["destroy", "KUBE-CLUSTER-IP"], &|_| 1).unwrap_err(),
            IpSetError::InUse("KUBE-CLUSTER-IP".into())
        );
    }

    #[test]
    fn net_and_port_sets() {
        let mut s = IpSets::default();
        let none = |_: &str| 0;
        s.command(&["create", "NETS", "hash:net"], &none).unwrap();
        s.command(&["add", "NETS", "10.244.1.9/16"], &none).unwrap();
        s.command(&["create", "PORTS", "bitmap:port", "range", "30000-32767"], &none).unwrap();
        s.command(&["add", "PORTS", "31455"], &none).unwrap();
        assert!(s.command(&["add", "PORTS", "80"], &none).is_err());
        let p = Packet::tcp(
            Ipv4Addr::new(10, 244, 7, 7),
            1,
            Ipv4Addr::new(1, 1, 1, 1),
            31455,
            crate::wire::TcpFlags::SYN,
        );
        assert!(s.test("NETS", &[SetDir::Src], &p));
        assert!(!s.test("NETS", &[SetDir::Dst], &p));
        assert!(s.test("PORTS", &[SetDir::Dst], &p));
        assert!(!s.test("MISSING", &[SetDir::Dst], &p));
    }
}
