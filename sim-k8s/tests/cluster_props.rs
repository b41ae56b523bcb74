//! Properties of whole clusters: for random small clusters (1–3 workers, 1–3 nginx
//! Deployments of 1–4 replicas, each behind a ClusterIP or NodePort Service on a random port),
//! after `settle`:
//!
//! - a busybox pod reaches every Service by name (`wget -qO- NAME:PORT` exits 0 and is served
//!   by a pod of that Service's Deployment), through DNS, kube-proxy's rules, conntrack and NAT;
//! - every packet those connections created ends with exactly one disposition;
//! - the same seed gives the same transcript (pod names, outputs, who served, what the server
//!   saw, every packet's disposition).
//!
//! Cases are few (each builds two clusters) so the suite stays within seconds.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use indexmap::IndexMap;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use sim_core::SimDuration;
use sim_k8s::cluster::build::ProxySettings;
use sim_k8s::cluster::config::{NodeConfig, NodeRole};
use sim_k8s::cluster::{Cluster, ClusterConfig};
use sim_k8s::manifest::load_str;

/// One Deployment and the Service in front of it.
#[derive(Clone, Debug)]
struct App {
    replicas: u8,
    node_port: bool,
    port: u16,
}

/// A generated cluster.
#[derive(Clone, Debug)]
struct Shape {
    workers: usize,
    apps: Vec<App>,
    seed: u64,
}

fn app() -> impl Strategy<Value = App> {
    (1u8..=4, any::<bool>(), 1u16..=65535).prop_map(|(replicas, node_port, port)| App {
        replicas,
        node_port,
        port,
    })
}

fn shape() -> impl Strategy<Value = Shape> {
    (1usize..=3, proptest::collection::vec(app(), 1..=3), any::<u64>())
        .prop_map(|(workers, apps, seed)| Shape { workers, apps, seed })
}

/// The default cluster with its workers trimmed or more added (`node03` at .150, ...).
fn config(workers: usize) -> ClusterConfig {
    let mut c = ClusterConfig::default_cluster();
    let mut last = 149u8;
    while c.nodes.iter().filter(|n| n.role == NodeRole::Worker).count() < workers {
        last += 1;
        let n = c.nodes.len();
        c.nodes.push(NodeConfig {
            name: format!("node{n:02}"),
            ip: Ipv4Addr::new(10, 32, 1, last),
            role: NodeRole::Worker,
            labels: IndexMap::new(),
            listens: Vec::new(),
            pod_cidr: None,
            addresses: Vec::new(),
        });
    }
    while c.nodes.iter().filter(|n| n.role == NodeRole::Worker).count() > workers {
        c.nodes.pop();
    }
    c
}

fn manifests(apps: &[App]) -> String {
    let mut y = String::new();
    for (i, a) in apps.iter().enumerate() {
        let name = format!("web{i}");
        let kind = if a.node_port { "NodePort" } else { "ClusterIP" };
        let _ = write!(
            y,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: {r}\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers:\n      - name: nginx\n        image: nginx\n        ports: [{{containerPort: 80}}]\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec:\n  type: {kind}\n  selector: {{app: {name}}}\n  ports: [{{port: {p}, targetPort: 80}}]\n---\n",
            r = a.replicas,
            p = a.port,
        );
    }
    y.push_str("apiVersion: v1\nkind: Pod\nmetadata: {name: busybox}\nspec:\n  containers: [{name: busybox, image: busybox:1.36, command: [sleep, \"3600\"]}]\n");
    y
}

/// Builds and settles the cluster, runs one `wget` per Service from busybox, checks (a) and
/// (b), and returns the transcript for (c).
fn run(s: &Shape) -> Result<String, TestCaseError> {
    let mut c =
        Cluster::new(config(s.workers), &ProxySettings::default(), s.seed).map_err(TestCaseError::fail)?;
    c.settle(SimDuration::from_secs(120));
    let loaded = load_str("apps.yaml", &manifests(&s.apps));
    prop_assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    for r in c.apply(&loaded.objects) {
        prop_assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    let took = c.settle(SimDuration::from_secs(300));
    prop_assert!(c.settled(), "not settled after {took}");
    let busybox = c.resolve_target("pod/busybox").map_err(TestCaseError::fail)?;
    let mut t = String::new();
    let pods: Vec<String> = c.world().pods.keys().cloned().collect();
    let _ = writeln!(t, "pods: {}", pods.join(" "));
    for (i, a) in s.apps.iter().enumerate() {
        let line = format!("wget -qO- web{i}:{}", a.port);
        let out = c.exec(&busybox, &line);
        prop_assert_eq!(out.exit_code, 0, "{}: {}{}", line, out.stdout, out.stderr);
        prop_assert!(out.stdout.contains("Welcome to nginx!"), "{}: {}", line, out.stdout);
        let conn =
            out.connection.as_ref().ok_or_else(|| TestCaseError::fail(format!("{line}: no connection")))?;
        let served = conn.served_by.clone().unwrap_or_default();
        prop_assert!(served.starts_with(&format!("pod/web{i}-")), "{}: served by {:?}", line, served);
        let mut seen = std::collections::BTreeSet::new();
        let mut dispositions = Vec::new();
        for id in &conn.packets {
            prop_assert!(seen.insert(*id), "{}: packet {:?} listed twice", line, id);
            let d = c.world().net.disposition(*id);
            prop_assert!(d.is_some(), "{}: packet {:?} has no disposition", line, id);
            dispositions.push(format!("{d:?}"));
        }
        prop_assert!(!conn.packets.is_empty(), "{}: no packets", line);
        let _ = writeln!(
            t,
            "$ {line}\nexit {} served {served} client {:?} first {:?}\n{}{}packets: {}",
            out.exit_code,
            conn.client_seen,
            conn.disposition,
            out.stdout,
            out.stderr,
            dispositions.join(" | "),
        );
    }
    Ok(t)
}

proptest! {
    // An integration test has no lib.rs beside it for proptest's default persistence to find,
    // so failing seeds are kept at the crate root's proptest-regressions/ explicitly.
    #![proptest_config(ProptestConfig {
        cases: 12,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/cluster_props.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_service_is_reachable_by_name_and_runs_are_reproducible(s in shape()) {
        let first = run(&s)?;
        let second = run(&s)?;
        prop_assert_eq!(first, second);
    }
}
