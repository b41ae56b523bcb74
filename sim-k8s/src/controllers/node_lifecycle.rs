//! Node lifecycle (pkg/controller/nodelifecycle + the taint manager) and kubeadm's node setup:
//! nodes report `Ready=True` while their kubelet runs; after the lead says a node went down, the
//! node stays Ready until `node-monitor-grace-period` (40s) passes without status, then turns
//! `Ready=Unknown` (NotReady), gets the `node.kubernetes.io/unreachable` NoSchedule/NoExecute
//! taints and its pods are marked not ready (so endpoints drop them); pods without a toleration
//! are evicted after `tolerationSeconds` (300s), staying Terminating because the kubelet is
//! gone. `node_lost` removes a node's pods at once (force deletion). Nodes labelled
//! `node-role.kubernetes.io/control-plane` get kubeadm's NoSchedule taint on first sight.
//! Left out: zones, rate-limited eviction, lease objects, NodeNetworkUnavailable.

use serde_json::{Value, json};
use sim_core::SimTime;

use super::pods::{is_terminating, mark_terminating};
use super::store::timestamp;
use super::watch::dirty_keys;
use super::{Controllers, ObjectStore, Wakeups, ns_of};
use crate::api::{Kind, Node, NodeStatus, Object, ObjectKey, Pod, Taint};

/// kubeadm's control-plane role label and taint key.
pub const CONTROL_PLANE: &str = "node-role.kubernetes.io/control-plane";
/// Taint of nodes whose kubelet stopped reporting.
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

/// The kubelet's pressure conditions: (type, healthy reason, healthy message).
const PRESSURE: [(&str, &str, &str); 3] = [
    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
];

/// Controller-side state of a node.
#[derive(Clone, Debug, Default)]
pub struct NodeRuntime {
    /// When the lead took the node down (kubelet stops reporting).
    pub down_since: Option<SimTime>,
    /// When the node turned NotReady.
    pub not_ready_since: Option<SimTime>,
    /// Declared lost: NotReady at once, no grace period.
    pub lost: bool,
    seen: bool,
}

impl Controllers {
    /// The node's kubelet stops (power loss, partition): NotReady after the grace period.
    pub fn node_down(&mut self, node: &str, now: SimTime) {
        self.touch();
        let rt = self.nodes.entry(node.to_string()).or_default();
        if rt.down_since.is_none() {
            rt.down_since = Some(now);
        }
    }

    /// The node's kubelet is back.
    pub fn node_up(&mut self, node: &str) {
        self.touch();
        let rt = self.nodes.entry(node.to_string()).or_default();
        rt.down_since = None;
        rt.not_ready_since = None;
        rt.lost = false;
    }

    /// The node is gone for good: its pods are force-deleted now (workload controllers
    /// replace them on the next pass).
    pub fn node_lost(&mut self, store: &mut dyn ObjectStore, node: &str, now: SimTime) -> bool {
        self.node_down(node, now);
        if let Some(rt) = self.nodes.get_mut(node) {
            rt.lost = true;
        }
        let mut changed = false;
        let pods: Vec<Pod> = store.pods_on(node).into_iter().cloned().collect();
        for p in pods {
            let key = ObjectKey::new(Kind::Pod, ns_of(&p.metadata), &p.metadata.name);
            changed |= self.remove(store, &key, now);
            self.pods.remove(&key);
        }
        changed
    }

    /// True if the node is currently considered NotReady.
    pub fn node_not_ready(&self, node: &str) -> bool {
        self.nodes.get(node).is_some_and(|n| n.not_ready_since.is_some())
    }
}

fn ready_condition(prev: Option<&Value>, ready: bool, now: SimTime) -> Value {
    let (status, reason, message) = if ready {
        ("True", "KubeletReady", "kubelet is posting ready status")
    } else {
        ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    };
    let ts = match prev {
        Some(p) if p.get("status").and_then(Value::as_str) == Some(status) => {
            p.get("lastTransitionTime").cloned().unwrap_or_else(|| json!(timestamp(now)))
        }
        _ => json!(timestamp(now)),
    };
    json!({"lastHeartbeatTime": ts, "lastTransitionTime": ts, "message": message, "reason": reason, "status": status, "type": "Ready"})
}

/// Updates node conditions/taints and evicts pods from unreachable nodes.
pub fn reconcile(c: &mut Controllers, store: &mut dyn ObjectStore, now: SimTime, wake: &mut Wakeups) -> bool {
    let mut changed = false;
    let grace = c.config.node_monitor_grace_period;
    let eviction = c.config.eviction_timeout;
    let changes = c.watches.node_lifecycle.poll(store);
    let mut dirty = dirty_keys(store, changes, Kind::Node, |ch, out| {
        if ch.key.kind == Kind::Node {
            out.insert(ch.key.clone());
        }
    });
    // Nodes that are (or were) down have timers: the grace period, then eviction.
    for (name, rt) in &c.nodes {
        if rt.down_since.is_some() || rt.not_ready_since.is_some() {
            dirty.insert(ObjectKey::new(Kind::Node, "", name));
        }
    }
    for key in dirty {
        let Some(Object::Node(node)) = store.get(&key).cloned() else { continue };
        let name = node.metadata.name.clone();
        let rt = c.nodes.entry(name.clone()).or_default();
        let mut n: Node = (*node).clone();
        if !rt.seen {
            rt.seen = true;
            if c.config.taint_control_plane
                && n.metadata.labels.contains_key(CONTROL_PLANE)
                && !n.spec.taints.iter().any(|t| t.key == CONTROL_PLANE)
            {
                n.spec.taints.push(Taint {
                    key: CONTROL_PLANE.into(),
                    value: None,
                    effect: "NoSchedule".into(),
                    time_added: None,
                });
            }
        }
        let mut unreachable = false;
        if let Some(down) = rt.down_since {
            let at = if rt.lost { down } else { down.saturating_add(grace) };
            if now >= at {
                unreachable = true;
                if rt.not_ready_since.is_none() {
                    rt.not_ready_since = Some(at);
                }
            } else {
                wake.at(at);
            }
        }
        let not_ready_since = rt.not_ready_since;
        let status = n.status.get_or_insert_with(NodeStatus::default);
        let mut conds = status.conditions.as_ref().and_then(Value::as_array).cloned().unwrap_or_default();
        let pos = conds.iter().position(|c| c.get("type").and_then(Value::as_str) == Some("Ready"));
        let new = ready_condition(pos.and_then(|i| conds.get(i)), !unreachable, now);
        match pos {
            Some(i) => conds[i] = new,
            None => conds.push(new),
        }
        // The kubelet's pressure conditions come before Ready (pressure is not modelled).
        for (i, (t, reason, msg)) in PRESSURE.iter().enumerate() {
            let (st, reason, msg) = if unreachable {
                ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
            } else {
                ("False", *reason, *msg)
            };
            let pos = conds.iter().position(|c| c.get("type").and_then(Value::as_str) == Some(t));
            let ts = match pos.and_then(|p| conds.get(p)) {
                Some(p) if p.get("status").and_then(Value::as_str) == Some(st) => {
                    p.get("lastTransitionTime").cloned().unwrap_or_else(|| json!(timestamp(now)))
                }
                _ => json!(timestamp(now)),
            };
            let cond = json!({"lastHeartbeatTime": ts, "lastTransitionTime": ts, "message": msg, "reason": reason, "status": st, "type": t});
            match pos {
                Some(p) => conds[p] = cond,
                None => conds.insert(i.min(conds.len()), cond),
            }
        }
        status.conditions = Some(Value::Array(conds));
        if status.node_info.is_none() {
            status.node_info = Some(c.config.node_info.clone());
        }
        n.spec.taints.retain(|t| t.key != UNREACHABLE || unreachable);
        if unreachable {
            for effect in ["NoSchedule", "NoExecute"] {
                if !n.spec.taints.iter().any(|t| t.key == UNREACHABLE && t.effect == effect) {
                    n.spec.taints.push(Taint {
                        key: UNREACHABLE.into(),
                        value: None,
                        effect: effect.into(),
                        time_added: (effect == "NoExecute").then(|| timestamp(now)),
                    });
                }
            }
        }
        if n != *node {
            changed |= c.write(store, Object::Node(Box::new(n)), now, false);
        }
        if let Some(since) = not_ready_since {
            changed |= mark_pods(c, store, &name, since.saturating_add(eviction), now, wake);
        }
    }
    changed
}

/// Pods on a NotReady node: Ready=False now (`MarkPodsNotReady`), evicted at `evict_at`.
fn mark_pods(
    c: &mut Controllers,
    store: &mut dyn ObjectStore,
    node: &str,
    evict_at: SimTime,
    now: SimTime,
    wake: &mut Wakeups,
) -> bool {
    let mut changed = false;
    let pods: Vec<Pod> = store.pods_on(node).into_iter().cloned().collect();
    for pod in pods {
        let mut p = pod.clone();
        if let Some(s) = p.status.as_mut() {
            for cond in s.conditions.iter_mut().filter(|c| c.type_ == "Ready" && c.status == "True") {
                cond.status = "False".into();
                cond.last_transition_time = Some(timestamp(now));
                cond.reason = None;
            }
        }
        let tolerates_forever = p.spec.tolerations.as_ref().and_then(Value::as_array).is_some_and(|ts| {
            ts.iter().any(|t| {
                t.get("key").and_then(Value::as_str) == Some(UNREACHABLE)
                    && t.get("tolerationSeconds").is_none()
                    && t.get("effect").and_then(Value::as_str).is_none_or(|e| e == "NoExecute")
            })
        });
        if !tolerates_forever && !is_terminating(&p) {
            if now >= evict_at {
                mark_terminating(&mut p, now, None);
            } else {
                wake.at(evict_at);
            }
        }
        if p != pod {
            changed |= c.write(store, Object::Pod(p), now, false);
        }
    }
    changed
}
