//! Ingress and IngressClass validation as `pkg/apis/networking/validation/validation.go` does
//! it (`ValidateIngressCreate` → `validateIngressSpec`, `validateIngressRules`,
//! `validateHTTPIngressPath`, `validateIngressBackend`, `validateIngressTLS`;
//! `ValidateIngressClass` → `validateIngressClassSpec`), with its messages. The spec is read
//! from the stored value; a spec that is not Ingress-shaped at all is reported as the decoder
//! would (`spec: Invalid value`).

use super::names::{NameRule, dns1035_label, dns1123_subdomain, port_name, port_num, validate_meta};
use super::{BadValue, FieldError, index};
use crate::api::ingress::{HttpIngressPath, IngressBackend};
use crate::api::{Ingress, IngressClass};

/// `supportedPathTypes`.
pub const PATH_TYPES: &[&str] = &["Exact", "ImplementationSpecific", "Prefix"];
/// `invalidPathSequences`.
const INVALID_PATH_SEQUENCES: &[&str] = &["//", "/./", "/../", "%2f", "%2F"];
/// `invalidPathSuffixes`.
const INVALID_PATH_SUFFIXES: &[&str] = &["/..", "/."];

const WILDCARD_MSG: &str = "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// `IsWildcardDNS1123Subdomain`.
pub fn wildcard_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    let ok = value.strip_prefix("*.").is_some_and(|rest| dns1123_subdomain(rest).is_empty());
    if !ok {
        errs.push(WILDCARD_MSG.to_string());
    }
    errs
}

/// A host of a rule or a TLS entry: a DNS subdomain, or a `*.` wildcard one, not an IP.
fn validate_host(path: &str, host: &str, errs: &mut Vec<FieldError>) {
    let msgs = if host.contains('*') { wildcard_dns1123_subdomain(host) } else { dns1123_subdomain(host) };
    for m in msgs {
        errs.push(FieldError::invalid(path, BadValue::Str(host.to_string()), &m));
    }
}

/// `ValidateIngressCreate`.
pub fn validate_ingress(ing: &Ingress) -> Vec<FieldError> {
    let mut errs = validate_meta(&ing.metadata, true, NameRule::Dns1123Subdomain);
    let spec = match ing.rules() {
        Ok(s) => s,
        Err(e) => {
            errs.push(FieldError::invalid("spec", BadValue::Omit, &e));
            return errs;
        }
    };
    if spec.rules.is_empty() && spec.default_backend.is_none() {
        errs.push(FieldError::invalid(
            "spec",
            BadValue::Raw("[]networking.IngressRule(nil)".into()),
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    if let Some(b) = &spec.default_backend {
        validate_backend("spec.defaultBackend", b, &mut errs);
    }
    for (i, rule) in spec.rules.iter().enumerate() {
        let at = index("spec.rules", i);
        if !rule.host.is_empty() {
            if rule.host.parse::<std::net::IpAddr>().is_ok() {
                errs.push(FieldError::invalid(
                    &format!("{at}.host"),
                    BadValue::Str(rule.host.clone()),
                    "must be a DNS name, not an IP address",
                ));
            }
            validate_host(&format!("{at}.host"), &rule.host, &mut errs);
        }
        if let Some(http) = &rule.http {
            let paths = format!("{at}.http.paths");
            if http.paths.is_empty() {
                errs.push(FieldError::required(&paths, ""));
            }
            for (j, p) in http.paths.iter().enumerate() {
                validate_path(&index(&paths, j), p, &mut errs);
            }
        }
    }
    for (i, tls) in spec.tls.iter().enumerate() {
        let at = index("spec.tls", i);
        for (j, host) in tls.hosts.iter().enumerate() {
            validate_host(&index(&format!("{at}.hosts"), j), host, &mut errs);
        }
        if let Some(secret) = tls.secret_name.as_deref().filter(|s| !s.is_empty()) {
            for m in dns1123_subdomain(secret) {
                errs.push(FieldError::invalid(&format!("{at}.secretName"), BadValue::Str(secret.into()), &m));
            }
        }
    }
    if let Some(class) = &spec.ingress_class_name {
        for m in dns1123_subdomain(class) {
            errs.push(FieldError::invalid("spec.ingressClassName", BadValue::Str(class.clone()), &m));
        }
    }
    errs
}

/// `validateHTTPIngressPath`.
fn validate_path(at: &str, p: &HttpIngressPath, errs: &mut Vec<FieldError>) {
    let path = p.path.clone().unwrap_or_default();
    let path_at = format!("{at}.path");
    match p.path_type.as_deref() {
        None => errs.push(FieldError::required(&format!("{at}.pathType"), "pathType must be specified")),
        Some("Exact" | "Prefix") => {
            if !path.starts_with('/') {
                errs.push(FieldError::invalid(
                    &path_at,
                    BadValue::Str(path.clone()),
                    "must be an absolute path",
                ));
            }
            if !path.is_empty() {
                for seq in INVALID_PATH_SEQUENCES {
                    if path.contains(seq) {
                        let m = format!("must not contain '{seq}'");
                        errs.push(FieldError::invalid(&path_at, BadValue::Str(path.clone()), &m));
                    }
                }
                for suffix in INVALID_PATH_SUFFIXES {
                    if path.ends_with(suffix) {
                        let m = format!("cannot end with '{suffix}'");
                        errs.push(FieldError::invalid(&path_at, BadValue::Str(path.clone()), &m));
                    }
                }
            }
        }
        Some("ImplementationSpecific") => {
            if !path.is_empty() && !path.starts_with('/') {
                errs.push(FieldError::invalid(
                    &path_at,
                    BadValue::Str(path.clone()),
                    "must be an absolute path",
                ));
            }
        }
        Some(other) => errs.push(FieldError::not_supported(&format!("{at}.pathType"), other, PATH_TYPES)),
    }
    validate_backend(&format!("{at}.backend"), &p.backend, errs);
}

/// `validateIngressBackend`.
fn validate_backend(at: &str, b: &IngressBackend, errs: &mut Vec<FieldError>) {
    let service = b.service();
    match (service, &b.resource) {
        (Some(_), Some(_)) => errs.push(FieldError::invalid(
            at,
            BadValue::Str(String::new()),
            "cannot set both resource and service backends",
        )),
        (None, None) => errs.push(FieldError::invalid(
            at,
            BadValue::Str(String::new()),
            "resource or service backend is required",
        )),
        (None, Some(r)) => {
            let kind = r.get("kind").and_then(|v| v.as_str()).unwrap_or("");
            let name = r.get("name").and_then(|v| v.as_str()).unwrap_or("");
            if kind.is_empty() {
                errs.push(FieldError::required(&format!("{at}.resource.kind"), ""));
            }
            if name.is_empty() {
                errs.push(FieldError::required(&format!("{at}.resource.name"), ""));
            }
        }
        (Some(s), None) => {
            for m in dns1035_label(&s.name) {
                errs.push(FieldError::invalid(
                    &format!("{at}.service.name"),
                    BadValue::Str(s.name.clone()),
                    &m,
                ));
            }
            let port = s.port.unwrap_or_default();
            let name = port.name.clone().unwrap_or_default();
            let number = port.number.unwrap_or(0);
            match (!name.is_empty(), number != 0) {
                (true, true) => errs.push(FieldError::invalid(
                    &format!("{at}.service.port"),
                    BadValue::Str(String::new()),
                    "cannot set both port name & port number",
                )),
                (true, false) => {
                    for m in port_name(&name) {
                        errs.push(FieldError::invalid(
                            &format!("{at}.service.port.name"),
                            BadValue::Str(name.clone()),
                            &m,
                        ));
                    }
                }
                (false, true) => {
                    for m in port_num(i64::from(number)) {
                        errs.push(FieldError::invalid(
                            &format!("{at}.service.port.number"),
                            BadValue::Int(i64::from(number)),
                            &m,
                        ));
                    }
                }
                (false, false) => errs.push(FieldError::required(
                    &format!("{at}.service.port"),
                    "port name or number is required",
                )),
            }
        }
    }
}

/// `ValidateIngressClass`.
pub fn validate_ingress_class(c: &IngressClass) -> Vec<FieldError> {
    let mut errs = validate_meta(&c.metadata, false, NameRule::Dns1123Subdomain);
    let controller = &c.spec.controller;
    let at = "spec.controller";
    if controller.len() > 250 {
        errs.push(FieldError {
            type_: super::ErrorType::TooLong,
            field: at.to_string(),
            value: BadValue::Omit,
            detail: "may not be more than 250 bytes".into(),
        });
    }
    // `IsDomainPrefixedPath`.
    if controller.is_empty() {
        errs.push(FieldError::required(at, ""));
    } else {
        match controller.split_once('/') {
            Some((host, path)) if !host.is_empty() && !path.is_empty() => {
                for m in dns1123_subdomain(host) {
                    errs.push(FieldError::invalid(at, BadValue::Str(host.to_string()), &m));
                }
            }
            _ => errs.push(FieldError::invalid(
                at,
                BadValue::Str(controller.clone()),
                "must be a domain-prefixed path (such as \"acme.io/foo\")",
            )),
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ing(spec: serde_json::Value) -> Ingress {
        let mut i = Ingress::default();
        i.metadata.name = "web".into();
        i.metadata.namespace = "default".into();
        i.spec = Some(spec);
        i
    }

    fn msgs(i: &Ingress) -> Vec<String> {
        validate_ingress(i).iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn upstream_messages() {
        let i = ing(serde_json::json!({}));
        assert_eq!(
            msgs(&i),
            [
                "spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified"
            ]
        );
        let i = ing(serde_json::json!({"rules": [{"host": "*.foo.*", "http": {"paths": [
            {"path": "foo", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
            {"path": "/a//b", "pathType": "Exact", "backend": {"service": {"name": "web"}}},
            {"path": "/", "pathType": "Regex", "backend": {"service": {"name": "Web", "port": {"name": "http", "number": 80}}}},
            {"path": "/", "backend": {}},
        ]}}]}));
        let m = msgs(&i);
        assert!(
            m[0].starts_with("spec.rules[0].host: Invalid value: \"*.foo.*\": a wildcard DNS-1123 subdomain"),
            "{m:?}"
        );
        assert_eq!(
            m[1],
            "spec.rules[0].http.paths[0].path: Invalid value: \"foo\": must be an absolute path"
        );
        assert_eq!(m[2], "spec.rules[0].http.paths[1].path: Invalid value: \"/a//b\": must not contain '//'");
        assert_eq!(
            m[3],
            "spec.rules[0].http.paths[1].backend.service.port: Required value: port name or number is required"
        );
        assert_eq!(
            m[4],
            "spec.rules[0].http.paths[2].pathType: Unsupported value: \"Regex\": supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\""
        );
        assert!(
            m[5].starts_with(
                "spec.rules[0].http.paths[2].backend.service.name: Invalid value: \"Web\": a DNS-1035 label"
            ),
            "{}",
            m[5]
        );
        assert_eq!(
            m[6],
            "spec.rules[0].http.paths[2].backend.service.port: Invalid value: \"\": cannot set both port name & port number"
        );
        assert_eq!(m[7], "spec.rules[0].http.paths[3].pathType: Required value: pathType must be specified");
        assert_eq!(
            m[8],
            "spec.rules[0].http.paths[3].backend: Invalid value: \"\": resource or service backend is required"
        );
        assert_eq!(m.len(), 9);
    }

    #[test]
    fn ip_hosts_and_classes() {
        let i = ing(serde_json::json!({"rules": [{"host": "10.0.0.1"}]}));
        assert_eq!(
            msgs(&i),
            ["spec.rules[0].host: Invalid value: \"10.0.0.1\": must be a DNS name, not an IP address"]
        );
        let mut c = IngressClass::default();
        c.metadata.name = "nginx".into();
        c.spec.controller = "nginx".into();
        let m: Vec<String> = validate_ingress_class(&c).iter().map(|e| e.to_string()).collect();
        assert_eq!(
            m,
            [
                "spec.controller: Invalid value: \"nginx\": must be a domain-prefixed path (such as \"acme.io/foo\")"
            ]
        );
        c.spec.controller = "k8s.io/ingress-nginx".into();
        assert!(validate_ingress_class(&c).is_empty());
    }
}
