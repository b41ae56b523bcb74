//! The TCP header fields [`crate::wire::Packet`] does not carry — sequence and
//! acknowledgment numbers, window, timestamps — derived per connection, deterministically,
//! from every TCP segment a capture's interfaces see (also those its filter rejects, so that a
//! capture of one direction still acknowledges what the other side sent).
//!
//! A segment a conversation sends is numbered where it is sent ([`TcpModel::conv_segment`],
//! while a capture is active), so every capture point shows the same numbers whatever NAT did
//! to its addresses; others are numbered per capture point by their address tuple.
//! Each side's initial sequence number and timestamp offset come from the network's seeded
//! stream, forked by the conversation (or the address tuple when the segment has none) and the
//! side (`client`: the SYN's sender), so two capture points of one connection agree. A side's
//! sequence advances by what it sends (SYN and FIN count one), an ACK acknowledges everything
//! the other side has sent, and the timestamp is the sender's clock in milliseconds plus its
//! offset (Linux's `tcp_clock_ms` plus `tsoffset`). Windows are what a typical node shows: SYN
//! `64240`, SYN-ACK `65160` (both with `wscale 7`), later segments `502`, a reset `0`.
//!
//! Left out: retransmitted data, window changes, delayed ACKs (every segment acknowledges all).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use sim_core::{SimRng, SimTime};

use crate::network::ConvId;
use crate::wire::{Packet, TcpFlags, Transport};

/// The two endpoints of a connection, lower first.
pub type ConnKey = ((Ipv4Addr, u16), (Ipv4Addr, u16));

/// The connection a segment from `a` to `b` belongs to, its endpoints in order, and which of
/// them sent it (0: the lower, 1: the higher): both directions of a connection share a key.
pub fn oriented(a: (Ipv4Addr, u16), b: (Ipv4Addr, u16)) -> (ConnKey, usize) {
    if a <= b { ((a, b), 0) } else { ((b, a), 1) }
}

/// The derived header fields of one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpNumbers {
    /// Sequence number (absolute).
    pub seq: u32,
    /// Acknowledgment number (absolute; meaningful with ACK set).
    pub ack: u32,
    /// Window.
    pub win: u16,
    /// Timestamp option's value.
    pub tsval: u32,
    /// Timestamp option's echo reply.
    pub ecr: u32,
}

/// One connection's state, index 0 being the lower endpoint of its key.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TcpConn {
    isn: [u32; 2],
    next: [u32; 2],
    started: [bool; 2],
    ts_offset: [u32; 2],
    last_ts: [Option<u32>; 2],
}

/// What a connection is known by: its conversation (the same at every capture point, NAT or
/// not; side 0 is the client), or the address tuple at one capture point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ConnId {
    Conv(ConvId),
    Tuple(ConnKey),
}

/// TCP connections and their numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpModel {
    conns: BTreeMap<ConnId, TcpConn>,
}

fn draw(rng: &SimRng, label: &str, what: &str, side: &str) -> u32 {
    let mut r = rng.fork(&format!("tcpdump/{label}/{what}/{side}"));
    r.next_u32()
}

impl TcpConn {
    fn new(rng: &SimRng, label: &str, client: usize) -> TcpConn {
        let side = |i: usize| if i == client { "client" } else { "server" };
        TcpConn {
            isn: [draw(rng, label, "isn", side(0)), draw(rng, label, "isn", side(1))],
            next: [0, 0],
            started: [false, false],
            ts_offset: [draw(rng, label, "ts", side(0)), draw(rng, label, "ts", side(1))],
            last_ts: [None, None],
        }
    }

    /// A segment from side `x` at `at`.
    fn segment(&mut self, x: usize, at: SimTime, f: TcpFlags, len: u32) -> TcpNumbers {
        let y = 1 - x;
        let syn = f.contains(TcpFlags::SYN);
        let ack_set = f.contains(TcpFlags::ACK);
        let rst = f.contains(TcpFlags::RST);
        let ms = (at.as_nanos() / 1_000_000) as u32;
        // The kernel's reset answering a segment of a side that never spoke: sequence 0.
        let answer_reset = rst && ack_set && self.last_ts[x].is_none();
        let seq = if syn {
            self.started[x] = true;
            self.next[x] = self.isn[x].wrapping_add(1);
            self.isn[x]
        } else if answer_reset {
            0
        } else {
            if !self.started[x] {
                self.started[x] = true;
                self.next[x] = self.isn[x].wrapping_add(1);
            }
            let seq = self.next[x];
            self.next[x] = seq.wrapping_add(len);
            if f.contains(TcpFlags::FIN) {
                self.next[x] = self.next[x].wrapping_add(1);
            }
            seq
        };
        if !self.started[y] {
            self.started[y] = true;
            self.next[y] = self.isn[y].wrapping_add(1);
        }
        let ack = self.next[y];
        let tsval = ms.wrapping_add(self.ts_offset[x]);
        let ecr = if syn && !ack_set {
            0
        } else {
            self.last_ts[y].unwrap_or_else(|| ms.wrapping_add(self.ts_offset[y]))
        };
        if !rst {
            self.last_ts[x] = Some(tsval);
        }
        let win = if rst {
            0
        } else if syn && ack_set {
            65160
        } else if syn {
            64240
        } else {
            502
        };
        TcpNumbers { seq, ack, win, tsval, ecr }
    }
}

impl TcpModel {
    /// The numbers of `pkt`, sent at `at` by its conversation's client (`from_client`) or
    /// server; `None` if it is not TCP. Used where the segment is sent, so every capture
    /// point shows the same numbers whatever NAT did to the addresses.
    pub fn conv_segment(
        &mut self,
        rng: &SimRng,
        at: SimTime,
        pkt: &Packet,
        conv: ConvId,
        from_client: bool,
    ) -> Option<TcpNumbers> {
        let Transport::Tcp { flags: f, .. } = pkt.transport else { return None };
        let id = ConnId::Conv(conv);
        let x = if from_client { 0 } else { 1 };
        let opening = from_client && f.contains(TcpFlags::SYN) && !f.contains(TcpFlags::ACK);
        if opening || !self.conns.contains_key(&id) {
            self.conns.insert(id, TcpConn::new(rng, &format!("conv{}", conv.0), 0));
        }
        let conn = self.conns.get_mut(&id)?;
        Some(conn.segment(x, at, f, pkt.payload.len() as u32))
    }

    /// The numbers of `pkt` (seen at `at`) for a segment with no conversation, by its
    /// address tuple at this capture point; `None` if it is not TCP.
    pub fn segment(
        &mut self,
        rng: &SimRng,
        at: SimTime,
        pkt: &Packet,
        conv: Option<ConvId>,
    ) -> Option<TcpNumbers> {
        let Transport::Tcp { sport, dport, flags: f } = pkt.transport else { return None };
        let (key, x) = oriented((pkt.src, sport), (pkt.dst, dport));
        let y = 1 - x;
        let syn = f.contains(TcpFlags::SYN);
        let ack_set = f.contains(TcpFlags::ACK);
        let id = ConnId::Tuple(key);
        // A new connection: on its first sight, or a SYN opening the tuple again.
        if !self.conns.contains_key(&id) || (syn && !ack_set) {
            // The client: the SYN's sender, the SYN-ACK's receiver, else the higher port.
            let client = if syn && !ack_set {
                x
            } else if syn {
                y
            } else if key.0.1 >= key.1.1 {
                0
            } else {
                1
            };
            let label = match conv {
                Some(conv) => format!("conv{}", conv.0),
                None => format!("{}:{}-{}:{}", key.0.0, key.0.1, key.1.0, key.1.1),
            };
            self.conns.insert(id, TcpConn::new(rng, &label, client));
        }
        let conn = self.conns.get_mut(&id)?;
        Some(conn.segment(x, at, f, pkt.payload.len() as u32))
    }
}
