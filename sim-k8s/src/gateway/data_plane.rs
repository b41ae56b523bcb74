//! The nginx of a Gateway's data-plane pod (`ghcr.io/nginx/nginx-gateway-fabric/nginx`): an
//! application on the pod's container ports (the listener ports the provisioner wrote) that
//! picks a server and a rule ([`super::routing`]), applies the rule's filters and proxies the
//! request to an **endpoint** of the chosen backend — a second TCP connection from the pod
//! through the dataplane (`AppReply::Upstream`), the machinery ingress-nginx's pods use
//! (`crate::ingress::backends`, `crate::ingress::proxy`).
//!
//! Answers nginx writes itself: 404 when no server or rule matches (NGF's default server and
//! locations), the rule's `RequestRedirect` (its `statusCode`, 302 by default, with nginx's
//! page), 500 for a rule without backends or whose weights sum to 0 and for the share of
//! requests drawn for a backend that cannot be resolved (missing Service or port, a kind that
//! is not a Service, a namespace no ReferenceGrant opens), 502 for a backend without ready
//! endpoints or when every endpoint refuses, 504 when they time out. A backend is drawn with
//! probability weight/total from the controller's seeded stream; an endpoint of it uniformly
//! (NGF's default `random two least_conn` without load). The upstream request carries NGF's
//! `proxy_set_header`s (`Host`, `X-Forwarded-For`, `X-Real-IP`, `X-Forwarded-Proto`,
//! `X-Forwarded-Host`, `X-Forwarded-Port`) and the client's headers after
//! `RequestHeaderModifier`; `ResponseHeaderModifier` edits the answer. `URLRewrite` rewrites
//! the Host and the path (`ReplaceFullPath`, `ReplacePrefixMatch` of the matched prefix).
//! HTTPS listeners answer a TLS hello with the listener's Secret (`crate::tls`); a hello for a
//! name without a certificate is refused (`ssl_reject_handshake`). Every request is logged in
//! nginx's `combined` format. Not simulated: `RequestMirror`, `CORS`, `ExtensionRef` filters
//! (a rule with one is served without it), timeouts and retries settings.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::rc::Rc;

use sim_core::SimRng;
use sim_net::network::Outcome;
use sim_net::socket::{AppContext, AppReply, Application, UpstreamRequest};

use super::controller::GatewayConfig;
use super::routing::{BackendTarget, RequestView, RouteRule};
use crate::api::gateway::{HttpHeaderFilter, HttpPathModifier, HttpRouteFilter};
use crate::api::ingress::ServiceBackendPort;
use crate::http::{Headers, Request, Response, http_date, nginx_error_page};
use crate::ingress::backends::ControllerView;
use crate::ingress::controller::PROXY_CONNECT_TIMEOUT;
use crate::tls::{ClientHello, ServerHello};

/// What every NGF nginx pod of the cluster shares.
#[derive(Debug)]
pub struct GatewayState {
    /// Routing per Gateway `ns/name`.
    pub configs: BTreeMap<String, Rc<GatewayConfig>>,
    /// Services, endpoints and TLS Secrets.
    pub view: ControllerView,
    /// Access logs by pod `ns/name`, oldest first.
    pub log: BTreeMap<String, Vec<String>>,
    /// The control plane's log: what the objects ask for that is not simulated, each once.
    pub control_log: Vec<String>,
    rng: SimRng,
    /// Unix time of simulated zero.
    pub epoch_unix_secs: i64,
}

impl GatewayState {
    /// An empty state drawing from `rng` (backend weights, endpoint choice).
    pub fn new(rng: SimRng, epoch_unix_secs: i64) -> GatewayState {
        GatewayState {
            configs: BTreeMap::new(),
            view: ControllerView::default(),
            log: BTreeMap::new(),
            control_log: Vec::new(),
            rng,
            epoch_unix_secs,
        }
    }
}

/// A request waiting for its upstream.
#[derive(Clone, Debug)]
struct Pending {
    request: Request,
    upstream_request: Vec<u8>,
    candidates: Vec<SocketAddrV4>,
    tried: usize,
    response_filter: Option<HttpHeaderFilter>,
}

/// The nginx of one data-plane pod of Gateway `gateway`.
pub struct GatewayNginxApp {
    state: Rc<RefCell<GatewayState>>,
    gateway: String,
    pod: String,
    pending: BTreeMap<u64, Pending>,
    next_token: u64,
    tls_pending: BTreeMap<u64, ServerHello>,
}

/// Applies a header filter: `remove`, then `set` (replacing), then `add` (appending to a
/// present header with `,`, as nginx's `proxy_set_header $http_x,value` does).
pub fn modify_headers(headers: &mut Headers, f: &HttpHeaderFilter) {
    for name in &f.remove {
        headers.remove(name);
    }
    for h in &f.set {
        headers.set(&h.name, h.value.clone());
    }
    for h in &f.add {
        match headers.get(&h.name).map(str::to_string) {
            Some(v) => headers.set(&h.name, format!("{v},{}", h.value)),
            None => headers.push(h.name.clone(), h.value.clone()),
        }
    }
}

/// The path after a `ReplaceFullPath` or `ReplacePrefixMatch` of `matched` (the rule's prefix).
pub fn rewrite_path(m: &HttpPathModifier, matched: &str, path: &str) -> String {
    match m.type_.as_str() {
        "ReplaceFullPath" => m.replace_full_path.clone().unwrap_or_else(|| "/".into()),
        _ => {
            let prefix = matched.trim_end_matches('/');
            let rest = path.strip_prefix(prefix).unwrap_or(path);
            let repl = m.replace_prefix_match.clone().unwrap_or_else(|| "/".into());
            let joined = if repl.ends_with('/') && rest.starts_with('/') {
                format!("{}{rest}", repl.trim_end_matches('/'))
            } else {
                format!("{repl}{rest}")
            };
            if joined.is_empty() { "/".into() } else { joined }
        }
    }
}

fn filters_of<'a>(fs: &'a [HttpRouteFilter], ty: &str) -> Option<&'a HttpRouteFilter> {
    fs.iter().find(|f| f.type_ == ty)
}

impl GatewayNginxApp {
    /// The application of pod `pod` (`ns/name`) serving Gateway `gateway` (`ns/name`).
    pub fn new(state: Rc<RefCell<GatewayState>>, gateway: String, pod: String) -> GatewayNginxApp {
        GatewayNginxApp {
            state,
            gateway,
            pod,
            pending: BTreeMap::new(),
            next_token: 1,
            tls_pending: BTreeMap::new(),
        }
    }

    fn unix(&self, ctx: &AppContext<'_>) -> i64 {
        self.state.borrow().epoch_unix_secs + ctx.now.as_secs() as i64
    }

    fn config(&self) -> Option<Rc<GatewayConfig>> {
        self.state.borrow().configs.get(&self.gateway).cloned()
    }

    fn page(&self, ctx: &AppContext<'_>, req: &Request, status: u16, location: Option<String>) -> Response {
        let mut r = Response::new(status);
        let body = nginx_error_page(status, "nginx");
        r.headers.push("Server", "nginx");
        r.headers.push("Date", http_date(self.unix(ctx)));
        r.headers.push("Content-Type", "text/html");
        r.headers.push("Content-Length", body.len().to_string());
        r.headers.push("Connection", "keep-alive");
        if let Some(l) = location {
            r.headers.push("Location", l);
        }
        if req.method != "HEAD" {
            r.body = body;
        }
        r
    }

    fn log(&self, ctx: &AppContext<'_>, req: &Request, resp: &Response) {
        let unix = self.unix(ctx);
        let days = unix.div_euclid(86_400);
        let secs = unix.rem_euclid(86_400);
        let (y, m, d) = crate::apiserver::naming::civil_from_days(days);
        let mo = crate::apiserver::naming::month_abbrev(m);
        let line = format!(
            "{} - - [{d:02}/{mo}/{y}:{:02}:{:02}:{:02} +0000] \"{} {} HTTP/{}\" {} {} \"-\" \"{}\"",
            ctx.peer.ip(),
            secs / 3600,
            (secs % 3600) / 60,
            secs % 60,
            req.method,
            req.target,
            req.version,
            resp.status,
            resp.body.len(),
            req.headers.get("user-agent").unwrap_or("-"),
        );
        self.state.borrow_mut().log.entry(self.pod.clone()).or_default().push(line);
    }

    fn answer(&self, ctx: &AppContext<'_>, req: &Request, resp: Response) -> AppReply {
        self.log(ctx, req, &resp);
        AppReply::Respond(resp.to_bytes())
    }

    /// Decides where `req` goes.
    fn route(&mut self, ctx: &AppContext<'_>, req: Request, https: bool) -> AppReply {
        let scheme = if https { "https" } else { "http" };
        let host_header = req.host().unwrap_or("").to_string();
        let host = host_header.split(':').next().unwrap_or("").to_ascii_lowercase();
        let Some(cfg) = self.config() else { return self.answer(ctx, &req, self.page(ctx, &req, 404, None)) };
        let Some(pc) = cfg.port(ctx.local.port()) else {
            return self.answer(ctx, &req, self.page(ctx, &req, 404, None));
        };
        let Some(server) = pc.server(&host) else {
            return self.answer(ctx, &req, self.page(ctx, &req, 404, None));
        };
        let view = RequestView {
            method: &req.method,
            path: req.path(),
            query: req.query(),
            headers: &req.headers.0,
        };
        let Some(rule) = super::routing::route(server, &view).cloned() else {
            return self.answer(ctx, &req, self.page(ctx, &req, 404, None));
        };
        if let Some(f) =
            filters_of(&rule.filters, "RequestRedirect").and_then(|f| f.request_redirect.as_ref())
        {
            let location = self.redirect_location(ctx, &req, &rule, f, scheme, &host);
            let code = f.status_code.and_then(|c| u16::try_from(c).ok()).unwrap_or(302);
            return self.answer(ctx, &req, self.page(ctx, &req, code, Some(location)));
        }
        let total: u64 = rule.backends.iter().map(|b| u64::from(b.weight)).sum();
        if total == 0 {
            return self.answer(ctx, &req, self.page(ctx, &req, 500, None));
        }
        let mut roll = self.state.borrow_mut().rng.below(0, total);
        let Some(backend) = rule.backends.iter().find(|b| {
            let hit = roll < u64::from(b.weight);
            roll = roll.saturating_sub(u64::from(b.weight));
            hit
        }) else {
            return self.answer(ctx, &req, self.page(ctx, &req, 500, None));
        };
        let BackendTarget::Service { namespace, name, port } = &backend.target else {
            return self.answer(ctx, &req, self.page(ctx, &req, 500, None));
        };
        let port = ServiceBackendPort { name: None, number: Some(*port) };
        let found = self.state.borrow().view.ready_endpoints(namespace, name, &port);
        let Ok(mut candidates) = found else {
            return self.answer(ctx, &req, self.page(ctx, &req, 502, None));
        };
        let first = self.state.borrow_mut().rng.below(0, candidates.len() as u64) as usize;
        candidates.rotate_left(first);
        // The upstream request: rule filters, then the backend's own.
        let mut headers = req.headers.clone();
        let mut path = req.path().to_string();
        let mut upstream_host = host_header.clone();
        let mut response_filter = None;
        for fs in [&rule.filters, &backend.filters] {
            if let Some(h) =
                filters_of(fs, "RequestHeaderModifier").and_then(|f| f.request_header_modifier.as_ref())
            {
                modify_headers(&mut headers, h);
            }
            if let Some(u) = filters_of(fs, "URLRewrite").and_then(|f| f.url_rewrite.as_ref()) {
                if let Some(h) = &u.hostname {
                    upstream_host = h.clone();
                }
                if let Some(m) = &u.path {
                    path = rewrite_path(m, matched_prefix(&rule), &path);
                }
            }
            if let Some(h) =
                filters_of(fs, "ResponseHeaderModifier").and_then(|f| f.response_header_modifier.as_ref())
            {
                response_filter = Some(h.clone());
            }
        }
        let uri = if req.query().is_empty() { path } else { format!("{path}?{}", req.query()) };
        let mut up = Request::new(&req.method, &uri);
        let client = ctx.peer.ip().to_string();
        let xff = match req.headers.get("x-forwarded-for") {
            Some(v) => format!("{v}, {client}"),
            None => client.clone(),
        };
        up.headers.push("Host", upstream_host);
        up.headers.push("X-Forwarded-For", xff);
        up.headers.push("X-Real-IP", client);
        up.headers.push("X-Forwarded-Proto", scheme);
        up.headers.push("X-Forwarded-Host", host_header.clone());
        up.headers.push("X-Forwarded-Port", ctx.local.port().to_string());
        for (k, v) in headers.iter() {
            let lower = k.to_ascii_lowercase();
            if matches!(lower.as_str(), "host" | "x-forwarded-for" | "x-real-ip" | "connection") {
                continue;
            }
            up.headers.push(k, v);
        }
        up.body = req.body.clone();
        let upstream_request = up.to_bytes();
        let dst = candidates[0];
        let token = self.next_token;
        self.next_token += 1;
        self.pending.insert(
            token,
            Pending {
                request: req,
                upstream_request: upstream_request.clone(),
                candidates,
                tried: 1,
                response_filter,
            },
        );
        AppReply::Upstream(UpstreamRequest {
            proto: sim_net::socket::SockProto::Tcp,
            dst,
            request: upstream_request,
            timeout: PROXY_CONNECT_TIMEOUT,
            token,
        })
    }

    fn redirect_location(
        &self,
        ctx: &AppContext<'_>,
        req: &Request,
        rule: &RouteRule,
        f: &crate::api::gateway::HttpRequestRedirectFilter,
        scheme: &str,
        host: &str,
    ) -> String {
        let scheme_out = f.scheme.clone().unwrap_or_else(|| scheme.to_string());
        let hostname = f.hostname.clone().unwrap_or_else(|| host.to_string());
        // The port: the filter's; else the scheme's well-known port when the scheme changes;
        // else the listener's. A well-known port for the scheme is left out.
        let port: u16 = match (f.port, &f.scheme) {
            (Some(p), _) => u16::try_from(p).unwrap_or(0),
            (None, Some(s)) if s == "https" => 443,
            (None, Some(_)) => 80,
            (None, None) => ctx.local.port(),
        };
        let well_known = (scheme_out == "http" && port == 80) || (scheme_out == "https" && port == 443);
        let authority = if well_known { hostname } else { format!("{hostname}:{port}") };
        let path = match &f.path {
            Some(m) => rewrite_path(m, matched_prefix(rule), req.path()),
            None => req.path().to_string(),
        };
        let query = if req.query().is_empty() { String::new() } else { format!("?{}", req.query()) };
        format!("{scheme_out}://{authority}{path}{query}")
    }

    fn certificate(&self, port: u16, sni: Option<&str>) -> Option<ServerHello> {
        let cfg = self.config()?;
        let pc = cfg.port(port)?;
        let server = pc.server(&sni.unwrap_or("").to_ascii_lowercase())?;
        let key = server.tls_secret.as_ref()?;
        self.state.borrow().view.tls_secrets.contains(key).then(|| ServerHello {
            subject: format!("(the certificate in Secret {key}, not decoded by netsim)"),
            issuer: format!("(the issuer of the certificate in Secret {key})"),
        })
    }
}

/// The prefix a rule's PathPrefix match matched (`/` otherwise).
fn matched_prefix(rule: &RouteRule) -> &str {
    match rule.matches.path.as_ref() {
        Some(p) if p.kind() == "PathPrefix" => p.path(),
        _ => "/",
    }
}

impl Application for GatewayNginxApp {
    fn respond(&mut self, ctx: &AppContext<'_>, _request: &[u8]) -> Vec<u8> {
        self.page(ctx, &Request::new("GET", "/"), 400, None).to_bytes()
    }

    fn handle(&mut self, ctx: &AppContext<'_>, request: &[u8]) -> AppReply {
        let https = self.config().and_then(|c| c.port(ctx.local.port()).map(|p| p.https)).unwrap_or(false);
        let (hello, request) = match ClientHello::parse(request) {
            Some((h, rest)) if https => {
                let Some(cert) = self.certificate(ctx.local.port(), h.sni.as_deref()) else {
                    // `ssl_reject_handshake on` in NGF's default server: the handshake fails.
                    return AppReply::Respond(Vec::new());
                };
                if h.verify {
                    return AppReply::Respond(cert.wrap(b""));
                }
                (Some(cert), rest)
            }
            _ => (None, request),
        };
        let reply = match Request::parse(request) {
            Some(req) => self.route(ctx, req, https),
            None => AppReply::Respond(self.page(ctx, &Request::new("GET", "/"), 400, None).to_bytes()),
        };
        match (hello, reply) {
            (Some(h), AppReply::Respond(bytes)) => AppReply::Respond(h.wrap(&bytes)),
            (Some(h), AppReply::Upstream(u)) => {
                self.tls_pending.insert(u.token, h);
                AppReply::Upstream(u)
            }
            (_, other) => other,
        }
    }

    fn upstream_done(&mut self, ctx: &AppContext<'_>, token: u64, outcome: &Outcome) -> AppReply {
        let hello = self.tls_pending.remove(&token);
        let Some(mut p) = self.pending.remove(&token) else {
            return AppReply::Respond(self.page(ctx, &Request::new("GET", "/"), 502, None).to_bytes());
        };
        let reply = if let Outcome::Completed { response } = outcome
            && let Some(up) = Response::parse(response)
        {
            let mut r = crate::ingress::proxy::relay(&up, self.unix(ctx), p.request.method == "HEAD");
            r.headers.0.insert(0, ("Server".to_string(), "nginx".to_string()));
            if let Some(f) = &p.response_filter {
                modify_headers(&mut r.headers, f);
            }
            self.answer(ctx, &p.request, r)
        } else {
            let status = crate::ingress::proxy::failure(outcome).map_or(502, |(_, s)| s);
            // `proxy_next_upstream error timeout` over every endpoint.
            if !matches!(outcome, Outcome::Completed { .. }) && p.tried < p.candidates.len() {
                let dst = p.candidates[p.tried];
                p.tried += 1;
                let request = p.upstream_request.clone();
                let token = self.next_token;
                self.next_token += 1;
                self.pending.insert(token, p);
                if let Some(h) = hello {
                    self.tls_pending.insert(token, h);
                }
                return AppReply::Upstream(UpstreamRequest {
                    proto: sim_net::socket::SockProto::Tcp,
                    dst,
                    request,
                    timeout: PROXY_CONNECT_TIMEOUT,
                    token,
                });
            }
            let page = self.page(ctx, &p.request, status, None);
            self.answer(ctx, &p.request, page)
        };
        match (hello, reply) {
            (Some(h), AppReply::Respond(bytes)) => AppReply::Respond(h.wrap(&bytes)),
            (_, other) => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::routing::prefix_matches;
    use super::*;

    fn modifier(ty: &str, value: &str) -> HttpPathModifier {
        HttpPathModifier {
            type_: ty.to_string(),
            replace_full_path: (ty == "ReplaceFullPath").then(|| value.to_string()),
            replace_prefix_match: (ty == "ReplacePrefixMatch").then(|| value.to_string()),
        }
    }

    /// conformance/tests/httproute-rewrite-path.go's expectations.
    #[test]
    fn prefix_rewrites_as_the_conformance_test_expects() {
        let m = modifier("ReplacePrefixMatch", "/one");
        assert_eq!(rewrite_path(&m, "/prefix/one", "/prefix/one/two"), "/one/two");
        assert_eq!(rewrite_path(&m, "/prefix/one", "/prefix/one"), "/one");
        let strip = modifier("ReplacePrefixMatch", "/");
        assert_eq!(rewrite_path(&strip, "/strip-prefix", "/strip-prefix/three"), "/three");
        assert_eq!(rewrite_path(&strip, "/strip-prefix", "/strip-prefix"), "/");
        let full = modifier("ReplaceFullPath", "/one");
        assert_eq!(rewrite_path(&full, "/full/one", "/full/one/two"), "/one");
        assert!(prefix_matches("/prefix/one", "/prefix/one/two"));
    }

    /// conformance/tests/httproute-request-header-modifier.go: set overwrites, add appends,
    /// remove drops (names case-insensitively).
    #[test]
    fn header_modifier_sets_adds_and_removes() {
        let mut h = Headers::default();
        h.push("X-Header-Set", "some-other-value");
        h.push("X-Header-Add", "some-value");
        h.push("x-header-remove", "val");
        let f = HttpHeaderFilter {
            set: vec![crate::api::gateway::HttpHeader {
                name: "X-Header-Set".into(),
                value: "set-overwrites-values".into(),
            }],
            add: vec![crate::api::gateway::HttpHeader {
                name: "X-Header-Add".into(),
                value: "add-appends-values".into(),
            }],
            remove: vec!["X-Header-Remove".into()],
        };
        modify_headers(&mut h, &f);
        assert_eq!(h.get("x-header-set"), Some("set-overwrites-values"));
        assert_eq!(h.get("x-header-add"), Some("some-value,add-appends-values"));
        assert_eq!(h.get("x-header-remove"), None);
    }
}
