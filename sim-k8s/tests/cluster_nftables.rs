//! kube-proxy in nftables mode, end to end: manifests → controllers → kube-proxy's nftables
//! transaction → packets evaluated by the nftables engine → replies un-NATed.

use sim_core::SimDuration;
use sim_k8s::cluster::build::{ProxySettings, proxy_settings_from};
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
  selector: {run: my-nginx}
  ports: [{port: 80, nodePort: 30380}]
---
apiVersion: v1
kind: Service
metadata: {name: ghost}
spec:
  clusterIP: 10.96.5.5
  selector: {app: nobody}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: busybox}
spec:
  containers: [{name: busybox, image: busybox:1.36, command: [sleep, "3600"]}]
"#;

fn cluster_with(proxy: &ProxySettings, config: ClusterConfig, manifests: &str) -> Cluster {
    let mut c = Cluster::new(config, proxy, 7).unwrap();
    c.settle(SimDuration::from_secs(120));
    let loaded = load_str("nginx.yaml", manifests);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    for r in &c.apply(&loaded.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    let took = c.settle(SimDuration::from_secs(120));
    assert!(c.settled(), "not settled after {took}");
    c
}

fn cluster() -> Cluster {
    let mut config = ClusterConfig::default_cluster();
    config.proxy_mode = Some(ProxyMode::Nftables);
    cluster_with(&ProxySettings::default(), config, NGINX)
}

#[test]
fn pod_reaches_a_cluster_ip_through_the_nft_table() {
    let mut c = cluster();
    let busybox = c.resolve_target("pod/busybox").unwrap();
    let out = c.exec(&busybox, "wget -qO- my-nginx");
    assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("Welcome to nginx!"));
    let conn = out.connection.unwrap();
    assert!(conn.served_by.unwrap().starts_with("pod/my-nginx-"));

    // The node's rules are kube-proxy's nftables table; its iptables tables hold no KUBE- chain.
    let node = Target::Node("node01".into());
    let nft = c.exec(&node, "nft list ruleset");
    assert_eq!(nft.exit_code, 0, "{}", nft.stderr);
    assert!(nft.stdout.starts_with("table ip kube-proxy {\n"), "{}", nft.stdout);
    assert!(nft.stdout.contains("map service-ips {"));
    let save = c.exec(&node, "iptables-save");
    assert!(!save.stdout.contains("KUBE-SERVICES"), "{}", save.stdout);
    let chain = c.exec(&node, "nft list chain ip kube-proxy services");
    assert!(chain.stdout.contains("vmap @service-ips"), "{}", chain.stdout);
    assert_eq!(c.exec(&node, "nft list table ip nope").exit_code, 1);
}

#[test]
fn node_port_from_outside_is_masqueraded() {
    let mut c = cluster();
    let client = Target::Host("client".into());
    let out = c.exec(&client, "curl -s 10.32.1.149:30380");
    assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    let conn = out.connection.unwrap();
    assert!(conn.served_by.unwrap().starts_with("pod/my-nginx-"));
    assert_ne!(conn.client_seen.unwrap().ip().to_string(), "10.32.1.200");
}

#[test]
fn no_endpoints_is_refused() {
    let mut c = cluster();
    let busybox = c.resolve_target("pod/busybox").unwrap();
    let out = c.exec(&busybox, "nc -z -w 2 10.96.5.5 80");
    assert_ne!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.connection.and_then(|r| r.disposition).as_deref(), Some("rejected"));
}

#[test]
fn later_syncs_follow_service_changes() {
    let mut c = cluster();
    let node = Target::Node("node01".into());
    let rules = c.exec(&node, "nft list ruleset").stdout;
    assert!(rules.contains("10.96.5.5 . tcp . 80 comment \"default/ghost\" : goto reject-chain"), "{rules}");
    let loaded = load_str(
        "del.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: ghost}\nspec:\n  clusterIP: 10.96.5.5\n  selector: {app: nobody}\n  ports: [{name: web, port: 80}, {name: alt, port: 8080}]\n",
    );
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    for r in &c.apply(&loaded.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    c.settle(SimDuration::from_secs(120));
    let rules = c.exec(&node, "nft list ruleset").stdout;
    assert!(
        rules.contains("10.96.5.5 . tcp . 8080 comment \"default/ghost:alt\" : goto reject-chain"),
        "{rules}"
    );
    // A pod answers the service now: its reject element is replaced by a dispatch element.
    let loaded = load_str(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ghost, labels: {app: nobody}}\nspec:\n  containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]\n",
    );
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    for r in &c.apply(&loaded.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    c.settle(SimDuration::from_secs(120));
    let rules = c.exec(&node, "nft list ruleset").stdout;
    assert!(!rules.contains("\"default/ghost:web\" : goto reject-chain"), "{rules}");
    assert!(rules.contains("10.96.5.5 . tcp . 80 : goto service-"), "{rules}");
    let busybox = c.resolve_target("pod/busybox").unwrap();
    let out = c.exec(&busybox, "wget -qO- 10.96.5.5");
    assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    assert_matches_a_fresh_full_sync(&mut c, "node01");
}

/// The table a node holds after its (partial) syncs is the one a full sync of today's view
/// loads into a fresh host (chains and sets compared by name).
fn assert_matches_a_fresh_full_sync(c: &mut Cluster, node: &str) {
    use sim_k8s::kube_proxy::nftables::{Desired, Existing, TABLE, full_sync};
    use sim_net::nftables::{Family, Nftables};
    let normalized = |nft: &Nftables| {
        let t = nft.ruleset().table(Family::Ip, TABLE).unwrap();
        let mut items: Vec<String> =
            t.sets.keys().filter_map(|s| nft.list_set(Family::Ip, TABLE, s)).collect();
        items.extend(t.chains.keys().filter_map(|ch| nft.list_chain(Family::Ip, TABLE, ch)));
        items.sort();
        items.join("")
    };
    c.world_mut().load_rules_of(node);
    let w = c.world();
    let i = w.node_index(node).unwrap();
    let view =
        sim_k8s::cluster::proxy_view::ProxySnapshot::build(0, w.api.services(), w.api.endpoint_slices());
    let config = &w.nodes[i].proxy.config;
    let desired = Desired::build(config, &view.services, &view.endpoints);
    let mut fresh = Nftables::new();
    fresh.apply(&full_sync(config, &[w.config.service_cidr], &desired, &Existing::default())).unwrap();
    let loaded = w.net.host(w.nodes[i].host).unwrap().netfilter.nftables();
    assert_eq!(normalized(loaded), normalized(&fresh));
}

#[test]
fn kube_proxy_configuration_selects_nftables() {
    let loaded = load_str(
        "kp.yaml",
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: nftables\n",
    );
    let Some(sim_k8s::api::Object::KubeProxyConfiguration(k)) = loaded.objects.first().map(|l| &l.value)
    else {
        panic!("{:?}", loaded.errors);
    };
    let settings = proxy_settings_from(k);
    assert_eq!(settings.mode, Some(ProxyMode::Nftables));
    let mut c = cluster_with(&settings, ClusterConfig::default_cluster(), NGINX);
    let out = c.exec(&Target::Node("node02".into()), "nft list table ip kube-proxy");
    assert!(out.stdout.contains("chain nat-prerouting {"), "{}", out.stdout);
}

#[test]
fn nft_list_ruleset_snapshot() {
    let mut c = cluster();
    let out = c.exec(&Target::Node("node01".into()), "nft list ruleset");
    insta::assert_snapshot!(out.stdout);
}

/// A node's table loaded lazily (one full sync when first looked at) holds the rules an eager
/// kube-proxy (a full sync, then partial syncs at every change) leaves; only `nft list`'s
/// chain order differs (creation order), so chains and sets are compared by name.
#[test]
fn lazy_nft_rules_equal_eager_rules() {
    use sim_net::nftables::Family;
    let run = |eager: bool| {
        let mut config = ClusterConfig::default_cluster();
        config.proxy_mode = Some(ProxyMode::Nftables);
        let mut c = Cluster::new(config, &ProxySettings::default(), 7).unwrap();
        c.world_mut().set_eager_rules(eager);
        c.settle(SimDuration::from_secs(120));
        let loaded = load_str("nginx.yaml", NGINX);
        c.apply(&loaded.objects);
        c.settle(SimDuration::from_secs(120));
        for line in [
            "scale deployment my-nginx --replicas=3",
            "expose deployment my-nginx --name=extra --port=8080 --target-port=80",
            "delete service ghost",
            "scale deployment my-nginx --replicas=1",
        ] {
            let out = c.kubectl_line(line, std::path::Path::new("."));
            assert_eq!(out.exit_code, 0, "{line}: {}{}", out.stdout, out.stderr);
            c.settle(SimDuration::from_secs(120));
        }
        let names: Vec<String> = c.world().nodes.iter().map(|n| n.name.clone()).collect();
        names
            .iter()
            .map(|name| {
                c.world_mut().load_rules_of(name);
                let w = c.world();
                let i = w.node_index(name).unwrap();
                let nft = w.net.host(w.nodes[i].host).unwrap().netfilter.nftables();
                let t = nft.ruleset().table(Family::Ip, "kube-proxy").unwrap();
                let mut items: Vec<String> =
                    t.sets.keys().filter_map(|s| nft.list_set(Family::Ip, "kube-proxy", s)).collect();
                items.extend(t.chains.keys().filter_map(|ch| nft.list_chain(Family::Ip, "kube-proxy", ch)));
                items.sort();
                format!("# {name}\n{}", items.join(""))
            })
            .collect::<Vec<_>>()
    };
    let lazy = run(false);
    let eager = run(true);
    assert!(lazy[1].contains("default/extra/tcp/"), "{}", lazy[1]);
    assert_eq!(lazy, eager);
}
