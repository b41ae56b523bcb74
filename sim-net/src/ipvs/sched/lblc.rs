//! Locality-based least connection (`ip_vs_lblc.c`): a table from destination address to the
//! server last chosen for it; that server is kept while available and not overloaded,
//! otherwise a new one is chosen by weighted least connection and the entry updated.
//! Entries unused for `lblc_expiration` (24 hours) are forgotten (the kernel's periodic
//! `ip_vs_lblc_check_expire`, here checked when the entry is looked up).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use sim_core::{SimDuration, SimTime};

use super::super::dest::Dest;
use super::{SchedInput, lblc_overloaded, weighted_least};

/// `net.ipv4.vs.lblc_expiration` default (24 h).
pub const EXPIRATION: SimDuration = SimDuration::from_secs(24 * 60 * 60);

/// The address table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lblc {
    table: BTreeMap<Ipv4Addr, (SocketAddrV4, SimTime)>,
}

impl Lblc {
    /// `ip_vs_lblc_schedule`.
    pub fn schedule(&mut self, dests: &[Dest], input: &SchedInput) -> Option<usize> {
        let known = self
            .table
            .get(&input.daddr)
            .filter(|(_, used)| input.now.saturating_since(*used) < EXPIRATION)
            .and_then(|(a, _)| dests.iter().position(|d| d.server.addr == *a));
        if let Some(i) = known
            && dests[i].available()
            && !lblc_overloaded(&dests[i], dests)
        {
            self.table.insert(input.daddr, (dests[i].server.addr, input.now));
            return Some(i);
        }
        let i = weighted_least(dests, Dest::conn_overhead)?;
        self.table.insert(input.daddr, (dests[i].server.addr, input.now));
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::dests;
    use super::*;

    #[test]
    fn sticks_to_the_server_of_a_destination_until_overloaded() {
        let mut d = dests(&[1, 1]);
        let mut l = Lblc::default();
        let input = SchedInput {
            saddr: Ipv4Addr::new(1, 1, 1, 1),
            daddr: Ipv4Addr::new(10, 0, 9, 9),
            now: SimTime::ZERO,
        };
        assert_eq!(l.schedule(&d, &input), Some(0));
        d[0].active_conns = 1; // not more than its weight: kept
        assert_eq!(l.schedule(&d, &input), Some(0));
        d[0].active_conns = 2; // > weight while 10.0.0.2 is idle (0 * 2 < 1): overloaded
        assert_eq!(l.schedule(&d, &input), Some(1));
    }
}
