//! The iptables rules kube-proxy writes in IPVS mode (upstream `writeIptablesRules`,
//! `acceptIPVSTraffic`, `createAndLinkKubeChain`, `iptablesChains`, `iptablesJumpChain` and
//! `ipsetWithIptablesChain` in `pkg/proxy/ipvs/proxier.go`): a fixed set of chains whose rules
//! match the ipsets instead of naming each service, in upstream's word order. A rule matching
//! a set is written only while the set has members, as upstream does.

use std::fmt::Write as _;

use sim_net::netfilter::TableName;

use super::super::config::ProxyConfig;
use super::super::jump_chains::JumpRule;
use super::ipset::{self, SetEntries};

/// `KUBE-SERVICES` (nat).
pub const KUBE_SERVICES: &str = "KUBE-SERVICES";
/// `KUBE-POSTROUTING` (nat).
pub const KUBE_POSTROUTING: &str = "KUBE-POSTROUTING";
/// `KUBE-NODE-PORT` (nat and filter).
pub const KUBE_NODE_PORT: &str = "KUBE-NODE-PORT";
/// `KUBE-LOAD-BALANCER` (nat).
pub const KUBE_LOAD_BALANCER: &str = "KUBE-LOAD-BALANCER";
/// `KUBE-MARK-MASQ` (nat).
pub const KUBE_MARK_MASQ: &str = "KUBE-MARK-MASQ";
/// `KUBE-FORWARD` (filter).
pub const KUBE_FORWARD: &str = "KUBE-FORWARD";
/// `KUBE-PROXY-FIREWALL` (filter).
pub const KUBE_PROXY_FIREWALL: &str = "KUBE-PROXY-FIREWALL";
/// `KUBE-SOURCE-RANGES-FIREWALL` (filter).
pub const KUBE_SOURCE_RANGES_FIREWALL: &str = "KUBE-SOURCE-RANGES-FIREWALL";
/// `KUBE-IPVS-FILTER` (filter): no access to host ports through service addresses.
pub const KUBE_IPVS_FILTER: &str = "KUBE-IPVS-FILTER";
/// `KUBE-IPVS-OUT-FILTER` (filter).
pub const KUBE_IPVS_OUT_FILTER: &str = "KUBE-IPVS-OUT-FILTER";

/// Upstream `iptablesChains`: (table, chain) in declaration order.
const CHAINS: [(TableName, &str); 11] = [
    (TableName::Nat, KUBE_SERVICES),
    (TableName::Nat, KUBE_POSTROUTING),
    (TableName::Nat, KUBE_NODE_PORT),
    (TableName::Nat, KUBE_LOAD_BALANCER),
    (TableName::Nat, KUBE_MARK_MASQ),
    (TableName::Filter, KUBE_FORWARD),
    (TableName::Filter, KUBE_NODE_PORT),
    (TableName::Filter, KUBE_PROXY_FIREWALL),
    (TableName::Filter, KUBE_SOURCE_RANGES_FIREWALL),
    (TableName::Filter, KUBE_IPVS_FILTER),
    (TableName::Filter, KUBE_IPVS_OUT_FILTER),
];

const fn jump(
    table: TableName,
    chain: &'static str,
    target: &'static str,
    comment: &'static str,
) -> JumpRule {
    JumpRule { table, chain, extra: "", comment: Some(comment), target }
}

/// Upstream `iptablesJumpChain`, in ensure order (each is a prepend).
const JUMPS: [JumpRule; 9] = [
    jump(TableName::Nat, "OUTPUT", KUBE_SERVICES, "kubernetes service portals"),
    jump(TableName::Nat, "PREROUTING", KUBE_SERVICES, "kubernetes service portals"),
    jump(TableName::Nat, "POSTROUTING", KUBE_POSTROUTING, "kubernetes postrouting rules"),
    jump(TableName::Filter, "FORWARD", KUBE_FORWARD, "kubernetes forwarding rules"),
    jump(TableName::Filter, "INPUT", KUBE_NODE_PORT, "kubernetes health check rules"),
    jump(TableName::Filter, "INPUT", KUBE_PROXY_FIREWALL, "kube-proxy firewall rules"),
    jump(TableName::Filter, "FORWARD", KUBE_PROXY_FIREWALL, "kube-proxy firewall rules"),
    jump(TableName::Filter, "INPUT", KUBE_IPVS_FILTER, "kubernetes ipvs access filter"),
    jump(TableName::Filter, "OUTPUT", KUBE_IPVS_OUT_FILTER, "kubernetes ipvs access filter"),
];

/// Upstream `ipsetWithIptablesChain`: (set, table, from, to, match type, `-p` protocol).
const SET_RULES: [(&str, TableName, &str, &str, &str, &str); 12] = [
    (ipset::LOOP_BACK, TableName::Nat, KUBE_POSTROUTING, "MASQUERADE", "dst,dst,src", ""),
    (ipset::LOAD_BALANCER, TableName::Nat, KUBE_SERVICES, KUBE_LOAD_BALANCER, "dst,dst", ""),
    (ipset::LOAD_BALANCER_LOCAL, TableName::Nat, KUBE_LOAD_BALANCER, "RETURN", "dst,dst", ""),
    (ipset::NODE_PORT_LOCAL_TCP, TableName::Nat, KUBE_NODE_PORT, "RETURN", "dst", "tcp"),
    (ipset::NODE_PORT_TCP, TableName::Nat, KUBE_NODE_PORT, KUBE_MARK_MASQ, "dst", "tcp"),
    (ipset::NODE_PORT_LOCAL_UDP, TableName::Nat, KUBE_NODE_PORT, "RETURN", "dst", "udp"),
    (ipset::NODE_PORT_UDP, TableName::Nat, KUBE_NODE_PORT, KUBE_MARK_MASQ, "dst", "udp"),
    (ipset::NODE_PORT_LOCAL_SCTP, TableName::Nat, KUBE_NODE_PORT, "RETURN", "dst,dst", "sctp"),
    (ipset::NODE_PORT_SCTP, TableName::Nat, KUBE_NODE_PORT, KUBE_MARK_MASQ, "dst,dst", "sctp"),
    (
        ipset::LOAD_BALANCER_FW,
        TableName::Filter,
        KUBE_PROXY_FIREWALL,
        KUBE_SOURCE_RANGES_FIREWALL,
        "dst,dst",
        "",
    ),
    (
        ipset::LOAD_BALANCER_SOURCE_CIDR,
        TableName::Filter,
        KUBE_SOURCE_RANGES_FIREWALL,
        "RETURN",
        "dst,dst,src",
        "",
    ),
    (
        ipset::LOAD_BALANCER_SOURCE_IP,
        TableName::Filter,
        KUBE_SOURCE_RANGES_FIREWALL,
        "RETURN",
        "dst,dst,src",
        "",
    ),
];

/// A LoadBalancer address whose `loadBalancerSourceRanges` leave out the node IP (upstream
/// `lbNoNodeAccessIPPortProtocolEntry`): the node's own connections to it are dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LbNoNodeAccess {
    /// The LB ingress IP.
    pub ip: std::net::Ipv4Addr,
    /// `tcp`, `udp` or `sctp`.
    pub proto: &'static str,
    /// The service port.
    pub port: u16,
}

fn comment(set: &str) -> String {
    format!("-m comment --comment \"{}\"", ipset::set_info(set).map_or("", |s| s.comment))
}

/// The `*nat` and `*filter` restore input of one sync, given the sets' members and the LB
/// addresses the node may not reach.
pub fn write(
    config: &ProxyConfig,
    sets: &SetEntries,
    lb_no_node_access: &[LbNoNodeAccess],
) -> (String, String) {
    let mut nat = String::from("*nat\n");
    let mut filter = String::from("*filter\n");
    for (table, chain) in CHAINS {
        let buf = if table == TableName::Nat { &mut nat } else { &mut filter };
        let _ = writeln!(buf, ":{chain} - [0:0]");
    }
    let mark = config.masquerade_mark();
    let _ = writeln!(nat, "-A {KUBE_SERVICES} -s 127.0.0.0/8 -j RETURN");
    for (set, table, from, to, match_type, proto) in SET_RULES {
        if sets.is_empty(set) {
            continue;
        }
        let buf = if table == TableName::Nat { &mut nat } else { &mut filter };
        let p = if proto.is_empty() { String::new() } else { format!(" -p {proto}") };
        let _ = writeln!(buf, "-A {from}{p} {} -m set --match-set {set} {match_type} -j {to}", comment(set));
    }
    if !sets.is_empty(ipset::CLUSTER_IP) {
        let head = format!(
            "-A {KUBE_SERVICES} {} -m set --match-set {}",
            comment(ipset::CLUSTER_IP),
            ipset::CLUSTER_IP
        );
        if config.masquerade_all {
            let _ = writeln!(nat, "{head} dst,dst -j {KUBE_MARK_MASQ}");
        } else if config.local_detector.is_implemented() {
            let _ =
                writeln!(nat, "{head} dst,dst {} -j {KUBE_MARK_MASQ}", config.local_detector.if_not_local());
        } else {
            let _ = writeln!(nat, "{head} src,dst -j {KUBE_MARK_MASQ}");
        }
    }
    let external_rules = |nat: &mut String, head: &str| {
        let _ = writeln!(nat, "{head} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT");
        let _ = writeln!(nat, "{head} -m addrtype --dst-type LOCAL -j ACCEPT");
    };
    if !sets.is_empty(ipset::EXTERNAL_IP) {
        let head = format!(
            "-A {KUBE_SERVICES} {} -m set --match-set {} dst,dst",
            comment(ipset::EXTERNAL_IP),
            ipset::EXTERNAL_IP
        );
        let _ = writeln!(nat, "{head} -j {KUBE_MARK_MASQ}");
        external_rules(&mut nat, &head);
    }
    if !sets.is_empty(ipset::EXTERNAL_IP_LOCAL) {
        let head = format!(
            "-A {KUBE_SERVICES} {} -m set --match-set {} dst,dst",
            comment(ipset::EXTERNAL_IP_LOCAL),
            ipset::EXTERNAL_IP_LOCAL
        );
        external_rules(&mut nat, &head);
    }
    let _ = writeln!(nat, "-A {KUBE_SERVICES} -m addrtype --dst-type LOCAL -j {KUBE_NODE_PORT}");
    let _ = writeln!(nat, "-A {KUBE_LOAD_BALANCER} -j {KUBE_MARK_MASQ}");
    let _ = writeln!(filter, "-A {KUBE_SOURCE_RANGES_FIREWALL} -j DROP");
    // "disable LB access from node / for IPVS src and dst both would be lbIP": the packet a
    // node process sends to the LB IP (bound to kube-ipvs0, so also its source), once IPVS
    // has scheduled it and it passes LOCAL_OUT again.
    for e in lb_no_node_access {
        let _ = writeln!(
            filter,
            "-A {KUBE_IPVS_OUT_FILTER} -s {ip} -m ipvs --vaddr {ip} --vproto {} --vport {} -j DROP",
            e.proto,
            e.port,
            ip = e.ip
        );
    }
    // acceptIPVSTraffic: the last rules of KUBE-SERVICES.
    for set in [ipset::CLUSTER_IP, ipset::LOAD_BALANCER] {
        if !sets.is_empty(set) {
            let _ = writeln!(nat, "-A {KUBE_SERVICES} -m set --match-set {set} dst,dst -j ACCEPT");
        }
    }
    let _ = writeln!(
        filter,
        "-A {KUBE_FORWARD} -m comment --comment \"kubernetes forwarding rules\" -m mark --mark {mark}/{mark} -j ACCEPT"
    );
    let _ = writeln!(
        filter,
        "-A {KUBE_FORWARD} -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
    );
    let _ = writeln!(
        filter,
        "-A {KUBE_NODE_PORT} {} -m set --match-set {} dst -j ACCEPT",
        comment(ipset::HEALTH_CHECK_NODE_PORT),
        ipset::HEALTH_CHECK_NODE_PORT
    );
    for set in [ipset::LOAD_BALANCER, ipset::CLUSTER_IP, ipset::EXTERNAL_IP, ipset::EXTERNAL_IP_LOCAL] {
        let _ = writeln!(filter, "-A {KUBE_IPVS_FILTER} -m set --match-set {set} dst,dst -j RETURN");
    }
    let _ = writeln!(
        filter,
        "-A {KUBE_IPVS_FILTER} -m set --match-set {} dst -j RETURN",
        ipset::HEALTH_CHECK_NODE_PORT
    );
    let _ = writeln!(
        filter,
        "-A {KUBE_IPVS_FILTER} -m conntrack --ctstate NEW -m set --match-set {} dst -j REJECT",
        ipset::IPVS_IPS
    );
    let _ = writeln!(nat, "-A {KUBE_POSTROUTING} -m mark ! --mark {mark}/{mark} -j RETURN");
    let _ = writeln!(nat, "-A {KUBE_POSTROUTING} -j MARK --xor-mark {mark}");
    let fully = if config.random_fully { " --random-fully" } else { "" };
    let _ = writeln!(
        nat,
        "-A {KUBE_POSTROUTING} -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE{fully}"
    );
    let _ = writeln!(nat, "-A {KUBE_MARK_MASQ} -j MARK --or-mark {mark}");
    nat.push_str("COMMIT\n");
    filter.push_str("COMMIT\n");
    (nat, filter)
}

/// The ensured jumps in their final positions: by table and built-in chain, each chain in
/// reverse ensure order (every ensure is a prepend).
pub fn ensured_jump_rules() -> Vec<JumpRule> {
    let mut out = Vec::new();
    for (table, builtins) in [(TableName::Filter, &FILTER_BUILTINS[..]), (TableName::Nat, &NAT_BUILTINS[..])]
    {
        for chain in builtins {
            out.extend(JUMPS.iter().rev().filter(|j| j.table == table && j.chain == *chain).cloned());
        }
    }
    out
}

const FILTER_BUILTINS: [&str; 3] = ["INPUT", "FORWARD", "OUTPUT"];
const NAT_BUILTINS: [&str; 4] = ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"];

/// Restore input for empty tables: built-in chains, kube-proxy's chains, the ensured jumps,
/// then the sync's rules.
pub fn initial_restore(nat: &str, filter: &str) -> String {
    let jumps = ensured_jump_rules();
    let mut out = String::with_capacity(nat.len() + filter.len() + 2048);
    for (table, builtins, body) in
        [(TableName::Filter, &FILTER_BUILTINS[..], filter), (TableName::Nat, &NAT_BUILTINS[..], nat)]
    {
        let _ = writeln!(out, "*{}", table.name());
        for b in builtins {
            let _ = writeln!(out, ":{b} ACCEPT [0:0]");
        }
        let mut lines = body.lines().filter(|l| !l.starts_with('*')).peekable();
        while let Some(l) = lines.next_if(|l| l.starts_with(':')) {
            out.push_str(l);
            out.push('\n');
        }
        for j in jumps.iter().filter(|j| j.table == table) {
            out.push_str(&j.rule_text());
            out.push('\n');
        }
        for l in lines {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}
