//! kube-proxy's iptables chain names. Chain names must be at most 28 characters, so kube-proxy
//! names per-service and per-endpoint chains by a hash: the first 16 characters of
//! `base32(sha256(servicePortName + protocol [+ endpoint]))` after a fixed prefix
//! (`pkg/proxy/iptables/proxier.go`: `portProtoHash`, `servicePortEndpointChainName`).
//! The protocol is the lower-case name (`tcp`), the endpoint is `ip:port`. Base32 is RFC 4648
//! with the standard alphabet (Go's `base32.StdEncoding`); padding never reaches position 16.
//! Not modelled: IPv6 endpoint formatting (`[ip]:port`).

use std::fmt;

use data_encoding::BASE32;
use sha2::{Digest, Sha256};

use super::service_port::{ServicePortName, ServiceProtocol};

/// Prefix of the chain dispatching to endpoints under the `Cluster` traffic policy.
pub const SVC_PREFIX: &str = "KUBE-SVC-";
/// Prefix of the chain dispatching to node-local endpoints under the `Local` traffic policy.
pub const SVL_PREFIX: &str = "KUBE-SVL-";
/// Prefix of the chain implementing `loadBalancerSourceRanges`.
pub const FW_PREFIX: &str = "KUBE-FW-";
/// Prefix of the chain that external (NodePort / LB / external IP) traffic enters.
pub const EXT_PREFIX: &str = "KUBE-EXT-";
/// Prefix of the per-endpoint DNAT chain.
pub const SEP_PREFIX: &str = "KUBE-SEP-";

/// A user-defined iptables chain name (at most 28 characters, as the kernel requires).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainName(String);

impl ChainName {
    /// Wraps a fixed, well-known chain name such as `KUBE-SERVICES`.
    pub fn fixed(name: &'static str) -> Self {
        ChainName(name.to_owned())
    }
    /// The chain name as written in iptables-restore input.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a chain is one of kube-proxy's per-service chains (upstream `isServiceChainName`),
/// i.e. one it may delete when no longer used.
pub fn is_service_chain_name(chain: &str) -> bool {
    [SVC_PREFIX, SVL_PREFIX, SEP_PREFIX, FW_PREFIX, EXT_PREFIX].iter().any(|p| chain.starts_with(p))
}

/// The 16-character hash kube-proxy appends to per-service chain prefixes
/// (upstream `portProtoHash`).
pub fn port_proto_hash(service_port_name: &str, protocol: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(service_port_name.as_bytes());
    hasher.update(protocol.as_bytes());
    encode16(&hasher.finalize())
}

fn encode16(digest: &[u8]) -> String {
    // 10 input bytes encode to exactly 16 base32 characters, so encoding only the first 10
    // bytes gives the same prefix as encoding all 32 and truncating (and is cheaper).
    BASE32.encode(&digest[..10])
}

/// The per-service chain names, computed once per service port (upstream caches them in
/// `servicePortInfo` for the same reason: hashing is the dominant cost of a large sync).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceChains {
    /// `KUBE-SVC-…`: Cluster traffic policy endpoints.
    pub cluster: ChainName,
    /// `KUBE-SVL-…`: Local traffic policy endpoints.
    pub local: ChainName,
    /// `KUBE-FW-…`: loadBalancerSourceRanges firewall.
    pub firewall: ChainName,
    /// `KUBE-EXT-…`: external traffic entry.
    pub external: ChainName,
}

impl ServiceChains {
    /// Computes the four chain names of a service port.
    pub fn new(name: &ServicePortName) -> Self {
        let hash = port_proto_hash(&name.to_string(), name.protocol.lower());
        ServiceChains {
            cluster: ChainName(format!("{SVC_PREFIX}{hash}")),
            local: ChainName(format!("{SVL_PREFIX}{hash}")),
            firewall: ChainName(format!("{FW_PREFIX}{hash}")),
            external: ChainName(format!("{EXT_PREFIX}{hash}")),
        }
    }
}

/// `KUBE-SEP-…` for one endpoint (`endpoint` is `ip:port`) of a service port
/// (upstream `servicePortEndpointChainName`).
pub fn endpoint_chain(service_port_name: &str, protocol: ServiceProtocol, endpoint: &str) -> ChainName {
    let mut hasher = Sha256::new();
    hasher.update(service_port_name.as_bytes());
    hasher.update(protocol.lower().as_bytes());
    hasher.update(endpoint.as_bytes());
    ChainName(format!("{SEP_PREFIX}{}", encode16(&hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from /work/shared/formats.md §1.2, which match chain names in real dumps.
    #[test]
    fn service_hash_vectors() {
        let cases = [
            ("kube-system/kube-dns:dns", "udp", "TCOU7JCQXEZGVUNU"),
            ("default/kubernetes:https", "tcp", "NPX46M4PTMTKRN6Y"),
            ("kube-system/kube-dns:dns-tcp", "tcp", "ERIFXISQEP7F7OF4"),
            ("kube-system/kube-dns:metrics", "tcp", "JD5MR3NA4I4DYORP"),
            ("ns1/svc1:p80", "tcp", "XPGD46QRK7WJZT7O"),
            ("default/jtest", "tcp", "FXJ34XFJ55FJZHFP"),
        ];
        for (name, proto, want) in cases {
            assert_eq!(port_proto_hash(name, proto), want, "{name}{proto}");
        }
    }

    #[test]
    fn endpoint_hash_vectors() {
        let cases = [
            ("default/kubernetes:https", "192.168.205.145:6443", "KUBE-SEP-UUBFDOGZKSZ6QOBE"),
            ("ns1/svc1:p80", "10.180.0.1:80", "KUBE-SEP-SXIVWICOYRO3J4NJ"),
        ];
        for (name, ep, want) in cases {
            assert_eq!(endpoint_chain(name, ServiceProtocol::Tcp, ep).as_str(), want);
        }
        let dns = endpoint_chain("kube-system/kube-dns:dns", ServiceProtocol::Udp, "10.244.0.9:53");
        assert_eq!(dns.as_str(), "KUBE-SEP-LBMQNJ35ID4UIQ2A");
    }

    #[test]
    fn truncated_encoding_equals_full_encoding_prefix() {
        let digest = Sha256::digest(b"ns1/svc1:p80tcp");
        assert_eq!(encode16(&digest), &BASE32.encode(&digest)[..16]);
    }

    #[test]
    fn chain_names_fit_the_kernel_limit() {
        let name =
            ServicePortName::new("a-very-long-namespace", "a-very-long-name", "p", ServiceProtocol::Sctp);
        let chains = ServiceChains::new(&name);
        for c in [&chains.cluster, &chains.local, &chains.firewall, &chains.external] {
            assert!(c.as_str().len() <= 28, "{c}");
        }
    }
}
