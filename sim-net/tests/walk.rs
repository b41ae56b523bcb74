//! End-to-end packet walks on small hand-built topologies.

use std::net::{Ipv4Addr, SocketAddrV4};

use sim_core::{SimDuration, SimTime, Simulation};
use sim_net::conntrack::CtFilter;
use sim_net::iface::HostId;
use sim_net::network::{
    ConvId, ConvProto, ConversationSpec, Delivery, Disposition, NetTrace, Network, Outcome, SEGMENT_LATENCY,
    converse,
};
use sim_net::socket::{EchoApp, SockProto, WhoAmIApp};
use sim_net::wire::Protocol;

fn sa(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Two hosts on one segment: a (10.0.0.1) and b (10.0.0.2, TCP 80 and UDP 53 listeners).
fn two_hosts(seed: u64) -> (Simulation<Network>, HostId, HostId) {
    let mut net = Network::new(seed);
    let seg = net.add_segment("lan", SEGMENT_LATENCY);
    let a = net.add_host("a").unwrap();
    let b = net.add_host("b").unwrap();
    net.attach(a, "eth0", seg, Some("10.0.0.1/24".parse().unwrap())).unwrap();
    net.attach(b, "eth0", seg, Some("10.0.0.2/24".parse().unwrap())).unwrap();
    net.listen(b, SockProto::Tcp, sa("0.0.0.0:80"), Box::new(WhoAmIApp)).unwrap();
    net.listen(b, SockProto::Udp, sa("10.0.0.2:53"), Box::new(EchoApp)).unwrap();
    (Simulation::new(net), a, b)
}

fn spec(from: HostId, proto: ConvProto, dst: &str, payload: &[u8]) -> ConversationSpec {
    ConversationSpec {
        from,
        proto,
        dst: sa(dst),
        payload: payload.to_vec(),
        src_port: None,
        timeout: SimDuration::from_secs(10),
    }
}

fn run(sim: &mut Simulation<Network>, s: ConversationSpec) -> ConvId {
    let id = converse(sim, s);
    sim.run_until(SimTime::MAX);
    id
}

fn dispositions_of(net: &Network, c: ConvId) -> Vec<Disposition> {
    let conv = net.conversation(c).unwrap();
    conv.packets.iter().map(|p| net.disposition(*p).cloned().unwrap()).collect()
}

#[test]
fn tcp_conversation_completes_and_the_conntrack_entry_is_time_wait() {
    let (mut sim, a, b) = two_hosts(1);
    let c = run(&mut sim, spec(a, ConvProto::Tcp, "10.0.0.2:80", b"GET / HTTP/1.1\r\n\r\n"));
    let net = &sim.world;
    let conv = net.conversation(c).unwrap();
    let local = conv.local.unwrap();
    assert_eq!(
        conv.outcome,
        Some(Outcome::Completed { response: format!("hostname=b client={local}\n").into_bytes() })
    );
    assert_eq!(conv.served_by.as_ref().unwrap().host, b);
    assert_eq!(conv.served_by.as_ref().unwrap().peer, local);
    // SYN, SYN-ACK, ACK, request, response, FIN, FIN-ACK, ACK.
    assert_eq!(conv.packets.len(), 8);
    assert!(
        dispositions_of(net, c)
            .iter()
            .all(|d| matches!(d, Disposition::Delivered(Delivery::Socket { proto: Protocol::Tcp, .. })))
    );
    assert!((32768..=60999).contains(&local.port()));
    // Listed at the 10 s deadline, 120 s after the last ACK at 1.4 ms: 110 s left.
    assert_eq!(sim.now(), SimTime::ZERO + SimDuration::from_secs(10));
    let listing = net.host(a).unwrap().conntrack.list(sim.now(), &CtFilter::default());
    assert_eq!(
        listing.stdout,
        format!(
            "tcp      6 110 TIME_WAIT src=10.0.0.1 dst=10.0.0.2 sport={p} dport=80 src=10.0.0.2 dst=10.0.0.1 sport=80 dport={p} [ASSURED] mark=0 use=1\n",
            p = local.port()
        )
    );
    // SYN, SYN-ACK, ACK+request, response, FIN, FIN-ACK: six one-way trips of 200µs.
    assert_eq!(conv.finished.unwrap() - conv.started.unwrap(), SimDuration::from_micros(6 * 200));
}

#[test]
fn closed_tcp_port_is_refused_with_rst() {
    let (mut sim, a, _) = two_hosts(1);
    let c = run(&mut sim, spec(a, ConvProto::Tcp, "10.0.0.2:81", b"x"));
    let net = &sim.world;
    assert_eq!(net.conversation(c).unwrap().outcome, Some(Outcome::Refused));
    assert_eq!(dispositions_of(net, c)[0], Disposition::NoListener);
    // The reply RST killed b's unreplied entry; a's entry also saw the RST in reply.
    assert!(net.host(HostId(1)).unwrap().conntrack.is_empty());
    assert!(net.host(a).unwrap().conntrack.is_empty());
}

#[test]
fn udp_request_response_and_closed_port() {
    let (mut sim, a, b) = two_hosts(1);
    let c = run(&mut sim, spec(a, ConvProto::Udp, "10.0.0.2:53", b"query"));
    assert_eq!(
        sim.world.conversation(c).unwrap().outcome,
        Some(Outcome::Completed { response: b"query".to_vec() })
    );
    let c = run(&mut sim, spec(a, ConvProto::Udp, "10.0.0.2:54", b"query"));
    let net = &sim.world;
    assert_eq!(
        net.conversation(c).unwrap().outcome,
        Some(Outcome::Unreachable { icmp_type: 3, code: 3, from: ip("10.0.0.2") })
    );
    assert_eq!(
        dispositions_of(net, c),
        vec![Disposition::NoListener, Disposition::Delivered(Delivery::Stack)]
    );
    let _ = b;
}

#[test]
fn ping_and_no_route_and_arp_failure() {
    let (mut sim, a, _) = two_hosts(1);
    let c = run(&mut sim, spec(a, ConvProto::Icmp, "10.0.0.2:0", b"ping"));
    assert_eq!(
        sim.world.conversation(c).unwrap().outcome,
        Some(Outcome::Completed { response: b"ping".to_vec() })
    );
    let c = run(&mut sim, spec(a, ConvProto::Tcp, "192.0.2.1:80", b""));
    assert_eq!(sim.world.conversation(c).unwrap().outcome, Some(Outcome::NoRoute));
    assert!(sim.world.conversation(c).unwrap().packets.is_empty());
    // On-link but nobody owns it: ARP fails, the stack reports host unreachable after 3 s.
    let c = run(&mut sim, spec(a, ConvProto::Tcp, "10.0.0.99:80", b""));
    let conv = sim.world.conversation(c).unwrap();
    assert_eq!(conv.outcome, Some(Outcome::Unreachable { icmp_type: 3, code: 1, from: ip("10.0.0.1") }));
    assert_eq!(conv.finished.unwrap() - conv.started.unwrap(), SimDuration::from_secs(3));
}

#[test]
fn syn_retransmits_until_the_timeout_when_the_server_host_is_down() {
    let (mut sim, a, b) = two_hosts(1);
    sim.world.host_mut(b).unwrap().set_up("eth0", false).unwrap();
    let mut s = spec(a, ConvProto::Tcp, "10.0.0.2:80", b"");
    s.timeout = SimDuration::from_secs(10);
    let c = run(&mut sim, s);
    let conv = sim.world.conversation(c).unwrap();
    assert_eq!(conv.outcome, Some(Outcome::Unreachable { icmp_type: 3, code: 1, from: ip("10.0.0.1") }));
    // SYNs at 0 s, 1 s and 3 s before the 3 s ARP timeout answers.
    assert_eq!(conv.syns_sent, 3);
}

/// client (10.1.0.2) — r (10.1.0.1 | 10.2.0.1) — server (10.2.0.2).
fn routed(forward: bool) -> (Simulation<Network>, HostId, HostId, HostId) {
    let mut net = Network::new(7);
    let s1 = net.add_segment("left", SEGMENT_LATENCY);
    let s2 = net.add_segment("right", SEGMENT_LATENCY);
    let c = net.add_host("client").unwrap();
    let r = net.add_host("router").unwrap();
    let s = net.add_host("server").unwrap();
    net.attach(c, "eth0", s1, Some("10.1.0.2/24".parse().unwrap())).unwrap();
    net.attach(r, "eth0", s1, Some("10.1.0.1/24".parse().unwrap())).unwrap();
    net.attach(r, "eth1", s2, Some("10.2.0.1/24".parse().unwrap())).unwrap();
    net.attach(s, "eth0", s2, Some("10.2.0.2/24".parse().unwrap())).unwrap();
    net.host_mut(c).unwrap().add_route_str("default via 10.1.0.1 dev eth0").unwrap();
    net.host_mut(s).unwrap().add_route_str("default via 10.2.0.1 dev eth0").unwrap();
    net.host_mut(r).unwrap().sysctl.ip_forward = forward;
    net.listen(s, SockProto::Tcp, sa("0.0.0.0:8080"), Box::new(WhoAmIApp)).unwrap();
    (Simulation::new(net), c, r, s)
}

#[test]
fn router_forwards_only_with_ip_forward() {
    let (mut sim, c, r, _) = routed(true);
    let id = run(&mut sim, spec(c, ConvProto::Tcp, "10.2.0.2:8080", b"hi"));
    assert_eq!(
        sim.world.conversation(id).unwrap().outcome,
        Some(Outcome::Completed {
            response: b"hostname=server client=10.1.0.2:"
                .iter()
                .copied()
                .chain(sim.world.conversation(id).unwrap().local.unwrap().port().to_string().bytes())
                .chain(*b"\n")
                .collect()
        })
    );
    let fwd = sim.world.host(r).unwrap().conntrack.len();
    assert_eq!(fwd, 1);
    let (mut sim, c, _, _) = routed(false);
    let id = run(&mut sim, spec(c, ConvProto::Tcp, "10.2.0.2:8080", b"hi"));
    assert_eq!(sim.world.conversation(id).unwrap().outcome, Some(Outcome::TimedOut));
    let d = dispositions_of(&sim.world, id);
    assert!(d.iter().all(|d| *d == Disposition::ForwardingDisabled), "{d:?}");
    assert_eq!(sim.world.conversation(id).unwrap().syns_sent, 4);
}

#[test]
fn ttl_exceeded_and_net_unreachable_from_the_router() {
    let (mut sim, c, _, _) = routed(true);
    let id = run(&mut sim, spec(c, ConvProto::Icmp, "10.9.9.9:0", b""));
    assert_eq!(
        sim.world.conversation(id).unwrap().outcome,
        Some(Outcome::Unreachable { icmp_type: 3, code: 0, from: ip("10.1.0.1") })
    );
    assert_eq!(dispositions_of(&sim.world, id)[0], Disposition::NoRoute);
}

/// A node with bridge cni0 (10.244.0.1/24) and two pod namespaces on veths.
fn bridged(nf_call: bool) -> (Simulation<Network>, HostId, HostId, HostId) {
    let mut net = Network::new(3);
    let node = net.add_host("node").unwrap();
    let p1 = net.add_host("pod1").unwrap();
    let p2 = net.add_host("pod2").unwrap();
    net.add_bridge(node, "cni0", nf_call).unwrap();
    net.host_mut(node).unwrap().add_addr("cni0", "10.244.0.1/24".parse().unwrap()).unwrap();
    for (p, veth, addr) in [(p1, "veth1", "10.244.0.5/24"), (p2, "veth2", "10.244.0.6/24")] {
        net.add_veth(p, "eth0", node, veth).unwrap();
        net.set_master(node, veth, "cni0").unwrap();
        let h = net.host_mut(p).unwrap();
        h.add_addr("eth0", addr.parse().unwrap()).unwrap();
        h.add_route_str("default via 10.244.0.1 dev eth0").unwrap();
        net.listen(p, SockProto::Tcp, sa("0.0.0.0:80"), Box::new(WhoAmIApp)).unwrap();
    }
    (Simulation::new(net), node, p1, p2)
}

#[test]
fn bridge_forwards_between_veth_namespaces_and_to_its_own_address() {
    for nf in [false, true] {
        let (mut sim, node, p1, p2) = bridged(nf);
        let id = run(&mut sim, spec(p1, ConvProto::Tcp, "10.244.0.6:80", b"x"));
        let conv = sim.world.conversation(id).unwrap();
        assert_eq!(conv.served_by.as_ref().unwrap().host, p2);
        assert!(matches!(conv.outcome, Some(Outcome::Completed { .. })));
        // br_netfilter makes the node track the bridged connection.
        assert_eq!(sim.world.host(node).unwrap().conntrack.len(), usize::from(nf));
        let bridged = sim
            .world
            .trace
            .records
            .iter()
            .any(|r| matches!(&r.event, NetTrace::Bridge { bridge, .. } if bridge == "cni0"));
        assert!(bridged);
        // The node answers pings on the bridge address.
        let id = run(&mut sim, spec(p1, ConvProto::Icmp, "10.244.0.1:0", b""));
        assert!(matches!(sim.world.conversation(id).unwrap().outcome, Some(Outcome::Completed { .. })));
        // And the node reaches a pod through the bridge.
        let id = run(&mut sim, spec(node, ConvProto::Tcp, "10.244.0.5:80", b""));
        assert_eq!(sim.world.conversation(id).unwrap().served_by.as_ref().unwrap().host, p1);
    }
}

#[test]
fn ip_addr_and_ip_route_of_a_pod() {
    let (sim, _, p1, _) = bridged(true);
    let h = sim.world.host(p1).unwrap();
    assert_eq!(
        h.ip_route(),
        "default via 10.244.0.1 dev eth0\n10.244.0.0/24 dev eth0 proto kernel scope link src 10.244.0.5\n"
    );
    let out = sim.world.ip_addr(p1);
    assert!(
        out.contains("2: eth0@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP"),
        "{out}"
    );
}

#[test]
fn a_full_conntrack_table_drops_new_connections_and_logs_it() {
    let (mut sim, a, b) = two_hosts(1);
    let cfg = sim_net::conntrack::CtConfig { max: 1, ..Default::default() };
    sim.world.host_mut(b).unwrap().conntrack.set_config(cfg);
    let first = run(&mut sim, spec(a, ConvProto::Tcp, "10.0.0.2:80", b"1"));
    assert!(matches!(sim.world.conversation(first).unwrap().outcome, Some(Outcome::Completed { .. })));
    // The first entry is ASSURED (TIME_WAIT): it cannot be early-dropped.
    let mut s = spec(a, ConvProto::Tcp, "10.0.0.2:80", b"2");
    s.timeout = SimDuration::from_millis(1500);
    let second = run(&mut sim, s);
    let net = &sim.world;
    let conv = net.conversation(second).unwrap();
    assert_eq!(conv.outcome, Some(Outcome::TimedOut));
    assert_eq!(net.disposition(conv.packets[0]), Some(&Disposition::ConntrackFull));
    assert!(net.trace.records.iter().any(|r| matches!(&r.event,
        NetTrace::KernelLog { message, .. } if message == sim_net::conntrack::TABLE_FULL_MESSAGE)));
    assert_eq!(
        sim_net::conntrack::TABLE_FULL_MESSAGE,
        "nf_conntrack: nf_conntrack: table full, dropping packet"
    );
    let stats = net.host(b).unwrap().conntrack.stats();
    // The SYN and its retransmission 1 s later.
    assert_eq!((stats.drop, stats.early_drop), (2, 0));
}

#[test]
fn down_veth_peer_and_martian_localhost() {
    // Behind a bridge, a port whose peer is down has no carrier: nobody answers ARP.
    let (mut sim, node, p1, _) = bridged(true);
    sim.world.host_mut(p1).unwrap().set_up("eth0", false).unwrap();
    let id = run(&mut sim, spec(node, ConvProto::Icmp, "10.244.0.5:0", b""));
    let net = &sim.world;
    let conv = net.conversation(id).unwrap();
    assert_eq!(net.disposition(conv.packets[0]), Some(&Disposition::HostUnreachable));
    // On a routed veth (ptp CNI style) the packet is lost on the down link.
    let mut net = Network::new(1);
    let x = net.add_host("x").unwrap();
    let y = net.add_host("y").unwrap();
    net.add_veth(x, "vethy", y, "eth0").unwrap();
    net.host_mut(x).unwrap().add_addr("vethy", "10.0.0.1/32".parse().unwrap()).unwrap();
    net.host_mut(x).unwrap().add_route_str("10.0.0.2 dev vethy scope link").unwrap();
    net.host_mut(y).unwrap().add_addr("eth0", "10.0.0.2/32".parse().unwrap()).unwrap();
    net.host_mut(y).unwrap().set_up("eth0", false).unwrap();
    let mut sim = Simulation::new(net);
    let id = run(&mut sim, spec(x, ConvProto::Icmp, "10.0.0.2:0", b""));
    let net = &sim.world;
    assert_eq!(net.disposition(net.conversation(id).unwrap().packets[0]), Some(&Disposition::InterfaceDown));
    // A packet to 127.0.0.1 arriving on a real interface is martian unless route_localnet.
    let (mut sim, a, b) = two_hosts(1);
    sim.world.host_mut(a).unwrap().add_route_str("127.0.0.0/8 via 10.0.0.2 dev eth0").unwrap();
    sim.world.host_mut(a).unwrap().set_up("lo", false).unwrap();
    let id = run(&mut sim, spec(a, ConvProto::Icmp, "127.0.0.1:0", b""));
    let net = &sim.world;
    assert_eq!(net.disposition(net.conversation(id).unwrap().packets[0]), Some(&Disposition::Martian));
    sim.world.host_mut(b).unwrap().sysctl.route_localnet = true;
    let id = run(&mut sim, spec(a, ConvProto::Icmp, "127.0.0.1:0", b""));
    let net = &sim.world;
    assert_eq!(
        net.disposition(net.conversation(id).unwrap().packets[0]),
        Some(&Disposition::Delivered(Delivery::Stack))
    );
}

/// A reverse proxy on b: it forwards every request to `upstream` (first to a closed port, so
/// it retries once), then answers with what came back and the outcome of each try.
struct Proxy {
    tries: Vec<SocketAddrV4>,
}

impl sim_net::socket::Application for Proxy {
    fn respond(&mut self, _ctx: &sim_net::socket::AppContext<'_>, _request: &[u8]) -> Vec<u8> {
        Vec::new()
    }
    fn handle(
        &mut self,
        _ctx: &sim_net::socket::AppContext<'_>,
        request: &[u8],
    ) -> sim_net::socket::AppReply {
        sim_net::socket::AppReply::Upstream(sim_net::socket::UpstreamRequest {
            proto: sim_net::socket::SockProto::Tcp,
            dst: self.tries[0],
            request: request.to_vec(),
            timeout: SimDuration::from_secs(5),
            token: 0,
        })
    }
    fn upstream_done(
        &mut self,
        _ctx: &sim_net::socket::AppContext<'_>,
        token: u64,
        outcome: &Outcome,
    ) -> sim_net::socket::AppReply {
        match outcome {
            Outcome::Completed { response } => {
                let mut r = format!("via proxy after {} tries: ", token + 1).into_bytes();
                r.extend_from_slice(response);
                sim_net::socket::AppReply::Respond(r)
            }
            _ if (token as usize) + 1 < self.tries.len() => {
                sim_net::socket::AppReply::Upstream(sim_net::socket::UpstreamRequest {
                    proto: sim_net::socket::SockProto::Tcp,
                    dst: self.tries[token as usize + 1],
                    request: b"retry".to_vec(),
                    timeout: SimDuration::from_secs(5),
                    token: token + 1,
                })
            }
            other => sim_net::socket::AppReply::Respond(format!("{other:?}").into_bytes()),
        }
    }
}

#[test]
fn a_proxying_application_opens_its_own_connection_and_answers_when_it_ends() {
    let (mut sim, a, b) = two_hosts(3);
    let c_host = sim.world.add_host("c").unwrap();
    let seg = sim_net::iface::SegmentId(0);
    sim.world.attach(c_host, "eth0", seg, Some("10.0.0.3/24".parse().unwrap())).unwrap();
    sim.world.listen(c_host, SockProto::Tcp, sa("0.0.0.0:80"), Box::new(WhoAmIApp)).unwrap();
    let proxy = Proxy { tries: vec![sa("10.0.0.3:81"), sa("10.0.0.3:80")] };
    sim.world.listen(b, SockProto::Tcp, sa("0.0.0.0:8080"), Box::new(proxy)).unwrap();
    let c = run(&mut sim, spec(a, ConvProto::Tcp, "10.0.0.2:8080", b"GET / HTTP/1.1\r\n\r\n"));
    let net = &sim.world;
    let conv = net.conversation(c).unwrap();
    // The first try was refused (RST), the second answered; c saw b as its client.
    let Some(Outcome::Completed { response }) = &conv.outcome else { panic!("{:?}", conv.outcome) };
    let text = String::from_utf8_lossy(response);
    assert!(text.starts_with("via proxy after 2 tries: hostname=c client=10.0.0.2:"), "{text}");
    assert_eq!(conv.upstreams.len(), 2);
    let second = net.conversation(conv.upstreams[1]).unwrap();
    assert_eq!(second.upstream_of, Some(c));
    assert_eq!(second.served_by.as_ref().map(|s| s.host), Some(c_host));
    assert_eq!(net.conversation(conv.upstreams[0]).unwrap().outcome, Some(Outcome::Refused));
}

/// A UDP forwarder on b (a DNS forwarder's shape): each datagram is sent on to `upstream` as
/// its own UDP conversation; an answer is relayed, a timeout answered with `timeout`.
struct UdpForwarder {
    upstream: SocketAddrV4,
}

impl sim_net::socket::Application for UdpForwarder {
    fn respond(&mut self, _ctx: &sim_net::socket::AppContext<'_>, _request: &[u8]) -> Vec<u8> {
        Vec::new()
    }
    fn handle(
        &mut self,
        _ctx: &sim_net::socket::AppContext<'_>,
        request: &[u8],
    ) -> sim_net::socket::AppReply {
        sim_net::socket::AppReply::Upstream(sim_net::socket::UpstreamRequest {
            proto: SockProto::Udp,
            dst: self.upstream,
            request: request.to_vec(),
            timeout: SimDuration::from_secs(2),
            token: 7,
        })
    }
    fn upstream_done(
        &mut self,
        _ctx: &sim_net::socket::AppContext<'_>,
        _token: u64,
        outcome: &Outcome,
    ) -> sim_net::socket::AppReply {
        match outcome {
            Outcome::Completed { response } => sim_net::socket::AppReply::Respond(response.clone()),
            _ => sim_net::socket::AppReply::Respond(b"timeout".to_vec()),
        }
    }
}

/// An upstream that answers `slow` after a second and swallows `drop`.
struct SlowServer;

impl sim_net::socket::Application for SlowServer {
    fn respond(&mut self, _ctx: &sim_net::socket::AppContext<'_>, request: &[u8]) -> Vec<u8> {
        request.to_vec()
    }
    fn handle(
        &mut self,
        _ctx: &sim_net::socket::AppContext<'_>,
        request: &[u8],
    ) -> sim_net::socket::AppReply {
        match request {
            b"drop" => sim_net::socket::AppReply::Nothing,
            _ => sim_net::socket::AppReply::Later {
                after: SimDuration::from_secs(1),
                response: request.to_vec(),
            },
        }
    }
}

#[test]
fn a_udp_server_can_forward_answer_later_or_not_at_all() {
    let (mut sim, a, b) = two_hosts(3);
    let c_host = sim.world.add_host("c").unwrap();
    let seg = sim_net::iface::SegmentId(0);
    sim.world.attach(c_host, "eth0", seg, Some("10.0.0.3/24".parse().unwrap())).unwrap();
    sim.world.listen(c_host, SockProto::Udp, sa("0.0.0.0:53"), Box::new(SlowServer)).unwrap();
    let fwd = UdpForwarder { upstream: sa("10.0.0.3:53") };
    sim.world.listen(b, SockProto::Udp, sa("0.0.0.0:5353"), Box::new(fwd)).unwrap();
    let c = run(&mut sim, spec(a, ConvProto::Udp, "10.0.0.2:5353", b"slow"));
    let net = &sim.world;
    let conv = net.conversation(c).unwrap();
    assert_eq!(conv.outcome, Some(Outcome::Completed { response: b"slow".to_vec() }));
    let waited = conv.finished.unwrap().saturating_since(conv.started.unwrap());
    assert!(waited >= SimDuration::from_secs(1) && waited < SimDuration::from_millis(1010), "{waited:?}");
    assert_eq!(conv.upstreams.len(), 1);
    let up = net.conversation(conv.upstreams[0]).unwrap();
    assert_eq!((up.spec.proto, up.upstream_of), (ConvProto::Udp, Some(c)));
    // Nothing comes back from the upstream: the forwarder's own timeout answers the client.
    let c = run(&mut sim, spec(a, ConvProto::Udp, "10.0.0.2:5353", b"drop"));
    let conv = sim.world.conversation(c).unwrap();
    assert_eq!(conv.outcome, Some(Outcome::Completed { response: b"timeout".to_vec() }));
}

#[test]
fn a_cut_link_loses_frames_both_ways_until_healed() {
    let (mut sim, a, b) = two_hosts(1);
    sim.world.cut(b, a);
    assert!(sim.world.is_cut(a, b));
    let c = run(&mut sim, spec(a, ConvProto::Udp, "10.0.0.2:53", b"q"));
    assert_eq!(sim.world.conversation(c).unwrap().outcome, Some(Outcome::TimedOut));
    assert_eq!(dispositions_of(&sim.world, c).first(), Some(&Disposition::Partitioned));
    sim.world.heal(a, b);
    let c = run(&mut sim, spec(a, ConvProto::Udp, "10.0.0.2:53", b"q"));
    assert!(matches!(sim.world.conversation(c).unwrap().outcome, Some(Outcome::Completed { .. })));
}
