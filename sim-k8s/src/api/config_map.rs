//! `ConfigMap` (core/v1): string data other objects read — CoreDNS its Corefile from
//! `kube-system/coredns`. Left out: `binaryData` contents (kept, not decoded), `immutable`
//! enforcement.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::meta::ObjectMeta;

/// A ConfigMap.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigMap {
    /// `apiVersion` as written.
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written.
    #[serde(default)]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// `data`: key → text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// `binaryData`: key → base64 text, unparsed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub binary_data: BTreeMap<String, String>,
    /// `immutable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
}

impl ConfigMap {
    /// The number of keys, as `kubectl get cm` shows in DATA.
    pub fn data_count(&self) -> usize {
        self.data.len() + self.binary_data.len()
    }
}
