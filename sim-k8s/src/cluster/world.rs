//! The cluster as one discrete-event world: the API server and controllers, the network of
//! node, pod and external namespaces, kube-proxy on every node, CoreDNS, and a cloud
//! load-balancer provider — all driven by one event queue in simulated time.
//!
//! How a change flows: an API mutation (kubectl, a controller) → a `Reconcile` event runs the
//! controllers until they settle → the world reads the API change log: pods that got an IP
//! are wired into the network (CNI: a namespace, a veth pair to the node bridge, the app by
//! image), Service/EndpointSlice changes ask each node's kube-proxy to sync (after its watch
//! delay, rate-limited by `minSyncPeriod` as upstream's BoundedFrequencyRunner does), and
//! CoreDNS's view is refreshed. A kube-proxy sync *generates* iptables-restore text and loads
//! it into that node's netfilter tables; packets are only ever evaluated against those tables.
//! In IPVS mode (`ProxyConfig::mode`) the sync also programs the node's IPVS table, ipsets and
//! kube-ipvs0 ([`crate::kube_proxy::ipvs`]), and packets go through sim-net's IPVS engine.
//!
//! The load balancer is L3 passthrough with ECMP (MetalLB BGP mode, a cloud router): every
//! external host gets one multipath route per ingress/external IP over all healthy nodes, with
//! `fib_multipath_hash_policy = 1`, so each connection (5-tuple) is hashed to one node and
//! connections spread across nodes; a service with one healthy node gets a plain route.
//!
//! Left out: the pod network is flannel host-gw style (per-node pod-CIDR routes via node IPs),
//! no overlay; the load balancer neither proxies nor SNATs (no NLB/ELB-style proxy mode); its
//! health checks are probes through the dataplane for `externalTrafficPolicy: Local`
//! LoadBalancers ([`super::lb_health`]) and read from the node's state otherwise; without
//! simulated upstream resolver hosts, CoreDNS answers forwarded names from the upstream zone
//! directly (the upstream query is not a packet; with them, see [`super::dns_apps`]).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::rc::Rc;

use indexmap::IndexMap;
use ipnet::Ipv4Net;
use sim_core::{EventId, Scheduler, SimDuration, SimRng, SimTime};
use sim_net::iface::HostId;
use sim_net::netfilter::TableName;
use sim_net::network::{NetEvent, Network};
use sim_net::socket::{AppContext, Application, SockProto};

use super::config::{ClusterConfig, NodeRole};
use super::dns_apps::{WAKE_KUBE_API, WAKE_LOOPS};
use super::{dns_view, proxy_view};
use crate::api::{Kind, Object};
use crate::apiserver::{ApiServer, ChangeType};
use crate::apps::{self, AppKind, ServerView};
use crate::controllers::Controllers;
use crate::dns::coredns::kube_api::{self, KubeApiClient, Startup};
use crate::dns::server::CoreDnsProcess;
use crate::dns::{ClusterDnsView, CoreDnsConfig};
use crate::kube_proxy::sync_runner::{SyncDecision, SyncRunner};
use crate::kube_proxy::{self, HealthCheckServer, ProxyConfig};

/// How long a watch event takes to reach kube-proxy's informer.
pub const WATCH_DELAY: SimDuration = SimDuration::from_millis(100);

/// Everything that can happen in the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterEvent {
    /// A packet or conversation event.
    Net(NetEvent),
    /// Run the controllers and react to API changes.
    Reconcile,
    /// kube-proxy on node `node` (index) may sync.
    ProxySync {
        /// Index into [`ClusterWorld::nodes`].
        node: usize,
    },
    /// The load balancer probes checked service `service` (index into `LbHealth::services`).
    LbProbe {
        /// Index of the checked service.
        service: usize,
    },
    /// The load balancer reads the answers of that service's last probes.
    LbProbeDone {
        /// Index of the checked service.
        service: usize,
    },
    /// A CoreDNS process's kubernetes plugin checks, during its start-up, whether it has
    /// synced with the API ([`crate::dns::coredns::kube_api`]).
    CoreDnsSyncCheck {
        /// The pod (`namespace/name`).
        pod: String,
        /// When its process started (a restarted one has checks of its own).
        started: SimTime,
        /// Which check (the first is 100 ms after the start).
        check: u32,
    },
}

impl From<NetEvent> for ClusterEvent {
    fn from(e: NetEvent) -> Self {
        ClusterEvent::Net(e)
    }
}

/// kube-proxy on one node.
pub struct ProxyAgent {
    /// Its configuration.
    pub config: ProxyConfig,
    /// When it may sync next.
    pub runner: SyncRunner,
    /// False after `stop kube-proxy/NODE`: the rules stay as they were, nothing syncs.
    pub running: bool,
    /// The pending sync event, if one is scheduled.
    pub timer: Option<(SimTime, EventId)>,
    /// How many syncs ran.
    pub syncs: u64,
    /// The health-check servers after the last sync.
    pub health: Vec<HealthCheckServer>,
    /// The API change sequence the last sync saw.
    pub synced_seq: u64,
    /// A Service or EndpointSlice change arrived that no sync has loaded yet.
    pub dirty: bool,
    /// nftables mode: the view the node's loaded (or deferred) table reflects, for partial
    /// syncs.
    pub nft_view: Option<Rc<proxy_view::ProxySnapshot>>,
    /// iptables mode: the deferred load is the node's first (built-in chains and jumps too).
    pub pending_initial: bool,
    /// The `conntrack:` section it writes to the node's sysctls at start-up
    /// ([`kube_proxy::conntracker`]).
    pub conntrack: crate::api::proxy_config::ConntrackConfig,
}

/// A node's runtime: its namespace, addresses and kube-proxy.
pub struct NodeRt {
    /// Node name.
    pub name: String,
    /// Its namespace.
    pub host: HostId,
    /// eth0 address.
    pub ip: Ipv4Addr,
    /// Its pod CIDR.
    pub pod_cidr: Ipv4Net,
    /// The CNI bridge address (first address of the pod CIDR).
    pub bridge_ip: Ipv4Addr,
    /// kube-proxy.
    pub proxy: ProxyAgent,
    /// False while the node is stopped.
    pub up: bool,
    /// Role.
    pub role: NodeRole,
    /// CPUs (`nproc`).
    pub cpus: u32,
    /// Cut from the other nodes by a partition: its kubelet and kube-proxy cannot reach the
    /// API server.
    pub partitioned: bool,
}

/// A running pod's network presence.
pub struct PodRt {
    /// Its namespace (or the node's, for hostNetwork pods).
    pub host: HostId,
    /// Node index.
    pub node: usize,
    /// Pod IP.
    pub ip: Ipv4Addr,
    /// The host-side veth name (`vethXXXXXXXX`), if not hostNetwork.
    pub veth: Option<String>,
    /// The pod's uid when wired (a re-created pod with the same name is rewired).
    pub uid: String,
    /// The container image of the first container (for the resolver flavour).
    pub image: String,
    /// When the pod started (for environment variables: services that existed then).
    pub started: SimTime,
    /// The services of its namespace that existed when it started (docker-links env vars),
    /// shared by every pod that started while that set of services stood.
    pub env_services: Rc<[String]>,
}

/// CoreDNS's shared state: the running process (Corefile, servers, logs) and the view it
/// answers from.
pub struct DnsState {
    /// CoreDNS as it runs: its Corefile, reloads and per-pod logs.
    pub process: CoreDnsProcess,
    /// The API objects as CoreDNS sees them.
    pub view: ClusterDnsView,
    /// Each CoreDNS pod's cache of forwarded answers (with simulated upstreams), by pod.
    pub caches: BTreeMap<String, crate::dns::coredns::cache::DnsCache>,
    /// Each CoreDNS pod's `round_robin` position, by pod.
    pub round_robin: BTreeMap<String, usize>,
    /// Each CoreDNS pod's health-check state of its upstreams, by pod and upstream.
    pub health: BTreeMap<(String, std::net::SocketAddrV4), super::dns_apps::UpstreamHealth>,
    /// Each CoreDNS pod's queries being forwarded now, by pod and forward directive (FROM).
    pub in_flight: BTreeMap<(String, crate::dns::name::Name), u32>,
    /// Each CoreDNS pod's `loop` plugins since its process last started or reloaded (one per
    /// server block on port 53 that has one).
    pub loops: BTreeMap<String, Vec<crate::dns::coredns::loop_detect::LoopDetect>>,
    /// CoreDNS processes that exited (`log.Fatal`) and when, for the kubelet to learn of.
    pub exited: Vec<(String, SimTime)>,
    /// CoreDNS pods whose process is not running (it exited and has not started again).
    pub dead: std::collections::BTreeSet<String>,
    /// The restart count of each CoreDNS pod's container whose process started last.
    pub incarnation: BTreeMap<String, i64>,
    /// Loop plugins started so far (each draws its names from a stream of its own).
    loop_starts: u64,
    /// The plugin instances' generation: a reload sets every plugin up anew, and what the old
    /// ones had running (forward's health checks) stops.
    pub plugins: u64,
    /// Each CoreDNS pod's kubernetes plugin client, from its process's start (none without
    /// the plugin).
    pub kube_api: BTreeMap<String, crate::dns::coredns::kube_api::KubeApiClient>,
    /// What an unsynced kubernetes plugin answers from: nothing.
    unsynced_view: ClusterDnsView,
}

impl DnsState {
    /// CoreDNS with kubeadm's Corefile over `base`'s cluster facts.
    pub fn new(base: CoreDnsConfig) -> Self {
        DnsState {
            process: CoreDnsProcess::new(base),
            view: ClusterDnsView::default(),
            caches: BTreeMap::new(),
            round_robin: BTreeMap::new(),
            health: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            loops: BTreeMap::new(),
            exited: Vec::new(),
            dead: Default::default(),
            incarnation: BTreeMap::new(),
            loop_starts: 0,
            plugins: 0,
            kube_api: BTreeMap::new(),
            unsynced_view: ClusterDnsView { unsynced: true, ..ClusterDnsView::default() },
        }
    }

    /// Whether `pod`'s kubernetes plugin has not synced with the API yet.
    pub fn unsynced(&self, pod: &str) -> bool {
        self.kube_api.get(pod).is_some_and(|c| !c.synced())
    }

    /// What serving a query at `pod` needs at once: the process, the pod's view (the cluster's,
    /// or nothing before its kubernetes plugin has synced) and the pod's cache (made on first
    /// use from `rng`).
    pub fn serving(
        &mut self,
        pod: &str,
        rng: &SimRng,
    ) -> (&mut CoreDnsProcess, &ClusterDnsView, &mut crate::dns::coredns::cache::DnsCache) {
        let unsynced = self.unsynced(pod);
        let DnsState { process, view, unsynced_view, caches, .. } = self;
        let view = if unsynced { &*unsynced_view } else { &*view };
        let cache = caches
            .entry(pod.to_string())
            .or_insert_with(|| crate::dns::coredns::cache::DnsCache::with_rng(rng.fork("cache")));
        (process, view, cache)
    }

    /// The `loop` plugins of `pod`'s process, (re)started at `now` with names from `rng`'s
    /// fork: true when there is one to probe.
    pub fn start_loops(&mut self, pod: &str, rng: &SimRng, now: SimTime) -> bool {
        use crate::dns::corefile::setup::ServerTransport;
        let mut loops = Vec::new();
        // Without simulated upstreams `forward` answers inside the process: no query of the
        // probe's can come back, and the probe is not sent.
        let live = self.process.base.node_nameservers.is_some();
        if let Some(setup) = self.process.setup().filter(|_| live) {
            for server in setup.servers.iter().filter(|s| s.loop_detect) {
                let Some(key) = server.keys.first() else { continue };
                // Only port 53 is served in the pods.
                if key.transport != ServerTransport::Dns || key.port != 53 {
                    continue;
                }
                self.loop_starts += 1;
                let mut r = rng.fork(&format!("coredns/{pod}/loop/{}", self.loop_starts));
                loops.push(crate::dns::coredns::loop_detect::LoopDetect::new(
                    key.zone.clone(),
                    key.port,
                    &mut r,
                    now,
                ));
            }
        }
        let any = !loops.is_empty();
        self.loops.insert(pod.to_string(), loops);
        any
    }
}

/// A container's server, by image.
struct ImageApp {
    kind: AppKind,
    hostname: String,
    epoch_unix_secs: i64,
}

impl Application for ImageApp {
    fn respond(&mut self, ctx: &AppContext<'_>, request: &[u8]) -> Vec<u8> {
        let now_unix = self.epoch_unix_secs + ctx.now.as_secs() as i64;
        let view = ServerView { hostname: &self.hostname, local: ctx.local, peer: ctx.peer, now_unix };
        apps::respond(&self.kind, &view, request).unwrap_or_default()
    }
}

/// kube-proxy's health-check server on a node (`healthCheckNodePort`), answering from the
/// agent's last sync.
struct HealthCheckApp {
    response: Vec<u8>,
}

impl Application for HealthCheckApp {
    fn respond(&mut self, _ctx: &AppContext<'_>, _request: &[u8]) -> Vec<u8> {
        self.response.clone()
    }
}

/// The whole cluster.
pub struct ClusterWorld {
    /// The cluster's shape.
    pub config: ClusterConfig,
    /// The API server's store.
    pub api: ApiServer,
    /// The controllers.
    pub controllers: Controllers,
    /// Every namespace and link.
    pub net: Network,
    /// Nodes, in configuration order.
    pub nodes: Vec<NodeRt>,
    /// External hosts by name.
    pub externals: IndexMap<String, HostId>,
    /// Running pods by `namespace/name`.
    pub pods: IndexMap<String, PodRt>,
    /// CoreDNS's state, shared with its pods' servers.
    pub dns: Rc<RefCell<DnsState>>,
    /// The ingress-nginx controllers' state, shared with their pods' nginx (`crate::ingress`).
    pub ingress: Rc<RefCell<crate::ingress::IngressState>>,
    /// An object the ingress controllers watch changed since their state was built.
    ingress_stale: bool,
    /// NGINX Gateway Fabric's nginx pods' state (`crate::gateway`).
    pub gateway: Rc<RefCell<crate::gateway::GatewayState>>,
    /// An object the Gateway API controller watches changed since it last ran.
    gateway_stale: bool,
    /// The API change sequence already acted on.
    seen_seq: u64,
    /// The pending reconcile, if scheduled.
    reconcile_at: Option<(SimTime, EventId)>,
    /// Routes this world added on external hosts for external/LB IPs: (host, destination).
    external_routes: Vec<(HostId, Ipv4Net)>,
    /// The random stream for CNI choices.
    rng: SimRng,
    /// Node indexes by name.
    node_names: std::collections::BTreeMap<String, usize>,
    /// kube-proxy's view at the last Service/EndpointSlice change, shared by every node.
    proxy_view: Option<Rc<proxy_view::ProxySnapshot>>,
    /// The API change sequence of the last Service or EndpointSlice change.
    proxy_seq: u64,
    /// The API change-log position at which no Service had an external IP or a load-balancer
    /// address (nothing for `route_external_ips` to do until the API changes).
    no_external_services_at: Option<u64>,
    /// A Service, EndpointSlice, Pod or Namespace changed since CoreDNS's view was built.
    dns_stale: bool,
    /// Service names per namespace, as they stood at the last Service creation or deletion
    /// (pods starting meanwhile share one list instead of each listing the namespace).
    env_cache: BTreeMap<String, Rc<[String]>>,
    /// Load every node's rules at each sync instead of when first needed (see
    /// [`ClusterWorld::set_eager_rules`]).
    eager_rules: bool,
    /// The load balancer's health checks of `externalTrafficPolicy: Local` services.
    pub lb: super::lb_health::LbHealth,
    /// Pods whose server process hangs (`fault: hang pod/NAME`), shared with the kubelet's
    /// probe hook.
    pub hung: Rc<RefCell<super::hung_apps::HungApps>>,
    /// Pods whose readiness probes fail on what their processes serve (an unserved port, an
    /// HTTP error status: [`super::served_ports`]).
    pub failing_probes: Rc<RefCell<super::served_ports::FailingProbes>>,
    /// The kubelet's probes are answered by the processes ([`super::probes`]), not all
    /// succeeding; and whether the controllers have run since that began.
    probes_answered: bool,
    probes_reconciled: bool,
    /// CoreDNS pods whose process started (or restarted) since the last look: their `loop`
    /// plugins probe.
    coredns_starting: Vec<String>,
    /// The Corefile generation CoreDNS's processes were last seen running.
    coredns_generation: u64,
}

/// The host name of a pod's namespace.
pub fn pod_host_name(namespace: &str, name: &str) -> String {
    if namespace == "default" { name.to_string() } else { pod_key(namespace, name) }
}

/// The key of a pod in [`ClusterWorld::pods`].
pub fn pod_key(namespace: &str, name: &str) -> String {
    let mut key = String::new();
    write_pod_key(&mut key, namespace, name);
    key
}

/// [`pod_key`] written into `buf` (cleared first): a loop over pods reuses one buffer.
pub fn write_pod_key(buf: &mut String, namespace: &str, name: &str) {
    buf.clear();
    buf.reserve(namespace.len() + 1 + name.len());
    buf.push_str(namespace);
    buf.push('/');
    buf.push_str(name);
}

/// The host-side veth name the CNI bridge plugin gives a pod: `veth` and 8 hex digits.
pub fn veth_name(uid: &str) -> String {
    // FNV-1a 32: stable and cheap; the real plugin uses random bytes, which here would make
    // interface names depend on creation order.
    let mut h: u32 = 0x811c_9dc5;
    for b in uid.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("veth{h:08x}")
}

/// The node IPs a load balancer sends service `s`'s external traffic to, in node order: the
/// healthy workers — up, running kube-proxy and, for `externalTrafficPolicy: Local`, with local
/// endpoints in kube-proxy's health check (the LB's probe of `healthCheckNodePort` passes only
/// there) — or, when no worker is healthy, the healthy nodes of any role (kubeadm labels
/// control-plane nodes `node.kubernetes.io/exclude-from-external-load-balancers`, so a real
/// provider prefers workers).
fn lb_targets(
    nodes: &[NodeRt],
    s: &crate::api::Service,
    probed: Option<&super::lb_health::Probed>,
) -> Vec<Ipv4Addr> {
    let local =
        s.spec.is_external_type() && s.spec.external_policy() == crate::api::service::TrafficPolicy::Local;
    let healthy = |(i, n): &(usize, &NodeRt)| {
        if let Some(p) = probed {
            // What the load balancer's own health checks concluded (`lb_health`).
            return p.backends.get(*i).is_some_and(|b| b.healthy);
        }
        n.up && n.proxy.running
            && (!local
                || n.proxy.health.iter().any(|h| {
                    h.namespace == s.metadata.namespace && h.name == s.metadata.name && h.local_endpoints > 0
                }))
    };
    let pick = |worker_only: bool| -> Vec<Ipv4Addr> {
        nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| !worker_only || n.role == NodeRole::Worker)
            .filter(healthy)
            .map(|(_, n)| n.ip)
            .collect()
    };
    let workers = pick(true);
    if workers.is_empty() { pick(false) } else { workers }
}

/// The `ip route add` arguments for an external IP served by `targets` (not empty): a plain
/// route for one node, else an equal-weight multipath route, as a BGP speaker installs ECMP
/// paths (`proto static`: installed by the provider, not `ip route add` defaults).
fn lb_route_line(ip: Ipv4Addr, targets: &[Ipv4Addr]) -> String {
    match targets {
        [one] => format!("{ip}/32 via {one} dev eth0"),
        many => {
            let hops: Vec<String> =
                many.iter().map(|t| format!("nexthop via {t} dev eth0 weight 1")).collect();
            format!("{ip}/32 proto static {}", hops.join(" "))
        }
    }
}

impl sim_core::World for ClusterWorld {
    type Event = ClusterEvent;
    fn handle(&mut self, now: SimTime, event: ClusterEvent, sched: &mut Scheduler<ClusterEvent>) {
        ClusterWorld::handle(self, now, event, sched);
    }
}

impl ClusterWorld {
    /// Assembles a world from built parts (see [`super::build`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: ClusterConfig,
        api: ApiServer,
        controllers: Controllers,
        net: Network,
        nodes: Vec<NodeRt>,
        externals: IndexMap<String, HostId>,
        dns: Rc<RefCell<DnsState>>,
        rng: SimRng,
    ) -> Self {
        let mut controllers = controllers;
        // CoreDNS answers SIGTERM by its Corefile: `health`'s lameduck, then exit.
        let stopping = dns.clone();
        controllers.set_stop_hook(Box::new(move |key, pod, ctr| {
            (super::probes::is_coredns(pod) && ctr.image.contains("coredns")).then(|| {
                let pod = pod_key(&key.namespace, &key.name);
                stopping.borrow_mut().process.stop_signal(&pod) + crate::controllers::termination::PROMPT_EXIT
            })
        }));
        let node_names = nodes.iter().enumerate().map(|(i, n)| (n.name.clone(), i)).collect();
        let lb_config = config.lb_health.clone();
        let ingress =
            crate::ingress::IngressState::new(rng.fork("ingress-nginx"), api.config().epoch_unix_secs);
        ClusterWorld {
            ingress: Rc::new(RefCell::new(ingress)),
            ingress_stale: true,
            gateway: Rc::new(RefCell::new(crate::gateway::GatewayState::new(
                rng.fork("nginx-gateway-fabric"),
                api.config().epoch_unix_secs,
            ))),
            gateway_stale: true,
            config,
            api,
            controllers,
            net,
            nodes,
            externals,
            pods: IndexMap::new(),
            dns,
            seen_seq: 0,
            reconcile_at: None,
            external_routes: Vec::new(),
            rng,
            node_names,
            proxy_view: None,
            proxy_seq: 0,
            no_external_services_at: None,
            dns_stale: true,
            env_cache: BTreeMap::new(),
            eager_rules: false,
            lb: super::lb_health::LbHealth { config: lb_config, ..Default::default() },
            hung: Rc::default(),
            failing_probes: Rc::default(),
            probes_answered: false,
            probes_reconciled: true,
            coredns_starting: Vec::new(),
            coredns_generation: 0,
        }
    }

    /// From now on the kubelet's readiness probes ask the simulated processes (a hung app, a
    /// CoreDNS without `ready`) instead of all succeeding ([`super::probes`]).
    pub fn answer_probes(&mut self) {
        if std::mem::replace(&mut self.probes_answered, true) {
            return;
        }
        self.probes_reconciled = false;
        let answers = super::probes::ProbeAnswers {
            hung: self.hung.clone(),
            failing: self.failing_probes.clone(),
            dns: self.dns.clone(),
        };
        self.controllers.set_probe_hook(Box::new(move |chk| answers.probe(chk)));
    }

    /// True while a reconcile is scheduled.
    pub fn reconcile_pending(&self) -> bool {
        self.reconcile_at.is_some()
    }

    /// The node index by name.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        if self.node_names.len() != self.nodes.len() {
            return self.nodes.iter().position(|n| n.name == name);
        }
        self.node_names.get(name).copied()
    }

    /// Schedules a reconcile now (coalesced with one already pending at or before now).
    pub fn kick(&mut self, now: SimTime, sched: &mut Scheduler<ClusterEvent>) {
        self.schedule_reconcile(now, sched);
    }

    fn schedule_reconcile(&mut self, at: SimTime, sched: &mut Scheduler<ClusterEvent>) {
        if let Some((t, id)) = self.reconcile_at {
            if t <= at {
                return;
            }
            sched.cancel(id);
        }
        let id = sched.schedule_at(at, ClusterEvent::Reconcile);
        self.reconcile_at = Some((at, id));
    }

    /// Handles one event.
    pub fn handle(&mut self, now: SimTime, ev: ClusterEvent, sched: &mut Scheduler<ClusterEvent>) {
        match ev {
            ClusterEvent::Net(e) => {
                // CoreDNS reads its view only when something reaches one of its pods.
                if self.dns_stale && self.net.event_host(&e).is_some_and(|h| self.runs_coredns(h)) {
                    self.refresh_dns_if_stale();
                }
                if std::mem::take(&mut self.ingress_stale) {
                    crate::ingress::view::refresh(&mut self.ingress.borrow_mut(), &self.api, now);
                }
                {
                    let mut dns = self.dns.borrow_mut();
                    let DnsState { process, dead, .. } = &mut *dns;
                    process.tick(now, dead);
                }
                let reloaded = self.dns.borrow().process.generation() != self.coredns_generation;
                if reloaded {
                    // The reload's fresh plugins before the packet that might ask them.
                    self.coredns_processes(now, sched);
                }
                self.net.handle(now, e, sched);
                if !self.dns.borrow().exited.is_empty() {
                    self.coredns_processes(now, sched);
                }
            }
            ClusterEvent::Reconcile => {
                self.reconcile_at = None;
                self.reconcile(now, sched);
            }
            ClusterEvent::ProxySync { node } => {
                let Some(n) = self.nodes.get_mut(node) else { return };
                n.proxy.timer = None;
                if !n.proxy.running || !n.up || n.partitioned {
                    return;
                }
                match n.proxy.runner.timer_fired(now) {
                    SyncDecision::RunNow => self.proxy_sync(node, now, sched),
                    SyncDecision::RunAt(t) => self.arm_proxy(node, t, sched),
                }
            }
            ClusterEvent::LbProbe { service } => self.lb_probe(service, now, sched),
            ClusterEvent::LbProbeDone { service } => self.lb_probe_done(service, now),
            ClusterEvent::CoreDnsSyncCheck { pod, started, check } => {
                self.coredns_sync_check(&pod, started, check, now, sched)
            }
        }
    }

    fn arm_proxy(&mut self, node: usize, at: SimTime, sched: &mut Scheduler<ClusterEvent>) {
        let Some(n) = self.nodes.get_mut(node) else { return };
        if let Some((t, id)) = n.proxy.timer {
            if t <= at {
                return;
            }
            sched.cancel(id);
        }
        let id = sched.schedule_at(at, ClusterEvent::ProxySync { node });
        n.proxy.timer = Some((at, id));
    }

    /// Runs the controllers until they settle, then reacts to what changed.
    fn reconcile(&mut self, now: SimTime, sched: &mut Scheduler<ClusterEvent>) {
        self.api.set_now(now);
        let mut next = None;
        for _ in 0..32 {
            let r = self.controllers.reconcile(&mut self.api, now);
            next = r.next_wakeup;
            if !r.changed {
                break;
            }
        }
        self.provide_load_balancers();
        self.update_lb_probes(now, sched);
        // Sorted and deduplicated once, after the scan (a set's inserts compared long keys).
        let mut pods: Vec<(String, String)> = Vec::new();
        let mut proxy_relevant = false;
        let mut corefile_changed = false;
        for c in self.api.changes_since(self.seen_seq) {
            match c.key.kind {
                Kind::Service | Kind::EndpointSlice => {
                    proxy_relevant = true;
                    self.dns_stale = true;
                    if c.key.kind == Kind::Service && c.change != ChangeType::Modified {
                        self.env_cache.clear();
                    }
                }
                Kind::Pod => {
                    pods.push((c.key.namespace.clone(), c.key.name.clone()));
                    self.dns_stale = true;
                }
                Kind::Namespace => self.dns_stale = true,
                Kind::ConfigMap if c.key.namespace == "kube-system" && c.key.name == "coredns" => {
                    corefile_changed = true;
                }
                _ => {}
            }
            if matches!(
                c.key.kind,
                Kind::Ingress
                    | Kind::IngressClass
                    | Kind::Service
                    | Kind::EndpointSlice
                    | Kind::Pod
                    | Kind::Secret
            ) {
                self.ingress_stale = true;
            }
            if matches!(
                c.key.kind,
                Kind::GatewayClass
                    | Kind::Gateway
                    | Kind::HttpRoute
                    | Kind::ReferenceGrant
                    | Kind::Service
                    | Kind::EndpointSlice
                    | Kind::Pod
                    | Kind::Secret
                    | Kind::Namespace
            ) {
                self.gateway_stale = true;
            }
        }
        if std::mem::take(&mut self.gateway_stale) && self.gateway_control(now) {
            // The provisioner wrote objects: the controllers run again.
            self.schedule_reconcile(now, sched);
        }
        if self.ingress_stale {
            // The controllers publish their address on the Ingresses they serve.
            for ing in crate::ingress::view::status_updates(&self.api) {
                let _ = self.api.update_status(Object::Ingress(ing));
            }
        }
        self.seen_seq = self.api.last_seq();
        // What every reader has seen is history nobody will read again.
        self.api.compact_changes(self.seen_seq.min(self.controllers.log_read_upto()));
        if corefile_changed {
            self.corefile_written(now);
            // The reload plugin's check that will see it.
            let due = self.dns.borrow().process.reload_due();
            if let Some(t) = due {
                self.schedule_reconcile(t, sched);
            }
        }
        if proxy_relevant {
            self.proxy_seq = self.seen_seq;
        }
        if !pods.is_empty() {
            pods.sort_unstable();
            pods.dedup();
            self.sync_pods(now, &pods);
        }
        if proxy_relevant {
            for i in 0..self.nodes.len() {
                self.request_proxy_sync(i, now + WATCH_DELAY, sched);
            }
        }
        if let Some(t) = next
            && t > now
        {
            self.schedule_reconcile(t, sched);
        }
        self.coredns_processes(now, sched);
        if !std::mem::replace(&mut self.probes_reconciled, true) {
            // The probe hook came after this pass's controllers: the kubelet probes again.
            self.schedule_reconcile(now, sched);
        }
    }

    /// CoreDNS's processes since the last look: a Corefile loaded (every running process
    /// starts its plugins again), processes started (their `loop` plugins probe, through the
    /// pod's loopback) and processes that exited (the kubelet sees the container exit 1 and
    /// restarts it after its back-off).
    fn coredns_processes(&mut self, now: SimTime, sched: &mut Scheduler<ClusterEvent>) {
        let generation = {
            let mut dns = self.dns.borrow_mut();
            let DnsState { process, dead, .. } = &mut *dns;
            process.tick(now, dead);
            dns.process.generation()
        };
        if generation != self.coredns_generation {
            self.coredns_generation = generation;
            // A reload sets every plugin up anew: empty caches, forward's fresh health state
            // and round-robin position (caddy's restart of the instance).
            {
                let mut dns = self.dns.borrow_mut();
                dns.caches.clear();
                dns.health.clear();
                dns.round_robin.clear();
                dns.plugins += 1;
            }
            let dns = self.dns.borrow();
            let running = dns.process.pods().filter(|p| {
                !dns.dead.contains(*p)
                    && self.pods.contains_key(*p)
                    && dns.kube_api.get(*p).is_none_or(|c| c.startup == Startup::Serving)
            });
            let running: Vec<String> = running.map(str::to_string).collect();
            drop(dns);
            for pod in running {
                self.coredns_start_loops(&pod, now, sched);
            }
        }
        for pod in std::mem::take(&mut self.coredns_starting) {
            self.coredns_on_start(&pod, now, sched);
        }
        let exited = std::mem::take(&mut self.dns.borrow_mut().exited);
        for (pod, at) in exited {
            // The process is gone and so are its sockets: a query meets ICMP port unreachable
            // (a SYN, RST) until the restarted process binds port 53 again.
            if let Some(h) = self.pods.get(&pod).and_then(|p| self.net.host_mut(p.host).ok()) {
                h.sockets.set_closed(53, true);
            }
            let Some((ns, name)) = pod.split_once('/') else { continue };
            let key = crate::api::ObjectKey::new(Kind::Pod, ns, name);
            self.controllers.container_exited(&self.api, &key, None, 1, at);
            self.schedule_reconcile(now, sched);
        }
    }

    /// The `loop` plugins of `pod`'s process start (they probe through the pod's loopback).
    fn coredns_start_loops(&mut self, pod: &str, now: SimTime, sched: &mut Scheduler<ClusterEvent>) {
        let Some(host) = self.pods.get(pod).map(|p| p.host) else { return };
        if self.dns.borrow_mut().start_loops(pod, &self.rng, now) {
            let dns = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 53);
            self.net.wake_app(host, SockProto::Udp, dns, WAKE_LOOPS, SimDuration::ZERO, sched);
        }
    }

    /// The address CoreDNS's in-cluster client dials: `KUBERNETES_SERVICE_HOST` and
    /// `KUBERNETES_SERVICE_PORT`, the `kubernetes` Service's ClusterIP and `https` port.
    fn kube_api_address(&self) -> Option<SocketAddrV4> {
        let svc = self.api.get_named(Kind::Service, "default", "kubernetes")?.as_service()?;
        let IpAddr::V4(ip) = svc.spec.cluster_ip.ip()? else { return None };
        let port = svc.spec.ports.iter().find(|p| p.name == "https").or(svc.spec.ports.first())?;
        Some(SocketAddrV4::new(ip, u16::try_from(port.port).ok()?))
    }

    /// A CoreDNS process started: with a kubernetes plugin its servers wait for the plugin's
    /// start-up (the informers LIST; `onStart` checks every 100 ms for up to 5 s); without one
    /// they start at once.
    fn coredns_on_start(&mut self, pod: &str, now: SimTime, sched: &mut Scheduler<ClusterEvent>) {
        let Some(host) = self.pods.get(pod).map(|p| p.host) else { return };
        let informers = {
            let dns = self.dns.borrow();
            dns.process.setup().and_then(|s| {
                let ks: Vec<_> = s.servers.iter().filter(|s| s.config.kubernetes).collect();
                let verified = ks.iter().any(|s| s.config.pods == crate::dns::coredns::PodMode::Verified);
                (!ks.is_empty()).then(|| kube_api::reflectors(verified))
            })
        };
        let api = self.kube_api_address();
        let (Some(informers), Some(api)) = (informers, api) else {
            self.dns.borrow_mut().kube_api.remove(pod);
            self.coredns_serving(pod, now, sched);
            return;
        };
        {
            let mut dns = self.dns.borrow_mut();
            let n = dns.incarnation.get(pod).copied().unwrap_or(0);
            let rng = self.rng.fork(&format!("coredns/{pod}/kube_api/{n}"));
            let epoch = self.api.config().epoch_unix_secs;
            dns.kube_api.insert(pod.to_string(), KubeApiClient::new(api, informers, rng, now, epoch));
        }
        // The DNS servers listen only when onStart has returned.
        if let Ok(h) = self.net.host_mut(host) {
            h.sockets.set_closed(53, true);
        }
        let dns = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 53);
        self.net.wake_app(host, SockProto::Udp, dns, WAKE_KUBE_API, SimDuration::ZERO, sched);
        let check = ClusterEvent::CoreDnsSyncCheck { pod: pod.to_string(), started: now, check: 1 };
        sched.schedule_at(now + kube_api::SYNC_CHECK, check);
    }

    /// One of `onStart`'s checks: synced, the servers start; not yet, it logs every 500 ms and
    /// gives up waiting after 5 s. The first check that finds it unsynced makes the kubelet's
    /// probe at the container's start void (the `ready` plugin answers 503 until it syncs).
    fn coredns_sync_check(
        &mut self,
        pod: &str,
        started: SimTime,
        check: u32,
        now: SimTime,
        sched: &mut Scheduler<ClusterEvent>,
    ) {
        let synced = {
            let dns = self.dns.borrow();
            let current =
                dns.kube_api.get(pod).filter(|c| c.started == started && c.startup == Startup::Waiting);
            match current {
                Some(c) if !dns.dead.contains(pod) => c.synced(),
                _ => return,
            }
        };
        if synced {
            self.coredns_serving(pod, now, sched);
            return;
        }
        let waited = SimDuration::from_nanos(kube_api::SYNC_CHECK.as_nanos() * u64::from(check));
        if waited >= kube_api::STARTUP_TIMEOUT {
            let line =
                "[WARNING] plugin/kubernetes: starting server with unsynced Kubernetes API".to_string();
            self.dns.borrow_mut().process.log(pod, line);
            self.coredns_serving(pod, now, sched);
            return;
        }
        if waited.as_nanos().is_multiple_of(kube_api::WAIT_LOG.as_nanos()) {
            let line =
                "[INFO] plugin/kubernetes: waiting for Kubernetes API before starting server".to_string();
            self.dns.borrow_mut().process.log(pod, line);
        }
        if check == 1 {
            self.answer_probes();
            if let Some((ns, name)) = pod.split_once('/') {
                let key = crate::api::ObjectKey::new(Kind::Pod, ns, name);
                self.controllers.probe_anew(&self.api, &key, now);
            }
            self.schedule_reconcile(now, sched);
        }
        let next = ClusterEvent::CoreDnsSyncCheck { pod: pod.to_string(), started, check: check + 1 };
        sched.schedule_at(now + kube_api::SYNC_CHECK, next);
    }

    /// `pod`'s CoreDNS servers start: they bind port 53, the banner is logged, and the `loop`
    /// plugins probe.
    fn coredns_serving(&mut self, pod: &str, now: SimTime, sched: &mut Scheduler<ClusterEvent>) {
        {
            let mut dns = self.dns.borrow_mut();
            dns.process.servers_started(pod);
            if let Some(c) = dns.kube_api.get_mut(pod) {
                c.startup = Startup::Serving;
            }
        }
        if let Some(h) = self.pods.get(pod).and_then(|p| self.net.host_mut(p.host).ok()) {
            h.sockets.set_closed(53, false);
        }
        self.coredns_start_loops(pod, now, sched);
    }

    /// A CoreDNS pod's container runs a process netsim has not started yet (its first start,
    /// or a restart after an exit): the process starts, and a restarted one opens a new log.
    fn coredns_container_running(&mut self, key: &str, restart_count: Option<i64>) {
        let Some(restart_count) = restart_count else { return };
        let mut dns = self.dns.borrow_mut();
        let before = dns.incarnation.insert(key.to_string(), restart_count);
        if before == Some(restart_count) {
            return;
        }
        if before.is_some() {
            let DnsState { process, dead, .. } = &mut *dns;
            process.pod_restarted(key, dead);
            dns.caches.remove(key);
        }
        dns.dead.remove(key);
        drop(dns);
        if let Some(h) = self.pods.get(key).and_then(|p| self.net.host_mut(p.host).ok()) {
            h.sockets.set_closed(53, false);
        }
        self.coredns_starting.push(key.to_string());
    }

    /// Asks node `i`'s kube-proxy to sync (its runner decides when).
    pub fn request_proxy_sync(&mut self, i: usize, at: SimTime, sched: &mut Scheduler<ClusterEvent>) {
        let Some(n) = self.nodes.get_mut(i) else { return };
        if !n.proxy.running || !n.up || n.partitioned {
            return;
        }
        n.proxy.dirty = true;
        self.arm_proxy(i, at, sched);
    }

    /// kube-proxy's view now: the shared snapshot, rebuilt only after a Service or
    /// EndpointSlice change.
    fn proxy_snapshot(&mut self) -> Rc<proxy_view::ProxySnapshot> {
        if let Some(v) = &self.proxy_view
            && v.seq == self.proxy_seq
        {
            return v.clone();
        }
        let v = Rc::new(proxy_view::ProxySnapshot::build(
            self.proxy_seq,
            self.api.services(),
            self.api.endpoint_slices(),
        ));
        self.proxy_view = Some(v.clone());
        v
    }

    /// One kube-proxy sync on node `i`: generate, load, arm the periodic timer. The generation
    /// and the load wait for the moment something looks at the node
    /// ([`sim_net::host::Host::defer_rules`]): a packet reaching it, or a command reading its
    /// rules. The rules it then gets are exactly the ones this sync would have written, from the
    /// view this sync saw. In iptables mode every sync defers (a later one replaces a load
    /// nothing looked at); in nftables and IPVS modes the first, and any while one is pending.
    pub fn proxy_sync(&mut self, i: usize, now: SimTime, sched: &mut Scheduler<ClusterEvent>) {
        let view = self.proxy_snapshot();
        let Some(mode) = self.nodes.get(i).map(|n| n.proxy.config.mode) else { return };
        let loaded = match mode {
            kube_proxy::ProxyMode::Iptables | kube_proxy::ProxyMode::Nftables => {
                self.load_netfilter(i, &view)
            }
            kube_proxy::ProxyMode::Ipvs => self.load_ipvs(i, &view, now),
        };
        if !loaded {
            return;
        }
        let Some(node) = self.nodes.get_mut(i) else { return };
        // After a successful sync, as upstream's proxiers call CleanStaleEntries.
        if let Ok(h) = self.net.host_mut(node.host) {
            kube_proxy::conntrack::clean_stale_entries(
                &mut h.conntrack,
                now,
                &view.services,
                &view.endpoints,
                self.config.kube_proxy_udp_cleanup,
            );
        }
        node.proxy.syncs += 1;
        node.proxy.dirty = false;
        node.proxy.synced_seq = view.seq.max(node.proxy.synced_seq);
        let next = node.proxy.runner.next_timer();
        self.install_health_checks(i);
        self.route_external_ips();
        self.arm_proxy(i, next, sched);
    }

    /// kube-proxy in IPVS mode on node `i` ([`kube_proxy::ipvs`]): the virtual servers,
    /// kube-ipvs0 and sysctls now; the ipsets and iptables rules deferred like the iptables
    /// mode's rules.
    fn load_ipvs(&mut self, i: usize, view: &Rc<proxy_view::ProxySnapshot>, now: SimTime) -> bool {
        let Some(node) = self.nodes.get_mut(i) else { return false };
        let host = node.host;
        let first = node.proxy.syncs == 0;
        let want = kube_proxy::ipvs::sync(&node.proxy.config, &view.services, &view.endpoints);
        kube_proxy::ipvs::apply::apply_ipvs(&mut self.net, host, &want, now);
        let Some(h) = self.net.host_mut(host).ok() else { return false };
        let name = node.name.clone();
        let rules = want.rules;
        if first || h.rules_pending() {
            h.defer_rules(Box::new(move |nf: &mut sim_net::netfilter::Netfilter| {
                kube_proxy::ipvs::apply::load_rules(nf, &rules, true, &name);
            }));
        } else {
            kube_proxy::ipvs::apply::load_rules(h.rules(), &rules, false, &name);
        }
        node.proxy.health = want.health_checks;
        true
    }

    /// kube-proxy in iptables or nftables mode on node `i`: generate and load (or defer) the
    /// rules.
    fn load_netfilter(&mut self, i: usize, view: &Rc<proxy_view::ProxySnapshot>) -> bool {
        let Some(node) = self.nodes.get_mut(i) else { return false };
        let host = node.host;
        let Some(h) = self.net.host_mut(host).ok() else { return false };
        let first = node.proxy.syncs == 0;
        let mode = node.proxy.config.mode;
        let loaded = match mode {
            kube_proxy::ProxyMode::Nftables => {
                sync_nftables(h, &mut node.proxy, view, first, vec![self.config.service_cidr])
            }
            _ => sync_iptables(h, &mut node.proxy, &node.name, view, first),
        };
        if !loaded {
            return false;
        }
        if self.eager_rules {
            h.load_pending_rules();
        }
        if first && mode == kube_proxy::ProxyMode::Iptables && node.proxy.config.sets_route_localnet() {
            h.sysctl.route_localnet = true;
        }
        true
    }

    /// With `eager`, every kube-proxy sync restores its rules into the node at once, as the real
    /// one does, instead of deferring them until a packet or a command looks (the default, which
    /// gives the same tables: `tests/lazy_rules.rs` checks that on random clusters).
    pub fn set_eager_rules(&mut self, eager: bool) {
        self.eager_rules = eager;
        if eager {
            for n in &self.nodes {
                if let Ok(h) = self.net.host_mut(n.host) {
                    h.load_pending_rules();
                }
            }
        }
    }

    /// Loads node `name`'s deferred rules, if any (before reading them from outside the
    /// dataplane).
    pub fn load_rules_of(&mut self, name: &str) {
        if let Some(i) = self.node_index(name) {
            let host = self.nodes[i].host;
            if let Ok(h) = self.net.host_mut(host) {
                h.load_pending_rules();
            }
        }
    }

    /// (Re)binds the node's health-check node ports with the latest answers.
    fn install_health_checks(&mut self, i: usize) {
        let Some(node) = self.nodes.get(i) else { return };
        let host = node.host;
        let servers = node.proxy.health.clone();
        let Ok(h) = self.net.host_mut(host) else { return };
        for s in servers {
            let r = s.respond(true);
            let mut head = format!("HTTP/1.1 {} {}\r\n", r.status, r.reason);
            for (k, v) in &r.headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str(&format!("Content-Length: {}\r\n\r\n", r.body.len()));
            let response = format!("{head}{}", r.body).into_bytes();
            let addr = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, s.node_port);
            let app = Box::new(HealthCheckApp { response });
            match h.sockets.find_listener(SockProto::Tcp, addr) {
                Some(i) => {
                    if let Some(l) = h.sockets.listener_mut(i) {
                        l.app = app;
                    }
                }
                None => {
                    let _ = h.sockets.listen(SockProto::Tcp, addr, app);
                }
            }
        }
    }

    /// NGINX Gateway Fabric's control plane over the store (`crate::gateway::controller`):
    /// statuses written, provisioned objects applied (orphans deleted), and the routing handed
    /// to its nginx pods. True if it wrote an object the other controllers act on.
    fn gateway_control(&mut self, now: SimTime) -> bool {
        if self.api.list(Kind::GatewayClass).next().is_none() {
            return false;
        }
        let d = crate::gateway::controller::reconcile(&self.api, now);
        let mut wrote = false;
        for o in d.provisioned {
            if let Ok(r) = self.api.apply(o) {
                wrote |= r != crate::apiserver::ApplyResult::Unchanged;
            }
        }
        for (kind, ns, name) in d.orphans {
            wrote |= self.api.delete(kind, &ns, &name).is_ok();
        }
        for o in d.statuses {
            let _ = self.api.update_status(o);
        }
        let mut st = self.gateway.borrow_mut();
        st.configs = d.configs.into_iter().map(|(k, v)| (k, Rc::new(v))).collect();
        st.view = crate::ingress::backends::ControllerView::build(&self.api);
        for n in d.notices {
            if !st.control_log.contains(&n) {
                st.control_log.push(n);
            }
        }
        wrote
    }

    /// The cloud provider: gives LoadBalancer services an ingress IP from the pool.
    fn provide_load_balancers(&mut self) {
        if self.config.lb_pool.is_empty() {
            return;
        }
        let mut taken: BTreeSet<Ipv4Addr> = BTreeSet::new();
        let mut pending: Vec<crate::api::Service> = Vec::new();
        for o in self.api.list(Kind::Service) {
            let Object::Service(s) = o else { continue };
            if s.spec.service_type() != crate::api::ServiceType::LoadBalancer {
                continue;
            }
            let ingress: Vec<Ipv4Addr> = s
                .status
                .iter()
                .flat_map(|st| st.load_balancer.ingress.iter())
                .filter_map(|i| i.ip.parse().ok())
                .collect();
            if ingress.is_empty() {
                pending.push((**s).clone());
            }
            taken.extend(ingress);
        }
        for mut s in pending {
            let wanted: Option<Ipv4Addr> = s.spec.load_balancer_ip.parse().ok();
            let ip = wanted
                .filter(|w| self.config.lb_pool.contains(w) && !taken.contains(w))
                .or_else(|| self.config.lb_pool.iter().copied().find(|ip| !taken.contains(ip)));
            let Some(ip) = ip else { continue };
            taken.insert(ip);
            let status = s.status.get_or_insert_with(Default::default);
            status
                .load_balancer
                .ingress
                .push(crate::api::service::LoadBalancerIngress { ip: ip.to_string(), ..Default::default() });
            let _ = self.api.update_status(Object::Service(Box::new(s)));
        }
    }

    /// Routes every externalIP and LoadBalancer ingress IP, on every external host, to the
    /// nodes that can serve it, as an L3 load balancer in front of the cluster (MetalLB in BGP
    /// mode, a cloud router) does with ECMP: one multipath route over all of them, so each flow
    /// is hashed to one node ([`lb_targets`] says which nodes; one node gets a plain `via`
    /// route, none gets no route). The routes of the previous call are deleted first.
    pub fn route_external_ips(&mut self) {
        let mut wanted: Vec<(Ipv4Addr, Vec<Ipv4Addr>)> = Vec::new();
        let routed = |s: &crate::api::Service| {
            !s.spec.external_ips.is_empty()
                || s.status.as_ref().is_some_and(|st| !st.load_balancer.ingress.is_empty())
        };
        // Every node's kube-proxy sync asks; the answer changes only with the API.
        if self.external_routes.is_empty() {
            let seq = self.api.last_seq();
            if self.no_external_services_at == Some(seq) {
                return;
            }
            if !self.api.services().any(routed) {
                self.no_external_services_at = Some(seq);
                return;
            }
        }
        for o in self.api.list(Kind::Service) {
            let Object::Service(s) = o else { continue };
            let mut ips: Vec<Ipv4Addr> = s.spec.external_ips.iter().filter_map(|i| i.parse().ok()).collect();
            ips.extend(
                s.status
                    .iter()
                    .flat_map(|st| st.load_balancer.ingress.iter())
                    .filter_map(|i| i.ip.parse::<Ipv4Addr>().ok()),
            );
            if ips.is_empty() {
                continue;
            }
            let targets = lb_targets(&self.nodes, s, self.lb.probed(&s.metadata.namespace, &s.metadata.name));
            if targets.is_empty() {
                continue;
            }
            for ip in ips {
                if !wanted.iter().any(|(w, _)| *w == ip) {
                    wanted.push((ip, targets.clone()));
                }
            }
        }
        for (host, dst) in std::mem::take(&mut self.external_routes) {
            if let Ok(h) = self.net.host_mut(host) {
                let _ = h.routes.delete(dst);
            }
        }
        let hosts: Vec<HostId> = self.externals.values().copied().collect();
        for host in hosts {
            for (ip, targets) in &wanted {
                let line = lb_route_line(*ip, targets);
                if let Ok(h) = self.net.host_mut(host)
                    && h.add_route_str(&line).is_ok()
                {
                    self.external_routes.push((host, Ipv4Net::new(*ip, 32).unwrap_or_default()));
                }
            }
        }
    }

    /// Whether a CoreDNS pod runs in the network namespace `host`.
    fn runs_coredns(&self, host: HostId) -> bool {
        let dns = self.dns.borrow();
        dns.process.pods().any(|p| self.pods.get(p).is_some_and(|rt| rt.host == host))
    }

    /// Rebuilds CoreDNS's view if the API changed since it was built. Called before any network
    /// event in a CoreDNS pod (a query arriving, an upstream's answer, a timer), so a query is
    /// always answered from the state of the last reconcile; a cluster whose packets never
    /// reach CoreDNS while its pods roll never rebuilds the view at all.
    pub fn refresh_dns_if_stale(&mut self) {
        if std::mem::take(&mut self.dns_stale) {
            self.refresh_dns();
        }
    }

    /// The `kube-system/coredns` ConfigMap changed: CoreDNS's `reload` plugin will see its
    /// `Corefile` key at its next check (a deleted ConfigMap leaves the file as it was).
    fn corefile_written(&mut self, now: SimTime) {
        let text = self
            .api
            .get_named(Kind::ConfigMap, "kube-system", "coredns")
            .and_then(Object::as_config_map)
            .and_then(|cm| cm.data.get("Corefile").cloned());
        self.dns.borrow_mut().process.corefile_written(now, text);
        // A Corefile that drops `ready` or moves it fails kubeadm's probe: from now on the
        // probes ask the process.
        if !self.dns.borrow().process.answers_kubeadm_probe() {
            self.answer_probes();
        }
    }

    /// Rebuilds CoreDNS's view from the API.
    pub fn refresh_dns(&mut self) {
        let namespaces: Vec<_> = self.api.namespaces().collect();
        let services: Vec<_> = self.api.services().collect();
        let slices: Vec<_> = self.api.endpoint_slices().collect();
        let pods: Vec<_> = self.api.pods().collect();
        let view = dns_view::dns_view(namespaces, services, &slices, pods);
        self.dns.borrow_mut().view = view;
    }

    /// Wires the changed pods that now run into the network and unwires those that are gone.
    fn sync_pods(&mut self, now: SimTime, changed: &[(String, String)]) {
        let mut gone: Vec<String> = Vec::new();
        for (ns, name) in changed {
            let key = pod_key(ns, name);
            let pod = self.api.get_named(Kind::Pod, ns, name).and_then(Object::as_pod);
            let running = pod.and_then(|pod| {
                let IpAddr::V4(ip) = pod.status.as_ref().and_then(|s| s.pod_ip)? else { return None };
                let node = self.node_index(&pod.spec.node_name)?;
                Some((pod, ip, node))
            });
            let Some((pod, ip, node)) = running else {
                if self.pods.contains_key(&key) {
                    gone.push(key);
                }
                continue;
            };
            if self.pods.get(&key).is_some_and(|rt| rt.uid == pod.metadata.uid && rt.ip == ip) {
                if super::probes::is_coredns(pod) {
                    let running = super::probes::running_container(pod);
                    self.coredns_container_running(&key, running);
                }
                continue;
            }
            // Held shared with the store across the wiring, not copied.
            let Some(shared) = self.api.shared(&crate::api::ObjectKey::new(Kind::Pod, ns, name)) else {
                continue;
            };
            let Some(pod) = shared.as_pod() else { continue };
            if self.pods.contains_key(&key) {
                self.unwire(&key);
            }
            self.wire(pod, key.clone(), node, ip, now);
            if super::probes::is_coredns(pod) {
                self.coredns_container_running(&key, super::probes::running_container(pod));
            }
        }
        // In wiring order, as a scan of the running pods would find them.
        gone.sort_by_key(|k| self.pods.get_index_of(k));
        for k in gone {
            self.unwire(&k);
        }
    }

    /// The CNI ADD: a namespace with eth0 on a veth pair to the node bridge, the default route
    /// via the bridge, and the containers' servers.
    fn wire(&mut self, pod: &crate::api::Pod, key: String, node: usize, ip: Ipv4Addr, now: SimTime) {
        let Some(n) = self.nodes.get(node) else { return };
        let (node_host, bridge, bridge_ip, prefix) =
            (n.host, self.config.bridge.clone(), n.bridge_ip, n.pod_cidr.prefix_len());
        let host_network = pod.spec.host_network.unwrap_or(false);
        let image = pod.spec.containers.first().map(|c| c.image.clone()).unwrap_or_default();
        let (host, veth) = if host_network {
            (node_host, None)
        } else {
            let mut name = pod_host_name(&pod.metadata.namespace, &pod.metadata.name);
            let mut k = 2;
            while self.net.host_id(&name).is_some() {
                name = format!("{}#{k}", pod_host_name(&pod.metadata.namespace, &pod.metadata.name));
                k += 1;
            }
            let Ok(host) = self.net.add_host(&name) else { return };
            let veth = veth_name(&pod.metadata.uid);
            if self.net.add_veth(host, "eth0", node_host, &veth).is_err() {
                return;
            }
            let _ = self.net.set_master(node_host, &veth, &bridge);
            if let Ok(h) = self.net.host_mut(node_host) {
                let _ = h.set_up(&veth, true);
                if let Ok(i) = h.iface_mut(&veth) {
                    i.hairpin = true;
                }
            }
            if let Ok(h) = self.net.host_mut(host) {
                let _ = h.add_addr("eth0", Ipv4Net::new(ip, prefix).unwrap_or_default());
                let _ = h.set_up("eth0", true);
                let _ = h.add_route_str(&format!("default via {bridge_ip} dev eth0"));
            }
            (host, Some(veth))
        };
        let hostname =
            if pod.spec.hostname.is_empty() { pod.metadata.name.clone() } else { pod.spec.hostname.clone() };
        let is_dns = super::probes::is_coredns(pod);
        if is_dns && !super::probes::coredns_probes_as_kubeadm(pod) {
            self.answer_probes();
        }
        // The TCP ports the pod's processes listen on, and the server behind each (only a pod
        // with a readiness probe needs the image's).
        let probed = pod.spec.containers.iter().any(|c| c.readiness_probe.is_some());
        let mut served: Vec<super::served_ports::ServedPort> = Vec::new();
        if let Ok(h) = self.net.host_mut(host) {
            if is_dns {
                let addr = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 53);
                let pod_name = pod_key(&pod.metadata.namespace, &pod.metadata.name);
                {
                    // A (re)started CoreDNS starts with an empty cache.
                    let mut dns = self.dns.borrow_mut();
                    dns.process.pod_started(&pod_name);
                    dns.caches.remove(&pod_name);
                }
                for proto in [SockProto::Udp, SockProto::Tcp] {
                    let rng = self.rng.fork(&format!("coredns/{pod_name}/{proto}"));
                    let app = super::dns_apps::DnsServerApp::new(self.dns.clone(), pod_name.clone(), rng);
                    let _ = h.sockets.listen(proto, addr, Box::new(app));
                }
            }
            for c in pod.spec.containers.iter() {
                let kind = AppKind::from_image(&c.image);
                if kind == AppKind::IngressNginx {
                    // The controller's nginx on 80 and 443 (its webhook port is not an HTTP
                    // server netsim runs: admission is checked on apply).
                    let flags = crate::ingress::ControllerFlags::from_args(&c.args, &pod.metadata.namespace);
                    // Its status server (`/healthz` on 10254, the readiness probe's) and the
                    // ports its spec declares (the webhook's 8443) listen too.
                    served.push((10254, None));
                    served.extend(
                        c.ports
                            .iter()
                            .filter_map(|p| u16::try_from(p.container_port).ok())
                            .map(|p| (p, None)),
                    );
                    for port in [80, 443] {
                        served.push((port, None));
                        let app = crate::ingress::IngressNginxApp::new(
                            self.ingress.clone(),
                            flags.controller_class.clone(),
                        );
                        let _ = h.sockets.listen(
                            SockProto::Tcp,
                            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port),
                            Box::new(app),
                        );
                    }
                    continue;
                }
                if kind == AppKind::GatewayFabricNginx {
                    // A Gateway's nginx on the listener ports the provisioner declared.
                    let gw_name = pod.metadata.labels.get(crate::gateway::controller::GATEWAY_LABEL);
                    let gateway =
                        format!("{}/{}", pod.metadata.namespace, gw_name.map_or("", |s| s.as_str()));
                    for port in c.ports.iter().filter_map(|p| u16::try_from(p.container_port).ok()) {
                        served.push((port, None));
                        let app = crate::gateway::GatewayNginxApp::new(
                            self.gateway.clone(),
                            gateway.clone(),
                            pod_key(&pod.metadata.namespace, &pod.metadata.name),
                        );
                        let _ = h.sockets.listen(
                            SockProto::Tcp,
                            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port),
                            Box::new(app),
                        );
                    }
                    continue;
                }
                let mut ports: Vec<(SockProto, u16)> = c
                    .ports
                    .iter()
                    .filter_map(|p| {
                        let proto = match p.protocol.as_ref().map(|p| p.as_str()) {
                            Some("UDP") => SockProto::Udp,
                            Some("SCTP") => SockProto::Sctp,
                            _ => SockProto::Tcp,
                        };
                        u16::try_from(p.container_port).ok().map(|port| (proto, port))
                    })
                    .collect();
                if ports.is_empty() {
                    ports = kind.default_ports().iter().map(|p| (SockProto::Tcp, *p)).collect();
                }
                for (proto, port) in ports {
                    if is_dns && port == 53 {
                        continue;
                    }
                    if proto == SockProto::Tcp && probed {
                        served.push((port, Some(kind.clone())));
                    }
                    let addr = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
                    let app = ImageApp {
                        kind: kind.clone(),
                        hostname: hostname.clone(),
                        epoch_unix_secs: self.api.config().epoch_unix_secs,
                    };
                    let _ = h.sockets.listen(proto, addr, Box::new(app));
                }
            }
        }
        if !is_dns && (probed || !self.failing_probes.borrow().is_empty()) {
            let key = pod_key(&pod.metadata.namespace, &pod.metadata.name);
            if self.failing_probes.borrow_mut().wired(&key, pod, &served) {
                self.answer_probes();
            }
        }
        let api = &self.api;
        let env_services = self
            .env_cache
            .entry(pod.metadata.namespace.clone())
            .or_insert_with(|| {
                api.list_in(Kind::Service, &pod.metadata.namespace).map(|o| o.name().to_string()).collect()
            })
            .clone();
        let _ = &self.rng;
        self.pods.insert(
            key,
            PodRt { host, node, ip, veth, uid: pod.metadata.uid.clone(), image, started: now, env_services },
        );
    }

    /// The CNI DEL: the pod's interfaces go down and its addresses are released.
    fn unwire(&mut self, key: &str) {
        let Some(rt) = self.pods.shift_remove(key) else { return };
        if rt.veth.is_none() {
            return;
        }
        if let Ok(h) = self.net.host_mut(rt.host) {
            let _ = h.set_up("eth0", false);
            if let Ok(i) = h.iface_mut("eth0") {
                i.addrs.clear();
            }
            h.sockets = Default::default();
        }
        if let (Some(n), Some(v)) = (self.nodes.get(rt.node), rt.veth.as_deref()) {
            let nh = n.host;
            if let Ok(h) = self.net.host_mut(nh) {
                let _ = h.set_up(v, false);
            }
        }
    }
}

/// An iptables-mode sync of one node: deferred into empty tables the first time (or while a
/// load is pending), else `iptables-restore --noflush`. False if the rules could not load.
fn sync_iptables(
    h: &mut sim_net::host::Host,
    proxy: &mut ProxyAgent,
    name: &str,
    view: &Rc<proxy_view::ProxySnapshot>,
    first: bool,
) -> bool {
    // Every sync is a full one from the view (upstream's partial syncs write the same rules),
    // so the load waits for the next packet or command to look at the node, and a later sync
    // replaces a load nothing looked at: no packet crossed the rules in between, so counters
    // and conntrack end as if each had loaded.
    let initial = first || (h.rules_pending() && proxy.pending_initial);
    proxy.pending_initial = initial;
    let config = proxy.config.clone();
    let load_view = view.clone();
    let node = name.to_string();
    h.defer_rules(Box::new(move |nf: &mut sim_net::netfilter::Netfilter| {
        let existing: BTreeSet<String> = nf.table(TableName::Nat).chains().map(|c| c.name.clone()).collect();
        let result =
            kube_proxy::sync_with_existing(&config, &load_view.services, &load_view.endpoints, &existing);
        let loaded = if initial {
            let input = result.initial_restore();
            super::docker::keeping_dockerd_rules(nf, |nf| nf.restore(&input, false))
        } else {
            nf.restore(&result.restore_input(), true)
        };
        if let Err(e) = loaded {
            // A generated rule the engine cannot load is a bug in one of the two; the old
            // rules stay, as kube-proxy keeps them when iptables-restore fails.
            eprintln!("netsim: kube-proxy on {node}: iptables-restore failed: {e}");
        }
    }));
    proxy.health = view.health_checks(&proxy.config);
    true
}

/// An nftables-mode sync of one node: a full sync, deferred like an iptables load, the first
/// time or while a load is pending; else a partial sync from the view the table reflects (a
/// full one if that fails, as upstream falls back to a full sync). False if the rules could
/// not load.
fn sync_nftables(
    h: &mut sim_net::host::Host,
    proxy: &mut ProxyAgent,
    view: &Rc<proxy_view::ProxySnapshot>,
    first: bool,
    service_cidrs: Vec<Ipv4Net>,
) -> bool {
    use kube_proxy::nftables::{Desired, Existing, full_sync, partial_sync};
    match proxy.nft_view.as_ref().filter(|_| !first && !h.rules_pending()) {
        Some(old) => {
            let config = &proxy.config;
            let old = Desired::build(config, &old.services, &old.endpoints);
            let new = Desired::build(config, &view.services, &view.endpoints);
            let nft = h.rules().nftables_mut();
            if nft.apply(&partial_sync(&old, &new)).is_err() {
                let full = full_sync(config, &service_cidrs, &new, &Existing::of(nft.ruleset()));
                if let Err(e) = nft.apply(&full) {
                    // A generated transaction the engine refuses is a bug in one of the two.
                    eprintln!("netsim: kube-proxy on {}: nft -f failed: {e}", config.node_name);
                    proxy.health.clear();
                    proxy.nft_view = None;
                    return false;
                }
            }
        }
        None => {
            let config = proxy.config.clone();
            let load_view = view.clone();
            h.defer_rules(Box::new(move |nf: &mut sim_net::netfilter::Netfilter| {
                let desired = Desired::build(&config, &load_view.services, &load_view.endpoints);
                let nft = nf.nftables_mut();
                let text = full_sync(&config, &service_cidrs, &desired, &Existing::of(nft.ruleset()));
                if let Err(e) = nft.apply(&text) {
                    eprintln!("netsim: kube-proxy on {}: nft -f failed: {e}", config.node_name);
                }
            }));
        }
    }
    proxy.nft_view = Some(view.clone());
    proxy.health = view.health_checks(&proxy.config);
    true
}
