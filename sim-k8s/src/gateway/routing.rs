//! How HTTPRoutes attach to a Gateway's listeners and how a request picks a rule: the spec's
//! rules (`apis/v1/httproute_types.go`, `shared_types.go`), as NGINX Gateway Fabric's nginx
//! configuration carries them out.
//!
//! Attachment: a parentRef names the Gateway (and optionally a listener by `sectionName` or
//! `port`); the listener must allow the route's namespace (`allowedRoutes.namespaces.from`:
//! `Same`, `All`, `Selector`) and kind; the route's hostnames are intersected with the
//! listener's (`*.example.com` and `foo.example.com` meet in `foo.example.com`); a route with
//! hostnames none of which meets the listener's does not attach (`NoMatchingListenerHostname`).
//!
//! Routing: the listeners on the request's port are merged into nginx servers by hostname, as
//! NGF writes one `server` per hostname; the request's `Host` picks the exact server, else the
//! longest matching wildcard, else the catch-all (routes and listeners without hostnames);
//! no server or no matching rule is nginx's 404. Within a server the rules' matches are tried
//! in the spec's precedence ([`precedence`]): Exact path, then the longest PathPrefix, then
//! (implementation-specific, netsim's choice) RegularExpression paths; then method, most
//! headers, most query params; then the oldest route, then `namespace/name`; then rule and
//! match order. A PathPrefix matches element-wise (`/foo` matches `/foo` and `/foo/bar`, not
//! `/foobar`; a trailing `/` in the value is ignored); a RegularExpression path is searched in
//! the path, unanchored, as nginx's `location ~` does (with the `regex` crate's syntax, close to
//! PCRE's for what routes use). Header names are case-insensitive, values and query
//! parameters exact (RegularExpression header and query matches are searched the same way); a
//! repeated header or parameter is matched on its first value.

use std::cmp::Ordering;

use regex::Regex;

use crate::api::gateway::{HttpHeaderMatch, HttpRouteFilter, HttpRouteMatch};

/// A listener hostname and a route hostname: the hostname both accept, if any
/// (`GatewaySpec.Listeners.Hostname` and `HTTPRouteSpec.Hostnames` rules).
pub fn intersect(listener: Option<&str>, route: &str) -> Option<String> {
    let Some(l) = listener else { return Some(route.to_string()) };
    if l == route {
        return Some(route.to_string());
    }
    // A wildcard matches one or more labels in front of its suffix.
    let covers = |wild: &str, other: &str| {
        wild.strip_prefix('*').is_some_and(|suffix| other.ends_with(suffix) && other.len() > suffix.len())
    };
    if l.starts_with("*.") && covers(l, route) {
        return Some(route.to_string());
    }
    if route.starts_with("*.") && covers(route, l) {
        return Some(l.to_string());
    }
    None
}

/// What a rule forwards to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendTarget {
    /// A Service port that exists (its endpoints are read per request).
    Service {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Port number.
        port: i32,
    },
    /// A reference that cannot be followed: its share of requests is answered 500.
    Invalid,
}

/// One weighted backend of a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Backend {
    /// `weight`.
    pub weight: u32,
    /// Where it goes.
    pub target: BackendTarget,
    /// The backend's own filters.
    pub filters: Vec<HttpRouteFilter>,
}

/// One match of one rule of one route, with what the rule does.
#[derive(Clone, Debug)]
pub struct RouteRule {
    /// `namespace/name` of the route.
    pub route: String,
    /// The route's `creationTimestamp` (RFC 3339, so text order is time order).
    pub created: String,
    /// Rule index in the route.
    pub rule: usize,
    /// Match index in the rule.
    pub index: usize,
    /// The match (defaulted).
    pub matches: HttpRouteMatch,
    /// The rule's filters.
    pub filters: Vec<HttpRouteFilter>,
    /// The rule's backends.
    pub backends: Vec<Backend>,
    /// The listener it attached through.
    pub listener: String,
}

impl RouteRule {
    fn path_kind(&self) -> &str {
        self.matches.path.as_ref().map_or("PathPrefix", |p| p.kind())
    }

    fn path_value(&self) -> &str {
        self.matches.path.as_ref().map_or("/", |p| p.path())
    }
}

/// The spec's match precedence: `Less` means `a` is tried first.
pub fn precedence(a: &RouteRule, b: &RouteRule) -> Ordering {
    let class = |r: &RouteRule| match r.path_kind() {
        "Exact" => 0,
        "PathPrefix" => 1,
        _ => 2,
    };
    let prefix_len = |r: &RouteRule| {
        if r.path_kind() == "PathPrefix" { r.path_value().trim_end_matches('/').len() } else { 0 }
    };
    class(a)
        .cmp(&class(b))
        .then_with(|| prefix_len(b).cmp(&prefix_len(a)))
        .then_with(|| b.matches.method.is_some().cmp(&a.matches.method.is_some()))
        .then_with(|| b.matches.headers.len().cmp(&a.matches.headers.len()))
        .then_with(|| b.matches.query_params.len().cmp(&a.matches.query_params.len()))
        .then_with(|| a.created.cmp(&b.created))
        .then_with(|| a.route.cmp(&b.route))
        .then_with(|| a.rule.cmp(&b.rule))
        .then_with(|| a.index.cmp(&b.index))
}

/// A request as the matcher reads it.
#[derive(Clone, Copy, Debug)]
pub struct RequestView<'a> {
    /// Method.
    pub method: &'a str,
    /// Path, without the query.
    pub path: &'a str,
    /// Query string (without `?`).
    pub query: &'a str,
    /// Headers in order.
    pub headers: &'a [(String, String)],
}

fn value_matches(m: &HttpHeaderMatch, value: Option<&str>) -> bool {
    let Some(v) = value else { return false };
    match m.kind() {
        "RegularExpression" => Regex::new(&m.value).is_ok_and(|re| re.is_match(v)),
        _ => v == m.value,
    }
}

/// PathPrefix's element-wise comparison.
pub fn prefix_matches(prefix: &str, path: &str) -> bool {
    let p = prefix.trim_end_matches('/');
    if p.is_empty() {
        return true;
    }
    path == p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/'))
}

/// True if every condition of `m` holds for `req`.
pub fn matches(m: &HttpRouteMatch, req: &RequestView<'_>) -> bool {
    let path_ok = match m.path.as_ref() {
        None => true,
        Some(p) => match p.kind() {
            "Exact" => req.path == p.path(),
            "PathPrefix" => prefix_matches(p.path(), req.path),
            _ => Regex::new(p.path()).is_ok_and(|re| re.is_match(req.path)),
        },
    };
    if !path_ok {
        return false;
    }
    if m.method.as_deref().is_some_and(|want| want != req.method) {
        return false;
    }
    for h in &m.headers {
        let v = req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(&h.name)).map(|(_, v)| v.as_str());
        if !value_matches(h, v) {
            return false;
        }
    }
    for q in &m.query_params {
        let v = req
            .query
            .split('&')
            .filter_map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k == q.name).then_some(v)
            })
            .next();
        if !value_matches(q, v) {
            return false;
        }
    }
    true
}

/// One nginx server: a hostname (none for the catch-all) and its rules in precedence order.
#[derive(Clone, Debug, Default)]
pub struct Server {
    /// The server name, `None` for the catch-all.
    pub hostname: Option<String>,
    /// Rules, sorted by [`precedence`].
    pub rules: Vec<RouteRule>,
    /// The TLS Secret (`ns/name`) of an HTTPS listener.
    pub tls_secret: Option<String>,
}

/// The servers of one port.
#[derive(Clone, Debug, Default)]
pub struct PortConfig {
    /// The port.
    pub port: u16,
    /// True for HTTPS listeners.
    pub https: bool,
    /// Servers in hostname order.
    pub servers: Vec<Server>,
}

impl PortConfig {
    /// The server for `host` (lower case, no port): exact, else the longest wildcard, else the
    /// catch-all.
    pub fn server(&self, host: &str) -> Option<&Server> {
        if let Some(s) = self.servers.iter().find(|s| s.hostname.as_deref() == Some(host)) {
            return Some(s);
        }
        let wild = self
            .servers
            .iter()
            .filter(|s| {
                s.hostname.as_deref().is_some_and(|h| {
                    h.strip_prefix('*')
                        .is_some_and(|suffix| host.ends_with(suffix) && host.len() > suffix.len())
                })
            })
            .max_by_key(|s| s.hostname.as_deref().map_or(0, str::len));
        wild.or_else(|| self.servers.iter().find(|s| s.hostname.is_none()))
    }

    /// Adds `rule` to the server of `hostname`.
    pub fn add(&mut self, hostname: Option<String>, tls_secret: Option<String>, rule: RouteRule) {
        match self.servers.iter_mut().find(|s| s.hostname == hostname) {
            Some(s) => s.rules.push(rule),
            None => self.servers.push(Server { hostname, rules: vec![rule], tls_secret }),
        }
    }

    /// Sorts servers and their rules.
    pub fn finish(&mut self) {
        self.servers.sort_by(|a, b| a.hostname.cmp(&b.hostname));
        for s in &mut self.servers {
            s.rules.sort_by(precedence);
        }
    }
}

/// The first rule of `server` matching `req`.
pub fn route<'a>(server: &'a Server, req: &RequestView<'_>) -> Option<&'a RouteRule> {
    server.rules.iter().find(|r| matches(&r.matches, req))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::gateway::HttpPathMatch;

    fn rule(
        route: &str,
        created: &str,
        path: (&str, &str),
        headers: &[(&str, &str)],
        method: Option<&str>,
    ) -> RouteRule {
        RouteRule {
            route: route.to_string(),
            created: created.to_string(),
            rule: 0,
            index: 0,
            matches: HttpRouteMatch {
                path: Some(HttpPathMatch { type_: Some(path.0.into()), value: Some(path.1.into()) }),
                headers: headers
                    .iter()
                    .map(|(n, v)| HttpHeaderMatch { type_: None, name: n.to_string(), value: v.to_string() })
                    .collect(),
                query_params: Vec::new(),
                method: method.map(str::to_string),
            },
            filters: Vec::new(),
            backends: Vec::new(),
            listener: "http".into(),
        }
    }

    fn pick<'a>(
        rules: &'a mut [RouteRule],
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Option<&'a str> {
        rules.sort_by(precedence);
        let hs: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let req = RequestView { method, path, query: "", headers: &hs };
        rules.iter().find(|r| matches(&r.matches, &req)).map(|r| r.route.as_str())
    }

    #[test]
    fn hostnames_intersect_as_the_spec_says() {
        assert_eq!(intersect(Some("*.example.com"), "foo.example.com").as_deref(), Some("foo.example.com"));
        assert_eq!(intersect(Some("foo.example.com"), "*.example.com").as_deref(), Some("foo.example.com"));
        assert_eq!(intersect(Some("*.example.com"), "example.com"), None);
        assert_eq!(intersect(Some("foo.example.com"), "bar.example.com"), None);
        assert_eq!(intersect(None, "bar.example.com").as_deref(), Some("bar.example.com"));
    }

    #[test]
    fn path_prefix_is_element_wise() {
        assert!(prefix_matches("/foo", "/foo"));
        assert!(prefix_matches("/foo/", "/foo"));
        assert!(prefix_matches("/foo", "/foo/bar"));
        assert!(!prefix_matches("/foo", "/foobar"));
        assert!(prefix_matches("/", "/anything"));
    }

    /// conformance/tests/httproute-matching.yaml and -matching-across-routes: Exact beats
    /// prefix, the longest prefix wins, then the match with more headers, then the method; a
    /// request that fails the best rule's headers falls to the next rule that matches.
    #[test]
    fn precedence_follows_the_spec_and_the_conformance_expectations() {
        let mut rules = vec![
            rule("default/matching-part1", "2026-01-01T00:00:00Z", ("PathPrefix", "/"), &[], None),
            rule("default/matching-part2", "2026-01-01T00:00:00Z", ("PathPrefix", "/v2"), &[], None),
            rule("default/matching-exact", "2026-01-01T00:00:00Z", ("Exact", "/v2/exact"), &[], None),
            rule(
                "default/header",
                "2026-01-01T00:00:00Z",
                ("PathPrefix", "/v2"),
                &[("version", "two")],
                None,
            ),
            rule("default/method", "2026-01-01T00:00:00Z", ("PathPrefix", "/v2"), &[], Some("POST")),
        ];
        assert_eq!(pick(&mut rules, "GET", "/", &[]), Some("default/matching-part1"));
        assert_eq!(pick(&mut rules, "GET", "/v2", &[]), Some("default/matching-part2"));
        assert_eq!(pick(&mut rules, "GET", "/v2example", &[]), Some("default/matching-part1"));
        assert_eq!(
            pick(&mut rules, "GET", "/v2/exact", &[("version", "two")]),
            Some("default/matching-exact")
        );
        // Method outranks headers.
        assert_eq!(pick(&mut rules, "POST", "/v2/x", &[("Version", "two")]), Some("default/method"));
        assert_eq!(pick(&mut rules, "GET", "/v2/x", &[("VERSION", "two")]), Some("default/header"));
        assert_eq!(pick(&mut rules, "GET", "/v2/x", &[("version", "Two")]), Some("default/matching-part2"));
    }

    /// conformance/tests/httproute-query-param-matching.go: exact values, case-sensitive
    /// names, every listed parameter required; a regular-expression path is searched.
    #[test]
    fn query_params_and_regex_paths() {
        let q =
            |name: &str, value: &str| HttpHeaderMatch { type_: None, name: name.into(), value: value.into() };
        let m = HttpRouteMatch {
            path: None,
            headers: Vec::new(),
            query_params: vec![q("animal", "whale"), q("color", "blue")],
            method: None,
        };
        let req = |query: &'static str| RequestView { method: "GET", path: "/", query, headers: &[] };
        assert!(matches(&m, &req("animal=whale&color=blue")));
        assert!(matches(&m, &req("color=blue&animal=whale&extra=1")));
        assert!(!matches(&m, &req("animal=whale")));
        assert!(!matches(&m, &req("ANIMAL=whale&color=blue")));
        assert!(!matches(&m, &req("animal=Whale&color=blue")));
        let re = HttpRouteMatch {
            path: Some(HttpPathMatch {
                type_: Some("RegularExpression".into()),
                value: Some("/v[0-9]+/.*".into()),
            }),
            ..HttpRouteMatch::default()
        };
        assert!(matches(&re, &RequestView { method: "GET", path: "/api/v2/x", query: "", headers: &[] }));
        assert!(!matches(&re, &RequestView { method: "GET", path: "/api/vx/", query: "", headers: &[] }));
    }

    #[test]
    fn ties_go_to_the_oldest_route_then_by_name() {
        let mut rules = vec![
            rule("b/newer", "2026-01-02T00:00:00Z", ("PathPrefix", "/"), &[], None),
            rule("b/older", "2026-01-01T00:00:00Z", ("PathPrefix", "/"), &[], None),
        ];
        assert_eq!(pick(&mut rules, "GET", "/", &[]), Some("b/older"));
        let mut rules = vec![
            rule("b/x", "2026-01-01T00:00:00Z", ("PathPrefix", "/"), &[], None),
            rule("a/x", "2026-01-01T00:00:00Z", ("PathPrefix", "/"), &[], None),
        ];
        assert_eq!(pick(&mut rules, "GET", "/", &[]), Some("a/x"));
    }
}
