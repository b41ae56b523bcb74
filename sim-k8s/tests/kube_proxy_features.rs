//! Golden dumps for each kube-proxy feature, as insta snapshots of the restore input. Each
//! test names the upstream `proxier_test.go` test (or real dump) whose expectations it was
//! read against; the upstream fixtures themselves are compared line for line in
//! `kube_proxy_upstream.rs`.

use std::net::Ipv4Addr;

use sim_k8s::kube_proxy::{
    Endpoint, EndpointsMap, LocalTrafficDetector, NodePortAddresses, ProxyConfig, ServicePortInfo,
    ServicePortName, ServiceProtocol, ServiceType, SessionAffinity, TrafficPolicy, sync,
};

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// A kubeadm-like node: `node1` at 192.168.0.2, pod CIDR 10.244.0.0/16, upstream defaults.
fn node1() -> ProxyConfig {
    ProxyConfig::new("node1", ip("192.168.0.2"), Some("10.244.0.0/16".parse().unwrap()))
}

fn spn(ns: &str, name: &str, port: &str, proto: ServiceProtocol) -> ServicePortName {
    ServicePortName::new(ns, name, port, proto)
}

fn tcp(ns: &str, name: &str, port: &str) -> ServicePortName {
    spn(ns, name, port, ServiceProtocol::Tcp)
}

fn ep(addr: &str, port: u16, node: &str) -> Endpoint {
    Endpoint::ready(ip(addr), port, Some(node))
}

fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

/// Article 004 ("Service external access"): NodePort `my-nginx`, nodePort 8080 → pod port
/// 80 and 443 → 443, pods on two nodes, viewed from node1. The article shows an older
/// kube-proxy (`-j KUBE-SVC-…` straight from KUBE-NODEPORTS, comment "default/my-nginx:
/// nodePort"); current kube-proxy goes through KUBE-EXT-…, which marks for masquerade.
#[test]
fn article_004_nodeport() {
    let mut http = ServicePortInfo::cluster_ip(tcp("default", "my-nginx", "http"), ip("10.96.12.34"), 8080);
    http.service_type = ServiceType::NodePort;
    http.node_port = Some(8080);
    let mut https = ServicePortInfo::cluster_ip(tcp("default", "my-nginx", "https"), ip("10.96.12.34"), 443);
    https.service_type = ServiceType::NodePort;
    https.node_port = Some(443);
    let mut eps = EndpointsMap::new();
    eps.insert(
        tcp("default", "my-nginx", "http"),
        vec![ep("10.244.1.5", 80, "node1"), ep("10.244.2.6", 80, "node2")],
    );
    eps.insert(
        tcp("default", "my-nginx", "https"),
        vec![ep("10.244.1.5", 443, "node1"), ep("10.244.2.6", 443, "node2")],
    );
    let r = sync(&node1(), &[http, https], &eps);

    // Per NodePort: a counted localhost rule (nfacct, route_localnet) and the general one.
    let nodeports = lines_with(&r.nat, "-A KUBE-NODEPORTS");
    assert_eq!(nodeports.len(), 4);
    assert!(nodeports[0].starts_with(
        "-A KUBE-NODEPORTS -m comment --comment default/my-nginx:http -m tcp -p tcp -d 127.0.0.0/8 --dport 8080 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-"
    ));
    assert!(nodeports[1].starts_with(
        "-A KUBE-NODEPORTS -m comment --comment default/my-nginx:http -m tcp -p tcp --dport 8080 -j KUBE-EXT-"
    ));
    assert!(r.nat.contains(
        "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully"
    ));
    assert!(r.nat.contains("-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN"));
    insta::assert_snapshot!(r.restore_input());
}

/// The kube-dns and `jtest` lines of the real kubeadm + flannel dump in formats.md §1.1, in
/// the form kube-proxy writes them (iptables-save reorders matches and adds `/32`).
#[test]
fn real_dump_kube_dns_and_nodeport() {
    let dns = ServicePortInfo::cluster_ip(
        spn("kube-system", "kube-dns", "dns", ServiceProtocol::Udp),
        ip("10.96.0.10"),
        53,
    );
    let mut jtest = ServicePortInfo::cluster_ip(tcp("default", "jtest", ""), ip("10.96.200.1"), 80);
    jtest.service_type = ServiceType::NodePort;
    jtest.node_port = Some(31455);
    let mut eps = EndpointsMap::new();
    // Given in reverse: kube-proxy orders endpoints by "ip:port" text.
    eps.insert(
        spn("kube-system", "kube-dns", "dns", ServiceProtocol::Udp),
        vec![ep("10.244.0.9", 53, "master"), ep("10.244.0.8", 53, "master")],
    );
    eps.insert(tcp("default", "jtest", ""), vec![ep("10.244.1.2", 80, "node1")]);
    let r = sync(&node1(), &[dns, jtest], &eps);
    let want = [
        "-A KUBE-SERVICES -m comment --comment \"kube-system/kube-dns:dns cluster IP\" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU",
        "-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment \"kube-system/kube-dns:dns cluster IP\" -m udp -p udp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ",
        "-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment \"kube-system/kube-dns:dns -> 10.244.0.8:53\" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-SISP6ORRA37L3ZYK",
        "-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment \"kube-system/kube-dns:dns -> 10.244.0.9:53\" -j KUBE-SEP-LBMQNJ35ID4UIQ2A",
        "-A KUBE-SEP-LBMQNJ35ID4UIQ2A -m comment --comment kube-system/kube-dns:dns -s 10.244.0.9 -j KUBE-MARK-MASQ",
        "-A KUBE-SEP-LBMQNJ35ID4UIQ2A -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.0.9:53",
        "-A KUBE-NODEPORTS -m comment --comment default/jtest -m tcp -p tcp --dport 31455 -j KUBE-EXT-FXJ34XFJ55FJZHFP",
        "-A KUBE-EXT-FXJ34XFJ55FJZHFP -m comment --comment \"masquerade traffic for default/jtest external destinations\" -j KUBE-MARK-MASQ",
        "-A KUBE-EXT-FXJ34XFJ55FJZHFP -j KUBE-SVC-FXJ34XFJ55FJZHFP",
        "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS",
    ];
    for line in want {
        assert!(r.nat.lines().any(|l| l == line), "missing: {line}\n{}", r.nat);
    }
}

/// Upstream `TestNoEndpointsReject`: every destination of an endpoint-less service is
/// REJECTed in the filter table and nothing is written to nat.
#[test]
fn no_endpoints_reject() {
    let mut s = ServicePortInfo::cluster_ip(tcp("ns1", "svc1", "p80"), ip("172.30.0.41"), 80);
    s.service_type = ServiceType::LoadBalancer;
    s.external_ips = vec![ip("192.168.99.11")];
    s.node_port = Some(3001);
    s.load_balancer_ips = vec![ip("1.2.3.4")];
    let r = sync(&node1(), &[s], &EndpointsMap::new());
    assert!(!r.nat.contains("KUBE-SVC-"));
    insta::assert_snapshot!(r.filter);
}

/// Upstream `TestOnlyLocalNodePorts` / `TestOnlyLocalLoadBalancing`: externalTrafficPolicy
/// Local with one local and one remote endpoint — KUBE-SVL holds only the local one, KUBE-EXT
/// short-circuits pod and host traffic to KUBE-SVC; a health-check port is opened.
#[test]
fn external_traffic_policy_local() {
    let mut s = ServicePortInfo::cluster_ip(tcp("ns1", "svc1", "p80"), ip("172.30.0.41"), 80);
    s.service_type = ServiceType::LoadBalancer;
    s.node_port = Some(3001);
    s.load_balancer_ips = vec![ip("1.2.3.4")];
    s.external_traffic_policy = TrafficPolicy::Local;
    s.health_check_node_port = Some(30000);
    let mut eps = EndpointsMap::new();
    eps.insert(tcp("ns1", "svc1", "p80"), vec![ep("10.244.1.1", 80, "node1"), ep("10.244.2.1", 80, "node2")]);
    let r = sync(&node1(), &[s.clone()], &eps);
    assert_eq!(r.health_checks.len(), 1);
    assert_eq!(r.health_checks[0].local_endpoints, 1);
    insta::assert_snapshot!("etp_local_with_local_endpoint", r.restore_input());

    // Article 004 §3: a node without a local pod drops external traffic.
    eps.insert(tcp("ns1", "svc1", "p80"), vec![ep("10.244.2.1", 80, "node2")]);
    let r = sync(&node1(), &[s], &eps);
    assert_eq!(r.health_checks[0].local_endpoints, 0);
    assert_eq!(r.health_checks[0].respond(true).status, 503);
    assert_eq!(r.stats.no_local_endpoints_external, 1);
    insta::assert_snapshot!("etp_local_without_local_endpoint", r.restore_input());
}

/// Upstream `TestInternalTrafficPolicy`: with internalTrafficPolicy Local the cluster IP goes
/// to KUBE-SVL with only local endpoints, or is DROPped when there are none.
#[test]
fn internal_traffic_policy_local() {
    let mut s = ServicePortInfo::cluster_ip(tcp("ns1", "svc1", ""), ip("172.30.1.1"), 80);
    s.internal_traffic_policy = TrafficPolicy::Local;
    let mut eps = EndpointsMap::new();
    eps.insert(
        tcp("ns1", "svc1", ""),
        vec![ep("10.0.1.1", 80, "node1"), ep("10.0.1.2", 80, "node1"), ep("10.0.1.3", 80, "node2")],
    );
    let r = sync(&node1(), &[s.clone()], &eps);
    insta::assert_snapshot!("itp_local_two_local_endpoints", r.nat);

    eps.insert(tcp("ns1", "svc1", ""), vec![ep("10.0.1.3", 80, "node2")]);
    let r = sync(&node1(), &[s], &eps);
    assert_eq!(
        lines_with(&r.filter, "has no local endpoints"),
        [
            "-A KUBE-SERVICES -m comment --comment \"ns1/svc1 has no local endpoints\" -m tcp -p tcp -d 172.30.1.1 --dport 80 -j DROP"
        ]
    );
    assert!(!r.nat.contains("KUBE-SVL-"));
}

/// Upstream `TestTerminatingEndpointsTrafficPolicyCluster` / `…Local`: with no ready
/// endpoint, serving-and-terminating ones are used; non-serving ones never are.
#[test]
fn terminating_endpoints_fallback() {
    let mut s = ServicePortInfo::cluster_ip(tcp("ns1", "svc1", ""), ip("172.30.1.1"), 80);
    s.service_type = ServiceType::LoadBalancer;
    s.load_balancer_ips = vec![ip("1.2.3.4")];
    s.external_traffic_policy = TrafficPolicy::Local;
    s.health_check_node_port = Some(30000);
    let term = |a: &str, node: &str, serving: bool| Endpoint {
        ip: ip(a),
        port: 80,
        node_name: Some(node.to_owned()),
        ready: false,
        serving,
        terminating: true,
    };
    let mut eps = EndpointsMap::new();
    eps.insert(
        tcp("ns1", "svc1", ""),
        vec![
            term("10.0.1.1", "node1", true),
            term("10.0.1.2", "node1", false),
            term("10.0.1.5", "node2", true),
        ],
    );
    let r = sync(&node1(), &[s], &eps);
    // The health check reports no ready local endpoint even though traffic still flows.
    assert_eq!(r.health_checks[0].local_endpoints, 0);
    assert!(!r.nat.contains("10.0.1.2:80"));
    insta::assert_snapshot!(r.nat);
}

/// Upstream `TestLoadBalancer`: two LB IPs, source ranges that include the node IP, so the
/// KUBE-FW chain also admits traffic sourced from the LB IPs themselves.
#[test]
fn load_balancer_source_ranges() {
    let mut s = ServicePortInfo::cluster_ip(tcp("ns1", "svc1", "p80"), ip("172.30.0.41"), 80);
    s.service_type = ServiceType::LoadBalancer;
    s.node_port = Some(3001);
    s.load_balancer_ips = vec![ip("1.2.3.4"), ip("5.6.7.8")];
    s.load_balancer_source_ranges =
        vec!["192.168.0.0/24".parse().unwrap(), "203.0.113.0/25".parse().unwrap()];
    let mut eps = EndpointsMap::new();
    eps.insert(tcp("ns1", "svc1", "p80"), vec![ep("10.180.0.1", 80, "node2")]);
    let r = sync(&node1(), &[s], &eps);
    insta::assert_snapshot!(r.restore_input());
}

/// Session affinity ClientIP over three endpoints (upstream `TestOverallIPTablesRules` svc5
/// shape): `-m recent --rcheck` rules first, then the statistic spread 1/3, 1/2, rest.
#[test]
fn session_affinity_and_spread() {
    let mut s = ServicePortInfo::cluster_ip(tcp("ns1", "svc1", "p80"), ip("172.30.0.41"), 80);
    s.session_affinity = SessionAffinity::ClientIp { timeout_seconds: 10800 };
    let mut eps = EndpointsMap::new();
    eps.insert(
        tcp("ns1", "svc1", "p80"),
        vec![ep("10.180.0.1", 80, "node1"), ep("10.180.0.2", 80, "node2"), ep("10.180.0.3", 80, "node2")],
    );
    let r = sync(&node1(), &[s], &eps);
    let spread: Vec<&str> = lines_with(&r.nat, "--probability");
    assert!(spread[0].contains("--probability 0.3333333333"));
    assert!(spread[1].contains("--probability 0.5000000000"));
    insta::assert_snapshot!(r.nat);
}

/// Upstream `TestNodePorts` ("localhost-nodeports disabled, localhost in nodeport-addresses")
/// and `TestNodePortsAddresses`-style explicit CIDRs: one `-d <node IP>` tail rule per
/// matching interface address, loopback skipped when localhost NodePorts are off.
#[test]
fn node_port_addresses_restrict_tail_rules() {
    let mut c = node1();
    c.interface_addrs = vec![ip("127.0.0.1"), ip("192.168.0.2"), ip("192.168.1.2")];
    c.node_port_addresses =
        NodePortAddresses::Cidrs(vec!["192.168.0.0/24".parse().unwrap(), "127.0.0.1/32".parse().unwrap()]);
    c.localhost_node_ports = false;
    let mut s = ServicePortInfo::cluster_ip(tcp("ns1", "svc1", "p80"), ip("172.30.0.41"), 80);
    s.service_type = ServiceType::NodePort;
    s.node_port = Some(3001);
    let mut eps = EndpointsMap::new();
    eps.insert(tcp("ns1", "svc1", "p80"), vec![ep("10.180.0.1", 80, "node1")]);
    let r = sync(&c, std::slice::from_ref(&s), &eps);
    assert_eq!(
        lines_with(&r.nat, "kubernetes service nodeports"),
        [
            "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -d 192.168.0.2 -j KUBE-NODEPORTS"
        ]
    );
    assert!(!r.filter.contains("KUBE-FIREWALL"));

    // Defaults but localhost NodePorts off: match all local addresses except 127/8.
    let mut c = node1();
    c.localhost_node_ports = false;
    let r = sync(&c, std::slice::from_ref(&s), &eps);
    assert!(r.nat.contains("-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS"));

    // "primary": only the node IP; 127/8 not covered, so no KUBE-FIREWALL rule either.
    let mut c = node1();
    c.node_port_addresses = NodePortAddresses::Primary;
    let r = sync(&c, &[s], &eps);
    assert!(r.nat.contains("-d 192.168.0.2 -j KUBE-NODEPORTS"));
    assert!(!r.filter.contains("block incoming localnet"));
}

/// `--masquerade-all` masquerades every cluster-IP connection; with no local detector and no
/// masquerade-all, no KUBE-MARK-MASQ rule is written in the service chain at all
/// (upstream `TestMasqueradeRule` / `TestClusterIPGeneral` shapes).
#[test]
fn masquerade_all_and_no_detector() {
    let s = ServicePortInfo::cluster_ip(tcp("ns1", "svc1", "p80"), ip("172.30.0.41"), 80);
    let mut eps = EndpointsMap::new();
    eps.insert(tcp("ns1", "svc1", "p80"), vec![ep("10.180.0.1", 80, "node1")]);
    let mut c = node1();
    c.masquerade_all = true;
    let r = sync(&c, std::slice::from_ref(&s), &eps);
    assert_eq!(
        lines_with(&r.nat, "-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 cluster IP\""),
        [
            "-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 cluster IP\" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-MARK-MASQ"
        ]
    );
    let mut c = node1();
    c.local_detector = LocalTrafficDetector::None;
    let r = sync(&c, &[s], &eps);
    assert!(lines_with(&r.nat, "cluster IP\" -m tcp -p tcp -d 172.30.0.41 --dport 80 ").len() == 1);
    assert!(!r.nat.contains("-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 cluster IP\""));
}

/// Article 004 §4: `externalIPs: [80.11.12.10]` on a ClusterIP service.
#[test]
fn external_ips() {
    let mut s = ServicePortInfo::cluster_ip(tcp("default", "my-service", "http"), ip("10.96.0.50"), 80);
    s.external_ips = vec![ip("80.11.12.10")];
    let mut eps = EndpointsMap::new();
    eps.insert(tcp("default", "my-service", "http"), vec![ep("10.244.1.7", 9376, "node1")]);
    let r = sync(&node1(), &[s], &eps);
    insta::assert_snapshot!(r.nat);
}

/// What an empty node looks like after kubelet and a sync (for loading into empty tables).
#[test]
fn initial_restore_for_empty_tables() {
    let s = ServicePortInfo::cluster_ip(tcp("default", "kubernetes", "https"), ip("10.96.0.1"), 443);
    let mut eps = EndpointsMap::new();
    eps.insert(tcp("default", "kubernetes", "https"), vec![ep("192.168.205.145", 6443, "master")]);
    let r = sync(&node1(), &[s], &eps);
    let text = r.initial_restore();
    assert!(text.contains(":KUBE-SEP-UUBFDOGZKSZ6QOBE - [0:0]"));
    assert!(text.contains("KUBE-SVC-NPX46M4PTMTKRN6Y"));
    insta::assert_snapshot!(text);
}

/// Both traffic policies Local on a NodePort (found by the proptest: upstream's
/// `UsesClusterEndpoints` keeps KUBE-SVC for the short-circuit rules even then). The cluster
/// IP goes to KUBE-SVL; KUBE-EXT sends pod and host traffic to KUBE-SVC.
#[test]
fn both_traffic_policies_local() {
    let mut s = ServicePortInfo::cluster_ip(tcp("ns1", "svc1", "p80"), ip("172.30.0.41"), 80);
    s.service_type = ServiceType::NodePort;
    s.node_port = Some(3001);
    s.external_traffic_policy = TrafficPolicy::Local;
    s.internal_traffic_policy = TrafficPolicy::Local;
    let mut eps = EndpointsMap::new();
    eps.insert(tcp("ns1", "svc1", "p80"), vec![ep("10.244.1.1", 80, "node1"), ep("10.244.2.1", 80, "node2")]);
    let r = sync(&node1(), &[s], &eps);
    assert!(r.nat.contains(":KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]"));
    assert!(r.nat.contains(":KUBE-SVL-XPGD46QRK7WJZT7O - [0:0]"));
    insta::assert_snapshot!(r.nat);
}

/// Article 001 ("Layer-4 proxy Service") cluster as node01 (10.32.1.148) programs it in
/// iptables mode: the `kubernetes` service, ClusterIP `my-nginx`, NodePort
/// `my-nginx-nodeport` (30380) and the selector-less `mysql` whose hand-written endpoint
/// (10.32.1.149:3306, no nodeName) is outside the pod CIDR.
#[test]
fn article_001_cluster_on_node01() {
    let mut c = ProxyConfig::new("node01", ip("10.32.1.148"), Some("10.244.0.0/16".parse().unwrap()));
    c.interface_addrs = vec![ip("127.0.0.1"), ip("10.32.1.148"), ip("172.17.0.1")];
    let kubernetes = ServicePortInfo::cluster_ip(tcp("default", "kubernetes", "https"), ip("10.96.0.1"), 443);
    let my_nginx = ServicePortInfo::cluster_ip(tcp("default", "my-nginx", ""), ip("10.102.168.76"), 80);
    let mut nodeport =
        ServicePortInfo::cluster_ip(tcp("default", "my-nginx-nodeport", ""), ip("10.107.198.159"), 80);
    nodeport.service_type = ServiceType::NodePort;
    nodeport.node_port = Some(30380);
    let mysql = ServicePortInfo::cluster_ip(tcp("default", "mysql", ""), ip("10.104.34.181"), 3306);
    let mut eps = EndpointsMap::new();
    eps.insert(tcp("default", "kubernetes", "https"), vec![Endpoint::ready(ip("10.32.1.147"), 6443, None)]);
    eps.insert(
        tcp("default", "my-nginx", ""),
        vec![ep("10.244.140.79", 80, "node02"), ep("10.244.196.136", 80, "node01")],
    );
    eps.insert(
        tcp("default", "my-nginx-nodeport", ""),
        vec![ep("10.244.196.137", 80, "node01"), ep("10.244.140.80", 80, "node02")],
    );
    eps.insert(tcp("default", "mysql", ""), vec![Endpoint::ready(ip("10.32.1.149"), 3306, None)]);
    let r = sync(&c, &[kubernetes, my_nginx, nodeport, mysql], &eps);
    // The `kubernetes` service chain is the one in every real dump (formats.md §1.2).
    assert!(r.nat.contains(":KUBE-SVC-NPX46M4PTMTKRN6Y - [0:0]"));
    insta::assert_snapshot!(r.nat);
}

/// Article 003: NodePort `nginx-nodeport-service` (30001) with three nginx pods, one per node:
/// a three-way spread (1/3, then 1/2, then the rest).
#[test]
fn article_003_three_way_nodeport() {
    let mut s =
        ServicePortInfo::cluster_ip(tcp("default", "nginx-nodeport-service", ""), ip("10.97.5.20"), 80);
    s.service_type = ServiceType::NodePort;
    s.node_port = Some(30001);
    let mut eps = EndpointsMap::new();
    eps.insert(
        tcp("default", "nginx-nodeport-service", ""),
        vec![ep("10.244.1.2", 80, "node1"), ep("10.244.2.2", 80, "node2"), ep("10.244.3.2", 80, "node3")],
    );
    let r = sync(&node1(), &[s], &eps);
    let spread = lines_with(&r.nat, "-> 10.244.");
    assert_eq!(spread.len(), 3);
    assert!(spread[0].contains("--probability 0.3333333333"));
    assert!(spread[1].contains("--probability 0.5000000000"));
    assert!(!spread[2].contains("statistic"));
    insta::assert_snapshot!(r.nat);
}
