//! CoreDNS's view of the API: what the kubernetes plugin's informers (`plugin/kubernetes/object`:
//! Service, EndpointSlice, Pod, Namespace) turn API objects into. Endpoints come from
//! EndpointSlices, like current CoreDNS; a missing `ready` condition counts as ready.

use std::net::IpAddr;

use crate::api::service::{Protocol as ApiProtocol, ServiceType as ApiServiceType};
use crate::api::{EndpointSlice, Namespace, Pod, Service};
use crate::dns::{ClusterDnsView, DnsEndpoint, DnsPod, DnsPort, DnsService, Protocol, ServiceType};

fn protocol(p: &ApiProtocol) -> Protocol {
    match p {
        ApiProtocol::UDP => Protocol::Udp,
        ApiProtocol::SCTP => Protocol::Sctp,
        _ => Protocol::Tcp,
    }
}

/// Builds the view from API objects.
pub fn dns_view<'a>(
    namespaces: impl IntoIterator<Item = &'a Namespace>,
    services: impl IntoIterator<Item = &'a Service>,
    slices: &[&'a EndpointSlice],
    pods: impl IntoIterator<Item = &'a Pod>,
) -> ClusterDnsView {
    let mut view = ClusterDnsView::default();
    for ns in namespaces {
        view.namespaces.insert(ns.metadata.name.clone());
    }
    // Each service's slices, found by (namespace, service) once rather than by a scan of every
    // slice per service.
    let mut by_service: std::collections::BTreeMap<(&str, &str), Vec<&EndpointSlice>> = Default::default();
    for s in slices {
        if let Some(svc) = s.service_name() {
            by_service.entry((s.metadata.namespace.as_str(), svc)).or_default().push(s);
        }
    }
    for svc in services {
        let key = (svc.metadata.namespace.as_str(), svc.metadata.name.as_str());
        view.services.push(dns_service(svc, by_service.get(&key).map_or(&[], Vec::as_slice)));
    }
    for pod in pods {
        let ips: Vec<IpAddr> = pod.status.iter().filter_map(|s| s.pod_ip).collect();
        if ips.is_empty() {
            continue;
        }
        view.pods.push(DnsPod {
            namespace: pod.metadata.namespace.clone(),
            name: pod.metadata.name.clone(),
            ips,
            hostname: Some(pod.spec.hostname.clone()).filter(|h| !h.is_empty()),
            subdomain: Some(pod.spec.subdomain.clone()).filter(|s| !s.is_empty()),
        });
    }
    view
}

/// One service as the plugin sees it, with the EndpointSlices labelled with its name.
fn dns_service(svc: &Service, slices: &[&EndpointSlice]) -> DnsService {
    let ns = &svc.metadata.namespace;
    let name = &svc.metadata.name;
    let spec = &svc.spec;
    let mut out = match spec.service_type() {
        ApiServiceType::ExternalName => DnsService::external_name(ns, name, &spec.external_name),
        _ if spec.is_headless() => DnsService::headless(ns, name),
        t => {
            let ip = spec.cluster_ip.ip().unwrap_or(IpAddr::from([0, 0, 0, 0]));
            let mut s = DnsService::cluster_ip(ns, name, ip);
            s.service_type = match t {
                ApiServiceType::NodePort => ServiceType::NodePort,
                ApiServiceType::LoadBalancer => ServiceType::LoadBalancer,
                _ => ServiceType::ClusterIp,
            };
            s
        }
    };
    out.publish_not_ready_addresses = spec.publish_not_ready_addresses.unwrap_or(false);
    out.labels = svc.metadata.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for p in &spec.ports {
        if let Ok(port) = u16::try_from(p.port) {
            out.ports.push(DnsPort { name: p.name.clone(), protocol: protocol(&p.protocol()), port });
        }
    }
    for slice in slices {
        for p in &slice.ports {
            let Some(Ok(port)) = p.port.map(u16::try_from) else { continue };
            let dp = DnsPort {
                name: p.name.clone().unwrap_or_default(),
                protocol: p.protocol.as_ref().map(protocol).unwrap_or(Protocol::Tcp),
                port,
            };
            if !out.endpoint_ports.contains(&dp) {
                out.endpoint_ports.push(dp);
            }
        }
        for ep in &slice.endpoints {
            for addr in &ep.addresses {
                let Ok(ip) = addr.parse::<IpAddr>() else { continue };
                if out.endpoints.iter().any(|e| e.ip == ip) {
                    continue;
                }
                out.endpoints.push(DnsEndpoint {
                    ip,
                    hostname: ep.hostname.clone(),
                    ready: ep.conditions.is_ready(),
                    node_name: ep.node_name.clone(),
                    target_pod: ep.target_ref.as_ref().map(|r| r.name.clone()),
                });
            }
        }
    }
    out
}
