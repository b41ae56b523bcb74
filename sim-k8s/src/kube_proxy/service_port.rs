//! kube-proxy's own view of a Service port (upstream `pkg/proxy/types.go` `ServicePortName`
//! and `pkg/proxy/serviceport.go` `BaseServicePortInfo`), independent of the API object types:
//! the API layer converts each port of each Service with an IPv4 cluster IP into one
//! [`ServicePortInfo`]. Headless and ExternalName Services have no cluster IP and are never
//! given to kube-proxy. The derived predicates (`external_policy_local`,
//! `uses_cluster_endpoints`, …) follow upstream `apiservice.ExternalPolicyLocal` and
//! `BaseServicePortInfo` exactly. Not modelled: IPv6 / dual-stack, load-balancer `ipMode:
//! Proxy`, topology hints (trafficDistribution), `appProtocol`.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use thiserror::Error;

/// Default ClientIP affinity timeout (`v1.DefaultClientIPServiceAffinitySeconds`, 3 hours).
pub const DEFAULT_CLIENT_IP_AFFINITY_SECONDS: u32 = 10_800;

/// The L4 protocols a Service port may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceProtocol {
    /// `TCP`.
    Tcp,
    /// `UDP`.
    Udp,
    /// `SCTP`.
    Sctp,
}

impl ServiceProtocol {
    /// The lower-case name used in chain hashes and `-m tcp -p tcp`.
    pub const fn lower(self) -> &'static str {
        match self {
            ServiceProtocol::Tcp => "tcp",
            ServiceProtocol::Udp => "udp",
            ServiceProtocol::Sctp => "sctp",
        }
    }
    /// The API spelling (`TCP`).
    pub const fn api_name(self) -> &'static str {
        match self {
            ServiceProtocol::Tcp => "TCP",
            ServiceProtocol::Udp => "UDP",
            ServiceProtocol::Sctp => "SCTP",
        }
    }
    /// The same protocol as the network model names it.
    pub const fn to_wire(self) -> sim_net::wire::Protocol {
        match self {
            ServiceProtocol::Tcp => sim_net::wire::Protocol::Tcp,
            ServiceProtocol::Udp => sim_net::wire::Protocol::Udp,
            ServiceProtocol::Sctp => sim_net::wire::Protocol::Sctp,
        }
    }
}

/// Identifies one port of one Service: `namespace/name:port` (upstream `ServicePortName`,
/// which also carries the protocol because it feeds the endpoint chain hash).
///
/// Ordering is by namespace, name, port name, protocol; kube-proxy iterates a Go map, so any
/// fixed order is faithful, and this one matches the sorted order of upstream test fixtures.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServicePortName {
    /// Service namespace.
    pub namespace: String,
    /// Service name.
    pub name: String,
    /// Port name; empty for the single unnamed port of a Service.
    pub port: String,
    /// The port's protocol.
    pub protocol: ServiceProtocol,
}

impl ServicePortName {
    /// Builds a name from its parts.
    pub fn new(namespace: &str, name: &str, port: &str, protocol: ServiceProtocol) -> Self {
        ServicePortName {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            port: port.to_owned(),
            protocol,
        }
    }
}

/// Upstream `ServicePortName.String()`: `ns/name:port`, or `ns/name` for an unnamed port.
impl fmt::Display for ServicePortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)?;
        if !self.port.is_empty() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// `spec.type` of the Service a port belongs to (ExternalName never reaches kube-proxy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum ServiceType {
    /// `ClusterIP`.
    #[default]
    ClusterIp,
    /// `NodePort`.
    NodePort,
    /// `LoadBalancer`.
    LoadBalancer,
}

/// `externalTrafficPolicy` / `internalTrafficPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum TrafficPolicy {
    /// Any ready endpoint in the cluster (`Cluster`, the default).
    #[default]
    Cluster,
    /// Only endpoints on this node (`Local`).
    Local,
}

/// `sessionAffinity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum SessionAffinity {
    /// `None`.
    #[default]
    None,
    /// `ClientIP` with `sessionAffinityConfig.clientIP.timeoutSeconds`.
    ClientIp {
        /// Seconds a client stays pinned after its last packet.
        timeout_seconds: u32,
    },
}

/// A service port kube-proxy could not program (the API server's validation rejects these).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ServicePortError {
    /// Empty namespace or name.
    #[error("{0}: metadata.namespace and metadata.name must not be empty")]
    EmptyName(String),
    /// `spec.clusterIP` is 0.0.0.0 (headless services never reach kube-proxy).
    #[error("{0}: spec.clusterIP: must be a valid IP, got 0.0.0.0")]
    UnspecifiedClusterIp(String),
    /// A port field is 0.
    #[error("{name}: {field}: must be between 1 and 65535, got 0")]
    ZeroPort {
        /// `ns/svc:port`.
        name: String,
        /// The field path, e.g. `spec.ports[].nodePort`.
        field: &'static str,
    },
    /// A ClusterIP service with a node port.
    #[error("{0}: spec.ports[].nodePort: may not be used when type is 'ClusterIP'")]
    NodePortOnClusterIp(String),
}

/// One Service port as kube-proxy sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePortInfo {
    /// `ns/name:port` plus protocol.
    pub name: ServicePortName,
    /// `spec.type`.
    pub service_type: ServiceType,
    /// `spec.clusterIP`.
    pub cluster_ip: Ipv4Addr,
    /// `ports[].port`.
    pub port: u16,
    /// `ports[].nodePort` (`None` when unset or 0).
    pub node_port: Option<u16>,
    /// `spec.externalIPs`.
    pub external_ips: Vec<Ipv4Addr>,
    /// `status.loadBalancer.ingress[].ip`, leaving out entries with `ipMode: Proxy` (upstream
    /// does not capture those: the load balancer delivers to the node, not to the VIP).
    pub load_balancer_ips: Vec<Ipv4Addr>,
    /// `spec.loadBalancerSourceRanges`, already parsed.
    pub load_balancer_source_ranges: Vec<Ipv4Net>,
    /// `spec.sessionAffinity` (+ config).
    pub session_affinity: SessionAffinity,
    /// `spec.externalTrafficPolicy`.
    pub external_traffic_policy: TrafficPolicy,
    /// `spec.internalTrafficPolicy`.
    pub internal_traffic_policy: TrafficPolicy,
    /// `spec.healthCheckNodePort`; only honoured where upstream's `NeedsHealthCheck` holds
    /// (type LoadBalancer with externalTrafficPolicy Local).
    pub health_check_node_port: Option<u16>,
}

impl ServicePortInfo {
    /// A ClusterIP service port with every optional field at its default.
    pub fn cluster_ip(name: ServicePortName, cluster_ip: Ipv4Addr, port: u16) -> Self {
        ServicePortInfo {
            name,
            service_type: ServiceType::ClusterIp,
            cluster_ip,
            port,
            node_port: None,
            external_ips: Vec::new(),
            load_balancer_ips: Vec::new(),
            load_balancer_source_ranges: Vec::new(),
            session_affinity: SessionAffinity::None,
            external_traffic_policy: TrafficPolicy::Cluster,
            internal_traffic_policy: TrafficPolicy::Cluster,
            health_check_node_port: None,
        }
    }

    /// Rejects values the API server would never store (so [`super::sync()`] never writes
    /// `--dport 0` or `-d 0.0.0.0`).
    pub fn validate(&self) -> Result<(), ServicePortError> {
        let name = self.name.to_string();
        if self.name.namespace.is_empty() || self.name.name.is_empty() {
            return Err(ServicePortError::EmptyName(name));
        }
        if self.cluster_ip.is_unspecified() {
            return Err(ServicePortError::UnspecifiedClusterIp(name));
        }
        for (value, field) in [
            (Some(self.port), "spec.ports[].port"),
            (self.node_port, "spec.ports[].nodePort"),
            (self.health_check_node_port, "spec.healthCheckNodePort"),
        ] {
            if value == Some(0) {
                return Err(ServicePortError::ZeroPort { name, field });
            }
        }
        if self.service_type == ServiceType::ClusterIp && self.node_port.is_some() {
            return Err(ServicePortError::NodePortOnClusterIp(name));
        }
        Ok(())
    }

    /// Upstream `ExternallyAccessible`: reachable by a NodePort, LB IP or external IP.
    pub fn externally_accessible(&self) -> bool {
        self.node_port.is_some() || !self.load_balancer_ips.is_empty() || !self.external_ips.is_empty()
    }

    /// Upstream `ExternalPolicyLocal` (`apiservice.ExternalPolicyLocal`): only NodePort and
    /// LoadBalancer services honour `externalTrafficPolicy: Local`.
    pub fn external_policy_local(&self) -> bool {
        matches!(self.service_type, ServiceType::NodePort | ServiceType::LoadBalancer)
            && self.external_traffic_policy == TrafficPolicy::Local
    }

    /// Upstream `InternalPolicyLocal`.
    pub fn internal_policy_local(&self) -> bool {
        self.internal_traffic_policy == TrafficPolicy::Local
    }

    /// Upstream `UsesClusterEndpoints`: some traffic is routed with the Cluster policy. Any
    /// externally accessible port needs Cluster endpoints, even with externalTrafficPolicy
    /// Local, because pod and host traffic to external IPs is short-circuited to KUBE-SVC.
    pub fn uses_cluster_endpoints(&self) -> bool {
        !self.internal_policy_local() || self.externally_accessible()
    }

    /// Upstream `UsesLocalEndpoints`: some traffic is routed with the Local policy.
    pub fn uses_local_endpoints(&self) -> bool {
        self.internal_policy_local() || (self.externally_accessible() && self.external_policy_local())
    }

    /// The health-check node port kube-proxy serves for this port, if any (upstream only keeps
    /// `healthCheckNodePort` when `apiservice.NeedsHealthCheck`: LoadBalancer + Local).
    pub fn effective_health_check_node_port(&self) -> Option<u16> {
        if self.service_type == ServiceType::LoadBalancer && self.external_policy_local() {
            self.health_check_node_port
        } else {
            None
        }
    }

    /// The ClientIP affinity timeout, if ClientIP affinity is on.
    pub fn sticky_max_age_seconds(&self) -> Option<u32> {
        match self.session_affinity {
            SessionAffinity::None => None,
            SessionAffinity::ClientIp { timeout_seconds } => Some(timeout_seconds),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_upstream_string() {
        let named = ServicePortName::new("ns1", "svc1", "p80", ServiceProtocol::Tcp);
        assert_eq!(named.to_string(), "ns1/svc1:p80");
        let unnamed = ServicePortName::new("default", "jtest", "", ServiceProtocol::Tcp);
        assert_eq!(unnamed.to_string(), "default/jtest");
    }

    #[test]
    fn cluster_ip_services_ignore_external_policy() {
        let mut svc = ServicePortInfo::cluster_ip(
            ServicePortName::new("ns", "s", "", ServiceProtocol::Udp),
            Ipv4Addr::new(10, 96, 0, 10),
            53,
        );
        svc.external_ips.push(Ipv4Addr::new(80, 11, 12, 10));
        svc.external_traffic_policy = TrafficPolicy::Local;
        assert!(svc.externally_accessible());
        assert!(!svc.external_policy_local());
        assert!(svc.uses_cluster_endpoints());
        assert!(!svc.uses_local_endpoints());
    }

    #[test]
    fn local_policies_still_need_cluster_endpoints_for_short_circuit() {
        let mut svc = ServicePortInfo::cluster_ip(
            ServicePortName::new("ns", "s", "", ServiceProtocol::Tcp),
            Ipv4Addr::new(10, 96, 0, 12),
            80,
        );
        svc.internal_traffic_policy = TrafficPolicy::Local;
        assert!(!svc.uses_cluster_endpoints());
        svc.service_type = ServiceType::NodePort;
        svc.node_port = Some(30080);
        svc.external_traffic_policy = TrafficPolicy::Local;
        assert!(svc.uses_cluster_endpoints());
        assert!(svc.uses_local_endpoints());
    }

    #[test]
    fn validation() {
        let mut svc = ServicePortInfo::cluster_ip(
            ServicePortName::new("ns", "s", "http", ServiceProtocol::Tcp),
            Ipv4Addr::new(10, 96, 0, 13),
            80,
        );
        assert_eq!(svc.validate(), Ok(()));
        svc.node_port = Some(30080);
        assert_eq!(
            svc.validate().unwrap_err().to_string(),
            "ns/s:http: spec.ports[].nodePort: may not be used when type is 'ClusterIP'"
        );
        svc.service_type = ServiceType::NodePort;
        svc.node_port = Some(0);
        assert_eq!(
            svc.validate().unwrap_err().to_string(),
            "ns/s:http: spec.ports[].nodePort: must be between 1 and 65535, got 0"
        );
        svc.node_port = None;
        svc.cluster_ip = Ipv4Addr::UNSPECIFIED;
        assert!(matches!(svc.validate(), Err(ServicePortError::UnspecifiedClusterIp(_))));
    }

    #[test]
    fn health_check_port_needs_local_load_balancer() {
        let mut svc = ServicePortInfo::cluster_ip(
            ServicePortName::new("ns", "s", "", ServiceProtocol::Tcp),
            Ipv4Addr::new(10, 96, 0, 11),
            80,
        );
        svc.service_type = ServiceType::LoadBalancer;
        svc.node_port = Some(30080);
        svc.health_check_node_port = Some(30000);
        assert_eq!(svc.effective_health_check_node_port(), None);
        svc.external_traffic_policy = TrafficPolicy::Local;
        assert_eq!(svc.effective_health_check_node_port(), Some(30000));
    }
}
