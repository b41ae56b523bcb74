//! Defaulting as the API server applies it before validation (`pkg/apis/core/v1/defaults.go`,
//! `pkg/apis/apps/v1/defaults.go`, `pkg/apis/discovery/v1/defaults.go`, plus the Service create
//! strategy's `clusterIP`/`clusterIPs` sync). Allocation-dependent fields (clusterIP,
//! nodePorts, healthCheckNodePort, pod CIDR) are filled later by `allocator`.
//! Left out: defaults for fields netsim does not model.

use crate::api::pod::{DnsPolicy, RestartPolicy};
use crate::api::service::{ClientIpConfig, DEFAULT_CLIENT_IP_AFFINITY_SECONDS, SessionAffinityConfig};
use crate::api::workload::Workload;
use crate::api::{
    ClusterIp, Container, IntOrString, IpFamily, IpFamilyPolicy, LabelSelector, Object, PodSpec, Probe,
    Protocol, Service, ServiceAffinity, ServiceType, TrafficPolicy,
};

/// Applies every default for `obj`.
pub fn apply(obj: &mut Object) {
    match obj {
        Object::Service(s) => service(s),
        Object::Pod(p) => shared_pod_spec(&mut p.spec),
        Object::Deployment(w) => workload(w),
        Object::ReplicaSet(w) => workload(w),
        Object::StatefulSet(w) => workload(w),
        Object::DaemonSet(w) => workload(w),
        Object::Endpoints(e) => {
            for ss in &mut e.subsets {
                for p in &mut ss.ports {
                    p.protocol.get_or_insert(Protocol::TCP);
                }
            }
        }
        Object::EndpointSlice(e) => {
            for p in &mut e.ports {
                p.protocol.get_or_insert(Protocol::TCP);
            }
        }
        Object::Node(n) => {
            if n.spec.pod_cidrs.is_empty()
                && let Some(c) = &n.spec.pod_cidr
            {
                n.spec.pod_cidrs = vec![c.clone()];
            }
        }
        Object::Namespace(n) => namespace(n),
        Object::Gateway(g) => gateway(g),
        Object::HttpRoute(r) => http_route(r),
        Object::Ingress(_)
        | Object::CustomResourceDefinition(_)
        | Object::GatewayClass(_)
        | Object::ReferenceGrant(_)
        | Object::IngressClass(_)
        | Object::ServiceCidr(_)
        | Object::ConfigMap(_)
        | Object::ValidatingWebhookConfiguration(_)
        | Object::KubeProxyConfiguration(_)
        | Object::KubeletConfiguration(_) => {}
        Object::Secret(s) => s.store_defaults(),
    }
}

/// `SetDefaults_Namespace` (the `kubernetes.io/metadata.name` label, GA in 1.22) and
/// `SetDefaults_NamespaceStatus` (phase `Active`), with the namespace strategy's
/// `PrepareForCreate` finalizer `kubernetes`.
fn namespace(n: &mut crate::api::Namespace) {
    n.metadata.labels.insert("kubernetes.io/metadata.name".into(), n.metadata.name.clone());
    if n.spec.is_none() {
        n.spec = Some(serde_json::json!({"finalizers": ["kubernetes"]}));
    }
    if n.status.as_ref().and_then(|s| s.get("phase")).is_none() {
        n.status = Some(serde_json::json!({"phase": "Active"}));
    }
}

/// `SetDefaults_Service` plus the create strategy's ClusterIP/ClusterIPs sync.
pub fn service(svc: &mut Service) {
    let spec = &mut svc.spec;
    let ty = spec.type_.get_or_insert(ServiceType::ClusterIP).clone();
    let affinity = spec.session_affinity.get_or_insert(ServiceAffinity::None).clone();
    // `SetDefaults_Service`: "if obj.Spec.SessionAffinity == v1.ServiceAffinityNone {
    // obj.Spec.SessionAffinityConfig = nil }", so patching ClientIP back to None succeeds.
    if affinity == ServiceAffinity::None {
        spec.session_affinity_config = None;
    }
    if affinity == ServiceAffinity::ClientIP {
        let has_timeout = spec
            .session_affinity_config
            .as_ref()
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds)
            .is_some();
        if !has_timeout {
            spec.session_affinity_config = Some(SessionAffinityConfig {
                client_ip: Some(ClientIpConfig { timeout_seconds: Some(DEFAULT_CLIENT_IP_AFFINITY_SECONDS) }),
            });
        }
    }
    for p in &mut spec.ports {
        p.protocol.get_or_insert(Protocol::TCP);
        let unset = match &p.target_port {
            None | Some(IntOrString::Int(0)) => true,
            Some(IntOrString::String(s)) => s.is_empty(),
            Some(IntOrString::Int(_)) => false,
        };
        if unset {
            p.target_port = Some(IntOrString::Int(p.port));
        }
    }
    if matches!(ty, ServiceType::NodePort | ServiceType::LoadBalancer) {
        spec.external_traffic_policy.get_or_insert(TrafficPolicy::Cluster);
    }
    if ty == ServiceType::LoadBalancer {
        spec.allocate_load_balancer_node_ports.get_or_insert(true);
    }
    if ty != ServiceType::ExternalName {
        spec.internal_traffic_policy.get_or_insert(TrafficPolicy::Cluster);
        if spec.ip_families.is_empty() {
            spec.ip_families = vec![IpFamily::IPv4];
        }
        spec.ip_family_policy.get_or_insert(IpFamilyPolicy::SingleStack);
    }
    // Keep clusterIP and clusterIPs in step (the strategy's PrepareForCreate).
    if spec.cluster_ips.is_empty() && !spec.cluster_ip.is_unset() {
        spec.cluster_ips = vec![spec.cluster_ip.clone()];
    } else if spec.cluster_ip.is_unset()
        && let Some(first) = spec.cluster_ips.first()
    {
        spec.cluster_ip = first.clone();
    }
    if ty == ServiceType::ExternalName && spec.cluster_ip == ClusterIp::Unset {
        spec.cluster_ips.clear();
    }
}

fn probe(p: &mut Probe) {
    p.timeout_seconds.get_or_insert(1);
    p.period_seconds.get_or_insert(10);
    p.success_threshold.get_or_insert(1);
    p.failure_threshold.get_or_insert(3);
    if let Some(h) = &mut p.http_get {
        if h.path.is_empty() {
            h.path = "/".to_string();
        }
        if h.scheme.is_empty() {
            h.scheme = "HTTP".to_string();
        }
    }
}

/// [`pod_spec`] on a spec shared with its template or an earlier version of the object: copied
/// only when a default is missing (a pod made from a defaulted template needs none), and its
/// containers only when one of them misses a default.
fn shared_pod_spec(spec: &mut std::sync::Arc<PodSpec>) {
    if !pod_spec_defaulted(spec) {
        pod_spec(std::sync::Arc::make_mut(spec));
    }
}

fn probe_defaulted(p: &Probe) -> bool {
    p.timeout_seconds.is_some()
        && p.period_seconds.is_some()
        && p.success_threshold.is_some()
        && p.failure_threshold.is_some()
        && p.http_get.as_ref().is_none_or(|h| !h.path.is_empty() && !h.scheme.is_empty())
}

fn container_defaulted(c: &Container, host_network: bool) -> bool {
    c.ports.iter().all(|p| p.protocol.is_some() && !(host_network && p.host_port.unwrap_or(0) == 0))
        && [&c.readiness_probe, &c.liveness_probe, &c.startup_probe]
            .into_iter()
            .all(|p| p.as_ref().is_none_or(probe_defaulted))
        && c.termination_message_path.is_some()
        && c.termination_message_policy.is_some()
        && c.image_pull_policy.is_some()
}

/// True when [`pod_spec`] would change nothing.
fn pod_spec_defaulted(spec: &PodSpec) -> bool {
    let host_network = spec.host_network == Some(true);
    spec.dns_policy.is_some()
        && spec.restart_policy.is_some()
        && spec.enable_service_links.is_some()
        && spec.termination_grace_period_seconds.is_some()
        && !spec.scheduler_name.is_empty()
        && spec.containers.iter().chain(&spec.init_containers).all(|c| container_defaulted(c, host_network))
}

/// `SetDefaults_PodSpec` and container defaults for the modelled fields.
pub fn pod_spec(spec: &mut PodSpec) {
    spec.dns_policy.get_or_insert(DnsPolicy::ClusterFirst);
    spec.restart_policy.get_or_insert(RestartPolicy::Always);
    spec.enable_service_links.get_or_insert(true);
    spec.termination_grace_period_seconds.get_or_insert(30);
    if spec.scheduler_name.is_empty() {
        spec.scheduler_name = "default-scheduler".to_string();
    }
    let host_network = spec.host_network == Some(true);
    if !spec.containers.iter().all(|c| container_defaulted(c, host_network)) {
        for c in std::sync::Arc::make_mut(&mut spec.containers) {
            container(c, host_network);
        }
    }
    for c in &mut spec.init_containers {
        container(c, host_network);
    }
}

fn container(c: &mut Container, host_network: bool) {
    for p in &mut c.ports {
        p.protocol.get_or_insert(Protocol::TCP);
        if host_network && p.host_port.unwrap_or(0) == 0 {
            p.host_port = Some(p.container_port);
        }
    }
    if let Some(p) = &mut c.readiness_probe {
        probe(p);
    }
    if let Some(p) = &mut c.liveness_probe {
        probe(p);
    }
    if let Some(p) = &mut c.startup_probe {
        probe(p);
    }
    c.termination_message_path.get_or_insert_with(|| "/dev/termination-log".to_string());
    c.termination_message_policy.get_or_insert_with(|| "File".to_string());
    if c.image_pull_policy.is_none() {
        let latest = !c.image.contains(':') || c.image.ends_with(":latest");
        c.image_pull_policy = Some(if latest { "Always" } else { "IfNotPresent" }.to_string());
    }
}

/// Workload defaults: replicas 1 and, for the old API groups, a selector taken from the
/// template labels (apps/v1 requires an explicit selector).
pub fn workload<S, T>(w: &mut Workload<S, T>)
where
    S: WorkloadSpecMut,
{
    let legacy = matches!(w.api_version.as_str(), "extensions/v1beta1" | "apps/v1beta1");
    let labels = w.spec.template_mut().metadata.labels.clone();
    if legacy && w.spec.selector_mut().is_none() && !labels.is_empty() {
        *w.spec.selector_mut() =
            Some(LabelSelector { match_labels: labels.clone(), match_expressions: Vec::new() });
    }
    if legacy && w.metadata.labels.is_empty() {
        w.metadata.labels = labels;
    }
    if let Some(r) = w.spec.replicas_mut() {
        r.get_or_insert(1);
    }
    shared_pod_spec(&mut w.spec.template_mut().spec);
}

/// Mutable access to the parts of a workload spec that defaulting touches.
pub trait WorkloadSpecMut {
    /// `spec.selector`.
    fn selector_mut(&mut self) -> &mut Option<LabelSelector>;
    /// `spec.template`.
    fn template_mut(&mut self) -> &mut crate::api::PodTemplateSpec;
    /// `spec.replicas` (None for DaemonSets, which have no replica count).
    fn replicas_mut(&mut self) -> Option<&mut Option<i32>>;
}

macro_rules! spec_mut {
    ($t:ty, |$s:ident| $replicas:expr) => {
        impl WorkloadSpecMut for $t {
            fn selector_mut(&mut self) -> &mut Option<LabelSelector> {
                &mut self.selector
            }
            fn template_mut(&mut self) -> &mut crate::api::PodTemplateSpec {
                &mut self.template
            }
            fn replicas_mut(&mut self) -> Option<&mut Option<i32>> {
                let $s = self;
                $replicas
            }
        }
    };
}

spec_mut!(crate::api::workload::DeploymentSpec, |s| Some(&mut s.replicas));
spec_mut!(crate::api::workload::ReplicaSetSpec, |s| Some(&mut s.replicas));
spec_mut!(crate::api::workload::StatefulSetSpec, |s| Some(&mut s.replicas));
spec_mut!(crate::api::workload::DaemonSetSpec, |_s| None);

/// The Gateway CRD's structural defaults: `allowedRoutes: {namespaces: {from: Same}}`, a
/// route kind's group, and a TLS listener's `mode: Terminate` and certificate `group: ""`,
/// `kind: Secret`.
fn gateway(g: &mut crate::api::Gateway) {
    use crate::api::gateway::{AllowedRoutes, GROUP, RouteNamespaces};
    for l in &mut g.spec.listeners {
        let ar = l.allowed_routes.get_or_insert_with(AllowedRoutes::default);
        ar.namespaces.get_or_insert_with(RouteNamespaces::default).from.get_or_insert_with(|| "Same".into());
        for k in &mut ar.kinds {
            k.group.get_or_insert_with(|| GROUP.into());
        }
        if let Some(tls) = &mut l.tls {
            tls.mode.get_or_insert_with(|| "Terminate".into());
            for r in &mut tls.certificate_refs {
                r.group.get_or_insert_with(String::new);
                r.kind.get_or_insert_with(|| "Secret".into());
            }
        }
    }
}

/// The HTTPRoute CRD's structural defaults: parent refs to `gateway.networking.k8s.io`
/// Gateways, one rule matching `PathPrefix /` when there are none, every match's path
/// `PathPrefix /`, header and query matches `Exact`, backends core Services of weight 1,
/// redirects 302.
fn http_route(r: &mut crate::api::HttpRoute) {
    use crate::api::gateway::{GROUP, HttpPathMatch, HttpRouteFilter, HttpRouteMatch, HttpRouteRule};
    for p in &mut r.spec.parent_refs {
        p.group.get_or_insert_with(|| GROUP.into());
        p.kind.get_or_insert_with(|| "Gateway".into());
    }
    let rules = r.spec.rules.get_or_insert_with(|| vec![HttpRouteRule::default()]);
    fn filters(fs: &mut [HttpRouteFilter]) {
        for f in fs {
            if let Some(rd) = &mut f.request_redirect {
                rd.status_code.get_or_insert(302);
            }
        }
    }
    for rule in rules {
        if rule.matches.is_empty() {
            rule.matches.push(HttpRouteMatch::default());
        }
        for m in &mut rule.matches {
            let path = m.path.get_or_insert_with(HttpPathMatch::default);
            path.type_.get_or_insert_with(|| "PathPrefix".into());
            path.value.get_or_insert_with(|| "/".into());
            for h in m.headers.iter_mut().chain(m.query_params.iter_mut()) {
                h.type_.get_or_insert_with(|| "Exact".into());
            }
        }
        filters(&mut rule.filters);
        for b in &mut rule.backend_refs {
            b.group.get_or_insert_with(String::new);
            b.kind.get_or_insert_with(|| "Service".into());
            b.weight.get_or_insert(1);
            filters(&mut b.filters);
        }
    }
}
