//! The `hang pod/NAME` fault: the pod's server process stops answering while the pod stays
//! Running. The kernel of its namespace goes on completing TCP handshakes and taking datagrams
//! for its bound sockets ([`sim_net::socket::Sockets::set_hung`]); no request is read, nothing
//! is answered. What notices is the kubelet's readiness probe: an `httpGet` probe connects and
//! waits `timeoutSeconds` for an answer that never comes ("context deadline exceeded"), and
//! after `failureThreshold` such probes the container is not ready, the EndpointSlice marks the
//! endpoint not ready and kube-proxy drops it. A `tcpSocket` probe only needs the handshake,
//! which the kernel still makes: it goes on succeeding, and the hung pod stays in the Service.
//! An `exec` probe runs another process, which does not hang with the server: it succeeds too.
//!
//! The probe hook ([`super::probes`]) that asks this is installed on the
//! cluster's controllers at the first hang only, so clusters that never hang a pod probe as
//! before (every probe succeeds).
//!
//! Left out: the listen backlog filling up (a real hung server's accept queue overflows after
//! `somaxconn` connections and SYNs are then dropped), and liveness probes (not modelled).

use std::collections::BTreeMap;

use sim_core::SimTime;

use crate::controllers::{ProbeCheck, ProbeResult};

/// When each hung pod's process hung (and resumed), by `namespace/name`.
#[derive(Debug, Default)]
pub struct HungApps {
    spans: BTreeMap<String, Vec<(SimTime, Option<SimTime>)>>,
}

impl HungApps {
    /// True when no pod ever hung (the probe hook is not installed yet).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The pod `key`'s process hangs from `now`; false if it already hangs.
    pub fn hang(&mut self, key: &str, now: SimTime) -> bool {
        let spans = self.spans.entry(key.to_string()).or_default();
        if spans.last().is_some_and(|(_, until)| until.is_none()) {
            return false;
        }
        spans.push((now, None));
        true
    }

    /// The pod `key`'s process runs again from `now`; false if it did not hang.
    pub fn resume(&mut self, key: &str, now: SimTime) -> bool {
        match self.spans.get_mut(key).and_then(|s| s.last_mut()) {
            Some((_, until @ None)) => {
                *until = Some(now);
                true
            }
            _ => false,
        }
    }

    /// Whether the pod `key`'s process hung at `t`.
    pub fn hung_at(&self, key: &str, t: SimTime) -> bool {
        self.spans
            .get(key)
            .is_some_and(|s| s.iter().any(|(from, until)| *from <= t && until.is_none_or(|u| t < u)))
    }

    /// How a readiness probe started at `chk.now` ends: an `httpGet` probe of a hung process
    /// times out; `tcpSocket` and `exec` probes, and every probe of a running one, succeed.
    pub fn probe(&self, chk: &ProbeCheck<'_>) -> ProbeResult {
        let ns = &chk.pod.metadata.namespace;
        let key = super::world::pod_key(if ns.is_empty() { "default" } else { ns }, &chk.pod.metadata.name);
        if chk.probe.http_get.is_some() && self.hung_at(&key, chk.now) {
            ProbeResult::TimedOut
        } else {
            ProbeResult::Success
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimDuration;

    fn t(s: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(s)
    }

    #[test]
    fn spans_open_and_close() {
        let mut h = HungApps::default();
        assert!(h.is_empty());
        assert!(h.hang("kube-system/coredns-a", t(10)));
        assert!(!h.hang("kube-system/coredns-a", t(11)), "already hung");
        assert!(!h.hung_at("kube-system/coredns-a", t(9)));
        assert!(h.hung_at("kube-system/coredns-a", t(10)));
        assert!(h.resume("kube-system/coredns-a", t(30)));
        assert!(!h.resume("kube-system/coredns-a", t(31)), "not hung");
        assert!(h.hung_at("kube-system/coredns-a", t(29)));
        assert!(!h.hung_at("kube-system/coredns-a", t(30)));
        assert!(!h.hung_at("kube-system/coredns-b", t(20)));
    }
}
