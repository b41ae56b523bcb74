//! Locality-based least connection with replication (`ip_vs_lblcr.c`): each destination
//! address maps to a *set* of servers; the least loaded of the set serves, and when it is
//! overloaded a server chosen from the whole service joins the set. A set not modified for
//! `lblcr_expiration` (24 hours) with more than one member loses its most loaded member.
//! Unused entries are forgotten after the same time (checked on lookup).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use sim_core::{SimDuration, SimTime};

use super::super::dest::Dest;
use super::{SchedInput, lblc_overloaded, weighted_least};

/// `net.ipv4.vs.lblcr_expiration` default (24 h).
pub const EXPIRATION: SimDuration = SimDuration::from_secs(24 * 60 * 60);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    /// Members, newest first (`ip_vs_dest_set_insert` links at the head).
    set: Vec<SocketAddrV4>,
    lastmod: SimTime,
    lastuse: SimTime,
}

/// The address table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lblcr {
    table: BTreeMap<Ipv4Addr, Entry>,
}

/// `ip_vs_dest_set_min`: the weighted least loaded available member.
fn set_min(set: &[SocketAddrV4], dests: &[Dest]) -> Option<usize> {
    let members: Vec<usize> =
        set.iter().filter_map(|a| dests.iter().position(|d| d.server.addr == *a)).collect();
    let first = members.iter().position(|&i| dests[i].available())?;
    let mut least = members[first];
    let mut loh = dests[least].conn_overhead();
    for &i in &members[first + 1..] {
        let doh = dests[i].conn_overhead();
        if u128::from(loh) * u128::from(dests[i].server.weight)
            > u128::from(doh) * u128::from(dests[least].server.weight)
        {
            least = i;
            loh = doh;
        }
    }
    Some(least)
}

/// `ip_vs_dest_set_max`: the most loaded member with weight above 0.
fn set_max(set: &[SocketAddrV4], dests: &[Dest]) -> Option<SocketAddrV4> {
    let members: Vec<&Dest> = set.iter().filter_map(|a| dests.iter().find(|d| d.server.addr == *a)).collect();
    let first = members.iter().position(|d| d.available())?;
    let mut most = members[first];
    let mut moh = most.conn_overhead();
    for d in &members[first + 1..] {
        let doh = d.conn_overhead();
        if u128::from(moh) * u128::from(d.server.weight) < u128::from(doh) * u128::from(most.server.weight)
            && d.available()
        {
            most = d;
            moh = doh;
        }
    }
    Some(most.server.addr)
}

impl Lblcr {
    /// `ip_vs_lblcr_schedule`.
    pub fn schedule(&mut self, dests: &[Dest], input: &SchedInput) -> Option<usize> {
        let now = input.now;
        if let Some(en) = self.table.get_mut(&input.daddr)
            && now.saturating_since(en.lastuse) < EXPIRATION
        {
            en.lastuse = now;
            let min = set_min(&en.set, dests);
            if en.set.len() > 1
                && now.saturating_since(en.lastmod) > EXPIRATION
                && let Some(m) = set_max(&en.set, dests)
            {
                en.set.retain(|a| *a != m);
                en.lastmod = now;
            }
            if let Some(i) = min
                && !lblc_overloaded(&dests[i], dests)
            {
                return Some(i);
            }
            let i = weighted_least(dests, Dest::conn_overhead)?;
            let a = dests[i].server.addr;
            if !en.set.contains(&a) {
                en.set.insert(0, a);
                en.lastmod = now;
            }
            return Some(i);
        }
        let i = weighted_least(dests, Dest::conn_overhead)?;
        self.table.insert(input.daddr, Entry { set: vec![dests[i].server.addr], lastmod: now, lastuse: now });
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::dests;
    use super::*;

    #[test]
    fn overload_replicates_into_the_set() {
        let mut d = dests(&[1, 1, 1]);
        let mut l = Lblcr::default();
        let input = SchedInput {
            saddr: Ipv4Addr::new(1, 1, 1, 1),
            daddr: Ipv4Addr::new(10, 0, 9, 9),
            now: SimTime::ZERO,
        };
        assert_eq!(l.schedule(&d, &input), Some(0));
        d[0].active_conns = 2;
        // Overloaded: the whole service's least loaded (10.0.0.2) joins the set.
        assert_eq!(l.schedule(&d, &input), Some(1));
        assert_eq!(l.table[&input.daddr].set.len(), 2);
        // Now the set's least loaded member serves.
        assert_eq!(l.schedule(&d, &input), Some(1));
    }
}
