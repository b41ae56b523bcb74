//! Golden tests against upstream kube-proxy's own fixtures
//! (kubernetes/kubernetes `pkg/proxy/iptables/proxier_test.go`, 1.31+). Each test builds the
//! same services and endpoints as the named upstream test, with `NewFakeProxier`'s settings
//! (node `test-node`, pod CIDR 10.0.0.0/8, nfacct counters present, no `--random-fully`), and
//! checks that our restore input, loaded and grouped by chain, equals upstream's expected
//! text: the same chains are declared and every chain has the same rules in the same order.
//! The one deliberate difference: the fake proxier hard-codes the mark `0x4000`, while the real
//! kube-proxy writes Go's `%#08x` (`0x00004000`); we write the real form and normalise here.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use sim_k8s::kube_proxy::{
    Endpoint, EndpointsMap, ProxyConfig, ServicePortInfo, ServicePortName, ServiceProtocol, ServiceType,
    SessionAffinity, TrafficPolicy, sync,
};

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// `NewFakeProxier`'s configuration.
fn fake_config() -> ProxyConfig {
    let mut c = ProxyConfig::new("test-node", ip("192.168.0.2"), Some("10.0.0.0/8".parse().unwrap()));
    c.interface_addrs = vec![ip("127.0.0.1"), ip("192.168.0.2"), ip("192.168.1.2"), ip("192.168.99.11")];
    c.nfacct = true;
    c.random_fully = false;
    c
}

fn spn(ns: &str, name: &str, port: &str) -> ServicePortName {
    ServicePortName::new(ns, name, port, ServiceProtocol::Tcp)
}

fn svc(ns: &str, name: &str, cluster_ip: &str) -> ServicePortInfo {
    ServicePortInfo::cluster_ip(spn(ns, name, "p80"), ip(cluster_ip), 80)
}

fn ep(addr: &str, node: Option<&str>) -> Endpoint {
    Endpoint::ready(ip(addr), 80, node)
}

/// A table's restore text as: declared chains (sorted) and each chain's rules in order.
type Table = (Vec<String>, BTreeMap<String, Vec<String>>);

fn parse(text: &str) -> BTreeMap<String, Table> {
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let line = line.replace("0x00004000", "0x4000");
        if let Some(t) = line.strip_prefix('*') {
            current = t.to_owned();
            tables.entry(current.clone()).or_default();
        } else if let Some(c) = line.strip_prefix(':') {
            let name = c.split(' ').next().unwrap().to_owned();
            tables.get_mut(&current).unwrap().0.push(name);
        } else if let Some(rule) = line.strip_prefix("-A ") {
            let chain = rule.split(' ').next().unwrap().to_owned();
            tables.get_mut(&current).unwrap().1.entry(chain).or_default().push(line.clone());
        } else {
            assert_eq!(line, "COMMIT", "unexpected line");
        }
    }
    for t in tables.values_mut() {
        t.0.sort();
        let before = t.0.len();
        t.0.dedup();
        assert_eq!(before, t.0.len(), "a chain is declared twice");
    }
    tables
}

fn assert_same_tables(ours: &str, upstream: &str) {
    let (ours, upstream) = (parse(ours), parse(upstream));
    for (name, (uc, ur)) in &upstream {
        let (oc, or) = ours.get(name).unwrap_or_else(|| panic!("missing table {name}"));
        assert_eq!(oc, uc, "declared chains of table {name}");
        for (chain, rules) in ur {
            assert_eq!(or.get(chain), Some(rules), "rules of {name} {chain}");
        }
        assert_eq!(
            or.keys().collect::<Vec<_>>(),
            ur.keys().collect::<Vec<_>>(),
            "chains with rules in {name}"
        );
    }
    assert_eq!(ours.keys().collect::<Vec<_>>(), upstream.keys().collect::<Vec<_>>());
}

/// Mirrors upstream `TestOverallIPTablesRules`.
#[test]
fn overall_iptables_rules() {
    let mut services = Vec::new();
    services.push(svc("ns1", "svc1", "172.30.0.41"));

    let mut s2 = svc("ns2", "svc2", "172.30.0.42");
    s2.service_type = ServiceType::LoadBalancer;
    s2.external_traffic_policy = TrafficPolicy::Local;
    s2.node_port = Some(3001);
    s2.load_balancer_ips = vec![ip("1.2.3.4")];
    s2.external_ips = vec![ip("192.168.99.22")];
    s2.health_check_node_port = Some(30000);
    services.push(s2);

    let mut s3 = svc("ns3", "svc3", "172.30.0.43");
    s3.service_type = ServiceType::NodePort;
    s3.node_port = Some(3003);
    services.push(s3);

    let mut s4 = svc("ns4", "svc4", "172.30.0.44");
    s4.service_type = ServiceType::NodePort;
    s4.external_ips = vec![ip("192.168.99.33")];
    services.push(s4);

    let mut s5 = svc("ns5", "svc5", "172.30.0.45");
    s5.service_type = ServiceType::LoadBalancer;
    s5.node_port = Some(3002);
    s5.load_balancer_ips = vec![ip("5.6.7.8")];
    s5.health_check_node_port = Some(30000);
    s5.load_balancer_source_ranges = vec!["203.0.113.0/25".parse().unwrap()];
    s5.session_affinity = SessionAffinity::ClientIp { timeout_seconds: 10800 };
    services.push(s5);

    services.push(svc("ns6", "svc6", "172.30.0.46"));

    let mut eps = EndpointsMap::new();
    eps.insert(spn("ns1", "svc1", "p80"), vec![ep("10.180.0.1", None)]);
    eps.insert(spn("ns2", "svc2", "p80"), vec![ep("10.180.0.2", None)]);
    eps.insert(spn("ns3", "svc3", "p80"), vec![ep("10.180.0.3", None)]);
    eps.insert(spn("ns4", "svc4", "p80"), vec![ep("10.180.0.4", None), ep("10.180.0.5", Some("test-node"))]);
    eps.insert(spn("ns5", "svc5", "p80"), vec![ep("10.180.0.3", None)]);

    let result = sync(&fake_config(), &services, &eps);
    assert_same_tables(&result.restore_input(), OVERALL_EXPECTED);
}

const OVERALL_EXPECTED: &str = r#"
*filter
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A KUBE-NODEPORTS -m comment --comment "ns2/svc2:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT
-A KUBE-SERVICES -m comment --comment "ns6/svc6:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.46 --dport 80 -j REJECT
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j DROP
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j DROP
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j DROP
-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-PROXY-FIREWALL -m comment --comment "ns5/svc5:p80 traffic not accepted by KUBE-FW-NUKIZ6OKUXPJNT4C" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j DROP
COMMIT
*nat
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXT-4SW47YFZTEDKD3PK - [0:0]
:KUBE-EXT-GNZBNJ2PO5MGZ6GT - [0:0]
:KUBE-EXT-NUKIZ6OKUXPJNT4C - [0:0]
:KUBE-EXT-X27LE4BHSL4DOUIK - [0:0]
:KUBE-FW-NUKIZ6OKUXPJNT4C - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SEP-C6EBXVWJJZMIWKLZ - [0:0]
:KUBE-SEP-I77PXRDZVX7PMWMN - [0:0]
:KUBE-SEP-OYPFS5VJICHGATKP - [0:0]
:KUBE-SEP-RS4RBKLTHTF2IUXJ - [0:0]
:KUBE-SEP-SXIVWICOYRO3J4NJ - [0:0]
:KUBE-SEP-UKSFD7AGPMPPLUHC - [0:0]
:KUBE-SVC-4SW47YFZTEDKD3PK - [0:0]
:KUBE-SVC-GNZBNJ2PO5MGZ6GT - [0:0]
:KUBE-SVC-NUKIZ6OKUXPJNT4C - [0:0]
:KUBE-SVC-X27LE4BHSL4DOUIK - [0:0]
:KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3001 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-NODEPORTS -m comment --comment ns3/svc3:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3003 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-X27LE4BHSL4DOUIK
-A KUBE-NODEPORTS -m comment --comment ns3/svc3:p80 -m tcp -p tcp --dport 3003 -j KUBE-EXT-X27LE4BHSL4DOUIK
-A KUBE-NODEPORTS -m comment --comment ns5/svc5:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3002 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-NUKIZ6OKUXPJNT4C
-A KUBE-NODEPORTS -m comment --comment ns5/svc5:p80 -m tcp -p tcp --dport 3002 -j KUBE-EXT-NUKIZ6OKUXPJNT4C
-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 external IP" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
-A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j KUBE-SVC-X27LE4BHSL4DOUIK
-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j KUBE-SVC-4SW47YFZTEDKD3PK
-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 external IP" -m tcp -p tcp -d 192.168.99.33 --dport 80 -j KUBE-EXT-4SW47YFZTEDKD3PK
-A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 -j KUBE-SVC-NUKIZ6OKUXPJNT4C
-A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 loadbalancer IP" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j KUBE-FW-NUKIZ6OKUXPJNT4C
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-EXT-4SW47YFZTEDKD3PK -m comment --comment "masquerade traffic for ns4/svc4:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-4SW47YFZTEDKD3PK -j KUBE-SVC-4SW47YFZTEDKD3PK
-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "pod traffic for ns2/svc2:p80 external destinations" -s 10.0.0.0/8 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "masquerade LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
-A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "route LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
-A KUBE-EXT-NUKIZ6OKUXPJNT4C -m comment --comment "masquerade traffic for ns5/svc5:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-NUKIZ6OKUXPJNT4C -j KUBE-SVC-NUKIZ6OKUXPJNT4C
-A KUBE-EXT-X27LE4BHSL4DOUIK -m comment --comment "masquerade traffic for ns3/svc3:p80 external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-X27LE4BHSL4DOUIK -j KUBE-SVC-X27LE4BHSL4DOUIK
-A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 loadbalancer IP" -s 203.0.113.0/25 -j KUBE-EXT-NUKIZ6OKUXPJNT4C
-A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL"
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
-A KUBE-SEP-C6EBXVWJJZMIWKLZ -m comment --comment ns4/svc4:p80 -s 10.180.0.5 -j KUBE-MARK-MASQ
-A KUBE-SEP-C6EBXVWJJZMIWKLZ -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.5:80
-A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80
-A KUBE-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
-A KUBE-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80
-A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -s 10.180.0.2 -j KUBE-MARK-MASQ
-A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80
-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ
-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80
-A KUBE-SEP-UKSFD7AGPMPPLUHC -m comment --comment ns4/svc4:p80 -s 10.180.0.4 -j KUBE-MARK-MASQ
-A KUBE-SEP-UKSFD7AGPMPPLUHC -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.4:80
-A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.4:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-UKSFD7AGPMPPLUHC
-A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.5:80" -j KUBE-SEP-C6EBXVWJJZMIWKLZ
-A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 -> 10.180.0.2:80" -j KUBE-SEP-RS4RBKLTHTF2IUXJ
-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --rcheck --seconds 10800 --reap -j KUBE-SEP-I77PXRDZVX7PMWMN
-A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -j KUBE-SEP-I77PXRDZVX7PMWMN
-A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 -> 10.180.0.3:80" -j KUBE-SEP-OYPFS5VJICHGATKP
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ
COMMIT
"#;

/// Mirrors the first (full) sync of upstream `TestSyncProxyRulesRepeated`. (Its later steps
/// check partial syncs, which this model does not do: every sync here is full.)
#[test]
fn sync_proxy_rules_repeated_initial_state() {
    let mut s2 = ServicePortInfo::cluster_ip(spn("ns2", "svc2", "p8080"), ip("172.30.0.42"), 8080);
    s2.service_type = ServiceType::ClusterIp;
    let services = vec![svc("ns1", "svc1", "172.30.0.41"), s2];
    let mut eps = EndpointsMap::new();
    eps.insert(spn("ns1", "svc1", "p80"), vec![Endpoint::ready(ip("10.0.1.1"), 80, None)]);
    eps.insert(spn("ns2", "svc2", "p8080"), vec![Endpoint::ready(ip("10.0.2.1"), 8080, None)]);
    let result = sync(&fake_config(), &services, &eps);
    assert_same_tables(&result.restore_input(), REPEATED_EXPECTED);
    assert!(!result.stats.large_cluster_mode);
}

const REPEATED_EXPECTED: &str = r#"
*filter
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SEP-SNQ3ZNILQDEJNDQO - [0:0]
:KUBE-SEP-UHEGFW77JX3KXTOV - [0:0]
:KUBE-SVC-2VJB64SDSIJUP5T6 - [0:0]
:KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
-A KUBE-SERVICES -m comment --comment "ns2/svc2:p8080 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 8080 -j KUBE-SVC-2VJB64SDSIJUP5T6
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
-A KUBE-SEP-SNQ3ZNILQDEJNDQO -m comment --comment ns1/svc1:p80 -s 10.0.1.1 -j KUBE-MARK-MASQ
-A KUBE-SEP-SNQ3ZNILQDEJNDQO -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.1.1:80
-A KUBE-SEP-UHEGFW77JX3KXTOV -m comment --comment ns2/svc2:p8080 -s 10.0.2.1 -j KUBE-MARK-MASQ
-A KUBE-SEP-UHEGFW77JX3KXTOV -m comment --comment ns2/svc2:p8080 -m tcp -p tcp -j DNAT --to-destination 10.0.2.1:8080
-A KUBE-SVC-2VJB64SDSIJUP5T6 -m comment --comment "ns2/svc2:p8080 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 8080 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-2VJB64SDSIJUP5T6 -m comment --comment "ns2/svc2:p8080 -> 10.0.2.1:8080" -j KUBE-SEP-UHEGFW77JX3KXTOV
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.0.1.1:80" -j KUBE-SEP-SNQ3ZNILQDEJNDQO
COMMIT
"#;

/// Upstream `countEndpointsAndComments`: the first DNAT rule for `first`, the number of DNAT
/// rules and how many of them carry a comment.
fn count_endpoints_and_comments(text: &str, first: &str) -> (String, usize, usize) {
    let mut first_line = String::new();
    let (mut n, mut comments) = (0, 0);
    for line in text.lines().filter(|l| l.starts_with("-A KUBE-SEP-") && l.contains("-j DNAT")) {
        n += 1;
        if line.contains("--comment") {
            comments += 1;
        }
        if first_line.is_empty() && line.contains(&format!("--to-destination {first}:")) {
            first_line = line.to_owned();
        }
    }
    (first_line, n, comments)
}

/// Mirrors upstream `TestSyncProxyRulesLargeClusterMode` (its full-sync steps): comments on
/// endpoint rules disappear once the cluster has more than 1000 endpoints.
#[test]
fn large_cluster_mode() {
    let services = vec![
        svc("ns1", "svc1", "172.30.0.41"),
        ServicePortInfo::cluster_ip(spn("ns2", "svc2", "p8080"), ip("172.30.0.42"), 8080),
        ServicePortInfo::cluster_ip(spn("ns3", "svc3", "p8081"), ip("172.30.0.43"), 8081),
    ];
    let half = 1000 / 2 - 1;
    let mk = |second: u8, port: u16| -> Vec<Endpoint> {
        (0..half)
            .map(|i| Endpoint::ready(Ipv4Addr::new(10, second, (i % 256) as u8, (i / 256) as u8), port, None))
            .collect()
    };
    let mut eps = EndpointsMap::new();
    eps.insert(spn("ns1", "svc1", "p80"), mk(0, 80));
    eps.insert(spn("ns2", "svc2", "p8080"), mk(1, 8080));

    let r = sync(&fake_config(), &services, &eps);
    let (first, n, comments) = count_endpoints_and_comments(&r.nat, "10.0.0.0");
    assert_eq!(
        first,
        "-A KUBE-SEP-DKGQUZGBKLTPAR56 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80"
    );
    assert_eq!((n, comments), (2 * half, 2 * half));

    eps.insert(
        spn("ns3", "svc3", "p8081"),
        ["203.0.113.4", "203.0.113.8", "203.0.113.12"]
            .iter()
            .map(|a| Endpoint::ready(ip(a), 8081, None))
            .collect(),
    );
    let r = sync(&fake_config(), &services, &eps);
    assert!(r.stats.large_cluster_mode);
    let (first, n, comments) = count_endpoints_and_comments(&r.nat, "10.0.0.0");
    assert_eq!(first, "-A KUBE-SEP-DKGQUZGBKLTPAR56 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80");
    assert_eq!((n, comments), (2 * half + 3, 0));
    let (first, _, _) = count_endpoints_and_comments(&r.nat, "203.0.113.4");
    assert_eq!(first, "-A KUBE-SEP-RUVVH7YV3PHQBDOS -m tcp -p tcp -j DNAT --to-destination 203.0.113.4:8081");

    let mut services = services;
    services.push(ServicePortInfo::cluster_ip(spn("ns4", "svc4", "p8082"), ip("172.30.0.44"), 8082));
    eps.insert(spn("ns4", "svc4", "p8082"), vec![Endpoint::ready(ip("10.4.0.1"), 8082, None)]);
    let r = sync(&fake_config(), &services, &eps);
    let (first, _, _) = count_endpoints_and_comments(&r.nat, "10.4.0.1");
    assert_eq!(first, "-A KUBE-SEP-SU5STNODRYEWJAUF -m tcp -p tcp -j DNAT --to-destination 10.4.0.1:8082");
    assert!(r.nat.contains(":KUBE-SVC-EBDQOQU5SJFXRIL3 - [0:0]"));
}

/// Chains declared in a restore text (what `iptables-save` would list afterwards).
fn declared_chains(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(':'))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_owned)
        .collect()
}

/// Mirrors the deletion steps of upstream `TestSyncProxyRulesRepeated`: deleting svc2, then
/// moving svc3's endpoint, flushes and deletes exactly the stale chains upstream deletes.
/// Upstream's later syncs are partial (only changed services are rewritten); ours are full,
/// so upstream's expected lines must be a subset of ours, with the same `-X` lines.
#[test]
fn sync_proxy_rules_repeated_deletes_stale_chains() {
    let cfg = fake_config();
    let svc2 = ServicePortInfo::cluster_ip(spn("ns2", "svc2", "p8080"), ip("172.30.0.42"), 8080);
    let mut services = vec![svc("ns1", "svc1", "172.30.0.41"), svc2, svc("ns3", "svc3", "172.30.0.43")];
    let mut eps = EndpointsMap::new();
    eps.insert(spn("ns1", "svc1", "p80"), vec![Endpoint::ready(ip("10.0.1.1"), 80, None)]);
    eps.insert(spn("ns2", "svc2", "p8080"), vec![Endpoint::ready(ip("10.0.2.1"), 8080, None)]);
    eps.insert(spn("ns3", "svc3", "p80"), vec![Endpoint::ready(ip("10.0.3.1"), 80, None)]);
    let loaded = declared_chains(&sync(&cfg, &services, &eps).nat);

    // Delete svc2.
    services.remove(1);
    eps.remove(&spn("ns2", "svc2", "p8080"));
    let r = sim_k8s::kube_proxy::sync_with_existing(&cfg, &services, &eps, &loaded);
    let ours = r.restore_input().replace("0x00004000", "0x4000");
    for line in DELETE_SVC2_EXPECTED.lines().filter(|l| !l.is_empty()) {
        assert!(ours.lines().any(|l| l == line), "missing {line}\n{ours}");
    }
    let deletions: Vec<&str> = ours.lines().filter(|l| l.starts_with("-X ")).collect();
    assert_eq!(deletions, ["-X KUBE-SEP-UHEGFW77JX3KXTOV", "-X KUBE-SVC-2VJB64SDSIJUP5T6"]);
    assert_eq!(r.stats.deleted_chains, 2);
    let loaded = declared_chains(&sync(&cfg, &services, &eps).nat);

    // Move svc3's endpoint from 10.0.3.1 to 10.0.3.2.
    eps.insert(spn("ns3", "svc3", "p80"), vec![Endpoint::ready(ip("10.0.3.2"), 80, None)]);
    let r = sim_k8s::kube_proxy::sync_with_existing(&cfg, &services, &eps, &loaded);
    let deletions: Vec<&str> = r.nat.lines().filter(|l| l.starts_with("-X ")).collect();
    assert_eq!(deletions, ["-X KUBE-SEP-BSWRHOQ77KEXZLNL"]);
    assert!(r.nat.contains(
        "-A KUBE-SEP-DKCFIS26GWF2WLWC -m comment --comment ns3/svc3:p80 -s 10.0.3.2 -j KUBE-MARK-MASQ"
    ));
    // Chains that are not kube-proxy's service chains are never deleted.
    let mut foreign = loaded.clone();
    foreign.insert("FLANNEL-POSTRTG".to_owned());
    let r = sim_k8s::kube_proxy::sync_with_existing(&cfg, &services, &eps, &foreign);
    assert!(!r.nat.contains("FLANNEL"));
}

const DELETE_SVC2_EXPECTED: &str = r#"
*nat
:KUBE-NODEPORTS - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SEP-UHEGFW77JX3KXTOV - [0:0]
:KUBE-SVC-2VJB64SDSIJUP5T6 - [0:0]
-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
-A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j KUBE-SVC-X27LE4BHSL4DOUIK
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
-X KUBE-SEP-UHEGFW77JX3KXTOV
-X KUBE-SVC-2VJB64SDSIJUP5T6
COMMIT
"#;

/// One flow of upstream `runPacketFlowTests`: the first packet of a connection, the
/// endpoint(s) it can reach (`ip:port`, comma-separated, sorted) or `DROP`/`REJECT`, and
/// whether it is masqueraded.
struct Flow {
    name: &'static str,
    src: &'static str,
    dst: &'static str,
    dport: u16,
    output: &'static str,
    masq: bool,
}

/// `testNodeIPs`: the node's addresses (a source among them is the node itself, so the
/// packet starts at OUTPUT; any other source arrives on eth0, at PREROUTING).
const NODE_IPS: [&str; 3] = ["127.0.0.1", "192.168.0.2", "192.168.1.2"];

/// Upstream `runPacketFlowTests` over the node's whole ruleset (kubelet's and kube-proxy's
/// jump rules included, as `initial_restore` builds them), every path of the first packet.
fn run_packet_flows(restore: &str, flows: &[Flow]) {
    use sim_core::SimTime;
    use sim_net::netfilter::{Disposition, ExploreOrigin, ExploreRequest, Netfilter};
    use sim_net::wire::{Packet, TcpFlags};
    let mut nf = Netfilter::new();
    nf.restore(restore, false).unwrap_or_else(|e| panic!("{e}"));
    let local: Vec<Ipv4Addr> = NODE_IPS.iter().map(|s| ip(s)).collect();
    for f in flows {
        let origin = if local.contains(&ip(f.src)) {
            ExploreOrigin::Local
        } else {
            ExploreOrigin::External { in_iface: "eth0".into() }
        };
        let e = nf.explore(&ExploreRequest {
            packet: Packet::tcp(ip(f.src), 40000, ip(f.dst), f.dport, TcpFlags::SYN),
            origin,
            local_ips: local.clone(),
            out_iface: Some("eth0".into()),
            now: SimTime::ZERO,
        });
        let mut outputs: Vec<String> = Vec::new();
        let mut masq = true;
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
            masq &= p.masquerade;
        }
        outputs.sort();
        let paths: Vec<String> = e.paths.iter().map(|p| p.to_string()).collect();
        assert_eq!(outputs.join(", "), f.output, "{}: outputs\n{}", f.name, paths.join("\n"));
        if f.output != "REJECT" && f.output != "DROP" {
            assert_eq!(masq, f.masq, "{}: masquerade\n{}", f.name, paths.join("\n"));
        }
    }
}

/// Upstream `TestLoadBalancer` (pkg/proxy/iptables/proxier_test.go): an LB service with two
/// LB IPs and `loadBalancerSourceRanges` 192.168.0.0/24 and 203.0.113.0/25, and its packet
/// flows. "node to LB" is the case that timed out before: kube-proxy's filter
/// `KUBE-PROXY-FIREWALL` DROPs `-d <LB IP>`, and at LOCAL_OUT filter runs after nat has
/// DNATed the node's allowed connection, so it sees the endpoint, not the LB IP.
#[test]
fn test_load_balancer_packet_flows() {
    let mut s = svc("ns1", "svc1", "172.30.0.41");
    s.service_type = ServiceType::LoadBalancer;
    s.node_port = Some(3001);
    s.load_balancer_ips = vec![ip("1.2.3.4"), ip("5.6.7.8")];
    s.load_balancer_source_ranges =
        vec!["192.168.0.0/24".parse().unwrap(), "203.0.113.0/25".parse().unwrap()];
    let mut eps = EndpointsMap::new();
    eps.insert(spn("ns1", "svc1", "p80"), vec![ep("10.180.0.1", None)]);
    let r = sync(&fake_config(), &[s], &eps);
    let ep = "10.180.0.1:80";
    let (ext, blocked, node) = ("203.0.113.2", "203.0.113.130", "192.168.0.2");
    let flow = |name, src, dst, dport, output, masq| Flow { name, src, dst, dport, output, masq };
    run_packet_flows(
        &r.initial_restore(),
        &[
            flow("pod to cluster IP", "10.0.0.2", "172.30.0.41", 80, ep, false),
            flow("external to nodePort", ext, node, 3001, ep, true),
            flow("nodePort bypasses LoadBalancerSourceRanges", blocked, node, 3001, ep, true),
            flow("accepted external to LB1", ext, "1.2.3.4", 80, ep, true),
            flow("accepted external to LB2", ext, "5.6.7.8", 80, ep, true),
            flow("blocked external to LB1", blocked, "1.2.3.4", 80, "DROP", false),
            flow("blocked external to LB2", blocked, "5.6.7.8", 80, "DROP", false),
            flow(
                "pod to LB1 (blocked by LoadBalancerSourceRanges)",
                "10.0.0.2",
                "1.2.3.4",
                80,
                "DROP",
                false,
            ),
            flow(
                "pod to LB2 (blocked by LoadBalancerSourceRanges)",
                "10.0.0.2",
                "5.6.7.8",
                80,
                "DROP",
                false,
            ),
            flow("node to LB1 (allowed by LoadBalancerSourceRanges)", node, "1.2.3.4", 80, ep, true),
            flow("node to LB2 (allowed by LoadBalancerSourceRanges)", node, "5.6.7.8", 80, ep, true),
            flow("same node to LB1, SNATted to LB1 (implicitly allowed)", "1.2.3.4", "1.2.3.4", 80, ep, true),
            flow("same node to LB2, SNATted to LB2 (implicitly allowed)", "5.6.7.8", "5.6.7.8", 80, ep, true),
        ],
    );
}
