//! `ObjectMeta`, `OwnerReference` and `ObjectReference` (k8s.io/apimachinery meta/v1 and
//! core/v1). Labels and annotations are ordered maps so every listing is deterministic.
//! Server-side bookkeeping that real `kubectl get -o yaml` dumps carry (`managedFields`,
//! `selfLink`, `generation`, `finalizers`, deletion fields) is accepted so dumps load under strict
//! decoding; netsim keeps `managedFields` and `selfLink` only as opaque values it never reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Standard object metadata.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectMeta {
    /// `metadata.name`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `metadata.generateName`: prefix for a server-generated name when `name` is empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub generate_name: String,
    /// `metadata.namespace`; empty means the request's namespace (default `default`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// `metadata.labels`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// `metadata.uid`, assigned by the API server.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// `metadata.creationTimestamp` (RFC 3339 text), assigned by the API server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// `metadata.resourceVersion`, bumped on every write.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// `metadata.generation`, bumped on every spec change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// `metadata.ownerReferences`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerReference>,
    /// `metadata.finalizers` (kept, never acted on).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
    /// `metadata.deletionTimestamp` (kept as observed state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<String>,
    /// `metadata.deletionGracePeriodSeconds` (kept as observed state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_grace_period_seconds: Option<i64>,
    /// `metadata.managedFields`: accepted from dumps, never interpreted.
    #[serde(default, skip_serializing)]
    pub managed_fields: Option<serde_json::Value>,
    /// `metadata.selfLink`: accepted from old dumps, never interpreted.
    #[serde(default, skip_serializing)]
    pub self_link: Option<String>,
    /// `metadata.clusterName`: accepted from old dumps, never interpreted.
    #[serde(default, skip_serializing)]
    pub cluster_name: Option<String>,
}

impl ObjectMeta {
    /// Metadata with just a name and namespace.
    pub fn named(namespace: &str, name: &str) -> Self {
        ObjectMeta { name: name.to_string(), namespace: namespace.to_string(), ..Default::default() }
    }
}

/// A pointer from a dependent object to its owner (`metadata.ownerReferences[]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OwnerReference {
    /// API version of the owner.
    #[serde(default)]
    pub api_version: String,
    /// Kind of the owner.
    #[serde(default)]
    pub kind: String,
    /// Name of the owner.
    #[serde(default)]
    pub name: String,
    /// UID of the owner.
    #[serde(default)]
    pub uid: String,
    /// True when the owner is the managing controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    /// Foreground-deletion blocking flag (kept, never acted on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

/// A reference to another object (`targetRef` in Endpoints and EndpointSlices).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectReference {
    /// Kind of the referent (`Pod`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Namespace of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Name of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// UID of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// API version of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Resource version of the referent.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// Field within the referent (rarely used).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field_path: String,
}
