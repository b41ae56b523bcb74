//! `Namespace` (core/v1): a name scope for Services, pods and DNS (`svc.<ns>.svc.cluster.local`).
//! Left out: finalizers and phase semantics (a Namespace is active until deleted).

use serde::{Deserialize, Serialize};

use super::meta::ObjectMeta;

/// A Namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Namespace {
    /// `apiVersion` as written (`v1`).
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written (`Namespace`).
    #[serde(default)]
    pub kind: String,
    /// Object metadata (no namespace of its own).
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Finalizers, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<serde_json::Value>,
    /// Phase, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}
