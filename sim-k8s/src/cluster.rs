//! The simulated cluster: nodes as network namespaces with a CNI bridge, pods as namespaces
//! wired by veth pairs, external hosts, and the processes (controllers, kubelet, kube-proxy,
//! CoreDNS) that run in simulated time.
//!
//! - [`command`]: command lines typed in pods and hosts, parsed.
//! - [`config`]: the cluster's shape and the default cluster.
//! - [`dns_view`]: API objects as CoreDNS's informers see them.
//! - [`proxy_view`]: API objects as kube-proxy's informers see them.

pub mod command;
pub mod config;
pub mod dns_view;
pub mod proxy_view;

pub use config::{ClusterConfig, ExternalHostConfig, NodeConfig, NodeRole};
