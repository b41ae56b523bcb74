//! The simulated cluster: nodes as network namespaces with a CNI bridge, pods as namespaces
//! wired by veth pairs, external hosts, and the processes (controllers, kubelet, kube-proxy,
//! CoreDNS) that run in simulated time.
//!
//! - [`config`]: the cluster's shape and the default cluster.

pub mod config;

pub use config::{ClusterConfig, ExternalHostConfig, NodeConfig, NodeRole};
