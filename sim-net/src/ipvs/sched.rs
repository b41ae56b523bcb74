//! The schedulers: which real server a new connection goes to. One module per kernel
//! scheduler (`net/netfilter/ipvs/ip_vs_<name>.c`), each choosing exactly as its
//! `ip_vs_<name>_schedule` does over the service's destination list.
//!
//! The destination list is the kernel's `svc->destinations` in its order: `ip_vs_add_dest`
//! links a new destination at the *head* (`list_add_rcu`), so the most recently added real
//! server comes first. Schedulers that keep a position (rr's cursor, wrr's `cl`) walk that
//! list from the position onwards, as `list_for_each_entry_continue_rcu` does.
//!
//! Left out: the OVERLOAD flag (no thresholds), the scheduler flags (`sh-fallback`,
//! `sh-port`, `mh-fallback`, `mh-port`), and the `fo`, `ovf` and `twos` schedulers.

pub mod dh;
pub mod lblc;
pub mod lblcr;
pub mod lc;
pub mod mh;
pub mod nq;
pub mod rr;
pub mod sed;
pub mod sh;
pub mod wlc;
pub mod wrr;

use std::fmt;
use std::net::Ipv4Addr;

use sim_core::SimTime;

use super::dest::Dest;

/// A scheduler name (`-s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SchedName {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connection.
    Lc,
    /// Weighted least connection (ipvsadm's default).
    Wlc,
    /// Locality-based least connection.
    Lblc,
    /// Locality-based least connection with replication.
    Lblcr,
    /// Destination hashing.
    Dh,
    /// Source hashing.
    Sh,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Maglev hashing.
    Mh,
}

/// ipvsadm's default scheduler (`DEF_SCHED`).
pub const DEFAULT_SCHEDULER: SchedName = SchedName::Wlc;

impl SchedName {
    /// Every scheduler, in name order.
    pub const ALL: [SchedName; 11] = [
        SchedName::Dh,
        SchedName::Lblc,
        SchedName::Lblcr,
        SchedName::Lc,
        SchedName::Mh,
        SchedName::Nq,
        SchedName::Rr,
        SchedName::Sed,
        SchedName::Sh,
        SchedName::Wlc,
        SchedName::Wrr,
    ];

    /// The module name (`rr`, `wrr`, ...), as `ipvsadm -L` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            SchedName::Rr => "rr",
            SchedName::Wrr => "wrr",
            SchedName::Lc => "lc",
            SchedName::Wlc => "wlc",
            SchedName::Lblc => "lblc",
            SchedName::Lblcr => "lblcr",
            SchedName::Dh => "dh",
            SchedName::Sh => "sh",
            SchedName::Sed => "sed",
            SchedName::Nq => "nq",
            SchedName::Mh => "mh",
        }
    }

    /// The scheduler called `s`.
    pub fn parse(s: &str) -> Option<SchedName> {
        SchedName::ALL.into_iter().find(|n| n.name() == s)
    }
}

impl fmt::Display for SchedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a scheduler may look at in the packet that starts a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedInput {
    /// Client address (sh, mh hash it).
    pub saddr: Ipv4Addr,
    /// Destination address (dh, lblc, lblcr key on it).
    pub daddr: Ipv4Addr,
    /// When (lblc/lblcr entry ages).
    pub now: SimTime,
}

/// A scheduler's private state (`svc->sched_data`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchedState {
    /// rr's cursor.
    Rr(rr::Rr),
    /// wrr's mark.
    Wrr(wrr::Wrr),
    /// lc keeps nothing.
    Lc,
    /// wlc keeps nothing.
    Wlc,
    /// lblc's address table.
    Lblc(lblc::Lblc),
    /// lblcr's address → server set table.
    Lblcr(lblcr::Lblcr),
    /// dh's bucket table.
    Dh(dh::Dh),
    /// sh's bucket table.
    Sh(sh::Sh),
    /// sed keeps nothing.
    Sed,
    /// nq keeps nothing.
    Nq,
    /// mh's lookup table.
    Mh(mh::Mh),
}

impl SchedState {
    /// `init_service` for `name` over `dests`.
    pub fn new(name: SchedName, dests: &[Dest]) -> SchedState {
        match name {
            SchedName::Rr => SchedState::Rr(rr::Rr::default()),
            SchedName::Wrr => SchedState::Wrr(wrr::Wrr::new(dests)),
            SchedName::Lc => SchedState::Lc,
            SchedName::Wlc => SchedState::Wlc,
            SchedName::Lblc => SchedState::Lblc(lblc::Lblc::default()),
            SchedName::Lblcr => SchedState::Lblcr(lblcr::Lblcr::default()),
            SchedName::Dh => SchedState::Dh(dh::Dh::new(dests)),
            SchedName::Sh => SchedState::Sh(sh::Sh::new(dests)),
            SchedName::Sed => SchedState::Sed,
            SchedName::Nq => SchedState::Nq,
            SchedName::Mh => SchedState::Mh(mh::Mh::new(dests)),
        }
    }

    /// `del_dest`, called while `dests[index]` is still in the list.
    pub fn before_del(&mut self, dests: &[Dest], index: usize) {
        if let SchedState::Rr(r) = self {
            r.del_dest(dests, index);
        }
    }

    /// `add_dest` / `del_dest` / `upd_dest` after the list changed.
    pub fn changed(&mut self, dests: &[Dest]) {
        match self {
            SchedState::Wrr(w) => w.dest_changed(dests),
            SchedState::Dh(d) => *d = dh::Dh::new(dests),
            SchedState::Sh(s) => *s = sh::Sh::new(dests),
            SchedState::Mh(m) => *m = mh::Mh::new(dests),
            _ => {}
        }
    }

    /// `schedule`: the index in `dests` of the chosen real server, or `None` ("no destination
    /// available").
    pub fn schedule(&mut self, dests: &[Dest], input: &SchedInput) -> Option<usize> {
        match self {
            SchedState::Rr(r) => r.schedule(dests),
            SchedState::Wrr(w) => w.schedule(dests),
            SchedState::Lc => lc::schedule(dests),
            SchedState::Wlc => wlc::schedule(dests),
            SchedState::Lblc(l) => l.schedule(dests, input),
            SchedState::Lblcr(l) => l.schedule(dests, input),
            SchedState::Dh(d) => d.schedule(dests, input),
            SchedState::Sh(s) => s.schedule(dests, input),
            SchedState::Sed => sed::schedule(dests),
            SchedState::Nq => nq::schedule(dests),
            SchedState::Mh(m) => m.schedule(dests, input),
        }
    }
}

/// The weighted-least-connection choice wlc, lblc and lblcr share: the first available
/// destination, then any later one whose `overhead / weight` is strictly smaller (compared
/// as `loh * dw > doh * lw`, so ties keep the earlier one).
pub(crate) fn weighted_least(dests: &[Dest], overhead: impl Fn(&Dest) -> u64) -> Option<usize> {
    let first = dests.iter().position(Dest::available)?;
    let mut least = first;
    let mut loh = overhead(&dests[first]);
    for (i, d) in dests.iter().enumerate().skip(first + 1) {
        let doh = overhead(d);
        if u128::from(loh) * u128::from(d.server.weight)
            > u128::from(doh) * u128::from(dests[least].server.weight)
        {
            least = i;
            loh = doh;
        }
    }
    Some(least)
}

/// The "is overloaded" test of lblc and lblcr: more active connections than its weight while
/// some server of the service is below half its weight in active connections.
pub(crate) fn lblc_overloaded(d: &Dest, dests: &[Dest]) -> bool {
    d.active_conns > d.server.weight
        && dests.iter().any(|o| u64::from(o.active_conns) * 2 < u64::from(o.server.weight))
}

#[cfg(test)]
pub(crate) mod testutil {
    use std::net::{Ipv4Addr, SocketAddrV4};

    use sim_core::SimTime;

    use super::super::dest::{Dest, RealServer};
    use super::super::stats::Stats;

    /// Destinations in *list* order with the given weights: 10.0.0.1:80, 10.0.0.2:80, ...
    pub fn dests(weights: &[u32]) -> Vec<Dest> {
        weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let a = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, i as u8 + 1), 80);
                Dest::new(RealServer::masq(a, *w), Stats::new(SimTime::ZERO))
            })
            .collect()
    }
}
