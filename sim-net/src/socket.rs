//! Sockets of one network namespace: listening TCP sockets and bound UDP sockets that hand a
//! request's bytes to an [`Application`], the server half of TCP connections, and the
//! registrations of client conversations (connected sockets and ping identifiers).
//!
//! Demultiplexing follows the kernel's order: an exact 4-tuple (connected socket) first, then
//! a socket bound to the destination address, then one bound to `0.0.0.0`
//! (`__inet_lookup`, `__udp4_lib_lookup`). TCP is reduced to its segments' flags: no sequence
//! numbers, windows or retransmission of data; one request and one response per connection.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

use sim_core::{SimDuration, SimTime};

use crate::network::{ConvId, Outcome};
use crate::wire::Protocol;

/// What a server application sees of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppContext<'a> {
    /// The address and port the request arrived on (after any DNAT).
    pub local: SocketAddrV4,
    /// The client as this server sees it (after any SNAT/MASQUERADE).
    pub peer: SocketAddrV4,
    /// The serving host's name.
    pub host: &'a str,
    /// TCP or UDP.
    pub proto: Protocol,
    /// The simulated time the request arrived (servers' `Date` headers).
    pub now: SimTime,
}

/// A server program: answers one request's bytes with response bytes.
pub trait Application {
    /// The response to `request`.
    fn respond(&mut self, ctx: &AppContext<'_>, request: &[u8]) -> Vec<u8>;

    /// What to do with a TCP request or a UDP datagram: answer now, later, not at all, or (a
    /// proxy) first open a conversation of its own to an upstream and answer when that one
    /// ends. The default answers now.
    fn handle(&mut self, ctx: &AppContext<'_>, request: &[u8]) -> AppReply {
        AppReply::Respond(self.respond(ctx, request))
    }

    /// The upstream connection asked for by [`AppReply::Upstream`] ended with `outcome`; what
    /// to do next (answer the client, or try another upstream). The default closes the
    /// client's request with an empty answer.
    fn upstream_done(&mut self, _ctx: &AppContext<'_>, _token: u64, _outcome: &Outcome) -> AppReply {
        AppReply::Respond(Vec::new())
    }

    /// A timer of the application's own ([`crate::network::Network::wake_app`]) fired: a
    /// start-up task, a periodic check. It may open conversations of its own
    /// ([`AppReply::Upstream`], [`AppReply::Also`]), whose ends reach
    /// [`Application::upstream_done`]; there is no client, so an answer is dropped. The
    /// default does nothing.
    fn wake(&mut self, _ctx: &AppContext<'_>, _token: u64) -> AppReply {
        AppReply::Nothing
    }
}

/// What an application does with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppReply {
    /// Send these bytes back now.
    Respond(Vec<u8>),
    /// Open a client connection from this namespace first (a reverse proxy's second hop, a DNS
    /// forwarder's query); the client waits. When it ends, [`Application::upstream_done`]
    /// decides.
    Upstream(UpstreamRequest),
    /// Send these bytes back after `after` (a slow server): the reply leaves the host's stack
    /// then, as an ordinary packet.
    Later {
        /// How long the application takes.
        after: SimDuration,
        /// The reply.
        response: Vec<u8>,
    },
    /// Send nothing (a server that swallows the request: the client times out).
    Nothing,
    /// Also open these conversations of the application's own, each after its delay (a
    /// forwarder's health-check probes), then do `then` for the client. Their ends reach
    /// [`Application::upstream_done`] with their tokens like any upstream's; the client is
    /// not waiting for them (what the application returns for one is done as for the
    /// client, so it returns [`AppReply::Nothing`] or another `Also`).
    Also {
        /// The conversations and their delays.
        side: Vec<(SimDuration, UpstreamRequest)>,
        /// What the client gets.
        then: Box<AppReply>,
    },
}

/// A connection a proxying application opens on behalf of its client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamRequest {
    /// TCP (a connection with one request and one response) or UDP (one datagram and its
    /// answer).
    pub proto: SockProto,
    /// Where to (the proxy's choice of upstream: an endpoint address, or a service address).
    pub dst: SocketAddrV4,
    /// The request bytes it sends.
    pub request: Vec<u8>,
    /// Give up after this long (the proxy's connect/read timeout).
    pub timeout: SimDuration,
    /// The application's own label for this attempt, handed back to `upstream_done`.
    pub token: u64,
}

/// Any `FnMut(&AppContext, &[u8]) -> Vec<u8>` is an application.
impl<F: FnMut(&AppContext<'_>, &[u8]) -> Vec<u8>> Application for F {
    fn respond(&mut self, ctx: &AppContext<'_>, request: &[u8]) -> Vec<u8> {
        self(ctx, request)
    }
}

/// Echoes the request.
#[derive(Clone, Copy, Debug, Default)]
pub struct EchoApp;

impl Application for EchoApp {
    fn respond(&mut self, _ctx: &AppContext<'_>, request: &[u8]) -> Vec<u8> {
        request.to_vec()
    }
}

/// Answers with the serving host's name and the client address it saw, like the echoserver
/// images of the articles (`hostname=web-1 client=10.244.1.0:40012`).
#[derive(Clone, Copy, Debug, Default)]
pub struct WhoAmIApp;

impl Application for WhoAmIApp {
    fn respond(&mut self, ctx: &AppContext<'_>, _request: &[u8]) -> Vec<u8> {
        format!("hostname={} client={}\n", ctx.host, ctx.peer).into_bytes()
    }
}

/// Transport protocol of a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SockProto {
    /// Stream.
    Tcp,
    /// Datagram.
    Udp,
    /// SCTP (one-to-one style, `SOCK_STREAM` with `IPPROTO_SCTP`).
    Sctp,
}

impl SockProto {
    /// The wire protocol.
    pub fn protocol(self) -> Protocol {
        match self {
            SockProto::Tcp => Protocol::Tcp,
            SockProto::Udp => Protocol::Udp,
            SockProto::Sctp => Protocol::Sctp,
        }
    }
}

impl fmt::Display for SockProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.protocol().name())
    }
}

/// A bound server socket.
pub struct Listener {
    /// Protocol.
    pub proto: SockProto,
    /// Bound address (`0.0.0.0` = any) and port.
    pub addr: SocketAddrV4,
    /// The program behind it.
    pub app: Box<dyn Application>,
    /// The program exited and its socket is closed ([`Sockets::set_closed`]): packets find no
    /// socket, as in the kernel, while the application's state waits for the restart to bind
    /// the port again.
    closed: bool,
}

impl Listener {
    /// Whether the socket is closed (its program is not running).
    pub fn closed(&self) -> bool {
        self.closed
    }
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Listener({} {})", self.proto, self.addr)
    }
}

/// The server half of a TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerTcpState {
    /// SYN received, SYN-ACK sent.
    SynRecv,
    /// Handshake done.
    Established,
    /// Our FIN sent after the peer's; waiting for the last ACK.
    LastAck,
}

/// A server-side TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerConn {
    /// Index of the listener that accepted it.
    pub listener: usize,
    /// State.
    pub state: ServerTcpState,
    /// The conversation the first segment belonged to (bookkeeping for reports only).
    pub conv: Option<ConvId>,
}

/// A socket's state as the kernel reports it to `ss` (`sock_diag`) and in `/proc/net/tcp`
/// (`include/net/tcp_states.h`). UDP sockets are `Established` when connected, else `Close`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SocketState {
    /// `TCP_ESTABLISHED`.
    Established,
    /// `TCP_SYN_SENT`.
    SynSent,
    /// `TCP_SYN_RECV`.
    SynRecv,
    /// `TCP_FIN_WAIT1`.
    FinWait1,
    /// `TCP_TIME_WAIT`: the side that closed first, for [`TIME_WAIT_LEN`] after the last ACK.
    TimeWait,
    /// `TCP_CLOSE` (an unconnected UDP socket).
    Close,
    /// `TCP_LAST_ACK`.
    LastAck,
    /// `TCP_LISTEN`.
    Listen,
}

impl SocketState {
    /// iproute2 `ss`'s spelling (`sstate_name` in misc/ss.c).
    pub fn ss_name(self) -> &'static str {
        match self {
            SocketState::Established => "ESTAB",
            SocketState::SynSent => "SYN-SENT",
            SocketState::SynRecv => "SYN-RECV",
            SocketState::FinWait1 => "FIN-WAIT-1",
            SocketState::TimeWait => "TIME-WAIT",
            SocketState::Close => "UNCONN",
            SocketState::LastAck => "LAST-ACK",
            SocketState::Listen => "LISTEN",
        }
    }

    /// net-tools' and busybox `netstat`'s spelling of a TCP state (`tcp_state[]`).
    pub fn netstat_name(self) -> &'static str {
        match self {
            SocketState::Established => "ESTABLISHED",
            SocketState::SynSent => "SYN_SENT",
            SocketState::SynRecv => "SYN_RECV",
            SocketState::FinWait1 => "FIN_WAIT1",
            SocketState::TimeWait => "TIME_WAIT",
            SocketState::Close => "CLOSE",
            SocketState::LastAck => "LAST_ACK",
            SocketState::Listen => "LISTEN",
        }
    }
}

/// How long a connection's first closer stays in TIME-WAIT (`TCP_TIMEWAIT_LEN`, 60 s).
pub const TIME_WAIT_LEN: SimDuration = SimDuration::from_secs(60);

/// The backlog a simulated server listens with: `SOMAXCONN`, 4096 since Linux 5.4, the cap
/// `listen(2)` applies and what Go servers ask for. `ss` shows it as a listener's Send-Q.
pub const LISTEN_BACKLOG: u32 = 4096;

/// One socket of a namespace as `ss` and `netstat` list it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketEntry {
    /// Protocol.
    pub proto: SockProto,
    /// State.
    pub state: SocketState,
    /// Local address and port (`0.0.0.0` = any).
    pub local: SocketAddrV4,
    /// Peer address and port; `0.0.0.0:0` for a listener or an unconnected UDP socket.
    pub peer: SocketAddrV4,
    /// Bytes received and not read (always 0 in the model: applications read at once).
    pub recv_q: u32,
    /// Bytes sent and not acknowledged; for a listener, its backlog.
    pub send_q: u32,
}

/// A bind that conflicts with an existing socket (`EADDRINUSE`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bind {proto} {addr}: address already in use")]
pub struct AddrInUse {
    /// Protocol.
    pub proto: SockProto,
    /// Address.
    pub addr: SocketAddrV4,
}

/// All sockets of a namespace.
#[derive(Debug, Default)]
pub struct Sockets {
    listeners: Vec<Listener>,
    /// Server-side TCP connections by (local, peer).
    pub(crate) tcp_server: BTreeMap<(SocketAddrV4, SocketAddrV4), ServerConn>,
    /// Client connected sockets by (proto, local, peer).
    pub(crate) clients: BTreeMap<(SockProto, SocketAddrV4, SocketAddrV4), ConvId>,
    /// Ping sockets by ICMP identifier.
    pub(crate) pings: BTreeMap<u16, ConvId>,
    /// The namespace's server process hangs ([`Sockets::set_hung`]).
    hung: bool,
}

impl Sockets {
    /// Makes the applications behind the listeners hang (`true`) or run again: the kernel still
    /// completes TCP handshakes and takes datagrams for the bound sockets, but no request is
    /// read and nothing is answered, as when the server process is stuck (deadlocked, paused,
    /// starved). Client sockets of the namespace are not affected.
    pub fn set_hung(&mut self, hung: bool) {
        self.hung = hung;
    }

    /// Whether the server applications hang.
    pub fn hung(&self) -> bool {
        self.hung
    }

    /// Binds a server socket.
    pub fn listen(
        &mut self,
        proto: SockProto,
        addr: SocketAddrV4,
        app: Box<dyn Application>,
    ) -> Result<usize, AddrInUse> {
        let clash = self.listeners.iter().any(|l| {
            l.proto == proto
                && l.addr.port() == addr.port()
                && (l.addr.ip() == addr.ip() || l.addr.ip().is_unspecified() || addr.ip().is_unspecified())
        });
        if clash {
            return Err(AddrInUse { proto, addr });
        }
        self.listeners.push(Listener { proto, addr, app, closed: false });
        Ok(self.listeners.len() - 1)
    }

    /// The program behind the server sockets bound to `port` (every protocol) exited
    /// (`closed`) or has started again and bound them anew. A closed socket is not found: a
    /// datagram to it is answered with ICMP port unreachable and a SYN with RST, and the
    /// connections it had accepted are gone. Returns how many sockets changed.
    pub fn set_closed(&mut self, port: u16, closed: bool) -> usize {
        let mut n = 0;
        for l in self.listeners.iter_mut().filter(|l| l.addr.port() == port && l.closed != closed) {
            l.closed = closed;
            n += 1;
        }
        if closed && n > 0 {
            self.tcp_server.retain(|(local, _), _| local.port() != port);
        }
        n
    }

    /// The open listener for a packet to `local`: exact address first, then the wildcard.
    pub fn find_listener(&self, proto: SockProto, local: SocketAddrV4) -> Option<usize> {
        let by = |want: Ipv4Addr| {
            self.listeners.iter().position(|l| {
                !l.closed && l.proto == proto && l.addr.port() == local.port() && *l.addr.ip() == want
            })
        };
        by(*local.ip()).or_else(|| by(Ipv4Addr::UNSPECIFIED))
    }

    /// The listener bound to `local` whether or not it is closed: a program's own timers
    /// reach it while its sockets do not take packets (a server still starting up).
    pub fn find_bound(&self, proto: SockProto, local: SocketAddrV4) -> Option<usize> {
        let by = |want: Ipv4Addr| {
            self.listeners
                .iter()
                .position(|l| l.proto == proto && l.addr.port() == local.port() && *l.addr.ip() == want)
        };
        by(*local.ip()).or_else(|| by(Ipv4Addr::UNSPECIFIED))
    }

    /// A listener by index.
    pub fn listener_mut(&mut self, i: usize) -> Option<&mut Listener> {
        self.listeners.get_mut(i)
    }

    /// The bound server sockets.
    pub fn listeners(&self) -> &[Listener] {
        &self.listeners
    }

    /// The server process died: every connection it had accepted is gone (the listeners stay,
    /// for the restarted process). A later segment of such a connection meets no socket and is
    /// answered with RST. Not modelled: the FIN the kernel sends when it closes them.
    pub fn drop_server_connections(&mut self) -> usize {
        let n = self.tcp_server.len();
        self.tcp_server.clear();
        n
    }

    /// True if some client socket uses local `port` for `proto`.
    pub fn port_in_use(&self, proto: SockProto, local: SocketAddrV4) -> bool {
        self.clients.keys().any(|(p, l, _)| *p == proto && l.port() == local.port())
            || self.listeners.iter().any(|l| l.proto == proto && l.addr.port() == local.port())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddrV4 {
        s.parse().unwrap()
    }

    #[test]
    fn a_closed_socket_is_not_found_until_its_program_binds_it_again() {
        let mut s = Sockets::default();
        let udp = s.listen(SockProto::Udp, sa("0.0.0.0:53"), Box::new(EchoApp)).unwrap();
        let tcp = s.listen(SockProto::Tcp, sa("0.0.0.0:53"), Box::new(EchoApp)).unwrap();
        s.listen(SockProto::Tcp, sa("0.0.0.0:8080"), Box::new(EchoApp)).unwrap();
        assert_eq!(s.set_closed(53, true), 2);
        assert_eq!(s.set_closed(53, true), 0);
        assert_eq!(s.find_listener(SockProto::Udp, sa("10.0.0.1:53")), None);
        assert_eq!(s.find_listener(SockProto::Tcp, sa("10.0.0.1:53")), None);
        assert!(s.find_listener(SockProto::Tcp, sa("10.0.0.1:8080")).is_some());
        assert_eq!(s.set_closed(53, false), 2);
        assert_eq!(s.find_listener(SockProto::Udp, sa("10.0.0.1:53")), Some(udp));
        assert_eq!(s.find_listener(SockProto::Tcp, sa("10.0.0.1:53")), Some(tcp));
    }

    #[test]
    fn exact_bind_wins_over_wildcard_and_conflicts_are_refused() {
        let mut s = Sockets::default();
        let any = s.listen(SockProto::Tcp, sa("0.0.0.0:80"), Box::new(EchoApp)).unwrap();
        assert_eq!(s.find_listener(SockProto::Tcp, sa("10.0.0.1:80")), Some(any));
        assert_eq!(s.find_listener(SockProto::Udp, sa("10.0.0.1:80")), None);
        let err = s.listen(SockProto::Tcp, sa("10.0.0.1:80"), Box::new(EchoApp)).unwrap_err();
        assert_eq!(err.to_string(), "bind tcp 10.0.0.1:80: address already in use");
        let mut s = Sockets::default();
        let exact = s.listen(SockProto::Udp, sa("10.0.0.1:53"), Box::new(EchoApp)).unwrap();
        assert_eq!(s.find_listener(SockProto::Udp, sa("10.0.0.1:53")), Some(exact));
        assert_eq!(s.find_listener(SockProto::Udp, sa("10.0.0.2:53")), None);
    }

    #[test]
    fn whoami_reports_host_and_peer() {
        let ctx = AppContext {
            local: sa("10.0.0.1:80"),
            peer: sa("10.0.0.9:40000"),
            host: "web-1",
            proto: Protocol::Tcp,
            now: SimTime::ZERO,
        };
        assert_eq!(WhoAmIApp.respond(&ctx, b"GET /"), b"hostname=web-1 client=10.0.0.9:40000\n".to_vec());
    }
}
