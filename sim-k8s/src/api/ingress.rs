//! `Ingress` and `IngressClass` (networking.k8s.io/v1). The spec is stored as written (an
//! opaque value, so `kubectl get -o yaml` gives back what was applied, v1beta1 spellings
//! included); [`Ingress::rules`] reads it into the typed [`IngressSpec`] that validation and
//! the ingress controller (`crate::ingress`) use. An IngressClass names its controller
//! (`k8s.io/ingress-nginx`) and may be the cluster's default
//! (`ingressclass.kubernetes.io/is-default-class: "true"`).

use serde::{Deserialize, Serialize};

use super::meta::ObjectMeta;

/// The annotation that makes an IngressClass the default (`networking.IngressClassAnnotation`
/// is the legacy per-Ingress one, [`LEGACY_CLASS_ANNOTATION`]).
pub const DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";
/// The pre-1.18 way an Ingress named its class.
pub const LEGACY_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

/// An Ingress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ingress {
    /// `apiVersion` as written.
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written.
    #[serde(default)]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Rules, TLS and backends, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<serde_json::Value>,
    /// Observed state (`loadBalancer.ingress`, written by the controller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

impl Ingress {
    /// The spec, typed. v1beta1's `backend`/`serviceName`/`servicePort` spellings are read as
    /// v1's. A spec that does not have the v1 shape gives the serde message.
    pub fn rules(&self) -> Result<IngressSpec, String> {
        match &self.spec {
            None => Ok(IngressSpec::default()),
            Some(v) => {
                let mut spec: IngressSpec = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
                if spec.default_backend.is_none() {
                    spec.default_backend = spec.backend.take();
                }
                Ok(spec)
            }
        }
    }

    /// The class the Ingress asks for: `spec.ingressClassName`, else the legacy annotation.
    pub fn class_name(&self) -> Option<String> {
        let from_spec = self
            .spec
            .as_ref()
            .and_then(|s| s.get("ingressClassName"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        from_spec.or_else(|| self.metadata.annotations.get(LEGACY_CLASS_ANNOTATION).cloned())
    }
}

/// `IngressSpec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressSpec {
    /// `ingressClassName`.
    #[serde(default)]
    pub ingress_class_name: Option<String>,
    /// `defaultBackend`.
    #[serde(default)]
    pub default_backend: Option<IngressBackend>,
    /// v1beta1's `backend`.
    #[serde(default, skip_serializing)]
    pub backend: Option<IngressBackend>,
    /// `tls`.
    #[serde(default)]
    pub tls: Vec<IngressTls>,
    /// `rules`.
    #[serde(default)]
    pub rules: Vec<IngressRule>,
}

/// `IngressTLS`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressTls {
    /// Hosts the certificate covers.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// The Secret holding it.
    #[serde(default)]
    pub secret_name: Option<String>,
}

/// `IngressRule`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressRule {
    /// Host (exact, or `*.` wildcard); empty for every host.
    #[serde(default)]
    pub host: String,
    /// HTTP paths.
    #[serde(default)]
    pub http: Option<HttpIngressRuleValue>,
}

/// `HTTPIngressRuleValue`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpIngressRuleValue {
    /// Paths.
    #[serde(default)]
    pub paths: Vec<HttpIngressPath>,
}

/// `HTTPIngressPath`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpIngressPath {
    /// The path (absent means `/`, as the API server defaults nothing but nginx reads it so).
    #[serde(default)]
    pub path: Option<String>,
    /// `Exact`, `Prefix` or `ImplementationSpecific`, as written.
    #[serde(default)]
    pub path_type: Option<String>,
    /// Where matching requests go.
    #[serde(default)]
    pub backend: IngressBackend,
}

/// `IngressBackend` (v1's `service`/`resource`, or v1beta1's `serviceName`/`servicePort`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressBackend {
    /// A Service backend.
    #[serde(default)]
    pub service: Option<IngressServiceBackend>,
    /// A resource backend (`apiGroup`, `kind`, `name`).
    #[serde(default)]
    pub resource: Option<serde_json::Value>,
    /// v1beta1 `serviceName`.
    #[serde(default, skip_serializing)]
    pub service_name: Option<String>,
    /// v1beta1 `servicePort`.
    #[serde(default, skip_serializing)]
    pub service_port: Option<serde_json::Value>,
}

impl IngressBackend {
    /// The Service backend, v1beta1's spelling folded in.
    pub fn service(&self) -> Option<IngressServiceBackend> {
        if let Some(s) = &self.service {
            return Some(s.clone());
        }
        let name = self.service_name.clone()?;
        let port = match &self.service_port {
            Some(serde_json::Value::Number(n)) => {
                ServiceBackendPort { number: n.as_i64().and_then(|n| i32::try_from(n).ok()), name: None }
            }
            Some(serde_json::Value::String(s)) => ServiceBackendPort { number: None, name: Some(s.clone()) },
            _ => ServiceBackendPort::default(),
        };
        Some(IngressServiceBackend { name, port: Some(port) })
    }
}

/// `IngressServiceBackend`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressServiceBackend {
    /// Service name.
    #[serde(default)]
    pub name: String,
    /// Service port.
    #[serde(default)]
    pub port: Option<ServiceBackendPort>,
}

/// `ServiceBackendPort`: a port number or a port name (exactly one).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceBackendPort {
    /// Port name.
    #[serde(default)]
    pub name: Option<String>,
    /// Port number.
    #[serde(default)]
    pub number: Option<i32>,
}

impl std::fmt::Display for ServiceBackendPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.number, &self.name) {
            (Some(n), _) if *n != 0 => write!(f, "{n}"),
            (_, Some(name)) => f.write_str(name),
            _ => f.write_str("0"),
        }
    }
}

/// An IngressClass.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngressClass {
    /// `apiVersion` as written.
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written.
    #[serde(default)]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The controller and its parameters.
    #[serde(default)]
    pub spec: IngressClassSpec,
}

impl IngressClass {
    /// True when annotated as the cluster's default class.
    pub fn is_default(&self) -> bool {
        self.metadata.annotations.get(DEFAULT_CLASS_ANNOTATION).is_some_and(|v| v == "true")
    }
}

/// `IngressClassSpec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngressClassSpec {
    /// The controller's name (`k8s.io/ingress-nginx`).
    #[serde(default)]
    pub controller: String,
    /// Controller parameters (kept, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<serde_json::Value>,
}
