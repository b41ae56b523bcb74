//! The endpoints controller (pkg/controller/endpoint): for every Service with a selector, an
//! Endpoints object of the same name listing the selected pods of the Service's namespace that
//! have an IP — ready ones in `addresses`, others in `notReadyAddresses` (all in `addresses`
//! with `publishNotReadyAddresses`), terminating pods left out — each with `nodeName`,
//! `targetRef` and `hostname` when the pod's hostname/subdomain name this Service. Ports are
//! resolved per pod (`podutil.FindPort`, named targetPorts from containerPort names); pods whose
//! port cannot be resolved are skipped for that port, and addresses with identical port lists
//! are packed into one subset (`endpoints.RepackSubsets`). Selector-less Services are left to
//! their hand-made Endpoints; an Endpoints deleted under a selector Service is re-created.
//! `endpoints.kubernetes.io/last-change-trigger-time` is the simulated instant of the last
//! content change. Left out: the 1000-address truncation (`endpoints.kubernetes.io/over-capacity`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use sim_core::SimTime;

use super::endpointslice::touched_services;
use super::pods::{find_port, is_terminal, is_terminating, selector_matches};
use super::store::timestamp;
use super::watch::dirty_keys;
use super::{Controllers, ObjectStore, ns_of};
use crate::api::{
    EndpointAddress, EndpointSubset, Endpoints, EndpointsPort, Kind, Object, ObjectKey, ObjectMeta,
    ObjectReference, Pod, Protocol, Service,
};

/// Annotation recording when the change that last rewrote the Endpoints happened.
pub const TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";

/// Label the controller puts on Endpoints of headless Services.
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";

/// The selector a controller acts on: None for selector-less Services (and empty selectors,
/// which the API documents as "endpoints managed externally").
pub fn service_selector(svc: &Service) -> Option<&BTreeMap<String, String>> {
    svc.spec.selector.as_ref().filter(|s| !s.is_empty())
}

/// `ShouldPodBeInEndpoints`.
pub fn pod_eligible(pod: &Pod, include_terminating: bool) -> bool {
    pod.status.as_ref().is_some_and(|s| s.pod_ip.is_some())
        && !is_terminal(pod)
        && (include_terminating || !is_terminating(pod))
}

/// The pod fields the Endpoints and EndpointSlice controllers read, hashed: labels (which
/// Services select it), address, readiness, termination, node, hostname and subdomain, and
/// the container ports a `targetPort` resolves to. `None` for a pod that is in no Service's
/// endpoints whatever its labels — one without an address yet, or one that has ended — so
/// the changes of a pod being created, scheduled and started wake these controllers once,
/// when its address appears.
pub fn endpoint_digest(pod: &Pod) -> Option<u64> {
    use std::hash::{BuildHasher, Hash, Hasher};
    let ip = pod.status.as_ref().and_then(|s| s.pod_ip)?;
    if is_terminal(pod) {
        return None;
    }
    let mut h = sim_core::hash::FxBuildHasher::default().build_hasher();
    pod.metadata.labels.hash(&mut h);
    pod.metadata.uid.hash(&mut h);
    ip.hash(&mut h);
    is_terminating(pod).hash(&mut h);
    pod.is_ready().hash(&mut h);
    pod.spec.node_name.hash(&mut h);
    pod.spec.hostname.hash(&mut h);
    pod.spec.subdomain.hash(&mut h);
    for c in pod.spec.containers.iter() {
        for p in &c.ports {
            (&p.name, p.container_port, p.protocol.as_ref().map(|p| p.as_str())).hash(&mut h);
        }
    }
    Some(h.finish())
}

/// Hostname published for `pod` behind `svc` (`hostname` + matching `subdomain`).
pub fn endpoint_hostname(pod: &Pod, svc: &Service) -> Option<String> {
    (!pod.spec.hostname.is_empty() && pod.spec.subdomain == svc.metadata.name)
        .then(|| pod.spec.hostname.clone())
}

/// `targetRef` of a pod.
pub fn pod_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: "Pod".into(),
        namespace: ns_of(&pod.metadata).to_string(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..Default::default()
    }
}

/// Resolved (name, port, protocol) triples, borrowed from the Service: pods with the same
/// list share a subset. Most Services have one or two ports: held inline.
pub(crate) type PortList<'s> = smallvec::SmallVec<[(&'s str, i32, &'s str); 2]>;

/// The Service's ports `pod` resolves, as (name, port, protocol).
pub(crate) fn resolved_ports<'s>(svc: &'s Service, pod: &Pod) -> PortList<'s> {
    svc.spec
        .ports
        .iter()
        .filter_map(|sp| {
            let proto = sp.protocol.as_ref().map_or("TCP", |p| p.as_str());
            find_port(pod, sp).map(|p| (sp.name.as_str(), p, proto))
        })
        .collect()
}

/// The Endpoints subsets the controller computes for a Service, from candidate pods (any pods:
/// those outside the Service's namespace or selector are skipped).
pub fn desired_subsets<'a>(svc: &Service, pods: impl IntoIterator<Item = &'a Pod>) -> Vec<EndpointSubset> {
    let Some(selector) = service_selector(svc) else { return Vec::new() };
    let ns = ns_of(&svc.metadata);
    let publish = svc.spec.publish_not_ready_addresses == Some(true);
    // Port list -> (ready, not ready) addresses.
    let mut groups: BTreeMap<PortList<'_>, (Vec<EndpointAddress>, Vec<EndpointAddress>)> = BTreeMap::new();
    for pod in pods {
        if ns_of(&pod.metadata) != ns
            || !selector_matches(selector, &pod.metadata.labels)
            || !pod_eligible(pod, publish)
        {
            continue;
        }
        let Some(ip) = pod.status.as_ref().and_then(|s| s.pod_ip) else { continue };
        let ports = resolved_ports(svc, pod);
        if ports.is_empty() && !svc.spec.ports.is_empty() {
            continue;
        }
        let addr = EndpointAddress {
            ip,
            hostname: endpoint_hostname(pod, svc).unwrap_or_default(),
            node_name: (!pod.spec.node_name.is_empty()).then(|| pod.spec.node_name.clone()),
            target_ref: Some(pod_ref(pod)),
        };
        let entry = groups.entry(ports).or_default();
        if publish || pod.is_ready() {
            entry.0.push(addr);
        } else {
            entry.1.push(addr);
        }
    }
    let mut subsets: Vec<EndpointSubset> = groups
        .into_iter()
        .map(|(ports, (mut ready, mut not_ready))| {
            ready.sort_by_key(|a| ip_key(a.ip));
            not_ready.sort_by_key(|a| ip_key(a.ip));
            EndpointSubset {
                addresses: ready,
                not_ready_addresses: not_ready,
                ports: ports
                    .into_iter()
                    .map(|(name, port, proto)| EndpointsPort {
                        name: name.to_string(),
                        port,
                        protocol: Some(Protocol::parse(proto)),
                        app_protocol: None,
                    })
                    .collect(),
            }
        })
        .collect();
    subsets.sort_by_key(|s| s.addresses.first().or(s.not_ready_addresses.first()).map(|a| ip_key(a.ip)));
    subsets
}

/// An address's sort key: IPv4 before IPv6, then by value.
pub(crate) fn ip_key(ip: IpAddr) -> (u8, u128) {
    match ip {
        IpAddr::V4(v) => (4, u128::from(u32::from(v))),
        IpAddr::V6(v) => (6, u128::from(v)),
    }
}

/// Creates/updates/deletes the controller-managed Endpoints of the Services a change touched.
pub fn reconcile(c: &mut Controllers, store: &mut dyn ObjectStore, now: SimTime) -> bool {
    let changes = c.watches.endpoints.poll(store);
    let resync = changes.is_none();
    let watch = &mut c.watches.endpoints;
    let mut dirty = dirty_keys(store, changes, Kind::Service, |ch, out| {
        if watch.own_change(ch) {
            return;
        }
        if ch.key.kind == Kind::Endpoints {
            out.insert(ObjectKey::new(Kind::Service, &ch.key.namespace, &ch.key.name));
        } else if ch.key.kind != Kind::Pod || watch.pod_changed(store, ch, endpoint_digest) {
            touched_services(store, ch, None, out);
        }
    });
    if resync {
        watch.record_pods(store, endpoint_digest);
        // Services deleted since: their managed Endpoints go too.
        dirty
            .extend(c.managed_endpoints.iter().map(|k| ObjectKey::new(Kind::Service, &k.namespace, &k.name)));
    }
    let mut changed = false;
    let mut gone = Vec::new();
    let mut managed = std::collections::BTreeSet::new();
    for svc_key in dirty {
        let key = ObjectKey::new(Kind::Endpoints, &svc_key.namespace, &svc_key.name);
        let shared = store.shared(&svc_key);
        let Some(svc) =
            shared.as_deref().and_then(Object::as_service).filter(|s| service_selector(s).is_some())
        else {
            gone.push(key);
            continue;
        };
        let ns = ns_of(&svc.metadata).to_string();
        if !c.managed_endpoints.contains(&key) {
            managed.insert(key.clone());
        }
        let mut labels = svc.metadata.labels.clone();
        if svc.spec.is_headless() {
            labels.insert(HEADLESS_LABEL.into(), String::new());
        }
        let subsets = match service_selector(svc) {
            Some(sel) => {
                desired_subsets(svc, store.select(Kind::Pod, &ns, sel).into_iter().filter_map(Object::as_pod))
            }
            None => Vec::new(),
        };
        match store.get(&key).and_then(Object::as_endpoints) {
            Some(e) if e.subsets == subsets && e.metadata.labels == labels => {}
            Some(old) => {
                // A new version from the old one's metadata (its subsets are not copied).
                let mut e = Endpoints {
                    api_version: old.api_version.clone(),
                    kind: old.kind.clone(),
                    metadata: old.metadata.clone(),
                    subsets,
                };
                if old.subsets != e.subsets {
                    // The controller reacts at once, so the triggering change happened now.
                    e.metadata.annotations.insert(TRIGGER_TIME.into(), timestamp(now));
                }
                e.metadata.labels = labels;
                if c.write_built(store, Object::Endpoints(e), now, false) {
                    changed = true;
                    c.watches.endpoints.wrote(store, &key);
                }
            }
            None => {
                let e = Endpoints {
                    api_version: "v1".into(),
                    kind: "Endpoints".into(),
                    metadata: ObjectMeta {
                        name: svc.metadata.name.clone(),
                        namespace: ns,
                        labels,
                        annotations: [(TRIGGER_TIME.to_string(), timestamp(now))].into_iter().collect(),
                        ..Default::default()
                    },
                    subsets,
                };
                if c.write_built(store, Object::Endpoints(e), now, true) {
                    changed = true;
                    c.watches.endpoints.wrote(store, &key);
                }
            }
        }
    }
    // A Service that went away (or lost its selector) takes its managed Endpoints with it.
    for key in gone {
        if !c.managed_endpoints.swap_remove(&key) {
            continue;
        }
        let svc_key = ObjectKey::new(Kind::Service, &key.namespace, &key.name);
        if store.get(&svc_key).is_none() && store.get(&key).is_some() {
            changed |= c.remove(store, &key, now);
        }
    }
    c.managed_endpoints.extend(managed);
    changed
}
