//! kube-proxy in IPVS mode (upstream `pkg/proxy/ipvs/proxier.go` `syncProxyRules`, 1.31+).
//! From the same view the iptables proxier reads (service ports, endpoints, this node's
//! [`ProxyConfig`]) one sync computes what the node should hold, then [`apply`] brings the
//! node there by difference, as upstream does against the kernel:
//!
//! - the dummy interface `kube-ipvs0` (left down) with every ClusterIP, externalIP and
//!   LoadBalancer ingress IP bound as a /32, so the kernel takes them as local and IPVS sees
//!   them at LOCAL_IN (an externalIP or LB IP that is already a node address is not bound);
//! - one IPVS virtual server per service port per address: the ClusterIP, each externalIP,
//!   each LB ingress IP, and the NodePort on every node address kube-proxy selects (all the
//!   node's addresses except kube-ipvs0's and loopback, or those inside `nodePortAddresses`),
//!   scheduler `ipvs.scheduler` (default `rr`), `-p TIMEOUT` for `sessionAffinity: ClientIP`,
//!   real servers the endpoints upstream's `CategorizeEndpoints` picks (Local policies: the
//!   local ones, else the cluster ones, as upstream PR 97081 does), Masq, weight 1;
//! - the ipsets of [`ipset::SETS`] with their members, and the fixed iptables rules of
//!   [`rules`] that match them (masquerade marks, the KUBE-IPVS-FILTER guard, forwarding);
//! - the sysctls kube-proxy sets at start-up: `net.ipv4.vs.conntrack`,
//!   `vs.expire_nodest_conn`, `vs.expire_quiescent_template`, `ip_forward`, and with
//!   `ipvs.strictARP` `net.ipv4.conf.all.arp_ignore=1` / `arp_announce=2`; the IPVS timeouts
//!   `ipvs.tcpTimeout` / `tcpFinTimeout` / `udpTimeout` when any is non-zero (`ipvsadm --set`);
//! - the cleanup of stale virtual servers (`cleanLegacyService`) skips those whose address is
//!   inside `ipvs.excludeCIDRs` (`isIPInExcludeCIDRs`), and their kube-ipvs0 addresses.
//!
//! A real server that is no longer wanted goes through upstream's graceful termination: a TCP
//! one with connections gets weight 0 (no new connections; existing ones go on) and is deleted
//! by a later sync once its connections are gone; one without connections, or a UDP/SCTP one,
//! is deleted at once. A wanted server found at weight 0 is deleted and re-added at weight 1
//! (`MoveRSOutofGracefulDeleteList`).
//!
//! Packets never see this module: they go through `sim-net`'s IPVS engine (LOCAL_IN), its
//! ipset and iptables engines, exactly as loaded.
//!
//! Where netsim departs from upstream:
//! - IPv4 only; no dual stack, no topology hints.
//! - The start-up settings (strictARP sysctls, IPVS timeouts) are written by the first sync
//!   (the one that creates kube-ipvs0) rather than by `NewProxier`; a sync after kube-ipvs0 was
//!   deleted by hand writes them again.
//! - An address inside `excludeCIDRs` is never unbound from kube-ipvs0 (upstream's test
//!   `TestCleanLegacyService` keeps them; its newer address sync would unbind them).
//! - Virtual servers, ipsets and real servers are visited in sorted order (upstream ranges
//!   over Go maps).
//! - The `mh` scheduler's source-hash flag is not set (the engine has no scheduler flags);
//!   kube-proxy's validation refuses `mh` anyway, as upstream's list does.
//! - Graceful termination is checked at each sync instead of upstream's one-minute loop.
//! - kubelet's KUBE-FIREWALL and KUBE-KUBELET-CANARY chains are not written in IPVS mode.
//! - The IPVS side (virtual servers, kube-ipvs0, sysctls) is applied when the sync runs; the
//!   ipsets and iptables rules are loaded when something first needs them
//!   ([`sim_net::host::Host::defer_rules`]), as the iptables mode's rules are.

pub mod apply;
pub mod ipset;
pub mod rules;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddrV4};

use sim_net::ipvs::{IpvsProto, Persistence, ServiceKey, VirtualService};

use super::config::{ProxyConfig, ResolvedNodePortAddresses};
use super::endpoint::{Endpoint, EndpointsMap, categorize, sorted_endpoints};
use super::healthcheck::{HealthCheckServer, health_check_servers};
use super::service_port::{ServicePortInfo, ServiceProtocol};
use ipset::SetEntries;

/// The dummy interface service addresses are bound to (upstream `defaultDummyDevice`).
pub const DUMMY_DEVICE: &str = "kube-ipvs0";

/// A virtual server one sync wants, with its real servers (Masq, weight 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WantedService {
    /// Address, port, protocol, scheduler and persistence.
    pub config: VirtualService,
    /// The real servers.
    pub dests: BTreeSet<SocketAddrV4>,
    /// The service port it serves (`default/my-nginx:http`), for messages.
    pub service: String,
}

/// The ipsets and iptables rules of one sync: what [`apply::load_rules`] loads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsRules {
    /// The members of every set.
    pub sets: SetEntries,
    /// `*nat` … `COMMIT` restore input.
    pub nat: String,
    /// `*filter` … `COMMIT` restore input.
    pub filter: String,
}

impl IpvsRules {
    /// The buffer kube-proxy passes to `iptables-restore --noflush` (nat first, as upstream
    /// writes it).
    pub fn restore_input(&self) -> String {
        format!("{}{}", self.nat, self.filter)
    }

    /// Restore input that builds, in empty tables, the node's state after this sync:
    /// built-in chains, the ensured jumps, then the restore input.
    pub fn initial_restore(&self) -> String {
        rules::initial_restore(&self.nat, &self.filter)
    }
}

/// What one IPVS sync wants on the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsSync {
    /// Addresses bound to kube-ipvs0.
    pub bind_addrs: BTreeSet<Ipv4Addr>,
    /// Virtual servers by key.
    pub services: BTreeMap<ServiceKey, WantedService>,
    /// ipsets and iptables rules.
    pub rules: IpvsRules,
    /// Health-check servers kube-proxy runs after this sync.
    pub health_checks: Vec<HealthCheckServer>,
    /// What kube-proxy sets once, at start-up (`NewProxier`): strictARP and the timeouts.
    pub startup: Startup,
    /// `ipvs.excludeCIDRs`: the cleanup leaves virtual servers and kube-ipvs0 addresses
    /// inside these alone.
    pub exclude_cidrs: Vec<ipnet::Ipv4Net>,
}

/// The node settings kube-proxy's IPVS proxier writes at start-up (upstream `NewProxier`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Startup {
    /// `ipvs.strictARP`: `net.ipv4.conf.all.arp_ignore=1`, `arp_announce=2`.
    pub strict_arp: bool,
    /// `ipvs.tcpTimeout` / `tcpFinTimeout` / `udpTimeout` (`ipvs.ConfigureTimeouts` when any
    /// is non-zero; a zero one keeps the kernel's, as `ipvsadm --set` does).
    pub timeouts: super::config::IpvsTimeouts,
}

impl IpvsSync {
    /// The virtual servers as `ipvsadm -Ln` lines without counters (`TCP  10.96.0.1:443 rr`,
    /// `  -> 10.244.1.3:80`), in listing order: a compact view for tests.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for w in self.services.values() {
            let k = w.config.key;
            s.push_str(&format!("{}  {}:{} {}", k.proto, k.addr, k.port, w.config.scheduler));
            if let Some(p) = w.config.persistence {
                s.push_str(&format!(" persistent {}", p.timeout));
            }
            s.push('\n');
            for d in &w.dests {
                s.push_str(&format!("  -> {d}\n"));
            }
        }
        s
    }
}

fn ipvs_proto(p: ServiceProtocol) -> IpvsProto {
    match p {
        ServiceProtocol::Tcp => IpvsProto::Tcp,
        ServiceProtocol::Udp => IpvsProto::Udp,
        ServiceProtocol::Sctp => IpvsProto::Sctp,
    }
}

/// The node addresses kube-proxy sees besides kube-ipvs0's (upstream
/// `GetAllLocalAddressesExcept(kube-ipvs0)`, loopback filtered), sorted.
fn node_address_set(config: &ProxyConfig) -> BTreeSet<Ipv4Addr> {
    config.interface_addrs.iter().copied().filter(|a| !a.is_loopback()).collect()
}

/// The addresses NodePort virtual servers are created on.
pub fn node_port_ips(config: &ProxyConfig) -> Vec<Ipv4Addr> {
    let npa = ResolvedNodePortAddresses::resolve(&config.node_port_addresses, &config.node_ips);
    if npa.match_all {
        node_address_set(config).into_iter().collect()
    } else {
        npa.node_ips(&config.interface_addrs).into_iter().filter(|a| !a.is_loopback()).collect()
    }
}

/// One sync: what the node should hold for `services` and `endpoints`.
pub fn sync(config: &ProxyConfig, services: &[ServicePortInfo], endpoints: &EndpointsMap) -> IpvsSync {
    let node = config.node_name.as_str();
    let node_addrs = node_address_set(config);
    let has_node_port = services.iter().any(|s| s.node_port.is_some());
    let node_ips = if has_node_port { node_port_ips(config) } else { Vec::new() };
    let node_ip = config.node_ips.first().copied();
    let mut sets = SetEntries::new();
    let mut bind_addrs = BTreeSet::new();
    let mut wanted: BTreeMap<ServiceKey, WantedService> = BTreeMap::new();
    let no_endpoints: Vec<Endpoint> = Vec::new();
    // Upstream `lbNoNodeAccessIPPortProtocolEntries`: LB addresses whose source ranges leave
    // out the node IP, blocked from the node itself in KUBE-IPVS-OUT-FILTER.
    let mut lb_no_node_access: Vec<rules::LbNoNodeAccess> = Vec::new();

    for svc in services {
        let proto = svc.name.protocol.lower();
        let name = svc.name.to_string();
        let eps = endpoints.get(&svc.name).unwrap_or(&no_endpoints);
        let sorted: Vec<&Endpoint> = sorted_endpoints(eps, node).into_iter().map(|(_, e)| e).collect();
        let cat = categorize(&sorted, svc, node);
        let dests = |only_local: bool| -> BTreeSet<SocketAddrV4> {
            let chosen = if only_local && !cat.local.is_empty() { &cat.local } else { &cat.cluster };
            chosen.iter().map(|e| SocketAddrV4::new(e.ip, e.port)).collect()
        };
        let mut add = |addr: Ipv4Addr, port: u16, only_local: bool| {
            let key = ServiceKey { proto: ipvs_proto(svc.name.protocol), addr, port };
            let mut vs = VirtualService::new(key, config.ipvs_scheduler);
            if let Some(t) = svc.sticky_max_age_seconds() {
                vs = vs.persistent(Persistence::new(t));
            }
            wanted.insert(key, WantedService { config: vs, dests: dests(only_local), service: name.clone() });
        };

        for e in sorted.iter().filter(|e| e.is_local(node)) {
            sets.insert(ipset::LOOP_BACK, format!("{},{proto}:{},{}", e.ip, e.port, e.ip));
        }

        sets.insert(ipset::CLUSTER_IP, format!("{},{proto}:{}", svc.cluster_ip, svc.port));
        add(svc.cluster_ip, svc.port, svc.internal_policy_local());
        bind_addrs.insert(svc.cluster_ip);

        for &ip in &svc.external_ips {
            let set = if svc.external_policy_local() { ipset::EXTERNAL_IP_LOCAL } else { ipset::EXTERNAL_IP };
            sets.insert(set, format!("{ip},{proto}:{}", svc.port));
            add(ip, svc.port, svc.external_policy_local());
            if !node_addrs.contains(&ip) {
                bind_addrs.insert(ip);
            }
        }

        for &ip in &svc.load_balancer_ips {
            let entry = format!("{ip},{proto}:{}", svc.port);
            sets.insert(ipset::LOAD_BALANCER, entry.clone());
            if svc.external_policy_local() {
                sets.insert(ipset::LOAD_BALANCER_LOCAL, entry.clone());
            }
            if !svc.load_balancer_source_ranges.is_empty() {
                sets.insert(ipset::LOAD_BALANCER_FW, entry.clone());
                let mut allow_from_node = false;
                for cidr in &svc.load_balancer_source_ranges {
                    sets.insert(ipset::LOAD_BALANCER_SOURCE_CIDR, format!("{entry},{}", cidr.trunc()));
                    allow_from_node |= node_ip.is_some_and(|n| cidr.contains(&n));
                }
                if allow_from_node {
                    sets.insert(ipset::LOAD_BALANCER_SOURCE_IP, format!("{entry},{ip}"));
                } else {
                    lb_no_node_access.push(rules::LbNoNodeAccess { ip, proto, port: svc.port });
                }
            }
            add(ip, svc.port, svc.external_policy_local());
            if !node_addrs.contains(&ip) {
                bind_addrs.insert(ip);
            }
        }

        if let Some(np) = svc.node_port
            && !node_ips.is_empty()
        {
            let local = svc.external_policy_local();
            match svc.name.protocol {
                ServiceProtocol::Tcp => {
                    sets.insert(ipset::NODE_PORT_TCP, np.to_string());
                    if local {
                        sets.insert(ipset::NODE_PORT_LOCAL_TCP, np.to_string());
                    }
                }
                ServiceProtocol::Udp => {
                    sets.insert(ipset::NODE_PORT_UDP, np.to_string());
                    if local {
                        sets.insert(ipset::NODE_PORT_LOCAL_UDP, np.to_string());
                    }
                }
                ServiceProtocol::Sctp => {
                    for ip in &node_ips {
                        sets.insert(ipset::NODE_PORT_SCTP, format!("{ip},sctp:{np}"));
                        if local {
                            sets.insert(ipset::NODE_PORT_LOCAL_SCTP, format!("{ip},sctp:{np}"));
                        }
                    }
                }
            }
            for &ip in &node_ips {
                add(ip, np, local);
            }
        }

        if let Some(hc) = svc.effective_health_check_node_port() {
            sets.insert(ipset::HEALTH_CHECK_NODE_PORT, hc.to_string());
        }
    }
    for a in &bind_addrs {
        sets.insert(ipset::IPVS_IPS, a.to_string());
    }
    let (nat, filter) = rules::write(config, &sets, &lb_no_node_access);
    let hc_services: Vec<&ServicePortInfo> = services.iter().collect();
    let health_checks = health_check_servers(config, &hc_services, endpoints);
    IpvsSync {
        bind_addrs,
        services: wanted,
        rules: IpvsRules { sets, nat, filter },
        health_checks,
        startup: Startup { strict_arp: config.ipvs_strict_arp, timeouts: config.ipvs_timeouts },
        exclude_cidrs: config.ipvs_exclude_cidrs.clone(),
    }
}
