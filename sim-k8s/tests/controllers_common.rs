//! Shared helpers for the controller and kubectl integration tests (included with `mod`).
#![allow(dead_code)]

use std::collections::BTreeMap;

use sim_core::{SimDuration, SimRng, SimTime};
use sim_k8s::api::{
    Kind, Node, NodeAddress, NodeAddressType, NodeSpec, NodeStatus, Object, ObjectKey, ObjectMeta, Pod,
};
use sim_k8s::controllers::{Controllers, ObjectStore};

pub type Store = BTreeMap<ObjectKey, Object>;

pub fn node(name: &str, ip: &str, cidr: &str, control_plane: bool) -> Object {
    let mut meta = ObjectMeta::named("", name);
    meta.labels.insert("kubernetes.io/hostname".into(), name.into());
    if control_plane {
        meta.labels.insert("node-role.kubernetes.io/control-plane".into(), String::new());
    }
    Object::Node(Node {
        api_version: "v1".into(),
        kind: "Node".into(),
        metadata: meta,
        spec: NodeSpec { pod_cidr: Some(cidr.into()), ..Default::default() },
        status: Some(NodeStatus {
            addresses: vec![
                NodeAddress { type_: NodeAddressType::InternalIP, address: ip.into() },
                NodeAddress { type_: NodeAddressType::Hostname, address: name.into() },
            ],
            ..Default::default()
        }),
    })
}

/// A kubeadm-like cluster: one control plane and `workers` workers.
pub fn cluster(workers: usize) -> Store {
    let mut s = Store::new();
    let now = SimTime::ZERO;
    s.create(node("control-plane", "172.18.0.2", "10.244.0.0/24", true), now).unwrap();
    for i in 1..=workers {
        let name = if i == 1 { "worker".to_string() } else { format!("worker{i}") };
        s.create(node(&name, &format!("172.18.0.{}", i + 2), &format!("10.244.{i}.0/24"), false), now)
            .unwrap();
    }
    s
}

pub fn apply_yaml(store: &mut Store, yaml: &str, now: SimTime) {
    let out = sim_k8s::manifest::load_str("test.yaml", yaml);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    for o in out.objects {
        store.create(o.value, now).unwrap();
    }
}

/// Runs the controllers, following wake-ups, until `until`.
pub fn run_until(c: &mut Controllers, store: &mut Store, from: SimTime, until: SimTime) -> SimTime {
    let mut now = from;
    loop {
        let r = c.reconcile(store, now);
        match r.next_wakeup {
            Some(t) if t <= until => now = t,
            _ => return until,
        }
    }
}

pub fn secs(s: u64) -> SimTime {
    SimTime::ZERO.saturating_add(SimDuration::from_secs(s))
}

pub fn controllers(seed: u64) -> Controllers {
    Controllers::new(&SimRng::new(seed))
}

pub fn pods(store: &Store) -> Vec<Pod> {
    store
        .values()
        .filter_map(|o| match o {
            Object::Pod(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

pub fn get<'a>(store: &'a Store, kind: Kind, ns: &str, name: &str) -> Option<&'a Object> {
    store.get(&ObjectKey::new(kind, ns, name))
}
