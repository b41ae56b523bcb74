//! API server behaviour: defaults, allocation determinism, kubectl-worded errors, the verbs.

use std::net::IpAddr;

use sim_core::SimRng;
use sim_k8s::api::{
    ClusterIp, IntOrString, Kind, Object, ObjectKey, Protocol, ServiceAffinity, ServiceType, TrafficPolicy,
};
use sim_k8s::apiserver::{ApiError, ApiServer, ApiServerConfig, ApplyResult, ChangeType, PatchType};
use sim_k8s::manifest::load_str;

fn server(seed: u64) -> ApiServer {
    ApiServer::new(ApiServerConfig::default(), &SimRng::new(seed))
}

fn objects(yaml: &str) -> Vec<Object> {
    let out = load_str("test.yaml", yaml);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    out.objects.into_iter().map(|l| l.value).collect()
}

fn one(yaml: &str) -> Object {
    objects(yaml).into_iter().next().unwrap_or(Object::Namespace(Default::default()))
}

fn service<'a>(s: &'a ApiServer, name: &str) -> &'a sim_k8s::api::Service {
    match s.get_named(Kind::Service, "default", name) {
        Some(Object::Service(svc)) => svc,
        other => panic!("no service {name}: {other:?}"),
    }
}

const SVC: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-echoserver\nspec:\n  selector:\n    app: echoserver\n  ports:\n  - port: 8080\n    targetPort: 80\n";

#[test]
fn service_defaults_match_the_api_server() {
    let mut s = server(1);
    let created =
        s.create(one("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  ports:\n  - port: 80\n"));
    assert!(created.is_ok(), "{created:?}");
    let svc = service(&s, "a");
    assert_eq!(svc.metadata.namespace, "default");
    assert_eq!(svc.spec.type_, Some(ServiceType::ClusterIP));
    assert_eq!(svc.spec.ports[0].protocol, Some(Protocol::TCP));
    assert_eq!(svc.spec.ports[0].target_port, Some(IntOrString::Int(80)));
    assert_eq!(svc.spec.session_affinity, Some(ServiceAffinity::None));
    assert_eq!(svc.spec.internal_traffic_policy, Some(TrafficPolicy::Cluster));
    assert_eq!(svc.spec.external_traffic_policy, None);
    assert_eq!(svc.spec.ip_families.len(), 1);
    let ip = svc.spec.cluster_ip.ip().unwrap_or(IpAddr::from([0, 0, 0, 0]));
    assert!(ipnet::IpNet::V4(s.config().service_cidr).contains(&ip));
    assert_eq!(svc.spec.cluster_ips, vec![svc.spec.cluster_ip.clone()]);
    assert_eq!(svc.metadata.resource_version, "5");
    assert_eq!(svc.metadata.creation_timestamp.as_deref(), Some("2024-01-01T00:00:00Z"));
    assert_eq!(svc.metadata.uid.len(), 36);
}

#[test]
fn node_port_and_load_balancer_defaults() {
    let mut s = server(1);
    let r = s.create(one(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: lb\nspec:\n  type: LoadBalancer\n  externalTrafficPolicy: Local\n  sessionAffinity: ClientIP\n  ports:\n  - port: 80\n",
    ));
    assert!(r.is_ok(), "{r:?}");
    let svc = service(&s, "lb");
    let np = svc.spec.ports[0].node_port.unwrap_or(0);
    assert!((30000..=32767).contains(&np));
    let hc = svc.spec.health_check_node_port.unwrap_or(0);
    assert!((30000..=32767).contains(&hc) && hc != np);
    assert_eq!(svc.spec.allocate_load_balancer_node_ports, Some(true));
    assert_eq!(svc.spec.affinity_timeout(), Some(10800));
}

#[test]
fn allocation_is_deterministic_per_seed() {
    let run = |seed| {
        let mut s = server(seed);
        for n in ["a", "b", "c"] {
            let y = format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {n}\nspec:\n  type: NodePort\n  ports:\n  - port: 80\n"
            );
            assert!(s.create(one(&y)).is_ok());
        }
        ["a", "b", "c"]
            .iter()
            .map(|n| {
                let svc = service(&s, n);
                (svc.spec.cluster_ip.to_string(), svc.spec.ports[0].node_port, svc.metadata.uid.clone())
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn already_exists_and_not_found_wording() {
    let mut s = server(1);
    assert!(s.create(one(SVC)).is_ok());
    let err = s.create(one(SVC)).err().map(|e| e.kubectl_message(None));
    assert_eq!(
        err.as_deref(),
        Some("Error from server (AlreadyExists): services \"svc-echoserver\" already exists\n")
    );
    let ep = "apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: svc-echoserver\nsubsets:\n- addresses:\n  - ip: 172.17.0.5\n  - ip: 172.17.0.6\n  ports:\n  - port: 80\n";
    assert!(s.create(one(ep)).is_ok());
    let err = s.create(one(ep)).err().map(|e| e.kubectl_message(None));
    assert_eq!(
        err.as_deref(),
        Some("Error from server (AlreadyExists): endpoints \"svc-echoserver\" already exists\n")
    );
    assert!(s.delete(Kind::Endpoints, "default", "svc-echoserver").is_ok());
    let err = s.delete(Kind::Endpoints, "default", "svc-echoserver").err().map(|e| e.kubectl_message(None));
    assert_eq!(
        err.as_deref(),
        Some("Error from server (NotFound): endpoints \"svc-echoserver\" not found\n")
    );
}

#[test]
fn replace_without_cluster_ip_is_the_article_000_gotcha() {
    let mut s = server(1);
    assert!(s.create(one(SVC)).is_ok());
    let nodeport = SVC.replace("spec:\n", "spec:\n  type: NodePort\n");
    let err = s.replace(one(&nodeport)).err().map(|e| e.kubectl_message(None));
    assert_eq!(
        err.as_deref(),
        Some(
            "The Service \"svc-echoserver\" is invalid: spec.clusterIP: Invalid value: \"\": field is immutable\n"
        )
    );
    // Repeating the VIP makes replace work, and the VIP never changes.
    let vip = service(&s, "svc-echoserver").spec.cluster_ip.to_string();
    let with_ip = nodeport.replace("spec:\n", &format!("spec:\n  clusterIP: {vip}\n"));
    assert_eq!(s.replace(one(&with_ip)), Ok(ApplyResult::Configured));
    let svc = service(&s, "svc-echoserver");
    assert_eq!(svc.spec.cluster_ip.to_string(), vip);
    assert!(svc.spec.ports[0].node_port.is_some());
}

#[test]
fn apply_created_configured_unchanged() {
    let mut s = server(1);
    assert_eq!(s.apply(one(SVC)), Ok(ApplyResult::Created));
    assert_eq!(s.apply(one(SVC)), Ok(ApplyResult::Unchanged));
    let vip = service(&s, "svc-echoserver").spec.cluster_ip.clone();
    let changed = SVC.replace("8080", "8081");
    assert_eq!(s.apply(one(&changed)), Ok(ApplyResult::Configured));
    assert_eq!(service(&s, "svc-echoserver").spec.cluster_ip, vip);
    // The Service registry never sets metadata.generation (pkg/registry/core/service/strategy.go
    // has no `Generation = 1`), so a spec change bumps only the resourceVersion.
    assert_eq!(service(&s, "svc-echoserver").metadata.generation, None);
}

#[test]
fn node_port_errors_use_allocator_wording() {
    let mut s = server(1);
    let y = "apiVersion: v1\nkind: Service\nmetadata:\n  name: my-nginx\nspec:\n  type: NodePort\n  ports:\n  - port: 8080\n    nodePort: 8080\n";
    let err = s.create(one(y)).err().map(|e| e.kubectl_message(None));
    assert_eq!(
        err.as_deref(),
        Some(
            "The Service \"my-nginx\" is invalid: spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767\n"
        )
    );
    let ok = y.replace("nodePort: 8080", "nodePort: 30380");
    assert!(s.create(one(&ok)).is_ok());
    let other = ok.replace("my-nginx", "other");
    let err = s.create(one(&other)).err().map(|e| e.kubectl_message(None));
    assert_eq!(
        err.as_deref(),
        Some(
            "The Service \"other\" is invalid: spec.ports[0].nodePort: Invalid value: 30380: provided port is already allocated\n"
        )
    );
    // A failed create leaves nothing allocated: the cluster IP it drew is free again.
    assert!(s.get_named(Kind::Service, "default", "other").is_none());
}

#[test]
fn cluster_ip_errors_and_conventional_addresses() {
    let mut s = server(1);
    assert!(
        s.ensure_kubernetes_service(&["10.32.1.147".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))], 6443)
            .is_ok()
    );
    assert_eq!(service(&s, "kubernetes").spec.cluster_ip.to_string(), "10.96.0.1");
    assert_eq!(s.dns_service_ip().to_string(), "10.96.0.10");
    let y = "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  clusterIP: 10.96.0.1\n  ports:\n  - port: 53\n";
    let err = s.create(one(y)).err().map(|e| e.kubectl_message(None));
    assert_eq!(
        err.as_deref(),
        Some(
            "The Service \"x\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.96.0.1\"}: failed to allocate IP 10.96.0.1: provided IP is already allocated\n"
        )
    );
    let out = y.replace("10.96.0.1", "10.0.0.1");
    let err = s.create(one(&out)).err().map(|e| e.kubectl_message(None));
    assert_eq!(
        err.as_deref(),
        Some(
            "The Service \"x\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.0.0.1\"}: failed to allocate IP 10.0.0.1: provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12\n"
        )
    );
}

#[test]
fn patch_type_and_back_releases_node_ports() {
    let mut s = server(3);
    assert!(s.create(one(SVC)).is_ok());
    let to_np =
        serde_json::json!({"spec": {"type": "NodePort", "ports": [{"port": 8080, "nodePort": 30001}]}});
    assert_eq!(
        s.patch(Kind::Service, "default", "svc-echoserver", &to_np, PatchType::Strategic),
        Ok(ApplyResult::Configured)
    );
    let svc = service(&s, "svc-echoserver");
    assert_eq!(svc.spec.ports.len(), 1);
    assert_eq!(svc.spec.ports[0].node_port, Some(30001));
    assert_eq!(svc.spec.ports[0].target_port, Some(IntOrString::Int(80)));
    assert_eq!(svc.spec.external_traffic_policy, Some(TrafficPolicy::Cluster));
    let back = serde_json::json!({"spec": {"type": "ClusterIP"}});
    assert_eq!(
        s.patch(Kind::Service, "default", "svc-echoserver", &back, PatchType::Merge),
        Ok(ApplyResult::Configured)
    );
    assert_eq!(service(&s, "svc-echoserver").spec.ports[0].node_port, None);
    // 30001 is free again.
    let y = "apiVersion: v1\nkind: Service\nmetadata:\n  name: np\nspec:\n  type: NodePort\n  ports:\n  - port: 80\n    nodePort: 30001\n";
    assert!(s.create(one(y)).is_ok());
}

#[test]
fn scale_and_change_log() {
    let mut s = server(1);
    let start = s.last_seq();
    let d = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nginx\nspec:\n  selector:\n    matchLabels:\n      app: nginx\n  template:\n    metadata:\n      labels:\n        app: nginx\n    spec:\n      containers:\n      - name: nginx\n        image: nginx\n";
    assert!(s.create(one(d)).is_ok());
    assert_eq!(s.scale(Kind::Deployment, "default", "nginx", 3), Ok(ApplyResult::Configured));
    match s.get_named(Kind::Deployment, "default", "nginx") {
        Some(Object::Deployment(dep)) => assert_eq!(dep.spec.replicas, Some(3)),
        other => panic!("{other:?}"),
    }
    assert!(s.delete(Kind::Deployment, "default", "nginx").is_ok());
    let log: Vec<_> = s.changes_since(start).iter().map(|c| (c.change, c.key.to_string())).collect();
    assert_eq!(
        log,
        vec![
            (ChangeType::Added, "deployment.apps/nginx".to_string()),
            (ChangeType::Modified, "deployment.apps/nginx".to_string()),
            (ChangeType::Deleted, "deployment.apps/nginx".to_string()),
        ]
    );
    let err = s.scale(Kind::Deployment, "default", "nginx", 1).err().map(|e| e.kubectl_message(None));
    assert_eq!(err.as_deref(), Some("Error from server (NotFound): deployments.apps \"nginx\" not found\n"));
}

#[test]
fn nodes_get_pod_cidrs_in_order_and_namespaces_must_exist() {
    let mut s = server(1);
    for n in ["master", "node01", "node02"] {
        let y = format!("apiVersion: v1\nkind: Node\nmetadata:\n  name: {n}\n");
        assert!(s.create(one(&y)).is_ok());
    }
    let cidrs: Vec<_> = s
        .list(Kind::Node)
        .filter_map(|o| match o {
            Object::Node(n) => n.spec.pod_cidr.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(cidrs, vec!["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]);
    let y = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: nginx-ns\nspec:\n  ports:\n  - port: 80\n";
    let err = s.create(one(y)).err();
    assert_eq!(err, Some(ApiError::NotFound { kind: Kind::Namespace, name: "nginx-ns".into() }));
    assert!(s.create(one("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: nginx-ns\n")).is_ok());
    assert!(s.create(one(y)).is_ok());
    assert!(s.delete(Kind::Namespace, "", "nginx-ns").is_ok());
    assert!(s.get_named(Kind::Service, "nginx-ns", "s").is_none());
}

#[test]
fn headless_and_external_name_get_no_cluster_ip() {
    let mut s = server(1);
    let h = "apiVersion: v1\nkind: Service\nmetadata:\n  name: kafka-headless\nspec:\n  clusterIP: None\n  ports:\n  - port: 9092\n";
    assert!(s.create(one(h)).is_ok());
    assert_eq!(service(&s, "kafka-headless").spec.cluster_ip, ClusterIp::None);
    let e = "apiVersion: v1\nkind: Service\nmetadata:\n  name: my-service\nspec:\n  type: ExternalName\n  externalName: my.database.example.com\n";
    assert!(s.create(one(e)).is_ok());
    let svc = service(&s, "my-service");
    assert_eq!(svc.spec.cluster_ip, ClusterIp::Unset);
    assert!(svc.spec.ip_families.is_empty());
}

#[test]
fn generate_name_and_status_kept() {
    let mut s = server(1);
    let p = "apiVersion: v1\nkind: Pod\nmetadata:\n  generateName: nginx-6799fc88d8-\n  labels:\n    app: nginx\nspec:\n  containers:\n  - name: nginx\n    image: nginx\nstatus:\n  phase: Running\n  podIP: 10.244.1.5\n  conditions:\n  - type: Ready\n    status: \"True\"\n";
    let created = s.create(one(p)).map(|o| o.name().to_string());
    let name = created.unwrap_or_default();
    assert!(name.starts_with("nginx-6799fc88d8-") && name.len() == "nginx-6799fc88d8-".len() + 5, "{name}");
    match s.get_named(Kind::Pod, "default", &name) {
        Some(Object::Pod(pod)) => {
            assert!(pod.is_ready());
            assert_eq!(
                pod.status.as_ref().and_then(|st| st.pod_ip).map(|i| i.to_string()).as_deref(),
                Some("10.244.1.5")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn failed_creates_give_back_what_they_reserved() {
    // A /29 has 6 usable addresses: if failed creates leaked their drawn IP, this would fill up.
    let config = ApiServerConfig {
        service_cidr: "10.0.0.0/29".parse().unwrap_or_default(),
        ..ApiServerConfig::default()
    };
    let mut s = ApiServer::new(config, &SimRng::new(1));
    let ok = "apiVersion: v1\nkind: Service\nmetadata:\n  name: holder\nspec:\n  type: NodePort\n  ports:\n  - port: 80\n    nodePort: 30001\n";
    assert!(s.create(one(ok)).is_ok());
    for i in 0..20 {
        let clash = ok.replace("holder", &format!("clash{i}"));
        assert!(matches!(s.create(one(&clash)), Err(ApiError::Invalid { .. })));
    }
    for i in 0..5 {
        let y = format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: fits{i}\nspec:\n  ports:\n  - port: 80\n"
        );
        assert!(s.create(one(&y)).is_ok(), "fits{i}");
    }
}

#[test]
fn lint_positions_errors_without_a_server() {
    let out = load_str(
        "deploy.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: my-nginx\nspec:\n  ports:\n  - name: http\n    port: 80\n  - name: https\n    targetPort: 443\n",
    );
    let errs: Vec<String> = sim_k8s::apiserver::lint(&out.objects).iter().map(ToString::to_string).collect();
    assert_eq!(
        errs,
        vec!["deploy.yaml:9:5: spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive"]
    );
}

#[test]
fn kubectl_confirmation_lines() {
    use sim_k8s::api::ObjectKey;
    use sim_k8s::apiserver::messages;
    let svc = ObjectKey::new(Kind::Service, "default", "my-nginx");
    let dep = ObjectKey::new(Kind::Deployment, "default", "nginx");
    assert_eq!(messages::deleted(&svc), "service \"my-nginx\" deleted\n");
    assert_eq!(messages::scaled(&dep), "deployment.apps/nginx scaled\n");
    assert_eq!(messages::patched(&svc, ApplyResult::Unchanged), "service/my-nginx patched (no change)\n");
    assert_eq!(messages::applied(&svc, ApplyResult::Created), "service/my-nginx created\n");
    assert_eq!(messages::replaced(&svc), "service/my-nginx replaced\n");
}

#[test]
fn typed_listings() {
    let mut s = server(1);
    assert!(s.create(one(SVC)).is_ok());
    let names: Vec<&str> = s.namespaces().map(|n| n.metadata.name.as_str()).collect();
    assert_eq!(names, vec!["default", "kube-node-lease", "kube-public", "kube-system"]);
    assert_eq!(s.services().count(), 1);
    assert!(s.get_named(Kind::Service, "default", "svc-echoserver").and_then(Object::as_service).is_some());
    assert!(s.get_named(Kind::Service, "default", "svc-echoserver").and_then(Object::as_pod).is_none());
}

#[test]
fn service_cidr_objects_extend_the_cluster_ip_range() {
    let mut s = server(1);
    let svc = "apiVersion: v1\nkind: Service\nmetadata:\n  name: extra\nspec:\n  clusterIP: 10.200.0.5\n  ports:\n  - port: 80\n";
    assert!(matches!(s.create(one(svc)), Err(ApiError::Invalid { .. })));
    let cidr = "apiVersion: networking.k8s.io/v1\nkind: ServiceCIDR\nmetadata:\n  name: extra-range\nspec:\n  cidrs:\n  - 10.200.0.0/16\n";
    assert!(s.create(one(cidr)).is_ok());
    assert!(s.create(one(svc)).is_ok());
    assert_eq!(service(&s, "extra").spec.cluster_ip.to_string(), "10.200.0.5");
}

#[test]
fn created_objects_carry_what_the_registry_strategies_set() {
    // What `kubectl get -o yaml` shows on a real cluster right after a create: a Namespace gets
    // the kubernetes.io/metadata.name label, the `kubernetes` finalizer and phase Active
    // (SetDefaults_Namespace, the namespace strategy); a Service and an Ingress get an empty
    // `status: {loadBalancer: {}}`; only kinds whose strategy sets it carry metadata.generation.
    let mut s = server(1);
    assert!(s.create(one("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n")).is_ok());
    let Some(Object::Namespace(ns)) = s.get_named(Kind::Namespace, "", "shop") else {
        panic!("no namespace")
    };
    assert_eq!(ns.metadata.labels.get("kubernetes.io/metadata.name").map(String::as_str), Some("shop"));
    assert_eq!(ns.spec, Some(serde_json::json!({"finalizers": ["kubernetes"]})));
    assert_eq!(ns.status, Some(serde_json::json!({"phase": "Active"})));
    assert_eq!(ns.metadata.generation, None);

    assert!(s.create(one(SVC)).is_ok());
    let svc = service(&s, "svc-echoserver");
    assert_eq!(svc.metadata.generation, None);
    let yaml = serde_json::to_value(svc).map(|v| v["status"].clone()).ok();
    assert_eq!(yaml, Some(serde_json::json!({"loadBalancer": {}})));

    let ing = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\nspec:\n  defaultBackend:\n    service:\n      name: svc-echoserver\n      port:\n        number: 8080\n";
    assert!(s.create(one(ing)).is_ok());
    let Some(Object::Ingress(i)) = s.get_named(Kind::Ingress, "default", "web") else { panic!("no ingress") };
    assert_eq!(i.status, Some(serde_json::json!({"loadBalancer": {}})));
    assert_eq!(i.metadata.generation, Some(1));
}

/// The scheduler's binding (upstream's `assignPod`): sets the node without a whole-pod update
/// (no generation bump), indexes the pod under its node, logs one change, and refuses a pod
/// that is already bound.
#[test]
fn binding_sets_the_node_once() {
    let mut s = server(1);
    s.create(one(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: nginx}]\n",
    ))
    .map(|_| ())
    .unwrap_or_else(|e| panic!("{e}"));
    let Some(Object::Pod(stored)) = s.get_named(Kind::Pod, "default", "p").cloned() else { panic!("no pod") };
    let generation = stored.metadata.generation;
    let key = ObjectKey::new(Kind::Pod, "default", "p");
    let before = s.last_seq();
    assert_eq!(s.bind(&key, "node01").ok(), Some(ApplyResult::Configured));
    assert_eq!(s.last_seq(), before + 1);
    let Some(Object::Pod(now)) = s.get_named(Kind::Pod, "default", "p") else { panic!("no pod") };
    assert_eq!(now.spec.node_name, "node01");
    assert_eq!(now.metadata.generation, generation);
    assert_ne!(now.metadata.resource_version, stored.metadata.resource_version);
    let scheduled =
        now.status.as_ref().and_then(|st| st.conditions.iter().find(|c| c.type_ == "PodScheduled"));
    assert_eq!(scheduled.map(|c| &*c.status), Some("True"));
    assert_eq!(s.pods_on("node01").map(|p| p.metadata.name.as_str()).collect::<Vec<_>>(), ["p"]);
    match s.bind(&key, "node02") {
        Err(ApiError::BadRequest { message }) => {
            assert_eq!(message, "pod p is already assigned to node \"node01\"");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}
