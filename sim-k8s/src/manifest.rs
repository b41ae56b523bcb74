//! Loading Kubernetes manifests the way `kubectl apply -f` reads them: files, directories
//! (recursive, `.yaml`/`.yml`/`.json`, sorted), or text from stdin; multi-document streams;
//! `kind: List`. Two passes per document: `tree` parses YAML into located nodes, then the
//! (apiVersion, kind) pair picks a type and `decode` fills it, so every error names
//! `file:line:column` and a field path. Unknown fields are reported all at once, as with
//! `kubectl --validate=strict`. Kinds netsim does not simulate (Secret, CRDs, ...)
//! are listed in `not_simulated`, never dropped silently and never fatal. Hostile input is
//! bounded: a size cap per source plus serde-saphyr budgets (aliases, depth, node count).
//! Left out: `kubectl` flags such as `-k` (kustomize) and URLs.

mod block_yaml;
pub mod budget;
pub mod decode;
pub mod tree;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::api::object::Resolution;
use crate::api::{Kind, Object};
pub use decode::FieldSpans;
pub use tree::Loc;
use tree::{Node, Value};

/// Largest manifest source accepted, in bytes. One object sent to an API server is capped at
/// 3 MiB, but a file here may be a whole cluster's `kubectl get -o yaml` dump: at the Kubernetes
/// envelope (150,000 pods) that is several hundred MB. Past this, the load stops with a clear
/// error instead of exhausting memory.
pub const MAX_SOURCE_BYTES: usize = 1024 * 1024 * 1024;

/// Where manifests come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A file, or a directory walked recursively.
    Path(PathBuf),
    /// In-memory text (stdin is named `STDIN`, like kubectl).
    Text {
        /// Name used in locations.
        name: String,
        /// The manifest text.
        text: String,
    },
}

impl Source {
    /// A text source.
    pub fn text(name: &str, text: &str) -> Self {
        Source::Text { name: name.to_string(), text: text.to_string() }
    }
}

/// Where a loaded document starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// File name as given (or `STDIN`).
    pub file: String,
    /// Zero-based document index within the file.
    pub document: usize,
    /// Position of the object (the document root, or the `items[]` entry of a List).
    pub loc: Loc,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.loc)
    }
}

/// A loaded object with its source position and the positions of its fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded<T> {
    /// The typed value.
    pub value: T,
    /// Where it came from.
    pub origin: Origin,
    /// Field path → position, for pointing validation errors at the source.
    pub spans: FieldSpans,
}

impl<T> Loaded<T> {
    /// The position of a field path (or its nearest ancestor) in the source. Paths the API
    /// server reports under another spelling than users write (`spec.clusterIPs` for a
    /// `clusterIP` mistake, Go's `spec.LoadBalancerSourceRanges`) fall back to that spelling.
    pub fn locate(&self, path: &str) -> Loc {
        const ALIASES: &[(&str, &str)] = &[
            ("spec.clusterIPs", "spec.clusterIP"),
            ("spec.LoadBalancerSourceRanges", "spec.loadBalancerSourceRanges"),
        ];
        if let Some(yaml) = kube_proxy_yaml_path(path) {
            return self.spans.locate(&yaml).unwrap_or(self.origin.loc);
        }
        let mut best = self.spans.locate(path);
        for (server, user) in ALIASES {
            if let Some(rest) = path.strip_prefix(server)
                && !self.spans.contains(server)
            {
                let alias =
                    if *server == "spec.clusterIPs" { user.to_string() } else { format!("{user}{rest}") };
                if let Some(l) = self.spans.locate(&alias) {
                    best = Some(l);
                }
            }
        }
        best.unwrap_or(self.origin.loc)
    }
}

/// kube-proxy reports Go field names (`KubeProxyConfiguration.KubeProxyIPTablesConfiguration.
/// SyncPeriod`); this maps them back to the YAML path (`iptables.syncPeriod`).
fn kube_proxy_yaml_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("KubeProxyConfiguration.")?;
    let mut parts: Vec<String> = Vec::new();
    // Upstream names the scheduler `KubeProxyIPVSConfiguration.Scheduler.Scheduler`.
    let rest = rest.replace("Scheduler.Scheduler", "Scheduler");
    for seg in rest.split('.') {
        let mapped = match seg {
            "KubeProxyIPTablesConfiguration" => "iptables".to_string(),
            "KubeProxyConntrackConfiguration" => "conntrack".to_string(),
            "KubeProxyIPVSConfiguration" => "ipvs".to_string(),
            "Mode" => "mode".to_string(),
            "ProxyMode" => continue,
            "ExcludeCidrs" => "excludeCIDRs".to_string(),
            other => go_field_to_json(other),
        };
        parts.push(mapped);
    }
    Some(parts.join("."))
}

/// `TCPEstablishedTimeout` ⇒ `tcpEstablishedTimeout`, `ClusterCIDR` ⇒ `clusterCIDR`.
fn go_field_to_json(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let run = chars.iter().take_while(|c| c.is_ascii_uppercase()).count();
    // Lower-case the leading capitals, except the last one when it starts the next word.
    let lower = if run > 1 && run < chars.len() { run - 1 } else { run };
    chars.iter().enumerate().map(|(i, c)| if i < lower { c.to_ascii_lowercase() } else { *c }).collect()
}

/// A document of a kind netsim does not simulate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotSimulated {
    /// `kind` as written.
    pub kind: String,
    /// `apiVersion` as written.
    pub api_version: String,
    /// `metadata.namespace` (may be empty).
    pub namespace: String,
    /// `metadata.name` (may be empty).
    pub name: String,
    /// Where it is.
    pub origin: Origin,
}

impl fmt::Display for NotSimulated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = if self.namespace.is_empty() { String::new() } else { format!("{}/", self.namespace) };
        write!(
            f,
            "{}: {} {}{} ({}) is not simulated",
            self.origin, self.kind, ns, self.name, self.api_version
        )
    }
}

/// What class of problem a [`LoadError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LoadErrorKind {
    /// The file could not be read.
    Io,
    /// The source is larger than [`MAX_SOURCE_BYTES`].
    TooLarge,
    /// YAML syntax error or a parser budget (alias bomb, depth) was exceeded.
    Syntax,
    /// The document is not an object with apiVersion and kind.
    Shape,
    /// A value has the wrong type.
    Type,
    /// A field the type does not declare (strict decoding).
    UnknownField,
    /// The API server's validation rejected the object.
    Invalid,
}

/// One loading error, positioned in its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// File name (or `STDIN`).
    pub file: String,
    /// Position, when known.
    pub loc: Option<Loc>,
    /// Field path (`spec.ports[1].nodePort`), empty when not about a field.
    pub field: String,
    /// What went wrong.
    pub message: String,
    /// Class of error.
    pub kind: LoadErrorKind,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.loc {
            write!(f, ":{}:{}", l.line, l.column)?;
        }
        if self.field.is_empty() || matches!(self.kind, LoadErrorKind::UnknownField | LoadErrorKind::Shape) {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for LoadError {}

/// Everything one load produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadOutcome {
    /// Typed objects of simulated kinds, in source order.
    pub objects: Vec<Loaded<Object>>,
    /// Documents of kinds that are not simulated.
    pub not_simulated: Vec<NotSimulated>,
    /// Every error, in source order.
    pub errors: Vec<LoadError>,
    /// Fields accepted but ignored (server bookkeeping from `-o yaml` dumps), in source order.
    pub ignored: Vec<IgnoredField>,
}

/// A field that was accepted and deliberately ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoredField {
    /// File name.
    pub file: String,
    /// Position of the field.
    pub loc: Loc,
    /// Field path (`metadata.managedFields`).
    pub field: String,
    /// Why it has no effect.
    pub reason: IgnoredReason,
}

/// Why an accepted field has no effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IgnoredReason {
    /// Server-side bookkeeping from `-o yaml` dumps.
    Bookkeeping,
    /// A scheduling constraint the simulated scheduler does not apply.
    NotScheduled,
}

impl IgnoredReason {
    fn text(self) -> &'static str {
        match self {
            IgnoredReason::Bookkeeping => "server-side bookkeeping, not simulated",
            IgnoredReason::NotScheduled => {
                "not simulated: the scheduler places pods by nodeSelector, taints and pod count only"
            }
        }
    }
}

impl IgnoredField {
    /// True for a field whose absence of effect a user would notice (a scheduling constraint),
    /// reported on every load; server bookkeeping from dumps is not.
    pub fn changes_behaviour(&self) -> bool {
        self.reason != IgnoredReason::Bookkeeping
    }
}

impl fmt::Display for IgnoredField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: ignored ({})", self.file, self.loc, self.field, self.reason.text())
    }
}

/// Fields netsim accepts without using, and why: metadata real dumps carry, and scheduling
/// constraints the simulated scheduler does not apply (it places pods by node selector, taints
/// and pod count), named so a user does not expect their spread.
const IGNORED_FIELDS: &[(&str, IgnoredReason)] = &[
    ("metadata.managedFields", IgnoredReason::Bookkeeping),
    ("metadata.selfLink", IgnoredReason::Bookkeeping),
    ("metadata.clusterName", IgnoredReason::Bookkeeping),
    ("spec.affinity", IgnoredReason::NotScheduled),
    ("spec.topologySpreadConstraints", IgnoredReason::NotScheduled),
    ("spec.template.spec.affinity", IgnoredReason::NotScheduled),
    ("spec.template.spec.topologySpreadConstraints", IgnoredReason::NotScheduled),
];

impl LoadOutcome {
    /// True if there were no errors.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Loads every source; never panics and never stops at the first error.
pub fn load(sources: &[Source]) -> LoadOutcome {
    let mut out = LoadOutcome::default();
    for source in sources {
        match source {
            Source::Text { name, text } => load_text_into(name, text, &mut out),
            Source::Path(p) => load_path(p, &mut out),
        }
    }
    out
}

/// Loads one in-memory text.
pub fn load_str(name: &str, text: &str) -> LoadOutcome {
    let mut out = LoadOutcome::default();
    load_text_into(name, text, &mut out);
    out
}

fn io_error(file: &str, message: String) -> LoadError {
    LoadError { file: file.to_string(), loc: None, field: String::new(), message, kind: LoadErrorKind::Io }
}

fn load_path(path: &Path, out: &mut LoadOutcome) {
    let name = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            out.errors.push(io_error(&name, format!("the path \"{name}\" does not exist ({e})")));
            return;
        }
    };
    if meta.is_dir() {
        let mut files = Vec::new();
        collect_dir(path, &mut files, out, 0);
        files.sort();
        for f in files {
            load_file(&f, out);
        }
    } else {
        load_file(path, out);
    }
}

fn collect_dir(dir: &Path, files: &mut Vec<PathBuf>, out: &mut LoadOutcome, depth: usize) {
    if depth > 32 {
        out.errors.push(io_error(&dir.display().to_string(), "directory nesting is too deep".to_string()));
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            out.errors.push(io_error(&dir.display().to_string(), format!("cannot read directory: {e}")));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            collect_dir(&p, files, out, depth + 1);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
            files.push(p);
        }
    }
}

fn load_file(path: &Path, out: &mut LoadOutcome) {
    let name = path.display().to_string();
    if let Ok(m) = std::fs::metadata(path)
        && m.len() > MAX_SOURCE_BYTES as u64
    {
        out.errors.push(too_large(&name, m.len() as usize));
        return;
    }
    // Read through the cap, not the length asked in advance: a device or a growing file has
    // no honest length.
    match std::fs::File::open(path) {
        Ok(f) => match budget::read_capped(&name, f, MAX_SOURCE_BYTES) {
            Ok(text) => load_text_into(&name, &text, out),
            Err(e) => out.errors.push(e),
        },
        Err(e) => out.errors.push(io_error(&name, format!("cannot read file: {e}"))),
    }
}

fn too_large(name: &str, len: usize) -> LoadError {
    LoadError {
        file: name.to_string(),
        loc: None,
        field: String::new(),
        message: format!("manifest is too large: {len} bytes (limit {MAX_SOURCE_BYTES} bytes)"),
        kind: LoadErrorKind::TooLarge,
    }
}

/// Stack for the parsing thread: serde recursion per nesting level is deep in debug builds,
/// and callers (test harness threads) may have small stacks. Only touched pages are committed.
const PARSE_STACK_BYTES: usize = 64 * 1024 * 1024;

fn load_text_into(name: &str, text: &str, out: &mut LoadOutcome) {
    if text.len() > MAX_SOURCE_BYTES {
        out.errors.push(too_large(name, text.len()));
        return;
    }
    let result = std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("manifest-parse".to_string())
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, || {
                let mut part = LoadOutcome::default();
                load_text_on_this_thread(name, text, &mut part);
                part
            });
        spawned.map(|h| h.join())
    });
    match result {
        Ok(Ok(part)) => {
            out.objects.extend(part.objects);
            out.not_simulated.extend(part.not_simulated);
            out.errors.extend(part.errors);
            out.ignored.extend(part.ignored);
        }
        // The OS refused a thread: parse here (budgets still bound the depth).
        Err(_) => load_text_on_this_thread(name, text, out),
        Ok(Err(_)) => out.errors.push(LoadError {
            file: name.to_string(),
            loc: None,
            field: String::new(),
            message: "internal error while parsing this file".to_string(),
            kind: LoadErrorKind::Syntax,
        }),
    }
}

fn load_text_on_this_thread(name: &str, text: &str, out: &mut LoadOutcome) {
    for doc in tree::parse_stream(text) {
        match doc.result {
            Err(e) => out.errors.push(LoadError {
                file: name.to_string(),
                loc: e.loc,
                field: String::new(),
                message: e.message,
                kind: LoadErrorKind::Syntax,
            }),
            Ok(None) => {}
            Ok(Some(node)) => load_document(name, doc.index, &node, "", out),
        }
    }
}

fn shape_error(file: &str, loc: Loc, field: &str, message: String) -> LoadError {
    LoadError {
        file: file.to_string(),
        loc: Some(loc),
        field: field.to_string(),
        message,
        kind: LoadErrorKind::Shape,
    }
}

fn load_document(file: &str, index: usize, node: &Node, prefix: &str, out: &mut LoadOutcome) {
    let origin = Origin { file: file.to_string(), document: index, loc: node.loc };
    if !matches!(node.value, Value::Map(_)) {
        out.errors.push(shape_error(
            file,
            node.loc,
            prefix,
            format!("expected an object with apiVersion and kind, found {}", node.value.describe()),
        ));
        return;
    }
    let field = |n: &str| if prefix.is_empty() { n.to_string() } else { format!("{prefix}.{n}") };
    let text_of = |key: &str| -> Result<String, LoadError> {
        match node.get(key) {
            None => Err(shape_error(file, node.loc, &field(key), format!("{key} not set"))),
            Some(n) => match &n.value {
                Value::Str(s) if !s.is_empty() => Ok(s.clone()),
                Value::Str(_) | Value::Null => {
                    Err(shape_error(file, n.loc, &field(key), format!("{key} not set")))
                }
                other => Err(LoadError {
                    file: file.to_string(),
                    loc: Some(n.loc),
                    field: field(key),
                    message: format!("expected a string, found {}", other.describe()),
                    kind: LoadErrorKind::Type,
                }),
            },
        }
    };
    let (api_version, kind) = match (text_of("apiVersion"), text_of("kind")) {
        (Ok(a), Ok(k)) => (a, k),
        (a, k) => {
            out.errors.extend(a.err());
            out.errors.extend(k.err());
            return;
        }
    };
    if kind == "List" || kind.ends_with("List") && api_version == "v1" && node.get("items").is_some() {
        load_list(file, index, node, prefix, out);
        return;
    }
    let kind_enum = match Kind::resolve(&api_version, &kind) {
        Resolution::Simulated(k) => k,
        Resolution::WrongVersion(_) => {
            let loc = node.get("apiVersion").map(|n| n.loc).unwrap_or(node.loc);
            out.errors.push(shape_error(
                file,
                loc,
                &field("apiVersion"),
                format!("no matches for kind \"{kind}\" in version \"{api_version}\""),
            ));
            return;
        }
        Resolution::NotSimulated if !crate::api::builtin_kinds::is_known(&api_version, &kind) => {
            // A kind no API group serves (a typo of a built-in kind, a kind in the wrong
            // built-in group): the REST mapper's answer, as kubectl prints it.
            let loc = node.get("kind").map(|n| n.loc).unwrap_or(node.loc);
            out.errors.push(shape_error(
                file,
                loc,
                &field("kind"),
                format!("no matches for kind \"{kind}\" in version \"{api_version}\""),
            ));
            return;
        }
        Resolution::NotSimulated => {
            let meta = node.get("metadata");
            let text = |k: &str| meta.and_then(|m| m.get(k)).and_then(Node::as_str).unwrap_or("").to_string();
            out.not_simulated.push(NotSimulated {
                kind,
                api_version,
                namespace: text("namespace"),
                name: text("name"),
                origin,
            });
            return;
        }
    };
    let decoded = match kind_enum {
        Kind::Namespace => typed(node, Object::Namespace),
        Kind::Node => typed(node, Object::Node),
        Kind::Pod => typed(node, Object::Pod),
        Kind::Deployment => typed(node, Object::Deployment),
        Kind::ReplicaSet => typed(node, Object::ReplicaSet),
        Kind::StatefulSet => typed(node, Object::StatefulSet),
        Kind::DaemonSet => typed(node, Object::DaemonSet),
        Kind::Service => typed(node, Object::Service),
        Kind::Endpoints => typed(node, Object::Endpoints),
        Kind::EndpointSlice => typed(node, Object::EndpointSlice),
        Kind::Ingress => typed(node, Object::Ingress),
        Kind::IngressClass => typed(node, Object::IngressClass),
        Kind::ServiceCidr => typed(node, Object::ServiceCidr),
        Kind::ConfigMap => typed(node, Object::ConfigMap),
        Kind::Secret => typed(node, Object::Secret),
        Kind::ValidatingWebhookConfiguration => typed(node, Object::ValidatingWebhookConfiguration),
        Kind::CustomResourceDefinition => typed(node, Object::CustomResourceDefinition),
        Kind::GatewayClass => typed(node, Object::GatewayClass),
        Kind::Gateway => typed(node, Object::Gateway),
        Kind::HttpRoute => typed(node, Object::HttpRoute),
        Kind::ReferenceGrant => typed(node, Object::ReferenceGrant),
        Kind::KubeProxyConfiguration => typed(node, Object::KubeProxyConfiguration),
        Kind::KubeletConfiguration => typed(node, Object::KubeletConfiguration),
    };
    let mut decoded = decoded;
    // A kubelet config file's other settings (cgroupDriver, authentication, ...) are the
    // kubelet's, not unknown: kept by name, reported as not simulated.
    let mut kubelet_other = Vec::new();
    if kind_enum == Kind::KubeletConfiguration {
        let (top, nested): (Vec<_>, Vec<_>) =
            std::mem::take(&mut decoded.unknown).into_iter().partition(|u| !u.path.contains(['.', '[']));
        kubelet_other = top.into_iter().map(|u| u.path).collect();
        decoded.unknown = nested;
    }
    // Unknown fields and every type error, in source order, all reported at once.
    let mut errors: Vec<LoadError> = decoded
        .unknown
        .into_iter()
        .map(|u| {
            let path = field(&u.path);
            LoadError {
                file: file.to_string(),
                loc: Some(u.loc),
                message: format!("unknown field \"{path}\""),
                field: path,
                kind: LoadErrorKind::UnknownField,
            }
        })
        .collect();
    let type_error = |e: decode::DecodeError| LoadError {
        file: file.to_string(),
        loc: e.loc.or(Some(node.loc)),
        field: if e.path.is_empty() { prefix.to_string() } else { field(&e.path) },
        message: e.message,
        kind: LoadErrorKind::Type,
    };
    let recovered = !decoded.recovered.is_empty();
    errors.extend(decoded.recovered.into_iter().map(type_error));
    let value = match decoded.value {
        Ok(v) => Some(v),
        // A failure after a recovered type error is usually its echo (a zero value that
        // does not parse); report it only when it stands alone.
        Err(_) if recovered => None,
        Err(e) => {
            errors.push(type_error(e));
            None
        }
    };
    errors.sort_by_key(|e| e.loc);
    match value {
        Some(mut obj) if errors.is_empty() => {
            obj.set_type_meta(&api_version);
            if let Object::KubeletConfiguration(k) = &mut obj {
                k.other = kubelet_other;
            }
            let first = out.ignored.len();
            for (f, reason) in IGNORED_FIELDS {
                if let Some(loc) = decoded.spans.contains(f).then(|| decoded.spans.locate(f)).flatten() {
                    out.ignored.push(IgnoredField {
                        file: file.to_string(),
                        loc,
                        field: field(f),
                        reason: *reason,
                    });
                }
            }
            out.ignored[first..].sort_by_key(|f| f.loc);
            out.objects.push(Loaded { value: obj, origin, spans: decoded.spans });
        }
        _ => out.errors.extend(errors),
    }
}

fn typed<T: DeserializeOwned>(node: &Node, wrap: fn(T) -> Object) -> decode::Decoded<Object> {
    let d = decode::decode::<T>(node);
    decode::Decoded { value: d.value.map(wrap), recovered: d.recovered, unknown: d.unknown, spans: d.spans }
}

fn load_list(file: &str, index: usize, node: &Node, prefix: &str, out: &mut LoadOutcome) {
    let items_path = if prefix.is_empty() { "items".to_string() } else { format!("{prefix}.items") };
    if let Value::Map(entries) = &node.value {
        for (k, _) in entries {
            let key = k.key_text().unwrap_or_default();
            if !matches!(key.as_str(), "apiVersion" | "kind" | "items" | "metadata") {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                out.errors.push(LoadError {
                    file: file.to_string(),
                    loc: Some(k.loc),
                    message: format!("unknown field \"{path}\""),
                    field: path,
                    kind: LoadErrorKind::UnknownField,
                });
            }
        }
    }
    match node.get("items").map(|n| &n.value) {
        None | Some(Value::Null) => {}
        Some(Value::Seq(items)) => {
            for (i, item) in items.iter().enumerate() {
                load_document(file, index, item, &format!("{items_path}[{i}]"), out);
            }
        }
        Some(other) => out.errors.push(LoadError {
            file: file.to_string(),
            loc: node.get("items").map(|n| n.loc),
            field: items_path,
            message: format!("expected a list, found {}", other.describe()),
            kind: LoadErrorKind::Type,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_configuration_keeps_its_other_settings_by_name() {
        let out = load_str(
            "kubelet.yaml",
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n\
             authentication:\n  anonymous:\n    enabled: false\nclusterDNS: [10.96.0.10]\nclusterDomain: corp.example\n",
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let Some(Object::KubeletConfiguration(k)) = out.objects.first().map(|l| &l.value) else {
            panic!("not a KubeletConfiguration: {:?}", out.objects)
        };
        assert_eq!(k.other, vec!["cgroupDriver".to_string(), "authentication".to_string()]);
        assert_eq!(k.cluster_dns.as_deref(), Some(&["10.96.0.10".to_string()][..]));
        assert_eq!(k.cluster_domain.as_deref(), Some("corp.example"));
        assert!(out.not_simulated.is_empty());
    }

    #[test]
    fn loads_simulated_and_lists_the_rest() {
        let out = load_str(
            "a.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: 80\n---\n\
             apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: cm\n  namespace: x\nsecrets: []\n",
        );
        assert!(out.is_ok(), "{:?}", out.errors);
        assert_eq!(out.objects.len(), 1);
        assert_eq!(out.objects[0].value.kind(), Kind::Service);
        assert_eq!(out.objects[0].value.api_version(), "v1");
        assert_eq!(out.not_simulated.len(), 1);
        assert_eq!(out.not_simulated[0].to_string(), "a.yaml:9:1: ServiceAccount x/cm (v1) is not simulated");
    }

    #[test]
    fn unknown_fields_render_like_kubectl_strict() {
        let out =
            load_str("svc.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  portz: 1\n");
        let msgs: Vec<String> = out.errors.iter().map(ToString::to_string).collect();
        assert_eq!(msgs, vec!["svc.yaml:6:3: unknown field \"spec.portz\"".to_string()]);
        assert!(out.objects.is_empty());
    }

    #[test]
    fn go_field_names_map_to_json() {
        assert_eq!(go_field_to_json("TCPEstablishedTimeout"), "tcpEstablishedTimeout");
        assert_eq!(go_field_to_json("ClusterCIDR"), "clusterCIDR");
        assert_eq!(go_field_to_json("MaxPerCore"), "maxPerCore");
        assert_eq!(go_field_to_json("IP"), "ip");
        assert_eq!(
            kube_proxy_yaml_path("KubeProxyConfiguration.KubeProxyIPTablesConfiguration.SyncPeriod")
                .as_deref(),
            Some("iptables.syncPeriod")
        );
        assert_eq!(kube_proxy_yaml_path("KubeProxyConfiguration.Mode.ProxyMode").as_deref(), Some("mode"));
        assert_eq!(
            kube_proxy_yaml_path("KubeProxyConfiguration.KubeProxyIPVSConfiguration.Scheduler.Scheduler")
                .as_deref(),
            Some("ipvs.scheduler")
        );
        assert_eq!(
            kube_proxy_yaml_path("KubeProxyConfiguration.KubeProxyIPVSConfiguration.ExcludeCidrs").as_deref(),
            Some("ipvs.excludeCIDRs")
        );
        assert_eq!(
            kube_proxy_yaml_path("KubeProxyConfiguration.KubeProxyIPVSConfiguration.TCPFinTimeout")
                .as_deref(),
            Some("ipvs.tcpFinTimeout")
        );
    }

    #[test]
    fn list_items_are_loaded_with_prefixed_paths() {
        let out = load_str(
            "l.yaml",
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: a\n\
             - apiVersion: v1\n  kind: Service\n  spek: {}\n",
        );
        assert_eq!(out.objects.len(), 1);
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].to_string(), "l.yaml:10:3: unknown field \"items[1].spek\"");
    }
}
