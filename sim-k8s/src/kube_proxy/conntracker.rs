//! The conntrack sysctls kube-proxy writes at start-up, as upstream's
//! `cmd/kube-proxy/app/server_linux.go` (`getConntrackMax`, `setupConntrack`) and
//! `conntrack.go` (`realConntracker`) do from the `conntrack:` section of a
//! KubeProxyConfiguration:
//!
//! - `nf_conntrack_max` = max(`maxPerCore` × CPUs, `min`) when `maxPerCore` > 0 (defaults 32768
//!   and 131072); `maxPerCore: 0` leaves the kernel's value alone; an old configuration's
//!   absolute `max` > 0 is taken as it is. The value is written even when it is lower than the
//!   current one.
//! - `nf_conntrack_tcp_timeout_established` from `tcpEstablishedTimeout` (default 24h) and
//!   `nf_conntrack_tcp_timeout_close_wait` from `tcpCloseWaitTimeout` (default 1h),
//!   `nf_conntrack_udp_timeout` / `_stream` from `udpTimeout` / `udpStreamTimeout` (no
//!   default): each only when greater than zero.
//! - `nf_conntrack_tcp_be_liberal = 1` when `tcpBeLiberal` is true; the iptables proxier reads
//!   it back and then writes no INVALID-drop rule.
//!
//! Left out: the `hashsize` module parameter (max/4; the model has no hash buckets).

use sim_net::conntrack::CtConfig;

use crate::api::duration::GoDuration;
use crate::api::proxy_config::ConntrackConfig;

/// `conntrack.maxPerCore`'s default.
pub const DEFAULT_MAX_PER_CORE: i32 = 32_768;
/// `conntrack.min`'s default.
pub const DEFAULT_MIN: i32 = 131_072;

/// `getConntrackMax`: the `nf_conntrack_max` kube-proxy sets on a node with `cpus` CPUs, or
/// `None` when it sets none (`maxPerCore: 0`).
pub fn conntrack_max(c: &ConntrackConfig, cpus: u32) -> Option<usize> {
    // Old configurations' absolute `max` (removed upstream; it won over `maxPerCore`, which
    // older kube-proxies refused alongside it as "mutually exclusive").
    if let Some(max) = c.max.filter(|m| *m > 0) {
        return usize::try_from(max).ok();
    }
    let per_core = c.max_per_core.unwrap_or(DEFAULT_MAX_PER_CORE);
    if per_core <= 0 {
        return None;
    }
    let floor = i64::from(c.min.unwrap_or(DEFAULT_MIN).max(0));
    let scaled = i64::from(per_core) * i64::from(cpus);
    usize::try_from(scaled.max(floor)).ok()
}

/// The node's conntrack settings after kube-proxy's start-up writes them over `base`.
pub fn apply(base: &CtConfig, c: &ConntrackConfig, cpus: u32) -> CtConfig {
    let secs = |d: Option<GoDuration>| d.map(GoDuration::as_secs).filter(|s| *s > 0).map(|s| s as u64);
    let mut out = base.clone();
    if let Some(max) = conntrack_max(c, cpus) {
        out.max = max;
    }
    let established = c.tcp_established_timeout.or(Some(GoDuration::from_secs(86_400)));
    let close_wait = c.tcp_close_wait_timeout.or(Some(GoDuration::from_secs(3_600)));
    if let Some(s) = secs(established) {
        out.tcp_established = s;
    }
    if let Some(s) = secs(close_wait) {
        out.tcp_close_wait = s;
    }
    if let Some(s) = secs(c.udp_timeout) {
        out.udp = s;
    }
    if let Some(s) = secs(c.udp_stream_timeout) {
        out.udp_stream = s;
    }
    if c.tcp_be_liberal == Some(true) {
        out.tcp_be_liberal = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_is_per_core_times_cpus_at_least_min_and_zero_skips() {
        let d = ConntrackConfig::default();
        assert_eq!(conntrack_max(&d, 2), Some(131_072));
        assert_eq!(conntrack_max(&d, 8), Some(262_144));
        let small = ConntrackConfig { max_per_core: Some(32), min: Some(0), ..Default::default() };
        assert_eq!(conntrack_max(&small, 2), Some(64));
        let off = ConntrackConfig { max_per_core: Some(0), ..Default::default() };
        assert_eq!(conntrack_max(&off, 2), None);
        let absolute = ConntrackConfig { max: Some(1000), ..Default::default() };
        assert_eq!(conntrack_max(&absolute, 2), Some(1000));
        // The defaults are what CtConfig::kube_proxy() has on a 2-CPU node.
        assert_eq!(apply(&CtConfig::default(), &d, 2), CtConfig::kube_proxy());
        let zero = ConntrackConfig {
            max_per_core: Some(0),
            tcp_established_timeout: Some(GoDuration::from_secs(0)),
            tcp_close_wait_timeout: Some(GoDuration::from_secs(0)),
            ..Default::default()
        };
        assert_eq!(apply(&CtConfig::default(), &zero, 2), CtConfig::default());
    }
}
