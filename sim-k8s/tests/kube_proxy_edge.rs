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

/// `conntrack:` in the KubeProxyConfiguration: the sysctls kube-proxy writes at start-up
/// (`setupConntrack`), and `tcpBeLiberal` read back by the iptables proxier, which then writes
/// no INVALID-drop rule; `restart kube-proxy/N` writes them again over a hand-made change.
#[test]
fn kube_proxy_writes_its_conntrack_section_to_the_node_sysctls() {
    let mut c = cluster_with_kube_proxy_config(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\nconntrack:\n  maxPerCore: 1000\n  min: 0\n  tcpEstablishedTimeout: 2h0m0s\n  tcpBeLiberal: true\n",
    );
    let node = Target::Node("node01".into());
    let keys = "sysctl net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_established net.netfilter.nf_conntrack_tcp_be_liberal";
    let want = "net.netfilter.nf_conntrack_max = 2000\nnet.netfilter.nf_conntrack_tcp_timeout_established = 7200\nnet.netfilter.nf_conntrack_tcp_be_liberal = 1\n";
    assert_eq!(c.exec(&node, keys).stdout, want);
    let filter = c.exec(&node, "iptables-save -t filter").stdout;
    assert!(!filter.contains("--ctstate INVALID"), "{filter}");
    c.exec(&node, "sysctl -w net.netfilter.nf_conntrack_max=10");
    let f = sim_k8s::cluster::faults::Fault::parse("restart kube-proxy/node01").unwrap();
    c.inject(&f);
    assert_eq!(c.exec(&node, keys).stdout, want);
    // Without the section: upstream's defaults on 2 CPUs, and the INVALID-drop rule.
    let mut c = cluster_with_kube_proxy_config(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\n",
    );
    assert_eq!(
        c.exec(&node, keys).stdout,
        "net.netfilter.nf_conntrack_max = 131072\nnet.netfilter.nf_conntrack_tcp_timeout_established = 86400\nnet.netfilter.nf_conntrack_tcp_be_liberal = 0\n"
    );
    assert!(c.exec(&node, "iptables-save -t filter").stdout.contains("--ctstate INVALID"));
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
/// nothing (its trace ends at the REJECT: no answer is coming); one a second later is
/// answered again as a token came back.
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
        .map(|i| {
            if i == 7 {
                c.advance(SimDuration::from_secs(1));
            }
            let out = c.trace(&pod, "10.96.5.5", 53, sim_net::network::ConvProto::Udp).stdout;
            out.lines().find(|l| l.starts_with("result: ")).unwrap_or("").to_string()
        })
        .collect();
    let refused = results.iter().filter(|r| r.contains("(port unreachable)")).count();
    assert!(results[..6].iter().all(|r| r.contains("(port unreachable)")), "{results:#?}");
    assert_eq!(
        results[6], "result: no answer: the packet's fate is final (a client would wait for its timeout)",
        "{results:#?}"
    );
    assert_eq!(refused, 7, "the eighth, 1 s later, is answered again: {results:#?}");
}

/// Applies `docs` to a settled cluster built from `config`.
fn cluster_with(config: ClusterConfig, docs: &str) -> Cluster {
    let mut c = Cluster::new(config, &Default::default(), 7).unwrap();
    c.settle(SimDuration::from_secs(60));
    let loaded = load_str("objects.yaml", docs);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    for r in &c.apply(&loaded.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    c.settle(SimDuration::from_secs(120));
    c
}

/// The kernel over UDP: a node sending to a ClusterIP whose Service has no endpoints meets
/// kube-proxy's `REJECT` in its own OUTPUT chain (filter `KUBE-SERVICES`), so `sendmsg` fails
/// with EPERM (`ip_local_out` returns `NF_DROP`'s error) and `nc -u` says "Operation not
/// permitted"; a pod's datagram is rejected in the node's FORWARD chain instead and its sender
/// sees the port unreachable.
#[test]
fn test_no_endpoints_reject_from_the_node_fails_sendmsg() {
    let mut c = cluster_with(ClusterConfig::default_cluster(), NO_ENDPOINTS);
    let node = Target::Node("node01".into());
    let out = c.exec(&node, "nc -u 10.96.5.5 53");
    assert_eq!(out.exit_code, 1);
    assert_eq!(
        out.stderr.trim_end(),
        "nc: connect to 10.96.5.5 (10.96.5.5) port 53 (udp) failed: Operation not permitted"
    );
    let trace = c.trace(&node, "10.96.5.5", 53, sim_net::network::ConvProto::Udp).stdout;
    assert!(trace.contains("\nresult: sendmsg failed: Operation not permitted"), "{trace}");
    let pod = Target::Pod { namespace: "default".into(), name: "busybox".into() };
    let trace = c.trace(&pod, "10.96.5.5", 53, sim_net::network::ConvProto::Udp).stdout;
    assert!(trace.contains("\nresult: ICMP type 3 code 3 (port unreachable)"), "{trace}");
}

/// iputils `ping` on a node whose own OUTPUT chain drops the echo requests: every `sendmsg`
/// fails with EPERM (`ping: sendmsg: Operation not permitted`), each request still counts as
/// transmitted, and the summary's `time` is the last request's send time (2000 ms for three),
/// not a fixed figure.
#[test]
fn ping_through_a_local_drop_reports_eperm_and_its_run_time() {
    let mut c = cluster_with(ClusterConfig::default_cluster(), NO_ENDPOINTS);
    let node = Target::Node("node01".into());
    let ok = c.exec(&node, "ping -c 3 10.32.1.149");
    assert!(
        ok.stdout.contains("3 packets transmitted, 3 received, 0% packet loss, time 2000ms\n"),
        "{}",
        ok.stdout
    );
    let one = c.exec(&node, "ping -c 1 10.32.1.149");
    assert!(
        one.stdout.contains("1 packets transmitted, 1 received, 0% packet loss, time 0ms\n"),
        "{}",
        one.stdout
    );
    let r = c.exec(&node, "iptables -A OUTPUT -p icmp -d 10.32.1.149 -j DROP");
    assert_eq!(r.exit_code, 0, "{}", r.stderr);
    let denied = c.exec(&node, "ping -c 3 10.32.1.149");
    assert_eq!(denied.stderr, "ping: sendmsg: Operation not permitted\n".repeat(3));
    assert!(
        denied.stdout.contains("3 packets transmitted, 0 received, 100% packet loss, time 2000ms\n"),
        "{}",
        denied.stdout
    );
    assert_eq!(denied.exit_code, 1);
}

/// iputils `ping` to an address on the node network nobody holds: every request waits for
/// neighbour resolution and errors with Destination Host Unreachable (`+3 errors` in the
/// summary), the loss is printed with `%g`.
#[test]
fn ping_counts_icmp_errors_as_iputils_does() {
    let mut c = cluster_with(ClusterConfig::default_cluster(), NO_ENDPOINTS);
    let node = Target::Node("node01".into());
    let out = c.exec(&node, "ping -c 3 10.32.1.233");
    assert_eq!(out.stdout.matches("Destination Host Unreachable").count(), 3, "{}", out.stdout);
    assert!(
        out.stdout.contains("3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2000ms\n"),
        "{}",
        out.stdout
    );
}

/// Upstream `TestNodePorts` / `TestNodePortsAddresses` on a node with several addresses:
/// every address on the node (here a secondary address on eth0, as a Node's second
/// InternalIP) is local, so the NodePort answers there through `-m addrtype --dst-type LOCAL`;
/// with `nodePortAddresses` naming only the secondary address's /32, kube-proxy writes one
/// `-d` rule for it and the primary address no longer answers.
#[test]
fn test_node_ports_on_a_secondary_address() {
    let mut config = ClusterConfig::default_cluster();
    config.nodes[1].addresses = vec!["10.32.1.158/32".parse().unwrap()];
    let mut c = cluster_with(config.clone(), SERVICE);
    let client = Target::Host("client".into());
    for addr in ["10.32.1.148", "10.32.1.158"] {
        let out = c.exec(&client, &format!("curl -s -m 2 http://{addr}:30080/"));
        assert_eq!(out.exit_code, 0, "{addr}: {}{}", out.stdout, out.stderr);
    }
    let ip = c.exec(&Target::Node("node01".into()), "ip -4 addr show dev eth0").stdout;
    assert!(ip.contains("inet 10.32.1.158/24 "), "{ip}");

    let loaded = load_str(
        "kube-proxy.yaml",
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\nclusterCIDR: 10.244.0.0/16\nnodePortAddresses: [10.32.1.158/32]\n",
    );
    let Some(sim_k8s::api::Object::KubeProxyConfiguration(k)) = loaded.objects.first().map(|l| &l.value)
    else {
        panic!("{:?}", loaded.errors);
    };
    let settings = proxy_settings_from(k);
    let mut c = Cluster::new(config, &settings, 7).unwrap();
    c.settle(SimDuration::from_secs(60));
    let loaded = load_str("web.yaml", SERVICE);
    for r in &c.apply(&loaded.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    c.settle(SimDuration::from_secs(120));
    let nat = c.exec(&Target::Node("node01".into()), "iptables-save -t nat").stdout;
    assert!(
        nat.contains(
            "-A KUBE-SERVICES -d 10.32.1.158/32 -m comment --comment \"kubernetes service nodeports;"
        ),
        "{nat}"
    );
    let out = c.exec(&client, "curl -s -m 2 http://10.32.1.158:30080/");
    assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    let out = c.exec(&client, "curl -s -m 2 http://10.32.1.148:30080/");
    assert_ne!(out.exit_code, 0, "the primary address is not in nodePortAddresses: {}", out.stdout);
}
