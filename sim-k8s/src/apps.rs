//! Applications by container image, so transcripts look like the articles: what a server in a
//! pod (or on an external host) answers, as bytes. These are pure functions of the request and
//! of what the server can see (its name, its address, and the client address *after* NAT — the
//! whole point of the SNAT labs). The network stack delivers requests to them; they never
//! decide where traffic goes.
//!
//! Modelled: nginx (its welcome page), `k8s.gcr.io/echoserver`-style echo (hostname and the
//! client address it saw), article 000's `jasonn/php-echoserver` (prints the container IP, plus
//! the client it saw), mysql (its protocol greeting on TCP 3306), CoreDNS is not here (see
//! `dns`). Any other image listens on its declared container ports and answers a one-line
//! banner. HTTP is parsed only as far as the request line and Host header.

use std::net::SocketAddrV4;

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
            AppKind::EchoServer => &[8080],
            AppKind::Mysql => &[3306],
            AppKind::Client | AppKind::Generic(_) => &[],
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

/// A parsed HTTP/1.x request line and the headers the apps use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`.
    pub method: String,
    /// `/path?query`.
    pub target: String,
    /// `1.1`.
    pub version: String,
    /// The Host header, if any.
    pub host: Option<String>,
    /// The User-Agent header, if any.
    pub user_agent: Option<String>,
}

impl HttpRequest {
    /// Parses the head of an HTTP/1.x request; `None` if it is not one.
    pub fn parse(bytes: &[u8]) -> Option<HttpRequest> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let method = first.next()?.to_string();
        let target = first.next()?.to_string();
        let version = first.next()?.strip_prefix("HTTP/")?.to_string();
        let mut req = HttpRequest { method, target, version, host: None, user_agent: None };
        for line in lines {
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                let v = v.trim().to_string();
                match k.to_ascii_lowercase().as_str() {
                    "host" => req.host = Some(v),
                    "user-agent" => req.user_agent = Some(v),
                    _ => {}
                }
            }
        }
        Some(req)
    }

    /// Builds the request a client sends (`curl`: `GET / HTTP/1.1`, Host, User-Agent, Accept).
    pub fn render(method: &str, host: &str, path: &str, user_agent: &str) -> Vec<u8> {
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\nAccept: */*\r\n\r\n")
            .into_bytes()
    }
}

/// An HTTP response split into head and body, as a client prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Header lines in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl HttpResponse {
    fn ok(server: &str, content_type: &str, body: String) -> HttpResponse {
        HttpResponse {
            status: 200,
            reason: "OK".into(),
            headers: vec![
                ("Server".into(), server.into()),
                ("Content-Type".into(), content_type.into()),
                ("Content-Length".into(), body.len().to_string()),
                ("Connection".into(), "keep-alive".into()),
            ],
            body,
        }
    }

    /// Serializes the response.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = format!("HTTP/1.1 {} {}\r\n", self.status, self.reason);
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s.push_str(&self.body);
        s.into_bytes()
    }

    /// Parses a response produced by [`HttpResponse::to_bytes`] (or any simple HTTP/1.x one).
    pub fn parse(bytes: &[u8]) -> Option<HttpResponse> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next()?;
        let mut parts = status_line.splitn(3, ' ');
        let _version = parts.next()?;
        let status = parts.next()?.parse().ok()?;
        let reason = parts.next().unwrap_or("").to_string();
        let headers =
            lines.filter_map(|l| l.split_once(": ").map(|(k, v)| (k.to_string(), v.to_string()))).collect();
        Some(HttpResponse { status, reason, headers, body: body.to_string() })
    }
}

/// The bytes `kind` answers to `request` on a TCP connection, or `None` if it does not answer
/// that (e.g. a client image, or a non-HTTP request to an HTTP server: the connection is closed).
pub fn respond(kind: &AppKind, view: &ServerView<'_>, request: &[u8]) -> Option<Vec<u8>> {
    match kind {
        AppKind::Client => None,
        AppKind::Mysql => Some(mysql_greeting(view)),
        AppKind::Nginx => {
            HttpRequest::parse(request)?;
            Some(HttpResponse::ok("nginx/1.25.3", "text/html", NGINX_WELCOME.to_string()).to_bytes())
        }
        AppKind::PhpEchoServer => {
            HttpRequest::parse(request)?;
            let body = format!("{}\n", view.local.ip());
            Some(HttpResponse::ok("Apache/2.4.10 (Debian)", "text/html; charset=UTF-8", body).to_bytes())
        }
        AppKind::EchoServer => {
            let req = HttpRequest::parse(request)?;
            Some(HttpResponse::ok("echoserver", "text/plain", echoserver_body(view, &req)).to_bytes())
        }
        AppKind::Generic(image) => {
            if HttpRequest::parse(request).is_some() {
                let body = format!("{image} on {} ({})\n", view.hostname, view.local);
                Some(HttpResponse::ok("netsim-generic", "text/plain", body).to_bytes())
            } else {
                Some(format!("{image} on {}\n", view.hostname).into_bytes())
            }
        }
    }
}

/// The body of the Kubernetes e2e echoserver (`k8s.gcr.io/echoserver:1.10`), which prints the
/// pod's hostname and the client address it saw.
fn echoserver_body(view: &ServerView<'_>, req: &HttpRequest) -> String {
    let host = req.host.clone().unwrap_or_else(|| view.local.to_string());
    let (path, query) = req.target.split_once('?').unwrap_or((req.target.as_str(), ""));
    format!(
        "\n\nHostname: {hostname}\n\nPod Information:\n\tpod IP: {pod_ip}\n\nServer values:\n\tserver_version=nginx: 1.13.3 - lua: 10008\n\n\
Request Information:\n\tclient_address={client}\n\tmethod={method}\n\treal path={path}\n\tquery={query}\n\
\trequest_version={version}\n\trequest_scheme=http\n\trequest_uri=http://{host}:{port}{target}\n\n\
Request Headers:\n\taccept=*/*\n\thost={host}\n\tuser-agent={ua}\n\nRequest Body:\n\t-no body in request-\n\n",
        hostname = view.hostname,
        pod_ip = view.local.ip(),
        client = view.peer.ip(),
        method = req.method,
        version = req.version,
        port = view.local.port(),
        target = req.target,
        ua = req.user_agent.clone().unwrap_or_default(),
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
        }
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
    }
}
