//! The shape of a simulated cluster: nodes and their addresses, the pod and service CIDRs, the
//! node-port range, the CNI bridge, external hosts, the upstream resolver's zone, the cloud
//! load-balancer pool. [`ClusterConfig::default_cluster`] is the cluster the CLI uses when no
//! scenario or `--cluster` file is given: a control-plane node and two workers named and
//! addressed like article 001.

use std::net::Ipv4Addr;

use indexmap::IndexMap;
use ipnet::Ipv4Net;

/// A node's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRole {
    /// Runs the control plane (and, like kubeadm without the taint removed, no user pods).
    ControlPlane,
    /// Runs user pods.
    Worker,
}

/// One node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// Node name (`node01`).
    pub name: String,
    /// Address on the node network (eth0).
    pub ip: Ipv4Addr,
    /// Control plane or worker.
    pub role: NodeRole,
    /// Extra labels (besides `kubernetes.io/hostname` and the role label).
    pub labels: IndexMap<String, String>,
    /// Services the node's host runs outside Kubernetes (a database on a node, as in article
    /// 001): (protocol, port, image-like application name).
    pub listens: Vec<(sim_net::wire::Protocol, u16, String)>,
    /// The node's own pod CIDR (a Node object's `spec.podCIDR`); None takes the node's /24 of
    /// the cluster CIDR, as kube-controller-manager's node IPAM allocates it.
    pub pod_cidr: Option<Ipv4Net>,
    /// Secondary addresses on eth0 besides `ip` (a Node object's other InternalIP and
    /// ExternalIP addresses, a scenario node's `addresses`): local to the node, so NodePorts
    /// answer on them (`--dst-type LOCAL`), and matched by `nodePortAddresses` CIDRs.
    pub addresses: Vec<Ipv4Net>,
}

/// A host outside the cluster, on the node network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalHostConfig {
    /// Host name (`client`).
    pub name: String,
    /// Address on the node network.
    pub ip: Ipv4Addr,
    /// Listening services: (protocol, port) → image-like application name (`mysql`).
    pub listens: Vec<(sim_net::wire::Protocol, u16, String)>,
}

/// The whole cluster's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// Nodes in order; pod CIDRs are handed out in this order.
    pub nodes: Vec<NodeConfig>,
    /// The node network (all node IPs and external hosts are on it).
    pub node_network: Ipv4Net,
    /// The cluster CIDR pods are addressed from (a /24 per node).
    pub cluster_cidr: Ipv4Net,
    /// The service CIDR cluster IPs come from.
    pub service_cidr: Ipv4Net,
    /// Inclusive node-port range (`--service-node-port-range`).
    pub node_port_range: (u16, u16),
    /// The CNI bridge on every node (`cni0`; `docker0` in docker-era labs).
    pub bridge: String,
    /// Hosts outside the cluster.
    pub external_hosts: Vec<ExternalHostConfig>,
    /// The upstream resolver's names (what CoreDNS forwards to): without
    /// [`upstream_resolvers`](Self::upstream_resolvers), CoreDNS answers forwarded names from
    /// them directly (no packet); with resolvers, they are A records (TTL 300) of the first.
    pub upstream_dns: IndexMap<String, Ipv4Addr>,
    /// Simulated upstream resolver hosts on the node network (a scenario's
    /// `cluster.upstreamResolvers`): the nodes' `/etc/resolv.conf` names them, and CoreDNS's
    /// `forward` sends them real packets.
    pub upstream_resolvers: Vec<crate::dns::upstream::ResolverConfig>,
    /// The cloud provider's pool of LoadBalancer ingress IPs; empty = no provider (`<pending>`).
    pub lb_pool: Vec<Ipv4Addr>,
    /// How the provider health-checks `externalTrafficPolicy: Local` services (GCE's defaults).
    pub lb_health: super::lb_health::LbHealthCheckConfig,
    /// The cluster DNS domain.
    pub cluster_domain: String,
    /// Whether CoreDNS runs (the `kube-dns` service at the service CIDR's 10th address).
    pub core_dns: bool,
    /// The kubelet's DNS settings on every node (a KubeletConfiguration among the manifests).
    pub kubelet_dns: KubeletDnsConfig,
    /// kube-proxy's mode on every node, when the cluster says (a scenario's `proxyMode`,
    /// `--proxy-mode`); `None` takes a KubeProxyConfiguration's `mode`, else iptables.
    pub proxy_mode: Option<crate::kube_proxy::ProxyMode>,
    /// Every node also has Docker's bridge `docker0` with 172.17.0.1/16 and no containers (a
    /// docker-era node, as in article 001), besides the CNI bridge.
    pub docker0: bool,
    /// The `iptables` binary on every node (`iptables -V`): legacy (the default, as the
    /// articles' nodes) or nft.
    pub iptables_backend: sim_net::netfilter::Backend,
    /// An ingress controller to install (a scenario's `cluster.ingress`): its upstream manifest
    /// is applied before the user's manifests.
    pub ingress: Option<crate::ingress::IngressAddon>,
    /// A Gateway API controller to install (a scenario's `cluster.gateway`): the CRDs and its
    /// manifest are applied before the user's manifests.
    pub gateway: Option<crate::gateway::GatewayAddon>,
    /// What every node's kernel does when two packets of one new UDP flow race through
    /// conntrack and the second is NATed elsewhere (a scenario's `cluster.conntrackNatClash`):
    /// insert it too (kernels since 5.6, the default) or drop it (`insert_failed`, older
    /// kernels: the "5-second DNS delay").
    pub nat_clash: sim_net::conntrack::NatClash,
    /// How every node's kernel searches for a free source-NAT port (a scenario's
    /// `cluster.natPortSearch`): from a random offset (Linux 5.x and later, the default) or
    /// from a shared rover (older kernels: kubernetes#23604's port collisions).
    pub nat_port_search: sim_net::nat::PortSearch,
    /// Whether the nodes' iptables can write `MASQUERADE --random-fully` (1.6.2 and later; a
    /// scenario's `cluster.iptablesRandomFully`, default true). kube-proxy adds the flag to its
    /// MASQUERADE rules only then (`iptables.HasRandomFully()`).
    pub iptables_random_fully: bool,
    /// The UDP conntrack cleanup every node's kube-proxy runs after a sync (a scenario's
    /// `cluster.kubeProxyConntrackCleanup`): upstream's reconciler (the default), v1.32's
    /// reconciler that skips service ports without endpoints, or none.
    pub kube_proxy_udp_cleanup: crate::kube_proxy::conntrack::UdpCleanup,
    /// CPUs per node (a scenario's `cluster.nodeCPUs`, default 2): kube-proxy's
    /// `conntrack.maxPerCore` scales with it, and `conntrack -S` prints a line per CPU.
    pub node_cpus: u32,
    /// `net.netfilter.nf_conntrack_max` on every node (a scenario's `cluster.conntrackMax`),
    /// written after kube-proxy's start-up value, as a `sysctl -w` once the cluster is up;
    /// `None` keeps kube-proxy's.
    pub conntrack_max: Option<usize>,
}

/// The kubelet's DNS settings (KubeletConfiguration `clusterDNS`, `clusterDomain`,
/// `resolvConf`; the flags `--cluster-dns`, `--cluster-domain`, `--resolv-conf`). `None` is
/// kubeadm's value: the `kube-dns` Service IP, the cluster's domain, the node's resolv.conf.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KubeletDnsConfig {
    /// `clusterDNS`: nameservers of ClusterFirst pods (an empty list: pods fall back to Default).
    pub cluster_dns: Option<Vec<std::net::IpAddr>>,
    /// `clusterDomain`: the domain of the pods' search list and /etc/hosts FQDN.
    pub cluster_domain: Option<String>,
    /// `resolvConf`: the node's resolver file Default pods get and ClusterFirst pods take search
    /// domains from. netsim models one node file (`nameserver <node network's first address>`);
    /// any path reads it, and `""` is no file at all, as the kubelet takes it.
    pub resolv_conf: Option<String>,
}

/// The address Docker gives `docker0` (its default `bip`).
pub const DOCKER0_NET: (std::net::Ipv4Addr, u8) = (Ipv4Addr::new(172, 17, 0, 1), 16);

impl ClusterConfig {
    /// The default cluster: `master` 10.32.1.147 (control plane), `node01` 10.32.1.148 and
    /// `node02` 10.32.1.149 on 10.32.1.0/24 (article 001), pod CIDR 10.244.0.0/16, service CIDR
    /// 10.96.0.0/12, node ports 30000-32767, bridge `cni0`, CoreDNS, no cloud provider, and one
    /// external host `client` at 10.32.1.200.
    pub fn default_cluster() -> ClusterConfig {
        let node = |name: &str, last: u8, role| NodeConfig {
            name: name.to_string(),
            ip: Ipv4Addr::new(10, 32, 1, last),
            role,
            labels: IndexMap::new(),
            listens: Vec::new(),
            pod_cidr: None,
            addresses: Vec::new(),
        };
        ClusterConfig {
            nodes: vec![
                node("master", 147, NodeRole::ControlPlane),
                node("node01", 148, NodeRole::Worker),
                node("node02", 149, NodeRole::Worker),
            ],
            node_network: Ipv4Net::new(Ipv4Addr::new(10, 32, 1, 0), 24).unwrap_or_default(),
            cluster_cidr: Ipv4Net::new(Ipv4Addr::new(10, 244, 0, 0), 16).unwrap_or_default(),
            service_cidr: Ipv4Net::new(Ipv4Addr::new(10, 96, 0, 0), 12).unwrap_or_default(),
            node_port_range: (30000, 32767),
            bridge: "cni0".to_string(),
            external_hosts: vec![ExternalHostConfig {
                name: "client".to_string(),
                ip: Ipv4Addr::new(10, 32, 1, 200),
                listens: Vec::new(),
            }],
            upstream_dns: IndexMap::new(),
            upstream_resolvers: Vec::new(),
            lb_pool: Vec::new(),
            lb_health: Default::default(),
            cluster_domain: "cluster.local".to_string(),
            core_dns: true,
            kubelet_dns: KubeletDnsConfig::default(),
            proxy_mode: None,
            docker0: false,
            iptables_backend: sim_net::netfilter::Backend::Legacy,
            ingress: None,
            gateway: None,
            nat_clash: sim_net::conntrack::NatClash::Insert,
            nat_port_search: sim_net::nat::PortSearch::Random,
            iptables_random_fully: true,
            kube_proxy_udp_cleanup: crate::kube_proxy::conntrack::UdpCleanup::Reconcile,
            node_cpus: 2,
            conntrack_max: None,
        }
    }

    /// The nameservers of every node's `/etc/resolv.conf`: the upstream resolver hosts (at
    /// most three, as glibc reads), else the node network's gateway.
    pub fn node_nameservers(&self) -> Vec<Ipv4Addr> {
        if self.upstream_resolvers.is_empty() {
            return vec![super::build::gateway(self)];
        }
        self.upstream_resolvers.iter().map(|r| r.ip).take(crate::dns::resolv_conf::MAX_NAMESERVERS).collect()
    }

    /// The address of the `kubernetes` service: the first address of the service CIDR.
    pub fn kubernetes_service_ip(&self) -> Ipv4Addr {
        nth_address(self.service_cidr, 1)
    }

    /// The address of the `kube-dns` service: the tenth address of the service CIDR, as kubeadm
    /// configures `clusterDNS`.
    pub fn dns_service_ip(&self) -> Ipv4Addr {
        nth_address(self.service_cidr, 10)
    }

    /// The pod CIDR of the `i`-th node: the `i`-th /24 of the cluster CIDR (the node IPAM
    /// controller's order when nodes register in this order).
    pub fn pod_cidr(&self, i: usize) -> Option<Ipv4Net> {
        if let Some(own) = self.nodes.get(i).and_then(|n| n.pod_cidr) {
            return Some(own);
        }
        // kube-controller-manager's --node-cidr-mask-size defaults to 24 for IPv4.
        let len = self.cluster_cidr.prefix_len();
        if len > 24 {
            return None;
        }
        let count = 1u64 << (24 - len);
        let i = u64::try_from(i).ok().filter(|i| *i < count)?;
        let base = u64::from(u32::from(self.cluster_cidr.network()));
        let addr = u32::try_from(base + (i << 8)).ok()?;
        Ipv4Net::new(Ipv4Addr::from(addr), 24).ok()
    }

    /// The smallest network, no longer than /24, that holds every node's address: the node
    /// network when Node objects (a real cluster's dump) define the nodes.
    pub fn network_of_nodes(&self) -> Option<Ipv4Net> {
        let mut ips = self.nodes.iter().map(|n| u32::from(n.ip));
        let first = ips.next()?;
        let differ = ips.fold(0u32, |acc, ip| acc | (ip ^ first));
        let len = (differ.leading_zeros() as u8).min(24);
        Ipv4Net::new(Ipv4Addr::from(first), len).ok().map(|n| n.trunc())
    }
}

/// The `n`-th address of a network (`n = 0` is the network address).
pub fn nth_address(net: Ipv4Net, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.network()).wrapping_add(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_cluster_matches_article_001() {
        let c = ClusterConfig::default_cluster();
        assert_eq!(
            c.nodes.iter().map(|n| n.ip.to_string()).collect::<Vec<_>>(),
            ["10.32.1.147", "10.32.1.148", "10.32.1.149"]
        );
        assert_eq!(c.kubernetes_service_ip(), Ipv4Addr::new(10, 96, 0, 1));
        assert_eq!(c.dns_service_ip(), Ipv4Addr::new(10, 96, 0, 10));
        assert_eq!(c.pod_cidr(0).map(|n| n.to_string()).as_deref(), Some("10.244.0.0/24"));
        assert_eq!(c.pod_cidr(2).map(|n| n.to_string()).as_deref(), Some("10.244.2.0/24"));
    }
}
