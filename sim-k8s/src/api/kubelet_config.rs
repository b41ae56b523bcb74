//! `KubeletConfiguration` (kubelet.config.k8s.io/v1beta1): the kubelet's config file
//! (`--config`). Typed: the DNS settings (`clusterDNS`, `clusterDomain`, `resolvConf`), which
//! shape every pod's resolv.conf (kubelet pkg/kubelet/network/dns/dns.go). Every other field
//! of upstream's `KubeletConfiguration` is accepted, its name kept in [`Self::other`], and the
//! runner names them as not simulated.

use serde::{Deserialize, Serialize};

/// The kubelet configuration file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubeletConfiguration {
    /// `apiVersion` as written.
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written.
    #[serde(default)]
    pub kind: String,
    /// `clusterDNS`: the nameserver IPs written into ClusterFirst pods' resolv.conf.
    #[serde(rename = "clusterDNS", default, skip_serializing_if = "Option::is_none")]
    pub cluster_dns: Option<Vec<String>>,
    /// `clusterDomain`: the domain of the pods' search list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_domain: Option<String>,
    /// `resolvConf`: the node's resolver file (`""` = none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolv_conf: Option<String>,
    /// The other top-level fields present, in document order (accepted, not simulated).
    #[serde(skip)]
    pub other: Vec<String>,
}
