//! API-server validation with the API server's own words. Errors are `field.Error` values from
//! `k8s.io/apimachinery/pkg/util/validation/field` and render exactly like `ErrorBody()`:
//! `spec.ports[0].port: Required value`, `spec.type: Unsupported value: "Foo": supported values:
//! "ClusterIP", ...`, and `kubectl` wraps them as `The Service "x" is invalid: ...`. Rules follow
//! `pkg/apis/core/validation/validation.go` (Service, Endpoints, Pod, Node, Namespace) and
//! `pkg/apis/apps/validation` (workloads), applied to an object after defaulting; fields left
//! unset are treated as their defaults so un-defaulted objects validate the same way.
//! Left out: rules for fields netsim does not model (volumes, resources, security contexts).

pub mod gateway;
pub mod ingress;
pub mod names;
pub mod pod;
pub mod proxy_config;
pub mod service;
pub mod workload;

use std::fmt;

use crate::api::{Kind, Object};

/// The class of a field error (`field.ErrorType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorType {
    /// `Not found`.
    NotFound,
    /// `Required value`.
    Required,
    /// `Duplicate value`.
    Duplicate,
    /// `Invalid value`.
    Invalid,
    /// `Unsupported value`.
    NotSupported,
    /// `Forbidden`.
    Forbidden,
    /// `Too long`.
    TooLong,
    /// `Too many`.
    TooMany,
    /// `Internal error`.
    Internal,
}

impl ErrorType {
    /// The text Go prints for the type.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::NotFound => "Not found",
            ErrorType::Required => "Required value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::Invalid => "Invalid value",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::TooLong => "Too long",
            ErrorType::TooMany => "Too many",
            ErrorType::Internal => "Internal error",
        }
    }
}

/// The offending value, printed the way `ErrorBody()` prints Go values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadValue {
    /// No value shown (Required, Forbidden, ...).
    Omit,
    /// An integer, printed bare: `Invalid value: 8080`.
    Int(i64),
    /// A boolean, printed bare.
    Bool(bool),
    /// A string, printed quoted: `Invalid value: "Foo"`.
    Str(String),
    /// Any other Go value, already rendered with `%#v` (`[]string{"a"}`, `map[string]string{...}`).
    Raw(String),
}

/// One validation error (`field.Error`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Field path, `spec.ports[0].port`.
    pub field: String,
    /// Error class.
    pub type_: ErrorType,
    /// Offending value.
    pub value: BadValue,
    /// Extra detail, appended after `: `.
    pub detail: String,
}

/// Go's `%q` for strings: double quotes with Go escapes.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Longest offending value echoed whole in an error; longer ones are cut (on a character
/// boundary) and say how long they were, so a 4 MB `metadata.name` costs one line of stderr.
pub const MAX_ECHOED_VALUE: usize = 256;

/// `render(v)`, or for a long `v` its first [`MAX_ECHOED_VALUE`] / 4 characters rendered and
/// `... (N bytes, truncated)`.
pub fn bounded(v: &str, render: impl Fn(&str) -> String) -> String {
    if v.len() <= MAX_ECHOED_VALUE {
        return render(v);
    }
    let cut = v.char_indices().nth(MAX_ECHOED_VALUE / 4).map_or(v.len(), |(i, _)| i);
    format!("{}... ({} bytes, truncated)", render(&v[..cut]), v.len())
}

/// Go's `%#v` of a `[]string`.
pub fn go_string_slice(items: &[String]) -> String {
    if items.is_empty() {
        return "[]string(nil)".to_string();
    }
    let inner: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[]string{{{}}}", inner.join(", "))
}

/// Go's `%#v` of a `map[string]string` (keys sorted, as fmt does).
pub fn go_string_map(map: &std::collections::BTreeMap<String, String>) -> String {
    if map.is_empty() {
        return "map[string]string(nil)".to_string();
    }
    let inner: Vec<String> = map.iter().map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v))).collect();
    format!("map[string]string{{{}}}", inner.join(", "))
}

impl FieldError {
    fn new(field: &str, type_: ErrorType, value: BadValue, detail: &str) -> Self {
        FieldError { field: field.to_string(), type_, value, detail: detail.to_string() }
    }
    /// `field.Required(path, detail)`.
    pub fn required(field: &str, detail: &str) -> Self {
        Self::new(field, ErrorType::Required, BadValue::Omit, detail)
    }
    /// `field.Invalid(path, value, detail)`.
    pub fn invalid(field: &str, value: BadValue, detail: &str) -> Self {
        Self::new(field, ErrorType::Invalid, value, detail)
    }
    /// `field.Forbidden(path, detail)`.
    pub fn forbidden(field: &str, detail: &str) -> Self {
        Self::new(field, ErrorType::Forbidden, BadValue::Omit, detail)
    }
    /// `field.Duplicate(path, value)`.
    pub fn duplicate(field: &str, value: BadValue) -> Self {
        Self::new(field, ErrorType::Duplicate, value, "")
    }
    /// `field.NotSupported(path, value, supported)`: the list is sorted like `sets.List`.
    pub fn not_supported(field: &str, value: &str, supported: &[&str]) -> Self {
        let mut s: Vec<&str> = supported.iter().copied().filter(|v| !v.is_empty()).collect();
        s.sort_unstable();
        let quoted: Vec<String> = s.iter().map(|v| go_quote(v)).collect();
        let detail = format!("supported values: {}", quoted.join(", "));
        Self::new(field, ErrorType::NotSupported, BadValue::Str(value.to_string()), &detail)
    }

    /// `ErrorBody()`: everything after the field path.
    pub fn body(&self) -> String {
        let mut s = match (&self.type_, &self.value) {
            (ErrorType::Required | ErrorType::Forbidden | ErrorType::TooLong | ErrorType::Internal, _)
            | (_, BadValue::Omit) => self.type_.as_str().to_string(),
            (t, BadValue::Int(i)) => format!("{}: {i}", t.as_str()),
            (t, BadValue::Bool(b)) => format!("{}: {b}", t.as_str()),
            (t, BadValue::Str(v)) => format!("{}: {}", t.as_str(), bounded(v, go_quote)),
            (t, BadValue::Raw(v)) => format!("{}: {}", t.as_str(), bounded(v, |v| v.to_string())),
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// Builds child paths like `field.Path`.
pub(crate) fn child(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_string() } else { format!("{path}.{name}") }
}

/// `path[i]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// kubectl's rendering of a 422 Invalid status: one error on the same line, several as a
/// `* ` list on the following lines (`cmdutil.StandardErrorMessage` + `MultilineError`).
pub fn render_invalid(kind: Kind, name: &str, errors: &[FieldError]) -> String {
    let head = format!("The {} {} is invalid", kind.as_str(), go_quote(name));
    match errors {
        [] => format!("{head}\n"),
        [one] => format!("{head}: {one}\n"),
        many => {
            let mut s = format!("{head}: \n");
            for e in many {
                s.push_str(&format!("* {e}\n"));
            }
            s
        }
    }
}

/// Validates any object as the API server would on create.
pub fn validate(obj: &Object) -> Vec<FieldError> {
    match obj {
        Object::Service(s) => service::validate_service(s),
        Object::Endpoints(e) => service::validate_endpoints(e),
        Object::EndpointSlice(e) => service::validate_endpoint_slice(e),
        Object::Pod(p) => pod::validate_pod(p),
        Object::Deployment(d) => workload::validate_workload(Kind::Deployment, d),
        Object::ReplicaSet(d) => workload::validate_workload(Kind::ReplicaSet, d),
        Object::StatefulSet(d) => workload::validate_workload(Kind::StatefulSet, d),
        Object::DaemonSet(d) => workload::validate_workload(Kind::DaemonSet, d),
        Object::Namespace(n) => names::validate_meta(&n.metadata, false, names::NameRule::Dns1123Label),
        Object::Node(n) => {
            let mut errs = names::validate_meta(&n.metadata, false, names::NameRule::Dns1123Subdomain);
            if let Some(cidr) = &n.spec.pod_cidr
                && cidr.parse::<ipnet::IpNet>().is_err()
            {
                errs.push(FieldError::invalid(
                    "spec.podCIDR",
                    BadValue::Str(cidr.clone()),
                    "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                ));
            }
            errs
        }
        Object::Ingress(i) => ingress::validate_ingress(i),
        Object::IngressClass(c) => ingress::validate_ingress_class(c),
        Object::ConfigMap(c) => names::validate_meta(&c.metadata, true, names::NameRule::Dns1123Subdomain),
        Object::Secret(s) => {
            let mut errs = names::validate_meta(&s.metadata, true, names::NameRule::Dns1123Subdomain);
            // The API server decodes `data` as Go `[]byte` (standard base64); a bad value fails
            // there with encoding/base64's wording.
            if let Some((key, at)) = s.bad_data() {
                errs.push(FieldError::invalid(
                    &format!("data[{key}]"),
                    BadValue::Omit,
                    &format!("illegal base64 data at input byte {at}"),
                ));
            }
            // `ValidateSecret`: a TLS Secret must carry both keys.
            if s.type_name() == crate::api::secret::SECRET_TYPE_TLS {
                for key in ["tls.crt", "tls.key"] {
                    if !s.has_key(key) {
                        errs.push(FieldError::required(&format!("data[{key}]"), ""));
                    }
                }
            }
            errs
        }
        Object::ValidatingWebhookConfiguration(v) => {
            names::validate_meta(&v.metadata, false, names::NameRule::Dns1123Subdomain)
        }
        Object::ServiceCidr(c) => {
            let mut errs = names::validate_meta(&c.metadata, false, names::NameRule::Dns1123Subdomain);
            if c.spec.cidrs.is_empty() {
                errs.push(FieldError::required("spec.cidrs", ""));
            }
            for (i, cidr) in c.spec.cidrs.iter().enumerate() {
                if cidr.parse::<ipnet::IpNet>().is_err() {
                    errs.push(FieldError::invalid(
                        &index("spec.cidrs", i),
                        BadValue::Str(cidr.clone()),
                        "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                    ));
                }
            }
            errs
        }
        Object::CustomResourceDefinition(c) => {
            names::validate_meta(&c.metadata, false, names::NameRule::Dns1123Subdomain)
        }
        Object::GatewayClass(c) => gateway::validate_gateway_class(c),
        Object::Gateway(g) => gateway::validate_gateway(g),
        Object::HttpRoute(r) => gateway::validate_http_route(r),
        Object::ReferenceGrant(g) => gateway::validate_reference_grant(g),
        Object::KubeProxyConfiguration(c) => proxy_config::validate_proxy_config(c),
        Object::KubeletConfiguration(c) => {
            // The kubelet parses every clusterDNS entry as an IP (kubelet.go); netsim refuses
            // the file instead of dropping an entry with a log line nobody reads.
            let mut errs = Vec::new();
            for (i, ip) in c.cluster_dns.iter().flatten().enumerate() {
                if ip.parse::<std::net::IpAddr>().is_err() {
                    errs.push(FieldError::invalid(
                        &index("clusterDNS", i),
                        BadValue::Str(ip.clone()),
                        "must be a valid IP address",
                    ));
                }
            }
            if let Some(d) = &c.cluster_domain
                && !d.is_empty()
                && crate::dns::Name::parse(d).is_err()
            {
                errs.push(FieldError::invalid(
                    "clusterDomain",
                    BadValue::Str(d.clone()),
                    "must be a valid DNS domain",
                ));
            }
            errs
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_match_go_error_body() {
        assert_eq!(
            FieldError::required("spec.ports[0].port", "").to_string(),
            "spec.ports[0].port: Required value"
        );
        assert_eq!(
            FieldError::not_supported(
                "spec.type",
                "Foo",
                &["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]
            )
            .to_string(),
            "spec.type: Unsupported value: \"Foo\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""
        );
        assert_eq!(
            FieldError::invalid(
                "spec.ports[0].nodePort",
                BadValue::Int(8080),
                "provided port is not in the valid range. The range of valid ports is 30000-32767"
            )
            .to_string(),
            "spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767"
        );
        assert_eq!(
            FieldError::forbidden(
                "spec.sessionAffinityConfig",
                "must not be set when session affinity is None"
            )
            .to_string(),
            "spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None"
        );
    }

    #[test]
    fn kubectl_invalid_rendering() {
        let one = [FieldError::required("spec.ports", "")];
        assert_eq!(
            render_invalid(Kind::Service, "x", &one),
            "The Service \"x\" is invalid: spec.ports: Required value\n"
        );
        let two = [FieldError::required("a", ""), FieldError::required("b", "")];
        assert_eq!(
            render_invalid(Kind::Service, "x", &two),
            "The Service \"x\" is invalid: \n* a: Required value\n* b: Required value\n"
        );
    }

    #[test]
    fn go_value_printing() {
        assert_eq!(go_string_slice(&["10.0.0.1".to_string()]), "[]string{\"10.0.0.1\"}");
        let m =
            [("b".to_string(), "2".to_string()), ("a".to_string(), "1".to_string())].into_iter().collect();
        assert_eq!(go_string_map(&m), "map[string]string{\"a\":\"1\", \"b\":\"2\"}");
    }
}
