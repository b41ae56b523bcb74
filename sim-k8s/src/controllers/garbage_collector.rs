//! The garbage collector (pkg/controller/garbagecollector), reduced to background deletion of
//! controller-owned workload objects: a ReplicaSet whose Deployment is gone is deleted, and a
//! pod whose ReplicaSet, StatefulSet or DaemonSet is gone goes Terminating. Owners are matched by
//! kind and name in the dependent's namespace. Left out: foreground/orphan propagation,
//! non-controller owner references, cluster-scoped owners.

use std::collections::BTreeSet;

use sim_core::SimTime;

use super::pods::controller_of;
use super::replicaset::delete_pod;
use super::{Controllers, ObjectStore, ns_of};
use crate::api::{Kind, Object, ObjectKey};

fn owner_kind(kind: &str) -> Option<Kind> {
    match kind {
        "Deployment" => Some(Kind::Deployment),
        "ReplicaSet" => Some(Kind::ReplicaSet),
        "StatefulSet" => Some(Kind::StatefulSet),
        "DaemonSet" => Some(Kind::DaemonSet),
        _ => None,
    }
}

/// Deletes dependents whose controlling owner no longer exists: the dependents a change
/// touched, and those of owners just deleted (found through the owner index).
pub fn reconcile(c: &mut Controllers, store: &mut dyn ObjectStore, now: SimTime) -> bool {
    let mut changed = false;
    let mut check: BTreeSet<ObjectKey> = BTreeSet::new();
    match c.watches.garbage_collector.poll(store) {
        None => {
            for kind in DEPENDENTS {
                check.extend(store.list(kind).map(|o| o.key("default")));
            }
        }
        Some(changes) => {
            for ch in changes {
                // A dependent can be orphaned by its owner's deletion (below) or by being
                // written with an owner that does not exist: created, or updated with other
                // owner references (the log keeps the old version only for those). Other
                // updates (status, binding) cannot orphan it.
                let owners_may_differ = match ch.change {
                    crate::apiserver::ChangeType::Added => true,
                    crate::apiserver::ChangeType::Modified => ch.old.is_some(),
                    crate::apiserver::ChangeType::Deleted => false,
                };
                if DEPENDENTS.contains(&ch.key.kind) && owners_may_differ {
                    check.insert(ch.key.clone());
                }
                if ch.change == crate::apiserver::ChangeType::Deleted
                    && owner_kind(ch.key.kind.as_str()).is_some()
                {
                    for kind in DEPENDENTS {
                        for o in store.owned(kind, &ch.key.namespace, ch.key.kind.as_str(), &ch.key.name) {
                            check.insert(o.key("default"));
                        }
                    }
                }
            }
        }
    }
    let orphaned = |store: &dyn ObjectStore, meta: &crate::api::ObjectMeta| {
        controller_of(meta)
            .and_then(|o| owner_kind(&o.kind).map(|k| (k, o.name.as_str())))
            .is_some_and(|(kind, name)| store.get_named(kind, ns_of(meta), name).is_none())
    };
    // ReplicaSets first, then pods, each in key order.
    for key in check.iter().filter(|k| k.kind == Kind::ReplicaSet) {
        if store.get(key).and_then(Object::meta).is_some_and(|m| orphaned(store, m)) {
            changed |= c.remove(store, key, now);
        }
    }
    for key in check.iter().filter(|k| k.kind == Kind::Pod) {
        let Some(Object::Pod(pod)) = store.get(key) else { continue };
        if pod.metadata.deletion_timestamp.is_some() || !orphaned(store, &pod.metadata) {
            continue;
        }
        let mut p = pod.clone();
        changed |= delete_pod(c, store, &mut p, now);
    }
    changed
}

/// The kinds whose objects the collector deletes.
const DEPENDENTS: [Kind; 2] = [Kind::ReplicaSet, Kind::Pod];
