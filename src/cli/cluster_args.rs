//! `-f PATH...` and the cluster options shared by `netsim kubectl`, `netsim trace` and
//! `netsim iptables-save -f`: the manifests are loaded into the default cluster (README), or
//! the one a `--cluster FILE` describes, with single settings overridden by flags. Node
//! objects among the manifests (a dump from a real cluster) replace the default nodes, with
//! their InternalIP and podCIDR.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use clap::Args;
use sim_k8s::api::{Node, Object};
use sim_k8s::cluster::{Cluster, ClusterConfig, NodeConfig, NodeRole};
use sim_k8s::manifest::{self, Source};

use super::exit;
use crate::diag::{Diagnostic, Diagnostics};
use crate::runner::{
    NodeObjects, build_cluster, cluster_config, kubelet_not_simulated, parse_port_range, parse_proxy_mode,
};
use crate::scenario::ClusterSpec;

/// The options that build a cluster from manifests.
#[derive(Debug, Args, Clone)]
pub struct ClusterArgs {
    /// Manifest files or directories (`-` for standard input); repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub files: Vec<String>,
    /// A YAML file with a scenario's `cluster:` settings, replacing the default cluster.
    #[arg(long, value_name = "FILE")]
    pub cluster: Option<PathBuf>,
    /// The service CIDR (`--service-cluster-ip-range`).
    #[arg(long = "service-cidr", value_name = "CIDR")]
    pub service_cidr: Option<String>,
    /// The cluster (pod) CIDR.
    #[arg(long = "cluster-cidr", value_name = "CIDR")]
    pub cluster_cidr: Option<String>,
    /// The node-port range (`--service-node-port-range`), e.g. 30000-32767.
    #[arg(long = "node-port-range", value_name = "FIRST-LAST")]
    pub node_port_range: Option<String>,
    /// kube-proxy's mode on every node: `iptables` (the default), `ipvs` or `nftables`;
    /// overrides the cluster file's `proxyMode` and a KubeProxyConfiguration's `mode`.
    #[arg(long = "proxy-mode", value_name = "MODE")]
    pub proxy_mode: Option<String>,
    /// The seed of every random choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The most objects the manifests may create (their own plus their workloads' pods);
    /// past it netsim stops with exit 2 before building the cluster.
    #[arg(long = "max-objects", value_name = "N", default_value_t = manifest::budget::DEFAULT_MAX_OBJECTS)]
    pub max_objects: u64,
}

/// A cluster built from manifests.
pub struct Built {
    /// The cluster, settled. Never dropped: a command builds one cluster and exits, and freeing a
    /// large cluster's millions of allocations one by one costs more than a command's own work
    /// (the operating system takes the memory back at once, as compilers let it do).
    pub cluster: std::mem::ManuallyDrop<Cluster>,
    /// Documents of kinds that are not simulated, one line each.
    pub not_simulated: Vec<String>,
}

fn node_config(n: &Node, role: NodeRole) -> Option<NodeConfig> {
    let all = &n.status.as_ref()?.addresses;
    let ip: Ipv4Addr =
        all.iter().find(|a| a.type_.as_str() == "InternalIP").and_then(|a| a.address.parse().ok())?;
    // kube-proxy treats every address on the node as local: the other IPv4 InternalIP and
    // ExternalIP addresses become eth0's secondary addresses (IPv6 ones are not simulated).
    let mut addresses: Vec<ipnet::Ipv4Net> = Vec::new();
    for a in all {
        if !matches!(a.type_.as_str(), "InternalIP" | "ExternalIP") {
            continue;
        }
        if let Ok(other) = a.address.parse::<Ipv4Addr>()
            && other != ip
            && !addresses.iter().any(|n| n.addr() == other)
        {
            addresses.push(ipnet::Ipv4Net::from(other));
        }
    }
    Some(NodeConfig {
        name: n.metadata.name.clone(),
        ip,
        role,
        labels: Default::default(),
        listens: Vec::new(),
        pod_cidr: n
            .spec
            .pod_cidr
            .as_deref()
            .or(n.spec.pod_cidrs.first().map(String::as_str))
            .and_then(|c| c.parse().ok()),
        addresses,
    })
}

/// Loads the manifests and builds the cluster; prints diagnostics and returns the exit status
/// on failure.
pub fn build(args: &ClusterArgs) -> Result<Built, u8> {
    let fail = |d: Diagnostics| {
        eprintln!("{d}");
        exit::INVALID
    };
    let proxy_mode = match args.proxy_mode.as_deref().map(parse_proxy_mode) {
        Some(Err(e)) => {
            eprintln!("error: --proxy-mode: {e}");
            return Err(exit::INVALID);
        }
        Some(Ok(m)) => Some(m),
        None => None,
    };
    let mut spec = match &args.cluster {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                eprintln!("{}: cannot read file: {e}", p.display());
                exit::INVALID
            })?;
            serde_saphyr::from_str::<ClusterSpec>(&text)
                .map_err(|e| fail(Diagnostics::single(Diagnostic::from_yaml(&p.display().to_string(), &e))))?
        }
        None => ClusterSpec::default(),
    };
    if let Some(s) = &args.service_cidr {
        spec.service_cidr = Some(s.clone());
    }
    if let Some(m) = &args.proxy_mode {
        spec.proxy_mode = Some(m.clone());
    }
    if let Some(s) = &args.cluster_cidr {
        spec.pod_cidr = Some(s.clone());
    }
    if let Some(s) = &args.node_port_range {
        if parse_port_range(s).is_none() {
            eprintln!(
                "error: invalid value '{s}' for '--node-port-range': expected FIRST-LAST, e.g. 30000-32767"
            );
            return Err(exit::INVALID);
        }
        spec.node_port_range = Some(s.clone());
    }
    let mut config: ClusterConfig = cluster_config("--cluster", &spec).map_err(fail)?;
    if proxy_mode.is_some() {
        config.proxy_mode = proxy_mode;
    }
    let mut sources = crate::runner::addon_sources(&config);
    for f in &args.files {
        if f == "-" {
            // Capped while reading: 200 MB on a pipe is refused at the cap, not buffered first.
            let text =
                manifest::budget::read_capped("STDIN", std::io::stdin().lock(), manifest::MAX_SOURCE_BYTES)
                    .map_err(|e| {
                    eprintln!("{e}");
                    exit::INVALID
                })?;
            sources.push(Source::text("STDIN", &text));
        } else {
            sources.push(Source::Path(PathBuf::from(f)));
        }
    }
    let mut loaded = manifest::load(&sources);
    if args.proxy_mode.is_some() {
        // The flag wins over a KubeProxyConfiguration's `mode` among the manifests.
        for l in &mut loaded.objects {
            if let Object::KubeProxyConfiguration(k) = &mut l.value {
                k.mode = None;
            }
        }
    }
    if !loaded.errors.is_empty() {
        return Err(fail(Diagnostics(
            loaded.errors.iter().map(|e| Diagnostic::raw(e.to_string())).collect(),
        )));
    }
    // Node objects define the nodes.
    let nodes: Vec<&Node> = loaded
        .objects
        .iter()
        .filter_map(|l| match &l.value {
            Object::Node(n) => Some(&**n),
            _ => None,
        })
        .collect();
    if !nodes.is_empty() {
        let mut cfgs = Vec::new();
        for n in &nodes {
            let cp = n.metadata.labels.contains_key("node-role.kubernetes.io/control-plane")
                || n.metadata.labels.contains_key("node-role.kubernetes.io/master");
            match node_config(n, if cp { NodeRole::ControlPlane } else { NodeRole::Worker }) {
                Some(c) => cfgs.push(c),
                None => {
                    eprintln!(
                        "error: node {:?} has no status.addresses entry of type InternalIP: netsim needs the node's address",
                        n.metadata.name
                    );
                    return Err(exit::INVALID);
                }
            }
        }
        if !cfgs.iter().any(|c| c.role == NodeRole::ControlPlane)
            && let Some(first) = cfgs.first_mut()
        {
            first.role = NodeRole::ControlPlane;
        }
        config.nodes = cfgs;
        if let Some(net) = config.network_of_nodes() {
            config.node_network = net;
        }
    }
    if let Err(e) =
        manifest::budget::check_objects(&loaded.objects, config.nodes.len() as u64, args.max_objects)
    {
        eprintln!("error: {e}");
        return Err(exit::INVALID);
    }
    let nodes = if nodes.is_empty() { NodeObjects::Apply } else { NodeObjects::DefinedTheNodes };
    let (cluster, _) =
        build_cluster(config, &spec, &loaded, args.seed, "error", nodes, |m| m).map_err(fail)?;
    let not_simulated = loaded
        .not_simulated
        .iter()
        .map(|n| n.to_string())
        .chain(loaded.ignored.iter().filter(|f| f.changes_behaviour()).map(|f| f.to_string()))
        .chain(kubelet_not_simulated(&loaded))
        .collect();
    Ok(Built { cluster: std::mem::ManuallyDrop::new(cluster), not_simulated })
}
