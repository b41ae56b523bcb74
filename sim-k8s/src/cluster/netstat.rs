//! busybox `netstat` in a pod whose image is busybox-based (`image_tools`): the namespace's sockets in the format of busybox's networking/netstat.c
//! (`"%s   %6lu %6lu %-23s %-23s %-12s"`, TCP then UDP as `/proc/net/tcp` and `/proc/net/udp`
//! list them, then the UNIX domain section when no `-t`/`-u`/`-w` narrows the protocols).
//!
//! Options: `-l`, `-a`, `-n`, `-t`, `-u`, `-w` (no raw sockets in the model), `-x` (no UNIX
//! sockets in the model: the section's header only), `-e` (no effect in busybox), `-W` (51
//! columns per address). Without `-n` busybox asks DNS for each address's name; netsim does
//! not, prints the numeric form and says so on stderr. `-r` and `-p` are refused by name.
//! Checked against busybox 1.35: `tests/data/real-tools/ss/bb-*`.

use sim_net::socket::{SockProto, SocketEntry, SocketState};

use super::command::CommandError;

/// A parsed busybox `netstat` command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetstatArgs {
    /// `-l`.
    pub listening: bool,
    /// `-a`.
    pub all: bool,
    /// `-n`.
    pub numeric: bool,
    /// `-t`.
    pub tcp: bool,
    /// `-u`.
    pub udp: bool,
    /// `-w`.
    pub raw: bool,
    /// `-x`.
    pub unix: bool,
    /// `-W`.
    pub wide: bool,
}

const USAGE: &str = "BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: netstat [-ral] [-tuwx] [-enWp]\n\nDisplay networking information\n\n\t-r\tRouting table\n\t-a\tAll sockets\n\t-l\tListening sockets\n\t\tElse: connected sockets\n\t-t\tTCP sockets\n\t-u\tUDP sockets\n\t-w\tRaw sockets\n\t-x\tUnix sockets\n\t\tElse: all socket types\n\t-e\tOther/more information\n\t-n\tDon't resolve names\n\t-W\tWide display\n\t-p\tShow PID/program name for sockets";

/// Parses busybox netstat's arguments (getopt32 `"laentuwxrWp"`).
pub fn parse_netstat(args: &[String]) -> Result<NetstatArgs, CommandError> {
    let mut a = NetstatArgs::default();
    for arg in args {
        let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty() && !s.starts_with('-')) else {
            return Err(CommandError {
                message: if arg.starts_with("--") {
                    format!("netstat: unrecognized option '{arg}'\n{USAGE}")
                } else {
                    USAGE.to_string()
                },
                exit_code: 1,
            });
        };
        for c in short.chars() {
            match c {
                'l' => a.listening = true,
                'a' => a.all = true,
                'e' => {}
                'n' => a.numeric = true,
                't' => a.tcp = true,
                'u' => a.udp = true,
                'w' => a.raw = true,
                'x' => a.unix = true,
                'W' => a.wide = true,
                'r' | 'p' => {
                    return Err(CommandError {
                        message: format!(
                            "netstat: netsim does not simulate -{c}{}",
                            if c == 'r' {
                                " (`ip route` shows the routes)"
                            } else {
                                " (no processes in the model)"
                            }
                        ),
                        exit_code: 1,
                    });
                }
                other => {
                    return Err(CommandError {
                        message: format!("netstat: invalid option -- '{other}'\n{USAGE}"),
                        exit_code: 1,
                    });
                }
            }
        }
    }
    Ok(a)
}

fn ip_port(a: &std::net::SocketAddrV4) -> String {
    if a.port() == 0 { format!("{}:*", a.ip()) } else { format!("{}:{}", a.ip(), a.port()) }
}

/// What `netstat ARGS` prints for these sockets: (stdout, stderr).
pub fn render(args: &NetstatArgs, sockets: &[SocketEntry]) -> (String, String) {
    let (connected, listening) = if args.all {
        (true, true)
    } else if args.listening {
        (false, true)
    } else {
        (true, false)
    };
    let any_proto = args.tcp || args.udp || args.raw || args.unix;
    let (tcp, udp, raw, unix) =
        if any_proto { (args.tcp, args.udp, args.raw, args.unix) } else { (true, true, true, true) };
    let which = match (connected, listening) {
        (true, true) => "(servers and established)",
        (false, true) => "(only servers)",
        _ => "(w/o servers)",
    };
    let width = if args.wide { 51 } else { 23 };
    let mut out = String::new();
    if tcp || udp || raw {
        out.push_str(&format!(
            "Active Internet connections {which}\nProto Recv-Q Send-Q {:<width$} {:<width$} State       \n",
            "Local Address", "Foreign Address"
        ));
    }
    for (proto, on) in [(SockProto::Tcp, tcp), (SockProto::Udp, udp)] {
        if !on {
            continue;
        }
        for s in sockets.iter().filter(|s| s.proto == proto) {
            // tcp_do_one: connected = a remote port; udp_do_one: a remote address.
            let is_connected =
                if proto == SockProto::Tcp { s.peer.port() != 0 } else { !s.peer.ip().is_unspecified() };
            if !((is_connected && connected) || (!is_connected && listening)) {
                continue;
            }
            let state = match (proto, s.state) {
                (SockProto::Udp, SocketState::Established) => "ESTABLISHED",
                (SockProto::Udp, SocketState::Close) => "",
                (SockProto::Udp, _) => "UNKNOWN",
                (_, st) => st.netstat_name(),
            };
            // /proc/net/tcp: a listener's tx_queue is 0 (its backlog is not a queue there).
            let send_q = if s.state == SocketState::Listen { 0 } else { s.send_q };
            out.push_str(&format!(
                "{proto}   {:>6} {:>6} {:<width$} {:<width$} {state:<12}\n",
                s.recv_q,
                send_q,
                ip_port(&s.local),
                ip_port(&s.peer),
            ));
        }
    }
    if unix {
        out.push_str(&format!(
            "Active UNIX domain sockets {which}\nProto RefCnt Flags       Type       State         I-Node Path\n"
        ));
    }
    let stderr = if args.numeric {
        String::new()
    } else {
        "netstat: netsim resolves no addresses to names here; the addresses are printed as with -n\n"
            .to_string()
    };
    (out, stderr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::socket_fixtures::{entry, real};

    fn netstat(line: &str, sockets: &[SocketEntry]) -> String {
        let words: Vec<String> = line.split_whitespace().skip(1).map(String::from).collect();
        render(&parse_netstat(&words).unwrap(), sockets).0
    }

    #[test]
    fn layouts_match_busybox() {
        let server = vec![
            entry(SockProto::Tcp, SocketState::Listen, "10.99.0.1:8080", "0.0.0.0:0", 4096),
            entry(SockProto::Tcp, SocketState::Listen, "0.0.0.0:80", "0.0.0.0:0", 4096),
            entry(SockProto::Tcp, SocketState::Established, "10.99.0.1:80", "10.99.0.2:36646", 0),
            entry(SockProto::Udp, SocketState::Close, "0.0.0.0:53", "0.0.0.0:0", 0),
        ];
        assert_eq!(netstat("netstat -tn", &server), real("bb-server-netstat-tn.stdout"));
        assert_eq!(netstat("netstat -tln", &server), real("bb-server-netstat-tln.stdout"));
        assert_eq!(netstat("netstat -an", &server), real("bb-server-netstat-an.stdout"));
        let client = vec![
            entry(SockProto::Tcp, SocketState::SynSent, "10.99.0.2:50882", "10.99.0.3:81", 1),
            entry(SockProto::Tcp, SocketState::Established, "10.99.0.2:36646", "10.99.0.1:80", 0),
            entry(SockProto::Udp, SocketState::Established, "10.99.0.2:50591", "10.99.0.1:53", 0),
        ];
        assert_eq!(netstat("netstat -tan", &client), real("bb-client-syn-sent-netstat-tan.stdout"));
        assert_eq!(netstat("netstat -uan", &client[2..]), real("bb-client-netstat-uan.stdout"));
    }

    #[test]
    fn options() {
        let e = parse_netstat(&["-Q".to_string()]).unwrap_err();
        assert_eq!(e.message.lines().next(), real("bb-bad-option.stderr").lines().next());
        assert_eq!(e.exit_code, 1);
        assert!(parse_netstat(&["-tnp".to_string()]).is_err());
    }
}
