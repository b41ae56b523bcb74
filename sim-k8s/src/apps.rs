//! Applications by container image, so transcripts look like the articles: what a server in a
//! pod (or on an external host) answers, as bytes. These are pure functions of the request and
//! of what the server can see (its name, its address, and the client address *after* NAT — the
//! whole point of the SNAT labs). The network stack delivers requests to them; they never
//! decide where traffic goes.
//!
//! Modelled, per request (method, path, headers; see [`crate::http`]): nginx (the welcome page
//! at `/`, its 404 page elsewhere, with nginx's headers), `k8s.gcr.io/echoserver` (hostname,
//! the client address it saw, every request header and the body), the tutorials'
//! `gcr.io/google-samples/hello-app` (`Hello, world!`, its version, the hostname), article
//! 000's `jasonn/php-echoserver` (prints the container IP), mysql (its protocol greeting on TCP
//! 3306). CoreDNS is not here (see `dns`), nor the ingress-nginx controller (see `ingress`).
//! Any other image listens on its declared container ports and answers a one-line banner.

use std::net::SocketAddrV4;

use crate::http::{Request, Response, http_date, nginx_error_page};

/// What kind of server an image runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppKind {
    /// `nginx`, `nginx:alpine`, ...: the welcome page on every path.
    Nginx,
    /// `k8s.gcr.io/echoserver`, `registry.k8s.io/echoserver`, `ealen/echo-server`, ...
    EchoServer,
    /// `jasonn/php-echoserver` (article 000): prints the container IP.
    PhpEchoServer,
    /// `mysql`, `mariadb`: a protocol greeting on connect.
    Mysql,
    /// `gcr.io/google-samples/hello-app:1.0` (the GKE/minikube tutorials' image): `Hello,
    /// world!`, `Version: 1.0.0`, `Hostname: ...` on every path, port 8080.
    HelloApp {
        /// The version it prints (`1.0.0` for tag `1.0`, `2.0.0` for `2.0`).
        version: String,
    },
    /// `registry.k8s.io/ingress-nginx/controller`: the ingress controller (see `ingress`).
    IngressNginx,
    /// `ghcr.io/nginx/nginx-gateway-fabric`: NGINX Gateway Fabric's control plane (see
    /// `gateway`); it serves nothing netsim simulates.
    GatewayFabric,
    /// `ghcr.io/nginx/nginx-gateway-fabric/nginx`: the nginx a Gateway's data plane runs (see
    /// `gateway`).
    GatewayFabricNginx,
    /// Clients and shells (`busybox`, `curlimages/curl`, `alpine`, ...): no server.
    Client,
    /// Anything else: listens on its declared ports and answers a banner naming the image.
    Generic(String),
}

impl AppKind {
    /// Classifies an image reference (`repo/name:tag@digest`) by its last path component.
    pub fn from_image(image: &str) -> AppKind {
        let without_digest = image.split('@').next().unwrap_or(image);
        let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
        let name = last.split(':').next().unwrap_or(last);
        if without_digest.contains("ingress-nginx/controller") {
            return AppKind::IngressNginx;
        }
        if without_digest.contains("nginx-gateway-fabric/nginx") {
            return AppKind::GatewayFabricNginx;
        }
        if name == "nginx-gateway-fabric" {
            return AppKind::GatewayFabric;
        }
        if name == "hello-app" {
            // The tag is `1.0` or `2.0`; the program prints `Version: 1.0.0`.
            let tag = last.split_once(':').map_or("1.0", |(_, t)| t);
            let version = if tag.matches('.').count() == 1 { format!("{tag}.0") } else { tag.to_string() };
            return AppKind::HelloApp { version };
        }
        match name {
            "nginx" | "nginx-unprivileged" | "openresty" => AppKind::Nginx,
            "php-echoserver" => AppKind::PhpEchoServer,
            "echoserver" | "echo-server" | "http-echo" | "agnhost" => AppKind::EchoServer,
            "mysql" | "mariadb" => AppKind::Mysql,
            "busybox" | "curl" | "alpine" | "dnsutils" | "jessie-dnsutils" | "netshoot" | "ubuntu"
            | "debian" | "centos" => AppKind::Client,
            _ => AppKind::Generic(without_digest.to_string()),
        }
    }

    /// The ports the application listens on when the manifest declares none (nginx: 80).
    pub fn default_ports(&self) -> &'static [u16] {
        match self {
            AppKind::Nginx | AppKind::PhpEchoServer => &[80],
            AppKind::EchoServer | AppKind::HelloApp { .. } => &[8080],
            AppKind::IngressNginx => &[80, 443],
            AppKind::Mysql => &[3306],
            AppKind::Client | AppKind::Generic(_) | AppKind::GatewayFabric | AppKind::GatewayFabricNginx => {
                &[]
            }
        }
    }
}

/// What the server can see when it answers.
#[derive(Clone, Debug)]
pub struct ServerView<'a> {
    /// The pod or host name (`hostname` inside the container).
    pub hostname: &'a str,
    /// The address and port the request arrived on (after DNAT: the pod's own).
    pub local: SocketAddrV4,
    /// The client address as the server saw it (after any SNAT/MASQUERADE).
    pub peer: SocketAddrV4,
    /// The wall-clock time of the request, Unix seconds (the `Date` header).
    pub now_unix: i64,
}

/// The nginx 1.2x welcome page, byte for byte.
pub const NGINX_WELCOME: &str = "<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href=\"http://nginx.org/\">nginx.org</a>.<br/>
Commercial support is available at
<a href=\"http://nginx.com/\">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
";

/// The request type the apps read (see [`crate::http`]).
pub type HttpRequest = Request;
/// The response type the apps write (see [`crate::http`]).
pub type HttpResponse = Response;

impl Request {
    /// The request curl sends by default: `GET PATH HTTP/1.1`, Host, User-Agent, Accept.
    pub fn render(method: &str, host: &str, path: &str, user_agent: &str) -> Vec<u8> {
        let mut r = Request::new(method, path);
        r.headers.push("Host", host);
        r.headers.push("User-Agent", user_agent);
        r.headers.push("Accept", "*/*");
        r.to_bytes()
    }
}

/// nginx's `Last-Modified` of the welcome page in the 1.25.3 image, and its `ETag`.
const NGINX_INDEX_MTIME: (&str, &str) = ("Tue, 24 Oct 2023 13:46:47 GMT", "\"6537cac7-267\"");

/// The bytes `kind` answers to `request` on a TCP connection, or `None` if it does not answer
/// that (e.g. a client image, or a non-HTTP request to an HTTP server: the connection is closed).
pub fn respond(kind: &AppKind, view: &ServerView<'_>, request: &[u8]) -> Option<Vec<u8>> {
    match kind {
        AppKind::Client | AppKind::IngressNginx | AppKind::GatewayFabric | AppKind::GatewayFabricNginx => {
            None
        }
        AppKind::Mysql => Some(mysql_greeting(view)),
        AppKind::Nginx => Some(nginx(view, &Request::parse(request)?).to_bytes()),
        AppKind::PhpEchoServer => {
            let req = Request::parse(request)?;
            let body = format!("{}\n", view.local.ip());
            let mut r = Response::new(200);
            r.headers.push("Date", http_date(view.now_unix));
            r.headers.push("Server", "Apache/2.4.10 (Debian)");
            r.headers.push("X-Powered-By", "PHP/5.6.40");
            r.headers.push("Content-Length", body.len().to_string());
            r.headers.push("Content-Type", "text/html; charset=UTF-8");
            r.body = body;
            Some(head_only(r, &req).to_bytes())
        }
        AppKind::EchoServer => {
            let req = Request::parse(request)?;
            let body = echoserver_body(view, &req);
            let mut r = Response::new(200);
            r.headers.push("Server", "nginx/1.13.3");
            r.headers.push("Date", http_date(view.now_unix));
            r.headers.push("Content-Type", "text/plain");
            r.headers.push("Transfer-Encoding", "chunked");
            r.headers.push("Connection", "keep-alive");
            r.body = body;
            Some(head_only(r, &req).to_bytes())
        }
        AppKind::HelloApp { version } => {
            let req = Request::parse(request)?;
            let body = format!("Hello, world!\nVersion: {version}\nHostname: {}\n", view.hostname);
            Some(head_only(go_text(view, body), &req).to_bytes())
        }
        AppKind::Generic(image) => match Request::parse(request) {
            Some(req) => {
                let body = format!("{image} on {} ({})\n", view.hostname, view.local);
                let mut r = Response::new(200);
                r.headers.push("Server", "netsim-generic");
                r.headers.push("Content-Type", "text/plain");
                r.headers.push("Content-Length", body.len().to_string());
                r.headers.push("Connection", "keep-alive");
                r.body = body;
                Some(head_only(r, &req).to_bytes())
            }
            None => Some(format!("{image} on {}\n", view.hostname).into_bytes()),
        },
    }
}

/// A HEAD request gets the headers GET would get and no body.
fn head_only(mut r: Response, req: &Request) -> Response {
    if req.method == "HEAD" {
        r.body.clear();
    }
    r
}

/// Go's `net/http` answering a handler that wrote `body` (hello-app).
fn go_text(view: &ServerView<'_>, body: String) -> Response {
    let mut r = Response::new(200);
    r.headers.push("Date", http_date(view.now_unix));
    r.headers.push("Content-Length", body.len().to_string());
    r.headers.push("Content-Type", "text/plain; charset=utf-8");
    r.body = body;
    r
}

/// The stock nginx image (`/usr/share/nginx/html` holds `index.html` and `50x.html`): the
/// welcome page at `/` and `/index.html`, the 50x page, `404 Not Found` elsewhere, `405 Not
/// Allowed` for a POST to a static file.
fn nginx(view: &ServerView<'_>, req: &Request) -> Response {
    const SERVER: &str = "nginx/1.25.3";
    let path = req.path();
    let static_file = match path {
        "/" | "/index.html" => Some(NGINX_WELCOME),
        "/50x.html" => Some(NGINX_50X),
        _ => None,
    };
    let mut r = match (static_file, req.method.as_str()) {
        (Some(page), "GET" | "HEAD") => {
            let mut r = Response::new(200);
            r.headers.push("Server", SERVER);
            r.headers.push("Date", http_date(view.now_unix));
            r.headers.push("Content-Type", "text/html");
            r.headers.push("Content-Length", page.len().to_string());
            r.headers.push("Last-Modified", NGINX_INDEX_MTIME.0);
            r.headers.push("Connection", "keep-alive");
            r.headers.push("ETag", NGINX_INDEX_MTIME.1);
            r.headers.push("Accept-Ranges", "bytes");
            r.body = page.to_string();
            return head_only(r, req);
        }
        (Some(_), _) => Response::new(405),
        (None, _) => Response::new(404),
    };
    let page = nginx_error_page(r.status, SERVER);
    r.headers.push("Server", SERVER);
    r.headers.push("Date", http_date(view.now_unix));
    r.headers.push("Content-Type", "text/html");
    r.headers.push("Content-Length", page.len().to_string());
    r.headers.push("Connection", "keep-alive");
    r.body = page;
    head_only(r, req)
}

/// nginx's `50x.html`.
const NGINX_50X: &str = "<!DOCTYPE html>
<html>
<head>
<title>Error</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
<p>If you are the system administrator of this resource then you should check
the error log for details.</p>
<p><em>Faithfully yours, nginx.</em></p>
</body>
</html>
";

/// The body of the Kubernetes e2e echoserver (`k8s.gcr.io/echoserver:1.10`, nginx + lua):
/// the pod's hostname, the client address it saw, the request line's parts and every
/// request header (lower-cased, sorted by name, as its lua template prints them), then the
/// body.
fn echoserver_body(view: &ServerView<'_>, req: &Request) -> String {
    let host = req.host().map(str::to_string).unwrap_or_else(|| view.local.ip().to_string());
    let mut headers: Vec<(String, &str)> =
        req.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut hdrs = String::new();
    for (k, v) in headers {
        hdrs.push_str(&format!("\t{k}={v}\n"));
    }
    let body = if req.body.is_empty() { "\t-no body in request-".to_string() } else { req.body.clone() };
    let uri_host = host.split(':').next().unwrap_or(&host);
    format!(
        "\n\nHostname: {hostname}\n\nPod Information:\n\t-no pod information available-\n\nServer values:\n\tserver_version=nginx: 1.13.3 - lua: 10008\n\n\
Request Information:\n\tclient_address={client}\n\tmethod={method}\n\treal path={path}\n\tquery={query}\n\
\trequest_version={version}\n\trequest_scheme=http\n\trequest_uri=http://{uri_host}:{port}{target}\n\n\
Request Headers:\n{hdrs}\nRequest Body:\n{body}\n\n",
        hostname = view.hostname,
        client = view.peer.ip(),
        method = req.method,
        path = req.path(),
        query = req.query(),
        version = req.version,
        port = view.local.port(),
        target = req.target,
    )
}

/// The start of MySQL's initial handshake packet as a client prints it on connect
/// (`nc host 3306` shows the version string): protocol 10 and a server version.
fn mysql_greeting(_view: &ServerView<'_>) -> Vec<u8> {
    b"J\0\0\0\n8.0.36\0".to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn view() -> ServerView<'static> {
        ServerView {
            hostname: "echoserver-6d9f8c7b5-x2x7q",
            local: SocketAddrV4::new(Ipv4Addr::new(10, 244, 1, 5), 80),
            peer: SocketAddrV4::new(Ipv4Addr::new(10, 244, 1, 1), 40000),
            now_unix: 1_704_067_205,
        }
    }

    fn get(kind: &AppKind, method: &str, path: &str) -> HttpResponse {
        let req = HttpRequest::render(method, "example.com", path, "curl/8.5.0");
        HttpResponse::parse(&respond(kind, &view(), &req).unwrap()).unwrap()
    }

    #[test]
    fn nginx_answers_404_off_the_welcome_page_and_head_has_no_body() {
        let r = get(&AppKind::Nginx, "GET", "/nope");
        assert_eq!((r.status, r.reason.as_str()), (404, "Not Found"));
        assert!(r.body.contains("<hr><center>nginx/1.25.3</center>"));
        assert_eq!(r.headers.get("Content-Length"), Some("153"));
        let h = get(&AppKind::Nginx, "HEAD", "/");
        assert_eq!((h.status, h.body.as_str()), (200, ""));
        assert_eq!(h.headers.get("Content-Length"), Some("615"));
        assert_eq!(h.headers.get("Date"), Some("Mon, 01 Jan 2024 00:00:05 GMT"));
    }

    #[test]
    fn hello_app_prints_what_the_tutorial_shows() {
        let kind = AppKind::from_image("gcr.io/google-samples/hello-app:2.0");
        assert_eq!(kind, AppKind::HelloApp { version: "2.0.0".into() });
        let r = get(&kind, "GET", "/anything");
        assert_eq!(r.body, "Hello, world!\nVersion: 2.0.0\nHostname: echoserver-6d9f8c7b5-x2x7q\n");
        assert_eq!(r.headers.get("Content-Type"), Some("text/plain; charset=utf-8"));
        assert_eq!(
            AppKind::from_image("registry.k8s.io/ingress-nginx/controller:v1.10.1@sha256:e24f"),
            AppKind::IngressNginx
        );
    }

    #[test]
    fn images_are_classified_by_name() {
        assert_eq!(AppKind::from_image("nginx:1.25"), AppKind::Nginx);
        assert_eq!(AppKind::from_image("docker.io/library/nginx@sha256:abc"), AppKind::Nginx);
        assert_eq!(AppKind::from_image("jasonn/php-echoserver"), AppKind::PhpEchoServer);
        assert_eq!(AppKind::from_image("k8s.gcr.io/echoserver:1.10"), AppKind::EchoServer);
        assert_eq!(AppKind::from_image("busybox:1.28"), AppKind::Client);
        assert_eq!(AppKind::from_image("mysql:8"), AppKind::Mysql);
        assert_eq!(AppKind::from_image("example/app:v2"), AppKind::Generic("example/app:v2".into()));
    }

    #[test]
    fn nginx_serves_the_welcome_page_to_http_only() {
        let req = HttpRequest::render("GET", "10.96.0.100", "/", "curl/8.5.0");
        let resp = respond(&AppKind::Nginx, &view(), &req).unwrap();
        let parsed = HttpResponse::parse(&resp).unwrap();
        assert_eq!(parsed.status, 200);
        assert!(parsed.body.contains("<title>Welcome to nginx!</title>"));
        assert_eq!(NGINX_WELCOME.len(), 615);
        assert_eq!(respond(&AppKind::Nginx, &view(), b"\x16\x03\x01"), None);
    }

    #[test]
    fn echoserver_reports_the_client_it_saw() {
        let req = HttpRequest::render("GET", "10.96.0.100:8080", "/?a=1", "curl/8.5.0");
        let resp = HttpResponse::parse(&respond(&AppKind::EchoServer, &view(), &req).unwrap()).unwrap();
        assert!(resp.body.contains("Hostname: echoserver-6d9f8c7b5-x2x7q"));
        assert!(resp.body.contains("client_address=10.244.1.1"));
        assert!(resp.body.contains("query=a=1"));
        assert!(resp.body.contains("\taccept=*/*\n\thost=10.96.0.100:8080\n\tuser-agent=curl/8.5.0\n"));
        assert!(resp.body.contains("request_uri=http://10.96.0.100:80/?a=1"));
    }
}
