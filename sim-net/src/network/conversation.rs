//! Client conversations and the receiving host stack.
//!
//! A conversation is what `curl`, `dig` or `ping` does on the wire: TCP SYN → SYN-ACK → ACK →
//! request → response → FIN exchange (SYN retransmitted at 1 s, 2 s, 4 s ... as Linux's
//! initial RTO doubles, up to `tcp_syn_retries` = 6); one UDP request (or a burst from one socket, `Network::start_udp_burst`) and its responses; one
//! ICMP echo and its reply. A RST, an ICMP error or the deadline ends it early. Ephemeral ports
//! come from the host's seeded stream within `ip_local_port_range` (32768–60999).
//!
//! The stack side (`Network::deliver`) demultiplexes to connected sockets, then listeners;
//! answers a SYN to a closed port with RST, a datagram to a closed port with ICMP port
//! unreachable, any other segment without a connection with RST; and answers echo requests.

use std::net::{Ipv4Addr, SocketAddrV4};

use sim_core::{SimDuration, SimTime};

use crate::iface::HostId;
use crate::socket::{AppContext, AppReply, ServerConn, ServerTcpState, SockProto, UpstreamRequest};
use crate::wire::{Icmp, Packet, Payload, Protocol, SctpChunk, TcpFlags, Transport, unreach};

use super::trace::{Delivery, Disposition};
use super::walk::{local_addr, rst_for};
use super::{ConvId, ConvTimer, NetEvent, Network, PacketId, PacketMeta};

/// Linux `net.ipv4.ip_local_port_range` default.
pub const EPHEMERAL_PORTS: (u16, u16) = (32768, 60999);
/// Linux `net.ipv4.tcp_syn_retries` default.
pub const TCP_SYN_RETRIES: u32 = 6;
/// Linux initial retransmission timeout (`TCP_TIMEOUT_INIT`).
pub const TCP_INITIAL_RTO: SimDuration = SimDuration::from_secs(1);
/// `net.sctp.rto_initial` (3000 ms): the first INIT retransmission.
pub const SCTP_RTO_INITIAL: SimDuration = SimDuration::from_secs(3);
/// `net.sctp.max_init_retransmits` (8).
pub const SCTP_MAX_INIT_RETRANSMITS: u32 = 8;

/// What a conversation speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConvProto {
    /// A TCP connection with one request and one response.
    Tcp,
    /// One UDP request and its response.
    Udp,
    /// One ICMP echo request and its reply.
    Icmp,
    /// An SCTP association: INIT, INIT ACK, COOKIE ECHO, COOKIE ACK, one DATA request and one
    /// DATA response, then SHUTDOWN, SHUTDOWN ACK, SHUTDOWN COMPLETE.
    Sctp,
}

/// What to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationSpec {
    /// The client host.
    pub from: HostId,
    /// Protocol.
    pub proto: ConvProto,
    /// Destination (the port is ignored for ICMP).
    pub dst: SocketAddrV4,
    /// Request bytes.
    pub payload: Vec<u8>,
    /// Source port; else an ephemeral port from the host's stream.
    pub src_port: Option<u16>,
    /// Give up after this long.
    pub timeout: SimDuration,
}

/// A TCP request on a long-lived connection (HTTP/1.1 keep-alive): it is written on the
/// connection `after` left open, if that one completed, instead of opening its own; its answer
/// ends it without a FIN, leaving the connection open for the next. A connection that broke
/// (reset, timed out, never opened) is replaced by a new one only with `reconnect`; without
/// it the request is not sent ([`Outcome::Failed`], "no connection").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepAlive {
    /// The request before on the same connection; `None` for the first.
    pub after: Option<ConvId>,
    /// Open a new connection when the previous one broke (as curl and HTTP client libraries do).
    pub reconnect: bool,
}

/// How a conversation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The response arrived (and, for TCP, the connection closed cleanly).
    Completed {
        /// The response bytes.
        response: Vec<u8>,
    },
    /// The SYN was answered with RST (`ECONNREFUSED`).
    Refused,
    /// An established connection was reset.
    Reset,
    /// An ICMP error came back.
    Unreachable {
        /// ICMP type (3 unreachable, 11 time exceeded).
        icmp_type: u8,
        /// ICMP code.
        code: u8,
        /// Who sent it.
        from: Ipv4Addr,
    },
    /// Nothing useful came back in time.
    TimedOut,
    /// The client had no route (`ENETUNREACH`).
    NoRoute,
    /// The sender's own `OUTPUT` or `POSTROUTING` chain dropped or rejected a UDP datagram or
    /// ICMP echo: `ip_local_out` returns `NF_DROP`'s `-EPERM`, so `sendmsg` fails with
    /// "Operation not permitted" (a `REJECT` still queues its ICMP error, which then finds no
    /// socket waiting). TCP is not affected: `tcp_connect` ignores the error and retransmits.
    NotPermitted,
    /// The client host does not exist or has no usable source port.
    Failed(String),
}

/// Who answered, as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedBy {
    /// The serving host.
    pub host: HostId,
    /// The address and port the request arrived on.
    pub local: SocketAddrV4,
    /// The client address the server saw (after any SNAT).
    pub peer: SocketAddrV4,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientState {
    Pending,
    SynSent,
    Established,
    FinWait,
    WaitReply,
    Done,
}

/// One client conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    /// What was asked.
    pub spec: ConversationSpec,
    /// The client's local address and port (ICMP: the echo identifier as port).
    pub local: Option<SocketAddrV4>,
    /// The result, once known.
    pub outcome: Option<Outcome>,
    /// Who served it.
    pub served_by: Option<ServedBy>,
    /// Every packet that belonged to it, in creation order.
    pub packets: Vec<PacketId>,
    /// When it started and ended.
    pub started: Option<SimTime>,
    /// When it ended.
    pub finished: Option<SimTime>,
    /// How many SYNs were sent.
    pub syns_sent: u32,
    /// The connections the serving application opened to answer it (a proxy's second hop),
    /// in order.
    pub upstreams: Vec<ConvId>,
    /// For a proxy's upstream connection: the client conversation it serves.
    pub upstream_of: Option<ConvId>,
    /// UDP: every datagram the socket received, in arrival order (one per request when all
    /// were answered; fewer when the conversation timed out waiting for the rest).
    pub responses: Vec<Vec<u8>>,
    /// UDP: further datagrams sent from the same socket right after the first, in one go (as
    /// `sendmmsg(2)` does); the conversation completes when as many answers as requests came.
    pub more: Vec<Vec<u8>>,
    /// TCP: a request on a long-lived connection ([`KeepAlive`]).
    pub keep_alive: Option<KeepAlive>,
    /// TCP: whether this request went on a connection an earlier one opened.
    pub reused: bool,
    /// UDP: the TTL of its datagrams (`IP_TTL`, as traceroute sets it per probe); else the
    /// default 64.
    pub ttl: Option<u8>,
    state: ClientState,
    response: Vec<u8>,
}

impl Conversation {
    /// A conversation not yet started.
    pub fn new(spec: ConversationSpec) -> Conversation {
        Conversation {
            spec,
            local: None,
            outcome: None,
            served_by: None,
            packets: vec![],
            started: None,
            finished: None,
            syns_sent: 0,
            upstreams: vec![],
            upstream_of: None,
            responses: vec![],
            more: vec![],
            keep_alive: None,
            reused: false,
            ttl: None,
            state: ClientState::Pending,
            response: vec![],
        }
    }
}

impl Network {
    /// The sockets of host `h` at `now` in the order the kernel's socket dumps give them (as
    /// `ss` and `/proc/net/{tcp,udp}` list them): TCP before UDP; per protocol the bound server
    /// sockets (in bind order), then the connections by local and peer address. A client socket
    /// shows its connection's state (a keep-alive connection left open is established). A TCP
    /// client that closed first (it sends its FIN after the response) stays in `TIME-WAIT` for
    /// [`TIME_WAIT_LEN`](crate::socket::TIME_WAIT_LEN) after the server's FIN; the server,
    /// closing second, has no socket after the last ACK. Only listed: a TIME-WAIT socket does
    /// not hold its port against a new connection in the model.
    pub fn socket_table(&self, h: HostId, now: SimTime) -> Vec<crate::socket::SocketEntry> {
        use crate::socket::{LISTEN_BACKLOG, SocketEntry, SocketState, TIME_WAIT_LEN};
        let Some(host) = self.host(h) else { return Vec::new() };
        let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
        let mut rows = Vec::new();
        for proto in [SockProto::Tcp, SockProto::Udp, SockProto::Sctp] {
            for l in host.sockets.listeners().iter().filter(|l| l.proto == proto && !l.closed()) {
                let (state, send_q) = if proto == SockProto::Udp {
                    (SocketState::Close, 0)
                } else {
                    (SocketState::Listen, LISTEN_BACKLOG)
                };
                rows.push(SocketEntry { proto, state, local: l.addr, peer: any, recv_q: 0, send_q });
            }
            let mut conns: Vec<SocketEntry> = Vec::new();
            if proto == SockProto::Tcp {
                for ((local, peer), conn) in &host.sockets.tcp_server {
                    let state = match conn.state {
                        ServerTcpState::SynRecv => SocketState::SynRecv,
                        ServerTcpState::Established => SocketState::Established,
                        ServerTcpState::LastAck => SocketState::LastAck,
                    };
                    conns.push(SocketEntry {
                        proto,
                        state,
                        local: *local,
                        peer: *peer,
                        recv_q: 0,
                        send_q: 0,
                    });
                }
            }
            for ((p, local, peer), c) in &host.sockets.clients {
                if *p != proto {
                    continue;
                }
                let Some(cv) = self.convs.get(c.0) else { continue };
                let (state, send_q) = match cv.state {
                    ClientState::SynSent => (SocketState::SynSent, 1),
                    ClientState::FinWait => (SocketState::FinWait1, 1),
                    ClientState::Established | ClientState::WaitReply => (SocketState::Established, 0),
                    // A keep-alive connection left open for the next request.
                    ClientState::Done if proto == SockProto::Tcp => (SocketState::Established, 0),
                    ClientState::Pending | ClientState::Done => continue,
                };
                conns.push(SocketEntry { proto, state, local: *local, peer: *peer, recv_q: 0, send_q });
            }
            if proto == SockProto::Tcp {
                for cv in &self.convs {
                    let (Some(local), Some(Outcome::Completed { .. }), Some(at)) =
                        (cv.local, &cv.outcome, cv.finished)
                    else {
                        continue;
                    };
                    // Keep-alive requests end without a FIN; the others close first.
                    if cv.spec.from != h
                        || cv.spec.proto != ConvProto::Tcp
                        || cv.keep_alive.is_some()
                        || now.saturating_since(at) >= TIME_WAIT_LEN
                        || now < at
                        || conns.iter().any(|e| e.local == local && e.peer == cv.spec.dst)
                    {
                        continue;
                    }
                    let state = SocketState::TimeWait;
                    conns.push(SocketEntry { proto, state, local, peer: cv.spec.dst, recv_q: 0, send_q: 0 });
                }
            }
            conns.sort_by_key(|e| (e.local, e.peer));
            rows.extend(conns);
        }
        rows
    }
}

impl PendingUpstream {
    /// The server's answer to its client: a PSH/ACK segment on the connection, or a datagram.
    fn answer(&self, response: &[u8]) -> Packet {
        let (l, p) = (self.local, self.peer);
        let payload = Payload::from_bytes(response);
        match self.proto {
            Protocol::Udp => Packet::udp(*l.ip(), l.port(), *p.ip(), p.port()).with_payload(payload),
            _ => Packet::tcp(*l.ip(), l.port(), *p.ip(), p.port(), TcpFlags::PSH.with(TcpFlags::ACK))
                .with_payload(payload),
        }
    }
}

/// A client connection (or datagram) waiting for its server's upstream conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PendingUpstream {
    /// The client's transport: a TCP connection, or a UDP datagram to answer.
    proto: Protocol,
    host: HostId,
    listener: usize,
    local: SocketAddrV4,
    peer: SocketAddrV4,
    client_conv: Option<ConvId>,
    token: u64,
    /// A background conversation of the application's ([`AppReply::Also`]): its end reaches
    /// the application even when the client that was waiting then has gone.
    detached: bool,
}

impl Network {
    fn conv_end(&mut self, c: ConvId, outcome: Outcome) {
        let now = self.now;
        let Some(cv) = self.convs.get_mut(c.0) else { return };
        if cv.state == ClientState::Done {
            return;
        }
        cv.state = ClientState::Done;
        cv.outcome = Some(outcome.clone());
        cv.finished = Some(now);
        let (from, local, proto, dst) = (cv.spec.from, cv.local, cv.spec.proto, cv.spec.dst);
        // A keep-alive request that was answered leaves its connection open for the next.
        let keep = cv.keep_alive.is_some() && matches!(outcome, Outcome::Completed { .. });
        if !keep {
            self.release_client_socket(c, from, local, proto, dst);
        }
        if let Some(pending) = self.upstreams.remove(&c) {
            self.resume_proxy(pending, &outcome);
        }
    }

    fn release_client_socket(
        &mut self,
        c: ConvId,
        from: HostId,
        local: Option<SocketAddrV4>,
        proto: ConvProto,
        dst: SocketAddrV4,
    ) {
        let Some(local) = local else { return };
        let Some(host) = self.hosts.get_mut(from.0 as usize) else { return };
        // A later conversation from the same fixed source port may own the socket by now (a
        // UDP client that sends its next request before the last was answered): leave it be.
        match proto {
            ConvProto::Tcp | ConvProto::Udp | ConvProto::Sctp => {
                let sp = match proto {
                    ConvProto::Tcp => SockProto::Tcp,
                    ConvProto::Sctp => SockProto::Sctp,
                    _ => SockProto::Udp,
                };
                let key = (sp, local, dst);
                if host.sockets.clients.get(&key) == Some(&c) {
                    host.sockets.clients.remove(&key);
                }
            }
            ConvProto::Icmp => {
                if host.sockets.pings.get(&local.port()) == Some(&c) {
                    host.sockets.pings.remove(&local.port());
                }
            }
        }
    }

    pub(super) fn conv_no_route(&mut self, c: ConvId) {
        self.conv_end(c, Outcome::NoRoute);
    }

    /// `sendmsg` of a UDP or ICMP conversation failed with `EPERM`: its packet was dropped or
    /// rejected by host `h`'s local-out hooks. Only the conversation's own packet, on its own
    /// host, counts (its source address and port or echo id, before any SNAT).
    pub(super) fn conv_send_denied(&mut self, h: HostId, meta: PacketMeta, pkt: &Packet) {
        let Some(c) = meta.conv else { return };
        let Some(cv) = self.convs.get(c.0) else { return };
        let Some(local) = cv.local else { return };
        if cv.spec.from != h || *local.ip() != pkt.src {
            return;
        }
        let own = match (&pkt.transport, cv.spec.proto) {
            (Transport::Udp { sport, .. }, ConvProto::Udp) => *sport == local.port(),
            (Transport::Icmp(Icmp::EchoRequest { id, .. }), ConvProto::Icmp) => *id == local.port(),
            _ => false,
        };
        if own {
            self.conv_end(c, Outcome::NotPermitted);
        }
    }

    pub(super) fn conv_start(&mut self, c: ConvId) {
        let now = self.now;
        let Some(cv) = self.convs.get_mut(c.0) else { return };
        if cv.state != ClientState::Pending {
            return;
        }
        cv.started = Some(now);
        if let Some(ka) = cv.keep_alive
            && cv.spec.proto == ConvProto::Tcp
            && self.conv_keep_alive(c, ka)
        {
            return;
        }
        let Some(cv) = self.convs.get_mut(c.0) else { return };
        let spec = cv.spec.clone();
        let Some(host) = self.hosts.get_mut(spec.from.0 as usize) else {
            self.conv_end(c, Outcome::Failed(format!("no host #{}", spec.from.0)));
            return;
        };
        let dst = spec.dst;
        let Some(src) = host.select_src(*dst.ip()) else {
            self.conv_end(c, Outcome::NoRoute);
            return;
        };
        let sock = match spec.proto {
            ConvProto::Tcp => Some(SockProto::Tcp),
            ConvProto::Udp => Some(SockProto::Udp),
            ConvProto::Sctp => Some(SockProto::Sctp),
            ConvProto::Icmp => None,
        };
        let port = match (spec.src_port, sock) {
            (Some(p), _) => Some(p),
            (None, Some(sp)) => (0..1000).find_map(|_| {
                let p = host.rng.below(u64::from(EPHEMERAL_PORTS.0), u64::from(EPHEMERAL_PORTS.1) + 1) as u16;
                (!host.sockets.port_in_use(sp, SocketAddrV4::new(src, p))).then_some(p)
            }),
            (None, None) => (0..1000).find_map(|_| {
                let id = host.rng.below(1, 65536) as u16;
                (!host.sockets.pings.contains_key(&id)).then_some(id)
            }),
        };
        let Some(port) = port else {
            self.conv_end(c, Outcome::Failed("no free local port".to_string()));
            return;
        };
        let local = SocketAddrV4::new(src, port);
        match sock {
            Some(sp) => {
                host.sockets.clients.insert((sp, local, dst), c);
            }
            None => {
                host.sockets.pings.insert(port, c);
            }
        }
        if let Some(cv) = self.convs.get_mut(c.0) {
            cv.local = Some(local);
        }
        self.schedule(spec.timeout, NetEvent::ConvTimer { conv: c, timer: ConvTimer::Deadline });
        let payload = Payload::from_bytes(&spec.payload);
        match spec.proto {
            ConvProto::Tcp => {
                self.set_state(c, ClientState::SynSent);
                self.send_syn(c);
                self.schedule(
                    TCP_INITIAL_RTO,
                    NetEvent::ConvTimer { conv: c, timer: ConvTimer::SynRetransmit(1) },
                );
            }
            ConvProto::Sctp => {
                self.set_state(c, ClientState::SynSent);
                self.send_syn(c);
                self.schedule(
                    SCTP_RTO_INITIAL,
                    NetEvent::ConvTimer { conv: c, timer: ConvTimer::SynRetransmit(1) },
                );
            }
            ConvProto::Udp => {
                self.set_state(c, ClientState::WaitReply);
                let mut p = Packet::udp(src, port, *dst.ip(), dst.port()).with_payload(payload);
                if let Some(ttl) = self.convs.get(c.0).and_then(|cv| cv.ttl) {
                    p.ttl = ttl;
                }
                self.local_out(spec.from, p, Some(c));
                let more = self.convs.get(c.0).map(|cv| cv.more.clone()).unwrap_or_default();
                for datagram in more {
                    let p = Packet::udp(src, port, *dst.ip(), dst.port())
                        .with_payload(Payload::from_bytes(&datagram));
                    self.local_out(spec.from, p, Some(c));
                }
            }
            ConvProto::Icmp => {
                self.set_state(c, ClientState::WaitReply);
                let p = Packet::icmp(src, *dst.ip(), Icmp::EchoRequest { id: port, seq: 1 })
                    .with_payload(payload);
                self.local_out(spec.from, p, Some(c));
            }
        }
    }

    /// A keep-alive request's start: written on the previous request's open connection (true),
    /// not sent because that connection broke and `reconnect` is off (true), or to open a new
    /// connection (false).
    fn conv_keep_alive(&mut self, c: ConvId, ka: KeepAlive) -> bool {
        let open = ka.after.and_then(|p| self.convs.get(p.0)).and_then(|p| match (&p.outcome, p.local) {
            (Some(Outcome::Completed { .. }), Some(local)) => Some((p.spec.from, local, p.spec.dst)),
            _ => None,
        });
        let Some(cv) = self.convs.get(c.0) else { return true };
        let (from, dst, timeout) = (cv.spec.from, cv.spec.dst, cv.spec.timeout);
        let socket = open.filter(|(f, _, d)| *f == from && *d == dst).and_then(|(_, local, _)| {
            let host = self.hosts.get(from.0 as usize)?;
            let owner = host.sockets.clients.get(&(SockProto::Tcp, local, dst)).copied();
            (owner == ka.after).then_some(local)
        });
        match socket {
            Some(local) => {
                if let Some(host) = self.hosts.get_mut(from.0 as usize) {
                    host.sockets.clients.insert((SockProto::Tcp, local, dst), c);
                }
                if let Some(cv) = self.convs.get_mut(c.0) {
                    cv.local = Some(local);
                    cv.reused = true;
                    cv.state = ClientState::Established;
                }
                self.schedule(timeout, NetEvent::ConvTimer { conv: c, timer: ConvTimer::Deadline });
                let req =
                    self.convs.get(c.0).map(|cv| Payload::from_bytes(&cv.spec.payload)).unwrap_or_default();
                self.conv_tcp(c, TcpFlags::PSH.with(TcpFlags::ACK), req);
                true
            }
            None if ka.after.is_none() || ka.reconnect => false,
            None => {
                self.conv_end(c, Outcome::Failed("no connection".to_string()));
                true
            }
        }
    }

    fn set_state(&mut self, c: ConvId, s: ClientState) {
        if let Some(cv) = self.convs.get_mut(c.0) {
            cv.state = s;
        }
    }

    fn conv_tcp(&mut self, c: ConvId, flags: TcpFlags, payload: Payload) {
        let Some(cv) = self.convs.get(c.0) else { return };
        let (Some(local), dst, from) = (cv.local, cv.spec.dst, cv.spec.from) else { return };
        let p = Packet::tcp(*local.ip(), local.port(), *dst.ip(), dst.port(), flags).with_payload(payload);
        self.local_out(from, p, Some(c));
    }

    /// The opening packet: a TCP SYN, or an SCTP INIT.
    fn send_syn(&mut self, c: ConvId) {
        let sctp = match self.convs.get_mut(c.0) {
            Some(cv) => {
                cv.syns_sent += 1;
                cv.spec.proto == ConvProto::Sctp
            }
            None => return,
        };
        if sctp {
            self.conv_sctp(c, SctpChunk::Init, Payload::empty());
        } else {
            self.conv_tcp(c, TcpFlags::SYN, Payload::empty());
        }
    }

    fn conv_sctp(&mut self, c: ConvId, chunk: SctpChunk, payload: Payload) {
        let Some(cv) = self.convs.get(c.0) else { return };
        let (Some(local), dst, from) = (cv.local, cv.spec.dst, cv.spec.from) else { return };
        let p = Packet::sctp(*local.ip(), local.port(), *dst.ip(), dst.port(), chunk).with_payload(payload);
        self.local_out(from, p, Some(c));
    }

    pub(super) fn conv_timer(&mut self, c: ConvId, timer: ConvTimer) {
        let Some(cv) = self.convs.get(c.0) else { return };
        match timer {
            ConvTimer::Deadline => {
                if cv.state != ClientState::Done {
                    self.conv_end(c, Outcome::TimedOut);
                }
            }
            ConvTimer::SynRetransmit(n) => {
                if cv.state != ClientState::SynSent {
                    return;
                }
                let (retries, rto) = if cv.spec.proto == ConvProto::Sctp {
                    (SCTP_MAX_INIT_RETRANSMITS, SCTP_RTO_INITIAL)
                } else {
                    (TCP_SYN_RETRIES, TCP_INITIAL_RTO)
                };
                if n > retries {
                    self.conv_end(c, Outcome::TimedOut);
                    return;
                }
                self.send_syn(c);
                let next = SimDuration::from_nanos(rto.as_nanos() << n.min(20));
                self.schedule(next, NetEvent::ConvTimer { conv: c, timer: ConvTimer::SynRetransmit(n + 1) });
            }
        }
    }

    /// A client socket received a segment.
    fn client_tcp(&mut self, c: ConvId, flags: TcpFlags, payload: &Payload) {
        let Some(cv) = self.convs.get(c.0) else { return };
        let state = cv.state;
        let req = Payload::from_bytes(&cv.spec.payload);
        if flags.contains(TcpFlags::RST) {
            let o = if state == ClientState::SynSent { Outcome::Refused } else { Outcome::Reset };
            self.conv_end(c, o);
            return;
        }
        match state {
            ClientState::SynSent if flags.contains(TcpFlags::SYN.with(TcpFlags::ACK)) => {
                self.set_state(c, ClientState::Established);
                self.conv_tcp(c, TcpFlags::ACK, Payload::empty());
                self.conv_tcp(c, TcpFlags::PSH.with(TcpFlags::ACK), req);
            }
            ClientState::Established
                if (flags.contains(TcpFlags::PSH) || !payload.is_empty())
                    && self.convs.get(c.0).is_some_and(|cv| cv.keep_alive.is_some()) =>
            {
                self.conv_tcp(c, TcpFlags::ACK, Payload::empty());
                self.conv_end(c, Outcome::Completed { response: payload.0.to_vec() });
            }
            ClientState::Established if flags.contains(TcpFlags::PSH) || !payload.is_empty() => {
                if let Some(cv) = self.convs.get_mut(c.0) {
                    cv.response = payload.0.to_vec();
                    cv.state = ClientState::FinWait;
                }
                self.conv_tcp(c, TcpFlags::FIN.with(TcpFlags::ACK), Payload::empty());
            }
            ClientState::FinWait if flags.contains(TcpFlags::FIN) => {
                self.conv_tcp(c, TcpFlags::ACK, Payload::empty());
                let response = self.convs.get(c.0).map(|cv| cv.response.clone()).unwrap_or_default();
                self.conv_end(c, Outcome::Completed { response });
            }
            _ => {}
        }
    }

    /// The host stack receives a packet addressed to it.
    pub(super) fn deliver(&mut self, h: HostId, pkt: Packet, meta: PacketMeta) {
        match &pkt.transport {
            Transport::Tcp { flags, .. } => self.deliver_tcp(h, *flags, pkt.clone(), meta),
            Transport::Udp { .. } => self.deliver_udp(h, pkt, meta),
            Transport::Sctp { chunk, .. } => self.deliver_sctp(h, *chunk, pkt.clone(), meta),
            Transport::Icmp(Icmp::EchoRequest { id, seq }) => {
                let reply = Packet::icmp(pkt.dst, pkt.src, Icmp::EchoReply { id: *id, seq: *seq })
                    .with_payload(pkt.payload.clone());
                self.finish(h, meta, Disposition::Delivered(Delivery::Stack));
                self.local_out(h, reply, meta.conv);
            }
            Transport::Icmp(Icmp::EchoReply { id, .. }) => {
                let conv = self.host_ref(h).sockets.pings.get(id).copied();
                match conv {
                    Some(c) => {
                        self.finish(h, meta, Disposition::Delivered(Delivery::Stack));
                        self.conv_end(c, Outcome::Completed { response: pkt.payload.0.to_vec() });
                    }
                    None => {
                        self.finish(h, meta, Disposition::NoSocket);
                    }
                }
            }
            Transport::Icmp(Icmp::DestUnreachable { original, .. } | Icmp::TimeExceeded { original }) => {
                let conv = self.socket_of_quoted(h, original);
                self.finish(h, meta, Disposition::Delivered(Delivery::Stack));
                if let Some(c) = conv {
                    let msg = match &pkt.transport {
                        Transport::Icmp(m) => (m.icmp_type(), m.code()),
                        _ => (0, 0),
                    };
                    self.conv_end(c, Outcome::Unreachable { icmp_type: msg.0, code: msg.1, from: pkt.src });
                }
            }
        }
    }

    /// The client conversation whose packet an ICMP error quotes.
    fn socket_of_quoted(&self, h: HostId, q: &Packet) -> Option<ConvId> {
        let socks = &self.host_ref(h).sockets;
        match &q.transport {
            Transport::Tcp { sport, dport, .. } => socks
                .clients
                .get(&(SockProto::Tcp, SocketAddrV4::new(q.src, *sport), SocketAddrV4::new(q.dst, *dport)))
                .copied(),
            Transport::Udp { sport, dport } => socks
                .clients
                .get(&(SockProto::Udp, SocketAddrV4::new(q.src, *sport), SocketAddrV4::new(q.dst, *dport)))
                .copied(),
            Transport::Sctp { sport, dport, .. } => socks
                .clients
                .get(&(SockProto::Sctp, SocketAddrV4::new(q.src, *sport), SocketAddrV4::new(q.dst, *dport)))
                .copied(),
            Transport::Icmp(Icmp::EchoRequest { id, .. }) => socks.pings.get(id).copied(),
            Transport::Icmp(_) => None,
        }
    }

    fn deliver_tcp(&mut self, h: HostId, flags: TcpFlags, pkt: Packet, meta: PacketMeta) {
        let Some((local, peer)) = local_addr(&pkt) else { return };
        let delivered = Disposition::Delivered(Delivery::Socket { proto: Protocol::Tcp, local });
        // A connected client socket.
        if let Some(c) = self.host_ref(h).sockets.clients.get(&(SockProto::Tcp, local, peer)).copied() {
            self.finish(h, meta, delivered);
            self.client_tcp(c, flags, &pkt.payload);
            return;
        }
        // A server connection.
        let existing = self.host_ref(h).sockets.tcp_server.get(&(local, peer)).copied();
        if let Some(conn) = existing {
            self.finish(h, meta, delivered);
            self.server_tcp(h, local, peer, conn, flags, &pkt, meta);
            return;
        }
        let is_syn = flags.contains(TcpFlags::SYN) && !flags.contains(TcpFlags::ACK);
        let listener = self.host_ref(h).sockets.find_listener(SockProto::Tcp, local);
        match listener {
            Some(li) if is_syn => {
                self.finish(h, meta, delivered);
                let conn = ServerConn { listener: li, state: ServerTcpState::SynRecv, conv: meta.conv };
                self.host_at(h).sockets.tcp_server.insert((local, peer), conn);
                self.server_send(
                    h,
                    local,
                    peer,
                    TcpFlags::SYN.with(TcpFlags::ACK),
                    Payload::empty(),
                    meta.conv,
                );
            }
            _ => {
                let d = if is_syn { Disposition::NoListener } else { Disposition::NoSocket };
                self.finish(h, meta, d);
                if let Some(rst) = rst_for(&pkt) {
                    self.local_out(h, rst, meta.conv);
                }
            }
        }
    }

    fn server_send(
        &mut self,
        h: HostId,
        local: SocketAddrV4,
        peer: SocketAddrV4,
        flags: TcpFlags,
        payload: Payload,
        conv: Option<ConvId>,
    ) {
        let p = Packet::tcp(*local.ip(), local.port(), *peer.ip(), peer.port(), flags).with_payload(payload);
        self.local_out(h, p, conv);
    }

    #[allow(clippy::too_many_arguments)]
    fn server_tcp(
        &mut self,
        h: HostId,
        local: SocketAddrV4,
        peer: SocketAddrV4,
        conn: ServerConn,
        flags: TcpFlags,
        pkt: &Packet,
        meta: PacketMeta,
    ) {
        let key = (local, peer);
        if flags.contains(TcpFlags::RST) {
            self.host_at(h).sockets.tcp_server.remove(&key);
            return;
        }
        let set = |net: &mut Network, st: ServerTcpState| {
            if let Some(c) = net.host_at(h).sockets.tcp_server.get_mut(&key) {
                c.state = st;
            }
        };
        match conn.state {
            ServerTcpState::SynRecv if flags.contains(TcpFlags::SYN) => {
                // A retransmitted SYN: send the SYN-ACK again.
                self.server_send(
                    h,
                    local,
                    peer,
                    TcpFlags::SYN.with(TcpFlags::ACK),
                    Payload::empty(),
                    meta.conv,
                );
            }
            _ if !pkt.payload.is_empty() || flags.contains(TcpFlags::PSH) => {
                set(self, ServerTcpState::Established);
                let reply =
                    self.run_handler(h, conn.listener, local, peer, Protocol::Tcp, &pkt.payload, meta.conv);
                let pending = PendingUpstream {
                    proto: Protocol::Tcp,
                    host: h,
                    listener: conn.listener,
                    local,
                    peer,
                    client_conv: meta.conv,
                    token: 0,
                    detached: false,
                };
                self.proxy_reply(pending, reply);
            }
            ServerTcpState::SynRecv | ServerTcpState::Established if flags.contains(TcpFlags::FIN) => {
                set(self, ServerTcpState::LastAck);
                self.server_send(
                    h,
                    local,
                    peer,
                    TcpFlags::FIN.with(TcpFlags::ACK),
                    Payload::empty(),
                    meta.conv,
                );
            }
            ServerTcpState::SynRecv if flags.contains(TcpFlags::ACK) => {
                set(self, ServerTcpState::Established)
            }
            ServerTcpState::LastAck if flags.contains(TcpFlags::ACK) => {
                self.host_at(h).sockets.tcp_server.remove(&key);
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run_app(
        &mut self,
        h: HostId,
        listener: usize,
        local: SocketAddrV4,
        peer: SocketAddrV4,
        proto: Protocol,
        request: &Payload,
        conv: Option<ConvId>,
    ) -> Vec<u8> {
        let now = self.now;
        let host = self.host_at(h);
        let name = host.name.clone();
        let ctx = AppContext { local, peer, host: &name, proto, now };
        let response = match host.sockets.listener_mut(listener) {
            Some(l) => l.app.respond(&ctx, &request.0),
            None => vec![],
        };
        if let Some(cv) = conv.and_then(|c| self.convs.get_mut(c.0)) {
            cv.served_by = Some(super::ServedBy { host: h, local, peer });
        }
        response
    }

    /// A TCP request or UDP datagram to the application behind `listener`: its answer, or its
    /// upstream.
    #[allow(clippy::too_many_arguments)]
    fn run_handler(
        &mut self,
        h: HostId,
        listener: usize,
        local: SocketAddrV4,
        peer: SocketAddrV4,
        proto: Protocol,
        request: &Payload,
        conv: Option<ConvId>,
    ) -> AppReply {
        let now = self.now;
        let host = self.host_at(h);
        let name = host.name.clone();
        let ctx = AppContext { local, peer, host: &name, proto, now };
        let hung = host.sockets.hung();
        let reply = match host.sockets.listener_mut(listener) {
            // The request sits in the socket's buffer: the process never reads it.
            Some(_) if hung => AppReply::Nothing,
            Some(l) => l.app.handle(&ctx, &request.0),
            None => AppReply::Respond(vec![]),
        };
        if let Some(cv) = conv.and_then(|c| self.convs.get_mut(c.0)) {
            cv.served_by = Some(super::ServedBy { host: h, local, peer });
        }
        reply
    }

    /// Sends an application's answer on the waiting client connection, or opens the upstream
    /// connection it asked for (a conversation of its own from the server's namespace, started
    /// now; the client connection is answered when it ends).
    fn proxy_reply(&mut self, pending: PendingUpstream, reply: AppReply) {
        match reply {
            AppReply::Respond(response) => {
                let p = pending.answer(&response);
                self.local_out(pending.host, p, pending.client_conv);
            }
            AppReply::Later { after, response } => {
                let pkt = Box::new(pending.answer(&response));
                self.schedule(after, NetEvent::Emit { host: pending.host, pkt, conv: pending.client_conv });
            }
            AppReply::Nothing => {}
            AppReply::Upstream(request) => self.open_upstream(pending, request, SimDuration::ZERO),
            AppReply::Also { side, then } => {
                // Background conversations are the application's own, not part of the client's.
                for (delay, request) in side {
                    let own = PendingUpstream { detached: true, client_conv: None, ..pending };
                    self.open_upstream(own, request, delay);
                }
                self.proxy_reply(pending, *then);
            }
        }
    }

    /// Opens an application's upstream conversation from the server's namespace, starting
    /// after `delay`; its end goes back to the application with the request's token.
    fn open_upstream(&mut self, pending: PendingUpstream, request: UpstreamRequest, delay: SimDuration) {
        let UpstreamRequest { proto, dst, request, timeout, token } = request;
        let proto = match proto {
            SockProto::Udp => ConvProto::Udp,
            SockProto::Sctp => ConvProto::Sctp,
            SockProto::Tcp => ConvProto::Tcp,
        };
        let spec =
            ConversationSpec { from: pending.host, proto, dst, payload: request, src_port: None, timeout };
        let up = self.start_conversation(spec);
        if let Some(cv) = self.convs.get_mut(up.0) {
            cv.upstream_of = pending.client_conv;
        }
        if let Some(cv) = pending.client_conv.and_then(|c| self.convs.get_mut(c.0)) {
            cv.upstreams.push(up);
        }
        self.upstreams.insert(up, PendingUpstream { token, ..pending });
        self.schedule(delay, NetEvent::ConvStart(up));
    }

    /// An application's own timer fired (even while its sockets are closed): its conversations
    /// start as background ones (there is no client to answer).
    pub(super) fn app_wake(&mut self, h: HostId, proto: SockProto, local: SocketAddrV4, token: u64) {
        let now = self.now;
        let Some(host) = self.hosts.get_mut(h.0 as usize) else { return };
        let Some(listener) = host.sockets.find_bound(proto, local) else { return };
        let name = host.name.clone();
        let ctx = AppContext { local, peer: local, host: &name, proto: proto.protocol(), now };
        let Some(l) = host.sockets.listener_mut(listener) else { return };
        let reply = l.app.wake(&ctx, token);
        let pending = PendingUpstream {
            proto: proto.protocol(),
            host: h,
            listener,
            local,
            peer: local,
            client_conv: None,
            token,
            detached: true,
        };
        match reply {
            AppReply::Upstream(request) => self.open_upstream(pending, request, SimDuration::ZERO),
            AppReply::Also { side, .. } => {
                for (delay, request) in side {
                    self.open_upstream(pending, request, delay);
                }
            }
            AppReply::Respond(_) | AppReply::Later { .. } | AppReply::Nothing => {}
        }
    }

    /// The upstream connection of a waiting proxy ended: the application decides what next.
    fn resume_proxy(&mut self, pending: PendingUpstream, outcome: &Outcome) {
        let now = self.now;
        let Some(host) = self.hosts.get_mut(pending.host.0 as usize) else { return };
        // The client may have given up meanwhile (its connection is gone): nothing to answer.
        // (A UDP client has no connection to lose: the answer goes out and finds its socket or
        // not.)
        if pending.proto == Protocol::Tcp
            && !pending.detached
            && !host.sockets.tcp_server.contains_key(&(pending.local, pending.peer))
        {
            return;
        }
        let name = host.name.clone();
        let ctx =
            AppContext { local: pending.local, peer: pending.peer, host: &name, proto: pending.proto, now };
        let reply = match host.sockets.listener_mut(pending.listener) {
            Some(l) => l.app.upstream_done(&ctx, pending.token, outcome),
            None => AppReply::Respond(vec![]),
        };
        self.proxy_reply(pending, reply);
    }

    /// The host stack receives an SCTP packet (`sctp_rcv`): a client association, a
    /// listening endpoint, or nobody. A listener answers statelessly until the COOKIE ECHO (as
    /// SCTP's cookie mechanism has it) and runs its application on the DATA request. Nobody:
    /// an out-of-the-blue packet (RFC 9260 8.4, `sctp_sf_ootb`): ABORT, SHUTDOWN COMPLETE and
    /// COOKIE ACK are discarded, a SHUTDOWN ACK is answered with SHUTDOWN COMPLETE, anything
    /// else with ABORT. Departures: no SACKs, verification tags or multi-homing.
    fn deliver_sctp(&mut self, h: HostId, chunk: SctpChunk, pkt: Packet, meta: PacketMeta) {
        let Some((local, peer)) = local_addr(&pkt) else { return };
        let delivered = Disposition::Delivered(Delivery::Socket { proto: Protocol::Sctp, local });
        let answer = |net: &mut Network, chunk: SctpChunk, payload: Payload| {
            let p =
                Packet::sctp(*local.ip(), local.port(), *peer.ip(), peer.port(), chunk).with_payload(payload);
            net.local_out(h, p, meta.conv);
        };
        if let Some(c) = self.host_ref(h).sockets.clients.get(&(SockProto::Sctp, local, peer)).copied() {
            self.finish(h, meta, delivered);
            let Some(cv) = self.convs.get(c.0) else { return };
            let (state, req) = (cv.state, Payload::from_bytes(&cv.spec.payload));
            match (state, chunk) {
                (ClientState::SynSent, SctpChunk::Abort) => self.conv_end(c, Outcome::Refused),
                (_, SctpChunk::Abort) => self.conv_end(c, Outcome::Reset),
                (ClientState::SynSent, SctpChunk::InitAck) => {
                    self.set_state(c, ClientState::Established);
                    self.conv_sctp(c, SctpChunk::CookieEcho, Payload::empty());
                }
                (ClientState::Established, SctpChunk::CookieAck) => {
                    self.set_state(c, ClientState::WaitReply);
                    self.conv_sctp(c, SctpChunk::Data, req);
                }
                (ClientState::WaitReply, SctpChunk::Data) => {
                    if let Some(cv) = self.convs.get_mut(c.0) {
                        cv.response = pkt.payload.0.to_vec();
                        cv.state = ClientState::FinWait;
                    }
                    self.conv_sctp(c, SctpChunk::Shutdown, Payload::empty());
                }
                (ClientState::FinWait, SctpChunk::ShutdownAck) => {
                    self.conv_sctp(c, SctpChunk::ShutdownComplete, Payload::empty());
                    let response = self.convs.get(c.0).map(|cv| cv.response.clone()).unwrap_or_default();
                    self.conv_end(c, Outcome::Completed { response });
                }
                _ => {}
            }
            return;
        }
        if let Some(li) = self.host_ref(h).sockets.find_listener(SockProto::Sctp, local) {
            self.finish(h, meta, delivered);
            match chunk {
                SctpChunk::Init => answer(self, SctpChunk::InitAck, Payload::empty()),
                SctpChunk::CookieEcho => answer(self, SctpChunk::CookieAck, Payload::empty()),
                SctpChunk::Data => {
                    let response = self.run_app(h, li, local, peer, Protocol::Sctp, &pkt.payload, meta.conv);
                    answer(self, SctpChunk::Data, Payload::from_bytes(&response));
                }
                SctpChunk::Shutdown => answer(self, SctpChunk::ShutdownAck, Payload::empty()),
                SctpChunk::Heartbeat => answer(self, SctpChunk::HeartbeatAck, Payload::empty()),
                _ => {}
            }
            return;
        }
        let d = if chunk == SctpChunk::Init { Disposition::NoListener } else { Disposition::NoSocket };
        self.finish(h, meta, d);
        match chunk {
            SctpChunk::Abort | SctpChunk::ShutdownComplete | SctpChunk::CookieAck => {}
            SctpChunk::ShutdownAck => answer(self, SctpChunk::ShutdownComplete, Payload::empty()),
            _ => answer(self, SctpChunk::Abort, Payload::empty()),
        }
    }

    fn deliver_udp(&mut self, h: HostId, pkt: Packet, meta: PacketMeta) {
        let Some((local, peer)) = local_addr(&pkt) else { return };
        let delivered = Disposition::Delivered(Delivery::Socket { proto: Protocol::Udp, local });
        if let Some(c) = self.host_ref(h).sockets.clients.get(&(SockProto::Udp, local, peer)).copied() {
            self.finish(h, meta, delivered);
            let Some(cv) = self.convs.get_mut(c.0) else { return };
            cv.responses.push(pkt.payload.0.to_vec());
            if cv.responses.len() > cv.more.len() {
                let response = cv.responses[0].clone();
                self.conv_end(c, Outcome::Completed { response });
            }
            return;
        }
        if let Some(li) = self.host_ref(h).sockets.find_listener(SockProto::Udp, local) {
            self.finish(h, meta, delivered);
            let reply = self.run_handler(h, li, local, peer, Protocol::Udp, &pkt.payload, meta.conv);
            let pending = PendingUpstream {
                proto: Protocol::Udp,
                host: h,
                listener: li,
                local,
                peer,
                client_conv: meta.conv,
                token: 0,
                detached: false,
            };
            self.proxy_reply(pending, reply);
            return;
        }
        // A connected socket on this port talking to someone else: the datagram is stray.
        let stray = self.host_ref(h).sockets.port_in_use(SockProto::Udp, local);
        self.finish(h, meta, if stray { Disposition::NoSocket } else { Disposition::NoListener });
        self.icmp_error(h, &pkt, unreach::PORT, meta.conv);
    }
}
