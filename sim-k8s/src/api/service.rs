//! `Service` (core/v1): the virtual IP, ports and policies kube-proxy turns into rules.
//! Field set and defaults follow `k8s.io/api/core/v1/types.go` and
//! `pkg/apis/core/v1/defaults.go`; the API server (`crate::apiserver`) applies the defaults, so
//! a stored Service has every defaulted field set. `status.loadBalancer.ingress` is kept as
//! observed state (netsim has no cloud provider). Left out: `trafficDistribution`,
//! `loadBalancerClass` semantics (accepted and kept).

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::intstr::IntOrString;
use super::meta::ObjectMeta;
use crate::string_enum;

string_enum! {
    /// `spec.type`.
    ServiceType {
        /// A virtual IP reachable inside the cluster (the default).
        ClusterIP = "ClusterIP",
        /// ClusterIP plus a port on every node.
        NodePort = "NodePort",
        /// NodePort plus an external load balancer.
        LoadBalancer = "LoadBalancer",
        /// A DNS CNAME, no proxying.
        ExternalName = "ExternalName",
    }
}

string_enum! {
    /// Port protocol.
    Protocol { TCP = "TCP", UDP = "UDP", SCTP = "SCTP" }
}

string_enum! {
    /// `spec.sessionAffinity`.
    ServiceAffinity { None = "None", ClientIP = "ClientIP" }
}

string_enum! {
    /// `spec.externalTrafficPolicy` / `spec.internalTrafficPolicy`.
    TrafficPolicy { Cluster = "Cluster", Local = "Local" }
}

string_enum! {
    /// `spec.ipFamilies[]`.
    IpFamily { IPv4 = "IPv4", IPv6 = "IPv6" }
}

string_enum! {
    /// `spec.ipFamilyPolicy`.
    IpFamilyPolicy { SingleStack = "SingleStack", PreferDualStack = "PreferDualStack", RequireDualStack = "RequireDualStack" }
}

/// `spec.clusterIP`: unset (allocate one), `None` (headless), an address, or text that is
/// neither (kept so validation can quote it).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClusterIp {
    /// Absent or `""`: the API server allocates an address.
    #[default]
    Unset,
    /// `None`: a headless Service.
    None,
    /// A concrete virtual IP.
    Ip(IpAddr),
    /// Not an IP address.
    Invalid(String),
}

impl ClusterIp {
    /// Parses the wire text.
    pub fn parse(s: &str) -> Self {
        match s {
            "" => ClusterIp::Unset,
            "None" => ClusterIp::None,
            other => {
                other.parse().map(ClusterIp::Ip).unwrap_or_else(|_| ClusterIp::Invalid(other.to_string()))
            }
        }
    }
    /// The address, if this is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            ClusterIp::Ip(ip) => Some(*ip),
            _ => None,
        }
    }
    /// True for `Unset`.
    pub fn is_unset(&self) -> bool {
        matches!(self, ClusterIp::Unset)
    }
}

impl fmt::Display for ClusterIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterIp::Unset => Ok(()),
            ClusterIp::None => f.write_str("None"),
            ClusterIp::Ip(ip) => write!(f, "{ip}"),
            ClusterIp::Invalid(s) => f.write_str(s),
        }
    }
}

impl Serialize for ClusterIp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClusterIp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ClusterIp::parse(&s))
    }
}

/// A Service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    /// `apiVersion` as written (`v1`).
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written (`Service`).
    #[serde(default)]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Desired state.
    #[serde(default)]
    pub spec: ServiceSpec,
    /// Observed state (load-balancer ingress from a dump).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ServiceStatus>,
}

/// `Service.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSpec {
    /// Service type (default ClusterIP).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<ServiceType>,
    /// Equality selector over pod labels; absent means "manage Endpoints by hand".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<BTreeMap<String, String>>,
    /// Ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ServicePort>,
    /// Primary virtual IP.
    #[serde(rename = "clusterIP", default, skip_serializing_if = "ClusterIp::is_unset")]
    pub cluster_ip: ClusterIp,
    /// All virtual IPs (first equals `clusterIP`).
    #[serde(rename = "clusterIPs", default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_ips: Vec<ClusterIp>,
    /// Extra addresses routed to the nodes that this Service also answers on.
    #[serde(rename = "externalIPs", default, skip_serializing_if = "Vec::is_empty")]
    pub external_ips: Vec<String>,
    /// CNAME target for `type: ExternalName`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub external_name: String,
    /// Whether external traffic may leave the receiving node (default Cluster for external types).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_traffic_policy: Option<TrafficPolicy>,
    /// Whether in-cluster traffic may leave the sending node (default Cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_traffic_policy: Option<TrafficPolicy>,
    /// Health-check node port for LoadBalancer + Local.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_node_port: Option<i32>,
    /// Session affinity (default None).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity: Option<ServiceAffinity>,
    /// Affinity timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity_config: Option<SessionAffinityConfig>,
    /// Requested load-balancer address (deprecated upstream, kept).
    #[serde(rename = "loadBalancerIP", default, skip_serializing_if = "String::is_empty")]
    pub load_balancer_ip: String,
    /// Client CIDRs allowed through the load balancer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_balancer_source_ranges: Vec<String>,
    /// Load-balancer implementation class (kept, not interpreted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_class: Option<String>,
    /// Publish not-ready pods in Endpoints/DNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_not_ready_addresses: Option<bool>,
    /// IP families (default `[IPv4]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_families: Vec<IpFamily>,
    /// IP family policy (default SingleStack).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_family_policy: Option<IpFamilyPolicy>,
    /// Allocate node ports for LoadBalancer (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocate_load_balancer_node_ports: Option<bool>,
}

/// `spec.ports[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServicePort {
    /// Port name (required when there is more than one port).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Protocol (default TCP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Application protocol hint (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    /// Service port on the virtual IP; 0 when absent (validation reports it).
    #[serde(default)]
    pub port: i32,
    /// Pod port, number or container-port name (default: `port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<IntOrString>,
    /// Node port for NodePort/LoadBalancer (allocated when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port: Option<i32>,
}

/// `spec.sessionAffinityConfig`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionAffinityConfig {
    /// ClientIP affinity settings.
    #[serde(rename = "clientIP", default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<ClientIpConfig>,
}

/// `spec.sessionAffinityConfig.clientIP`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientIpConfig {
    /// Stickiness timeout in seconds (default 10800, range 1..=86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i32>,
}

/// `Service.status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceStatus {
    /// Load balancer state.
    #[serde(default)]
    pub load_balancer: LoadBalancerStatus,
    /// Conditions (kept as opaque values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<serde_json::Value>,
}

/// `status.loadBalancer`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancerStatus {
    /// Provisioned ingress points.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<LoadBalancerIngress>,
}

/// `status.loadBalancer.ingress[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancerIngress {
    /// Ingress IP.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ip: String,
    /// Ingress hostname.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    /// `VIP` or `Proxy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_mode: Option<String>,
    /// Port status (kept as opaque values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<serde_json::Value>,
}

/// The default session-affinity timeout (`v1.DefaultClientIPServiceAffinitySeconds`).
pub const DEFAULT_CLIENT_IP_AFFINITY_SECONDS: i32 = 10800;
/// The largest allowed session-affinity timeout (`core.MaxClientIPServiceAffinitySeconds`).
pub const MAX_CLIENT_IP_AFFINITY_SECONDS: i32 = 86400;

impl ServiceSpec {
    /// The type, defaulting to ClusterIP.
    pub fn service_type(&self) -> ServiceType {
        self.type_.clone().unwrap_or(ServiceType::ClusterIP)
    }
    /// True for NodePort and LoadBalancer (the types with node ports and external policy).
    pub fn is_external_type(&self) -> bool {
        matches!(self.service_type(), ServiceType::NodePort | ServiceType::LoadBalancer)
    }
    /// True for `clusterIP: None`.
    pub fn is_headless(&self) -> bool {
        self.cluster_ip == ClusterIp::None
    }
    /// External traffic policy, defaulting to Cluster.
    pub fn external_policy(&self) -> TrafficPolicy {
        self.external_traffic_policy.clone().unwrap_or(TrafficPolicy::Cluster)
    }
    /// Internal traffic policy, defaulting to Cluster.
    pub fn internal_policy(&self) -> TrafficPolicy {
        self.internal_traffic_policy.clone().unwrap_or(TrafficPolicy::Cluster)
    }
    /// Session affinity timeout in seconds when ClientIP affinity is on.
    pub fn affinity_timeout(&self) -> Option<i32> {
        if self.session_affinity != Some(ServiceAffinity::ClientIP) {
            return None;
        }
        Some(
            self.session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds)
                .unwrap_or(DEFAULT_CLIENT_IP_AFFINITY_SECONDS),
        )
    }
}

impl ServicePort {
    /// Protocol, defaulting to TCP.
    pub fn protocol(&self) -> Protocol {
        self.protocol.clone().unwrap_or(Protocol::TCP)
    }
    /// Target port, defaulting to `port`.
    pub fn target(&self) -> IntOrString {
        self.target_port.clone().unwrap_or(IntOrString::Int(self.port))
    }
}
