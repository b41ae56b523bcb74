//! End-to-end NAT and filtering: rules loaded with `Netfilter::restore`, packets walked through
//! conntrack, NAT and routing on small topologies.

use std::net::{Ipv4Addr, SocketAddrV4};

use sim_core::{SimDuration, SimTime, Simulation};
use sim_net::conntrack::CtFilter;
use sim_net::iface::HostId;
use sim_net::netfilter::{RejectWith, RuleRef, TableName};
use sim_net::network::{
    ConvId, ConvProto, ConversationSpec, Disposition, Network, Outcome, SEGMENT_LATENCY, converse,
};
use sim_net::socket::{EchoApp, SockProto, WhoAmIApp};

fn sa(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

struct Routed {
    sim: Simulation<Network>,
    client: HostId,
    client2: HostId,
    router: HostId,
    server: HostId,
}

/// client 10.1.0.2, client2 10.1.0.3 — router 10.1.0.1 | 10.2.0.1 (+10.2.0.100) — server 10.2.0.2.
/// The server has no route back to 10.1.0.0/24: only NAT makes replies come back.
fn routed(rules: &str, server_routes_back: bool) -> Routed {
    let mut net = Network::new(11);
    let s1 = net.add_segment("left", SEGMENT_LATENCY);
    let s2 = net.add_segment("right", SEGMENT_LATENCY);
    let client = net.add_host("client").unwrap();
    let client2 = net.add_host("client2").unwrap();
    let router = net.add_host("router").unwrap();
    let server = net.add_host("server").unwrap();
    net.attach(client, "eth0", s1, Some("10.1.0.2/24".parse().unwrap())).unwrap();
    net.attach(client2, "eth0", s1, Some("10.1.0.3/24".parse().unwrap())).unwrap();
    net.attach(router, "eth0", s1, Some("10.1.0.1/24".parse().unwrap())).unwrap();
    net.attach(router, "eth1", s2, Some("10.2.0.1/24".parse().unwrap())).unwrap();
    net.host_mut(router).unwrap().add_addr("eth1", "10.2.0.100/24".parse().unwrap()).unwrap();
    net.attach(server, "eth0", s2, Some("10.2.0.2/24".parse().unwrap())).unwrap();
    for c in [client, client2] {
        net.host_mut(c).unwrap().add_route_str("default via 10.1.0.1 dev eth0").unwrap();
    }
    if server_routes_back {
        net.host_mut(server).unwrap().add_route_str("default via 10.2.0.1 dev eth0").unwrap();
    }
    let r = net.host_mut(router).unwrap();
    r.sysctl.ip_forward = true;
    r.netfilter.restore(rules, false).unwrap();
    net.listen(server, SockProto::Tcp, sa("0.0.0.0:8080"), Box::new(WhoAmIApp)).unwrap();
    net.listen(server, SockProto::Udp, sa("0.0.0.0:53"), Box::new(EchoApp)).unwrap();
    Routed { sim: Simulation::new(net), client, client2, router, server }
}

fn spec(from: HostId, proto: ConvProto, dst: &str) -> ConversationSpec {
    ConversationSpec {
        from,
        proto,
        dst: sa(dst),
        payload: b"hello".to_vec(),
        src_port: None,
        timeout: SimDuration::from_secs(5),
    }
}

fn run(sim: &mut Simulation<Network>, s: ConversationSpec) -> ConvId {
    let id = converse(sim, s);
    sim.run_until(SimTime::MAX);
    id
}

const DNAT: &str = "*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.2.0.2:8080
-A PREROUTING -d 10.96.0.1/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.2.0.2:5353
COMMIT
";

#[test]
fn dnat_on_a_router_and_the_reply_is_un_natted() {
    let mut t = routed(DNAT, true);
    t.sim.world.host_mut(t.client).unwrap().add_route_str("10.96.0.0/12 via 10.1.0.1 dev eth0").unwrap();
    let id = run(&mut t.sim, spec(t.client, ConvProto::Tcp, "10.96.0.1:80"));
    let net = &t.sim.world;
    let conv = net.conversation(id).unwrap();
    let local = conv.local.unwrap();
    assert!(matches!(conv.outcome, Some(Outcome::Completed { .. })), "{:?}", conv.outcome);
    let served = conv.served_by.clone().unwrap();
    assert_eq!(served.host, t.server);
    assert_eq!(served.local, sa("10.2.0.2:8080"));
    // No SNAT: the server sees the real client.
    assert_eq!(served.peer, local);
    let list =
        net.host(t.router).unwrap().conntrack.list(SimTime::from_nanos(1_000_000_000), &CtFilter::default());
    assert_eq!(
        list.stdout,
        format!(
            "tcp      6 119 TIME_WAIT src=10.1.0.2 dst=10.96.0.1 sport={p} dport=80 src=10.2.0.2 dst=10.1.0.2 sport=8080 dport={p} [ASSURED] mark=0 use=1\n",
            p = local.port()
        )
    );
}

#[test]
fn icmp_port_unreachable_from_a_dnat_backend_is_un_natted_with_its_quoted_packet() {
    let mut t = routed(DNAT, true);
    t.sim.world.host_mut(t.client).unwrap().add_route_str("10.96.0.0/12 via 10.1.0.1 dev eth0").unwrap();
    let id = run(&mut t.sim, spec(t.client, ConvProto::Udp, "10.96.0.1:53"));
    // The backend has nothing on 5353; the client sees the error come from the VIP, quoting
    // the datagram it sent (so its socket gets ECONNREFUSED).
    assert_eq!(
        t.sim.world.conversation(id).unwrap().outcome,
        Some(Outcome::Unreachable { icmp_type: 3, code: 3, from: ip("10.96.0.1") })
    );
}

const MASQ: &str = "*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth1 -j MASQUERADE
COMMIT
";

#[test]
fn masquerade_picks_the_primary_address_of_the_out_interface() {
    let mut t = routed(MASQ, false);
    let id = run(&mut t.sim, spec(t.client, ConvProto::Tcp, "10.2.0.2:8080"));
    let conv = t.sim.world.conversation(id).unwrap();
    let local = conv.local.unwrap();
    assert_eq!(
        conv.outcome,
        Some(Outcome::Completed {
            response: format!("hostname=server client=10.2.0.1:{}\n", local.port()).into_bytes()
        })
    );
    // Port kept: no collision.
    assert_eq!(conv.served_by.as_ref().unwrap().peer, SocketAddrV4::new(ip("10.2.0.1"), local.port()));
}

#[test]
fn masquerade_remaps_a_colliding_source_port() {
    let mut t = routed(MASQ, false);
    let mut a = spec(t.client, ConvProto::Udp, "10.2.0.2:53");
    a.src_port = Some(40000);
    let mut b = spec(t.client2, ConvProto::Udp, "10.2.0.2:53");
    b.src_port = Some(40000);
    let ia = converse(&mut t.sim, a);
    let ib = converse(&mut t.sim, b);
    t.sim.run_until(SimTime::MAX);
    let net = &t.sim.world;
    let pa = net.conversation(ia).unwrap().served_by.clone().unwrap().peer;
    let pb = net.conversation(ib).unwrap().served_by.clone().unwrap().peer;
    assert_eq!(pa, sa("10.2.0.1:40000"));
    assert_eq!(*pb.ip(), ip("10.2.0.1"));
    assert_ne!(pb.port(), 40000);
    for c in [ia, ib] {
        assert_eq!(
            net.conversation(c).unwrap().outcome,
            Some(Outcome::Completed { response: b"hello".to_vec() })
        );
    }
    let list =
        net.host(t.router).unwrap().conntrack.list(SimTime::from_nanos(1_000_000), &CtFilter::default());
    assert_eq!(list.count, 2);
    assert!(
        list.stdout.contains(&format!(
            "src=10.1.0.3 dst=10.2.0.2 sport=40000 dport=53 src=10.2.0.2 dst=10.2.0.1 sport=53 dport={}",
            pb.port()
        )),
        "{}",
        list.stdout
    );
}

#[test]
fn without_masquerade_the_server_cannot_answer() {
    let mut t = routed("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n", false);
    let id = run(&mut t.sim, spec(t.client, ConvProto::Tcp, "10.2.0.2:8080"));
    let conv = t.sim.world.conversation(id).unwrap();
    assert_eq!(conv.outcome, Some(Outcome::TimedOut));
    // Each SYN-ACK of the server has no route back.
    let net = &t.sim.world;
    let no_route =
        conv.packets.iter().filter(|p| net.disposition(**p) == Some(&Disposition::NoRoute)).count();
    assert!(no_route >= 1);
}

const FILTER: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset
-A FORWARD -p udp -m udp --dport 53 -j REJECT
-A FORWARD -p udp -m udp --dport 54 -j DROP
COMMIT
";

#[test]
fn reject_answers_rst_or_icmp_and_drop_is_silent() {
    let mut t = routed(FILTER, true);
    let id = run(&mut t.sim, spec(t.client, ConvProto::Tcp, "10.2.0.2:8080"));
    let net = &t.sim.world;
    let conv = net.conversation(id).unwrap();
    assert_eq!(conv.outcome, Some(Outcome::Refused));
    let rule = RuleRef { table: TableName::Filter, chain: "FORWARD".into(), index: 1 };
    assert_eq!(net.disposition(conv.packets[0]), Some(&Disposition::Rejected(rule, RejectWith::TcpReset)));
    let id = run(&mut t.sim, spec(t.client, ConvProto::Udp, "10.2.0.2:53"));
    assert_eq!(
        t.sim.world.conversation(id).unwrap().outcome,
        Some(Outcome::Unreachable { icmp_type: 3, code: 3, from: ip("10.1.0.1") })
    );
    let id = run(&mut t.sim, spec(t.client, ConvProto::Udp, "10.2.0.2:54"));
    let net = &t.sim.world;
    let conv = net.conversation(id).unwrap();
    assert_eq!(conv.outcome, Some(Outcome::TimedOut));
    let rule = RuleRef { table: TableName::Filter, chain: "FORWARD".into(), index: 3 };
    assert_eq!(net.disposition(conv.packets[0]), Some(&Disposition::DroppedByRule(rule)));
}

#[test]
fn a_drop_policy_names_table_and_chain() {
    let mut t =
        routed("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n", true);
    let id = run(&mut t.sim, spec(t.client, ConvProto::Icmp, "10.2.0.2:0"));
    let net = &t.sim.world;
    let conv = net.conversation(id).unwrap();
    assert_eq!(conv.outcome, Some(Outcome::TimedOut));
    assert_eq!(
        net.disposition(conv.packets[0]),
        Some(&Disposition::DroppedByPolicy(TableName::Filter, "FORWARD".into()))
    );
    let _ = t.server;
}

const KUBE_DNS: &str = include_str!("../../tests/data/kube-dns.rules");

/// A node with cni0 (10.244.0.1/24), a client pod 10.244.0.5 and two CoreDNS pods .8/.9, and
/// kube-proxy's rules for kube-dns 10.96.0.10:53.
fn dns_node(nf_call_iptables: bool, seed: u64) -> (Simulation<Network>, HostId, HostId) {
    let mut net = Network::new(seed);
    let node = net.add_host("node01").unwrap();
    net.add_bridge(node, "cni0", nf_call_iptables).unwrap();
    net.host_mut(node).unwrap().add_addr("cni0", "10.244.0.1/24".parse().unwrap()).unwrap();
    let mut pods = vec![];
    for (i, (name, addr)) in
        [("client", "10.244.0.5/24"), ("coredns-a", "10.244.0.8/24"), ("coredns-b", "10.244.0.9/24")]
            .into_iter()
            .enumerate()
    {
        let p = net.add_host(name).unwrap();
        let veth = format!("veth{i}");
        net.add_veth(p, "eth0", node, &veth).unwrap();
        net.set_master(node, &veth, "cni0").unwrap();
        let h = net.host_mut(p).unwrap();
        h.add_addr("eth0", addr.parse().unwrap()).unwrap();
        h.add_route_str("default via 10.244.0.1 dev eth0").unwrap();
        pods.push(p);
    }
    for p in &pods[1..] {
        net.listen(*p, SockProto::Udp, sa("0.0.0.0:53"), Box::new(EchoApp)).unwrap();
    }
    let n = net.host_mut(node).unwrap();
    n.sysctl.ip_forward = true;
    n.netfilter.restore(KUBE_DNS, false).unwrap();
    (Simulation::new(net), node, pods[0])
}

#[test]
fn cluster_ip_on_the_same_bridge_needs_br_netfilter_to_un_dnat_the_reply() {
    let mut served = std::collections::BTreeSet::new();
    for seed in 0..8 {
        let (mut sim, node, client) = dns_node(true, seed);
        let id = run(&mut sim, spec(client, ConvProto::Udp, "10.96.0.10:53"));
        let conv = sim.world.conversation(id).unwrap();
        assert_eq!(conv.outcome, Some(Outcome::Completed { response: b"hello".to_vec() }), "seed {seed}");
        let by = conv.served_by.clone().unwrap();
        served.insert(by.local);
        // The pod is in 10.244.0.0/16: no masquerade, the server sees the client pod.
        assert_eq!(*by.peer.ip(), ip("10.244.0.5"));
        let list = sim
            .world
            .host(node)
            .unwrap()
            .conntrack
            .list(SimTime::from_nanos(1_000_000), &CtFilter::default());
        assert_eq!(
            list.stdout,
            format!(
                "udp      17 29 src=10.244.0.5 dst=10.96.0.10 sport={p} dport=53 src={b} dst=10.244.0.5 sport=53 dport={p} mark=0 use=1\n",
                p = conv.local.unwrap().port(),
                b = by.local.ip()
            )
        );
    }
    // Both endpoints get picked across seeds.
    assert_eq!(served.len(), 2);
    // Without br_netfilter the reply is bridged straight back from the endpoint's address,
    // which the client's connected socket never contacted.
    let (mut sim, _, client) = dns_node(false, 1);
    let id = run(&mut sim, spec(client, ConvProto::Udp, "10.96.0.10:53"));
    let net = &sim.world;
    let conv = net.conversation(id).unwrap();
    assert_eq!(conv.outcome, Some(Outcome::TimedOut));
    assert!(conv.packets.iter().any(|p| net.disposition(*p) == Some(&Disposition::NoSocket)));
}

/// Article 004: client 192.168.0.10 → node2 192.168.0.2:30080, DNAT to a pod 10.244.1.5:80
/// behind node1 192.168.0.1. Without SNAT the pod's SYN-ACK goes straight back through node1,
/// from an address the client never contacted; with MASQUERADE it returns through node2.
fn nodeport(masquerade: bool) -> (Simulation<Network>, HostId, HostId, HostId) {
    let mut net = Network::new(4);
    let lan = net.add_segment("node-net", SEGMENT_LATENCY);
    let client = net.add_host("client").unwrap();
    let node1 = net.add_host("node1").unwrap();
    let node2 = net.add_host("node2").unwrap();
    let pod = net.add_host("pod").unwrap();
    net.attach(client, "eth0", lan, Some("192.168.0.10/24".parse().unwrap())).unwrap();
    net.attach(node1, "eth0", lan, Some("192.168.0.1/24".parse().unwrap())).unwrap();
    net.attach(node2, "eth0", lan, Some("192.168.0.2/24".parse().unwrap())).unwrap();
    net.add_veth(pod, "eth0", node1, "vethpod").unwrap();
    let p = net.host_mut(pod).unwrap();
    p.add_addr("eth0", "10.244.1.5/24".parse().unwrap()).unwrap();
    p.add_route_str("default via 10.244.1.1 dev eth0").unwrap();
    let n1 = net.host_mut(node1).unwrap();
    n1.add_addr("vethpod", "10.244.1.1/32".parse().unwrap()).unwrap();
    n1.add_route_str("10.244.1.5 dev vethpod scope link").unwrap();
    n1.sysctl.ip_forward = true;
    let n2 = net.host_mut(node2).unwrap();
    n2.add_route_str("10.244.1.0/24 via 192.168.0.1 dev eth0").unwrap();
    n2.sysctl.ip_forward = true;
    let masq = if masquerade { "-A POSTROUTING -d 10.244.0.0/16 -j MASQUERADE\n" } else { "" };
    let rules = format!(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
         -A PREROUTING -d 192.168.0.2/32 -p tcp -m tcp --dport 30080 -j DNAT --to-destination 10.244.1.5:80\n{masq}COMMIT\n"
    );
    n2.netfilter.restore(&rules, false).unwrap();
    net.listen(pod, SockProto::Tcp, sa("0.0.0.0:80"), Box::new(WhoAmIApp)).unwrap();
    (Simulation::new(net), client, node2, pod)
}

#[test]
fn nodeport_without_snat_replies_from_an_address_the_client_never_contacted() {
    let (mut sim, client, _, _) = nodeport(false);
    let id = run(&mut sim, spec(client, ConvProto::Tcp, "192.168.0.2:30080"));
    let net = &sim.world;
    let conv = net.conversation(id).unwrap();
    assert_eq!(conv.outcome, Some(Outcome::TimedOut));
    // The pod saw the real client and answered it directly; the client's stack found no
    // connection for 10.244.1.5:80 and dropped the SYN-ACK as stray (answering RST).
    assert!(conv.served_by.is_none());
    let stray = conv.packets.iter().filter(|p| net.disposition(**p) == Some(&Disposition::NoSocket)).count();
    assert!(stray >= 1);

    let (mut sim, client, _, pod) = nodeport(true);
    let id = run(&mut sim, spec(client, ConvProto::Tcp, "192.168.0.2:30080"));
    let conv = sim.world.conversation(id).unwrap();
    assert!(matches!(conv.outcome, Some(Outcome::Completed { .. })));
    let by = conv.served_by.clone().unwrap();
    assert_eq!(by.host, pod);
    assert_eq!(*by.peer.ip(), ip("192.168.0.2"));
}

#[test]
fn a_routing_loop_ends_in_ttl_exceeded() {
    let mut net = Network::new(5);
    let lan = net.add_segment("lan", SEGMENT_LATENCY);
    let c = net.add_host("c").unwrap();
    let r1 = net.add_host("r1").unwrap();
    let r2 = net.add_host("r2").unwrap();
    net.attach(c, "eth0", lan, Some("10.0.0.10/24".parse().unwrap())).unwrap();
    net.attach(r1, "eth0", lan, Some("10.0.0.1/24".parse().unwrap())).unwrap();
    net.attach(r2, "eth0", lan, Some("10.0.0.2/24".parse().unwrap())).unwrap();
    net.host_mut(c).unwrap().add_route_str("default via 10.0.0.1 dev eth0").unwrap();
    net.host_mut(r1).unwrap().add_route_str("default via 10.0.0.2 dev eth0").unwrap();
    net.host_mut(r2).unwrap().add_route_str("default via 10.0.0.1 dev eth0").unwrap();
    for r in [r1, r2] {
        net.host_mut(r).unwrap().sysctl.ip_forward = true;
    }
    let mut sim = Simulation::new(net);
    let id = run(&mut sim, spec(c, ConvProto::Icmp, "8.8.8.8:0"));
    let net = &sim.world;
    let conv = net.conversation(id).unwrap();
    let Some(Outcome::Unreachable { icmp_type: 11, code: 0, from }) = conv.outcome else {
        panic!("{:?}", conv.outcome)
    };
    assert!(from == ip("10.0.0.1") || from == ip("10.0.0.2"));
    assert_eq!(net.disposition(conv.packets[0]), Some(&Disposition::TtlExceeded));
}

#[test]
fn a_pod_reaching_itself_through_its_service_needs_hairpin_mode_and_is_masqueraded() {
    // Find seeds where CoreDNS pod .8 is DNATed to itself, with and without hairpin on its port.
    let mut checked = [false, false];
    for seed in 0..16 {
        for hairpin in [false, true] {
            let (mut sim, node, _) = dns_node(true, seed);
            let me = sim.world.host_id("coredns-a").unwrap();
            sim.world.host_mut(node).unwrap().iface_mut("veth1").unwrap().hairpin = hairpin;
            let id = run(&mut sim, spec(me, ConvProto::Udp, "10.96.0.10:53"));
            let net = &sim.world;
            let conv = net.conversation(id).unwrap();
            let first = net.disposition(conv.packets[0]).cloned();
            match (hairpin, &conv.outcome) {
                (false, Some(Outcome::TimedOut)) => {
                    assert_eq!(first, Some(Disposition::HairpinDropped));
                    checked[0] = true;
                }
                (true, Some(Outcome::Completed { .. })) if conv.served_by.as_ref().unwrap().host == me => {
                    // KUBE-MARK-MASQ -s 10.244.0.8/32 → MASQUERADE to cni0's address.
                    assert_eq!(*conv.served_by.as_ref().unwrap().peer.ip(), ip("10.244.0.1"));
                    checked[1] = true;
                }
                (_, Some(Outcome::Completed { .. })) => {
                    assert_eq!(conv.served_by.as_ref().unwrap().host, net.host_id("coredns-b").unwrap());
                }
                other => panic!("seed {seed} hairpin {hairpin}: {other:?}"),
            }
        }
    }
    assert_eq!(checked, [true, true]);
}

#[test]
fn node_views_after_dns_queries_snapshot() {
    let (mut sim, node, client) = dns_node(true, 2);
    for port in [41000, 41001, 41002] {
        let mut s = spec(client, ConvProto::Udp, "10.96.0.10:53");
        s.src_port = Some(port);
        converse(&mut sim, s);
    }
    sim.run_until(SimTime::ZERO + SimDuration::from_secs(3));
    let net = &sim.world;
    let h = net.host(node).unwrap();
    let list = h.conntrack.list(sim.now(), &CtFilter::parse(&["-p", "udp"]).unwrap());
    let text = format!(
        "$ ip route\n{}$ ip addr\n{}$ conntrack -L -p udp\n{}{}",
        h.ip_route(),
        net.ip_addr(node),
        list.stdout,
        list.stderr
    );
    insta::assert_snapshot!(text);
}

#[test]
fn rendered_walk_of_a_cluster_ip_dns_query_snapshot() {
    let (mut sim, _, client) = dns_node(true, 2);
    let mut s = spec(client, ConvProto::Udp, "10.96.0.10:53");
    s.src_port = Some(41000);
    converse(&mut sim, s);
    sim.run_until(SimTime::ZERO + SimDuration::from_secs(1));
    insta::assert_snapshot!(sim_net::network::render_trace(&sim.world, &sim.world.trace.records));
}

#[test]
fn the_node_itself_reaches_a_cluster_ip_through_output_dnat_and_masquerade() {
    let (mut sim, node, _) = dns_node(true, 3);
    let net = &mut sim.world;
    let lan = net.add_segment("node-net", SEGMENT_LATENCY);
    net.attach(node, "eth0", lan, Some("192.168.205.146/24".parse().unwrap())).unwrap();
    net.host_mut(node).unwrap().add_route_str("default via 192.168.205.1 dev eth0").unwrap();
    let id = run(&mut sim, spec(node, ConvProto::Udp, "10.96.0.10:53"));
    let net = &sim.world;
    let conv = net.conversation(id).unwrap();
    assert_eq!(conv.outcome, Some(Outcome::Completed { response: b"hello".to_vec() }));
    // Source chosen for the VIP's route (eth0) is outside the pod CIDR: KUBE-MARK-MASQ, then
    // MASQUERADE to cni0's address once OUTPUT's DNAT re-routed the packet there.
    assert_eq!(*conv.local.unwrap().ip(), ip("192.168.205.146"));
    assert_eq!(*conv.served_by.as_ref().unwrap().peer.ip(), ip("10.244.0.1"));
}

#[test]
fn loopback_conversation_stays_on_lo() {
    let (mut sim, node, _) = dns_node(true, 3);
    sim.world.listen(node, SockProto::Tcp, sa("127.0.0.1:10249"), Box::new(WhoAmIApp)).unwrap();
    let id = run(&mut sim, spec(node, ConvProto::Tcp, "127.0.0.1:10249"));
    let conv = sim.world.conversation(id).unwrap();
    assert!(matches!(conv.outcome, Some(Outcome::Completed { .. })));
    assert_eq!(*conv.served_by.as_ref().unwrap().peer.ip(), ip("127.0.0.1"));
    // Loopback has no latency.
    assert_eq!(conv.finished, conv.started);
}

/// A router that DNATs a datagram in PREROUTING and then finds its TTL spent sends time
/// exceeded with the datagram's (unconfirmed) connection attached (`nf_ct_attach` in
/// `icmp_glue_bits`): the error is un-NATed, so its source reads as the address the client
/// asked for, as traceroute shows through a DNAT (tests/data/real-tools/traceroute/).
#[test]
fn time_exceeded_from_a_dnat_router_carries_the_connection_and_is_un_natted() {
    let mut t = routed(DNAT, true);
    t.sim.world.host_mut(t.client).unwrap().add_route_str("10.96.0.0/12 via 10.1.0.1 dev eth0").unwrap();
    let probe = |t: &mut Routed, dst: &str, ttl: u8| {
        let s = spec(t.client, ConvProto::Udp, dst);
        let (net, sched) = t.sim.split();
        let id = net.start_udp_with_ttl(s, ttl);
        sched.schedule_in(SimDuration::ZERO, sim_net::network::NetEvent::ConvStart(id));
        t.sim.run_until(SimTime::MAX);
        t.sim.world.conversation(id).unwrap().outcome.clone()
    };
    // DNATed (udp 53 → 10.2.0.2:5353): the router's error comes from the service address.
    assert_eq!(
        probe(&mut t, "10.96.0.1:53", 1),
        Some(Outcome::Unreachable { icmp_type: 11, code: 0, from: ip("10.96.0.1") })
    );
    // Not DNATed: from the router's own address towards the client.
    assert_eq!(
        probe(&mut t, "10.2.0.2:53", 1),
        Some(Outcome::Unreachable { icmp_type: 11, code: 0, from: ip("10.1.0.1") })
    );
    // TTL 2 reaches the server (an echo server on 53; nothing on 5353: port unreachable, un-NATed).
    assert_eq!(
        probe(&mut t, "10.96.0.1:53", 2),
        Some(Outcome::Unreachable { icmp_type: 3, code: 3, from: ip("10.96.0.1") })
    );
}

/// `Network::socket_table`: what `ss` and `netstat` list — bound sockets, then connections in
/// their states (a SYN not yet answered is SYN-SENT on the client and nothing on the server).
#[test]
fn the_socket_table_lists_listeners_and_connections_in_their_states() {
    use sim_net::socket::{LISTEN_BACKLOG, SocketState};
    let mut t = routed(DNAT, true);
    let rows = t.sim.world.socket_table(t.server, SimTime::ZERO);
    let listed: Vec<(SockProto, SocketState, String, u32)> =
        rows.iter().map(|r| (r.proto, r.state, r.local.to_string(), r.send_q)).collect();
    assert_eq!(
        listed,
        [
            (SockProto::Tcp, SocketState::Listen, "0.0.0.0:8080".to_string(), LISTEN_BACKLOG),
            (SockProto::Udp, SocketState::Close, "0.0.0.0:53".to_string(), 0),
        ]
    );
    // A connection to an address nobody has: the client's socket waits in SYN-SENT.
    let id = converse(&mut t.sim, spec(t.client, ConvProto::Tcp, "10.2.0.99:80"));
    t.sim.run_until(SimTime::from_nanos(500_000_000));
    let local = t.sim.world.conversation(id).unwrap().local.unwrap();
    let rows = t.sim.world.socket_table(t.client, t.sim.now());
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].state, rows[0].local, rows[0].peer, rows[0].send_q),
        (SocketState::SynSent, local, sa("10.2.0.99:80"), 1)
    );
    // Once it has failed, the socket is gone.
    t.sim.run_until(SimTime::MAX);
    let now = t.sim.now();
    assert!(t.sim.world.socket_table(t.client, now).is_empty());
    // A request answered and closed by the client first: TIME-WAIT for 60 s, then nothing.
    let id = converse(&mut t.sim, spec(t.client, ConvProto::Tcp, "10.2.0.2:8080"));
    t.sim.run_until(SimTime::MAX);
    let conv = t.sim.world.conversation(id).unwrap().clone();
    assert!(matches!(conv.outcome, Some(Outcome::Completed { .. })));
    let done = conv.finished.unwrap();
    let rows = t.sim.world.socket_table(t.client, done + SimDuration::from_secs(59));
    assert_eq!(
        rows.iter().map(|r| (r.state, r.local, r.peer)).collect::<Vec<_>>(),
        [(SocketState::TimeWait, conv.local.unwrap(), sa("10.2.0.2:8080"))]
    );
    assert!(t.sim.world.socket_table(t.client, done + SimDuration::from_secs(60)).is_empty());
    // The server closed second: no socket left there but its listeners.
    assert_eq!(t.sim.world.socket_table(t.server, done).len(), 2);
}
