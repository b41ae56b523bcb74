//! When kube-proxy syncs: upstream's `BoundedFrequencyRunner` (`pkg/util/async`), which
//! `NewProxier` builds with `minSyncPeriod`, a max interval of `FullSyncPeriod` and a burst of
//! 2. Every Service/EndpointSlice change calls `Run()`: the sync happens at once if the token
//! bucket (2 tokens, one regained per `minSyncPeriod`) has a token, otherwise the runner's timer
//! is moved to the moment one is due. The timer also fires a sync `maxInterval` after the last
//! one. Times are [`SimTime`]s supplied by the caller, so the lead's event loop owns the clock.
//! Not modelled: `RetryAfter` (a simulated iptables-restore never fails) and the canary
//! `Monitor` loop (only relevant when something flushes kube-proxy's chains).

use sim_core::{SimDuration, SimTime};

use super::config::{BURST_SYNCS, FULL_SYNC_PERIOD, ProxyConfig};

/// The runner's answer to a request or timer expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncDecision {
    /// Run `syncProxyRules` now.
    RunNow,
    /// Not allowed yet: the timer is (re)armed to fire at this time.
    RunAt(SimTime),
}

/// Upstream `BoundedFrequencyRunner` with a token-bucket limiter, in virtual time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRunner {
    min_interval: SimDuration,
    max_interval: SimDuration,
    burst: u64,
    /// Bucket content in nanoseconds of credit (one token = `min_interval`).
    credit: u64,
    refilled_at: SimTime,
    last_run: Option<SimTime>,
    timer: SimTime,
}

impl SyncRunner {
    /// A runner started (`Loop`) at `now` with a full bucket; its timer first fires
    /// `max_interval` later.
    pub fn new(now: SimTime, min_interval: SimDuration, max_interval: SimDuration, burst: u32) -> Self {
        let burst = u64::from(burst.max(1));
        SyncRunner {
            min_interval,
            max_interval,
            burst,
            credit: burst.saturating_mul(min_interval.as_nanos()),
            refilled_at: now,
            last_run: None,
            timer: now.saturating_add(max_interval),
        }
    }

    /// The runner kube-proxy builds for `config` (`minSyncPeriod`, burst 2, and a maximum
    /// interval of one hour in iptables mode, `syncPeriod` in IPVS mode, as each `NewProxier`
    /// passes).
    pub fn for_config(now: SimTime, config: &ProxyConfig) -> Self {
        let max = match config.mode {
            super::config::ProxyMode::Iptables | super::config::ProxyMode::Nftables => FULL_SYNC_PERIOD,
            super::config::ProxyMode::Ipvs => config.sync_period,
        };
        SyncRunner::new(now, config.min_sync_period, max, BURST_SYNCS)
    }

    /// When the runner's timer fires next (the lead schedules an event for it).
    pub fn next_timer(&self) -> SimTime {
        self.timer
    }

    /// When the last sync ran.
    pub fn last_run(&self) -> Option<SimTime> {
        self.last_run
    }

    /// `Run()`: a Service or endpoint change arrived at `now`.
    pub fn request(&mut self, now: SimTime) -> SyncDecision {
        self.try_run(now)
    }

    /// The timer fired at `now`.
    pub fn timer_fired(&mut self, now: SimTime) -> SyncDecision {
        self.try_run(now)
    }

    fn try_accept(&mut self, now: SimTime) -> bool {
        let cost = self.min_interval.as_nanos();
        let capacity = self.burst.saturating_mul(cost);
        let elapsed = now.saturating_since(self.refilled_at).as_nanos();
        self.credit = self.credit.saturating_add(elapsed).min(capacity);
        self.refilled_at = now;
        if self.credit >= cost {
            self.credit -= cost;
            true
        } else {
            false
        }
    }

    fn try_run(&mut self, now: SimTime) -> SyncDecision {
        if self.try_accept(now) {
            self.last_run = Some(now);
            self.timer = now.saturating_add(self.max_interval);
            return SyncDecision::RunNow;
        }
        // Not now: fire when the next run is possible, or at the periodic time if sooner.
        let since_last = self.last_run.map_or(SimDuration::ZERO, |t| now.saturating_since(t));
        let next_possible = now.saturating_add(SimDuration::from_nanos(
            self.min_interval.as_nanos().saturating_sub(since_last.as_nanos()),
        ));
        if next_possible < self.timer {
            self.timer = next_possible;
        }
        SyncDecision::RunAt(self.timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> SimTime {
        SimTime::from_nanos(ms * 1_000_000)
    }

    // BoundedFrequencyRunner with burst 2 (as kube-proxy builds it): two immediate runs,
    // then one per minInterval, the timer armed for the next possible run.
    #[test]
    fn burst_of_two_then_rate_limited() {
        let mut r = SyncRunner::new(t(0), SimDuration::from_secs(1), SimDuration::from_secs(3600), 2);
        assert_eq!(r.request(t(0)), SyncDecision::RunNow);
        assert_eq!(r.request(t(10)), SyncDecision::RunNow);
        // Bucket empty; 1 s after the last run.
        assert_eq!(r.request(t(20)), SyncDecision::RunAt(t(1010)));
        // The timer fires at 1010 ms; a token has been regained since 0 ms + 1 s.
        assert_eq!(r.timer_fired(t(1010)), SyncDecision::RunNow);
        assert_eq!(r.next_timer(), t(1010 + 3_600_000));
        assert_eq!(r.request(t(1500)), SyncDecision::RunAt(t(2010)));
    }

    #[test]
    fn periodic_sync_after_max_interval() {
        let c = ProxyConfig::new("n", std::net::Ipv4Addr::new(10, 0, 0, 1), None);
        let mut r = SyncRunner::for_config(t(0), &c);
        assert_eq!(r.next_timer(), t(3_600_000));
        assert_eq!(r.timer_fired(t(3_600_000)), SyncDecision::RunNow);
        assert_eq!(r.last_run(), Some(t(3_600_000)));
    }

    #[test]
    fn zero_min_interval_never_limits() {
        let mut r = SyncRunner::new(t(0), SimDuration::ZERO, SimDuration::from_secs(60), 2);
        for ms in 0..10 {
            assert_eq!(r.request(t(ms)), SyncDecision::RunNow);
        }
    }
}
