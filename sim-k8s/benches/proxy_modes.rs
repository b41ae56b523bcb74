//! kube-proxy's IPVS and nftables modes (issues 10 and 11) on the cluster shape of
//! `kube_proxy.rs`: one node's view of 10,000 service ports with 100,000 endpoints spread over
//! 100 nodes (a fifth of the services NodePorts, a tenth LoadBalancers with
//! externalTrafficPolicy Local).
//!
//! - `proxy_modes/ipvs_sync_10k_services_100k_endpoints`: one IPVS-mode sync (what the node
//!   wants: virtual servers, bound addresses, ipsets, iptables rules). Target: below the
//!   iptables mode's 171 ms.
//! - `proxy_modes/ipvs_apply_fresh_host_10k_services`: that sync applied to a fresh host, as
//!   the world's `load_ipvs` does on a node's first sync: `apply_ipvs` (IPVS table,
//!   kube-ipvs0 addresses, sysctls) then `load_rules` (ipsets, initial iptables restore).
//! - `proxy_modes/nft_full_sync_10k_services_100k_endpoints`: one nftables-mode full sync
//!   (`Desired::build` + `full_sync` against an empty table): the `nft -f` transaction.
//! - `proxy_modes/nft_apply_fresh_10k_services`: that transaction applied to an empty
//!   `sim_net::nftables::Nftables`.
//! - `proxy_modes/nft_apply_partial_one_endpoint_change`: the partial sync after one
//!   endpoint of one service moved, applied to the loaded table.
//! - `proxy_modes/nft_apply_partial_1000_endpoint_changes`: the partial sync after one
//!   endpoint of each of 1,000 services moved (a rollout's worth: 1,000 endpoint chains
//!   added, 1,000 flushed and deleted, their map elements replaced) applied to the loaded
//!   table, as the world applies every later nftables-mode sync.
//! - `proxy_modes/nft_first_packet_last_service/N` (N = 1,000, 10,000, 100,000 service
//!   ports, two endpoints each, same shape otherwise): the first packet (SYN) to the last
//!   service's ClusterIP through the loaded `ip kube-proxy` table at PREROUTING (the
//!   `filter-prerouting-pre-dnat` and `nat-prerouting` base chains: `services` →
//!   `service-ips` verdict map → `service-` chain → `numgen` → `endpoint-` chain → DNAT), by
//!   `Netfilter::run_hook` without the rest of the network. Target: ≤ 1 µs, flat in N.

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use sim_core::{SimRng, SimTime};
use sim_k8s::kube_proxy::nftables::{Desired, Existing, full_sync, partial_sync};
use sim_k8s::kube_proxy::{EndpointsMap, ProxyConfig, ProxyMode, ServicePortInfo, ipvs};
use sim_net::netfilter::{AddrType, CtState, Hook, HookContext, HookVerdict, NatRequest, Netfilter};
use sim_net::network::Network;
use sim_net::nftables::Nftables;
use sim_net::wire::{Packet, TcpFlags};

#[path = "shape/cluster.rs"]
mod shape;

use shape::{ENDPOINTS_PER_SERVICE, NODE_IP, SERVICES, cluster, vip};

/// The cluster's service CIDR (172.30.0.0 + up to 131,071).
fn service_cidrs() -> Vec<ipnet::Ipv4Net> {
    vec!["172.30.0.0/15".parse().unwrap()]
}

fn nft_text(config: &ProxyConfig, services: &[ServicePortInfo], endpoints: &EndpointsMap) -> String {
    let desired = Desired::build(config, services, endpoints);
    full_sync(config, &service_cidrs(), &desired, &Existing::default())
}

fn ipvs_benches(c: &mut Criterion) {
    let (config, services, endpoints) = cluster(ProxyMode::Ipvs, SERVICES, ENDPOINTS_PER_SERVICE);
    let want = ipvs::sync(&config, &services, &endpoints);
    let dests: usize = want.services.values().map(|w| w.dests.len()).sum();
    eprintln!(
        "ipvs: virtual_servers={} real_servers={} bound_addrs={} set_members={} nat_bytes={} filter_bytes={}",
        want.services.len(),
        dests,
        want.bind_addrs.len(),
        want.rules.sets.iter().map(|(_, s)| s.len()).sum::<usize>(),
        want.rules.nat.len(),
        want.rules.filter.len(),
    );
    let fresh = || {
        let mut net = Network::new(1);
        let h = net.add_host("node-0").expect("host");
        (net, h)
    };
    {
        let (mut net, h) = fresh();
        let st = ipvs::apply::apply_ipvs(&mut net, h, &want, SimTime::ZERO);
        assert_eq!(st.services_added, want.services.len());
        assert_eq!(st.dests_added, dests);
    }

    let mut group = c.benchmark_group("proxy_modes");
    group.sample_size(10);
    group.bench_function("ipvs_sync_10k_services_100k_endpoints", |b| {
        b.iter(|| ipvs::sync(black_box(&config), black_box(&services), black_box(&endpoints)))
    });
    group.bench_function("ipvs_apply_fresh_host_10k_services", |b| {
        b.iter_batched(
            fresh,
            |(mut net, h)| {
                ipvs::apply::apply_ipvs(&mut net, h, black_box(&want), SimTime::ZERO);
                let host = net.host_mut(h).expect("host");
                ipvs::apply::load_rules(host.rules(), black_box(&want.rules), true, "node-0");
                net
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn nft_benches(c: &mut Criterion) {
    let (config, services, endpoints) = cluster(ProxyMode::Nftables, SERVICES, ENDPOINTS_PER_SERVICE);
    let desired = Desired::build(&config, &services, &endpoints);
    let text = full_sync(&config, &service_cidrs(), &desired, &Existing::default());
    eprintln!(
        "nftables: services={} endpoints={} chains={} rules={} elements={} transaction_bytes={}",
        desired.stats.services,
        desired.stats.endpoints,
        desired.stats.chains,
        desired.stats.rules,
        desired.stats.elements,
        text.len()
    );
    let mut loaded = Nftables::new();
    loaded.apply(&text).expect("nft -f");
    // A rollout's worth: one endpoint of each of 1,000 services moves; and one endpoint alone.
    let rolled = shape::moved(&endpoints, &services, 1000, 201);
    let partial = partial_sync(&desired, &Desired::build(&config, &services, &rolled));
    let one = shape::moved(&endpoints, &services, 1, 202);
    let partial_one = partial_sync(&desired, &Desired::build(&config, &services, &one));
    assert!(
        partial.lines().filter(|l| l.starts_with("delete chain")).count() >= 1000,
        "stale chains deleted"
    );

    let mut group = c.benchmark_group("proxy_modes");
    group.sample_size(10);
    group.bench_function("nft_full_sync_10k_services_100k_endpoints", |b| {
        b.iter(|| nft_text(black_box(&config), black_box(&services), black_box(&endpoints)))
    });
    group.bench_function("nft_apply_fresh_10k_services", |b| {
        b.iter_batched(
            Nftables::new,
            |mut nft| {
                nft.apply(black_box(&text)).expect("nft -f");
                nft
            },
            BatchSize::PerIteration,
        )
    });
    for (name, text) in [
        ("nft_apply_partial_one_endpoint_change", &partial_one),
        ("nft_apply_partial_1000_endpoint_changes", &partial),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || loaded.clone(),
                |mut nft| {
                    nft.apply(black_box(text)).expect("nft -f");
                    nft
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn addr_type(a: Ipv4Addr) -> AddrType {
    if a == NODE_IP { AddrType::Local } else { AddrType::Unicast }
}

fn nft_first_packet(c: &mut Criterion) {
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
    let mut group = c.benchmark_group("proxy_modes/nft_first_packet_last_service");
    for n in [1_000u32, 10_000, 100_000] {
        let (config, services, endpoints) = cluster(ProxyMode::Nftables, n, 2);
        let mut nf = Netfilter::new();
        nf.nftables_mut().apply(&nft_text(&config, &services, &endpoints)).expect("nft -f");
        let last = vip(n - 1);
        let pkt = Packet::tcp(Ipv4Addr::new(10, 255, 0, 1), 40000, last, 80, TcpFlags::SYN);
        let r = nf.run_hook(Hook::Prerouting, &mut pkt.clone(), &ctx, &mut rng, None);
        let want_eps: Vec<Ipv4Addr> =
            endpoints[&services[(n - 1) as usize].name].iter().map(|e| e.ip).collect();
        assert!(
            r.verdict == HookVerdict::Accept
                && matches!(r.nat, Some(NatRequest::Dnat { addr, port: Some(8080) }) if want_eps.contains(&addr)),
            "the first packet is DNATed to an endpoint of the last service: {:?} {:?}",
            r.verdict,
            r.nat
        );
        group.bench_function(n.to_string(), |b| {
            b.iter(|| {
                let mut p = pkt.clone();
                black_box(nf.run_hook(Hook::Prerouting, &mut p, &ctx, &mut rng, None))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, ipvs_benches, nft_benches, nft_first_packet);
criterion_main!(benches);
