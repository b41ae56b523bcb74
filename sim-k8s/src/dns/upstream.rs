//! The recursive resolver outside the cluster that CoreDNS's `forward` plugin asks: a simulated
//! host on the node network (a scenario's `cluster.upstreamResolvers`) answering from the zones
//! the scenario declares, with per-record TTLs and per-name behaviours — NXDOMAIN, NODATA,
//! SERVFAIL, REFUSED, a truncated UDP answer, a delay, or no answer at all.
//!
//! It answers as a recursive resolver relays an authoritative answer (`qr rd ra`, no `aa`):
//! CNAMEs are followed inside its data, a name it has nothing for is NXDOMAIN, a name with
//! other types only is NODATA, and a negative answer about a name in a declared zone carries
//! the zone's SOA (its `minimum` is the negative TTL). An EDNS query gets an OPT with a
//! 1232-byte buffer back (what unbound and BIND send since DNS flag day 2020). A `truncate`
//! name is answered over UDP with TC set and no records, and fully over TCP.
//!
//! Departures: no real recursion (no root, TLD or authoritative servers behind it), one answer
//! per query, and no rate limits.

use std::net::{IpAddr, Ipv4Addr};

use sim_core::SimDuration;

use super::coredns::Upstream;
use super::message::{Flags, Header, Message, RData, Rcode, Record, RecordType, Soa};
use super::name::Name;
use super::resolver::Transport;

/// The TTL of an upstream record the scenario gives none (and of `upstreamDNS` entries).
pub const DEFAULT_RECORD_TTL: u32 = 300;

/// The SOA `minimum` (negative TTL) of a declared zone that gives none.
pub const DEFAULT_NEGATIVE_TTL: u32 = 60;

/// The EDNS buffer size the resolver advertises.
pub const RESOLVER_EDNS_SIZE: u16 = 1232;

/// What the resolver does with queries for one name instead of answering from its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `nxdomain`: the name does not exist.
    NxDomain,
    /// `nodata`: the name exists without that type (NOERROR, no answer).
    NoData,
    /// `servfail`: the resolver failed (rcode 2).
    ServFail,
    /// `refused`: the resolver refuses (rcode 5).
    Refused,
    /// `truncate`: over UDP, an empty answer with TC set; over TCP, the full answer.
    Truncate,
    /// `drop`: no answer at all (the asker times out).
    Drop,
}

impl Action {
    /// The scenario spelling.
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "nxdomain" => Action::NxDomain,
            "nodata" => Action::NoData,
            "servfail" => Action::ServFail,
            "refused" => Action::Refused,
            "truncate" => Action::Truncate,
            "drop" => Action::Drop,
            _ => return None,
        })
    }

    /// Every spelling, for error messages.
    pub const NAMES: &'static str = "nxdomain, nodata, servfail, refused, truncate, drop";
}

/// The query names a behaviour applies to (case-insensitively).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamePattern {
    /// Exactly this name.
    Exact(Name),
    /// `*.zone`: every name below the zone (not the zone itself).
    Below(Name),
    /// `*`: every name (a resolver that is down, or slow for everything).
    Any,
}

impl NamePattern {
    /// `*`, `*.example.com` or a name.
    pub fn parse(s: &str) -> Result<NamePattern, super::name::NameError> {
        if s == "*" {
            return Ok(NamePattern::Any);
        }
        match s.strip_prefix("*.") {
            Some(zone) => Ok(NamePattern::Below(Name::parse(zone)?)),
            None => Ok(NamePattern::Exact(Name::parse(s)?)),
        }
    }

    /// Whether `name` is one of these.
    pub fn matches(&self, name: &Name) -> bool {
        match self {
            NamePattern::Exact(n) => n.eq_ignore_case(name),
            NamePattern::Below(zone) => name.is_subdomain_of(zone) && name.label_count() > zone.label_count(),
            NamePattern::Any => true,
        }
    }
}

/// A per-name behaviour: an action instead of the data's answer, after a delay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Behaviour {
    /// The query names it applies to.
    pub name: NamePattern,
    /// What to answer instead of the data's answer; `None` answers from the data.
    pub action: Option<Action>,
    /// How long the resolver takes before it answers (a slow upstream).
    pub delay: SimDuration,
}

/// One simulated upstream resolver host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolverConfig {
    /// Host name (`resolver`).
    pub name: String,
    /// Address on the node network; it listens on UDP and TCP port 53.
    pub ip: Ipv4Addr,
    /// Its records: every declared zone's SOA and records (and `upstreamDNS` entries).
    pub data: Upstream,
    /// Per-name behaviours, in scenario order (the first that names a query wins).
    pub behaviours: Vec<Behaviour>,
}

/// What the resolver sends back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResolverReply {
    /// These bytes, after this long.
    Answer {
        /// The reply message, encoded.
        bytes: Vec<u8>,
        /// The behaviour's delay (zero for most names).
        after: SimDuration,
    },
    /// Nothing (a dropped name, or a datagram that is not a query).
    Nothing,
}

/// The SOA a declared zone answers negative queries with: `ns1.<zone> hostmaster.<zone> 1 7200
/// 3600 1209600 <negative TTL>`, with the negative TTL as its own TTL.
pub fn zone_soa(zone: &Name, negative_ttl: u32) -> Result<Record, super::name::NameError> {
    let soa = Soa {
        mname: zone.prepend("ns1")?,
        rname: zone.prepend("hostmaster")?,
        serial: 1,
        refresh: 7200,
        retry: 3600,
        expire: 1_209_600,
        minimum: negative_ttl,
    };
    Ok(Record::new(zone.clone(), negative_ttl, RData::Soa(soa)))
}

/// A record as a scenario writes it: `name` (absolute, inside `zone`, relative to it, or `@`
/// for the apex), `rtype` (A, AAAA, CNAME, TXT, PTR, NS) and `value`. Errors say which part is
/// wrong.
pub fn parse_record(zone: &Name, name: &str, rtype: &str, value: &str, ttl: u32) -> Result<Record, String> {
    let owner = owner_name(zone, name)?;
    if !owner.is_subdomain_of(zone) {
        return Err(format!("name {name:?} is not inside the zone {zone}"));
    }
    let target = |v: &str| Name::parse(v).map_err(|e| format!("value {v:?}: {e}"));
    let data = match rtype.to_ascii_uppercase().as_str() {
        "A" => RData::A(value.parse().map_err(|_| format!("value {value:?}: not an IPv4 address"))?),
        "AAAA" => RData::Aaaa(value.parse().map_err(|_| format!("value {value:?}: not an IPv6 address"))?),
        "CNAME" => RData::Cname(target(value)?),
        "PTR" => RData::Ptr(target(value)?),
        "NS" => RData::Ns(target(value)?),
        "TXT" => {
            if value.len() > 255 {
                return Err(format!(
                    "value: a TXT string is at most 255 bytes, this one has {}",
                    value.len()
                ));
            }
            RData::Txt(vec![value.as_bytes().to_vec()])
        }
        other => return Err(format!("type {other:?}: expected one of A, AAAA, CNAME, TXT, PTR, NS")),
    };
    Ok(Record::new(owner, ttl, data))
}

/// The owner name of a record written in a zone.
pub fn owner_name(zone: &Name, name: &str) -> Result<Name, String> {
    if name == "@" {
        return Ok(zone.clone());
    }
    let parsed = Name::parse(name).map_err(|e| format!("name {name:?}: {e}"))?;
    if name.ends_with('.') || parsed.is_subdomain_of(zone) {
        return Ok(parsed);
    }
    let text = format!("{}.{}", name.trim_end_matches('.'), zone.to_relative_string());
    Name::parse(&text).map_err(|e| format!("name {name:?}: {e}"))
}

/// An A or AAAA record for an `upstreamDNS` shorthand entry (TTL [`DEFAULT_RECORD_TTL`]).
pub fn address_record(name: &str, ip: IpAddr) -> Result<Record, super::name::NameError> {
    let data = match ip {
        IpAddr::V4(v4) => RData::A(v4),
        IpAddr::V6(v6) => RData::Aaaa(v6),
    };
    Ok(Record::new(Name::parse(name)?, DEFAULT_RECORD_TTL, data))
}

impl ResolverConfig {
    /// The behaviour for a query name, if one is declared.
    fn behaviour(&self, name: &Name) -> Option<&Behaviour> {
        self.behaviours.iter().find(|b| b.name.matches(name))
    }

    /// Answers one query that arrived over `transport`.
    pub fn serve(&self, request: &[u8], transport: Transport) -> ResolverReply {
        if request.len() < 12 || request[2] & 0x80 != 0 {
            return ResolverReply::Nothing;
        }
        let Ok(query) = Message::decode(request) else {
            let mut reply = Message::default();
            reply.header.id = u16::from_be_bytes([request[0], request[1]]);
            reply.header.flags.qr = true;
            reply.header.rcode = Rcode::FormErr;
            return ResolverReply::Answer { bytes: reply.encode(), after: SimDuration::ZERO };
        };
        let behaviour = query.question().and_then(|q| self.behaviour(&q.name));
        let after = behaviour.map_or(SimDuration::ZERO, |b| b.delay);
        let action = behaviour.and_then(|b| b.action);
        if action == Some(Action::Drop) {
            return ResolverReply::Nothing;
        }
        let mut reply = self.answer(&query, action);
        if action == Some(Action::Truncate) && transport == Transport::Udp {
            reply.header.flags.tc = true;
            reply.answers.clear();
            reply.authority.clear();
            reply.additional.retain(|r| r.rtype() == RecordType::Opt);
        }
        let bytes = match transport {
            Transport::Udp => super::coredns::wire_reply(&query, reply),
            Transport::Tcp => reply.encode(),
        };
        ResolverReply::Answer { bytes, after }
    }

    /// The reply message for `query` (before sizing).
    pub fn answer(&self, query: &Message, action: Option<Action>) -> Message {
        let mut resp = Message {
            header: Header {
                id: query.header.id,
                flags: Flags {
                    qr: true,
                    opcode: query.header.flags.opcode,
                    rd: query.header.flags.rd,
                    ra: true,
                    cd: query.header.flags.cd,
                    ..Flags::default()
                },
                rcode: Rcode::NoError,
            },
            questions: query.questions.clone(),
            ..Message::default()
        };
        if query.opt().is_some() {
            resp.set_edns(RESOLVER_EDNS_SIZE, Vec::new());
        }
        let Some(q) = query.question().filter(|_| query.questions.len() == 1) else {
            resp.header.rcode = Rcode::FormErr;
            return resp;
        };
        if query.header.flags.opcode != 0 {
            resp.header.rcode = Rcode::NotImp;
            return resp;
        }
        match action {
            Some(Action::ServFail) => resp.header.rcode = Rcode::ServFail,
            Some(Action::Refused) => {
                resp.header.rcode = Rcode::Refused;
                resp.header.flags.ra = false;
            }
            Some(Action::NxDomain) => {
                resp.header.rcode = Rcode::NxDomain;
                resp.authority.extend(self.data.negative_soa(&q.name));
            }
            Some(Action::NoData) => resp.authority.extend(self.data.negative_soa(&q.name)),
            None | Some(Action::Truncate) | Some(Action::Drop) => {
                self.data.answer_into(&q.name, q.qtype, &mut resp);
            }
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver() -> ResolverConfig {
        let zone = Name::parse("example.com").unwrap();
        let data = Upstream::default()
            .with_record(zone_soa(&zone, 60).unwrap())
            .with_record(parse_record(&zone, "@", "A", "93.184.215.14", 3600).unwrap())
            .with_record(parse_record(&zone, "www", "CNAME", "example.com", 120).unwrap());
        let behaviours = vec![
            Behaviour {
                name: NamePattern::parse("slow.example.com").unwrap(),
                action: None,
                delay: SimDuration::from_secs(3),
            },
            Behaviour {
                name: NamePattern::parse("big.example.com").unwrap(),
                action: Some(Action::Truncate),
                delay: SimDuration::ZERO,
            },
            Behaviour {
                name: NamePattern::parse("gone.example.com").unwrap(),
                action: Some(Action::Drop),
                delay: SimDuration::ZERO,
            },
        ];
        ResolverConfig { name: "resolver".into(), ip: Ipv4Addr::new(10, 32, 1, 53), data, behaviours }
    }

    fn ask(r: &ResolverConfig, name: &str, t: Transport) -> (Message, SimDuration) {
        let q = Message::query(7, Name::parse(name).unwrap(), RecordType::A);
        match r.serve(&q.encode(), t) {
            ResolverReply::Answer { bytes, after } => (Message::decode(&bytes).unwrap(), after),
            ResolverReply::Nothing => panic!("no answer"),
        }
    }

    #[test]
    fn answers_with_record_ttls_and_follows_cnames() {
        let (m, after) = ask(&resolver(), "www.example.com", Transport::Udp);
        assert_eq!(after, SimDuration::ZERO);
        assert!(m.header.flags.ra && !m.header.flags.aa);
        assert_eq!(m.answers.iter().map(|r| r.ttl).collect::<Vec<_>>(), vec![120, 3600]);
    }

    #[test]
    fn negative_answers_carry_the_zone_soa() {
        let (m, _) = ask(&resolver(), "nope.example.com", Transport::Udp);
        assert_eq!(m.header.rcode, Rcode::NxDomain);
        assert_eq!(m.authority[0].rtype(), RecordType::Soa);
        assert_eq!(m.authority[0].ttl, 60);
    }

    #[test]
    fn behaviours_delay_truncate_and_drop() {
        let r = resolver();
        assert_eq!(ask(&r, "slow.example.com", Transport::Udp).1, SimDuration::from_secs(3));
        let (m, _) = ask(&r, "big.example.com", Transport::Udp);
        assert!(m.header.flags.tc && m.answers.is_empty());
        let (m, _) = ask(&r, "big.example.com", Transport::Tcp);
        assert!(!m.header.flags.tc);
        let q = Message::query(8, Name::parse("gone.example.com").unwrap(), RecordType::A);
        assert_eq!(r.serve(&q.encode(), Transport::Udp), ResolverReply::Nothing);
    }

    #[test]
    fn behaviour_patterns_match_a_name_everything_below_or_everything() {
        let n = |s: &str| Name::parse(s).unwrap();
        let below = NamePattern::parse("*.example.com").unwrap();
        assert!(below.matches(&n("a.b.EXAMPLE.com")) && !below.matches(&n("example.com")));
        assert!(NamePattern::parse("*").unwrap().matches(&n("anything.org")));
        assert!(!NamePattern::parse("a.example.com").unwrap().matches(&n("b.example.com")));
    }

    #[test]
    fn record_names_are_relative_absolute_or_the_apex() {
        let zone = Name::parse("example.com").unwrap();
        assert_eq!(owner_name(&zone, "www").unwrap(), Name::parse("www.example.com").unwrap());
        assert_eq!(owner_name(&zone, "www.example.com").unwrap(), Name::parse("www.example.com").unwrap());
        assert_eq!(owner_name(&zone, "@").unwrap(), zone);
        assert!(parse_record(&zone, "other.org.", "A", "1.2.3.4", 1).unwrap_err().contains("not inside"));
        assert!(parse_record(&zone, "x", "MX", "1.2.3.4", 1).unwrap_err().contains("expected one of"));
    }
}
