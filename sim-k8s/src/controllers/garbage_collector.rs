//! The garbage collector (pkg/controller/garbagecollector), reduced to background deletion of
//! controller-owned workload objects: a ReplicaSet whose Deployment is gone is deleted, and a
//! pod whose ReplicaSet, StatefulSet or DaemonSet is gone goes Terminating. Owners are matched by
//! kind and name in the dependent's namespace. Left out: foreground/orphan propagation,
//! non-controller owner references, cluster-scoped owners.

use std::collections::BTreeSet;

use sim_core::SimTime;

use super::pods::controller_of;
use super::replicaset::delete_pod;
use super::{Controllers, ObjectStore, list_replicasets, ns_of};
use crate::api::{Kind, ObjectKey};

fn owner_kind(kind: &str) -> Option<Kind> {
    match kind {
        "Deployment" => Some(Kind::Deployment),
        "ReplicaSet" => Some(Kind::ReplicaSet),
        "StatefulSet" => Some(Kind::StatefulSet),
        "DaemonSet" => Some(Kind::DaemonSet),
        _ => None,
    }
}

/// Deletes dependents whose controlling owner no longer exists.
pub fn reconcile(c: &mut Controllers, store: &mut dyn ObjectStore, now: SimTime) -> bool {
    let mut changed = false;
    // Owners that exist, listed once (store reads clone objects).
    let mut owners: BTreeSet<ObjectKey> = BTreeSet::new();
    for kind in [Kind::Deployment, Kind::ReplicaSet, Kind::StatefulSet, Kind::DaemonSet] {
        owners.extend(store.list(kind).iter().map(|o| o.key("default")));
    }
    for rs in list_replicasets(store) {
        let ns = ns_of(&rs.metadata).to_string();
        if let Some(kind) =
            controller_of(&rs.metadata).and_then(|o| owner_kind(&o.kind).map(|k| (k, o.name.clone())))
            && !owners.contains(&ObjectKey::new(kind.0, &ns, &kind.1))
        {
            changed |= c.remove(store, &ObjectKey::new(Kind::ReplicaSet, &ns, &rs.metadata.name), now);
        }
    }
    let pods = c.pods(store);
    for pod in pods.iter() {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let ns = ns_of(&pod.metadata).to_string();
        if let Some((kind, name)) =
            controller_of(&pod.metadata).and_then(|o| owner_kind(&o.kind).map(|k| (k, o.name.clone())))
            && !owners.contains(&ObjectKey::new(kind, &ns, &name))
        {
            let mut p = pod.clone();
            changed |= delete_pod(c, store, &mut p, now);
        }
    }
    changed
}
