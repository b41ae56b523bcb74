//! The DNS server's view of the cluster: the few facts about Services, endpoints, pods and
//! namespaces that cluster DNS answers from.
//!
//! Modelled on the cache objects CoreDNS's kubernetes plugin builds for itself
//! (plugin/kubernetes/object: Service, Endpoints, Pod), so this module does not depend on the
//! API types; the scenario runner fills it from the API server's objects. Endpoint hostnames
//! are already resolved here the way the EndpointSlice controller does it (a pod's
//! `spec.hostname` when its `spec.subdomain` names the Service), and `ready` is the
//! EndpointSlice `ready` condition.
//!
//! Left out: EndpointSlice topology (zones, hints), multicluster, dual-stack families
//! beyond "a list of cluster IPs".

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

/// Transport protocol of a Service port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP (the default).
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// The label used in SRV names (`_tcp`), without the underscore.
    pub fn dns_label(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

impl fmt::Display for Protocol {
    /// The Kubernetes spelling (`TCP`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        })
    }
}

/// `spec.type` of a Service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceType {
    /// ClusterIP (also the headless case, see [`DnsService::headless`]).
    ClusterIp,
    /// NodePort.
    NodePort,
    /// LoadBalancer.
    LoadBalancer,
    /// ExternalName: a CNAME to `spec.externalName`.
    ExternalName,
}

/// A named (or unnamed) port, of a Service or of its endpoints.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DnsPort {
    /// `name` (empty for the single unnamed port).
    pub name: String,
    /// Protocol.
    pub protocol: Protocol,
    /// Port number (the Service port, or the endpoint's target port).
    pub port: u16,
}

/// One endpoint address of a Service.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DnsEndpoint {
    /// The pod (or external) address.
    pub ip: IpAddr,
    /// `hostname` of the endpoint (set from the pod's hostname when subdomain matches).
    pub hostname: Option<String>,
    /// EndpointSlice `conditions.ready`.
    pub ready: bool,
    /// Node the endpoint runs on.
    pub node_name: Option<String>,
    /// Name of the pod in `targetRef`.
    pub target_pod: Option<String>,
}

/// A Service with its endpoints, as cluster DNS sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsService {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `spec.type`.
    pub service_type: ServiceType,
    /// `spec.clusterIPs` (empty when headless or ExternalName).
    pub cluster_ips: Vec<IpAddr>,
    /// True when `spec.clusterIP` is `None`.
    pub headless: bool,
    /// `spec.ports`.
    pub ports: Vec<DnsPort>,
    /// `spec.externalName` for ExternalName Services.
    pub external_name: Option<String>,
    /// `spec.publishNotReadyAddresses`.
    pub publish_not_ready_addresses: bool,
    /// The endpoint ports (target ports, with the Service port names).
    pub endpoint_ports: Vec<DnsPort>,
    /// Endpoint addresses, in EndpointSlice order.
    pub endpoints: Vec<DnsEndpoint>,
    /// `metadata.labels` (for the kubernetes plugin's `labels` selector).
    pub labels: std::collections::BTreeMap<String, String>,
}

impl DnsService {
    /// A ClusterIP Service with one IP, no ports and no endpoints (builder start).
    pub fn cluster_ip(namespace: &str, name: &str, ip: IpAddr) -> Self {
        DnsService {
            namespace: namespace.to_string(),
            name: name.to_string(),
            service_type: ServiceType::ClusterIp,
            cluster_ips: vec![ip],
            headless: false,
            ports: Vec::new(),
            external_name: None,
            publish_not_ready_addresses: false,
            endpoint_ports: Vec::new(),
            endpoints: Vec::new(),
            labels: std::collections::BTreeMap::new(),
        }
    }

    /// A headless Service (builder start).
    pub fn headless(namespace: &str, name: &str) -> Self {
        DnsService {
            cluster_ips: Vec::new(),
            headless: true,
            ..DnsService::cluster_ip(namespace, name, IpAddr::from([0, 0, 0, 0]))
        }
    }

    /// An ExternalName Service.
    pub fn external_name(namespace: &str, name: &str, target: &str) -> Self {
        DnsService {
            service_type: ServiceType::ExternalName,
            cluster_ips: Vec::new(),
            external_name: Some(target.to_string()),
            ..DnsService::cluster_ip(namespace, name, IpAddr::from([0, 0, 0, 0]))
        }
    }

    /// Adds a Service port (builder).
    pub fn with_port(mut self, name: &str, protocol: Protocol, port: u16) -> Self {
        self.ports.push(DnsPort { name: name.to_string(), protocol, port });
        self
    }

    /// Adds an endpoint port (builder).
    pub fn with_endpoint_port(mut self, name: &str, protocol: Protocol, port: u16) -> Self {
        self.endpoint_ports.push(DnsPort { name: name.to_string(), protocol, port });
        self
    }

    /// Adds an endpoint (builder).
    pub fn with_endpoint(mut self, ip: IpAddr, hostname: Option<&str>, ready: bool) -> Self {
        self.endpoints.push(DnsEndpoint {
            ip,
            hostname: hostname.map(str::to_string),
            ready,
            node_name: None,
            target_pod: None,
        });
        self
    }

    /// The endpoints DNS publishes: ready ones, or all with `publishNotReadyAddresses`
    /// (the EndpointSlice controller then reports every endpoint as ready).
    pub fn published_endpoints(&self) -> impl Iterator<Item = &DnsEndpoint> {
        self.endpoints.iter().filter(move |e| e.ready || self.publish_not_ready_addresses)
    }
}

/// The `hostname` the EndpointSlice controller gives a pod's endpoint in a Service: the pod's
/// `spec.hostname` when its `spec.subdomain` names that Service (same namespace), otherwise
/// none (pkg/controller/util/endpoint `ShouldSetHostname`... via `podToEndpoint`). This is
/// what makes `kafka-0.kafka-headless.kafka.svc.cluster.local` exist for a StatefulSet pod.
pub fn endpoint_hostname_for(
    pod_hostname: Option<&str>,
    pod_subdomain: Option<&str>,
    service_name: &str,
) -> Option<String> {
    match (pod_hostname, pod_subdomain) {
        (Some(h), Some(sub)) if !h.is_empty() && sub == service_name => Some(h.to_string()),
        _ => None,
    }
}

/// A pod, for pod A records (`a-b-c-d.ns.pod.cluster.local`) in `pods verified` mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsPod {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `status.podIPs`.
    pub ips: Vec<IpAddr>,
    /// `spec.hostname`.
    pub hostname: Option<String>,
    /// `spec.subdomain`.
    pub subdomain: Option<String>,
}

/// Everything cluster DNS answers from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterDnsView {
    /// Namespaces that exist (CoreDNS answers NXDOMAIN below a missing namespace). The
    /// namespaces of services and pods count as existing even if not listed.
    pub namespaces: BTreeSet<String>,
    /// Services.
    pub services: Vec<DnsService>,
    /// Pods.
    pub pods: Vec<DnsPod>,
    /// The view of a kubernetes plugin that has not synced yet: empty, and a name it does
    /// not find is SERVFAIL ([`super::coredns::kube_api`]).
    pub unsynced: bool,
}

impl ClusterDnsView {
    /// True when the namespace exists.
    pub fn namespace_exists(&self, ns: &str) -> bool {
        self.namespaces.iter().any(|n| n.eq_ignore_ascii_case(ns))
            || self.services.iter().any(|s| s.namespace.eq_ignore_ascii_case(ns))
            || self.pods.iter().any(|p| p.namespace.eq_ignore_ascii_case(ns))
    }

    /// The services with this name in this namespace (case-insensitive, as CoreDNS matches).
    pub fn service(&self, ns: &str, name: &str) -> Option<&DnsService> {
        self.services
            .iter()
            .find(|s| s.namespace.eq_ignore_ascii_case(ns) && s.name.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statefulset_pods_get_hostnames_only_under_their_subdomain_service() {
        assert_eq!(
            endpoint_hostname_for(Some("kafka-0"), Some("kafka-headless"), "kafka-headless").as_deref(),
            Some("kafka-0")
        );
        assert_eq!(endpoint_hostname_for(Some("kafka-0"), Some("kafka-headless"), "kafka"), None);
        assert_eq!(endpoint_hostname_for(Some("web"), None, "web"), None);
    }
}
