//! An SCTP Service end to end (kube-proxy's `-p sctp -m sctp` rules, the SCTP association
//! through the nodes' netfilter and conntrack): ClusterIP from a pod, NodePort from outside,
//! and the REJECT of a Service without endpoints.

use sim_core::SimDuration;
use sim_k8s::cluster::build::ProxySettings;
use sim_k8s::cluster::{Cluster, ClusterConfig, Target};
use sim_k8s::kube_proxy::ProxyMode;
use sim_k8s::manifest::load_str;
use sim_net::network::ConvProto;

const SCTP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: diameter}
spec:
  replicas: 2
  selector: {matchLabels: {app: diameter}}
  template:
    metadata: {labels: {app: diameter}}
    spec:
      containers:
      - name: diameter
        image: registry.k8s.io/e2e-test-images/agnhost:2.47
        ports: [{containerPort: 3868, protocol: SCTP}]
---
apiVersion: v1
kind: Service
metadata: {name: diameter}
spec:
  type: NodePort
  selector: {app: diameter}
  ports: [{port: 3868, protocol: SCTP, nodePort: 30868}]
---
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  selector: {app: nobody}
  ports: [{port: 9, protocol: SCTP}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers: [{name: c, image: busybox:1.36, command: [sleep, "3600"]}]
"#;

fn cluster(mode: Option<ProxyMode>) -> Cluster {
    let mut config = ClusterConfig::default_cluster();
    config.proxy_mode = mode;
    let mut c = Cluster::new(config, &ProxySettings::default(), 7).unwrap();
    c.settle(SimDuration::from_secs(120));
    let loaded = load_str("sctp.yaml", SCTP);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    for r in &c.apply(&loaded.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    c.settle(SimDuration::from_secs(120));
    assert!(c.settled());
    c
}

#[test]
fn sctp_service_cluster_ip_node_port_and_no_endpoints() {
    let mut c = cluster(None);
    let rules = c.exec(&Target::Node("node01".into()), "iptables-save -t nat").stdout;
    assert!(
        rules.contains("-p sctp -m comment --comment \"default/diameter cluster IP\" -m sctp --dport 3868"),
        "{rules}"
    );
    flows(&mut c, "KUBE-SVC-", "has no endpoints\" -m sctp --dport 9 -j REJECT");
}

/// The same flows with kube-proxy in IPVS mode (SCTP virtual servers) and nftables mode.
#[test]
fn sctp_service_in_ipvs_and_nftables_modes() {
    let mut c = cluster(Some(ProxyMode::Ipvs));
    let ipvs = c.exec(&Target::Node("node01".into()), "ipvsadm -Ln").stdout;
    assert!(ipvs.contains("SCTP  10.") && ipvs.contains(":3868 rr"), "{ipvs}");
    flows(&mut c, "ipvs: SCTP ", "KUBE-IPVS-FILTER");
    let mut c = cluster(Some(ProxyMode::Nftables));
    flows(&mut c, "service-", "no-endpoint-services");
}

/// ClusterIP from a pod, NodePort from outside, the no-endpoints Service; `svc_step` and
/// `reject_step` are what the mode's trace shows for the first and the last.
fn flows(c: &mut Cluster, svc_step: &str, reject_step: &str) {
    let pod = c.resolve_target("pod/client").unwrap();
    let out = c.trace(&pod, "diameter.default.svc.cluster.local", 3868, ConvProto::Sctp);
    assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    let conn = out.connection.unwrap();
    assert!(conn.served_by.as_deref().is_some_and(|s| s.starts_with("pod/diameter-")), "{}", out.stdout);
    assert!(out.stdout.contains("[INIT]") && out.stdout.contains("[COOKIE ACK]"), "{}", out.stdout);
    assert!(out.stdout.contains(svc_step), "{}", out.stdout);

    let client = Target::Host("client".into());
    let out = c.trace(&client, "10.32.1.149", 30868, ConvProto::Sctp);
    assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    let conn = out.connection.unwrap();
    assert!(conn.served_by.as_deref().is_some_and(|s| s.starts_with("pod/diameter-")), "{}", out.stdout);
    // NodePort traffic is masqueraded.
    assert_ne!(conn.client_seen.unwrap().ip().to_string(), "10.32.1.200");

    let out = c.trace(&pod, "nobody.default.svc.cluster.local", 9, ConvProto::Sctp);
    assert!(out.stdout.contains("result: ICMP type 3 code 3 (port unreachable)"), "{}", out.stdout);
    assert!(out.stdout.contains(reject_step), "{}", out.stdout);
    assert!(out.stdout.contains("ICMP 10.104.120.54 sctp port 9 unreachable"), "{}", out.stdout);
}
