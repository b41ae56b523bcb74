//! nftables through the whole stack: a packet walk through a node with a kube-proxy-shaped
//! ruleset (ClusterIP DNAT to an endpoint pod, masquerade of traffic from outside the pod
//! network, reject and drop of services without endpoints), `nft list` snapshots, and the
//! round trip of `nft list` output through the parser.

use std::net::{Ipv4Addr, SocketAddrV4};

use proptest::prelude::*;
use sim_core::{SimDuration, SimTime, Simulation};
use sim_net::iface::HostId;
use sim_net::netfilter::NfStep;
use sim_net::network::{
    ConvId, ConvProto, ConversationSpec, Disposition, NetTrace, Network, Outcome, SEGMENT_LATENCY, converse,
};
use sim_net::nftables::{Family, NftDecision, NftStep, Nftables};
use sim_net::socket::{SockProto, WhoAmIApp};

fn sa(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

/// kube-proxy's nftables shape (pkg/proxy/nftables/proxier.go) for a pod network 10.244.0.0/16:
/// svc1 172.30.0.41:80 with endpoint 10.244.0.6:80, svc6 172.30.0.46:80 without endpoints.
const KUBE_PROXY: &str = r#"table ip kube-proxy {
	comment "rules for kube-proxy"
	set cluster-ips { type ipv4_addr; comment "Active ClusterIPs"; elements = { 172.30.0.41, 172.30.0.46 } }
	map no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict; comment "vmap to drop or reject packets to services with no endpoints"; }
	map service-ips { type ipv4_addr . inet_proto . inet_service : verdict; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"; }
	chain cluster-ips-check {
		ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"
		ip daddr { 172.30.0.0/16 } drop comment "Drop traffic to unallocated ClusterIPs"
	}
	chain filter-forward { type filter hook forward priority 0;
		ct state new jump service-endpoints-check
		ct state new jump cluster-ips-check
	}
	chain filter-output { type filter hook output priority 0;
		ct state new jump service-endpoints-check
		ct state new jump cluster-ips-check
	}
	chain mark-for-masquerade { mark set mark or 0x4000; }
	chain masquerading {
		mark and 0x4000 == 0 return
		mark set mark xor 0x4000
		masquerade fully-random
	}
	chain nat-output { type nat hook output priority -100; jump services; }
	chain nat-postrouting { type nat hook postrouting priority 100; jump masquerading; }
	chain nat-prerouting { type nat hook prerouting priority -100; jump services; }
	chain reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports"; reject; }
	chain services { ip daddr . meta l4proto . th dport vmap @service-ips; }
	chain service-endpoints-check { ip daddr . meta l4proto . th dport vmap @no-endpoint-services; }
	chain endpoint-AAAA-ns1/svc1/tcp/p80__10.244.0.6/80 {
		ip saddr 10.244.0.6 jump mark-for-masquerade
		meta l4proto tcp dnat to 10.244.0.6:80
	}
	chain service-BBBB-ns1/svc1/tcp/p80 {
		ip daddr 172.30.0.41 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
		numgen random mod 1 vmap { 0 : goto endpoint-AAAA-ns1/svc1/tcp/p80__10.244.0.6/80 }
	}
}
add element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 : goto service-BBBB-ns1/svc1/tcp/p80 }
add element ip kube-proxy no-endpoint-services { 172.30.0.46 . tcp . 80 comment "ns6/svc6:p80" : goto reject-chain }
"#;

/// A node (eth0 192.168.0.2, bridge cni0 10.244.0.1/24 with br_netfilter, ip_forward) with
/// pods 10.244.0.5 and 10.244.0.6 (TCP 80), and an outside client 192.168.0.10 that routes
/// the service range through the node.
fn cluster() -> (Simulation<Network>, HostId, HostId, HostId, HostId) {
    let mut net = Network::new(11);
    let seg = net.add_segment("lan", SEGMENT_LATENCY);
    let node = net.add_host("node").unwrap();
    let client = net.add_host("client").unwrap();
    let p1 = net.add_host("pod1").unwrap();
    let p2 = net.add_host("pod2").unwrap();
    net.attach(node, "eth0", seg, Some("192.168.0.2/24".parse().unwrap())).unwrap();
    net.attach(client, "eth0", seg, Some("192.168.0.10/24".parse().unwrap())).unwrap();
    net.host_mut(client).unwrap().add_route_str("172.30.0.0/16 via 192.168.0.2 dev eth0").unwrap();
    net.add_bridge(node, "cni0", true).unwrap();
    net.host_mut(node).unwrap().add_addr("cni0", "10.244.0.1/24".parse().unwrap()).unwrap();
    net.host_mut(node).unwrap().sysctl.ip_forward = true;
    net.host_mut(node).unwrap().add_route_str("default via 192.168.0.1 dev eth0").unwrap();
    for (p, veth, addr) in [(p1, "veth1", "10.244.0.5/24"), (p2, "veth2", "10.244.0.6/24")] {
        net.add_veth(p, "eth0", node, veth).unwrap();
        net.set_master(node, veth, "cni0").unwrap();
        let h = net.host_mut(p).unwrap();
        h.add_addr("eth0", addr.parse().unwrap()).unwrap();
        h.add_route_str("default via 10.244.0.1 dev eth0").unwrap();
        net.listen(p, SockProto::Tcp, sa("0.0.0.0:80"), Box::new(WhoAmIApp)).unwrap();
    }
    net.host_mut(node).unwrap().nft_apply(KUBE_PROXY).unwrap_or_else(|e| panic!("{e}"));
    (Simulation::new(net), node, client, p1, p2)
}

fn connect(sim: &mut Simulation<Network>, from: HostId, dst: &str) -> ConvId {
    let spec = ConversationSpec {
        from,
        proto: ConvProto::Tcp,
        dst: sa(dst),
        payload: b"GET /".to_vec(),
        src_port: None,
        timeout: SimDuration::from_secs(10),
    };
    let id = converse(sim, spec);
    sim.run_until(SimTime::MAX);
    id
}

fn response(sim: &Simulation<Network>, c: ConvId) -> String {
    match &sim.world.conversation(c).unwrap().outcome {
        Some(Outcome::Completed { response }) => String::from_utf8_lossy(response).into_owned(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn cluster_ip_is_dnated_to_the_endpoint_and_outside_clients_are_masqueraded() {
    let (mut sim, node, client, p1, p2) = cluster();
    // From outside the pod network: DNAT to pod2, masquerade to the node's cni0 address.
    let c = connect(&mut sim, client, "172.30.0.41:80");
    let r = response(&sim, c);
    assert!(r.starts_with("hostname=pod2 client=10.244.0.1:"), "{r}");
    assert_eq!(sim.world.conversation(c).unwrap().served_by.as_ref().unwrap().host, p2);
    // The node's trace names the nft rule and the map element that chose the service.
    let hit = sim.world.trace.records.iter().any(|r| match &r.event {
        NetTrace::Hook { host, steps, .. } if *host == node => steps.iter().any(|s| {
            matches!(s, NfStep::Nft(NftStep::MapElement { map, element: Some(e), rule, .. })
                if map == "@service-ips" && rule.chain == "services"
                    && e == "172.30.0.41 . tcp . 80 : goto service-BBBB-ns1/svc1/tcp/p80")
        }),
        _ => false,
    });
    assert!(hit, "no service-ips element in the node's trace");
    // The SYN's walk as the trace renders it: the nft rules, the map element, the numgen draw.
    let syn = sim.world.conversation(c).unwrap().packets[0];
    let records: Vec<_> = sim.world.trace.records.iter().filter(|r| r.event.packet() == Some(syn)).collect();
    insta::assert_snapshot!("walk_cluster_ip_syn", sim_net::network::render_trace(&sim.world, records));
    // From a pod: DNAT, no masquerade.
    let c = connect(&mut sim, p1, "172.30.0.41:80");
    let r = response(&sim, c);
    assert!(r.starts_with("hostname=pod2 client=10.244.0.5:"), "{r}");
}

#[test]
fn the_node_reaches_a_cluster_ip_through_nat_output_and_the_later_filter_chain_sees_the_dnat() {
    // filter-output (priority 0) runs after nat-output (-100): it must see the endpoint
    // address, or cluster-ips-check would reject the node's own connection.
    let (mut sim, node, _, _, p2) = cluster();
    let c = connect(&mut sim, node, "172.30.0.41:80");
    let r = response(&sim, c);
    assert!(r.starts_with("hostname=pod2 client=10.244.0.1:"), "{r}");
    assert_eq!(sim.world.conversation(c).unwrap().served_by.as_ref().unwrap().host, p2);
    // And an unallocated cluster IP is dropped there.
    let c = connect(&mut sim, node, "172.30.0.50:80");
    let first = sim.world.conversation(c).unwrap().packets[0];
    assert!(matches!(sim.world.disposition(first), Some(Disposition::DroppedByNft(_))));
}

#[test]
fn services_without_endpoints_are_rejected_and_unallocated_cluster_ips_dropped() {
    let (mut sim, node, client, _, _) = cluster();
    let c = connect(&mut sim, client, "172.30.0.46:80");
    assert!(
        matches!(
            sim.world.conversation(c).unwrap().outcome,
            Some(Outcome::Unreachable { icmp_type: 3, code: 3, .. })
        ),
        "{:?}",
        sim.world.conversation(c).unwrap().outcome
    );
    let first = sim.world.conversation(c).unwrap().packets[0];
    match sim.world.disposition(first) {
        Some(Disposition::RejectedByNft(NftDecision::Rule { rule, element: None }, _)) => {
            assert_eq!(
                (rule.table.as_str(), rule.chain.as_str(), rule.index),
                ("kube-proxy", "reject-chain", 1)
            );
        }
        other => panic!("{other:?}"),
    }
    let c = connect(&mut sim, client, "172.30.0.50:80");
    assert_eq!(sim.world.conversation(c).unwrap().outcome, Some(Outcome::TimedOut));
    let first = sim.world.conversation(c).unwrap().packets[0];
    let d = sim.world.disposition(first).cloned();
    match &d {
        Some(Disposition::DroppedByNft(NftDecision::Rule { rule, .. })) => {
            assert_eq!((rule.chain.as_str(), rule.index), ("cluster-ips-check", 2));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        d.map(|d| d.to_string()).unwrap_or_default(),
        "dropped by nft rule ip kube-proxy cluster-ips-check #2 (handle 18)"
    );
    // Neither connection was confirmed on the node: a dropped first packet leaves no entry.
    assert_eq!(sim.world.host(node).unwrap().conntrack.len(), 0);
}

#[test]
fn an_empty_ruleset_lists_nothing_and_hosts_start_with_one() {
    let mut net = Network::new(1);
    let h = net.add_host("h").unwrap();
    assert_eq!(net.host_mut(h).unwrap().nft_list_ruleset(), "");
}

fn loaded() -> Nftables {
    let mut n = Nftables::new();
    n.apply(include_str!("data/nft/kube-proxy.nft")).unwrap_or_else(|e| panic!("{e}"));
    n
}

#[test]
fn list_table_and_chain_snapshots() {
    let n = loaded();
    insta::assert_snapshot!(
        "list_chain_services",
        n.list_chain(Family::Ip, "kube-proxy", "services").unwrap()
    );
    insta::assert_snapshot!(
        "list_map_no_endpoint_services",
        n.list_set(Family::Ip, "kube-proxy", "no-endpoint-services").unwrap()
    );
    let mut small = Nftables::new();
    small.apply(KUBE_PROXY).unwrap();
    insta::assert_snapshot!(
        "list_table_kube_proxy_small",
        small.list_table(Family::Ip, "kube-proxy").unwrap()
    );
    assert_eq!(n.list_table(Family::Ip, "nope"), None);
}

/// A random ruleset in the nft language, from a few building blocks.
fn ruleset_text() -> impl Strategy<Value = String> {
    let stmt = prop_oneof![
        Just("tcp dport 80".to_string()),
        (1u16..9000).prop_map(|p| format!("udp dport {p}")),
        (0u8..=255, 8u8..=32).prop_map(|(a, l)| format!("ip saddr != {a}.0.0.0/{l}")),
        Just("ct state established,related".to_string()),
        Just("meta l4proto { tcp, udp }".to_string()),
        (0u32..0x10000).prop_map(|m| format!("meta mark & {m:#x} == {m:#x}")),
        Just("fib daddr type local".to_string()),
        Just("iifname \"eth0\"".to_string()),
        Just("counter".to_string()),
        Just("ip daddr @s".to_string()),
    ];
    let verdict = prop_oneof![
        Just("accept".to_string()),
        Just("drop".to_string()),
        Just("jump sub".to_string()),
        Just("goto sub".to_string()),
        Just("return".to_string()),
        Just("reject".to_string()),
        Just("meta mark set meta mark | 0x4000".to_string()),
        Just("numgen random mod 2 vmap { 0 : jump sub, 1 : accept }".to_string()),
        Just("ip daddr . meta l4proto . th dport vmap @m".to_string()),
    ];
    // (A rule naming TCP's and UDP's ports, or either after `meta l4proto { tcp, udp }`, is
    // refused, as nft refuses it.)
    let stmts = proptest::collection::vec(stmt, 0..3).prop_filter("one transport protocol", |s| {
        let said = |p: &str| s.iter().any(|x| x.starts_with(p));
        let ports = usize::from(said("tcp ")) + usize::from(said("udp "));
        ports == 0 || (ports == 1 && !said("meta l4proto {"))
    });
    let rule = (stmts, verdict, proptest::option::of("[a-z ]{1,10}")).prop_map(|(s, v, c)| {
        let mut r = s.join(" ");
        r.push(' ');
        r.push_str(&v);
        if let Some(c) = c {
            r.push_str(&format!(" comment \"{c}\""));
        }
        r
    });
    let elems = proptest::collection::btree_set((0u8..255, 0u8..255, 1u16..2000), 0..12);
    (proptest::collection::vec(rule, 0..8), elems, -400i32..400, proptest::bool::ANY).prop_map(
        |(rules, elems, prio, drop)| {
            let mut t = String::from("table ip t {\n\tset s { type ipv4_addr; }\n");
            t.push_str(
                "\tmap m { type ipv4_addr . inet_proto . inet_service : verdict; }\n\tchain sub { }\n",
            );
            let policy = if drop { "drop" } else { "accept" };
            t.push_str(&format!("\tchain c {{ type filter hook input priority {prio}; policy {policy};\n"));
            for r in rules {
                t.push_str(&format!("\t\t{r}\n"));
            }
            t.push_str("\t}\n}\n");
            for (a, b, p) in elems {
                t.push_str(&format!("add element ip t s {{ 10.{a}.{b}.1 }}\n"));
                t.push_str(&format!("add element ip t m {{ 10.{a}.{b}.1 . tcp . {p} : goto sub }}\n"));
            }
            t
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Bad input is an error, never a panic: the kube-proxy ruleset cut short, with a span
    /// replaced by random bytes.
    #[test]
    fn mangled_input_never_panics(cut in 0usize..6000, at in 0usize..6000, junk in "[ -~\t\n{}]{0,12}") {
        let text = include_str!("data/nft/kube-proxy.nft");
        let cut = text.char_indices().map(|(i, _)| i).find(|i| *i >= cut.min(text.len())).unwrap_or(text.len());
        let at = text.char_indices().map(|(i, _)| i).find(|i| *i >= at.min(cut)).unwrap_or(cut);
        let mangled = format!("{}{}{}", &text[..at], junk, &text[at..cut]);
        let mut n = Nftables::new();
        let _ = n.apply(&mangled);
        let _ = n.list_ruleset();
    }

    /// `nft list` output parses back to the same ruleset (and so lists the same).
    #[test]
    fn list_output_reparses_to_the_same_ruleset(text in ruleset_text()) {
        let mut a = Nftables::new();
        a.apply(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let listed = a.list_ruleset();
        let mut b = Nftables::new();
        b.apply(&listed).map_err(|e| TestCaseError::fail(format!("{e}\n{listed}")))?;
        prop_assert_eq!(b.list_ruleset(), listed);
        let strip = |n: &Nftables| {
            let mut r = n.ruleset().clone();
            for t in &mut r.tables {
                t.handle = 0;
            }
            r
        };
        // The same model, handles aside (a listing carries none).
        let (ra, rb) = (strip(&a), strip(&b));
        prop_assert_eq!(ra.tables.len(), rb.tables.len());
        for (x, y) in ra.tables.iter().zip(&rb.tables) {
            prop_assert_eq!(&x.sets.keys().collect::<Vec<_>>(), &y.sets.keys().collect::<Vec<_>>());
            for (cx, cy) in x.chains.values().zip(y.chains.values()) {
                prop_assert_eq!(&cx.base, &cy.base);
                let sx: Vec<_> = cx.rules.iter().map(|r| (&r.stmts, &r.comment)).collect();
                let sy: Vec<_> = cy.rules.iter().map(|r| (&r.stmts, &r.comment)).collect();
                prop_assert_eq!(sx, sy);
            }
            for (sx, sy) in x.sets.values().zip(y.sets.values()) {
                prop_assert_eq!(&sx.elements, &sy.elements);
            }
        }
    }
}

#[test]
fn elements_built_in_code_list_like_parsed_ones() {
    // An element added through the typed API (what a proxier in code would do) lists as
    // one parsed from the language.
    let mut n = Nftables::new();
    n.apply(KUBE_PROXY).unwrap();
    let t = n.ruleset_mut().table_mut(Family::Ip, "kube-proxy").unwrap();
    let m = std::rc::Rc::make_mut(t.sets.get_mut("service-ips").unwrap());
    use sim_net::nftables::{Element, MapData, Value, Verdict};
    m.elements.insert(Element::new(
        vec![Value::Addr(Ipv4Addr::new(172, 30, 0, 99)), Value::Proto(17), Value::Port(53)],
        Some(MapData::Verdict(Verdict::Drop)),
    ));
    let listed = n.list_set(Family::Ip, "kube-proxy", "service-ips").unwrap();
    assert!(listed.contains("172.30.0.99 . udp . 53 : drop"), "{listed}");
}

/// `iif` and `oif` name interfaces the host has (nft resolves them to indexes when the rule
/// is added, and refuses a name the namespace does not have), and match where the packet came
/// in and goes out.
#[test]
fn iif_and_oif_name_the_hosts_interfaces() {
    let (mut sim, node, client, p1, _) = cluster();
    let h = sim.world.host_mut(node).unwrap();
    let refused = "table ip fw { chain fwd { type filter hook forward priority 0; iif \"eth9\" drop; }; }\n";
    assert_eq!(h.nft_apply(refused).unwrap_err().message, "Interface does not exist");
    let fw = "table ip fw { chain fwd { type filter hook forward priority 0; iif eth0 oif cni0 drop; }; }\n";
    h.nft_apply(fw).unwrap_or_else(|e| panic!("{e}"));
    assert!(h.nft_list_ruleset().contains("\t\tiif \"eth0\" oif \"cni0\" drop\n"));
    // From outside (in on eth0, out on cni0 to the endpoint): dropped.
    let c = connect(&mut sim, client, "172.30.0.41:80");
    let first = sim.world.conversation(c).unwrap().packets[0];
    assert!(matches!(sim.world.disposition(first), Some(Disposition::DroppedByNft(_))));
    // From a pod (in on cni0): served.
    let c = connect(&mut sim, p1, "172.30.0.41:80");
    assert!(response(&sim, c).starts_with("hostname=pod2 "));
}
