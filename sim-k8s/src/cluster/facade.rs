//! [`Cluster`]: the simulated cluster as its users drive it — apply manifests, run kubectl,
//! run commands in pods and on hosts, let time pass — with the event loop underneath.

use std::net::Ipv4Addr;

use sim_core::{SimDuration, SimTime, Simulation};
use sim_net::iface::HostId;

use super::build::{ProxySettings, build};
use super::config::ClusterConfig;
use super::world::{ClusterEvent, ClusterWorld};
use crate::api::{Kind, Object};
use crate::apiserver::ApplyReport;
use crate::manifest::Loaded;

/// The longest [`Cluster::settle`] waits by default.
pub const SETTLE_LIMIT: SimDuration = SimDuration::from_secs(300);

/// The process id of the first background job (a shell's pids on a busy node are in the
/// thousands; any fixed start keeps runs identical).
const FIRST_JOB_PID: u32 = 4242;

/// Where a command runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A pod's network namespace (containers share it).
    Pod {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// A node's root namespace.
    Node(String),
    /// An external host.
    Host(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Pod { namespace, name } if namespace == "default" => write!(f, "pod/{name}"),
            Target::Pod { namespace, name } => write!(f, "pod/{namespace}/{name}"),
            Target::Node(n) => write!(f, "node/{n}"),
            Target::Host(n) => write!(f, "host/{n}"),
        }
    }
}

/// A simulated cluster and its clock.
pub struct Cluster {
    /// The event loop and the world.
    pub sim: Simulation<ClusterWorld>,
    seed: u64,
    /// Files written by `>` in command lines (`pipeline`), per host and path.
    pub(crate) shell_files: super::pipeline::ShellFiles,
    /// Background jobs (`tcpdump ... &`), in start order.
    pub(crate) jobs: Vec<super::tcpdump::Job>,
    /// The last process id given to a background job.
    pub(crate) next_pid: u32,
    /// Whether the running command's standard output is the terminal: not in a pipe, not
    /// redirected, not under `kubectl exec` without `-t` (curl's progress meter asks).
    pub(crate) stdout_tty: bool,
}

impl Cluster {
    /// Builds the cluster and starts its controllers at time zero.
    pub fn new(config: ClusterConfig, proxy: &ProxySettings, seed: u64) -> Result<Cluster, String> {
        let world = build(config, proxy, seed)?;
        let mut c = Cluster {
            sim: Simulation::new(world),
            seed,
            shell_files: Default::default(),
            jobs: Vec::new(),
            next_pid: FIRST_JOB_PID - 1,
            stdout_tty: true,
        };
        c.kick();
        Ok(c)
    }

    /// The seed every random choice derives from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Simulated now.
    pub fn now(&self) -> SimTime {
        self.sim.now()
    }

    /// The world (read-only).
    pub fn world(&self) -> &ClusterWorld {
        &self.sim.world
    }

    /// The world, for direct changes (call [`Cluster::kick`] after API changes).
    pub fn world_mut(&mut self) -> &mut ClusterWorld {
        &mut self.sim.world
    }

    /// What a CoreDNS pod has logged (`kubectl logs -n kube-system coredns-…`): its start
    /// banner, reloads, `log` plugin lines, and notices of Corefile parts not simulated.
    /// `None` for a pod that is not a CoreDNS pod or has not started. Reload checks due by
    /// now are run first, so the log is as of the current simulated time.
    pub fn coredns_logs(&self, namespace: &str, name: &str) -> Option<Vec<String>> {
        let mut dns = self.sim.world.dns.borrow_mut();
        let super::world::DnsState { process, dead, .. } = &mut *dns;
        process.tick(self.sim.now(), dead);
        let key = super::world::pod_key(namespace, name);
        dns.process.pods().any(|p| p == key).then(|| dns.process.logs(&key).to_vec())
    }

    /// Asks the controllers to react to API changes now.
    pub fn kick(&mut self) {
        let now = self.sim.now();
        let (world, sched) = self.sim.split();
        world.kick(now, sched);
    }

    /// Applies loaded manifests (`kubectl apply -f`), reporting one line per object.
    pub fn apply(&mut self, loaded: &[Loaded<Object>]) -> Vec<ApplyReport> {
        let now = self.sim.now();
        self.sim.world.api.set_now(now);
        let reports = self.sim.world.api.apply_loaded(loaded);
        self.kick();
        reports
    }

    /// Lets `d` of simulated time pass.
    pub fn advance(&mut self, d: SimDuration) {
        self.sim.run_for(d);
    }

    /// Runs until every scheduled pod is running and ready and every running kube-proxy has
    /// synced the latest Service and EndpointSlice changes, or `limit` has passed. Returns the
    /// simulated time it took.
    pub fn settle(&mut self, limit: SimDuration) -> SimDuration {
        let start = self.sim.now();
        let deadline = start + limit;
        // Events due now (a reconcile just kicked) always run first.
        self.sim.run_until(start);
        while !self.settled() && self.sim.now() < deadline {
            let step = SimDuration::from_millis(100);
            self.sim.run_until((self.sim.now() + step).min(deadline));
        }
        self.sim.now() - start
    }

    /// True when pods are up and proxies are current (see [`Cluster::settle`]).
    pub fn settled(&self) -> bool {
        let w = &self.sim.world;
        // The network's pod key (`ns/name`), written into one buffer for every pod.
        let mut key = String::new();
        let pods_ready = w.api.list(Kind::Pod).all(|o| match o {
            Object::Pod(p) => {
                let condition = |t: &str, v: &str| {
                    p.status
                        .as_ref()
                        .is_some_and(|s| s.conditions.iter().any(|c| c.type_ == t && c.status == v))
                };
                if p.metadata.deletion_timestamp.is_some() {
                    // Terminating pods do not hold the cluster back.
                    return true;
                }
                if p.spec.node_name.is_empty() {
                    // Waiting for the scheduler, unless it already said no node fits.
                    return condition("PodScheduled", "False");
                }
                let ready = p
                    .status
                    .as_ref()
                    .is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
                ready && {
                    super::world::write_pod_key(&mut key, &p.metadata.namespace, &p.metadata.name);
                    w.pods.contains_key(key.as_str())
                }
            }
            _ => true,
        });
        let proxies_current =
            w.nodes.iter().all(|n| !n.up || n.partitioned || !n.proxy.running || !n.proxy.dirty);
        pods_ready && proxies_current && !w.reconcile_pending() && w.lb_converged()
    }

    /// Resolves a target spelled `pod/NAME`, `pod/NS/NAME`, `node/NAME`, `host/NAME`, or a bare
    /// name (a node, then an external host, then a pod). A pod name may be a unique prefix
    /// (`pod/my-nginx` for `my-nginx-5b56ccd65f-x2x7q`), as in scenario files.
    pub fn resolve_target(&self, spec: &str) -> Result<Target, String> {
        let w = &self.sim.world;
        let find_pod = |ns: Option<&str>, name: &str| -> Result<Target, String> {
            let mut exact = None;
            let mut prefixed = Vec::new();
            for o in w.api.list(Kind::Pod) {
                let (pns, pname) = (o.namespace(), o.name());
                if ns.is_some_and(|n| n != pns) {
                    continue;
                }
                if pname == name && (ns.is_some() || pns == "default") {
                    exact = Some(Target::Pod { namespace: pns.to_string(), name: pname.to_string() });
                } else if pname.starts_with(name) {
                    prefixed.push(Target::Pod { namespace: pns.to_string(), name: pname.to_string() });
                }
            }
            if let Some(t) = exact {
                return Ok(t);
            }
            match prefixed.len() {
                1 => Ok(prefixed.remove(0)),
                0 => Err(format!("Error from server (NotFound): pods \"{name}\" not found")),
                n => Err(format!("{n} pods match \"{name}\": {}; name one", names(&prefixed))),
            }
        };
        if let Some(rest) = spec.strip_prefix("pod/").or_else(|| spec.strip_prefix("pods/")) {
            return match rest.split_once('/') {
                Some((ns, name)) => find_pod(Some(ns), name),
                None => find_pod(None, rest),
            };
        }
        if let Some(n) = spec.strip_prefix("node/") {
            return if w.node_index(n).is_some() {
                Ok(Target::Node(n.to_string()))
            } else {
                Err(format!("Error from server (NotFound): nodes \"{n}\" not found"))
            };
        }
        if let Some(h) = spec.strip_prefix("host/") {
            return if w.externals.contains_key(h) {
                Ok(Target::Host(h.to_string()))
            } else {
                Err(format!("no external host named \"{h}\""))
            };
        }
        if w.node_index(spec).is_some() {
            return Ok(Target::Node(spec.to_string()));
        }
        if w.externals.contains_key(spec) {
            return Ok(Target::Host(spec.to_string()));
        }
        find_pod(None, spec)
    }

    /// The network namespace of a target, if it is up.
    pub fn host_of(&self, t: &Target) -> Option<HostId> {
        let w = &self.sim.world;
        match t {
            Target::Node(n) => w.node_index(n).and_then(|i| w.nodes.get(i)).map(|n| n.host),
            Target::Host(h) => w.externals.get(h).copied(),
            Target::Pod { namespace, name } => {
                w.pods.get(&super::world::pod_key(namespace, name)).map(|p| p.host)
            }
        }
    }

    /// The address of a target (pod IP, node IP or external host IP).
    pub fn address_of(&self, t: &Target) -> Option<Ipv4Addr> {
        let w = &self.sim.world;
        match t {
            Target::Node(n) => w.node_index(n).and_then(|i| w.nodes.get(i)).map(|n| n.ip),
            Target::Host(h) => w.config.external_hosts.iter().find(|e| &e.name == h).map(|e| e.ip),
            Target::Pod { namespace, name } => {
                w.pods.get(&super::world::pod_key(namespace, name)).map(|p| p.ip)
            }
        }
    }

    /// Schedules an event from outside the world.
    pub fn schedule_now(&mut self, ev: ClusterEvent) {
        let now = self.sim.now();
        self.sim.scheduler().schedule_at(now, ev);
    }
}

fn names(ts: &[Target]) -> String {
    ts.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
}
