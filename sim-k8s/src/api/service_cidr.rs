//! `ServiceCIDR` (networking.k8s.io/v1): extra ranges the ClusterIP allocator may use, on top
//! of the API server's `--service-cluster-ip-range`. Left out: status conditions (kept opaque).

use serde::{Deserialize, Serialize};

use super::meta::ObjectMeta;

/// A ServiceCIDR.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceCidr {
    /// `apiVersion` as written.
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written.
    #[serde(default)]
    pub kind: String,
    /// Object metadata (cluster-scoped).
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The ranges.
    #[serde(default)]
    pub spec: ServiceCidrSpec,
    /// Observed state, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

/// `ServiceCIDR.spec`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceCidrSpec {
    /// At most one IPv4 and one IPv6 CIDR.
    #[serde(default)]
    pub cidrs: Vec<String>,
}
