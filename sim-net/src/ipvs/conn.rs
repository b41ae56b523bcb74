//! IPVS's own connection table (`struct ip_vs_conn`, `net/netfilter/ipvs/ip_vs_conn.c`),
//! separate from netfilter conntrack: one entry per client connection to a virtual service,
//! looked up from the client side (`ip_vs_conn_in_get`: protocol, client address:port,
//! virtual address:port) and from the real-server side (`ip_vs_conn_out_get`: protocol, real
//! server address:port, client address:port), with IPVS's TCP state machine and timeouts
//! (`ip_vs_proto_tcp.c`: `tcp_states`, `tcp_timeouts`) and persistence templates (entries
//! with client port 0 keyed by the masked client address, `IP_VS_CONN_F_TEMPLATE`).
//!
//! Expiry is in simulated time: an entry dies when `expires` passes, unless it is a template
//! still controlling connections, which is re-armed for 60 s (and keeps that timeout), as
//! `ip_vs_conn_expire` does. Left out: the connection hash layout (listing order is creation
//! order), the secure_tcp state table, connection synchronisation.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddrV4;

use indexmap::IndexMap;
use sim_core::hash::FxBuildHasher as FxBuild;
use sim_core::{SimDuration, SimTime};

use crate::wire::TcpFlags;

use super::dest::ForwardMethod;
use super::service::{IpvsProto, ServiceKey};

/// IPVS's TCP states (`IP_VS_TCP_S_*`, in the kernel's order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TcpState {
    /// `NONE`: just created.
    None,
    /// `ESTABLISHED`.
    Established,
    /// `SYN_SENT`.
    SynSent,
    /// `SYN_RECV`.
    SynRecv,
    /// `FIN_WAIT`.
    FinWait,
    /// `TIME_WAIT`.
    TimeWait,
    /// `CLOSE`.
    Close,
    /// `CLOSE_WAIT`.
    CloseWait,
    /// `LAST_ACK`.
    LastAck,
    /// `LISTEN`.
    Listen,
    /// `SYNACK`.
    SynAck,
}

use TcpState as S;

impl TcpState {
    /// All states in the kernel's order (the index of `tcp_timeouts`).
    pub const ALL: [TcpState; 11] = [
        S::None,
        S::Established,
        S::SynSent,
        S::SynRecv,
        S::FinWait,
        S::TimeWait,
        S::Close,
        S::CloseWait,
        S::LastAck,
        S::Listen,
        S::SynAck,
    ];

    /// The name `ipvsadm -Lnc` prints (`tcp_state_name_table`).
    pub const fn name(self) -> &'static str {
        match self {
            S::None => "NONE",
            S::Established => "ESTABLISHED",
            S::SynSent => "SYN_SENT",
            S::SynRecv => "SYN_RECV",
            S::FinWait => "FIN_WAIT",
            S::TimeWait => "TIME_WAIT",
            S::Close => "CLOSE",
            S::CloseWait => "CLOSE_WAIT",
            S::LastAck => "LAST_ACK",
            S::Listen => "LISTEN",
            S::SynAck => "SYNACK",
        }
    }

    fn index(self) -> usize {
        TcpState::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// Which way a packet goes relative to the connection (`IP_VS_DIR_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketDir {
    /// Client → real server.
    Input,
    /// Real server → client (seen only with Masq).
    Output,
}

/// `tcp_states[]` (not the secure_tcp table): rows syn, fin, ack, rst for INPUT, OUTPUT and
/// INPUT_ONLY; columns are the current state in [`TcpState::ALL`] order.
const TCP_STATES: [[[TcpState; 11]; 4]; 3] = [
    // INPUT
    [
        [
            S::SynRecv,
            S::Established,
            S::Established,
            S::SynRecv,
            S::SynRecv,
            S::SynRecv,
            S::SynRecv,
            S::SynRecv,
            S::SynRecv,
            S::SynRecv,
            S::SynRecv,
        ],
        [
            S::Close,
            S::CloseWait,
            S::SynSent,
            S::TimeWait,
            S::TimeWait,
            S::TimeWait,
            S::Close,
            S::CloseWait,
            S::LastAck,
            S::Listen,
            S::TimeWait,
        ],
        [
            S::Close,
            S::Established,
            S::SynSent,
            S::Established,
            S::FinWait,
            S::TimeWait,
            S::Close,
            S::CloseWait,
            S::Close,
            S::Listen,
            S::Established,
        ],
        [
            S::Close,
            S::Close,
            S::Close,
            S::SynRecv,
            S::Close,
            S::Close,
            S::Close,
            S::Close,
            S::LastAck,
            S::Listen,
            S::SynRecv,
        ],
    ],
    // OUTPUT
    [
        [
            S::SynSent,
            S::Established,
            S::SynSent,
            S::SynRecv,
            S::SynSent,
            S::SynSent,
            S::SynSent,
            S::SynSent,
            S::SynSent,
            S::Listen,
            S::SynRecv,
        ],
        [
            S::TimeWait,
            S::FinWait,
            S::SynSent,
            S::TimeWait,
            S::FinWait,
            S::TimeWait,
            S::Close,
            S::TimeWait,
            S::LastAck,
            S::Listen,
            S::TimeWait,
        ],
        [
            S::Established,
            S::Established,
            S::SynSent,
            S::Established,
            S::FinWait,
            S::TimeWait,
            S::Close,
            S::CloseWait,
            S::LastAck,
            S::Established,
            S::Established,
        ],
        [
            S::Close,
            S::Close,
            S::SynSent,
            S::Close,
            S::Close,
            S::TimeWait,
            S::Close,
            S::Close,
            S::Close,
            S::Close,
            S::Close,
        ],
    ],
    // INPUT_ONLY
    [
        [
            S::SynRecv,
            S::Established,
            S::Established,
            S::SynRecv,
            S::SynRecv,
            S::SynRecv,
            S::SynRecv,
            S::SynRecv,
            S::SynRecv,
            S::SynRecv,
            S::SynRecv,
        ],
        [
            S::Close,
            S::FinWait,
            S::SynSent,
            S::TimeWait,
            S::FinWait,
            S::TimeWait,
            S::Close,
            S::CloseWait,
            S::LastAck,
            S::Listen,
            S::TimeWait,
        ],
        [
            S::Close,
            S::Established,
            S::SynSent,
            S::Established,
            S::FinWait,
            S::TimeWait,
            S::Close,
            S::CloseWait,
            S::Close,
            S::Listen,
            S::Established,
        ],
        [
            S::Close,
            S::Close,
            S::Close,
            S::SynRecv,
            S::Close,
            S::Close,
            S::Close,
            S::Close,
            S::LastAck,
            S::Listen,
            S::Close,
        ],
    ],
];

/// `set_tcp_state`'s choice of the next state: the row is the first of RST, SYN, FIN, ACK
/// the segment carries; a segment with none of them moves the connection to CLOSE.
/// `input_only` is a connection forwarded without seeing replies (`IP_VS_CONN_F_NOOUTPUT`:
/// Route and Tunnel).
pub fn tcp_transition(state: TcpState, dir: PacketDir, input_only: bool, flags: TcpFlags) -> TcpState {
    let row = if flags.contains(TcpFlags::RST) {
        3
    } else if flags.contains(TcpFlags::SYN) {
        0
    } else if flags.contains(TcpFlags::FIN) {
        1
    } else if flags.contains(TcpFlags::ACK) {
        2
    } else {
        return S::Close;
    };
    let table = match (dir, input_only) {
        (PacketDir::Output, _) => 1,
        (PacketDir::Input, false) => 0,
        (PacketDir::Input, true) => 2,
    };
    TCP_STATES[table][row][state.index()]
}

/// Connection timeouts in seconds (`tcp_timeouts`, `udp_timeouts`); `ipvsadm --set tcp tcpfin
/// udp` changes ESTABLISHED, FIN_WAIT and UDP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Per TCP state, in [`TcpState::ALL`] order.
    pub tcp: [u64; 11],
    /// UDP (`IP_VS_UDP_S_NORMAL`, 300 s).
    pub udp: u64,
}

impl Default for Timeouts {
    /// The kernel defaults: NONE 2, ESTABLISHED 900, SYN_SENT 120, SYN_RECV 60, FIN_WAIT 120,
    /// TIME_WAIT 120, CLOSE 10, CLOSE_WAIT 60, LAST_ACK 30, LISTEN 120, SYNACK 120; UDP 300.
    fn default() -> Self {
        Timeouts { tcp: [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120], udp: 300 }
    }
}

impl Timeouts {
    /// The timeout of TCP state `s`.
    pub fn tcp_state(&self, s: TcpState) -> SimDuration {
        SimDuration::from_secs(self.tcp[s.index()])
    }
}

/// A connection's protocol state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    /// A TCP connection or template.
    Tcp(TcpState),
    /// A UDP flow (one state, `UDP`) or template.
    Udp,
    /// An SCTP association (one state: the kernel's SCTP state machine is not modelled).
    Sctp,
}

/// The identity of an IPVS connection, in creation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// One entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsConn {
    /// Identity.
    pub id: ConnId,
    /// Protocol.
    pub proto: IpvsProto,
    /// Client address and port (a template: the masked client address and port 0).
    pub client: SocketAddrV4,
    /// Virtual address and port.
    pub vaddr: SocketAddrV4,
    /// The real server.
    pub dest: SocketAddrV4,
    /// The service it was scheduled by.
    pub service: ServiceKey,
    /// Forwarding method (from the real server).
    pub method: ForwardMethod,
    /// Protocol state.
    pub state: ConnState,
    /// A persistence template (`IP_VS_CONN_F_TEMPLATE`).
    pub template: bool,
    /// Counted in the real server's `inactconns` (`IP_VS_CONN_F_INACTIVE`).
    pub inactive: bool,
    /// The template this connection was scheduled through.
    pub control: Option<ConnId>,
    /// Connections this template controls (`n_control`).
    pub n_control: u32,
    /// The current timeout.
    pub timeout: SimDuration,
    /// When it expires unless refreshed.
    pub expires: SimTime,
}

impl IpvsConn {
    /// The state name `ipvsadm -Lnc` prints: the TCP state, `UDP`, or for a template
    /// `NONE` (`ip_vs_ctpl_state_name_table`).
    pub fn state_name(&self) -> &'static str {
        if self.template {
            return "NONE";
        }
        match self.state {
            ConnState::Tcp(s) => s.name(),
            ConnState::Udp => "UDP",
            ConnState::Sctp => "NONE",
        }
    }
}

type InKey = (IpvsProto, SocketAddrV4, SocketAddrV4);

/// How long a template that still controls connections lives on when its timer fires
/// (`cp->timeout = 60*HZ` in `ip_vs_conn_expire`'s `expire_later`).
pub const TEMPLATE_RETRY: SimDuration = SimDuration::from_secs(60);

/// The table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnTable {
    conns: BTreeMap<ConnId, IpvsConn>,
    /// Lookups by either direction's tuple are hashed, as the kernel's `ip_vs_conn_tab` is
    /// (never iterated, so the hash order shows nowhere).
    by_in: IndexMap<InKey, ConnId, FxBuild>,
    by_out: IndexMap<InKey, ConnId, FxBuild>,
    expiry: BTreeSet<(SimTime, ConnId)>,
    next: u64,
}

impl ConnTable {
    /// Number of entries, templates included.
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// Entries in creation order.
    pub fn iter(&self) -> impl Iterator<Item = &IpvsConn> {
        self.conns.values()
    }

    /// An entry.
    pub fn get(&self, id: ConnId) -> Option<&IpvsConn> {
        self.conns.get(&id)
    }

    /// `ip_vs_conn_in_get`: the connection of a client → virtual packet (or a template, for
    /// client port 0).
    pub fn in_get(&self, proto: IpvsProto, client: SocketAddrV4, vaddr: SocketAddrV4) -> Option<ConnId> {
        self.by_in.get(&(proto, client, vaddr)).copied()
    }

    /// `ip_vs_conn_out_get`: the connection of a real server → client packet (Masq only).
    pub fn out_get(&self, proto: IpvsProto, dest: SocketAddrV4, client: SocketAddrV4) -> Option<ConnId> {
        self.by_out.get(&(proto, dest, client)).copied()
    }

    /// Inserts a new entry (its `id` is assigned here) and returns the id.
    pub(crate) fn insert(&mut self, mut c: IpvsConn) -> ConnId {
        let id = ConnId(self.next);
        self.next += 1;
        c.id = id;
        self.by_in.insert((c.proto, c.client, c.vaddr), id);
        if !c.template && c.method == ForwardMethod::Masq {
            self.by_out.insert((c.proto, c.dest, c.client), id);
        }
        self.expiry.insert((c.expires, id));
        self.conns.insert(id, c);
        id
    }

    /// Changes an entry through `f`, keeping the expiry index right.
    pub(crate) fn update<R>(&mut self, id: ConnId, f: impl FnOnce(&mut IpvsConn) -> R) -> Option<R> {
        let c = self.conns.get_mut(&id)?;
        let before = c.expires;
        let r = f(c);
        if c.expires != before {
            self.expiry.remove(&(before, id));
            self.expiry.insert((c.expires, id));
        }
        Some(r)
    }

    /// Removes an entry.
    pub(crate) fn remove(&mut self, id: ConnId) -> Option<IpvsConn> {
        let c = self.conns.remove(&id)?;
        self.expiry.remove(&(c.expires, id));
        if self.by_in.get(&(c.proto, c.client, c.vaddr)) == Some(&id) {
            self.by_in.swap_remove(&(c.proto, c.client, c.vaddr));
        }
        if self.by_out.get(&(c.proto, c.dest, c.client)) == Some(&id) {
            self.by_out.swap_remove(&(c.proto, c.dest, c.client));
        }
        Some(c)
    }

    /// The next entry due to expire by `now`: a template still controlling connections is
    /// re-armed (the kernel's `expire_later`) and not returned.
    pub(crate) fn pop_expired(&mut self, now: SimTime) -> Option<IpvsConn> {
        loop {
            let &(at, id) = self.expiry.iter().next()?;
            if at > now {
                return None;
            }
            let controlling = self.conns.get(&id).is_some_and(|c| c.template && c.n_control > 0);
            if controlling {
                // expire_later: re-armed for 60 s, its timeout from now on.
                self.update(id, |c| {
                    c.timeout = TEMPLATE_RETRY;
                    c.expires = at + TEMPLATE_RETRY;
                });
                continue;
            }
            return self.remove(id);
        }
    }
}

/// `mm:ss` as ipvsadm prints a remaining time.
pub struct Expire(pub u64);

impl fmt::Display for Expire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(flags: &[TcpFlags]) -> TcpFlags {
        flags.iter().fold(TcpFlags(0), |a, b| a.with(*b))
    }

    #[test]
    fn masq_handshake_and_close_walk_the_kernel_table() {
        use PacketDir::{Input, Output};
        let syn = f(&[TcpFlags::SYN]);
        let synack = f(&[TcpFlags::SYN, TcpFlags::ACK]);
        let ack = f(&[TcpFlags::ACK]);
        let finack = f(&[TcpFlags::FIN, TcpFlags::ACK]);
        let mut s = S::None;
        let steps = [
            (Input, syn, S::SynRecv),
            (Output, synack, S::SynRecv),
            (Input, ack, S::Established),
            (Input, finack, S::CloseWait),
            (Output, ack, S::CloseWait),
            (Output, finack, S::TimeWait),
            (Input, ack, S::TimeWait),
        ];
        for (dir, flags, want) in steps {
            s = tcp_transition(s, dir, false, flags);
            assert_eq!(s, want, "{dir:?} {flags:?}");
        }
        // A RST from the client closes an established connection.
        assert_eq!(tcp_transition(S::Established, Input, false, f(&[TcpFlags::RST])), S::Close);
        // Direct routing sees only the client: its FIN goes to FIN_WAIT (INPUT_ONLY table).
        assert_eq!(tcp_transition(S::Established, Input, true, finack), S::FinWait);
        // No flag at all: CLOSE.
        assert_eq!(tcp_transition(S::Established, Input, false, TcpFlags(0)), S::Close);
    }

    #[test]
    fn default_timeouts_are_the_kernels() {
        let t = Timeouts::default();
        assert_eq!(t.tcp_state(S::Established).as_secs(), 900);
        assert_eq!(t.tcp_state(S::SynRecv).as_secs(), 60);
        assert_eq!(t.tcp_state(S::TimeWait).as_secs(), 120);
        assert_eq!(t.tcp_state(S::Close).as_secs(), 10);
        assert_eq!(t.tcp_state(S::LastAck).as_secs(), 30);
        assert_eq!(t.udp, 300);
        assert_eq!(Expire(899).to_string(), "14:59");
    }
}
