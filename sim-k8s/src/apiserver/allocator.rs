//! Address and port allocators of the API server: ClusterIPs from `--service-cluster-ip-range`
//! (`pkg/registry/core/service/ipallocator`), node ports from `--service-node-port-range`
//! (`portallocator`) and per-node pod CIDRs from the cluster CIDR (kube-controller-manager's
//! `range_allocator`, first free /24 in node order). Like the real bitmap allocators, random
//! picks prefer the upper band of the range and fall back to the lower "static" band, which
//! stays free for users who ask for a specific value (`10.96.0.10` for kube-dns). Randomness
//! comes only from the `SimRng` stream passed in. ServiceCIDR objects add IPv4 ranges, used
//! after the flag range fills up. Left out: IPv6 ranges.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};
use sim_core::SimRng;

use crate::api::ObjectKey;

/// Why an allocation failed (wording from the real allocators).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    /// A requested value is outside the range.
    #[error("provided {what} is not in the valid range. The range of valid {what}s is {range}")]
    NotInRange {
        /// `IP` or `port`.
        what: &'static str,
        /// The configured range.
        range: String,
    },
    /// A requested value is taken.
    #[error("provided {what} is already allocated")]
    Allocated {
        /// `IP` or `port`.
        what: &'static str,
    },
    /// Nothing is free.
    #[error("range is full")]
    Full,
}

/// Size of the low "static" band the random allocator avoids: `min(max(16, size/16), 256)`.
fn static_band(size: u64) -> u64 {
    (size / 16).clamp(16, 256).min(size)
}

/// Picks a free offset in `0..size`: random in the upper band first, then a linear scan.
fn pick(rng: &mut SimRng, size: u64, lo: u64, is_free: impl Fn(u64) -> bool) -> Option<u64> {
    let band = static_band(size).max(lo);
    if band < size {
        // A few random probes, then a scan from a random start, like the bitmap allocator.
        for _ in 0..16 {
            let o = rng.below(band, size);
            if is_free(o) {
                return Some(o);
            }
        }
        let start = rng.below(band, size);
        for i in 0..(size - band) {
            let o = band + (start - band + i) % (size - band);
            if is_free(o) {
                return Some(o);
            }
        }
    }
    (lo..band.min(size)).find(|&o| is_free(o))
}

/// ClusterIP allocator over the IPv4 service CIDR, plus any ranges added by ServiceCIDR objects.
#[derive(Clone, Debug)]
pub struct ClusterIpAllocator {
    /// The flag range first, then ServiceCIDR ranges in creation order.
    ranges: Vec<Ipv4Net>,
    used: BTreeMap<Ipv4Addr, ObjectKey>,
}

fn range_size(cidr: Ipv4Net) -> u64 {
    1u64 << (32 - u32::from(cidr.prefix_len()))
}

impl ClusterIpAllocator {
    /// An allocator for `cidr` (e.g. `10.96.0.0/12`).
    pub fn new(cidr: Ipv4Net) -> Self {
        ClusterIpAllocator { ranges: vec![cidr.trunc()], used: BTreeMap::new() }
    }
    /// The primary range (`--service-cluster-ip-range`).
    pub fn cidr(&self) -> Ipv4Net {
        self.ranges[0]
    }
    /// Every range, primary first.
    pub fn ranges(&self) -> &[Ipv4Net] {
        &self.ranges
    }
    /// Adds a range (a ServiceCIDR object's IPv4 CIDR).
    pub fn add_range(&mut self, cidr: Ipv4Net) {
        let c = cidr.trunc();
        if !self.ranges.contains(&c) {
            self.ranges.push(c);
        }
    }
    /// Removes an added range (never the primary one); addresses in use stay allocated.
    pub fn remove_range(&mut self, cidr: Ipv4Net) {
        let c = cidr.trunc();
        if let Some(i) = self.ranges.iter().skip(1).position(|r| *r == c) {
            self.ranges.remove(i + 1);
        }
    }
    /// The address at `offset` from the primary network address (`.1` is the `kubernetes`
    /// Service, `.10` is kube-dns by convention).
    pub fn nth(&self, offset: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.cidr().network()).wrapping_add(offset))
    }
    fn in_range(&self, ip: Ipv4Addr) -> bool {
        // The network and broadcast addresses are never allocatable.
        self.ranges.iter().any(|c| c.contains(&ip) && ip != c.network() && ip != c.broadcast())
    }
    fn range_text(&self) -> String {
        self.ranges.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    }
    /// Who holds `ip`.
    pub fn owner(&self, ip: Ipv4Addr) -> Option<&ObjectKey> {
        self.used.get(&ip)
    }
    /// Reserves a specific address.
    pub fn allocate(&mut self, ip: IpAddr, owner: &ObjectKey) -> Result<(), AllocError> {
        let IpAddr::V4(v4) = ip else {
            return Err(AllocError::NotInRange { what: "IP", range: self.range_text() });
        };
        if !self.in_range(v4) {
            return Err(AllocError::NotInRange { what: "IP", range: self.range_text() });
        }
        match self.used.get(&v4) {
            Some(k) if k != owner => Err(AllocError::Allocated { what: "IP" }),
            _ => {
                self.used.insert(v4, owner.clone());
                Ok(())
            }
        }
    }
    /// Allocates a random free address, from the primary range first.
    pub fn allocate_next(&mut self, rng: &mut SimRng, owner: &ObjectKey) -> Result<Ipv4Addr, AllocError> {
        for cidr in self.ranges.clone() {
            let size = range_size(cidr);
            if size < 4 {
                continue;
            }
            let net = u32::from(cidr.network());
            // Offsets 1..size-1 are usable (skip network and broadcast).
            let picked = pick(rng, size - 1, 1, |o| !self.used.contains_key(&Ipv4Addr::from(net + o as u32)));
            if let Some(o) = picked {
                let ip = Ipv4Addr::from(net + o as u32);
                self.used.insert(ip, owner.clone());
                return Ok(ip);
            }
        }
        Err(AllocError::Full)
    }
    /// Releases an address.
    pub fn release(&mut self, ip: IpAddr) {
        if let IpAddr::V4(v4) = ip {
            self.used.remove(&v4);
        }
    }
}

/// Node port allocator over an inclusive port range.
#[derive(Clone, Debug)]
pub struct NodePortAllocator {
    lo: u16,
    hi: u16,
    used: BTreeMap<u16, ObjectKey>,
}

impl NodePortAllocator {
    /// An allocator for `lo..=hi` (default 30000-32767).
    pub fn new(lo: u16, hi: u16) -> Self {
        NodePortAllocator { lo, hi, used: BTreeMap::new() }
    }
    /// The range as `--service-node-port-range` prints it.
    pub fn range_text(&self) -> String {
        format!("{}-{}", self.lo, self.hi)
    }
    /// Who holds `port`.
    pub fn owner(&self, port: u16) -> Option<&ObjectKey> {
        self.used.get(&port)
    }
    /// Reserves a specific port.
    pub fn allocate(&mut self, port: i32, owner: &ObjectKey) -> Result<u16, AllocError> {
        let p = u16::try_from(port).ok().filter(|p| (self.lo..=self.hi).contains(p));
        let Some(p) = p else {
            return Err(AllocError::NotInRange { what: "port", range: self.range_text() });
        };
        match self.used.get(&p) {
            Some(k) if k != owner => Err(AllocError::Allocated { what: "port" }),
            _ => {
                self.used.insert(p, owner.clone());
                Ok(p)
            }
        }
    }
    /// Allocates a random free port.
    pub fn allocate_next(&mut self, rng: &mut SimRng, owner: &ObjectKey) -> Result<u16, AllocError> {
        if self.hi < self.lo {
            return Err(AllocError::Full);
        }
        let size = u64::from(self.hi - self.lo) + 1;
        let lo = self.lo;
        let o = pick(rng, size, 0, |o| !self.used.contains_key(&(lo + o as u16))).ok_or(AllocError::Full)?;
        let p = lo + o as u16;
        self.used.insert(p, owner.clone());
        Ok(p)
    }
    /// Releases a port.
    pub fn release(&mut self, port: i32) {
        if let Ok(p) = u16::try_from(port) {
            self.used.remove(&p);
        }
    }
}

/// Pod CIDR allocator: consecutive subnets of the cluster CIDR, first free wins.
#[derive(Clone, Debug)]
pub struct PodCidrAllocator {
    cluster: IpNet,
    mask: u8,
    used: BTreeMap<IpNet, String>,
}

impl PodCidrAllocator {
    /// Subnets of `mask` bits (24) from `cluster` (10.244.0.0/16).
    pub fn new(cluster: IpNet, mask: u8) -> Self {
        PodCidrAllocator { cluster: cluster.trunc(), mask, used: BTreeMap::new() }
    }
    /// Marks a node's given CIDR as used.
    pub fn occupy(&mut self, cidr: IpNet, node: &str) {
        self.used.insert(cidr.trunc(), node.to_string());
    }
    /// The first free subnet.
    pub fn allocate_next(&mut self, node: &str) -> Result<IpNet, AllocError> {
        let subnets = self.cluster.subnets(self.mask).map_err(|_| AllocError::Full)?;
        for s in subnets {
            if !self.used.keys().any(|u| u.contains(&s.network()) || s.contains(&u.network())) {
                self.used.insert(s, node.to_string());
                return Ok(s);
            }
        }
        Err(AllocError::Full)
    }
    /// Releases a node's CIDRs.
    pub fn release_node(&mut self, node: &str) {
        self.used.retain(|_, n| n != node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Kind;

    fn key(n: &str) -> ObjectKey {
        ObjectKey::new(Kind::Service, "default", n)
    }

    #[test]
    fn cluster_ips_are_seeded_in_range_and_avoid_the_static_band() {
        let cidr: Ipv4Net = "10.96.0.0/12".parse().unwrap_or_default();
        let mut a = ClusterIpAllocator::new(cidr);
        let mut rng = SimRng::new(42).fork("apiserver/clusterip");
        let ip = a.allocate_next(&mut rng, &key("a")).unwrap_or(Ipv4Addr::UNSPECIFIED);
        assert!(cidr.contains(&ip));
        assert!(u32::from(ip) - u32::from(cidr.network()) >= 256);
        let mut b = ClusterIpAllocator::new(cidr);
        let mut rng2 = SimRng::new(42).fork("apiserver/clusterip");
        assert_eq!(b.allocate_next(&mut rng2, &key("a")).ok(), Some(ip));
        assert_eq!(a.nth(10), Ipv4Addr::new(10, 96, 0, 10));
        assert_eq!(a.allocate(IpAddr::V4(a.nth(10)), &key("kube-dns")), Ok(()));
        assert_eq!(
            a.allocate(IpAddr::V4(a.nth(10)), &key("other")).map_err(|e| e.to_string()),
            Err("provided IP is already allocated".to_string())
        );
        assert_eq!(
            a.allocate("10.0.0.1".parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), &key("x"))
                .map_err(|e| e.to_string()),
            Err("provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12".to_string())
        );
    }

    #[test]
    fn small_ranges_fill_up_cleanly() {
        let mut a = ClusterIpAllocator::new("10.0.0.0/29".parse().unwrap_or_default());
        let mut rng = SimRng::new(1);
        let mut got = Vec::new();
        while let Ok(ip) = a.allocate_next(&mut rng, &key("x")) {
            got.push(ip);
        }
        assert_eq!(got.len(), 6);
        let mut p = NodePortAllocator::new(30000, 30002);
        for _ in 0..3 {
            assert!(p.allocate_next(&mut rng, &key("x")).is_ok());
        }
        assert_eq!(p.allocate_next(&mut rng, &key("x")), Err(AllocError::Full));
    }

    #[test]
    fn service_cidr_ranges_extend_the_allocator() {
        let mut a = ClusterIpAllocator::new("10.0.0.0/30".parse().unwrap_or_default());
        let mut rng = SimRng::new(1);
        assert!(a.allocate_next(&mut rng, &key("a")).is_ok());
        assert!(a.allocate_next(&mut rng, &key("b")).is_ok());
        assert_eq!(a.allocate_next(&mut rng, &key("c")), Err(AllocError::Full));
        a.add_range("10.1.0.0/24".parse().unwrap_or_default());
        let ip = a.allocate_next(&mut rng, &key("c")).unwrap_or(Ipv4Addr::UNSPECIFIED);
        assert_eq!(ip.octets()[..3], [10, 1, 0]);
        assert_eq!(
            a.allocate("10.1.0.200".parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), &key("d")),
            Ok(())
        );
        assert_eq!(
            a.allocate("10.2.0.1".parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), &key("e"))
                .map_err(|e| e.to_string()),
            Err("provided IP is not in the valid range. The range of valid IPs is 10.0.0.0/30, 10.1.0.0/24"
                .to_string())
        );
        a.remove_range("10.1.0.0/24".parse().unwrap_or_default());
        assert_eq!(a.ranges().len(), 1);
    }

    #[test]
    fn node_port_range_message() {
        let mut p = NodePortAllocator::new(30000, 32767);
        assert_eq!(
            p.allocate(8080, &key("x")).map_err(|e| e.to_string()),
            Err("provided port is not in the valid range. The range of valid ports is 30000-32767"
                .to_string())
        );
    }

    #[test]
    fn pod_cidrs_in_node_order() {
        let mut p =
            PodCidrAllocator::new("10.244.0.0/16".parse().unwrap_or(IpNet::V4(Ipv4Net::default())), 24);
        assert_eq!(p.allocate_next("a").map(|c| c.to_string()).ok(), Some("10.244.0.0/24".to_string()));
        p.occupy("10.244.1.0/24".parse().unwrap_or(IpNet::V4(Ipv4Net::default())), "b");
        assert_eq!(p.allocate_next("c").map(|c| c.to_string()).ok(), Some("10.244.2.0/24".to_string()));
    }
}
