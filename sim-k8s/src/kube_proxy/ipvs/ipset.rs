//! The ipsets kube-proxy's IPVS mode keeps (upstream `pkg/proxy/ipvs/ipset.go` and
//! `ipsetInfo` in `proxier.go`): names, types and the comments its iptables rules carry.
//! Sets are created in `ipsetInfo` order (upstream ranges over a Go map, so in no fixed
//! order); bitmap sets take upstream's default range `0-65535`.

use std::collections::BTreeSet;

/// An ipset type kube-proxy uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetKind {
    /// `hash:ip`.
    HashIp,
    /// `hash:ip,port`.
    HashIpPort,
    /// `hash:ip,port,ip`.
    HashIpPortIp,
    /// `hash:ip,port,net`.
    HashIpPortNet,
    /// `bitmap:port` (range 0-65535).
    BitmapPort,
}

impl SetKind {
    /// The `ipset create` arguments after the name.
    pub fn create_args(self) -> &'static [&'static str] {
        match self {
            SetKind::HashIp => &["hash:ip"],
            SetKind::HashIpPort => &["hash:ip,port"],
            SetKind::HashIpPortIp => &["hash:ip,port,ip"],
            SetKind::HashIpPortNet => &["hash:ip,port,net"],
            SetKind::BitmapPort => &["bitmap:port", "range", "0-65535"],
        }
    }
}

/// `KUBE-LOOP-BACK`.
pub const LOOP_BACK: &str = "KUBE-LOOP-BACK";
/// `KUBE-CLUSTER-IP`.
pub const CLUSTER_IP: &str = "KUBE-CLUSTER-IP";
/// `KUBE-EXTERNAL-IP`.
pub const EXTERNAL_IP: &str = "KUBE-EXTERNAL-IP";
/// `KUBE-EXTERNAL-IP-LOCAL`.
pub const EXTERNAL_IP_LOCAL: &str = "KUBE-EXTERNAL-IP-LOCAL";
/// `KUBE-LOAD-BALANCER`.
pub const LOAD_BALANCER: &str = "KUBE-LOAD-BALANCER";
/// `KUBE-LOAD-BALANCER-FW`.
pub const LOAD_BALANCER_FW: &str = "KUBE-LOAD-BALANCER-FW";
/// `KUBE-LOAD-BALANCER-LOCAL`.
pub const LOAD_BALANCER_LOCAL: &str = "KUBE-LOAD-BALANCER-LOCAL";
/// `KUBE-LOAD-BALANCER-SOURCE-IP`.
pub const LOAD_BALANCER_SOURCE_IP: &str = "KUBE-LOAD-BALANCER-SOURCE-IP";
/// `KUBE-LOAD-BALANCER-SOURCE-CIDR`.
pub const LOAD_BALANCER_SOURCE_CIDR: &str = "KUBE-LOAD-BALANCER-SOURCE-CIDR";
/// `KUBE-NODE-PORT-TCP`.
pub const NODE_PORT_TCP: &str = "KUBE-NODE-PORT-TCP";
/// `KUBE-NODE-PORT-LOCAL-TCP`.
pub const NODE_PORT_LOCAL_TCP: &str = "KUBE-NODE-PORT-LOCAL-TCP";
/// `KUBE-NODE-PORT-UDP`.
pub const NODE_PORT_UDP: &str = "KUBE-NODE-PORT-UDP";
/// `KUBE-NODE-PORT-LOCAL-UDP`.
pub const NODE_PORT_LOCAL_UDP: &str = "KUBE-NODE-PORT-LOCAL-UDP";
/// `KUBE-NODE-PORT-SCTP-HASH`.
pub const NODE_PORT_SCTP: &str = "KUBE-NODE-PORT-SCTP-HASH";
/// `KUBE-NODE-PORT-LOCAL-SCTP-HASH`.
pub const NODE_PORT_LOCAL_SCTP: &str = "KUBE-NODE-PORT-LOCAL-SCTP-HASH";
/// `KUBE-HEALTH-CHECK-NODE-PORT`.
pub const HEALTH_CHECK_NODE_PORT: &str = "KUBE-HEALTH-CHECK-NODE-PORT";
/// `KUBE-IPVS-IPS`: every address bound to kube-ipvs0.
pub const IPVS_IPS: &str = "KUBE-IPVS-IPS";

/// One set kube-proxy keeps: name, type and the comment of the rules matching it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetInfo {
    /// The set name.
    pub name: &'static str,
    /// Its type.
    pub kind: SetKind,
    /// The comment (upstream's `kube…SetComment`).
    pub comment: &'static str,
}

const fn info(name: &'static str, kind: SetKind, comment: &'static str) -> SetInfo {
    SetInfo { name, kind, comment }
}

/// Upstream `ipsetInfo`, in its order.
pub const SETS: [SetInfo; 17] = [
    info(
        LOOP_BACK,
        SetKind::HashIpPortIp,
        "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose",
    ),
    info(CLUSTER_IP, SetKind::HashIpPort, "Kubernetes service cluster ip + port for masquerade purpose"),
    info(
        EXTERNAL_IP,
        SetKind::HashIpPort,
        "Kubernetes service external ip + port for masquerade and filter purpose",
    ),
    info(
        EXTERNAL_IP_LOCAL,
        SetKind::HashIpPort,
        "Kubernetes service external ip + port with externalTrafficPolicy=local",
    ),
    info(LOAD_BALANCER, SetKind::HashIpPort, "Kubernetes service lb portal"),
    info(
        LOAD_BALANCER_FW,
        SetKind::HashIpPort,
        "Kubernetes service load balancer ip + port for load balancer with sourceRange",
    ),
    info(
        LOAD_BALANCER_LOCAL,
        SetKind::HashIpPort,
        "Kubernetes service load balancer ip + port with externalTrafficPolicy=local",
    ),
    info(
        LOAD_BALANCER_SOURCE_IP,
        SetKind::HashIpPortIp,
        "Kubernetes service load balancer ip + port + source IP for packet filter purpose",
    ),
    info(
        LOAD_BALANCER_SOURCE_CIDR,
        SetKind::HashIpPortNet,
        "Kubernetes service load balancer ip + port + source cidr for packet filter purpose",
    ),
    info(NODE_PORT_TCP, SetKind::BitmapPort, "Kubernetes nodeport TCP port for masquerade purpose"),
    info(
        NODE_PORT_LOCAL_TCP,
        SetKind::BitmapPort,
        "Kubernetes nodeport TCP port with externalTrafficPolicy=local",
    ),
    info(NODE_PORT_UDP, SetKind::BitmapPort, "Kubernetes nodeport UDP port for masquerade purpose"),
    info(
        NODE_PORT_LOCAL_UDP,
        SetKind::BitmapPort,
        "Kubernetes nodeport UDP port with externalTrafficPolicy=local",
    ),
    info(
        NODE_PORT_SCTP,
        SetKind::HashIpPort,
        "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'",
    ),
    info(
        NODE_PORT_LOCAL_SCTP,
        SetKind::HashIpPort,
        "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'",
    ),
    info(HEALTH_CHECK_NODE_PORT, SetKind::BitmapPort, "Kubernetes health check node port"),
    info(IPVS_IPS, SetKind::HashIp, "Addresses on the ipvs interface"),
];

/// The set called `name`.
pub fn set_info(name: &str) -> Option<&'static SetInfo> {
    SETS.iter().find(|s| s.name == name)
}

/// The members one sync wants in each set (ipset's entry syntax: `10.96.0.1,tcp:443`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetEntries {
    entries: Vec<BTreeSet<String>>,
}

impl SetEntries {
    /// Every set empty.
    pub fn new() -> Self {
        SetEntries { entries: vec![BTreeSet::new(); SETS.len()] }
    }

    fn index(name: &str) -> Option<usize> {
        SETS.iter().position(|s| s.name == name)
    }

    /// Adds `entry` to set `name` (a name outside [`SETS`] is ignored).
    pub fn insert(&mut self, name: &str, entry: String) {
        if let Some(i) = Self::index(name)
            && let Some(set) = self.entries.get_mut(i)
        {
            set.insert(entry);
        }
    }

    /// The members of set `name`.
    pub fn get(&self, name: &str) -> Option<&BTreeSet<String>> {
        Self::index(name).and_then(|i| self.entries.get(i))
    }

    /// True if set `name` has no member (upstream `isEmpty`).
    pub fn is_empty(&self, name: &str) -> bool {
        self.get(name).is_none_or(BTreeSet::is_empty)
    }

    /// Every set with its members, in [`SETS`] order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static SetInfo, &BTreeSet<String>)> {
        SETS.iter().zip(self.entries.iter())
    }
}
