//! netsim's nftables against the real `nft`.
//!
//! Each `data/nft/NAME.nft` has a `NAME.listed`: what the real `nft list ruleset` (nftables
//! v1.0.6) printed after `nft -f NAME.nft` in a fresh network namespace. Two tests:
//!
//! - `netsim_lists_what_real_nft_listed`: netsim's `nft list ruleset` of each file is that text,
//!   byte for byte, and loading the listed text gives the same listing again (runs everywhere);
//! - `differential_against_the_installed_nft`: when `nft` is installed and the test runs as
//!   root, it loads each file with the real `nft` in a namespace it creates (never the
//!   machine's own) and compares the real listing with netsim's (for kube-proxy.nft also
//!   `nft list table`, `list chain`, `list map` and `list set`). Otherwise it prints why it is
//!   skipped. (`.ci/run` installs `nftables`.)
//!
//! `kube-proxy.nft` is upstream's `TestOverallNFTablesRules` transaction
//! (`pkg/proxy/nftables/proxier_test.go`) for services svc1 to svc6, with each
//! endpoint chain created before the service chain that jumps to it (the kernel needs a jump
//! target to exist when the rule is added).

use std::process::Command;

use sim_net::nftables::{Family, Nftables};

const FILES: [(&str, &str, &str); 13] = [
    ("kube-proxy", include_str!("data/nft/kube-proxy.nft"), include_str!("data/nft/kube-proxy.listed")),
    ("constructs", include_str!("data/nft/constructs.nft"), include_str!("data/nft/constructs.listed")),
    ("commands", include_str!("data/nft/commands.nft"), include_str!("data/nft/commands.listed")),
    ("elements", include_str!("data/nft/elements.nft"), include_str!("data/nft/elements.listed")),
    ("ipv6", include_str!("data/nft/ipv6.nft"), include_str!("data/nft/ipv6.listed")),
    ("deletes", include_str!("data/nft/deletes.nft"), include_str!("data/nft/deletes.listed")),
    ("canonical", include_str!("data/nft/canonical.nft"), include_str!("data/nft/canonical.listed")),
    ("reject", include_str!("data/nft/reject.nft"), include_str!("data/nft/reject.listed")),
    ("payloads", include_str!("data/nft/payloads.nft"), include_str!("data/nft/payloads.listed")),
    ("families", include_str!("data/nft/families.nft"), include_str!("data/nft/families.listed")),
    ("limits", include_str!("data/nft/limits.nft"), include_str!("data/nft/limits.listed")),
    ("meta", include_str!("data/nft/meta.nft"), include_str!("data/nft/meta.listed")),
    ("merges", include_str!("data/nft/merges.nft"), include_str!("data/nft/merges.listed")),
];

fn netsim_list(name: &str, text: &str) -> String {
    let mut n = Nftables::new();
    n.apply_file(name, text).unwrap_or_else(|e| panic!("{e}"));
    n.list_ruleset()
}

/// Fails with the differing lines.
fn assert_same(ours: &str, real: &str, what: &str) {
    if ours == real {
        return;
    }
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), real.lines().collect());
    let first = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let show =
        |v: &[&str]| v.iter().skip(first).take(6).map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n");
    panic!(
        "netsim differs from {what} at line {} ({} vs {} lines):\nnetsim:\n{}\nreal:\n{}",
        first + 1,
        a.len(),
        b.len(),
        show(&a),
        show(&b)
    );
}

#[test]
fn netsim_lists_what_real_nft_listed() {
    for (name, text, listed) in FILES {
        let ours = netsim_list(name, text);
        assert_same(&ours, listed, &format!("the recorded nft list ruleset of {name}.nft"));
        // The listing is itself valid input that lists the same — except where nft's own is
        // not: a merged interval set of one range lists as `{ 10.0.0.0/24 }`, which nft (and
        // netsim) read back as the plain `10.0.0.0/24`.
        if name != "canonical" {
            assert_eq!(netsim_list(name, listed), listed, "{name}: listing of the listing");
        }
    }
}

fn have(cmd: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {cmd}")).output().is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A network namespace that is deleted when dropped.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Option<Netns> {
        let name = format!("nsim-nft-{}-{tag}", std::process::id());
        let ok = Command::new("ip").args(["netns", "add", &name]).status().is_ok_and(|s| s.success());
        ok.then_some(Netns(name))
    }
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.0])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("ip netns exec: {e}"))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Loads `text` with the real nft and returns the output of each `nft list ...` in `lists`.
fn real_lists(name: &str, text: &str, lists: &[&[&str]]) -> Result<Vec<String>, String> {
    let ns = Netns::new(name).ok_or("cannot create a network namespace")?;
    let path = std::env::temp_dir().join(format!("{}.nft", ns.0));
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    let load = ns.run(&["nft", "-f", &path.display().to_string()]);
    let _ = std::fs::remove_file(&path);
    if !load.status.success() {
        return Err(String::from_utf8_lossy(&load.stderr).into_owned());
    }
    let mut outs = Vec::new();
    for args in lists {
        let out = ns.run(&[&["nft", "list"], *args].concat());
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        outs.push(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    Ok(outs)
}

/// The `nft list` commands compared on kube-proxy.nft besides `list ruleset`.
const KUBE_PROXY_LISTS: [&[&str]; 4] = [
    &["table", "ip", "kube-proxy"],
    &["chain", "ip", "kube-proxy", "services"],
    &["map", "ip", "kube-proxy", "service-ips"],
    &["set", "ip", "kube-proxy", "cluster-ips"],
];

fn netsim_lists(n: &Nftables, args: &[&str]) -> Option<String> {
    match args {
        ["table", "ip", t] => n.list_table(Family::Ip, t),
        ["chain", "ip", t, c] => n.list_chain(Family::Ip, t, c),
        ["map" | "set", "ip", t, s] => n.list_set(Family::Ip, t, s),
        _ => None,
    }
}

#[test]
fn differential_against_the_installed_nft() {
    if !have("nft") || !have("ip") {
        println!("skipped: nft or ip is not installed (apt-get install nftables iproute2)");
        return;
    }
    if !is_root() {
        println!("skipped: creating a network namespace needs root");
        return;
    }
    if Netns::new("probe").is_none() {
        println!("skipped: cannot create a network namespace here");
        return;
    }
    for (name, text, _) in FILES {
        let lists: Vec<&[&str]> = if name == "kube-proxy" {
            [&["ruleset"][..]].into_iter().chain(KUBE_PROXY_LISTS).collect()
        } else {
            vec![&["ruleset"]]
        };
        let real =
            real_lists(name, text, &lists).unwrap_or_else(|e| panic!("real nft refused {name}.nft: {e}"));
        let mut n = Nftables::new();
        n.apply_file(name, text).unwrap_or_else(|e| panic!("{e}"));
        for (args, real) in lists.iter().zip(&real) {
            let ours = if args == &["ruleset"] { Some(n.list_ruleset()) } else { netsim_lists(&n, args) };
            let what = format!("the installed nft's `nft list {}` on {name}.nft", args.join(" "));
            assert_same(&ours.unwrap_or_default(), real, &what);
        }
    }
}

/// Inputs nft refuses, and the first error it prints (`FILE` stands for the file name).
const REFUSED: [(&str, &str); 110] = [
    (
        "table ip e {\n\tset i { type integer; }\n}\n",
        "FILE:2:6-6: Error: unqualified type integer specified in set definition. Try \"typeof expression\" instead of \"type datatype\".\n\tset i { type integer; }\n\t    ^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tip daddr 1.2.3.4 frobnicate\n\t}\n}\n",
        "FILE:3:30-30: Error: syntax error, unexpected newline\n\t\tip daddr 1.2.3.4 frobnicate\n\t\t                           ^",
    ),
    (
        "add rule ip nope c accept\n",
        "FILE:1:13-16: Error: Could not process rule: No such file or directory\nadd rule ip nope c accept\n            ^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tjump nowhere\n\t}\n}\n",
        "FILE:3:8-14: Error: Could not process rule: No such file or directory\n\t\tjump nowhere\n\t\t     ^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tip daddr 1.2.3.400 accept\n\t}\n}\n",
        "FILE:3:12-20: Error: Could not resolve hostname: Name or service not known\n\t\tip daddr 1.2.3.400 accept\n\t\t         ^^^^^^^^^",
    ),
    (
        "table ip x { chain c { tcp dport 80 accept",
        "FILE:1:43-43: Error: syntax error, unexpected end of file, expecting newline or semicolon\ntable ip x { chain c { tcp dport 80 accept\n                                          ^",
    ),
    (
        "table ip t {\n\tchain c { type nat hook output priority dstnat; }\n}\n",
        "FILE:2:33-47: Error: invalid priority expression value in this context.\n\tchain c { type nat hook output priority dstnat; }\n\t                               ^^^^^^^^^^^^^^^",
    ),
    // Names are unquoted strings (nft's `identifier`); a command ends at a newline, a
    // semicolon or the end of the file, a set's key type may go on with `.`, its flags with `,`.
    (
        "add table ip t\nadd chain ip t \"c\"\n",
        "FILE:2:16-18: Error: syntax error, unexpected quoted string, expecting string\nadd chain ip t \"c\"\n               ^^^",
    ),
    (
        "add table ip t\nadd chain ip t c\ndelete chain ip t \"c\"\n",
        "FILE:3:19-21: Error: syntax error, unexpected quoted string, expecting handle or string\ndelete chain ip t \"c\"\n                  ^^^",
    ),
    (
        "add table ip t\nadd chain ip t c\nadd chain ip t d\nadd rule ip t d jump \"c\"\n",
        "FILE:4:22-24: Error: syntax error, unexpected quoted string, expecting '{'\nadd rule ip t d jump \"c\"\n                     ^^^",
    ),
    (
        "add table ip t\nadd chain ip t 5x\n",
        "FILE:2:16-16: Error: syntax error, unexpected number, expecting string\nadd chain ip t 5x\n               ^",
    ),
    (
        "add table ip t bogus\nadd chain ip t d\n",
        "FILE:1:16-20: Error: syntax error, unexpected string, expecting end of file or newline or semicolon\nadd table ip t bogus\n               ^^^^^",
    ),
    (
        "add table ip t\nadd set ip t s { type ipv4_addr bogus; }\n",
        "FILE:2:33-37: Error: syntax error, unexpected string, expecting newline or semicolon or .\nadd set ip t s { type ipv4_addr bogus; }\n                                ^^^^^",
    ),
    (
        "add table ip t\nadd set ip t s { type ipv4_addr; flags interval bogus; }\n",
        "FILE:2:49-53: Error: syntax error, unexpected string, expecting newline or semicolon or comma\nadd set ip t s { type ipv4_addr; flags interval bogus; }\n                                                ^^^^^",
    ),
    // Values, ranges, chain declarations, NAT and reject dependencies, intervals.
    (
        "add table ip t\nadd chain ip t c\nadd rule ip t c tcp dport 90-80 accept\n",
        "FILE:3:27-31: Error: Range has zero or negative size\nadd rule ip t c tcp dport 90-80 accept\n                          ^^^^^",
    ),
    (
        "add table ip t\nadd set ip t s { type inet_service; flags interval; }\nadd element ip t s { 20-10 }\n",
        "FILE:3:22-26: Error: Range has zero or negative size\nadd element ip t s { 20-10 }\n                     ^^^^^",
    ),
    (
        "add table ip t\nadd chain ip t c\nadd rule ip t c th dport 70000 accept\n",
        "FILE:3:26-30: Error: Service out of range\nadd rule ip t c th dport 70000 accept\n                         ^^^^^",
    ),
    (
        "add table ip t\nadd set ip t s { type inet_service; }\nadd element ip t s { 10-20 }\n",
        "FILE:3:22-26: Error: You must add 'flags interval' to your set declaration if you want to add range elements\nadd element ip t s { 10-20 }\n                     ^^^^^",
    ),
    (
        "add table ip t\nadd set ip t s { type ipv4_addr; }\nadd element ip t s { 10.0.0.0/8 }\n",
        "FILE:3:22-31: Error: You must add 'flags interval' to your set declaration if you want to add prefix elements\nadd element ip t s { 10.0.0.0/8 }\n                     ^^^^^^^^^^",
    ),
    (
        "add table ip t\nadd chain ip t c { type filter hook input priority 0; policy bogus; }\n",
        "FILE:2:62-66: Error: syntax error, unexpected string, expecting accept or drop or '$'\nadd chain ip t c { type filter hook input priority 0; policy bogus; }\n                                                             ^^^^^",
    ),
    (
        "add table ip t\nadd chain ip t c { type bogus hook input priority 0; }\n",
        "FILE:2:25-29: Error: unknown chain type\nadd chain ip t c { type bogus hook input priority 0; }\n                        ^^^^^",
    ),
    (
        "add table ip t\nadd chain ip t c { type filter hook bogus priority 0; }\n",
        "FILE:2:37-41: Error: unknown chain hook\nadd chain ip t c { type filter hook bogus priority 0; }\n                                    ^^^^^",
    ),
    (
        "add table ip t\nadd chain ip t c { type nat hook forward priority 0; }\n",
        "FILE:2:1-55: Error: Could not process rule: Operation not supported\nadd chain ip t c { type nat hook forward priority 0; }\n^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    ),
    (
        "table ip t {\n\tchain c { type nat hook forward priority 0; }\n}\n",
        "FILE:2:8-8: Error: Could not process rule: Operation not supported\n\tchain c { type nat hook forward priority 0; }\n\t      ^",
    ),
    (
        "add table ip t\nadd chain ip t c { policy drop; }\n",
        "FILE:2:20-30: Error: Could not process rule: Operation not supported\nadd chain ip t c { policy drop; }\n                   ^^^^^^^^^^^",
    ),
    (
        "add table ip t\nadd chain ip t c\nadd rule ip t c ip daddr 10.0.0.1 dnat to 10.0.0.2:80\n",
        "FILE:3:52-53: Error: transport protocol mapping is only valid after transport protocol match\nadd rule ip t c ip daddr 10.0.0.1 dnat to 10.0.0.2:80\n                                  ~~~~             ^^",
    ),
    (
        "add table ip t\nadd chain ip t c\nadd rule ip t c meta l4proto udp reject with tcp reset\n",
        "FILE:3:34-39: Error: you cannot use tcp reset with this protocol\nadd rule ip t c meta l4proto udp reject with tcp reset\n                ~~~~~~~~~~~~~~~~ ^^^^^^",
    ),
    (
        "add table ip t\nadd chain ip t c\nadd rule ip t c udp dport 53 reject with tcp reset\n",
        "FILE:3:30-35: Error: you cannot use tcp reset with this protocol\nadd rule ip t c udp dport 53 reject with tcp reset\n                ~~~~~~~~~    ^^^^^^",
    ),
    (
        "add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\nadd element ip t s { 10.0.0.1-10.0.0.5, 10.0.0.3-10.0.0.9 }\n",
        "FILE:3:41-57: Error: conflicting intervals specified\nadd element ip t s { 10.0.0.1-10.0.0.5, 10.0.0.3-10.0.0.9 }\n                     ~~~~~~~~~~~~~~~~~  ^^^^^^^^^^^^^^^^^",
    ),
    (
        "add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\nadd element ip t s { 10.1.0.0/16 }\nadd element ip t s { 10.2.0.0/16 }\nadd element ip t s { 10.0.0.0/8 }\n",
        "FILE:3:22-32: Error: conflicting intervals specified\nadd element ip t s { 10.1.0.0/16 }\n                     ^^^^^^^^^^^",
    ),
    (
        "table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.0.0/8, 10.1.0.0/16 }\n\t}\n}\n",
        "FILE:5:28-38: Error: conflicting intervals specified\n\t\telements = { 10.0.0.0/8, 10.1.0.0/16 }\n\t\t             ~~~~~~~~~~  ^^^^^^^^^^^",
    ),
    (
        "add table ip t\nadd chain ip t c\nadd rule ip t c tcp dport vmap { 80-90 : accept, 85 : drop }\n",
        "FILE:3:50-51: Error: conflicting intervals specified\nadd rule ip t c tcp dport vmap { 80-90 : accept, 85 : drop }\n                                 ~~~~~           ^^",
    ),
    // A fresh namespace has only lo.
    (
        "add table ip t\nadd chain ip t c\nadd rule ip t c iif eth0 accept\n",
        "FILE:3:21-24: Error: Interface does not exist\nadd rule ip t c iif eth0 accept\n                    ^^^^",
    ),
    // A prefix longer than the type.
    (
        "add table ip t\nadd chain ip t c\nadd rule ip t c meta mark 0x4000/0x4000 accept\n",
        "FILE:3:27-39: Error: Prefix length 16384 is invalid for type of 32 bits width\nadd rule ip t c meta mark 0x4000/0x4000 accept\n                          ^^^^^^^^^^^^^",
    ),
    (
        "add table ip t\nadd chain ip t c\nadd rule ip t c tcp dport 80/20 accept\n",
        "FILE:3:27-31: Error: Prefix length 20 is invalid for type of 16 bits width\nadd rule ip t c tcp dport 80/20 accept\n                          ^^^^^",
    ),
    // Keywords are not names (most of them).
    (
        "add table ip t\nadd chain ip t counter\n",
        "FILE:2:16-22: Error: syntax error, unexpected counter, expecting string\nadd chain ip t counter\n               ^^^^^^^",
    ),
    (
        "add table ip counter\n",
        "FILE:1:14-20: Error: syntax error, unexpected counter, expecting string\nadd table ip counter\n             ^^^^^^^",
    ),
    // `replace rule` names a rule by its handle.
    (
        "add table ip t\nadd chain ip t c\nadd rule ip t c accept\nreplace rule ip t c handle 99 accept\n",
        "FILE:4:28-29: Error: Could not process rule: No such file or directory\nreplace rule ip t c handle 99 accept\n                           ^^",
    ),
    // Every item of a block ends with a newline or `;` (nft's `rule stmt_separator`, `'}'
    // stmt_separator` for a chain or set inside a table): a `}` straight after one is refused.
    (
        "table ip x { chain c { accept } }\n",
        "FILE:1:31-31: Error: syntax error, unexpected '}', expecting newline or semicolon\ntable ip x { chain c { accept } }\n                              ^",
    ),
    (
        "table ip x { chain c { accept; } }\n",
        "FILE:1:34-34: Error: syntax error, unexpected '}', expecting newline or semicolon\ntable ip x { chain c { accept; } }\n                                 ^",
    ),
    (
        "table ip x { set s { type ipv4_addr } }\n",
        "FILE:1:37-37: Error: syntax error, unexpected '}', expecting newline or semicolon or .\ntable ip x { set s { type ipv4_addr } }\n                                    ^",
    ),
    (
        "table ip x { set s { type ipv4_addr; flags interval } }\n",
        "FILE:1:53-53: Error: syntax error, unexpected '}', expecting newline or semicolon or comma\ntable ip x { set s { type ipv4_addr; flags interval } }\n                                                    ^",
    ),
    (
        "table ip x { chain c { type filter hook input priority 0; policy drop } }\n",
        "FILE:1:71-71: Error: syntax error, unexpected '}', expecting newline or semicolon\ntable ip x { chain c { type filter hook input priority 0; policy drop } }\n                                                                      ^",
    ),
    (
        "add table ip x\nadd chain ip x c\nadd rule ip x c accept }\n",
        "FILE:3:24-24: Error: syntax error, unexpected '}', expecting end of file or newline or semicolon\nadd rule ip x c accept }\n                       ^",
    ),
    (
        "table ip x { comment \"a\" }\n",
        "FILE:1:26-26: Error: syntax error, unexpected '}', expecting newline or semicolon\ntable ip x { comment \"a\" }\n                         ^",
    ),
    (
        "table ip x { chain c { counter; } chain d { accept; } }\n",
        "FILE:1:35-39: Error: syntax error, unexpected chain, expecting newline or semicolon\ntable ip x { chain c { counter; } chain d { accept; } }\n                                  ^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\treject with icmpx type admin-prohibited\n\t}\n}\n",
        "FILE:3:26-41: Error: abstracted ICMP unreachable not supported\n\t\treject with icmpx type admin-prohibited\n\t\t~~~~~~                 ^^^^^^^^^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\treject with icmpv6 admin-prohibited\n\t}\n}\n",
        "FILE:3:22-37: Error: conflicting protocols specified: ip vs ip6\n\t\treject with icmpv6 admin-prohibited\n\t\t~~~~~~             ^^^^^^^^^^^^^^^^",
    ),
    (
        "table ip6 x {\n\tchain c {\n\t\treject with icmp host-unreachable\n\t}\n}\n",
        "FILE:3:20-35: Error: conflicting protocols specified: ip vs ip6\n\t\treject with icmp host-unreachable\n\t\t~~~~~~           ^^^^^^^^^^^^^^^^",
    ),
    (
        "table inet x {\n\tchain c {\n\t\tip6 saddr ::1 reject with icmp host-unreachable\n\t}\n}\n",
        "FILE:3:34-49: Error: conflicting protocols specified: ip vs ip6\n\t\tip6 saddr ::1 reject with icmp host-unreachable\n\t\t~~~~~~~~~                      ^^^^^^^^^^^^^^^^",
    ),
    (
        "table inet x {\n\tchain c {\n\t\tmeta nfproto ipv4 reject with icmpv6 no-route\n\t}\n}\n",
        "FILE:3:40-47: Error: conflicting protocols specified: ip vs ip6\n\t\tmeta nfproto ipv4 reject with icmpv6 no-route\n\t\t~~~~~~~~~~~~~~~~~                    ^^^^^^^^",
    ),
    (
        "table inet x {\n\tchain c {\n\t\tip saddr 10.0.0.1 tcp dport 22 reject with icmpv6 no-route\n\t}\n}\n",
        "FILE:3:53-60: Error: conflicting protocols specified: ip vs ip6\n\t\tip saddr 10.0.0.1 tcp dport 22 reject with icmpv6 no-route\n\t\t~~~~~~~~                                          ^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\treject with icmp type echo-request\n\t}\n}\n",
        "FILE:3:25-36: Error: Could not parse icmp code\n\t\treject with icmp type echo-request\n\t\t                      ^^^^^^^^^^^^",
    ),
    (
        "table inet x {\n\tchain c {\n\t\treject with icmpx 4\n\t}\n}\n",
        "FILE:3:3-8: Error: Could not process rule: Invalid argument\n\t\treject with icmpx 4\n\t\t^^^^^^",
    ),
    (
        "table inet x {\n\tchain c {\n\t\treject with icmp 254\n\t}\n}\n",
        "FILE:3:3-8: Error: missing icmp error type\n\t\treject with icmp 254\n\t\t^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\treject with icmp 255\n\t}\n}\n",
        "FILE:3:3-8: Error: Could not process rule: Invalid argument\n\t\treject with icmp 255\n\t\t^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\treject with bogus\n\t}\n}\n",
        "FILE:3:15-19: Error: syntax error, unexpected string, expecting icmp or icmpv6 or tcp or icmpx\n\t\treject with bogus\n\t\t            ^^^^^",
    ),
    (
        "table ip6 x {\n\tchain c {\n\t\treject with icmpv6 type bogus\n\t}\n}\n",
        "FILE:3:27-31: Error: Could not parse icmpv6 code\n\t\treject with icmpv6 type bogus\n\t\t                        ^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tmeta l4proto udp tcp dport 80 accept\n\t}\n}\n",
        "FILE:3:20-28: Error: conflicting protocols specified: udp vs. tcp\n\t\tmeta l4proto udp tcp dport 80 accept\n\t\t                 ^^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\ttcp dport 80 udp sport 1 accept\n\t}\n}\n",
        "FILE:3:16-24: Error: conflicting protocols specified: tcp vs. udp\n\t\ttcp dport 80 udp sport 1 accept\n\t\t             ^^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tmeta l4proto tcp icmp type echo-request accept\n\t}\n}\n",
        "FILE:3:20-28: Error: conflicting protocols specified: tcp vs. icmp\n\t\tmeta l4proto tcp icmp type echo-request accept\n\t\t                 ^^^^^^^^^",
    ),
    (
        "table inet x {\n\tchain c {\n\t\tip protocol udp tcp dport 1 accept\n\t}\n}\n",
        "FILE:3:19-27: Error: conflicting protocols specified: udp vs. tcp\n\t\tip protocol udp tcp dport 1 accept\n\t\t                ^^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tip ttl 256 accept\n\t}\n}\n",
        "FILE:3:10-12: Error: Value 256 exceeds valid range 0-255\n\t\tip ttl 256 accept\n\t\t       ^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tip length { 1-2, 70000 } accept\n\t}\n}\n",
        "FILE:3:20-24: Error: Value 70000 exceeds valid range 0-65535\n\t\tip length { 1-2, 70000 } accept\n\t\t                 ^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tmeta mark set 0x100000000 accept\n\t}\n}\n",
        "FILE:3:17-27: Error: Value 4294967296 exceeds valid range 0-4294967295\n\t\tmeta mark set 0x100000000 accept\n\t\t              ^^^^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tmeta l4proto { tcp, udp } tcp dport 1 accept\n\t}\n}\n",
        "FILE:3:29-37: Error: conflicting protocols specified: udp vs. tcp\n\t\tmeta l4proto { tcp, udp } tcp dport 1 accept\n\t\t                          ^^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tip protocol udp meta l4proto tcp udp dport 1 accept\n\t}\n}\n",
        "FILE:3:36-44: Error: conflicting protocols specified: tcp vs. udp\n\t\tip protocol udp meta l4proto tcp udp dport 1 accept\n\t\t                                 ^^^^^^^^^",
    ),
    (
        "table netdev n {\n\tchain c { type filter hook ingress priority 0; }\n}\n",
        "FILE:2:12-46: Error: Missing `device' in this chain definition\n\tchain c { type filter hook ingress priority 0; }\n\t          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    ),
    (
        "table netdev n {\n\tchain c { type nat hook ingress device lo priority 0; }\n}\n",
        "FILE:2:17-19: Error: Could not process rule: No such file or directory\n\tchain c { type nat hook ingress device lo priority 0; }\n\t               ^^^",
    ),
    (
        "table netdev n {\n\tchain c { type filter hook input device lo priority 0; }\n}\n",
        "FILE:2:29-33: Error: The netdev family does not support this hook\n\tchain c { type filter hook input device lo priority 0; }\n\t                           ^^^^^",
    ),
    (
        "table arp a {\n\tchain c { type filter hook forward priority 0; }\n}\n",
        "FILE:2:8-8: Error: Could not process rule: Operation not supported\n\tchain c { type filter hook forward priority 0; }\n\t      ^",
    ),
    (
        "table arp a {\n\tchain c { type filter hook input priority 0; ip saddr 1.2.3.4 drop; }\n}\n",
        "FILE:2:47-54: Error: conflicting protocols specified: arp vs. ip\n\tchain c { type filter hook input priority 0; ip saddr 1.2.3.4 drop; }\n\t                                             ^^^^^^^^",
    ),
    (
        "table arp a {\n\tchain c { type filter hook input priority 0; tcp dport 1 accept; }\n}\n",
        "FILE:2:47-55: Error: conflicting protocols specified: arp vs. tcp\n\tchain c { type filter hook input priority 0; tcp dport 1 accept; }\n\t                                             ^^^^^^^^^",
    ),
    (
        "table arp a {\n\tchain c { type filter hook input priority srcnat; }\n}\n",
        "FILE:2:35-49: Error: invalid priority expression value in this context.\n\tchain c { type filter hook input priority srcnat; }\n\t                                 ^^^^^^^^^^^^^^^",
    ),
    (
        "table arp a {\n\tchain c { type filter hook input priority 0; reject; }\n}\n",
        "FILE:2:47-52: Error: cannot use reject with arp\n\tchain c { type filter hook input priority 0; reject; }\n\t                                             ^^^^^^",
    ),
    (
        "table arp a {\n\tchain c { type filter hook input priority 0; fib daddr type local accept; }\n}\n",
        "FILE:2:47-60: Error: Could not process rule: No such file or directory\n\tchain c { type filter hook input priority 0; fib daddr type local accept; }\n\t                                             ^^^^^^^^^^^^^^",
    ),
    (
        "table arp a {\n\tchain c { type filter hook input priority 0; dnat to 1.2.3.4; }\n}\n",
        "FILE:2:47-50: Error: NAT is only supported for IPv4/IPv6\n\tchain c { type filter hook input priority 0; dnat to 1.2.3.4; }\n\t                                             ^^^^",
    ),
    (
        "table bridge b {\n\tchain c { type route hook output priority 0; }\n}\n",
        "FILE:2:17-21: Error: Could not process rule: No such file or directory\n\tchain c { type route hook output priority 0; }\n\t               ^^^^^",
    ),
    (
        "table bridge b {\n\tchain c { type filter hook input priority dstnat; }\n}\n",
        "FILE:2:35-49: Error: invalid priority expression value in this context.\n\tchain c { type filter hook input priority dstnat; }\n\t                                 ^^^^^^^^^^^^^^^",
    ),
    (
        "table bridge b {\n\tchain c { type filter hook ingress device lo priority 0; }\n}\n",
        "FILE:2:29-35: Error: The bridge family does not support this hook\n\tchain c { type filter hook ingress device lo priority 0; }\n\t                           ^^^^^^^",
    ),
    (
        "table bridge b {\n\tchain c { type filter hook postrouting priority 0; masquerade; }\n}\n",
        "FILE:2:53-62: Error: NAT is only supported for IPv4/IPv6\n\tchain c { type filter hook postrouting priority 0; masquerade; }\n\t                                                   ^^^^^^^^^^",
    ),
    (
        "table netdev n {\n\tchain c { type filter hook ingress device lo priority 0; ct state established accept; }\n}\n",
        "FILE:2:59-66: Error: Could not process rule: Protocol error\n\tchain c { type filter hook ingress device lo priority 0; ct state established accept; }\n\t                                                         ^^^^^^^^",
    ),
    (
        "table netdev n {\n\tchain c { type filter hook ingress device lo priority mangle; }\n}\n",
        "FILE:2:47-61: Error: invalid priority expression value in this context.\n\tchain c { type filter hook ingress device lo priority mangle; }\n\t                                             ^^^^^^^^^^^^^^^",
    ),
    (
        "table netdev n {\n\tchain c { type filter hook ingress devices = { \"lo\", lo } priority 0; }\n}\n",
        "FILE:2:8-8: Error: Could not process rule: File exists\n\tchain c { type filter hook ingress devices = { \"lo\", lo } priority 0; }\n\t      ^",
    ),
    (
        "table netdev n {\n\tchain c { type filter hook ingress devices = { } priority 0; }\n}\n",
        "FILE:2:49-49: Error: syntax error, unexpected '}', expecting string or quoted string or '$'\n\tchain c { type filter hook ingress devices = { } priority 0; }\n\t                                               ^",
    ),
    (
        "table ip x {\n\tchain c { type filter hook input device lo priority 0; }\n}\n",
        "FILE:2:35-43: Error: This chain type cannot be bound to device\n\tchain c { type filter hook input device lo priority 0; }\n\t                                 ^^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c { type filter hook input priority foo; }\n}\n",
        "FILE:2:35-46: Error: invalid priority expression value in this context.\n\tchain c { type filter hook input priority foo; }\n\t                                 ^^^^^^^^^^^^",
    ),
    (
        "table netdev n {\n\tchain c { type filter hook ingress priority 0 device lo; }\n}\n",
        "FILE:2:48-53: Error: syntax error, unexpected device, expecting newline or semicolon\n\tchain c { type filter hook ingress priority 0 device lo; }\n\t                                              ^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tlimit rate 1/second burst 0 packets\n\t}\n}\n",
        "FILE:3:23-37: Error: packet limit burst must be > 0\n\t\tlimit rate 1/second burst 0 packets\n\t\t                    ^^^^^^^^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tlimit rate over 1 gbytes/second\n\t}\n}\n",
        "FILE:3:19-33: Error: Wrong rate format\n\t\tlimit rate over 1 gbytes/second\n\t\t                ^^^^^^^^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tlimit rate 0/second\n\t}\n}\n",
        "FILE:3:3-21: Error: Could not process rule: Invalid argument\n\t\tlimit rate 0/second\n\t\t^^^^^^^^^^^^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tlimit rate 10/fortnight\n\t}\n}\n",
        "FILE:3:17-25: Error: syntax error, unexpected string\n\t\tlimit rate 10/fortnight\n\t\t              ^^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tlimit rate 10\n\t}\n}\n",
        "FILE:3:16-16: Error: syntax error, unexpected newline, expecting / or string or bytes\n\t\tlimit rate 10\n\t\t             ^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tlimit rate 10/second burst 5\n\t}\n}\n",
        "FILE:3:31-31: Error: syntax error, unexpected newline, expecting packets\n\t\tlimit rate 10/second burst 5\n\t\t                            ^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tlimit rate 10 bytes/second burst 5 packets\n\t}\n}\n",
        "FILE:3:38-44: Error: syntax error, unexpected packets, expecting string or bytes\n\t\tlimit rate 10 bytes/second burst 5 packets\n\t\t                                   ^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tlimit rate 10/second burst 5 bytes\n\t}\n}\n",
        "FILE:3:32-36: Error: syntax error, unexpected bytes, expecting packets\n\t\tlimit rate 10/second burst 5 bytes\n\t\t                             ^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tlimit rate 99999999999999999999/second\n\t}\n}\n",
        "FILE:3:14-33: Error: syntax error, unexpected string, expecting number\n\t\tlimit rate 99999999999999999999/second\n\t\t           ^^^^^^^^^^^^^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tlimit rate 18446744073709551615/second\n\t}\n}\n",
        "FILE:3:3-40: Error: Could not process rule: Value too large for defined data type\n\t\tlimit rate 18446744073709551615/second\n\t\t^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tlimit rate 1048576 bytes/day burst 2048 bytes\n\t}\n}\n",
        "FILE:3:3-47: Error: Could not process rule: Value too large for defined data type\n\t\tlimit rate 1048576 bytes/day burst 2048 bytes\n\t\t^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tlimit rate 10 mbytes/fortnight\n\t}\n}\n",
        "FILE:3:14-32: Error: Wrong rate format\n\t\tlimit rate 10 mbytes/fortnight\n\t\t           ^^^^^^^^^^^^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tlimit 10/second\n\t}\n}\n",
        "FILE:3:9-10: Error: syntax error, unexpected number, expecting name or rate\n\t\tlimit 10/second\n\t\t      ^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tlimit rate 2 kbytes/second burst 3 gbytes\n\t}\n}\n",
        "FILE:3:36-43: Error: Wrong rate format\n\t\tlimit rate 2 kbytes/second burst 3 gbytes\n\t\t                                 ^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tmeta protocol foo accept\n\t}\n}\n",
        "FILE:3:17-19: Error: Could not parse Ethernet protocol\n\t\tmeta protocol foo accept\n\t\t              ^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tmeta pkttype foo accept\n\t}\n}\n",
        "FILE:3:16-18: Error: Could not parse packet type\n\t\tmeta pkttype foo accept\n\t\t             ^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tmeta pkttype 256 accept\n\t}\n}\n",
        "FILE:3:16-18: Error: Value 256 exceeds valid range 0-255\n\t\tmeta pkttype 256 accept\n\t\t             ^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tmeta protocol 65536 accept\n\t}\n}\n",
        "FILE:3:17-21: Error: Value 65536 exceeds valid range 0-65535\n\t\tmeta protocol 65536 accept\n\t\t              ^^^^^",
    ),
    (
        "table netdev x {\n\tchain c {\n\t\tmeta protocol ip6 ip saddr 1.1.1.1 accept\n\t}\n}\n",
        "FILE:3:21-28: Error: conflicting protocols specified: ip6 vs. ip\n\t\tmeta protocol ip6 ip saddr 1.1.1.1 accept\n\t\t                  ^^^^^^^^",
    ),
    (
        "table netdev x {\n\tchain c {\n\t\tmeta protocol arp ip saddr 1.1.1.1 accept\n\t}\n}\n",
        "FILE:3:21-28: Error: conflicting protocols specified: arp vs. ip\n\t\tmeta protocol arp ip saddr 1.1.1.1 accept\n\t\t                  ^^^^^^^^",
    ),
    (
        "table bridge x {\n\tchain c {\n\t\tmeta protocol ip ip6 daddr ::1 accept\n\t}\n}\n",
        "FILE:3:20-28: Error: conflicting protocols specified: ip vs. ip6\n\t\tmeta protocol ip ip6 daddr ::1 accept\n\t\t                 ^^^^^^^^^",
    ),
    (
        "table ip x {\n\tchain c {\n\t\tmeta protocol { ip, foo } accept\n\t}\n}\n",
        "FILE:3:23-25: Error: Could not parse Ethernet protocol\n\t\tmeta protocol { ip, foo } accept\n\t\t                    ^^^",
    ),
];

#[test]
fn refused_input_is_reported_as_nft_reports_it() {
    for (text, expected) in REFUSED {
        let mut n = Nftables::new();
        let e = n.apply_file("FILE", text).expect_err(text);
        assert_eq!(e.to_string(), expected);
    }
    if !have("nft") || !have("ip") || !is_root() {
        println!("skipped: the comparison with the installed nft's errors needs nft, ip and root");
        return;
    }
    let Some(ns) = Netns::new("errors") else {
        println!("skipped: cannot create a network namespace here");
        return;
    };
    for (i, (text, expected)) in REFUSED.iter().enumerate() {
        let path = std::env::temp_dir().join(format!("{}-{i}.nft", ns.0));
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        let out = ns.run(&["nft", "-f", &path.display().to_string()]);
        let _ = std::fs::remove_file(&path);
        let stderr = String::from_utf8_lossy(&out.stderr).replace(&path.display().to_string(), "FILE");
        let first: Vec<&str> = stderr.lines().take(3).collect();
        assert_eq!(first.join("\n"), *expected, "the installed nft on {text:?}");
    }
}
