//! `kubectl get`: the table printers of kubernetes/kubernetes
//! pkg/printers/internalversion/printers.go (columns, `-o wide` extras, cell formats such as
//! `makePortString`, `formatEndpoints`, `getServiceExternalIP`, `printPod`'s STATUS/RESTARTS
//! derivation, node roles/status), `--show-labels`, `-A` (NAMESPACE column), `--no-headers`,
//! `-l` label selectors, `-o name|yaml|json` (a `List` for several objects), `-o jsonpath=` and
//! `-o custom-columns=` (through [`super::jsonpath`]), multi-kind output
//! with `kind/name` rows, and the messages kubectl prints around them (`No resources found in
//! default namespace.`, NotFound errors, the v1 Endpoints deprecation warning).
//! Left out: server-side column extensions (CRDs), `--sort-by`, `-w`, `-o go-template`.

use std::collections::BTreeMap;

use serde_json::Value;
use sim_core::SimTime;

use super::command::{GetOptions, OutputFormat, Targets};
use super::human_duration::age;
use super::jsonpath::{CustomColumns, JsonPath};
use super::output::{to_json, to_yaml};
use super::tabwriter::TabWriter;
use super::{ENDPOINTS_WARNING, KubectlOutput};
use crate::api::selector::SelectorOperator;
use crate::api::{Kind, LabelSelector, Object, ObjectMeta, Pod, WorkloadSpec};
use crate::apiserver::ApiServer;

/// `labels.FormatLabels`: `k=v,k2=v2` sorted by key, `<none>` when empty.
pub fn format_labels(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "<none>".into();
    }
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// `metav1.LabelSelectorAsSelector(...).String()`.
pub fn selector_string(sel: Option<&LabelSelector>) -> String {
    let Some(sel) = sel else { return String::new() };
    let mut reqs: Vec<(String, String)> =
        sel.match_labels.iter().map(|(k, v)| (k.clone(), format!("{k}={v}"))).collect();
    for e in &sel.match_expressions {
        let mut vals = e.values.clone();
        vals.sort();
        let s = match e.operator {
            SelectorOperator::In => format!("{} in ({})", e.key, vals.join(",")),
            SelectorOperator::NotIn => format!("{} notin ({})", e.key, vals.join(",")),
            SelectorOperator::Exists => e.key.clone(),
            SelectorOperator::DoesNotExist => format!("!{}", e.key),
            SelectorOperator::Unsupported(_) => continue,
        };
        reqs.push((e.key.clone(), s));
    }
    reqs.sort();
    reqs.into_iter().map(|(_, s)| s).collect::<Vec<_>>().join(",")
}

/// One `-l` requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed `-l` selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector(Vec<Req>);

impl Selector {
    /// Parses `k=v,k2!=v,k3 in (a,b),!k4`.
    pub fn parse(s: &str) -> Result<Selector, String> {
        let mut parts = Vec::new();
        let mut depth = 0;
        let mut cur = String::new();
        for c in s.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(std::mem::take(&mut cur));
                    continue;
                }
                _ => {}
            }
            cur.push(c);
        }
        parts.push(cur);
        let mut reqs = Vec::new();
        for p in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            let set = |rest: &str| -> Result<Vec<String>, String> {
                let inner =
                    rest.trim().strip_prefix('(').and_then(|r| r.strip_suffix(')')).ok_or_else(|| {
                        format!("unable to parse requirement: found '{rest}', expected: '('")
                    })?;
                Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
            };
            if let Some((k, v)) = p.split_once("!=") {
                reqs.push(Req::Ne(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                reqs.push(Req::Eq(k.trim().into(), v.trim().into()));
            } else if let Some((k, rest)) = p.split_once(" notin ") {
                reqs.push(Req::NotIn(k.trim().into(), set(rest)?));
            } else if let Some((k, rest)) = p.split_once(" in ") {
                reqs.push(Req::In(k.trim().into(), set(rest)?));
            } else if let Some(k) = p.strip_prefix('!') {
                reqs.push(Req::NotExists(k.trim().into()));
            } else {
                reqs.push(Req::Exists(p.to_string()));
            }
        }
        Ok(Selector(reqs))
    }

    /// True if `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => labels.get(k) == Some(v),
            Req::Ne(k, v) => labels.get(k) != Some(v),
            Req::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Req::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Req::Exists(k) => labels.contains_key(k),
            Req::NotExists(k) => !labels.contains_key(k),
        })
    }
}

/// Column headers of a kind (upper-cased as kubectl prints them).
pub fn headers(kind: Kind, wide: bool) -> Vec<&'static str> {
    let (base, extra): (&[&str], &[&str]) = match kind {
        Kind::Pod => (
            &["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
            &["IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
        ),
        Kind::Service => (&["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"], &["SELECTOR"]),
        Kind::Endpoints => (&["NAME", "ENDPOINTS", "AGE"], &[]),
        Kind::EndpointSlice => (&["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"], &[]),
        Kind::Deployment => {
            (&["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], &["CONTAINERS", "IMAGES", "SELECTOR"])
        }
        Kind::ReplicaSet => {
            (&["NAME", "DESIRED", "CURRENT", "READY", "AGE"], &["CONTAINERS", "IMAGES", "SELECTOR"])
        }
        Kind::StatefulSet => (&["NAME", "READY", "AGE"], &["CONTAINERS", "IMAGES"]),
        Kind::DaemonSet => (
            &["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"],
            &["CONTAINERS", "IMAGES", "SELECTOR"],
        ),
        Kind::Node => (
            &["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
            &["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"],
        ),
        Kind::Namespace => (&["NAME", "STATUS", "AGE"], &[]),
        Kind::Ingress => (&["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"], &[]),
        Kind::IngressClass => (&["NAME", "CONTROLLER", "PARAMETERS", "AGE"], &[]),
        Kind::ServiceCidr => (&["NAME", "CIDRS", "AGE"], &[]),
        Kind::ConfigMap => (&["NAME", "DATA", "AGE"], &[]),
        Kind::Secret => (&["NAME", "TYPE", "DATA", "AGE"], &[]),
        Kind::ValidatingWebhookConfiguration => (&["NAME", "WEBHOOKS", "AGE"], &[]),
        Kind::CustomResourceDefinition => (&["NAME", "CREATED AT"], &[]),
        // The CRDs' additionalPrinterColumns (Description has priority 1: wide only).
        Kind::GatewayClass => (&["NAME", "CONTROLLER", "ACCEPTED", "AGE"], &["DESCRIPTION"]),
        Kind::Gateway => (&["NAME", "CLASS", "ADDRESS", "PROGRAMMED", "AGE"], &[]),
        Kind::HttpRoute => (&["NAME", "HOSTNAMES", "AGE"], &[]),
        Kind::ReferenceGrant => (&["NAME", "AGE"], &[]),
        Kind::KubeProxyConfiguration | Kind::KubeletConfiguration => (&["NAME"], &[]),
    };
    let mut h = base.to_vec();
    if wide {
        h.extend_from_slice(extra);
    }
    h
}

fn count(status: &Option<Value>, field: &str) -> i64 {
    status.as_ref().and_then(|s| s.get(field)).and_then(Value::as_i64).unwrap_or(0)
}

fn join_more(list: Vec<String>, count: usize, empty: &str) -> String {
    const MAX: usize = 3;
    if list.is_empty() {
        return empty.to_string();
    }
    let shown: Vec<String> = list.into_iter().take(MAX).collect();
    let ret = shown.join(",");
    if count > MAX { format!("{ret} + {} more...", count - MAX) } else { ret }
}

fn host_port(ip: &str, port: i32) -> String {
    if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") }
}

/// `formatEndpoints` for `get ep` (all ports).
pub fn format_endpoints(ep: &crate::api::Endpoints) -> String {
    if ep.subsets.is_empty() {
        return "<none>".into();
    }
    let mut list = Vec::new();
    let mut count = 0;
    for ss in &ep.subsets {
        if ss.ports.is_empty() {
            count += ss.addresses.len();
            list.extend(ss.addresses.iter().map(|a| a.ip.to_string()));
            continue;
        }
        for p in &ss.ports {
            count += ss.addresses.len();
            list.extend(ss.addresses.iter().map(|a| host_port(&a.ip.to_string(), p.port)));
        }
    }
    join_more(list, count, "")
}

fn containers_images(spec: &crate::api::PodSpec) -> (String, String) {
    let names: Vec<&str> = spec.containers.iter().map(|c| c.name.as_str()).collect();
    let images: Vec<&str> = spec.containers.iter().map(|c| c.image.as_str()).collect();
    (names.join(","), images.join(","))
}

/// `printPod`'s READY, STATUS and RESTARTS cells.
pub fn pod_summary(pod: &Pod, now: SimTime) -> (String, String, String) {
    let total = pod.spec.containers.len();
    let status = pod.status.clone().unwrap_or_default();
    let mut reason =
        status.reason.clone().unwrap_or_else(|| status.phase.clone().unwrap_or_else(|| "Pending".into()));
    let mut ready = 0;
    let mut restarts = 0;
    let mut last_restart: Option<String> = None;
    let mut has_running = false;
    let statuses = status.container_statuses.as_deref().unwrap_or_default();
    for c in statuses.iter().rev() {
        restarts += c.restart_count;
        if let Some(f) =
            c.last_state.as_ref().and_then(|s| s.terminated.as_ref()).and_then(|t| t.finished_at.as_deref())
            && last_restart.as_deref().is_none_or(|l| l < f)
        {
            last_restart = Some(f.to_string());
        }
        let state = c.state.as_ref();
        let waiting = state
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.as_deref())
            .filter(|r| !r.is_empty());
        let terminated = state.and_then(|s| s.terminated.as_ref());
        if let Some(w) = waiting {
            reason = w.to_string();
        } else if let Some(t) = terminated {
            reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                Some(r) => r.to_string(),
                None => match t.signal.filter(|s| *s != 0) {
                    Some(s) => format!("Signal:{s}"),
                    None => format!("ExitCode:{}", t.exit_code),
                },
            };
        } else if c.ready && state.is_some_and(|s| s.running.is_some()) {
            has_running = true;
            ready += 1;
        }
    }
    if reason == "Completed" && has_running {
        reason = if pod.is_ready() { "Running".into() } else { "NotReady".into() };
    }
    let terminal = matches!(status.phase.as_deref(), Some("Succeeded" | "Failed"));
    if pod.metadata.deletion_timestamp.is_some() && status.reason.as_deref() == Some("NodeLost") {
        reason = "Unknown".into();
    } else if pod.metadata.deletion_timestamp.is_some() && !terminal {
        reason = "Terminating".into();
    }
    let restarts_str = match (restarts, last_restart) {
        (0, _) | (_, None) => restarts.to_string(),
        (n, Some(t)) => format!("{n} ({} ago)", age(Some(&t), now)),
    };
    (format!("{ready}/{total}"), reason, restarts_str)
}

fn service_external_ip(svc: &crate::api::Service, wide: bool) -> String {
    use crate::api::ServiceType;
    let ext = svc.spec.external_ips.join(",");
    match svc.spec.service_type() {
        ServiceType::ClusterIP | ServiceType::NodePort => {
            if ext.is_empty() {
                "<none>".into()
            } else {
                ext
            }
        }
        ServiceType::LoadBalancer => {
            let ing: Vec<String> = svc
                .status
                .as_ref()
                .map(|s| {
                    s.load_balancer
                        .ingress
                        .iter()
                        .map(|i| if i.ip.is_empty() { i.hostname.clone() } else { i.ip.clone() })
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let mut lb = ing.join(",");
            if !wide && lb.chars().count() > 16 {
                lb = format!("{}...", lb.chars().take(13).collect::<String>());
            }
            if !svc.spec.external_ips.is_empty() {
                let mut r: Vec<String> =
                    if lb.is_empty() { Vec::new() } else { lb.split(',').map(String::from).collect() };
                r.extend(svc.spec.external_ips.iter().cloned());
                return r.join(",");
            }
            if lb.is_empty() { "<pending>".into() } else { lb }
        }
        ServiceType::ExternalName => svc.spec.external_name.clone(),
        ServiceType::Unsupported(_) => "<unknown>".into(),
    }
}

/// `makePortString`.
pub fn port_string(ports: &[crate::api::ServicePort]) -> String {
    if ports.is_empty() {
        return "<none>".into();
    }
    ports
        .iter()
        .map(|p| match p.node_port.filter(|n| *n > 0) {
            Some(np) => format!("{}:{np}/{}", p.port, p.protocol()),
            None => format!("{}/{}", p.port, p.protocol()),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn node_roles(meta: &ObjectMeta) -> String {
    let mut roles = std::collections::BTreeSet::new();
    for (k, v) in &meta.labels {
        if let Some(r) = k.strip_prefix("node-role.kubernetes.io/") {
            if !r.is_empty() {
                roles.insert(r.to_string());
            }
        } else if k == "kubernetes.io/role" && !v.is_empty() {
            roles.insert(v.clone());
        }
    }
    if roles.is_empty() { "<none>".into() } else { roles.into_iter().collect::<Vec<_>>().join(",") }
}

/// Node STATUS column.
pub fn node_status(node: &crate::api::Node) -> String {
    let ready =
        node.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(Value::as_array).and_then(|cs| {
            cs.iter().find(|c| c.get("type").and_then(Value::as_str) == Some("Ready")).cloned()
        });
    let mut s = match ready {
        Some(c) if c.get("status").and_then(Value::as_str) == Some("True") => "Ready".to_string(),
        Some(_) => "NotReady".to_string(),
        None => "Unknown".to_string(),
    };
    if node.spec.unschedulable == Some(true) {
        s.push_str(",SchedulingDisabled");
    }
    s
}

fn node_info(node: &crate::api::Node, field: &str) -> String {
    node.status
        .as_ref()
        .and_then(|s| s.node_info.as_ref())
        .and_then(|i| i.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The cells of one object's row.
pub fn row(obj: &Object, wide: bool, now: SimTime) -> Vec<String> {
    let meta = obj.meta().cloned().unwrap_or_default();
    let created = age(meta.creation_timestamp.as_deref(), now);
    let name = meta.name.clone();
    match obj {
        Object::Pod(p) => {
            let (ready, status, restarts) = pod_summary(p, now);
            let mut r = vec![name, ready, status, restarts, created];
            if wide {
                let ip = p.status.as_ref().and_then(|s| {
                    s.pod_ips.first().map(|i| i.ip.to_string()).or(s.pod_ip.map(|i| i.to_string()))
                });
                r.push(ip.unwrap_or_else(|| "<none>".into()));
                r.push(if p.spec.node_name.is_empty() { "<none>".into() } else { p.spec.node_name.clone() });
                r.push("<none>".into());
                r.push("<none>".into());
            }
            r
        }
        Object::Service(s) => {
            let cluster_ip = s.spec.cluster_ips.first().map(|c| c.to_string()).unwrap_or_else(|| {
                if s.spec.cluster_ip.is_unset() { "<none>".into() } else { s.spec.cluster_ip.to_string() }
            });
            let mut r = vec![
                name,
                s.spec.service_type().as_str().to_string(),
                cluster_ip,
                service_external_ip(s, wide),
                port_string(&s.spec.ports),
                created,
            ];
            if wide {
                r.push(format_labels(&s.spec.selector.clone().unwrap_or_default()));
            }
            r
        }
        Object::Endpoints(e) => vec![name, format_endpoints(e), created],
        Object::EndpointSlice(s) => {
            let ports: Vec<String> = s
                .ports
                .iter()
                .map(|p| p.port.map(|n| n.to_string()).or(p.name.clone()).unwrap_or_else(|| "*".into()))
                .collect();
            let pc = ports.len();
            let addrs: Vec<String> = s.endpoints.iter().flat_map(|e| e.addresses.iter().cloned()).collect();
            let ac = addrs.len();
            vec![
                name,
                s.address_type.as_ref().map(|a| a.as_str().to_string()).unwrap_or_default(),
                join_more(ports, pc, "<unset>"),
                join_more(addrs, ac, "<unset>"),
                created,
            ]
        }
        Object::Deployment(d) => {
            let status = |f: fn(&crate::api::DeploymentStatus) -> Option<i64>| {
                d.status.as_ref().and_then(f).unwrap_or(0)
            };
            let mut r = vec![
                name,
                format!("{}/{}", status(|s| s.ready_replicas), d.spec.replicas.unwrap_or(1)),
                status(|s| s.updated_replicas).to_string(),
                status(|s| s.available_replicas).to_string(),
                created,
            ];
            if wide {
                let (c, i) = containers_images(&d.spec.template.spec);
                r.extend([c, i, selector_string(d.spec.selector())]);
            }
            r
        }
        Object::ReplicaSet(rs) => {
            let mut r = vec![
                name,
                rs.spec.replicas.unwrap_or(1).to_string(),
                rs.status.as_ref().and_then(|s| s.replicas).unwrap_or(0).to_string(),
                rs.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0).to_string(),
                created,
            ];
            if wide {
                let (c, i) = containers_images(&rs.spec.template.spec);
                r.extend([c, i, selector_string(rs.spec.selector())]);
            }
            r
        }
        Object::StatefulSet(s) => {
            let mut r = vec![
                name,
                format!("{}/{}", count(&s.status, "readyReplicas"), s.spec.replicas.unwrap_or(1)),
                created,
            ];
            if wide {
                let (c, i) = containers_images(&s.spec.template.spec);
                r.extend([c, i]);
            }
            r
        }
        Object::DaemonSet(d) => {
            let mut r = vec![
                name,
                count(&d.status, "desiredNumberScheduled").to_string(),
                count(&d.status, "currentNumberScheduled").to_string(),
                count(&d.status, "numberReady").to_string(),
                count(&d.status, "updatedNumberScheduled").to_string(),
                count(&d.status, "numberAvailable").to_string(),
                format_labels(&d.spec.template.spec.node_selector),
                created,
            ];
            if wide {
                let (c, i) = containers_images(&d.spec.template.spec);
                r.extend([c, i, selector_string(d.spec.selector())]);
            }
            r
        }
        Object::Node(n) => {
            let mut r =
                vec![name, node_status(n), node_roles(&n.metadata), created, node_info(n, "kubeletVersion")];
            if wide {
                let ext = n
                    .status
                    .as_ref()
                    .and_then(|s| {
                        s.addresses.iter().find(|a| a.type_ == crate::api::NodeAddressType::ExternalIP)
                    })
                    .map(|a| a.address.clone());
                let or_unknown = |s: String| if s.is_empty() { "<unknown>".to_string() } else { s };
                r.extend([
                    n.internal_ip().map(|i| i.to_string()).unwrap_or_else(|| "<none>".into()),
                    ext.unwrap_or_else(|| "<none>".into()),
                    or_unknown(node_info(n, "osImage")),
                    or_unknown(node_info(n, "kernelVersion")),
                    or_unknown(node_info(n, "containerRuntimeVersion")),
                ]);
            }
            r
        }
        Object::Namespace(n) => {
            let phase = n
                .status
                .as_ref()
                .and_then(|s| s.get("phase"))
                .and_then(Value::as_str)
                .unwrap_or("Active")
                .to_string();
            vec![name, phase, created]
        }
        Object::Ingress(i) => {
            let spec = i.spec.clone().unwrap_or(Value::Null);
            let class = spec.get("ingressClassName").and_then(Value::as_str).unwrap_or("<none>").to_string();
            let tls = spec.get("tls").and_then(Value::as_array).is_some_and(|t| !t.is_empty());
            let ports = if tls { "80, 443" } else { "80" };
            vec![name, class, ingress_hosts(&spec), ingress_address(i, wide), ports.into(), created]
        }
        Object::IngressClass(c) => {
            // printers.go `printIngressClass`: PARAMETERS is `<none>` or `Kind/name` with the
            // API group prefixed (`example.com/IngressParameters/external-lb`).
            let params = c
                .spec
                .parameters
                .as_ref()
                .map(|p| {
                    let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    let group = s("apiGroup");
                    if group.is_empty() {
                        format!("{}/{}", s("kind"), s("name"))
                    } else {
                        format!("{group}/{}/{}", s("kind"), s("name"))
                    }
                })
                .unwrap_or_else(|| "<none>".into());
            vec![name, c.spec.controller.clone(), params, created]
        }
        Object::ServiceCidr(_) => vec![name, String::new(), created],
        Object::ConfigMap(c) => vec![name, c.data_count().to_string(), created],
        Object::Secret(s) => vec![name, s.type_name().to_string(), s.data_count().to_string(), created],
        Object::ValidatingWebhookConfiguration(v) => vec![name, v.webhooks.len().to_string(), created],
        Object::CustomResourceDefinition(c) => {
            vec![name, c.metadata.creation_timestamp.clone().unwrap_or_default()]
        }
        Object::GatewayClass(c) => {
            let mut r =
                vec![name, c.spec.controller_name.clone(), condition_status(&c.status, "Accepted"), created];
            if wide {
                r.push(c.spec.description.clone().unwrap_or_default());
            }
            r
        }
        Object::Gateway(g) => {
            // `.status.addresses[*].value`: the server's JSONPath printer joins with spaces.
            let addrs: Vec<String> = g
                .status
                .as_ref()
                .and_then(|s| s.get("addresses"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.get("value").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            vec![
                name,
                g.spec.gateway_class_name.clone(),
                addrs.join(" "),
                condition_status(&g.status, "Programmed"),
                created,
            ]
        }
        Object::HttpRoute(r) => {
            // `.spec.hostnames` of type string: the list printed as JSON.
            let hosts = if r.spec.hostnames.is_empty() {
                String::new()
            } else {
                serde_json::to_string(&r.spec.hostnames).unwrap_or_default()
            };
            vec![name, hosts, created]
        }
        Object::ReferenceGrant(_) => vec![name, created],
        Object::KubeProxyConfiguration(_) | Object::KubeletConfiguration(_) => vec![name],
    }
}

/// `.status.conditions[?(@.type=="T")].status`, empty when there is none.
fn condition_status(status: &Option<Value>, type_: &str) -> String {
    status
        .as_ref()
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c.get("type").and_then(Value::as_str) == Some(type_)))
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Renders rows with kubectl's tabwriter.
pub fn render_table(header: Option<Vec<String>>, rows: Vec<Vec<String>>) -> String {
    let mut text = String::new();
    for r in header.into_iter().chain(rows) {
        text.push_str(&r.join("\t"));
        text.push('\n');
    }
    TabWriter::table().format(&text)
}

/// Runs `kubectl get`.
pub fn get(store: &ApiServer, now: SimTime, targets: &Targets, opts: &GetOptions) -> KubectlOutput {
    let mut out = KubectlOutput::default();
    if targets.items.iter().any(|(k, _)| *k == Kind::Endpoints) {
        out.stderr.push_str(ENDPOINTS_WARNING);
    }
    if opts.all_namespaces && targets.items.iter().any(|(k, n)| n.is_some() && k.is_namespaced()) {
        return KubectlOutput::error("error: a resource cannot be retrieved by name across all namespaces");
    }
    let ns = opts.namespace.clone().unwrap_or_else(|| "default".into());
    let selector = match opts.selector.as_deref().map(Selector::parse) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => {
            out.stderr.push_str(&format!("error: {e}\n"));
            out.exit_code = 1;
            return out;
        }
    };
    // Kind groups in request order; objects found per group.
    let mut groups: Vec<(Kind, Vec<Object>)> = Vec::new();
    let mut named = false;
    for (kind, name) in &targets.items {
        let idx = match groups.iter().position(|(k, _)| k == kind) {
            Some(i) => i,
            None => {
                groups.push((*kind, Vec::new()));
                groups.len() - 1
            }
        };
        match name {
            Some(n) => {
                named = true;
                match store.get_named(*kind, &ns, n) {
                    Some(o) => groups[idx].1.push(o.clone()),
                    None => {
                        out.stderr.push_str(&format!(
                            "Error from server (NotFound): {} \"{n}\" not found\n",
                            kind.resource()
                        ));
                        out.exit_code = 1;
                    }
                }
            }
            None => {
                let all: Vec<Object> = store
                    .list(*kind)
                    .filter(|o| !kind.is_namespaced() || opts.all_namespaces || o.namespace() == ns)
                    .filter(|o| {
                        selector.as_ref().is_none_or(|s| {
                            s.matches(&o.meta().map(|m| m.labels.clone()).unwrap_or_default())
                        })
                    })
                    .cloned()
                    .collect();
                groups[idx].1.extend(all);
            }
        }
    }
    let total: usize = groups.iter().map(|(_, v)| v.len()).sum();
    match &opts.output {
        OutputFormat::Yaml
        | OutputFormat::Json
        | OutputFormat::JsonPath(_)
        | OutputFormat::CustomColumns(_) => {
            let items: Vec<Value> = groups
                .iter()
                .flat_map(|(_, v)| v.iter())
                .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
                .collect();
            let doc = if named && items.len() == 1 && targets.items.len() == 1 {
                items.into_iter().next().unwrap_or(Value::Null)
            } else {
                serde_json::json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
            };
            if total == 0 && named {
                return out;
            }
            match &opts.output {
                OutputFormat::Yaml => out.stdout.push_str(&to_yaml(&doc)),
                OutputFormat::JsonPath(t) => match JsonPath::parse(t) {
                    Ok(p) => out.stdout.push_str(&p.render(&doc)),
                    Err(e) => return KubectlOutput::error(&format!("error: {e}")),
                },
                OutputFormat::CustomColumns(spec) => {
                    let cc = match CustomColumns::parse(spec) {
                        Ok(c) => c,
                        Err(e) => return KubectlOutput::error(&format!("error: {e}")),
                    };
                    // kubectl's generic printers print an empty List: headers, no rows, and
                    // no "No resources found" message.
                    let rows: Vec<Vec<String>> = match doc.get("items").and_then(Value::as_array) {
                        Some(items) if doc.get("kind") == Some(&Value::from("List")) => {
                            items.iter().map(|o| cc.row(o)).collect()
                        }
                        _ => vec![cc.row(&doc)],
                    };
                    out.stdout.push_str(&render_table((!opts.no_headers).then(|| cc.header()), rows));
                }
                _ => out.stdout.push_str(&to_json(&doc)),
            }
            return out;
        }
        OutputFormat::Name => {
            for (kind, objs) in &groups {
                for o in objs {
                    out.stdout.push_str(&format!("{}/{}\n", kind.kubectl_prefix(), o.name()));
                }
            }
            if total == 0 && !named {
                no_resources(&mut out, opts, &groups);
            }
            return out;
        }
        OutputFormat::Table | OutputFormat::Wide => {}
    }
    if total == 0 {
        if !named {
            no_resources(&mut out, opts, &groups);
        }
        return out;
    }
    let wide = opts.output == OutputFormat::Wide;
    let mut tables = Vec::new();
    for (kind, objs) in &groups {
        if objs.is_empty() {
            continue;
        }
        let with_ns = opts.all_namespaces && kind.is_namespaced();
        let mut header: Vec<String> = headers(*kind, wide).into_iter().map(String::from).collect();
        if with_ns {
            header.insert(0, "NAMESPACE".into());
        }
        if opts.show_labels {
            header.push("LABELS".into());
        }
        let rows: Vec<Vec<String>> = objs
            .iter()
            .map(|o| {
                let mut r = row(o, wide, now);
                if targets.multi_kind {
                    r[0] = format!("{}/{}", kind.kubectl_prefix(), r[0]);
                }
                if with_ns {
                    r.insert(0, o.namespace().to_string());
                }
                if opts.show_labels {
                    r.push(format_labels(&o.meta().map(|m| m.labels.clone()).unwrap_or_default()));
                }
                r
            })
            .collect();
        tables.push(render_table((!opts.no_headers).then_some(header), rows));
    }
    out.stdout.push_str(&tables.join("\n"));
    out
}

/// printers.go `formatHosts`: the rules' hosts (at most three, then `+ N more...`), or `*`.
pub fn ingress_hosts(spec: &Value) -> String {
    const MAX: usize = 3;
    let rules: Vec<&Value> =
        spec.get("rules").and_then(Value::as_array).map(|r| r.iter().collect()).unwrap_or_default();
    let mut list: Vec<&str> = Vec::new();
    let mut more = false;
    for r in &rules {
        if list.len() == MAX {
            more = true;
        }
        let host = r.get("host").and_then(Value::as_str).unwrap_or("");
        if !more && !host.is_empty() {
            list.push(host);
        }
    }
    if list.is_empty() {
        return "*".into();
    }
    let ret = list.join(",");
    if more { format!("{ret} + {} more...", rules.len() - MAX) } else { ret }
}

/// printers.go `ingressLoadBalancerStatusStringerV1`: load-balancer IPs or hostnames, joined by
/// `,` (cut to three and `...` outside `-o wide`).
pub fn ingress_address(i: &crate::api::Ingress, wide: bool) -> String {
    let list: Vec<String> = i
        .status
        .as_ref()
        .and_then(|s| s.pointer("/loadBalancer/ingress"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    x.get("ip").or_else(|| x.get("hostname")).and_then(Value::as_str).map(String::from)
                })
                .collect()
        })
        .unwrap_or_default();
    let r = list.join(",");
    if !wide && list.len() > 3 { format!("{}...", list[..3].join(",")) } else { r }
}

fn no_resources(out: &mut KubectlOutput, opts: &GetOptions, groups: &[(Kind, Vec<Object>)]) {
    let namespaced = groups.iter().any(|(k, _)| k.is_namespaced());
    if opts.all_namespaces || !namespaced {
        out.stderr.push_str("No resources found\n");
    } else {
        let ns = opts.namespace.clone().unwrap_or_else(|| "default".into());
        out.stderr.push_str(&format!("No resources found in {ns} namespace.\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let l: BTreeMap<String, String> =
            [("app".to_string(), "web".to_string()), ("tier".into(), "fe".into())].into_iter().collect();
        for (s, want) in [
            ("app=web", true),
            ("app!=web", false),
            ("tier in (fe,be)", true),
            ("app,!gone", true),
            ("app=web,tier notin (fe)", false),
        ] {
            assert_eq!(Selector::parse(s).map(|x| x.matches(&l)), Ok(want), "{s}");
        }
    }
}
