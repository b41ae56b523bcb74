//! Service endpoints as kube-proxy sees them (upstream `pkg/proxy/endpoint.go`
//! `BaseEndpointInfo`, built from EndpointSlices) and the choice of which endpoints each
//! traffic policy uses (`pkg/proxy/topology.go` `CategorizeEndpoints`): Ready endpoints by
//! default, falling back to Serving-and-Terminating ones, independently for the Cluster and
//! Local policies. Endpoints are ordered by their `ip:port` text, as upstream's
//! EndpointSliceCache sorts them, which fixes the statistic-rule order. Not modelled: topology
//! hints (`PreferSameZone` / `PreferSameNode`), IPv6.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use super::service_port::{ServicePortInfo, ServicePortName};

/// One endpoint address+port of a service port.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    /// Pod (or external) address.
    pub ip: Ipv4Addr,
    /// Resolved target port.
    pub port: u16,
    /// `endpoints[].nodeName`; the endpoint is local when it equals the proxy's node name.
    pub node_name: Option<String>,
    /// `conditions.ready`.
    pub ready: bool,
    /// `conditions.serving`.
    pub serving: bool,
    /// `conditions.terminating`.
    pub terminating: bool,
}

impl Endpoint {
    /// A ready, serving, non-terminating endpoint.
    pub fn ready(ip: Ipv4Addr, port: u16, node_name: Option<&str>) -> Self {
        Endpoint {
            ip,
            port,
            node_name: node_name.map(str::to_owned),
            ready: true,
            serving: true,
            terminating: false,
        }
    }

    /// Whether the endpoint runs on `node` (upstream computes `IsLocal` the same way).
    pub fn is_local(&self, node: &str) -> bool {
        self.node_name.as_deref() == Some(node)
    }

    /// Serving while terminating: usable only when no Ready endpoint exists.
    pub fn serving_terminating(&self) -> bool {
        self.serving && self.terminating
    }
}

/// Upstream `BaseEndpointInfo.String()`: `ip:port`.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.ip, self.port)
    }
}

/// Endpoints of every service port (upstream `EndpointsMap`).
pub type EndpointsMap = BTreeMap<ServicePortName, Vec<Endpoint>>;

/// Which endpoints a service port uses on this node (upstream `CategorizeEndpoints`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Categorized<'a> {
    /// Endpoints for the Cluster policy (empty if the port never uses it).
    pub cluster: Vec<&'a Endpoint>,
    /// Endpoints for the Local policy (empty if the port never uses it).
    pub local: Vec<&'a Endpoint>,
    /// Union of the two: every endpoint that gets a `KUBE-SEP-` chain.
    pub all_reachable: Vec<&'a Endpoint>,
    /// Whether any usable endpoint exists anywhere in the cluster.
    pub has_any: bool,
}

/// Splits `endpoints` (already in `ip:port` order) by traffic policy for `node`.
pub fn categorize<'a>(endpoints: &[&'a Endpoint], svc: &ServicePortInfo, node: &str) -> Categorized<'a> {
    let mut out = Categorized::default();
    if svc.uses_cluster_endpoints() {
        out.cluster = endpoints.iter().copied().filter(|e| e.ready).collect();
        if out.cluster.is_empty() {
            out.cluster = endpoints.iter().copied().filter(|e| e.serving_terminating()).collect();
        }
        out.has_any = !out.cluster.is_empty();
    }
    if !svc.uses_local_endpoints() {
        out.all_reachable = out.cluster.clone();
        return out;
    }

    let mut local_ready = false;
    let mut local_serving_terminating = false;
    for ep in endpoints {
        if ep.ready {
            out.has_any = true;
            local_ready |= ep.is_local(node);
        } else if ep.serving_terminating() {
            out.has_any = true;
            local_serving_terminating |= ep.is_local(node);
        }
    }
    let mut uses_terminating = false;
    if local_ready {
        out.local = endpoints.iter().copied().filter(|e| e.is_local(node) && e.ready).collect();
    } else if local_serving_terminating {
        uses_terminating = true;
        out.local =
            endpoints.iter().copied().filter(|e| e.is_local(node) && e.serving_terminating()).collect();
    }

    if !svc.uses_cluster_endpoints() {
        out.all_reachable = out.local.clone();
    } else if !uses_terminating {
        // Local holds only Ready endpoints and Cluster holds every Ready one: a superset.
        out.all_reachable = out.cluster.clone();
    } else {
        // Upstream merges through a map (random order); the order of chain definitions does
        // not change the loaded tables, so keep the `ip:port` order.
        let mut merged: Vec<&Endpoint> = out.cluster.iter().chain(out.local.iter()).copied().collect();
        merged.sort_by_cached_key(|e| e.to_string());
        merged.dedup_by(|a, b| a.ip == b.ip && a.port == b.port);
        out.all_reachable = merged;
    }
    out
}

/// Orders endpoints by their `ip:port` text, as upstream's EndpointSliceCache does, and
/// drops duplicate addresses the way it does: the first occurrence wins, except that a later
/// duplicate on `node` replaces it (upstream favours `isLocal == true`). Each endpoint comes
/// with its `ip:port` text.
pub fn sorted_endpoints<'a>(endpoints: &'a [Endpoint], node: &str) -> Vec<(String, &'a Endpoint)> {
    let mut keyed: Vec<(String, usize, &Endpoint)> =
        endpoints.iter().enumerate().map(|(i, e)| (e.to_string(), i, e)).collect();
    // Stable order among duplicates: by text, then input position.
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut out: Vec<(String, &Endpoint)> = Vec::with_capacity(keyed.len());
    for (text, _, ep) in keyed {
        match out.last_mut() {
            Some(last) if last.0 == text => {
                if ep.is_local(node) {
                    last.1 = ep;
                }
            }
            _ => out.push((text, ep)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube_proxy::service_port::{ServiceProtocol, ServiceType, TrafficPolicy};

    fn svc() -> ServicePortInfo {
        ServicePortInfo::cluster_ip(
            ServicePortName::new("ns", "s", "p", ServiceProtocol::Tcp),
            Ipv4Addr::new(172, 30, 0, 1),
            80,
        )
    }

    fn ep(last: u8, node: &str, ready: bool, serving: bool, terminating: bool) -> Endpoint {
        Endpoint {
            ip: Ipv4Addr::new(10, 0, 0, last),
            port: 80,
            node_name: Some(node.to_owned()),
            ready,
            serving,
            terminating,
        }
    }

    #[test]
    fn endpoints_sort_as_text() {
        let eps = vec![
            ep(10, "n", true, true, false),
            ep(9, "n", true, true, false),
            ep(9, "n", false, true, true),
        ];
        let sorted: Vec<&Endpoint> = sorted_endpoints(&eps, "other").into_iter().map(|(_, e)| e).collect();
        let text: Vec<String> = sorted.iter().map(|e| e.to_string()).collect();
        // "10.0.0.10:80" < "10.0.0.9:80" as text, like upstream's byAddress.
        assert_eq!(text, ["10.0.0.10:80", "10.0.0.9:80"]);
        assert!(sorted[1].ready, "the first duplicate wins");
        // ...unless a later duplicate is local.
        assert!(!sorted_endpoints(&eps, "n")[1].1.ready);
    }

    // Mirrors the cases of upstream topology_test.go TestCategorizeEndpoints that do not
    // involve hints.
    #[test]
    fn cluster_policy_falls_back_to_serving_terminating() {
        let eps =
            [ep(1, "a", false, true, true), ep(2, "b", false, false, true), ep(3, "b", false, false, false)];
        let refs: Vec<&Endpoint> = eps.iter().collect();
        let c = categorize(&refs, &svc(), "a");
        assert_eq!(c.cluster, vec![&eps[0]]);
        assert!(c.has_any);
        assert!(c.local.is_empty());
        assert_eq!(c.all_reachable, vec![&eps[0]]);
    }

    #[test]
    fn ready_endpoints_win_over_terminating() {
        let eps = [ep(1, "a", false, true, true), ep(2, "b", true, true, false)];
        let refs: Vec<&Endpoint> = eps.iter().collect();
        let c = categorize(&refs, &svc(), "a");
        assert_eq!(c.cluster, vec![&eps[1]]);
    }

    #[test]
    fn external_local_uses_local_terminating_and_merges() {
        let mut s = svc();
        s.service_type = ServiceType::NodePort;
        s.node_port = Some(30080);
        s.external_traffic_policy = TrafficPolicy::Local;
        let eps = [ep(1, "a", false, true, true), ep(2, "b", true, true, false)];
        let refs: Vec<&Endpoint> = eps.iter().collect();
        let c = categorize(&refs, &s, "a");
        assert_eq!(c.cluster, vec![&eps[1]]);
        assert_eq!(c.local, vec![&eps[0]]);
        assert_eq!(c.all_reachable, vec![&eps[0], &eps[1]]);
        assert!(c.has_any);
    }

    #[test]
    fn internal_local_without_local_endpoints() {
        let mut s = svc();
        s.internal_traffic_policy = TrafficPolicy::Local;
        let eps = [ep(2, "b", true, true, false)];
        let refs: Vec<&Endpoint> = eps.iter().collect();
        let c = categorize(&refs, &s, "a");
        assert!(c.cluster.is_empty());
        assert!(c.local.is_empty());
        assert!(c.all_reachable.is_empty());
        assert!(c.has_any, "a ready endpoint exists elsewhere");
    }
}
