//! kube-proxy in iptables mode: rule generation. Given kube-proxy's own view of the cluster
//! (service ports, their endpoints, this node's configuration) it writes the iptables-restore
//! input the real kube-proxy (`pkg/proxy/iptables/proxier.go`, release 1.31+) feeds to
//! `iptables-restore --noflush`, plus the jump rules it ensures in built-in chains. Packets are
//! never routed here: the generic netfilter engine in `sim-net` evaluates the generated rules.
//!
//! Entry points: [`sync`] / [`sync_with_existing`] → [`SyncResult`]. Wiring: validate the
//! config ([`ProxyConfig::validate`]); at node start load [`SyncResult::initial_restore`] into
//! empty tables; on later syncs feed [`SyncResult::restore_input`] to `iptables-restore
//! --noflush` (pass the loaded nat chain names so stale ones are deleted). Sub-modules: [`service_port`] / [`endpoint`] (the
//! input model and endpoint selection), [`config`] (flags and timing), [`chain_name`]
//! (hashed chain names), [`probability`] (statistic values), [`jump_chains`], [`healthcheck`]
//! (the LB health-check server's answer), [`sync`] (the rule writer).
//!
//! Not modelled: IPv6 / dual-stack, topology-aware routing hints, the nftables and IPVS modes,
//! partial syncs (they leave the loaded tables as a full sync would), conntrack cleanup of
//! stale UDP flows (the lead's conntrack model owns that), metrics.

pub mod chain_name;
pub mod config;
pub mod endpoint;
pub mod healthcheck;
pub mod jump_chains;
pub mod probability;
pub mod service_port;
pub mod sync;

pub use chain_name::ChainName;
pub use config::{ConfigError, LocalTrafficDetector, NodePortAddresses, ProxyConfig};
pub use endpoint::{Endpoint, EndpointsMap};
pub use healthcheck::{HealthCheckResponse, HealthCheckServer};
pub use jump_chains::JumpRule;
pub use service_port::{
    ServicePortInfo, ServicePortName, ServiceProtocol, ServiceType, SessionAffinity, TrafficPolicy,
};
pub use sync::{SyncResult, SyncStats, sync, sync_with_existing};
