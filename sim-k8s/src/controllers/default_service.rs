//! The API server's bootstrap controller for the `kubernetes` Service in `default`
//! (pkg/controlplane/controller/kubernetesservice and the endpoint reconciler): ClusterIP = the
//! first address of the service CIDR, port 443 named `https` targeting 6443, and an Endpoints
//! object plus an EndpointSlice, both named `kubernetes`, pointing at the control-plane node's
//! InternalIP:6443. The Endpoints carries `endpointslice.kubernetes.io/skip-mirror: "true"` as
//! the real reconciler's does. Left out: multiple API server replicas and leases.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use sim_core::SimTime;

use super::endpointslice::SKIP_MIRROR_LABEL;
use super::node_lifecycle::CONTROL_PLANE;
use super::{Controllers, ObjectStore, list_nodes};
use crate::api::endpoint_slice::{AddressType, SERVICE_NAME_LABEL};
use crate::api::service::{IpFamily, IpFamilyPolicy, ServiceAffinity, TrafficPolicy};
use crate::api::{
    ClusterIp, Endpoint, EndpointAddress, EndpointConditions, EndpointPort, EndpointSlice, EndpointSubset,
    Endpoints, EndpointsPort, IntOrString, Kind, Object, ObjectKey, ObjectMeta, Protocol, Service,
    ServicePort, ServiceSpec, ServiceType,
};

/// The secure port of kube-apiserver.
pub const APISERVER_PORT: i32 = 6443;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Ensures the `kubernetes` Service, Endpoints and EndpointSlice exist and point at the API server.
pub fn reconcile(c: &mut Controllers, store: &mut dyn ObjectStore, now: SimTime) -> bool {
    if !c.config.default_kubernetes_service {
        return false;
    }
    // Only a change to a node or to the `kubernetes` objects can call for a write.
    let relevant = |ch: &crate::apiserver::Change| {
        ch.key.kind == Kind::Node || (ch.key.namespace == "default" && ch.key.name == "kubernetes")
    };
    if c.watches.default_service.poll(store).is_some_and(|cs| !cs.iter().any(relevant)) {
        return false;
    }
    let mut changed = false;
    let svc_key = ObjectKey::new(Kind::Service, "default", "kubernetes");
    if store.get(&svc_key).is_none() {
        let ip = IpAddr::V4(Ipv4Addr::from(u32::from(c.config.service_cidr.network()).saturating_add(1)));
        let svc = Service {
            api_version: "v1".into(),
            kind: "Service".into(),
            metadata: ObjectMeta {
                name: "kubernetes".into(),
                namespace: "default".into(),
                labels: labels(&[("component", "apiserver"), ("provider", "kubernetes")]),
                ..Default::default()
            },
            spec: ServiceSpec {
                type_: Some(ServiceType::ClusterIP),
                ports: vec![ServicePort {
                    name: "https".into(),
                    protocol: Some(Protocol::TCP),
                    port: 443,
                    target_port: Some(IntOrString::Int(APISERVER_PORT)),
                    ..Default::default()
                }],
                cluster_ip: ClusterIp::Ip(ip),
                cluster_ips: vec![ClusterIp::Ip(ip)],
                session_affinity: Some(ServiceAffinity::None),
                ip_families: vec![IpFamily::IPv4],
                ip_family_policy: Some(IpFamilyPolicy::SingleStack),
                internal_traffic_policy: Some(TrafficPolicy::Cluster),
                ..Default::default()
            },
            status: None,
        };
        changed |= c.write(store, Object::Service(Box::new(svc)), now, true);
    }
    let nodes = list_nodes(store);
    let apiserver = nodes
        .iter()
        .find(|n| n.metadata.labels.contains_key(CONTROL_PLANE) && n.internal_ip().is_some())
        .or_else(|| nodes.iter().find(|n| n.internal_ip().is_some()))
        .and_then(|n| n.internal_ip());
    let Some(ip) = apiserver else { return changed };
    let ep = Endpoints {
        api_version: "v1".into(),
        kind: "Endpoints".into(),
        metadata: ObjectMeta {
            name: "kubernetes".into(),
            namespace: "default".into(),
            labels: labels(&[(SKIP_MIRROR_LABEL, "true")]),
            ..Default::default()
        },
        subsets: vec![EndpointSubset {
            addresses: vec![EndpointAddress {
                ip,
                hostname: String::new(),
                node_name: None,
                target_ref: None,
            }],
            not_ready_addresses: Vec::new(),
            ports: vec![EndpointsPort {
                name: "https".into(),
                port: APISERVER_PORT,
                protocol: Some(Protocol::TCP),
                app_protocol: None,
            }],
        }],
    };
    let ep_key = ObjectKey::new(Kind::Endpoints, "default", "kubernetes");
    match store.get(&ep_key) {
        Some(Object::Endpoints(old))
            if old.subsets == ep.subsets && old.metadata.labels.contains_key(SKIP_MIRROR_LABEL) => {}
        Some(Object::Endpoints(old)) => {
            let mut e = old.clone();
            e.subsets = ep.subsets;
            e.metadata.labels.insert(SKIP_MIRROR_LABEL.into(), "true".into());
            changed |= c.write(store, Object::Endpoints(e), now, false);
        }
        _ => changed |= c.write(store, Object::Endpoints(ep), now, true),
    }
    let slice = EndpointSlice {
        api_version: "discovery.k8s.io/v1".into(),
        kind: "EndpointSlice".into(),
        metadata: ObjectMeta {
            name: "kubernetes".into(),
            namespace: "default".into(),
            labels: labels(&[(SERVICE_NAME_LABEL, "kubernetes")]),
            ..Default::default()
        },
        address_type: Some(AddressType::IPv4),
        endpoints: vec![Endpoint {
            addresses: vec![ip.to_string()],
            conditions: EndpointConditions {
                ready: Some(true),
                serving: Some(true),
                terminating: Some(false),
            },
            ..Default::default()
        }],
        ports: vec![EndpointPort {
            name: Some("https".into()),
            port: Some(APISERVER_PORT),
            protocol: Some(Protocol::TCP),
            app_protocol: None,
        }],
    };
    let slice_key = ObjectKey::new(Kind::EndpointSlice, "default", "kubernetes");
    match store.get(&slice_key) {
        Some(Object::EndpointSlice(old)) if old.endpoints == slice.endpoints && old.ports == slice.ports => {}
        Some(Object::EndpointSlice(old)) => {
            let mut s = old.clone();
            s.endpoints = slice.endpoints;
            s.ports = slice.ports;
            changed |= c.write(store, Object::EndpointSlice(s), now, false);
        }
        _ => changed |= c.write(store, Object::EndpointSlice(slice), now, true),
    }
    changed
}
