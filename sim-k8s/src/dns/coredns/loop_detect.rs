//! plugin/loop (CoreDNS v1.11.1, loop.go and setup.go): at start-up the plugin asks its own
//! server, from the pod, for `HINFO <random>.<random>.<zone>` and counts how often that name
//! comes in. A query that comes in a third time has gone round a forwarding loop (a `forward`
//! to 127.0.0.x, to the cluster's own DNS Service, or to a node resolver that sends it back):
//! the plugin logs `[FATAL] plugin/loop: Loop (…) detected …` and the process exits with
//! status 1, so the kubelet restarts it into CrashLoopBackOff.
//!
//! The probe goes to `:53` (`net.JoinHostPort` of the block's first listen host, none, and its
//! port) with `dns.Exchange` (a 2 s timeout). An exchange that fails resets the count and is
//! tried again after a second, for as long as 30 s from start; one that is answered (any
//! answer) turns the plugin off (setup.go breaks out of its loop into `setDisabled`), so that
//! later HINFO queries for the name are not counted. The qname's labels are Go's `rand.Int()`
//! (non-negative 63-bit decimals), drawn here from the pod's seeded stream.

use sim_core::{SimDuration, SimRng, SimTime};

use crate::dns::message::{Message, RecordType};
use crate::dns::name::Name;

/// The HINFO record type the probe asks for.
pub const HINFO: RecordType = RecordType::Other(13);
/// `dns.Exchange`'s client timeout.
pub const EXCHANGE_TIMEOUT: SimDuration = SimDuration::from_secs(2);
/// How long after start the probe keeps being retried.
const DEADLINE: SimDuration = SimDuration::from_secs(30);
/// The pause after a failed exchange.
const RETRY: SimDuration = SimDuration::from_secs(1);

/// One server block's `loop` plugin in one CoreDNS process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoopDetect {
    /// The block's first zone (`"."` in kubeadm's Corefile).
    pub zone: Name,
    /// The block's port.
    pub port: u16,
    /// `<rand.Int()>.<rand.Int()>.<zone>`.
    pub qname: Name,
    /// How often the qname came in since the last reset.
    seen: u32,
    /// When the plugin turned itself off (an answered probe, or the 30 s over).
    disabled_from: Option<SimTime>,
    /// The end of the probing (30 s after start).
    deadline: SimTime,
}

impl LoopDetect {
    /// The plugin of a block on `zone` and `port`, in a process started at `now`.
    pub fn new(zone: Name, port: u16, rng: &mut SimRng, now: SimTime) -> Self {
        let mut int = || (rng.next_u64() >> 1).to_string();
        let (a, b) = (int(), int());
        let text = if zone.is_root() { format!("{a}.{b}.") } else { format!("{a}.{b}.{zone}") };
        let qname = Name::parse(&text).unwrap_or_else(|_| zone.clone());
        LoopDetect { zone, port, qname, seen: 0, disabled_from: None, deadline: now + DEADLINE }
    }

    /// The probe `dns.Exchange` sends (`SetQuestion`: `rd` set).
    pub fn query(&self, id: u16) -> Message {
        Message::query(id, self.qname.clone(), HINFO)
    }

    /// `ServeDNS`: a query for `name` of type `qtype` came in at `now`; the `[FATAL]` line
    /// when it is the qname's third, with `remote` the client's address as CoreDNS prints it.
    pub fn observe(&mut self, name: &Name, qtype: RecordType, remote: &str, now: SimTime) -> Option<String> {
        if qtype != HINFO || self.disabled_from.is_some_and(|t| t <= now) || !name.is_subdomain_of(&self.zone)
        {
            return None;
        }
        if name.eq_ignore_case(&self.qname) {
            self.seen += 1;
        }
        (self.seen > 2).then(|| {
            format!(
                "[FATAL] plugin/loop: Loop ({remote} -> :{}) detected for zone \"{}\", see https://coredns.io/plugins/loop#troubleshooting. Query: \"HINFO {}\"",
                self.port, self.zone, self.qname
            )
        })
    }

    /// The probe was answered at `now`: the plugin goes off.
    pub fn answered(&mut self, now: SimTime) {
        self.disabled_from = Some(now);
    }

    /// The probe failed at `now` (a timeout, a refusal): the count starts again, and the next
    /// probe goes after the pause — `None` when the 30 s are over (the plugin goes off).
    pub fn failed(&mut self, now: SimTime) -> Option<SimDuration> {
        self.seen = 0;
        if now + RETRY < self.deadline {
            Some(RETRY)
        } else {
            self.disabled_from = Some(now);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(secs)
    }

    fn plugin() -> LoopDetect {
        LoopDetect::new(Name::root(), 53, &mut SimRng::new(7), SimTime::ZERO)
    }

    #[test]
    fn the_qname_is_two_non_negative_decimals_under_the_zone() {
        let l = plugin();
        let labels: Vec<String> =
            l.qname.labels().iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect();
        assert_eq!(labels.len(), 2);
        for label in &labels {
            assert!(label.parse::<i64>().is_ok_and(|n| n >= 0), "{label}");
        }
        let zoned =
            LoopDetect::new(Name::parse("example.org.").unwrap(), 53, &mut SimRng::new(7), SimTime::ZERO);
        assert!(zoned.qname.is_subdomain_of(&zoned.zone));
        assert_eq!(zoned.qname.label_count(), 4);
    }

    /// loop_test.go's `TestLoop`-like walk: the third time is fatal; other names, other
    /// types and an answered probe are not counted.
    #[test]
    fn the_third_sighting_is_fatal_and_only_the_qname_counts() {
        let mut l = plugin();
        let t = SimTime::ZERO;
        let other = Name::parse("example.org.").unwrap();
        assert_eq!(l.observe(&other, HINFO, "127.0.0.1:4000", t), None);
        assert_eq!(l.observe(&l.qname.clone(), RecordType::A, "127.0.0.1:4000", t), None);
        let q = l.qname.clone();
        assert_eq!(l.observe(&q, HINFO, "127.0.0.1:4000", t), None);
        assert_eq!(l.observe(&q, HINFO, "127.0.0.1:4001", t), None);
        let fatal = l.observe(&q, HINFO, "127.0.0.1:4002", t).unwrap();
        assert_eq!(
            fatal,
            format!(
                "[FATAL] plugin/loop: Loop (127.0.0.1:4002 -> :53) detected for zone \".\", see https://coredns.io/plugins/loop#troubleshooting. Query: \"HINFO {q}\""
            )
        );
        // A failed exchange resets the count.
        let mut l = plugin();
        let q = l.qname.clone();
        l.observe(&q, HINFO, "x", t);
        l.observe(&q, HINFO, "x", t);
        assert_eq!(l.failed(at(2)), Some(SimDuration::from_secs(1)));
        assert_eq!(l.observe(&q, HINFO, "x", t), None);
        // Until the answer the count goes on; from it, nothing counts.
        assert_eq!(l.observe(&q, HINFO, "x", at(3)), None);
        assert!(l.clone().observe(&q, HINFO, "x", at(3)).is_some());
        l.answered(at(3));
        for _ in 0..5 {
            assert_eq!(l.observe(&q, HINFO, "x", at(3)), None);
        }
        // No retry after the 30 s.
        assert_eq!(plugin().failed(at(29)), None);
    }
}
