//! Building a cluster from its [`ClusterConfig`]: the node network, each node's namespace
//! with eth0, the CNI bridge and host-gw routes to the other nodes' pod CIDRs, external hosts,
//! the API objects a kubeadm cluster starts with (namespaces, Node objects, the `kubernetes`
//! service, CoreDNS's Deployment and the `kube-dns` Service), and kube-proxy on every node.

use std::cell::RefCell;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;

use indexmap::IndexMap;
use ipnet::{IpNet, Ipv4Net};
use sim_core::{SimRng, SimTime};
use sim_net::network::Network;
use sim_net::socket::SockProto;

use super::config::{ClusterConfig, NodeRole, nth_address};
use super::world::{ClusterWorld, DnsState, NodeRt, ProxyAgent};
use crate::api::{Kind, Object};
use crate::apiserver::{ApiServer, ApiServerConfig, object_from_json};
use crate::controllers::{ControllerConfig, Controllers};
use crate::dns::{CoreDnsConfig, Name, Upstream};
use crate::kube_proxy::sync_runner::SyncRunner;
use crate::kube_proxy::{LocalTrafficDetector, NodePortAddresses, ProxyConfig, ProxyMode};

/// kube-proxy settings shared by every node (from a `KubeProxyConfiguration`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProxySettings {
    /// `clusterCIDR` for local-traffic detection; `None` = the cluster's pod CIDR.
    pub cluster_cidr: Option<Ipv4Net>,
    /// A KubeProxyConfiguration was given with no `clusterCIDR` and `detectLocalMode`
    /// ClusterCIDR (or unset): kube-proxy runs its no-op local-traffic detector
    /// (`NewNoOpLocalDetector`, no masquerade rule for off-cluster sources) instead of
    /// taking the cluster's pod CIDR.
    pub no_cluster_cidr: bool,
    /// `masqueradeAll`.
    pub masquerade_all: bool,
    /// `iptables.masqueradeBit`.
    pub masquerade_bit: Option<u8>,
    /// `nodePortAddresses` (CIDRs, or `primary`).
    pub node_port_addresses: Option<NodePortAddresses>,
    /// `iptables.localhostNodePorts`.
    pub localhost_node_ports: Option<bool>,
    /// `iptables.minSyncPeriod`.
    pub min_sync_period: Option<sim_core::SimDuration>,
    /// `iptables.syncPeriod`.
    pub sync_period: Option<sim_core::SimDuration>,
    /// `mode`.
    pub mode: Option<ProxyMode>,
    /// The `ipvs:` section as written (applied when a node's kube-proxy starts in IPVS mode:
    /// [`crate::kube_proxy::config::apply_ipvs_section`]).
    pub ipvs: crate::api::proxy_config::IpvsConfig,
    /// The `conntrack:` section as written (the sysctls kube-proxy writes at start-up:
    /// [`crate::kube_proxy::conntracker`]).
    pub conntrack: crate::api::proxy_config::ConntrackConfig,
}

/// Builds the world at time zero; errors are topology mistakes in the configuration.
pub fn build(config: ClusterConfig, proxy: &ProxySettings, seed: u64) -> Result<ClusterWorld, String> {
    let root = SimRng::new(seed);
    let mut net = Network::new(seed);
    let seg = net.add_segment("node-net", sim_net::network::SEGMENT_LATENCY);
    let prefix = config.node_network.prefix_len();
    let mut nodes = Vec::new();
    for (i, n) in config.nodes.iter().enumerate() {
        let pod_cidr = config.pod_cidr(i).ok_or_else(|| {
            format!(
                "cluster: the cluster CIDR {} has no /24 left for node #{} ({}): it holds {} nodes' pod networks; give a larger one with --cluster-cidr (or a KubeProxyConfiguration's clusterCIDR), e.g. 10.128.0.0/9 for 32,768 nodes",
                config.cluster_cidr,
                i + 1,
                n.name,
                if config.cluster_cidr.prefix_len() <= 24 { 1u64 << (24 - config.cluster_cidr.prefix_len()) } else { 0 }
            )
        })?;
        let host = net.add_host(&n.name).map_err(|e| format!("cluster: {e}"))?;
        net.attach(host, "eth0", seg, Some(Ipv4Net::new(n.ip, prefix).map_err(|e| e.to_string())?))
            .map_err(|e| format!("cluster: {e}"))?;
        net.add_bridge(host, &config.bridge, true).map_err(|e| format!("cluster: {e}"))?;
        let bridge_ip = nth_address(pod_cidr, 1);
        let h = net.host_mut(host).map_err(|e| format!("cluster: {e}"))?;
        h.set_up("eth0", true).map_err(|e| e.to_string())?;
        h.set_up(&config.bridge, true).map_err(|e| e.to_string())?;
        h.add_addr(
            &config.bridge,
            Ipv4Net::new(bridge_ip, pod_cidr.prefix_len()).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        h.sysctl.ip_forward = true;
        let mut interface_addrs = vec![Ipv4Addr::LOCALHOST, n.ip, bridge_ip];
        // Secondary addresses: `ip addr add ADDR/LEN dev eth0` after the primary (an address
        // given without a length takes the node network's when inside it, else /32).
        for a in &n.addresses {
            let a = if a.prefix_len() == 32 && config.node_network.contains(&a.addr()) {
                Ipv4Net::new(a.addr(), prefix).map_err(|e| e.to_string())?
            } else {
                *a
            };
            if a.addr() == n.ip || interface_addrs.contains(&a.addr()) {
                continue;
            }
            let h = net.host_mut(host).map_err(|e| format!("cluster: {e}"))?;
            h.add_addr("eth0", a).map_err(|e| format!("cluster: node {}: {a}: {e}", n.name))?;
            interface_addrs.push(a.addr());
        }
        if config.docker0 && config.bridge != "docker0" {
            let (ip, len) = super::config::DOCKER0_NET;
            let net4 = Ipv4Net::new(ip, len).map_err(|e| e.to_string())?;
            net.add_bridge(host, "docker0", true).map_err(|e| format!("cluster: {e}"))?;
            let h = net.host_mut(host).map_err(|e| format!("cluster: {e}"))?;
            h.add_addr("docker0", net4).map_err(|e| e.to_string())?;
            interface_addrs.push(ip);
        }
        net.host_mut(host)
            .map_err(|e| format!("cluster: {e}"))?
            .netfilter
            .set_backend(config.iptables_backend);
        // A node with docker0 runs dockerd, which wrote its rules before kube-proxy started.
        if config.docker0 || config.bridge == super::docker::DOCKER_BRIDGE {
            let docker_net = if config.bridge == super::docker::DOCKER_BRIDGE {
                Ipv4Net::new(bridge_ip, pod_cidr.prefix_len()).map_err(|e| e.to_string())?
            } else {
                Ipv4Net::new(super::config::DOCKER0_NET.0, super::config::DOCKER0_NET.1)
                    .map_err(|e| e.to_string())?
            };
            let h = net.host_mut(host).map_err(|e| format!("cluster: {e}"))?;
            super::docker::install(&mut h.netfilter, docker_net)?;
        }
        let h = net.host_mut(host).map_err(|e| format!("cluster: {e}"))?;
        add_default_route(h, &config, n.ip)?;
        install_listeners(h, &n.name, &n.listens)?;
        // What kube-proxy writes at its start-up (by default nf_conntrack_max max(32768 per
        // CPU, 131072), tcp_timeout_established 24h, close_wait 1h), then the cluster's own
        // setting, as a `sysctl -w` on every node once the cluster is up.
        let base = sim_net::conntrack::CtConfig::default();
        let mut ct = crate::kube_proxy::conntracker::apply(&base, &proxy.conntrack, config.node_cpus);
        if let Some(max) = config.conntrack_max {
            ct.max = max;
        }
        // The iptables proxier reads nf_conntrack_tcp_be_liberal back when it starts.
        let tcp_be_liberal = ct.tcp_be_liberal;
        h.conntrack.set_config(ct);
        h.conntrack.set_nat_clash(config.nat_clash);
        // With more than one CPU, packets arriving at one instant race through conntrack.
        h.conntrack.set_parallel(config.node_cpus > 1);
        h.nat_ports = config.nat_port_search;
        let cluster_cidr =
            (!proxy.no_cluster_cidr).then(|| proxy.cluster_cidr.unwrap_or(config.cluster_cidr));
        let mut pc = ProxyConfig::new(&n.name, n.ip, cluster_cidr);
        pc.local_detector =
            cluster_cidr.map_or(LocalTrafficDetector::None, LocalTrafficDetector::ClusterCidr);
        pc.masquerade_all = proxy.masquerade_all;
        pc.random_fully = config.iptables_random_fully;
        pc.conntrack_tcp_be_liberal = tcp_be_liberal;
        if let Some(b) = proxy.masquerade_bit {
            pc.masquerade_bit = b;
        }
        if let Some(a) = &proxy.node_port_addresses {
            pc.node_port_addresses = a.clone();
        }
        if let Some(l) = proxy.localhost_node_ports {
            pc.localhost_node_ports = l;
        }
        if let Some(d) = proxy.min_sync_period {
            pc.min_sync_period = d;
        }
        if let Some(d) = proxy.sync_period {
            pc.sync_period = d;
        }
        pc.interface_addrs = interface_addrs;
        pc.mode = config.proxy_mode.or(proxy.mode).unwrap_or_default();
        crate::kube_proxy::config::apply_ipvs_section(&mut pc, &proxy.ipvs)
            .map_err(|e| format!("kube-proxy on {}: {e}", n.name))?;
        pc.validate().map_err(|e| format!("kube-proxy on {}: {e}", n.name))?;
        let runner = SyncRunner::for_config(SimTime::ZERO, &pc);
        nodes.push(NodeRt {
            name: n.name.clone(),
            host,
            ip: n.ip,
            pod_cidr,
            bridge_ip,
            proxy: ProxyAgent {
                config: pc,
                runner,
                running: true,
                timer: None,
                syncs: 0,
                health: Vec::new(),
                synced_seq: 0,
                dirty: false,
                nft_view: None,
                pending_initial: false,
                conntrack: proxy.conntrack.clone(),
            },
            up: true,
            role: n.role,
            cpus: config.node_cpus,
            partitioned: false,
        });
    }
    // host-gw: every node routes the other nodes' pod CIDRs via their node IPs. The N routes
    // are one table every node shares, each without its own pod CIDR (N² entries otherwise:
    // 25 million at 5,000 nodes); a node's first route edit gives it its own copy.
    let mut host_gw = sim_net::route::RouteTable::new();
    for n in &nodes {
        let line = format!("{} via {} dev eth0", n.pod_cidr, n.ip);
        let r = sim_net::route::Route::parse(&line).map_err(|e| format!("cluster: {e}"))?;
        host_gw.add(r).map_err(|e| format!("cluster: {line}: {e}"))?;
    }
    let host_gw = std::rc::Rc::new(host_gw);
    for n in &nodes {
        let h = net.host_mut(n.host).map_err(|e| e.to_string())?;
        h.routes.share(host_gw.clone(), Some(n.pod_cidr));
    }
    // The control plane serves the API on 6443 (the `kubernetes` service's endpoint): the
    // control-plane node, or the first node when none is one (a single-node minikube), as
    // the `kubernetes` Endpoints name it.
    let apiserver = nodes.iter().find(|n| n.role == NodeRole::ControlPlane).or(nodes.first());
    if let Some(cp) = apiserver {
        let h = net.host_mut(cp.host).map_err(|e| e.to_string())?;
        // TLS is not modelled; a plain HTTP request gets the real server's answer to one.
        let app = |_: &sim_net::socket::AppContext<'_>, _: &[u8]| {
            b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nClient sent an HTTP request to an HTTPS server.\n".to_vec()
        };
        let _ =
            h.sockets.listen(SockProto::Tcp, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 6443), Box::new(app));
    }
    let mut externals = IndexMap::new();
    for e in &config.external_hosts {
        let host = net.add_host(&e.name).map_err(|err| format!("cluster: {err}"))?;
        net.attach(host, "eth0", seg, Some(Ipv4Net::new(e.ip, prefix).map_err(|err| err.to_string())?))
            .map_err(|err| format!("cluster: {err}"))?;
        let h = net.host_mut(host).map_err(|err| err.to_string())?;
        h.set_up("eth0", true).map_err(|err| err.to_string())?;
        h.sysctl.fib_multipath_hash_policy = sim_net::route::MultipathHashPolicy::L4;
        add_default_route(h, &config, e.ip)?;
        install_listeners(h, &e.name, &e.listens)?;
        externals.insert(e.name.clone(), host);
    }

    // The upstream resolver hosts: on the node network like the external hosts, with a route to
    // every node's pod CIDR via that node (the LAN's router knows them, as a VPC route table
    // does: pods' packets reach them unmasqueraded), and `upstreamDNS` entries as the first
    // one's records.
    let mut resolvers = config.upstream_resolvers.clone();
    if let Some(first) = resolvers.first_mut() {
        for (name, ip) in &config.upstream_dns {
            let record = crate::dns::upstream::address_record(name, (*ip).into())
                .map_err(|e| format!("cluster: upstreamDNS {name}: {e}"))?;
            first.data = std::mem::take(&mut first.data).with_record(record);
        }
    }
    let mut taken: Vec<(Ipv4Addr, String)> =
        config.nodes.iter().map(|n| (n.ip, format!("node {}", n.name))).collect();
    taken.extend(config.external_hosts.iter().map(|e| (e.ip, format!("external host {}", e.name))));
    taken.push((gateway(&config), "the node network's gateway".to_string()));
    for r in &resolvers {
        if !config.node_network.contains(&r.ip) {
            return Err(format!(
                "cluster: upstreamResolvers {}: {} is not on the node network {}",
                r.name, r.ip, config.node_network
            ));
        }
        if let Some((_, owner)) = taken.iter().find(|(ip, _)| *ip == r.ip) {
            return Err(format!(
                "cluster: upstreamResolvers {}: {} is already the address of {owner}",
                r.name, r.ip
            ));
        }
        taken.push((r.ip, format!("resolver {}", r.name)));
        let host = net.add_host(&r.name).map_err(|err| format!("cluster: upstreamResolvers: {err}"))?;
        net.attach(host, "eth0", seg, Some(Ipv4Net::new(r.ip, prefix).map_err(|err| err.to_string())?))
            .map_err(|err| format!("cluster: {err}"))?;
        let h = net.host_mut(host).map_err(|err| err.to_string())?;
        h.set_up("eth0", true).map_err(|err| err.to_string())?;
        add_default_route(h, &config, r.ip)?;
        for n in &nodes {
            h.add_route_str(&format!("{} via {} dev eth0", n.pod_cidr, n.ip))
                .map_err(|e| format!("cluster: upstreamResolvers {}: {e}", r.name))?;
        }
        let shared = Rc::new(r.clone());
        for proto in [SockProto::Udp, SockProto::Tcp] {
            let app = super::dns_apps::ResolverApp { config: shared.clone() };
            h.sockets
                .listen(proto, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 53), Box::new(app))
                .map_err(|err| format!("cluster: {}: {err}", r.name))?;
        }
        externals.insert(r.name.clone(), host);
    }

    let api_config = ApiServerConfig {
        service_cidr: config.service_cidr,
        node_port_range: config.node_port_range,
        cluster_cidr: IpNet::V4(config.cluster_cidr),
        ..ApiServerConfig::default()
    };
    let mut api = ApiServer::new(api_config, &root.fork("apiserver"));
    let ctrl_config = ControllerConfig {
        service_cidr: config.service_cidr,
        cluster_cidr: config.cluster_cidr,
        ..ControllerConfig::default()
    };
    let controllers = Controllers::with_config(&root.fork("controllers"), ctrl_config);
    for (i, n) in config.nodes.iter().enumerate() {
        let obj = node_object(n, nodes[i].pod_cidr, i)?;
        api.create(obj).map_err(|e| format!("cluster: node {}: {e:?}", n.name))?;
    }
    let mut dns_config = CoreDnsConfig {
        zone: Name::parse(&config.cluster_domain).map_err(|e| format!("cluster: clusterDomain: {e}"))?,
        dns_ips: vec![config.dns_service_ip().into()],
        ..CoreDnsConfig::default()
    };
    let mut upstream = Upstream::default();
    for (name, ip) in &config.upstream_dns {
        upstream = upstream
            .with_address(name, (*ip).into())
            .map_err(|e| format!("cluster: upstreamDNS {name}: {e}"))?;
    }
    if !resolvers.is_empty() {
        // Forwarded queries become packets to the node's nameservers; an ExternalName's target
        // is still resolved from the resolvers' data in the process.
        upstream = Upstream::default();
        for r in &resolvers {
            upstream = upstream.merged(&r.data);
        }
        dns_config.node_nameservers = Some(config.node_nameservers());
    }
    dns_config.upstream = upstream;
    if config.core_dns {
        for obj in core_dns_objects(&config)? {
            api.create(obj).map_err(|e| format!("cluster: CoreDNS: {e:?}"))?;
        }
    }
    let _ = Kind::Pod;
    Ok(ClusterWorld::new(
        config,
        api,
        controllers,
        net,
        nodes,
        externals,
        Rc::new(RefCell::new(DnsState::new(dns_config))),
        root.fork("cluster"),
    ))
}

/// Servers a host runs outside Kubernetes, by image-like name.
fn install_listeners(
    h: &mut sim_net::host::Host,
    name: &str,
    listens: &[(sim_net::wire::Protocol, u16, String)],
) -> Result<(), String> {
    for (proto, port, image) in listens {
        let kind = crate::apps::AppKind::from_image(image);
        let hostname = name.to_string();
        let sp = match proto {
            sim_net::wire::Protocol::Udp => SockProto::Udp,
            sim_net::wire::Protocol::Sctp => SockProto::Sctp,
            _ => SockProto::Tcp,
        };
        let app = move |ctx: &sim_net::socket::AppContext<'_>, req: &[u8]| {
            let now_unix =
                crate::apiserver::ApiServerConfig::default().epoch_unix_secs + ctx.now.as_secs() as i64;
            let view =
                crate::apps::ServerView { hostname: &hostname, local: ctx.local, peer: ctx.peer, now_unix };
            crate::apps::respond(&kind, &view, req).unwrap_or_default()
        };
        h.sockets
            .listen(sp, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, *port), Box::new(app))
            .map_err(|err| format!("cluster: {name}: {err}"))?;
    }
    Ok(())
}

/// The node network's gateway: its first address. Nodes and external hosts route everything
/// else there, as a real LAN's hosts do; nothing simulated answers at that address, so traffic
/// to the internet ends in a neighbour failure (host unreachable).
pub fn gateway(config: &ClusterConfig) -> Ipv4Addr {
    nth_address(config.node_network, 1)
}

fn add_default_route(
    h: &mut sim_net::host::Host,
    config: &ClusterConfig,
    own: Ipv4Addr,
) -> Result<(), String> {
    let gw = gateway(config);
    if gw == own || !config.node_network.contains(&own) {
        return Ok(());
    }
    h.add_route_str(&format!("default via {gw} dev eth0")).map_err(|e| format!("cluster: {e}"))
}

fn from_json(kind: Kind, v: serde_json::Value) -> Result<Object, String> {
    object_from_json(kind, v).map_err(|e| format!("cluster: built-in {}: {e:?}", kind.as_str()))
}

/// The Kubernetes version the simulated kubelets report (kube-proxy's rules follow this era).
pub const KUBELET_VERSION: &str = "v1.31.0";

/// A Node object as the kubelet registers it.
fn node_object(n: &super::config::NodeConfig, pod_cidr: Ipv4Net, _i: usize) -> Result<Object, String> {
    let mut labels = serde_json::Map::new();
    labels.insert("kubernetes.io/arch".into(), "amd64".into());
    labels.insert("kubernetes.io/hostname".into(), n.name.clone().into());
    labels.insert("kubernetes.io/os".into(), "linux".into());
    if n.role == NodeRole::ControlPlane {
        labels.insert("node-role.kubernetes.io/control-plane".into(), "".into());
    }
    for (k, v) in &n.labels {
        labels.insert(k.clone(), v.clone().into());
    }
    let taints = if n.role == NodeRole::ControlPlane {
        serde_json::json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    } else {
        serde_json::json!([])
    };
    from_json(
        Kind::Node,
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": n.name, "labels": labels},
            "spec": {"podCIDR": pod_cidr.to_string(), "podCIDRs": [pod_cidr.to_string()], "taints": taints},
            "status": {
                "addresses": [
                    {"type": "InternalIP", "address": n.ip.to_string()},
                    {"type": "Hostname", "address": n.name}
                ],
                "conditions": [{"type": "Ready", "status": "True"}],
                "nodeInfo": {
                    "kubeletVersion": KUBELET_VERSION,
                    "kubeProxyVersion": KUBELET_VERSION,
                    "osImage": "Ubuntu 22.04.4 LTS",
                    "kernelVersion": "5.15.0-105-generic",
                    "containerRuntimeVersion": "containerd://1.7.13",
                    "operatingSystem": "linux",
                    "architecture": "amd64"
                }
            }
        }),
    )
}

/// CoreDNS as kubeadm deploys it: a Deployment of two replicas in kube-system and the
/// `kube-dns` Service at the tenth service address.
fn core_dns_objects(config: &ClusterConfig) -> Result<Vec<Object>, String> {
    let deploy = from_json(
        Kind::Deployment,
        serde_json::json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "coredns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
                "template": {
                    "metadata": {"labels": {"k8s-app": "kube-dns"}},
                    "spec": {
                        "dnsPolicy": "Default",
                        "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
                        "containers": [{
                            "name": "coredns",
                            "image": "registry.k8s.io/coredns/coredns:v1.11.1",
                            "ports": [
                                {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                {"name": "metrics", "containerPort": 9153, "protocol": "TCP"}
                            ],
                            // kubeadm's manifest (the `ready` plugin answers on 8181); its
                            // livenessProbe (/health on 8080) is left out: liveness is not
                            // modelled.
                            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181, "scheme": "HTTP"}}
                        }]
                    }
                }
            }
        }),
    )?;
    let svc = from_json(
        Kind::Service,
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "kube-dns",
                "namespace": "kube-system",
                "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"}
            },
            "spec": {
                "clusterIP": config.dns_service_ip().to_string(),
                "selector": {"k8s-app": "kube-dns"},
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                    {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}
                ]
            }
        }),
    )?;
    Ok(vec![deploy, svc])
}

/// kube-proxy settings from a `KubeProxyConfiguration` document. Fields left empty keep
/// kube-proxy's defaults; an unparsable `clusterCIDR` or `nodePortAddresses` entry is ignored
/// here because the API validation of the document has already reported it.
pub fn proxy_settings_from(k: &crate::api::KubeProxyConfiguration) -> ProxySettings {
    let cidrs: Vec<Ipv4Net> = k.node_port_addresses.iter().filter_map(|s| s.parse().ok()).collect();
    let npa = if k.node_port_addresses.iter().any(|s| s == "primary") {
        Some(NodePortAddresses::Primary)
    } else if cidrs.is_empty() {
        None
    } else {
        Some(NodePortAddresses::Cidrs(cidrs))
    };
    ProxySettings {
        cluster_cidr: k.cluster_cidr.split(',').next().and_then(|s| s.trim().parse().ok()),
        no_cluster_cidr: k.cluster_cidr.trim().is_empty()
            && matches!(
                k.detect_local_mode,
                None | Some(crate::api::proxy_config::DetectLocalMode::ClusterCidr)
                    | Some(crate::api::proxy_config::DetectLocalMode::Default)
            ),
        masquerade_all: k.masquerade_all.or(k.iptables.masquerade_all).unwrap_or(false),
        masquerade_bit: k.iptables.masquerade_bit.and_then(|b| u8::try_from(b).ok()),
        node_port_addresses: npa,
        localhost_node_ports: k.iptables.localhost_node_ports,
        min_sync_period: k.iptables.min_sync_period.or(k.min_sync_period).map(|d| d.to_sim()),
        sync_period: k.iptables.sync_period.or(k.sync_period).map(|d| d.to_sim()),
        mode: k.mode.as_ref().and_then(ProxyMode::from_api),
        ipvs: k.ipvs.clone(),
        conntrack: k.conntrack.clone(),
    }
}
