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

const NO_ENDPOINTS: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: ghost}
spec:
  clusterIP: 10.96.5.5
  selector: {app: nobody}
  ports: [{port: 53, protocol: UDP}]
---
apiVersion: v1
kind: Pod
metadata: {name: busybox}
spec:
  containers: [{name: busybox, image: busybox:1.36, command: [sleep, "3600"]}]
"#;

/// The kernel's ICMP rate limit (`icmp_ratelimit` 1000 ms, burst 6, per peer): a burst of
/// datagrams from a pod to a Service without endpoints — kube-proxy's `REJECT` in the node's
/// FORWARD path — gets six port-unreachables at once; the seventh, in the same second, gets
/// nothing and times out; later ones are answered again as tokens come back.
#[test]
fn a_burst_to_a_service_without_endpoints_meets_the_icmp_rate_limit() {
    let mut c = Cluster::new(ClusterConfig::default_cluster(), &Default::default(), 7).unwrap();
    c.settle(SimDuration::from_secs(60));
    let loaded = load_str("ghost.yaml", NO_ENDPOINTS);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    for r in &c.apply(&loaded.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    c.settle(SimDuration::from_secs(120));
    let pod = Target::Pod { namespace: "default".into(), name: "busybox".into() };
    let results: Vec<String> = (0..8)
        .map(|_| {
            let out = c.trace(&pod, "10.96.5.5", 53, sim_net::network::ConvProto::Udp).stdout;
            out.lines().find(|l| l.starts_with("result: ")).unwrap_or("").to_string()
        })
        .collect();
    let refused = results.iter().filter(|r| r.contains("(port unreachable)")).count();
    assert!(results[..6].iter().all(|r| r.contains("(port unreachable)")), "{results:#?}");
    assert_eq!(results[6], "result: timed out (no answer)", "{results:#?}");
    assert_eq!(refused, 7, "the eighth, 4 s later, is answered again: {results:#?}");
}
