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

const DEPLOY: &str = include_str!("../../scenarios/manifests/ingress-nginx-cloud-deploy.yaml");

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

fn controller_pod(c: &Cluster) -> String {
    c.world()
        .pods
        .keys()
        .find_map(|k| k.strip_prefix("ingress-nginx/").map(str::to_string))
        .unwrap_or_default()
}

fn cluster() -> (Cluster, Ipv4Addr) {
    let mut config = ClusterConfig::default_cluster();
    config.lb_pool = vec![Ipv4Addr::new(10, 32, 1, 240)];
    let mut c = Cluster::new(config, &ProxySettings::default(), 7).unwrap();
    c.settle(SimDuration::from_secs(60));
    let deploy = load_str("deploy.yaml", DEPLOY);
    assert!(deploy.errors.is_empty(), "{:?}", deploy.errors);
    let skipped: Vec<String> = deploy.not_simulated.iter().map(|n| n.to_string()).collect();
    assert!(skipped.iter().any(|s| s.contains("Role ingress-nginx/ingress-nginx")), "{skipped:?}");
    // The webhook registration is stored: the API server calls the controller's admission
    // webhook for every Ingress from now on.
    assert!(deploy.objects.iter().any(|o| o.value.name() == "ingress-nginx-admission"
        && o.value.kind() == sim_k8s::api::Kind::ValidatingWebhookConfiguration));
    for r in c.apply(&deploy.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    // As the quick start says: wait for the controller before creating Ingresses (its webhook
    // refuses nothing it cannot be reached for: failurePolicy Fail).
    c.settle(SimDuration::from_secs(120));
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
    assert!(
        get.stdout.contains("example       nginx     web.example.com,hello.example.com   10.32.1.240   80"),
        "{}",
        get.stdout
    );
    // The Ingress of another class is not served, so it gets no address.
    assert!(
        get.stdout.contains("other-class   traefik   other.example.com                                 80"),
        "{}",
        get.stdout
    );

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
    // The answer came from a web pod, which saw the controller pod as its client; the
    // controller is the proxy in between.
    let report = out.connection.unwrap();
    assert!(report.served_by.as_deref().is_some_and(|s| s.starts_with("pod/web-")), "{report:?}");
    assert!(report.via[0].starts_with("pod/ingress-nginx/ingress-nginx-controller-"), "{report:?}");
    let controller_ip = report.client_seen.map(|a| a.ip().to_string()).unwrap_or_default();
    assert!(out.stdout.contains(&format!("client_address={controller_ip}\n")), "{}", out.stdout);

    let out = c
        .exec(&client, &format!("curl -s --resolve hello.example.com:80:{lb} http://hello.example.com/v2/x"));
    assert_eq!(out.stdout.lines().take(2).collect::<Vec<_>>(), ["Hello, world!", "Version: 2.0.0"]);

    let out = c.exec(&client, &format!("curl -si -H 'Host: hello.example.com' http://{lb}/elsewhere"));
    assert!(out.stdout.starts_with("HTTP/1.1 404 Not Found\r\n"), "{}", out.stdout);
    assert!(out.stdout.contains("Content-Length: 146\r\n"), "{}", out.stdout);
    assert!(out.stdout.ends_with("<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"), "{}", out.stdout);

    let out = c.exec(
        &client,
        &format!("curl -s -o /dev/null -w '%{{http_code}}' -H 'Host: hello.example.com' http://{lb}/missing"),
    );
    assert_eq!(out.stdout, "503");
    // curl -v: the request it sent and the response head, on stderr, as curl 8 prints them.
    let out = c.exec(&client, &format!("curl -sv -o /dev/null -H 'Host: web.example.com' http://{lb}/"));
    let want = format!(
        "*   Trying {lb}:80...\n* Connected to {lb} ({lb}) port 80\n> GET / HTTP/1.1\n> Host: web.example.com\n> User-Agent: curl/8.5.0\n> Accept: */*\n> \n< HTTP/1.1 200 OK\n< Date: "
    );
    assert!(out.stderr.starts_with(&want), "{}", out.stderr);
    assert!(
        out.stderr.ends_with(&format!("< \n* Connection #0 to host {lb} left intact\n")),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
    // BusyBox wget from a pod, by the controller Service's cluster DNS name, with -S.
    let out = c.exec(
        &Target::Pod { namespace: "ingress-nginx".into(), name: controller_pod(&c) },
        "wget -S -O - --header 'Host: hello.example.com' http://ingress-nginx-controller/v2",
    );
    assert!(out.stderr.contains("  HTTP/1.1 200 OK\n"), "{}", out.stderr);
    assert!(out.stdout.starts_with("Hello, world!\nVersion: 2.0.0\n"), "{}{}", out.stdout, out.stderr);
    let log = c.world().ingress.borrow().log.join("\n");
    assert!(log.contains("Error obtaining Endpoints for Service \"default/nothere\""), "{log}");
    assert!(log.contains("\"GET /foo?x=1 HTTP/1.1\" 200"), "{log}");
    // `kubectl logs` of the controller pod prints the same lines.
    let line = format!("logs -n ingress-nginx {}", controller_pod(&c));
    let out = c.kubectl_line(&line, std::path::Path::new("."));
    assert_eq!((out.exit_code, out.stdout.trim_end()), (0, log.as_str()), "{}", out.stderr);
}

const ANNOTATED: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: canary}
spec:
  replicas: 1
  selector: {matchLabels: {app: canary}}
  template:
    metadata: {labels: {app: canary}}
    spec:
      containers: [{name: hello, image: "gcr.io/google-samples/hello-app:2.0"}]
---
apiVersion: v1
kind: Service
metadata: {name: canary}
spec:
  selector: {app: canary}
  ports: [{port: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: main}
spec:
  ingressClassName: nginx
  tls: [{hosts: [secure.example.com], secretName: secure-tls}]
  rules:
  - host: app.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: hello, port: {number: 8080}}}}]
  - host: secure.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: hello, port: {number: 8080}}}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: main-canary
  annotations:
    nginx.ingress.kubernetes.io/canary: "true"
    nginx.ingress.kubernetes.io/canary-by-header: X-Canary
    nginx.ingress.kubernetes.io/canary-weight: "50"
spec:
  ingressClassName: nginx
  rules:
  - host: app.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: canary, port: {number: 8080}}}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: sticky
  annotations:
    nginx.ingress.kubernetes.io/affinity: cookie
spec:
  ingressClassName: nginx
  rules:
  - host: sticky.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: guarded
  annotations:
    nginx.ingress.kubernetes.io/whitelist-source-range: 192.0.2.0/24
spec:
  ingressClassName: nginx
  rules:
  - host: guarded.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: rewrite
  annotations:
    nginx.ingress.kubernetes.io/rewrite-target: /$2
spec:
  ingressClassName: nginx
  rules:
  - host: rewrite.example.com
    http:
      paths: [{path: /api(/|$)(.*), pathType: ImplementationSpecific, backend: {service: {name: web, port: {number: 80}}}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: tls-backend
  annotations:
    nginx.ingress.kubernetes.io/backend-protocol: HTTPS
spec:
  ingressClassName: nginx
  rules:
  - host: tls.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]
"#;

#[test]
fn annotations_canary_affinity_allow_list_redirects_rewrite_and_protocol() {
    let (mut c, lb) = cluster();
    let extra = load_str("annotated.yaml", ANNOTATED);
    assert!(extra.errors.is_empty(), "{:?}", extra.errors);
    for r in c.apply(&extra.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    c.settle(SimDuration::from_secs(60));
    let client = Target::Host("client".into());
    let curl = |c: &mut Cluster, args: &str| c.exec(&client, &format!("curl -s {args} http://{lb}/"));

    // Header canary: always / never, else the seeded 50% weight (both sides seen).
    assert!(
        curl(&mut c, "-H 'Host: app.example.com' -H 'X-Canary: always'").stdout.contains("Hostname: canary-")
    );
    assert!(
        curl(&mut c, "-H 'Host: app.example.com' -H 'X-Canary: never'").stdout.contains("Hostname: hello-")
    );
    let canaries = (0..20)
        .filter(|_| curl(&mut c, "-H 'Host: app.example.com'").stdout.contains("Hostname: canary-"))
        .count();
    assert!((3..=17).contains(&canaries), "{canaries} of 20 to the canary");

    // Cookie affinity: the first answer sets the cookie, which then pins the endpoint.
    let first = curl(&mut c, "-i -H 'Host: sticky.example.com'");
    let cookie = first
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Set-Cookie: "))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no Set-Cookie in {}", first.stdout));
    assert!(cookie.starts_with("INGRESSCOOKIE="), "{cookie}");
    let pod = |out: &str| out.lines().find(|l| l.starts_with("Hostname: ")).map(str::to_string);
    let pinned = pod(&first.stdout);
    for _ in 0..4 {
        let again = curl(&mut c, &format!("-H 'Host: sticky.example.com' -H 'Cookie: {cookie}'"));
        assert_eq!(pod(&again.stdout), pinned);
    }

    // whitelist-source-range: the client 10.32.1.200 is not in 192.0.2.0/24.
    let out = curl(&mut c, "-o /dev/null -w '%{http_code}' -H 'Host: guarded.example.com'");
    assert_eq!(out.stdout, "403");

    // ssl-redirect: the host has TLS, so plain HTTP is sent to https with a 308.
    let out = curl(&mut c, "-I -H 'Host: secure.example.com'");
    assert!(out.stdout.starts_with("HTTP/1.1 308 Permanent Redirect\r\n"), "{}", out.stdout);
    assert!(out.stdout.contains("Location: https://secure.example.com/\r\n"), "{}", out.stdout);

    // rewrite-target: /api/echo?q=1 reaches the backend as /echo?q=1.
    let out = c.exec(&client, &format!("curl -s -H 'Host: rewrite.example.com' 'http://{lb}/api/echo?q=1'"));
    assert!(out.stdout.contains("real path=/echo\n\tquery=q=1\n"), "{}", out.stdout);

    // backend-protocol: HTTPS to a plain HTTP pod: the handshake fails, 502.
    let out = curl(&mut c, "-o /dev/null -w '%{http_code}' -H 'Host: tls.example.com'");
    assert_eq!(out.stdout, "502");
    let log = c.world().ingress.borrow().log.join("\n");
    assert!(log.contains("upstream prematurely closed connection"), "{log}");
}

#[test]
fn the_default_ingress_class_is_set_on_create() {
    use sim_k8s::api::{Kind, Object};
    let (mut c, _) = cluster();
    let patch = c.kubectl_line(
        r#"patch ingressclass nginx -p '{"metadata":{"annotations":{"ingressclass.kubernetes.io/is-default-class":"true"}}}'"#,
        std::path::Path::new("."),
    );
    assert_eq!(patch.exit_code, 0, "{}", patch.stderr);
    let ing = load_str(
        "plain.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: plain}\nspec:\n  defaultBackend: {service: {name: web, port: {number: 80}}}\n",
    );
    for r in c.apply(&ing.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    let Some(Object::Ingress(i)) = c.world().api.get_named(Kind::Ingress, "default", "plain") else {
        panic!()
    };
    assert_eq!(i.class_name().as_deref(), Some("nginx"));
}

fn kubectl_apply(c: &mut Cluster, name: &str, yaml: &str) -> (i32, String) {
    let loaded = load_str(name, yaml);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let mut exit = 0;
    let mut out = String::new();
    for r in c.apply(&loaded.objects) {
        if let Err(e) = &r.result {
            exit = 1;
            out.push_str(&e.kubectl_message(Some(("creating", name))));
        }
    }
    (exit, out)
}

const DUPLICATE: &str = r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: duplicate}
spec:
  ingressClassName: nginx
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: hello, port: {number: 8080}}}}
"#;

#[test]
fn the_admission_webhook_refuses_what_ingress_nginx_refuses() {
    let (mut c, _) = cluster();
    // Host and path already claimed by default/example.
    let (exit, msg) = kubectl_apply(&mut c, "dup.yaml", DUPLICATE);
    assert_eq!(exit, 1);
    assert_eq!(
        msg,
        "Error from server (BadRequest): error when creating \"dup.yaml\": admission webhook \"validate.nginx.ingress.kubernetes.io\" denied the request: host \"web.example.com\" and path \"/\" is already defined in ingress default/example\n"
    );
    // A regex needs ImplementationSpecific (strict-validate-path-type).
    let regex = DUPLICATE
        .replace("web.example.com", "re.example.com")
        .replace("path: /,", "path: \"/api(/|$)(.*)\",");
    let (_, msg) = kubectl_apply(&mut c, "re.yaml", &regex);
    assert!(
        msg.ends_with("denied the request: ingress contains invalid paths: path /api(/|$)(.*) cannot be used with pathType Prefix\n"),
        "{msg}"
    );
    // Snippets are disabled by default.
    let snippet = DUPLICATE.replace("web.example.com", "sn.example.com").replace(
        "metadata: {name: duplicate}",
        "metadata: {name: sn, annotations: {nginx.ingress.kubernetes.io/server-snippet: \"return 200;\"}}",
    );
    let (_, msg) = kubectl_apply(&mut c, "sn.yaml", &snippet);
    assert!(msg.contains("nginx.ingress.kubernetes.io/server-snippet annotation cannot be used. Snippet directives are disabled by the Ingress administrator"), "{msg}");
    // An Ingress of another class is not the webhook's concern.
    let other = DUPLICATE.replace("ingressClassName: nginx", "ingressClassName: traefik");
    assert_eq!(kubectl_apply(&mut c, "other.yaml", &other).0, 0);

    // With no controller ready the webhook cannot be called, and failurePolicy Fail refuses.
    let scale = c.kubectl_line(
        "scale deployment ingress-nginx-controller -n ingress-nginx --replicas=0",
        std::path::Path::new("."),
    );
    assert_eq!(scale.exit_code, 0, "{}", scale.stderr);
    c.settle(SimDuration::from_secs(60));
    let fresh =
        DUPLICATE.replace("web.example.com", "fresh.example.com").replace("name: duplicate", "name: fresh");
    let (exit, msg) = kubectl_apply(&mut c, "fresh.yaml", &fresh);
    assert_eq!(exit, 1);
    assert!(msg.starts_with("Error from server (InternalError): error when creating \"fresh.yaml\": Internal error occurred: failed calling webhook \"validate.nginx.ingress.kubernetes.io\": failed to call webhook: Post \"https://ingress-nginx-controller-admission.ingress-nginx.svc:443/networking/v1/ingresses?timeout=10s\": dial tcp 10."), "{msg}");
    assert!(msg.ends_with(":443: connect: connection refused\n"), "{msg}");
}

const TLS: &str = r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: secure}
spec:
  ingressClassName: nginx
  tls: [{hosts: [secure.example.com], secretName: secure-tls}]
  rules:
  - host: secure.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: hello, port: {number: 8080}}}}]
"#;

const SECRET: &str = r#"
apiVersion: v1
kind: Secret
metadata: {name: secure-tls}
type: kubernetes.io/tls
stringData: {tls.crt: "-----BEGIN CERTIFICATE-----", tls.key: "-----BEGIN PRIVATE KEY-----"}
"#;

#[test]
fn tls_serves_the_fake_certificate_without_its_secret_and_curl_verifies_it() {
    let (mut c, lb) = cluster();
    assert_eq!(kubectl_apply(&mut c, "tls.yaml", TLS), (0, String::new()));
    c.settle(SimDuration::from_secs(30));
    let client = Target::Host("client".into());
    let resolve = format!("--resolve secure.example.com:443:{lb}");
    // Without -k: the certificate is refused before any request is sent.
    let out = c.exec(&client, &format!("curl -sS {resolve} https://secure.example.com/"));
    assert_eq!(out.exit_code, 60, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.starts_with("curl: (60) SSL certificate problem: self-signed certificate\nMore details here: https://curl.se/docs/sslcerts.html\n"), "{}", out.stderr);
    let log = c.world().ingress.borrow().log.join("\n");
    assert!(
        log.contains("Error getting SSL certificate \"default/secure-tls\": local SSL certificate default/secure-tls was not found. Using default certificate"),
        "{log}"
    );
    assert!(!log.contains("\"GET / HTTP/1.1\" 200"), "the refused handshake carried no request: {log}");
    // -k: the fake certificate, and the request goes through.
    let out = c.exec(&client, &format!("curl -skv {resolve} https://secure.example.com/"));
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Hello, world!"), "{}", out.stdout);
    assert!(
        out.stderr.contains("*  subject: O=Acme Co; CN=Kubernetes Ingress Controller Fake Certificate\n"),
        "{}",
        out.stderr
    );
    // The Secret created: its certificate is served.
    assert_eq!(kubectl_apply(&mut c, "secret.yaml", SECRET), (0, String::new()));
    c.settle(SimDuration::from_secs(5));
    let out = c.exec(&client, &format!("curl -skv {resolve} https://secure.example.com/"));
    assert!(
        out.stderr
            .contains("*  subject: (the certificate in Secret default/secure-tls, not decoded by netsim)\n"),
        "{}",
        out.stderr
    );
    // -L follows ssl-redirect's 308 to https (and -k accepts the certificate there).
    let out = c.exec(&client, &format!("curl -sLk -w ' %{{http_code}} %{{num_redirects}} %{{url_effective}}' {resolve} --resolve secure.example.com:80:{lb} http://secure.example.com/"));
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Hello, world!"), "{}", out.stdout);
    assert!(out.stdout.ends_with(" 200 1 https://secure.example.com/"), "{}", out.stdout);
    let out = c.exec(
        &client,
        &format!("curl -sSL {resolve} --resolve secure.example.com:80:{lb} http://secure.example.com/"),
    );
    assert_eq!(out.exit_code, 60, "{}", out.stderr);
    // https to a server that speaks plain HTTP: the handshake fails.
    let out = c.exec(
        &client,
        &format!("curl -sS --resolve secure.example.com:80:{lb} https://secure.example.com:80/"),
    );
    assert_eq!(out.exit_code, 35, "{}", out.stderr);
}
