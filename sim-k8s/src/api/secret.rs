//! `Secret` (core/v1): stored and listed as the API server keeps them. `stringData` is
//! write-only: on create and update its keys are base64-encoded into `data` (overriding the
//! same keys there) and it is dropped, as `Convert_v1_Secret_To_core_Secret` does; `type`
//! defaults to `Opaque` (`SetDefaults_Secret`). Left out: the per-type key requirements of
//! `ValidateSecret` (`kubernetes.io/tls` needing `tls.crt`/`tls.key`, ...), service-account
//! token population, and mounting into pods (env injection reads [`Secret::decoded`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::meta::ObjectMeta;

/// A Secret.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Secret {
    /// `apiVersion` as written.
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written.
    #[serde(default)]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// `type` (`Opaque`, `kubernetes.io/tls`, ...).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// `data`: key → base64 text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// `stringData`: key → plain text, merged into `data` when stored.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub string_data: BTreeMap<String, String>,
    /// `immutable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
}

/// The type of a TLS Secret (`corev1.SecretTypeTLS`).
pub const SECRET_TYPE_TLS: &str = "kubernetes.io/tls";

impl Secret {
    /// The type, `Opaque` when unset.
    pub fn type_name(&self) -> &str {
        self.type_.as_deref().filter(|t| !t.is_empty()).unwrap_or("Opaque")
    }

    /// True when `key` is in `data` or `stringData`.
    pub fn has_key(&self, key: &str) -> bool {
        self.data.contains_key(key) || self.string_data.contains_key(key)
    }

    /// The number of keys, as `kubectl get secrets` shows in DATA.
    pub fn data_count(&self) -> usize {
        self.data.len()
    }

    /// The API server's conversion and defaults: `stringData` base64-encoded into `data`,
    /// then dropped; `type: Opaque` when unset.
    pub fn store_defaults(&mut self) {
        for (k, v) in std::mem::take(&mut self.string_data) {
            self.data.insert(k, data_encoding::BASE64.encode(v.as_bytes()));
        }
        if self.type_.as_deref().is_none_or(str::is_empty) {
            self.type_ = Some("Opaque".to_string());
        }
    }

    /// The first `data` value that is not valid base64, with the byte offset where decoding
    /// failed (Go's `illegal base64 data at input byte N`).
    pub fn bad_data(&self) -> Option<(&str, usize)> {
        self.data.iter().find_map(|(k, v)| match data_encoding::BASE64.decode(v.as_bytes()) {
            Ok(_) => None,
            Err(e) => Some((k.as_str(), e.position)),
        })
    }

    /// The value of `key` as a container's environment gets it: `data` decoded (a value that
    /// is not UTF-8 is taken lossily; stored Secrets have no `stringData` left).
    pub fn decoded(&self, key: &str) -> Option<String> {
        let raw = self.data.get(key)?;
        let bytes = data_encoding::BASE64.decode(raw.as_bytes()).ok()?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Every key's [`decoded`](Self::decoded) value, in key order (`envFrom`).
    pub fn decoded_data(&self) -> Vec<(String, String)> {
        self.data.keys().filter_map(|k| self.decoded(k).map(|v| (k.clone(), v))).collect()
    }

    /// The decoded size of each key in bytes, as `kubectl describe secret` lists them.
    pub fn sizes(&self) -> Vec<(&str, usize)> {
        self.data
            .iter()
            .map(|(k, v)| {
                (k.as_str(), data_encoding::BASE64.decode(v.as_bytes()).map(|b| b.len()).unwrap_or(0))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_data_is_encoded_into_data_and_dropped() {
        let mut s = Secret::default();
        s.data.insert("user".into(), "YWRtaW4=".into());
        s.string_data.insert("password".into(), "s3cr3t".into());
        s.string_data.insert("user".into(), "root".into());
        s.store_defaults();
        assert!(s.string_data.is_empty());
        assert_eq!(s.data["password"], "czNjcjN0");
        assert_eq!(s.data["user"], "cm9vdA==");
        assert_eq!(s.type_.as_deref(), Some("Opaque"));
        assert_eq!(s.sizes(), vec![("password", 6), ("user", 4)]);
    }

    #[test]
    fn invalid_base64_names_the_key_and_byte() {
        let mut s = Secret::default();
        s.data.insert("k".into(), "ab$d".into());
        assert_eq!(s.bad_data(), Some(("k", 2)));
    }
}
