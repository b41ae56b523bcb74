//! SCTP end to end: an association through the stack (INIT, INIT ACK, COOKIE ECHO, COOKIE ACK,
//! DATA both ways, SHUTDOWN, SHUTDOWN ACK, SHUTDOWN COMPLETE), conntrack's SCTP states, the
//! ABORT an out-of-the-blue INIT gets from a closed port, and `-p sctp -m sctp` rules.

use std::net::SocketAddrV4;

use sim_core::{SimDuration, SimTime, Simulation};
use sim_net::conntrack::{CtFilter, SctpState};
use sim_net::iface::HostId;
use sim_net::network::{
    ConvId, ConvProto, ConversationSpec, Delivery, Disposition, NetTrace, Network, Outcome, SEGMENT_LATENCY,
    converse,
};
use sim_net::socket::{SockProto, WhoAmIApp};
use sim_net::wire::Protocol;

fn sa(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

/// a (10.0.0.1) and b (10.0.0.2, an SCTP listener on 3868, Diameter's port).
fn two_hosts() -> (Simulation<Network>, HostId, HostId) {
    let mut net = Network::new(1);
    let seg = net.add_segment("lan", SEGMENT_LATENCY);
    let a = net.add_host("a").unwrap();
    let b = net.add_host("b").unwrap();
    net.attach(a, "eth0", seg, Some("10.0.0.1/24".parse().unwrap())).unwrap();
    net.attach(b, "eth0", seg, Some("10.0.0.2/24".parse().unwrap())).unwrap();
    net.listen(b, SockProto::Sctp, sa("0.0.0.0:3868"), Box::new(WhoAmIApp)).unwrap();
    net.tracing = true;
    (Simulation::new(net), a, b)
}

fn run(sim: &mut Simulation<Network>, from: HostId, dst: &str) -> ConvId {
    let id = converse(
        sim,
        ConversationSpec {
            from,
            proto: ConvProto::Sctp,
            dst: sa(dst),
            payload: b"hello".to_vec(),
            src_port: None,
            timeout: SimDuration::from_secs(10),
        },
    );
    sim.run_until(SimTime::MAX);
    id
}

/// Each packet of the conversation as its stack sent it (tcpdump's form).
fn packets(net: &Network, c: ConvId) -> Vec<String> {
    let conv = net.conversation(c).unwrap();
    net.trace
        .records
        .iter()
        .filter_map(|r| match &r.event {
            NetTrace::Sent { id, pkt, .. } if conv.packets.contains(id) => Some(pkt.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn association_completes_and_conntrack_follows_its_states() {
    let (mut sim, a, b) = two_hosts();
    let c = run(&mut sim, a, "10.0.0.2:3868");
    let net = &sim.world;
    let conv = net.conversation(c).unwrap();
    let local = conv.local.unwrap();
    assert_eq!(
        conv.outcome,
        Some(Outcome::Completed { response: format!("hostname=b client={local}\n").into_bytes() })
    );
    let p = local.port();
    assert_eq!(
        packets(net, c),
        [
            format!("10.0.0.1.{p} > 10.0.0.2.3868: sctp (1) [INIT]"),
            format!("10.0.0.2.3868 > 10.0.0.1.{p}: sctp (1) [INIT ACK]"),
            format!("10.0.0.1.{p} > 10.0.0.2.3868: sctp (1) [COOKIE ECHO]"),
            format!("10.0.0.2.3868 > 10.0.0.1.{p}: sctp (1) [COOKIE ACK]"),
            format!("10.0.0.1.{p} > 10.0.0.2.3868: sctp (1) [DATA]"),
            format!("10.0.0.2.3868 > 10.0.0.1.{p}: sctp (1) [DATA]"),
            format!("10.0.0.1.{p} > 10.0.0.2.3868: sctp (1) [SHUTDOWN]"),
            format!("10.0.0.2.3868 > 10.0.0.1.{p}: sctp (1) [SHUTDOWN ACK]"),
            format!("10.0.0.1.{p} > 10.0.0.2.3868: sctp (1) [SHUTDOWN COMPLETE]"),
        ]
    );
    for pk in &conv.packets {
        assert!(matches!(
            net.disposition(*pk),
            Some(Disposition::Delivered(Delivery::Socket { proto: Protocol::Sctp, .. }))
        ));
    }
    // Both ends' entries went CLOSED -> COOKIE_WAIT -> COOKIE_ECHOED -> ESTABLISHED (ASSURED)
    // -> SHUTDOWN_SENT -> SHUTDOWN_ACK_SENT -> CLOSED, whose timeout is 10 s.
    for h in [a, b] {
        let ct = &net.host(h).unwrap().conntrack;
        // Just after the SHUTDOWN COMPLETE reached b.
        let at = conv.finished.unwrap() + SimDuration::from_millis(1);
        let listing = ct.list(at, &CtFilter::default());
        assert_eq!(
            listing.stdout,
            format!(
                "sctp     132 9 CLOSED src=10.0.0.1 dst=10.0.0.2 sport={p} dport=3868 src=10.0.0.2 dst=10.0.0.1 sport=3868 dport={p} [ASSURED] mark=0 use=1\n"
            ),
            "host {h:?}"
        );
        assert!(ct.entries(at).all(|e| e.sctp == Some(SctpState::Closed)));
    }
}

#[test]
fn init_to_a_closed_port_is_aborted() {
    let (mut sim, a, b) = two_hosts();
    let c = run(&mut sim, a, "10.0.0.2:3869");
    let net = &sim.world;
    assert_eq!(net.conversation(c).unwrap().outcome, Some(Outcome::Refused));
    let p = net.conversation(c).unwrap().local.unwrap().port();
    assert_eq!(
        packets(net, c),
        [
            format!("10.0.0.1.{p} > 10.0.0.2.3869: sctp (1) [INIT]"),
            format!("10.0.0.2.3869 > 10.0.0.1.{p}: sctp (1) [ABORT]"),
        ]
    );
    let conv = net.conversation(c).unwrap();
    assert_eq!(net.disposition(conv.packets[0]), Some(&Disposition::NoListener));
    // The ABORT closed b's entry: CLOSED, unreplied no more.
    let at = conv.finished.unwrap();
    let e: Vec<_> = net.host(b).unwrap().conntrack.entries(at).map(|e| e.sctp).collect();
    assert_eq!(e, [Some(SctpState::Closed)]);
}

#[test]
fn sctp_rules_reject_and_drop() {
    let (mut sim, a, b) = two_hosts();
    let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                 -A INPUT -p sctp -m sctp --dport 3868 -m sctp --chunk-types any INIT -j REJECT\n\
                 -A INPUT -p sctp -m sctp --dport 3870 -j DROP\nCOMMIT\n";
    sim.world.host_mut(b).unwrap().netfilter.restore(rules, false).unwrap();
    let c = run(&mut sim, a, "10.0.0.2:3868");
    assert_eq!(
        sim.world.conversation(c).unwrap().outcome,
        Some(Outcome::Unreachable { icmp_type: 3, code: 3, from: "10.0.0.2".parse().unwrap() })
    );
    // DROP: the INIT is retransmitted after rto_initial (3 s), then 6 s later; at the 10 s
    // deadline the association gives up.
    let c = run(&mut sim, a, "10.0.0.2:3870");
    let net = &sim.world;
    let conv = net.conversation(c).unwrap();
    assert_eq!(conv.outcome, Some(Outcome::TimedOut));
    assert_eq!(conv.packets.len(), 3);
    assert!(packets(net, c).iter().all(|p| p.ends_with("[INIT]")));
}

/// nft's `sctp dport` reads SCTP packets (and only them): a reject for one port, a drop for
/// another, in an `inet filter` input chain on b.
#[test]
fn nft_sctp_dport_rules() {
    let (mut sim, a, b) = two_hosts();
    let ruleset = "table inet filter {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    \
                   sctp dport 3868 reject\n    tcp dport 3870 drop\n    sctp dport 3870 drop\n  }\n}\n";
    sim.world.host_mut(b).unwrap().nft_apply(ruleset).unwrap();
    let c = run(&mut sim, a, "10.0.0.2:3868");
    assert_eq!(
        sim.world.conversation(c).unwrap().outcome,
        Some(Outcome::Unreachable { icmp_type: 3, code: 3, from: "10.0.0.2".parse().unwrap() })
    );
    let c = run(&mut sim, a, "10.0.0.2:3870");
    assert_eq!(sim.world.conversation(c).unwrap().outcome, Some(Outcome::TimedOut));
}
