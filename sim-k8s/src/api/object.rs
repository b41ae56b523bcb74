//! The closed set of simulated kinds, a sum type over their objects, and the store key.
//! `Kind::resolve` maps an (apiVersion, kind) pair to a simulated kind the way the API server's
//! REST mapper does, including the old workload groups (apps/v1beta1, apps/v1beta2,
//! extensions/v1beta1). Everything else is "not simulated" and handled by the loader.

use std::fmt;

use serde::Serialize;

use super::meta::ObjectMeta;
use super::{
    ConfigMap, CustomResourceDefinition, DaemonSet, Deployment, EndpointSlice, Endpoints, Gateway,
    GatewayClass, HttpRoute, Ingress, IngressClass, KubeProxyConfiguration, KubeletConfiguration, Namespace,
    Node, Pod, ReferenceGrant, ReplicaSet, Secret, Service, ServiceCidr, StatefulSet,
    ValidatingWebhookConfiguration,
};

/// A kind netsim simulates (or at least stores, for Ingress).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Kind {
    /// core/v1 Namespace.
    Namespace,
    /// core/v1 Node.
    Node,
    /// core/v1 Pod.
    Pod,
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 ReplicaSet.
    ReplicaSet,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// apps/v1 DaemonSet.
    DaemonSet,
    /// core/v1 Service.
    Service,
    /// core/v1 Endpoints.
    Endpoints,
    /// discovery.k8s.io/v1 EndpointSlice.
    EndpointSlice,
    /// networking.k8s.io/v1 Ingress (routed by the ingress-nginx model when installed).
    Ingress,
    /// networking.k8s.io/v1 IngressClass.
    IngressClass,
    /// networking.k8s.io/v1 ServiceCIDR.
    ServiceCidr,
    /// core/v1 ConfigMap.
    ConfigMap,
    /// core/v1 Secret (stored; contents not decoded).
    Secret,
    /// admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration.
    ValidatingWebhookConfiguration,
    /// apiextensions.k8s.io/v1 CustomResourceDefinition (stored; the schema is not evaluated).
    CustomResourceDefinition,
    /// gateway.networking.k8s.io/v1 GatewayClass (a custom resource: needs its CRD).
    GatewayClass,
    /// gateway.networking.k8s.io/v1 Gateway (a custom resource: needs its CRD).
    Gateway,
    /// gateway.networking.k8s.io/v1 HTTPRoute (a custom resource: needs its CRD).
    HttpRoute,
    /// gateway.networking.k8s.io/v1beta1 ReferenceGrant (a custom resource: needs its CRD).
    ReferenceGrant,
    /// kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration (a config file, not an API object).
    KubeProxyConfiguration,
    /// kubelet.config.k8s.io/v1beta1 KubeletConfiguration (a config file, not an API object).
    KubeletConfiguration,
}

/// How an (apiVersion, kind) pair maps onto netsim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// A simulated kind in a served version.
    Simulated(Kind),
    /// A simulated kind name in a group/version that does not serve it.
    WrongVersion(Kind),
    /// Anything else (ConfigMap, Secret, CRDs, ...).
    NotSimulated,
}

const WORKLOAD_VERSIONS: &[&str] = &["apps/v1", "apps/v1beta1", "apps/v1beta2", "extensions/v1beta1"];

impl Kind {
    /// Every kind, in store order.
    pub const ALL: &'static [Kind] = &[
        Kind::Namespace,
        Kind::Node,
        Kind::Pod,
        Kind::Deployment,
        Kind::ReplicaSet,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::Service,
        Kind::Endpoints,
        Kind::EndpointSlice,
        Kind::Ingress,
        Kind::IngressClass,
        Kind::ServiceCidr,
        Kind::ConfigMap,
        Kind::Secret,
        Kind::ValidatingWebhookConfiguration,
        Kind::CustomResourceDefinition,
        Kind::GatewayClass,
        Kind::Gateway,
        Kind::HttpRoute,
        Kind::ReferenceGrant,
        Kind::KubeProxyConfiguration,
        Kind::KubeletConfiguration,
    ];

    /// The `kind:` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::Node => "Node",
            Kind::Pod => "Pod",
            Kind::Deployment => "Deployment",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::Service => "Service",
            Kind::Endpoints => "Endpoints",
            Kind::EndpointSlice => "EndpointSlice",
            Kind::Ingress => "Ingress",
            Kind::IngressClass => "IngressClass",
            Kind::ServiceCidr => "ServiceCIDR",
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
            Kind::ValidatingWebhookConfiguration => "ValidatingWebhookConfiguration",
            Kind::CustomResourceDefinition => "CustomResourceDefinition",
            Kind::GatewayClass => "GatewayClass",
            Kind::Gateway => "Gateway",
            Kind::HttpRoute => "HTTPRoute",
            Kind::ReferenceGrant => "ReferenceGrant",
            Kind::KubeProxyConfiguration => "KubeProxyConfiguration",
            Kind::KubeletConfiguration => "KubeletConfiguration",
        }
    }

    /// The REST resource (plural, lower case) used in API messages: `services "x" not found`.
    pub fn resource(self) -> &'static str {
        match self {
            Kind::Namespace => "namespaces",
            Kind::Node => "nodes",
            Kind::Pod => "pods",
            Kind::Deployment => "deployments.apps",
            Kind::ReplicaSet => "replicasets.apps",
            Kind::StatefulSet => "statefulsets.apps",
            Kind::DaemonSet => "daemonsets.apps",
            Kind::Service => "services",
            Kind::Endpoints => "endpoints",
            Kind::EndpointSlice => "endpointslices.discovery.k8s.io",
            Kind::Ingress => "ingresses.networking.k8s.io",
            Kind::IngressClass => "ingressclasses.networking.k8s.io",
            Kind::ServiceCidr => "servicecidrs.networking.k8s.io",
            Kind::ConfigMap => "configmaps",
            Kind::Secret => "secrets",
            Kind::ValidatingWebhookConfiguration => {
                "validatingwebhookconfigurations.admissionregistration.k8s.io"
            }
            Kind::CustomResourceDefinition => "customresourcedefinitions.apiextensions.k8s.io",
            Kind::GatewayClass => "gatewayclasses.gateway.networking.k8s.io",
            Kind::Gateway => "gateways.gateway.networking.k8s.io",
            Kind::HttpRoute => "httproutes.gateway.networking.k8s.io",
            Kind::ReferenceGrant => "referencegrants.gateway.networking.k8s.io",
            Kind::KubeProxyConfiguration => "kubeproxyconfigurations.kubeproxy.config.k8s.io",
            Kind::KubeletConfiguration => "kubeletconfigurations.kubelet.config.k8s.io",
        }
    }

    /// The kubectl `type/name` prefix: `service/x created`, `deployment.apps/x created`.
    pub fn kubectl_prefix(self) -> &'static str {
        match self {
            Kind::Namespace => "namespace",
            Kind::Node => "node",
            Kind::Pod => "pod",
            Kind::Deployment => "deployment.apps",
            Kind::ReplicaSet => "replicaset.apps",
            Kind::StatefulSet => "statefulset.apps",
            Kind::DaemonSet => "daemonset.apps",
            Kind::Service => "service",
            Kind::Endpoints => "endpoints",
            Kind::EndpointSlice => "endpointslice.discovery.k8s.io",
            Kind::Ingress => "ingress.networking.k8s.io",
            Kind::IngressClass => "ingressclass.networking.k8s.io",
            Kind::ServiceCidr => "servicecidr.networking.k8s.io",
            Kind::ConfigMap => "configmap",
            Kind::Secret => "secret",
            Kind::ValidatingWebhookConfiguration => {
                "validatingwebhookconfiguration.admissionregistration.k8s.io"
            }
            Kind::CustomResourceDefinition => "customresourcedefinition.apiextensions.k8s.io",
            Kind::GatewayClass => "gatewayclass.gateway.networking.k8s.io",
            Kind::Gateway => "gateway.gateway.networking.k8s.io",
            Kind::HttpRoute => "httproute.gateway.networking.k8s.io",
            Kind::ReferenceGrant => "referencegrant.gateway.networking.k8s.io",
            Kind::KubeProxyConfiguration => "kubeproxyconfiguration.kubeproxy.config.k8s.io",
            Kind::KubeletConfiguration => "kubeletconfiguration.kubelet.config.k8s.io",
        }
    }

    /// True for the custom-resource kinds, which a write needs an installed CRD for.
    pub fn is_custom_resource(self) -> bool {
        matches!(self, Kind::GatewayClass | Kind::Gateway | Kind::HttpRoute | Kind::ReferenceGrant)
    }

    /// True for namespaced kinds.
    pub fn is_namespaced(self) -> bool {
        !matches!(
            self,
            Kind::Namespace
                | Kind::Node
                | Kind::ServiceCidr
                | Kind::IngressClass
                | Kind::ValidatingWebhookConfiguration
                | Kind::CustomResourceDefinition
                | Kind::GatewayClass
                | Kind::KubeProxyConfiguration
                | Kind::KubeletConfiguration
        )
    }

    /// The preferred apiVersion.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Namespace
            | Kind::Node
            | Kind::Pod
            | Kind::Service
            | Kind::Endpoints
            | Kind::ConfigMap
            | Kind::Secret => "v1",
            Kind::Deployment | Kind::ReplicaSet | Kind::StatefulSet | Kind::DaemonSet => "apps/v1",
            Kind::EndpointSlice => "discovery.k8s.io/v1",
            Kind::Ingress | Kind::IngressClass | Kind::ServiceCidr => "networking.k8s.io/v1",
            Kind::ValidatingWebhookConfiguration => "admissionregistration.k8s.io/v1",
            Kind::CustomResourceDefinition => "apiextensions.k8s.io/v1",
            Kind::GatewayClass | Kind::Gateway | Kind::HttpRoute => "gateway.networking.k8s.io/v1",
            Kind::ReferenceGrant => "gateway.networking.k8s.io/v1beta1",
            Kind::KubeProxyConfiguration => "kubeproxy.config.k8s.io/v1alpha1",
            Kind::KubeletConfiguration => "kubelet.config.k8s.io/v1beta1",
        }
    }

    fn served_versions(self) -> &'static [&'static str] {
        match self {
            Kind::Namespace
            | Kind::Node
            | Kind::Pod
            | Kind::Service
            | Kind::Endpoints
            | Kind::ConfigMap
            | Kind::Secret => &["v1"],
            Kind::Deployment | Kind::ReplicaSet | Kind::DaemonSet => WORKLOAD_VERSIONS,
            Kind::StatefulSet => &["apps/v1", "apps/v1beta1", "apps/v1beta2"],
            Kind::EndpointSlice => &["discovery.k8s.io/v1", "discovery.k8s.io/v1beta1"],
            Kind::Ingress => &["networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1"],
            Kind::IngressClass => &["networking.k8s.io/v1", "networking.k8s.io/v1beta1"],
            Kind::ServiceCidr => &["networking.k8s.io/v1", "networking.k8s.io/v1beta1"],
            Kind::ValidatingWebhookConfiguration => {
                &["admissionregistration.k8s.io/v1", "admissionregistration.k8s.io/v1beta1"]
            }
            Kind::CustomResourceDefinition => &["apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1"],
            // What the standard channel's CRDs serve (v1.6.1); the installed CRD decides at write.
            Kind::GatewayClass | Kind::Gateway | Kind::HttpRoute | Kind::ReferenceGrant => {
                &["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"]
            }
            Kind::KubeProxyConfiguration => &["kubeproxy.config.k8s.io/v1alpha1", "componentconfig/v1alpha1"],
            Kind::KubeletConfiguration => &["kubelet.config.k8s.io/v1beta1"],
        }
    }

    /// Maps an (apiVersion, kind) pair to a simulated kind.
    pub fn resolve(api_version: &str, kind: &str) -> Resolution {
        let Some(k) = Kind::ALL.iter().copied().find(|k| k.as_str() == kind) else {
            return Resolution::NotSimulated;
        };
        if k.is_custom_resource()
            && api_version.rsplit_once('/').map(|(g, _)| g) != Some(super::gateway::GROUP)
        {
            // Another group's kind of the same name (Istio's `networking.istio.io` Gateway).
            return Resolution::NotSimulated;
        }
        if k.served_versions().contains(&api_version) {
            Resolution::Simulated(k)
        } else {
            Resolution::WrongVersion(k)
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One typed object of a simulated kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Object {
    /// A Namespace.
    Namespace(Namespace),
    /// A Node.
    Node(Box<Node>),
    /// A Pod.
    Pod(Pod),
    /// A Deployment.
    Deployment(Box<Deployment>),
    /// A ReplicaSet.
    ReplicaSet(Box<ReplicaSet>),
    /// A StatefulSet.
    StatefulSet(Box<StatefulSet>),
    /// A DaemonSet.
    DaemonSet(Box<DaemonSet>),
    /// A Service.
    Service(Box<Service>),
    /// An Endpoints object.
    Endpoints(Endpoints),
    /// An EndpointSlice.
    EndpointSlice(EndpointSlice),
    /// An Ingress.
    Ingress(Ingress),
    /// An IngressClass.
    IngressClass(IngressClass),
    /// A ServiceCIDR.
    ServiceCidr(ServiceCidr),
    /// A ConfigMap.
    ConfigMap(ConfigMap),
    /// A Secret.
    Secret(Secret),
    /// A ValidatingWebhookConfiguration.
    ValidatingWebhookConfiguration(ValidatingWebhookConfiguration),
    /// A CustomResourceDefinition.
    CustomResourceDefinition(CustomResourceDefinition),
    /// A GatewayClass.
    GatewayClass(GatewayClass),
    /// A Gateway.
    Gateway(Gateway),
    /// An HTTPRoute.
    HttpRoute(HttpRoute),
    /// A ReferenceGrant.
    ReferenceGrant(ReferenceGrant),
    /// A kube-proxy configuration.
    KubeProxyConfiguration(Box<KubeProxyConfiguration>),
    /// A kubelet configuration.
    KubeletConfiguration(KubeletConfiguration),
}

/// An object's observed state on its own, as a write of the `/status` subresource carries it
/// (the kubelet's pod status, a workload controller's replica counts).
///
/// A status lives only for the length of one write, one at a time, and most writes are pods':
/// boxing the pod's would cost an allocation per write to save stack space nobody holds.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum ObjectStatus {
    /// A Pod's.
    Pod(super::pod::PodStatus),
    /// A Deployment's.
    Deployment(Option<super::workload::DeploymentStatus>),
    /// A ReplicaSet's.
    ReplicaSet(Option<super::workload::ReplicaSetStatus>),
    /// A StatefulSet's or DaemonSet's (unparsed).
    Workload(Option<serde_json::Value>),
}

macro_rules! each_object {
    ($obj:expr, $o:ident => $body:expr, kpc => $kpc:expr) => {
        match $obj {
            Object::Namespace($o) => $body,
            Object::Node($o) => $body,
            Object::Pod($o) => $body,
            Object::Deployment($o) => $body,
            Object::ReplicaSet($o) => $body,
            Object::StatefulSet($o) => $body,
            Object::DaemonSet($o) => $body,
            Object::Service($o) => $body,
            Object::Endpoints($o) => $body,
            Object::EndpointSlice($o) => $body,
            Object::Ingress($o) => $body,
            Object::IngressClass($o) => $body,
            Object::ServiceCidr($o) => $body,
            Object::ConfigMap($o) => $body,
            Object::Secret($o) => $body,
            Object::ValidatingWebhookConfiguration($o) => $body,
            Object::CustomResourceDefinition($o) => $body,
            Object::GatewayClass($o) => $body,
            Object::Gateway($o) => $body,
            Object::HttpRoute($o) => $body,
            Object::ReferenceGrant($o) => $body,
            Object::KubeProxyConfiguration(_) | Object::KubeletConfiguration(_) => $kpc,
        }
    };
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Object::Namespace(_) => Kind::Namespace,
            Object::Node(_) => Kind::Node,
            Object::Pod(_) => Kind::Pod,
            Object::Deployment(_) => Kind::Deployment,
            Object::ReplicaSet(_) => Kind::ReplicaSet,
            Object::StatefulSet(_) => Kind::StatefulSet,
            Object::DaemonSet(_) => Kind::DaemonSet,
            Object::Service(_) => Kind::Service,
            Object::Endpoints(_) => Kind::Endpoints,
            Object::EndpointSlice(_) => Kind::EndpointSlice,
            Object::Ingress(_) => Kind::Ingress,
            Object::IngressClass(_) => Kind::IngressClass,
            Object::ServiceCidr(_) => Kind::ServiceCidr,
            Object::ConfigMap(_) => Kind::ConfigMap,
            Object::Secret(_) => Kind::Secret,
            Object::ValidatingWebhookConfiguration(_) => Kind::ValidatingWebhookConfiguration,
            Object::CustomResourceDefinition(_) => Kind::CustomResourceDefinition,
            Object::GatewayClass(_) => Kind::GatewayClass,
            Object::Gateway(_) => Kind::Gateway,
            Object::HttpRoute(_) => Kind::HttpRoute,
            Object::ReferenceGrant(_) => Kind::ReferenceGrant,
            Object::KubeProxyConfiguration(_) => Kind::KubeProxyConfiguration,
            Object::KubeletConfiguration(_) => Kind::KubeletConfiguration,
        }
    }

    /// Object metadata (None for KubeProxyConfiguration, which has none).
    pub fn meta(&self) -> Option<&ObjectMeta> {
        each_object!(self, o => Some(&o.metadata), kpc => None)
    }

    /// Mutable object metadata.
    pub fn meta_mut(&mut self) -> Option<&mut ObjectMeta> {
        each_object!(self, o => Some(&mut o.metadata), kpc => None)
    }

    /// `metadata.name` (empty for KubeProxyConfiguration).
    pub fn name(&self) -> &str {
        self.meta().map(|m| m.name.as_str()).unwrap_or("")
    }

    /// `metadata.namespace` as written (may be empty).
    pub fn namespace(&self) -> &str {
        self.meta().map(|m| m.namespace.as_str()).unwrap_or("")
    }

    /// `apiVersion` as written.
    pub fn api_version(&self) -> &str {
        match self {
            Object::KubeProxyConfiguration(c) => &c.api_version,
            Object::KubeletConfiguration(c) => &c.api_version,
            other => each_object!(other, o => &o.api_version, kpc => ""),
        }
    }

    /// Sets `apiVersion` and `kind` (the loader fills them from the document).
    pub fn set_type_meta(&mut self, api_version: &str) {
        let kind = self.kind().as_str().to_string();
        match self {
            Object::KubeProxyConfiguration(c) => {
                c.api_version = api_version.to_string();
                c.kind = kind;
            }
            Object::KubeletConfiguration(c) => {
                c.api_version = api_version.to_string();
                c.kind = kind;
            }
            other => {
                each_object!(other, o => { o.api_version = api_version.to_string(); o.kind = kind; }, kpc => ())
            }
        }
    }

    /// The store key, with an empty namespace replaced by `default_ns` for namespaced kinds.
    pub fn key(&self, default_ns: &str) -> ObjectKey {
        let kind = self.kind();
        let ns = if !kind.is_namespaced() {
            String::new()
        } else if self.namespace().is_empty() {
            default_ns.to_string()
        } else {
            self.namespace().to_string()
        };
        ObjectKey { kind, namespace: ns, name: self.name().to_string() }
    }

    /// Whether `key` is this stored object's key (as [`Object::key`] with the namespace
    /// defaulted to `default`), without building one.
    pub fn is(&self, key: &ObjectKey) -> bool {
        let kind = self.kind();
        if kind != key.kind || self.name() != key.name {
            return false;
        }
        match (kind.is_namespaced(), self.namespace()) {
            (false, _) => key.namespace.is_empty(),
            (true, "") => key.namespace == "default",
            (true, ns) => key.namespace == ns,
        }
    }
}

macro_rules! accessors {
    ($($fn:ident, $fn_mut:ident, $variant:ident, $ty:ty;)+) => {
        impl Object {
            $(
                #[doc = concat!("The ", stringify!($variant), ", if this is one.")]
                pub fn $fn(&self) -> Option<&$ty> {
                    match self {
                        Object::$variant(o) => Some(o),
                        _ => None,
                    }
                }
                #[doc = concat!("The ", stringify!($variant), ", mutably, if this is one.")]
                pub fn $fn_mut(&mut self) -> Option<&mut $ty> {
                    match self {
                        Object::$variant(o) => Some(o),
                        _ => None,
                    }
                }
            )+
        }
    };
}

accessors! {
    as_namespace, as_namespace_mut, Namespace, Namespace;
    as_node, as_node_mut, Node, Node;
    as_pod, as_pod_mut, Pod, Pod;
    as_deployment, as_deployment_mut, Deployment, Deployment;
    as_replica_set, as_replica_set_mut, ReplicaSet, ReplicaSet;
    as_stateful_set, as_stateful_set_mut, StatefulSet, StatefulSet;
    as_daemon_set, as_daemon_set_mut, DaemonSet, DaemonSet;
    as_service, as_service_mut, Service, Service;
    as_endpoints, as_endpoints_mut, Endpoints, Endpoints;
    as_endpoint_slice, as_endpoint_slice_mut, EndpointSlice, EndpointSlice;
    as_ingress, as_ingress_mut, Ingress, Ingress;
    as_ingress_class, as_ingress_class_mut, IngressClass, IngressClass;
    as_service_cidr, as_service_cidr_mut, ServiceCidr, ServiceCidr;
    as_config_map, as_config_map_mut, ConfigMap, ConfigMap;
    as_secret, as_secret_mut, Secret, Secret;
    as_validating_webhook_configuration, as_validating_webhook_configuration_mut, ValidatingWebhookConfiguration, ValidatingWebhookConfiguration;
    as_custom_resource_definition, as_custom_resource_definition_mut, CustomResourceDefinition, CustomResourceDefinition;
    as_gateway_class, as_gateway_class_mut, GatewayClass, GatewayClass;
    as_gateway, as_gateway_mut, Gateway, Gateway;
    as_http_route, as_http_route_mut, HttpRoute, HttpRoute;
    as_reference_grant, as_reference_grant_mut, ReferenceGrant, ReferenceGrant;
    as_kube_proxy_configuration, as_kube_proxy_configuration_mut, KubeProxyConfiguration, KubeProxyConfiguration;
    as_kubelet_configuration, as_kubelet_configuration_mut, KubeletConfiguration, KubeletConfiguration;
}

/// Identifies one stored object: kind, namespace (empty for cluster-scoped kinds), name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectKey {
    /// Kind.
    pub kind: Kind,
    /// Namespace, empty for cluster-scoped kinds.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ObjectKey {
    /// A key for a namespaced object.
    pub fn new(kind: Kind, namespace: &str, name: &str) -> Self {
        ObjectKey { kind, namespace: namespace.to_string(), name: name.to_string() }
    }
}

/// The parts of a key, borrowed: the store looks objects up by `(kind, namespace, name)` without
/// building an owned [`ObjectKey`] (two allocations per lookup otherwise). It hashes exactly as
/// the `ObjectKey` with the same parts (the same fields in the same order; a `&str` hashes as a
/// `String`), which is what `indexmap`'s borrowed lookups require.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyRef<'a> {
    /// Kind.
    pub kind: Kind,
    /// Namespace, empty for cluster-scoped kinds.
    pub namespace: &'a str,
    /// Name.
    pub name: &'a str,
}

impl<'a> KeyRef<'a> {
    /// The parts of `key`.
    pub fn of(key: &'a ObjectKey) -> Self {
        KeyRef { kind: key.kind, namespace: &key.namespace, name: &key.name }
    }
}

impl indexmap::Equivalent<ObjectKey> for KeyRef<'_> {
    fn equivalent(&self, key: &ObjectKey) -> bool {
        self.kind == key.kind && self.namespace == key.namespace && self.name == key.name
    }
}

impl fmt::Display for ObjectKey {
    /// kubectl's `type/name` reference (`service/my-nginx`); the namespace is not shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.kubectl_prefix(), self.name)
    }
}
