//! IPVS per-packet cost: a packet of an existing connection (connection-table lookup) with 10
//! and with 10,000 virtual services (the two sizes should cost about the same), and new
//! connections scheduled (`packet_in` of a SYN, each from a client address and port never
//! seen before).
//!
//! `ipvs/new_connection_last_service/N` (N = 1,000, 10,000, 100,000): a SYN of a new
//! connection to the last virtual service added; every measured packet opens a connection of
//! its own (the table is emptied by expiry between batches, outside the timing), so no packet
//! hits an existing connection. Target (issue 10): ≤ 1 µs, flat in N.

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sim_core::{SimDuration, SimTime};
use sim_net::ipvs::{InVerdict, Ipvs, IpvsSysctls, RealServer, SchedName, ServiceKey, VirtualService};
use sim_net::wire::{Packet, TcpFlags};

fn vip(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 96, 0, 0)) + i)
}

fn services(n: u32) -> Ipvs {
    let mut v = Ipvs::default();
    for i in 0..n {
        let key = ServiceKey::tcp(vip(i), 443);
        let _ = v.add_service(VirtualService::new(key, SchedName::Rr), SimTime::ZERO);
        for j in 0..3u32 {
            let rs = SocketAddrV4::new(Ipv4Addr::from(0x0af4_0000 + i * 4 + j), 8443);
            let _ = v.add_dest(&key, RealServer::masq(rs, 1), SimTime::ZERO);
        }
    }
    v
}

fn bench(c: &mut Criterion) {
    // New connections are measured by `ipvs/new_connection_last_service` below, each from a
    // client of its own (a client port counter here used to wrap after 64,512 packets, after
    // which the "new" packets hit existing connections).
    for n in [10u32, 10_000] {
        let target = vip(n / 2);
        let mut v = services(n);
        let mut syn = Packet::tcp(Ipv4Addr::new(192, 168, 0, 2), 40000, target, 443, TcpFlags::SYN);
        let _ = v.packet_in(SimTime::ZERO, &mut syn, IpvsSysctls::default());
        c.bench_function(&format!("ipvs existing connection, {n} services"), |b| {
            b.iter(|| {
                let mut p = Packet::tcp(Ipv4Addr::new(192, 168, 0, 2), 40000, target, 443, TcpFlags::ACK);
                black_box(v.packet_in(SimTime::ZERO, &mut p, IpvsSysctls::default()))
            })
        });
    }
}

/// The k-th distinct client: the address counts up from 192.168.0.1 every 64,512 ports, the
/// port is 1024 + k mod 64,512, so no two k of a run share address and port.
fn distinct_client(k: u64) -> (Ipv4Addr, u16) {
    let port = 1024 + (k % 64_512) as u16;
    let host = (k / 64_512) as u32;
    (Ipv4Addr::from(u32::from(Ipv4Addr::new(192, 168, 0, 1)) + host), port)
}

/// New connections to the last of `n` virtual services, each packet from a client port of its
/// own; between batches of at most 50,000 the clock moves on an hour and the connections expire.
// A bench measures wall time around the simulation, never inside it.
#[allow(clippy::disallowed_types)]
fn last_service(c: &mut Criterion) {
    use std::time::Instant;
    let mut g = c.benchmark_group("ipvs/new_connection_last_service");
    for n in [1_000u32, 10_000, 100_000] {
        let mut v = services(n);
        let target = vip(n - 1);
        let client = Ipv4Addr::new(192, 168, 0, 1);
        let mut p = Packet::tcp(client, 1024, target, 443, TcpFlags::SYN);
        let (verdict, _) = v.packet_in(SimTime::ZERO, &mut p, IpvsSysctls::default());
        assert!(
            matches!(verdict, InVerdict::Forward { new_conn: true, .. }) && p.dst != target,
            "the SYN is scheduled to a real server: {verdict:?}"
        );
        let mut now = SimTime::ZERO + SimDuration::from_secs(3600);
        v.expire(now);
        g.bench_function(n.to_string(), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let batch = left.min(50_000);
                    left -= batch;
                    let start = Instant::now();
                    for k in 0..batch {
                        // A client of its own per packet: address and port from the counter.
                        let (src, port) = distinct_client(k);
                        let mut p = Packet::tcp(src, port, target, 443, TcpFlags::SYN);
                        black_box(v.packet_in(now, &mut p, IpvsSysctls::default()));
                    }
                    total += start.elapsed();
                    now += SimDuration::from_secs(3600);
                    v.expire(now);
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench, last_service);
criterion_main!(benches);
