//! IPv4 routing: the main table of one network namespace (`ip route`), longest-prefix match
//! as the kernel's FIB (`fib_table_lookup`) does it, and the iproute2 text forms.
//!
//! A route has a destination prefix (`default` is 0.0.0.0/0), an optional gateway (`via`), an
//! output device, a protocol (`boot` is not printed, as iproute2 hides it), a scope
//! (`global` is not printed), a preferred source (`src`), a metric and `onlink`. Among equal
//! prefixes the lowest metric wins, then the earliest added. The *local* table (addresses of
//! the host) is not stored here: [`crate::host::Host`] derives it from interface addresses.
//! Left out: policy routing (`ip rule`), multipath, route types other than unicast,
//! `linkdown` route removal (routes on a down device are skipped, and printed `linkdown`).

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

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
}

/// The iproute2 line, without a trailing space or newline.
impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_default() {
            f.write_str("default")?;
        } else if self.dst.prefix_len() == 32 {
            write!(f, "{}", self.dst.addr())?;
        } else {
            write!(f, "{}", self.dst)?;
        }
        if let Some(gw) = self.via {
            write!(f, " via {gw}")?;
        }
        write!(f, " dev {}", self.dev)?;
        if self.proto != RouteProto::Boot {
            write!(f, " proto {}", self.proto.name())?;
        }
        if self.scope != RouteScope::Global {
            write!(f, " scope {}", self.scope.name())?;
        }
        if let Some(s) = self.src {
            write!(f, " src {s}")?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        if self.onlink {
            f.write_str(" onlink")?;
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
    /// scope link src 10.0.0.5`.
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
                _ => return Err(err(i, "via, dev, proto, scope, src, metric or onlink")),
            }
            i += 2;
        }
        if r.dev.is_empty() {
            return Err(RouteError::NoDevice(line.to_string()));
        }
        r.scope = scope.unwrap_or(if r.via.is_some() { RouteScope::Global } else { RouteScope::Link });
        Ok(r)
    }
}

/// The main routing table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// An empty table.
    pub fn new() -> Self {
        RouteTable::default()
    }

    /// Adds a route (`ip route add`); the same prefix with the same metric is refused.
    pub fn add(&mut self, r: Route) -> Result<(), RouteError> {
        if self.routes.iter().any(|x| x.dst == r.dst && x.metric.unwrap_or(0) == r.metric.unwrap_or(0)) {
            return Err(RouteError::Exists);
        }
        self.routes.push(r);
        Ok(())
    }

    /// Adds or replaces (`ip route replace`).
    pub fn replace(&mut self, r: Route) {
        match self
            .routes
            .iter_mut()
            .find(|x| x.dst == r.dst && x.metric.unwrap_or(0) == r.metric.unwrap_or(0))
        {
            Some(x) => *x = r,
            None => self.routes.push(r),
        }
    }

    /// Deletes the routes to `dst` (`ip route del`).
    pub fn delete(&mut self, dst: Ipv4Net) -> Result<(), RouteError> {
        let before = self.routes.len();
        self.routes.retain(|r| r.dst != dst.trunc());
        if self.routes.len() == before { Err(RouteError::NotFound) } else { Ok(()) }
    }

    /// Removes every route through `dev` (device deleted).
    pub fn flush_dev(&mut self, dev: &str) {
        self.routes.retain(|r| r.dev != dev);
    }

    /// Removes one exact route (used when an address is deleted).
    pub fn remove_exact(&mut self, r: &Route) {
        self.routes.retain(|x| x != r);
    }

    /// Every route, in insertion order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Longest-prefix match for `dst` among routes whose device is up.
    pub fn lookup(&self, dst: Ipv4Addr, dev_up: impl Fn(&str) -> bool) -> Option<&Route> {
        let mut best: Option<&Route> = None;
        for r in &self.routes {
            if !r.dst.contains(&dst) || !dev_up(&r.dev) {
                continue;
            }
            let better = match best {
                None => true,
                Some(b) => {
                    r.dst.prefix_len() > b.dst.prefix_len()
                        || (r.dst.prefix_len() == b.dst.prefix_len()
                            && r.metric.unwrap_or(0) < b.metric.unwrap_or(0))
                }
            };
            if better {
                best = Some(r);
            }
        }
        best
    }

    /// `ip route` output: default first, then by (prefix address, prefix length, metric); a
    /// route whose device is down ends in ` linkdown`.
    pub fn render(&self, dev_up: impl Fn(&str) -> bool) -> String {
        let mut rs: Vec<&Route> = self.routes.iter().collect();
        rs.sort_by_key(|r| (!r.is_default(), r.dst.addr(), r.dst.prefix_len(), r.metric.unwrap_or(0)));
        let mut out = String::new();
        for r in rs {
            out.push_str(&r.to_string());
            if !dev_up(&r.dev) {
                out.push_str(" linkdown");
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
}
