//! The `nginx.ingress.kubernetes.io/*` annotations the model reads, parsed as ingress-nginx's
//! annotation parsers (`internal/ingress/annotations/*`) do: a value that does not parse is
//! ignored with the controller's log line and the default is used.
//!
//! Read: `rewrite-target`, `use-regex`, `ssl-redirect`, `force-ssl-redirect`,
//! `backend-protocol`, `service-upstream`, `canary` (`canary-weight`, `canary-weight-total`,
//! `canary-by-header`, `canary-by-header-value`, `canary-by-cookie`), `affinity: cookie`
//! (`session-cookie-name`, `session-cookie-path`), `whitelist-source-range` (and its newer
//! name `allowlist-source-range`). Every other annotation with the prefix is listed by
//! [`unsimulated`] so the controller can say it is not simulated.

use std::collections::BTreeMap;

use ipnet::Ipv4Net;

/// The annotation prefix (`--annotations-prefix`).
pub const PREFIX: &str = "nginx.ingress.kubernetes.io/";

const KNOWN: &[&str] = &[
    "rewrite-target",
    "use-regex",
    "ssl-redirect",
    "force-ssl-redirect",
    "backend-protocol",
    "service-upstream",
    "canary",
    "canary-weight",
    "canary-weight-total",
    "canary-by-header",
    "canary-by-header-value",
    "canary-by-cookie",
    "affinity",
    "session-cookie-name",
    "session-cookie-path",
    "whitelist-source-range",
    "allowlist-source-range",
];

/// What the upstream speaks (`backend-protocol`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendProtocol {
    /// Plain HTTP (the default).
    #[default]
    Http,
    /// TLS to the upstream (`proxy_pass https://`).
    Https,
    /// gRPC (`grpc_pass`), over TLS for `Grpcs`.
    Grpc,
    /// gRPC over TLS.
    Grpcs,
}

/// Canary settings of a canary Ingress.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Canary {
    /// `canary-weight` (0 when unset).
    pub weight: u32,
    /// `canary-weight-total` (100 by default).
    pub weight_total: u32,
    /// `canary-by-header`.
    pub header: Option<String>,
    /// `canary-by-header-value`.
    pub header_value: Option<String>,
    /// `canary-by-cookie`.
    pub cookie: Option<String>,
}

/// Cookie affinity (`affinity: cookie`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieAffinity {
    /// `session-cookie-name` (default `INGRESSCOOKIE`).
    pub name: String,
    /// `session-cookie-path` (default the location's path).
    pub path: Option<String>,
}

/// A location's configuration from its Ingress's annotations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationConfig {
    /// `rewrite-target`.
    pub rewrite_target: Option<String>,
    /// `use-regex`.
    pub use_regex: bool,
    /// `ssl-redirect` (default true: redirect when the host has TLS).
    pub ssl_redirect: bool,
    /// `force-ssl-redirect`.
    pub force_ssl_redirect: bool,
    /// `backend-protocol`.
    pub backend_protocol: BackendProtocol,
    /// `service-upstream`: proxy to the ClusterIP instead of the endpoints.
    pub service_upstream: bool,
    /// `canary: "true"` and its settings.
    pub canary: Option<Canary>,
    /// `affinity: cookie`.
    pub affinity: Option<CookieAffinity>,
    /// `whitelist-source-range`.
    pub allow_source: Vec<Ipv4Net>,
}

impl Default for LocationConfig {
    fn default() -> Self {
        LocationConfig {
            rewrite_target: None,
            use_regex: false,
            ssl_redirect: true,
            force_ssl_redirect: false,
            backend_protocol: BackendProtocol::Http,
            service_upstream: false,
            canary: None,
            affinity: None,
            allow_source: Vec::new(),
        }
    }
}

fn flag(v: &str) -> Option<bool> {
    match v {
        "true" | "True" | "TRUE" | "1" | "t" | "T" => Some(true),
        "false" | "False" | "FALSE" | "0" | "f" | "F" => Some(false),
        _ => None,
    }
}

impl LocationConfig {
    /// Parses the annotations of Ingress `key` (`ns/name`); bad values go to `log` with the
    /// controller's wording and leave the default.
    pub fn parse(key: &str, annotations: &BTreeMap<String, String>, log: &mut Vec<String>) -> LocationConfig {
        let mut c = LocationConfig::default();
        let get = |name: &str| annotations.get(&format!("{PREFIX}{name}")).map(|v| v.trim());
        let mut bad = |name: &str, v: &str, why: &str| {
            log.push(format!(
                "error reading {name} annotation of ingress \"{key}\": {why}: \"{v}\", using the default"
            ));
        };
        let mut boolean = |name: &str, default: bool| match get(name) {
            None => default,
            Some(v) => flag(v).unwrap_or_else(|| {
                bad(name, v, "invalid boolean");
                default
            }),
        };
        c.use_regex = boolean("use-regex", false);
        c.ssl_redirect = boolean("ssl-redirect", true);
        c.force_ssl_redirect = boolean("force-ssl-redirect", false);
        c.service_upstream = boolean("service-upstream", false);
        let is_canary = boolean("canary", false);
        c.rewrite_target = get("rewrite-target").filter(|v| !v.is_empty()).map(str::to_string);
        if let Some(v) = get("backend-protocol") {
            c.backend_protocol = match v.to_ascii_uppercase().as_str() {
                "HTTP" => BackendProtocol::Http,
                "HTTPS" => BackendProtocol::Https,
                "GRPC" => BackendProtocol::Grpc,
                "GRPCS" => BackendProtocol::Grpcs,
                _ => {
                    bad("backend-protocol", v, "invalid or not simulated protocol");
                    BackendProtocol::Http
                }
            };
        }
        if is_canary {
            let mut number = |name: &str, default: u32| match get(name) {
                None => default,
                Some(v) => v.parse::<u32>().unwrap_or_else(|_| {
                    bad(name, v, "invalid number");
                    default
                }),
            };
            let weight = number("canary-weight", 0);
            let weight_total = number("canary-weight-total", 100).max(1);
            c.canary = Some(Canary {
                weight: weight.min(weight_total),
                weight_total,
                header: get("canary-by-header").filter(|v| !v.is_empty()).map(str::to_string),
                header_value: get("canary-by-header-value").filter(|v| !v.is_empty()).map(str::to_string),
                cookie: get("canary-by-cookie").filter(|v| !v.is_empty()).map(str::to_string),
            });
        }
        if let Some(v) = get("affinity") {
            if v == "cookie" {
                c.affinity = Some(CookieAffinity {
                    name: get("session-cookie-name")
                        .filter(|v| !v.is_empty())
                        .unwrap_or("INGRESSCOOKIE")
                        .to_string(),
                    path: get("session-cookie-path").map(str::to_string),
                });
            } else {
                bad("affinity", v, "affinity type not supported (only cookie)");
            }
        }
        if let Some(v) = get("whitelist-source-range").or_else(|| get("allowlist-source-range")) {
            for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let parsed = part
                    .parse::<Ipv4Net>()
                    .or_else(|_| part.parse::<std::net::Ipv4Addr>().map(Ipv4Net::from));
                match parsed {
                    Ok(n) => c.allow_source.push(n),
                    Err(_) => bad("whitelist-source-range", part, "invalid CIDR"),
                }
            }
        }
        c
    }
}

/// The `nginx.ingress.kubernetes.io/*` annotations present that the model does not simulate.
pub fn unsimulated(annotations: &BTreeMap<String, String>) -> Vec<String> {
    annotations
        .keys()
        .filter_map(|k| k.strip_prefix(PREFIX))
        .filter(|k| !KNOWN.contains(k))
        .map(|k| format!("{PREFIX}{k}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (format!("{PREFIX}{k}"), v.to_string())).collect()
    }

    #[test]
    fn defaults_and_bad_values() {
        let mut log = Vec::new();
        let c = LocationConfig::parse("default/web", &BTreeMap::new(), &mut log);
        assert_eq!(c, LocationConfig::default());
        let a = ann(&[
            ("canary", "true"),
            ("canary-weight", "x"),
            ("whitelist-source-range", "10.0.0.0/8, 1.2.3.4"),
            ("proxy-body-size", "8m"),
        ]);
        let c = LocationConfig::parse("default/web", &a, &mut log);
        assert_eq!(c.canary.as_ref().map(|c| (c.weight, c.weight_total)), Some((0, 100)));
        assert_eq!(c.allow_source.len(), 2);
        assert_eq!(log.len(), 1);
        assert!(log[0].contains("canary-weight"));
        assert_eq!(unsimulated(&a), ["nginx.ingress.kubernetes.io/proxy-body-size"]);
    }
}
