//! Packet capture end to end: taps on an ethernet and on loopback, the filter, `-c`, and the
//! TCP numbers tcpdump prints for a connection through the stack.
//! See: issue 16 (`tcpdump -i IFACE -n` on a node).

use std::net::SocketAddrV4;

use sim_core::{SimDuration, SimTime, Simulation};
use sim_net::capture::{CaptureIface, CaptureSpec, Filter, Names, PrintOptions, print};
use sim_net::iface::HostId;
use sim_net::network::{ConvProto, ConversationSpec, Network, SEGMENT_LATENCY, converse};
use sim_net::socket::{SockProto, WhoAmIApp};

fn sa(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

fn two_hosts() -> (Simulation<Network>, HostId, HostId) {
    let mut net = Network::new(1);
    let seg = net.add_segment("lan", SEGMENT_LATENCY);
    let a = net.add_host("a").unwrap();
    let b = net.add_host("b").unwrap();
    net.attach(a, "eth0", seg, Some("10.0.0.1/24".parse().unwrap())).unwrap();
    net.attach(b, "eth0", seg, Some("10.0.0.2/24".parse().unwrap())).unwrap();
    net.listen(b, SockProto::Tcp, sa("0.0.0.0:80"), Box::new(WhoAmIApp)).unwrap();
    (Simulation::new(net), a, b)
}

fn spec(from: HostId, proto: ConvProto, dst: &str) -> ConversationSpec {
    ConversationSpec {
        from,
        proto,
        dst: sa(dst),
        payload: b"GET / HTTP/1.1\r\nHost: b\r\n\r\n".to_vec(),
        src_port: None,
        timeout: SimDuration::from_secs(5),
    }
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

const OPTS: PrintOptions = PrintOptions { names: Names::Numeric, any: false, epoch_unix_secs: 0 };

#[test]
fn r16_a_tcp_connection_as_tcpdump_prints_it() {
    let (mut sim, a, b) = two_hosts();
    let cap = sim.world.start_capture(CaptureSpec {
        host: b,
        iface: CaptureIface::Named("eth0".into()),
        filter: Filter::parse(&words("tcp port 80")).unwrap(),
        count: None,
        until: None,
        promiscuous: true,
    });
    converse(&mut sim, spec(a, ConvProto::Tcp, "10.0.0.2:80"));
    sim.run_until(SimTime::MAX);
    let lines = sim.world.capture_lines(cap, &OPTS);
    let lines: Vec<&str> = lines.lines().collect();
    assert!(lines.len() >= 8, "{lines:#?}");
    assert!(lines[0].contains(" IP 10.0.0.1.") && lines[0].contains(" > 10.0.0.2.80: Flags [S], seq "));
    assert!(lines[1].contains("Flags [S.], seq ") && lines[1].contains("win 65160"));
    assert!(lines[2].contains("Flags [.], ack 1, win 502, options [nop,nop,TS val "), "{}", lines[2]);
    assert!(
        lines[3].contains("Flags [P.], seq 1:28, ack 1,")
            && lines[3].ends_with("length 27: HTTP: GET / HTTP/1.1")
    );
    let c = sim.world.capture(cap).unwrap();
    assert_eq!(
        print::statistics(c),
        format!(
            "{n} packets captured\n{n} packets received by filter\n0 packets dropped by kernel\n",
            n = lines.len()
        )
    );
}

#[test]
fn r16_count_stops_and_loopback_is_seen_once() {
    let (mut sim, a, _) = two_hosts();
    let first2 = sim.world.start_capture(CaptureSpec {
        host: a,
        iface: CaptureIface::Any,
        filter: Filter::All,
        count: Some(2),
        until: None,
        promiscuous: true,
    });
    let lo = sim.world.start_capture(CaptureSpec {
        host: a,
        iface: CaptureIface::Named("lo".into()),
        filter: Filter::parse(&words("icmp")).unwrap(),
        count: None,
        until: None,
        promiscuous: true,
    });
    converse(&mut sim, spec(a, ConvProto::Icmp, "10.0.0.1:0"));
    sim.run_until(SimTime::MAX);
    let c = sim.world.capture(lo).unwrap();
    // The request and the reply, each recorded incoming; the outgoing copies only counted.
    assert_eq!((c.packets.len(), c.received), (2, 4));
    let text = sim.world.capture_lines(lo, &OPTS);
    assert!(text.contains("IP 10.0.0.1 > 10.0.0.1: ICMP echo request"), "{text}");
    let c2 = sim.world.capture(first2).unwrap();
    assert_eq!(c2.packets.len(), 2);
    assert!(c2.stopped.is_some());
    let any = sim.world.capture_lines(first2, &PrintOptions { any: true, ..OPTS });
    assert!(any.lines().all(|l| l.contains(" lo    In  IP ")), "{any}");
}
