//! Kubernetes API object types as users write them in manifests: the subset of `core/v1`,
//! `apps/v1`, `discovery.k8s.io/v1`, `networking.k8s.io/v1` and
//! `kubeproxy.config.k8s.io/v1alpha1` that Service networking depends on.
//!
//! Field names and JSON spellings follow the Go types in `k8s.io/api` (camelCase, `omitempty`
//! fields optional). Enumerated string fields are typed enums that keep an unsupported spelling
//! (`Unsupported("Foo")`) so validation can quote it in the API server's words instead of the
//! decoder rejecting it. Every struct rejects unknown fields (kubectl `--validate=strict`);
//! metadata fields that real `-o yaml` dumps carry (managedFields, selfLink, ...) are accepted
//! and ignored. Left out: resources/limits, volumes, security contexts, affinity and every other
//! field that does not change where packets go — they are reported as unknown fields.

pub mod builtin_kinds;
pub mod config_map;
pub mod crd;
pub mod duration;
pub mod endpoint_slice;
pub mod endpoints;
pub mod gateway;
pub mod ingress;
pub mod intstr;
pub mod kubelet_config;
pub mod meta;
pub mod namespace;
pub mod node;
pub mod object;
pub mod pod;
pub mod proxy_config;
pub mod quantity;
pub mod secret;
pub mod selector;
pub mod service;
pub mod service_cidr;
pub mod string_enum;
pub mod webhook;
pub mod workload;

pub use config_map::ConfigMap;
pub use crd::CustomResourceDefinition;
pub use duration::GoDuration;
pub use endpoint_slice::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice, address_text};
pub use endpoints::{EndpointAddress, EndpointSubset, Endpoints, EndpointsPort};
pub use gateway::{Gateway, GatewayClass, HttpRoute, ReferenceGrant};
pub use ingress::{Ingress, IngressClass};
pub use intstr::IntOrString;
pub use kubelet_config::KubeletConfiguration;
pub use meta::{ObjectMeta, ObjectReference, OwnerReference};
pub use namespace::Namespace;
pub use node::{Node, NodeAddress, NodeAddressType, NodeSpec, NodeStatus, Taint};
pub use object::{KeyRef, Kind, Object, ObjectKey, ObjectStatus};
pub use pod::{
    Container, ContainerPort, ContainerStateRunning, ContainerStateStatus, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, EnvVar, Pod, PodCondition, PodDnsConfig, PodSpec, PodStatus,
    PodTemplateSpec, Probe,
};
pub use proxy_config::KubeProxyConfiguration;
pub use quantity::Quantity;
pub use secret::Secret;
pub use selector::{LabelSelector, LabelSelectorRequirement};
pub use service::{
    ClusterIp, IpFamily, IpFamilyPolicy, Protocol, Service, ServiceAffinity, ServicePort, ServiceSpec,
    ServiceStatus, ServiceType, TrafficPolicy,
};
pub use service_cidr::ServiceCidr;
pub use webhook::ValidatingWebhookConfiguration;
pub use workload::{
    DaemonSet, Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetStatus, StatefulSet,
    WorkloadSpec,
};
