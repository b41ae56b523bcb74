//! A pod's `/etc/resolv.conf`, as the kubelet computes it from `dnsPolicy` and `dnsConfig`.
//!
//! Follows kubelet pkg/kubelet/network/dns/dns.go (`GetPodDNS`, `getPodDNSType`,
//! `generateSearchesForDNSClusterFirst`, `appendDNSConfig`, `mergeDNSOptions`,
//! `parseResolvConf`): ClusterFirst gives `search <ns>.svc.<domain> svc.<domain> <domain>` plus the
//! node's search domains, the cluster DNS IPs and `options ndots:5`; a hostNetwork pod with
//! ClusterFirst gets the node's file (Default); ClusterFirstWithHostNet keeps the cluster DNS;
//! None starts empty; `dnsConfig` is appended (duplicates dropped, options overriding by name).
//! Rendering follows containerd's CRI (`search`, then `nameserver` lines, then `options`), which
//! is what `cat /etc/resolv.conf` shows in a pod. The parser reads the node's file with the
//! keywords glibc knows (resolv.conf(5)); defaults: ndots 1, timeout 5, attempts 2.
//!
//! Left out: `sortlist`. The kubelet's `DNSConfigForming` events when limits are exceeded are
//! returned by [`pod_resolv_conf_with_events`].

use std::fmt;
use std::net::IpAddr;

use thiserror::Error;

/// Most nameservers glibc uses (`MAXNS`); the kubelet truncates to this.
pub const MAX_NAMESERVERS: usize = 3;
/// Most search domains the kubelet keeps (`MaxDNSSearchPaths`, Kubernetes ≥ 1.28).
pub const MAX_SEARCH_PATHS: usize = 32;
/// Longest search line the kubelet keeps (`MaxDNSSearchListChars`, Kubernetes ≥ 1.28).
pub const MAX_SEARCH_LIST_CHARS: usize = 2048;
/// Longest single search domain (a DNS-1123 subdomain); longer ones crash some glibc versions,
/// so the kubelet drops them.
pub const MAX_SEARCH_DOMAIN_LEN: usize = 253;

/// One `options` entry, like `ndots:5` or `rotate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvOption {
    /// Option name.
    pub name: String,
    /// Value after the colon, if any.
    pub value: Option<String>,
}

impl ResolvOption {
    /// An option with a value.
    pub fn new(name: &str, value: Option<&str>) -> Self {
        ResolvOption { name: name.to_string(), value: value.map(str::to_string) }
    }

    fn parse(text: &str) -> Self {
        match text.split_once(':') {
            Some((n, v)) => ResolvOption::new(n, Some(v)),
            None => ResolvOption::new(text, None),
        }
    }
}

impl fmt::Display for ResolvOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}:{}", self.name, v),
            None => f.write_str(&self.name),
        }
    }
}

/// The contents of a resolv.conf file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolvConf {
    /// `nameserver` lines, in order.
    pub nameservers: Vec<IpAddr>,
    /// The `search` list.
    pub searches: Vec<String>,
    /// `options`.
    pub options: Vec<ResolvOption>,
}

/// A resolv.conf line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResolvConfError {
    /// A `nameserver` line without a valid IP address.
    #[error("line {line}: nameserver: expected an IP address, found {found:?}")]
    BadNameserver {
        /// 1-based line number.
        line: usize,
        /// What was there.
        found: String,
    },
    /// dnsPolicy None with no nameserver in dnsConfig (API validation refuses this pod).
    #[error("spec.dnsConfig.nameservers: required when dnsPolicy is None")]
    NoneWithoutNameservers,
    /// A dnsConfig nameserver that is not an IP.
    #[error("spec.dnsConfig.nameservers[{index}]: expected an IP address, found {found:?}")]
    BadDnsConfigNameserver {
        /// Index in the list.
        index: usize,
        /// What was there.
        found: String,
    },
}

impl ResolvConf {
    /// Parses resolv.conf text (the node's file). Unknown keywords are ignored, as glibc does.
    pub fn parse(text: &str) -> Result<Self, ResolvConfError> {
        let mut conf = ResolvConf::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let Some(keyword) = fields.next() else { continue };
            let rest: Vec<&str> = fields.collect();
            match keyword {
                "nameserver" => {
                    let found = rest.first().copied().unwrap_or_default();
                    let ip = found.parse::<IpAddr>().map_err(|_| ResolvConfError::BadNameserver {
                        line: i + 1,
                        found: found.to_string(),
                    })?;
                    conf.nameservers.push(ip);
                }
                // `search` and `domain` replace each other; the last one wins (resolv.conf(5)).
                "search" => conf.searches = rest.iter().map(|s| s.to_string()).collect(),
                "domain" => conf.searches = rest.first().map(|s| vec![s.to_string()]).unwrap_or_default(),
                "options" => {
                    for o in rest {
                        let opt = ResolvOption::parse(o);
                        conf.options.retain(|x| x.name != opt.name);
                        conf.options.push(opt);
                    }
                }
                _ => {}
            }
        }
        Ok(conf)
    }

    /// The file as `cat /etc/resolv.conf` shows it in a pod (containerd's layout).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if !self.searches.is_empty() {
            out.push_str(&format!("search {}\n", self.searches.join(" ")));
        }
        for ns in &self.nameservers {
            out.push_str(&format!("nameserver {ns}\n"));
        }
        if !self.options.is_empty() {
            let opts: Vec<String> = self.options.iter().map(|o| o.to_string()).collect();
            out.push_str(&format!("options {}\n", opts.join(" ")));
        }
        out
    }

    fn numeric_option(&self, name: &str, default: u32, max: u32) -> u32 {
        self.options
            .iter()
            .rev()
            .find(|o| o.name == name)
            .and_then(|o| o.value.as_deref())
            .and_then(|v| v.parse::<u32>().ok())
            .map(|v| v.min(max))
            .unwrap_or(default)
    }

    /// `ndots` (default 1, capped at 15 as glibc does).
    pub fn ndots(&self) -> u32 {
        self.numeric_option("ndots", 1, 15)
    }

    /// `timeout` in seconds (default 5, capped at 30).
    pub fn timeout_secs(&self) -> u32 {
        self.numeric_option("timeout", 5, 30).max(1)
    }

    /// `attempts` (default 2, capped at 5).
    pub fn attempts(&self) -> u32 {
        self.numeric_option("attempts", 2, 5).max(1)
    }

    /// Whether a flag option (`single-request`, `use-vc`, `rotate`, `edns0`, ...) is set.
    /// glibc's `res_setoptions` also takes `no-reload`-style negations; only the flags the
    /// resolvers read are asked for.
    pub fn has_flag(&self, name: &str) -> bool {
        self.options.iter().any(|o| o.name == name)
    }
}

/// `spec.dnsPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DnsPolicy {
    /// Cluster DNS first (the default); the node's resolver for hostNetwork pods.
    #[default]
    ClusterFirst,
    /// Cluster DNS even for hostNetwork pods.
    ClusterFirstWithHostNet,
    /// The node's resolv.conf.
    Default,
    /// Only what `dnsConfig` says.
    None,
}

/// `spec.dnsConfig`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodDnsConfig {
    /// Extra nameservers (IP addresses, as text from the manifest).
    pub nameservers: Vec<String>,
    /// Extra search domains.
    pub searches: Vec<String>,
    /// Options; a value here overrides the same option from the policy.
    pub options: Vec<ResolvOption>,
}

/// The kubelet's DNS settings (`--cluster-dns`, `--cluster-domain`, `--resolv-conf`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeletDns {
    /// `clusterDNS`: the kube-dns Service IP(s).
    pub cluster_dns: Vec<IpAddr>,
    /// `clusterDomain`.
    pub cluster_domain: String,
    /// The node's resolv.conf (used for Default, and for the host search domains).
    pub host: ResolvConf,
}

impl Default for KubeletDns {
    fn default() -> Self {
        KubeletDns {
            cluster_dns: vec![IpAddr::from([10, 96, 0, 10])],
            cluster_domain: "cluster.local".to_string(),
            host: ResolvConf::default(),
        }
    }
}

/// What the kubelet writes into a pod's resolv.conf (`GetPodDNS`).
pub fn pod_resolv_conf(
    kubelet: &KubeletDns,
    namespace: &str,
    policy: DnsPolicy,
    host_network: bool,
    dns_config: Option<&PodDnsConfig>,
) -> Result<ResolvConf, ResolvConfError> {
    pod_resolv_conf_with_events(kubelet, namespace, policy, host_network, dns_config).map(|(c, _)| c)
}

/// [`pod_resolv_conf`] with the Warning events (reason `DNSConfigForming`) the kubelet records
/// on the pod when it had to trim the nameservers or the search line.
pub fn pod_resolv_conf_with_events(
    kubelet: &KubeletDns,
    namespace: &str,
    policy: DnsPolicy,
    host_network: bool,
    dns_config: Option<&PodDnsConfig>,
) -> Result<(ResolvConf, Vec<String>), ResolvConfError> {
    let cluster_first = match policy {
        DnsPolicy::ClusterFirstWithHostNet => true,
        DnsPolicy::ClusterFirst => !host_network,
        DnsPolicy::Default | DnsPolicy::None => false,
    };
    let mut conf = if policy == DnsPolicy::None {
        ResolvConf::default()
    } else if cluster_first && !kubelet.cluster_dns.is_empty() {
        let d = &kubelet.cluster_domain;
        let mut searches = vec![format!("{namespace}.svc.{d}"), format!("svc.{d}"), d.clone()];
        searches.extend(kubelet.host.searches.iter().cloned());
        ResolvConf {
            nameservers: kubelet.cluster_dns.clone(),
            searches: dedup(searches),
            options: vec![ResolvOption::new("ndots", Some("5"))],
        }
    } else {
        // Default, hostNetwork+ClusterFirst, or ClusterFirst without a cluster DNS configured:
        // the kubelet falls back to the node's file.
        kubelet.host.clone()
    };
    if let Some(cfg) = dns_config {
        for (index, text) in cfg.nameservers.iter().enumerate() {
            let ip = text
                .parse::<IpAddr>()
                .map_err(|_| ResolvConfError::BadDnsConfigNameserver { index, found: text.clone() })?;
            if !conf.nameservers.contains(&ip) {
                conf.nameservers.push(ip);
            }
        }
        let mut searches = conf.searches.clone();
        searches.extend(cfg.searches.iter().cloned());
        conf.searches = dedup(searches);
        for opt in &cfg.options {
            match conf.options.iter_mut().find(|o| o.name == opt.name) {
                Some(existing) => *existing = opt.clone(),
                None => conf.options.push(opt.clone()),
            }
        }
    }
    if policy == DnsPolicy::None && conf.nameservers.is_empty() {
        return Err(ResolvConfError::NoneWithoutNameservers);
    }
    let mut events = Vec::new();
    if conf.nameservers.len() > MAX_NAMESERVERS {
        conf.nameservers.truncate(MAX_NAMESERVERS);
        let line: Vec<String> = conf.nameservers.iter().map(IpAddr::to_string).collect();
        events.push(format!(
            "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: {}",
            line.join(" ")
        ));
    }
    let (searches, exceeded) = fit_search_limits(std::mem::take(&mut conf.searches));
    conf.searches = searches;
    if exceeded {
        events.push(format!(
            "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: {}",
            conf.searches.join(" ")
        ));
    }
    Ok((conf, events))
}

/// kubelet dns.go `formDNSSearchFitsLimits`: at most 32 domains, none longer than 253
/// characters, and whole domains cut from the end until the line fits in 2048 characters.
fn fit_search_limits(mut searches: Vec<String>) -> (Vec<String>, bool) {
    let mut exceeded = false;
    if searches.len() > MAX_SEARCH_PATHS {
        searches.truncate(MAX_SEARCH_PATHS);
        exceeded = true;
    }
    let before = searches.len();
    searches.retain(|s| s.len() <= MAX_SEARCH_DOMAIN_LEN);
    exceeded |= searches.len() != before;
    let line_len = searches.iter().map(String::len).sum::<usize>() + searches.len().saturating_sub(1);
    if line_len > MAX_SEARCH_LIST_CHARS {
        let mut cut_len = 0;
        let mut cut = 0;
        for s in searches.iter().rev() {
            cut_len += s.len() + 1;
            cut += 1;
            if line_len - cut_len.min(line_len) <= MAX_SEARCH_LIST_CHARS {
                break;
            }
        }
        searches.truncate(searches.len() - cut);
        exceeded = true;
    }
    (searches, exceeded)
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> KubeletDns {
        KubeletDns {
            host: ResolvConf::parse(
                "# generated by NetworkManager\nsearch ec2.internal\nnameserver 10.0.0.2\n",
            )
            .unwrap(),
            ..KubeletDns::default()
        }
    }

    #[test]
    fn cluster_first_matches_the_article() {
        // Article 002: `search <namespace>.svc.cluster.local svc.cluster.local cluster.local`,
        // `options ndots:5`, plus the node's own search domain appended by the kubelet.
        let conf =
            pod_resolv_conf(&KubeletDns::default(), "test", DnsPolicy::ClusterFirst, false, None).unwrap();
        assert_eq!(
            conf.render(),
            "search test.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"
        );
        let conf = pod_resolv_conf(&node(), "default", DnsPolicy::ClusterFirst, false, None).unwrap();
        assert_eq!(conf.searches.last().map(String::as_str), Some("ec2.internal"));
        assert_eq!(conf.ndots(), 5);
    }

    #[test]
    fn kubelet_cluster_dns_and_domain_shape_cluster_first() {
        // KubeletConfiguration clusterDNS [4 IPs], clusterDomain corp.example: the first three
        // nameservers (with the kubelet's DNSConfigForming event), the domain's search list,
        // then the node file's search domains.
        let ips: Vec<IpAddr> = ["10.96.0.10", "169.254.20.10", "10.96.0.11", "10.96.0.12"]
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let kubelet = KubeletDns { cluster_dns: ips, cluster_domain: "corp.example".into(), ..node() };
        let (conf, events) =
            pod_resolv_conf_with_events(&kubelet, "shop", DnsPolicy::ClusterFirst, false, None).unwrap();
        assert_eq!(
            conf.render(),
            "search shop.svc.corp.example svc.corp.example corp.example ec2.internal\n\
             nameserver 10.96.0.10\nnameserver 169.254.20.10\nnameserver 10.96.0.11\noptions ndots:5\n"
        );
        assert_eq!(
            events,
            vec![
                "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.96.0.10 169.254.20.10 10.96.0.11"
                    .to_string()
            ]
        );
        // Default ignores clusterDNS and clusterDomain: the node's file.
        let conf = pod_resolv_conf(&kubelet, "shop", DnsPolicy::Default, false, None).unwrap();
        assert_eq!(conf.render(), "search ec2.internal\nnameserver 10.0.0.2\n");
    }

    #[test]
    fn empty_cluster_dns_falls_back_and_empty_resolv_conf_gives_nothing() {
        // clusterDNS []: ClusterFirst pods get the node's file (kubelet's "Falling back to
        // Default policy"); resolvConf "": the host file is empty.
        let kubelet = KubeletDns { cluster_dns: Vec::new(), ..node() };
        let conf = pod_resolv_conf(&kubelet, "default", DnsPolicy::ClusterFirst, false, None).unwrap();
        assert_eq!(conf, node().host);
        let kubelet = KubeletDns { host: ResolvConf::default(), ..KubeletDns::default() };
        let conf = pod_resolv_conf(&kubelet, "default", DnsPolicy::Default, false, None).unwrap();
        assert_eq!(conf.render(), "");
        let conf = pod_resolv_conf(&kubelet, "default", DnsPolicy::ClusterFirst, false, None).unwrap();
        assert_eq!(conf.searches, vec!["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]);
    }

    #[test]
    fn host_network_falls_back_unless_with_host_net() {
        let conf = pod_resolv_conf(&node(), "default", DnsPolicy::ClusterFirst, true, None).unwrap();
        assert_eq!(conf.render(), "search ec2.internal\nnameserver 10.0.0.2\n");
        let conf =
            pod_resolv_conf(&node(), "default", DnsPolicy::ClusterFirstWithHostNet, true, None).unwrap();
        assert_eq!(conf.nameservers, vec![IpAddr::from([10, 96, 0, 10])]);
        let conf = pod_resolv_conf(&node(), "default", DnsPolicy::Default, false, None).unwrap();
        assert_eq!(conf.ndots(), 1);
    }

    #[test]
    fn dns_config_merges_and_none_requires_a_nameserver() {
        let cfg = PodDnsConfig {
            nameservers: vec!["1.2.3.4".into()],
            searches: vec!["ns1.svc.cluster-domain.example".into(), "my.dns.search.suffix".into()],
            options: vec![ResolvOption::new("ndots", Some("2")), ResolvOption::new("edns0", None)],
        };
        // The example of the Kubernetes docs ("Pod's DNS Config").
        let conf = pod_resolv_conf(&node(), "default", DnsPolicy::None, false, Some(&cfg)).unwrap();
        assert_eq!(
            conf.render(),
            "search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 1.2.3.4\noptions ndots:2 edns0\n"
        );
        let conf = pod_resolv_conf(&node(), "default", DnsPolicy::ClusterFirst, false, Some(&cfg)).unwrap();
        assert_eq!(conf.options, cfg.options);
        assert_eq!(conf.nameservers.len(), 2);
        assert_eq!(
            pod_resolv_conf(&node(), "default", DnsPolicy::None, false, None),
            Err(ResolvConfError::NoneWithoutNameservers)
        );
        let bad = PodDnsConfig { nameservers: vec!["dns.example".into()], ..PodDnsConfig::default() };
        assert!(matches!(
            pod_resolv_conf(&node(), "default", DnsPolicy::None, false, Some(&bad)),
            Err(ResolvConfError::BadDnsConfigNameserver { index: 0, .. })
        ));
    }

    #[test]
    fn parser_reports_line_numbers_and_reads_options() {
        let err = ResolvConf::parse("search a\nnameserver nope\n").unwrap_err();
        assert_eq!(err.to_string(), "line 2: nameserver: expected an IP address, found \"nope\"");
        let conf = ResolvConf::parse("options timeout:1 attempts:3 ndots:20 rotate\n").unwrap();
        assert_eq!((conf.timeout_secs(), conf.attempts(), conf.ndots()), (1, 3, 15));
        let conf = ResolvConf::parse("").unwrap();
        assert_eq!((conf.timeout_secs(), conf.attempts(), conf.ndots()), (5, 2, 1));
    }

    #[test]
    fn kubelet_trims_like_dns_test_go_and_says_so() {
        // dns_test.go TestFormDNSSearchFitsLimits / TestFormDNSNameserversFitsLimits shapes.
        let long = "a".repeat(254);
        let (s, exceeded) = fit_search_limits(vec!["ok.com".into(), long, "two.com".into()]);
        assert_eq!((s, exceeded), (vec!["ok.com".to_string(), "two.com".to_string()], true));
        let many: Vec<String> = (0..40).map(|i| format!("d{i}.example")).collect();
        let (s, exceeded) = fit_search_limits(many);
        assert_eq!((s.len(), exceeded), (32, true));
        // 9 domains of 250 characters: 2258 characters, two are cut to fit 2048.
        let wide: Vec<String> = (0..9).map(|i| format!("{i}{}", "x".repeat(249))).collect();
        let (s, exceeded) = fit_search_limits(wide);
        assert_eq!((s.len(), exceeded), (8, true));
        assert!(s.join(" ").len() <= MAX_SEARCH_LIST_CHARS);
        let (s, exceeded) = fit_search_limits(vec!["a.com".into()]);
        assert_eq!((s.len(), exceeded), (1, false));

        let cfg = PodDnsConfig {
            nameservers: vec!["1.1.1.1".into(), "8.8.8.8".into(), "9.9.9.9".into()],
            ..PodDnsConfig::default()
        };
        let (conf, events) =
            pod_resolv_conf_with_events(&node(), "default", DnsPolicy::ClusterFirst, false, Some(&cfg))
                .unwrap();
        assert_eq!(conf.nameservers.len(), 3);
        assert_eq!(
            events,
            [
                "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.96.0.10 1.1.1.1 8.8.8.8"
            ]
        );
    }
}
