//! kube-proxy in IPVS mode end to end: manifests → controllers → CNI → the IPVS proxier's
//! virtual servers, kube-ipvs0, ipsets and rules → packets through sim-net's IPVS, ipset and
//! iptables engines.

use sim_core::SimDuration;
use sim_k8s::cluster::build::ProxySettings;
use sim_k8s::cluster::{Cluster, ClusterConfig, Target};
use sim_k8s::kube_proxy::ProxyMode;
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
  clusterIP: 10.107.198.159
  selector: {run: my-nginx}
  ports: [{port: 80, nodePort: 30380}]
---
apiVersion: v1
kind: Pod
metadata: {name: busybox}
spec:
  containers: [{name: busybox, image: busybox:1.36, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: tools}
spec:
  containers: [{name: tools, image: alpine:3.19, command: [sleep, "3600"]}]
"#;

fn cluster(mode: Option<ProxyMode>) -> Cluster {
    let mut config = ClusterConfig::default_cluster();
    config.proxy_mode = mode;
    let mut c = Cluster::new(config, &ProxySettings::default(), 7).unwrap();
    c.settle(SimDuration::from_secs(120));
    let loaded = load_str("nginx.yaml", NGINX);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    for r in &c.apply(&loaded.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    let took = c.settle(SimDuration::from_secs(120));
    assert!(c.settled(), "not settled after {took}");
    c
}

fn ipvs() -> Cluster {
    cluster(Some(ProxyMode::Ipvs))
}

fn node(name: &str) -> Target {
    Target::Node(name.into())
}

#[test]
fn pod_reaches_a_cluster_ip_through_ipvs() {
    let mut c = ipvs();
    let busybox = c.resolve_target("pod/busybox").unwrap();
    // Round robin takes both servers in turn: one on the client's own node (the reply is
    // bridged and un-NATed at FORWARD), one on another node.
    let mut served = Vec::new();
    for _ in 0..2 {
        let out = c.exec(&busybox, "wget -qO- 10.107.198.159");
        assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
        assert!(out.stdout.contains("Welcome to nginx!"));
        let conn = out.connection.unwrap();
        assert_eq!(conn.client_seen.unwrap().ip().to_string(), "10.244.2.2", "no SNAT from a pod");
        served.push(conn.served_by.unwrap());
    }
    assert_ne!(served[0], served[1]);
    // No iptables DNAT in IPVS mode: the virtual server did it.
    let nat = c.exec(&node("node01"), "iptables-save -t nat").stdout;
    assert!(!nat.contains("DNAT"), "{nat}");
    assert!(nat.contains("-A KUBE-SERVICES"), "{nat}");
}

#[test]
fn node_port_from_the_external_client() {
    let mut c = ipvs();
    let client = Target::Host("client".into());
    let out = c.exec(&client, "curl -s 10.32.1.147:30380");
    assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    let conn = out.connection.unwrap();
    assert!(conn.served_by.unwrap().starts_with("pod/my-nginx-"));
    // KUBE-NODE-PORT marks it, KUBE-POSTROUTING masquerades: the pod sees a node address.
    assert_ne!(conn.client_seen.unwrap().ip().to_string(), "10.32.1.200");
}

#[test]
fn round_robin_takes_the_servers_in_turn() {
    let mut c = ipvs();
    let client = Target::Host("client".into());
    let served: Vec<String> = (0..4)
        .map(|_| {
            let out = c.exec(&client, "curl -s 10.32.1.148:30380");
            assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
            out.connection.unwrap().served_by.unwrap()
        })
        .collect();
    assert_ne!(served[0], served[1]);
    assert_eq!(served[0], served[2]);
    assert_eq!(served[1], served[3]);
    let listing = c.exec(&node("node01"), "ipvsadm -Ln -t 10.32.1.148:30380").stdout;
    assert!(listing.contains("TCP  10.32.1.148:30380 rr"), "{listing}");
}

// A ClusterIP is an address of every node in IPVS mode, so a ping to it is answered by the
// node — with Kubernetes 1.27+ (KUBE-IPVS-FILTER) by the REJECT's port unreachable, and with
// the echo itself once that rule is gone (older kube-proxy, the articles' clusters). In
// iptables mode the address is on no host: nothing answers at all.
#[test]
fn ping_to_a_cluster_ip_answers_in_ipvs_mode_only() {
    let mut it = cluster(None);
    let out = it.exec(&node("node01"), "ping -c 1 -W 1 10.107.198.159");
    assert_ne!(out.exit_code, 0, "{}", out.stdout);
    assert!(!out.stdout.contains("bytes from"), "{}", out.stdout);
    assert!(!out.stdout.contains("Unreachable"), "iptables mode: no answer at all\n{}", out.stdout);
    let tools = it.resolve_target("pod/tools").unwrap();
    let out = it.exec(&tools, "ping -c 1 -W 1 10.107.198.159");
    assert!(out.stdout.contains("0 packets received"), "{}", out.stdout);

    let mut c = ipvs();
    let out = c.exec(&node("node01"), "ping -c 1 -W 1 10.107.198.159");
    assert_ne!(out.exit_code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("Destination Port Unreachable"), "{}{}", out.stdout, out.stderr);
    let tools = c.resolve_target("pod/tools").unwrap();
    let out = c.exec(&tools, "ping -c 1 -W 1 10.107.198.159");
    assert!(out.stdout.contains("0 packets received"), "{}", out.stdout);

    let pod_node = c.world().pods["default/tools"].node;
    let name = c.world().nodes[pod_node].name.clone();
    let del = c.exec(
        &node(&name),
        "iptables -D KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT",
    );
    assert_eq!(del.exit_code, 0, "{}", del.stderr);
    let out = c.exec(&tools, "ping -c 1 -W 1 10.107.198.159");
    assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("bytes from 10.107.198.159"), "{}", out.stdout);
}

#[test]
fn kube_ipvs0_holds_the_service_addresses() {
    let mut c = ipvs();
    let out = c.exec(&node("master"), "ip addr show kube-ipvs0");
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("kube-ipvs0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN group default\n"),
        "{}",
        out.stdout
    );
    for vip in ["10.96.0.1/32", "10.96.0.10/32", "10.107.198.159/32"] {
        assert!(out.stdout.contains(&format!("inet {vip} scope global kube-ipvs0")), "{vip}\n{}", out.stdout);
    }
    let set = c.exec(&node("master"), "ipset list KUBE-CLUSTER-IP").stdout;
    assert!(set.contains("10.107.198.159,tcp:80\n"), "{set}");
    let save = c.exec(&node("master"), "ipset save KUBE-NODE-PORT-TCP").stdout;
    assert_eq!(save, "create KUBE-NODE-PORT-TCP bitmap:port range 0-65535\nadd KUBE-NODE-PORT-TCP 30380\n");
    let missing = c.exec(&node("master"), "ip addr show nosuch0");
    assert_eq!(missing.exit_code, 1);
    assert_eq!(missing.stderr, "Device \"nosuch0\" does not exist.\n");
}

// A deleted endpoint with connections (here in TIME_WAIT) drains at weight 0, then goes.
#[test]
fn a_gone_endpoint_drains_at_weight_zero() {
    let mut c = ipvs();
    let client = Target::Host("client".into());
    for _ in 0..2 {
        let out = c.exec(&client, "curl -s 10.32.1.148:30380");
        assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    }
    let scaled = c.kubectl_line("scale deployment my-nginx --replicas=1", std::path::Path::new("."));
    assert_eq!(scaled.exit_code, 0, "{}", scaled.stderr);
    c.settle(SimDuration::from_secs(60));
    let listing = c.exec(&node("node01"), "ipvsadm -Ln -t 10.32.1.148:30380").stdout;
    let weights: Vec<&str> = listing
        .lines()
        .filter(|l| l.starts_with("  -> 10."))
        .map(|l| l.split_whitespace().nth(3).unwrap_or(""))
        .collect();
    assert_eq!(weights.len(), 2, "{listing}");
    assert!(weights.contains(&"0") && weights.contains(&"1"), "{listing}");
    // TIME_WAIT ends (2 minutes) and a periodic sync deletes the drained server.
    c.advance(SimDuration::from_secs(200));
    let listing = c.exec(&node("node01"), "ipvsadm -Ln -t 10.32.1.148:30380").stdout;
    assert_eq!(listing.lines().filter(|l| l.starts_with("  -> 10.")).count(), 1, "{listing}");
}

/// Lab 001's cluster (the article's nodes, with docker0) and its NodePort files.
fn lab_001() -> Cluster {
    let mut config = ClusterConfig::default_cluster();
    config.proxy_mode = Some(ProxyMode::Ipvs);
    config.docker0 = true;
    let mut c = Cluster::new(config, &ProxySettings::default(), 1).unwrap();
    c.settle(SimDuration::from_secs(120));
    let lab = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/labs/001-layer4-proxy/");
    for f in ["pod_nodeport.yaml", "service_nodeport.yaml"] {
        let text = std::fs::read_to_string(format!("{lab}{f}")).unwrap();
        let loaded = load_str(f, &text);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        for r in &c.apply(&loaded.objects) {
            assert!(r.result.is_ok(), "{}", r.kubectl_line());
        }
    }
    c.settle(SimDuration::from_secs(120));
    c
}

// Article 001's `ipvsadm -Ln` on the master: the NodePort on docker0's 172.17.0.1 and on
// 10.32.1.147 (and on cni0's 10.244.0.1, which the article's calico nodes do not have), rr,
// Masq, weight 1, plus the ClusterIPs.
#[test]
fn ipvsadm_of_lab_001() {
    let mut c = lab_001();
    let out = c.exec(&node("master"), "ipvsadm -Ln");
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout);
}

// A KubeProxyConfiguration with `mode: ipvs` selects the mode on every node, and its
// `ipvs.scheduler` the virtual servers' scheduler.
#[test]
fn kube_proxy_configuration_selects_ipvs_and_its_scheduler() {
    let doc = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  scheduler: lc\n";
    let loaded = load_str("kube-proxy.yaml", doc);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let sim_k8s::api::Object::KubeProxyConfiguration(k) = &loaded.objects[0].value else {
        panic!("not a KubeProxyConfiguration")
    };
    let settings = sim_k8s::cluster::build::proxy_settings_from(k);
    assert_eq!(settings.mode, Some(ProxyMode::Ipvs));
    let mut c = Cluster::new(ClusterConfig::default_cluster(), &settings, 7).unwrap();
    c.settle(SimDuration::from_secs(120));
    assert!(c.world().nodes.iter().all(|n| n.proxy.config.mode == ProxyMode::Ipvs));
    let out = c.exec(&node("node02"), "ipvsadm -Ln -t 10.96.0.1:443");
    assert!(out.stdout.contains("TCP  10.96.0.1:443 lc"), "{}{}", out.stdout, out.stderr);
}

fn ipvs_with(settings: &ProxySettings) -> Cluster {
    let mut config = ClusterConfig::default_cluster();
    config.proxy_mode = Some(ProxyMode::Ipvs);
    let mut c = Cluster::new(config, settings, 7).unwrap();
    c.settle(SimDuration::from_secs(120));
    c
}

/// The nodes that answer the client's broadcast `who-has IP` on the node network.
fn arp_answers(c: &Cluster, target: &str) -> Vec<String> {
    let net = &c.world().net;
    let seg = sim_net::iface::SegmentId(0);
    let sender = "10.32.1.200".parse().unwrap();
    net.arp_who_has(seg, sender, target.parse().unwrap())
        .into_iter()
        .filter_map(|h| net.host(h).map(|h| h.name.clone()))
        .collect()
}

// Why strictARP exists: kube-ipvs0 holds every ClusterIP/LB IP, and with arp_ignore=0 the
// kernel answers ARP for any local address on any interface — every node claims the VIP on
// the node network (MetalLB L2 then breaks). With strictARP (arp_ignore=1) only an address
// configured on the receiving interface (eth0) is answered.
#[test]
fn strict_arp_stops_the_nodes_answering_arp_for_vips() {
    let c = ipvs_with(&ProxySettings::default());
    let kubernetes_vip = "10.96.0.1";
    let answers = arp_answers(&c, kubernetes_vip);
    assert_eq!(answers.len(), 3, "every node answers for the VIP: {answers:?}");
    assert_eq!(arp_answers(&c, "10.32.1.147"), ["master"], "a node IP: its node only");

    let strict = ProxySettings {
        ipvs: sim_k8s::api::proxy_config::IpvsConfig { strict_arp: Some(true), ..Default::default() },
        ..ProxySettings::default()
    };
    let mut c = ipvs_with(&strict);
    assert!(arp_answers(&c, kubernetes_vip).is_empty());
    assert_eq!(arp_answers(&c, "10.32.1.147"), ["master"]);
    let out = c.exec(&node("node01"), "sysctl net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce");
    assert_eq!(out.stdout, "net.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2\n");
    // Undo it by hand and the node claims the VIP again.
    let out = c.exec(&node("node01"), "sysctl -w net.ipv4.conf.all.arp_ignore=0");
    assert_eq!((out.stdout.as_str(), out.exit_code), ("net.ipv4.conf.all.arp_ignore = 0\n", 0));
    assert_eq!(arp_answers(&c, kubernetes_vip), ["node01"]);
}

// ipvs.tcpTimeout/tcpFinTimeout/udpTimeout reach the kernel at start-up (`ipvsadm --set`
// semantics: a zero one keeps the kernel's value).
#[test]
fn ipvs_timeouts_come_from_the_config() {
    let d = |s: i64| Some(sim_k8s::api::duration::GoDuration::from_secs(s));
    let settings = ProxySettings {
        ipvs: sim_k8s::api::proxy_config::IpvsConfig {
            tcp_timeout: d(3600),
            udp_timeout: d(60),
            ..Default::default()
        },
        ..ProxySettings::default()
    };
    let mut c = ipvs_with(&settings);
    let out = c.exec(&node("master"), "ipvsadm -L --timeout");
    assert_eq!(out.stdout, "Timeout (tcp tcpfin udp): 3600 120 60\n");
    let mut plain = ipvs_with(&ProxySettings::default());
    assert_eq!(
        plain.exec(&node("master"), "ipvsadm -L --timeout").stdout,
        "Timeout (tcp tcpfin udp): 900 120 300\n"
    );
}
