//! Packets as typed data. Packets are not byte-encoded: the fields carry the same information a
//! kernel reads from the IPv4 and transport headers (addresses, ports, TCP flags, ICMP type),
//! as values. Only IPv4 is modelled today; addresses are `Ipv4Addr` so that an IPv6 variant can
//! be added beside it later. Checksums, fragmentation, options and sequence numbers are not
//! modelled.

use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// An IP protocol number as iptables and conntrack name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// ICMP, protocol 1.
    Icmp,
    /// TCP, protocol 6.
    Tcp,
    /// UDP, protocol 17.
    Udp,
    /// SCTP, protocol 132.
    Sctp,
}

impl Protocol {
    /// The IANA protocol number.
    pub const fn number(self) -> u8 {
        match self {
            Protocol::Icmp => 1,
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }
    /// The lower-case name iptables prints (`tcp`).
    pub const fn name(self) -> &'static str {
        match self {
            Protocol::Icmp => "icmp",
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
    /// Parses `tcp`/`TCP`/`6` and friends.
    pub fn parse(s: &str) -> Option<Protocol> {
        // Case-insensitive, without a lowercased copy (iptables-restore parses one per rule).
        const NAMES: [(&str, &str, Protocol); 4] = [
            ("tcp", "6", Protocol::Tcp),
            ("udp", "17", Protocol::Udp),
            ("icmp", "1", Protocol::Icmp),
            ("sctp", "132", Protocol::Sctp),
        ];
        NAMES.iter().find(|(name, num, _)| s.eq_ignore_ascii_case(name) || s == *num).map(|(_, _, p)| *p)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// TCP header flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN: no more data from the sender.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// SYN: synchronize sequence numbers (opens a connection).
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// RST: reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// PSH: push buffered data.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// ACK: the acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x10);

    /// True if every flag in `other` is set.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// The union of two flag sets.
    pub const fn with(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | other.0)
    }
}

/// Prints tcpdump's flag letters: `[S]`, `[S.]`, `[P.]`, `[F.]`, `[R]`.
impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        for (flag, c) in [(Self::SYN, 'S'), (Self::FIN, 'F'), (Self::PSH, 'P'), (Self::RST, 'R')] {
            if self.contains(flag) {
                s.push(c);
            }
        }
        if self.contains(Self::ACK) {
            s.push('.');
        }
        write!(f, "[{s}]")
    }
}

/// The SCTP chunk a packet carries (the model sends one chunk per packet; RFC 9260 chunk type
/// numbers). What `-m sctp --chunk-types`, conntrack's state table and a receiving stack read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SctpChunk {
    /// 0: user data.
    Data,
    /// 1: opens an association.
    Init,
    /// 2: the answer to INIT (carries the state cookie).
    InitAck,
    /// 3: selective acknowledgement.
    Sack,
    /// 4: heartbeat request.
    Heartbeat,
    /// 5: heartbeat acknowledgement.
    HeartbeatAck,
    /// 6: aborts an association (also the answer to an out-of-the-blue packet).
    Abort,
    /// 7: graceful close.
    Shutdown,
    /// 8: the answer to SHUTDOWN.
    ShutdownAck,
    /// 9: operation error.
    Error,
    /// 10: echoes the cookie back.
    CookieEcho,
    /// 11: the association is up.
    CookieAck,
    /// 14: the close is complete.
    ShutdownComplete,
}

impl SctpChunk {
    /// The chunk type number.
    pub const fn number(self) -> u8 {
        match self {
            SctpChunk::Data => 0,
            SctpChunk::Init => 1,
            SctpChunk::InitAck => 2,
            SctpChunk::Sack => 3,
            SctpChunk::Heartbeat => 4,
            SctpChunk::HeartbeatAck => 5,
            SctpChunk::Abort => 6,
            SctpChunk::Shutdown => 7,
            SctpChunk::ShutdownAck => 8,
            SctpChunk::Error => 9,
            SctpChunk::CookieEcho => 10,
            SctpChunk::CookieAck => 11,
            SctpChunk::ShutdownComplete => 14,
        }
    }
    /// The name tcpdump prints in brackets (`INIT`, `INIT ACK`, `COOKIE ECHO` ...).
    pub const fn tcpdump_name(self) -> &'static str {
        match self {
            SctpChunk::Data => "DATA",
            SctpChunk::Init => "INIT",
            SctpChunk::InitAck => "INIT ACK",
            SctpChunk::Sack => "SACK",
            SctpChunk::Heartbeat => "HB REQ",
            SctpChunk::HeartbeatAck => "HB ACK",
            SctpChunk::Abort => "ABORT",
            SctpChunk::Shutdown => "SHUTDOWN",
            SctpChunk::ShutdownAck => "SHUTDOWN ACK",
            SctpChunk::Error => "OP ERR",
            SctpChunk::CookieEcho => "COOKIE ECHO",
            SctpChunk::CookieAck => "COOKIE ACK",
            SctpChunk::ShutdownComplete => "SHUTDOWN COMPLETE",
        }
    }
}

/// ICMP messages the model generates and understands.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Icmp {
    /// Type 8: echo request (`ping`).
    EchoRequest { id: u16, seq: u16 },
    /// Type 0: echo reply.
    EchoReply { id: u16, seq: u16 },
    /// Type 3: destination unreachable with its code (1 host, 3 port, 9/10/13 prohibited ...),
    /// quoting the header of the packet that caused it.
    DestUnreachable { code: u8, original: Box<Packet> },
    /// Type 11 code 0: TTL exceeded in transit, quoting the offending packet.
    TimeExceeded { original: Box<Packet> },
}

impl Icmp {
    /// The ICMP type number.
    pub fn icmp_type(&self) -> u8 {
        match self {
            Icmp::EchoReply { .. } => 0,
            Icmp::DestUnreachable { .. } => 3,
            Icmp::EchoRequest { .. } => 8,
            Icmp::TimeExceeded { .. } => 11,
        }
    }
    /// The ICMP code.
    pub fn code(&self) -> u8 {
        match self {
            Icmp::DestUnreachable { code, .. } => *code,
            _ => 0,
        }
    }
}

/// ICMP destination-unreachable codes used by the model (RFC 792, RFC 1812).
pub mod unreach {
    /// Network unreachable.
    pub const NET: u8 = 0;
    /// Host unreachable.
    pub const HOST: u8 = 1;
    /// Protocol unreachable.
    pub const PROTO: u8 = 2;
    /// Port unreachable (a closed UDP port, or `REJECT` by default).
    pub const PORT: u8 = 3;
    /// Network administratively prohibited.
    pub const NET_PROHIBITED: u8 = 9;
    /// Host administratively prohibited.
    pub const HOST_PROHIBITED: u8 = 10;
    /// Communication administratively prohibited.
    pub const ADMIN_PROHIBITED: u8 = 13;
}

/// The transport header.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// A TCP segment.
    Tcp { sport: u16, dport: u16, flags: TcpFlags },
    /// A UDP datagram.
    Udp { sport: u16, dport: u16 },
    /// An ICMP message.
    Icmp(Icmp),
    /// An SCTP packet carrying one chunk.
    Sctp { sport: u16, dport: u16, chunk: SctpChunk },
}

impl Transport {
    /// The protocol of this header.
    pub fn protocol(&self) -> Protocol {
        match self {
            Transport::Tcp { .. } => Protocol::Tcp,
            Transport::Udp { .. } => Protocol::Udp,
            Transport::Icmp(_) => Protocol::Icmp,
            Transport::Sctp { .. } => Protocol::Sctp,
        }
    }
    /// Source and destination ports (TCP/UDP/SCTP).
    pub fn ports(&self) -> Option<(u16, u16)> {
        match self {
            Transport::Tcp { sport, dport, .. }
            | Transport::Udp { sport, dport }
            | Transport::Sctp { sport, dport, .. } => Some((*sport, *dport)),
            Transport::Icmp(_) => None,
        }
    }
    /// Rewrites the ports (no-op for ICMP).
    pub fn set_ports(&mut self, s: u16, d: u16) {
        match self {
            Transport::Tcp { sport, dport, .. }
            | Transport::Udp { sport, dport }
            | Transport::Sctp { sport, dport, .. } => {
                *sport = s;
                *dport = d;
            }
            Transport::Icmp(_) => {}
        }
    }
}

/// Application bytes carried by a packet (an HTTP request, a DNS message ...). Shared, so that
/// copying a packet through NAT and tracing does not copy the payload.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Payload(pub Arc<[u8]>);

impl Payload {
    /// No payload.
    pub fn empty() -> Self {
        Payload(Arc::from(&[][..]))
    }
    /// A payload holding `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Payload(Arc::from(bytes))
    }
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An IPv4 packet with its kernel metadata (`mark` is the skb mark, not a header field).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Packet {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Time to live, decremented on every forward.
    pub ttl: u8,
    /// The skb mark (`-j MARK`, `-m mark`); 0 when the packet is created.
    pub mark: u32,
    /// The transport header.
    pub transport: Transport,
    /// Application data.
    pub payload: Payload,
}

/// The most of an offending datagram an ICMP error quotes: 576 − 20 (IP) − 8 (ICMP), the
/// `room` of the kernel's `icmp_send`.
pub const ICMP_ERROR_QUOTE_MAX: u64 = 548;

/// Linux's default TTL for locally generated packets (`net.ipv4.ip_default_ttl`).
pub const DEFAULT_TTL: u8 = 64;

impl Packet {
    /// A TCP segment with the default TTL and no payload.
    pub fn tcp(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, flags: TcpFlags) -> Packet {
        Packet::new(src, dst, Transport::Tcp { sport, dport, flags })
    }
    /// A UDP datagram with the default TTL and no payload.
    pub fn udp(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16) -> Packet {
        Packet::new(src, dst, Transport::Udp { sport, dport })
    }
    /// An SCTP packet carrying `chunk`, with the default TTL and no payload.
    pub fn sctp(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, chunk: SctpChunk) -> Packet {
        Packet::new(src, dst, Transport::Sctp { sport, dport, chunk })
    }
    /// An ICMP message with the default TTL.
    pub fn icmp(src: Ipv4Addr, dst: Ipv4Addr, msg: Icmp) -> Packet {
        Packet::new(src, dst, Transport::Icmp(msg))
    }
    /// A packet with the default TTL, mark 0 and no payload.
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr, transport: Transport) -> Packet {
        Packet { src, dst, ttl: DEFAULT_TTL, mark: 0, transport, payload: Payload::empty() }
    }
    /// The same packet carrying `payload`.
    pub fn with_payload(mut self, payload: Payload) -> Packet {
        self.payload = payload;
        self
    }
    /// The protocol of the transport header.
    pub fn protocol(&self) -> Protocol {
        self.transport.protocol()
    }
    /// Total length on the wire in bytes (IPv4 20 + TCP 20 / UDP 8 / ICMP 8 / SCTP common
    /// header 12 and a chunk header 4 + payload; an ICMP error's payload is the quoted
    /// datagram, at most 548 bytes of it), as
    /// iptables' byte counters count it.
    pub fn len(&self) -> u64 {
        let l4 = match &self.transport {
            Transport::Tcp { .. } => 20,
            Transport::Udp { .. } => 8,
            Transport::Sctp { .. } => 16,
            // icmp_send quotes as much of the offending datagram as fits 576 bytes.
            Transport::Icmp(Icmp::DestUnreachable { original, .. } | Icmp::TimeExceeded { original }) => {
                8 + original.len().min(ICMP_ERROR_QUOTE_MAX)
            }
            Transport::Icmp(_) => 8,
        };
        20 + l4 + self.payload.len() as u64
    }
    /// Never empty: a packet always has headers. Present for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// One line in tcpdump's spirit: `10.0.0.1.40000 > 10.96.0.10.53: UDP` or
/// `10.0.0.1.40000 > 10.0.0.2.80: Flags [S]`.
impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.transport {
            Transport::Tcp { sport, dport, flags } => {
                write!(f, "{}.{} > {}.{}: Flags {}", self.src, sport, self.dst, dport, flags)?;
                if !self.payload.is_empty() {
                    write!(f, ", length {}", self.payload.len())?;
                }
                Ok(())
            }
            Transport::Udp { sport, dport } => {
                write!(
                    f,
                    "{}.{} > {}.{}: UDP, length {}",
                    self.src,
                    sport,
                    self.dst,
                    dport,
                    self.payload.len()
                )
            }
            // tcpdump: `10.0.0.1.40000 > 10.0.0.2.80: sctp (1) [INIT]`.
            Transport::Sctp { sport, dport, chunk } => {
                write!(
                    f,
                    "{}.{} > {}.{}: sctp (1) [{}]",
                    self.src,
                    sport,
                    self.dst,
                    dport,
                    chunk.tcpdump_name()
                )
            }
            Transport::Icmp(m) => match m {
                Icmp::EchoRequest { id, seq } => {
                    write!(f, "{} > {}: ICMP echo request, id {id}, seq {seq}", self.src, self.dst)
                }
                Icmp::EchoReply { id, seq } => {
                    write!(f, "{} > {}: ICMP echo reply, id {id}, seq {seq}", self.src, self.dst)
                }
                Icmp::DestUnreachable { code, original } => {
                    let what = match (*code, original.transport.ports()) {
                        (unreach::PORT, Some((_, d))) => {
                            format!("{} {} port {d} unreachable", original.dst, original.protocol())
                        }
                        (unreach::HOST, _) => format!("host {} unreachable", original.dst),
                        (unreach::NET, _) => format!("net {} unreachable", original.dst),
                        (unreach::ADMIN_PROHIBITED, _) => {
                            format!("host {} unreachable - admin prohibited filter", original.dst)
                        }
                        (c, _) => format!("{} unreachable, code {c}", original.dst),
                    };
                    write!(f, "{} > {}: ICMP {what}", self.src, self.dst)
                }
                Icmp::TimeExceeded { .. } => {
                    write!(f, "{} > {}: ICMP time exceeded in-transit", self.src, self.dst)
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcpdump_style_display() {
        let p = Packet::tcp(Ipv4Addr::new(10, 0, 0, 1), 40000, Ipv4Addr::new(10, 0, 0, 2), 80, TcpFlags::SYN);
        assert_eq!(p.to_string(), "10.0.0.1.40000 > 10.0.0.2.80: Flags [S]");
        let ack = TcpFlags::SYN.with(TcpFlags::ACK);
        assert_eq!(ack.to_string(), "[S.]");
        let u = Packet::udp(Ipv4Addr::new(10, 0, 0, 1), 5353, Ipv4Addr::new(10, 96, 0, 10), 53)
            .with_payload(Payload::from_bytes(b"abc"));
        assert_eq!(u.to_string(), "10.0.0.1.5353 > 10.96.0.10.53: UDP, length 3");
        assert_eq!(u.len(), 31);
        let s = Packet::sctp(
            Ipv4Addr::new(10, 0, 0, 1),
            40000,
            Ipv4Addr::new(10, 0, 0, 2),
            80,
            SctpChunk::InitAck,
        );
        assert_eq!(s.to_string(), "10.0.0.1.40000 > 10.0.0.2.80: sctp (1) [INIT ACK]");
        assert_eq!(s.transport.ports(), Some((40000, 80)));
    }
}
