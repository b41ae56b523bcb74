//! netsim's ARP answers (`arp_ignore`), `sysctl` and port-less bridges against the real
//! kernel and tools.
//!
//! - `recorded_arp_answers`: a node with `eth0` (10.32.1.147/24 and 192.168.5.1/24) and the
//!   VIP 10.96.0.1/32 on a down `kube-ipvs0`, asked `who-has` by a neighbour 10.32.1.200 on
//!   eth0's segment, for each `net.ipv4.conf.all.arp_ignore` value; the expected answers are
//!   what iputils `arping` received from a real kernel (6.18) in the same setup (runs
//!   everywhere).
//! - `differential_against_the_kernel`: when `ip`, `arping` and `sysctl` are installed and the
//!   test runs as root, it builds that setup in two network namespaces it creates (never the
//!   machine's own), and compares the real `arping` answers, `sysctl` outputs (stdout, stderr,
//!   exit status) and the `ip addr` line of a bridge whose port is gone with netsim's.
//!   Otherwise it prints why it is skipped.

use std::net::Ipv4Addr;
use std::process::Command;

use sim_core::SimDuration;
use sim_net::host::Sysctls;
use sim_net::network::Network;

const VIP: &str = "10.96.0.1";
const NODE_IP: &str = "10.32.1.147";
const OTHER_SUBNET_IP: &str = "192.168.5.1";
const PEER_IP: &str = "10.32.1.200";

/// (arp_ignore, [answered for VIP, NODE_IP, OTHER_SUBNET_IP]) as the real kernel answered.
const RECORDED: [(u8, [bool; 3]); 4] = [
    (0, [true, true, true]),
    (1, [false, true, true]),
    (2, [false, true, false]),
    (8, [false, false, false]),
];

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Whether netsim's node answers the peer's `who-has target` with `arp_ignore`.
fn netsim_answers(arp_ignore: u8, target: &str) -> bool {
    let mut net = Network::new(1);
    let seg = net.add_segment("lan", SimDuration::from_micros(100));
    let node = net.add_host("node").unwrap();
    let peer = net.add_host("peer").unwrap();
    net.attach(node, "eth0", seg, Some(format!("{NODE_IP}/24").parse().unwrap())).unwrap();
    net.attach(peer, "eth0", seg, Some(format!("{PEER_IP}/24").parse().unwrap())).unwrap();
    net.add_dummy(node, "kube-ipvs0").unwrap();
    let h = net.host_mut(node).unwrap();
    h.add_addr("eth0", format!("{OTHER_SUBNET_IP}/24").parse().unwrap()).unwrap();
    h.set_up("kube-ipvs0", false).unwrap();
    h.add_addr("kube-ipvs0", format!("{VIP}/32").parse().unwrap()).unwrap();
    h.sysctl.arp_ignore = arp_ignore;
    net.arp_who_has(seg, ip(PEER_IP), ip(target)).contains(&node)
}

#[test]
fn recorded_arp_answers() {
    for (ai, answers) in RECORDED {
        for (target, want) in [VIP, NODE_IP, OTHER_SUBNET_IP].into_iter().zip(answers) {
            assert_eq!(netsim_answers(ai, target), want, "arp_ignore={ai} who-has {target}");
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
        let name = format!("nsim-arp-{}-{tag}", std::process::id());
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
    fn ok(&self, line: &str) {
        let args: Vec<&str> = line.split_whitespace().collect();
        let out = self.run(&args);
        assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn differential_against_the_kernel() {
    if !have("ip") || !have("arping") || !have("sysctl") {
        println!(
            "skipped: ip, arping or sysctl is not installed (apt-get install iproute2 iputils-arping procps)"
        );
        return;
    }
    if !is_root() {
        println!("skipped: needs root to create network namespaces");
        return;
    }
    let (Some(node), Some(peer)) = (Netns::new("node"), Netns::new("peer")) else {
        println!("skipped: cannot create network namespaces");
        return;
    };
    // The veth pair: node's eth0 <-> peer's eth0.
    node.ok(&format!("ip link add eth0 type veth peer name eth0p netns {}", peer.0));
    // kube-ipvs0 is a dummy; a kernel without the dummy driver gets a bridge, also left down.
    if !node.run(&["ip", "link", "add", "kube-ipvs0", "type", "dummy"]).status.success() {
        node.ok("ip link add kube-ipvs0 type bridge");
    }
    node.ok(&format!("ip addr add {VIP}/32 dev kube-ipvs0"));
    node.ok(&format!("ip addr add {NODE_IP}/24 dev eth0"));
    node.ok(&format!("ip addr add {OTHER_SUBNET_IP}/24 dev eth0"));
    node.ok("ip link set eth0 up");
    peer.ok(&format!("ip addr add {PEER_IP}/24 dev eth0p"));
    peer.ok("ip link set eth0p up");
    for (ai, _) in RECORDED {
        node.ok(&format!("sysctl -q -w net.ipv4.conf.all.arp_ignore={ai}"));
        for target in [VIP, NODE_IP, OTHER_SUBNET_IP] {
            let out = peer.run(&["arping", "-c", "1", "-w", "1", "-I", "eth0p", target]);
            let real = text(&out.stdout).contains("Unicast reply from");
            assert_eq!(
                netsim_answers(ai, target),
                real,
                "arp_ignore={ai} who-has {target}: {}",
                text(&out.stdout)
            );
        }
    }

    // sysctl, in a fresh namespace where the compared keys are 0.
    let fresh = Netns::new("sysctl").expect("namespace");
    let mut ours = Sysctls::default();
    let mut ours_ct = sim_net::conntrack::Conntrack::default();
    for line in [
        "sysctl net.ipv4.conf.all.arp_ignore",
        "sysctl -w net.ipv4.conf.all.arp_ignore=1",
        "sysctl net.ipv4.conf.all.arp_announce=2",
        "sysctl -n net.ipv4.conf.all.arp_announce",
        "sysctl -N net/ipv4/ip_forward",
        "sysctl net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce",
        "sysctl -w net.ipv4.conf.all.arp_ignore=abc",
        "sysctl net.ipv4.conf.all.nope",
        "sysctl -w net.ipv4.conf.all.arp_ignore",
        "sysctl -w net.ipv4.fib_multipath_hash_policy=9",
        "sysctl -w net.ipv4.conf.all.route_localnet=1",
        "sysctl -z",
    ] {
        let args: Vec<&str> = line.split_whitespace().collect();
        let real = fresh.run(&args);
        let o = sim_net::sysctl::command(&mut ours, &mut ours_ct, &args[1..]);
        assert_eq!(o.stdout, text(&real.stdout), "{line}: stdout");
        assert_eq!(o.stderr, text(&real.stderr), "{line}: stderr");
        assert_eq!(Some(o.code), real.status.code(), "{line}: exit status");
    }

    // A bridge whose port is gone: NO-CARRIER, state DOWN.
    fresh.ok("ip link add br0 type bridge");
    fresh.ok("ip link set br0 up");
    fresh.ok("ip link add v0 type veth peer name v1");
    fresh.ok("ip link set v0 master br0");
    fresh.ok("ip link set v0 up");
    fresh.ok("ip link del v0");
    let real = text(&fresh.run(&["ip", "addr", "show", "br0"]).stdout);
    let mut net = Network::new(1);
    let h = net.add_host("h").unwrap();
    net.add_bridge(h, "br0", false).unwrap();
    let ours = net.ip_addr(h);
    let flags = |s: &str| -> Option<String> {
        let l = s.lines().find(|l| l.contains(" br0: "))?;
        Some(l.split_once(" br0: ")?.1.to_string())
    };
    assert_eq!(flags(&ours), flags(&real), "netsim:\n{ours}\nreal:\n{real}");
}
