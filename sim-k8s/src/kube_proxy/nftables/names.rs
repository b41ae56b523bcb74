//! nftables-mode chain and set names (upstream `hashAndTruncate`, `servicePortChainNameBase`,
//! `servicePortEndpointChainNameBase` in `pkg/proxy/nftables/proxier.go`): a readable
//! `namespace/name/protocol/port` suffix (plus `__ip/port` for an endpoint) after the first 8
//! characters of `base32(sha256(suffix))`, truncated to 240 characters with `...`.

use std::net::Ipv4Addr;

use data_encoding::BASE32;
use sha2::{Digest, Sha256};

use crate::kube_proxy::service_port::ServicePortName;

/// Cluster traffic policy chain prefix.
pub const SERVICE_PREFIX: &str = "service-";
/// Local traffic policy chain prefix.
pub const LOCAL_PREFIX: &str = "local-";
/// External traffic chain prefix.
pub const EXTERNAL_PREFIX: &str = "external-";
/// Per-endpoint chain prefix.
pub const ENDPOINT_PREFIX: &str = "endpoint-";
/// Per-endpoint session-affinity set prefix.
pub const AFFINITY_PREFIX: &str = "affinity-";
/// loadBalancerSourceRanges chain prefix.
pub const FIREWALL_PREFIX: &str = "firewall-";

/// knftables' `NameLengthMax` (256) minus the longest prefix (16).
const BASE_LENGTH_MAX: usize = 256 - 16;

fn hash_and_truncate(name: String) -> String {
    let digest = Sha256::digest(name.as_bytes());
    // 5 bytes encode to exactly 8 base32 characters: the prefix of the full encoding.
    let mut out = BASE32.encode(&digest[..5]);
    out.push('-');
    out.push_str(&name);
    if out.len() > BASE_LENGTH_MAX {
        // The name is ASCII (namespace, name, port name, protocol, digits and dots).
        let mut cut = BASE_LENGTH_MAX - 3;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("...");
    }
    out
}

/// `HASH-namespace/name/protocol/port` (e.g. `ULMVA6XW-ns1/svc1/tcp/p80`).
pub fn service_base(name: &ServicePortName) -> String {
    hash_and_truncate(format!("{}/{}/{}/{}", name.namespace, name.name, name.protocol.lower(), name.port))
}

/// `HASH-namespace/name/protocol/port__ip/port` (e.g. `5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80`).
pub fn endpoint_base(name: &ServicePortName, ip: Ipv4Addr, port: u16) -> String {
    hash_and_truncate(format!(
        "{}/{}/{}/{}__{ip}/{port}",
        name.namespace,
        name.name,
        name.protocol.lower(),
        name.port
    ))
}

/// Whether `chain` is a per-service or per-endpoint chain (they alone contain `/`).
pub fn is_service_chain_name(chain: &str) -> bool {
    chain.contains('/')
}

/// Whether `set` is a per-endpoint affinity set.
pub fn is_affinity_set_name(set: &str) -> bool {
    set.starts_with(AFFINITY_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube_proxy::service_port::ServiceProtocol;

    // From upstream's TestOverallNFTablesRules golden output.
    #[test]
    fn upstream_name_vectors() {
        let svc = |ns: &str, n: &str| ServicePortName::new(ns, n, "p80", ServiceProtocol::Tcp);
        assert_eq!(service_base(&svc("ns1", "svc1")), "ULMVA6XW-ns1/svc1/tcp/p80");
        assert_eq!(service_base(&svc("ns2", "svc2")), "42NFTM6N-ns2/svc2/tcp/p80");
        assert_eq!(
            endpoint_base(&svc("ns1", "svc1"), Ipv4Addr::new(10, 180, 0, 1), 80),
            "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"
        );
        assert_eq!(
            endpoint_base(&svc("ns4", "svc4"), Ipv4Addr::new(10, 180, 0, 5), 80),
            "5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80"
        );
    }

    #[test]
    fn long_names_are_truncated() {
        let long = "n".repeat(63);
        let name = ServicePortName::new(&long, &long, &long, ServiceProtocol::Sctp);
        let b = endpoint_base(&name, Ipv4Addr::new(255, 255, 255, 255), 65535);
        assert!(b.len() <= BASE_LENGTH_MAX);
        assert!(is_service_chain_name(&b));
    }
}
