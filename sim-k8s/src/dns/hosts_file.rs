//! `/etc/hosts` in a pod: the file the kubelet writes (kubelet_pods.go
//! `managedHostsFileContent`), and the lookup libc does in it before asking DNS (the `files`
//! source of nsswitch's `hosts: files dns`).
//!
//! The file: the fixed localhost/IPv6 lines, the pod's address with its FQDN and hostname when
//! it has a `subdomain` (else its hostname), then `# Entries added by HostAliases.` and one line
//! per `hostAliases` entry. Left out: hostNetwork pods (they see the node's file).

use std::net::IpAddr;

/// One `spec.hostAliases` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostAlias {
    /// `ip`.
    pub ip: String,
    /// `hostnames`.
    pub hostnames: Vec<String>,
}

/// The kubelet-managed hosts file of a pod.
pub fn managed_hosts_file(pod_ip: &str, hostname: &str, fqdn: Option<&str>, aliases: &[HostAlias]) -> String {
    let mut out = String::from(
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
    );
    match fqdn {
        Some(f) => out.push_str(&format!("{pod_ip}\t{f}\t{hostname}\n")),
        None => out.push_str(&format!("{pod_ip}\t{hostname}\n")),
    }
    if !aliases.is_empty() {
        out.push_str("\n# Entries added by HostAliases.\n");
        for a in aliases {
            out.push_str(&format!("{}\t{}\n", a.ip, a.hostnames.join("\t")));
        }
    }
    out
}

/// glibc `files` lookup: the addresses of the lines that list `name` (case-insensitive), in
/// file order; `#` starts a comment.
pub fn lookup(file: &str, name: &str) -> Vec<IpAddr> {
    let want = name.trim_end_matches('.');
    file.lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or("");
            let mut fields = line.split_whitespace();
            let ip: IpAddr = fields.next()?.parse().ok()?;
            fields.any(|n| n.eq_ignore_ascii_case(want)).then_some(ip)
        })
        .collect()
}

/// `getent hosts NAME` answered from the file (glibc's `files` backend): the first line that
/// lists the name, as `IP` padded to 15 columns, the line's first name (canonical) and the
/// others as aliases.
pub fn getent_line(file: &str, name: &str) -> Option<String> {
    let want = name.trim_end_matches('.');
    file.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let ip: IpAddr = fields.next()?.parse().ok()?;
        let names: Vec<&str> = fields.collect();
        names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(want))
            .then(|| format!("{:<15} {}\n", ip.to_string(), names.join(" ")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kubelets_file_with_host_aliases() {
        let aliases = [
            HostAlias { ip: "127.0.0.1".into(), hostnames: vec!["foo.local".into(), "bar.local".into()] },
            HostAlias { ip: "10.1.2.3".into(), hostnames: vec!["foo.remote".into()] },
        ];
        let f = managed_hosts_file(
            "10.244.1.5",
            "web-0",
            Some("web-0.nginx.default.svc.cluster.local"),
            &aliases,
        );
        assert!(f.ends_with(
            "10.244.1.5\tweb-0.nginx.default.svc.cluster.local\tweb-0\n\n# Entries added by HostAliases.\n\
             127.0.0.1\tfoo.local\tbar.local\n10.1.2.3\tfoo.remote\n"
        ));
        assert_eq!(lookup(&f, "FOO.remote"), vec!["10.1.2.3".parse::<IpAddr>().unwrap()]);
        assert_eq!(lookup(&f, "web-0"), vec!["10.244.1.5".parse::<IpAddr>().unwrap()]);
        assert!(lookup(&f, "nothing").is_empty());
        assert_eq!(getent_line(&f, "bar.local").as_deref(), Some("127.0.0.1       foo.local bar.local\n"));
    }
}
