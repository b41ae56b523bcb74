//! One nftables-mode sync (upstream `setupNFTables`, `syncProxyRules` and
//! `writeServiceToEndpointRules` in `pkg/proxy/nftables/proxier.go`): the rules every service
//! port needs on this node ([`Desired`]), and the `nft -f` transaction that loads them, either
//! in full ([`full_sync`]: table, base chains, sets and maps, every service) or partially
//! ([`partial_sync`]: only the chains of service ports whose rules changed, and the map
//! elements that differ), as knftables writes it (`add chain`, `flush chain`, `add rule`,
//! `add element ... { KEY comment "..." : VERDICT }`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use indexmap::IndexMap;
use ipnet::Ipv4Net;

use super::names::{
    self, AFFINITY_PREFIX, ENDPOINT_PREFIX, EXTERNAL_PREFIX, FIREWALL_PREFIX, LOCAL_PREFIX, SERVICE_PREFIX,
};
use crate::kube_proxy::config::{LocalTrafficDetector, ProxyConfig, ResolvedNodePortAddresses};
use crate::kube_proxy::endpoint::{Endpoint, EndpointsMap, categorize, sorted_endpoints};
use crate::kube_proxy::service_port::{ServicePortInfo, ServicePortName};

/// kube-proxy's table (`ip kube-proxy`).
pub const TABLE: &str = "kube-proxy";
/// Service dispatch chain (jumped to from `nat-prerouting` and `nat-output`).
pub const SERVICES: &str = "services";
/// Marks a packet for masquerading.
pub const MARK_MASQ: &str = "mark-for-masquerade";
/// Masquerades marked packets (from `nat-postrouting`).
pub const MASQUERADING: &str = "masquerading";
/// The no-endpoints reject helper.
pub const REJECT_CHAIN: &str = "reject-chain";
/// loadBalancerSourceRanges check (pre-DNAT).
pub const FIREWALL_CHECK: &str = "firewall-check";
/// Rejects or drops traffic to services without (usable) endpoints.
pub const SERVICE_ENDPOINTS_CHECK: &str = "service-endpoints-check";
/// Rejects or drops traffic to node ports without (usable) endpoints.
pub const NODEPORT_ENDPOINTS_CHECK: &str = "nodeport-endpoints-check";
/// Rejects traffic to unused ports of cluster IPs, drops traffic to unallocated ones.
pub const CLUSTER_IPS_CHECK: &str = "cluster-ips-check";

/// Base chains: name, type, hook, priority (the filter chains before DNAT at `dstnat - 10`).
const BASE_CHAINS: [(&str, &str, &str, &str); 8] = [
    ("filter-prerouting-pre-dnat", "filter", "prerouting", "-110"),
    ("filter-output-pre-dnat", "filter", "output", "-110"),
    ("filter-input", "filter", "input", "0"),
    ("filter-forward", "filter", "forward", "0"),
    ("filter-output", "filter", "output", "0"),
    ("nat-prerouting", "nat", "prerouting", "-100"),
    ("nat-output", "nat", "output", "-100"),
    ("nat-postrouting", "nat", "postrouting", "100"),
];

/// Jump rules from base chains: target, base chain, match.
const JUMP_CHAINS: [(&str, &str, &str); 11] = [
    (NODEPORT_ENDPOINTS_CHECK, "filter-input", "ct state new "),
    (SERVICE_ENDPOINTS_CHECK, "filter-input", "ct state new "),
    (SERVICE_ENDPOINTS_CHECK, "filter-forward", "ct state new "),
    (SERVICE_ENDPOINTS_CHECK, "filter-output", "ct state new "),
    (FIREWALL_CHECK, "filter-prerouting-pre-dnat", "ct state new "),
    (FIREWALL_CHECK, "filter-output-pre-dnat", "ct state new "),
    (SERVICES, "nat-output", ""),
    (SERVICES, "nat-prerouting", ""),
    (MASQUERADING, "nat-postrouting", ""),
    (CLUSTER_IPS_CHECK, "filter-forward", "ct state new "),
    (CLUSTER_IPS_CHECK, "filter-output", "ct state new "),
];

/// The sets and maps kube-proxy fills per service port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Container {
    /// `cluster-ips` (set).
    ClusterIps,
    /// `service-ips` (verdict map).
    ServiceIps,
    /// `firewall-ips` (verdict map).
    FirewallIps,
    /// `no-endpoint-services` (verdict map).
    NoEndpointServices,
    /// `no-endpoint-nodeports` (verdict map).
    NoEndpointNodePorts,
    /// `service-nodeports` (verdict map).
    ServiceNodePorts,
}

impl Container {
    const ALL: [Container; 6] = [
        Container::ClusterIps,
        Container::ServiceIps,
        Container::FirewallIps,
        Container::NoEndpointServices,
        Container::NoEndpointNodePorts,
        Container::ServiceNodePorts,
    ];

    /// Its name in the table.
    pub const fn name(self) -> &'static str {
        match self {
            Container::ClusterIps => "cluster-ips",
            Container::ServiceIps => "service-ips",
            Container::FirewallIps => "firewall-ips",
            Container::NoEndpointServices => "no-endpoint-services",
            Container::NoEndpointNodePorts => "no-endpoint-nodeports",
            Container::ServiceNodePorts => "service-nodeports",
        }
    }

    const fn kind(self) -> &'static str {
        match self {
            Container::ClusterIps => "set",
            _ => "map",
        }
    }
}

/// One set or map element: key (`172.30.0.41 . tcp . 80`), value (`goto service-...`) and
/// comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElementSpec {
    /// The container.
    pub container: Container,
    /// The key, parts joined by ` . `.
    pub key: String,
    /// A map element's verdict.
    pub value: Option<String>,
    /// The element's comment.
    pub comment: Option<String>,
}

/// What one service port needs: its chains (in creation order, with their rules), its
/// affinity sets (name, timeout in seconds) and its set and map elements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceRules {
    /// Chains and rules.
    pub chains: IndexMap<String, Vec<String>>,
    /// Affinity sets.
    pub affinity_sets: Vec<(String, u32)>,
    /// Elements.
    pub elements: Vec<ElementSpec>,
}

/// Counts reported by a sync.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NftStats {
    /// Service ports.
    pub services: usize,
    /// Their endpoints.
    pub endpoints: usize,
    /// Per-service chains.
    pub chains: usize,
    /// Rules in them.
    pub rules: usize,
    /// Map and set elements.
    pub elements: usize,
}

/// Everything a node's kube-proxy wants in its table, per service port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Desired {
    /// Service ports in name order.
    pub services: BTreeMap<ServicePortName, ServiceRules>,
    /// Sizes.
    pub stats: NftStats,
}

type ElementKey = (Container, String);
type ElementValue = (Option<String>, Option<String>);

impl Desired {
    /// The rules for `services` and `endpoints` on node `config` (one entry per name; the
    /// first given wins, as in upstream's ServicePortMap).
    pub fn build(config: &ProxyConfig, services: &[ServicePortInfo], endpoints: &EndpointsMap) -> Desired {
        let mut out = Desired::default();
        let empty: Vec<Endpoint> = Vec::new();
        for svc in services {
            if out.services.contains_key(&svc.name) {
                continue;
            }
            let eps = endpoints.get(&svc.name).unwrap_or(&empty);
            let rules = service_rules(config, svc, eps);
            out.stats.services += 1;
            out.stats.endpoints += eps.len();
            out.stats.chains += rules.chains.len();
            out.stats.rules += rules.chains.values().map(Vec::len).sum::<usize>();
            out.services.insert(svc.name.clone(), rules);
        }
        out.stats.elements = out.elements().len();
        out
    }

    /// Every element, the later service port winning a key two of them write (upstream's
    /// `ensureElem` replaces an element whose value differs).
    fn elements(&self) -> BTreeMap<ElementKey, ElementValue> {
        let mut m = BTreeMap::new();
        for r in self.services.values() {
            for e in &r.elements {
                m.insert((e.container, e.key.clone()), (e.value.clone(), e.comment.clone()));
            }
        }
        m
    }

    fn chains(&self) -> BTreeSet<&str> {
        self.services.values().flat_map(|r| r.chains.keys().map(String::as_str)).collect()
    }

    fn affinity_sets(&self) -> BTreeSet<&str> {
        self.services.values().flat_map(|r| r.affinity_sets.iter().map(|(n, _)| n.as_str())).collect()
    }
}

/// The per-service chains and affinity sets a loaded table holds (what upstream lists with
/// `nft list chains` / `nft list sets` to find stale ones).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Existing {
    /// Chain names.
    pub chains: BTreeSet<String>,
    /// Set and map names.
    pub sets: BTreeSet<String>,
}

impl Existing {
    /// The chains and sets of `ip kube-proxy` in `ruleset` (empty if there is no such table).
    pub fn of(ruleset: &sim_net::nftables::Ruleset) -> Existing {
        match ruleset.table(sim_net::nftables::Family::Ip, TABLE) {
            Some(t) => Existing {
                chains: t.chains.keys().map(|k| k.to_string()).collect(),
                sets: t.sets.keys().cloned().collect(),
            },
            None => Existing::default(),
        }
    }
}

fn if_local(d: &LocalTrafficDetector) -> Option<String> {
    match d {
        LocalTrafficDetector::None => None,
        LocalTrafficDetector::ClusterCidr(c) | LocalTrafficDetector::NodeCidr(c) => {
            Some(format!("ip saddr {}", c.trunc()))
        }
        LocalTrafficDetector::InterfaceNamePrefix(p) => Some(format!("iifname \"{p}*\"")),
    }
}

fn if_not_local(d: &LocalTrafficDetector) -> Option<String> {
    match d {
        LocalTrafficDetector::None => None,
        LocalTrafficDetector::ClusterCidr(c) | LocalTrafficDetector::NodeCidr(c) => {
            Some(format!("ip saddr != {}", c.trunc()))
        }
        LocalTrafficDetector::InterfaceNamePrefix(p) => Some(format!("iifname != \"{p}*\"")),
    }
}

struct EndpointNames {
    chain: String,
    affinity: String,
}

/// Upstream's per-service-port loop body.
fn service_rules(config: &ProxyConfig, svc: &ServicePortInfo, all: &[Endpoint]) -> ServiceRules {
    let mut out = ServiceRules::default();
    let name = svc.name.to_string();
    let proto = svc.name.protocol.lower();
    let base = names::service_base(&svc.name);
    let cluster_chain = format!("{SERVICE_PREFIX}{base}");
    let local_chain = format!("{LOCAL_PREFIX}{base}");
    let external_chain = format!("{EXTERNAL_PREFIX}{base}");
    let fw_chain = format!("{FIREWALL_PREFIX}{base}");

    let sorted_with_text = sorted_endpoints(all, &config.node_name);
    let sorted: Vec<&Endpoint> = sorted_with_text.iter().map(|(_, e)| *e).collect();
    let cat = categorize(&sorted, svc, &config.node_name);
    let has_endpoints = cat.has_any;
    let sticky = svc.sticky_max_age_seconds();

    let mut ep_names: BTreeMap<(Ipv4Addr, u16), EndpointNames> = BTreeMap::new();
    for ep in &cat.all_reachable {
        let b = names::endpoint_base(&svc.name, ep.ip, ep.port);
        let chain = format!("{ENDPOINT_PREFIX}{b}");
        out.chains.entry(chain.clone()).or_default();
        ep_names.insert((ep.ip, ep.port), EndpointNames { chain, affinity: format!("{AFFINITY_PREFIX}{b}") });
    }

    let uses_cluster_chain = !cat.cluster.is_empty() && svc.uses_cluster_endpoints();
    if uses_cluster_chain {
        out.chains.entry(cluster_chain.clone()).or_default();
    }
    let uses_local_chain = !cat.local.is_empty() && svc.uses_local_endpoints();
    if uses_local_chain {
        out.chains.entry(local_chain.clone()).or_default();
    }

    let mut internal_chain = &cluster_chain;
    let mut has_internal = has_endpoints;
    if svc.internal_policy_local() {
        internal_chain = &local_chain;
        has_internal = has_internal && !cat.local.is_empty();
    }
    let mut external_policy_chain = &cluster_chain;
    let mut has_external = has_endpoints;
    if svc.external_policy_local() {
        external_policy_chain = &local_chain;
        has_external = has_external && !cat.local.is_empty();
    }
    let uses_external_chain = has_endpoints && svc.externally_accessible();
    if uses_external_chain {
        out.chains.entry(external_chain.clone()).or_default();
    }

    let reject = format!("goto {REJECT_CHAIN}");
    let (internal_verdict, external_verdict) =
        if has_endpoints { ("drop", "drop") } else { (reject.as_str(), reject.as_str()) };

    let port = svc.port;
    let mut element = |container, key: String, value: Option<String>, comment: bool| {
        out.elements.push(ElementSpec { container, key, value, comment: comment.then(|| name.clone()) });
    };

    // Capture the cluster IP.
    let cip = svc.cluster_ip;
    element(Container::ClusterIps, cip.to_string(), None, false);
    if has_internal {
        element(
            Container::ServiceIps,
            format!("{cip} . {proto} . {port}"),
            Some(format!("goto {internal_chain}")),
            false,
        );
    } else {
        element(
            Container::NoEndpointServices,
            format!("{cip} . {proto} . {port}"),
            Some(internal_verdict.to_string()),
            true,
        );
    }

    // External IPs.
    for ip in &svc.external_ips {
        if has_endpoints {
            element(
                Container::ServiceIps,
                format!("{ip} . {proto} . {port}"),
                Some(format!("goto {external_chain}")),
                false,
            );
        }
        if !has_external {
            element(
                Container::NoEndpointServices,
                format!("{ip} . {proto} . {port}"),
                Some(external_verdict.to_string()),
                true,
            );
        }
    }

    // Load-balancer ingress, and its source ranges.
    let uses_fw_chain = !svc.load_balancer_ips.is_empty() && !svc.load_balancer_source_ranges.is_empty();
    for ip in &svc.load_balancer_ips {
        if has_endpoints {
            element(
                Container::ServiceIps,
                format!("{ip} . {proto} . {port}"),
                Some(format!("goto {external_chain}")),
                false,
            );
        }
        if uses_fw_chain {
            element(
                Container::FirewallIps,
                format!("{ip} . {proto} . {port}"),
                Some(format!("goto {fw_chain}")),
                false,
            );
        }
    }
    if !has_external {
        for ip in &svc.load_balancer_ips {
            element(
                Container::NoEndpointServices,
                format!("{ip} . {proto} . {port}"),
                Some(external_verdict.to_string()),
                true,
            );
        }
    }

    // Node ports (not subject to loadBalancerSourceRanges).
    if let Some(np) = svc.node_port {
        if has_endpoints {
            element(
                Container::ServiceNodePorts,
                format!("{proto} . {np}"),
                Some(format!("goto {external_chain}")),
                false,
            );
        }
        if !has_external {
            element(
                Container::NoEndpointNodePorts,
                format!("{proto} . {np}"),
                Some(external_verdict.to_string()),
                true,
            );
        }
    }

    if uses_fw_chain {
        out.chains.entry(fw_chain.clone()).or_default();
    }

    let mut rule = |chain: &str, text: String| {
        // Only into chains this service port declared (an undeclared one would fail the
        // transaction, as it would upstream).
        if let Some(r) = out.chains.get_mut(chain) {
            r.push(text);
        }
    };

    // Internal traffic: masquerade off-cluster sources (or everything).
    if has_internal {
        if config.masquerade_all {
            rule(internal_chain, format!("ip daddr {cip} jump {MARK_MASQ}"));
        } else if let Some(not_local) = if_not_local(&config.local_detector) {
            rule(internal_chain, format!("ip daddr {cip} {not_local} jump {MARK_MASQ}"));
        }
    }

    // External traffic.
    if uses_external_chain {
        if !svc.external_policy_local() {
            rule(&external_chain, format!("jump {MARK_MASQ}"));
        } else {
            if let Some(local) = if_local(&config.local_detector) {
                rule(
                    &external_chain,
                    format!("{local} goto {cluster_chain} comment \"short-circuit pod traffic\""),
                );
            }
            rule(
                &external_chain,
                format!("fib saddr type local jump {MARK_MASQ} comment \"masquerade local traffic\""),
            );
            rule(
                &external_chain,
                format!("fib saddr type local goto {cluster_chain} comment \"short-circuit local traffic\""),
            );
        }
        if has_external {
            rule(&external_chain, format!("goto {external_policy_chain}"));
        }
    }

    if uses_fw_chain {
        let node_ip = config.node_ips.first().copied();
        let mut sources: Vec<String> = Vec::new();
        let mut allow_from_node = false;
        for cidr in &svc.load_balancer_source_ranges {
            let cidr = cidr.trunc();
            sources.push(cidr.to_string());
            allow_from_node |= node_ip.is_some_and(|ip| cidr.contains(&ip));
        }
        if allow_from_node {
            sources.extend(svc.load_balancer_ips.iter().map(Ipv4Addr::to_string));
        }
        rule(&fw_chain, format!("ip saddr != {{ {} }} drop", sources.join(" , ")));
    }

    if let Some(timeout) = sticky {
        for ep in &cat.all_reachable {
            if let Some(n) = ep_names.get(&(ep.ip, ep.port)) {
                out.affinity_sets.push((n.affinity.clone(), timeout));
            }
        }
    }

    let mut to_endpoints = |chain: &str, eps: &[&Endpoint]| {
        if sticky.is_some() {
            for ep in eps {
                if let Some(n) = ep_names.get(&(ep.ip, ep.port)) {
                    rule(chain, format!("ip saddr @{} goto {}", n.affinity, n.chain));
                }
            }
        }
        let targets: Vec<String> = eps
            .iter()
            .filter_map(|ep| ep_names.get(&(ep.ip, ep.port)))
            .enumerate()
            .map(|(i, n)| format!("{i} : goto {}", n.chain))
            .collect();
        rule(chain, format!("numgen random mod {} vmap {{ {} }}", targets.len(), targets.join(" , ")));
    };
    if uses_cluster_chain {
        to_endpoints(&cluster_chain, &cat.cluster);
    }
    if uses_local_chain {
        to_endpoints(&local_chain, &cat.local);
    }

    for ep in &cat.all_reachable {
        let Some(n) = ep_names.get(&(ep.ip, ep.port)) else { continue };
        rule(&n.chain, format!("ip saddr {} jump {MARK_MASQ}", ep.ip));
        if sticky.is_some() {
            rule(&n.chain, format!("update @{} {{ ip saddr }}", n.affinity));
        }
        rule(&n.chain, format!("meta l4proto {proto} dnat to {}:{}", ep.ip, ep.port));
    }
    out
}

/// A transaction under construction (knftables' `Transaction.String()` form).
struct Tx {
    text: String,
    created: BTreeSet<String>,
}

impl Tx {
    fn new() -> Tx {
        Tx { text: String::new(), created: BTreeSet::new() }
    }
    fn line(&mut self, args: std::fmt::Arguments<'_>) {
        let _ = self.text.write_fmt(args);
        self.text.push('\n');
    }
    /// Upstream `ensureChain`: add and flush a chain once per transaction.
    fn ensure_chain(&mut self, chain: &str) {
        if self.created.insert(chain.to_string()) {
            self.line(format_args!("add chain ip {TABLE} {chain}"));
            self.line(format_args!("flush chain ip {TABLE} {chain}"));
        }
    }
    fn rule(&mut self, chain: &str, rule: &str) {
        self.line(format_args!("add rule ip {TABLE} {chain} {rule}"));
    }
    fn add_element(&mut self, c: Container, key: &str, value: &ElementValue) {
        let comment = value.1.as_ref().map(|c| format!(" comment \"{c}\"")).unwrap_or_default();
        let data = value.0.as_ref().map(|v| format!(" : {v}")).unwrap_or_default();
        self.line(format_args!("add element ip {TABLE} {} {{ {key}{comment}{data} }}", c.name()));
    }
    fn delete_element(&mut self, c: Container, key: &str) {
        self.line(format_args!("delete element ip {TABLE} {} {{ {key} }}", c.name()));
    }
    fn service(&mut self, r: &ServiceRules) {
        for chain in r.chains.keys() {
            self.ensure_chain(chain);
        }
        for (set, timeout) in &r.affinity_sets {
            self.line(format_args!(
                "add set ip {TABLE} {set} {{ type ipv4_addr ; flags dynamic,timeout ; timeout {timeout}s ; }}"
            ));
        }
        for (chain, rules) in &r.chains {
            for rule in rules {
                self.rule(chain, rule);
            }
        }
    }
    /// Flushes, then deletes, per-service chains and affinity sets no longer used.
    fn delete_stale<'a>(
        &mut self,
        chains: impl Iterator<Item = &'a str> + Clone,
        sets: impl Iterator<Item = &'a str>,
    ) {
        for c in chains.clone() {
            self.line(format_args!("flush chain ip {TABLE} {c}"));
        }
        for s in sets {
            self.line(format_args!("delete set ip {TABLE} {s}"));
        }
        for c in chains {
            self.line(format_args!("delete chain ip {TABLE} {c}"));
        }
    }
}

/// Upstream `setupNFTables`: the table, base chains, top-level chains, sets and maps, with
/// every container flushed.
fn setup(tx: &mut Tx, config: &ProxyConfig, service_cidrs: &[Ipv4Net]) {
    let npa = ResolvedNodePortAddresses::resolve(&config.node_port_addresses, &config.node_ips);
    let mark = config.masquerade_mark();
    tx.line(format_args!("add table ip {TABLE} {{ comment \"rules for kube-proxy\" ; }}"));
    for (name, kind, hook, prio) in BASE_CHAINS {
        tx.line(format_args!("add chain ip {TABLE} {name} {{ type {kind} hook {hook} priority {prio} ; }}"));
        tx.line(format_args!("flush chain ip {TABLE} {name}"));
    }
    for (dst, src, extra) in JUMP_CHAINS {
        tx.ensure_chain(dst);
        tx.rule(src, &format!("{extra}jump {dst}"));
    }
    for c in [SERVICES, CLUSTER_IPS_CHECK, MASQUERADING, MARK_MASQ] {
        tx.ensure_chain(c);
    }
    tx.rule(MARK_MASQ, &format!("mark set mark or {mark}"));
    tx.rule(MASQUERADING, &format!("mark and {mark} == 0 return"));
    tx.rule(MASQUERADING, &format!("mark set mark xor {mark}"));
    tx.rule(MASQUERADING, "masquerade fully-random");

    tx.line(format_args!(
        "add set ip {TABLE} cluster-ips {{ type ipv4_addr ; comment \"Active ClusterIPs\" ; }}"
    ));
    tx.rule(
        CLUSTER_IPS_CHECK,
        "ip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\"",
    );
    if !service_cidrs.is_empty() {
        let cidrs: Vec<String> = service_cidrs.iter().map(|c| c.trunc().to_string()).collect();
        tx.rule(
            CLUSTER_IPS_CHECK,
            &format!(
                "ip daddr {{ {} }} drop comment \"Drop traffic to unallocated ClusterIPs\"",
                cidrs.join(" , ")
            ),
        );
    }

    tx.line(format_args!(
        "add set ip {TABLE} nodeport-ips {{ type ipv4_addr ; comment \"IPs that accept NodePort traffic\" ; }}"
    ));
    if npa.match_all {
        tx.line(format_args!("delete set ip {TABLE} nodeport-ips"));
    } else {
        tx.line(format_args!("flush set ip {TABLE} nodeport-ips"));
        for ip in npa.node_ips(&config.interface_addrs) {
            // Localhost NodePorts are not supported in nftables mode.
            if ip.is_loopback() {
                continue;
            }
            tx.line(format_args!("add element ip {TABLE} nodeport-ips {{ {ip} }}"));
        }
    }

    tx.line(format_args!(
        "add map ip {TABLE} no-endpoint-services {{ type ipv4_addr . inet_proto . inet_service : verdict ; comment \"vmap to drop or reject packets to services with no endpoints\" ; }}"
    ));
    tx.line(format_args!(
        "add map ip {TABLE} no-endpoint-nodeports {{ type inet_proto . inet_service : verdict ; comment \"vmap to drop or reject packets to service nodeports with no endpoints\" ; }}"
    ));
    tx.line(format_args!(
        "add chain ip {TABLE} {REJECT_CHAIN} {{ comment \"helper for @no-endpoint-services / @no-endpoint-nodeports\" ; }}"
    ));
    tx.line(format_args!("flush chain ip {TABLE} {REJECT_CHAIN}"));
    tx.rule(REJECT_CHAIN, "reject");
    tx.rule(SERVICE_ENDPOINTS_CHECK, "ip daddr . meta l4proto . th dport vmap @no-endpoint-services");
    if npa.match_all {
        tx.rule(
            NODEPORT_ENDPOINTS_CHECK,
            "ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports",
        );
    } else {
        tx.rule(
            NODEPORT_ENDPOINTS_CHECK,
            "ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports",
        );
    }

    tx.line(format_args!(
        "add map ip {TABLE} firewall-ips {{ type ipv4_addr . inet_proto . inet_service : verdict ; comment \"destinations that are subject to LoadBalancerSourceRanges\" ; }}"
    ));
    tx.ensure_chain(FIREWALL_CHECK);
    tx.rule(FIREWALL_CHECK, "ip daddr . meta l4proto . th dport vmap @firewall-ips");

    tx.line(format_args!(
        "add map ip {TABLE} service-ips {{ type ipv4_addr . inet_proto . inet_service : verdict ; comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }}"
    ));
    tx.line(format_args!(
        "add map ip {TABLE} service-nodeports {{ type inet_proto . inet_service : verdict ; comment \"NodePort traffic\" ; }}"
    ));
    tx.rule(SERVICES, "ip daddr . meta l4proto . th dport vmap @service-ips");
    if npa.match_all {
        tx.rule(
            SERVICES,
            "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports",
        );
    } else {
        tx.rule(SERVICES, "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports");
    }
    for c in Container::ALL {
        tx.line(format_args!("flush {} ip {TABLE} {}", c.kind(), c.name()));
    }
}

/// A full sync: the transaction that brings a table holding `existing` (possibly nothing) to
/// exactly `desired`. `service_cidrs` are the cluster's service CIDRs (traffic to an
/// unallocated cluster IP is dropped).
pub fn full_sync(
    config: &ProxyConfig,
    service_cidrs: &[Ipv4Net],
    desired: &Desired,
    existing: &Existing,
) -> String {
    let mut tx = Tx::new();
    setup(&mut tx, config, service_cidrs);
    for r in desired.services.values() {
        tx.service(r);
    }
    for ((c, key), value) in desired.elements() {
        tx.add_element(c, &key, &value);
    }
    let active = desired.chains();
    let active_sets = desired.affinity_sets();
    let stale_chains = existing
        .chains
        .iter()
        .map(String::as_str)
        .filter(|c| names::is_service_chain_name(c) && !active.contains(c));
    let stale_sets = existing
        .sets
        .iter()
        .map(String::as_str)
        .filter(|s| names::is_affinity_set_name(s) && !active_sets.contains(s));
    tx.delete_stale(stale_chains, stale_sets);
    tx.text
}

/// A partial sync from a table that holds exactly `old` (after a full or partial sync of it)
/// to `new`: only service ports whose rules changed are rewritten; map elements are added,
/// replaced or deleted where they differ; chains and affinity sets no longer used are flushed
/// and deleted.
pub fn partial_sync(old: &Desired, new: &Desired) -> String {
    let mut tx = Tx::new();
    for (name, r) in &new.services {
        if old.services.get(name) != Some(r) {
            tx.service(r);
        }
    }
    let old_elements = old.elements();
    let new_elements = new.elements();
    for ((c, key), value) in &new_elements {
        match old_elements.get(&(*c, key.clone())) {
            None => tx.add_element(*c, key, value),
            Some(v) if v != value => {
                tx.delete_element(*c, key);
                tx.add_element(*c, key, value);
            }
            Some(_) => {}
        }
    }
    for (c, key) in old_elements.keys() {
        if !new_elements.contains_key(&(*c, key.clone())) {
            tx.delete_element(*c, key);
        }
    }
    let new_chains = new.chains();
    let new_sets = new.affinity_sets();
    let old_chains = old.chains();
    let old_sets = old.affinity_sets();
    tx.delete_stale(
        old_chains.iter().copied().filter(|c| !new_chains.contains(c)),
        old_sets.iter().copied().filter(|s| !new_sets.contains(s)),
    );
    tx.text
}
