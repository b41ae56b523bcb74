//! sim-k8s: the Kubernetes model of netsim.
//!
//! - [`apps`]: what servers answer, by container image.
//! - [`cluster`]: the simulated cluster (nodes, pods, CNI) and its configuration.

pub mod apps;
pub mod cluster;
