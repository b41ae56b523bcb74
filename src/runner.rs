//! Running a scenario: build the cluster, apply the manifests, let it settle, then run each
//! step and print it as a terminal session (prompt, command, output), checking expectations.
//! The transcript is a pure function of the scenario and its seed.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use sim_core::SimDuration;
use sim_k8s::api::Object;
use sim_k8s::cluster::build::ProxySettings;
use sim_k8s::cluster::exec::ExecOutput;
use sim_k8s::cluster::facade::{Cluster, SETTLE_LIMIT, Target};
use sim_k8s::cluster::faults::Fault;
use sim_k8s::cluster::traffic::{TrafficRun, TrafficSpec};
use sim_k8s::cluster::{ClusterConfig, ExternalHostConfig, NodeConfig, NodeRole};
use sim_k8s::manifest::{self, Source};

use crate::diag::{Diagnostic, Diagnostics};
use crate::html_report::{Topology, TracedConnection};
use crate::scenario::{Action, ClusterSpec, Expect, Scenario};
use crate::traffic::{Mark, Report};

/// The outcome of one scenario run.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The transcript.
    pub transcript: String,
    /// Failed expectations, one message each.
    pub failures: Vec<String>,
    /// The traffic steps' reports, in the order they finished (for `--plots`).
    pub traffic: Vec<Report>,
    /// The trace steps' connections with the topology at the time, in order (for `--html`).
    pub traces: Vec<TracedConnection>,
    /// The cluster at the end of the run (for `--html`).
    pub topology: Topology,
}

impl RunResult {
    /// True when every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// `cluster.upstreamResolvers[i]` as the cluster takes it; every mistake is a diagnostic with
/// its field path.
fn upstream_resolver(
    file: &str,
    i: usize,
    r: &crate::scenario::UpstreamResolverSpec,
    d: &mut Diagnostics,
) -> Option<sim_k8s::dns::upstream::ResolverConfig> {
    use sim_k8s::dns::upstream::{
        Action, Behaviour, DEFAULT_NEGATIVE_TTL, DEFAULT_RECORD_TTL, ResolverConfig, parse_record, zone_soa,
    };
    let at = format!("upstreamResolvers[{i}]");
    let err = |what: String| Diagnostic::plain(file.to_string(), format!("cluster.{at}.{what}"));
    let before = d.0.len();
    let ip = parse_v4(file, &format!("{at}.ip"), &r.ip).map_err(|e| d.push(e)).ok();
    let mut data = sim_k8s::dns::Upstream::default();
    for (z, zone) in r.zones.iter().enumerate() {
        let apex = match sim_k8s::dns::Name::parse(&zone.zone) {
            Ok(n) => n,
            Err(e) => {
                d.push(err(format!("zones[{z}].zone: {:?}: {e}", zone.zone)));
                continue;
            }
        };
        match zone_soa(&apex, zone.negative_ttl.unwrap_or(DEFAULT_NEGATIVE_TTL)) {
            Ok(soa) => data = data.with_record(soa),
            Err(e) => d.push(err(format!("zones[{z}].zone: {:?}: {e}", zone.zone))),
        }
        for (k, rec) in zone.records.iter().enumerate() {
            let ttl = rec.ttl.or(zone.ttl).unwrap_or(DEFAULT_RECORD_TTL);
            match parse_record(&apex, &rec.name, &rec.rtype, &rec.value, ttl) {
                Ok(record) => data = data.with_record(record),
                Err(e) => d.push(err(format!("zones[{z}].records[{k}]: {e}"))),
            }
        }
    }
    let mut behaviours = Vec::new();
    for (k, b) in r.behaviours.iter().enumerate() {
        let name = sim_k8s::dns::upstream::NamePattern::parse(&b.name)
            .map_err(|e| d.push(err(format!("behaviours[{k}].name: {:?}: {e}", b.name))));
        let action = match b.answer.as_deref() {
            None => Ok(None),
            Some(a) => Action::parse(a).map(Some).ok_or_else(|| {
                d.push(err(format!("behaviours[{k}].answer: {a:?}: expected one of {}", Action::NAMES)))
            }),
        };
        let delay = match b.delay.as_deref() {
            None => Ok(sim_core::SimDuration::ZERO),
            Some(t) => crate::scenario::parse_duration(t)
                .ok_or_else(|| d.push(err(format!("behaviours[{k}].delay: invalid duration {t:?}")))),
        };
        if b.answer.is_none() && b.delay.is_none() {
            d.push(err(format!("behaviours[{k}]: give an answer, a delay, or both")));
            continue;
        }
        if let (Ok(name), Ok(action), Ok(delay)) = (name, action, delay) {
            behaviours.push(Behaviour { name, action, delay });
        }
    }
    if d.0.len() > before {
        return None;
    }
    Some(ResolverConfig { name: r.name.clone(), ip: ip?, data, behaviours })
}

fn parse_v4(file: &str, what: &str, s: &str) -> Result<Ipv4Addr, Diagnostic> {
    s.trim().parse().map_err(|_| {
        Diagnostic::plain(file.to_string(), format!("cluster.{what}: invalid IPv4 address {s:?}"))
    })
}

/// An interface address with its length (`192.168.50.10/24`: host bits are the point).
fn parse_net_exact(file: &str, what: &str, s: &str) -> Result<Ipv4Net, Diagnostic> {
    s.trim().parse().map_err(|_| {
        Diagnostic::plain(
            file.to_string(),
            format!("cluster.{what}: invalid address {s:?}: expected e.g. 192.168.50.10/24 or 10.32.1.158"),
        )
    })
}

fn parse_net(file: &str, what: &str, s: &str) -> Result<Ipv4Net, Diagnostic> {
    let n: Ipv4Net = s.trim().parse().map_err(|_| {
        Diagnostic::plain(
            file.to_string(),
            format!("cluster.{what}: invalid CIDR {s:?}: expected e.g. 10.244.0.0/16"),
        )
    })?;
    if n.trunc() != n {
        return Err(Diagnostic::plain(
            file.to_string(),
            format!("cluster.{what}: {s} has host bits set: did you mean {}?", n.trunc()),
        ));
    }
    Ok(n)
}

/// Parses `30000-32767`.
pub fn parse_port_range(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.trim().split_once('-')?;
    let (a, b): (u16, u16) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a > 0 && a <= b).then_some((a, b))
}

/// Parses an IP pool: `203.0.113.10-203.0.113.20` or a CIDR.
fn parse_pool(s: &str) -> Option<Vec<Ipv4Addr>> {
    if let Some((a, b)) = s.split_once('-') {
        let (a, b): (Ipv4Addr, Ipv4Addr) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        let (a, b) = (u32::from(a), u32::from(b));
        if a > b || b - a > 65_536 {
            return None;
        }
        return Some((a..=b).map(Ipv4Addr::from).collect());
    }
    let n: Ipv4Net = s.trim().parse().ok()?;
    Some(n.hosts().take(65_536).collect())
}

/// Gives a `cluster.KEY...` diagnostic the line and column of KEY's value in `text`.
fn locate(text: &str, d: Diagnostic) -> Diagnostic {
    let Some(rest) = d.message.strip_prefix("cluster.") else { return d };
    let key: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    let needle = format!("{key}:");
    let Some(in_cluster) = text.lines().position(|l| l.starts_with("cluster:")) else { return d };
    for (n, line) in text.lines().enumerate().skip(in_cluster + 1) {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            break;
        }
        if let Some(c) = line.find(&needle) {
            let col = line[c + needle.len()..]
                .find(|ch: char| ch != ' ')
                .map_or(c + 1, |v| c + needle.len() + v + 1);
            return Diagnostic { line: Some(n as u64 + 1), column: Some(col as u64), ..d };
        }
    }
    d
}

/// The cluster a scenario asks for, with diagnostics located in the scenario's text.
pub fn cluster_config_located(
    file: &str,
    text: &str,
    spec: &ClusterSpec,
) -> Result<ClusterConfig, Diagnostics> {
    cluster_config(file, spec).map_err(|d| Diagnostics(d.0.into_iter().map(|x| locate(text, x)).collect()))
}

/// Parses `listens` keys (`tcp/3306: mysql`).
fn parse_listens(
    file: &str,
    what: &str,
    listens: &indexmap::IndexMap<String, String>,
    d: &mut Diagnostics,
) -> Vec<(sim_net::wire::Protocol, u16, String)> {
    let mut out = Vec::new();
    for (k, image) in listens {
        let parsed = k.split_once('/').and_then(|(p, port)| {
            let proto = match p {
                "tcp" => sim_net::wire::Protocol::Tcp,
                "udp" => sim_net::wire::Protocol::Udp,
                _ => return None,
            };
            Some((proto, port.parse::<u16>().ok()?))
        });
        match parsed {
            Some((proto, port)) => out.push((proto, port, image.clone())),
            None => d.push(Diagnostic::plain(
                file.into(),
                format!("cluster.{what}.listens: invalid key {k:?}: expected tcp/PORT or udp/PORT"),
            )),
        }
    }
    out
}

/// The proxy modes netsim simulates, as `--proxy-mode` lists them.
pub const PROXY_MODES: &str = "iptables, ipvs, nftables";

/// A kube-proxy mode by name (`iptables`, `ipvs`, `nftables`); anything else is an error
/// naming the valid modes.
pub fn parse_proxy_mode(s: &str) -> Result<sim_k8s::kube_proxy::ProxyMode, String> {
    use sim_k8s::kube_proxy::ProxyMode;
    match s {
        "iptables" | "" => Ok(ProxyMode::Iptables),
        "ipvs" => Ok(ProxyMode::Ipvs),
        "nftables" => Ok(ProxyMode::Nftables),
        other => Err(format!("unknown proxy mode {other:?}; valid modes: {PROXY_MODES}")),
    }
}

/// The cluster a scenario asks for: the default cluster with the scenario's overrides.
pub fn cluster_config(file: &str, spec: &ClusterSpec) -> Result<ClusterConfig, Diagnostics> {
    let mut c = ClusterConfig::default_cluster();
    let mut d = Diagnostics::default();
    let mut check = |r: Result<(), Diagnostic>| {
        if let Err(e) = r {
            d.push(e);
        }
    };
    if let Some(len) = spec.node_prefix_len {
        check(if (8..=30).contains(&len) {
            Ok(())
        } else {
            Err(Diagnostic::plain(
                file.into(),
                format!("cluster.nodePrefixLen: {len} is not between 8 and 30"),
            ))
        });
    }
    if !spec.nodes.is_empty() {
        let mut nodes = Vec::new();
        for (i, n) in spec.nodes.iter().enumerate() {
            let role = match n.role.as_deref() {
                Some("control-plane") | Some("master") => NodeRole::ControlPlane,
                Some("worker") => NodeRole::Worker,
                None if i == 0 => NodeRole::ControlPlane,
                None => NodeRole::Worker,
                Some(other) => {
                    d.push(Diagnostic::plain(
                        file.into(),
                        format!("cluster.nodes[{i}].role: unsupported value {other:?}: expected \"control-plane\" or \"worker\""),
                    ));
                    NodeRole::Worker
                }
            };
            let listens = parse_listens(file, &format!("nodes[{i}]"), &n.listens, &mut d);
            let mut addresses = Vec::new();
            for (j, a) in n.addresses.iter().enumerate() {
                let parsed = if a.contains('/') {
                    parse_net_exact(file, &format!("nodes[{i}].addresses[{j}]"), a)
                } else {
                    parse_v4(file, &format!("nodes[{i}].addresses[{j}]"), a)
                        .map(|ip| Ipv4Net::new(ip, 32).unwrap_or_default())
                };
                match parsed {
                    Ok(net) => addresses.push(net),
                    Err(e) => d.push(e),
                }
            }
            match parse_v4(file, &format!("nodes[{i}].ip"), &n.ip) {
                Ok(ip) => nodes.push(NodeConfig {
                    name: n.name.clone(),
                    ip,
                    role,
                    labels: n.labels.clone(),
                    listens,
                    pod_cidr: None,
                    addresses,
                }),
                Err(e) => d.push(e),
            }
        }
        c.nodes = nodes;
    }
    if let Some(first) = c.nodes.first() {
        let len = spec.node_prefix_len.unwrap_or(24);
        c.node_network = Ipv4Net::new(first.ip, len).map(|n| n.trunc()).unwrap_or(c.node_network);
    }
    if let Some(s) = &spec.pod_cidr {
        match parse_net(file, "podCIDR", s) {
            Ok(n) => c.cluster_cidr = n,
            Err(e) => d.push(e),
        }
    }
    if let Some(s) = &spec.service_cidr {
        match parse_net(file, "serviceCIDR", s) {
            Ok(n) => c.service_cidr = n,
            Err(e) => d.push(e),
        }
    }
    if let Some(s) = &spec.node_port_range {
        match parse_port_range(s) {
            Some(r) => c.node_port_range = r,
            None => d.push(Diagnostic::plain(
                file.into(),
                format!("cluster.nodePortRange: invalid range {s:?}: expected FIRST-LAST, e.g. 30000-32767"),
            )),
        }
    }
    if let Some(b) = &spec.bridge {
        c.bridge = b.clone();
    }
    if !spec.external_hosts.is_empty() {
        let mut hosts = Vec::new();
        for (i, h) in spec.external_hosts.iter().enumerate() {
            let ip = match parse_v4(file, &format!("externalHosts[{i}].ip"), &h.ip) {
                Ok(ip) => ip,
                Err(e) => {
                    d.push(e);
                    continue;
                }
            };
            let listens = parse_listens(file, &format!("externalHosts[{i}]"), &h.listens, &mut d);
            hosts.push(ExternalHostConfig { name: h.name.clone(), ip, listens });
        }
        c.external_hosts = hosts;
    }
    for (name, ip) in &spec.upstream_dns {
        match parse_v4(file, &format!("upstreamDNS[{name}]"), ip) {
            Ok(ip) => {
                c.upstream_dns.insert(name.clone(), ip);
            }
            Err(e) => d.push(e),
        }
    }
    for (i, r) in spec.upstream_resolvers.iter().enumerate() {
        if let Some(resolver) = upstream_resolver(file, i, r, &mut d) {
            c.upstream_resolvers.push(resolver);
        }
    }
    if let Some(lb) = &spec.load_balancer_provider {
        match parse_pool(&lb.pool) {
            Some(p) => c.lb_pool = p,
            None => d.push(Diagnostic::plain(
                file.into(),
                format!(
                    "cluster.loadBalancerProvider.pool: invalid pool {:?}: expected FIRST-LAST or a CIDR",
                    lb.pool
                ),
            )),
        }
        if let Some(hc) = &lb.health_check {
            let h = &mut c.lb_health;
            let mut duration = |field: &str, v: &Option<String>, out: &mut sim_core::SimDuration| {
                if let Some(v) = v {
                    match crate::scenario::parse_duration(v).filter(|d| d.as_nanos() > 0) {
                        Some(x) => *out = x,
                        None => d.push(Diagnostic::plain(
                            file.into(),
                            format!(
                                "cluster.loadBalancerProvider.healthCheck.{field}: invalid duration {v:?}: expected e.g. 8s or 500ms"
                            ),
                        )),
                    }
                }
            };
            duration("interval", &hc.interval, &mut h.interval);
            duration("timeout", &hc.timeout, &mut h.timeout);
            for (field, v, out) in [
                ("healthyThreshold", hc.healthy_threshold, &mut h.healthy_threshold),
                ("unhealthyThreshold", hc.unhealthy_threshold, &mut h.unhealthy_threshold),
            ] {
                match v {
                    Some(0) => d.push(Diagnostic::plain(
                        file.into(),
                        format!("cluster.loadBalancerProvider.healthCheck.{field}: must be at least 1"),
                    )),
                    Some(n) => *out = n,
                    None => {}
                }
            }
            if let Some(path) = &hc.path {
                if path.starts_with('/') {
                    h.path = path.clone();
                } else {
                    d.push(Diagnostic::plain(
                        file.into(),
                        format!("cluster.loadBalancerProvider.healthCheck.path: {path:?} must start with /"),
                    ));
                }
            }
            if h.timeout > h.interval {
                d.push(Diagnostic::plain(
                    file.into(),
                    "cluster.loadBalancerProvider.healthCheck: timeout must not be longer than interval"
                        .to_string(),
                ));
            }
        }
    }
    if let Some(dom) = &spec.cluster_domain {
        c.cluster_domain = dom.trim_end_matches('.').to_string();
    }
    if let Some(dns) = spec.core_dns {
        c.core_dns = dns;
    }
    if let Some(m) = &spec.proxy_mode {
        match parse_proxy_mode(m) {
            Ok(mode) => c.proxy_mode = Some(mode),
            Err(e) => d.push(Diagnostic::plain(file.into(), format!("cluster.proxyMode: {e}"))),
        }
    }
    if let Some(d0) = spec.docker0 {
        c.docker0 = d0;
    }
    match spec.iptables_backend.as_deref() {
        None => {}
        Some("legacy") => c.iptables_backend = sim_net::netfilter::Backend::Legacy,
        Some("nft") => c.iptables_backend = sim_net::netfilter::Backend::Nft,
        Some(other) => d.push(Diagnostic::plain(
            file.into(),
            format!("cluster.iptablesBackend: unknown backend {other:?}: expected legacy or nft"),
        )),
    }
    match spec.conntrack_nat_clash.as_deref() {
        None => {}
        Some("insert") => c.nat_clash = sim_net::conntrack::NatClash::Insert,
        Some("drop") => c.nat_clash = sim_net::conntrack::NatClash::Drop,
        Some(other) => d.push(Diagnostic::plain(
            file.into(),
            format!("cluster.conntrackNatClash: unknown behaviour {other:?}: expected insert or drop"),
        )),
    }
    match spec.nat_port_search.as_deref() {
        None => {}
        Some("random") => c.nat_port_search = sim_net::nat::PortSearch::Random,
        Some("rover") => c.nat_port_search = sim_net::nat::PortSearch::rover(),
        Some(other) => d.push(Diagnostic::plain(
            file.into(),
            format!("cluster.natPortSearch: unknown search {other:?}: expected random or rover"),
        )),
    }
    if let Some(rf) = spec.iptables_random_fully {
        c.iptables_random_fully = rf;
    }
    if let Some(v) = spec.kube_proxy_conntrack_cleanup.as_deref() {
        match sim_k8s::kube_proxy::conntrack::UdpCleanup::parse(v) {
            Ok(how) => c.kube_proxy_udp_cleanup = how,
            Err(e) => {
                d.push(Diagnostic::plain(file.into(), format!("cluster.kubeProxyConntrackCleanup: {e}")))
            }
        }
    }
    match spec.node_cpus {
        None => {}
        Some(0) => d.push(Diagnostic::plain(file.into(), "cluster.nodeCPUs: must be at least 1".to_string())),
        Some(n) => c.node_cpus = n,
    }
    match spec.conntrack_max {
        Some(m) if i32::try_from(m).is_err() => d.push(Diagnostic::plain(
            file.into(),
            format!("cluster.conntrackMax: {m} is more than the kernel takes (2147483647)"),
        )),
        Some(m) => c.conntrack_max = usize::try_from(m).ok(),
        None => {}
    }
    if let Some(i) = &spec.ingress {
        match sim_k8s::ingress::IngressAddon::parse(i) {
            Ok(addon) => c.ingress = Some(addon),
            Err(e) => d.push(Diagnostic::plain(file.into(), format!("cluster.ingress: {e}"))),
        }
    }
    if let Some(g) = &spec.gateway {
        match sim_k8s::gateway::GatewayAddon::parse(g) {
            Ok(addon) => c.gateway = Some(addon),
            Err(e) => d.push(Diagnostic::plain(file.into(), format!("cluster.gateway: {e}"))),
        }
    }
    for (i, n) in c.nodes.iter().enumerate() {
        if !c.node_network.contains(&n.ip) {
            d.push(Diagnostic::plain(
                file.into(),
                format!("cluster.nodes[{i}].ip: {} is not on the node network {}", n.ip, c.node_network),
            ));
        }
    }
    if d.is_empty() { Ok(c) } else { Err(d) }
}

/// The manifests the cluster's settings add before the user's: the ingress controller's
/// upstream deploy.yaml for `cluster.ingress`, the Gateway API CRDs and the controller's
/// manifest for `cluster.gateway`.
pub fn addon_sources(config: &ClusterConfig) -> Vec<Source> {
    let mut out: Vec<Source> = config
        .ingress
        .map(|addon| {
            let (name, text) = addon.manifest();
            Source::text(name, text)
        })
        .into_iter()
        .collect();
    if let Some(g) = config.gateway {
        out.extend(g.manifests().iter().map(|(name, text)| Source::text(name, text)));
    }
    out
}

/// Manifest sources of a scenario, in order, after the cluster's add-ons.
fn manifest_sources(s: &Scenario, config: &ClusterConfig) -> Vec<Source> {
    let base = s.path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let mut out = addon_sources(config);
    for (i, (_, m)) in s.manifests.iter().enumerate() {
        if let Some(f) = &m.file {
            out.push(Source::Path(base.join(f)));
        }
        if let Some(text) = &m.inline {
            out.push(Source::text(&format!("{}#manifests[{i}]", s.path.display()), text));
        }
    }
    out
}

/// Points an error in an inline manifest at the scenario file: `lab.yaml#manifests[2]:6:22`
/// becomes `lab.yaml:LINE:COLUMN` by finding where the block's text sits in the file.
fn relocate(s: &Scenario, message: String) -> String {
    let prefix = format!("{}#manifests[", s.path.display());
    let Some(rest) = message.strip_prefix(&prefix) else { return message };
    let parse = || -> Option<String> {
        let (idx, rest) = rest.split_once("]:")?;
        let i: usize = idx.parse().ok()?;
        let (line, rest) = rest.split_once(':')?;
        let (col, tail) = rest.split_once(':')?;
        let (line, col): (usize, usize) = (line.parse().ok()?, col.parse().ok()?);
        let (entry_line, m) = s.manifests.get(i)?;
        let text = m.inline.as_ref()?;
        let first = text.lines().next()?;
        // The block's first line is the first scenario line after the entry holding it.
        let lines: Vec<&str> = s.text.lines().collect();
        let start = (*entry_line as usize..lines.len()).find(|&n| lines[n].trim_start() == first)?;
        let indent = lines[start].len() - lines[start].trim_start().len();
        Some(format!("{}:{}:{}:{tail}", s.path.display(), start + line, col + indent))
    };
    parse().unwrap_or(message)
}

/// kube-proxy settings from a KubeProxyConfiguration document, if one was given.
pub fn proxy_settings<'a>(objects: impl IntoIterator<Item = &'a Object>) -> ProxySettings {
    let mut p = ProxySettings::default();
    for o in objects {
        if let Object::KubeProxyConfiguration(k) = o {
            p = sim_k8s::cluster::build::proxy_settings_from(k);
        }
    }
    p
}

/// Applies a KubeletConfiguration's DNS settings (`clusterDNS`, `clusterDomain`, `resolvConf`)
/// to every node's kubelet (the last document wins, as one `--config` file per kubelet). The
/// CoreDNS zone follows `clusterDomain` unless the cluster section names its own
/// `clusterDomain`, as kubeadm's `networking.dnsDomain` sets both. The entries were validated
/// as IPs when loaded.
pub fn apply_kubelet_dns<'a>(
    config: &mut ClusterConfig,
    cluster_domain_given: bool,
    objects: impl IntoIterator<Item = &'a Object>,
) {
    for o in objects {
        let Object::KubeletConfiguration(k) = o else { continue };
        if let Some(ips) = &k.cluster_dns {
            config.kubelet_dns.cluster_dns = Some(ips.iter().filter_map(|ip| ip.parse().ok()).collect());
        }
        if let Some(d) = k.cluster_domain.as_deref().filter(|d| !d.is_empty()) {
            let d = d.trim_end_matches('.').to_string();
            if !cluster_domain_given {
                config.cluster_domain = d.clone();
            }
            config.kubelet_dns.cluster_domain = Some(d);
        }
        if let Some(r) = &k.resolv_conf {
            config.kubelet_dns.resolv_conf = Some(r.clone());
        }
    }
}

/// One line per KubeletConfiguration naming the settings it has that netsim does not simulate.
pub fn kubelet_not_simulated(loaded: &manifest::LoadOutcome) -> Vec<String> {
    loaded
        .objects
        .iter()
        .filter_map(|l| match &l.value {
            Object::KubeletConfiguration(k) if !k.other.is_empty() => Some(format!(
                "{}: KubeletConfiguration: not simulated: {} (only clusterDNS, clusterDomain and resolvConf are applied)",
                l.origin.file,
                k.other.join(", ")
            )),
            _ => None,
        })
        .collect()
}

/// The service CIDR a `ServiceCIDR` object (networking.k8s.io/v1) among the manifests declares:
/// its first IPv4 CIDR, as the API server's allocator uses it.
pub fn service_cidr_from<'a>(objects: impl IntoIterator<Item = &'a Object>) -> Option<Ipv4Net> {
    objects.into_iter().find_map(|o| match o {
        Object::ServiceCidr(c) => c.spec.cidrs.iter().find_map(|s| s.parse::<Ipv4Net>().ok()),
        _ => None,
    })
}

/// Loads the scenario's manifests and builds its cluster (both may fail with diagnostics).
pub fn prepare(s: &Scenario, seed: u64) -> Result<(Cluster, String), Diagnostics> {
    let file = s.path.display().to_string();
    let config = cluster_config_located(&file, &s.text, &s.cluster)?;
    let loaded = manifest::load(&manifest_sources(s, &config));
    if !loaded.errors.is_empty() {
        return Err(Diagnostics(
            loaded.errors.iter().map(|e| Diagnostic::raw(relocate(s, e.to_string()))).collect(),
        ));
    }
    manifest::budget::check_objects(
        &loaded.objects,
        config.nodes.len() as u64,
        manifest::budget::DEFAULT_MAX_OBJECTS,
    )
    .map_err(|e| Diagnostics::single(Diagnostic::plain(file.clone(), e)))?;
    let (cluster, took) =
        build_cluster(config, &s.cluster, &loaded, seed, &file, NodeObjects::Apply, |m| relocate(s, m))?;
    let mut header = String::new();
    for n in &loaded.not_simulated {
        let _ = writeln!(header, "# {n}");
    }
    for f in loaded.ignored.iter().filter(|f| f.changes_behaviour()) {
        let _ = writeln!(header, "# {f}");
    }
    for line in kubelet_not_simulated(&loaded) {
        let _ = writeln!(header, "# {line}");
    }
    let _ = writeln!(header, "# cluster settled {} after the manifests were applied", fmt_duration(took));
    Ok((cluster, header))
}

/// kube-proxy's own validation of every KubeProxyConfiguration among the manifests
/// (`pkg/proxy/apis/config/validation`), in the mode the cluster runs (a `--proxy-mode` flag
/// or the cluster's `proxyMode` wins over the document's `mode`), before the cluster starts:
/// every error at its field's file:line:column.
fn validate_proxy_configs(
    config: &ClusterConfig,
    loaded: &manifest::LoadOutcome,
    locate: &impl Fn(String) -> String,
) -> Result<(), Diagnostics> {
    use sim_k8s::api::proxy_config::ProxyMode as Api;
    use sim_k8s::kube_proxy::ProxyMode;
    let mut configs: Vec<_> = loaded
        .objects
        .iter()
        .filter(|l| matches!(l.value, Object::KubeProxyConfiguration(_) | Object::KubeletConfiguration(_)))
        .cloned()
        .collect();
    if configs.is_empty() {
        return Ok(());
    }
    if let Some(mode) = config.proxy_mode {
        for l in &mut configs {
            if let Object::KubeProxyConfiguration(k) = &mut l.value {
                k.mode = Some(match mode {
                    ProxyMode::Iptables => Api::Iptables,
                    ProxyMode::Ipvs => Api::Ipvs,
                    ProxyMode::Nftables => Api::Nftables,
                });
            }
        }
    }
    let errors = sim_k8s::apiserver::lint(&configs);
    if errors.is_empty() {
        return Ok(());
    }
    Err(Diagnostics(errors.iter().map(|e| Diagnostic::raw(locate(format!("{e}")))).collect()))
}

/// What [`build_cluster`] does with Node objects among the manifests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeObjects {
    /// Apply them like any object (a scenario's nodes come from its `cluster:` section).
    Apply,
    /// Leave them out: they already defined the cluster's nodes (`-f` with a cluster dump).
    DefinedTheNodes,
}

/// Builds a cluster from loaded manifests: kube-proxy's settings from a KubeProxyConfiguration
/// document, the kubelet's DNS settings from a KubeletConfiguration, the service CIDR from a
/// ServiceCIDR object (unless the cluster section `given` names one), then
/// every other object applied and the cluster settled. `label` names the source in a build
/// error; `locate` rewrites an error's position. Returns the cluster and how long the
/// manifests took to settle.
pub fn build_cluster(
    mut config: ClusterConfig,
    given: &ClusterSpec,
    loaded: &manifest::LoadOutcome,
    seed: u64,
    label: &str,
    nodes: NodeObjects,
    locate: impl Fn(String) -> String,
) -> Result<(Cluster, SimDuration), Diagnostics> {
    // Borrowed, not copied: the manifests' objects are read here, and copied only into the store.
    let objects = || loaded.objects.iter().map(|l| &l.value);
    validate_proxy_configs(&config, loaded, &locate)?;
    let proxy = proxy_settings(objects());
    // The cluster's add-ons (`cluster.ingress`) are installed, and ready, before the user's
    // manifests are applied, as on a cluster that came with them: an Ingress then meets a
    // controller whose admission webhook answers.
    let addon_files: Vec<String> = addon_sources(&config)
        .iter()
        .filter_map(|s| match s {
            Source::Text { name, .. } => Some(name.clone()),
            Source::Path(_) => None,
        })
        .collect();
    apply_kubelet_dns(&mut config, given.cluster_domain.is_some(), objects());
    if given.service_cidr.is_none()
        && let Some(c) = service_cidr_from(objects())
    {
        config.service_cidr = c;
    }
    let mut cluster = Cluster::new(config, &proxy, seed)
        .map_err(|e| Diagnostics::single(Diagnostic::plain(label.to_string(), e)))?;
    // A dump's running pods carry their addresses: they go in before the cluster's own
    // add-ons (CoreDNS) start, so no add-on is given an address a dumped pod already has.
    if nodes == NodeObjects::Apply {
        cluster.settle(SETTLE_LIMIT);
    }
    let applicable: Vec<_> = loaded
        .objects
        .iter()
        .filter(|l| match l.value {
            Object::KubeProxyConfiguration(_) | Object::KubeletConfiguration(_) => false,
            Object::Node(_) => nodes == NodeObjects::Apply,
            _ => true,
        })
        .cloned()
        .collect();
    let mut errors = Diagnostics::default();
    let (addons, applicable): (Vec<_>, Vec<_>) =
        applicable.into_iter().partition(|l| addon_files.contains(&l.origin.file));
    let mut reports = Vec::new();
    if !addons.is_empty() {
        reports.extend(cluster.apply(&addons));
        cluster.settle(SETTLE_LIMIT);
    }
    reports.extend(cluster.apply(&applicable));
    for r in reports.iter().filter(|r| r.result.is_err()) {
        for e in &r.located {
            errors.push(Diagnostic::raw(locate(e.to_string())));
        }
        if r.located.is_empty() {
            errors.push(Diagnostic::raw(locate(format!("{}: {}", r.origin, r.kubectl_line()))));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // The store has its own copies now: the manifests' are not kept through the settling.
    drop((addons, applicable, reports));
    let took = cluster.settle(SETTLE_LIMIT);
    Ok((cluster, took))
}

fn fmt_duration(d: SimDuration) -> String {
    let ms = d.as_millis();
    format!("{}.{:01}s", ms / 1000, (ms % 1000) / 100)
}

/// The prompt a step is shown with.
fn prompt(host: &str) -> String {
    format!("[root@{host} ~]# ")
}

/// Runs a scenario to completion. Invalid input (scenario or manifests) is an `Err`.
pub fn run(s: &Scenario, seed_override: Option<u64>) -> Result<RunResult, Diagnostics> {
    let seed = seed_override.unwrap_or(s.seed);
    let (mut cluster, header) = prepare(s, seed)?;
    let cp = cluster
        .world()
        .config
        .nodes
        .iter()
        .find(|n| n.role == NodeRole::ControlPlane)
        .or(cluster.world().config.nodes.first())
        .map(|n| n.name.clone())
        .unwrap_or_else(|| "master".to_string());
    let base = s.path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let mut t = String::new();
    let mut traces: Vec<TracedConnection> = Vec::new();
    let _ = writeln!(t, "# netsim scenario: {} (seed {seed})", s.name);
    for line in s.description.lines() {
        let _ = writeln!(t, "# {line}");
    }
    t.push_str(&header);
    check_fault_nodes(s, &cluster)?;
    let mut failures = Vec::new();
    let mut active: Vec<Running> = Vec::new();
    let mut reports = Vec::new();
    for (i, step) in s.steps.iter().enumerate() {
        t.push('\n');
        let began = cluster.now();
        if let Some(label) = mark_label(&step.action) {
            for r in &mut active {
                if began < r.run.ends {
                    r.marks.push(Mark { at: began, label: label.clone() });
                }
            }
        }
        let out: Option<ExecOutput> = match &step.action {
            Action::Note(n) => {
                for line in n.lines() {
                    let _ = writeln!(t, "# {line}");
                }
                None
            }
            Action::Sleep(d) => {
                cluster.advance(*d);
                let _ = writeln!(t, "# sleep {d} (simulated time is now {})", clock(cluster.now()));
                None
            }
            Action::Kubectl(args) => {
                let _ = writeln!(t, "{}kubectl {args}", prompt(&cp));
                Some(cluster.kubectl_line(args, &base))
            }
            Action::Run { on, command } => {
                let target = match on {
                    Some(spec) => cluster.resolve_target(spec),
                    None => Ok(Target::Node(cp.clone())),
                };
                match target {
                    Ok(Target::Pod { namespace, name }) => {
                        let ns =
                            if namespace == "default" { String::new() } else { format!("-n {namespace} ") };
                        let _ = writeln!(t, "{}kubectl exec {ns}{name} -- {command}", prompt(&cp));
                        Some(cluster.exec(&Target::Pod { namespace, name }, command))
                    }
                    Ok(target) => {
                        let host = match &target {
                            Target::Node(n) | Target::Host(n) => n.clone(),
                            Target::Pod { name, .. } => name.clone(),
                        };
                        let _ = writeln!(t, "{}{command}", prompt(&host));
                        Some(cluster.exec(&target, command))
                    }
                    Err(e) => {
                        // The step's target does not exist when the step runs: shown as the
                        // person would have typed it (kubectl exec for a pod, the host's
                        // prompt otherwise), and a failure of the scenario at the step.
                        let spec = on.as_deref().unwrap_or_default();
                        match spec.strip_prefix("pod/").or_else(|| spec.strip_prefix("pods/")) {
                            Some(pod) => {
                                let (ns, name) = match pod.split_once('/') {
                                    Some((ns, name)) => (format!("-n {ns} "), name),
                                    None => (String::new(), pod),
                                };
                                let _ = writeln!(t, "{}kubectl exec {ns}{name} -- {command}", prompt(&cp));
                            }
                            None => {
                                let host = spec.rsplit('/').next().unwrap_or(spec);
                                let _ = writeln!(t, "{}{command}", prompt(host));
                            }
                        }
                        let _ = writeln!(t, "{e}");
                        let _ = writeln!(t, "! step target: `on: {spec}` does not exist when the step runs");
                        failures.push(format!(
                            "{}:{}:{}: steps[{i}]: on: {spec}: {e}",
                            s.path.display(),
                            step.line,
                            step.column
                        ));
                        continue;
                    }
                }
            }
            Action::Trace(spec) => {
                let _ = writeln!(t, "$ netsim trace {spec}");
                let (out, report) = cluster.trace_line_report(spec);
                if let Some(report) = report {
                    traces.push(TracedConnection {
                        command: format!("netsim trace {spec}"),
                        topology: Topology::of(&cluster),
                        report,
                        text: out.stdout.clone(),
                    });
                }
                Some(out)
            }
            Action::Fault(f) => {
                let _ = writeln!(t, "# fault: {f}");
                Some(match Fault::parse(f) {
                    Ok(fault) => cluster.inject(&fault),
                    Err(e) => ExecOutput { stderr: format!("{e}\n"), exit_code: 2, ..Default::default() },
                })
            }
            Action::Traffic(tr) => {
                let _ = writeln!(t, "{}", crate::traffic::start_line(tr));
                let started = cluster.resolve_target(&tr.from).and_then(|from| {
                    cluster.start_traffic(TrafficSpec {
                        from,
                        to: tr.to.clone(),
                        proto: tr.proto,
                        count: tr.count,
                        per: tr.per,
                        duration: tr.duration,
                        src_port: tr.src_port,
                        timeout: tr.timeout,
                        connection: tr.connection,
                        dns_query: tr.query.clone(),
                    })
                });
                match started {
                    Ok(run) => {
                        let total = run.spec.total();
                        let _ = writeln!(
                            t,
                            "# {}: {total} requests to {} from {}, the last at {}",
                            tr.name,
                            run.dst,
                            clock(run.started),
                            clock(run.started + run.spec.offset(total.saturating_sub(1)))
                        );
                        active.push(Running { step: i, line: step.line, run, marks: Vec::new() });
                        None
                    }
                    Err(e) => {
                        if step.expect.has_traffic_checks() {
                            failures.push(format!(
                                "{}:{}: steps[{i}]: traffic {} did not start",
                                s.path.display(),
                                step.line,
                                tr.name
                            ));
                        }
                        Some(ExecOutput { stderr: format!("{e}\n"), exit_code: 1, ..Default::default() })
                    }
                }
            }
        };
        if let Some(o) = &out {
            push_output(&mut t, o);
        }
        // A step that checks who served the connection says it, so the transcript shows the
        // point the step makes (which pod answered, what address it saw) and not only a page.
        if (step.expect.served_by.is_some() || step.expect.client_seen.is_some())
            && let Some(c) = out.as_ref().and_then(|o| o.connection.as_ref())
        {
            let served = c.served_by.as_deref().unwrap_or("nobody");
            match c.client_seen {
                Some(seen) => {
                    let _ = writeln!(t, "# served by {served}, which saw the client as {seen}");
                }
                None => {
                    let _ = writeln!(t, "# served by {served}");
                }
            }
        }
        if !matches!(step.action, Action::Traffic(_)) {
            for f in check(&step.expect, out.as_ref()) {
                let msg = format!("{}:{}: steps[{i}]: {f}", s.path.display(), step.line);
                let _ = writeln!(t, "! expectation failed: {f}");
                failures.push(msg);
            }
        }
        for (target, o) in cluster.finished_jobs() {
            let _ = writeln!(
                t,
                "# background job on {target} ended by itself (simulated time is now {})",
                clock(cluster.now())
            );
            push_output(&mut t, &o);
        }
        let now = cluster.now();
        let (done, still): (Vec<Running>, Vec<Running>) = active.into_iter().partition(|r| now >= r.run.ends);
        active = still;
        for r in done {
            finish(s, &mut cluster, r, &mut t, &mut failures, &mut reports);
        }
    }
    if let Some(end) = active.iter().map(|r| r.run.ends).max() {
        let now = cluster.now();
        if end > now {
            cluster.advance(end - now);
        }
        let names: Vec<&str> = active
            .iter()
            .filter_map(|r| match &s.steps.get(r.step).map(|st| &st.action) {
                Some(Action::Traffic(tr)) => Some(tr.name.as_str()),
                _ => None,
            })
            .collect();
        let _ = writeln!(
            t,
            "\n# waiting for traffic {} to end (simulated time is now {})",
            names.join(", "),
            clock(cluster.now())
        );
        for r in active {
            finish(s, &mut cluster, r, &mut t, &mut failures, &mut reports);
        }
    }
    let jobs = cluster.stop_jobs();
    if !jobs.is_empty() {
        let _ = writeln!(
            t,
            "\n# end of the scenario: background jobs are stopped as by kill (simulated time is now {})",
            clock(cluster.now())
        );
        for (target, o) in jobs {
            let _ = writeln!(t, "# {target}:");
            push_output(&mut t, &o);
        }
    }
    let topology = Topology::of(&cluster);
    Ok(RunResult { transcript: t, failures, traffic: reports, traces, topology })
}

/// A command's output in the transcript: stdout, then stderr (kubectl's warnings first), or
/// the interleaved terminal text when the command has one; a non-zero exit status is shown.
fn push_output(t: &mut String, o: &ExecOutput) {
    // kubectl prints server warnings before its table.
    let (warning, rest) =
        if o.stderr.starts_with("Warning: ") { (o.stderr.as_str(), "") } else { ("", o.stderr.as_str()) };
    match &o.terminal {
        Some(both) => t.push_str(both),
        None => {
            t.push_str(warning);
            t.push_str(&o.stdout);
            if !o.stdout.is_empty() && !o.stdout.ends_with('\n') {
                t.push('\n');
            }
            t.push_str(rest);
        }
    }
    if o.exit_code != 0 {
        let _ = writeln!(t, "(exit status {})", o.exit_code);
    }
}

/// Every fault step names a node the cluster has: else an input error at the step.
fn check_fault_nodes(s: &Scenario, cluster: &Cluster) -> Result<(), Diagnostics> {
    let file = s.path.display().to_string();
    let mut d = Diagnostics::default();
    for (i, step) in s.steps.iter().enumerate() {
        let Action::Fault(f) = &step.action else { continue };
        if let Some(node) = Fault::parse(f).ok().as_ref().and_then(Fault::node)
            && cluster.world().node_index(node).is_none()
        {
            let nodes: Vec<&str> = cluster.world().nodes.iter().map(|n| n.name.as_str()).collect();
            d.push(Diagnostic::at(
                &file,
                step.line,
                step.column,
                format!("steps[{i}]: fault: no node {node:?} in the cluster (nodes: {})", nodes.join(", ")),
            ));
        }
    }
    if d.is_empty() { Ok(()) } else { Err(d) }
}

/// A traffic step still running.
struct Running {
    /// Its index among the steps.
    step: usize,
    /// Its line in the scenario file.
    line: u64,
    run: TrafficRun,
    /// Steps that ran while it did.
    marks: Vec<Mark>,
}

/// How a step is marked on a traffic timeline (notes and sleeps are not events).
fn mark_label(a: &Action) -> Option<String> {
    match a {
        Action::Note(_) | Action::Sleep(_) => None,
        Action::Kubectl(k) => Some(format!("kubectl {k}")),
        Action::Run { on, command } => Some(match on {
            Some(on) => format!("{command} (on {on})"),
            None => command.clone(),
        }),
        Action::Trace(t) => Some(format!("trace {t}")),
        Action::Fault(f) => Some(format!("fault: {f}")),
        Action::Traffic(tr) => Some(format!("traffic {} starts", tr.name)),
    }
}

/// Prints an ended traffic step's report and checks its expectations.
fn finish(
    s: &Scenario,
    cluster: &mut Cluster,
    r: Running,
    t: &mut String,
    failures: &mut Vec<String>,
    reports: &mut Vec<Report>,
) {
    let Some(step) = s.steps.get(r.step) else { return };
    let Action::Traffic(tr) = &step.action else { return };
    let requests = cluster.traffic_requests(&r.run);
    cluster.finish_traffic(&r.run);
    // What the load balancer concluded meanwhile (its health checks) is marked too.
    let mut marks = r.marks;
    for (at, label) in &cluster.world().lb.events {
        if *at >= r.run.started && *at < r.run.ends {
            marks.push(Mark { at: *at, label: label.clone() });
        }
    }
    marks.sort_by_key(|m| m.at);
    let report = Report::new(tr, r.run.started, requests, marks);
    t.push('\n');
    t.push_str(&report.render(r.run.ends));
    for f in report.check(&step.expect) {
        let _ = writeln!(t, "! expectation failed: {f}");
        failures.push(format!("{}:{}: steps[{}]: {f}", s.path.display(), r.line, r.step));
    }
    reports.push(report);
}

/// `HH:MM:SS.mmm` of simulated time.
fn clock(now: sim_core::SimTime) -> String {
    let ms = now.as_nanos() / 1_000_000;
    format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, (ms / 60_000) % 60, (ms / 1000) % 60, ms % 1000)
}

/// Matches `text` against a pattern where `*` is any run of characters (within a line).
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let Some(first) = parts.first() else { return true };
    if !text.starts_with(first) {
        return false;
    }
    let mut pos = first.len();
    for (i, p) in parts.iter().enumerate().skip(1) {
        if i == parts.len() - 1 {
            return text[pos..].ends_with(p);
        }
        match text[pos..].find(p) {
            Some(j) => pos += j + p.len(),
            None => return false,
        }
    }
    true
}

/// Checks a step's expectations; returns what failed.
fn check(e: &Expect, out: Option<&ExecOutput>) -> Vec<String> {
    let mut f = Vec::new();
    let empty = ExecOutput::default();
    let o = out.unwrap_or(&empty);
    let all = format!("{}{}", o.stdout, o.stderr);
    if let Some(c) = &e.contains {
        for s in c.items() {
            if !all.contains(s) {
                f.push(format!("expected the output to contain {s:?}"));
            }
        }
    }
    if let Some(c) = &e.not_contains {
        for s in c.items() {
            if all.contains(s) {
                f.push(format!("expected the output not to contain {s:?}"));
            }
        }
    }
    if let Some(p) = &e.matches {
        let plines: Vec<&str> = p.trim_end_matches('\n').lines().collect();
        let olines: Vec<&str> = o.stdout.trim_end_matches('\n').lines().collect();
        let ok = plines.len() == olines.len() && plines.iter().zip(&olines).all(|(p, l)| wildcard(p, l));
        if !ok {
            f.push(format!("expected the output to match:\n{p}"));
        }
    }
    if let Some(code) = e.exit
        && o.exit_code != code
    {
        f.push(format!("expected exit status {code}, got {}", o.exit_code));
    }
    let conn = o.connection.as_ref();
    if let Some(want) = &e.served_by {
        let got = conn.and_then(|c| c.served_by.clone());
        if !got.as_deref().is_some_and(|g| g.starts_with(want.as_str())) {
            f.push(format!(
                "expected the connection to be served by {want}, it was served by {}",
                got.unwrap_or("nobody".into())
            ));
        }
    }
    if let Some(want) = &e.client_seen {
        let got = conn.and_then(|c| c.client_seen).map(|a| a.ip().to_string());
        if got.as_deref() != Some(want.as_str()) {
            f.push(format!(
                "expected the server to see the client as {want}, it saw {}",
                got.unwrap_or("nothing".into())
            ));
        }
    }
    if let Some(want) = &e.disposition {
        let got = conn.and_then(|c| c.disposition.clone());
        if got.as_deref() != Some(want.as_str()) {
            f.push(format!(
                "expected the first packet to be {want}, it was {}",
                got.unwrap_or("not sent".into())
            ));
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("nginx-*   1/1     Running*", "nginx-abc   1/1     Running   0   5s"));
        assert!(!wildcard("a*b", "acd"));
        assert!(wildcard("exact", "exact"));
    }

    #[test]
    fn kubelet_configuration_sets_the_kubelets_dns_and_the_coredns_zone() {
        let kubelet = Object::KubeletConfiguration(sim_k8s::api::KubeletConfiguration {
            cluster_dns: Some(vec!["10.96.0.10".into(), "169.254.20.10".into()]),
            cluster_domain: Some("corp.example.".into()),
            resolv_conf: Some(String::new()),
            ..Default::default()
        });
        let mut c = ClusterConfig::default_cluster();
        apply_kubelet_dns(&mut c, false, std::slice::from_ref(&kubelet));
        let ips: Vec<std::net::IpAddr> =
            ["10.96.0.10", "169.254.20.10"].iter().filter_map(|s| s.parse().ok()).collect();
        assert_eq!(c.kubelet_dns.cluster_dns, Some(ips));
        assert_eq!(c.kubelet_dns.cluster_domain.as_deref(), Some("corp.example"));
        assert_eq!(c.kubelet_dns.resolv_conf.as_deref(), Some(""));
        assert_eq!(c.cluster_domain, "corp.example");
        // The cluster section's own clusterDomain keeps CoreDNS's zone; the kubelet's search
        // list still follows the kubelet.
        let mut c = ClusterConfig::default_cluster();
        apply_kubelet_dns(&mut c, true, &[kubelet]);
        assert_eq!(c.cluster_domain, "cluster.local");
        assert_eq!(c.kubelet_dns.cluster_domain.as_deref(), Some("corp.example"));
    }

    #[test]
    fn conntrack_nat_clash_is_insert_drop_or_an_error() {
        let spec =
            |v: &str| ClusterSpec { conntrack_nat_clash: Some(v.to_string()), ..ClusterSpec::default() };
        let c = cluster_config("s.yaml", &spec("drop")).map(|c| c.nat_clash).ok();
        assert_eq!(c, Some(sim_net::conntrack::NatClash::Drop));
        let c = cluster_config("s.yaml", &ClusterSpec::default()).map(|c| c.nat_clash).ok();
        assert_eq!(c, Some(sim_net::conntrack::NatClash::Insert));
        let err = cluster_config("s.yaml", &spec("fixed")).err().map(|d| d.to_string()).unwrap_or_default();
        assert!(
            err.contains("cluster.conntrackNatClash: unknown behaviour \"fixed\": expected insert or drop"),
            "{err}"
        );
    }

    #[test]
    fn kube_proxy_conntrack_cleanup_is_a_known_behaviour_or_an_error() {
        use sim_k8s::kube_proxy::conntrack::UdpCleanup;
        let spec = |v: &str| ClusterSpec {
            kube_proxy_conntrack_cleanup: Some(v.to_string()),
            ..ClusterSpec::default()
        };
        let c = cluster_config("s.yaml", &spec("none")).map(|c| c.kube_proxy_udp_cleanup).ok();
        assert_eq!(c, Some(UdpCleanup::None));
        let c = cluster_config("s.yaml", &ClusterSpec::default()).map(|c| c.kube_proxy_udp_cleanup).ok();
        assert_eq!(c, Some(UdpCleanup::Reconcile));
        let err = cluster_config("s.yaml", &spec("off")).err().map(|d| d.to_string()).unwrap_or_default();
        assert!(err.contains("cluster.kubeProxyConntrackCleanup: unknown cleanup \"off\""), "{err}");
    }

    #[test]
    fn node_cpus_and_conntrack_max_are_checked() {
        let c = cluster_config("s.yaml", &ClusterSpec { conntrack_max: Some(256), ..ClusterSpec::default() })
            .map(|c| (c.conntrack_max, c.node_cpus))
            .ok();
        assert_eq!(c, Some((Some(256), 2)));
        let err = cluster_config("s.yaml", &ClusterSpec { node_cpus: Some(0), ..ClusterSpec::default() })
            .err()
            .map(|d| d.to_string())
            .unwrap_or_default();
        assert!(err.contains("cluster.nodeCPUs: must be at least 1"), "{err}");
        let err = cluster_config(
            "s.yaml",
            &ClusterSpec { conntrack_max: Some(u32::MAX), ..ClusterSpec::default() },
        )
        .err()
        .map(|d| d.to_string())
        .unwrap_or_default();
        assert!(err.contains("cluster.conntrackMax: 4294967295 is more than the kernel takes"), "{err}");
    }

    #[test]
    fn ranges_and_pools() {
        assert_eq!(parse_port_range("30000-32767"), Some((30000, 32767)));
        assert_eq!(parse_port_range("5-1"), None);
        assert_eq!(parse_pool("203.0.113.10-203.0.113.12").map(|v| v.len()), Some(3));
    }
}
