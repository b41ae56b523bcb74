//! The capture filter language (`pcap-filter(7)`), the subset a Service lab needs:
//! `host A`, `net CIDR`, `port N`, `portrange N-M` with `src`/`dst`/`src or dst`/`src and dst`,
//! the protocols `ip`, `tcp`, `udp`, `icmp`, `sctp` alone or before a port (`tcp port 80`),
//! `not`/`!`, `and`/`&&`, `or`/`||` and parentheses. As in libpcap, negation binds tightest
//! while `and` and `or` have equal precedence and associate to the left, and an identifier
//! with no qualifier repeats the previous primitive's (`host 10.0.0.1 or 10.0.0.2`,
//! `port 80 or 443`). Error messages are libpcap's.
//!
//! Left out: host names (only IPv4 literals), link-level primitives (`ether`, `arp`, `vlan`),
//! `len`/`greater`, byte offsets (`tcp[13]`); each is refused by name.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::print::service_port;
use crate::wire::{Packet, Protocol};

/// A compiled filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Filter {
    /// No expression: every packet.
    #[default]
    All,
    /// An expression.
    Expr(Expr),
}

/// A filter expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// One primitive.
    Prim(Prim),
    /// `not E`.
    Not(Box<Expr>),
    /// `A and B`.
    And(Box<Expr>, Box<Expr>),
    /// `A or B`.
    Or(Box<Expr>, Box<Expr>),
}

/// Which address or port a primitive looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// `src or dst` (the default).
    Either,
    /// `src`.
    Src,
    /// `dst`.
    Dst,
    /// `src and dst`.
    Both,
}

/// A primitive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prim {
    /// `[src|dst] host A`.
    Host(Dir, Ipv4Addr),
    /// `[src|dst] net CIDR`.
    Net(Dir, Ipv4Net),
    /// `[tcp|udp|sctp] [src|dst] port N` or `portrange N-M`.
    Port { proto: Option<Protocol>, dir: Dir, lo: u16, hi: u16 },
    /// `tcp`, `udp`, `icmp`, `sctp`.
    Proto(Protocol),
    /// `ip`: every IPv4 packet.
    Ip,
}

/// Why an expression does not compile (worded as libpcap words it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// The grammar does not accept it.
    #[error("can't parse filter expression: syntax error")]
    Syntax,
    /// A host that is not an IPv4 address.
    #[error("unknown host '{0}'")]
    UnknownHost(String),
    /// A port above 65535.
    #[error("illegal port number {0} > 65535")]
    IllegalPort(u64),
    /// A port name /etc/services does not have.
    #[error("unknown port '{0}'")]
    UnknownPort(String),
    /// A primitive libpcap knows but netsim does not simulate.
    #[error("netsim does not simulate the filter primitive '{0}'")]
    Unsupported(String),
}

impl Filter {
    /// Compiles the words after tcpdump's options (they are joined with spaces, as tcpdump's
    /// `copy_argv` does).
    pub fn parse(words: &[String]) -> Result<Filter, FilterError> {
        let text = words.join(" ");
        let tokens = tokenize(&text);
        if tokens.is_empty() {
            return Ok(Filter::All);
        }
        let mut p = Parser { tokens, pos: 0, last: None };
        let e = p.expr()?;
        if p.pos != p.tokens.len() {
            return Err(FilterError::Syntax);
        }
        Ok(Filter::Expr(e))
    }

    /// True if the filter accepts `pkt`.
    pub fn matches(&self, pkt: &Packet) -> bool {
        match self {
            Filter::All => true,
            Filter::Expr(e) => e.matches(pkt),
        }
    }
}

impl Expr {
    /// True if the expression accepts `pkt`.
    pub fn matches(&self, pkt: &Packet) -> bool {
        match self {
            Expr::Prim(p) => p.matches(pkt),
            Expr::Not(e) => !e.matches(pkt),
            Expr::And(a, b) => a.matches(pkt) && b.matches(pkt),
            Expr::Or(a, b) => a.matches(pkt) || b.matches(pkt),
        }
    }
}

fn by_dir<T>(dir: Dir, src: T, dst: T, test: impl Fn(T) -> bool) -> bool {
    match dir {
        Dir::Either => test(src) || test(dst),
        Dir::Src => test(src),
        Dir::Dst => test(dst),
        Dir::Both => test(src) && test(dst),
    }
}

impl Prim {
    /// True if the primitive accepts `pkt`.
    pub fn matches(&self, pkt: &Packet) -> bool {
        match self {
            Prim::Host(dir, a) => by_dir(*dir, pkt.src, pkt.dst, |x| x == *a),
            Prim::Net(dir, n) => by_dir(*dir, pkt.src, pkt.dst, |x| n.contains(&x)),
            Prim::Port { proto, dir, lo, hi } => {
                if proto.is_some_and(|p| p != pkt.protocol()) {
                    return false;
                }
                match pkt.transport.ports() {
                    Some((s, d)) => by_dir(*dir, s, d, |x| (*lo..=*hi).contains(&x)),
                    None => false,
                }
            }
            Prim::Proto(p) => pkt.protocol() == *p,
            Prim::Ip => true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Open,
    Close,
    Not,
    And,
    Or,
}

fn tokenize(text: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<Tok>| {
        if !cur.is_empty() {
            out.push(match cur.as_str() {
                "not" => Tok::Not,
                "and" => Tok::And,
                "or" => Tok::Or,
                w => Tok::Word(w.to_string()),
            });
            cur.clear();
        }
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => flush(&mut cur, &mut out),
            '(' | ')' => {
                flush(&mut cur, &mut out);
                out.push(if c == '(' { Tok::Open } else { Tok::Close });
            }
            '!' => {
                flush(&mut cur, &mut out);
                out.push(Tok::Not);
            }
            '&' if chars.peek() == Some(&'&') => {
                chars.next();
                flush(&mut cur, &mut out);
                out.push(Tok::And);
            }
            '|' if chars.peek() == Some(&'|') => {
                chars.next();
                flush(&mut cur, &mut out);
                out.push(Tok::Or);
            }
            c => cur.push(c),
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// The qualifiers of the last primitive, which a bare identifier repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Quals {
    proto: Option<Protocol>,
    dir: Dir,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Host,
    Net,
    Port,
    PortRange,
}

struct Parser {
    tokens: Vec<Tok>,
    pos: usize,
    last: Option<Quals>,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn word(&self) -> Option<&str> {
        match self.peek() {
            Some(Tok::Word(w)) => Some(w.as_str()),
            _ => None,
        }
    }

    fn expr(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.term()?;
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.pos += 1;
                    let right = self.term()?;
                    left = Expr::And(Box::new(left), Box::new(right));
                }
                Some(Tok::Or) => {
                    self.pos += 1;
                    let right = self.term()?;
                    left = Expr::Or(Box::new(left), Box::new(right));
                }
                _ => return Ok(left),
            }
        }
    }

    fn term(&mut self) -> Result<Expr, FilterError> {
        match self.peek() {
            Some(Tok::Not) => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.term()?)))
            }
            Some(Tok::Open) => {
                self.pos += 1;
                let e = self.expr()?;
                if self.peek() != Some(&Tok::Close) {
                    return Err(FilterError::Syntax);
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Tok::Word(_)) => self.primitive().map(Expr::Prim),
            _ => Err(FilterError::Syntax),
        }
    }

    fn primitive(&mut self) -> Result<Prim, FilterError> {
        let mut proto = None;
        let mut ip = false;
        if let Some(w) = self.word() {
            match w {
                "ip" => ip = true,
                "tcp" => proto = Some(Protocol::Tcp),
                "udp" => proto = Some(Protocol::Udp),
                "icmp" => proto = Some(Protocol::Icmp),
                "sctp" => proto = Some(Protocol::Sctp),
                "ether" | "arp" | "rarp" | "vlan" | "ip6" | "icmp6" | "len" | "greater" | "less"
                | "broadcast" | "multicast" | "inbound" | "outbound" | "gateway" | "proto" => {
                    return Err(FilterError::Unsupported(w.to_string()));
                }
                w if w.contains('[') => return Err(FilterError::Unsupported(w.to_string())),
                _ => {}
            }
        }
        if proto.is_some() || ip {
            self.pos += 1;
        }
        let mut dir = None;
        if let Some(w @ ("src" | "dst")) = self.word() {
            let first = if w == "src" { Dir::Src } else { Dir::Dst };
            self.pos += 1;
            // `src or dst` / `src and dst` as one qualifier.
            let pair = match (self.peek(), self.tokens.get(self.pos + 1)) {
                (Some(Tok::Or), Some(Tok::Word(x))) if x == "src" || x == "dst" => Some(Dir::Either),
                (Some(Tok::And), Some(Tok::Word(x))) if x == "src" || x == "dst" => Some(Dir::Both),
                _ => None,
            };
            dir = Some(match pair {
                Some(d) => {
                    self.pos += 2;
                    d
                }
                None => first,
            });
        }
        let kind = match self.word() {
            Some("host") => Some(Kind::Host),
            Some("net") => Some(Kind::Net),
            Some("port") => Some(Kind::Port),
            Some("portrange") => Some(Kind::PortRange),
            _ => None,
        };
        if kind.is_some() {
            self.pos += 1;
        }
        let qualified = proto.is_some() || ip || dir.is_some() || kind.is_some();
        // A protocol alone (`tcp`, `icmp and ...`).
        if kind.is_none() && dir.is_none() && (proto.is_some() || ip) && self.word().is_none() {
            let p = match proto {
                Some(p) => Prim::Proto(p),
                None => Prim::Ip,
            };
            return Ok(p);
        }
        let Some(id) = self.word().map(str::to_string) else { return Err(FilterError::Syntax) };
        self.pos += 1;
        if !qualified && self.last.is_none() && id.parse::<Ipv4Addr>().is_err() {
            // libpcap: a bare word with nothing to inherit is not an expression.
            return Err(FilterError::Syntax);
        }
        let q = if qualified {
            Quals { proto, dir: dir.unwrap_or(Dir::Either), kind: kind.unwrap_or(Kind::Host) }
        } else {
            self.last.unwrap_or(Quals { proto: None, dir: Dir::Either, kind: Kind::Host })
        };
        self.last = Some(q);
        match q.kind {
            Kind::Host => {
                if matches!(q.proto, Some(Protocol::Tcp | Protocol::Udp | Protocol::Sctp)) {
                    // `tcp host A` is `ip proto \tcp and host A` in libpcap; kept simple here.
                    let p = q.proto.unwrap_or(Protocol::Tcp);
                    return Err(FilterError::Unsupported(format!("{p} host")));
                }
                let a: Ipv4Addr = id.parse().map_err(|_| FilterError::UnknownHost(id.clone()))?;
                Ok(Prim::Host(q.dir, a))
            }
            Kind::Net => {
                let n: Ipv4Net = match id.parse() {
                    Ok(n) => n,
                    Err(_) => match id.parse::<Ipv4Addr>() {
                        Ok(a) => Ipv4Net::from(a),
                        Err(_) => return Err(FilterError::UnknownHost(id.clone())),
                    },
                };
                Ok(Prim::Net(q.dir, n))
            }
            Kind::Port => {
                let p = port_number(&id)?;
                Ok(Prim::Port { proto: q.proto, dir: q.dir, lo: p, hi: p })
            }
            Kind::PortRange => {
                let (a, b) = id.split_once('-').ok_or(FilterError::Syntax)?;
                let (lo, hi) = (port_number(a)?, port_number(b)?);
                Ok(Prim::Port { proto: q.proto, dir: q.dir, lo: lo.min(hi), hi: lo.max(hi) })
            }
        }
    }
}

fn port_number(s: &str) -> Result<u16, FilterError> {
    if s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() {
        let n: u64 = s.parse().map_err(|_| FilterError::IllegalPort(u64::MAX))?;
        return u16::try_from(n).map_err(|_| FilterError::IllegalPort(n));
    }
    service_port(s).ok_or_else(|| FilterError::UnknownPort(s.to_string()))
}

impl fmt::Display for Dir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dir::Either => "src or dst",
            Dir::Src => "src",
            Dir::Dst => "dst",
            Dir::Both => "src and dst",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Icmp, TcpFlags};

    fn f(s: &str) -> Result<Filter, FilterError> {
        let words: Vec<String> = s.split(' ').map(str::to_string).collect();
        Filter::parse(&words)
    }

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    #[test]
    fn primitives_and_operators() {
        let syn = Packet::tcp(a("10.244.1.5"), 43512, a("10.96.0.10"), 80, TcpFlags::SYN);
        let dns = Packet::udp(a("10.244.1.5"), 40000, a("10.96.0.10"), 53);
        let ping = Packet::icmp(a("10.0.0.1"), a("10.0.0.2"), Icmp::EchoRequest { id: 1, seq: 1 });
        let ok = |e: &str, p: &Packet| f(e).map(|x| x.matches(p));
        assert_eq!(ok("port 80", &syn), Ok(true));
        assert_eq!(ok("port 80", &dns), Ok(false));
        assert_eq!(ok("udp port 53", &dns), Ok(true));
        assert_eq!(ok("tcp port domain", &dns), Ok(false));
        assert_eq!(ok("src host 10.244.1.5 and dst port 80", &syn), Ok(true));
        assert_eq!(ok("dst host 10.244.1.5", &syn), Ok(false));
        assert_eq!(ok("host 10.9.9.9 or 10.96.0.10", &syn), Ok(true));
        assert_eq!(ok("port 53 or icmp", &ping), Ok(true));
        assert_eq!(ok("not icmp", &ping), Ok(false));
        assert_eq!(ok("! (tcp or udp)", &ping), Ok(true));
        assert_eq!(ok("net 10.244.0.0/16", &dns), Ok(true));
        assert_eq!(ok("src or dst port 80", &syn), Ok(true));
        assert_eq!(ok("portrange 50-60", &dns), Ok(true));
        assert_eq!(ok("tcp && port 80 || icmp", &ping), Ok(true));
        // `and` and `or` have equal precedence, left to right: (icmp or tcp) and port 80.
        assert_eq!(ok("icmp or tcp and port 80", &ping), Ok(false));
        assert_eq!(f("").map(|x| x.matches(&ping)), Ok(true));
    }

    #[test]
    fn libpcap_errors() {
        assert_eq!(f("port"), Err(FilterError::Syntax));
        assert_eq!(f("tcp and"), Err(FilterError::Syntax));
        assert_eq!(f("frob"), Err(FilterError::Syntax));
        assert_eq!(f("host frob").map_err(|e| e.to_string()), Err("unknown host 'frob'".to_string()));
        assert_eq!(
            f("port 99999").map_err(|e| e.to_string()),
            Err("illegal port number 99999 > 65535".to_string())
        );
        assert_eq!(f("(tcp"), Err(FilterError::Syntax));
        assert_eq!(f("arp"), Err(FilterError::Unsupported("arp".into())));
    }
}
