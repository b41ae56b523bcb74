//! kube-proxy in nftables mode: rule generation (upstream `pkg/proxy/nftables/proxier.go`,
//! release 1.33+). From the same view of the cluster the iptables proxier reads (service
//! ports, endpoints, this node's configuration) it writes the `nft -f` transaction the real
//! kube-proxy runs through knftables: one table `ip kube-proxy` with base chains
//! (`filter-prerouting-pre-dnat`, `filter-output-pre-dnat`, `filter-input`, `filter-forward`,
//! `filter-output`, `nat-prerouting`, `nat-output`, `nat-postrouting`), the dispatch verdict
//! maps `service-ips` and `service-nodeports`, the sets `cluster-ips` and `nodeport-ips`, the
//! no-endpoint maps `no-endpoint-services` / `no-endpoint-nodeports` (`drop`, or `goto
//! reject-chain`), `firewall-ips` for loadBalancerSourceRanges, and per service port
//! `service-`, `local-`, `external-`, `firewall-` and `endpoint-` chains named
//! `HASH-namespace/name/protocol/port` ([`names`]), with `affinity-` sets for ClientIP
//! session affinity (`update @affinity-... { ip saddr }`). No packet is routed here:
//! `sim-net`'s nftables engine evaluates the loaded table.
//!
//! Entry points: [`Desired::build`] (what a node wants), [`full_sync`] (the whole
//! transaction, stale chains and sets removed given the [`Existing`] table) and
//! [`partial_sync`] (only what changed between two [`Desired`]; loads the same table as a full
//! sync).
//!
//! **Departures from upstream.**
//! - IPv4 only (no `ip6 kube-proxy` table, no dual-stack meta-proxier).
//! - Service ports are visited in name order (upstream: Go map order), so a transaction is
//!   deterministic; elements are written after all chains (upstream interleaves them per
//!   service; the loaded table is the same).
//! - Stale chains are flushed and deleted in the same transaction (upstream deletes them in a
//!   later sync, at least a second after flushing, to dodge a kernel bug before 6.2 that the
//!   engine does not have); the base chains are not deleted and re-added on the first sync
//!   (upstream does so to change priorities left by an older kube-proxy).
//! - A partial sync rewrites the service ports whose generated rules differ (upstream: those
//!   its change trackers saw change); the two sets coincide except for no-op updates. It also
//!   replaces an element whose comment alone changed (upstream keeps the old comment), so a
//!   partial sync always leaves the table a full sync would.
//! - The world runs a full sync for a node's first load (deferred until something needs the
//!   rules, as in iptables mode) and partial syncs after it; a partial transaction the engine
//!   refuses (say, after a user edited the table) is followed at once by a full one (upstream
//!   retries with a full sync after `syncPeriod`). A node whose loads were deferred over
//!   several syncs gets one full sync of the latest view: the same rules, sets and elements as
//!   a node that synced all along, but `nft list` shows its chains in the order that one sync
//!   created them (service-name order) rather than in the order services appeared.
//! - `masqueradeAll` writes `ip daddr VIP jump mark-for-masquerade` (the shape of upstream's
//!   golden rules, without protocol and port); upstream's golden test does not cover it.
//! - Localhost NodePorts are not supported, as upstream (by design): 127.0.0.0/8 is excluded
//!   from NodePort matching; `iptables.localhostNodePorts` is ignored.
//! - The kubelet's iptables rules (`KUBE-FIREWALL`, canaries) are not created on nodes in
//!   nftables mode, and `route_localnet` is not set; health-check node ports are served as in
//!   iptables mode (upstream's nftables proxier writes no accept rule for them either).
//! - Not modelled: metrics, topology hints, `ipMode:
//!   Proxy`, the `nodePortAddresses` interface refresh.

pub mod names;
pub mod sync;
#[cfg(test)]
mod tests;

pub use sync::{
    Container, Desired, ElementSpec, Existing, NftStats, ServiceRules, TABLE, full_sync, partial_sync,
};
