//! Controller behaviour: Deployment → ReplicaSet → Pods, scheduling, kubelet start-up and IPs,
//! scale down, endpoints and slices, StatefulSet ordering, DaemonSets, node failure.

mod controllers_common;

use controllers_common::*;
use sim_k8s::api::{Kind, Object};
use sim_k8s::controllers::names::ALPHANUMS;

const DEPLOY: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports:
        - name: http
          containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: nginx
  ports:
  - port: 8080
    targetPort: http
"#;

fn is_kube_name(s: &str) -> bool {
    s.bytes().all(|b| ALPHANUMS.contains(&b))
}

#[test]
fn deployment_makes_named_pods_that_run_with_ips() {
    let mut store = cluster(2);
    let mut c = controllers(7);
    apply_yaml(&mut store, DEPLOY, secs(0));
    run_until(&mut c, &mut store, secs(0), secs(10));
    let rs: Vec<_> = store.list(Kind::ReplicaSet).map(|o| o.key("default")).collect();
    assert_eq!(rs.len(), 1);
    let rs_name = &rs[0].name;
    let hash = rs_name.strip_prefix("nginx-").unwrap();
    assert!(hash.len() <= 10 && is_kube_name(hash), "{rs_name}");
    let pods = pods(&store);
    assert_eq!(pods.len(), 3);
    for p in &pods {
        let suffix = p.metadata.name.strip_prefix(&format!("{rs_name}-")).unwrap();
        assert_eq!(suffix.len(), 5);
        assert!(is_kube_name(suffix));
        assert_eq!(p.metadata.labels.get("pod-template-hash").map(String::as_str), Some(hash));
        // Never on the tainted control plane; spread over the workers.
        assert_ne!(p.spec.node_name, "control-plane");
        assert!(p.is_ready());
        let s = p.status.as_ref().unwrap();
        assert_eq!(s.phase.as_deref(), Some("Running"));
        let ip = s.pod_ip.unwrap().to_string();
        let want_prefix = if p.spec.node_name == "worker" { "10.244.1." } else { "10.244.2." };
        assert!(ip.starts_with(want_prefix), "{ip} on {}", p.spec.node_name);
        assert!(!ip.ends_with(".1") && !ip.ends_with(".0"));
    }
    let on_worker = pods.iter().filter(|p| p.spec.node_name == "worker").count();
    assert!(on_worker == 1 || on_worker == 2);
    // First IP handed out on a node is .2.
    assert!(pods.iter().any(|p| p.status.as_ref().unwrap().pod_ip.unwrap().to_string() == "10.244.1.2"));

    // Endpoints: every ready pod on the resolved named port.
    let Some(Object::Endpoints(ep)) = get(&store, Kind::Endpoints, "default", "web") else {
        panic!("no endpoints")
    };
    assert_eq!(ep.subsets.len(), 1);
    assert_eq!(ep.subsets[0].addresses.len(), 3);
    assert_eq!(ep.subsets[0].ports[0].port, 80);
    // Slice with the labels kube-proxy selects on.
    let slices: Vec<_> = store
        .list(Kind::EndpointSlice)
        .filter_map(|o| match o {
            Object::EndpointSlice(s) if s.service_name() == Some("web") => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(slices.len(), 1);
    assert!(slices[0].metadata.name.starts_with("web-"));
    assert_eq!(
        slices[0].metadata.labels.get("endpointslice.kubernetes.io/managed-by").map(String::as_str),
        Some("endpointslice-controller.k8s.io")
    );
    assert_eq!(slices[0].endpoints.len(), 3);
    assert!(slices[0].endpoints.iter().all(|e| e.conditions.ready == Some(true)));
}

#[test]
fn same_seed_same_world() {
    let run = |seed| {
        let mut store = cluster(2);
        let mut c = controllers(seed);
        apply_yaml(&mut store, DEPLOY, secs(0));
        run_until(&mut c, &mut store, secs(0), secs(10));
        format!("{store:?}")
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn pods_are_not_running_before_startup_delay() {
    let mut store = cluster(1);
    let mut c = controllers(3);
    apply_yaml(&mut store, DEPLOY, secs(0));
    let r = c.reconcile(&mut store, secs(0));
    assert!(r.changed);
    let wake = r.next_wakeup.unwrap();
    assert!(wake > secs(0) && wake <= secs(2));
    assert!(pods(&store).iter().all(|p| !p.is_ready()));
    let Some(Object::Endpoints(ep)) = get(&store, Kind::Endpoints, "default", "web") else { panic!() };
    assert!(ep.subsets.is_empty());
}

#[test]
fn scale_down_removes_not_ready_then_newest() {
    let mut store = cluster(2);
    let mut c = controllers(11);
    apply_yaml(&mut store, DEPLOY, secs(0));
    run_until(&mut c, &mut store, secs(0), secs(10));
    // Two more, created later.
    let mut d = match get(&store, Kind::Deployment, "default", "nginx") {
        Some(Object::Deployment(d)) => d.clone(),
        _ => panic!(),
    };
    d.spec.replicas = Some(5);
    update(&mut store, Object::Deployment(d.clone()), secs(20));
    c.reconcile(&mut store, secs(20));
    let old: Vec<String> = pods(&store)
        .iter()
        .filter(|p| p.metadata.creation_timestamp.as_deref() == Some("2024-01-01T00:00:00Z"))
        .map(|p| p.metadata.name.clone())
        .collect();
    assert_eq!(old.len(), 3);
    // Scale back while the two new ones are still ContainerCreating: they go first.
    d.spec.replicas = Some(3);
    update(&mut store, Object::Deployment(d), secs(20));
    c.reconcile(&mut store, secs(20));
    let active: Vec<String> = pods(&store)
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| p.metadata.name.clone())
        .collect();
    assert_eq!(active, old);
    // Terminating pods leave after the 30s grace period.
    run_until(&mut c, &mut store, secs(20), secs(60));
    assert_eq!(pods(&store).len(), 3);
}

#[test]
fn terminating_pod_is_serving_but_not_ready_in_slices_and_gone_from_endpoints() {
    let mut store = cluster(1);
    let mut c = controllers(5);
    apply_yaml(&mut store, DEPLOY, secs(0));
    run_until(&mut c, &mut store, secs(0), secs(10));
    let victim = pods(&store)[0].clone();
    let key = sim_k8s::api::ObjectKey::new(Kind::Pod, "default", &victim.metadata.name);
    let mut p = victim.clone();
    sim_k8s::controllers::pods::mark_terminating(&mut p, secs(10), None);
    update(&mut store, Object::Pod(p), secs(10));
    c.reconcile(&mut store, secs(10));
    let Some(Object::Endpoints(ep)) = get(&store, Kind::Endpoints, "default", "web") else { panic!() };
    // The replacement has no IP while ContainerCreating, the victim is terminating: 2 left.
    assert_eq!(ep.subsets[0].addresses.len(), 2);
    assert!(ep.subsets[0].not_ready_addresses.is_empty());
    let ip = victim.status.as_ref().unwrap().pod_ip.unwrap();
    assert!(!ep.subsets[0].addresses.iter().any(|a| a.ip == ip));
    let slice_ep = store
        .list(Kind::EndpointSlice)
        .find_map(|o| match o {
            Object::EndpointSlice(s) if s.service_name() == Some("web") => {
                s.endpoints.iter().find(|e| e.addresses[0] == ip.to_string()).cloned()
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(slice_ep.conditions.ready, Some(false));
    assert_eq!(slice_ep.conditions.serving, Some(true));
    assert_eq!(slice_ep.conditions.terminating, Some(true));
    run_until(&mut c, &mut store, secs(10), secs(41));
    assert!(store.get(&key).is_none());
}

const STS: &str = r#"
apiVersion: v1
kind: Service
metadata:
  name: nginx
spec:
  clusterIP: None
  selector:
    app: web
  ports:
  - port: 80
    name: web
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: registry.k8s.io/nginx-slim:0.8
        ports:
        - containerPort: 80
          name: web
"#;

#[test]
fn statefulset_creates_pods_in_order_waiting_for_ready() {
    let mut store = cluster(2);
    let mut c = controllers(9);
    apply_yaml(&mut store, STS, secs(0));
    c.reconcile(&mut store, secs(0));
    let names: Vec<String> = pods(&store).iter().map(|p| p.metadata.name.clone()).collect();
    assert_eq!(names, ["web-0"]);
    run_until(&mut c, &mut store, secs(0), secs(30));
    let ps = pods(&store);
    let names: Vec<String> = ps.iter().map(|p| p.metadata.name.clone()).collect();
    assert_eq!(names, ["web-0", "web-1", "web-2"]);
    let created: Vec<_> = ps.iter().map(|p| p.metadata.creation_timestamp.clone()).collect();
    assert!(created[0] < created[1] && created[1] < created[2]);
    for p in &ps {
        assert_eq!(p.spec.hostname, p.metadata.name);
        assert_eq!(p.spec.subdomain, "nginx");
    }
    let Some(Object::Endpoints(ep)) = get(&store, Kind::Endpoints, "default", "nginx") else { panic!() };
    let hosts: Vec<&str> = ep.subsets[0].addresses.iter().map(|a| a.hostname.as_str()).collect();
    let mut sorted = hosts.clone();
    sorted.sort();
    assert_eq!(sorted, ["web-0", "web-1", "web-2"]);
    assert_eq!(ep.metadata.labels.get("service.kubernetes.io/headless").map(String::as_str), Some(""));
}

const DS: &str = r#"
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels:
      app: agent
  template:
    metadata:
      labels:
        app: agent
    spec:
      containers:
      - name: agent
        image: busybox
"#;

#[test]
fn daemonset_one_pod_per_schedulable_node() {
    let mut store = cluster(3);
    let mut c = controllers(2);
    apply_yaml(&mut store, DS, secs(0));
    run_until(&mut c, &mut store, secs(0), secs(5));
    let mut nodes: Vec<String> = pods(&store).iter().map(|p| p.spec.node_name.clone()).collect();
    nodes.sort();
    assert_eq!(nodes, ["worker", "worker2", "worker3"]);
}

#[test]
fn unschedulable_pod_stays_pending_with_reason() {
    let mut store = cluster(1);
    let mut c = controllers(2);
    apply_yaml(
        &mut store,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  nodeSelector:\n    disk: ssd\n  containers:\n  - name: c\n    image: nginx\n",
        secs(0),
    );
    run_until(&mut c, &mut store, secs(0), secs(5));
    let p = &pods(&store)[0];
    let cond = p.status.as_ref().unwrap().conditions.iter().find(|c| c.type_ == "PodScheduled").unwrap();
    assert_eq!(cond.status, "False");
    assert_eq!(
        cond.message.as_deref(),
        Some(
            "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
        )
    );
    assert!(c.events().iter().any(|e| e.reason == "FailedScheduling"));
}

#[test]
fn node_down_marks_not_ready_then_evicts_and_replaces() {
    let mut store = cluster(2);
    let mut c = controllers(4);
    apply_yaml(&mut store, DEPLOY, secs(0));
    run_until(&mut c, &mut store, secs(0), secs(10));
    let on_worker: Vec<String> = pods(&store)
        .iter()
        .filter(|p| p.spec.node_name == "worker")
        .map(|p| p.metadata.name.clone())
        .collect();
    assert!(!on_worker.is_empty());
    c.node_down("worker", secs(10));
    run_until(&mut c, &mut store, secs(10), secs(49));
    let Some(Object::Endpoints(ep)) = get(&store, Kind::Endpoints, "default", "web") else { panic!() };
    assert_eq!(
        ep.subsets.iter().map(|s| s.addresses.len()).sum::<usize>(),
        3,
        "still ready inside grace period"
    );
    run_until(&mut c, &mut store, secs(49), secs(51));
    let Some(Object::Endpoints(ep)) = get(&store, Kind::Endpoints, "default", "web") else { panic!() };
    let ready: usize = ep.subsets.iter().map(|s| s.addresses.len()).sum();
    assert_eq!(ready, 3 - on_worker.len());
    // Eviction after 5 minutes: replacements land on the healthy worker.
    run_until(&mut c, &mut store, secs(51), secs(400));
    let healthy = pods(&store).iter().filter(|p| p.spec.node_name == "worker2" && p.is_ready()).count();
    assert_eq!(healthy, 3);
    // Evicted pods stay Terminating on the dead node.
    assert!(
        pods(&store)
            .iter()
            .filter(|p| p.spec.node_name == "worker")
            .all(|p| p.metadata.deletion_timestamp.is_some())
    );
}

#[test]
fn kubernetes_service_points_at_control_plane() {
    let mut store = cluster(1);
    let mut c = controllers(1);
    c.reconcile(&mut store, secs(0));
    let Some(Object::Service(s)) = get(&store, Kind::Service, "default", "kubernetes") else { panic!() };
    assert_eq!(s.spec.cluster_ip.to_string(), "10.96.0.1");
    let Some(Object::Endpoints(ep)) = get(&store, Kind::Endpoints, "default", "kubernetes") else { panic!() };
    assert_eq!(ep.subsets[0].addresses[0].ip.to_string(), "172.18.0.2");
    assert_eq!(ep.subsets[0].ports[0].port, 6443);
    // Nothing left to do afterwards.
    assert!(!c.reconcile(&mut store, secs(1)).changed);
}

#[test]
fn crash_loop_backoff_and_restart_count() {
    // The kubelet's doBackOff over flowcontrol.Backoff(10s, 5m): the first crash restarts at
    // once, each later one waits the entry's delay (10s, 20s, ...), and a crash more than
    // 2 x 5m after the last restart starts over.
    let mut store = cluster(1);
    let mut c = controllers(8);
    apply_yaml(&mut store, DEPLOY, secs(0));
    run_until(&mut c, &mut store, secs(0), secs(10));
    let p = pods(&store)[0].clone();
    let key = sim_k8s::api::ObjectKey::new(Kind::Pod, "default", &p.metadata.name);
    let summary = |store: &sim_k8s::apiserver::ApiServer, at: u64| {
        let Some(Object::Pod(p)) = store.get(&key).cloned() else { panic!() };
        let (ready, status, restarts) = sim_k8s::kubectl::get::pod_summary(&p, secs(at));
        (ready, status, restarts)
    };
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    // First crash: restarted at once.
    assert!(c.crash_container(&store, &key, None, secs(10)));
    c.reconcile(&mut store, secs(10));
    assert_eq!(summary(&store, 15), s("1/1", "Running", "1 (5s ago)"));
    // Second crash: 10s of CrashLoopBackOff, out of the endpoints meanwhile.
    assert!(c.crash_container(&store, &key, None, secs(30)));
    run_until(&mut c, &mut store, secs(30), secs(35));
    // RESTARTS counts the restarts made: the one in back-off has not happened yet.
    assert_eq!(summary(&store, 35), s("0/1", "CrashLoopBackOff", "1 (5s ago)"));
    let Some(Object::Endpoints(ep)) = get(&store, Kind::Endpoints, "default", "web").cloned() else {
        panic!()
    };
    assert_eq!(ep.subsets[0].not_ready_addresses.len(), 1);
    let Some(Object::Pod(waiting)) = store.get(&key).cloned() else { panic!() };
    let message =
        waiting.status.as_ref().and_then(|s| s.container_statuses.as_ref()?.first()).and_then(|cs| {
            cs.state.as_ref().and_then(|st| st.waiting.as_ref()).and_then(|w| w.message.clone())
        });
    assert!(message.is_some_and(|m| m.starts_with("back-off 10s restarting failed container=")));
    run_until(&mut c, &mut store, secs(35), secs(41));
    assert_eq!(summary(&store, 41).1, "Running");
    // Third: the delay doubles to 20s.
    assert!(c.crash_container(&store, &key, None, secs(50)));
    run_until(&mut c, &mut store, secs(50), secs(69));
    assert_eq!(summary(&store, 69).1, "CrashLoopBackOff");
    run_until(&mut c, &mut store, secs(69), secs(71));
    assert_eq!(summary(&store, 71), s("1/1", "Running", "3 (21s ago)"));
    // doBackOff's event: at each crash that waits (30 s, 50 s) and at each pod-worker resync
    // (every 10 s) that finds the container still waiting (60 s); none for the first crash.
    let backoffs: Vec<(u32, sim_core::SimTime, sim_core::SimTime)> = c
        .events()
        .iter()
        .filter(|e| e.reason == "BackOff")
        .map(|e| (e.count, e.first_seen, e.last_seen))
        .collect();
    assert_eq!(backoffs, [(3, secs(30), secs(60))]);
    let e = c.events().iter().find(|e| e.reason == "BackOff").map(|e| e.message.clone());
    assert!(
        e.is_some_and(|m| m.starts_with(&format!(
            "Back-off restarting failed container nginx in pod {}_default(",
            p.metadata.name
        ))),
        "{:?}",
        c.events().iter().find(|e| e.reason == "BackOff")
    );
    // Running for more than 10 minutes since that restart: the next crash restarts at once.
    assert!(c.crash_container(&store, &key, None, secs(700)));
    c.reconcile(&mut store, secs(700));
    assert_eq!(summary(&store, 701), s("1/1", "Running", "4 (1s ago)"));
}

#[test]
fn backoff_entries_follow_flowcontrol() {
    use sim_k8s::controllers::kubelet::{BACKOFF_INITIAL, BACKOFF_MAX, Backoff};
    let d = sim_core::SimDuration::from_secs;
    let (wait, e) = Backoff::after_exit(None, secs(5));
    assert_eq!((wait, e), (d(0), Backoff { delay: BACKOFF_INITIAL, last_update: secs(5) }));
    // Waits 10, 20, 40, 80, 160, then the 300s cap.
    let mut entry = e;
    let mut t = secs(6);
    let mut waits = Vec::new();
    for _ in 0..7 {
        let (w, next) = Backoff::after_exit(Some(entry), t);
        waits.push(w.as_secs());
        t = next.last_update.saturating_add(d(1));
        entry = next;
    }
    assert_eq!(waits, [10, 20, 40, 80, 160, 300, 300]);
    assert_eq!(entry.delay, BACKOFF_MAX);
    // hasExpired: strictly more than 2 x the cap since the last update.
    let at_cap = entry.last_update.saturating_add(d(600));
    assert_eq!(Backoff::after_exit(Some(entry), at_cap).0, d(300));
    let past = entry.last_update.saturating_add(d(601));
    assert_eq!(Backoff::after_exit(Some(entry), past).0, d(0));
}

#[test]
fn readiness_probe_hook_gates_endpoints() {
    let yaml = DEPLOY.replace(
        "        - name: http\n          containerPort: 80\n",
        "        - name: http\n          containerPort: 80\n        readinessProbe:\n          tcpSocket:\n            port: http\n          initialDelaySeconds: 5\n          periodSeconds: 2\n",
    );
    let mut store = cluster(1);
    let mut c = controllers(8);
    let listening = std::rc::Rc::new(std::cell::Cell::new(false));
    let l2 = listening.clone();
    c.set_probe_hook(Box::new(move |chk| {
        assert_eq!(chk.port, Some(80));
        assert!(chk.pod_ip.is_some_and(|ip| ip.to_string().starts_with("10.244.1.")));
        l2.get().into()
    }));
    apply_yaml(&mut store, &yaml, secs(0));
    run_until(&mut c, &mut store, secs(0), secs(20));
    assert!(pods(&store).iter().all(|p| !p.is_ready()));
    assert!(c.events().iter().any(|e| e.reason == "Unhealthy"));
    listening.set(true);
    run_until(&mut c, &mut store, secs(20), secs(23));
    assert!(pods(&store).iter().all(|p| p.is_ready()));
    // Three consecutive failures take a ready pod out again.
    listening.set(false);
    run_until(&mut c, &mut store, secs(23), secs(26));
    assert!(pods(&store).iter().all(|p| p.is_ready()), "one failure is not enough");
    run_until(&mut c, &mut store, secs(26), secs(30));
    assert!(pods(&store).iter().all(|p| !p.is_ready()));
}

#[test]
fn a_timed_out_probe_counts_when_its_timeout_ends() {
    // httpGet every 10 s (the API's defaults: timeout 1 s, 3 failures); the app hangs at 20 s.
    let yaml = DEPLOY.replace(
        "        - name: http\n          containerPort: 80\n",
        "        - name: http\n          containerPort: 80\n        readinessProbe:\n          httpGet:\n            path: /ready\n            port: http\n",
    );
    let mut store = cluster(1);
    let mut c = controllers(8);
    c.set_probe_hook(Box::new(|chk| {
        if chk.now >= secs(20) {
            sim_k8s::controllers::ProbeResult::TimedOut
        } else {
            sim_k8s::controllers::ProbeResult::Success
        }
    }));
    apply_yaml(&mut store, &yaml, secs(0));
    run_until(&mut c, &mut store, secs(0), secs(15));
    assert!(pods(&store).iter().all(|p| p.is_ready()));
    let started: Vec<sim_core::SimTime> =
        c.events().iter().filter(|e| e.reason == "Started").map(|e| e.first_seen).collect();
    let t0 = started[0];
    // The first pod's probes at t0 + 20, + 30, + 40 time out; the third counts at t0 + 41.
    let third = t0.saturating_add(sim_core::SimDuration::from_secs(41));
    let before = sim_core::SimTime::from_nanos(third.as_nanos() - 1_000_000);
    run_until(&mut c, &mut store, secs(15), before);
    assert!(pods(&store).iter().all(|p| p.is_ready()), "not before the timeout has run out");
    run_until(&mut c, &mut store, before, third);
    // The first pod to start is the first out (the others started a little later).
    assert_eq!(pods(&store).iter().filter(|p| !p.is_ready()).count(), 1);
    let e = c.events().iter().find(|e| e.reason == "Unhealthy").map(|e| e.message.clone());
    assert!(
        e.is_some_and(|m| m.ends_with(
            "/ready\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        )),
        "{:?}",
        c.events().iter().find(|e| e.reason == "Unhealthy")
    );
}

#[test]
fn publish_not_ready_addresses_lists_everything() {
    let yaml = DEPLOY.replace(
        "  selector:\n    app: nginx\n  ports:",
        "  publishNotReadyAddresses: true\n  selector:\n    app: nginx\n  ports:",
    );
    assert!(yaml.contains("publishNotReadyAddresses"));
    let mut store = cluster(1);
    let mut c = controllers(8);
    c.set_probe_hook(Box::new(|_| false.into()));
    let yaml = yaml.replace(
        "          containerPort: 80\n",
        "          containerPort: 80\n        readinessProbe:\n          httpGet:\n            port: 80\n",
    );
    apply_yaml(&mut store, &yaml, secs(0));
    run_until(&mut c, &mut store, secs(0), secs(30));
    assert!(pods(&store).iter().all(|p| !p.is_ready()));
    let Some(Object::Endpoints(ep)) = get(&store, Kind::Endpoints, "default", "web").cloned() else {
        panic!()
    };
    assert_eq!(ep.subsets[0].addresses.len(), 3);
    assert!(ep.subsets[0].not_ready_addresses.is_empty());
}

#[test]
fn node_lost_replaces_pods_at_once() {
    let mut store = cluster(2);
    let mut c = controllers(4);
    apply_yaml(&mut store, DEPLOY, secs(0));
    run_until(&mut c, &mut store, secs(0), secs(10));
    let lost = pods(&store).iter().filter(|p| p.spec.node_name == "worker").count();
    assert!(lost > 0);
    assert!(c.node_lost(&mut store, "worker", secs(10)));
    run_until(&mut c, &mut store, secs(10), secs(15));
    let ps = pods(&store);
    assert_eq!(ps.len(), 3);
    assert!(ps.iter().all(|p| p.spec.node_name == "worker2" && p.is_ready()));
}

#[test]
fn selector_less_endpoints_are_left_alone_and_deleted_endpoints_come_back() {
    let mut store = cluster(1);
    let mut c = controllers(4);
    apply_yaml(&mut store, DEPLOY, secs(0));
    apply_yaml(
        &mut store,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: ext\nspec:\n  ports:\n  - port: 3306\n---\napiVersion: v1\nkind: Endpoints\nmetadata:\n  name: ext\nsubsets:\n- addresses:\n  - ip: 192.0.2.10\n  ports:\n  - port: 3306\n",
        secs(0),
    );
    run_until(&mut c, &mut store, secs(0), secs(10));
    let Some(Object::Endpoints(ep)) = get(&store, Kind::Endpoints, "default", "ext").cloned() else {
        panic!()
    };
    assert_eq!(ep.subsets[0].addresses[0].ip.to_string(), "192.0.2.10");
    store.delete(Kind::Endpoints, "default", "web").unwrap();
    c.reconcile(&mut store, secs(11));
    let Some(Object::Endpoints(ep)) = get(&store, Kind::Endpoints, "default", "web").cloned() else {
        panic!()
    };
    assert_eq!(ep.subsets[0].addresses.len(), 3);
}

#[test]
fn rolling_update_keeps_availability_within_surge() {
    let yaml = DEPLOY.replace("replicas: 3", "replicas: 4");
    let mut store = cluster(2);
    let mut c = controllers(21);
    apply_yaml(&mut store, &yaml, secs(0));
    run_until(&mut c, &mut store, secs(0), secs(10));
    let mut d = match get(&store, Kind::Deployment, "default", "nginx") {
        Some(Object::Deployment(d)) => d.clone(),
        _ => panic!(),
    };
    std::sync::Arc::make_mut(&mut std::sync::Arc::make_mut(&mut d.spec.template.spec).containers)[0].image =
        "nginx:1.28".into();
    update(&mut store, Object::Deployment(d), secs(10));
    let mut now = secs(10);
    let mut seen_surge = false;
    for _ in 0..500 {
        let r = c.reconcile(&mut store, now);
        let ps = pods(&store);
        let ready = ps.iter().filter(|p| p.is_ready() && p.metadata.deletion_timestamp.is_none()).count();
        let live = ps.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).count();
        // maxUnavailable 25% of 4 = 1, maxSurge 25% of 4 = 1.
        assert!(ready >= 3, "only {ready} ready at {now}");
        assert!(live <= 5, "{live} pods at {now}");
        seen_surge |= live == 5;
        match r.next_wakeup {
            Some(t) if t <= secs(120) => now = t,
            _ => break,
        }
    }
    assert!(seen_surge);
    let ps = pods(&store);
    assert_eq!(ps.len(), 4);
    assert!(ps.iter().all(|p| p.spec.containers[0].image == "nginx:1.28" && p.is_ready()));
    let rs: Vec<(String, i32)> = store
        .list(Kind::ReplicaSet)
        .filter_map(|o| match o {
            Object::ReplicaSet(r) => Some((
                r.metadata.annotations["deployment.kubernetes.io/revision"].clone(),
                r.spec.replicas.unwrap_or(1),
            )),
            _ => None,
        })
        .collect();
    let mut rs = rs;
    rs.sort();
    assert_eq!(rs, [("1".to_string(), 0), ("2".to_string(), 4)]);
    assert!(
        c.events()
            .iter()
            .any(|e| e.message.starts_with("Scaled down replica set nginx-") && e.message.ends_with("to 0"))
    );
}

#[test]
fn host_network_daemonset_tolerating_everything_runs_on_every_node_with_node_ips() {
    let mut store = cluster(2);
    let mut c = controllers(2);
    apply_yaml(
        &mut store,
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: kube-proxy\n  namespace: kube-system\nspec:\n  selector:\n    matchLabels:\n      k8s-app: kube-proxy\n  template:\n    metadata:\n      labels:\n        k8s-app: kube-proxy\n    spec:\n      hostNetwork: true\n      tolerations:\n      - operator: Exists\n      containers:\n      - name: kube-proxy\n        image: registry.k8s.io/kube-proxy:v1.33.1\n",
        secs(0),
    );
    run_until(&mut c, &mut store, secs(0), secs(5));
    let mut got: Vec<(String, String)> = pods(&store)
        .iter()
        .map(|p| {
            (
                p.spec.node_name.clone(),
                p.status.as_ref().and_then(|s| s.pod_ip).map(|i| i.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("control-plane".to_string(), "172.18.0.2".to_string()),
            ("worker".to_string(), "172.18.0.3".to_string()),
            ("worker2".to_string(), "172.18.0.4".to_string())
        ]
    );
    assert!(
        pods(&store)
            .iter()
            .all(|p| p.metadata.namespace == "kube-system" && p.metadata.name.starts_with("kube-proxy-"))
    );
}

#[test]
fn one_shot_pod_completes() {
    let mut store = cluster(1);
    let mut c = controllers(2);
    apply_yaml(
        &mut store,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: dig\nspec:\n  restartPolicy: Never\n  containers:\n  - name: dig\n    image: tutum/dnsutils\n",
        secs(0),
    );
    run_until(&mut c, &mut store, secs(0), secs(5));
    let key = sim_k8s::api::ObjectKey::new(Kind::Pod, "default", "dig");
    assert!(c.container_exited(&store, &key, None, 0, secs(5)));
    run_until(&mut c, &mut store, secs(5), secs(6));
    let Some(Object::Pod(p)) = store.get(&key).cloned() else { panic!() };
    assert_eq!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded"));
    let (ready, status, restarts) = sim_k8s::kubectl::get::pod_summary(&p, secs(6));
    assert_eq!((ready.as_str(), status.as_str(), restarts.as_str()), ("0/1", "Completed", "0"));
    // Exit 2 under restartPolicy Never: Failed with the code in STATUS's reason.
    apply_yaml(
        &mut store,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n  restartPolicy: Never\n  containers:\n  - name: c\n    image: busybox\n",
        secs(6),
    );
    run_until(&mut c, &mut store, secs(6), secs(10));
    let bad = sim_k8s::api::ObjectKey::new(Kind::Pod, "default", "bad");
    assert!(c.container_exited(&store, &bad, None, 2, secs(10)));
    run_until(&mut c, &mut store, secs(10), secs(11));
    let Some(Object::Pod(p)) = store.get(&bad).cloned() else { panic!() };
    assert_eq!(sim_k8s::kubectl::get::pod_summary(&p, secs(11)).1, "Error");
    assert_eq!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Failed"));
}

#[test]
fn statefulset_scales_down_highest_ordinal_first_one_at_a_time() {
    let mut store = cluster(2);
    let mut c = controllers(9);
    apply_yaml(&mut store, STS, secs(0));
    run_until(&mut c, &mut store, secs(0), secs(30));
    store.scale(Kind::StatefulSet, "default", "web", 1).unwrap();
    c.reconcile(&mut store, secs(30));
    let terminating: Vec<String> = pods(&store)
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_some())
        .map(|p| p.metadata.name.clone())
        .collect();
    assert_eq!(terminating, ["web-2"]);
    // nginx quits within 100 ms of SIGTERM (controllers/termination.rs): web-2 is gone, and
    // only then is web-1 deleted.
    let next = secs(30) + sim_core::SimDuration::from_millis(150);
    run_until(&mut c, &mut store, secs(30), next);
    assert!(pods(&store).iter().all(|p| p.metadata.name != "web-2"));
    let terminating: Vec<String> = pods(&store)
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_some())
        .map(|p| p.metadata.name.clone())
        .collect();
    assert_eq!(terminating, ["web-1"]);
    run_until(&mut c, &mut store, next, secs(100));
    let names: Vec<String> = pods(&store).iter().map(|p| p.metadata.name.clone()).collect();
    assert_eq!(names, ["web-0"]);
    // A deleted member comes back under the same name.
    let mut p = pods(&store)[0].clone();
    sim_k8s::controllers::pods::mark_terminating(&mut p, secs(100), Some(0));
    update(&mut store, Object::Pod(p), secs(100));
    run_until(&mut c, &mut store, secs(100), secs(105));
    let ps = pods(&store);
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].metadata.name, "web-0");
    assert!(ps[0].is_ready());
}

#[test]
fn node_back_up_before_eviction_restores_endpoints() {
    let mut store = cluster(2);
    let mut c = controllers(4);
    apply_yaml(&mut store, DEPLOY, secs(0));
    run_until(&mut c, &mut store, secs(0), secs(10));
    c.node_down("worker", secs(10));
    run_until(&mut c, &mut store, secs(10), secs(60));
    let ready = |store: &Store| match get(store, Kind::Endpoints, "default", "web") {
        Some(Object::Endpoints(ep)) => ep.subsets.iter().map(|s| s.addresses.len()).sum::<usize>(),
        _ => 0,
    };
    assert!(ready(&store) < 3);
    c.node_up("worker");
    run_until(&mut c, &mut store, secs(60), secs(61));
    assert_eq!(ready(&store), 3);
    assert_eq!(pods(&store).len(), 3, "nothing was evicted or replaced");
    let Some(Object::Node(n)) = get(&store, Kind::Node, "", "worker").cloned() else { panic!() };
    assert!(n.spec.taints.is_empty());
}
