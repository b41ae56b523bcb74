//! Shared helpers for the controller and kubectl integration tests (included with `mod`).
#![allow(dead_code)]

use sim_core::{SimDuration, SimRng, SimTime};
use sim_k8s::api::{Kind, Node, NodeAddress, NodeAddressType, NodeSpec, NodeStatus, Object, ObjectMeta, Pod};
use sim_k8s::apiserver::{ApiServer, ApiServerConfig};
use sim_k8s::controllers::{Controllers, ObjectStore};

pub type Store = ApiServer;

pub fn put(store: &mut Store, obj: Object, now: SimTime) {
    ObjectStore::create(store, obj, now).unwrap();
}

pub fn update(store: &mut Store, obj: Object, now: SimTime) {
    ObjectStore::update(store, obj, now).unwrap();
}

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
    let mut s = ApiServer::new(ApiServerConfig::default(), &SimRng::new(99));
    let now = SimTime::ZERO;
    put(&mut s, node("control-plane", "172.18.0.2", "10.244.0.0/24", true), now);
    for i in 1..=workers {
        let name = if i == 1 { "worker".to_string() } else { format!("worker{i}") };
        put(&mut s, node(&name, &format!("172.18.0.{}", i + 2), &format!("10.244.{i}.0/24"), false), now);
    }
    s
}

pub fn apply_yaml(store: &mut Store, yaml: &str, now: SimTime) {
    let out = sim_k8s::manifest::load_str("test.yaml", yaml);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    for o in out.objects {
        put(store, o.value, now);
    }
}

/// Runs the controllers, following wake-ups, until `until`.
pub fn run_until(c: &mut Controllers, store: &mut Store, from: SimTime, until: SimTime) -> SimTime {
    let mut now = from;
    loop {
        let r = c.reconcile(store, now);
        assert!(c.errors().is_empty(), "store rejected controller writes: {:?}", c.errors());
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
    sim_k8s::controllers::list_pods(store)
}

pub fn get<'a>(store: &'a Store, kind: Kind, ns: &str, name: &str) -> Option<&'a Object> {
    store.get_named(kind, ns, name)
}
