//! Virtual services: what `ipvsadm -A -t|-u|--sctp-service ADDR:PORT -s SCHED [-p TIMEOUT
//! [-M NETMASK]]` creates (`struct ip_vs_service` in `include/net/ip_vs.h`, set up by
//! `ip_vs_add_service` in `net/netfilter/ipvs/ip_vs_ctl.c`).
//!
//! Left out: firewall-mark services (`-f`), IPv6, one-packet scheduling (`-o`), persistence
//! engines (`--pe sip`) and the scheduler flags of `-b` (`sh-fallback`, `sh-port`, ...).

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::wire::{Packet, Transport};

use super::sched::SchedName;

/// The protocol of a virtual service. The order (TCP, UDP, SCTP) is the protocol number
/// order, which is how `ipvsadm -L` sorts services (`ipvs_cmp_services`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpvsProto {
    /// TCP (6), `-t`.
    Tcp,
    /// UDP (17), `-u`.
    Udp,
    /// SCTP (132), `--sctp-service`.
    Sctp,
}

impl IpvsProto {
    /// The name `ipvsadm -L` prints (`TCP`, `UDP`, `SCTP`).
    pub const fn name(self) -> &'static str {
        match self {
            IpvsProto::Tcp => "TCP",
            IpvsProto::Udp => "UDP",
            IpvsProto::Sctp => "SCTP",
        }
    }

    /// The `ipvsadm` option naming a service of this protocol.
    pub const fn option(self) -> &'static str {
        match self {
            IpvsProto::Tcp => "-t",
            IpvsProto::Udp => "-u",
            IpvsProto::Sctp => "--sctp-service",
        }
    }

    /// The protocol and `(source port, destination port)` of a packet IPVS can schedule.
    pub fn of_packet(pkt: &Packet) -> Option<(IpvsProto, u16, u16)> {
        match pkt.transport {
            Transport::Tcp { sport, dport, .. } => Some((IpvsProto::Tcp, sport, dport)),
            Transport::Udp { sport, dport } => Some((IpvsProto::Udp, sport, dport)),
            Transport::Sctp { sport, dport, .. } => Some((IpvsProto::Sctp, sport, dport)),
            Transport::Icmp(_) => None,
        }
    }
}

impl fmt::Display for IpvsProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The identity of a virtual service: protocol, virtual address and port. Ordered as
/// `ipvsadm -L` lists services (protocol, then address, then port).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceKey {
    /// Protocol.
    pub proto: IpvsProto,
    /// Virtual address.
    pub addr: Ipv4Addr,
    /// Virtual port.
    pub port: u16,
}

impl ServiceKey {
    /// A TCP service key.
    pub fn tcp(addr: Ipv4Addr, port: u16) -> ServiceKey {
        ServiceKey { proto: IpvsProto::Tcp, addr, port }
    }

    /// A UDP service key.
    pub fn udp(addr: Ipv4Addr, port: u16) -> ServiceKey {
        ServiceKey { proto: IpvsProto::Udp, addr, port }
    }

    /// The virtual address and port.
    pub fn vaddr(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.addr, self.port)
    }
}

/// `TCP 10.96.0.1:443`.
impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}:{}", self.proto, self.addr, self.port)
    }
}

/// `-p TIMEOUT [-M NETMASK]`: clients whose address, masked by `netmask`, is the same go to the
/// same real server while their persistence template lives (`ip_vs_sched_persist`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Persistence {
    /// Template lifetime in seconds (ipvsadm's default for a bare `-p` is 360).
    pub timeout: u32,
    /// The persistence granularity mask (default 255.255.255.255).
    pub netmask: Ipv4Addr,
}

/// ipvsadm's persistence timeout for `-p` without a value (`IPVS_SVC_PERSISTENT_TIMEOUT`,
/// 6 * 60 in libipvs/ip_vs.h; the man page's "300 seconds" is out of date).
pub const DEFAULT_PERSISTENCE_TIMEOUT: u32 = 360;

impl Persistence {
    /// Persistence for `timeout` seconds per client address (mask /32).
    pub fn new(timeout: u32) -> Persistence {
        Persistence { timeout, netmask: Ipv4Addr::BROADCAST }
    }

    /// The client network a template is keyed by.
    pub fn client_net(&self, client: Ipv4Addr) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(client) & u32::from(self.netmask))
    }
}

/// A virtual service as configured (`ipvsadm -A`/`-E`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VirtualService {
    /// Protocol, address and port.
    pub key: ServiceKey,
    /// The scheduler (`-s`, default `wlc`).
    pub scheduler: SchedName,
    /// Persistence (`-p`), if any.
    pub persistence: Option<Persistence>,
}

impl VirtualService {
    /// A service with scheduler `scheduler` and no persistence.
    pub fn new(key: ServiceKey, scheduler: SchedName) -> VirtualService {
        VirtualService { key, scheduler, persistence: None }
    }

    /// The same service with persistence.
    pub fn persistent(mut self, p: Persistence) -> VirtualService {
        self.persistence = Some(p);
        self
    }
}
