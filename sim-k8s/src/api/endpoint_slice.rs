//! `EndpointSlice` (discovery.k8s.io/v1): the sharded endpoint list kube-proxy actually reads.
//! Ownership is the `kubernetes.io/service-name` label. Conditions follow the API: a nil `ready`
//! means ready, `serving`/`terminating` are for graceful termination. Left out: `hints`
//! (topology-aware routing) and `deprecatedTopology`, accepted as opaque values.

use serde::{Deserialize, Serialize};

use super::meta::{ObjectMeta, ObjectReference};
use super::service::Protocol;
use crate::string_enum;

/// The label that ties a slice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// The label naming the controller that manages a slice.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";

/// An address as an endpoint lists it: IPv4 digits written by hand (`Ipv4Addr`'s `Display` goes
/// through the formatting machinery four times, about 1,300 instructions; the controllers write
/// an address for every endpoint of every slice they rebuild), IPv6 as `Display` writes it.
pub fn address_text(ip: std::net::IpAddr) -> String {
    let std::net::IpAddr::V4(v4) = ip else { return ip.to_string() };
    let mut s = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        if octet >= 100 {
            s.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            s.push(char::from(b'0' + octet / 10 % 10));
        }
        s.push(char::from(b'0' + octet % 10));
    }
    s
}

string_enum! {
    /// `addressType`.
    AddressType { IPv4 = "IPv4", IPv6 = "IPv6", FQDN = "FQDN" }
}

/// An EndpointSlice.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointSlice {
    /// `apiVersion` as written (`discovery.k8s.io/v1`).
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written (`EndpointSlice`).
    #[serde(default)]
    pub kind: String,
    /// Object metadata (labels carry the owning Service).
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Address family of every endpoint (required; validation reports it missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_type: Option<AddressType>,
    /// Endpoints.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// Ports served by every endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<EndpointPort>,
}

/// `endpoints[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Endpoint {
    /// Addresses (one for IP families).
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Readiness state.
    #[serde(default)]
    pub conditions: EndpointConditions,
    /// Hostname for headless DNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Hosting node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// Zone of the hosting node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Backing object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_ref: Option<ObjectReference>,
    /// Topology hints (kept as opaque values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hints: Option<serde_json::Value>,
    /// Deprecated topology map (kept as opaque values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated_topology: Option<serde_json::Value>,
}

/// `endpoints[].conditions`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointConditions {
    /// Ready (nil means ready).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<bool>,
    /// Serving (nil means same as ready).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<bool>,
    /// Terminating (nil means false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminating: Option<bool>,
}

impl EndpointConditions {
    /// Ready, with the API's nil-means-true rule.
    pub fn is_ready(&self) -> bool {
        self.ready.unwrap_or(true)
    }
    /// Serving, with the API's nil-means-ready rule.
    pub fn is_serving(&self) -> bool {
        self.serving.unwrap_or(self.is_ready())
    }
    /// Terminating, with the API's nil-means-false rule.
    pub fn is_terminating(&self) -> bool {
        self.terminating.unwrap_or(false)
    }
}

/// `ports[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointPort {
    /// Port name, matching the Service port name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Port number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// Protocol (default TCP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Application protocol hint (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
}

impl EndpointSlice {
    /// The owning Service's name from the `kubernetes.io/service-name` label.
    pub fn service_name(&self) -> Option<&str> {
        self.metadata.labels.get(SERVICE_NAME_LABEL).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::address_text;

    proptest! {
        #[test]
        fn address_text_is_display(bits: u32, v6: u128) {
            let v4 = IpAddr::V4(Ipv4Addr::from(bits));
            prop_assert_eq!(address_text(v4), v4.to_string());
            let v6 = IpAddr::V6(Ipv6Addr::from(v6));
            prop_assert_eq!(address_text(v6), v6.to_string());
        }
    }

    #[test]
    fn address_text_edges() {
        for (ip, text) in [
            ([0, 0, 0, 0], "0.0.0.0"),
            ([10, 244, 1, 9], "10.244.1.9"),
            ([255, 100, 99, 10], "255.100.99.10"),
        ] {
            assert_eq!(address_text(IpAddr::V4(Ipv4Addr::from(ip))), text);
        }
    }
}
