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
//! Left out: IPv6; the netlink filter batching (entries are deleted in one pass); the
//! entries of a Service deleted outright (#141371), whose frontends have left the view.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use sim_core::SimTime;
use sim_net::conntrack::{Conntrack, CtEntry, L4Tuple};

use super::endpoint::EndpointsMap;
use super::service_port::{ServicePortInfo, ServiceProtocol};

/// The frontends of the UDP service ports with serving endpoints, and those endpoints' IPs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UdpFrontends {
    /// `(service IP, port)` → serving endpoint IPs (cluster, load-balancer and external IPs).
    by_ip: BTreeMap<(Ipv4Addr, u16), BTreeSet<Ipv4Addr>>,
    /// Node port → serving endpoint IPs.
    by_node_port: BTreeMap<u16, BTreeSet<Ipv4Addr>>,
}

impl UdpFrontends {
    /// The frontends of `services` with their serving endpoints in `endpoints`.
    pub fn new(services: &[ServicePortInfo], endpoints: &EndpointsMap) -> UdpFrontends {
        let mut f = UdpFrontends::default();
        for svc in services.iter().filter(|s| s.name.protocol == ServiceProtocol::Udp) {
            let ips: BTreeSet<Ipv4Addr> =
                endpoints.get(&svc.name).into_iter().flatten().filter(|e| e.serving).map(|e| e.ip).collect();
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
) -> Vec<CtEntry> {
    let frontends = UdpFrontends::new(services, endpoints);
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
        let deleted = clean_stale_entries(&mut ct, now, std::slice::from_ref(&svc), &eps);
        assert_eq!(deleted.len(), 1);
        assert_eq!(deleted[0].orig, gone);
        assert_eq!(ct.len(), 2);
        // Scaled to zero: the entry to the last endpoint goes too (#139628).
        eps.values_mut().for_each(Vec::clear);
        let deleted = clean_stale_entries(&mut ct, now, std::slice::from_ref(&svc), &eps);
        assert_eq!(deleted.iter().map(|e| e.orig).collect::<Vec<_>>(), vec![live]);
    }
}
