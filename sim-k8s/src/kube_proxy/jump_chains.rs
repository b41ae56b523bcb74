//! The rules kube-proxy does *not* write through iptables-restore: jumps from the built-in
//! chains into its own chains, which it ensures one by one with `iptables -I` (prepend) so as
//! not to own PREROUTING, INPUT, … (upstream `iptablesJumpChains` and
//! `iptablesKubeletJumpChains` in `pkg/proxy/iptables/proxier.go`). kubelet creates its
//! `KUBE-FIREWALL` jumps before kube-proxy starts, and each later prepend lands above the
//! earlier ones, so a chain ends up in reverse ensure order — which is what `iptables-save`
//! shows on a real node (`-A INPUT … KUBE-PROXY-FIREWALL` first, `-A INPUT -j KUBE-FIREWALL`
//! last). The canary chains (`KUBE-PROXY-CANARY`) are declared in filter and nat; the mangle
//! copy and kubelet's own `KUBE-KUBELET-CANARY` are left out.

use std::fmt::Write as _;

use sim_net::netfilter::TableName;

use super::sync::{
    KUBE_EXTERNAL_SERVICES, KUBE_FIREWALL, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_PROXY_CANARY,
    KUBE_PROXY_FIREWALL, KUBE_SERVICES,
};

const CT_NEW: &str = "-m conntrack --ctstate NEW";

/// One ensured jump from a built-in chain to a kube-proxy chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JumpRule {
    /// `filter` or `nat`.
    pub table: TableName,
    /// The built-in chain (`INPUT`).
    pub chain: &'static str,
    /// Matches before the comment (`-m conntrack --ctstate NEW`), possibly empty.
    pub extra: &'static str,
    /// The comment, if any.
    pub comment: Option<&'static str>,
    /// The kube-proxy chain jumped to.
    pub target: &'static str,
}

impl JumpRule {
    const fn new(
        table: TableName,
        target: &'static str,
        chain: &'static str,
        comment: Option<&'static str>,
        extra: &'static str,
    ) -> Self {
        JumpRule { table, chain, extra, comment, target }
    }

    /// The rule as an `-A` line in kube-proxy's word order.
    pub fn rule_text(&self) -> String {
        let mut s = format!("-A {}", self.chain);
        if !self.extra.is_empty() {
            let _ = write!(s, " {}", self.extra);
        }
        if let Some(c) = self.comment {
            let _ = write!(s, " -m comment --comment \"{c}\"");
        }
        let _ = write!(s, " -j {}", self.target);
        s
    }
}

/// The ensure sequence: kubelet's jumps first (it starts before kube-proxy), then
/// kube-proxy's `iptablesJumpChains` in upstream order.
fn ensure_sequence() -> [JumpRule; 13] {
    use TableName::{Filter, Nat};
    let portals = Some("kubernetes service portals");
    let external = Some("kubernetes externally-visible service portals");
    let lb_firewall = Some("kubernetes load balancer firewall");
    [
        JumpRule::new(Filter, KUBE_FIREWALL, "INPUT", None, ""),
        JumpRule::new(Filter, KUBE_FIREWALL, "OUTPUT", None, ""),
        JumpRule::new(Filter, KUBE_EXTERNAL_SERVICES, "INPUT", external, CT_NEW),
        JumpRule::new(Filter, KUBE_EXTERNAL_SERVICES, "FORWARD", external, CT_NEW),
        JumpRule::new(Filter, KUBE_NODEPORTS, "INPUT", Some("kubernetes health check service ports"), ""),
        JumpRule::new(Filter, KUBE_SERVICES, "FORWARD", portals, CT_NEW),
        JumpRule::new(Filter, KUBE_SERVICES, "OUTPUT", portals, CT_NEW),
        JumpRule::new(Filter, KUBE_FORWARD, "FORWARD", Some("kubernetes forwarding rules"), ""),
        JumpRule::new(Filter, KUBE_PROXY_FIREWALL, "INPUT", lb_firewall, CT_NEW),
        JumpRule::new(Filter, KUBE_PROXY_FIREWALL, "OUTPUT", lb_firewall, CT_NEW),
        JumpRule::new(Filter, KUBE_PROXY_FIREWALL, "FORWARD", lb_firewall, CT_NEW),
        JumpRule::new(Nat, KUBE_SERVICES, "OUTPUT", portals, ""),
        JumpRule::new(Nat, KUBE_SERVICES, "PREROUTING", portals, ""),
    ]
}

/// Built-in chains in the order `iptables-save` prints them.
const FILTER_BUILTINS: [&str; 3] = ["INPUT", "FORWARD", "OUTPUT"];
const NAT_BUILTINS: [&str; 4] = ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"];

/// The ensured jump rules in their final positions: grouped by table and built-in chain
/// (kernel order), each chain in reverse ensure order (every ensure is a prepend).
pub fn ensured_jump_rules() -> Vec<JumpRule> {
    let mut seq: Vec<JumpRule> = ensure_sequence().to_vec();
    seq.push(JumpRule::new(
        TableName::Nat,
        KUBE_POSTROUTING,
        "POSTROUTING",
        Some("kubernetes postrouting rules"),
        "",
    ));
    let mut out = Vec::with_capacity(seq.len());
    for (table, builtins) in [(TableName::Filter, &FILTER_BUILTINS[..]), (TableName::Nat, &NAT_BUILTINS[..])]
    {
        for chain in builtins {
            out.extend(seq.iter().rev().filter(|j| j.table == table && j.chain == *chain).cloned());
        }
    }
    out
}

/// Chains that exist on a node besides those in the restore input: jump targets (created by
/// `EnsureChain`) and the canary.
fn ensured_chains(table: TableName, jumps: &[JumpRule]) -> Vec<&'static str> {
    let mut chains: Vec<&'static str> = jumps.iter().filter(|j| j.table == table).map(|j| j.target).collect();
    chains.push(KUBE_PROXY_CANARY);
    chains.sort_unstable();
    chains.dedup();
    chains
}

/// Restore input for empty tables giving a node's state after a sync (see
/// [`super::SyncResult::initial_restore`]). `filter` and `nat` are the sync's restore input.
pub fn initial_restore(filter: &str, nat: &str, jumps: &[JumpRule]) -> String {
    let mut out = String::with_capacity(filter.len() + nat.len() + 4096);
    for (table, builtins, body) in
        [(TableName::Filter, &FILTER_BUILTINS[..], filter), (TableName::Nat, &NAT_BUILTINS[..], nat)]
    {
        let _ = writeln!(out, "*{}", table.name());
        for b in builtins {
            let _ = writeln!(out, ":{b} ACCEPT [0:0]");
        }
        let mut lines = body.lines().filter(|l| !l.starts_with('*')).peekable();
        let mut declared: Vec<&str> = Vec::new();
        while let Some(l) = lines.next_if(|l| l.starts_with(':')) {
            declared.push(l.trim_start_matches(':').split(' ').next().unwrap_or(""));
            out.push_str(l);
            out.push('\n');
        }
        for c in ensured_chains(table, jumps) {
            if !declared.contains(&c) {
                let _ = writeln!(out, ":{c} - [0:0]");
            }
        }
        for j in jumps.iter().filter(|j| j.table == table) {
            out.push_str(&j.rule_text());
            out.push('\n');
        }
        for l in lines {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_order_matches_a_real_node() {
        let rules: Vec<String> =
            ensured_jump_rules().iter().map(|j| format!("{:<6} {}", j.table.name(), j.rule_text())).collect();
        insta::assert_snapshot!(rules.join("\n"));
    }
}
