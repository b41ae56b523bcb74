//! dockerd's own iptables rules on a node whose container runtime is Docker (the nodes that
//! have a `docker0` bridge: the cluster's `docker0: true`, or `bridge: docker0` as in
//! minikube of the docker-shim era, articles 000 and 001).
//!
//! Reference: moby's `libnetwork/drivers/bridge/setup_ip_tables_linux.go` (`setupIPTables`,
//! `setupIPTablesInternal`, `setIcc`, `setINC`), `libnetwork/iptables/iptables.go`
//! (`ProgramChain`) and `libnetwork/firewall_linux.go` (`setupUserChain`), and moby's own
//! record of a new daemon's rules, `integration/network/bridge/iptablesdoc/generated/
//! new-daemon.md`. The form is dockerd 18.09-20.10's, the articles' era: `DOCKER`,
//! `DOCKER-USER`, `DOCKER-ISOLATION-STAGE-1/2` (each stage ending in `-j RETURN`), the
//! `addrtype LOCAL` jumps to nat `DOCKER`, and the MASQUERADE of docker0's network for traffic
//! leaving by another device, in the order dockerd appends them. kube-proxy, started after
//! dockerd, inserts its own jumps (`-I`) in front of them: PREROUTING → KUBE-SERVICES first,
//! then DOCKER, as article 000 lists.
//!
//! Left out: published container ports (no containers run outside Kubernetes here), dockerd
//! 25+'s `DOCKER ! -i docker0 -o docker0 -j DROP` and raw-table guards, and the FORWARD policy
//! DROP that `setupIPForwarding` sets only when dockerd itself had to turn `ip_forward` on (a
//! Kubernetes node has it on before dockerd starts, so the policy stays ACCEPT).

use ipnet::Ipv4Net;
use sim_net::netfilter::{Netfilter, TableName};

/// The bridge dockerd creates and writes its rules for.
pub const DOCKER_BRIDGE: &str = "docker0";

/// dockerd's rules for its default bridge with network `net`, as `iptables-restore --noflush`
/// input (dockerd issues them one `iptables` command at a time; the order is the same).
pub fn dockerd_rules(net: Ipv4Net) -> String {
    let net = net.trunc();
    format!(
        "*nat\n\
         :DOCKER - [0:0]\n\
         -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n\
         -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER\n\
         -A POSTROUTING -s {net} ! -o {DOCKER_BRIDGE} -j MASQUERADE\n\
         -A DOCKER -i {DOCKER_BRIDGE} -j RETURN\n\
         COMMIT\n\
         *filter\n\
         :DOCKER - [0:0]\n\
         :DOCKER-ISOLATION-STAGE-1 - [0:0]\n\
         :DOCKER-ISOLATION-STAGE-2 - [0:0]\n\
         :DOCKER-USER - [0:0]\n\
         -A FORWARD -j DOCKER-USER\n\
         -A FORWARD -j DOCKER-ISOLATION-STAGE-1\n\
         -A FORWARD -o {DOCKER_BRIDGE} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
         -A FORWARD -o {DOCKER_BRIDGE} -j DOCKER\n\
         -A FORWARD -i {DOCKER_BRIDGE} ! -o {DOCKER_BRIDGE} -j ACCEPT\n\
         -A FORWARD -i {DOCKER_BRIDGE} -o {DOCKER_BRIDGE} -j ACCEPT\n\
         -A DOCKER-ISOLATION-STAGE-1 -i {DOCKER_BRIDGE} ! -o {DOCKER_BRIDGE} -j DOCKER-ISOLATION-STAGE-2\n\
         -A DOCKER-ISOLATION-STAGE-1 -j RETURN\n\
         -A DOCKER-ISOLATION-STAGE-2 -o {DOCKER_BRIDGE} -j DROP\n\
         -A DOCKER-ISOLATION-STAGE-2 -j RETURN\n\
         -A DOCKER-USER -j RETURN\n\
         COMMIT\n"
    )
}

/// The docker0 network dockerd's rules were written for, if they are installed: read back
/// from its MASQUERADE rule.
pub fn installed(nf: &Netfilter) -> Option<Ipv4Net> {
    nf.table(TableName::Filter).chain("DOCKER-USER")?;
    let post = nf.table(TableName::Nat).chain("POSTROUTING")?;
    post.rules.iter().find_map(|r| {
        let masq = matches!(r.target, sim_net::netfilter::Target::Masquerade(_));
        let via = r.out_iface.as_ref().is_some_and(|i| i.name == DOCKER_BRIDGE && i.invert);
        if masq && via { r.src.and_then(|s| s.net()) } else { None }
    })
}

/// Writes dockerd's rules for `net` into `nf` (`--noflush`: what is there stays, and they
/// go after it in the built-in chains).
pub fn install(nf: &mut Netfilter, net: Ipv4Net) -> Result<(), String> {
    nf.restore(&dockerd_rules(net), true).map_err(|e| format!("dockerd's rules: {e}"))
}

/// Runs a load that replaces the tables (kube-proxy's first `iptables-restore` into the
/// tables it owns, which netsim builds without `--noflush`) and puts dockerd's rules back
/// after it, as they were there before kube-proxy started.
pub fn keeping_dockerd_rules<T>(nf: &mut Netfilter, load: impl FnOnce(&mut Netfilter) -> T) -> T {
    let docker = installed(nf);
    let out = load(nf);
    if let Some(net) = docker
        && let Err(e) = install(nf, net)
    {
        // The rules are fixed text the engine loads; failing is a bug in one of the two.
        eprintln!("netsim: {e}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_net::netfilter::SaveOptions;

    /// dockerd's rules reprint in iptables-save's canonical form, and kube-proxy's jumps,
    /// inserted later, come first: article 000's PREROUTING -> KUBE-SERVICES, then DOCKER.
    #[test]
    fn dockerd_rules_then_kube_proxy_jumps() {
        let mut nf = Netfilter::new();
        let net: Ipv4Net = "172.17.0.1/16".parse().unwrap();
        install(&mut nf, net).unwrap();
        assert_eq!(installed(&nf), Some("172.17.0.0/16".parse().unwrap()));
        keeping_dockerd_rules(&mut nf, |nf| {
            nf.restore(
                "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\nCOMMIT\n",
                false,
            )
        })
        .unwrap();
        let nat = nf.save_table(TableName::Nat, &SaveOptions::default());
        let a: Vec<&str> = nat.lines().filter(|l| l.starts_with("-A PREROUTING")).collect();
        assert_eq!(
            a,
            [
                "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
                "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER"
            ]
        );
        assert!(nat.contains("-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n"), "{nat}");
        let filter = nf.save_table(TableName::Filter, &SaveOptions::default());
        assert!(filter.contains(":FORWARD ACCEPT [0:0]\n"), "{filter}");
        assert!(
            filter.contains("-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-ISOLATION-STAGE-1\n"),
            "{filter}"
        );
    }
}
