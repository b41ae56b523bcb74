//! `iptables [-t table] <command> ...` run against a [`Netfilter`]: rule and chain edits and
//! the listings `-L` and `-S`.
//!
//! Follows `iptables/iptables.c` `do_command4` and libiptc: the default table is `filter`;
//! `-D` takes a rule number or a rule spec (compared in canonical form, so any spelling of
//! the same rule deletes it); every edit replaces the whole table in the kernel, which then
//! re-runs its loop check, so an edit that would create a loop is refused and nothing changes.
//! Messages are iptables' (`iptables: Bad rule (does a matching rule exist in that chain?).`,
//! `iptables: No chain/target/match by that name.`, `iptables: Chain already exists.`).
//!
//! `-C` checks for a rule the way `-D` finds one; `-E` renames a user chain and the jumps to
//! it. Left out: `-4/-6`, `--modprobe`.

use super::ipset::IpSets;
use super::rule::{Match, Rule};
use super::save::IPTABLES_VERSION;
use super::spec::{self, Backend, CommandLine, Op, SpecError};
use super::table::{Table, TableError};
use super::{Netfilter, tidx};

/// Why an `iptables` command failed; Display is what iptables prints on stderr.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// A parameter problem (bad option, bad value, unknown match or target).
    #[error(
        "iptables {IPTABLES_VERSION} (legacy): {0}\nTry `iptables -h' or 'iptables --help' for more information."
    )]
    Spec(SpecError),
    /// The kernel/libiptc refused the edit.
    #[error("iptables: {0}")]
    Table(TableError),
    /// A jump to a chain that does not exist (a parameter problem in iptables).
    #[error(
        "iptables {IPTABLES_VERSION} (legacy): Couldn't load target `{0}':No such file or directory\n\nTry `iptables -h' or 'iptables --help' for more information."
    )]
    NoTarget(String),
    /// `-m set` with a missing set.
    #[error(
        "iptables {IPTABLES_VERSION} (legacy): Set {0} doesn't exist.\n\nTry `iptables -h' or 'iptables --help' for more information."
    )]
    NoSet(String),
}

impl From<TableError> for CommandError {
    fn from(e: TableError) -> Self {
        match e {
            TableError::NoTarget(t) => CommandError::NoTarget(t),
            TableError::IfaceInChain(m) => CommandError::Spec(SpecError::BadValue(m)),
            e => CommandError::Table(e),
        }
    }
}

/// The first ipset a rule names that does not exist.
pub fn missing_set(sets: &IpSets, rule: &Rule) -> Option<String> {
    let from_matches = rule.matches.iter().find_map(|m| match m {
        Match::Set(s) if sets.get(&s.name).is_none() => Some(s.name.clone()),
        _ => None,
    });
    // The SET target's sets (libxt_SET.c looks them up as the rule is parsed).
    let from_target = || match &rule.target {
        super::Target::Ext(e) => match &**e {
            super::ext::ExtTarget::Set(t) => [&t.add, &t.del, &t.map]
                .into_iter()
                .flatten()
                .find(|(name, _)| sets.get(name).is_none())
                .map(|(name, _)| name.clone()),
            _ => None,
        },
        _ => None,
    };
    from_matches.or_else(from_target)
}

/// Applies an editing command to a table (shared by `iptables` and `iptables-restore`).
///
/// A command with address lists (`-s a,b`) edits once per rule it stands for
/// ([`CommandLine::rules`]); `-I` inserts each at the same place, so they end up in reverse
/// order, as with the real tools.
pub fn apply_edit(t: &mut Table, cl: CommandLine) -> Result<(), TableError> {
    // One rule unless `-s`/`-d` listed several addresses: then moved, not copied.
    let several = cl.addrs.src.len() > 1 || cl.addrs.dst.len() > 1;
    let rules = if several { cl.rules() } else { Vec::new() };
    let CommandLine { op, rule, has_spec, .. } = cl;
    // iptables.c do_command4: no DROP, as a target or a policy, in the nat table.
    if t.name == super::TableName::Nat
        && (matches!(op, Op::Policy(_, super::Policy::Drop))
            || (matches!(op, Op::Append(_) | Op::Insert(..) | Op::Replace(..))
                && rule.target == super::Target::Drop))
    {
        return Err(TableError::NatDrop);
    }
    // iptables refuses `-i` where there is no input interface and `-o` where there is no
    // output interface, for the built-in chains (iptables.c `do_command4`).
    if (rule.in_iface.is_some() || rule.out_iface.is_some())
        && let Op::Append(c) | Op::Insert(c, _) | Op::Replace(c, _) = &op
        && let Some(hook) = t.chain(c).and_then(|ch| ch.hook)
    {
        if rule.in_iface.is_some() && matches!(hook, super::Hook::Output | super::Hook::Postrouting) {
            return Err(TableError::IfaceInChain(format!("Can't use -i with {c}")));
        }
        if rule.out_iface.is_some() && matches!(hook, super::Hook::Prerouting | super::Hook::Input) {
            return Err(TableError::IfaceInChain(format!("Can't use -o with {c}")));
        }
    }
    match op {
        Op::Append(c) if !several => t.append(&c, rule),
        Op::Append(c) => rules.into_iter().try_for_each(|r| t.append(&c, r)),
        Op::Insert(c, n) if !several => t.insert(&c, n, rule),
        Op::Insert(c, n) => rules.into_iter().try_for_each(|r| t.insert(&c, n, r)),
        Op::Replace(c, n) => t.replace(&c, n, rule),
        Op::Delete(c, Some(n)) if !has_spec => t.delete_num(&c, n),
        Op::Delete(c, _) => {
            if t.chain(&c).is_none() {
                return Err(TableError::NoChain(c));
            }
            if !several {
                return t.delete_spec(&c, rule);
            }
            rules.into_iter().try_for_each(|r| t.delete_spec(&c, r))
        }
        Op::NewChain(c) => t.new_chain(&c),
        Op::DeleteChain(Some(c)) => t.delete_chain(&c),
        Op::DeleteChain(None) => t.delete_all_user_chains(),
        Op::Flush(c) => t.flush(c.as_deref()),
        Op::Zero(c) => t.zero(c.as_deref()),
        Op::Policy(c, p) => t.set_policy(&c, p, None),
        Op::Rename(old, new) => t.rename_chain(&old, &new),
        Op::List(_) | Op::ListRules(_) | Op::Check(_) => Ok(()),
    }
}

impl Netfilter {
    /// Runs one `iptables` command line (arguments after `iptables`, already split as a
    /// shell would), returning what iptables prints on stdout (empty for edits).
    pub fn command(&mut self, args: &[&str]) -> Result<String, CommandError> {
        if matches!(args, ["-V" | "--version"]) {
            return Ok(format!("iptables {IPTABLES_VERSION} ({})\n", self.backend().name()));
        }
        let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let cl = spec::parse(&argv).map_err(CommandError::Spec)?;
        let i = tidx(cl.table);
        // iptables-legacy opens the table once the command has parsed: even `-L` or an edit
        // the kernel refuses registers it (and `iptables-save` prints it from then on).
        if self.backend() == Backend::Legacy {
            self.touch(cl.table);
        }
        match &cl.op {
            Op::List(chain) => {
                return super::list::list(&self.tables[i], chain.as_deref(), cl.flags)
                    .map_err(CommandError::from);
            }
            Op::ListRules(chain) => {
                if let Some(c) = chain
                    && self.tables[i].chain(c).is_none()
                {
                    return Err(TableError::NoChain(c.clone()).into());
                }
                return Ok(super::save::list_rules(&self.tables[i], chain.as_deref(), cl.flags.verbose));
            }
            _ => {}
        }
        if let Op::Check(c) = &cl.op {
            // Each rule of `-s a,b` is looked for in the table as it is.
            for r in cl.rules() {
                Table::clone(&self.tables[i]).delete_spec(c, r)?;
            }
            return Ok(String::new());
        }
        if matches!(cl.op, Op::Append(_) | Op::Insert(..) | Op::Replace(..))
            && let Some(s) = missing_set(&self.ipsets, &cl.rule)
        {
            return Err(CommandError::NoSet(s));
        }
        // iptables-nft creates the table with its first chain, rule or policy; flushing,
        // zeroing or deleting the chains of a table it has not created leaves none.
        let creates = !matches!(cl.op, Op::Flush(_) | Op::Zero(_) | Op::DeleteChain(_));
        let t = cl.table;
        let mut staged = Table::clone(&self.tables[i]);
        apply_edit(&mut staged, cl)?;
        staged.check_commit()?;
        self.tables[i] = std::rc::Rc::new(staged);
        if creates {
            self.touch(t);
        }
        Ok(String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBE_POSTROUTING: &str = "*nat\n:POSTROUTING ACCEPT [0:0]\n:KUBE-POSTROUTING - [0:0]\n-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully\nCOMMIT\n";

    #[test]
    fn delete_by_rulespec_in_any_spelling() {
        let mut nf = Netfilter::new();
        nf.restore(KUBE_POSTROUTING, false).unwrap();
        nf.command(&[
            "-t",
            "nat",
            "-D",
            "KUBE-POSTROUTING",
            "-m",
            "comment",
            "--comment",
            "kubernetes service traffic requiring SNAT",
            "-j",
            "MASQUERADE",
            "--random-fully",
        ])
        .unwrap();
        assert!(
            nf.table(crate::netfilter::TableName::Nat).chain("KUBE-POSTROUTING").unwrap().rules.is_empty()
        );
        let e = nf.command(&["-t", "nat", "-D", "KUBE-POSTROUTING", "-j", "MASQUERADE"]).unwrap_err();
        assert_eq!(e.to_string(), "iptables: Bad rule (does a matching rule exist in that chain?).");
        // Same rule written differently: -p/-d after the match, host without /32.
        nf.command(&["-N", "X"]).unwrap();
        nf.command(&["-A", "X", "-m", "tcp", "-p", "tcp", "-d", "10.0.0.1", "--dport", "80", "-j", "ACCEPT"])
            .unwrap();
        nf.command(&[
            "-D",
            "X",
            "-d",
            "10.0.0.1/32",
            "-p",
            "tcp",
            "-m",
            "tcp",
            "--dport",
            "80",
            "-j",
            "ACCEPT",
        ])
        .unwrap();
    }

    #[test]
    fn address_lists_edit_each_rule() {
        let mut nf = Netfilter::new();
        nf.command(&["-A", "INPUT", "-s", "1.1.1.1,2.2.2.2", "-j", "ACCEPT"]).unwrap();
        nf.command(&["-I", "INPUT", "-d", "3.3.3.3,4.4.4.4", "-j", "DROP"]).unwrap();
        nf.command(&["-C", "INPUT", "-s", "2.2.2.2,1.1.1.1", "-j", "ACCEPT"]).unwrap();
        nf.command(&["-D", "INPUT", "-s", "1.1.1.1,2.2.2.2", "-j", "ACCEPT"]).unwrap();
        assert_eq!(
            nf.command(&["-S", "INPUT"]).unwrap(),
            "-P INPUT ACCEPT\n-A INPUT -d 4.4.4.4/32 -j DROP\n-A INPUT -d 3.3.3.3/32 -j DROP\n"
        );
    }

    #[test]
    fn version_names_the_backend() {
        let mut nf = Netfilter::new();
        assert_eq!(nf.command(&["-V"]).unwrap(), "iptables v1.8.4 (legacy)\n");
        nf.set_backend(crate::netfilter::Backend::Nft);
        assert_eq!(nf.command(&["--version"]).unwrap(), "iptables v1.8.4 (nf_tables)\n");
    }

    #[test]
    fn iptables_error_wording() {
        let mut nf = Netfilter::new();
        assert_eq!(
            nf.command(&["-A", "NOPE", "-j", "ACCEPT"]).unwrap_err().to_string(),
            "iptables: No chain/target/match by that name."
        );
        nf.command(&["-N", "A"]).unwrap();
        assert_eq!(nf.command(&["-N", "A"]).unwrap_err().to_string(), "iptables: Chain already exists.");
        assert_eq!(
            nf.command(&["-A", "INPUT", "-j", "NOPE"]).unwrap_err().to_string(),
            "iptables v1.8.4 (legacy): Couldn't load target `NOPE':No such file or directory\n\nTry `iptables -h' or 'iptables --help' for more information."
        );
        assert_eq!(
            nf.command(&["-D", "INPUT", "3"]).unwrap_err().to_string(),
            "iptables: Bad rule (does a matching rule exist in that chain?)."
        );
        assert_eq!(
            nf.command(&["-A", "OUTPUT", "-i", "eth0", "-j", "ACCEPT"]).unwrap_err().to_string(),
            "iptables v1.8.4 (legacy): Can't use -i with OUTPUT\nTry `iptables -h' or 'iptables --help' for more information."
        );
        assert!(
            nf.command(&["-A", "INPUT", "-p", "udp", "-j", "REJECT", "--reject-with", "tcp-reset"]).is_err()
        );
        assert!(
            nf.command(&["-t", "nat", "-A", "POSTROUTING", "-j", "DNAT", "--to-destination", "10.0.0.1"])
                .is_err()
        );
        assert!(nf.command(&["-X", "INPUT"]).is_err());
        assert_eq!(
            nf.command(&["-t", "nat", "-A", "PREROUTING", "-j", "DROP"]).unwrap_err().to_string(),
            "iptables: The \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited."
        );
        // A loop no built-in chain reaches is loaded (as the real iptables does, both
        // backends); reaching it is refused and leaves the table unchanged.
        nf.command(&["-N", "B"]).unwrap();
        nf.command(&["-A", "A", "-j", "B"]).unwrap();
        nf.command(&["-A", "B", "-j", "A"]).unwrap();
        assert!(
            nf.command(&["-A", "INPUT", "-j", "A"])
                .unwrap_err()
                .to_string()
                .starts_with("iptables: Too many levels of links.")
        );
        assert!(nf.table(crate::netfilter::TableName::Filter).chain("INPUT").unwrap().rules.is_empty());
    }

    #[test]
    fn check_and_rename() {
        let mut nf = Netfilter::new();
        nf.command(&["-N", "OLD"]).unwrap();
        nf.command(&["-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "OLD"]).unwrap();
        nf.command(&["-C", "INPUT", "-p", "tcp", "-m", "tcp", "--dport", "22", "-j", "OLD"]).unwrap();
        assert_eq!(
            nf.command(&["-C", "INPUT", "-p", "tcp", "--dport", "23", "-j", "OLD"]).unwrap_err().to_string(),
            "iptables: Bad rule (does a matching rule exist in that chain?)."
        );
        nf.command(&["-E", "OLD", "NEW"]).unwrap();
        assert_eq!(
            nf.command(&["-S"]).unwrap(),
            "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n-N NEW\n-A INPUT -p tcp -m tcp --dport 22 -j NEW\n"
        );
        assert_eq!(
            nf.command(&["-E", "INPUT", "X"]).unwrap_err().to_string(),
            "iptables: Invalid argument. Run `dmesg' for more information. (cannot rename built-in chain INPUT)"
        );
        nf.command(&["-N", "OTHER"]).unwrap();
        assert_eq!(
            nf.command(&["-E", "NEW", "OTHER"]).unwrap_err().to_string(),
            "iptables: Chain already exists."
        );
    }

    #[test]
    fn insert_replace_policy_and_list_rules() {
        let mut nf = Netfilter::new();
        nf.command(&["-A", "INPUT", "-s", "10.0.0.0/8", "-j", "ACCEPT"]).unwrap();
        nf.command(&["-I", "INPUT", "-i", "lo", "-j", "ACCEPT"]).unwrap();
        nf.command(&["-R", "INPUT", "2", "!", "-s", "10.0.0.0/8", "-j", "DROP"]).unwrap();
        nf.command(&["-P", "FORWARD", "DROP"]).unwrap();
        assert_eq!(
            nf.command(&["-S"]).unwrap(),
            "-P INPUT ACCEPT\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n-A INPUT -i lo -j ACCEPT\n-A INPUT ! -s 10.0.0.0/8 -j DROP\n"
        );
    }
}
