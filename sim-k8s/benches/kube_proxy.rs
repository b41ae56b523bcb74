//! kube-proxy rule generation for one node of a large cluster: 10,000 service ports with
//! 100,000 endpoints spread over 100 nodes (a fifth of the services are NodePorts, a tenth
//! LoadBalancers with externalTrafficPolicy Local). Target: one full sync ≤ 200 ms.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sim_k8s::kube_proxy::{ProxyMode, sync};

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

criterion_group!(benches, bench);
criterion_main!(benches);
