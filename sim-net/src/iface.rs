//! Network interfaces of one namespace, the kinds a Kubernetes node uses: `lo`, veth pairs
//! (a pod's `eth0` and its host-side peer), Linux bridges (`cni0`, `docker0`) with member
//! ports, dummies (`kube-ipvs0`) and "ethernet" NICs attached to an L2 segment (the node
//! network).
//!
//! Addresses are `Ipv4Net`s with host bits (`10.244.0.1/24`); the first is primary (what
//! MASQUERADE uses). Neighbour resolution is by IP, with no MAC addresses: the attachment
//! owning the next hop receives the frame (`proxy_arp` answers for any address, as Calico's
//! host-side veths do). The `ip addr` printer invents stable locally-administered MAC
//! addresses from the host and interface names. Left out: MTU effects, VLANs, VXLAN and other
//! tunnels, IPv6, multicast.

use std::fmt::Write;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use sim_core::SimDuration;

/// Index of a host in a [`crate::network::Network`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostId(pub u32);

/// Index of an L2 segment in a [`crate::network::Network`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentId(pub u32);

/// An interface of some host.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IfaceRef {
    /// The host (network namespace).
    pub host: HostId,
    /// The interface name in that namespace.
    pub name: String,
}

/// What an interface is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IfaceKind {
    /// The loopback device: packets sent come straight back in.
    Loopback,
    /// One end of a veth pair; frames sent appear on the peer after `latency`.
    Veth {
        /// The other end.
        peer: IfaceRef,
        /// One-way latency.
        latency: SimDuration,
    },
    /// A Linux bridge. `nf_call_iptables` is `net.bridge.bridge-nf-call-iptables`
    /// (br_netfilter): bridged IPv4 frames traverse this host's PREROUTING, FORWARD and
    /// POSTROUTING with the bridge as in/out interface.
    Bridge {
        /// br_netfilter on.
        nf_call_iptables: bool,
    },
    /// A dummy device: holds addresses, discards what is sent through it.
    Dummy,
    /// A NIC on an L2 segment.
    Ethernet {
        /// The segment.
        segment: SegmentId,
    },
}

impl IfaceKind {
    /// The `ip -d link` kind word.
    pub fn name(&self) -> &'static str {
        match self {
            IfaceKind::Loopback => "loopback",
            IfaceKind::Veth { .. } => "veth",
            IfaceKind::Bridge { .. } => "bridge",
            IfaceKind::Dummy => "dummy",
            IfaceKind::Ethernet { .. } => "ether",
        }
    }
}

/// One interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iface {
    /// Name (`eth0`, `cni0`, `veth1a2b3c`).
    pub name: String,
    /// `ip link` index (1 for `lo`).
    pub index: u32,
    /// Kind and link.
    pub kind: IfaceKind,
    /// Addresses in order; the first is primary.
    pub addrs: Vec<Ipv4Net>,
    /// Administratively up.
    pub up: bool,
    /// The bridge this interface is a port of (`ip link set X master BR`).
    pub master: Option<String>,
    /// Bridge-port hairpin mode: frames may leave by the port they came in on.
    pub hairpin: bool,
    /// `net.ipv4.conf.X.proxy_arp`: answer neighbour resolution for any address.
    pub proxy_arp: bool,
    /// Addresses were added while the interface was down, and it has not gone from up to
    /// down since: the kernel keeps their local routes (`fib_add_ifaddr` adds the local route
    /// before it checks `IFF_UP`; only `NETDEV_DOWN` removes it). This is how kube-proxy's
    /// `kube-ipvs0`, a dummy never brought up, holds addresses that are local.
    pub local_while_down: bool,
}

impl Iface {
    /// A new, up interface without addresses.
    pub fn new(name: &str, index: u32, kind: IfaceKind) -> Iface {
        Iface {
            name: name.to_string(),
            index,
            kind,
            addrs: vec![],
            up: true,
            master: None,
            hairpin: false,
            proxy_arp: false,
            local_while_down: false,
        }
    }

    /// The primary address.
    pub fn primary(&self) -> Option<Ipv4Addr> {
        self.addrs.first().map(|n| n.addr())
    }

    /// True if `a` is one of this interface's addresses.
    pub fn owns(&self, a: Ipv4Addr) -> bool {
        self.addrs.iter().any(|n| n.addr() == a)
    }

    /// True if this interface answers neighbour resolution for `a`.
    pub fn answers_for(&self, a: Ipv4Addr) -> bool {
        self.up && (self.proxy_arp || self.owns(a))
    }

    /// A stable, locally administered MAC address derived from the host and interface name
    /// (FNV-1a), for display only.
    pub fn mac(&self, host: &str) -> String {
        if self.kind == IfaceKind::Loopback {
            return "00:00:00:00:00:00".to_string();
        }
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in host.bytes().chain([0]).chain(self.name.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        // Finalise (splitmix64) so that names differing in one letter differ everywhere.
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
        let b = h.to_be_bytes();
        format!("02:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4])
    }

    /// This interface's block of `ip addr` output. `peer_index` is the veth peer's index
    /// (printed `eth0@if7`).
    pub fn render_ip_addr(&self, host: &str, peer_index: Option<u32>) -> String {
        self.render_ip_addr_carrier(host, peer_index, true)
    }

    /// [`Self::render_ip_addr`] with the link's carrier: without one an up interface prints
    /// `NO-CARRIER`, no `LOWER_UP`, and `state DOWN` (a bridge with no port up, as the kernel's
    /// `br_port_state_selection` turns its carrier off).
    pub fn render_ip_addr_carrier(&self, host: &str, peer_index: Option<u32>, carrier: bool) -> String {
        let mut s = String::new();
        let name = match peer_index {
            Some(i) => format!("{}@if{i}", self.name),
            None => self.name.clone(),
        };
        let lower_up = self.up && carrier;
        let mut flags: Vec<&str> = vec![];
        if self.up && !carrier {
            flags.push("NO-CARRIER");
        }
        match self.kind {
            IfaceKind::Loopback => flags.push("LOOPBACK"),
            // dummy_setup: IFF_NOARP, multicast off.
            IfaceKind::Dummy => flags.extend(["BROADCAST", "NOARP"]),
            _ => flags.extend(["BROADCAST", "MULTICAST"]),
        }
        if self.up {
            flags.push("UP");
        }
        if lower_up {
            flags.push("LOWER_UP");
        }
        let mtu = if self.kind == IfaceKind::Loopback { 65536 } else { 1500 };
        let qdisc = match self.kind {
            IfaceKind::Ethernet { .. } => "fq_codel",
            // A device never brought up has no qdisc attached yet.
            IfaceKind::Dummy if !self.up => "noop",
            _ => "noqueue",
        };
        // The dummy driver leaves tx_queue_len at 0, which ip does not print.
        let qlen = if self.kind == IfaceKind::Dummy { "" } else { " qlen 1000" };
        let state = match (&self.kind, lower_up) {
            (_, false) => "DOWN",
            (IfaceKind::Loopback | IfaceKind::Dummy, true) => "UNKNOWN",
            _ => "UP",
        };
        let master = self.master.as_ref().map(|m| format!(" master {m}")).unwrap_or_default();
        let _ = writeln!(
            s,
            "{}: {name}: <{}> mtu {mtu} qdisc {qdisc}{master} state {state} group default{qlen}",
            self.index,
            flags.join(",")
        );
        let link = if self.kind == IfaceKind::Loopback { "loopback" } else { "ether" };
        let brd = if self.kind == IfaceKind::Loopback { "00:00:00:00:00:00" } else { "ff:ff:ff:ff:ff:ff" };
        let _ = writeln!(s, "    link/{link} {} brd {brd}", self.mac(host));
        for n in &self.addrs {
            let scope = if n.addr().is_loopback() { "host" } else { "global" };
            let brd = if n.prefix_len() < 31 && !n.addr().is_loopback() {
                format!(" brd {}", n.broadcast())
            } else {
                String::new()
            };
            let _ = writeln!(s, "    inet {n}{brd} scope {scope} {}", self.name);
            let _ = writeln!(s, "       valid_lft forever preferred_lft forever");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // As the kernel prints a bridge whose ports are gone (checked with a real bridge in a
    // network namespace: `ip link add br0 type bridge; ip link set br0 up`, a veth port added
    // and deleted, `ip addr show br0`).
    #[test]
    fn a_bridge_without_carrier_is_no_carrier_state_down() {
        let mut br = Iface::new("br0", 2, IfaceKind::Bridge { nf_call_iptables: false });
        br.addrs.push("172.17.0.1/16".parse().unwrap());
        let out = br.render_ip_addr_carrier("node", None, false);
        assert!(
            out.starts_with(
                "2: br0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN group default qlen 1000\n"
            ),
            "{out}"
        );
        let up = br.render_ip_addr_carrier("node", None, true);
        assert!(
            up.starts_with("2: br0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP"),
            "{up}"
        );
    }

    #[test]
    fn ip_addr_block_for_loopback_and_a_pod_eth0() {
        let mut lo = Iface::new("lo", 1, IfaceKind::Loopback);
        lo.addrs.push("127.0.0.1/8".parse().unwrap());
        assert_eq!(
            lo.render_ip_addr("pod", None),
            "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n"
        );
        let mut eth = Iface::new(
            "eth0",
            2,
            IfaceKind::Veth {
                peer: IfaceRef { host: HostId(0), name: "veth1".into() },
                latency: SimDuration::ZERO,
            },
        );
        eth.addrs.push("10.244.1.5/24".parse().unwrap());
        let out = eth.render_ip_addr("pod", Some(7));
        assert!(
            out.starts_with("2: eth0@if7: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP"),
            "{out}"
        );
        assert!(out.contains("    inet 10.244.1.5/24 brd 10.244.1.255 scope global eth0\n"), "{out}");
        assert_eq!(eth.mac("pod"), eth.mac("pod"));
        assert_ne!(eth.mac("pod"), eth.mac("pod2"));
    }
}
