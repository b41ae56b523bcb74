//! Command lines typed in a pod, on a node or on an external host, parsed into typed commands.
//! Only the tools the articles use are known; anything else answers like a shell
//! (`sh: foo: not found`, exit status 127). Options are parsed as the real tools parse them,
//! as far as they change what happens or what is printed.

use std::fmt;

/// A parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostCommand {
    /// `curl [-sSvIifk] [-o FILE] [-w FMT] [-m SECS] [-H H] [-X M] [-d D] [--resolve ..] URL`.
    Curl(super::curl::CurlArgs),
    /// `wget [-qS] [-O FILE] [-T SECS] [--header H] [--spider] URL` (busybox).
    Wget(super::curl::WgetArgs),
    /// `nslookup [-type=T] NAME [SERVER]` (arguments as typed; see `dns::command`).
    Nslookup { args: Vec<String> },
    /// `dig [@SERVER] [-x] NAME [TYPE] [+short] [+noall +answer] ...`.
    Dig { args: Vec<String> },
    /// `getent hosts NAME`.
    GetentHosts { name: String },
    /// `ping [-c N] [-W SECS] [-s SIZE] HOST` (`size`: the data bytes of each request, judged
    /// by the ping that runs).
    Ping { host: String, count: u32, wait: u64, size: super::ping::SizeArg },
    /// `nc [-z] [-v] [-u] [-w SECS] HOST PORT`.
    Nc { host: String, port: u16, udp: bool, zero_io: bool, verbose: bool, wait: Option<u64> },
    /// `cat FILE` (only `/etc/resolv.conf` and `/etc/hosts` exist).
    Cat { path: String },
    /// `env` / `printenv`.
    Env,
    /// `hostname` / `hostname -i`.
    Hostname { ip: bool },
    /// `ip route` / `ip r` / `ip route show`.
    IpRoute,
    /// `ip addr` / `ip a` / `ip address show [dev] [DEV]`.
    IpAddr {
        /// Only this interface (`ip addr show kube-ipvs0`).
        dev: Option<String>,
    },
    /// `iptables-save [-t TABLE] [-c]`.
    IptablesSave { table: Option<String>, counters: bool },
    /// `iptables ARGS...` (edits and listings).
    Iptables { args: Vec<String> },
    /// `nft ARGS...` (`list ruleset|table|chain|set|map ...`, or one command to apply).
    Nft { args: Vec<String> },
    /// `conntrack ARGS...`.
    Conntrack { args: Vec<String> },
    /// `ipset ARGS...`.
    Ipset { args: Vec<String> },
    /// `ipvsadm ARGS...` (the node's IPVS table).
    Ipvsadm { args: Vec<String> },
    /// `sysctl ARGS...` (the namespace's modelled sysctls: [`sim_net::sysctl`]).
    Sysctl { args: Vec<String> },
    /// `kubectl ARGS...` (on the control plane).
    Kubectl { args: Vec<String> },
    /// `sleep SECS`.
    Sleep { secs: u64 },
    /// `echo ARGS...`.
    Echo { text: String },
    /// `tcpdump [-i IFACE] [-n] [-c N] [EXPRESSION]`, or `timeout SECS tcpdump ...`.
    Tcpdump(super::tcpdump::TcpdumpArgs),
    /// `kill [-SIG] %N|PID...` (background jobs).
    Kill { args: Vec<String> },
    /// `jobs`.
    Jobs,
    /// iproute2 `ss [-tulanH46]` (nodes and hosts).
    Ss(super::ss::SsArgs),
    /// busybox `netstat [-laentuwxW]` (pods with a busybox-based image).
    Netstat(super::netstat::NetstatArgs),
    /// `traceroute [-n] [-m MAX] [-q N] [-w SECS] [-p PORT] [-f FIRST] [-U] HOST`.
    Traceroute(super::traceroute::TracerouteArgs),
}

/// A URL as curl and wget take it: `[http://]host[:port][/path]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// Host name or address.
    pub host: String,
    /// Port (default 80).
    pub port: u16,
    /// Path and query (default `/`).
    pub path: String,
    /// Whether the port was given explicitly (the Host header then carries it).
    pub explicit_port: bool,
    /// `https://` (plain HTTP to the port in the model; see `curl.rs`).
    pub https: bool,
}

impl Url {
    /// Parses `[http://]host[:port][/path]`; `https://` is accepted with port 443.
    pub fn parse(s: &str) -> Result<Url, String> {
        let (default_port, rest) = if let Some(r) = s.strip_prefix("http://") {
            (80, r)
        } else if let Some(r) = s.strip_prefix("https://") {
            (443, r)
        } else if s.contains("://") {
            let scheme = s.split("://").next().unwrap_or("");
            return Err(format!("Protocol \"{scheme}\" not supported"));
        } else {
            (80, s)
        };
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        if hostport.is_empty() {
            return Err("no host part in the URL".to_string());
        }
        let (host, port, explicit) = match hostport.rsplit_once(':') {
            Some((h, p)) => match p.parse::<u16>() {
                Ok(p) => (h.to_string(), p, true),
                Err(_) => {
                    return Err(format!("Port number was not a decimal number between 0 and 65535: {p}"));
                }
            },
            None => (hostport.to_string(), default_port, false),
        };
        Ok(Url { host, port, path, explicit_port: explicit, https: default_port == 443 })
    }

    /// The URL a `Location` header names, relative to this one (`/p`, `p`, `//host/p` or an
    /// absolute URL), as curl's redirect following resolves it.
    pub fn join(&self, location: &str) -> Result<Url, String> {
        let location = location.trim();
        if location.contains("://") {
            return Url::parse(location);
        }
        let scheme = if self.https { "https" } else { "http" };
        if let Some(rest) = location.strip_prefix("//") {
            return Url::parse(&format!("{scheme}://{rest}"));
        }
        let path = if location.starts_with('/') {
            location.to_string()
        } else {
            let base = self.path.split('?').next().unwrap_or("/");
            let dir = &base[..base.rfind('/').map(|i| i + 1).unwrap_or(0)];
            format!("{dir}{location}")
        };
        Ok(Url { path, ..self.clone() })
    }

    /// The Host header value (`host` or `host:port`).
    pub fn host_header(&self) -> String {
        if self.explicit_port { format!("{}:{}", self.host, self.port) } else { self.host.clone() }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.host_header(), self.path)
    }
}

/// Why a command line could not run, with the shell-like message and exit status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandError {
    /// What the shell or the tool prints on stderr.
    pub message: String,
    /// The exit status (127 for an unknown command, 2 or 1 for usage errors as the tool does).
    pub exit_code: i32,
}

impl CommandError {
    fn usage(message: impl Into<String>, exit_code: i32) -> Self {
        CommandError { message: message.into(), exit_code }
    }
}

/// Splits a command line into words as `sh` does for the simple cases: whitespace separates,
/// single quotes keep everything, double quotes keep everything but `\"` and `\\`.
pub fn split_words(line: &str) -> Result<Vec<String>, CommandError> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => {
                            return Err(CommandError::usage(
                                "sh: syntax error: unterminated quoted string",
                                2,
                            ));
                        }
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\' | '$')) => cur.push(x),
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => {
                                return Err(CommandError::usage(
                                    "sh: syntax error: unterminated quoted string",
                                    2,
                                ));
                            }
                        },
                        Some(x) => cur.push(x),
                        None => {
                            return Err(CommandError::usage(
                                "sh: syntax error: unterminated quoted string",
                                2,
                            ));
                        }
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(x) = chars.next() {
                    cur.push(x);
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

fn secs(tool: &str, flag: &str, v: Option<&String>) -> Result<u64, CommandError> {
    let v =
        v.ok_or_else(|| CommandError::usage(format!("{tool}: option requires an argument -- '{flag}'"), 2))?;
    // curl accepts fractions (`-m 0.5`); the simulation rounds up to whole seconds.
    match v.parse::<f64>() {
        Ok(f) if f >= 0.0 && f.is_finite() => Ok(f.ceil() as u64),
        _ => Err(CommandError::usage(format!("{tool}: invalid number '{v}'"), 2)),
    }
}

/// Parses a command line.
pub fn parse(line: &str) -> Result<HostCommand, CommandError> {
    let words = split_words(line)?;
    let Some((cmd, args)) = words.split_first() else {
        return Err(CommandError::usage("sh: empty command", 2));
    };
    let args: Vec<String> = args.to_vec();
    match cmd.as_str() {
        "curl" => super::curl::parse_curl(&args).map(HostCommand::Curl),
        "wget" => super::curl::parse_wget(&args).map(HostCommand::Wget),
        "nslookup" => Ok(HostCommand::Nslookup { args }),
        "dig" => Ok(HostCommand::Dig { args }),
        "getent" => match args.as_slice() {
            [db, name] if db == "hosts" || db == "ahosts" || db == "ahostsv4" => {
                Ok(HostCommand::GetentHosts { name: name.clone() })
            }
            _ => Err(CommandError::usage("getent: only `getent hosts NAME` is simulated", 2)),
        },
        "ping" => parse_ping(&args),
        "nc" | "netcat" => parse_nc(&args),
        "cat" => match args.as_slice() {
            [p] => Ok(HostCommand::Cat { path: p.clone() }),
            _ => Err(CommandError::usage("cat: only `cat FILE` is simulated", 1)),
        },
        "env" | "printenv" => Ok(HostCommand::Env),
        "hostname" => Ok(HostCommand::Hostname { ip: args.iter().any(|a| a == "-i") }),
        "ip" => {
            let sub: Vec<&str> = args.iter().map(String::as_str).filter(|a| !a.starts_with('-')).collect();
            match sub.first().copied() {
                Some("route" | "r" | "ro" | "rou" | "rout") => Ok(HostCommand::IpRoute),
                Some("addr" | "a" | "ad" | "add" | "address") => {
                    let rest: Vec<&str> = sub.iter().skip(1).copied().collect();
                    match rest.as_slice() {
                        [] | ["show" | "list" | "s" | "l" | "sh" | "ls"] => {
                            Ok(HostCommand::IpAddr { dev: None })
                        }
                        ["show" | "list" | "s" | "l" | "sh" | "ls", "dev", d]
                        | ["show" | "list" | "s" | "l" | "sh" | "ls", d] => {
                            Ok(HostCommand::IpAddr { dev: Some(d.to_string()) })
                        }
                        _ => Err(CommandError::usage(
                            "ip addr: only `ip addr [show [dev] DEV]` is simulated",
                            255,
                        )),
                    }
                }
                _ => Err(CommandError::usage(
                    "Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n(simulated objects: route, addr)",
                    255,
                )),
            }
        }
        "iptables-save" => {
            let mut table = None;
            let mut counters = false;
            let mut it = args.iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "-t" | "--table" => table = it.next().cloned(),
                    "-c" | "--counters" => counters = true,
                    other => {
                        return Err(CommandError::usage(
                            format!("iptables-save: unknown option \"{other}\""),
                            1,
                        ));
                    }
                }
            }
            Ok(HostCommand::IptablesSave { table, counters })
        }
        "iptables" | "iptables-legacy" | "iptables-nft" => Ok(HostCommand::Iptables { args }),
        "nft" => Ok(HostCommand::Nft { args }),
        "conntrack" => Ok(HostCommand::Conntrack { args }),
        "ipset" => Ok(HostCommand::Ipset { args }),
        "ipvsadm" => Ok(HostCommand::Ipvsadm { args }),
        "sysctl" => Ok(HostCommand::Sysctl { args }),
        "kubectl" => Ok(HostCommand::Kubectl { args }),
        "sleep" => Ok(HostCommand::Sleep { secs: secs("sleep", "", args.first())? }),
        "echo" => Ok(HostCommand::Echo { text: args.join(" ") }),
        "tcpdump" => super::tcpdump::parse_tcpdump(&args).map(HostCommand::Tcpdump),
        "timeout" => parse_timeout(&args),
        "kill" => Ok(HostCommand::Kill { args }),
        "jobs" => Ok(HostCommand::Jobs),
        "ss" => super::ss::parse_ss(&args).map(HostCommand::Ss),
        "netstat" => super::netstat::parse_netstat(&args).map(HostCommand::Netstat),
        "traceroute" => super::traceroute::parse_traceroute(&args).map(HostCommand::Traceroute),
        other => Err(CommandError::usage(format!("sh: {other}: not found"), 127)),
    }
}

/// `timeout SECS tcpdump ...` (coreutils timeout; only tcpdump is simulated under it).
fn parse_timeout(args: &[String]) -> Result<HostCommand, CommandError> {
    let (secs_arg, rest) = match args.split_first() {
        Some((s, rest)) if !s.starts_with('-') => (s, rest),
        _ => return Err(CommandError::usage("timeout: netsim simulates `timeout SECS tcpdump ...`", 125)),
    };
    let secs = secs_arg
        .strip_suffix('s')
        .unwrap_or(secs_arg)
        .parse::<u64>()
        .map_err(|_| CommandError::usage(format!("timeout: invalid time interval '{secs_arg}'"), 125))?;
    match rest.split_first() {
        Some((cmd, targs)) if cmd == "tcpdump" => {
            let mut t = super::tcpdump::parse_tcpdump(targs)?;
            t.timeout = Some(secs);
            Ok(HostCommand::Tcpdump(t))
        }
        Some((cmd, _)) => Err(CommandError::usage(
            format!("timeout: netsim simulates `timeout SECS tcpdump ...` only, not `{cmd}`"),
            125,
        )),
        None => Err(CommandError::usage("timeout: missing operand", 125)),
    }
}

fn parse_ping(args: &[String]) -> Result<HostCommand, CommandError> {
    // iputils' MAXWAIT: with no -W, ping lingers 10 s for the answers after its last request.
    let (mut host, mut count, mut wait) = (None, 4u32, 10u64);
    let mut size = super::ping::SizeArg::Default;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-s" => {
                let v = it
                    .next()
                    .ok_or_else(|| CommandError::usage("ping: option requires an argument -- 's'", 2))?;
                size = super::ping::SizeArg::Given(v.clone());
            }
            "-c" => {
                count = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|c| *c > 0)
                    .ok_or_else(|| CommandError::usage("ping: invalid count", 1))?
            }
            "-W" | "-w" => wait = secs("ping", "W", it.next())?,
            s if s.starts_with('-') => {
                return Err(CommandError::usage(format!("ping: unrecognized option '{s}'"), 2));
            }
            s => host = Some(s.to_string()),
        }
    }
    let host =
        host.ok_or_else(|| CommandError::usage("ping: usage error: Destination address required", 2))?;
    Ok(HostCommand::Ping { host, count: count.min(100), wait: wait.max(1), size })
}

fn parse_nc(args: &[String]) -> Result<HostCommand, CommandError> {
    let (mut udp, mut zero, mut verbose, mut wait) = (false, false, false, None);
    let mut pos = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-w" => wait = Some(secs("nc", "w", it.next())?),
            s if s.starts_with('-') && s.len() > 1 => {
                for c in s[1..].chars() {
                    match c {
                        'z' => zero = true,
                        'v' => verbose = true,
                        'u' => udp = true,
                        'n' => {}
                        _ => return Err(CommandError::usage(format!("nc: invalid option -- '{c}'"), 1)),
                    }
                }
            }
            s => pos.push(s.to_string()),
        }
    }
    match pos.as_slice() {
        [host, port] => {
            let port = port
                .parse()
                .map_err(|_| CommandError::usage(format!("nc: port number invalid: {port}"), 1))?;
            Ok(HostCommand::Nc { host: host.clone(), port, udp, zero_io: zero, verbose, wait })
        }
        _ => Err(CommandError::usage("usage: nc [-uvz] [-w timeout] destination port", 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ping::SizeArg;

    #[test]
    fn words_and_quotes() {
        assert_eq!(
            split_words(r#"iptables -t nat -D X -m comment --comment "a b/c" -j Y"#).unwrap()[8],
            "a b/c"
        );
        assert_eq!(split_words("echo 'x  y' z").unwrap(), ["echo", "x  y", "z"]);
        assert!(split_words("echo \"open").is_err());
    }

    #[test]
    fn curl_urls() {
        let HostCommand::Curl(c) = parse("curl -s 10.96.0.1:8080/x?y=1").unwrap() else { panic!("not curl") };
        assert!(c.silent);
        let url = c.url.unwrap();
        assert_eq!((url.host.as_str(), url.port, url.path.as_str()), ("10.96.0.1", 8080, "/x?y=1"));
        assert_eq!(url.host_header(), "10.96.0.1:8080");
        let HostCommand::Curl(c) = parse("curl http://my-nginx").unwrap() else { panic!("not curl") };
        let url = c.url.unwrap();
        assert_eq!((url.port, url.host_header().as_str()), (80, "my-nginx"));
        assert_eq!(parse("curl ftp://x").unwrap_err().exit_code, 3);
        assert_eq!(
            parse("curl").unwrap_err().message,
            "curl: no URL specified!\ncurl: try 'curl --help' or 'curl --manual' for more information"
        );
    }

    #[test]
    fn unknown_commands_are_not_found() {
        let e = parse("mtr 10.0.0.1").unwrap_err();
        assert_eq!((e.message.as_str(), e.exit_code), ("sh: mtr: not found", 127));
    }

    #[test]
    fn ping_nc_wget() {
        assert_eq!(
            parse("ping -c 2 10.96.0.1").unwrap(),
            HostCommand::Ping { host: "10.96.0.1".into(), count: 2, wait: 10, size: SizeArg::Default }
        );
        assert_eq!(
            parse("ping -c 1 -s 100 x").unwrap(),
            HostCommand::Ping { host: "x".into(), count: 1, wait: 10, size: SizeArg::Given("100".into()) }
        );
        assert_eq!(parse("ping -s").unwrap_err().message, "ping: option requires an argument -- 's'");
        assert_eq!(
            parse("nc -zv mysql 3306").unwrap(),
            HostCommand::Nc {
                host: "mysql".into(),
                port: 3306,
                udp: false,
                zero_io: true,
                verbose: true,
                wait: None
            }
        );
        let HostCommand::Wget(w) = parse("wget -qO- nginx-svc").unwrap() else { panic!("not wget") };
        assert!(w.to_stdout() && w.quiet);
    }
}
