//! The two iptables 1.8 backends, legacy and nft, against the real binaries.
//!
//! Real `iptables-legacy-restore` and `iptables-nft-restore` accept different rule sets; netsim
//! models both (`RestoreOptions::backend`). Two tests:
//!
//! - `measured_cases`: a table of rule sets with what each real binary did with them (v1.8.9,
//!   recorded here; accepted and reprinted, or refused at a line), asserted against netsim
//!   everywhere, and re-measured against the installed binaries when the test runs as root;
//! - `random_kube_proxy_shaped_dumps`: a seeded generator of kube-proxy-shaped dumps, each with
//!   a few of the forms the backends disagree on; for each backend, netsim and the real binary
//!   must agree on acceptance, on the refused line, and on the canonical `iptables-save`
//!   (only when the real binaries can run: root, iptables installed; otherwise skipped with a
//!   notice). The real binaries run in network namespaces the test creates, never the
//!   machine's own.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use sim_net::netfilter::{Backend, Netfilter, RestoreOptions, SaveOptions};

/// What a backend did with a rule set: the `iptables-save` rules (`-A` lines, in order) or the
/// line it refused.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Saved(Vec<String>),
    Refused(usize),
}

fn netsim(rules: &str, backend: Backend) -> Outcome {
    let mut nf = Netfilter::new();
    let opts = RestoreOptions { backend: Some(backend), ..RestoreOptions::default() };
    match nf.restore_with(rules, opts) {
        Ok(()) => Outcome::Saved(a_lines(&nf.save(&SaveOptions::default()))),
        Err(e) => Outcome::Refused(e.line),
    }
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
    /// Refused at this line.
    Refused(usize),
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
        legacy: Expect::Refused(3),
    },
    Case {
        what: "-m udp without -p",
        rules: "*filter\n-A INPUT -m udp --sport 53 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(2),
        legacy: Expect::Refused(3),
    },
    Case {
        what: "-p udp -m tcp",
        rules: "*filter\n-A INPUT -p udp -m tcp --dport 53 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(2),
        legacy: Expect::Refused(3),
    },
    Case {
        what: "! -p icmp -m icmp (an xtables match on nft too: the kernel refuses it)",
        rules: "*filter\n-A INPUT ! -p tcp -m tcp --dport 53 -j ACCEPT\n-A INPUT ! -p icmp -m icmp --icmp-type 8 -j ACCEPT\nCOMMIT\n",
        nft: Expect::Refused(3),
        legacy: Expect::Refused(4),
    },
    Case {
        what: "a DNAT port without -p",
        rules: "*nat\n-A PREROUTING -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n",
        nft: Expect::Refused(2),
        legacy: Expect::Refused(2),
    },
    Case {
        what: "DNAT and SNAT ranges with their flags",
        rules: "*nat\n-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1-10.0.0.5:80-90 --random --persistent\n-A PREROUTING -j DNAT --to-destination 10.0.0.7-10.0.0.9\n-A PREROUTING -p tcp -j DNAT --to-destination :80\n-A POSTROUTING -j SNAT --to-source 1.2.3.4-1.2.3.9 --persistent\n-A POSTROUTING -p tcp -j SNAT --to-source 1.2.3.4-1.2.3.9:1000-2000 --random-fully\nCOMMIT\n",
        nft: Expect::Same,
        legacy: Expect::Same,
    },
];

fn expected(c: &Case, e: Expect) -> Outcome {
    match e {
        Expect::Same => Outcome::Saved(a_lines(c.rules)),
        Expect::Refused(n) => Outcome::Refused(n),
    }
}

#[test]
fn measured_cases() {
    for c in CASES {
        for (backend, e) in [(Backend::Nft, c.nft), (Backend::Legacy, c.legacy)] {
            assert_eq!(netsim(c.rules, backend), expected(c, e), "{} ({backend:?})", c.what);
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

/// One kube-proxy-shaped nat+filter dump: services with endpoint chains, and with
/// probability each of the forms the backends treat differently.
fn dump(rng: &mut Rng) -> String {
    let mut nat = String::from(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n:KUBE-POSTROUTING - [0:0]\n",
    );
    let mut rules = String::from(
        "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully\n",
    );
    let services = 1 + rng.below(4);
    for s in 0..services {
        let proto = ["tcp", "udp"][rng.below(2) as usize];
        let svc = format!("KUBE-SVC-{s:016X}");
        nat.push_str(&format!(":{svc} - [0:0]\n"));
        let ip = format!("10.96.0.{}", 10 + s);
        let port = 80 + s;
        let p = match rng.below(6) {
            // The forms the backends disagree on.
            0 => format!("! -p {proto} -m {proto}"),
            1 => format!("-m {proto}"),
            _ => format!("-p {proto} -m {proto}"),
        };
        rules.push_str(&format!("-A KUBE-SERVICES -d {ip}/32 {p} --dport {port} -j {svc}\n"));
        let eps = 1 + rng.below(3);
        for e in 0..eps {
            let sep = format!("KUBE-SEP-{s:08X}{e:08X}");
            nat.push_str(&format!(":{sep} - [0:0]\n"));
            let left = eps - e;
            if left > 1 {
                let prob = 1.0 / left as f64;
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
    nat.push_str(&rules);
    nat.push_str("COMMIT\n");
    nat
}

#[test]
fn random_kube_proxy_shaped_dumps() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let dumps: Vec<String> = (0..40).map(|_| dump(&mut rng)).collect();
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
    for (n, d) in dumps.iter().enumerate() {
        for b in [Backend::Nft, Backend::Legacy] {
            let (got, err) = real(d, b);
            assert_eq!(netsim(d, b), got, "dump {n} ({b:?}), real stderr: {err}\n{d}");
        }
    }
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
    (Outcome::Refused(refused_line(&err).unwrap_or_else(|| panic!("no line in: {err}"))), err)
}
