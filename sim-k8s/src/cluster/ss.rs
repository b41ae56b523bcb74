//! iproute2 `ss` (6.x) on a node or an external host: the namespace's sockets
//! ([`sim_net::network::Network::socket_table`]) in ss's columns.
//!
//! Options: `-t`, `-u` (`--tcp`, `--udp`; neither = both, with the `Netid` column), `-l`
//! (listening and unconnected sockets only), `-a` (all), `-n` (numeric ports; without it ports
//! outside the ephemeral range are named from Debian's `/etc/services`, as ss's
//! `resolve_service` does), `-H` (no header), `-4`, `-6` (no IPv6 sockets exist in the model),
//! `-s` (the summary, [`summary`]). Without `-l`/`-a` only connected sockets are shown (ss's
//! default state filter). Options ss has but netsim does not simulate (`-p`, `-e`, `-o`, `-i`,
//! `-m`, `-r`, `-x`, state and address filters ...) are refused by name.
//!
//! The layout is ss's `render()` for output that is not a terminal (the simulation's output
//! is a transcript): each column as wide as its longest field plus its one-space left
//! delimiter, addresses right-aligned against their `:`, no spreading to a screen width.
//! Checked against iproute2 6.1: `tests/data/real-tools/ss/`.

use std::net::SocketAddrV4;

use sim_net::socket::{SockProto, SocketEntry, SocketState};

use super::command::CommandError;

/// A parsed `ss` command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SsArgs {
    /// `-t`.
    pub tcp: bool,
    /// `-u`.
    pub udp: bool,
    /// `-l`.
    pub listening: bool,
    /// `-a`.
    pub all: bool,
    /// `-n`.
    pub numeric: bool,
    /// `-H`.
    pub no_header: bool,
    /// `-6`: IPv6 sockets only.
    pub ipv6_only: bool,
    /// `-4` (the model's sockets are all IPv4; recorded because it selects a listing).
    pub ipv4: bool,
    /// `-s`: the summary first.
    pub summary: bool,
}

impl SsArgs {
    /// Whether a listing follows the summary: ss exits after it unless an option chose
    /// socket tables or a family (`-t`, `-u`, `-4`, `-6` clear its `do_default`; `-l`, `-a`,
    /// `-n` and `-H` do not).
    pub fn lists(&self) -> bool {
        !self.summary || self.tcp || self.udp || self.ipv4 || self.ipv6_only
    }
}

fn invalid(what: String) -> CommandError {
    CommandError {
        message: format!("{what}\nUsage: ss [ OPTIONS ]\n       ss [ OPTIONS ] [ FILTER ]"),
        exit_code: 255,
    }
}

fn not_simulated(what: &str) -> CommandError {
    CommandError {
        message: format!(
            "ss: netsim does not simulate {what} (simulated: -t -u -l -a -n -H -4 -6 -s and their long forms)"
        ),
        exit_code: 1,
    }
}

/// Parses ss's arguments (without the program name).
pub fn parse_ss(args: &[String]) -> Result<SsArgs, CommandError> {
    let mut a = SsArgs::default();
    for arg in args {
        if let Some(long) = arg.strip_prefix("--") {
            match long {
                "tcp" => a.tcp = true,
                "udp" => a.udp = true,
                "listening" => a.listening = true,
                "all" => a.all = true,
                "numeric" => a.numeric = true,
                "no-header" => a.no_header = true,
                "ipv4" => a.ipv4 = true,
                "ipv6" => a.ipv6_only = true,
                "summary" => a.summary = true,
                "processes" | "extended" | "options" | "info" | "memory" | "resolve" | "unix" | "raw"
                | "sctp" | "kill" | "oneline" | "family" | "query" | "socket" | "events" | "threads"
                | "net" => return Err(not_simulated(&format!("--{long}"))),
                _ => return Err(invalid(format!("ss: unrecognized option '{arg}'"))),
            }
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            for c in short.chars() {
                match c {
                    't' => a.tcp = true,
                    'u' => a.udp = true,
                    'l' => a.listening = true,
                    'a' => a.all = true,
                    'n' => a.numeric = true,
                    'H' => a.no_header = true,
                    '4' => a.ipv4 = true,
                    '6' => a.ipv6_only = true,
                    's' => a.summary = true,
                    'p' | 'e' | 'o' | 'i' | 'm' | 'r' | 'x' | 'w' | 'S' | 'M' | 'd' | '0' | 'K' | 'O'
                    | 'E' | 'T' | 'b' | 'Z' | 'z' | 'N' | 'f' | 'A' | 'D' | 'F' => {
                        return Err(not_simulated(&format!("-{c}")));
                    }
                    'h' | 'V' => return Err(not_simulated(&format!("-{c}"))),
                    other => return Err(invalid(format!("ss: invalid option -- '{other}'"))),
                }
            }
        } else {
            return Err(not_simulated(&format!("filters (`{arg}`)")));
        }
    }
    Ok(a)
}

/// Debian netbase's `/etc/services` names for the ports a cluster uses (tcp, udp).
const SERVICES: &[(u16, Option<&str>, Option<&str>)] = &[
    (22, Some("ssh"), None),
    (25, Some("smtp"), None),
    (53, Some("domain"), Some("domain")),
    (80, Some("http"), None),
    (110, Some("pop3"), None),
    (123, None, Some("ntp")),
    (443, Some("https"), Some("https")),
    (3306, Some("mysql"), None),
    (5432, Some("postgresql"), None),
    (6379, Some("redis"), None),
    (8080, Some("http-alt"), None),
];

/// The ephemeral port range (`net.ipv4.ip_local_port_range`); ss does not name these ports.
const EPHEMERAL: std::ops::RangeInclusive<u16> = 32768..=60999;

fn service(port: u16, proto: SockProto, numeric: bool) -> String {
    if port == 0 {
        return "*".to_string();
    }
    if !numeric && !EPHEMERAL.contains(&port) {
        let name = SERVICES.iter().find(|(p, _, _)| *p == port).and_then(|(_, t, u)| match proto {
            SockProto::Udp => *u,
            _ => *t,
        });
        if let Some(n) = name {
            return n.to_string();
        }
    }
    port.to_string()
}

/// Column alignment in ss's renderer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// ss's columns from Netid to Process: header, left delimiter, alignment.
const COLUMNS: [(&str, &str, Align); 9] = [
    ("Netid", "", Align::Left),
    ("State", " ", Align::Left),
    ("Recv-Q", " ", Align::Left),
    ("Send-Q", " ", Align::Left),
    ("Local Address:", " ", Align::Right),
    ("Port", "", Align::Left),
    ("Peer Address:", " ", Align::Right),
    ("Port", "", Align::Left),
    ("Process", "", Align::Left),
];

fn addr_field(a: &SocketAddrV4) -> String {
    format!("{}:", a.ip())
}

/// The kernel-wide TCP counters of `/proc/net/sockstat`: a namespace shares them with every
/// namespace of its kernel (a node and its pods), unlike the per-namespace `inuse` and `tw`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelTcp {
    /// `alloc`: TCP sockets allocated (`tcp_sockets_allocated`), orphans included; request
    /// sockets (SYN-RECV) and TIME-WAIT sockets are not full sockets and do not count.
    pub alloc: usize,
    /// `orphan`: TCP sockets their process has closed, still finishing (`tcp_orphan_count`).
    pub orphans: usize,
}

impl KernelTcp {
    /// Adds one namespace's sockets.
    pub fn add(&mut self, sockets: &[SocketEntry]) {
        for s in sockets.iter().filter(|s| s.proto == SockProto::Tcp) {
            if is_full_socket(s.state) {
                self.alloc += 1;
            }
            if is_orphan(s.state) {
                self.orphans += 1;
            }
        }
    }
}

/// A full TCP socket: not a request socket (SYN-RECV) and not a timewait socket.
fn is_full_socket(s: SocketState) -> bool {
    !matches!(s, SocketState::SynRecv | SocketState::TimeWait)
}

/// The model's applications close a connection when they are done with it, so a socket
/// past its FIN (FIN-WAIT-1 on the side closing first, LAST-ACK on the other) has no file.
fn is_orphan(s: SocketState) -> bool {
    matches!(s, SocketState::FinWait1 | SocketState::LastAck)
}

/// `ss -s`: `print_summary` of iproute2 6.1's misc/ss.c over the namespace's
/// `/proc/net/sockstat` (`sockets: used`, TCP `inuse`/`tw`, UDP `inuse`; RAW and FRAG are 0
/// in the model, no IPv6 sockets exist) and the kernel-wide TCP `alloc` and `orphan`. `Total`
/// counts the namespace's sockets that have a file (`sock_inuse`): not request, timewait or
/// orphaned sockets. The TCP line is `alloc + tw (estab CurrEstab, closed alloc − (inuse −
/// tw), orphaned, timewait tw)`, as ss computes it.
pub fn summary(sockets: &[SocketEntry], kernel: KernelTcp) -> String {
    let total = sockets.iter().filter(|s| is_full_socket(s.state) && !is_orphan(s.state)).count();
    let tcp = || sockets.iter().filter(|s| s.proto == SockProto::Tcp);
    let hashed = tcp().filter(|s| is_full_socket(s.state)).count();
    let tws = tcp().filter(|s| s.state == SocketState::TimeWait).count();
    let estab = tcp().filter(|s| s.state == SocketState::Established).count();
    let udp = sockets.iter().filter(|s| s.proto == SockProto::Udp).count();
    let closed = kernel.alloc as i64 - (hashed as i64 - tws as i64);
    let mut out = format!("Total: {total}\n");
    out.push_str(&format!(
        "TCP:   {} (estab {estab}, closed {closed}, orphaned {}, timewait {tws})\n\n",
        kernel.alloc + tws,
        kernel.orphans
    ));
    out.push_str("Transport Total     IP        IPv6\n");
    for (name, v4) in [("RAW", 0), ("UDP", udp), ("TCP", hashed), ("INET", udp + hashed), ("FRAG", 0)] {
        out.push_str(&format!("{name}\t  {v4:<9} {v4:<9} {:<9}\n", 0));
    }
    out.push('\n');
    out
}

/// What `ss ARGS` prints for these sockets, the summary first with `-s`.
pub fn render_with_summary(args: &SsArgs, sockets: &[SocketEntry], kernel: KernelTcp) -> String {
    let mut out = if args.summary { summary(sockets, kernel) } else { String::new() };
    if args.lists() {
        out.push_str(&render(args, sockets));
    }
    out
}

/// What `ss ARGS` prints for these sockets.
pub fn render(args: &SsArgs, sockets: &[SocketEntry]) -> String {
    let (tcp, udp) = if args.tcp || args.udp { (args.tcp, args.udp) } else { (true, true) };
    let show_netid = tcp && udp;
    let wanted_state = |s: SocketState| {
        if args.all {
            true
        } else if args.listening {
            matches!(s, SocketState::Listen | SocketState::Close)
        } else {
            !matches!(s, SocketState::Listen | SocketState::Close)
        }
    };
    // ss dumps UDP before TCP (udp_show, then tcp_show).
    let mut rows: Vec<[String; 9]> = Vec::new();
    if !args.ipv6_only {
        for proto in [SockProto::Udp, SockProto::Tcp] {
            let on = match proto {
                SockProto::Udp => udp,
                _ => tcp,
            };
            if !on {
                continue;
            }
            for s in sockets.iter().filter(|s| s.proto == proto && wanted_state(s.state)) {
                rows.push([
                    proto.to_string(),
                    s.state.ss_name().to_string(),
                    format!("{:<6}", s.recv_q),
                    format!("{:<6}", s.send_q),
                    addr_field(&s.local),
                    service(s.local.port(), proto, args.numeric),
                    addr_field(&s.peer),
                    service(s.peer.port(), proto, args.numeric),
                    String::new(),
                ]);
            }
        }
    }
    // ss drops the State column when its state filter holds one state: UDP's default (ESTAB).
    let show_state = !(udp && !tcp && !args.all && !args.listening);
    let enabled: Vec<usize> =
        (0..COLUMNS.len()).filter(|&i| (i != 0 || show_netid) && (i != 1 || show_state)).collect();
    let mut lines: Vec<Vec<String>> = Vec::new();
    if !args.no_header {
        lines.push(enabled.iter().map(|&i| COLUMNS[i].0.to_string()).collect());
    }
    for r in &rows {
        lines.push(enabled.iter().map(|&i| r[i].clone()).collect());
    }
    // render_calc_width: the longest field, plus the left delimiter but for the first column.
    let mut widths = Vec::with_capacity(enabled.len());
    let mut first = true;
    for (k, &i) in enabled.iter().enumerate() {
        let max_len = lines.iter().map(|l| l[k].len()).max().unwrap_or(0);
        let w = if !first && max_len > 0 { max_len + COLUMNS[i].1.len() } else { max_len };
        if w > 0 {
            first = false;
        }
        widths.push(w);
    }
    let mut out = String::new();
    for line in &lines {
        for (k, &i) in enabled.iter().enumerate() {
            let (_, delim, align) = COLUMNS[i];
            let field = &line[k];
            let mut printed = 0;
            if k > 0 {
                out.push_str(delim);
                printed = delim.len();
            }
            let w = widths[k];
            if w > 0 && align == Align::Right {
                let s = w.saturating_sub(field.len() + printed);
                out.push_str(&" ".repeat(s));
                printed += s;
            }
            out.push_str(field);
            printed += field.len();
            if w > 0 && align == Align::Left {
                out.push_str(&" ".repeat(w.saturating_sub(printed)));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::socket_fixtures::{entry, real};

    /// The sockets of the reference namespaces (see tests/data/real-tools/ss/README.md), with
    /// the listeners' backlog 1 of `nc -l`.
    fn server() -> Vec<SocketEntry> {
        vec![
            entry(SockProto::Tcp, SocketState::Listen, "10.99.0.1:8080", "0.0.0.0:0", 1),
            entry(SockProto::Tcp, SocketState::Listen, "0.0.0.0:80", "0.0.0.0:0", 1),
            entry(SockProto::Tcp, SocketState::Established, "10.99.0.1:80", "10.99.0.2:36646", 0),
            entry(SockProto::Udp, SocketState::Close, "0.0.0.0:53", "0.0.0.0:0", 0),
        ]
    }

    fn ss(line: &str, sockets: &[SocketEntry]) -> String {
        let words: Vec<String> = line.split_whitespace().skip(1).map(String::from).collect();
        render(&parse_ss(&words).unwrap(), sockets)
    }

    #[test]
    fn layouts_match_iproute2_6_1() {
        let s = server();
        assert_eq!(ss("ss -tn", &s), real("server-tn.stdout"));
        assert_eq!(ss("ss -tln", &s), real("server-tln.stdout"));
        assert_eq!(ss("ss -tan", &s), real("server-tan.stdout"));
        assert_eq!(ss("ss -uan", &s), real("server-uan.stdout"));
        assert_eq!(ss("ss -tuan", &s), real("server-tuan.stdout"));
        assert_eq!(ss("ss -tl", &s), real("server-tl.stdout"));
        assert_eq!(ss("ss -tnH", &s), real("server-tnH.stdout"));
        let c = vec![
            entry(SockProto::Tcp, SocketState::Established, "10.99.0.2:36646", "10.99.0.1:80", 0),
            entry(SockProto::Udp, SocketState::Established, "10.99.0.2:50591", "10.99.0.1:53", 0),
        ];
        assert_eq!(ss("ss -tan", &c), real("client-tan.stdout"));
        assert_eq!(ss("ss -uan", &c), real("client-uan.stdout"));
        let udp = vec![entry(SockProto::Udp, SocketState::Established, "127.0.0.1:52379", "127.0.0.1:53", 0)];
        assert_eq!(ss("ss -un", &udp), real("udp-connected-un.stdout"));
        let syn = vec![
            entry(SockProto::Tcp, SocketState::SynSent, "10.99.0.2:50882", "10.99.0.3:81", 1),
            entry(SockProto::Tcp, SocketState::Established, "10.99.0.2:36646", "10.99.0.1:80", 0),
        ];
        assert_eq!(ss("ss -tan", &syn), real("client-syn-sent-tan.stdout"));
    }

    #[test]
    fn summary_matches_iproute2_6_1() {
        let s = server();
        // The kernel's alloc: the machine's own namespace held one TCP socket.
        let kernel = KernelTcp { alloc: 5, orphans: 0 };
        assert_eq!(ss_s("ss -s", &s, kernel), real("server-s.stdout"));
        let c = vec![
            entry(SockProto::Tcp, SocketState::Established, "10.99.0.2:36646", "10.99.0.1:80", 0),
            entry(SockProto::Udp, SocketState::Established, "10.99.0.2:50591", "10.99.0.1:53", 0),
        ];
        assert_eq!(ss_s("ss -s", &c, kernel), real("client-s.stdout"));
        let mut tw = c.clone();
        tw.push(entry(SockProto::Tcp, SocketState::TimeWait, "10.99.0.2:41234", "10.99.0.1:81", 0));
        let kernel = KernelTcp { alloc: 6, orphans: 0 };
        assert_eq!(ss_s("ss -s", &tw, kernel), real("client-time-wait-s.stdout"));
        let kernel = KernelTcp { alloc: 1, orphans: 0 };
        assert_eq!(ss_s("ss -s -tan", &[], kernel), real("empty-s-tan.stdout"));
        // -l, -a, -n, -H select no table: the summary alone.
        assert_eq!(ss_s("ss -s -an", &[], kernel), ss_s("ss -s", &[], kernel));
    }

    #[test]
    fn kernel_counts_full_sockets_and_orphans() {
        let mut k = KernelTcp::default();
        k.add(&[
            entry(SockProto::Tcp, SocketState::Listen, "0.0.0.0:80", "0.0.0.0:0", 511),
            entry(SockProto::Tcp, SocketState::SynRecv, "10.0.0.1:80", "10.0.0.2:40000", 0),
            entry(SockProto::Tcp, SocketState::FinWait1, "10.0.0.1:80", "10.0.0.2:40001", 1),
            entry(SockProto::Tcp, SocketState::TimeWait, "10.0.0.1:80", "10.0.0.2:40002", 0),
            entry(SockProto::Udp, SocketState::Close, "0.0.0.0:53", "0.0.0.0:0", 0),
        ]);
        assert_eq!(k, KernelTcp { alloc: 2, orphans: 1 });
    }

    fn ss_s(line: &str, sockets: &[SocketEntry], kernel: KernelTcp) -> String {
        let words: Vec<String> = line.split_whitespace().skip(1).map(String::from).collect();
        render_with_summary(&parse_ss(&words).unwrap(), sockets, kernel)
    }

    #[test]
    fn options_are_parsed_or_refused_by_name() {
        let e = parse_ss(&["-Q".to_string()]).unwrap_err();
        assert_eq!(e.exit_code, 255);
        assert_eq!(e.message.lines().next(), real("bad-option.stderr").lines().next());
        let e = parse_ss(&["-tnp".to_string()]).unwrap_err();
        assert!(e.message.contains("-p"), "{}", e.message);
        assert!(parse_ss(&["-tn".to_string(), "dport".to_string()]).is_err());
        assert!(parse_ss(&["--tcp".to_string(), "--listening".to_string()]).unwrap().listening);
    }
}
