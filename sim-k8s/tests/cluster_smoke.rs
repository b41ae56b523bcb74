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

/// Two nginx pods pinned to `nodes`, behind a LoadBalancer service with `policy`.
fn lb_cluster(policy: &str, nodes: &[&str]) -> Cluster {
    let mut config = ClusterConfig::default_cluster();
    config.lb_pool = vec!["203.0.113.10".parse().unwrap()];
    let mut c = Cluster::new(config, &ProxySettings::default(), 7).unwrap();
    c.settle(SimDuration::from_secs(120));
    let mut yaml = format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec:\n  type: LoadBalancer\n  \
         externalTrafficPolicy: {policy}\n  selector: {{app: web}}\n  ports: [{{port: 80}}]\n"
    );
    for (i, node) in nodes.iter().enumerate() {
        yaml += &format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: web-{i}, labels: {{app: web}}}}\nspec:\n  \
             nodeName: {node}\n  containers: [{{name: nginx, image: nginx, ports: [{{containerPort: 80}}]}}]\n"
        );
    }
    let loaded = load_str("web.yaml", &yaml);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    for r in &c.apply(&loaded.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    let took = c.settle(SimDuration::from_secs(120));
    assert!(c.settled(), "not settled after {took}");
    c
}

/// For each node, how many conntrack entries it holds for connections that arrived addressed
/// to the load-balancer IP (the node the ECMP route sent them to).
fn ingress_counts(c: &Cluster) -> Vec<(String, usize)> {
    let lb: std::net::Ipv4Addr = "203.0.113.10".parse().unwrap();
    let w = c.world();
    w.nodes
        .iter()
        .map(|n| {
            let h = w.net.host(n.host).unwrap();
            (h.name.clone(), h.conntrack.entries(c.now()).filter(|e| e.orig.dst == lb).count())
        })
        .collect()
}

fn curl_20(c: &mut Cluster) -> Vec<String> {
    let client = Target::Host("client".into());
    (0..20)
        .map(|_| {
            let out = c.exec(&client, "curl -s 203.0.113.10");
            assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
            out.connection.unwrap().served_by.unwrap()
        })
        .collect()
}

#[test]
fn load_balancer_ecmp_spreads_flows_across_healthy_nodes() {
    let mut c = lb_cluster("Cluster", &["node01", "node02"]);
    let client = Target::Host("client".into());
    assert_eq!(
        c.exec(&client, "ip route").stdout,
        "default via 10.32.1.1 dev eth0\n\
         10.32.1.0/24 dev eth0 proto kernel scope link src 10.32.1.200\n\
         203.0.113.10 proto static\n\
         \tnexthop via 10.32.1.148 dev eth0 weight 1\n\
         \tnexthop via 10.32.1.149 dev eth0 weight 1\n"
    );
    let served = curl_20(&mut c);
    let counts = ingress_counts(&c);
    assert_eq!(counts.iter().map(|(_, n)| n).sum::<usize>(), 20, "{counts:?}");
    assert_eq!(counts[0], ("master".to_string(), 0));
    assert!(counts[1].1 > 0 && counts[2].1 > 0, "both workers are ingress nodes: {counts:?}");
    assert!(served.iter().all(|s| s.starts_with("pod/web-")));
    // The trace says which next hop the client's ECMP route chose for the flow, and why.
    let trace = c.trace(&client, "203.0.113.10", 80, sim_net::network::ConvProto::Tcp).stdout;
    assert!(
        trace.contains("client: route: 203.0.113.10 via 10.32.1.14")
            && trace.contains(" dev eth0 proto static (multipath: nexthop ")
            && trace.contains(" of 2, fib_multipath_hash_policy 1)"),
        "{trace}"
    );
}

#[test]
fn load_balancer_ecmp_with_local_policy_uses_only_nodes_with_endpoints() {
    let mut c = lb_cluster("Local", &["node01"]);
    let client = Target::Host("client".into());
    assert!(c.exec(&client, "ip route").stdout.contains("203.0.113.10 via 10.32.1.148 dev eth0\n"));
    let served = curl_20(&mut c);
    assert_eq!(
        ingress_counts(&c),
        vec![("master".to_string(), 0), ("node01".to_string(), 20), ("node02".to_string(), 0)]
    );
    assert!(served.iter().all(|s| s == "pod/web-0"));
}

/// `trace` ends on the disposition: a UDP datagram a rule drops ends the trace at the drop
/// (the cluster's clock moves by the packet's trip, not by the trace's 4-second window), and
/// the result says the fate is final. An answered datagram still ends on its answer.
#[test]
fn a_trace_of_a_dropped_datagram_ends_at_the_drop() {
    let mut c = cluster();
    let pods = c.kubectl_line("get pods -o wide", std::path::Path::new(".")).stdout;
    let line = pods.lines().find(|l| l.starts_with("my-nginx-")).unwrap_or_else(|| panic!("{pods}"));
    let pod_ip = line.split_whitespace().nth(5).unwrap().to_string();
    let node = line.split_whitespace().nth(6).unwrap().to_string();
    let out = c.exec(&Target::Node(node.clone()), "iptables -I FORWARD -p udp --dport 9999 -j DROP");
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    let busybox = c.resolve_target("pod/busybox").unwrap();
    let before = c.now();
    let out = c.trace(&busybox, &pod_ip, 9999, sim_net::network::ConvProto::Udp);
    let took = c.now() - before;
    assert!(took < SimDuration::from_millis(50), "the trace took {took}:\n{}", out.stdout);
    assert!(out.stdout.contains("result: no answer: the packet's fate is final"), "{}", out.stdout);
    assert!(out.stdout.contains("dropped by rule 1 of FORWARD (filter table)"), "{}", out.stdout);
}

/// A readiness probe aimed at a port nothing in the pod listens on is refused, as the kernel
/// refuses the SYN: the pod never becomes ready, its endpoint is not ready, and the kubelet's
/// event says why. The same probe on the served port (a named one here) succeeds; an
/// `httpGet` of a path nginx does not serve gets its 404 and fails.
#[test]
fn a_readiness_probe_on_a_port_nothing_listens_on_is_refused_and_the_pod_stays_out_of_the_service() {
    let mut c = Cluster::new(ClusterConfig::default_cluster(), &ProxySettings::default(), 7).unwrap();
    c.settle(SimDuration::from_secs(120));
    let manifests = r#"
apiVersion: v1
kind: Pod
metadata: {name: wrong-port, labels: {app: web}}
spec:
  containers:
  - name: nginx
    image: nginx
    ports: [{containerPort: 80, name: http}]
    readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 5}
---
apiVersion: v1
kind: Pod
metadata: {name: right-port, labels: {app: web}}
spec:
  containers:
  - name: nginx
    image: nginx
    ports: [{containerPort: 80, name: http}]
    readinessProbe: {tcpSocket: {port: http}, periodSeconds: 5}
---
apiVersion: v1
kind: Pod
metadata: {name: wrong-path, labels: {app: web}}
spec:
  containers:
  - name: nginx
    image: nginx
    ports: [{containerPort: 80}]
    readinessProbe: {httpGet: {path: /healthz, port: 80}, periodSeconds: 5}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
"#;
    let loaded = load_str("web.yaml", manifests);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    for r in c.apply(&loaded.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    c.advance(SimDuration::from_secs(30));
    let base = std::path::Path::new(".");
    let pods = c.kubectl_line("get pods", base).stdout;
    let line = |name: &str| pods.lines().find(|l| l.starts_with(name)).unwrap_or_default().to_string();
    assert!(line("wrong-port").contains(" 0/1 "), "{pods}");
    assert!(line("right-port").contains(" 1/1 "), "{pods}");
    // nginx serves its welcome page at / only: /healthz is its 404.
    assert!(line("wrong-path").contains(" 0/1 "), "{pods}");
    let events = c.kubectl_line("get events", base).stdout;
    assert!(
        events.lines().any(|l| l.contains("Unhealthy")
            && l.contains("Readiness probe failed: Get \"http://10.244.")
            && l.ends_with(":8080: connect: connection refused")),
        "{events}"
    );
    assert!(
        events.lines().any(|l| l.contains("pod/wrong-path")
            && l.ends_with("Readiness probe failed: HTTP probe failed with statuscode: 404")),
        "{events}"
    );
    let slices = c.kubectl_line("get endpointslices -l kubernetes.io/service-name=web -o yaml", base).stdout;
    assert_eq!(slices.matches("ready: false").count(), 2, "{slices}");
    assert_eq!(slices.matches("ready: true").count(), 1, "{slices}");
}
