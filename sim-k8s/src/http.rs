//! HTTP/1.1 messages as the simulated clients and servers write them (RFC 9112): a request
//! line or status line, header fields in the order written (names compared
//! case-insensitively), an empty line and a body whose length `Content-Length` gives.
//!
//! One request and one response per connection (the network's TCP carries one of each), so
//! there is no chunked encoding, pipelining or keep-alive reuse; `Connection: keep-alive` is
//! printed because the real servers print it. Bodies are text.

use std::fmt;

/// Header fields in the order they were written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    /// The first value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Appends a field.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// Replaces every field `name` with one (appended where the first was, or at the end).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.0.iter().position(|(k, _)| k.eq_ignore_ascii_case(name)) {
            Some(i) => {
                self.0[i].1 = value;
                let mut n = 0;
                self.0.retain(|(k, _)| {
                    let dup = k.eq_ignore_ascii_case(name);
                    n += usize::from(dup);
                    !dup || n == 1
                });
            }
            None => self.0.push((name.to_string(), value)),
        }
    }

    /// Removes every field `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    /// Iterates in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// An HTTP/1.x request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `HEAD`, `POST`, ...
    pub method: String,
    /// The request target (`/path?query`).
    pub target: String,
    /// `1.1`.
    pub version: String,
    /// Header fields.
    pub headers: Headers,
    /// The body.
    pub body: String,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: &str, target: &str) -> Request {
        Request {
            method: method.to_string(),
            target: target.to_string(),
            version: "1.1".to_string(),
            headers: Headers::default(),
            body: String::new(),
        }
    }

    /// The Host header, if any.
    pub fn host(&self) -> Option<&str> {
        self.headers.get("host")
    }

    /// The path part of the target (before `?`).
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(self.target.as_str(), |(p, _)| p)
    }

    /// The query part of the target (after `?`, empty if none).
    pub fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }

    /// Parses a request; `None` if the bytes are not an HTTP/1.x request.
    pub fn parse(bytes: &[u8]) -> Option<Request> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
        let mut lines = head.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let method = first.next()?.to_string();
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let target = first.next()?.to_string();
        let version = first.next()?.strip_prefix("HTTP/")?.to_string();
        let headers = parse_fields(lines);
        Some(Request { method, target, version, headers, body: body.to_string() })
    }

    /// The bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} HTTP/{}\r\n", self.method, self.target, self.version)?;
        for (k, v) in self.headers.iter() {
            write!(f, "{k}: {v}\r\n")?;
        }
        write!(f, "\r\n{}", self.body)
    }
}

/// An HTTP/1.x response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// `1.1`.
    pub version: String,
    /// Status code.
    pub status: u16,
    /// Reason phrase as the server wrote it.
    pub reason: String,
    /// Header fields.
    pub headers: Headers,
    /// The body (empty for HEAD, though Content-Length says what GET would carry).
    pub body: String,
}

impl Response {
    /// A response with the standard reason phrase for `status`.
    pub fn new(status: u16) -> Response {
        Response {
            version: "1.1".to_string(),
            status,
            reason: reason_phrase(status).to_string(),
            headers: Headers::default(),
            body: String::new(),
        }
    }

    /// Parses a response; `None` if it is not one.
    pub fn parse(bytes: &[u8]) -> Option<Response> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next()?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next()?.strip_prefix("HTTP/")?.to_string();
        let status = parts.next()?.parse().ok()?;
        let reason = parts.next().unwrap_or("").to_string();
        let headers = parse_fields(lines);
        Some(Response { version, status, reason, headers, body: body.to_string() })
    }

    /// The status line and headers as curl `-i` prints them (CRLF line ends, empty line).
    pub fn head(&self) -> String {
        let mut s = format!("HTTP/{} {} {}\r\n", self.version, self.status, self.reason);
        for (k, v) in self.headers.iter() {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s
    }

    /// The bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = self.head();
        s.push_str(&self.body);
        s.into_bytes()
    }
}

fn parse_fields<'a>(lines: impl Iterator<Item = &'a str>) -> Headers {
    Headers(
        lines
            .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
            .collect(),
    )
}

/// The reason phrase nginx writes for a status (`ngx_http_status_lines`; Go's `net/http`
/// writes the same for the common ones except 504, "Gateway Timeout").
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Not Allowed",
        413 => "Request Entity Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Temporarily Unavailable",
        504 => "Gateway Time-out",
        _ => "",
    }
}

/// The error page nginx writes for `status` (`ngx_http_error_pages`), with the version in
/// the `<hr>` line as `server_tokens` decides (`nginx/1.25.3`, or `nginx` when off, as in
/// ingress-nginx).
pub fn nginx_error_page(status: u16, server: &str) -> String {
    let line = format!("{status} {}", reason_phrase(status));
    format!(
        "<html>\r\n<head><title>{line}</title></head>\r\n<body>\r\n<center><h1>{line}</h1></center>\r\n<hr><center>{server}</center>\r\n</body>\r\n</html>\r\n"
    )
}

/// An IMF-fixdate (`Mon, 01 Jan 2024 00:00:05 GMT`, RFC 9110 §5.6.7) for a Unix time, as
/// servers write their `Date` header.
pub fn http_date(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    let (y, m, d) = crate::apiserver::naming::civil_from_days(days);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let wd = WD[days.rem_euclid(7) as usize];
    let mo = crate::apiserver::naming::month_abbrev(m);
    format!("{wd}, {d:02} {mo} {y} {:02}:{:02}:{:02} GMT", secs / 3600, (secs % 3600) / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        let mut r = Request::new("POST", "/a?b=1");
        r.headers.push("Host", "example.com");
        r.headers.push("Content-Type", "application/x-www-form-urlencoded");
        r.body = "x=1".into();
        let back = Request::parse(&r.to_bytes()).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.path(), "/a");
        assert_eq!(back.query(), "b=1");
        assert_eq!(back.headers.get("HOST"), Some("example.com"));
        assert_eq!(Request::parse(b"\x16\x03\x01"), None);
        assert_eq!(Request::parse(b"J\0\0\0\n8.0.36\0"), None);
    }

    #[test]
    fn headers_set_replaces_all() {
        let mut h = Headers::default();
        h.push("X-A", "1");
        h.push("x-a", "2");
        h.push("B", "3");
        h.set("X-a", "9");
        assert_eq!(h.0, vec![("X-A".to_string(), "9".to_string()), ("B".to_string(), "3".to_string())]);
    }

    #[test]
    fn dates_are_imf_fixdate() {
        assert_eq!(http_date(1_704_067_205), "Mon, 01 Jan 2024 00:00:05 GMT");
    }

    #[test]
    fn nginx_404_page_is_the_real_one() {
        // ingress-nginx's default backend answer: 146 bytes with server_tokens off.
        let page = nginx_error_page(404, "nginx");
        assert!(page.starts_with("<html>\r\n<head><title>404 Not Found</title></head>\r\n"));
        assert_eq!(page.len(), 146);
    }
}
