//! The network: hosts (namespaces), the links between them (veth pairs, L2 segments), and
//! packets moving through them as events in simulated time.
//!
//! A packet's walk through one host follows the kernel's IPv4 paths
//! (`ip_rcv` → `ip_route_input` → `ip_local_deliver` / `ip_forward` → `ip_output`;
//! `ip_local_out` for locally generated packets; `br_handle_frame` with br_netfilter for
//! bridged frames): conntrack classification, the netfilter hooks (via
//! [`crate::netfilter::Netfilter::run_hook`]), NAT from the conntrack entry, routing
//! (re-decided after DNAT), TTL, neighbour resolution, transmission after the link's latency.
//! Every packet gets a [`PacketId`] and ends with exactly one [`Disposition`]; every step is
//! pushed as a [`NetTrace`] record when tracing is on.
//!
//! A network partition is a set of cut host pairs ([`Network::cut`]): a frame one of them sends
//! the other over an L2 segment is lost on the wire ([`Disposition::Partitioned`]); neighbour
//! resolution still succeeds (the neighbour entry was cached before the cut).
//!
//! Left out: MTU/fragmentation, queueing and loss, ARP as packets (resolution is by IP and
//! instantaneous; a failure answers after the kernel's 3 s), IPv6, policy routing.

pub mod conversation;
pub mod icmp_rate;
pub mod render;
pub mod trace;
mod walk;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use indexmap::IndexMap;
use ipnet::Ipv4Net;
use sim_core::{Scheduler, SimDuration, SimRng, SimTime, Simulation, VecSink, World};

use crate::capture::{Capture, CaptureId, CaptureSpec, PrintOptions};
use crate::host::{Host, HostError};
use crate::iface::{HostId, Iface, IfaceKind, IfaceRef, SegmentId};
use crate::socket::{AddrInUse, Application, SockProto};
use crate::wire::Packet;

pub use conversation::{ConvProto, Conversation, ConversationSpec, KeepAlive, Outcome, ServedBy};
pub use render::render_trace;
pub use trace::{Delivery, Disposition, NetTrace, RouteTrace};

/// Default one-way latency of a veth pair.
pub const VETH_LATENCY: SimDuration = SimDuration::from_micros(50);
/// Default one-way latency of an L2 segment (the node network).
pub const SEGMENT_LATENCY: SimDuration = SimDuration::from_micros(200);
/// How long neighbour resolution tries before giving up (3 probes, `retrans_time_ms` 1000).
pub const ARP_TIMEOUT: SimDuration = SimDuration::from_secs(3);

/// The identity of one packet, from creation to disposition (kept across hosts and NAT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PacketId(pub u64);

/// The identity of a client conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConvId(pub usize);

/// Simulator bookkeeping that travels with a packet; never consulted by the dataplane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketMeta {
    /// The packet's identity.
    pub id: PacketId,
    /// The conversation it belongs to, for reports.
    pub conv: Option<ConvId>,
}

/// A frame on its way to an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The receiving interface.
    pub to: IfaceRef,
    /// The next-hop address the sender resolved (what a bridge looks up).
    pub next_hop: Ipv4Addr,
    /// The packet.
    pub pkt: Packet,
    /// Bookkeeping.
    pub meta: PacketMeta,
}

/// Timers of a client conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvTimer {
    /// Retransmit the SYN (the n-th retransmission).
    SynRetransmit(u32),
    /// The conversation's overall deadline.
    Deadline,
}

/// What can happen in the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    /// A frame arrives at an interface.
    Arrive(Box<Frame>),
    /// A host stack sends a packet it generated earlier (e.g. after an ARP timeout).
    Emit { host: HostId, pkt: Box<Packet>, conv: Option<ConvId> },
    /// A registered conversation starts.
    ConvStart(ConvId),
    /// A conversation timer fires.
    ConvTimer { conv: ConvId, timer: ConvTimer },
    /// A timer of the application listening on `local` fires ([`Network::wake_app`]).
    AppWake { host: HostId, proto: crate::socket::SockProto, local: std::net::SocketAddrV4, token: u64 },
}

/// A bad topology change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// The name is taken.
    #[error("host {0} already exists")]
    DuplicateHost(String),
    /// No host with that id or name.
    #[error("no host {0}")]
    UnknownHost(String),
    /// A host-level error.
    #[error(transparent)]
    Host(#[from] HostError),
    /// A socket bind failed.
    #[error(transparent)]
    AddrInUse(#[from] AddrInUse),
}

/// An L2 broadcast domain (a switch): the node network, an external LAN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Name (`node-net`).
    pub name: String,
    /// One-way latency across it.
    pub latency: SimDuration,
    /// Attached interfaces.
    pub members: Vec<IfaceRef>,
}

/// Hosts, links, conversations and the trace.
pub struct Network {
    // Boxed: a host is about 1,760 bytes, and a growing table of thousands of them would keep
    // doubling slack and copy them all on every reallocation.
    #[allow(
        clippy::vec_box,
        reason = "hosts are large; boxing avoids the table's slack and copies as it grows"
    )]
    hosts: Vec<Box<Host>>,
    names: IndexMap<String, HostId>,
    segments: Vec<Segment>,
    root: SimRng,
    now: SimTime,
    next_packet: u64,
    outbox: Vec<(SimTime, NetEvent)>,
    convs: Vec<Conversation>,
    /// Upstream connections proxies opened, by the upstream conversation: the client
    /// connection that waits for them.
    upstreams: BTreeMap<ConvId, conversation::PendingUpstream>,
    dispositions: BTreeMap<PacketId, (HostId, Disposition)>,
    /// The bridge port the packet being walked came in on, while a br_netfilter bridge hands
    /// it to its host's IP layer (for the hairpin rule).
    bridge_ingress: Option<(HostId, String)>,
    /// Conntrack state of packets in flight over a loopback interface.
    loopback_ct: BTreeMap<PacketId, crate::conntrack::CtClass>,
    /// Packets carrying `skb->ipvs_property` (IPVS forwarded or un-NATed them) and the host
    /// where it was set; it is cleared when the packet leaves that host by anything but
    /// loopback (`skb_scrub_packet`'s `ipvs_reset`) or ends.
    ipvs_property: BTreeMap<PacketId, HostId>,
    /// The kernel's per-peer ICMP error rate limit of every host.
    icmp_rate: icmp_rate::IcmpRateLimit,
    /// Packet captures (`tcpdump`), active and stopped, by [`CaptureId`].
    captures: Vec<Capture>,
    /// True while some capture may still record: the walk's taps test only this.
    capturing: bool,
    /// TCP numbers of conversations' segments sent while capturing ([`crate::capture::tcp`]).
    tcp_model: crate::capture::tcp::TcpModel,
    /// The numbers of the segments in flight, by packet (removed at their disposition).
    tcp_numbers: BTreeMap<PacketId, crate::capture::tcp::TcpNumbers>,
    /// Host pairs (lower id first) a partition separates: their frames over a segment are lost.
    cuts: std::collections::BTreeSet<(HostId, HostId)>,
    /// Trace records (filled while [`Network::tracing`] is true).
    pub trace: VecSink<NetTrace>,
    /// Record a trace.
    pub tracing: bool,
}

impl Network {
    /// An empty network whose random streams descend from `seed`.
    pub fn new(seed: u64) -> Network {
        Network {
            hosts: vec![],
            names: IndexMap::new(),
            segments: vec![],
            root: SimRng::new(seed),
            now: SimTime::ZERO,
            next_packet: 1,
            outbox: vec![],
            convs: vec![],
            upstreams: BTreeMap::new(),
            dispositions: BTreeMap::new(),
            loopback_ct: BTreeMap::new(),
            ipvs_property: BTreeMap::new(),
            icmp_rate: icmp_rate::IcmpRateLimit::default(),
            cuts: std::collections::BTreeSet::new(),
            bridge_ingress: None,
            captures: Vec::new(),
            capturing: false,
            tcp_model: Default::default(),
            tcp_numbers: BTreeMap::new(),
            trace: VecSink::default(),
            tracing: true,
        }
    }

    /// Adds a host (namespace) with only `lo`; its stream is `net/{name}`.
    pub fn add_host(&mut self, name: &str) -> Result<HostId, NetError> {
        if self.names.contains_key(name) {
            return Err(NetError::DuplicateHost(name.to_string()));
        }
        let id = HostId(self.hosts.len() as u32);
        let rng = self.root.fork(&format!("net/{name}"));
        self.hosts.push(Box::new(Host::new(id, name, rng)));
        self.names.insert(name.to_string(), id);
        Ok(id)
    }

    /// A host id by name.
    pub fn host_id(&self, name: &str) -> Option<HostId> {
        self.names.get(name).copied()
    }

    /// A host (`None` for an id this network did not issue).
    pub fn host(&self, id: HostId) -> Option<&Host> {
        self.hosts.get(id.0 as usize).map(|h| &**h)
    }

    /// A host, mutably (to add addresses, routes, rules, sysctls, listeners).
    pub fn host_mut(&mut self, id: HostId) -> Result<&mut Host, NetError> {
        self.hosts
            .get_mut(id.0 as usize)
            .map(|h| &mut **h)
            .ok_or_else(|| NetError::UnknownHost(format!("#{}", id.0)))
    }

    /// All hosts in creation order.
    pub fn hosts(&self) -> impl ExactSizeIterator<Item = &Host> + DoubleEndedIterator {
        self.hosts.iter().map(|h| &**h)
    }

    /// The name of a host (`?` for an unknown id).
    pub fn host_name(&self, id: HostId) -> &str {
        self.hosts.get(id.0 as usize).map_or("?", |h| h.name.as_str())
    }

    /// Cuts the link between hosts `a` and `b` (both directions): frames one sends the other
    /// over an L2 segment are lost from now on.
    pub fn cut(&mut self, a: HostId, b: HostId) {
        self.cuts.insert((a.min(b), a.max(b)));
    }

    /// Heals the link between `a` and `b` (undoes [`Network::cut`]).
    pub fn heal(&mut self, a: HostId, b: HostId) {
        self.cuts.remove(&(a.min(b), a.max(b)));
    }

    /// True if a partition separates `a` and `b`.
    pub fn is_cut(&self, a: HostId, b: HostId) -> bool {
        !self.cuts.is_empty() && self.cuts.contains(&(a.min(b), a.max(b)))
    }

    /// Adds an L2 segment.
    pub fn add_segment(&mut self, name: &str, latency: SimDuration) -> SegmentId {
        self.segments.push(Segment { name: name.to_string(), latency, members: vec![] });
        SegmentId(self.segments.len() as u32 - 1)
    }

    /// The segments.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Adds an ethernet interface on `host` attached to `segment`, with an address.
    pub fn attach(
        &mut self,
        host: HostId,
        iface: &str,
        segment: SegmentId,
        addr: Option<Ipv4Net>,
    ) -> Result<(), NetError> {
        if self.segments.get(segment.0 as usize).is_none() {
            return Err(NetError::UnknownHost(format!("segment #{}", segment.0)));
        }
        let h = self.host_mut(host)?;
        h.add_iface(iface, IfaceKind::Ethernet { segment })?;
        if let Some(a) = addr {
            h.add_addr(iface, a)?;
        }
        if let Some(s) = self.segments.get_mut(segment.0 as usize) {
            s.members.push(IfaceRef { host, name: iface.to_string() });
        }
        Ok(())
    }

    /// Adds a veth pair `a_if` (in `a`) ↔ `b_if` (in `b`) with [`VETH_LATENCY`].
    pub fn add_veth(&mut self, a: HostId, a_if: &str, b: HostId, b_if: &str) -> Result<(), NetError> {
        self.add_veth_with_latency(a, a_if, b, b_if, VETH_LATENCY)
    }

    /// Adds a veth pair with a given one-way latency.
    pub fn add_veth_with_latency(
        &mut self,
        a: HostId,
        a_if: &str,
        b: HostId,
        b_if: &str,
        latency: SimDuration,
    ) -> Result<(), NetError> {
        let peer_b = IfaceRef { host: b, name: b_if.to_string() };
        let peer_a = IfaceRef { host: a, name: a_if.to_string() };
        if self.host(b).is_some_and(|h| h.iface(b_if).is_some()) {
            return Err(HostError::DuplicateIface {
                host: self.host_name(b).to_string(),
                iface: b_if.to_string(),
            }
            .into());
        }
        self.host_mut(b)?;
        self.host_mut(a)?.add_iface(a_if, IfaceKind::Veth { peer: peer_b, latency })?;
        self.host_mut(b)?.add_iface(b_if, IfaceKind::Veth { peer: peer_a, latency })?;
        Ok(())
    }

    /// The hosts on `segment` that answer a broadcast ARP request `who-has target tell
    /// sender` ([`Host::answers_arp`] on their attachment), in attachment order.
    pub fn arp_who_has(&self, segment: SegmentId, sender: Ipv4Addr, target: Ipv4Addr) -> Vec<HostId> {
        let Some(seg) = self.segments.get(segment.0 as usize) else { return Vec::new() };
        seg.members
            .iter()
            .filter(|m| self.host(m.host).is_some_and(|h| h.answers_arp(&m.name, sender, target)))
            .map(|m| m.host)
            .collect()
    }

    /// Adds a bridge on `host`.
    pub fn add_bridge(&mut self, host: HostId, name: &str, nf_call_iptables: bool) -> Result<(), NetError> {
        self.host_mut(host)?.add_iface(name, IfaceKind::Bridge { nf_call_iptables })?;
        Ok(())
    }

    /// Adds a dummy interface on `host`.
    pub fn add_dummy(&mut self, host: HostId, name: &str) -> Result<(), NetError> {
        self.host_mut(host)?.add_iface(name, IfaceKind::Dummy)?;
        Ok(())
    }

    /// `ip link set PORT master BRIDGE`.
    pub fn set_master(&mut self, host: HostId, port: &str, bridge: &str) -> Result<(), NetError> {
        let h = self.host_mut(host)?;
        match h.iface(bridge).map(|i| &i.kind) {
            Some(IfaceKind::Bridge { .. }) => {}
            Some(_) => {
                return Err(HostError::NotABridge { host: h.name.clone(), iface: bridge.to_string() }.into());
            }
            None => {
                return Err(
                    HostError::UnknownIface { host: h.name.clone(), iface: bridge.to_string() }.into()
                );
            }
        }
        h.iface_mut(port)?.master = Some(bridge.to_string());
        Ok(())
    }

    /// Binds a server socket on `host`.
    pub fn listen(
        &mut self,
        host: HostId,
        proto: SockProto,
        addr: SocketAddrV4,
        app: Box<dyn Application>,
    ) -> Result<(), NetError> {
        self.host_mut(host)?.sockets.listen(proto, addr, app)?;
        Ok(())
    }

    /// `ip addr` of a host, with veth peers' indexes.
    pub fn ip_addr(&self, host: HostId) -> String {
        let Some(h) = self.host(host) else { return String::new() };
        h.ip_addr(|i: &Iface| match &i.kind {
            IfaceKind::Veth { peer, .. } => {
                self.host(peer.host).and_then(|p| p.iface(&peer.name)).map(|p| p.index)
            }
            _ => None,
        })
    }

    /// The disposition of a packet, once it has one.
    pub fn disposition(&self, id: PacketId) -> Option<&Disposition> {
        self.dispositions.get(&id).map(|(_, d)| d)
    }

    /// Every packet's disposition, by id.
    pub fn dispositions(&self) -> &BTreeMap<PacketId, (HostId, Disposition)> {
        &self.dispositions
    }

    /// How many packets have been created.
    pub fn packets_created(&self) -> u64 {
        self.next_packet - 1
    }

    /// Registers a conversation; it starts when [`NetEvent::ConvStart`] with the returned id
    /// fires (see [`converse`] for the standalone form).
    pub fn start_conversation(&mut self, spec: ConversationSpec) -> ConvId {
        let id = ConvId(self.convs.len());
        self.convs.push(Conversation::new(spec));
        id
    }

    /// Registers a TCP request on a long-lived connection ([`KeepAlive`]).
    pub fn start_keep_alive(&mut self, spec: ConversationSpec, keep_alive: KeepAlive) -> ConvId {
        let id = self.start_conversation(spec);
        if let Some(cv) = self.convs.get_mut(id.0) {
            cv.keep_alive = Some(keep_alive);
        }
        id
    }

    /// Registers a UDP conversation whose datagram leaves with TTL `ttl` (a traceroute probe:
    /// `setsockopt(IP_TTL)`).
    pub fn start_udp_with_ttl(&mut self, spec: ConversationSpec, ttl: u8) -> ConvId {
        let id = self.start_conversation(spec);
        if let Some(cv) = self.convs.get_mut(id.0) {
            cv.ttl = Some(ttl);
        }
        id
    }

    /// Registers a UDP conversation that sends `spec.payload` and then each of `more` from the
    /// same socket at the same instant (glibc's `sendmmsg` of an A and an AAAA query), and
    /// completes when every request has an answer ([`Conversation::responses`]).
    pub fn start_udp_burst(&mut self, spec: ConversationSpec, more: Vec<Vec<u8>>) -> ConvId {
        let id = self.start_conversation(spec);
        if let Some(cv) = self.convs.get_mut(id.0) {
            cv.more = more;
        }
        id
    }

    /// Registers `spec` and schedules its start now on `sched` (which may belong to a larger
    /// world; with a standalone simulation use `Simulation::split`).
    pub fn start_conversation_now<E: From<NetEvent>>(
        &mut self,
        spec: ConversationSpec,
        sched: &mut Scheduler<E>,
    ) -> ConvId {
        let id = self.start_conversation(spec);
        sched.schedule_in(SimDuration::ZERO, E::from(NetEvent::ConvStart(id)));
        id
    }

    /// Wakes the application listening on `host`'s `local` address after `delay`
    /// ([`crate::socket::Application::wake`], with `token`); nothing happens if no application
    /// listens there then.
    pub fn wake_app<E: From<NetEvent>>(
        &mut self,
        host: HostId,
        proto: crate::socket::SockProto,
        local: std::net::SocketAddrV4,
        token: u64,
        delay: SimDuration,
        sched: &mut Scheduler<E>,
    ) {
        sched.schedule_in(delay, E::from(NetEvent::AppWake { host, proto, local, token }));
    }

    /// The host whose stack or applications `e` runs in when it fires: a frame's receiver, a
    /// conversation's client (its timers wake a proxying application there), the emitting or
    /// woken host. Every hop to another host is an event of its own.
    pub fn event_host(&self, e: &NetEvent) -> Option<HostId> {
        match e {
            NetEvent::Arrive(frame) => Some(frame.to.host),
            NetEvent::Emit { host, .. } | NetEvent::AppWake { host, .. } => Some(*host),
            NetEvent::ConvStart(c) | NetEvent::ConvTimer { conv: c, .. } => {
                self.convs.get(c.0).map(|cv| cv.spec.from)
            }
        }
    }

    /// Sends a hand-made packet from `host`'s stack now (through OUTPUT and POSTROUTING), as a
    /// raw socket would; returns nothing until the event fires, so the packet's id is the next
    /// one issued.
    pub fn inject<E: From<NetEvent>>(&mut self, host: HostId, pkt: Packet, sched: &mut Scheduler<E>) {
        sched
            .schedule_in(SimDuration::ZERO, E::from(NetEvent::Emit { host, pkt: Box::new(pkt), conv: None }));
    }

    /// Starts a packet capture (`tcpdump`) on a host now.
    pub fn start_capture(&mut self, spec: CaptureSpec) -> CaptureId {
        let id = CaptureId(self.captures.len());
        self.captures.push(Capture::new(spec));
        self.capturing = true;
        id
    }

    /// A capture and what it has recorded.
    pub fn capture(&self, id: CaptureId) -> Option<&Capture> {
        self.captures.get(id.0)
    }

    /// Stops a capture at `at` (its user killed it); a stopped capture stays as it was.
    pub fn stop_capture(&mut self, id: CaptureId, at: SimTime) {
        if let Some(c) = self.captures.get_mut(id.0) {
            c.stopped.get_or_insert(at);
        }
        self.capturing = self.captures.iter().any(|c| c.stopped.is_none());
    }

    /// A capture's packets as tcpdump prints them ([`crate::capture::print`]).
    pub fn capture_lines(&self, id: CaptureId, opts: &PrintOptions) -> String {
        match self.captures.get(id.0) {
            Some(c) => crate::capture::print::print_lines(&c.packets, opts),
            None => String::new(),
        }
    }

    /// A conversation's state and outcome.
    pub fn conversation(&self, id: ConvId) -> Option<&Conversation> {
        self.convs.get(id.0)
    }

    /// Handles one event, scheduling consequences on `sched` (which may belong to a larger
    /// world whose event type wraps [`NetEvent`]).
    pub fn handle<E: From<NetEvent>>(&mut self, now: SimTime, ev: NetEvent, sched: &mut Scheduler<E>) {
        self.now = now;
        match ev {
            NetEvent::Arrive(frame) => {
                let Frame { to, next_hop, pkt, meta } = *frame;
                if self.host(to.host).is_some() {
                    self.rx(to.host, &to.name, next_hop, pkt, meta);
                }
            }
            NetEvent::Emit { host, pkt, conv } => {
                // An id from another network is ignored rather than trusted.
                if self.host(host).is_some() {
                    self.local_out(host, *pkt, conv);
                }
            }
            NetEvent::ConvStart(c) => self.conv_start(c),
            NetEvent::ConvTimer { conv, timer } => self.conv_timer(conv, timer),
            NetEvent::AppWake { host, proto, local, token } => self.app_wake(host, proto, local, token),
        }
        for (at, ev) in self.outbox.drain(..) {
            sched.schedule_at(at, E::from(ev));
        }
    }

    fn schedule(&mut self, delay: SimDuration, ev: NetEvent) {
        self.outbox.push((self.now + delay, ev));
    }

    fn record(&mut self, ev: NetTrace) {
        if self.tracing {
            self.trace.push(self.now, ev);
        }
    }

    fn host_ref(&self, h: HostId) -> &Host {
        // Ids are only ever issued by add_host, so the index is valid.
        &self.hosts[h.0 as usize]
    }

    fn host_at(&mut self, h: HostId) -> &mut Host {
        &mut self.hosts[h.0 as usize]
    }
}

impl World for Network {
    type Event = NetEvent;
    fn handle(&mut self, now: SimTime, event: NetEvent, sched: &mut Scheduler<NetEvent>) {
        Network::handle(self, now, event, sched);
    }
}

/// Registers `spec` and schedules its start now, for a standalone [`Simulation`] of a
/// [`Network`].
pub fn converse(sim: &mut Simulation<Network>, spec: ConversationSpec) -> ConvId {
    let (net, sched) = sim.split();
    net.start_conversation_now(spec, sched)
}
