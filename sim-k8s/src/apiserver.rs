//! The in-memory API server: a store of typed objects keyed by (kind, namespace, name) in
//! ordered maps, with the verbs kubectl uses — `create`, `apply`, `replace`, `patch`, `scale`,
//! `delete` — and the server's pipeline on every write: namespace defaulting, `generateName`,
//! existence checks, defaulting (`defaults`), validation (`crate::validation`), allocation of
//! ClusterIPs, node ports and pod CIDRs (`allocator`, seeded `SimRng` streams forked per
//! purpose), then uid/resourceVersion/creationTimestamp. Every successful write appends to a
//! change log (Added/Modified/Deleted) that controllers consume like a watch. Errors carry the
//! API status reason and render exactly as kubectl prints them (`Error from server
//! (AlreadyExists): services "x" already exists`, `The Service "x" is invalid: ...`).
//! Left out: admission plugins, RBAC, field managers (apply is a two-way merge that keeps
//! server-allocated fields), optimistic concurrency on resourceVersion.

mod admission;
pub mod allocator;
pub mod defaults;
pub mod index;
pub mod naming;
pub mod object_map;
pub mod patch;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
use std::rc::Rc;

use ipnet::{IpNet, Ipv4Net};
use sim_core::{SimRng, SimTime};

use crate::api::workload::Workload;
use crate::api::{
    ClusterIp, EndpointAddress, EndpointSubset, Endpoints, EndpointsPort, IntOrString, Kind, Namespace,
    Object, ObjectKey, ObjectMeta, ObjectStatus, Protocol, Service, ServicePort, ServiceType, TrafficPolicy,
};
use crate::manifest::{LoadError, LoadErrorKind, Loaded, Origin};
use crate::validation::{self, BadValue, FieldError, go_quote, go_string_slice};
use allocator::{AllocError, ClusterIpAllocator, NodePortAllocator, PodCidrAllocator};
pub use patch::PatchType;

/// API server flags that shape allocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiServerConfig {
    /// `--service-cluster-ip-range` (default 10.96.0.0/12).
    pub service_cidr: Ipv4Net,
    /// `--service-node-port-range` (default 30000-32767).
    pub node_port_range: (u16, u16),
    /// Controller manager `--cluster-cidr` (default 10.244.0.0/16).
    pub cluster_cidr: IpNet,
    /// Controller manager `--node-cidr-mask-size` (default 24).
    pub node_cidr_mask: u8,
    /// Unix time of simulated time zero, for creationTimestamp (default 2024-01-01T00:00:00Z).
    pub epoch_unix_secs: i64,
    /// Reject namespaced objects whose Namespace does not exist, as the real server does.
    pub require_namespaces: bool,
}

impl Default for ApiServerConfig {
    fn default() -> Self {
        ApiServerConfig {
            service_cidr: Ipv4Net::new(std::net::Ipv4Addr::new(10, 96, 0, 0), 12).unwrap_or_default(),
            node_port_range: (30000, 32767),
            cluster_cidr: IpNet::V4(
                Ipv4Net::new(std::net::Ipv4Addr::new(10, 244, 0, 0), 16).unwrap_or_default(),
            ),
            node_cidr_mask: 24,
            epoch_unix_secs: 1_704_067_200,
            require_namespaces: true,
        }
    }
}

/// Namespaces every cluster starts with.
pub const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];

/// What a watch event says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeType {
    /// Created.
    Added,
    /// Updated (spec, metadata or status).
    Modified,
    /// Removed.
    Deleted,
}

/// One entry of the change log.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Position in the log, from 1.
    pub seq: u64,
    /// What happened.
    pub change: ChangeType,
    /// Which object.
    pub key: ObjectKey,
    /// The object's resourceVersion after the change (the last one for deletions).
    pub resource_version: u64,
    /// The object as it was before the change, for deletions and for updates that changed its
    /// labels or owner references (an informer's `OnUpdate(old, new)`), so watchers can find
    /// what it was related to; None otherwise.
    pub old: Option<std::rc::Rc<Object>>,
    /// Where the store held the object when the change was logged: a watcher's read of the
    /// changed object ([`ApiServer::get_changed`]) goes straight there, no hash of the key.
    pub(crate) slot: object_map::Slot,
}

/// The outcome of `apply`, printed by kubectl after `type/name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyResult {
    /// `created`.
    Created,
    /// `configured`.
    Configured,
    /// `unchanged`.
    Unchanged,
}

/// kubectl's one-line confirmations for the other verbs.
pub mod messages {
    use super::{ApplyResult, ObjectKey};

    /// `kubectl delete`: `service "x" deleted`.
    pub fn deleted(key: &ObjectKey) -> String {
        format!("{} {} deleted\n", key.kind.kubectl_prefix(), crate::validation::go_quote(&key.name))
    }

    /// `kubectl scale`: `deployment.apps/x scaled`.
    pub fn scaled(key: &ObjectKey) -> String {
        format!("{key} scaled\n")
    }

    /// `kubectl patch`: `service/x patched` or `service/x patched (no change)`.
    pub fn patched(key: &ObjectKey, result: ApplyResult) -> String {
        match result {
            ApplyResult::Unchanged => format!("{key} patched (no change)\n"),
            _ => format!("{key} patched\n"),
        }
    }

    /// `kubectl replace`: `service/x replaced`.
    pub fn replaced(key: &ObjectKey) -> String {
        format!("{key} replaced\n")
    }

    /// `kubectl apply` / `create`: `service/x created|configured|unchanged`.
    pub fn applied(key: &ObjectKey, result: ApplyResult) -> String {
        format!("{key} {result}\n")
    }
}

impl fmt::Display for ApplyResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApplyResult::Created => "created",
            ApplyResult::Configured => "configured",
            ApplyResult::Unchanged => "unchanged",
        })
    }
}

/// An API error with its HTTP status reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 409 AlreadyExists.
    #[error("{} {} already exists", kind.resource(), go_quote(name))]
    AlreadyExists {
        /// Kind.
        kind: Kind,
        /// Name.
        name: String,
    },
    /// 404 NotFound.
    #[error("{} {} not found", kind.resource(), go_quote(name))]
    NotFound {
        /// Kind.
        kind: Kind,
        /// Name.
        name: String,
    },
    /// 422 Invalid.
    #[error("{} {} is invalid: {}", kind.as_str(), go_quote(name), aggregate(errors))]
    Invalid {
        /// Kind.
        kind: Kind,
        /// Name.
        name: String,
        /// The field errors, in the server's order.
        errors: Vec<FieldError>,
    },
    /// 400 BadRequest.
    #[error("{message}")]
    BadRequest {
        /// What is wrong.
        message: String,
    },
    /// The REST mapper found no resource for a custom kind: its CRD is not installed (or does
    /// not serve that version). kubectl says so before sending anything.
    #[error("no matches for kind {} in version {}", go_quote(kind), go_quote(api_version))]
    NoKindMatch {
        /// `kind` as written.
        kind: String,
        /// `apiVersion` as written.
        api_version: String,
        /// `metadata.name`.
        name: String,
        /// `metadata.namespace` as written (may be empty).
        namespace: String,
    },
    /// 500 InternalError (a validating webhook that could not be called).
    #[error("Internal error occurred: {message}")]
    InternalError {
        /// What went wrong.
        message: String,
    },
}

fn kube_proxy_configuration_is_not_an_object() -> ApiError {
    ApiError::BadRequest {
        message: "KubeProxyConfiguration is a kube-proxy configuration file, not an API object".to_string(),
    }
}

fn kubelet_configuration_is_not_an_object() -> ApiError {
    ApiError::BadRequest {
        message: "KubeletConfiguration is a kubelet configuration file, not an API object".to_string(),
    }
}

fn aggregate(errors: &[FieldError]) -> String {
    match errors {
        [one] => one.to_string(),
        many => format!("[{}]", many.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
    }
}

impl ApiError {
    /// The status reason (`AlreadyExists`, `NotFound`, `Invalid`, `BadRequest`).
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::NotFound { .. } => "NotFound",
            ApiError::Invalid { .. } => "Invalid",
            ApiError::BadRequest { .. } => "BadRequest",
            ApiError::InternalError { .. } => "InternalError",
            ApiError::NoKindMatch { .. } => "NotFound",
        }
    }

    /// What kubectl prints (with a trailing newline), optionally for `-f file` (`error when
    /// creating "file": ...`).
    pub fn kubectl_message(&self, verb_and_file: Option<(&str, &str)>) -> String {
        match self {
            ApiError::Invalid { kind, name, errors } => validation::render_invalid(*kind, name, errors),
            // `kubectl apply -f`'s mapping error (`resource.(*Mapper).infoForData`).
            ApiError::NoKindMatch { name, namespace, .. } => match verb_and_file {
                Some((_, file)) => format!(
                    "error: resource mapping not found for name: {} namespace: {} from {}: {self}\nensure CRDs are installed first\n",
                    go_quote(name),
                    go_quote(namespace),
                    go_quote(file)
                ),
                None => format!("error: {self}\nensure CRDs are installed first\n"),
            },
            other => match verb_and_file {
                Some((verb, file)) => format!(
                    "Error from server ({}): error when {verb} {}: {other}\n",
                    other.reason(),
                    go_quote(file)
                ),
                None => format!("Error from server ({}): {other}\n", other.reason()),
            },
        }
    }
}

/// How an update treats fields the request leaves out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UpdateMode {
    /// `kubectl replace`: the request is the whole object (clusterIP must be repeated).
    Replace,
    /// `kubectl apply` / `patch`: server-set fields the request omits are kept.
    Merge,
}

/// The API server.
#[derive(Clone, Debug)]
pub struct ApiServer {
    config: ApiServerConfig,
    objects: object_map::ObjectMap,
    index: index::StoreIndex,
    cluster_ips: ClusterIpAllocator,
    node_ports: NodePortAllocator,
    pod_cidrs: PodCidrAllocator,
    rng_cluster_ip: SimRng,
    rng_node_port: SimRng,
    rng_names: SimRng,
    rng_uid: SimRng,
    resource_version: u64,
    /// The change log from entry `log_start + 1` on: entries every watcher has read are
    /// dropped ([`ApiServer::compact_changes`]), as etcd compacts its history.
    changes: Vec<Change>,
    log_start: u64,
    now: SimTime,
}

impl ApiServer {
    /// A server with the system namespaces, drawing randomness from `rng`'s forks.
    pub fn new(config: ApiServerConfig, rng: &SimRng) -> Self {
        let mut s = ApiServer {
            cluster_ips: ClusterIpAllocator::new(config.service_cidr),
            node_ports: NodePortAllocator::new(config.node_port_range.0, config.node_port_range.1),
            pod_cidrs: PodCidrAllocator::new(config.cluster_cidr, config.node_cidr_mask),
            rng_cluster_ip: rng.fork("apiserver/clusterip"),
            rng_node_port: rng.fork("apiserver/nodeport"),
            rng_names: rng.fork("apiserver/names"),
            rng_uid: rng.fork("apiserver/uid"),
            config,
            objects: object_map::ObjectMap::default(),
            index: index::StoreIndex::default(),
            resource_version: 0,
            changes: Default::default(),
            log_start: 0,
            now: SimTime::ZERO,
        };
        for ns in SYSTEM_NAMESPACES {
            let obj =
                Object::Namespace(Namespace { metadata: ObjectMeta::named("", ns), ..Default::default() });
            // Creating a fixed, valid Namespace in an empty store cannot fail.
            let _ = s.create(obj);
        }
        s
    }

    /// The configuration.
    pub fn config(&self) -> &ApiServerConfig {
        &self.config
    }

    /// Sets the simulated time used for creationTimestamp.
    pub fn set_now(&mut self, now: SimTime) {
        self.now = now;
    }

    /// The ClusterIP at `offset` in the service range (1 ⇒ `kubernetes`, 10 ⇒ kube-dns).
    pub fn service_ip(&self, offset: u32) -> IpAddr {
        IpAddr::V4(self.cluster_ips.nth(offset))
    }

    /// The conventional kube-dns ClusterIP (`.10` of the service range).
    pub fn dns_service_ip(&self) -> IpAddr {
        self.service_ip(10)
    }

    /// A `rand.String(5)`-style suffix from the server's name stream.
    pub fn random_suffix(&mut self, n: usize) -> String {
        naming::random_suffix(&mut self.rng_names, n)
    }

    /// A `generateName`-style name: `prefix` plus a 5-character suffix
    /// (`nginx-6799fc88d8-` ⇒ `nginx-6799fc88d8-fzr5b`).
    pub fn generate_name(&mut self, prefix: &str) -> String {
        naming::generated_name(prefix, &mut self.rng_names)
    }

    // ----- reads -----

    /// One object.
    pub fn get(&self, key: &ObjectKey) -> Option<&Object> {
        self.objects.get(key).map(Rc::as_ref)
    }

    /// One object, shared with the store (a reference count, not a copy).
    pub fn shared(&self, key: &ObjectKey) -> Option<Rc<Object>> {
        self.objects.get(key).cloned()
    }

    /// [`Self::owned`], shared with the store.
    pub fn owned_shared(
        &self,
        kind: Kind,
        namespace: &str,
        owner_kind: &str,
        owner: &str,
    ) -> Vec<Rc<Object>> {
        let slots = self.index.owned(kind, namespace, owner_kind, owner);
        slots.into_iter().filter_map(|s| self.objects.by_slot(s).cloned()).collect()
    }

    /// One object by kind, namespace and name.
    pub fn get_named(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Object> {
        let ns = if kind.is_namespaced() { namespace } else { "" };
        self.objects.get_parts(kind, ns, name).map(Rc::as_ref)
    }

    /// Every object, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&ObjectKey, &Object)> {
        self.objects.iter().map(|(k, o)| (k, o.as_ref()))
    }

    /// Every object of a kind, in (namespace, name) order: a range of the store (keys order by
    /// kind first), not a scan.
    pub fn list(&self, kind: Kind) -> impl Iterator<Item = &Object> {
        let from = ObjectKey { kind, namespace: String::new(), name: String::new() };
        self.objects.range_from(from).take_while(move |(k, _)| k.kind == kind).map(|(_, o)| o.as_ref())
    }

    /// Every key of a kind, in (namespace, name) order.
    pub fn keys(&self, kind: Kind) -> impl Iterator<Item = &ObjectKey> {
        let from = ObjectKey { kind, namespace: String::new(), name: String::new() };
        self.objects.range_from(from).take_while(move |(k, _)| k.kind == kind).map(|(k, _)| k)
    }

    /// Every object of a kind in one namespace, in name order (a range of the store).
    pub fn list_in<'a>(&'a self, kind: Kind, namespace: &'a str) -> impl Iterator<Item = &'a Object> + 'a {
        let from = ObjectKey { kind, namespace: namespace.to_string(), name: String::new() };
        self.objects
            .range_from(from)
            .take_while(move |(k, _)| k.kind == kind && k.namespace == namespace)
            .map(|(_, o)| o.as_ref())
    }

    /// The secondary indexes (by owner, label, node).
    pub fn index(&self) -> &index::StoreIndex {
        &self.index
    }

    /// Objects of `kind` in `namespace` whose labels satisfy a map `selector`, in name order
    /// (an indexed lookup for pods and EndpointSlices; an empty selector selects nothing).
    pub fn select_shared(&self, kind: Kind, namespace: &str, selector: &[(&str, &str)]) -> Vec<Rc<Object>> {
        let slots = self.index.selected_by(kind, namespace, selector.iter().copied()).unwrap_or_default();
        slots.into_iter().filter_map(|s| self.objects.by_slot(s).cloned()).collect()
    }

    /// Objects of `kind` in `namespace` whose labels satisfy `selector`, in name order.
    pub fn select(&self, kind: Kind, namespace: &str, selector: &BTreeMap<String, String>) -> Vec<&Object> {
        let slots = self.index.selected(kind, namespace, selector).unwrap_or_default();
        slots.into_iter().filter_map(|s| self.objects.by_slot(s).map(|o| o.as_ref())).collect()
    }

    /// Objects of `kind` in `namespace` controlled by the `owner_kind` named `owner`, in name
    /// order.
    pub fn owned(&self, kind: Kind, namespace: &str, owner_kind: &str, owner: &str) -> Vec<&Object> {
        let slots = self.index.owned(kind, namespace, owner_kind, owner);
        slots.into_iter().filter_map(|s| self.objects.by_slot(s).map(|o| o.as_ref())).collect()
    }

    /// Services in `namespace` whose (non-empty) selector `labels` satisfy, in name order.
    pub fn services_selecting(&self, namespace: &str, labels: &BTreeMap<String, String>) -> Vec<&Service> {
        let names = self.index.selecting(namespace, labels);
        names
            .into_iter()
            .filter_map(|n| self.get_named(Kind::Service, namespace, n)?.as_service())
            .filter(|s| {
                s.spec.selector.as_ref().is_some_and(|sel| {
                    !sel.is_empty() && crate::api::selector::map_selector_matches(sel, labels)
                })
            })
            .collect()
    }

    /// Pods bound to `node`, in (namespace, name) order.
    pub fn pods_on<'a>(&'a self, node: &str) -> impl Iterator<Item = &'a crate::api::Pod> + 'a {
        self.index.pods_on(node).filter_map(move |s| self.objects.by_slot(s)?.as_pod())
    }

    /// Stores `obj` under `key`, keeping the indexes; returns the stored object.
    fn put(&mut self, key: ObjectKey, obj: Object) -> &Object {
        let slot = self.objects.slot_for(&key);
        match self.objects.get(&key) {
            Some(old) => self.index.replace(&key, old, &obj, slot),
            None => self.index.insert(&key, &obj, slot),
        }
        self.objects.insert(key, Rc::new(obj)).0
    }

    /// Removes the object under `key`, keeping the indexes. Shared with the change log, which
    /// keeps deleted objects for watchers.
    fn take(&mut self, key: &ObjectKey) -> Option<Rc<Object>> {
        let obj = self.objects.remove(key)?;
        self.index.remove(key, &obj);
        Some(obj)
    }

    /// Every Service, in (namespace, name) order.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.list(Kind::Service).filter_map(Object::as_service)
    }

    /// Every Pod, in (namespace, name) order.
    pub fn pods(&self) -> impl Iterator<Item = &crate::api::Pod> {
        self.list(Kind::Pod).filter_map(Object::as_pod)
    }

    /// Every Node, in name order.
    pub fn nodes(&self) -> impl Iterator<Item = &crate::api::Node> {
        self.list(Kind::Node).filter_map(Object::as_node)
    }

    /// Every Endpoints object, in (namespace, name) order.
    pub fn endpoints(&self) -> impl Iterator<Item = &Endpoints> {
        self.list(Kind::Endpoints).filter_map(Object::as_endpoints)
    }

    /// Every EndpointSlice, in (namespace, name) order.
    pub fn endpoint_slices(&self) -> impl Iterator<Item = &crate::api::EndpointSlice> {
        self.list(Kind::EndpointSlice).filter_map(Object::as_endpoint_slice)
    }

    /// Every Deployment, in (namespace, name) order.
    pub fn deployments(&self) -> impl Iterator<Item = &crate::api::Deployment> {
        self.list(Kind::Deployment).filter_map(Object::as_deployment)
    }

    /// Every ReplicaSet, in (namespace, name) order.
    pub fn replica_sets(&self) -> impl Iterator<Item = &crate::api::ReplicaSet> {
        self.list(Kind::ReplicaSet).filter_map(Object::as_replica_set)
    }

    /// Every StatefulSet, in (namespace, name) order.
    pub fn stateful_sets(&self) -> impl Iterator<Item = &crate::api::StatefulSet> {
        self.list(Kind::StatefulSet).filter_map(Object::as_stateful_set)
    }

    /// Every DaemonSet, in (namespace, name) order.
    pub fn daemon_sets(&self) -> impl Iterator<Item = &crate::api::DaemonSet> {
        self.list(Kind::DaemonSet).filter_map(Object::as_daemon_set)
    }

    /// Every Namespace, in name order.
    pub fn namespaces(&self) -> impl Iterator<Item = &Namespace> {
        self.list(Kind::Namespace).filter_map(Object::as_namespace)
    }

    /// The change log from entry `after + 1` on (`after = 0` for everything).
    /// Entries before the log's start were compacted away: a watcher that far behind must
    /// relist ([`ApiServer::log_start`]), and gets what is left.
    pub fn changes_since(&self, after: u64) -> &[Change] {
        let start = usize::try_from(after.saturating_sub(self.log_start)).unwrap_or(usize::MAX);
        &self.changes[start.min(self.changes.len())..]
    }

    /// The sequence number of the last change.
    pub fn last_seq(&self) -> u64 {
        self.log_start + self.changes.len() as u64
    }

    /// The sequence number before the oldest entry kept: a watch from an older position has
    /// missed changes (etcd's "required revision has been compacted").
    pub fn log_start(&self) -> u64 {
        self.log_start
    }

    /// Drops the entries up to `upto` (every watcher has read them), with the old versions of
    /// objects they kept alive. The entries after it move to the front: call it when few are
    /// left unread.
    pub fn compact_changes(&mut self, upto: u64) {
        let n = usize::try_from(upto.saturating_sub(self.log_start))
            .unwrap_or(usize::MAX)
            .min(self.changes.len());
        self.changes.drain(..n);
        self.log_start += n as u64;
    }

    // ----- writes -----

    fn log(&mut self, change: ChangeType, key: ObjectKey, rv: u64) {
        let seq = self.last_seq() + 1;
        let slot = self.objects.slot_of(&key);
        self.changes.push(Change { seq, change, key, resource_version: rv, old: None, slot });
    }

    fn log_with_old(&mut self, change: ChangeType, key: ObjectKey, rv: u64, old: std::rc::Rc<Object>) {
        let seq = self.last_seq() + 1;
        let slot = self.objects.slot_of(&key);
        self.changes.push(Change { seq, change, key, resource_version: rv, old: Some(old), slot });
    }

    /// The object a change is about as stored now (`None` once deleted): the same as
    /// `get(&change.key)`, read from the slot the change recorded while the object is still
    /// there (the common case: most changes are read in the pass that made them).
    pub fn get_changed(&self, change: &Change) -> Option<&Object> {
        match self.objects.by_slot(change.slot) {
            Some(obj) if obj.is(&change.key) => Some(obj.as_ref()),
            _ => self.get(&change.key),
        }
    }

    fn next_rv(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    fn normalize(&mut self, obj: &mut Object) -> Result<ObjectKey, ApiError> {
        let kind = obj.kind();
        if kind == Kind::KubeProxyConfiguration {
            return Err(kube_proxy_configuration_is_not_an_object());
        }
        if kind == Kind::KubeletConfiguration {
            return Err(kubelet_configuration_is_not_an_object());
        }
        if kind.is_custom_resource() && !self.crd_serves(obj.api_version(), kind.as_str()) {
            return Err(ApiError::NoKindMatch {
                kind: kind.as_str().to_string(),
                api_version: if obj.api_version().is_empty() {
                    kind.api_version().to_string()
                } else {
                    obj.api_version().to_string()
                },
                name: obj.name().to_string(),
                namespace: obj.namespace().to_string(),
            });
        }
        let rng = &mut self.rng_names;
        if let Some(meta) = obj.meta_mut() {
            if !kind.is_namespaced() {
                meta.namespace.clear();
            } else if meta.namespace.is_empty() {
                meta.namespace = "default".to_string();
            }
            // Draw from the name stream only when a name is generated, so unrelated requests
            // do not shift generated names.
            if meta.name.is_empty() && !meta.generate_name.is_empty() {
                meta.name = naming::generated_name(&meta.generate_name, rng);
            }
        }
        if obj.api_version().is_empty() {
            obj.set_type_meta(kind.api_version());
        }
        let key = obj.key("default");
        if kind.is_namespaced()
            && self.config.require_namespaces
            && !self.objects.contains_key(&ObjectKey::new(Kind::Namespace, "", &key.namespace))
        {
            return Err(ApiError::NotFound { kind: Kind::Namespace, name: key.namespace.clone() });
        }
        Ok(key)
    }

    /// The key `normalize` gives a named object (its namespace must exist), without changing
    /// or copying it.
    fn key_of(&self, obj: &Object) -> Result<ObjectKey, ApiError> {
        if obj.kind() == Kind::KubeProxyConfiguration {
            return Err(kube_proxy_configuration_is_not_an_object());
        }
        if obj.kind() == Kind::KubeletConfiguration {
            return Err(kubelet_configuration_is_not_an_object());
        }
        let key = obj.key("default");
        if key.kind.is_namespaced()
            && self.config.require_namespaces
            && !self.objects.contains_key(&ObjectKey::new(Kind::Namespace, "", &key.namespace))
        {
            return Err(ApiError::NotFound { kind: Kind::Namespace, name: key.namespace.clone() });
        }
        Ok(key)
    }

    /// True if an installed CustomResourceDefinition serves `kind` in `api_version` (the
    /// kind's preferred version when empty).
    pub fn crd_serves(&self, api_version: &str, kind: &str) -> bool {
        let api_version = if api_version.is_empty() {
            Kind::ALL.iter().find(|k| k.as_str() == kind).map_or("", |k| k.api_version())
        } else {
            api_version
        };
        self.list(Kind::CustomResourceDefinition)
            .filter_map(Object::as_custom_resource_definition)
            .any(|c| c.serves(api_version, kind))
    }

    fn invalid(key: &ObjectKey, errors: Vec<FieldError>) -> ApiError {
        ApiError::Invalid { kind: key.kind, name: key.name.clone(), errors }
    }

    /// `POST`: creates an object (`kubectl create`).
    pub fn create(&mut self, obj: Object) -> Result<&Object, ApiError> {
        self.create_checked(obj, Checks::All)
    }

    /// Creates an object a controller built from stored objects (see [`Checks::Built`]).
    pub fn create_built(&mut self, obj: Object) -> Result<&Object, ApiError> {
        self.create_checked(obj, Checks::Built)
    }

    /// Updates an object a controller built from stored objects (see [`Checks::Built`]).
    pub fn update_built(&mut self, obj: Object) -> Result<ApplyResult, ApiError> {
        self.update_checked(obj, UpdateMode::Merge, Checks::Built)
    }

    fn create_checked(&mut self, obj: Object, checks: Checks) -> Result<&Object, ApiError> {
        let mut obj = obj;
        let key = self.normalize(&mut obj)?;
        if self.objects.contains_key(&key) {
            return Err(ApiError::AlreadyExists { kind: key.kind, name: key.name });
        }
        defaults::apply(&mut obj);
        if let Object::Ingress(i) = &mut obj {
            self.default_ingress_class(i);
        }
        let errors = checks.validate(&obj);
        if !errors.is_empty() {
            return Err(Self::invalid(&key, errors));
        }
        self.validating_admission(&obj, "CREATE")?;
        self.allocate(&key, &mut obj, None).map_err(|e| Self::invalid(&key, e))?;
        if let Object::ServiceCidr(c) = &obj {
            for cidr in c.spec.cidrs.iter().filter_map(|s| s.parse::<Ipv4Net>().ok()) {
                self.cluster_ips.add_range(cidr);
            }
        }
        let rv = self.next_rv();
        let ts = naming::timestamp(self.config.epoch_unix_secs, self.now);
        let uid = naming::uid(&mut self.rng_uid);
        if let Some(meta) = obj.meta_mut() {
            meta.uid = uid;
            meta.resource_version = rv.to_string();
            meta.creation_timestamp = Some(ts);
            meta.generation = has_generation(key.kind).then_some(1);
            meta.managed_fields = None;
            meta.self_link = None;
        }
        // The Service strategy's PrepareForCreate resets the status to an empty one, which the
        // API serves as `status: {loadBalancer: {}}` (a dump's status is kept as written).
        // So does the Ingress strategy's (`status: {loadBalancer: {}}`).
        match &mut obj {
            Object::Service(svc) => {
                svc.status.get_or_insert_with(Default::default);
            }
            Object::Ingress(ing) => {
                ing.status.get_or_insert_with(|| serde_json::json!({"loadBalancer": {}}));
            }
            // The GatewayClass and Gateway CRDs default `status` to their Pending conditions.
            Object::GatewayClass(c) => {
                c.status.get_or_insert_with(
                    || serde_json::json!({"conditions": [pending_condition("Accepted")]}),
                );
            }
            Object::Gateway(g) => {
                g.status.get_or_insert_with(|| {
                    serde_json::json!({"conditions": [pending_condition("Accepted"), pending_condition("Programmed")]})
                });
            }
            _ => {}
        }
        self.log(ChangeType::Added, key.clone(), rv);
        Ok(self.put(key, obj))
    }

    /// The DefaultIngressClass admission plugin
    /// (`plugin/pkg/admission/network/defaultingressclass`): an Ingress created without
    /// `spec.ingressClassName` and without the legacy `kubernetes.io/ingress.class` annotation
    /// gets the class marked `ingressclass.kubernetes.io/is-default-class: "true"`, when there
    /// is exactly one (with several, netsim leaves it unset).
    fn default_ingress_class(&self, ing: &mut crate::api::Ingress) {
        if ing.class_name().is_some() {
            return;
        }
        let defaults: Vec<&str> = self
            .list(Kind::IngressClass)
            .filter_map(|o| match o {
                Object::IngressClass(c) if c.is_default() => Some(c.metadata.name.as_str()),
                _ => None,
            })
            .collect();
        if let [name] = defaults.as_slice() {
            let spec = ing.spec.get_or_insert_with(|| serde_json::Value::Object(Default::default()));
            if let Some(m) = spec.as_object_mut() {
                m.insert("ingressClassName".into(), serde_json::Value::String(name.to_string()));
            }
        }
    }

    /// `PUT`: replaces an existing object (`kubectl replace`).
    pub fn replace(&mut self, obj: Object) -> Result<ApplyResult, ApiError> {
        self.update(obj, UpdateMode::Replace)
    }

    /// `kubectl apply`: creates, or updates keeping server-set fields the manifest omits.
    pub fn apply(&mut self, obj: Object) -> Result<ApplyResult, ApiError> {
        if obj.name().is_empty() && obj.meta().is_some_and(|m| !m.generate_name.is_empty()) {
            return Err(ApiError::BadRequest { message: "cannot use generate name with apply".to_string() });
        }
        let key = self.key_of(&obj)?;
        if self.objects.contains_key(&key) {
            self.update(obj, UpdateMode::Merge)
        } else {
            self.create(obj).map(|_| ApplyResult::Created)
        }
    }

    fn update(&mut self, obj: Object, mode: UpdateMode) -> Result<ApplyResult, ApiError> {
        self.update_checked(obj, mode, Checks::All)
    }

    fn update_checked(
        &mut self,
        obj: Object,
        mode: UpdateMode,
        checks: Checks,
    ) -> Result<ApplyResult, ApiError> {
        let mut new = obj;
        let key = self.normalize(&mut new)?;
        // The stored object is shared, not copied: the change log keeps it as the old version.
        let Some(old) = self.objects.get(&key).cloned() else {
            return Err(ApiError::NotFound { kind: key.kind, name: key.name });
        };
        let mut pre_errors = Vec::new();
        if let (Object::Service(n), Object::Service(o)) = (&mut new, old.as_ref()) {
            pre_errors = service_update(n, o, mode);
        }
        if let (Object::GatewayClass(n), Object::GatewayClass(o)) = (&new, old.as_ref()) {
            pre_errors = validation::gateway::validate_gateway_class_update(n, o);
        }
        defaults::apply(&mut new);
        keep_status(&mut new, &old);
        let mut errors = pre_errors;
        errors.extend(checks.validate(&new));
        if !errors.is_empty() {
            return Err(Self::invalid(&key, errors));
        }
        self.validating_admission(&new, "UPDATE")?;
        self.allocate(&key, &mut new, Some(&old)).map_err(|e| Self::invalid(&key, e))?;
        // Carry server-owned metadata, then compare.
        if let (Some(nm), Some(om)) = (new.meta_mut(), old.meta()) {
            nm.uid = om.uid.clone();
            nm.creation_timestamp = om.creation_timestamp.clone();
            nm.resource_version = om.resource_version.clone();
            nm.generation = om.generation;
            nm.managed_fields = None;
            nm.self_link = None;
        }
        if new == *old {
            return Ok(ApplyResult::Unchanged);
        }
        self.release_unused(&key, &old, &new);
        let rv = self.next_rv();
        let spec_changed = has_generation(key.kind) && spec_changed(&new, &old);
        if let Some(nm) = new.meta_mut() {
            nm.resource_version = rv.to_string();
            if spec_changed && has_generation(key.kind) {
                nm.generation = Some(nm.generation.unwrap_or(1) + 1);
            }
        }
        let relations_changed = match (new.meta(), old.meta()) {
            (Some(n), Some(o)) => n.labels != o.labels || n.owner_references != o.owner_references,
            _ => false,
        };
        self.put(key.clone(), new);
        if relations_changed {
            self.log_with_old(ChangeType::Modified, key, rv, old);
        } else {
            self.log(ChangeType::Modified, key, rv);
        }
        Ok(ApplyResult::Configured)
    }

    /// `POST pods/NAME/binding`, the scheduler's Binding: the stored pod gets `spec.nodeName`
    /// and a `PodScheduled` condition that is True since now (phase `Pending`), as upstream's
    /// binding storage sets them (`setPodHostAndAnnotations` in pkg/registry/core/pod/storage,
    /// a raw-store update: no defaulting, validation or admission of the whole pod). The pod
    /// must not be bound yet nor being deleted. Changed in place, the node index gains it.
    pub fn bind(&mut self, key: &ObjectKey, node: &str) -> Result<ApplyResult, ApiError> {
        let rv = self.resource_version + 1;
        let scheduled_at = naming::timestamp(self.config.epoch_unix_secs, self.now);
        let slot = self.objects.slot_for(key);
        let Some(stored) = self.objects.get_mut(key) else {
            return Err(ApiError::NotFound { kind: key.kind, name: key.name.clone() });
        };
        let Object::Pod(old) = stored.as_ref() else {
            return Err(ApiError::BadRequest { message: format!("{} cannot be bound", key.kind) });
        };
        if !old.spec.node_name.is_empty() {
            return Err(ApiError::BadRequest {
                message: format!(
                    "pod {} is already assigned to node {}",
                    key.name,
                    go_quote(&old.spec.node_name)
                ),
            });
        }
        if old.metadata.deletion_timestamp.is_some() {
            return Err(ApiError::BadRequest {
                message: format!("pod {} is being deleted, cannot be assigned to a host", key.name),
            });
        }
        let Object::Pod(pod) = Rc::make_mut(stored) else { unreachable!("matched as a pod above") };
        std::sync::Arc::make_mut(&mut pod.spec).node_name = node.to_string();
        let status = pod.status.get_or_insert_with(Default::default);
        status.conditions.retain(|c| c.type_ != "PodScheduled");
        status.phase = Some("Pending".into());
        status.conditions.push(crate::api::pod::PodCondition {
            type_: "PodScheduled".into(),
            status: "True".into(),
            last_transition_time: Some(scheduled_at),
            ..Default::default()
        });
        pod.metadata.resource_version = rv.to_string();
        self.index.add_to_node(key, node, slot);
        self.resource_version = rv;
        self.log(ChangeType::Modified, key.clone(), rv);
        Ok(ApplyResult::Configured)
    }

    /// Writes observed state only (the `/status` subresource): replaces `status` and bumps
    /// resourceVersion, skipping spec validation. For controllers and the simulated kubelet.
    pub fn update_status(&mut self, obj: Object) -> Result<ApplyResult, ApiError> {
        let mut new = obj;
        let key = self.normalize(&mut new)?;
        let Some(old) = self.objects.get(&key) else {
            return Err(ApiError::NotFound { kind: key.kind, name: key.name });
        };
        // The writer's copy is kept when only its status differs (the usual case: a controller
        // read the object and set its status); otherwise its status goes onto the stored object.
        macro_rules! merge {
            ($($variant:ident),*) => {
                match (old.as_ref(), new) {
                    $((Object::$variant(o), Object::$variant(n)) => {
                        // Only the status is written: the same status is no change, whatever
                        // else the writer's copy says.
                        if n.status == o.status {
                            return Ok(ApplyResult::Unchanged);
                        }
                        if n.spec == o.spec && n.metadata == o.metadata && n.api_version == o.api_version && n.kind == o.kind {
                            Object::$variant(n)
                        } else {
                            let mut m = o.clone();
                            m.status = n.status;
                            Object::$variant(m)
                        }
                    })*
                    _ => {
                        return Err(ApiError::BadRequest {
                            message: format!("{} has no status subresource", key.kind),
                        });
                    }
                }
            };
        }
        let mut merged = merge!(
            Pod,
            Service,
            Node,
            Deployment,
            ReplicaSet,
            StatefulSet,
            DaemonSet,
            Ingress,
            GatewayClass,
            Gateway,
            HttpRoute
        );
        let rv = self.next_rv();
        if let Some(m) = merged.meta_mut() {
            m.resource_version = rv.to_string();
        }
        self.put(key.clone(), merged);
        self.log(ChangeType::Modified, key, rv);
        Ok(ApplyResult::Configured)
    }

    /// Writes `status` onto the stored object `key` in place: the `/status` subresource as the
    /// kubelet and the workload controllers use it, who send only what they observed. Nothing
    /// else of the object is read or copied (the stored version is copied only while a reader
    /// still holds it), and the indexes are untouched, as no index looks at a status. The same
    /// status again is no change.
    pub fn set_status(&mut self, key: &ObjectKey, status: ObjectStatus) -> Result<ApplyResult, ApiError> {
        let rv = self.resource_version + 1;
        let Some(stored) = self.objects.get_mut(key) else {
            return Err(ApiError::NotFound { kind: key.kind, name: key.name.clone() });
        };
        let same = match (stored.as_ref(), &status) {
            (Object::Pod(p), ObjectStatus::Pod(s)) => p.status.as_ref() == Some(s),
            (Object::Deployment(w), ObjectStatus::Deployment(s)) => w.status == *s,
            (Object::ReplicaSet(w), ObjectStatus::ReplicaSet(s)) => w.status == *s,
            (Object::StatefulSet(w), ObjectStatus::Workload(s)) => w.status == *s,
            (Object::DaemonSet(w), ObjectStatus::Workload(s)) => w.status == *s,
            _ => {
                return Err(ApiError::BadRequest {
                    message: format!("{} has no status subresource of this shape", key.kind),
                });
            }
        };
        if same {
            return Ok(ApplyResult::Unchanged);
        }
        let obj = Rc::make_mut(stored);
        match (&mut *obj, status) {
            (Object::Pod(p), ObjectStatus::Pod(s)) => p.status = Some(s),
            (Object::Deployment(w), ObjectStatus::Deployment(s)) => w.status = s,
            (Object::ReplicaSet(w), ObjectStatus::ReplicaSet(s)) => w.status = s,
            (Object::StatefulSet(w), ObjectStatus::Workload(s)) => w.status = s,
            (Object::DaemonSet(w), ObjectStatus::Workload(s)) => w.status = s,
            _ => unreachable!("the shapes were matched above"),
        }
        if let Some(m) = obj.meta_mut() {
            m.resource_version = rv.to_string();
        }
        self.resource_version = rv;
        self.log(ChangeType::Modified, key.clone(), rv);
        Ok(ApplyResult::Configured)
    }

    /// `kubectl patch` with a JSON merge, strategic-merge-lite or JSON (RFC 6902) patch.
    pub fn patch(
        &mut self,
        kind: Kind,
        namespace: &str,
        name: &str,
        patch: &serde_json::Value,
        ty: PatchType,
    ) -> Result<ApplyResult, ApiError> {
        let Some(old) = self.get_named(kind, namespace, name) else {
            return Err(ApiError::NotFound { kind, name: name.to_string() });
        };
        let mut doc =
            serde_json::to_value(old).map_err(|e| ApiError::BadRequest { message: e.to_string() })?;
        if ty == PatchType::Json {
            patch::apply_json_patch(&mut doc, patch).map_err(|message| ApiError::BadRequest { message })?;
        } else {
            patch::apply(&mut doc, patch, ty);
        }
        let obj = object_from_json(kind, doc)?;
        if obj.name() != name {
            return Err(ApiError::BadRequest {
                message: "the name of the object cannot be changed by a patch".into(),
            });
        }
        self.update(obj, UpdateMode::Merge)
    }

    /// `kubectl scale`: sets `spec.replicas` of a Deployment, ReplicaSet or StatefulSet.
    pub fn scale(
        &mut self,
        kind: Kind,
        namespace: &str,
        name: &str,
        replicas: i32,
    ) -> Result<ApplyResult, ApiError> {
        let Some(mut obj) = self.get_named(kind, namespace, name).cloned() else {
            return Err(ApiError::NotFound { kind, name: name.to_string() });
        };
        match &mut obj {
            Object::Deployment(d) => d.spec.replicas = Some(replicas),
            Object::ReplicaSet(d) => d.spec.replicas = Some(replicas),
            Object::StatefulSet(d) => d.spec.replicas = Some(replicas),
            _ => {
                return Err(ApiError::BadRequest {
                    message: format!(
                        "the server could not find the requested resource ({} has no scale)",
                        kind
                    ),
                });
            }
        }
        self.update(obj, UpdateMode::Merge)
    }

    /// `DELETE`: removes an object, releasing its allocations. Deleting a Namespace deletes
    /// everything in it (the namespace controller's job, done at once).
    pub fn delete(&mut self, kind: Kind, namespace: &str, name: &str) -> Result<Object, ApiError> {
        let ns =
            if kind.is_namespaced() { if namespace.is_empty() { "default" } else { namespace } } else { "" };
        let key = ObjectKey::new(kind, ns, name);
        let Some(obj) = self.take(&key) else {
            return Err(ApiError::NotFound { kind, name: name.to_string() });
        };
        self.release_all(&obj);
        if kind == Kind::Namespace {
            let inside: Vec<ObjectKey> =
                self.objects.keys().filter(|k| k.namespace == name).cloned().collect();
            for k in inside {
                if let Some(o) = self.take(&k) {
                    self.release_all(&o);
                    let rv = self.next_rv();
                    self.log_with_old(ChangeType::Deleted, k, rv, o);
                }
            }
        }
        let rv = self.next_rv();
        self.log_with_old(ChangeType::Deleted, key, rv, obj.clone());
        Ok(Rc::unwrap_or_clone(obj))
    }

    /// Creates `default/kubernetes` (ClusterIP `.1`, port 443/https → `target_port`) and its
    /// Endpoints listing the control-plane addresses, as the API server's bootstrap controller
    /// does.
    pub fn ensure_kubernetes_service(
        &mut self,
        apiserver_ips: &[IpAddr],
        target_port: i32,
    ) -> Result<(), ApiError> {
        let mut meta = ObjectMeta::named("default", "kubernetes");
        meta.labels.insert("component".into(), "apiserver".into());
        meta.labels.insert("provider".into(), "kubernetes".into());
        let mut svc = Service { metadata: meta.clone(), ..Default::default() };
        svc.spec.cluster_ip = ClusterIp::Ip(self.service_ip(1));
        svc.spec.ports = vec![ServicePort {
            name: "https".into(),
            protocol: Some(Protocol::TCP),
            port: 443,
            target_port: Some(IntOrString::Int(target_port)),
            ..Default::default()
        }];
        if self.get_named(Kind::Service, "default", "kubernetes").is_none() {
            self.create(Object::Service(Box::new(svc)))?;
        }
        let ep = Endpoints {
            metadata: meta,
            subsets: vec![EndpointSubset {
                addresses: apiserver_ips
                    .iter()
                    .map(|ip| EndpointAddress {
                        ip: *ip,
                        hostname: String::new(),
                        node_name: None,
                        target_ref: None,
                    })
                    .collect(),
                not_ready_addresses: Vec::new(),
                ports: vec![EndpointsPort {
                    name: "https".into(),
                    port: target_port,
                    protocol: Some(Protocol::TCP),
                    app_protocol: None,
                }],
            }],
            ..Default::default()
        };
        self.apply(Object::Endpoints(ep)).map(|_| ())
    }

    // ----- allocation -----

    fn allocate(
        &mut self,
        key: &ObjectKey,
        obj: &mut Object,
        old: Option<&Object>,
    ) -> Result<(), Vec<FieldError>> {
        match obj {
            Object::Service(svc) => {
                let old_svc = match old {
                    Some(Object::Service(o)) => Some(o),
                    _ => None,
                };
                let mut journal = Journal::default();
                let r = self.allocate_service(key, svc, old_svc.map(|s| &**s), &mut journal);
                if r.is_err() {
                    // Roll back everything this request newly reserved.
                    for ip in journal.ips {
                        self.cluster_ips.release(ip);
                    }
                    for p in journal.ports {
                        self.node_ports.release(p);
                    }
                }
                r
            }
            Object::Node(node) => {
                let name = key.name.clone();
                match node.spec.pod_cidr.as_deref().map(str::parse::<IpNet>) {
                    Some(Ok(c)) => self.pod_cidrs.occupy(c, &name),
                    Some(Err(_)) => {}
                    None => {
                        if let Ok(c) = self.pod_cidrs.allocate_next(&name) {
                            node.spec.pod_cidr = Some(c.to_string());
                            node.spec.pod_cidrs = vec![c.to_string()];
                        }
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn allocate_service(
        &mut self,
        key: &ObjectKey,
        svc: &mut Service,
        old: Option<&Service>,
        journal: &mut Journal,
    ) -> Result<(), Vec<FieldError>> {
        let ty = svc.spec.service_type();
        if ty == ServiceType::ExternalName {
            return Ok(());
        }
        match svc.spec.cluster_ip.clone() {
            ClusterIp::None => {}
            ClusterIp::Ip(ip) => {
                let fresh = match ip {
                    IpAddr::V4(v4) => self.cluster_ips.owner(v4).is_none(),
                    IpAddr::V6(_) => false,
                };
                let r = self.cluster_ips.allocate(ip, key);
                if fresh && r.is_ok() {
                    journal.ips.push(ip);
                }
                if let Err(e) = r {
                    return Err(vec![FieldError::invalid(
                        "spec.clusterIPs",
                        BadValue::Raw(go_string_slice(&[ip.to_string()])),
                        &format!("failed to allocate IP {ip}: {e}"),
                    )]);
                }
            }
            ClusterIp::Unset | ClusterIp::Invalid(_) => {
                let ip = self.cluster_ips.allocate_next(&mut self.rng_cluster_ip, key).map_err(|e| {
                    vec![FieldError::invalid(
                        "spec.clusterIPs",
                        BadValue::Raw("[]string(nil)".into()),
                        &e.to_string(),
                    )]
                })?;
                journal.ips.push(IpAddr::V4(ip));
                svc.spec.cluster_ip = ClusterIp::Ip(IpAddr::V4(ip));
                svc.spec.cluster_ips = vec![svc.spec.cluster_ip.clone()];
            }
        }
        let wants_node_ports = ty == ServiceType::NodePort
            || (ty == ServiceType::LoadBalancer && svc.spec.allocate_load_balancer_node_ports != Some(false));
        let mut errors = Vec::new();
        for (i, p) in svc.spec.ports.iter_mut().enumerate() {
            let requested = p.node_port.unwrap_or(0);
            if requested != 0 {
                match self.reserve_port(requested, key, journal) {
                    Ok(_) => {}
                    Err(e) => errors.push(node_port_error(i, requested, &e)),
                }
                continue;
            }
            if !wants_node_ports {
                continue;
            }
            // Keep the port an earlier version of this Service already had for the same port.
            let kept = old.and_then(|o| {
                o.spec
                    .ports
                    .iter()
                    .find(|op| op.port == p.port && op.protocol() == p.protocol())
                    .and_then(|op| op.node_port)
                    .filter(|np| *np != 0)
            });
            let got = match kept {
                Some(np) => self.reserve_port(np, key, journal),
                None => self.next_port(key, journal),
            };
            match got {
                Ok(np) => p.node_port = Some(np),
                Err(e) => errors.push(node_port_error(i, 0, &e)),
            }
        }
        let needs_hc =
            ty == ServiceType::LoadBalancer && svc.spec.external_traffic_policy == Some(TrafficPolicy::Local);
        if needs_hc {
            let requested = svc
                .spec
                .health_check_node_port
                .filter(|p| *p != 0)
                .or(old.and_then(|o| o.spec.health_check_node_port));
            let got = match requested {
                Some(hc) => self.reserve_port(hc, key, journal),
                None => self.next_port(key, journal),
            };
            match got {
                Ok(hc) => svc.spec.health_check_node_port = Some(hc),
                Err(e) => errors.push(FieldError::invalid(
                    "spec.healthCheckNodePort",
                    BadValue::Int(i64::from(requested.unwrap_or(0))),
                    &e.to_string(),
                )),
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    fn reserve_port(&mut self, port: i32, key: &ObjectKey, journal: &mut Journal) -> Result<i32, AllocError> {
        let fresh = u16::try_from(port).is_ok_and(|p| self.node_ports.owner(p).is_none());
        self.node_ports.allocate(port, key)?;
        if fresh {
            journal.ports.push(port);
        }
        Ok(port)
    }

    fn next_port(&mut self, key: &ObjectKey, journal: &mut Journal) -> Result<i32, AllocError> {
        let p = i32::from(self.node_ports.allocate_next(&mut self.rng_node_port, key)?);
        journal.ports.push(p);
        Ok(p)
    }

    fn release_all(&mut self, obj: &Object) {
        match obj {
            Object::Service(s) => {
                let (ips, ports) = service_allocations(s);
                for ip in ips {
                    self.cluster_ips.release(ip);
                }
                for p in ports {
                    self.node_ports.release(p);
                }
            }
            Object::Node(n) => self.pod_cidrs.release_node(&n.metadata.name),
            Object::ServiceCidr(c) => {
                for cidr in c.spec.cidrs.iter().filter_map(|s| s.parse::<Ipv4Net>().ok()) {
                    self.cluster_ips.remove_range(cidr);
                }
            }
            _ => {}
        }
    }

    fn release_unused(&mut self, _key: &ObjectKey, old: &Object, new: &Object) {
        if let (Object::Service(o), Object::Service(n)) = (old, new) {
            let (old_ips, old_ports) = service_allocations(o);
            let (new_ips, new_ports) = service_allocations(n);
            for ip in old_ips.difference(&new_ips) {
                self.cluster_ips.release(*ip);
            }
            for p in old_ports.difference(&new_ports) {
                self.node_ports.release(*p);
            }
        }
    }

    // ----- manifests -----

    /// `kubectl apply -f` over loaded manifests, in order. Each report carries kubectl's line
    /// and, for invalid objects, the field errors positioned in the source.
    pub fn apply_loaded(&mut self, loaded: &[Loaded<Object>]) -> Vec<ApplyReport> {
        loaded.iter().map(|l| self.report(l, Verb::Apply)).collect()
    }

    /// `kubectl create -f` over loaded manifests, in order (AlreadyExists for duplicates).
    pub fn create_loaded(&mut self, loaded: &[Loaded<Object>]) -> Vec<ApplyReport> {
        loaded.iter().map(|l| self.report(l, Verb::Create)).collect()
    }

    fn report(&mut self, l: &Loaded<Object>, verb: Verb) -> ApplyReport {
        let result = match verb {
            Verb::Apply => self.apply(l.value.clone()),
            Verb::Create => self.create(l.value.clone()).map(|_| ApplyResult::Created),
        };
        let key = l.value.key("default");
        let located = match &result {
            Err(ApiError::Invalid { errors, .. }) => errors
                .iter()
                .map(|e| LoadError {
                    file: l.origin.file.clone(),
                    loc: Some(l.locate(&e.field)),
                    field: e.field.clone(),
                    message: e.body(),
                    kind: LoadErrorKind::Invalid,
                })
                .collect(),
            _ => Vec::new(),
        };
        ApplyReport { origin: l.origin.clone(), key, result, located }
    }
}

#[derive(Clone, Copy)]
enum Verb {
    Apply,
    Create,
}

/// Validates loaded objects without a store (defaults applied to a copy first), positioning
/// every field error in its source: `deploy.yaml:12:9: spec.ports[1].port: Required value`.
/// Allocation checks (ranges, conflicts) need a server and are not part of this.
pub fn lint(loaded: &[Loaded<Object>]) -> Vec<LoadError> {
    let mut out = Vec::new();
    for l in loaded {
        let mut obj = l.value.clone();
        defaults::apply(&mut obj);
        for e in validation::validate(&obj) {
            out.push(LoadError {
                file: l.origin.file.clone(),
                loc: Some(l.locate(&e.field)),
                field: e.field.clone(),
                message: e.body(),
                kind: LoadErrorKind::Invalid,
            });
        }
    }
    out
}

/// What one request newly reserved, so a failed request can give it back.
#[derive(Default)]
struct Journal {
    ips: Vec<IpAddr>,
    ports: Vec<i32>,
}

/// The result of applying one loaded object.
#[derive(Clone, Debug, PartialEq)]
pub struct ApplyReport {
    /// Where the object came from.
    pub origin: Origin,
    /// The object's key.
    pub key: ObjectKey,
    /// What the server said.
    pub result: Result<ApplyResult, ApiError>,
    /// Validation errors positioned in the source (empty unless Invalid).
    pub located: Vec<LoadError>,
}

impl ApplyReport {
    /// The line kubectl prints: `service/x created`, or the error message.
    pub fn kubectl_line(&self) -> String {
        match &self.result {
            Ok(r) => format!("{}/{} {r}\n", self.key.kind.kubectl_prefix(), self.key.name),
            Err(e) => e.kubectl_message(Some(("creating", &self.origin.file))),
        }
    }
}

fn node_port_error(i: usize, requested: i32, e: &AllocError) -> FieldError {
    FieldError::invalid(
        &format!("spec.ports[{i}].nodePort"),
        BadValue::Int(i64::from(requested)),
        &e.to_string(),
    )
}

fn service_allocations(s: &Service) -> (BTreeSet<IpAddr>, BTreeSet<i32>) {
    let ips = s
        .spec
        .cluster_ips
        .iter()
        .chain(std::iter::once(&s.spec.cluster_ip))
        .filter_map(ClusterIp::ip)
        .collect();
    let mut ports: BTreeSet<i32> =
        s.spec.ports.iter().filter_map(|p| p.node_port).filter(|p| *p != 0).collect();
    if let Some(hc) = s.spec.health_check_node_port.filter(|p| *p != 0) {
        ports.insert(hc);
    }
    (ips, ports)
}

/// Update rules for Services: clusterIP immutability (`kubectl replace` without `clusterIP`
/// is article 000's gotcha) and dropping fields that the new type no longer allows.
fn service_update(new: &mut Service, old: &Service, mode: UpdateMode) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let old_ty = old.spec.service_type();
    let new_ty = new.spec.service_type();
    if new_ty == ServiceType::ExternalName || old_ty == ServiceType::ExternalName {
        if new_ty == ServiceType::ExternalName {
            // Changing to ExternalName releases the ClusterIP.
            new.spec.cluster_ip = ClusterIp::Unset;
            new.spec.cluster_ips.clear();
            new.spec.ip_families.clear();
            new.spec.ip_family_policy = None;
            new.spec.internal_traffic_policy = None;
        }
        return errs;
    }
    if mode == UpdateMode::Merge && new.spec.cluster_ip.is_unset() {
        new.spec.cluster_ip = old.spec.cluster_ip.clone();
        if new.spec.cluster_ips.is_empty() {
            new.spec.cluster_ips = old.spec.cluster_ips.clone();
        }
    }
    if new.spec.cluster_ip != old.spec.cluster_ip {
        errs.push(FieldError::invalid(
            "spec.clusterIP",
            BadValue::Str(new.spec.cluster_ip.to_string()),
            "field is immutable",
        ));
    }
    // Leaving NodePort/LoadBalancer drops the node ports (the strategy's dropTypeDependentFields).
    let was_external = matches!(old_ty, ServiceType::NodePort | ServiceType::LoadBalancer);
    if was_external && new_ty == ServiceType::ClusterIP {
        for (np, op) in new.spec.ports.iter_mut().zip(old.spec.ports.iter()) {
            if np.node_port == op.node_port {
                np.node_port = None;
            }
        }
        if new.spec.external_traffic_policy == old.spec.external_traffic_policy {
            new.spec.external_traffic_policy = None;
        }
    }
    if old_ty == ServiceType::LoadBalancer && new_ty != ServiceType::LoadBalancer {
        if new.spec.health_check_node_port == old.spec.health_check_node_port {
            new.spec.health_check_node_port = None;
        }
        if new.spec.allocate_load_balancer_node_ports == old.spec.allocate_load_balancer_node_ports {
            new.spec.allocate_load_balancer_node_ports = None;
        }
    }
    errs
}

fn keep_status(new: &mut Object, old: &Object) {
    macro_rules! keep {
        ($n:expr, $o:expr) => {
            if $n.status.is_none() {
                $n.status = $o.status.clone();
            }
        };
    }
    match (new, old) {
        (Object::Pod(n), Object::Pod(o)) => keep!(n, o),
        (Object::Service(n), Object::Service(o)) => keep!(n, o),
        (Object::Node(n), Object::Node(o)) => keep!(n, o),
        (Object::Deployment(n), Object::Deployment(o)) => keep_workload(n, o),
        (Object::ReplicaSet(n), Object::ReplicaSet(o)) => keep_workload(n, o),
        (Object::StatefulSet(n), Object::StatefulSet(o)) => keep_workload(n, o),
        (Object::DaemonSet(n), Object::DaemonSet(o)) => keep_workload(n, o),
        // The Gateway API CRDs have a status subresource: a write of the main resource keeps it.
        (Object::GatewayClass(n), Object::GatewayClass(o)) => n.status = o.status.clone(),
        (Object::Gateway(n), Object::Gateway(o)) => n.status = o.status.clone(),
        (Object::HttpRoute(n), Object::HttpRoute(o)) => n.status = o.status.clone(),
        _ => {}
    }
}

fn keep_workload<S, T: Clone>(n: &mut Workload<S, T>, o: &Workload<S, T>) {
    if n.status.is_none() {
        n.status = o.status.clone();
    }
}

/// A condition of the Gateway API CRDs' default status (`Waiting for controller`).
fn pending_condition(type_: &str) -> serde_json::Value {
    serde_json::json!({
        "lastTransitionTime": "1970-01-01T00:00:00Z",
        "message": "Waiting for controller",
        "reason": "Pending",
        "status": "Unknown",
        "type": type_,
    })
}

/// Whether the registry keeps `metadata.generation` for a kind: the kinds whose registry
/// strategy sets `Generation = 1` in `PrepareForCreate` (`pkg/registry/.../strategy.go`: pods,
/// the workloads, EndpointSlices, Ingresses, IngressClasses, webhook configurations). Services,
/// Endpoints, Nodes, Namespaces, ConfigMaps, Secrets and ServiceCIDRs never get one, as
/// `kubectl get svc -o yaml` on a real cluster shows.
/// Which checks a write gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Checks {
    /// Everything the API server checks (every write from a user, a manifest or kubectl).
    All,
    /// A controller's object built from stored, validated objects only — a pod from a
    /// validated template under a generated name, Endpoints and EndpointSlices from pods and
    /// Services — which the API server's validation passes by construction. Validation runs
    /// in debug builds only, where a failure is a netsim bug and fails the write (so the test
    /// suite checks every such object); admission and allocation still run.
    Built,
}

impl Checks {
    fn validate(self, obj: &Object) -> Vec<FieldError> {
        if self == Checks::Built && !cfg!(debug_assertions) {
            return Vec::new();
        }
        validation::validate(obj)
    }
}

fn has_generation(kind: Kind) -> bool {
    match kind {
        Kind::Pod
        | Kind::Deployment
        | Kind::ReplicaSet
        | Kind::StatefulSet
        | Kind::DaemonSet
        | Kind::EndpointSlice
        | Kind::Ingress
        | Kind::IngressClass
        | Kind::ValidatingWebhookConfiguration
        | Kind::CustomResourceDefinition
        | Kind::GatewayClass
        | Kind::Gateway
        | Kind::HttpRoute
        | Kind::ReferenceGrant => true,
        Kind::Namespace
        | Kind::Node
        | Kind::Service
        | Kind::Endpoints
        | Kind::ServiceCidr
        | Kind::ConfigMap
        | Kind::Secret
        | Kind::KubeProxyConfiguration
        | Kind::KubeletConfiguration => false,
    }
}

/// True if anything but metadata and status differs (what bumps `metadata.generation`): the
/// typed spec where the kind has one, the serialized form otherwise.
fn spec_changed(new: &Object, old: &Object) -> bool {
    macro_rules! spec_differs {
        ($n:expr, $o:expr) => {
            $n.spec != $o.spec || $n.api_version != $o.api_version || $n.kind != $o.kind
        };
    }
    match (new, old) {
        // Typed fields serialize one to one, so the typed comparison decides alone (no
        // serialization on the write path).
        (Object::Pod(n), Object::Pod(o)) => spec_differs!(n, o),
        (Object::Service(n), Object::Service(o)) => spec_differs!(n, o),
        (Object::Node(n), Object::Node(o)) => spec_differs!(n, o),
        (Object::Deployment(n), Object::Deployment(o)) => spec_differs!(n, o),
        (Object::ReplicaSet(n), Object::ReplicaSet(o)) => spec_differs!(n, o),
        (Object::StatefulSet(n), Object::StatefulSet(o)) => spec_differs!(n, o),
        (Object::DaemonSet(n), Object::DaemonSet(o)) => spec_differs!(n, o),
        // A slice is all spec.
        (Object::EndpointSlice(n), Object::EndpointSlice(o)) => {
            n.address_type != o.address_type
                || n.endpoints != o.endpoints
                || n.ports != o.ports
                || n.api_version != o.api_version
                || n.kind != o.kind
        }
        _ => spec_json(new) != spec_json(old),
    }
}

fn spec_json(obj: &Object) -> serde_json::Value {
    let mut v = serde_json::to_value(obj).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    v
}

/// Decodes a JSON document into the typed object of `kind` (used after patching).
pub fn object_from_json(kind: Kind, doc: serde_json::Value) -> Result<Object, ApiError> {
    fn de<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, ApiError> {
        serde_json::from_value(v).map_err(|e| ApiError::BadRequest { message: e.to_string() })
    }
    Ok(match kind {
        Kind::Namespace => Object::Namespace(de(doc)?),
        Kind::Node => Object::Node(de(doc)?),
        Kind::Pod => Object::Pod(de(doc)?),
        Kind::Deployment => Object::Deployment(de(doc)?),
        Kind::ReplicaSet => Object::ReplicaSet(de(doc)?),
        Kind::StatefulSet => Object::StatefulSet(de(doc)?),
        Kind::DaemonSet => Object::DaemonSet(de(doc)?),
        Kind::Service => Object::Service(de(doc)?),
        Kind::Endpoints => Object::Endpoints(de(doc)?),
        Kind::EndpointSlice => Object::EndpointSlice(de(doc)?),
        Kind::Ingress => Object::Ingress(de(doc)?),
        Kind::IngressClass => Object::IngressClass(de(doc)?),
        Kind::ServiceCidr => Object::ServiceCidr(de(doc)?),
        Kind::ConfigMap => Object::ConfigMap(de(doc)?),
        Kind::Secret => Object::Secret(de(doc)?),
        Kind::ValidatingWebhookConfiguration => Object::ValidatingWebhookConfiguration(de(doc)?),
        Kind::CustomResourceDefinition => Object::CustomResourceDefinition(de(doc)?),
        Kind::GatewayClass => Object::GatewayClass(de(doc)?),
        Kind::Gateway => Object::Gateway(de(doc)?),
        Kind::HttpRoute => Object::HttpRoute(de(doc)?),
        Kind::ReferenceGrant => Object::ReferenceGrant(de(doc)?),
        Kind::KubeProxyConfiguration => Object::KubeProxyConfiguration(de(doc)?),
        Kind::KubeletConfiguration => Object::KubeletConfiguration(de(doc)?),
    })
}
