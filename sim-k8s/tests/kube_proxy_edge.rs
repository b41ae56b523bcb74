//! kube-proxy's edge cases, each named after the upstream test in
//! `pkg/proxy/iptables/proxier_test.go` whose flow it checks.

use sim_core::SimDuration;
use sim_k8s::cluster::build::proxy_settings_from;
use sim_k8s::cluster::{Cluster, ClusterConfig, Target};
use sim_k8s::manifest::load_str;

const SERVICE: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, nodePort: 30080}]
"#;

fn cluster_with_kube_proxy_config(doc: &str) -> Cluster {
    let loaded = load_str("kube-proxy.yaml", doc);
    let Some(sim_k8s::api::Object::KubeProxyConfiguration(k)) = loaded.objects.first().map(|l| &l.value)
    else {
        panic!("{:?}", loaded.errors);
    };
    let settings = proxy_settings_from(k);
    let mut c = Cluster::new(ClusterConfig::default_cluster(), &settings, 7).unwrap();
    c.settle(SimDuration::from_secs(120));
    let loaded = load_str("web.yaml", SERVICE);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    for r in &c.apply(&loaded.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    c.settle(SimDuration::from_secs(120));
    c
}

/// `TestOnlyLocalNodePortsNoClusterCIDR`: with no `clusterCIDR` (and detectLocalMode
/// ClusterCIDR, the default) kube-proxy uses `NewNoOpLocalDetector`: the service chain has no
/// `! -s CLUSTER-CIDR ... -j KUBE-MARK-MASQ` rule for off-cluster sources. With a clusterCIDR
/// the rule is there.
#[test]
fn test_only_local_node_ports_no_cluster_cidr() {
    let mut c = cluster_with_kube_proxy_config(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\n",
    );
    let out = c.exec(&Target::Node("node01".into()), "iptables-save -t nat");
    assert!(out.stdout.contains("-A KUBE-SVC-"), "{}", out.stdout);
    assert!(!out.stdout.contains("! -s 10.244.0.0/16"), "no-op detector: no masquerade rule\n{}", out.stdout);
    let mut c = cluster_with_kube_proxy_config(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\nclusterCIDR: 10.244.0.0/16\n",
    );
    let out = c.exec(&Target::Node("node01".into()), "iptables-save -t nat");
    assert!(out.stdout.contains("! -s 10.244.0.0/16"), "{}", out.stdout);
}

/// The kernel over ICMP and UDP: a datagram to an address on the node network nobody holds
/// gets Destination Host Unreachable from the sender itself once neighbour resolution fails
/// (3 probes, 1 s apart); `trace` waits for it instead of giving up at 3 s.
#[test]
fn trace_outlasts_a_neighbour_resolution_failure() {
    let mut c = Cluster::new(ClusterConfig::default_cluster(), &Default::default(), 7).unwrap();
    c.settle(SimDuration::from_secs(60));
    let node = Target::Node("node01".into());
    for proto in [sim_net::network::ConvProto::Icmp, sim_net::network::ConvProto::Udp] {
        let out = c.trace(&node, "10.32.1.233", 53, proto).stdout;
        assert!(out.contains("\nresult: ICMP type 3 code 1 (host unreachable)"), "{proto:?}:\n{out}");
    }
}
