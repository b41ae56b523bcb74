//! The EndpointSlice controller (pkg/controller/endpointslice) and the mirroring controller
//! (pkg/controller/endpointslicemirroring). For a Service with a selector, slices `<svc>-<5 random>` (generateName, stream
//! `controllers/endpointslice`) labelled `kubernetes.io/service-name` and
//! `endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`, owned by the
//! Service, hold one endpoint per selected pod with an IP — terminating pods included, with
//! conditions as `podToEndpoint` sets them: `ready` (false while terminating unless
//! `publishNotReadyAddresses`), `serving` (pod readiness), `terminating` — plus nodeName, zone,
//! targetRef and hostname. Pods are grouped by resolved port list, at most 100 endpoints per
//! slice; a Service with no endpoints keeps one empty placeholder slice. Existing slices are
//! reused by port list so names stay stable. For selector-less Services with hand-made
//! Endpoints the mirroring controller copies each subset into `<endpoints>-<5 random>` slices
//! managed by `endpointslicemirroring-controller.k8s.io` (unless labelled
//! `endpointslice.kubernetes.io/skip-mirror: "true"`).
//! Left out: topology hints, the trafficDistribution field, IPv6/dual-stack slices.

use std::collections::BTreeMap;
use std::net::IpAddr;

use sim_core::SimTime;

use super::endpoints::{HEADLESS_LABEL, endpoint_hostname, pod_eligible, pod_ref, service_selector};
use super::names::random_suffix;
use super::pods::{controller_ref, find_port, is_terminating, selector_matches};
use super::{Controllers, ObjectStore, list_endpoints, list_nodes, list_services, list_slices, ns_of};
use crate::api::endpoint_slice::{AddressType, MANAGED_BY_LABEL, SERVICE_NAME_LABEL};
use crate::api::{
    Endpoint, EndpointConditions, EndpointPort, EndpointSlice, Kind, Object, ObjectKey, ObjectMeta, Pod,
    Service,
};

/// `managed-by` value of the EndpointSlice controller.
pub const CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";
/// `managed-by` value of the mirroring controller.
pub const MIRRORING_NAME: &str = "endpointslicemirroring-controller.k8s.io";
/// Endpoints label that opts out of mirroring.
pub const SKIP_MIRROR_LABEL: &str = "endpointslice.kubernetes.io/skip-mirror";
/// `--max-endpoints-per-slice` default.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;
/// Zone label copied into `endpoints[].zone`.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// One wanted slice: its ports and endpoints.
type Desired = (Vec<EndpointPort>, Vec<Endpoint>);

fn endpoint_key(e: &Endpoint) -> (u8, u128, String) {
    let first = e.addresses.first().cloned().unwrap_or_default();
    match first.parse::<IpAddr>() {
        Ok(IpAddr::V4(v)) => (4, u128::from(u32::from(v)), first),
        Ok(IpAddr::V6(v)) => (6, u128::from(v), first),
        Err(_) => (0, 0, first),
    }
}

/// The slices' content the controller wants for a selector Service.
pub fn desired_for_service(svc: &Service, pods: &[Pod], zones: &BTreeMap<String, String>) -> Vec<Desired> {
    let Some(selector) = service_selector(svc) else { return Vec::new() };
    let ns = ns_of(&svc.metadata);
    let publish = svc.spec.publish_not_ready_addresses == Some(true);
    let mut groups: BTreeMap<Vec<(String, i32, String)>, Vec<Endpoint>> = BTreeMap::new();
    for pod in pods {
        if ns_of(&pod.metadata) != ns
            || !selector_matches(selector, &pod.metadata.labels)
            || !pod_eligible(pod, true)
        {
            continue;
        }
        let Some(ip) = pod.status.as_ref().and_then(|s| s.pod_ip) else { continue };
        let ports: Vec<(String, i32, String)> = svc
            .spec
            .ports
            .iter()
            .filter_map(|sp| {
                find_port(pod, sp).map(|p| (sp.name.clone(), p, sp.protocol().as_str().to_string()))
            })
            .collect();
        let terminating = is_terminating(pod);
        let serving = pod.is_ready();
        // "ready" is never true for a terminating pod unless publishNotReadyAddresses is set.
        let ready = publish || (serving && !terminating);
        let node = (!pod.spec.node_name.is_empty()).then(|| pod.spec.node_name.clone());
        groups.entry(ports).or_default().push(Endpoint {
            addresses: vec![ip.to_string()],
            conditions: EndpointConditions {
                ready: Some(ready),
                serving: Some(serving),
                terminating: Some(terminating),
            },
            hostname: endpoint_hostname(pod, svc),
            zone: node.as_ref().and_then(|n| zones.get(n).cloned()),
            node_name: node,
            target_ref: Some(pod_ref(pod)),
            hints: None,
            deprecated_topology: None,
        });
    }
    let mut out = Vec::new();
    for (ports, mut eps) in groups {
        eps.sort_by_key(endpoint_key);
        let ports: Vec<EndpointPort> = ports
            .into_iter()
            .map(|(name, port, proto)| EndpointPort {
                name: Some(name),
                port: Some(port),
                protocol: Some(crate::api::Protocol::parse(&proto)),
                app_protocol: None,
            })
            .collect();
        for chunk in eps.chunks(MAX_ENDPOINTS_PER_SLICE) {
            out.push((ports.clone(), chunk.to_vec()));
        }
    }
    out
}

/// Brings the slices of one owner (`managed_by`, service `svc_name` in `ns`) to `desired`.
#[allow(clippy::too_many_arguments)]
fn sync_slices(
    c: &mut Controllers,
    store: &mut dyn ObjectStore,
    ns: &str,
    svc_name: &str,
    managed_by: &str,
    mut desired: Vec<Desired>,
    labels: BTreeMap<String, String>,
    owner: Option<crate::api::OwnerReference>,
    now: SimTime,
) -> bool {
    let mut existing: Vec<EndpointSlice> = list_slices(store)
        .into_iter()
        .filter(|s| {
            ns_of(&s.metadata) == ns
                && s.service_name() == Some(svc_name)
                && s.metadata.labels.get(MANAGED_BY_LABEL).map(String::as_str) == Some(managed_by)
        })
        .collect();
    if desired.is_empty() && managed_by == CONTROLLER_NAME {
        desired.push((Vec::new(), Vec::new()));
    }
    let mut changed = false;
    for (ports, eps) in desired {
        // Same port list first; else recycle an empty placeholder, as the reconciler does to
        // avoid churning slice names.
        let reuse = existing
            .iter()
            .position(|s| s.ports == ports)
            .or_else(|| existing.iter().position(|s| s.ports.is_empty() && s.endpoints.is_empty()));
        match reuse {
            Some(i) => {
                let old = existing.remove(i);
                let mut s = old.clone();
                s.endpoints = eps;
                s.ports = ports;
                s.metadata.labels = labels.clone();
                if let Some(o) = &owner {
                    s.metadata.owner_references = vec![o.clone()];
                }
                if s != old {
                    changed |= c.write(store, Object::EndpointSlice(s), now, false);
                }
            }
            None => {
                let base: String = svc_name.chars().take(58).collect();
                let name = loop {
                    let n = format!("{base}-{}", random_suffix(&mut c.rng.endpointslice, 5));
                    if store.get(&ObjectKey::new(Kind::EndpointSlice, ns, &n)).is_none() {
                        break n;
                    }
                };
                let s = EndpointSlice {
                    api_version: "discovery.k8s.io/v1".into(),
                    kind: "EndpointSlice".into(),
                    metadata: ObjectMeta {
                        name,
                        generate_name: format!("{base}-"),
                        namespace: ns.to_string(),
                        labels: labels.clone(),
                        owner_references: owner.clone().into_iter().collect(),
                        ..Default::default()
                    },
                    address_type: Some(AddressType::IPv4),
                    endpoints: eps,
                    ports,
                };
                changed |= c.write(store, Object::EndpointSlice(s), now, true);
            }
        }
    }
    for s in existing {
        changed |= c.remove(store, &ObjectKey::new(Kind::EndpointSlice, ns, &s.metadata.name), now);
    }
    changed
}

/// Reconciles slices of every selector Service, and removes slices of vanished Services.
pub fn reconcile(c: &mut Controllers, store: &mut dyn ObjectStore, now: SimTime) -> bool {
    let pods = c.pods(store);
    let zones: BTreeMap<String, String> = list_nodes(store)
        .into_iter()
        .filter_map(|n| n.metadata.labels.get(ZONE_LABEL).cloned().map(|z| (n.metadata.name.clone(), z)))
        .collect();
    let services = list_services(store);
    let mut changed = false;
    for svc in &services {
        if service_selector(svc).is_none() || svc.spec.service_type() == crate::api::ServiceType::ExternalName
        {
            continue;
        }
        let ns = ns_of(&svc.metadata).to_string();
        let mut labels = svc.metadata.labels.clone();
        labels.insert(SERVICE_NAME_LABEL.into(), svc.metadata.name.clone());
        labels.insert(MANAGED_BY_LABEL.into(), CONTROLLER_NAME.into());
        if svc.spec.is_headless() {
            labels.insert(HEADLESS_LABEL.into(), String::new());
        }
        let desired = desired_for_service(svc, &pods, &zones);
        let owner = controller_ref("v1", "Service", &svc.metadata);
        changed |= sync_slices(
            c,
            store,
            &ns,
            &svc.metadata.name,
            CONTROLLER_NAME,
            desired,
            labels,
            Some(owner),
            now,
        );
    }
    // Garbage: controller slices whose Service is gone or no longer selects.
    for s in list_slices(store) {
        if s.metadata.labels.get(MANAGED_BY_LABEL).map(String::as_str) != Some(CONTROLLER_NAME) {
            continue;
        }
        let ns = ns_of(&s.metadata);
        let keep = services.iter().any(|svc| {
            ns_of(&svc.metadata) == ns
                && Some(svc.metadata.name.as_str()) == s.service_name()
                && service_selector(svc).is_some()
        });
        if !keep {
            changed |= c.remove(store, &ObjectKey::new(Kind::EndpointSlice, ns, &s.metadata.name), now);
        }
    }
    changed
}

/// Mirrors hand-made Endpoints of selector-less Services into slices.
pub fn reconcile_mirroring(c: &mut Controllers, store: &mut dyn ObjectStore, now: SimTime) -> bool {
    let services = list_services(store);
    let endpoints = list_endpoints(store);
    let mut changed = false;
    let mut mirrored: Vec<(String, String)> = Vec::new();
    for ep in &endpoints {
        let ns = ns_of(&ep.metadata).to_string();
        let Some(svc) =
            services.iter().find(|s| ns_of(&s.metadata) == ns && s.metadata.name == ep.metadata.name)
        else {
            continue;
        };
        if service_selector(svc).is_some()
            || ep.metadata.labels.get(SKIP_MIRROR_LABEL).map(String::as_str) == Some("true")
        {
            continue;
        }
        mirrored.push((ns.clone(), ep.metadata.name.clone()));
        let mut desired: Vec<Desired> = Vec::new();
        for subset in &ep.subsets {
            let ports: Vec<EndpointPort> = subset
                .ports
                .iter()
                .map(|p| EndpointPort {
                    name: Some(p.name.clone()),
                    port: Some(p.port),
                    protocol: Some(p.protocol.clone().unwrap_or(crate::api::Protocol::TCP)),
                    app_protocol: p.app_protocol.clone(),
                })
                .collect();
            let mk = |a: &crate::api::EndpointAddress, ready: bool| Endpoint {
                addresses: vec![a.ip.to_string()],
                conditions: EndpointConditions { ready: Some(ready), serving: None, terminating: None },
                hostname: (!a.hostname.is_empty()).then(|| a.hostname.clone()),
                node_name: a.node_name.clone(),
                zone: None,
                target_ref: a.target_ref.clone(),
                hints: None,
                deprecated_topology: None,
            };
            let eps: Vec<Endpoint> = subset
                .addresses
                .iter()
                .map(|a| mk(a, true))
                .chain(subset.not_ready_addresses.iter().map(|a| mk(a, false)))
                .collect();
            for chunk in eps.chunks(MAX_ENDPOINTS_PER_SLICE) {
                desired.push((ports.clone(), chunk.to_vec()));
            }
        }
        let mut labels = ep.metadata.labels.clone();
        labels.insert(SERVICE_NAME_LABEL.into(), ep.metadata.name.clone());
        labels.insert(MANAGED_BY_LABEL.into(), MIRRORING_NAME.into());
        let owner = controller_ref("v1", "Endpoints", &ep.metadata);
        changed |=
            sync_slices(c, store, &ns, &ep.metadata.name, MIRRORING_NAME, desired, labels, Some(owner), now);
    }
    for s in list_slices(store) {
        if s.metadata.labels.get(MANAGED_BY_LABEL).map(String::as_str) != Some(MIRRORING_NAME) {
            continue;
        }
        let ns = ns_of(&s.metadata).to_string();
        let owner = s.service_name().unwrap_or("").to_string();
        if !mirrored.contains(&(ns.clone(), owner)) {
            changed |= c.remove(store, &ObjectKey::new(Kind::EndpointSlice, &ns, &s.metadata.name), now);
        }
    }
    changed
}
