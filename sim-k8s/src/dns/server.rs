//! CoreDNS as a running process: the Corefile it loaded, reloads when its ConfigMap changes,
//! the queries it serves through the server block that matches, and its log.
//!
//! The Corefile comes from the `Corefile` key of the `kube-system/coredns` ConfigMap, mounted at
//! `/etc/coredns/Corefile` as in kubeadm's Deployment; while no such ConfigMap exists, CoreDNS
//! runs kubeadm's own ([`kubeadm_corefile`]). An edit takes effect at the `reload` plugin's next
//! check (every interval from start; plugin/reload's jitter and the kubelet's ConfigMap volume
//! sync delay are not modelled); without `reload` an edit waits for a restart. A Corefile that
//! does not load keeps the old configuration running and logs `[ERROR] Restart failed: …` (a
//! bad Corefile at start leaves CoreDNS answering nothing; kubeadm's always runs first). The
//! log keeps, per CoreDNS pod, the lines `kubectl logs` would show: the start banner, reloads,
//! `log` plugin lines in CoreDNS's default format, SIGTERM and the `health` plugin's lameduck
//! ([`CoreDnsProcess::stop_signal`]), the `loop` plugin's `[FATAL]`, and a `[WARNING] netsim:`
//! line for each part of the Corefile that is accepted but not simulated. A container that
//! restarts opens a new log ([`CoreDnsProcess::pod_restarted`]).

use std::collections::BTreeMap;
use std::net::SocketAddrV4;

use sha2::{Digest, Sha512};
use sim_core::{SimDuration, SimTime};

use super::coredns::autopath::{Step, Walk};
use super::coredns::cache::{DnsCache, Found};
use super::coredns::{CoreDns, CoreDnsConfig, ForwardPolicy, HealthCheck, KUBEADM_COREFILE, ServerDrop};
use super::corefile::setup::{CorefileSetup, setup};
use super::corefile::{Corefile, CorefileError, KUBEADM_COREFILE_PATH};
use super::message::{Flags, Message, Rcode, RecordType};
use super::name::Name;
use super::resolver::Transport;
use super::view::ClusterDnsView;

/// The version CoreDNS's banner shows (kubeadm v1.29's image, as the cluster deploys it).
pub const COREDNS_VERSION: &str = "1.11.1";

/// The time CoreDNS takes to answer from its caches, as the `log` plugin's `{duration}` shows.
const SERVE_DURATION: &str = "0.000110732s";
/// The same, as a duration (a forwarded query's line adds the upstream's time to it).
const SERVE_TIME: SimDuration = SimDuration::from_nanos(110_732);

/// `{duration}`: `strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"`.
fn seconds(d: SimDuration) -> String {
    let ns = d.as_nanos();
    let (whole, frac) = (ns / 1_000_000_000, ns % 1_000_000_000);
    if frac == 0 {
        return format!("{whole}s");
    }
    let digits = format!("{frac:09}");
    format!("{whole}.{}s", digits.trim_end_matches('0'))
}

/// Go's `time.Duration.String`: `500ms`, `5s`, `1m30s`, `1h0m0s`, `1.5µs`.
pub(crate) fn go_duration(d: SimDuration) -> String {
    fn scaled(v: u128, unit: u128, suffix: &str) -> String {
        let (whole, frac) = (v / unit, v % unit);
        if frac == 0 {
            return format!("{whole}{suffix}");
        }
        let width = unit.ilog10() as usize;
        let digits = format!("{frac:0width$}");
        format!("{whole}.{}{suffix}", digits.trim_end_matches('0'))
    }
    let ns = u128::from(d.as_nanos());
    const SEC: u128 = 1_000_000_000;
    match ns {
        0 => "0s".to_string(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => scaled(n, 1_000, "µs"),
        n if n < SEC => scaled(n, 1_000_000, "ms"),
        n => {
            let (h, m) = (n / (3600 * SEC), n / (60 * SEC) % 60);
            let s = scaled(n % (60 * SEC), SEC, "s");
            match (h, m) {
                (0, 0) => s,
                (0, m) => format!("{m}m{s}"),
                (h, m) => format!("{h}h{m}m{s}"),
            }
        }
    }
}

/// kubeadm's Corefile for a cluster domain.
pub fn kubeadm_corefile(cluster_domain: &str) -> String {
    KUBEADM_COREFILE.replace("cluster.local", cluster_domain)
}

/// The running CoreDNS instances of a cluster (they share one Corefile and one view).
#[derive(Clone, Debug)]
pub struct CoreDnsProcess {
    /// What the cluster supplies (DNS service IPs, SOA serial, upstream data).
    pub base: CoreDnsConfig,
    /// The Corefile text now running.
    corefile: String,
    /// Its setup; `Err` when even the first load failed.
    running: Result<CorefileSetup, String>,
    /// A Corefile written to the ConfigMap (and when) that is not loaded yet.
    pending: Option<(SimTime, String)>,
    /// When the process started (reload checks are counted from here).
    started: SimTime,
    /// Log lines per CoreDNS pod (`namespace/name`), in order: the container that runs now,
    /// or ran last.
    logs: BTreeMap<String, Vec<String>>,
    /// The log of each restarted pod's container before that one (`kubectl logs --previous`).
    previous_logs: BTreeMap<String, Vec<String>>,
    /// How many Corefiles have loaded (each load runs every plugin's start-up again).
    generation: u64,
}

impl CoreDnsProcess {
    /// CoreDNS with kubeadm's Corefile for the base's cluster domain.
    pub fn new(base: CoreDnsConfig) -> Self {
        let text = kubeadm_corefile(&base.zone.to_relative_string());
        let running = load(&text, &base).map_err(|e| e.to_string());
        CoreDnsProcess {
            base,
            corefile: text,
            running,
            pending: None,
            started: SimTime::ZERO,
            logs: BTreeMap::new(),
            previous_logs: BTreeMap::new(),
            generation: 0,
        }
    }

    /// The Corefile now running.
    pub fn corefile(&self) -> &str {
        &self.corefile
    }

    /// The servers now running (`None` when the Corefile never loaded).
    pub fn setup(&self) -> Option<&CorefileSetup> {
        self.running.as_ref().ok()
    }

    /// The log lines of one CoreDNS pod (`namespace/name`), as `kubectl logs` shows them.
    pub fn logs(&self, pod: &str) -> &[String] {
        self.logs.get(pod).map_or(&[], Vec::as_slice)
    }

    /// The log of the pod's container before the one that runs now or ran last (`None` when
    /// it has not restarted).
    pub fn previous_logs(&self, pod: &str) -> Option<&[String]> {
        self.previous_logs.get(pod).map(Vec::as_slice)
    }

    /// The pods that have a log.
    pub fn pods(&self) -> impl Iterator<Item = &str> {
        self.logs.keys().map(String::as_str)
    }

    /// How many Corefiles have loaded since the start (a reload that fails does not count).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// When the `reload` plugin's next check will load the Corefile written to the ConfigMap
    /// (`None`: nothing is waiting, or no `reload`).
    pub fn reload_due(&self) -> Option<SimTime> {
        let (written, _) = self.pending.as_ref()?;
        let interval = self.running.as_ref().ok()?.reload?;
        let step = interval.as_nanos().max(1);
        let checks_before = written.saturating_since(self.started).as_nanos() / step;
        Some(self.started + SimDuration::from_nanos((checks_before + 1).saturating_mul(step)))
    }

    /// Whether kubeadm's readiness probe (`GET :8181/ready`) is answered 200 by the Corefile
    /// running and by the one waiting to load (one that will not load leaves the running one).
    pub fn answers_kubeadm_probe(&self) -> bool {
        let ok = |s: &CorefileSetup| s.http_status(8181, "/ready") == Some(200);
        self.running.as_ref().is_ok_and(ok)
            && self.pending.as_ref().is_none_or(|(_, text)| load(text, &self.base).map_or(true, |s| ok(&s)))
    }

    /// Appends a line to a CoreDNS pod's log.
    pub fn log(&mut self, pod: &str, line: String) {
        self.logs.entry(pod.to_string()).or_default().push(line);
    }

    /// A CoreDNS pod's container started again (after an exit): the new process reads the
    /// Corefile as the ConfigMap has it now (the others load it too: CoreDNS processes share
    /// one configuration here), and `kubectl logs` shows the new container's log (its banner
    /// comes when its servers start).
    /// Processes that are not running (`down`: exited, waiting to restart) log nothing of it.
    pub fn pod_restarted(&mut self, pod: &str, down: &std::collections::BTreeSet<String>) {
        if let Some(before) = self.logs.remove(pod) {
            self.previous_logs.insert(pod.to_string(), before);
        }
        if let Some((_, text)) = self.pending.take() {
            self.reload(text, down);
        }
        let lines = self.load_error();
        self.logs.insert(pod.to_string(), lines);
    }

    /// A CoreDNS pod started: a new log, which opens with the load error of a Corefile that
    /// does not load (the banner comes when the servers start: [`Self::servers_started`]).
    pub fn pod_started(&mut self, pod: &str) {
        let lines = self.load_error();
        self.logs.insert(pod.to_string(), lines);
        self.previous_logs.remove(pod);
    }

    /// The pod's servers started listening (every plugin's start-up has run): the banner.
    pub fn servers_started(&mut self, pod: &str) {
        if let Ok(s) = &self.running {
            let lines = banner(&self.corefile, s);
            self.logs.entry(pod.to_string()).or_default().extend(lines);
        }
    }

    fn load_error(&self) -> Vec<String> {
        match &self.running {
            Ok(_) => Vec::new(),
            Err(e) => vec![format!("Error: {e}")],
        }
    }

    /// The pod's CoreDNS got SIGTERM (its pod is deleted): Caddy shuts the servers down, each
    /// `health` server first sleeping its lameduck, while the DNS servers go on answering.
    /// Returns how long that takes (the process exits then); logs what CoreDNS logs.
    pub fn stop_signal(&mut self, pod: &str) -> SimDuration {
        let Some(log) = self.logs.get_mut(pod) else { return SimDuration::ZERO };
        // caddy's sigtrap_posix.go, then plugin/health's OnFinalShutdown.
        log.push("[INFO] SIGTERM: Shutting down servers then terminating".to_string());
        let Ok(setup) = &self.running else { return SimDuration::ZERO };
        for h in setup.health.iter().filter(|h| h.lameduck > SimDuration::ZERO) {
            log.push(format!(
                "[INFO] plugin/health: Going into lameduck mode for {}",
                go_duration(h.lameduck)
            ));
        }
        setup.lameduck()
    }

    /// The ConfigMap's Corefile changed (or the ConfigMap went: kubeadm's is not restored, the
    /// file stays as the kubelet last wrote it).
    pub fn corefile_written(&mut self, now: SimTime, text: Option<String>) {
        match text {
            Some(t) if t != self.corefile => self.pending = Some((now, t)),
            Some(_) => self.pending = None,
            None => {}
        }
    }

    /// Runs the `reload` plugin's checks that fall at or before `now` in the processes that
    /// run (not those in `down`: when none runs, the Corefile waits for a restart).
    pub fn tick(&mut self, now: SimTime, down: &std::collections::BTreeSet<String>) {
        // Checks run every interval from start; the first one after the write sees it.
        let Some(due) = self.reload_due() else { return };
        if now < due {
            return;
        }
        if !self.logs.is_empty() && self.logs.keys().all(|pod| down.contains(pod)) {
            return;
        }
        if let Some((_, text)) = self.pending.take() {
            self.reload(text, down);
        }
    }

    /// Loads `text`, logging it in every running process's log (not in those of `down`).
    fn reload(&mut self, text: String, down: &std::collections::BTreeSet<String>) {
        let mut lines = vec!["[INFO] Reloading".to_string()];
        match load(&text, &self.base) {
            Ok(s) => {
                lines.extend(banner_reload(&text, &s));
                lines.push("[INFO] Reloading complete".to_string());
                self.corefile = text;
                self.running = Ok(s);
                self.generation += 1;
            }
            Err(e) => lines.push(format!("[ERROR] Restart failed: {e}")),
        }
        for (_, log) in self.logs.iter_mut().filter(|(pod, _)| !down.contains(*pod)) {
            log.extend(lines.iter().cloned());
        }
    }

    /// Serves one datagram or TCP message that reached `pod` from `peer`: the reply bytes, or
    /// why none was sent. The server block is chosen by the query name (REFUSED when none
    /// serves it); the `log` plugin writes its line to the pod's log.
    pub fn serve(
        &mut self,
        pod: &str,
        peer: SocketAddrV4,
        transport: Transport,
        request: &[u8],
        view: &ClusterDnsView,
    ) -> Result<Vec<u8>, ServerDrop> {
        let Ok(setup) = &self.running else { return Err(ServerDrop::NotRunning) };
        let query = Message::decode(request).ok();
        let name = query.as_ref().and_then(|q| q.question()).map(|q| q.name.clone());
        let server = name.as_ref().and_then(|n| setup.server_for(n, 53));
        let bytes = match server {
            Some(s) => {
                let core = CoreDns { config: &s.config, view };
                match transport {
                    Transport::Udp => core.answer_bytes(request)?,
                    Transport::Tcp => core.answer_bytes_tcp(request)?,
                }
            }
            None => refused(request)?,
        };
        let logged = server.is_some_and(|s| s.config.log);
        if logged && let (Some(q), Ok(reply)) = (&query, Message::decode(&bytes)) {
            let line = log_line(peer, transport, q, request.len(), &reply, bytes.len(), SERVE_DURATION);
            self.logs.entry(pod.to_string()).or_default().push(line);
        }
        Ok(bytes)
    }
}

/// What CoreDNS does with one query message when its upstreams are simulated hosts.
#[derive(Clone, Debug)]
pub enum Serving {
    /// Answer with these bytes now.
    Reply(Vec<u8>),
    /// Ask the upstreams first ([`CoreDnsProcess::finish_forward`] answers when they have).
    Forward(Box<ForwardJob>),
    /// Answer with these bytes now, and ask the upstreams for the cache in the background
    /// (`prefetch`, `serve_stale immediate`).
    ReplyAndRefresh(Vec<u8>, Box<ForwardJob>),
}

/// What a forwarded query is for, as the cache plugin sent it.
#[derive(Clone, Debug, Default)]
pub enum CacheRole {
    /// A client's query (a miss).
    #[default]
    Client,
    /// A background refresh: its answer goes into the cache, nobody gets it.
    Refresh,
    /// `serve_stale verify`: the client gets this stale reply unless the answer is NOERROR or
    /// NXDOMAIN.
    Verify(Box<Message>),
}

/// What [`CoreDnsProcess::finish_forward`] leads to.
#[derive(Clone, Debug)]
pub enum Finish {
    /// The client's answer.
    Reply(Vec<u8>),
    /// The next step of an autopath walk, to send.
    Forward(Box<ForwardJob>),
    /// A background refresh is done (nothing to send).
    Refreshed,
}

/// The client of a query, as CoreDNS answers and logs it.
#[derive(Clone, Debug)]
pub struct Client {
    /// The client's query.
    pub query: Message,
    /// Its size on the wire (for the log line).
    pub request_len: usize,
    /// The client's transport.
    pub transport: Transport,
    /// The client as CoreDNS saw it.
    pub peer: SocketAddrV4,
    /// When the query reached CoreDNS (the log line's `{duration}` counts from here).
    pub arrived: SimTime,
}

/// A query the `forward` plugin sends upstream: what CoreDNS needs to answer its client when
/// the upstream has answered (or has not, in time).
#[derive(Clone, Debug)]
pub struct ForwardJob {
    /// The client.
    pub client: Client,
    /// The query as the upstream is asked it (after `rewrite`; a step of an autopath walk).
    pub upstream_query: Message,
    /// The settings of the server block that forwards it.
    pub config: CoreDnsConfig,
    /// The upstreams, in the written order (the caller orders them by `policy`).
    pub upstreams: Vec<SocketAddrV4>,
    /// The forward directive's `policy`.
    pub policy: ForwardPolicy,
    /// Ask over TCP (`force_tcp`, or a TCP client without `prefer_udp`).
    pub tcp: bool,
    /// `prefer_udp`: a truncated UDP answer is asked again over TCP.
    pub retry_truncated_over_tcp: bool,
    /// The autopath walk this query is a step of.
    pub walk: Option<Walk>,
    /// The forward directive's `max_fails`.
    pub max_fails: u32,
    /// The forward directive's `health_check`.
    pub health_check: HealthCheck,
    /// The lookup of a CNAME target this query is (its answers complete that reply).
    pub lookup: Option<Box<Lookup>>,
    /// The forward directive's FROM (its `max_concurrent` count is per directive).
    pub from: Name,
    /// The forward directive's `max_concurrent` (0: none).
    pub max_concurrent: u32,
    /// Whom the answer is for.
    pub cache_role: CacheRole,
}

/// An answer waiting for the lookup of its CNAME's target.
#[derive(Clone, Debug)]
pub struct Lookup {
    /// The answer so far (ending in the CNAME).
    pub partial: Message,
    /// The settings of the server block that answers the client.
    pub config: CoreDnsConfig,
}

impl CoreDnsProcess {
    /// Like [`serve`](Self::serve), but a query that the chain hands to `forward` (with
    /// simulated upstreams) comes back as a [`ForwardJob`] unless the cache plugin has its
    /// answer; the cache is the pod's own, counted in simulated time. A query `autopath`
    /// walks is answered here (from the cache, or when every step is answered in the
    /// process) or becomes a job for the step that goes to `forward`.
    #[allow(clippy::too_many_arguments)]
    pub fn serve_or_forward(
        &mut self,
        pod: &str,
        peer: SocketAddrV4,
        transport: Transport,
        request: &[u8],
        view: &ClusterDnsView,
        cache: &mut DnsCache,
        now: SimTime,
    ) -> Result<Serving, ServerDrop> {
        let Ok(setup) = &self.running else { return Err(ServerDrop::NotRunning) };
        let query = Message::decode(request).ok();
        let server = query
            .as_ref()
            .and_then(|q| q.question())
            .and_then(|q| setup.server_for(&q.name, 53).map(|s| (s, q.name.clone())));
        let client =
            Client { query: Message::default(), request_len: request.len(), transport, peer, arrived: now };
        let mut walked = None;
        let job = match (&query, server.clone()) {
            (Some(q), Some((s, name))) => {
                let core = CoreDns { config: &s.config, view };
                let client = Client { query: q.clone(), ..client.clone() };
                match core.autopath_walk(q, std::net::IpAddr::V4(*peer.ip())) {
                    Some(walk) => {
                        walked = Some((walk, s.config.clone(), client));
                        None
                    }
                    None => {
                        // forward matches the name as `rewrite` left it.
                        let inner = core.inner_query(q);
                        let asked = inner.question().map_or(name, |iq| iq.name.clone());
                        if core.forwards_live(q) {
                            forward_job(&core, &client, inner.clone(), &asked, None)
                        } else {
                            None
                        }
                    }
                }
            }
            _ => None,
        };
        if let Some((walk, config, client)) = walked {
            return Ok(self.autopath(pod, walk, config, client, view, cache, now));
        }
        let Some(job) = job else {
            if let (Some(q), Some((s, _))) = (&query, server) {
                let core = CoreDns { config: &s.config, view };
                let reply = core.answer(q);
                if let Some(target) = core.dangling_cname(q, &reply) {
                    let config = s.config.clone();
                    let client = Client { query: q.clone(), ..client };
                    return Ok(self.look_up(pod, &config, client, reply, &target, view, cache, now));
                }
            }
            return self.serve(pod, peer, transport, request, view).map(Serving::Reply);
        };
        let mut job = job;
        if let Some(c) = &job.config.cache {
            match cache.lookup(c, &job.client.query, now) {
                Found::Hit { reply, refresh } => {
                    let bytes = self.reply_to(pod, &job.config, &job.client, reply, now);
                    if refresh {
                        // The prefetch (or a stale entry's refresh) goes on without the client.
                        job.cache_role = CacheRole::Refresh;
                        return Ok(Serving::ReplyAndRefresh(bytes, Box::new(job)));
                    }
                    return Ok(Serving::Reply(bytes));
                }
                Found::Verify { stale } => job.cache_role = CacheRole::Verify(Box::new(stale)),
                Found::Miss | Found::Bypass => {}
            }
        }
        Ok(self.start(pod, job, view, cache, now))
    }

    /// A query autopath walks: the cache (it runs before autopath), then the steps.
    #[allow(clippy::too_many_arguments)]
    fn autopath(
        &mut self,
        pod: &str,
        walk: Result<Walk, Message>,
        config: CoreDnsConfig,
        client: Client,
        view: &ClusterDnsView,
        cache: &mut DnsCache,
        now: SimTime,
    ) -> Serving {
        // A walked name's prefetch or stale refresh is not run (the walk would have to be
        // replayed without its client); its entry is served as found.
        if let Some(c) = &config.cache
            && let Found::Hit { reply: hit, .. } | Found::Verify { stale: hit } =
                cache.lookup(c, &client.query, now)
        {
            return Serving::Reply(self.reply_to(pod, &config, &client, hit, now));
        }
        let mut walk = match walk {
            Ok(w) => w,
            Err(servfail) => return Serving::Reply(self.reply_to(pod, &config, &client, servfail, now)),
        };
        let core = CoreDns { config: &config, view };
        let step = walk.run(&core);
        self.walk_step(pod, &config, client, walk, step, view, cache, now)
    }

    /// Where a walk's step leads: a job for its forward, or the client's answer.
    #[allow(clippy::too_many_arguments)]
    fn walk_step(
        &mut self,
        pod: &str,
        config: &CoreDnsConfig,
        client: Client,
        walk: Walk,
        step: Step,
        view: &ClusterDnsView,
        cache: &mut DnsCache,
        now: SimTime,
    ) -> Serving {
        let core = CoreDns { config, view };
        match step {
            Step::Forward(q) => {
                let name = q.question().map(|qq| qq.name.clone()).unwrap_or_default();
                match forward_job(&core, &client, q, &name, Some(walk)) {
                    Some(job) => self.start(pod, job, view, cache, now),
                    None => Serving::Reply(self.answer_walked(pod, config, &client, None, view, cache, now)),
                }
            }
            Step::Done(m) => Serving::Reply(self.answer_walked(pod, config, &client, m, view, cache, now)),
        }
    }

    /// plugin/pkg/upstream `Lookup` of `target` for `partial` (an answer ending in a CNAME to
    /// it): the query goes through the server like a client's — the server block for the
    /// name, its chain, a forward as a packet — and its answers follow the CNAME.
    #[allow(clippy::too_many_arguments)]
    fn look_up(
        &mut self,
        pod: &str,
        config: &CoreDnsConfig,
        client: Client,
        partial: Message,
        target: &Name,
        view: &ClusterDnsView,
        cache: &mut DnsCache,
        now: SimTime,
    ) -> Serving {
        let qtype = client.query.question().map_or(RecordType::A, |q| q.qtype);
        // `SetQuestion`: rd, no EDNS.
        let lookup = Message::query(client.query.header.id, target.clone(), qtype);
        let server = self.running.as_ref().ok().and_then(|s| s.server_for(target, 53)).cloned();
        let Some(server) = server else {
            return Serving::Reply(self.answer_walked(pod, config, &client, Some(partial), view, cache, now));
        };
        let core = CoreDns { config: &server.config, view };
        if core.forwards_live(&lookup) {
            let inner = core.inner_query(&lookup);
            let asked = inner.question().map_or_else(|| target.clone(), |q| q.name.clone());
            if let Some(mut job) = forward_job(&core, &client, inner, &asked, None) {
                job.lookup = Some(Box::new(Lookup { partial, config: config.clone() }));
                return self.start(pod, job, view, cache, now);
            }
            return Serving::Reply(self.answer_walked(pod, config, &client, Some(partial), view, cache, now));
        }
        let mut partial = partial;
        partial.answers.extend(core.answer(&lookup).answers);
        Serving::Reply(self.answer_walked(pod, config, &client, Some(partial), view, cache, now))
    }

    /// A job ready to go: forwarded, or SERVFAIL at once when it has no upstream.
    fn start(
        &mut self,
        pod: &str,
        job: ForwardJob,
        view: &ClusterDnsView,
        cache: &mut DnsCache,
        now: SimTime,
    ) -> Serving {
        if job.upstreams.is_empty() {
            return match self.finish_forward(pod, &job, None, view, cache, now) {
                Finish::Reply(bytes) => Serving::Reply(bytes),
                Finish::Forward(next) => Serving::Forward(next),
                Finish::Refreshed => Serving::Reply(Vec::new()),
            };
        }
        Serving::Forward(Box::new(job))
    }

    /// The answer to a forwarded query: the upstream's reply (`None`: none came in time, so
    /// SERVFAIL), stored in the pod's cache, sized for the client, logged. For a step of an
    /// autopath walk, the walk goes on: the next step that goes to `forward` comes back as
    /// a job.
    pub fn finish_forward(
        &mut self,
        pod: &str,
        job: &ForwardJob,
        upstream: Option<Message>,
        view: &ClusterDnsView,
        cache: &mut DnsCache,
        now: SimTime,
    ) -> Finish {
        if let Some(lookup) = &job.lookup {
            // The lookup's answers (none when it failed) after the CNAME.
            let mut reply = lookup.partial.clone();
            reply.answers.extend(upstream.map(|m| m.answers).unwrap_or_default());
            return Finish::Reply(self.answer_walked(
                pod,
                &lookup.config,
                &job.client,
                Some(reply),
                view,
                cache,
                now,
            ));
        }
        let core = CoreDns { config: &job.config, view };
        match &job.cache_role {
            CacheRole::Client => {}
            CacheRole::Refresh => {
                // A prefetch writer: stored, nothing written back; a plugin error stores nothing.
                if let (Some(c), Some(m)) = (&job.config.cache, upstream) {
                    let reply = core.relay(&job.client.query, Some(m));
                    cache.refresh(c, &job.client.query, reply, now);
                }
                return Finish::Refreshed;
            }
            CacheRole::Verify(stale) => {
                // verifyStaleResponseWriter: only NOERROR and NXDOMAIN replace the stale entry.
                if !upstream
                    .as_ref()
                    .is_some_and(|m| matches!(m.header.rcode, Rcode::NoError | Rcode::NxDomain))
                {
                    return Finish::Reply(self.reply_to(
                        pod,
                        &job.config,
                        &job.client,
                        (**stale).clone(),
                        now,
                    ));
                }
            }
        }
        if let Some(walk) = &job.walk {
            let mut walk = walk.clone();
            let step = walk.forwarded(&core, upstream);
            return match self.walk_step(pod, &job.config, job.client.clone(), walk, step, view, cache, now) {
                Serving::Reply(bytes) | Serving::ReplyAndRefresh(bytes, _) => Finish::Reply(bytes),
                Serving::Forward(next) => Finish::Forward(next),
            };
        }
        Finish::Reply(self.answer_walked(pod, &job.config, &job.client, upstream, view, cache, now))
    }

    /// forward.go: more queries in flight than `max_concurrent`, so this one is not sent: the
    /// plugin returns REFUSED with an error, and the server writes REFUSED (not cached). An
    /// autopath walk ends with it; a CNAME target's lookup gets no answers from it.
    pub fn refuse_forward(
        &mut self,
        pod: &str,
        job: &ForwardJob,
        view: &ClusterDnsView,
        cache: &mut DnsCache,
        now: SimTime,
    ) -> Vec<u8> {
        if let Some(lookup) = &job.lookup {
            let reply = lookup.partial.clone();
            return self.answer_walked(pod, &lookup.config, &job.client, Some(reply), view, cache, now);
        }
        match &job.cache_role {
            CacheRole::Client => {}
            CacheRole::Refresh => return Vec::new(),
            CacheRole::Verify(stale) => {
                return self.reply_to(pod, &job.config, &job.client, (**stale).clone(), now);
            }
        }
        let config = &job.config;
        let core = CoreDns { config, view };
        let mut reply = core.relay(&job.client.query, None);
        reply.header.rcode = Rcode::Refused;
        self.reply_to(pod, config, &job.client, reply, now)
    }

    /// The client's answer from the chain's last word (`None`: SERVFAIL): cached, sized, logged.
    #[allow(clippy::too_many_arguments)]
    fn answer_walked(
        &mut self,
        pod: &str,
        config: &CoreDnsConfig,
        client: &Client,
        answer: Option<Message>,
        view: &ClusterDnsView,
        cache: &mut DnsCache,
        now: SimTime,
    ) -> Vec<u8> {
        let core = CoreDns { config, view };
        // A plugin error is written by the server, past the cache: not stored.
        let answered = answer.is_some();
        let mut reply = core.relay(&client.query, answer);
        if let Some(c) = &config.cache
            && answered
        {
            reply = cache.store(c, &client.query, reply, now);
        }
        self.reply_to(pod, config, client, reply, now)
    }

    fn reply_to(
        &mut self,
        pod: &str,
        config: &CoreDnsConfig,
        client: &Client,
        reply: Message,
        now: SimTime,
    ) -> Vec<u8> {
        let bytes = match client.transport {
            Transport::Udp => super::coredns::wire_reply(&client.query, reply),
            Transport::Tcp => reply.encode(),
        };
        if config.log
            && let Ok(sent) = Message::decode(&bytes)
        {
            let took = now.saturating_since(client.arrived) + SERVE_TIME;
            let line = log_line(
                client.peer,
                client.transport,
                &client.query,
                client.request_len,
                &sent,
                bytes.len(),
                &seconds(took),
            );
            self.logs.entry(pod.to_string()).or_default().push(line);
        }
        bytes
    }
}

/// The job that sends `upstream_query` (whose name is `asked`) with the forward directive
/// that handles it.
fn forward_job(
    core: &CoreDns<'_>,
    client: &Client,
    upstream_query: Message,
    asked: &Name,
    walk: Option<Walk>,
) -> Option<ForwardJob> {
    let f = core.forwarder(asked)?;
    let nameservers = core.config.node_nameservers.as_deref().unwrap_or_default();
    Some(ForwardJob {
        upstream_query,
        client: client.clone(),
        config: core.config.clone(),
        upstreams: f.addresses(nameservers),
        policy: f.policy,
        tcp: f.force_tcp || (client.transport == Transport::Tcp && !f.prefer_udp),
        retry_truncated_over_tcp: f.prefer_udp && !f.force_tcp,
        walk,
        max_fails: f.max_fails,
        health_check: f.health_check.clone(),
        lookup: None,
        from: f.from.clone(),
        max_concurrent: f.max_concurrent,
        cache_role: CacheRole::Client,
    })
}

fn load(text: &str, base: &CoreDnsConfig) -> Result<CorefileSetup, CorefileError> {
    let corefile = Corefile::parse(KUBEADM_COREFILE_PATH, text, &BTreeMap::new())?;
    setup(&corefile, base)
}

/// `.:53`, the reload plugin's SHA512 line, `CoreDNS-1.11.1`, the platform line.
fn banner(text: &str, s: &CorefileSetup) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for server in &s.servers {
        for k in &server.keys {
            let zone = k.zone.to_string();
            let line = format!("{}:{}", zone, k.port);
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    out.extend(banner_reload(text, s));
    out.push(format!("CoreDNS-{COREDNS_VERSION}"));
    out.push("linux/amd64, go1.20.7, ae2bbc2".to_string());
    out
}

fn banner_reload(text: &str, s: &CorefileSetup) -> Vec<String> {
    let mut out = Vec::new();
    if s.reload.is_some() {
        let sha: String = Sha512::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        out.push(format!("[INFO] plugin/reload: Running configuration SHA512 = {sha}"));
    }
    for n in &s.notices {
        out.push(format!("[WARNING] netsim: {KUBEADM_COREFILE_PATH} {n}"));
    }
    out
}

/// A REFUSED reply to a query no server block serves (the header and question echoed).
fn refused(request: &[u8]) -> Result<Vec<u8>, ServerDrop> {
    if request.len() < 12 {
        return Err(ServerDrop::TooShort(request.len()));
    }
    if request[2] & 0x80 != 0 {
        return Err(ServerDrop::NotAQuery);
    }
    let mut reply = Message::decode(request).unwrap_or_default();
    reply.header.id = u16::from_be_bytes([request[0], request[1]]);
    reply.header.flags = Flags { qr: true, rd: reply.header.flags.rd, ..Flags::default() };
    reply.header.rcode = Rcode::Refused;
    reply.answers.clear();
    reply.authority.clear();
    reply.additional.clear();
    Ok(reply.encode())
}

/// plugin/log's default format (plugin/pkg/replacer):
/// `{remote}:{port} - {>id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}" {rcode}
/// {>rflags} {rsize} {duration}`, at `[INFO]`.
fn log_line(
    peer: SocketAddrV4,
    transport: Transport,
    q: &Message,
    size: usize,
    reply: &Message,
    rsize: usize,
    duration: &str,
) -> String {
    let (qtype, name) = q
        .question()
        .map(|qq| (qq.qtype.to_string(), qq.name.to_string()))
        .unwrap_or_else(|| (RecordType::A.to_string(), ".".to_string()));
    let (dnssec_ok, bufsize) = match q.opt() {
        Some(o) => (o.ttl & 0x8000 != 0, o.class),
        None => (false, 512),
    };
    let proto = match transport {
        Transport::Udp => "udp",
        Transport::Tcp => "tcp",
    };
    let f = &reply.header.flags;
    let flags: Vec<&str> =
        [(f.qr, "qr"), (f.aa, "aa"), (f.tc, "tc"), (f.rd, "rd"), (f.ra, "ra"), (f.ad, "ad"), (f.cd, "cd")]
            .into_iter()
            .filter_map(|(on, s)| on.then_some(s))
            .collect();
    format!(
        "[INFO] {}:{} - {} \"{} IN {} {} {} {} {}\" {} {} {} {}",
        peer.ip(),
        peer.port(),
        q.header.id,
        qtype,
        name,
        proto,
        size,
        dnssec_ok,
        bufsize,
        reply.header.rcode,
        flags.join(","),
        rsize,
        duration
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_prints_them() {
        let ms = SimDuration::from_millis;
        assert_eq!(go_duration(SimDuration::ZERO), "0s");
        assert_eq!(go_duration(SimDuration::from_nanos(1_500)), "1.5µs");
        assert_eq!(go_duration(ms(500)), "500ms");
        assert_eq!(go_duration(ms(5_000)), "5s");
        assert_eq!(go_duration(ms(1_250)), "1.25s");
        assert_eq!(go_duration(ms(90_000)), "1m30s");
        assert_eq!(go_duration(ms(3_600_000)), "1h0m0s");
    }
    use crate::dns::view::DnsService;

    fn view() -> ClusterDnsView {
        let mut v = ClusterDnsView::default();
        v.services.push(DnsService::cluster_ip("default", "kubernetes", "10.96.0.1".parse().unwrap()));
        v
    }

    fn ask(p: &mut CoreDnsProcess, name: &str) -> Message {
        let q = Message::query(4242, Name::parse(name).unwrap(), RecordType::A);
        let peer = "10.244.1.7:41234".parse().unwrap();
        Message::decode(
            &p.serve("kube-system/coredns-a", peer, Transport::Udp, &q.encode(), &view()).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn starts_with_kubeadms_corefile_and_its_banner() {
        let mut p = CoreDnsProcess::new(CoreDnsConfig::default());
        p.pod_started("kube-system/coredns-a");
        // The banner waits for the servers to start (after every plugin's start-up).
        assert!(p.logs("kube-system/coredns-a").is_empty());
        p.servers_started("kube-system/coredns-a");
        let log = p.logs("kube-system/coredns-a");
        assert_eq!(log[0], ".:53");
        assert!(log[1].starts_with("[INFO] plugin/reload: Running configuration SHA512 = "));
        assert_eq!(log[log.len() - 2], "CoreDNS-1.11.1");
        assert_eq!(ask(&mut p, "kubernetes.default.svc.cluster.local").answers.len(), 1);
    }

    #[test]
    fn an_edit_loads_at_the_next_reload_check_and_logs_queries() {
        let mut p = CoreDnsProcess::new(CoreDnsConfig::default());
        p.pod_started("kube-system/coredns-a");
        let edited = KUBEADM_COREFILE.replace("    errors\n", "    errors\n    log\n");
        p.corefile_written(SimTime::ZERO, Some(edited));
        p.tick(SimTime::ZERO + SimDuration::from_secs(10), &Default::default());
        ask(&mut p, "kubernetes.default.svc.cluster.local");
        assert!(!p.logs("kube-system/coredns-a").iter().any(|l| l.contains("\"A IN")));
        p.tick(SimTime::ZERO + SimDuration::from_secs(30), &Default::default());
        ask(&mut p, "kubernetes.default.svc.cluster.local");
        let log = p.logs("kube-system/coredns-a");
        assert!(log.contains(&"[INFO] Reloading complete".to_string()));
        assert_eq!(
            log.last().unwrap(),
            "[INFO] 10.244.1.7:41234 - 4242 \"A IN kubernetes.default.svc.cluster.local. udp 54 false 512\" \
             NOERROR qr,aa,rd 106 0.000110732s"
        );
    }

    #[test]
    fn a_bad_edit_keeps_the_old_corefile() {
        let mut p = CoreDnsProcess::new(CoreDnsConfig::default());
        p.pod_started("kube-system/coredns-a");
        p.corefile_written(
            SimTime::ZERO,
            Some(".:53 {\n    kubernetes cluster.local {\n        pods giant_seed\n    }\n}\n".into()),
        );
        p.tick(SimTime::ZERO + SimDuration::from_secs(60), &Default::default());
        assert_eq!(
            p.logs("kube-system/coredns-a").last().unwrap(),
            "[ERROR] Restart failed: plugin/kubernetes: wrong value for pods: giant_seed,  must be one of: \
             disabled, verified, insecure"
        );
        assert_eq!(p.corefile(), kubeadm_corefile("cluster.local"));
    }

    #[test]
    fn names_outside_every_server_block_are_refused() {
        let mut p = CoreDnsProcess::new(CoreDnsConfig::default());
        p.corefile_written(SimTime::ZERO, Some("cluster.local:53 {\n    kubernetes\n    reload\n}\n".into()));
        p.tick(SimTime::ZERO + SimDuration::from_secs(30), &Default::default());
        assert_eq!(ask(&mut p, "example.com").header.rcode, Rcode::Refused);
        assert_eq!(ask(&mut p, "kubernetes.default.svc.cluster.local").answers.len(), 1);
    }
}
