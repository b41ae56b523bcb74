//! Evaluation of one packet through one nftables base chain, with the kernel's semantics
//! (`nft_do_chain` in `net/netfilter/nf_tables_core.c`).
//!
//! A rule's statements run left to right; a failing match (or a lookup miss, or an expression
//! with nothing to load, such as `th dport` of an ICMP packet) ends the rule (`NFT_BREAK`) and
//! the next rule runs. `jump` pushes a return point, `goto` does not; `return` and the end of
//! a regular chain pop one, and with none left the base chain's policy applies. `accept` ends
//! this base chain only (the hook's later base chains and iptables tables still run); `drop`
//! and `reject` end the hook; `dnat`, `snat` and `masquerade` accept with a NAT binding.
//! `counter`, `log`, `notrack`, `meta mark set`, `ct mark set` and `update @set` continue.
//! Jumps nested deeper than [`MAX_DEPTH`] drop the packet (the parser refuses such rulesets as
//! the kernel does; a ruleset built in code is not checked).

use std::net::Ipv4Addr;

use smallvec::SmallVec;
use std::rc::Rc;

use super::expr::*;
use super::list::rule_text;
use super::ruleset::*;
use super::{NftDecision, NftRuleRef, NftStep};
use crate::netfilter::{AddrType, CtState, Decider, HookContext, NatRequest, NfStep, RejectWith};
use crate::wire::{Packet, Transport};

/// The deepest jump nesting followed (the kernel's `NFT_JUMP_STACK_SIZE`).
pub const MAX_DEPTH: usize = 16;

/// What one base chain decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainVerdict {
    /// Accepted (a rule or the policy): the hook goes on.
    Accept,
    /// Dropped.
    Drop,
    /// Rejected with this answer.
    Reject(RejectWith),
    /// A NAT statement ran: accept and bind.
    Nat(NatRequest),
}

/// What the hook's evaluation carries from chain to chain.
#[derive(Clone, Debug, Default)]
pub struct NftEnv {
    /// A `notrack` ran.
    pub notrack: bool,
    /// What decided a drop or reject.
    pub decided_by: Option<NftDecision>,
    /// The connection mark as `ct mark set` left it.
    pub ct_mark: Option<u32>,
    /// An earlier chain at this hook asked for DNAT (so `ct status dnat` holds).
    pub dnat_done: bool,
    /// The packet's addresses before any NAT at this hook (`ct original ip daddr` of a
    /// connection without an entry yet).
    pub orig: Option<(Ipv4Addr, Ipv4Addr)>,
}

/// Runs base chain `ci` of table `ti` on `pkt`.
#[allow(clippy::too_many_arguments)]
pub fn run_base_chain(
    rs: &mut Ruleset,
    ti: usize,
    ci: usize,
    pkt: &mut Packet,
    ctx: &HookContext<'_>,
    decider: &mut dyn Decider,
    env: &mut NftEnv,
    trace: &mut Option<&mut Vec<NfStep>>,
) -> ChainVerdict {
    let Some(table) = rs.tables.get_mut(ti) else { return ChainVerdict::Accept };
    let Table { family, name: tname, sets, chains, .. } = table;
    let family = *family;
    let len = pkt.len();
    // Jumps nest at most MAX_DEPTH deep: the stack never leaves the stack frame.
    let mut stack: SmallVec<[(usize, usize); MAX_DEPTH]> = SmallVec::new();
    let (mut cur, mut pos) = (ci, 0usize);
    let rule_ref = |chain: &Chain, idx: usize| NftRuleRef {
        family,
        table: tname.clone(),
        chain: chain.name.clone(),
        index: idx + 1,
        handle: chain.rules.get(idx).map_or(0, |r| r.handle),
    };
    loop {
        let Some(chain) = chains.get_index_mut(cur).map(|(_, c)| Rc::make_mut(c)) else {
            return ChainVerdict::Drop;
        };
        if pos >= chain.rules.len() {
            if let Some(t) = trace.as_deref_mut() {
                let policy = if stack.is_empty() { chain.base.map(|b| b.policy) } else { None };
                t.push(NfStep::Nft(NftStep::ChainEnd {
                    family,
                    table: tname.clone(),
                    chain: chain.name.clone(),
                    policy: policy.map(|p| p == Policy::Accept),
                }));
            }
            match stack.pop() {
                Some((c, p)) => {
                    (cur, pos) = (c, p);
                    continue;
                }
                None => return policy_of(chains, ci, family, tname, env),
            }
        }
        let idx = pos;
        pos += 1;
        let rule = &mut chain.rules[idx];
        // Steps the rule's own expressions record (a numgen draw) follow the rule's line.
        let mark = trace.as_deref().map_or(0, |t| t.len());
        let out = eval_rule(rule, sets, pkt, len, ctx, decider, env, trace);
        let (v, element) = match out {
            Outcome::NoMatch => continue,
            Outcome::Done(v, element) => {
                if let Some(t) = trace.as_deref_mut() {
                    let r = rule_ref(chain, idx);
                    let text = rule_text(&chain.rules[idx]);
                    t.insert(mark.min(t.len()), NfStep::Nft(NftStep::RuleMatched { rule: r.clone(), text }));
                    if let Some((map, key, elem)) = &element {
                        t.push(NfStep::Nft(NftStep::MapElement {
                            rule: r,
                            map: map.clone(),
                            key: key.clone(),
                            element: elem.clone(),
                        }));
                    }
                }
                (v, element.and_then(|(_, _, e)| e))
            }
        };
        let verdict = match v {
            Act::Continue => continue,
            Act::Verdict(v) => v,
            Act::Reject(w) => {
                env.decided_by = Some(NftDecision::Rule { rule: rule_ref(chain, idx), element });
                return ChainVerdict::Reject(w);
            }
            Act::Nat(n) => return ChainVerdict::Nat(n),
        };
        // A verdict of the rule's own statement is read back from the chain (no copy of the
        // target's name on the packet path); a verdict map's is the element's.
        let chains_ro: &Chains = chains;
        let verdict = match verdict {
            VerdictAt::Stmt(si) => {
                match chains_ro.get_index(cur).and_then(|(_, c)| c.rules[idx].stmts.get(si)) {
                    Some(Stmt::Verdict(v)) => v,
                    _ => return ChainVerdict::Drop,
                }
            }
            VerdictAt::AnonElement { stmt, at } => {
                match chains_ro.get_index(cur).and_then(|(_, c)| c.rules[idx].stmts.get(stmt)) {
                    Some(Stmt::Vmap { map: SetRef::Anon(set), .. }) => match set.elements.at(at) {
                        Some(Element { data: Some(MapData::Verdict(v)), .. }) => v,
                        _ => return ChainVerdict::Drop,
                    },
                    _ => return ChainVerdict::Drop,
                }
            }
            VerdictAt::Element(v) => v,
        };
        match verdict {
            Verdict::Accept => return ChainVerdict::Accept,
            Verdict::Drop => {
                let Some((_, chain)) = chains_ro.get_index(cur) else { return ChainVerdict::Drop };
                env.decided_by = Some(NftDecision::Rule { rule: rule_ref(chain, idx), element });
                return ChainVerdict::Drop;
            }
            Verdict::Continue => {}
            Verdict::Return => match stack.pop() {
                Some((c, p)) => (cur, pos) = (c, p),
                None => return policy_of(chains_ro, ci, family, tname, env),
            },
            Verdict::Jump(to) => {
                let Some(next) = chains_ro.get_index_of(to.as_str()) else { return ChainVerdict::Drop };
                if stack.len() >= MAX_DEPTH {
                    env.decided_by = Some(NftDecision::DepthExceeded { family, table: tname.clone() });
                    return ChainVerdict::Drop;
                }
                stack.push((cur, pos));
                (cur, pos) = (next, 0);
            }
            Verdict::Goto(to) => {
                let Some(next) = chains_ro.get_index_of(to.as_str()) else { return ChainVerdict::Drop };
                (cur, pos) = (next, 0);
            }
        }
    }
}

fn policy_of(chains: &Chains, ci: usize, family: Family, table: &str, env: &mut NftEnv) -> ChainVerdict {
    let Some((_, base)) = chains.get_index(ci) else { return ChainVerdict::Drop };
    match base.base.map_or(Policy::Accept, |b| b.policy) {
        Policy::Accept => ChainVerdict::Accept,
        Policy::Drop => {
            env.decided_by =
                Some(NftDecision::Policy { family, table: table.to_string(), chain: base.name.clone() });
            ChainVerdict::Drop
        }
    }
}

/// Where a rule's verdict is: in one of its statements (by index) or in a map element.
enum VerdictAt<'s> {
    Stmt(usize),
    /// An element of the anonymous verdict map of statement `stmt`.
    AnonElement {
        stmt: usize,
        at: ElementAt,
    },
    Element(&'s Verdict),
}

enum Act<'s> {
    Continue,
    Verdict(VerdictAt<'s>),
    Reject(RejectWith),
    Nat(NatRequest),
}

/// (map name or `{...}`, key text, element text) of a verdict-map hit.
type MapHit = (String, String, Option<String>);

enum Outcome<'s> {
    NoMatch,
    Done(Act<'s>, Option<MapHit>),
}

#[allow(clippy::too_many_arguments)]
fn eval_rule<'s>(
    rule: &mut Rule,
    sets: &'s mut Sets,
    pkt: &mut Packet,
    len: u64,
    ctx: &HookContext<'_>,
    decider: &mut dyn Decider,
    env: &mut NftEnv,
    trace: &mut Option<&mut Vec<NfStep>>,
) -> Outcome<'s> {
    for (si, s) in rule.stmts.iter_mut().enumerate() {
        match s {
            Stmt::Match { left, op, right } => {
                let Some(key) = eval(left, pkt, ctx, env, decider, trace) else { return Outcome::NoMatch };
                // Under a mask (`tcp flags & (syn | ack) != syn`) flags compare exactly; alone
                // (`ct state != established`) they are a bit test, as nft compiles them.
                let exact = matches!(left, Expr::Binop { .. });
                if !compare(&key, *op, right, sets, ctx, exact) {
                    return Outcome::NoMatch;
                }
            }
            Stmt::Counter { packets, bytes } => {
                *packets = packets.saturating_add(1);
                *bytes = bytes.saturating_add(len);
            }
            Stmt::Verdict(_) => return Outcome::Done(Act::Verdict(VerdictAt::Stmt(si)), None),
            Stmt::Vmap { key, map } => {
                let Some(k) = eval(key, pkt, ctx, env, decider, trace) else { return Outcome::NoMatch };
                let name = || match &*map {
                    SetRef::Named(n) => format!("@{n}"),
                    SetRef::Anon(_) => "{ ... }".to_string(),
                };
                // The texts are for a trace or a drop's decision only: the hot path skips them.
                let hit_text = |e: &Element, v: &Verdict| {
                    (trace.is_some() || *v == Verdict::Drop).then(|| {
                        let key_text = k.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" . ");
                        (name(), key_text, Some(super::list::element_text(e)))
                    })
                };
                match &*map {
                    SetRef::Named(n) => {
                        let Some(e) = sets.get(n.as_str()).and_then(|s| s.elements.lookup(&k, ctx.now))
                        else {
                            return Outcome::NoMatch;
                        };
                        let Some(MapData::Verdict(v)) = &e.data else { return Outcome::NoMatch };
                        let hit = hit_text(e, v);
                        return Outcome::Done(Act::Verdict(VerdictAt::Element(v)), hit);
                    }
                    SetRef::Anon(set) => {
                        let Some(at) = set.elements.lookup_at(&k, ctx.now) else { return Outcome::NoMatch };
                        let Some(e) = set.elements.at(at) else { return Outcome::NoMatch };
                        let Some(MapData::Verdict(v)) = &e.data else { return Outcome::NoMatch };
                        let hit = hit_text(e, v);
                        return Outcome::Done(Act::Verdict(VerdictAt::AnonElement { stmt: si, at }), hit);
                    }
                }
            }
            Stmt::Log { prefix } => {
                if let Some(t) = trace.as_deref_mut() {
                    t.push(NfStep::Nft(NftStep::Log { prefix: prefix.clone().unwrap_or_default() }));
                }
            }
            Stmt::Notrack => env.notrack = true,
            // One comparison of the fields' bytes together, as the kernel makes it.
            Stmt::Merged { fields, ne } => {
                let mut all_equal = true;
                for (p, want) in fields.iter() {
                    let Some(key) = eval(&Expr::Payload(*p), pkt, ctx, env, decider, trace) else {
                        return Outcome::NoMatch;
                    };
                    all_equal &= key.first() == Some(want);
                }
                if all_equal == *ne {
                    return Outcome::NoMatch;
                }
            }
            Stmt::Limit(l) => {
                if !l.matches(ctx.now, len) {
                    return Outcome::NoMatch;
                }
            }
            // `reject with tcp reset` carries nft's implied `meta l4proto tcp`, and `with
            // icmpv6` (in an inet table) its implied `meta nfproto ipv6`: the model's packets
            // are IPv4.
            Stmt::Reject(Reject::TcpReset) if pkt.protocol() != crate::wire::Protocol::Tcp => {
                return Outcome::NoMatch;
            }
            Stmt::Reject(Reject::Icmpv6(_)) => return Outcome::NoMatch,
            Stmt::Reject(r) => {
                let w = match *r {
                    Reject::TcpReset => RejectWith::TcpReset,
                    Reject::Default => RejectWith::IcmpPortUnreachable,
                    // nft_reject_icmp_code: icmpx's codes in ICMP.
                    Reject::Icmpx(0) => RejectWith::IcmpNetUnreachable,
                    Reject::Icmpx(2) => RejectWith::IcmpHostUnreachable,
                    Reject::Icmpx(_) => RejectWith::IcmpAdminProhibited,
                    Reject::Icmp(c) | Reject::Icmpv6(c) => RejectWith::icmp_code(c),
                };
                return Outcome::Done(Act::Reject(w), None);
            }
            Stmt::Nat { kind, addr, ports, flags, .. } => {
                // `dnat ip6 to` in an inet table does nothing to an IPv4 packet
                // (`nft_nat_inet_eval` runs only a NAT of the packet's family).
                let std::net::IpAddr::V4(addr) = *addr else { continue };
                let n = match kind {
                    NatKind::Dnat => NatRequest::Dnat { addr, port: ports.map(|p| p.0) },
                    // `random` picks the port at random as `fully-random` does.
                    NatKind::Snat => NatRequest::Snat {
                        addr,
                        ports: *ports,
                        random_fully: flags.fully_random || flags.random,
                    },
                };
                return Outcome::Done(Act::Nat(n), None);
            }
            Stmt::Masquerade { ports, flags } => {
                let n = NatRequest::Masquerade {
                    ports: *ports,
                    random_fully: flags.fully_random || flags.random,
                };
                return Outcome::Done(Act::Nat(n), None);
            }
            Stmt::MetaMarkSet(e) => {
                let Some(v) = eval(e, pkt, ctx, env, decider, trace) else { return Outcome::NoMatch };
                pkt.mark = v.first().map_or(0, |v| v.bits() as u32);
            }
            Stmt::CtMarkSet(e) => {
                let Some(v) = eval(e, pkt, ctx, env, decider, trace) else { return Outcome::NoMatch };
                env.ct_mark = Some(v.first().map_or(0, |v| v.bits() as u32));
            }
            Stmt::SetUpdate { op, set, key, timeout_ms } => {
                let Some(k) = eval(key, pkt, ctx, env, decider, trace) else { return Outcome::NoMatch };
                let Some(s) = sets.get_mut(set.as_str()).map(Rc::make_mut) else { return Outcome::NoMatch };
                let exists = s.elements.lookup(&k, ctx.now).is_some();
                if *op == SetOp::Update || !exists {
                    let t = timeout_ms.or(s.timeout_ms);
                    let mut e = Element::new(k.into_vec(), None);
                    e.expires = t.map(|ms| ctx.now.saturating_add(sim_core::SimDuration::from_millis(ms)));
                    s.elements.expire(ctx.now);
                    s.elements.insert(e);
                }
            }
        }
    }
    Outcome::Done(Act::Continue, None)
}

fn ports(pkt: &Packet) -> Option<(u16, u16)> {
    pkt.transport.ports()
}

fn fib_type(t: AddrType) -> u8 {
    match t {
        AddrType::Unicast => 1,
        AddrType::Local => 2,
        AddrType::Broadcast => 3,
        AddrType::Multicast => 5,
        AddrType::Unreachable => 7,
    }
}

/// A key loaded from a packet: kube-proxy's longest is three fields (`ip daddr . meta l4proto
/// . th dport`), kept off the heap.
type Key = SmallVec<[Value; 3]>;

/// The value(s) of an expression for this packet; `None` where the kernel has nothing to load.
fn eval(
    e: &Expr,
    pkt: &Packet,
    ctx: &HookContext<'_>,
    env: &NftEnv,
    decider: &mut dyn Decider,
    trace: &mut Option<&mut Vec<NfStep>>,
) -> Option<Key> {
    match e {
        Expr::Concat(parts) => {
            let mut out = Key::new();
            for p in parts {
                out.push(one(p, pkt, ctx, env, decider, trace)?);
            }
            Some(out)
        }
        other => Some(smallvec::smallvec![one(other, pkt, ctx, env, decider, trace)?]),
    }
}

fn one(
    e: &Expr,
    pkt: &Packet,
    ctx: &HookContext<'_>,
    env: &NftEnv,
    decider: &mut dyn Decider,
    trace: &mut Option<&mut Vec<NfStep>>,
) -> Option<Value> {
    let entry = ctx.ext.ct.map(|(e, _)| e);
    Some(match e {
        Expr::Payload(p) => match p {
            Payload::IpSaddr => Value::Addr(pkt.src),
            Payload::IpDaddr => Value::Addr(pkt.dst),
            Payload::IpProtocol => Value::Proto(pkt.protocol().number()),
            Payload::IpTtl => Value::Int(u64::from(pkt.ttl)),
            // The total length, which the model's packets carry as their byte count.
            Payload::IpLength => Value::Int(pkt.len().min(u64::from(u16::MAX))),
            // The model's packets are IPv4: an IPv6 header field has nothing to load (in an
            // inet table nft's implied `meta nfproto ipv6` fails first).
            Payload::Ip6Saddr | Payload::Ip6Daddr | Payload::Ip6Nexthdr | Payload::Ip6Hoplimit => {
                return None;
            }
            Payload::ThSport => Value::Port(ports(pkt)?.0),
            Payload::ThDport => Value::Port(ports(pkt)?.1),
            Payload::TcpSport | Payload::TcpDport | Payload::TcpFlags => match &pkt.transport {
                Transport::Tcp { sport, dport, flags } => match p {
                    Payload::TcpSport => Value::Port(*sport),
                    Payload::TcpDport => Value::Port(*dport),
                    _ => Value::TcpFlags(u32::from(flags.0)),
                },
                _ => return None,
            },
            Payload::UdpSport | Payload::UdpDport => match &pkt.transport {
                Transport::Udp { sport, dport } => {
                    Value::Port(if *p == Payload::UdpSport { *sport } else { *dport })
                }
                _ => return None,
            },
            Payload::SctpSport | Payload::SctpDport => match &pkt.transport {
                Transport::Sctp { sport, dport, .. } => {
                    Value::Port(if *p == Payload::SctpSport { *sport } else { *dport })
                }
                _ => return None,
            },
            Payload::IcmpType => match &pkt.transport {
                Transport::Icmp(m) => Value::IcmpType(m.icmp_type()),
                _ => return None,
            },
        },
        Expr::Meta(k) => match k {
            MetaKey::L4proto => Value::Proto(pkt.protocol().number()),
            MetaKey::Nfproto => Value::NfProto(2),
            MetaKey::Iifname | MetaKey::Iif => Value::Ifname(ctx.in_iface?.to_string()),
            MetaKey::Oifname | MetaKey::Oif => Value::Ifname(ctx.out_iface?.to_string()),
            MetaKey::Mark => Value::Mark(pkt.mark),
            MetaKey::Protocol => Value::EtherType(ETHER_TYPE_IP),
            // The kernel's `skb->pkt_type`, which the link layer sets from the frame's
            // destination: here from the packet's.
            MetaKey::Pkttype => Value::PktType(match (ctx.addr_type)(pkt.dst) {
                AddrType::Broadcast => 1,
                AddrType::Multicast => 2,
                _ => 0,
            }),
        },
        Expr::Ct(k) => match k {
            CtKey::State => Value::CtState(match ctx.ct_state {
                CtState::New => ct_state::NEW,
                CtState::Established => ct_state::ESTABLISHED,
                CtState::Related => ct_state::RELATED,
                CtState::Invalid => ct_state::INVALID,
                CtState::Untracked => ct_state::UNTRACKED,
            }),
            CtKey::Status => {
                if entry.is_none() && !ctx.ct_new {
                    return None;
                }
                let mut bits = entry.map_or(0, |e| e.status.0) & 0x3f;
                if !ctx.ct_new {
                    bits |= crate::conntrack::CtStatus::CONFIRMED;
                }
                if env.dnat_done {
                    bits |= ct_status::DNAT;
                }
                Value::CtStatus(bits)
            }
            CtKey::Mark => {
                if entry.is_none() && !ctx.ct_new {
                    return None;
                }
                Value::Mark(env.ct_mark.unwrap_or_else(|| entry.map_or(0, |e| e.mark)))
            }
            CtKey::OriginalSaddr | CtKey::OriginalDaddr | CtKey::ReplySaddr | CtKey::ReplyDaddr => {
                let (osrc, odst, rsrc, rdst) = match entry {
                    Some(e) => (e.orig.src, e.orig.dst, e.reply.src, e.reply.dst),
                    None if ctx.ct_new => {
                        let (s, d) = env.orig.unwrap_or((pkt.src, pkt.dst));
                        (s, d, pkt.dst, pkt.src)
                    }
                    None => return None,
                };
                Value::Addr(match k {
                    CtKey::OriginalSaddr => osrc,
                    CtKey::OriginalDaddr => odst,
                    CtKey::ReplySaddr => rsrc,
                    _ => rdst,
                })
            }
        },
        Expr::FibType { daddr } => {
            Value::FibType(fib_type((ctx.addr_type)(if *daddr { pkt.dst } else { pkt.src })))
        }
        Expr::Numgen { modulus, offset } => {
            let n = decider.numgen(*modulus);
            if let Some(t) = trace.as_deref_mut() {
                t.push(NfStep::Nft(NftStep::Numgen { modulus: *modulus, value: n }));
            }
            Value::Int(u64::from(n) + u64::from(*offset))
        }
        Expr::Binop { left, op, right } => {
            let v = one(left, pkt, ctx, env, decider, trace)?;
            let b = v.bits();
            let r = match op {
                BinOp::And => b & right,
                BinOp::Or => b | right,
                BinOp::Xor => b ^ right,
            };
            with_bits(&v, r)
        }
        Expr::Concat(_) => return None,
        Expr::Const(v) => v.clone(),
    })
}

fn with_bits(v: &Value, b: u64) -> Value {
    match v {
        Value::Mark(_) => Value::Mark(b as u32),
        Value::CtState(_) => Value::CtState(b as u32),
        Value::CtStatus(_) => Value::CtStatus(b as u32),
        Value::TcpFlags(_) => Value::TcpFlags(b as u32),
        Value::Addr(_) => Value::Addr(Ipv4Addr::from(b as u32)),
        _ => Value::Int(b),
    }
}

fn compare(key: &[Value], op: RelOp, rhs: &Rhs, sets: &Sets, ctx: &HookContext<'_>, exact: bool) -> bool {
    let neg = op == RelOp::Ne;
    match rhs {
        Rhs::Set(r) => {
            let set = match r {
                SetRef::Named(n) => sets.get(n.as_str()).map(|s| &**s),
                SetRef::Anon(s) => Some(&**s),
            };
            let found = set.is_some_and(|s| s.elements.lookup(key, ctx.now).is_some());
            found != neg
        }
        Rhs::Value(r) => {
            let Some(v) = key.first() else { return false };
            // `iifname "veth*"`: a trailing `*` matches any name with that prefix.
            if let (Value::Ifname(name), Value::Ifname(pat)) = (v, r)
                && let Some(prefix) = pat.strip_suffix('*')
                && matches!(op, RelOp::Implicit | RelOp::Eq | RelOp::Ne)
            {
                return name.starts_with(prefix) != neg;
            }
            if r.dtype().is_bitmask() && !exact && matches!(op, RelOp::Implicit | RelOp::Ne) {
                return ((v.bits() & r.bits()) != 0) != neg;
            }
            match op {
                RelOp::Implicit | RelOp::Eq => v == r,
                RelOp::Ne => v != r,
                RelOp::Lt => v < r,
                RelOp::Gt => v > r,
                RelOp::Le => v <= r,
                RelOp::Ge => v >= r,
            }
        }
        Rhs::Range(lo, hi) => {
            let Some(v) = key.first() else { return false };
            (lo <= v && v <= hi) != neg
        }
        Rhs::Prefix(a, len) => {
            let (Some(v), Some((lo, hi))) = (key.first(), value_prefix_range(a, *len)) else { return false };
            (&lo <= v && v <= &hi) != neg
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use sim_core::{SimRng, SimTime};

    use crate::netfilter::*;
    use crate::nftables::{NftDecision, NftStep};
    use crate::wire::{Packet, TcpFlags};

    const NODE: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 2);

    fn addr_type(a: Ipv4Addr) -> AddrType {
        if a == NODE || a.is_loopback() { AddrType::Local } else { AddrType::Unicast }
    }

    fn ctx<'a>(in_iface: Option<&'a str>, out_iface: Option<&'a str>, new: bool) -> HookContext<'a> {
        HookContext {
            now: SimTime::ZERO,
            in_iface,
            out_iface,
            ct_state: if new { CtState::New } else { CtState::Established },
            ct_new: new,
            ct_seen_reply: !new,
            addr_type: &addr_type,
            ext: Default::default(),
        }
    }

    fn nf(text: &str) -> Netfilter {
        let mut n = Netfilter::new();
        n.nftables_mut().apply(text).unwrap_or_else(|e| panic!("{e}"));
        n
    }

    fn tcp(src: [u8; 4], dst: [u8; 4], dport: u16) -> Packet {
        Packet::tcp(Ipv4Addr::from(src), 40000, Ipv4Addr::from(dst), dport, TcpFlags::SYN)
    }

    fn pre(n: &mut Netfilter, p: &mut Packet, rng: &mut SimRng) -> HookResult {
        n.run_hook(Hook::Prerouting, p, &ctx(Some("eth0"), None, true), rng, None)
    }

    const SERVICES: &str = "table ip kp {
	map service-ips { type ipv4_addr . inet_proto . inet_service : verdict; elements = { 172.30.0.41 . tcp . 80 : goto svc1, 172.30.0.42 . udp . 53 : goto svc2 } }
	chain nat-prerouting { type nat hook prerouting priority dstnat; jump services; }
	chain services { ip daddr . meta l4proto . th dport vmap @service-ips; }
	chain svc1 { numgen random mod 3 vmap { 0 : goto ep1, 1 : goto ep2, 2 : goto ep3 }; }
	chain svc2 { meta l4proto udp dnat to 10.180.0.9:5353; }
	chain ep1 { meta l4proto tcp dnat to 10.180.0.1:8080; }
	chain ep2 { meta l4proto tcp dnat to 10.180.0.2:8080; }
	chain ep3 { meta l4proto tcp dnat to 10.180.0.3:8080; }
}
";

    #[test]
    fn vmap_lookup_with_a_concatenation_picks_the_service() {
        let mut n = nf(SERVICES);
        let mut rng = SimRng::new(1);
        let mut u = Packet::udp(Ipv4Addr::new(10, 0, 0, 5), 1000, Ipv4Addr::new(172, 30, 0, 42), 53);
        let r = pre(&mut n, &mut u, &mut rng);
        assert_eq!(r.nat, Some(NatRequest::Dnat { addr: Ipv4Addr::new(10, 180, 0, 9), port: Some(5353) }));
        // The same address and port over TCP is no element: nothing happens.
        let mut t = tcp([10, 0, 0, 5], [172, 30, 0, 42], 53);
        assert_eq!(pre(&mut n, &mut t, &mut rng).nat, None);
        // The trace names the rule and the element that decided.
        let mut trace = Vec::new();
        let mut u = Packet::udp(Ipv4Addr::new(10, 0, 0, 5), 1000, Ipv4Addr::new(172, 30, 0, 42), 53);
        n.run_hook(Hook::Prerouting, &mut u, &ctx(Some("eth0"), None, true), &mut rng, Some(&mut trace));
        let element = trace.iter().find_map(|s| match s {
            NfStep::Nft(NftStep::MapElement { map, key, element, rule }) => {
                Some((map.clone(), key.clone(), element.clone(), rule.chain.clone()))
            }
            _ => None,
        });
        assert_eq!(
            element,
            Some((
                "@service-ips".to_string(),
                "172.30.0.42 . udp . 53".to_string(),
                Some("172.30.0.42 . udp . 53 : goto svc2".to_string()),
                "services".to_string()
            ))
        );
    }

    /// Flags under a mask compare exactly: `syn / syn,ack` is a SYN without ACK, and `& (syn
    /// | ack) != syn` everything else — where `ct state != established`-style tests are bit
    /// tests.
    #[test]
    fn masked_tcp_flags_compare_exactly() {
        let mut n = nf("table ip t {
	chain in { type filter hook prerouting priority 0; tcp flags syn / syn,ack accept; tcp flags & (syn|ack) != syn drop; reject; }
}
");
        let mut rng = SimRng::new(1);
        let verdict = |n: &mut Netfilter, flags: TcpFlags, rng: &mut SimRng| {
            let mut p = Packet::tcp(Ipv4Addr::new(10, 0, 0, 5), 40000, NODE, 80, flags);
            pre(n, &mut p, rng).verdict
        };
        assert_eq!(verdict(&mut n, TcpFlags::SYN, &mut rng), HookVerdict::Accept);
        assert_eq!(verdict(&mut n, TcpFlags::SYN.with(TcpFlags::ACK), &mut rng), HookVerdict::Drop);
        assert_eq!(verdict(&mut n, TcpFlags::ACK, &mut rng), HookVerdict::Drop);
    }

    /// `reject with tcp reset` carries the `meta l4proto tcp` nft adds for it (and hides in
    /// the listing): a UDP packet passes the rule and meets the next one.
    #[test]
    fn a_tcp_reset_rejects_tcp_only() {
        let mut n = nf("table ip t {
	chain in { type filter hook prerouting priority 0; meta l4proto tcp reject with tcp reset; drop; }
}
");
        assert_eq!(n.nftables().list_ruleset().lines().nth(3), Some("\t\treject with tcp reset"));
        let mut rng = SimRng::new(1);
        let mut t = tcp([10, 0, 0, 5], [192, 168, 0, 2], 80);
        assert_eq!(pre(&mut n, &mut t, &mut rng).verdict, HookVerdict::Reject(RejectWith::TcpReset));
        let mut u = Packet::udp(Ipv4Addr::new(10, 0, 0, 5), 1000, Ipv4Addr::new(192, 168, 0, 2), 53);
        assert_eq!(pre(&mut n, &mut u, &mut rng).verdict, HookVerdict::Drop);
    }

    /// An inet table's rejects answer an IPv4 packet in ICMP: `icmpx` codes as
    /// `nft_reject_icmp_code` maps them, `icmp` codes as written (one no `--reject-with`
    /// names included), and a rule rejecting `with icmpv6` is about IPv6 packets only.
    #[test]
    fn inet_rejects_answer_ipv4_in_icmp() {
        let cases = [
            ("reject", RejectWith::IcmpPortUnreachable),
            ("reject with icmpx admin-prohibited", RejectWith::IcmpAdminProhibited),
            ("reject with icmpx no-route", RejectWith::IcmpNetUnreachable),
            ("reject with icmpx host-unreachable", RejectWith::IcmpHostUnreachable),
            ("reject with icmp frag-needed", RejectWith::IcmpCode(4)),
            ("reject with icmp 13", RejectWith::IcmpAdminProhibited),
            (
                "reject with icmpv6 admin-prohibited; reject with icmp host-prohibited",
                RejectWith::IcmpHostProhibited,
            ),
        ];
        for (stmt, want) in cases {
            let mut n = nf(&format!(
                "table inet t {{\n\tchain in {{ type filter hook prerouting priority 0; {stmt}; }}\n}}\n"
            ));
            let mut rng = SimRng::new(1);
            let mut t = tcp([10, 0, 0, 5], [192, 168, 0, 2], 80);
            assert_eq!(pre(&mut n, &mut t, &mut rng).verdict, HookVerdict::Reject(want), "{stmt}");
        }
    }

    /// nft merges adjacent port matches into one 32-bit load and comparison (`nft
    /// --debug=netlink` shows `payload load 4b @ transport header + 0`, `cmp neq reg 1
    /// 0x02000100`): `tcp sport != 1 tcp dport != 2` holds for every packet but the one from
    /// port 1 to port 2 — a SYN from port 1 to port 80 meets it, which separate `!=` tests
    /// would let pass. `th` ports merge likewise and are listed as the raw load.
    #[test]
    fn merged_port_comparisons_are_one_comparison() {
        let mut n = nf("table ip t {
	chain in { type filter hook prerouting priority 0; tcp sport != 1 tcp dport != 2 drop; th sport 7 th dport 9 drop; accept; }
}
");
        let mut rng = SimRng::new(1);
        let mut verdict = |n: &mut Netfilter, sport: u16, dport: u16| {
            let mut p = Packet::tcp(Ipv4Addr::new(10, 0, 0, 5), sport, NODE, dport, TcpFlags::SYN);
            pre(n, &mut p, &mut rng).verdict
        };
        assert_eq!(verdict(&mut n, 1, 80), HookVerdict::Drop);
        assert_eq!(verdict(&mut n, 5, 2), HookVerdict::Drop);
        assert_eq!(verdict(&mut n, 1, 2), HookVerdict::Accept);
        let listed = n.nftables().list_ruleset();
        assert!(
            listed.contains("\t\ttcp sport != 1 tcp dport != 2 drop\n\t\t@th,0,32 0x70009 drop\n"),
            "{listed}"
        );
        // The raw match holds for its two ports only.
        let mut n = nf("table ip t {
	chain in { type filter hook prerouting priority 0; th sport 7 th dport 9 drop; accept; }
}
");
        assert_eq!(verdict(&mut n, 7, 9), HookVerdict::Drop);
        assert_eq!(verdict(&mut n, 7, 8), HookVerdict::Accept);
    }

    /// `meta protocol` is the ethertype of the model's (IPv4) packets, `meta pkttype` the
    /// class of their destination: a multicast datagram meets the multicast rule, a unicast
    /// SYN the host one.
    #[test]
    fn meta_protocol_and_pkttype_match_the_packet() {
        let mut n = nf("table inet t {
	chain in { type filter hook prerouting priority 0; meta protocol ip6 drop; meta pkttype multicast counter drop; meta protocol ip meta pkttype host accept; drop; }
}
");
        let mut rng = SimRng::new(1);
        let mut t = tcp([10, 0, 0, 5], [192, 168, 0, 2], 80);
        assert_eq!(pre(&mut n, &mut t, &mut rng).verdict, HookVerdict::Accept);
        let multicast = |a: Ipv4Addr| if a.is_multicast() { AddrType::Multicast } else { AddrType::Unicast };
        let mut c = ctx(Some("eth0"), None, true);
        c.addr_type = &multicast;
        let mut u = Packet::udp(Ipv4Addr::new(10, 0, 0, 5), 5353, Ipv4Addr::new(224, 0, 0, 251), 5353);
        assert_eq!(n.run_hook(Hook::Prerouting, &mut u, &c, &mut rng, None).verdict, HookVerdict::Drop);
        let listed = n.nftables().list_ruleset();
        assert!(listed.contains("meta pkttype multicast counter packets 1 "), "{listed}");
    }

    /// `limit` is the kernel's token bucket in simulated time: a burst of two SSH SYNs passes,
    /// the third meets the drop, and 500 ms later (two per second) one more passes. A
    /// packet the limit stops is not counted by the rule's counter after it.
    #[test]
    fn a_limit_passes_its_burst_and_then_its_rate() {
        let mut n = nf("table ip t {
	chain in { type filter hook prerouting priority 0; tcp dport 22 limit rate 2/second burst 2 packets counter accept; tcp dport 22 drop; }
}
");
        let mut rng = SimRng::new(1);
        let mut verdict = |n: &mut Netfilter, ms: u64| {
            let mut c = ctx(Some("eth0"), None, true);
            c.now = SimTime::from_nanos(ms * 1_000_000);
            let mut p = tcp([10, 0, 0, 5], [192, 168, 0, 2], 22);
            n.run_hook(Hook::Prerouting, &mut p, &c, &mut rng, None).verdict
        };
        let got: Vec<HookVerdict> = [0, 0, 0, 499, 500, 500].iter().map(|&ms| verdict(&mut n, ms)).collect();
        use HookVerdict::{Accept, Drop};
        assert_eq!(got, [Accept, Accept, Drop, Drop, Accept, Drop]);
        let listed = n.nftables().list_ruleset();
        assert!(
            listed.contains("tcp dport 22 limit rate 2/second burst 2 packets counter packets 3 bytes"),
            "{listed}"
        );
    }

    /// Tables of the arp, bridge and netdev families are loaded and listed, but their base
    /// chains are not run: a packet passes a host whose such chains drop everything, and
    /// the loading commands name each such table.
    #[test]
    fn arp_bridge_and_netdev_tables_are_not_evaluated() {
        let mut n = nf("table netdev d {
	chain i { type filter hook ingress device eth0 priority 0; policy drop; }
}
table bridge b {
	chain p { type filter hook prerouting priority 0; policy drop; drop; }
	chain i { type filter hook input priority 0; policy drop; }
}
table arp a {
	chain i { type filter hook input priority 0; policy drop; }
}
");
        let mut rng = SimRng::new(1);
        let mut t = tcp([10, 0, 0, 5], [192, 168, 0, 2], 80);
        assert_eq!(pre(&mut n, &mut t, &mut rng).verdict, HookVerdict::Accept);
        for hook in [Hook::Prerouting, Hook::Input, Hook::Forward, Hook::Output, Hook::Postrouting] {
            assert!(n.nftables().ruleset().base_chains(hook).is_empty(), "{hook:?}");
        }
        let notes = n.nftables().ruleset().unevaluated_notes(&[]);
        assert_eq!(
            notes.lines().map(|l| l.split(':').next().unwrap_or_default()).collect::<Vec<_>>(),
            ["netsim", "netsim", "netsim"]
        );
        assert!(notes.contains("table bridge b is loaded and listed but not evaluated"), "{notes}");
        // Tables the ruleset had before are not named again.
        let before = n.nftables().ruleset().table_names();
        assert_eq!(n.nftables().ruleset().unevaluated_notes(&before), "");
    }

    #[test]
    fn a_drop_from_a_map_element_names_the_element_without_a_trace() {
        let mut n = nf("table ip kp {
	map no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict; elements = { 1.2.3.4 . tcp . 80 comment \"ns2/svc2:p80\" : drop } }
	chain filter-input { type filter hook prerouting priority 0; ct state new ip daddr . meta l4proto . th dport vmap @no-endpoint-services; }
}");
        let mut p = tcp([10, 0, 0, 5], [1, 2, 3, 4], 80);
        let r = pre(&mut n, &mut p, &mut SimRng::new(1));
        assert_eq!(r.verdict, HookVerdict::Drop);
        let Some(Decision::Nft(NftDecision::Rule { rule, element })) = r.decided_by else { panic!("{r:?}") };
        assert_eq!((rule.chain.as_str(), rule.index), ("filter-input", 1));
        assert_eq!(element.as_deref(), Some("1.2.3.4 . tcp . 80 comment \"ns2/svc2:p80\" : drop"));
    }

    #[test]
    fn session_affinity_sets_pin_a_client_until_the_timeout() {
        // kube-proxy's ClientIP affinity: each endpoint chain records the client in its set;
        // the service chain sends a recorded client to the same endpoint.
        let mut n = nf("table ip kp {
	set aff1 { type ipv4_addr; flags dynamic,timeout; timeout 10s; }
	set aff2 { type ipv4_addr; flags dynamic,timeout; timeout 10s; }
	chain nat-prerouting { type nat hook prerouting priority dstnat; ip daddr 172.30.0.45 goto svc; }
	chain svc {
		ip saddr @aff1 goto ep1
		ip saddr @aff2 goto ep2
		numgen random mod 2 vmap { 0 : goto ep1, 1 : goto ep2 }
	}
	chain ep1 { update @aff1 { ip saddr }; meta l4proto tcp dnat to 10.180.0.1:80; }
	chain ep2 { update @aff2 { ip saddr }; meta l4proto tcp dnat to 10.180.0.2:80; }
}");
        let mut rng = SimRng::new(5);
        let at = |n: &mut Netfilter, secs: u64, rng: &mut SimRng| {
            let c = HookContext {
                now: SimTime::ZERO + sim_core::SimDuration::from_secs(secs),
                ..ctx(Some("eth0"), None, true)
            };
            let mut p = tcp([203, 0, 113, 7], [172, 30, 0, 45], 80);
            match n.run_hook(Hook::Prerouting, &mut p, &c, rng, None).nat {
                Some(NatRequest::Dnat { addr, .. }) => addr,
                other => panic!("{other:?}"),
            }
        };
        let first = at(&mut n, 0, &mut rng);
        for s in 1..9 {
            assert_eq!(at(&mut n, s, &mut rng), first, "at {s}s");
        }
        // Refreshed at 8 s, so still pinned at 17 s; 20 s of silence lets it expire.
        assert_eq!(at(&mut n, 17, &mut rng), first);
        let later: Vec<Ipv4Addr> = (0..16).map(|i| at(&mut n, 40 + 20 * i, &mut rng)).collect();
        assert!(later.iter().any(|a| *a != first), "{later:?}");
    }

    #[test]
    fn numgen_spreads_evenly_under_a_seeded_stream() {
        let mut n = nf(SERVICES);
        let mut rng = SimRng::new(7).fork("net/node");
        let mut counts = [0u32; 3];
        for _ in 0..3000 {
            let mut p = tcp([10, 0, 0, 5], [172, 30, 0, 41], 80);
            match pre(&mut n, &mut p, &mut rng).nat {
                Some(NatRequest::Dnat { addr, .. }) => counts[usize::from(addr.octets()[3] - 1)] += 1,
                other => panic!("{other:?}"),
            }
        }
        // 1000 expected each; 3 standard deviations is about 77.
        assert!(counts.iter().all(|c| (900..1100).contains(c)), "{counts:?}");
        // The same seed gives the same draws.
        let mut again = nf(SERVICES);
        let mut rng2 = SimRng::new(7).fork("net/node");
        let mut counts2 = [0u32; 3];
        for _ in 0..3000 {
            let mut p = tcp([10, 0, 0, 5], [172, 30, 0, 41], 80);
            if let Some(NatRequest::Dnat { addr, .. }) = pre(&mut again, &mut p, &mut rng2).nat {
                counts2[usize::from(addr.octets()[3] - 1)] += 1;
            }
        }
        assert_eq!(counts, counts2);
    }

    #[test]
    fn interval_sets_match_prefixes_and_ranges() {
        let mut n = nf("table ip f {
	set blocked { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.168.1.10-192.168.1.20 } }
	chain in { type filter hook prerouting priority 0; ip saddr @blocked drop; }
}");
        let mut rng = SimRng::new(1);
        for (src, dropped) in [
            ([10, 9, 8, 7], true),
            ([11, 0, 0, 1], false),
            ([192, 168, 1, 10], true),
            ([192, 168, 1, 20], true),
            ([192, 168, 1, 21], false),
        ] {
            let mut p = tcp(src, [192, 168, 0, 2], 22);
            let v = pre(&mut n, &mut p, &mut rng).verdict;
            assert_eq!(v == HookVerdict::Drop, dropped, "{src:?}");
        }
    }

    #[test]
    fn interface_names_match_exactly_or_by_a_star_prefix() {
        let mut n = nf("table ip f {
	chain in { type filter hook prerouting priority 0; iifname \"veth*\" meta mark set 0x1; iifname != \"eth0\" meta mark set meta mark | 0x2; }
}");
        let mut rng = SimRng::new(1);
        for (iface, mark) in [("veth12", 3), ("eth0", 0), ("ve", 2)] {
            let mut p = tcp([10, 0, 0, 1], [192, 168, 0, 2], 80);
            n.run_hook(Hook::Prerouting, &mut p, &ctx(Some(iface), None, true), &mut rng, None);
            assert_eq!(p.mark, mark, "{iface}");
        }
    }

    #[test]
    fn jump_goto_return_and_policies() {
        // jump returns to the caller; goto does not, so the end of `b` returns to `in` after
        // the `jump a`, whose next rule marks; `return` in a base chain applies the policy.
        let mut n = nf("table ip f {
	chain a { goto b; meta mark set 0x1; }
	chain b { tcp dport 1 return; meta mark set meta mark | 0x10; }
	chain in { type filter hook prerouting priority 0; policy drop;
		jump a
		meta mark set meta mark | 0x100
		tcp dport 2 return
		tcp dport { 1, 3 } accept
	}
}");
        let mut rng = SimRng::new(1);
        let mut p = tcp([10, 0, 0, 1], [192, 168, 0, 2], 1);
        assert_eq!(pre(&mut n, &mut p, &mut rng).verdict, HookVerdict::Accept);
        assert_eq!(p.mark, 0x100);
        let mut p = tcp([10, 0, 0, 1], [192, 168, 0, 2], 3);
        assert_eq!(pre(&mut n, &mut p, &mut rng).verdict, HookVerdict::Accept);
        assert_eq!(p.mark, 0x110);
        let mut p = tcp([10, 0, 0, 1], [192, 168, 0, 2], 2);
        let r = pre(&mut n, &mut p, &mut rng);
        assert_eq!(r.verdict, HookVerdict::Drop);
        assert_eq!(
            r.decided_by,
            Some(Decision::Nft(NftDecision::Policy {
                family: crate::nftables::Family::Ip,
                table: "f".into(),
                chain: "in".into()
            }))
        );
    }

    #[test]
    fn accept_ends_one_base_chain_and_drop_ends_the_hook_in_priority_order() {
        // Three base chains at prerouting: -200 accepts, 0 counts, 10 drops port 9. The
        // iptables raw table (-300) and mangle (-150) run between them.
        let mut n = nf("table ip f {
	chain early { type filter hook prerouting priority -200; accept; }
	chain mid { type filter hook prerouting priority 0; counter; }
	chain late { type filter hook prerouting priority 10; tcp dport 9 drop; }
}");
        n.restore("*mangle\n-A PREROUTING -p tcp --dport 8 -j DROP\nCOMMIT\n", false).unwrap();
        let entries = n.hook_entries(Hook::Prerouting);
        assert_eq!(
            entries.to_vec(),
            vec![
                HookEntry::Xtables(TableName::Raw),
                HookEntry::Nft { table: 0, chain: 0, nat: false },
                HookEntry::Xtables(TableName::Mangle),
                HookEntry::Xtables(TableName::Nat),
                HookEntry::Nft { table: 0, chain: 1, nat: false },
                HookEntry::Nft { table: 0, chain: 2, nat: false },
            ]
        );
        let mut rng = SimRng::new(1);
        let mut p = tcp([10, 0, 0, 1], [192, 168, 0, 2], 9);
        let r = pre(&mut n, &mut p, &mut rng);
        assert_eq!(r.verdict, HookVerdict::Drop);
        assert!(
            matches!(r.decided_by, Some(Decision::Nft(NftDecision::Rule { ref rule, .. })) if rule.chain == "late")
        );
        let mut p = tcp([10, 0, 0, 1], [192, 168, 0, 2], 8);
        let r = pre(&mut n, &mut p, &mut rng);
        assert!(matches!(r.decided_by, Some(Decision::Rule(ref rr)) if rr.table == TableName::Mangle));
        let listed = n.nftables().list_ruleset();
        assert!(listed.contains("counter packets 1 bytes"), "{listed}");
    }

    /// Chains and sets are shared copy-on-write between copies of a ruleset: a packet's
    /// counter and a dynamic set update in one copy leave the other as it was.
    #[test]
    fn a_copy_of_the_ruleset_keeps_its_own_counters_and_sets() {
        let mut n = nf("table ip f {
	set seen { type ipv4_addr; flags dynamic,timeout; timeout 1m; }
	chain pre { type filter hook prerouting priority 0; tcp dport 80 counter update @seen { ip saddr }; }
}");
        let original = n.clone();
        let mut rng = SimRng::new(1);
        let mut p = tcp([10, 0, 0, 1], [192, 168, 0, 2], 80);
        pre(&mut n, &mut p, &mut rng);
        let after = n.nftables().list_ruleset();
        assert!(after.contains("counter packets 1 bytes"), "{after}");
        assert!(after.contains("10.0.0.1"), "{after}");
        let before = original.nftables().list_ruleset();
        assert!(before.contains("counter packets 0 bytes 0"), "{before}");
        assert!(!before.contains("10.0.0.1"), "{before}");
    }

    #[test]
    fn nat_chains_see_only_first_packets_and_later_chains_see_the_dnat() {
        let mut n = nf("table ip f {
	chain dn { type nat hook prerouting priority dstnat; ip daddr 172.30.0.1 dnat to 10.0.0.9; }
	chain after { type filter hook prerouting priority 0; ip daddr 10.0.0.9 ct status dnat ct original ip daddr 172.30.0.1 meta mark set 0x7; }
}");
        let mut rng = SimRng::new(1);
        let mut p = tcp([10, 0, 0, 1], [172, 30, 0, 1], 80);
        let r = pre(&mut n, &mut p, &mut rng);
        assert_eq!(r.nat, Some(NatRequest::Dnat { addr: Ipv4Addr::new(10, 0, 0, 9), port: None }));
        // The stack rewrites the packet; the chain after the DNAT saw the new destination.
        assert_eq!(p.dst, Ipv4Addr::new(172, 30, 0, 1));
        assert_eq!(p.mark, 7);
        let mut later = tcp([10, 0, 0, 1], [172, 30, 0, 1], 80);
        let r = n.run_hook(Hook::Prerouting, &mut later, &ctx(Some("eth0"), None, false), &mut rng, None);
        assert_eq!(r.nat, None);
    }

    #[test]
    fn the_lookup_in_a_10000_service_map_costs_the_same_for_the_last_service() {
        let mut text = String::from(
            "table ip kp {\n\tchain nat-prerouting { type nat hook prerouting priority dstnat; ip daddr . meta l4proto . th dport vmap @svc; }\n\tchain ep { meta l4proto tcp dnat to 10.180.0.1:80; }\n\tmap svc { type ipv4_addr . inet_proto . inet_service : verdict; elements = { ",
        );
        for i in 0..10_000u32 {
            if i > 0 {
                text.push_str(", ");
            }
            text.push_str(&format!("172.30.{}.{} . tcp . 80 : goto ep", i / 250, i % 250));
        }
        text.push_str(" } }\n}\n");
        let mut n = Netfilter::new();
        n.nftables_mut().apply(&text).unwrap_or_else(|e| panic!("{e}"));
        // The map holds its elements in an ordered map: the last service is found by one
        // lookup, not a scan. Count the work as rule evaluations and lookups through the
        // trace: both packets take exactly the same steps.
        let mut rng = SimRng::new(1);
        let steps = |n: &mut Netfilter, rng: &mut SimRng, dst: [u8; 4]| {
            let mut t = Vec::new();
            let mut p = tcp([10, 0, 0, 1], dst, 80);
            let r = n.run_hook(Hook::Prerouting, &mut p, &ctx(Some("eth0"), None, true), rng, Some(&mut t));
            assert!(r.nat.is_some());
            t.len()
        };
        assert_eq!(steps(&mut n, &mut rng, [172, 30, 0, 0]), steps(&mut n, &mut rng, [172, 30, 39, 249]));
        // And in time: the best of five rounds of 300 first packets each (a scan of the map
        // would make the last service ~100 times dearer; the bound leaves room for noise).
        #[allow(clippy::disallowed_types)]
        let time = |n: &mut Netfilter, rng: &mut SimRng, dst: [u8; 4]| {
            (0..5)
                .map(|_| {
                    let start = std::time::Instant::now();
                    for _ in 0..300 {
                        let mut p = tcp([10, 0, 0, 1], dst, 80);
                        n.run_hook(Hook::Prerouting, &mut p, &ctx(Some("eth0"), None, true), rng, None);
                    }
                    start.elapsed()
                })
                .min()
                .unwrap_or_default()
        };
        let first = time(&mut n, &mut rng, [172, 30, 0, 0]);
        let last = time(&mut n, &mut rng, [172, 30, 39, 249]);
        assert!(last < first * 4 + std::time::Duration::from_millis(2), "first {first:?}, last {last:?}");
        let set = &n.nftables().ruleset().tables[0].sets["svc"];
        assert_eq!(set.elements.len(), 10_000);
    }
}
