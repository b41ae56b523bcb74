//! Evaluation of one packet against one table at one hook, with the kernel's traversal
//! semantics (`ipt_do_table` in `net/ipv4/netfilter/ip_tables.c`).
//!
//! Rules are tried in order; a rule matches when its base match and every extension match
//! pass, matches being evaluated left to right and stopping at the first failure (so a
//! `-m recent --set` or `-m statistic` after a failing match has no effect). A matching rule's
//! counters are bumped before its target runs. `-j CHAIN` pushes a return point, `-g CHAIN`
//! does not; `RETURN` (or the end of a user chain) pops one, and with an empty stack falls to
//! the built-in chain's policy, whose counters count the packet. ACCEPT ends the table, DROP
//! and REJECT end the hook, DNAT/SNAT/MASQUERADE end the nat table with a binding; MARK, LOG
//! and CT/NOTRACK continue. Loops are refused at load time, so the stack is bounded by the
//! number of chains; a fixed-size stack keeps the hot path free of allocation, and a traversal
//! deeper than [`MAX_DEPTH`] drops the packet with an [`NfStep::DepthExceeded`] step.
//!
//! Trace steps are only built (and rule text only rendered) when a trace is requested.

use super::ipset::IpSets;
use super::recent::RecentLists;
use super::rule::*;
use super::save::rule_line;
use super::spec::Policy;
use super::table::Table;
use super::{Decider, Hook, HookContext, HookVerdict, NatRequest, NfStep, RuleRef};
use crate::wire::{Packet, Transport};

/// The deepest chain nesting a traversal follows.
pub const MAX_DEPTH: usize = 64;

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
    /// `-m set` sets.
    pub ipsets: &'a IpSets,
    /// Set when a NOTRACK / CT --notrack target ran.
    pub notrack: bool,
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
        Transport::Tcp { sport, dport, .. } | Transport::Udp { sport, dport } => Some((*sport, *dport)),
        Transport::Icmp(_) => None,
    }
}

#[inline]
fn l4_matches(p: &L4Ports, pkt: &Packet) -> bool {
    match ports_of(pkt) {
        Some((s, d)) => p.sport.is_none_or(|m| m.matches(s)) && p.dport.is_none_or(|m| m.matches(d)),
        None => false,
    }
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

/// Evaluates the extension matches of a rule in order. `rule_ref` builds the rule's
/// reference for a trace step (called only when tracing).
fn ext_matches(
    matches: &mut [Match],
    pkt: &Packet,
    ctx: &HookContext<'_>,
    decider: &mut dyn Decider,
    env: &mut Env<'_>,
    trace: &mut Option<&mut Vec<NfStep>>,
    rule_ref: &dyn Fn() -> RuleRef,
) -> bool {
    for m in matches.iter_mut() {
        let ok = match m {
            Match::Comment(_) => true,
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
                    let next = if s.nth_count >= every - 1 { 0 } else { s.nth_count + 1 };
                    s.nth_count = next;
                    (next == 0) != s.invert
                }
            },
            Match::Recent(r) => env.recent.check(r, pkt, ctx.now),
            Match::Conntrack(c) => {
                c.state.is_none_or(|(set, inv)| (set.0 & CtStateSet::bit_of(ctx.ct_state) != 0) != inv)
                    && c.status.is_none_or(|(set, inv)| (set.0 & status_bits(ctx) != 0) != inv)
            }
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
        };
        if !ok {
            return false;
        }
    }
    true
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
        // Find the next matching rule in this chain.
        let mut hit = None;
        while pos < nrules {
            let chain_name = &chain.name;
            let r = &mut chain.rules[pos];
            let idx = pos;
            pos += 1;
            if !base_matches(r, pkt, ctx) {
                continue;
            }
            let rule_ref = || RuleRef { table: tname, chain: chain_name.clone(), index: idx + 1 };
            if !r.matches.is_empty() && !ext_matches(&mut r.matches, pkt, ctx, decider, env, trace, &rule_ref)
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
            Some(i) => chain.rules[i].target.clone_light(),
            None => {
                // Fell off the end of the chain.
                if chain.hook.is_some() {
                    chain.counters.add(len);
                    let v = policy_verdict(chain.policy);
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
            LightTarget::Drop => return TableVerdict::Drop,
            LightTarget::Reject(w) => return TableVerdict::Reject(w),
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
            LightTarget::Jump(to) => {
                if depth >= MAX_DEPTH {
                    if let Some(t) = trace.as_deref_mut() {
                        t.push(NfStep::DepthExceeded { table: tname, depth: MAX_DEPTH });
                    }
                    return TableVerdict::Drop;
                }
                stack[depth] = (cur, pos);
                depth += 1;
                cur = to;
                pos = 0;
            }
            LightTarget::Goto(to) => {
                cur = to;
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
    Jump(usize),
    Goto(usize),
    Return,
}

impl Target {
    fn clone_light(&self) -> LightTarget {
        match self {
            Target::None => LightTarget::Continue,
            Target::Accept => LightTarget::Accept,
            Target::Drop => LightTarget::Drop,
            Target::Return => LightTarget::Return,
            Target::Reject(w) => LightTarget::Reject(*w),
            Target::Jump(c) => LightTarget::Jump(c.idx),
            Target::Goto(c) => LightTarget::Goto(c.idx),
            Target::Dnat { addr, port } => LightTarget::Nat(NatRequest::Dnat { addr: *addr, port: *port }),
            Target::Snat { addr, opts } => LightTarget::Nat(NatRequest::Snat {
                addr: *addr,
                ports: opts.ports,
                random_fully: opts.random_fully,
            }),
            Target::Masquerade(o) => {
                LightTarget::Nat(NatRequest::Masquerade { ports: o.ports, random_fully: o.random_fully })
            }
            Target::Mark(m) => LightTarget::Mark(*m),
            Target::Log(_) => LightTarget::Log,
            Target::Notrack | Target::CtNotrack => LightTarget::Notrack,
        }
    }
}
