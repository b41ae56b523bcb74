//! The Deployment controller (pkg/controller/deployment): one ReplicaSet per pod template,
//! named `<deployment>-<pod-template-hash>`, carrying the `pod-template-hash` label in its
//! selector and template; the current ReplicaSet gets `spec.replicas`, older ones are scaled to
//! zero; `status` (replicas, updated/ready/available counts, Available and Progressing
//! conditions) is aggregated from the ReplicaSets. Emits `ScalingReplicaSet` events.
//! Template changes roll out with RollingUpdate (maxSurge/maxUnavailable, default 25%) or
//! Recreate arithmetic. Left out: proportional scaling mid-rollout, revision history pruning,
//! pausing, progress deadlines.

use std::borrow::Cow;
use std::rc::Rc;

use serde_json::Value;
use sim_core::SimTime;

use super::names::pod_template_hash;
use super::pods::controller_ref;
use super::store::timestamp;
use super::watch::{dirty_keys, owner_or_self};
use super::{Controllers, EventType, ObjectStore, ns_of};
use crate::api::workload::ReplicaSetSpec;
use crate::api::{
    Deployment, DeploymentCondition, DeploymentStatus, Kind, Object, ObjectKey, ObjectMeta, ReplicaSet,
    ReplicaSetStatus,
};

/// The label (and selector key) distinguishing a Deployment's ReplicaSets.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// The revision annotation on Deployments and ReplicaSets.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";

/// The ReplicaSets `d` controls, in name order.
/// The ReplicaSets a Deployment controls, shared with the store (held across writes).
fn owned_replicasets(store: &dyn ObjectStore, ns: &str, name: &str) -> Vec<Rc<Object>> {
    store.owned_shared(Kind::ReplicaSet, ns, "Deployment", name)
}

/// Reconciles the Deployments a change touched (the Deployment, or a ReplicaSet it controls).
pub fn reconcile(c: &mut Controllers, store: &mut dyn ObjectStore, now: SimTime) -> bool {
    let mut changed = false;
    let changes = c.watches.deployment.poll(store);
    let watch = &mut c.watches.deployment;
    let dirty = dirty_keys(store, changes, Kind::Deployment, |ch, out| {
        if !watch.own_change(ch) {
            owner_or_self(store, ch, Kind::Deployment, Kind::ReplicaSet, out)
        }
    });
    for key in dirty {
        let Some(shared) = store.shared(&key) else { continue };
        let Object::Deployment(d) = shared.as_ref() else { continue };
        let ns = ns_of(&d.metadata).to_string();
        let hash = template_hash(c, d);
        let rs_name = format!("{}-{}", d.metadata.name, hash);
        let want = d.spec.replicas.unwrap_or(1).max(0);
        let owned_rs = owned_replicasets(store, &ns, &d.metadata.name);
        let owned: Vec<&ReplicaSet> = owned_rs.iter().filter_map(|o| o.as_replica_set()).collect();
        let revision = owned
            .iter()
            .filter_map(|r| r.metadata.annotations.get(REVISION_ANNOTATION)?.parse::<i64>().ok())
            .max()
            .unwrap_or(0);
        let current = owned.iter().find(|r| r.metadata.name == rs_name).copied();
        let mut olds: Vec<&ReplicaSet> =
            owned.iter().filter(|r| r.metadata.name != rs_name).copied().collect();
        // Oldest first, as the controller scales old ReplicaSets down.
        olds.sort_by(|a, b| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
                .then(a.metadata.name.cmp(&b.metadata.name))
        });
        let plan = plan_rollout(d, want, current, &olds);
        let dkey = ObjectKey::new(Kind::Deployment, &ns, &d.metadata.name);
        let scale = |c: &mut Controllers,
                     store: &mut dyn ObjectStore,
                     rs: ReplicaSet,
                     from: i32,
                     to: i32,
                     create: bool| {
            let name = rs.metadata.name.clone();
            if c.write(store, Object::ReplicaSet(Box::new(rs)), now, create) {
                if create && to == 0 {
                    return true;
                }
                let dir = if to > from || create { "up" } else { "down" };
                c.events.record(
                    &dkey,
                    EventType::Normal,
                    "ScalingReplicaSet",
                    "deployment-controller",
                    format!("Scaled {dir} replica set {name} from {from} to {to}"),
                    now,
                );
                true
            } else {
                false
            }
        };
        // Old ReplicaSets first (Recreate needs them gone before the new one grows).
        for (old, to) in olds.iter().zip(&plan.olds) {
            let from = old.spec.replicas.unwrap_or(1);
            if from != *to {
                let mut rs = (*old).clone();
                rs.spec.replicas = Some(*to);
                changed |= scale(c, store, rs, from, *to, false);
            }
        }
        match current {
            None => {
                let rs = new_replicaset(d, &ns, &rs_name, &hash, plan.new, revision + 1);
                changed |= scale(c, store, rs, 0, plan.new, true);
            }
            Some(rs) if rs.spec.replicas.unwrap_or(1) != plan.new => {
                let from = rs.spec.replicas.unwrap_or(1);
                let mut rs = rs.clone();
                rs.spec.replicas = Some(plan.new);
                changed |= scale(c, store, rs, from, plan.new, false);
            }
            Some(_) => {}
        }
        changed |= update_status(c, store, &dkey, shared, &ns, &rs_name, now);
    }
    changed
}

/// `d`'s pod-template-hash, computed once per generation.
fn template_hash(c: &mut Controllers, d: &Deployment) -> String {
    let Some(generation) = d.metadata.generation.filter(|_| !d.metadata.uid.is_empty()) else {
        return pod_template_hash(&d.spec.template);
    };
    if let Some((g, hash)) = c.template_hashes.get(d.metadata.uid.as_str())
        && *g == generation
    {
        return hash.clone();
    }
    let hash = pod_template_hash(&d.spec.template);
    c.template_hashes.insert(d.metadata.uid.clone(), (generation, hash.clone()));
    hash
}

/// Replica targets for one sync: the new ReplicaSet and each old one (same order).
struct Plan {
    new: i32,
    olds: Vec<i32>,
}

/// `intstr.GetScaledValueFromIntOrPercent` for maxSurge (round up) / maxUnavailable (down).
fn scaled(v: Option<&Value>, total: i32, round_up: bool) -> i32 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0) as i32,
        Some(Value::String(s)) if s.ends_with('%') => {
            let pct: i64 = s.trim_end_matches('%').parse().unwrap_or(25);
            let x = i64::from(total) * pct;
            (if round_up { (x + 99) / 100 } else { x / 100 }) as i32
        }
        _ => {
            let x = i64::from(total) * 25;
            (if round_up { (x + 99) / 100 } else { x / 100 }) as i32
        }
    }
}

fn status_count(rs: &ReplicaSet, field: fn(&ReplicaSetStatus) -> Option<i64>) -> i32 {
    rs.status.as_ref().and_then(field).unwrap_or(0) as i32
}

/// The rollout arithmetic of `rolling.go` / `recreate.go`: with RollingUpdate the new
/// ReplicaSet grows while the total stays within `replicas + maxSurge`, and old ones shrink
/// while at least `replicas - maxUnavailable` pods stay available; Recreate empties the old
/// ReplicaSets and grows the new one only once their pods are gone.
fn plan_rollout(d: &Deployment, want: i32, current: Option<&ReplicaSet>, olds: &[&ReplicaSet]) -> Plan {
    let spec = |r: &ReplicaSet| r.spec.replicas.unwrap_or(1);
    let new_spec = current.map(spec).unwrap_or(0);
    let old_specs: Vec<i32> = olds.iter().map(|r| spec(r)).collect();
    let strategy = d.spec.strategy.as_ref();
    if strategy.and_then(|s| s.get("type")).and_then(Value::as_str) == Some("Recreate") {
        let old_pods: i32 = olds.iter().map(|r| status_count(r, |s| s.replicas)).sum();
        let new = if old_pods == 0 { want } else { new_spec.min(want) };
        return Plan { new, olds: vec![0; olds.len()] };
    }
    if old_specs.iter().all(|s| *s == 0) {
        return Plan { new: want, olds: old_specs };
    }
    let ru = strategy.and_then(|s| s.get("rollingUpdate"));
    let mut surge = scaled(ru.and_then(|r| r.get("maxSurge")), want, true);
    let unavailable = scaled(ru.and_then(|r| r.get("maxUnavailable")), want, false);
    if surge == 0 && unavailable == 0 {
        surge = 1;
    }
    let total: i32 = new_spec + old_specs.iter().sum::<i32>();
    let new =
        if total >= want + surge { new_spec.min(want) } else { (new_spec + want + surge - total).min(want) };
    let available: i32 = current.map(|r| status_count(r, |s| s.available_replicas)).unwrap_or(0)
        + olds.iter().map(|r| status_count(r, |s| s.available_replicas)).sum::<i32>();
    let new_unavailable =
        (new_spec - current.map(|r| status_count(r, |s| s.available_replicas)).unwrap_or(0)).max(0);
    let mut budget = (available - (want - unavailable) - new_unavailable).max(0);
    let olds = old_specs
        .into_iter()
        .map(|s| {
            let cut = s.min(budget);
            budget -= cut;
            s - cut
        })
        .collect();
    Plan { new, olds }
}

fn new_replicaset(
    d: &Deployment,
    ns: &str,
    name: &str,
    hash: &str,
    replicas: i32,
    revision: i64,
) -> ReplicaSet {
    let mut template = d.spec.template.clone();
    template.metadata.labels.insert(POD_TEMPLATE_HASH.into(), hash.into());
    let mut selector = d.spec.selector.clone().unwrap_or_default();
    selector.match_labels.insert(POD_TEMPLATE_HASH.into(), hash.into());
    let mut labels = d.spec.template.metadata.labels.clone();
    labels.insert(POD_TEMPLATE_HASH.into(), hash.into());
    let mut annotations = std::collections::BTreeMap::new();
    annotations.insert(REVISION_ANNOTATION.to_string(), revision.to_string());
    annotations.insert("deployment.kubernetes.io/desired-replicas".into(), replicas.to_string());
    annotations.insert("deployment.kubernetes.io/max-replicas".into(), max_replicas(replicas).to_string());
    ReplicaSet {
        api_version: "apps/v1".into(),
        kind: "ReplicaSet".into(),
        metadata: ObjectMeta {
            name: name.into(),
            namespace: ns.into(),
            labels,
            annotations,
            owner_references: vec![controller_ref("apps/v1", "Deployment", &d.metadata)],
            ..Default::default()
        },
        spec: ReplicaSetSpec {
            replicas: Some(replicas),
            selector: Some(selector),
            template,
            min_ready_seconds: None,
        },
        status: None,
    }
}

/// replicas + maxSurge (25%, rounded up), as the annotation records it.
fn max_replicas(replicas: i32) -> i32 {
    replicas + (replicas + 3) / 4
}

/// A ReplicaSet status's `replicas`, `readyReplicas` and `availableReplicas` (0 when absent).
fn replica_counts(status: &Option<ReplicaSetStatus>) -> (i64, i64, i64) {
    let Some(s) = status else { return (0, 0, 0) };
    (s.replicas.unwrap_or(0), s.ready_replicas.unwrap_or(0), s.available_replicas.unwrap_or(0))
}

/// A condition the controller sets: type, status, reason and message (for `Progressing`, the
/// message's tail after the quoted ReplicaSet name).
struct Wanted {
    type_: &'static str,
    status: &'static str,
    reason: &'static str,
    message: &'static str,
}

/// Whether `old`'s conditions are what the controller would write again (generation too): the
/// counts are compared by the caller. A condition is rebuilt unchanged when its status and
/// reason are the same (the transition time is kept, and the update time is set to it) and so
/// is its message. Checked in place, before a new status is built to compare.
fn status_unchanged(
    old: &DeploymentStatus,
    generation: i64,
    available: &Wanted,
    progressing: &Wanted,
    rs_name: &str,
) -> bool {
    if old.observed_generation != Some(generation) || !old.other.is_empty() {
        return false;
    }
    let same = |c: &DeploymentCondition, w: &Wanted, message: &dyn Fn(&str) -> bool| {
        c.type_ == w.type_
            && c.status == w.status
            && c.reason.as_deref() == Some(w.reason)
            && c.message.as_deref().is_some_and(message)
            && c.last_transition_time.is_some()
            && c.last_update_time == c.last_transition_time
    };
    let names_rs = |m: &str, tail: &str| {
        m.strip_prefix("ReplicaSet \"")
            .and_then(|r| r.strip_prefix(rs_name))
            .and_then(|r| r.strip_prefix('"'))
            .is_some_and(|r| r == tail)
    };
    match old.conditions.as_deref() {
        Some([a, p]) => {
            same(a, available, &|m| m == available.message)
                && same(p, progressing, &|m| names_rs(m, progressing.message))
        }
        _ => false,
    }
}

fn update_status(
    c: &mut Controllers,
    store: &mut dyn ObjectStore,
    key: &ObjectKey,
    shared: Rc<Object>,
    ns: &str,
    rs_name: &str,
    now: SimTime,
) -> bool {
    let Object::Deployment(d) = shared.as_ref() else { return false };
    let owned_rs = owned_replicasets(store, ns, &d.metadata.name);
    let owned: Vec<&ReplicaSet> = owned_rs.iter().filter_map(|o| o.as_replica_set()).collect();
    let (mut replicas, mut ready, mut available, mut updated) = (0, 0, 0, 0);
    let mut counted_new = false;
    for r in &owned {
        let (r_replicas, r_ready, r_available) = replica_counts(&r.status);
        replicas += r_replicas;
        ready += r_ready;
        available += r_available;
        if !counted_new && r.metadata.name == rs_name {
            updated = r_replicas;
            counted_new = true;
        }
    }
    let want = i64::from(d.spec.replicas.unwrap_or(1).max(0));
    let max_unavailable = want / 4; // 25% rounded down
    let is_available = available >= want - max_unavailable;
    let generation = d.metadata.generation.unwrap_or(1);
    let complete = updated == want && available == want && replicas == want;
    let counted = |v: i64| (v > 0).then_some(v);
    let available_cond = if is_available {
        Wanted {
            type_: "Available",
            status: "True",
            reason: "MinimumReplicasAvailable",
            message: "Deployment has minimum availability.",
        }
    } else {
        Wanted {
            type_: "Available",
            status: "False",
            reason: "MinimumReplicasUnavailable",
            message: "Deployment does not have minimum availability.",
        }
    };
    let progressing_cond = if complete {
        Wanted {
            type_: "Progressing",
            status: "True",
            reason: "NewReplicaSetAvailable",
            message: " has successfully progressed.",
        }
    } else {
        Wanted {
            type_: "Progressing",
            status: "True",
            reason: "ReplicaSetUpdated",
            message: " is progressing.",
        }
    };
    // The counts first, compared in place with the old status before any condition is built.
    let mut status = DeploymentStatus {
        available_replicas: counted(available),
        conditions: None,
        observed_generation: Some(generation),
        ready_replicas: counted(ready),
        replicas: counted(replicas),
        unavailable_replicas: counted(replicas - available),
        updated_replicas: counted(updated),
        other: Default::default(),
    };
    if let Some(old) = &d.status
        && (
            old.available_replicas,
            old.ready_replicas,
            old.replicas,
            old.unavailable_replicas,
            old.updated_replicas,
        ) == (
            status.available_replicas,
            status.ready_replicas,
            status.replicas,
            status.unavailable_replicas,
            status.updated_replicas,
        )
        && status_unchanged(old, generation, &available_cond, &progressing_cond, rs_name)
    {
        return false;
    }
    let old_conditions = d.status.as_ref().map(|s| s.conditions()).unwrap_or_default();
    let cond = |w: &Wanted, message: String| {
        let prev = old_conditions.iter().find(|c| c.type_ == w.type_);
        let same = prev.is_some_and(|p| p.status == w.status && p.reason.as_deref() == Some(w.reason));
        let ts = prev
            .filter(|_| same)
            .and_then(|p| p.last_transition_time.clone())
            .unwrap_or_else(|| timestamp(now));
        DeploymentCondition {
            type_: Cow::Borrowed(w.type_),
            status: Cow::Borrowed(w.status),
            last_transition_time: Some(ts.clone()),
            last_update_time: Some(ts),
            reason: Some(Cow::Borrowed(w.reason)),
            message: Some(message),
        }
    };
    status.conditions = Some(vec![
        cond(&available_cond, available_cond.message.to_string()),
        cond(&progressing_cond, format!("ReplicaSet \"{rs_name}\"{}", progressing_cond.message)),
    ]);
    let status = Some(status);
    if status == d.status {
        return false;
    }
    // The revision annotation goes on with a whole-object update; once it is there, the
    // status goes through the status subresource, as upstream's syncStatusOnly does.
    let written = if d.metadata.annotations.contains_key(REVISION_ANNOTATION) {
        drop(shared);
        c.set_status(store, key, crate::api::ObjectStatus::Deployment(status), now)
    } else {
        let mut d = d.with_status(status);
        let rev = owned
            .iter()
            .find(|r| r.metadata.name == rs_name)
            .and_then(|r| r.metadata.annotations.get(REVISION_ANNOTATION).cloned())
            .unwrap_or_else(|| "1".into());
        d.metadata.annotations.insert(REVISION_ANNOTATION.into(), rev);
        c.write(store, Object::Deployment(Box::new(d)), now, false)
    };
    if written {
        c.watches.deployment.wrote(store, key);
    }
    written
}
