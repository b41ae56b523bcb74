//! Every article manifest under `tests/manifests/articles/` loads cleanly and is accepted by
//! the API server (except article 004's NodePort example as written, which must fail with the
//! API server's exact words); a `kubectl get -o yaml` List dump with status and managedFields
//! loads cleanly and keeps its observed state.

use std::path::PathBuf;

use sim_core::SimRng;
use sim_k8s::api::{Kind, Object};
use sim_k8s::apiserver::{ApiServer, ApiServerConfig, ApplyResult};
use sim_k8s::manifest::{self, Source};

fn dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/manifests").join(sub)
}

#[test]
fn all_article_manifests_load_without_errors() {
    let out = manifest::load(&[Source::Path(dir("articles"))]);
    let errors: Vec<String> = out.errors.iter().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(out.not_simulated.is_empty());
    let mut kinds: Vec<(String, String)> = out
        .objects
        .iter()
        .map(|l| {
            let file = l.origin.file.rsplit('/').next().unwrap_or("").to_string();
            (file, format!("{}/{}", l.value.kind(), l.value.name()))
        })
        .collect();
    kinds.dedup();
    insta::assert_debug_snapshot!(kinds);
}

#[test]
fn article_manifests_are_accepted_by_the_api_server() {
    let out = manifest::load(&[Source::Path(dir("articles"))]);
    let mut server = ApiServer::new(ApiServerConfig::default(), &SimRng::new(1));
    // Namespaces first, as `kubectl create ns nginx-ns` ran first in article 001.
    let (ns, rest): (Vec<_>, Vec<_>) =
        out.objects.into_iter().partition(|l| l.value.kind() == Kind::Namespace);
    let mut lines = String::new();
    for report in server.apply_loaded(&ns).into_iter().chain(server.apply_loaded(&rest)) {
        let file = report.origin.file.rsplit('/').next().unwrap_or("").to_string();
        lines.push_str(&format!("{file}: {}", report.kubectl_line()));
    }
    insta::assert_snapshot!(lines);
}

#[test]
fn article_004_nodeport_fixed_needs_a_wider_node_port_range() {
    let file = dir("articles").join("004-service-my-nginx-nodeport.yaml");
    let out = manifest::load(&[Source::Path(file)]);
    assert!(out.errors.is_empty());
    let config = ApiServerConfig { node_port_range: (1, 32767), ..ApiServerConfig::default() };
    let mut server = ApiServer::new(config, &SimRng::new(1));
    let reports = server.apply_loaded(&out.objects);
    assert_eq!(reports[0].result, Ok(ApplyResult::Created));
    match server.get_named(Kind::Service, "default", "my-nginx") {
        Some(Object::Service(svc)) => {
            let nps: Vec<_> = svc.spec.ports.iter().map(|p| p.node_port).collect();
            assert_eq!(nps, vec![Some(8080), Some(443)]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn kubectl_get_o_yaml_list_dump_loads_with_status() {
    let out = manifest::load(&[Source::Path(dir("dump-get-all-o-yaml.yaml"))]);
    let errors: Vec<String> = out.errors.iter().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The dump's kube-root-ca.crt ConfigMap is an object since ConfigMaps are simulated.
    assert_eq!(out.objects.len(), 9);
    assert!(out.objects.iter().any(|o| o.value.kind() == Kind::ConfigMap));
    assert!(out.not_simulated.is_empty());
    let notes: Vec<String> =
        out.ignored.iter().map(|n| n.to_string().rsplit('/').next().unwrap_or("").to_string()).collect();
    assert_eq!(
        notes,
        vec![
            "dump-get-all-o-yaml.yaml:12:5: items[0].metadata.managedFields: ignored (server-side bookkeeping, not simulated)",
            "dump-get-all-o-yaml.yaml:64:5: items[1].metadata.selfLink: ignored (server-side bookkeeping, not simulated)",
        ]
    );
    let mut server = ApiServer::new(ApiServerConfig::default(), &SimRng::new(1));
    for r in server.apply_loaded(&out.objects) {
        assert!(r.result.is_ok(), "{}", r.kubectl_line());
    }
    // Observed state survives: pod IP and readiness, load-balancer ingress, node addresses,
    // and the given cluster IP and node port.
    match server.get_named(Kind::Pod, "default", "my-nginx-fc8c7b6c4-7j6hx") {
        Some(Object::Pod(p)) => {
            assert!(p.is_ready());
            assert_eq!(
                p.status.as_ref().and_then(|s| s.pod_ip).map(|ip| ip.to_string()).as_deref(),
                Some("10.244.196.136")
            );
        }
        other => panic!("{other:?}"),
    }
    match server.get_named(Kind::Service, "default", "example-service") {
        Some(Object::Service(s)) => {
            assert_eq!(s.spec.cluster_ip.to_string(), "10.96.45.12");
            assert_eq!(s.spec.ports[0].node_port, Some(31742));
            let ingress = s.status.as_ref().map(|st| st.load_balancer.ingress[0].ip.clone());
            assert_eq!(ingress.as_deref(), Some("203.0.113.10"));
        }
        other => panic!("{other:?}"),
    }
    match server.get_named(Kind::Node, "", "node01") {
        Some(Object::Node(n)) => {
            assert_eq!(n.internal_ip().map(|ip| ip.to_string()).as_deref(), Some("10.32.1.148"));
            assert_eq!(n.spec.pod_cidr.as_deref(), Some("10.244.1.0/24"));
        }
        other => panic!("{other:?}"),
    }
    match server.get_named(Kind::EndpointSlice, "default", "my-nginx-x2b7q") {
        Some(Object::EndpointSlice(es)) => {
            assert_eq!(es.service_name(), Some("my-nginx"));
            assert_eq!(es.endpoints.len(), 2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn loading_is_deterministic() {
    let a = manifest::load(&[Source::Path(dir("articles")), Source::Path(dir("dump-get-all-o-yaml.yaml"))]);
    let b = manifest::load(&[Source::Path(dir("articles")), Source::Path(dir("dump-get-all-o-yaml.yaml"))]);
    assert_eq!(a, b);
}

#[test]
fn old_componentconfig_kube_proxy_config_loads_and_validates() {
    let out = manifest::load(&[Source::Path(dir("kube-proxy-config.yaml"))]);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert!(sim_k8s::apiserver::lint(&out.objects).is_empty());
    match out.objects.first().map(|l| &l.value) {
        Some(Object::KubeProxyConfiguration(c)) => {
            assert_eq!(c.iptables.masquerade_bit, Some(14));
            assert_eq!(
                c.conntrack.tcp_established_timeout.map(|d| d.to_string()).as_deref(),
                Some("24h0m0s")
            );
            assert_eq!(c.cluster_cidr, "10.244.0.0/16");
        }
        other => panic!("{other:?}"),
    }
}

/// Scheduling constraints the simulated scheduler does not apply are named with their
/// position (on every load, unlike dump bookkeeping), in source order.
#[test]
fn scheduling_constraints_are_named_as_not_simulated() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule}]\n      affinity: {podAntiAffinity: {}}\n      containers: [{name: web, image: nginx}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, selfLink: /api/v1/p}\nspec:\n  affinity: {}\n  containers: [{name: c, image: nginx}]\n";
    let out = manifest::load(&[Source::Text { name: "m.yaml".into(), text: text.into() }]);
    assert!(out.errors.is_empty(), "{:#?}", out.errors);
    let why = "not simulated: the scheduler places pods by nodeSelector, taints and pod count only";
    let noted: Vec<(String, bool)> =
        out.ignored.iter().map(|f| (f.to_string(), f.changes_behaviour())).collect();
    assert_eq!(
        noted,
        vec![
            (format!("m.yaml:9:7: spec.template.spec.topologySpreadConstraints: ignored ({why})"), true),
            (format!("m.yaml:10:7: spec.template.spec.affinity: ignored ({why})"), true),
            (
                "m.yaml:15:21: metadata.selfLink: ignored (server-side bookkeeping, not simulated)".into(),
                false
            ),
            (format!("m.yaml:17:3: spec.affinity: ignored ({why})"), true),
        ]
    );
}
