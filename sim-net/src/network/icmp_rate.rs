//! The kernel's ICMP rate limit (`net/ipv4/icmp.c` `icmpv4_xrlim_allow`, `inet_peer_xrlim_allow`
//! in `net/ipv4/inetpeer.c`): ICMP errors a host sends to one peer come from a token bucket of
//! `icmp_ratelimit` (1000 ms) per message, holding at most `XRLIM_BURST_FACTOR` (6) messages'
//! worth; a new peer starts full (its `rate_last` is 60 s in the past). Only the types in
//! `icmp_ratemask` (0x1818: destination unreachable, source quench, time exceeded, parameter
//! problem) are limited, and never towards the host itself (the route goes out by loopback).
//! So a burst of connections to a Service without endpoints sees six refusals, then one per
//! second, the rest timing out, as real senders do.
//!
//! Left out: the global `icmp_msgs_per_sec` (1000) / `icmp_msgs_burst` (50) limit, and the
//! fragmentation-needed exemption (no PMTU in the model). The check is made when the error is
//! built (for a neighbour failure, when resolution starts, 3 s before the kernel would).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use sim_core::{SimDuration, SimTime};

use crate::iface::HostId;

/// `net.ipv4.icmp_ratelimit` default: 1000 ms per message.
pub const ICMP_RATELIMIT: SimDuration = SimDuration::from_millis(1000);
/// `net.ipv4.icmp_ratemask` default: types 3, 4, 11 and 12.
pub const ICMP_RATEMASK: u32 = 0x1818;
/// `XRLIM_BURST_FACTOR` (include/net/inetpeer.h).
pub const XRLIM_BURST_FACTOR: u64 = 6;

/// One peer's bucket (`inet_peer.rate_tokens`, `rate_last`).
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: SimDuration,
    last: SimTime,
}

/// The buckets of every (host, peer) pair that was sent an ICMP error.
#[derive(Clone, Debug, Default)]
pub struct IcmpRateLimit {
    peers: BTreeMap<(HostId, Ipv4Addr), Bucket>,
}

impl IcmpRateLimit {
    /// Whether `host` may send an ICMP error of `icmp_type` to `peer` at `now`; takes a
    /// token if so. `to_self` is true when the error goes to the host itself.
    pub fn allow(
        &mut self,
        host: HostId,
        peer: Ipv4Addr,
        icmp_type: u8,
        to_self: bool,
        now: SimTime,
    ) -> bool {
        if to_self || icmp_type >= 32 || (1u32 << icmp_type) & ICMP_RATEMASK == 0 {
            return true;
        }
        let cap = SimDuration::from_nanos(ICMP_RATELIMIT.as_nanos() * XRLIM_BURST_FACTOR);
        let b = self.peers.entry((host, peer)).or_insert(Bucket { tokens: cap, last: now });
        let elapsed = SimDuration::from_nanos(now.as_nanos().saturating_sub(b.last.as_nanos()));
        let mut tokens =
            SimDuration::from_nanos((b.tokens.as_nanos() + elapsed.as_nanos()).min(cap.as_nanos()));
        b.last = now;
        let ok = tokens >= ICMP_RATELIMIT;
        if ok {
            tokens = SimDuration::from_nanos(tokens.as_nanos() - ICMP_RATELIMIT.as_nanos());
        }
        b.tokens = tokens;
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Six at once, then one per second; errors to the host itself and echo replies are free.
    #[test]
    fn burst_of_six_then_one_per_second() {
        let mut r = IcmpRateLimit::default();
        let (h, peer) = (HostId(0), Ipv4Addr::new(10, 244, 1, 5));
        let t0 = SimTime::from_nanos(100_000_000_000);
        let burst: Vec<bool> = (0..8).map(|_| r.allow(h, peer, 3, false, t0)).collect();
        assert_eq!(burst, [true, true, true, true, true, true, false, false]);
        assert!(!r.allow(h, peer, 3, false, t0 + SimDuration::from_millis(999)));
        assert!(r.allow(h, peer, 3, false, t0 + SimDuration::from_millis(1999)));
        assert!(r.allow(h, Ipv4Addr::new(10, 244, 1, 6), 3, false, t0), "another peer has its own bucket");
        assert!(r.allow(h, peer, 3, true, t0), "to itself: by loopback, not limited");
        assert!(r.allow(h, peer, 0, false, t0), "echo reply: not in icmp_ratemask");
    }
}
