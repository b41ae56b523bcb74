//! kube-proxy in iptables mode: rule generation. From kube-proxy's own view of the cluster
//! (service ports, endpoints, this node's configuration) it writes the iptables-restore input
//! the real kube-proxy (`pkg/proxy/iptables/proxier.go`, 1.31+) feeds to `iptables-restore
//! --noflush`, plus the jump rules it ensures in built-in chains. No packet is routed here:
//! `sim-net`'s netfilter engine evaluates the generated rules.
//!
//! Entry points: [`sync()`] / [`sync_with_existing`] → [`SyncResult`]. Wiring: check
//! [`ProxyConfig::validate`]; load [`SyncResult::initial_restore`] into a node's empty tables,
//! then feed each later [`SyncResult::restore_input`] with `--noflush`, passing the loaded nat
//! chains so stale ones are deleted. Modules: `service_port`/`endpoint` (input model, endpoint
//! selection), `config`, `chain_name`, `probability`, `jump_chains`, `healthcheck`, `sync`, `sync_runner`,
//! `conntrack`.
//!
//! IPVS mode lives in [`ipvs`]: the same view turned into IPVS virtual servers, ipsets and a
//! fixed set of iptables rules. nftables mode lives in [`nftables`]: the same view turned into
//! an `nft -f` transaction.
//!
//! Not modelled: IPv6 / dual-stack, topology hints, partial syncs in iptables mode
//! (they leave the same tables as a full sync), metrics. Stale UDP conntrack entries are
//! cleaned after every sync of every mode ([`conntrack`], upstream's `CleanStaleEntries`).

pub mod chain_name;
pub mod config;
pub mod conntrack;
pub mod conntracker;
pub mod endpoint;
pub mod healthcheck;
pub mod ipvs;
pub mod jump_chains;
pub mod nftables;
pub mod probability;
pub mod service_port;
pub mod sync;
pub mod sync_runner;

pub use chain_name::ChainName;
pub use config::{ConfigError, LocalTrafficDetector, NodePortAddresses, ProxyConfig, ProxyMode};
pub use endpoint::{Endpoint, EndpointsMap};
pub use healthcheck::{HealthCheckResponse, HealthCheckServer};
pub use jump_chains::JumpRule;
pub use service_port::{
    ServicePortError, ServicePortInfo, ServicePortName, ServiceProtocol, ServiceType, SessionAffinity,
    TrafficPolicy,
};
pub use sync::{SyncResult, SyncStats, sync, sync_with_existing};
pub use sync_runner::{SyncDecision, SyncRunner};
