//! The lists of `-m recent`: per list name, the addresses seen and when.
//!
//! Follows `net/netfilter/xt_recent.c` (`recent_mt`): an entry keeps the last
//! `ip_pkt_list_tot` = 20 timestamps of an address; a list holds at most `ip_list_tot` = 100
//! addresses, the least recently updated one being evicted for a new one. `--set` adds or
//! refreshes and always matches; `--rcheck` matches if the address has a stamp within
//! `--seconds` (and at least `--hitcount` of them); `--update` does the same and refreshes on a
//! match; `--remove` matches and forgets. `--reap` drops entries older than `--seconds`.
//! This is what kube-proxy's ClientIP session affinity relies on. Times are [`SimTime`].
//!
//! Left out: `/proc/net/xt_recent` writes, IPv6. `--reap` drops every stale entry of the list
//! (the kernel reaps lazily, one entry per packet); the visible matching is the same.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use sim_core::{SimDuration, SimTime};

use super::rule::{RecentCmd, RecentMatch, RecentSide};
use crate::wire::Packet;

/// Timestamps kept per address (`ip_pkt_list_tot`).
pub const PKT_LIST_TOT: usize = 20;
/// Addresses kept per list (`ip_list_tot`).
pub const LIST_TOT: usize = 100;

/// One remembered address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentEntry {
    /// The TTL of the last packet (for `--rttl`).
    pub ttl: u8,
    /// Up to 20 timestamps, oldest first.
    pub stamps: Vec<SimTime>,
    /// Update sequence, for least-recently-updated eviction.
    seq: u64,
}

impl RecentEntry {
    /// The newest stamp.
    pub fn last_seen(&self) -> SimTime {
        self.stamps.last().copied().unwrap_or(SimTime::ZERO)
    }
}

/// All `-m recent` lists of one network namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecentLists {
    lists: BTreeMap<String, BTreeMap<Ipv4Addr, RecentEntry>>,
    seq: u64,
}

impl RecentLists {
    /// The entries of a list, by address.
    pub fn list(&self, name: &str) -> Option<&BTreeMap<Ipv4Addr, RecentEntry>> {
        self.lists.get(name)
    }

    /// The list names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.lists.keys().map(String::as_str)
    }

    /// Evaluates one `-m recent` match on `pkt` at `now`, updating the list as the kernel does.
    pub fn check(&mut self, m: &RecentMatch, pkt: &Packet, now: SimTime) -> bool {
        let raw = match m.side {
            RecentSide::Source => pkt.src,
            RecentSide::Dest => pkt.dst,
        };
        let addr = Ipv4Addr::from(u32::from(raw) & u32::from(m.mask));
        let ttl = pkt.ttl;
        self.seq += 1;
        let seq = self.seq;
        // Look the list up without allocating; create it only on first use.
        if !self.lists.contains_key(&m.name) {
            if m.cmd != RecentCmd::Set {
                return m.invert;
            }
            self.lists.insert(m.name.clone(), BTreeMap::new());
        }
        let Some(list) = self.lists.get_mut(&m.name) else {
            return m.invert;
        };
        let found = list.get(&addr).is_some_and(|e| !m.rttl || e.ttl == ttl);
        if !found {
            if m.cmd != RecentCmd::Set {
                return m.invert;
            }
            if list.len() >= LIST_TOT
                && let Some(oldest) = list.iter().min_by_key(|(_, e)| e.seq).map(|(a, _)| *a)
            {
                list.remove(&oldest);
            }
            list.insert(addr, RecentEntry { ttl, stamps: vec![now], seq });
            return !m.invert;
        }
        let mut ret = m.invert;
        match m.cmd {
            RecentCmd::Set => ret = !ret,
            RecentCmd::Remove => {
                list.remove(&addr);
                return !ret;
            }
            RecentCmd::Rcheck | RecentCmd::Update => {
                let window = SimDuration::from_secs(u64::from(m.seconds));
                let since = SimTime::from_nanos(now.as_nanos().saturating_sub(window.as_nanos()));
                if let Some(e) = list.get(&addr) {
                    let mut hits = 0;
                    for s in &e.stamps {
                        if m.seconds > 0 && *s < since {
                            continue;
                        }
                        hits += 1;
                        if m.hitcount == 0 || hits >= m.hitcount {
                            ret = !ret;
                            break;
                        }
                    }
                }
                if m.reap {
                    list.retain(|a, e| *a == addr || e.last_seen() >= since);
                }
            }
        }
        if (m.cmd == RecentCmd::Set || (m.cmd == RecentCmd::Update && ret))
            && let Some(e) = list.get_mut(&addr)
        {
            if e.stamps.len() >= PKT_LIST_TOT {
                e.stamps.remove(0);
            }
            e.stamps.push(now);
            e.ttl = ttl;
            e.seq = seq;
        }
        ret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(cmd: RecentCmd, seconds: u32) -> RecentMatch {
        RecentMatch {
            cmd,
            seconds,
            reap: seconds > 0,
            hitcount: 0,
            rttl: false,
            name: "KUBE-SEP-X".into(),
            mask: Ipv4Addr::BROADCAST,
            side: RecentSide::Source,
            invert: false,
        }
    }

    #[test]
    fn session_affinity_window() {
        // kube-proxy: --rcheck --seconds 10800 --reap in KUBE-SVC, --set in KUBE-SEP.
        let mut r = RecentLists::default();
        let p = Packet::udp(Ipv4Addr::new(10, 0, 0, 1), 1, Ipv4Addr::new(10, 96, 0, 10), 53);
        let t0 = SimTime::ZERO;
        assert!(!r.check(&m(RecentCmd::Rcheck, 10800), &p, t0));
        assert!(r.check(&m(RecentCmd::Set, 0), &p, t0));
        let t1 = t0 + SimDuration::from_secs(10800);
        assert!(r.check(&m(RecentCmd::Rcheck, 10800), &p, t1));
        let t2 = t0 + SimDuration::from_secs(10801);
        assert!(!r.check(&m(RecentCmd::Rcheck, 10800), &p, t2));
        assert!(r.check(&m(RecentCmd::Rcheck, 0), &p, t2), "no --seconds: any stamp matches");
        assert!(r.check(&m(RecentCmd::Remove, 0), &p, t2));
        assert!(!r.check(&m(RecentCmd::Rcheck, 0), &p, t2));
    }

    #[test]
    fn hitcount_and_eviction() {
        let mut r = RecentLists::default();
        let p = Packet::udp(Ipv4Addr::new(10, 0, 0, 1), 1, Ipv4Addr::new(10, 96, 0, 10), 53);
        let mut hc = m(RecentCmd::Rcheck, 60);
        hc.hitcount = 3;
        for i in 0..2 {
            r.check(&m(RecentCmd::Set, 0), &p, SimTime::from_nanos(i));
        }
        assert!(!r.check(&hc, &p, SimTime::from_nanos(5)));
        r.check(&m(RecentCmd::Set, 0), &p, SimTime::from_nanos(6));
        assert!(r.check(&hc, &p, SimTime::from_nanos(7)));
        for i in 0..(LIST_TOT as u32 + 5) {
            let q = Packet::udp(Ipv4Addr::from(0x0b00_0000 + i), 1, Ipv4Addr::new(1, 1, 1, 1), 1);
            r.check(&m(RecentCmd::Set, 0), &q, SimTime::from_nanos(10));
        }
        assert_eq!(r.list("KUBE-SEP-X").map(|l| l.len()), Some(LIST_TOT));
    }
}
