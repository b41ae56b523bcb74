//! The stub resolver inside a pod: which names it asks for, in which order, and when it stops.
//!
//! A step machine: [`StubResolver::step`] says which query to send next (or that the lookup is
//! over); the caller carries it through the simulated network and hands back the response or
//! a timeout with [`StubResolver::feed`]. Flavours follow glibc resolv/res_query.c
//! (`__res_context_search`), musl src/network/lookup_name.c (`name_from_dns_search`) and bind9
//! bin/dig (dighost.c `next_origin`, nslookup.c `printmessage`); see [`ResolverFlavour`].
//! Retries follow resolv.conf `timeout`/`attempts` (same query, next nameserver); a truncated
//! answer is asked again over TCP.
//! Simplifications: the A and AAAA of one candidate go one after the other (the libcs send them
//! together); musl's parallel queries to all nameservers are modelled as glibc's round-robin;
//! /etc/hosts is not consulted; `rotate`, `single-request`, `edns0`, `trust-ad` have no effect.

use std::net::IpAddr;

use super::message::{Message, RData, Rcode, RecordType};
use super::name::Name;
use super::resolv_conf::ResolvConf;

/// Which resolver implementation walks the search list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolverFlavour {
    /// glibc (Debian/Ubuntu/RHEL-based images; busybox's default build): with `dots >= ndots`
    /// the name as-is first, then the search list; fewer dots: search list, then as-is; a
    /// trailing dot: as-is only. NXDOMAIN, NODATA (remembered and reported if nothing answers)
    /// and SERVFAIL move on; a timeout ends the search list (the as-is try still follows).
    /// A and AAAA are asked for every candidate (getaddrinfo `AF_UNSPEC`).
    Glibc,
    /// musl (alpine, `nginx:alpine`, `busybox:*-musl`): with `dots >= ndots` or a trailing dot
    /// no search at all; otherwise search list, then as-is. Only NXDOMAIN moves on: NODATA,
    /// SERVFAIL or a timeout end the lookup (the classic Alpine surprise).
    Musl,
    /// bind9's dighost (`nslookup`, `dig +search`): glibc's order, moving on only on NXDOMAIN;
    /// nslookup's AAAA follow-up is asked only after a NOERROR A, for the CNAME-chased name.
    Bind9,
}

impl ResolverFlavour {
    /// The libc of a container image, by its reference: musl for Alpine-based images
    /// (`alpine`, `*:alpine`, `*-alpine*`, `busybox:*musl*`), glibc otherwise. The plain
    /// `busybox` tags are the glibc build on Docker Hub (`busybox:uclibc` behaves like glibc
    /// here: same search order, NODATA does not stop it).
    pub fn for_image(image: &str) -> Self {
        let repo_tag = image.rsplit('/').next().unwrap_or(image);
        let (repo, tag) = repo_tag.split_once(':').unwrap_or((repo_tag, "latest"));
        let tag = tag.split('@').next().unwrap_or(tag);
        if repo == "alpine" || tag.contains("alpine") || (repo == "busybox" && tag.contains("musl")) {
            ResolverFlavour::Musl
        } else {
            ResolverFlavour::Glibc
        }
    }
}

/// Which addresses are wanted (getaddrinfo's `ai_family`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressFamily {
    /// IPv4 only: A queries.
    Inet,
    /// IPv6 only: AAAA queries.
    Inet6,
    /// Both: A and AAAA.
    Unspec,
}

impl AddressFamily {
    fn qtypes(self) -> Vec<RecordType> {
        match self {
            AddressFamily::Inet => vec![RecordType::A],
            AddressFamily::Inet6 => vec![RecordType::Aaaa],
            AddressFamily::Unspec => vec![RecordType::A, RecordType::Aaaa],
        }
    }
}

/// A query to put on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingQuery {
    /// The DNS message (UDP payload).
    pub message: Message,
    /// The nameserver to send it to (port 53).
    pub server: IpAddr,
    /// How long to wait before giving up on this try, in seconds.
    pub timeout_secs: u32,
    /// UDP, or TCP after a truncated (TC) UDP answer.
    pub transport: Transport,
}

/// How a query travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// A UDP datagram to port 53.
    Udp,
    /// A TCP connection to port 53 (message prefixed by its 2-byte length).
    Tcp,
}

/// What came back for a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryOutcome {
    /// A response arrived.
    Response(Message),
    /// Nothing arrived within the timeout.
    Timeout,
}

/// One query and what happened to it (the transcript of a lookup).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The query sent.
    pub query: PendingQuery,
    /// The response or the timeout.
    pub outcome: QueryOutcome,
}

/// How a lookup ended (getaddrinfo / h_errno terms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupStatus {
    /// Addresses found.
    Found,
    /// The name does not exist (`EAI_NONAME`, `HOST_NOT_FOUND`).
    NotFound,
    /// The name exists without addresses of the asked family (`EAI_NODATA`, `NO_DATA`).
    NoData,
    /// Timeouts or SERVFAIL (`EAI_AGAIN`, `TRY_AGAIN`).
    TryAgain,
    /// Another rcode (REFUSED, FORMERR...) ended it (`EAI_FAIL`, `NO_RECOVERY`).
    Fail,
    /// The name itself is unusable (`EAI_NONAME` before any query).
    InvalidName(String),
}

/// The result of a lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupResult {
    /// How it ended.
    pub status: LookupStatus,
    /// For each query type, the last response received for it (what nslookup prints).
    pub final_responses: Vec<Message>,
    /// The candidate name that produced the answer.
    pub answered_name: Option<Name>,
    /// The name the addresses belong to, after CNAMEs (`h_name` / `ai_canonname`).
    pub canonical_name: Option<Name>,
    /// CNAME owners on the way (`h_aliases`).
    pub aliases: Vec<Name>,
    /// Addresses, A before AAAA, in answer order.
    pub addresses: Vec<IpAddr>,
    /// Every query sent, with its outcome.
    pub transcript: Vec<Exchange>,
}

/// What to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this query and [`StubResolver::feed`] the outcome.
    Send(PendingQuery),
    /// The lookup is over.
    Done(LookupResult),
}

/// How one candidate name turned out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Answer,
    NxDomain,
    NoData,
    ServFail,
    Timeout,
    Other,
}

/// A lookup in progress.
#[derive(Clone, Debug)]
pub struct StubResolver {
    flavour: ResolverFlavour,
    conf: ResolvConf,
    /// Query-type groups: one group for the libcs (both types per candidate), one per type
    /// for bind9.
    groups: Vec<Vec<RecordType>>,
    candidates: Vec<Candidate>,
    group: usize,
    cand: usize,
    qtype: usize,
    try_no: u32,
    /// The current query is being retried over TCP.
    tcp: bool,
    next_id: u16,
    /// Responses for the current candidate (None = timed out).
    current: Vec<(RecordType, Option<Message>)>,
    transcript: Vec<Exchange>,
    final_responses: Vec<Message>,
    // glibc bookkeeping (res_search's locals).
    saved: Option<Verdict>,
    got_nodata: bool,
    got_servfail: bool,
    last_verdict: Option<Verdict>,
    answer: Option<(Name, Vec<Message>)>,
    done: Option<LookupResult>,
}

/// A name to try, and whether it is the name as typed (vs. name + search domain).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Candidate {
    name: Name,
    as_is: bool,
}

impl StubResolver {
    /// Starts a lookup of `name` (as typed: a trailing dot makes it absolute). Query ids count
    /// up from `first_id` (the caller draws it from the simulation's seeded RNG).
    pub fn new(
        flavour: ResolverFlavour,
        conf: &ResolvConf,
        name: &str,
        family: AddressFamily,
        first_id: u16,
    ) -> Self {
        let groups = match flavour {
            ResolverFlavour::Bind9 => family.qtypes().into_iter().map(|t| vec![t]).collect(),
            _ => vec![family.qtypes()],
        };
        Self::with_groups(flavour, conf, name, groups, first_id)
    }

    /// A lookup of one record type (`nslookup -type=SRV`, `dig SRV`); without `search` the
    /// name is asked as-is only (dig's default, `+nosearch`).
    pub fn for_qtype(
        flavour: ResolverFlavour,
        conf: &ResolvConf,
        name: &str,
        qtype: RecordType,
        search: bool,
        first_id: u16,
    ) -> Self {
        let mut conf = conf.clone();
        if !search {
            conf.searches.clear();
        }
        Self::with_groups(flavour, &conf, name, vec![vec![qtype]], first_id)
    }

    fn with_groups(
        flavour: ResolverFlavour,
        conf: &ResolvConf,
        name: &str,
        groups: Vec<Vec<RecordType>>,
        first_id: u16,
    ) -> Self {
        let mut r = StubResolver {
            flavour,
            conf: conf.clone(),
            groups,
            candidates: Vec::new(),
            group: 0,
            cand: 0,
            qtype: 0,
            try_no: 0,
            tcp: false,
            next_id: first_id,
            current: Vec::new(),
            transcript: Vec::new(),
            final_responses: Vec::new(),
            saved: None,
            got_nodata: false,
            got_servfail: false,
            last_verdict: None,
            answer: None,
            done: None,
        };
        match candidates(flavour, conf, name) {
            Ok(c) if !conf.nameservers.is_empty() => r.candidates = c,
            Ok(_) => r.finish_with(LookupStatus::TryAgain),
            Err(reason) => r.finish_with(LookupStatus::InvalidName(reason)),
        }
        r
    }

    /// The names this lookup may try, in order (the search-list expansion).
    pub fn candidate_names(&self) -> Vec<Name> {
        self.candidates.iter().map(|c| c.name.clone()).collect()
    }

    /// The next thing to do.
    pub fn step(&self) -> Step {
        if let Some(done) = &self.done {
            return Step::Done(done.clone());
        }
        let qtype = self.groups[self.group][self.qtype];
        let servers = &self.conf.nameservers;
        let server = servers[(self.try_no as usize) % servers.len()];
        let mut message = Message::query(self.next_id, self.candidates[self.cand].name.clone(), qtype);
        message.header.id = self.next_id;
        let transport = if self.tcp { Transport::Tcp } else { Transport::Udp };
        Step::Send(PendingQuery { message, server, timeout_secs: self.conf.timeout_secs(), transport })
    }

    /// Feeds the outcome of the query last returned by [`step`](Self::step).
    pub fn feed(&mut self, outcome: QueryOutcome) {
        let Step::Send(query) = self.step() else { return };
        self.transcript.push(Exchange { query: query.clone(), outcome: outcome.clone() });
        // A truncated UDP answer is asked again over TCP, same id (glibc send_dg → send_vc,
        // musl ≥ 1.2.4, dig's "Truncated, retrying in TCP mode").
        if let QueryOutcome::Response(m) = &outcome
            && m.header.flags.tc
            && !self.tcp
            && m.header.id == query.message.header.id
        {
            self.tcp = true;
            return;
        }
        self.tcp = false;
        let qtype = self.groups[self.group][self.qtype];
        let response = match outcome {
            // A response to another question is ignored like a stray datagram: keep waiting
            // is not modelled, so it counts as a timeout of this try.
            QueryOutcome::Response(m) if m.header.id == query.message.header.id => Some(m),
            _ => None,
        };
        if response.is_none() {
            // Retransmissions reuse the query (and its id), next nameserver first.
            let tries = self.conf.attempts() * self.conf.nameservers.len() as u32;
            self.try_no += 1;
            if self.try_no < tries {
                return;
            }
        }
        self.next_id = self.next_id.wrapping_add(1);
        self.try_no = 0;
        self.current.push((qtype, response));
        self.qtype += 1;
        if self.qtype < self.groups[self.group].len() {
            return;
        }
        self.qtype = 0;
        let results = std::mem::take(&mut self.current);
        self.after_candidate(results);
    }

    /// Runs the lookup to the end with `transport` carrying each query.
    pub fn run(mut self, mut transport: impl FnMut(&PendingQuery) -> QueryOutcome) -> LookupResult {
        loop {
            match self.step() {
                Step::Send(q) => {
                    let outcome = transport(&q);
                    self.feed(outcome);
                }
                Step::Done(result) => return result,
            }
        }
    }

    fn after_candidate(&mut self, results: Vec<(RecordType, Option<Message>)>) {
        let verdict = verdict(self.flavour, &results);
        let cand = self.candidates[self.cand].clone();
        self.last_verdict = Some(verdict);
        for (_, m) in &results {
            if let Some(m) = m {
                self.final_responses
                    .retain(|f| f.question().map(|q| q.qtype) != m.question().map(|q| q.qtype));
                self.final_responses.push(m.clone());
            }
        }
        if verdict == Verdict::Answer {
            let msgs: Vec<Message> = results.into_iter().filter_map(|(_, m)| m).collect();
            match &mut self.answer {
                Some((_, all)) => all.extend(msgs),
                None => self.answer = Some((cand.name.clone(), msgs)),
            }
            return self.next_group();
        }
        let is_last = self.cand + 1 >= self.candidates.len();
        let stop = match self.flavour {
            ResolverFlavour::Glibc => {
                if cand.as_is && self.cand == 0 && self.candidates.len() > 1 && !self.candidates[1].as_is {
                    // The as-is try before the search list: remembered, never fatal.
                    self.saved = Some(verdict);
                    false
                } else {
                    match verdict {
                        Verdict::NoData => {
                            self.got_nodata = true;
                            false
                        }
                        Verdict::NxDomain => false,
                        Verdict::ServFail => {
                            self.got_servfail = true;
                            false
                        }
                        // res_search's `done++`: leave the search list, but the as-is try
                        // that follows it still happens.
                        _ => {
                            if !cand.as_is
                                && let Some(pos) = self.candidates.iter().rposition(|c| c.as_is)
                                && pos > self.cand
                            {
                                self.cand = pos;
                                return;
                            }
                            true
                        }
                    }
                }
            }
            ResolverFlavour::Musl | ResolverFlavour::Bind9 => verdict != Verdict::NxDomain,
        };
        if stop || is_last {
            return self.next_group();
        }
        self.cand += 1;
    }

    /// Ends the current query-type group; bind9 starts the search again for the next type.
    fn next_group(&mut self) {
        if self.group + 1 < self.groups.len() {
            if self.flavour == ResolverFlavour::Bind9 {
                // nslookup.c `printmessage`: the AAAA lookup is added only after the A lookup
                // got NOERROR, for the CNAME-chased name, with no search (`origin = NULL`).
                let qtype = self.groups[self.group][0];
                let last =
                    self.final_responses.iter().find(|m| m.question().is_some_and(|q| q.qtype == qtype));
                match last {
                    Some(m) if m.header.rcode == Rcode::NoError => {
                        self.candidates = vec![Candidate { name: chase_cnames(m), as_is: true }];
                    }
                    _ => {
                        let status = self.final_status();
                        return self.finish_with(status);
                    }
                }
            }
            self.group += 1;
            self.cand = 0;
            self.saved = None;
            return;
        }
        let status = self.final_status();
        self.finish_with(status);
    }

    fn final_status(&self) -> LookupStatus {
        if let Some((_, msgs)) = &self.answer {
            let wanted =
                |t: RecordType| self.groups.iter().flatten().any(|g| *g == t || *g == RecordType::Any);
            if msgs.iter().any(|m| m.answers.iter().any(|r| wanted(r.rtype()))) {
                return LookupStatus::Found;
            }
            return LookupStatus::NoData;
        }
        let v = match self.flavour {
            ResolverFlavour::Glibc => {
                if let Some(saved) = self.saved {
                    saved
                } else if self.got_nodata {
                    Verdict::NoData
                } else if self.got_servfail {
                    Verdict::ServFail
                } else {
                    self.last_verdict.unwrap_or(Verdict::NxDomain)
                }
            }
            _ => self.last_verdict.unwrap_or(Verdict::NxDomain),
        };
        match v {
            Verdict::Answer => LookupStatus::Found,
            Verdict::NxDomain => LookupStatus::NotFound,
            Verdict::NoData => LookupStatus::NoData,
            Verdict::ServFail | Verdict::Timeout => LookupStatus::TryAgain,
            Verdict::Other => LookupStatus::Fail,
        }
    }

    fn finish_with(&mut self, status: LookupStatus) {
        let mut result = LookupResult {
            status,
            final_responses: self.final_responses.clone(),
            answered_name: None,
            canonical_name: None,
            aliases: Vec::new(),
            addresses: Vec::new(),
            transcript: self.transcript.clone(),
        };
        if let Some((name, msgs)) = &self.answer {
            result.answered_name = Some(name.clone());
            let mut canonical = name.clone();
            let mut aliases: Vec<Name> = Vec::new();
            let mut v4 = Vec::new();
            let mut v6 = Vec::new();
            for m in msgs {
                for r in &m.answers {
                    match &r.data {
                        RData::Cname(t) => {
                            if !aliases.iter().any(|a| a.eq_ignore_case(&r.name)) {
                                aliases.push(r.name.clone());
                            }
                            canonical = t.clone();
                        }
                        RData::A(ip) => v4.push(IpAddr::V4(*ip)),
                        RData::Aaaa(ip) => v6.push(IpAddr::V6(*ip)),
                        _ => {}
                    }
                }
            }
            result.canonical_name = Some(canonical);
            result.aliases = aliases;
            result.addresses = v4.into_iter().chain(v6).collect();
        }
        self.done = Some(result);
    }
}

/// The name a response's answers end at after following CNAMEs from the question name.
fn chase_cnames(m: &Message) -> Name {
    let mut name = m.question().map(|q| q.name.clone()).unwrap_or_default();
    for _ in 0..m.answers.len() {
        match m.answers.iter().find_map(|r| match &r.data {
            RData::Cname(t) if r.name.eq_ignore_case(&name) => Some(t.clone()),
            _ => None,
        }) {
            Some(t) => name = t,
            None => break,
        }
    }
    name
}

/// The search-list expansion of `name` for a flavour (no query sent).
pub fn search_candidates(
    flavour: ResolverFlavour,
    conf: &ResolvConf,
    name: &str,
) -> Result<Vec<Name>, String> {
    candidates(flavour, conf, name).map(|c| c.into_iter().map(|c| c.name).collect())
}

fn candidates(flavour: ResolverFlavour, conf: &ResolvConf, name: &str) -> Result<Vec<Candidate>, String> {
    if name.is_empty() || name.ends_with("..") || name.starts_with('.') {
        return Err(format!("invalid name {name:?}"));
    }
    let trailing = name.ends_with('.');
    let bare = name.trim_end_matches('.');
    let dots = bare.matches('.').count() as u32 + u32::from(trailing);
    let as_is = Candidate { name: Name::parse(bare).map_err(|e| e.to_string())?, as_is: true };
    let searched = || -> Vec<Candidate> {
        conf.searches
            .iter()
            .filter_map(|d| Name::parse(&format!("{bare}.{}", d.trim_end_matches('.'))).ok())
            .map(|name| Candidate { name, as_is: false })
            .collect()
    };
    let ndots = conf.ndots();
    Ok(match flavour {
        _ if trailing => vec![as_is],
        ResolverFlavour::Musl if dots >= ndots => vec![as_is],
        ResolverFlavour::Glibc | ResolverFlavour::Bind9 if dots >= ndots => {
            let mut v = vec![as_is];
            v.extend(searched());
            v
        }
        _ => {
            let mut v = searched();
            v.push(as_is);
            v
        }
    })
}

/// How a candidate's responses read to each implementation.
fn verdict(flavour: ResolverFlavour, results: &[(RecordType, Option<Message>)]) -> Verdict {
    let classify = |m: &Option<Message>| -> Verdict {
        match m {
            None => Verdict::Timeout,
            Some(m) => match m.header.rcode {
                Rcode::NoError if !m.answers.is_empty() => Verdict::Answer,
                Rcode::NoError => Verdict::NoData,
                Rcode::NxDomain => Verdict::NxDomain,
                Rcode::ServFail => Verdict::ServFail,
                _ => Verdict::Other,
            },
        }
    };
    let each: Vec<Verdict> = results.iter().map(|(_, m)| classify(m)).collect();
    match flavour {
        // musl name_from_dns, reply by reply in query order: timeout/SERVFAIL → EAI_AGAIN,
        // NXDOMAIN → try the next name, other rcodes → EAI_FAIL; then addresses or EAI_NODATA.
        ResolverFlavour::Musl => {
            for v in &each {
                match v {
                    Verdict::Timeout | Verdict::ServFail | Verdict::NxDomain | Verdict::Other => return *v,
                    Verdict::Answer | Verdict::NoData => {}
                }
            }
            let has_addr = results.iter().any(|(_, m)| {
                m.as_ref()
                    .is_some_and(|m| m.answers.iter().any(|r| matches!(r.data, RData::A(_) | RData::Aaaa(_))))
            });
            if has_addr { Verdict::Answer } else { Verdict::NoData }
        }
        // glibc res_queryN with two answers: success if either has records; otherwise the
        // first response's rcode decides, or the second's when the first was NOERROR.
        _ => {
            if each.contains(&Verdict::Answer) {
                return Verdict::Answer;
            }
            match each.as_slice() {
                [] => Verdict::Other,
                [first] => *first,
                [first, second, ..] => {
                    if *first == Verdict::NoData {
                        if *second == Verdict::Timeout { Verdict::NoData } else { *second }
                    } else {
                        *first
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::resolv_conf::ResolvOption;

    fn conf(ndots: u32) -> ResolvConf {
        ResolvConf {
            nameservers: vec![IpAddr::from([10, 96, 0, 10])],
            searches: vec![
                "default.svc.cluster.local".into(),
                "svc.cluster.local".into(),
                "cluster.local".into(),
            ],
            options: vec![ResolvOption::new("ndots", Some(&ndots.to_string()))],
        }
    }

    fn names(f: ResolverFlavour, c: &ResolvConf, n: &str) -> Vec<String> {
        search_candidates(f, c, n).unwrap().iter().map(|n| n.to_relative_string()).collect()
    }

    #[test]
    fn glibc_and_musl_expansion_differ_only_at_or_above_ndots() {
        let c = conf(5);
        let short = names(ResolverFlavour::Glibc, &c, "kubernetes");
        assert_eq!(
            short,
            [
                "kubernetes.default.svc.cluster.local",
                "kubernetes.svc.cluster.local",
                "kubernetes.cluster.local",
                "kubernetes"
            ]
        );
        assert_eq!(names(ResolverFlavour::Musl, &c, "kubernetes"), short);
        let five = "a.b.c.d.e.f";
        assert_eq!(names(ResolverFlavour::Musl, &c, five), [five]);
        assert_eq!(names(ResolverFlavour::Glibc, &c, five).len(), 4);
        assert_eq!(names(ResolverFlavour::Glibc, &c, five)[0], five);
        assert_eq!(names(ResolverFlavour::Glibc, &c, "google.com."), ["google.com"]);
        assert_eq!(names(ResolverFlavour::Musl, &c, "google.com."), ["google.com"]);
    }

    proptest::proptest! {
        #[test]
        fn expansion_invariants(labels in proptest::collection::vec("[a-z0-9]{1,8}", 1..8), trailing: bool, ndots in 0u32..7) {
            let mut c = conf(ndots);
            c.options = vec![ResolvOption::new("ndots", Some(&ndots.to_string()))];
            let name = labels.join(".") + if trailing { "." } else { "" };
            let glibc = search_candidates(ResolverFlavour::Glibc, &c, &name).unwrap();
            let musl = search_candidates(ResolverFlavour::Musl, &c, &name).unwrap();
            let as_is = Name::parse(&name).unwrap();
            // The name as typed is tried exactly once by both.
            proptest::prop_assert_eq!(glibc.iter().filter(|n| **n == as_is).count(), 1);
            proptest::prop_assert_eq!(musl.iter().filter(|n| **n == as_is).count(), 1);
            // musl never tries a name glibc would not, and never more of them.
            proptest::prop_assert!(musl.iter().all(|n| glibc.contains(n)));
            proptest::prop_assert!(musl.len() <= glibc.len());
            let dots = labels.len() as u32 - 1;
            if trailing {
                proptest::prop_assert_eq!(glibc.len(), 1);
            } else if dots >= ndots {
                proptest::prop_assert_eq!(&glibc[0], &as_is);
                proptest::prop_assert_eq!(musl.len(), 1);
            } else {
                proptest::prop_assert_eq!(glibc.last(), Some(&as_is));
                proptest::prop_assert_eq!(&glibc, &musl);
            }
        }
    }

    #[test]
    fn retries_go_round_the_nameservers() {
        let mut c = conf(5);
        c.nameservers.push(IpAddr::from([10, 96, 0, 11]));
        c.options.push(ResolvOption::new("attempts", Some("3")));
        c.options.push(ResolvOption::new("timeout", Some("1")));
        let mut first = true;
        let r = StubResolver::new(ResolverFlavour::Glibc, &c, "x.", AddressFamily::Inet, 7).run(|q| {
            assert_eq!(q.timeout_secs, 1);
            if std::mem::take(&mut first) {
                return QueryOutcome::Timeout;
            }
            let mut m = q.message.clone();
            m.header.flags.qr = true;
            m.header.rcode = Rcode::NxDomain;
            QueryOutcome::Response(m)
        });
        let servers: Vec<IpAddr> = r.transcript.iter().map(|e| e.query.server).collect();
        assert_eq!(servers, [IpAddr::from([10, 96, 0, 10]), IpAddr::from([10, 96, 0, 11])]);
        assert_eq!(r.status, LookupStatus::NotFound);
    }

    #[test]
    fn musl_reads_the_replies_in_order() {
        let reply = |rcode: Rcode| {
            let mut m = Message::query(1, Name::parse("x").unwrap(), RecordType::A);
            m.header.rcode = rcode;
            Some(m)
        };
        let v = |a, b| verdict(ResolverFlavour::Musl, &[(RecordType::A, a), (RecordType::Aaaa, b)]);
        assert_eq!(v(reply(Rcode::NxDomain), reply(Rcode::ServFail)), Verdict::NxDomain);
        assert_eq!(v(reply(Rcode::ServFail), reply(Rcode::NxDomain)), Verdict::ServFail);
        assert_eq!(v(reply(Rcode::NoError), None), Verdict::Timeout);
        assert_eq!(v(reply(Rcode::NoError), reply(Rcode::NoError)), Verdict::NoData);
        let g = |a, b| verdict(ResolverFlavour::Glibc, &[(RecordType::A, a), (RecordType::Aaaa, b)]);
        assert_eq!(g(reply(Rcode::NoError), reply(Rcode::NxDomain)), Verdict::NxDomain);
        assert_eq!(g(reply(Rcode::NxDomain), reply(Rcode::NoError)), Verdict::NxDomain);
    }

    #[test]
    fn image_libc() {
        for (image, f) in [
            ("alpine", ResolverFlavour::Musl),
            ("alpine:3.19", ResolverFlavour::Musl),
            ("nginx:alpine", ResolverFlavour::Musl),
            ("docker.io/library/nginx:1.25-alpine", ResolverFlavour::Musl),
            ("busybox:1.36-musl", ResolverFlavour::Musl),
            ("busybox:1.28", ResolverFlavour::Glibc),
            ("busybox", ResolverFlavour::Glibc),
            ("nginx", ResolverFlavour::Glibc),
            ("registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3", ResolverFlavour::Glibc),
        ] {
            assert_eq!(ResolverFlavour::for_image(image), f, "{image}");
        }
    }

    #[test]
    fn invalid_names_are_refused_before_any_query() {
        let r = StubResolver::new(ResolverFlavour::Glibc, &conf(5), "a..b", AddressFamily::Inet, 1);
        assert!(matches!(r.step(), Step::Done(LookupResult { status: LookupStatus::InvalidName(_), .. })));
    }

    #[test]
    fn timeouts_retry_attempts_times_then_try_again() {
        let r = StubResolver::new(ResolverFlavour::Musl, &conf(5), "x", AddressFamily::Inet, 1);
        let result = r.run(|_| QueryOutcome::Timeout);
        assert_eq!(result.status, LookupStatus::TryAgain);
        // musl: the first candidate times out twice (attempts:2) and the lookup ends.
        assert_eq!(result.transcript.len(), 2);
        let ids: Vec<u16> = result.transcript.iter().map(|e| e.query.message.header.id).collect();
        assert_eq!(ids, [1, 1], "a retransmission is the same query");
        let r = StubResolver::new(ResolverFlavour::Glibc, &conf(5), "x", AddressFamily::Inet, 1);
        let result = r.run(|_| QueryOutcome::Timeout);
        // glibc: the search list is abandoned, the as-is name is still tried.
        assert_eq!(result.transcript.len(), 4);
        assert_eq!(result.status, LookupStatus::TryAgain);
    }
}
