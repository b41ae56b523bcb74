//! Invariants of kube-proxy rule generation over random clusters: output is a pure function of
//! the input (same input ⇒ same text, input order irrelevant), every `-j` target chain is
//! declared exactly once, and each dispatch chain's statistic rules split traffic uniformly:
//! endpoint i of n gets p_i · ∏_{j<i}(1 − p_j) = 1/n with the written probabilities.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use proptest::prelude::*;
use sim_k8s::kube_proxy::{
    Endpoint, EndpointsMap, ProxyConfig, ServicePortInfo, ServicePortName, ServiceProtocol, ServiceType,
    SessionAffinity, TrafficPolicy, sync,
};

const NODES: [&str; 3] = ["node1", "node2", "node3"];

fn arb_endpoint() -> impl Strategy<Value = Endpoint> {
    (0u8..40, 0usize..3, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(host, node, ready, serving, terminating)| Endpoint {
            ip: Ipv4Addr::new(10, 244, node as u8, host),
            port: 8080,
            node_name: Some(NODES[node].to_owned()),
            ready,
            serving: serving || ready,
            terminating: terminating && !ready,
        },
    )
}

#[derive(Clone, Debug)]
struct Case {
    services: Vec<ServicePortInfo>,
    endpoints: EndpointsMap,
}

fn arb_service(i: usize) -> impl Strategy<Value = (ServicePortInfo, Vec<Endpoint>)> {
    (
        0usize..3,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(ServiceProtocol::Tcp), Just(ServiceProtocol::Udp), Just(ServiceProtocol::Sctp)],
        proptest::collection::vec(arb_endpoint(), 0..12),
    )
        .prop_map(move |(kind, etp_local, itp_local, affinity, ext_ip, ranges, proto, eps)| {
            let name = ServicePortName::new("ns", &format!("svc{i}"), "p", proto);
            let mut s = ServicePortInfo::cluster_ip(name, Ipv4Addr::new(172, 30, 0, i as u8 + 1), 80);
            s.service_type = [ServiceType::ClusterIp, ServiceType::NodePort, ServiceType::LoadBalancer][kind];
            if kind > 0 {
                s.node_port = Some(30000 + i as u16);
            }
            if kind == 2 {
                s.load_balancer_ips = vec![Ipv4Addr::new(1, 2, 3, i as u8 + 1)];
                s.health_check_node_port = Some(32000 + i as u16);
                if ranges {
                    s.load_balancer_source_ranges = vec!["203.0.113.0/25".parse().unwrap()];
                }
            }
            if ext_ip {
                s.external_ips = vec![Ipv4Addr::new(192, 168, 99, i as u8 + 1)];
            }
            if etp_local {
                s.external_traffic_policy = TrafficPolicy::Local;
            }
            if itp_local {
                s.internal_traffic_policy = TrafficPolicy::Local;
            }
            if affinity {
                s.session_affinity = SessionAffinity::ClientIp { timeout_seconds: 10800 };
            }
            (s, eps)
        })
}

fn arb_case() -> impl Strategy<Value = Case> {
    (0usize..7).prop_flat_map(|n| (0..n).map(arb_service).collect::<Vec<_>>()).prop_map(|pairs| {
        let mut endpoints = EndpointsMap::new();
        let mut services = Vec::new();
        for (s, mut eps) in pairs {
            // Upstream keeps the first of duplicate addresses, so input order matters for
            // duplicates; keep addresses distinct to test everything else.
            let mut seen = BTreeSet::new();
            eps.retain(|e| seen.insert(e.ip));
            endpoints.insert(s.name.clone(), eps);
            services.push(s);
        }
        Case { services, endpoints }
    })
}

fn config() -> ProxyConfig {
    ProxyConfig::new("node1", Ipv4Addr::new(192, 168, 0, 2), Some("10.244.0.0/16".parse().unwrap()))
}

const BUILTIN_TARGETS: [&str; 7] = ["ACCEPT", "DROP", "REJECT", "RETURN", "MARK", "MASQUERADE", "DNAT"];

/// Checks chain declarations and jump targets of one table's restore text.
fn check_table(text: &str) -> Result<(), TestCaseError> {
    let mut declared = BTreeSet::new();
    for l in text.lines().filter(|l| l.starts_with(':')) {
        let name = l[1..].split(' ').next().unwrap_or("");
        prop_assert!(declared.insert(name.to_owned()), "chain {} declared twice", name);
    }
    for l in text.lines().filter(|l| l.starts_with("-A ")) {
        let chain = l[3..].split(' ').next().unwrap_or("");
        prop_assert!(declared.contains(chain), "rule in undeclared chain: {}", l);
        if let Some(target) = l.split(" -j ").nth(1).and_then(|t| t.split(' ').next()) {
            prop_assert!(
                declared.contains(target) || BUILTIN_TARGETS.contains(&target),
                "jump to undeclared chain: {}",
                l
            );
        }
    }
    prop_assert!(text.ends_with("COMMIT\n"));
    Ok(())
}

/// The statistic spread of each KUBE-SVC/KUBE-SVL chain is uniform and ends unconditionally.
fn check_spread(nat: &str) -> Result<(), TestCaseError> {
    let mut chains: Vec<(String, Vec<&str>)> = Vec::new();
    for l in nat.lines().filter(|l| l.starts_with("-A KUBE-SVC-") || l.starts_with("-A KUBE-SVL-")) {
        if !l.contains("-j KUBE-SEP-") || l.contains("-m recent") {
            continue;
        }
        let chain = l[3..].split(' ').next().unwrap_or("").to_owned();
        match chains.last_mut() {
            Some((c, rules)) if *c == chain => rules.push(l),
            _ => chains.push((chain, vec![l])),
        }
    }
    for (chain, rules) in chains {
        let n = rules.len();
        let mut remaining = 1.0f64;
        for (i, r) in rules.iter().enumerate() {
            let p = match r.split("--probability ").nth(1) {
                Some(rest) => {
                    prop_assert!(i + 1 < n, "last rule of {} has a statistic match", chain);
                    rest.split(' ').next().unwrap_or("").parse::<f64>().unwrap_or(f64::NAN)
                }
                None => {
                    prop_assert!(i + 1 == n, "rule {} of {} lacks a statistic match", i, chain);
                    1.0
                }
            };
            let share = remaining * p;
            prop_assert!((share - 1.0 / n as f64).abs() < 1e-8, "{}: endpoint {} gets {}", chain, i, share);
            remaining *= 1.0 - p;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn deterministic_and_order_independent(case in arb_case(), seed in any::<u64>()) {
        let a = sync(&config(), &case.services, &case.endpoints);
        let b = sync(&config(), &case.services, &case.endpoints);
        prop_assert_eq!(&a, &b);

        // Same services and endpoints, given in another order.
        let mut services = case.services.clone();
        let mut endpoints = case.endpoints.clone();
        let k = services.len().max(1);
        services.rotate_left((seed as usize) % k);
        services.reverse();
        for eps in endpoints.values_mut() {
            eps.reverse();
        }
        let c = sync(&config(), &services, &endpoints);
        prop_assert_eq!(a.restore_input(), c.restore_input());
    }

    #[test]
    fn well_formed_and_uniform(case in arb_case()) {
        let r = sync(&config(), &case.services, &case.endpoints);
        check_table(&r.filter)?;
        check_table(&r.nat)?;
        check_spread(&r.nat)?;
        prop_assert_eq!(r.stats.services, case.services.len());
        // The empty-tables form also declares every chain it uses, exactly once.
        for table in r.initial_restore().split_inclusive("COMMIT\n") {
            check_table(table)?;
        }
    }
}
