//! One packet through large rule sets, as the project's performance targets state them:
//! - `chain_10k_linear`: a 10,000-rule filter chain whose rules all carry `-d/-p/--dport`
//!   and share the packet's destination (so no index can skip them), only the last matching:
//!   the cost of a plain linear scan;
//! - `kube_services_10k`: a kube-proxy-shaped nat table with 10,000 ClusterIP services (each
//!   with a KUBE-SVC and two KUBE-SEP chains); the first packet to the last service runs
//!   PREROUTING → KUBE-SERVICES → KUBE-SVC → KUBE-SEP → DNAT;
//! - `restore/kube_services_10k`: parsing and loading that table with `iptables-restore`.

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{Criterion, criterion_group, criterion_main};
use sim_core::{SimRng, SimTime};
use sim_net::netfilter::{AddrType, CtState, Hook, HookContext, Netfilter};
use sim_net::wire::{Packet, TcpFlags};

fn addr_type(a: Ipv4Addr) -> AddrType {
    if a == Ipv4Addr::new(192, 168, 1, 10) { AddrType::Local } else { AddrType::Unicast }
}

fn linear_chain(n: u16) -> Netfilter {
    let mut text = String::from("*filter\n:INPUT DROP [0:0]\n");
    for i in 0..n {
        text.push_str(&format!(
            "-A INPUT -d 192.168.1.10/32 -p tcp -m tcp --dport {} -j ACCEPT\n",
            10000 + i
        ));
    }
    text.push_str("COMMIT\n");
    let mut nf = Netfilter::new();
    nf.restore(&text, false).expect("restore");
    nf
}

fn kube_services(n: u32) -> Netfilter {
    let mut nf = Netfilter::new();
    nf.restore(&kube_services_text(n), false).expect("restore");
    nf
}

fn kube_services_text(n: u32) -> String {
    let mut decl =
        String::from("*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n");
    let mut rules = String::from(
        "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000\n",
    );
    for i in 0..n {
        let ip = Ipv4Addr::from(0x0a60_0000 + i);
        let svc = format!("KUBE-SVC-{i:016}");
        let (a, b) = (format!("KUBE-SEP-A{i:015}"), format!("KUBE-SEP-B{i:015}"));
        decl.push_str(&format!(":{svc} - [0:0]\n:{a} - [0:0]\n:{b} - [0:0]\n"));
        rules.push_str(&format!(
            "-A KUBE-SERVICES -m comment --comment \"ns/svc{i}:http cluster IP\" -m tcp -p tcp -d {ip} --dport 80 -j {svc}\n\
             -A {svc} -m comment --comment \"ns/svc{i}:http cluster IP\" -m tcp -p tcp -d {ip} --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ\n\
             -A {svc} -m comment --comment \"ns/svc{i}:http -> 10.244.1.1:8080\" -m statistic --mode random --probability 0.5000000000 -j {a}\n\
             -A {svc} -m comment --comment \"ns/svc{i}:http -> 10.244.1.2:8080\" -j {b}\n\
             -A {a} -m comment --comment ns/svc{i}:http -s 10.244.1.1 -j KUBE-MARK-MASQ\n\
             -A {a} -m comment --comment ns/svc{i}:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.1:8080\n\
             -A {b} -m comment --comment ns/svc{i}:http -s 10.244.1.2 -j KUBE-MARK-MASQ\n\
             -A {b} -m comment --comment ns/svc{i}:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.2:8080\n"
        ));
    }
    rules.push_str("-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\nCOMMIT\n");
    decl + &rules
}

fn bench(c: &mut Criterion) {
    let ctx = HookContext {
        now: SimTime::ZERO,
        in_iface: Some("eth0"),
        out_iface: None,
        ct_state: CtState::New,
        ct_new: true,
        ct_seen_reply: false,
        addr_type: &addr_type,
        ext: Default::default(),
    };
    let mut rng = SimRng::new(1).fork("bench");

    let mut nf = linear_chain(10_000);
    let pkt = Packet::tcp(
        Ipv4Addr::new(10, 0, 0, 1),
        40000,
        Ipv4Addr::new(192, 168, 1, 10),
        10000 + 9_999,
        TcpFlags::SYN,
    );
    c.bench_function("chain_10k_linear", |b| {
        b.iter(|| {
            let mut p = pkt.clone();
            black_box(nf.run_hook(Hook::Input, &mut p, &ctx, &mut rng, None))
        })
    });

    let mut nf = kube_services(10_000);
    let last = Ipv4Addr::from(0x0a60_0000 + 9_999);
    let pkt = Packet::tcp(Ipv4Addr::new(10, 0, 0, 1), 40000, last, 80, TcpFlags::SYN);
    c.bench_function("kube_services_10k_first_packet_last_service", |b| {
        b.iter(|| {
            let mut p = pkt.clone();
            black_box(nf.run_hook(Hook::Prerouting, &mut p, &ctx, &mut rng, None))
        })
    });
}

/// `iptables-restore` of the 10,000-service nat table (30,002 chains, 70,002 rules).
fn restore(c: &mut Criterion) {
    let text = kube_services_text(10_000);
    let mut g = c.benchmark_group("restore");
    g.sample_size(10);
    g.bench_function("kube_services_10k", |b| {
        b.iter(|| {
            let mut nf = Netfilter::new();
            nf.restore(black_box(&text), false).expect("restore");
            nf
        })
    });
    g.finish();
}

criterion_group!(benches, bench, restore);
criterion_main!(benches);
