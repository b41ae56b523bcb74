//! `kubectl describe` for services, pods, endpoints, endpointslices, workloads, nodes and
//! ingresses (the `Rules:` host/path/backend table), and
//! `kubectl get events`, after kubernetes/kubectl pkg/describe/describe.go: a PrefixWriter
//! over a tabwriter with minwidth 0 and padding 2 (flushed before the Events table), labels
//! and annotations multi-line and sorted, `Endpoints:` from EndpointSlices (ready endpoints
//! only, three then ` + N more...`), RFC 1123 timestamps from simulated time, and events from
//! the controllers with kubectl's `Age (xN over M)` interval. Name arguments fall back to prefix
//! matching as kubectl does. Left out: resource requests/limits, volumes, node capacity and
//! system info sections (netsim does not model them).

use std::collections::BTreeMap;

use serde_json::Value;
use sim_core::SimTime;

use super::command::{GetOptions, Targets};
use super::get::{Selector, format_labels, selector_string};
use super::human_duration::age;
use super::tabwriter::TabWriter;
use super::{ENDPOINTS_WARNING, KubectlOutput};
use crate::api::{Kind, Object, ObjectKey, ObjectMeta, Pod};
use crate::apiserver::ApiServer;
use crate::controllers::Event;
use crate::controllers::store::{SIM_EPOCH_UNIX, parse_timestamp, timestamp};

/// Text with flush points: each block goes through the describe tabwriter on its own.
#[derive(Default)]
struct Doc {
    blocks: Vec<String>,
    cur: String,
}

impl Doc {
    fn w(&mut self, level: usize, s: &str) {
        for _ in 0..level {
            self.cur.push_str("  ");
        }
        self.cur.push_str(s);
    }
    fn flush(&mut self) {
        self.blocks.push(std::mem::take(&mut self.cur));
    }
    fn finish(mut self) -> String {
        self.flush();
        self.blocks.iter().map(|b| TabWriter::describe().format(b)).collect()
    }
}

/// `time.RFC1123Z` of an RFC 3339 timestamp (`Mon, 01 Jan 2024 00:00:00 +0000`).
pub fn rfc1123z(ts: &str) -> String {
    let Some(t) = parse_timestamp(ts) else { return ts.to_string() };
    let secs = SIM_EPOCH_UNIX + t.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let wd = WEEKDAYS[days.rem_euclid(7) as usize];
    let text = timestamp(t);
    let (y, mo, d, hms) = (&text[0..4], &text[5..7], &text[8..10], &text[11..19]);
    let month = mo.parse::<u32>().map_or("Jan", crate::apiserver::naming::month_abbrev);
    format!("{wd}, {d} {month} {y} {hms} +0000")
}

fn labels_multiline(doc: &mut Doc, title: &str, labels: &BTreeMap<String, String>, sep: &str) {
    doc.w(0, &format!("{title}:\t"));
    let skip = "kubectl.kubernetes.io/last-applied-configuration";
    let keys: Vec<&String> = labels.keys().filter(|k| k.as_str() != skip).collect();
    if keys.is_empty() {
        doc.w(0, "<none>\n");
        return;
    }
    for (i, k) in keys.iter().enumerate() {
        if i != 0 {
            doc.w(0, "\t");
        }
        doc.w(0, &format!("{k}{sep}{}\n", labels[*k]));
    }
}

fn events_for<'a>(events: &'a [Event], key: &ObjectKey) -> Vec<&'a Event> {
    let mut v: Vec<&Event> = events.iter().filter(|e| *e.involved == *key).collect();
    v.sort_by_key(|e| e.last_seen);
    v
}

fn interval(e: &Event, now: SimTime) -> String {
    let first = age(Some(&timestamp(e.first_seen)), now);
    if e.count > 1 {
        format!("{} (x{} over {first})", age(Some(&timestamp(e.last_seen)), now), e.count)
    } else {
        first
    }
}

fn describe_events(doc: &mut Doc, events: &[&Event], now: SimTime) {
    if events.is_empty() {
        doc.w(0, "Events:\t<none>\n");
        return;
    }
    doc.flush();
    doc.w(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
    doc.w(1, "----\t------\t----\t----\t-------\n");
    for e in events {
        doc.w(
            1,
            &format!(
                "{}\t{}\t{}\t{}\t{}\n",
                e.type_.as_str(),
                e.reason,
                interval(e, now),
                e.source,
                e.message.trim()
            ),
        );
    }
}

/// Runs `kubectl describe`.
pub fn describe(
    store: &ApiServer,
    now: SimTime,
    events: &[Event],
    targets: &Targets,
    opts: &GetOptions,
) -> KubectlOutput {
    let mut out = KubectlOutput::default();
    let ns = opts.namespace.clone().unwrap_or_else(|| "default".into());
    let selector = opts.selector.as_deref().and_then(|s| Selector::parse(s).ok());
    let mut objs: Vec<Object> = Vec::new();
    for (kind, name) in &targets.items {
        let in_scope = |o: &&Object| !kind.is_namespaced() || opts.all_namespaces || o.namespace() == ns;
        match name {
            Some(n) => match store.get_named(*kind, &ns, n) {
                Some(o) => objs.push(o.clone()),
                None => {
                    let prefixed: Vec<Object> = store
                        .list(*kind)
                        .filter(in_scope)
                        .filter(|o| o.name().starts_with(n.as_str()))
                        .cloned()
                        .collect();
                    if prefixed.is_empty() {
                        out.stderr.push_str(&format!(
                            "Error from server (NotFound): {} \"{n}\" not found\n",
                            kind.resource()
                        ));
                        out.exit_code = 1;
                    }
                    objs.extend(prefixed);
                }
            },
            None => objs.extend(
                store
                    .list(*kind)
                    .filter(in_scope)
                    .filter(|o| {
                        selector.as_ref().is_none_or(|s| {
                            s.matches(&o.meta().map(|m| m.labels.clone()).unwrap_or_default())
                        })
                    })
                    .cloned(),
            ),
        }
    }
    if objs.iter().any(|o| o.kind() == Kind::Endpoints) {
        out.stderr.insert_str(0, ENDPOINTS_WARNING);
    }
    if objs.is_empty() && out.exit_code == 0 {
        out.stderr.push_str(&format!("No resources found in {ns} namespace.\n"));
    }
    let texts: Vec<String> = objs.iter().map(|o| describe_one(store, now, events, o)).collect();
    out.stdout = texts.join("\n\n");
    out
}

/// Describes one object (which need not be stored; related objects come from `store`).
pub fn describe_one(store: &ApiServer, now: SimTime, events: &[Event], obj: &Object) -> String {
    let key = obj.key("default");
    let evs = events_for(events, &key);
    match obj {
        Object::Service(s) => describe_service(store, s, &evs, now),
        Object::Pod(p) => describe_pod(store, p, &evs, now),
        Object::Endpoints(e) => describe_endpoints(e, &evs, now),
        Object::Deployment(d) => describe_deployment(store, d, &evs, now),
        Object::Node(n) => describe_node(store, n, &evs, now),
        Object::EndpointSlice(e) => describe_endpoint_slice(e, &evs, now),
        Object::ReplicaSet(_) | Object::StatefulSet(_) | Object::DaemonSet(_) => {
            describe_workload(store, obj, &evs, now)
        }
        Object::Ingress(i) => describe_ingress(store, i, &evs, now),
        Object::Secret(s) => describe_secret(s),
        Object::ConfigMap(c) => describe_config_map(c),
        other if other.kind().is_custom_resource() || other.kind() == Kind::CustomResourceDefinition => {
            describe_unstructured(other, &evs, now)
        }
        other => describe_generic(other.meta(), other.kind(), &evs, now),
    }
}

/// describe.go's `genericDescriber`, which kubectl uses for custom resources: name,
/// namespace, labels and annotations, then every other field of the object as
/// `printUnstructuredContent` walks it (keys sorted, labels from `smartLabelFor`, list
/// items indented below their key), then the events.
fn describe_unstructured(obj: &Object, evs: &[&Event], now: SimTime) -> String {
    let meta = obj.meta().cloned().unwrap_or_default();
    let mut d = Doc::default();
    d.w(0, &format!("Name:\t{}\n", meta.name));
    d.w(0, &format!("Namespace:\t{}\n", meta.namespace));
    labels_multiline(&mut d, "Labels", &meta.labels, "=");
    labels_multiline(&mut d, "Annotations", &meta.annotations, ": ");
    let value = serde_json::to_value(obj).unwrap_or(Value::Null);
    if let Value::Object(m) = &value {
        let skip = [
            ".metadata.managedFields",
            ".metadata.name",
            ".metadata.namespace",
            ".metadata.labels",
            ".metadata.annotations",
        ];
        unstructured_content(&mut d, 0, m, "", &skip);
    }
    describe_events(&mut d, evs, now);
    d.finish()
}

fn unstructured_content(
    d: &mut Doc,
    level: usize,
    content: &serde_json::Map<String, Value>,
    prefix: &str,
    skip: &[&str],
) {
    // serde_json's map is ordered by key, as Go's sort.Strings orders them.
    for (field, value) in content {
        let expr = format!("{prefix}.{field}");
        if skip.contains(&expr.as_str()) {
            continue;
        }
        match value {
            Value::Object(m) => {
                d.w(level, &format!("{}:\n", smart_label(field)));
                unstructured_content(d, level + 1, m, &expr, skip);
            }
            Value::Array(items) => {
                d.w(level, &format!("{}:\n", smart_label(field)));
                for item in items {
                    match item {
                        Value::Object(m) => unstructured_content(d, level + 1, m, &expr, skip),
                        other => d.w(level + 1, &format!("{}\n", go_value(other))),
                    }
                }
            }
            other => d.w(level, &format!("{}:\t{}\n", smart_label(field), go_value(other))),
        }
    }
}

/// A JSON scalar as Go's `%v` prints it.
fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".to_string(),
        other => other.to_string(),
    }
}

/// describe.go `smartLabelFor`: camel case split into title-cased words (`lastTransitionTime`
/// → `Last Transition Time`), common acronyms upper-cased (`apiVersion` → `API Version`); a
/// field with characters other than letters and `-` is kept as it is.
fn smart_label(field: &str) -> String {
    if field.chars().any(|c| !c.is_alphabetic() && c != '-') {
        return field.to_string();
    }
    const ACRONYMS: &[&str] = &["API", "URL", "UID", "OSB", "GUID"];
    camel_split(field)
        .into_iter()
        .filter(|p| p != "_")
        .map(|p| {
            let upper = p.to_uppercase();
            if ACRONYMS.contains(&upper.as_str()) {
                upper
            } else {
                let mut c = p.chars();
                c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// fatih/camelcase `Split`: runs of lower case, upper case, digits and other characters, with
/// an upper-case run's last letter moved to a following lower-case run (`HTTPRoute` →
/// `HTTP`, `Route`).
fn camel_split(s: &str) -> Vec<String> {
    let class = |c: char| {
        if c.is_lowercase() {
            1
        } else if c.is_uppercase() {
            2
        } else if c.is_ascii_digit() {
            3
        } else {
            4
        }
    };
    let mut runs: Vec<Vec<char>> = Vec::new();
    let mut last = 0;
    for c in s.chars() {
        let k = class(c);
        match runs.last_mut() {
            Some(r) if k == last => r.push(c),
            _ => runs.push(vec![c]),
        }
        last = k;
    }
    for i in 0..runs.len().saturating_sub(1) {
        let (upper, lower) = (
            runs[i].first().is_some_and(|c| c.is_uppercase()),
            runs[i + 1].first().is_some_and(|c| c.is_lowercase()),
        );
        if upper
            && lower
            && let Some(c) = runs[i].pop()
        {
            runs[i + 1].insert(0, c);
        }
    }
    runs.into_iter().filter(|r| !r.is_empty()).map(|r| r.into_iter().collect()).collect()
}

/// describe.go `describeIngressV1`: class, default backend, TLS, the `Rules:` table of host,
/// path and backend (with the backend Service's ready endpoints), annotations and events.
fn describe_ingress(store: &ApiServer, i: &crate::api::Ingress, evs: &[&Event], now: SimTime) -> String {
    let ns = crate::controllers::ns_of(&i.metadata);
    let spec = i.spec.clone().unwrap_or(Value::Null);
    let mut d = Doc::default();
    d.w(0, &format!("Name:\t{}\n", i.metadata.name));
    labels_multiline(&mut d, "Labels", &i.metadata.labels, "=");
    d.w(0, &format!("Namespace:\t{}\n", i.metadata.namespace));
    d.w(0, &format!("Address:\t{}\n", super::get::ingress_address(i, true)));
    let class = spec.get("ingressClassName").and_then(Value::as_str).unwrap_or("<none>");
    d.w(0, &format!("Ingress Class:\t{class}\n"));
    let default_backend = match spec.get("defaultBackend") {
        Some(b) => ingress_backend(store, ns, b),
        None => "<default>".to_string(),
    };
    d.w(0, &format!("Default backend:\t{default_backend}\n"));
    if let Some(tls) = spec.get("tls").and_then(Value::as_array).filter(|t| !t.is_empty()) {
        d.w(0, "TLS:\n");
        for t in tls {
            let hosts: Vec<&str> = t
                .get("hosts")
                .and_then(Value::as_array)
                .map(|h| h.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match t.get("secretName").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                Some(secret) => d.w(1, &format!("{secret} terminates {}\n", hosts.join(","))),
                None => d.w(1, &format!("SNI routes {}\n", hosts.join(","))),
            }
        }
    }
    d.w(0, "Rules:\n  Host\tPath\tBackends\n");
    d.w(1, "----\t----\t--------\n");
    let mut count = 0;
    for rule in spec.get("rules").and_then(Value::as_array).into_iter().flatten() {
        let Some(http) = rule.get("http") else { continue };
        count += 1;
        let host = rule.get("host").and_then(Value::as_str).filter(|h| !h.is_empty()).unwrap_or("*");
        d.w(1, &format!("{host}\t\n"));
        for path in http.get("paths").and_then(Value::as_array).into_iter().flatten() {
            let p = path.get("path").and_then(Value::as_str).unwrap_or("");
            let backend = path.get("backend").map(|b| ingress_backend(store, ns, b)).unwrap_or_default();
            d.w(2, &format!("\t{p} \t{backend}\n"));
        }
    }
    if count == 0 {
        d.w(1, &format!("*\t*\t{default_backend}\n"));
    }
    labels_multiline(&mut d, "Annotations", &i.metadata.annotations, ": ");
    describe_events(&mut d, evs, now);
    d.finish()
}

/// describe.go `describeBackendV1`: `name:port (endpoints)`, or the error fetching the Service.
fn ingress_backend(store: &ApiServer, ns: &str, backend: &Value) -> String {
    let Some(svc) = backend.get("service") else {
        let Some(r) = backend.get("resource") else { return String::new() };
        let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let group = r.get("apiGroup").and_then(Value::as_str).unwrap_or("<none>");
        return format!("APIGroup: {group}, Kind: {}, Name: {}", s("kind"), s("name"));
    };
    let name = svc.get("name").and_then(Value::as_str).unwrap_or("");
    let number = svc.pointer("/port/number").and_then(Value::as_i64).unwrap_or(0);
    let port_name = svc.pointer("/port/name").and_then(Value::as_str).unwrap_or("");
    let port = if number != 0 { number.to_string() } else { port_name.to_string() };
    let sb = format!("{name}:{port}");
    let Some(Object::Service(s)) = store.get_named(Kind::Service, ns, name) else {
        return format!("{sb} (<error: services \"{name}\" not found>)");
    };
    let mut sp_name = "";
    for sp in &s.spec.ports {
        if (number != 0 && i64::from(sp.port) == number) || (!port_name.is_empty() && port_name == sp.name) {
            sp_name = sp.name.as_str();
        }
    }
    let slices: Vec<&crate::api::EndpointSlice> = store
        .list(Kind::EndpointSlice)
        .filter_map(|o| match o {
            Object::EndpointSlice(sl) if sl.metadata.namespace == ns && sl.service_name() == Some(name) => {
                Some(sl)
            }
            _ => None,
        })
        .collect();
    format!("{sb} ({})", format_endpoint_slices(&slices, sp_name))
}

fn describe_generic(meta: Option<&ObjectMeta>, kind: Kind, evs: &[&Event], now: SimTime) -> String {
    let meta = meta.cloned().unwrap_or_default();
    let mut d = Doc::default();
    d.w(0, &format!("Name:\t{}\n", meta.name));
    if kind.is_namespaced() {
        d.w(0, &format!("Namespace:\t{}\n", meta.namespace));
    }
    labels_multiline(&mut d, "Labels", &meta.labels, "=");
    labels_multiline(&mut d, "Annotations", &meta.annotations, ": ");
    describe_events(&mut d, evs, now);
    d.finish()
}

/// describe.go `describeSecret`: the keys in order with their decoded sizes, never the
/// values (a service-account token excepted, as upstream prints it); no events.
fn describe_secret(s: &crate::api::Secret) -> String {
    let mut d = Doc::default();
    d.w(0, &format!("Name:\t{}\n", s.metadata.name));
    d.w(0, &format!("Namespace:\t{}\n", s.metadata.namespace));
    labels_multiline(&mut d, "Labels", &s.metadata.labels, "=");
    labels_multiline(&mut d, "Annotations", &s.metadata.annotations, ": ");
    d.w(0, &format!("\nType:\t{}\n", s.type_name()));
    d.w(0, "\nData\n====\n");
    let sa_token = s.type_name() == "kubernetes.io/service-account-token";
    for (k, len) in s.sizes() {
        let token = s.data.get(k).filter(|_| sa_token && k == "token").and_then(|v| {
            data_encoding::BASE64.decode(v.as_bytes()).ok().and_then(|b| String::from_utf8(b).ok())
        });
        match token {
            Some(token) => d.w(0, &format!("{k}:\t{token}\n")),
            None => d.w(0, &format!("{k}:\t{len} bytes\n")),
        }
    }
    d.finish()
}

/// describe.go `describeConfigMap`: each key's value under a `----` rule, then the binary
/// keys with their sizes.
fn describe_config_map(c: &crate::api::ConfigMap) -> String {
    let mut d = Doc::default();
    d.w(0, &format!("Name:\t{}\n", c.metadata.name));
    d.w(0, &format!("Namespace:\t{}\n", c.metadata.namespace));
    labels_multiline(&mut d, "Labels", &c.metadata.labels, "=");
    labels_multiline(&mut d, "Annotations", &c.metadata.annotations, ": ");
    d.w(0, "\nData\n====\n");
    for (k, v) in &c.data {
        d.w(0, &format!("{k}:\n----\n"));
        d.w(0, &format!("{v}\n"));
    }
    d.w(0, "\nBinaryData\n====\n");
    for (k, v) in &c.binary_data {
        let len = data_encoding::BASE64.decode(v.as_bytes()).map(|b| b.len()).unwrap_or(0);
        d.w(0, &format!("{k}: {len} bytes\n"));
    }
    d.w(0, "\n");
    d.finish()
}

/// `formatEndpointSlices` for one service port name.
pub fn format_endpoint_slices(slices: &[&crate::api::EndpointSlice], port_name: &str) -> String {
    if slices.is_empty() {
        return "<none>".into();
    }
    const MAX: usize = 3;
    let mut list = Vec::new();
    let mut more = false;
    let mut count = 0;
    let mut add = |s: String, list: &mut Vec<String>| {
        if list.len() == MAX {
            more = true;
        }
        if !more {
            list.push(s);
        }
        count += 1;
    };
    for s in slices {
        if s.ports.is_empty() {
            for e in s.endpoints.iter().filter(|e| e.conditions.ready.is_none_or(|r| r)) {
                add(e.addresses.first().cloned().unwrap_or_default(), &mut list);
            }
        } else {
            for p in s.ports.iter().filter(|p| p.name.as_deref().unwrap_or("") == port_name) {
                for e in s.endpoints.iter().filter(|e| e.conditions.ready.is_none_or(|r| r)) {
                    let ip = e.addresses.first().cloned().unwrap_or_default();
                    let port = p.port.unwrap_or(0);
                    add(
                        if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") },
                        &mut list,
                    );
                }
            }
        }
    }
    let ret = list.join(",");
    if more { format!("{ret} + {} more...", count - MAX) } else { ret }
}

fn describe_service(store: &ApiServer, s: &crate::api::Service, evs: &[&Event], now: SimTime) -> String {
    let ns = crate::controllers::ns_of(&s.metadata);
    let slices: Vec<&crate::api::EndpointSlice> = store
        .list(Kind::EndpointSlice)
        .filter_map(|o| match o {
            Object::EndpointSlice(sl)
                if sl.metadata.namespace == ns && sl.service_name() == Some(s.metadata.name.as_str()) =>
            {
                Some(sl)
            }
            _ => None,
        })
        .collect();
    let mut d = Doc::default();
    d.w(0, &format!("Name:\t{}\n", s.metadata.name));
    d.w(0, &format!("Namespace:\t{}\n", s.metadata.namespace));
    labels_multiline(&mut d, "Labels", &s.metadata.labels, "=");
    labels_multiline(&mut d, "Annotations", &s.metadata.annotations, ": ");
    d.w(0, &format!("Selector:\t{}\n", format_labels(&s.spec.selector.clone().unwrap_or_default())));
    d.w(0, &format!("Type:\t{}\n", s.spec.service_type()));
    if let Some(p) = &s.spec.ip_family_policy {
        d.w(0, &format!("IP Family Policy:\t{p}\n"));
    }
    if s.spec.ip_families.is_empty() {
        d.w(0, "IP Families:\t<none>\n");
    } else {
        d.w(
            0,
            &format!(
                "IP Families:\t{}\n",
                s.spec.ip_families.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(",")
            ),
        );
    }
    d.w(0, &format!("IP:\t{}\n", s.spec.cluster_ip));
    if s.spec.cluster_ips.is_empty() {
        d.w(0, "IPs:\t<none>\n");
    } else {
        d.w(
            0,
            &format!(
                "IPs:\t{}\n",
                s.spec.cluster_ips.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(",")
            ),
        );
    }
    if !s.spec.external_ips.is_empty() {
        d.w(0, &format!("External IPs:\t{}\n", s.spec.external_ips.join(",")));
    }
    if !s.spec.load_balancer_ip.is_empty() {
        d.w(0, &format!("Desired LoadBalancer IP:\t{}\n", s.spec.load_balancer_ip));
    }
    if !s.spec.external_name.is_empty() {
        d.w(0, &format!("External Name:\t{}\n", s.spec.external_name));
    }
    let ingress: Vec<String> = s
        .status
        .as_ref()
        .map(|st| {
            st.load_balancer
                .ingress
                .iter()
                .map(|i| if i.ip.is_empty() { i.hostname.clone() } else { i.ip.clone() })
                .collect()
        })
        .unwrap_or_default();
    if !ingress.is_empty() {
        d.w(0, &format!("LoadBalancer Ingress:\t{}\n", ingress.join(", ")));
    }
    for p in &s.spec.ports {
        let name = if p.name.is_empty() { "<unset>" } else { p.name.as_str() };
        let proto = p.protocol();
        d.w(0, &format!("Port:\t{name}\t{}/{proto}\n", p.port));
        match &p.target_port {
            Some(crate::api::IntOrString::Int(0)) => d.w(0, &format!("TargetPort:\t<unset>/{proto}\n")),
            Some(t) => d.w(0, &format!("TargetPort:\t{t}/{proto}\n")),
            None => d.w(0, &format!("TargetPort:\t<unset>/{proto}\n")),
        }
        if let Some(a) = &p.app_protocol {
            d.w(0, &format!("AppProtocol:\t{a}\n"));
        }
        if let Some(np) = p.node_port.filter(|n| *n != 0) {
            d.w(0, &format!("NodePort:\t{name}\t{np}/{proto}\n"));
        }
        d.w(0, &format!("Endpoints:\t{}\n", format_endpoint_slices(&slices, &p.name)));
    }
    d.w(
        0,
        &format!(
            "Session Affinity:\t{}\n",
            s.spec.session_affinity.as_ref().map(|a| a.as_str()).unwrap_or("None")
        ),
    );
    if let Some(e) = &s.spec.external_traffic_policy {
        d.w(0, &format!("External Traffic Policy:\t{e}\n"));
    }
    if let Some(i) = &s.spec.internal_traffic_policy {
        d.w(0, &format!("Internal Traffic Policy:\t{i}\n"));
    }
    if let Some(h) = s.spec.health_check_node_port.filter(|h| *h != 0) {
        d.w(0, &format!("HealthCheck NodePort:\t{h}\n"));
    }
    if !s.spec.load_balancer_source_ranges.is_empty() {
        d.w(0, &format!("LoadBalancer Source Ranges:\t{}\n", s.spec.load_balancer_source_ranges.join(",")));
    }
    describe_events(&mut d, evs, now);
    d.finish()
}

fn probe_string(kind: &str, p: &crate::api::Probe) -> String {
    let handler = if let Some(h) = &p.http_get {
        let scheme = if h.scheme.is_empty() { "http".to_string() } else { h.scheme.to_ascii_lowercase() };
        let path = if h.path.is_empty() { "/".to_string() } else { h.path.clone() };
        format!("http-get {scheme}://{}:{}{path}", h.host, h.port)
    } else if let Some(t) = &p.tcp_socket {
        format!("tcp-socket {}:{}", t.host, t.port)
    } else if let Some(e) = &p.exec {
        format!("exec [{}]", e.command.join(" "))
    } else {
        "unknown".into()
    };
    format!(
        "{kind}:\t{handler} delay={}s timeout={}s period={}s #success={} #failure={}\n",
        p.initial_delay_seconds.unwrap_or(0),
        p.timeout_seconds.unwrap_or(1),
        p.period_seconds.unwrap_or(10),
        p.success_threshold.unwrap_or(1),
        p.failure_threshold.unwrap_or(3)
    )
}

/// A container's ports as kubectl prints them (upstream `describeContainerPorts` and
/// `describeContainerHostPorts` in describe.go, shared by pods and pod templates): `Port:` /
/// `Host Port:` for one (`<none>` for none, `stringOrNone`), `Ports:` / `Host Ports:` lists for
/// more; each `PORT/PROTO`, a port's name not shown.
fn describe_container_ports(d: &mut Doc, ports: &[crate::api::ContainerPort]) {
    match ports {
        [] => {
            d.w(2, "Port:\t<none>\n");
            d.w(2, "Host Port:\t<none>\n");
        }
        [one] => {
            let proto = one.protocol.clone().unwrap_or(crate::api::Protocol::TCP);
            d.w(2, &format!("Port:\t{}/{proto}\n", one.container_port));
            d.w(2, &format!("Host Port:\t{}/{proto}\n", one.host_port.unwrap_or(0)));
        }
        many => {
            let ports: Vec<String> = many
                .iter()
                .map(|p| {
                    format!(
                        "{}/{}",
                        p.container_port,
                        p.protocol.clone().unwrap_or(crate::api::Protocol::TCP)
                    )
                })
                .collect();
            d.w(2, &format!("Ports:\t{}\n", ports.join(", ")));
            let hps: Vec<String> = many
                .iter()
                .map(|p| {
                    format!(
                        "{}/{}",
                        p.host_port.unwrap_or(0),
                        p.protocol.clone().unwrap_or(crate::api::Protocol::TCP)
                    )
                })
                .collect();
            d.w(2, &format!("Host Ports:\t{}\n", hps.join(", ")));
        }
    }
}

fn describe_container(d: &mut Doc, c: &crate::api::Container, status: Option<&Value>, now: SimTime) {
    d.w(1, &format!("{}:\n", c.name));
    d.w(
        2,
        &format!(
            "Container ID:\t{}\n",
            status.and_then(|s| s.get("containerID")).and_then(Value::as_str).unwrap_or("")
        ),
    );
    d.w(2, &format!("Image:\t{}\n", c.image));
    d.w(
        2,
        &format!(
            "Image ID:\t{}\n",
            status.and_then(|s| s.get("imageID")).and_then(Value::as_str).unwrap_or("")
        ),
    );
    describe_container_ports(d, &c.ports);
    if !c.command.is_empty() {
        d.w(2, "Command:\n");
        for a in &c.command {
            d.w(3, &format!("{a}\n"));
        }
    }
    if !c.args.is_empty() {
        d.w(2, "Args:\n");
        for a in &c.args {
            d.w(3, &format!("{a}\n"));
        }
    }
    let state_line = |d: &mut Doc, title: &str, st: Option<&Value>| {
        let Some(st) = st else {
            d.w(2, &format!("{title}:\tWaiting\n"));
            return;
        };
        if let Some(r) = st.get("running") {
            d.w(2, &format!("{title}:\tRunning\n"));
            if let Some(t) = r.get("startedAt").and_then(Value::as_str) {
                d.w(3, &format!("Started:\t{}\n", rfc1123z(t)));
            }
        } else if let Some(w) = st.get("waiting") {
            d.w(2, &format!("{title}:\tWaiting\n"));
            if let Some(r) = w.get("reason").and_then(Value::as_str) {
                d.w(3, &format!("Reason:\t{r}\n"));
            }
        } else if let Some(t) = st.get("terminated") {
            d.w(2, &format!("{title}:\tTerminated\n"));
            if let Some(r) = t.get("reason").and_then(Value::as_str) {
                d.w(3, &format!("Reason:\t{r}\n"));
            }
            d.w(3, &format!("Exit Code:\t{}\n", t.get("exitCode").and_then(Value::as_i64).unwrap_or(0)));
            if let Some(s) = t.get("startedAt").and_then(Value::as_str) {
                d.w(3, &format!("Started:\t{}\n", rfc1123z(s)));
            }
            if let Some(f) = t.get("finishedAt").and_then(Value::as_str) {
                d.w(3, &format!("Finished:\t{}\n", rfc1123z(f)));
            }
        } else {
            d.w(2, &format!("{title}:\tWaiting\n"));
        }
    };
    state_line(d, "State", status.and_then(|s| s.get("state")));
    if let Some(last) =
        status.and_then(|s| s.get("lastState")).filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
    {
        state_line(d, "Last State", Some(last));
    }
    let ready = status.and_then(|s| s.get("ready")).and_then(Value::as_bool).unwrap_or(false);
    d.w(2, &format!("Ready:\t{}\n", if ready { "True" } else { "False" }));
    d.w(
        2,
        &format!(
            "Restart Count:\t{}\n",
            status.and_then(|s| s.get("restartCount")).and_then(Value::as_i64).unwrap_or(0)
        ),
    );
    if let Some(p) = &c.liveness_probe {
        d.w(2, &probe_string("Liveness", p));
    }
    if let Some(p) = &c.readiness_probe {
        d.w(2, &probe_string("Readiness", p));
    }
    if c.env.is_empty() {
        d.w(2, "Environment:\t<none>\n");
    } else {
        d.w(2, "Environment:\n");
        for e in &c.env {
            d.w(3, &format!("{}:\t{}\n", e.name, e.value.clone().unwrap_or_default()));
        }
    }
    d.w(2, "Mounts:\t<none>\n");
    let _ = now;
}

fn describe_pod(store: &ApiServer, p: &Pod, evs: &[&Event], now: SimTime) -> String {
    let status = p.status.clone().unwrap_or_default();
    let mut d = Doc::default();
    d.w(0, &format!("Name:\t{}\n", p.metadata.name));
    d.w(0, &format!("Namespace:\t{}\n", p.metadata.namespace));
    d.w(0, &format!("Priority:\t{}\n", p.spec.priority.unwrap_or(0)));
    let sa =
        if p.spec.service_account_name.is_empty() { "default" } else { p.spec.service_account_name.as_str() };
    d.w(0, &format!("Service Account:\t{sa}\n"));
    if p.spec.node_name.is_empty() {
        d.w(0, "Node:\t<none>\n");
    } else {
        let host = status.host_ip.map(|i| i.to_string()).unwrap_or_default();
        d.w(0, &format!("Node:\t{}/{host}\n", p.spec.node_name));
    }
    if let Some(t) = &status.start_time {
        d.w(0, &format!("Start Time:\t{}\n", rfc1123z(t)));
    }
    labels_multiline(&mut d, "Labels", &p.metadata.labels, "=");
    labels_multiline(&mut d, "Annotations", &p.metadata.annotations, ": ");
    if let Some(dt) = &p.metadata.deletion_timestamp {
        let grace = p.metadata.deletion_grace_period_seconds.unwrap_or(30);
        d.w(
            0,
            &format!(
                "Status:\tTerminating (lasts {})\n",
                // kubectl ages the (future) deletionTimestamp: the familiar "lasts <invalid>".
                age(Some(dt), now)
            ),
        );
        d.w(0, &format!("Termination Grace Period:\t{grace}s\n"));
    } else {
        d.w(0, &format!("Status:\t{}\n", status.phase.clone().unwrap_or_else(|| "Pending".into())));
    }
    if let Some(r) = &status.reason {
        d.w(0, &format!("Reason:\t{r}\n"));
    }
    if let Some(m) = &status.message {
        d.w(0, &format!("Message:\t{m}\n"));
    }
    d.w(0, &format!("IP:\t{}\n", status.pod_ip.map(|i| i.to_string()).unwrap_or_default()));
    if status.pod_ips.is_empty() {
        d.w(0, "IPs:\t<none>\n");
    } else {
        d.w(0, "IPs:\n");
        for ip in &status.pod_ips {
            d.w(1, &format!("IP:\t{}\n", ip.ip));
        }
    }
    if let Some(o) = crate::controllers::pods::controller_of(&p.metadata) {
        d.w(0, &format!("Controlled By:\t{}/{}\n", o.kind, o.name));
    }
    d.w(0, "Containers:\n");
    for c in p.spec.containers.iter() {
        let st = status
            .container_statuses
            .iter()
            .flatten()
            .find(|s| s.name == c.name)
            .and_then(|s| serde_json::to_value(s).ok());
        describe_container(&mut d, c, st.as_ref(), now);
    }
    if !status.conditions.is_empty() {
        d.w(0, "Conditions:\n  Type\tStatus\n");
        for c in &status.conditions {
            d.w(1, &format!("{} \t{} \n", c.type_, c.status));
        }
    }
    d.w(0, "Volumes:\t<none>\n");
    d.w(0, &format!("QoS Class:\t{}\n", status.qos_class.clone().unwrap_or_else(|| "BestEffort".into())));
    d.w(
        0,
        &format!(
            "Node-Selectors:\t{}\n",
            if p.spec.node_selector.is_empty() {
                "<none>".into()
            } else {
                format_labels(&p.spec.node_selector)
            }
        ),
    );
    let tols: Vec<String> = p
        .spec
        .tolerations
        .as_ref()
        .and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .map(|t| {
                    let s = |f: &str| t.get(f).and_then(Value::as_str).unwrap_or("").to_string();
                    let mut line = s("key");
                    if !s("value").is_empty() {
                        line.push('=');
                        line.push_str(&s("value"));
                    }
                    if !s("effect").is_empty() {
                        line.push(':');
                        line.push_str(&s("effect"));
                    }
                    if s("operator") == "Exists" {
                        line.push_str(" op=Exists");
                    }
                    if let Some(secs) = t.get("tolerationSeconds").and_then(Value::as_i64) {
                        line.push_str(&format!(" for {secs}s"));
                    }
                    line
                })
                .collect()
        })
        .unwrap_or_default();
    if tols.is_empty() {
        d.w(0, "Tolerations:\t<none>\n");
    } else {
        for (i, t) in tols.iter().enumerate() {
            d.w(0, &format!("{}\t{t}\n", if i == 0 { "Tolerations:" } else { "" }));
        }
    }
    let _ = store;
    describe_events(&mut d, evs, now);
    d.finish()
}

fn describe_endpoints(e: &crate::api::Endpoints, evs: &[&Event], now: SimTime) -> String {
    let mut d = Doc::default();
    d.w(0, &format!("Name:\t{}\n", e.metadata.name));
    d.w(0, &format!("Namespace:\t{}\n", e.metadata.namespace));
    labels_multiline(&mut d, "Labels", &e.metadata.labels, "=");
    labels_multiline(&mut d, "Annotations", &e.metadata.annotations, ": ");
    d.w(0, "Subsets:\n");
    for s in &e.subsets {
        let list = |a: &[crate::api::EndpointAddress]| {
            let v: Vec<String> = a.iter().map(|x| x.ip.to_string()).collect();
            if v.is_empty() { "<none>".to_string() } else { v.join(",") }
        };
        d.w(1, &format!("Addresses:\t{}\n", list(&s.addresses)));
        d.w(1, &format!("NotReadyAddresses:\t{}\n", list(&s.not_ready_addresses)));
        if !s.ports.is_empty() {
            d.w(1, "Ports:\n");
            d.w(2, "Name\tPort\tProtocol\n");
            d.w(2, "----\t----\t--------\n");
            for p in &s.ports {
                let name = if p.name.is_empty() { "<unset>" } else { p.name.as_str() };
                d.w(
                    2,
                    &format!(
                        "{name}\t{}\t{}\n",
                        p.port,
                        p.protocol.clone().unwrap_or(crate::api::Protocol::TCP)
                    ),
                );
            }
        }
        d.w(0, "\n");
    }
    describe_events(&mut d, evs, now);
    d.finish()
}

/// `DescribePodTemplate`.
fn pod_template(d: &mut Doc, t: &crate::api::PodTemplateSpec) {
    d.w(0, "Pod Template:\n");
    labels_multiline(d, "  Labels", &t.metadata.labels, "=");
    if !t.metadata.annotations.is_empty() {
        labels_multiline(d, "  Annotations", &t.metadata.annotations, ": ");
    }
    d.w(1, &format!("Containers:{}\n", if t.spec.containers.is_empty() { " <none>" } else { "" }));
    for c in t.spec.containers.iter() {
        d.w(1, &format!(" {}:\n", c.name));
        d.w(2, &format!("Image:\t{}\n", c.image));
        describe_container_ports(d, &c.ports);
        if let Some(p) = &c.liveness_probe {
            d.w(2, &probe_string("Liveness", p));
        }
        if let Some(p) = &c.readiness_probe {
            d.w(2, &probe_string("Readiness", p));
        }
        if c.env.is_empty() {
            d.w(2, "Environment:\t<none>\n");
        } else {
            d.w(2, "Environment:\n");
            for e in &c.env {
                d.w(3, &format!("{}:\t{}\n", e.name, e.value.clone().unwrap_or_default()));
            }
        }
        d.w(2, "Mounts:\t<none>\n");
    }
    d.w(1, "Volumes:\t<none>\n");
    labels_multiline(d, "  Node-Selectors", &t.spec.node_selector, "=");
    d.w(1, &format!("Tolerations:\t{}\n", if t.spec.tolerations.is_some() { "<set>" } else { "<none>" }));
}

/// `Pods Status:` counts of the pods a workload controls.
fn pods_status(store: &ApiServer, ns: &str, kind: &str, name: &str) -> String {
    let mut counts = [0; 4];
    for o in store.list(Kind::Pod) {
        if let Object::Pod(p) = o
            && p.metadata.namespace == ns
            && crate::controllers::pods::owned_by(&p.metadata, kind, name)
        {
            let i = match crate::controllers::pods::phase(p) {
                "Running" => 0,
                "Pending" => 1,
                "Succeeded" => 2,
                "Failed" => 3,
                _ => continue,
            };
            counts[i] += 1;
        }
    }
    format!("{} Running / {} Waiting / {} Succeeded / {} Failed", counts[0], counts[1], counts[2], counts[3])
}

fn describe_workload(store: &ApiServer, obj: &Object, evs: &[&Event], now: SimTime) -> String {
    let mut d = Doc::default();
    let meta = obj.meta().cloned().unwrap_or_default();
    let ns = meta.namespace.clone();
    d.w(0, &format!("Name:\t{}\n", meta.name));
    d.w(0, &format!("Namespace:\t{ns}\n"));
    match obj {
        Object::ReplicaSet(rs) => {
            d.w(0, &format!("Selector:\t{}\n", selector_string(rs.spec.selector.as_ref())));
            labels_multiline(&mut d, "Labels", &meta.labels, "=");
            labels_multiline(&mut d, "Annotations", &meta.annotations, ": ");
            if let Some(o) = crate::controllers::pods::controller_of(&meta) {
                d.w(0, &format!("Controlled By:\t{}/{}\n", o.kind, o.name));
            }
            d.w(
                0,
                &format!(
                    "Replicas:\t{} current / {} desired\n",
                    rs.status.as_ref().and_then(|s| s.replicas).unwrap_or(0),
                    rs.spec.replicas.unwrap_or(1)
                ),
            );
            d.w(0, &format!("Pods Status:\t{}\n", pods_status(store, &ns, "ReplicaSet", &meta.name)));
            pod_template(&mut d, &rs.spec.template);
        }
        Object::StatefulSet(s) => {
            d.w(
                0,
                &format!(
                    "CreationTimestamp:\t{}\n",
                    meta.creation_timestamp.as_deref().map(rfc1123z).unwrap_or_default()
                ),
            );
            d.w(0, &format!("Selector:\t{}\n", selector_string(s.spec.selector.as_ref())));
            labels_multiline(&mut d, "Labels", &meta.labels, "=");
            labels_multiline(&mut d, "Annotations", &meta.annotations, ": ");
            d.w(
                0,
                &format!(
                    "Replicas:\t{} desired | {} total\n",
                    s.spec.replicas.unwrap_or(1),
                    st(&s.status, "replicas")
                ),
            );
            d.w(0, "Update Strategy:\tRollingUpdate\n");
            d.w(1, "Partition:\t0\n");
            d.w(0, &format!("Pods Status:\t{}\n", pods_status(store, &ns, "StatefulSet", &meta.name)));
            pod_template(&mut d, &s.spec.template);
            d.w(0, "Volume Claims:\t<none>\n");
        }
        Object::DaemonSet(ds) => {
            d.w(0, &format!("Selector:\t{}\n", selector_string(ds.spec.selector.as_ref())));
            d.w(0, &format!("Node-Selector:\t{}\n", format_labels(&ds.spec.template.spec.node_selector)));
            labels_multiline(&mut d, "Labels", &meta.labels, "=");
            labels_multiline(&mut d, "Annotations", &meta.annotations, ": ");
            d.w(
                0,
                &format!("Desired Number of Nodes Scheduled: {}\n", st(&ds.status, "desiredNumberScheduled")),
            );
            d.w(
                0,
                &format!("Current Number of Nodes Scheduled: {}\n", st(&ds.status, "currentNumberScheduled")),
            );
            d.w(
                0,
                &format!(
                    "Number of Nodes Scheduled with Up-to-date Pods: {}\n",
                    st(&ds.status, "updatedNumberScheduled")
                ),
            );
            d.w(
                0,
                &format!(
                    "Number of Nodes Scheduled with Available Pods: {}\n",
                    st(&ds.status, "numberAvailable")
                ),
            );
            d.w(0, &format!("Number of Nodes Misscheduled: {}\n", st(&ds.status, "numberMisscheduled")));
            d.w(0, &format!("Pods Status:\t{}\n", pods_status(store, &ns, "DaemonSet", &meta.name)));
            pod_template(&mut d, &ds.spec.template);
        }
        _ => {}
    }
    describe_events(&mut d, evs, now);
    d.finish()
}

fn describe_endpoint_slice(e: &crate::api::EndpointSlice, evs: &[&Event], now: SimTime) -> String {
    let mut d = Doc::default();
    d.w(0, &format!("Name:\t{}\n", e.metadata.name));
    d.w(0, &format!("Namespace:\t{}\n", e.metadata.namespace));
    labels_multiline(&mut d, "Labels", &e.metadata.labels, "=");
    labels_multiline(&mut d, "Annotations", &e.metadata.annotations, ": ");
    d.w(0, &format!("AddressType:\t{}\n", e.address_type.as_ref().map(|a| a.as_str()).unwrap_or("")));
    if e.ports.is_empty() {
        d.w(0, "Ports: <unset>\n");
    } else {
        d.w(0, "Ports:\n");
        d.w(1, "Name\tPort\tProtocol\n");
        d.w(1, "----\t----\t--------\n");
        for p in &e.ports {
            let name = p.name.as_deref().filter(|n| !n.is_empty()).unwrap_or("<unset>");
            let port = p.port.map(|n| n.to_string()).unwrap_or_else(|| "<unset>".into());
            d.w(1, &format!("{name}\t{port}\t{}\n", p.protocol.clone().unwrap_or(crate::api::Protocol::TCP)));
        }
    }
    if e.endpoints.is_empty() {
        d.w(0, "Endpoints: <none>\n");
    } else {
        d.w(0, "Endpoints:\n");
        for ep in &e.endpoints {
            let addrs = if ep.addresses.is_empty() { "<none>".to_string() } else { ep.addresses.join(", ") };
            d.w(1, &format!("- Addresses:\t{addrs}\n"));
            d.w(2, "Conditions:\n");
            let ready = ep.conditions.ready.map(|r| r.to_string()).unwrap_or_else(|| "<unset>".into());
            d.w(3, &format!("Ready:\t{ready}\n"));
            d.w(2, &format!("Hostname:\t{}\n", ep.hostname.as_deref().unwrap_or("<unset>")));
            if let Some(t) = &ep.target_ref {
                d.w(2, &format!("TargetRef:\t{}/{}\n", t.kind, t.name));
            }
            d.w(2, &format!("NodeName:\t{}\n", ep.node_name.as_deref().unwrap_or("<unset>")));
            d.w(2, &format!("Zone:\t{}\n", ep.zone.as_deref().unwrap_or("<unset>")));
        }
    }
    describe_events(&mut d, evs, now);
    d.finish()
}

fn st(status: &Option<Value>, field: &str) -> i64 {
    status.as_ref().and_then(|s| s.get(field)).and_then(Value::as_i64).unwrap_or(0)
}

fn describe_deployment(
    store: &ApiServer,
    dep: &crate::api::Deployment,
    evs: &[&Event],
    now: SimTime,
) -> String {
    let mut d = Doc::default();
    d.w(0, &format!("Name:\t{}\n", dep.metadata.name));
    d.w(0, &format!("Namespace:\t{}\n", dep.metadata.namespace));
    d.w(
        0,
        &format!(
            "CreationTimestamp:\t{}\n",
            dep.metadata.creation_timestamp.as_deref().map(rfc1123z).unwrap_or_default()
        ),
    );
    labels_multiline(&mut d, "Labels", &dep.metadata.labels, "=");
    labels_multiline(&mut d, "Annotations", &dep.metadata.annotations, ": ");
    d.w(0, &format!("Selector:\t{}\n", selector_string(dep.spec.selector.as_ref())));
    let want = dep.spec.replicas.unwrap_or(1);
    let status = dep.status.clone().unwrap_or_default();
    let count = |n: Option<i64>| n.unwrap_or(0);
    d.w(
        0,
        &format!(
            "Replicas:\t{want} desired | {} updated | {} total | {} available | {} unavailable\n",
            count(status.updated_replicas),
            count(status.replicas),
            count(status.available_replicas),
            count(status.unavailable_replicas)
        ),
    );
    let strategy = dep
        .spec
        .strategy
        .as_ref()
        .and_then(|s| s.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("RollingUpdate")
        .to_string();
    d.w(0, &format!("StrategyType:\t{strategy}\n"));
    d.w(0, &format!("MinReadySeconds:\t{}\n", dep.spec.min_ready_seconds.unwrap_or(0)));
    if strategy == "RollingUpdate" {
        d.w(0, "RollingUpdateStrategy:\t25% max unavailable, 25% max surge\n");
    }
    pod_template(&mut d, &dep.spec.template);
    let conds = status.conditions();
    if !conds.is_empty() {
        d.w(0, "Conditions:\n  Type\tStatus\tReason\n");
        d.w(1, "----\t------\t------\n");
        for c in conds {
            d.w(1, &format!("{} \t{}\t{}\n", c.type_, c.status, c.reason.as_deref().unwrap_or("")));
        }
    }
    let ns = crate::controllers::ns_of(&dep.metadata);
    let hash = crate::controllers::names::pod_template_hash(&dep.spec.template);
    let new_name = format!("{}-{hash}", dep.metadata.name);
    let mut old = Vec::new();
    let mut new = None;
    for o in store.list(Kind::ReplicaSet) {
        if let Object::ReplicaSet(rs) = o
            && rs.metadata.namespace == ns
            && crate::controllers::pods::owned_by(&rs.metadata, "Deployment", &dep.metadata.name)
        {
            let line = format!(
                "{} ({}/{} replicas created)",
                rs.metadata.name,
                rs.status.as_ref().and_then(|s| s.replicas).unwrap_or(0),
                rs.spec.replicas.unwrap_or(1)
            );
            if rs.metadata.name == new_name {
                new = Some(line);
            } else if rs.spec.replicas.unwrap_or(1) > 0
                || rs.status.as_ref().and_then(|s| s.replicas).unwrap_or(0) > 0
            {
                old.push(line);
            }
        }
    }
    d.w(
        0,
        &format!("OldReplicaSets:\t{}\n", if old.is_empty() { "<none>".to_string() } else { old.join(", ") }),
    );
    d.w(0, &format!("NewReplicaSet:\t{}\n", new.unwrap_or_else(|| "<none>".into())));
    describe_events(&mut d, evs, now);
    d.finish()
}

fn describe_node(store: &ApiServer, n: &crate::api::Node, evs: &[&Event], now: SimTime) -> String {
    let mut d = Doc::default();
    d.w(0, &format!("Name:\t{}\n", n.metadata.name));
    let roles: Vec<String> = n
        .metadata
        .labels
        .keys()
        .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
        .map(String::from)
        .collect();
    d.w(0, &format!("Roles:\t{}\n", if roles.is_empty() { "<none>".to_string() } else { roles.join(",") }));
    labels_multiline(&mut d, "Labels", &n.metadata.labels, "=");
    labels_multiline(&mut d, "Annotations", &n.metadata.annotations, ": ");
    d.w(
        0,
        &format!(
            "CreationTimestamp:\t{}\n",
            n.metadata.creation_timestamp.as_deref().map(rfc1123z).unwrap_or_default()
        ),
    );
    if n.spec.taints.is_empty() {
        d.w(0, "Taints:\t<none>\n");
    }
    for (i, t) in n.spec.taints.iter().enumerate() {
        let v = t.value.as_ref().map(|v| format!("={v}")).unwrap_or_default();
        d.w(0, &format!("{}\t{}{v}:{}\n", if i == 0 { "Taints:" } else { "" }, t.key, t.effect));
    }
    d.w(0, &format!("Unschedulable:\t{}\n", n.spec.unschedulable.unwrap_or(false)));
    let conds = n
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !conds.is_empty() {
        d.w(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n");
        d.w(1, "----\t------\t-----------------\t------------------\t------\t-------\n");
        for c in &conds {
            let s = |f: &str| c.get(f).and_then(Value::as_str).unwrap_or("").to_string();
            d.w(
                1,
                &format!(
                    "{} \t{} \t{} \t{} \t{} \t{}\n",
                    s("type"),
                    s("status"),
                    rfc1123z(&s("lastHeartbeatTime")),
                    rfc1123z(&s("lastTransitionTime")),
                    s("reason"),
                    s("message")
                ),
            );
        }
    }
    d.w(0, "Addresses:\n");
    for a in n.status.as_ref().map(|s| s.addresses.clone()).unwrap_or_default() {
        d.w(1, &format!("{}:\t{}\n", a.type_, a.address));
    }
    let cidr = n.spec.pod_cidr.clone().unwrap_or_default();
    d.w(0, &format!("PodCIDR:\t{cidr}\n"));
    let cidrs = if n.spec.pod_cidrs.is_empty() { cidr } else { n.spec.pod_cidrs.join(",") };
    d.w(0, &format!("PodCIDRs:\t{cidrs}\n"));
    let pods: Vec<&Pod> = store
        .list(Kind::Pod)
        .filter_map(|o| match o {
            Object::Pod(p)
                if p.spec.node_name == n.metadata.name && !crate::controllers::pods::is_terminal(p) =>
            {
                Some(p)
            }
            _ => None,
        })
        .collect();
    d.w(0, &format!("Non-terminated Pods:\t({} in total)\n", pods.len()));
    d.w(1, "Namespace\tName\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n");
    d.w(1, "---------\t----\t------------\t----------\t---------------\t-------------\t---\n");
    for p in pods {
        d.w(
            1,
            &format!(
                "{}\t{}\t0 (0%)\t0 (0%)\t0 (0%)\t0 (0%)\t{}\n",
                p.metadata.namespace,
                p.metadata.name,
                age(p.metadata.creation_timestamp.as_deref(), now)
            ),
        );
    }
    describe_events(&mut d, evs, now);
    d.finish()
}

/// `kubectl get events` (LAST SEEN, TYPE, REASON, OBJECT, MESSAGE).
pub fn get_events(events: &[Event], now: SimTime, opts: &GetOptions) -> KubectlOutput {
    let ns = opts.namespace.clone().unwrap_or_else(|| "default".into());
    let mut evs: Vec<&Event> = events
        .iter()
        .filter(|e| opts.all_namespaces || e.involved.namespace == ns || e.involved.namespace.is_empty())
        .collect();
    evs.sort_by_key(|e| e.last_seen);
    if evs.is_empty() {
        return KubectlOutput {
            stderr: if opts.all_namespaces {
                "No resources found\n".into()
            } else {
                format!("No resources found in {ns} namespace.\n")
            },
            ..Default::default()
        };
    }
    let mut header = vec!["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"];
    if opts.all_namespaces {
        header.insert(0, "NAMESPACE");
    }
    let rows: Vec<Vec<String>> = evs
        .iter()
        .map(|e| {
            let kind = e.involved.kind.kubectl_prefix().split('.').next().unwrap_or("").to_string();
            let mut r = vec![
                age(Some(&timestamp(e.last_seen)), now),
                e.type_.as_str().to_string(),
                e.reason.to_string(),
                format!("{kind}/{}", e.involved.name),
                e.message.clone(),
            ];
            if opts.all_namespaces {
                r.insert(0, e.involved.namespace.clone());
            }
            r
        })
        .collect();
    let header = (!opts.no_headers).then(|| header.into_iter().map(String::from).collect());
    KubectlOutput { stdout: super::get::render_table(header, rows), ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smart_labels_as_kubectl_writes_them() {
        assert_eq!(smart_label("lastTransitionTime"), "Last Transition Time");
        assert_eq!(smart_label("apiVersion"), "API Version");
        assert_eq!(smart_label("uid"), "UID");
        assert_eq!(smart_label("gatewayClassName"), "Gateway Class Name");
        assert_eq!(smart_label("HTTPRoute"), "HTTP Route");
        assert_eq!(smart_label("x.y"), "x.y");
    }

    #[test]
    fn secret_lists_sizes_in_key_order_and_a_service_account_token_in_full() {
        // describe.go describeSecret: sorted keys, decoded sizes; the token of a
        // service-account-token Secret is printed.
        let mut s = crate::api::Secret::default();
        s.metadata.name = "mysecret".into();
        s.metadata.namespace = "default".into();
        s.data.insert("username".into(), "YWRtaW4=".into());
        s.string_data.insert("password".into(), "s3cr3t!".into());
        s.store_defaults();
        assert_eq!(
            describe_secret(&s),
            "Name:         mysecret\nNamespace:    default\nLabels:       <none>\n\
             Annotations:  <none>\n\nType:  Opaque\n\nData\n====\npassword:  7 bytes\n\
             username:  5 bytes\n"
        );
        let mut t = crate::api::Secret {
            type_: Some("kubernetes.io/service-account-token".into()),
            ..Default::default()
        };
        t.data.insert("token".into(), data_encoding::BASE64.encode(b"eyJhbGciOi"));
        t.data.insert("ca.crt".into(), data_encoding::BASE64.encode(&[0u8; 1066]));
        let out = describe_secret(&t);
        assert!(out.ends_with("Data\n====\nca.crt:  1066 bytes\ntoken:   eyJhbGciOi\n"), "{out}");
    }

    #[test]
    fn config_map_shows_each_value_under_a_rule_and_binary_sizes() {
        // describe.go describeConfigMap.
        let mut c = crate::api::ConfigMap::default();
        c.metadata.name = "game-demo".into();
        c.metadata.namespace = "default".into();
        c.data.insert("lives".into(), "3".into());
        c.data.insert("game.properties".into(), "enemy.types=aliens\n".into());
        c.binary_data.insert("blob".into(), "AAEC".into());
        assert_eq!(
            describe_config_map(&c),
            "Name:         game-demo\nNamespace:    default\nLabels:       <none>\n\
             Annotations:  <none>\n\nData\n====\ngame.properties:\n----\nenemy.types=aliens\n\n\
             lives:\n----\n3\n\nBinaryData\n====\nblob: 3 bytes\n\n"
        );
    }

    #[test]
    fn endpoint_slices_three_then_more() {
        // describe_test.go expectations quoted in formats.md §1.10.
        use crate::api::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
        let ep = |ip: &str| Endpoint {
            addresses: vec![ip.into()],
            conditions: EndpointConditions { ready: Some(true), ..Default::default() },
            ..Default::default()
        };
        let port =
            vec![EndpointPort { name: Some("port-tcp".into()), port: Some(9527), ..Default::default() }];
        let a = EndpointSlice {
            endpoints: vec![ep("10.244.0.1"), ep("10.244.0.2"), ep("10.244.0.3")],
            ports: port.clone(),
            ..Default::default()
        };
        assert_eq!(
            format_endpoint_slices(&[&a], "port-tcp"),
            "10.244.0.1:9527,10.244.0.2:9527,10.244.0.3:9527"
        );
        let b = EndpointSlice {
            endpoints: vec![ep("10.244.0.4"), ep("10.244.0.5")],
            ports: port,
            ..Default::default()
        };
        assert_eq!(
            format_endpoint_slices(&[&a, &b], "port-tcp"),
            "10.244.0.1:9527,10.244.0.2:9527,10.244.0.3:9527 + 2 more..."
        );
        assert_eq!(format_endpoint_slices(&[], "port-tcp"), "<none>");
    }

    #[test]
    fn rfc1123_dates() {
        assert_eq!(rfc1123z("2024-01-01T00:00:00Z"), "Mon, 01 Jan 2024 00:00:00 +0000");
        assert_eq!(rfc1123z("2024-02-29T13:05:09Z"), "Thu, 29 Feb 2024 13:05:09 +0000");
    }
}
