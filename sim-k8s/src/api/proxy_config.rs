//! `KubeProxyConfiguration` (kubeproxy.config.k8s.io/v1alpha1): the kube-proxy config file
//! (`--config`). Field names follow `k8s.io/kube-proxy/config/v1alpha1/types.go`; durations are
//! Go duration strings. The `ipvs:` section is typed ([`IpvsConfig`], every field of upstream's
//! `KubeProxyIPVSConfiguration`). Left out: the nftables/winkernel sections beyond being
//! accepted as opaque values, feature gates, client connection settings.

use serde::{Deserialize, Serialize};

use super::duration::GoDuration;
use crate::string_enum;

string_enum! {
    /// `mode`.
    ProxyMode {
        /// Default on Linux (empty string also means iptables).
        Iptables = "iptables",
        /// IPVS mode.
        Ipvs = "ipvs",
        /// nftables mode.
        Nftables = "nftables",
        /// Empty: the platform default (iptables).
        Default = "",
    }
}

string_enum! {
    /// `detectLocalMode`.
    DetectLocalMode {
        /// Pod traffic is `-s clusterCIDR`.
        ClusterCidr = "ClusterCIDR",
        /// Pod traffic is `-s <node podCIDR>`.
        NodeCidr = "NodeCIDR",
        /// Pod traffic enters on a bridge interface.
        BridgeInterface = "BridgeInterface",
        /// Pod traffic enters on interfaces with a prefix.
        InterfaceNamePrefix = "InterfaceNamePrefix",
        /// Empty: ClusterCIDR when clusterCIDR is set.
        Default = "",
    }
}

/// The kube-proxy configuration file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubeProxyConfiguration {
    /// `apiVersion` as written.
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written.
    #[serde(default)]
    pub kind: String,
    /// Proxy mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ProxyMode>,
    /// Pod CIDR range of the cluster (for local-traffic detection).
    #[serde(rename = "clusterCIDR", default, skip_serializing_if = "String::is_empty")]
    pub cluster_cidr: String,
    /// Masquerade all Service traffic (legacy top-level spelling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masquerade_all: Option<bool>,
    /// Addresses NodePorts are served on (`primary` or CIDRs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_port_addresses: Vec<String>,
    /// iptables-mode settings.
    #[serde(default)]
    pub iptables: IptablesConfig,
    /// conntrack settings.
    #[serde(default)]
    pub conntrack: ConntrackConfig,
    /// Local-traffic detection mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detect_local_mode: Option<DetectLocalMode>,
    /// Local-traffic detection parameters, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detect_local: Option<serde_json::Value>,
    /// Overrides the node name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname_override: String,
    /// Bind address (kept).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bind_address: String,
    /// Health server address (kept).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub healthz_bind_address: String,
    /// Metrics server address (kept).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metrics_bind_address: String,
    /// OOM score adjustment (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i32>,
    /// Sync period at the top level (newer configs), as a fallback for `iptables.syncPeriod`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_period: Option<GoDuration>,
    /// Minimum sync period at the top level (newer configs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_sync_period: Option<GoDuration>,
    /// IPVS-mode settings.
    #[serde(default, skip_serializing_if = "IpvsConfig::is_empty")]
    pub ipvs: IpvsConfig,
    /// nftables settings, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nftables: Option<serde_json::Value>,
    /// Windows settings, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winkernel: Option<serde_json::Value>,
    /// Client connection settings, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_connection: Option<serde_json::Value>,
    /// Feature gates, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_gates: Option<serde_json::Value>,
    /// Config-sync profiling flag (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_profiling: Option<bool>,
    /// Logging settings, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<serde_json::Value>,
    /// Port range for the userspace proxy (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_range: Option<String>,
    /// Show hidden metrics (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_hidden_metrics_for_version: Option<String>,
    /// Udp idle timeout for the userspace proxy (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_idle_timeout: Option<GoDuration>,
    /// Config sync period (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_sync_period: Option<GoDuration>,
    /// Resource container (old configs; kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_container: Option<String>,
}

/// `ipvs.scheduler` as written, if the document has one.
pub fn ipvs_scheduler(k: &KubeProxyConfiguration) -> Option<&str> {
    k.ipvs.scheduler.as_deref()
}

/// `ipvs:` (upstream `KubeProxyIPVSConfiguration`, v1alpha1 field names). Read only in IPVS
/// mode, as kube-proxy does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IpvsConfig {
    /// Full resync interval of the IPVS proxier (default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_period: Option<GoDuration>,
    /// Minimum interval between IPVS syncs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_sync_period: Option<GoDuration>,
    /// The scheduler of every virtual server (blank: `rr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<String>,
    /// CIDRs whose IPVS virtual servers kube-proxy leaves alone when it cleans up.
    #[serde(rename = "excludeCIDRs", default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_cidrs: Vec<String>,
    /// Set `arp_ignore=1` / `arp_announce=2` so the node does not answer ARP for the VIPs
    /// bound to kube-ipvs0.
    #[serde(rename = "strictARP", default, skip_serializing_if = "Option::is_none")]
    pub strict_arp: Option<bool>,
    /// IPVS TCP ESTABLISHED timeout (0: leave the kernel's 900 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_timeout: Option<GoDuration>,
    /// IPVS TCP FIN_WAIT timeout (0: leave the kernel's 120 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_fin_timeout: Option<GoDuration>,
    /// IPVS UDP timeout (0: leave the kernel's 300 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_timeout: Option<GoDuration>,
}

impl IpvsConfig {
    /// No field given (the section is then left out when serialized).
    pub fn is_empty(&self) -> bool {
        *self == IpvsConfig::default()
    }
}

/// `iptables:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IptablesConfig {
    /// SNAT all Service traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masquerade_all: Option<bool>,
    /// Bit of the fwmark used for masquerading (default 14 ⇒ 0x4000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masquerade_bit: Option<i32>,
    /// Serve NodePorts on 127.0.0.1 (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localhost_node_ports: Option<bool>,
    /// Minimum interval between syncs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_sync_period: Option<GoDuration>,
    /// Full resync interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_period: Option<GoDuration>,
}

/// `conntrack:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConntrackConfig {
    /// Table entries per CPU core (default 32768).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_core: Option<i32>,
    /// Minimum table size (default 131072).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i32>,
    /// TCP established timeout (default 24h0m0s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_established_timeout: Option<GoDuration>,
    /// TCP CLOSE_WAIT timeout (default 1h0m0s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_close_wait_timeout: Option<GoDuration>,
    /// Be liberal about out-of-window TCP packets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_be_liberal: Option<bool>,
    /// UDP unreplied timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_timeout: Option<GoDuration>,
    /// UDP stream timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_stream_timeout: Option<GoDuration>,
    /// Absolute table size (old configs; superseded by maxPerCore).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i32>,
}
