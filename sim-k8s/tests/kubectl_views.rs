//! kubectl views and verbs against a simulated cluster: real-format checks from formats.md and
//! insta snapshots of get/describe over the articles' manifests.

mod controllers_common;

use controllers_common::*;
use sim_core::{SimRng, SimTime};
use sim_k8s::api::service::{IpFamily, IpFamilyPolicy, ServiceAffinity, TrafficPolicy};
use sim_k8s::api::{
    ClusterIp, IntOrString, Kind, Object, ObjectMeta, Protocol, Service, ServicePort, ServiceSpec,
    ServiceType,
};
use sim_k8s::apiserver::{ApiServer, ApiServerConfig};
use sim_k8s::kubectl::{KubectlCommand, RunResult};

#[test]
fn describe_service_matches_kubectl_unit_test() {
    // kubectl pkg/describe/describe_test.go, TestDescribeService "test1" (formats.md §1.10).
    let svc = Service {
        api_version: "v1".into(),
        kind: "Service".into(),
        metadata: ObjectMeta::named("foo", "bar"),
        spec: ServiceSpec {
            type_: Some(ServiceType::LoadBalancer),
            selector: Some([("blah".to_string(), "heh".to_string())].into_iter().collect()),
            ports: vec![ServicePort {
                name: "port-tcp".into(),
                protocol: Some(Protocol::TCP),
                port: 8080,
                target_port: Some(IntOrString::String("targetPort".into())),
                node_port: Some(31111),
                ..Default::default()
            }],
            cluster_ip: ClusterIp::parse("1.2.3.4"),
            cluster_ips: vec![ClusterIp::parse("1.2.3.4")],
            ip_families: vec![IpFamily::IPv4],
            ip_family_policy: Some(IpFamilyPolicy::SingleStack),
            load_balancer_ip: "5.6.7.8".into(),
            session_affinity: Some(ServiceAffinity::None),
            external_traffic_policy: Some(TrafficPolicy::Local),
            health_check_node_port: Some(32222),
            ..Default::default()
        },
        status: None,
    };
    let store = ApiServer::new(ApiServerConfig::default(), &SimRng::new(1));
    let text =
        sim_k8s::kubectl::describe::describe_one(&store, SimTime::ZERO, &[], &Object::Service(Box::new(svc)));
    assert_eq!(
        text,
        "Name:                     bar
Namespace:                foo
Labels:                   <none>
Annotations:              <none>
Selector:                 blah=heh
Type:                     LoadBalancer
IP Family Policy:         SingleStack
IP Families:              IPv4
IP:                       1.2.3.4
IPs:                      1.2.3.4
Desired LoadBalancer IP:  5.6.7.8
Port:                     port-tcp  8080/TCP
TargetPort:               targetPort/TCP
NodePort:                 port-tcp  31111/TCP
Endpoints:                <none>
Session Affinity:         None
External Traffic Policy:  Local
HealthCheck NodePort:     32222
Events:                   <none>
"
    );
}

#[test]
fn get_ep_lists_three_then_more_and_warns_on_stderr() {
    let mut w = World::new(2);
    let o = w.k(
        "kubectl create deployment hostnames --image=registry.k8s.io/serve_hostname --replicas=5 --port=9376",
    );
    assert_eq!(stdout(&o), "deployment.apps/hostnames created\n");
    assert_eq!(
        stdout(&w.k("kubectl expose deployment hostnames --port=80 --target-port=9376")),
        "service/hostnames exposed\n"
    );
    w.settle(5);
    let o = w.k("kubectl get ep hostnames");
    assert_eq!(
        o.stderr,
        "Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice\n"
    );
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(lines[0].starts_with("NAME        ENDPOINTS"), "{}", o.stdout);
    assert!(lines[1].contains(":9376,") && lines[1].contains(" + 2 more..."), "{}", o.stdout);
    insta::assert_snapshot!("get_ep_more", o.stdout);
    let d = w.k("kubectl describe svc hostnames");
    let endpoints_line =
        d.stdout.lines().find(|l| l.starts_with("Endpoints:")).unwrap_or_default().to_string();
    assert!(endpoints_line.ends_with(" + 2 more..."), "{endpoints_line}");
}

#[test]
fn article_001_views() {
    let mut w = World::new(2);
    assert_eq!(
        stdout(&w.k("kubectl apply -f 001-deploy-my-nginx.yaml")),
        "deployment.apps/my-nginx created\n"
    );
    assert_eq!(stdout(&w.k("kubectl apply -f 001-service-my-nginx.yaml")), "service/my-nginx created\n");
    // Readiness probe: initialDelaySeconds 60 — not ready before, ready after.
    w.settle(30);
    let pods = w.k("kubectl get pods");
    assert!(pods.stdout.contains("0/1     Running"), "{}", pods.stdout);
    // Not ready yet: only notReadyAddresses, which `get ep` does not list.
    assert!(!w.k("kubectl get ep my-nginx").stdout.contains(":80"));
    w.settle(60);
    insta::assert_snapshot!("001_get_svc", stdout(&w.k("kubectl get svc")));
    insta::assert_snapshot!("001_get_svc_wide", stdout(&w.k("kubectl get svc -o wide")));
    insta::assert_snapshot!("001_get_pods_wide", stdout(&w.k("kubectl get pods -o wide")));
    insta::assert_snapshot!("001_get_pods_labels", stdout(&w.k("kubectl get pods --show-labels")));
    insta::assert_snapshot!("001_get_ep", stdout(&w.k("kubectl get ep")));
    insta::assert_snapshot!("001_get_endpointslices", stdout(&w.k("kubectl get endpointslices")));
    insta::assert_snapshot!("001_get_deploy_wide", stdout(&w.k("kubectl get deploy -o wide")));
    insta::assert_snapshot!("001_get_rs", stdout(&w.k("kubectl get rs")));
    insta::assert_snapshot!("001_describe_rs", stdout(&w.k("kubectl describe rs")));
    insta::assert_snapshot!("001_get_nodes_wide", stdout(&w.k("kubectl get nodes -o wide")));
    insta::assert_snapshot!("001_get_ns", stdout(&w.k("kubectl get ns")));
    insta::assert_snapshot!("001_get_all", stdout(&w.k("kubectl get all")));
    insta::assert_snapshot!("001_describe_svc", stdout(&w.k("kubectl describe svc my-nginx")));
    insta::assert_snapshot!("001_describe_ep", stdout(&w.k("kubectl describe ep my-nginx")));
    insta::assert_snapshot!("001_describe_slice", stdout(&w.k("kubectl describe endpointslices my-nginx")));
    insta::assert_snapshot!("001_describe_deploy", stdout(&w.k("kubectl describe deploy my-nginx")));
    insta::assert_snapshot!("001_describe_pod", stdout(&w.k("kubectl describe pod my-nginx")));
    insta::assert_snapshot!("001_describe_node", stdout(&w.k("kubectl describe node worker")));
    insta::assert_snapshot!("001_get_svc_yaml", stdout(&w.k("kubectl get svc my-nginx -o yaml")));
    insta::assert_snapshot!("001_get_events", stdout(&w.k("kubectl get events")));
}

#[test]
fn article_000_endpoints_gotchas() {
    let mut w = World::new(2);
    stdout(&w.k("kubectl apply -f 000-deploy-echoserver.yaml"));
    stdout(&w.k("kubectl apply -f 000-service-echoserver.yaml"));
    w.settle(5);
    // Deleting the Endpoints of a selector Service: the controller puts it back.
    assert_eq!(stdout(&w.k("kubectl delete ep svc-echoserver")), "endpoints \"svc-echoserver\" deleted\n");
    assert!(w.store.get_named(Kind::Endpoints, "default", "svc-echoserver").is_some());
    // Creating it by hand now collides.
    let o = w.k("kubectl create -f 000-endpoint-echoserver.yaml");
    assert_eq!(o.exit_code, 1);
    assert_eq!(
        o.stderr,
        "Error from server (AlreadyExists): error when creating \"000-endpoint-echoserver.yaml\": endpoints \"svc-echoserver\" already exists\n"
    );
    // replace without clusterIP: the immutable-field gotcha.
    let o = w.k("kubectl replace -f 000-service-echoserver.yaml");
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert!(o.stderr.contains("spec.clusterIP: Invalid value: \"\": field is immutable"), "{}", o.stderr);
}

#[test]
fn selectorless_service_keeps_manual_endpoints_and_mirrors_them() {
    let mut w = World::new(1);
    stdout(&w.k("kubectl apply -f 001-service-mysql.yaml"));
    stdout(&w.k("kubectl apply -f 001-endpoint-mysql.yaml"));
    w.settle(2);
    insta::assert_snapshot!("mysql_get_ep", stdout(&w.k("kubectl get ep mysql")));
    let slices = stdout(&w.k("kubectl get endpointslices -l kubernetes.io/service-name=mysql -o yaml"));
    assert!(
        slices.contains("endpointslice.kubernetes.io/managed-by: endpointslicemirroring-controller.k8s.io"),
        "{slices}"
    );
}

#[test]
fn verbs_and_errors() {
    let mut w = World::new(2);
    let o = w.k("kubectl get svc nope");
    assert_eq!(
        (o.exit_code, o.stderr.as_str()),
        (1, "Error from server (NotFound): services \"nope\" not found\n")
    );
    let o = w.k("kubectl get foo");
    assert_eq!(o.stderr, "error: the server doesn't have a resource type \"foo\"\n");
    let o = w.k("kubectl get pods");
    assert_eq!((o.stdout.as_str(), o.stderr.as_str()), ("", "No resources found in default namespace.\n"));
    stdout(&w.k("kubectl create deployment nginx --image=nginx:1.27 --replicas=2 --port=80"));
    let o = w.k("kubectl rollout status deployment/nginx");
    assert!(o.retry, "{o:?}");
    assert!(
        o.stdout.starts_with(
            "Waiting for deployment \"nginx\" rollout to finish: 0 of 2 updated replicas are available..."
        ),
        "{}",
        o.stdout
    );
    w.settle(3);
    assert_eq!(
        stdout(&w.k("kubectl rollout status deployment/nginx")),
        "deployment \"nginx\" successfully rolled out\n"
    );
    assert_eq!(stdout(&w.k("kubectl scale deployment nginx --replicas=3")), "deployment.apps/nginx scaled\n");
    stdout(&w.k("kubectl expose deployment nginx --port=80 --type=NodePort --name=web"));
    assert_eq!(
        stdout(&w.k("kubectl patch svc web -p '{\"spec\":{\"type\":\"ClusterIP\"}}'")),
        "service/web patched\n"
    );
    assert_eq!(
        stdout(&w.k("kubectl patch svc web -p '{\"spec\":{\"type\":\"ClusterIP\"}}'")),
        "service/web patched (no change)\n"
    );
    assert_eq!(
        stdout(&w.k("kubectl run client --image=busybox --restart=Never -- sleep 3600")),
        "pod/client created\n"
    );
    let o = w.k("kubectl wait --for=condition=Ready pod/client");
    assert!(o.retry);
    w.settle(3);
    assert_eq!(stdout(&w.k("kubectl wait --for=condition=Ready pod/client")), "pod/client condition met\n");
    assert_eq!(stdout(&w.k("kubectl label pod client tier=debug")), "pod/client labeled\n");
    let o = w.k("kubectl label pod client tier=other");
    assert_eq!(o.stderr, "error: 'tier' already has a value (debug), and --overwrite is false\n");
    assert_eq!(stdout(&w.k("kubectl get pods -l tier=debug -o name")), "pod/client\n");
    // Graceful delete: Terminating for 30s, then gone.
    assert_eq!(stdout(&w.k("kubectl delete pod client")), "pod \"client\" deleted\n");
    assert!(stdout(&w.k("kubectl get pod client")).contains("Terminating"));
    w.settle(31);
    assert_eq!(w.k("kubectl get pod client").exit_code, 1);
    match w.run("kubectl exec -it nginx-abc -- curl web") {
        RunResult::Delegated(KubectlCommand::Exec { pod, command, .. }) => {
            assert_eq!(pod, "nginx-abc");
            assert_eq!(command, ["curl", "web"]);
        }
        other => panic!("{other:?}"),
    }
    insta::assert_snapshot!("verbs_get_all_wide", stdout(&w.k("kubectl get deploy,rs,svc -o wide")));
    // Deleting the Service takes its Endpoints and slices with it; deleting the Deployment
    // takes the ReplicaSet and (after the grace period) the pods.
    assert_eq!(stdout(&w.k("kubectl delete svc web")), "service \"web\" deleted\n");
    assert_eq!(w.k("kubectl get ep web").exit_code, 1);
    assert_eq!(
        w.k("kubectl get endpointslices -l kubernetes.io/service-name=web").stderr,
        "No resources found in default namespace.\n"
    );
    assert_eq!(stdout(&w.k("kubectl delete deployment nginx")), "deployment.apps \"nginx\" deleted\n");
    assert_eq!(w.k("kubectl get rs").stderr, "No resources found in default namespace.\n");
    assert!(stdout(&w.k("kubectl get pods")).contains("Terminating"));
    w.settle(31);
    assert_eq!(w.k("kubectl get pods").stderr, "No resources found in default namespace.\n");
}

#[test]
fn statefulset_views() {
    let mut w = World::new(2);
    stdout(&w.k("kubectl apply -f 002-statefulset-web.yaml"));
    w.settle(20);
    insta::assert_snapshot!("002_get_sts_pods", stdout(&w.k("kubectl get sts,pods -o wide")));
    insta::assert_snapshot!("002_describe_sts", stdout(&w.k("kubectl describe sts web")));
}

#[test]
fn article_003_004_service_types() {
    let mut w = World::new(1);
    stdout(&w.k("kubectl apply -f 004-service-example-loadbalancer.yaml"));
    stdout(&w.k("kubectl apply -f 003-service-nginx-nodeport.yaml"));
    stdout(&w.k("kubectl apply -f 004-service-my-service-externalips.yaml"));
    stdout(&w.k("kubectl create -n kube-system -f 004-service-my-service-externalname.yaml"));
    w.settle(125);
    insta::assert_snapshot!("004_get_svc_wide", stdout(&w.k("kubectl get svc -A -o wide")));
    insta::assert_snapshot!("004_describe_lb", stdout(&w.k("kubectl describe svc example-service")));
    insta::assert_snapshot!(
        "004_describe_externalname",
        stdout(&w.k("kubectl describe svc my-service -n kube-system"))
    );
}

#[test]
fn pending_and_node_failure_views() {
    let mut w = World::new(2);
    stdout(&w.k("kubectl create deployment web --image=nginx --replicas=2"));
    stdout(&w.k("kubectl run stuck --image=nginx --labels=app=stuck"));
    let mut p = match w.store.get_named(Kind::Pod, "default", "stuck") {
        Some(Object::Pod(p)) => p.clone(),
        _ => panic!(),
    };
    // Make it unschedulable after the fact is not possible (nodeName is set); create another.
    p.metadata = ObjectMeta::named("default", "picky");
    std::sync::Arc::make_mut(&mut p.spec).node_name.clear();
    std::sync::Arc::make_mut(&mut p.spec).node_selector.insert("disktype".into(), "ssd".into());
    p.status = None;
    sim_k8s::controllers::ObjectStore::create(&mut w.store, Object::Pod(p), w.now).unwrap();
    w.settle(5);
    insta::assert_snapshot!("pending_get_pods_all_ns", stdout(&w.k("kubectl get pods -A -o wide")));
    insta::assert_snapshot!("pending_describe_pod", stdout(&w.k("kubectl describe pod picky")));
    w.c.node_down("worker", w.now);
    w.settle(60);
    insta::assert_snapshot!("node_down_get_nodes", stdout(&w.k("kubectl get nodes")));
    w.settle(300);
    insta::assert_snapshot!("node_down_get_pods", stdout(&w.k("kubectl get pods -o wide")));
    insta::assert_snapshot!("node_down_describe_node", stdout(&w.k("kubectl describe node worker")));
}

#[test]
fn get_svc_rows_match_formats_md() {
    // formats.md §1.7: the `kube-dns` row matches a real capture character for character.
    let mut w = World::new(1);
    let dns = "apiVersion: v1\nkind: Service\nmetadata:\n  name: kube-dns\n  namespace: kube-system\nspec:\n  clusterIP: 10.96.0.10\n  selector:\n    k8s-app: kube-dns\n  ports:\n  - name: dns\n    port: 53\n    protocol: UDP\n  - name: dns-tcp\n    port: 53\n    protocol: TCP\n  - name: metrics\n    port: 9153\n    protocol: TCP\n";
    let out = sim_k8s::manifest::load_str("dns.yaml", dns);
    for o in out.objects {
        w.store.create(o.value).unwrap();
    }
    w.settle(44 * 60 - 124);
    let web = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: NodePort\n  clusterIP: 10.96.86.113\n  selector:\n    app: web\n  ports:\n  - port: 80\n    nodePort: 30080\n";
    let out = sim_k8s::manifest::load_str("web.yaml", web);
    w.store.set_now(w.now);
    for o in out.objects {
        w.store.create(o.value).unwrap();
    }
    w.settle(124);
    assert_eq!(
        stdout(&w.k("kubectl get svc -n kube-system")),
        "NAME       TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)                  AGE\nkube-dns   ClusterIP   10.96.0.10   <none>        53/UDP,53/TCP,9153/TCP   44m\n"
    );
    let rows = stdout(&w.k("kubectl get svc"));
    assert!(
        rows.ends_with("web          NodePort    10.96.86.113   <none>        80:30080/TCP   2m4s\n"),
        "{rows}"
    );
    assert!(
        rows.starts_with("NAME         TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)        AGE\n"),
        "{rows}"
    );
}

#[test]
fn exec_targets_resolve_to_pods() {
    let mut w = World::new(2);
    stdout(&w.k("kubectl create deployment nginx --image=nginx --replicas=2"));
    stdout(&w.k("kubectl expose deployment nginx --port=80"));
    w.settle(3);
    let first = sim_k8s::kubectl::attachable_pod(&w.store, "default", "deploy/nginx").unwrap();
    assert!(first.starts_with("nginx-"));
    assert_eq!(sim_k8s::kubectl::attachable_pod(&w.store, "default", "svc/nginx").unwrap(), first);
    assert_eq!(sim_k8s::kubectl::attachable_pod(&w.store, "default", &first).unwrap(), first);
    let err = sim_k8s::kubectl::attachable_pod(&w.store, "default", "pod/nope").unwrap_err();
    assert_eq!(err.stderr, "Error from server (NotFound): pods \"nope\" not found\n");
}

#[test]
fn article_002_headless_kafka() {
    let mut w = World::new(2);
    let o = w.k("kubectl apply -f 002-kafka-headless.yaml");
    assert_eq!(stdout(&o), "service/kafka-headless created\nstatefulset.apps/kafka created\n");
    w.settle(30);
    insta::assert_snapshot!("002_kafka_get", stdout(&w.k("kubectl get svc,sts,pods -o wide")));
    insta::assert_snapshot!("002_kafka_describe_ep", stdout(&w.k("kubectl describe ep kafka-headless")));
    let yaml = stdout(&w.k("kubectl get ep kafka-headless -o yaml"));
    for i in 0..3 {
        assert!(yaml.contains(&format!("hostname: kafka-{i}")), "{yaml}");
    }
    insta::assert_snapshot!("002_kafka_get_ep_yaml", yaml);
}

#[test]
fn rollout_status_follows_a_rolling_update() {
    let mut w = World::new(2);
    stdout(&w.k("kubectl create deployment web --image=nginx:1.27 --replicas=4"));
    w.settle(5);
    assert_eq!(
        stdout(&w.k("kubectl rollout status deployment/web")),
        "deployment \"web\" successfully rolled out\n"
    );
    let o = w.k("kubectl patch deployment web -p '{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx:1.28\"}]}}}}'");
    assert_eq!(stdout(&o), "deployment.apps/web patched\n");
    let mut seen = Vec::new();
    for _ in 0..60 {
        let o = w.k("kubectl rollout status deployment/web");
        if !seen.contains(&o.stdout) {
            seen.push(o.stdout.clone());
        }
        if !o.retry {
            break;
        }
        w.settle(1);
    }
    assert_eq!(seen.last().map(String::as_str), Some("deployment \"web\" successfully rolled out\n"));
    insta::assert_snapshot!("rollout_status_messages", seen.concat());
    insta::assert_snapshot!("rollout_get_rs", stdout(&w.k("kubectl get rs")));
}
