//! sim-k8s: the Kubernetes model of netsim.
//!
//! - [`api`]: typed API objects as users write them (Service, Pod, workloads, Endpoints,
//!   EndpointSlice, Node, Namespace, Ingress, ServiceCIDR, KubeProxyConfiguration).
//! - [`manifest`]: loading YAML/JSON manifests with file:line:column for every error.
//! - [`validation`]: the API server's field validation, in its own words.
//! - [`apiserver`]: the in-memory API server: store, defaults, seeded allocation, change log.
//! - [`controllers`]: Deployment, ReplicaSet, StatefulSet, DaemonSet, scheduler, kubelet,
//!   Endpoints and EndpointSlice controllers, in simulated time.
//! - [`kubectl`]: kubectl command lines against the store, with kubectl's output.
//! - [`apps`]: what servers answer, by container image.
//! - [`http`]: HTTP/1.1 requests and responses as the simulated clients and servers write them.
//! - [`tls`]: the TLS handshake as data (SNI, the certificate presented), nothing encrypted.
//! - [`ingress`]: the ingress-nginx controller: class selection, routing, annotations, status.
//! - [`gateway`]: Gateway API routed by a simulated NGINX Gateway Fabric: class acceptance,
//!   provisioning, route attachment and precedence, filters, weighted backends, statuses.
//! - [`cluster`]: the simulated cluster (nodes, pods, CNI) and its configuration.
//! - [`dns`]: CoreDNS's answers, DNS messages, pod resolv.conf and stub resolvers, nslookup/dig.
//! - [`synth`]: synthetic clusters of any size (the scale benches' input).
//! - [`kube_proxy`]: kube-proxy's iptables mode: the iptables-restore input it writes per node.

pub mod api;
pub mod apiserver;
pub mod apps;
pub mod cluster;
pub mod controllers;
pub mod dns;
pub mod gateway;
pub mod http;
pub mod ingress;
pub mod kube_proxy;
pub mod kubectl;
pub mod manifest;
pub mod synth;
pub mod tls;
pub mod validation;
