//! Evaluation of one packet against one table at one hook, with the kernel's traversal
//! semantics (`ipt_do_table` in `net/ipv4/netfilter/ip_tables.c`).
//!
//! Rules are tried in order; a rule matches when its base match and every extension match
//! pass, matches being evaluated left to right and stopping at the first failure (so a
//! `-m recent --set`, `-m statistic` or `-m nfacct` after a failing match has no effect, and
//! an `-m nfacct` before it has counted the packet all the same). A matching rule's
//! counters are bumped before its target runs. `-j CHAIN` pushes a return point, `-g CHAIN`
//! does not; `RETURN` (or the end of a user chain) pops one, and with an empty stack falls to
//! the built-in chain's policy, whose counters count the packet. ACCEPT ends the table, DROP
//! and REJECT end the hook, DNAT/SNAT/MASQUERADE end the nat table with a binding; MARK, LOG
//! and CT/NOTRACK continue. Loops are refused at load time, so the stack is bounded by the
//! number of chains; a fixed-size stack keeps the hot path free of allocation, and a traversal
//! deeper than [`MAX_DEPTH`] drops the packet with an [`NfStep::DepthExceeded`] step.
//!
//! Trace steps are only built (and rule text only rendered) when a trace is requested.
//!
//! What [`HookContext`] cannot say is not guessed: `--ctstate SNAT/DNAT` match from the
//! connection's NAT status when the context carries the conntrack entry (never without it),
//! `--ctstatus ASSURED` is taken to be "has seen a reply" and `CONFIRMED` "not the first
//! packet", `EXPECTED` never holds, and `-m addrtype --limit-iface-in/out` uses the host-wide
//! address type. The conntrack tuple options (`--ctorigdst` ...) read the entry, or for a
//! first packet without one the packet itself; a packet with no connection passes them only
//! when `--ctstate` was given (xt_conntrack's `ct == NULL` rule). `--tcp-option` assumes the
//! options Linux sends: MSS, SACK-permitted, timestamps, NOP and window scale on a SYN,
//! timestamps and NOP on every other segment. The extensions of [`super::ext`] state their
//! own assumptions there.

use super::ext::{ExtState, ExtVerdict};
use super::ipset::IpSets;
use super::recent::RecentLists;
use super::rule::*;
use super::save::rule_line;
use super::spec::Policy;
use super::table::Table;
use super::{Decider, Hook, HookContext, HookVerdict, NatRequest, NfStep, NfacctCounters, RuleRef};
use crate::wire::{Packet, Transport};

/// The deepest chain nesting a traversal follows.
pub const MAX_DEPTH: usize = 64;

#[cfg(test)]
thread_local! {
    /// Tests compare indexed traversal against a plain linear scan.
    static LINEAR_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
fn linear_only() -> bool {
    LINEAR_ONLY.with(|f| f.get())
}

#[cfg(not(test))]
#[inline(always)]
fn linear_only() -> bool {
    false
}

/// The outcome of one table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableVerdict {
    /// Continue with the next table (an ACCEPT rule, a policy ACCEPT, or a non-terminal end).
    Accept,
    /// A NAT target ran: accept and bind.
    Nat(NatRequest),
    /// Drop (a DROP rule or policy, or the depth limit).
    Drop,
    /// Reject.
    Reject(super::RejectWith),
}

/// Mutable state the matches consult besides the packet.
pub struct Env<'a> {
    /// `-m recent` lists.
    pub recent: &'a mut RecentLists,
    /// `-m set` sets (and `-j SET`'s changes).
    pub ipsets: &'a mut IpSets,
    /// `-m nfacct` accounting objects, by name.
    pub nfacct: &'a mut NfacctCounters,
    /// State of the extensions (hashlimit tables, the payload assumption).
    pub ext: &'a mut ExtState,
    /// Set when a NOTRACK / CT --notrack target ran.
    pub notrack: bool,
    /// What decided a DROP or REJECT (set only then: the hot path stays free of it).
    pub decided_by: Option<super::Decision>,
    /// The connection mark as a `CONNMARK` target left it (`None`: unchanged).
    pub ct_mark: Option<u32>,
}

impl Env<'_> {
    /// The connection mark the packet's rules see now.
    fn ct_mark(&self, ctx: &HookContext<'_>) -> u32 {
        self.ct_mark.unwrap_or_else(|| ctx.ext.ct.map_or(0, |(e, _)| e.mark))
    }
}

fn policy_verdict(p: Policy) -> HookVerdict {
    match p {
        Policy::Accept => HookVerdict::Accept,
        Policy::Drop => HookVerdict::Drop,
    }
}

#[inline]
fn ports_of(pkt: &Packet) -> Option<(u16, u16)> {
    match &pkt.transport {
        Transport::Tcp { sport, dport, .. }
        | Transport::Udp { sport, dport }
        | Transport::Sctp { sport, dport, .. } => Some((*sport, *dport)),
        Transport::Icmp(_) => None,
    }
}

#[inline]
fn l4_matches(p: &L4Ports, pkt: &Packet) -> bool {
    match ports_of(pkt) {
        Some((s, d)) => {
            p.sport.is_none_or(|m| m.matches(s))
                && p.dport.is_none_or(|m| m.matches(d))
                && (p.flags.is_none() && p.option.is_none() || tcp_extras(p, pkt))
        }
        None => false,
    }
}

/// `--tcp-flags` and `--tcp-option` (tcp_mt). Out of line: kube-proxy's rules never use them.
#[inline(never)]
fn tcp_extras(p: &L4Ports, pkt: &Packet) -> bool {
    let Transport::Tcp { flags, .. } = &pkt.transport else { return false };
    if let Some(f) = p.flags
        && ((flags.0 & f.mask) == f.cmp) == f.invert
    {
        return false;
    }
    if let Some((o, inv)) = p.option {
        let syn = flags.0 & 0x02 != 0;
        let has = if syn { matches!(o, 1 | 2 | 3 | 4 | 8) } else { matches!(o, 1 | 8) };
        if has == inv {
            return false;
        }
    }
    true
}

/// The conntrack match (conntrack_mt, revision 3).
fn conntrack_matches(c: &ConntrackMatch, pkt: &Packet, ctx: &HookContext<'_>) -> bool {
    use crate::conntrack::{CtStatus, Direction, L4Tuple};
    let entry = ctx.ext.ct;
    if let Some((set, inv)) = c.state {
        let mut bits = CtStateSet::bit_of(ctx.ct_state);
        if let Some((e, _)) = entry {
            if e.status.has(CtStatus::SRC_NAT) {
                bits |= 32;
            }
            if e.status.has(CtStatus::DST_NAT) {
                bits |= 64;
            }
        }
        if (set.0 & bits != 0) == inv {
            return false;
        }
    }
    if let Some((set, inv)) = c.status
        && (set.0 & status_bits(ctx) != 0) == inv
    {
        return false;
    }
    let has_state = c.state.is_some();
    let Some(c) = c.tuple.as_deref() else {
        return true;
    };
    let parts = |t: &crate::conntrack::Tuple| {
        let (sp, dp, proto) = match t.l4 {
            L4Tuple::Tcp { sport, dport } => (sport, dport, 6),
            L4Tuple::Udp { sport, dport } => (sport, dport, 17),
            L4Tuple::Sctp { sport, dport } => (sport, dport, 132),
            L4Tuple::Icmp { id, .. } => (id, 0, 1),
        };
        (t.src, t.dst, sp, dp, proto)
    };
    // (orig, reply, reply direction, seconds left)
    let view = match entry {
        Some((e, dir)) => {
            (parts(&e.orig), parts(&e.reply), dir == Direction::Reply, e.remaining_secs(ctx.now))
        }
        None if ctx.ct_new => {
            let (sp, dp) = ports_of(pkt).unwrap_or((0, 0));
            let o = (pkt.src, pkt.dst, sp, dp, pkt.protocol().number());
            (o, (o.1, o.0, o.3, o.2, o.4), false, 0)
        }
        // xt_conntrack: without a connection only the state test can hold.
        None => return has_state,
    };
    let (orig, repl, reply_dir, left) = view;
    let net = |v: Option<(ipnet::Ipv4Net, bool)>, a: std::net::Ipv4Addr| {
        v.is_none_or(|(n, inv)| super::rule::AddrMatch::of_net(n, inv).matches(a))
    };
    let port = |v: Option<(PortRange, bool)>, p: u16| v.is_none_or(|(r, inv)| r.contains(p) != inv);
    c.proto.is_none_or(|(p, inv)| (orig.4 == p) != inv)
        && net(c.orig_src, orig.0)
        && net(c.orig_dst, orig.1)
        && net(c.repl_src, repl.0)
        && net(c.repl_dst, repl.1)
        && port(c.orig_sport, orig.2)
        && port(c.orig_dport, orig.3)
        && port(c.repl_sport, repl.2)
        && port(c.repl_dport, repl.3)
        && c.expire.is_none_or(|((lo, hi), inv)| (u64::from(lo)..=u64::from(hi)).contains(&left) != inv)
        && c.dir_reply.is_none_or(|r| r == reply_dir)
}

/// The base IPv4 part of a rule (`struct ipt_ip`).
#[inline]
fn base_matches(r: &Rule, pkt: &Packet, ctx: &HookContext<'_>) -> bool {
    if let Some(d) = &r.dst
        && !d.matches(pkt.dst)
    {
        return false;
    }
    if let Some(s) = &r.src
        && !s.matches(pkt.src)
    {
        return false;
    }
    if let Some(p) = &r.proto
        && (pkt.protocol() == p.proto) == p.invert
    {
        return false;
    }
    // `-f`: the packet's fragment offset is not 0. The model's packets are whole (offset 0).
    if r.fragment == Some(false) {
        return false;
    }
    // A protocol the model carries no traffic of: only its inversion matches.
    if let Some((_, inv)) = r.proto_num
        && !inv
    {
        return false;
    }
    if let Some(i) = &r.in_iface
        && !i.matches(ctx.in_iface)
    {
        return false;
    }
    if let Some(o) = &r.out_iface
        && !o.matches(ctx.out_iface)
    {
        return false;
    }
    true
}

fn status_bits(ctx: &HookContext<'_>) -> u8 {
    // CtStatusSet bits: NONE(1) EXPECTED(2) SEEN_REPLY(4) ASSURED(8) CONFIRMED(16). The model
    // treats a connection that has seen a reply as assured, and any non-first packet as
    // confirmed; expectations are not modelled.
    let mut b = 0;
    if ctx.ct_seen_reply {
        b |= 4 | 8;
    }
    if !ctx.ct_new {
        b |= 16;
    }
    if b == 0 { 1 } else { b }
}

/// Counts a packet into the nfacct objects of the `-m nfacct` matches among `reached`
/// (an object is created on its first packet). Out of line: it is off the hot path.
#[inline(never)]
fn count_nfacct(objects: &mut NfacctCounters, reached: &[Match], len: u64) {
    for m in reached {
        let Match::Nfacct(name) = m else { continue };
        // Look up before inserting so that counting does not clone the name.
        match objects.get_mut(name) {
            Some(c) => c.add(len),
            None => {
                let mut c = Counters::default();
                c.add(len);
                objects.insert(name.clone(), c);
            }
        }
    }
}

/// Evaluates the extension matches of a rule in order. `rule_ref` builds the rule's
/// reference for a trace step (called only when tracing).
#[allow(clippy::too_many_arguments)]
fn ext_matches(
    matches: &mut [Match],
    hook: Hook,
    pkt: &Packet,
    ctx: &HookContext<'_>,
    decider: &mut dyn Decider,
    env: &mut Env<'_>,
    trace: &mut Option<&mut Vec<NfStep>>,
    rule_ref: &dyn Fn() -> RuleRef,
) -> bool {
    // `-m nfacct` only notes that it was reached; the counting runs after the loop, on every
    // nfacct match before the first failing one (what the kernel counted on its way). Counting
    // inside the loop made the compiler keep the map in the scan of every rule's matches,
    // ~10% more instructions per rule on chains that never use nfacct.
    let mut nfacct_reached = false;
    let mut reached = matches.len();
    for (i, m) in matches.iter_mut().enumerate() {
        let ok = match m {
            Match::Comment(_) => true,
            // xt_nfacct: `nfnl_acct_update(skb, info->nfacct)` and always true.
            Match::Nfacct(_) => {
                nfacct_reached = true;
                true
            }
            Match::Tcp(p) | Match::Udp(p) => l4_matches(p, pkt),
            Match::Mark(mm) => ((pkt.mark & mm.mask) == mm.value) != mm.invert,
            Match::AddrType(at) => {
                at.src.is_none_or(|c| c.types.contains((ctx.addr_type)(pkt.src)) != c.invert)
                    && at.dst.is_none_or(|c| c.types.contains((ctx.addr_type)(pkt.dst)) != c.invert)
            }
            Match::Statistic(s) => match s.mode {
                StatisticMode::Random { p_u32 } => {
                    let hit = decider.statistic(p_u32);
                    if let Some(t) = trace.as_deref_mut() {
                        t.push(NfStep::Statistic { rule: rule_ref(), p_u32, matched: hit });
                    }
                    hit != s.invert
                }
                StatisticMode::Nth { every, .. } => {
                    // xt_statistic: count cycles 0..every-1; the packet that wraps it to 0 hits.
                    let next = if s.nth_count >= every.saturating_sub(1) { 0 } else { s.nth_count + 1 };
                    s.nth_count = next;
                    (next == 0) != s.invert
                }
            },
            Match::Recent(r) => env.recent.check(r, pkt, ctx.now),
            Match::Conntrack(c) => conntrack_matches(c, pkt, ctx),
            Match::State(set, inv) => (set.0 & CtStateSet::bit_of(ctx.ct_state) != 0) != *inv,
            Match::Multiport(mp) => match ports_of(pkt) {
                Some((s, d)) => {
                    let hit = mp.ports.iter().any(|r| match mp.dir {
                        MultiportDir::Source => r.contains(s),
                        MultiportDir::Dest => r.contains(d),
                        MultiportDir::Either => r.contains(s) || r.contains(d),
                    });
                    hit != mp.invert
                }
                None => false,
            },
            Match::Set(s) => env.ipsets.test(&s.name, &s.dirs, pkt) != s.invert,
            Match::Icmp(im) => match &pkt.transport {
                Transport::Icmp(m) => {
                    let hit = im.icmp_type == 255
                        || (m.icmp_type() == im.icmp_type && (im.codes.0..=im.codes.1).contains(&m.code()));
                    hit != im.invert
                }
                _ => false,
            },
            Match::Unknown(_) => {
                if let Some(t) = trace.as_deref_mut() {
                    t.push(NfStep::Assumed {
                        rule: rule_ref(),
                        ext: "unknown",
                        what: "a match netsim does not simulate: taken as not matching (--skip-unknown)",
                    });
                }
                false
            }
            Match::Ext(e) => {
                let ct_mark = env.ct_mark(ctx);
                let mut note = |ext: &'static str, what: &'static str| {
                    if let Some(t) = trace.as_deref_mut() {
                        t.push(NfStep::Assumed { rule: rule_ref(), ext, what });
                    }
                };
                e.matches(pkt, hook, ctx, env.ext, ct_mark, &mut note)
            }
        };
        if !ok {
            reached = i;
            break;
        }
    }
    if nfacct_reached {
        count_nfacct(env.nfacct, &matches[..reached], pkt.len());
    }
    reached == matches.len()
}

/// Runs the built-in chain of `hook` in `table` on `pkt`.
#[allow(clippy::too_many_arguments)]
pub fn run_table(
    table: &mut Table,
    hook: Hook,
    pkt: &mut Packet,
    ctx: &HookContext<'_>,
    decider: &mut dyn Decider,
    env: &mut Env<'_>,
    trace: &mut Option<&mut Vec<NfStep>>,
) -> TableVerdict {
    table.ensure_resolved();
    let Some(start) = table.hook_index(hook) else {
        return TableVerdict::Accept;
    };
    let tname = table.name;
    let len = pkt.len();
    let mut stack = [(0usize, 0usize); MAX_DEPTH];
    let mut depth = 0usize;
    let mut cur = start;
    let mut pos = 0usize;
    loop {
        let Some(chain) = table.chain_at_mut(cur) else {
            return TableVerdict::Drop;
        };
        let nrules = chain.rules.len();
        if !chain.index.is_valid() {
            chain.index.rebuild(&chain.rules);
        }
        let indexed = chain.index.uses_dst() && !linear_only();
        let prefilter = !linear_only();
        let dst = u32::from(pkt.dst);
        let src = u32::from(pkt.src);
        let proto = pkt.protocol().number();
        let ports = ports_of(pkt).unwrap_or((0, 0));
        // Find the next matching rule in this chain.
        let mut hit = None;
        let (mut ca, mut cb) = if indexed { chain.index.cursors(dst, pos) } else { (0, 0) };
        while pos < nrules {
            if indexed {
                // Skip rules whose `-d x/32` cannot match (see DstIndex).
                let c = ca.min(cb);
                if c >= nrules {
                    break;
                }
                if c == ca {
                    ca = chain.index.advance(c);
                } else {
                    cb = chain.index.advance(c);
                }
                pos = c;
            }
            if prefilter && chain.index.fast.get(pos).is_some_and(|f| !f.pass(src, dst, proto, ports)) {
                pos += 1;
                continue;
            }
            let chain_name = &chain.name;
            let r = &mut chain.rules[pos];
            let idx = pos;
            pos += 1;
            if !base_matches(r, pkt, ctx) {
                continue;
            }
            let rule_ref = || RuleRef { table: tname, chain: chain_name.clone(), index: idx + 1 };
            if !r.matches.is_empty()
                && !ext_matches(&mut r.matches, hook, pkt, ctx, decider, env, trace, &rule_ref)
            {
                continue;
            }
            r.counters.add(len);
            if let Some(t) = trace.as_deref_mut() {
                t.push(NfStep::RuleMatched { rule: rule_ref(), text: rule_line(chain_name, r) });
            }
            hit = Some(idx);
            break;
        }
        let target = match hit {
            Some(i) => chain.rules[i].target.clone_light(pkt),
            None => {
                // Fell off the end of the chain.
                if chain.hook.is_some() {
                    chain.counters.add(len);
                    let v = policy_verdict(chain.policy);
                    if v != HookVerdict::Accept {
                        env.decided_by =
                            Some(super::Decision::Policy { table: tname, chain: chain.name.clone() });
                    }
                    if let Some(t) = trace.as_deref_mut() {
                        t.push(NfStep::ChainEnd { table: tname, chain: chain.name.clone(), policy: Some(v) });
                    }
                    return verdict_of(v);
                }
                if let Some(t) = trace.as_deref_mut() {
                    t.push(NfStep::ChainEnd { table: tname, chain: chain.name.clone(), policy: None });
                }
                LightTarget::Return
            }
        };
        match target {
            LightTarget::Continue => {}
            LightTarget::Accept => return TableVerdict::Accept,
            LightTarget::Drop | LightTarget::Reject(_) => {
                let chain = table.chain_at(cur).map(|c| c.name.clone()).unwrap_or_default();
                let index = hit.map_or(0, |i| i + 1);
                env.decided_by = Some(super::Decision::Rule(RuleRef { table: tname, chain, index }));
                return match target {
                    LightTarget::Reject(w) => TableVerdict::Reject(w),
                    _ => TableVerdict::Drop,
                };
            }
            LightTarget::Nat(n) => return TableVerdict::Nat(n),
            LightTarget::Mark(m) => pkt.mark = m.apply(pkt.mark),
            LightTarget::Log => {
                if let (Some(t), Some(i)) = (trace.as_deref_mut(), hit)
                    && let Some(Target::Log(l)) =
                        table.chain_at(cur).and_then(|c| c.rules.get(i)).map(|r| &r.target)
                {
                    let chain = table.chain_at(cur).map(|c| c.name.clone()).unwrap_or_default();
                    t.push(NfStep::Log {
                        rule: RuleRef { table: tname, chain, index: i + 1 },
                        prefix: l.prefix.clone(),
                    });
                }
            }
            LightTarget::Notrack => env.notrack = true,
            LightTarget::Ext => {
                let Some(i) = hit else { continue };
                let chain = table.chain_at(cur).map(|c| c.name.as_str()).unwrap_or_default();
                let Some(Target::Ext(t)) =
                    table.chain_at(cur).and_then(|c| c.rules.get(i)).map(|r| &r.target)
                else {
                    continue;
                };
                let rule_ref = || RuleRef { table: tname, chain: chain.to_string(), index: i + 1 };
                let mut note = |ext: &'static str, what: &'static str| {
                    if let Some(t) = trace.as_deref_mut() {
                        t.push(NfStep::Assumed { rule: rule_ref(), ext, what });
                    }
                };
                match t.apply(hook, pkt, ctx, env.ipsets, &mut env.ct_mark, &mut note) {
                    ExtVerdict::Continue => {}
                    ExtVerdict::Notrack => env.notrack = true,
                    ExtVerdict::Nat(n) => return TableVerdict::Nat(n),
                    ExtVerdict::Drop => {
                        env.decided_by = Some(super::Decision::Rule(RuleRef {
                            table: tname,
                            chain: chain.to_string(),
                            index: i + 1,
                        }));
                        return TableVerdict::Drop;
                    }
                }
            }
            LightTarget::Jump(to) => {
                if depth >= MAX_DEPTH {
                    env.decided_by = Some(super::Decision::DepthExceeded { table: tname });
                    if let Some(t) = trace.as_deref_mut() {
                        t.push(NfStep::DepthExceeded { table: tname, depth: MAX_DEPTH });
                    }
                    return TableVerdict::Drop;
                }
                stack[depth] = (cur, pos);
                depth += 1;
                cur = table.pos_of_id(to);
                pos = 0;
            }
            LightTarget::Goto(to) => {
                cur = table.pos_of_id(to);
                pos = 0;
            }
            LightTarget::Return => {
                if depth == 0 {
                    // RETURN with nothing to return to: the built-in chain's policy.
                    let Some(b) = table.chain_at_mut(start) else {
                        return TableVerdict::Drop;
                    };
                    b.counters.add(len);
                    let v = policy_verdict(b.policy);
                    if v != HookVerdict::Accept {
                        env.decided_by =
                            Some(super::Decision::Policy { table: tname, chain: b.name.clone() });
                    }
                    if let Some(t) = trace.as_deref_mut() {
                        t.push(NfStep::ChainEnd { table: tname, chain: b.name.clone(), policy: Some(v) });
                    }
                    return verdict_of(v);
                }
                depth -= 1;
                (cur, pos) = stack[depth];
            }
        }
    }
}

fn verdict_of(v: HookVerdict) -> TableVerdict {
    match v {
        HookVerdict::Accept => TableVerdict::Accept,
        HookVerdict::Drop => TableVerdict::Drop,
        HookVerdict::Reject(w) => TableVerdict::Reject(w),
    }
}

/// A target reduced to what the traversal needs, copied out of the rule without allocating.
enum LightTarget {
    Continue,
    Accept,
    Drop,
    Reject(super::RejectWith),
    Nat(NatRequest),
    Mark(MarkTarget),
    Log,
    Notrack,
    Ext,
    Jump(usize),
    Goto(usize),
    Return,
}

impl Target {
    fn clone_light(&self, pkt: &Packet) -> LightTarget {
        match self {
            Target::None => LightTarget::Continue,
            Target::Accept => LightTarget::Accept,
            Target::Drop => LightTarget::Drop,
            Target::Return => LightTarget::Return,
            Target::Reject(w) => LightTarget::Reject(*w),
            Target::Jump(c) => LightTarget::Jump(c.idx),
            Target::Goto(c) => LightTarget::Goto(c.idx),
            Target::Dnat(d) => {
                let (addr, port) = d.resolve(pkt.src, pkt.dst, pkt.transport.ports().map(|(_, p)| p));
                LightTarget::Nat(NatRequest::Dnat { addr, port })
            }
            Target::Snat { addrs, opts } => LightTarget::Nat(NatRequest::Snat {
                addr: addrs.pick(pkt.src, pkt.dst, opts.persistent),
                ports: opts.ports,
                // `--random` and `--random-fully` both set `NF_NAT_RANGE_PROTO_RANDOM_ALL`,
                // and current kernels choose the port the same way for either.
                random_fully: opts.random || opts.random_fully,
            }),
            Target::Masquerade(o) => LightTarget::Nat(NatRequest::Masquerade {
                ports: o.ports,
                random_fully: o.random || o.random_fully,
            }),
            Target::Mark(m) => LightTarget::Mark(*m),
            Target::Log(_) => LightTarget::Log,
            Target::Notrack | Target::CtNotrack => LightTarget::Notrack,
            Target::Ext(_) => LightTarget::Ext,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use sim_core::{SimDuration, SimRng, SimTime};

    use super::super::SaveOptions;
    use crate::netfilter::*;
    use crate::wire::{Packet, TcpFlags};

    /// Answers random matches from a script (then "no match").
    struct Script(Vec<bool>);
    impl Decider for Script {
        fn statistic(&mut self, _p: u32) -> bool {
            if self.0.is_empty() { false } else { self.0.remove(0) }
        }
    }

    const NODE: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);

    fn addr_type(a: Ipv4Addr) -> AddrType {
        if a == NODE || a.is_loopback() { AddrType::Local } else { AddrType::Unicast }
    }

    fn ctx<'a>(
        in_iface: Option<&'a str>,
        out_iface: Option<&'a str>,
        ct_new: bool,
        now: SimTime,
    ) -> HookContext<'a> {
        HookContext {
            now,
            in_iface,
            out_iface,
            ct_state: if ct_new { CtState::New } else { CtState::Established },
            ct_new,
            ct_seen_reply: !ct_new,
            addr_type: &addr_type,
            ext: Default::default(),
        }
    }

    fn nf(text: &str) -> Netfilter {
        let mut n = Netfilter::new();
        n.restore(text, false).unwrap_or_else(|e| panic!("{e}"));
        n
    }

    fn tcp(src: [u8; 4], dst: [u8; 4], dport: u16) -> Packet {
        Packet::tcp(Ipv4Addr::from(src), 40000, Ipv4Addr::from(dst), dport, TcpFlags::SYN)
    }

    #[test]
    fn fragments_and_masks_that_are_no_prefix() {
        // The model's packets are never fragments: `-f` matches none, `! -f` all.
        let mut n = nf(
            "*filter\n:INPUT DROP [0:0]\n-A INPUT -f -j ACCEPT\n-A INPUT -s 10.0.3.0/255.0.255.0 ! -f -j ACCEPT\nCOMMIT\n",
        );
        let mut verdict = |src: [u8; 4]| {
            let mut p = tcp(src, [192, 168, 1, 10], 80);
            n.run_hook(
                Hook::Input,
                &mut p,
                &ctx(Some("eth0"), None, true, SimTime::ZERO),
                &mut Script(vec![]),
                None,
            )
            .verdict
        };
        assert_eq!(verdict([10, 200, 3, 7]), HookVerdict::Accept);
        assert_eq!(verdict([10, 200, 4, 7]), HookVerdict::Drop);
        assert_eq!(verdict([11, 0, 3, 7]), HookVerdict::Drop);
    }

    #[test]
    fn security_runs_after_filter_once_loaded() {
        let tables_seen = |n: &mut Netfilter, p: &mut Packet| {
            let mut trace = Vec::new();
            let r = n.run_hook(
                Hook::Input,
                p,
                &ctx(Some("eth0"), None, true, SimTime::ZERO),
                &mut Script(vec![]),
                Some(&mut trace),
            );
            let ends: Vec<String> = trace
                .iter()
                .filter_map(|s| match s {
                    NfStep::ChainEnd { table, chain, .. } => Some(format!("{}/{chain}", table.name())),
                    NfStep::RuleMatched { text, .. } => Some(text.clone()),
                    _ => None,
                })
                .collect();
            (r.verdict, ends)
        };
        let mut n = nf("*filter\n-A INPUT -p tcp -j ACCEPT\nCOMMIT\n");
        let mut p = tcp([10, 0, 0, 1], [192, 168, 1, 10], 22);
        // Not loaded: no security table at the hook.
        assert_eq!(
            tables_seen(&mut n, &mut p),
            (
                HookVerdict::Accept,
                vec!["mangle/INPUT".into(), "-A INPUT -p tcp -j ACCEPT".into(), "nat/INPUT".into()]
            )
        );
        n.restore("*security\n-A INPUT -p tcp --dport 22 -j DROP\nCOMMIT\n", false).unwrap();
        let mut p = tcp([10, 0, 0, 1], [192, 168, 1, 10], 22);
        assert_eq!(
            tables_seen(&mut n, &mut p),
            (
                HookVerdict::Drop,
                vec![
                    "mangle/INPUT".into(),
                    "-A INPUT -p tcp -j ACCEPT".into(),
                    "-A INPUT -p tcp -m tcp --dport 22 -j DROP".into()
                ]
            )
        );
        let mut p = tcp([10, 0, 0, 1], [192, 168, 1, 10], 80);
        assert_eq!(tables_seen(&mut n, &mut p).1.last().map(String::as_str), Some("nat/INPUT"));
        let saved = n.save(&Default::default());
        assert!(saved.contains("*security\n:INPUT ACCEPT"), "{saved}");
    }

    #[test]
    fn jump_goto_return_and_policy() {
        // INPUT -j A; A -g B; B falls off its end: goto left no return point in A, so the
        // packet resumes in INPUT after the jump (man iptables: -g "will continue in the
        // chain that called the chain with -j").
        let mut n = nf(
            "*filter\n:INPUT DROP [0:0]\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A INPUT -p tcp -j ACCEPT\n-A A -g B\n-A A -j DROP\n-A B -j LOG --log-prefix b\nCOMMIT\n",
        );
        let mut p = tcp([10, 0, 0, 1], [192, 168, 1, 10], 80);
        let mut trace = Vec::new();
        let r = n.run_hook(
            Hook::Input,
            &mut p,
            &ctx(Some("eth0"), None, true, SimTime::ZERO),
            &mut Script(vec![]),
            Some(&mut trace),
        );
        assert_eq!(r.verdict, HookVerdict::Accept);
        let texts: Vec<String> = trace
            .iter()
            .map(|s| match s {
                NfStep::RuleMatched { text, .. } => text.clone(),
                NfStep::ChainEnd { table, chain, policy } => {
                    format!("end {}/{chain} {policy:?}", table.name())
                }
                NfStep::Log { prefix, .. } => format!("log {prefix}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            texts,
            [
                "end mangle/INPUT Some(Accept)",
                "-A INPUT -j A",
                "-A A -g B",
                "-A B -j LOG --log-prefix b",
                "log b",
                "end filter/B None",
                "-A INPUT -p tcp -j ACCEPT",
                "end nat/INPUT Some(Accept)",
            ]
        );
        // Counters: each matched rule counted once with the packet's length (40 bytes).
        let t = n.table(TableName::Filter);
        assert_eq!(t.chain("A").unwrap().rules[0].counters, Counters { packets: 1, bytes: 40 });
        assert_eq!(t.chain("A").unwrap().rules[1].counters, Counters::default());
        // UDP is not accepted: falls to the DROP policy, whose counters count it.
        let mut u = Packet::udp(Ipv4Addr::new(10, 0, 0, 1), 1, NODE, 53);
        let r = n.run_hook(
            Hook::Input,
            &mut u,
            &ctx(Some("eth0"), None, true, SimTime::ZERO),
            &mut Script(vec![]),
            None,
        );
        assert_eq!(r.verdict, HookVerdict::Drop);
        assert_eq!(
            n.table(TableName::Filter).chain("INPUT").unwrap().counters,
            Counters { packets: 1, bytes: 28 }
        );
    }

    #[test]
    fn return_from_builtin_applies_policy() {
        let mut n = nf("*filter\n:INPUT DROP [0:0]\n-A INPUT -j RETURN\n-A INPUT -j ACCEPT\nCOMMIT\n");
        let mut p = tcp([10, 0, 0, 1], [192, 168, 1, 10], 80);
        let r = n.run_hook(
            Hook::Input,
            &mut p,
            &ctx(Some("eth0"), None, true, SimTime::ZERO),
            &mut Script(vec![]),
            None,
        );
        assert_eq!(r.verdict, HookVerdict::Drop);
    }

    #[test]
    fn accept_ends_only_its_table_and_mark_carries_on() {
        // mangle ACCEPT does not stop filter; filter sees mangle's MARK.
        let mut n = nf(
            "*mangle\n-A FORWARD -j MARK --set-xmark 0x8000/0x8000\n-A FORWARD -j ACCEPT\nCOMMIT\n*filter\n-A FORWARD -m mark --mark 0x8000/0x8000 -j REJECT --reject-with icmp-host-prohibited\nCOMMIT\n",
        );
        let mut p = tcp([10, 0, 0, 1], [10, 0, 0, 2], 80);
        let r = n.run_hook(
            Hook::Forward,
            &mut p,
            &ctx(Some("eth0"), Some("eth1"), true, SimTime::ZERO),
            &mut Script(vec![]),
            None,
        );
        assert_eq!(r.verdict, HookVerdict::Reject(RejectWith::IcmpHostProhibited));
        assert_eq!(p.mark, 0x8000);
    }

    #[test]
    fn nat_only_for_new_connections() {
        let mut n = nf(include_str!("testdata/kube_dns.rules"));
        let c = |new| ctx(Some("cni0"), None, new, SimTime::ZERO);
        let mut p = Packet::udp(Ipv4Addr::new(10, 244, 0, 5), 5353, Ipv4Addr::new(10, 96, 0, 10), 53);
        let r = n.run_hook(Hook::Prerouting, &mut p.clone(), &c(false), &mut Script(vec![true]), None);
        assert_eq!(r.nat, None);
        let r = n.run_hook(Hook::Prerouting, &mut p, &c(true), &mut Script(vec![true]), None);
        assert_eq!(r.nat, Some(NatRequest::Dnat { addr: Ipv4Addr::new(10, 244, 0, 8), port: Some(53) }));
        let r = n.run_hook(Hook::Prerouting, &mut p, &c(true), &mut Script(vec![false]), None);
        assert_eq!(r.nat, Some(NatRequest::Dnat { addr: Ipv4Addr::new(10, 244, 0, 9), port: Some(53) }));
        // Source in the pod CIDR: no KUBE-MARK-MASQ; POSTROUTING then RETURNs, no MASQUERADE.
        assert_eq!(p.mark, 0);
        let r = n.run_hook(
            Hook::Postrouting,
            &mut p,
            &ctx(None, Some("cni0"), true, SimTime::ZERO),
            &mut Script(vec![]),
            None,
        );
        assert_eq!(r.nat, None);
        // From outside the pod CIDR: marked, then masqueraded with --random-fully, mark cleared.
        let mut q = Packet::udp(Ipv4Addr::new(192, 168, 1, 99), 5353, Ipv4Addr::new(10, 96, 0, 10), 53);
        n.run_hook(Hook::Prerouting, &mut q, &c(true), &mut Script(vec![true]), None);
        assert_eq!(q.mark, 0x4000);
        let r = n.run_hook(
            Hook::Postrouting,
            &mut q,
            &ctx(None, Some("cni0"), true, SimTime::ZERO),
            &mut Script(vec![]),
            None,
        );
        assert_eq!(r.nat, Some(NatRequest::Masquerade { ports: None, random_fully: true }));
        assert_eq!(q.mark, 0);
    }

    #[test]
    fn seeded_statistic_is_deterministic_and_fair() {
        let mut n = nf(include_str!("testdata/kube_dns.rules"));
        let run = |n: &mut Netfilter, seed| {
            let mut rng = SimRng::new(seed).fork("kube-proxy/node01");
            let mut hits = 0;
            for _ in 0..2000 {
                let mut p = Packet::udp(Ipv4Addr::new(10, 244, 0, 5), 5353, Ipv4Addr::new(10, 96, 0, 10), 53);
                let r = n.run_hook(
                    Hook::Prerouting,
                    &mut p,
                    &ctx(Some("cni0"), None, true, SimTime::ZERO),
                    &mut rng,
                    None,
                );
                if r.nat == Some(NatRequest::Dnat { addr: Ipv4Addr::new(10, 244, 0, 8), port: Some(53) }) {
                    hits += 1;
                }
            }
            hits
        };
        let a = run(&mut n, 7);
        assert_eq!(a, run(&mut n, 7));
        assert!((900..1100).contains(&a), "{a}");
    }

    #[test]
    fn session_affinity_sticks_for_the_timeout() {
        let mut n = nf(include_str!("testdata/kube_proxy_full.rules"));
        let svc = |src: [u8; 4]| tcp(src, [172, 30, 0, 41], 80);
        let t0 = SimTime::ZERO;
        // First connection picks 10.180.0.2 (statistic says no) and records the client.
        let r = n.run_hook(
            Hook::Prerouting,
            &mut svc([10, 1, 1, 1]),
            &ctx(Some("eth0"), None, true, t0),
            &mut Script(vec![false]),
            None,
        );
        assert_eq!(r.nat, Some(NatRequest::Dnat { addr: Ipv4Addr::new(10, 180, 0, 2), port: Some(80) }));
        // Later connections from the same client go there whatever the dice say...
        let t1 = t0 + SimDuration::from_secs(10_000);
        let r = n.run_hook(
            Hook::Prerouting,
            &mut svc([10, 1, 1, 1]),
            &ctx(Some("eth0"), None, true, t1),
            &mut Script(vec![true]),
            None,
        );
        assert_eq!(r.nat, Some(NatRequest::Dnat { addr: Ipv4Addr::new(10, 180, 0, 2), port: Some(80) }));
        // ...until 10800 s after the last one.
        let t2 = t1 + SimDuration::from_secs(10_801);
        let r = n.run_hook(
            Hook::Prerouting,
            &mut svc([10, 1, 1, 1]),
            &ctx(Some("eth0"), None, true, t2),
            &mut Script(vec![true]),
            None,
        );
        assert_eq!(r.nat, Some(NatRequest::Dnat { addr: Ipv4Addr::new(10, 180, 0, 1), port: Some(80) }));
    }

    #[test]
    fn no_endpoints_rejects_in_filter() {
        let mut n = nf(include_str!("testdata/kube_proxy_full.rules"));
        let mut p = tcp([10, 1, 1, 1], [172, 30, 0, 42], 80);
        let r = n.run_hook(
            Hook::Output,
            &mut p,
            &ctx(None, Some("eth0"), true, SimTime::ZERO),
            &mut Script(vec![]),
            None,
        );
        assert_eq!(r.verdict, HookVerdict::Reject(RejectWith::IcmpPortUnreachable));
        // LB source ranges: an allowed source is DNATed, any other is dropped by the firewall.
        let mut ok = tcp([203, 0, 113, 5], [5, 6, 7, 8], 80);
        let r = n.run_hook(
            Hook::Prerouting,
            &mut ok,
            &ctx(Some("eth0"), None, true, SimTime::ZERO),
            &mut Script(vec![]),
            None,
        );
        assert_eq!(r.nat, Some(NatRequest::Dnat { addr: Ipv4Addr::new(10, 180, 0, 8), port: Some(80) }));
        let mut bad = tcp([198, 51, 100, 1], [5, 6, 7, 8], 80);
        let r = n.run_hook(
            Hook::Prerouting,
            &mut bad,
            &ctx(Some("eth0"), None, true, SimTime::ZERO),
            &mut Script(vec![]),
            None,
        );
        assert_eq!(r.nat, None);
        let r = n.run_hook(
            Hook::Forward,
            &mut bad,
            &ctx(Some("eth0"), Some("eth1"), true, SimTime::ZERO),
            &mut Script(vec![]),
            None,
        );
        assert_eq!(r.verdict, HookVerdict::Drop);
    }

    #[test]
    fn nth_mode_counts_like_the_kernel() {
        let mut n = nf("*filter\n-A INPUT -m statistic --mode nth --every 3 --packet 0 -j DROP\nCOMMIT\n");
        let mut verdicts = Vec::new();
        for _ in 0..6 {
            let mut p = tcp([10, 0, 0, 1], [192, 168, 1, 10], 80);
            verdicts.push(
                n.run_hook(
                    Hook::Input,
                    &mut p,
                    &ctx(Some("eth0"), None, true, SimTime::ZERO),
                    &mut Script(vec![]),
                    None,
                )
                .verdict,
            );
        }
        let drops: Vec<usize> =
            verdicts.iter().enumerate().filter(|(_, v)| **v == HookVerdict::Drop).map(|(i, _)| i).collect();
        assert_eq!(drops, [2, 5]);
    }

    #[test]
    fn icmp_type_match() {
        let mut n = nf(
            "*filter\n-A INPUT -p icmp --icmp-type echo-request -j DROP\n-A INPUT -p icmp --icmp-type 3/3 -j REJECT\nCOMMIT\n",
        );
        let c = ctx(Some("eth0"), None, true, SimTime::ZERO);
        let mut ping =
            Packet::icmp(Ipv4Addr::new(10, 0, 0, 1), NODE, crate::wire::Icmp::EchoRequest { id: 1, seq: 1 });
        assert_eq!(
            n.run_hook(Hook::Input, &mut ping, &c, &mut Script(vec![]), None).verdict,
            HookVerdict::Drop
        );
        let mut pong =
            Packet::icmp(Ipv4Addr::new(10, 0, 0, 1), NODE, crate::wire::Icmp::EchoReply { id: 1, seq: 1 });
        assert_eq!(
            n.run_hook(Hook::Input, &mut pong, &c, &mut Script(vec![]), None).verdict,
            HookVerdict::Accept
        );
        let inner = Packet::udp(NODE, 1, Ipv4Addr::new(10, 0, 0, 1), 53);
        let mut unreach = Packet::icmp(
            Ipv4Addr::new(10, 0, 0, 1),
            NODE,
            crate::wire::Icmp::DestUnreachable { code: 3, original: Box::new(inner) },
        );
        assert_eq!(
            n.run_hook(Hook::Input, &mut unreach, &c, &mut Script(vec![]), None).verdict,
            HookVerdict::Reject(RejectWith::IcmpPortUnreachable)
        );
    }

    #[test]
    fn nfacct_counts_only_packets_that_reach_it_and_always_matches() {
        // kube-proxy's two counted rules (sync.rs), plus a counted rule with no target after
        // which the traversal goes on: the match itself never rejects a packet.
        let mut n = nf(
            "*filter\n:KUBE-FORWARD - [0:0]\n-A FORWARD -j KUBE-FORWARD\n-A INPUT -m nfacct --nfacct-name all_in\n-A INPUT -m nfacct --nfacct-name tried -m mark --mark 0x1 -j DROP\n-A INPUT -p tcp -m nfacct --nfacct-name tried -m tcp --dport 1 -j DROP\n-A INPUT -d 127.0.0.0/8 -p tcp -m tcp --dport 30080 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j ACCEPT\n-A INPUT -j DROP\n-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP\nCOMMIT\n",
        );
        let c = ctx(Some("lo"), None, true, SimTime::ZERO);
        let mut local = tcp([127, 0, 0, 1], [127, 0, 0, 1], 30080);
        let len = local.len();
        assert_eq!(
            n.run_hook(Hook::Input, &mut local, &c, &mut Script(vec![]), None).verdict,
            HookVerdict::Accept
        );
        let mut other = tcp([10, 0, 0, 1], [192, 168, 1, 10], 30080);
        assert_eq!(
            n.run_hook(Hook::Input, &mut other, &c, &mut Script(vec![]), None).verdict,
            HookVerdict::Drop
        );
        // A NEW forwarded packet fails `--ctstate INVALID` first, so it is not counted.
        let mut fwd = tcp([10, 0, 0, 1], [10, 0, 0, 2], 80);
        let fc = ctx(Some("eth0"), Some("eth1"), true, SimTime::ZERO);
        assert_eq!(
            n.run_hook(Hook::Forward, &mut fwd, &fc, &mut Script(vec![]), None).verdict,
            HookVerdict::Accept
        );
        let mut bad = tcp([10, 0, 0, 1], [10, 0, 0, 2], 80);
        let bc = HookContext {
            ct_state: CtState::Invalid,
            ct_new: false,
            ..ctx(Some("eth0"), Some("eth1"), false, SimTime::ZERO)
        };
        assert_eq!(
            n.run_hook(Hook::Forward, &mut bad, &bc, &mut Script(vec![]), None).verdict,
            HookVerdict::Drop
        );
        let got: Vec<(String, u64, u64)> =
            n.nfacct_counters().iter().map(|(k, v)| (k.as_str().to_string(), v.packets, v.bytes)).collect();
        assert_eq!(
            got,
            [
                ("all_in".to_string(), 2, 2 * len),
                ("ct_state_invalid_dropped_pkts".to_string(), 1, len),
                ("localhost_nps_accepted_pkts".to_string(), 1, len),
                // Reached before a failing match (twice per packet, the second time before a
                // `--dport` the destination prefilter must not skip it for): counted, though
                // neither rule matched.
                ("tried".to_string(), 4, 4 * len),
            ]
        );
        // The rule with no target counted both packets and let them go on.
        let input = n.table(TableName::Filter).chain("INPUT").unwrap();
        assert_eq!(input.rules[0].counters.packets, 2);
        assert_eq!(input.rules[1].counters.packets, 0);
        assert_eq!(input.rules[2].counters.packets, 0);
        assert_eq!(input.rules[4].counters.packets, 1);
    }

    #[test]
    fn notrack_is_reported() {
        let mut n = nf("*raw\n-A PREROUTING -p udp -m udp --dport 4789 -j NOTRACK\nCOMMIT\n");
        let mut p = Packet::udp(Ipv4Addr::new(10, 0, 0, 1), 1, NODE, 4789);
        let r = n.run_hook(
            Hook::Prerouting,
            &mut p,
            &ctx(Some("eth0"), None, true, SimTime::ZERO),
            &mut Script(vec![]),
            None,
        );
        assert!(r.notrack);
    }

    #[test]
    fn drops_and_rejects_say_what_decided_them_without_a_trace() {
        use crate::netfilter::{Decision, RuleRef};
        let mut n = nf(
            "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 23 -j DROP\n-A INPUT -p tcp -m tcp --dport 25 -j REJECT --reject-with tcp-reset\nCOMMIT\n",
        );
        let mut run = |dport: u16| {
            let mut p = Packet::tcp(Ipv4Addr::new(10, 0, 0, 1), 40000, NODE, dport, TcpFlags::SYN);
            n.run_hook(
                Hook::Input,
                &mut p,
                &ctx(Some("eth0"), None, true, SimTime::ZERO),
                &mut Script(vec![]),
                None,
            )
        };
        let rule =
            |index| Some(Decision::Rule(RuleRef { table: TableName::Filter, chain: "INPUT".into(), index }));
        assert_eq!(run(22).decided_by, None);
        assert_eq!(run(23).decided_by, rule(2));
        let r = run(25);
        assert_eq!(r.verdict, HookVerdict::Reject(RejectWith::TcpReset));
        assert_eq!(r.decided_by, rule(3));
        assert_eq!(
            run(80).decided_by,
            Some(Decision::Policy { table: TableName::Filter, chain: "INPUT".into() })
        );
    }

    #[test]
    fn destination_index_keeps_linear_semantics() {
        // A long chain mixing /32 rules, inverted and wider -d, and rules without -d, with
        // counters and random matches: indexed and linear traversal must agree on every
        // verdict, NAT, trace and counter.
        let mut text = String::from("*nat\n:SVC - [0:0]\n:S - [0:0]\n-A PREROUTING -j SVC\n");
        for i in 0..60u32 {
            let ip = format!("10.96.{}.{}", i / 10, i % 10);
            match i % 6 {
                0 => text.push_str(&format!("-A SVC -d {ip} -p tcp -m tcp --dport 80 -j S\n")),
                1 => text.push_str(&format!("-A SVC ! -d {ip} -p udp -m statistic --mode random --probability 0.5 -j RETURN\n")),
                2 => text.push_str(&format!("-A SVC -d {ip}/31 -p tcp -j MARK --or-mark {i}\n")),
                3 => text.push_str(&format!("-A SVC -d {ip} -m statistic --mode random --probability 0.25 -j DNAT --to-destination 10.244.0.{i}\n")),
                4 => text.push_str("-A SVC -p tcp -m tcp --dport 81 -j MARK --or-mark 0x100\n"),
                _ => text.push_str(&format!("-A SVC -s {ip} -j ACCEPT\n")),
            }
        }
        text.push_str("-A S -j DNAT --to-destination 10.244.9.9\nCOMMIT\n");
        let base = nf(&text);
        let mut rng = SimRng::new(3);
        for round in 0..400u32 {
            let dst = [10, 96, (round % 7) as u8, (round % 11) as u8];
            let src = [10, 96, (round % 6) as u8, (round % 10) as u8];
            let mut p = if round % 2 == 0 {
                tcp(src, dst, 80 + (round % 3) as u16)
            } else {
                Packet::udp(Ipv4Addr::from(src), 1, Ipv4Addr::from(dst), 53)
            };
            let draws: Vec<bool> = (0..8).map(|_| rng.next_u32().is_multiple_of(2)).collect();
            let mut indexed = base.clone();
            let mut linear = base.clone();
            // Force the linear path by making every chain look too short to index.
            let mut t1 = Vec::new();
            let mut t2 = Vec::new();
            let mut p2 = p.clone();
            let c = ctx(Some("eth0"), None, true, SimTime::ZERO);
            let r1 =
                indexed.run_hook(Hook::Prerouting, &mut p, &c, &mut Script(draws.clone()), Some(&mut t1));
            let r2 = run_linear(&mut linear, &mut p2, &c, &mut Script(draws), &mut t2);
            assert_eq!(r1, r2, "round {round}");
            assert_eq!(t1, t2, "round {round}");
            assert_eq!(p, p2);
            assert_eq!(
                indexed.save(&SaveOptions { counters: true, timestamp: None }),
                linear.save(&SaveOptions { counters: true, timestamp: None })
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

        /// Random long chains: prefilters and the destination index never change an outcome.
        #[test]
        fn index_equivalence_on_random_chains(
            rules in proptest::collection::vec((0u8..8, 0u8..4, 0u8..4, 0u8..3, 78u16..83), 32..90),
            packets in proptest::collection::vec((0u8..4, 0u8..4, 78u16..83, proptest::bool::ANY), 1..12),
        ) {
            let mut text = String::from("*nat\n:SVC - [0:0]\n:SUB - [0:0]\n-A PREROUTING -j SVC\n-A SUB -p udp -j RETURN\n-A SUB -j MARK --or-mark 0x2\n");
            for (kind, d, sr, pr, port) in &rules {
                let dst = match d { 0 => " -d 10.0.0.1".to_string(), 1 => " -d 10.0.0.2/32".to_string(), 2 => " ! -d 10.0.0.1".to_string(), _ => " -d 10.0.0.0/30".to_string() };
                let src = match sr { 0 => String::new(), 1 => " -s 10.1.0.1".to_string(), 2 => " ! -s 10.1.0.0/31".to_string(), _ => " -s 10.1.0.2".to_string() };
                let proto = match pr { 0 => String::new(), 1 => format!(" -p tcp -m tcp --dport {port}"), _ => format!(" -p udp -m udp ! --dport {port}") };
                let tail = match kind {
                    0 => " -j SUB".to_string(),
                    1 => " -m statistic --mode random --probability 0.5 -j MARK --or-mark 0x1".to_string(),
                    2 => " -j RETURN".to_string(),
                    3 => format!(" -m recent --set --name L{port}"),
                    4 => format!(" -m recent --rcheck --name L{port} -j MARK --xor-mark 0x4"),
                    5 => " -m comment --comment x -j MARK --or-mark 0x8".to_string(),
                    6 if *pr > 0 => format!(" -j DNAT --to-destination 10.9.9.9:{port}"),
                    _ => String::new(),
                };
                text.push_str(&format!("-A SVC{dst}{src}{proto}{tail}\n"));
            }
            text.push_str("COMMIT\n");
            let base = nf(&text);
            let mut indexed = base.clone();
            let mut linear = base.clone();
            for (d, sr, port, udp) in packets {
                let dst = Ipv4Addr::new(10, 0, 0, d);
                let src = Ipv4Addr::new(10, 1, 0, sr);
                let mut p = if udp { Packet::udp(src, 9, dst, port) } else { Packet::tcp(src, 9, dst, port, TcpFlags::SYN) };
                let mut p2 = p.clone();
                let c = ctx(Some("eth0"), None, true, SimTime::ZERO);
                let (mut t1, mut t2) = (Vec::new(), Vec::new());
                let r1 = indexed.run_hook(Hook::Prerouting, &mut p, &c, &mut Script(vec![true, false, true, true, false]), Some(&mut t1));
                let r2 = run_linear(&mut linear, &mut p2, &c, &mut Script(vec![true, false, true, true, false]), &mut t2);
                proptest::prop_assert_eq!(r1, r2);
                proptest::prop_assert_eq!(t1, t2);
                proptest::prop_assert_eq!(p, p2);
            }
            let opts = SaveOptions { counters: true, timestamp: None };
            proptest::prop_assert_eq!(indexed.save(&opts), linear.save(&opts));
            proptest::prop_assert_eq!(indexed.recent(), linear.recent());
        }
    }

    /// The reference: a plain linear scan (the index disabled) of PREROUTING.
    fn run_linear(
        n: &mut Netfilter,
        p: &mut Packet,
        c: &HookContext<'_>,
        d: &mut dyn Decider,
        t: &mut Vec<NfStep>,
    ) -> HookResult {
        let prev = super::LINEAR_ONLY.with(|f| f.replace(true));
        let r = n.run_hook(Hook::Prerouting, p, c, d, Some(t));
        super::LINEAR_ONLY.with(|f| f.set(prev));
        r
    }
}
