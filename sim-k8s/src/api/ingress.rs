//! `Ingress` (networking.k8s.io/v1): accepted and stored so article 002's L7 routing manifests
//! load, but not simulated — netsim has no ingress controller. The spec is kept as an opaque
//! value; only metadata is typed.

use serde::{Deserialize, Serialize};

use super::meta::ObjectMeta;

/// An Ingress (kept, not simulated).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ingress {
    /// `apiVersion` as written.
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written.
    #[serde(default)]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Rules, TLS and backends, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<serde_json::Value>,
    /// Observed state, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}
