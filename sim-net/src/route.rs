//! IPv4 routing: the main table of one network namespace (`ip route`), longest-prefix match
//! as the kernel's FIB (`fib_table_lookup`) does it, and the iproute2 text forms.
//!
//! A route has a destination prefix (`default` is 0.0.0.0/0), an optional gateway (`via`), an
//! output device, a protocol (`boot` is not printed, as iproute2 hides it), a scope
//! (`global` is not printed), a preferred source (`src`), a metric and `onlink`. Among equal
//! prefixes the lowest metric wins, then the earliest added. The *local* table (addresses of
//! the host) is not stored here: [`crate::host::Host`] derives it from interface addresses.
//!
//! Multipath (ECMP) routes — `nexthop via GW dev DEV weight W` repeated — choose one next hop
//! per flow as `fib_select_multipath` does: a 31-bit hash of the flow ([`FlowKeys`], by
//! `net.ipv4.fib_multipath_hash_policy`) is compared against each live next hop's upper bound
//! (`fib_rebalance`: cumulative weight share of 2^31), so choices are weight-proportional and
//! stable per flow. The kernel keys its hash with a boot-random secret; the model uses a fixed,
//! documented hash (FNV-1a 32 with the murmur3 finaliser), so choices are reproducible but not
//! the ones a given real host would make. A one-next-hop `nexthop` route is stored as a plain
//! route, as the kernel does. Left out: policy routing (`ip rule`), nexthop objects
//! (`ip nexthop`), hash policies 2 and 3, route types other than unicast, `linkdown` route
//! removal (routes on a down device are skipped, and printed `linkdown`; a multipath next hop on
//! a down device is skipped and printed `dead linkdown`).

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::wire::{Icmp, Packet, Transport};

/// Who installed a route (`proto`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteProto {
    /// `boot`: `ip route add` without `proto` (not printed).
    #[default]
    Boot,
    /// `kernel`: the connected route of an address.
    Kernel,
    /// `static`: installed by an administrator/network manager.
    Static,
    /// `dhcp`.
    Dhcp,
    /// `bird` (Calico's BGP daemon).
    Bird,
}

impl RouteProto {
    /// The iproute2 name.
    pub const fn name(self) -> &'static str {
        match self {
            RouteProto::Boot => "boot",
            RouteProto::Kernel => "kernel",
            RouteProto::Static => "static",
            RouteProto::Dhcp => "dhcp",
            RouteProto::Bird => "bird",
        }
    }
    fn parse(s: &str) -> Option<RouteProto> {
        [RouteProto::Boot, RouteProto::Kernel, RouteProto::Static, RouteProto::Dhcp, RouteProto::Bird]
            .into_iter()
            .find(|p| p.name() == s)
    }
}

/// The reach of a route (`scope`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteScope {
    /// `global` (universe): through a gateway (not printed).
    #[default]
    Global,
    /// `link`: directly reachable on the device.
    Link,
    /// `host`: this host.
    Host,
}

impl RouteScope {
    /// The iproute2 name.
    pub const fn name(self) -> &'static str {
        match self {
            RouteScope::Global => "global",
            RouteScope::Link => "link",
            RouteScope::Host => "host",
        }
    }
}

/// One route of the main table.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    /// Destination prefix (host bits cleared); `0.0.0.0/0` prints as `default`.
    pub dst: Ipv4Net,
    /// Gateway.
    pub via: Option<Ipv4Addr>,
    /// Output device.
    pub dev: String,
    /// Installer.
    pub proto: RouteProto,
    /// Scope.
    pub scope: RouteScope,
    /// Preferred source address for locally generated packets.
    pub src: Option<Ipv4Addr>,
    /// Metric (priority); lower wins.
    pub metric: Option<u32>,
    /// Gateway is on-link even if no prefix of the device covers it.
    pub onlink: bool,
    /// The next hops of a multipath route (two or more, in the order given); empty for a
    /// single-path route, which uses `via`/`dev`/`onlink` instead (those are then unset).
    pub nexthops: Vec<NextHop>,
}

/// One next hop of a multipath route (`nexthop via GW dev DEV weight W [onlink]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NextHop {
    /// Gateway.
    pub via: Option<Ipv4Addr>,
    /// Output device.
    pub dev: String,
    /// Relative weight, 1..=256 (`rtnh_hops + 1`).
    pub weight: u16,
    /// Gateway is on-link.
    pub onlink: bool,
}

impl NextHop {
    /// A next hop via `gw` out of `dev` with weight 1.
    pub fn via(gw: Ipv4Addr, dev: &str) -> NextHop {
        NextHop { via: Some(gw), dev: dev.to_string(), weight: 1, onlink: false }
    }
}

/// `iproute2`'s next-hop line body: `via GW dev DEV weight W`, then the flags.
impl fmt::Display for NextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("nexthop")?;
        if let Some(gw) = self.via {
            write!(f, " via {gw}")?;
        }
        write!(f, " dev {} weight {}", self.dev, self.weight)?;
        if self.onlink {
            f.write_str(" onlink")?;
        }
        Ok(())
    }
}

/// `net.ipv4.fib_multipath_hash_policy`: which headers the multipath hash covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MultipathHashPolicy {
    /// 0 (kernel default): layer 3 — source and destination address; an ICMP error hashes
    /// the addresses of the packet it quotes, so it follows that flow's path.
    #[default]
    L3,
    /// 1: layer 4 — source, destination, protocol, source and destination port.
    L4,
}

impl MultipathHashPolicy {
    /// The sysctl value (0 or 1).
    pub const fn value(self) -> u8 {
        match self {
            MultipathHashPolicy::L3 => 0,
            MultipathHashPolicy::L4 => 1,
        }
    }
}

/// The header fields a multipath hash may cover (`struct flow_keys` in the kernel).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKeys {
    /// Source address (0.0.0.0 while a local sender has not chosen one).
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// IP protocol number.
    pub proto: u8,
    /// Source port (0 for ICMP).
    pub sport: u16,
    /// Destination port (0 for ICMP).
    pub dport: u16,
    /// For an ICMP error: the source and destination of the quoted packet.
    pub inner: Option<(Ipv4Addr, Ipv4Addr)>,
}

impl FlowKeys {
    /// Keys with only a destination (a route lookup without a packet, e.g. source selection).
    pub fn dst_only(dst: Ipv4Addr) -> FlowKeys {
        FlowKeys { src: Ipv4Addr::UNSPECIFIED, dst, proto: 0, sport: 0, dport: 0, inner: None }
    }

    /// The keys of a packet.
    pub fn of(pkt: &Packet) -> FlowKeys {
        let (sport, dport) = pkt.transport.ports().unwrap_or((0, 0));
        let inner = match &pkt.transport {
            Transport::Icmp(Icmp::DestUnreachable { original, .. } | Icmp::TimeExceeded { original }) => {
                Some((original.src, original.dst))
            }
            _ => None,
        };
        FlowKeys { src: pkt.src, dst: pkt.dst, proto: pkt.protocol().number(), sport, dport, inner }
    }

    /// The 31-bit multipath hash (`fib_multipath_hash`): FNV-1a 32 over the covered fields in
    /// network byte order, the murmur3 finaliser for avalanche, then the top 31 bits, as the
    /// kernel compares `hash >> 1` against the next hops' upper bounds.
    pub fn hash(&self, policy: MultipathHashPolicy) -> u32 {
        let mut bytes: Vec<u8> = Vec::with_capacity(13);
        match policy {
            MultipathHashPolicy::L3 => {
                let (s, d) = self.inner.unwrap_or((self.src, self.dst));
                bytes.extend(s.octets());
                bytes.extend(d.octets());
            }
            MultipathHashPolicy::L4 => {
                bytes.extend(self.src.octets());
                bytes.extend(self.dst.octets());
                bytes.push(self.proto);
                bytes.extend(self.sport.to_be_bytes());
                bytes.extend(self.dport.to_be_bytes());
            }
        }
        fmix32(fnv1a32(&bytes)) >> 1
    }
}

/// FNV-1a, 32 bit (offset basis 0x811c9dc5, prime 0x01000193).
fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// MurmurHash3's 32-bit finaliser: FNV-1a's low-entropy high bits on short, similar keys
/// (consecutive ports) would otherwise bias the threshold comparison.
fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

impl Route {
    /// A route to `dst` out of `dev`, scope link (what `ip route add PREFIX dev DEV` makes).
    pub fn dev(dst: Ipv4Net, dev: &str) -> Route {
        Route {
            dst: dst.trunc(),
            via: None,
            dev: dev.to_string(),
            proto: RouteProto::Boot,
            scope: RouteScope::Link,
            src: None,
            metric: None,
            onlink: false,
            nexthops: Vec::new(),
        }
    }
    /// A route to `dst` via `gw` out of `dev`, scope global.
    pub fn via(dst: Ipv4Net, gw: Ipv4Addr, dev: &str) -> Route {
        Route { via: Some(gw), scope: RouteScope::Global, ..Route::dev(dst, dev) }
    }
    /// The next hop of a packet to `dst`: the gateway, or `dst` itself on a link route.
    pub fn next_hop(&self, dst: Ipv4Addr) -> Ipv4Addr {
        self.via.unwrap_or(dst)
    }
    /// True for `default`.
    pub fn is_default(&self) -> bool {
        self.dst.prefix_len() == 0
    }
    /// A multipath route to `dst` over `nexthops`, scope global; one next hop makes a plain
    /// route, as the kernel stores it.
    pub fn multipath(dst: Ipv4Net, nexthops: Vec<NextHop>) -> Route {
        let mut r = Route::dev(dst, "");
        r.scope = RouteScope::Global;
        r.set_nexthops(nexthops);
        r
    }
    fn set_nexthops(&mut self, mut nexthops: Vec<NextHop>) {
        if nexthops.len() == 1 {
            let nh = nexthops.remove(0);
            self.via = nh.via;
            self.dev = nh.dev;
            self.onlink = nh.onlink;
            self.nexthops = Vec::new();
        } else if !nexthops.is_empty() {
            self.via = None;
            self.dev = String::new();
            self.onlink = false;
            self.nexthops = nexthops;
        }
    }
    /// True for a route with two or more next hops.
    pub fn is_multipath(&self) -> bool {
        !self.nexthops.is_empty()
    }
    /// Every output device of the route.
    pub fn devs(&self) -> impl Iterator<Item = &str> {
        let single = (!self.is_multipath()).then_some(self.dev.as_str());
        single.into_iter().chain(self.nexthops.iter().map(|n| n.dev.as_str()))
    }
    /// True if some next hop leaves through an up device.
    pub fn usable(&self, dev_up: impl Fn(&str) -> bool) -> bool {
        self.devs().any(dev_up)
    }
    /// The index (into `nexthops`) of the next hop a flow with multipath hash `hash` (31 bits)
    /// takes (`fib_select_multipath`): the first live next hop whose upper bound
    /// (`fib_rebalance`: round(cumulative weight · 2^31 / total live weight) − 1) is at least
    /// `hash`. Next hops on a down device are dead and get no share. `None` for a single-path
    /// route, or when every next hop is dead.
    pub fn select_nexthop(&self, hash: u32, dev_up: impl Fn(&str) -> bool) -> Option<usize> {
        let live: Vec<usize> = (0..self.nexthops.len()).filter(|i| dev_up(&self.nexthops[*i].dev)).collect();
        let total: u64 = live.iter().map(|i| u64::from(self.nexthops[*i].weight)).sum();
        if total == 0 {
            return None;
        }
        let mut w: u64 = 0;
        for i in &live {
            w += u64::from(self.nexthops[*i].weight);
            let upper = ((w << 31) + total / 2) / total - 1;
            if u64::from(hash) <= upper {
                return Some(*i);
            }
        }
        live.last().copied()
    }
    /// The path a flow with multipath hash `hash` takes: the route itself for a single-path
    /// route (if its device is up), else a single-path copy through the next hop
    /// [`Route::select_nexthop`] chooses (what `ip route get` prints).
    pub fn select_path(&self, hash: u32, dev_up: impl Fn(&str) -> bool) -> Option<Route> {
        if !self.is_multipath() {
            return dev_up(&self.dev).then(|| self.clone());
        }
        let nh = self.nexthops.get(self.select_nexthop(hash, dev_up)?)?;
        Some(Route {
            via: nh.via,
            dev: nh.dev.clone(),
            onlink: nh.onlink,
            nexthops: Vec::new(),
            ..self.clone()
        })
    }
}

impl Route {
    /// The first line of the iproute2 text (for a multipath route, everything but the
    /// next hops, which have no top-level `via`/`dev`).
    fn head(&self) -> String {
        let mut out = if self.is_default() {
            "default".to_string()
        } else if self.dst.prefix_len() == 32 {
            self.dst.addr().to_string()
        } else {
            self.dst.to_string()
        };
        if let Some(gw) = self.via {
            out += &format!(" via {gw}");
        }
        if !self.is_multipath() {
            out += &format!(" dev {}", self.dev);
        }
        if self.proto != RouteProto::Boot {
            out += &format!(" proto {}", self.proto.name());
        }
        if self.scope != RouteScope::Global {
            out += &format!(" scope {}", self.scope.name());
        }
        if let Some(s) = self.src {
            out += &format!(" src {s}");
        }
        if let Some(m) = self.metric {
            out += &format!(" metric {m}");
        }
        if self.onlink {
            out += " onlink";
        }
        out
    }
}

/// The iproute2 text, without trailing spaces or a final newline; a multipath route is its
/// header line followed by one `\n\tnexthop ...` line per next hop (`print_rta_multipath`).
impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.head())?;
        for nh in &self.nexthops {
            write!(f, "\n\t{nh}")?;
        }
        Ok(())
    }
}

/// A bad `ip route` specification or table change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// A token that is not a prefix, address, number or known keyword.
    #[error("route `{line}': word {word} `{token}': expected {expected}")]
    Syntax { line: String, word: usize, token: String, expected: &'static str },
    /// No `dev` given.
    #[error("route `{0}': missing `dev NAME'")]
    NoDevice(String),
    /// The same prefix and metric exist already (`RTNETLINK answers: File exists`).
    #[error("RTNETLINK answers: File exists")]
    Exists,
    /// Nothing to delete (`RTNETLINK answers: No such process`).
    #[error("RTNETLINK answers: No such process")]
    NotFound,
}

impl Route {
    /// Parses the arguments of `ip route add`: `default via 10.0.0.1 dev eth0 metric 100`,
    /// `10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink`, `10.0.0.0/24 dev eth0 proto kernel
    /// scope link src 10.0.0.5`, `203.0.113.10/32 proto static nexthop via 10.32.1.148 dev eth0
    /// weight 1 nexthop via 10.32.1.149 dev eth0 weight 1`.
    pub fn parse(line: &str) -> Result<Route, RouteError> {
        let toks: Vec<&str> = line.split_whitespace().collect();
        let err = |i: usize, expected: &'static str| RouteError::Syntax {
            line: line.to_string(),
            word: i + 1,
            token: toks.get(i).copied().unwrap_or("<end>").to_string(),
            expected,
        };
        let first = toks.first().copied().ok_or_else(|| err(0, "a prefix or `default'"))?;
        let dst = if first == "default" {
            Ipv4Net::default()
        } else if let Ok(n) = first.parse::<Ipv4Net>() {
            n.trunc()
        } else if let Ok(a) = first.parse::<Ipv4Addr>() {
            Ipv4Net::from(a)
        } else {
            return Err(err(0, "a prefix or `default'"));
        };
        let mut r = Route::dev(dst, "");
        let mut scope = None;
        let mut i = 1;
        while i < toks.len() {
            let val = toks.get(i + 1).copied();
            match toks[i] {
                "via" => {
                    r.via = Some(
                        val.and_then(|v| v.parse().ok()).ok_or_else(|| err(i + 1, "a gateway address"))?,
                    )
                }
                "dev" => r.dev = val.ok_or_else(|| err(i + 1, "a device name"))?.to_string(),
                "proto" => {
                    r.proto = val
                        .and_then(RouteProto::parse)
                        .ok_or_else(|| err(i + 1, "kernel, static, boot, dhcp or bird"))?
                }
                "scope" => {
                    scope = Some(match val {
                        Some("global" | "universe") => RouteScope::Global,
                        Some("link") => RouteScope::Link,
                        Some("host") => RouteScope::Host,
                        _ => return Err(err(i + 1, "global, link or host")),
                    })
                }
                "src" => {
                    r.src =
                        Some(val.and_then(|v| v.parse().ok()).ok_or_else(|| err(i + 1, "a source address"))?)
                }
                "metric" | "priority" => {
                    r.metric = Some(val.and_then(|v| v.parse().ok()).ok_or_else(|| err(i + 1, "a number"))?)
                }
                "onlink" => {
                    r.onlink = true;
                    i += 1;
                    continue;
                }
                "nexthop" => break,
                _ => return Err(err(i, "via, dev, proto, scope, src, metric, onlink or nexthop")),
            }
            i += 2;
        }
        if i < toks.len() {
            // `nexthop NH [nexthop NH]...` runs to the end of the line (iproute2's
            // parse_nexthops).
            if r.via.is_some() || !r.dev.is_empty() || r.onlink {
                return Err(err(i, "no top-level via, dev or onlink before `nexthop'"));
            }
            let mut nexthops = Vec::new();
            while i < toks.len() {
                if toks[i] != "nexthop" {
                    return Err(err(i, "`nexthop' or end of line"));
                }
                i += 1;
                let mut nh = NextHop { via: None, dev: String::new(), weight: 1, onlink: false };
                while i < toks.len() && toks[i] != "nexthop" {
                    let val = toks.get(i + 1).copied();
                    match toks[i] {
                        "via" => {
                            nh.via = Some(
                                val.and_then(|v| v.parse().ok())
                                    .ok_or_else(|| err(i + 1, "a gateway address"))?,
                            )
                        }
                        "dev" => nh.dev = val.ok_or_else(|| err(i + 1, "a device name"))?.to_string(),
                        "weight" => {
                            nh.weight = val
                                .and_then(|v| v.parse().ok())
                                .filter(|w| (1..=256).contains(w))
                                .ok_or_else(|| err(i + 1, "a weight from 1 to 256"))?
                        }
                        "onlink" => {
                            nh.onlink = true;
                            i += 1;
                            continue;
                        }
                        _ => return Err(err(i, "via, dev, weight, onlink or nexthop")),
                    }
                    i += 2;
                }
                if nh.dev.is_empty() {
                    return Err(RouteError::NoDevice(line.to_string()));
                }
                nexthops.push(nh);
            }
            if nexthops.is_empty() {
                return Err(err(i, "a next hop after `nexthop'"));
            }
            r.set_nexthops(nexthops);
        }
        if r.dev.is_empty() && !r.is_multipath() {
            return Err(RouteError::NoDevice(line.to_string()));
        }
        let has_gw = r.via.is_some() || r.nexthops.iter().any(|n| n.via.is_some());
        r.scope = scope.unwrap_or(if has_gw { RouteScope::Global } else { RouteScope::Link });
        Ok(r)
    }
}

/// The main routing table.
///
/// Routes are kept in insertion order (what `lookup`'s tie-break and `routes()` expose) with an
/// index by destination prefix beside them, as the kernel's FIB trie is keyed by prefix: adding a
/// route and looking one up cost one probe per prefix length present, not a scan of the table
/// (a host-gw node of a 5,000-node cluster holds 5,000 routes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteTable {
    routes: Vec<Route>,
    /// Route positions by destination prefix, in insertion order.
    by_dst: indexmap::IndexMap<Ipv4Net, Vec<usize>>,
    /// Bit `n` set: some route has a /n prefix.
    lens: u64,
}

impl RouteTable {
    /// An empty table.
    pub fn new() -> Self {
        RouteTable::default()
    }

    fn same_key(x: &Route, r: &Route) -> bool {
        x.dst == r.dst && x.metric.unwrap_or(0) == r.metric.unwrap_or(0)
    }

    fn position(&self, r: &Route) -> Option<usize> {
        self.by_dst.get(&r.dst)?.iter().copied().find(|&i| Self::same_key(&self.routes[i], r))
    }

    fn push(&mut self, r: Route) {
        self.lens |= 1u64 << r.dst.prefix_len();
        self.by_dst.entry(r.dst).or_default().push(self.routes.len());
        self.routes.push(r);
    }

    /// Rebuilds the index after routes were removed.
    fn reindex(&mut self) {
        self.by_dst.clear();
        self.lens = 0;
        for (i, r) in self.routes.iter().enumerate() {
            self.lens |= 1u64 << r.dst.prefix_len();
            self.by_dst.entry(r.dst).or_default().push(i);
        }
    }

    fn retain(&mut self, keep: impl FnMut(&Route) -> bool) {
        let before = self.routes.len();
        self.routes.retain(keep);
        if self.routes.len() != before {
            self.reindex();
        }
    }

    /// Adds a route (`ip route add`); the same prefix with the same metric is refused.
    pub fn add(&mut self, r: Route) -> Result<(), RouteError> {
        if self.position(&r).is_some() {
            return Err(RouteError::Exists);
        }
        self.push(r);
        Ok(())
    }

    /// Adds or replaces (`ip route replace`).
    pub fn replace(&mut self, r: Route) {
        match self.position(&r) {
            Some(i) => self.routes[i] = r,
            None => self.push(r),
        }
    }

    /// Deletes the routes to `dst` (`ip route del`).
    pub fn delete(&mut self, dst: Ipv4Net) -> Result<(), RouteError> {
        let before = self.routes.len();
        self.retain(|r| r.dst != dst.trunc());
        if self.routes.len() == before { Err(RouteError::NotFound) } else { Ok(()) }
    }

    /// Removes every route through `dev` (device deleted); a multipath route with one next
    /// hop through it goes as a whole, as `fib_sync_down_dev` on `NETDEV_UNREGISTER` does.
    pub fn flush_dev(&mut self, dev: &str) {
        self.retain(|r| r.devs().all(|d| d != dev));
    }

    /// Removes one exact route (used when an address is deleted).
    pub fn remove_exact(&mut self, r: &Route) {
        self.retain(|x| x != r);
    }

    /// Every route, in insertion order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Longest-prefix match for `dst` among routes with a device that is up (a multipath
    /// route is returned whole: [`Route::select_path`] picks the flow's next hop); among equal
    /// prefixes the lowest metric, then the first added.
    pub fn lookup(&self, dst: Ipv4Addr, dev_up: impl Fn(&str) -> bool) -> Option<&Route> {
        for len in (0..=32u8).rev() {
            if self.lens & (1u64 << len) == 0 {
                continue;
            }
            let Ok(net) = Ipv4Net::new(dst, len) else { continue };
            let Some(at) = self.by_dst.get(&net.trunc()) else { continue };
            let best = at
                .iter()
                .map(|&i| &self.routes[i])
                .filter(|r| r.usable(&dev_up))
                .min_by_key(|r| r.metric.unwrap_or(0));
            if best.is_some() {
                return best;
            }
        }
        None
    }

    /// `ip route` output: default first, then by (prefix address, prefix length, metric); a
    /// route whose device is down ends in ` linkdown`, a multipath next hop on a down device in
    /// ` dead linkdown`.
    pub fn render(&self, dev_up: impl Fn(&str) -> bool) -> String {
        let mut rs: Vec<&Route> = self.routes.iter().collect();
        rs.sort_by_key(|r| (!r.is_default(), r.dst.addr(), r.dst.prefix_len(), r.metric.unwrap_or(0)));
        let mut out = String::new();
        for r in rs {
            if r.is_multipath() {
                out.push_str(&r.head());
                for nh in &r.nexthops {
                    out.push_str(&format!("\n\t{nh}"));
                    if !dev_up(&nh.dev) {
                        out.push_str(" dead linkdown");
                    }
                }
            } else {
                out.push_str(&r.to_string());
                if !dev_up(&r.dev) {
                    out.push_str(" linkdown");
                }
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn flannel_node() -> RouteTable {
        let mut t = RouteTable::new();
        for l in [
            "10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink",
            "10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1",
            "default via 192.168.146.2 dev ens33 proto static metric 100",
            "10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink",
            "192.168.146.0/24 dev ens33 proto kernel scope link src 192.168.146.130 metric 100",
        ] {
            t.add(Route::parse(l).unwrap()).unwrap();
        }
        t
    }

    #[test]
    fn render_matches_the_real_flannel_capture_order() {
        let t = flannel_node();
        assert_eq!(
            t.render(|_| true),
            "default via 192.168.146.2 dev ens33 proto static metric 100\n\
             10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1\n\
             10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink\n\
             10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink\n\
             192.168.146.0/24 dev ens33 proto kernel scope link src 192.168.146.130 metric 100\n"
        );
    }

    #[test]
    fn longest_prefix_match_golden_cases() {
        let mut t = flannel_node();
        t.add(Route::parse("10.244.1.7 dev cali1234 scope link").unwrap()).unwrap();
        let cases = [
            ("10.244.0.5", "10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1"),
            ("10.244.1.9", "10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink"),
            ("10.244.1.7", "10.244.1.7 dev cali1234 scope link"),
            (
                "192.168.146.7",
                "192.168.146.0/24 dev ens33 proto kernel scope link src 192.168.146.130 metric 100",
            ),
            ("8.8.8.8", "default via 192.168.146.2 dev ens33 proto static metric 100"),
        ];
        for (dst, want) in cases {
            assert_eq!(t.lookup(ip(dst), |_| true).unwrap().to_string(), want, "{dst}");
        }
        // Routes on a down device are skipped.
        assert_eq!(t.lookup(ip("10.244.0.5"), |d| d != "cni0").unwrap().dev, "ens33");
        // Equal prefixes: lowest metric.
        t.add(Route::parse("default via 192.168.146.3 dev ens33 metric 50").unwrap()).unwrap();
        assert_eq!(t.lookup(ip("8.8.8.8"), |_| true).unwrap().via, Some(ip("192.168.146.3")));
        let mut empty = RouteTable::new();
        assert!(empty.lookup(ip("1.1.1.1"), |_| true).is_none());
        assert_eq!(empty.delete("1.0.0.0/8".parse().unwrap()), Err(RouteError::NotFound));
    }

    #[test]
    fn parse_errors_name_the_word() {
        assert_eq!(
            Route::parse("10.0.0.0/33 dev eth0").unwrap_err().to_string(),
            "route `10.0.0.0/33 dev eth0': word 1 `10.0.0.0/33': expected a prefix or `default'"
        );
        assert_eq!(
            Route::parse("default via x dev eth0").unwrap_err().to_string(),
            "route `default via x dev eth0': word 3 `x': expected a gateway address"
        );
        assert_eq!(
            Route::parse("default via 1.1.1.1").unwrap_err().to_string(),
            "route `default via 1.1.1.1': missing `dev NAME'"
        );
        let mut t = flannel_node();
        assert_eq!(t.add(Route::parse("10.244.0.0/24 dev cni0").unwrap()), Err(RouteError::Exists));
    }

    const ECMP: &str = "203.0.113.10/32 proto static nexthop via 10.32.1.148 dev eth0 weight 1 \
                        nexthop via 10.32.1.149 dev eth0 weight 1";

    fn flow(sport: u16) -> FlowKeys {
        FlowKeys { src: ip("198.51.100.7"), dst: ip("203.0.113.10"), proto: 6, sport, dport: 80, inner: None }
    }

    #[test]
    fn hash_primitives_match_their_reference_vectors() {
        // FNV-1a 32 (Fowler/Noll/Vo reference test vectors).
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
        // murmur3 fmix32 fixes 0 and is a bijection elsewhere.
        assert_eq!(fmix32(0), 0);
        assert_ne!(fmix32(1), fmix32(2));
        // The multipath hash is 31 bits.
        assert!((0..1000).all(|p| flow(p).hash(MultipathHashPolicy::L4) < 1 << 31));
    }

    #[test]
    fn multipath_parse_and_print_as_iproute2() {
        let r = Route::parse(ECMP).unwrap();
        assert!(r.is_multipath());
        assert_eq!(
            (r.proto, r.scope, r.via, r.dev.as_str()),
            (RouteProto::Static, RouteScope::Global, None, "")
        );
        assert_eq!(
            r.nexthops,
            vec![NextHop::via(ip("10.32.1.148"), "eth0"), NextHop::via(ip("10.32.1.149"), "eth0")]
        );
        let printed = "203.0.113.10 proto static\n\tnexthop via 10.32.1.148 dev eth0 weight 1\n\tnexthop via 10.32.1.149 dev eth0 weight 1";
        assert_eq!(r.to_string(), printed);
        // The printed form, joined into one line, is again `ip route add` input for the same route.
        let again = Route::parse(&printed.replace("\n\t", " ")).unwrap();
        assert_eq!(again, r);
        assert_eq!(
            Route::multipath(r.dst, r.nexthops.clone()),
            Route { proto: RouteProto::Boot, ..r.clone() }
        );
        let mut t = flannel_node();
        t.add(r).unwrap();
        t.add(
            Route::parse(
                "10.9.0.0/16 nexthop via 192.168.146.2 dev ens33 weight 3 nexthop dev cni0 weight 256 onlink",
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            t.render(|d| d != "cni0"),
            "default via 192.168.146.2 dev ens33 proto static metric 100\n\
             10.9.0.0/16\n\
             \tnexthop via 192.168.146.2 dev ens33 weight 3\n\
             \tnexthop dev cni0 weight 256 onlink dead linkdown\n\
             10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1 linkdown\n\
             10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink\n\
             10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink\n\
             192.168.146.0/24 dev ens33 proto kernel scope link src 192.168.146.130 metric 100\n\
             203.0.113.10 proto static\n\
             \tnexthop via 10.32.1.148 dev eth0 weight 1\n\
             \tnexthop via 10.32.1.149 dev eth0 weight 1\n"
        );
        // Deleting a device removes a multipath route that uses it.
        t.flush_dev("cni0");
        assert!(t.routes().iter().all(|r| r.dst != "10.9.0.0/16".parse().unwrap()));
    }

    #[test]
    fn a_single_nexthop_is_a_plain_route() {
        let r = Route::parse("10.1.0.0/16 nexthop via 10.0.0.1 dev eth0 weight 5").unwrap();
        assert!(!r.is_multipath());
        assert_eq!(r.to_string(), "10.1.0.0/16 via 10.0.0.1 dev eth0");
        assert_eq!(r, Route::parse("10.1.0.0/16 via 10.0.0.1 dev eth0").unwrap());
    }

    #[test]
    fn multipath_parse_errors_name_the_word() {
        let e = |l: &str| Route::parse(l).unwrap_err().to_string();
        assert_eq!(
            e("1.2.3.4 nexthop via 10.0.0.1 dev eth0 weight 0"),
            "route `1.2.3.4 nexthop via 10.0.0.1 dev eth0 weight 0': word 8 `0': expected a weight from 1 to 256"
        );
        assert_eq!(
            e("1.2.3.4 nexthop via 10.0.0.1 dev eth0 weight 257"),
            "route `1.2.3.4 nexthop via 10.0.0.1 dev eth0 weight 257': word 8 `257': expected a weight from 1 to 256"
        );
        assert_eq!(
            e("1.2.3.4 nexthop via 10.0.0.1 nexthop via 10.0.0.2 dev eth0"),
            "route `1.2.3.4 nexthop via 10.0.0.1 nexthop via 10.0.0.2 dev eth0': missing `dev NAME'"
        );
        assert_eq!(
            e("1.2.3.4 dev eth0 nexthop via 10.0.0.2 dev eth0"),
            "route `1.2.3.4 dev eth0 nexthop via 10.0.0.2 dev eth0': word 4 `nexthop': expected no top-level via, dev or onlink before `nexthop'"
        );
        assert_eq!(
            e("1.2.3.4 nexthop dev eth0 metric 5"),
            "route `1.2.3.4 nexthop dev eth0 metric 5': word 5 `metric': expected via, dev, weight, onlink or nexthop"
        );
        assert_eq!(e("1.2.3.4 nexthop"), "route `1.2.3.4 nexthop': missing `dev NAME'");
    }

    #[test]
    fn every_packet_of_a_flow_takes_the_same_next_hop() {
        let r = Route::parse(ECMP).unwrap();
        for policy in [MultipathHashPolicy::L3, MultipathHashPolicy::L4] {
            for sport in [32768, 40000, 60999] {
                let first = r.select_path(flow(sport).hash(policy), |_| true).unwrap();
                for _ in 0..3 {
                    assert_eq!(r.select_path(flow(sport).hash(policy), |_| true).unwrap(), first);
                }
                assert!(!first.is_multipath());
                assert_eq!((first.dst, first.proto, first.dev.as_str()), (r.dst, r.proto, "eth0"));
            }
        }
        // From a packet: a retransmitted SYN has the same keys; L3 ignores the ports, and an
        // ICMP error hashes the addresses of the packet it quotes.
        use crate::wire::TcpFlags;
        let syn = Packet::tcp(ip("198.51.100.7"), 41000, ip("203.0.113.10"), 80, TcpFlags::SYN);
        assert_eq!(FlowKeys::of(&syn), FlowKeys::of(&syn.clone()));
        assert_eq!(FlowKeys::of(&syn), flow(41000));
        let other = Packet::tcp(ip("198.51.100.7"), 41001, ip("203.0.113.10"), 443, TcpFlags::SYN);
        let l3 = MultipathHashPolicy::L3;
        assert_eq!(FlowKeys::of(&syn).hash(l3), FlowKeys::of(&other).hash(l3));
        let err = Packet::icmp(
            ip("192.0.2.1"),
            ip("192.0.2.9"),
            Icmp::DestUnreachable { code: 3, original: Box::new(syn.clone()) },
        );
        assert_eq!(FlowKeys::of(&err).hash(l3), FlowKeys::of(&syn).hash(l3));
    }

    #[test]
    fn flows_spread_in_proportion_to_weight() {
        let count = |line: &str, policy| {
            let r = Route::parse(line).unwrap();
            let mut n = [0u32; 3];
            for sport in 32768..(32768 + 6000) {
                let p = r.select_path(flow(sport).hash(policy), |_| true).unwrap();
                n[usize::from(p.via.unwrap().octets()[3] - 1)] += 1;
            }
            n
        };
        let [a, b, c] = count(
            "1.2.3.4 nexthop via 10.0.0.1 dev eth0 nexthop via 10.0.0.2 dev eth0",
            MultipathHashPolicy::L4,
        );
        assert_eq!((a + b, c), (6000, 0));
        assert!((2800..=3200).contains(&a), "{a}/{b}");
        let [a, b, c] = count(
            "1.2.3.4 nexthop via 10.0.0.1 dev eth0 weight 1 nexthop via 10.0.0.2 dev eth0 weight 2 \
             nexthop via 10.0.0.3 dev eth0 weight 3",
            MultipathHashPolicy::L4,
        );
        for (got, want) in [(a, 1000), (b, 2000), (c, 3000)] {
            assert!(got.abs_diff(want) <= 200, "{a}/{b}/{c}");
        }
        // L3: one source/destination pair is one flow, whatever the ports.
        let [a, b, _] = count(
            "1.2.3.4 nexthop via 10.0.0.1 dev eth0 nexthop via 10.0.0.2 dev eth0",
            MultipathHashPolicy::L3,
        );
        assert!(a == 6000 || b == 6000, "{a}/{b}");
    }

    #[test]
    fn dead_next_hops_get_no_share() {
        let r = Route::parse("1.2.3.4 nexthop via 10.0.0.1 dev eth0 nexthop via 10.0.1.1 dev eth1").unwrap();
        for sport in 0..200 {
            let p = r.select_path(flow(sport).hash(MultipathHashPolicy::L4), |d| d != "eth0").unwrap();
            assert_eq!(p.dev, "eth1");
        }
        assert_eq!(r.select_path(0, |_| false), None);
        let mut t = RouteTable::new();
        t.add(r).unwrap();
        t.add(Route::parse("1.2.3.0/24 via 10.0.9.9 dev eth9").unwrap()).unwrap();
        // Every next hop dead: the multipath route is skipped by the lookup.
        assert_eq!(t.lookup(ip("1.2.3.4"), |d| d == "eth9").unwrap().dev, "eth9");
    }

    #[test]
    fn longest_prefix_still_wins_over_multipath() {
        let mut t = RouteTable::new();
        t.add(
            Route::parse("10.0.0.0/8 nexthop via 192.0.2.1 dev eth0 nexthop via 192.0.2.2 dev eth0").unwrap(),
        )
        .unwrap();
        t.add(Route::parse("10.1.0.0/16 via 192.0.2.3 dev eth0").unwrap()).unwrap();
        t.add(
            Route::parse("10.1.2.0/24 nexthop via 192.0.2.4 dev eth0 nexthop via 192.0.2.5 dev eth0")
                .unwrap(),
        )
        .unwrap();
        assert!(t.lookup(ip("10.9.9.9"), |_| true).unwrap().is_multipath());
        assert_eq!(t.lookup(ip("10.1.9.9"), |_| true).unwrap().via, Some(ip("192.0.2.3")));
        assert_eq!(t.lookup(ip("10.1.2.9"), |_| true).unwrap().dst, "10.1.2.0/24".parse().unwrap());
        assert_eq!(t.add(Route::parse("10.1.2.0/24 dev eth0").unwrap()), Err(RouteError::Exists));
    }

    proptest::proptest! {
        /// Next-hop choice is a threshold split of the 31-bit hash space: a live next hop is
        /// always chosen, the choice never goes backwards as the hash grows, the lowest hash
        /// takes the first live next hop and the highest the last.
        #[test]
        fn select_path_is_a_threshold_split_over_live_next_hops(
            weights in proptest::collection::vec((1u16..=256, proptest::bool::weighted(0.8)), 2..8),
            a in 0u32..(1 << 31), b in 0u32..(1 << 31),
        ) {
            let nexthops: Vec<NextHop> = weights
                .iter()
                .enumerate()
                .map(|(i, (w, _))| NextHop { weight: *w, ..NextHop::via(Ipv4Addr::new(10, 0, 0, i as u8 + 1), &format!("eth{i}")) })
                .collect();
            let up = |d: &str| weights.iter().enumerate().any(|(i, (_, up))| *up && d == format!("eth{i}"));
            let r = Route::multipath("192.0.2.0/24".parse().unwrap(), nexthops);
            let live: Vec<usize> = (0..weights.len()).filter(|i| weights[*i].1).collect();
            let index = |h: u32| r.select_path(h, up).map(|p| usize::from(p.via.unwrap().octets()[3] - 1));
            if live.is_empty() {
                proptest::prop_assert_eq!(index(a), None);
            } else {
                let (lo, hi) = (a.min(b), a.max(b));
                let (ilo, ihi) = (index(lo).unwrap(), index(hi).unwrap());
                proptest::prop_assert!(live.contains(&ilo) && live.contains(&ihi));
                proptest::prop_assert!(ilo <= ihi);
                proptest::prop_assert_eq!(index(0), live.first().copied());
                proptest::prop_assert_eq!(index((1 << 31) - 1), live.last().copied());
            }
        }
    }
}
