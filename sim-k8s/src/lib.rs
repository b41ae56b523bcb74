//! placeholder
pub mod kube_proxy;
