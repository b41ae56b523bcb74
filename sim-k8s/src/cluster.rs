//! The simulated cluster: nodes as network namespaces with a CNI bridge, pods as namespaces
//! wired by veth pairs, external hosts, and the processes (controllers, kubelet, kube-proxy,
//! CoreDNS) that run in simulated time.
//!
//! - [`config`]: the cluster's shape and the default cluster.
//! - [`build`]: the topology and the objects a kubeadm cluster starts with.
//! - [`world`]: the discrete-event world (events, CNI, kube-proxy agents, load balancers).
//! - [`facade`]: [`Cluster`], the cluster as users drive it.
//! - [`exec`]: commands in pods and on hosts (curl, nslookup, ping, iptables, conntrack ...).
//! - [`ops`]: netsim's path view of a connection, and fault injection.
//! - [`lb_health`]: the cloud load balancer's health checks of `externalTrafficPolicy: Local`.
//! - [`faults`]: faults as typed scenario steps (nodes, kube-proxy, pods, conntrack).
//! - [`tcpdump`]: `tcpdump` on a target and the shell's background jobs (`&`, `kill`, `jobs`).
//! - [`pipeline`]: shell syntax around commands: `|` into text filters, `&&`/`;`, `>`, `$(...)`.
//! - [`trace_report`]: a traced connection as structured data (summary, packets, hops), as text.
//! - [`logs`]: `kubectl logs` of the processes that keep one (CoreDNS, ingress-nginx).
//! - [`command`]: command lines typed in pods and hosts, parsed.
//! - [`curl`]: curl and BusyBox wget: their options, requests and output.
//! - [`traffic`]: load at a constant rate in simulated time, and how each request ended.
//! - [`dns_apps`]: CoreDNS's server and forwarder in its pods, and the upstream resolver hosts'.
//! - [`dns_view`]: API objects as CoreDNS's informers see them.
//! - [`proxy_view`]: API objects as kube-proxy's informers see them.
//! - [`probes`]: how the simulated processes answer the kubelet's readiness probes.

pub mod build;
pub mod command;
pub mod config;
pub mod curl;
pub mod dns_apps;
pub mod dns_view;
pub mod docker;
pub mod exec;
pub mod facade;
pub mod faults;
pub mod hung_apps;
pub mod image_tools;
pub mod lb_health;
pub mod logs;
pub mod netstat;
pub mod ops;
pub mod ping;
pub mod pipeline;
pub mod probes;
pub mod proxy_view;
pub mod served_ports;
#[cfg(test)]
mod socket_fixtures;
pub mod ss;
pub mod tcpdump;
pub mod trace_report;
pub mod traceroute;
pub mod traffic;
pub mod world;

pub use config::{ClusterConfig, ExternalHostConfig, KubeletDnsConfig, NodeConfig, NodeRole};
pub use facade::{Cluster, Target};
