//! The DNS servers that run as applications in the network: CoreDNS in its pods (UDP and TCP
//! 53), whose `forward` plugin, when the upstreams are simulated hosts, sends each forwarded
//! query as its own conversation from the pod (through the node's routes and netfilter like
//! any pod's packet) and answers its client when that one ends; and the upstream resolver hosts
//! themselves ([`crate::dns::upstream`]).
//!
//! The forwarder follows coredns plugin/forward `ServeDNS` and plugin/pkg/proxy: the upstreams
//! are ordered by `policy` per query (random — a seeded shuffle —, round_robin, sequential);
//! each attempt waits at most the proxy's read timeout (2 s); an attempt that fails (no answer,
//! a port unreachable, a reset) moves to the next upstream, round the list again, for as long
//! as the 5 s deadline (`defaultTimeout`) has not passed when the attempt would start; then the
//! client gets SERVFAIL. It asks over the client's transport (`force_tcp`: TCP; `prefer_udp`:
//! UDP, and again over TCP when the answer is truncated); otherwise a truncated answer is
//! relayed with TC set and the client asks again over TCP. Each pod has its own cache.
//! Health checks follow plugin/pkg/proxy (health.go `Check`, proxy.go `Down`, pkg/up
//! `Probe.Do`): an attempt that fails starts, unless `max_fails 0` or one is running, a probe
//! of that upstream — `. IN NS` (the `health_check` domain, `rd` unless `no_rec`) over UDP
//! from the pod, a 1 s read timeout — repeated every `health_check` interval (0.5 s) after
//! each failed one until one is answered (any reply: the fail count goes back to 0). Each
//! failed probe counts one fail; an upstream with more fails than `max_fails` (2) is down
//! and skipped when a query picks its upstream, and when every one is down a random one is
//! asked (forward.go `ServeDNS`). The state is the pod's (both its UDP and TCP servers).
//! `max_concurrent N`: a query that finds N of the directive's queries being forwarded by the
//! pod is REFUSED without a packet.
//! Left out: connection reuse (every attempt is a new socket), `expire`,
//! `failfast_all_unhealthy_upstreams`.

use std::cell::RefCell;
use std::net::SocketAddrV4;
use std::rc::Rc;

use sim_core::{SimDuration, SimRng, SimTime};
use sim_net::network::Outcome;
use sim_net::socket::{AppContext, AppReply, Application, SockProto, UpstreamRequest};

use super::world::DnsState;
use crate::dns::Transport;
use crate::dns::coredns::ForwardPolicy;
use crate::dns::coredns::kube_api::{DIAL_TIMEOUT, ListError};
use crate::dns::message::{Message, frame_tcp, unframe_all, unframe_tcp};
use crate::dns::server::{Finish, ForwardJob, Serving};
use crate::dns::upstream::{ResolverConfig, ResolverReply};

/// The world's wake-up of a CoreDNS server when its process starts or reloads: the `loop`
/// plugins probe.
pub const WAKE_LOOPS: u64 = 0;
/// The wake-up when its process starts with a kubernetes plugin: the informers LIST.
pub const WAKE_KUBE_API: u64 = 1;

/// plugin/pkg/proxy: how long one attempt waits for its answer (`readTimeout`).
pub const FORWARD_READ_TIMEOUT: SimDuration = SimDuration::from_secs(2);
/// plugin/forward: how long a query keeps being tried (`defaultTimeout`).
pub const FORWARD_DEADLINE: SimDuration = SimDuration::from_secs(5);
/// plugin/pkg/proxy health.go: the probe client's read timeout (`setDefaultTimeout`).
pub const HEALTH_CHECK_TIMEOUT: SimDuration = SimDuration::from_secs(1);

/// One upstream's health as one CoreDNS pod's forward plugin keeps it (`Proxy.fails`, and
/// whether its probe is running).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpstreamHealth {
    /// Failed probes since the last answered one.
    pub fails: u32,
    /// A probe is running (pkg/up `Probe` is not idle).
    pub probing: bool,
}

/// A health-check probe in flight.
#[derive(Clone, Debug)]
struct Probe {
    dst: SocketAddrV4,
    id: u16,
    check: crate::dns::coredns::HealthCheck,
    /// The plugin generation that started it ([`DnsState::plugins`]).
    plugins: u64,
}

/// A CoreDNS pod's DNS server (UDP or TCP 53).
pub(super) struct DnsServerApp {
    pub(super) state: Rc<RefCell<DnsState>>,
    /// The pod (`namespace/name`), whose log the `log` plugin writes to.
    pub(super) pod: String,
    /// The pod's stream for the `random` policy.
    pub(super) rng: SimRng,
    /// Requests waiting for their upstreams, by token.
    pending: std::collections::BTreeMap<u64, Waiting>,
    /// Health-check probes in flight, by token.
    probes: std::collections::BTreeMap<u64, Probe>,
    /// The stream of the probes' query ids (apart, so that probes leave the ids of forwarded
    /// queries as they were).
    probe_rng: SimRng,
    /// The `loop` plugins' probes in flight, by token: which plugin of the pod's.
    loop_probes: std::collections::BTreeMap<u64, usize>,
    /// The stream of the loop probes' query ids (`dns.Id()`).
    loop_rng: SimRng,
    /// The kubernetes plugin's LIST in flight: its token, and when the client it is for
    /// started (a restarted process has a new one).
    kube_list: Option<(u64, SimTime)>,
    next_token: u64,
}

/// One client request (a datagram, or a TCP stream of messages) waiting for its upstreams.
struct Waiting {
    /// Each message's answer, or its job, in the client's order.
    parts: Vec<Part>,
    /// The part being forwarded now, and the attempt.
    current: usize,
    attempt: Attempt,
    /// The cache's background refresh: no client waits for it.
    background: bool,
}

enum Part {
    Ready(Vec<u8>),
    Job(Box<ForwardJob>),
}

#[derive(Clone, Copy)]
struct Attempt {
    /// Index into the job's ordered upstreams.
    upstream: usize,
    /// forward.go's `i`: the next index to look at.
    next: usize,
    /// forward.go's `fails`: upstreams skipped as down in this round of the list.
    skipped: usize,
    tcp: bool,
    /// The id this attempt's query carries (plugin/pkg/proxy `Connect` sends each attempt
    /// with a fresh `dns.Id()` and gives the answer back the client's id).
    id: u16,
    /// When the job's first attempt began (the deadline counts from here).
    began: SimTime,
}

impl DnsServerApp {
    pub(super) fn new(state: Rc<RefCell<DnsState>>, pod: String, rng: SimRng) -> Self {
        let probe_rng = rng.fork("health_check");
        let loop_rng = rng.fork("loop");
        DnsServerApp {
            state,
            pod,
            rng,
            pending: Default::default(),
            probes: Default::default(),
            probe_rng,
            loop_probes: Default::default(),
            loop_rng,
            kube_list: None,
            next_token: 0,
        }
    }

    /// Whether the pod's CoreDNS process has exited.
    fn dead(&self) -> bool {
        self.state.borrow().dead.contains(&self.pod)
    }

    /// plugin/loop's start-up exchange for the pod's plugin `i`: `HINFO qname` to `:PORT`
    /// (the pod's own loopback), 2 s to answer.
    fn loop_probe(&mut self, i: usize) -> Option<UpstreamRequest> {
        let id = self.loop_rng.below(0, 1 << 16) as u16;
        let (query, port) = {
            let state = self.state.borrow();
            let l = state.loops.get(&self.pod)?.get(i)?;
            (l.query(id), l.port)
        };
        let token = self.next_token;
        self.next_token += 1;
        self.loop_probes.insert(token, i);
        Some(UpstreamRequest {
            proto: SockProto::Udp,
            dst: SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, port),
            request: query.encode(),
            timeout: crate::dns::coredns::loop_detect::EXCHANGE_TIMEOUT,
            token,
        })
    }

    /// A loop probe ended: answered, the plugin goes off soon; not, it is tried again.
    fn loop_probe_done(&mut self, i: usize, outcome: &Outcome, now: SimTime) -> AppReply {
        let answered =
            matches!(outcome, Outcome::Completed { response } if Message::decode(response).is_ok());
        let retry = {
            let mut state = self.state.borrow_mut();
            let Some(l) = state.loops.get_mut(&self.pod).and_then(|v| v.get_mut(i)) else {
                return AppReply::Nothing;
            };
            if answered {
                l.answered(now);
                None
            } else {
                l.failed(now)
            }
        };
        match retry.and_then(|after| self.loop_probe(i).map(|p| (after, p))) {
            Some(side) => AppReply::Also { side: vec![side], then: Box::new(AppReply::Nothing) },
            None => AppReply::Nothing,
        }
    }

    /// plugin/loop's `ServeDNS` for every plugin of the pod, for a query that went down the
    /// chain as far as `forward` (loop sits just before it in plugin.cfg's order: a query
    /// `hosts`, `template`, `kubernetes` or `file` answered never reaches it, and it sees the
    /// name `rewrite` made): true when this query is the qname's third, and the process has
    /// exited (`log.Fatalf`).
    fn loop_fatal(&mut self, ctx: &AppContext<'_>, m: &Message) -> bool {
        let Some(q) = m.questions.first() else { return false };
        let mut state = self.state.borrow_mut();
        let Some(loops) = state.loops.get_mut(&self.pod) else { return false };
        let remote = ctx.peer.to_string();
        let Some(fatal) = loops.iter_mut().find_map(|l| l.observe(&q.name, q.qtype, &remote, ctx.now)) else {
            return false;
        };
        state.process.log(&self.pod, fatal);
        state.exited.push((self.pod.clone(), ctx.now));
        state.dead.insert(self.pod.clone());
        true
    }

    fn serve(&mut self, ctx: &AppContext<'_>, transport: Transport, message: &[u8]) -> Option<Serving> {
        let mut state = self.state.borrow_mut();
        let (process, view, cache) = state.serving(&self.pod, &self.rng);
        match process.serve_or_forward(&self.pod, ctx.peer, transport, message, view, cache, ctx.now) {
            Ok(s) => Some(s),
            // A datagram CoreDNS does not answer still gets the (empty) reply the model has
            // always sent; over TCP nothing is written for it.
            Err(_) if transport == Transport::Udp => Some(Serving::Reply(Vec::new())),
            Err(_) => None,
        }
    }

    /// Orders a job's upstreams by its policy.
    fn order(&mut self, job: &mut ForwardJob) {
        match job.policy {
            ForwardPolicy::Sequential => {}
            ForwardPolicy::Random => {
                // rand.Perm as plugin/forward's random policy does, from the seeded stream.
                for i in (1..job.upstreams.len()).rev() {
                    let j = self.rng.index(i + 1);
                    job.upstreams.swap(i, j);
                }
            }
            ForwardPolicy::RoundRobin => {
                let n = job.upstreams.len().max(1);
                let mut state = self.state.borrow_mut();
                let counter = state.round_robin.entry(self.pod.clone()).or_default();
                let start = *counter % n;
                *counter = counter.wrapping_add(1);
                job.upstreams.rotate_left(start);
            }
        }
    }

    /// The attempt `a` with a fresh query id, and the request that sends it.
    fn request(&mut self, token: u64, job: &ForwardJob, a: &mut Attempt) -> AppReply {
        a.id = self.rng.below(0, 1 << 16) as u16;
        let dst =
            job.upstreams.get(a.upstream).copied().unwrap_or(SocketAddrV4::new([0, 0, 0, 0].into(), 53));
        let mut query = job.upstream_query.clone();
        query.header.id = a.id;
        let bytes = query.encode();
        let (proto, request) =
            if a.tcp { (SockProto::Tcp, frame_tcp(&bytes)) } else { (SockProto::Udp, bytes) };
        AppReply::Upstream(UpstreamRequest { proto, dst, request, timeout: FORWARD_READ_TIMEOUT, token })
    }

    /// Starts the next job of `w` at `now`, or answers the client when none is left.
    fn advance(&mut self, mut w: Waiting, transport: Transport, now: SimTime) -> AppReply {
        while w.current < w.parts.len() {
            if let Part::Job(job) = &mut w.parts[w.current] {
                if !self.enter(job) {
                    let job = job.clone();
                    let bytes = {
                        let mut state = self.state.borrow_mut();
                        let (process, view, cache) = state.serving(&self.pod, &self.rng);
                        process.refuse_forward(&self.pod, &job, view, cache, now)
                    };
                    w.parts[w.current] = Part::Ready(bytes);
                    w.current += 1;
                    continue;
                }
                self.order(job);
                w.attempt = Attempt { upstream: 0, next: 0, skipped: 0, tcp: job.tcp, id: 0, began: now };
                self.pick(job, &mut w.attempt);
                let token = self.next_token;
                self.next_token += 1;
                let reply = self.request(token, job, &mut w.attempt);
                self.pending.insert(token, w);
                return reply;
            }
            w.current += 1;
        }
        if w.background {
            return AppReply::Nothing;
        }
        let mut out = Vec::new();
        for p in w.parts {
            if let Part::Ready(bytes) = p {
                match transport {
                    Transport::Udp => out = bytes,
                    Transport::Tcp => out.extend(frame_tcp(&bytes)),
                }
            }
        }
        AppReply::Respond(out)
    }

    /// forward.go's `max_concurrent` check as a query enters the plugin: false (and nothing
    /// counted) when it would be one too many.
    fn enter(&mut self, job: &ForwardJob) -> bool {
        let mut state = self.state.borrow_mut();
        let n = state.in_flight.entry((self.pod.clone(), job.from.clone())).or_default();
        if job.max_concurrent > 0 && *n >= job.max_concurrent {
            return false;
        }
        *n += 1;
        true
    }

    /// The query has left the plugin (answered or given up).
    fn leave(&mut self, job: &ForwardJob) {
        let mut state = self.state.borrow_mut();
        if let Some(n) = state.in_flight.get_mut(&(self.pod.clone(), job.from.clone())) {
            *n = n.saturating_sub(1);
        }
    }

    /// forward.go's choice of the next upstream: the next in the list that is not down (the
    /// list restarts, and the count of skipped ones with it, at its end); when all are down,
    /// a random one.
    fn pick(&mut self, job: &ForwardJob, a: &mut Attempt) {
        let n = job.upstreams.len();
        if n == 0 {
            return;
        }
        loop {
            if a.next >= n {
                a.next = 0;
                a.skipped = 0;
            }
            let i = a.next;
            a.next += 1;
            if self.down(job.upstreams[i], job.max_fails) {
                a.skipped += 1;
                if a.skipped < n {
                    continue;
                }
                // "assume healthcheck is completely broken and randomly select an upstream".
                a.upstream = self.rng.index(n);
                return;
            }
            a.upstream = i;
            return;
        }
    }

    /// proxy.go `Down`: more failed health checks than `max_fails` (never with 0).
    fn down(&self, dst: SocketAddrV4, max_fails: u32) -> bool {
        max_fails != 0
            && self.state.borrow().health.get(&(self.pod.clone(), dst)).is_some_and(|h| h.fails > max_fails)
    }

    /// proxy.go `Healthcheck` after a failed attempt: the first probe, unless one is running.
    fn start_probe(&mut self, job: &ForwardJob, dst: SocketAddrV4) -> Option<UpstreamRequest> {
        if job.max_fails == 0 {
            return None;
        }
        {
            let mut state = self.state.borrow_mut();
            let h = state.health.entry((self.pod.clone(), dst)).or_default();
            if h.probing {
                return None;
            }
            h.probing = true;
        }
        Some(self.probe(dst, job.health_check.clone()))
    }

    /// health.go `send`: `DOMAIN IN NS` from a new socket, 1 s to answer.
    fn probe(&mut self, dst: SocketAddrV4, check: crate::dns::coredns::HealthCheck) -> UpstreamRequest {
        let id = self.probe_rng.below(0, 1 << 16) as u16;
        let mut ping = Message::query(id, check.domain.clone(), crate::dns::message::RecordType::Ns);
        ping.header.flags.rd = check.recursion_desired;
        let token = self.next_token;
        self.next_token += 1;
        let plugins = self.state.borrow().plugins;
        self.probes.insert(token, Probe { dst, id, check, plugins });
        UpstreamRequest {
            proto: SockProto::Udp,
            dst,
            request: ping.encode(),
            timeout: HEALTH_CHECK_TIMEOUT,
            token,
        }
    }

    /// A probe ended: an answer (any message) makes the upstream healthy and ends the probing;
    /// none counts a fail and sends the next probe after the interval.
    fn probe_done(&mut self, probe: Probe, outcome: &Outcome) -> AppReply {
        let answered = match outcome {
            Outcome::Completed { response } => Message::decode(response).is_ok(),
            _ => false,
        };
        let _ = probe.id;
        {
            let mut state = self.state.borrow_mut();
            if state.plugins != probe.plugins {
                // A reload stopped the health checker that sent it.
                return AppReply::Nothing;
            }
            let h = state.health.entry((self.pod.clone(), probe.dst)).or_default();
            if answered {
                h.fails = 0;
                h.probing = false;
                return AppReply::Nothing;
            }
            h.fails = h.fails.saturating_add(1);
        }
        let interval = probe.check.interval;
        let next = self.probe(probe.dst, probe.check);
        AppReply::Also { side: vec![(interval, next)], then: Box::new(AppReply::Nothing) }
    }

    fn finish(&mut self, job: &ForwardJob, upstream: Option<Message>, now: SimTime) -> Finish {
        let mut state = self.state.borrow_mut();
        let (process, view, cache) = state.serving(&self.pod, &self.rng);
        process.finish_forward(&self.pod, job, upstream, view, cache, now)
    }
}

fn transport_of(ctx: &AppContext<'_>) -> Transport {
    if ctx.proto == sim_net::wire::Protocol::Tcp { Transport::Tcp } else { Transport::Udp }
}

impl Application for DnsServerApp {
    fn respond(&mut self, ctx: &AppContext<'_>, request: &[u8]) -> Vec<u8> {
        match self.handle(ctx, request) {
            AppReply::Respond(bytes) => bytes,
            _ => Vec::new(),
        }
    }

    fn handle(&mut self, ctx: &AppContext<'_>, request: &[u8]) -> AppReply {
        if self.dead() {
            return AppReply::Nothing;
        }
        let transport = transport_of(ctx);
        // DNS over TCP: each message behind its 2-byte length (RFC 1035 §4.2.2); a client may
        // write several queries on one connection (glibc's send_vc writes A and AAAA).
        let messages = match transport {
            Transport::Udp => vec![request],
            Transport::Tcp => unframe_all(request),
        };
        let mut parts = Vec::new();
        let mut refreshes = Vec::new();
        for m in messages {
            match self.serve(ctx, transport, m) {
                Some(Serving::Reply(bytes)) => parts.push(Part::Ready(bytes)),
                Some(Serving::Forward(job)) => {
                    if self.loop_fatal(ctx, &job.upstream_query) {
                        return AppReply::Nothing;
                    }
                    parts.push(Part::Job(job));
                }
                Some(Serving::ReplyAndRefresh(bytes, job)) => {
                    parts.push(Part::Ready(bytes));
                    refreshes.push(job);
                }
                None => {}
            }
        }
        let attempt = Attempt { upstream: 0, next: 0, skipped: 0, tcp: false, id: 0, began: ctx.now };
        let w = Waiting { parts, current: 0, attempt, background: false };
        let reply = self.advance(w, transport, ctx.now);
        // Each refresh is a conversation of the pod's own, sent as the reply goes.
        let side: Vec<(SimDuration, sim_net::socket::UpstreamRequest)> = refreshes
            .into_iter()
            .filter_map(|job| {
                let w = Waiting { parts: vec![Part::Job(job)], current: 0, attempt, background: true };
                match self.advance(w, transport, ctx.now) {
                    AppReply::Upstream(req) => Some((SimDuration::ZERO, req)),
                    _ => None,
                }
            })
            .collect();
        if side.is_empty() { reply } else { AppReply::Also { side, then: Box::new(reply) } }
    }

    fn upstream_done(&mut self, ctx: &AppContext<'_>, token: u64, outcome: &Outcome) -> AppReply {
        if self.dead() {
            return AppReply::Nothing;
        }
        if let Some(i) = self.loop_probes.remove(&token) {
            return self.loop_probe_done(i, outcome, ctx.now);
        }
        if let Some((t, started)) = self.kube_list
            && t == token
        {
            self.kube_list = None;
            return self.kube_listed(started, outcome, ctx.now);
        }
        if let Some(probe) = self.probes.remove(&token) {
            return self.probe_done(probe, outcome);
        }
        let Some(w) = self.pending.remove(&token) else { return AppReply::Nothing };
        let background = w.background;
        let reply = self.upstream_answer(ctx, w, outcome);
        if background { detach(reply) } else { reply }
    }

    fn wake(&mut self, ctx: &AppContext<'_>, token: u64) -> AppReply {
        if self.dead() {
            return AppReply::Nothing;
        }
        match token {
            WAKE_KUBE_API => match self.kube_list(ctx.now) {
                Some(req) => {
                    AppReply::Also { side: vec![(SimDuration::ZERO, req)], then: Box::new(AppReply::Nothing) }
                }
                None => AppReply::Nothing,
            },
            _ => self.start_loops(),
        }
    }
}

impl DnsServerApp {
    /// The kubernetes plugin's informers LIST from the API at `at` (one connection carries
    /// them all): a TCP conversation from the pod to the `kubernetes` Service.
    fn kube_list(&mut self, at: SimTime) -> Option<UpstreamRequest> {
        let (dst, request, started) = {
            let mut state = self.state.borrow_mut();
            let c = state.kube_api.get_mut(&self.pod)?;
            (c.api, c.request(at), c.started)
        };
        let token = self.next_token;
        self.next_token += 1;
        self.kube_list = Some((token, started));
        Some(UpstreamRequest { proto: SockProto::Tcp, dst, request, timeout: DIAL_TIMEOUT, token })
    }

    /// The LIST ended: any answer syncs the plugin (TLS and the API's objects are not on the
    /// wire); a failure is logged as client-go logs it and tried again after the back-off.
    fn kube_listed(&mut self, started: SimTime, outcome: &Outcome, now: SimTime) -> AppReply {
        let result = match outcome {
            Outcome::Completed { .. } => Ok(()),
            Outcome::Refused => Err(ListError::Refused),
            Outcome::Reset => Err(ListError::Reset),
            // icmp_err_convert: port unreachable is ECONNREFUSED, net unreachable ENETUNREACH,
            // the rest EHOSTUNREACH.
            Outcome::Unreachable { icmp_type: 3, code: 3, .. } => Err(ListError::Refused),
            Outcome::Unreachable { icmp_type: 3, code: 0, .. } | Outcome::NoRoute => {
                Err(ListError::NetUnreachable)
            }
            Outcome::Unreachable { .. } => Err(ListError::HostUnreachable),
            Outcome::TimedOut | Outcome::NotPermitted | Outcome::Failed(_) => Err(ListError::Timeout),
        };
        let retry = {
            let mut state = self.state.borrow_mut();
            let Some(c) = state.kube_api.get_mut(&self.pod).filter(|c| c.started == started) else {
                return AppReply::Nothing;
            };
            let (lines, retry) = c.listed(now, result);
            for line in lines {
                state.process.log(&self.pod, line);
            }
            retry
        };
        let Some(after) = retry else { return AppReply::Nothing };
        match self.kube_list(now + after) {
            Some(req) => AppReply::Also { side: vec![(after, req)], then: Box::new(AppReply::Nothing) },
            None => AppReply::Nothing,
        }
    }
}

impl DnsServerApp {
    /// The world's wake-up at the process's start or reload: every `loop` plugin sends its
    /// first probe.
    fn start_loops(&mut self) -> AppReply {
        // The previous instance's probes end unheard.
        self.loop_probes.clear();
        let n = self.state.borrow().loops.get(&self.pod).map_or(0, Vec::len);
        let side: Vec<_> =
            (0..n).filter_map(|i| self.loop_probe(i)).map(|p| (SimDuration::ZERO, p)).collect();
        if side.is_empty() {
            AppReply::Nothing
        } else {
            AppReply::Also { side, then: Box::new(AppReply::Nothing) }
        }
    }
}

/// What a background conversation returns: its next attempts as conversations of their own,
/// nothing for a client.
fn detach(reply: AppReply) -> AppReply {
    match reply {
        AppReply::Upstream(req) => {
            AppReply::Also { side: vec![(SimDuration::ZERO, req)], then: Box::new(AppReply::Nothing) }
        }
        AppReply::Also { side, then } => AppReply::Also { side, then: Box::new(detach(*then)) },
        _ => AppReply::Nothing,
    }
}

impl DnsServerApp {
    /// An attempt of `w`'s current job ended.
    fn upstream_answer(&mut self, ctx: &AppContext<'_>, mut w: Waiting, outcome: &Outcome) -> AppReply {
        let transport = transport_of(ctx);
        let Some(Part::Job(job)) = w.parts.get(w.current) else { return self.advance(w, transport, ctx.now) };
        let job = job.clone();
        let a = w.attempt;
        let answer = match outcome {
            Outcome::Completed { response } => {
                let bytes =
                    if a.tcp { unframe_tcp(response).unwrap_or_default() } else { response.as_slice() };
                // Out-of-order or foreign answers are not this attempt's.
                Message::decode(bytes).ok().filter(|m| m.header.id == a.id)
            }
            _ => None,
        };
        // Kick off a health check to see if *our* upstream is broken.
        let probe = match &answer {
            None => job.upstreams.get(a.upstream).copied().and_then(|dst| self.start_probe(&job, dst)),
            Some(_) => None,
        };
        let with_probe = |reply: AppReply| match &probe {
            Some(p) => AppReply::Also { side: vec![(SimDuration::ZERO, p.clone())], then: Box::new(reply) },
            None => reply,
        };
        let retry = match &answer {
            // Retry with TCP if truncated and prefer_udp configured.
            Some(m) if m.header.flags.tc && !a.tcp && job.retry_truncated_over_tcp => {
                Some(Attempt { tcp: true, ..a })
            }
            Some(_) => None,
            None if ctx.now < a.began + FORWARD_DEADLINE => {
                let mut next = a;
                self.pick(&job, &mut next);
                Some(next)
            }
            None => None,
        };
        if let Some(mut next) = retry {
            let token = self.next_token;
            self.next_token += 1;
            let reply = self.request(token, &job, &mut next);
            w.attempt = next;
            self.pending.insert(token, w);
            return with_probe(reply);
        }
        self.leave(&job);
        match self.finish(&job, answer, ctx.now) {
            Finish::Reply(bytes) => {
                w.parts[w.current] = Part::Ready(bytes);
                w.current += 1;
            }
            // autopath's next step: a forward of its own (its deadline counts anew).
            Finish::Forward(next) => w.parts[w.current] = Part::Job(next),
            Finish::Refreshed => w.current += 1,
        }
        with_probe(self.advance(w, transport, ctx.now))
    }
}

/// An upstream resolver host's DNS server (UDP or TCP 53).
pub(super) struct ResolverApp {
    pub(super) config: Rc<ResolverConfig>,
}

impl Application for ResolverApp {
    fn respond(&mut self, ctx: &AppContext<'_>, request: &[u8]) -> Vec<u8> {
        match self.handle(ctx, request) {
            AppReply::Respond(bytes) | AppReply::Later { response: bytes, .. } => bytes,
            _ => Vec::new(),
        }
    }

    fn handle(&mut self, ctx: &AppContext<'_>, request: &[u8]) -> AppReply {
        let transport = transport_of(ctx);
        let messages = match transport {
            Transport::Udp => vec![request],
            Transport::Tcp => unframe_all(request),
        };
        let mut out = Vec::new();
        let mut delay = SimDuration::ZERO;
        let mut answered = false;
        for m in messages {
            if let ResolverReply::Answer { bytes, after } = self.config.serve(m, transport) {
                answered = true;
                delay = delay.max(after);
                match transport {
                    Transport::Udp => out = bytes,
                    Transport::Tcp => out.extend(frame_tcp(&bytes)),
                }
            }
        }
        match (answered, delay == SimDuration::ZERO) {
            (false, _) => AppReply::Nothing,
            (true, true) => AppReply::Respond(out),
            (true, false) => AppReply::Later { after: delay, response: out },
        }
    }
}
