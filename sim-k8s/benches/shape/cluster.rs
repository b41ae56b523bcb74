//! The cluster shape the kube-proxy benches share: one node's view of service ports whose
//! endpoints are spread over 100 nodes (a fifth of the services NodePorts, a tenth
//! LoadBalancers with externalTrafficPolicy Local). Included by `kube_proxy.rs` and
//! `proxy_modes.rs` with `#[path]`.

use std::net::Ipv4Addr;

use sim_k8s::kube_proxy::{
    Endpoint, EndpointsMap, ProxyConfig, ProxyMode, ServicePortInfo, ServicePortName, ServiceProtocol,
    ServiceType, TrafficPolicy,
};

pub const SERVICES: u32 = 10_000;
pub const ENDPOINTS_PER_SERVICE: u32 = 10;
pub const NODES: u32 = 100;
pub const NODE_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 2);

pub fn vip(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(172, 30, 0, 0)) + i)
}

/// One node's view: `services` service ports of `per_service` endpoints each, in `mode`.
pub fn cluster(
    mode: ProxyMode,
    services: u32,
    per_service: u32,
) -> (ProxyConfig, Vec<ServicePortInfo>, EndpointsMap) {
    let mut config = ProxyConfig::new("node-0", NODE_IP, Some("10.0.0.0/8".parse().unwrap()));
    config.mode = mode;
    let mut list = Vec::with_capacity(services as usize);
    let mut endpoints = EndpointsMap::new();
    let mut next_ep: u32 = 0;
    for i in 0..services {
        let name =
            ServicePortName::new(&format!("ns{}", i % 50), &format!("svc{i}"), "http", ServiceProtocol::Tcp);
        let mut s = ServicePortInfo::cluster_ip(name.clone(), vip(i), 80);
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
        let eps = (0..per_service)
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
        list.push(s);
    }
    (config, list, endpoints)
}

/// `endpoints` with the first endpoint of each of the first `n` services moved to a new
/// address in `10.NET.0.0/16` (10.NET.0.1 first), on the same node: one endpoint change, or a
/// rollout's worth.
pub fn moved(endpoints: &EndpointsMap, services: &[ServicePortInfo], n: usize, net: u8) -> EndpointsMap {
    let mut out = endpoints.clone();
    for (i, svc) in services.iter().take(n).enumerate() {
        let Some(eps) = out.get_mut(&svc.name) else { continue };
        let node = eps[0].node_name.clone();
        let ip = Ipv4Addr::new(10, net, (i / 250) as u8, (i % 250) as u8 + 1);
        eps[0] = Endpoint::ready(ip, 8080, node.as_deref());
    }
    out
}
