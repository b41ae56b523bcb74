//! The nginx configuration ingress-nginx builds from the Ingresses of its class, and nginx's
//! choice of server and location for a request.
//!
//! Built as `internal/ingress/controller/controller.go` does (`createServers`,
//! `getBackendServers`, `updateServerLocations`): Ingresses in creation order (then
//! namespace/name), one server per host (`_` for rules without a host), the first Ingress to
//! claim a host+path keeps it; a host without a `/` path gets a `/` location to the Ingress's
//! `defaultBackend` or to the controller's default backend; a `Prefix` path `/foo` becomes
//! `location /foo/` plus `location = /foo` (so `/foo` matches `/foo/bar`, not `/foobar`);
//! `Exact` becomes `location = /foo`; `ImplementationSpecific` is nginx's own string prefix.
//! When any location of a server uses `use-regex` or `rewrite-target`, every location of that
//! server is a case-insensitive regex `~* "^PATH"`, tried longest path first (ingress-nginx
//! sorts them so). Canary Ingresses attach to the location of the same host and path.
//!
//! nginx then picks (`ngx_http_core_find_location`): server by exact name, then the longest
//! `*.` wildcard (which, as in nginx, also matches deeper names), then `_`; in a server the
//! exact location, else the longest prefix (a prefix `/foo/` asked for as `/foo` answers a 301
//! to `/foo/`), else in a regex server the first regex that matches.

use std::collections::BTreeMap;

use regex::Regex;

use super::annotations::LocationConfig;
use crate::api::Ingress;
use crate::api::ingress::{IngressBackend, ServiceBackendPort};

/// A location's match kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathType {
    /// `Exact`.
    Exact,
    /// `Prefix`.
    Prefix,
    /// `ImplementationSpecific`.
    ImplementationSpecific,
}

impl PathType {
    fn parse(s: Option<&str>) -> PathType {
        match s {
            Some("Exact") => PathType::Exact,
            Some("Prefix") => PathType::Prefix,
            _ => PathType::ImplementationSpecific,
        }
    }
}

/// Where a location sends requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Upstream {
    /// A Service port in the Ingress's namespace.
    Service {
        /// Namespace.
        namespace: String,
        /// Service name.
        name: String,
        /// Port by number or name.
        port: ServiceBackendPort,
    },
    /// A `resource` backend (not simulated: answered 503).
    Resource(String),
    /// The controller's own default backend (404).
    DefaultBackend,
}

impl Upstream {
    fn from_backend(namespace: &str, b: &IngressBackend) -> Upstream {
        match b.service() {
            Some(s) => Upstream::Service {
                namespace: namespace.to_string(),
                name: s.name,
                port: s.port.unwrap_or_default(),
            },
            None => Upstream::Resource(
                b.resource
                    .as_ref()
                    .and_then(|r| r.get("kind").and_then(|k| k.as_str()).map(str::to_string))
                    .unwrap_or_default(),
            ),
        }
    }

    /// ingress-nginx's upstream name: `ns-name-port` (`upstream-default-backend`).
    pub fn name(&self) -> String {
        match self {
            Upstream::Service { namespace, name, port } => format!("{namespace}-{name}-{port}"),
            Upstream::Resource(k) => format!("resource-{k}"),
            Upstream::DefaultBackend => "upstream-default-backend".to_string(),
        }
    }
}

/// A canary attached to a location.
#[derive(Clone, Debug)]
pub struct CanaryRoute {
    /// The canary Ingress (`ns/name`).
    pub ingress: String,
    /// Its upstream.
    pub upstream: Upstream,
    /// Its settings and annotations.
    pub config: LocationConfig,
}

/// One nginx `location`.
#[derive(Clone, Debug)]
pub struct Location {
    /// The path as nginx has it (after Prefix normalization: `/foo/`).
    pub path: String,
    /// The path as the Ingress wrote it.
    pub ingress_path: String,
    /// Match kind.
    pub path_type: PathType,
    /// The Ingress it came from (`ns/name`), empty for the controller's own `/`.
    pub ingress: String,
    /// Where requests go.
    pub upstream: Upstream,
    /// Annotations.
    pub config: LocationConfig,
    /// A canary for the same host and path.
    pub canary: Option<CanaryRoute>,
    regex: Option<Regex>,
}

/// One nginx `server`.
#[derive(Clone, Debug)]
pub struct Server {
    /// `server_name` (`_` for the catch-all).
    pub hostname: String,
    /// Locations in nginx's order (regex ones longest path first).
    pub locations: Vec<Location>,
    /// The TLS Secret of the host (`ns/name`), if an Ingress lists the host under `tls`.
    pub tls_secret: Option<String>,
    /// Every location is a regex (`use-regex`/`rewrite-target` on one of them).
    pub regex: bool,
}

/// What nginx chose for a request.
#[derive(Clone, Debug)]
pub struct Route<'a> {
    /// The server.
    pub server: &'a Server,
    /// The location.
    pub location: &'a Location,
    /// nginx's automatic 301 to `PATH/` (a prefix location `PATH/` asked for as `PATH`).
    pub slash_redirect: bool,
}

/// The controller's nginx configuration.
#[derive(Clone, Debug, Default)]
pub struct RoutingTable {
    /// Servers by name (`_` included).
    pub servers: BTreeMap<String, Server>,
    /// Problems found while building, as the controller logs them.
    pub log: Vec<String>,
}

fn normalize_prefix(path: &str) -> String {
    if path.ends_with('/') { path.to_string() } else { format!("{path}/") }
}

impl RoutingTable {
    /// Builds the configuration from the Ingresses this controller serves.
    pub fn build(ingresses: &[&Ingress]) -> RoutingTable {
        let mut t = RoutingTable::default();
        let mut sorted: Vec<&Ingress> = ingresses.to_vec();
        sorted.sort_by(|a, b| {
            (&a.metadata.creation_timestamp, &a.metadata.namespace, &a.metadata.name).cmp(&(
                &b.metadata.creation_timestamp,
                &b.metadata.namespace,
                &b.metadata.name,
            ))
        });
        let mut canaries = Vec::new();
        let mut defaults: BTreeMap<String, (String, Upstream, LocationConfig)> = BTreeMap::new();
        for ing in sorted {
            let key = format!("{}/{}", ing.metadata.namespace, ing.metadata.name);
            let ns = ing.metadata.namespace.as_str();
            let Ok(spec) = ing.rules() else {
                t.log.push(format!("Ignoring ingress \"{key}\": invalid spec"));
                continue;
            };
            let config = LocationConfig::parse(&key, &ing.metadata.annotations, &mut t.log);
            if config.canary.is_some() {
                canaries.push((key, ns.to_string(), spec, config));
                continue;
            }
            let default_up = spec.default_backend.as_ref().map(|b| Upstream::from_backend(ns, b));
            if let Some(up) = &default_up {
                defaults.entry("_".to_string()).or_insert_with(|| (key.clone(), up.clone(), config.clone()));
            }
            for rule in &spec.rules {
                let host =
                    if rule.host.is_empty() { "_".to_string() } else { rule.host.to_ascii_lowercase() };
                let server = t.servers.entry(host.clone()).or_insert_with(|| Server {
                    hostname: host.clone(),
                    locations: Vec::new(),
                    tls_secret: None,
                    regex: false,
                });
                if server.tls_secret.is_none() {
                    server.tls_secret = spec
                        .tls
                        .iter()
                        .find(|tls| tls.hosts.iter().any(|h| h.eq_ignore_ascii_case(&rule.host)))
                        .map(|tls| format!("{ns}/{}", tls.secret_name.clone().unwrap_or_default()));
                }
                if let Some(up) = &default_up {
                    defaults.entry(host.clone()).or_insert_with(|| (key.clone(), up.clone(), config.clone()));
                }
                for p in rule.http.iter().flat_map(|h| h.paths.iter()) {
                    let path = p.path.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "/".to_string());
                    let path_type = PathType::parse(p.path_type.as_deref());
                    if server.locations.iter().any(|l| l.ingress_path == path && l.path_type == path_type) {
                        t.log.push(format!(
                            "Location \"{path}\" of server \"{host}\" is already defined by another ingress; \"{key}\" is ignored for it"
                        ));
                        continue;
                    }
                    server.locations.push(Location {
                        path: path.clone(),
                        ingress_path: path,
                        path_type,
                        ingress: key.clone(),
                        upstream: Upstream::from_backend(ns, &p.backend),
                        config: config.clone(),
                        canary: None,
                        regex: None,
                    });
                }
            }
        }
        t.servers.entry("_".to_string()).or_insert_with(|| Server {
            hostname: "_".to_string(),
            locations: Vec::new(),
            tls_secret: None,
            regex: false,
        });
        for server in t.servers.values_mut() {
            if !server.locations.iter().any(|l| l.ingress_path == "/" && l.path_type != PathType::Exact) {
                let (ingress, upstream, config) = defaults.get(&server.hostname).cloned().unwrap_or((
                    String::new(),
                    Upstream::DefaultBackend,
                    LocationConfig::default(),
                ));
                server.locations.push(Location {
                    path: "/".into(),
                    ingress_path: "/".into(),
                    path_type: PathType::Prefix,
                    ingress,
                    upstream,
                    config,
                    canary: None,
                    regex: None,
                });
            }
            server.regex =
                server.locations.iter().any(|l| l.config.use_regex || l.config.rewrite_target.is_some());
            finish_locations(server, &mut t.log);
        }
        for (key, ns, spec, config) in canaries {
            for rule in &spec.rules {
                let host =
                    if rule.host.is_empty() { "_".to_string() } else { rule.host.to_ascii_lowercase() };
                for p in rule.http.iter().flat_map(|h| h.paths.iter()) {
                    let path = p.path.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "/".to_string());
                    let found = t.servers.get_mut(&host).map(|s| {
                        let mut n = 0;
                        for l in
                            s.locations.iter_mut().filter(|l| l.ingress_path == path && !l.ingress.is_empty())
                        {
                            l.canary = Some(CanaryRoute {
                                ingress: key.clone(),
                                upstream: Upstream::from_backend(&ns, &p.backend),
                                config: config.clone(),
                            });
                            n += 1;
                        }
                        n
                    });
                    if found.unwrap_or(0) == 0 {
                        t.log.push(format!(
                            "unable to find real backend for alternative backend of ingress \"{key}\" (host \"{host}\", path \"{path}\"): the canary is ignored"
                        ));
                    }
                }
            }
        }
        t
    }

    /// nginx's server for a `Host` header (port and case ignored).
    pub fn server(&self, host: Option<&str>) -> &Server {
        let name =
            host.map(|h| h.rsplit_once(':').map_or(h, |(n, p)| if p.parse::<u16>().is_ok() { n } else { h }));
        let name = name.map(str::to_ascii_lowercase);
        if let Some(n) = &name {
            if let Some(s) = self.servers.get(n) {
                return s;
            }
            let wildcard = self
                .servers
                .values()
                .filter_map(|s| s.hostname.strip_prefix('*').map(|suffix| (suffix, s)))
                .filter(|(suffix, _)| n.ends_with(suffix) && n.len() > suffix.len())
                .max_by_key(|(suffix, _)| suffix.len());
            if let Some((_, s)) = wildcard {
                return s;
            }
        }
        // `_` always exists after `build`; an empty table (never built) has no servers.
        self.servers.get("_").unwrap_or_else(|| self.servers.values().next().unwrap_or(&EMPTY))
    }

    /// nginx's server and location for a request.
    pub fn route(&self, host: Option<&str>, path: &str) -> Option<Route<'_>> {
        let server = self.server(host);
        server.find(path).map(|(location, slash_redirect)| Route { server, location, slash_redirect })
    }
}

static EMPTY: Server =
    Server { hostname: String::new(), locations: Vec::new(), tls_secret: None, regex: false };

/// `updateServerLocations` (Prefix → `PATH/` + `= PATH`), then regexes and their order.
fn finish_locations(server: &mut Server, log: &mut Vec<String>) {
    let exact: Vec<String> =
        server.locations.iter().filter(|l| l.path_type == PathType::Exact).map(|l| l.path.clone()).collect();
    let mut out = Vec::new();
    for mut l in std::mem::take(&mut server.locations) {
        if l.path == "/" || l.path_type != PathType::Prefix || server.regex {
            out.push(l);
            continue;
        }
        if exact.contains(&l.path) {
            l.path = normalize_prefix(&l.path);
            out.push(l);
            continue;
        }
        let mut el = l.clone();
        el.path_type = PathType::Exact;
        l.path = normalize_prefix(&l.path);
        out.push(l);
        if el.path != out.last().map(|o| o.path.clone()).unwrap_or_default() {
            out.push(el);
        }
    }
    if server.regex {
        for l in &mut out {
            match Regex::new(&format!("(?i)^{}", l.path)) {
                Ok(r) => l.regex = Some(r),
                Err(e) => log.push(format!(
                    "invalid regex location \"{}\" in server \"{}\": {e}",
                    l.path, server.hostname
                )),
            }
        }
        out.sort_by_key(|l| std::cmp::Reverse(l.path.len()));
    }
    server.locations = out;
}

impl Server {
    /// nginx's location for `path`: `(location, slash_redirect)`.
    pub fn find(&self, path: &str) -> Option<(&Location, bool)> {
        if self.regex {
            return self
                .locations
                .iter()
                .find(|l| l.regex.as_ref().is_some_and(|r| r.is_match(path)))
                .map(|l| (l, false));
        }
        if let Some(l) = self.locations.iter().find(|l| l.path_type == PathType::Exact && l.path == path) {
            return Some((l, false));
        }
        let mut best: Option<(&Location, bool)> = None;
        for l in self.locations.iter().filter(|l| l.path_type != PathType::Exact) {
            let (hit, redirect) = if path.starts_with(l.path.as_str()) {
                (true, false)
            } else if l.path.len() > 1 && l.path.ends_with('/') && l.path[..l.path.len() - 1] == *path {
                (true, true)
            } else {
                (false, false)
            };
            if hit && best.is_none_or(|(b, _)| l.path.len() > b.path.len()) {
                best = Some((l, redirect));
            }
        }
        best
    }

    /// The request URI after `rewrite-target` (`rewrite "(?i)^PATH" TARGET break;`: the
    /// whole URI becomes TARGET with `$N` from the captures, the query string kept), or the URI
    /// unchanged.
    pub fn rewrite(&self, location: &Location, path: &str, query: &str) -> String {
        let uri = match (&location.config.rewrite_target, &location.regex) {
            (Some(target), Some(re)) => match re.captures(path) {
                Some(caps) => {
                    let mut out = String::new();
                    let mut chars = target.chars().peekable();
                    while let Some(c) = chars.next() {
                        match (c, chars.peek().and_then(|d| d.to_digit(10))) {
                            ('$', Some(n)) => {
                                chars.next();
                                out.push_str(caps.get(n as usize).map_or("", |m| m.as_str()));
                            }
                            _ => out.push(c),
                        }
                    }
                    // nginx's rewrite replaces the whole URI (hence the capture groups
                    // ingress-nginx's docs ask for since 0.22).
                    out
                }
                None => path.to_string(),
            },
            _ => path.to_string(),
        };
        if query.is_empty() { uri } else { format!("{uri}?{query}") }
    }
}
