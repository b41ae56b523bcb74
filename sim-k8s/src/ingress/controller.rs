//! The ingress-nginx controller pod's nginx: an application on the pod's ports 80 and 443
//! that routes each request by its `Host` and path (see [`super::routing`]) and proxies it to
//! an **endpoint** of the backend Service — a second TCP connection from the controller pod
//! through the dataplane (`AppReply::Upstream`), as ingress-nginx's lua balancer does with the
//! EndpointSlices it watches. With `service-upstream: "true"` it connects to the ClusterIP
//! instead, and kube-proxy's rules pick the pod.
//!
//! The upstream request carries ingress-nginx's `proxy_set_header`s (`Host`, `X-Request-ID`,
//! `X-Real-IP`, `X-Forwarded-For` = the client address nginx saw, `X-Forwarded-Host`,
//! `X-Forwarded-Port`, `X-Forwarded-Proto`, `X-Forwarded-Scheme`, `X-Scheme`) before the
//! client's own headers. Answers nginx writes itself: `404` from the default backend, `503`
//! for a Service that is missing, has no such port or no ready endpoint, `502` when every
//! upstream try (`proxy_next_upstream error timeout`, 3 tries) is refused or reset, `504` when
//! they time out (`proxy_connect_timeout` 5 s), `403` for `whitelist-source-range`, `308` for
//! `ssl-redirect`, `301` for nginx's trailing-slash redirect. Responses drop the upstream's
//! `Server` (ingress-nginx clears it) and `Date`. Every request is logged in ingress-nginx's
//! access-log format; errors as nginx's error log words them.
//!
//! TLS on 443 (see [`crate::tls`]): the certificate is chosen by the SNI name — the Secret of the
//! Ingress's `tls` entry for that host when it exists, else the controller's fake certificate
//! (a missing Secret is logged as `Error getting SSL certificate ... Using default
//! certificate`); the request is then routed by its `Host` header, as nginx does. A request
//! to 443 without a hello (BusyBox wget) is plain HTTP taken as `https`.
//!
//! Not simulated: encryption and HTTP/2, the ConfigMap's settings (defaults are used),
//! `load-balance: ewma`, gRPC framing (`backend-protocol: GRPC` to a plain HTTP pod fails as
//! a protocol mismatch does, 502).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::rc::Rc;

use sha2::{Digest, Sha256};
use sim_core::{SimDuration, SimRng};
use sim_net::network::Outcome;
use sim_net::socket::{AppContext, AppReply, Application, UpstreamRequest};

use super::annotations::{BackendProtocol, LocationConfig};
use super::class::ControllerFlags;
use super::routing::{Location, RoutingTable, Upstream};
use crate::http::{Request, Response, http_date, nginx_error_page};
use crate::tls::{ClientHello, ServerHello};

/// `proxy-connect-timeout` default (5 s).
pub const PROXY_CONNECT_TIMEOUT: SimDuration = SimDuration::from_secs(5);
/// `proxy-next-upstream-tries` default.
pub const PROXY_NEXT_UPSTREAM_TRIES: usize = 3;
/// What ingress-nginx puts in the `<hr>` of its pages (`server_tokens off`).
const SERVER_TOKEN: &str = "nginx";

pub use super::backends::{ControllerView, ServiceEntry};

/// One controller class's configuration.
#[derive(Clone, Debug, Default)]
pub struct ControllerConfig {
    /// The flags of its pods.
    pub flags: ControllerFlags,
    /// Its nginx configuration (shared with requests in flight).
    pub table: Rc<RoutingTable>,
}

/// What every ingress-nginx pod of the cluster shares: the configuration per controller class,
/// the watched objects, the balancer's state and the logs.
#[derive(Debug)]
pub struct IngressState {
    /// By `--controller-class`.
    pub controllers: BTreeMap<String, ControllerConfig>,
    /// Services and endpoints.
    pub view: ControllerView,
    /// Log lines (`kubectl logs` of the controller), oldest first.
    pub log: Vec<String>,
    /// Round-robin cursors by upstream name.
    cursors: BTreeMap<String, usize>,
    /// Configuration problems already logged (each is logged once).
    pub(super) logged: std::collections::BTreeSet<String>,
    rng: SimRng,
    /// Unix time of simulated zero.
    pub epoch_unix_secs: i64,
}

impl IngressState {
    /// An empty state drawing from `rng` (canary weights, X-Request-ID, balancer start).
    pub fn new(rng: SimRng, epoch_unix_secs: i64) -> IngressState {
        IngressState {
            controllers: BTreeMap::new(),
            view: ControllerView::default(),
            log: Vec::new(),
            cursors: BTreeMap::new(),
            logged: Default::default(),
            rng,
            epoch_unix_secs,
        }
    }

    /// Logs `line` with klog's header at simulated `unix` time.
    pub fn klog(&mut self, level: char, unix: i64, file: &str, line: &str) {
        let days = unix.div_euclid(86_400);
        let secs = unix.rem_euclid(86_400);
        let (_, m, d) = crate::apiserver::naming::civil_from_days(days);
        self.log.push(format!(
            "{level}{m:02}{d:02} {:02}:{:02}:{:02}.000000       7 {file}] {line}",
            secs / 3600,
            (secs % 3600) / 60,
            secs % 60
        ));
    }

    fn next_index(&mut self, upstream: &str, n: usize) -> usize {
        let start = self.rng.below(0, n.max(1) as u64) as usize;
        let c = self.cursors.entry(upstream.to_string()).or_insert(start);
        let i = *c % n.max(1);
        *c = c.wrapping_add(1);
        i
    }

    fn request_id(&mut self) -> String {
        format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64())
    }
}

/// The cookie value of an endpoint for `affinity: cookie`.
fn affinity_value(ep: &SocketAddrV4) -> String {
    let d = Sha256::digest(ep.to_string().as_bytes());
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers
        .get("cookie")?
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// What the access log says about the upstream of a request.
#[derive(Clone, Copy)]
struct Logged<'a> {
    upstream: &'a str,
    alt: &'a str,
    addr: &'a str,
    rid: &'a str,
}

/// A request waiting for its upstream.
#[derive(Clone, Debug)]
struct Pending {
    request: Request,
    upstream_request: Vec<u8>,
    candidates: Vec<SocketAddrV4>,
    tried: Vec<SocketAddrV4>,
    upstream_name: String,
    alternative: String,
    set_cookie: Option<String>,
    host: String,
    server: String,
    request_id: String,
}

/// The nginx of one ingress-nginx controller pod.
pub struct IngressNginxApp {
    state: Rc<RefCell<IngressState>>,
    controller_class: String,
    pending: BTreeMap<u64, Pending>,
    next_token: u64,
    /// The ServerHello to put before the answer of a TLS request waiting for its upstream.
    tls_pending: BTreeMap<u64, ServerHello>,
}

impl IngressNginxApp {
    /// The application of a pod of controller class `controller_class`.
    pub fn new(state: Rc<RefCell<IngressState>>, controller_class: String) -> IngressNginxApp {
        IngressNginxApp {
            state,
            controller_class,
            pending: BTreeMap::new(),
            next_token: 1,
            tls_pending: BTreeMap::new(),
        }
    }

    /// The certificate presented for SNI name `sni`: the server's TLS Secret if it exists,
    /// else the fake certificate (also for no SNI, the default server's).
    fn certificate(&self, sni: Option<&str>) -> ServerHello {
        let st = self.state.borrow();
        let Some(cfg) = st.controllers.get(&self.controller_class) else { return ServerHello::fake() };
        let server = cfg.table.server(sni);
        match &server.tls_secret {
            Some(key) if st.view.tls_secrets.contains(key) => ServerHello {
                subject: format!("(the certificate in Secret {key}, not decoded by netsim)"),
                issuer: format!("(the issuer of the certificate in Secret {key})"),
            },
            _ => ServerHello::fake(),
        }
    }

    /// Puts `hello` before a response in `reply`, or keeps it for the upstream's answer.
    fn with_hello(&mut self, hello: Option<ServerHello>, reply: AppReply) -> AppReply {
        let Some(hello) = hello else { return reply };
        match reply {
            AppReply::Respond(bytes) => AppReply::Respond(hello.wrap(&bytes)),
            AppReply::Upstream(u) => {
                self.tls_pending.insert(u.token, hello);
                AppReply::Upstream(u)
            }
            other => other,
        }
    }

    fn unix(&self, ctx: &AppContext<'_>) -> i64 {
        self.state.borrow().epoch_unix_secs + ctx.now.as_secs() as i64
    }

    /// A response nginx writes itself (error pages and redirects).
    fn page(
        &self,
        ctx: &AppContext<'_>,
        req: Option<&Request>,
        status: u16,
        location: Option<String>,
    ) -> Response {
        let mut r = Response::new(status);
        let body = nginx_error_page(status, SERVER_TOKEN);
        r.headers.push("Date", http_date(self.unix(ctx)));
        r.headers.push("Content-Type", "text/html");
        r.headers.push("Content-Length", body.len().to_string());
        r.headers.push("Connection", "keep-alive");
        if let Some(l) = location {
            r.headers.push("Location", l);
        }
        if req.is_none_or(|q| q.method != "HEAD") {
            r.body = body;
        }
        r
    }

    fn access_log(&self, ctx: &AppContext<'_>, req: &Request, resp: &Response, up: &Logged<'_>) {
        let Logged { upstream, alt, addr: upstream_addr, rid } = *up;
        let unix = self.unix(ctx);
        let days = unix.div_euclid(86_400);
        let secs = unix.rem_euclid(86_400);
        let (y, m, d) = crate::apiserver::naming::civil_from_days(days);
        let mo = crate::apiserver::naming::month_abbrev(m);
        let ua = req.headers.get("user-agent").unwrap_or("-");
        let req_len = req.to_bytes().len();
        let (ups_len, ups_status) = if upstream_addr.is_empty() {
            ("-".to_string(), "-".to_string())
        } else {
            (resp.body.len().to_string(), resp.status.to_string())
        };
        let upstream_addr = if upstream_addr.is_empty() { "-" } else { upstream_addr };
        let line = format!(
            "{} - - [{d:02}/{mo}/{y}:{:02}:{:02}:{:02} +0000] \"{} {} HTTP/{}\" {} {} \"-\" \"{ua}\" {req_len} 0.001 [{upstream}] [{alt}] {upstream_addr} {ups_len} 0.001 {ups_status} {rid}",
            ctx.peer.ip(),
            secs / 3600,
            (secs % 3600) / 60,
            secs % 60,
            req.method,
            req.target,
            req.version,
            resp.status,
            resp.body.len(),
        );
        self.state.borrow_mut().log.push(line);
    }

    fn error_log(&self, ctx: &AppContext<'_>, msg: &str, p: &Pending, upstream: &SocketAddrV4) {
        let unix = self.unix(ctx);
        let days = unix.div_euclid(86_400);
        let secs = unix.rem_euclid(86_400);
        let (y, m, d) = crate::apiserver::naming::civil_from_days(days);
        let line = format!(
            "{y}/{m:02}/{d:02} {:02}:{:02}:{:02} [error] 32#32: *1 {msg}, client: {}, server: {}, request: \"{} {} HTTP/{}\", upstream: \"http://{upstream}{}\", host: \"{}\"",
            secs / 3600,
            (secs % 3600) / 60,
            secs % 60,
            ctx.peer.ip(),
            p.server,
            p.request.method,
            p.request.target,
            p.request.version,
            p.request.target,
            p.host,
        );
        self.state.borrow_mut().log.push(line);
    }

    /// Decides where `req` goes; an answer now or an upstream to connect to.
    fn route(&mut self, ctx: &AppContext<'_>, req: Request) -> AppReply {
        let scheme = if ctx.local.port() == 443 { "https" } else { "http" };
        let host_header = req.host().unwrap_or("").to_string();
        let host = host_header.split(':').next().unwrap_or("").to_ascii_lowercase();
        let state = self.state.clone();
        let st = state.borrow();
        let Some(cfg) = st.controllers.get(&self.controller_class) else {
            drop(st);
            let r = self.page(ctx, Some(&req), 404, None);
            return AppReply::Respond(r.to_bytes());
        };
        let table = cfg.table.clone();
        drop(st);
        let Some(route) =
            table.route(Some(&host_header).filter(|h| !h.is_empty()).map(|h| h.as_str()), req.path())
        else {
            let r = self.page(ctx, Some(&req), 404, None);
            self.access_log(
                ctx,
                &req,
                &r,
                &Logged { upstream: "upstream-default-backend", alt: "", addr: "", rid: "-" },
            );
            return AppReply::Respond(r.to_bytes());
        };
        let server_name = route.server.hostname.clone();
        let loc: Location = route.location.clone();
        let cfg: &LocationConfig = &loc.config;
        // `whitelist-source-range`: the client nginx saw (after any SNAT on the way in).
        if !cfg.allow_source.is_empty() && !cfg.allow_source.iter().any(|n| n.contains(ctx.peer.ip())) {
            let r = self.page(ctx, Some(&req), 403, None);
            let key = loc.ingress.clone();
            let mut s = self.state.borrow_mut();
            s.log.push(format!(
                "access forbidden by rule, client: {}, server: {server_name}, request: \"{} {} HTTP/{}\", host: \"{host_header}\" (ingress \"{key}\")",
                ctx.peer.ip(),
                req.method,
                req.target,
                req.version
            ));
            drop(s);
            return AppReply::Respond(r.to_bytes());
        }
        if scheme == "http"
            && (cfg.force_ssl_redirect || (cfg.ssl_redirect && route.server.tls_secret.is_some()))
        {
            let r = self.page(ctx, Some(&req), 308, Some(format!("https://{host}{}", req.target)));
            self.access_log(
                ctx,
                &req,
                &r,
                &Logged { upstream: &loc.upstream.name(), alt: "", addr: "", rid: "-" },
            );
            return AppReply::Respond(r.to_bytes());
        }
        if route.slash_redirect {
            let mut target = format!("{}/", req.path());
            if !req.query().is_empty() {
                target = format!("{target}?{}", req.query());
            }
            let r = self.page(ctx, Some(&req), 301, Some(format!("{scheme}://{host_header}{target}")));
            return AppReply::Respond(r.to_bytes());
        }
        // Canary: header, then cookie, then weight (balancer.lua `route_to_alternative_balancer`).
        let (upstream, use_cfg, alternative) = match &loc.canary {
            Some(c) => {
                let cc = c.config.canary.clone().unwrap_or_default();
                let mut decided = None;
                if let Some(h) = &cc.header {
                    let v = req.headers.get(h);
                    decided = match (&cc.header_value, v) {
                        (Some(want), Some(v)) => Some(v == want),
                        (None, Some("always")) => Some(true),
                        (None, Some("never")) => Some(false),
                        _ => None,
                    };
                }
                if decided.is_none()
                    && let Some(ck) = &cc.cookie
                {
                    decided = match cookie(&req, ck) {
                        Some("always") => Some(true),
                        Some("never") => Some(false),
                        _ => None,
                    };
                }
                let to_canary = decided.unwrap_or_else(|| {
                    let roll = self.state.borrow_mut().rng.below(1, u64::from(cc.weight_total) + 1);
                    roll <= u64::from(cc.weight)
                });
                if to_canary {
                    (c.upstream.clone(), c.config.clone(), loc.upstream.name())
                } else {
                    (loc.upstream.clone(), loc.config.clone(), c.upstream.name())
                }
            }
            None => (loc.upstream.clone(), loc.config.clone(), String::new()),
        };
        let (namespace, name, port) = match &upstream {
            Upstream::DefaultBackend => {
                let r = self.page(ctx, Some(&req), 404, None);
                self.access_log(
                    ctx,
                    &req,
                    &r,
                    &Logged { upstream: "upstream-default-backend", alt: "", addr: "", rid: "-" },
                );
                return AppReply::Respond(r.to_bytes());
            }
            Upstream::Resource(_) => {
                let r = self.page(ctx, Some(&req), 503, None);
                return AppReply::Respond(r.to_bytes());
            }
            Upstream::Service { namespace, name, port } => (namespace.clone(), name.clone(), port.clone()),
        };
        let upstream_name = upstream.name();
        let unix = self.unix(ctx);
        let candidates = if use_cfg.service_upstream {
            self.state
                .borrow()
                .view
                .cluster_ip_upstream(&namespace, &name, &port)
                .map(|a| vec![a])
                .ok_or_else(|| format!("Service \"{namespace}/{name}\" has no ClusterIP for port {port}"))
        } else {
            self.state.borrow().view.ready_endpoints(&namespace, &name, &port)
        };
        let mut candidates = match candidates {
            Ok(c) => c,
            Err(msg) => {
                self.state.borrow_mut().klog('W', unix, "controller.go:1214", &msg);
                let r = self.page(ctx, Some(&req), 503, None);
                self.access_log(
                    ctx,
                    &req,
                    &r,
                    &Logged { upstream: &upstream_name, alt: &alternative, addr: "", rid: "-" },
                );
                return AppReply::Respond(r.to_bytes());
            }
        };
        // The balancer's choice, rotated so retries go to the next endpoints.
        let mut set_cookie = None;
        let sticky = use_cfg.affinity.as_ref().and_then(|a| {
            let v = cookie(&req, &a.name)?;
            candidates.iter().position(|ep| affinity_value(ep) == v)
        });
        let first = match sticky {
            Some(i) => i,
            None => {
                let i = self.state.borrow_mut().next_index(&upstream_name, candidates.len());
                if let Some(a) = &use_cfg.affinity {
                    let path = a.path.clone().unwrap_or_else(|| loc.ingress_path.clone());
                    set_cookie =
                        Some(format!("{}={}; Path={path}; HttpOnly", a.name, affinity_value(&candidates[i])));
                }
                i
            }
        };
        candidates.rotate_left(first);
        let request_id = self.state.borrow_mut().request_id();
        let uri = route.server.rewrite(route.location, req.path(), req.query());
        let mut up = Request::new(&req.method, &uri);
        up.headers.push("Host", host_header.clone());
        up.headers.push("X-Request-ID", request_id.clone());
        up.headers.push("X-Real-IP", ctx.peer.ip().to_string());
        up.headers.push("X-Forwarded-For", ctx.peer.ip().to_string());
        up.headers.push("X-Forwarded-Host", host_header.clone());
        up.headers.push("X-Forwarded-Port", ctx.local.port().to_string());
        up.headers.push("X-Forwarded-Proto", scheme);
        up.headers.push("X-Forwarded-Scheme", scheme);
        up.headers.push("X-Scheme", scheme);
        if let Some(xff) = req.headers.get("x-forwarded-for") {
            up.headers.push("X-Original-Forwarded-For", xff.to_string());
        }
        for (k, v) in req.headers.iter() {
            let lower = k.to_ascii_lowercase();
            if matches!(lower.as_str(), "host" | "x-forwarded-for" | "x-real-ip" | "connection" | "proxy") {
                continue;
            }
            up.headers.push(k, v);
        }
        up.body = req.body.clone();
        let upstream_request = match use_cfg.backend_protocol {
            BackendProtocol::Http => up.to_bytes(),
            // A TLS ClientHello (or an HTTP/2 preface for plain gRPC): a plain HTTP pod
            // does not understand it and closes the connection.
            BackendProtocol::Https | BackendProtocol::Grpcs => {
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec()
            }
            BackendProtocol::Grpc => b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        };
        let dst = candidates[0];
        let p = Pending {
            request: req,
            upstream_request: upstream_request.clone(),
            candidates,
            tried: vec![dst],
            upstream_name,
            alternative,
            set_cookie,
            host: host_header,
            server: server_name,
            request_id,
        };
        let token = self.next_token;
        self.next_token += 1;
        self.pending.insert(token, p);
        AppReply::Upstream(UpstreamRequest {
            proto: sim_net::socket::SockProto::Tcp,
            dst,
            request: upstream_request,
            timeout: PROXY_CONNECT_TIMEOUT,
            token,
        })
    }
}

impl Application for IngressNginxApp {
    fn respond(&mut self, ctx: &AppContext<'_>, _request: &[u8]) -> Vec<u8> {
        self.page(ctx, None, 400, None).to_bytes()
    }

    fn handle(&mut self, ctx: &AppContext<'_>, request: &[u8]) -> AppReply {
        let (hello, request) = match ClientHello::parse(request) {
            Some((h, rest)) if ctx.local.port() == 443 => {
                let cert = self.certificate(h.sni.as_deref());
                if h.verify {
                    // The client refuses the certificate and closes: the request is never read.
                    return AppReply::Respond(cert.wrap(b""));
                }
                (Some(cert), rest)
            }
            _ => (None, request),
        };
        let reply = match Request::parse(request) {
            Some(req) => self.route(ctx, req),
            None => AppReply::Respond(self.page(ctx, None, 400, None).to_bytes()),
        };
        self.with_hello(hello, reply)
    }

    fn upstream_done(&mut self, ctx: &AppContext<'_>, token: u64, outcome: &Outcome) -> AppReply {
        let hello = self.tls_pending.remove(&token);
        let reply = self.upstream_answer(ctx, token, outcome);
        self.with_hello(hello, reply)
    }
}

impl IngressNginxApp {
    /// The answer once the upstream try `token` ended: the proxied response, the next try, or
    /// nginx's error page.
    fn upstream_answer(&mut self, ctx: &AppContext<'_>, token: u64, outcome: &Outcome) -> AppReply {
        let Some(mut p) = self.pending.remove(&token) else {
            return AppReply::Respond(self.page(ctx, None, 502, None).to_bytes());
        };
        let Some(last) = p.tried.last().copied() else {
            return AppReply::Respond(self.page(ctx, None, 502, None).to_bytes());
        };
        if let Outcome::Completed { response } = outcome
            && let Some(up) = Response::parse(response)
        {
            let mut r = super::proxy::relay(&up, self.unix(ctx), p.request.method == "HEAD");
            if let Some(c) = &p.set_cookie {
                r.headers.push("Set-Cookie", c.clone());
            }
            self.access_log(
                ctx,
                &p.request,
                &r,
                &Logged {
                    upstream: &p.upstream_name,
                    alt: &p.alternative,
                    addr: &last.to_string(),
                    rid: &p.request_id,
                },
            );
            return AppReply::Respond(r.to_bytes());
        }
        let failure = super::proxy::failure(outcome).unwrap_or(("upstream failed", 502));
        let (msg, status) = failure;
        self.error_log(ctx, msg, &p, &last);
        // `proxy_next_upstream error timeout`: the next endpoint, up to the tries limit; a
        // response that came back (even a broken one) is not retried.
        let retry = !matches!(outcome, Outcome::Completed { .. })
            && p.tried.len() < PROXY_NEXT_UPSTREAM_TRIES.min(p.candidates.len());
        if retry {
            let dst = p.candidates[p.tried.len()];
            p.tried.push(dst);
            let request = p.upstream_request.clone();
            let token = self.next_token;
            self.next_token += 1;
            self.pending.insert(token, p);
            return AppReply::Upstream(UpstreamRequest {
                proto: sim_net::socket::SockProto::Tcp,
                dst,
                request,
                timeout: PROXY_CONNECT_TIMEOUT,
                token,
            });
        }
        let r = self.page(ctx, Some(&p.request), status, None);
        let addrs: Vec<String> = p.tried.iter().map(|a| a.to_string()).collect();
        self.access_log(
            ctx,
            &p.request,
            &r,
            &Logged {
                upstream: &p.upstream_name,
                alt: &p.alternative,
                addr: &addrs.join(", "),
                rid: &p.request_id,
            },
        );
        AppReply::Respond(r.to_bytes())
    }
}
