//! The ingress-nginx controller end to end: upstream's deploy.yaml loads (its RBAC, Jobs,
//! ConfigMap and webhook configuration listed as not simulated), the controller pod runs,
//! publishes its LoadBalancer address on the Ingresses, and routes curl's requests by Host and
//! path to the backends — a second connection from the controller pod to an endpoint through
//! the dataplane, with the X-Forwarded-* headers the backend prints.

use std::net::Ipv4Addr;

use sim_core::SimDuration;
use sim_k8s::cluster::build::ProxySettings;
use sim_k8s::cluster::{Cluster, ClusterConfig, Target};
use sim_k8s::manifest::load_str;

const DEPLOY: &str = include_str!("manifests/ingress-nginx-deploy.yaml");

const APPS: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "k8s.gcr.io/echoserver:1.10", ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: hello}
spec:
  replicas: 1
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      containers: [{name: hello, image: "gcr.io/google-samples/hello-app:2.0"}]
---
apiVersion: v1
kind: Service
metadata: {name: hello}
spec:
  selector: {app: hello}
  ports: [{port: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: example}
spec:
  ingressClassName: nginx
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
  - host: hello.example.com
    http:
      paths:
      - {path: /v2, pathType: Prefix, backend: {service: {name: hello, port: {number: 8080}}}}
      - {path: /missing, pathType: Prefix, backend: {service: {name: nothere, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: other-class}
spec:
  ingressClassName: traefik
  rules:
  - host: other.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
"#;

fn cluster() -> (Cluster, Ipv4Addr) {
    let mut config = ClusterConfig::default_cluster();
    config.lb_pool = vec![Ipv4Addr::new(10, 32, 1, 240)];
    let mut c = Cluster::new(config, &ProxySettings::default(), 7).unwrap();
    c.settle(SimDuration::from_secs(60));
    let deploy = load_str("deploy.yaml", DEPLOY);
    assert!(deploy.errors.is_empty(), "{:?}", deploy.errors);
    let skipped: Vec<String> = deploy.not_simulated.iter().map(|n| n.to_string()).collect();
    assert!(skipped.iter().any(|s| s.contains("ValidatingWebhookConfiguration ingress-nginx-admission")), "{skipped:?}");
    assert!(skipped.iter().any(|s| s.contains("Role ingress-nginx/ingress-nginx")), "{skipped:?}");
    for r in c.apply(&deploy.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    let apps = load_str("apps.yaml", APPS);
    assert!(apps.errors.is_empty(), "{:?}", apps.errors);
    for r in c.apply(&apps.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    c.settle(SimDuration::from_secs(120));
    (c, Ipv4Addr::new(10, 32, 1, 240))
}

#[test]
fn deploy_yaml_installs_a_controller_that_routes_by_host_and_path() {
    let (mut c, lb) = cluster();
    let get = c.kubectl_line("get ingress", std::path::Path::new("."));
    assert!(get.stdout.contains("example       nginx     web.example.com,hello.example.com   10.32.1.240   80"), "{}", get.stdout);
    // The Ingress of another class is not served, so it gets no address.
    assert!(get.stdout.contains("other-class   traefik   other.example.com                                 80"), "{}", get.stdout);

    let client = Target::Host("client".into());
    let out = c.exec(&client, &format!("curl -s -H 'Host: web.example.com' http://{lb}/foo?x=1"));
    assert_eq!(out.exit_code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("Hostname: web-"), "{}", out.stdout);
    assert!(out.stdout.contains("\tx-forwarded-host=web.example.com\n"), "{}", out.stdout);
    assert!(out.stdout.contains("\tx-forwarded-proto=http\n"), "{}", out.stdout);
    assert!(out.stdout.contains("real path=/foo\n\tquery=x=1\n"), "{}", out.stdout);
    // The backend sees the controller pod as its client; nginx's X-Real-IP carries the client
    // nginx saw (externalTrafficPolicy: Local in deploy.yaml keeps the real one).
    assert!(out.stdout.contains("\tx-real-ip=10.32.1.200\n"), "{}", out.stdout);
    let report = out.connection.unwrap();
    assert!(report.served_by.as_deref().is_some_and(|s| s.starts_with("pod/ingress-nginx/ingress-nginx-controller-")), "{report:?}");

    let out = c.exec(&client, &format!("curl -s --resolve hello.example.com:80:{lb} http://hello.example.com/v2/x"));
    assert_eq!(out.stdout.lines().take(2).collect::<Vec<_>>(), ["Hello, world!", "Version: 2.0.0"]);

    let out = c.exec(&client, &format!("curl -si -H 'Host: hello.example.com' http://{lb}/elsewhere"));
    assert!(out.stdout.starts_with("HTTP/1.1 404 Not Found\r\n"), "{}", out.stdout);
    assert!(out.stdout.contains("Content-Length: 146\r\n"), "{}", out.stdout);
    assert!(out.stdout.ends_with("<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"), "{}", out.stdout);

    let out = c.exec(&client, &format!("curl -s -o /dev/null -w '%{{http_code}}' -H 'Host: hello.example.com' http://{lb}/missing"));
    assert_eq!(out.stdout, "503");
    let log = c.world().ingress.borrow().log.join("\n");
    assert!(log.contains("Error obtaining Endpoints for Service \"default/nothere\""), "{log}");
    assert!(log.contains("\"GET /foo?x=1 HTTP/1.1\" 200"), "{log}");
}

