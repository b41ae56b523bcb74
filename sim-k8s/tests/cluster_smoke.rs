//! End to end through the whole cluster: manifests → controllers → CNI → kube-proxy rules →
//! packets evaluated against them → replies un-NATed.

use sim_core::SimDuration;
use sim_k8s::cluster::build::ProxySettings;
use sim_k8s::cluster::{Cluster, ClusterConfig, Target};
use sim_k8s::manifest::load_str;

const NGINX: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: my-nginx}
spec:
  replicas: 2
  selector: {matchLabels: {run: my-nginx}}
  template:
    metadata: {labels: {run: my-nginx}}
    spec:
      containers:
      - name: my-nginx
        image: nginx
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: my-nginx}
spec:
  type: NodePort
  selector: {run: my-nginx}
  ports: [{port: 80, nodePort: 30380}]
---
apiVersion: v1
kind: Pod
metadata: {name: busybox}
spec:
  containers: [{name: busybox, image: busybox:1.36, command: [sleep, "3600"]}]
"#;

fn cluster() -> Cluster {
    let mut c = Cluster::new(ClusterConfig::default_cluster(), &ProxySettings::default(), 7).unwrap();
    c.settle(SimDuration::from_secs(120));
    let loaded = load_str("nginx.yaml", NGINX);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let reports = c.apply(&loaded.objects);
    for r in &reports {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    let took = c.settle(SimDuration::from_secs(120));
    assert!(c.settled(), "not settled after {took}");
    c
}

#[test]
fn pod_to_cluster_ip_by_name_and_node_port_from_outside() {
    let mut c = cluster();
    let busybox = c.resolve_target("pod/busybox").unwrap();
    let out = c.exec(&busybox, "wget -qO- my-nginx");
    assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("Welcome to nginx!"));
    let client = Target::Host("client".into());
    let out = c.exec(&client, "curl -s 10.32.1.149:30380");
    assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    let conn = out.connection.unwrap();
    assert!(conn.served_by.unwrap().starts_with("pod/my-nginx-"));
    // NodePort traffic is masqueraded: the pod sees a node address, never the client's.
    assert_ne!(conn.client_seen.unwrap().ip().to_string(), "10.32.1.200");
}

#[test]
fn the_same_seed_gives_the_same_cluster() {
    let a = cluster();
    let b = cluster();
    let names = |c: &Cluster| c.world().pods.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
}
