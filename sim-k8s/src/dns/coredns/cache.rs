//! The `cache 30` plugin of kubeadm's Corefile: replies remembered for up to 30 seconds of
//! simulated time, served with their TTLs counting down.
//!
//! Follows coredns plugin/cache (cache.go `WriteMsg`/`computeTTL`, item.go `ttl`/`toMsg`) and
//! plugin/pkg/dnsutil `MinimalTTL`: a reply's lifetime is the smallest TTL in it (the SOA
//! minimum for NXDOMAIN/NODATA), clamped to [5 s, 30 s]; every record of the reply sent — even
//! on a miss — carries that lifetime, and a hit carries what is left of it (which is why an
//! external name shows `30` then `23` through CoreDNS, and a deleted Service can still resolve
//! for up to 30 s). The key is the lower-cased name, the type and the DO bit. Truncated replies
//! and errors other than NXDOMAIN are not stored.
//! Left out: capacity/eviction (10000 entries), prefetch, serve_stale, SERVFAIL caching.

use std::collections::BTreeMap;

use sim_core::SimTime;

use super::super::message::{Message, RData, Rcode, RecordType};
use super::super::name::Name;

/// The shortest lifetime the cache gives a reply (`dnsutil.MinimalDefaultTTL`).
pub const MIN_CACHE_TTL: u32 = 5;

/// Cached replies of one CoreDNS instance.
#[derive(Clone, Debug, Default)]
pub struct DnsCache {
    entries: BTreeMap<CacheKey, CacheItem>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct CacheKey {
    qname: Name,
    qtype: u16,
    dnssec_ok: bool,
}

#[derive(Clone, Debug)]
struct CacheItem {
    reply: Message,
    stored: SimTime,
    ttl: u32,
}

impl DnsCache {
    /// An empty cache.
    pub fn new() -> Self {
        DnsCache::default()
    }

    /// Number of stored replies (expired ones included until they are looked up).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets everything (a CoreDNS restart).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    fn key(query: &Message) -> Option<CacheKey> {
        let q = query.question()?;
        let dnssec_ok = query.opt().is_some_and(|o| o.ttl & 0x8000 != 0);
        Some(CacheKey { qname: q.name.to_lowercase(), qtype: q.qtype.code(), dnssec_ok })
    }

    /// The stored reply for `query` still alive at `now`, rewritten for this query (its id,
    /// its question spelling, the remaining TTL on every record).
    pub fn lookup(&mut self, query: &Message, now: SimTime) -> Option<Message> {
        let key = Self::key(query)?;
        let item = self.entries.get(&key)?;
        let age = now.saturating_since(item.stored).as_secs();
        let remaining = i64::from(item.ttl) - i64::try_from(age).unwrap_or(i64::MAX);
        if remaining <= 0 {
            self.entries.remove(&key);
            return None;
        }
        let mut reply = item.reply.clone();
        reply.header.id = query.header.id;
        reply.header.flags.rd = query.header.flags.rd;
        reply.questions = query.questions.clone();
        set_ttls(&mut reply, u32::try_from(remaining).unwrap_or(0));
        Some(reply)
    }

    /// Stores `reply` (already TTL-capped by [`cap_ttls`]) when the cache keeps that kind.
    pub fn store(&mut self, query: &Message, reply: &Message, now: SimTime, ttl: u32) {
        if reply.header.flags.tc
            || ttl == 0
            || !matches!(reply.header.rcode, Rcode::NoError | Rcode::NxDomain)
        {
            return;
        }
        if let Some(key) = Self::key(query) {
            self.entries.insert(key, CacheItem { reply: reply.clone(), stored: now, ttl });
        }
    }
}

/// `dnsutil.MinimalTTL`: the smallest TTL of the reply, or of its SOA for a negative answer.
fn minimal_ttl(reply: &Message) -> u32 {
    let negative = reply.header.rcode == Rcode::NxDomain || reply.answers.is_empty();
    if negative {
        return reply
            .authority
            .iter()
            .find_map(|r| match &r.data {
                RData::Soa(soa) => Some(r.ttl.min(soa.minimum)),
                _ => None,
            })
            .unwrap_or(MIN_CACHE_TTL);
    }
    reply
        .answers
        .iter()
        .chain(&reply.authority)
        .chain(&reply.additional)
        .filter(|r| r.rtype() != RecordType::Opt)
        .map(|r| r.ttl)
        .min()
        .unwrap_or(MIN_CACHE_TTL)
}

fn set_ttls(reply: &mut Message, ttl: u32) {
    for r in reply.answers.iter_mut().chain(&mut reply.authority).chain(&mut reply.additional) {
        if r.rtype() != RecordType::Opt {
            r.ttl = ttl;
        }
    }
}

/// cache.go `WriteMsg`: the reply's lifetime clamped to [5, `max_ttl`], written on every
/// record; returns that lifetime.
pub fn cap_ttls(reply: &mut Message, max_ttl: u32) -> u32 {
    let ttl = minimal_ttl(reply).clamp(MIN_CACHE_TTL, max_ttl.max(MIN_CACHE_TTL));
    set_ttls(reply, ttl);
    ttl
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::message::Record;
    use sim_core::SimDuration;
    use std::net::Ipv4Addr;

    fn reply(ttl: u32) -> (Message, Message) {
        let name = Name::parse("google.com").unwrap();
        let q = Message::query(1, name.clone(), RecordType::A);
        let mut r = q.clone();
        r.header.flags.qr = true;
        r.answers.push(Record::new(name, ttl, RData::A(Ipv4Addr::new(142, 250, 74, 14))));
        (q, r)
    }

    #[test]
    fn ttls_are_capped_then_count_down() {
        let (q, mut r) = reply(300);
        let ttl = cap_ttls(&mut r, 30);
        assert_eq!((ttl, r.answers[0].ttl), (30, 30));
        let mut cache = DnsCache::new();
        let t0 = SimTime::ZERO + SimDuration::from_secs(100);
        cache.store(&q, &r, t0, ttl);
        let mut again = q.clone();
        again.header.id = 77;
        let hit = cache.lookup(&again, t0 + SimDuration::from_millis(7_900)).unwrap();
        assert_eq!((hit.header.id, hit.answers[0].ttl), (77, 23));
        assert!(cache.lookup(&again, t0 + SimDuration::from_secs(30)).is_none());
        assert!(cache.is_empty());
        let (_, mut short) = reply(1);
        assert_eq!(cap_ttls(&mut short, 30), MIN_CACHE_TTL);
    }
}
