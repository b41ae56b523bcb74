//! sim-k8s: the Kubernetes model of netsim.
//!
//! - [`apps`]: what servers answer, by container image.
//! - [`cluster`]: the simulated cluster (nodes, pods, CNI) and its configuration.
//! - [`dns`]: CoreDNS's answers, DNS messages, pod resolv.conf and stub resolvers, nslookup/dig.
//! - [`kube_proxy`]: kube-proxy's iptables mode: the iptables-restore input it writes per node.

pub mod apps;
pub mod cluster;
pub mod dns;
pub mod kube_proxy;
