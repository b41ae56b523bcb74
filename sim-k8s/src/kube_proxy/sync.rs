//! One kube-proxy iptables sync (upstream `syncProxyRules` and `writeServiceToEndpointRules`
//! in `pkg/proxy/iptables/proxier.go`, release 1.31+): from the service ports, their
//! endpoints and the node's configuration, writes the `*filter` and `*nat` iptables-restore
//! input kube-proxy feeds to `iptables-restore --noflush`, line for line in kube-proxy's own
//! word order (`-m comment --comment "…" -m tcp -p tcp -d IP --dport N -j …`), plus the jump
//! rules it ensures in the built-in chains. Service ports are visited in [`super::ServicePortName`]
//! order (upstream iterates a Go map, i.e. in no fixed order), so output is deterministic.
//! Every sync here is a full sync: partial syncs only skip rewriting unchanged chains and leave
//! the loaded tables identical. Stale service chains are deleted (`-X`) when the caller passes
//! the chains currently loaded ([`sync_with_existing`]). Not modelled: IPv6, topology hints,
//! `ipMode: Proxy`, metrics.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use super::chain_name::{ChainName, ServiceChains, endpoint_chain, is_service_chain_name};
use super::config::{LARGE_CLUSTER_ENDPOINTS_THRESHOLD, ProxyConfig, ResolvedNodePortAddresses};
use super::endpoint::{Endpoint, EndpointsMap, categorize, sorted_endpoints};
use super::healthcheck::{HealthCheckServer, health_check_servers};
use super::jump_chains::{self, JumpRule};
use super::probability::ProbabilityCache;
use super::service_port::ServicePortInfo;

/// `KUBE-SERVICES`: service portals (nat: DNAT dispatch; filter: REJECT/DROP for no endpoints).
pub const KUBE_SERVICES: &str = "KUBE-SERVICES";
/// `KUBE-EXTERNAL-SERVICES` (filter): rejects/drops for external destinations.
pub const KUBE_EXTERNAL_SERVICES: &str = "KUBE-EXTERNAL-SERVICES";
/// `KUBE-NODEPORTS`: NodePort dispatch (nat) and health-check port accepts (filter).
pub const KUBE_NODEPORTS: &str = "KUBE-NODEPORTS";
/// `KUBE-POSTROUTING` (nat): masquerade marked traffic.
pub const KUBE_POSTROUTING: &str = "KUBE-POSTROUTING";
/// `KUBE-MARK-MASQ` (nat): sets the masquerade mark.
pub const KUBE_MARK_MASQ: &str = "KUBE-MARK-MASQ";
/// `KUBE-FORWARD` (filter): accepts marked and established forwarded traffic.
pub const KUBE_FORWARD: &str = "KUBE-FORWARD";
/// `KUBE-PROXY-FIREWALL` (filter): loadBalancerSourceRanges drops.
pub const KUBE_PROXY_FIREWALL: &str = "KUBE-PROXY-FIREWALL";
/// `KUBE-PROXY-CANARY`: created in mangle/nat/filter to detect a flush (never has rules).
pub const KUBE_PROXY_CANARY: &str = "KUBE-PROXY-CANARY";
/// `KUBE-FIREWALL` (filter): kube-proxy's copy of kubelet's localnet anti-martian rule.
pub const KUBE_FIREWALL: &str = "KUBE-FIREWALL";
/// nfacct counter on the INVALID drop rule.
pub const NFACCT_CT_STATE_INVALID_DROPPED: &str = "ct_state_invalid_dropped_pkts";
/// nfacct counter on the localhost NodePort rule.
pub const NFACCT_LOCALHOST_NODEPORTS_ACCEPTED: &str = "localhost_nps_accepted_pkts";

const NODEPORTS_TAIL_COMMENT: &str =
    "\"kubernetes service nodeports; NOTE: this must be the last rule in this chain\"";

/// Counts reported by a sync (upstream logs and metrics the same numbers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Service ports synced.
    pub services: usize,
    /// Endpoints of those service ports (decides large-cluster mode).
    pub endpoints: usize,
    /// Chain lines in the filter restore input.
    pub filter_chains: usize,
    /// Rule lines in the filter restore input.
    pub filter_rules: usize,
    /// Chain lines in the nat restore input.
    pub nat_chains: usize,
    /// Rule lines in the nat restore input.
    pub nat_rules: usize,
    /// Comments on endpoint rules were dropped (more than 1000 endpoints).
    pub large_cluster_mode: bool,
    /// Service ports whose internal traffic is dropped for lack of local endpoints.
    pub no_local_endpoints_internal: usize,
    /// Service ports whose external traffic is dropped for lack of local endpoints.
    pub no_local_endpoints_external: usize,
    /// Stale service chains deleted (`-X`).
    pub deleted_chains: usize,
}

/// What one sync produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncResult {
    /// `*filter` … `COMMIT` restore input, exactly as kube-proxy writes it.
    pub filter: String,
    /// `*nat` … `COMMIT` restore input, exactly as kube-proxy writes it.
    pub nat: String,
    /// Jump rules kube-proxy ensures in built-in chains (`iptables -I`, not restore input),
    /// in the order they end up in each chain.
    pub jump_rules: Vec<JumpRule>,
    /// Health-check servers kube-proxy runs after this sync.
    pub health_checks: Vec<HealthCheckServer>,
    /// Sizes and modes.
    pub stats: SyncStats,
}

impl SyncResult {
    /// The single buffer kube-proxy passes to `iptables-restore --noflush --counters`
    /// (filter first, then nat).
    pub fn restore_input(&self) -> String {
        let mut s = String::with_capacity(self.filter.len() + self.nat.len());
        s.push_str(&self.filter);
        s.push_str(&self.nat);
        s
    }

    /// Restore input that builds, in empty tables, what a node shows after kubelet and this
    /// sync: built-in chains, kubelet's and kube-proxy's ensured chains and jump rules, then
    /// kube-proxy's restore input.
    pub fn initial_restore(&self) -> String {
        jump_chains::initial_restore(&self.filter, &self.nat, &self.jump_rules)
    }
}

/// A restore-input table under construction (upstream `LineBuffer`).
#[derive(Default)]
struct LineBuffer {
    text: String,
    lines: usize,
}

impl LineBuffer {
    fn with_capacity(bytes: usize) -> Self {
        LineBuffer { text: String::with_capacity(bytes), lines: 0 }
    }
    fn chain(&mut self, name: &str) {
        self.parts(&[":", name, " - [0:0]"]);
    }
    /// Writes a line from pieces: the hot per-endpoint lines skip the formatting machinery.
    fn parts(&mut self, parts: &[&str]) {
        for p in parts {
            self.text.push_str(p);
        }
        self.text.push('\n');
        self.lines += 1;
    }
    fn line(&mut self, args: std::fmt::Arguments<'_>) {
        let _ = self.text.write_fmt(args);
        self.text.push('\n');
        self.lines += 1;
    }
}

macro_rules! w {
    ($buf:expr, $($arg:tt)*) => { $buf.line(format_args!($($arg)*)) };
}

/// Per-sync state shared by the service loop.
struct Writer<'c> {
    config: &'c ProxyConfig,
    mark: String,
    large_cluster_mode: bool,
    probabilities: ProbabilityCache,
    filter_chains: LineBuffer,
    filter_rules: LineBuffer,
    nat_chains: LineBuffer,
    nat_rules: LineBuffer,
    stats: SyncStats,
    /// Service chains written so far; tracked only when stale chains must be found.
    active_nat: Option<BTreeSet<String>>,
}

/// Runs one sync into empty tables (or tables holding only what an earlier sync of the same
/// services wrote): the complete rule set for this node.
pub fn sync(config: &ProxyConfig, services: &[ServicePortInfo], endpoints: &EndpointsMap) -> SyncResult {
    sync_with_existing(config, services, endpoints, &BTreeSet::new())
}

/// Runs one sync given the nat chains currently loaded (what upstream reads back with
/// `iptables-save -t nat`): service chains (`KUBE-SVC-`, `KUBE-SVL-`, `KUBE-EXT-`, `KUBE-FW-`,
/// `KUBE-SEP-`) no longer in use are flushed and deleted (`:CHAIN - [0:0]` + `-X CHAIN`), as
/// upstream does. (Upstream defers this in large clusters until `syncPeriod` has passed; here
/// it happens on every sync, which converges to the same tables.)
pub fn sync_with_existing(
    config: &ProxyConfig,
    services: &[ServicePortInfo],
    endpoints: &EndpointsMap,
    existing_nat_chains: &BTreeSet<String>,
) -> SyncResult {
    let npa = ResolvedNodePortAddresses::resolve(&config.node_port_addresses, &config.node_ips);
    let localhost_node_ports = config.effective_localhost_node_ports(&npa);

    let mut svcs: Vec<&ServicePortInfo> = services.iter().collect();
    svcs.sort_by(|a, b| a.name.cmp(&b.name));
    // One entry per name, as in upstream's ServicePortMap (the first one given wins).
    svcs.dedup_by(|later, earlier| later.name == earlier.name);

    let total_endpoints: usize = svcs.iter().map(|s| endpoints.get(&s.name).map_or(0, Vec::len)).sum();

    let mut w = Writer {
        config,
        mark: config.masquerade_mark(),
        large_cluster_mode: total_endpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD,
        probabilities: ProbabilityCache::default(),
        filter_chains: LineBuffer::default(),
        filter_rules: LineBuffer::default(),
        nat_chains: LineBuffer::with_capacity((svcs.len() * 4 + total_endpoints) * 36),
        // Roughly 100 bytes a line; reserving up front avoids re-copying a 30 MB buffer.
        nat_rules: LineBuffer::with_capacity((svcs.len() * 10 + total_endpoints * 4) * 100),
        stats: SyncStats { services: svcs.len(), endpoints: total_endpoints, ..SyncStats::default() },
        active_nat: if existing_nat_chains.is_empty() { None } else { Some(BTreeSet::new()) },
    };
    w.stats.large_cluster_mode = w.large_cluster_mode;

    for c in [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL] {
        w.filter_chains.chain(c);
    }
    for c in [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ] {
        w.nat_chains.chain(c);
    }
    w.write_base_nat_rules(localhost_node_ports);

    let empty: Vec<Endpoint> = Vec::new();
    for svc in &svcs {
        let eps = endpoints.get(&svc.name).unwrap_or(&empty);
        w.write_service(svc, eps, localhost_node_ports);
    }

    w.delete_stale_chains(existing_nat_chains);
    w.write_nodeports_tail(&npa, localhost_node_ports);
    w.write_forward_rules();

    let Writer { filter_chains, filter_rules, nat_chains, nat_rules, mut stats, .. } = w;
    stats.filter_chains = filter_chains.lines;
    stats.filter_rules = filter_rules.lines;
    stats.nat_chains = nat_chains.lines;
    stats.nat_rules = nat_rules.lines;
    SyncResult {
        filter: assemble("filter", filter_chains, filter_rules),
        nat: assemble("nat", nat_chains, nat_rules),
        jump_rules: jump_chains::ensured_jump_rules(),
        health_checks: health_check_servers(config, &svcs, endpoints),
        stats,
    }
}

/// `*table`, chain lines, rules, `COMMIT`. The rules buffer (by far the largest) becomes the
/// result, so a 30 MB table is shifted in place instead of copied into fresh pages.
fn assemble(table: &str, chains: LineBuffer, rules: LineBuffer) -> String {
    let mut head = String::with_capacity(chains.text.len() + table.len() + 2);
    let _ = writeln!(head, "*{table}");
    head.push_str(&chains.text);
    let mut s = rules.text;
    s.insert_str(0, &head);
    s.push_str("COMMIT\n");
    s
}

impl Writer<'_> {
    /// Declares a per-service nat chain (and remembers it when looking for stale chains).
    fn nat_chain(&mut self, name: &str) {
        self.nat_chains.chain(name);
        if let Some(active) = &mut self.active_nat {
            active.insert(name.to_owned());
        }
    }

    fn delete_stale_chains(&mut self, existing: &BTreeSet<String>) {
        let Some(active) = self.active_nat.take() else { return };
        for chain in existing.difference(&active) {
            if !is_service_chain_name(chain) {
                continue; // not ours
            }
            // A chain line flushes the chain; only an empty chain can be deleted.
            self.nat_chains.chain(chain);
            w!(self.nat_rules, "-X {chain}");
            self.stats.deleted_chains += 1;
        }
    }

    fn write_base_nat_rules(&mut self, localhost_node_ports: bool) {
        let mark = &self.mark;
        let nat = &mut self.nat_rules;
        w!(nat, "-A {KUBE_POSTROUTING} -m mark ! --mark {mark}/{mark} -j RETURN");
        // Clear the mark so a packet re-traversing the stack is not masqueraded twice.
        w!(nat, "-A {KUBE_POSTROUTING} -j MARK --xor-mark {mark}");
        let random_fully = if self.config.random_fully { " --random-fully" } else { "" };
        w!(
            nat,
            "-A {KUBE_POSTROUTING} -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE{random_fully}"
        );
        w!(nat, "-A {KUBE_MARK_MASQ} -j MARK --or-mark {mark}");

        if localhost_node_ports {
            // route_localnet=1 opens 127/8 to the network (issue 90259); this mirrors
            // kubelet's mitigation rule exactly.
            self.filter_chains.chain(KUBE_FIREWALL);
            w!(
                self.filter_rules,
                "-A {KUBE_FIREWALL} -m comment --comment \"block incoming localnet connections\" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP"
            );
        }
    }

    /// The pieces of an endpoint rule's comment: ` -m comment --comment ns/svc:port` (SEP
    /// rules) or ` -m comment --comment "ns/svc:port -> ip:port"` (dispatch rules), or nothing
    /// in large-cluster mode (upstream `appendServiceCommentLocked`).
    fn endpoint_comment<'a>(&self, name: &'a str, endpoint: Option<&'a str>) -> [&'a str; 5] {
        match (self.large_cluster_mode, endpoint) {
            (true, _) => [""; 5],
            (false, None) => [" -m comment --comment ", name, "", "", ""],
            (false, Some(ep)) => [" -m comment --comment \"", name, " -> ", ep, "\""],
        }
    }

    fn write_service(
        &mut self,
        svc: &ServicePortInfo,
        all_endpoints: &[Endpoint],
        localhost_node_ports: bool,
    ) {
        let name = svc.name.to_string();
        let proto = svc.name.protocol.lower();
        let chains = ServiceChains::new(&svc.name);
        let sorted_with_text = sorted_endpoints(all_endpoints, &self.config.node_name);
        let sorted: Vec<&Endpoint> = sorted_with_text.iter().map(|(_, e)| *e).collect();
        let cat = categorize(&sorted, svc, &self.config.node_name);
        let has_endpoints = cat.has_any;

        let cluster_policy_chain = &chains.cluster;
        let uses_cluster_policy_chain = !cat.cluster.is_empty() && svc.uses_cluster_endpoints();
        let local_policy_chain = &chains.local;
        let uses_local_policy_chain = !cat.local.is_empty() && svc.uses_local_endpoints();

        let mut internal_policy_chain = cluster_policy_chain;
        let mut has_internal_endpoints = has_endpoints;
        if svc.internal_policy_local() {
            internal_policy_chain = local_policy_chain;
            if cat.local.is_empty() {
                has_internal_endpoints = false;
            }
        }
        let internal_traffic_chain = internal_policy_chain;

        let mut external_policy_chain = cluster_policy_chain;
        let mut has_external_endpoints = has_endpoints;
        if svc.external_policy_local() {
            external_policy_chain = local_policy_chain;
            if cat.local.is_empty() {
                has_external_endpoints = false;
            }
        }
        let external_traffic_chain = &chains.external;
        // Built even without externally-usable endpoints, for the local short-circuit rules.
        let uses_external_traffic_chain = has_endpoints && svc.externally_accessible();

        let uses_fw_chain =
            has_endpoints && !svc.load_balancer_ips.is_empty() && !svc.load_balancer_source_ranges.is_empty();
        let load_balancer_traffic_chain =
            if uses_fw_chain { &chains.firewall } else { external_traffic_chain };

        let (mut internal_filter_target, mut internal_filter_comment) = ("", String::new());
        let (mut external_filter_target, mut external_filter_comment) = ("", String::new());
        if !has_endpoints {
            internal_filter_target = "REJECT";
            internal_filter_comment = format!("\"{name} has no endpoints\"");
            external_filter_target = "REJECT";
            external_filter_comment = internal_filter_comment.clone();
        } else {
            if !has_internal_endpoints {
                internal_filter_target = "DROP";
                internal_filter_comment = format!("\"{name} has no local endpoints\"");
                self.stats.no_local_endpoints_internal += 1;
            }
            if !has_external_endpoints {
                external_filter_target = "DROP";
                external_filter_comment = format!("\"{name} has no local endpoints\"");
                self.stats.no_local_endpoints_external += 1;
            }
        }

        let cluster_ip = svc.cluster_ip;
        let port = svc.port;

        // Capture the clusterIP.
        if has_internal_endpoints {
            w!(
                self.nat_rules,
                "-A {KUBE_SERVICES} -m comment --comment \"{name} cluster IP\" -m {proto} -p {proto} -d {cluster_ip} --dport {port} -j {internal_traffic_chain}"
            );
        } else {
            w!(
                self.filter_rules,
                "-A {KUBE_SERVICES} -m comment --comment {internal_filter_comment} -m {proto} -p {proto} -d {cluster_ip} --dport {port} -j {internal_filter_target}"
            );
        }

        // Capture externalIPs.
        for ext in &svc.external_ips {
            if has_endpoints {
                w!(
                    self.nat_rules,
                    "-A {KUBE_SERVICES} -m comment --comment \"{name} external IP\" -m {proto} -p {proto} -d {ext} --dport {port} -j {external_traffic_chain}"
                );
            }
            if !has_external_endpoints {
                w!(
                    self.filter_rules,
                    "-A {KUBE_EXTERNAL_SERVICES} -m comment --comment {external_filter_comment} -m {proto} -p {proto} -d {ext} --dport {port} -j {external_filter_target}"
                );
            }
        }

        // Capture load-balancer ingress.
        for lb in &svc.load_balancer_ips {
            if has_endpoints {
                w!(
                    self.nat_rules,
                    "-A {KUBE_SERVICES} -m comment --comment \"{name} loadbalancer IP\" -m {proto} -p {proto} -d {lb} --dport {port} -j {load_balancer_traffic_chain}"
                );
            }
            if uses_fw_chain {
                w!(
                    self.filter_rules,
                    "-A {KUBE_PROXY_FIREWALL} -m comment --comment \"{name} traffic not accepted by {fw}\" -m {proto} -p {proto} -d {lb} --dport {port} -j DROP",
                    fw = chains.firewall
                );
            }
        }
        if !has_external_endpoints {
            for lb in &svc.load_balancer_ips {
                w!(
                    self.filter_rules,
                    "-A {KUBE_EXTERNAL_SERVICES} -m comment --comment {external_filter_comment} -m {proto} -p {proto} -d {lb} --dport {port} -j {external_filter_target}"
                );
            }
        }

        // Capture nodeports. (NodePorts are not subject to loadBalancerSourceRanges.)
        if let Some(node_port) = svc.node_port {
            if has_endpoints {
                if localhost_node_ports && self.config.nfacct {
                    w!(
                        self.nat_rules,
                        "-A {KUBE_NODEPORTS} -m comment --comment {name} -m {proto} -p {proto} -d 127.0.0.0/8 --dport {node_port} -m nfacct --nfacct-name {NFACCT_LOCALHOST_NODEPORTS_ACCEPTED} -j {external_traffic_chain}"
                    );
                }
                w!(
                    self.nat_rules,
                    "-A {KUBE_NODEPORTS} -m comment --comment {name} -m {proto} -p {proto} --dport {node_port} -j {external_traffic_chain}"
                );
            }
            if !has_external_endpoints {
                w!(
                    self.filter_rules,
                    "-A {KUBE_EXTERNAL_SERVICES} -m comment --comment {external_filter_comment} -m addrtype --dst-type LOCAL -m {proto} -p {proto} --dport {node_port} -j {external_filter_target}"
                );
            }
        }

        // Capture healthCheckNodePorts, whether or not this node has local endpoints.
        if let Some(hc) = svc.effective_health_check_node_port() {
            w!(
                self.filter_rules,
                "-A {KUBE_NODEPORTS} -m comment --comment \"{name} health check node port\" -m tcp -p tcp --dport {hc} -j ACCEPT"
            );
        }

        // Internal traffic handling: masquerade off-cluster (or all) traffic to the VIP.
        if has_internal_endpoints {
            let args = format!(
                "-m comment --comment \"{name} cluster IP\" -m {proto} -p {proto} -d {cluster_ip} --dport {port}"
            );
            if self.config.masquerade_all {
                w!(self.nat_rules, "-A {internal_traffic_chain} {args} -j {KUBE_MARK_MASQ}");
            } else if self.config.local_detector.is_implemented() {
                let not_local = self.config.local_detector.if_not_local();
                w!(self.nat_rules, "-A {internal_traffic_chain} {args} {not_local} -j {KUBE_MARK_MASQ}");
            }
        }

        // External traffic handling.
        if uses_external_traffic_chain {
            self.nat_chain(external_traffic_chain.as_str());
            if !svc.external_policy_local() {
                // Endpoints may be on other nodes: masquerade so replies come back here.
                w!(
                    self.nat_rules,
                    "-A {external_traffic_chain} -m comment --comment \"masquerade traffic for {name} external destinations\" -j {KUBE_MARK_MASQ}"
                );
            } else {
                if self.config.local_detector.is_implemented() {
                    // Pod → external destination behaves as if it left and came back through
                    // an external load balancer: subject to neither traffic policy.
                    let local = self.config.local_detector.if_local();
                    w!(
                        self.nat_rules,
                        "-A {external_traffic_chain} -m comment --comment \"pod traffic for {name} external destinations\" {local} -j {cluster_policy_chain}"
                    );
                }
                // Host-originated traffic picks the (local) external IP as source: masquerade.
                w!(
                    self.nat_rules,
                    "-A {external_traffic_chain} -m comment --comment \"masquerade LOCAL traffic for {name} external destinations\" -m addrtype --src-type LOCAL -j {KUBE_MARK_MASQ}"
                );
                w!(
                    self.nat_rules,
                    "-A {external_traffic_chain} -m comment --comment \"route LOCAL traffic for {name} external destinations\" -m addrtype --src-type LOCAL -j {cluster_policy_chain}"
                );
            }
            if has_external_endpoints {
                w!(self.nat_rules, "-A {external_traffic_chain} -j {external_policy_chain}");
            }
        }

        // Firewall chain for loadBalancerSourceRanges.
        if uses_fw_chain {
            let fw = &chains.firewall;
            self.nat_chain(fw.as_str());
            let node_ip: Option<Ipv4Addr> = self.config.node_ips.first().copied();
            let mut allow_from_node = false;
            for cidr in &svc.load_balancer_source_ranges {
                let cidr = cidr.trunc();
                w!(
                    self.nat_rules,
                    "-A {fw} -m comment --comment \"{name} loadbalancer IP\" -s {cidr} -j {external_traffic_chain}"
                );
                if node_ip.is_some_and(|ip| cidr.contains(&ip)) {
                    allow_from_node = true;
                }
            }
            // A VIP-like LB IP is often local: node → VIP loops back with the VIP as source.
            if allow_from_node {
                for lb in &svc.load_balancer_ips {
                    w!(
                        self.nat_rules,
                        "-A {fw} -m comment --comment \"{name} loadbalancer IP\" -s {lb} -j {external_traffic_chain}"
                    );
                }
            }
            // Falling off the end means no DNAT: KUBE-PROXY-FIREWALL (filter) drops it.
            w!(
                self.nat_rules,
                "-A {fw} -m comment --comment \"other traffic to {name} will be dropped by {KUBE_PROXY_FIREWALL}\""
            );
        }

        // Endpoint chain names for every reachable endpoint. `all_reachable` is a subsequence
        // of `sorted` (same order), so one merge walk pairs each with its text.
        let mut sep: BTreeMap<(Ipv4Addr, u16), (ChainName, &str)> = BTreeMap::new();
        let mut reachable = cat.all_reachable.iter().peekable();
        for (text, ep) in &sorted_with_text {
            if reachable.next_if(|r| std::ptr::eq(**r, *ep)).is_some() {
                sep.insert((ep.ip, ep.port), (endpoint_chain(&name, svc.name.protocol, text), text.as_str()));
            }
        }

        if uses_cluster_policy_chain {
            self.nat_chain(cluster_policy_chain.as_str());
            self.write_service_to_endpoint_rules(&name, svc, cluster_policy_chain, &cat.cluster, &sep);
        }
        if uses_local_policy_chain {
            self.nat_chain(local_policy_chain.as_str());
            self.write_service_to_endpoint_rules(&name, svc, local_policy_chain, &cat.local, &sep);
        }

        // Per-endpoint chains.
        let [c0, c1, c2, c3, c4] = self.endpoint_comment(&name, None);
        let sticky = svc.sticky_max_age_seconds().is_some();
        for ep in &cat.all_reachable {
            let Some((chain, text)) = sep.get(&(ep.ip, ep.port)) else { continue };
            let chain = chain.as_str();
            let ip = text.rsplit_once(':').map_or(*text, |(ip, _)| ip);
            self.nat_chain(chain);
            let nat = &mut self.nat_rules;
            // Hairpin: a pod reaching itself through the service must be SNATed.
            nat.parts(&["-A ", chain, c0, c1, c2, c3, c4, " -s ", ip, " -j ", KUBE_MARK_MASQ]);
            let (r0, r1, r2) = if sticky { (" -m recent --name ", chain, " --set") } else { ("", "", "") };
            nat.parts(&[
                "-A ",
                chain,
                c0,
                c1,
                c2,
                c3,
                c4,
                r0,
                r1,
                r2,
                " -m ",
                proto,
                " -p ",
                proto,
                " -j DNAT --to-destination ",
                text,
            ]);
        }
    }

    fn write_service_to_endpoint_rules(
        &mut self,
        name: &str,
        svc: &ServicePortInfo,
        svc_chain: &ChainName,
        endpoints: &[&Endpoint],
        sep: &BTreeMap<(Ipv4Addr, u16), (ChainName, &str)>,
    ) {
        if let Some(seconds) = svc.sticky_max_age_seconds() {
            for ep in endpoints {
                let Some((chain, text)) = sep.get(&(ep.ip, ep.port)) else { continue };
                let [c0, c1, c2, c3, c4] = self.endpoint_comment(name, Some(text));
                w!(
                    self.nat_rules,
                    "-A {svc_chain}{c0}{c1}{c2}{c3}{c4} -m recent --name {chain} --rcheck --seconds {seconds} --reap -j {chain}"
                );
            }
        }
        let n = endpoints.len();
        for (i, ep) in endpoints.iter().enumerate() {
            let Some((chain, text)) = sep.get(&(ep.ip, ep.port)) else { continue };
            let [c0, c1, c2, c3, c4] = self.endpoint_comment(name, Some(text));
            let (s0, p) = if i + 1 < n {
                (" -m statistic --mode random --probability ", self.probabilities.get(n - i))
            } else {
                ("", "")
            };
            self.nat_rules.parts(&[
                "-A ",
                svc_chain.as_str(),
                c0,
                c1,
                c2,
                c3,
                c4,
                s0,
                p,
                " -j ",
                chain.as_str(),
            ]);
        }
    }

    fn write_nodeports_tail(&mut self, npa: &ResolvedNodePortAddresses, localhost_node_ports: bool) {
        if npa.match_all {
            let block_localhost = if localhost_node_ports { "" } else { " ! -d 127.0.0.0/8" };
            w!(
                self.nat_rules,
                "-A {KUBE_SERVICES} -m comment --comment {NODEPORTS_TAIL_COMMENT} -m addrtype --dst-type LOCAL{block_localhost} -j {KUBE_NODEPORTS}"
            );
        } else {
            for ip in npa.node_ips(&self.config.interface_addrs) {
                if ip.is_loopback() && !localhost_node_ports {
                    continue;
                }
                w!(
                    self.nat_rules,
                    "-A {KUBE_SERVICES} -m comment --comment {NODEPORTS_TAIL_COMMENT} -d {ip} -j {KUBE_NODEPORTS}"
                );
            }
        }
    }

    fn write_forward_rules(&mut self) {
        let mark = &self.mark;
        let filter = &mut self.filter_rules;
        if !self.config.conntrack_tcp_be_liberal {
            // INVALID packets would otherwise reach pods un-DNATed and draw RSTs (issue 74839).
            if self.config.nfacct {
                w!(
                    filter,
                    "-A {KUBE_FORWARD} -m conntrack --ctstate INVALID -m nfacct --nfacct-name {NFACCT_CT_STATE_INVALID_DROPPED} -j DROP"
                );
            } else {
                w!(filter, "-A {KUBE_FORWARD} -m conntrack --ctstate INVALID -j DROP");
            }
        }
        w!(
            filter,
            "-A {KUBE_FORWARD} -m comment --comment \"kubernetes forwarding rules\" -m mark --mark {mark}/{mark} -j ACCEPT"
        );
        w!(
            filter,
            "-A {KUBE_FORWARD} -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
        );
    }
}
