//! Bringing a node to what an IPVS sync wants, by difference against what it holds (upstream
//! `syncService`, `syncEndpoint`, `cleanLegacyService`, the dummy-device address sync,
//! `syncIPSetEntries` and the graceful termination manager): [`apply_ipvs`] for the IPVS table,
//! kube-ipvs0 and the sysctls, [`load_rules`] for the ipsets and iptables rules.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddrV4};

use ipnet::Ipv4Net;
use sim_core::SimTime;
use sim_net::iface::HostId;
use sim_net::ipvs::{IpvsProto, RealServer, ServiceKey};
use sim_net::netfilter::Netfilter;
use sim_net::network::Network;

use super::ipset::SETS;
use super::{DUMMY_DEVICE, IpvsRules, IpvsSync};

/// What an [`apply_ipvs`] changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyStats {
    /// Virtual servers added.
    pub services_added: usize,
    /// Virtual servers edited (scheduler or persistence).
    pub services_edited: usize,
    /// Virtual servers deleted.
    pub services_deleted: usize,
    /// Real servers added.
    pub dests_added: usize,
    /// Real servers deleted.
    pub dests_deleted: usize,
    /// Real servers set to weight 0 while their connections drain.
    pub dests_quiesced: usize,
}

/// Upstream `IsRsGracefulTerminationNeeded`: only TCP servers drain; UDP and SCTP ones go at
/// once (`expire_nodest_conn` ends their connections).
fn drains(proto: IpvsProto) -> bool {
    proto == IpvsProto::Tcp
}

/// Brings host `host`'s IPVS table, kube-ipvs0 addresses and IPVS sysctls to `want`. Errors of
/// single operations are skipped, as kube-proxy logs and goes on.
pub fn apply_ipvs(net: &mut Network, host: HostId, want: &IpvsSync, now: SimTime) -> ApplyStats {
    let mut stats = ApplyStats::default();
    let Ok(h) = net.host_mut(host) else { return stats };
    let missing_dummy = h.iface(DUMMY_DEVICE).is_none();
    if missing_dummy && net.add_dummy(host, DUMMY_DEVICE).is_err() {
        return stats;
    }
    let Ok(h) = net.host_mut(host) else { return stats };
    if missing_dummy {
        // EnsureDummyDevice adds the link without setting it up: it stays DOWN.
        let _ = h.set_up(DUMMY_DEVICE, false);
    }
    if missing_dummy {
        // NewProxier: strictARP's sysctls and the IPVS timeouts, once.
        if want.startup.strict_arp {
            h.sysctl.arp_ignore = 1;
            h.sysctl.arp_announce = 2;
        }
        let t = want.startup.timeouts;
        if t.any() {
            h.ipvs.set_timeouts(t.tcp, t.tcp_fin, t.udp);
        }
    }
    h.sysctl.vs_conntrack = true;
    h.sysctl.vs_expire_nodest_conn = true;
    h.sysctl.vs_expire_quiescent_template = true;
    h.sysctl.ip_forward = true;
    // The connection counters graceful termination reads are current only after expiry.
    h.ipvs.expire(now);

    for (key, w) in &want.services {
        match h.ipvs.service(key).map(|s| s.config) {
            None => {
                if h.ipvs.add_service(w.config, now).is_err() {
                    continue;
                }
                stats.services_added += 1;
            }
            Some(cur) if cur != w.config => {
                if h.ipvs.edit_service(w.config).is_ok() {
                    stats.services_edited += 1;
                }
            }
            Some(_) => {}
        }
        let current: Vec<(SocketAddrV4, u32, u32)> = h
            .ipvs
            .service(key)
            .map(|s| {
                s.dests
                    .iter()
                    .map(|d| (d.server.addr, d.server.weight, d.active_conns + d.inact_conns))
                    .collect()
            })
            .unwrap_or_default();
        for addr in &w.dests {
            match current.iter().find(|(a, _, _)| a == addr) {
                Some((_, weight, _)) if *weight == 1 => {}
                Some(_) => {
                    // Back from graceful termination: deleted and added afresh.
                    let _ = h.ipvs.del_dest(key, *addr);
                    if h.ipvs.add_dest(key, RealServer::masq(*addr, 1), now).is_ok() {
                        stats.dests_added += 1;
                    }
                }
                None => {
                    if h.ipvs.add_dest(key, RealServer::masq(*addr, 1), now).is_ok() {
                        stats.dests_added += 1;
                    }
                }
            }
        }
        for (addr, weight, conns) in current.iter().filter(|(a, _, _)| !w.dests.contains(a)) {
            if drains(key.proto) && *conns > 0 {
                if *weight != 0 && h.ipvs.edit_dest(key, RealServer::masq(*addr, 0)).is_ok() {
                    stats.dests_quiesced += 1;
                }
            } else if h.ipvs.del_dest(key, *addr).is_ok() {
                stats.dests_deleted += 1;
            }
        }
    }
    let excluded = |a: &Ipv4Addr| want.exclude_cidrs.iter().any(|c| c.contains(a));
    let stale: Vec<ServiceKey> = h
        .ipvs
        .services()
        .map(|s| s.config.key)
        .filter(|k| !want.services.contains_key(k) && !excluded(&k.addr))
        .collect();
    for key in stale {
        if h.ipvs.del_service(&key).is_ok() {
            stats.services_deleted += 1;
        }
    }

    let bound: BTreeSet<Ipv4Addr> =
        h.iface(DUMMY_DEVICE).map(|i| i.addrs.iter().map(Ipv4Net::addr).collect()).unwrap_or_default();
    for a in want.bind_addrs.difference(&bound) {
        if let Ok(n) = Ipv4Net::new(*a, 32) {
            let _ = h.add_addr(DUMMY_DEVICE, n);
        }
    }
    if let Ok(i) = h.iface_mut(DUMMY_DEVICE) {
        i.addrs.retain(|n| want.bind_addrs.contains(&n.addr()) || excluded(&n.addr()));
    }
    stats
}

/// Brings the ipsets to `rules.sets` (every set created, stale members deleted, missing ones
/// added) and loads the iptables rules: into empty tables when `initial`, else with
/// `--noflush` over the loaded ones. A failed load keeps the old rules, as kube-proxy does,
/// and says so on standard error.
pub fn load_rules(nf: &mut Netfilter, rules: &IpvsRules, initial: bool, node: &str) {
    for info in SETS.iter() {
        let mut args = vec!["create", info.name];
        args.extend_from_slice(info.kind.create_args());
        args.push("-exist");
        if nf.ipset(&args).is_err() {
            continue;
        }
        let wanted = rules.sets.get(info.name).cloned().unwrap_or_default();
        let current: BTreeSet<String> = nf
            .ipsets()
            .get(info.name)
            .map(|s| s.entries.iter().map(|e| e.to_string()).collect())
            .unwrap_or_default();
        for e in current.difference(&wanted) {
            let _ = nf.ipset(&["del", info.name, e, "-exist"]);
        }
        for e in wanted.difference(&current) {
            let _ = nf.ipset(&["add", info.name, e, "-exist"]);
        }
    }
    let result = if initial {
        let initial = rules.initial_restore();
        crate::cluster::docker::keeping_dockerd_rules(nf, |nf| nf.restore(&initial, false))
    } else {
        nf.restore(&rules.restore_input(), true)
    };
    if let Err(e) = result {
        // A generated rule the engine cannot load is a bug in one of the two.
        eprintln!("netsim: kube-proxy on {node}: iptables-restore failed: {e}");
    }
}
