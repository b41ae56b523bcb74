//! The part of nginx's `proxy_pass` both simulated controllers share (ingress-nginx and NGINX
//! Gateway Fabric run nginx in front of the endpoints): the client's answer built from the
//! upstream's (`Server` and `Date` replaced by nginx's, `Connection: keep-alive`, the body
//! dropped for `HEAD`), and nginx's error-log message and status when the upstream try fails.

use sim_net::network::Outcome;

use crate::http::{Response, http_date};

/// The client's response from the upstream's `up`, at unix time `unix`.
pub fn relay(up: &Response, unix: i64, head: bool) -> Response {
    let mut r = Response::new(up.status);
    r.reason = up.reason.clone();
    r.headers.push("Date", http_date(unix));
    for name in ["Content-Type", "Content-Length", "Transfer-Encoding"] {
        if let Some(v) = up.headers.get(name) {
            r.headers.push(name, v);
        }
    }
    r.headers.push("Connection", "keep-alive");
    for (k, v) in up.headers.iter() {
        let lower = k.to_ascii_lowercase();
        if !matches!(
            lower.as_str(),
            "server" | "date" | "connection" | "content-type" | "content-length" | "transfer-encoding"
        ) {
            r.headers.push(k, v);
        }
    }
    r.body = if head { String::new() } else { up.body.clone() };
    r
}

/// nginx's error-log message and the status it answers for an upstream try that ended with
/// `outcome` without a valid response (`None` for a valid one).
pub fn failure(outcome: &Outcome) -> Option<(&'static str, u16)> {
    Some(match outcome {
        Outcome::Completed { response } => match Response::parse(response) {
            Some(_) => return None,
            None if response.is_empty() => {
                ("upstream prematurely closed connection while reading response header from upstream", 502)
            }
            None => {
                ("upstream sent no valid HTTP/1.0 header while reading response header from upstream", 502)
            }
        },
        Outcome::Refused => ("connect() failed (111: Connection refused) while connecting to upstream", 502),
        Outcome::Reset => {
            ("recv() failed (104: Connection reset by peer) while reading response header from upstream", 502)
        }
        Outcome::TimedOut => {
            ("upstream timed out (110: Operation timed out) while connecting to upstream", 504)
        }
        Outcome::Unreachable { .. } | Outcome::NoRoute => {
            ("connect() failed (113: No route to host) while connecting to upstream", 502)
        }
        Outcome::NotPermitted => {
            ("connect() failed (1: Operation not permitted) while connecting to upstream", 502)
        }
        Outcome::Failed(_) => ("connect() failed while connecting to upstream", 502),
    })
}
