//! Property: the endpoints controller publishes exactly the selected pods of the Service's
//! namespace that have an IP — ready ones as addresses, the others as notReadyAddresses,
//! terminating ones not at all — and the EndpointSlice controller agrees on readiness.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use sim_k8s::api::pod::PodIp;
use sim_k8s::api::{
    Container, ContainerPort, IntOrString, ObjectMeta, Pod, PodCondition, PodSpec, PodStatus, Service,
    ServicePort, ServiceSpec,
};
use sim_k8s::controllers::endpoints::desired_subsets;
use sim_k8s::controllers::endpointslice::desired_for_service;

#[derive(Clone, Debug)]
struct P {
    ns: bool,
    app_a: bool,
    ready: bool,
    has_ip: bool,
    terminating: bool,
    named_port: bool,
}

fn pod(i: usize, p: &P) -> Pod {
    let mut meta = ObjectMeta::named(if p.ns { "default" } else { "other" }, &format!("p{i}"));
    meta.labels.insert("app".into(), if p.app_a { "a".into() } else { "b".into() });
    if p.terminating {
        meta.deletion_timestamp = Some("2024-01-01T00:01:00Z".into());
    }
    let ip = IpAddr::V4(Ipv4Addr::new(10, 244, (i / 250) as u8, (i % 250 + 2) as u8));
    Pod {
        api_version: "v1".into(),
        kind: "Pod".into(),
        metadata: meta,
        spec: PodSpec {
            node_name: "n1".into(),
            containers: vec![Container {
                name: "c".into(),
                ports: if p.named_port {
                    vec![ContainerPort { name: "http".into(), container_port: 8080, ..Default::default() }]
                } else {
                    Vec::new()
                },
                ..Default::default()
            }]
            .into(),
            ..Default::default()
        }
        .into(),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            conditions: vec![PodCondition {
                type_: "Ready".into(),
                status: if p.ready { "True" } else { "False" }.into(),
                ..Default::default()
            }],
            pod_ip: p.has_ip.then_some(ip),
            pod_ips: if p.has_ip { vec![PodIp { ip }] } else { Vec::new() },
            ..Default::default()
        }),
    }
}

fn service(target: IntOrString) -> Service {
    Service {
        metadata: ObjectMeta::named("default", "svc"),
        spec: ServiceSpec {
            selector: Some([("app".to_string(), "a".to_string())].into_iter().collect()),
            ports: vec![ServicePort { port: 80, target_port: Some(target), ..Default::default() }],
            ..Default::default()
        },
        ..Default::default()
    }
}

fn arb_pod() -> impl Strategy<Value = P> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.7),
    )
        .prop_map(|(ns, app_a, ready, has_ip, terminating, named_port)| P {
            ns,
            app_a,
            ready,
            has_ip,
            terminating,
            named_port,
        })
}

proptest! {
    #[test]
    fn endpoints_are_exactly_the_ready_selected_pods(specs in prop::collection::vec(arb_pod(), 0..40), named in any::<bool>()) {
        let pods: Vec<Pod> = specs.iter().enumerate().map(|(i, p)| pod(i, p)).collect();
        let target = if named { IntOrString::String("http".into()) } else { IntOrString::Int(8080) };
        let svc = service(target);
        let eligible = |p: &P| p.ns && p.app_a && p.has_ip && !p.terminating && (!named || p.named_port);
        let ip = |i: usize| pods[i].status.as_ref().and_then(|s| s.pod_ip);
        let want_ready: BTreeSet<IpAddr> = specs.iter().enumerate().filter(|(_, p)| eligible(p) && p.ready).filter_map(|(i, _)| ip(i)).collect();
        let want_not_ready: BTreeSet<IpAddr> = specs.iter().enumerate().filter(|(_, p)| eligible(p) && !p.ready).filter_map(|(i, _)| ip(i)).collect();
        let subsets = desired_subsets(&svc, &pods);
        let got_ready: BTreeSet<IpAddr> = subsets.iter().flat_map(|s| s.addresses.iter().map(|a| a.ip)).collect();
        let got_not_ready: BTreeSet<IpAddr> = subsets.iter().flat_map(|s| s.not_ready_addresses.iter().map(|a| a.ip)).collect();
        prop_assert_eq!(&got_ready, &want_ready);
        prop_assert_eq!(got_not_ready, want_not_ready);
        for s in &subsets {
            prop_assert!(s.ports.iter().all(|p| p.port == 8080));
        }
        // Slices: ready endpoints under resolved ports are the same set (like the real
        // controller, a pod whose named port does not resolve sits in a slice without ports);
        // terminating selected pods appear but are never ready.
        let slices = desired_for_service(&svc, &pods, &BTreeMap::new());
        let slice_ready: BTreeSet<IpAddr> = slices
            .iter()
            .filter(|(ports, _)| !ports.is_empty())
            .flat_map(|(_, eps)| eps.iter())
            .filter(|e| e.conditions.ready == Some(true))
            .filter_map(|e| e.addresses[0].parse().ok())
            .collect();
        prop_assert_eq!(slice_ready, want_ready);
        for (_, eps) in &slices {
            prop_assert!(eps.len() <= 100);
            for e in eps {
                if e.conditions.terminating == Some(true) {
                    prop_assert_eq!(e.conditions.ready, Some(false));
                }
            }
        }
    }
}
