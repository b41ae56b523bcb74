//! kube-proxy's cleanup of stale UDP conntrack entries, as upstream's
//! `pkg/proxy/conntrack/cleanup.go` `CleanStaleEntries` does after every successful sync (all
//! three proxiers call it).
//!
//! UDP has no connection to close: a client that keeps sending from one source port keeps
//! refreshing its conntrack entry, and every datagram follows that entry's DNAT to the
//! endpoint chosen for the first one — also after that endpoint is gone (kubernetes/kubernetes
//! #19029, #59368). So for every UDP service port that has serving endpoints, kube-proxy maps
//! each frontend (`clusterIP:port`, each load-balancer and external IP with the port, and the
//! node port) to the set of serving endpoint IPs, and deletes every UDP entry whose original
//! destination is such a frontend and whose reply source (`--reply-src`, the endpoint the
//! entry was DNATed to) is not in the set. A service port without serving endpoints has the
//! empty set, so all its entries go (kubernetes/kubernetes #139628, fixed by #139629: the
//! v1.32 reconciler skipped such ports and one-way senders stayed DNATed to a deleted pod
//! for hours). Traffic policies,
//! topology and terminating state are not taken into account, as upstream says, so UDP
//! behaves like TCP: an entry goes when its endpoint stops *serving*.
//! Two older behaviours can be chosen instead ([`UdpCleanup`], a scenario's
//! `cluster.kubeProxyConntrackCleanup`): the reconciler as v1.32 shipped it, which skips the
//! service ports without serving endpoints (#139628), and no cleanup at all, as the iptables
//! proxier was when #19029 was filed.
//! Left out: IPv6; the netlink filter batching (entries are deleted in one pass); the
//! entries of a Service deleted outright (#141371), whose frontends have left the view; the
//! event-based cleanup of v1.31 and earlier (`DeletedUDPEndpoints`, `NewlyActiveUDPServices`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use sim_core::SimTime;
use sim_net::conntrack::{Conntrack, CtEntry, L4Tuple};

use super::endpoint::EndpointsMap;
use super::service_port::{ServicePortInfo, ServiceProtocol};

/// Which UDP conntrack cleanup kube-proxy runs after each successful sync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UdpCleanup {
    /// Upstream's reconciler with #139629: every UDP service port, those without serving
    /// endpoints included (the default).
    #[default]
    Reconcile,
    /// The reconciler as v1.32 shipped it (#127318): `if endpoints.Len() == 0 { continue }`
    /// skips the service ports without serving endpoints, so a UDP service scaled to zero keeps
    /// its entries to the deleted pods (#139628).
    ReconcileSkipEmpty,
    /// No cleanup: the iptables proxier as #19029 found it, or a kube-proxy whose
    /// `conntrack -D` fails. Entries go only when they time out.
    None,
}

impl UdpCleanup {
    /// Parses a scenario's `kubeProxyConntrackCleanup` value.
    pub fn parse(s: &str) -> Result<UdpCleanup, String> {
        match s {
            "reconcile" => Ok(UdpCleanup::Reconcile),
            "reconcile-skip-empty" => Ok(UdpCleanup::ReconcileSkipEmpty),
            "none" => Ok(UdpCleanup::None),
            other => {
                Err(format!("unknown cleanup {other:?}: expected reconcile, reconcile-skip-empty or none"))
            }
        }
    }
}

/// The frontends of the UDP service ports with serving endpoints, and those endpoints' IPs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UdpFrontends {
    /// `(service IP, port)` → serving endpoint IPs (cluster, load-balancer and external IPs).
    by_ip: BTreeMap<(Ipv4Addr, u16), BTreeSet<Ipv4Addr>>,
    /// Node port → serving endpoint IPs.
    by_node_port: BTreeMap<u16, BTreeSet<Ipv4Addr>>,
}

impl UdpFrontends {
    /// The frontends of `services` with their serving endpoints in `endpoints`; with
    /// [`UdpCleanup::ReconcileSkipEmpty`] only those of service ports with serving endpoints.
    pub fn new(services: &[ServicePortInfo], endpoints: &EndpointsMap, how: UdpCleanup) -> UdpFrontends {
        let mut f = UdpFrontends::default();
        if how == UdpCleanup::None {
            return f;
        }
        for svc in services.iter().filter(|s| s.name.protocol == ServiceProtocol::Udp) {
            let ips: BTreeSet<Ipv4Addr> =
                endpoints.get(&svc.name).into_iter().flatten().filter(|e| e.serving).map(|e| e.ip).collect();
            if ips.is_empty() && how == UdpCleanup::ReconcileSkipEmpty {
                // "a Service without endpoints does not require to clean the conntrack
                // entries associated" (v1.32's cleanup.go).
                continue;
            }
            // No serving endpoint: every entry of its frontends is stale (#139629; the
            // REJECT rule matches the service IP, which a DNATed entry never shows again).
            f.by_ip.insert((svc.cluster_ip, svc.port), ips.clone());
            for ip in svc.load_balancer_ips.iter().chain(&svc.external_ips) {
                f.by_ip.insert((*ip, svc.port), ips.clone());
            }
            if let Some(np) = svc.node_port {
                f.by_node_port.insert(np, ips);
            }
        }
        f
    }

    /// True if `e` is a UDP entry for one of the frontends that is not DNATed to one of its
    /// serving endpoints.
    pub fn is_stale(&self, e: &CtEntry) -> bool {
        let L4Tuple::Udp { dport, .. } = e.orig.l4 else { return false };
        let reply_src = e.reply.src;
        if let Some(ips) = self.by_ip.get(&(e.orig.dst, dport)) {
            return !ips.contains(&reply_src);
        }
        self.by_node_port.get(&dport).is_some_and(|ips| !ips.contains(&reply_src))
    }

    /// True if there is nothing to clean for.
    pub fn is_empty(&self) -> bool {
        self.by_ip.is_empty() && self.by_node_port.is_empty()
    }
}

/// `CleanStaleEntries`: deletes the stale UDP entries of `ct`; returns them, in table order.
pub fn clean_stale_entries(
    ct: &mut Conntrack,
    now: SimTime,
    services: &[ServicePortInfo],
    endpoints: &EndpointsMap,
    how: UdpCleanup,
) -> Vec<CtEntry> {
    // A node that never carried a packet has nothing to clean (most nodes of a big cluster
    // that has just been loaded): no need to index every Service to find that out.
    if ct.is_empty() {
        return Vec::new();
    }
    let frontends = UdpFrontends::new(services, endpoints, how);
    if frontends.is_empty() {
        return Vec::new();
    }
    let stale: Vec<CtEntry> = ct.entries(now).filter(|e| frontends.is_stale(e)).copied().collect();
    for e in &stale {
        ct.remove(e.id);
    }
    stale
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube_proxy::endpoint::Endpoint;
    use crate::kube_proxy::service_port::ServicePortName;
    use sim_core::SimDuration;
    use sim_net::conntrack::{CtConfig, Tuple};

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn udp(src: &str, sport: u16, dst: &str, dport: u16) -> Tuple {
        Tuple { src: ip(src), dst: ip(dst), l4: L4Tuple::Udp { sport, dport } }
    }

    // Upstream's TestCleanStaleEntries shape: a UDP service with one endpoint left; the entry
    // DNATed to the removed endpoint goes, the one to the live endpoint and the TCP one stay.
    #[test]
    fn entries_to_endpoints_that_stopped_serving_are_deleted() {
        let name = ServicePortName::new("default", "dns", "dns", ServiceProtocol::Udp);
        let svc = ServicePortInfo::cluster_ip(name.clone(), ip("10.96.0.10"), 53);
        let mut eps = EndpointsMap::new();
        eps.insert(name, vec![Endpoint::ready(ip("10.244.1.5"), 53, None)]);
        let mut ct = Conntrack::new(CtConfig::default());
        let now = SimTime::ZERO;
        let live = udp("10.244.2.7", 5000, "10.96.0.10", 53);
        let gone = udp("10.244.2.8", 5000, "10.96.0.10", 53);
        ct.insert(now, live, udp("10.244.1.5", 53, "10.244.2.7", 5000), None, SimDuration::from_secs(30))
            .unwrap();
        ct.insert(now, gone, udp("10.244.1.9", 53, "10.244.2.8", 5000), None, SimDuration::from_secs(30))
            .unwrap();
        let other = udp("10.244.2.8", 5001, "10.96.0.99", 53);
        ct.insert(now, other, udp("10.244.1.9", 53, "10.244.2.8", 5001), None, SimDuration::from_secs(30))
            .unwrap();
        let svcs = std::slice::from_ref(&svc);
        assert!(clean_stale_entries(&mut ct, now, svcs, &eps, UdpCleanup::None).is_empty());
        let deleted = clean_stale_entries(&mut ct, now, svcs, &eps, UdpCleanup::Reconcile);
        assert_eq!(deleted.len(), 1);
        assert_eq!(deleted[0].orig, gone);
        assert_eq!(ct.len(), 2);
        // Scaled to zero: v1.32's reconciler leaves the entry to the last endpoint (#139628);
        // with #139629 it goes too.
        eps.values_mut().for_each(Vec::clear);
        assert!(clean_stale_entries(&mut ct, now, svcs, &eps, UdpCleanup::ReconcileSkipEmpty).is_empty());
        let deleted = clean_stale_entries(&mut ct, now, svcs, &eps, UdpCleanup::Reconcile);
        assert_eq!(deleted.iter().map(|e| e.orig).collect::<Vec<_>>(), vec![live]);
    }

    #[test]
    fn cleanup_values_parse() {
        assert_eq!(UdpCleanup::parse("reconcile"), Ok(UdpCleanup::Reconcile));
        assert_eq!(UdpCleanup::parse("reconcile-skip-empty"), Ok(UdpCleanup::ReconcileSkipEmpty));
        assert_eq!(UdpCleanup::parse("none"), Ok(UdpCleanup::None));
        assert!(UdpCleanup::parse("off").unwrap_err().contains("expected reconcile"));
    }
}
