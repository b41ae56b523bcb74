//! The stub resolver inside a pod: which names it asks for, in which order, over which socket,
//! and when it stops.
//!
//! A step machine: [`StubResolver::step`] says which queries to send next (or that the lookup
//! is over); the caller carries them through the simulated network and hands back what arrived
//! before the wait ended with [`StubResolver::feed`]. Flavours follow glibc resolv/res_query.c
//! (`__res_context_search`) and resolv/res_send.c (`__res_context_send`, `send_dg`, `send_vc`),
//! musl src/network/lookup_name.c (`name_from_dns_search`) and res_msend.c (`__res_msend_rc`),
//! and bind9 bin/dig (dighost.c `next_origin`, nslookup.c `printmessage`); see
//! [`ResolverFlavour`].
//!
//! glibc asks for A and AAAA together: both datagrams leave one socket back to back
//! (`sendmmsg`), and both answers are awaited for `timeout` seconds (`retrans << ns`, divided
//! by the nameserver count after the first server). An answer to one of them followed by a
//! timeout switches the rest of the lookup to `single-request` (the second query is sent only
//! after the first is answered, on the same socket), a second such timeout to
//! `single-request-reopen` (a new socket, so a new source port, before each query); a third
//! gives up on the missing answer. `single-request`, `single-request-reopen`, `use-vc` (both
//! queries on one TCP connection), `rotate`, `timeout`, `attempts`, `edns0` (an OPT record
//! advertising 1200 bytes) and `no-tld-query` are read from resolv.conf. Every candidate name
//! gets a socket of its own (`__res_iclose` at the end of `__res_context_send`).
//! musl sends its A and AAAA queries from one socket too, and retransmits the unanswered ones
//! every `timeout / attempts` seconds (2.5 s by default) until `timeout` has passed; it reads
//! no resolv.conf flag. A truncated answer is asked again over TCP.
//! Simplifications: musl's queries go to one nameserver at a time (round robin per
//! retransmission) instead of to all of them at once; glibc's second query in single-request
//! mode gets the whole timeout again, not what is left of it; a SERVFAIL or REFUSED answer is
//! used as it is (glibc would try the next nameserver, musl would ask again); /etc/hosts is
//! consulted by the caller, not here.

use std::net::IpAddr;

use super::message::{Message, RData, Rcode, RecordType};
use super::name::Name;
use super::resolv_conf::ResolvConf;

/// glibc's EDNS0 buffer size (`RESOLV_EDNS_BUFFER_SIZE`, resolv/resolv-internal.h).
pub const GLIBC_EDNS_BUFFER_SIZE: u16 = 1200;

/// Which resolver implementation walks the search list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolverFlavour {
    /// glibc (Debian/Ubuntu/RHEL-based images; busybox's default build): with `dots >= ndots`
    /// the name as-is first, then the search list; fewer dots: search list, then as-is; a
    /// trailing dot: as-is only. NXDOMAIN, NODATA (remembered and reported if nothing answers)
    /// and SERVFAIL move on; a timeout ends the search list (the as-is try still follows).
    /// A and AAAA are asked for every candidate (getaddrinfo `AF_UNSPEC`), in parallel.
    Glibc,
    /// musl (alpine, `nginx:alpine`, `busybox:*-musl`): with `dots >= ndots` or a trailing dot
    /// no search at all; otherwise search list, then as-is. Only NXDOMAIN moves on: NODATA,
    /// SERVFAIL or a timeout end the lookup (the classic Alpine surprise).
    Musl,
    /// bind9's dighost (`nslookup`, `dig +search`): glibc's order, moving on only on NXDOMAIN;
    /// nslookup's AAAA follow-up is asked only after a NOERROR A, for the CNAME-chased name.
    /// One query at a time, each from a new socket.
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

/// Queries to put on the wire, back to back from one socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingQuery {
    /// The first DNS message (UDP payload).
    pub message: Message,
    /// Further queries sent right after `message` from the same socket (glibc's `sendmmsg` of
    /// the A and AAAA queries, musl's loop); their answers may come in any order.
    pub also: Vec<Message>,
    /// The nameserver to send them to (port 53).
    pub server: IpAddr,
    /// How long to wait for the answers before giving up on this try, in milliseconds.
    pub timeout_ms: u64,
    /// UDP, or TCP (`use-vc`, or after a truncated answer).
    pub transport: Transport,
    /// Sent from a new socket (a new source port), rather than the one the previous query of
    /// this candidate used: the first query of a candidate, glibc after closing its socket
    /// (`single-request-reopen`), every query of dig's.
    pub new_socket: bool,
}

impl PendingQuery {
    /// Every message, in sending order.
    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        std::iter::once(&self.message).chain(self.also.iter())
    }

    /// The same send with only `message` (for transports that answer one query at a time).
    fn only(&self, message: &Message) -> PendingQuery {
        PendingQuery { message: message.clone(), also: Vec::new(), ..self.clone() }
    }
}

/// How a query travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// A UDP datagram to port 53.
    Udp,
    /// A TCP connection to port 53 (message prefixed by its 2-byte length).
    Tcp,
}

/// What came back for a send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryOutcome {
    /// The response to a single query arrived.
    Response(Message),
    /// What arrived, in arrival order, before the wait ended: one message per query when all
    /// were answered; fewer when the wait timed out.
    Responses(Vec<Message>),
    /// Nothing arrived within the timeout.
    Timeout,
}

impl QueryOutcome {
    /// The messages that arrived.
    pub fn messages(&self) -> &[Message] {
        match self {
            QueryOutcome::Response(m) => std::slice::from_ref(m),
            QueryOutcome::Responses(v) => v,
            QueryOutcome::Timeout => &[],
        }
    }
}

/// Where and when a send happened, as the caller's network saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendTiming {
    /// The client's source port.
    pub local_port: Option<u16>,
    /// When the queries left, in milliseconds since the lookup started.
    pub sent_at_ms: u64,
    /// How long the client waited (until the last answer, or the timeout).
    pub waited_ms: u64,
}

/// One send and what happened to it (the transcript of a lookup).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The queries sent.
    pub query: PendingQuery,
    /// The responses or the timeout.
    pub outcome: QueryOutcome,
    /// The socket and the times, when the caller reported them.
    pub timing: SendTiming,
    /// What the network did to the send's packets, when something went wrong (a query
    /// dropped by conntrack, by a rule...), in the caller's words.
    pub notes: Vec<String>,
    /// What the server did on the client's behalf while it waited: the queries CoreDNS's
    /// `forward` sent to its upstreams, as the network carried them.
    pub hops: Vec<ForwardHop>,
}

/// One query a DNS server sent on to its upstream while answering a client (the second hop of
/// an external lookup), and what came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardHop {
    /// When it was sent, in ms from the lookup's start.
    pub at_ms: u64,
    /// Who sent it (`pod/kube-system/coredns-…`).
    pub by: String,
    /// Its source address and port.
    pub local: Option<std::net::SocketAddrV4>,
    /// The upstream.
    pub server: std::net::SocketAddrV4,
    /// Over TCP.
    pub tcp: bool,
    /// The query as sent.
    pub query: Option<Message>,
    /// The answer, if one came.
    pub answer: Option<Message>,
    /// How long it waited.
    pub waited_ms: u64,
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

impl LookupResult {
    /// A lookup that ended without addresses of its own: only the last responses and the
    /// queries sent.
    pub fn unanswered(
        status: LookupStatus,
        final_responses: Vec<Message>,
        transcript: Vec<Exchange>,
    ) -> Self {
        LookupResult {
            status,
            final_responses,
            answered_name: None,
            canonical_name: None,
            aliases: Vec::new(),
            addresses: Vec::new(),
            transcript,
        }
    }

    /// How many query datagrams (or TCP messages) the lookup sent, retransmissions included.
    pub fn queries_sent(&self) -> usize {
        self.transcript.iter().map(|e| 1 + e.query.also.len()).sum()
    }

    /// When the last wait ended, in milliseconds since the lookup began (from the timings the
    /// caller reported; 0 without them).
    pub fn elapsed_ms(&self) -> u64 {
        self.transcript.iter().map(|e| e.timing.sent_at_ms + e.timing.waited_ms).max().unwrap_or(0)
    }
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

/// A DNS client the caller drives through the network: it says what to send next
/// ([`Step`]) and is told what came back. [`StubResolver`] is the libcs' and bind9's;
/// busybox's `nslookup` has its own (`dns::busybox_nslookup::Lookup`).
pub trait DnsClient {
    /// The next thing to do.
    fn step(&self) -> Step;
    /// Feeds the outcome of the send last returned by `step`, with the network's timings.
    fn feed_timed(&mut self, outcome: QueryOutcome, timing: SendTiming);
    /// Adds a note to the last exchange (what happened to its packets).
    fn note_last(&mut self, note: String);
}

impl DnsClient for StubResolver {
    fn step(&self) -> Step {
        StubResolver::step(self)
    }

    fn feed_timed(&mut self, outcome: QueryOutcome, timing: SendTiming) {
        StubResolver::feed_timed(self, outcome, timing);
    }

    fn note_last(&mut self, note: String) {
        StubResolver::note_last(self, note);
    }
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
    /// glibc: which try of the candidate (over `attempts` × nameservers); musl: how many
    /// sends so far; bind9: which try of the query.
    try_no: u32,
    /// The current candidate is being asked over TCP (after a truncated answer).
    tcp: bool,
    /// The id of the current candidate's first query (the others count up from it).
    next_id: u16,
    /// Answers for the current candidate in this exchange (glibc: this `send_dg` call), by
    /// position in the group.
    got: Vec<Option<Message>>,
    /// glibc's `RES_SNGLKUP` and `RES_SNGLKUPREOP`: set by resolv.conf or by a timeout after
    /// one answer, and kept for the rest of the lookup (they live in `_res.options`).
    single_request: bool,
    reopen: bool,
    /// glibc `use-vc`: every query over TCP.
    use_vc: bool,
    /// The next send opens a new socket.
    new_socket: bool,
    /// glibc `rotate`: the nameserver the candidate's tries start from.
    ns_offset: usize,
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
        // Only glibc reads these flags (musl's resolvconf.c parses ndots, attempts and timeout
        // only; dig has options of its own).
        let glibc = flavour == ResolverFlavour::Glibc;
        let reopen = glibc && conf.has_flag("single-request-reopen");
        let mut r = StubResolver {
            flavour,
            conf: conf.clone(),
            groups,
            candidates: Vec::new(),
            group: 0,
            cand: 0,
            try_no: 0,
            tcp: false,
            next_id: first_id,
            got: Vec::new(),
            single_request: reopen || (glibc && conf.has_flag("single-request")),
            reopen,
            use_vc: glibc && conf.has_flag("use-vc"),
            new_socket: true,
            ns_offset: 0,
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
            Ok(c) if !conf.nameservers.is_empty() => {
                r.candidates = c;
                r.start_candidate();
            }
            Ok(_) => r.finish_with(LookupStatus::TryAgain),
            Err(reason) => r.finish_with(LookupStatus::InvalidName(reason)),
        }
        r
    }

    /// The names this lookup may try, in order (the search-list expansion).
    pub fn candidate_names(&self) -> Vec<Name> {
        self.candidates.iter().map(|c| c.name.clone()).collect()
    }

    /// Resets the per-candidate state: a new socket, the first try, no answers.
    fn start_candidate(&mut self) {
        self.try_no = 0;
        self.tcp = false;
        self.new_socket = true;
        self.got = vec![None; self.groups[self.group].len()];
        // glibc ≥ 2.26 `rotate`: each `__res_context_send` starts at a random nameserver;
        // the candidate's query id stands in for the random bits (it is seeded).
        let n = self.conf.nameservers.len().max(1);
        self.ns_offset = if self.flavour == ResolverFlavour::Glibc && self.conf.has_flag("rotate") {
            usize::from(self.next_id) % n
        } else {
            0
        };
    }

    /// The query of the group's `i`-th type for the current candidate.
    fn query_for(&self, i: usize) -> Message {
        let id = self.next_id.wrapping_add(i as u16);
        let mut m = Message::query(id, self.candidates[self.cand].name.clone(), self.groups[self.group][i]);
        if self.flavour == ResolverFlavour::Glibc && self.conf.has_flag("edns0") {
            m.set_edns(GLIBC_EDNS_BUFFER_SIZE, Vec::new());
        }
        m
    }

    /// The nameserver index and the wait of the current try.
    fn server_and_wait(&self) -> (usize, u64) {
        let n = self.conf.nameservers.len();
        let timeout = u64::from(self.conf.timeout_secs());
        match self.flavour {
            ResolverFlavour::Glibc => {
                let ns = (self.ns_offset + self.try_no as usize) % n;
                // send_dg: `seconds = retrans << ns; if (ns > 0) seconds /= nscount;` (at least 1).
                let mut seconds = timeout << ns.min(8);
                if ns > 0 {
                    seconds /= n as u64;
                }
                (ns, seconds.max(1) * 1000)
            }
            // __res_msend_rc: `retry_interval = timeout / attempts`, the last interval ending
            // at `timeout`.
            ResolverFlavour::Musl => {
                let total = timeout * 1000;
                let attempts = u64::from(self.conf.attempts());
                let interval = total / attempts;
                let wait = if u64::from(self.try_no) + 1 >= attempts {
                    total - interval * (attempts - 1)
                } else {
                    interval
                };
                (self.try_no as usize % n, wait)
            }
            ResolverFlavour::Bind9 => (self.try_no as usize % n, timeout * 1000),
        }
    }

    /// The next thing to do.
    pub fn step(&self) -> Step {
        if let Some(done) = &self.done {
            return Step::Done(done.clone());
        }
        let unanswered: Vec<usize> = (0..self.got.len()).filter(|i| self.got[*i].is_none()).collect();
        let tcp = self.tcp || self.use_vc;
        // glibc send_vc writes both queries on the connection; send_dg in single-request mode
        // sends the first unanswered one; otherwise every unanswered query goes at once.
        let sent: Vec<usize> = if tcp && self.flavour == ResolverFlavour::Glibc {
            (0..self.got.len()).collect()
        } else if self.single_request {
            unanswered.into_iter().take(1).collect()
        } else {
            unanswered
        };
        let (ns, timeout_ms) = self.server_and_wait();
        let mut messages = sent.iter().map(|i| self.query_for(*i));
        let Some(message) = messages.next() else {
            // Every answer is in: `feed` would have finished the candidate.
            return Step::Done(self.done.clone().unwrap_or_else(|| self.partial_result()));
        };
        Step::Send(PendingQuery {
            message,
            also: messages.collect(),
            server: self.conf.nameservers[ns],
            timeout_ms,
            transport: if tcp { Transport::Tcp } else { Transport::Udp },
            new_socket: tcp || self.new_socket || self.flavour == ResolverFlavour::Bind9,
        })
    }

    /// Feeds the outcome of the send last returned by [`step`](Self::step).
    pub fn feed(&mut self, outcome: QueryOutcome) {
        self.feed_timed(outcome, SendTiming::default());
    }

    /// [`feed`](Self::feed), with where and when the send happened (kept in the transcript).
    pub fn feed_timed(&mut self, outcome: QueryOutcome, timing: SendTiming) {
        let Step::Send(query) = self.step() else { return };
        self.new_socket = false;
        let was_tcp = query.transport == Transport::Tcp;
        let mut truncated = false;
        let mut answered_all_sent = true;
        for sent in query.messages() {
            let id = sent.header.id;
            let qtype = sent.question().map(|q| q.qtype);
            // A response to another question is a stray datagram: glibc and musl drop it and
            // keep waiting (here: the wait ends with it unanswered).
            let Some(m) = outcome
                .messages()
                .iter()
                .find(|m| m.header.id == id && m.question().map(|q| q.qtype) == qtype)
            else {
                answered_all_sent = false;
                continue;
            };
            let Some(i) = self.groups[self.group].iter().position(|t| Some(*t) == qtype) else { continue };
            if m.header.flags.tc && !was_tcp {
                truncated = true;
            }
            self.got[i] = Some(m.clone());
        }
        self.transcript.push(Exchange { query, outcome, timing, notes: Vec::new(), hops: Vec::new() });
        // A truncated UDP answer is asked again over TCP, same ids (glibc send_dg → send_vc,
        // which closes the socket and sends both queries again; musl ≥ 1.2.4; dig's
        // "Truncated, retrying in TCP mode").
        if truncated {
            self.tcp = true;
            for g in self.got.iter_mut() {
                if g.as_ref().is_some_and(|m| m.header.flags.tc) || self.flavour == ResolverFlavour::Glibc {
                    *g = None;
                }
            }
            return;
        }
        if self.got.iter().all(Option::is_some) {
            return self.end_candidate();
        }
        let some_answer = self.got.iter().any(Option::is_some);
        match self.flavour {
            ResolverFlavour::Glibc if !was_tcp && !self.use_vc => {
                if answered_all_sent && self.single_request {
                    // The first answer is in; send the next query of this send_dg call, on a
                    // new socket with single-request-reopen.
                    if self.reopen {
                        self.new_socket = true;
                    }
                    return;
                }
                if some_answer {
                    // send_dg: "If we time out after having received one answer switch to
                    // the mode where we send the second request only once we have received
                    // the first answer" — and then to closing and reopening the socket.
                    if !self.single_request {
                        self.single_request = true;
                        self.got.iter_mut().for_each(|g| *g = None);
                        return;
                    }
                    if !self.reopen {
                        self.reopen = true;
                        self.new_socket = true;
                        self.got.iter_mut().for_each(|g| *g = None);
                        return;
                    }
                    // The third time: use the answer there is.
                    return self.end_candidate();
                }
                self.next_try();
            }
            ResolverFlavour::Musl if !was_tcp => {
                // Retransmit what is unanswered, from the same socket, until `timeout`.
                self.try_no += 1;
                if self.try_no >= self.conf.attempts() {
                    self.end_candidate();
                }
            }
            _ => {
                // TCP failed, or dig: the next try (glibc: the next nameserver).
                self.tcp = false;
                self.next_try();
            }
        }
    }

    /// Adds a note to the last exchange of the transcript (what happened to its packets).
    /// Adds a server's upstream query to the last exchange.
    pub fn hop_last(&mut self, hop: ForwardHop) {
        if let Some(e) = self.transcript.last_mut() {
            e.hops.push(hop);
        } else if let Some(d) = self.done.as_mut().and_then(|d| d.transcript.last_mut()) {
            d.hops.push(hop);
        }
    }

    pub fn note_last(&mut self, note: String) {
        if let Some(e) = self.transcript.last_mut() {
            e.notes.push(note);
        } else if let Some(d) = self.done.as_mut().and_then(|d| d.transcript.last_mut()) {
            d.notes.push(note);
        }
    }

    /// The current try got nothing: the next one, or the end of this candidate.
    fn next_try(&mut self) {
        let tries = self.conf.attempts() * self.conf.nameservers.len() as u32;
        self.try_no += 1;
        if self.try_no >= tries {
            self.end_candidate();
        }
    }

    /// Hands the candidate's answers (None for a query never answered) to the search logic.
    fn end_candidate(&mut self) {
        let types = self.groups[self.group].clone();
        let got = std::mem::take(&mut self.got);
        self.next_id = self.next_id.wrapping_add(types.len() as u16);
        let results: Vec<(RecordType, Option<Message>)> = types.into_iter().zip(got).collect();
        self.after_candidate(results);
        if self.done.is_none() {
            self.start_candidate();
        }
    }

    fn partial_result(&self) -> LookupResult {
        LookupResult::unanswered(
            LookupStatus::TryAgain,
            self.final_responses.clone(),
            self.transcript.clone(),
        )
    }

    /// Runs the lookup to the end with `transport` carrying each query (called once per
    /// message of a send, with a [`PendingQuery`] holding only that message).
    pub fn run(mut self, mut transport: impl FnMut(&PendingQuery) -> QueryOutcome) -> LookupResult {
        loop {
            match self.step() {
                Step::Send(q) => {
                    let arrived: Vec<Message> =
                        q.messages().flat_map(|m| transport(&q.only(m)).messages().to_vec()).collect();
                    self.feed(if arrived.is_empty() {
                        QueryOutcome::Timeout
                    } else {
                        QueryOutcome::Responses(arrived)
                    });
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
            // res_search: the name as typed is tried last unless it has no dot, the search
            // list was used and `no-tld-query` is set (RES_NOTLDQUERY).
            let no_tld = flavour == ResolverFlavour::Glibc && dots == 0 && conf.has_flag("no-tld-query");
            if !no_tld || v.is_empty() {
                v.push(as_is);
            }
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
            assert_eq!(q.timeout_ms, 1000);
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

    /// A NOERROR answer with one A or AAAA record for the question.
    fn answer(q: &Message) -> Message {
        let mut m = q.clone();
        m.header.flags.qr = true;
        let question = q.question().unwrap().clone();
        let data = match question.qtype {
            RecordType::A => RData::A([10, 96, 0, 1].into()),
            _ => RData::Aaaa("fd00::1".parse().unwrap()),
        };
        m.answers.push(crate::dns::message::Record::new(question.name.clone(), 30, data));
        m
    }

    fn sends(r: &LookupResult) -> Vec<(Vec<RecordType>, bool, u64)> {
        r.transcript
            .iter()
            .map(|e| {
                let types = e.query.messages().map(|m| m.question().unwrap().qtype).collect();
                (types, e.query.new_socket, e.query.timeout_ms)
            })
            .collect()
    }

    /// Answers every query of a send except those `drop` says to lose.
    fn answer_but(q: &PendingQuery, mut drop: impl FnMut(&Message) -> bool) -> QueryOutcome {
        let v: Vec<Message> = q.messages().filter(|m| !drop(m)).map(answer).collect();
        if v.is_empty() { QueryOutcome::Timeout } else { QueryOutcome::Responses(v) }
    }

    fn drive(
        mut r: StubResolver,
        mut outcome: impl FnMut(usize, &PendingQuery) -> QueryOutcome,
    ) -> LookupResult {
        for n in 0.. {
            match r.step() {
                Step::Send(q) => {
                    let o = outcome(n, &q);
                    r.feed(o);
                }
                Step::Done(result) => return result,
            }
        }
        unreachable!()
    }

    #[test]
    fn glibc_sends_a_and_aaaa_together_from_one_socket() {
        let r = StubResolver::new(ResolverFlavour::Glibc, &conf(5), "x.", AddressFamily::Unspec, 100);
        let Step::Send(q) = r.step() else { panic!("nothing sent") };
        assert_eq!((q.message.header.id, q.also.len(), q.also[0].header.id), (100, 1, 101));
        assert!(q.new_socket);
        assert_eq!(q.timeout_ms, 5000);
        let result = drive(r, |_, q| answer_but(q, |_| false));
        assert_eq!(result.status, LookupStatus::Found);
        assert_eq!(result.queries_sent(), 2);
    }

    #[test]
    fn glibc_after_a_lost_aaaa_switches_to_single_request_then_reopen() {
        // res_send.c send_dg: a timeout after one answer retries in single-request mode on
        // the same socket; a second such timeout closes and reopens the socket (a new source
        // port) before each query; the third uses the answer it has.
        let r = StubResolver::new(ResolverFlavour::Glibc, &conf(5), "x.", AddressFamily::Unspec, 1);
        let result = drive(r, |_, q| answer_but(q, |m| m.question().unwrap().qtype == RecordType::Aaaa));
        use RecordType::{A, Aaaa};
        assert_eq!(
            sends(&result),
            [
                (vec![A, Aaaa], true, 5000),
                (vec![A], false, 5000),
                (vec![Aaaa], false, 5000),
                (vec![A], true, 5000),
                (vec![Aaaa], true, 5000),
            ]
        );
        assert_eq!(result.status, LookupStatus::Found);
        // Once the AAAA is answered on the retry, the lookup ends after one lost wait.
        let r = StubResolver::new(ResolverFlavour::Glibc, &conf(5), "x.", AddressFamily::Unspec, 1);
        let result =
            drive(r, |n, q| answer_but(q, |m| n == 0 && m.question().unwrap().qtype == RecordType::Aaaa));
        assert_eq!(
            sends(&result),
            [(vec![A, Aaaa], true, 5000), (vec![A], false, 5000), (vec![Aaaa], false, 5000)]
        );
    }

    #[test]
    fn glibc_options_single_request_reopen_use_vc_edns0_rotate() {
        use RecordType::{A, Aaaa};
        let with = |opt: &str| {
            let mut c = conf(5);
            c.options.push(ResolvOption::new(opt, None));
            c
        };
        let run = |c: &ResolvConf| {
            drive(StubResolver::new(ResolverFlavour::Glibc, c, "x.", AddressFamily::Unspec, 1), |_, q| {
                answer_but(q, |_| false)
            })
        };
        let r = run(&with("single-request"));
        assert_eq!(sends(&r), [(vec![A], true, 5000), (vec![Aaaa], false, 5000)]);
        let r = run(&with("single-request-reopen"));
        assert_eq!(sends(&r), [(vec![A], true, 5000), (vec![Aaaa], true, 5000)]);
        let r = run(&with("use-vc"));
        assert_eq!(r.transcript.len(), 1);
        assert_eq!(r.transcript[0].query.transport, Transport::Tcp);
        assert_eq!(r.queries_sent(), 2);
        let r = run(&with("edns0"));
        assert_eq!(r.transcript[0].query.message.opt().map(|o| o.class), Some(GLIBC_EDNS_BUFFER_SIZE));
        assert!(run(&conf(5)).transcript[0].query.message.opt().is_none());
        // rotate: the first server of a candidate's tries comes from the (seeded) id.
        let mut c = with("rotate");
        c.nameservers.push(IpAddr::from([10, 96, 0, 11]));
        let first =
            |id: u16| match StubResolver::new(ResolverFlavour::Glibc, &c, "x.", AddressFamily::Inet, id)
                .step()
            {
                Step::Send(q) => q.server,
                Step::Done(_) => panic!("nothing sent"),
            };
        assert_ne!(first(2), first(3));
        // musl reads none of these flags.
        let r = drive(
            StubResolver::new(
                ResolverFlavour::Musl,
                &with("single-request-reopen"),
                "x.",
                AddressFamily::Unspec,
                1,
            ),
            |_, q| answer_but(q, |_| false),
        );
        assert_eq!(sends(&r), [(vec![A, Aaaa], true, 2500)]);
    }

    #[test]
    fn glibc_timeout_grows_with_the_nameserver_index() {
        // send_dg: seconds = retrans << ns, divided by nscount for ns > 0.
        let mut c = conf(5);
        c.nameservers.push(IpAddr::from([10, 96, 0, 11]));
        c.nameservers.push(IpAddr::from([10, 96, 0, 12]));
        let r = drive(StubResolver::new(ResolverFlavour::Glibc, &c, "x.", AddressFamily::Inet, 1), |_, _| {
            QueryOutcome::Timeout
        });
        let waits: Vec<u64> = r.transcript.iter().map(|e| e.query.timeout_ms).collect();
        assert_eq!(waits, [5000, 3000, 6000, 5000, 3000, 6000]);
    }

    #[test]
    fn musl_retransmits_the_unanswered_every_timeout_over_attempts() {
        // res_msend.c: retry_interval = timeout / attempts; the same socket; only what is
        // still unanswered; the whole exchange ends at `timeout`.
        use RecordType::{A, Aaaa};
        let r = StubResolver::new(ResolverFlavour::Musl, &conf(5), "x.", AddressFamily::Unspec, 1);
        let result =
            drive(r, |n, q| answer_but(q, |m| n == 0 && m.question().unwrap().qtype == RecordType::Aaaa));
        assert_eq!(sends(&result), [(vec![A, Aaaa], true, 2500), (vec![Aaaa], false, 2500)]);
        assert_eq!(result.status, LookupStatus::Found);
        let r = StubResolver::new(ResolverFlavour::Musl, &conf(5), "x.", AddressFamily::Unspec, 1);
        let result = drive(r, |_, _| QueryOutcome::Timeout);
        assert_eq!(sends(&result), [(vec![A, Aaaa], true, 2500), (vec![A, Aaaa], false, 2500)]);
        assert_eq!(result.status, LookupStatus::TryAgain);
    }

    #[test]
    fn no_tld_query_skips_the_bare_name() {
        let mut c = conf(5);
        c.options.push(ResolvOption::new("no-tld-query", None));
        assert_eq!(names(ResolverFlavour::Glibc, &c, "kubernetes").len(), 3);
        assert_eq!(names(ResolverFlavour::Glibc, &c, "kubernetes.default").len(), 4);
        assert_eq!(names(ResolverFlavour::Musl, &c, "kubernetes").len(), 4);
    }
}
