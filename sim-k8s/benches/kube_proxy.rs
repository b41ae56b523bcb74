//! kube-proxy rule generation for one node of a large cluster: 10,000 service ports with
//! 100,000 endpoints spread over 100 nodes (a fifth of the services are NodePorts, a tenth
//! LoadBalancers with externalTrafficPolicy Local). Target: one full sync ≤ 200 ms.

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{Criterion, criterion_group, criterion_main};
use sim_k8s::kube_proxy::{
    Endpoint, EndpointsMap, ProxyConfig, ServicePortInfo, ServicePortName, ServiceProtocol, ServiceType,
    TrafficPolicy, sync,
};

const SERVICES: u32 = 10_000;
const ENDPOINTS_PER_SERVICE: u32 = 10;
const NODES: u32 = 100;

fn cluster() -> (ProxyConfig, Vec<ServicePortInfo>, EndpointsMap) {
    let config =
        ProxyConfig::new("node-0", Ipv4Addr::new(192, 168, 0, 2), Some("10.0.0.0/8".parse().unwrap()));
    let mut services = Vec::with_capacity(SERVICES as usize);
    let mut endpoints = EndpointsMap::new();
    let mut next_ep: u32 = 0;
    for i in 0..SERVICES {
        let name =
            ServicePortName::new(&format!("ns{}", i % 50), &format!("svc{i}"), "http", ServiceProtocol::Tcp);
        let vip = Ipv4Addr::from(u32::from(Ipv4Addr::new(172, 30, 0, 0)) + i);
        let mut s = ServicePortInfo::cluster_ip(name.clone(), vip, 80);
        if i % 5 == 0 {
            s.service_type = ServiceType::NodePort;
            s.node_port = Some(30000 + (i % 2768) as u16);
        }
        if i % 10 == 0 {
            s.service_type = ServiceType::LoadBalancer;
            s.load_balancer_ips = vec![Ipv4Addr::from(u32::from(Ipv4Addr::new(100, 64, 0, 0)) + i)];
            s.external_traffic_policy = TrafficPolicy::Local;
            s.health_check_node_port = Some(32000 + (i % 767) as u16);
        }
        let eps = (0..ENDPOINTS_PER_SERVICE)
            .map(|_| {
                next_ep += 1;
                let node = format!("node-{}", next_ep % NODES);
                Endpoint::ready(
                    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + next_ep),
                    8080,
                    Some(&node),
                )
            })
            .collect();
        endpoints.insert(name, eps);
        services.push(s);
    }
    (config, services, endpoints)
}

fn bench(c: &mut Criterion) {
    let (config, services, endpoints) = cluster();
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
