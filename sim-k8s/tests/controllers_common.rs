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
    Object::Node(Box::new(Node {
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
    }))
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

/// A store, its controllers and a clock, driven by kubectl command lines.
pub struct World {
    /// The API server.
    pub store: ApiServer,
    /// The controllers.
    pub c: Controllers,
    /// Simulated now.
    pub now: SimTime,
}

/// The repaired article manifests.
pub fn articles() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/manifests/articles")
}

impl World {
    /// A settled cluster with `workers` worker nodes.
    pub fn new(workers: usize) -> Self {
        let mut w =
            World { store: cluster(workers), c: Controllers::new(&SimRng::new(42)), now: SimTime::ZERO };
        w.settle(0);
        w
    }

    /// Runs a kubectl command line.
    pub fn run(&mut self, line: &str) -> sim_k8s::kubectl::RunResult {
        let dir = articles();
        let reader = move |p: &str, recursive: bool| sim_k8s::kubectl::read_manifest_path(&dir, p, recursive);
        let mut k = sim_k8s::kubectl::Kubectl {
            store: &mut self.store,
            now: self.now,
            files: &reader,
            events: self.c.events(),
        };
        k.run(line)
    }

    /// Runs a command line kubectl itself executes, then lets the controllers react.
    pub fn k(&mut self, line: &str) -> sim_k8s::kubectl::KubectlOutput {
        let out = match self.run(line) {
            sim_k8s::kubectl::RunResult::Done(o) => o,
            sim_k8s::kubectl::RunResult::Delegated(c) => panic!("delegated: {c:?}"),
        };
        // Controllers react to every write at the same instant.
        self.settle(0);
        out
    }

    /// Advances simulated time by `secs`, running the controllers at every wake-up.
    pub fn settle(&mut self, secs: u64) {
        let until = self.now.saturating_add(SimDuration::from_secs(secs));
        self.now = run_until(&mut self.c, &mut self.store, self.now, until);
    }
}

/// The output of a command that must succeed.
pub fn stdout(o: &sim_k8s::kubectl::KubectlOutput) -> String {
    assert_eq!(o.exit_code, 0, "stderr: {}", o.stderr);
    o.stdout.clone()
}
