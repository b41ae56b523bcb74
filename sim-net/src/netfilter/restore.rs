//! `iptables-restore [--noflush]` input: `*table` blocks of `:CHAIN POLICY [p:b]`
//! declarations and `-A/-I/-D/-R/-N/-X/-F/-Z/-P` lines, each committed by `COMMIT`.
//!
//! Follows `iptables/iptables-restore.c` (v1.8, legacy): a table block is built on a copy and
//! replaces the live table only at `COMMIT`, so a failing block changes nothing (blocks
//! committed before it stay); without `--noflush` a block starts from an empty table; with
//! it, re-declaring an existing user chain flushes it (kube-proxy relies on this) and other
//! chains are kept. Lines are split as `add_param_to_argv` does: whitespace separates,
//! double quotes group and are removed, a backslash inside quotes escapes the next
//! character, and a closing quote ends the argument. A `[p:b]` prefix sets a rule's counters.
//! The kernel's load-time loop check runs at `COMMIT`.
//!
//! Errors carry the 1-based line number. Left out: `--test`, `--table=` filtering.

use std::borrow::Cow;

use super::rule::Counters;
use super::spec::{self, Backend, CommandLine, Op, Policy, ProtoProblem, SpecError};
use super::table::{Table, TableError};
use super::{Netfilter, TableName, command, tidx};

/// What went wrong on a line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RestoreErrorKind {
    /// The rule or command could not be parsed.
    #[error("{0}")]
    Spec(#[from] SpecError),
    /// The table refused the edit.
    #[error("{0}")]
    Table(#[from] TableError),
    /// `-m set` names a set that does not exist.
    #[error("Set {0} doesn't exist.")]
    NoSet(String),
    /// An opening `"` without a closing one.
    #[error("unterminated quote")]
    UnterminatedQuote,
    /// A rule or chain line before any `*table`.
    #[error("no table specified")]
    NoTable,
    /// `*name` of a table that does not exist.
    #[error("can't initialize iptables table `{0}': Table does not exist (do you need to insmod?)")]
    UnknownTable(String),
    /// iptables-nft: `*name` of a table that does not exist.
    #[error("iptables-nft-restore: line {line} table name '{name}' invalid")]
    UnknownTableNft {
        /// The line.
        line: usize,
        /// The name.
        name: String,
    },
    /// iptables-legacy: `*name` of a table that does not exist.
    #[error("iptables-restore: unable to initialize table '{0}'")]
    UnknownTableLegacy(String),
    /// End of input or a new `*table` while a block was open (the real tools: `COMMIT
    /// expected at line N`).
    #[error("COMMIT expected at line {line} (table `{table}')")]
    MissingCommit {
        /// The table.
        table: String,
        /// The line.
        line: usize,
    },
    /// iptables-nft: a rule jumps to a chain the block never declared; nft finds out when
    /// the block is committed (the line is the COMMIT line).
    #[error("Chain '{0}' does not exist")]
    NftNoChain(String),
    /// iptables-nft: the rule that closed a loop reachable from a built-in chain.
    #[error("RULE_APPEND failed (Too many links): rule in chain {chain} (loop: {path})")]
    NftLoop {
        /// The chain of the rule.
        chain: String,
        /// The loop.
        path: String,
    },
    /// iptables-legacy: a user chain declared with a policy.
    #[error("Can't set policy `{policy}' on `{chain}' line {line}: Bad built-in chain name")]
    LegacyUserChainPolicy {
        /// The policy.
        policy: String,
        /// The chain.
        chain: String,
        /// The line.
        line: usize,
    },
    /// A built-in chain declared with a policy that does not exist (legacy's wording; nft
    /// says `line N failed: Bad policy name.`).
    #[error("Can't set policy `{policy}' on `{chain}' line {line}: Bad policy name")]
    BadPolicy {
        /// The policy.
        policy: String,
        /// The chain.
        chain: String,
        /// The line.
        line: usize,
    },
    /// iptables-nft: a built-in chain declared with a policy that does not exist.
    #[error("line {0} failed: Bad policy name.")]
    BadPolicyNft(usize),
    /// iptables-legacy: a chain declared twice in one block.
    #[error("error creating chain '{0}':File exists")]
    LegacyChainExists(String),
    /// An edit of the table that failed (a rule for a chain that does not exist, an index
    /// out of range, a chain that exists ...), in iptables-nft's words; iptables-legacy says
    /// only `line N failed`.
    #[error("line {line} failed: {msg}")]
    EditFailed {
        /// The line.
        line: usize,
        /// iptables-nft's message.
        msg: String,
    },
    /// iptables-nft: `-X` of a chain a rule still jumps to.
    #[error("CHAIN_DEL failed (Device or resource busy): chain {0}")]
    NftChainBusy(String),
    /// `COMMIT` with no open table.
    #[error("COMMIT without a table")]
    StrayCommit,
    /// A malformed `:CHAIN POLICY [p:b]` line.
    #[error("bad chain declaration: {0}")]
    BadChainLine(String),
    /// A `[p:b` prefix without its `]` (the real restores' words).
    #[error("Bad line {0}: need ]")]
    NeedBracket(usize),
    /// `:CHAIN` without a policy, in the named program's words.
    #[error("{prog}: line {line} policy invalid")]
    NoPolicy {
        /// `iptables-nft-restore` or `iptables-restore`.
        prog: &'static str,
        /// The line.
        line: usize,
    },
    /// A malformed `[p:b]` counter prefix.
    #[error("bad counters `{0}'")]
    BadCounters(String),
    /// `-t` on a rule line, in the named program's words.
    #[error("The -t option cannot be used in {0}.")]
    TableOption(&'static str),
    /// `-w` on a rule line.
    #[error("You cannot use `-w' from iptables-restore")]
    WaitOption,
    /// A command that iptables-restore does not accept (`-L`, `-S`, `-t`).
    #[error("{0} is not allowed in iptables-restore")]
    NotAllowed(String),
    /// iptables-legacy: the kernel refused a rule of the block when it was committed (the
    /// real tool says only `iptables-restore: line N failed`, N the COMMIT line).
    #[error("line {commit} failed: the kernel refused the rule at line {rule_line} ({reason})")]
    KernelRefusedAtCommit {
        /// The COMMIT line.
        commit: usize,
        /// The refused rule's line.
        rule_line: usize,
        /// The kernel's reason (its log message).
        reason: String,
    },
    /// iptables-legacy: the kernel refused the block at COMMIT for a rule in a user chain
    /// (the real tool says only `iptables-restore: line N failed`).
    #[error("line {commit} failed: the kernel refused the table ({reason})")]
    CommitRefused {
        /// The COMMIT line.
        commit: usize,
        /// The kernel's reason.
        reason: String,
    },
    /// iptables-nft: the kernel refused a rule as it was appended.
    #[error("RULE_APPEND failed (Invalid argument): rule in chain {chain} ({reason})")]
    RuleAppendFailed {
        /// The chain.
        chain: String,
        /// The kernel's reason.
        reason: String,
    },
}

/// An `iptables-restore` failure at a line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("iptables-restore: line {line}: {kind}")]
pub struct RestoreError {
    /// 1-based line number.
    pub line: usize,
    /// What went wrong.
    pub kind: RestoreErrorKind,
}

/// Splits one line into arguments as iptables-restore does.
pub fn split_args(line: &str) -> Result<Vec<String>, RestoreErrorKind> {
    Ok(split_args_borrowed(line)?.into_iter().map(Cow::into_owned).collect())
}

/// [`split_args`] without copies: an argument is a slice of the line unless quotes or
/// escapes changed it.
pub fn split_args_borrowed(line: &str) -> Result<Vec<Cow<'_, str>>, RestoreErrorKind> {
    let bytes = line.as_bytes();
    let mut out = Vec::with_capacity(24);
    // Start of the unquoted run of the current argument.
    let mut run = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        // Skip the plain bytes of an argument first: one table lookup a byte.
        while i < bytes.len() && !SPECIAL[usize::from(bytes[i])] {
            i += 1;
        }
        let Some(&b) = bytes.get(i) else { break };
        match b {
            b'"' => {
                // The text before the quote belongs to the same argument; the quoted part ends it.
                let prefix = run;
                i += 1;
                let start = i;
                let mut owned: Option<String> = None;
                let mut seg = i;
                loop {
                    match bytes.get(i) {
                        None => return Err(RestoreErrorKind::UnterminatedQuote),
                        Some(b'\\') => {
                            let arg = owned.get_or_insert_with(|| String::from(&line[prefix..start - 1]));
                            arg.push_str(&line[seg..i]);
                            i += 1;
                            let Some(c) = line.get(i..).and_then(|r| r.chars().next()) else {
                                return Err(RestoreErrorKind::UnterminatedQuote);
                            };
                            arg.push(c);
                            i += c.len_utf8();
                            seg = i;
                        }
                        Some(b'"') => {
                            let arg = match owned {
                                Some(mut a) => {
                                    a.push_str(&line[seg..i]);
                                    Cow::Owned(a)
                                }
                                // No text before the quote: the quoted text itself.
                                None if prefix + 1 == start => Cow::Borrowed(&line[start..i]),
                                None => {
                                    Cow::Owned(format!("{}{}", &line[prefix..start - 1], &line[start..i]))
                                }
                            };
                            i += 1;
                            out.push(arg);
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                run = i;
            }
            // A blank: the skip above stops at nothing else.
            _ => {
                if run < i {
                    out.push(Cow::Borrowed(&line[run..i]));
                }
                i += 1;
                run = i;
            }
        }
    }
    if run < bytes.len() {
        out.push(Cow::Borrowed(&line[run..]));
    }
    Ok(out)
}

/// The bytes the splitters stop at: blanks and the double quote.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b' ' as usize] = true;
    t[b'\t' as usize] = true;
    t[b'\n' as usize] = true;
    t[b'\r' as usize] = true;
    t[b'"' as usize] = true;
    t
};

/// [`split_args`] into `out` (cleared first) for a line whose arguments are all slices of it:
/// false, leaving `out` unspecified, if a quote is preceded by text, holds a backslash or is
/// not closed (then only the general splitter knows the arguments, or the error).
fn split_plain<'t>(line: &'t str, out: &mut Vec<&'t str>) -> bool {
    out.clear();
    let bytes = line.as_bytes();
    let mut run = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        // Skip the plain bytes of an argument first: one table lookup a byte.
        while i < bytes.len() && !SPECIAL[usize::from(bytes[i])] {
            i += 1;
        }
        let Some(&b) = bytes.get(i) else { break };
        match b {
            b'"' => {
                if run < i {
                    return false;
                }
                let start = i + 1;
                let Some(len) = bytes[start..].iter().position(|&b| b == b'"' || b == b'\\') else {
                    return false;
                };
                if bytes[start + len] == b'\\' {
                    return false;
                }
                out.push(&line[start..start + len]);
                i = start + len + 1;
                run = i;
            }
            // A blank: the skip above stops at nothing else.
            _ => {
                if run < i {
                    out.push(&line[run..i]);
                }
                i += 1;
                run = i;
            }
        }
    }
    if run < bytes.len() {
        out.push(&line[run..]);
    }
    true
}

fn parse_counters(s: &str) -> Option<Counters> {
    // What every chain of a fresh dump carries.
    if s == "[0:0]" {
        return Some(Counters::default());
    }
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    let (p, b) = inner.split_once(':')?;
    Some(Counters { packets: p.parse().ok()?, bytes: b.parse().ok()? })
}

/// How `iptables-restore` was invoked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestoreOptions {
    /// `--noflush` (`-n`): tables are edited rather than replaced.
    pub noflush: bool,
    /// `--counters` (`-c`): the `[p:b]` counters of chains and rules are restored. Without it
    /// `iptables-restore` zeroes every counter (`do_command4` builds each rule with zero
    /// counters, `iptc_set_policy` gets NULL counters), so a dump posted with
    /// `:INPUT ACCEPT [1234:5678]` reprints as `[0:0]`.
    pub counters: bool,
    /// The iptables binary ([`Backend`]); `None` is the model's own check (the kernel's rule
    /// at once, at the rule's line), as kube-proxy's restores use.
    pub backend: Option<Backend>,
    /// `--skip-unknown` (netsim's): a rule with a match netsim does not simulate is loaded,
    /// never matches, and is listed in traces ([`super::rule::Match::Unknown`]).
    pub skip_unknown: bool,
}

/// An open `*table` block.
struct Block {
    name: TableName,
    table: Table,
    /// iptables-legacy: the first rule the kernel will refuse at COMMIT (line, reason).
    refused: Option<(usize, String)>,
    /// iptables-nft: the first jump to a chain that does not exist (refused at COMMIT).
    missing_chain: Option<String>,
    /// iptables-nft: the jumps of the block (from, to, line), to name the rule that closed a
    /// loop.
    jumps: Vec<(String, String, usize)>,
    /// iptables-nft: the rules of user chains whose target or match the kernel allows from
    /// some hooks only (chain, line, allowed hooks as bits), to name the rule the kernel
    /// refused when a bad hook reaches one.
    limited: Vec<(String, usize, u8)>,
    /// The block declared a chain or gave a command: iptables-nft creates the table at
    /// `COMMIT` only then (`*nat` straight to `COMMIT` leaves no table to save).
    filled: bool,
}

impl Block {
    /// iptables-nft: the rule the kernel refuses first when a rule of a user chain is reached
    /// from a hook it does not support: the later of that rule and the jump that completed
    /// the path (the earliest such moment over all rules); its line and chain.
    fn nft_hook_culprit(&self) -> Option<(usize, String)> {
        let builtins: Vec<(&str, u8)> = self
            .table
            .chains()
            .filter_map(|c| c.hook.map(|h| (c.name.as_str(), super::table::hook_bit(h))))
            .collect();
        let mut best: Option<(usize, String)> = None;
        for (start, bit) in &builtins {
            if self.limited.iter().all(|(_, _, allowed)| bit & !allowed == 0) {
                continue;
            }
            // The earliest line by which each chain is reachable from `start`: a path whose
            // latest jump is earliest (a bottleneck path), and the chain of that jump.
            let mut reach: std::collections::BTreeMap<&str, (usize, &str)> =
                std::collections::BTreeMap::new();
            reach.insert(start, (0, start));
            let mut changed = true;
            while changed {
                changed = false;
                for (from, to, line) in &self.jumps {
                    let Some(&(at, via)) = reach.get(from.as_str()) else { continue };
                    let cand = if *line >= at { (*line, from.as_str()) } else { (at, via) };
                    if reach.get(to.as_str()).is_none_or(|(t, _)| cand.0 < *t) {
                        reach.insert(to, cand);
                        changed = true;
                    }
                }
            }
            for (chain, rule_line, allowed) in &self.limited {
                if bit & !allowed == 0 {
                    continue;
                }
                let Some(&(path_line, via)) = reach.get(chain.as_str()) else { continue };
                let culprit = if *rule_line >= path_line {
                    (*rule_line, chain.clone())
                } else {
                    (path_line, via.to_string())
                };
                if best.as_ref().is_none_or(|b| culprit.0 < b.0) {
                    best = Some(culprit);
                }
            }
        }
        best
    }
}

impl Netfilter {
    /// Applies `iptables-restore --counters` input. With `noflush` (`--noflush`) tables are
    /// edited rather than replaced. Each table block takes effect at its `COMMIT`; on error
    /// the failing block is discarded and earlier blocks stay committed. (kube-proxy restores
    /// with `--counters`; [`Netfilter::restore_with`] takes the other options.)
    pub fn restore(&mut self, text: &str, noflush: bool) -> Result<(), RestoreError> {
        self.restore_with(
            text,
            RestoreOptions { noflush, counters: true, backend: None, skip_unknown: false },
        )
    }

    /// Applies `iptables-restore` input with the given options.
    pub fn restore_with(&mut self, text: &str, opts: RestoreOptions) -> Result<(), RestoreError> {
        let noflush = opts.noflush;
        let mut block: Option<Block> = None;
        let mut args_buf: Vec<&str> = Vec::with_capacity(32);
        let mut last = 0;
        for (n, raw) in text.lines().enumerate() {
            let line = n + 1;
            last = line;
            let err = |kind: RestoreErrorKind| RestoreError { line, kind };
            // The real restores (`opts.backend`) read a line as it is: only an empty line or
            // one that starts with `#` is skipped, `COMMIT` must be exactly that (and, for
            // legacy, end in a newline: `strcmp(buffer, "COMMIT\n")`), and any other line is
            // a command (`  COMMIT` is `Bad argument `COMMIT'', a line of blanks has no
            // command). The model's own restores are lenient about blanks.
            let strict = opts.backend.is_some();
            let l = if strict { raw.trim_end_matches('\r') } else { raw.trim() };
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            // The last line, when the text does not end in a newline, is the one that ends
            // the text.
            let last_without_newline = !text.ends_with('\n')
                && raw.as_ptr() as usize + raw.len() == text.as_ptr() as usize + text.len();
            let commit = l == "COMMIT" && !(opts.backend == Some(Backend::Legacy) && last_without_newline);
            if strict && !commit && block.is_some() && l.trim() == "COMMIT" {
                return Err(err(SpecError::BadValue("Bad argument `COMMIT'".into()).into()));
            }
            if commit {
                let mut b = block.take().ok_or_else(|| {
                    err(match opts.backend {
                        Some(_) => {
                            RestoreErrorKind::EditFailed { line, msg: "COMMIT without a table".into() }
                        }
                        None => RestoreErrorKind::StrayCommit,
                    })
                })?;
                if let Some((rule_line, reason)) = b.refused {
                    return Err(err(RestoreErrorKind::KernelRefusedAtCommit {
                        commit: line,
                        rule_line,
                        reason,
                    }));
                }
                if let Some(c) = b.missing_chain {
                    return Err(err(RestoreErrorKind::NftNoChain(c)));
                }
                match b.table.check_commit() {
                    Ok(()) => {}
                    Err(TableError::Loop(path)) => {
                        // nft refuses the rule that closes the loop, at its line: the latest
                        // jump into a chain of the loop.
                        let in_loop: Vec<&str> = path.split(" -> ").collect();
                        let closing = b
                            .jumps
                            .iter()
                            .filter(|(_, to, _)| in_loop.contains(&to.as_str()))
                            .max_by_key(|j| j.2);
                        return Err(match (closing, opts.backend) {
                            (Some((from, _, at)), Some(Backend::Nft)) => RestoreError {
                                line: *at,
                                kind: RestoreErrorKind::NftLoop { chain: from.clone(), path },
                            },
                            _ => err(TableError::Loop(path).into()),
                        });
                    }
                    Err(e) => {
                        return Err(match (e, opts.backend) {
                            (TableError::Invalid(reason), Some(Backend::Legacy)) => {
                                err(RestoreErrorKind::CommitRefused { commit: line, reason })
                            }
                            (TableError::Invalid(reason), Some(Backend::Nft)) => match b.nft_hook_culprit() {
                                Some((at, chain)) => RestoreError {
                                    line: at,
                                    kind: RestoreErrorKind::RuleAppendFailed { chain, reason },
                                },
                                None => err(TableError::Invalid(reason).into()),
                            },
                            (e, _) => err(e.into()),
                        });
                    }
                }
                let i = tidx(b.name);
                self.tables[i] = std::rc::Rc::new(b.table);
                if b.filled || opts.backend.unwrap_or(self.backend()) == Backend::Legacy {
                    self.touch(b.name);
                }
                continue;
            }
            if let Some(name) = l.strip_prefix('*') {
                if let Some(b) = &block {
                    // The real restores take the line as a command there.
                    if strict {
                        let first = l.split_whitespace().next().unwrap_or(l);
                        return Err(err(SpecError::BadValue(format!("Bad argument `{first}'")).into()));
                    }
                    return Err(err(RestoreErrorKind::MissingCommit {
                        table: b.name.name().to_string(),
                        line,
                    }));
                }
                let n = name.trim().to_string();
                let t = TableName::parse(&n).ok_or_else(|| {
                    err(match opts.backend {
                        Some(Backend::Nft) => RestoreErrorKind::UnknownTableNft { line, name: n.clone() },
                        Some(Backend::Legacy) => RestoreErrorKind::UnknownTableLegacy(n.clone()),
                        None => RestoreErrorKind::UnknownTable(n.clone()),
                    })
                })?;
                let table = if noflush { Table::clone(&self.tables[tidx(t)]) } else { Table::new(t) };
                // iptables-legacy opens the table here: registered even if the block fails.
                if opts.backend.unwrap_or(self.backend()) == Backend::Legacy {
                    self.touch(t);
                }
                block = Some(Block {
                    name: t,
                    table,
                    refused: None,
                    missing_chain: None,
                    jumps: Vec::new(),
                    limited: Vec::new(),
                    filled: false,
                });
                continue;
            }
            let Some(b) = block.as_mut() else {
                return Err(err(RestoreErrorKind::NoTable));
            };
            b.filled = true;
            if let Some(decl) = l.strip_prefix(':') {
                declare_chain(&mut b.table, decl, opts, line).map_err(err)?;
                continue;
            }
            // Optional `[p:b]` counters before the command.
            let (counters, rest) = if l.starts_with('[') {
                let end = l.find(']').ok_or_else(|| {
                    err(match opts.backend {
                        Some(_) => RestoreErrorKind::NeedBracket(line),
                        None => RestoreErrorKind::BadCounters(l.to_string()),
                    })
                })?;
                let c = parse_counters(&l[..=end])
                    .ok_or_else(|| err(RestoreErrorKind::BadCounters(l[..=end].to_string())))?;
                (Some(c), &l[end + 1..])
            } else {
                (None, l)
            };
            // Arguments are slices of the text, in a buffer reused line after line; a line whose
            // quotes change an argument takes the general splitter.
            let owned_args;
            let owned_refs: Vec<&str>;
            let args: &[&str] = if split_plain(rest, &mut args_buf) {
                &args_buf
            } else {
                owned_args = split_args_borrowed(rest).map_err(err)?;
                owned_refs = owned_args.iter().map(|a| a.as_ref()).collect();
                &owned_refs
            };
            if args.iter().any(|a| matches!(*a, "-t" | "--table")) {
                return Err(err(match opts.backend {
                    Some(Backend::Nft) => RestoreErrorKind::TableOption("iptables-nft-restore"),
                    Some(Backend::Legacy) => RestoreErrorKind::TableOption("iptables-restore"),
                    None => RestoreErrorKind::NotAllowed("-t".into()),
                }));
            }
            if args.iter().any(|a| matches!(*a, "-w" | "--wait")) {
                return Err(err(RestoreErrorKind::WaitOption));
            }
            // iptables-nft: `-g ACCEPT` is a goto to a chain named ACCEPT, which the batch
            // does not have (found at COMMIT); legacy refuses it as the rule is parsed.
            if opts.backend == Some(Backend::Nft)
                && let Some(w) = args.windows(2).find(|w| matches!(w[0], "-g" | "--goto"))
                && matches!(w[1], "ACCEPT" | "DROP" | "RETURN" | "QUEUE")
            {
                b.missing_chain.get_or_insert(w[1].to_string());
                continue;
            }
            let mut cl: CommandLine =
                spec::parse_unchecked_args(args, opts.skip_unknown).map_err(|e| match e {
                    // `-P CHAIN BOGUS`: libiptc's / libnftnl's refusal, not a parameter problem.
                    SpecError::BadValue(m) if opts.backend.is_some() && m.starts_with("Bad policy name.") => {
                        err(RestoreErrorKind::EditFailed { line, msg: "Bad policy name.".to_string() })
                    }
                    e => err(e.into()),
                })?;
            match (spec::check_protocols(&cl.rule, opts.backend), opts.backend) {
                (None, _) => {}
                (Some(ProtoProblem::Parse(e)), _) => return Err(err(e.into())),
                (Some(ProtoProblem::Kernel(reason)), Some(Backend::Legacy)) => {
                    b.refused.get_or_insert((line, reason.to_string()));
                }
                (Some(ProtoProblem::Kernel(reason)), Some(Backend::Nft)) => {
                    let chain = match &cl.op {
                        Op::Append(c) | Op::Insert(c, _) | Op::Replace(c, _) => c.clone(),
                        _ => String::new(),
                    };
                    return Err(err(RestoreErrorKind::RuleAppendFailed {
                        chain,
                        reason: reason.to_string(),
                    }));
                }
                (Some(ProtoProblem::Kernel(reason)), None) => {
                    return Err(err(spec::kernel_refusal(reason).into()));
                }
            }
            if let Some(c) = counters
                && opts.counters
            {
                cl.rule.counters = c;
            }
            if matches!(cl.op, Op::List(_) | Op::ListRules(_) | Op::Check(_)) {
                return Err(err(RestoreErrorKind::NotAllowed(
                    args.first().map_or_else(String::new, |a| a.to_string()),
                )));
            }
            if let Some(missing) = command::missing_set(&self.ipsets, &cl.rule) {
                return Err(err(RestoreErrorKind::NoSet(missing)));
            }
            // The rule's chain, for the real restores' checks and messages only.
            let op_chain = match &cl.op {
                Op::Append(c) | Op::Insert(c, _) | Op::Replace(c, _) if opts.backend.is_some() => {
                    Some(c.clone())
                }
                _ => None,
            };
            if let (Some(c), Some(Backend::Nft)) = (&op_chain, opts.backend)
                && b.table.chain(c).is_some_and(|ch| ch.hook.is_none())
                && let Some((_, allowed)) = super::table::hook_limits(&cl.rule)
            {
                b.limited.push((c.clone(), line, allowed));
            }
            // The kernel checks the hooks of a rule in a built-in chain as it loads it.
            if let (Some(c), Some(backend)) = (&op_chain, opts.backend)
                && let Some(hook) = b.table.chain(c).and_then(|ch| ch.hook)
                && let Some(reason) = super::table::hook_problem(&cl.rule, c, hook)
            {
                match backend {
                    Backend::Legacy => {
                        b.refused.get_or_insert((line, reason));
                    }
                    Backend::Nft => {
                        return Err(err(RestoreErrorKind::RuleAppendFailed { chain: c.clone(), reason }));
                    }
                }
            }
            let jump_to = match &cl.rule.target {
                super::Target::Jump(c) | super::Target::Goto(c) if opts.backend == Some(Backend::Nft) => {
                    Some(c.name.clone())
                }
                _ => None,
            };
            // What `edit_failed` needs to word a refusal (the real restores only).
            let edit_op = opts.backend.map(|_| cl.op.clone());
            let edit_len = match &edit_op {
                Some(Op::Replace(c, _) | Op::Delete(c, Some(_))) if !cl.has_spec => {
                    b.table.chain(c).map(|c| c.rules.len())
                }
                Some(Op::Replace(c, _)) => b.table.chain(c).map(|c| c.rules.len()),
                _ => None,
            };
            match (command::apply_edit(&mut b.table, cl), opts.backend) {
                (Ok(()), _) => {}
                // nft checks jump targets when the batch is committed.
                (Err(TableError::NoTarget(c)), Some(Backend::Nft)) if op_chain.is_some() => {
                    b.missing_chain.get_or_insert(c);
                }
                // What the kernel refuses (a target in the wrong table ...): legacy hears of
                // it at COMMIT, nft as the rule is appended.
                (Err(TableError::Invalid(reason)), Some(Backend::Legacy)) if op_chain.is_some() => {
                    b.refused.get_or_insert((line, reason));
                }
                (Err(TableError::Invalid(reason)), Some(Backend::Nft)) if op_chain.is_some() => {
                    let chain = op_chain.unwrap_or_default();
                    return Err(err(RestoreErrorKind::RuleAppendFailed { chain, reason }));
                }
                // What libiptc / libnftnl refuse: the real tools say `line N failed` (and
                // nft why).
                (Err(e), Some(backend))
                    if !matches!(
                        e,
                        TableError::NatDrop | TableError::IfaceInChain(_) | TableError::NoTarget(_)
                    ) =>
                {
                    let op = edit_op.as_ref().expect("kept for the real restores");
                    return Err(err(edit_failed(line, op, edit_len, e, backend)));
                }
                (Err(e), _) => return Err(err(e.into())),
            }
            if let (Some(from), Some(to), Some(Backend::Nft)) = (op_chain, jump_to, opts.backend) {
                b.jumps.push((from, to, line));
            }
        }
        if let Some(b) = block {
            return Err(RestoreError {
                line: last + 1,
                kind: RestoreErrorKind::MissingCommit { table: b.name.name().to_string(), line: last + 1 },
            });
        }
        Ok(())
    }
}

/// A failed edit as the real restores report it (measured with iptables v1.8.9): nft names
/// the problem in libnftnl's words, legacy says only `line N failed` (netsim adds nft's words
/// after it). `len` is the number of rules of the chain a `-R`/`-D N` names.
fn edit_failed(
    line: usize,
    op: &Op,
    len: Option<usize>,
    e: TableError,
    backend: Backend,
) -> RestoreErrorKind {
    const NO_CHAIN: &str = "No chain/target/match by that name.";
    let msg = match (op, &e) {
        (Op::DeleteChain(Some(c)), TableError::Referenced(_)) if backend == Backend::Nft => {
            return RestoreErrorKind::NftChainBusy(c.clone());
        }
        (Op::Insert(..), TableError::BadIndex | TableError::NoSuchRule) => {
            "Index of insertion too big.".to_string()
        }
        (Op::Replace(..), TableError::BadIndex | TableError::NoSuchRule) if len.is_some_and(|n| n > 0) => {
            "Index of replacement too big.".to_string()
        }
        (Op::Delete(_, Some(_)), TableError::BadIndex | TableError::NoSuchRule)
            if len.is_some_and(|n| n > 0) =>
        {
            "Index of deletion too big.".to_string()
        }
        (Op::Replace(..) | Op::Delete(_, Some(_)), TableError::BadIndex | TableError::NoSuchRule)
            if len.is_some() =>
        {
            NO_CHAIN.to_string()
        }
        (Op::Policy(..), TableError::NoChain(_) | TableError::Invalid(_)) => {
            "Bad built-in chain name.".to_string()
        }
        (Op::Rename(..), TableError::Exists(_)) => "File exists.".to_string(),
        (Op::Rename(..) | Op::DeleteChain(_), TableError::Invalid(_)) => NO_CHAIN.to_string(),
        (_, TableError::NoChain(_)) => NO_CHAIN.to_string(),
        _ => e.to_string(),
    };
    RestoreErrorKind::EditFailed { line, msg }
}

/// `:CHAIN POLICY [p:b]`.
fn declare_chain(
    t: &mut Table,
    decl: &str,
    opts: RestoreOptions,
    line: usize,
) -> Result<(), RestoreErrorKind> {
    let noflush = opts.noflush;
    // Up to four words tell every case apart (a fourth is only ever refused or ignored).
    // Split on ASCII blanks, as the real restores' `strtok(" \t\n")` does.
    let mut words = decl.split_ascii_whitespace();
    let mut parts: [&str; 4] = [""; 4];
    let mut count = 0;
    for w in words.by_ref().take(4) {
        parts[count] = w;
        count += 1;
    }
    let parts = &parts[..count];
    // The real restores read the name, the policy and (with `-c` only) the counters, and
    // ignore anything after them.
    let (name, policy) = match (parts, opts.backend) {
        ([n, p, ..], Some(_)) => (*n, *p),
        ([_], Some(Backend::Nft)) | ([], Some(Backend::Nft)) => {
            return Err(RestoreErrorKind::NoPolicy { prog: "iptables-nft-restore", line });
        }
        ([_], Some(Backend::Legacy)) | ([], Some(Backend::Legacy)) => {
            return Err(RestoreErrorKind::NoPolicy { prog: "iptables-restore", line });
        }
        ([n, p] | [n, p, _], None) => (*n, *p),
        _ => return Err(RestoreErrorKind::BadChainLine(decl.to_string())),
    };
    let counters = match parts.get(2).filter(|_| opts.counters || opts.backend.is_none()) {
        Some(c) => Some(parse_counters(c).ok_or_else(|| RestoreErrorKind::BadCounters(c.to_string()))?),
        None => None,
    }
    .filter(|_| opts.counters);
    // Looked up once: `None` for a chain that does not exist yet.
    let existing = t.chain(name).map(|c| c.hook.is_some());
    if existing == Some(true) {
        if policy != "-" {
            let p = Policy::parse(policy).ok_or_else(|| match opts.backend {
                Some(Backend::Nft) => RestoreErrorKind::BadPolicyNft(line),
                Some(Backend::Legacy) => {
                    RestoreErrorKind::BadPolicy { policy: policy.to_string(), chain: name.to_string(), line }
                }
                None => RestoreErrorKind::BadChainLine(format!("invalid policy `{policy}'")),
            })?;
            t.set_policy(name, p, counters)?;
        }
        return Ok(());
    }
    if policy != "-" {
        match opts.backend {
            // iptables-nft ignores a user chain's policy (`:FOO ACCEPT` saves as `:FOO -`).
            Some(Backend::Nft) => {}
            Some(Backend::Legacy) => {
                return Err(RestoreErrorKind::LegacyUserChainPolicy {
                    policy: policy.to_string(),
                    chain: name.to_string(),
                    line,
                });
            }
            None => {
                return Err(RestoreErrorKind::BadChainLine(format!(
                    "user chain `{name}' cannot have a policy"
                )));
            }
        }
    }
    // The chain names each program takes in a declaration (measured): nft refuses a leading
    // `-` and the verdicts' names, legacy takes a leading `-` and finds the verdicts' names
    // taken; both take other targets' names (`:DNAT`).
    const VERDICTS: [&str; 4] = ["ACCEPT", "DROP", "QUEUE", "RETURN"];
    match opts.backend {
        None => spec::check_chain_name(name)?,
        Some(Backend::Nft) => {
            if name.len() > 28 {
                return Err(
                    spec::bad(format!("chain name `{name}' too long (must be under 29 chars)")).into()
                );
            }
            if name.starts_with('-') {
                return Err(spec::bad("chain name not allowed to start with `-'").into());
            }
            if VERDICTS.contains(&name) {
                return Err(spec::bad("chain name may not clash with target name").into());
            }
        }
        Some(Backend::Legacy) => {
            if name.len() > 28 {
                return Err(spec::bad(format!("Invalid chain name `{name}' (28 chars max)")).into());
            }
            if VERDICTS.contains(&name) {
                return Err(RestoreErrorKind::LegacyChainExists(name.to_string()));
            }
        }
    }
    if existing.is_some() {
        if noflush {
            t.flush(Some(name))?;
            return Ok(());
        }
        return match opts.backend {
            // iptables-nft: declaring a chain again flushes it.
            Some(Backend::Nft) => Ok(t.flush(Some(name))?),
            Some(Backend::Legacy) => Err(RestoreErrorKind::LegacyChainExists(name.to_string())),
            None => Err(TableError::Exists(name.to_string()).into()),
        };
    }
    t.new_chain_unchecked(name);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The character-by-character splitter the byte-slicing one replaced: the oracle.
    fn split_args_by_chars(line: &str) -> Result<Vec<String>, RestoreErrorKind> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        let mut escaped = false;
        // An argument has started (so `""` yields an empty argument).
        let mut started = false;
        for c in line.chars() {
            if quoted {
                if escaped {
                    cur.push(c);
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    quoted = false;
                    out.push(std::mem::take(&mut cur));
                    started = false;
                } else {
                    cur.push(c);
                }
                continue;
            }
            match c {
                '"' => {
                    quoted = true;
                    started = true;
                }
                ' ' | '\t' | '\n' | '\r' => {
                    if started || !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                        started = false;
                    }
                }
                _ => {
                    cur.push(c);
                    started = true;
                }
            }
        }
        if quoted {
            return Err(RestoreErrorKind::UnterminatedQuote);
        }
        if started || !cur.is_empty() {
            out.push(cur);
        }
        Ok(out)
    }

    proptest::proptest! {
        #[test]
        fn split_args_agrees_with_the_character_splitter(line in "[ a-c\"\\\\\\té-]{0,24}") {
            proptest::prop_assert_eq!(split_args(&line), split_args_by_chars(&line));
        }

        #[test]
        fn the_plain_splitter_agrees_where_it_answers(line in "[ a-c\"\\\\\\té-]{0,24}") {
            let mut v = Vec::new();
            if split_plain(&line, &mut v) {
                let plain: Vec<String> = v.iter().map(|a| a.to_string()).collect();
                proptest::prop_assert_eq!(Ok(plain), split_args(&line));
            }
        }
    }

    #[test]
    fn splitting_follows_add_param_to_argv() {
        let a = split_args(r#"-A X -m comment --comment "a b \"c\" \\ d" -j ACCEPT"#).unwrap();
        assert_eq!(a, ["-A", "X", "-m", "comment", "--comment", r#"a b "c" \ d"#, "-j", "ACCEPT"]);
        assert_eq!(split_args(r#"--comment """#).unwrap(), ["--comment", ""]);
        assert_eq!(split_args(r#"a\b"#).unwrap(), [r"a\b"]);
        assert_eq!(split_args("\"abc").unwrap_err(), RestoreErrorKind::UnterminatedQuote);
    }

    fn err_of(text: &str) -> String {
        Netfilter::new().restore(text, false).unwrap_err().to_string()
    }

    #[test]
    fn error_catalogue() {
        assert_eq!(
            err_of("*nat\n-A PREROUTING -j NOPE\nCOMMIT\n"),
            "iptables-restore: line 2: Couldn't load target `NOPE':No such file or directory"
        );
        assert_eq!(
            err_of("*nat\n-A PREROUTING -s 1.2.3.999 -j ACCEPT\nCOMMIT\n"),
            "iptables-restore: line 2: host/network `1.2.3.999' not found"
        );
        assert_eq!(
            err_of("*nat\n-A PREROUTING --bogus -j ACCEPT\nCOMMIT\n"),
            "iptables-restore: line 2: unknown option \"--bogus\""
        );
        assert_eq!(
            err_of("*nat\n:X - [0:0]\n"),
            "iptables-restore: line 3: COMMIT expected at line 3 (table `nat')"
        );
        assert_eq!(
            err_of("*nat\n-A NOCHAIN -j ACCEPT\nCOMMIT\n"),
            "iptables-restore: line 2: No chain/target/match by that name."
        );
        assert_eq!(
            err_of("*bogus\nCOMMIT\n"),
            "iptables-restore: line 1: can't initialize iptables table `bogus': Table does not exist (do you need to insmod?)"
        );
        assert_eq!(err_of("-A INPUT -j ACCEPT\n"), "iptables-restore: line 1: no table specified");
        assert_eq!(
            err_of("*filter\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -j B\n-A B -j A\nCOMMIT\n"),
            "iptables-restore: line 7: Too many levels of links. (loop: A -> B -> A)"
        );
        assert_eq!(
            err_of("*filter\n-A INPUT -m comment --comment \"x\n"),
            "iptables-restore: line 2: unterminated quote"
        );
        assert_eq!(
            err_of("*filter\n-A INPUT -m set --match-set NOPE src -j DROP\nCOMMIT\n"),
            "iptables-restore: line 2: Set NOPE doesn't exist."
        );
        assert_eq!(
            err_of("*filter\n-A INPUT -j DNAT --to-destination 1.2.3.4\nCOMMIT\n"),
            "iptables-restore: line 2: Invalid argument. Run `dmesg' for more information. (DNAT target only valid in nat table)"
        );
    }

    #[test]
    fn failed_block_changes_nothing_and_noflush_keeps_chains() {
        let mut nf = Netfilter::new();
        nf.restore("*filter\n:KEEP - [0:0]\n-A INPUT -j KEEP\n-A KEEP -j ACCEPT\nCOMMIT\n", false).unwrap();
        let before = nf.save(&Default::default());
        assert!(nf.restore("*filter\n-A INPUT -j NOPE\nCOMMIT\n", true).is_err());
        assert_eq!(nf.save(&Default::default()), before);
        // --noflush: re-declaring KEEP flushes it; INPUT keeps its rule.
        nf.restore("*filter\n:KEEP - [0:0]\n-A KEEP -j DROP\nCOMMIT\n", true).unwrap();
        assert_eq!(
            nf.save(&Default::default()),
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:KEEP - [0:0]\n-A INPUT -j KEEP\n-A KEEP -j DROP\nCOMMIT\n"
        );
    }

    /// What the real iptables-restore (nft and legacy, v1.8.9) did with a dump in iptables
    /// 1.4's loose form: counters in front of rules and on chains, trailing spaces, a `#-A`
    /// line, `\'` in a comment. Without `-c` every counter is zero; with it they are kept.
    #[test]
    fn counters_reset_without_c_and_loose_forms_load() {
        let text = "*nat\n:PREROUTING ACCEPT [1234:5678]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [5:6]\n:POSTROUTING ACCEPT [0:0]\n[10:20] -A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:80 \n#-A PREROUTING -j ACCEPT\n-A OUTPUT -m comment --comment \"it\\'s fine\" -j RETURN \nCOMMIT\n";
        let mut nf = Netfilter::new();
        nf.restore_with(text, RestoreOptions::default()).unwrap();
        let c = crate::netfilter::SaveOptions { counters: true, timestamp: None };
        assert_eq!(
            nf.save(&c),
            "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n[0:0] -A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:80\n[0:0] -A OUTPUT -m comment --comment \"it\\'s fine\" -j RETURN\nCOMMIT\n"
        );
        let mut kept = Netfilter::new();
        kept.restore_with(text, RestoreOptions { counters: true, ..RestoreOptions::default() }).unwrap();
        assert!(kept.save(&c).contains(":PREROUTING ACCEPT [1234:5678]\n"));
        assert!(kept.save(&c).contains("[10:20] -A PREROUTING"));
    }

    /// `--skip-unknown`: a rule with an unknown match loads, reprints as written, never
    /// matches, and the walk records it; without the flag the dump is refused at its line.
    #[test]
    fn skip_unknown_keeps_the_rule_and_never_matches() {
        let text = "*filter\n-A INPUT -s 10.0.0.0/8 -m foo --bar 1 ! --baz \"a b\" -j DROP\n-A INPUT -m foo -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n";
        let e = Netfilter::new().restore_with(text, RestoreOptions::default()).unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(
            e.kind.to_string(),
            "match `foo' is not simulated by netsim (nor an iptables extension netsim knows of)"
        );
        let mut nf = Netfilter::new();
        nf.restore_with(text, RestoreOptions { skip_unknown: true, ..RestoreOptions::default() }).unwrap();
        let saved = nf.save(&Default::default());
        assert!(saved.contains("-A INPUT -s 10.0.0.0/8 -m foo --bar 1 ! --baz \"a b\" -j DROP\n"), "{saved}");
        assert!(saved.contains("-A INPUT -p tcp -m foo -m tcp --dport 22 -j ACCEPT\n"), "{saved}");
        let pkt = crate::wire::Packet::tcp(
            "10.1.2.3".parse().unwrap(),
            40000,
            "10.0.0.1".parse().unwrap(),
            22,
            crate::wire::TcpFlags::SYN,
        );
        let req = crate::netfilter::ExploreRequest {
            packet: pkt,
            origin: crate::netfilter::ExploreOrigin::External { in_iface: "eth0".into() },
            local_ips: vec!["10.0.0.1".parse().unwrap()],
            out_iface: None,
            now: sim_core::SimTime::ZERO,
        };
        let paths = nf.explore(&req).paths;
        assert_eq!(paths.len(), 1);
        assert_eq!(paths[0].disposition, crate::netfilter::Disposition::NoRuleApplied);
        let skipped: Vec<&str> = paths[0].assumptions.iter().map(|a| a.ext).collect();
        assert_eq!(skipped, ["unknown", "unknown"]);
    }

    /// `SET --map-set` as the real iptables v1.8.9 printed it (both backends) after
    /// `ipset create M hash:ip skbinfo`.
    #[test]
    fn set_map_set_loads_and_prints_as_iptables_save() {
        let mut nf = Netfilter::new();
        nf.ipset_restore("create M hash:ip\n").unwrap();
        let rules = "*mangle\n-A PREROUTING -j SET --map-set M dst --map-mark\n-A POSTROUTING -j SET --map-set M src,dst --map-mark --map-prio --map-queue\nCOMMIT\n";
        nf.restore(rules, false).unwrap();
        let saved = nf.save(&Default::default());
        assert!(saved.contains("-A PREROUTING -j SET --map-set M dst --map-mark\n"), "{saved}");
        assert!(
            saved.contains("-A POSTROUTING -j SET --map-set M src,dst --map-mark --map-prio --map-queue\n"),
            "{saved}"
        );
    }

    #[test]
    fn ipset_save_dumps_restore() {
        let mut nf = Netfilter::new();
        let dump = "create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536\nadd KUBE-CLUSTER-IP 10.96.0.1,tcp:443\n\ncreate S hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1a2b3c4d\nadd S 10.0.0.0/8\n";
        nf.ipset_restore(dump).unwrap();
        assert!(nf.restore("*filter\n-A INPUT -m set --match-set S src -j DROP\nCOMMIT\n", false).is_ok());
        let (line, _) = Netfilter::new().ipset_restore("create S hash:ip\nadd NOPE 1.2.3.4\n").unwrap_err();
        assert_eq!(line, 2);
    }

    use proptest::prelude::*;

    const CORPUS: &str =
        concat!(include_str!("testdata/kube_dns.rules"), include_str!("testdata/kube_proxy_full.rules"));

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Arbitrary text never panics.
        #[test]
        fn random_text_never_panics(text in "[-*:#!\\[\\]\" a-zA-Z0-9/.,\n]{0,300}") {
            let _ = Netfilter::new().restore(&text, false);
            let _ = Netfilter::new().restore(&text, true);
        }

        /// Real rule files with random byte edits never panic, and whatever restores saves and
        /// restores again to the same text.
        #[test]
        fn mutated_dumps_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<char>()), 1..6)) {
            let mut chars: Vec<char> = CORPUS.chars().collect();
            for (at, op, c) in edits {
                if chars.is_empty() {
                    break;
                }
                let i = at.index(chars.len());
                match op {
                    0 => { chars.remove(i); }
                    1 => chars.insert(i, c),
                    2 => chars[i] = c,
                    _ => { let j = (i + 7).min(chars.len() - 1); chars.swap(i, j); }
                }
            }
            let text: String = chars.into_iter().collect();
            // iptables-nft's order of tables survives a round trip (legacy's turns round).
            let nft = || {
                let mut nf = Netfilter::new();
                nf.set_backend(Backend::Nft);
                nf
            };
            let mut nf = nft();
            if nf.restore(&text, false).is_ok() {
                let saved = nf.save(&Default::default());
                let mut again = nft();
                prop_assert!(again.restore(&saved, false).is_ok(), "saved text does not restore:\n{saved}");
                prop_assert_eq!(again.save(&Default::default()), saved);
            }
            // Every line as an iptables command, too.
            let mut cmd = Netfilter::new();
            for line in text.lines() {
                if let Ok(args) = split_args(line) {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    let _ = cmd.command(&args);
                }
            }
        }
    }
}
