//! The ReplicaSet controller (pkg/controller/replicaset): keeps `spec.replicas` active pods
//! selected by the ReplicaSet and controlled by it. New pods are named `<rs>-<5 random chars>`
//! (generateName, seeded stream `controllers/replicaset`). On scale-down the victims are chosen
//! with `controller.ActivePodsWithRanks` ordering: unassigned before assigned, Pending before
//! Running, not-ready before ready, ready for less time first, more restarts first, newer first.
//! Status counts replicas, readyReplicas, availableReplicas and fullyLabeledReplicas.
//! Left out: adoption of orphans, minReadySeconds, burst limits (all diffs are applied at once).

use std::cmp::Ordering;

use sim_core::SimTime;

use super::names::random_suffix;
use super::pods::{self, controller_ref, is_active, mark_terminating, pod_from_template};
use super::watch::{dirty_keys, owner_or_self};
use super::{Controllers, EventType, ObjectStore, ns_of};
use crate::api::{Kind, Object, ObjectKey, ObjectStatus, Pod, ReplicaSet, ReplicaSetStatus};

/// The pod fields a ReplicaSet's sync reads, hashed: labels and owner (which ReplicaSet counts
/// it), phase and deletion (active or not), node (the deletion ranking), readiness and since
/// when (ready and available replicas).
fn replica_digest(pod: &Pod) -> Option<u64> {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = sim_core::hash::FxBuildHasher::default().build_hasher();
    pod.metadata.labels.hash(&mut h);
    pod.metadata.uid.hash(&mut h);
    for o in &pod.metadata.owner_references {
        (&o.uid, &o.name, o.controller).hash(&mut h);
    }
    pods::is_active(pod).hash(&mut h);
    pods::is_terminal(pod).hash(&mut h);
    pod.spec.node_name.is_empty().hash(&mut h);
    pods::is_ready(pod).hash(&mut h);
    pods::ready_since(pod).hash(&mut h);
    Some(h.finish())
}

/// Reconciles the ReplicaSets a change touched (the ReplicaSet, or a pod it controls).
pub fn reconcile(c: &mut Controllers, store: &mut dyn ObjectStore, now: SimTime) -> bool {
    let mut changed = false;
    let changes = c.watches.replicaset.poll(store);
    let watch = &mut c.watches.replicaset;
    if changes.is_none() {
        watch.record_pods(store, replica_digest);
    }
    let dirty = dirty_keys(store, changes, Kind::ReplicaSet, |ch, out| {
        if watch.own_change(ch) {
            return;
        }
        if ch.key.kind != Kind::Pod || watch.pod_changed(store, ch, replica_digest) {
            owner_or_self(store, ch, Kind::ReplicaSet, Kind::Pod, out)
        }
    });
    for key in dirty {
        let Some(shared) = store.shared(&key) else { continue };
        let Object::ReplicaSet(rs) = shared.as_ref() else { continue };
        changed |= sync(c, store, rs, now);
        changed |= update_status(c, store, &key, shared, now);
    }
    changed
}

/// The active pods `rs` controls, in name order.
fn active_pods<'s>(store: &'s dyn ObjectStore, ns: &str, name: &str) -> Vec<&'s Pod> {
    store
        .owned(Kind::Pod, ns, "ReplicaSet", name)
        .into_iter()
        .filter_map(Object::as_pod)
        .filter(|p| is_active(p))
        .collect()
}

fn sync(c: &mut Controllers, store: &mut dyn ObjectStore, rs: &ReplicaSet, now: SimTime) -> bool {
    let ns = ns_of(&rs.metadata).to_string();
    let rs_key = ObjectKey::new(Kind::ReplicaSet, &ns, &rs.metadata.name);
    let mut changed = false;
    let want = rs.spec.replicas.unwrap_or(1).max(0) as usize;
    let mut active = active_pods(store, &ns, &rs.metadata.name);
    let have = active.len();
    // Only the pods to delete are copied out of the store; counting borrows.
    let victims: Vec<Pod> = if have > want {
        active.sort_by(|a, b| deletion_order(a, b));
        active.drain(..have - want).cloned().collect()
    } else {
        Vec::new()
    };
    if have < want {
        for _ in have..want {
            let name = loop {
                let n = format!("{}-{}", rs.metadata.name, random_suffix(&mut c.rng.replicaset, 5));
                if store.get_named(Kind::Pod, &ns, &n).is_none() {
                    break n;
                }
            };
            let pod = pod_from_template(
                &rs.spec.template,
                &ns,
                &name,
                &format!("{}-", rs.metadata.name),
                controller_ref("apps/v1", "ReplicaSet", &rs.metadata),
                &[],
            );
            if c.write_built(store, Object::Pod(pod), now, true) {
                changed = true;
                c.events.record(
                    &rs_key,
                    EventType::Normal,
                    "SuccessfulCreate",
                    "replicaset-controller",
                    format!("Created pod: {name}"),
                    now,
                );
            }
        }
    } else {
        for mut p in victims {
            let name = p.metadata.name.clone();
            changed |= delete_pod(c, store, &mut p, now);
            c.events.record(
                &rs_key,
                EventType::Normal,
                "SuccessfulDelete",
                "replicaset-controller",
                format!("Deleted pod: {name}"),
                now,
            );
        }
    }
    changed
}

/// Deletes a pod the way the API server does for a controller: an unbound pod goes at once,
/// a bound one becomes Terminating for its grace period.
pub fn delete_pod(c: &mut Controllers, store: &mut dyn ObjectStore, p: &mut Pod, now: SimTime) -> bool {
    let key = ObjectKey::new(Kind::Pod, ns_of(&p.metadata), &p.metadata.name);
    if p.spec.node_name.is_empty() {
        return c.remove(store, &key, now);
    }
    mark_terminating(p, now, None);
    c.write(store, Object::Pod(p.clone()), now, false)
}

/// `ActivePodsWithRanks` ordering: the pod to delete first sorts first.
fn deletion_order(a: &Pod, b: &Pod) -> Ordering {
    let assigned = |p: &Pod| !p.spec.node_name.is_empty();
    let phase_rank = |p: &Pod| match pods::phase(p) {
        "Pending" => 0,
        "Unknown" => 1,
        _ => 2,
    };
    assigned(a)
        .cmp(&assigned(b))
        .then(phase_rank(a).cmp(&phase_rank(b)))
        .then(pods::is_ready(a).cmp(&pods::is_ready(b)))
        // Ready for a shorter time (later transition) first.
        .then(pods::ready_since(b).cmp(&pods::ready_since(a)))
        .then(pods::restarts(b).cmp(&pods::restarts(a)))
        // Newer first.
        .then(b.metadata.creation_timestamp.cmp(&a.metadata.creation_timestamp))
        .then(b.metadata.name.cmp(&a.metadata.name))
}

/// Writes the replica counts of the ReplicaSet `shared` holds, which is let go of before the
/// write so the store changes its stored version in place.
fn update_status(
    c: &mut Controllers,
    store: &mut dyn ObjectStore,
    key: &ObjectKey,
    shared: std::rc::Rc<Object>,
    now: SimTime,
) -> bool {
    let Object::ReplicaSet(rs) = shared.as_ref() else { return false };
    let ns = ns_of(&rs.metadata);
    let active = active_pods(store, ns, &rs.metadata.name);
    let replicas = active.len();
    let ready = active.iter().filter(|p| pods::is_ready(p)).count();
    let labeled = active
        .iter()
        .filter(|p| rs.spec.template.metadata.labels.iter().all(|(k, v)| p.metadata.labels.get(k) == Some(v)))
        .count();
    let generation = rs.metadata.generation.unwrap_or(1);
    let counted = |v: usize| i64::try_from(v).ok().filter(|v| *v > 0);
    let status = ReplicaSetStatus {
        available_replicas: counted(ready),
        fully_labeled_replicas: counted(labeled),
        observed_generation: Some(generation),
        ready_replicas: counted(ready),
        replicas: Some(i64::try_from(replicas).unwrap_or(i64::MAX)),
        other: Default::default(),
    };
    if rs.status.as_ref() == Some(&status) {
        return false;
    }
    let status = Some(status);
    drop(shared);
    let written = c.set_status(store, key, ObjectStatus::ReplicaSet(status), now);
    if written {
        c.watches.replicaset.wrote(store, key);
    }
    written
}
