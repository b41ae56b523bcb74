//! `Endpoints` (core/v1): the legacy per-Service address list, written by the endpoints
//! controller for Services with a selector, or by hand for selector-less Services (article 000's
//! `svc-echoserver`, article 001's external `mysql`). Shape follows `k8s.io/api/core/v1`.
//! Left out: nothing that affects routing.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::meta::{ObjectMeta, ObjectReference};
use super::service::Protocol;

/// An Endpoints object; its name equals the Service's name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Endpoints {
    /// `apiVersion` as written (`v1`).
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written (`Endpoints`).
    #[serde(default)]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Address groups sharing one port list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subsets: Vec<EndpointSubset>,
}

/// `subsets[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointSubset {
    /// Ready addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<EndpointAddress>,
    /// Addresses whose pods are not ready.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_ready_addresses: Vec<EndpointAddress>,
    /// Ports served by every address of the subset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<EndpointsPort>,
}

/// `subsets[].addresses[]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointAddress {
    /// The address.
    pub ip: IpAddr,
    /// Hostname for headless DNS records.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    /// Node hosting the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// Backing object (a Pod).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_ref: Option<ObjectReference>,
}

/// `subsets[].ports[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointsPort {
    /// Port name, matching the Service port name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Port number.
    #[serde(default)]
    pub port: i32,
    /// Protocol (default TCP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Application protocol hint (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
}
