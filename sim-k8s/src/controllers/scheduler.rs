//! The default scheduler, reduced to what decides placement in small labs: a pod with
//! `spec.nodeName` is already bound; otherwise nodes are filtered by `unschedulable`,
//! `nodeSelector` and NoSchedule/NoExecute taints the pod does not tolerate (kubeadm's
//! `node-role.kubernetes.io/control-plane:NoSchedule` included), then the node with the fewest
//! pods wins, ties broken by node order — a deterministic stand-in for the spread scoring.
//! With no fit the pod stays Pending with `PodScheduled=False/Unschedulable` and a
//! `FailedScheduling` event worded like kube-scheduler's (`0/3 nodes are available: ...`).
//! Left out: resources, affinity, topology spread constraints, preemption.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sim_core::SimTime;

use super::pods::{is_terminal, is_terminating};
use super::store::timestamp;
use super::watch::dirty_keys;
use super::{Controllers, EventType, ObjectStore, list_nodes};
use crate::api::{Kind, Node, Object, ObjectKey, PodCondition, PodSpec, PodStatus, Taint};

/// One toleration (`spec.tolerations[]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Toleration {
    /// Taint key (empty with Exists matches every key).
    pub key: String,
    /// `Equal` (default) or `Exists`.
    pub operator: String,
    /// Value for Equal.
    pub value: String,
    /// Effect (empty matches every effect).
    pub effect: String,
}

impl Toleration {
    /// `v1.Toleration.ToleratesTaint`.
    pub fn tolerates(&self, t: &Taint) -> bool {
        if !self.effect.is_empty() && self.effect != t.effect {
            return false;
        }
        if !self.key.is_empty() && self.key != t.key {
            return false;
        }
        match self.operator.as_str() {
            "Exists" => true,
            "" | "Equal" => self.value == t.value.clone().unwrap_or_default(),
            _ => false,
        }
    }
}

/// Reads the pod's tolerations (kept as opaque JSON by the API types).
pub fn parse_tolerations(spec: &PodSpec) -> Vec<Toleration> {
    let Some(Value::Array(items)) = &spec.tolerations else { return Vec::new() };
    let s = |v: &Value, f: &str| v.get(f).and_then(Value::as_str).unwrap_or("").to_string();
    items
        .iter()
        .map(|v| Toleration {
            key: s(v, "key"),
            operator: s(v, "operator"),
            value: s(v, "value"),
            effect: s(v, "effect"),
        })
        .collect()
}

/// Why a node was filtered out; the strings are kube-scheduler's plugin messages.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unfit {
    /// Cordoned.
    Unschedulable,
    /// nodeSelector mismatch.
    Selector,
    /// An untolerated NoSchedule/NoExecute taint.
    Taint(String),
}

impl Unfit {
    fn message(&self) -> String {
        match self {
            Unfit::Unschedulable => "node(s) were unschedulable".into(),
            Unfit::Selector => "node(s) didn't match Pod's node affinity/selector".into(),
            Unfit::Taint(t) => format!("node(s) had untolerated taint {t}"),
        }
    }
}

/// Whether a pod with `spec` and `tolerations` fits `node`; filters run in the default
/// plugin order (NodeUnschedulable, TaintToleration, NodeAffinity) and the first failure counts.
pub fn node_fits(node: &Node, spec: &PodSpec, tolerations: &[Toleration]) -> Result<(), Unfit> {
    if node.spec.unschedulable == Some(true)
        && !tolerations.iter().any(|t| {
            t.tolerates(&Taint {
                key: "node.kubernetes.io/unschedulable".into(),
                effect: "NoSchedule".into(),
                ..Default::default()
            })
        })
    {
        return Err(Unfit::Unschedulable);
    }
    for taint in &node.spec.taints {
        if (taint.effect == "NoSchedule" || taint.effect == "NoExecute")
            && !tolerations.iter().any(|t| t.tolerates(taint))
        {
            return Err(Unfit::Taint(format!(
                "{{{}: {}}}",
                taint.key,
                taint.value.clone().unwrap_or_default()
            )));
        }
    }
    if !spec.node_selector.iter().all(|(k, v)| node.metadata.labels.get(k) == Some(v)) {
        return Err(Unfit::Selector);
    }
    Ok(())
}

/// Binds every unbound pending pod, or marks it unschedulable.
pub fn reconcile(c: &mut Controllers, store: &mut dyn ObjectStore, now: SimTime) -> bool {
    // Pods to place: unbound pods a change touched; all of them when a node changed (a node
    // that fits may have appeared). A pod no change touched was unschedulable before and
    // still is: fits depend only on the nodes.
    let changes = c.watches.scheduler.poll(store);
    let changes =
        if changes.is_some_and(|cs| cs.iter().any(|ch| ch.key.kind == Kind::Node)) { None } else { changes };
    let pending_pod = |o: &Object| {
        o.as_pod().is_some_and(|p| p.spec.node_name.is_empty() && !is_terminal(p) && !is_terminating(p))
    };
    let pending = dirty_keys(store, changes, Kind::Pod, |ch, out| {
        if ch.key.kind == Kind::Pod && store.get_changed(ch).is_some_and(pending_pod) {
            out.insert(ch.key.clone());
        }
    });
    let pending: Vec<ObjectKey> =
        pending.into_iter().filter(|k| store.get(k).is_some_and(pending_pod)).collect();
    if pending.is_empty() {
        return false;
    }
    let nodes = list_nodes(store);
    let mut load: Vec<usize> = nodes
        .iter()
        .map(|n| store.pods_on(&n.metadata.name).into_iter().filter(|p| !is_terminal(p)).count())
        .collect();
    // Per (tolerations, nodeSelector): the fitting nodes by (load, node order), and why the
    // others do not fit — computed once per pass, not once per pod.
    type Signature = (Vec<Toleration>, BTreeMap<String, String>);
    /// Fitting nodes by (load, index), and unfit counts by reason.
    type Fits = (BTreeSet<(usize, usize)>, BTreeMap<String, usize>);
    let mut fits: BTreeMap<Signature, Fits> = BTreeMap::new();
    let mut changed = false;
    for key in pending {
        let Some(Object::Pod(pod)) = store.get(&key) else { continue };
        let tolerations = parse_tolerations(&pod.spec);
        let sig = (tolerations, pod.spec.node_selector.clone());
        let (candidates, unfit) = fits.entry(sig).or_insert_with_key(|(tolerations, _)| {
            let mut ok = BTreeSet::new();
            let mut unfit: BTreeMap<String, usize> = BTreeMap::new();
            for (i, node) in nodes.iter().enumerate() {
                match node_fits(node, &pod.spec, tolerations) {
                    Ok(()) => {
                        ok.insert((load[i], i));
                    }
                    Err(u) => *unfit.entry(u.message()).or_default() += 1,
                }
            }
            (ok, unfit)
        });
        let best = candidates.first().map(|(_, i)| *i);
        let unfit = unfit.clone();
        if let Some(i) = best {
            // The node takes one more pod in every signature's ordering.
            for (set, _) in fits.values_mut() {
                if set.remove(&(load[i], i)) {
                    set.insert((load[i] + 1, i));
                }
            }
            load[i] += 1;
        }
        let best = best.and_then(|i| nodes.get(i).map(|n| (n, 0usize)));
        match best {
            Some((node, _)) => {
                let msg =
                    format!("Successfully assigned {}/{} to {}", key.namespace, key.name, node.metadata.name);
                if c.bind(store, &key, &node.metadata.name, now) {
                    changed = true;
                    c.events.record(&key, EventType::Normal, "Scheduled", "default-scheduler", msg, now);
                }
            }
            None => {
                let msg = failed_message(nodes.len(), &unfit);
                let cond = PodCondition {
                    type_: "PodScheduled".into(),
                    status: "False".into(),
                    reason: Some("Unschedulable".into()),
                    message: Some(msg.clone()),
                    last_transition_time: Some(timestamp(now)),
                    ..Default::default()
                };
                let prev = store.get(&key).and_then(|o| match o {
                    Object::Pod(p) => p
                        .status
                        .as_ref()
                        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "PodScheduled")),
                    _ => None,
                });
                if prev.as_ref().is_some_and(|p| p.message == cond.message && p.status == "False") {
                    continue;
                }
                let mut pod = pod.clone();
                let status = pod.status.get_or_insert_with(PodStatus::default);
                status.conditions.retain(|c| c.type_ != "PodScheduled");
                status.phase = Some("Pending".into());
                status.conditions.push(cond);
                if c.write(store, Object::Pod(pod), now, false) {
                    changed = true;
                    c.events.record(
                        &key,
                        EventType::Warning,
                        "FailedScheduling",
                        "default-scheduler",
                        msg,
                        now,
                    );
                }
            }
        }
    }
    changed
}

/// `0/3 nodes are available: 1 node(s) had untolerated taint {...}, 2 node(s) didn't match ...`
fn failed_message(total: usize, unfit: &BTreeMap<String, usize>) -> String {
    if total == 0 {
        return "no nodes available to schedule pods".into();
    }
    // kube-scheduler sorts the "<count> <reason>" strings.
    let mut reasons: Vec<String> = unfit.iter().map(|(m, n)| format!("{n} {m}")).collect();
    reasons.sort();
    format!(
        "0/{total} nodes are available: {}. preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling.",
        reasons.join(", ")
    )
}
