//! Five real-world node rule sets (`tests/data/real-nodes/`): a Docker host, a ufw host, a
//! Calico node, a flannel node and a kube-proxy IPVS-mode node, written for netsim from public
//! material (each file says from what). Each one:
//!
//! - loads, and netsim's `iptables-save` reprints it byte for byte (banners aside: the files
//!   are in the real tool's canonical form, checked by the next test);
//! - when `iptables-restore` is installed and the test runs as root, restores in a network
//!   namespace the test creates with the real nft and legacy binaries, whose `iptables-save -t`
//!   of each table is compared with netsim's (skipped with a notice otherwise);
//! - has one first packet traced through the node (`Netfilter::explore`, what `netsim
//!   iptables trace` runs), with the path it takes asserted.

use std::net::Ipv4Addr;
use std::process::Command;

use sim_core::SimTime;
use sim_net::netfilter::{
    Disposition, ExploreOrigin, ExplorePath, ExploreRequest, Hook, Netfilter, SaveOptions, TableName,
};
use sim_net::wire::{Packet, TcpFlags};

struct Dump {
    name: &'static str,
    rules: &'static str,
    ipsets: &'static str,
}

const DUMPS: [Dump; 5] = [
    Dump {
        name: "docker-host",
        rules: include_str!("../../tests/data/real-nodes/docker-host.rules"),
        ipsets: "",
    },
    Dump { name: "ufw-host", rules: include_str!("../../tests/data/real-nodes/ufw-host.rules"), ipsets: "" },
    Dump {
        name: "calico-node",
        rules: include_str!("../../tests/data/real-nodes/calico-node.rules"),
        ipsets: include_str!("../../tests/data/real-nodes/calico-node.ipsets"),
    },
    Dump {
        name: "flannel-node",
        rules: include_str!("../../tests/data/real-nodes/flannel-node.rules"),
        ipsets: "",
    },
    Dump {
        name: "kube-proxy-ipvs-node",
        rules: include_str!("../../tests/data/real-nodes/kube-proxy-ipvs-node.rules"),
        ipsets: include_str!("../../tests/data/real-nodes/kube-proxy-ipvs-node.ipsets"),
    },
];

fn dump(name: &str) -> &'static Dump {
    DUMPS.iter().find(|d| d.name == name).unwrap_or_else(|| panic!("no dump {name}"))
}

fn load(d: &Dump) -> Netfilter {
    // The files are in iptables-nft's order of tables; iptables-legacy restoring them would
    // print the table it registered last first.
    let mut nf = Netfilter::new();
    nf.set_backend(sim_net::netfilter::Backend::Nft);
    for line in d.ipsets.lines().filter(|l| !l.trim().is_empty()) {
        let args: Vec<&str> = line.split_whitespace().collect();
        nf.ipset(&args).unwrap_or_else(|e| panic!("{}: ipset {line}: {e}", d.name));
    }
    nf.restore(d.rules, false).unwrap_or_else(|e| panic!("{}: {e}", d.name));
    nf
}

fn without_comments(text: &str) -> String {
    text.lines().filter(|l| !l.starts_with('#')).map(|l| format!("{l}\n")).collect()
}

/// The tables a dump has, in its order.
fn tables_of(text: &str) -> Vec<TableName> {
    text.lines().filter_map(|l| l.strip_prefix('*')).filter_map(TableName::parse).collect()
}

#[test]
fn every_dump_loads_and_reprints_byte_for_byte() {
    for d in &DUMPS {
        let nf = load(d);
        assert_eq!(nf.save(&SaveOptions::default()), without_comments(d.rules), "{}", d.name);
    }
}

fn have(cmd: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {cmd}")).output().is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn every_dump_matches_the_installed_iptables() {
    if !have("iptables-restore") || !have("ipset") {
        println!("skipped: iptables-restore or ipset is not installed (apt-get install -y iptables ipset)");
        return;
    }
    if !is_root() {
        println!("skipped: not root: cannot create a network namespace");
        return;
    }
    let dir = std::env::temp_dir();
    for d in &DUMPS {
        let tables = tables_of(d.rules);
        let nf = load(d);
        let ours: String = tables.iter().map(|t| nf.save_table(*t, &SaveOptions::default())).collect();
        for (restore, save) in [
            ("iptables-nft-restore", "iptables-nft-save"),
            ("iptables-legacy-restore", "iptables-legacy-save"),
        ] {
            if !have(restore) {
                println!("{restore} not installed: skipped");
                continue;
            }
            let ns = format!("nstest-xt-{}-{}", std::process::id(), d.name.len());
            if !Command::new("ip").args(["netns", "add", &ns]).status().is_ok_and(|s| s.success()) {
                println!("skipped: cannot create a network namespace");
                return;
            }
            let rules = dir.join(format!("{ns}.rules"));
            let sets = dir.join(format!("{ns}.ipsets"));
            std::fs::write(&rules, d.rules).unwrap();
            std::fs::write(&sets, d.ipsets).unwrap();
            let mut script = format!("ipset restore < {} && {restore} < {}", sets.display(), rules.display());
            for t in &tables {
                script.push_str(&format!(" && {save} -t {}", t.name()));
            }
            let out = Command::new("ip").args(["netns", "exec", &ns, "sh", "-c", &script]).output();
            let _ = Command::new("ip").args(["netns", "del", &ns]).status();
            let _ = std::fs::remove_file(&rules);
            let _ = std::fs::remove_file(&sets);
            let out = out.unwrap();
            assert!(
                out.status.success(),
                "{} with {restore}: {}",
                d.name,
                String::from_utf8_lossy(&out.stderr)
            );
            let real = without_comments(&String::from_utf8_lossy(&out.stdout));
            assert_eq!(ours, real, "{} vs {save}", d.name);
            println!("{}: identical to {save}", d.name);
        }
    }
}

fn explore(
    d: &Dump,
    packet: Packet,
    origin: ExploreOrigin,
    local: &[Ipv4Addr],
    out: Option<&str>,
) -> Vec<ExplorePath> {
    let nf = load(d);
    let req = ExploreRequest {
        packet,
        origin,
        local_ips: local.to_vec(),
        out_iface: out.map(str::to_string),
        now: SimTime::ZERO,
    };
    let e = nf.explore(&req);
    assert!(!e.truncated);
    e.paths
}

fn ext(iface: &str) -> ExploreOrigin {
    ExploreOrigin::External { in_iface: iface.to_string() }
}

fn texts(p: &ExplorePath) -> Vec<&str> {
    p.rules.iter().map(|r| r.text.as_str()).collect()
}

#[test]
fn docker_host_publishes_8080_to_the_container() {
    // A client on the internet connects to the host's published port.
    let pkt = Packet::tcp(
        Ipv4Addr::new(203, 0, 113, 7),
        51000,
        Ipv4Addr::new(192, 168, 1, 20),
        8080,
        TcpFlags::SYN,
    );
    let local = [Ipv4Addr::new(192, 168, 1, 20), Ipv4Addr::new(172, 17, 0, 1), Ipv4Addr::new(172, 18, 0, 1)];
    let paths = explore(dump("docker-host"), pkt, ext("eth0"), &local, Some("br-5f3a2c1d9e7b"));
    assert_eq!(paths.len(), 1);
    let p = &paths[0];
    assert_eq!(p.disposition, Disposition::Dnat);
    assert_eq!(p.dnat, Some((Ipv4Addr::new(172, 18, 0, 2), Some(80))));
    let t = texts(p);
    assert!(t.contains(
        &"-A DOCKER ! -i br-5f3a2c1d9e7b -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80"
    ));
    // The TCPMSS clamp ran on the way (and let the SYN go on), then dockerd's DOCKER chain
    // accepted the forwarded packet.
    assert!(t.contains(&"-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu"));
    assert_eq!(
        t.last().copied(),
        Some(
            "-A DOCKER -d 172.18.0.2/32 ! -i br-5f3a2c1d9e7b -o br-5f3a2c1d9e7b -p tcp -m tcp --dport 80 -j ACCEPT"
        )
    );
    assert!(p.hooks.contains(&Hook::Forward));
}

#[test]
fn ufw_host_logs_and_drops_telnet_and_accepts_ssh() {
    let host = Ipv4Addr::new(192, 168, 1, 30);
    let from = Ipv4Addr::new(198, 51, 100, 9);
    let telnet = Packet::tcp(from, 40000, host, 23, TcpFlags::SYN);
    let paths = explore(dump("ufw-host"), telnet, ext("eth0"), &[host], None);
    assert_eq!(paths.len(), 1);
    assert_eq!(paths[0].disposition, Disposition::Drop);
    // `-m limit --limit 3/min --limit-burst 10` lets the first packets be logged.
    assert!(
        texts(&paths[0])
            .contains(&"-A ufw-after-logging-input -m limit --limit 3/min --limit-burst 10 -j LOG --log-prefix \"[UFW BLOCK] \"")
    );
    let ssh = Packet::tcp(from, 40001, host, 22, TcpFlags::SYN);
    let paths = explore(dump("ufw-host"), ssh, ext("eth0"), &[host], None);
    assert_eq!(paths[0].disposition, Disposition::Accept);
    assert_eq!(texts(&paths[0]).last().copied(), Some("-A ufw-user-limit-accept -j ACCEPT"));
}

#[test]
fn calico_node_masquerades_a_pod_going_to_the_internet() {
    let pod = Ipv4Addr::new(10, 244, 35, 4);
    let pkt = Packet::tcp(pod, 43000, Ipv4Addr::new(1, 1, 1, 1), 443, TcpFlags::SYN);
    let paths = explore(
        dump("calico-node"),
        pkt,
        ext("cali5c8f1e2a3b4"),
        &[Ipv4Addr::new(192, 168, 10, 11)],
        Some("eth0"),
    );
    assert_eq!(paths.len(), 1);
    let p = &paths[0];
    assert_eq!(p.disposition, Disposition::Accept);
    assert!(p.masquerade);
    let t = texts(p);
    // raw: the workload mark, then the reverse-path check (assumed to pass: no drop).
    assert!(t.contains(&"-A cali-PREROUTING -i cali+ -m comment --comment \"cali:EWMPb0zVROM-woQp\" -j MARK --set-xmark 0x40000/0x40000"));
    assert!(!t.iter().any(|r| r.contains("rpfilter")));
    // filter: the workload's profile accepted it; nat: Calico's outgoing NAT.
    assert!(t.contains(&"-A FORWARD -m comment --comment \"cali:S93hcgKJrXEqnTfs\" -m comment --comment \"Policy explicitly accepted packet.\" -m mark --mark 0x10000/0x10000 -j ACCEPT"));
    assert_eq!(
        t.last().copied(),
        Some(
            "-A cali-nat-outgoing -m comment --comment \"cali:flqWnvo8yq4ULQLa\" -m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE --random-fully"
        )
    );
}

#[test]
fn flannel_node_balances_dns_over_two_coredns_pods() {
    let pkt = Packet::udp(Ipv4Addr::new(10, 244, 1, 3), 40000, Ipv4Addr::new(10, 96, 0, 10), 53);
    let paths = explore(
        dump("flannel-node"),
        pkt,
        ext("cni0"),
        &[Ipv4Addr::new(192, 168, 56, 21)],
        Some("flannel.1"),
    );
    type Dnat = Option<(Ipv4Addr, Option<u16>)>;
    let dnat: Vec<(Dnat, f64)> = paths.iter().map(|p| (p.dnat, p.probability)).collect();
    assert_eq!(
        dnat,
        [
            (Some((Ipv4Addr::new(10, 244, 0, 2), Some(53))), 0.5),
            (Some((Ipv4Addr::new(10, 244, 0, 3), Some(53))), 0.5)
        ]
    );
    for p in &paths {
        // Pod to pod across nodes: flannel does not masquerade.
        assert!(!p.masquerade);
        assert!(texts(p).contains(&"-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment \"flanneld masq\" -j RETURN"));
    }
}

#[test]
fn ipvs_node_accepts_service_ports_and_rejects_other_ports_of_service_ips() {
    // In IPVS mode the cluster IPs are local (kube-ipvs0); IPVS, not iptables, translates.
    let local = [Ipv4Addr::new(192, 168, 56, 22), Ipv4Addr::new(10, 96, 0, 1), Ipv4Addr::new(10, 96, 0, 10)];
    let pod = Ipv4Addr::new(10, 244, 2, 7);
    let https = Packet::tcp(pod, 41000, Ipv4Addr::new(10, 96, 0, 1), 443, TcpFlags::SYN);
    let paths = explore(dump("kube-proxy-ipvs-node"), https, ext("cni0"), &local, None);
    assert_eq!(paths.len(), 1);
    assert_eq!(paths[0].disposition, Disposition::Accept);
    assert!(
        texts(&paths[0]).contains(&"-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT")
    );
    let other = Packet::tcp(pod, 41001, Ipv4Addr::new(10, 96, 0, 1), 80, TcpFlags::SYN);
    let paths = explore(dump("kube-proxy-ipvs-node"), other, ext("cni0"), &local, None);
    assert!(matches!(paths[0].disposition, Disposition::Reject(_)));
    assert_eq!(
        texts(&paths[0]).last().copied(),
        Some(
            "-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT --reject-with icmp-port-unreachable"
        )
    );
}
