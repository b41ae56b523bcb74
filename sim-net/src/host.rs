//! A host: one Linux network namespace — its interfaces and addresses, main routing table,
//! the local table derived from its addresses, sysctls, netfilter rules, conntrack table,
//! sockets and seeded random stream.
//!
//! Routing decisions follow `ip_route_input`/`ip_route_output`: the *local* table first
//! (every address of an up interface, and all of 127.0.0.0/8 while `lo` is up), then the main
//! table by longest prefix. Adding an address adds its connected route
//! (`PREFIX dev DEV proto kernel scope link src ADDR`), except on `lo`. Source selection for
//! locally generated packets uses the route's `src`, else the out-interface address in the
//! next hop's subnet, else its primary. A multipath route picks the flow's next hop by
//! `net.ipv4.fib_multipath_hash_policy` (`fib_select_path`). Left out: policy routing,
//! `rp_filter` enforcement (recorded only), IPv6.
//!
//! A host's [`Ipvs`] holds its IP Virtual Server services (kube-proxy's IPVS mode binds their
//! addresses to a dummy `kube-ipvs0`, so they are local and IPVS takes them at LOCAL_IN).

use std::net::Ipv4Addr;

use indexmap::IndexMap;
use sim_core::hash::FxBuildHasher;

/// Interfaces by name, in creation order; names hash with the unseeded Fx hash (looked up on
/// every hop of every packet).
type Ifaces = IndexMap<String, Iface, FxBuildHasher>;
use ipnet::Ipv4Net;
use sim_core::SimRng;

use crate::conntrack::Conntrack;
use crate::iface::{HostId, Iface, IfaceKind};
use crate::ipvs::{Ipvs, IpvsSysctls};
use crate::netfilter::{AddrType, Netfilter};
use crate::on_first_use::OnFirstUse;
use crate::route::{FlowKeys, MultipathHashPolicy, Route, RouteError, RouteProto, RouteScope, RouteTable};
use crate::socket::Sockets;

/// Per-namespace sysctls the model honours (all default to 0, as in the kernel).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sysctls {
    /// `net.ipv4.ip_forward` (default 0): route packets not addressed to this host.
    pub ip_forward: bool,
    /// `net.ipv4.conf.all.route_localnet` (default 0): accept 127.0.0.0/8 destinations on
    /// non-loopback interfaces (kube-proxy sets 1 for localhost NodePorts).
    pub route_localnet: bool,
    /// `net.ipv4.conf.all.rp_filter` (kernel default 0; many distributions set 1 or 2).
    /// Recorded, not enforced.
    pub rp_filter: u8,
    /// `net.ipv4.fib_multipath_hash_policy` (default 0, L3): what a multipath route hashes
    /// to pick a flow's next hop.
    pub fib_multipath_hash_policy: MultipathHashPolicy,
    /// `net.ipv4.vs.conntrack` (default 0): keep netfilter conntrack for IPVS-forwarded
    /// packets, with the entry's reply tuple pointing at the real server, so POSTROUTING
    /// MASQUERADE and the reply path work (kube-proxy's IPVS mode sets 1). With 0 the
    /// forwarded packet is untracked.
    pub vs_conntrack: bool,
    /// `net.ipv4.vs.expire_nodest_conn` (default 0; kube-proxy sets 1).
    pub vs_expire_nodest_conn: bool,
    /// `net.ipv4.vs.expire_quiescent_template` (default 0; kube-proxy sets 1).
    pub vs_expire_quiescent_template: bool,
    /// `net.ipv4.conf.all.arp_ignore` (default 0: answer ARP for any local address on any
    /// interface; 1: only for an address configured on the receiving interface, which is what
    /// kube-proxy's `strictARP` sets so kube-ipvs0's VIPs are not announced). Values 2-8 are
    /// kept and treated as 1.
    pub arp_ignore: u8,
    /// `net.ipv4.conf.all.arp_announce` (default 0; `strictARP` sets 2: use the best local
    /// source address for the target in ARP requests). Recorded: the model sends no ARP
    /// requests.
    pub arp_announce: u8,
}

impl Sysctls {
    /// The `net.ipv4.vs.*` values packet handling in [`crate::ipvs`] reads.
    pub fn ipvs(&self) -> IpvsSysctls {
        IpvsSysctls {
            expire_nodest_conn: self.vs_expire_nodest_conn,
            expire_quiescent_template: self.vs_expire_quiescent_template,
        }
    }
}

/// Where the routing decision sends a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteDecision {
    /// To this host (local table).
    Local,
    /// Out of `route.dev` towards `route.next_hop(dst)`; for a multipath route, the
    /// single-path route through the next hop chosen for the flow (as `ip route get` shows it).
    Unicast(Route),
    /// No route (`ENETUNREACH`).
    Unreachable,
}

/// A bad change to a host.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// No interface of that name.
    #[error("host {host}: no interface named {iface}")]
    UnknownIface { host: String, iface: String },
    /// The name is taken.
    #[error("host {host}: interface {iface} already exists")]
    DuplicateIface { host: String, iface: String },
    /// The address is on the interface already.
    #[error("host {host}: {addr} already assigned to {iface}")]
    DuplicateAddr { host: String, iface: String, addr: Ipv4Net },
    /// A routing-table error.
    #[error("host {host}: {source}")]
    Route { host: String, source: RouteError },
    /// `ip link set X master Y` where Y is not a bridge.
    #[error("host {host}: {iface} is not a bridge")]
    NotABridge { host: String, iface: String },
}

/// A deferred ruleset load (see [`Host::defer_rules`]).
struct PendingRules(Box<dyn FnOnce(&mut Netfilter)>);

impl std::fmt::Debug for PendingRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingRules")
    }
}

/// One network namespace.
#[derive(Debug)]
pub struct Host {
    /// Its id in the network.
    pub id: HostId,
    /// Its name (node or pod name).
    pub name: String,
    ifaces: Ifaces,
    next_index: u32,
    /// The main routing table.
    pub routes: RouteTable,
    /// Sysctls.
    pub sysctl: Sysctls,
    /// iptables rules. Rules handed over with [`Host::defer_rules`] are not here until
    /// [`Host::load_pending_rules`] runs (packet evaluation does it first); read them through
    /// [`Host::rules`] unless you know nothing is pending.
    pub netfilter: Netfilter,
    /// A ruleset load not yet done: what an `iptables-restore` would load, produced only when
    /// something first looks at the rules.
    pending_rules: Option<PendingRules>,
    /// Connection tracking (allocated on first write: most pod namespaces never track).
    pub conntrack: OnFirstUse<Conntrack>,
    /// How source NAT searches for a free port (the kernel's generation; its rover).
    pub nat_ports: crate::nat::PortSearch,
    /// IP Virtual Server services and connections (empty: no IPVS behaviour at all; allocated on
    /// first write).
    pub ipvs: OnFirstUse<Ipvs>,
    /// Sockets.
    pub sockets: Sockets,
    /// The host's random stream (`net/{name}`): NAT ports, `-m statistic`, ephemeral ports.
    pub rng: SimRng,
}

impl Host {
    /// A namespace with `lo` (127.0.0.1/8, up) and nothing else.
    pub fn new(id: HostId, name: &str, rng: SimRng) -> Host {
        let mut lo = Iface::new("lo", 1, IfaceKind::Loopback);
        lo.addrs.push(Ipv4Net::new(Ipv4Addr::LOCALHOST, 8).unwrap_or_default());
        let mut ifaces = Ifaces::default();
        ifaces.insert("lo".to_string(), lo);
        Host {
            id,
            name: name.to_string(),
            ifaces,
            next_index: 2,
            routes: RouteTable::new(),
            sysctl: Sysctls::default(),
            netfilter: Netfilter::new(),
            pending_rules: None,
            conntrack: OnFirstUse::default(),
            nat_ports: crate::nat::PortSearch::default(),
            ipvs: OnFirstUse::default(),
            sockets: Sockets::default(),
            rng,
        }
    }

    /// Adds an interface (the caller links it); returns its index.
    pub(crate) fn add_iface(&mut self, name: &str, kind: IfaceKind) -> Result<u32, HostError> {
        if self.ifaces.contains_key(name) {
            return Err(HostError::DuplicateIface { host: self.name.clone(), iface: name.to_string() });
        }
        let index = self.next_index;
        self.next_index += 1;
        self.ifaces.insert(name.to_string(), Iface::new(name, index, kind));
        Ok(index)
    }

    /// An interface by name.
    pub fn iface(&self, name: &str) -> Option<&Iface> {
        self.ifaces.get(name)
    }

    /// An interface by name, mutably.
    pub fn iface_mut(&mut self, name: &str) -> Result<&mut Iface, HostError> {
        let host = self.name.clone();
        self.ifaces.get_mut(name).ok_or(HostError::UnknownIface { host, iface: name.to_string() })
    }

    /// All interfaces in creation order.
    pub fn ifaces(&self) -> impl Iterator<Item = &Iface> {
        self.ifaces.values()
    }

    /// True if interface `name` exists and is up.
    pub fn is_up(&self, name: &str) -> bool {
        self.ifaces.get(name).is_some_and(|i| i.up)
    }

    /// `ip addr add NET dev IFACE`: adds the address and its connected route.
    pub fn add_addr(&mut self, iface: &str, net: Ipv4Net) -> Result<(), HostError> {
        let host = self.name.clone();
        let i = self.iface_mut(iface)?;
        if i.addrs.contains(&net) {
            return Err(HostError::DuplicateAddr { host, iface: iface.to_string(), addr: net });
        }
        i.addrs.push(net);
        if !i.up {
            i.local_while_down = true;
        }
        let is_lo = i.kind == IfaceKind::Loopback;
        if !is_lo && net.prefix_len() < 32 {
            let r = Route {
                proto: RouteProto::Kernel,
                scope: RouteScope::Link,
                src: Some(net.addr()),
                ..Route::dev(net.trunc(), iface)
            };
            // A second address in the same subnet does not add a second connected route.
            if !self.routes.routes().any(|x| x.dst == r.dst && x.dev == r.dev) {
                self.routes.replace(r);
            }
        }
        Ok(())
    }

    /// `ip link set IFACE up|down`.
    pub fn set_up(&mut self, iface: &str, up: bool) -> Result<(), HostError> {
        let i = self.iface_mut(iface)?;
        if i.up && !up {
            // NETDEV_DOWN flushes the interface's local routes.
            i.local_while_down = false;
        }
        i.up = up;
        Ok(())
    }

    /// `ip route add ...`.
    pub fn add_route(&mut self, r: Route) -> Result<(), HostError> {
        if let Some(dev) = r.devs().find(|d| !self.ifaces.contains_key(*d)) {
            return Err(HostError::UnknownIface { host: self.name.clone(), iface: dev.to_string() });
        }
        self.routes.add(r).map_err(|source| HostError::Route { host: self.name.clone(), source })
    }

    /// Parses and adds a route in `ip route add` syntax.
    pub fn add_route_str(&mut self, line: &str) -> Result<(), HostError> {
        let r = Route::parse(line).map_err(|source| HostError::Route { host: self.name.clone(), source })?;
        self.add_route(r)
    }

    /// True if `a` is an address of this host (local table).
    pub fn is_local(&self, a: Ipv4Addr) -> bool {
        is_local(&self.ifaces, a)
    }

    /// The rules, the random stream and an address classifier at once (disjoint borrows), for
    /// running a hook. Loads pending rules first.
    pub fn hook_parts(
        &mut self,
    ) -> (&mut Netfilter, &mut SimRng, impl Fn(Ipv4Addr) -> AddrType + '_, &crate::ipvs::Ipvs) {
        self.load_pending_rules();
        let ifaces = &self.ifaces;
        (&mut self.netfilter, &mut self.rng, move |a| addr_type(ifaces, a), &self.ipvs)
    }

    /// Hands over a ruleset load to run when the rules are first needed — by a packet, a
    /// command that reads or edits them — instead of now. It supersedes a pending one: `load`
    /// must bring the tables to the whole state the host would have after every earlier load.
    /// A host nobody looks at never pays for its rules; one that is looked at gets exactly the
    /// tables an eager load would have given.
    pub fn defer_rules(&mut self, load: Box<dyn FnOnce(&mut Netfilter)>) {
        self.pending_rules = Some(PendingRules(load));
    }

    /// True while a deferred load has not run.
    pub fn rules_pending(&self) -> bool {
        self.pending_rules.is_some()
    }

    /// Runs a deferred load, if one is pending.
    pub fn load_pending_rules(&mut self) {
        if let Some(PendingRules(load)) = self.pending_rules.take() {
            load(&mut self.netfilter);
        }
    }

    /// The rules, with any pending load done.
    pub fn rules(&mut self) -> &mut Netfilter {
        self.load_pending_rules();
        &mut self.netfilter
    }

    /// `nft -f -` with `text` on this namespace's nftables ruleset (one transaction; pending
    /// iptables loads run first).
    pub fn nft_apply(&mut self, text: &str) -> Result<(), crate::nftables::NftError> {
        let interfaces = self.iface_names();
        self.rules().nftables_mut().apply_in("/dev/stdin", text, Some(&interfaces))
    }

    /// The names of the namespace's interfaces, in creation order.
    pub fn iface_names(&self) -> Vec<String> {
        self.ifaces.keys().cloned().collect()
    }

    /// `nft list ruleset`.
    pub fn nft_list_ruleset(&mut self) -> String {
        self.rules().nftables().list_ruleset()
    }

    /// The interface owning local address `a`.
    pub fn iface_of_addr(&self, a: Ipv4Addr) -> Option<&Iface> {
        self.ifaces.values().find(|i| i.owns(a))
    }

    /// `-m addrtype` classification (`inet_addr_type`): local, broadcast, multicast, else
    /// unicast.
    pub fn addr_type(&self, a: Ipv4Addr) -> AddrType {
        addr_type(&self.ifaces, a)
    }

    /// The routing decision for destination `dst` without a flow (a multipath route picks
    /// the next hop for source 0.0.0.0 and no ports, as a lookup before source selection).
    pub fn route(&self, dst: Ipv4Addr) -> RouteDecision {
        self.route_flow(&FlowKeys::dst_only(dst))
    }

    /// The routing decision for a flow: the local table, then longest prefix match; a
    /// multipath route resolves to the next hop the flow's hash selects.
    pub fn route_flow(&self, flow: &FlowKeys) -> RouteDecision {
        let dst = flow.dst;
        if self.is_local(dst) {
            return RouteDecision::Local;
        }
        let up = |d: &str| self.is_up(d);
        let hash = flow.hash(self.sysctl.fib_multipath_hash_policy);
        match self.routes.lookup(dst, up).and_then(|r| r.select_path(hash, up)) {
            Some(r) => RouteDecision::Unicast(r),
            None => RouteDecision::Unreachable,
        }
    }

    /// For a flow routed by a multipath route: the index of the chosen next hop and how many
    /// next hops the route has (for traces); `None` otherwise.
    pub fn multipath_choice(&self, flow: &FlowKeys) -> Option<(usize, usize)> {
        if self.is_local(flow.dst) {
            return None;
        }
        let up = |d: &str| self.is_up(d);
        let r = self.routes.lookup(flow.dst, up).filter(|r| r.is_multipath())?;
        let i = r.select_nexthop(flow.hash(self.sysctl.fib_multipath_hash_policy), up)?;
        Some((i, r.nexthops.len()))
    }

    /// The source address for a locally generated packet to `dst` (`inet_select_addr`).
    pub fn select_src(&self, dst: Ipv4Addr) -> Option<Ipv4Addr> {
        match self.route(dst) {
            RouteDecision::Local => Some(dst),
            RouteDecision::Unicast(r) => {
                if let Some(s) = r.src {
                    return Some(s);
                }
                let i = self.ifaces.get(&r.dev)?;
                let hop = r.next_hop(dst);
                i.addrs.iter().find(|n| n.contains(&hop)).or(i.addrs.first()).map(|n| n.addr()).or_else(
                    || {
                        // An address-less device (a pod's veth peer): any global address of the host.
                        self.ifaces
                            .values()
                            .flat_map(|i| i.addrs.iter())
                            .find(|n| !n.addr().is_loopback())
                            .map(|n| n.addr())
                    },
                )
            }
            RouteDecision::Unreachable => None,
        }
    }

    /// The primary address of interface `name` (MASQUERADE's choice).
    pub fn primary_addr(&self, name: &str) -> Option<Ipv4Addr> {
        self.ifaces.get(name).and_then(Iface::primary)
    }

    /// `ip route` output for the main table.
    pub fn ip_route(&self) -> String {
        self.routes.render(|d| self.is_up(d))
    }

    /// `ip route show table local`: a `local` route per address (and `127.0.0.0/8` on `lo`)
    /// and a `broadcast` route per subnet broadcast address, in FIB key order, as modern
    /// kernels keep them (no network-address broadcast routes).
    pub fn ip_route_local(&self) -> String {
        let mut rows: Vec<(Ipv4Addr, u8, String)> = vec![];
        for i in self.ifaces.values() {
            for n in &i.addrs {
                let src = n.addr();
                let dev = &i.name;
                if i.kind == IfaceKind::Loopback && n.prefix_len() < 32 {
                    let net = n.trunc();
                    rows.push((
                        net.addr(),
                        net.prefix_len(),
                        format!("local {net} dev {dev} proto kernel scope host src {src}"),
                    ));
                }
                rows.push((src, 32, format!("local {src} dev {dev} proto kernel scope host src {src}")));
                if n.prefix_len() < 31 {
                    let b = n.broadcast();
                    rows.push((b, 32, format!("broadcast {b} dev {dev} proto kernel scope link src {src}")));
                }
            }
        }
        rows.sort_by_key(|r| (r.0, r.1));
        rows.dedup_by(|a, b| a.2 == b.2);
        rows.into_iter().map(|(_, _, l)| l + "\n").collect()
    }

    /// `ip addr` output; `peer_index` gives a veth's peer index for the `@ifN` suffix.
    pub fn ip_addr(&self, peer_index: impl Fn(&Iface) -> Option<u32>) -> String {
        self.ifaces
            .values()
            .map(|i| i.render_ip_addr_carrier(&self.name, peer_index(i), self.carrier(i)))
            .collect()
    }

    /// Whether this namespace answers an ARP request for `target` from `sender` that arrives on
    /// `iface` (the kernel's `arp_process`): the interface is up and not NOARP, and either it
    /// does proxy ARP or `target` is a local address that `net.ipv4.conf.all.arp_ignore`
    /// lets it answer for (`arp_ignore()` in `net/ipv4/arp.c`): 0 any local address, on any
    /// interface (so kube-ipvs0's VIPs are announced on eth0); 1 only an address configured on
    /// `iface`; 2 that, and `sender` inside its subnet; 3 any but host-scope (loopback)
    /// addresses; 4-7 (reserved) like 0; 8 never. Departs from the kernel: only `all` is
    /// modelled (the kernel takes the larger of `all` and the interface's own value).
    pub fn answers_arp(&self, iface: &str, sender: Ipv4Addr, target: Ipv4Addr) -> bool {
        let Some(i) = self.ifaces.get(iface) else { return false };
        if !i.up || matches!(i.kind, IfaceKind::Dummy | IfaceKind::Loopback) {
            return false;
        }
        if i.proxy_arp {
            return true;
        }
        if !is_local(&self.ifaces, target) || target.is_loopback() {
            return false;
        }
        match self.sysctl.arp_ignore {
            1 => i.owns(target),
            2 => i.addrs.iter().any(|n| n.addr() == target && n.contains(&sender)),
            3 => !target.is_loopback(),
            8 => false,
            _ => true,
        }
    }

    /// Whether `i` has a carrier: a bridge has one while a port of it is up (the kernel's
    /// `br_port_state_selection`: no forwarding port, carrier off). Departs from the kernel
    /// for a bridge that never had a port, which keeps the carrier it was created with
    /// (`LOWER_UP`, `state UNKNOWN`): netsim's port-less bridges (docker0 on a Kubernetes
    /// node) stand for ones whose containers came and went, as on docker hosts.
    pub fn carrier(&self, i: &Iface) -> bool {
        match i.kind {
            IfaceKind::Bridge { .. } => {
                self.ifaces.values().any(|p| p.up && p.master.as_deref() == Some(i.name.as_str()))
            }
            _ => true,
        }
    }
}

fn is_local(ifaces: &Ifaces, a: Ipv4Addr) -> bool {
    if a.is_loopback() {
        return ifaces.get("lo").is_some_and(|i| i.up);
    }
    ifaces.values().any(|i| (i.up || i.local_while_down) && i.owns(a))
}

fn addr_type(ifaces: &Ifaces, a: Ipv4Addr) -> AddrType {
    if is_local(ifaces, a) {
        AddrType::Local
    } else if a.is_broadcast()
        || ifaces.values().any(|i| i.addrs.iter().any(|n| n.prefix_len() < 31 && n.broadcast() == a))
    {
        AddrType::Broadcast
    } else if a.is_multicast() {
        AddrType::Multicast
    } else {
        AddrType::Unicast
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> Host {
        let mut h = Host::new(HostId(0), "node01", SimRng::new(1).fork("net/node01"));
        h.add_iface("eth0", IfaceKind::Dummy).unwrap();
        h.add_addr("eth0", "192.168.205.146/24".parse().unwrap()).unwrap();
        h.add_route_str("default via 192.168.205.1 dev eth0").unwrap();
        h
    }

    #[test]
    fn connected_routes_local_table_and_source_selection() {
        let h = node();
        assert_eq!(
            h.ip_route(),
            "default via 192.168.205.1 dev eth0\n192.168.205.0/24 dev eth0 proto kernel scope link src 192.168.205.146\n"
        );
        assert_eq!(h.route("192.168.205.146".parse().unwrap()), RouteDecision::Local);
        assert_eq!(h.route("127.0.0.53".parse().unwrap()), RouteDecision::Local);
        assert_eq!(h.select_src("8.8.8.8".parse().unwrap()), Some("192.168.205.146".parse().unwrap()));
        assert_eq!(h.addr_type("192.168.205.255".parse().unwrap()), AddrType::Broadcast);
        assert_eq!(h.addr_type("10.96.0.1".parse().unwrap()), AddrType::Unicast);
        assert_eq!(h.addr_type("192.168.205.146".parse().unwrap()), AddrType::Local);
        assert_eq!(
            h.ip_route_local(),
            "local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1\n\
             local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1\n\
             broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1\n\
             local 192.168.205.146 dev eth0 proto kernel scope host src 192.168.205.146\n\
             broadcast 192.168.205.255 dev eth0 proto kernel scope link src 192.168.205.146\n"
        );
    }

    #[test]
    fn a_never_upped_dummy_keeps_its_addresses_local() {
        let mut h = node();
        h.add_iface("kube-ipvs0", IfaceKind::Dummy).unwrap();
        h.set_up("kube-ipvs0", false).unwrap();
        h.add_addr("kube-ipvs0", "10.96.0.1/32".parse().unwrap()).unwrap();
        assert_eq!(h.route("10.96.0.1".parse().unwrap()), RouteDecision::Local);
        // Up, then down: NETDEV_DOWN takes the local routes away.
        h.set_up("kube-ipvs0", true).unwrap();
        h.set_up("kube-ipvs0", false).unwrap();
        assert_ne!(h.route("10.96.0.1".parse().unwrap()), RouteDecision::Local);
    }

    #[test]
    fn errors_name_host_and_interface() {
        let mut h = node();
        assert_eq!(
            h.add_route_str("10.0.0.0/8 dev eth9").unwrap_err().to_string(),
            "host node01: no interface named eth9"
        );
        assert_eq!(
            h.add_addr("eth0", "192.168.205.146/24".parse().unwrap()).unwrap_err().to_string(),
            "host node01: 192.168.205.146/24 already assigned to eth0"
        );
        let mut no_route = Host::new(HostId(1), "pod", SimRng::new(1));
        assert_eq!(no_route.route("1.1.1.1".parse().unwrap()), RouteDecision::Unreachable);
        no_route.set_up("lo", false).unwrap();
        assert_eq!(no_route.route("127.0.0.1".parse().unwrap()), RouteDecision::Unreachable);
    }

    #[test]
    fn multipath_routes_pick_the_flow_next_hop_by_the_hash_policy() {
        use crate::wire::{Packet, TcpFlags};
        let mut h = node();
        assert_eq!(h.sysctl.fib_multipath_hash_policy, MultipathHashPolicy::L3);
        h.add_route_str(
            "203.0.113.10 proto static nexthop via 192.168.205.148 dev eth0 nexthop via 192.168.205.149 dev eth0",
        )
        .unwrap();
        assert_eq!(
            h.add_route_str(
                "203.0.113.11 nexthop via 192.168.205.148 dev eth0 nexthop via 10.0.0.1 dev eth7"
            )
            .unwrap_err()
            .to_string(),
            "host node01: no interface named eth7"
        );
        let next_hops = |h: &Host| {
            let mut seen: Vec<String> = vec![];
            for sport in 40000..40064 {
                let pkt = Packet::tcp(
                    "192.168.205.146".parse().unwrap(),
                    sport,
                    "203.0.113.10".parse().unwrap(),
                    80,
                    TcpFlags::SYN,
                );
                let RouteDecision::Unicast(r) = h.route_flow(&FlowKeys::of(&pkt)) else { panic!("no route") };
                let line = r.to_string();
                if !seen.contains(&line) {
                    seen.push(line);
                }
            }
            seen.sort();
            seen
        };
        // L3: one source/destination pair, one next hop.
        assert_eq!(next_hops(&h).len(), 1);
        // L4: the 64 connections use both.
        h.sysctl.fib_multipath_hash_policy = MultipathHashPolicy::L4;
        assert_eq!(
            next_hops(&h),
            vec![
                "203.0.113.10 via 192.168.205.148 dev eth0 proto static".to_string(),
                "203.0.113.10 via 192.168.205.149 dev eth0 proto static".to_string(),
            ]
        );
        assert_eq!(h.select_src("203.0.113.10".parse().unwrap()), Some("192.168.205.146".parse().unwrap()));
    }
}
