//! The two iptables 1.8 backends, legacy and nft, against the real binaries.
//!
//! Real `iptables-legacy-restore` and `iptables-nft-restore` accept different rule sets; netsim
//! models both (`RestoreOptions::backend`). Two tests:
//!
//! - `measured_cases`: a table of rule sets with what each real binary did with them (v1.8.9,
//!   recorded here; accepted and reprinted, or refused at a line with a message), asserted
//!   against netsim everywhere, and re-measured against the installed binaries when the test
//!   runs as root;
//! - `random_kube_proxy_shaped_dumps`: a seeded generator of kube-proxy-shaped dumps, each with
//!   a few of the forms the backends disagree on or refuse (and address lists, service names,
//!   odd masks and `-f`); for each backend, netsim and the real binary must agree on
//!   acceptance, on the refused line and its message, and on the
//!   canonical `iptables-save` (only when the real binaries can run: root, iptables installed;
//!   otherwise skipped with a notice). The real binaries run in network namespaces the test
//!   creates, never the machine's own.
//!
//! A message agrees when netsim's is the real tool's (the first line of its stderr that says
//! something, without the `iptables-restore v1.8.9 (legacy): ` or `line N: ` in front), or the
//! real tool's followed by netsim's own explanation after `: ` or ` (` (legacy's bare `line 3
//! failed` is `line 3 failed: the kernel refused the rule at line 2 (...)` in netsim).

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use sim_net::netfilter::{Backend, Netfilter, RestoreOptions, SaveOptions};

/// What a backend did with a rule set: the `iptables-save` rules (`-A` lines, in order) or the
/// line it refused.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Saved(Vec<String>),
    /// The line and the message.
    Refused(usize, String),
}

impl Outcome {
    /// True if `self` (netsim's) agrees with `real`: the same saved rules, or a refusal at
    /// the same line whose message [`message_agrees`].
    fn agrees(&self, real: &Outcome) -> bool {
        match (self, real) {
            (Outcome::Refused(l, m), Outcome::Refused(rl, rm)) => l == rl && message_agrees(m, rm),
            _ => self == real,
        }
    }
}

/// netsim's message is the real one, or the real one followed by netsim's explanation.
fn message_agrees(netsim: &str, real: &str) -> bool {
    netsim == real || netsim.strip_prefix(real).is_some_and(|r| r.starts_with(": ") || r.starts_with(" ("))
}

fn netsim(rules: &str, backend: Backend) -> Outcome {
    let mut nf = Netfilter::new();
    nf.set_backend(backend);
    let opts = RestoreOptions { backend: Some(backend), ..RestoreOptions::default() };
    match nf.restore_with(rules, opts) {
        Ok(()) => Outcome::Saved(a_lines(&nf.save(&SaveOptions::default()))),
        Err(e) => Outcome::Refused(e.line, e.kind.to_string()),
    }
}

/// The message of a real iptables-restore's stderr: its first line that says something, without
/// the program's name and version (`iptables-nft-restore v1.8.9 (nf_tables): `,
/// `iptables-restore: `) and without a `line N: ` in front.
fn real_message(stderr: &str) -> String {
    for l in stderr.lines() {
        let mut m = l.trim();
        if m.starts_with("iptables") {
            m = match m.split_once("):") {
                Some((_, rest)) => rest.trim_start(),
                None => m.split_once(": ").map_or(m, |(_, rest)| rest),
            };
        }
        if let Some(rest) = m.strip_prefix("line ")
            && let Some((n, after)) = rest.split_once(": ")
            && n.bytes().all(|b| b.is_ascii_digit())
        {
            m = after;
        }
        let m = m.trim();
        if !m.is_empty() && !m.starts_with("Error occurred at line") {
            return m.to_string();
        }
    }
    String::new()
}

fn a_lines(saved: &str) -> Vec<String> {
    saved.lines().filter(|l| l.starts_with("-A ")).map(str::to_string).collect()
}

/// The line a real iptables-restore's error names: `line N failed` (legacy, at COMMIT),
/// `Error occurred at line: N` or `line N: RULE_APPEND failed` (nft).
fn refused_line(stderr: &str) -> Option<usize> {
    for l in stderr.lines() {
        let l = l.trim();
        let n = l
            .strip_prefix("Error occurred at line: ")
            .or_else(|| l.split("line ").nth(1).and_then(|r| r.split([' ', ':']).next()));
        if let Some(n) = n.and_then(|n| n.trim().parse().ok()) {
            return Some(n);
        }
    }
    None
}

struct Case {
    what: &'static str,
    rules: &'static str,
    nft: Expect,
    legacy: Expect,
}

#[derive(Clone, Copy)]
enum Expect {
    /// Accepted; `iptables-save` prints the input's `-A` lines as given.
    Same,
    /// Accepted; `iptables-save` prints these `-A` lines.
    Saved(&'static [&'static str]),
    /// Refused at this line with this message.
    Refused(usize, &'static str),
}

/// Measured with iptables v1.8.9 (Debian), `iptables-{nft,legacy}-restore < FILE` then
/// `iptables-save` in a fresh network namespace.
const CASES: &[Case] = &[
    Case {
        what: "an ICMP DNAT with a port (libxt_DNAT: ICMP ids are mappable)",
        rules: "*nat\n-A PREROUTING -p icmp -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n",
        nft: Expect::Same,
        legacy: Expect::Same,
    },
    Case {
        what: "a loop among chains no built-in chain reaches",
        rules: "*filter\n:A - [0:0]\n:B - [0:0]\n-A A -j B\n-A B -j A\nCOMMIT\n",
        nft: Expect::Same,
        legacy: Expect::Same,
    },
    Case {
        what: "! -p udp -m udp (nft: th sport; legacy: xt_udp's proto check at COMMIT)",
        rules: "*filter\n-A INPUT ! -p udp -m udp --sport 53 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Same,
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "-m udp without -p",
        rules: "*filter\n-A INPUT -m udp --sport 53 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(2, "UDP match requires '-p udp'"),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "-p udp -m tcp",
        rules: "*filter\n-A INPUT -p udp -m tcp --dport 53 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(2, "TCP match requires '-p tcp'"),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "! -p icmp -m icmp (an xtables match on nft too: the kernel refuses it)",
        rules: "*filter\n-A INPUT ! -p tcp -m tcp --dport 53 -j ACCEPT\n-A INPUT ! -p icmp -m icmp --icmp-type 8 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(3, "RULE_APPEND failed (Invalid argument): rule in chain INPUT"),
        legacy: Expect::Refused(4, "line 4 failed"),
    },
    Case {
        what: "a DNAT port without -p",
        rules: "*nat\n-A PREROUTING -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n",
        nft: Expect::Refused(2, "Need TCP, UDP, SCTP or DCCP with port specification"),
        legacy: Expect::Refused(2, "Need TCP, UDP, SCTP or DCCP with port specification"),
    },
    Case {
        what: "DNAT and SNAT ranges with their flags",
        rules: "*nat\n-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1-10.0.0.5:80-90 --random --persistent\n-A PREROUTING -j DNAT --to-destination 10.0.0.7-10.0.0.9\n-A PREROUTING -p tcp -j DNAT --to-destination :80\n-A POSTROUTING -j SNAT --to-source 1.2.3.4-1.2.3.9 --persistent\n-A POSTROUTING -p tcp -j SNAT --to-source 1.2.3.4-1.2.3.9:1000-2000 --random-fully\nCOMMIT\n",
        nft: Expect::Same,
        legacy: Expect::Same,
    },
    Case {
        what: "! -p tcp ! --dport (the tcp match loads; legacy's kernel refuses it at COMMIT)",
        rules: "*filter\n-A INPUT ! -p tcp ! --dport 5 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Saved(&["-A INPUT ! -p tcp -m tcp ! --dport 5 -j ACCEPT"]),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "a rule for a chain the table does not have",
        rules: "*filter\n-A NOCHAIN -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(2, "line 2 failed: No chain/target/match by that name."),
        legacy: Expect::Refused(2, "line 2 failed"),
    },
    Case {
        what: "NAT to port 0, ports in strtoul's forms",
        rules: "*nat\n-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:0\n-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:0-5\n-A PREROUTING -p udp -j DNAT --to-destination 10.0.0.1:0x50\n-A POSTROUTING -p tcp -j SNAT --to-source 10.0.0.1:0\n-A PREROUTING -p tcp -j REDIRECT --to-ports 0\nCOMMIT\n",
        nft: Expect::Saved(NAT_PORTS),
        legacy: Expect::Saved(NAT_PORTS),
    },
    Case {
        what: "conntrack addresses saved as given (the kernel masks when it compares); NOTRACK kept",
        rules: "*raw\n-A PREROUTING -m conntrack ! --ctorigsrc 10.1.2.3/8 --ctrepldst 9.9.9.9/24 -j NOTRACK\nCOMMIT\n",
        nft: Expect::Same,
        legacy: Expect::Same,
    },
    Case {
        what: "physdev saved in physdev_save's order; tos by a symbolic name in any case",
        rules: "*filter\n-A FORWARD -m physdev --physdev-out veth+ --physdev-is-out -j ACCEPT\n-A INPUT -m tos --tos minimize-delay -j ACCEPT\n-A INPUT -m tos ! --tos Normal-Service -j ACCEPT\nCOMMIT\n",
        nft: Expect::Saved(PHYSDEV_TOS),
        legacy: Expect::Saved(PHYSDEV_TOS),
    },
    Case {
        what: "TPROXY's --on-port, --on-ip and --tproxy-mark in the forms the parsers take",
        rules: "*mangle\n-A PREROUTING -p tcp -j TPROXY --on-port 80\n-A PREROUTING -p tcp -j TPROXY --on-port 0\n-A PREROUTING -p tcp -j TPROXY --on-port 70000\n-A PREROUTING -p tcp -j TPROXY --on-port 4294967296\n-A PREROUTING -p tcp -j TPROXY --on-port 2147483647\n-A PREROUTING -p tcp -j TPROXY --on-port 4294967377\n-A PREROUTING -p tcp -j TPROXY --on-port 080\n-A PREROUTING -p tcp -j TPROXY --on-port +80\n-A PREROUTING -p tcp -j TPROXY --on-port http\n-A PREROUTING -p tcp -j TPROXY --on-port ftp-data\n-A PREROUTING -p udp -j TPROXY --on-port ssh\n-A PREROUTING -p udp -j TPROXY --on-port domain\n-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 1.2.3.4\n-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip localhost\n-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 1.2.3\n-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 010.1.1.1\n-A PREROUTING -p tcp -j TPROXY --on-port 80 --tproxy-mark 1\n-A PREROUTING -p tcp -j TPROXY --on-port 80 --tproxy-mark 010\n-A PREROUTING -p tcp -j TPROXY --on-port 80 --tproxy-mark 0x10/0xff\n-A PREROUTING -p tcp -j TPROXY --on-port 80 --tproxy-mark 0xffffffff\nCOMMIT\n",
        nft: Expect::Saved(TPROXY_FORMS),
        legacy: Expect::Saved(TPROXY_FORMS),
    },
    Case {
        what: "--to-ports with service names, ranges in strtoul's forms, ICMP and DCCP",
        rules: "*nat\n-A PREROUTING -p tcp -j REDIRECT --to-ports http\n-A PREROUTING -p tcp -j REDIRECT --to-ports ftp-data\n-A PREROUTING -p udp -j REDIRECT --to-ports ntp\n-A PREROUTING -p tcp -j REDIRECT --to-ports domain\n-A PREROUTING -p tcp -j REDIRECT --to-ports 0x50-0x60\n-A PREROUTING -p tcp -j REDIRECT --to-ports 80-80\n-A PREROUTING -p tcp -j REDIRECT --to-ports +80\n-A PREROUTING -p icmp -j REDIRECT --to-ports 80\n-A POSTROUTING -p tcp -j MASQUERADE --to-ports http\n-A POSTROUTING -p tcp -j MASQUERADE --to-ports 1000-2000\n-A POSTROUTING -p icmp -j MASQUERADE --to-ports 80\n-A POSTROUTING -p dccp -j MASQUERADE --to-ports 80\n-A POSTROUTING -p tcp -j MASQUERADE --to-ports 80 --random-fully --random\n-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:http\n-A POSTROUTING -p tcp -j SNAT --to-source 1.2.3.4:http\nCOMMIT\n",
        nft: Expect::Saved(TO_PORTS_FORMS),
        legacy: Expect::Saved(TO_PORTS_FORMS),
    },
    Case {
        what: "udp and conntrack ports are taken modulo 65536, a reversed range is kept",
        rules: "*filter\n-A INPUT -p udp --dport 5:3 -j ACCEPT\n-A INPUT -p udp --dport 70000 -j ACCEPT\n-A INPUT -p udp --sport 100:70000 -j ACCEPT\n-A INPUT -p udp --dport 010 -j ACCEPT\n-A INPUT -p tcp --dport 0x50 -j ACCEPT\n-A INPUT -p tcp --dport 010 -j ACCEPT\n-A INPUT -p tcp -m conntrack --ctorigdstport 5:3 -j ACCEPT\n-A INPUT -p tcp -m conntrack --ctorigdstport 70000 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Saved(PORT_FORMS),
        legacy: Expect::Saved(PORT_FORMS),
    },
    Case {
        what: "options that may repeat, and one more match of a kind",
        rules: "*filter\n-A INPUT -m comment --comment a -m comment --comment b -j ACCEPT\n-A INPUT -m recent --rcheck --rsource --rdest -j ACCEPT\n-A INPUT -m recent --rcheck --hitcount 0 -j ACCEPT\n-A INPUT -p tcp -m multiport --dports 5,6 -m multiport --dports 7 -j ACCEPT\n-A INPUT -m statistic --mode random --probability 1 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Saved(REPEATS),
        legacy: Expect::Saved(REPEATS),
    },
    Case {
        what: "abbreviated address types, reversed ranges kept, ctproto 0, a LOG prefix cut to 29 bytes, -i +",
        rules: "*filter\n-A INPUT -m addrtype --dst-type LOC -j ACCEPT\n-A INPUT -m addrtype --dst-type X -j ACCEPT\n-A INPUT -m length --length 5:3 -j ACCEPT\n-A INPUT -m conntrack --ctexpire 5:3 -j ACCEPT\n-A INPUT -m conntrack --ctproto 0 -j ACCEPT\n-A INPUT -m conntrack ! --ctproto 0 -j ACCEPT\n-A INPUT -j LOG --log-prefix \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n-A INPUT -j LOG --log-level panic\n-A INPUT -i + -j ACCEPT\n-A INPUT -p udp --dport 65536 -j ACCEPT\n-A INPUT -p udp --dport 1:65536 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Saved(LOOSE_FORMS),
        legacy: Expect::Saved(LOOSE_FORMS),
    },
    Case {
        what: "owner in INPUT (xt_owner's hooks)",
        rules: "*filter\n-A INPUT -m owner --uid-owner 0 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(2, "RULE_APPEND failed (Invalid argument): rule in chain INPUT"),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "recent --set with --seconds (xt_recent's checkentry)",
        rules: "*filter\n-A INPUT -m recent --set --seconds 5 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(2, "RULE_APPEND failed (Invalid argument): rule in chain INPUT"),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "a TCP reset for UDP (ipt_REJECT's checkentry)",
        rules: "*filter\n-A INPUT -p udp -j REJECT --reject-with tcp-reset\nCOMMIT\n",
        nft: Expect::Refused(2, "RULE_APPEND failed (Invalid argument): rule in chain INPUT"),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "TCPMSS for UDP (xt_TCPMSS's protocol)",
        rules: "*mangle\n-A POSTROUTING -p udp -j TCPMSS --clamp-mss-to-pmtu\nCOMMIT\n",
        nft: Expect::Refused(2, "RULE_APPEND failed (Invalid argument): rule in chain POSTROUTING"),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "DNAT in POSTROUTING (the target's hooks)",
        rules: "*nat\n-A POSTROUTING -p tcp -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n",
        nft: Expect::Refused(2, "RULE_APPEND failed (Invalid argument): rule in chain POSTROUTING"),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "SNAT in PREROUTING (the target's hooks)",
        rules: "*nat\n-A PREROUTING -p tcp -j SNAT --to-source 10.0.0.1\nCOMMIT\n",
        nft: Expect::Refused(2, "RULE_APPEND failed (Invalid argument): rule in chain PREROUTING"),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "owner in a user chain INPUT reaches: nft refuses the rule that makes it so",
        rules: "*filter\n:X - [0:0]\n-A INPUT -j X\n-A X -m owner --socket-exists -j DROP\nCOMMIT\n",
        nft: Expect::Refused(4, "RULE_APPEND failed (Invalid argument): rule in chain X"),
        legacy: Expect::Refused(5, "line 5 failed"),
    },
    Case {
        what: "owner in a user chain, then INPUT's jump to it",
        rules: "*filter\n:X - [0:0]\n-A X -m owner --socket-exists -j DROP\n-A INPUT -j X\nCOMMIT\n",
        nft: Expect::Refused(4, "RULE_APPEND failed (Invalid argument): rule in chain INPUT"),
        legacy: Expect::Refused(5, "line 5 failed"),
    },
    Case {
        what: "DNAT two jumps below POSTROUTING",
        rules: "*nat\n:A - [0:0]\n:B - [0:0]\n-A B -p tcp -j DNAT --to-destination 10.0.0.1:80\n-A A -j B\n-A POSTROUTING -j A\n-A OUTPUT -j A\nCOMMIT\n",
        nft: Expect::Refused(6, "RULE_APPEND failed (Invalid argument): rule in chain POSTROUTING"),
        legacy: Expect::Refused(8, "line 8 failed"),
    },
    Case {
        what: "! -s 0.0.0.0/0 (nft cannot express it)",
        rules: "*filter\n-A INPUT ! -s 0.0.0.0/0 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(2, "RULE_APPEND failed (Invalid argument): rule in chain INPUT"),
        legacy: Expect::Same,
    },
    Case {
        what: "-t on a rule line, in each program's name",
        rules: "*filter\n-A INPUT -j ACCEPT -t nat\nCOMMIT\n",
        nft: Expect::Refused(2, "The -t option cannot be used in iptables-nft-restore."),
        legacy: Expect::Refused(2, "The -t option cannot be used in iptables-restore."),
    },
    Case {
        what: "rpfilter outside PREROUTING (xt_rpfilter's hooks)",
        rules: "*filter\n-A INPUT -m rpfilter -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(2, "RULE_APPEND failed (Invalid argument): rule in chain INPUT"),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "a reversed uid range (xt_owner's checkentry)",
        rules: "*filter\n-A OUTPUT -m owner --uid-owner 5-3 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(2, "RULE_APPEND failed (Invalid argument): rule in chain OUTPUT"),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "TPROXY without -p tcp/udp (xt_TPROXY's checkentry)",
        rules: "*mangle\n-A PREROUTING -j TPROXY --on-port 80\nCOMMIT\n",
        nft: Expect::Refused(2, "RULE_APPEND failed (Invalid argument): rule in chain PREROUTING"),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "short and strtoul address forms, -4, rpfilter where it belongs",
        rules: "*raw\n-A PREROUTING -s 10.1 -j ACCEPT\n-A PREROUTING -s 010.1.2.3 -j ACCEPT\n-A PREROUTING -s 10 -j ACCEPT\n-A PREROUTING -s 0x0a.0.0.1 -j ACCEPT\n-A PREROUTING -4 -j ACCEPT\n-A PREROUTING -m rpfilter --invert -j DROP\nCOMMIT\n",
        nft: Expect::Saved(ADDRESS_FORMS),
        legacy: Expect::Saved(ADDRESS_FORMS),
    },
    Case {
        what: "-R beyond the end",
        rules: "*filter\n-A INPUT -j ACCEPT\n-R INPUT 5 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(3, "line 3 failed: Index of replacement too big."),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "-R in an empty chain",
        rules: "*filter\n-R INPUT 1 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(2, "line 2 failed: No chain/target/match by that name."),
        legacy: Expect::Refused(2, "line 2 failed"),
    },
    Case {
        what: "-D N beyond the end",
        rules: "*filter\n-A INPUT -j ACCEPT\n-D INPUT 5\nCOMMIT\n",
        nft: Expect::Refused(3, "line 3 failed: Index of deletion too big."),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "-D N in an empty chain",
        rules: "*filter\n-D INPUT 1\nCOMMIT\n",
        nft: Expect::Refused(2, "line 2 failed: No chain/target/match by that name."),
        legacy: Expect::Refused(2, "line 2 failed"),
    },
    Case {
        what: "-D of a rule that is not there",
        rules: "*filter\n-D INPUT -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(2, "line 2 failed: Bad rule (does a matching rule exist in that chain?)."),
        legacy: Expect::Refused(2, "line 2 failed"),
    },
    Case {
        what: "-I beyond the end",
        rules: "*filter\n-A INPUT -j ACCEPT\n-I INPUT 3 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(3, "line 3 failed: Index of insertion too big."),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "-N of a chain that exists",
        rules: "*filter\n-N A\n-N A\nCOMMIT\n",
        nft: Expect::Refused(3, "line 3 failed: Chain already exists."),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "-E of a chain that does not exist",
        rules: "*filter\n-E NOPE X\nCOMMIT\n",
        nft: Expect::Refused(2, "line 2 failed: No chain/target/match by that name."),
        legacy: Expect::Refused(2, "line 2 failed"),
    },
    Case {
        what: "-E to a name that exists",
        rules: "*filter\n-N A\n-N B\n-E A B\nCOMMIT\n",
        nft: Expect::Refused(4, "line 4 failed: File exists."),
        legacy: Expect::Refused(4, "line 4 failed"),
    },
    Case {
        what: "-E to a built-in name",
        rules: "*filter\n-N A\n-E A INPUT\nCOMMIT\n",
        nft: Expect::Refused(3, "line 3 failed: File exists."),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "-P with a bad policy",
        rules: "*filter\n-P FORWARD DROP\n-P INPUT BOGUS\nCOMMIT\n",
        nft: Expect::Refused(3, "line 3 failed: Bad policy name."),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "-P of a user chain",
        rules: "*filter\n-N FOO\n-P FOO ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(3, "line 3 failed: Bad built-in chain name."),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "-Z of a chain that does not exist",
        rules: "*filter\n-Z NOPE\nCOMMIT\n",
        nft: Expect::Refused(2, "line 2 failed: No chain/target/match by that name."),
        legacy: Expect::Refused(2, "line 2 failed"),
    },
    Case {
        what: "-F of a chain that does not exist",
        rules: "*filter\n-F NOPE\nCOMMIT\n",
        nft: Expect::Refused(2, "line 2 failed: No chain/target/match by that name."),
        legacy: Expect::Refused(2, "line 2 failed"),
    },
    Case {
        what: "-X of a built-in chain",
        rules: "*filter\n-X INPUT\nCOMMIT\n",
        nft: Expect::Refused(2, "line 2 failed: No chain/target/match by that name."),
        legacy: Expect::Refused(2, "line 2 failed"),
    },
    Case {
        what: "-X of a chain a rule jumps to",
        rules: "*filter\n-N A\n-A INPUT -j A\n-X A\nCOMMIT\n",
        nft: Expect::Refused(4, "CHAIN_DEL failed (Device or resource busy): chain A"),
        legacy: Expect::Refused(4, "line 4 failed"),
    },
    Case {
        what: "a table opened inside a table",
        rules: "*filter\n*nat\nCOMMIT\n",
        nft: Expect::Refused(2, "Bad argument `*nat'"),
        legacy: Expect::Refused(2, "Bad argument `*nat'"),
    },
    Case {
        what: "COMMIT without a table",
        rules: "COMMIT\n",
        nft: Expect::Refused(1, "line 1 failed"),
        legacy: Expect::Refused(1, "line 1 failed"),
    },
    Case {
        what: "a chain without a policy",
        rules: "*filter\n:FOO\nCOMMIT\n",
        nft: Expect::Refused(2, "iptables-nft-restore: line 2 policy invalid"),
        legacy: Expect::Refused(2, "iptables-restore: line 2 policy invalid"),
    },
    Case {
        what: "chain lines: counters read only with -c, anything after them ignored",
        rules: "*filter\n:FOO - [x:y]\n:BAR - [0:0] extra\n:INPUT ACCEPT\n-A FOO -j BAR\nCOMMIT\n",
        nft: Expect::Same,
        legacy: Expect::Same,
    },
    Case {
        what: "a chain named -FOO",
        rules: "*filter\n:-FOO - [0:0]\nCOMMIT\n",
        nft: Expect::Refused(2, "chain name not allowed to start with `-'"),
        legacy: Expect::Same,
    },
    Case {
        what: "a chain name too long",
        rules: "*filter\n:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA - [0:0]\nCOMMIT\n",
        nft: Expect::Refused(
            2,
            "chain name `AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' too long (must be under 29 chars)",
        ),
        legacy: Expect::Refused(2, "Invalid chain name `AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' (28 chars max)"),
    },
    Case {
        what: "counters without their ]",
        rules: "*filter\n[1:2 -A INPUT -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(2, "Bad line 2: need ]"),
        legacy: Expect::Refused(2, "Bad line 2: need ]"),
    },
    Case {
        what: "a line of blanks",
        rules: "*filter\n\t\n-A INPUT -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(2, "no command specified"),
        legacy: Expect::Refused(2, "no command specified"),
    },
    Case {
        what: "no newline after the last COMMIT (legacy compares with COMMIT\\n)",
        rules: "*filter\n-A INPUT -j ACCEPT\nCOMMIT",
        nft: Expect::Same,
        legacy: Expect::Refused(3, "Bad argument `COMMIT'"),
    },
    Case {
        what: "COMMIT with a blank after it",
        rules: "*filter\nCOMMIT \n",
        nft: Expect::Refused(2, "Bad argument `COMMIT'"),
        legacy: Expect::Refused(2, "Bad argument `COMMIT'"),
    },
    Case {
        what: "COMMIT with blanks before it",
        rules: "*filter\n  COMMIT\n",
        nft: Expect::Refused(2, "Bad argument `COMMIT'"),
        legacy: Expect::Refused(2, "Bad argument `COMMIT'"),
    },
    Case {
        what: "a comment with blanks before it",
        rules: "*filter\n#x\n  # y\nCOMMIT\n",
        nft: Expect::Refused(3, "Bad argument `#'"),
        legacy: Expect::Refused(3, "Bad argument `#'"),
    },
    Case {
        what: "a chain declared with a verdict's name",
        rules: "*filter\n:ACCEPT - [0:0]\nCOMMIT\n",
        nft: Expect::Refused(2, "chain name may not clash with target name"),
        legacy: Expect::Refused(2, "error creating chain 'ACCEPT':File exists"),
    },
    Case {
        what: "a chain declared with another target's name",
        rules: "*filter\n:DNAT - [0:0]\nCOMMIT\n",
        nft: Expect::Same,
        legacy: Expect::Same,
    },
    Case {
        what: "-N with a target's name",
        rules: "*filter\n-N DNAT\nCOMMIT\n",
        nft: Expect::Refused(2, "chain name may not clash with target name"),
        legacy: Expect::Refused(2, "chain name may not clash with target name"),
    },
    Case {
        what: "-N -FOO",
        rules: "*filter\n-N -FOO\nCOMMIT\n",
        nft: Expect::Refused(2, "chain name not allowed to start with `-'"),
        legacy: Expect::Refused(2, "chain name not allowed to start with `-'"),
    },
    Case {
        what: "a chain declared again (nft flushes it)",
        rules: "*filter\n:FOO - [0:0]\n-A FOO -j ACCEPT\n:FOO - [0:0]\nCOMMIT\n",
        nft: Expect::Saved(&[]),
        legacy: Expect::Refused(4, "error creating chain 'FOO':File exists"),
    },
    Case {
        what: "a user chain with a policy and more",
        rules: "*filter\n:A B - [0:0]\nCOMMIT\n",
        nft: Expect::Same,
        legacy: Expect::Refused(2, "Can't set policy `B' on `A' line 2: Bad built-in chain name"),
    },
    Case {
        what: "a jump to a chain that does not exist",
        rules: "*filter\n-A INPUT -j FOO\nCOMMIT\n",
        nft: Expect::Refused(3, "Chain 'FOO' does not exist"),
        legacy: Expect::Refused(2, "Couldn't load target `FOO':No such file or directory"),
    },
    Case {
        what: "a goto to a verdict",
        rules: "*filter\n-A INPUT -g ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(3, "Chain 'ACCEPT' does not exist"),
        legacy: Expect::Refused(2, "goto 'ACCEPT' is not a chain"),
    },
    Case {
        what: "-s a,b -d c,d: one rule per pair, sources outermost; -I puts them in reverse; duplicates kept",
        rules: "*filter\n-A INPUT -s 10.0.0.1,10.0.0.2/24 -d 1.1.1.1,2.2.2.2 -j ACCEPT\n-A INPUT -s 10.0.0.1,10.0.0.1 -j ACCEPT\n-I INPUT -s 3.3.3.3,4.4.4.4 -j DROP\n-I INPUT 2 -d 5.5.5.5,6.6.6.6 -j DROP\n-A INPUT -s 0.0.0.0/0,1.1.1.1 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Saved(ADDRESS_LISTS),
        legacy: Expect::Saved(ADDRESS_LISTS),
    },
    Case {
        what: "-D with an address list deletes each rule",
        rules: "*filter\n-A INPUT -s 1.1.1.1 -j ACCEPT\n-A INPUT -s 2.2.2.2 -j ACCEPT\n-A INPUT -s 3.3.3.3 -j ACCEPT\n-D INPUT -s 1.1.1.1,3.3.3.3 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Saved(&["-A INPUT -s 2.2.2.2/32 -j ACCEPT"]),
        legacy: Expect::Saved(&["-A INPUT -s 2.2.2.2/32 -j ACCEPT"]),
    },
    Case {
        what: "-D with an address list, one of whose rules is not there",
        rules: "*filter\n-A INPUT -s 1.1.1.1 -j ACCEPT\n-D INPUT -s 1.1.1.1,3.3.3.3 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(3, "line 3 failed: Bad rule (does a matching rule exist in that chain?)."),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "-R with an address list",
        rules: "*filter\n-A INPUT -j ACCEPT\n-R INPUT 1 -s 1.1.1.1,2.2.2.2 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(3, "Replacement rule does not specify a unique address"),
        legacy: Expect::Refused(3, "Replacement rule does not specify a unique address"),
    },
    Case {
        what: "service names: tcp and sctp by their protocol, udp and conntrack tcp then udp, multiport by -p",
        rules: "*filter\n-A INPUT -p tcp --dport ssh -j ACCEPT\n-A INPUT -p tcp --sport http -j ACCEPT\n-A INPUT -p tcp --dport www:https -j ACCEPT\n-A INPUT -p tcp --dport kerberos5 -j ACCEPT\n-A INPUT -p tcp --dport syslog -j ACCEPT\n-A INPUT -p udp --dport domain -j ACCEPT\n-A INPUT -p udp --dport ssh -j ACCEPT\n-A INPUT -p udp --sport domain:ntp -j ACCEPT\n-A INPUT -p udp --dport syslog -j ACCEPT\n-A INPUT -p tcp -m multiport --dports ssh,http -j ACCEPT\n-A INPUT -p udp -m multiport --sports domain:0x50,ntp -j ACCEPT\n-A INPUT -p tcp -m conntrack --ctorigdstport http -j ACCEPT\n-A INPUT -p udp -m conntrack --ctrepldstport ntp:https -j ACCEPT\n-A INPUT -p sctp --dport amqp -j ACCEPT\nCOMMIT\n",
        nft: Expect::Saved(SERVICE_NAMES),
        legacy: Expect::Saved(SERVICE_NAMES),
    },
    Case {
        what: "owner names from Debian's base-passwd, numbers in strtoul's forms, ranges with - or :",
        rules: "*filter\n-A OUTPUT -m owner --uid-owner root -j ACCEPT\n-A OUTPUT -m owner --uid-owner nobody -j ACCEPT\n-A OUTPUT -m owner --uid-owner www-data -j ACCEPT\n-A OUTPUT -m owner --uid-owner _apt -j ACCEPT\n-A OUTPUT -m owner ! --uid-owner daemon --gid-owner nogroup -j ACCEPT\n-A OUTPUT -m owner --gid-owner adm -j ACCEPT\n-A OUTPUT -m owner --gid-owner staff --suppl-groups -j ACCEPT\n-A OUTPUT -m owner --uid-owner 0x10 -j ACCEPT\n-A OUTPUT -m owner --uid-owner 5:7 -j ACCEPT\n-A OUTPUT -m owner --gid-owner 010-020 -j ACCEPT\n-A OUTPUT -m owner --uid-owner 4294967294 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Saved(OWNER_NAMES),
        legacy: Expect::Saved(OWNER_NAMES),
    },
    Case {
        what: "the security table: INPUT, FORWARD, OUTPUT and user chains",
        rules: "*security\n:INPUT ACCEPT [0:0]\n:FOO - [0:0]\n-A INPUT -j FOO\n-A OUTPUT -p tcp --dport 22 -j DROP\n-A FORWARD -j ACCEPT\n-A INPUT -j MARK --set-mark 1\n-A FOO -j LOG\nCOMMIT\n",
        nft: Expect::Saved(&[
            "-A INPUT -j FOO",
            "-A INPUT -j MARK --set-xmark 0x1/0xffffffff",
            "-A FORWARD -j ACCEPT",
            "-A OUTPUT -p tcp -m tcp --dport 22 -j DROP",
            "-A FOO -j LOG",
        ]),
        legacy: Expect::Saved(&[
            "-A INPUT -j FOO",
            "-A INPUT -j MARK --set-xmark 0x1/0xffffffff",
            "-A FORWARD -j ACCEPT",
            "-A OUTPUT -p tcp -m tcp --dport 22 -j DROP",
            "-A FOO -j LOG",
        ]),
    },
    Case {
        what: "the security table has no PREROUTING",
        rules: "*security\n-A PREROUTING -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(2, "line 2 failed: No chain/target/match by that name."),
        legacy: Expect::Refused(2, "line 2 failed"),
    },
    Case {
        what: "DNAT in the security table (a nat target)",
        rules: "*security\n-A INPUT -j DNAT --to-destination 1.1.1.1\nCOMMIT\n",
        nft: Expect::Refused(2, "RULE_APPEND failed (Invalid argument): rule in chain INPUT"),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "REJECT in the security table (ipt_REJECT's table is filter)",
        rules: "*security\n-A INPUT -j ACCEPT\n-A OUTPUT -j REJECT\nCOMMIT\n",
        nft: Expect::Refused(3, "RULE_APPEND failed (Invalid argument): rule in chain OUTPUT"),
        legacy: Expect::Refused(4, "line 4 failed"),
    },
    Case {
        what: "REJECT in mangle",
        rules: "*mangle\n-A INPUT -j REJECT\nCOMMIT\n",
        nft: Expect::Refused(2, "RULE_APPEND failed (Invalid argument): rule in chain INPUT"),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "REJECT in raw",
        rules: "*raw\n-A OUTPUT -j REJECT --reject-with icmp-host-prohibited\nCOMMIT\n",
        nft: Expect::Refused(2, "RULE_APPEND failed (Invalid argument): rule in chain OUTPUT"),
        legacy: Expect::Refused(3, "line 3 failed"),
    },
    Case {
        what: "masks that are no prefix's (both backends take them), -f and ! -f in save's order",
        rules: "*filter\n-A INPUT -s 10.0.0.0/255.0.255.0 -j ACCEPT\n-A INPUT -d 10.1.2.3/255.0.255.0 -j ACCEPT\n-A INPUT ! -s 10.1.2.3/0.0.0.255 -j ACCEPT\n-A INPUT -s 10.1.2.3/255.255.0.0 -j ACCEPT\n-A INPUT -s 10.1.2.3/0.0.0.0 -j ACCEPT\n-A INPUT -s 10.0.0.0/255.0.255.0,1.2.3.4/0.255.0.0 -j ACCEPT\n-A FORWARD -f -p tcp -o eth0 -i eth1 -d 1.2.3.4 -s 10.0.0.0/255.0.255.0 -j DROP\n-A FORWARD ! -f -j ACCEPT\n-A FORWARD --fragment -p tcp --dport 80 -j DROP\nCOMMIT\n",
        nft: Expect::Saved(MASKS_AND_FRAGMENTS),
        legacy: Expect::Saved(MASKS_AND_FRAGMENTS),
    },
];

const MASKS_AND_FRAGMENTS: &[&str] = &[
    "-A INPUT -s 10.0.0.0/255.0.255.0 -j ACCEPT",
    "-A INPUT -d 10.0.2.0/255.0.255.0 -j ACCEPT",
    "-A INPUT ! -s 0.0.0.3/0.0.0.255 -j ACCEPT",
    "-A INPUT -s 10.1.0.0/16 -j ACCEPT",
    "-A INPUT -j ACCEPT",
    "-A INPUT -s 10.0.0.0/255.0.255.0 -j ACCEPT",
    "-A INPUT -s 0.2.0.0/0.255.0.0 -j ACCEPT",
    "-A FORWARD -s 10.0.0.0/255.0.255.0 -d 1.2.3.4/32 -i eth1 -o eth0 -p tcp -f -j DROP",
    "-A FORWARD ! -f -j ACCEPT",
    "-A FORWARD -p tcp -f -m tcp --dport 80 -j DROP",
];

const OWNER_NAMES: &[&str] = &[
    "-A OUTPUT -m owner --uid-owner 0 -j ACCEPT",
    "-A OUTPUT -m owner --uid-owner 65534 -j ACCEPT",
    "-A OUTPUT -m owner --uid-owner 33 -j ACCEPT",
    "-A OUTPUT -m owner --uid-owner 42 -j ACCEPT",
    "-A OUTPUT -m owner ! --uid-owner 1 --gid-owner 65534 -j ACCEPT",
    "-A OUTPUT -m owner --gid-owner 4 -j ACCEPT",
    "-A OUTPUT -m owner --gid-owner 50 --suppl-groups -j ACCEPT",
    "-A OUTPUT -m owner --uid-owner 16 -j ACCEPT",
    "-A OUTPUT -m owner --uid-owner 5-7 -j ACCEPT",
    "-A OUTPUT -m owner --gid-owner 8-16 -j ACCEPT",
    "-A OUTPUT -m owner --uid-owner 4294967294 -j ACCEPT",
];

const SERVICE_NAMES: &[&str] = &[
    "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
    "-A INPUT -p tcp -m tcp --sport 80 -j ACCEPT",
    "-A INPUT -p tcp -m tcp --dport 80:443 -j ACCEPT",
    "-A INPUT -p tcp -m tcp --dport 88 -j ACCEPT",
    "-A INPUT -p tcp -m tcp --dport 514 -j ACCEPT",
    "-A INPUT -p udp -m udp --dport 53 -j ACCEPT",
    "-A INPUT -p udp -m udp --dport 22 -j ACCEPT",
    "-A INPUT -p udp -m udp --sport 53:123 -j ACCEPT",
    "-A INPUT -p udp -m udp --dport 514 -j ACCEPT",
    "-A INPUT -p tcp -m multiport --dports 22,80 -j ACCEPT",
    "-A INPUT -p udp -m multiport --sports 53:80,123 -j ACCEPT",
    "-A INPUT -p tcp -m conntrack --ctorigdstport 80 -j ACCEPT",
    "-A INPUT -p udp -m conntrack --ctrepldstport 123:443 -j ACCEPT",
    "-A INPUT -p sctp -m sctp --dport 5672 -j ACCEPT",
];

const ADDRESS_LISTS: &[&str] = &[
    "-A INPUT -s 4.4.4.4/32 -j DROP",
    "-A INPUT -d 6.6.6.6/32 -j DROP",
    "-A INPUT -d 5.5.5.5/32 -j DROP",
    "-A INPUT -s 3.3.3.3/32 -j DROP",
    "-A INPUT -s 10.0.0.1/32 -d 1.1.1.1/32 -j ACCEPT",
    "-A INPUT -s 10.0.0.1/32 -d 2.2.2.2/32 -j ACCEPT",
    "-A INPUT -s 10.0.0.0/24 -d 1.1.1.1/32 -j ACCEPT",
    "-A INPUT -s 10.0.0.0/24 -d 2.2.2.2/32 -j ACCEPT",
    "-A INPUT -s 10.0.0.1/32 -j ACCEPT",
    "-A INPUT -s 10.0.0.1/32 -j ACCEPT",
    "-A INPUT -j ACCEPT",
    "-A INPUT -s 1.1.1.1/32 -j ACCEPT",
];

const ADDRESS_FORMS: &[&str] = &[
    "-A PREROUTING -s 10.1.0.0/32 -j ACCEPT",
    "-A PREROUTING -s 8.1.2.3/32 -j ACCEPT",
    "-A PREROUTING -s 10.0.0.0/32 -j ACCEPT",
    "-A PREROUTING -s 10.0.0.1/32 -j ACCEPT",
    "-A PREROUTING -j ACCEPT",
    "-A PREROUTING -m rpfilter --invert -j DROP",
];

const LOOSE_FORMS: &[&str] = &[
    "-A INPUT -m addrtype --dst-type LOCAL -j ACCEPT",
    "-A INPUT -m addrtype --dst-type XRESOLVE -j ACCEPT",
    "-A INPUT -m length --length 5:3 -j ACCEPT",
    "-A INPUT -m conntrack --ctexpire 5:3 -j ACCEPT",
    "-A INPUT -m conntrack --ctproto 0 -j ACCEPT",
    "-A INPUT -m conntrack ! --ctproto 0 -j ACCEPT",
    "-A INPUT -j LOG --log-prefix aaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "-A INPUT -j LOG --log-level 0",
    "-A INPUT -j ACCEPT",
    "-A INPUT -p udp -m udp --dport 0 -j ACCEPT",
    "-A INPUT -p udp -m udp --dport 1:0 -j ACCEPT",
];

const NAT_PORTS: &[&str] = &[
    "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:0",
    "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:0-5",
    "-A PREROUTING -p udp -j DNAT --to-destination 10.0.0.1:80",
    "-A PREROUTING -p tcp -j REDIRECT --to-ports 0",
    "-A POSTROUTING -p tcp -j SNAT --to-source 10.0.0.1:0",
];

const PORT_FORMS: &[&str] = &[
    "-A INPUT -p udp -m udp --dport 5:3 -j ACCEPT",
    "-A INPUT -p udp -m udp --dport 4464 -j ACCEPT",
    "-A INPUT -p udp -m udp --sport 100:4464 -j ACCEPT",
    "-A INPUT -p udp -m udp --dport 10 -j ACCEPT",
    "-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT",
    "-A INPUT -p tcp -m tcp --dport 8 -j ACCEPT",
    "-A INPUT -p tcp -m conntrack --ctorigdstport 5:3 -j ACCEPT",
    "-A INPUT -p tcp -m conntrack --ctorigdstport 4464 -j ACCEPT",
];

/// TPROXY's `--on-port` is `XTTYPE_PORT`: `xtables_getportbyname`, that is glibc's
/// `getaddrinfo(NULL, port)`: a decimal number cast to `int` then to the 16-bit field (70000
/// is 4464, 2^32 is 0; a negative `int` is looked up as a name and not found), else a tcp or
/// udp service; `--on-ip` a host name (`localhost`) or inet_aton's forms; `--tproxy-mark`
/// `XTTYPE_MARKMASK32` (a value alone has mask 0xffffffff).
const PHYSDEV_TOS: &[&str] = &[
    "-A INPUT -m tos --tos 0x10/0x3f -j ACCEPT",
    "-A INPUT -m tos ! --tos 0x00/0x3f -j ACCEPT",
    "-A FORWARD -m physdev --physdev-is-out --physdev-out veth+ -j ACCEPT",
];

const TPROXY_FORMS: &[&str] = &[
    "-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0",
    "-A PREROUTING -p tcp -j TPROXY --on-port 0 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0",
    "-A PREROUTING -p tcp -j TPROXY --on-port 4464 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0",
    "-A PREROUTING -p tcp -j TPROXY --on-port 0 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0",
    "-A PREROUTING -p tcp -j TPROXY --on-port 65535 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0",
    "-A PREROUTING -p tcp -j TPROXY --on-port 81 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0",
    "-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0",
    "-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0",
    "-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0",
    "-A PREROUTING -p tcp -j TPROXY --on-port 20 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0",
    "-A PREROUTING -p udp -j TPROXY --on-port 22 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0",
    "-A PREROUTING -p udp -j TPROXY --on-port 53 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0",
    "-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 1.2.3.4 --tproxy-mark 0x0/0x0",
    "-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 127.0.0.1 --tproxy-mark 0x0/0x0",
    "-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 1.2.0.3 --tproxy-mark 0x0/0x0",
    "-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 8.1.1.1 --tproxy-mark 0x0/0x0",
    "-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 0.0.0.0 --tproxy-mark 0x1/0xffffffff",
    "-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 0.0.0.0 --tproxy-mark 0x8/0xffffffff",
    "-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 0.0.0.0 --tproxy-mark 0x10/0xff",
    "-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 0.0.0.0 --tproxy-mark 0xffffffff/0xffffffff",
];

/// REDIRECT's and MASQUERADE's `--to-ports` (libxt_REDIRECT.c / libxt_MASQUERADE.c
/// `parse_ports`): the first port `xtables_strtoui(.., 0, 65535)` or, when that fails, the
/// whole argument a service name of any protocol (`ftp-data` is 20); the second port a
/// number only. ICMP may have ports.
const TO_PORTS_FORMS: &[&str] = &[
    "-A PREROUTING -p tcp -j REDIRECT --to-ports 80",
    "-A PREROUTING -p tcp -j REDIRECT --to-ports 20",
    "-A PREROUTING -p udp -j REDIRECT --to-ports 123",
    "-A PREROUTING -p tcp -j REDIRECT --to-ports 53",
    "-A PREROUTING -p tcp -j REDIRECT --to-ports 80-96",
    "-A PREROUTING -p tcp -j REDIRECT --to-ports 80",
    "-A PREROUTING -p tcp -j REDIRECT --to-ports 80",
    "-A PREROUTING -p icmp -j REDIRECT --to-ports 80",
    "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:80",
    "-A POSTROUTING -p tcp -j MASQUERADE --to-ports 80",
    "-A POSTROUTING -p tcp -j MASQUERADE --to-ports 1000-2000",
    "-A POSTROUTING -p icmp -j MASQUERADE --to-ports 80",
    "-A POSTROUTING -p dccp -j MASQUERADE --to-ports 80",
    "-A POSTROUTING -p tcp -j MASQUERADE --to-ports 80 --random --random-fully",
    "-A POSTROUTING -p tcp -j SNAT --to-source 1.2.3.4:80",
];

const REPEATS: &[&str] = &[
    "-A INPUT -m comment --comment a -m comment --comment b -j ACCEPT",
    "-A INPUT -m recent --rcheck --name DEFAULT --mask 255.255.255.255 --rdest -j ACCEPT",
    "-A INPUT -m recent --rcheck --name DEFAULT --mask 255.255.255.255 --rsource -j ACCEPT",
    "-A INPUT -p tcp -m multiport --dports 5,6 -m multiport --dports 7 -j ACCEPT",
    "-A INPUT -m statistic --mode random --probability 1.00000000000 -j ACCEPT",
];

/// One-rule refusals both real binaries make alike, at the rule's line (2), with these words
/// (iptables v1.8.9; `iptables-{nft,legacy}-restore < FILE` in a fresh network namespace,
/// FILE being `*TABLE`, the rule, `COMMIT`).
const REFUSED_ALIKE: &[(&str, &str, &str)] = &[
    // address lists (xtables_ipparse_multiple, do_command4)
    (
        "filter",
        "-A INPUT ! -s 1.1.1.1,2.2.2.2 -j ACCEPT",
        "! not allowed with multiple source or destination IP addresses",
    ),
    (
        "filter",
        "-A INPUT -s 1.1.1.1 ! -d 1.1.1.1,2.2.2.2 -j ACCEPT",
        "! not allowed with multiple source or destination IP addresses",
    ),
    ("filter", "-A INPUT -s 1.1.1.1, -j ACCEPT", "host/network `' not found"),
    ("filter", "-A INPUT -s ,1.1.1.1 -j ACCEPT", "host/network `' not found"),
    ("filter", "-A INPUT -d 1.1.1.1,bogus -j ACCEPT", "host/network `bogus' not found"),
    ("filter", "-A INPUT -s 1.1.1.1,2.2.2.2/40 -j ACCEPT", "invalid mask `40' specified"),
    // masks and -f
    ("filter", "-A INPUT -s 1.2.3.4/255.0.256.0 -j ACCEPT", "invalid mask `255.0.256.0' specified"),
    ("filter", "-A INPUT -s 1.2.3.4/255.0 -j ACCEPT", "invalid mask `255.0' specified"),
    ("filter", "-A INPUT -f -f -j DROP", "multiple -f flags not allowed"),
    // owner names (base-passwd 3.6.1)
    (
        "filter",
        "-A OUTPUT -m owner --uid-owner root-5 -j ACCEPT",
        "owner: Bad value for \"--uid-owner\" option: \"root-5\"",
    ),
    (
        "filter",
        "-A OUTPUT -m owner --uid-owner nogroup -j ACCEPT",
        "owner: Bad value for \"--uid-owner\" option: \"nogroup\"",
    ),
    (
        "filter",
        "-A OUTPUT -m owner --gid-owner nobody -j ACCEPT",
        "owner: Bad value for \"--gid-owner\" option: \"nobody\"",
    ),
    (
        "filter",
        "-A OUTPUT -m owner --uid-owner Root -j ACCEPT",
        "owner: Bad value for \"--uid-owner\" option: \"Root\"",
    ),
    (
        "filter",
        "-A OUTPUT -m owner --uid-owner 4294967295 -j ACCEPT",
        "owner: Bad value for \"--uid-owner\" option: \"4294967295\"",
    ),
    (
        "filter",
        "-A OUTPUT -m owner --gid-owner 5- -j ACCEPT",
        "owner: Bad value for \"--gid-owner\" option: \"5-\"",
    ),
    // service names (/etc/services of netbase 6.4)
    ("filter", "-A INPUT -p tcp --dport ntp -j ACCEPT", "invalid port/service `ntp' specified"),
    ("filter", "-A INPUT -p tcp --dport HTTP -j ACCEPT", "invalid port/service `HTTP' specified"),
    ("filter", "-A INPUT -p tcp --dport ssh:ntp -j ACCEPT", "invalid port/service `ntp' specified"),
    ("filter", "-A INPUT -p sctp --dport http -j ACCEPT", "invalid port/service `http' specified"),
    ("filter", "-A INPUT -p udp --dport bogus -j ACCEPT", "Port \"bogus\" does not resolve to anything."),
    ("filter", "-A INPUT -p udp -m multiport --dports ssh -j ACCEPT", "invalid port/service `ssh' specified"),
    ("filter", "-A INPUT -p tcp -m multiport --dports ntp -j ACCEPT", "invalid port/service `ntp' specified"),
    (
        "filter",
        "-A INPUT -p tcp -m multiport --sports 22,bogus -j ACCEPT",
        "invalid port/service `bogus' specified",
    ),
    (
        "filter",
        "-A INPUT -m multiport --dports http -p tcp -j ACCEPT",
        "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'",
    ),
    (
        "filter",
        "-A INPUT -p tcp -m conntrack --ctorigsrcport bogus -j ACCEPT",
        "Port \"bogus\" does not resolve to anything.",
    ),
    // statistic
    (
        "filter",
        "-A INPUT -m statistic --mode random --probability 2 -j ACCEPT",
        "statistic: bad value for option \"--probability\", or out of range (0-1).",
    ),
    (
        "filter",
        "-A INPUT -m statistic --mode random --probability -1 -j ACCEPT",
        "statistic: bad value for option \"--probability\", or out of range (0-1).",
    ),
    (
        "filter",
        "-A INPUT -m statistic --mode nth --every 0 -j ACCEPT",
        "statistic: bad value for option \"--every\", or out of range (1-4294967295).",
    ),
    (
        "filter",
        "-A INPUT -m statistic --mode nth --every 2 --packet abc -j ACCEPT",
        "statistic: bad value for option \"--packet\", or out of range (0-4294967295).",
    ),
    (
        "filter",
        "-A INPUT -m statistic --mode nth --every 2 --packet 5 -j ACCEPT",
        "the --packet p must be 0 <= p <= n-1",
    ),
    (
        "filter",
        "-A INPUT -m statistic --mode nth --packet 1 -j ACCEPT",
        "the --packet p must be 0 <= p <= n-1",
    ),
    (
        "filter",
        "-A INPUT -m statistic --mode random -j ACCEPT",
        "--probability must be specified when using random mode",
    ),
    ("filter", "-A INPUT -m statistic -j ACCEPT", "--probability must be specified when using random mode"),
    (
        "filter",
        "-A INPUT -m statistic --every 2 -j ACCEPT",
        "--probability must be specified when using random mode",
    ),
    (
        "filter",
        "-A INPUT -m statistic --mode nth -j ACCEPT",
        "--every and --packet must be specified when using nth mode",
    ),
    (
        "filter",
        "-A INPUT -m statistic --probability 0.5 -j ACCEPT",
        "statistic: option \"--mode\" must be specified",
    ),
    (
        "filter",
        "-A INPUT -m statistic --mode nth --every 2 -j ACCEPT",
        "statistic: option \"--every\" also requires \"--packet\".",
    ),
    (
        "filter",
        "-A INPUT -m statistic --mode random --probability 0.5 --every 2 -j ACCEPT",
        "statistic: option \"--probability\" cannot be used together with \"--every\".",
    ),
    (
        "filter",
        "-A INPUT -m statistic --mode random --probability 0.5 --packet 1 -j ACCEPT",
        "statistic: option \"--probability\" cannot be used together with \"--packet\".",
    ),
    (
        "filter",
        "-A INPUT -m statistic --mode random --probability 0.5 --probability 0.25 -j ACCEPT",
        "statistic: option \"--probability\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -m statistic --mode random --probability 0.5 ! --probability 0.5 -j ACCEPT",
        "statistic: option \"--probability\" can only be used once.",
    ),
    ("filter", "-A INPUT -m statistic --mode bogus -j ACCEPT", "Bad mode \"bogus\""),
    // ports
    ("filter", "-A INPUT -p tcp --dport 5:3 -j ACCEPT", "invalid portrange (min > max)"),
    ("filter", "-A INPUT -p tcp --sport 5:3 -j ACCEPT", "invalid portrange (min > max)"),
    ("filter", "-A INPUT -p sctp --dport 5:3 -j ACCEPT", "invalid portrange (min > max)"),
    ("filter", "-A INPUT -p tcp --dport 70000 -j ACCEPT", "invalid port/service `70000' specified"),
    ("filter", "-A INPUT -p tcp --dport 0:70000 -j ACCEPT", "invalid port/service `70000' specified"),
    ("filter", "-A INPUT -p tcp --dport 5:3:1 -j ACCEPT", "invalid port/service `3:1' specified"),
    ("filter", "-A INPUT -p tcp --dport abc -j ACCEPT", "invalid port/service `abc' specified"),
    (
        "filter",
        "-A INPUT -p udp --dport 5:3:1 -j ACCEPT",
        "udp: Too many components for option \"--destination-port\" (max: 2)",
    ),
    ("filter", "-A INPUT -p udp --dport abc -j ACCEPT", "Port \"abc\" does not resolve to anything."),
    ("filter", "-A INPUT -p udp --dport -5 -j ACCEPT", "Port \"-5\" does not resolve to anything."),
    ("filter", "-A INPUT -p udp --dport 0x50 -j ACCEPT", "Port \"0x50\" does not resolve to anything."),
    ("filter", "-A INPUT -p tcp -m multiport --dports 5:3 -j ACCEPT", "invalid portrange specified"),
    ("filter", "-A INPUT -p udp -m multiport --ports 5:3 -j ACCEPT", "invalid portrange specified"),
    (
        "filter",
        "-A INPUT -p tcp -m multiport --dports 70000 -j ACCEPT",
        "invalid port/service `70000' specified",
    ),
    // interfaces in chains without them
    ("filter", "-A INPUT -o eth0 -j ACCEPT", "Can't use -o with INPUT"),
    ("filter", "-A OUTPUT -i eth0 -j ACCEPT", "Can't use -i with OUTPUT"),
    ("nat", "-A PREROUTING -o eth0 -j ACCEPT", "Can't use -o with PREROUTING"),
    ("nat", "-A POSTROUTING -i eth0 -j ACCEPT", "Can't use -i with POSTROUTING"),
    // options given twice
    (
        "filter",
        "-A INPUT -m comment --comment a --comment b -j ACCEPT",
        "comment: option \"--comment\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -m comment --comment a -m comment --comment b --comment c -j ACCEPT",
        "comment: option \"--comment\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -m addrtype --dst-type LOCAL --dst-type X -j ACCEPT",
        "addrtype: option \"--dst-type\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -m addrtype --src-type LOCAL --src-type LOCAL -j ACCEPT",
        "addrtype: option \"--src-type\" can only be used once.",
    ),
    ("filter", "-A INPUT -p tcp --dport 5 --dport 6 -j ACCEPT", "Only one `--destination-port' allowed"),
    ("filter", "-A INPUT -p tcp --sport 1 --source-port 2 -j ACCEPT", "Only one `--source-port' allowed"),
    (
        "filter",
        "-A INPUT -p tcp --syn --tcp-flags SYN SYN -j ACCEPT",
        "Only one of `--syn' or `--tcp-flags'  allowed",
    ),
    ("filter", "-A INPUT -p tcp --tcp-option 2 --tcp-option 3 -j ACCEPT", "Only one `--tcp-option' allowed"),
    (
        "filter",
        "-A INPUT -p udp --dport 1 --destination-port 2 -j ACCEPT",
        "udp: option \"--destination-port\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -p udp --sport 1 --sport 2 -j ACCEPT",
        "udp: option \"--source-port\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -p sctp -m sctp --dport 1 --dport 2 -j ACCEPT",
        "Only one `--destination-port' allowed",
    ),
    (
        "filter",
        "-A INPUT -p tcp -m multiport --dports 1 --dports 2 -j ACCEPT",
        "multiport: option \"--destination-ports\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -m conntrack --ctstate NEW --ctstate ESTABLISHED -j ACCEPT",
        "conntrack: option \"--ctstate\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -m conntrack --ctorigdstport 5 --ctorigdstport 6 -j ACCEPT",
        "conntrack: option \"--ctorigdstport\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -m state --state NEW --state NEW -j ACCEPT",
        "state: option \"--state\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -m mark --mark 1 --mark 2 -j ACCEPT",
        "mark: option \"--mark\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -p icmp --icmp-type 8 --icmp-type 0 -j ACCEPT",
        "icmp: option \"--icmp-type\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -m recent --set --name A --name B -j ACCEPT",
        "recent: option \"--name\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -m recent --rsource --rsource --set -j ACCEPT",
        "recent: option \"--rsource\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -m recent --set --rcheck -j ACCEPT",
        "recent: option \"--set\" cannot be used together with \"--rcheck\".",
    ),
    (
        "filter",
        "-A INPUT -m physdev --physdev-in a --physdev-in b -j ACCEPT",
        "physdev: option \"--physdev-in\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -m limit --limit 1/s --limit 2/s -j ACCEPT",
        "limit: option \"--limit\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -m connmark --mark 1 --mark 2 -j ACCEPT",
        "connmark: option \"--mark\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -m length --length 5 --length 6 -j ACCEPT",
        "length: option \"--length\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -m string --algo bm --string a --string b -j ACCEPT",
        "string: option \"--string\" can only be used once.",
    ),
    ("filter", "-A INPUT -p tcp -p udp -j ACCEPT", "multiple -p flags not allowed"),
    ("filter", "-A INPUT -s 1.1.1.1 ! -s 2.2.2.2 -j ACCEPT", "multiple -s flags not allowed"),
    ("filter", "-A INPUT -i a -i b -j ACCEPT", "multiple -i flags not allowed"),
    ("filter", "-A INPUT -o a -o b -j ACCEPT", "multiple -o flags not allowed"),
    ("filter", "-A INPUT -j ACCEPT -j DROP", "multiple -j flags not allowed"),
    (
        "filter",
        "-A INPUT -p tcp -j REJECT --reject-with tcp-reset --reject-with icmp-port-unreachable",
        "REJECT: option \"--reject-with\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -j MARK --set-xmark 1 --set-xmark 2",
        "MARK: option \"--set-xmark\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -j MARK --set-mark 1 --or-mark 2",
        "MARK: option \"--set-mark\" cannot be used together with \"--or-mark\".",
    ),
    (
        "filter",
        "-A INPUT -j LOG --log-prefix a --log-prefix b",
        "LOG: option \"--log-prefix\" can only be used once.",
    ),
    (
        "nat",
        "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1 --to-destination 10.0.0.2",
        "DNAT: option \"--to-destination\" can only be used once.",
    ),
    (
        "nat",
        "-A PREROUTING -p tcp -j DNAT --to-destination 1.1.1.1 --random --random",
        "DNAT: option \"--random\" can only be used once.",
    ),
    (
        "nat",
        "-A POSTROUTING -p tcp -j SNAT --to-source 1.1.1.1 --to-source 1.1.1.2",
        "SNAT: option \"--to-source\" can only be used once.",
    ),
    (
        "nat",
        "-A POSTROUTING -p tcp -j MASQUERADE --to-ports 5 --to-ports 6",
        "MASQUERADE: option \"--to-ports\" can only be used once.",
    ),
    (
        "nat",
        "-A PREROUTING -p tcp -j REDIRECT --to-ports 5 --to-ports 6",
        "REDIRECT: option \"--to-ports\" can only be used once.",
    ),
    (
        "filter",
        "-A INPUT -m policy --dir in --pol ipsec --proto esp --proto ah -j ACCEPT",
        "policy match: double --proto option",
    ),
    (
        "filter",
        "-A INPUT -m policy --dir in --pol ipsec --spi 1 --spi 2 -j ACCEPT",
        "policy match: double --spi option",
    ),
    (
        "filter",
        "-A INPUT -m policy --dir in --pol ipsec --strict --strict --proto esp -j ACCEPT",
        "policy: option \"--strict\" can only be used once.",
    ),
    // options that exclude each other
    (
        "filter",
        "-A INPUT -p tcp -m multiport --sports 1 --dports 2 -j ACCEPT",
        "multiport: option \"--source-ports\" cannot be used together with \"--destination-ports\".",
    ),
    (
        "filter",
        "-A INPUT -p tcp -m multiport --dports 1 --ports 2 -j ACCEPT",
        "multiport: option \"--destination-ports\" cannot be used together with \"--ports\".",
    ),
    (
        "filter",
        "-A INPUT -p tcp -m multiport --ports 1 --dports 2 -j ACCEPT",
        "multiport: option \"--destination-ports\" cannot be used together with \"--ports\".",
    ),
    (
        "filter",
        "-A INPUT -m hashlimit --hashlimit-name a --hashlimit-upto 1/s --hashlimit-above 2/s -j ACCEPT",
        "hashlimit: option \"--hashlimit-upto\" cannot be used together with \"--hashlimit-above\".",
    ),
    (
        "filter",
        "-A INPUT -m hashlimit --hashlimit-name a --hashlimit-above 1/s --hashlimit-upto 2/s -j ACCEPT",
        "hashlimit: option \"--hashlimit-upto\" cannot be used together with \"--hashlimit-above\".",
    ),
    (
        "filter",
        "-A INPUT -m connlimit --connlimit-above 1 --connlimit-upto 2 -j ACCEPT",
        "connlimit: option \"--connlimit-upto\" cannot be used together with \"--connlimit-above\".",
    ),
    (
        "filter",
        "-A INPUT -m connlimit --connlimit-upto 1 --connlimit-above 2 -j ACCEPT",
        "connlimit: option \"--connlimit-upto\" cannot be used together with \"--connlimit-above\".",
    ),
    (
        "filter",
        "-A INPUT -m ttl --ttl-eq 5 --ttl-gt 6 -j ACCEPT",
        "ttl: option \"--ttl-gt\" cannot be used together with \"--ttl-eq\".",
    ),
    (
        "filter",
        "-A INPUT -m ttl --ttl-gt 5 --ttl-eq 6 -j ACCEPT",
        "ttl: option \"--ttl-gt\" cannot be used together with \"--ttl-eq\".",
    ),
    (
        "filter",
        "-A INPUT -m ttl --ttl-lt 5 --ttl-gt 6 -j ACCEPT",
        "ttl: option \"--ttl-lt\" cannot be used together with \"--ttl-gt\".",
    ),
    (
        "filter",
        "-A INPUT -m dscp --dscp 5 --dscp-class AF11 -j ACCEPT",
        "dscp: option \"--dscp\" cannot be used together with \"--dscp-class\".",
    ),
    (
        "filter",
        "-A INPUT -m dscp --dscp-class AF11 --dscp 5 -j ACCEPT",
        "dscp: option \"--dscp\" cannot be used together with \"--dscp-class\".",
    ),
    (
        "filter",
        "-A INPUT -m statistic --mode random --every 2 --probability 0.5 -j ACCEPT",
        "statistic: option \"--probability\" cannot be used together with \"--every\".",
    ),
    (
        "filter",
        "-A INPUT -m recent --update --rcheck -j ACCEPT",
        "recent: option \"--rcheck\" cannot be used together with \"--update\".",
    ),
    (
        "filter",
        "-A INPUT -m recent --rcheck --set -j ACCEPT",
        "recent: option \"--set\" cannot be used together with \"--rcheck\".",
    ),
    (
        "filter",
        "-A INPUT -j MARK --or-mark 1 --set-mark 2",
        "MARK: option \"--set-mark\" cannot be used together with \"--or-mark\".",
    ),
    // NAT ports
    ("nat", "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:70000", "Port `70000' not valid"),
    ("nat", "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:5-70000", "Port `70000' not valid"),
    ("nat", "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:abc", "Port `abc' not valid"),
    ("nat", "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:", "Port `' not valid"),
    ("nat", "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:-5", "Port `-5' not valid"),
    ("nat", "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:5-0", "Port range `0' funky"),
    ("nat", "-A PREROUTING -p tcp -j DNAT --to-destination :5-3", "Port range `3' funky"),
    ("nat", "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:5x", "Garbage after port value: `x'"),
    ("nat", "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:5-6x", "Garbage after port range: `x'"),
    ("nat", "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:5:6", "Bad IP address \"10.0.0.1:5:6\""),
    ("nat", "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.300", "Bad IP address \"10.0.0.300\""),
    // TPROXY (XTTYPE_PORT: getaddrinfo; XTTYPE_HOST; XTTYPE_MARKMASK32)
    (
        "mangle",
        "-A PREROUTING -p tcp -j TPROXY --on-port 80:90",
        "Port \"80:90\" does not resolve to anything.",
    ),
    ("mangle", "-A PREROUTING -p tcp -j TPROXY --on-port -1", "Port \"-1\" does not resolve to anything."),
    (
        "mangle",
        "-A PREROUTING -p tcp -j TPROXY --on-port 0x50",
        "Port \"0x50\" does not resolve to anything.",
    ),
    ("mangle", "-A PREROUTING -p tcp -j TPROXY --on-port 8a", "Port \"8a\" does not resolve to anything."),
    (
        "mangle",
        "-A PREROUTING -p tcp -j TPROXY --on-port HTTP",
        "Port \"HTTP\" does not resolve to anything.",
    ),
    (
        "mangle",
        "-A PREROUTING -p tcp -j TPROXY --on-port 2147483648",
        "Port \"2147483648\" does not resolve to anything.",
    ),
    (
        "mangle",
        "-A PREROUTING -p tcp -j TPROXY --on-port 4294967295",
        "Port \"4294967295\" does not resolve to anything.",
    ),
    (
        "mangle",
        "-A PREROUTING -p tcp -j TPROXY --on-port 99999999999999999999",
        "Port \"99999999999999999999\" does not resolve to anything.",
    ),
    (
        "mangle",
        "-A PREROUTING -p tcp -j TPROXY --on-ip 1.2.3.4",
        "TPROXY: option \"--on-port\" must be specified",
    ),
    (
        "mangle",
        "-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-port 81",
        "TPROXY: option \"--on-port\" can only be used once.",
    ),
    (
        "mangle",
        "-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 1.2.3.4/24",
        "getaddrinfo: Name or service not known",
    ),
    (
        "mangle",
        "-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip ::1",
        "getaddrinfo: Address family for hostname not supported",
    ),
    (
        "mangle",
        "-A PREROUTING -p tcp -j TPROXY --on-port 80 --tproxy-mark 0x1/0x1/0x1",
        "TPROXY: trailing garbage after value for option \"--tproxy-mark\".",
    ),
    (
        "mangle",
        "-A PREROUTING -p tcp -j TPROXY --on-port 80 --tproxy-mark 1/",
        "TPROXY: bad integer value for option \"--tproxy-mark\", or out of range.",
    ),
    (
        "mangle",
        "-A PREROUTING -p tcp -j TPROXY --on-port 80 --tproxy-mark /1",
        "TPROXY: bad integer value for option \"--tproxy-mark\", or out of range.",
    ),
    (
        "mangle",
        "-A PREROUTING -p tcp -j TPROXY --on-port 80 --tproxy-mark -1",
        "TPROXY: bad integer value for option \"--tproxy-mark\", or out of range.",
    ),
    (
        "mangle",
        "-A PREROUTING -p tcp -j TPROXY --on-port 80 --tproxy-mark 0x1ffffffff",
        "TPROXY: bad integer value for option \"--tproxy-mark\", or out of range.",
    ),
    (
        "mangle",
        "-A PREROUTING -p tcp -j TPROXY --on-port 80 --tproxy-mark 0x1 --tproxy-mark 0x2",
        "TPROXY: option \"--tproxy-mark\" can only be used once.",
    ),
    // XTTYPE_MARKMASK32 elsewhere too
    (
        "mangle",
        "-A PREROUTING -j MARK --set-xmark 0x1/0x1/0x1",
        "MARK: trailing garbage after value for option \"--set-xmark\".",
    ),
    (
        "mangle",
        "-A PREROUTING -m mark --mark 5x -j ACCEPT",
        "mark: trailing garbage after value for option \"--mark\".",
    ),
    // --to-ports (parse_ports): a name only as the whole argument, the second port a number
    ("nat", "-A PREROUTING -p tcp -j REDIRECT --to-ports 80-http", "Port `http' not valid"),
    ("nat", "-A PREROUTING -p tcp -j REDIRECT --to-ports http-90", "Port `http-90' not valid"),
    ("nat", "-A PREROUTING -p tcp -j REDIRECT --to-ports HTTP", "Port `HTTP' not valid"),
    ("nat", "-A PREROUTING -p tcp -j REDIRECT --to-ports -90", "Port `-90' not valid"),
    ("nat", "-A PREROUTING -p tcp -j REDIRECT --to-ports 80-", "Port `' not valid"),
    ("nat", "-A PREROUTING -p tcp -j REDIRECT --to-ports 080", "Garbage after port value: `80'"),
    ("nat", "-A PREROUTING -p tcp -j REDIRECT --to-ports 80,90", "Garbage after port value: `,90'"),
    ("nat", "-A PREROUTING -p tcp -j REDIRECT --to-ports 80:90", "Invalid port:port syntax - use dash"),
    ("nat", "-A POSTROUTING -p tcp -j MASQUERADE --to-ports 80-90x", "Garbage after port range: `x'"),
    ("nat", "-A POSTROUTING -p udp -j MASQUERADE --to-ports 70000", "Port `70000' not valid"),
    (
        "nat",
        "-A POSTROUTING -p udplite -j MASQUERADE --to-ports 80",
        "Need TCP, UDP, SCTP or DCCP with port specification",
    ),
    ("nat", "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:80-http", "Port `http' not valid"),
    ("nat", "-A PREROUTING -p tcp -j REDIRECT --to-ports 5-3", "Port range `3' funky"),
    ("nat", "-A PREROUTING -p tcp -j REDIRECT --to-ports 70000", "Port `70000' not valid"),
    ("nat", "-A PREROUTING -p tcp -j REDIRECT --to-ports abc", "Port `abc' not valid"),
    // other words
    (
        "filter",
        "-A INPUT -m recent --rcheck --reap -j ACCEPT",
        "recent: option \"--reap\" also requires \"--seconds\".",
    ),
    (
        "filter",
        "-A INPUT -m recent --rcheck --seconds 0 -j ACCEPT",
        "recent: bad value for option \"--seconds\", or out of range (1-4294967295).",
    ),
    (
        "filter",
        "-A INPUT -m recent --rcheck --hitcount abc -j ACCEPT",
        "recent: bad value for option \"--hitcount\", or out of range (0-4294967295).",
    ),
    (
        "filter",
        "-A INPUT -m recent -j ACCEPT",
        "recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'",
    ),
    ("filter", "-A INPUT -p tcp -m multiport -j ACCEPT", "multiport expection an option"),
    (
        "filter",
        "-A INPUT -m multiport --dports 5 -j ACCEPT",
        "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'",
    ),
    (
        "filter",
        "-A INPUT -m mark --mark abc -j ACCEPT",
        "mark: bad integer value for option \"--mark\", or out of range.",
    ),
    (
        "filter",
        "-A INPUT -m mark --mark 1/abc -j ACCEPT",
        "mark: bad integer value for option \"--mark\", or out of range.",
    ),
    (
        "filter",
        "-A INPUT -j MARK --set-xmark abc",
        "MARK: bad integer value for option \"--set-xmark\", or out of range.",
    ),
    ("filter", "-A INPUT -m state --state NEW,BOGUS -j ACCEPT", "Bad state \"BOGUS\""),
    ("filter", "-A INPUT -m conntrack --ctstate BOGUS -j ACCEPT", "Bad ctstate \"BOGUS\""),
    ("filter", "-A INPUT -m conntrack --ctstatus BOGUS -j ACCEPT", "Bad ctstatus \"BOGUS\""),
    ("filter", "-A INPUT -m conntrack -j ACCEPT", "conntrack: At least one option is required"),
    ("filter", "-A INPUT -m state -j ACCEPT", "state: option \"--state\" must be specified"),
    ("filter", "-A INPUT -m comment -j ACCEPT", "comment: option \"--comment\" must be specified"),
    ("filter", "-A INPUT -m mark -j ACCEPT", "mark: option \"--mark\" must be specified"),
    ("filter", "-A INPUT -m addrtype -j ACCEPT", "addrtype: you must specify --src-type or --dst-type"),
    ("filter", "-A INPUT -m set -j ACCEPT", "You must specify `--match-set' with proper arguments"),
    ("filter", "-A INPUT -p tcp --tcp-option abc -j ACCEPT", "Bad TCP option \"abc\""),
    ("filter", "-A INPUT -p tcp --tcp-option 300 -j ACCEPT", "Bad TCP option \"300\""),
    ("filter", "-A INPUT -p tcp --tcp-flags SYN BOGUS -j ACCEPT", "Unknown TCP flag `BOGUS'"),
    ("filter", "-A INPUT -p tcp --tcp-flags SYN -j ACCEPT", "--tcp-flags requires two args."),
    ("filter", "-A INPUT -p icmp --icmp-type bogus -j ACCEPT", "Unknown ICMP type `bogus'"),
    ("filter", "-A INPUT -p icmp --icmp-type 300 -j ACCEPT", "Unknown ICMP type `300'"),
    ("filter", "-A INPUT -p icmp --icmp-type 8/300 -j ACCEPT", "Unknown ICMP code `8/300'"),
    ("filter", "-A INPUT -p bogus -j ACCEPT", "unknown protocol \"bogus\" specified"),
    ("filter", "-A INPUT ! -p all -j ACCEPT", "rule would never match protocol"),
    (
        "filter",
        "-A INPUT -i aaaaaaaaaaaaaaaa -j ACCEPT",
        "interface name `aaaaaaaaaaaaaaaa' must be shorter than IFNAMSIZ (15)",
    ),
    ("filter", "-A INPUT -s 1.2.3.0/33 -j ACCEPT", "invalid mask `33' specified"),
    ("filter", "-A INPUT -j ACCEPT --bogus", "unknown option \"--bogus\""),
    ("filter", "-A INPUT -j ACCEPT extra", "Bad argument `extra'"),
    ("filter", "-A INPUT ! ! -s 1.1.1.1 -j ACCEPT", "multiple consecutive ! not allowed"),
    ("filter", "-A INPUT -j ACCEPT !", "nothing appropriate following !"),
    ("filter", "-A INPUT ! -j ACCEPT", "cannot have ! before -j"),
    (
        "filter",
        "-A INPUT -m comment ! --comment a -j ACCEPT",
        "comment: option \"--comment\" cannot be inverted.",
    ),
    (
        "filter",
        "-A INPUT -m nfacct ! --nfacct-name a -j ACCEPT",
        "nfacct: option \"--nfacct-name\" cannot be inverted.",
    ),
    ("filter", "-A INPUT -m limit ! --limit 1/s -j ACCEPT", "limit: option \"--limit\" cannot be inverted."),
    (
        "filter",
        "-A INPUT -p tcp -j REJECT ! --reject-with tcp-reset",
        "REJECT: option \"--reject-with\" cannot be inverted.",
    ),
    (
        "nat",
        "-A PREROUTING -p tcp -j DNAT ! --to-destination 10.0.0.1",
        "DNAT: option \"--to-destination\" cannot be inverted.",
    ),
    // more words (the netsim probe of 2026-12-04)
    (
        "filter",
        "-A INPUT -m length --length 70000 -j ACCEPT",
        "length: bad value for option \"--length\" near \"70000\", or out of range (0-65535).",
    ),
    (
        "filter",
        "-A INPUT -m length --length 1:2:3 -j ACCEPT",
        "length: Too many components for option \"--length\" (max: 2)",
    ),
    (
        "filter",
        "-A INPUT -m conntrack --ctexpire abc -j ACCEPT",
        "conntrack: bad value for option \"--ctexpire\" near \"abc\", or out of range (0-4294967295).",
    ),
    (
        "filter",
        "-A INPUT -m conntrack --ctdir BOGUS -j ACCEPT",
        "conntrack: Bad value for \"--ctdir\" option: \"BOGUS\"",
    ),
    ("filter", "-A INPUT -j LOG --log-level 9", "log level \"9\" unknown"),
    ("filter", "-A INPUT -j LOG --log-level warn", "log level \"warn\" unknown"),
    ("filter", "-A INPUT -j LOG --log-level err", "log level \"err\" unknown"),
    (
        "filter",
        "-A INPUT -j KUBE-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Invalid target name `KUBE-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' (28 chars max)",
    ),
    (
        "filter",
        "-A INPUT -j AAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Invalid target name `AAAAAAAAAAAAAAAAAAAAAAAAAAAAA' (28 chars max)",
    ),
    ("filter", "-A INPUT -m addrtype --dst-type LOCALX -j ACCEPT", "addrtype: bad type \"LOCALX\""),
    ("filter", "-A INPUT -m addrtype --dst-type LOCAL, -j ACCEPT", "addrtype: bad type \"\""),
    ("filter", "-A INPUT -m addrtype --dst-type ,LOCAL -j ACCEPT", "addrtype: bad type `,LOCAL'"),
    ("filter", "-A INPUT -p sctp --dport 70000 -j ACCEPT", "invalid port/service `70000' specified"),
    ("filter", "-A INPUT -m limit --limit 0/s -j ACCEPT", "bad rate \"0/s\"'"),
    ("filter", "-A INPUT -j REJECT --reject-with icmp-bogus", "unknown reject type \"icmp-bogus\""),
    (
        "filter",
        "-A INPUT -p tcp -m multiport --dports 1:2,3:4,5:6,7:8,9:10,11:12,13:14,15:16 -j ACCEPT",
        "too many ports specified",
    ),
    (
        "nat",
        "-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:80 --random-fully",
        "unknown option \"--random-fully\"",
    ),
    (
        "nat",
        "-A POSTROUTING -j MASQUERADE --to-ports 80",
        "Need TCP, UDP, SCTP or DCCP with port specification",
    ),
    (
        "nat",
        "-A PREROUTING -j DROP",
        "The \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.",
    ),
    ("nat", "-A PREROUTING -p tcp -j DNAT", "DNAT: option \"--to-destination\" must be specified"),
    ("filter", "-A INPUT -m connmark -j ACCEPT", "connmark: option \"--mark\" must be specified"),
    (
        "filter",
        "-A INPUT -m connmark --mark abc -j ACCEPT",
        "connmark: bad integer value for option \"--mark\", or out of range.",
    ),
    ("filter", "-A INPUT -m mac --mac-source 00:11:22:33:44 -j ACCEPT", "Invalid MAC address specified."),
    (
        "filter",
        "-A INPUT -m ttl --ttl-eq 300 -j ACCEPT",
        "ttl: bad value for option \"--ttl-eq\", or out of range (0-255).",
    ),
    (
        "filter",
        "-A INPUT -m dscp --dscp 64 -j ACCEPT",
        "dscp: bad value for option \"--dscp\", or out of range (0-63).",
    ),
    ("filter", "-A INPUT -m tos --tos bogus -j ACCEPT", "Symbolic name \"bogus\" is unknown"),
    (
        "filter",
        "-A INPUT -m connlimit -j ACCEPT",
        "You must specify \"--connlimit-above\" or \"--connlimit-upto\".",
    ),
    (
        "filter",
        "-A INPUT -m devgroup -j ACCEPT",
        "devgroup match: You must specify either '--src-group' or '--dst-group'",
    ),
    ("filter", "-A INPUT -m string --string x -j ACCEPT", "string: option \"--algo\" must be specified"),
    (
        "filter",
        "-A OUTPUT -m owner --uid-owner abc -j ACCEPT",
        "owner: Bad value for \"--uid-owner\" option: \"abc\"",
    ),
    (
        "filter",
        "-A INPUT -j MARK",
        "MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required",
    ),
    (
        "filter",
        "-A INPUT -j NFLOG --nflog-group 70000",
        "NFLOG: bad value for option \"--nflog-group\", or out of range (0-65535).",
    ),
    ("filter", "-A INPUT -j AUDIT", "AUDIT: option \"--type\" must be specified"),
    ("filter", "-A INPUT -j SET --add-set X src", "Set X doesn't exist."),
    ("filter", "-A INPUT -w -j ACCEPT", "You cannot use `-w' from iptables-restore"),
    ("filter", "-A INPUT -s 10.1. -j ACCEPT", "host/network `10.1.' not found"),
    ("filter", "-A INPUT -s 1.2.3.4.5 -j ACCEPT", "host/network `1.2.3.4.5' not found"),
    (
        "mangle",
        "-A PREROUTING -j TTL --ttl-set 300",
        "TTL: bad value for option \"--ttl-set\", or out of range (0-255).",
    ),
    (
        "mangle",
        "-A PREROUTING -j DSCP --set-dscp 100",
        "DSCP: bad value for option \"--set-dscp\", or out of range (0-63).",
    ),
    ("raw", "-A PREROUTING -j CT --zone 70000", "Cannot parse 70000 as a zone ID"),
];

fn expected(c: &Case, e: Expect) -> Outcome {
    match e {
        Expect::Same => Outcome::Saved(a_lines(c.rules)),
        Expect::Saved(lines) => Outcome::Saved(lines.iter().map(|l| l.to_string()).collect()),
        Expect::Refused(n, m) => Outcome::Refused(n, m.to_string()),
    }
}

#[test]
fn measured_cases() {
    for c in CASES {
        for (backend, e) in [(Backend::Nft, c.nft), (Backend::Legacy, c.legacy)] {
            let got = netsim(c.rules, backend);
            assert!(got.agrees(&expected(c, e)), "{} ({backend:?}): netsim {got:?}", c.what);
        }
    }
    if let Some(why) = skip_reason() {
        println!("real binaries not run: {why}");
        return;
    }
    for c in CASES {
        for (backend, e) in [(Backend::Nft, c.nft), (Backend::Legacy, c.legacy)] {
            let (got, err) = real(c.rules, backend);
            assert_eq!(got, expected(c, e), "real iptables, {} ({backend:?}): {err}", c.what);
        }
    }
}

/// Each of [`REFUSED_ALIKE`], in netsim (both backends) and, when they can run, in the real
/// binaries: refused at line 2 with the recorded words.
#[test]
fn refusals_in_the_real_words() {
    let text = |table: &str, rule: &str| format!("*{table}\n{rule}\nCOMMIT\n");
    let mut wrong = Vec::new();
    for (table, rule, msg) in REFUSED_ALIKE {
        let want = Outcome::Refused(2, msg.to_string());
        for backend in [Backend::Nft, Backend::Legacy] {
            let got = netsim(&text(table, rule), backend);
            if !got.agrees(&want) {
                wrong.push(format!("{rule} ({backend:?}):\n  real:   {msg}\n  netsim: {got:?}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} disagree:\n{}",
        wrong.len(),
        REFUSED_ALIKE.len() * 2,
        wrong.join("\n")
    );
    if let Some(why) = skip_reason() {
        println!("real binaries not run: {why}");
        return;
    }
    for (table, rule, msg) in REFUSED_ALIKE {
        for backend in [Backend::Nft, Backend::Legacy] {
            let (got, err) = real(&text(table, rule), backend);
            assert_eq!(
                got,
                Outcome::Refused(2, msg.to_string()),
                "real iptables, {rule} ({backend:?}): {err}"
            );
        }
    }
}

/// A small xorshift generator: the test is reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One kube-proxy-shaped nat dump: services with endpoint chains, and with some probability
/// each of the forms the backends treat differently, and forms both refuse in their own words
/// (a probability out of range, a reversed or too large port, an option given twice, `-o` in
/// PREROUTING) or accept unlike netsim once did (`! -p tcp ! --dport`, a DNAT to port 0).
fn dump(rng: &mut Rng) -> String {
    let mut nat = String::from(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n:KUBE-POSTROUTING - [0:0]\n",
    );
    let mut rules = String::from(
        "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully\n",
    );
    if rng.below(12) == 0 {
        rules.push_str("-A PREROUTING -o eth0 -j KUBE-SERVICES\n");
    }
    if rng.below(12) == 0 {
        rules.push_str("-A PREROUTING -m addrtype --dst-type LOCAL --dst-type LOCAL -j RETURN\n");
    }
    // What the kernel refuses from some hooks: owner in a chain PREROUTING reaches, the
    // services' DNATs reached from POSTROUTING.
    if rng.below(12) == 0 {
        rules.push_str("-A KUBE-SERVICES -m owner --uid-owner 0 -j RETURN\n");
    }
    if rng.below(12) == 0 {
        rules.push_str("-A KUBE-POSTROUTING -j KUBE-SERVICES\n");
    }
    if rng.below(20) == 0 {
        rules.push_str(" \n");
    }
    let services = 1 + rng.below(4);
    for s in 0..services {
        let proto = ["tcp", "udp"][rng.below(2) as usize];
        let svc = format!("KUBE-SVC-{s:016X}");
        nat.push_str(&format!(":{svc} - [0:0]\n"));
        let ip = format!("10.96.0.{}", 10 + s);
        let port = 80 + s;
        let p = match rng.below(8) {
            // The forms the backends disagree on.
            0 => format!("! -p {proto} -m {proto}"),
            1 => format!("-m {proto}"),
            2 => format!("! -p {proto} !"),
            _ => format!("-p {proto} -m {proto}"),
        };
        let dport = match rng.below(16) {
            0 => "70000".to_string(),
            1 => format!("{}:{port}", port + 5),
            _ => port.to_string(),
        };
        let comment = match rng.below(12) {
            0 => format!("-m comment --comment \"default/svc{s}\" --comment \"again\" "),
            _ => format!("-m comment --comment \"default/svc{s}\" "),
        };
        rules.push_str(&format!("-A KUBE-SERVICES -d {ip}/32 {p} --dport {dport} {comment}-j {svc}\n"));
        let eps = 1 + rng.below(3);
        for e in 0..eps {
            let sep = format!("KUBE-SEP-{s:08X}{e:08X}");
            nat.push_str(&format!(":{sep} - [0:0]\n"));
            let left = eps - e;
            if left > 1 {
                let prob = if rng.below(16) == 0 { 1.5 } else { 1.0 / left as f64 };
                rules.push_str(&format!(
                    "-A {svc} -m statistic --mode random --probability {prob:.11} -j {sep}\n"
                ));
            } else {
                rules.push_str(&format!("-A {svc} -j {sep}\n"));
            }
            let ep = format!("10.244.{s}.{}", 2 + e);
            rules.push_str(&format!("-A {sep} -s {ep}/32 -j KUBE-MARK-MASQ\n"));
            let dnat = match rng.below(8) {
                0 => format!("-p icmp -j DNAT --to-destination {ep}:8080"),
                1 => format!("-p {proto} -j DNAT --to-destination {ep}-10.244.{s}.9:8080-8090"),
                2 => format!("-j DNAT --to-destination {ep}:8080"),
                3 => format!("-p {proto} -m {proto} -j DNAT --to-destination {ep}:0"),
                _ => format!("-p {proto} -m {proto} -j DNAT --to-destination {ep}:8080"),
            };
            rules.push_str(&format!("-A {sep} {dnat}\n"));
        }
    }
    if rng.below(4) == 0 {
        // A loop among chains nothing reaches.
        nat.push_str(":LOOP-A - [0:0]\n:LOOP-B - [0:0]\n");
        rules.push_str("-A LOOP-A -j LOOP-B\n-A LOOP-B -j LOOP-A\n");
    }
    // Address lists, service names, masks that are no prefix's, -f: accepted alike, or
    // refused alike in the real tools' words.
    if rng.below(6) == 0 {
        rules.push_str("-A KUBE-SERVICES -s 10.0.0.1,10.0.0.2/31 -d 10.96.0.1,10.96.0.2 -p tcp --dport https -j RETURN\n");
    }
    match rng.below(12) {
        0 => rules.push_str("-A KUBE-SERVICES -p udp --dport ntp -j RETURN\n"),
        1 => rules.push_str("-A KUBE-SERVICES -p tcp --dport ntp -j RETURN\n"),
        2 => rules.push_str("-A KUBE-SERVICES ! -s 1.1.1.1,2.2.2.2 -j RETURN\n"),
        3 => rules.push_str("-A KUBE-SERVICES -s 10.0.0.0/255.0.255.0 -f -j RETURN\n"),
        _ => {}
    }
    // NAT ports as numbers, service names and strtoul's forms (accepted or refused alike).
    if rng.below(6) == 0 {
        let to = ["http", "ftp-data", "80-http", "+80", "080", "0x50-0x60", "domain", "HTTP"]
            [rng.below(8) as usize];
        let target = if rng.below(2) == 0 { "REDIRECT" } else { "DNAT --to-destination 10.0.0.1:" };
        match target {
            "REDIRECT" => rules.push_str(&format!("-A KUBE-SERVICES -p tcp -j REDIRECT --to-ports {to}\n")),
            _ => rules.push_str(&format!("-A KUBE-SERVICES -p udp -j {target}{to}\n")),
        }
    }
    if rng.below(8) == 0 {
        let to = ["1000-2000", "ntp", "2000-1000", "ssh-90"][rng.below(4) as usize];
        rules.push_str(&format!("-A KUBE-POSTROUTING -p udp -j MASQUERADE --to-ports {to}\n"));
    }
    nat.push_str(&rules);
    nat.push_str("COMMIT\n");
    nat
}

#[test]
fn random_kube_proxy_shaped_dumps() {
    // `XTB_SEED` and `XTB_DUMPS` run other or more dumps (a longer differential by hand).
    let env =
        |k: &str| std::env::var(k).ok().map(|v| v.parse::<u64>().unwrap_or_else(|e| panic!("{k}={v}: {e}")));
    let mut rng = Rng(env("XTB_SEED").unwrap_or(0x9e37_79b9_7f4a_7c15));
    let dumps: Vec<String> = (0..env("XTB_DUMPS").unwrap_or(80)).map(|_| dump(&mut rng)).collect();
    // Both backends must at least load every dump without the protocol forms.
    let mut accepted = [0usize; 2];
    for d in &dumps {
        for (i, b) in [Backend::Nft, Backend::Legacy].into_iter().enumerate() {
            if matches!(netsim(d, b), Outcome::Saved(_)) {
                accepted[i] += 1;
            }
        }
    }
    println!("netsim accepts {} (nft) and {} (legacy) of {} dumps", accepted[0], accepted[1], dumps.len());
    assert!(accepted[0] > accepted[1], "nft accepts more forms than legacy");
    if let Some(why) = skip_reason() {
        println!("real binaries not run: {why}");
        return;
    }
    let mut messages = std::collections::BTreeSet::new();
    for (n, d) in dumps.iter().enumerate() {
        for b in [Backend::Nft, Backend::Legacy] {
            let (got, err) = real(d, b);
            let ours = netsim(d, b);
            assert!(
                ours.agrees(&got),
                "dump {n} ({b:?}): netsim {ours:?}, real {got:?}, real stderr: {err}\n{d}"
            );
            if let Outcome::Refused(_, m) = got {
                messages.insert(m);
            }
        }
    }
    println!("refusals compared, by message: {messages:#?}");
    assert!(messages.len() >= 5, "the generator exercises several refusals: {messages:?}");
}

fn have(cmd: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {cmd}")).output().is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn skip_reason() -> Option<&'static str> {
    if !have("iptables-nft-restore") || !have("iptables-legacy-restore") || !have("unshare") {
        return Some("iptables-nft-restore, iptables-legacy-restore or unshare is not installed");
    }
    if !is_root() {
        return Some("not root: cannot create a network namespace");
    }
    None
}

/// Restores `rules` with the real binary of `backend` in a network namespace of its own
/// (`unshare -n`, gone when the command ends) and saves it; also returns its stderr.
fn real(rules: &str, backend: Backend) -> (Outcome, String) {
    let b = match backend {
        Backend::Nft => "nft",
        Backend::Legacy => "legacy",
    };
    // Tests run in parallel: each call has a file of its own.
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("netsim-xtb-{}-{seq}-{b}.rules", std::process::id()));
    std::fs::write(&path, rules).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let script = format!("iptables-{b}-restore < {} && iptables-{b}-save", path.display());
    let out = Command::new("unshare")
        .args(["-n", "sh", "-c", &script])
        .output()
        .unwrap_or_else(|e| panic!("unshare: {e}"));
    let _ = std::fs::remove_file(&path);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        return (Outcome::Saved(a_lines(&String::from_utf8_lossy(&out.stdout))), err);
    }
    let line = refused_line(&err).unwrap_or_else(|| panic!("no line in: {err}"));
    (Outcome::Refused(line, real_message(&err)), err)
}

/// A rule for a table's first built-in chain, so that either backend creates the table.
fn one_rule(table: &str) -> String {
    let chain = if matches!(table, "filter" | "security") { "INPUT" } else { "PREROUTING" };
    format!("*{table}\n-A {chain} -j ACCEPT\nCOMMIT\n")
}

/// The `*table` lines of an `iptables-save`, in order.
fn table_lines(saved: &str) -> Vec<String> {
    saved.lines().filter_map(|l| l.strip_prefix('*')).map(str::to_string).collect()
}

/// Tables loaded one restore each, in `order`, and the order each backend's `iptables-save`
/// printed them in (v1.8.9, Linux 6.18): nft a fixed order, legacy the latest table first.
const TABLE_ORDERS: &[(&[&str], &[&str], &[&str])] = &[
    (
        &["nat", "filter", "mangle", "raw", "security"],
        &["mangle", "security", "raw", "filter", "nat"],
        &["security", "raw", "mangle", "filter", "nat"],
    ),
    (
        &["security", "raw", "mangle", "filter", "nat"],
        &["mangle", "security", "raw", "filter", "nat"],
        &["nat", "filter", "mangle", "raw", "security"],
    ),
    (&["filter", "nat"], &["filter", "nat"], &["nat", "filter"]),
    (&["mangle", "nat", "mangle"], &["mangle", "nat"], &["nat", "mangle"]),
];

#[test]
fn save_orders_tables_as_each_backend_does() {
    let mut wrong = Vec::new();
    for (order, nft, legacy) in TABLE_ORDERS {
        for (backend, want) in [(Backend::Nft, nft), (Backend::Legacy, legacy)] {
            let mut nf = Netfilter::new();
            nf.set_backend(backend);
            for t in *order {
                let opts =
                    RestoreOptions { noflush: true, backend: Some(backend), ..RestoreOptions::default() };
                nf.restore_with(&one_rule(t), opts).unwrap_or_else(|e| panic!("{t}: {e:?}"));
            }
            let got = table_lines(&nf.save(&SaveOptions::default()));
            if got != *want {
                wrong.push(format!("{order:?} ({backend:?}): netsim {got:?}, real {want:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    if let Some(why) = skip_reason() {
        println!("real binaries not run: {why}");
        return;
    }
    for (order, nft, legacy) in TABLE_ORDERS {
        for (b, want) in [("nft", nft), ("legacy", legacy)] {
            let restores: Vec<String> = order
                .iter()
                .map(|t| {
                    format!("printf '{}' | iptables-{b}-restore --noflush", one_rule(t).replace('\n', "\\n"))
                })
                .collect();
            let script = format!("{} && iptables-{b}-save", restores.join(" && "));
            let out = Command::new("unshare")
                .args(["-n", "sh", "-c", &script])
                .output()
                .unwrap_or_else(|e| panic!("unshare: {e}"));
            let saved = String::from_utf8_lossy(&out.stdout);
            assert_eq!(table_lines(&saved), *want, "real iptables-{b}, {order:?}");
        }
    }
}

/// The tables a backend registers without a rule: legacy any table it opens (a restore's
/// `*table`, `-L`, `-S`, a refused `-A`, `-F`), nft only a table it gives a chain or a
/// rule (measured with v1.8.9).
#[test]
fn which_commands_register_a_table() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("-t raw -L", &[], &["raw"]),
        ("-t nat -S", &[], &["nat"]),
        ("-t nat -F", &[], &["nat"]),
        ("-t nat -Z", &[], &["nat"]),
        ("-t mangle -A NOPE -j ACCEPT", &[], &["mangle"]),
        ("-t nat -N X", &["nat"], &["nat"]),
        ("-t nat -P PREROUTING ACCEPT", &["nat"], &["nat"]),
    ];
    for (cmd, nft, legacy) in cases {
        for (backend, want) in [(Backend::Nft, nft), (Backend::Legacy, legacy)] {
            let mut nf = Netfilter::new();
            nf.set_backend(backend);
            let args: Vec<&str> = cmd.split(' ').collect();
            let _ = nf.command(&args);
            assert_eq!(table_lines(&nf.save(&SaveOptions::default())), *want, "{cmd} ({backend:?})");
        }
    }
    for (backend, want) in [(Backend::Nft, &[][..]), (Backend::Legacy, &["mangle"][..])] {
        // `iptables-save -t mangle` opens the table.
        let mut nf = Netfilter::new();
        nf.set_backend(backend);
        nf.open_table(sim_net::netfilter::TableName::Mangle);
        assert_eq!(table_lines(&nf.save(&SaveOptions::default())), want, "save -t ({backend:?})");
    }
    for (backend, want) in [(Backend::Nft, &[][..]), (Backend::Legacy, &["nat", "raw"][..])] {
        let mut nf = Netfilter::new();
        nf.set_backend(backend);
        let opts = RestoreOptions { backend: Some(backend), ..RestoreOptions::default() };
        nf.restore_with("*raw\nCOMMIT\n*nat\nCOMMIT\n", opts).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(table_lines(&nf.save(&SaveOptions::default())), want, "empty blocks ({backend:?})");
    }
    if let Some(why) = skip_reason() {
        println!("real binaries not run: {why}");
        return;
    }
    for (cmd, nft, legacy) in cases {
        for (b, want) in [("nft", nft), ("legacy", legacy)] {
            let script = format!("iptables-{b} {cmd} >/dev/null 2>&1; iptables-{b}-save");
            let out = Command::new("unshare")
                .args(["-n", "sh", "-c", &script])
                .output()
                .unwrap_or_else(|e| panic!("unshare: {e}"));
            assert_eq!(table_lines(&String::from_utf8_lossy(&out.stdout)), *want, "real iptables-{b} {cmd}");
        }
    }
}

/// `-p` forms and the prot column `iptables -L` prints for each: without `-n` (measured with
/// v1.8.9, both backends alike; v1.8.4 names them the same, `getprotobynumber` first), and with
/// `-n` as v1.8.4 prints it (`proto_to_name(proto, 1)`: libxtables' own names only). v1.8.9
/// prints every protocol as its number with `-n` (`6`, `0` for all), a regression of that
/// release (netfilter bugzilla 1729) that v1.8.10 undid; the model's nodes say v1.8.4.
const PROT_COLUMN: &[(&str, &str, &str)] = &[
    ("-p tcp", "tcp", "tcp"),
    ("-p udp", "udp", "udp"),
    ("-p icmp", "icmp", "icmp"),
    ("-p sctp", "sctp", "sctp"),
    ("", "all", "all"),
    ("-p all", "all", "all"),
    ("-p 0", "all", "all"),
    ("-p 6", "tcp", "tcp"),
    ("! -p tcp", "!tcp", "!tcp"),
    ("-p 47", "gre", "47"),
    ("! -p 47", "!gre", "!47"),
    ("-p esp", "esp", "esp"),
    ("-p ah", "ah", "ah"),
    ("-p udplite", "udplite", "udplite"),
    ("-p dccp", "dccp", "33"),
    ("-p 58", "ipv6-icmp", "icmpv6"),
    ("-p 135", "mobility-header", "ipv6-mh"),
    ("-p 255", "255", "255"),
    ("-p 200", "200", "200"),
    ("-p igmp", "igmp", "2"),
    ("-p ipencap", "ipencap", "4"),
    ("-p 41", "ipv6", "41"),
    ("-p ospf", "ospf", "89"),
];

/// The prot column of each rule row of an `iptables -L CHAIN` (no `-v`, no line numbers),
/// without the opt column a long name runs into: v1.8.4 prints the name `%-5s` (`udplite--`),
/// v1.8.9 `%-4s ` (`udplite --`).
fn prot_tokens(listing: &str) -> Vec<String> {
    listing
        .lines()
        .skip(2)
        .filter_map(|l| {
            // target is `%-9s `; the column starts with `!` or a space.
            let rest = l.get(10..)?;
            let t = rest.split_whitespace().next()?;
            Some(t.strip_suffix("--").unwrap_or(t).to_string())
        })
        .collect()
}

#[test]
fn list_prints_the_protocol_column_as_iptables_does() {
    for backend in [Backend::Nft, Backend::Legacy] {
        let mut nf = Netfilter::new();
        nf.set_backend(backend);
        for (p, _, _) in PROT_COLUMN {
            let mut args: Vec<&str> = vec!["-A", "INPUT"];
            args.extend(p.split_whitespace());
            args.extend(["-j", "ACCEPT"]);
            nf.command(&args).unwrap_or_else(|e| panic!("{p}: {e}"));
        }
        let named: Vec<&str> = PROT_COLUMN.iter().map(|c| c.1).collect();
        let numeric: Vec<&str> = PROT_COLUMN.iter().map(|c| c.2).collect();
        assert_eq!(prot_tokens(&nf.command(&["-L", "INPUT"]).unwrap()), named, "{backend:?}");
        assert_eq!(prot_tokens(&nf.command(&["-L", "INPUT", "-n"]).unwrap()), numeric, "{backend:?} -n");
        // -v and --line-numbers move the column, not its text.
        let v = nf.command(&["-L", "INPUT", "-n", "-v", "--line-numbers"]).unwrap();
        assert!(
            v.lines().nth(2).is_some_and(|l| l.starts_with("1        0     0 ACCEPT     tcp  --  *")),
            "{v}"
        );
    }
    if let Some(why) = skip_reason() {
        println!("real binaries not run: {why}");
        return;
    }
    for b in ["nft", "legacy"] {
        let adds: Vec<String> =
            PROT_COLUMN.iter().map(|(p, _, _)| format!("iptables-{b} -A INPUT {p} -j ACCEPT")).collect();
        let script =
            format!("{} && iptables-{b} -L INPUT && echo --- && iptables-{b} -L INPUT -n", adds.join(" && "));
        let out = Command::new("unshare")
            .args(["-n", "sh", "-c", &script])
            .output()
            .unwrap_or_else(|e| panic!("unshare: {e}"));
        let text = String::from_utf8_lossy(&out.stdout);
        let (named, numeric) = text.split_once("---\n").unwrap_or_else(|| panic!("iptables-{b}: {text}"));
        let want: Vec<&str> = PROT_COLUMN.iter().map(|c| c.1).collect();
        assert_eq!(prot_tokens(named), want, "real iptables-{b} -L");
        let v189: Vec<String> = prot_tokens(numeric);
        if v189.first().is_some_and(|t| t == "6") {
            println!("iptables-{b} -L -n prints protocol numbers (v1.8.9's regression), not v1.8.4's names");
        }
    }
}

/// A rule set whose `iptables -L` without `-n` names what the model's files know: `anywhere`,
/// `any`, `localhost`, `loopback/8`, `default/1`, services, ICMP types (the listings of
/// v1.8.9 and of v1.8.4 are alike where the prot column has at most four letters).
const NAMED_LISTING: &str = "*filter\n:KUBE-X - [0:0]\n-A INPUT -i eth0 -s 127.0.0.1 -d 10.96.0.0/12 -p tcp --dport 443 -m comment --comment \"a b\" -j ACCEPT\n-A INPUT -p udp --sport 53 --dport 1000:2000 -j ACCEPT\n-A INPUT -p tcp -m multiport --dports 80,443,6000:6010 -j ACCEPT\n-A INPUT -p udp -m multiport --ports 123 -j ACCEPT\n-A INPUT -p tcp --sport 22:1023 ! --dport 80:443 -j ACCEPT\n-A INPUT -p tcp ! --dport 9153 -j ACCEPT\n-A INPUT -p udp --dport 80 -j ACCEPT\n-A INPUT -p icmp --icmp-type echo-request -j ACCEPT\n-A INPUT -p icmp ! --icmp-type 8 -j ACCEPT\n-A INPUT -p icmp --icmp-type 3/1 -j ACCEPT\n-A INPUT -p icmp --icmp-type 200 -j ACCEPT\n-A INPUT -p icmp --icmp-type any -j ACCEPT\n-A INPUT -p icmp --icmp-type 3/200 -j ACCEPT\n-A INPUT ! -s 10.0.0.0/255.0.255.0 -j KUBE-X\n-A INPUT -s 127.0.0.0/8 -d 0.0.0.0/1 -j ACCEPT\n-A INPUT -s 169.254.0.0/16 -d 169.254.169.254 -j DROP\n-A INPUT ! -i eth0 -s 1.2.3.4 -j DROP\n-A FORWARD -o cali+ -p tcp -m conntrack --ctstate NEW --ctorigdstport 443 -j ACCEPT\nCOMMIT\n*nat\n-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:443\n-A OUTPUT -p tcp -j REDIRECT --to-ports 53\nCOMMIT\n";

#[test]
fn list_without_n_names_what_the_files_name() {
    let lists: [&[&str]; 4] =
        [&["-L", "-v"], &["-L", "--line-numbers"], &["-t", "nat", "-L"], &["-L", "INPUT", "-n"]];
    let mut nf = Netfilter::new();
    nf.restore(NAMED_LISTING, false).unwrap_or_else(|e| panic!("{e:?}"));
    let ours: Vec<String> =
        lists.iter().map(|a| nf.command(a).unwrap_or_else(|e| panic!("{a:?}: {e}"))).collect();
    let filter_v = &ours[0];
    for want in [
        "    0     0 ACCEPT     tcp  --  eth0   any     localhost            10.96.0.0/12         tcp dpt:https /* a b */",
        "    0     0 ACCEPT     udp  --  any    any     anywhere             anywhere             udp spt:domain dpts:1000:2000",
        "    0     0 ACCEPT     tcp  --  any    any     anywhere             anywhere             multiport dports http,https,x11:6010",
        "    0     0 ACCEPT     icmp --  any    any     anywhere             anywhere             icmp !echo-request",
        "    0     0 ACCEPT     all  --  any    any     loopback/8           default/1           ",
    ] {
        assert!(filter_v.lines().any(|l| l == want), "no line {want:?} in:\n{filter_v}");
    }
    if let Some(why) = skip_reason() {
        println!("real binaries not run: {why}");
        return;
    }
    let path = std::env::temp_dir().join(format!("netsim-xtb-{}-named.rules", std::process::id()));
    std::fs::write(&path, NAMED_LISTING).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for b in ["nft", "legacy"] {
        let cmds: Vec<String> =
            lists.iter().map(|a| format!("iptables-{b} {} && echo ===", a.join(" "))).collect();
        let script = format!("iptables-{b}-restore < {} && {}", path.display(), cmds.join(" && "));
        let out = Command::new("unshare")
            .args(["-n", "sh", "-c", &script])
            .output()
            .unwrap_or_else(|e| panic!("unshare: {e}"));
        let text = String::from_utf8_lossy(&out.stdout);
        let real: Vec<&str> = text.split("===\n").collect();
        for (i, a) in lists.iter().enumerate() {
            let r = real.get(i).copied().unwrap_or_default();
            if a.contains(&"-n") {
                // v1.8.9's -n prot column is numeric (see PROT_COLUMN): compare the rest.
                let mask = |s: &str| -> Vec<String> {
                    s.lines()
                        .map(|l| format!("{}{}", l.get(..10).unwrap_or(l), l.get(15..).unwrap_or("")))
                        .collect()
                };
                assert_eq!(mask(&ours[i]), mask(r), "iptables-{b} {a:?}");
            } else {
                assert_eq!(ours[i], r, "iptables-{b} {a:?}");
            }
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// Extension targets whose `-L` text is each extension's own `print` (loaded as two restores,
/// the second `--noflush`, after `ipset create S hash:ip`).
const EXT_TARGETS: [&str; 2] = [
    "*mangle\n-A PREROUTING -j CONNMARK --restore-mark\n-A PREROUTING -j CONNMARK --save-mark\n-A PREROUTING -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xf\n-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xf\n-A PREROUTING -j CONNMARK --set-xmark 0x5/0xffffffff\n-A PREROUTING -j CONNMARK --set-xmark 0x0/0xffff0000\n-A PREROUTING -j CONNMARK --set-xmark 0x5/0x0\n-A PREROUTING -j CONNMARK --set-xmark 0x5/0xff\n-A PREROUTING -j TTL --ttl-inc 2\n-A PREROUTING -j DSCP --set-dscp-class EF\n-A PREROUTING -j SET --add-set S src,dst --exist --timeout 10\n-A PREROUTING -j SET --del-set S dst\n-A PREROUTING -j SET --map-set S dst --map-mark\nCOMMIT\n*raw\n-A PREROUTING -j CT --ctevents new,related\n-A PREROUTING -j CT --expevents new\n-A PREROUTING -j CT --zone-orig 3\n-A PREROUTING -j CT --zone-reply 4\n-A PREROUTING -j CT --zone mark\n-A PREROUTING -j CT --notrack --zone 2\nCOMMIT\n*filter\n-A INPUT -j NFLOG --nflog-size 100 --nflog-threshold 3\n-A INPUT -j AUDIT --type accept\nCOMMIT\n",
    "*mangle\n-A PREROUTING -p tcp -j TPROXY --on-port 80 --on-ip 1.2.3.4 --tproxy-mark 0x1/0xff\n-A PREROUTING -p tcp -j TPROXY --on-port 80\n-A POSTROUTING -p udp -j CHECKSUM --checksum-fill\n-A POSTROUTING -j TTL --ttl-set 5\n-A POSTROUTING -j TTL --ttl-dec 1\n-A POSTROUTING -j DSCP --set-dscp 10\n-A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\n-A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1400\n-A PREROUTING -j CONNMARK --restore-mark --mask 0xff\n-A PREROUTING -j CONNMARK --save-mark --nfmask 0xff --ctmask 0xff\n-A PREROUTING -j CONNMARK --set-xmark 0x1/0x1\nCOMMIT\n*nat\n-A PREROUTING -j NETMAP --to 10.0.0.0/8\nCOMMIT\n*raw\n-A PREROUTING -j CT --notrack\n-A PREROUTING -j CT --zone 5\n-A PREROUTING -p tcp -j CT --helper ftp\n-A PREROUTING -j TRACE\nCOMMIT\n*filter\n-A INPUT -j NFLOG --nflog-group 5 --nflog-prefix \"x y\"\n-A INPUT -j AUDIT --type drop\nCOMMIT\n",
];

/// What `iptables -L -n` printed after the destination column for each rule of
/// [`EXT_TARGETS`], table by table (mangle, nat, raw, filter; v1.8.9, both backends).
const EXT_TARGET_TEXTS: &[&str] = &[
    " CONNMARK restore",
    " CONNMARK save",
    " CONNMARK save nfmask 0xff ctmask ~0xf",
    " CONNMARK restore ctmask 0xf nfmask ~0xff",
    " CONNMARK set 0x5",
    " CONNMARK and 0xffff",
    " CONNMARK xor 0x5",
    " CONNMARK xset 0x5/0xff",
    " TTL increment by 2",
    " DSCP set 0x2e",
    " add-set S src,dst exist timeout 10",
    " del-set S dst",
    " map-set S dst map-mark",
    " TPROXY redirect 1.2.3.4:80 mark 0x1/0xff",
    " TPROXY redirect 0.0.0.0:80 mark 0x0/0x0",
    " CONNMARK restore mask 0xff",
    " CONNMARK save mask 0xff",
    " CONNMARK or 0x1",
    " tcp flags:0x06/0x02 TCPMSS clamp to PMTU",
    " tcp flags:0x06/0x02 TCPMSS set 1400",
    " CHECKSUM fill",
    " TTL set to 5",
    " TTL decrement by 1",
    " DSCP set 0x0a",
    " to:10.0.0.0/8",
    " CT ctevents new,related",
    " CT expevents new",
    " CT zone-orig 3",
    " CT zone-reply 4",
    " CT zone mark",
    " CT notrack zone 2",
    " CT notrack",
    " CT zone 5",
    " CT helper ftp",
    "",
    " nflog-size 100 nflog-threshold 3",
    " AUDIT accept",
    " nflog-prefix \"x y\" nflog-group 5",
    " AUDIT drop",
];

/// The rule rows of `iptables -t T -L -n` for mangle, nat, raw and filter.
fn ext_rows(list: &mut dyn FnMut(&str) -> String) -> Vec<String> {
    ["mangle", "nat", "raw", "filter"]
        .iter()
        .flat_map(|t| {
            list(t)
                .lines()
                .filter(|l| !(l.starts_with("Chain") || l.starts_with("target") || l.is_empty()))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn extension_targets_list_as_their_print_functions() {
    let mut nf = Netfilter::new();
    nf.ipset(&["create", "S", "hash:ip"]).unwrap_or_else(|e| panic!("{e}"));
    nf.restore(EXT_TARGETS[0], false).unwrap_or_else(|e| panic!("{e:?}"));
    nf.restore(EXT_TARGETS[1], true).unwrap_or_else(|e| panic!("{e:?}"));
    let ours = ext_rows(&mut |t| nf.command(&["-t", t, "-L", "-n"]).unwrap_or_else(|e| panic!("{t}: {e}")));
    let tails: Vec<&str> = ours.iter().map(|l| l.get(61..).unwrap_or_default()).collect();
    assert_eq!(tails, EXT_TARGET_TEXTS);
    if let Some(why) = skip_reason() {
        println!("real binaries not run: {why}");
        return;
    }
    if !have("ipset") {
        println!("ipset is not installed: the real binaries not run");
        return;
    }
    for b in ["nft", "legacy"] {
        let files: Vec<std::path::PathBuf> = EXT_TARGETS
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let p =
                    std::env::temp_dir().join(format!("netsim-xtb-{}-ext{i}-{b}.rules", std::process::id()));
                std::fs::write(&p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                p
            })
            .collect();
        let script = format!(
            "ipset create S hash:ip && iptables-{b}-restore < {} && iptables-{b}-restore --noflush < {} && for t in mangle nat raw filter; do iptables-{b} -t $t -L -n; done",
            files[0].display(),
            files[1].display()
        );
        let out = Command::new("unshare")
            .args(["-n", "sh", "-c", &script])
            .output()
            .unwrap_or_else(|e| panic!("unshare: {e}"));
        for f in &files {
            let _ = std::fs::remove_file(f);
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let rows: Vec<String> = text
            .lines()
            .filter(|l| !(l.starts_with("Chain") || l.starts_with("target") || l.is_empty()))
            .map(str::to_string)
            .collect();
        let real: Vec<&str> = rows.iter().map(|l| l.get(61..).unwrap_or_default()).collect();
        assert_eq!(real, EXT_TARGET_TEXTS, "real iptables-{b}: {}", String::from_utf8_lossy(&out.stderr));
        let targets =
            |v: &[String]| v.iter().map(|l| l.get(..10).unwrap_or_default().to_string()).collect::<Vec<_>>();
        assert_eq!(targets(&ours), targets(&rows), "iptables-{b}");
    }
}

/// Extension matches whose `-L` text is each extension's own `print`, with `-n` and without.
const EXT_MATCHES: &str = "*filter\n-A INPUT -m physdev --physdev-in eth0 ! --physdev-is-bridged -j ACCEPT\n-A INPUT -m physdev --physdev-is-in -j ACCEPT\n-A INPUT -m limit --limit 5/min --limit-burst 10 -j ACCEPT\n-A INPUT -m limit --limit 100/sec -j ACCEPT\n-A INPUT -m hashlimit --hashlimit-upto 10/sec --hashlimit-burst 20 --hashlimit-mode srcip --hashlimit-name hl1 -j ACCEPT\n-A INPUT -m connmark --mark 0x1/0xff -j ACCEPT\n-A INPUT -m connmark ! --mark 0x1 -j ACCEPT\n-A INPUT -p tcp -m connlimit --connlimit-above 10 --connlimit-mask 24 -j DROP\n-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.9 ! --dst-range 10.1.0.1-10.1.0.2 -j ACCEPT\n-A INPUT -m length --length 100:200 -j ACCEPT\n-A INPUT -m length ! --length 64 -j ACCEPT\n-A INPUT -m mac --mac-source 00:11:22:33:44:55 -j ACCEPT\n-A INPUT -m pkttype --pkt-type multicast -j ACCEPT\n-A INPUT -m devgroup --src-group 0x2 -j ACCEPT\n-A INPUT -p tcp -m helper --helper ftp -j ACCEPT\n-A INPUT -m ttl --ttl-gt 5 -j ACCEPT\n-A INPUT -m ttl --ttl-eq 64 -j ACCEPT\n-A INPUT -m dscp --dscp 0x0a -j ACCEPT\n-A INPUT -m tos --tos 0x10/0x3f -j ACCEPT\n-A INPUT -p sctp -m sctp --sport 5000 --dport 80:90 -j ACCEPT\n-A INPUT -p sctp -m sctp --chunk-types any INIT -j ACCEPT\n-A INPUT -m policy --dir in --pol ipsec -j ACCEPT\n-A OUTPUT -m policy --dir out --pol none -j ACCEPT\n-A OUTPUT -m owner --uid-owner 0 -j ACCEPT\n-A OUTPUT -m owner --uid-owner 1000-2000 --gid-owner 5 -j ACCEPT\n-A OUTPUT -m owner --socket-exists -j ACCEPT\n-A INPUT -p tcp -m socket --transparent --nowildcard -j ACCEPT\n-A INPUT -p tcp -m socket -j ACCEPT\n-A INPUT -m string --string \"GET /\" --algo bm --to 65 -j DROP\n-A INPUT -m u32 --u32 \"0>>22&0x3C@12>>26&0x3C@0=0x47455420\" -j DROP\n-A FORWARD -m physdev --physdev-out veth+ --physdev-is-out -j ACCEPT\n-A INPUT -m hashlimit --hashlimit-above 1mb/s --hashlimit-burst 2mb --hashlimit-mode srcip,dstport --hashlimit-name hl2 --hashlimit-htable-size 64 --hashlimit-htable-max 128 --hashlimit-htable-expire 5000 --hashlimit-srcmask 24 -j DROP\n-A INPUT -m hashlimit --hashlimit-upto 50/min --hashlimit-burst 3 --hashlimit-name hl3 --hashlimit-htable-gcinterval 2000 -j ACCEPT\n-A INPUT -p tcp -m connlimit --connlimit-upto 3 --connlimit-daddr -j ACCEPT\n-A INPUT -m iprange ! --src-range 10.0.0.1-10.0.0.9 -j ACCEPT\n-A INPUT -m mac ! --mac-source aa:bb:cc:dd:ee:ff -j ACCEPT\n-A INPUT -m pkttype ! --pkt-type broadcast -j ACCEPT\n-A INPUT -m helper ! --helper sip -j ACCEPT\n-A INPUT -m dscp ! --dscp 0x2e -j ACCEPT\n-A INPUT -m tos ! --tos Minimize-Delay -j ACCEPT\n-A INPUT -m tos --tos 0x08 -j ACCEPT\n-A INPUT -m tos --tos 0x10/0xff -j ACCEPT\n-A INPUT -m ttl --ttl-lt 3 -j ACCEPT\n-A INPUT -m ttl ! --ttl-eq 3 -j ACCEPT\n-A INPUT -p sctp -m sctp ! --dport 5000 --chunk-types all DATA:Be,INIT -j ACCEPT\n-A INPUT -p sctp -m sctp ! --chunk-types only ABORT -j ACCEPT\n-A INPUT -p sctp -m sctp --sport 80 -j ACCEPT\n-A INPUT -m policy --dir in --pol ipsec --strict --reqid 5 --spi 0x10 --proto esp --mode tunnel --tunnel-src 10.0.0.1 --tunnel-dst 10.0.0.2 --next --proto ah -j ACCEPT\n-A INPUT -m policy --dir in --pol ipsec ! --reqid 5 -j ACCEPT\n-A INPUT -m string --hex-string \"|00ff|abc\" --algo kmp --from 10 --icase -j DROP\n-A INPUT -m string ! --string \"a\\\"b\" --algo bm -j DROP\n-A INPUT -m length --length :100 -j ACCEPT\n-A INPUT -m length --length 100: -j ACCEPT\n-A INPUT -m limit --limit 3/hour -j ACCEPT\n-A INPUT -m limit --limit 2/day --limit-burst 1 -j ACCEPT\n-A OUTPUT -m devgroup ! --dst-group 0x1/0xf -j ACCEPT\n-A INPUT -m connmark --mark 0x0 -j ACCEPT\n-A OUTPUT -m owner ! --uid-owner 0 -j ACCEPT\n-A OUTPUT -m owner --gid-owner 0 --suppl-groups -j ACCEPT\n-A OUTPUT -m owner ! --socket-exists -j ACCEPT\n-A OUTPUT -m owner --uid-owner 65534 -j ACCEPT\n-A INPUT -p tcp -m socket --restore-skmark -j ACCEPT\nCOMMIT\n*raw\n-A PREROUTING -m rpfilter --invert -j DROP\n-A PREROUTING -m rpfilter --loose --validmark -j ACCEPT\nCOMMIT\n";

/// What `iptables -t filter|raw -L -n` printed after the destination column for each rule of
/// [`EXT_MATCHES`] (v1.8.9, both backends alike).
const EXT_MATCH_TEXTS_N: &[&str] = &[
    " PHYSDEV match --physdev-in eth0 ! --physdev-is-bridged",
    " PHYSDEV match --physdev-is-in",
    " limit: avg 5/min burst 10",
    " limit: avg 100/sec burst 5",
    " limit: up to 10/sec burst 20 mode srcip",
    " connmark match  0x1/0xff",
    " connmark match ! 0x1",
    " #conn src/24 > 10",
    " source IP range 10.0.0.1-10.0.0.9 destination IP range ! 10.1.0.1-10.1.0.2",
    " length 100:200",
    " length !64",
    " MAC 00:11:22:33:44:55",
    " PKTTYPE = multicast",
    " src-group 0x2",
    " helper match \"ftp\"",
    " TTL match TTL > 5",
    " TTL match TTL == 64",
    " DSCP match 0x0a",
    " tos match0x10/0x3f",
    " sctp spt:5000 dpts:80:90",
    " sctp any 0x0001",
    " policy match dir in pol ipsec",
    " socket --transparent --nowildcard",
    " socket",
    " STRING match  \"GET /\" ALGO name bm TO 65",
    " u32 \"0x0>>0x16&0x3c@0xc>>0x1a&0x3c@0x0=0x47455420\"",
    " limit: above 1mb/s burst 2mb mode srcip-dstport htable-size 64 htable-max 128 htable-expire 5000 srcmask 24",
    " limit: up to 50/min burst 3 htable-gcinterval 2000",
    " #conn dst/32 <= 3",
    " source IP range ! 10.0.0.1-10.0.0.9",
    " MAC ! aa:bb:cc:dd:ee:ff",
    " PKTTYPE != broadcast",
    " helper match ! \"sip\"",
    " DSCP match !0x2e",
    " tos match!0x10/0x3f",
    " tos match0x08/0xff",
    " tos match0x10/0xff",
    " TTL match TTL < 3",
    " TTL match TTL != 3",
    " sctp dpt:!5000 all 0x0000:Be,0x0001",
    " sctp ! only 0x0006",
    " sctp spt:80",
    " policy match dir in pol ipsec strict [0] reqid 5 spi 0x10 proto 50 mode tunnel tunnel-dst 10.0.0.2 tunnel-src 10.0.0.1 [1] proto 51",
    " policy match dir in pol ipsec ! reqid 5",
    " STRING match  \"|00ff616263|\" ALGO name kmp FROM 10 ICASE",
    " STRING match ! \"a\\\"b\" ALGO name bm",
    " length 0:100",
    " length 100:65535",
    " limit: avg 3/hour burst 5",
    " limit: avg 2/day burst 1",
    " connmark match  0x0",
    " socket --restore-skmark",
    " PHYSDEV match --physdev-is-out --physdev-out veth+",
    " policy match dir out pol none",
    " owner UID match 0",
    " owner UID match 1000-2000 owner GID match 5",
    " owner socket exists",
    " ! dst-group 0x1/0xf",
    " ! owner UID match 0",
    " owner GID match 0 incl. suppl. groups",
    " ! owner socket exists",
    " owner UID match 65534",
    " rpfilter invert",
    " rpfilter loose validmark",
];

/// The same without `-n` (users, groups, services, SCTP chunks, TOS values by name).
const EXT_MATCH_TEXTS: &[&str] = &[
    " PHYSDEV match --physdev-in eth0 ! --physdev-is-bridged",
    " PHYSDEV match --physdev-is-in",
    " limit: avg 5/min burst 10",
    " limit: avg 100/sec burst 5",
    " limit: up to 10/sec burst 20 mode srcip",
    " connmark match  0x1/0xff",
    " connmark match ! 0x1",
    " #conn src/24 > 10",
    " source IP range 10.0.0.1-10.0.0.9 destination IP range ! 10.1.0.1-10.1.0.2",
    " length 100:200",
    " length !64",
    " MAC 00:11:22:33:44:55",
    " PKTTYPE = multicast",
    " src-group 0x2",
    " helper match \"ftp\"",
    " TTL match TTL > 5",
    " TTL match TTL == 64",
    " DSCP match 0x0a",
    " tos match Minimize-Delay",
    " sctp spt:5000 dpts:80:90",
    " sctp any INIT",
    " policy match dir in pol ipsec",
    " socket --transparent --nowildcard",
    " socket",
    " STRING match  \"GET /\" ALGO name bm TO 65",
    " u32 \"0x0>>0x16&0x3c@0xc>>0x1a&0x3c@0x0=0x47455420\"",
    " limit: above 1mb/s burst 2mb mode srcip-dstport htable-size 64 htable-max 128 htable-expire 5000 srcmask 24",
    " limit: up to 50/min burst 3 htable-gcinterval 2000",
    " #conn dst/32 <= 3",
    " source IP range ! 10.0.0.1-10.0.0.9",
    " MAC ! aa:bb:cc:dd:ee:ff",
    " PKTTYPE != broadcast",
    " helper match ! \"sip\"",
    " DSCP match !0x2e",
    " tos match! Minimize-Delay",
    " tos match0x08/0xff",
    " tos match0x10/0xff",
    " TTL match TTL < 3",
    " TTL match TTL != 3",
    " sctp dpt:!5000 all DATA:Be,INIT",
    " sctp ! only ABORT",
    " sctp spt:80",
    " policy match dir in pol ipsec strict [0] reqid 5 spi 0x10 proto esp mode tunnel tunnel-dst 10.0.0.2 tunnel-src 10.0.0.1 [1] proto ah",
    " policy match dir in pol ipsec ! reqid 5",
    " STRING match  \"|00ff616263|\" ALGO name kmp FROM 10 ICASE",
    " STRING match ! \"a\\\"b\" ALGO name bm",
    " length 0:100",
    " length 100:65535",
    " limit: avg 3/hour burst 5",
    " limit: avg 2/day burst 1",
    " connmark match  0x0",
    " socket --restore-skmark",
    " PHYSDEV match --physdev-is-out --physdev-out veth+",
    " policy match dir out pol none",
    " owner UID match root",
    " owner UID match 1000-2000 owner GID match tty",
    " owner socket exists",
    " ! dst-group 0x1/0xf",
    " ! owner UID match root",
    " owner GID match root incl. suppl. groups",
    " ! owner socket exists",
    " owner UID match nobody",
    " rpfilter invert",
    " rpfilter loose validmark",
];

/// The text after the destination column of each rule row of `iptables -t filter|raw -L`.
fn match_tails(list: &mut dyn FnMut(&str) -> String) -> Vec<String> {
    ["filter", "raw"]
        .iter()
        .flat_map(|t| {
            list(t)
                .lines()
                .filter(|l| !(l.starts_with("Chain") || l.starts_with("target") || l.is_empty()))
                .map(|l| l.get(61..).unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn extension_matches_list_as_their_print_functions() {
    let mut nf = Netfilter::new();
    nf.restore(EXT_MATCHES, false).unwrap_or_else(|e| panic!("{e:?}"));
    for (flag, want) in [(Some("-n"), EXT_MATCH_TEXTS_N), (None, EXT_MATCH_TEXTS)] {
        let ours = match_tails(&mut |t| {
            let mut args = vec!["-t", t, "-L"];
            args.extend(flag);
            nf.command(&args).unwrap_or_else(|e| panic!("{t}: {e}"))
        });
        assert_eq!(ours, want, "-L {flag:?}");
    }
    if let Some(why) = skip_reason() {
        println!("real binaries not run: {why}");
        return;
    }
    let path = std::env::temp_dir().join(format!("netsim-xtb-{}-ext-matches.rules", std::process::id()));
    std::fs::write(&path, EXT_MATCHES).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for b in ["nft", "legacy"] {
        for (flag, want) in [("-n", EXT_MATCH_TEXTS_N), ("", EXT_MATCH_TEXTS)] {
            let script = format!(
                "iptables-{b}-restore < {} && iptables-{b} -t filter -L {flag} && echo ==== && iptables-{b} -t raw -L {flag}",
                path.display()
            );
            let out = Command::new("unshare")
                .args(["-n", "sh", "-c", &script])
                .output()
                .unwrap_or_else(|e| panic!("unshare: {e}"));
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let (filter, raw) = text.split_once("====\n").unwrap_or((&text, ""));
            let real = match_tails(&mut |t| if t == "filter" { filter.to_string() } else { raw.to_string() });
            assert_eq!(real, want, "real iptables-{b} -L {flag}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// Built-in matches and targets in `iptables -L` forms, with `-n` and without (tcp flags and LOG
/// levels by name, `-j NOTRACK` listed as CT).
const BUILTIN_LISTING: &str = "*filter\n:X - [0:0]\n-A INPUT -p tcp --tcp-flags SYN,RST,ACK SYN -j ACCEPT\n-A INPUT -p tcp ! --tcp-flags ALL NONE -j ACCEPT\n-A INPUT -p tcp --tcp-option 2 -j ACCEPT\n-A INPUT -p tcp --syn -j ACCEPT\n-A INPUT -m mark --mark 0x4000/0x4000 -j ACCEPT\n-A INPUT -m mark ! --mark 0x1 -j ACCEPT\n-A INPUT -m addrtype --src-type LOCAL,UNICAST ! --dst-type BROADCAST --limit-iface-in -j ACCEPT\n-A INPUT -m statistic --mode random --probability 0.25 -j ACCEPT\n-A INPUT -m statistic --mode nth ! --every 3 --packet 2 -j ACCEPT\n-A INPUT -m recent --name R --rcheck --seconds 60 --hitcount 3 --rttl --rsource -j DROP\n-A INPUT -m recent ! --set --name S --rdest -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -m conntrack ! --ctstate INVALID --ctproto tcp --ctorigsrc 10.0.0.0/8 ! --ctorigdst 1.2.3.4 --ctreplsrc 5.6.7.8 --ctrepldst 9.9.9.9/24 -j ACCEPT\n-A INPUT -m conntrack --ctstatus ASSURED,SEEN_REPLY --ctexpire 10:20 --ctdir ORIGINAL -j ACCEPT\n-A INPUT -m conntrack --ctorigsrcport 1000:2000 ! --ctorigdstport 80 --ctreplsrcport 53 --ctrepldstport 1:2 -j ACCEPT\n-A INPUT -m state --state NEW,UNTRACKED -j ACCEPT\n-A INPUT -m state ! --state INVALID -j ACCEPT\n-A INPUT -m comment --comment \"hello \\\"w\\\"\" -j ACCEPT\n-A INPUT -m comment --comment plain -j ACCEPT\n-A INPUT -p tcp -m multiport ! --dports 22,80:90 -j ACCEPT\n-A INPUT -p icmp --icmp-type 3/3 -j REJECT --reject-with icmp-host-prohibited\n-A INPUT -p tcp -j REJECT --reject-with tcp-reset\n-A INPUT -j REJECT\n-A INPUT -j LOG --log-prefix \"p: \" --log-level 6 --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode\n-A INPUT -j LOG\n-A INPUT -f -j DROP\n-A INPUT -g X\n-A OUTPUT -j MARK --set-xmark 0x4000/0x4000\n-A OUTPUT -j MARK --set-mark 0x1\n-A OUTPUT -j MARK --and-mark 0xff\n-A OUTPUT -j MARK --or-mark 0x2\n-A OUTPUT -j MARK --xor-mark 0x3\n-A OUTPUT -j MARK --set-xmark 0x3/0xf\n-A OUTPUT -j RETURN\nCOMMIT\n*nat\n-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1-10.0.0.5:80-90 --random --persistent\n-A PREROUTING -j DNAT --to-destination 10.0.0.7\n-A PREROUTING -p tcp -j DNAT --to-destination :80\n-A POSTROUTING -j SNAT --to-source 1.2.3.4-1.2.3.9 --persistent\n-A POSTROUTING -p tcp -j SNAT --to-source 1.2.3.4:1000-2000 --random-fully\n-A POSTROUTING -j MASQUERADE --random\n-A POSTROUTING -j MASQUERADE --random-fully\n-A POSTROUTING -p udp -j MASQUERADE --to-ports 1000-2000 --random\n-A OUTPUT -p udp -j REDIRECT\nCOMMIT\n*raw\n-A PREROUTING -j CT --notrack\n-A OUTPUT -j NOTRACK\nCOMMIT\n";

#[test]
fn builtin_matches_and_targets_list_as_iptables_does() {
    let mut nf = Netfilter::new();
    nf.restore(BUILTIN_LISTING, false).unwrap_or_else(|e| panic!("{e:?}"));
    let mut ours = |args: &[&str]| nf.command(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let filter = ours(&["-L", "INPUT", "-v"]);
    for want in [
        "tcp flags:SYN,RST,ACK/SYN",
        "tcp flags:!FIN,SYN,RST,PSH,ACK,URG/NONE",
        "ctrepldst 9.9.9.9/24",
        "LOG level info tcp-sequence tcp-options ip-options uid macdecode prefix \"p: \"",
        "LOG level warn",
    ] {
        assert!(filter.contains(want), "no {want:?} in:\n{filter}");
    }
    let numeric = ours(&["-L", "INPUT", "-v", "-n"]);
    assert!(numeric.contains("tcp flags:0x16/0x02") && numeric.contains("LOG flags 47 level 6"), "{numeric}");
    let raw = ours(&["-t", "raw", "-L", "OUTPUT"]);
    assert!(
        raw.lines()
            .nth(2)
            .is_some_and(|l| l.starts_with("CT         all  --  anywhere") && l.ends_with(" NOTRACK")),
        "{raw}"
    );
    if let Some(why) = skip_reason() {
        println!("real binaries not run: {why}");
        return;
    }
    let path = std::env::temp_dir().join(format!("netsim-xtb-{}-builtin.rules", std::process::id()));
    std::fs::write(&path, BUILTIN_LISTING).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for b in ["nft", "legacy"] {
        for t in ["filter", "nat", "raw"] {
            let script = format!("iptables-{b}-restore < {} && iptables-{b} -t {t} -L -v", path.display());
            let out = Command::new("unshare")
                .args(["-n", "sh", "-c", &script])
                .output()
                .unwrap_or_else(|e| panic!("unshare: {e}"));
            assert_eq!(
                ours(&["-t", t, "-L", "-v"]),
                String::from_utf8_lossy(&out.stdout),
                "iptables-{b} -t {t} -L -v"
            );
        }
    }
    let _ = std::fs::remove_file(&path);
}
