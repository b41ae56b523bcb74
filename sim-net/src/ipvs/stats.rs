//! Traffic counters and the rate estimator of a service or real server (`struct
//! ip_vs_stats`, `net/netfilter/ipvs/ip_vs_est.c`).
//!
//! The estimator runs every 2 seconds: each rate moves a quarter of the way towards the
//! rate seen in the last 2 seconds (`e->cps += (rate - e->cps) >> 2`, rates kept scaled by
//! 2^10 for connections and packets and 2^5 for bytes), and `--rate` prints them rounded
//! (`(cps + 0x1FF) >> 10`). netsim runs the ticks lazily, in order, before each update and
//! each read, so the result is the one the periodic timer would give; the ticks are phased
//! from the object's creation time.

use sim_core::{SimDuration, SimTime};

/// The estimator period (2 seconds, `IPVS_EST_TICK` times the chain length in the kthread
/// estimator; the same 2 s as the old timer).
pub const ESTIMATOR_PERIOD: SimDuration = SimDuration::from_secs(2);

/// Counters (`ip_vs_kstats`) and the estimator state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets client → real server.
    pub inpkts: u64,
    /// Packets real server → client (seen only for Masq).
    pub outpkts: u64,
    /// Bytes client → real server.
    pub inbytes: u64,
    /// Bytes real server → client.
    pub outbytes: u64,
    est: Estimator,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Estimator {
    next_tick: SimTime,
    last: [u64; 5],
    /// cps, inpps, outpps (scaled 2^10), inbps, outbps (scaled 2^5).
    scaled: [i64; 5],
}

/// Rates as `ipvsadm -L --rate` prints them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rates {
    /// Connections per second.
    pub cps: u64,
    /// Incoming packets per second.
    pub inpps: u64,
    /// Outgoing packets per second.
    pub outpps: u64,
    /// Incoming bytes per second.
    pub inbps: u64,
    /// Outgoing bytes per second.
    pub outbps: u64,
}

impl Stats {
    /// Zeroed counters whose estimator starts at `now`.
    pub fn new(now: SimTime) -> Stats {
        Stats {
            conns: 0,
            inpkts: 0,
            outpkts: 0,
            inbytes: 0,
            outbytes: 0,
            est: Estimator { next_tick: now + ESTIMATOR_PERIOD, last: [0; 5], scaled: [0; 5] },
        }
    }

    fn counters(&self) -> [u64; 5] {
        [self.conns, self.inpkts, self.outpkts, self.inbytes, self.outbytes]
    }

    /// Runs the estimator ticks due by `now`.
    pub fn advance(&mut self, now: SimTime) {
        while self.est.next_tick <= now {
            let cur = self.counters();
            let idle = cur == self.est.last;
            if idle && self.est.scaled.iter().all(|r| *r == 0) {
                // Nothing moves while idle at rate 0: jump to the first tick after `now`.
                let period = ESTIMATOR_PERIOD.as_nanos();
                let behind = now.saturating_since(self.est.next_tick).as_nanos() / period + 1;
                self.est.next_tick += SimDuration::from_nanos(behind * period);
                break;
            }
            for (i, c) in cur.iter().enumerate() {
                let shift = if i < 3 { 9 } else { 4 };
                let rate = (c.wrapping_sub(self.est.last[i]) << shift) as i64;
                self.est.scaled[i] += (rate - self.est.scaled[i]) >> 2;
            }
            self.est.last = cur;
            self.est.next_tick += ESTIMATOR_PERIOD;
        }
    }

    /// Counts one new connection at `now`.
    pub fn count_conn(&mut self, now: SimTime) {
        self.advance(now);
        self.conns += 1;
    }

    /// Counts one client → server packet of `bytes` at `now`.
    pub fn count_in(&mut self, now: SimTime, bytes: u64) {
        self.advance(now);
        self.inpkts += 1;
        self.inbytes += bytes;
    }

    /// Counts one server → client packet of `bytes` at `now`.
    pub fn count_out(&mut self, now: SimTime, bytes: u64) {
        self.advance(now);
        self.outpkts += 1;
        self.outbytes += bytes;
    }

    /// The rates at `now` (`ip_vs_read_estimator`).
    pub fn rates(&mut self, now: SimTime) -> Rates {
        self.advance(now);
        let s = self.est.scaled;
        let pkt = |v: i64| (v.max(0) as u64 + 0x1FF) >> 10;
        let byt = |v: i64| (v.max(0) as u64 + 0xF) >> 5;
        Rates { cps: pkt(s[0]), inpps: pkt(s[1]), outpps: pkt(s[2]), inbps: byt(s[3]), outbps: byt(s[4]) }
    }

    /// `ipvsadm -Z`: counters and estimator back to zero.
    pub fn zero(&mut self, now: SimTime) {
        *self = Stats::new(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimator_moves_a_quarter_per_tick_and_rounds_like_the_kernel() {
        let t0 = SimTime::ZERO;
        let mut s = Stats::new(t0);
        // 100 packets of 100 bytes in the first 2 s: 50 pps.
        for _ in 0..100 {
            s.count_in(t0 + SimDuration::from_millis(10), 100);
        }
        // After one tick: 50 pps * 2^10 / 4 = 12800 → (12800 + 511) >> 10 = 12.
        let r = s.rates(t0 + SimDuration::from_secs(2));
        assert_eq!(r.inpps, 12);
        // bytes: 5000 B/s * 32 / 4 = 40000 → (40000 + 15) >> 5 = 1250.
        assert_eq!(r.inbps, 1250);
        // One idle tick more: 12800 - 3200 = 9600 → 9.
        assert_eq!(s.rates(t0 + SimDuration::from_secs(4)).inpps, 9);
        // Long idle: decays to 0 and the lazy catch-up stays cheap.
        assert_eq!(s.rates(t0 + SimDuration::from_secs(86_400)).inpps, 0);
    }
}
