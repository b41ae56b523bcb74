//! Conntrack lookups in a table of 1,000,000 entries: a hit in the original direction, a hit in
//! the reply direction (after DNAT), a miss, and the full per-packet classification
//! (`packet_in`, which also refreshes the timeout).

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{Criterion, criterion_group, criterion_main};
use sim_core::{SimDuration, SimTime};
use sim_net::conntrack::{Conntrack, CtConfig, L4Tuple, TcpState, Tuple};
use sim_net::wire::{Packet, TcpFlags};

const N: u32 = 1_000_000;

fn client(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0000 | (i / 50_000))
}

fn orig(i: u32) -> Tuple {
    Tuple {
        src: client(i),
        dst: Ipv4Addr::new(10, 96, 0, 1),
        l4: L4Tuple::Tcp { sport: (1024 + i % 50_000) as u16, dport: 443 },
    }
}

fn reply(i: u32) -> Tuple {
    Tuple {
        src: Ipv4Addr::from(0x0af4_0000 | (i % 200)),
        dst: client(i),
        l4: L4Tuple::Tcp { sport: 8443, dport: (1024 + i % 50_000) as u16 },
    }
}

fn table() -> Conntrack {
    let mut ct = Conntrack::new(CtConfig { max: 2_000_000, ..CtConfig::default() });
    for i in 0..N {
        let _ = ct.insert(
            SimTime::ZERO,
            orig(i),
            reply(i),
            Some(TcpState::Established),
            SimDuration::from_secs(432_000),
        );
    }
    ct
}

fn bench(c: &mut Criterion) {
    let mut ct = table();
    assert_eq!(ct.len(), N as usize);
    let now = SimTime::ZERO + SimDuration::from_secs(1);
    let mut i = 0u32;
    c.bench_function("conntrack_1m_lookup_original", |b| {
        b.iter(|| {
            i = (i + 7919) % N;
            black_box(ct.lookup(now, &orig(i)))
        })
    });
    c.bench_function("conntrack_1m_lookup_reply", |b| {
        b.iter(|| {
            i = (i + 7919) % N;
            black_box(ct.lookup(now, &reply(i)))
        })
    });
    c.bench_function("conntrack_1m_lookup_miss", |b| {
        b.iter(|| {
            i = (i + 7919) % N;
            let mut t = orig(i);
            t.dst = Ipv4Addr::new(10, 96, 0, 2);
            black_box(ct.lookup(now, &t))
        })
    });
    c.bench_function("conntrack_1m_packet_in_ack", |b| {
        b.iter(|| {
            i = (i + 7919) % N;
            let t = orig(i);
            let (s, d) = t.ports().unwrap_or((0, 0));
            let p = Packet::tcp(t.src, s, t.dst, d, TcpFlags::ACK);
            black_box(ct.packet_in(now, &p))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
