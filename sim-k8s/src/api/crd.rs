//! `CustomResourceDefinition` (apiextensions.k8s.io/v1): stored as written (the OpenAPI schema
//! is kept, not evaluated: the kinds netsim simulates are validated by their own code, e.g.
//! `crate::validation::gateway`). What the store reads is whether a CRD serves a
//! group/version/kind, which decides whether objects of a custom kind can be written at all
//! (the REST mapper's `no matches for kind`, kubectl's `ensure CRDs are installed first`).

use serde::{Deserialize, Serialize};

use super::meta::ObjectMeta;

/// A CustomResourceDefinition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomResourceDefinition {
    /// `apiVersion` as written.
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written.
    #[serde(default)]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Group, names, scope and versions with their schemas, as written.
    #[serde(default)]
    pub spec: serde_json::Value,
    /// Observed state, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

impl CustomResourceDefinition {
    /// `spec.group`.
    pub fn group(&self) -> &str {
        self.spec.get("group").and_then(|g| g.as_str()).unwrap_or("")
    }

    /// `spec.names.kind`.
    pub fn kind_name(&self) -> &str {
        self.spec.get("names").and_then(|n| n.get("kind")).and_then(|k| k.as_str()).unwrap_or("")
    }

    /// True if it defines `kind` in `group/version` with `served: true`.
    pub fn serves(&self, api_version: &str, kind: &str) -> bool {
        let Some((group, version)) = api_version.split_once('/') else { return false };
        if self.group() != group || self.kind_name() != kind {
            return false;
        }
        self.spec.get("versions").and_then(|v| v.as_array()).is_some_and(|vs| {
            vs.iter().any(|v| {
                v.get("name").and_then(|n| n.as_str()) == Some(version)
                    && v.get("served").and_then(|s| s.as_bool()).unwrap_or(false)
            })
        })
    }
}
