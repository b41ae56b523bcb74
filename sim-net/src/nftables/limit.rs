//! The `limit` statement: the kernel's token bucket (`net/netfilter/nft_limit.c`), in
//! simulated nanoseconds.
//!
//! `limit rate [over] N/UNIT [burst B packets]` costs each packet `UNIT / N` of a bucket that
//! holds `B` packets' worth (5 when no burst is given); `limit rate [over] N BYTES/UNIT [burst
//! B BYTES]` costs a packet `UNIT × length / N` of a bucket of `UNIT × (N + B) / N`. The
//! bucket starts full and refills with the time that passes. A packet the bucket can pay for
//! matches (`over`: one it cannot pay for); one that does not match leaves the bucket as it
//! was, except for the refill. nft lists the rate in the largest of bytes, kbytes and mbytes
//! that divides it (`get_rate`), and the burst only where it is not the default.

use sim_core::SimTime;

/// A byte quantity's units, as nft reads and prints them.
const BYTE_UNITS: [(&str, u64); 3] = [("bytes", 1), ("kbytes", 1024), ("mbytes", 1024 * 1024)];

/// The time units of a rate, in seconds.
pub const TIME_UNITS: [(&str, u64); 5] =
    [("second", 1), ("minute", 60), ("hour", 3600), ("day", 86_400), ("week", 604_800)];

/// The kernel's burst when a packet limit is given none (`NFT_LIMIT_PKT_BURST_DEFAULT`).
const PKT_BURST_DEFAULT: u32 = 5;

/// What the kernel refuses when the rule is added (`nft_limit_init`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitRefused {
    /// A rate of 0: `EINVAL`.
    ZeroRate,
    /// The bucket's size overflows 64 bits: `EOVERFLOW`.
    Overflow,
}

/// One `limit` statement: its configuration and its bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    /// Packets, or bytes, per `unit`.
    pub rate: u64,
    /// The time unit, in seconds.
    pub unit: u64,
    /// The burst as given (packets or bytes; 0: none given), as the kernel keeps it (32 bits).
    pub burst: u32,
    /// A byte limit (`kbytes/second`) rather than a packet limit.
    pub bytes: bool,
    /// `over`: matches the packets beyond the rate.
    pub over: bool,
    /// `unit` in nanoseconds.
    nsecs: u64,
    /// The cost of one packet (packet limits), in nanoseconds.
    cost: u64,
    /// The bucket's size, in nanoseconds.
    tokens_max: u64,
    /// The bucket, and when it was last refilled (None: full, never used).
    bucket: Option<(u64, SimTime)>,
}

impl Limit {
    /// The statement the kernel would accept for this configuration, or its refusal.
    pub fn new(rate: u64, unit: u64, burst: u32, bytes: bool, over: bool) -> Result<Limit, LimitRefused> {
        if rate == 0 {
            return Err(LimitRefused::ZeroRate);
        }
        let nsecs = unit.checked_mul(1_000_000_000).ok_or(LimitRefused::Overflow)?;
        let kernel_burst = if !bytes && burst == 0 { PKT_BURST_DEFAULT } else { burst };
        let with_burst = rate.checked_add(u64::from(kernel_burst)).ok_or(LimitRefused::Overflow)?;
        let (cost, tokens_max) = if bytes {
            (0, nsecs.checked_mul(with_burst).ok_or(LimitRefused::Overflow)? / rate)
        } else {
            let cost = nsecs / rate;
            (cost, cost.checked_mul(u64::from(kernel_burst)).ok_or(LimitRefused::Overflow)?)
        };
        Ok(Limit { rate, unit, burst, bytes, over, nsecs, cost, tokens_max, bucket: None })
    }

    /// Whether a packet of `len` bytes at `now` matches (`nft_limit_eval`, with `over` as
    /// the kernel's invert flag), taking its cost from the bucket when the bucket pays.
    pub fn matches(&mut self, now: SimTime, len: u64) -> bool {
        let now_ns = now.as_nanos();
        let tokens = match self.bucket {
            None => self.tokens_max,
            Some((tokens, last)) => {
                tokens.saturating_add(now_ns.saturating_sub(last.as_nanos())).min(self.tokens_max)
            }
        };
        let cost = if self.bytes {
            // The kernel's `priv->nsecs * pkt->skb->len`, wrapping as it does.
            self.nsecs.wrapping_mul(len) / self.rate
        } else {
            self.cost
        };
        match tokens.checked_sub(cost) {
            Some(left) => {
                self.bucket = Some((left, now));
                !self.over
            }
            None => {
                self.bucket = Some((tokens, now));
                self.over
            }
        }
    }

    /// The statement as nft lists it (`limit_stmt_print`).
    pub fn text(&self) -> String {
        let over = if self.over { "over " } else { "" };
        let unit = TIME_UNITS.iter().find(|(_, s)| *s == self.unit).map_or("second", |(n, _)| n);
        if !self.bytes {
            let mut out = format!("limit rate {over}{}/{unit}", self.rate);
            if self.burst != 0 && self.burst != PKT_BURST_DEFAULT {
                out.push_str(&format!(" burst {} packets", self.burst));
            }
            return out;
        }
        let (rate, rate_unit) = in_byte_unit(self.rate);
        let mut out = format!("limit rate {over}{rate} {rate_unit}/{unit}");
        if self.burst != 0 {
            let (burst, burst_unit) = in_byte_unit(u64::from(self.burst));
            out.push_str(&format!(" burst {burst} {burst_unit}"));
        }
        out
    }
}

/// The multiplier of a byte unit's name (`kbytes`: 1024).
pub fn byte_unit(name: &str) -> Option<u64> {
    BYTE_UNITS.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
}

/// The seconds of a time unit's name (`minute`: 60).
pub fn time_unit(name: &str) -> Option<u64> {
    TIME_UNITS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// A byte count in the largest unit that divides it, up to mbytes (`get_rate`).
fn in_byte_unit(mut n: u64) -> (u64, &'static str) {
    let mut i = 0;
    while i + 1 < BYTE_UNITS.len() && n != 0 && n.is_multiple_of(1024) {
        n /= 1024;
        i += 1;
    }
    (n, BYTE_UNITS[i].0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SimTime {
        SimTime::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn a_packet_limit_passes_its_burst_then_its_rate() {
        // 10/second, burst 5: five packets at once, then one per 100 ms.
        let mut l = Limit::new(10, 1, 0, false, false).unwrap_or_else(|e| panic!("{e:?}"));
        let passed: Vec<bool> = (0..7).map(|_| l.matches(at(0), 60)).collect();
        assert_eq!(passed, [true, true, true, true, true, false, false]);
        assert!(!l.matches(at(99), 60));
        assert!(l.matches(at(100), 60));
        assert!(!l.matches(at(150), 60));
        // A long pause refills no more than the burst.
        let later: Vec<bool> = (0..6).map(|_| l.matches(at(10_000), 60)).collect();
        assert_eq!(later, [true, true, true, true, true, false]);
        // `over` matches exactly the packets the plain limit would not.
        let mut o = Limit::new(10, 1, 0, false, true).unwrap_or_else(|e| panic!("{e:?}"));
        let over: Vec<bool> = (0..7).map(|_| o.matches(at(0), 60)).collect();
        assert_eq!(over, [false, false, false, false, false, true, true]);
    }

    #[test]
    fn a_byte_limit_costs_by_length() {
        // 1000 bytes/second, burst 1000 bytes: a bucket of 2 s, a 500-byte packet costs 0.5 s.
        let mut l = Limit::new(1000, 1, 1000, true, false).unwrap_or_else(|e| panic!("{e:?}"));
        let passed: Vec<bool> = (0..5).map(|_| l.matches(at(0), 500)).collect();
        assert_eq!(passed, [true, true, true, true, false]);
        assert!(l.matches(at(500), 500));
        // A packet larger than the bucket never passes.
        assert!(!l.matches(at(60_000), 3000));
    }

    #[test]
    fn the_kernel_refuses_a_zero_rate_and_overflows() {
        assert_eq!(Limit::new(0, 1, 0, false, false), Err(LimitRefused::ZeroRate));
        assert_eq!(Limit::new(u64::MAX, 1, 0, false, false), Err(LimitRefused::Overflow));
        // 1048576 bytes/day with a 2048-byte burst: 86400e9 × 1050624 overflows.
        assert_eq!(Limit::new(1_048_576, 86_400, 2048, true, false), Err(LimitRefused::Overflow));
    }

    #[test]
    fn listed_as_nft_lists_it() {
        let text = |rate, unit, burst, bytes, over| {
            Limit::new(rate, unit, burst, bytes, over).map(|l| l.text()).unwrap_or_default()
        };
        assert_eq!(text(10, 1, 5, false, false), "limit rate 10/second");
        assert_eq!(text(10, 60, 20, false, true), "limit rate over 10/minute burst 20 packets");
        assert_eq!(text(1_048_576, 1, 0, true, false), "limit rate 1 mbytes/second");
        assert_eq!(text(2048, 60, 1_048_576, true, false), "limit rate 2 kbytes/minute burst 1 mbytes");
        assert_eq!(text(3_000_000, 1, 0, true, false), "limit rate 3000000 bytes/second");
        assert_eq!(text(1 << 32, 1, 0, true, true), "limit rate over 4096 mbytes/second");
        assert_eq!(text(7 * 1024, 1, 3000, true, false), "limit rate 7 kbytes/second burst 3000 bytes");
    }
}
