//! Gateway API validation as the API server runs it for the standard channel's CRDs (v1.6.1,
//! `config/crd/standard/gateway.networking.k8s.io_*.yaml`): the OpenAPI schema's `required`,
//! `pattern`, `minLength`/`maxLength`, `minItems`/`maxItems`, `minimum`/`maximum`, `enum` and
//! list-map keys, then the `x-kubernetes-validations` CEL rules, each with the message the CRD
//! gives it and the apiextensions validator's wording (`spec.hostnames[0] in body should match
//! '...'`, `Invalid value: "object": <message>`). Metadata is checked as for any object.
//!
//! Left out: the rules of the kinds' fields that are kept but not simulated (CORS,
//! RequestMirror, timeouts, session persistence, Gateway addresses and infrastructure) and the
//! `ValidatingAdmissionPolicy` of `vap_safeupgrades` (which only refuses older bundle CRDs).

use regex::Regex;

use super::names::{NameRule, validate_meta};
use super::{BadValue, ErrorType, FieldError, child, index};
use crate::api::gateway::{
    Gateway, GatewayClass, HttpBackendRef, HttpHeaderFilter, HttpPathModifier, HttpRoute, HttpRouteFilter,
    HttpRouteMatch, HttpRouteRule, ParentReference, ReferenceGrant,
};

/// `Hostname` (listener and route hostnames: exact or `*.` wildcard).
pub const HOSTNAME: &str = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// `PreciseHostname` (redirect and rewrite hostnames: no wildcard).
const PRECISE_HOSTNAME: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// `Group`.
const GROUP: &str = r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// `Kind`.
const KIND: &str = r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$";
/// `Namespace`.
const NAMESPACE: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// `SectionName`.
const SECTION_NAME: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// `HTTPHeaderName`.
const HEADER_NAME: &str = r"^[A-Za-z0-9!#$%&'*+\-.^_\x60|~]+$";
/// `ProtocolType`.
const PROTOCOL: &str = r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$";
/// `GatewayController`.
const CONTROLLER_NAME: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$";
/// The characters an `Exact` or `PathPrefix` value may hold.
const PATH_CHARS: &str = r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$";
/// `HTTPMethod`.
pub const METHODS: &[&str] =
    &["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];
const FILTER_TYPES: &[&str] = &[
    "RequestHeaderModifier",
    "ResponseHeaderModifier",
    "RequestMirror",
    "RequestRedirect",
    "URLRewrite",
    "ExtensionRef",
    "CORS",
];
const PATH_TYPES_CEL: &str = "['Exact', 'PathPrefix']";

/// The schema checks, collected in the order the validator walks the object.
struct Schema {
    errs: Vec<FieldError>,
}

impl Schema {
    fn pattern(&mut self, path: &str, value: &str, pattern: &str) {
        let ok = Regex::new(pattern).map(|re| re.is_match(value)).unwrap_or(true);
        if !ok {
            self.errs.push(FieldError::invalid(
                path,
                BadValue::Str(value.to_string()),
                &format!("{path} in body should match '{pattern}'"),
            ));
        }
    }

    /// `minLength`/`maxLength` then `pattern`, as the validator checks a string.
    fn string(&mut self, path: &str, value: &str, min: usize, max: usize, pattern: Option<&str>) {
        if value.len() > max {
            self.errs.push(FieldError {
                field: path.to_string(),
                type_: ErrorType::TooLong,
                value: BadValue::Omit,
                detail: format!("may not be more than {max} bytes"),
            });
        }
        if value.len() < min {
            self.errs.push(FieldError::invalid(
                path,
                BadValue::Str(value.to_string()),
                &format!("{path} in body should be at least {min} chars long"),
            ));
        }
        if let Some(p) = pattern {
            self.pattern(path, value, p);
        }
    }

    /// A required string: `Required value` when empty (netsim does not tell unset from `""`).
    fn required(&mut self, path: &str, value: &str, max: usize, pattern: Option<&str>) {
        if value.is_empty() {
            self.errs.push(FieldError::required(path, ""));
        } else {
            self.string(path, value, 1, max, pattern);
        }
    }

    fn range(&mut self, path: &str, value: i64, min: i64, max: i64) {
        if value < min {
            self.errs.push(FieldError::invalid(
                path,
                BadValue::Int(value),
                &format!("{path} in body should be greater than or equal to {min}"),
            ));
        }
        if value > max {
            self.errs.push(FieldError::invalid(
                path,
                BadValue::Int(value),
                &format!("{path} in body should be less than or equal to {max}"),
            ));
        }
    }

    fn max_items(&mut self, path: &str, len: usize, max: usize) {
        if len > max {
            self.errs.push(FieldError {
                field: path.to_string(),
                type_: ErrorType::TooMany,
                value: BadValue::Int(len as i64),
                detail: format!("must have at most {max} items"),
            });
        }
    }

    fn min_items(&mut self, path: &str, len: usize, min: usize) {
        if len < min {
            self.errs.push(FieldError::invalid(
                path,
                BadValue::Int(len as i64),
                &format!("{path} in body should have at least {min} items"),
            ));
        }
    }

    fn one_of(&mut self, path: &str, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            // The CRD validator lists the enum in schema order, not sorted.
            let quoted: Vec<String> = allowed.iter().map(|v| super::go_quote(v)).collect();
            self.errs.push(FieldError {
                field: path.to_string(),
                type_: ErrorType::NotSupported,
                value: BadValue::Str(value.to_string()),
                detail: format!("supported values: {}", quoted.join(", ")),
            });
        }
    }

    /// A failed CEL rule on an object or a list: `Invalid value: "object": <message>`.
    fn cel(&mut self, path: &str, what: &str, message: &str) {
        self.errs.push(FieldError::invalid(path, BadValue::Str(what.to_string()), message));
    }

    /// A list-map key seen twice: `Duplicate value: map[string]interface {}{"name":"x"}`.
    fn unique_names<'a>(&mut self, path: &str, names: impl Iterator<Item = &'a str>) {
        let mut seen = std::collections::BTreeSet::new();
        for (i, n) in names.enumerate() {
            if !seen.insert(n) {
                self.errs.push(FieldError::duplicate(
                    &index(path, i),
                    BadValue::Raw(format!("map[string]interface {{}}{{\"name\":{}}}", super::go_quote(n))),
                ));
            }
        }
    }
}

/// A GatewayClass.
pub fn validate_gateway_class(c: &GatewayClass) -> Vec<FieldError> {
    let mut s = Schema { errs: validate_meta(&c.metadata, false, NameRule::Dns1123Subdomain) };
    s.required("spec.controllerName", &c.spec.controller_name, 253, Some(CONTROLLER_NAME));
    if let Some(d) = &c.spec.description {
        s.string("spec.description", d, 0, 64, None);
    }
    s.errs
}

/// The CEL rule of `spec.controllerName` on update: `Value is immutable`.
pub fn validate_gateway_class_update(new: &GatewayClass, old: &GatewayClass) -> Vec<FieldError> {
    let mut s = Schema { errs: Vec::new() };
    if new.spec.controller_name != old.spec.controller_name {
        s.cel("spec.controllerName", &new.spec.controller_name, "Value is immutable");
    }
    s.errs
}

/// A Gateway.
pub fn validate_gateway(g: &Gateway) -> Vec<FieldError> {
    let mut s = Schema { errs: validate_meta(&g.metadata, true, NameRule::Dns1123Subdomain) };
    s.required("spec.gatewayClassName", &g.spec.gateway_class_name, 253, None);
    let ls = &g.spec.listeners;
    if ls.is_empty() {
        s.errs.push(FieldError::required("spec.listeners", ""));
    }
    s.max_items("spec.listeners", ls.len(), 64);
    for (i, l) in ls.iter().enumerate() {
        let p = index("spec.listeners", i);
        s.required(&child(&p, "name"), &l.name, 253, Some(SECTION_NAME));
        if let Some(h) = &l.hostname {
            s.string(&child(&p, "hostname"), h, 1, 253, Some(HOSTNAME));
        }
        s.range(&child(&p, "port"), i64::from(l.port), 1, 65535);
        s.required(&child(&p, "protocol"), &l.protocol, 255, Some(PROTOCOL));
        if let Some(tls) = &l.tls {
            let tp = child(&p, "tls");
            if let Some(m) = &tls.mode {
                s.one_of(&child(&tp, "mode"), m, &["Terminate", "Passthrough"]);
            }
            s.max_items(&child(&tp, "certificateRefs"), tls.certificate_refs.len(), 64);
            for (j, r) in tls.certificate_refs.iter().enumerate() {
                let rp = index(&child(&tp, "certificateRefs"), j);
                s.required(&child(&rp, "name"), &r.name, 253, None);
                if let Some(ns) = &r.namespace {
                    s.string(&child(&rp, "namespace"), ns, 1, 63, Some(NAMESPACE));
                }
            }
            if tls.mode.as_deref().unwrap_or("Terminate") == "Terminate"
                && tls.certificate_refs.is_empty()
                && tls.options.is_empty()
            {
                s.cel(&tp, "object", "certificateRefs or options must be specified when mode is Terminate");
            }
        }
        if let Some(ar) = &l.allowed_routes {
            let ap = child(&p, "allowedRoutes");
            if let Some(from) = ar.namespaces.as_ref().and_then(|n| n.from.as_deref()) {
                s.one_of(&child(&child(&ap, "namespaces"), "from"), from, &["All", "Selector", "Same"]);
            }
            s.max_items(&child(&ap, "kinds"), ar.kinds.len(), 8);
            for (j, k) in ar.kinds.iter().enumerate() {
                let kp = index(&child(&ap, "kinds"), j);
                s.required(&child(&kp, "kind"), &k.kind, 63, Some(KIND));
            }
        }
    }
    s.unique_names("spec.listeners", ls.iter().map(|l| l.name.as_str()));
    // The list's CEL rules, in the CRD's order.
    let lp = "spec.listeners";
    if ls.iter().any(|l| matches!(l.protocol.as_str(), "HTTP" | "TCP" | "UDP") && l.tls.is_some()) {
        s.cel(lp, "array", "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']");
    }
    if ls.iter().any(|l| {
        l.protocol == "HTTPS"
            && l.tls
                .as_ref()
                .is_some_and(|t| !matches!(t.mode.as_deref(), None | Some("") | Some("Terminate")))
    }) {
        s.cel(lp, "array", "tls mode must be Terminate for protocol HTTPS");
    }
    if ls.iter().any(|l| {
        l.protocol == "TLS" && l.tls.as_ref().is_none_or(|t| t.mode.as_deref().unwrap_or("").is_empty())
    }) {
        s.cel(lp, "array", "tls mode must be set for protocol TLS");
    }
    if ls.iter().any(|l| {
        matches!(l.protocol.as_str(), "TCP" | "UDP") && l.hostname.as_deref().is_some_and(|h| !h.is_empty())
    }) {
        s.cel(lp, "array", "hostname must not be specified for protocols ['TCP', 'UDP']");
    }
    if ls.iter().any(|a| ls.iter().filter(|b| a.name == b.name).count() != 1) {
        s.cel(lp, "array", "Listener name must be unique within the Gateway");
    }
    if ls.iter().any(|a| {
        ls.iter().filter(|b| a.port == b.port && a.protocol == b.protocol && a.hostname == b.hostname).count()
            != 1
    }) {
        s.cel(lp, "array", "Combination of port, protocol and hostname must be unique for each listener");
    }
    s.errs
}

fn parent_ref(s: &mut Schema, p: &str, r: &ParentReference) {
    if let Some(g) = &r.group {
        s.string(&child(p, "group"), g, 0, 253, Some(GROUP));
    }
    if let Some(k) = &r.kind {
        s.string(&child(p, "kind"), k, 1, 63, Some(KIND));
    }
    s.required(&child(p, "name"), &r.name, 253, None);
    if let Some(ns) = &r.namespace {
        s.string(&child(p, "namespace"), ns, 1, 63, Some(NAMESPACE));
    }
    if let Some(sn) = &r.section_name {
        s.string(&child(p, "sectionName"), sn, 1, 253, Some(SECTION_NAME));
    }
    if let Some(port) = r.port {
        s.range(&child(p, "port"), i64::from(port), 1, 65535);
    }
}

/// An HTTPRoute.
pub fn validate_http_route(r: &HttpRoute) -> Vec<FieldError> {
    let mut s = Schema { errs: validate_meta(&r.metadata, true, NameRule::Dns1123Subdomain) };
    let spec = &r.spec;
    s.max_items("spec.hostnames", spec.hostnames.len(), 16);
    for (i, h) in spec.hostnames.iter().enumerate() {
        s.string(&index("spec.hostnames", i), h, 1, 253, Some(HOSTNAME));
    }
    s.max_items("spec.parentRefs", spec.parent_refs.len(), 32);
    for (i, p) in spec.parent_refs.iter().enumerate() {
        parent_ref(&mut s, &index("spec.parentRefs", i), p);
    }
    // The parentRefs list's two rules: one parent referenced twice needs distinct sectionNames.
    let refs = &spec.parent_refs;
    let same = |a: &ParentReference, b: &ParentReference| {
        a.kind.as_deref().unwrap_or("Gateway") == b.kind.as_deref().unwrap_or("Gateway")
            && a.group.as_deref().unwrap_or(crate::api::gateway::GROUP)
                == b.group.as_deref().unwrap_or(crate::api::gateway::GROUP)
            && a.name == b.name
            && a.namespace.as_deref().unwrap_or("") == b.namespace.as_deref().unwrap_or("")
    };
    let pairs = || refs.iter().enumerate().flat_map(|(i, a)| refs.iter().skip(i + 1).map(move |b| (a, b)));
    if pairs().any(|(a, b)| same(a, b) && (a.section_name.is_none() || b.section_name.is_none())) {
        s.cel(
            "spec.parentRefs",
            "array",
            "sectionName must be specified when parentRefs includes 2 or more references to the same parent",
        );
    }
    if pairs().any(|(a, b)| same(a, b) && a.section_name.is_some() && a.section_name == b.section_name) {
        s.cel(
            "spec.parentRefs",
            "array",
            "sectionName must be unique when parentRefs includes 2 or more references to the same parent",
        );
    }
    if let Some(rules) = &spec.rules {
        s.min_items("spec.rules", rules.len(), 1);
        s.max_items("spec.rules", rules.len(), 16);
        for (i, rule) in rules.iter().enumerate() {
            validate_rule(&mut s, &index("spec.rules", i), rule);
        }
        let total: usize = rules.iter().map(|r| r.matches.len()).sum();
        if total > 128 {
            s.cel(
                "spec.rules",
                "array",
                "While 16 rules and 64 matches per rule are allowed, the total number of matches across all rules in a route must be less than 128",
            );
        }
    }
    s.errs
}

fn validate_rule(s: &mut Schema, p: &str, rule: &HttpRouteRule) {
    if let Some(n) = &rule.name {
        s.string(&child(p, "name"), n, 1, 253, Some(SECTION_NAME));
    }
    let mp = child(p, "matches");
    s.max_items(&mp, rule.matches.len(), 64);
    for (i, m) in rule.matches.iter().enumerate() {
        validate_match(s, &index(&mp, i), m);
    }
    validate_filters(s, &child(p, "filters"), &rule.filters);
    let bp = child(p, "backendRefs");
    s.max_items(&bp, rule.backend_refs.len(), 16);
    for (i, b) in rule.backend_refs.iter().enumerate() {
        validate_backend_ref(s, &index(&bp, i), b);
    }
    // The rule's CEL rules.
    let has_redirect = rule.filters.iter().any(|f| f.request_redirect.is_some());
    if !rule.backend_refs.is_empty() && has_redirect {
        s.cel(p, "object", "RequestRedirect filter must not be used together with backendRefs");
    }
    let one_prefix_match =
        rule.matches.len() == 1 && rule.matches[0].path.as_ref().is_some_and(|pm| pm.kind() == "PathPrefix");
    let prefix_modifier = |m: &Option<HttpPathModifier>| {
        m.as_ref().is_some_and(|m| m.type_ == "ReplacePrefixMatch" && m.replace_prefix_match.is_some())
    };
    let redirect_prefix = |fs: &[HttpRouteFilter]| {
        fs.iter().filter(|f| f.request_redirect.as_ref().is_some_and(|r| prefix_modifier(&r.path))).count()
            == 1
    };
    let rewrite_prefix = |fs: &[HttpRouteFilter]| {
        fs.iter().filter(|f| f.url_rewrite.as_ref().is_some_and(|r| prefix_modifier(&r.path))).count() == 1
    };
    if redirect_prefix(&rule.filters) && !one_prefix_match {
        s.cel(
            p,
            "object",
            "When using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
        );
    }
    if rewrite_prefix(&rule.filters) && !one_prefix_match {
        s.cel(
            p,
            "object",
            "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
        );
    }
    if rule.backend_refs.iter().filter(|b| redirect_prefix(&b.filters)).count() == 1 && !one_prefix_match {
        s.cel(
            p,
            "object",
            "Within backendRefs, when using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
        );
    }
    if rule.backend_refs.iter().filter(|b| rewrite_prefix(&b.filters)).count() == 1 && !one_prefix_match {
        s.cel(
            p,
            "object",
            "Within backendRefs, When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified",
        );
    }
}

fn validate_match(s: &mut Schema, p: &str, m: &HttpRouteMatch) {
    if let Some(path) = &m.path {
        let pp = child(p, "path");
        if let Some(t) = &path.type_ {
            s.one_of(&child(&pp, "type"), t, &["Exact", "PathPrefix", "RegularExpression"]);
        }
        let v = path.path();
        s.string(&child(&pp, "value"), v, 0, 1024, None);
        let t = path.kind();
        let checked = matches!(t, "Exact" | "PathPrefix");
        if checked {
            let rules: [(bool, &str); 9] = [
                (!v.starts_with('/'), "value must be an absolute path and start with '/' when type one of"),
                (v.contains("//"), "must not contain '//' when type one of"),
                (v.contains("/./"), "must not contain '/./' when type one of"),
                (v.contains("/../"), "must not contain '/../' when type one of"),
                (v.contains("%2f"), "must not contain '%2f' when type one of"),
                (v.contains("%2F"), "must not contain '%2F' when type one of"),
                (v.contains('#'), "must not contain '#' when type one of"),
                (v.ends_with("/.."), "must not end with '/..' when type one of"),
                (v.ends_with("/."), "must not end with '/.' when type one of"),
            ];
            for (bad, msg) in rules {
                if bad {
                    s.cel(&pp, "object", &format!("{msg} {PATH_TYPES_CEL}"));
                }
            }
        }
        if !matches!(t, "Exact" | "PathPrefix" | "RegularExpression") {
            s.cel(&pp, "object", "type must be one of ['Exact', 'PathPrefix', 'RegularExpression']");
        }
        if checked && !Regex::new(PATH_CHARS).map(|re| re.is_match(v)).unwrap_or(true) {
            s.cel(
                &pp,
                "object",
                &format!(
                    "must only contain valid characters (matching {PATH_CHARS}) for types {PATH_TYPES_CEL}"
                ),
            );
        }
    }
    for (list, name, max_value) in [(&m.headers, "headers", 4096), (&m.query_params, "queryParams", 1024)] {
        let hp = child(p, name);
        s.max_items(&hp, list.len(), 16);
        for (i, h) in list.iter().enumerate() {
            let ip = index(&hp, i);
            s.required(&child(&ip, "name"), &h.name, 256, Some(HEADER_NAME));
            if let Some(t) = &h.type_ {
                s.one_of(&child(&ip, "type"), t, &["Exact", "RegularExpression"]);
            }
            s.required(&child(&ip, "value"), &h.value, max_value, None);
        }
        s.unique_names(&hp, list.iter().map(|h| h.name.as_str()));
    }
    if let Some(method) = &m.method {
        s.one_of(&child(p, "method"), method, METHODS);
    }
}

fn validate_header_filter(s: &mut Schema, p: &str, f: &HttpHeaderFilter) {
    for (list, name) in [(&f.set, "set"), (&f.add, "add")] {
        let lp = child(p, name);
        s.max_items(&lp, list.len(), 16);
        for (i, h) in list.iter().enumerate() {
            let ip = index(&lp, i);
            s.required(&child(&ip, "name"), &h.name, 256, Some(HEADER_NAME));
            s.required(&child(&ip, "value"), &h.value, 4096, None);
        }
        s.unique_names(&lp, list.iter().map(|h| h.name.as_str()));
    }
    s.max_items(&child(p, "remove"), f.remove.len(), 16);
}

fn validate_path_modifier(s: &mut Schema, p: &str, m: &HttpPathModifier) {
    if m.type_.is_empty() {
        s.errs.push(FieldError::required(&child(p, "type"), ""));
    } else {
        s.one_of(&child(p, "type"), &m.type_, &["ReplaceFullPath", "ReplacePrefixMatch"]);
    }
    for (v, name) in
        [(&m.replace_full_path, "replaceFullPath"), (&m.replace_prefix_match, "replacePrefixMatch")]
    {
        if let Some(v) = v {
            s.string(&child(p, name), v, 0, 1024, None);
        }
    }
    if m.type_ == "ReplaceFullPath" && m.replace_full_path.is_none() {
        s.cel(p, "object", "replaceFullPath must be specified when type is set to 'ReplaceFullPath'");
    }
    if m.replace_full_path.is_some() && m.type_ != "ReplaceFullPath" {
        s.cel(p, "object", "type must be 'ReplaceFullPath' when replaceFullPath is set");
    }
    if m.type_ == "ReplacePrefixMatch" && m.replace_prefix_match.is_none() {
        s.cel(p, "object", "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'");
    }
    if m.replace_prefix_match.is_some() && m.type_ != "ReplacePrefixMatch" {
        s.cel(p, "object", "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set");
    }
}

fn validate_filters(s: &mut Schema, p: &str, filters: &[HttpRouteFilter]) {
    s.max_items(p, filters.len(), 16);
    for (i, f) in filters.iter().enumerate() {
        let fp = index(p, i);
        if f.type_.is_empty() {
            s.errs.push(FieldError::required(&child(&fp, "type"), ""));
        } else {
            s.one_of(&child(&fp, "type"), &f.type_, FILTER_TYPES);
        }
        if let Some(h) = &f.request_header_modifier {
            validate_header_filter(s, &child(&fp, "requestHeaderModifier"), h);
        }
        if let Some(h) = &f.response_header_modifier {
            validate_header_filter(s, &child(&fp, "responseHeaderModifier"), h);
        }
        if let Some(r) = &f.request_redirect {
            let rp = child(&fp, "requestRedirect");
            if let Some(sc) = &r.scheme {
                s.one_of(&child(&rp, "scheme"), sc, &["http", "https"]);
            }
            if let Some(h) = &r.hostname {
                s.string(&child(&rp, "hostname"), h, 1, 253, Some(PRECISE_HOSTNAME));
            }
            if let Some(m) = &r.path {
                validate_path_modifier(s, &child(&rp, "path"), m);
            }
            if let Some(port) = r.port {
                s.range(&child(&rp, "port"), i64::from(port), 1, 65535);
            }
            if let Some(code) = r.status_code
                && ![301, 302, 303, 307, 308].contains(&code)
            {
                s.errs.push(FieldError {
                    field: child(&rp, "statusCode"),
                    type_: ErrorType::NotSupported,
                    value: BadValue::Int(i64::from(code)),
                    detail: "supported values: 301, 302, 303, 307, 308".to_string(),
                });
            }
        }
        if let Some(u) = &f.url_rewrite {
            let up = child(&fp, "urlRewrite");
            if let Some(h) = &u.hostname {
                s.string(&child(&up, "hostname"), h, 1, 253, Some(PRECISE_HOSTNAME));
            }
            if let Some(m) = &u.path {
                validate_path_modifier(s, &child(&up, "path"), m);
            }
        }
        // One field per type, as the filter's CEL rules require.
        let fields: [(&str, bool); 7] = [
            ("CORS", f.cors.is_some()),
            ("RequestHeaderModifier", f.request_header_modifier.is_some()),
            ("ResponseHeaderModifier", f.response_header_modifier.is_some()),
            ("RequestMirror", f.request_mirror.is_some()),
            ("RequestRedirect", f.request_redirect.is_some()),
            ("URLRewrite", f.url_rewrite.is_some()),
            ("ExtensionRef", f.extension_ref.is_some()),
        ];
        for (ty, present) in fields {
            let field = match ty {
                "CORS" => "cors",
                "RequestHeaderModifier" => "requestHeaderModifier",
                "ResponseHeaderModifier" => "responseHeaderModifier",
                "RequestMirror" => "requestMirror",
                "RequestRedirect" => "requestRedirect",
                "URLRewrite" => "urlRewrite",
                _ => "extensionRef",
            };
            if present && f.type_ != ty {
                s.cel(&fp, "object", &format!("filter.{field} must be nil if the filter.type is not {ty}"));
            }
            if !present && f.type_ == ty {
                s.cel(&fp, "object", &format!("filter.{field} must be specified for {ty} filter.type"));
            }
        }
    }
    if filters.iter().any(|f| f.type_ == "RequestRedirect") && filters.iter().any(|f| f.type_ == "URLRewrite")
    {
        s.cel(p, "array", "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both");
    }
    for ty in ["CORS", "RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite"] {
        if filters.iter().filter(|f| f.type_ == ty).count() > 1 {
            s.cel(p, "array", &format!("{ty} filter cannot be repeated"));
        }
    }
}

fn validate_backend_ref(s: &mut Schema, p: &str, b: &HttpBackendRef) {
    if let Some(g) = &b.group {
        s.string(&child(p, "group"), g, 0, 253, Some(GROUP));
    }
    if let Some(k) = &b.kind {
        s.string(&child(p, "kind"), k, 1, 63, Some(KIND));
    }
    s.required(&child(p, "name"), &b.name, 253, None);
    if let Some(ns) = &b.namespace {
        s.string(&child(p, "namespace"), ns, 1, 63, Some(NAMESPACE));
    }
    if let Some(port) = b.port {
        s.range(&child(p, "port"), i64::from(port), 1, 65535);
    }
    if let Some(w) = b.weight {
        s.range(&child(p, "weight"), i64::from(w), 0, 1_000_000);
    }
    validate_filters(s, &child(p, "filters"), &b.filters);
    if b.is_service() && b.port.is_none() {
        s.cel(p, "object", "Must have port for Service reference");
    }
}

/// A ReferenceGrant.
pub fn validate_reference_grant(g: &ReferenceGrant) -> Vec<FieldError> {
    let mut s = Schema { errs: validate_meta(&g.metadata, true, NameRule::Dns1123Subdomain) };
    for (len, name) in [(g.spec.from.len(), "spec.from"), (g.spec.to.len(), "spec.to")] {
        if len == 0 {
            s.errs.push(FieldError::required(name, ""));
        }
        s.max_items(name, len, 16);
    }
    for (i, f) in g.spec.from.iter().enumerate() {
        let p = index("spec.from", i);
        s.string(&child(&p, "group"), &f.group, 0, 253, Some(GROUP));
        s.required(&child(&p, "kind"), &f.kind, 63, Some(KIND));
        s.required(&child(&p, "namespace"), &f.namespace, 63, Some(NAMESPACE));
    }
    for (i, t) in g.spec.to.iter().enumerate() {
        let p = index("spec.to", i);
        s.string(&child(&p, "group"), &t.group, 0, 253, Some(GROUP));
        s.required(&child(&p, "kind"), &t.kind, 63, Some(KIND));
        if let Some(n) = &t.name {
            s.string(&child(&p, "name"), n, 1, 253, None);
        }
    }
    s.errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(yaml: &str) -> HttpRoute {
        let out = crate::manifest::load_str("r.yaml", yaml);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        match &out.objects[0].value {
            crate::api::Object::HttpRoute(r) => r.clone(),
            other => panic!("not a route: {other:?}"),
        }
    }

    #[test]
    fn the_crds_path_and_backend_rules_in_their_words() {
        let r = route(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec:\n  hostnames: [Foo.example.com]\n  rules:\n  - matches:\n    - path: {type: PathPrefix, value: foo//bar}\n      method: FETCH\n    backendRefs:\n    - name: web\n",
        );
        let got: Vec<String> = validate_http_route(&r).iter().map(|e| e.to_string()).collect();
        assert_eq!(
            got,
            vec![
                format!("spec.hostnames[0]: Invalid value: \"Foo.example.com\": spec.hostnames[0] in body should match '{HOSTNAME}'"),
                "spec.rules[0].matches[0].path: Invalid value: \"object\": value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']".to_string(),
                "spec.rules[0].matches[0].path: Invalid value: \"object\": must not contain '//' when type one of ['Exact', 'PathPrefix']".to_string(),
                "spec.rules[0].matches[0].method: Unsupported value: \"FETCH\": supported values: \"GET\", \"HEAD\", \"POST\", \"PUT\", \"DELETE\", \"CONNECT\", \"OPTIONS\", \"TRACE\", \"PATCH\"".to_string(),
                "spec.rules[0].backendRefs[0]: Invalid value: \"object\": Must have port for Service reference".to_string(),
            ]
        );
    }

    #[test]
    fn seventeen_rules_are_too_many_and_a_redirect_excludes_backends() {
        let mut yaml = String::from(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec:\n  rules:\n",
        );
        yaml.push_str("  - filters:\n    - type: RequestRedirect\n      requestRedirect: {scheme: https}\n    backendRefs:\n    - {name: web, port: 80}\n");
        for _ in 0..16 {
            yaml.push_str("  - backendRefs: [{name: web, port: 80}]\n");
        }
        let got: Vec<String> = validate_http_route(&route(&yaml)).iter().map(|e| e.to_string()).collect();
        assert_eq!(
            got,
            vec![
                "spec.rules: Too many: 17: must have at most 16 items".to_string(),
                "spec.rules[0]: Invalid value: \"object\": RequestRedirect filter must not be used together with backendRefs".to_string(),
            ]
        );
    }
}
