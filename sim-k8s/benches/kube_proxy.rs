//! kube-proxy rule generation and loading for one node of a large cluster: 10,000 service
//! ports with 100,000 endpoints spread over 100 nodes (a fifth of the services are NodePorts,
//! a tenth LoadBalancers with externalTrafficPolicy Local).
//!
//! - `kube_proxy/sync_10k_services_100k_endpoints`: one full sync (the restore text). Target
//!   ≤ 200 ms.
//! - `restore/initial_10k_services_100k_endpoints`: `iptables-restore` of the node's initial
//!   load ([`SyncResult::initial_restore`], ≈ 34 MB) into empty tables, as a node's first sync
//!   does. Target ≤ 100 ms. (Freeing the loaded tables afterwards is not timed.)
//! - `restore/noflush_full_resync_one_endpoint_change`: `iptables-restore --noflush` of the full
//!   sync after one endpoint of one service changed, into the loaded tables (what netsim's
//!   world feeds on every later sync).
//! - `restore/noflush_partial_resync_one_endpoint_change`: the same with the partial restore
//!   upstream kube-proxy writes then (`tryPartialSync`): the filter table and the nat table's
//!   top-level chains (KUBE-SERVICES, KUBE-NODEPORTS, ...) in full, plus only the service
//!   chains whose rules changed, and the stale chain's `-X`.
//! - `restore/noflush_full_resync_1000_endpoint_changes`: the full sync after one endpoint of
//!   each of 1,000 services moved (a rollout's worth): 1,000 stale endpoint chains deleted
//!   with `-X` in one restore.
//! - `restore/first_packet_after_restore`: after that partial restore, the first packet (SYN)
//!   to the last service's ClusterIP through PREROUTING (KUBE-SERVICES was rewritten by the
//!   restore). One packet per restore; the restore is not timed. Target ≤ 2 µs.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use sim_core::{SimRng, SimTime};
use sim_k8s::kube_proxy::chain_name::is_service_chain_name;
use sim_k8s::kube_proxy::{ProxyMode, SyncResult, sync, sync_with_existing};
use sim_net::netfilter::{
    AddrType, CtState, Hook, HookContext, NatRequest, Netfilter, SaveOptions, TableName,
};
use sim_net::wire::{Packet, TcpFlags};

#[path = "shape/cluster.rs"]
mod shape;

fn bench(c: &mut Criterion) {
    let (config, services, endpoints) =
        shape::cluster(ProxyMode::Iptables, shape::SERVICES, shape::ENDPOINTS_PER_SERVICE);
    let r = sync(&config, &services, &endpoints);
    eprintln!(
        "services={} endpoints={} nat_rules={} filter_rules={} nat_bytes={} large_cluster_mode={}",
        r.stats.services,
        r.stats.endpoints,
        r.stats.nat_rules,
        r.stats.filter_rules,
        r.nat.len(),
        r.stats.large_cluster_mode
    );
    let mut group = c.benchmark_group("kube_proxy");
    group.sample_size(10);
    group.bench_function("sync_10k_services_100k_endpoints", |b| {
        b.iter(|| sync(black_box(&config), black_box(&services), black_box(&endpoints)))
    });
    group.finish();
}

/// The chain of a `:CHAIN ...`, `-A CHAIN ...` or `-X CHAIN` line.
fn line_chain(l: &str) -> Option<&str> {
    let rest = l.strip_prefix(':').or_else(|| l.strip_prefix("-A ")).or_else(|| l.strip_prefix("-X "))?;
    rest.split(' ').next()
}

/// Each chain's `-A` lines, concatenated.
fn chain_rules(nat: &str) -> BTreeMap<&str, String> {
    let mut m: BTreeMap<&str, String> = BTreeMap::new();
    for l in nat.lines() {
        if let Some(rest) = l.strip_prefix("-A ") {
            let c = rest.split(' ').next().unwrap_or("");
            let s = m.entry(c).or_default();
            s.push_str(l);
            s.push('\n');
        }
    }
    m
}

/// Upstream's partial sync after `after` replaced `before` (`tryPartialSync` in
/// `syncProxyRules`): the filter table in full; of the nat table, every chain that is not a
/// service chain in full, the service chains whose rules changed (or that are new), and the
/// stale chains' flush and `-X`.
fn partial_restore(before: &SyncResult, after: &SyncResult) -> String {
    let (old, new) = (chain_rules(&before.nat), chain_rules(&after.nat));
    let mut out = String::with_capacity(after.filter.len() + after.nat.len() / 4);
    out.push_str(&after.filter);
    let deleted: Vec<&str> = after.nat.lines().filter_map(|l| l.strip_prefix("-X ")).collect();
    for l in after.nat.lines() {
        let keep = match line_chain(l) {
            Some(c) if is_service_chain_name(c) => {
                deleted.contains(&c) || old.get(c) != new.get(c) || !old.contains_key(c)
            }
            _ => true,
        };
        if keep {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

fn addr_type(a: Ipv4Addr) -> AddrType {
    if a == shape::NODE_IP { AddrType::Local } else { AddrType::Unicast }
}

// A bench measures wall time around the simulation, never inside it.
#[allow(clippy::disallowed_types)]
fn restore(c: &mut Criterion) {
    use std::time::Instant;
    let (config, services, endpoints) =
        shape::cluster(ProxyMode::Iptables, shape::SERVICES, shape::ENDPOINTS_PER_SERVICE);
    let before = sync(&config, &services, &endpoints);
    let initial = before.initial_restore();
    let mut loaded = Netfilter::new();
    loaded.restore(&initial, false).expect("initial restore");
    let existing: std::collections::BTreeSet<String> =
        loaded.table(TableName::Nat).chains().map(|ch| ch.name.clone()).collect();
    // One endpoint of the first service moves to a new address.
    let endpoints = shape::moved(&endpoints, &services, 1, 200);
    let after = sync_with_existing(&config, &services, &endpoints, &existing);
    let full = after.restore_input();
    let partial = partial_restore(&before, &after);
    // A rollout's worth: one endpoint of each of 1,000 services moves.
    let rolled = shape::moved(&endpoints, &services, 1000, 201);
    let rollout = sync_with_existing(&config, &services, &rolled, &existing).restore_input();
    assert!(rollout.lines().filter(|l| l.starts_with("-X ")).count() >= 1000, "stale chains deleted");
    eprintln!(
        "initial_bytes={} initial_lines={} full_resync_bytes={} partial_resync_bytes={} partial_resync_lines={}",
        initial.len(),
        initial.lines().count(),
        full.len(),
        partial.len(),
        partial.lines().count()
    );
    // Both resyncs leave the tables a fresh load of the new sync leaves.
    let want = {
        let mut nf = Netfilter::new();
        nf.restore(&after.initial_restore(), false).expect("initial restore after the change");
        nf.save(&SaveOptions::default())
    };
    for text in [&full, &partial] {
        let mut nf = loaded.clone();
        nf.restore(text, true).expect("resync");
        assert_eq!(nf.save(&SaveOptions::default()), want, "a resync leaves what a fresh load does");
    }

    let mut g = c.benchmark_group("restore");
    g.sample_size(10);
    g.bench_function("initial_10k_services_100k_endpoints", |b| {
        b.iter_with_large_drop(|| {
            let mut nf = Netfilter::new();
            nf.restore(black_box(&initial), false).expect("restore");
            nf
        })
    });
    for (name, text) in [
        ("noflush_full_resync_one_endpoint_change", &full),
        ("noflush_partial_resync_one_endpoint_change", &partial),
        ("noflush_full_resync_1000_endpoint_changes", &rollout),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || loaded.clone(),
                |mut nf| {
                    nf.restore(black_box(text), true).expect("resync");
                    nf
                },
                BatchSize::PerIteration,
            )
        });
    }

    // The first packet after the partial resync: one packet per restore, so criterion is held
    // to 10 samples of one iteration each (the warm-up is one iteration too).
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
    let last = services.iter().max_by_key(|s| &s.name).expect("services");
    let pkt = Packet::tcp(Ipv4Addr::new(10, 255, 0, 1), 40000, last.cluster_ip, 80, TcpFlags::SYN);
    let want_eps: Vec<Ipv4Addr> = endpoints[&last.name].iter().map(|e| e.ip).collect();
    let mut nf = loaded.clone();
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_nanos(1));
    g.measurement_time(Duration::from_nanos(1));
    g.bench_function("first_packet_after_restore", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                nf.restore(&partial, true).expect("resync");
                let mut p = pkt.clone();
                let start = Instant::now();
                let r = nf.run_hook(Hook::Prerouting, &mut p, &ctx, &mut rng, None);
                total += start.elapsed();
                assert!(
                    matches!(r.nat, Some(NatRequest::Dnat { addr, port: Some(8080) }) if want_eps.contains(&addr)),
                    "the first packet is DNATed to an endpoint of the last service: {:?}",
                    r.nat
                );
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench, restore);
criterion_main!(benches);
