//! Kubernetes controllers as processes in simulated time: the Deployment, ReplicaSet,
//! StatefulSet and DaemonSet controllers, the scheduler, one kubelet per node, the node
//! lifecycle controller (NotReady after node-monitor-grace-period, taint-manager eviction), the
//! endpoints, EndpointSlice and EndpointSlice-mirroring controllers, a garbage collector for
//! owned objects and the API server's `kubernetes` Service reconciler.
//!
//! Each is a level-triggered reconcile, as kube-controller-manager's sync loops are, fed like an
//! informer's workqueue: it watches the API server's change log ([`watch::Watch`]) and
//! reconciles only the objects a change touched, finding related objects through the store's
//! indexes (by owner, by selector, by node) — never by re-listing and cloning the store. Run by
//! [`Controllers::reconcile`] until nothing changes; timers (container start, probes, grace
//! periods, back-off) are kept per object and reported as the next wake-up so the cluster world
//! can schedule the next call on the sim-core event queue. No threads, no wall
//! clock; every random choice comes from a named `SimRng` fork (`controllers/replicaset`, ...).
//! References: kubernetes/kubernetes pkg/controller/{deployment,replicaset,statefulset,daemon,
//! endpoint,endpointslice,endpointslicemirroring,nodelifecycle}, pkg/kubelet/prober.
//! Left out: proportional scaling during a rollout, resource requests, affinity,
//! preemption, liveness-probe restarts (crashes are signalled by the lead).

mod container_config;
pub mod daemonset;
pub mod default_service;
pub mod deployment;
pub mod endpoints;
pub mod endpointslice;
pub mod events;
pub mod garbage_collector;
pub mod kubelet;
pub mod names;
pub mod node_lifecycle;
mod pod_runtimes;
pub mod pods;
pub mod replicaset;
pub mod scheduler;
pub mod statefulset;
pub mod store;
pub mod termination;
pub mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ipnet::Ipv4Net;
use sim_core::{SimDuration, SimRng, SimTime};

use crate::api::{Container, Kind, Object, ObjectKey, Pod, Probe};
pub use events::{Event, EventType};
pub use store::{ObjectStore, StoreError};

/// Tunables, with kube-controller-manager / kubeadm defaults.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// Service CIDR; the `kubernetes` Service takes its first address.
    pub service_cidr: Ipv4Net,
    /// Cluster CIDR; nodes without `spec.podCIDR` get the /24 at their index.
    pub cluster_cidr: Ipv4Net,
    /// `--node-monitor-grace-period` (40s).
    pub node_monitor_grace_period: SimDuration,
    /// Default `tolerationSeconds` for not-ready/unreachable taints (300s).
    pub eviction_timeout: SimDuration,
    /// Container start-up delay range in milliseconds (inclusive), drawn per start.
    pub startup_delay_ms: (u64, u64),
    /// Taint nodes labelled `node-role.kubernetes.io/control-plane` with NoSchedule (kubeadm).
    pub taint_control_plane: bool,
    /// Create the `default/kubernetes` Service and its endpoints if missing.
    pub default_kubernetes_service: bool,
    /// `status.nodeInfo` the kubelet reports for nodes that have none (VERSION, OS-IMAGE, ...).
    pub node_info: serde_json::Value,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            service_cidr: Ipv4Net::new(std::net::Ipv4Addr::new(10, 96, 0, 0), 12).unwrap_or_default(),
            cluster_cidr: Ipv4Net::new(std::net::Ipv4Addr::new(10, 244, 0, 0), 16).unwrap_or_default(),
            node_monitor_grace_period: SimDuration::from_secs(40),
            eviction_timeout: SimDuration::from_secs(300),
            startup_delay_ms: (1000, 2000),
            taint_control_plane: true,
            default_kubernetes_service: true,
            // What a kind v1.33 node reports.
            node_info: serde_json::json!({
                "architecture": "amd64",
                "containerRuntimeVersion": "containerd://2.1.1",
                "kernelVersion": "6.8.0-60-generic",
                "kubeProxyVersion": "",
                "kubeletVersion": "v1.33.1",
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
            }),
        }
    }
}

/// What one [`Controllers::reconcile`] call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reconciled {
    /// True if any object was created, changed or deleted.
    pub changed: bool,
    /// The next instant a timer (start-up, probe, grace period, back-off, node monitor) fires.
    pub next_wakeup: Option<SimTime>,
}

/// A readiness probe about to run, handed to the probe hook.
#[derive(Clone, Debug)]
pub struct ProbeCheck<'a> {
    /// The pod.
    pub pod: &'a Pod,
    /// The probed container.
    pub container: &'a Container,
    /// The probe.
    pub probe: &'a Probe,
    /// The probed port, resolved against the container's named ports (None for exec probes).
    pub port: Option<i32>,
    /// The pod's IP as the kubelet assigned it (the status may not carry it yet).
    pub pod_ip: Option<std::net::IpAddr>,
    /// When the probe runs.
    pub now: SimTime,
}

/// How a readiness probe ended, as the probe hook decides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeResult {
    /// The app answered (HTTP 2xx/3xx, a connection, exit 0).
    Success,
    /// Nothing listens there: the connection was refused.
    Refused,
    /// The connection was made but no answer came within `timeoutSeconds` (a hung app).
    TimedOut,
    /// An `httpGet` probe got an answer whose status is not 2xx or 3xx (a failure).
    HttpStatus(u16),
}

impl From<bool> for ProbeResult {
    /// `true` is a success, `false` a refused connection.
    fn from(ok: bool) -> Self {
        if ok { ProbeResult::Success } else { ProbeResult::Refused }
    }
}

/// Decides how a readiness probe ends (the lead answers "does the app listen there").
pub type ProbeHook = Box<dyn FnMut(&ProbeCheck<'_>) -> ProbeResult>;

/// A container of a terminating pod gets its stop signal: how long its process takes to exit,
/// when the process is one the world runs (CoreDNS's lameduck); `None` leaves it to the image
/// ([`termination::exit_after_signal`]).
pub type StopHook = Box<dyn FnMut(&ObjectKey, &Pod, &Container) -> Option<SimDuration>>;

/// Timer collection: every component reports instants it wants to be called again.
#[derive(Debug, Default)]
pub struct Wakeups {
    at: BTreeSet<SimTime>,
}

impl Wakeups {
    /// Asks to run again at `t`.
    pub fn at(&mut self, t: SimTime) {
        self.at.insert(t);
    }
    /// The first requested instant strictly after `now`.
    pub fn next_after(&self, now: SimTime) -> Option<SimTime> {
        self.after(now).next()
    }
    /// Every requested instant strictly after `now`, in order.
    pub fn after(&self, now: SimTime) -> impl Iterator<Item = SimTime> + '_ {
        self.at.range((std::ops::Bound::Excluded(now), std::ops::Bound::Unbounded)).copied()
    }
}

/// Random streams, one per controller.
#[derive(Debug)]
pub struct Streams {
    /// ReplicaSet pod names.
    pub replicaset: SimRng,
    /// DaemonSet pod names.
    pub daemonset: SimRng,
    /// EndpointSlice names.
    pub endpointslice: SimRng,
    /// Kubelet start-up delays.
    pub kubelet: SimRng,
}

/// Every controller, with the runtime state that lives outside the API objects.
pub struct Controllers {
    /// Configuration.
    pub config: ControllerConfig,
    pub(crate) rng: Streams,
    pub(crate) pods: pod_runtimes::PodRuntimes,
    pub(crate) nodes: BTreeMap<String, node_lifecycle::NodeRuntime>,
    /// The Endpoints the endpoints controller made (hashed: looked up for every Service it
    /// syncs; only ever merged into a sorted set).
    pub(crate) managed_endpoints: indexmap::IndexSet<ObjectKey, sim_core::hash::FxBuildHasher>,
    pub(crate) events: events::EventLog,
    pub(crate) probe_hook: Option<ProbeHook>,
    pub(crate) stop_hook: Option<StopHook>,
    pub(crate) errors: Vec<String>,
    /// Each controller's watch on the change log.
    pub(crate) watches: Watches,
    /// The kubelets' timers: (instant, pod) — container start, back-off, probe, grace period.
    pub(crate) kubelet_timers: BTreeSet<(SimTime, ObjectKey)>,
    /// Node zones (`topology.kubernetes.io/zone`) as the EndpointSlice controller last saw them.
    pub(crate) zones: BTreeMap<String, String>,
    /// Store revision and timer after the last quiet reconcile (skip identical calls).
    quiet: Option<(u64, Option<SimTime>)>,
    /// Each Deployment's pod-template-hash by uid, with the generation it was computed for:
    /// the template changes only with the generation, and a Deployment syncs on every change
    /// of its pods' readiness.
    pub(crate) template_hashes: indexmap::IndexMap<String, (i64, String), sim_core::hash::FxBuildHasher>,
}

impl fmt::Debug for Controllers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Controllers")
            .field("config", &self.config)
            .field("pods", &self.pods.len())
            .field("nodes", &self.nodes)
            .finish_non_exhaustive()
    }
}

/// One watch per controller.
#[derive(Debug, Default)]
pub(crate) struct Watches {
    pub(crate) node_lifecycle: watch::Watch,
    pub(crate) default_service: watch::Watch,
    pub(crate) garbage_collector: watch::Watch,
    pub(crate) deployment: watch::Watch,
    pub(crate) replicaset: watch::Watch,
    pub(crate) statefulset: watch::Watch,
    pub(crate) daemonset: watch::Watch,
    pub(crate) scheduler: watch::Watch,
    pub(crate) kubelet: watch::Watch,
    pub(crate) endpoints: watch::Watch,
    pub(crate) endpointslice: watch::Watch,
    pub(crate) mirroring: watch::Watch,
}

impl Watches {
    /// Every controller's watch.
    fn all_mut(&mut self) -> [&mut watch::Watch; 12] {
        [
            &mut self.node_lifecycle,
            &mut self.default_service,
            &mut self.garbage_collector,
            &mut self.deployment,
            &mut self.replicaset,
            &mut self.statefulset,
            &mut self.daemonset,
            &mut self.scheduler,
            &mut self.kubelet,
            &mut self.endpoints,
            &mut self.endpointslice,
            &mut self.mirroring,
        ]
    }

    /// The oldest log position any watch has read up to.
    fn min_seen(&mut self) -> u64 {
        self.all_mut().into_iter().map(|w| w.seen()).min().unwrap_or(0)
    }

    fn resync(&mut self) {
        for w in self.all_mut() {
            w.resync();
        }
    }
}

/// Passes per reconcile before giving up on reaching a fixpoint (a safety net, never expected).
const MAX_PASSES: usize = 64;

impl Controllers {
    /// Controllers with default config, random streams forked from `rng`.
    pub fn new(rng: &SimRng) -> Self {
        Self::with_config(rng, ControllerConfig::default())
    }

    /// Controllers with explicit config.
    pub fn with_config(rng: &SimRng, config: ControllerConfig) -> Self {
        Controllers {
            config,
            rng: Streams {
                replicaset: rng.fork("controllers/replicaset"),
                daemonset: rng.fork("controllers/daemonset"),
                endpointslice: rng.fork("controllers/endpointslice"),
                kubelet: rng.fork("controllers/kubelet"),
            },
            pods: pod_runtimes::PodRuntimes::default(),
            nodes: BTreeMap::new(),
            managed_endpoints: Default::default(),
            events: events::EventLog::default(),
            probe_hook: None,
            stop_hook: None,
            errors: Vec::new(),
            watches: Watches::default(),
            kubelet_timers: BTreeSet::new(),
            zones: BTreeMap::new(),
            quiet: None,
            template_hashes: Default::default(),
        }
    }

    /// Installs the readiness-probe oracle (default: every probe succeeds).
    pub fn set_probe_hook(&mut self, hook: ProbeHook) {
        self.touch();
        self.probe_hook = Some(hook);
    }

    /// Installs the processes' answer to their stop signal (default: by the image).
    pub fn set_stop_hook(&mut self, hook: StopHook) {
        self.stop_hook = Some(hook);
    }

    /// Runs every controller until the store stops changing; returns what happened and when
    /// the next timer fires.
    pub fn reconcile(&mut self, store: &mut dyn ObjectStore, now: SimTime) -> Reconciled {
        // Nothing written since the last quiet pass and no timer due: nothing to do.
        if let Some((quiet_rev, wake)) = self.quiet
            && store.revision() == quiet_rev
            && wake.is_none_or(|w| now < w)
            && self.probe_hook.is_none()
        {
            return Reconciled { changed: false, next_wakeup: wake };
        }
        let mut any = false;
        let mut wake = Wakeups::default();
        for _ in 0..MAX_PASSES {
            wake = Wakeups::default();
            let mut changed = false;
            changed |= node_lifecycle::reconcile(self, store, now, &mut wake);
            changed |= default_service::reconcile(self, store, now);
            changed |= garbage_collector::reconcile(self, store, now);
            changed |= deployment::reconcile(self, store, now);
            changed |= replicaset::reconcile(self, store, now);
            changed |= statefulset::reconcile(self, store, now);
            changed |= daemonset::reconcile(self, store, now);
            changed |= scheduler::reconcile(self, store, now);
            changed |= kubelet::reconcile(self, store, now, &mut wake);
            changed |= endpoints::reconcile(self, store, now);
            changed |= endpointslice::reconcile(self, store, now);
            changed |= endpointslice::reconcile_mirroring(self, store, now);
            any |= changed;
            if !changed {
                break;
            }
        }
        let next_wakeup = wake.next_after(now);
        self.quiet = Some((store.revision(), next_wakeup));
        Reconciled { changed: any, next_wakeup }
    }

    /// The change-log position every controller has read up to (the log may be compacted
    /// there).
    pub fn log_read_upto(&mut self) -> u64 {
        self.watches.min_seen()
    }

    /// Keeps the most recent store errors (a rejected write is retried every pass).
    fn record_error(&mut self, e: String) {
        const KEEP: usize = 100;
        if self.errors.last() != Some(&e) {
            self.errors.push(e);
        }
        if self.errors.len() > KEEP {
            let extra = self.errors.len() - KEEP;
            self.errors.drain(..extra);
        }
    }

    /// Marks runtime state changed outside the store (node up/down, crashes): the next pass
    /// reconciles everything.
    pub(crate) fn touch(&mut self) {
        self.quiet = None;
        self.watches.resync();
    }

    /// Events recorded so far (`kubectl describe` / `get events`), oldest first.
    pub fn events(&self) -> &[Event] {
        self.events.all()
    }

    /// Store writes that failed (kept for diagnostics; controllers retry on the next pass).
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    pub(crate) fn write(
        &mut self,
        store: &mut dyn ObjectStore,
        obj: Object,
        now: SimTime,
        create: bool,
    ) -> bool {
        let res = if create { store.create(obj, now) } else { store.update(obj, now) };
        match res {
            Ok(()) => true,
            Err(e) => {
                self.record_error(e.to_string());
                false
            }
        }
    }

    /// Like [`Controllers::write`], for an object built from stored, validated objects only
    /// (see [`ObjectStore::write_built`]).
    pub(crate) fn write_built(
        &mut self,
        store: &mut dyn ObjectStore,
        obj: Object,
        now: SimTime,
        create: bool,
    ) -> bool {
        match store.write_built(obj, create, now) {
            Ok(()) => true,
            Err(e) => {
                self.record_error(e.to_string());
                false
            }
        }
    }

    /// Writes `status` onto the stored object `key` in place (see [`ObjectStore::set_status`]);
    /// true if it changed.
    pub(crate) fn set_status(
        &mut self,
        store: &mut dyn ObjectStore,
        key: &ObjectKey,
        status: crate::api::ObjectStatus,
        now: SimTime,
    ) -> bool {
        match store.set_status(key, status, now) {
            Ok(changed) => changed,
            Err(e) => {
                self.record_error(e.to_string());
                false
            }
        }
    }

    /// Binds a pod (see [`ObjectStore::bind`]).
    pub(crate) fn bind(
        &mut self,
        store: &mut dyn ObjectStore,
        key: &ObjectKey,
        node: &str,
        now: SimTime,
    ) -> bool {
        match store.bind(key, node, now) {
            Ok(()) => true,
            Err(e) => {
                self.record_error(e.to_string());
                false
            }
        }
    }

    pub(crate) fn remove(&mut self, store: &mut dyn ObjectStore, key: &ObjectKey, now: SimTime) -> bool {
        match store.delete(key, now) {
            Ok(_) => true,
            Err(e) => {
                self.record_error(e.to_string());
                false
            }
        }
    }
}

/// Every object of one kind, unwrapped and cloned (for small kinds and tests; controllers
/// read the store by reference).
macro_rules! typed_list {
    ($fn:ident, $variant:ident, $ty:ty) => {
        /// Every object of this kind in the store, in key order.
        pub fn $fn(store: &dyn ObjectStore) -> Vec<$ty> {
            store
                .list(Kind::$variant)
                .filter_map(|o| match o {
                    Object::$variant(x) => Some(<_ as std::borrow::Borrow<$ty>>::borrow(x).clone()),
                    _ => None,
                })
                .collect()
        }
    };
}

typed_list!(list_pods, Pod, Pod);
typed_list!(list_nodes, Node, crate::api::Node);
typed_list!(list_services, Service, crate::api::Service);
typed_list!(list_endpoints, Endpoints, crate::api::Endpoints);
typed_list!(list_slices, EndpointSlice, crate::api::EndpointSlice);
typed_list!(list_deployments, Deployment, crate::api::Deployment);
typed_list!(list_replicasets, ReplicaSet, crate::api::ReplicaSet);
typed_list!(list_statefulsets, StatefulSet, crate::api::StatefulSet);
typed_list!(list_daemonsets, DaemonSet, crate::api::DaemonSet);

/// Effective namespace of metadata (`default` when empty).
pub fn ns_of(meta: &crate::api::ObjectMeta) -> &str {
    if meta.namespace.is_empty() { "default" } else { &meta.namespace }
}
