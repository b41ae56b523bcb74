//! Network address translation as `nf_nat` does it: a binding is set up once, on a new
//! connection's unconfirmed conntrack entry, by rewriting its *reply* tuple
//! (`nf_nat_setup_info`); every packet of the connection — first, later, replies, and ICMP
//! errors quoting it — is then rewritten from the entry (`nf_nat_packet`,
//! `nf_nat_icmp_reply_translation`), never by re-running rules.
//!
//! Two manipulations per direction, at fixed places: destination ([`Manip::Dst`]) at
//! PREROUTING/OUTPUT, before routing; source ([`Manip::Src`]) at POSTROUTING/INPUT. A packet is
//! rewritten to its direction's *target* tuple (the inverse of the other direction's tuple).
//!
//! Port choice, as `get_unique_tuple` step 3 and `nf_nat_l4proto_unique_tuple` (Linux 6.x
//! `nf_nat_core.c`) make it for a source manipulation:
//! - without `--random`/`--random-fully` (`NF_NAT_RANGE_PROTO_RANDOM_ALL`) the source port is
//!   kept when the resulting reply tuple is free; with `--to-ports` only when it is in the
//!   range, and a one-port range is kept even when taken;
//! - otherwise the range (`--to-ports`, or 1–511 / 600–1023 / 1024–65535 by the original
//!   port's class) is walked from `min + off % size`, `off` a random 16-bit value
//!   (`get_random_u16`, drawn here from the seeded stream), for at most 128 ports; when all are
//!   taken, from a new random offset over half as many, down to 16 (the kernel bounds the
//!   search: it runs in softirq). The kernel draws that offset whether or not the rule has
//!   `--random-fully` — the flag only stops the original port from being kept.
//! - When no free port is found the last one tried is used anyway: NAT setup never fails for
//!   want of a port. The entry then clashes when it is confirmed and the packet is dropped,
//!   counted in `insert_failed` (`conntrack -S`).
//!
//! Only confirmed entries count as taken (`nf_nat_used_tuple` looks up the conntrack hash):
//! two connections whose entries are still unconfirmed can be given the same port, and the
//! second to be confirmed is dropped. In the walk a packet is classified, NATed and confirmed
//! in one step, so netsim makes that window the simulated instant: on a namespace with
//! [`Conntrack::set_parallel`] (a node with more than one CPU), an entry another packet created
//! at this very instant is not yet visible to the search ([`Conntrack::nat_tuple_used`]),
//! as if that packet were being processed on another CPU (kubernetes#23604).
//!
//! [`PortSearch::Rover`] is the search of older kernels (`nf_nat_proto_unique_tuple` in
//! `nf_nat_proto_common.c`, Linux 3.x/4.x): without `--random`/`--random-fully` the walk
//! starts from a per-protocol *rover*, the offset of the last port handed out, instead of a
//! random one, covers the whole range, and leaves the rover at the port it took. Two
//! connections searching at the same instant then start from the same rover and take the
//! same port: the race of the XING article that `--random-fully` (`prandom_u32()` per search)
//! was added to iptables 1.6.2 for. Not modelled: `find_appropriate_src` (reusing the
//! mapping of an existing connection from the same source address and port) and
//! `nf_nat_used_tuple_harder` (evicting a TIME_WAIT entry that holds the port); ICMP echo
//! identifiers are never remapped.

use std::net::Ipv4Addr;

use sim_core::{SimRng, SimTime};

use crate::conntrack::{Conntrack, CtEntry, CtStatus, Direction, L4Tuple, Tuple};
use crate::netfilter::NatRequest;
use crate::wire::{Icmp, Packet, Transport};

/// Which header field a NAT step rewrites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manip {
    /// Source address/port (POSTROUTING, INPUT).
    Src,
    /// Destination address/port (PREROUTING, OUTPUT).
    Dst,
}

/// Why a binding could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NatError {
    /// MASQUERADE on an interface without an IPv4 address (the kernel drops the packet).
    #[error("masquerade: no address on the outgoing interface")]
    NoMasqueradeAddress,
}

/// How a source NAT without a free original port looks for one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PortSearch {
    /// Linux 5.x and later: from a random 16-bit offset, at most 128/64/32/16 ports.
    #[default]
    Random,
    /// Older kernels: from the protocol's rover (the last port handed out) over the whole
    /// range, unless the rule has `--random`/`--random-fully`.
    Rover {
        /// TCP's rover (`tcp_port_rover`).
        tcp: u16,
        /// UDP's rover.
        udp: u16,
        /// SCTP's rover.
        sctp: u16,
    },
}

impl PortSearch {
    /// The older kernels' search, every rover at 0.
    pub fn rover() -> PortSearch {
        PortSearch::Rover { tcp: 0, udp: 0, sctp: 0 }
    }

    fn rover_mut(&mut self, t: &Tuple) -> Option<&mut u16> {
        match (self, t.l4) {
            (PortSearch::Rover { tcp, .. }, L4Tuple::Tcp { .. }) => Some(tcp),
            (PortSearch::Rover { udp, .. }, L4Tuple::Udp { .. }) => Some(udp),
            (PortSearch::Rover { sctp, .. }, L4Tuple::Sctp { .. }) => Some(sctp),
            _ => None,
        }
    }
}

/// Sets up `req` on the unconfirmed entry `e`. `masq_addr` is the primary address of the
/// outgoing interface (for MASQUERADE); `ct` is consulted to keep reply tuples unique.
pub fn bind(
    e: &mut CtEntry,
    req: NatRequest,
    masq_addr: Option<Ipv4Addr>,
    ct: &Conntrack,
    now: SimTime,
    rng: &mut SimRng,
) -> Result<(), NatError> {
    bind_with(e, req, masq_addr, ct, now, rng, &mut PortSearch::Random)
}

/// [`bind`] with the namespace's port search (its rover, for [`PortSearch::Rover`]).
pub fn bind_with(
    e: &mut CtEntry,
    req: NatRequest,
    masq_addr: Option<Ipv4Addr>,
    ct: &Conntrack,
    now: SimTime,
    rng: &mut SimRng,
    search: &mut PortSearch,
) -> Result<(), NatError> {
    let mut t = e.target(Direction::Original);
    match req {
        NatRequest::Dnat { addr, port } => {
            t.dst = addr;
            if let (Some(p), Some((s, _))) = (port, t.ports()) {
                t = t.with_ports(s, p);
            }
            e.reply = t.invert();
            e.status.set(CtStatus::DST_NAT);
        }
        NatRequest::Snat { addr, ports, random_fully } => {
            t.src = addr;
            e.reply = unique_source(t, ports, random_fully, ct, now, rng, search).invert();
            e.status.set(CtStatus::SRC_NAT);
        }
        NatRequest::Masquerade { ports, random_fully } => {
            t.src = masq_addr.ok_or(NatError::NoMasqueradeAddress)?;
            e.reply = unique_source(t, ports, random_fully, ct, now, rng, search).invert();
            e.status.set(CtStatus::SRC_NAT);
        }
    }
    Ok(())
}

/// The default source-port range of `nf_nat_l4proto_unique_tuple` for an original port.
fn default_range(port: u16) -> (u16, u16) {
    if port < 512 {
        (1, 511)
    } else if port < 1024 {
        (600, 1023)
    } else {
        (1024, 65535)
    }
}

/// `nf_nat_l4proto_unique_tuple`'s search: at most this many ports from one offset.
const MAX_ATTEMPTS: u32 = 128;

/// The reply-side source tuple for `t` (source address already rewritten). `random` is
/// `NF_NAT_RANGE_PROTO_RANDOM_ALL` (`--random` or `--random-fully`).
fn unique_source(
    t: Tuple,
    ports: Option<(u16, u16)>,
    random: bool,
    ct: &Conntrack,
    now: SimTime,
    rng: &mut SimRng,
    search: &mut PortSearch,
) -> Tuple {
    let Some((sport, dport)) = t.ports() else { return t };
    let used = |c: &Tuple| ct.nat_tuple_used(now, &c.invert());
    if !random {
        let keep = match ports {
            None => !used(&t),
            Some((lo, hi)) => (lo.min(hi)..=lo.max(hi)).contains(&sport) && (lo == hi || !used(&t)),
        };
        if keep {
            return t;
        }
    }
    let (lo, hi) = ports.unwrap_or_else(|| default_range(sport));
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    let size = u32::from(hi - lo) + 1;
    if let Some(rover) = search.rover_mut(&t) {
        // nf_nat_proto_unique_tuple: `off` is the rover (or, for --random/--random-fully, a
        // draw), a u16 stepped once per port tried; the whole range is tried and the last
        // port is kept; without a random flag the rover is left at the port taken.
        let mut off: u16 = if random { rng.next_u32() as u16 } else { *rover };
        let mut i = 0u32;
        loop {
            let cand = t.with_ports(lo + (u32::from(off) % size) as u16, dport);
            i += 1;
            if i != size && used(&cand) {
                off = off.wrapping_add(1);
                continue;
            }
            if !random {
                *rover = off;
            }
            return cand;
        }
    }
    let mut attempts = size.min(MAX_ATTEMPTS);
    let mut off = u32::from(rng.next_u32() as u16);
    let mut cand = t;
    loop {
        for _ in 0..attempts {
            cand = t.with_ports(lo + (off % size) as u16, dport);
            if !used(&cand) {
                return cand;
            }
            off = (off + 1) & 0xffff;
        }
        if attempts >= size || attempts < 16 {
            return cand;
        }
        attempts /= 2;
        off = u32::from(rng.next_u32() as u16);
    }
}

/// Rewrites `pkt`, travelling in direction `dir` of connection `e`, for one manipulation.
/// For an ICMP error (`related`), the outer header gets the manipulation and the quoted packet
/// the mirror one, so the receiver sees the error quoting the packet it sent.
pub fn translate(pkt: &mut Packet, e: &CtEntry, dir: Direction, manip: Manip) {
    let target = e.target(dir);
    let port = target.ports();
    match manip {
        Manip::Dst => {
            pkt.dst = target.dst;
            if let Some((_, d)) = port {
                let (s, _) = pkt.transport.ports().unwrap_or((0, 0));
                pkt.transport.set_ports(s, d);
            }
            if let Some(inner) = quoted_mut(pkt) {
                inner.src = target.dst;
                if let Some((_, d)) = port {
                    let (_, id) = inner.transport.ports().unwrap_or((0, 0));
                    inner.transport.set_ports(d, id);
                }
            }
        }
        Manip::Src => {
            pkt.src = target.src;
            if let Some((s, _)) = port {
                let (_, d) = pkt.transport.ports().unwrap_or((0, 0));
                pkt.transport.set_ports(s, d);
            }
            if let Some(inner) = quoted_mut(pkt) {
                inner.dst = target.src;
                if let Some((s, _)) = port {
                    let (is, _) = inner.transport.ports().unwrap_or((0, 0));
                    inner.transport.set_ports(is, s);
                }
            }
        }
    }
}

fn quoted_mut(pkt: &mut Packet) -> Option<&mut Packet> {
    match &mut pkt.transport {
        Transport::Icmp(Icmp::DestUnreachable { original, .. } | Icmp::TimeExceeded { original }) => {
            Some(original.as_mut())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use sim_core::SimDuration;

    use super::*;
    use crate::conntrack::CtClass;
    use crate::wire::TcpFlags;

    const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 168, 205, 1);
    const VIP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 1);
    const POD: Ipv4Addr = Ipv4Addr::new(10, 244, 2, 17);
    const NODE: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 0);

    fn new_entry(ct: &mut Conntrack, pkt: &Packet) -> CtEntry {
        match ct.packet_in(SimTime::ZERO, pkt) {
            CtClass::New(e) => e,
            other => panic!("expected new, got {other:?}"),
        }
    }

    #[test]
    fn dnat_then_masquerade_builds_the_nodeport_reply_tuple() {
        let mut ct = Conntrack::default();
        let mut rng = SimRng::new(1).fork("nat");
        let syn = Packet::tcp(CLIENT, 40012, VIP, 31455, TcpFlags::SYN);
        let mut e = new_entry(&mut ct, &syn);
        bind(&mut e, NatRequest::Dnat { addr: POD, port: Some(8080) }, None, &ct, SimTime::ZERO, &mut rng)
            .unwrap();
        let mut p = syn.clone();
        translate(&mut p, &e, Direction::Original, Manip::Dst);
        assert_eq!(p.to_string(), "192.168.205.1.40012 > 10.244.2.17.8080: Flags [S]");
        bind(
            &mut e,
            NatRequest::Masquerade { ports: None, random_fully: false },
            Some(NODE),
            &ct,
            SimTime::ZERO,
            &mut rng,
        )
        .unwrap();
        translate(&mut p, &e, Direction::Original, Manip::Src);
        assert_eq!(p.to_string(), "10.244.1.0.40012 > 10.244.2.17.8080: Flags [S]");
        assert_eq!(e.reply.to_string(), "src=10.244.2.17 dst=10.244.1.0 sport=8080 dport=40012");
        // The reply is un-NATed in two steps back to what the client sent to.
        let mut r = Packet::tcp(POD, 8080, NODE, 40012, TcpFlags(0x12));
        translate(&mut r, &e, Direction::Reply, Manip::Dst);
        translate(&mut r, &e, Direction::Reply, Manip::Src);
        assert_eq!(r.to_string(), "10.96.0.1.31455 > 192.168.205.1.40012: Flags [S.]");
    }

    #[test]
    fn icmp_error_and_its_quoted_packet_are_un_natted() {
        let mut ct = Conntrack::default();
        let mut rng = SimRng::new(1);
        let q = Packet::udp(CLIENT, 5000, VIP, 53);
        let mut e = new_entry(&mut ct, &q);
        bind(&mut e, NatRequest::Dnat { addr: POD, port: Some(5353) }, None, &ct, SimTime::ZERO, &mut rng)
            .unwrap();
        let mut sent = q.clone();
        translate(&mut sent, &e, Direction::Original, Manip::Dst);
        let mut err = Packet::icmp(POD, CLIENT, Icmp::DestUnreachable { code: 3, original: Box::new(sent) });
        translate(&mut err, &e, Direction::Reply, Manip::Dst);
        translate(&mut err, &e, Direction::Reply, Manip::Src);
        assert_eq!(err.to_string(), "10.96.0.1 > 192.168.205.1: ICMP 10.96.0.1 udp port 53 unreachable");
        let Transport::Icmp(Icmp::DestUnreachable { original, .. }) = &err.transport else { panic!() };
        assert_eq!(**original, q);
    }

    #[test]
    fn colliding_source_port_is_remapped_and_random_fully_always_draws() {
        let mut ct = Conntrack::default();
        let mut rng = SimRng::new(9);
        let masq = NatRequest::Masquerade { ports: None, random_fully: false };
        // Two clients behind the NAT using the same source port towards the same server.
        let mut ports = vec![];
        for client in [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)] {
            let syn = Packet::tcp(client, 40000, POD, 80, TcpFlags::SYN);
            let mut e = new_entry(&mut ct, &syn);
            bind(&mut e, masq, Some(NODE), &ct, SimTime::ZERO, &mut rng).unwrap();
            ports.push(e.reply.ports().unwrap().1);
            ct.confirm(SimTime::ZERO, e).unwrap();
        }
        assert_eq!(ports[0], 40000);
        assert_ne!(ports[1], 40000);
        assert!(ports[1] >= 1024);
        let syn = Packet::tcp(Ipv4Addr::new(10, 0, 0, 3), 50000, POD, 80, TcpFlags::SYN);
        let mut e = new_entry(&mut ct, &syn);
        let rf = NatRequest::Masquerade { ports: Some((30000, 30010)), random_fully: true };
        bind(&mut e, rf, Some(NODE), &ct, SimTime::ZERO, &mut rng).unwrap();
        let p = e.reply.ports().unwrap().1;
        assert!((30000..=30010).contains(&p));
    }

    #[test]
    fn a_taken_one_port_range_is_kept_and_clashes_at_confirmation() {
        let mut ct = Conntrack::default();
        let mut rng = SimRng::new(9);
        let req = NatRequest::Snat { addr: NODE, ports: Some((1000, 1000)), random_fully: false };
        let first = Packet::tcp(Ipv4Addr::new(10, 0, 0, 1), 1000, POD, 80, TcpFlags::SYN);
        let mut e = new_entry(&mut ct, &first);
        bind(&mut e, req, None, &ct, SimTime::ZERO, &mut rng).unwrap();
        ct.confirm(SimTime::ZERO, e).unwrap();
        // get_unique_tuple keeps a one-port range's port even when taken: no NAT failure, the
        // clash comes at confirmation and the packet is dropped (insert_failed).
        let second = Packet::tcp(Ipv4Addr::new(10, 0, 0, 2), 1000, POD, 80, TcpFlags::SYN);
        let mut e = new_entry(&mut ct, &second);
        bind(&mut e, req, None, &ct, SimTime::ZERO, &mut rng).unwrap();
        assert_eq!(e.reply.ports(), Some((80, 1000)));
        assert!(ct.confirm(SimTime::ZERO, e).is_err());
        assert_eq!(ct.resolve_clash(SimTime::ZERO, &e), None);
        assert_eq!(ct.insert_failed(), 1);
        let masq = NatRequest::Masquerade { ports: None, random_fully: false };
        assert_eq!(
            bind(&mut e, masq, None, &ct, SimTime::ZERO, &mut rng),
            Err(NatError::NoMasqueradeAddress)
        );
    }

    /// Confirms one entry from `10.0.<i>.<j>:40000` to POD:80 masqueraded to `port`.
    fn occupy(ct: &mut Conntrack, i: u32, port: u16) {
        let client = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 1, 0, 0)) + i);
        let pre = Tuple::of_packet(&Packet::tcp(client, 40000, POD, 80, TcpFlags::SYN)).unwrap();
        let post = Tuple { src: NODE, ..pre }.with_ports(port, 80);
        ct.insert(SimTime::ZERO, pre, post.invert(), None, SimDuration::from_secs(600)).unwrap();
    }

    fn masq_port(
        ct: &mut Conntrack,
        rng: &mut SimRng,
        sport: u16,
        ports: Option<(u16, u16)>,
        rf: bool,
    ) -> u16 {
        let syn = Packet::tcp(Ipv4Addr::new(10, 0, 0, 9), sport, POD, 80, TcpFlags::SYN);
        let mut e = new_entry(ct, &syn);
        bind(&mut e, NatRequest::Masquerade { ports, random_fully: rf }, Some(NODE), ct, SimTime::ZERO, rng)
            .unwrap();
        e.reply.ports().unwrap().1
    }

    #[test]
    fn the_original_port_is_kept_only_without_random_and_inside_to_ports() {
        let mut ct = Conntrack::default();
        let mut rng = SimRng::new(3);
        assert_eq!(masq_port(&mut ct, &mut rng, 40000, None, false), 40000);
        // A privileged port stays in its class (1-511) when it must move.
        occupy(&mut ct, 1, 80);
        let p = masq_port(&mut ct, &mut rng, 80, None, false);
        assert!((1..=511).contains(&p) && p != 80, "{p}");
        // Outside --to-ports the port is always remapped into the range.
        let p = masq_port(&mut ct, &mut rng, 40000, Some((5000, 5009)), false);
        assert!((5000..=5009).contains(&p), "{p}");
        // --random-fully (and --random) never keep it, even when free: 64512 ports, the same
        // draw twice in a row would be a broken stream.
        let a = masq_port(&mut ct, &mut rng, 40000, None, true);
        let b = masq_port(&mut ct, &mut rng, 40000, None, true);
        assert!(a != 40000 || b != 40000);
        assert!(a >= 1024 && b >= 1024);
    }

    #[test]
    fn a_small_range_is_searched_whole_and_a_full_one_keeps_a_taken_port() {
        let mut ct = Conntrack::default();
        let mut rng = SimRng::new(5);
        // 100 ports (<= 128 attempts): the one free port is always found.
        for (i, p) in (6000..6100).filter(|p| *p != 6042).enumerate() {
            occupy(&mut ct, i as u32, p);
        }
        for _ in 0..20 {
            assert_eq!(masq_port(&mut ct, &mut rng, 40000, Some((6000, 6099)), true), 6042);
        }
        occupy(&mut ct, 999, 6042);
        let p = masq_port(&mut ct, &mut rng, 40000, Some((6000, 6099)), true);
        assert!((6000..=6099).contains(&p));
    }

    #[test]
    fn a_large_range_is_searched_at_most_128_64_32_16_ports() {
        // 4096 ports, one free: the kernel tries 128 + 64 + 32 + 16 from four random offsets and
        // then gives up, so the free port is found only sometimes (and then the entry clashes).
        let mut ct = Conntrack::default();
        for (i, p) in (8000..12096).filter(|p| *p != 9000).enumerate() {
            occupy(&mut ct, i as u32, p);
        }
        let mut rng = SimRng::new(11);
        let found = (0..400)
            .filter(|_| masq_port(&mut ct, &mut rng, 40000, Some((8000, 12095)), true) == 9000)
            .count();
        // P(found) = 240 / 4096 ~ 5.9% (the four windows rarely overlap): 400 tries, ~23.
        assert!((5..=60).contains(&found), "{found}");
    }

    #[test]
    fn two_unconfirmed_entries_can_be_given_one_port_and_the_second_is_dropped() {
        // kubernetes#23604: two pods on one node open connections to one server at the same
        // time, from the same source port. Neither entry is confirmed while the other is bound,
        // so without --random-fully both keep the port; the second confirmation clashes.
        for (rf, clashes) in [(false, true), (true, false)] {
            let mut ct = Conntrack::default();
            let mut rng = SimRng::new(21);
            let masq = NatRequest::Masquerade { ports: None, random_fully: rf };
            let mut pending = vec![];
            for client in [Ipv4Addr::new(10, 244, 1, 5), Ipv4Addr::new(10, 244, 1, 6)] {
                let mut e = new_entry(&mut ct, &Packet::tcp(client, 43512, POD, 443, TcpFlags::SYN));
                bind(&mut e, masq, Some(NODE), &ct, SimTime::ZERO, &mut rng).unwrap();
                pending.push(e);
            }
            // Both replies are POD:443 -> NODE:port: equal when the port is.
            assert_eq!(pending[0].reply == pending[1].reply, clashes, "random_fully={rf}");
            ct.confirm(SimTime::ZERO, pending[0]).unwrap();
            let second = ct.confirm(SimTime::ZERO, pending[1]);
            assert_eq!(second.is_err(), clashes);
            if second.is_err() {
                assert_eq!(ct.resolve_clash(SimTime::ZERO, &pending[1]), None);
                assert_eq!(ct.insert_failed(), 1);
            }
        }
    }

    /// Binds a masquerade for `client:sport -> POD:443` at `now` with `search`; confirms it.
    fn connect_at(
        ct: &mut Conntrack,
        rng: &mut SimRng,
        search: &mut PortSearch,
        now: SimTime,
        client: Ipv4Addr,
        sport: u16,
        rf: bool,
    ) -> (u16, bool) {
        let syn = Packet::tcp(client, sport, POD, 443, TcpFlags::SYN);
        let CtClass::New(mut e) = ct.packet_in(now, &syn) else { panic!("not new") };
        let masq = NatRequest::Masquerade { ports: None, random_fully: rf };
        bind_with(&mut e, masq, Some(NODE), ct, now, rng, search).unwrap();
        let port = e.reply.ports().unwrap().1;
        let ok = ct.confirm(now, e).is_ok() || ct.resolve_clash(now, &e).is_some();
        (port, ok)
    }

    #[test]
    fn with_parallel_cpus_an_entry_of_this_instant_is_not_yet_seen_by_the_port_search() {
        let t0 = SimTime::ZERO + SimDuration::from_secs(1);
        let later = t0 + SimDuration::from_micros(1);
        for (parallel, clash) in [(false, false), (true, true)] {
            let mut ct = Conntrack::default();
            ct.set_parallel(parallel);
            let (mut rng, mut s) = (SimRng::new(4), PortSearch::Random);
            let a = connect_at(&mut ct, &mut rng, &mut s, t0, Ipv4Addr::new(10, 244, 1, 5), 43512, false);
            let b = connect_at(&mut ct, &mut rng, &mut s, t0, Ipv4Addr::new(10, 244, 1, 6), 43512, false);
            assert_eq!(a, (43512, true));
            assert_eq!(b.0 == 43512, clash, "parallel={parallel}");
            assert_eq!(b.1, !clash);
            assert_eq!(ct.insert_failed(), u64::from(clash));
            // A microsecond later the first entry is confirmed: the port moves.
            let c = connect_at(&mut ct, &mut rng, &mut s, later, Ipv4Addr::new(10, 244, 1, 7), 43512, false);
            assert!(c.0 != 43512 && c.1);
        }
    }

    #[test]
    fn the_rover_hands_two_searches_of_one_instant_the_same_port_and_random_fully_does_not() {
        let t0 = SimTime::ZERO + SimDuration::from_secs(1);
        // Port 40000 of the node is taken by an older connection, so both new ones search.
        let run = |rf: bool| {
            let mut ct = Conntrack::default();
            ct.set_parallel(true);
            let (mut rng, mut s) = (SimRng::new(8), PortSearch::rover());
            let first =
                connect_at(&mut ct, &mut rng, &mut s, SimTime::ZERO, Ipv4Addr::new(10, 244, 1, 4), 40000, rf);
            let a = connect_at(&mut ct, &mut rng, &mut s, t0, Ipv4Addr::new(10, 244, 1, 5), 40000, rf);
            let b = connect_at(&mut ct, &mut rng, &mut s, t0, Ipv4Addr::new(10, 244, 1, 6), 40000, rf);
            (first, a, b, s, ct.insert_failed())
        };
        let (first, a, b, s, failed) = run(false);
        assert_eq!(first, (40000, true));
        // The rover starts at 0: 1024 + 0 is the first port tried and free; it stays there.
        assert_eq!(a, (1024, true));
        assert_eq!(b, (1024, false));
        assert_eq!(failed, 1);
        assert_eq!(s, PortSearch::Rover { tcp: 0, udp: 0, sctp: 0 });
        let (_, a, b, s, failed) = run(true);
        assert!(a.1 && b.1 && a.0 != b.0 && failed == 0, "{a:?} {b:?}");
        assert_eq!(s, PortSearch::rover(), "a random search leaves the rover alone");
    }

    proptest! {
        /// Every reply of a NATed connection, un-NATed, is exactly the inverse of what the
        /// originator sent; every later original packet is translated like the first.
        #[test]
        fn replies_are_un_natted_to_the_original_tuple(
            c in any::<u32>(), sport in 1u16.., d in any::<u32>(), dport in 1u16..,
            to in any::<u32>(), to_port in proptest::option::of(1u16..),
            snat in proptest::option::of((any::<u32>(), any::<bool>())), udp in any::<bool>(), seed in any::<u64>(),
            busy in proptest::collection::vec(1024u16.., 0..20),
        ) {
            let (c, d, to) = (Ipv4Addr::from(c), Ipv4Addr::from(d), Ipv4Addr::from(to));
            let mut ct = Conntrack::default();
            let mut rng = SimRng::new(seed);
            let mk = |s: Ipv4Addr, sp: u16, t: Ipv4Addr, tp: u16| if udp { Packet::udp(s, sp, t, tp) } else { Packet::tcp(s, sp, t, tp, TcpFlags::SYN) };
            // Occupy some reply tuples so that port remapping happens.
            if let Some((s, _)) = snat {
                for (i, p) in busy.iter().enumerate() {
                    let other = Ipv4Addr::from(u32::from(c).wrapping_add(i as u32 + 1));
                    let pre = Tuple::of_packet(&mk(other, *p, to, to_port.unwrap_or(dport))).unwrap();
                    let post = Tuple { src: Ipv4Addr::from(s), ..pre }.with_ports(sport, to_port.unwrap_or(dport));
                    let _ = ct.insert(SimTime::ZERO, pre, post.invert(), None, SimDuration::from_secs(60));
                }
            }
            let first = mk(c, sport, d, dport);
            let mut e = new_entry(&mut ct, &first);
            bind(&mut e, NatRequest::Dnat { addr: to, port: to_port }, None, &ct, SimTime::ZERO, &mut rng).unwrap();
            if let Some((s, rf)) = snat {
                let req = NatRequest::Snat { addr: Ipv4Addr::from(s), ports: None, random_fully: rf };
                bind(&mut e, req, None, &ct, SimTime::ZERO, &mut rng).unwrap();
                prop_assert!(!ct.tuple_taken(SimTime::ZERO, &e.reply));
            }
            let mut out = first.clone();
            translate(&mut out, &e, Direction::Original, Manip::Dst);
            translate(&mut out, &e, Direction::Original, Manip::Src);
            prop_assert_eq!(Tuple::of_packet(&out).unwrap(), e.reply.invert());
            // The server answers the packet it received.
            let mut reply = mk(out.dst, out.transport.ports().unwrap().1, out.src, out.transport.ports().unwrap().0);
            translate(&mut reply, &e, Direction::Reply, Manip::Dst);
            translate(&mut reply, &e, Direction::Reply, Manip::Src);
            prop_assert_eq!(Tuple::of_packet(&reply).unwrap(), Tuple::of_packet(&first).unwrap().invert());
        }
    }
}
