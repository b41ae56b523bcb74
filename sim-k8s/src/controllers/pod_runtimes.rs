//! The kubelets' runtime state of the pods they run, with host-local IPAM's view beside it.
//!
//! host-local keeps one file per allocated address under `/var/lib/cni/networks/<net>/`, so
//! "which addresses are taken on this node" is a directory listing, not a walk over every pod.
//! [`PodRuntimes`] keeps the same: the addresses in use per node, updated as pods start and go,
//! and host-local's `last_reserved_ip.0`: allocation goes round-robin from the address after
//! the last one handed out (allocator.go's `GetIter`), so a new pod does not take the address
//! a pod just gave up while later ones are free, and an allocation costs one probe, not a scan
//! of the node's pods.

use std::collections::BTreeMap;
use std::net::IpAddr;

use indexmap::IndexMap;
use sim_core::hash::FxBuildHasher;

use super::kubelet::PodRuntime;
use crate::api::ObjectKey;

/// Every pod a kubelet runs, by key, and the pod IPs in use on each node.
#[derive(Default)]
pub(crate) struct PodRuntimes {
    /// Hashed: only looked up, never listed in key order (a kubelet's pass walks the store).
    by_key: IndexMap<ObjectKey, PodRuntime, FxBuildHasher>,
    /// node → pod IP → how many runtimes hold it (a manifest can give two pods one IP).
    ips: BTreeMap<String, BTreeMap<IpAddr, u32>>,
    /// Addresses pods not admitted yet already carry (`status.podIP` in a cluster dump), per
    /// node: a kubelet pass allocates around them.
    claimed: BTreeMap<String, std::collections::BTreeSet<IpAddr>>,
    /// node → the last address host-local reserved there.
    last_reserved: BTreeMap<String, u32>,
}

impl PodRuntimes {
    /// The runtime of a pod.
    pub fn get(&self, key: &ObjectKey) -> Option<&PodRuntime> {
        self.by_key.get(key)
    }

    /// The runtime of a pod, to update its containers. Its `node` and `ip` are fixed once the
    /// pod is admitted (the address index relies on it).
    pub fn get_mut(&mut self, key: &ObjectKey) -> Option<&mut PodRuntime> {
        self.by_key.get_mut(key)
    }

    /// True if the kubelet runs this pod.
    pub fn contains_key(&self, key: &ObjectKey) -> bool {
        self.by_key.contains_key(key)
    }

    /// How many pods the kubelets run.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Starts tracking a pod (replacing an earlier runtime under the same key).
    pub fn insert(&mut self, key: ObjectKey, rt: PodRuntime) -> Option<PodRuntime> {
        if let Some(ip) = rt.ip {
            *self.ips.entry(rt.node.clone()).or_default().entry(ip).or_default() += 1;
        }
        let old = self.by_key.insert(key, rt);
        if let Some(o) = &old {
            self.forget_ip(o);
        }
        old
    }

    /// Stops tracking a pod; its address is free again.
    pub fn remove(&mut self, key: &ObjectKey) -> Option<PodRuntime> {
        let rt = self.by_key.swap_remove(key)?;
        self.forget_ip(&rt);
        Some(rt)
    }

    /// Keeps only the pods `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&ObjectKey, &PodRuntime) -> bool) {
        let gone: Vec<ObjectKey> =
            self.by_key.iter().filter(|(k, rt)| !keep(k, rt)).map(|(k, _)| k.clone()).collect();
        for k in gone {
            self.remove(&k);
        }
    }

    /// host-local's allocation on `node` from `cidr`: the first free address after the last
    /// one reserved there, wrapping from the range's end (the broadcast address's predecessor)
    /// to its start (`.1`, skipped as the bridge's gateway address); None when all are taken.
    pub fn allocate(&mut self, node: &str, cidr: ipnet::Ipv4Net) -> Option<IpAddr> {
        let start = u32::from(cidr.network()).checked_add(1)?;
        let end = u32::from(cidr.broadcast()).checked_sub(1)?;
        let gateway = start;
        if end <= start {
            return None;
        }
        let last = self.last_reserved.get(node).copied().filter(|a| (start..=end).contains(a));
        let first = match last {
            Some(a) if a < end => a + 1,
            _ => start,
        };
        let (on_node, claimed) = (self.ips.get(node), self.claimed.get(node));
        let free = |a: u32| {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(a));
            a != gateway
                && !on_node.is_some_and(|m| m.contains_key(&ip))
                && !claimed.is_some_and(|s| s.contains(&ip))
        };
        let found = (first..=end).chain(start..first).find(|a| free(*a))?;
        self.last_reserved.insert(node.to_string(), found);
        Some(IpAddr::V4(std::net::Ipv4Addr::from(found)))
    }

    /// Starts a kubelet pass: forgets earlier claims.
    pub fn clear_claims(&mut self) {
        self.claimed.clear();
    }

    /// Marks `ip` on `node` as taken by a pod that arrives with it.
    pub fn claim(&mut self, node: &str, ip: IpAddr) {
        self.claimed.entry(node.to_string()).or_default().insert(ip);
    }

    fn forget_ip(&mut self, rt: &PodRuntime) {
        let Some(ip) = rt.ip else { return };
        let Some(on_node) = self.ips.get_mut(&rt.node) else { return };
        if let Some(n) = on_node.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                on_node.remove(&ip);
            }
        }
        if on_node.is_empty() {
            self.ips.remove(&rt.node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    /// host-local's `GetIter`: from the address after the last reserved, wrapping from the
    /// range's end to its start, skipping the gateway (`.1`) and taken or claimed addresses.
    #[test]
    fn allocation_goes_round_robin_like_host_local() {
        let cidr: ipnet::Ipv4Net = "10.244.1.0/29".parse().unwrap_or_default();
        let mut r = PodRuntimes::default();
        let got: Vec<Option<IpAddr>> = (0..3).map(|_| r.allocate("n1", cidr)).collect();
        assert_eq!(got, [Some(ip("10.244.1.2")), Some(ip("10.244.1.3")), Some(ip("10.244.1.4"))]);
        // Nothing holds .2-.4 (no runtimes were inserted), yet the next one is .5: the cursor
        // moves on rather than reusing the lowest free address.
        r.claim("n1", ip("10.244.1.6"));
        assert_eq!(r.allocate("n1", cidr), Some(ip("10.244.1.5")));
        // .6 is claimed, .7 is broadcast: wrap past the gateway to .2.
        assert_eq!(r.allocate("n1", cidr), Some(ip("10.244.1.2")));
        // Another node has its own cursor.
        assert_eq!(r.allocate("n2", cidr), Some(ip("10.244.1.2")));
    }
}
