//! IP Virtual Server: the kernel's layer-4 load balancer (`net/netfilter/ipvs/`), as
//! kube-proxy's IPVS mode drives it and `ipvsadm` shows it.
//!
//! - [`service`]: virtual services (`ip_vs_ctl.c` `ip_vs_add_service`), keyed by protocol,
//!   address and port; found per packet by an ordered-map lookup (`ip_vs_service_find`).
//! - [`dest`]: real servers with their weight, forwarding method (Masq, Route, Tunnel) and
//!   the `activeconns`/`inactconns`/`persistconns` counters.
//! - [`sched`]: the eleven schedulers of `ip_vs_{rr,wrr,lc,wlc,lblc,lblcr,dh,sh,sed,nq,mh}.c`,
//!   each choosing as the kernel does over the kernel's destination-list order.
//! - [`conn`]: IPVS's connection table (`ip_vs_conn.c`) with its TCP state machine and
//!   timeouts (`ip_vs_proto_tcp.c`, `ip_vs_proto_udp.c`) and persistence templates
//!   (`ip_vs_sched_persist` in `ip_vs_core.c`).
//! - [`stats`]: per-service and per-server counters and the 2-second rate estimator
//!   (`ip_vs_est.c`).
//! - [`list`] and [`command`]: `ipvsadm` (`-A/-E/-D/-a/-e/-d/-C/--set/-L`) with its output
//!   formats (`print_service_entry`, `print_conn`) and error wording (`ipvs_strerror`).
//!
//! In the packet walk (`network/walk.rs`) IPVS sits where `ip_vs_ops` hooks it: at LOCAL_IN
//! after the INPUT chains (`ip_vs_reply4` then `ip_vs_remote_request4`), at LOCAL_OUT after
//! the OUTPUT chains (`ip_vs_local_reply4`, `ip_vs_local_request4`) and at FORWARD after the
//! FORWARD chains (`ip_vs_reply4`). [`Ipvs::packet_in`] is `ip_vs_in`: an existing
//! connection, or a new one scheduled (`tcp_conn_schedule`: only a SYN schedules; UDP always),
//! or — service but no usable real server — `ip_vs_leave`'s ICMP port unreachable and drop.
//! [`Ipvs::packet_out`] is `ip_vs_out`: a Masq reply's source is put back to the virtual
//! address. With `net.ipv4.vs.conntrack = 1` the walk makes the netfilter conntrack entry's
//! reply tuple point at the real server (`ip_vs_update_conntrack`), so POSTROUTING
//! MASQUERADE and the reply path work; with 0 the forwarded packet is untracked
//! (`ip_vs_notrack`).
//!
//! Where netsim departs from the kernel:
//! - No firewall-mark services, IPv6, one-packet scheduling, persistence engines,
//!   thresholds (so no OVERLOAD flag), scheduler flags (`-b`), connection sync, `fo`, `ovf`
//!   and `twos` schedulers.
//! - Tunnel (`-i`) forwards like Route: the wire model has no IPIP encapsulation. SCTP
//!   services schedule SCTP packets; their connections keep one state (`ipvsadm -Lnc`
//!   prints `NONE`), not the kernel's SCTP state machine (`ip_vs_proto_sctp.c`).
//! - A packet IPVS forwards passes the OUTPUT chains once more before POSTROUTING, as
//!   `ip_vs_nat_send_or_cont` re-enters LOCAL_OUT, but for a real server on the host itself
//!   it goes straight to local delivery (the kernel's `NF_ACCEPT` continues LOCAL_IN).
//! - ICMP errors from clients about IPVS connections (`ip_vs_in_icmp`) are not forwarded to
//!   the real server; errors from Masq real servers (`ip_vs_out_icmp`) are translated.
//! - A deleted real server's connections stay in the table until they expire and their
//!   packets are dropped silently (`expire_nodest_conn = 0`; with 1 the connection is expired
//!   at once and the packet still dropped); the server waits in the trash with its counters,
//!   and re-adding it restores it (`ip_vs_trash_get_dest`). The kernel also frees unused trash
//!   entries on a timer; here they go when their last connection does.
//! - An invalidated persistence template is removed at once (the kernel rehashes it with
//!   port 65535 and lets it expire).
//! - Listing order of `-Lnc` is creation order (the kernel prints hash-table order).
//! - lblc/lblcr forget unused entries when they are next looked up rather than from a
//!   periodic timer; the outcome is the same. The mh table has the kernel's default size,
//!   4093 (`CONFIG_IP_VS_MH_TAB_INDEX` = 12); other sizes are not configurable.
//! - `ipvsadm -L` without `-n` prints numerically too (no resolver), and the thresholds,
//!   `--persistent-conn` and daemon listings are not there.
//! - The estimator's ticks are phased from each service's or real server's creation, not
//!   from a global kthread schedule.
//!
//! The API is typed: [`Ipvs::add_service`], [`Ipvs::edit_service`], [`Ipvs::del_service`],
//! [`Ipvs::add_dest`], [`Ipvs::edit_dest`], [`Ipvs::del_dest`], [`Ipvs::clear`],
//! [`Ipvs::set_timeouts`], [`Ipvs::services`], [`Ipvs::conns`]; strings appear only in
//! [`Ipvs::command`]. Calls that create counters take `now` (the rate estimator's phase).

pub mod command;
pub mod conn;
pub mod dest;
pub mod list;
pub mod sched;
pub mod service;
pub mod stats;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

use sim_core::SimTime;

use crate::wire::{Icmp, Packet, TcpFlags, Transport};

pub use conn::{ConnId, ConnState, ConnTable, IpvsConn, PacketDir, TcpState, Timeouts};
pub use dest::{Dest, ForwardMethod, RealServer};
pub use sched::{DEFAULT_SCHEDULER, SchedName};
pub use service::{IpvsProto, Persistence, ServiceKey, VirtualService};
pub use stats::{Rates, Stats};

use sched::{SchedInput, SchedState};

/// The version `ipvsadm -L` reports (`IP_VS_VERSION_CODE` 0x010201).
pub const VERSION: &str = "1.2.1";
/// The connection hash table size `ipvsadm -L` reports (`ip_vs_conn_tab_size`, 2^12 by default).
pub const CONN_TAB_SIZE: u32 = 4096;

/// A virtual service with its real servers and scheduler state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// The configuration.
    pub config: VirtualService,
    /// Real servers in the kernel's list order (most recently added first).
    pub dests: Vec<Dest>,
    sched: SchedState,
    /// Traffic counters.
    pub stats: Stats,
}

impl Service {
    /// A real server by address.
    pub fn dest(&self, addr: SocketAddrV4) -> Option<&Dest> {
        self.dests.iter().find(|d| d.server.addr == addr)
    }
}

/// A failed IPVS operation, in `ipvs_strerror`'s words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IpvsError {
    /// `-A` of an existing service (EEXIST).
    #[error("Service already exists")]
    ServiceExists,
    /// `-E`/`-D`/`-L -t` of a missing service (ESRCH).
    #[error("No such service")]
    NoSuchService,
    /// `-a`/`-e`/`-d` on a missing service (ESRCH).
    #[error("Service not defined")]
    ServiceNotDefined,
    /// `-a` of an existing real server (EEXIST).
    #[error("Destination already exists")]
    DestExists,
    /// `-e`/`-d` of a missing real server (ENOENT).
    #[error("No such destination")]
    NoSuchDest,
}

/// The `net.ipv4.vs.*` sysctls packet handling reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpvsSysctls {
    /// `expire_nodest_conn` (default 0; kube-proxy sets 1).
    pub expire_nodest_conn: bool,
    /// `expire_quiescent_template` (default 0; kube-proxy sets 1): a persistence template
    /// pointing at a weight-0 server is dropped instead of used.
    pub expire_quiescent_template: bool,
}

/// Why IPVS dropped a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpvsDrop {
    /// A new connection to a service with no usable real server: `ip_vs_leave` answers
    /// ICMP port unreachable (for TCP too) and drops.
    NoDestination,
    /// A packet of a connection whose real server was deleted: dropped silently.
    DestUnavailable,
}

/// How a persistence template took part in scheduling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateUse {
    /// Not a persistent service.
    None,
    /// An existing template for the client network chose the server.
    Hit(Ipv4Addr),
    /// The scheduler chose and a template for the client network was created.
    Created(Ipv4Addr),
}

/// One IPVS step of a packet, for the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IpvsTrace {
    /// A new connection was scheduled.
    Scheduled {
        /// The service.
        service: ServiceKey,
        /// Its scheduler.
        sched: SchedName,
        /// The client.
        client: SocketAddrV4,
        /// The chosen real server.
        dest: SocketAddrV4,
        /// Forwarding method.
        method: ForwardMethod,
        /// Persistence.
        template: TemplateUse,
    },
    /// A packet of an existing connection.
    Existing {
        /// The service.
        service: ServiceKey,
        /// The client.
        client: SocketAddrV4,
        /// The real server.
        dest: SocketAddrV4,
        /// Forwarding method.
        method: ForwardMethod,
        /// The connection state after this packet.
        state: &'static str,
    },
    /// A Masq reply un-NATed back to the virtual address.
    Reply {
        /// The service.
        service: ServiceKey,
        /// The client.
        client: SocketAddrV4,
        /// The real server that sent it.
        dest: SocketAddrV4,
        /// The connection state after this packet.
        state: &'static str,
    },
    /// An ICMP error from a Masq real server about one of its connections, made to come
    /// from the virtual address and to quote the packet the client sent (`ip_vs_out_icmp`).
    IcmpReply {
        /// The service.
        service: ServiceKey,
        /// The client.
        client: SocketAddrV4,
        /// The real server the error is about.
        dest: SocketAddrV4,
    },
    /// Scheduling found no real server.
    NoDestination {
        /// The service.
        service: ServiceKey,
        /// Its scheduler.
        sched: SchedName,
    },
    /// The connection's real server is gone.
    DestUnavailable {
        /// The service.
        service: ServiceKey,
        /// The client.
        client: SocketAddrV4,
        /// The deleted real server.
        dest: SocketAddrV4,
    },
    /// A TCP segment without SYN for a service, with no connection: not scheduled.
    NotConnectionStart {
        /// The service.
        service: ServiceKey,
    },
    /// A virtual address of some service, but no service for this protocol and port.
    NoService {
        /// Protocol.
        proto: IpvsProto,
        /// Destination address and port.
        vaddr: SocketAddrV4,
    },
}

impl fmt::Display for IpvsTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpvsTrace::Scheduled { service, sched, client, dest, method, template } => {
                let (p, v) = (service.proto, service.vaddr());
                match template {
                    TemplateUse::Hit(net) => {
                        write!(f, "ipvs: {p} {v} persistence template {net} → {dest} ({method})")?
                    }
                    TemplateUse::Created(net) => write!(
                        f,
                        "ipvs: {p} {v} {sched} → {dest} ({method}), persistence template {net} created"
                    )?,
                    TemplateUse::None => write!(f, "ipvs: {p} {v} {sched} → {dest} ({method})")?,
                }
                write!(f, ", new connection from {client}")
            }
            IpvsTrace::Existing { service, client, dest, method, state } => write!(
                f,
                "ipvs: {} {client} → {} existing connection → {dest} ({method}), {state}",
                service.proto,
                service.vaddr()
            ),
            IpvsTrace::Reply { service, client, dest, state } => write!(
                f,
                "ipvs: reply {} {dest} → {client}, source rewritten to {}, {state}",
                service.proto,
                service.vaddr()
            ),
            IpvsTrace::IcmpReply { service, client, dest } => write!(
                f,
                "ipvs: ICMP error about {} {client} → {dest}, rewritten to come from and quote {}",
                service.proto,
                service.vaddr()
            ),
            IpvsTrace::NoDestination { service, sched } => write!(
                f,
                "ipvs: {} {} {sched}: no destination available; ICMP port unreachable sent, packet dropped",
                service.proto,
                service.vaddr()
            ),
            IpvsTrace::DestUnavailable { service, client, dest } => write!(
                f,
                "ipvs: {} {client} → {}: real server {dest} was deleted; packet dropped",
                service.proto,
                service.vaddr()
            ),
            IpvsTrace::NotConnectionStart { service } => write!(
                f,
                "ipvs: {} {}: no connection and not a SYN, not scheduled; to the local stack",
                service.proto,
                service.vaddr()
            ),
            IpvsTrace::NoService { proto, vaddr } => {
                write!(f, "ipvs: no virtual service {proto} {vaddr}; to the local stack")
            }
        }
    }
}

/// What [`Ipvs::packet_in`] decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InVerdict {
    /// Not IPVS's: continue as if IPVS were not there (`NF_ACCEPT`).
    Accept,
    /// Forward to a real server (`NF_STOLEN` after the xmit function). For Masq the packet's
    /// destination has been rewritten; for Route/Tunnel it is unchanged and goes to `dest` as
    /// next hop.
    Forward {
        /// The real server.
        dest: SocketAddrV4,
        /// How.
        method: ForwardMethod,
        /// A connection created by this packet.
        new_conn: bool,
    },
    /// Dropped (`NF_DROP`).
    Drop(IpvsDrop),
}

/// The IPVS state of one network namespace. Empty by default: then every packet is
/// [`InVerdict::Accept`]ed without a lookup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ipvs {
    services: BTreeMap<ServiceKey, Service>,
    vips: BTreeMap<Ipv4Addr, usize>,
    conns: ConnTable,
    timeouts: Timeouts,
    /// Deleted real servers that still have connections (`ipvs->dest_trash`): their counters
    /// keep counting down, and `ipvsadm -a` of the same server brings one back as it was.
    trash: BTreeMap<(ServiceKey, SocketAddrV4), Dest>,
}

fn tcp_flags(pkt: &Packet) -> Option<TcpFlags> {
    match pkt.transport {
        Transport::Tcp { flags, .. } => Some(flags),
        _ => None,
    }
}

impl Ipvs {
    /// True when no service is configured and no connection is left.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && self.conns.is_empty()
    }

    /// The services in `ipvsadm -L` order.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.values()
    }

    /// A service.
    pub fn service(&self, key: &ServiceKey) -> Option<&Service> {
        self.services.get(key)
    }

    /// True if some service has virtual address `a`.
    pub fn has_vip(&self, a: Ipv4Addr) -> bool {
        self.vips.contains_key(&a)
    }

    /// The connection table.
    pub fn conns(&self) -> &ConnTable {
        &self.conns
    }

    /// The connection a packet IPVS has handled belongs to, as `xt_ipvs` finds it:
    /// `conn_out_get` on the packet's addresses taken the other way round
    /// (`ip_vs_fill_iph_skb(.., inverse = true, ..)`), i.e. the Masq connection whose client
    /// is the packet's source and whose real server is its destination — a client → real
    /// server packet after IPVS rewrote it. Only Masq connections are found (the table keys
    /// only those by real server; kube-proxy uses no other method).
    pub fn conn_of_forwarded(&self, pkt: &Packet) -> Option<&IpvsConn> {
        let (proto, sport, dport) = IpvsProto::of_packet(pkt)?;
        let id = self.conns.out_get(
            proto,
            SocketAddrV4::new(pkt.dst, dport),
            SocketAddrV4::new(pkt.src, sport),
        )?;
        self.conns.get(id)
    }

    /// The connection timeouts.
    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// `ipvsadm --set TCP TCPFIN UDP`: a 0 leaves that timeout unchanged.
    pub fn set_timeouts(&mut self, tcp: u64, tcpfin: u64, udp: u64) {
        if tcp > 0 {
            self.timeouts.tcp[1] = tcp;
        }
        if tcpfin > 0 {
            self.timeouts.tcp[4] = tcpfin;
        }
        if udp > 0 {
            self.timeouts.udp = udp;
        }
    }

    /// `ipvsadm -A`.
    pub fn add_service(&mut self, svc: VirtualService, now: SimTime) -> Result<(), IpvsError> {
        if self.services.contains_key(&svc.key) {
            return Err(IpvsError::ServiceExists);
        }
        *self.vips.entry(svc.key.addr).or_insert(0) += 1;
        let sched = SchedState::new(svc.scheduler, &[]);
        self.services.insert(svc.key, Service { config: svc, dests: vec![], sched, stats: Stats::new(now) });
        Ok(())
    }

    /// `ipvsadm -E`: a new scheduler starts with fresh state (`ip_vs_edit_service` binds the
    /// new scheduler, whose `init_service` sees the current servers).
    pub fn edit_service(&mut self, svc: VirtualService) -> Result<(), IpvsError> {
        let s = self.services.get_mut(&svc.key).ok_or(IpvsError::NoSuchService)?;
        if s.config.scheduler != svc.scheduler {
            s.sched = SchedState::new(svc.scheduler, &s.dests);
        }
        s.config = svc;
        Ok(())
    }

    /// `ipvsadm -D`: the service goes; its connections stay in the table until they expire
    /// (their packets are dropped), their real servers in the trash.
    pub fn del_service(&mut self, key: &ServiceKey) -> Result<(), IpvsError> {
        let s = self.services.remove(key).ok_or(IpvsError::NoSuchService)?;
        if let Some(n) = self.vips.get_mut(&key.addr) {
            *n -= 1;
            if *n == 0 {
                self.vips.remove(&key.addr);
            }
        }
        for d in s.dests {
            self.trash_dest(*key, d);
        }
        Ok(())
    }

    /// `ipvsadm -C`: every service, as `-D` each.
    pub fn clear(&mut self) {
        let keys: Vec<ServiceKey> = self.services.keys().copied().collect();
        for k in keys {
            let _ = self.del_service(&k);
        }
    }

    fn trash_dest(&mut self, key: ServiceKey, d: Dest) {
        if d.active_conns + d.inact_conns + d.persist_conns > 0 {
            self.trash.insert((key, d.server.addr), d);
        }
    }

    /// `ipvsadm -a`: linked at the head of the destination list.
    pub fn add_dest(&mut self, key: &ServiceKey, server: RealServer, now: SimTime) -> Result<(), IpvsError> {
        let s = self.services.get_mut(key).ok_or(IpvsError::ServiceNotDefined)?;
        if s.dest(server.addr).is_some() {
            return Err(IpvsError::DestExists);
        }
        // ip_vs_trash_get_dest: a deleted server with live connections comes back with its
        // counters and statistics.
        let d = match self.trash.remove(&(*key, server.addr)) {
            Some(mut d) => {
                d.server = server;
                d.last_weight = server.weight;
                d
            }
            None => Dest::new(server, Stats::new(now)),
        };
        s.dests.insert(0, d);
        s.sched.changed(&s.dests);
        Ok(())
    }

    /// `ipvsadm -e`: weight and forwarding method.
    pub fn edit_dest(&mut self, key: &ServiceKey, server: RealServer) -> Result<(), IpvsError> {
        let s = self.services.get_mut(key).ok_or(IpvsError::ServiceNotDefined)?;
        let d = s.dests.iter_mut().find(|d| d.server.addr == server.addr).ok_or(IpvsError::NoSuchDest)?;
        d.server = server;
        if server.weight > 0 {
            d.last_weight = server.weight;
        }
        s.sched.changed(&s.dests);
        Ok(())
    }

    /// `ipvsadm -d`. Its connections stay until they expire (their packets are dropped).
    pub fn del_dest(&mut self, key: &ServiceKey, addr: SocketAddrV4) -> Result<(), IpvsError> {
        let s = self.services.get_mut(key).ok_or(IpvsError::ServiceNotDefined)?;
        let i = s.dests.iter().position(|d| d.server.addr == addr).ok_or(IpvsError::NoSuchDest)?;
        s.sched.before_del(&s.dests, i);
        let d = s.dests.remove(i);
        s.sched.changed(&s.dests);
        self.trash_dest(*key, d);
        Ok(())
    }

    /// Expires connections due by `now`, keeping the counters right.
    pub fn expire(&mut self, now: SimTime) {
        while let Some(c) = self.conns.pop_expired(now) {
            self.unbind(&c);
        }
    }

    /// `ip_vs_unbind_dest` and `ip_vs_control_del` for a connection leaving the table.
    fn unbind(&mut self, c: &IpvsConn) {
        let live = self
            .services
            .get_mut(&c.service)
            .and_then(|s| s.dests.iter_mut().find(|d| d.server.addr == c.dest));
        let trashed = live.is_none();
        if let Some(d) = live.or_else(|| self.trash.get_mut(&(c.service, c.dest))) {
            if c.template {
                d.persist_conns = d.persist_conns.saturating_sub(1);
            } else if c.inactive {
                d.inact_conns = d.inact_conns.saturating_sub(1);
            } else {
                d.active_conns = d.active_conns.saturating_sub(1);
            }
            if trashed && d.active_conns + d.inact_conns + d.persist_conns == 0 {
                // ip_vs_dest_trash_expire: nothing refers to it any more.
                self.trash.remove(&(c.service, c.dest));
            }
        }
        if let Some(t) = c.control {
            self.conns.update(t, |t| t.n_control = t.n_control.saturating_sub(1));
        }
    }

    fn remove_conn(&mut self, id: ConnId) {
        if let Some(c) = self.conns.remove(id) {
            self.unbind(&c);
        }
    }

    /// Moves a connection to its next state for `pkt` going `dir`, with the counter moves
    /// of `set_tcp_state` and the timeout of the new state; returns the state name.
    fn transition(&mut self, id: ConnId, dir: PacketDir, pkt: &Packet, now: SimTime) -> &'static str {
        let timeouts = self.timeouts;
        let flags = tcp_flags(pkt);
        let Some((moved, c)) = self.conns.update(id, |c| {
            let before = c.inactive;
            match (c.state, flags) {
                (ConnState::Tcp(s), Some(fl)) => {
                    let input_only = c.method != ForwardMethod::Masq;
                    let new = conn::tcp_transition(s, dir, input_only, fl);
                    if new != s {
                        if !c.inactive && new != TcpState::Established {
                            c.inactive = true;
                        } else if c.inactive && new == TcpState::Established {
                            c.inactive = false;
                        }
                    }
                    c.state = ConnState::Tcp(new);
                    c.timeout = timeouts.tcp_state(new);
                }
                _ => c.timeout = sim_core::SimDuration::from_secs(timeouts.udp),
            }
            c.expires = now + c.timeout;
            (before != c.inactive, c.clone())
        }) else {
            return "NONE";
        };
        let live = self
            .services
            .get_mut(&c.service)
            .and_then(|s| s.dests.iter_mut().find(|d| d.server.addr == c.dest));
        if moved && let Some(d) = live.or_else(|| self.trash.get_mut(&(c.service, c.dest))) {
            if c.inactive {
                d.active_conns = d.active_conns.saturating_sub(1);
                d.inact_conns += 1;
            } else {
                d.inact_conns = d.inact_conns.saturating_sub(1);
                d.active_conns += 1;
            }
        }
        c.state_name()
    }

    fn count_in(&mut self, svc: &ServiceKey, dest: SocketAddrV4, now: SimTime, bytes: u64) {
        if let Some(s) = self.services.get_mut(svc) {
            s.stats.count_in(now, bytes);
            if let Some(d) = s.dests.iter_mut().find(|d| d.server.addr == dest) {
                d.stats.count_in(now, bytes);
            }
        }
    }

    /// `ip_vs_in` for a packet at LOCAL_IN or LOCAL_OUT. For a Masq connection the packet's
    /// destination is rewritten to the real server.
    pub fn packet_in(
        &mut self,
        now: SimTime,
        pkt: &mut Packet,
        sysctl: IpvsSysctls,
    ) -> (InVerdict, Option<IpvsTrace>) {
        if self.is_empty() {
            return (InVerdict::Accept, None);
        }
        self.expire(now);
        let Some((proto, sport, dport)) = IpvsProto::of_packet(pkt) else { return (InVerdict::Accept, None) };
        let client = SocketAddrV4::new(pkt.src, sport);
        let vaddr = SocketAddrV4::new(pkt.dst, dport);
        let flags = tcp_flags(pkt);
        let is_syn = flags.is_some_and(|f| f.contains(TcpFlags::SYN));
        if let Some(id) = self.conns.in_get(proto, client, vaddr) {
            let reuse = is_syn
                && !flags.is_some_and(|f| f.contains(TcpFlags::ACK))
                && self.conns.get(id).is_some_and(|c| c.state == ConnState::Tcp(TcpState::TimeWait));
            if reuse {
                // conn_reuse_mode 1: a new SYN on a TIME_WAIT connection expires it and is
                // scheduled afresh.
                self.remove_conn(id);
            } else {
                return self.existing(id, now, pkt, sysctl);
            }
        }
        let key = ServiceKey { proto, addr: pkt.dst, port: dport };
        if !self.services.contains_key(&key) {
            let trace = self.has_vip(pkt.dst).then_some(IpvsTrace::NoService { proto, vaddr });
            return (InVerdict::Accept, trace);
        }
        if flags.is_some() && !is_syn {
            return (InVerdict::Accept, Some(IpvsTrace::NotConnectionStart { service: key }));
        }
        self.schedule(key, now, pkt, sysctl)
    }

    fn existing(
        &mut self,
        id: ConnId,
        now: SimTime,
        pkt: &mut Packet,
        sysctl: IpvsSysctls,
    ) -> (InVerdict, Option<IpvsTrace>) {
        let Some(c) = self.conns.get(id).cloned() else { return (InVerdict::Accept, None) };
        let alive = self.services.get(&c.service).and_then(|s| s.dest(c.dest)).is_some();
        if !alive {
            if sysctl.expire_nodest_conn {
                self.remove_conn(id);
            }
            let t = IpvsTrace::DestUnavailable { service: c.service, client: c.client, dest: c.dest };
            return (InVerdict::Drop(IpvsDrop::DestUnavailable), Some(t));
        }
        let state = self.transition(id, PacketDir::Input, pkt, now);
        self.count_in(&c.service, c.dest, now, pkt.len());
        if c.method == ForwardMethod::Masq {
            rewrite_dst(pkt, c.dest);
        }
        let t = IpvsTrace::Existing {
            service: c.service,
            client: c.client,
            dest: c.dest,
            method: c.method,
            state,
        };
        (InVerdict::Forward { dest: c.dest, method: c.method, new_conn: false }, Some(t))
    }

    fn schedule(
        &mut self,
        key: ServiceKey,
        now: SimTime,
        pkt: &mut Packet,
        sysctl: IpvsSysctls,
    ) -> (InVerdict, Option<IpvsTrace>) {
        let Some((proto, sport, dport)) = IpvsProto::of_packet(pkt) else { return (InVerdict::Accept, None) };
        let client = SocketAddrV4::new(pkt.src, sport);
        let vaddr = SocketAddrV4::new(pkt.dst, dport);
        let Some(svc) = self.services.get(&key) else { return (InVerdict::Accept, None) };
        let sched_name = svc.config.scheduler;
        let persistence = svc.config.persistence;
        let no_dest = (
            InVerdict::Drop(IpvsDrop::NoDestination),
            Some(IpvsTrace::NoDestination { service: key, sched: sched_name }),
        );
        // Persistence: a live template for the client network decides.
        let mut template: Option<ConnId> = None;
        let mut chosen: Option<SocketAddrV4> = None;
        let mut used = TemplateUse::None;
        if let Some(p) = persistence {
            let net = p.client_net(pkt.src);
            if let Some(t) = self.conns.in_get(proto, SocketAddrV4::new(net, 0), vaddr) {
                let valid = self.conns.get(t).is_some_and(|tc| {
                    svc.dest(tc.dest)
                        .is_some_and(|d| !(sysctl.expire_quiescent_template && d.server.weight == 0))
                });
                if valid {
                    template = Some(t);
                    chosen = self.conns.get(t).map(|tc| tc.dest);
                    used = TemplateUse::Hit(net);
                } else {
                    self.remove_conn(t);
                }
            }
        }
        let Some(svc) = self.services.get_mut(&key) else { return (InVerdict::Accept, None) };
        let dest_addr = match chosen {
            Some(a) => a,
            None => {
                let input = SchedInput { saddr: pkt.src, daddr: pkt.dst, now };
                let Some(i) = svc.sched.schedule(&svc.dests, &input) else { return no_dest };
                svc.dests[i].server.addr
            }
        };
        let Some(d) = svc.dests.iter_mut().find(|d| d.server.addr == dest_addr) else { return no_dest };
        let method = d.server.method;
        let persist_timeout = persistence.map(|p| sim_core::SimDuration::from_secs(u64::from(p.timeout)));
        if let (Some(p), None, Some(timeout)) = (persistence, template, persist_timeout) {
            let net = p.client_net(pkt.src);
            d.persist_conns += 1;
            let t = IpvsConn {
                id: ConnId(0),
                proto,
                client: SocketAddrV4::new(net, 0),
                vaddr,
                dest: dest_addr,
                service: key,
                method,
                state: if proto == IpvsProto::Tcp { ConnState::Tcp(TcpState::None) } else { ConnState::Udp },
                template: true,
                inactive: false,
                control: None,
                n_control: 0,
                timeout,
                expires: now + timeout,
            };
            template = Some(self.conns.insert(t));
            used = TemplateUse::Created(net);
        }
        let Some(svc) = self.services.get_mut(&key) else { return (InVerdict::Accept, None) };
        let Some(d) = svc.dests.iter_mut().find(|d| d.server.addr == dest_addr) else { return no_dest };
        // New connections start INACTIVE (`IP_VS_CONN_F_INACTIVE` in the dest's conn_flags).
        d.inact_conns += 1;
        d.stats.count_conn(now);
        svc.stats.count_conn(now);
        let c = IpvsConn {
            id: ConnId(0),
            proto,
            client,
            vaddr,
            dest: dest_addr,
            service: key,
            method,
            state: match proto {
                IpvsProto::Tcp => ConnState::Tcp(TcpState::None),
                IpvsProto::Udp => ConnState::Udp,
                IpvsProto::Sctp => ConnState::Sctp,
            },
            template: false,
            inactive: true,
            control: template,
            n_control: 0,
            timeout: sim_core::SimDuration::from_secs(3),
            expires: now + sim_core::SimDuration::from_secs(3),
        };
        let id = self.conns.insert(c);
        if let Some(t) = template {
            // The template controls one more connection and its timer restarts with its own
            // timeout (`ip_vs_conn_put`): the persistence timeout, or 60 s once it has been
            // kept alive by `expire_later`.
            self.conns.update(t, |t| {
                t.n_control += 1;
                t.expires = now + t.timeout;
            });
        }
        self.transition(id, PacketDir::Input, pkt, now);
        self.count_in(&key, dest_addr, now, pkt.len());
        if method == ForwardMethod::Masq {
            rewrite_dst(pkt, dest_addr);
        }
        let t = IpvsTrace::Scheduled {
            service: key,
            sched: sched_name,
            client,
            dest: dest_addr,
            method,
            template: used,
        };
        (InVerdict::Forward { dest: dest_addr, method, new_conn: true }, Some(t))
    }

    /// `ip_vs_out` for a packet at FORWARD, LOCAL_IN or LOCAL_OUT: a reply from a Masq real
    /// server gets the virtual address and port back as its source.
    pub fn packet_out(&mut self, now: SimTime, pkt: &mut Packet) -> Option<IpvsTrace> {
        if self.conns.is_empty() {
            return None;
        }
        if let Transport::Icmp(Icmp::DestUnreachable { .. } | Icmp::TimeExceeded { .. }) = pkt.transport {
            return self.icmp_out(now, pkt);
        }
        let (proto, sport, dport) = IpvsProto::of_packet(pkt)?;
        let id = self.conns.out_get(
            proto,
            SocketAddrV4::new(pkt.src, sport),
            SocketAddrV4::new(pkt.dst, dport),
        )?;
        let c = self.conns.get(id)?.clone();
        if c.expires <= now {
            self.expire(now);
            return None;
        }
        let state = self.transition(id, PacketDir::Output, pkt, now);
        let bytes = pkt.len();
        if let Some(s) = self.services.get_mut(&c.service) {
            s.stats.count_out(now, bytes);
            if let Some(d) = s.dests.iter_mut().find(|d| d.server.addr == c.dest) {
                d.stats.count_out(now, bytes);
            }
        }
        pkt.src = *c.vaddr.ip();
        if let Some((_, d)) = pkt.transport.ports() {
            pkt.transport.set_ports(c.vaddr.port(), d);
        }
        Some(IpvsTrace::Reply { service: c.service, client: c.client, dest: c.dest, state })
    }

    /// `ip_vs_out_icmp`: an ICMP error quoting a client → real server packet of a Masq
    /// connection gets the virtual address as its source, and the quoted packet the virtual
    /// address and port as its destination (`ip_vs_nat_icmp`).
    fn icmp_out(&mut self, now: SimTime, pkt: &mut Packet) -> Option<IpvsTrace> {
        let Transport::Icmp(Icmp::DestUnreachable { original, .. } | Icmp::TimeExceeded { original }) =
            &mut pkt.transport
        else {
            return None;
        };
        let (proto, sport, dport) = IpvsProto::of_packet(original)?;
        let id = self.conns.out_get(
            proto,
            SocketAddrV4::new(original.dst, dport),
            SocketAddrV4::new(original.src, sport),
        )?;
        let c = self.conns.get(id)?.clone();
        if c.expires <= now {
            return None;
        }
        original.dst = *c.vaddr.ip();
        original.transport.set_ports(sport, c.vaddr.port());
        pkt.src = *c.vaddr.ip();
        Some(IpvsTrace::IcmpReply { service: c.service, client: c.client, dest: c.dest })
    }

    /// `ipvsadm -Z`: zero every counter.
    pub fn zero(&mut self, now: SimTime) {
        for s in self.services.values_mut() {
            s.stats.zero(now);
            for d in &mut s.dests {
                d.stats.zero(now);
            }
        }
    }

    pub(crate) fn services_mut(&mut self) -> impl Iterator<Item = &mut Service> {
        self.services.values_mut()
    }

    pub(crate) fn service_mut(&mut self, key: &ServiceKey) -> Option<&mut Service> {
        self.services.get_mut(key)
    }
}

/// `tcp_dnat_handler` / `udp_dnat_handler`: the destination becomes the real server.
fn rewrite_dst(pkt: &mut Packet, dest: SocketAddrV4) {
    pkt.dst = *dest.ip();
    if let Some((s, _)) = pkt.transport.ports() {
        pkt.transport.set_ports(s, dest.port());
    }
}

#[cfg(test)]
mod tests {
    use sim_core::SimDuration;

    use super::*;

    const VIP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 1);

    fn at(secs: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(secs)
    }

    fn tcp(sport: u16, flags: TcpFlags) -> Packet {
        Packet::tcp(Ipv4Addr::new(10, 0, 0, 1), sport, VIP, 443, flags)
    }

    fn one_server(persistence: Option<Persistence>) -> (Ipvs, ServiceKey, SocketAddrV4) {
        let mut v = Ipvs::default();
        let key = ServiceKey::tcp(VIP, 443);
        let mut svc = VirtualService::new(key, SchedName::Rr);
        svc.persistence = persistence;
        let rs = SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, 11), 6443);
        assert_eq!(v.add_service(svc, at(0)), Ok(()));
        assert_eq!(v.add_dest(&key, RealServer::masq(rs, 1), at(0)), Ok(()));
        (v, key, rs)
    }

    /// (active, inactive, persistent) of the service's first real server.
    fn counters(v: &Ipvs, key: &ServiceKey) -> (u32, u32, u32) {
        let d = v.service(key).and_then(|s| s.dests.first());
        d.map_or((9, 9, 9), |d| (d.active_conns, d.inact_conns, d.persist_conns))
    }

    #[test]
    fn counters_follow_the_tcp_states_and_expiry() {
        let (mut v, key, rs) = one_server(None);
        let sys = IpvsSysctls::default();
        let mut syn = tcp(40000, TcpFlags::SYN);
        assert_eq!(
            v.packet_in(at(0), &mut syn, sys).0,
            InVerdict::Forward { dest: rs, method: ForwardMethod::Masq, new_conn: true }
        );
        assert_eq!((syn.dst, syn.transport.ports()), (*rs.ip(), Some((40000, 6443))));
        // New connections start inactive; SYN_RECV keeps them there.
        assert_eq!(counters(&v, &key), (0, 1, 0));
        let mut synack =
            Packet::tcp(*rs.ip(), 6443, Ipv4Addr::new(10, 0, 0, 1), 40000, TcpFlags::SYN.with(TcpFlags::ACK));
        assert!(v.packet_out(at(0), &mut synack).is_some());
        assert_eq!((synack.src, synack.transport.ports()), (VIP, Some((443, 40000))));
        v.packet_in(at(0), &mut tcp(40000, TcpFlags::ACK), sys);
        assert_eq!(counters(&v, &key), (1, 0, 0));
        assert!(
            v.list_conns(at(0))
                .contains("TCP 15:00  ESTABLISHED 10.0.0.1:40000     10.96.0.1:443      10.1.0.11:6443\n")
        );
        // Client FIN: CLOSE_WAIT (60 s), inactive again.
        v.packet_in(at(10), &mut tcp(40000, TcpFlags::FIN.with(TcpFlags::ACK)), sys);
        assert_eq!(counters(&v, &key), (0, 1, 0));
        assert!(v.list_conns(at(11)).contains("TCP 00:59  CLOSE_WAIT"));
        v.expire(at(70));
        assert_eq!(counters(&v, &key), (0, 0, 0));
        assert!(v.conns().is_empty());
        // A non-SYN segment without a connection is not scheduled.
        let (verdict, trace) = v.packet_in(at(71), &mut tcp(40001, TcpFlags::ACK), sys);
        assert_eq!(verdict, InVerdict::Accept);
        assert_eq!(trace, Some(IpvsTrace::NotConnectionStart { service: key }));
    }

    #[test]
    fn udp_flows_are_inactive_for_the_udp_timeout_and_set_changes_it() {
        let mut v = Ipvs::default();
        let key = ServiceKey::udp(VIP, 53);
        v.add_service(VirtualService::new(key, SchedName::Rr), at(0)).unwrap_or_default();
        let rs = SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, 11), 53);
        v.add_dest(&key, RealServer::masq(rs, 1), at(0)).unwrap_or_default();
        let q = || Packet::udp(Ipv4Addr::new(10, 0, 0, 1), 41000, VIP, 53);
        v.packet_in(at(0), &mut q(), IpvsSysctls::default());
        assert_eq!(counters(&v, &key), (0, 1, 0));
        assert!(v.list_conns(at(0)).contains("UDP 05:00  UDP         10.0.0.1:41000"));
        v.expire(at(299));
        assert_eq!(v.conns().len(), 1);
        v.expire(at(300));
        assert!(v.conns().is_empty());
        assert_eq!(v.command(&["--set", "0", "0", "10"], at(300)), Ok(String::new()));
        v.packet_in(at(300), &mut q(), IpvsSysctls::default());
        assert!(v.list_conns(at(300)).contains("UDP 00:10  UDP "));
    }

    #[test]
    fn a_template_lives_while_it_controls_connections() {
        let (mut v, key, rs) = one_server(Some(Persistence::new(10)));
        let sys = IpvsSysctls::default();
        v.packet_in(at(0), &mut tcp(40000, TcpFlags::SYN), sys);
        v.packet_in(at(0), &mut tcp(40000, TcpFlags::ACK), sys);
        assert_eq!(counters(&v, &key), (1, 0, 1));
        // 10 s persistence, but the established connection (900 s) keeps it alive.
        v.expire(at(100));
        assert_eq!(v.conns().len(), 2);
        // It was re-armed for 60 s at 10 s and again at 70 s.
        assert!(v.list_conns(at(100)).contains("TCP 00:30  NONE        10.0.0.1:0"));
        // A second connection from the same client reuses the template, whose timer restarts
        // with the template's own timeout, now 60 s.
        let (_, t) = v.packet_in(at(100), &mut tcp(40001, TcpFlags::SYN), sys);
        assert!(
            matches!(t, Some(IpvsTrace::Scheduled { template: TemplateUse::Hit(_), dest, .. }) if dest == rs)
        );
        assert!(v.list_conns(at(100)).contains("TCP 01:00  NONE        10.0.0.1:0"));
        // Both connections gone: the template expires at its next deadline.
        v.expire(at(2000));
        assert!(v.conns().is_empty());
        assert_eq!(counters(&v, &key), (0, 0, 0));
    }

    /// A service with real servers 10.1.0.1, .2, .3 (port 6443) added in that order with
    /// `weights`; the kernel links each new one at the head, so the list is .3, .2, .1.
    fn three(sched: SchedName, weights: [u32; 3]) -> Ipvs {
        let mut v = Ipvs::default();
        let key = ServiceKey::tcp(VIP, 443);
        v.add_service(VirtualService::new(key, sched), at(0)).unwrap_or_default();
        for (i, w) in weights.iter().enumerate() {
            let rs = SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, i as u8 + 1), 6443);
            v.add_dest(&key, RealServer::masq(rs, *w), at(0)).unwrap_or_default();
        }
        v
    }

    /// The last octet of the server each of `n` new connections (from ports `base`..) goes to.
    fn picks_from(v: &mut Ipvs, base: u16, n: u16) -> Vec<u8> {
        (0..n)
            .map(|i| match v.packet_in(at(0), &mut tcp(base + i, TcpFlags::SYN), IpvsSysctls::default()).0 {
                InVerdict::Forward { dest, .. } => dest.ip().octets()[3],
                _ => 0,
            })
            .collect()
    }

    fn picks(v: &mut Ipvs, n: u16) -> Vec<u8> {
        picks_from(v, 30000, n)
    }

    #[test]
    fn rr_rotates_newest_first_as_the_kernel_list_is_ordered() {
        let mut v = three(SchedName::Rr, [1, 1, 1]);
        assert_eq!(picks(&mut v, 7), [3, 2, 1, 3, 2, 1, 3]);
    }

    #[test]
    fn wrr_4_3_2_gives_the_kernels_sequence() {
        // .1 weight 4, .2 weight 3, .3 weight 2; list .3, .2, .1. After the three adds
        // ip_vs_wrr_dest_changed has left cw = 1 (set to mw = 1 when .1 alone was there), so
        // the first pass takes everyone once; then full cycles cw = 4, 3, 2, 1:
        // .1 | .2 .1 | .3 .2 .1 | .3 .2 .1.
        let mut v = three(SchedName::Wrr, [4, 3, 2]);
        assert_eq!(picks(&mut v, 21), [3, 2, 1, 1, 2, 1, 3, 2, 1, 3, 2, 1, 1, 2, 1, 3, 2, 1, 3, 2, 1]);
    }

    #[test]
    fn wlc_follows_the_counters_and_a_quiescent_server_keeps_its_connections() {
        let mut v = three(SchedName::Wlc, [1, 1, 2]);
        // All idle: the first in the list (.3). Each new connection is inactive (overhead 1).
        assert_eq!(picks(&mut v, 4), [3, 2, 1, 3]);
        // Quiesce .3: its SYN_RECV connections still forward, new ones avoid it.
        let key = ServiceKey::tcp(VIP, 443);
        let rs3 = SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, 3), 6443);
        assert_eq!(v.edit_dest(&key, RealServer::masq(rs3, 0)), Ok(()));
        let (verdict, _) = v.packet_in(at(1), &mut tcp(30000, TcpFlags::ACK), IpvsSysctls::default());
        assert_eq!(verdict, InVerdict::Forward { dest: rs3, method: ForwardMethod::Masq, new_conn: false });
        assert!(picks_from(&mut v, 31000, 6).iter().all(|o| *o != 3));
    }

    #[test]
    fn a_deleted_server_waits_in_the_trash_and_comes_back_with_its_counters() {
        let (mut v, key, rs) = one_server(None);
        let sys = IpvsSysctls::default();
        v.packet_in(at(0), &mut tcp(40000, TcpFlags::SYN), sys);
        v.packet_in(at(0), &mut tcp(40000, TcpFlags::ACK), sys);
        assert_eq!(v.del_dest(&key, rs), Ok(()));
        let (verdict, _) = v.packet_in(at(1), &mut tcp(40000, TcpFlags::ACK), sys);
        assert_eq!(verdict, InVerdict::Drop(IpvsDrop::DestUnavailable));
        assert_eq!(v.add_dest(&key, RealServer::masq(rs, 1), at(2)), Ok(()));
        assert_eq!(counters(&v, &key), (1, 0, 0));
        let (verdict, _) = v.packet_in(at(3), &mut tcp(40000, TcpFlags::ACK), sys);
        assert_eq!(verdict, InVerdict::Forward { dest: rs, method: ForwardMethod::Masq, new_conn: false });
        // Deleted again, the last connection's expiry empties the trash.
        assert_eq!(v.del_dest(&key, rs), Ok(()));
        v.expire(at(1000));
        assert_eq!(v.add_dest(&key, RealServer::masq(rs, 1), at(1000)), Ok(()));
        assert_eq!(counters(&v, &key), (0, 0, 0));
    }

    #[test]
    fn ten_thousand_services_are_found_by_key() {
        let mut v = Ipvs::default();
        for i in 0..10_000u32 {
            let addr = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 96, 0, 0)) + i);
            let key = ServiceKey::tcp(addr, 80);
            v.add_service(VirtualService::new(key, SchedName::Rr), at(0)).unwrap_or_default();
            let rs = SocketAddrV4::new(Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 244, 0, 0)) + i), 8080);
            v.add_dest(&key, RealServer::masq(rs, 1), at(0)).unwrap_or_default();
        }
        // The lookup is a BTreeMap search (O(log n)), never a scan of the services.
        let mut p = Packet::tcp(
            Ipv4Addr::new(192, 168, 0, 1),
            40000,
            Ipv4Addr::new(10, 96, 39, 15),
            80,
            TcpFlags::SYN,
        );
        let (verdict, _) = v.packet_in(at(0), &mut p, IpvsSysctls::default());
        let want = SocketAddrV4::new(Ipv4Addr::new(10, 244, 39, 15), 8080);
        assert_eq!(verdict, InVerdict::Forward { dest: want, method: ForwardMethod::Masq, new_conn: true });
    }

    #[test]
    fn rate_listing_shape() {
        let (mut v, _, _) = one_server(None);
        // 100 connections (40-byte SYNs) in the first 2 s: 50/s and 2000 B/s, of which the
        // first tick keeps a quarter: (100 << 9 >> 2 + 0x1FF) >> 10 = 12, (4000 << 4 >> 2 + 0xF) >> 5 = 500.
        for i in 0..100 {
            v.packet_in(at(0), &mut tcp(40000 + i, TcpFlags::SYN), IpvsSysctls::default());
        }
        let out = v.command(&["-Ln", "--rate"], at(2)).unwrap_or_default();
        assert_eq!(
            out,
            "IP Virtual Server version 1.2.1 (size=4096)\n\
             Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n  -> RemoteAddress:Port\n\
             TCP  10.96.0.1:443                      12       12        0      500        0\n  -> 10.1.0.11:6443                     12       12        0      500        0\n"
        );
    }
}
crate::impl_empty!(Ipvs);
