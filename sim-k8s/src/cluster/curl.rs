//! `curl` (8.5.0) and BusyBox `wget` (1.36) as tutorials type them: their options parsed as the
//! tools parse them (curl's combined short flags `-sSLk`, `-o FILE`, `-w FORMAT`, `-m`,
//! `--connect-timeout`, `-H`, `-X`, `-d`, `-I`, `-i`, `-v`, `-f`, `--resolve HOST:PORT:ADDR`;
//! wget's `-qO-`, `-S`, `-T`, `-U`, `--header`, `--post-data`, `--spider`), the HTTP/1.1 request
//! they send over a real simulated TCP connection, and what they print: the body, `-i`/`-I`
//! headers, `-v`'s `*`/`>`/`<` lines on stderr, `-w` variables, and their error lines and exit
//! statuses (curl 6 resolve, 7 connect, 22 `-f`, 28 timeout, 52 empty reply, 56 reset).
//!
//! curl's progress meter goes to stderr when the body does not go to the terminal (a pipe,
//! `>`, `-o FILE`, `kubectl exec` without `-t`) and `-s` is not given: its header and its last
//! line, speeds from simulated time. Left out: the meter interleaved with `-v`'s lines, TLS (an `https://` URL is
//! plain HTTP to port 443, and `-k` changes nothing), redirects followed by `-L` (the 3xx is
//! printed), files written by `-o` (the body is discarded).

use std::net::{Ipv4Addr, SocketAddrV4};

use sim_core::SimDuration;
use sim_net::iface::HostId;
use sim_net::network::{ConvProto, Outcome};

use super::command::{CommandError, Url};
use super::exec::{ExecOutput, TCP_CONNECT_GIVE_UP};
use super::facade::{Cluster, Target};
use crate::http::{Request, Response};
use crate::tls::{ClientHello, ServerHello};

/// The user agent curl sends.
pub const CURL_USER_AGENT: &str = "curl/8.5.0";

/// A parsed curl command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CurlArgs {
    /// The URL.
    pub url: Option<Url>,
    /// `-X`.
    pub method: Option<String>,
    /// `-H` headers, in order (`Name: value`; `Name:` removes a default one).
    pub headers: Vec<(String, String)>,
    /// `-d` / `--data*` (joined with `&` when repeated).
    pub data: Option<String>,
    /// `-I`.
    pub head: bool,
    /// `-i`.
    pub include: bool,
    /// `-v`.
    pub verbose: bool,
    /// `-s`.
    pub silent: bool,
    /// `-S` (errors even with `-s`).
    pub show_error: bool,
    /// `-f`.
    pub fail: bool,
    /// `-o FILE`.
    pub output: Option<String>,
    /// `-w FORMAT`.
    pub write_out: Option<String>,
    /// `-m`, in milliseconds.
    pub max_time_ms: Option<u64>,
    /// `--connect-timeout`, in milliseconds.
    pub connect_timeout_ms: Option<u64>,
    /// `--resolve HOST:PORT:ADDR`.
    pub resolve: Vec<(String, u16, Ipv4Addr)>,
    /// `-A`.
    pub user_agent: Option<String>,
    /// `-L`: follow redirects.
    pub location: bool,
    /// `--max-redirs` (default 50; -1 is no limit).
    pub max_redirs: Option<i64>,
    /// `-k`: do not verify the server's certificate.
    pub insecure: bool,
}

/// What curl prints after a certificate it could not verify (exit 60).
const CURL_SSL_HELP: &str = "More details here: https://curl.se/docs/sslcerts.html\n\ncurl failed to verify the legitimacy of the server and therefore could not\nestablish a secure connection to it. To learn more about this situation and\nhow to fix it, please visit the web page mentioned above.";

/// curl's default `--max-redirs` (the tool's; libcurl's own default is 30).
pub const CURL_MAX_REDIRS: i64 = 50;

fn usage(message: impl Into<String>, exit_code: i32) -> CommandError {
    CommandError { message: message.into(), exit_code }
}

fn unknown_option(opt: &str) -> CommandError {
    usage(
        format!(
            "curl: option {opt}: is unknown\ncurl: try 'curl --help' or 'curl --manual' for more information"
        ),
        2,
    )
}

/// Seconds with fractions (`-m 0.5`) to milliseconds, as curl reads them.
fn millis(opt: &str, v: Option<&str>) -> Result<u64, CommandError> {
    let v = v.ok_or_else(|| {
        usage(
            format!("curl: option {opt}: requires parameter\ncurl: try 'curl --help' or 'curl --manual' for more information"),
            2,
        )
    })?;
    match v.parse::<f64>() {
        Ok(f) if f >= 0.0 && f.is_finite() => Ok((f * 1000.0).round() as u64),
        _ => Err(usage(
            format!(
                "curl: option {opt}: expected a proper numerical parameter\ncurl: try 'curl --help' or 'curl --manual' for more information"
            ),
            2,
        )),
    }
}

/// Short options that take an argument.
const CURL_SHORT_WITH_ARG: &str = "oOwmHXdAebxuUrTCYy";

/// Parses curl's arguments.
pub fn parse_curl(args: &[String]) -> Result<CurlArgs, CommandError> {
    let mut c = CurlArgs::default();
    let mut url: Option<String> = None;
    let mut i = 0;
    let value = |i: &mut usize, opt: &str| -> Result<String, CommandError> {
        *i += 1;
        args.get(*i).cloned().ok_or_else(|| {
            usage(
                format!("curl: option {opt}: requires parameter\ncurl: try 'curl --help' or 'curl --manual' for more information"),
                2,
            )
        })
    };
    while i < args.len() {
        let a = args[i].as_str();
        if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let arg = |i: &mut usize| match &inline {
                Some(v) => Ok(v.clone()),
                None => value(i, a),
            };
            match name {
                "silent" => c.silent = true,
                "show-error" => c.show_error = true,
                "verbose" => c.verbose = true,
                "include" => c.include = true,
                "head" => c.head = true,
                "fail" => c.fail = true,
                "location" => c.location = true,
                "insecure" => c.insecure = true,
                "http1.1" | "compressed" | "no-keepalive" | "ipv4" => {}
                "max-redirs" => {
                    let v = arg(&mut i)?;
                    c.max_redirs = Some(v.parse::<i64>().map_err(|_| {
                        usage(
                            format!("curl: option {a}: expected a proper numerical parameter\ncurl: try 'curl --help' or 'curl --manual' for more information"),
                            2,
                        )
                    })?);
                }
                "output" => c.output = Some(arg(&mut i)?),
                "write-out" => c.write_out = Some(arg(&mut i)?),
                "max-time" => c.max_time_ms = Some(millis(a, Some(&arg(&mut i)?))?),
                "connect-timeout" => c.connect_timeout_ms = Some(millis(a, Some(&arg(&mut i)?))?),
                "header" => push_header(&mut c, &arg(&mut i)?),
                "request" => c.method = Some(arg(&mut i)?),
                "data" | "data-raw" | "data-binary" | "data-ascii" | "data-urlencode" => {
                    push_data(&mut c, arg(&mut i)?)
                }
                "user-agent" => c.user_agent = Some(arg(&mut i)?),
                "resolve" => {
                    let v = arg(&mut i)?;
                    c.resolve.push(parse_resolve(&v)?);
                }
                "url" => url = Some(arg(&mut i)?),
                _ => return Err(unknown_option(a)),
            }
        } else if a.len() > 1 && a.starts_with('-') {
            let flags: Vec<char> = a[1..].chars().collect();
            let mut k = 0;
            while k < flags.len() {
                let f = flags[k];
                if CURL_SHORT_WITH_ARG.contains(f) {
                    // The rest of the word, or the next word, is the argument (`-m5`, `-o /dev/null`).
                    let rest: String = flags[k + 1..].iter().collect();
                    let v = if rest.is_empty() { value(&mut i, &format!("-{f}"))? } else { rest };
                    let opt = format!("-{f}");
                    match f {
                        'o' => c.output = Some(v),
                        'w' => c.write_out = Some(v),
                        'm' => c.max_time_ms = Some(millis(&opt, Some(&v))?),
                        'H' => push_header(&mut c, &v),
                        'X' => c.method = Some(v),
                        'd' => push_data(&mut c, v),
                        'A' => c.user_agent = Some(v),
                        _ => {}
                    }
                    break;
                }
                match f {
                    's' => c.silent = true,
                    'S' => c.show_error = true,
                    'v' => c.verbose = true,
                    'i' => c.include = true,
                    'I' => c.head = true,
                    'f' => c.fail = true,
                    'L' => c.location = true,
                    'k' => c.insecure = true,
                    '4' | 'N' | 'g' => {}
                    other => return Err(unknown_option(&format!("-{other}"))),
                }
                k += 1;
            }
        } else {
            url = Some(a.to_string());
        }
        i += 1;
    }
    let url = url.ok_or_else(|| {
        usage("curl: no URL specified!\ncurl: try 'curl --help' or 'curl --manual' for more information", 2)
    })?;
    c.url = Some(Url::parse(&url).map_err(|m| usage(format!("curl: (3) {m}"), 3))?);
    Ok(c)
}

fn push_header(c: &mut CurlArgs, h: &str) {
    let (k, v) = h.split_once(':').unwrap_or((h, ""));
    c.headers.push((k.trim().to_string(), v.trim().to_string()));
}

fn push_data(c: &mut CurlArgs, d: String) {
    c.data = Some(match c.data.take() {
        Some(prev) => format!("{prev}&{d}"),
        None => d,
    });
}

fn parse_resolve(v: &str) -> Result<(String, u16, Ipv4Addr), CommandError> {
    let bad = || usage(format!("curl: (49) Couldn't parse CURLOPT_RESOLVE entry '{v}'"), 49);
    let mut parts = v.splitn(3, ':');
    let host = parts.next().ok_or_else(bad)?;
    let port = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let addr =
        parts.next().and_then(|a| a.trim_matches(|c| c == '[' || c == ']').parse().ok()).ok_or_else(bad)?;
    Ok((host.to_string(), port, addr))
}

impl CurlArgs {
    /// The request curl sends: method, target, `Host`, `User-Agent`, `Accept`, the `-H`
    /// headers (a `-H` of a default header replaces it in place; `Name:` removes it), then
    /// `Content-Length` and `Content-Type` for `-d`.
    pub fn request(&self, url: &Url) -> Request {
        let method = match (&self.method, self.head, &self.data) {
            (Some(m), _, _) => m.clone(),
            (None, true, _) => "HEAD".to_string(),
            (None, false, Some(_)) => "POST".to_string(),
            (None, false, None) => "GET".to_string(),
        };
        let mut r = Request::new(&method, &url.path);
        r.headers.push("Host", url.host_header());
        r.headers.push("User-Agent", self.user_agent.clone().unwrap_or_else(|| CURL_USER_AGENT.to_string()));
        r.headers.push("Accept", "*/*");
        for (k, v) in &self.headers {
            if v.is_empty() {
                r.headers.remove(k);
            } else if r.headers.get(k).is_some() {
                r.headers.set(k, v.clone());
            } else {
                r.headers.push(k.clone(), v.clone());
            }
        }
        if let Some(d) = &self.data {
            r.headers.push("Content-Length", d.len().to_string());
            if r.headers.get("content-type").is_none() {
                r.headers.push("Content-Type", "application/x-www-form-urlencoded");
            }
            r.body = d.clone();
        }
        r
    }
}

/// What `-w` can print about a finished transfer.
struct Transfer<'a> {
    url: &'a Url,
    code: u16,
    remote: SocketAddrV4,
    local: Option<SocketAddrV4>,
    size: usize,
    total_secs: f64,
    connect_secs: f64,
    content_type: String,
    method: &'a str,
    redirects: i64,
}

/// curl's `-w` format: `%{var}`, `%%`, `\n`, `\t`, `\r`, `\\`. Unknown variables warn.
fn write_out(format: &str, t: &Transfer<'_>, stderr: &mut String) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            },
            '%' if chars.peek() == Some(&'%') => {
                chars.next();
                out.push('%');
            }
            '%' if chars.peek() == Some(&'{') => {
                chars.next();
                let var: String = chars.by_ref().take_while(|c| *c != '}').collect();
                let v = match var.as_str() {
                    "http_code" | "response_code" => format!("{:03}", t.code),
                    "remote_ip" => t.remote.ip().to_string(),
                    "remote_port" => t.remote.port().to_string(),
                    "local_ip" => t.local.map(|l| l.ip().to_string()).unwrap_or_default(),
                    "local_port" => t.local.map(|l| l.port().to_string()).unwrap_or_default(),
                    "size_download" => t.size.to_string(),
                    "time_total" => format!("{:.6}", t.total_secs),
                    "time_connect" => format!("{:.6}", t.connect_secs),
                    "url_effective" | "url" => t.url.to_string(),
                    "content_type" => t.content_type.clone(),
                    "method" => t.method.to_string(),
                    "num_connects" => "1".to_string(),
                    "num_redirects" => t.redirects.to_string(),
                    "http_version" => "1.1".to_string(),
                    "scheme" => if t.url.https { "HTTPS" } else { "HTTP" }.to_string(),
                    other => {
                        stderr.push_str(&format!("curl: unknown --write-out variable: '{other}'\n"));
                        String::new()
                    }
                };
                out.push_str(&v);
            }
            c => out.push(c),
        }
    }
    out
}

/// What curl's progress meter shows at the end of a command (lib/progress.c of curl 8,
/// `progress_meter`): the two header lines, then the last state of the line it redraws with
/// `\r`, as a terminal shows it. Speeds are the simulated bytes over simulated time; the
/// current speed is the average (curl's is over its last samples).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Progress {
    /// Body bytes received.
    dl: u64,
    /// `Content-Length`, when the response had one.
    dl_expected: Option<u64>,
    /// Request body bytes sent (`-d`).
    ul: u64,
    /// The upload's size, when there is one.
    ul_expected: Option<u64>,
    /// Time spent.
    spent: SimDuration,
}

/// The meter's header, as curl 8 prints it.
const METER_HEADER: &str = "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n                                 Dload  Upload   Total   Spent    Left  Speed\n";

impl Progress {
    fn meter(&self) -> String {
        let total_expected = self.ul_expected.unwrap_or(self.ul) + self.dl_expected.unwrap_or(self.dl);
        let total_pct = est_percent(total_expected, self.dl + self.ul);
        let dl_pct = self.dl_expected.map_or(0, |t| est_percent(t, self.dl));
        let ul_pct = self.ul_expected.map_or(0, |t| est_percent(t, self.ul));
        let us = (self.spent.as_nanos() / 1_000).max(1);
        let speed = |bytes: u64| bytes.saturating_mul(1_000_000) / us;
        let (dl_speed, ul_speed) = (speed(self.dl), speed(self.ul));
        let spent_secs = us / 1_000_000;
        // The estimate of the whole transfer, from the known sizes and the average speeds.
        let total_secs = match (self.dl_expected, dl_speed) {
            (Some(t), s) if s > 0 => t / s,
            _ => 0,
        };
        let left = total_secs.saturating_sub(spent_secs);
        format!(
            "{METER_HEADER}{total_pct:>3} {}  {dl_pct:>3} {}  {ul_pct:>3} {}  {}  {} {} {} {} {}\n",
            max5(total_expected),
            max5(self.dl),
            max5(self.ul),
            max5(dl_speed),
            max5(ul_speed),
            time8(total_secs),
            time8(spent_secs),
            time8(left),
            max5(dl_speed),
        )
    }
}

/// curl's `pgrs_est_percent`.
fn est_percent(total: u64, cur: u64) -> u64 {
    if total > 10_000 { cur / (total / 100) } else { (cur * 100).checked_div(total).unwrap_or(0) }
}

/// curl's `max5data`: a size in at most five columns (`  615`, ` 600k`, `12.3M`).
fn max5(bytes: u64) -> String {
    const K: u64 = 1024;
    const M: u64 = 1024 * K;
    const G: u64 = 1024 * M;
    if bytes < 100_000 {
        format!("{bytes:>5}")
    } else if bytes < 10_000 * K {
        format!("{:>4}k", bytes / K)
    } else if bytes < 100 * M {
        format!("{:>2}.{}M", bytes / M, (bytes % M) / (M / 10))
    } else if bytes < 10_000 * M {
        format!("{:>4}M", bytes / M)
    } else if bytes < 100 * G {
        format!("{:>2}.{}G", bytes / G, (bytes % G) / (G / 10))
    } else {
        format!("{:>4}G", bytes / G)
    }
}

/// curl's `time2str`: `--:--:--` for nothing, else `H:MM:SS` in eight columns.
fn time8(secs: u64) -> String {
    if secs == 0 {
        return "--:--:--".to_string();
    }
    let h = secs / 3600;
    if h <= 99 {
        format!("{h:>2}:{:02}:{:02}", (secs % 3600) / 60, secs % 60)
    } else {
        let d = secs / 86_400;
        if d <= 999 { format!("{d:>3}d {:02}h", (secs % 86_400) / 3600) } else { format!("{d:>7}d") }
    }
}

/// Where one transfer of a `-L` chain leaves curl.
enum Hop {
    /// The command is over (the last transfer, or a failure).
    Done(ExecOutput),
    /// A redirect to follow: what was printed so far, the next URL and its status code.
    Follow(ExecOutput, Url, u16),
}

impl Cluster {
    /// Runs curl from `target`: one transfer, or with `-L` one per redirect followed (up to
    /// `--max-redirs`, each a new connection; 301, 302 and 303 turn a POST into a GET, as
    /// curl does, other 3xx keep the method). `-i` prints the headers of every response, the
    /// bodies of followed redirects are ignored, and `-w` describes the last transfer.
    pub(super) fn run_curl(&mut self, target: &Target, host: HostId, c: &CurlArgs) -> ExecOutput {
        let start = self.now();
        let mut out = self.curl_transfers(target, host, c);
        // curl hides its meter when the body goes to the terminal (tool_operate.c), and `-s`
        // hides it always; `-v`'s interleaving of the meter with its lines is not simulated.
        let to_file = c.output.as_deref().is_some_and(|o| o != "-");
        if c.url.is_none() || c.silent || c.verbose || (!to_file && self.stdout_tty) {
            return out;
        }
        let mut p = Progress { spent: self.now().saturating_since(start), ..Default::default() };
        let conv = out.connection.as_ref().and_then(|r| self.world().net.conversation(r.conv));
        if let Some(Outcome::Completed { response }) = conv.and_then(|cv| cv.outcome.as_ref())
            && let Some(r) = Response::parse(response)
        {
            p.dl = if c.head { 0 } else { r.body.len() as u64 };
            p.dl_expected = r.headers.get("content-length").and_then(|v| v.trim().parse().ok());
            if let Some(url) = &c.url {
                let up = c.request(url).body.len() as u64;
                p.ul = up;
                p.ul_expected = (up > 0).then_some(up);
            }
        }
        out.stderr = format!("{}{}", p.meter(), out.stderr);
        out
    }

    /// curl's transfers (module doc of [`Cluster::run_curl`]).
    fn curl_transfers(&mut self, target: &Target, host: HostId, c: &CurlArgs) -> ExecOutput {
        let Some(mut url) = c.url.clone() else { return ExecOutput::default() };
        let first_host = url.host.clone();
        let mut method: Option<String> = None;
        let mut printed = ExecOutput::default();
        let mut redirects: i64 = 0;
        let start = self.now();
        loop {
            let hop =
                self.curl_transfer(target, host, c, &url, method.as_deref(), &first_host, redirects, start);
            let (out, next) = match hop {
                Hop::Done(out) => (out, None),
                Hop::Follow(out, next, code) => (out, Some((next, code))),
            };
            if c.verbose {
                let piece = match &out.terminal {
                    Some(t) => t.clone(),
                    None => format!("{}{}", out.stderr, out.stdout),
                };
                printed.terminal.get_or_insert_with(String::new).push_str(&piece);
            }
            printed.stdout.push_str(&out.stdout);
            printed.stderr.push_str(&out.stderr);
            printed.exit_code = out.exit_code;
            printed.connection = out.connection;
            let Some((next, code)) = next else { return printed };
            let limit = c.max_redirs.unwrap_or(CURL_MAX_REDIRS);
            let mut extra = String::new();
            if limit >= 0 && redirects >= limit {
                if c.verbose {
                    extra.push_str(&format!("* Maximum ({limit}) redirects followed\n"));
                }
                if !c.silent || c.show_error {
                    extra.push_str(&format!("curl: (47) Maximum ({limit}) redirects followed\n"));
                }
                printed.stderr.push_str(&extra);
                if let Some(t) = printed.terminal.as_mut() {
                    t.push_str(&extra);
                }
                printed.exit_code = 47;
                return printed;
            }
            if c.verbose {
                if next.https != url.https && next.port != url.port {
                    extra.push_str(&format!(
                        "* Clear auth, redirects to port from {} to {}\n",
                        url.port, next.port
                    ));
                }
                extra.push_str(&format!("* Issue another request to this URL: '{next}'\n"));
                printed.stderr.push_str(&extra);
                if let Some(t) = printed.terminal.as_mut() {
                    t.push_str(&extra);
                }
            }
            let current = method.clone().unwrap_or_else(|| c.request(&url).method);
            if (matches!(code, 301..=303) && current == "POST") || (code == 303 && current != "HEAD") {
                method = Some("GET".to_string());
            }
            redirects += 1;
            url = next;
        }
    }

    /// One transfer of a curl command to `url`.
    #[allow(clippy::too_many_arguments)]
    fn curl_transfer(
        &mut self,
        target: &Target,
        host: HostId,
        c: &CurlArgs,
        url: &Url,
        method: Option<&str>,
        first_host: &str,
        redirects: i64,
        start: sim_core::SimTime,
    ) -> Hop {
        let quiet_errors = c.silent && !c.show_error;
        let fail = |code: i32, msg: String, mut stderr: String| {
            if !quiet_errors {
                stderr.push_str(&msg);
                stderr.push('\n');
            }
            ExecOutput { stderr, exit_code: code, ..Default::default() }
        };
        let pinned = c.resolve.iter().find(|(h, p, _)| *h == url.host && *p == url.port).map(|(_, _, a)| *a);
        let Some(ip) = pinned.or_else(|| self.resolve(target, &url.host)) else {
            return Hop::Done(fail(
                6,
                format!("curl: (6) Could not resolve host: {}", url.host),
                String::new(),
            ));
        };
        let mut request = c.request(url);
        if let Some(m) = method {
            request.method = m.to_string();
            if m == "GET" {
                // A POST turned into a GET by a redirect drops its body.
                request.body.clear();
                request.headers.remove("content-length");
                request.headers.remove("content-type");
            }
        }
        if url.host != first_host && c.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            // curl sends a custom Host header only to the first host.
            request.headers.set("Host", url.host_header());
        }
        let mut stderr = String::new();
        if c.verbose {
            if pinned.is_some() && redirects == 0 {
                stderr.push_str(&format!("* Added {}:{}:{ip} to DNS cache\n", url.host, url.port));
            }
            if pinned.is_some() {
                stderr.push_str(&format!("* Hostname {} was found in DNS cache\n", url.host));
            }
            stderr.push_str(&format!("*   Trying {ip}:{}...\n", url.port));
        }
        let limit = match (c.max_time_ms, c.connect_timeout_ms) {
            (Some(m), Some(ct)) => m.min(ct),
            (Some(m), None) => m,
            (None, Some(ct)) => ct,
            (None, None) => TCP_CONNECT_GIVE_UP.as_millis(),
        };
        // `-m` bounds the whole command, redirects included.
        let spent = self.now().saturating_since(start).as_millis();
        let limit = if c.max_time_ms.is_some() { limit.saturating_sub(spent).max(1) } else { limit };
        let hop_start = self.now();
        // An `https://` URL opens with a TLS hello: the SNI name (none for an address) and
        // whether curl verifies the certificate (`-k` does not).
        let payload = if url.https {
            let sni = url.host.parse::<Ipv4Addr>().is_err().then(|| url.host.clone());
            ClientHello { sni, verify: !c.insecure }.wrap(&request.to_bytes())
        } else {
            request.to_bytes()
        };
        let (id, mut conv) = self.converse(
            host,
            ConvProto::Tcp,
            SocketAddrV4::new(ip, url.port),
            payload,
            SimDuration::from_millis(limit),
        );
        let finished = conv.finished.unwrap_or(self.now());
        let ms = finished.saturating_since(hop_start).as_millis();
        let total_ms = finished.saturating_since(start).as_millis();
        let connected = conv.syns_sent > 0 && conv.served_by.is_some();
        if c.verbose && connected {
            stderr.push_str(&format!("* Connected to {} ({ip}) port {}\n", url.host, url.port));
        }
        if url.https
            && let Some(Outcome::Completed { response }) = &conv.outcome
        {
            let host_port = format!("{}:{}", url.host, url.port);
            if c.verbose {
                stderr.push_str("* ALPN: curl offers h2,http/1.1\n");
                stderr.push_str("* TLSv1.3 (OUT), TLS handshake, Client hello (1):\n");
            }
            let Some((cert, rest)) = ServerHello::parse(response) else {
                // Not a TLS server: a plain HTTP answer, or nothing.
                let msg = if response.is_empty() {
                    format!("curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to {host_port} ")
                } else {
                    "curl: (35) OpenSSL/3.0.13: error:0A00010B:SSL routines::wrong version number".to_string()
                };
                return Hop::Done(ExecOutput {
                    connection: Some(self.report(id, &conv)),
                    ..fail(35, msg, stderr)
                });
            };
            if c.verbose {
                stderr.push_str("* TLSv1.3 (IN), TLS handshake, Server hello (2):\n");
                stderr.push_str("* TLSv1.3 (IN), TLS handshake, Certificate (11):\n");
            }
            if !c.insecure {
                if c.verbose {
                    stderr.push_str("* TLSv1.3 (OUT), TLS alert, unknown CA (560):\n");
                    stderr.push_str(
                        "* SSL certificate problem: self-signed certificate\n* Closing connection\n",
                    );
                }
                let msg =
                    format!("curl: (60) SSL certificate problem: self-signed certificate\n{CURL_SSL_HELP}");
                return Hop::Done(ExecOutput {
                    connection: Some(self.report(id, &conv)),
                    ..fail(60, msg, stderr)
                });
            }
            if c.verbose {
                stderr.push_str(
                    "* SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384 / X25519 / RSASSA-PSS\n",
                );
                stderr.push_str("* ALPN: server accepted http/1.1\n* Server certificate:\n");
                stderr.push_str(&format!("*  subject: {}\n*  issuer: {}\n", cert.subject, cert.issuer));
                stderr.push_str(
                    "*  SSL certificate verify result: self-signed certificate (18), continuing anyway.\n",
                );
            }
            let rest = rest.to_vec();
            conv.outcome = Some(Outcome::Completed { response: rest });
        }
        if c.verbose && connected {
            for line in request.to_string().split("\r\n").take_while(|l| !l.is_empty()) {
                stderr.push_str(&format!("> {line}\n"));
            }
            stderr.push_str("> \n");
        }
        let host_port = format!("{} port {}", url.host, url.port);
        let mut out = match conv.outcome.clone() {
            Some(Outcome::Completed { response }) if response.is_empty() => {
                fail(52, "curl: (52) Empty reply from server".to_string(), stderr)
            }
            Some(Outcome::Completed { response }) => match Response::parse(&response) {
                Some(r) => {
                    if c.verbose {
                        for line in r.head().split("\r\n").take_while(|l| !l.is_empty()) {
                            stderr.push_str(&format!("< {line}\n"));
                        }
                        stderr.push_str("< \n");
                    }
                    let mut stdout = String::new();
                    if c.fail && r.status >= 400 {
                        if c.verbose {
                            stderr.push_str(&format!("* The requested URL returned error: {}\n", r.status));
                            stderr.push_str("* Closing connection\n");
                        }
                        let msg = format!("curl: (22) The requested URL returned error: {}", r.status);
                        return Hop::Done(ExecOutput {
                            connection: Some(self.report(id, &conv)),
                            ..fail(22, msg, stderr)
                        });
                    }
                    let follow = c.location
                        && (300..400).contains(&r.status)
                        && r.headers.get("location").is_some_and(|l| !l.trim().is_empty());
                    let to_stdout = c.output.as_deref().is_none_or(|o| o == "-");
                    if (c.include || c.head) && to_stdout {
                        stdout.push_str(&r.head());
                    }
                    if follow {
                        if c.verbose && !r.body.is_empty() {
                            stderr.push_str("* Ignoring the response-body\n");
                        }
                        if c.verbose {
                            stderr.push_str(&format!("* Connection #0 to host {} left intact\n", url.host));
                        }
                        let location = r.headers.get("location").unwrap_or("");
                        match url.join(location) {
                            Ok(next) => {
                                let out = ExecOutput {
                                    stdout,
                                    stderr,
                                    connection: Some(self.report(id, &conv)),
                                    ..Default::default()
                                };
                                return Hop::Follow(out, next, r.status);
                            }
                            Err(m) => return Hop::Done(fail(3, format!("curl: (3) {m}"), stderr)),
                        }
                    }
                    // A terminal shows the verbose lines so far, then what goes to stdout.
                    let split = stderr.len();
                    if !c.head && to_stdout {
                        stdout.push_str(&r.body);
                    }
                    if let Some(path) = c.output.as_deref().filter(|o| *o != "-" && *o != "/dev/null") {
                        // `-o FILE`: the file `cat FILE` reads back on the same host or pod.
                        let mut text = if c.include || c.head { r.head() } else { String::new() };
                        if !c.head {
                            text.push_str(&r.body);
                        }
                        self.shell_files.insert((target.to_string(), path.to_string()), text);
                    }
                    if c.verbose {
                        stderr.push_str(&format!("* Connection #0 to host {} left intact\n", url.host));
                    }
                    let body_end = stdout.len();
                    if let Some(w) = &c.write_out {
                        let t = Transfer {
                            url,
                            code: r.status,
                            remote: SocketAddrV4::new(ip, url.port),
                            local: conv.local,
                            size: if c.head { 0 } else { r.body.len() },
                            total_secs: total_ms as f64 / 1000.0,
                            connect_secs: ms as f64 / 2000.0,
                            content_type: r.headers.get("content-type").unwrap_or("").to_string(),
                            method: &request.method,
                            redirects,
                        };
                        let w = write_out(w, &t, &mut stderr);
                        stdout.push_str(&w);
                    }
                    let terminal = c.verbose.then(|| {
                        let (before, after) = stderr.split_at(split);
                        let (body, written) = stdout.split_at(body_end);
                        format!("{before}{body}{after}{written}")
                    });
                    ExecOutput { stdout, stderr, terminal, ..Default::default() }
                }
                None => fail(1, "curl: (1) Received HTTP/0.9 when not allowed".to_string(), stderr),
            },
            Some(Outcome::Reset) => {
                fail(56, "curl: (56) Recv failure: Connection reset by peer".to_string(), stderr)
            }
            Some(Outcome::TimedOut) if connected => fail(
                28,
                format!("curl: (28) Operation timed out after {total_ms} milliseconds with 0 bytes received"),
                stderr,
            ),
            Some(Outcome::TimedOut)
                if c.connect_timeout_ms.is_some_and(|ct| c.max_time_ms.is_none_or(|m| ct <= m)) =>
            {
                fail(
                    28,
                    format!("curl: (28) Failed to connect to {host_port} after {ms} ms: Timeout was reached"),
                    stderr,
                )
            }
            Some(Outcome::TimedOut) if c.max_time_ms.is_some() => {
                fail(28, format!("curl: (28) Connection timed out after {total_ms} milliseconds"), stderr)
            }
            _ => fail(
                7,
                format!(
                    "curl: (7) Failed to connect to {host_port} after {ms} ms: Couldn't connect to server"
                ),
                stderr,
            ),
        };
        if let Some(w) = &c.write_out
            && out.exit_code != 0
        {
            // `-w` still prints, with `000` for the code, after a failed transfer.
            let t = Transfer {
                url,
                code: 0,
                remote: SocketAddrV4::new(ip, url.port),
                local: conv.local,
                size: 0,
                total_secs: total_ms as f64 / 1000.0,
                connect_secs: 0.0,
                content_type: String::new(),
                method: &request.method,
                redirects,
            };
            let mut extra = String::new();
            out.stdout.push_str(&write_out(w, &t, &mut extra));
            out.stderr = format!("{extra}{}", out.stderr);
        }
        out.connection = Some(self.report(id, &conv));
        Hop::Done(out)
    }
}

/// A parsed BusyBox wget command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WgetArgs {
    /// The URL.
    pub url: Option<Url>,
    /// `-q`.
    pub quiet: bool,
    /// `-O FILE` (`-` for stdout).
    pub output: Option<String>,
    /// `-T SECS`.
    pub timeout: Option<u64>,
    /// `-S`: print the server's response headers.
    pub server_response: bool,
    /// `--spider`: only check that the page is there.
    pub spider: bool,
    /// `--header 'Name: value'`.
    pub headers: Vec<(String, String)>,
    /// `--post-data`.
    pub post_data: Option<String>,
    /// `-U`.
    pub user_agent: Option<String>,
}

impl WgetArgs {
    /// True when the body goes to stdout (`-O -`).
    pub fn to_stdout(&self) -> bool {
        self.output.as_deref() == Some("-")
    }
}

/// Parses BusyBox wget's arguments (getopt: combined short flags, `-O` and `-T` take one).
pub fn parse_wget(args: &[String]) -> Result<WgetArgs, CommandError> {
    let mut w = WgetArgs::default();
    let mut url = None;
    let mut i = 0;
    let need = |i: usize, f: &str| -> Result<String, CommandError> {
        args.get(i).cloned().ok_or_else(|| usage(format!("wget: option requires an argument -- '{f}'"), 1))
    };
    while i < args.len() {
        let a = args[i].as_str();
        if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let arg = |i: &mut usize| match &inline {
                Some(v) => Ok(v.clone()),
                None => {
                    *i += 1;
                    need(*i, name)
                }
            };
            match name {
                "quiet" => w.quiet = true,
                "spider" => w.spider = true,
                "server-response" => w.server_response = true,
                "output-document" => w.output = Some(arg(&mut i)?),
                "timeout" => w.timeout = Some(wget_secs(&arg(&mut i)?)?),
                "header" => {
                    let h = arg(&mut i)?;
                    let (k, v) = h.split_once(':').unwrap_or((&h, ""));
                    w.headers.push((k.trim().to_string(), v.trim().to_string()));
                }
                "post-data" => w.post_data = Some(arg(&mut i)?),
                "user-agent" => w.user_agent = Some(arg(&mut i)?),
                "no-check-certificate" => {}
                _ => return Err(usage(format!("wget: unrecognized option '{a}'"), 1)),
            }
        } else if a.len() > 1 && a.starts_with('-') {
            let flags: Vec<char> = a[1..].chars().collect();
            for (k, f) in flags.iter().enumerate() {
                match f {
                    'q' => w.quiet = true,
                    'S' => w.server_response = true,
                    'c' | 's' => {}
                    'O' | 'T' | 'U' => {
                        let rest: String = flags[k + 1..].iter().collect();
                        let v = if rest.is_empty() {
                            i += 1;
                            need(i, &f.to_string())?
                        } else {
                            rest
                        };
                        match f {
                            'O' => w.output = Some(v),
                            'T' => w.timeout = Some(wget_secs(&v)?),
                            _ => w.user_agent = Some(v),
                        }
                        break;
                    }
                    other => return Err(usage(format!("wget: invalid option -- '{other}'"), 1)),
                }
            }
        } else {
            url = Some(a.to_string());
        }
        i += 1;
    }
    let url = url.ok_or_else(|| usage("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n\t[--post-data STR | --post-file FILE] [-Y on/off]\n\t[-P DIR] [-U AGENT] [-T SEC] URL...", 1))?;
    w.url = Some(Url::parse(&url).map_err(|m| usage(format!("wget: {m}"), 1))?);
    Ok(w)
}

fn wget_secs(v: &str) -> Result<u64, CommandError> {
    v.parse::<u64>().map_err(|_| usage(format!("wget: invalid number '{v}'"), 1))
}

impl WgetArgs {
    /// The request BusyBox wget sends: `Host`, `User-Agent: Wget`, `Connection: close`, then
    /// `--header`s; `POST` with `--post-data`.
    pub fn request(&self, url: &Url) -> Request {
        let method = if self.post_data.is_some() {
            "POST"
        } else if self.spider {
            "HEAD"
        } else {
            "GET"
        };
        let mut r = Request::new(method, &url.path);
        r.headers.push("Host", url.host_header());
        r.headers.push("User-Agent", self.user_agent.clone().unwrap_or_else(|| "Wget".to_string()));
        r.headers.push("Connection", "close");
        for (k, v) in &self.headers {
            if r.headers.get(k).is_some() {
                r.headers.set(k, v.clone());
            } else {
                r.headers.push(k.clone(), v.clone());
            }
        }
        if let Some(d) = &self.post_data {
            r.headers.push("Content-Type", "application/x-www-form-urlencoded");
            r.headers.push("Content-Length", d.len().to_string());
            r.body = d.clone();
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recorded stderr of the real curl as a terminal shows it: each `\r` returns to the
    /// start of the line, so only the last state of the meter's line stays.
    fn as_terminal_shows(name: &str) -> String {
        let path = format!("{}/../tests/data/real-tools/curl/{name}", env!("CARGO_MANIFEST_DIR"));
        let raw = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        raw.split_inclusive('\n').map(|l| l.rsplit('\r').next().unwrap_or(l)).collect()
    }

    #[test]
    fn progress_meter_as_curl_prints_it() {
        // 12 bytes in 10 ms: 1200 bytes/s (the recording's average was 1172, its current 1200).
        let p = Progress {
            dl: 12,
            dl_expected: Some(12),
            spent: SimDuration::from_millis(10),
            ..Default::default()
        };
        assert_eq!(p.meter(), as_terminal_shows("pipe.stderr").replace("  1172 ", "  1200 "));
        let refused = Progress::default().meter();
        assert!(as_terminal_shows("refused.stderr").starts_with(&refused), "{refused}");
        assert_eq!(
            (max5(615), max5(614_400), max5(12_897_485)),
            ("  615".into(), " 600k".into(), "12.3M".into())
        );
        assert_eq!(
            (time8(0), time8(5), time8(3_725)),
            ("--:--:--".into(), " 0:00:05".into(), " 1:02:05".into())
        );
    }

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn combined_short_flags_and_arguments() {
        let c = parse_curl(&words("-sSLk -o /dev/null -w %{http_code} -m5 http://web/x")).unwrap();
        assert!(c.silent && c.show_error);
        assert_eq!(c.output.as_deref(), Some("/dev/null"));
        assert_eq!(c.write_out.as_deref(), Some("%{http_code}"));
        assert_eq!(c.max_time_ms, Some(5000));
        assert_eq!(c.url.as_ref().map(|u| u.path.as_str()), Some("/x"));
        let c = parse_curl(&words(
            "-sv --resolve foo.com:80:10.0.0.5 -H Host:bar.com --connect-timeout 0.5 foo.com",
        ))
        .unwrap();
        assert!(c.verbose && c.silent);
        assert_eq!(c.resolve, vec![("foo.com".to_string(), 80, Ipv4Addr::new(10, 0, 0, 5))]);
        assert_eq!(c.connect_timeout_ms, Some(500));
        let url = c.url.clone().unwrap();
        assert_eq!(
            c.request(&url).to_string(),
            "GET / HTTP/1.1\r\nHost: bar.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"
        );
        assert_eq!(parse_curl(&words("-Z x")).unwrap_err().exit_code, 2);
        assert_eq!(
            parse_curl(&words("-s")).unwrap_err().message.lines().next(),
            Some("curl: no URL specified!")
        );
    }

    #[test]
    fn post_data_and_write_out() {
        let c = parse_curl(&words("-X PUT -d a=1 -d b=2 web")).unwrap();
        let r = c.request(c.url.as_ref().unwrap());
        assert_eq!(r.method, "PUT");
        assert_eq!(r.body, "a=1&b=2");
        assert_eq!(r.headers.get("content-length"), Some("7"));
        let url = Url::parse("web").unwrap();
        let t = Transfer {
            url: &url,
            code: 404,
            remote: SocketAddrV4::new(Ipv4Addr::new(10, 96, 0, 1), 80),
            local: None,
            size: 3,
            total_secs: 0.0015,
            connect_secs: 0.0,
            content_type: String::new(),
            method: "GET",
            redirects: 0,
        };
        let mut err = String::new();
        assert_eq!(write_out("%{http_code} %{remote_ip}\\n%%%{nope}", &t, &mut err), "404 10.96.0.1\n%");
        assert_eq!(err, "curl: unknown --write-out variable: 'nope'\n");
    }

    #[test]
    fn busybox_wget_flags() {
        let w = parse_wget(&words("-qO- -T 3 --header Host:foo.com web")).unwrap();
        assert!(w.quiet && w.to_stdout());
        assert_eq!(w.timeout, Some(3));
        assert_eq!(
            w.request(w.url.as_ref().unwrap()).to_string(),
            "GET / HTTP/1.1\r\nHost: foo.com\r\nUser-Agent: Wget\r\nConnection: close\r\n\r\n"
        );
        assert!(parse_wget(&words("-q -O - -S web")).unwrap().server_response);
        assert_eq!(parse_wget(&words("-Z web")).unwrap_err().message, "wget: invalid option -- 'Z'");
    }
}
