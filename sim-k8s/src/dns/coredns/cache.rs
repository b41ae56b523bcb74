//! The `cache` plugin: replies remembered in simulated time, served with their TTLs counting
//! down, with every option of CoreDNS v1.11's plugin/cache.
//!
//! Follows coredns v1.11.1 plugin/cache: setup.go (the options, [`CacheConfig`]), cache.go
//! (`key`, `hash`, `computeTTL`, `WriteMsg`, `set`), handler.go (`ServeDNS`, `getIgnoreTTL`,
//! `shouldPrefetch`, `doPrefetch`), item.go (`newItem`, `toMsg`, `ttl`), freq/freq.go,
//! plugin/pkg/cache (256 shards with random eviction), plugin/pkg/dnsutil `MinimalTTL` and
//! plugin/pkg/response `Typify`:
//! - A reply is classified as `Typify` does: NOERROR with answers, NODATA (NOERROR, SOA in
//!   authority), NXDOMAIN (with an SOA), SERVFAIL/NOTIMP ("server error"), a delegation; any
//!   other reply (REFUSED, an NXDOMAIN without SOA, …) and a truncated one is never stored.
//! - Its lifetime is the smallest TTL in it (`MinimalTTL`, at most 3600 s), raised to the MIN
//!   TTL and cut to the TTL of its class: `success CAPACITY [TTL [MINTTL]]` (3600 s, 5 s),
//!   `denial CAPACITY [TTL [MINTTL]]` (1800 s, 5 s) for NXDOMAIN and NODATA; a server error
//!   lives `servfail DURATION` (5 s). `cache TTL` sets both TTLs. Every record of the reply
//!   sent — even on a miss — carries that lifetime; a hit carries what is left of it (whole
//!   seconds, as `int(now.Sub(stored).Seconds())` truncates), or the whole lifetime with
//!   `keepttl`, and goes out with `aa` set (item.go `toMsg`: "we're forced to always set this
//!   to 1"), `ad` only when the query had DO or AD.
//! - The key is FNV-64 of the DO bit, the type and the lower-cased name; each class has its
//!   own capacity (10000), spread over 256 shards of `max(CAPACITY / 256, 4)` entries; a full
//!   shard drops one of its entries to make room. Go drops the first key of a map iteration,
//!   which is random; netsim draws that entry from the cache's seeded stream instead.
//! - `disable success|denial [ZONES...]` keeps that class out of the cache for those zones
//!   (`.` without zones); `cache [TTL] ZONES...` caches only names in ZONES (the server block's
//!   zones by default), other names pass by untouched.
//! - `prefetch AMOUNT [DURATION [PERCENTAGE%]]`: a hit on an entry asked AMOUNT times, each
//!   within DURATION (1m) of the one before, with no more than PERCENTAGE (10%) of its lifetime
//!   left, is answered from the cache and asked again in the background.
//! - `serve_stale [DURATION [immediate|verify]]`: an entry expired less than DURATION (1h) ago
//!   is still found; `immediate` answers it with TTL 0 and refreshes it in the background,
//!   `verify` asks first and answers stale only when the refresh is neither NOERROR nor
//!   NXDOMAIN.
//!
//! Left out: DNSSEC (RRSIG expiry, which `Typify` checks for DO queries), the wildcard
//! metadata, the metrics; a hit carries the OPT record of the stored reply, where CoreDNS's
//! server writes the query's own back (`SizeAndDo`).

use std::collections::BTreeMap;

use sim_core::{SimDuration, SimRng, SimTime};

use super::super::message::{Message, Rcode, Record, RecordType};
use super::super::name::Name;

/// The shortest lifetime the cache gives a reply (`dnsutil.MinimalDefaultTTL`).
pub const MIN_CACHE_TTL: u32 = 5;
/// The longest (`dnsutil.MaximumDefaulTTL`), the default `success` TTL.
pub const MAX_CACHE_TTL: u32 = 3600;
/// The default capacity of each class (`defaultCap`).
pub const DEFAULT_CAPACITY: usize = 10_000;
/// plugin/pkg/cache `shardSize`.
const SHARDS: usize = 256;

/// One class of the cache (`success` or `denial`): its capacity and TTL bounds, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheClass {
    /// CAPACITY: entries the class holds.
    pub capacity: usize,
    /// TTL: the longest lifetime.
    pub max_ttl: u32,
    /// MINTTL: the shortest lifetime.
    pub min_ttl: u32,
}

/// `serve_stale [DURATION] [REFRESH_MODE]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeStale {
    /// How long after expiry an entry is still served (`staleUpTo`, default 1h).
    pub up_to: SimDuration,
    /// `verify`: ask the rest of the chain first; `immediate` (false): answer stale at once.
    pub verify: bool,
}

/// The settings of one `cache` directive (setup.go `cacheParse`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// The zones whose names are cached (`cache [TTL] ZONES...`, else the server block's).
    pub zones: Vec<Name>,
    /// `success`: positive answers and delegations.
    pub success: CacheClass,
    /// `denial`: NXDOMAIN, NODATA and server errors.
    pub denial: CacheClass,
    /// `servfail DURATION`: the lifetime of SERVFAIL and NOTIMP replies (default 5 s; 0 keeps
    /// them out).
    pub servfail: SimDuration,
    /// `prefetch AMOUNT`: hits before an entry is refreshed early (0: never).
    pub prefetch: u32,
    /// `prefetch AMOUNT DURATION`: the longest gap between those hits (default 1m).
    pub prefetch_duration: SimDuration,
    /// `prefetch AMOUNT DURATION PERCENTAGE%`: the share of the lifetime left at which the
    /// refresh starts (default 10).
    pub prefetch_percentage: u32,
    /// `serve_stale`.
    pub serve_stale: Option<ServeStale>,
    /// `disable success ZONES...`.
    pub disable_success: Vec<Name>,
    /// `disable denial ZONES...`.
    pub disable_denial: Vec<Name>,
    /// `keepttl`: hits carry the whole lifetime.
    pub keepttl: bool,
}

impl CacheConfig {
    /// `cache` with no arguments for a server block of `zones` (cache.go `New`).
    pub fn new(zones: Vec<Name>) -> Self {
        CacheConfig {
            zones,
            success: CacheClass {
                capacity: DEFAULT_CAPACITY,
                max_ttl: MAX_CACHE_TTL,
                min_ttl: MIN_CACHE_TTL,
            },
            denial: CacheClass {
                capacity: DEFAULT_CAPACITY,
                max_ttl: MAX_CACHE_TTL / 2,
                min_ttl: MIN_CACHE_TTL,
            },
            servfail: SimDuration::from_secs(u64::from(MIN_CACHE_TTL)),
            prefetch: 0,
            prefetch_duration: SimDuration::from_secs(60),
            prefetch_percentage: 10,
            serve_stale: None,
            disable_success: Vec::new(),
            disable_denial: Vec::new(),
            keepttl: false,
        }
    }

    /// `cache TTL` for `zones` (kubeadm's `cache 30` in `.`).
    pub fn with_ttl(zones: Vec<Name>, ttl: u32) -> Self {
        let mut c = CacheConfig::new(zones);
        c.success.max_ttl = ttl;
        c.denial.max_ttl = ttl;
        c
    }

    /// `plugin.Zones(c.Zones).Matches`: whether the cache handles `name`.
    pub fn covers(&self, name: &Name) -> bool {
        self.zones.iter().any(|z| name.is_subdomain_of(z))
    }

    /// The TTL written in the Corefile's `cache TTL` form, when both classes share it.
    pub fn ttl(&self) -> u32 {
        self.success.max_ttl
    }

    fn stale_secs(&self) -> i64 {
        self.serve_stale.map_or(0, |s| i64::try_from(s.up_to.as_secs()).unwrap_or(i64::MAX))
    }
}

/// `response.Type`: what kind of reply a message is, for caching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyType {
    /// A positive answer.
    NoError,
    /// NXDOMAIN with an SOA.
    NameError,
    /// SERVFAIL or NOTIMP.
    ServerError,
    /// NOERROR, no answers, an SOA.
    NoData,
    /// NOERROR, no answers, NS records in authority.
    Delegation,
    /// NOTIFY, AXFR, IXFR.
    Meta,
    /// A dynamic update.
    Update,
    /// Anything else: never cached.
    OtherError,
}

/// plugin/pkg/response `Typify` (without the RRSIG expiry check).
pub fn typify(m: &Message) -> ReplyType {
    match m.header.flags.opcode {
        5 => return ReplyType::Update,
        4 => return ReplyType::Meta,
        _ => {}
    }
    if m.question().is_some_and(|q| matches!(q.qtype.code(), 251 | 252)) {
        return ReplyType::Meta;
    }
    let rcode = m.header.rcode;
    if !m.answers.is_empty() && rcode == Rcode::NoError {
        return ReplyType::NoError;
    }
    let soa = m.authority.iter().any(|r| r.rtype() == RecordType::Soa);
    let ns = m.authority.iter().any(|r| r.rtype() == RecordType::Ns);
    match rcode {
        Rcode::NoError if soa => ReplyType::NoData,
        Rcode::NxDomain if soa => ReplyType::NameError,
        Rcode::ServFail | Rcode::NotImp => ReplyType::ServerError,
        Rcode::NoError if ns => ReplyType::Delegation,
        Rcode::NoError => ReplyType::NoError,
        _ => ReplyType::OtherError,
    }
}

/// dnsutil `MinimalTTL`: the smallest TTL of the reply's records (OPT aside), at most 3600;
/// 5 for other types than NOERROR, NXDOMAIN and NODATA and for a reply without records.
pub fn minimal_ttl(m: &Message, mt: ReplyType) -> u32 {
    if !matches!(mt, ReplyType::NoError | ReplyType::NameError | ReplyType::NoData) {
        return MIN_CACHE_TTL;
    }
    let records =
        m.answers.iter().chain(&m.authority).chain(&m.additional).filter(|r| r.rtype() != RecordType::Opt);
    records
        .map(|r| r.ttl)
        .fold(None, |acc: Option<u32>, t| Some(acc.map_or(t, |a| a.min(t))))
        .map_or(MIN_CACHE_TTL, |t| t.min(MAX_CACHE_TTL))
}

/// cache.go `computeTTL`.
pub fn compute_ttl(msg_ttl: u32, min_ttl: u32, max_ttl: u32) -> u32 {
    msg_ttl.max(min_ttl).min(max_ttl)
}

/// `hash`: FNV-1 64 of the DO bit (`"1"`/`"0"`), the type (big-endian) and the lower-cased
/// name.
pub fn hash(qname: &str, qtype: u16, dnssec_ok: bool) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut write = |bytes: &[u8]| {
        for &b in bytes {
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
            h ^= u64::from(b);
        }
    };
    write(if dnssec_ok { b"1" } else { b"0" });
    write(&qtype.to_be_bytes());
    write(qname.as_bytes());
    h
}

fn dnssec_ok(query: &Message) -> bool {
    query.opt().is_some_and(|o| o.ttl & 0x8000 != 0)
}

fn key_of(query: &Message) -> Option<u64> {
    let q = query.question()?;
    Some(hash(&q.name.to_lowercase().to_string(), q.qtype.code(), dnssec_ok(query)))
}

/// A stored reply (item.go `item`).
#[derive(Clone, Debug)]
struct Item {
    name: Name,
    qtype: u16,
    rcode: Rcode,
    ad: bool,
    ra: bool,
    /// The reply as stored (its sections carry the lifetime as TTL).
    reply: Message,
    orig_ttl: u32,
    stored: SimTime,
    /// freq.go: the last hit counted, and the hits in a row.
    last_hit: Option<SimTime>,
    hits: u32,
}

impl Item {
    /// `ttl`: seconds left (negative once expired).
    fn ttl(&self, now: SimTime) -> i64 {
        i64::from(self.orig_ttl)
            - i64::try_from(now.saturating_since(self.stored).as_secs()).unwrap_or(i64::MAX)
    }

    fn matches(&self, query: &Message) -> bool {
        query.question().is_some_and(|q| q.qtype.code() == self.qtype && q.name.eq_ignore_case(&self.name))
    }

    /// `toMsg`: the reply for `query` with `ttl` on every record.
    fn to_msg(&self, query: &Message, ttl: u32) -> Message {
        let mut m = self.reply.clone();
        m.header.id = query.header.id;
        m.header.flags.qr = true;
        m.header.flags.opcode = query.header.flags.opcode;
        m.header.flags.rd = query.header.flags.rd;
        m.header.flags.cd = query.header.flags.cd;
        m.header.flags.tc = false;
        m.header.flags.aa = true;
        m.header.flags.ad = self.ad && (dnssec_ok(query) || query.header.flags.ad);
        m.header.flags.ra = self.ra;
        m.header.rcode = self.rcode;
        m.questions = query.questions.iter().take(1).cloned().collect();
        set_ttls(&mut m, ttl);
        m
    }

    /// freq.go `Update`: a hit within `d` of the last one counts on, else counting restarts.
    fn count_hit(&mut self, d: SimDuration, now: SimTime) -> u32 {
        let within = match (self.last_hit, now.as_nanos().checked_sub(d.as_nanos())) {
            (Some(last), Some(earliest)) => last.as_nanos() >= earliest,
            (Some(_), None) => true,
            (None, _) => false,
        };
        self.hits = if within { self.hits + 1 } else { 1 };
        self.last_hit = Some(now);
        self.hits
    }
}

/// One class's store: plugin/pkg/cache's 256 shards.
#[derive(Clone, Debug, Default)]
struct Shards {
    shards: Vec<BTreeMap<u64, Item>>,
}

impl Shards {
    fn get(&self, key: u64) -> Option<&Item> {
        self.shards.get(shard_of(key))?.get(&key)
    }

    fn get_mut(&mut self, key: u64) -> Option<&mut Item> {
        self.shards.get_mut(shard_of(key))?.get_mut(&key)
    }

    fn remove(&mut self, key: u64) {
        if let Some(s) = self.shards.get_mut(shard_of(key)) {
            s.remove(&key);
        }
    }

    /// `Add`: overwrites; a full shard first drops one other entry (drawn from `rng`).
    /// Returns whether one was dropped.
    fn add(&mut self, capacity: usize, key: u64, item: Item, rng: &mut SimRng) -> bool {
        if self.shards.is_empty() {
            self.shards = vec![BTreeMap::new(); SHARDS];
        }
        let shard_size = (capacity / SHARDS).max(4);
        let shard = &mut self.shards[shard_of(key)];
        let mut evicted = false;
        if shard.len() >= shard_size
            && !shard.contains_key(&key)
            && let Some(victim) = shard.keys().nth(rng.index(shard.len())).copied()
        {
            shard.remove(&victim);
            evicted = true;
        }
        shard.insert(key, item);
        evicted
    }

    fn len(&self) -> usize {
        self.shards.iter().map(BTreeMap::len).sum()
    }
}

fn shard_of(key: u64) -> usize {
    (key & (SHARDS as u64 - 1)) as usize
}

/// What the cache has for a query (handler.go `ServeDNS` up to the write).
#[derive(Clone, Debug)]
pub enum Found {
    /// The name is outside the cache's zones: the chain answers and the reply passes untouched.
    Bypass,
    /// Nothing (alive, or stale within `serve_stale`): the chain answers and the reply is
    /// written through [`DnsCache::store`].
    Miss,
    /// An answer from the cache. `refresh`: also ask the chain in the background (prefetch,
    /// or a stale entry with `serve_stale immediate`) and [`DnsCache::refresh`] the entry.
    Hit {
        /// The reply for the client.
        reply: Message,
        /// Whether a background refresh starts.
        refresh: bool,
    },
    /// A stale entry with `serve_stale verify`: the chain is asked first; a NOERROR or NXDOMAIN
    /// answer is written through [`DnsCache::store`], anything else is dropped and this reply
    /// (TTL 0) is sent instead.
    Verify {
        /// The stale reply.
        stale: Message,
    },
}

/// Cached replies of one CoreDNS instance (its `pcache` and `ncache`).
#[derive(Clone, Debug)]
pub struct DnsCache {
    success: Shards,
    denial: Shards,
    /// The stream that picks the entry a full shard drops.
    rng: SimRng,
}

impl Default for DnsCache {
    fn default() -> Self {
        DnsCache::with_rng(SimRng::new(0).fork("coredns/cache"))
    }
}

impl DnsCache {
    /// An empty cache (its evictions drawn from a fixed stream).
    pub fn new() -> Self {
        DnsCache::default()
    }

    /// An empty cache whose evictions draw from `rng`.
    pub fn with_rng(rng: SimRng) -> Self {
        DnsCache { success: Shards::default(), denial: Shards::default(), rng }
    }

    /// Number of stored replies (expired ones included: CoreDNS never sweeps them).
    pub fn len(&self) -> usize {
        self.success.len() + self.denial.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets everything (a CoreDNS restart).
    pub fn clear(&mut self) {
        self.success = Shards::default();
        self.denial = Shards::default();
    }

    /// `getIgnoreTTL`: the denial entry, then the success one, that matches the query and is
    /// alive or stale within `serve_stale`.
    fn find(&self, config: &CacheConfig, key: u64, query: &Message, now: SimTime) -> Option<(bool, &Item)> {
        let stale = config.stale_secs();
        let usable = |i: &Item| {
            let ttl = i.ttl(now);
            i.matches(query) && (ttl > 0 || (stale > 0 && -ttl < stale))
        };
        if let Some(i) = self.denial.get(key).filter(|i| usable(i)) {
            return Some((false, i));
        }
        self.success.get(key).filter(|i| usable(i)).map(|i| (true, i))
    }

    /// handler.go `ServeDNS` for `query` at `now`, up to the point where the chain is asked.
    pub fn lookup(&mut self, config: &CacheConfig, query: &Message, now: SimTime) -> Found {
        let Some(q) = query.question() else { return Found::Bypass };
        if !config.covers(&q.name) {
            return Found::Bypass;
        }
        let Some(key) = key_of(query) else { return Found::Bypass };
        let Some((positive, item)) = self.find(config, key, query, now) else { return Found::Miss };
        let ttl = item.ttl(now);
        if ttl < 0 {
            let stale = item.to_msg(query, 0);
            if config.serve_stale.is_some_and(|s| s.verify) {
                return Found::Verify { stale };
            }
            return Found::Hit { reply: stale, refresh: true };
        }
        let orig_ttl = item.orig_ttl;
        let shown = if config.keepttl { orig_ttl } else { u32::try_from(ttl).unwrap_or(0) };
        let reply = item.to_msg(query, shown);
        // shouldPrefetch counts the hit on the item found.
        let mut refresh = false;
        if config.prefetch > 0 {
            let class = if positive { &mut self.success } else { &mut self.denial };
            if let Some(item) = class.get_mut(key) {
                let hits = item.count_hit(config.prefetch_duration, now);
                let threshold = (u64::from(config.prefetch_percentage) * u64::from(orig_ttl)).div_ceil(100);
                refresh = hits >= config.prefetch && ttl <= i64::try_from(threshold).unwrap_or(i64::MAX);
            }
        }
        Found::Hit { reply, refresh }
    }

    /// `ResponseWriter.WriteMsg` for the reply the chain gave `query` at `now`: stored when
    /// cacheable, and returned with its lifetime on every record, as the client gets it.
    pub fn store(&mut self, config: &CacheConfig, query: &Message, reply: Message, now: SimTime) -> Message {
        self.write(config, query, reply, now, None)
    }

    /// The background refresh of an entry (a prefetch writer: stored, nothing sent): the new
    /// entry keeps the hit count of the one it replaces (`doPrefetch`), and a positive answer
    /// drops the denial entry of its key.
    pub fn refresh(&mut self, config: &CacheConfig, query: &Message, reply: Message, now: SimTime) {
        let hits = key_of(query)
            .and_then(|k| self.denial.get(k).or_else(|| self.success.get(k)))
            .map_or(0, |i| i.hits);
        self.write(config, query, reply, now, Some((now, hits)));
    }

    fn write(
        &mut self,
        config: &CacheConfig,
        query: &Message,
        mut reply: Message,
        now: SimTime,
        prefetch: Option<(SimTime, u32)>,
    ) -> Message {
        if query.question().is_some_and(|q| !config.covers(&q.name)) {
            return reply;
        }
        let mt = typify(&reply);
        let msg_ttl = minimal_ttl(&reply, mt);
        let duration = match mt {
            ReplyType::NameError | ReplyType::NoData => {
                u64::from(compute_ttl(msg_ttl, config.denial.min_ttl, config.denial.max_ttl))
            }
            ReplyType::ServerError => config.servfail.as_secs(),
            _ => u64::from(compute_ttl(msg_ttl, config.success.min_ttl, config.success.max_ttl)),
        };
        let ttl = u32::try_from(duration).unwrap_or(u32::MAX);
        let cacheable = !reply.header.flags.tc
            && !matches!(mt, ReplyType::OtherError | ReplyType::Meta | ReplyType::Update)
            && (mt != ReplyType::ServerError || config.servfail != SimDuration::ZERO);
        let key = key_of(query);
        // `state.Match`: the reply answers this question.
        let matched = reply.header.flags.qr
            && match (query.question(), reply.question()) {
                (Some(q), Some(r)) => q.qtype == r.qtype && q.name.eq_ignore_case(&r.name),
                _ => false,
            };
        let mut stored = reply.clone();
        set_ttls(&mut stored, ttl);
        if let (true, true, Some(key), Some(r)) = (cacheable && duration > 0, matched, key, reply.question())
        {
            let item = Item {
                name: r.name.clone(),
                qtype: r.qtype.code(),
                rcode: reply.header.rcode,
                ad: reply.header.flags.ad,
                ra: reply.header.flags.ra,
                reply: stored.clone(),
                orig_ttl: ttl,
                stored: now,
                last_hit: prefetch.map(|(at, _)| at),
                hits: prefetch.map_or(0, |(_, hits)| hits),
            };
            match mt {
                ReplyType::NoError | ReplyType::Delegation => {
                    if !in_zones(&config.disable_success, &r.name) {
                        self.success.add(config.success.capacity, key, item, &mut self.rng);
                        if prefetch.is_some() {
                            self.denial.remove(key);
                        }
                    }
                }
                _ => {
                    if !in_zones(&config.disable_denial, &r.name) {
                        self.denial.add(config.denial.capacity, key, item, &mut self.rng);
                    }
                }
            }
        }
        reply = stored;
        if !dnssec_ok(query) && !query.header.flags.ad {
            reply.header.flags.ad = false;
        }
        reply
    }
}

/// The cache's TTL on a reply that is not stored (a path without a cache of its own): what
/// [`DnsCache::store`] returns, with nothing kept.
pub fn cap_ttls(config: &CacheConfig, query: &Message, reply: &mut Message) {
    if query.question().is_some_and(|q| !config.covers(&q.name)) {
        return;
    }
    let mt = typify(reply);
    let msg_ttl = minimal_ttl(reply, mt);
    let ttl = match mt {
        ReplyType::NameError | ReplyType::NoData => {
            compute_ttl(msg_ttl, config.denial.min_ttl, config.denial.max_ttl)
        }
        ReplyType::ServerError => u32::try_from(config.servfail.as_secs()).unwrap_or(u32::MAX),
        _ => compute_ttl(msg_ttl, config.success.min_ttl, config.success.max_ttl),
    };
    set_ttls(reply, ttl);
}

fn in_zones(zones: &[Name], name: &Name) -> bool {
    zones.iter().any(|z| name.is_subdomain_of(z))
}

fn set_ttls(reply: &mut Message, ttl: u32) {
    let records: [&mut Vec<Record>; 3] = [&mut reply.answers, &mut reply.authority, &mut reply.additional];
    for section in records {
        for r in section.iter_mut() {
            if r.rtype() != RecordType::Opt {
                r.ttl = ttl;
            }
        }
    }
}

/// handler.go `ServeDNS` with a chain that answers in the instant it is asked (`next`; `None`
/// is a plugin error, which the server writes as SERVFAIL past the cache): a background
/// refresh runs at once.
pub fn serve(
    cache: &mut DnsCache,
    config: &CacheConfig,
    query: &Message,
    now: SimTime,
    mut next: impl FnMut(&Message) -> Option<Message>,
) -> Option<Message> {
    match cache.lookup(config, query, now) {
        Found::Bypass => next(query),
        Found::Miss => next(query).map(|r| cache.store(config, query, r, now)),
        Found::Hit { reply, refresh } => {
            if refresh && let Some(r) = next(query) {
                cache.refresh(config, query, r, now);
            }
            Some(reply)
        }
        Found::Verify { stale } => match next(query) {
            Some(r) if matches!(r.header.rcode, Rcode::NoError | Rcode::NxDomain) => {
                Some(cache.store(config, query, r, now))
            }
            _ => Some(stale),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::message::{RData, Soa};
    use std::net::Ipv4Addr;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn at(secs: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(secs)
    }

    fn query(n: &str, t: RecordType) -> Message {
        Message::query(1, name(n), t)
    }

    fn answer(q: &Message, ttl: u32) -> Message {
        let mut r = q.clone();
        r.header.flags.qr = true;
        r.header.flags.ra = true;
        let n = q.question().unwrap().name.clone();
        r.answers.push(Record::new(n, ttl, RData::A(Ipv4Addr::new(127, 0, 0, 1))));
        r
    }

    fn soa(zone: &str, ttl: u32) -> Record {
        let z = name(zone);
        Record::new(
            z.clone(),
            ttl,
            RData::Soa(Soa {
                mname: name("sns.dns.icann.org"),
                rname: name("noc.dns.icann.org"),
                serial: 2016082540,
                refresh: 7200,
                retry: 3600,
                expire: 1209600,
                minimum: ttl,
            }),
        )
    }

    fn with_rcode(q: &Message, rcode: Rcode, ns: Vec<Record>) -> Message {
        let mut r = q.clone();
        r.header.flags.qr = true;
        r.header.rcode = rcode;
        r.authority = ns;
        r
    }

    fn root() -> CacheConfig {
        CacheConfig::new(vec![Name::root()])
    }

    #[test]
    fn ttls_are_capped_then_count_down() {
        let q = query("google.com", RecordType::A);
        let mut cache = DnsCache::new();
        let c = CacheConfig::with_ttl(vec![Name::root()], 30);
        let sent = cache.store(&c, &q, answer(&q, 300), at(100));
        assert_eq!(sent.answers[0].ttl, 30);
        let mut again = q.clone();
        again.header.id = 77;
        let Found::Hit { reply, refresh } =
            cache.lookup(&c, &again, at(100) + SimDuration::from_millis(7_900))
        else {
            panic!("no hit")
        };
        assert_eq!((reply.header.id, reply.answers[0].ttl, refresh), (77, 23, false));
        // A hit goes out authoritative (item.go `toMsg`).
        assert!(reply.header.flags.aa && reply.header.flags.ra);
        assert!(matches!(cache.lookup(&c, &again, at(130)), Found::Miss));
        // A short TTL is raised to the 5 s floor.
        let sent = cache.store(&c, &q, answer(&q, 1), at(200));
        assert_eq!(sent.answers[0].ttl, MIN_CACHE_TTL);
    }

    /// cache_test.go `cacheTestCases`: what is stored, with the exceptions
    /// `disable denial neg-disabled.example.org` and `disable success pos-disabled.example.org`.
    #[test]
    fn cache_test_cases() {
        let mut c = root();
        c.disable_denial = vec![name("neg-disabled.example.org")];
        c.disable_success = vec![name("pos-disabled.example.org")];
        let nx = |n: &str| {
            let q = query(n, RecordType::A);
            let r = with_rcode(&q, Rcode::NxDomain, vec![soa("example.org", 3600)]);
            (q, r)
        };
        let pos = |n: &str| {
            let q = query(n, RecordType::A);
            let r = answer(&q, 3600);
            (q, r)
        };
        let mut truncated = pos("miek.nl");
        truncated.1.header.flags.tc = true;
        let servfail = query("example.org", RecordType::A);
        let servfail = (servfail.clone(), with_rcode(&servfail, Rcode::ServFail, vec![]));
        let notimp = query("example.net", RecordType::A);
        let notimp = (notimp.clone(), with_rcode(&notimp, Rcode::NotImp, vec![]));
        let refused = query("example.com", RecordType::A);
        let refused = (refused.clone(), with_rcode(&refused, Rcode::Refused, vec![]));
        let nx_without_soa = query("nosoa.example.org", RecordType::A);
        let nx_without_soa = (nx_without_soa.clone(), with_rcode(&nx_without_soa, Rcode::NxDomain, vec![]));
        let cases = [
            (pos("miek.nl"), true),
            (truncated, false),
            (nx("example.org"), true),
            (servfail, true),
            (notimp, true),
            (refused, false),
            (nx_without_soa, false),
            (nx("neg-disabled.example.org"), false),
            (pos("pos-disabled.example.org"), false),
            (nx("pos-disabled.example.org"), true),
            (pos("neg-disabled.example.org"), true),
        ];
        for (i, ((q, r), cached)) in cases.into_iter().enumerate() {
            let mut cache = DnsCache::new();
            cache.store(&c, &q, r.clone(), at(0));
            let found = cache.lookup(&c, &q, at(1));
            assert_eq!(matches!(found, Found::Hit { .. }), cached, "case {i}: {found:?}");
            if let Found::Hit { reply, .. } = found {
                assert_eq!(reply.header.rcode, r.header.rcode, "case {i}");
                assert_eq!(reply.answers.len() + reply.authority.len(), r.answers.len() + r.authority.len());
            }
        }
        // Case does not matter: mIEK.nL. finds miek.nl.
        let mut cache = DnsCache::new();
        let (q, r) = pos("miek.nl");
        cache.store(&c, &q, r, at(0));
        assert!(matches!(cache.lookup(&c, &query("mIEK.nL", RecordType::A), at(1)), Found::Hit { .. }));
        // The DO bit is part of the key.
        let mut dnssec = q.clone();
        dnssec.set_edns(1232, vec![]);
        if let Some(o) = dnssec.additional.last_mut() {
            o.ttl |= 0x8000;
        }
        assert!(matches!(cache.lookup(&c, &dnssec, at(1)), Found::Miss));
    }

    /// cache_test.go `TestCacheZeroTTL` and `TestCacheServfailTTL0`.
    #[test]
    fn zero_lifetimes_are_not_stored() {
        let mut c = root();
        c.success.min_ttl = 0;
        c.denial.min_ttl = 0;
        let q = query("example.org", RecordType::A);
        let mut cache = DnsCache::new();
        cache.store(&c, &q, answer(&q, 0), at(0));
        assert!(cache.is_empty());
        let mut c = root();
        c.servfail = SimDuration::ZERO;
        cache.store(&c, &q, with_rcode(&q, Rcode::ServFail, vec![]), at(0));
        assert!(cache.is_empty());
    }

    /// cache_test.go `TestServeFromStaleCache`: with `serve_stale 1h` a 60 s entry is served up
    /// to an hour after it expired, then asked again.
    #[test]
    fn serve_from_stale_cache() {
        let mut c = root();
        c.serve_stale = Some(ServeStale { up_to: SimDuration::from_secs(3600), verify: false });
        let q = query("cached.org", RecordType::A);
        let mut cache = DnsCache::new();
        let first = serve(&mut cache, &c, &q, at(0), |m| Some(answer(m, 60)));
        assert_eq!(first.unwrap().answers[0].ttl, 60);
        for (minutes, from_cache) in [(30, true), (60, true), (70, false)] {
            let mut asked = false;
            let mut scratch = cache.clone();
            let r = serve(&mut scratch, &c, &q, at(minutes * 60), |_| {
                asked = true;
                None
            });
            assert_eq!((r.is_some(), asked), (from_cache, true), "after {minutes}m");
            if let Some(r) = r {
                assert_eq!(r.answers[0].ttl, 0);
            }
        }
        let other = query("notcached.org", RecordType::A);
        assert!(matches!(cache.lookup(&c, &other, at(30 * 60)), Found::Miss));
    }

    /// cache_test.go `TestServeFromStaleCacheFetchVerify`.
    #[test]
    fn serve_from_stale_cache_fetch_verify() {
        let mut c = root();
        c.serve_stale = Some(ServeStale { up_to: SimDuration::from_secs(3600), verify: true });
        let q = query("cached.org", RecordType::A);
        let mut cache = DnsCache::new();
        serve(&mut cache, &c, &q, at(0), |m| Some(answer(m, 120)));
        let nx = |m: &Message, ttl| with_rcode(m, Rcode::NxDomain, vec![soa("org", ttl)]);
        // (minute, upstream rcode and TTL, rcode and TTL the client sees)
        let steps = [
            (1, Rcode::NoError, 200, Rcode::NoError, 60),
            (3, Rcode::NoError, 200, Rcode::NoError, 200),
            (7, Rcode::ServFail, 200, Rcode::NoError, 0),
            (8, Rcode::NxDomain, 150, Rcode::NxDomain, 150),
        ];
        for (minute, up, up_ttl, rcode, ttl) in steps {
            let r = serve(&mut cache, &c, &q, at(minute * 60), |m| {
                Some(match up {
                    Rcode::NoError => answer(m, up_ttl),
                    Rcode::NxDomain => nx(m, up_ttl),
                    _ => with_rcode(m, up, vec![]),
                })
            })
            .unwrap();
            assert_eq!(r.header.rcode, rcode, "minute {minute}");
            let shown = r.answers.first().or(r.authority.first()).unwrap().ttl;
            assert_eq!(shown, ttl, "minute {minute}");
        }
    }

    /// cache_test.go `TestComputeTTL`.
    #[test]
    fn compute_ttl_bounds() {
        assert_eq!(compute_ttl(1800, 0, 3600), 1800);
        assert_eq!(compute_ttl(299, 300, 3600), 300);
        assert_eq!(compute_ttl(299, 0, 3600), 299);
        assert_eq!(compute_ttl(3601, 0, 3600), 3600);
    }

    /// cache_test.go `TestCacheKeepTTL`: hits carry the lifetime the reply was stored with.
    #[test]
    fn keepttl_keeps_the_lifetime() {
        let mut c = root();
        c.keepttl = true;
        let q = query("cached.org", RecordType::A);
        let mut cache = DnsCache::new();
        serve(&mut cache, &c, &q, at(0), |m| Some(answer(m, 60)));
        let r = serve(&mut cache, &c, &q, at(50), |_| None).unwrap();
        assert_eq!(r.answers[0].ttl, 60);
    }

    /// prefetch_test.go: `prefetch 1` refreshes a hit in the last 10% of its lifetime (ceil);
    /// `prefetch 2 1m` needs two hits no more than a minute apart.
    #[test]
    fn prefetch_refreshes_popular_entries_near_expiry() {
        let mut c = root();
        c.prefetch = 1;
        let q = query("prefetch.example.org", RecordType::A);
        let mut cache = DnsCache::new();
        let mut asked = 0;
        let mut upstream = |m: &Message| {
            asked += 1;
            Some(answer(m, 80))
        };
        serve(&mut cache, &c, &q, at(0), &mut upstream);
        // 80 s: the threshold is 8 s; at 71 s 9 s are left, at 72 s 8 s.
        assert!(matches!(cache.lookup(&c, &q, at(71)), Found::Hit { refresh: false, .. }));
        assert!(matches!(cache.lookup(&c, &q, at(72)), Found::Hit { refresh: true, .. }));
        let r = serve(&mut cache, &c, &q, at(73), &mut upstream).unwrap();
        assert_eq!((r.answers[0].ttl, asked), (7, 2));
        // The refreshed entry lives 80 s from 73 s.
        let Found::Hit { reply, .. } = cache.lookup(&c, &q, at(100)) else { panic!("no hit") };
        assert_eq!(reply.answers[0].ttl, 53);

        c.prefetch = 2;
        let mut cache = DnsCache::new();
        cache.store(&c, &q, answer(&q, 80), at(0));
        assert!(matches!(cache.lookup(&c, &q, at(10)), Found::Hit { refresh: false, .. }));
        // More than a minute since the last hit: counting starts again.
        assert!(matches!(cache.lookup(&c, &q, at(73)), Found::Hit { refresh: false, .. }));
        assert!(matches!(cache.lookup(&c, &q, at(74)), Found::Hit { refresh: true, .. }));
    }

    /// `success 1`: a shard holds at least 4 entries, so the class holds 256 * 4; keys that
    /// fall in one shard push each other out, one drawn from the seeded stream.
    #[test]
    fn a_full_shard_drops_one_entry() {
        let mut c = root();
        c.success.capacity = 1;
        let mut cache = DnsCache::with_rng(SimRng::new(7).fork("cache"));
        let mut same_shard = Vec::new();
        for i in 0.. {
            let n = format!("host{i}.example.org.");
            if shard_of(hash(&n, 1, false)) == 0 {
                same_shard.push(n);
                if same_shard.len() == 6 {
                    break;
                }
            }
        }
        for n in &same_shard {
            let q = query(n, RecordType::A);
            cache.store(&c, &q, answer(&q, 60), at(0));
        }
        assert_eq!(cache.len(), 4);
        let kept: Vec<bool> = same_shard
            .iter()
            .map(|n| matches!(cache.lookup(&c, &query(n, RecordType::A), at(1)), Found::Hit { .. }))
            .collect();
        // The last one written is always there.
        assert!(kept[5]);
        assert_eq!(kept.iter().filter(|k| **k).count(), 4);
    }

    #[test]
    fn names_outside_the_zones_pass_untouched() {
        let c = CacheConfig::with_ttl(vec![name("example.org")], 30);
        let q = query("example.com", RecordType::A);
        let mut cache = DnsCache::new();
        assert!(matches!(cache.lookup(&c, &q, at(0)), Found::Bypass));
        let r = serve(&mut cache, &c, &q, at(0), |m| Some(answer(m, 300))).unwrap();
        assert_eq!(r.answers[0].ttl, 300);
        assert!(cache.is_empty());
    }

    /// The key is FNV-1 64 (Go's `hash/fnv.New64`): the empty input gives the offset basis.
    #[test]
    fn hash_is_fnv1_64() {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in b"0\x00\x01a." {
            h = h.wrapping_mul(0x0000_0100_0000_01b3) ^ u64::from(*b);
        }
        assert_eq!(hash("a.", 1, false), h);
        assert_ne!(hash("a.", 1, false), hash("a.", 1, true));
    }

    #[test]
    fn minimal_ttl_and_typify() {
        let q = query("example.org", RecordType::A);
        assert_eq!(typify(&answer(&q, 10)), ReplyType::NoError);
        assert_eq!(minimal_ttl(&answer(&q, 4000), ReplyType::NoError), MAX_CACHE_TTL);
        let nodata = with_rcode(&q, Rcode::NoError, vec![soa("example.org", 60)]);
        assert_eq!(typify(&nodata), ReplyType::NoData);
        assert_eq!(minimal_ttl(&nodata, ReplyType::NoData), 60);
        assert_eq!(typify(&with_rcode(&q, Rcode::NoError, vec![])), ReplyType::NoError);
        assert_eq!(minimal_ttl(&with_rcode(&q, Rcode::NoError, vec![]), ReplyType::NoError), MIN_CACHE_TTL);
        assert_eq!(typify(&with_rcode(&q, Rcode::Refused, vec![])), ReplyType::OtherError);
    }
}
