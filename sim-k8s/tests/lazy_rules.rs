//! Lazily built node rules are the rules an eager kube-proxy would have written.
//!
//! By default a node's kube-proxy sync only records what to restore; the rules are generated
//! and restored when a packet or a command next looks at that node (`Host::defer_rules`), and a
//! later sync replaces a load nothing looked at.
//! For random clusters (1–3 workers, 1–3 Deployments behind ClusterIP or NodePort Services) and
//! random changes afterwards (scaling, deleting a Service, a new Service), every node's
//! `iptables-save` must be byte-identical between a cluster that loads rules lazily and one that
//! restores them at every sync, as the real kube-proxy does.

use std::fmt::Write as _;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use sim_core::SimDuration;
use sim_k8s::cluster::build::ProxySettings;
use sim_k8s::cluster::{Cluster, ClusterConfig};
use sim_k8s::manifest::load_str;
use sim_net::netfilter::save::SaveOptions;

#[derive(Clone, Debug)]
enum Change {
    Scale { app: usize, replicas: u8 },
    DeleteService { app: usize },
    NewService { app: usize, port: u16 },
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0usize..3, 0u8..=4).prop_map(|(app, replicas)| Change::Scale { app, replicas }),
        (0usize..3).prop_map(|app| Change::DeleteService { app }),
        (0usize..3, 1u16..=9999).prop_map(|(app, port)| Change::NewService { app, port }),
    ]
}

fn manifests(apps: &[(u8, bool)]) -> String {
    let mut y = String::new();
    for (i, (replicas, node_port)) in apps.iter().enumerate() {
        let kind = if *node_port { "NodePort" } else { "ClusterIP" };
        let _ = write!(
            y,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web{i}}}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: web{i}}}}}\n  template:\n    metadata: {{labels: {{app: web{i}}}}}\n    spec:\n      containers:\n      - name: nginx\n        image: nginx\n        ports: [{{containerPort: 80}}]\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: web{i}}}\nspec:\n  type: {kind}\n  selector: {{app: web{i}}}\n  ports: [{{port: 80, targetPort: 80}}]\n---\n"
        );
    }
    y
}

/// Every node's rules after the run, eager or lazy.
fn run(workers: usize, apps: &[(u8, bool)], changes: &[Change], seed: u64, eager: bool) -> Vec<String> {
    let mut config = ClusterConfig::default_cluster();
    config.nodes.truncate(1 + workers);
    let mut c = Cluster::new(config, &ProxySettings::default(), seed).expect("cluster");
    c.world_mut().set_eager_rules(eager);
    c.settle(SimDuration::from_secs(120));
    let loaded = load_str("apps.yaml", &manifests(apps));
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    c.apply(&loaded.objects);
    c.settle(SimDuration::from_secs(300));
    for ch in changes {
        let line = match ch {
            Change::Scale { app, replicas } => {
                format!("scale deployment web{} --replicas={replicas}", app % apps.len())
            }
            Change::DeleteService { app } => format!("delete service web{}", app % apps.len()),
            Change::NewService { app, port } => {
                format!(
                    "expose deployment web{} --name=extra{port} --port={port} --target-port=80",
                    app % apps.len()
                )
            }
        };
        let out = c.kubectl_line(&line, std::path::Path::new("."));
        // Deleting a Service twice fails as kubectl does; everything else must apply.
        assert!(out.exit_code == 0 || line.starts_with("delete"), "{line}: {}{}", out.stdout, out.stderr);
        c.settle(SimDuration::from_secs(300));
    }
    // The two modes really differ in when rules are loaded.
    let pending = c
        .world()
        .nodes
        .iter()
        .filter(|n| c.world().net.host(n.host).is_some_and(|h| h.rules_pending()))
        .count();
    // CoreDNS's start-up LIST goes from its pods through their nodes to the API server on
    // the control plane: those nodes' rules have been looked at; nothing looked at the others.
    let looked_at: std::collections::BTreeSet<String> = c
        .world()
        .api
        .pods()
        .filter(|p| p.metadata.labels.get("k8s-app").is_some_and(|v| v == "kube-dns"))
        .map(|p| p.spec.node_name.clone())
        .chain(std::iter::once("master".to_string()))
        .collect();
    let untouched = c.world().nodes.iter().filter(|n| !looked_at.contains(&n.name)).count();
    if eager {
        assert_eq!(pending, 0, "eager: no node may hold deferred rules");
    } else {
        // The others' rules are deferred again by every sync since their last look.
        assert!(
            pending >= untouched,
            "lazy: nothing looked at {untouched} nodes, only {pending} defer rules"
        );
    }
    let names: Vec<String> = c.world().nodes.iter().map(|n| n.name.clone()).collect();
    names
        .iter()
        .map(|name| {
            c.world_mut().load_rules_of(name);
            let w = c.world();
            let Some(i) = w.node_index(name) else { return String::new() };
            let host = w.net.host(w.nodes[i].host).expect("node host");
            format!("# {name}\n{}", host.netfilter.save(&SaveOptions::default()))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 8,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/lazy_rules.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn lazy_rules_equal_eager_rules(
        workers in 1usize..=2,
        apps in proptest::collection::vec((1u8..=3, any::<bool>()), 1..=3),
        changes in proptest::collection::vec(change(), 0..=3),
        seed in any::<u64>(),
    ) {
        let lazy = run(workers, &apps, &changes, seed, false);
        let eager = run(workers, &apps, &changes, seed, true);
        prop_assert_eq!(lazy, eager);
    }
}
