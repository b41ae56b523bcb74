//! The xtables extensions against the real iptables.
//!
//! `data/xt/extensions.rules` holds every extension netsim models, written the ways people
//! write them; `data/xt/extensions.saved` is what the real `iptables-save` v1.8.9 printed for
//! it (the nft and legacy backends print the same, table by table). Two tests:
//!
//! - `netsim_saves_what_real_iptables_saved`: netsim's `iptables-save` of the file is that
//!   text, byte for byte (runs everywhere);
//! - `differential_against_the_installed_iptables`: when `iptables-restore` is installed and the
//!   test runs as root, it restores the file in a network namespace the test creates (never
//!   the machine's own), with both backends, and compares `iptables-save -t TABLE` with
//!   netsim's. Otherwise it prints why it is skipped. (`.ci/run` installs `iptables` and
//!   `ipset`.)

use std::process::Command;

use sim_net::netfilter::{Netfilter, SaveOptions, TableName};

const RULES: &str = include_str!("data/xt/extensions.rules");
const SAVED: &str = include_str!("data/xt/extensions.saved");

fn netsim(rules: &str) -> Netfilter {
    let mut nf = Netfilter::new();
    for set in [["create", "S", "hash:ip"], ["create", "SN", "hash:net"], ["create", "SP", "hash:ip,port"]] {
        nf.ipset(&set).unwrap();
    }
    nf.restore(rules, false).unwrap_or_else(|e| panic!("{e}"));
    nf
}

/// netsim's save of the tables in the order the `.saved` file has them (mangle, raw,
/// filter, nat), each as `iptables-save -t TABLE` prints it.
fn netsim_saved(nf: &Netfilter, tables: &[TableName]) -> String {
    tables.iter().map(|t| nf.save_table(*t, &SaveOptions::default())).collect()
}

const TABLES: [TableName; 4] = [TableName::Mangle, TableName::Raw, TableName::Filter, TableName::Nat];

#[test]
fn netsim_saves_what_real_iptables_saved() {
    let nf = netsim(RULES);
    let got = netsim_saved(&nf, &TABLES);
    assert_same(&got, SAVED, "the recorded real iptables-save");
    // And the canonical form restores to itself.
    let again = netsim(SAVED);
    assert_eq!(netsim_saved(&again, &TABLES), SAVED);
}

/// Fails with the differing lines.
fn assert_same(ours: &str, real: &str, what: &str) {
    if ours == real {
        return;
    }
    let diff: Vec<String> = ours
        .lines()
        .zip(real.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("netsim: {a}\nreal:   {b}"))
        .collect();
    panic!(
        "netsim differs from {what} ({} vs {} lines):\n{}",
        ours.lines().count(),
        real.lines().count(),
        diff.join("\n")
    );
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
    /// A namespace named after the test (`tag`) and the process, so tests running in
    /// parallel never share one.
    fn new(tag: &str) -> Option<Netns> {
        let name = format!("nstest-xt-{tag}-{}", std::process::id());
        let ok = Command::new("ip").args(["netns", "add", &name]).status().is_ok_and(|s| s.success());
        ok.then_some(Netns(name))
    }
    fn sh(&self, script: &str) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.0, "sh", "-c", script])
            .output()
            .unwrap_or_else(|e| panic!("ip netns exec: {e}"))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Restores `rules` with `backend`'s iptables-restore in a fresh namespace and returns
/// `iptables-save -t T` of `tables`, banners removed.
fn real_save(backend: &str, rules: &str, tables: &[TableName]) -> Result<String, String> {
    let ns = Netns::new(&format!("save-{backend}")).ok_or("cannot create a network namespace")?;
    let path = std::env::temp_dir().join(format!("{}-{backend}.rules", ns.0));
    std::fs::write(&path, rules).map_err(|e| e.to_string())?;
    let (restore, save) = match backend {
        "legacy" => ("iptables-legacy-restore", "iptables-legacy-save"),
        _ => ("iptables-nft-restore", "iptables-nft-save"),
    };
    let mut script = format!(
        "ipset create S hash:ip && ipset create SN hash:net && ipset create SP hash:ip,port && {restore} < {} ",
        path.display()
    );
    for t in tables {
        script.push_str(&format!("&& {save} -t {} ", t.name()));
    }
    let out = ns.sh(&script);
    let _ = std::fs::remove_file(&path);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect())
}

/// Why the differential test cannot run here, if it cannot.
fn skip_reason() -> Option<&'static str> {
    if !have("iptables-restore") || !have("ipset") {
        return Some("iptables-restore or ipset is not installed (apt-get install -y iptables ipset)");
    }
    if !is_root() {
        return Some("not root: cannot create a network namespace");
    }
    None
}

#[test]
fn differential_against_the_installed_iptables() {
    if let Some(why) = skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let nf = netsim(RULES);
    let ours = netsim_saved(&nf, &TABLES);
    for backend in ["nft", "legacy"] {
        if backend == "legacy" && !have("iptables-legacy-restore") {
            println!("legacy backend not installed: skipped");
            continue;
        }
        let real = match real_save(backend, RULES, &TABLES) {
            Ok(r) => r,
            Err(e) if e.contains("namespace") || e.contains("Operation not permitted") => {
                println!("skipped ({backend}): {e}");
                continue;
            }
            Err(e) => panic!("real iptables-restore ({backend}) refused the file: {e}"),
        };
        assert_same(&ours, &real, &format!("the installed iptables-save ({backend})"));
        println!("{backend}: netsim's iptables-save is byte-identical ({} lines)", real.lines().count());
    }
}

/// The rules of a node whose kube-proxy (iptables mode, kubelet's jumps included) serves an
/// LB service with two LB IPs and `loadBalancerSourceRanges` 192.168.0.0/24 and
/// 203.0.113.0/25 (upstream `TestLoadBalancer`'s service), endpoint 10.180.0.1:80.
const LB_RULES: &str = include_str!("data/xt/lb-source-ranges.rules");

/// The rules a node's own connection to `dst:80` from `src` matches in netsim, by table
/// (`iptables-save` text), at OUTPUT and POSTROUTING.
fn netsim_local_flow(src: &str, dst: &str) -> (Vec<String>, Vec<String>) {
    use sim_core::SimTime;
    use sim_net::netfilter::{ExploreOrigin, ExploreRequest};
    use sim_net::wire::{Packet, TcpFlags};
    let mut nf = Netfilter::new();
    nf.restore(LB_RULES, false).unwrap_or_else(|e| panic!("{e}"));
    let ip = |s: &str| -> std::net::Ipv4Addr { s.parse().unwrap() };
    let e = nf.explore(&ExploreRequest {
        packet: Packet::tcp(ip(src), 40000, ip(dst), 80, TcpFlags::SYN),
        origin: ExploreOrigin::Local,
        local_ips: vec![ip("192.168.0.2"), ip("10.99.0.5")],
        out_iface: Some("eth0".into()),
        now: SimTime::ZERO,
    });
    assert_eq!(e.paths.len(), 1, "one path");
    let mut by_table = (Vec::new(), Vec::new());
    for r in &e.paths[0].rules {
        match r.table {
            TableName::Filter => by_table.0.push(r.text.clone()),
            TableName::Nat => by_table.1.push(r.text.clone()),
            _ => {}
        }
    }
    by_table.0.sort();
    by_table.1.sort();
    by_table
}

/// The rules whose packet counter the real kernel raised, from `iptables-save -c -t T`.
fn counted_rules(saved: &str) -> Vec<String> {
    let mut v: Vec<String> = saved
        .lines()
        .filter_map(|l| l.strip_prefix('['))
        .filter_map(|l| l.split_once("] "))
        .filter(|(c, _)| !c.starts_with("0:"))
        .map(|(_, r)| r.to_string())
        .filter(|r| r.starts_with("-A "))
        .collect();
    v.sort();
    v
}

/// The kernel and netsim agree on a node's own connection to a firewalled LB IP: from the
/// node IP (inside a source range) nat DNATs it and filter's `KUBE-PROXY-FIREWALL`, which
/// runs after nat at LOCAL_OUT, sees the endpoint and lets it go; from an address outside
/// every range nat leaves it alone and filter DROPs it. Compared rule by rule: the rules the kernel counted are the rules netsim matched.
#[test]
fn node_to_firewalled_lb_ip_matches_the_kernel() {
    let cases =
        [("192.168.0.2", "1.2.3.4", true), ("192.168.0.2", "5.6.7.8", true), ("10.99.0.5", "1.2.3.4", false)];
    // netsim first (runs everywhere).
    for (src, dst, allowed) in cases {
        let (filter, nat) = netsim_local_flow(src, dst);
        let dropped = filter.iter().any(|r| r.ends_with("-j DROP"));
        assert_eq!(!dropped, allowed, "{src} -> {dst}: filter {filter:?}");
        assert_eq!(nat.iter().any(|r| r.contains("-j DNAT")), allowed, "{src} -> {dst}: nat {nat:?}");
    }
    if let Some(why) = skip_reason() {
        println!("skipped: {why}");
        return;
    }
    for backend in ["nft", "legacy"] {
        let (restore, save) = match backend {
            "legacy" => ("iptables-legacy-restore", "iptables-legacy-save"),
            _ => ("iptables-nft-restore", "iptables-nft-save"),
        };
        if !have(restore) {
            println!("{restore} not installed: skipped");
            continue;
        }
        for (i, (src, dst, _)) in cases.into_iter().enumerate() {
            let Some(ns) = Netns::new(&format!("lb-{backend}-{i}")) else {
                println!("skipped: cannot create a network namespace");
                return;
            };
            let path = std::env::temp_dir().join(format!("{}.rules", ns.0));
            std::fs::write(&path, LB_RULES).unwrap();
            // A node: eth0 (a veth whose peer nobody reads) with the node IP and a second
            // address outside every source range, a gateway with a static neighbour entry;
            // curl sends its SYN and gives up.
            let script = format!(
                "ip link set lo up && ip link add eth0 type veth peer name peer0 \
                 && ip addr add 192.168.0.2/24 dev eth0 && ip addr add 10.99.0.5/32 dev eth0 \
                 && ip link set eth0 up && ip link set peer0 up \
                 && ip neigh add 192.168.0.1 lladdr 02:00:00:00:00:01 dev eth0 \
                 && ip route add default via 192.168.0.1 dev eth0 && {restore} < {p}; \
                 curl -s --interface {src} --connect-timeout 0.5 http://{dst}/; echo \"curl=$?\"; \
                 {save} -c -t filter; {save} -c -t nat",
                p = path.display()
            );
            let out = ns.sh(&script);
            let _ = std::fs::remove_file(&path);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            // curl times out either way (28): the kernel's tcp_connect ignores a local drop's
            // EPERM and retransmits; the counters tell the two cases apart.
            assert!(
                text.contains("curl=28"),
                "{backend} {src} -> {dst}: {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let (filter_text, nat_text) = text.split_once("*nat").unwrap_or((&text, ""));
            let (filter, nat) = netsim_local_flow(src, dst);
            assert_eq!(filter, counted_rules(filter_text), "{backend} {src} -> {dst}: filter rules");
            assert_eq!(nat, counted_rules(nat_text), "{backend} {src} -> {dst}: nat rules");
            println!("{backend}: {src} -> {dst}: netsim matched the rules the kernel counted");
        }
    }
}

/// kube-proxy's rules (iptables mode, kubelet's jumps included) for two SCTP NodePort
/// services: ns1/svc1 (172.30.0.41:3868, NodePort 30868, endpoints 10.180.0.1 and
/// 10.180.0.2) and ns1/svc2 (172.30.0.42:9, NodePort 30009, no endpoints: REJECT).
const SCTP_RULES: &str = include_str!("data/xt/kube-proxy-sctp.rules");

/// netsim's `iptables-save` of kube-proxy's SCTP rules is what the real iptables-save prints
/// after restoring them, with both backends.
#[test]
fn kube_proxy_sctp_rules_save_as_the_real_iptables() {
    let mut nf = Netfilter::new();
    nf.restore(SCTP_RULES, false).unwrap_or_else(|e| panic!("{e}"));
    let tables = [TableName::Filter, TableName::Nat];
    let ours = netsim_saved(&nf, &tables);
    assert!(ours.contains(
        "-A KUBE-SERVICES -d 172.30.0.42/32 -p sctp -m comment --comment \"ns1/svc2:p9 has no endpoints\" -m sctp --dport 9 -j REJECT --reject-with icmp-port-unreachable\n"
    ));
    if let Some(why) = skip_reason() {
        println!("skipped: {why}");
        return;
    }
    for backend in ["nft", "legacy"] {
        let real = match real_save(backend, SCTP_RULES, &tables) {
            Ok(r) => r,
            Err(e) if e.contains("namespace") || e.contains("Operation not permitted") => {
                println!("skipped ({backend}): {e}");
                continue;
            }
            Err(e) => panic!("real iptables-restore ({backend}) refused kube-proxy's SCTP rules: {e}"),
        };
        assert_same(&ours, &real, &format!("the installed iptables-save ({backend})"));
        println!("{backend}: kube-proxy's SCTP rules save byte-identically ({} lines)", real.lines().count());
    }
}

/// The rules netsim matches for the node's own SCTP INIT from 192.168.0.2:40000 to
/// `dst:dport`, per path: (filter rules, nat rules), each sorted.
fn netsim_sctp_paths(dst: &str, dport: u16) -> Vec<(Vec<String>, Vec<String>)> {
    use sim_core::SimTime;
    use sim_net::netfilter::{ExploreOrigin, ExploreRequest};
    use sim_net::wire::{Packet, SctpChunk};
    let mut nf = Netfilter::new();
    nf.restore(SCTP_RULES, false).unwrap_or_else(|e| panic!("{e}"));
    let e = nf.explore(&ExploreRequest {
        packet: Packet::sctp(
            "192.168.0.2".parse().unwrap(),
            40000,
            dst.parse().unwrap(),
            dport,
            SctpChunk::Init,
        ),
        origin: ExploreOrigin::Local,
        local_ips: vec!["192.168.0.2".parse().unwrap()],
        out_iface: Some("eth0".into()),
        now: SimTime::ZERO,
    });
    e.paths
        .iter()
        .map(|p| {
            let mut f: Vec<String> =
                p.rules.iter().filter(|r| r.table == TableName::Filter).map(|r| r.text.clone()).collect();
            let mut n: Vec<String> =
                p.rules.iter().filter(|r| r.table == TableName::Nat).map(|r| r.text.clone()).collect();
            f.sort();
            n.sort();
            (f, n)
        })
        .collect()
}

/// An SCTP INIT the node sends (a raw socket: no sctp module needed) to the service's
/// ClusterIP is DNATed to one of its endpoints, one to the no-endpoints service is REJECTed,
/// in the real kernel as in netsim: the rules the kernel counted are one of netsim's paths.
#[test]
fn kube_proxy_sctp_cluster_ip_and_reject_match_the_kernel() {
    let paths = netsim_sctp_paths("172.30.0.41", 3868);
    assert_eq!(paths.len(), 2, "two endpoints, two paths");
    assert!(
        paths.iter().all(|(_, nat)| nat.iter().any(|r| r.contains("-j DNAT --to-destination 10.180.0.")))
    );
    let reject = netsim_sctp_paths("172.30.0.42", 9);
    assert_eq!(reject.len(), 1);
    assert!(reject[0].0.iter().any(|r| r.contains("has no endpoints") && r.contains("-j REJECT")));
    if let Some(why) = skip_reason() {
        println!("skipped: {why}");
        return;
    }
    if !have("python3") {
        println!("skipped: python3 (to send a raw SCTP INIT) is not installed");
        return;
    }
    for backend in ["nft", "legacy"] {
        let (restore, save) = match backend {
            "legacy" => ("iptables-legacy-restore", "iptables-legacy-save"),
            _ => ("iptables-nft-restore", "iptables-nft-save"),
        };
        for (i, (dst, dport, want)) in
            [("172.30.0.41", 3868, &paths), ("172.30.0.42", 9, &reject)].into_iter().enumerate()
        {
            let Some(ns) = Netns::new(&format!("sctp-{backend}-{i}")) else {
                println!("skipped: cannot create a network namespace");
                return;
            };
            let path = std::env::temp_dir().join(format!("{}.rules", ns.0));
            std::fs::write(&path, SCTP_RULES).unwrap();
            // Common header (ports, vtag 0, checksum 0: conntrack checks the CRC only at
            // PREROUTING) and an INIT chunk (type 1, length 20, init tag, a_rwnd, streams, TSN).
            let py = format!(
                "import socket,struct; s=socket.socket(socket.AF_INET,socket.SOCK_RAW,132); \
                 h=struct.pack('!HHII',40000,{dport},0,0); c=struct.pack('!BBHIIHHI',1,0,20,0x1234,65535,10,10,1); \
                 s.sendto(h+c,('{dst}',0))"
            );
            let script = format!(
                "ip link set lo up && ip link add eth0 type veth peer name peer0 \
                 && ip addr add 192.168.0.2/24 dev eth0 && ip link set eth0 up && ip link set peer0 up \
                 && ip neigh add 192.168.0.1 lladdr 02:00:00:00:00:01 dev eth0 \
                 && ip route add default via 192.168.0.1 dev eth0 && {restore} < {p}; \
                 python3 -c \"{py}\"; echo \"py=$?\"; {save} -c -t filter; {save} -c -t nat",
                p = path.display()
            );
            let out = ns.sh(&script);
            let _ = std::fs::remove_file(&path);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(text.contains("*nat"), "{backend}: {text}\n{}", String::from_utf8_lossy(&out.stderr));
            let (filter_text, nat_text) = text.split_once("*nat").unwrap_or((&text, ""));
            let (mut filter, nat) = (counted_rules(filter_text), counted_rules(nat_text));
            if i == 1 {
                // The REJECT's port unreachable comes back to the node itself (OUTPUT, then
                // INPUT), a RELATED packet: the kernel counts the rules it matches too. Those
                // are left out; they must be rules a RELATED packet can match.
                let extra: Vec<String> = filter.iter().filter(|r| !want[0].0.contains(r)).cloned().collect();
                assert!(
                    extra.iter().all(|r| !r.contains("--ctstate NEW")
                        && (r.starts_with("-A INPUT")
                            || r.starts_with("-A OUTPUT")
                            || r.starts_with("-A KUBE-FIREWALL"))),
                    "{backend}: unexpected rules counted {extra:#?}"
                );
                filter.retain(|r| want[0].0.contains(r));
            }
            let got = (filter, nat);
            assert!(
                want.contains(&got),
                "{backend} {dst}:{dport}: the kernel counted {got:#?}\nnetsim's paths: {want:#?}"
            );
            println!("{backend}: SCTP INIT to {dst}:{dport}: the kernel took one of netsim's paths");
        }
    }
}
