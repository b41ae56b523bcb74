//! Conntrack tuples: the `(l3, l4)` identity of one direction of a connection, as
//! `struct nf_conntrack_tuple` in the kernel (`include/net/netfilter/nf_conntrack_tuple.h`).
//!
//! TCP and UDP tuples carry ports; ICMP tuples carry the echo `id` (the kernel stores it in the
//! source "port" slot) and the `type`/`code` (in the destination slot). Inverting an ICMP echo
//! request tuple turns type 8 into type 0, as `icmp_pkt_to_tuple`/`icmp_invert_tuple` do.
//! ICMP errors have no tuple of their own: they are related to the tuple they quote.

use std::fmt;
use std::net::Ipv4Addr;

use crate::wire::{Icmp, Packet, Protocol, Transport};

/// The layer-4 part of a tuple.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum L4Tuple {
    /// TCP source and destination ports.
    Tcp { sport: u16, dport: u16 },
    /// UDP source and destination ports.
    Udp { sport: u16, dport: u16 },
    /// SCTP source and destination ports.
    Sctp { sport: u16, dport: u16 },
    /// ICMP query: type, code and identifier.
    Icmp { icmp_type: u8, code: u8, id: u16 },
}

/// One direction of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tuple {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Ports or ICMP identity.
    pub l4: L4Tuple,
}

/// ICMP query types and the type of their answer (the kernel's `invmap` in
/// `nf_conntrack_proto_icmp.c`): echo, timestamp, info, address mask.
const ICMP_INVMAP: [(u8, u8); 4] = [(8, 0), (13, 14), (15, 16), (17, 18)];

/// The answer type of an ICMP query type, if it is a query.
pub fn icmp_reply_type(t: u8) -> Option<u8> {
    ICMP_INVMAP.iter().find(|(q, _)| *q == t).map(|(_, r)| *r)
}

fn icmp_invert_type(t: u8) -> u8 {
    for (q, r) in ICMP_INVMAP {
        if t == q {
            return r;
        }
        if t == r {
            return q;
        }
    }
    t
}

impl Tuple {
    /// The tuple of a packet, or `None` for an ICMP error (which is related, not tracked on its
    /// own) and for protocols conntrack does not follow here.
    pub fn of_packet(pkt: &Packet) -> Option<Tuple> {
        let l4 = match &pkt.transport {
            Transport::Tcp { sport, dport, .. } => L4Tuple::Tcp { sport: *sport, dport: *dport },
            Transport::Udp { sport, dport } => L4Tuple::Udp { sport: *sport, dport: *dport },
            Transport::Sctp { sport, dport, .. } => L4Tuple::Sctp { sport: *sport, dport: *dport },
            Transport::Icmp(Icmp::EchoRequest { id, .. }) => L4Tuple::Icmp { icmp_type: 8, code: 0, id: *id },
            Transport::Icmp(Icmp::EchoReply { id, .. }) => L4Tuple::Icmp { icmp_type: 0, code: 0, id: *id },
            Transport::Icmp(Icmp::DestUnreachable { .. } | Icmp::TimeExceeded { .. }) => return None,
        };
        Some(Tuple { src: pkt.src, dst: pkt.dst, l4 })
    }

    /// The tuple a reply to this tuple carries (`nf_ct_invert_tuple`).
    pub fn invert(&self) -> Tuple {
        let l4 = match self.l4 {
            L4Tuple::Tcp { sport, dport } => L4Tuple::Tcp { sport: dport, dport: sport },
            L4Tuple::Udp { sport, dport } => L4Tuple::Udp { sport: dport, dport: sport },
            L4Tuple::Sctp { sport, dport } => L4Tuple::Sctp { sport: dport, dport: sport },
            L4Tuple::Icmp { icmp_type, code, id } => {
                L4Tuple::Icmp { icmp_type: icmp_invert_type(icmp_type), code, id }
            }
        };
        Tuple { src: self.dst, dst: self.src, l4 }
    }

    /// The protocol.
    pub fn protocol(&self) -> Protocol {
        match self.l4 {
            L4Tuple::Tcp { .. } => Protocol::Tcp,
            L4Tuple::Udp { .. } => Protocol::Udp,
            L4Tuple::Sctp { .. } => Protocol::Sctp,
            L4Tuple::Icmp { .. } => Protocol::Icmp,
        }
    }

    /// Source and destination ports (TCP/UDP only).
    pub fn ports(&self) -> Option<(u16, u16)> {
        match self.l4 {
            L4Tuple::Tcp { sport, dport }
            | L4Tuple::Udp { sport, dport }
            | L4Tuple::Sctp { sport, dport } => Some((sport, dport)),
            L4Tuple::Icmp { .. } => None,
        }
    }

    /// The same tuple with other ports (no-op for ICMP).
    pub fn with_ports(mut self, s: u16, d: u16) -> Tuple {
        match &mut self.l4 {
            L4Tuple::Tcp { sport, dport }
            | L4Tuple::Udp { sport, dport }
            | L4Tuple::Sctp { sport, dport } => {
                *sport = s;
                *dport = d;
            }
            L4Tuple::Icmp { .. } => {}
        }
        self
    }
}

/// The `conntrack -L` form of one tuple: `src=A dst=B sport=S dport=D` or
/// `src=A dst=B type=8 code=0 id=7` (libnetfilter_conntrack `snprintf_default.c`).
impl fmt::Display for Tuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "src={} dst={} ", self.src, self.dst)?;
        match self.l4 {
            L4Tuple::Tcp { sport, dport }
            | L4Tuple::Udp { sport, dport }
            | L4Tuple::Sctp { sport, dport } => {
                write!(f, "sport={sport} dport={dport}")
            }
            L4Tuple::Icmp { icmp_type, code, id } => write!(f, "type={icmp_type} code={code} id={id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::TcpFlags;

    #[test]
    fn invert_swaps_addresses_ports_and_echo_type() {
        let p = Packet::tcp(Ipv4Addr::new(10, 0, 0, 1), 40000, Ipv4Addr::new(10, 0, 0, 2), 80, TcpFlags::SYN);
        let t = Tuple::of_packet(&p).unwrap_or_else(|| unreachable!());
        assert_eq!(t.to_string(), "src=10.0.0.1 dst=10.0.0.2 sport=40000 dport=80");
        assert_eq!(t.invert().to_string(), "src=10.0.0.2 dst=10.0.0.1 sport=80 dport=40000");
        assert_eq!(t.invert().invert(), t);
        let e = Packet::icmp(
            Ipv4Addr::new(1, 1, 1, 1),
            Ipv4Addr::new(2, 2, 2, 2),
            Icmp::EchoRequest { id: 7, seq: 1 },
        );
        let t = Tuple::of_packet(&e).unwrap_or_else(|| unreachable!());
        assert_eq!(t.invert().to_string(), "src=2.2.2.2 dst=1.1.1.1 type=0 code=0 id=7");
    }
}
