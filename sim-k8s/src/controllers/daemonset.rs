//! The DaemonSet controller (pkg/controller/daemon): one pod per node that the pod fits
//! (nodeSelector, taints — with the tolerations the controller adds to every daemon pod for
//! `node.kubernetes.io/not-ready`, `unreachable` (NoExecute) and `unschedulable` (NoSchedule)),
//! bound directly to that node; pods on nodes that no longer fit are deleted. Pod names are
//! `<ds>-<5 random chars>` from the `controllers/daemonset` stream.
//! Left out: rolling updates, surge, `pod-template-generation` bumps.

use serde_json::{Map, Value, json};
use sim_core::SimTime;

use super::names::{pod_template_hash, random_suffix};
use super::pods::{self, controller_ref, is_active, pod_from_template};
use super::replicaset::delete_pod;
use super::scheduler::{node_fits, parse_tolerations};
use super::watch::{dirty_keys, owner_or_self};
use super::{Controllers, EventType, ObjectStore, list_nodes, ns_of};
use crate::api::{DaemonSet, Kind, Object, ObjectKey, Pod};

/// Tolerations the DaemonSet controller adds to every daemon pod
/// (`util.AddOrUpdateDaemonPodTolerations`).
pub fn daemon_tolerations() -> Value {
    json!([
        {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists"},
        {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists"},
        {"effect": "NoSchedule", "key": "node.kubernetes.io/disk-pressure", "operator": "Exists"},
        {"effect": "NoSchedule", "key": "node.kubernetes.io/memory-pressure", "operator": "Exists"},
        {"effect": "NoSchedule", "key": "node.kubernetes.io/pid-pressure", "operator": "Exists"},
        {"effect": "NoSchedule", "key": "node.kubernetes.io/unschedulable", "operator": "Exists"}
    ])
}

/// Reconciles the DaemonSets a change touched (the set, a pod it controls, or any node).
pub fn reconcile(c: &mut Controllers, store: &mut dyn ObjectStore, now: SimTime) -> bool {
    let mut changed = false;
    let changes = c.watches.daemonset.poll(store);
    if store.list(Kind::DaemonSet).next().is_none() {
        // No DaemonSet to reconcile: the changes (its pods' among them) touch nothing this
        // controller manages, and a change of a deleted set finds nothing either.
        return false;
    }
    let nodes_changed = changes.is_some_and(|cs| cs.iter().any(|ch| ch.key.kind == Kind::Node));
    let changes = if nodes_changed { None } else { changes };
    let dirty = dirty_keys(store, changes, Kind::DaemonSet, |ch, out| {
        owner_or_self(store, ch, Kind::DaemonSet, Kind::Pod, out)
    });
    for key in dirty {
        let Some(Object::DaemonSet(ds)) = store.get(&key).cloned() else { continue };
        changed |= sync(c, store, &ds, now);
    }
    changed
}

fn sync(c: &mut Controllers, store: &mut dyn ObjectStore, ds: &DaemonSet, now: SimTime) -> bool {
    let ns = ns_of(&ds.metadata).to_string();
    let name = ds.metadata.name.clone();
    let key = ObjectKey::new(Kind::DaemonSet, &ns, &name);
    let mut template = ds.spec.template.clone();
    let mut tols = template.spec.tolerations.clone().and_then(|v| v.as_array().cloned()).unwrap_or_default();
    if let Some(extra) = daemon_tolerations().as_array() {
        for t in extra {
            if !tols.contains(t) {
                tols.push(t.clone());
            }
        }
    }
    std::sync::Arc::make_mut(&mut template.spec).tolerations = Some(Value::Array(tols));
    let tolerations = parse_tolerations(&template.spec);
    let owned: Vec<Pod> = store
        .owned(Kind::Pod, &ns, "DaemonSet", &name)
        .into_iter()
        .filter_map(Object::as_pod)
        .filter(|p| is_active(p))
        .cloned()
        .collect();
    let nodes = list_nodes(store);
    let mut changed = false;
    let mut desired = 0;
    for node in &nodes {
        let fits = node_fits(node, &template.spec, &tolerations).is_ok();
        let here: Vec<&Pod> = owned.iter().filter(|p| p.spec.node_name == node.metadata.name).collect();
        if fits {
            desired += 1;
        }
        if fits && here.is_empty() {
            let pod_name = loop {
                let n = format!("{name}-{}", random_suffix(&mut c.rng.daemonset, 5));
                if store.get_named(Kind::Pod, &ns, &n).is_none() {
                    break n;
                }
            };
            let mut pod = pod_from_template(
                &template,
                &ns,
                &pod_name,
                &format!("{name}-"),
                controller_ref("apps/v1", "DaemonSet", &ds.metadata),
                &[
                    ("controller-revision-hash", pod_template_hash(&ds.spec.template)),
                    ("pod-template-generation", ds.metadata.generation.unwrap_or(1).to_string()),
                ],
            );
            std::sync::Arc::make_mut(&mut pod.spec).node_name = node.metadata.name.clone();
            if c.write_built(store, Object::Pod(pod), now, true) {
                changed = true;
                c.events.record(
                    &key,
                    EventType::Normal,
                    "SuccessfulCreate",
                    "daemonset-controller",
                    format!("Created pod: {pod_name}"),
                    now,
                );
            }
        } else if !fits {
            for p in here {
                let mut p = p.clone();
                changed |= delete_pod(c, store, &mut p, now);
            }
        }
    }
    for p in owned.iter().filter(|p| !nodes.iter().any(|n| n.metadata.name == p.spec.node_name)) {
        let mut p = p.clone();
        changed |= delete_pod(c, store, &mut p, now);
    }
    changed | update_status(c, store, ds, desired, now)
}

fn update_status(
    c: &mut Controllers,
    store: &mut dyn ObjectStore,
    ds: &DaemonSet,
    desired: usize,
    now: SimTime,
) -> bool {
    let ns = ns_of(&ds.metadata);
    let active: Vec<&Pod> = store
        .owned(Kind::Pod, ns, "DaemonSet", &ds.metadata.name)
        .into_iter()
        .filter_map(Object::as_pod)
        .filter(|p| is_active(p))
        .collect();
    let ready = active.iter().filter(|p| pods::is_ready(p)).count();
    let mut m = Map::new();
    m.insert("currentNumberScheduled".into(), json!(active.len()));
    m.insert("desiredNumberScheduled".into(), json!(desired));
    if ready > 0 {
        m.insert("numberAvailable".into(), json!(ready));
    }
    m.insert("numberMisscheduled".into(), json!(0));
    m.insert("numberReady".into(), json!(ready));
    m.insert("observedGeneration".into(), json!(ds.metadata.generation.unwrap_or(1)));
    m.insert("updatedNumberScheduled".into(), json!(active.len()));
    let status = Some(Value::Object(m));
    if status == ds.status {
        return false;
    }
    let key = ObjectKey::new(Kind::DaemonSet, ns, &ds.metadata.name);
    c.set_status(store, &key, crate::api::ObjectStatus::Workload(status), now)
}
