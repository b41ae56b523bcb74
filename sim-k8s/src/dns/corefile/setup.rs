//! From a parsed [`Corefile`] to the servers CoreDNS runs: each server block's keys
//! (`normalizeZone` in core/dnsserver/address.go) and its plugins set up in `plugin.cfg` order,
//! each parsing its own options as its `setup.go` does, with the same messages
//! (`plugin/kubernetes: wrong value for pods: giant_seed,  must be one of: disabled, verified,
//! insecure`; `plugin/forward: /etc/coredns/Corefile:19 - Error during parsing: Wrong argument
//! count or unexpected line ending after '.'`).
//!
//! Simulated: `kubernetes` (zones, `pods`, `ttl`, `namespaces`, `endpoint_pod_names`,
//! `fallthrough [ZONES]`, `ignore empty_service`, `noendpoints`, `labels`), `forward` (its FROM
//! zone, TO list, `policy`, `force_tcp`, `prefer_udp`, `max_fails`, `health_check`),
//! `cache` (every option), `loadbalance`, `log`, `errors`, `hosts` (inline entries), `rewrite`
//! (name rules), `autopath @kubernetes`, `template`, `reload` (its interval, read by the world),
//! `health` (its address and `lameduck`, [`HealthServer`]), `ready` (its address) and `loop`
//! ([`Server::loop_detect`]).
//! Everything else that CoreDNS accepts is accepted and named in a [`Notice`] as not simulated
//! (`prometheus`, forward's `expire`, …), never dropped silently; so
//! is what CoreDNS accepts and then does nothing with (`autopath @kubernetes` without `pods
//! verified`).

use std::net::IpAddr;

use sim_core::SimDuration;

use super::{Corefile, CorefileError, Directive, PLUGIN_ORDER, ServerBlock};
use crate::dns::coredns::autopath::{AutopathConfig, SearchSource};
use crate::dns::coredns::cache::{CacheConfig, ServeStale};
use crate::dns::coredns::hosts::HostsConfig;
use crate::dns::coredns::rewrite;
use crate::dns::coredns::template::gotmpl::Template as GoTemplate;
use crate::dns::coredns::template::{Class, Pattern as TemplatePattern, Template};
use crate::dns::coredns::{CoreDnsConfig, ForwardPolicy, ForwardTarget, Forwarder, PodMode};
use crate::dns::message::{Rcode, RecordType};
use crate::dns::name::Name;

/// The transport of a server block key (`dns://` unless written otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ServerTransport {
    /// Plain DNS over UDP and TCP.
    Dns,
    /// DNS over TLS (`tls://`).
    Tls,
    /// DNS over gRPC (`grpc://`).
    Grpc,
    /// DNS over HTTPS (`https://`).
    Https,
}

impl ServerTransport {
    fn scheme(self) -> &'static str {
        match self {
            ServerTransport::Dns => "dns",
            ServerTransport::Tls => "tls",
            ServerTransport::Grpc => "grpc",
            ServerTransport::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            ServerTransport::Dns => 53,
            ServerTransport::Tls => 853,
            ServerTransport::Grpc => 443,
            ServerTransport::Https => 443,
        }
    }
}

/// A server block key after normalisation: `dns://cluster.local.:53`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerKey {
    /// Transport.
    pub transport: ServerTransport,
    /// The zone (absolute; a CIDR key becomes its reverse zone).
    pub zone: Name,
    /// Port.
    pub port: u16,
}

impl std::fmt::Display for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.transport.scheme(), self.zone, self.port)
    }
}

/// Something in the Corefile that CoreDNS accepts and netsim does not model, or that CoreDNS
/// accepts and silently does nothing with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Line in the Corefile.
    pub line: usize,
    /// What is not simulated (`plugin/prometheus`, `plugin/forward: policy`).
    pub what: String,
    /// Which of the two.
    pub kind: NoticeKind,
}

/// What a [`Notice`] says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    /// netsim does not model it.
    NotSimulated,
    /// CoreDNS runs it and it does nothing, for this reason (CoreDNS logs nothing).
    NoEffect(String),
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            NoticeKind::NotSimulated => write!(f, "line {}: {} is not simulated", self.line, self.what),
            NoticeKind::NoEffect(why) => write!(f, "line {}: {} has no effect: {why}", self.line, self.what),
        }
    }
}

/// One server: its keys, the plugins in the order they run, and the settings they give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// Normalised keys.
    pub keys: Vec<ServerKey>,
    /// Plugin names in `plugin.cfg` order (the order a query passes them).
    pub chain: Vec<String>,
    /// The settings the simulated plugins give.
    pub config: CoreDnsConfig,
    /// The `loop` plugin is in this block: at start-up it sends `HINFO` queries for a random
    /// name to the block's address and halts the process when one comes back a third time.
    pub loop_detect: bool,
}

/// One `health [ADDRESS] { lameduck DURATION }` (plugin/health): an HTTP server answering
/// `/health` with 200 OK, and the time the process keeps serving after SIGTERM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthServer {
    /// The listen address as written (`:8080` when none is).
    pub addr: String,
    /// `lameduck`: how long `OnFinalShutdown` sleeps before the servers stop.
    pub lameduck: SimDuration,
}

/// Every server of a Corefile, and what in it is not simulated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorefileSetup {
    /// Servers in Corefile order.
    pub servers: Vec<Server>,
    /// Accepted but not simulated, in Corefile order.
    pub notices: Vec<Notice>,
    /// The `reload` plugin's check interval (`None` without `reload`: edits need a restart).
    pub reload: Option<SimDuration>,
    /// Every `health` directive, in Corefile order.
    pub health: Vec<HealthServer>,
    /// The `ready` plugin's listen addresses (one HTTP server per distinct address, as
    /// plugin/ready's `uniqAddr`), in Corefile order.
    pub ready: Vec<String>,
}

impl CorefileSetup {
    /// The server that answers a query for `name` on plain DNS port `port`: the block whose
    /// zone matches longest (core/dnsserver `ServeDNS`), or `None` (REFUSED).
    pub fn server_for(&self, name: &Name, port: u16) -> Option<&Server> {
        self.server_index(name, port).and_then(|i| self.servers.get(i))
    }

    /// The index of [`server_for`](Self::server_for)'s server.
    pub fn server_index(&self, name: &Name, port: u16) -> Option<usize> {
        self.servers
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.keys.iter().map(move |k| (i, k)))
            .filter(|(_, k)| {
                k.transport == ServerTransport::Dns && k.port == port && name.is_subdomain_of(&k.zone)
            })
            .max_by_key(|(_, k)| k.zone.label_count())
            .map(|(i, _)| i)
    }

    /// The whole process's lameduck: every `health` server's `OnFinalShutdown` sleeps its own,
    /// one after the other.
    pub fn lameduck(&self) -> SimDuration {
        self.health.iter().fold(SimDuration::ZERO, |t, h| t + h.lameduck)
    }

    /// Whether a server block listens for plain DNS on `port` (over UDP and TCP).
    pub fn serves_dns_on(&self, port: u16) -> bool {
        self.servers
            .iter()
            .flat_map(|s| &s.keys)
            .any(|k| k.transport == ServerTransport::Dns && k.port == port)
    }

    /// Whether the `prometheus` plugin's metrics server (not simulated) listens on `port`: its
    /// default address `:9153` when a block has the plugin.
    pub fn prometheus_on(&self, port: u16) -> bool {
        port == 9153 && self.servers.iter().any(|s| s.chain.iter().any(|p| p == "prometheus"))
    }

    /// What an HTTP GET of `path` on TCP `port` of a CoreDNS pod gets from the `ready` and
    /// `health` servers: `None` when neither listens there (the connection is refused), else
    /// the status code — 200 on `/ready` of a `ready` server and `/health` of a `health` one,
    /// 404 on any other path (each server has its own mux).
    pub fn http_status(&self, port: u16, path: &str) -> Option<u16> {
        let ready = self.ready.iter().any(|a| listen_port(a) == Some(port));
        let health = self.health.iter().any(|h| listen_port(&h.addr) == Some(port));
        match (ready, health) {
            (false, false) => None,
            _ if (ready && path == "/ready") || (health && path == "/health") => Some(200),
            _ => Some(404),
        }
    }

    /// Whether a `ready` server listens on TCP `port`.
    pub fn ready_on(&self, port: u16) -> bool {
        self.ready.iter().any(|a| listen_port(a) == Some(port))
    }
}

/// Sets up every server block of `corefile`. `base` carries what the cluster supplies and a
/// Corefile cannot say (the DNS service addresses, the SOA serial, the upstream's data).
pub fn setup(corefile: &Corefile, base: &CoreDnsConfig) -> Result<CorefileSetup, CorefileError> {
    let mut out = CorefileSetup {
        servers: Vec::new(),
        notices: Vec::new(),
        reload: None,
        health: Vec::new(),
        ready: Vec::new(),
    };
    let mut seen: Vec<ServerKey> = Vec::new();
    for block in &corefile.blocks {
        let mut keys = Vec::new();
        for k in &block.keys {
            let key = normalize_key(k)?;
            if seen.contains(&key) {
                return Err(CorefileError::Server(format!("cannot serve {key} - it is already defined")));
            }
            seen.push(key.clone());
            keys.push(key);
        }
        let server = setup_block(corefile, block, keys, base, &mut out)?;
        out.servers.push(server);
    }
    out.notices.sort_by_key(|n| n.line);
    Ok(out)
}

/// `normalizeZone`: `[transport://]zone[:port]`, a CIDR as its reverse zone.
fn normalize_key(key: &str) -> Result<ServerKey, CorefileError> {
    let (transport, rest) = match key.split_once("://") {
        Some(("dns", r)) => (ServerTransport::Dns, r),
        Some(("tls", r)) => (ServerTransport::Tls, r),
        Some(("grpc", r)) => (ServerTransport::Grpc, r),
        Some(("https", r)) => (ServerTransport::Https, r),
        Some((other, _)) => {
            return Err(CorefileError::Server(format!("unsupported transport: {other}://")));
        }
        None => (ServerTransport::Dns, key),
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.ends_with(']') => {
            let port = p
                .parse::<u16>()
                .map_err(|_| CorefileError::Server(format!("invalid port '{p}' in server key '{key}'")))?;
            (h, port)
        }
        _ => (rest, transport.default_port()),
    };
    let zone = if let Ok(net) = host.parse::<ipnet::IpNet>() {
        reverse_zone_of(net)
    } else {
        Name::parse(host)
            .map_err(|e| CorefileError::Server(format!("invalid zone '{host}' in server key '{key}': {e}")))?
            .to_lowercase()
    };
    Ok(ServerKey { transport, zone, port })
}

/// The reverse zone of a CIDR on an octet (nibble) boundary (`10.0.0.0/8` → `10.in-addr.arpa.`);
/// other prefix lengths round down to the enclosing boundary.
fn reverse_zone_of(net: ipnet::IpNet) -> Name {
    let text = match net.network() {
        IpAddr::V4(v4) => {
            let keep = usize::from(net.prefix_len() / 8);
            let mut parts: Vec<String> = v4.octets()[..keep].iter().rev().map(|o| o.to_string()).collect();
            parts.push("in-addr.arpa".to_string());
            parts.join(".")
        }
        IpAddr::V6(v6) => {
            let keep = usize::from(net.prefix_len() / 4);
            let hex = format!("{:032x}", u128::from(v6));
            let mut parts: Vec<String> = hex.chars().take(keep).map(|c| c.to_string()).collect();
            parts.reverse();
            parts.push("ip6.arpa".to_string());
            parts.join(".")
        }
    };
    Name::parse(&text).unwrap_or_default()
}

/// Caddy's `ArgErr`, located at `line`, for plugin `plugin`.
fn arg_err(file: &str, plugin: &str, line: usize, after: &str) -> CorefileError {
    located(file, plugin, line, &format!("Wrong argument count or unexpected line ending after '{after}'"))
}

/// Caddy's `Errf` wrapped by `plugin.Error`.
fn located(file: &str, plugin: &str, line: usize, msg: &str) -> CorefileError {
    CorefileError::Plugin {
        plugin: plugin.to_string(),
        msg: format!("{file}:{line} - Error during parsing: {msg}"),
    }
}

fn plain(plugin: &str, msg: String) -> CorefileError {
    CorefileError::Plugin { plugin: plugin.to_string(), msg }
}

fn parse_zone(z: &str) -> Option<Name> {
    if let Ok(net) = z.parse::<ipnet::IpNet>() {
        return Some(reverse_zone_of(net));
    }
    Name::parse(z).ok().map(|n| n.to_lowercase())
}

fn is_reverse(z: &Name) -> bool {
    let labels = z.labels();
    let n = labels.len();
    n >= 2
        && labels[n - 1].eq_ignore_ascii_case(b"arpa")
        && (labels[n - 2].eq_ignore_ascii_case(b"in-addr") || labels[n - 2].eq_ignore_ascii_case(b"ip6"))
}

fn setup_block(
    corefile: &Corefile,
    block: &ServerBlock,
    keys: Vec<ServerKey>,
    base: &CoreDnsConfig,
    out: &mut CorefileSetup,
) -> Result<Server, CorefileError> {
    let file = corefile.file.as_str();
    let CorefileSetup {
        notices, reload: reload_interval, health: health_servers, ready: ready_addrs, ..
    } = out;
    let mut loop_detect = false;
    let mut config = CoreDnsConfig {
        server_zones: keys.iter().map(|k| k.zone.clone()).collect(),
        kubernetes: false,
        reverse_zones: Vec::new(),
        extra_zones: Vec::new(),
        pods: PodMode::Disabled,
        ttl: 5,
        fallthrough: None,
        endpoint_pod_names: false,
        namespaces: Vec::new(),
        ignore_empty_service: false,
        noendpoints: false,
        labels: None,
        loadbalance: false,
        cache: None,
        forward: None,
        forwarders: Vec::new(),
        rewrites: Vec::new(),
        autopath: None,
        templates: Vec::new(),
        log: false,
        hosts: None,
        ..base.clone()
    };
    let mut chain = Vec::new();
    for plugin in PLUGIN_ORDER {
        let uses: Vec<&Directive> = block.directives.iter().filter(|d| d.name == *plugin).collect();
        let Some(first) = uses.first() else { continue };
        chain.push(plugin.to_string());
        let once = |uses: &[&Directive]| -> Result<(), CorefileError> {
            if uses.len() > 1 {
                return Err(plain(plugin, "this plugin can only be used once per Server Block".to_string()));
            }
            Ok(())
        };
        let mut note =
            |line: usize, what: String| notices.push(Notice { line, what, kind: NoticeKind::NotSimulated });
        match *plugin {
            "kubernetes" => {
                once(&uses)?;
                kubernetes(file, first, &keys, &mut config, &mut note)?;
            }
            "forward" => {
                for d in &uses {
                    forward(file, d, &mut config, &mut note)?;
                }
            }
            "cache" => {
                once(&uses)?;
                cache(file, first, &keys, &mut config)?;
            }
            "loadbalance" => {
                once(&uses)?;
                match first.args.as_slice() {
                    [] => {}
                    [p] if p == "round_robin" => {}
                    [p, ..] if p == "weighted" => {
                        note(first.line, "plugin/loadbalance: weighted".to_string())
                    }
                    [p, ..] => return Err(plain(plugin, format!("unknown policy: {p}"))),
                }
                config.loadbalance = true;
            }
            "log" => {
                for d in &uses {
                    if !d.args.is_empty() || d.block.is_some() {
                        note(d.line, "plugin/log: names, format and classes".to_string());
                    }
                }
                config.log = true;
            }
            "errors" => {
                once(&uses)?;
                if first.block.as_ref().is_some_and(|b| !b.is_empty()) {
                    note(first.line, "plugin/errors: consolidate".to_string());
                }
            }
            "hosts" => {
                once(&uses)?;
                config.hosts = Some(hosts(file, first, &keys, &mut note)?);
            }
            "reload" => {
                once(&uses)?;
                *reload_interval = Some(reload(file, first)?);
            }
            "health" => {
                for d in &uses {
                    health_servers.push(health(file, d)?);
                }
            }
            "ready" => {
                once(&uses)?;
                let addr = ready(file, first)?;
                if !ready_addrs.contains(&addr) {
                    ready_addrs.push(addr);
                }
            }
            "loop" => {
                once(&uses)?;
                if let Some(a) = first.args.first() {
                    return Err(arg_err(file, plugin, first.line, a));
                }
                loop_detect = true;
            }
            "template" => {
                for d in &uses {
                    let t = template(file, d, &keys, &mut note)?;
                    config.templates.push(t);
                }
            }
            "autopath" => {
                if let Some(d) = uses.last() {
                    autopath(d, block, &keys, &mut config, notices)?;
                }
            }
            "rewrite" => {
                for d in &uses {
                    // setup.go `rewriteParse`: a rule on the line, or its tokens in a block.
                    let mut args = d.args.clone();
                    if args.len() < 2 {
                        for o in d.block.iter().flatten() {
                            args.push(o.name.clone());
                            args.extend(o.args.iter().cloned());
                        }
                    }
                    match rewrite::parse_rule(&args).map_err(|e| plain(plugin, e))? {
                        rewrite::Parsed::Name(rule) => config.rewrites.push(rule),
                        rewrite::Parsed::Other(kind) => note(d.line, format!("plugin/rewrite: {kind} rules")),
                    }
                }
            }
            other => {
                for d in &uses {
                    note(d.line, format!("plugin/{other}"));
                }
            }
        }
    }
    if let Some(ap) = &config.autopath
        && ap.source == SearchSource::Kubernetes
        && config.kubernetes
        && config.pods != PodMode::Verified
        && let Some(d) = block.directives.iter().rev().find(|d| d.name == "autopath")
    {
        notices.push(Notice {
            line: d.line,
            what: "plugin/autopath @kubernetes".to_string(),
            kind: NoticeKind::NoEffect(
                "the kubernetes plugin gives a search path only with `pods verified`".to_string(),
            ),
        });
    }
    Ok(Server { keys, chain, config, loop_detect })
}

/// Go's `net.SplitHostPort`, for what the health and ready plugins check of an address: the
/// error as Go words it.
fn split_host_port(addr: &str) -> Result<(&str, &str), String> {
    let missing = |why: &str| format!("address {addr}: {why}");
    if let Some(rest) = addr.strip_prefix('[') {
        let Some(end) = rest.find(']') else { return Err(missing("missing ']' in address")) };
        let host = &rest[..end];
        return match rest[end + 1..].strip_prefix(':') {
            Some(port) if !port.contains(':') => Ok((host, port)),
            Some(_) => Err(missing("too many colons in address")),
            None if rest[end + 1..].is_empty() => Err(missing("missing port in address")),
            None => Err(missing("missing port in address")),
        };
    }
    match addr.rsplit_once(':') {
        None => Err(missing("missing port in address")),
        Some((host, _)) if host.contains(':') => Err(missing("too many colons in address")),
        Some((host, port)) => Ok((host, port)),
    }
}

/// The TCP port of a listen address (`:8181`, `127.0.0.1:8080`); `None` for a service name
/// netsim does not resolve.
fn listen_port(addr: &str) -> Option<u16> {
    split_host_port(addr).ok().and_then(|(_, p)| p.parse().ok())
}

/// plugin/health setup.go `parse`: `health [ADDRESS] { lameduck DURATION }`.
fn health(file: &str, d: &Directive) -> Result<HealthServer, CorefileError> {
    const P: &str = "health";
    let addr = match d.args.as_slice() {
        [] => ":8080".to_string(),
        [a] => {
            split_host_port(a).map_err(|e| plain(P, e))?;
            a.clone()
        }
        [.., last] => return Err(arg_err(file, P, d.line, last)),
    };
    let mut lameduck = SimDuration::ZERO;
    for o in d.block.iter().flatten() {
        match o.name.as_str() {
            "lameduck" => {
                let [text] = o.args.as_slice() else {
                    return Err(arg_err(file, P, o.line, o.args.last().unwrap_or(&o.name)));
                };
                let nanos = go_duration(text).map_err(|e| {
                    plain(P, format!("unable to parse lameduck duration value: '{text}' : {e}"))
                })?;
                lameduck = non_negative(nanos);
            }
            other => return Err(located(file, P, o.line, &format!("unknown property '{other}'"))),
        }
    }
    Ok(HealthServer { addr, lameduck })
}

/// plugin/ready setup.go `parse` (v1.11): `ready [ADDRESS]`, default `:8181`.
fn ready(file: &str, d: &Directive) -> Result<String, CorefileError> {
    const P: &str = "ready";
    match d.args.as_slice() {
        [] => Ok(":8181".to_string()),
        [a] => {
            split_host_port(a).map_err(|e| plain(P, e))?;
            Ok(a.clone())
        }
        [.., last] => Err(arg_err(file, P, d.line, last)),
    }
    .and_then(|addr| match d.block.iter().flatten().next() {
        // v1.11 reads no block: its options are not properties it knows.
        Some(o) => Err(located(file, P, o.line, &format!("unknown property '{}'", o.name))),
        None => Ok(addr),
    })
}

/// plugin/template setup.go `templateParse` for one directive.
fn template(
    file: &str,
    d: &Directive,
    keys: &[ServerKey],
    note: &mut impl FnMut(usize, String),
) -> Result<Template, CorefileError> {
    const P: &str = "template";
    let Some(class) = d.args.first() else { return Err(arg_err(file, P, d.line, &d.name)) };
    let class = Class::from_mnemonic(class)
        .ok_or_else(|| located(file, P, d.line, &format!("invalid query class {class}")))?;
    let Some(qtype) = d.args.get(1) else { return Err(arg_err(file, P, d.line, &d.args[0])) };
    // dns.StringToType: upper-case mnemonics only.
    let rtype = RecordType::from_mnemonic(qtype)
        .filter(|_| qtype.chars().all(|c| !c.is_ascii_lowercase()))
        .ok_or_else(|| located(file, P, d.line, &format!("invalid RR class {qtype}")))?;
    let mut zones = Vec::new();
    for z in &d.args[2..] {
        zones.push(parse_zone(z).ok_or_else(|| plain(P, format!("invalid zone: {z}")))?);
    }
    if zones.is_empty() {
        zones = keys.iter().map(|k| k.zone.clone()).collect();
    }
    let mut t = Template {
        zones,
        class,
        qtype: rtype,
        regex: Vec::new(),
        answer: Vec::new(),
        additional: Vec::new(),
        authority: Vec::new(),
        rcode: Rcode::NoError,
        fallthrough: None,
    };
    for o in d.block.iter().flatten() {
        let args = &o.args;
        let last = args.last().map_or(o.name.as_str(), String::as_str);
        match o.name.as_str() {
            "match" => {
                if args.is_empty() {
                    return Err(arg_err(file, P, o.line, &o.name));
                }
                for r in args {
                    if r.len() > 10_000 {
                        let msg = format!("regex pattern too long: {} > 10000", r.len());
                        return Err(located(file, P, o.line, &msg));
                    }
                    let re = regex::Regex::new(r).map_err(|e| {
                        let msg = format!("could not parse regex: {r}, {}", go_regex_error(r, &e));
                        located(file, P, o.line, &msg)
                    })?;
                    t.regex.push(TemplatePattern(re));
                }
            }
            section @ ("answer" | "additional" | "authority") => {
                if args.is_empty() {
                    return Err(arg_err(file, P, o.line, &o.name));
                }
                for a in args {
                    let tmpl = GoTemplate::parse(section, a).map_err(|e| {
                        let newline = if section == "answer" { "" } else { "\n" };
                        located(file, P, o.line, &format!("could not compile template: {last}, {e}{newline}"))
                    })?;
                    if let Some(u) = tmpl.unsupported() {
                        note(o.line, format!("plugin/template: the action {{{{ {u} }}}}"));
                    }
                    match section {
                        "answer" => t.answer.push(tmpl),
                        "additional" => t.additional.push(tmpl),
                        _ => t.authority.push(tmpl),
                    }
                }
            }
            "rcode" => {
                let Some(code) = args.first() else { return Err(arg_err(file, P, o.line, &o.name)) };
                t.rcode = rcode_from_string(code)
                    .ok_or_else(|| located(file, P, o.line, &format!("unknown rcode {code}")))?;
            }
            "fallthrough" => {
                let mut zs = Vec::new();
                for z in args {
                    zs.push(parse_zone(z).ok_or_else(|| plain(P, format!("invalid zone: {z}")))?);
                }
                t.fallthrough = Some(zs);
            }
            "ederror" => {
                if args.is_empty() || args.len() > 2 {
                    return Err(arg_err(file, P, o.line, last));
                }
                if args[0].parse::<u16>().is_err() {
                    let msg = format!(
                        "error parsing extended DNS error code {last}, strconv.ParseUint: parsing \"{}\": invalid syntax\n",
                        args[0]
                    );
                    return Err(located(file, P, o.line, &msg));
                }
                note(o.line, "plugin/template: ederror".to_string());
            }
            "var" | "expr" => note(o.line, format!("plugin/template: {}", o.name)),
            // "remove soon": read and dropped by CoreDNS itself.
            "upstream" => {}
            _ => return Err(arg_err(file, P, o.line, &o.name)),
        }
    }
    if t.regex.is_empty() {
        t.regex.push(TemplatePattern(regex::Regex::new(".*").map_err(|e| plain(P, e.to_string()))?));
    }
    Ok(t)
}

/// `dns.StringToRcode`.
fn rcode_from_string(s: &str) -> Option<Rcode> {
    Some(match s {
        "NOERROR" => Rcode::NoError,
        "FORMERR" => Rcode::FormErr,
        "SERVFAIL" => Rcode::ServFail,
        "NXDOMAIN" => Rcode::NxDomain,
        "NOTIMP" => Rcode::NotImp,
        "REFUSED" => Rcode::Refused,
        "YXDOMAIN" => Rcode::Other(6),
        "YXRRSET" => Rcode::Other(7),
        "NXRRSET" => Rcode::Other(8),
        "NOTAUTH" => Rcode::Other(9),
        "NOTZONE" => Rcode::Other(10),
        _ => return None,
    })
}

/// Go regexp's error text for what the regex crate refused (`error parsing regexp: ...`).
fn go_regex_error(pattern: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    if text.contains("unclosed group") {
        return format!("error parsing regexp: missing closing ): `{pattern}`");
    }
    if text.contains("unopened group") {
        return format!("error parsing regexp: unexpected ): `{pattern}`");
    }
    format!("error parsing regexp: invalid syntax: `{pattern}`")
}

/// plugin/autopath setup.go `autoPathParse` and its OnStartup check: `autopath [ZONE...]
/// RESOLV-CONF`, where RESOLV-CONF is `@PLUGIN` (a plugin of this server block that gives a
/// search path: `kubernetes`) or a file.
fn autopath(
    d: &Directive,
    block: &ServerBlock,
    keys: &[ServerKey],
    config: &mut CoreDnsConfig,
    notices: &mut Vec<Notice>,
) -> Result<(), CorefileError> {
    const P: &str = "autopath";
    let Some((resolv, zone_args)) = d.args.split_last() else {
        return Err(plain(P, "no resolv-conf specified".to_string()));
    };
    let mut zones = Vec::new();
    for z in zone_args {
        zones.push(parse_zone(z).ok_or_else(|| plain(P, format!("invalid zone: {z}")))?);
    }
    if zones.is_empty() {
        zones = keys.iter().map(|k| k.zone.clone()).collect();
    }
    let Some(plugin) = resolv.strip_prefix('@') else {
        // The CoreDNS container's only resolv.conf is the node's, which has no search line:
        // autopath then asks the name as it is, and nothing changes.
        if resolv == "/etc/resolv.conf" {
            notices.push(Notice {
                line: d.line,
                what: format!("plugin/autopath {resolv}"),
                kind: NoticeKind::NoEffect("the file has no search domains".to_string()),
            });
            return Ok(());
        }
        return Err(plain(
            P,
            format!("failed to parse \"{resolv}\": open {resolv}: no such file or directory"),
        ));
    };
    // OnStartup: a plugin that is not in the block gives no handler, and autopath nothing.
    if !block.directives.iter().any(|x| x.name == plugin) {
        notices.push(Notice {
            line: d.line,
            what: format!("plugin/autopath {resolv}"),
            kind: NoticeKind::NoEffect(format!("no plugin/{plugin} in this server block")),
        });
        return Ok(());
    }
    match plugin {
        "kubernetes" => {
            config.autopath = Some(AutopathConfig { zones, source: SearchSource::Kubernetes });
            Ok(())
        }
        "erratic" => {
            notices.push(Notice {
                line: d.line,
                what: "plugin/autopath @erratic".to_string(),
                kind: NoticeKind::NotSimulated,
            });
            Ok(())
        }
        other => Err(plain(P, format!("{other} does not implement the AutoPather interface"))),
    }
}

/// plugin/kubernetes setup.go `ParseStanza`.
fn kubernetes(
    file: &str,
    d: &Directive,
    keys: &[ServerKey],
    config: &mut CoreDnsConfig,
    note: &mut impl FnMut(usize, String),
) -> Result<(), CorefileError> {
    const P: &str = "kubernetes";
    let zones: Vec<Name> = if d.args.is_empty() {
        keys.iter().map(|k| k.zone.clone()).collect()
    } else {
        let mut zs = Vec::new();
        for z in &d.args {
            zs.push(parse_zone(z).ok_or_else(|| plain(P, format!("invalid zone: {z}")))?);
        }
        zs
    };
    let Some(primary) = zones.iter().position(|z| !is_reverse(z)) else {
        return Err(plain(P, "non-reverse zone name must be used".to_string()));
    };
    config.kubernetes = true;
    config.zone = zones[primary].clone();
    config.extra_zones = zones
        .iter()
        .enumerate()
        .filter(|(i, z)| *i != primary && !is_reverse(z))
        .map(|(_, z)| z.clone())
        .collect();
    config.reverse_zones = zones.iter().filter(|z| is_reverse(z)).cloned().collect();
    for o in d.block.iter().flatten() {
        let args = &o.args;
        match o.name.as_str() {
            "endpoint_pod_names" => {
                if let Some(a) = args.first() {
                    return Err(arg_err(file, P, o.line, a));
                }
                config.endpoint_pod_names = true;
            }
            "pods" => match args.as_slice() {
                [m] => {
                    config.pods = match m.as_str() {
                        "disabled" => PodMode::Disabled,
                        "insecure" => PodMode::Insecure,
                        "verified" => PodMode::Verified,
                        _ => {
                            return Err(plain(
                                P,
                                format!(
                                    "wrong value for pods: {m},  must be one of: disabled, verified, insecure"
                                ),
                            ));
                        }
                    }
                }
                _ => return Err(arg_err(file, P, o.line, args.last().unwrap_or(&o.name))),
            },
            "namespaces" => {
                if args.is_empty() {
                    return Err(arg_err(file, P, o.line, &o.name));
                }
                for a in args {
                    if !config.namespaces.contains(a) {
                        config.namespaces.push(a.clone());
                    }
                }
            }
            "fallthrough" => {
                let mut zs = Vec::new();
                for z in args {
                    zs.push(parse_zone(z).ok_or_else(|| plain(P, format!("invalid zone: {z}")))?);
                }
                config.fallthrough = Some(zs);
            }
            "ttl" => {
                let Some(a) = args.first() else { return Err(arg_err(file, P, o.line, &o.name)) };
                let t: i64 = a
                    .parse()
                    .map_err(|_| plain(P, format!("strconv.Atoi: parsing \"{a}\": invalid syntax")))?;
                if !(0..=3600).contains(&t) {
                    return Err(located(file, P, o.line, &format!("ttl must be in range [0, 3600]: {t}")));
                }
                config.ttl = u32::try_from(t).unwrap_or(5);
            }
            "noendpoints" => {
                if let Some(a) = args.first() {
                    return Err(arg_err(file, P, o.line, a));
                }
                config.noendpoints = true;
            }
            "ignore" => match args.first().map(String::as_str) {
                Some("empty_service") => config.ignore_empty_service = true,
                Some(other) => return Err(plain(P, format!("unable to parse ignore value: '{other}'"))),
                None => {}
            },
            "labels" => {
                if args.is_empty() {
                    return Err(arg_err(file, P, o.line, &o.name));
                }
                let text = args.join(" ");
                let sel = crate::kubectl::get::Selector::parse(&text)
                    .map_err(|e| plain(P, format!("unable to parse label selector value: '{text}': {e}")))?;
                config.labels = Some(sel);
            }
            "namespace_labels" => {
                if args.is_empty() {
                    return Err(arg_err(file, P, o.line, &o.name));
                }
                note(o.line, format!("plugin/kubernetes: {}", o.name));
            }
            "endpoint" | "tls" | "kubeconfig" | "multicluster" | "startup_timeout" => {
                if args.is_empty() {
                    return Err(arg_err(file, P, o.line, &o.name));
                }
                note(o.line, format!("plugin/kubernetes: {}", o.name));
            }
            other => return Err(located(file, P, o.line, &format!("unknown property '{other}'"))),
        }
    }
    if !config.namespaces.is_empty() && d.block.iter().flatten().any(|o| o.name == "namespace_labels") {
        return Err(located(file, P, d.line, "namespaces and namespace_labels cannot both be set"));
    }
    Ok(())
}

/// plugin/hosts setup.go `hostsParse`: `hosts [FILE [ZONES...]] { IP NAME...; ttl; no_reverse;
/// reload; fallthrough }`.
fn hosts(
    file: &str,
    d: &Directive,
    keys: &[ServerKey],
    note: &mut impl FnMut(usize, String),
) -> Result<HostsConfig, CorefileError> {
    const P: &str = "hosts";
    let mut args = d.args.as_slice();
    // The first argument is the hosts file (default /etc/hosts); entries from a file are not
    // read, only inline ones.
    let path = args.first().map_or("/etc/hosts", String::as_str);
    note(d.line, format!("plugin/hosts: reading {path}"));
    if !args.is_empty() {
        args = &args[1..];
    }
    let mut zones = Vec::new();
    for z in args {
        zones.push(parse_zone(z).ok_or_else(|| plain(P, format!("invalid zone: {z}")))?);
    }
    if zones.is_empty() {
        zones = keys.iter().map(|k| k.zone.clone()).collect();
    }
    let mut h = HostsConfig { zones, entries: Vec::new(), ttl: 3600, no_reverse: false, fallthrough: None };
    for o in d.block.iter().flatten() {
        match o.name.as_str() {
            "fallthrough" => {
                let mut zs = Vec::new();
                for z in &o.args {
                    zs.push(parse_zone(z).ok_or_else(|| plain(P, format!("invalid zone: {z}")))?);
                }
                h.fallthrough = Some(zs);
            }
            "no_reverse" => h.no_reverse = true,
            "ttl" => {
                let Some(a) = o.args.first() else { return Err(arg_err(file, P, o.line, &o.name)) };
                let t: i64 = a.parse().map_err(|_| plain(P, format!("ttl needs a number of second: {a}")))?;
                if !(1..=65535).contains(&t) {
                    return Err(plain(P, format!("ttl provided is invalid: {t}")));
                }
                h.ttl = u32::try_from(t).unwrap_or(3600);
            }
            "reload" => note(o.line, "plugin/hosts: reload".to_string()),
            other => {
                let Ok(ip) = other.parse::<IpAddr>() else {
                    return Err(located(file, P, o.line, &format!("unknown property '{other}'")));
                };
                for n in &o.args {
                    let name = Name::parse(n).map_err(|e| plain(P, format!("{e}")))?;
                    h.entries.push((name, ip));
                }
            }
        }
    }
    Ok(h)
}

/// plugin/forward setup.go `parseStanza`.
fn forward(
    file: &str,
    d: &Directive,
    config: &mut CoreDnsConfig,
    note: &mut impl FnMut(usize, String),
) -> Result<(), CorefileError> {
    const P: &str = "forward";
    let Some(from) = d.args.first() else { return Err(arg_err(file, P, d.line, &d.name)) };
    let to = &d.args[1..];
    if to.is_empty() {
        return Err(arg_err(file, P, d.line, from));
    }
    let from = parse_zone(from).ok_or_else(|| plain(P, format!("unable to normalize '{from}'")))?;
    let mut targets = Vec::new();
    for t in to {
        let host = t.strip_prefix("dns://").or_else(|| t.strip_prefix("tls://")).unwrap_or(t);
        let target = if let Ok(ip) = host.parse::<IpAddr>() {
            ForwardTarget::Addr(std::net::SocketAddr::new(ip, 53))
        } else if let Ok(a) = host.parse::<std::net::SocketAddr>() {
            ForwardTarget::Addr(a)
        } else if host.starts_with('/') {
            ForwardTarget::ResolvConf(host.to_string())
        } else {
            return Err(plain(P, format!("not an IP address or file: \"{t}\"")));
        };
        targets.push(target);
    }
    let forwards = config.forward.get_or_insert_with(Vec::new);
    if forwards.contains(&from) {
        return Err(plain(P, format!("duplicate forward zone: {from}")));
    }
    forwards.push(from.clone());
    // With simulated upstream hosts the forwarder sends packets and these options are honoured.
    let live = config.node_nameservers.is_some();
    let mut fwd = Forwarder { to: targets, max_concurrent: 0, ..Forwarder::kubeadm() };
    fwd.from = from;
    for o in d.block.iter().flatten() {
        let args = &o.args;
        match o.name.as_str() {
            "max_concurrent" | "max_fails" | "expire" | "tls_servername" => {
                if args.is_empty() {
                    return Err(arg_err(file, P, o.line, &o.name));
                }
                if o.name == "max_concurrent" || o.name == "max_fails" {
                    let n: Result<i64, _> = args[0].parse();
                    let Ok(n) = n else {
                        return Err(plain(
                            P,
                            format!("strconv.Atoi: parsing \"{}\": invalid syntax", args[0]),
                        ));
                    };
                    if n < 0 {
                        return Err(plain(P, format!("{} can't be negative: {n}", o.name)));
                    }
                    let n = u32::try_from(n).unwrap_or(u32::MAX);
                    if o.name == "max_fails" {
                        fwd.max_fails = n;
                    } else {
                        fwd.max_concurrent = n;
                    }
                    // Without simulated upstream hosts an answer comes back in the instant it
                    // was asked for, so no limit is ever reached: max_concurrent holds as it is.
                    if !live && o.name == "max_fails" {
                        note(o.line, format!("plugin/forward: {}", o.name));
                    }
                } else {
                    note(o.line, format!("plugin/forward: {}", o.name));
                }
            }
            "health_check" => {
                let Some(text) = args.first() else { return Err(arg_err(file, P, o.line, &o.name)) };
                let interval = parse_go_duration(text)
                    .ok_or_else(|| plain(P, format!("time: invalid duration \"{text}\"")))?;
                fwd.health_check.interval = interval;
                fwd.health_check.domain = Name::root();
                let mut rest = args[1..].iter();
                while let Some(opt) = rest.next() {
                    match opt.as_str() {
                        "no_rec" => fwd.health_check.recursion_desired = false,
                        "domain" => {
                            let Some(d) = rest.next() else { return Err(arg_err(file, P, o.line, opt)) };
                            fwd.health_check.domain = Name::parse(d)
                                .map_err(|_| plain(P, format!("health_check: invalid domain name {d}")))?
                                .to_lowercase();
                        }
                        other => return Err(plain(P, format!("health_check: unknown option {other}"))),
                    }
                }
                if !live {
                    note(o.line, "plugin/forward: health_check".to_string());
                }
            }
            "policy" => match args.first().map(String::as_str) {
                Some(p @ ("random" | "round_robin" | "sequential")) => {
                    fwd.policy = match p {
                        "round_robin" => ForwardPolicy::RoundRobin,
                        "sequential" => ForwardPolicy::Sequential,
                        _ => ForwardPolicy::Random,
                    };
                    if !live {
                        note(o.line, "plugin/forward: policy".to_string());
                    }
                }
                Some(p) => return Err(plain(P, format!("unknown policy '{p}'"))),
                None => return Err(arg_err(file, P, o.line, &o.name)),
            },
            "force_tcp" | "prefer_udp" if live => {
                if o.name == "force_tcp" {
                    fwd.force_tcp = true;
                } else {
                    fwd.prefer_udp = true;
                }
            }
            "except" | "force_tcp" | "prefer_udp" | "tls" | "next" | "failfast_all_unhealthy_upstreams" => {
                note(o.line, format!("plugin/forward: {}", o.name));
            }
            other => return Err(located(file, P, o.line, &format!("unknown property '{other}'"))),
        }
    }
    config.forwarders.push(fwd);
    Ok(())
}

/// plugin/cache setup.go `cacheParse` (v1.11.1), with its error messages.
fn cache(
    file: &str,
    d: &Directive,
    keys: &[ServerKey],
    config: &mut CoreDnsConfig,
) -> Result<(), CorefileError> {
    const P: &str = "cache";
    let zones: Vec<Name> = keys.iter().map(|k| k.zone.clone()).collect();
    let mut c = CacheConfig::new(zones);
    let mut args = d.args.as_slice();
    // cache [ttl] [zones..]: a first argument that is a number is the TTL.
    if let Some(first) = args.first()
        && let Ok(t) = first.parse::<i64>()
    {
        if t <= 0 {
            return Err(plain(P, format!("cache TTL can not be zero or negative: {t}")));
        }
        let t = u32::try_from(t).unwrap_or(u32::MAX);
        c.success.max_ttl = t;
        c.denial.max_ttl = t;
        args = &args[1..];
    }
    // OriginsFromArgsOrServerBlock: zones that do not normalise are skipped.
    if !args.is_empty() {
        c.zones = args.iter().filter_map(|z| parse_zone(z)).collect();
    }
    let atoi = |t: &str| -> Result<i64, CorefileError> {
        t.parse::<i64>().map_err(|_| plain(P, format!("strconv.Atoi: parsing \"{t}\": invalid syntax")))
    };
    let duration = |t: &str| -> Result<i128, CorefileError> { go_duration(t).map_err(|e| plain(P, e)) };
    for o in d.block.iter().flatten() {
        let args = &o.args;
        // Caddy's ArgErr names the last token read.
        let last = args.last().unwrap_or(&o.name);
        match o.name.as_str() {
            "success" | "denial" => {
                let Some(cap) = args.first() else { return Err(arg_err(file, P, o.line, &o.name)) };
                let class = if o.name == "success" { &mut c.success } else { &mut c.denial };
                class.capacity = usize::try_from(atoi(cap)?).unwrap_or(0);
                if let Some(t) = args.get(1) {
                    let t = atoi(t)?;
                    if t <= 0 {
                        return Err(plain(P, format!("cache TTL can not be zero or negative: {t}")));
                    }
                    class.max_ttl = u32::try_from(t).unwrap_or(u32::MAX);
                    if let Some(m) = args.get(2) {
                        let m = atoi(m)?;
                        if m < 0 {
                            return Err(plain(P, format!("cache min TTL can not be negative: {m}")));
                        }
                        class.min_ttl = u32::try_from(m).unwrap_or(u32::MAX);
                    }
                }
            }
            "prefetch" => {
                if args.is_empty() || args.len() > 3 {
                    return Err(arg_err(file, P, o.line, last));
                }
                let amount = atoi(&args[0])?;
                if amount < 0 {
                    return Err(plain(P, format!("prefetch amount should be positive: {amount}")));
                }
                c.prefetch = u32::try_from(amount).unwrap_or(u32::MAX);
                if let Some(t) = args.get(1) {
                    c.prefetch_duration = non_negative(duration(t)?);
                }
                if let Some(pct) = args.get(2) {
                    let Some(num) = pct.strip_suffix('%') else {
                        let x = pct.chars().last().unwrap_or_default();
                        return Err(plain(
                            P,
                            format!("last character of percentage should be `%`, but is: '{x}'"),
                        ));
                    };
                    let num = atoi(num)?;
                    if !(10..=90).contains(&num) {
                        return Err(plain(P, format!("percentage should fall in range [10, 90]: {num}")));
                    }
                    c.prefetch_percentage = u32::try_from(num).unwrap_or(10);
                }
            }
            "serve_stale" => {
                if args.len() > 2 {
                    return Err(arg_err(file, P, o.line, last));
                }
                let mut stale = ServeStale { up_to: SimDuration::from_secs(3600), verify: false };
                if let Some(t) = args.first() {
                    let t = duration(t)?;
                    if t < 0 {
                        return Err(plain(P, "invalid negative duration for serve_stale".to_string()));
                    }
                    stale.up_to = non_negative(t);
                }
                if let Some(mode) = args.get(1) {
                    let mode = mode.to_lowercase();
                    if mode != "immediate" && mode != "verify" {
                        return Err(plain(P, format!("invalid value for serve_stale refresh mode: {mode}")));
                    }
                    stale.verify = mode == "verify";
                }
                c.serve_stale = Some(stale);
            }
            "servfail" => {
                if args.len() != 1 {
                    return Err(arg_err(file, P, o.line, last));
                }
                let t = duration(&args[0])?;
                if t < 0 {
                    return Err(plain(P, "invalid negative ttl for servfail".to_string()));
                }
                if t > 300_000_000_000 {
                    return Err(plain(
                        P,
                        "caching SERVFAIL responses over 5 minutes is not permitted".to_string(),
                    ));
                }
                c.servfail = non_negative(t);
            }
            "disable" => {
                let Some(kind) = args.first() else { return Err(arg_err(file, P, o.line, &o.name)) };
                let mut zones = Vec::new();
                for z in &args[1..] {
                    let nz = parse_zone(z).ok_or_else(|| plain(P, format!("invalid disabled zone: {z}")))?;
                    zones.push(nz);
                }
                if zones.is_empty() {
                    zones.push(Name::root());
                }
                match kind.as_str() {
                    "denial" => c.disable_denial = zones,
                    "success" => c.disable_success = zones,
                    _ => {
                        return Err(plain(
                            P,
                            "cache type for disable must be \"success\" or \"denial\"".to_string(),
                        ));
                    }
                }
            }
            "keepttl" => {
                if !args.is_empty() {
                    return Err(arg_err(file, P, o.line, last));
                }
                c.keepttl = true;
            }
            _ => return Err(arg_err(file, P, o.line, &o.name)),
        }
    }
    config.cache = Some(c);
    Ok(())
}

fn non_negative(nanos: i128) -> SimDuration {
    SimDuration::from_nanos(u64::try_from(nanos.max(0)).unwrap_or(u64::MAX))
}

/// plugin/reload setup.go: `reload [INTERVAL] [JITTER]`, default 30 s; the interval must be at
/// least 2 s.
fn reload(file: &str, d: &Directive) -> Result<SimDuration, CorefileError> {
    const P: &str = "reload";
    if d.args.len() > 2 {
        return Err(arg_err(file, P, d.line, d.args.last().map_or("reload", String::as_str)));
    }
    let Some(text) = d.args.first() else { return Ok(SimDuration::from_secs(30)) };
    let interval =
        parse_go_duration(text).ok_or_else(|| plain(P, format!("time: invalid duration \"{text}\"")))?;
    if interval < SimDuration::from_secs(2) {
        return Err(plain(P, format!("interval value must be greater or equal to 2s, was: {text}")));
    }
    Ok(interval)
}

/// Go's `time.ParseDuration` with its error messages (`time: missing unit in duration "20"`):
/// a signed duration in nanoseconds.
fn go_duration(text: &str) -> Result<i128, String> {
    let quoted = format!("\"{text}\"");
    let invalid = || format!("time: invalid duration {quoted}");
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    let mut rest = rest;
    while !rest.is_empty() {
        let end = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let number = &rest[..end];
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
            return Err(invalid());
        }
        rest = &rest[end..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {quoted}"));
        }
        let scale: i128 = match unit {
            "h" => 3_600_000_000_000,
            "m" => 60_000_000_000,
            "s" => 1_000_000_000,
            "ms" => 1_000_000,
            "us" | "µs" | "μs" => 1_000,
            "ns" => 1,
            _ => return Err(format!("time: unknown unit \"{unit}\" in duration {quoted}")),
        };
        let n: i128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| invalid())? };
        total += n * scale;
        let mut s = scale;
        for d in frac.bytes() {
            s /= 10;
            total += i128::from(d - b'0') * s;
        }
        rest = &rest[unit_len..];
    }
    Ok(if negative { -total } else { total })
}

/// A Go duration (`time.ParseDuration`): numbers with units, fractions allowed (`30s`, `1m30s`,
/// `500ms`, `0.5s`).
fn parse_go_duration(text: &str) -> Option<SimDuration> {
    let mut total: u64 = 0;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(SimDuration::ZERO);
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let number = &rest[..digits];
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && frac.is_empty() {
            return None;
        }
        let n: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let nanos: u64 = match &rest[..unit_len] {
            "h" => 3_600_000_000_000,
            "m" => 60_000_000_000,
            "s" => 1_000_000_000,
            "ms" => 1_000_000,
            "us" | "µs" => 1_000,
            "ns" => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(nanos)?)?;
        // The fraction, to the nanosecond.
        let mut scale = nanos;
        for d in frac.bytes() {
            if !d.is_ascii_digit() {
                return None;
            }
            scale /= 10;
            total = total.checked_add(u64::from(d - b'0') * scale)?;
        }
        rest = &rest[unit_len..];
    }
    Some(SimDuration::from_nanos(total))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::dns::coredns::KUBEADM_COREFILE;

    fn run(text: &str) -> Result<CorefileSetup, CorefileError> {
        let c = Corefile::parse("Corefile", text, &BTreeMap::new())?;
        setup(&c, &CoreDnsConfig::default())
    }

    #[test]
    fn kubeadms_corefile_is_the_default_config() {
        let s = run(KUBEADM_COREFILE).unwrap();
        assert_eq!(s.servers.len(), 1);
        assert_eq!(s.servers[0].config, CoreDnsConfig::default());
        assert_eq!(s.reload, Some(SimDuration::from_secs(30)));
        assert_eq!(
            s.servers[0].chain,
            [
                "reload",
                "ready",
                "health",
                "prometheus",
                "errors",
                "loadbalance",
                "cache",
                "kubernetes",
                "loop",
                "forward"
            ]
        );
        let notes: Vec<String> = s.notices.iter().map(|n| n.to_string()).collect();
        assert_eq!(notes, ["line 12: plugin/prometheus is not simulated"]);
        assert_eq!(
            s.health,
            [HealthServer { addr: ":8080".to_string(), lameduck: SimDuration::from_secs(5) }]
        );
        assert_eq!(s.lameduck(), SimDuration::from_secs(5));
        assert_eq!(s.ready, [":8181"]);
        assert!(s.servers[0].loop_detect);
        assert_eq!(s.http_status(8181, "/ready"), Some(200));
        assert_eq!(s.http_status(8181, "/"), Some(404));
        assert_eq!(s.http_status(8080, "/health"), Some(200));
        assert_eq!(s.http_status(8182, "/ready"), None);
    }

    /// plugin/health setup_test.go, plugin/ready setup_test.go and plugin/loop setup_test.go
    /// (v1.11.1): what parses, and the errors of what does not.
    #[test]
    fn health_ready_and_loop_set_up_as_their_setup_go_does() {
        let ok = |t: &str| run(t).unwrap_or_else(|e| panic!("{t}: {e}"));
        let err = |t: &str| run(t).map(|_| ()).unwrap_err().to_string();
        // health: `health`, `health localhost:1234`, `health bla:a` (a port name), lameduck.
        assert_eq!(ok(". {\n health\n}").health[0].addr, ":8080");
        assert_eq!(ok(". {\n health localhost:1234\n}").health[0].addr, "localhost:1234");
        assert_eq!(ok(". {\n health bla:a\n}").health[0].addr, "bla:a");
        let l = ok(". {\n health localhost:1234 {\n  lameduck 4s\n }\n}");
        assert_eq!(l.lameduck(), SimDuration::from_secs(4));
        assert_eq!(l.http_status(1234, "/health"), Some(200));
        assert_eq!(err(". {\n health bla\n}"), "plugin/health: address bla: missing port in address");
        assert_eq!(
            err(". {\n health localhost:1234 {\n  lameduck a\n }\n}"),
            "plugin/health: unable to parse lameduck duration value: 'a' : time: invalid duration \"a\""
        );
        assert_eq!(
            err(". {\n health localhost:1234 {\n  lamedudk 4\n }\n}"),
            "plugin/health: Corefile:3 - Error during parsing: unknown property 'lamedudk'"
        );
        assert_eq!(
            err(". {\n health localhost:1234 {\n  lameduck 4 4\n }\n}"),
            "plugin/health: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after '4'"
        );
        assert_eq!(
            err(". {\n health a:1 b:2\n}"),
            "plugin/health: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'b:2'"
        );
        // ready: `ready`, `ready localhost:1234`, `ready :4123`; errors.
        assert_eq!(ok(". {\n ready\n}").ready, [":8181"]);
        assert_eq!(ok(". {\n ready localhost:1234\n}").ready, ["localhost:1234"]);
        assert_eq!(ok(". {\n ready :4123\n}").http_status(4123, "/ready"), Some(200));
        assert_eq!(err(". {\n ready 1234\n}"), "plugin/ready: address 1234: missing port in address");
        assert_eq!(
            err(". {\n ready a:1 b:2\n}"),
            "plugin/ready: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'b:2'"
        );
        assert_eq!(
            err(". {\n ready\n ready\n}"),
            "plugin/ready: this plugin can only be used once per Server Block"
        );
        // Two blocks on one ready address: one server (uniqAddr).
        assert_eq!(ok("a {\n ready\n}\nb {\n ready\n}").ready, [":8181"]);
        // loop: no arguments, once per block.
        assert!(ok(". {\n loop\n}").servers[0].loop_detect);
        assert!(!ok(". {\n whoami\n}").servers[0].loop_detect);
        assert_eq!(
            err(". {\n loop argument\n}"),
            "plugin/loop: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'argument'"
        );
        assert_eq!(
            err(". {\n loop\n loop\n}"),
            "plugin/loop: this plugin can only be used once per Server Block"
        );
    }

    #[test]
    fn server_keys_are_normalised() {
        let k = |s: &str| normalize_key(s).unwrap().to_string();
        assert_eq!(k("."), "dns://.:53");
        assert_eq!(k(".:5353"), "dns://.:5353");
        assert_eq!(k("Cluster.Local"), "dns://cluster.local.:53");
        assert_eq!(k("tls://example.org"), "tls://example.org.:853");
        assert_eq!(k("10.0.0.0/8"), "dns://10.in-addr.arpa.:53");
        assert_eq!(k("10.96.0.0/16:53"), "dns://96.10.in-addr.arpa.:53");
        let e = run(".:53 {\n}\n.:53 {\n}\n").unwrap_err();
        assert_eq!(e.to_string(), "cannot serve dns://.:53 - it is already defined");
    }

    #[test]
    fn server_for_picks_the_longest_zone() {
        let s = run(".:53 {\n forward . 8.8.8.8\n}\nexample.org:53 {\n log\n}\n").unwrap();
        let n = |t: &str| Name::parse(t).unwrap();
        assert!(s.server_for(&n("www.example.org"), 53).unwrap().config.log);
        assert!(!s.server_for(&n("www.example.com"), 53).unwrap().config.log);
        assert!(s.server_for(&n("www.example.com"), 5353).is_none());
    }

    #[test]
    fn reload_intervals() {
        assert_eq!(run(". {\n reload 10s\n}").unwrap().reload, Some(SimDuration::from_secs(10)));
        assert_eq!(
            run(". {\n reload 1s\n}").unwrap_err().to_string(),
            "plugin/reload: interval value must be greater or equal to 2s, was: 1s"
        );
        assert_eq!(run(". {\n whoami\n}").unwrap().reload, None);
    }

    #[test]
    fn rewrite_rules_are_read_in_order_and_their_errors_worded_as_coredns() {
        let s = run(". {\n rewrite name exact a.corp b.corp\n rewrite {\n  continue name suffix .x .y\n }\n rewrite ttl a.corp 5\n}")
            .unwrap();
        assert_eq!(s.servers[0].config.rewrites.len(), 2);
        assert_eq!(s.notices[0].what, "plugin/rewrite: ttl rules");
        assert_eq!(
            run(". {\n rewrite name regex ( x\n}").unwrap_err().to_string(),
            "plugin/rewrite: invalid regex matching pattern: ("
        );
    }

    #[test]
    fn autopath_is_set_up_as_coredns_sets_it_up() {
        let kube = |pods: &str| {
            format!(".:53 {{\n autopath @kubernetes\n kubernetes cluster.local {{\n  pods {pods}\n }}\n}}\n")
        };
        let s = run(&kube("verified")).unwrap();
        assert!(s.servers[0].config.autopath.is_some());
        assert!(s.notices.is_empty());
        let s = run(&kube("insecure")).unwrap();
        assert_eq!(
            s.notices[0].to_string(),
            "line 2: plugin/autopath @kubernetes has no effect: the kubernetes plugin gives a search path only with `pods verified`"
        );
        assert_eq!(
            run(". {\n autopath\n}").unwrap_err().to_string(),
            "plugin/autopath: no resolv-conf specified"
        );
        assert_eq!(
            run(". {\n autopath @hosts\n hosts\n}").unwrap_err().to_string(),
            "plugin/autopath: hosts does not implement the AutoPather interface"
        );
        assert_eq!(
            run(". {\n autopath my-resolv.conf\n}").unwrap_err().to_string(),
            "plugin/autopath: failed to parse \"my-resolv.conf\": open my-resolv.conf: no such file or directory"
        );
        let s = run(". {\n autopath @kubernetes\n}").unwrap();
        assert!(s.servers[0].config.autopath.is_none());
        assert_eq!(
            s.notices[0].to_string(),
            "line 2: plugin/autopath @kubernetes has no effect: no plugin/kubernetes in this server block"
        );
    }

    #[test]
    fn forward_health_check_options() {
        let base = CoreDnsConfig {
            node_nameservers: Some(vec![std::net::Ipv4Addr::new(10, 32, 1, 53)]),
            ..CoreDnsConfig::default()
        };
        let c = Corefile::parse(
            "Corefile",
            ". {\n forward . 8.8.8.8 {\n  max_fails 3\n  health_check 0.25s no_rec domain example.org\n }\n}",
            &BTreeMap::new(),
        )
        .unwrap();
        let s = setup(&c, &base).unwrap();
        let f = &s.servers[0].config.forwarders[0];
        assert_eq!(f.max_fails, 3);
        assert_eq!(f.health_check.interval, SimDuration::from_millis(250));
        assert!(!f.health_check.recursion_desired);
        assert_eq!(f.health_check.domain.to_string(), "example.org.");
        assert!(s.notices.is_empty());
        assert_eq!(
            run(". {\n forward . 8.8.8.8 {\n  health_check 1x\n }\n}").unwrap_err().to_string(),
            "plugin/forward: time: invalid duration \"1x\""
        );
        assert_eq!(
            run(". {\n forward . 8.8.8.8 {\n  health_check 1s bogus\n }\n}").unwrap_err().to_string(),
            "plugin/forward: health_check: unknown option bogus"
        );
        assert_eq!(
            run(". {\n forward . 8.8.8.8 {\n  max_fails -1\n }\n}").unwrap_err().to_string(),
            "plugin/forward: max_fails can't be negative: -1"
        );
    }

    fn cache_of(text: &str) -> Result<CacheConfig, String> {
        run(text).map(|s| s.servers[0].config.cache.clone().unwrap()).map_err(|e| e.to_string())
    }

    /// plugin/cache setup_test.go `TestSetup`: (ncap, pcap, nttl, minnttl, pttl, minpttl,
    /// prefetch) after each directive, or the error.
    #[test]
    fn cache_setup_as_setup_test_go() {
        let d = super::super::super::coredns::cache::DEFAULT_CAPACITY;
        let ok = [
            ("cache", (d, d, 1800, 5, 3600, 5, 0)),
            ("cache {\n}", (d, d, 1800, 5, 3600, 5, 0)),
            ("cache example.nl {\n success 10\n}", (d, 10, 1800, 5, 3600, 5, 0)),
            ("cache example.nl {\n success 10 1800 30\n}", (d, 10, 1800, 5, 1800, 30, 0)),
            ("cache example.nl {\n success 10\n denial 10 15\n}", (10, 10, 15, 5, 3600, 5, 0)),
            ("cache example.nl {\n success 10\n denial 10 15 2\n}", (10, 10, 15, 2, 3600, 5, 0)),
            ("cache 25 example.nl {\n success 10\n denial 10 15\n}", (10, 10, 15, 5, 25, 5, 0)),
            ("cache 25 example.nl {\n success 10\n denial 10 15 5\n}", (10, 10, 15, 5, 25, 5, 0)),
            ("cache aaa example.nl", (d, d, 1800, 5, 3600, 5, 0)),
            ("cache {\n prefetch 10\n}", (d, d, 1800, 5, 3600, 5, 10)),
        ];
        for (text, want) in ok {
            let c = cache_of(&format!(". {{\n {text}\n}}")).unwrap();
            let got = (
                c.denial.capacity,
                c.success.capacity,
                c.denial.max_ttl,
                c.denial.min_ttl,
                c.success.max_ttl,
                c.success.min_ttl,
                c.prefetch,
            );
            assert_eq!(got, want, "{text}");
        }
        let errs = [
            (
                "cache example.nl {\n success\n denial 10 15\n}",
                "plugin/cache: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'success'",
            ),
            (
                "cache example.nl {\n success 15\n denial aaa\n}",
                "plugin/cache: strconv.Atoi: parsing \"aaa\": invalid syntax",
            ),
            (
                "cache example.nl {\n positive 15\n negative aaa\n}",
                "plugin/cache: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'positive'",
            ),
            ("cache 0 example.nl", "plugin/cache: cache TTL can not be zero or negative: 0"),
            ("cache -1 example.nl", "plugin/cache: cache TTL can not be zero or negative: -1"),
            ("cache 1 example.nl {\n prefetch -1\n}", "plugin/cache: prefetch amount should be positive: -1"),
            ("cache 1 example.nl {\n prefetch 0 blurp\n}", "plugin/cache: time: invalid duration \"blurp\""),
            ("cache\n cache", "plugin/cache: this plugin can only be used once per Server Block"),
            ("cache {\n success 10 0\n}", "plugin/cache: cache TTL can not be zero or negative: 0"),
            ("cache {\n denial 10 5 -1\n}", "plugin/cache: cache min TTL can not be negative: -1"),
            ("cache {\n prefetch 1 1m 5%\n}", "plugin/cache: percentage should fall in range [10, 90]: 5"),
            (
                "cache {\n prefetch 1 1m 50\n}",
                "plugin/cache: last character of percentage should be `%`, but is: '0'",
            ),
            (
                "cache {\n prefetch 1 1m 50% 4\n}",
                "plugin/cache: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after '4'",
            ),
            (
                "cache {\n keepttl 1\n}",
                "plugin/cache: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after '1'",
            ),
        ];
        for (text, want) in errs {
            assert_eq!(cache_of(&format!(". {{\n {text}\n}}")).unwrap_err(), want, "{text}");
        }
        let c = cache_of(". {\n cache 30 {\n  prefetch 2 10m 20%\n  keepttl\n }\n}").unwrap();
        assert_eq!(
            (c.prefetch, c.prefetch_duration, c.prefetch_percentage, c.keepttl),
            (2, SimDuration::from_secs(600), 20, true)
        );
        // The zones: the server block's, or the arguments after the TTL.
        assert_eq!(cache_of("example.org {\n cache\n}").unwrap().zones[0].to_string(), "example.org.");
        assert_eq!(cache_of(". {\n cache 10 Example.NET\n}").unwrap().zones[0].to_string(), "example.net.");
    }

    /// setup_test.go `TestServeStale`, `TestServfail`, `TestDisable`, `TestKeepttl`.
    #[test]
    fn cache_setup_of_the_other_options() {
        let stale = |opt: &str| {
            cache_of(&format!(". {{\n cache {{\n  {opt}\n }}\n}}"))
                .map(|c| c.serve_stale.map(|s| (s.up_to, s.verify)))
        };
        let h = |n| SimDuration::from_secs(n);
        assert_eq!(stale("serve_stale"), Ok(Some((h(3600), false))));
        assert_eq!(stale("serve_stale 20m"), Ok(Some((h(1200), false))));
        assert_eq!(stale("serve_stale 1h20m"), Ok(Some((h(4800), false))));
        assert_eq!(stale("serve_stale 0m"), Ok(Some((h(0), false))));
        assert_eq!(stale("serve_stale 0"), Ok(Some((h(0), false))));
        assert_eq!(stale("serve_stale 0 verify"), Ok(Some((h(0), true))));
        assert_eq!(stale("serve_stale 0 immediate"), Ok(Some((h(0), false))));
        assert_eq!(stale("serve_stale 0 VERIFY"), Ok(Some((h(0), true))));
        assert_eq!(
            stale("serve_stale 20").unwrap_err(),
            "plugin/cache: time: missing unit in duration \"20\""
        );
        assert_eq!(
            stale("serve_stale -20m").unwrap_err(),
            "plugin/cache: invalid negative duration for serve_stale"
        );
        assert_eq!(stale("serve_stale aa").unwrap_err(), "plugin/cache: time: invalid duration \"aa\"");
        assert_eq!(
            stale("serve_stale 1m nono").unwrap_err(),
            "plugin/cache: invalid value for serve_stale refresh mode: nono"
        );
        assert_eq!(
            stale("serve_stale 0 after nono").unwrap_err(),
            "plugin/cache: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'nono'"
        );
        let opt = |o: &str| cache_of(&format!(". {{\n cache {{\n  {o}\n }}\n}}"));
        assert_eq!(opt("servfail 0").unwrap().servfail, SimDuration::ZERO);
        assert_eq!(opt("servfail 30s").unwrap().servfail, h(30));
        assert_eq!(
            opt("servfail 1s 1s").unwrap_err(),
            "plugin/cache: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after '1s'"
        );
        assert_eq!(opt("servfail 10").unwrap_err(), "plugin/cache: time: missing unit in duration \"10\"");
        assert_eq!(opt("servfail -1s").unwrap_err(), "plugin/cache: invalid negative ttl for servfail");
        assert_eq!(
            opt("servfail 6m").unwrap_err(),
            "plugin/cache: caching SERVFAIL responses over 5 minutes is not permitted"
        );
        let c = opt("disable success").unwrap();
        assert_eq!(c.disable_success, [Name::root()]);
        let c = opt("disable denial example.com example.org").unwrap();
        let zones: Vec<String> = c.disable_denial.iter().map(|z| z.to_string()).collect();
        assert_eq!(zones, ["example.com.", "example.org."]);
        assert_eq!(
            opt("disable").unwrap_err(),
            "plugin/cache: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'disable'"
        );
        assert_eq!(
            opt("disable invalid").unwrap_err(),
            "plugin/cache: cache type for disable must be \"success\" or \"denial\""
        );
        assert!(opt("keepttl").unwrap().keepttl);
        assert!(
            run(". {\n cache {\n  serve_stale\n  prefetch 1\n  servfail 1s\n }\n}")
                .unwrap()
                .notices
                .is_empty()
        );
    }
}
