//! The nftables proxier against upstream: `TestOverallNFTablesRules`' golden ruleset, packet
//! flows in the style of upstream's `runPacketFlowTests` (evaluated by the nftables engine),
//! and partial syncs against full ones.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use proptest::prelude::*;
use sim_core::SimTime;
use sim_net::netfilter::Netfilter;
use sim_net::netfilter::explore::{Disposition, ExploreOrigin, ExploreRequest};
use sim_net::nftables::{Family, Nftables};
use sim_net::wire::{Packet, TcpFlags};

use super::*;
use crate::kube_proxy::config::{NodePortAddresses, ProxyConfig};
use crate::kube_proxy::endpoint::{Endpoint, EndpointsMap};
use crate::kube_proxy::service_port::{
    ServicePortInfo, ServicePortName, ServiceProtocol, ServiceType, SessionAffinity, TrafficPolicy,
};

const GOLDEN: &str = include_str!("../../../../sim-net/tests/data/nft/kube-proxy.nft");
const NODE: &str = "test-node";

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
}

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap_or_default()
}

/// Upstream's `NewFakeProxier`: node 192.168.0.2, cluster CIDR 10.0.0.0/8, NodePorts on the
/// node IP only, service CIDR 172.30.0.0/16.
fn fake_config() -> ProxyConfig {
    let mut c = ProxyConfig::new(NODE, ip("192.168.0.2"), Some(net("10.0.0.0/8")));
    c.node_port_addresses = NodePortAddresses::Cidrs(vec![net("192.168.0.2/32")]);
    c.interface_addrs = vec![ip("127.0.0.1"), ip("192.168.0.2"), ip("192.168.1.2"), ip("192.168.99.11")];
    c
}

fn service_cidrs() -> Vec<Ipv4Net> {
    vec![net("172.30.0.0/16")]
}

fn port(ns: &str, name: &str) -> ServicePortName {
    ServicePortName::new(ns, name, "p80", ServiceProtocol::Tcp)
}

/// The services and endpoints of upstream's `TestOverallNFTablesRules`.
fn overall() -> (Vec<ServicePortInfo>, EndpointsMap) {
    let mut svcs = Vec::new();
    svcs.push(ServicePortInfo::cluster_ip(port("ns1", "svc1"), ip("172.30.0.41"), 80));
    let mut s2 = ServicePortInfo::cluster_ip(port("ns2", "svc2"), ip("172.30.0.42"), 80);
    s2.service_type = ServiceType::LoadBalancer;
    s2.external_traffic_policy = TrafficPolicy::Local;
    s2.node_port = Some(3001);
    s2.load_balancer_ips = vec![ip("1.2.3.4")];
    s2.external_ips = vec![ip("192.168.99.22")];
    s2.health_check_node_port = Some(30000);
    svcs.push(s2);
    let mut s3 = ServicePortInfo::cluster_ip(port("ns3", "svc3"), ip("172.30.0.43"), 80);
    s3.service_type = ServiceType::NodePort;
    s3.node_port = Some(3003);
    svcs.push(s3);
    let mut s4 = ServicePortInfo::cluster_ip(port("ns4", "svc4"), ip("172.30.0.44"), 80);
    s4.service_type = ServiceType::NodePort;
    s4.external_ips = vec![ip("192.168.99.33")];
    svcs.push(s4);
    let mut s5 = ServicePortInfo::cluster_ip(port("ns5", "svc5"), ip("172.30.0.45"), 80);
    s5.service_type = ServiceType::LoadBalancer;
    s5.node_port = Some(3002);
    s5.load_balancer_ips = vec![ip("5.6.7.8")];
    s5.health_check_node_port = Some(30000);
    s5.load_balancer_source_ranges = vec![net("203.0.113.0/25")];
    s5.session_affinity = SessionAffinity::ClientIp { timeout_seconds: 10800 };
    svcs.push(s5);
    svcs.push(ServicePortInfo::cluster_ip(port("ns6", "svc6"), ip("172.30.0.46"), 80));

    let mut eps = EndpointsMap::new();
    eps.insert(port("ns1", "svc1"), vec![Endpoint::ready(ip("10.180.0.1"), 80, None)]);
    eps.insert(port("ns2", "svc2"), vec![Endpoint::ready(ip("10.180.0.2"), 80, None)]);
    eps.insert(port("ns3", "svc3"), vec![Endpoint::ready(ip("10.180.0.3"), 80, None)]);
    eps.insert(
        port("ns4", "svc4"),
        vec![Endpoint::ready(ip("10.180.0.4"), 80, None), Endpoint::ready(ip("10.180.0.5"), 80, Some(NODE))],
    );
    eps.insert(port("ns5", "svc5"), vec![Endpoint::ready(ip("10.180.0.3"), 80, None)]);
    (svcs, eps)
}

fn full(config: &ProxyConfig, svcs: &[ServicePortInfo], eps: &EndpointsMap) -> String {
    full_sync(config, &service_cidrs(), &Desired::build(config, svcs, eps), &Existing::default())
}

fn load(text: &str) -> Nftables {
    let mut nft = Nftables::new();
    if let Err(e) = nft.apply(text) {
        panic!("{e}\n{text}");
    }
    nft
}

/// Upstream's test compares knftables' sorted dump; here: every chain and set, listed, in
/// name order (rule order within a chain and the elements' key order are kept).
fn normalized(nft: &Nftables) -> String {
    let Some(t) = nft.ruleset().table(Family::Ip, TABLE) else { return String::new() };
    let mut sets: Vec<&String> = t.sets.keys().collect();
    sets.sort();
    let mut chains: Vec<&str> = t.chains.keys().map(|k| &**k).collect();
    chains.sort();
    let mut out = String::new();
    for s in sets {
        out.push_str(&nft.list_set(Family::Ip, TABLE, s).unwrap_or_default());
    }
    for c in chains {
        out.push_str(&nft.list_chain(Family::Ip, TABLE, c).unwrap_or_default());
    }
    out
}

#[test]
fn overall_rules_match_upstream_golden() {
    let (svcs, eps) = overall();
    let ours = load(&full(&fake_config(), &svcs, &eps));
    let golden = load(GOLDEN);
    let (a, b) = (normalized(&ours), normalized(&golden));
    assert!(
        b.contains("chain service-HVFWP5L3-ns5/svc5/tcp/p80 {") && b.contains("affinity-GTK6MW7G"),
        "{b}"
    );
    if a != b {
        for d in diff_lines(&b, &a) {
            eprintln!("{d}");
        }
        panic!("generated ruleset differs from upstream's golden ruleset");
    }
}

fn diff_lines(want: &str, got: &str) -> Vec<String> {
    let w: std::collections::BTreeSet<&str> = want.lines().collect();
    let g: std::collections::BTreeSet<&str> = got.lines().collect();
    let mut out: Vec<String> = w.difference(&g).map(|l| format!("-{l}")).collect();
    out.extend(g.difference(&w).map(|l| format!("+{l}")));
    out
}

#[test]
fn resync_is_idempotent_and_loads_the_same_table() {
    let (svcs, eps) = overall();
    let config = fake_config();
    let desired = Desired::build(&config, &svcs, &eps);
    let mut nft = load(&full(&config, &svcs, &eps));
    let first = nft.list_ruleset();
    let again = full_sync(&config, &service_cidrs(), &desired, &Existing::of(nft.ruleset()));
    if let Err(e) = nft.apply(&again) {
        panic!("{e}");
    }
    assert_eq!(nft.list_ruleset(), first);
    // A partial sync with nothing changed is empty.
    assert_eq!(partial_sync(&desired, &desired), "");
}

struct Flow {
    name: &'static str,
    origin: ExploreOrigin,
    src: &'static str,
    dst: &'static str,
    dport: u16,
    /// `ip:port` of the DNAT, "REJECT" or "DROP".
    output: &'static str,
    masq: bool,
}

fn ext() -> ExploreOrigin {
    ExploreOrigin::External { in_iface: "eth0".into() }
}

/// Upstream `runPacketFlowTests`: each flow's first packet through the node's hooks.
fn run_flows(nf: &Netfilter, local_ips: &[Ipv4Addr], flows: &[Flow]) {
    for f in flows {
        let packet = Packet::tcp(ip(f.src), 40000, ip(f.dst), f.dport, TcpFlags::SYN);
        let e = nf.explore(&ExploreRequest {
            packet,
            origin: f.origin.clone(),
            local_ips: local_ips.to_vec(),
            out_iface: None,
            now: SimTime::ZERO,
        });
        let mut outputs: Vec<String> = Vec::new();
        let mut masq = None;
        for p in &e.paths {
            let out = match p.disposition {
                Disposition::Dnat => match p.dnat {
                    Some((a, Some(port))) => format!("{a}:{port}"),
                    Some((a, None)) => a.to_string(),
                    None => "?".into(),
                },
                Disposition::Reject(_) => "REJECT".into(),
                Disposition::Drop => "DROP".into(),
                Disposition::Accept | Disposition::NoRuleApplied => String::new(),
            };
            if !outputs.contains(&out) {
                outputs.push(out);
            }
            masq = Some(masq.unwrap_or(p.masquerade) && p.masquerade);
        }
        outputs.sort();
        assert_eq!(outputs.join(", "), f.output, "{}: outputs", f.name);
        if f.output != "REJECT" && f.output != "DROP" {
            assert_eq!(masq, Some(f.masq), "{}: masquerade", f.name);
        }
    }
}

fn loaded_netfilter(text: &str) -> Netfilter {
    let mut nf = Netfilter::new();
    if let Err(e) = nf.nftables_mut().apply(text) {
        panic!("{e}");
    }
    nf
}

// Upstream `TestOverallNFTablesRules` + packet flows of `TestClusterIPGeneral`,
// `TestLoadBalancer`, `TestNodePorts`, `TestExternalIPs` and `TestNoEndpointsReject`.
#[test]
fn packet_flows_through_the_overall_ruleset() {
    let (svcs, eps) = overall();
    let nf = loaded_netfilter(&full(&fake_config(), &svcs, &eps));
    let local = [ip("192.168.0.2")];
    let flows = [
        Flow {
            name: "pod to cluster IP",
            origin: ext(),
            src: "10.0.0.2",
            dst: "172.30.0.41",
            dport: 80,
            output: "10.180.0.1:80",
            masq: false,
        },
        Flow {
            name: "external to cluster IP",
            origin: ext(),
            src: "192.168.0.3",
            dst: "172.30.0.41",
            dport: 80,
            output: "10.180.0.1:80",
            masq: true,
        },
        Flow {
            name: "node to cluster IP",
            origin: ExploreOrigin::Local,
            src: "192.168.0.2",
            dst: "172.30.0.41",
            dport: 80,
            output: "10.180.0.1:80",
            masq: true,
        },
        Flow {
            name: "hairpin",
            origin: ext(),
            src: "10.180.0.1",
            dst: "172.30.0.41",
            dport: 80,
            output: "10.180.0.1:80",
            masq: true,
        },
        Flow {
            name: "external to NodePort (Cluster policy)",
            origin: ext(),
            src: "203.0.113.9",
            dst: "192.168.0.2",
            dport: 3003,
            output: "10.180.0.3:80",
            masq: true,
        },
        Flow {
            name: "external to externalIP, two endpoints",
            origin: ext(),
            src: "203.0.113.9",
            dst: "192.168.99.33",
            dport: 80,
            output: "10.180.0.4:80, 10.180.0.5:80",
            masq: true,
        },
        Flow {
            name: "external to LB IP (Local policy, no local endpoints)",
            origin: ext(),
            src: "203.0.113.9",
            dst: "1.2.3.4",
            dport: 80,
            output: "DROP",
            masq: false,
        },
        Flow {
            name: "pod to LB IP (Local policy): short-circuited",
            origin: ext(),
            src: "10.0.0.2",
            dst: "1.2.3.4",
            dport: 80,
            output: "10.180.0.2:80",
            masq: false,
        },
        Flow {
            name: "allowed source to firewalled LB IP",
            origin: ext(),
            src: "203.0.113.9",
            dst: "5.6.7.8",
            dport: 80,
            output: "10.180.0.3:80",
            masq: true,
        },
        Flow {
            name: "other source to firewalled LB IP",
            origin: ext(),
            src: "203.0.113.200",
            dst: "5.6.7.8",
            dport: 80,
            output: "DROP",
            masq: false,
        },
        Flow {
            name: "no endpoints: reject",
            origin: ext(),
            src: "10.0.0.2",
            dst: "172.30.0.46",
            dport: 80,
            output: "REJECT",
            masq: false,
        },
        Flow {
            name: "cluster IP, wrong port: reject",
            origin: ext(),
            src: "10.0.0.2",
            dst: "172.30.0.41",
            dport: 8080,
            output: "REJECT",
            masq: false,
        },
        Flow {
            name: "unallocated cluster IP: drop",
            origin: ext(),
            src: "10.0.0.2",
            dst: "172.30.0.99",
            dport: 80,
            output: "DROP",
            masq: false,
        },
    ];
    run_flows(&nf, &local, &flows);
}

// Upstream `TestInternalTrafficPolicy`-style flows, plus terminating endpoints
// (`TestEndpointCommentElision` is iptables-only).
#[test]
fn local_policies_and_terminating_endpoints() {
    let config = fake_config();
    let mut itp = ServicePortInfo::cluster_ip(port("ns1", "itp"), ip("172.30.1.1"), 80);
    itp.internal_traffic_policy = TrafficPolicy::Local;
    let mut term = ServicePortInfo::cluster_ip(port("ns1", "term"), ip("172.30.1.2"), 80);
    term.service_type = ServiceType::NodePort;
    term.node_port = Some(3100);
    term.external_traffic_policy = TrafficPolicy::Local;
    let mut eps = EndpointsMap::new();
    eps.insert(
        itp.name.clone(),
        vec![
            Endpoint::ready(ip("10.180.0.1"), 80, Some(NODE)),
            Endpoint::ready(ip("10.180.2.1"), 80, Some("other")),
        ],
    );
    let mut terminating = Endpoint::ready(ip("10.180.0.7"), 80, Some(NODE));
    terminating.ready = false;
    terminating.terminating = true;
    eps.insert(term.name.clone(), vec![terminating, Endpoint::ready(ip("10.180.3.1"), 80, Some("other"))]);
    let text = full(&config, &[itp, term], &eps);
    let nf = loaded_netfilter(&text);
    let flows = [
        Flow {
            name: "ITP Local: only the local endpoint",
            origin: ext(),
            src: "10.0.0.2",
            dst: "172.30.1.1",
            dport: 80,
            output: "10.180.0.1:80",
            masq: false,
        },
        Flow {
            name: "ETP Local NodePort: the local serving-terminating endpoint, source kept",
            origin: ext(),
            src: "203.0.113.9",
            dst: "192.168.0.2",
            dport: 3100,
            output: "10.180.0.7:80",
            masq: false,
        },
        Flow {
            name: "cluster IP of the ETP Local service: the ready endpoint elsewhere",
            origin: ext(),
            src: "10.0.0.2",
            dst: "172.30.1.2",
            dport: 80,
            output: "10.180.3.1:80",
            masq: false,
        },
    ];
    run_flows(&nf, &[ip("192.168.0.2")], &flows);
}

fn arb_state() -> impl Strategy<Value = (Vec<ServicePortInfo>, EndpointsMap)> {
    let svc = (0u8..6, any::<bool>(), 0u8..3, any::<bool>(), any::<bool>(), any::<bool>(), 0usize..4, 0u8..3);
    proptest::collection::vec(svc, 0..6).prop_map(|specs| {
        let mut svcs = Vec::new();
        let mut eps = EndpointsMap::new();
        for (i, (n, udp, kind, etp_local, itp_local, sticky, n_eps, fw)) in specs.into_iter().enumerate() {
            let proto = if udp { ServiceProtocol::Udp } else { ServiceProtocol::Tcp };
            let name = ServicePortName::new("ns", &format!("s{n}"), "p", proto);
            let mut s = ServicePortInfo::cluster_ip(name.clone(), Ipv4Addr::new(172, 30, 0, n + 1), 80);
            if kind > 0 {
                s.service_type = if kind == 1 { ServiceType::NodePort } else { ServiceType::LoadBalancer };
                s.node_port = Some(30000 + u16::from(n));
                s.external_traffic_policy =
                    if etp_local { TrafficPolicy::Local } else { TrafficPolicy::Cluster };
            }
            if kind == 2 {
                s.load_balancer_ips = vec![Ipv4Addr::new(5, 6, 7, n + 1)];
                if fw > 0 {
                    s.load_balancer_source_ranges = vec![net("203.0.113.0/25")];
                }
            }
            if fw == 2 {
                s.external_ips = vec![Ipv4Addr::new(192, 168, 99, n + 1)];
            }
            if itp_local {
                s.internal_traffic_policy = TrafficPolicy::Local;
            }
            if sticky {
                s.session_affinity = SessionAffinity::ClientIp { timeout_seconds: 10800 };
            }
            let list: Vec<Endpoint> = (0..n_eps)
                .map(|k| {
                    let node = if (k + i) % 2 == 0 { NODE } else { "other" };
                    let mut e = Endpoint::ready(Ipv4Addr::new(10, 180, n, k as u8 + 1), 8080, Some(node));
                    if k == 2 {
                        e.ready = false;
                        e.terminating = true;
                    }
                    e
                })
                .collect();
            eps.insert(name, list);
            svcs.push(s);
        }
        (svcs, eps)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A partial sync from `old` to `new` leaves the same table, byte for byte, as a full
    /// resync of `new` over `old`, and the same rules as a fresh full sync of `new`.
    #[test]
    fn partial_sync_equals_full_resync((old_s, old_e) in arb_state(), (new_s, new_e) in arb_state()) {
        let config = fake_config();
        let old = Desired::build(&config, &old_s, &old_e);
        let new = Desired::build(&config, &new_s, &new_e);
        let base = full_sync(&config, &service_cidrs(), &old, &Existing::default());

        let mut partial = load(&base);
        let p = partial_sync(&old, &new);
        if let Err(e) = partial.apply(&p) {
            panic!("{e}\n{p}");
        }
        let mut resync = load(&base);
        let f = full_sync(&config, &service_cidrs(), &new, &Existing::of(resync.ruleset()));
        if let Err(e) = resync.apply(&f) {
            panic!("{e}\n{f}");
        }
        prop_assert_eq!(partial.list_ruleset(), resync.list_ruleset());
        let fresh = load(&full_sync(&config, &service_cidrs(), &new, &Existing::default()));
        prop_assert_eq!(normalized(&partial), normalized(&fresh));
    }
}

// Upstream `TestMasqueradeAll`-style flow, `TestLoadBalancer`'s source range that covers the
// node (the LB IP itself is then allowed as a source) and a Local-policy LB with a local
// endpoint (the client address is kept).
#[test]
fn masquerade_all_source_ranges_and_local_load_balancers() {
    let mut config = fake_config();
    config.masquerade_all = true;
    let mut lb = ServicePortInfo::cluster_ip(port("ns1", "lb"), ip("172.30.2.1"), 80);
    lb.service_type = ServiceType::LoadBalancer;
    lb.node_port = Some(3200);
    lb.load_balancer_ips = vec![ip("5.6.7.9")];
    lb.load_balancer_source_ranges = vec![net("192.168.0.0/24")];
    lb.external_traffic_policy = TrafficPolicy::Local;
    let mut eps = EndpointsMap::new();
    eps.insert(lb.name.clone(), vec![Endpoint::ready(ip("10.180.0.9"), 80, Some(NODE))]);
    let text = full(&config, &[lb], &eps);
    assert!(text.contains("ip saddr != { 192.168.0.0/24 , 5.6.7.9 } drop"), "{text}");
    let nf = loaded_netfilter(&text);
    let flows = [
        Flow {
            name: "masqueradeAll: even a pod's connection to the cluster IP",
            origin: ext(),
            src: "10.0.0.2",
            dst: "172.30.2.1",
            dport: 80,
            output: "10.180.0.9:80",
            masq: true,
        },
        Flow {
            name: "LB from an allowed source, Local policy, local endpoint: source kept",
            origin: ext(),
            src: "192.168.0.7",
            dst: "5.6.7.9",
            dport: 80,
            output: "10.180.0.9:80",
            masq: false,
        },
        Flow {
            name: "LB from a source outside the ranges",
            origin: ext(),
            src: "203.0.113.1",
            dst: "5.6.7.9",
            dport: 80,
            output: "DROP",
            masq: false,
        },
        Flow {
            name: "NodePorts are not subject to loadBalancerSourceRanges",
            origin: ext(),
            src: "203.0.113.1",
            dst: "192.168.0.2",
            dport: 3200,
            output: "10.180.0.9:80",
            masq: false,
        },
    ];
    run_flows(&nf, &[ip("192.168.0.2")], &flows);
}
