//! kube-proxy's configuration as it affects iptables rule generation and sync timing
//! (upstream `KubeProxyConfiguration` and `NewProxier` in `pkg/proxy/iptables/proxier.go`):
//! node identity, the local-traffic detector (`pkg/proxy/util/localdetector.go`), masquerade
//! mark, `--nodeport-addresses` (`pkg/proxy/util/nodeport_addresses.go`) and
//! `localhostNodePorts`, plus the kernel/iptables capabilities that change the rules
//! (`--random-fully`, nfacct, `nf_conntrack_tcp_be_liberal`). The sync timing knobs are
//! documented constants for the lead's event loop. Not modelled: IPv6, dual-stack, the
//! `--detect-local-mode` values other than ClusterCIDR / NodeCIDR / InterfaceNamePrefix.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use sim_core::SimDuration;
use thiserror::Error;

/// Default `--iptables-min-sync-period` (`minSyncPeriod`): at most one sync per second.
pub const DEFAULT_MIN_SYNC_PERIOD: SimDuration = SimDuration::from_secs(1);
/// Default `--iptables-sync-period` (`syncPeriod`): the canary chain is checked (and a full
/// resync forced if it vanished) this often.
pub const DEFAULT_SYNC_PERIOD: SimDuration = SimDuration::from_secs(30);
/// Upstream `proxyutil.FullSyncPeriod`: a full (non-partial) sync at least hourly.
pub const FULL_SYNC_PERIOD: SimDuration = SimDuration::from_secs(3600);
/// Upstream `burstSyncs` given to the BoundedFrequencyRunner.
pub const BURST_SYNCS: u32 = 2;
/// Default `--iptables-masquerade-bit`.
pub const DEFAULT_MASQUERADE_BIT: u8 = 14;
/// Upstream `largeClusterEndpointsThreshold`: above this many endpoints kube-proxy drops the
/// per-endpoint comments to keep iptables-restore input small.
pub const LARGE_CLUSTER_ENDPOINTS_THRESHOLD: usize = 1000;

/// A kube-proxy configuration value kube-proxy itself would refuse at startup.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// `--iptables-masquerade-bit` outside 0..=31.
    #[error("iptables.masqueradeBit: must be in the range 0..=31, got {0}")]
    MasqueradeBit(u8),
    /// Empty node name.
    #[error("hostnameOverride: the node name must not be empty")]
    EmptyNodeName,
    /// No node IP to use as the primary node IP.
    #[error("nodeIPs: at least one node IP is required")]
    NoNodeIp,
    /// `minSyncPeriod` longer than `syncPeriod` (upstream validation).
    #[error("iptables.minSyncPeriod: must be no greater than iptables.syncPeriod ({min}ns > {max}ns)")]
    SyncPeriods {
        /// `minSyncPeriod` in nanoseconds.
        min: u64,
        /// `syncPeriod` in nanoseconds.
        max: u64,
    },
    /// `syncPeriod` of zero (upstream requires it to be positive).
    #[error("iptables.syncPeriod: must be greater than 0")]
    ZeroSyncPeriod,
    /// Explicit `nodePortAddresses` with no CIDR at all.
    #[error("nodePortAddresses: an explicit list must contain at least one CIDR")]
    EmptyNodePortAddresses,
    /// `ipvs.scheduler` not in upstream's list (`validateIPVSSchedulerMethod`).
    #[error(
        "ipvs.scheduler: Invalid value: {0:?}: must be in [rr wrr lc wlc lblc lblcr sh dh sed nq ], blank means the default algorithm method (currently rr)"
    )]
    IpvsScheduler(String),
    /// An `ipvs.excludeCIDRs` entry that is no CIDR (`validateIPVSExcludeCIDRs`).
    #[error("ipvs.excludeCIDRs: Invalid value: {0:?}: must be a valid IP block")]
    IpvsExcludeCidr(String),
}

/// `ipvs.scheduler` as kube-proxy accepts it: one of upstream's methods, blank for `rr`.
pub fn parse_ipvs_scheduler(s: &str) -> Result<sim_net::ipvs::SchedName, ConfigError> {
    use sim_net::ipvs::SchedName;
    const ACCEPTED: [&str; 10] = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh", "sed", "nq"];
    if s.is_empty() {
        return Ok(SchedName::Rr);
    }
    SchedName::parse(s)
        .filter(|_| ACCEPTED.contains(&s))
        .ok_or_else(|| ConfigError::IpvsScheduler(s.to_string()))
}

/// `ipvs.tcpTimeout`, `tcpFinTimeout`, `udpTimeout` in seconds (upstream passes the durations
/// to `ipvs.ConfigureTimeouts`, which netlink sends as whole seconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpvsTimeouts {
    /// TCP ESTABLISHED.
    pub tcp: u64,
    /// TCP FIN_WAIT.
    pub tcp_fin: u64,
    /// UDP.
    pub udp: u64,
}

impl IpvsTimeouts {
    /// Whether kube-proxy calls `ConfigureTimeouts` at all (any value non-zero).
    pub fn any(&self) -> bool {
        self.tcp > 0 || self.tcp_fin > 0 || self.udp > 0
    }
}

/// Applies a KubeProxyConfiguration's `ipvs:` section to a kube-proxy in IPVS mode (other
/// modes ignore it, as kube-proxy does): scheduler, strictARP, timeouts, excludeCIDRs, and the
/// section's sync periods, which are the IPVS proxier's. Values the config validation
/// (`crate::validation`) refuses are refused here too, for callers that skip it.
pub fn apply_ipvs_section(
    c: &mut ProxyConfig,
    ipvs: &crate::api::proxy_config::IpvsConfig,
) -> Result<(), ConfigError> {
    if c.mode != ProxyMode::Ipvs {
        return Ok(());
    }
    if let Some(s) = &ipvs.scheduler {
        c.ipvs_scheduler = parse_ipvs_scheduler(s)?;
    }
    c.ipvs_strict_arp = ipvs.strict_arp.unwrap_or(false);
    let secs = |d: Option<crate::api::duration::GoDuration>| {
        d.map_or(0, |d| u64::try_from(d.as_secs()).unwrap_or(0))
    };
    c.ipvs_timeouts = IpvsTimeouts {
        tcp: secs(ipvs.tcp_timeout),
        tcp_fin: secs(ipvs.tcp_fin_timeout),
        udp: secs(ipvs.udp_timeout),
    };
    c.ipvs_exclude_cidrs = Vec::new();
    for cidr in &ipvs.exclude_cidrs {
        match cidr.parse::<Ipv4Net>() {
            Ok(n) => c.ipvs_exclude_cidrs.push(n),
            // An IPv6 CIDR is valid but excludes nothing on an IPv4-only node.
            Err(_) if cidr.parse::<ipnet::IpNet>().is_ok() => {}
            Err(_) => return Err(ConfigError::IpvsExcludeCidr(cidr.clone())),
        }
    }
    if let Some(d) = ipvs.sync_period.filter(|d| d.as_nanos() > 0) {
        c.sync_period = d.to_sim();
    }
    if let Some(d) = ipvs.min_sync_period.filter(|d| d.as_nanos() >= 0) {
        c.min_sync_period = d.to_sim();
    } else if c.min_sync_period > c.sync_period {
        // Upstream's IPVS minSyncPeriod defaults to 0: a short ipvs.syncPeriod alone is valid.
        c.min_sync_period = c.sync_period;
    }
    Ok(())
}

impl ProxyConfig {
    /// Upstream `isIPInExcludeCIDRs`.
    pub fn ip_in_exclude_cidrs(&self, ip: Ipv4Addr) -> bool {
        self.ipvs_exclude_cidrs.iter().any(|c| c.contains(&ip))
    }
}

/// How kube-proxy tells pod traffic from other traffic (`--detect-local-mode`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum LocalTrafficDetector {
    /// No detector (`IsImplemented() == false`): no masquerade rule for off-cluster traffic.
    #[default]
    None,
    /// `ClusterCIDR`: sources inside `--cluster-cidr` are pods.
    ClusterCidr(Ipv4Net),
    /// `NodeCIDR`: sources inside this node's `podCIDR` are (local) pods.
    NodeCidr(Ipv4Net),
    /// `InterfaceNamePrefix`: packets arriving on `<prefix>+` interfaces are from pods.
    InterfaceNamePrefix(String),
}

impl LocalTrafficDetector {
    /// Whether the detector writes any match (upstream `IsImplemented`).
    pub fn is_implemented(&self) -> bool {
        !matches!(self, LocalTrafficDetector::None)
    }
    /// The match for "from a pod" (upstream `IfLocal`), e.g. `-s 10.0.0.0/8`.
    pub fn if_local(&self) -> String {
        match self {
            LocalTrafficDetector::None => String::new(),
            LocalTrafficDetector::ClusterCidr(c) | LocalTrafficDetector::NodeCidr(c) => {
                format!("-s {}", c.trunc())
            }
            LocalTrafficDetector::InterfaceNamePrefix(p) => format!("-i {p}+"),
        }
    }
    /// The match for "not from a pod" (upstream `IfNotLocal`), e.g. `! -s 10.0.0.0/8`.
    pub fn if_not_local(&self) -> String {
        match self {
            LocalTrafficDetector::None => String::new(),
            _ => format!("! {}", self.if_local()),
        }
    }
}

/// `--nodeport-addresses`: which node addresses accept NodePort traffic.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum NodePortAddresses {
    /// Unset (or containing `0.0.0.0/0`): every local address (`-m addrtype --dst-type LOCAL`).
    #[default]
    All,
    /// `primary`: only the node's primary IPs (kube-proxy turns them into /32 CIDRs).
    Primary,
    /// Explicit CIDRs; matching interface addresses get one `-d <ip>` rule each.
    Cidrs(Vec<Ipv4Net>),
}

/// `--nodeport-addresses` resolved the way `proxyutil.NewNodePortAddresses` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedNodePortAddresses {
    /// Every local address matches.
    pub match_all: bool,
    /// The CIDRs to match interface addresses against (unused when `match_all`).
    pub cidrs: Vec<Ipv4Net>,
    /// Whether 127.0.0.0/8 is covered (otherwise localhost NodePorts are forced off).
    pub contains_ipv4_loopback: bool,
}

impl ResolvedNodePortAddresses {
    /// Resolves the flag given the node's primary IPs.
    pub fn resolve(addresses: &NodePortAddresses, node_ips: &[Ipv4Addr]) -> Self {
        let cidrs: Vec<Ipv4Net> = match addresses {
            NodePortAddresses::All => Vec::new(),
            NodePortAddresses::Primary => {
                node_ips.iter().filter_map(|ip| Ipv4Net::new(*ip, 32).ok()).collect()
            }
            NodePortAddresses::Cidrs(c) => c.iter().map(Ipv4Net::trunc).collect(),
        };
        let cidrs = if cidrs.is_empty() { vec![Ipv4Net::default()] } else { cidrs };
        let loopback = Ipv4Addr::new(127, 0, 0, 0);
        let mut out =
            ResolvedNodePortAddresses { match_all: false, cidrs: Vec::new(), contains_ipv4_loopback: false };
        for cidr in cidrs {
            if cidr.addr().is_loopback() || cidr.contains(&loopback) {
                out.contains_ipv4_loopback = true;
            }
            if cidr.prefix_len() == 0 {
                out.cidrs = vec![cidr];
                out.match_all = true;
                break;
            }
            out.cidrs.push(cidr);
        }
        out
    }

    /// Upstream `GetNodeIPs`: the interface addresses inside any CIDR, deduplicated (and
    /// sorted, where upstream returns map order).
    pub fn node_ips(&self, interface_addrs: &[Ipv4Addr]) -> Vec<Ipv4Addr> {
        let mut ips: Vec<Ipv4Addr> =
            interface_addrs.iter().copied().filter(|ip| self.cidrs.iter().any(|c| c.contains(ip))).collect();
        ips.sort();
        ips.dedup();
        ips
    }
}

/// `mode`: which proxier programs the node's dataplane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProxyMode {
    /// `iptables` (the Linux default, also for an empty mode).
    #[default]
    Iptables,
    /// `ipvs`: IPVS virtual servers plus a fixed set of iptables rules over ipsets
    /// ([`super::ipvs`]).
    Ipvs,
    /// `nftables`: one `nft -f` transaction for the `ip kube-proxy` table
    /// ([`super::nftables`]).
    Nftables,
}

impl ProxyMode {
    /// The mode an API `mode:` value selects (`None` for modes netsim does not run).
    pub fn from_api(m: &crate::api::proxy_config::ProxyMode) -> Option<ProxyMode> {
        use crate::api::proxy_config::ProxyMode as Api;
        match m {
            Api::Iptables | Api::Default => Some(ProxyMode::Iptables),
            Api::Ipvs => Some(ProxyMode::Ipvs),
            Api::Nftables => Some(ProxyMode::Nftables),
            _ => None,
        }
    }

    /// The mode as kube-proxy's `--proxy-mode` spells it.
    pub fn name(self) -> &'static str {
        match self {
            ProxyMode::Iptables => "iptables",
            ProxyMode::Ipvs => "ipvs",
            ProxyMode::Nftables => "nftables",
        }
    }
}

/// Everything about this node's kube-proxy that shapes the generated rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyConfig {
    /// `mode` (default iptables).
    pub mode: ProxyMode,
    /// `ipvs.scheduler` (default `rr`): the scheduler of every IPVS virtual server.
    pub ipvs_scheduler: sim_net::ipvs::SchedName,
    /// `ipvs.strictARP`: kube-proxy sets `net.ipv4.conf.all.arp_ignore=1` and
    /// `arp_announce=2` at start-up.
    pub ipvs_strict_arp: bool,
    /// `ipvs.tcpTimeout`, `tcpFinTimeout`, `udpTimeout` in whole seconds (0: the kernel's
    /// value stays); set with `ipvsadm --set` semantics at start-up when any is non-zero.
    pub ipvs_timeouts: IpvsTimeouts,
    /// `ipvs.excludeCIDRs`: virtual servers (and kube-ipvs0 addresses) inside these are left
    /// alone by the cleanup of stale services.
    pub ipvs_exclude_cidrs: Vec<Ipv4Net>,
    /// `--hostname-override` / node name; endpoints with this `nodeName` are local.
    pub node_name: String,
    /// The node's primary IPs (the first is upstream's `nodeIP`, used for
    /// loadBalancerSourceRanges "allow from node").
    pub node_ips: Vec<Ipv4Addr>,
    /// Every address configured on the node's interfaces, including 127.0.0.1; consulted only
    /// for explicit `nodePortAddresses` CIDRs.
    pub interface_addrs: Vec<Ipv4Addr>,
    /// `--detect-local-mode` and its CIDR.
    pub local_detector: LocalTrafficDetector,
    /// `--masquerade-all`: SNAT every ClusterIP connection.
    pub masquerade_all: bool,
    /// `--iptables-masquerade-bit` (0..=31; default 14 → mark 0x4000).
    pub masquerade_bit: u8,
    /// `--nodeport-addresses`.
    pub node_port_addresses: NodePortAddresses,
    /// `iptables.localhostNodePorts` (default true).
    pub localhost_node_ports: bool,
    /// iptables supports `MASQUERADE --random-fully` (true on any current distribution).
    pub random_fully: bool,
    /// The `nfacct` counters could be created (kube-proxy 1.29+ on a kernel with
    /// `nfnetlink_acct`, the common case, and upstream's test fake): adds `-m nfacct` to the
    /// INVALID-drop rule and a localhost NodePort rule per NodePort. Default on.
    pub nfacct: bool,
    /// `net.netfilter.nf_conntrack_tcp_be_liberal` is set: no INVALID-drop rule.
    pub conntrack_tcp_be_liberal: bool,
    /// `--iptables-min-sync-period`.
    pub min_sync_period: SimDuration,
    /// `--iptables-sync-period`.
    pub sync_period: SimDuration,
}

impl ProxyConfig {
    /// A node's kube-proxy with upstream defaults and the given cluster CIDR as local-traffic
    /// detector (`None` for no detector).
    pub fn new(node_name: &str, node_ip: Ipv4Addr, cluster_cidr: Option<Ipv4Net>) -> Self {
        ProxyConfig {
            mode: ProxyMode::Iptables,
            ipvs_scheduler: sim_net::ipvs::SchedName::Rr,
            ipvs_strict_arp: false,
            ipvs_timeouts: IpvsTimeouts::default(),
            ipvs_exclude_cidrs: Vec::new(),
            node_name: node_name.to_owned(),
            node_ips: vec![node_ip],
            interface_addrs: vec![Ipv4Addr::LOCALHOST, node_ip],
            local_detector: cluster_cidr
                .map_or(LocalTrafficDetector::None, LocalTrafficDetector::ClusterCidr),
            masquerade_all: false,
            masquerade_bit: DEFAULT_MASQUERADE_BIT,
            node_port_addresses: NodePortAddresses::All,
            localhost_node_ports: true,
            random_fully: true,
            nfacct: true,
            conntrack_tcp_be_liberal: false,
            min_sync_period: DEFAULT_MIN_SYNC_PERIOD,
            sync_period: DEFAULT_SYNC_PERIOD,
        }
    }

    /// Checks the values kube-proxy's config validation (`pkg/proxy/apis/config/validation`)
    /// would reject. [`super::sync()`] assumes a valid configuration (an out-of-range
    /// masquerade bit is reduced modulo 32 there rather than panicking).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.masquerade_bit > 31 {
            return Err(ConfigError::MasqueradeBit(self.masquerade_bit));
        }
        if self.node_name.is_empty() {
            return Err(ConfigError::EmptyNodeName);
        }
        if self.node_ips.is_empty() {
            return Err(ConfigError::NoNodeIp);
        }
        if self.sync_period == SimDuration::ZERO {
            return Err(ConfigError::ZeroSyncPeriod);
        }
        if self.min_sync_period > self.sync_period {
            return Err(ConfigError::SyncPeriods {
                min: self.min_sync_period.as_nanos(),
                max: self.sync_period.as_nanos(),
            });
        }
        if matches!(&self.node_port_addresses, NodePortAddresses::Cidrs(c) if c.is_empty()) {
            return Err(ConfigError::EmptyNodePortAddresses);
        }
        Ok(())
    }

    /// The mark value as kube-proxy writes it: Go's `%#08x` of `1 << bit`, i.e.
    /// `0x00004000` (the `0x` does not count toward the width in Go).
    pub fn masquerade_mark(&self) -> String {
        format!("{:#010x}", 1u32 << (self.masquerade_bit & 31))
    }

    /// Whether kube-proxy sets `net.ipv4.conf.all.route_localnet=1` at startup (it does when
    /// localhost NodePorts are effectively on), which lets 127.0.0.0/8 destinations be DNATed
    /// off the host.
    pub fn sets_route_localnet(&self) -> bool {
        let npa = ResolvedNodePortAddresses::resolve(&self.node_port_addresses, &self.node_ips);
        self.effective_localhost_node_ports(&npa)
    }

    /// `localhostNodePorts` after `NewProxier` forces it off when `--nodeport-addresses`
    /// does not cover 127.0.0.0/8.
    pub fn effective_localhost_node_ports(&self, npa: &ResolvedNodePortAddresses) -> bool {
        self.localhost_node_ports && npa.contains_ipv4_loopback
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn masquerade_mark_uses_go_width_rules() {
        let mut c = ProxyConfig::new("n", Ipv4Addr::new(192, 168, 0, 2), None);
        assert_eq!(c.masquerade_mark(), "0x00004000");
        c.masquerade_bit = 0;
        assert_eq!(c.masquerade_mark(), "0x00000001");
    }

    #[test]
    fn validation_errors() {
        let ok = ProxyConfig::new("n", Ipv4Addr::new(192, 168, 0, 2), None);
        assert_eq!(ok.validate(), Ok(()));
        let mut c = ok.clone();
        c.masquerade_bit = 32;
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "iptables.masqueradeBit: must be in the range 0..=31, got 32"
        );
        let mut c = ok.clone();
        c.min_sync_period = SimDuration::from_secs(60);
        assert!(matches!(c.validate(), Err(ConfigError::SyncPeriods { .. })));
        let mut c = ok.clone();
        c.node_name.clear();
        assert_eq!(c.validate(), Err(ConfigError::EmptyNodeName));
        let mut c = ok;
        c.node_port_addresses = NodePortAddresses::Cidrs(Vec::new());
        assert_eq!(c.validate(), Err(ConfigError::EmptyNodePortAddresses));
    }

    #[test]
    fn route_localnet_follows_localhost_node_ports() {
        let mut c = ProxyConfig::new("n", Ipv4Addr::new(192, 168, 0, 2), None);
        assert!(c.sets_route_localnet());
        c.node_port_addresses = NodePortAddresses::Primary;
        assert!(!c.sets_route_localnet(), "127/8 not covered by the node's primary IP");
        c.node_port_addresses = NodePortAddresses::All;
        c.localhost_node_ports = false;
        assert!(!c.sets_route_localnet());
    }

    #[test]
    fn ipvs_scheduler_in_upstream_words() {
        assert_eq!(parse_ipvs_scheduler(""), Ok(sim_net::ipvs::SchedName::Rr));
        assert_eq!(parse_ipvs_scheduler("wlc"), Ok(sim_net::ipvs::SchedName::Wlc));
        assert_eq!(
            parse_ipvs_scheduler("mh").unwrap_err().to_string(),
            "ipvs.scheduler: Invalid value: \"mh\": must be in [rr wrr lc wlc lblc lblcr sh dh sed nq ], blank means the default algorithm method (currently rr)"
        );
    }

    // The ipvs: section counts only in IPVS mode; its sync periods are the IPVS proxier's.
    #[test]
    fn ipvs_section_applies_in_ipvs_mode() {
        let doc: crate::api::proxy_config::IpvsConfig = serde_json::from_value(serde_json::json!({
            "scheduler": "lc", "strictARP": true, "tcpTimeout": "1h0m0s", "tcpFinTimeout": "0s",
            "udpTimeout": "1m30.5s", "excludeCIDRs": ["10.0.0.0/8", "fd00::/64"],
            "syncPeriod": "10s", "minSyncPeriod": "2s"
        }))
        .unwrap();
        let mut c = ProxyConfig::new("n", Ipv4Addr::new(192, 168, 0, 2), None);
        apply_ipvs_section(&mut c, &doc).unwrap();
        assert_eq!(c, ProxyConfig::new("n", Ipv4Addr::new(192, 168, 0, 2), None), "iptables mode ignores it");
        c.mode = ProxyMode::Ipvs;
        apply_ipvs_section(&mut c, &doc).unwrap();
        assert_eq!(c.ipvs_scheduler, sim_net::ipvs::SchedName::Lc);
        assert!(c.ipvs_strict_arp);
        assert_eq!(c.ipvs_timeouts, IpvsTimeouts { tcp: 3600, tcp_fin: 0, udp: 90 });
        assert_eq!(c.ipvs_exclude_cidrs, vec![net("10.0.0.0/8")]);
        assert!(c.ip_in_exclude_cidrs(Ipv4Addr::new(10, 96, 0, 1)));
        assert!(!c.ip_in_exclude_cidrs(Ipv4Addr::new(192, 168, 0, 2)));
        assert_eq!(
            (c.sync_period, c.min_sync_period),
            (SimDuration::from_secs(10), SimDuration::from_secs(2))
        );
        let bad = crate::api::proxy_config::IpvsConfig { exclude_cidrs: vec!["10.1.2.3".into()], ..doc };
        assert_eq!(
            apply_ipvs_section(&mut c, &bad).unwrap_err().to_string(),
            "ipvs.excludeCIDRs: Invalid value: \"10.1.2.3\": must be a valid IP block"
        );
    }

    #[test]
    fn detector_matches() {
        let d = LocalTrafficDetector::ClusterCidr(net("10.0.0.0/8"));
        assert_eq!(d.if_local(), "-s 10.0.0.0/8");
        assert_eq!(d.if_not_local(), "! -s 10.0.0.0/8");
        let i = LocalTrafficDetector::InterfaceNamePrefix("veth".into());
        assert_eq!(i.if_not_local(), "! -i veth+");
        assert!(!LocalTrafficDetector::None.is_implemented());
    }

    // Mirrors upstream nodeport_addresses_test.go cases: empty → match all (with loopback),
    // explicit CIDRs, zero CIDR wins.
    #[test]
    fn node_port_addresses_resolution() {
        let ip = Ipv4Addr::new(192, 168, 0, 2);
        let all = ResolvedNodePortAddresses::resolve(&NodePortAddresses::All, &[ip]);
        assert!(all.match_all && all.contains_ipv4_loopback);

        let primary = ResolvedNodePortAddresses::resolve(&NodePortAddresses::Primary, &[ip]);
        assert!(!primary.match_all && !primary.contains_ipv4_loopback);
        assert_eq!(primary.node_ips(&[Ipv4Addr::LOCALHOST, ip, Ipv4Addr::new(10, 1, 1, 1)]), vec![ip]);

        let cidrs = NodePortAddresses::Cidrs(vec![net("127.0.0.0/8"), net("192.168.0.0/16")]);
        let r = ResolvedNodePortAddresses::resolve(&cidrs, &[ip]);
        assert!(r.contains_ipv4_loopback && !r.match_all);
        assert_eq!(r.node_ips(&[ip, Ipv4Addr::LOCALHOST, ip]), vec![Ipv4Addr::LOCALHOST, ip]);

        let zero = NodePortAddresses::Cidrs(vec![net("192.168.0.0/16"), net("0.0.0.0/0")]);
        assert!(ResolvedNodePortAddresses::resolve(&zero, &[ip]).match_all);
    }
}
