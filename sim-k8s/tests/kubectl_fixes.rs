//! Regression tests for kubectl output bugs found while writing the labs: each test is named
//! after the bug it pins (malformed YAML lists, empty selectors, jsonpath/custom-columns, JSON
//! patch, ingress hosts, `create namespace`, NotReady pods, ExternalName describe).

mod controllers_common;

use controllers_common::*;

/// A world with the StatefulSet `web` and the article's auth-service, settled.
fn labs_world() -> World {
    let mut w = World::new(2);
    stdout(&w.k("kubectl apply -f 002-statefulset-web.yaml"));
    stdout(&w.k("kubectl apply -f 002-auth-service.yaml"));
    w.settle(20);
    w
}

#[test]
fn pod_yaml_status_lists_of_mappings_are_well_formed() {
    // Bug: `get pod web-0 -o yaml` showed several `type:` keys in one `conditions` item. The
    // emitter must start every mapping of a list with `- ` and indent its other keys by two.
    let mut w = labs_world();
    let y = stdout(&w.k("kubectl get pod web-0 -o yaml"));
    let status = &y[y.find("\nstatus:\n").unwrap_or(0)..];
    assert_eq!(status.matches("\n  - lastTransitionTime: ").count(), 5, "{status}");
    assert_eq!(status.matches("\n    status: \"True\"\n").count(), 5, "{status}");
    assert!(
        status.contains("\n  containerStatuses:\n  - image: k8s.gcr.io/nginx-slim:0.8\n    imageID: \"\"\n"),
        "{status}"
    );
    // Every `type:` line belongs to a different list item.
    let mut item_types = 0;
    for line in status.lines() {
        if line.starts_with("  - ") {
            item_types = 0;
        }
        if line.trim_start().starts_with("type: ") {
            item_types += 1;
            assert!(item_types <= 1, "{status}");
        }
    }
}

#[test]
fn svc_yaml_prints_the_selector() {
    let mut w = labs_world();
    let y = stdout(&w.k("kubectl get svc auth-service -o yaml"));
    assert!(y.contains("\n  selector:\n    app: auth\n  sessionAffinity: None\n"), "{y}");
    assert!(y.contains("\n  labels:\n    app: auth\n"), "{y}");
}

#[test]
fn jsonpath_and_custom_columns_are_printers() {
    let mut w = labs_world();
    let y = stdout(&w.k("kubectl get svc auth-service -o yaml"));
    let ip = y.split("clusterIP: ").nth(1).and_then(|r| r.lines().next()).unwrap_or("?").to_string();
    assert_eq!(stdout(&w.k("kubectl get svc auth-service -o jsonpath={.spec.clusterIP}")), ip);
    assert_eq!(
        stdout(&w.k("kubectl get svc auth-service -o=jsonpath='{.spec.selector}'")),
        "{\"app\":\"auth\"}"
    );
    let names = stdout(&w.k("kubectl get pods -l app=nginx -o jsonpath='{.items[*].metadata.name}'"));
    assert_eq!(names, "web-0 web-1");
    assert_eq!(
        stdout(&w.k(
            r#"kubectl get pods -l app=nginx -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'"#
        )),
        "web-0\nweb-1\n"
    );
    assert_eq!(
        stdout(&w.k(
            r#"kubectl get pod web-0 --output=jsonpath='{.status.conditions[?(@.type=="Ready")].status}'"#
        )),
        "True"
    );
    let cc = stdout(&w.k("kubectl get pods -l app=nginx -o custom-columns=NAME:.metadata.name,IP:.status.podIP,NODE:.spec.nodeName,X:.spec.nope"));
    insta::assert_snapshot!("fixes_custom_columns", cc);
    let empty = w.k("kubectl get pods -l app=none -o custom-columns=NAME:.metadata.name");
    assert_eq!((empty.stdout.as_str(), empty.stderr.as_str()), ("NAME\n", ""));
    let empty = w.k("kubectl get pods -l app=none -o jsonpath={.items[*].metadata.name}");
    assert_eq!((empty.stdout.as_str(), empty.stderr.as_str()), ("", ""));
    let bad = w.k("kubectl get pods -o custom-columns=NAME");
    assert_eq!(bad.exit_code, 1);
    assert_eq!(
        bad.stderr,
        "error: unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>\n"
    );
    let bad = w.k("kubectl get pods -o jsonpath='{.items'");
    assert_eq!(bad.exit_code, 1);
    assert!(
        bad.stderr.starts_with("error: error parsing jsonpath {.items, unclosed action"),
        "{}",
        bad.stderr
    );
}

#[test]
fn patch_type_json_applies_rfc6902_operations() {
    let mut w = labs_world();
    let line = r#"kubectl patch svc auth-service --type json -p '[{"op":"replace","path":"/spec/type","value":"NodePort"}]'"#;
    assert_eq!(stdout(&w.k(line)), "service/auth-service patched\n");
    assert!(stdout(&w.k("kubectl get svc auth-service")).contains("NodePort"));
    let line = r#"kubectl patch svc auth-service --type=json -p='[{"op":"add","path":"/metadata/labels/tier","value":"be"},{"op":"remove","path":"/metadata/labels/app"}]'"#;
    assert_eq!(stdout(&w.k(line)), "service/auth-service patched\n");
    assert_eq!(
        stdout(&w.k("kubectl get svc auth-service -o jsonpath={.metadata.labels}")),
        "{\"tier\":\"be\"}"
    );
    let bad = w.k(
        r#"kubectl patch svc auth-service --type json -p '[{"op":"replace","path":"/spec/nope","value":1}]'"#,
    );
    assert_eq!(bad.exit_code, 1);
    assert!(
        bad.stderr.contains("jsonpatch replace operation does not apply: doc is missing key: /spec/nope"),
        "{}",
        bad.stderr
    );
    // github.com/kubernetes/website#21546: a single operation object instead of an array.
    let bad = w.k(r#"kubectl patch svc auth-service --type json -p '{"op":"remove","path":"/spec/x"}'"#);
    assert_eq!(
        bad.stderr,
        "Error from server (BadRequest): json: cannot unmarshal object into Go value of type jsonpatch.Patch\n"
    );
    let bad = w.k("kubectl patch svc auth-service --type yaml -p '{}'");
    assert_eq!(bad.stderr, "error: --type must be one of [json merge strategic], not \"yaml\"\n");
}

#[test]
fn ingress_hosts_column_and_describe_rules() {
    let mut w = labs_world();
    stdout(&w.k("kubectl apply -f 002-ingress-gateway.yaml"));
    let get = stdout(&w.k("kubectl get ingress"));
    assert!(get.contains("gateway-ingress   <none>   sample.example.com             80      "), "{get}");
    insta::assert_snapshot!(
        "fixes_describe_ingress",
        stdout(&w.k("kubectl describe ingress gateway-ingress"))
    );
    // A backend Service that exists shows its ready endpoints; a rule without a host is `*`.
    let patch = r#"kubectl patch ingress gateway-ingress --type json -p '[{"op":"add","path":"/spec/rules/-","value":{"http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"auth-service","port":{"number":80}}}}]}}}]'"#;
    assert_eq!(stdout(&w.k(patch)), "ingress.networking.k8s.io/gateway-ingress patched\n");
    w.settle(30);
    assert!(stdout(&w.k("kubectl get ing")).contains(" sample.example.com "));
    insta::assert_snapshot!(
        "fixes_describe_ingress_two_rules",
        stdout(&w.k("kubectl describe ing gateway-ingress"))
    );
}

#[test]
fn describe_externalname_service_keeps_empty_ip_line_like_upstream() {
    // kubectl pkg/describe/describe.go `describeService` writes `IP:` and `IPs:` whatever the
    // type, so an ExternalName Service shows `IP:` empty and `IPs: <none>` (not omitted).
    let mut w = World::new(1);
    stdout(&w.k("kubectl create -f 004-service-my-service-externalname.yaml"));
    let d = stdout(&w.k("kubectl describe svc my-service"));
    assert!(
        d.contains(
            "\nIP:                \nIPs:               <none>\nExternal Name:     my.database.example.com\n"
        ),
        "{d}"
    );
}

#[test]
fn create_namespace_and_ns() {
    let mut w = World::new(1);
    assert_eq!(stdout(&w.k("kubectl create namespace nginx-ns")), "namespace/nginx-ns created\n");
    assert_eq!(stdout(&w.k("kubectl create ns lab")), "namespace/lab created\n");
    let ns = stdout(&w.k("kubectl get ns"));
    assert!(ns.contains("\nlab ") && ns.contains("\nnginx-ns "), "{ns}");
    let again = w.k("kubectl create ns lab");
    assert_eq!(again.exit_code, 1);
    assert_eq!(again.stderr, "Error from server (AlreadyExists): namespaces \"lab\" already exists\n");
    let none = w.k("kubectl create namespace");
    assert_eq!(
        none.stderr,
        "error: exactly one NAME is required, got 0\nSee 'kubectl create namespace -h' for help and examples\n"
    );
    let bad = w.k("kubectl create ns Bad_Name");
    assert_eq!(bad.exit_code, 1, "{bad:?}");
    // The new namespace is usable at once.
    assert_eq!(
        stdout(&w.k("kubectl create deployment web --image=nginx -n lab")),
        "deployment.apps/web created\n"
    );
}

#[test]
fn pods_on_a_notready_node_get_ready_false_but_keep_ready_containers() {
    // nodelifecycle `MarkPodsNotReady` sets only the pod's Ready condition to False (endpoints
    // drop the pod); printers.go `printPod` counts READY from containerStatuses[].ready, which
    // nothing updates while the kubelet is gone — so a real cluster still prints `1/1 Running`.
    let mut w = labs_world();
    let before = stdout(&w.k("kubectl get pods -l app=auth -o wide"));
    let on_worker: Vec<&str> = before
        .lines()
        .filter(|l| l.split_whitespace().nth(6) == Some("worker"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(on_worker.len(), 1, "{before}");
    let pod = on_worker[0].to_string();
    w.c.node_down("worker", w.now);
    w.settle(60);
    let ready = stdout(&w.k(&format!(
        r#"kubectl get pod {pod} -o jsonpath='{{.status.conditions[?(@.type=="Ready")].status}} {{.status.containerStatuses[0].ready}}'"#
    )));
    assert_eq!(ready, "False true");
    let get = stdout(&w.k(&format!("kubectl get pod {pod}")));
    assert!(get.contains("   1/1     Running   "), "{get}");
    let d = stdout(&w.k(&format!("kubectl describe pod {pod}")));
    assert!(d.contains("\n  Ready                       False \n"), "{d}");
    let ep = stdout(&w.k("kubectl get endpointslices -l kubernetes.io/service-name=auth-service -o jsonpath='{.items[*].endpoints[?(@.conditions.ready==false)].targetRef.name}'"));
    assert_eq!(ep, pod);
}

#[test]
fn endpoints_have_no_generation() {
    let mut w = labs_world();
    let y = stdout(&w.k("kubectl get ep auth-service -o yaml"));
    assert!(!y.contains("generation:"), "{y}");
    assert!(y.contains("\n  - ip: ") || y.contains("\n  - hostname: ") || y.contains("- addresses:"), "{y}");
    // Objects with a spec still count spec changes.
    let d = stdout(&w.k("kubectl get deploy auth -o jsonpath={.metadata.generation}"));
    stdout(&w.k("kubectl scale deploy auth --replicas=3"));
    let d2 = stdout(&w.k("kubectl get deploy auth -o jsonpath={.metadata.generation}"));
    assert_eq!(d2.parse::<i64>().ok(), d.parse::<i64>().ok().map(|g| g + 1));
}
