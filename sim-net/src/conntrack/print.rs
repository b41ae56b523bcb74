//! `conntrack -L` output and the `-L`/`-D` filter options of conntrack-tools.
//!
//! Line format from libnetfilter_conntrack `src/conntrack/snprintf_default.c`: protocol name
//! padded to 8, protocol number, countdown timeout, TCP state, original tuple, `[UNREPLIED]`,
//! reply tuple, `[ASSURED]`, `mark=`, `use=1`. The summary line goes to stderr, as
//! conntrack-tools prints it (`conntrack v1.4.6 (conntrack-tools): N flow entries have been
//! shown.`). Accounting counters, zones, secctx and `-o extended` are not printed.

use std::fmt::Write;
use std::net::Ipv4Addr;

use sim_core::SimTime;

use super::{CtEntry, CtStatus};
use crate::wire::Protocol;

/// The conntrack-tools version the summary line claims.
pub const CONNTRACK_VERSION: &str = "1.4.6";

/// Output of one `conntrack -L` run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtListing {
    /// One line per entry, each ending in a newline.
    pub stdout: String,
    /// The summary line.
    pub stderr: String,
    /// How many entries were printed.
    pub count: usize,
}

/// The `conntrack -L` line of one entry (no newline).
pub fn entry_line(e: &CtEntry, now: SimTime) -> String {
    let proto = e.orig.protocol();
    let mut s = format!("{:<8} {} {} ", proto.name(), proto.number(), e.remaining_secs(now));
    if let Some(st) = e.tcp {
        let _ = write!(s, "{} ", st.name());
    }
    // `sctp     132 2 COOKIE_WAIT src=...`: the tracker's state, as for TCP.
    if let Some(st) = e.sctp {
        let _ = write!(s, "{} ", st.name());
    }
    let _ = write!(s, "{} ", e.orig);
    if !e.status.has(CtStatus::SEEN_REPLY) {
        s.push_str("[UNREPLIED] ");
    }
    let _ = write!(s, "{} ", e.reply);
    if e.status.has(CtStatus::ASSURED) {
        s.push_str("[ASSURED] ");
    }
    let _ = write!(s, "mark={} use=1", e.mark);
    s
}

/// Renders entries as `conntrack -L` does.
pub fn listing<'a>(entries: impl Iterator<Item = &'a CtEntry>, now: SimTime) -> CtListing {
    let mut stdout = String::new();
    let mut count = 0;
    for e in entries {
        stdout.push_str(&entry_line(e, now));
        stdout.push('\n');
        count += 1;
    }
    let stderr =
        format!("conntrack v{CONNTRACK_VERSION} (conntrack-tools): {count} flow entries have been shown.\n");
    CtListing { stdout, stderr, count }
}

/// Renders what `conntrack -D` prints: each deleted entry on stdout, then
/// `N flow entries have been deleted.` on stderr.
pub fn deletion<'a>(entries: impl Iterator<Item = &'a CtEntry>, now: SimTime) -> CtListing {
    let mut l = listing(entries, now);
    l.stderr = format!(
        "conntrack v{CONNTRACK_VERSION} (conntrack-tools): {} flow entries have been deleted.\n",
        l.count
    );
    l
}

/// The selection options of `conntrack -L` / `conntrack -D`. Unset fields match anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CtFilter {
    /// `-p, --proto`.
    pub proto: Option<Protocol>,
    /// `-s, --src, --orig-src`: original source.
    pub orig_src: Option<Ipv4Addr>,
    /// `-d, --dst, --orig-dst`: original destination.
    pub orig_dst: Option<Ipv4Addr>,
    /// `-r, --reply-src`.
    pub reply_src: Option<Ipv4Addr>,
    /// `-q, --reply-dst`.
    pub reply_dst: Option<Ipv4Addr>,
    /// `--sport, --orig-port-src`.
    pub orig_sport: Option<u16>,
    /// `--dport, --orig-port-dst`.
    pub orig_dport: Option<u16>,
    /// `--reply-port-src`.
    pub reply_sport: Option<u16>,
    /// `--reply-port-dst`.
    pub reply_dport: Option<u16>,
}

/// A bad `conntrack` filter argument.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CtFilterError {
    /// An option that needs a value came last.
    #[error("option `{0}' requires an argument")]
    MissingValue(String),
    /// An option conntrack does not know (or we do not model).
    #[error("unknown option `{0}'")]
    UnknownOption(String),
    /// A value that does not parse.
    #[error("bad value `{value}' for {option}: expected {expected}")]
    BadValue { option: String, value: String, expected: &'static str },
    /// A port filter without `-p`.
    #[error("{0} requires -p tcp or -p udp first")]
    PortWithoutProto(String),
}

impl CtFilter {
    /// Parses conntrack's filter options (`-p udp --orig-dst 10.96.0.10`).
    pub fn parse(args: &[&str]) -> Result<CtFilter, CtFilterError> {
        let mut f = CtFilter::default();
        let mut it = args.iter();
        while let Some(&opt) = it.next() {
            let mut value = || it.next().copied().ok_or_else(|| CtFilterError::MissingValue(opt.to_string()));
            let addr = |v: &str| {
                v.parse::<Ipv4Addr>().map_err(|_| CtFilterError::BadValue {
                    option: opt.to_string(),
                    value: v.to_string(),
                    expected: "an IPv4 address",
                })
            };
            let port = |v: &str| {
                v.parse::<u16>().map_err(|_| CtFilterError::BadValue {
                    option: opt.to_string(),
                    value: v.to_string(),
                    expected: "a port number 0-65535",
                })
            };
            match opt {
                "-p" | "--proto" => {
                    let v = value()?;
                    f.proto = Some(Protocol::parse(v).ok_or_else(|| CtFilterError::BadValue {
                        option: opt.to_string(),
                        value: v.to_string(),
                        expected: "tcp, udp or icmp",
                    })?);
                }
                "-s" | "--src" | "--orig-src" => f.orig_src = Some(addr(value()?)?),
                "-d" | "--dst" | "--orig-dst" => f.orig_dst = Some(addr(value()?)?),
                "-r" | "--reply-src" => f.reply_src = Some(addr(value()?)?),
                "-q" | "--reply-dst" => f.reply_dst = Some(addr(value()?)?),
                "--sport" | "--orig-port-src" | "--dport" | "--orig-port-dst" | "--reply-port-src"
                | "--reply-port-dst" => {
                    if !matches!(f.proto, Some(Protocol::Tcp | Protocol::Udp | Protocol::Sctp)) {
                        return Err(CtFilterError::PortWithoutProto(opt.to_string()));
                    }
                    let p = Some(port(value()?)?);
                    match opt {
                        "--sport" | "--orig-port-src" => f.orig_sport = p,
                        "--dport" | "--orig-port-dst" => f.orig_dport = p,
                        "--reply-port-src" => f.reply_sport = p,
                        _ => f.reply_dport = p,
                    }
                }
                other => return Err(CtFilterError::UnknownOption(other.to_string())),
            }
        }
        Ok(f)
    }

    /// True if `e` is selected.
    pub fn matches(&self, e: &CtEntry) -> bool {
        fn ok<T: PartialEq>(want: Option<T>, have: T) -> bool {
            want.is_none_or(|w| w == have)
        }
        let (osp, odp) = e.orig.ports().map_or((None, None), |(s, d)| (Some(s), Some(d)));
        let (rsp, rdp) = e.reply.ports().map_or((None, None), |(s, d)| (Some(s), Some(d)));
        ok(self.proto, e.orig.protocol())
            && ok(self.orig_src, e.orig.src)
            && ok(self.orig_dst, e.orig.dst)
            && ok(self.reply_src, e.reply.src)
            && ok(self.reply_dst, e.reply.dst)
            && (self.orig_sport.is_none() || self.orig_sport == osp)
            && (self.orig_dport.is_none() || self.orig_dport == odp)
            && (self.reply_sport.is_none() || self.reply_sport == rsp)
            && (self.reply_dport.is_none() || self.reply_dport == rdp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conntrack::{CtId, TcpState, Tuple, tuple::L4Tuple};
    use sim_core::SimDuration;

    fn tup(src: [u8; 4], dst: [u8; 4], l4: L4Tuple) -> Tuple {
        Tuple { src: Ipv4Addr::from(src), dst: Ipv4Addr::from(dst), l4 }
    }

    fn entry(orig: Tuple, reply: Tuple, tcp: Option<TcpState>, status: u32, secs: u64) -> CtEntry {
        CtEntry {
            id: CtId(1),
            orig,
            reply,
            status: CtStatus(status),
            tcp,
            tcp_seen: Default::default(),
            sctp: None,
            mark: 0,
            created: SimTime::ZERO,
            expires: SimTime::ZERO + SimDuration::from_secs(secs),
        }
    }

    #[test]
    fn kubernetes_patterns_from_formats_md() {
        // ClusterIP DNAT of a DNS query: reply src = the endpoint.
        let e = entry(
            tup([10, 244, 1, 5], [10, 96, 0, 10], L4Tuple::Udp { sport: 45321, dport: 53 }),
            tup([10, 244, 0, 8], [10, 244, 1, 5], L4Tuple::Udp { sport: 53, dport: 45321 }),
            None,
            CtStatus::SEEN_REPLY,
            29,
        );
        assert_eq!(
            entry_line(&e, SimTime::ZERO),
            "udp      17 29 src=10.244.1.5 dst=10.96.0.10 sport=45321 dport=53 src=10.244.0.8 dst=10.244.1.5 sport=53 dport=45321 mark=0 use=1"
        );
        let e = entry(
            tup([10, 244, 1, 5], [10, 96, 0, 1], L4Tuple::Tcp { sport: 51234, dport: 443 }),
            tup([192, 168, 205, 145], [10, 244, 1, 5], L4Tuple::Tcp { sport: 6443, dport: 51234 }),
            Some(TcpState::SynSent),
            0,
            119,
        );
        assert_eq!(
            entry_line(&e, SimTime::ZERO),
            "tcp      6 119 SYN_SENT src=10.244.1.5 dst=10.96.0.1 sport=51234 dport=443 [UNREPLIED] src=192.168.205.145 dst=10.244.1.5 sport=6443 dport=51234 mark=0 use=1"
        );
        let e = entry(
            tup([192, 168, 205, 1], [192, 168, 205, 146], L4Tuple::Tcp { sport: 40012, dport: 31455 }),
            tup([10, 244, 2, 17], [10, 244, 1, 0], L4Tuple::Tcp { sport: 8080, dport: 40012 }),
            Some(TcpState::Established),
            CtStatus::SEEN_REPLY | CtStatus::ASSURED,
            86399,
        );
        assert_eq!(
            entry_line(&e, SimTime::ZERO),
            "tcp      6 86399 ESTABLISHED src=192.168.205.1 dst=192.168.205.146 sport=40012 dport=31455 src=10.244.2.17 dst=10.244.1.0 sport=8080 dport=40012 [ASSURED] mark=0 use=1"
        );
        let e = entry(
            tup([10, 0, 0, 1], [10, 0, 0, 2], L4Tuple::Icmp { icmp_type: 8, code: 0, id: 7 }),
            tup([10, 0, 0, 2], [10, 0, 0, 1], L4Tuple::Icmp { icmp_type: 0, code: 0, id: 7 }),
            None,
            CtStatus::SEEN_REPLY,
            29,
        );
        assert_eq!(
            entry_line(&e, SimTime::ZERO),
            "icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=7 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=7 mark=0 use=1"
        );
    }

    #[test]
    fn filter_parse_errors_are_clear() {
        assert_eq!(
            CtFilter::parse(&["--dport", "53"]).unwrap_err().to_string(),
            "--dport requires -p tcp or -p udp first"
        );
        assert_eq!(
            CtFilter::parse(&["-d", "10.96.0"]).unwrap_err().to_string(),
            "bad value `10.96.0' for -d: expected an IPv4 address"
        );
        assert_eq!(CtFilter::parse(&["-s"]).unwrap_err().to_string(), "option `-s' requires an argument");
        assert_eq!(CtFilter::parse(&["-x"]).unwrap_err().to_string(), "unknown option `-x'");
    }
}
