//! One CoreDNS server block's plugin chain — `hosts` ([`hosts`]), `kubernetes`, `forward` —
//! behind `cache` ([`cache`]) and `loadbalance`, as a [`CoreDnsConfig`] set up from a Corefile
//! (`dns::corefile`); its default is kubeadm's Corefile ([`KUBEADM_COREFILE`]).
//!
//! Follows coredns plugin/kubernetes (handler.go, kubernetes.go `Records`/`findServices`/
//! `findPods`, parse.go, reverse.go) and plugin/backend_lookup.go (`A`, `SRV`, `PTR`, `SOA`,
//! `BackendError`), which implement kubernetes/dns docs/specification.md: a missing name is
//! NXDOMAIN, an existing name without that type is NODATA (NOERROR, SOA in authority); cluster
//! answers carry `aa`, no `ra`; SOA `ns.dns.<zone> hostmaster.<zone> <serial> 7200 1800 86400
//! <ttl>`; SRV weight `floor(100 / n)`. `forward` relays a static [`Upstream`] (`qr rd ra`),
//! or, with simulated upstream hosts ([`CoreDnsConfig::node_nameservers`]), hands the query to
//! the caller ([`CoreDns::forwards_live`], [`CoreDns::relay`]) to send as a packet.
//! UDP replies are sized like `request.SizeAndDo`/`Scrub` (plain, then compressed, then cut
//! with TC); `loadbalance` shuffles addresses from a seeded stream.
//! `autopath` ([`autopath`]) walks the search path of the client pod. Left out: wildcard queries (gone since CoreDNS 1.9), multicluster, DNSSEC.

pub mod autopath;
pub mod cache;
pub mod hosts;
pub mod kube_api;
pub mod loop_detect;
pub mod rewrite;
pub mod template;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sim_core::{SimRng, SimTime};
use thiserror::Error;

use super::message::{
    EDNS_OPTION_COOKIE, Flags, Header, Message, RData, Rcode, Record, RecordType, Soa, Srv,
};
use super::name::Name;
use super::resolver::Transport;
use super::view::{ClusterDnsView, DnsPort, ServiceType};

/// The `pods` option of the kubernetes plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodMode {
    /// `pods disabled` (plugin default): pod names are NXDOMAIN.
    Disabled,
    /// `pods verified`: answer only for a pod with that IP in that namespace.
    Verified,
    /// `pods insecure` (kubeadm's Corefile): answer any well-formed dashed IP.
    Insecure,
}

/// The settings of one CoreDNS server block that this model honours, with kubeadm's defaults.
///
/// kubeadm's Corefile ([`KUBEADM_COREFILE`]): `kubernetes cluster.local in-addr.arpa ip6.arpa
/// { pods insecure; fallthrough in-addr.arpa ip6.arpa; ttl 30 }` and `forward . /etc/resolv.conf`.
/// (The plugin's own default TTL is 5.) A Corefile becomes one of these per server block through
/// [`corefile::setup`](super::corefile::setup).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreDnsConfig {
    /// The zones of the server block (`.` for `.:53`); queries outside all of them are REFUSED.
    pub server_zones: Vec<Name>,
    /// The `kubernetes` plugin is in the chain. Without it, every name goes to the next plugin.
    pub kubernetes: bool,
    /// The kubernetes plugin's primary zone (its first non-reverse zone, `cluster.local`).
    pub zone: Name,
    /// Further non-reverse zones of the kubernetes plugin (`kubernetes cluster.local corp.local`).
    pub extra_zones: Vec<Name>,
    /// Reverse zones also served by the kubernetes plugin.
    pub reverse_zones: Vec<Name>,
    /// `pods` mode.
    pub pods: PodMode,
    /// `ttl` for every cluster answer.
    pub ttl: u32,
    /// `fallthrough [ZONES]`: NXDOMAIN for a name in these zones (all zones when the list is
    /// empty) goes to the next plugin instead. `None` = no fallthrough.
    pub fallthrough: Option<Vec<Name>>,
    /// `endpoint_pod_names`: use the pod name when an endpoint has no hostname.
    pub endpoint_pod_names: bool,
    /// `namespaces NS...`: only these namespaces are exposed (empty = all).
    pub namespaces: Vec<String>,
    /// `ignore empty_service`: NXDOMAIN for a ClusterIP service with no ready endpoint.
    pub ignore_empty_service: bool,
    /// `noendpoints`: the plugin does not watch endpoints (no headless or endpoint records).
    pub noendpoints: bool,
    /// `labels SELECTOR`: only Services whose labels match are watched.
    pub labels: Option<crate::kubectl::get::Selector>,
    /// SOA serial (CoreDNS uses the time of the last API change; the simulation supplies it).
    pub soa_serial: u32,
    /// Addresses of the DNS service, answered for `ns.dns.<zone>` and NS queries.
    pub dns_ips: Vec<IpAddr>,
    /// The `loadbalance` plugin (shuffles address records; needs a seeded stream).
    pub loadbalance: bool,
    /// The `cache` plugin's settings (every reply's TTLs are capped by them; with a
    /// [`DnsCache`](cache::DnsCache) hits count down). `None` = no cache plugin.
    pub cache: Option<cache::CacheConfig>,
    /// `forward FROM ...`: the zones the forward plugin handles (`.` = all). `None` = no
    /// forward plugin: a name no earlier plugin answers is SERVFAIL ("no next plugin found").
    pub forward: Option<Vec<Name>>,
    /// The `log` plugin: every query is logged in CoreDNS's format.
    pub log: bool,
    /// The `hosts` plugin (runs before kubernetes).
    pub hosts: Option<hosts::HostsConfig>,
    /// The resolver behind `forward .` when no packet is sent (no simulated resolver host);
    /// also what an ExternalName's target is resolved from.
    pub upstream: Upstream,
    /// The nameservers of the node's `/etc/resolv.conf`, which `forward . /etc/resolv.conf`
    /// reads (CoreDNS's pods run with `dnsPolicy: Default`), when the upstream resolvers are
    /// simulated hosts: forwarded queries are then real packets ([`Forwarder`]). `None`: they
    /// are answered from [`upstream`](Self::upstream) in the process.
    pub node_nameservers: Option<Vec<Ipv4Addr>>,
    /// Each `forward` directive's destinations and options, in Corefile order.
    pub forwarders: Vec<Forwarder>,
    /// The `rewrite` plugin's name rules, in Corefile order (empty: no rewrite).
    pub rewrites: Vec<rewrite::NameRule>,
    /// The `autopath` plugin (runs after `rewrite`, before `hosts`).
    pub autopath: Option<autopath::AutopathConfig>,
    /// The `template` directives, in Corefile order (after `autopath`, before `hosts`).
    pub templates: Vec<template::Template>,
}

/// One `forward FROM TO... { ... }` directive (plugin/forward setup.go `parseStanza`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forwarder {
    /// FROM.
    pub from: Name,
    /// TO..., as written.
    pub to: Vec<ForwardTarget>,
    /// `force_tcp`: always ask over TCP.
    pub force_tcp: bool,
    /// `prefer_udp`: ask over UDP even for a TCP client, and again over TCP when the answer is
    /// truncated.
    pub prefer_udp: bool,
    /// `policy` (default `random`).
    pub policy: ForwardPolicy,
    /// `max_fails` (default 2): an upstream whose health checks failed more often than this
    /// in a row is down; 0 turns health checking off.
    pub max_fails: u32,
    /// `health_check`: how the probes are sent.
    pub health_check: HealthCheck,
    /// `max_concurrent` (0: no limit): more queries than this being forwarded at once and the
    /// next one is REFUSED ("concurrent queries exceeded maximum N").
    pub max_concurrent: u32,
}

/// forward's `health_check INTERVAL [no_rec] [domain NAME]` (plugin/pkg/proxy health.go): a
/// failed query starts probes of its upstream, `NAME IN NS` over UDP with a 1 s read timeout,
/// every interval after a failed one until one is answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    /// The pause after a failed probe (default 0.5 s).
    pub interval: sim_core::SimDuration,
    /// The name asked (default `.`).
    pub domain: Name,
    /// The probe's RD bit (`no_rec` clears it).
    pub recursion_desired: bool,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            interval: sim_core::SimDuration::from_millis(500),
            domain: Name::root(),
            recursion_desired: true,
        }
    }
}

/// A forward destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForwardTarget {
    /// A resolv.conf file (`/etc/resolv.conf`): its nameservers, port 53.
    ResolvConf(String),
    /// An address (`8.8.8.8`, `dns://10.0.0.53:5353`).
    Addr(std::net::SocketAddr),
}

/// forward's `policy`: the order in which the upstreams are tried for one query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForwardPolicy {
    /// A fresh random order per query (the default).
    #[default]
    Random,
    /// Each query starts at the next upstream.
    RoundRobin,
    /// Always in the written order.
    Sequential,
}

impl Forwarder {
    /// kubeadm's `forward . /etc/resolv.conf`.
    pub fn kubeadm() -> Forwarder {
        Forwarder {
            from: Name::root(),
            to: vec![ForwardTarget::ResolvConf("/etc/resolv.conf".to_string())],
            force_tcp: false,
            prefer_udp: false,
            policy: ForwardPolicy::Random,
            max_fails: 2,
            health_check: HealthCheck::default(),
            // kubeadm's Corefile says `max_concurrent 1000`.
            max_concurrent: 1000,
        }
    }

    /// The upstream addresses (`/etc/resolv.conf` read as the node's nameservers), in written
    /// order, at most 15 as plugin/forward allows; IPv6 destinations are left out (the node
    /// network is IPv4).
    pub fn addresses(&self, node_nameservers: &[Ipv4Addr]) -> Vec<std::net::SocketAddrV4> {
        let mut out = Vec::new();
        for t in &self.to {
            match t {
                ForwardTarget::ResolvConf(_) => {
                    out.extend(node_nameservers.iter().map(|ip| std::net::SocketAddrV4::new(*ip, 53)))
                }
                ForwardTarget::Addr(std::net::SocketAddr::V4(a)) => out.push(*a),
                ForwardTarget::Addr(std::net::SocketAddr::V6(_)) => {}
            }
        }
        out.truncate(15);
        out
    }
}

/// The Corefile kubeadm writes into the `coredns` ConfigMap (kubeadm
/// `cmd/kubeadm/app/phases/addons/dns/manifests.go`, `CoreDNSConfigMap`), with the default
/// cluster domain.
pub const KUBEADM_COREFILE: &str = ".:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
";

impl CoreDnsConfig {
    /// The Corefile these settings stand for, in kubeadm's layout (what
    /// `kubectl -n kube-system describe cm coredns` shows).
    pub fn corefile(&self) -> String {
        let zones: Vec<String> =
            std::iter::once(&self.zone).chain(&self.reverse_zones).map(|z| z.to_relative_string()).collect();
        let mut out =
            String::from(".:53 {\n    errors\n    health {\n       lameduck 5s\n    }\n    ready\n");
        out.push_str(&format!("    kubernetes {} {{\n", zones.join(" ")));
        match self.pods {
            PodMode::Disabled => {}
            PodMode::Verified => out.push_str("       pods verified\n"),
            PodMode::Insecure => out.push_str("       pods insecure\n"),
        }
        if self.endpoint_pod_names {
            out.push_str("       endpoint_pod_names\n");
        }
        match &self.fallthrough {
            Some(zones) if zones.is_empty() => out.push_str("       fallthrough\n"),
            Some(zones) => {
                let zones: Vec<String> = zones.iter().map(|z| z.to_relative_string()).collect();
                out.push_str(&format!("       fallthrough {}\n", zones.join(" ")));
            }
            None => {}
        }
        out.push_str(&format!("       ttl {}\n    }}\n", self.ttl));
        out.push_str(
            "    prometheus :9153\n    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n",
        );
        if let Some(c) = &self.cache {
            out.push_str(&format!("    cache {}\n", c.ttl()));
        }
        out.push_str("    loop\n    reload\n");
        if self.loadbalance {
            out.push_str("    loadbalance\n");
        }
        out.push_str("}\n");
        out
    }
}

impl CoreDnsConfig {
    /// The kubernetes plugin's zones, primary first, then the others, then the reverse zones.
    pub fn kubernetes_zones(&self) -> impl Iterator<Item = &Name> {
        std::iter::once(&self.zone).chain(&self.extra_zones).chain(&self.reverse_zones)
    }

    /// `fall.F.Through`: whether NXDOMAIN for `name` goes on to the next plugin.
    pub fn falls_through(&self, name: &Name) -> bool {
        match &self.fallthrough {
            None => false,
            Some(zones) => zones.is_empty() || zones.iter().any(|z| name.is_subdomain_of(z)),
        }
    }

    /// Whether the forward plugin handles `name`.
    pub fn forwards(&self, name: &Name) -> bool {
        self.forward.as_ref().is_some_and(|from| from.iter().any(|z| name.is_subdomain_of(z)))
    }

    /// Whether the plugin's informers see this Service (`labels` option).
    pub fn watches(&self, svc: &super::view::DnsService) -> bool {
        self.labels.as_ref().is_none_or(|sel| sel.matches(&svc.labels))
    }

    /// Whether the kubernetes plugin exposes this namespace (`namespaces` option).
    pub fn namespace_exposed(&self, ns: &str) -> bool {
        self.namespaces.is_empty() || self.namespaces.iter().any(|n| n.eq_ignore_ascii_case(ns))
    }
}

impl Default for CoreDnsConfig {
    fn default() -> Self {
        let reverse_zones = vec![
            Name::parse("in-addr.arpa").unwrap_or_default(),
            Name::parse("ip6.arpa").unwrap_or_default(),
        ];
        CoreDnsConfig {
            server_zones: vec![Name::root()],
            kubernetes: true,
            zone: Name::parse("cluster.local").unwrap_or_default(),
            extra_zones: Vec::new(),
            fallthrough: Some(reverse_zones.clone()),
            reverse_zones,
            pods: PodMode::Insecure,
            ttl: 30,
            endpoint_pod_names: false,
            namespaces: Vec::new(),
            ignore_empty_service: false,
            noendpoints: false,
            labels: None,
            soa_serial: 1,
            dns_ips: vec![IpAddr::V4(Ipv4Addr::new(10, 96, 0, 10))],
            loadbalance: true,
            cache: Some(cache::CacheConfig::with_ttl(vec![Name::root()], 30)),
            forward: Some(vec![Name::root()]),
            log: false,
            hosts: None,
            upstream: Upstream::default(),
            node_nameservers: None,
            forwarders: vec![Forwarder::kubeadm()],
            rewrites: Vec::new(),
            autopath: None,
            templates: Vec::new(),
        }
    }
}

/// The world outside the cluster as `forward` sees it: a static map of records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Upstream {
    records: Vec<Record>,
}

impl Upstream {
    /// Adds an A or AAAA record with TTL 300 (builder). A name that does not parse is refused.
    pub fn with_address(mut self, name: &str, ip: IpAddr) -> Result<Self, super::name::NameError> {
        let data = match ip {
            IpAddr::V4(v4) => RData::A(v4),
            IpAddr::V6(v6) => RData::Aaaa(v6),
        };
        self.records.push(Record::new(Name::parse(name)?, 300, data));
        Ok(self)
    }

    /// Adds any record (builder). An SOA record marks a zone: negative answers for names
    /// inside it carry that SOA in the authority section, as real recursive resolvers relay it.
    pub fn with_record(mut self, record: Record) -> Self {
        self.records.push(record);
        self
    }

    /// These records followed by `other`'s.
    pub fn merged(mut self, other: &Upstream) -> Self {
        self.records.extend(other.records.iter().cloned());
        self
    }

    /// The SOA of the closest enclosing zone known, for a negative answer about `name`.
    pub fn negative_soa(&self, name: &Name) -> Option<Record> {
        self.records
            .iter()
            .filter(|r| r.rtype() == RecordType::Soa && name.is_subdomain_of(&r.name))
            .max_by_key(|r| r.name.label_count())
            .cloned()
    }

    /// Fills `resp` with the answer to `name`/`qtype`: the rcode and records of
    /// [`Self::resolve`], and for a negative answer the SOA of the zone of the last name asked
    /// (the end of the CNAME chain).
    pub fn answer_into(&self, name: &Name, qtype: RecordType, resp: &mut Message) {
        let (rcode, answers) = self.resolve(name, qtype);
        resp.header.rcode = rcode;
        if answers.is_empty() || rcode != Rcode::NoError {
            let last = answers.iter().rev().find_map(|r| match &r.data {
                RData::Cname(t) => Some(t),
                _ => None,
            });
            resp.authority.extend(self.negative_soa(last.unwrap_or(name)));
        }
        resp.answers = answers;
    }

    /// Resolves like a recursive resolver over the static data: follows CNAMEs, returns
    /// NXDOMAIN for names it has nothing for and NODATA for names with other types only.
    pub fn resolve(&self, name: &Name, qtype: RecordType) -> (Rcode, Vec<Record>) {
        let mut answers = Vec::new();
        let mut current = name.clone();
        for _ in 0..8 {
            let owned: Vec<&Record> =
                self.records.iter().filter(|r| r.name.eq_ignore_case(&current)).collect();
            // An SOA alone marks a zone apex, not data at a name.
            let owned: Vec<&Record> = owned
                .into_iter()
                .filter(|r| r.rtype() != RecordType::Soa || qtype == RecordType::Soa)
                .collect();
            if owned.is_empty() && !self.records.iter().any(|r| r.name.eq_ignore_case(&current)) {
                return (Rcode::NxDomain, answers);
            }
            let hits: Vec<Record> = owned
                .iter()
                .filter(|r| r.rtype() == qtype || qtype == RecordType::Any)
                .map(|r| Record { name: current.clone(), ..(*r).clone() })
                .collect();
            if !hits.is_empty() {
                answers.extend(hits);
                return (Rcode::NoError, answers);
            }
            match owned.iter().find_map(|r| match &r.data {
                RData::Cname(t) => Some((r, t.clone())),
                _ => None,
            }) {
                Some((r, target)) => {
                    answers.push(Record { name: current.clone(), ..(*r).clone() });
                    current = target;
                }
                None => return (Rcode::NoError, answers),
            }
        }
        (Rcode::ServFail, Vec::new())
    }
}

/// A CoreDNS instance: its settings plus the cluster view it answers from.
#[derive(Clone, Copy, Debug)]
pub struct CoreDns<'a> {
    /// Corefile settings.
    pub config: &'a CoreDnsConfig,
    /// Cluster objects.
    pub view: &'a ClusterDnsView,
}

/// What a query name means to the kubernetes plugin (parse.go `recordRequest`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct RecordRequest {
    port: String,
    protocol: String,
    endpoint: String,
    service: String,
    namespace: String,
    pod_or_svc: String,
}

/// Why the plugin found nothing; every variant is answered with NXDOMAIN (`IsNameError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NameErr {
    NoItems,
    NotExposed,
    InvalidRequest,
}

/// The host part of a CoreDNS `msg.Service`: an address, or a name to alias to.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Host {
    Ip(IpAddr),
    Name(String),
}

/// CoreDNS's `msg.Service`: one candidate answer.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Candidate {
    /// The name the key maps to (SRV target for address hosts).
    key: Name,
    host: Host,
    /// -1 when the object has no ports (sentinel, skipped for SRV).
    port: i32,
    text: Option<String>,
}

/// The schema version answered at `dns-version.<zone>` TXT (specification.md §2.1).
pub const DNS_SCHEMA_VERSION: &str = "1.1.0";

impl CoreDns<'_> {
    /// Answers one query message as on a cache miss (TTLs capped by the cache plugin when it
    /// is configured).
    pub fn answer(&self, query: &Message) -> Message {
        let mut reply = self.resolve(query);
        if let Some(c) = &self.config.cache {
            cache::cap_ttls(c, query, &mut reply);
        }
        reply
    }

    /// Answers one query at simulated time `now` through the cache plugin: a live entry is
    /// served with its remaining TTL, a miss is resolved and stored (a prefetch or a stale
    /// entry's refresh is resolved at once, as the chain answers in the instant).
    pub fn answer_at(&self, cache: &mut cache::DnsCache, now: SimTime, query: &Message) -> Message {
        let Some(c) = &self.config.cache else { return self.resolve(query) };
        cache::serve(cache, c, query, now, |q| Some(self.resolve(q))).unwrap_or_else(|| self.resolve(query))
    }

    /// The plugin chain behind the cache: kubernetes, then forward.
    fn resolve(&self, query: &Message) -> Message {
        self.resolve_chain(query).0
    }

    /// Whether `query` leaves CoreDNS as a packet: the chain hands it to `forward`, and the
    /// upstreams are simulated hosts ([`CoreDnsConfig::node_nameservers`]).
    pub fn forwards_live(&self, query: &Message) -> bool {
        self.config.node_nameservers.is_some() && self.resolve_chain(query).1
    }

    /// The `forward` directive that handles `name` (the longest FROM containing it).
    pub fn forwarder(&self, name: &Name) -> Option<&Forwarder> {
        self.config
            .forwarders
            .iter()
            .filter(|f| name.is_subdomain_of(&f.from))
            .max_by_key(|f| f.from.label_count())
    }

    /// The reply a forwarded query gets: the upstream's answer as it came (the client's id and
    /// question spelling), or SERVFAIL when no upstream answered in time (plugin/forward
    /// returns `dns.RcodeServerFailure` and the server writes it). The cache plugin caps the
    /// TTLs as on any reply; the caller sizes it for the client's transport.
    pub fn relay(&self, query: &Message, upstream: Option<Message>) -> Message {
        let mut reply = match upstream {
            Some(mut m) => {
                m.header.id = query.header.id;
                m.questions = query.questions.clone();
                if let rewrite::Outcome::Rewritten(rw) = self.rewritten(query) {
                    rw.revert(query, &mut m);
                }
                m
            }
            None => {
                let mut resp = self.skeleton(query);
                resp.header.rcode = Rcode::ServFail;
                self.edns(query, &mut resp);
                resp
            }
        };
        if let Some(c) = &self.config.cache {
            cache::cap_ttls(c, query, &mut reply);
        }
        reply
    }

    fn skeleton(&self, query: &Message) -> Message {
        Message {
            header: Header {
                id: query.header.id,
                flags: Flags {
                    qr: true,
                    opcode: query.header.flags.opcode,
                    rd: query.header.flags.rd,
                    cd: query.header.flags.cd,
                    ..Flags::default()
                },
                rcode: Rcode::NoError,
            },
            questions: query.questions.clone(),
            ..Message::default()
        }
    }

    /// CoreDNS answers EDNS with its own buffer size (1232) and echoes the client cookie,
    /// which dig reports as `COOKIE: ... (echoed)`.
    fn edns(&self, query: &Message, resp: &mut Message) {
        if let Some(opt) = query.opt() {
            let cookie = match &opt.data {
                RData::Opt(opts) => opts.iter().find(|(c, _)| *c == EDNS_OPTION_COOKIE).cloned(),
                _ => None,
            };
            let client_cookie = cookie.map(|(c, d)| (c, d.into_iter().take(8).collect::<Vec<u8>>()));
            resp.set_edns(1232, client_cookie.into_iter().collect());
        }
    }

    /// The `rewrite` plugin's outcome for `query` (it runs after `cache`, before the rest).
    pub fn rewritten(&self, query: &Message) -> rewrite::Outcome {
        match query.question().filter(|_| !self.config.rewrites.is_empty()) {
            Some(q) => rewrite::rewrite(&self.config.rewrites, &q.name),
            None => rewrite::Outcome::Unchanged,
        }
    }

    /// The query as the plugins after `rewrite` see it (the upstream is asked this one).
    pub fn inner_query(&self, query: &Message) -> Message {
        match self.rewritten(query) {
            rewrite::Outcome::Rewritten(rw) => {
                let mut q = query.clone();
                if let Some(first) = q.questions.first_mut() {
                    first.name = rw.name;
                }
                q
            }
            _ => query.clone(),
        }
    }

    /// The chain, and whether it ended in a forward that is sent as a packet: `rewrite`
    /// around the rest.
    fn resolve_chain(&self, query: &Message) -> (Message, bool) {
        match self.rewritten(query) {
            rewrite::Outcome::Unchanged => self.resolve_inner(query, true),
            rewrite::Outcome::Invalid(_) => {
                let mut resp = self.skeleton(query);
                resp.header.rcode = Rcode::ServFail;
                self.edns(query, &mut resp);
                (resp, false)
            }
            rewrite::Outcome::Rewritten(rw) => {
                let mut inner = query.clone();
                if let Some(first) = inner.questions.first_mut() {
                    first.name = rw.name.clone();
                }
                // The server block was chosen by the client's name; the rewritten one may be outside
                // its zones.
                let (mut resp, forwarded) = self.resolve_inner(&inner, false);
                rw.revert(query, &mut resp);
                (resp, forwarded)
            }
        }
    }

    /// The `autopath` plugin's walk for `query` from the pod at `client`: `None` when autopath
    /// does not apply (not configured, the name outside its zones, no search path for the
    /// client, the name not in its first element), `Some(Err(reply))` for the SERVFAIL of a
    /// name that is the first element itself (TrimZone's "overshot qname").
    pub fn autopath_walk(&self, query: &Message, client: IpAddr) -> Option<Result<autopath::Walk, Message>> {
        let ap = self.config.autopath.as_ref()?;
        let inner = self.inner_query(query);
        let name = inner.question()?.name.clone();
        if !ap.zones.iter().any(|z| name.is_subdomain_of(z)) {
            return None;
        }
        let search = match ap.source {
            autopath::SearchSource::Kubernetes => {
                // kubernetes autopath.go: its own zones, `pods verified`, the pod by podIP.
                let zone = self.matching_zone(&name)?;
                if self.config.pods != PodMode::Verified {
                    return None;
                }
                let pod = self.view.pods.iter().find(|p| p.ips.first() == Some(&client))?;
                autopath::kubernetes_search(&pod.namespace, zone)
            }
        };
        if !autopath::first_in_search_path(&name, &search) {
            return None;
        }
        match autopath::Walk::new(&inner, &search) {
            Some(w) => Some(Ok(w)),
            None => {
                let mut resp = self.skeleton(query);
                resp.header.rcode = Rcode::ServFail;
                self.edns(query, &mut resp);
                Some(Err(resp))
            }
        }
    }

    /// The target an A or AAAA answer's last CNAME points to when nothing in the answer
    /// resolves it and it lies outside the kubernetes zones: the kubernetes plugin's
    /// ExternalName, whose target CoreDNS looks up through its own server (backend_lookup.go
    /// `A`: the CNAME, then the lookup's answers). Only with simulated upstream hosts.
    pub fn dangling_cname(&self, query: &Message, reply: &Message) -> Option<Name> {
        self.config.node_nameservers.as_ref()?;
        let q = query.question()?;
        if !matches!(q.qtype, RecordType::A | RecordType::Aaaa) || reply.header.rcode != Rcode::NoError {
            return None;
        }
        let RData::Cname(target) = &reply.answers.last()?.data else { return None };
        if self.matching_zone(target).is_some() {
            return None;
        }
        Some(target.clone())
    }

    /// One step of a walk: the chain after `autopath` for `query`, and whether it ended in a
    /// forward sent as a packet.
    pub fn resolve_step(&self, query: &Message) -> (Message, bool) {
        self.resolve_inner(query, false)
    }

    /// The chain after `rewrite` (`check_zone`: a name outside the server block's zones is
    /// REFUSED).
    fn resolve_inner(&self, query: &Message, check_zone: bool) -> (Message, bool) {
        let mut resp = self.skeleton(query);
        if query.header.flags.opcode != 0 {
            resp.header.rcode = Rcode::NotImp;
            return (resp, false);
        }
        let Some(q) = query.questions.first().filter(|_| query.questions.len() == 1) else {
            resp.header.rcode = Rcode::FormErr;
            return (resp, false);
        };
        let cfg = self.config;
        // CoreDNS hands a query to the server block whose zone matches it best; a name that
        // no block serves is REFUSED.
        if check_zone && !cfg.server_zones.iter().any(|z| q.name.is_subdomain_of(z)) {
            resp.header.rcode = Rcode::Refused;
            return (resp, false);
        }
        match template::serve(&cfg.templates, &q.name, q.qtype, q.qclass, "") {
            template::TemplateAnswer::Next => {}
            template::TemplateAnswer::ServFail => {
                resp.header.rcode = Rcode::ServFail;
                self.edns(query, &mut resp);
                return (resp, false);
            }
            template::TemplateAnswer::Reply { rcode, mut answers, authority, additional, lookups } => {
                for target in lookups {
                    answers.extend(self.lookup(&target, q.qtype));
                }
                template::fill(&mut resp, rcode, answers, authority, additional);
                self.edns(query, &mut resp);
                return (resp, false);
            }
        }
        let mut forwarded = false;
        match cfg.hosts.as_ref().map_or(hosts::HostsAnswer::Next, |h| h.answer(&q.name, q.qtype)) {
            hosts::HostsAnswer::Records(answers) => {
                resp.header.flags.aa = true;
                resp.answers = answers;
            }
            hosts::HostsAnswer::ServFail => resp.header.rcode = Rcode::ServFail,
            hosts::HostsAnswer::Next => forwarded = self.after_hosts(q, &mut resp),
        }
        self.edns(query, &mut resp);
        (resp, forwarded)
    }

    /// plugin/pkg/upstream `Lookup` of a CNAME target for the template plugin: the target's
    /// answers from the chain after `template` (hosts, kubernetes), or from the upstream's
    /// data when it would be forwarded.
    fn lookup(&self, target: &Name, qtype: RecordType) -> Vec<Record> {
        let q = Message::query(0, target.clone(), qtype);
        let Some(question) = q.question() else { return Vec::new() };
        let mut resp = self.skeleton(&q);
        let forwarded =
            match self.config.hosts.as_ref().map_or(hosts::HostsAnswer::Next, |h| h.answer(target, qtype)) {
                hosts::HostsAnswer::Records(answers) => {
                    resp.answers = answers;
                    false
                }
                hosts::HostsAnswer::ServFail => false,
                hosts::HostsAnswer::Next => self.after_hosts(question, &mut resp),
            };
        if forwarded { self.config.upstream.resolve(target, qtype).1 } else { resp.answers }
    }

    /// The chain after `hosts`: kubernetes, then forward; true when the query is to be sent to
    /// a simulated upstream (nothing is filled in then).
    fn after_hosts(&self, q: &super::message::Question, resp: &mut Message) -> bool {
        let cfg = self.config;
        let served = match self.matching_zone(&q.name) {
            Some(zone) => {
                // handler.go: "maintain case of original query".
                let zone = q.name.suffix(zone.label_count());
                match self.kubernetes(&q.name, q.qtype, &zone) {
                    Served::NxDomain if cfg.falls_through(&q.name) => None,
                    other => Some((other, zone)),
                }
            }
            None => None,
        };
        match served {
            Some((served, zone)) => {
                resp.header.flags.aa = true;
                match served {
                    Served::Records { answers, extra } => {
                        resp.answers = dedup(answers);
                        resp.additional = dedup(extra);
                    }
                    Served::NoData => resp.authority.push(self.soa(&zone)),
                    // handler.go: before the first sync a name not found is a server failure.
                    Served::NxDomain => {
                        resp.header.rcode =
                            if self.view.unsynced { Rcode::ServFail } else { Rcode::NxDomain };
                        resp.authority.push(self.soa(&zone));
                    }
                }
            }
            None if !cfg.forwards(&q.name) => {
                // plugin.NextOrFailure with no next plugin.
                resp.header.rcode = Rcode::ServFail;
            }
            None if cfg.node_nameservers.is_some() => return true,
            None => {
                resp.header.flags.ra = true;
                cfg.upstream.answer_into(&q.name, q.qtype, resp);
            }
        }
        false
    }

    /// Answers a UDP payload: the reply bytes, sized for the client's buffer, or why the server
    /// sent nothing. A message whose header is readable but whose body is not gets FORMERR
    /// (miekg/dns server behaviour).
    pub fn answer_bytes(&self, query: &[u8]) -> Result<Vec<u8>, ServerDrop> {
        self.answer_wire(query, Transport::Udp, None, None)
    }

    /// Like [`answer_bytes`](Self::answer_bytes) for a query that came over TCP (no size limit,
    /// the 2-byte length prefix is the transport's business).
    pub fn answer_bytes_tcp(&self, query: &[u8]) -> Result<Vec<u8>, ServerDrop> {
        self.answer_wire(query, Transport::Tcp, None, None)
    }

    /// Like [`answer_bytes`](Self::answer_bytes), with the `loadbalance` plugin shuffling
    /// address records from the simulation's seeded stream (when enabled in the config).
    pub fn answer_bytes_with_rng(
        &self,
        query: &[u8],
        transport: Transport,
        rng: &mut SimRng,
    ) -> Result<Vec<u8>, ServerDrop> {
        self.answer_wire(query, transport, Some(rng), None)
    }

    /// The full server as the simulation runs it: cache at `now`, `loadbalance` from `rng`,
    /// sizing for `transport`.
    pub fn serve(
        &self,
        query: &[u8],
        transport: Transport,
        rng: &mut SimRng,
        cache: &mut cache::DnsCache,
        now: SimTime,
    ) -> Result<Vec<u8>, ServerDrop> {
        self.answer_wire(query, transport, Some(rng), Some((cache, now)))
    }

    fn answer_wire(
        &self,
        query: &[u8],
        transport: Transport,
        rng: Option<&mut SimRng>,
        cache: Option<(&mut cache::DnsCache, SimTime)>,
    ) -> Result<Vec<u8>, ServerDrop> {
        if query.len() < 12 {
            return Err(ServerDrop::TooShort(query.len()));
        }
        if query[2] & 0x80 != 0 {
            return Err(ServerDrop::NotAQuery);
        }
        let q = match Message::decode(query) {
            Ok(q) => q,
            Err(_) => {
                let mut reply = Message::default();
                reply.header.id = u16::from_be_bytes([query[0], query[1]]);
                reply.header.flags.qr = true;
                reply.header.flags.opcode = (query[2] >> 3) & 0x0f;
                reply.header.rcode = Rcode::FormErr;
                return Ok(reply.encode());
            }
        };
        let mut reply = match cache {
            Some((cache, now)) => self.answer_at(cache, now, &q),
            None => self.answer(&q),
        };
        if let Some(rng) = rng
            && self.config.loadbalance
            && reply.header.rcode == Rcode::NoError
        {
            reply.answers = round_robin(std::mem::take(&mut reply.answers), rng);
            reply.authority = round_robin(std::mem::take(&mut reply.authority), rng);
            reply.additional = round_robin(std::mem::take(&mut reply.additional), rng);
        }
        Ok(match transport {
            Transport::Udp => wire_reply(&q, reply),
            Transport::Tcp => {
                let plain = reply.encode();
                if plain.len() <= usize::from(u16::MAX) { plain } else { reply.encode_compressed() }
            }
        })
    }

    /// `plugin.Zones(k.Zones).Matches`: the longest kubernetes zone containing `name`.
    fn matching_zone(&self, name: &Name) -> Option<&Name> {
        if !self.config.kubernetes {
            return None;
        }
        self.config.kubernetes_zones().filter(|z| name.is_subdomain_of(z)).max_by_key(|z| z.label_count())
    }

    /// The endpoints the plugin knows of: none with `noendpoints`.
    fn endpoints_of<'s>(
        &self,
        svc: &'s super::view::DnsService,
    ) -> impl Iterator<Item = &'s super::view::DnsEndpoint> {
        let watch = !self.config.noendpoints;
        svc.published_endpoints().filter(move |_| watch)
    }

    fn soa(&self, zone: &Name) -> Record {
        let ttl = self.config.ttl;
        let join = |l: &str| zone.prepend(l).unwrap_or_else(|_| zone.clone());
        Record::new(
            zone.clone(),
            ttl.min(300),
            RData::Soa(Soa {
                mname: join("ns.dns"),
                rname: join("hostmaster"),
                serial: self.config.soa_serial,
                refresh: 7200,
                retry: 1800,
                expire: 86400,
                minimum: ttl,
            }),
        )
    }

    /// handler.go `ServeDNS` for one zone of the kubernetes plugin.
    fn kubernetes(&self, qname: &Name, qtype: RecordType, zone: &Name) -> Served {
        let result = match qtype {
            RecordType::A | RecordType::Aaaa => {
                self.address(qname, qtype, zone, &mut Vec::new()).map(|a| (a, vec![]))
            }
            RecordType::Srv => self.srv(qname, zone),
            RecordType::Ptr => self.ptr(qname, zone).map(|a| (a, vec![])),
            RecordType::Txt => self.txt(qname, zone).map(|a| (a, vec![])),
            RecordType::Cname => self.cname(qname, zone).map(|a| (a, vec![])),
            RecordType::Soa if qname.eq_ignore_case(zone) => Ok((vec![self.soa(zone)], vec![])),
            RecordType::Ns if qname.eq_ignore_case(zone) => Ok(self.ns(zone)),
            // A fake A lookup tells NODATA from NXDOMAIN for every other type.
            _ => self.address(qname, RecordType::A, zone, &mut Vec::new()).map(|_| (vec![], vec![])),
        };
        match result {
            Err(_) => Served::NxDomain,
            Ok((answers, _)) if answers.is_empty() => Served::NoData,
            Ok((answers, extra)) => Served::Records { answers, extra },
        }
    }

    fn ttl(&self) -> u32 {
        self.config.ttl
    }

    fn ns(&self, zone: &Name) -> (Vec<Record>, Vec<Record>) {
        let Ok(ns) = zone.prepend("ns.dns") else { return (vec![], vec![]) };
        let extra = self
            .config
            .dns_ips
            .iter()
            .map(|ip| Record::new(ns.clone(), self.ttl(), addr_rdata(*ip)))
            .collect();
        (vec![Record::new(zone.clone(), self.ttl(), RData::Ns(ns))], extra)
    }

    /// kubernetes.go `Services`: the candidates for a name, with the special names first.
    fn services(&self, qname: &Name, qtype: RecordType, zone: &Name) -> Result<Vec<Candidate>, NameErr> {
        let base = qname.strip_zone(zone).unwrap_or_default();
        if qtype == RecordType::Txt {
            if base.len() == 1 && base[0].eq_ignore_ascii_case("dns-version") {
                return Ok(vec![Candidate {
                    key: qname.clone(),
                    host: Host::Name(String::new()),
                    port: 0,
                    text: Some(DNS_SCHEMA_VERSION.to_string()),
                }]);
            }
            return Ok(vec![]);
        }
        if base.len() == 2 && base[0].eq_ignore_ascii_case("ns") && base[1].eq_ignore_ascii_case("dns") {
            return Ok(self
                .config
                .dns_ips
                .iter()
                .filter(|ip| {
                    matches!((ip, qtype), (IpAddr::V4(_), RecordType::A) | (IpAddr::V6(_), RecordType::Aaaa))
                })
                .map(|ip| Candidate { key: qname.clone(), host: Host::Ip(*ip), port: 0, text: None })
                .collect());
        }
        let found = self.records(qname, zone)?;
        if qtype == RecordType::Srv {
            // SRV for external services is not implemented in CoreDNS: drop CNAME hosts.
            return Ok(found.into_iter().filter(|c| matches!(c.host, Host::Ip(_))).collect());
        }
        Ok(found)
    }

    /// kubernetes.go `Records`.
    fn records(&self, qname: &Name, zone: &Name) -> Result<Vec<Candidate>, NameErr> {
        let r = parse_request(qname, zone)?;
        if r.pod_or_svc.is_empty() {
            return Ok(vec![]);
        }
        if self.config.reverse_zones.iter().any(|z| qname.is_subdomain_of(z)) {
            return Err(NameErr::NoItems);
        }
        if !r.namespace.is_empty()
            && (!self.view.namespace_exists(&r.namespace) || !self.config.namespace_exposed(&r.namespace))
        {
            return Err(NameErr::NotExposed);
        }
        if r.namespace.is_empty() {
            return Ok(vec![]);
        }
        if r.pod_or_svc == "pod" { self.find_pods(&r, zone) } else { self.find_services(&r, zone) }
    }

    fn find_pods(&self, r: &RecordRequest, zone: &Name) -> Result<Vec<Candidate>, NameErr> {
        if self.config.pods == PodMode::Disabled {
            return Err(NameErr::NoItems);
        }
        let podname = &r.service;
        if podname.is_empty() {
            return Ok(vec![]);
        }
        let ip_text = if podname.matches('-').count() == 3 && !podname.contains("--") {
            podname.replace('-', ".")
        } else {
            podname.replace('-', ":")
        };
        let Ok(ip) = ip_text.parse::<IpAddr>() else { return Err(NameErr::NoItems) };
        let key = key_name(&[podname, &r.namespace, "pod"], zone);
        match self.config.pods {
            PodMode::Insecure => Ok(vec![Candidate { key, host: Host::Ip(ip), port: 0, text: None }]),
            _ => {
                let found: Vec<Candidate> = self
                    .view
                    .pods
                    .iter()
                    .filter(|p| p.namespace.eq_ignore_ascii_case(&r.namespace) && p.ips.contains(&ip))
                    .map(|_| Candidate { key: key.clone(), host: Host::Ip(ip), port: 0, text: None })
                    .collect();
                if found.is_empty() { Err(NameErr::NoItems) } else { Ok(found) }
            }
        }
    }

    /// kubernetes.go `findServices`.
    fn find_services(&self, r: &RecordRequest, zone: &Name) -> Result<Vec<Candidate>, NameErr> {
        if r.service.is_empty() {
            return Ok(vec![]);
        }
        let Some(svc) = self.view.service(&r.namespace, &r.service).filter(|s| self.config.watches(s)) else {
            return Err(NameErr::NoItems);
        };
        let mut out = Vec::new();
        let mut found = false;
        if svc.service_type == ServiceType::ExternalName {
            // No endpoints, and no `_port._proto` pseudo-labels, for an ExternalName.
            if r.endpoint.is_empty()
                && r.port.is_empty()
                && r.protocol.is_empty()
                && let Some(target) = &svc.external_name
                && target.parse::<IpAddr>().is_err()
            {
                let key = key_name(&[&svc.name, &svc.namespace, "svc"], zone);
                out.push(Candidate { key, host: Host::Name(target.clone()), port: 0, text: None });
                found = true;
            }
        } else if svc.headless || !r.endpoint.is_empty() {
            for ep in self.endpoints_of(svc) {
                let host = endpoint_hostname(ep, self.config.endpoint_pod_names);
                if !r.endpoint.is_empty() && !r.endpoint.eq_ignore_ascii_case(&host) {
                    continue;
                }
                for p in ports_or_sentinel(&svc.endpoint_ports) {
                    if !match_port_and_protocol(r, &p) {
                        continue;
                    }
                    let key = key_name(&[&host, &svc.name, &svc.namespace, "svc"], zone);
                    out.push(Candidate { key, host: Host::Ip(ep.ip), port: p.port, text: None });
                    found = true;
                }
            }
        } else {
            if self.config.ignore_empty_service && self.endpoints_of(svc).next().is_none() {
                // `ignore empty_service`: a service nothing answers for is NXDOMAIN.
                return Err(NameErr::NoItems);
            }
            for p in ports_or_sentinel(&svc.ports) {
                if !match_port_and_protocol(r, &p) {
                    continue;
                }
                found = true;
                for ip in &svc.cluster_ips {
                    let key = key_name(&[&svc.name, &svc.namespace, "svc"], zone);
                    out.push(Candidate { key, host: Host::Ip(*ip), port: p.port, text: None });
                }
            }
        }
        if found { Ok(out) } else { Err(NameErr::NoItems) }
    }

    /// backend_lookup.go `A` / `AAAA`.
    fn address(
        &self,
        qname: &Name,
        qtype: RecordType,
        zone: &Name,
        previous: &mut Vec<Record>,
    ) -> Result<Vec<Record>, NameErr> {
        let services = self.services(qname, qtype, zone)?;
        let mut records = Vec::new();
        let mut seen: Vec<IpAddr> = Vec::new();
        for serv in services {
            match serv.host {
                Host::Name(target) => {
                    let Ok(target) = Name::parse(&target) else { continue };
                    if qname.eq_ignore_case(&target) || previous.len() > 7 {
                        continue;
                    }
                    let cname = Record::new(qname.clone(), self.ttl(), RData::Cname(target.clone()));
                    if previous.iter().any(|r| r == &cname) {
                        continue;
                    }
                    if target.is_subdomain_of(zone) {
                        previous.push(cname.clone());
                        if let Ok(next) = self.address(&target, qtype, zone, previous)
                            && !next.is_empty()
                        {
                            records.push(cname);
                            records.extend(next);
                        }
                        continue;
                    }
                    // Outside the zone: CoreDNS looks the target up through its own server
                    // (plugin/pkg/upstream). With simulated upstream hosts that may be a
                    // packet, which the caller sends ([`CoreDns::dangling_cname`]); otherwise
                    // the upstream's data answers here.
                    records.push(cname);
                    if self.config.node_nameservers.is_none() {
                        records.extend(self.config.upstream.resolve(&target, qtype).1);
                    }
                }
                Host::Ip(ip) => {
                    let fits = matches!(
                        (ip, qtype),
                        (IpAddr::V4(_), RecordType::A) | (IpAddr::V6(_), RecordType::Aaaa)
                    );
                    if fits && !seen.contains(&ip) {
                        seen.push(ip);
                        records.push(Record::new(qname.clone(), self.ttl(), addr_rdata(ip)));
                    }
                }
            }
        }
        Ok(records)
    }

    /// backend_lookup.go `SRV`: targets are the key names, addresses go to the additional section.
    fn srv(&self, qname: &Name, zone: &Name) -> Result<(Vec<Record>, Vec<Record>), NameErr> {
        let services = self.services(qname, RecordType::Srv, zone)?;
        let total = services.len().max(1) as f64 * 100.0;
        let mut records = Vec::new();
        let mut extra = Vec::new();
        let mut dup_port: Vec<(Name, u16)> = Vec::new();
        let mut dup_addr: Vec<(Name, IpAddr)> = Vec::new();
        for serv in services {
            let Ok(port) = u16::try_from(serv.port) else { continue };
            let weight = ((100.0 / total) * 100.0).floor().max(1.0) as u16;
            let Host::Ip(ip) = serv.host else { continue };
            let target = serv.key.clone();
            if !dup_port.iter().any(|(n, p)| n == &target && *p == port) {
                dup_port.push((target.clone(), port));
                records.push(Record::new(
                    qname.clone(),
                    self.ttl(),
                    RData::Srv(Srv { priority: 0, weight, port, target: target.clone() }),
                ));
            }
            if !dup_addr.iter().any(|(n, a)| n == &target && *a == ip) {
                dup_addr.push((target.clone(), ip));
                extra.push(Record::new(target, self.ttl(), addr_rdata(ip)));
            }
        }
        Ok((records, extra))
    }

    /// backend_lookup.go `PTR` with reverse.go `serviceRecordForIP`.
    fn ptr(&self, qname: &Name, zone: &Name) -> Result<Vec<Record>, NameErr> {
        let Some(ip) = address_from_reverse(qname) else {
            // Not a reverse name: only existence matters; address hosts give no PTR data.
            self.records(qname, zone)?;
            return Ok(vec![]);
        };
        let cluster = &self.config.zone;
        let mut targets: Vec<Name> = Vec::new();
        let exposed = |s: &&super::view::DnsService| {
            self.config.namespace_exposed(&s.namespace) && self.config.watches(s)
        };
        if let Some(svc) = self.view.services.iter().filter(exposed).find(|s| s.cluster_ips.contains(&ip)) {
            targets.push(key_name(&[&svc.name, &svc.namespace, "svc"], cluster));
        } else {
            for svc in self.view.services.iter().filter(exposed) {
                for ep in self.endpoints_of(svc).filter(|e| e.ip == ip) {
                    let host = endpoint_hostname(ep, self.config.endpoint_pod_names);
                    targets.push(key_name(&[&host, &svc.name, &svc.namespace, "svc"], cluster));
                }
            }
        }
        if targets.is_empty() {
            return Err(NameErr::NoItems);
        }
        let mut out: Vec<Record> = Vec::new();
        for t in targets {
            let rec = Record::new(qname.clone(), self.ttl(), RData::Ptr(t));
            if !out.contains(&rec) {
                out.push(rec);
            }
        }
        Ok(out)
    }

    fn txt(&self, qname: &Name, zone: &Name) -> Result<Vec<Record>, NameErr> {
        let services = self.services(qname, RecordType::Txt, zone)?;
        if services.is_empty() {
            // Existence check, so that a missing name stays NXDOMAIN.
            self.records(qname, zone)?;
        }
        Ok(services
            .into_iter()
            .filter_map(|s| {
                s.text.map(|t| Record::new(qname.clone(), 28800, RData::Txt(vec![t.into_bytes()])))
            })
            .collect())
    }

    fn cname(&self, qname: &Name, zone: &Name) -> Result<Vec<Record>, NameErr> {
        let services = self.services(qname, RecordType::Cname, zone)?;
        Ok(services
            .into_iter()
            .take(1)
            .filter_map(|s| match s.host {
                Host::Name(t) => {
                    Name::parse(&t).ok().map(|t| Record::new(qname.clone(), self.ttl(), RData::Cname(t)))
                }
                Host::Ip(_) => None,
            })
            .collect())
    }
}

/// What the kubernetes plugin decided.
enum Served {
    Records { answers: Vec<Record>, extra: Vec<Record> },
    NoData,
    NxDomain,
}

/// parse.go `parseRequest`: `[_port._proto.|endpoint.]service.namespace.(svc|pod).zone`.
fn parse_request(qname: &Name, zone: &Name) -> Result<RecordRequest, NameErr> {
    let mut r = RecordRequest::default();
    let segs = qname.strip_zone(zone).unwrap_or_default();
    if segs.is_empty()
        || (segs.len() == 1 && (segs[0].eq_ignore_ascii_case("svc") || segs[0].eq_ignore_ascii_case("pod")))
    {
        return Ok(r);
    }
    let mut rest = segs.iter().rev();
    let Some(kind) = rest.next() else { return Ok(r) };
    let kind = kind.to_ascii_lowercase();
    if kind != "svc" && kind != "pod" {
        return Err(NameErr::InvalidRequest);
    }
    r.pod_or_svc = kind;
    let left: Vec<&String> = rest.collect();
    match left.as_slice() {
        [] => {}
        [ns] => r.namespace = (*ns).clone(),
        [ns, svc] => {
            r.namespace = (*ns).clone();
            r.service = (*svc).clone();
        }
        [ns, svc, ep] => {
            r.namespace = (*ns).clone();
            r.service = (*svc).clone();
            r.endpoint = (*ep).clone();
        }
        [ns, svc, proto, port] => {
            r.namespace = (*ns).clone();
            r.service = (*svc).clone();
            r.protocol = proto.strip_prefix('_').unwrap_or(proto).to_string();
            r.port = port.strip_prefix('_').unwrap_or(port).to_string();
        }
        _ => return Err(NameErr::InvalidRequest),
    }
    Ok(r)
}

/// A port list, or CoreDNS's single "no port" sentinel (port -1) when there are none.
fn ports_or_sentinel(ports: &[DnsPort]) -> Vec<SentinelPort> {
    if ports.is_empty() {
        return vec![SentinelPort { name: String::new(), protocol: None, port: -1 }];
    }
    ports
        .iter()
        .map(|p| SentinelPort { name: p.name.clone(), protocol: Some(p.protocol), port: i32::from(p.port) })
        .collect()
}

/// A port as CoreDNS's object cache holds it (port -1 = no ports declared).
struct SentinelPort {
    name: String,
    protocol: Option<super::view::Protocol>,
    port: i32,
}

/// parse.go/kubernetes.go `matchPortAndProtocol`: empty request fields are wildcards.
fn match_port_and_protocol(r: &RecordRequest, p: &SentinelPort) -> bool {
    (r.port.is_empty() || r.port.eq_ignore_ascii_case(&p.name))
        && (r.protocol.is_empty()
            || p.protocol.is_some_and(|pr| r.protocol.eq_ignore_ascii_case(pr.dns_label())))
}

/// kubernetes.go `endpointHostname`: the hostname, the pod name with `endpoint_pod_names`, or
/// the address with `.`/`:` as `-` (an IPv6 address ending in `::` gets a `0`, so the label
/// does not end in `-`).
fn endpoint_hostname(ep: &super::view::DnsEndpoint, endpoint_pod_names: bool) -> String {
    if let Some(h) = ep.hostname.as_deref().filter(|h| !h.is_empty()) {
        return h.to_string();
    }
    if endpoint_pod_names && let Some(p) = ep.target_pod.as_deref().filter(|p| !p.is_empty()) {
        return p.to_string();
    }
    match ep.ip {
        IpAddr::V4(v4) => v4.to_string().replace('.', "-"),
        IpAddr::V6(v6) => {
            let label = v6.to_string().replace(':', "-");
            if label.ends_with('-') { label + "0" } else { label }
        }
    }
}

fn key_name(labels: &[&str], zone: &Name) -> Name {
    let text = format!("{}.{}", labels.join("."), zone);
    Name::parse(&text).unwrap_or_else(|_| zone.clone())
}

fn addr_rdata(ip: IpAddr) -> RData {
    match ip {
        IpAddr::V4(v4) => RData::A(v4),
        IpAddr::V6(v6) => RData::Aaaa(v6),
    }
}

/// dnsutil `ExtractAddressFromReverse`: `4.3.2.1.in-addr.arpa` → 1.2.3.4; 32 nibbles of ip6.arpa.
pub fn address_from_reverse(name: &Name) -> Option<IpAddr> {
    let labels: Vec<String> =
        name.labels().iter().map(|l| String::from_utf8_lossy(l).to_ascii_lowercase()).collect();
    let n = labels.len();
    if n == 6 && labels[4] == "in-addr" && labels[5] == "arpa" {
        let mut octets = [0u8; 4];
        for (i, l) in labels[..4].iter().rev().enumerate() {
            if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            octets[i] = l.parse().ok()?;
        }
        return Some(IpAddr::V4(Ipv4Addr::from(octets)));
    }
    if n == 34 && labels[32] == "ip6" && labels[33] == "arpa" {
        let mut v: u128 = 0;
        for l in labels[..32].iter().rev() {
            let d = u128::from_str_radix(l, 16).ok().filter(|_| l.len() == 1)?;
            v = (v << 4) | d;
        }
        return Some(IpAddr::V6(Ipv6Addr::from(v)));
    }
    None
}

/// The reverse name of an address (`10.96.0.1` → `1.0.96.10.in-addr.arpa.`), as `dig -x` builds it.
pub fn reverse_name(ip: IpAddr) -> Name {
    let text = match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let hex = format!("{:032x}", u128::from(v6));
            let mut parts: Vec<String> = hex.chars().rev().map(|c| c.to_string()).collect();
            parts.push("ip6.arpa".to_string());
            parts.join(".")
        }
    };
    Name::parse(&text).unwrap_or_default()
}

fn dedup(records: Vec<Record>) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::with_capacity(records.len());
    for r in records {
        if !out.iter().any(|o| o.name.eq_ignore_case(&r.name) && o.data == r.data && o.class == r.class) {
            out.push(r);
        }
    }
    out
}

/// Why the server answered nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ServerDrop {
    /// Fewer bytes than a DNS header.
    #[error("payload of {0} bytes is shorter than a dns header")]
    TooShort(usize),
    /// The QR bit is set: a response, not a query.
    #[error("payload is a dns response, not a query")]
    NotAQuery,
    /// CoreDNS is not running (its Corefile never loaded).
    #[error("coredns is not running")]
    NotRunning,
}

/// plugin/loadbalance `roundRobin`: CNAMEs first, then other records, then the shuffled
/// addresses (a draw per position, as `roundRobinShuffle` does with `dns.Id()`).
fn round_robin(records: Vec<Record>, rng: &mut SimRng) -> Vec<Record> {
    let (mut cname, mut rest, mut address) = (Vec::new(), Vec::new(), Vec::new());
    for r in records {
        match r.rtype() {
            RecordType::Cname => cname.push(r),
            RecordType::A | RecordType::Aaaa => address.push(r),
            _ => rest.push(r),
        }
    }
    let l = address.len();
    if l == 2 {
        if rng.next_u32().is_multiple_of(2) {
            address.swap(0, 1);
        }
    } else if l > 2 {
        for j in 0..l {
            let p = j + (rng.next_u32() as usize % (l - j));
            address.swap(j, p);
        }
    }
    cname.append(&mut rest);
    cname.append(&mut address);
    cname
}

/// The smallest payload size a DNS server may assume (RFC 1035 §4.2.1, RFC 6891 §6.2.3).
pub const MIN_UDP_PAYLOAD: usize = 512;

/// CoreDNS `request.SizeAndDo` + `Scrub` over UDP: the reply as it goes on the wire, sent
/// uncompressed when it fits, compressed when that is needed, and otherwise cut to the
/// client's buffer (512 without EDNS) dropping records from the end with TC set (miekg/dns
/// `Msg.Truncate`: TC when any record had to go).
pub fn wire_reply(query: &Message, mut reply: Message) -> Vec<u8> {
    let limit = match query.opt() {
        Some(opt) => usize::from(opt.class).max(MIN_UDP_PAYLOAD),
        None => MIN_UDP_PAYLOAD,
    };
    let plain = reply.encode();
    if plain.len() <= limit {
        return plain;
    }
    let packed = reply.encode_compressed();
    if packed.len() <= limit {
        return packed;
    }
    let opt = reply
        .additional
        .iter()
        .position(|r| r.rtype() == RecordType::Opt)
        .map(|i| reply.additional.remove(i));
    let (answers, authority, additional) = (
        std::mem::take(&mut reply.answers),
        std::mem::take(&mut reply.authority),
        std::mem::take(&mut reply.additional),
    );
    let total = answers.len() + authority.len() + additional.len();
    let mut kept = 0;
    let fits = |m: &Message| m.encode_compressed().len() <= limit;
    let mut trial = reply.clone();
    if let Some(o) = &opt {
        trial.additional.push(o.clone());
    }
    'sections: for (idx, section) in [answers, authority, additional].into_iter().enumerate() {
        for r in section {
            let mut next = trial.clone();
            match idx {
                0 => next.answers.push(r),
                1 => next.authority.push(r),
                _ => {
                    let at = next.additional.len() - usize::from(opt.is_some());
                    next.additional.insert(at, r);
                }
            }
            if !fits(&next) {
                break 'sections;
            }
            trial = next;
            kept += 1;
        }
    }
    trial.header.flags.tc = kept < total;
    trial.encode_compressed()
}

/// Convenience: a query for `name`/`qtype` answered by `server` (id 0, RD set, no EDNS).
pub fn ask(server: &CoreDns<'_>, name: &str, qtype: RecordType) -> Result<Message, super::name::NameError> {
    let q = Message::query(0, Name::parse(name)?, qtype);
    Ok(server.answer(&q))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn every_query_gets_a_well_formed_reply(
            labels in proptest::collection::vec("[a-z0-9_-]{1,10}", 0..7),
            suffix in proptest::sample::select(vec!["svc.cluster.local", "pod.cluster.local", "cluster.local", "in-addr.arpa", "example.com", ""]),
            qtype in proptest::sample::select(vec![1u16, 2, 5, 6, 12, 15, 16, 28, 33, 255]),
        ) {
            let mut view = ClusterDnsView::default();
            view.services.push(
                crate::dns::view::DnsService::cluster_ip("default", "web", IpAddr::from([10, 96, 0, 20]))
                    .with_port("http", crate::dns::view::Protocol::Tcp, 80),
            );
            let cfg = CoreDnsConfig::default();
            let server = CoreDns { config: &cfg, view: &view };
            let mut text = labels.join(".");
            if !suffix.is_empty() {
                if !text.is_empty() { text.push('.'); }
                text.push_str(suffix);
            }
            let Ok(name) = Name::parse(&text) else { return Ok(()) };
            let q = Message::query(9, name, RecordType::from_code(qtype));
            let reply = Message::decode(&server.answer_bytes(&q.encode()).unwrap()).unwrap();
            proptest::prop_assert_eq!(reply.header.id, 9);
            proptest::prop_assert!(reply.header.flags.qr);
            proptest::prop_assert_eq!(&reply.questions, &q.questions);
            // Negative answers from the cluster zone always carry its SOA.
            if reply.header.flags.aa && reply.answers.is_empty() {
                proptest::prop_assert_eq!(reply.authority.len(), 1);
            }
        }
    }

    #[test]
    fn corefile_is_kubeadms() {
        // As `kubectl -n kube-system describe cm coredns` shows it on a kubeadm cluster.
        let want = ".:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
";
        assert_eq!(CoreDnsConfig::default().corefile(), want);
    }

    #[test]
    fn reverse_names_round_trip() {
        let ip: IpAddr = "10.96.0.1".parse().unwrap();
        let n = reverse_name(ip);
        assert_eq!(n.to_string(), "1.0.96.10.in-addr.arpa.");
        assert_eq!(address_from_reverse(&n), Some(ip));
        let v6: IpAddr = "fd00::1".parse().unwrap();
        assert_eq!(address_from_reverse(&reverse_name(v6)), Some(v6));
        assert_eq!(address_from_reverse(&Name::parse("1.0.96.in-addr.arpa").unwrap()), None);
    }

    #[test]
    fn parse_request_follows_coredns() {
        let zone = Name::parse("cluster.local").unwrap();
        let p = |s: &str| parse_request(&Name::parse(s).unwrap(), &zone);
        let r = p("_http._tcp.web.default.svc.cluster.local").unwrap();
        assert_eq!((r.port.as_str(), r.protocol.as_str(), r.service.as_str()), ("http", "tcp", "web"));
        let r = p("kafka-0.kafka-headless.kafka.svc.cluster.local").unwrap();
        assert_eq!(r.endpoint, "kafka-0");
        assert_eq!(p("google.com.cluster.local"), Err(NameErr::InvalidRequest));
        assert_eq!(p("a.b.c.d.e.svc.cluster.local"), Err(NameErr::InvalidRequest));
        assert_eq!(p("svc.cluster.local").unwrap(), RecordRequest::default());
    }
}
