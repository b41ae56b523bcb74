//! sim-k8s: the Kubernetes model of netsim.
//!
//! - [`apps`]: what servers answer, by container image.

pub mod apps;
