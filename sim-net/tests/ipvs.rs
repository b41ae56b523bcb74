//! IP Virtual Server end to end: a director with a virtual address on a dummy `kube-ipvs0`,
//! real servers behind it, packets walked through LOCAL_IN scheduling, Masq forwarding,
//! POSTROUTING and the reply's un-NAT; `ipvsadm` output after real traffic.

use std::net::{Ipv4Addr, SocketAddrV4};

use sim_core::{SimDuration, SimTime, Simulation};
use sim_net::iface::HostId;
use sim_net::ipvs::{
    ForwardMethod, IpvsDrop, Persistence, RealServer, SchedName, ServiceKey, VirtualService,
};
use sim_net::network::{
    ConvId, ConvProto, ConversationSpec, Delivery, Disposition, Network, Outcome, SEGMENT_LATENCY, converse,
    render_trace,
};
use sim_net::socket::{SockProto, WhoAmIApp};

fn sa(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

const VIP: &str = "10.96.0.1";

struct Lab {
    sim: Simulation<Network>,
    client: HostId,
    director: HostId,
}

/// client (10.0.0.1) — lan — director (10.0.0.2 | 10.1.0.1, kube-ipvs0 10.96.0.1/32) — srv —
/// r1 (10.1.0.11), r2 (10.1.0.12), both serving TCP 6443. `svc` configures the director's
/// IPVS through the typed API.
fn lab(vs_conntrack: bool, svc: impl FnOnce(&mut sim_net::ipvs::Ipvs)) -> Lab {
    let mut net = Network::new(7);
    let lan = net.add_segment("lan", SEGMENT_LATENCY);
    let srv = net.add_segment("srv", SEGMENT_LATENCY);
    let client = net.add_host("client").unwrap();
    let director = net.add_host("director").unwrap();
    net.attach(client, "eth0", lan, Some("10.0.0.1/24".parse().unwrap())).unwrap();
    net.attach(director, "eth0", lan, Some("10.0.0.2/24".parse().unwrap())).unwrap();
    net.attach(director, "eth1", srv, Some("10.1.0.1/24".parse().unwrap())).unwrap();
    net.add_dummy(director, "kube-ipvs0").unwrap();
    // As kube-proxy leaves it: down, its addresses local all the same.
    net.host_mut(director).unwrap().set_up("kube-ipvs0", false).unwrap();
    net.host_mut(client).unwrap().add_route_str("default via 10.0.0.2 dev eth0").unwrap();
    for (name, addr) in [("r1", "10.1.0.11/24"), ("r2", "10.1.0.12/24")] {
        let r = net.add_host(name).unwrap();
        net.attach(r, "eth0", srv, Some(addr.parse().unwrap())).unwrap();
        net.host_mut(r).unwrap().add_route_str("default via 10.1.0.1 dev eth0").unwrap();
        net.listen(r, SockProto::Tcp, sa("0.0.0.0:6443"), Box::new(WhoAmIApp)).unwrap();
    }
    let d = net.host_mut(director).unwrap();
    d.add_addr("kube-ipvs0", "10.96.0.1/32".parse().unwrap()).unwrap();
    d.sysctl.ip_forward = true;
    d.sysctl.vs_conntrack = vs_conntrack;
    svc(&mut d.ipvs);
    Lab { sim: Simulation::new(net), client, director }
}

fn key() -> ServiceKey {
    ServiceKey::tcp(ip(VIP), 443)
}

/// Service 10.96.0.1:443 with `sched`, r1 added first, then r2 (so r2 heads the list).
fn two_servers(sched: SchedName) -> impl FnOnce(&mut sim_net::ipvs::Ipvs) {
    move |v| {
        v.add_service(VirtualService::new(key(), sched), SimTime::ZERO).unwrap();
        for r in ["10.1.0.11:6443", "10.1.0.12:6443"] {
            v.add_dest(&key(), RealServer::masq(sa(r), 1), SimTime::ZERO).unwrap();
        }
    }
}

fn spec(from: HostId, proto: ConvProto, dst: &str, src_port: Option<u16>) -> ConversationSpec {
    ConversationSpec {
        from,
        proto,
        dst: sa(dst),
        payload: b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        src_port,
        timeout: SimDuration::from_secs(5),
    }
}

fn response(net: &Network, c: ConvId) -> String {
    match &net.conversation(c).unwrap().outcome {
        Some(Outcome::Completed { response }) => String::from_utf8_lossy(response).to_string(),
        other => format!("{other:?}"),
    }
}

fn run_until(lab: &mut Lab, secs: u64) {
    let t = SimTime::ZERO + SimDuration::from_secs(secs);
    lab.sim.run_until(t);
}

#[test]
fn masq_to_a_real_server_and_the_reply_is_un_natted() {
    let mut lab = lab(true, two_servers(SchedName::Rr));
    lab.sim.world.tracing = true;
    let c = converse(&mut lab.sim, spec(lab.client, ConvProto::Tcp, "10.96.0.1:443", Some(40000)));
    run_until(&mut lab, 1);
    let net = &lab.sim.world;
    // IPVS decrements the TTL of what it sends on (decrement_ttl): 64 at the client, 63 at r2.
    let r2 = net.host_id("r2").unwrap();
    let first_at_r2 = net.trace.records.iter().find_map(|r| match &r.event {
        sim_net::network::NetTrace::Rx { host, pkt, .. } if *host == r2 => Some(pkt.ttl),
        _ => None,
    });
    assert_eq!(first_at_r2, Some(63));
    // r2 heads the destination list, so rr's first pick is r2; the client keeps its address
    // (no MASQUERADE rule) and hears back from the virtual address.
    assert_eq!(response(net, c), "hostname=r2 client=10.0.0.1:40000\n");
    let conv = net.conversation(c).unwrap();
    assert!(
        conv.packets
            .iter()
            .all(|p| matches!(net.disposition(*p), Some(Disposition::Delivered(Delivery::Socket { .. }))))
    );
}

#[test]
fn rr_rotates_over_connections_and_ipvsadm_shows_the_counters() {
    let mut lab = lab(true, two_servers(SchedName::Rr));
    let mut convs = vec![];
    for port in [40001, 40002, 40003] {
        convs.push(converse(&mut lab.sim, spec(lab.client, ConvProto::Tcp, "10.96.0.1:443", Some(port))));
        run_until(&mut lab, u64::from(port - 40000));
    }
    let served: Vec<String> = convs.iter().map(|c| response(&lab.sim.world, *c)).collect();
    assert_eq!(
        served,
        [
            "hostname=r2 client=10.0.0.1:40001\n",
            "hostname=r1 client=10.0.0.1:40002\n",
            "hostname=r2 client=10.0.0.1:40003\n"
        ]
    );
    let now = lab.sim.now();
    let d = lab.sim.world.host_mut(lab.director).unwrap();
    // Every connection closed (TIME_WAIT): inactive.
    let text = format!(
        "$ ipvsadm -Ln\n{}$ ipvsadm -Lnc\n{}$ ipvsadm -Ln --stats\n{}",
        d.ipvs.command(&["-Ln"], now).unwrap(),
        d.ipvs.command(&["-Lnc"], now).unwrap(),
        d.ipvs.command(&["-Ln", "--stats"], now).unwrap()
    );
    insta::assert_snapshot!(text);
    // TIME_WAIT lasts 120 s: at 200 s the table is empty and the counters back to 0.
    let later = SimTime::ZERO + SimDuration::from_secs(200);
    let out = d.ipvs.command(&["-Lnc"], later).unwrap();
    assert_eq!(
        out,
        "IPVS connection entries\npro expire state       source             virtual            destination\n"
    );
    let s = d.ipvs.service(&key()).unwrap();
    assert!(s.dests.iter().all(|x| x.active_conns == 0 && x.inact_conns == 0));
}

#[test]
fn trace_of_one_connection_snapshot() {
    let mut lab = lab(true, two_servers(SchedName::Rr));
    lab.sim.world.tracing = true;
    let n = &mut lab.sim.world;
    n.host_mut(lab.director)
        .unwrap()
        .netfilter
        .restore("*nat\n-A POSTROUTING -d 10.1.0.0/24 -j MASQUERADE\nCOMMIT\n", false)
        .unwrap();
    let c = converse(&mut lab.sim, spec(lab.client, ConvProto::Tcp, "10.96.0.1:443", Some(40000)));
    run_until(&mut lab, 1);
    // MASQUERADE in POSTROUTING works on the IPVS-forwarded packet (vs.conntrack = 1).
    assert_eq!(response(&lab.sim.world, c), "hostname=r2 client=10.1.0.1:40000\n");
    let net = &lab.sim.world;
    insta::assert_snapshot!(render_trace(net, &net.trace.records));
}

#[test]
fn without_vs_conntrack_masquerade_does_not_apply() {
    let mut lab = lab(false, two_servers(SchedName::Rr));
    let n = &mut lab.sim.world;
    n.host_mut(lab.director)
        .unwrap()
        .netfilter
        .restore("*nat\n-A POSTROUTING -d 10.1.0.0/24 -j MASQUERADE\nCOMMIT\n", false)
        .unwrap();
    let c = converse(&mut lab.sim, spec(lab.client, ConvProto::Tcp, "10.96.0.1:443", Some(40000)));
    run_until(&mut lab, 1);
    // The forwarded packet is untracked (ip_vs_notrack): the real server sees the client.
    assert_eq!(response(&lab.sim.world, c), "hostname=r2 client=10.0.0.1:40000\n");
}

#[test]
fn ping_to_the_virtual_address_is_answered_by_the_director() {
    let mut lab = lab(true, two_servers(SchedName::Rr));
    lab.sim.world.tracing = true;
    let c = converse(&mut lab.sim, spec(lab.client, ConvProto::Icmp, "10.96.0.1:0", None));
    run_until(&mut lab, 1);
    let net = &lab.sim.world;
    assert!(matches!(net.conversation(c).unwrap().outcome, Some(Outcome::Completed { .. })));
    let first = net.conversation(c).unwrap().packets[0];
    assert_eq!(net.dispositions()[&first], (lab.director, Disposition::Delivered(Delivery::Stack)));
}

#[test]
fn no_virtual_service_on_the_port_goes_to_the_local_stack() {
    let mut lab = lab(true, two_servers(SchedName::Rr));
    lab.sim.world.tracing = true;
    let c = converse(&mut lab.sim, spec(lab.client, ConvProto::Tcp, "10.96.0.1:80", Some(40000)));
    run_until(&mut lab, 1);
    let net = &lab.sim.world;
    assert_eq!(net.conversation(c).unwrap().outcome, Some(Outcome::Refused));
    let text = render_trace(net, &net.trace.records);
    assert!(
        text.contains("director: ipvs: no virtual service TCP 10.96.0.1:80; to the local stack"),
        "{text}"
    );
    assert!(text.contains("=> no listener on that port"), "{text}");
}

#[test]
fn a_service_without_real_servers_answers_port_unreachable() {
    let mut lab =
        lab(true, |v| v.add_service(VirtualService::new(key(), SchedName::Wlc), SimTime::ZERO).unwrap());
    lab.sim.world.tracing = true;
    let c = converse(&mut lab.sim, spec(lab.client, ConvProto::Tcp, "10.96.0.1:443", Some(40000)));
    run_until(&mut lab, 1);
    let net = &lab.sim.world;
    assert_eq!(
        net.conversation(c).unwrap().outcome,
        Some(Outcome::Unreachable { icmp_type: 3, code: 3, from: ip(VIP) })
    );
    let first = net.conversation(c).unwrap().packets[0];
    assert_eq!(net.dispositions()[&first], (lab.director, Disposition::IpvsDropped(IpvsDrop::NoDestination)));
    let text = render_trace(net, &net.trace.records);
    assert!(
        text.contains("ipvs: TCP 10.96.0.1:443 wlc: no destination available; ICMP port unreachable sent")
    );
}

#[test]
fn quiescent_server_takes_no_new_connections() {
    let mut lab = lab(true, two_servers(SchedName::Rr));
    let d = lab.sim.world.host_mut(lab.director).unwrap();
    d.ipvs.edit_dest(&key(), RealServer::masq(sa("10.1.0.12:6443"), 0)).unwrap();
    let mut served = vec![];
    for port in [40001, 40002, 40003] {
        let c = converse(&mut lab.sim, spec(lab.client, ConvProto::Tcp, "10.96.0.1:443", Some(port)));
        run_until(&mut lab, u64::from(port - 40000));
        served.push(response(&lab.sim.world, c));
    }
    assert!(served.iter().all(|s| s.starts_with("hostname=r1 ")), "{served:?}");
}

#[test]
fn persistence_sends_one_client_to_one_server() {
    let mut lab = lab(true, |v| {
        let svc = VirtualService::new(key(), SchedName::Rr).persistent(Persistence::new(300));
        v.add_service(svc, SimTime::ZERO).unwrap();
        for r in ["10.1.0.11:6443", "10.1.0.12:6443"] {
            v.add_dest(&key(), RealServer::masq(sa(r), 1), SimTime::ZERO).unwrap();
        }
    });
    lab.sim.world.tracing = true;
    let mut served = vec![];
    for port in [40001, 40002, 40003] {
        let c = converse(&mut lab.sim, spec(lab.client, ConvProto::Tcp, "10.96.0.1:443", Some(port)));
        run_until(&mut lab, u64::from(port - 40000));
        served.push(response(&lab.sim.world, c));
    }
    assert!(served.iter().all(|s| s.starts_with("hostname=r2 ")), "{served:?}");
    let net = &lab.sim.world;
    let text = render_trace(net, &net.trace.records);
    assert!(text.contains("rr → 10.1.0.12:6443 (Masq), persistence template 10.0.0.1 created"), "{text}");
    assert!(text.contains(
        "persistence template 10.0.0.1 → 10.1.0.12:6443 (Masq), new connection from 10.0.0.1:40002"
    ));
    let now = lab.sim.now();
    let d = lab.sim.world.host_mut(lab.director).unwrap();
    let conns = d.ipvs.command(&["-L", "-n", "-c"], now).unwrap();
    // The template: client port 0, state NONE, 300 s from its last use at 2 s, listed at 3 s.
    assert!(
        conns.contains("TCP 04:59  NONE        10.0.0.1:0         10.96.0.1:443      10.1.0.12:6443\n"),
        "{conns}"
    );
    assert!(d.ipvs.command(&["-Ln"], now).unwrap().contains("TCP  10.96.0.1:443 rr persistent 300\n"));
}

#[test]
fn a_process_on_the_director_reaches_the_virtual_address() {
    let mut lab = lab(true, two_servers(SchedName::Rr));
    let c = converse(&mut lab.sim, spec(lab.director, ConvProto::Tcp, "10.96.0.1:443", Some(40000)));
    run_until(&mut lab, 1);
    // LOCAL_OUT scheduling; the source chosen for a local destination is the VIP itself.
    assert_eq!(response(&lab.sim.world, c), "hostname=r2 client=10.96.0.1:40000\n");
}

#[test]
fn direct_routing_sends_the_packet_unchanged_to_the_real_server() {
    let mut lab = lab(true, |v| {
        v.add_service(VirtualService::new(key(), SchedName::Rr), SimTime::ZERO).unwrap();
        let rs = RealServer { addr: sa("10.1.0.11:443"), weight: 1, method: ForwardMethod::Route };
        v.add_dest(&key(), rs, SimTime::ZERO).unwrap();
    });
    // The real server holds the VIP on its loopback and listens on 443, as DR needs.
    let r1 = lab.sim.world.host_id("r1").unwrap();
    let net = &mut lab.sim.world;
    net.host_mut(r1).unwrap().add_addr("lo", "10.96.0.1/32".parse().unwrap()).unwrap();
    net.listen(r1, SockProto::Tcp, sa("0.0.0.0:443"), Box::new(WhoAmIApp)).unwrap();
    let c = converse(&mut lab.sim, spec(lab.client, ConvProto::Tcp, "10.96.0.1:443", Some(40000)));
    run_until(&mut lab, 1);
    assert_eq!(response(&lab.sim.world, c), "hostname=r1 client=10.0.0.1:40000\n");
}

#[test]
fn deleting_a_real_server_drops_its_connections_packets() {
    let mut lab = lab(true, two_servers(SchedName::Rr));
    let d = lab.sim.world.host_mut(lab.director).unwrap();
    let now = SimTime::ZERO;
    // A half-open connection from the client to r2, then r2 is deleted.
    let mut syn =
        sim_net::wire::Packet::tcp(ip("10.0.0.1"), 40000, ip(VIP), 443, sim_net::wire::TcpFlags::SYN);
    let (v, _) = d.ipvs.packet_in(now, &mut syn, d.sysctl.ipvs());
    assert!(matches!(v, sim_net::ipvs::InVerdict::Forward { new_conn: true, .. }));
    d.ipvs.del_dest(&key(), sa("10.1.0.12:6443")).unwrap();
    let mut ack =
        sim_net::wire::Packet::tcp(ip("10.0.0.1"), 40000, ip(VIP), 443, sim_net::wire::TcpFlags::ACK);
    let (v, _) = d.ipvs.packet_in(now, &mut ack, d.sysctl.ipvs());
    assert_eq!(v, sim_net::ipvs::InVerdict::Drop(IpvsDrop::DestUnavailable));
    // expire_nodest_conn = 1 expires it at once.
    d.sysctl.vs_expire_nodest_conn = true;
    let (v, _) = d.ipvs.packet_in(now, &mut ack, d.sysctl.ipvs());
    assert_eq!(v, sim_net::ipvs::InVerdict::Drop(IpvsDrop::DestUnavailable));
    assert!(d.ipvs.conns().is_empty());
}

#[test]
fn a_real_server_on_the_director_itself_is_delivered_locally() {
    // The default/kubernetes shape: the ClusterIP's endpoint is the node's own address.
    let mut lab = lab(true, |v| {
        v.add_service(VirtualService::new(key(), SchedName::Rr), SimTime::ZERO).unwrap();
        v.add_dest(&key(), RealServer::masq(sa("10.0.0.2:6443"), 1), SimTime::ZERO).unwrap();
    });
    let director = lab.director;
    lab.sim.world.listen(director, SockProto::Tcp, sa("0.0.0.0:6443"), Box::new(WhoAmIApp)).unwrap();
    let c = converse(&mut lab.sim, spec(lab.client, ConvProto::Tcp, "10.96.0.1:443", Some(40000)));
    run_until(&mut lab, 1);
    // The reply leaves the director's own socket and is un-NATed at LOCAL_OUT.
    assert_eq!(response(&lab.sim.world, c), "hostname=director client=10.0.0.1:40000\n");
}

#[test]
fn udp_through_ipvs_and_its_connection_entry() {
    let mut lab = lab(true, |v| {
        let k = ServiceKey::udp(ip(VIP), 53);
        v.add_service(VirtualService::new(k, SchedName::Rr), SimTime::ZERO).unwrap();
        v.add_dest(&k, RealServer::masq(sa("10.1.0.11:5353"), 1), SimTime::ZERO).unwrap();
    });
    let r1 = lab.sim.world.host_id("r1").unwrap();
    lab.sim.world.listen(r1, SockProto::Udp, sa("0.0.0.0:5353"), Box::new(sim_net::socket::EchoApp)).unwrap();
    let c = converse(&mut lab.sim, spec(lab.client, ConvProto::Udp, "10.96.0.1:53", Some(41000)));
    run_until(&mut lab, 1);
    assert_eq!(response(&lab.sim.world, c), "GET / HTTP/1.1\r\n\r\n");
    let now = lab.sim.now();
    let d = lab.sim.world.host_mut(lab.director).unwrap();
    assert_eq!(
        d.ipvs.command(&["-Lnc"], now).unwrap(),
        "IPVS connection entries\npro expire state       source             virtual            destination\n\
         UDP 04:59  UDP         10.0.0.1:41000     10.96.0.1:53       10.1.0.11:5353\n"
    );
    assert!(d.ipvs.command(&["-Ln"], now).unwrap().ends_with(
        "UDP  10.96.0.1:53 rr\n  -> 10.1.0.11:5353               Masq    1      0          1         \n"
    ));
}

#[test]
fn a_real_servers_port_unreachable_reaches_the_client_from_the_vip() {
    // UDP to a real server with nothing listening: r1 answers ICMP port unreachable, which
    // ip_vs_out_icmp rewrites so the client's socket recognises it.
    let mut lab = lab(true, |v| {
        let k = ServiceKey::udp(ip(VIP), 53);
        v.add_service(VirtualService::new(k, SchedName::Rr), SimTime::ZERO).unwrap();
        v.add_dest(&k, RealServer::masq(sa("10.1.0.11:5353"), 1), SimTime::ZERO).unwrap();
    });
    lab.sim.world.tracing = true;
    let c = converse(&mut lab.sim, spec(lab.client, ConvProto::Udp, "10.96.0.1:53", Some(41000)));
    run_until(&mut lab, 1);
    let net = &lab.sim.world;
    assert_eq!(
        net.conversation(c).unwrap().outcome,
        Some(Outcome::Unreachable { icmp_type: 3, code: 3, from: ip(VIP) })
    );
    let text = render_trace(net, &net.trace.records);
    assert!(
        text.contains("ipvs: ICMP error about UDP 10.0.0.1:41000 → 10.1.0.11:5353, rewritten to come from and quote 10.96.0.1:53"),
        "{text}"
    );
}

#[test]
fn the_forwarded_packet_passes_the_output_chains_again() {
    // ip_vs_nat_send_or_cont re-enters LOCAL_OUT: a filter OUTPUT rule sees the packet with
    // the real server as its destination.
    let mut lab = lab(true, two_servers(SchedName::Rr));
    let n = &mut lab.sim.world;
    n.host_mut(lab.director)
        .unwrap()
        .netfilter
        .restore("*filter\n-A OUTPUT -d 10.1.0.12/32 -p tcp -j DROP\nCOMMIT\n", false)
        .unwrap();
    let c = converse(&mut lab.sim, spec(lab.client, ConvProto::Tcp, "10.96.0.1:443", Some(40000)));
    run_until(&mut lab, 10);
    let net = &lab.sim.world;
    let first = net.conversation(c).unwrap().packets[0];
    assert!(matches!(net.dispositions()[&first], (h, Disposition::DroppedByRule(_)) if h == lab.director));
    assert_eq!(net.conversation(c).unwrap().outcome, Some(Outcome::TimedOut));
}

mod props {
    use proptest::prelude::*;

    use super::*;
    use sim_net::ipvs::{InVerdict, Ipvs, IpvsSysctls};
    use sim_net::wire::{Packet, TcpFlags};

    fn service(sched: SchedName, weights: &[u32]) -> Ipvs {
        let mut v = Ipvs::default();
        v.add_service(VirtualService::new(key(), sched), SimTime::ZERO).unwrap();
        for (i, w) in weights.iter().enumerate() {
            let rs = SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, i as u8 + 1), 6443);
            v.add_dest(&key(), RealServer::masq(rs, *w), SimTime::ZERO).unwrap();
        }
        v
    }

    /// One SYN from `client:port`; the chosen real server, if any.
    fn syn(v: &mut Ipvs, client: Ipv4Addr, port: u16) -> Option<SocketAddrV4> {
        let mut p = Packet::tcp(client, port, ip(VIP), 443, TcpFlags::SYN);
        match v.packet_in(SimTime::ZERO, &mut p, IpvsSysctls::default()).0 {
            InVerdict::Forward { dest, .. } => Some(dest),
            _ => None,
        }
    }

    fn weight_of(v: &Ipvs, d: SocketAddrV4) -> u32 {
        v.service(&key()).and_then(|s| s.dest(d)).map_or(0, |x| x.server.weight)
    }

    proptest! {
        /// Whatever the scheduler and the connection counts it has built up, a new connection
        /// never goes to a weight-0 (quiescent) real server, and with every weight 0 there is
        /// no destination at all.
        #[test]
        fn never_a_quiescent_server(
            sched in proptest::sample::select(SchedName::ALL.to_vec()),
            weights in proptest::collection::vec(0u32..4, 1..6),
            clients in proptest::collection::vec((any::<u32>(), 1024u16..65535), 1..40),
        ) {
            let mut v = service(sched, &weights);
            for (c, port) in clients {
                let got = syn(&mut v, Ipv4Addr::from(c), port);
                match got {
                    Some(d) => prop_assert!(weight_of(&v, d) > 0, "{sched} chose weight-0 {d}"),
                    None => {
                        // Only hashing schedulers may find their bucket quiescent; the others
                        // fail only when no server has weight.
                        let hashing = matches!(sched, SchedName::Sh | SchedName::Dh | SchedName::Mh);
                        prop_assert!(hashing || weights.iter().all(|w| *w == 0), "{sched} found none in {weights:?}");
                    }
                }
            }
        }

        /// rr visits every available server exactly once per round.
        #[test]
        fn rr_visits_each_server_once_per_round(n in 1usize..8, rounds in 1usize..4) {
            let mut v = service(SchedName::Rr, &vec![1; n]);
            for r in 0..rounds {
                let mut seen: Vec<SocketAddrV4> =
                    (0..n).filter_map(|i| syn(&mut v, Ipv4Addr::new(192, 168, 0, 1), (1000 + r * n + i) as u16)).collect();
                seen.sort();
                seen.dedup();
                prop_assert_eq!(seen.len(), n);
            }
        }

        /// wrr hands out connections in proportion to the weights.
        #[test]
        fn wrr_is_proportional(weights in proptest::collection::vec(1u32..6, 1..5)) {
            let mut v = service(SchedName::Wrr, &weights);
            let total: u32 = weights.iter().sum();
            let picks = 10 * total as usize;
            let mut count = vec![0u32; weights.len()];
            for i in 0..picks {
                if let Some(d) = syn(&mut v, Ipv4Addr::new(192, 168, 0, 2), (1000 + i) as u16) {
                    count[(d.ip().octets()[3] - 1) as usize] += 1;
                }
            }
            let max = weights.iter().copied().max().unwrap_or(1);
            for (c, w) in count.iter().zip(&weights) {
                prop_assert!(c.abs_diff(10 * w) <= 2 * max, "{count:?} for {weights:?}");
            }
        }

        /// Any ipvsadm command line, however wrong, is answered without a panic.
        #[test]
        fn commands_never_panic(words in proptest::collection::vec(
            prop_oneof![
                proptest::sample::select(vec![
                    "-A", "-E", "-D", "-a", "-e", "-d", "-C", "-L", "-l", "-Z", "-S", "--set", "-t", "-u",
                    "--sctp-service", "-s", "rr", "wrr", "mh", "bogus", "-p", "-M", "-r", "-m", "-g", "-i",
                    "-w", "-n", "-c", "--stats", "--rate", "--timeout", "--exact", "--nosort", "-Lnc",
                    "10.96.0.1:443", "10.96.0.1", "10.1.0.1:80", "255.255.255.0", "0", "65536", "300",
                    "-w5", "--scheduler=sh", "-", "--", ":", "1.2.3.4:", "1.2.3.4:99999",
                ]).prop_map(String::from),
                "[ -~]{0,12}",
            ],
            0..10,
        )) {
            let mut v = service(SchedName::Rr, &[1, 2]);
            let args: Vec<&str> = words.iter().map(String::as_str).collect();
            let _ = v.command(&args, SimTime::ZERO);
            let _ = v.command(&["-Ln", "--stats"], SimTime::ZERO);
        }

        /// sh sends one client address to one server, whatever the port.
        #[test]
        fn sh_is_stable_per_source(client in any::<u32>(), ports in proptest::collection::vec(1024u16..65535, 2..10)) {
            let mut v = service(SchedName::Sh, &[1, 2, 3]);
            let got: Vec<Option<SocketAddrV4>> = ports.iter().map(|p| syn(&mut v, Ipv4Addr::from(client), *p)).collect();
            prop_assert!(got.windows(2).all(|w| w[0] == w[1]));
        }
    }
}

/// `-m ipvs` in filter OUTPUT, as kube-proxy writes KUBE-IPVS-OUT-FILTER: returns the
/// director's saved filter table and the conversation's outcome.
fn out_filter(from_director: bool, rule: &str) -> (String, Option<Outcome>) {
    let mut lab = lab(true, two_servers(SchedName::Rr));
    let n = &mut lab.sim.world;
    let nf = &mut n.host_mut(lab.director).unwrap().netfilter;
    nf.restore(&format!("*filter\n-A OUTPUT {rule}\nCOMMIT\n"), false).unwrap_or_else(|e| panic!("{e}"));
    let saved = nf.save_table(sim_net::netfilter::TableName::Filter, &Default::default());
    let from = if from_director { lab.director } else { lab.client };
    let c = converse(&mut lab.sim, spec(from, ConvProto::Tcp, "10.96.0.1:443", Some(40000)));
    run_until(&mut lab, 10);
    (saved, lab.sim.world.conversation(c).unwrap().outcome.clone())
}

// r10: upstream's lbNoNodeAccess rule drops the director's own connection to the VIP once IPVS
// has scheduled it (the first OUTPUT pass, before IPVS, has no ipvs_property), and is saved in
// libxt_ipvs.c's canonical form.
#[test]
fn r10_ipvs_match_drops_the_nodes_own_connection_after_scheduling() {
    let (saved, outcome) =
        out_filter(true, "-s 10.96.0.1 -m ipvs --vaddr 10.96.0.1 --vproto tcp --vport 443 -j DROP");
    assert!(
        saved
            .contains("-A OUTPUT -s 10.96.0.1/32 -m ipvs --vproto 6 --vaddr 10.96.0.1 --vport 443 -j DROP\n"),
        "{saved}"
    );
    assert_eq!(outcome, Some(Outcome::TimedOut));
    // Another virtual port: the connection's vport differs, the rule does not match.
    let (_, outcome) =
        out_filter(true, "-s 10.96.0.1 -m ipvs --vaddr 10.96.0.1 --vproto tcp --vport 80 -j DROP");
    assert!(matches!(outcome, Some(Outcome::Completed { .. })), "{outcome:?}");
    // A client's connection has another source: the -s part keeps it out.
    let (_, outcome) =
        out_filter(false, "-s 10.96.0.1 -m ipvs --vaddr 10.96.0.1 --vproto tcp --vport 443 -j DROP");
    assert!(matches!(outcome, Some(Outcome::Completed { .. })), "{outcome:?}");
}

// The other options: --vdir, --vmethod, ! --vaddr, --ipvs alone, and their saved forms.
#[test]
fn ipvs_match_options_follow_xt_ipvs() {
    for (rule, saved, dropped) in [
        ("-m ipvs --ipvs -j DROP", "-m ipvs --ipvs -j DROP", true),
        ("-m ipvs ! --ipvs -j ACCEPT", "-m ipvs ! --ipvs -j ACCEPT", false),
        (
            "-m ipvs --vdir ORIGINAL --vmethod MASQ -j DROP",
            "-m ipvs --vdir ORIGINAL --vmethod MASQ -j DROP",
            true,
        ),
        ("-m ipvs --vdir REPLY -j DROP", "-m ipvs --vdir REPLY -j DROP", false),
        ("-m ipvs --vmethod GATE -j DROP", "-m ipvs --vmethod GATE -j DROP", false),
        ("-m ipvs --vaddr 10.96.0.0/16 -j DROP", "-m ipvs --vaddr 10.96.0.0/16 -j DROP", true),
        ("-m ipvs ! --vaddr 10.96.0.1 -j DROP", "-m ipvs ! --vaddr 10.96.0.1 -j DROP", false),
        ("-m ipvs ! --vproto udp -j DROP", "-m ipvs ! --vproto 17 -j DROP", true),
    ] {
        let (text, outcome) = out_filter(false, rule);
        assert!(text.contains(&format!("-A OUTPUT {saved}\n")), "{rule}: {text}");
        assert_eq!(outcome == Some(Outcome::TimedOut), dropped, "{rule}: {outcome:?}");
    }
}

// libxt_ipvs.c's errors, as the real iptables v1.8.9 prints them (checked here with
// iptables-legacy, which parses before it finds no xt_ipvs in the kernel).
#[test]
fn ipvs_match_errors_in_iptables_words() {
    for (rule, msg) in [
        ("-m ipvs -j DROP", "IPVS: At least one option is required"),
        ("-m ipvs --vdir FOO -j DROP", "ipvs: Bad value for \"--vdir\" option: \"FOO\""),
        ("-m ipvs --vmethod X -j DROP", "ipvs: Bad value for \"--vmethod\" option: \"X\""),
        ("-m ipvs --vproto foo -j DROP", "unknown protocol \"foo\" specified"),
        ("-m ipvs --vport http2x -j DROP", "Port \"http2x\" does not resolve to anything."),
        ("-m ipvs ! --ipvs --vport 80 -j DROP", "! --ipvs cannot be together with other options"),
        ("-m ipvs ! --vdir REPLY -j DROP", "ipvs: option \"--vdir\" cannot be inverted."),
    ] {
        let mut nf = sim_net::netfilter::Netfilter::new();
        let err = nf.restore(&format!("*filter\n-A OUTPUT {rule}\nCOMMIT\n"), false).unwrap_err().to_string();
        assert!(err.contains(msg), "{rule}: {err}");
    }
}
