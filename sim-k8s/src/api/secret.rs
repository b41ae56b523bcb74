//! `Secret` (core/v1): stored so that what refers to one can find it — an Ingress's
//! `spec.tls[].secretName` for the ingress-nginx controller. The contents are kept as written
//! (base64 in `data`, text in `stringData`) and never decoded: netsim does not simulate TLS,
//! so a `kubernetes.io/tls` Secret's certificate is not parsed or checked. Validated as the
//! API server validates the type's required keys (`tls.crt` and `tls.key` for
//! `kubernetes.io/tls`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::meta::ObjectMeta;

/// The type of a TLS Secret (`corev1.SecretTypeTLS`).
pub const SECRET_TYPE_TLS: &str = "kubernetes.io/tls";

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
    /// `type` (`Opaque` when empty, as the API server defaults it).
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub type_: String,
    /// `data`: key → base64 text, not decoded.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// `stringData`: key → text (write-only in the real API; kept here as written).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub string_data: BTreeMap<String, String>,
    /// `immutable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
}

/// Standard base64 with padding (RFC 4648 §4), as `data` values are written.
pub fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Secret {
    /// What the API server stores on a write: `type` defaulted to `Opaque`
    /// (`SetDefaults_Secret`) and `stringData` merged into `data`, base64-encoded, winning
    /// over a `data` key of the same name (the v1 conversion).
    pub fn normalize(&mut self) {
        if self.type_.is_empty() {
            self.type_ = "Opaque".to_string();
        }
        for (k, v) in std::mem::take(&mut self.string_data) {
            self.data.insert(k, base64_encode(v.as_bytes()));
        }
    }

    /// The type, `Opaque` when unset.
    pub fn type_name(&self) -> &str {
        if self.type_.is_empty() { "Opaque" } else { &self.type_ }
    }

    /// True when `key` is in `data` or `stringData`.
    pub fn has_key(&self, key: &str) -> bool {
        self.data.contains_key(key) || self.string_data.contains_key(key)
    }

    /// The number of keys, as `kubectl get secret` shows in DATA (after [`Secret::normalize`]).
    pub fn data_count(&self) -> usize {
        let extra = self.string_data.keys().filter(|k| !self.data.contains_key(*k)).count();
        self.data.len() + extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_data_is_merged_into_data_as_base64() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        let mut s = Secret::default();
        s.string_data.insert("tls.crt".into(), "x".into());
        s.normalize();
        assert_eq!(s.type_name(), "Opaque");
        assert_eq!(s.data.get("tls.crt").map(String::as_str), Some("eA=="));
        assert!(s.string_data.is_empty() && s.data_count() == 1);
    }
}
