//! Scenario files: a lab or regression case as YAML — a name, a required seed, the cluster,
//! manifests, and ordered steps that read like the article's terminal session. The format is
//! documented in `docs/scenario-format.md`; this module only parses and checks it. Execution
//! lives in [`crate::runner`].
//!
//! Every field is checked strictly: an unknown key, a step with no action or two actions, or a
//! malformed duration is an error naming the file, line and column.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::diag::{Diagnostic, Diagnostics};

/// A parsed scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Where it came from (for error messages and relative manifest paths).
    pub path: PathBuf,
    /// The file's text (kept to render error snippets).
    pub text: String,
    /// Short name.
    pub name: String,
    /// What the scenario shows.
    pub description: String,
    /// The seed of every random choice. Required: a scenario is reproducible by construction.
    pub seed: u64,
    /// The cluster to build.
    pub cluster: ClusterSpec,
    /// Manifests applied before the first step, with the line of each entry.
    pub manifests: Vec<(u64, ManifestRef)>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// Raw YAML shape of a scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawScenario {
    name: String,
    #[serde(default)]
    description: String,
    seed: u64,
    #[serde(default)]
    cluster: ClusterSpec,
    #[serde(default)]
    manifests: Vec<Spanned<ManifestRef>>,
    #[serde(default)]
    steps: Vec<Spanned<RawStep>>,
}

/// The simulated cluster. Every field is optional; omitted fields take the default cluster's
/// values (README: a control-plane node `master` 10.32.1.147 and workers `node01` .148 and
/// `node02` .149, pod CIDR 10.244.0.0/16, service CIDR 10.96.0.0/12, node ports 30000-32767,
/// CoreDNS, kube-proxy in iptables mode unless `proxyMode` says otherwise).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterSpec {
    /// The nodes, in order. The first is the control plane unless roles say otherwise.
    #[serde(default)]
    pub nodes: Vec<NodeSpec>,
    /// The cluster (pod) CIDR; each node gets a /24 from it in node order.
    #[serde(rename = "podCIDR")]
    pub pod_cidr: Option<String>,
    /// The service CIDR cluster IPs come from.
    #[serde(rename = "serviceCIDR")]
    pub service_cidr: Option<String>,
    /// The node-port range, `30000-32767` form.
    pub node_port_range: Option<String>,
    /// The node network prefix length (default 24).
    pub node_prefix_len: Option<u8>,
    /// The CNI bridge name on every node (default `cni0`; `docker0` for docker-era labs).
    pub bridge: Option<String>,
    /// Hosts outside the cluster on the node network (clients, an external database).
    #[serde(default)]
    pub external_hosts: Vec<ExternalHostSpec>,
    /// Names the upstream resolver knows (`my.database.example.com: 203.0.113.50`).
    #[serde(default, rename = "upstreamDNS")]
    pub upstream_dns: indexmap::IndexMap<String, String>,
    /// Upstream DNS resolvers as simulated hosts on the node network: the nodes'
    /// `/etc/resolv.conf` names them, and CoreDNS's `forward` sends them real packets.
    #[serde(default)]
    pub upstream_resolvers: Vec<UpstreamResolverSpec>,
    /// Whether a cloud provider assigns LoadBalancer ingress IPs (default false: `<pending>`).
    pub load_balancer_provider: Option<LoadBalancerProviderSpec>,
    /// The cluster DNS domain (default `cluster.local`).
    pub cluster_domain: Option<String>,
    /// Whether CoreDNS is deployed (default true).
    #[serde(rename = "coreDNS")]
    pub core_dns: Option<bool>,
    /// kube-proxy's mode on every node: `iptables` (default), `ipvs` or `nftables`.
    pub proxy_mode: Option<String>,
    /// Whether every node also has Docker's `docker0` bridge, 172.17.0.1/16 (default false).
    pub docker0: Option<bool>,
    /// The `iptables` binary on every node: `legacy` (default) or `nft` (`iptables -V`).
    pub iptables_backend: Option<String>,
    /// An ingress controller added as its upstream manifest would add it: `nginx` (the cloud
    /// deploy.yaml, a LoadBalancer Service) or `nginx-baremetal` (a NodePort Service).
    pub ingress: Option<String>,
    /// A Gateway API controller added as its manifests would add it, after the Gateway API
    /// CRDs: `nginx-gateway-fabric` (NGINX Gateway Fabric, GatewayClass `nginx`).
    pub gateway: Option<String>,
    /// The nodes' kernel when two packets of one new UDP flow race through conntrack and are
    /// NATed to different endpoints: `insert` (kernels since 5.6, the default) or `drop`
    /// (older kernels; the loser counts in `insert_failed`).
    pub conntrack_nat_clash: Option<String>,
    /// How the nodes' kernel searches for a free source-NAT port: `random` (Linux 5.x and
    /// later, the default) or `rover` (older kernels' shared rover: kubernetes#23604).
    pub nat_port_search: Option<String>,
    /// Whether the nodes' iptables has `MASQUERADE --random-fully` (1.6.2 and later; default
    /// true): kube-proxy adds it to its MASQUERADE rules only then.
    pub iptables_random_fully: Option<bool>,
    /// The UDP conntrack cleanup kube-proxy runs after each sync: `reconcile` (upstream's
    /// reconciler, the default), `reconcile-skip-empty` (v1.32's, which skips service ports
    /// without endpoints: kubernetes/kubernetes#139628) or `none` (#19029).
    pub kube_proxy_conntrack_cleanup: Option<String>,
    /// CPUs per node (default 2): kube-proxy's `conntrack.maxPerCore` scales with it and
    /// `conntrack -S` prints a line per CPU.
    #[serde(rename = "nodeCPUs")]
    pub node_cpus: Option<u32>,
    /// `net.netfilter.nf_conntrack_max` on every node, written after kube-proxy's start-up
    /// value (default: kube-proxy's, max(32768 per CPU, 131072)); 0 is no limit.
    pub conntrack_max: Option<u32>,
}

/// One node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeSpec {
    /// Node name (`node01`).
    pub name: String,
    /// Its address on the node network.
    pub ip: String,
    /// `control-plane` or `worker` (default: first node control-plane, others workers).
    pub role: Option<String>,
    /// Extra node labels.
    #[serde(default)]
    pub labels: indexmap::IndexMap<String, String>,
    /// Services the node runs outside Kubernetes: `tcp/3306: mysql` style.
    #[serde(default)]
    pub listens: indexmap::IndexMap<String, String>,
    /// Secondary addresses on the node's eth0 (`10.32.1.158` or `192.168.50.10/24`).
    #[serde(default)]
    pub addresses: Vec<String>,
}

/// A host outside the cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalHostSpec {
    /// Host name (`client`).
    pub name: String,
    /// Its address on the node network.
    pub ip: String,
    /// Services it runs: `tcp/3306: mysql` style, port to application image.
    #[serde(default)]
    pub listens: indexmap::IndexMap<String, String>,
}

/// An upstream DNS resolver host.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpstreamResolverSpec {
    /// Host name (`resolver`).
    pub name: String,
    /// Its address on the node network.
    pub ip: String,
    /// The zones it answers from.
    #[serde(default)]
    pub zones: Vec<UpstreamZoneSpec>,
    /// Per-name answers instead of the data's: an `answer` and/or a `delay`.
    #[serde(default)]
    pub behaviours: Vec<UpstreamBehaviourSpec>,
}

/// A zone of an upstream resolver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpstreamZoneSpec {
    /// The zone's apex (`example.com`).
    pub zone: String,
    /// The TTL of its records that give none (default 300).
    pub ttl: Option<u32>,
    /// The SOA minimum: how long negative answers are cached (default 60).
    #[serde(rename = "negativeTTL")]
    pub negative_ttl: Option<u32>,
    /// Its records.
    #[serde(default)]
    pub records: Vec<UpstreamRecordSpec>,
}

/// One record: `name` (relative to the zone, inside it, or `@`), `type`, `value`, `ttl`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpstreamRecordSpec {
    /// Owner name.
    pub name: String,
    /// A, AAAA, CNAME, TXT, PTR or NS.
    #[serde(rename = "type")]
    pub rtype: String,
    /// The data (an address, a target name, a string).
    pub value: String,
    /// Its TTL (default: the zone's).
    pub ttl: Option<u32>,
}

/// A per-name behaviour of an upstream resolver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpstreamBehaviourSpec {
    /// The query name: exact, `*.zone` (every name below the zone) or `*` (every name).
    pub name: String,
    /// `nxdomain`, `nodata`, `servfail`, `refused`, `truncate` or `drop`.
    pub answer: Option<String>,
    /// How long it takes before answering (`3s`).
    pub delay: Option<String>,
}

/// A simulated cloud load-balancer provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoadBalancerProviderSpec {
    /// The pool ingress IPs are taken from, in order (`203.0.113.10-203.0.113.20` or a CIDR).
    pub pool: String,
    /// How it health-checks `externalTrafficPolicy: Local` services (GCE's defaults).
    pub health_check: Option<LbHealthCheckSpec>,
}

/// The provider's health check of `healthCheckNodePort` (GCE's field names).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LbHealthCheckSpec {
    /// Time between probes of a node (default `8s`).
    pub interval: Option<String>,
    /// How long a probe waits (default `1s`).
    pub timeout: Option<String>,
    /// Consecutive passes that make a node healthy (default 1).
    pub healthy_threshold: Option<u32>,
    /// Consecutive failures that make a node unhealthy (default 3).
    pub unhealthy_threshold: Option<u32>,
    /// The request path (default `/healthz`).
    pub path: Option<String>,
}

/// A manifest given to the scenario: a file path relative to the scenario, or inline YAML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManifestRef {
    /// A file or directory, relative to the scenario file.
    pub file: Option<String>,
    /// Inline YAML documents.
    pub inline: Option<String>,
}

/// Raw YAML shape of a step: exactly one action key plus modifiers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawStep {
    /// A comment printed in the transcript (`# ...`).
    note: Option<String>,
    /// A kubectl command line, without the leading `kubectl`.
    kubectl: Option<String>,
    /// A shell command line run `on` a host.
    run: Option<String>,
    /// Where `run` executes: `node/NAME`, `pod/NAME` (`pod/NS/NAME`), `host/NAME`, or a bare
    /// name looked up in that order. Default: the control-plane node.
    on: Option<String>,
    /// Let simulated time pass (`500ms`, `10s`, `2m`).
    sleep: Option<String>,
    /// netsim's own path view: `FROM -> IP:PORT [udp|tcp|icmp]`.
    trace: Option<String>,
    /// A fault ([`sim_k8s::cluster::faults::Fault`]): `stop|start node/NAME`,
    /// `stop|start|restart kube-proxy/NODE`, `delete|crash|hang|resume pod/NAME`, `flush conntrack/NODE`.
    fault: Option<String>,
    /// Load in simulated time, running alongside the steps that follow.
    traffic: Option<Spanned<RawTraffic>>,
    /// Checks on the step's outcome.
    expect: Option<Expect>,
}

/// Raw YAML shape of a `traffic:` step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTraffic {
    name: Option<String>,
    from: String,
    to: String,
    proto: Option<Spanned<String>>,
    rate: Spanned<String>,
    #[serde(rename = "for")]
    duration: Spanned<String>,
    src_port: Option<u16>,
    timeout: Option<Spanned<String>>,
    bucket: Option<Spanned<String>>,
    connection: Option<Spanned<String>>,
    reconnect: Option<Spanned<bool>>,
    query: Option<Spanned<String>>,
}

/// A checked `traffic:` step: `rate` requests for `duration` from a client to a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traffic {
    /// The name the transcript and expectations use (`t1`, `t2`, ... unless given).
    pub name: String,
    /// The client: `pod/NAME`, `node/NAME`, `host/NAME`.
    pub from: String,
    /// `HOST:PORT`; a name is resolved once by the client's resolver.
    pub to: String,
    /// `tcp` (a new connection per request, default) or `udp`.
    pub proto: sim_net::network::ConvProto,
    /// Requests per `per`.
    pub count: u64,
    /// The period of the rate (`50/s`: 50 per second).
    pub per: sim_core::SimDuration,
    /// How long the load lasts.
    pub duration: sim_core::SimDuration,
    /// A fixed source port (a DNS client's or statsd's one socket); default ephemeral ports.
    pub src_port: Option<u16>,
    /// How long a request waits for its answer (default 1s).
    pub timeout: sim_core::SimDuration,
    /// The timeline's bucket width (default 1s).
    pub bucket: sim_core::SimDuration,
    /// TCP: `connection: new` (default) or `persistent`, with `reconnect`.
    pub connection: sim_k8s::cluster::traffic::Connection,
    /// UDP: a DNS A query for this name in every datagram (`query: NAME`).
    pub query: Option<sim_k8s::dns::Name>,
}

/// Parses a rate: `50/s`, `600/m`, `1/500ms` (N per duration).
pub fn parse_rate(s: &str) -> Option<(u64, sim_core::SimDuration)> {
    let (n, per) = s.trim().split_once('/')?;
    let n: u64 = n.trim().parse().ok().filter(|n| *n > 0)?;
    let per = per.trim();
    let per = if per.starts_with(|c: char| c.is_ascii_digit()) { per.to_string() } else { format!("1{per}") };
    let d = parse_duration(&per).filter(|d| d.as_nanos() > 0)?;
    Some((n, d))
}

/// What a step must produce.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expect {
    /// The output contains this text.
    pub contains: Option<StringOrList>,
    /// The output does not contain this text.
    pub not_contains: Option<StringOrList>,
    /// The output matches this pattern (`*` matches any run of characters, per line).
    pub matches: Option<String>,
    /// The command's exit status.
    pub exit: Option<i32>,
    /// The connection was served by this pod or host (`pod/NAME` prefix, `host/NAME`,
    /// `node/NAME`).
    pub served_by: Option<String>,
    /// The server saw the client as this address.
    pub client_seen: Option<String>,
    /// The first packet's disposition (`delivered`, `dropped`, `rejected`, ...).
    pub disposition: Option<String>,
    /// Traffic: at most this many requests were not answered.
    pub max_failures: Option<u64>,
    /// Traffic: every request was answered by a server whose name starts with this
    /// (`pod/web-7d9f`); failures count against it.
    pub all_served_by: Option<String>,
    /// Traffic: no request was answered by a server whose name starts with this.
    pub none_served_by: Option<String>,
    /// Traffic: the expectations look only at requests started in this window, relative to
    /// the traffic's start (`20s-60s`, `30s-`).
    pub window: Option<String>,
}

impl Expect {
    /// True if a traffic-only expectation is set.
    pub fn has_traffic_checks(&self) -> bool {
        self.max_failures.is_some()
            || self.all_served_by.is_some()
            || self.none_served_by.is_some()
            || self.window.is_some()
    }
}

/// Parses a window `A-B` or `A-` of durations relative to a traffic's start.
pub fn parse_window(s: &str) -> Option<(sim_core::SimDuration, Option<sim_core::SimDuration>)> {
    let (a, b) = s.split_once('-')?;
    let a = parse_duration(a)?;
    let b = if b.trim().is_empty() { None } else { Some(parse_duration(b)?) };
    if b.is_some_and(|b| b <= a) {
        return None;
    }
    Some((a, b))
}

/// One string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StringOrList {
    /// A single string.
    One(String),
    /// Several strings.
    Many(Vec<String>),
}

impl StringOrList {
    /// The strings, in order.
    pub fn items(&self) -> Vec<&str> {
        match self {
            StringOrList::One(s) => vec![s.as_str()],
            StringOrList::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// A checked step.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based line of the step in the scenario file.
    pub line: u64,
    /// 1-based column of the step.
    pub column: u64,
    /// What to do.
    pub action: Action,
    /// What to check.
    pub expect: Expect,
}

/// The action of a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `# text` in the transcript.
    Note(String),
    /// `kubectl ARGS` on the control-plane node.
    Kubectl(String),
    /// A command line on a host.
    Run { on: Option<String>, command: String },
    /// Let time pass.
    Sleep(sim_core::SimDuration),
    /// netsim's path view.
    Trace(String),
    /// A fault injection.
    Fault(String),
    /// Load running alongside the following steps.
    Traffic(Traffic),
}

/// Parses a duration like `500ms`, `10s`, `2m`, `1h`, `1m30s`.
pub fn parse_duration(s: &str) -> Option<sim_core::SimDuration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let mut unit = String::from(c);
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        let nanos_per = match unit.as_str() {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(nanos_per)?)?;
        any = true;
    }
    if !num.is_empty() || !any {
        return None;
    }
    Some(sim_core::SimDuration::from_nanos(total))
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, Diagnostics> {
        let file = std::fs::File::open(path).map_err(|e| {
            Diagnostics::single(Diagnostic::plain(
                path.display().to_string(),
                format!("cannot read file: {e}"),
            ))
        })?;
        // Capped while reading, like manifests: a scenario is a page of steps, not gigabytes.
        let text =
            sim_k8s::manifest::budget::read_capped(&path.display().to_string(), file, MAX_SCENARIO_BYTES)
                .map_err(|e| {
                    Diagnostics::single(Diagnostic::raw(
                        e.to_string().replace("manifest is too large", "scenario is too large"),
                    ))
                })?;
        Self::parse(path, text)
    }

    /// Parses scenario text; `path` names it in errors and anchors relative manifest paths.
    pub fn parse(path: &Path, text: String) -> Result<Scenario, Diagnostics> {
        let file = path.display().to_string();
        let raw: RawScenario = serde_saphyr::from_str(&text)
            .map_err(|e| every_mistake(&file, &text, Diagnostic::from_yaml(&file, &e)))?;
        let mut diags = Diagnostics::default();
        let mut manifests = Vec::new();
        for m in raw.manifests {
            let loc = m.referenced;
            match (&m.value.file, &m.value.inline) {
                (Some(_), None) | (None, Some(_)) => manifests.push((loc.line(), m.value)),
                _ => diags.push(Diagnostic::at(
                    &file,
                    loc.line(),
                    loc.column(),
                    "manifests[]: each entry needs exactly one of `file` or `inline`",
                )),
            }
        }
        let mut steps = Vec::new();
        let mut traffic_names: Vec<String> = Vec::new();
        for (i, s) in raw.steps.into_iter().enumerate() {
            let loc = s.referenced;
            if let Some(step) =
                check_step(&file, i, loc.line(), loc.column(), s.value, &mut traffic_names, &mut diags)
            {
                steps.push(step);
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        Ok(Scenario {
            path: path.to_path_buf(),
            text,
            name: raw.name,
            description: raw.description,
            seed: raw.seed,
            cluster: raw.cluster,
            manifests,
            steps,
        })
    }
}

/// Checks a `traffic:` step; `n` numbers it among the scenario's traffic steps (default name
/// `tN`). Every error points at the offending field.
fn check_traffic(
    file: &str,
    step: usize,
    n: usize,
    t: Spanned<RawTraffic>,
) -> Result<Traffic, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let at = |loc: serde_saphyr::Location, msg: String| {
        Diagnostic::at(file, loc.line(), loc.column(), format!("steps[{step}].traffic.{msg}"))
    };
    let r = t.value;
    let proto = match r.proto.as_ref().map(|p| p.value.as_str()) {
        None | Some("tcp") => sim_net::network::ConvProto::Tcp,
        Some("udp") => sim_net::network::ConvProto::Udp,
        Some(other) => {
            let loc = r.proto.as_ref().map_or(t.referenced, |p| p.referenced);
            diags.push(at(loc, format!("proto: unsupported value {other:?}: expected \"tcp\" or \"udp\"")));
            sim_net::network::ConvProto::Tcp
        }
    };
    let rate = parse_rate(&r.rate.value);
    if rate.is_none() {
        diags.push(at(
            r.rate.referenced,
            format!(
                "rate: invalid rate {:?}: expected COUNT/UNIT, e.g. 50/s, 600/m or 1/500ms",
                r.rate.value
            ),
        ));
    }
    let duration = parse_duration(&r.duration.value).filter(|d| d.as_nanos() > 0);
    if duration.is_none() {
        diags.push(at(
            r.duration.referenced,
            format!(
                "for: invalid duration {:?}: expected a number with a unit (ms, s, m, h), e.g. 60s",
                r.duration.value
            ),
        ));
    }
    let mut duration_of = |field: &str, v: &Option<Spanned<String>>, default: u64| match v {
        None => sim_core::SimDuration::from_secs(default),
        Some(v) => match parse_duration(&v.value).filter(|d| d.as_nanos() > 0) {
            Some(d) => d,
            None => {
                diags.push(at(
                    v.referenced,
                    format!("{field}: invalid duration {:?}: expected a number with a unit (ms, s, m, h), e.g. 1s", v.value),
                ));
                sim_core::SimDuration::from_secs(default)
            }
        },
    };
    let timeout = duration_of("timeout", &r.timeout, 1);
    let bucket = duration_of("bucket", &r.bucket, 1);
    if r.src_port == Some(0) {
        diags.push(at(t.referenced, "srcPort: 0 is not a port".into()));
    }
    if r.src_port.is_some() && proto == sim_net::network::ConvProto::Tcp {
        diags.push(at(
            t.referenced,
            "srcPort: a fixed source port goes with proto: udp (each TCP request is a new connection)".into(),
        ));
    }
    use sim_k8s::cluster::traffic::Connection;
    let connection = match r.connection.as_ref().map(|c| c.value.as_str()) {
        None | Some("new") => Connection::New,
        Some("persistent") => {
            Connection::Persistent { reconnect: r.reconnect.as_ref().is_some_and(|b| b.value) }
        }
        Some(other) => {
            let at_c = r.connection.as_ref().map_or(t.referenced, |c| c.referenced);
            diags.push(at(at_c, format!("connection: unknown value {other:?}: expected new or persistent")));
            Connection::New
        }
    };
    if let Some(c) = &r.connection
        && proto != sim_net::network::ConvProto::Tcp
    {
        diags.push(at(c.referenced, "connection: goes with proto: tcp (UDP has no connection)".into()));
    }
    if let Some(b) = &r.reconnect
        && !matches!(connection, Connection::Persistent { .. })
    {
        diags.push(at(b.referenced, "reconnect: goes with connection: persistent".into()));
    }
    let query = match &r.query {
        None => None,
        Some(q) if proto != sim_net::network::ConvProto::Udp => {
            diags.push(at(q.referenced, "query: goes with proto: udp (a DNS query per datagram)".into()));
            None
        }
        Some(q) => match sim_k8s::dns::Name::parse(&q.value) {
            Ok(n) => Some(n),
            Err(e) => {
                diags.push(at(q.referenced, format!("query: {:?} is not a DNS name: {e}", q.value)));
                None
            }
        },
    };
    let (Some((count, per)), Some(duration), true) = (rate, duration, diags.is_empty()) else {
        return Err(diags);
    };
    Ok(Traffic {
        name: r.name.unwrap_or_else(|| format!("t{n}")),
        from: r.from,
        to: r.to,
        proto,
        count,
        per,
        duration,
        src_port: r.src_port,
        timeout,
        bucket,
        connection,
        query,
    })
}

/// Checks one raw step (exactly one valid action); problems go to `diags`.
fn check_step(
    file: &str,
    i: usize,
    line: u64,
    column: u64,
    r: RawStep,
    traffic_names: &mut Vec<String>,
    diags: &mut Diagnostics,
) -> Option<Step> {
    let at = |msg: String| Diagnostic::at(file, line, column, format!("steps[{i}]: {msg}"));

    let mut actions: Vec<Action> = Vec::new();
    // A present-but-invalid action still counts, so one mistake gives one message.
    let mut invalid_actions = 0;
    if let Some(n) = r.note {
        actions.push(Action::Note(n));
    }
    if let Some(k) = r.kubectl {
        actions.push(Action::Kubectl(k));
    }
    if let Some(c) = r.run {
        actions.push(Action::Run { on: r.on.clone(), command: c });
    } else if r.on.is_some() {
        diags.push(at("`on` goes with `run`".into()));
    }
    if let Some(d) = r.sleep {
        match parse_duration(&d) {
            Some(d) => actions.push(Action::Sleep(d)),
            None => {
                invalid_actions += 1;
                diags.push(at(format!(
                    "sleep: invalid duration {d:?}: expected a number with a unit (ms, s, m, h), e.g. 500ms or 10s"
                )))
            }
        }
    }
    if let Some(t) = r.trace {
        actions.push(Action::Trace(t));
    }
    if let Some(f) = r.fault {
        match sim_k8s::cluster::faults::Fault::parse(&f) {
            Ok(_) => actions.push(Action::Fault(f)),
            Err(e) => {
                invalid_actions += 1;
                diags.push(at(e));
            }
        }
    }
    let is_traffic = r.traffic.is_some();
    if let Some(t) = r.traffic {
        let n = traffic_names.len() + 1;
        match check_traffic(file, i, n, t) {
            Ok(t) => {
                if traffic_names.contains(&t.name) {
                    invalid_actions += 1;
                    diags.push(at(format!(
                        "traffic: the name {:?} is taken by an earlier traffic step",
                        t.name
                    )));
                } else {
                    traffic_names.push(t.name.clone());
                    actions.push(Action::Traffic(t));
                }
            }
            Err(d) => {
                invalid_actions += 1;
                diags.0.extend(d);
            }
        }
    }
    if !is_traffic && r.expect.as_ref().is_some_and(Expect::has_traffic_checks) {
        diags.push(at(
            "expect: maxFailures, allServedBy, noneServedBy and window go with a traffic step".into()
        ));
    }
    if let Some(w) = r.expect.as_ref().and_then(|e| e.window.as_deref())
        && parse_window(w).is_none()
    {
        diags.push(at(format!(
            "expect.window: invalid window {w:?}: expected START-END or START- (durations from the traffic's start), e.g. 20s-60s"
        )));
    }
    match actions.len() + invalid_actions {
        1 if actions.len() == 1 => {
            return Some(Step {
                line,
                column,
                action: actions.remove(0),
                expect: r.expect.unwrap_or_default(),
            });
        }
        1 => {}
        0 => diags
            .push(at("a step needs one action: note, kubectl, run, sleep, trace, fault or traffic".into())),
        _ => diags.push(at(
            "a step has exactly one action (note, kubectl, run, sleep, trace, fault, traffic)".into(),
        )),
    }
    None
}

/// Largest scenario file read (its manifests have their own cap).
pub const MAX_SCENARIO_BYTES: usize = 16 * 1024 * 1024;

/// Most diagnostics one scenario file reports; past it, one line says how many more there are.
pub const MAX_DIAGNOSTICS: usize = 20;

/// After the whole-file decode stopped at `first`, looks for the other mistakes: the top level
/// decoded with the steps left opaque, then each step decoded on its own (its lines cut out of
/// the file and dedented, positions mapped back), so a file with three bad steps reports three
/// errors. Sorted by position, at most [`MAX_DIAGNOSTICS`].
fn every_mistake(file: &str, text: &str, first: Diagnostic) -> Diagnostics {
    /// The top level, steps not decoded.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct TopLevel {
        name: String,
        #[serde(default)]
        description: String,
        seed: u64,
        #[serde(default)]
        cluster: ClusterSpec,
        #[serde(default)]
        manifests: Vec<Spanned<ManifestRef>>,
        #[serde(default)]
        steps: Vec<serde::de::IgnoredAny>,
    }
    /// Only where the steps are.
    #[derive(Deserialize)]
    struct StepsOnly {
        #[serde(default)]
        steps: Vec<Spanned<serde::de::IgnoredAny>>,
    }
    let mut all = Vec::new();
    if let Err(e) = serde_saphyr::from_str::<TopLevel>(text) {
        all.push(Diagnostic::from_yaml(file, &e));
    }
    if let Ok(only) = serde_saphyr::from_str::<StepsOnly>(text) {
        let lines: Vec<&str> = text.lines().collect();
        for (i, st) in only.steps.iter().enumerate() {
            let (line, column) = (st.referenced.line(), st.referenced.column());
            let Some(snippet) = step_text(&lines, line, column) else { continue };
            let mut diags = Diagnostics::default();
            match serde_saphyr::from_str::<RawStep>(&snippet) {
                Ok(raw) => {
                    check_step(file, i, line, column, raw, &mut Vec::new(), &mut diags);
                }
                Err(e) => {
                    let mut d = Diagnostic::from_yaml(file, &e);
                    d.line = d.line.map(|l| l + line - 1);
                    d.column = d.column.map(|c| c + column - 1);
                    if !d.message.starts_with(&format!("steps[{i}]")) {
                        d.message = format!("steps[{i}]: {}", d.message);
                    }
                    diags.push(d);
                }
            }
            all.extend(diags.0);
        }
    }
    // The whole-file error and its step-by-step twin say the same at the same place; the
    // twin names the step.
    all.push(first);
    let mut out: Vec<Diagnostic> = Vec::new();
    for d in all {
        if !out.iter().any(|o| o.line == d.line && o.column == d.column) {
            out.push(d);
        }
    }
    out.sort_by_key(|d| (d.line, d.column));
    let more = out.len().saturating_sub(MAX_DIAGNOSTICS);
    out.truncate(MAX_DIAGNOSTICS);
    if more > 0 {
        out.push(Diagnostic::plain(file.to_string(), format!("{more} more errors not shown")));
    }
    Diagnostics(out)
}

/// The text of the step whose mapping starts at `line`:`column` (1-based), dedented so the
/// mapping starts at column 1: its first line from the column on, then the following lines
/// indented at least as far, until a line that is not.
fn step_text(lines: &[&str], line: u64, column: u64) -> Option<String> {
    let start = usize::try_from(line).ok()?.checked_sub(1)?;
    let indent = usize::try_from(column).ok()?.checked_sub(1)?;
    let first = lines.get(start)?;
    let mut out = first.get(indent..)?.to_string();
    out.push('\n');
    for l in lines.iter().skip(start + 1) {
        let blank = l.trim().is_empty() || l.trim_start().starts_with('#');
        let leading = l.len() - l.trim_start_matches(' ').len();
        if blank {
            out.push('\n');
        } else if leading >= indent && !l[leading..].starts_with("- ") || leading > indent {
            out.push_str(l.get(indent..).unwrap_or_default());
            out.push('\n');
        } else {
            break;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, String> {
        Scenario::parse(Path::new("lab.yaml"), text.to_string()).map_err(|d| d.to_string())
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(sim_core::SimDuration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Some(sim_core::SimDuration::from_secs(90)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn steps_parse_in_order() {
        let s = parse(
            "name: t\nseed: 7\nsteps:\n  - kubectl: get svc\n  - run: curl 10.96.0.1\n    on: pod/busybox\n  - sleep: 2s\n",
        )
        .unwrap();
        assert_eq!(s.seed, 7);
        assert_eq!(s.steps.len(), 3);
        assert_eq!(
            s.steps[1].action,
            Action::Run { on: Some("pod/busybox".into()), command: "curl 10.96.0.1".into() }
        );
        assert_eq!(s.steps[1].line, 5);
    }

    #[test]
    fn errors_point_at_the_step() {
        let e = parse("name: t\nseed: 7\nsteps:\n  - kubectl: get svc\n    sleep: 1s\n  - sleep: soon\n")
            .unwrap_err();
        assert_eq!(
            e,
            "lab.yaml:4:5: steps[0]: a step has exactly one action (note, kubectl, run, sleep, trace, fault, traffic)\n\
             lab.yaml:6:5: steps[1]: sleep: invalid duration \"soon\": expected a number with a unit (ms, s, m, h), e.g. 500ms or 10s"
        );
        let e = parse("name: t\nsteps: []\n").unwrap_err();
        assert_eq!(e, "lab.yaml:2:1: missing field `seed`");
        let e = parse("name: t\nseed: 1\nstepz: []\n").unwrap_err();
        assert!(e.starts_with("lab.yaml:3:1: unknown field `stepz`"), "{e}");
    }
}
