//! The StatefulSet controller (pkg/controller/statefulset): pods `<sts>-0`, `<sts>-1`, ... with
//! stable names, `hostname` = pod name and `subdomain` = `spec.serviceName` (so the governing
//! headless Service publishes `web-0.nginx.default.svc`). With the default `OrderedReady`
//! policy pods are created one at a time, each waiting for its predecessors to be Running and
//! Ready, and removed highest ordinal first, one at a time; `Parallel` does both at once.
//! A deleted pod is re-created with the same name once the old one is gone.
//! Left out: update strategies, partitions, volume claim templates, controller revisions.

use serde_json::{Map, Value, json};
use sim_core::SimTime;

use super::names::pod_template_hash;
use super::pods::{self, controller_ref, is_terminating, pod_from_template};
use super::replicaset::delete_pod;
use super::watch::{dirty_keys, owner_or_self};
use super::{Controllers, EventType, ObjectStore, ns_of};
use crate::api::{Kind, Object, ObjectKey, Pod, StatefulSet};

/// Reconciles the StatefulSets a change touched (the set, or a pod it controls).
pub fn reconcile(c: &mut Controllers, store: &mut dyn ObjectStore, now: SimTime) -> bool {
    let mut changed = false;
    let changes = c.watches.statefulset.poll(store);
    if store.list(Kind::StatefulSet).next().is_none() {
        // No StatefulSet to reconcile: the changes (its pods' among them) touch nothing this
        // controller manages, and a change of a deleted set finds nothing either.
        return false;
    }
    let dirty = dirty_keys(store, changes, Kind::StatefulSet, |ch, out| {
        owner_or_self(store, ch, Kind::StatefulSet, Kind::Pod, out)
    });
    for key in dirty {
        let Some(Object::StatefulSet(sts)) = store.get(&key).cloned() else { continue };
        changed |= sync(c, store, &sts, now);
    }
    changed
}

fn ordinal(sts: &str, pod: &str) -> Option<usize> {
    pod.strip_prefix(sts)?.strip_prefix('-')?.parse().ok()
}

fn sync(c: &mut Controllers, store: &mut dyn ObjectStore, sts: &StatefulSet, now: SimTime) -> bool {
    let ns = ns_of(&sts.metadata).to_string();
    let name = sts.metadata.name.clone();
    let key = ObjectKey::new(Kind::StatefulSet, &ns, &name);
    let parallel = sts.spec.pod_management_policy.as_deref() == Some("Parallel");
    let want = sts.spec.replicas.unwrap_or(1).max(0) as usize;
    let revision = format!("{name}-{}", pod_template_hash(&sts.spec.template));
    let owned: Vec<(usize, Pod)> = store
        .owned(Kind::Pod, &ns, "StatefulSet", &name)
        .into_iter()
        .filter_map(Object::as_pod)
        .filter_map(|p| ordinal(&name, &p.metadata.name).map(|o| (o, p.clone())))
        .collect();
    let find = |i: usize| owned.iter().find(|(o, _)| *o == i).map(|(_, p)| p);
    let mut changed = false;
    // Scale up / replace, in ordinal order.
    for i in 0..want {
        match find(i) {
            Some(p) if is_terminating(p) => {
                if !parallel {
                    break;
                }
            }
            Some(p) => {
                if !(parallel || pods::phase(p) == "Running" && pods::is_ready(p)) {
                    break;
                }
            }
            None => {
                let pod_name = format!("{name}-{i}");
                let mut pod = pod_from_template(
                    &sts.spec.template,
                    &ns,
                    &pod_name,
                    "",
                    controller_ref("apps/v1", "StatefulSet", &sts.metadata),
                    &[
                        ("apps.kubernetes.io/pod-index", i.to_string()),
                        ("controller-revision-hash", revision.clone()),
                        ("statefulset.kubernetes.io/pod-name", pod_name.clone()),
                    ],
                );
                let spec = std::sync::Arc::make_mut(&mut pod.spec);
                spec.hostname = pod_name.clone();
                spec.subdomain = sts.spec.service_name.clone();
                if c.write_built(store, Object::Pod(pod), now, true) {
                    changed = true;
                    c.events.record(
                        &key,
                        EventType::Normal,
                        "SuccessfulCreate",
                        "statefulset-controller",
                        format!("create Pod {pod_name} in StatefulSet {name} successful"),
                        now,
                    );
                }
                if !parallel {
                    break;
                }
            }
        }
    }
    // Scale down, highest ordinal first.
    let mut extra: Vec<&(usize, Pod)> = owned.iter().filter(|(o, _)| *o >= want).collect();
    extra.sort_by_key(|e| std::cmp::Reverse(e.0));
    let busy = extra.iter().any(|(_, p)| is_terminating(p));
    for (_, p) in extra.iter().filter(|(_, p)| !is_terminating(p)) {
        if busy && !parallel {
            break;
        }
        let mut p = p.clone();
        let pod_name = p.metadata.name.clone();
        changed |= delete_pod(c, store, &mut p, now);
        c.events.record(
            &key,
            EventType::Normal,
            "SuccessfulDelete",
            "statefulset-controller",
            format!("delete Pod {pod_name} in StatefulSet {name} successful"),
            now,
        );
        if !parallel {
            break;
        }
    }
    changed | update_status(c, store, sts, &revision, now)
}

fn update_status(
    c: &mut Controllers,
    store: &mut dyn ObjectStore,
    sts: &StatefulSet,
    revision: &str,
    now: SimTime,
) -> bool {
    let ns = ns_of(&sts.metadata);
    let active: Vec<&Pod> = store
        .owned(Kind::Pod, ns, "StatefulSet", &sts.metadata.name)
        .into_iter()
        .filter_map(Object::as_pod)
        .filter(|p| pods::is_active(p))
        .collect();
    let ready = active.iter().filter(|p| pods::is_ready(p)).count();
    let mut m = Map::new();
    m.insert("availableReplicas".into(), json!(ready));
    m.insert("collisionCount".into(), json!(0));
    m.insert("currentReplicas".into(), json!(active.len()));
    m.insert("currentRevision".into(), json!(revision));
    m.insert("observedGeneration".into(), json!(sts.metadata.generation.unwrap_or(1)));
    if ready > 0 {
        m.insert("readyReplicas".into(), json!(ready));
    }
    m.insert("replicas".into(), json!(active.len()));
    m.insert("updateRevision".into(), json!(revision));
    m.insert("updatedReplicas".into(), json!(active.len()));
    let status = Some(Value::Object(m));
    if status == sts.status {
        return false;
    }
    let key = ObjectKey::new(Kind::StatefulSet, ns, &sts.metadata.name);
    c.set_status(store, &key, crate::api::ObjectStatus::Workload(status), now)
}
