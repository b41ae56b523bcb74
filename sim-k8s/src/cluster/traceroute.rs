//! `traceroute` through the simulated network: UDP probes with TTL 1, 2, 3 ..., three per hop,
//! each a datagram to port 33434 and up. A router whose forwarding finds TTL <= 1 answers with
//! ICMP time exceeded (sim-net's `ip_forward` semantics); the destination answers the probe with
//! port unreachable, which ends the trace. Every probe is real traffic through the node's rules:
//! a probe to a ClusterIP port is DNATed like any datagram, and the ICMP errors about it are
//! un-NATed by conntrack on the way back. Times are the simulated round trips.
//!
//! Formats: busybox traceroute in pods with a busybox-based image (`46 byte packets`,
//! `  *`), the traceroute package ("Modern traceroute for Linux" 2.1) on nodes and external hosts
//! (`60 byte packets`, ` *`). Options: `-n`, `-m MAX_TTL`, `-q NQUERIES`, `-w SECS`,
//! `-p PORT`, `-f FIRST_TTL`; on nodes also `-U` (every probe to port 53). The probes are
//! sent one after the other (the traceroute package sends up to 16 at once). Without `-n`
//! hop names are not looked up: each hop prints as an unresolved address (`ip (ip)`) and
//! stderr says so. Checked against both tools: `tests/data/real-tools/traceroute/`.

use std::net::{Ipv4Addr, SocketAddrV4};

use sim_core::SimDuration;
use sim_net::iface::HostId;
use sim_net::network::{ConvProto, ConversationSpec, NetEvent, Outcome};

use super::command::CommandError;
use super::exec::ExecOutput;
use super::facade::{Cluster, Target};
use super::world::ClusterEvent;

/// The first destination port of the probes (both tools).
pub const BASE_PORT: u16 = 33434;

/// Which traceroute prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// busybox's applet (pods).
    Busybox,
    /// The traceroute package, 2.1 (nodes and hosts).
    Modern,
}

/// A parsed `traceroute` command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracerouteArgs {
    /// The destination as typed.
    pub host: String,
    /// `-n`.
    pub numeric: bool,
    /// `-m` (30).
    pub max_ttl: u8,
    /// `-f` (1).
    pub first_ttl: u8,
    /// `-q` (3).
    pub queries: u32,
    /// `-w` in seconds (busybox 3, the traceroute package 5).
    pub wait: Option<u64>,
    /// `-p`: the first destination port.
    pub port: Option<u16>,
    /// `-U`: every probe to `port` (53 by default), the traceroute package only.
    pub fixed_port: bool,
}

fn bad(message: impl Into<String>, exit_code: i32) -> CommandError {
    CommandError { message: message.into(), exit_code }
}

/// Parses traceroute's arguments (without the program name); both tools share these options.
pub fn parse_traceroute(args: &[String]) -> Result<TracerouteArgs, CommandError> {
    let mut a = TracerouteArgs {
        host: String::new(),
        numeric: false,
        max_ttl: 30,
        first_ttl: 1,
        queries: 3,
        wait: None,
        port: None,
        fixed_port: false,
    };
    let mut host = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let Some(opts) = arg.strip_prefix('-').filter(|s| !s.is_empty()) else {
            if host.is_some() {
                return Err(bad(
                    format!("traceroute: netsim does not simulate a packet length argument (`{arg}`)"),
                    2,
                ));
            }
            host = Some(arg.clone());
            continue;
        };
        for (i, c) in opts.char_indices() {
            let mut value = |name: char| -> Result<String, CommandError> {
                let rest = &opts[i + c.len_utf8()..];
                if !rest.is_empty() {
                    return Ok(rest.to_string());
                }
                it.next()
                    .cloned()
                    .ok_or_else(|| bad(format!("traceroute: option requires an argument -- '{name}'"), 2))
            };
            let number = |v: String, what: &str, lo: u64, hi: u64| -> Result<u64, CommandError> {
                v.parse::<u64>()
                    .ok()
                    .filter(|n| (lo..=hi).contains(n))
                    .ok_or_else(|| bad(format!("traceroute: invalid {what} '{v}'"), 2))
            };
            match c {
                'n' => a.numeric = true,
                'U' => a.fixed_port = true,
                'm' | 'q' | 'w' | 'p' | 'f' => {
                    let v = value(c)?;
                    match c {
                        'm' => a.max_ttl = number(v, "max hops", 1, 255)? as u8,
                        'q' => a.queries = number(v, "nprobes", 1, 10)? as u32,
                        'w' => a.wait = Some(number(v, "wait", 0, 86400)?),
                        'p' => a.port = Some(number(v, "port", 1, 65535)? as u16),
                        _ => a.first_ttl = number(v, "first ttl", 1, 255)? as u8,
                    }
                    break;
                }
                'I' | 'T' | 'M' | 'N' | 'F' | 'i' | 's' | 't' | 'g' | 'z' | 'A' | 'e' | 'r' | 'd' | 'l'
                | 'v' | '4' | '6' | 'V' => {
                    return Err(bad(
                        format!(
                            "traceroute: netsim does not simulate -{c} (simulated: -n -m -q -w -p -f, and -U on nodes)"
                        ),
                        2,
                    ));
                }
                other => return Err(bad(format!("traceroute: invalid option -- '{other}'"), 2)),
            }
        }
    }
    a.host = host.ok_or_else(|| bad("Specify \"host\" missing argument.", 2))?;
    if a.first_ttl > a.max_ttl {
        return Err(bad("first hop out of range", 2));
    }
    Ok(a)
}

/// What one probe met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reply {
    /// Nothing in time.
    Lost,
    /// ICMP time exceeded from a router.
    Hop { from: Ipv4Addr, rtt: SimDuration },
    /// The destination (port unreachable, or a datagram back from a server there).
    Arrived { from: Ipv4Addr, rtt: SimDuration },
    /// Another destination unreachable (`!N`, `!H` ...).
    Unreachable { from: Ipv4Addr, rtt: SimDuration, code: u8 },
}

fn mark(flavour: Flavour, code: u8) -> String {
    match (code, flavour) {
        (0, _) => "!N".into(),
        (1, _) => "!H".into(),
        (2, _) => "!P".into(),
        (4, _) => "!F".into(),
        (5, _) => "!S".into(),
        (9, Flavour::Busybox) => "!A".into(),
        (10, Flavour::Busybox) => "!Z".into(),
        (9 | 10 | 13, _) => "!X".into(),
        (14, _) => "!V".into(),
        (15, _) => "!C".into(),
        (c, _) => format!("!<{c}>"),
    }
}

fn ms(d: SimDuration) -> String {
    let us = d.as_nanos() / 1000;
    format!("{}.{:03} ms", us / 1000, us % 1000)
}

/// One hop's line (without its newline) from its probes' replies.
fn hop_line(flavour: Flavour, ttl: u8, replies: &[Reply], numeric: bool) -> String {
    let name = |ip: Ipv4Addr| if numeric { ip.to_string() } else { format!("{ip} ({ip})") };
    // busybox `printf("%2d", ttl)`, the traceroute package `printf("\n%2u ", ttl)`.
    let mut line = if flavour == Flavour::Busybox { format!("{ttl:2}") } else { format!("{ttl:2} ") };
    let mut last: Option<Ipv4Addr> = None;
    for r in replies {
        let (from, rtt, code) = match *r {
            Reply::Lost => {
                line.push_str(if flavour == Flavour::Busybox { "  *" } else { " *" });
                continue;
            }
            Reply::Hop { from, rtt } | Reply::Arrived { from, rtt } => (from, rtt, None),
            Reply::Unreachable { from, rtt, code } => (from, rtt, Some(code)),
        };
        if last != Some(from) {
            line.push_str(if flavour == Flavour::Busybox { "  " } else { " " });
            line.push_str(&name(from));
            last = Some(from);
        }
        line.push_str("  ");
        line.push_str(&ms(rtt));
        if let Some(c) = code {
            line.push(' ');
            line.push_str(&mark(flavour, c));
        }
    }
    line
}

impl Cluster {
    /// Runs `traceroute` from `target` (its namespace `host`).
    pub(crate) fn traceroute(
        &mut self,
        target: &Target,
        host: HostId,
        args: &TracerouteArgs,
        flavour: Flavour,
    ) -> ExecOutput {
        if args.fixed_port && flavour == Flavour::Busybox {
            return ExecOutput::err("traceroute: invalid option -- 'U'", 1);
        }
        let Some(ip) = self.resolve(target, &args.host) else {
            return match flavour {
                Flavour::Busybox => ExecOutput::err(format!("traceroute: bad address '{}'", args.host), 1),
                Flavour::Modern => ExecOutput::err(
                    format!(
                        "{}: Name or service not known\nCannot handle \"host\" cmdline arg `{}' on position 1 (argc 1)",
                        args.host, args.host
                    ),
                    2,
                ),
            };
        };
        let (size, payload, default_wait) = match flavour {
            Flavour::Busybox => (46, 18, 3),
            Flavour::Modern => (60, 32, 5),
        };
        let wait = SimDuration::from_secs(args.wait.unwrap_or(default_wait));
        let mut out =
            format!("traceroute to {} ({ip}), {} hops max, {size} byte packets\n", args.host, args.max_ttl);
        let base = args.port.unwrap_or(if args.fixed_port { 53 } else { BASE_PORT });
        // busybox numbers its probes from 1 (`port + seq`), the traceroute package from 0.
        let mut seq: u32 = if flavour == Flavour::Busybox { 1 } else { 0 };
        let mut last_conv = None;
        for ttl in args.first_ttl..=args.max_ttl {
            let mut replies = Vec::new();
            for _ in 0..args.queries {
                let port = if args.fixed_port { base } else { base.wrapping_add(seq as u16) };
                seq += 1;
                let (reply, id) = self.probe(host, SocketAddrV4::new(ip, port), ttl, payload, wait, flavour);
                last_conv = Some(id);
                replies.push(reply);
            }
            out.push_str(&hop_line(flavour, ttl, &replies, args.numeric));
            out.push('\n');
            let arrived = replies.iter().any(|r| matches!(r, Reply::Arrived { .. }));
            let unreachable = replies.iter().filter(|r| matches!(r, Reply::Unreachable { .. })).count();
            let done = match flavour {
                // `got_there || (unreachable > 0 && unreachable >= nprobes - 1)`.
                Flavour::Busybox => arrived || (unreachable > 0 && unreachable + 1 >= replies.len()),
                Flavour::Modern => arrived || unreachable > 0,
            };
            if done {
                break;
            }
        }
        let mut o = ExecOutput::out(out);
        if !args.numeric {
            o.stderr =
                "traceroute: netsim looks up no hop names; each hop is printed as an unresolved address\n"
                    .to_string();
        }
        if let Some(id) = last_conv
            && let Some(conv) = self.world().net.conversation(id).cloned()
        {
            o.connection = Some(self.report(id, &conv));
        }
        o
    }

    /// Sends one probe and waits for its answer or `wait`.
    fn probe(
        &mut self,
        host: HostId,
        dst: SocketAddrV4,
        ttl: u8,
        payload: usize,
        wait: SimDuration,
        flavour: Flavour,
    ) -> (Reply, sim_net::network::ConvId) {
        let spec = ConversationSpec {
            from: host,
            proto: ConvProto::Udp,
            dst,
            payload: vec![0; payload],
            src_port: None,
            timeout: wait,
        };
        let id = self.world_mut().net.start_udp_with_ttl(spec, ttl);
        self.schedule_now(ClusterEvent::Net(NetEvent::ConvStart(id)));
        let deadline = self.now() + wait + SimDuration::from_millis(1);
        loop {
            if self.world().net.conversation(id).is_some_and(|c| c.outcome.is_some()) {
                break;
            }
            match self.sim.scheduler().next_time() {
                Some(t) if t <= deadline => {
                    self.sim.step();
                }
                _ => {
                    self.sim.run_until(deadline);
                    break;
                }
            }
        }
        let Some(c) = self.world().net.conversation(id) else { return (Reply::Lost, id) };
        let rtt = match (c.started, c.finished) {
            (Some(a), Some(b)) => b.saturating_since(a),
            _ => SimDuration::ZERO,
        };
        let reply = match &c.outcome {
            Some(Outcome::Unreachable { icmp_type: 11, from, .. }) => Reply::Hop { from: *from, rtt },
            Some(Outcome::Unreachable { icmp_type: 3, code: 3, from }) => Reply::Arrived { from: *from, rtt },
            Some(Outcome::Unreachable { icmp_type: 3, code, from }) => {
                Reply::Unreachable { from: *from, rtt, code: *code }
            }
            // A datagram back from a server at the destination: the traceroute package's
            // UDP socket reads it as the end; busybox listens on a raw ICMP socket only.
            Some(Outcome::Completed { .. }) if flavour == Flavour::Modern => {
                Reply::Arrived { from: *dst.ip(), rtt }
            }
            _ => Reply::Lost,
        };
        (reply, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real(name: &str) -> String {
        let path = format!("{}/../tests/data/real-tools/traceroute/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn us(n: u64) -> SimDuration {
        SimDuration::from_micros(n)
    }

    #[test]
    fn hop_lines_match_both_tools() {
        let r1: Ipv4Addr = "10.98.1.1".parse().unwrap();
        let hop = |n| Reply::Hop { from: r1, rtt: us(n) };
        let unreach = |n| Reply::Unreachable { from: r1, rtt: us(n), code: 0 };
        let modern = real("no-route-n.stdout");
        let line = modern.lines().nth(1).unwrap();
        assert_eq!(hop_line(Flavour::Modern, 1, &[unreach(39), unreach(3), Reply::Lost], true), line);
        let bb = real("bb-no-route-n.stdout");
        let line = bb.lines().nth(1).unwrap();
        assert_eq!(hop_line(Flavour::Busybox, 1, &[unreach(8), Reply::Lost, unreach(8)], true), line);
        let routed = real("routed.stdout");
        assert_eq!(
            hop_line(Flavour::Modern, 1, &[hop(40), hop(3), hop(4)], false),
            routed.lines().nth(1).unwrap()
        );
        let bb = real("bb-routed-n.stdout");
        let s2: Ipv4Addr = "10.98.2.2".parse().unwrap();
        let arrived = |n| Reply::Arrived { from: s2, rtt: us(n) };
        assert_eq!(
            hop_line(Flavour::Busybox, 1, &[hop(7), hop(1), hop(1)], true),
            bb.lines().nth(1).unwrap()
        );
        assert_eq!(
            hop_line(Flavour::Busybox, 2, &[arrived(1), arrived(1), Reply::Lost], true),
            bb.lines().nth(2).unwrap()
        );
    }

    #[test]
    fn options() {
        let a = parse_traceroute(&["-n".into(), "-m".into(), "5".into(), "-q1".into(), "x".into()]).unwrap();
        assert_eq!((a.numeric, a.max_ttl, a.queries, a.host.as_str()), (true, 5, 1, "x"));
        assert!(parse_traceroute(&["-I".into(), "x".into()]).is_err());
        assert!(parse_traceroute(&[]).is_err());
        assert!(parse_traceroute(&["x".into(), "1400".into()]).is_err());
    }
}
