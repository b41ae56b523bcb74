//! Upstream `pkg/proxy/ipvs/proxier_test.go` cases (`NewFakeProxier`: node `test-node` at
//! 100.101.102.103, pod CIDR 10.0.0.0/8) turned into checks of what one sync wants: virtual
//! servers and their real servers, ipset members, bound addresses and rules.

use std::net::Ipv4Addr;

use sim_core::SimTime;
use sim_net::ipvs::{RealServer, SchedName, ServiceKey};
use sim_net::network::Network;

use super::super::endpoint::{Endpoint, EndpointsMap};
use super::super::service_port::{
    ServicePortInfo, ServicePortName, ServiceProtocol, ServiceType, SessionAffinity, TrafficPolicy,
};
use super::super::{NodePortAddresses, ProxyConfig};
use super::ipset;
use super::*;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn fake_config() -> ProxyConfig {
    let mut c = ProxyConfig::new("test-node", ip("100.101.102.103"), Some("10.0.0.0/8".parse().unwrap()));
    c.interface_addrs = vec![ip("127.0.0.1"), ip("100.101.102.103")];
    c.random_fully = false;
    c.mode = super::super::ProxyMode::Ipvs;
    c
}

fn name(svc: &str, proto: ServiceProtocol) -> ServicePortName {
    ServicePortName::new("ns1", svc, "p80", proto)
}

fn svc(svc_name: &str, cluster_ip: &str) -> ServicePortInfo {
    ServicePortInfo::cluster_ip(name(svc_name, ServiceProtocol::Tcp), ip(cluster_ip), 80)
}

fn eps(svc_name: &str, list: &[(&str, Option<&str>)]) -> EndpointsMap {
    let mut m = EndpointsMap::new();
    m.insert(
        name(svc_name, ServiceProtocol::Tcp),
        list.iter().map(|(a, n)| Endpoint::ready(ip(a), 80, *n)).collect(),
    );
    m
}

fn members(s: &IpvsSync, set: &str) -> Vec<String> {
    s.rules.sets.get(set).map(|m| m.iter().cloned().collect()).unwrap_or_default()
}

// TestClusterIPNoEndpoint: the virtual server exists without real servers (IPVS answers new
// connections with ICMP port unreachable), and the address is bound and in the sets.
#[test]
fn cluster_ip_without_endpoints() {
    let s = sync(&fake_config(), &[svc("svc1", "10.20.30.41")], &EndpointsMap::new());
    assert_eq!(s.describe(), "TCP  10.20.30.41:80 rr\n");
    assert_eq!(members(&s, ipset::CLUSTER_IP), ["10.20.30.41,tcp:80"]);
    assert_eq!(members(&s, ipset::IPVS_IPS), ["10.20.30.41"]);
    assert_eq!(s.bind_addrs.iter().copied().collect::<Vec<_>>(), [ip("10.20.30.41")]);
}

// TestClusterIP: one virtual server per service port, every ready endpoint a real server.
#[test]
fn cluster_ip_with_endpoints() {
    let s = sync(
        &fake_config(),
        &[svc("svc1", "10.20.30.41")],
        &eps("svc1", &[("10.180.0.1", None), ("10.180.1.1", Some("test-node"))]),
    );
    assert_eq!(s.describe(), "TCP  10.20.30.41:80 rr\n  -> 10.180.0.1:80\n  -> 10.180.1.1:80\n");
    // The local endpoint loops back through KUBE-LOOP-BACK (hairpin SNAT).
    assert_eq!(members(&s, ipset::LOOP_BACK), ["10.180.1.1,tcp:80,10.180.1.1"]);
}

// TestNodePortIPv4: the NodePort is a virtual server on every node address.
#[test]
fn node_port_on_every_node_address() {
    let mut c = fake_config();
    c.interface_addrs.push(ip("172.17.0.1"));
    let mut p = svc("svc1", "10.20.30.41");
    p.service_type = ServiceType::NodePort;
    p.node_port = Some(3001);
    let s = sync(&c, &[p], &eps("svc1", &[("10.180.0.1", None)]));
    assert_eq!(
        s.describe(),
        "TCP  10.20.30.41:80 rr\n  -> 10.180.0.1:80\nTCP  100.101.102.103:3001 rr\n  -> 10.180.0.1:80\nTCP  172.17.0.1:3001 rr\n  -> 10.180.0.1:80\n"
    );
    assert_eq!(members(&s, ipset::NODE_PORT_TCP), ["3001"]);
    assert!(members(&s, ipset::NODE_PORT_LOCAL_TCP).is_empty());
    // Node addresses are not bound to kube-ipvs0.
    assert_eq!(members(&s, ipset::IPVS_IPS), ["10.20.30.41"]);
    assert!(s.rules.nat.contains(
        "-A KUBE-NODE-PORT -p tcp -m comment --comment \"Kubernetes nodeport TCP port for masquerade purpose\" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ\n"
    ));
}

// nodePortAddresses: only addresses inside the CIDRs.
#[test]
fn node_port_addresses_select_addresses() {
    let mut c = fake_config();
    c.interface_addrs.push(ip("172.17.0.1"));
    c.node_port_addresses = NodePortAddresses::Cidrs(vec!["100.101.102.0/24".parse().unwrap()]);
    assert_eq!(node_port_ips(&c), [ip("100.101.102.103")]);
    c.node_port_addresses = NodePortAddresses::All;
    assert_eq!(node_port_ips(&c), [ip("100.101.102.103"), ip("172.17.0.1")]);
}

// TestOnlyLocalNodePorts: externalTrafficPolicy Local keeps NodePort real servers local, the
// port goes to the -LOCAL set too; the ClusterIP keeps every endpoint.
#[test]
fn local_node_port_uses_local_endpoints() {
    let mut p = svc("svc1", "10.20.30.41");
    p.service_type = ServiceType::NodePort;
    p.node_port = Some(3001);
    p.external_traffic_policy = TrafficPolicy::Local;
    let s =
        sync(&fake_config(), &[p], &eps("svc1", &[("10.180.0.1", None), ("10.180.2.1", Some("test-node"))]));
    assert_eq!(
        s.describe(),
        "TCP  10.20.30.41:80 rr\n  -> 10.180.0.1:80\n  -> 10.180.2.1:80\nTCP  100.101.102.103:3001 rr\n  -> 10.180.2.1:80\n"
    );
    assert_eq!(members(&s, ipset::NODE_PORT_LOCAL_TCP), ["3001"]);
    let nat = &s.rules.nat;
    let local = nat.find("KUBE-NODE-PORT-LOCAL-TCP dst -j RETURN").unwrap();
    let masq = nat.find("KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ").unwrap();
    assert!(local < masq, "the Local RETURN comes first");
}

// PR 97081: a Local policy with no local endpoint falls back to the cluster endpoints.
#[test]
fn local_policy_without_local_endpoints_falls_back() {
    let mut p = svc("svc1", "10.20.30.41");
    p.service_type = ServiceType::NodePort;
    p.node_port = Some(3001);
    p.external_traffic_policy = TrafficPolicy::Local;
    let s = sync(&fake_config(), &[p], &eps("svc1", &[("10.180.0.1", Some("other"))]));
    assert!(s.describe().contains("TCP  100.101.102.103:3001 rr\n  -> 10.180.0.1:80\n"), "{}", s.describe());
}

// TestExternalIPs / TestOnlyLocalExternalIPs.
#[test]
fn external_ips() {
    let mut p = svc("svc1", "10.20.30.41");
    p.external_ips = vec![ip("50.60.70.81"), ip("100.101.102.103")];
    let s = sync(&fake_config(), std::slice::from_ref(&p), &eps("svc1", &[("10.180.0.1", None)]));
    assert!(s.services.contains_key(&ServiceKey::tcp(ip("50.60.70.81"), 80)));
    assert!(s.services.contains_key(&ServiceKey::tcp(ip("100.101.102.103"), 80)));
    assert_eq!(members(&s, ipset::EXTERNAL_IP), ["100.101.102.103,tcp:80", "50.60.70.81,tcp:80"]);
    // An external IP that is a node address is not bound.
    assert_eq!(members(&s, ipset::IPVS_IPS), ["10.20.30.41", "50.60.70.81"]);
    assert!(s.rules.nat.contains("-m set --match-set KUBE-EXTERNAL-IP dst,dst -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT"));

    p.external_traffic_policy = TrafficPolicy::Local;
    p.service_type = ServiceType::NodePort;
    let s =
        sync(&fake_config(), &[p], &eps("svc1", &[("10.180.0.1", None), ("10.180.1.1", Some("test-node"))]));
    assert!(members(&s, ipset::EXTERNAL_IP).is_empty());
    assert_eq!(members(&s, ipset::EXTERNAL_IP_LOCAL).len(), 2);
    let w = &s.services[&ServiceKey::tcp(ip("50.60.70.81"), 80)];
    assert_eq!(w.dests.iter().map(|d| d.to_string()).collect::<Vec<_>>(), ["10.180.1.1:80"]);
}

// TestLoadBalancer, TestOnlyLocalLoadBalancing, TestLoadBalancerSourceRanges.
#[test]
fn load_balancer_sets() {
    let mut p = svc("svc1", "10.20.30.41");
    p.service_type = ServiceType::LoadBalancer;
    p.node_port = Some(3001);
    p.load_balancer_ips = vec![ip("1.2.3.4")];
    let s = sync(&fake_config(), std::slice::from_ref(&p), &eps("svc1", &[("10.180.0.1", None)]));
    assert_eq!(members(&s, ipset::LOAD_BALANCER), ["1.2.3.4,tcp:80"]);
    assert!(members(&s, ipset::LOAD_BALANCER_LOCAL).is_empty());
    assert!(s.services.contains_key(&ServiceKey::tcp(ip("1.2.3.4"), 80)));
    assert!(s.rules.nat.contains("-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ\n"));

    p.external_traffic_policy = TrafficPolicy::Local;
    p.load_balancer_source_ranges = vec!["1.2.3.0/24".parse().unwrap(), "100.101.102.0/24".parse().unwrap()];
    let s = sync(&fake_config(), &[p], &eps("svc1", &[("10.180.0.1", None)]));
    assert_eq!(members(&s, ipset::LOAD_BALANCER_LOCAL), ["1.2.3.4,tcp:80"]);
    assert_eq!(members(&s, ipset::LOAD_BALANCER_FW), ["1.2.3.4,tcp:80"]);
    assert_eq!(
        members(&s, ipset::LOAD_BALANCER_SOURCE_CIDR),
        ["1.2.3.4,tcp:80,1.2.3.0/24", "1.2.3.4,tcp:80,100.101.102.0/24"]
    );
    // The node is inside a source range: its own LB address may reach the LB.
    assert_eq!(members(&s, ipset::LOAD_BALANCER_SOURCE_IP), ["1.2.3.4,tcp:80,1.2.3.4"]);
    assert!(s.rules.filter.contains("-A KUBE-PROXY-FIREWALL -m comment --comment \"Kubernetes service load balancer ip + port for load balancer with sourceRange\" -m set --match-set KUBE-LOAD-BALANCER-FW dst,dst -j KUBE-SOURCE-RANGES-FIREWALL\n"));
}

// TestSessionAffinity: ClientIP affinity is IPVS persistence with the affinity timeout.
#[test]
fn session_affinity_is_persistence() {
    let mut p = svc("svc1", "10.20.30.41");
    p.session_affinity = SessionAffinity::ClientIp { timeout_seconds: 10800 };
    let s = sync(&fake_config(), &[p], &EndpointsMap::new());
    assert_eq!(s.describe(), "TCP  10.20.30.41:80 rr persistent 10800\n");
}

// The scheduler comes from ipvs.scheduler.
#[test]
fn scheduler_from_config() {
    let mut c = fake_config();
    c.ipvs_scheduler = SchedName::Lc;
    let s = sync(&c, &[svc("svc1", "10.20.30.41")], &EndpointsMap::new());
    assert_eq!(s.describe(), "TCP  10.20.30.41:80 lc\n");
}

// Only ready endpoints are real servers; terminating ones serve only when nothing is ready.
#[test]
fn terminating_endpoints_are_left_out_while_others_are_ready() {
    let mut m = eps("svc1", &[("10.180.0.1", None)]);
    let list = m.get_mut(&name("svc1", ServiceProtocol::Tcp)).unwrap();
    let mut t = Endpoint::ready(ip("10.180.0.2"), 80, None);
    t.ready = false;
    t.terminating = true;
    list.push(t);
    let s = sync(&fake_config(), &[svc("svc1", "10.20.30.41")], &m);
    assert_eq!(s.describe(), "TCP  10.20.30.41:80 rr\n  -> 10.180.0.1:80\n");
}

// The rules of a cluster with one ClusterIP service, in upstream's order.
#[test]
fn rules_of_a_cluster_ip_service() {
    let s = sync(&fake_config(), &[svc("svc1", "10.20.30.41")], &eps("svc1", &[("10.180.0.1", None)]));
    insta::assert_snapshot!(s.rules.initial_restore());
}

// Without a local-traffic detector the ClusterIP masquerade rule matches src,dst.
#[test]
fn masquerade_rule_follows_the_detector() {
    let mut c = fake_config();
    let one = |c: &ProxyConfig| sync(c, &[svc("svc1", "10.20.30.41")], &EndpointsMap::new()).rules.nat;
    assert!(one(&c).contains("KUBE-CLUSTER-IP dst,dst ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ"));
    c.masquerade_all = true;
    assert!(one(&c).contains("KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ"));
    c.masquerade_all = false;
    c.local_detector = super::super::LocalTrafficDetector::None;
    assert!(one(&c).contains("KUBE-CLUSTER-IP src,dst -j KUBE-MARK-MASQ"));
}

fn host() -> (Network, sim_net::iface::HostId) {
    let mut net = Network::new(1);
    let h = net.add_host("test-node").unwrap();
    (net, h)
}

// The sync applies by difference: a second sync adds the new, deletes the stale, and leaves
// the rest; addresses follow the services.
#[test]
fn apply_is_a_difference() {
    let (mut net, h) = host();
    let c = fake_config();
    let first = sync(&c, &[svc("svc1", "10.20.30.41")], &eps("svc1", &[("10.180.0.1", None)]));
    let st = apply::apply_ipvs(&mut net, h, &first, SimTime::ZERO);
    assert_eq!((st.services_added, st.dests_added), (1, 1));
    let node = net.host(h).unwrap();
    assert!(!node.is_up(DUMMY_DEVICE), "kube-ipvs0 stays down");
    assert!(node.is_local(ip("10.20.30.41")), "a bound address is local");
    assert!(node.sysctl.vs_conntrack && node.sysctl.vs_expire_nodest_conn);

    let second = sync(&c, &[svc("svc2", "10.20.30.42")], &eps("svc2", &[("10.180.0.1", None)]));
    let st = apply::apply_ipvs(&mut net, h, &second, SimTime::ZERO);
    assert_eq!((st.services_added, st.services_deleted), (1, 1));
    let node = net.host(h).unwrap();
    assert!(!node.is_local(ip("10.20.30.41")));
    assert!(node.is_local(ip("10.20.30.42")));
    let again = apply::apply_ipvs(&mut net, h, &second, SimTime::ZERO);
    assert_eq!(again, apply::ApplyStats::default(), "nothing left to do");
}

// A real server found at weight 0 (gracefully terminating) that is wanted again is re-added at
// weight 1; one no longer wanted without connections is deleted at once.
#[test]
fn graceful_termination_weights() {
    let (mut net, h) = host();
    let c = fake_config();
    let key = ServiceKey::tcp(ip("10.20.30.41"), 80);
    let two =
        sync(&c, &[svc("svc1", "10.20.30.41")], &eps("svc1", &[("10.180.0.1", None), ("10.180.0.2", None)]));
    apply::apply_ipvs(&mut net, h, &two, SimTime::ZERO);
    let a = std::net::SocketAddrV4::new(ip("10.180.0.1"), 80);
    net.host_mut(h).unwrap().ipvs.edit_dest(&key, RealServer::masq(a, 0)).unwrap();
    let st = apply::apply_ipvs(&mut net, h, &two, SimTime::ZERO);
    assert_eq!(st.dests_added, 1);
    let weight =
        |net: &Network| net.host(h).unwrap().ipvs.service(&key).unwrap().dest(a).map(|d| d.server.weight);
    assert_eq!(weight(&net), Some(1));
    let one = sync(&c, &[svc("svc1", "10.20.30.41")], &eps("svc1", &[("10.180.0.2", None)]));
    let st = apply::apply_ipvs(&mut net, h, &one, SimTime::ZERO);
    assert_eq!((st.dests_deleted, st.dests_quiesced), (1, 0));
    assert_eq!(weight(&net), None);
}

// The ipsets and rules load into the netfilter engine, by difference too.
#[test]
fn rules_load_into_the_engine() {
    let c = fake_config();
    let mut nf = sim_net::netfilter::Netfilter::new();
    let first = sync(&c, &[svc("svc1", "10.20.30.41")], &EndpointsMap::new());
    apply::load_rules(&mut nf, &first.rules, true, "test-node");
    assert_eq!(nf.ipsets().names().count(), ipset::SETS.len());
    let second = sync(&c, &[svc("svc2", "10.20.30.42")], &EndpointsMap::new());
    apply::load_rules(&mut nf, &second.rules, false, "test-node");
    let set = nf.ipsets().get(ipset::CLUSTER_IP).unwrap();
    assert_eq!(set.entries.iter().map(|e| e.to_string()).collect::<Vec<_>>(), ["10.20.30.42,tcp:80"]);
    let save = nf.save(&Default::default());
    assert!(
        save.contains("-A INPUT -m comment --comment \"kubernetes ipvs access filter\" -j KUBE-IPVS-FILTER"),
        "{save}"
    );
}

// TestLoadBalancerSourceRanges with the node outside every range: upstream's
// lbNoNodeAccessIPPortProtocolEntries rule in KUBE-IPVS-OUT-FILTER, and no SOURCE-IP entry.
#[test]
fn load_balancer_source_ranges_without_the_node_block_it_in_out_filter() {
    let mut p = svc("svc1", "10.20.30.41");
    p.service_type = ServiceType::LoadBalancer;
    p.node_port = Some(3001);
    p.load_balancer_ips = vec![ip("1.2.3.4")];
    p.load_balancer_source_ranges = vec!["203.0.113.0/24".parse().unwrap()];
    let s = sync(&fake_config(), &[p], &eps("svc1", &[("10.180.0.1", None)]));
    assert!(members(&s, ipset::LOAD_BALANCER_SOURCE_IP).is_empty());
    assert!(s.rules.filter.contains(
        "-A KUBE-IPVS-OUT-FILTER -s 1.2.3.4 -m ipvs --vaddr 1.2.3.4 --vproto tcp --vport 80 -j DROP\n"
    ));
}

fn udp_svc(svc_name: &str, cluster_ip: &str, port: u16) -> ServicePortInfo {
    ServicePortInfo::cluster_ip(name(svc_name, ServiceProtocol::Udp), ip(cluster_ip), port)
}

/// A node whose kube-ipvs0 already holds `vs` (UDP, rr) with their addresses bound, as
/// upstream's tests set the fake up before calling `cleanLegacyService`.
fn node_with(vs: &[(&str, u16)], real: &[(&str, u16, &str)]) -> (Network, sim_net::iface::HostId) {
    let (mut net, h) = host();
    net.add_dummy(h, DUMMY_DEVICE).unwrap();
    let node = net.host_mut(h).unwrap();
    for (a, port) in vs {
        let key = ServiceKey::udp(ip(a), *port);
        node.ipvs.add_service(sim_net::ipvs::VirtualService::new(key, SchedName::Rr), SimTime::ZERO).unwrap();
        node.add_addr(DUMMY_DEVICE, format!("{a}/32").parse().unwrap()).unwrap();
    }
    for (a, port, dest) in real {
        let d = std::net::SocketAddrV4::new(ip(dest), *port);
        node.ipvs.add_dest(&ServiceKey::udp(ip(a), *port), RealServer::masq(d, 1), SimTime::ZERO).unwrap();
    }
    (net, h)
}

fn vs_ports(net: &Network, h: sim_net::iface::HostId) -> Vec<u16> {
    net.host(h).unwrap().ipvs.services().map(|s| s.config.key.port).collect()
}

fn bound(net: &Network, h: sim_net::iface::HostId) -> Vec<Ipv4Addr> {
    let mut v: Vec<Ipv4Addr> =
        net.host(h).unwrap().iface(DUMMY_DEVICE).unwrap().addrs.iter().map(|n| n.addr()).collect();
    v.sort();
    v
}

// TestCleanLegacyService: excludeCIDRs 3.3.3.0/24 and 4.4.4.0/24; 1.1.1.1:53 and 2.2.2.2:54
// are kube-proxy's; 3.3.3.3:55 and 4.4.4.4:56 another party's inside the excluded CIDRs (kept,
// addresses too); 5.5.5.5:57 and the stale 6.6.6.6:58 are deleted and unbound.
#[test]
fn clean_legacy_service_leaves_exclude_cidrs_alone() {
    let (mut net, h) = node_with(
        &[
            ("1.1.1.1", 53),
            ("2.2.2.2", 54),
            ("3.3.3.3", 55),
            ("4.4.4.4", 56),
            ("5.5.5.5", 57),
            ("6.6.6.6", 58),
        ],
        &[],
    );
    let mut c = fake_config();
    c.ipvs_exclude_cidrs = vec!["3.3.3.0/24".parse().unwrap(), "4.4.4.0/24".parse().unwrap()];
    let want =
        sync(&c, &[udp_svc("svc1", "1.1.1.1", 53), udp_svc("svc2", "2.2.2.2", 54)], &EndpointsMap::new());
    let st = apply::apply_ipvs(&mut net, h, &want, SimTime::ZERO);
    assert_eq!(st.services_deleted, 2);
    assert_eq!(vs_ports(&net, h), [53, 54, 55, 56]);
    assert_eq!(bound(&net, h), [ip("1.1.1.1"), ip("2.2.2.2"), ip("3.3.3.3"), ip("4.4.4.4")]);
    // Without excludeCIDRs the other party's servers go too.
    let st = apply::apply_ipvs(&mut net, h, &sync(&fake_config(), &[], &EndpointsMap::new()), SimTime::ZERO);
    assert_eq!(st.services_deleted, 4);
    assert!(bound(&net, h).is_empty());
}

// TestCleanLegacyServiceWithRealServers: a deleted service goes with its real servers; the
// active one stays, and only its address stays bound.
#[test]
fn clean_legacy_service_with_real_servers() {
    let (mut net, h) =
        node_with(&[("1.1.1.1", 53), ("2.2.2.2", 54), ("3.3.3.3", 54)], &[("1.1.1.1", 53, "10.180.0.1")]);
    let want = sync(&fake_config(), &[udp_svc("svc3", "3.3.3.3", 54)], &EndpointsMap::new());
    apply::apply_ipvs(&mut net, h, &want, SimTime::ZERO);
    let keys: Vec<ServiceKey> = net.host(h).unwrap().ipvs.services().map(|s| s.config.key).collect();
    assert_eq!(keys, [ServiceKey::udp(ip("3.3.3.3"), 54)]);
    assert_eq!(bound(&net, h), [ip("3.3.3.3")]);
}

// TestCleanLegacyRealServersExcludeCIDRs: an excluded virtual server keeps its real servers.
#[test]
fn clean_legacy_real_servers_exclude_cidrs() {
    let (mut net, h) =
        node_with(&[("4.4.4.4", 56)], &[("4.4.4.4", 56, "10.10.10.10"), ("4.4.4.4", 56, "11.11.11.11")]);
    let mut c = fake_config();
    c.ipvs_exclude_cidrs = vec!["4.4.4.4/32".parse().unwrap()];
    apply::apply_ipvs(&mut net, h, &sync(&c, &[], &EndpointsMap::new()), SimTime::ZERO);
    let node = net.host(h).unwrap();
    let vs = node.ipvs.service(&ServiceKey::udp(ip("4.4.4.4"), 56)).unwrap();
    assert_eq!(vs.dests.len(), 2);
}

// NewProxier: strictARP writes arp_ignore=1 / arp_announce=2, and non-zero timeouts go to
// the kernel as `ipvsadm --set` would (a zero one keeps the kernel's), once at start-up.
#[test]
fn startup_writes_strict_arp_and_timeouts() {
    let (mut net, h) = host();
    let plain = sync(&fake_config(), &[], &EndpointsMap::new());
    apply::apply_ipvs(&mut net, h, &plain, SimTime::ZERO);
    let node = net.host_mut(h).unwrap();
    assert_eq!((node.sysctl.arp_ignore, node.sysctl.arp_announce), (0, 0));
    assert_eq!(
        node.ipvs.command(&["-L", "--timeout"], SimTime::ZERO).unwrap(),
        "Timeout (tcp tcpfin udp): 900 120 300\n"
    );

    let (mut net, h) = host();
    let mut c = fake_config();
    c.ipvs_strict_arp = true;
    c.ipvs_timeouts = super::super::config::IpvsTimeouts { tcp: 3600, tcp_fin: 0, udp: 60 };
    apply::apply_ipvs(&mut net, h, &sync(&c, &[], &EndpointsMap::new()), SimTime::ZERO);
    let node = net.host_mut(h).unwrap();
    assert_eq!((node.sysctl.arp_ignore, node.sysctl.arp_announce), (1, 2));
    assert_eq!(
        node.ipvs.command(&["-L", "--timeout"], SimTime::ZERO).unwrap(),
        "Timeout (tcp tcpfin udp): 3600 120 60\n"
    );
    // Later syncs leave a hand-made `ipvsadm --set` alone, as kube-proxy does.
    node.ipvs.command(&["--set", "100", "0", "0"], SimTime::ZERO).unwrap();
    apply::apply_ipvs(&mut net, h, &sync(&c, &[], &EndpointsMap::new()), SimTime::ZERO);
    let node = net.host_mut(h).unwrap();
    assert_eq!(
        node.ipvs.command(&["-L", "--timeout"], SimTime::ZERO).unwrap(),
        "Timeout (tcp tcpfin udp): 100 120 60\n"
    );
}
