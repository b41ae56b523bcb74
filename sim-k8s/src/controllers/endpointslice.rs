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
use std::rc::Rc;

use sim_core::SimTime;

use super::endpoints::{
    HEADLESS_LABEL, PortList, endpoint_digest, endpoint_hostname, ip_key, pod_eligible, pod_ref,
    resolved_ports, service_selector,
};
use super::names::random_suffix;
use super::pods::{controller_ref, is_terminating, selector_matches};
use super::watch::{both_versions, dirty_keys};
use super::{Controllers, ObjectStore, ns_of};
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

/// An endpoint with its address's sort key ([`super::endpoints::ip_key`]).
type KeyedEndpoint = ((u8, u128), Endpoint);

/// The slices' content the controller wants for a selector Service, from candidate pods (any
/// pods: those outside the Service's namespace or selector are skipped).
pub fn desired_for_service<'a>(
    svc: &Service,
    pods: impl IntoIterator<Item = &'a Pod>,
    zones: &BTreeMap<String, String>,
) -> Vec<Desired> {
    let Some(selector) = service_selector(svc) else { return Vec::new() };
    let ns = ns_of(&svc.metadata);
    let publish = svc.spec.publish_not_ready_addresses == Some(true);
    // Port list -> endpoints, each with its address's sort key (family, then numeric value).
    let mut groups: BTreeMap<PortList<'_>, Vec<KeyedEndpoint>> = BTreeMap::new();
    for pod in pods {
        if ns_of(&pod.metadata) != ns
            || !selector_matches(selector, &pod.metadata.labels)
            || !pod_eligible(pod, true)
        {
            continue;
        }
        let Some(ip) = pod.status.as_ref().and_then(|s| s.pod_ip) else { continue };
        let ports = resolved_ports(svc, pod);
        let terminating = is_terminating(pod);
        let serving = pod.is_ready();
        // "ready" is never true for a terminating pod unless publishNotReadyAddresses is set.
        let ready = publish || (serving && !terminating);
        let node = (!pod.spec.node_name.is_empty()).then(|| pod.spec.node_name.clone());
        groups.entry(ports).or_default().push((
            ip_key(ip),
            Endpoint {
                addresses: vec![crate::api::address_text(ip)],
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
            },
        ));
    }
    let mut out = Vec::new();
    for (ports, mut keyed) in groups {
        // Stable: pods with the same address keep their order.
        keyed.sort_by_key(|(k, _)| *k);
        let eps: Vec<Endpoint> = keyed.into_iter().map(|(_, e)| e).collect();
        let ports: Vec<EndpointPort> = ports
            .into_iter()
            .map(|(name, port, proto)| EndpointPort {
                name: Some(name.to_string()),
                port: Some(port),
                protocol: Some(crate::api::Protocol::parse(proto)),
                app_protocol: None,
            })
            .collect();
        if eps.len() <= MAX_ENDPOINTS_PER_SLICE {
            out.push((ports, eps));
            continue;
        }
        for chunk in eps.chunks(MAX_ENDPOINTS_PER_SLICE) {
            out.push((ports.clone(), chunk.to_vec()));
        }
    }
    out
}

/// Remembers a slice write of the controller (`managed_by`) so its watch skips it.
fn own_write(c: &mut Controllers, store: &dyn ObjectStore, managed_by: &str, key: &ObjectKey) {
    let watch =
        if managed_by == CONTROLLER_NAME { &mut c.watches.endpointslice } else { &mut c.watches.mirroring };
    watch.wrote(store, key);
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
    let mut existing = owned_slices(store, ns, svc_name, managed_by);
    if desired.is_empty() && managed_by == CONTROLLER_NAME {
        desired.push((Vec::new(), Vec::new()));
    }
    let mut changed = false;
    for (ports, eps) in desired {
        // Same port list first; else recycle an empty placeholder, as the reconciler does to
        // avoid churning slice names.
        let reuse = existing
            .iter()
            .position(|o| o.as_endpoint_slice().is_some_and(|s| s.ports == ports))
            .or_else(|| {
                existing.iter().position(|o| {
                    o.as_endpoint_slice().is_some_and(|s| s.ports.is_empty() && s.endpoints.is_empty())
                })
            });
        match reuse {
            Some(i) => {
                // Compared in place, then changed: only a slice that changes is copied out of
                // the store.
                let shared = existing.remove(i);
                let Some(s) = shared.as_endpoint_slice() else { continue };
                let same = s.endpoints == eps
                    && s.ports == ports
                    && s.metadata.labels == labels
                    && owner.as_ref().is_none_or(|o| s.metadata.owner_references == std::slice::from_ref(o));
                if !same {
                    // A new version from the old one's metadata (its endpoints are not copied).
                    let mut s = EndpointSlice {
                        api_version: s.api_version.clone(),
                        kind: s.kind.clone(),
                        metadata: s.metadata.clone(),
                        address_type: s.address_type.clone(),
                        endpoints: eps,
                        ports,
                    };
                    s.metadata.labels = labels.clone();
                    if let Some(o) = &owner {
                        s.metadata.owner_references = vec![o.clone()];
                    }
                    let key = ObjectKey::new(Kind::EndpointSlice, ns, &s.metadata.name);
                    if c.write_built(store, Object::EndpointSlice(s), now, false) {
                        changed = true;
                        own_write(c, store, managed_by, &key);
                    }
                }
            }
            None => {
                let base: String = svc_name.chars().take(58).collect();
                let name = loop {
                    let n = format!("{base}-{}", random_suffix(&mut c.rng.endpointslice, 5));
                    if store.get_named(Kind::EndpointSlice, ns, &n).is_none() {
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
                let key = ObjectKey::new(Kind::EndpointSlice, ns, &s.metadata.name);
                if c.write_built(store, Object::EndpointSlice(s), now, true) {
                    changed = true;
                    own_write(c, store, managed_by, &key);
                }
            }
        }
    }
    for s in existing {
        changed |= c.remove(store, &ObjectKey::new(Kind::EndpointSlice, ns, s.name()), now);
    }
    changed
}

/// The slices `managed_by` keeps for `svc_name` in `ns`, in name order.
fn owned_slices(store: &dyn ObjectStore, ns: &str, svc_name: &str, managed_by: &str) -> Vec<Rc<Object>> {
    let selector = [(SERVICE_NAME_LABEL, svc_name), (MANAGED_BY_LABEL, managed_by)];
    let mut slices = store.select_shared(Kind::EndpointSlice, ns, &selector);
    slices.retain(|o| o.as_endpoint_slice().is_some());
    slices
}

/// The Services whose endpoints a change may alter: the Service itself, the Services selecting
/// a changed pod (before and after the change), the Service a changed slice of `managed_by`
/// belongs to.
pub(crate) fn touched_services(
    store: &dyn ObjectStore,
    ch: &crate::apiserver::Change,
    slices_of: Option<&str>,
    out: &mut std::collections::BTreeSet<ObjectKey>,
) {
    let ns = &ch.key.namespace;
    match ch.key.kind {
        Kind::Service => {
            out.insert(ch.key.clone());
        }
        Kind::Pod => {
            for obj in both_versions(store, ch) {
                if let Some(m) = obj.meta() {
                    out.extend(
                        store
                            .services_selecting(ns, &m.labels)
                            .into_iter()
                            .map(|s| ObjectKey::new(Kind::Service, ns, &s.metadata.name)),
                    );
                }
            }
        }
        Kind::EndpointSlice => {
            for obj in both_versions(store, ch) {
                let Some(slice) = obj.as_endpoint_slice() else { continue };
                if let Some(managed) = slices_of
                    && slice.metadata.labels.get(MANAGED_BY_LABEL).map(String::as_str) == Some(managed)
                    && let Some(svc) = slice.service_name()
                {
                    out.insert(ObjectKey::new(Kind::Service, ns, svc));
                }
            }
        }
        _ => {}
    }
}

/// Reconciles the slices of the Services a change touched, and removes slices of vanished
/// Services.
pub fn reconcile(c: &mut Controllers, store: &mut dyn ObjectStore, now: SimTime) -> bool {
    let changes = c.watches.endpointslice.poll(store);
    // Zones come from node labels; a zone change touches every Service.
    let mut zones_changed = changes.is_none();
    for ch in changes.into_iter().flatten().filter(|ch| ch.key.kind == Kind::Node) {
        let zone =
            store.get_changed(ch).and_then(Object::meta).and_then(|m| m.labels.get(ZONE_LABEL)).cloned();
        if c.zones.get(&ch.key.name) != zone.as_ref() {
            zones_changed = true;
            match zone {
                Some(z) => c.zones.insert(ch.key.name.clone(), z),
                None => c.zones.remove(&ch.key.name),
            };
        }
    }
    if changes.is_none() {
        c.zones = store
            .list(Kind::Node)
            .filter_map(|n| n.meta()?.labels.get(ZONE_LABEL).map(|z| (n.name().to_string(), z.clone())))
            .collect();
    }
    let changes = if zones_changed { None } else { changes };
    let watch = &mut c.watches.endpointslice;
    if changes.is_none() {
        watch.record_pods(store, endpoint_digest);
    }
    let dirty = dirty_keys(store, changes, Kind::Service, |ch, out| {
        if watch.own_change(ch) {
            return;
        }
        if ch.key.kind != Kind::Pod || watch.pod_changed(store, ch, endpoint_digest) {
            touched_services(store, ch, Some(CONTROLLER_NAME), out)
        }
    });
    let mut changed = false;
    let mut garbage = Vec::new();
    for key in dirty {
        let shared = store.shared(&key);
        let Some(svc) =
            shared.as_deref().and_then(Object::as_service).filter(|s| service_selector(s).is_some())
        else {
            garbage.push(key);
            continue;
        };
        if svc.spec.service_type() == crate::api::ServiceType::ExternalName {
            continue;
        }
        let ns = ns_of(&svc.metadata).to_string();
        let mut labels = svc.metadata.labels.clone();
        labels.insert(SERVICE_NAME_LABEL.into(), svc.metadata.name.clone());
        labels.insert(MANAGED_BY_LABEL.into(), CONTROLLER_NAME.into());
        if svc.spec.is_headless() {
            labels.insert(HEADLESS_LABEL.into(), String::new());
        }
        let desired = match service_selector(svc) {
            Some(sel) => desired_for_service(
                svc,
                store.select(Kind::Pod, &ns, sel).into_iter().filter_map(Object::as_pod),
                &c.zones,
            ),
            None => Vec::new(),
        };
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
    for key in garbage {
        for s in owned_slices(store, &key.namespace, &key.name, CONTROLLER_NAME) {
            changed |= c.remove(store, &ObjectKey::new(Kind::EndpointSlice, &key.namespace, s.name()), now);
        }
    }
    changed
}

/// Mirrors hand-made Endpoints of selector-less Services into slices: those a change touched
/// (the Endpoints, its Service, or one of its mirrored slices).
pub fn reconcile_mirroring(c: &mut Controllers, store: &mut dyn ObjectStore, now: SimTime) -> bool {
    let changes = c.watches.mirroring.poll(store);
    let dirty = dirty_keys(store, changes, Kind::Endpoints, |ch, out| {
        let mut services = std::collections::BTreeSet::new();
        match ch.key.kind {
            Kind::Endpoints | Kind::Service => {
                out.insert(ObjectKey::new(Kind::Endpoints, &ch.key.namespace, &ch.key.name));
            }
            Kind::EndpointSlice => touched_services(store, ch, Some(MIRRORING_NAME), &mut services),
            _ => {}
        }
        out.extend(services.into_iter().map(|k| ObjectKey::new(Kind::Endpoints, &k.namespace, &k.name)));
    });
    let mut changed = false;
    let mut garbage = Vec::new();
    for key in dirty {
        let ns = key.namespace.clone();
        let ep = store.get(&key).and_then(Object::as_endpoints);
        let svc = store.get_named(Kind::Service, &ns, &key.name).and_then(Object::as_service);
        let mirror = match (ep, svc) {
            (Some(ep), Some(svc)) => {
                service_selector(svc).is_none()
                    && ep.metadata.labels.get(SKIP_MIRROR_LABEL).map(String::as_str) != Some("true")
            }
            _ => false,
        };
        let Some(ep) = ep.filter(|_| mirror).cloned() else {
            garbage.push(key);
            continue;
        };
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
                addresses: vec![crate::api::address_text(a.ip)],
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
    for key in garbage {
        for s in owned_slices(store, &key.namespace, &key.name, MIRRORING_NAME) {
            changed |= c.remove(store, &ObjectKey::new(Kind::EndpointSlice, &key.namespace, s.name()), now);
        }
    }
    changed
}
