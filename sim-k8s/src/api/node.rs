//! `Node` (core/v1): a host with addresses, a pod CIDR and labels/taints for placement.
//! `status.addresses` (InternalIP/ExternalIP/Hostname) is where kube-proxy and NodePort flows
//! get node IPs. Left out: capacity, conditions beyond readiness, images, daemon endpoints
//! (accepted as opaque values from dumps).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::meta::ObjectMeta;
use crate::string_enum;

string_enum! {
    /// `status.addresses[].type`.
    NodeAddressType {
        /// Address on the cluster network.
        InternalIP = "InternalIP",
        /// Address reachable from outside.
        ExternalIP = "ExternalIP",
        /// The node's hostname.
        Hostname = "Hostname",
        /// Internal DNS name.
        InternalDNS = "InternalDNS",
        /// External DNS name.
        ExternalDNS = "ExternalDNS",
    }
}

/// A Node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Node {
    /// `apiVersion` as written (`v1`).
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written (`Node`).
    #[serde(default)]
    pub kind: String,
    /// Object metadata (cluster-scoped).
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Desired state.
    #[serde(default)]
    pub spec: NodeSpec,
    /// Observed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
}

/// `Node.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSpec {
    /// Pod CIDR assigned to this node (allocated when absent).
    #[serde(rename = "podCIDR", default, skip_serializing_if = "Option::is_none")]
    pub pod_cidr: Option<String>,
    /// All pod CIDRs.
    #[serde(rename = "podCIDRs", default, skip_serializing_if = "Vec::is_empty")]
    pub pod_cidrs: Vec<String>,
    /// Taints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
    /// Cordoned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unschedulable: Option<bool>,
    /// Cloud provider ID (kept).
    #[serde(rename = "providerID", default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
}

/// `spec.taints[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Taint {
    /// Taint key.
    #[serde(default)]
    pub key: String,
    /// Taint value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule`, `NoExecute`.
    #[serde(default)]
    pub effect: String,
    /// When the taint was added (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_added: Option<String>,
}

/// `Node.status`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeStatus {
    /// Addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<NodeAddress>,
    /// Conditions (kept as opaque values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<serde_json::Value>,
    /// Capacity (kept as opaque values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<serde_json::Value>,
    /// Allocatable (kept as opaque values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocatable: Option<serde_json::Value>,
    /// Node info (kept as opaque values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_info: Option<serde_json::Value>,
    /// Daemon endpoints (kept as opaque values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon_endpoints: Option<serde_json::Value>,
    /// Images (kept as opaque values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<serde_json::Value>,
    /// Phase (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

/// `status.addresses[]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeAddress {
    /// Address type.
    #[serde(rename = "type")]
    pub type_: NodeAddressType,
    /// The address (an IP for the IP types, a name otherwise).
    pub address: String,
}

impl Node {
    /// The first InternalIP address, if it parses.
    pub fn internal_ip(&self) -> Option<IpAddr> {
        self.status
            .as_ref()?
            .addresses
            .iter()
            .find(|a| a.type_ == NodeAddressType::InternalIP)
            .and_then(|a| a.address.parse().ok())
    }
}
