//! NGINX Gateway Fabric's control plane (`ghcr.io/nginx/nginx-gateway-fabric`, v2 model): what
//! its pod does to the API, recomputed from the store whenever a watched object changes.
//!
//! - GatewayClass: the one named by its `--gatewayclass` flag whose `controllerName` is its
//!   `--gateway-ctlr-name` is `Accepted` (and `SupportedVersion`); another class naming the
//!   same controller is `Accepted: False, GatewayClassConflict`; classes of other controllers
//!   are not touched (their status stays the CRD's `Pending`).
//! - Gateway of an accepted class: the provisioner's nginx Deployment and LoadBalancer Service,
//!   both `<gateway>-<class>` in the Gateway's namespace, one container port and one Service
//!   port per distinct listener port. Status: `addresses` from that Service's load balancer,
//!   `Accepted`, `Programmed` once an nginx pod is ready and the address is there, and per
//!   listener `supportedKinds`, `attachedRoutes` and conditions (`UnsupportedProtocol` for
//!   anything but HTTP and HTTPS; `InvalidCertificateRef` for an HTTPS listener whose Secret is
//!   missing, `RefNotPermitted` for one in another namespace without a ReferenceGrant).
//! - HTTPRoute: one `status.parents` entry per parentRef to a Gateway of this controller, with
//!   `Accepted` (`NoMatchingParent`, `NotAllowedByListeners`, `NoMatchingListenerHostname`) and
//!   `ResolvedRefs` (`InvalidKind`, `RefNotPermitted`, `BackendNotFound`), NGF's messages.
//!
//! The result also carries each Gateway's routing configuration ([`super::routing`]) for its
//! nginx pods. Not simulated: parametersRef/NginxProxy, `infrastructure`, GRPCRoute and the
//! other route kinds, policies, and nginx's reload (a new configuration applies at once).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::routing::{Backend, BackendTarget, PortConfig, RouteRule, intersect};
use crate::api::gateway::{
    GROUP, Gateway, GatewayClass, HttpBackendRef, HttpRoute, Listener, ReferenceGrant,
};
use crate::api::{Kind, Object};
use crate::apiserver::ApiServer;
use crate::apps::AppKind;
use crate::ingress::backends::ControllerView;

/// NGF's default `--gateway-ctlr-name`.
pub const CONTROLLER_NAME: &str = "gateway.nginx.org/nginx-gateway-controller";
/// The image of the nginx the provisioner deploys for each Gateway.
pub const NGINX_IMAGE: &str = "ghcr.io/nginx/nginx-gateway-fabric/nginx:2.2.1";
/// The label naming the Gateway on the provisioned objects and pods.
pub const GATEWAY_LABEL: &str = "gateway.networking.k8s.io/gateway-name";
/// The label marking objects the provisioner owns.
const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// One running control plane's flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlPlane {
    /// `--gateway-ctlr-name`.
    pub controller_name: String,
    /// `--gatewayclass`.
    pub gateway_class: String,
}

/// The control planes whose pods run (have an address).
pub fn control_planes(api: &ApiServer) -> Vec<ControlPlane> {
    let mut out: Vec<ControlPlane> = Vec::new();
    for p in api.pods() {
        if p.status.as_ref().and_then(|s| s.pod_ip.as_ref()).is_none() {
            continue;
        }
        for c in p.spec.containers.iter().filter(|c| AppKind::from_image(&c.image) == AppKind::GatewayFabric)
        {
            let flag = |name: &str| {
                c.args
                    .iter()
                    .chain(c.command.iter())
                    .find_map(|a| a.strip_prefix(&format!("--{name}=")).map(str::to_string))
            };
            let cp = ControlPlane {
                controller_name: flag("gateway-ctlr-name").unwrap_or_else(|| CONTROLLER_NAME.to_string()),
                gateway_class: flag("gatewayclass").unwrap_or_else(|| "nginx".to_string()),
            };
            if !out.contains(&cp) {
                out.push(cp);
            }
        }
    }
    out
}

/// One Gateway's nginx configuration: the servers of each listener port.
#[derive(Clone, Debug, Default)]
pub struct GatewayConfig {
    /// By port, ascending.
    pub ports: Vec<PortConfig>,
}

impl GatewayConfig {
    /// The configuration of `port`.
    pub fn port(&self, port: u16) -> Option<&PortConfig> {
        self.ports.iter().find(|p| p.port == port)
    }
}

/// What one pass of the control plane decided.
#[derive(Debug, Default)]
pub struct Decisions {
    /// Routing per Gateway `ns/name`.
    pub configs: BTreeMap<String, GatewayConfig>,
    /// Objects with a new status.
    pub statuses: Vec<Object>,
    /// The provisioned objects every managed Gateway needs (applied; unchanged ones are no-ops).
    pub provisioned: Vec<Object>,
    /// Provisioned objects whose Gateway is gone: `(kind, namespace, name)`.
    pub orphans: Vec<(Kind, String, String)>,
    /// What the objects ask for that netsim does not simulate, one line each (the control
    /// plane's log shows them once).
    pub notices: Vec<String>,
}

/// The fields of a Gateway and its routes that are kept as written but not acted on.
fn not_simulated(gw: &Gateway, routes: &[&HttpRoute], out: &mut Vec<String>) {
    let gw_key = format!("Gateway {}/{}", gw.metadata.namespace, gw.metadata.name);
    for (set, field) in [
        (gw.spec.addresses.is_some(), "spec.addresses"),
        (gw.spec.infrastructure.is_some(), "spec.infrastructure"),
        (gw.spec.tls.is_some(), "spec.tls"),
        (gw.spec.allowed_listeners.is_some(), "spec.allowedListeners"),
    ] {
        if set {
            out.push(format!("netsim: {gw_key}: {field} is not simulated"));
        }
    }
    for (i, l) in gw.spec.listeners.iter().enumerate() {
        if l.tls.as_ref().is_some_and(|t| !t.options.is_empty()) {
            out.push(format!("netsim: {gw_key}: spec.listeners[{i}].tls.options is not simulated"));
        }
    }
    for r in routes {
        let key = format!("HTTPRoute {}/{}", r.metadata.namespace, r.metadata.name);
        for (ri, rule) in r.spec.rules().iter().enumerate() {
            for (set, field) in [
                (rule.timeouts.is_some(), "timeouts"),
                (rule.retry.is_some(), "retry"),
                (rule.session_persistence.is_some(), "sessionPersistence"),
            ] {
                if set {
                    out.push(format!("netsim: {key}: spec.rules[{ri}].{field} is not simulated"));
                }
            }
            let filters =
                rule.filters.iter().enumerate().map(|(fi, f)| (format!("spec.rules[{ri}].filters[{fi}]"), f));
            let backend_filters = rule.backend_refs.iter().enumerate().flat_map(|(bi, b)| {
                b.filters
                    .iter()
                    .enumerate()
                    .map(move |(fi, f)| (format!("spec.rules[{ri}].backendRefs[{bi}].filters[{fi}]"), f))
            });
            for (path, f) in filters.chain(backend_filters) {
                if matches!(f.type_.as_str(), "RequestMirror" | "CORS" | "ExtensionRef") {
                    out.push(format!(
                        "netsim: {key}: {path} ({}) is not simulated: requests are served without it",
                        f.type_
                    ));
                }
            }
        }
    }
}

fn condition(type_: &str, ok: bool, reason: &str, message: &str, generation: i64, now: &str) -> Value {
    json!({
        "lastTransitionTime": now,
        "message": message,
        "observedGeneration": generation,
        "reason": reason,
        "status": if ok { "True" } else { "False" },
        "type": type_,
    })
}

/// Keeps `lastTransitionTime` of conditions whose status did not change.
fn keep_transitions(new: &mut Value, old: Option<&Value>) {
    fn walk(new: &mut Value, old: Option<&Value>) {
        match new {
            Value::Object(m) => {
                if let (Some(Value::Array(conds)), Some(old_conds)) =
                    (m.get_mut("conditions"), old.and_then(|o| o.get("conditions")).and_then(Value::as_array))
                {
                    for c in conds.iter_mut() {
                        let prev = old_conds.iter().find(|o| o.get("type") == c.get("type"));
                        if let Some(p) = prev
                            && p.get("status") == c.get("status")
                            && let (Some(t), Some(cm)) = (p.get("lastTransitionTime"), c.as_object_mut())
                        {
                            cm.insert("lastTransitionTime".into(), t.clone());
                        }
                    }
                }
                for (k, v) in m.iter_mut() {
                    if k != "conditions" {
                        walk(v, old.and_then(|o| o.get(k)));
                    }
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    walk(v, old.and_then(|o| o.get(i)));
                }
            }
            _ => {}
        }
    }
    walk(new, old);
}

fn grants(api: &ApiServer) -> Vec<&ReferenceGrant> {
    api.list(Kind::ReferenceGrant).filter_map(Object::as_reference_grant).collect()
}

fn permitted(
    grants: &[&ReferenceGrant],
    to_ns: &str,
    from_kind: &str,
    from_ns: &str,
    to_kind: &str,
    name: &str,
) -> bool {
    from_ns == to_ns
        || grants
            .iter()
            .any(|g| g.metadata.namespace == to_ns && g.permits(from_kind, from_ns, to_kind, name))
}

/// A listener's problem, if it cannot serve HTTPRoutes: `(Accepted reason, message)`, with
/// ResolvedRefs set false for certificate problems.
fn listener_problem(
    gw: &Gateway,
    i: usize,
    l: &Listener,
    view: &ControllerView,
    grants: &[&ReferenceGrant],
) -> Option<(&'static str, String, bool)> {
    match l.protocol.as_str() {
        "HTTP" => None,
        "HTTPS" => {
            let tls = l.tls.as_ref()?;
            let r = tls.certificate_refs.first()?;
            let ns = r.namespace.clone().unwrap_or_else(|| gw.metadata.namespace.clone());
            if !permitted(grants, &ns, "Gateway", &gw.metadata.namespace, "Secret", &r.name) {
                return Some((
                    "RefNotPermitted",
                    format!("Certificate ref to secret {ns}/{} not permitted by any ReferenceGrant", r.name),
                    true,
                ));
            }
            if !view.tls_secrets.contains(&format!("{ns}/{}", r.name)) {
                return Some((
                    "InvalidCertificateRef",
                    format!(
                        "spec.listeners[{i}].tls.certificateRefs[0]: Invalid value: \"{ns}/{}\": secret does not exist",
                        r.name
                    ),
                    true,
                ));
            }
            None
        }
        other => Some((
            "UnsupportedProtocol",
            format!(
                "spec.listeners[{i}].protocol: Unsupported value: \"{other}\": supported values: \"HTTP\", \"HTTPS\""
            ),
            false,
        )),
    }
}

fn namespace_allowed(api: &ApiServer, gw: &Gateway, l: &Listener, route_ns: &str) -> bool {
    let ns = l.allowed_routes.as_ref().and_then(|a| a.namespaces.as_ref());
    match ns.and_then(|n| n.from.as_deref()).unwrap_or("Same") {
        "All" => true,
        "Selector" => {
            let Some(sel) = ns.and_then(|n| n.selector.as_ref()) else { return false };
            match api.get_named(Kind::Namespace, "", route_ns) {
                Some(Object::Namespace(n)) => sel.matches(&n.metadata.labels),
                _ => false,
            }
        }
        _ => route_ns == gw.metadata.namespace,
    }
}

fn kind_allowed(l: &Listener) -> bool {
    let kinds = l.allowed_routes.as_ref().map(|a| a.kinds.as_slice()).unwrap_or(&[]);
    kinds.is_empty()
        || kinds.iter().any(|k| k.kind == "HTTPRoute" && k.group.as_deref().unwrap_or(GROUP) == GROUP)
}

/// Resolves one backendRef: the target and, when it cannot be followed, the ResolvedRefs
/// reason and message.
fn resolve_backend(
    route: &HttpRoute,
    path: &str,
    b: &HttpBackendRef,
    view: &ControllerView,
    grants: &[&ReferenceGrant],
) -> (BackendTarget, Option<(&'static str, String)>) {
    let ns = b.namespace.clone().unwrap_or_else(|| route.metadata.namespace.clone());
    if !b.is_service() {
        let kind = b.kind.as_deref().unwrap_or("Service");
        return (
            BackendTarget::Invalid,
            Some((
                "InvalidKind",
                format!("{path}.kind: Unsupported value: \"{kind}\": supported values: \"Service\""),
            )),
        );
    }
    if !permitted(grants, &ns, "HTTPRoute", &route.metadata.namespace, "Service", &b.name) {
        return (
            BackendTarget::Invalid,
            Some((
                "RefNotPermitted",
                format!(
                    "{path}.namespace: Forbidden: Backend ref to Service {ns}/{} not permitted by any ReferenceGrant",
                    b.name
                ),
            )),
        );
    }
    let port = b.port.unwrap_or(0);
    let found = view.services.get(&format!("{ns}/{}", b.name));
    match found {
        None => (
            BackendTarget::Invalid,
            Some(("BackendNotFound", format!("{path}.name: Not found: \"{}\"", b.name))),
        ),
        Some(svc) if !svc.ports.iter().any(|(_, p, _)| *p == port) => {
            (BackendTarget::Invalid, Some(("BackendNotFound", format!("{path}.port: Not found: {port}"))))
        }
        Some(_) => (BackendTarget::Service { namespace: ns, name: b.name.clone(), port }, None),
    }
}

/// The provisioned nginx Deployment and Service of `gw` (class `class`).
fn provisioned(gw: &Gateway, class: &str) -> Vec<Object> {
    let name = format!("{}-{class}", gw.metadata.name);
    let ns = &gw.metadata.namespace;
    let mut ports: Vec<i32> = gw.spec.listeners.iter().map(|l| l.port).collect();
    ports.sort_unstable();
    ports.dedup();
    let container_ports: String =
        ports.iter().map(|p| format!("        - {{containerPort: {p}, name: port-{p}}}\n")).collect();
    let service_ports: String = ports
        .iter()
        .map(|p| format!("  - {{name: port-{p}, port: {p}, targetPort: {p}, protocol: TCP}}\n"))
        .collect();
    let labels = format!(
        "{{app.kubernetes.io/name: {name}, app.kubernetes.io/instance: {gw_name}, {GATEWAY_LABEL}: {gw_name}, {MANAGED_BY}: nginx-gateway-{class}}}",
        gw_name = gw.metadata.name
    );
    let selector = format!("{{app.kubernetes.io/name: {name}, {GATEWAY_LABEL}: {}}}", gw.metadata.name);
    let text = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels: {labels}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {selector}\n  template:\n    metadata:\n      labels: {labels}\n    spec:\n      containers:\n      - name: nginx\n        image: {NGINX_IMAGE}\n        ports:\n{container_ports}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels: {labels}\nspec:\n  type: LoadBalancer\n  externalTrafficPolicy: Local\n  selector: {selector}\n  ports:\n{service_ports}"
    );
    let out = crate::manifest::load_str("nginx-gateway-fabric provisioner", &text);
    out.objects.into_iter().map(|l| l.value).collect()
}

fn ref_json(gw_ns: &str, route_ns: &str, p: &crate::api::gateway::ParentReference) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("group".into(), json!(p.group.clone().unwrap_or_else(|| GROUP.to_string())));
    m.insert("kind".into(), json!(p.kind.clone().unwrap_or_else(|| "Gateway".to_string())));
    m.insert("name".into(), json!(p.name));
    if p.namespace.is_some() || gw_ns != route_ns {
        m.insert("namespace".into(), json!(gw_ns));
    }
    if let Some(s) = &p.section_name {
        m.insert("sectionName".into(), json!(s));
    }
    if let Some(port) = p.port {
        m.insert("port".into(), json!(port));
    }
    Value::Object(m)
}

/// One pass of every running control plane over the store.
pub fn reconcile(api: &ApiServer, now: sim_core::SimTime) -> Decisions {
    let mut d = Decisions::default();
    let planes = control_planes(api);
    if planes.is_empty() {
        return d;
    }
    let ts = crate::apiserver::naming::timestamp(api.config().epoch_unix_secs, now);
    let view = ControllerView::build(api);
    let grants = grants(api);
    // GatewayClasses.
    let mut accepted: BTreeMap<String, String> = BTreeMap::new(); // class -> controller name
    for c in api.list(Kind::GatewayClass).filter_map(Object::as_gateway_class) {
        let Some(cp) = planes.iter().find(|p| p.controller_name == c.spec.controller_name) else { continue };
        let generation = c.metadata.generation.unwrap_or(1);
        let conditions = if cp.gateway_class == c.metadata.name {
            accepted.insert(c.metadata.name.clone(), cp.controller_name.clone());
            vec![
                condition("Accepted", true, "Accepted", "GatewayClass is accepted", generation, &ts),
                condition(
                    "SupportedVersion",
                    true,
                    "SupportedVersion",
                    "Gateway API CRD versions are supported",
                    generation,
                    &ts,
                ),
            ]
        } else {
            vec![condition(
                "Accepted",
                false,
                "GatewayClassConflict",
                "The resource is ignored due to a conflicting GatewayClass resource",
                generation,
                &ts,
            )]
        };
        let mut status = json!({ "conditions": conditions });
        keep_transitions(&mut status, c.status.as_ref());
        if c.status.as_ref() != Some(&status) {
            let mut n: GatewayClass = c.clone();
            n.status = Some(status);
            d.statuses.push(Object::GatewayClass(n));
        }
    }
    let gateways: Vec<&Gateway> = api
        .list(Kind::Gateway)
        .filter_map(Object::as_gateway)
        .filter(|g| accepted.contains_key(&g.spec.gateway_class_name))
        .collect();
    let mut routes: Vec<&HttpRoute> = api.list(Kind::HttpRoute).filter_map(Object::as_http_route).collect();
    routes.sort_by(|a, b| {
        a.metadata.creation_timestamp.cmp(&b.metadata.creation_timestamp).then_with(|| {
            (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name))
        })
    });
    // Route parent statuses, collected per route across every Gateway.
    let mut route_parents: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    for c in api.list(Kind::GatewayClass).filter_map(Object::as_gateway_class) {
        if accepted.contains_key(&c.metadata.name) && c.spec.parameters_ref.is_some() {
            d.notices.push(format!(
                "netsim: GatewayClass {}: spec.parametersRef is not simulated",
                c.metadata.name
            ));
        }
    }
    for gw in &gateways {
        let attached_routes: Vec<&HttpRoute> = routes
            .iter()
            .copied()
            .filter(|r| {
                r.spec.parent_refs.iter().any(|p| {
                    p.name == gw.metadata.name
                        && p.namespace.as_deref().unwrap_or(&r.metadata.namespace) == gw.metadata.namespace
                })
            })
            .collect();
        not_simulated(gw, &attached_routes, &mut d.notices);
        let class = gw.spec.gateway_class_name.clone();
        let controller = accepted.get(&class).cloned().unwrap_or_default();
        let gw_ns = gw.metadata.namespace.as_str();
        let problems: Vec<Option<(&str, String, bool)>> = gw
            .spec
            .listeners
            .iter()
            .enumerate()
            .map(|(i, l)| listener_problem(gw, i, l, &view, &grants))
            .collect();
        let mut attached = vec![0usize; gw.spec.listeners.len()];
        let mut ports: BTreeMap<u16, PortConfig> = BTreeMap::new();
        for route in &routes {
            let route_ns = route.metadata.namespace.as_str();
            for p in &route.spec.parent_refs {
                let is_gateway = p.group.as_deref().unwrap_or(GROUP) == GROUP
                    && p.kind.as_deref().unwrap_or("Gateway") == "Gateway";
                let target_ns = p.namespace.as_deref().unwrap_or(route_ns);
                if !is_gateway || p.name != gw.metadata.name || target_ns != gw_ns {
                    continue;
                }
                let generation = route.metadata.generation.unwrap_or(1);
                let named: Vec<usize> = (0..gw.spec.listeners.len())
                    .filter(|&i| {
                        let l = &gw.spec.listeners[i];
                        p.section_name.as_ref().is_none_or(|s| *s == l.name)
                            && p.port.is_none_or(|port| port == l.port)
                    })
                    .collect();
                let usable: Vec<usize> = named.iter().copied().filter(|&i| problems[i].is_none()).collect();
                let allowed: Vec<usize> = usable
                    .iter()
                    .copied()
                    .filter(|&i| {
                        let l = &gw.spec.listeners[i];
                        kind_allowed(l) && namespace_allowed(api, gw, l, route_ns)
                    })
                    .collect();
                // Hostnames per allowed listener.
                let mut hosts: Vec<(usize, Vec<Option<String>>)> = Vec::new();
                for &i in &allowed {
                    let lh = gw.spec.listeners[i].hostname.as_deref();
                    let hs: Vec<Option<String>> = if route.spec.hostnames.is_empty() {
                        vec![lh.map(str::to_string)]
                    } else {
                        route.spec.hostnames.iter().filter_map(|h| intersect(lh, h)).map(Some).collect()
                    };
                    if !hs.is_empty() {
                        hosts.push((i, hs));
                    }
                }
                let accepted_cond = if named.is_empty() {
                    condition(
                        "Accepted",
                        false,
                        "NoMatchingParent",
                        "Listener is not found for this parent ref",
                        generation,
                        &ts,
                    )
                } else if usable.is_empty() {
                    condition(
                        "Accepted",
                        false,
                        "InvalidListener",
                        "Listener is invalid for this parent ref",
                        generation,
                        &ts,
                    )
                } else if allowed.is_empty() {
                    condition(
                        "Accepted",
                        false,
                        "NotAllowedByListeners",
                        "Route is not allowed by any listener",
                        generation,
                        &ts,
                    )
                } else if hosts.is_empty() {
                    condition(
                        "Accepted",
                        false,
                        "NoMatchingListenerHostname",
                        "Listener hostname does not match the Route hostnames",
                        generation,
                        &ts,
                    )
                } else {
                    condition("Accepted", true, "Accepted", "The route is accepted", generation, &ts)
                };
                // Backends (resolved once per parent; the first problem is reported).
                let mut problem: Option<(&str, String)> = None;
                let mut rules: Vec<(usize, Vec<Backend>)> = Vec::new();
                for (ri, rule) in route.spec.rules().iter().enumerate() {
                    let mut backends = Vec::new();
                    for (bi, b) in rule.backend_refs.iter().enumerate() {
                        let path = format!("spec.rules[{ri}].backendRefs[{bi}]");
                        let (target, why) = resolve_backend(route, &path, b, &view, &grants);
                        if problem.is_none() {
                            problem = why;
                        }
                        backends.push(Backend {
                            weight: u32::try_from(b.weight.unwrap_or(1)).unwrap_or(0),
                            target,
                            filters: b.filters.clone(),
                        });
                    }
                    rules.push((ri, backends));
                }
                let resolved_cond = match &problem {
                    None => condition(
                        "ResolvedRefs",
                        true,
                        "ResolvedRefs",
                        "All references are resolved",
                        generation,
                        &ts,
                    ),
                    Some((reason, msg)) => condition("ResolvedRefs", false, reason, msg, generation, &ts),
                };
                let attached_ok = accepted_cond.get("status") == Some(&json!("True"));
                if attached_ok {
                    for (i, hs) in &hosts {
                        attached[*i] += 1;
                        let l = &gw.spec.listeners[*i];
                        let Ok(port) = u16::try_from(l.port) else { continue };
                        let tls_secret = l.tls.as_ref().and_then(|t| t.certificate_refs.first()).map(|r| {
                            format!("{}/{}", r.namespace.clone().unwrap_or_else(|| gw_ns.to_string()), r.name)
                        });
                        let pc = ports.entry(port).or_insert_with(|| PortConfig {
                            port,
                            https: l.protocol == "HTTPS",
                            servers: Vec::new(),
                        });
                        for h in hs {
                            for (ri, backends) in &rules {
                                let rule = &route.spec.rules()[*ri];
                                for (mi, m) in rule.matches.iter().enumerate() {
                                    pc.add(
                                        h.clone(),
                                        tls_secret.clone(),
                                        RouteRule {
                                            route: format!("{route_ns}/{}", route.metadata.name),
                                            created: route
                                                .metadata
                                                .creation_timestamp
                                                .clone()
                                                .unwrap_or_default(),
                                            rule: *ri,
                                            index: mi,
                                            matches: m.clone(),
                                            filters: rule.filters.clone(),
                                            backends: backends.clone(),
                                            listener: l.name.clone(),
                                        },
                                    );
                                }
                            }
                        }
                    }
                }
                route_parents.entry((route_ns.to_string(), route.metadata.name.clone())).or_default().push(
                    json!({
                        "conditions": [accepted_cond, resolved_cond],
                        "controllerName": controller,
                        "parentRef": ref_json(gw_ns, route_ns, p),
                    }),
                );
            }
        }
        let mut ports: Vec<PortConfig> = ports.into_values().collect();
        for p in &mut ports {
            p.finish();
        }
        d.configs.insert(format!("{gw_ns}/{}", gw.metadata.name), GatewayConfig { ports });
        // Provisioning and the Gateway's status.
        let objs = provisioned(gw, &class);
        let svc_name = format!("{}-{class}", gw.metadata.name);
        let addresses: Vec<Value> = match api.get_named(Kind::Service, gw_ns, &svc_name) {
            Some(Object::Service(s)) => s
                .status
                .iter()
                .flat_map(|st| st.load_balancer.ingress.iter())
                .filter(|i| !i.ip.is_empty())
                .map(|i| json!({"type": "IPAddress", "value": i.ip}))
                .collect(),
            _ => Vec::new(),
        };
        let ready = api.pods().any(|p| {
            p.metadata.namespace == gw_ns
                && p.metadata.labels.get(GATEWAY_LABEL) == Some(&gw.metadata.name)
                && crate::controllers::pods::is_ready(p)
        });
        d.provisioned.extend(objs);
        let generation = gw.metadata.generation.unwrap_or(1);
        let any_valid = problems.iter().any(Option::is_none);
        let (accepted_gw, programmed) = if !any_valid {
            (
                condition(
                    "Accepted",
                    false,
                    "ListenersNotValid",
                    "Gateway has no valid listeners",
                    generation,
                    &ts,
                ),
                condition("Programmed", false, "Invalid", "Gateway has no valid listeners", generation, &ts),
            )
        } else {
            let acc = if problems.iter().all(Option::is_none) {
                condition("Accepted", true, "Accepted", "Gateway is accepted", generation, &ts)
            } else {
                condition(
                    "Accepted",
                    true,
                    "ListenersNotValid",
                    "Gateway has at least one valid listener",
                    generation,
                    &ts,
                )
            };
            let prog = if ready && !addresses.is_empty() {
                condition("Programmed", true, "Programmed", "Gateway is programmed", generation, &ts)
            } else if addresses.is_empty() {
                condition(
                    "Programmed",
                    false,
                    "AddressNotAssigned",
                    "No addresses have been assigned to the Gateway",
                    generation,
                    &ts,
                )
            } else {
                condition(
                    "Programmed",
                    false,
                    "Pending",
                    "The nginx data plane is not ready",
                    generation,
                    &ts,
                )
            };
            (acc, prog)
        };
        let listeners: Vec<Value> = gw
            .spec
            .listeners
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let conds = match &problems[i] {
                    None => vec![
                        condition("Accepted", true, "Accepted", "Listener is accepted", generation, &ts),
                        condition("Programmed", true, "Programmed", "Listener is programmed", generation, &ts),
                        condition("ResolvedRefs", true, "ResolvedRefs", "All references are resolved", generation, &ts),
                        condition("Conflicted", false, "NoConflicts", "No conflicts", generation, &ts),
                    ],
                    Some((reason, msg, refs)) => {
                        let mut v = vec![condition("Accepted", false, reason, msg, generation, &ts)];
                        if *refs {
                            v.push(condition("ResolvedRefs", false, reason, msg, generation, &ts));
                        }
                        v.push(condition("Programmed", false, "Invalid", msg, generation, &ts));
                        v
                    }
                };
                let kinds = if matches!(l.protocol.as_str(), "HTTP" | "HTTPS") {
                    json!([{"group": GROUP, "kind": "HTTPRoute"}, {"group": GROUP, "kind": "GRPCRoute"}])
                } else {
                    json!([])
                };
                json!({"attachedRoutes": attached[i], "conditions": conds, "name": l.name, "supportedKinds": kinds})
            })
            .collect();
        let mut status = json!({"conditions": [accepted_gw, programmed], "listeners": listeners});
        if !addresses.is_empty() {
            status["addresses"] = Value::Array(addresses);
        }
        keep_transitions(&mut status, gw.status.as_ref());
        if gw.status.as_ref() != Some(&status) {
            let mut n = (*gw).clone();
            n.status = Some(status);
            d.statuses.push(Object::Gateway(n));
        }
    }
    // Routes: this controller's parents replace its old entries; other controllers' stay.
    let controllers: Vec<&String> = accepted.values().collect();
    for route in &routes {
        let key = (route.metadata.namespace.clone(), route.metadata.name.clone());
        let mine = route_parents.remove(&key).unwrap_or_default();
        let old_parents: Vec<Value> = route
            .status
            .as_ref()
            .and_then(|s| s.get("parents"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut parents: Vec<Value> = old_parents
            .iter()
            .filter(|p| {
                !p.get("controllerName")
                    .and_then(Value::as_str)
                    .is_some_and(|c| controllers.iter().any(|m| m.as_str() == c))
            })
            .cloned()
            .collect();
        parents.extend(mine);
        if parents.is_empty() && route.status.is_none() {
            continue;
        }
        let mut status = json!({"parents": parents});
        keep_transitions(&mut status, route.status.as_ref());
        if route.status.as_ref() != Some(&status) {
            let mut n = (*route).clone();
            n.status = Some(status);
            d.statuses.push(Object::HttpRoute(n));
        }
    }
    // Provisioned objects of Gateways that are gone (or no longer of an accepted class).
    let wanted: Vec<(String, String)> =
        d.provisioned.iter().map(|o| (o.namespace().to_string(), o.name().to_string())).collect();
    for kind in [Kind::Deployment, Kind::Service] {
        for o in api.list(kind) {
            let managed = o
                .meta()
                .is_some_and(|m| m.labels.get(MANAGED_BY).is_some_and(|v| v.starts_with("nginx-gateway-")));
            if managed && !wanted.contains(&(o.namespace().to_string(), o.name().to_string())) {
                d.orphans.push((kind, o.namespace().to_string(), o.name().to_string()));
            }
        }
    }
    d
}
