//! Gateway API end to end with the simulated NGINX Gateway Fabric: the CRDs and the
//! controller's manifest applied as a user applies them, a Gateway provisioned with its own
//! nginx Deployment and LoadBalancer Service, and requests from an external host routed by
//! HTTPRoutes — the weighted split counted over many requests (conformance
//! `httproute-weight.go` checks the same proportions with a tolerance), an invalid backend's
//! share answered 500, and the custom kinds refused before their CRDs exist.

use std::net::Ipv4Addr;

use sim_core::SimDuration;
use sim_k8s::cluster::build::ProxySettings;
use sim_k8s::cluster::{Cluster, ClusterConfig, Target};
use sim_k8s::gateway::GatewayAddon;
use sim_k8s::manifest::load_str;

const APPS: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: v1}
spec:
  replicas: 2
  selector: {matchLabels: {app: v1}}
  template:
    metadata: {labels: {app: v1}}
    spec:
      containers: [{name: hello, image: "gcr.io/google-samples/hello-app:1.0"}]
---
apiVersion: v1
kind: Service
metadata: {name: v1}
spec:
  selector: {app: v1}
  ports: [{port: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: v2}
spec:
  replicas: 1
  selector: {matchLabels: {app: v2}}
  template:
    metadata: {labels: {app: v2}}
    spec:
      containers: [{name: hello, image: "gcr.io/google-samples/hello-app:2.0"}]
---
apiVersion: v1
kind: Service
metadata: {name: v2}
spec:
  selector: {app: v2}
  ports: [{port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: nginx
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: split}
spec:
  parentRefs: [{name: gw}]
  hostnames: [split.example.com]
  rules:
  - backendRefs:
    - {name: v1, port: 8080, weight: 70}
    - {name: v2, port: 8080, weight: 20}
    - {name: missing, port: 8080, weight: 10}
"#;

fn cluster() -> Cluster {
    let mut config = ClusterConfig::default_cluster();
    config.lb_pool = vec![Ipv4Addr::new(10, 32, 1, 240)];
    let mut c = Cluster::new(config, &ProxySettings::default(), 11).unwrap();
    c.settle(SimDuration::from_secs(60));
    for (name, text) in GatewayAddon::NginxGatewayFabric.manifests() {
        let out = load_str(name, text);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        for r in c.apply(&out.objects) {
            assert!(r.result.is_ok(), "{}", r.kubectl_line());
        }
    }
    c.settle(SimDuration::from_secs(60));
    let apps = load_str("apps.yaml", APPS);
    assert!(apps.errors.is_empty(), "{:?}", apps.errors);
    for r in c.apply(&apps.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    c.settle(SimDuration::from_secs(120));
    c
}

#[test]
fn weights_split_requests_and_an_invalid_backends_share_is_500() {
    let mut c = cluster();
    let get = c.kubectl_line("get gateway", std::path::Path::new("."));
    assert!(get.stdout.contains("gw     nginx   10.32.1.240   True"), "{}", get.stdout);
    let status = c.kubectl_line(
        "get httproute split -o jsonpath={.status.parents[0].conditions[1].reason}",
        std::path::Path::new("."),
    );
    assert_eq!(status.stdout.trim(), "BackendNotFound", "{}{}", status.stdout, status.stderr);
    let client = Target::Host("client".into());
    let (mut v1, mut v2, mut errors) = (0usize, 0usize, 0usize);
    const N: usize = 1000;
    for _ in 0..N {
        let out =
            c.exec(&client, "curl -s -w '%{http_code}' -H 'Host: split.example.com' http://10.32.1.240/");
        if out.stdout.ends_with("500") {
            errors += 1;
        } else if out.stdout.contains("Version: 1.0.0") && out.stdout.ends_with("200") {
            v1 += 1;
        } else if out.stdout.contains("Version: 2.0.0") && out.stdout.ends_with("200") {
            v2 += 1;
        } else {
            panic!("unexpected answer: {}{}", out.stdout, out.stderr);
        }
    }
    // 70 : 20 : 10, each within 3 points (the seeded stream gives the same counts every run).
    for (got, want) in [(v1, 700usize), (v2, 200), (errors, 100)] {
        assert!(got.abs_diff(want) <= 30, "v1 {v1}, v2 {v2}, 500s {errors} of {N}");
    }
}

#[test]
fn gateway_kinds_need_their_crds() {
    let mut c = Cluster::new(ClusterConfig::default_cluster(), &ProxySettings::default(), 1).unwrap();
    let out = load_str(
        "gw.yaml",
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec:\n  rules: [{backendRefs: [{name: web, port: 80}]}]\n",
    );
    let reports = c.apply(&out.objects);
    assert_eq!(
        reports[0].kubectl_line(),
        "error: resource mapping not found for name: \"r\" namespace: \"\" from \"gw.yaml\": no matches for kind \"HTTPRoute\" in version \"gateway.networking.k8s.io/v1\"\nensure CRDs are installed first\n"
    );
}
