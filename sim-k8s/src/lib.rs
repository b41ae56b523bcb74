//! Kubernetes model for netsim: API object types, manifest loading, validation and the
//! in-memory API server; controllers, kube-proxy, CNI and DNS build on these.

pub mod api;
pub mod apiserver;
pub mod controllers;
pub mod kubectl;
pub mod manifest;
pub mod validation;
