//! Real servers (destinations) of a virtual service: what `ipvsadm -a -t VIP:PORT -r
//! ADDR:PORT -m|-g|-i -w WEIGHT` adds (`struct ip_vs_dest`, `ip_vs_add_dest` in
//! `net/netfilter/ipvs/ip_vs_ctl.c`), with the connection counters the kernel keeps on it
//! (`activeconns`, `inactconns`, `persistconns`) and its traffic statistics.
//!
//! A weight-0 destination is *quiescent*: schedulers skip it, existing connections keep
//! using it. Left out: upper/lower connection thresholds (`-x`/`-y`, the OVERLOAD flag), the
//! trash list of deleted destinations that still have connections (a deleted destination's
//! connections are dropped from the table at once).

use std::fmt;
use std::net::SocketAddrV4;

use super::stats::Stats;

/// How packets reach a real server (`IP_VS_CONN_F_FWD_MASK`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ForwardMethod {
    /// `-m`, masquerading (NAT): the destination address and port are rewritten and the
    /// replies un-NATed (`ip_vs_nat_xmit`).
    Masq,
    /// `-g`, gatewaying (direct routing): the packet is sent unchanged to the real server as
    /// next hop (`ip_vs_dr_xmit`). ipvsadm's default.
    Route,
    /// `-i`, IP-in-IP tunnelling (`ip_vs_tunnel_xmit`). The wire model has no IPIP, so netsim
    /// forwards it like [`ForwardMethod::Route`].
    Tunnel,
}

impl ForwardMethod {
    /// The `Forward` column of `ipvsadm -L`.
    pub const fn name(self) -> &'static str {
        match self {
            ForwardMethod::Masq => "Masq",
            ForwardMethod::Route => "Route",
            ForwardMethod::Tunnel => "Tunnel",
        }
    }

    /// The ipvsadm option selecting it.
    pub const fn option(self) -> &'static str {
        match self {
            ForwardMethod::Masq => "-m",
            ForwardMethod::Route => "-g",
            ForwardMethod::Tunnel => "-i",
        }
    }
}

impl fmt::Display for ForwardMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A real server as configured (`ipvsadm -a`/`-e`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RealServer {
    /// Address and port.
    pub addr: SocketAddrV4,
    /// Weight, 0..=65535 (ipvsadm's range); 0 = quiescent.
    pub weight: u32,
    /// Forwarding method.
    pub method: ForwardMethod,
}

impl RealServer {
    /// A masquerading real server (what kube-proxy adds) with weight `weight`.
    pub fn masq(addr: SocketAddrV4, weight: u32) -> RealServer {
        RealServer { addr, weight, method: ForwardMethod::Masq }
    }
}

/// A real server with its live state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dest {
    /// The configuration.
    pub server: RealServer,
    /// Connections in ESTABLISHED (`activeconns`, the `ActiveConn` column).
    pub active_conns: u32,
    /// Other connections (`inactconns`, `InActConn`): TCP not established, and every UDP one.
    pub inact_conns: u32,
    /// Persistence templates pointing here (`persistconns`).
    pub persist_conns: u32,
    /// Traffic counters and rate estimator.
    pub stats: Stats,
    /// The last non-zero weight (`last_weight`, 0 until the weight is first above 0): what the
    /// mh scheduler builds its table from, so quiescing a server does not move the others.
    pub last_weight: u32,
}

impl Dest {
    pub(crate) fn new(server: RealServer, stats: Stats) -> Dest {
        Dest { server, active_conns: 0, inact_conns: 0, persist_conns: 0, stats, last_weight: server.weight }
    }

    /// Available for new connections: weight above 0 (no thresholds are modelled, so never
    /// overloaded).
    pub fn available(&self) -> bool {
        self.server.weight > 0
    }

    /// `ip_vs_dest_conn_overhead`: `activeconns * 256 + inactconns`, what lc, wlc, lblc and
    /// lblcr compare.
    pub fn conn_overhead(&self) -> u64 {
        (u64::from(self.active_conns) << 8) + u64::from(self.inact_conns)
    }
}
