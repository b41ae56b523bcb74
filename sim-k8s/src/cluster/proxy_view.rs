//! kube-proxy's view of the API: what its service and EndpointSlice informers turn API objects
//! into (upstream `pkg/proxy/servicechangetracker.go`, `serviceport.go` and
//! `endpointslicecache.go`). Services without a cluster IP (headless) and ExternalName services
//! are skipped (`ShouldSkipService`); endpoints come from EndpointSlices only, matched to a
//! service port by port name and protocol; a missing `ready` condition counts as ready and a
//! missing `serving` condition follows `ready`, as in the EndpointSlice API's documented
//! semantics. Unparsable IPs are skipped, as kube-proxy logs and skips them.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;

use crate::api::service::{Protocol, ServiceType as ApiServiceType, TrafficPolicy as ApiTrafficPolicy};
use crate::api::{EndpointSlice, Service};
use crate::kube_proxy::{
    Endpoint, EndpointsMap, ServicePortInfo, ServicePortName, ServiceProtocol, ServiceType, SessionAffinity,
    TrafficPolicy,
};

fn protocol(p: &Protocol) -> Option<ServiceProtocol> {
    match p {
        Protocol::TCP => Some(ServiceProtocol::Tcp),
        Protocol::UDP => Some(ServiceProtocol::Udp),
        Protocol::SCTP => Some(ServiceProtocol::Sctp),
        Protocol::Unsupported(_) => None,
    }
}

fn v4(s: &str) -> Option<Ipv4Addr> {
    match s.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

/// The service ports kube-proxy programs for `svc` (none for headless or ExternalName).
pub fn service_ports(svc: &Service) -> Vec<ServicePortInfo> {
    let spec = &svc.spec;
    let service_type = match spec.service_type() {
        ApiServiceType::ClusterIP => ServiceType::ClusterIp,
        ApiServiceType::NodePort => ServiceType::NodePort,
        ApiServiceType::LoadBalancer => ServiceType::LoadBalancer,
        ApiServiceType::ExternalName | ApiServiceType::Unsupported(_) => return Vec::new(),
    };
    let Some(cluster_ip) = spec.cluster_ip.ip().and_then(|ip| match ip {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }) else {
        return Vec::new();
    };
    let external_ips: Vec<Ipv4Addr> = spec.external_ips.iter().filter_map(|s| v4(s)).collect();
    let load_balancer_ips: Vec<Ipv4Addr> = if service_type == ServiceType::LoadBalancer {
        svc.status.iter().flat_map(|s| s.load_balancer.ingress.iter()).filter_map(|i| v4(&i.ip)).collect()
    } else {
        Vec::new()
    };
    let source_ranges: Vec<Ipv4Net> =
        spec.load_balancer_source_ranges.iter().filter_map(|s| s.trim().parse().ok()).collect();
    let affinity = match spec.affinity_timeout() {
        Some(t) => SessionAffinity::ClientIp { timeout_seconds: t.max(0) as u32 },
        None => SessionAffinity::None,
    };
    let policy = |p: ApiTrafficPolicy| match p {
        ApiTrafficPolicy::Local => TrafficPolicy::Local,
        _ => TrafficPolicy::Cluster,
    };
    let etp = if spec.is_external_type() { policy(spec.external_policy()) } else { TrafficPolicy::Cluster };
    let itp = policy(spec.internal_policy());
    let mut out = Vec::new();
    for p in &spec.ports {
        let Some(proto) = protocol(&p.protocol()) else { continue };
        let Ok(port) = u16::try_from(p.port) else { continue };
        let name = ServicePortName::new(&svc.metadata.namespace, &svc.metadata.name, &p.name, proto);
        let mut info = ServicePortInfo::cluster_ip(name, cluster_ip, port);
        info.service_type = service_type;
        info.node_port = p.node_port.and_then(|n| u16::try_from(n).ok()).filter(|n| *n != 0);
        info.external_ips = external_ips.clone();
        info.load_balancer_ips = load_balancer_ips.clone();
        info.load_balancer_source_ranges = source_ranges.clone();
        info.session_affinity = affinity;
        info.external_traffic_policy = etp;
        info.internal_traffic_policy = itp;
        info.health_check_node_port = spec.health_check_node_port.and_then(|n| u16::try_from(n).ok());
        out.push(info);
    }
    out
}

/// Adds the endpoints of `slice` to `map` for the service ports it serves. Slices without the
/// `kubernetes.io/service-name` label are ignored, as kube-proxy's informer filters them.
pub fn add_slice(map: &mut EndpointsMap, slice: &EndpointSlice) {
    let Some(service) = slice.service_name() else { return };
    let ns = &slice.metadata.namespace;
    for port in &slice.ports {
        let Some(Ok(number)) = port.port.map(u16::try_from) else { continue };
        let proto = port.protocol.as_ref().map(protocol).unwrap_or(Some(ServiceProtocol::Tcp));
        let Some(proto) = proto else { continue };
        let name = ServicePortName::new(ns, service, port.name.as_deref().unwrap_or(""), proto);
        let list = map.entry(name).or_default();
        for ep in &slice.endpoints {
            let ready = ep.conditions.is_ready();
            let serving = ep.conditions.is_serving();
            let terminating = ep.conditions.is_terminating();
            for addr in &ep.addresses {
                let Some(ip) = v4(addr) else { continue };
                if list.iter().any(|e| e.ip == ip && e.port == number) {
                    continue;
                }
                list.push(Endpoint {
                    ip,
                    port: number,
                    node_name: ep.node_name.clone(),
                    ready,
                    serving,
                    terminating,
                });
            }
        }
    }
}

/// The endpoints map built from every slice, in the given order.
pub fn endpoints_map<'a>(slices: impl IntoIterator<Item = &'a EndpointSlice>) -> EndpointsMap {
    let mut map = EndpointsMap::new();
    for s in slices {
        add_slice(&mut map, s);
    }
    map
}

/// kube-proxy's view of the API at one revision: every service port (sorted by name, one per
/// name, as upstream's ServicePortMap) and every endpoint. Computed once per change and shared
/// by every node that syncs at that revision (all nodes see the same informer state; only the
/// rules they write differ), so a sync on a 5,000-node cluster costs one view, not 5,000.
#[derive(Debug, Default)]
pub struct ProxySnapshot {
    /// The API change sequence the view reflects.
    pub seq: u64,
    /// Service ports, sorted by name.
    pub services: Vec<ServicePortInfo>,
    /// Endpoints by service port.
    pub endpoints: EndpointsMap,
    /// The service ports with a health-check node port, and their endpoints: all a node's
    /// health-check servers depend on.
    hc_services: Vec<ServicePortInfo>,
    hc_endpoints: EndpointsMap,
}

impl ProxySnapshot {
    /// The view of `services` and `slices` at change `seq`.
    pub fn build<'a>(
        seq: u64,
        services: impl IntoIterator<Item = &'a Service>,
        slices: impl IntoIterator<Item = &'a EndpointSlice>,
    ) -> ProxySnapshot {
        let mut ports: Vec<ServicePortInfo> = services.into_iter().flat_map(service_ports).collect();
        // Stable: among equal names the first given wins, as in upstream's map.
        ports.sort_by(|a, b| a.name.cmp(&b.name));
        ports.dedup_by(|later, earlier| later.name == earlier.name);
        let endpoints = endpoints_map(slices);
        let hc_services: Vec<ServicePortInfo> =
            ports.iter().filter(|p| p.effective_health_check_node_port().is_some()).cloned().collect();
        let hc_names: std::collections::BTreeSet<(&str, &str)> =
            hc_services.iter().map(|s| (s.name.namespace.as_str(), s.name.name.as_str())).collect();
        let hc_endpoints: EndpointsMap = endpoints
            .iter()
            .filter(|(k, _)| hc_names.contains(&(k.namespace.as_str(), k.name.as_str())))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        ProxySnapshot { seq, services: ports, endpoints, hc_services, hc_endpoints }
    }

    /// The health-check servers node `config` runs with this view (what a sync reports).
    pub fn health_checks(
        &self,
        config: &crate::kube_proxy::ProxyConfig,
    ) -> Vec<crate::kube_proxy::HealthCheckServer> {
        let svcs: Vec<&ServicePortInfo> = self.hc_services.iter().collect();
        crate::kube_proxy::healthcheck::health_check_servers(config, &svcs, &self.hc_endpoints)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Object;
    use crate::manifest::load_str;

    fn objects(text: &str) -> Vec<Object> {
        let out = load_str("test.yaml", text);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        out.objects.into_iter().map(|l| l.value).collect()
    }

    #[test]
    fn node_port_service_becomes_one_port_per_spec_port() {
        let objs = objects(
            "apiVersion: v1\nkind: Service\nmetadata: {name: my-nginx, namespace: default}\nspec:\n  type: NodePort\n  clusterIP: 10.96.0.50\n  ports:\n  - {name: http, port: 80, nodePort: 30380}\n  - {name: dns, port: 53, protocol: UDP}\n  externalTrafficPolicy: Local\n",
        );
        let Object::Service(svc) = &objs[0] else { panic!("not a service") };
        let ports = service_ports(svc);
        assert_eq!(ports.len(), 2);
        assert_eq!(ports[0].name.to_string(), "default/my-nginx:http");
        assert_eq!(ports[0].node_port, Some(30380));
        assert_eq!(ports[0].external_traffic_policy, TrafficPolicy::Local);
        assert_eq!(ports[1].name.protocol, ServiceProtocol::Udp);
    }

    #[test]
    fn headless_and_external_name_services_are_skipped() {
        let objs = objects(
            "apiVersion: v1\nkind: Service\nmetadata: {name: h}\nspec:\n  clusterIP: None\n  ports: [{port: 9092}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: e}\nspec:\n  type: ExternalName\n  externalName: my.database.example.com\n",
        );
        for o in &objs {
            let Object::Service(svc) = o else { panic!("not a service") };
            assert!(service_ports(svc).is_empty());
        }
    }

    #[test]
    fn slices_give_endpoints_with_conditions() {
        let objs = objects(
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-abc12\n  namespace: default\n  labels: {kubernetes.io/service-name: web}\naddressType: IPv4\nports: [{name: http, port: 8080, protocol: TCP}]\nendpoints:\n- addresses: [10.244.1.5]\n  nodeName: node01\n- addresses: [10.244.2.5]\n  conditions: {ready: false, serving: true, terminating: true}\n  nodeName: node02\n",
        );
        let Object::EndpointSlice(slice) = &objs[0] else { panic!("not a slice") };
        let map = endpoints_map([slice]);
        let eps = &map[&ServicePortName::new("default", "web", "http", ServiceProtocol::Tcp)];
        assert_eq!(eps.len(), 2);
        assert!(eps[0].ready && eps[0].serving && !eps[0].terminating);
        assert!(!eps[1].ready && eps[1].serving && eps[1].terminating);
    }
}
