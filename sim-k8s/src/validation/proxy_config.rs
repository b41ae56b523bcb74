//! kube-proxy configuration validation (`pkg/proxy/apis/config/validation`): the iptables sync
//! periods and masquerade bit, conntrack limits, the proxy mode and the cluster CIDR, with
//! kube-proxy's own Go-style paths (`KubeProxyConfiguration.KubeProxyIPTablesConfiguration.
//! MasqueradeBit`). Unset durations take kube-proxy's defaults (syncPeriod 30s, minSyncPeriod
//! 1s), and in ipvs mode the whole `ipvs:` section (`validateKubeProxyIPVSConfiguration`: its
//! sync periods, timeouts, scheduler and excludeCIDRs). Left out: client connection, metrics
//! and feature-gate checks.
//!
//! The paths are upstream's, including its quirks: the scheduler error is reported at
//! `KubeProxyIPVSConfiguration.Scheduler.Scheduler` (the caller and `validateIPVSSchedulerMethod`
//! both add `Scheduler`), and excludeCIDRs at `ExcludeCidrs` with the whole list as the value.

use super::{BadValue, FieldError};
use crate::api::duration::GoDuration;
use crate::api::proxy_config::{IpvsConfig, KubeProxyConfiguration, ProxyMode};

/// Upstream's supported scheduler methods (`validateIPVSSchedulerMethod`), blank included.
const IPVS_SCHEDULERS: [&str; 11] = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh", "sed", "nq", ""];

fn duration_value(d: GoDuration) -> BadValue {
    BadValue::Raw(format!("v1.Duration{{Duration:{}}}", d.as_nanos()))
}

/// `Validate` for the modelled fields.
pub fn validate_proxy_config(c: &KubeProxyConfiguration) -> Vec<FieldError> {
    let root = "KubeProxyConfiguration";
    let ipt = format!("{root}.KubeProxyIPTablesConfiguration");
    let mut errs = Vec::new();
    if let Some(bit) = c.iptables.masquerade_bit
        && !(0..=31).contains(&bit)
    {
        errs.push(FieldError::invalid(
            &format!("{ipt}.MasqueradeBit"),
            BadValue::Int(i64::from(bit)),
            "must be within the range [0, 31]",
        ));
    }
    let sync = c.iptables.sync_period.or(c.sync_period).unwrap_or(GoDuration::from_secs(30));
    let min_sync = c.iptables.min_sync_period.or(c.min_sync_period).unwrap_or(GoDuration::from_secs(1));
    if sync.as_nanos() <= 0 {
        errs.push(FieldError::invalid(
            &format!("{ipt}.SyncPeriod"),
            duration_value(sync),
            "must be greater than 0",
        ));
    }
    if min_sync.as_nanos() < 0 {
        errs.push(FieldError::invalid(
            &format!("{ipt}.MinSyncPeriod"),
            duration_value(min_sync),
            "must be greater than or equal to 0",
        ));
    }
    if min_sync > sync {
        errs.push(FieldError::invalid(
            &format!("{ipt}.SyncPeriod"),
            duration_value(min_sync),
            &format!("must be greater than or equal to {ipt}.MinSyncPeriod"),
        ));
    }
    // Upstream validates the ipvs section only in ipvs mode, right after the iptables one.
    if c.mode == Some(ProxyMode::Ipvs) {
        errs.extend(validate_ipvs(&c.ipvs, &format!("{root}.KubeProxyIPVSConfiguration")));
    }
    let ct = format!("{root}.KubeProxyConntrackConfiguration");
    for (name, v) in [("MaxPerCore", c.conntrack.max_per_core), ("Min", c.conntrack.min)] {
        if let Some(n) = v
            && n < 0
        {
            errs.push(FieldError::invalid(
                &format!("{ct}.{name}"),
                BadValue::Int(i64::from(n)),
                "must be greater than or equal to 0",
            ));
        }
    }
    for (name, v) in [
        ("TCPEstablishedTimeout", c.conntrack.tcp_established_timeout),
        ("TCPCloseWaitTimeout", c.conntrack.tcp_close_wait_timeout),
    ] {
        if let Some(d) = v
            && d.as_nanos() < 0
        {
            errs.push(FieldError::invalid(
                &format!("{ct}.{name}"),
                duration_value(d),
                "must be greater than or equal to 0",
            ));
        }
    }
    if let Some(ProxyMode::Unsupported(m)) = &c.mode {
        errs.push(FieldError::invalid(
            &format!("{root}.Mode.ProxyMode"),
            BadValue::Str(m.clone()),
            "must be iptables,ipvs,nftables or blank (blank means the best-available proxy [currently iptables])",
        ));
    }
    if !c.cluster_cidr.is_empty() {
        let cidrs: Vec<&str> = c.cluster_cidr.split(',').collect();
        let bad = cidrs.len() > 2 || cidrs.iter().any(|s| s.trim().parse::<ipnet::IpNet>().is_err());
        if bad {
            errs.push(FieldError::invalid(
                &format!("{root}.ClusterCIDR"),
                BadValue::Str(c.cluster_cidr.clone()),
                "must be a valid CIDR block (e.g. 10.100.0.0/16 or fde4:8dba:82e1::/48)",
            ));
        }
    }
    for a in &c.node_port_addresses {
        if a != "primary" && a.parse::<ipnet::IpNet>().is_err() {
            errs.push(FieldError::invalid(
                &format!("{root}.NodePortAddresses"),
                BadValue::Raw(super::go_string_slice(&c.node_port_addresses)),
                "must be a valid IP block",
            ));
            break;
        }
    }
    errs
}

/// Upstream `validateKubeProxyIPVSConfiguration` (sync periods with the IPVS defaults, 30s
/// and 0), `validateIPVSTimeout`, `validateIPVSSchedulerMethod`, `validateIPVSExcludeCIDRs`.
fn validate_ipvs(c: &IpvsConfig, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    // Defaulting replaces a zero syncPeriod with 30s, so only a negative one is refused.
    let sync = c.sync_period.filter(|d| d.as_nanos() != 0).unwrap_or(GoDuration::from_secs(30));
    let min_sync = c.min_sync_period.unwrap_or_default();
    if sync.as_nanos() <= 0 {
        errs.push(FieldError::invalid(
            &format!("{path}.SyncPeriod"),
            duration_value(sync),
            "must be greater than 0",
        ));
    }
    if min_sync.as_nanos() < 0 {
        errs.push(FieldError::invalid(
            &format!("{path}.MinSyncPeriod"),
            duration_value(min_sync),
            "must be greater than or equal to 0",
        ));
    }
    if min_sync > sync {
        errs.push(FieldError::invalid(
            &format!("{path}.SyncPeriod"),
            duration_value(min_sync),
            &format!("must be greater than or equal to {path}.MinSyncPeriod"),
        ));
    }
    for (name, v) in
        [("TCPTimeout", c.tcp_timeout), ("TCPFinTimeout", c.tcp_fin_timeout), ("UDPTimeout", c.udp_timeout)]
    {
        if let Some(d) = v
            && d.as_nanos() < 0
        {
            errs.push(FieldError::invalid(
                &format!("{path}.{name}"),
                duration_value(d),
                "must be greater than or equal to 0",
            ));
        }
    }
    if let Some(s) = &c.scheduler
        && !IPVS_SCHEDULERS.contains(&s.as_str())
    {
        errs.push(FieldError::invalid(
            &format!("{path}.Scheduler.Scheduler"),
            BadValue::Str(s.clone()),
            "must be in [rr wrr lc wlc lblc lblcr sh dh sed nq ], blank means the default algorithm method (currently rr)",
        ));
    }
    // One error per bad entry, each with the whole list (no `break`, unlike nodePortAddresses).
    for cidr in &c.exclude_cidrs {
        if cidr.parse::<ipnet::IpNet>().is_err() {
            errs.push(FieldError::invalid(
                &format!("{path}.ExcludeCidrs"),
                BadValue::Raw(super::go_string_slice(&c.exclude_cidrs)),
                "must be a valid IP block",
            ));
        }
    }
    errs
}
