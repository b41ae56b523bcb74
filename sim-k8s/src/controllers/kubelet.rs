//! One kubelet per node: takes pods bound to its node through Pending/ContainerCreating to
//! Running after a start-up delay (drawn from `controllers/kubelet`), assigns the pod IP with
//! host-local-style IPAM (first free address from `.2` of the node's pod CIDR; `.1` is the
//! bridge gateway; hostNetwork pods use the node IP), runs readiness probes
//! (`initialDelaySeconds`, `periodSeconds`, success/failure thresholds; the outcome comes from
//! the probe hook, default "the app listens"; a timed-out probe counts `timeoutSeconds` after
//! it started), restarts crashed containers with the
//! CrashLoopBackOff back-off of `flowcontrol.Backoff` as `doBackOff` uses it (the first crash
//! restarts at once, the next ones wait 10s doubling to 5m, and a crash more than 10 minutes
//! after the last restart starts over; a crash that waits is a `BackOff` event, recorded again
//! at each of the pod worker's 10 s resyncs while it waits) and finishes graceful deletion when the
//! containers have stopped — preStop hooks, then the image's answer to SIGTERM, SIGKILL at the
//! end of the grace period ([`super::termination`]). Status is written in the API's shape
//! (conditions, containerStatuses) so kubectl derives READY/STATUS/RESTARTS exactly as it does
//! from a real pod.
//! References: pkg/kubelet/prober, pkg/kubelet/status, containernetworking host-local.
//! Left out: init containers, liveness/startup probes, image pulls, volumes; a kubelet on a
//! down node does nothing (its pods keep their last status until the node returns).

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::Ipv4Net;
use sim_core::{SimDuration, SimTime};

use super::pods::{deletion_deadline, grace_seconds, is_terminal, is_terminating, resolve_container_port};
use super::store::timestamp;
use super::termination::stop_after;
use super::{Controllers, EventType, ObjectStore, ProbeCheck, ProbeResult, Wakeups};
use crate::api::pod::{PodIp, RestartPolicy};
use crate::api::{
    ContainerStateRunning, ContainerStateStatus, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, Kind, Node, Object, ObjectKey, Pod, PodCondition, PodStatus,
};

/// Back-off after the first crash.
pub const BACKOFF_INITIAL: SimDuration = SimDuration::from_secs(10);
/// Back-off cap.
pub const BACKOFF_MAX: SimDuration = SimDuration::from_secs(300);

/// A container's entry in the kubelet's back-off table (`flowcontrol.backoffEntry`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The wait the next crash gets.
    pub delay: SimDuration,
    /// When the entry last moved (the last restart).
    pub last_update: SimTime,
}

impl Backoff {
    /// The wait before restarting a container that exited at `finished` (`IsInBackOffSince`),
    /// and the entry after the restart (`Next`): no entry, or one older than twice the cap
    /// (`hasExpired`), restarts at once with a fresh 10s entry; otherwise the crash waits the
    /// entry's delay, which then doubles up to the cap.
    pub fn after_exit(entry: Option<Backoff>, finished: SimTime) -> (SimDuration, Backoff) {
        let cap = BACKOFF_MAX + BACKOFF_MAX;
        match entry {
            Some(b) if finished.saturating_since(b.last_update) <= cap => {
                let doubled = b.delay + b.delay;
                let delay = if doubled > BACKOFF_MAX { BACKOFF_MAX } else { doubled };
                (b.delay, Backoff { delay, last_update: finished.saturating_add(b.delay) })
            }
            _ => (SimDuration::ZERO, Backoff { delay: BACKOFF_INITIAL, last_update: finished }),
        }
    }
}
/// Probes evaluated per container per reconcile at most (catch-up bound after a long gap).
const MAX_PROBES_PER_PASS: usize = 10_000;

/// Lifecycle of one container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContainerState {
    /// Being created; starts at the instant.
    Creating(SimTime),
    /// Running since the instant.
    Running(SimTime),
    /// Crashed; restarts at the instant.
    BackOff(SimTime),
    /// Exited for good with this code (restartPolicy Never, or OnFailure after exit 0).
    Exited(i32),
    /// Not created: an environment source is missing (`CreateContainerConfigError`); the pod
    /// worker tries again at the instant.
    ConfigError {
        /// The kubelet's error (`configmap "app-config" not found`).
        message: String,
        /// The next try.
        retry: SimTime,
    },
}

/// Kubelet-side state of one container.
#[derive(Clone, Debug)]
pub struct ContainerRuntime {
    /// Lifecycle state.
    pub state: ContainerState,
    /// Readiness.
    pub ready: bool,
    /// Restart count.
    pub restarts: u32,
    /// (started, finished, exit code) of the last run that ended.
    pub last_exit: Option<(SimTime, SimTime, i32)>,
    /// The kubelet's back-off entry for this container (None before its first crash).
    pub backoff: Option<Backoff>,
    /// While in back-off: the pod worker's next resync, which finds the container still
    /// waiting and records a `BackOff` event again.
    backoff_sync: Option<SimTime>,
    next_probe: Option<SimTime>,
    successes: i32,
    failures: i32,
}

/// Kubelet-side state of one pod.
#[derive(Clone, Debug)]
pub struct PodRuntime {
    /// The pod's uid (a re-created pod with the same name starts over).
    pub uid: String,
    /// Node.
    pub node: String,
    /// Pod IP.
    pub ip: Option<IpAddr>,
    /// Node IP.
    pub host_ip: Option<IpAddr>,
    /// When the kubelet took the pod.
    pub started: SimTime,
    /// Per container, in spec order.
    pub containers: Vec<ContainerRuntime>,
    killing_reported: bool,
    /// When a terminating pod's containers have all stopped (preStop hooks, then each
    /// image's answer to SIGTERM; [`super::termination`]), fixed when the kubelet first sees
    /// the deletion.
    stops_at: Option<SimTime>,
    /// The pod's resourceVersion when its status was last written or found current; while the
    /// pod is still at that version and `dirty` is unset, it needs no new status (comparing a
    /// version is cheaper than comparing whole statuses on every wake-up).
    written_rv: Option<String>,
    dirty: bool,
}

/// The pod CIDR of a node: `spec.podCIDR`, else the /24 at the node's index in the cluster CIDR.
pub fn node_pod_cidr(node: &Node, index: usize, cluster: Ipv4Net) -> Option<Ipv4Net> {
    if let Some(c) = node.spec.pod_cidr.as_deref().or(node.spec.pod_cidrs.first().map(String::as_str))
        && let Ok(net) = c.parse::<Ipv4Net>()
    {
        return Some(net);
    }
    cluster.subnets(24).ok()?.nth(index)
}

/// [`node_pod_cidr`], computing the node's index only when the node has no `spec.podCIDR`.
fn node_pod_cidr_lazy(node: &Node, index: impl FnOnce() -> usize, cluster: Ipv4Net) -> Option<Ipv4Net> {
    if node.spec.pod_cidr.is_some() || !node.spec.pod_cidrs.is_empty() {
        return node_pod_cidr(node, 0, cluster);
    }
    node_pod_cidr(node, index(), cluster)
}

impl Controllers {
    /// The lead signals that a container crashed (exit code 1): see [`Self::container_exited`].
    pub fn crash_container(
        &mut self,
        store: &dyn ObjectStore,
        pod: &ObjectKey,
        container: Option<&str>,
        now: SimTime,
    ) -> bool {
        self.container_exited(store, pod, container, 1, now)
    }

    /// The lead signals that a container's process exited with `exit_code` (`container` None =
    /// the first). Per `restartPolicy` the kubelet restarts it after the CrashLoopBackOff delay
    /// (Always; OnFailure with a non-zero code) or leaves it terminated — the pod then ends
    /// `Succeeded` (all codes 0, STATUS `Completed`) or `Failed`. Returns false if the container
    /// is not running here.
    pub fn container_exited(
        &mut self,
        store: &dyn ObjectStore,
        pod: &ObjectKey,
        container: Option<&str>,
        exit_code: i32,
        now: SimTime,
    ) -> bool {
        let Some(Object::Pod(spec)) = store.get(pod) else { return false };
        self.touch();
        let idx = match container {
            Some(n) => spec.spec.containers.iter().position(|c| c.name == n),
            None => Some(0),
        };
        let restart = match spec.spec.restart_policy {
            Some(RestartPolicy::Never) => false,
            Some(RestartPolicy::OnFailure) => exit_code != 0,
            _ => true,
        };
        let Some(rt) = self.pods.get_mut(pod) else { return false };
        rt.dirty = true;
        let Some(c) = idx.and_then(|i| rt.containers.get_mut(i)) else { return false };
        let ContainerState::Running(since) = c.state else { return false };
        c.ready = false;
        c.successes = 0;
        c.failures = 0;
        c.next_probe = None;
        c.last_exit = Some((since, now, exit_code));
        if !restart {
            c.state = ContainerState::Exited(exit_code);
        } else {
            // `restartCount` counts the containers started after the first: it moves on when
            // the next one starts (kuberuntime's `startContainer`), not while it waits.
            let (wait, entry) = Backoff::after_exit(c.backoff, now);
            c.backoff = Some(entry);
            c.state = ContainerState::BackOff(now.saturating_add(wait));
            // The sync after the exit finds it in back-off (`doBackOff`): a BackOff event.
            if wait > SimDuration::ZERO {
                let name = idx.and_then(|i| spec.spec.containers.get(i)).map_or("", |c| c.name.as_str());
                let msg = backoff_message(name, pod, &rt.uid);
                self.events.record(pod, EventType::Warning, "BackOff", "kubelet", msg, now);
                c.backoff_sync = Some(now.saturating_add(POD_WORKER_BACKOFF));
            }
        }
        true
    }

    /// The lead learned that the readiness probes `pod`'s running containers passed came
    /// before their process could answer (netsim's kubelet probes at the instant a container
    /// starts): those results do not count, the containers are not ready, and the kubelet
    /// probes them again at once. Returns false if the pod is not running here.
    pub fn probe_anew(&mut self, store: &dyn ObjectStore, pod: &ObjectKey, now: SimTime) -> bool {
        let Some(Object::Pod(spec)) = store.get(pod) else { return false };
        let Some(rt) = self.pods.get_mut(pod) else { return false };
        let probed = spec.spec.containers.iter().map(|c| c.readiness_probe.is_some());
        for (c, _) in rt.containers.iter_mut().zip(probed).filter(|(_, probed)| *probed) {
            if matches!(c.state, ContainerState::Running(_)) {
                c.ready = false;
                c.successes = 0;
                c.failures = 0;
                c.next_probe = Some(now);
            }
        }
        rt.dirty = true;
        self.kubelet_timers.insert((now, pod.clone()));
        self.touch();
        true
    }

    /// The kubelet state of a pod (IP, restarts, ...), for the lead's dataplane.
    pub fn pod_runtime(&self, pod: &ObjectKey) -> Option<&PodRuntime> {
        self.pods.get(pod)
    }
}

/// Runs every node's kubelet once, over the pods a change touched or a timer is due for.
pub fn reconcile(c: &mut Controllers, store: &mut dyn ObjectStore, now: SimTime, wake: &mut Wakeups) -> bool {
    let changes = c.watches.kubelet.poll(store);
    let live = |store: &dyn ObjectStore, k: &ObjectKey, rt: &PodRuntime| {
        store.get(k).and_then(Object::meta).is_some_and(|m| m.uid == rt.uid)
    };
    let mut dirty: BTreeSet<ObjectKey> = BTreeSet::new();
    match changes {
        None => {
            // Forget pods that are gone or were re-created under the same name.
            c.pods.retain(|k, rt| live(store, k, rt));
            dirty.extend(store.list(Kind::Pod).map(|o| o.key("default")));
        }
        Some(changes) => {
            for ch in changes.iter().filter(|ch| ch.key.kind == Kind::Pod) {
                // The kubelet's own status write tells it nothing new (what it runs moves on
                // only at its timers, which wake it below).
                let own = ch.change == crate::apiserver::ChangeType::Modified
                    && c.pods.get(&ch.key).is_some_and(|rt| {
                        !rt.dirty
                            && rt.written_rv.as_deref().and_then(|v| v.parse::<u64>().ok())
                                == Some(ch.resource_version)
                    });
                if own {
                    continue;
                }
                if c.pods.get(&ch.key).is_some_and(|rt| {
                    store.get_changed(ch).and_then(Object::meta).is_none_or(|m| m.uid != rt.uid)
                }) {
                    c.pods.remove(&ch.key);
                }
                dirty.insert(ch.key.clone());
            }
        }
    }
    while let Some((t, _)) = c.kubelet_timers.first()
        && *t <= now
    {
        if let Some((_, k)) = c.kubelet_timers.pop_first() {
            dirty.insert(k);
        }
    }
    // Pods that arrive with an address (a cluster dump's running pods) hold it before anything
    // of this pass is allocated, whatever their order.
    c.pods.clear_claims();
    for key in &dirty {
        if c.pods.contains_key(key) {
            continue;
        }
        if let Some(Object::Pod(p)) = store.get(key)
            && !p.spec.node_name.is_empty()
            && p.spec.host_network != Some(true)
            && let Some(ip) = p.status.as_ref().and_then(|s| s.pod_ip)
        {
            c.pods.claim(&p.spec.node_name, ip);
        }
    }
    let mut changed = false;
    for key in dirty {
        let Some(shared) = store.shared(&key) else { continue };
        let Object::Pod(pod) = shared.as_ref() else { continue };
        if pod.spec.node_name.is_empty() {
            continue;
        }
        let Some(Object::Node(node)) = store.get_named(Kind::Node, "", &pod.spec.node_name) else { continue };
        if c.nodes.get(&node.metadata.name).is_some_and(|n| n.down_since.is_some()) {
            continue;
        }
        let mut timers = Wakeups::default();
        if is_terminating(pod) {
            let deadline = deletion_deadline(pod).unwrap_or(now);
            let grace =
                pod.metadata.deletion_grace_period_seconds.unwrap_or_else(|| grace_seconds(pod)).max(0);
            let grace = SimDuration::from_secs(grace as u64);
            // The containers stop (hooks run, SIGTERM answered or SIGKILL at the deadline);
            // then the kubelet deletes the pod object, as its status manager does once
            // nothing runs.
            let stopped = match c.pods.get_mut(&key) {
                Some(rt) => *rt.stops_at.get_or_insert_with(|| {
                    let stop_hook = &mut c.stop_hook;
                    let after = stop_after(pod, grace, |ctr| {
                        stop_hook.as_mut().and_then(|h| h(&key, pod, ctr)).map(Some)
                    });
                    now.saturating_add(after)
                }),
                None => now,
            }
            .min(deadline);
            if now >= stopped || is_terminal(pod) || !c.pods.contains_key(&key) {
                changed |= c.remove(store, &key, now);
                c.pods.remove(&key);
                continue;
            }
            timers.at(stopped);
            if let Some(rt) = c.pods.get_mut(&key)
                && !rt.killing_reported
            {
                rt.killing_reported = true;
                for ct in pod.spec.containers.iter() {
                    c.events.record(
                        &key,
                        EventType::Normal,
                        "Killing",
                        "kubelet",
                        format!("Stopping container {}", ct.name),
                        now,
                    );
                }
            }
        } else if !is_terminal(pod) {
            if !c.pods.contains_key(&key) {
                let Some(rt) = admit(c, store, pod, now) else { continue };
                c.pods.insert(key.clone(), rt);
            }
            advance(c, store, &key, pod, now, &mut timers);
            let unchanged = c.pods.get(&key).is_some_and(|rt| {
                !rt.dirty && rt.written_rv.as_deref() == Some(pod.metadata.resource_version.as_str())
            });
            if !unchanged {
                changed |= write_status(c, store, &key, shared, now);
            }
        }
        for t in timers.after(now) {
            c.kubelet_timers.insert((t, key.clone()));
        }
    }
    if let Some((t, _)) = c.kubelet_timers.first() {
        wake.at(*t);
    }
    changed
}

fn admit(c: &mut Controllers, store: &dyn ObjectStore, pod: &Pod, now: SimTime) -> Option<PodRuntime> {
    let Some(Object::Node(node)) = store.get_named(Kind::Node, "", &pod.spec.node_name) else { return None };
    let host_ip = node.internal_ip();
    let ip = if pod.spec.host_network == Some(true) {
        host_ip
    } else if let Some(ip) = pod.status.as_ref().and_then(|s| s.pod_ip) {
        Some(ip)
    } else {
        // host-local on this node, round-robin over the node's pod CIDR.
        let index = || store.list(Kind::Node).position(|n| n.name() == node.metadata.name).unwrap_or(0);
        node_pod_cidr_lazy(node, index, c.config.cluster_cidr)
            .and_then(|cidr| c.pods.allocate(&node.metadata.name, cidr))
    };
    let (lo, hi) = c.config.startup_delay_ms;
    let delay = if hi > lo { c.rng.kubelet.below(lo, hi + 1) } else { lo };
    let start = now.saturating_add(SimDuration::from_millis(delay));
    Some(PodRuntime {
        uid: pod.metadata.uid.clone(),
        node: node.metadata.name.clone(),
        ip,
        host_ip,
        started: now,
        containers: pod
            .spec
            .containers
            .iter()
            .map(|_| ContainerRuntime {
                state: ContainerState::Creating(start),
                ready: false,
                restarts: 0,
                last_exit: None,
                backoff: None,
                backoff_sync: None,
                next_probe: None,
                successes: 0,
                failures: 0,
            })
            .collect(),
        killing_reported: false,
        stops_at: None,
        written_rv: None,
        dirty: true,
    })
}

/// The pod worker's retry after a failed sync (`backOffPeriod` in `pkg/kubelet/kubelet.go`;
/// upstream adds up to 50% jitter, netsim none).
const POD_WORKER_BACKOFF: SimDuration = SimDuration::from_secs(10);

/// `doBackOff`'s event text (`kuberuntime_manager.go`), the pod as `format.Pod` writes it.
fn backoff_message(container: &str, pod: &ObjectKey, uid: &str) -> String {
    format!("Back-off restarting failed container {container} in pod {}_{}({uid})", pod.name, pod.namespace)
}

fn advance(
    c: &mut Controllers,
    store: &dyn ObjectStore,
    key: &ObjectKey,
    pod: &Pod,
    now: SimTime,
    wake: &mut Wakeups,
) {
    let has_hook = c.probe_hook.is_some();
    // In place: advancing never changes the pod's node or address, which the runtimes'
    // address index is keyed by.
    let Some(rt) = c.pods.get_mut(key) else { return };
    let before: Vec<(ContainerState, bool)> =
        rt.containers.iter().map(|c| (c.state.clone(), c.ready)).collect();
    for (i, ct) in rt.containers.iter_mut().enumerate() {
        let Some(spec) = pod.spec.containers.get(i) else { continue };
        match ct.state {
            ContainerState::BackOff(at) if now < at => {
                // Each resync of the pod worker meanwhile finds it still waiting.
                while let Some(t) = ct.backoff_sync.filter(|t| *t <= now && *t < at) {
                    let msg = backoff_message(&spec.name, key, &rt.uid);
                    c.events.record(key, EventType::Warning, "BackOff", "kubelet", msg, t);
                    ct.backoff_sync = Some(t.saturating_add(POD_WORKER_BACKOFF));
                }
                if let Some(t) = ct.backoff_sync.filter(|t| *t < at) {
                    wake.at(t);
                }
                wake.at(at);
            }
            ContainerState::ConfigError { retry, .. } if now < retry => wake.at(retry),
            ContainerState::Creating(at) | ContainerState::BackOff(at) if now < at => wake.at(at),
            ContainerState::ConfigError { retry: at, .. }
            | ContainerState::Creating(at)
            | ContainerState::BackOff(at) => {
                // generateContainerConfig: a missing environment source keeps the container
                // from being created (after its image is there); the pod worker tries again.
                let first = !matches!(ct.state, ContainerState::BackOff(_));
                if first {
                    c.events.record(
                        key,
                        EventType::Normal,
                        "Pulled",
                        "kubelet",
                        format!("Container image \"{}\" already present on machine", spec.image),
                        at,
                    );
                }
                if first && let Some(message) = super::container_config::env_source_error(store, pod, spec) {
                    c.events.record(
                        key,
                        EventType::Warning,
                        "Failed",
                        "kubelet",
                        format!("Error: {message}"),
                        at,
                    );
                    let retry = at.saturating_add(POD_WORKER_BACKOFF);
                    ct.state = ContainerState::ConfigError { message, retry };
                    wake.at(retry);
                    continue;
                }
                if !first {
                    ct.restarts += 1;
                }
                c.events.record(
                    key,
                    EventType::Normal,
                    "Created",
                    "kubelet",
                    format!("Created container: {}", spec.name),
                    at,
                );
                c.events.record(
                    key,
                    EventType::Normal,
                    "Started",
                    "kubelet",
                    format!("Started container {}", spec.name),
                    at,
                );
                ct.state = ContainerState::Running(at);
                ct.backoff_sync = None;
                ct.ready = spec.readiness_probe.is_none();
            }
            _ => {}
        }
        let ContainerState::Running(since) = ct.state else { continue };
        let Some(probe) = &spec.readiness_probe else { continue };
        let period = SimDuration::from_secs(probe.period_seconds.unwrap_or(10).max(1) as u64);
        let first = since
            .saturating_add(SimDuration::from_secs(probe.initial_delay_seconds.unwrap_or(0).max(0) as u64));
        let mut next = ct.next_probe.unwrap_or(first);
        let port = probe
            .http_get
            .as_ref()
            .map(|h| &h.port)
            .or(probe.tcp_socket.as_ref().map(|t| &t.port))
            .and_then(|p| resolve_container_port(pod, p));
        let mut awaiting = false;
        for _ in 0..MAX_PROBES_PER_PASS {
            if next > now {
                break;
            }
            let check = ProbeCheck { pod, container: spec, probe, port, pod_ip: rt.ip, now: next };
            let result = match c.probe_hook.as_mut() {
                Some(h) => h(&check),
                None => ProbeResult::Success,
            };
            // A probe that times out ends `timeoutSeconds` after it started: its result counts
            // then (the hook is asked again at that pass, about the same start).
            let timeout = SimDuration::from_secs(probe.timeout_seconds.unwrap_or(1).max(1) as u64);
            let ended = if result == ProbeResult::TimedOut { next.saturating_add(timeout) } else { next };
            if ended > now {
                wake.at(ended);
                awaiting = true;
                break;
            }
            if result == ProbeResult::Success {
                ct.successes += 1;
                ct.failures = 0;
                if ct.successes >= probe.success_threshold.unwrap_or(1).max(1) {
                    ct.ready = true;
                }
            } else {
                ct.failures += 1;
                ct.successes = 0;
                if ct.failures >= probe.failure_threshold.unwrap_or(3).max(1) || !ct.ready {
                    ct.ready = false;
                }
                let target = match (port, rt.ip) {
                    (Some(p), Some(ip)) => format!("{ip}:{p}"),
                    _ => String::from("<none>"),
                };
                let timed_out = result == ProbeResult::TimedOut;
                let msg = if let ProbeResult::HttpStatus(code) = result {
                    // pkg/probe/http: the server answered, with a failing status.
                    format!("Readiness probe failed: HTTP probe failed with statuscode: {code}")
                } else if let Some(h) = &probe.http_get {
                    let path = if h.path.is_empty() { "/" } else { h.path.as_str() };
                    let why = if timed_out {
                        "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                            .to_string()
                    } else {
                        format!("dial tcp {target}: connect: connection refused")
                    };
                    format!("Readiness probe failed: Get \"http://{target}{path}\": {why}")
                } else if timed_out {
                    format!("Readiness probe failed: dial tcp {target}: i/o timeout")
                } else {
                    format!("Readiness probe failed: dial tcp {target}: connect: connection refused")
                };
                c.events.record(key, EventType::Warning, "Unhealthy", "kubelet", msg, ended);
            }
            next = next.saturating_add(period);
        }
        ct.next_probe = Some(next);
        // With the default oracle a ready container never changes again: no more timers.
        if (has_hook || !ct.ready) && !awaiting {
            wake.at(next);
        }
    }
    let after: Vec<(ContainerState, bool)> =
        rt.containers.iter().map(|c| (c.state.clone(), c.ready)).collect();
    if after != before {
        rt.dirty = true;
    }
}

fn condition(prev: &[PodCondition], type_: &'static str, ok: bool, now: SimTime) -> PodCondition {
    let status = if ok { "True" } else { "False" };
    let time = match prev.iter().find(|c| c.type_ == type_) {
        Some(p) if p.status == status => p.last_transition_time.clone(),
        _ => Some(timestamp(now)),
    };
    let reason = (!ok && (type_ == "Ready" || type_ == "ContainersReady"))
        .then_some(Cow::Borrowed("ContainersNotReady"));
    PodCondition {
        type_: Cow::Borrowed(type_),
        status: Cow::Borrowed(status),
        last_probe_time: None,
        last_transition_time: time,
        reason,
        message: None,
    }
}

/// Writes the status the kubelet observes for the pod `shared` holds. The pod is let go of
/// before the write, so the store changes its stored version in place.
fn write_status(
    c: &mut Controllers,
    store: &mut dyn ObjectStore,
    key: &ObjectKey,
    shared: std::rc::Rc<Object>,
    now: SimTime,
) -> bool {
    let Object::Pod(pod) = shared.as_ref() else { return false };
    let Some(rt) = c.pods.get(key) else { return false };
    let none = PodStatus::default();
    let prev = pod.status.as_ref().unwrap_or(&none);
    let running = rt
        .containers
        .iter()
        .any(|c| !matches!(c.state, ContainerState::Creating(_) | ContainerState::ConfigError { .. }));
    let exited = !rt.containers.is_empty()
        && rt.containers.iter().all(|c| matches!(c.state, ContainerState::Exited(_)));
    let succeeded = exited && rt.containers.iter().all(|c| c.state == ContainerState::Exited(0));
    let all_ready = !rt.containers.is_empty() && rt.containers.iter().all(|c| c.ready);
    let phase = if succeeded {
        "Succeeded"
    } else if exited {
        "Failed"
    } else if running {
        "Running"
    } else {
        "Pending"
    };
    let mut not_ready_names: Vec<&str> = Vec::new();
    let terminated = |code: i32, started: SimTime, finished: SimTime| ContainerStateStatus {
        terminated: Some(Box::new(ContainerStateTerminated {
            exit_code: i64::from(code),
            reason: Some(exit_reason(code).into()),
            started_at: Some(timestamp(started)),
            finished_at: Some(timestamp(finished)),
            ..Default::default()
        })),
        ..Default::default()
    };
    let waiting = |reason: &str, message: Option<String>| ContainerStateStatus {
        waiting: Some(ContainerStateWaiting { reason: Some(reason.into()), message, ..Default::default() }),
        ..Default::default()
    };
    let statuses: Vec<ContainerStatus> = rt
        .containers
        .iter()
        .zip(pod.spec.containers.iter())
        .map(|(ct, spec)| {
            if !ct.ready {
                not_ready_names.push(&spec.name);
            }
            let state = match &ct.state {
                ContainerState::Creating(_) => waiting("ContainerCreating", None),
                ContainerState::ConfigError { message, .. } => {
                    waiting("CreateContainerConfigError", Some(message.clone()))
                }
                ContainerState::Running(since) => ContainerStateStatus {
                    running: Some(ContainerStateRunning {
                        started_at: Some(timestamp(*since)),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ContainerState::BackOff(at) => {
                    // `backOff.Get(key)`: the wait this crash got.
                    let finished = ct.last_exit.map_or(now, |(_, f, _)| f);
                    let backoff = at.saturating_since(finished).as_secs();
                    waiting(
                        "CrashLoopBackOff",
                        Some(format!(
                            "back-off {}s restarting failed container={} pod={}_{}({})",
                            backoff, spec.name, key.name, key.namespace, rt.uid
                        )),
                    )
                }
                ContainerState::Exited(code) => {
                    let (s, f, _) = ct.last_exit.unwrap_or((now, now, *code));
                    terminated(*code, s, f)
                }
            };
            let last_state = match ct.last_exit {
                Some((s, f, code)) if !matches!(ct.state, ContainerState::Exited(_)) => {
                    Some(terminated(code, s, f))
                }
                _ => None,
            };
            ContainerStatus {
                name: spec.name.clone(),
                image: Some(spec.image.clone()),
                image_id: Some(String::new()),
                ready: ct.ready,
                restart_count: i64::from(ct.restarts),
                started: Some(matches!(ct.state, ContainerState::Running(_))),
                state: Some(state),
                last_state,
                other: Default::default(),
            }
        })
        .collect();
    let mut ready_cond = condition(&prev.conditions, "Ready", all_ready, now);
    let mut cr_cond = condition(&prev.conditions, "ContainersReady", all_ready, now);
    if !all_ready {
        let msg = format!("containers with unready status: [{}]", not_ready_names.join(" "));
        ready_cond.message = Some(msg.clone());
        cr_cond.message = Some(msg);
    }
    let conditions = vec![
        condition(&prev.conditions, "PodReadyToStartContainers", rt.ip.is_some(), now),
        condition(&prev.conditions, "Initialized", true, now),
        ready_cond,
        cr_cond,
        condition(&prev.conditions, "PodScheduled", true, now),
    ];
    let status = PodStatus {
        phase: Some(phase.into()),
        conditions,
        host_ip: rt.host_ip,
        // The sandbox's address is reported once containers run, as `kubectl get -o wide` shows.
        pod_ip: if running { rt.ip } else { None },
        pod_ips: if running { rt.ip.map(|ip| vec![PodIp { ip }]).unwrap_or_default() } else { Vec::new() },
        start_time: Some(timestamp(rt.started)),
        qos_class: Some(prev.qos_class.clone().unwrap_or_else(|| "BestEffort".into())),
        container_statuses: Some(statuses),
        host_ips: rt.host_ip.map(|ip| vec![PodIp { ip }]),
        reason: None,
        message: None,
    };
    let current = pod.status.as_ref() == Some(&status);
    let current_rv = current.then(|| pod.metadata.resource_version.clone());
    drop(shared);
    let written = !current && c.set_status(store, key, crate::api::ObjectStatus::Pod(status), now);
    // Remember the version that carries this status; after a failed write, none, so the next
    // wake-up tries again.
    let rv = if current {
        current_rv
    } else if written {
        store.get(key).and_then(|o| o.meta()).map(|m| m.resource_version.clone())
    } else {
        None
    };
    if let Some(rt) = c.pods.get_mut(key) {
        rt.written_rv = rv;
        rt.dirty = false;
    }
    written
}

/// The terminated-state reason the runtime reports for an exit code.
fn exit_reason(code: i32) -> &'static str {
    if code == 0 { "Completed" } else { "Error" }
}

/// Ready/total containers for the given pod per the kubelet (used by tests).
pub fn ready_count(pod: &Pod) -> (usize, usize) {
    let total = pod.spec.containers.len();
    let ready = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|a| a.iter().filter(|c| c.ready).count())
        .unwrap_or(0);
    (ready, total)
}
