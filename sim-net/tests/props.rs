//! Properties of the packet walk: determinism (same seed and input ⇒ identical trace) and one
//! disposition per packet, over random conversations on a NAT router topology.

use std::collections::BTreeMap;
use std::net::SocketAddrV4;

use proptest::prelude::*;
use sim_core::{SimDuration, SimTime, Simulation};
use sim_net::network::{ConvProto, ConversationSpec, NetEvent, NetTrace, Network, SEGMENT_LATENCY};
use sim_net::socket::{EchoApp, SockProto, WhoAmIApp};

const RULES: &str = "*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:SVC - [0:0]
-A PREROUTING -d 10.96.0.1/32 -j SVC
-A SVC -p tcp -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.2.0.2:8080
-A SVC -p tcp -j DNAT --to-destination 10.2.0.3:8080
-A SVC -p udp -j DNAT --to-destination 10.2.0.2:53
-A POSTROUTING -o eth1 -j MASQUERADE --random-fully
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p tcp -m tcp --dport 9999 -j REJECT --reject-with tcp-reset
-A FORWARD -p udp -m udp --dport 9999 -j DROP
COMMIT
";

fn world(seed: u64) -> Simulation<Network> {
    let mut net = Network::new(seed);
    let s1 = net.add_segment("left", SEGMENT_LATENCY);
    let s2 = net.add_segment("right", SimDuration::from_micros(150));
    let r = net.add_host("router").unwrap();
    net.attach(r, "eth0", s1, Some("10.1.0.1/24".parse().unwrap())).unwrap();
    net.attach(r, "eth1", s2, Some("10.2.0.1/24".parse().unwrap())).unwrap();
    let rh = net.host_mut(r).unwrap();
    rh.sysctl.ip_forward = true;
    rh.netfilter.restore(RULES, false).unwrap();
    for i in 0..3u8 {
        let c = net.add_host(&format!("client{i}")).unwrap();
        net.attach(c, "eth0", s1, Some(format!("10.1.0.{}/24", 10 + i).parse().unwrap())).unwrap();
        net.host_mut(c).unwrap().add_route_str("default via 10.1.0.1 dev eth0").unwrap();
    }
    for i in 2..4u8 {
        let s = net.add_host(&format!("server{i}")).unwrap();
        net.attach(s, "eth0", s2, Some(format!("10.2.0.{i}/24").parse().unwrap())).unwrap();
        net.listen(s, SockProto::Tcp, "0.0.0.0:8080".parse().unwrap(), Box::new(WhoAmIApp)).unwrap();
        net.listen(s, SockProto::Udp, "0.0.0.0:53".parse().unwrap(), Box::new(EchoApp)).unwrap();
    }
    Simulation::new(net)
}

#[derive(Clone, Debug)]
struct Conv {
    client: u32,
    proto: ConvProto,
    dst: SocketAddrV4,
    start_us: u64,
    src_port: Option<u16>,
}

fn conv() -> impl Strategy<Value = Conv> {
    let dsts = prop::sample::select(vec![
        "10.96.0.1:80",
        "10.96.0.1:53",
        "10.2.0.2:8080",
        "10.2.0.3:53",
        "10.2.0.2:9999",
        "10.2.0.3:7",
        "10.1.0.1:22",
        "10.9.0.1:80",
        "10.1.0.99:80",
    ]);
    let proto = prop::sample::select(vec![ConvProto::Tcp, ConvProto::Udp, ConvProto::Icmp]);
    (0u32..3, proto, dsts, 0u64..3000, prop::option::of(40000u16..40004)).prop_map(
        |(client, proto, dst, start_us, src_port)| Conv {
            client,
            proto,
            dst: dst.parse().unwrap(),
            start_us,
            src_port,
        },
    )
}

/// Runs the conversations and renders the whole trace and outcomes as text.
fn run(seed: u64, convs: &[Conv]) -> (String, Network) {
    let mut sim = world(seed);
    for c in convs {
        let from = sim.world.host_id(&format!("client{}", c.client)).unwrap();
        let spec = ConversationSpec {
            from,
            proto: c.proto,
            dst: c.dst,
            payload: b"q".to_vec(),
            src_port: c.src_port,
            timeout: SimDuration::from_secs(4),
        };
        let id = sim.world.start_conversation(spec);
        sim.scheduler()
            .schedule_at(SimTime::ZERO + SimDuration::from_micros(c.start_us), NetEvent::ConvStart(id));
    }
    sim.run_until(SimTime::MAX);
    let mut text = String::new();
    for r in &sim.world.trace.records {
        text.push_str(&format!("{} {:?}\n", r.at, r.event));
    }
    for i in 0..convs.len() {
        text.push_str(&format!(
            "{:?}\n",
            sim.world.conversation(sim_net::network::ConvId(i)).map(|c| &c.outcome)
        ));
    }
    (text, sim.world)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn same_seed_same_trace_and_one_disposition_per_packet(seed in any::<u64>(), convs in prop::collection::vec(conv(), 1..6)) {
        let (a, net) = run(seed, &convs);
        let (b, _) = run(seed, &convs);
        prop_assert_eq!(&a, &b);
        // Every conversation ended.
        for i in 0..convs.len() {
            prop_assert!(net.conversation(sim_net::network::ConvId(i)).unwrap().outcome.is_some());
        }
        // Every packet created has exactly one disposition record.
        let mut count: BTreeMap<u64, u32> = BTreeMap::new();
        let mut sent = 0u64;
        for r in &net.trace.records {
            match &r.event {
                NetTrace::Disposition { id, .. } => *count.entry(id.0).or_default() += 1,
                NetTrace::Sent { .. } => sent += 1,
                _ => {}
            }
        }
        prop_assert_eq!(sent, net.packets_created());
        prop_assert_eq!(count.len() as u64, net.packets_created());
        prop_assert!(count.values().all(|n| *n == 1), "{:?}", count);
        prop_assert_eq!(net.dispositions().len() as u64, net.packets_created());
    }
}
