//! tcpdump 4.99's default one-line output of captured packets (`print-ip.c`, `print-tcp.c`,
//! `print-udp.c`, `print-domain.c`, `print-icmp.c`, `print-http.c`, `print-sll.c`), its
//! stderr banner and its closing statistics; checked against the real tool's outputs in
//! `tests/data/real-tools/tcpdump/`.
//!
//! TCP sequence numbers, windows and timestamps come with each record ([`super::tcp`]);
//! relative numbering follows tcpdump's rule: a connection is remembered from its first
//! printed segment with ACK set; that one and every SYN print absolute numbers, the others
//! relative ones.
//!
//! Names: without `-n` ports print as /etc/services names (`http`, `domain`); addresses stay
//! numeric (there is no resolver for tcpdump's reverse lookups). Left out: `-v` decodes,
//! SCTP chunk parameters, HTTP on ports other than 80 and 8080.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use sim_core::SimTime;

use super::tcp::{ConnKey, TcpNumbers, oriented};
use super::{Capture, CaptureIface, Captured, TapDir};
use crate::wire::{Icmp, Packet, TcpFlags, Transport, unreach};

/// How tcpdump names addresses and ports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Names {
    /// No `-n`: ports by their /etc/services names.
    #[default]
    Resolve,
    /// `-n` or `-nn`: everything numeric.
    Numeric,
}

/// The options that change what a line looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrintOptions {
    /// `-n`.
    pub names: Names,
    /// `-i any`: the cooked header's interface and direction after the timestamp.
    pub any: bool,
    /// The wall-clock time of simulated time zero (the clock prints UTC time of day).
    pub epoch_unix_secs: i64,
}

/// The /etc/services names tcpdump prints without `-n` (Debian 12's file, the ports a
/// cluster uses).
const SERVICES: &[(u16, &str)] = &[
    (22, "ssh"),
    (53, "domain"),
    (80, "http"),
    (443, "https"),
    (853, "domain-s"),
    (3306, "mysql"),
    (5432, "postgresql"),
    (6379, "redis"),
    (8080, "http-alt"),
    (8081, "tproxy"),
];

/// The /etc/services name of a port.
pub fn service_name(port: u16) -> Option<&'static str> {
    SERVICES.iter().find(|(p, _)| *p == port).map(|(_, n)| *n)
}

/// The port of an /etc/services name (`http`, also its alias `www`).
pub fn service_port(name: &str) -> Option<u16> {
    match name {
        "www" => Some(80),
        "webcache" => Some(8080),
        "postgres" => Some(5432),
        _ => SERVICES.iter().find(|(_, n)| *n == name).map(|(p, _)| *p),
    }
}

/// tcpdump's stderr banner for a capture on `iface`.
pub fn banner(iface: &CaptureIface) -> String {
    match iface {
        CaptureIface::Any => "tcpdump: data link type LINUX_SLL2\n\
             tcpdump: verbose output suppressed, use -v[v]... for full protocol decode\n\
             listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes\n"
            .to_string(),
        CaptureIface::Named(n) => format!(
            "tcpdump: verbose output suppressed, use -v[v]... for full protocol decode\n\
             listening on {n}, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n"
        ),
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The closing statistics tcpdump prints on stderr.
pub fn statistics(c: &Capture) -> String {
    let n = c.packets.len() as u64;
    format!(
        "{n} packet{} captured\n{} packet{} received by filter\n0 packets dropped by kernel\n",
        plural(n),
        c.received,
        plural(c.received)
    )
}

/// Every captured packet as tcpdump prints it, one line each.
pub fn print_lines(packets: &[Captured], opts: &PrintOptions) -> String {
    let mut p = Printer { opts: *opts, shown: BTreeMap::new() };
    let mut out = String::new();
    for c in packets {
        p.line(&mut out, c);
        out.push('\n');
    }
    out
}

/// What tcpdump remembers to print relative numbers: each side's base sequence number.
type Shown = [u32; 2];

struct Printer {
    opts: PrintOptions,
    shown: BTreeMap<ConnKey, Shown>,
}

/// `HH:MM:SS.uuuuuu`, UTC time of day.
fn timestamp(epoch_unix_secs: i64, at: SimTime) -> String {
    let nanos = at.as_nanos();
    let secs = epoch_unix_secs.rem_euclid(86_400) as u64 + nanos / 1_000_000_000;
    let day = secs % 86_400;
    let us = (nanos % 1_000_000_000) / 1000;
    format!("{:02}:{:02}:{:02}.{us:06}", day / 3600, (day / 60) % 60, day % 60)
}

/// tcpdump's flag letters in its table order (`F S R P . U E W`).
fn flags(f: TcpFlags) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (TcpFlags::FIN, 'F'),
        (TcpFlags::SYN, 'S'),
        (TcpFlags::RST, 'R'),
        (TcpFlags::PSH, 'P'),
        (TcpFlags::ACK, '.'),
    ] {
        if f.contains(bit) {
            s.push(c);
        }
    }
    if s.is_empty() { "none".to_string() } else { s }
}

impl Printer {
    fn port(&self, p: u16) -> String {
        match (self.opts.names, service_name(p)) {
            (Names::Resolve, Some(n)) => n.to_string(),
            _ => p.to_string(),
        }
    }

    fn line(&mut self, out: &mut String, c: &Captured) {
        out.push_str(&timestamp(self.opts.epoch_unix_secs, c.at));
        out.push(' ');
        if self.opts.any {
            let dir = match c.dir {
                TapDir::In => "In ",
                TapDir::Out => "Out",
            };
            let _ = write!(out, "{:<5} {dir} ", c.iface);
        }
        out.push_str("IP ");
        let pkt = &c.pkt;
        match &pkt.transport {
            Transport::Tcp { sport, dport, flags } => {
                let _ =
                    write!(out, "{}.{} > {}.{}: ", pkt.src, self.port(*sport), pkt.dst, self.port(*dport));
                self.tcp(out, c, *sport, *dport, *flags);
            }
            Transport::Udp { sport, dport } => {
                let _ =
                    write!(out, "{}.{} > {}.{}: ", pkt.src, self.port(*sport), pkt.dst, self.port(*dport));
                let dns = (*sport == 53 || *dport == 53).then(|| dns_summary(&pkt.payload.0)).flatten();
                match dns {
                    Some(s) => {
                        let _ = write!(out, "{s} ({})", pkt.payload.len());
                    }
                    None => {
                        let _ = write!(out, "UDP, length {}", pkt.payload.len());
                    }
                }
            }
            Transport::Sctp { sport, dport, chunk } => {
                let _ = write!(
                    out,
                    "{}.{} > {}.{}: sctp (1) [{}]",
                    pkt.src,
                    self.port(*sport),
                    pkt.dst,
                    self.port(*dport),
                    chunk.tcpdump_name()
                );
            }
            Transport::Icmp(m) => {
                let _ = write!(out, "{} > {}: ICMP ", pkt.src, pkt.dst);
                self.icmp(out, m, pkt);
            }
        }
    }

    fn icmp(&self, out: &mut String, m: &Icmp, pkt: &Packet) {
        let quoted = |o: &Packet| 8 + o.len().min(crate::wire::ICMP_ERROR_QUOTE_MAX);
        match m {
            Icmp::EchoRequest { id, seq } => {
                let _ = write!(out, "echo request, id {id}, seq {seq}, length {}", 8 + pkt.payload.len());
            }
            Icmp::EchoReply { id, seq } => {
                let _ = write!(out, "echo reply, id {id}, seq {seq}, length {}", 8 + pkt.payload.len());
            }
            Icmp::DestUnreachable { code, original } => {
                let d = original.dst;
                match (*code, original.transport.ports()) {
                    (unreach::PORT, Some((_, p))) => {
                        let _ = write!(out, "{d} {} port {} unreachable", original.protocol(), self.port(p));
                    }
                    (unreach::NET, _) => {
                        let _ = write!(out, "net {d} unreachable");
                    }
                    (unreach::HOST, _) => {
                        let _ = write!(out, "host {d} unreachable");
                    }
                    (unreach::PROTO, _) => {
                        let _ = write!(out, "{d} protocol {} unreachable", original.protocol().number());
                    }
                    (unreach::NET_PROHIBITED, _) => {
                        let _ = write!(out, "net {d} unreachable - admin prohibited");
                    }
                    (unreach::HOST_PROHIBITED, _) => {
                        let _ = write!(out, "host {d} unreachable - admin prohibited");
                    }
                    (unreach::ADMIN_PROHIBITED, _) => {
                        let _ = write!(out, "host {d} unreachable - admin prohibited filter");
                    }
                    (c, _) => {
                        let _ = write!(out, "{d} unreachable - #{c}");
                    }
                }
                let _ = write!(out, ", length {}", quoted(original));
            }
            Icmp::TimeExceeded { original } => {
                let _ = write!(out, "time exceeded in-transit, length {}", quoted(original));
            }
        }
    }

    fn tcp(&mut self, out: &mut String, c: &Captured, sport: u16, dport: u16, f: TcpFlags) {
        let pkt = &c.pkt;
        let (key, x) = oriented((pkt.src, sport), (pkt.dst, dport));
        let y = 1 - x;
        let syn = f.contains(TcpFlags::SYN);
        let ack_set = f.contains(TcpFlags::ACK);
        let rst = f.contains(TcpFlags::RST);
        let len = pkt.payload.len() as u32;
        let Some(TcpNumbers { seq, ack, win, tsval, ecr }) = c.tcp else { return };
        // tcpdump's relative numbers.
        let (shown_seq, shown_ack) = match self.shown.get(&key) {
            Some(base) if !syn => (seq.wrapping_sub(base[x]), ack.wrapping_sub(base[y])),
            _ => {
                if ack_set {
                    let mut base = [0u32; 2];
                    base[x] = seq;
                    base[y] = ack.wrapping_sub(1);
                    self.shown.insert(key, base);
                }
                (seq, ack)
            }
        };
        let _ = write!(out, "Flags [{}]", flags(f));
        if len > 0 || syn || rst || f.contains(TcpFlags::FIN) {
            let _ = write!(out, ", seq {shown_seq}");
            if len > 0 {
                let _ = write!(out, ":{}", shown_seq.wrapping_add(len));
            }
        }
        if ack_set {
            let _ = write!(out, ", ack {shown_ack}");
        }
        let _ = write!(out, ", win {win}");
        if syn {
            let _ = write!(out, ", options [mss 1460,sackOK,TS val {tsval} ecr {ecr},nop,wscale 7]");
        } else if !rst {
            let _ = write!(out, ", options [nop,nop,TS val {tsval} ecr {ecr}]");
        }
        let _ = write!(out, ", length {len}");
        if len > 0 && [80, 8080].iter().any(|p| *p == sport || *p == dport) {
            out.push_str(": HTTP");
            if let Some(first) = http_first_line(&pkt.payload.0) {
                let _ = write!(out, ": {first}");
            }
        }
    }
}

/// The request or status line tcpdump's HTTP printer shows.
fn http_first_line(payload: &[u8]) -> Option<String> {
    const METHODS: &[&str] = &[
        "GET",
        "PUT",
        "COPY",
        "HEAD",
        "LOCK",
        "MOVE",
        "POLL",
        "POST",
        "BCOPY",
        "BMOVE",
        "MKCOL",
        "TRACE",
        "LABEL",
        "MERGE",
        "DELETE",
        "SEARCH",
        "UNLOCK",
        "REPORT",
        "UPDATE",
        "NOTIFY",
        "BDELETE",
        "CONNECT",
        "OPTIONS",
        "CHECKIN",
        "PROPFIND",
        "CHECKOUT",
        "CCM_POST",
        "SUBSCRIBE",
        "PROPPATCH",
        "BPROPFIND",
        "BPROPPATCH",
        "UNCHECKOUT",
        "MKACTIVITY",
        "MKWORKSPACE",
        "UNSUBSCRIBE",
        "RPC_CONNECT",
        "VERSION-CONTROL",
        "BASELINE-CONTROL",
    ];
    let end = payload.iter().position(|b| *b == b'\r' || *b == b'\n')?;
    let line = std::str::from_utf8(payload.get(..end)?).ok()?;
    let word = line.split(' ').next()?;
    let is_request = METHODS.contains(&word) && line.len() > word.len();
    let is_response = word.starts_with("HTTP/");
    (is_request || is_response).then(|| line.to_string())
}

/// A bounds-checked reader of a DNS message for the one-line summary.
struct DnsReader<'a> {
    msg: &'a [u8],
}

impl DnsReader<'_> {
    fn u16_at(&self, at: usize) -> Option<u16> {
        Some(u16::from_be_bytes([*self.msg.get(at)?, *self.msg.get(at + 1)?]))
    }

    /// A name at `at` (with compression pointers) and where the name ends in the message.
    fn name(&self, at: usize) -> Option<(String, usize)> {
        let mut out = String::new();
        let mut pos = at;
        let mut end = None;
        for _ in 0..128 {
            let len = *self.msg.get(pos)? as usize;
            if len == 0 {
                if out.is_empty() {
                    out.push('.');
                }
                return Some((out, end.unwrap_or(pos + 1)));
            }
            if len & 0xc0 == 0xc0 {
                let target = ((len & 0x3f) << 8) | *self.msg.get(pos + 1)? as usize;
                end.get_or_insert(pos + 2);
                pos = target;
                continue;
            }
            let label = self.msg.get(pos + 1..pos + 1 + len)?;
            out.push_str(&String::from_utf8_lossy(label));
            out.push('.');
            pos += 1 + len;
        }
        None
    }
}

fn dns_type(t: u16) -> String {
    match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        41 => "OPT",
        65 => "HTTPS",
        255 => "ANY",
        257 => "CAA",
        other => return format!("Type{other}"),
    }
    .to_string()
}

/// `12345+ A? name.` for a query, `12345*- 1/0/0 A 10.96.0.1` for a response (without the
/// length, which the caller adds); `None` if the payload is not a DNS message.
fn dns_summary(msg: &[u8]) -> Option<String> {
    let r = DnsReader { msg };
    let id = r.u16_at(0)?;
    let flags = r.u16_at(2)?;
    let (qd, an, ns, ar) = (r.u16_at(4)?, r.u16_at(6)?, r.u16_at(8)?, r.u16_at(10)?);
    let qr = flags & 0x8000 != 0;
    let opcode = (flags >> 11) & 0xf;
    let ops = match opcode {
        0 => "",
        1 => " inv_q",
        2 => " stat",
        4 => " notify",
        5 => " update",
        _ => " op?",
    };
    let mut s = format!("{id}{ops}");
    let mut pos = 12;
    let mut question = None;
    if qd > 0 {
        let (name, end) = r.name(pos)?;
        let t = r.u16_at(end)?;
        question = Some(format!(" {}? {name}", dns_type(t)));
        pos = end + 4;
        for _ in 1..qd {
            let (_, end) = r.name(pos)?;
            pos = end + 4;
        }
    }
    if !qr {
        if flags & 0x0100 != 0 {
            s.push('+');
        }
        if flags & 0x0010 != 0 {
            s.push('%');
        }
        if qd != 1 {
            let _ = write!(s, " [{qd}q]");
        }
        if an > 0 {
            let _ = write!(s, " [{an}a]");
        }
        if ns > 0 {
            let _ = write!(s, " [{ns}n]");
        }
        if ar > 0 {
            let _ = write!(s, " [{ar}au]");
        }
        s.push_str(&question.unwrap_or_default());
        return Some(s);
    }
    let rcode = match flags & 0xf {
        0 => "",
        1 => " FormErr",
        2 => " ServFail",
        3 => " NXDomain",
        4 => " NotImp",
        5 => " Refused",
        _ => " Resp?",
    };
    s.push_str(rcode);
    if flags & 0x0400 != 0 {
        s.push('*');
    }
    if flags & 0x0080 == 0 {
        s.push('-');
    }
    if flags & 0x0200 != 0 {
        s.push('|');
    }
    if flags & 0x0020 != 0 {
        s.push('$');
    }
    if qd != 1 {
        let _ = write!(s, " [{qd}q]");
    }
    let _ = write!(s, " {an}/{ns}/{ar}");
    for i in 0..an {
        let (_, end) = r.name(pos)?;
        let t = r.u16_at(end)?;
        let rdlen = r.u16_at(end + 8)? as usize;
        let rdata = end + 10;
        let data = msg.get(rdata..rdata + rdlen)?;
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, " {}", dns_type(t));
        match t {
            1 if rdlen == 4 => {
                let _ = write!(s, " {}", Ipv4Addr::new(data[0], data[1], data[2], data[3]));
            }
            28 if rdlen == 16 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(data);
                let _ = write!(s, " {}", std::net::Ipv6Addr::from(o));
            }
            2 | 5 | 12 => {
                let (n, _) = r.name(rdata)?;
                let _ = write!(s, " {n}");
            }
            33 if rdlen >= 6 => {
                let (n, _) = r.name(rdata + 6)?;
                let (prio, weight, port) = (r.u16_at(rdata)?, r.u16_at(rdata + 2)?, r.u16_at(rdata + 4)?);
                let _ = write!(s, " {n}:{port} {prio} {weight}");
            }
            _ => {}
        }
        pos = rdata + rdlen;
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::ConvId;
    use crate::wire::Payload;
    use sim_core::SimRng;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    fn at(us: u64) -> SimTime {
        SimTime::from_nanos(us * 1000)
    }

    fn cap(us: u64, pkt: Packet) -> Captured {
        Captured {
            at: at(us),
            iface: "veth-a".into(),
            dir: TapDir::Out,
            pkt,
            conv: Some(ConvId(3)),
            tcp: None,
        }
    }

    /// Every packet through one capture point's TCP model.
    fn numbered(mut c: Vec<Captured>) -> Vec<Captured> {
        let rng = SimRng::new(7);
        let mut model = super::super::tcp::TcpModel::default();
        for p in &mut c {
            p.tcp = model.segment(&rng, p.at, &p.pkt, p.conv);
        }
        c
    }

    fn opts() -> PrintOptions {
        PrintOptions { names: Names::Numeric, any: false, epoch_unix_secs: 1_704_067_200 }
    }

    /// The shape of a line: digits replaced, so derived numbers compare with the real ones.
    fn shape(line: &str) -> String {
        let mut out = String::new();
        let mut last_digit = false;
        for c in line.chars() {
            if c.is_ascii_digit() {
                if !last_digit {
                    out.push('N');
                }
                last_digit = true;
            } else {
                out.push(c);
                last_digit = false;
            }
        }
        out
    }

    fn real(file: &str) -> Vec<String> {
        let path = format!("{}/../tests/data/real-tools/tcpdump/{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_string).collect()
    }

    /// The real capture's conversation, made of model packets.
    fn conversation() -> Vec<Captured> {
        let (c, s) = (a("10.0.0.1"), a("10.0.0.2"));
        let req = Payload::from_bytes(
            b"GET / HTTP/1.1\r\nHost: 10.0.0.2\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
        );
        let resp = b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\nDate: Fri, 04 Dec 2026 17:49:14 GMT\r\nContent-type: text/html\r\nContent-Length: 6\r\nLast-Modified: Fri, 04 Dec 2026 17:48:58 GMT\r\n\r\n";
        let pa = TcpFlags::PSH.with(TcpFlags::ACK);
        let fa = TcpFlags::FIN.with(TcpFlags::ACK);
        let sa = TcpFlags::SYN.with(TcpFlags::ACK);
        let ack = TcpFlags::ACK;
        let mut dns_q = vec![0x30, 0x39, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in ["kubernetes", "default", "svc", "cluster", "local"] {
            dns_q.push(l.len() as u8);
            dns_q.extend_from_slice(l.as_bytes());
        }
        dns_q.extend_from_slice(&[0, 0, 1, 0, 1]);
        let mut dns_r = dns_q.clone();
        dns_r[2] = 0x85;
        dns_r[3] = 0x80;
        dns_r[7] = 1;
        dns_r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 96, 0, 1]);
        let udp = Packet::udp(c, 54420, s, 9999).with_payload(Payload::from_bytes(b"hi\n"));
        numbered(vec![
            cap(0, Packet::tcp(c, 38500, s, 80, TcpFlags::SYN)),
            cap(27, Packet::tcp(s, 80, c, 38500, sa)),
            cap(40, Packet::tcp(c, 38500, s, 80, ack)),
            cap(142, Packet::tcp(c, 38500, s, 80, pa).with_payload(req)),
            cap(146, Packet::tcp(s, 80, c, 38500, ack)),
            cap(6804, Packet::tcp(s, 80, c, 38500, pa).with_payload(Payload::from_bytes(&resp[..184]))),
            cap(6825, Packet::tcp(c, 38500, s, 80, ack)),
            cap(6865, Packet::tcp(s, 80, c, 38500, pa).with_payload(Payload::from_bytes(b"hello\n"))),
            cap(6867, Packet::tcp(c, 38500, s, 80, ack)),
            cap(6904, Packet::tcp(s, 80, c, 38500, fa)),
            cap(7192, Packet::tcp(c, 38500, s, 80, fa)),
            cap(7204, Packet::tcp(s, 80, c, 38500, ack)),
            cap(
                9000,
                Packet::icmp(c, s, Icmp::EchoRequest { id: 9567, seq: 1 })
                    .with_payload(Payload::from_bytes(&[0; 56])),
            ),
            cap(
                9100,
                Packet::icmp(s, c, Icmp::EchoReply { id: 9567, seq: 1 })
                    .with_payload(Payload::from_bytes(&[0; 56])),
            ),
            cap(10000, Packet::udp(c, 45344, s, 53).with_payload(Payload::from_bytes(&dns_q))),
            cap(10100, Packet::udp(s, 53, c, 45344).with_payload(Payload::from_bytes(&dns_r))),
            cap(11000, udp.clone()),
            cap(
                11100,
                Packet::icmp(s, c, Icmp::DestUnreachable { code: unreach::PORT, original: Box::new(udp) }),
            ),
            cap(12000, Packet::tcp(c, 40468, s, 81, TcpFlags::SYN)),
            cap(12100, Packet::tcp(s, 81, c, 40468, TcpFlags::RST.with(TcpFlags::ACK))),
        ])
    }

    #[test]
    fn lines_have_the_real_shapes() {
        let ours = print_lines(&conversation(), &opts());
        let want: Vec<String> = real("veth-n.stdout")
            .into_iter()
            .filter(|l| !l.is_empty() && !l.contains("AAAA") && !l.contains("0/0/0") && !l.contains("seq 2,"))
            .filter(|l| {
                !l.contains("echo request, id 9567, seq 2") && !l.contains("echo reply, id 9567, seq 2")
            })
            .map(|l| shape(&l.replace("wscale 10", "wscale 7")))
            .collect();
        let got: Vec<String> = ours.lines().map(shape).collect();
        assert_eq!(got, want);
        // Relative numbers as tcpdump computes them.
        let lines: Vec<&str> = ours.lines().collect();
        assert!(
            lines[2].ends_with("Flags [.], ack 1, win 502, options [nop,nop,TS val ")
                || lines[2].contains("ack 1, win 502")
        );
        assert!(lines[3].contains("Flags [P.], seq 1:73, ack 1, win 502"), "{}", lines[3]);
        assert!(lines[3].ends_with("length 72: HTTP: GET / HTTP/1.1"));
        assert!(lines[7].contains("seq 185:191, ack 73") && lines[7].ends_with("length 6: HTTP"));
        assert!(lines[9].contains("Flags [F.], seq 191, ack 73"));
        assert!(lines[11].contains("Flags [.], ack 74,"));
        assert!(lines[19].contains("Flags [R.], seq 0, ack ") && lines[19].ends_with("win 0, length 0"));
        assert_eq!(&lines[12][..16], "00:00:00.009000 ");
        assert!(lines[15].ends_with("IP 10.0.0.2.53 > 10.0.0.1.45344: 12345* 1/0/0 A 10.96.0.1 (70)"));
        assert!(lines[17].ends_with("ICMP 10.0.0.2 udp port 9999 unreachable, length 39"));
        // The SYN-ACK acknowledges the SYN's sequence number + 1 and echoes its timestamp.
        let num = |l: &str, key: &str| -> u64 {
            l.split(key)
                .nth(1)
                .and_then(|r| r.split([',', ' ']).next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        assert_eq!(num(lines[1], "ack "), num(lines[0], "seq ") + 1);
        assert_eq!(num(lines[1], "ecr "), num(lines[0], "TS val "));
        assert_eq!(num(lines[19], "ack "), num(lines[18], "seq ") + 1);
    }

    #[test]
    fn any_names_and_banner() {
        let mut c = conversation();
        c[1].dir = TapDir::In;
        let o = PrintOptions { any: true, names: Names::Resolve, ..opts() };
        let out = print_lines(&c[..2], &o);
        let want: Vec<String> = real("any-n.stdout").iter().take(2).map(|l| shape(l)).collect();
        let got: Vec<String> = out
            .lines()
            .map(|l| {
                shape(&l.replace(".http ", ".80 ").replace(".http:", ".80:").replace("wscale 7", "wscale 10"))
            })
            .collect();
        assert_eq!(got, want);
        let lo = Captured { iface: "lo".into(), dir: TapDir::In, ..c[12].clone() };
        let line = print_lines(&[lo], &o);
        assert!(
            line.starts_with("00:00:00.009000 lo    In  IP 10.0.0.1 > 10.0.0.2: ICMP echo request"),
            "{line}"
        );
        assert_eq!(banner(&CaptureIface::Any), real("any-n.stderr")[..3].join("\n") + "\n");
        assert_eq!(
            banner(&CaptureIface::Named("veth-a".into())),
            real("veth-n.stderr")[..2].join("\n") + "\n"
        );
        let mut cap = Capture::new(super::super::CaptureSpec {
            host: crate::iface::HostId(0),
            iface: CaptureIface::Named("veth-a".into()),
            filter: super::super::Filter::All,
            count: None,
            until: None,
            promiscuous: true,
        });
        cap.packets = c[..2].to_vec();
        cap.received = 2;
        assert_eq!(statistics(&cap), real("c2.stderr")[2..].join("\n") + "\n");
    }

    #[test]
    fn port_names_without_n() {
        let o = PrintOptions { names: Names::Resolve, ..opts() };
        let ours = print_lines(&conversation(), &o);
        let real_lines = real("veth-noN.stdout");
        let shape_of =
            |needle: &str, lines: &[&str]| lines.iter().find(|l| l.contains(needle)).map(|l| shape(l));
        let ours: Vec<&str> = ours.lines().collect();
        let theirs: Vec<String> = real_lines.iter().map(|l| l.replace("wscale 10", "wscale 7")).collect();
        let theirs: Vec<&str> = theirs.iter().map(String::as_str).collect();
        for needle in ["Flags [S],", "Flags [S.]", "HTTP: GET", ".domain: ", "A 10.96.0.1", "udp port 9999"] {
            assert_eq!(shape_of(needle, &ours), shape_of(needle, &theirs), "{needle}");
        }
        assert!(ours[0].contains(" > 10.0.0.2.http: Flags [S]"));
    }

    #[test]
    fn dns_summaries() {
        let mut q = vec![0x04, 0xd2, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 28, 0, 1];
        assert_eq!(dns_summary(&q).as_deref(), Some("1234+ [1au] AAAA? ."));
        q[2] = 0x85;
        q[3] = 0x03;
        assert_eq!(dns_summary(&q).as_deref(), Some("1234 NXDomain*- 0/0/1"));
        assert_eq!(dns_summary(&[1, 2, 3]), None);
    }
}
