//! sim-k8s: the Kubernetes model of netsim.
//!
//! - [`apps`]: what servers answer, by container image.
//! - [`cluster`]: the simulated cluster (nodes, pods, CNI) and its configuration.
//! - [`kube_proxy`]: kube-proxy's iptables mode: the iptables-restore input it writes per node.

pub mod apps;
pub mod cluster;
pub mod kube_proxy;
