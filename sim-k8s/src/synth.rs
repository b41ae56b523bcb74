//! Synthetic clusters for scale measurements: ordinary manifests as a user (or `kubectl get -o
//! yaml` of a real cluster) would give them — Nodes with their InternalIP and podCIDR,
//! Namespaces, Services, and either one Deployment per Service (pods made by the controllers),
//! explicit EndpointSlices with no pods, or a dump of running Pods with their status (podIP,
//! nodeName, conditions) and the EndpointSlices that list them.
//!
//! The shape follows the Kubernetes scalability envelope (5,000 nodes, 150,000 pods, 10,000
//! services, at most 100 endpoints per slice): nodes on 10.0.0.0/16 from 10.0.0.10, pod CIDRs
//! /24s of 10.128.0.0/9 in node order (a KubeProxyConfiguration says `clusterCIDR:
//! 10.128.0.0/9`), services spread over namespaces of at most 100. Everything is a pure function
//! of the spec: the same spec gives the same bytes. `netsim generate` writes it; the top-level
//! benches and `docs/performance.md` use it.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// What the generated cluster holds besides Nodes, Namespaces and Services.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One Deployment per Service; pods come from the controllers and the scheduler.
    Deployments,
    /// One selector-less Service per set of EndpointSlices (≤ 100 endpoints each); no pods.
    EndpointSlices,
    /// A dump of a running cluster: Pods with status (podIP, nodeName, Ready) and the
    /// EndpointSlices the controller would have written for them.
    Dump,
}

impl Shape {
    /// Parses `deployments`, `endpointslices` or `dump`.
    pub fn parse(s: &str) -> Option<Shape> {
        match s {
            "deployments" => Some(Shape::Deployments),
            "endpointslices" => Some(Shape::EndpointSlices),
            "dump" => Some(Shape::Dump),
            _ => None,
        }
    }
}

/// The size and shape of a synthetic cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SynthSpec {
    /// Nodes (the first is the control plane).
    pub nodes: usize,
    /// Services.
    pub services: usize,
    /// Pods (or endpoints) in all; spread evenly over the services.
    pub pods: usize,
    /// What backs the services.
    pub shape: Shape,
}

/// Services per namespace.
const SERVICES_PER_NAMESPACE: usize = 100;
/// Endpoints per EndpointSlice (the controller's `--max-endpoints-per-slice` default).
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;
/// The pod network the generated nodes' /24s come from.
pub const CLUSTER_CIDR: &str = "10.128.0.0/9";

/// The address of node `i` (10.0.0.10 onwards on 10.0.0.0/16).
pub fn node_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 10)) + i as u32)
}

/// The name of node `i` (`node-0000` is the control plane).
pub fn node_name(i: usize) -> String {
    format!("node-{i:04}")
}

/// The pod CIDR of node `i`: the i-th /24 of 10.128.0.0/9.
pub fn node_pod_cidr(i: usize) -> (Ipv4Addr, u8) {
    (Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 128, 0, 0)) + ((i as u32) << 8)), 24)
}

/// The name of service `s` and its namespace.
pub fn service_name(s: usize) -> (String, String) {
    (format!("ns-{:03}", s / SERVICES_PER_NAMESPACE), format!("svc-{s:05}"))
}

/// The manifests, as one multi-document YAML stream.
pub fn manifests(spec: &SynthSpec) -> String {
    let mut out = String::with_capacity(spec.pods * 700 + spec.services * 600 + spec.nodes * 500);
    let _ = writeln!(
        out,
        "# netsim generate: {} nodes, {} services, {} {} ({:?})",
        spec.nodes,
        spec.services,
        spec.pods,
        if spec.shape == Shape::Deployments { "pods" } else { "endpoints" },
        spec.shape
    );
    out.push_str(&format!(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\nclusterCIDR: {CLUSTER_CIDR}\n"
    ));
    for i in 0..spec.nodes {
        node(&mut out, i);
    }
    let namespaces = spec.services.div_ceil(SERVICES_PER_NAMESPACE);
    for n in 0..namespaces {
        let _ = write!(out, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-{n:03}\n");
    }
    let workers = spec.nodes.saturating_sub(1).max(1);
    let mut next_pod = 0usize;
    for s in 0..spec.services {
        let (ns, name) = service_name(s);
        // Pods spread evenly: the first `pods % services` services get one more.
        let count = spec.pods / spec.services.max(1) + usize::from(s < spec.pods % spec.services.max(1));
        service(&mut out, &ns, &name, spec.shape != Shape::EndpointSlices);
        match spec.shape {
            Shape::Deployments => deployment(&mut out, &ns, &name, count),
            Shape::EndpointSlices | Shape::Dump => {
                let pods: Vec<(usize, usize)> = (0..count)
                    .map(|k| {
                        let p = next_pod + k;
                        (p, 1 + p % workers)
                    })
                    .collect();
                if spec.shape == Shape::Dump {
                    for (k, (p, node)) in pods.iter().enumerate() {
                        pod(&mut out, &ns, &name, k, pod_ip(*p, *node, workers), *node);
                    }
                }
                for (c, chunk) in pods.chunks(MAX_ENDPOINTS_PER_SLICE).enumerate() {
                    slice(&mut out, &ns, &name, c, chunk, workers, spec.shape == Shape::Dump);
                }
            }
        }
        next_pod += count;
    }
    out
}

/// Pod `p` on node `node`: host index within the node's /24 (from .2; .1 is the bridge).
fn pod_ip(p: usize, node: usize, workers: usize) -> Ipv4Addr {
    let (net, _) = node_pod_cidr(node);
    let host = (p / workers) % 253 + 2;
    Ipv4Addr::from(u32::from(net) + host as u32)
}

fn node(out: &mut String, i: usize) {
    let name = node_name(i);
    let (cidr, len) = node_pod_cidr(i);
    let role = if i == 0 { "    node-role.kubernetes.io/control-plane: \"\"\n" } else { "" };
    let taints = if i == 0 {
        "  taints:\n  - effect: NoSchedule\n    key: node-role.kubernetes.io/control-plane\n"
    } else {
        ""
    };
    let _ = write!(
        out,
        "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  labels:\n    kubernetes.io/hostname: {name}\n    kubernetes.io/os: linux\n{role}spec:\n  podCIDR: {cidr}/{len}\n  podCIDRs:\n  - {cidr}/{len}\n{taints}status:\n  addresses:\n  - address: {}\n    type: InternalIP\n  - address: {name}\n    type: Hostname\n  conditions:\n  - status: \"True\"\n    type: Ready\n",
        node_ip(i)
    );
}

fn service(out: &mut String, ns: &str, name: &str, selector: bool) {
    let _ = write!(
        out,
        "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n    targetPort: 8080\n"
    );
    if selector {
        let _ = writeln!(out, "  selector:\n    app: {name}");
    }
}

fn deployment(out: &mut String, ns: &str, name: &str, replicas: usize) {
    let _ = write!(
        out,
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: web\n        image: registry.k8s.io/e2e-test-images/agnhost:2.39\n        ports:\n        - containerPort: 8080\n"
    );
}

fn pod(out: &mut String, ns: &str, svc: &str, k: usize, ip: Ipv4Addr, node: usize) {
    let node = node_name(node);
    let _ = write!(
        out,
        "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {svc}-{k:05}\n  namespace: {ns}\n  labels:\n    app: {svc}\nspec:\n  nodeName: {node}\n  containers:\n  - name: web\n    image: registry.k8s.io/e2e-test-images/agnhost:2.39\n    ports:\n    - containerPort: 8080\nstatus:\n  phase: Running\n  hostIP: {}\n  podIP: {ip}\n  podIPs:\n  - ip: {ip}\n  conditions:\n  - status: \"True\"\n    type: Ready\n  - status: \"True\"\n    type: ContainersReady\n",
        node_ip_of(&node)
    );
}

fn node_ip_of(name: &str) -> Ipv4Addr {
    let i: usize = name.trim_start_matches("node-").parse().unwrap_or(0);
    node_ip(i)
}

fn slice(
    out: &mut String,
    ns: &str,
    svc: &str,
    c: usize,
    pods: &[(usize, usize)],
    workers: usize,
    with_target: bool,
) {
    let _ = write!(
        out,
        "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: {svc}-{c:05}\n  namespace: {ns}\n  labels:\n    kubernetes.io/service-name: {svc}\naddressType: IPv4\nports:\n- name: http\n  port: 8080\n  protocol: TCP\nendpoints:\n"
    );
    for (k, (p, node)) in pods.iter().enumerate() {
        let ip = pod_ip(*p, *node, workers);
        let _ = write!(
            out,
            "- addresses:\n  - {ip}\n  conditions:\n    ready: true\n  nodeName: {}\n",
            node_name(*node)
        );
        if with_target {
            let _ = write!(
                out,
                "  targetRef:\n    kind: Pod\n    name: {svc}-{:05}\n    namespace: {ns}\n",
                c * MAX_ENDPOINTS_PER_SLICE + k
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_distinct_and_in_their_node_cidr() {
        let spec = SynthSpec { nodes: 11, services: 7, pods: 1000, shape: Shape::Dump };
        let text = manifests(&spec);
        let ips: std::collections::BTreeSet<&str> =
            text.lines().filter_map(|l| l.strip_prefix("  podIP: ")).collect();
        assert_eq!(ips.len(), 1000);
        assert_eq!(node_ip(4999), Ipv4Addr::new(10, 0, 19, 145));
        assert_eq!(node_pod_cidr(4999).0, Ipv4Addr::new(10, 147, 135, 0));
        assert_eq!(pod_ip(0, 1, 10), Ipv4Addr::new(10, 128, 1, 2));
    }

    #[test]
    fn same_spec_same_bytes() {
        let spec = SynthSpec { nodes: 3, services: 2, pods: 5, shape: Shape::Deployments };
        assert_eq!(manifests(&spec), manifests(&spec));
        assert!(manifests(&spec).contains("replicas: 3"));
    }
}
