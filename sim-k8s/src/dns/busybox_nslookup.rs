//! busybox's `nslookup` applet, in its two generations.
//!
//! busybox ≥ 1.29 (`FEATURE_NSLOOKUP_BIG`, networking/nslookup.c, modelled on 1.34–1.36) is a
//! DNS client of its own: it reads resolv.conf itself (`parse_resolvconf`: the `search` or
//! `domain` line and the nameservers, no `ndots`), queues one query per type and candidate
//! name (`add_query_with_search`: a name without a dot is tried with every search domain and
//! never as it is; a name with a dot is asked as it is, only), sends them all at once from
//! one socket (`send_queries`), sends the unanswered ones again every `timeout / retry`
//! (2.5 s) until `timeout` (5 s) has passed, and prints each answer as it arrives: the
//! `Server:`/`Address:\tIP:53` header at the first reply, `** server can't find NAME: RCODE`
//! for an error rcode (the exit status becomes 1), or the answer records (`parse_reply`),
//! each reply followed by an empty line. A SERVFAIL is asked again at once, at most
//! `2 × queries` times per round. A server that sent no reply at all is left for the next;
//! with none left: `;; connection timed out; no servers could be reached`. Queries still
//! unanswered from a server that did reply: `*** Can't find NAME: No answer`. A server on the
//! command line replaces resolv.conf altogether, search list included.
//! Measured: tests/data/real-tools/nslookup (busybox 1.35.0 against dnsmasq).
//!
//! busybox 1.28 (and older: the classic applet the Kubernetes docs show) resolves through the
//! libc: `Server:    IP` / `Address 1: IP NAME` (the server's PTR), an empty line, then
//! `Name:      HOST` and `Address N: IP NAME` for each address getaddrinfo returned, each
//! named by its PTR (getnameinfo `NI_NAMEREQD`: a reverse query per address). A failed lookup
//! prints `nslookup: can't resolve 'HOST'` on stderr, exit status 1. The queries are the
//! caller's to send ([`LegacyCommand`] says which).
//!
//! Left out: `-debug` and `-port=` (refused with a message), MX records (the simulated
//! servers have none), the search domain taken from the host name when resolv.conf has none,
//! the immediate `write to 'IP': Connection refused` of a server that answers with ICMP
//! (here: a timeout), and the 1.29–1.33 differences (no search list before 1.30, exit status
//! 0 on NXDOMAIN before 1.31).

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use super::coredns::reverse_name;
use super::message::{Message, RData, Rcode, RecordType};
use super::name::Name;
use super::resolv_conf::ResolvConf;
use super::resolver::{
    DnsClient, Exchange, LookupResult, LookupStatus, PendingQuery, QueryOutcome, SendTiming, Step, Transport,
};

/// What busybox ≥ 1.29 prints for a command line it does not take (`bb_show_usage`, stderr).
pub const USAGE: &str = "BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\nUsage: nslookup [-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]\n\nQuery DNS about HOST\n\nQUERY_TYPE: soa,ns,a,aaaa,cname,mx,txt,ptr,srv,any\n";

/// busybox 1.28.4's usage (the `busybox:1.28` image's build).
pub const LEGACY_USAGE: &str = "BusyBox v1.28.4 (2018-05-22 17:00:17 UTC) multi-call binary.\n\nUsage: nslookup [HOST] [SERVER]\n\nQuery the nameserver for the IP address of the given HOST\noptionally using a specified DNS server\n";

/// The query types `-type=` takes, in the order their queries are queued (nslookup.c `qtypes`).
const QTYPES: [(&str, RecordType); 10] = [
    ("SOA", RecordType::Soa),
    ("NS", RecordType::Ns),
    ("A", RecordType::A),
    ("AAAA", RecordType::Aaaa),
    ("CNAME", RecordType::Cname),
    ("MX", RecordType::Other(15)),
    ("TXT", RecordType::Txt),
    ("SRV", RecordType::Srv),
    ("PTR", RecordType::Ptr),
    ("ANY", RecordType::Other(255)),
];

/// A command line the applet refuses: its stderr, exit status 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused(pub String);

/// A parsed busybox ≥ 1.29 `nslookup [-type=T]... [-retry=N] [-timeout=S] HOST [SERVER]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The host as typed.
    pub host: String,
    /// `-type=` / `-querytype=` (each given once, in `qtypes` order); empty: the default.
    pub types: Vec<RecordType>,
    /// The server argument.
    pub server: Option<IpAddr>,
    /// `-retry=` (default 2): sends per server.
    pub retry: u32,
    /// `-timeout=` / `-t=` (default 5 s): the wait per server.
    pub timeout_secs: u32,
}

/// busybox's `xatou_range` complaints.
fn number(text: &str, max: u64) -> Result<u32, Refused> {
    let n: u64 = text.parse().map_err(|_| Refused(format!("nslookup: invalid number '{text}'\n")))?;
    if !(1..=max).contains(&n) {
        return Err(Refused(format!("nslookup: number {text} is not in 1..{max} range\n")));
    }
    u32::try_from(n).map_err(|_| Refused(format!("nslookup: invalid number '{text}'\n")))
}

impl Command {
    /// Parses the arguments (without the program name) as `nslookup_main` does: options
    /// (`-name=value`, a unique prefix of `type`, `querytype`, `port`, `retry`, `debug`, `t`,
    /// `timeout`) until the first word without a dash, then the host and an optional server.
    pub fn parse(args: &[&str]) -> Result<Command, Refused> {
        const OPTIONS: [&str; 7] = ["type", "querytype", "port", "retry", "debug", "t", "timeout"];
        let usage = || Refused(USAGE.to_string());
        let mut mask = [false; QTYPES.len()];
        let (mut retry, mut timeout_secs) = (2, 5);
        let mut rest = args;
        while let Some((first, tail)) = rest.split_first() {
            let Some(opt) = first.strip_prefix('-') else { break };
            rest = tail;
            let (key, val) = opt.split_once('=').unwrap_or((opt, ""));
            // index_in_substrings: an exact match, or the only option the key begins.
            let exact = OPTIONS.iter().position(|o| *o == key);
            let prefixed: Vec<usize> = (0..OPTIONS.len()).filter(|i| OPTIONS[*i].starts_with(key)).collect();
            let index = match (exact, prefixed.as_slice()) {
                _ if key.is_empty() => return Err(usage()),
                (Some(i), _) => i,
                (None, [i]) => *i,
                _ => return Err(usage()),
            };
            match index {
                0 | 1 => {
                    let i = QTYPES
                        .iter()
                        .position(|(n, _)| n.eq_ignore_ascii_case(val))
                        .ok_or_else(|| Refused(format!("nslookup: invalid query type \"{val}\"\n")))?;
                    mask[i] = true;
                }
                2 => {
                    if number(val, 0xffff)? != 53 {
                        return Err(Refused(format!(
                            "nslookup: -port={val}: only port 53 is simulated (servers listen there)\n"
                        )));
                    }
                }
                3 => retry = number(val, u64::from(i32::MAX as u32))?,
                4 => {
                    return Err(Refused(
                        "nslookup: -debug is not simulated (its per-query timings)\n".to_string(),
                    ));
                }
                _ => timeout_secs = number(val, u64::from(i32::MAX as u32 / 1000))?,
            }
        }
        let (host, server) = match rest {
            [host] => (*host, None),
            [host, server] => {
                let ip = server
                    .parse::<IpAddr>()
                    .map_err(|_| Refused(format!("nslookup: bad address '{server}'\n")))?;
                (*host, Some(ip))
            }
            _ => return Err(usage()),
        };
        let types = QTYPES.iter().zip(mask).filter(|(_, on)| *on).map(|((_, t), _)| *t).collect();
        Ok(Command { host: host.to_string(), types, server, retry, timeout_secs })
    }

    /// The queries, in queueing order: a PTR for an address (no `-type`), else A then AAAA
    /// (or each `-type`), each for every candidate name (`add_query_with_search`). Each comes
    /// with the name busybox prints for it.
    pub fn queries(&self, conf: &ResolvConf) -> Result<Vec<(String, Name, RecordType)>, Refused> {
        let bad = |name: &str, e: &dyn std::fmt::Display| {
            Refused(format!("nslookup: '{name}' is not a legal name ({e})\n"))
        };
        if self.types.is_empty()
            && let Ok(ip) = self.host.parse::<IpAddr>()
        {
            let ptr = reverse_name(ip);
            return Ok(vec![(ptr.to_relative_string(), ptr, RecordType::Ptr)]);
        }
        // With a server argument resolv.conf is not read: no search list.
        let search: &[String] = if self.server.is_some() { &[] } else { &conf.searches };
        let search: Vec<&String> = search.iter().filter(|s| s.as_str() != ".").collect();
        let names: Vec<String> = if self.host.contains('.') || search.is_empty() {
            vec![self.host.clone()]
        } else {
            search.iter().map(|d| format!("{}.{}", self.host, d.trim_end_matches('.'))).collect()
        };
        let types =
            if self.types.is_empty() { vec![RecordType::A, RecordType::Aaaa] } else { self.types.clone() };
        let mut out = Vec::new();
        for t in types {
            for n in &names {
                let name = Name::parse(n).map_err(|e| bad(n, &e))?;
                out.push((n.clone(), name, t));
            }
        }
        Ok(out)
    }
}

/// One queued query.
#[derive(Clone, Debug)]
struct Query {
    /// The name as busybox prints it.
    printed: String,
    message: Message,
    answered: bool,
}

/// busybox ≥ 1.29's `send_queries` loop over the servers, printing as replies arrive.
#[derive(Clone, Debug)]
pub struct Lookup {
    queries: Vec<Query>,
    servers: Vec<IpAddr>,
    server: usize,
    timeout_ms: u64,
    interval_ms: u64,
    /// Milliseconds since the lookup began.
    now_ms: u64,
    server_start_ms: u64,
    /// The current round (send of every unanswered query) of this server.
    round: u64,
    /// Datagrams read from the current server (the header is printed at the first).
    replies: u32,
    /// Replies processed (printed) from the current server.
    processed: u32,
    servfail_retry: u32,
    next: Option<PendingQuery>,
    first_send: bool,
    stdout: String,
    exit_code: i32,
    transcript: Vec<Exchange>,
    final_responses: Vec<Message>,
    done: bool,
}

impl Lookup {
    /// Starts the lookup; query ids count up from `first_id`.
    pub fn new(cmd: &Command, conf: &ResolvConf, first_id: u16) -> Result<Lookup, Refused> {
        let queries = cmd
            .queries(conf)?
            .into_iter()
            .enumerate()
            .map(|(i, (printed, name, t))| Query {
                printed,
                message: Message::query(first_id.wrapping_add(i as u16), name, t),
                answered: false,
            })
            .collect();
        let mut servers: Vec<IpAddr> = match cmd.server {
            Some(s) => vec![s],
            None => conf.nameservers.clone(),
        };
        // No nameserver in resolv.conf: localhost.
        if servers.is_empty() {
            servers.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        let timeout_ms = u64::from(cmd.timeout_secs) * 1000;
        let mut l = Lookup {
            queries,
            servers,
            server: 0,
            timeout_ms,
            interval_ms: (timeout_ms / u64::from(cmd.retry.max(1))).max(1),
            now_ms: 0,
            server_start_ms: 0,
            round: 0,
            replies: 0,
            processed: 0,
            servfail_retry: 0,
            next: None,
            first_send: true,
            stdout: String::new(),
            exit_code: 0,
            transcript: Vec::new(),
            final_responses: Vec::new(),
            done: false,
        };
        l.start_server();
        Ok(l)
    }

    /// What was printed, and the exit status (meaningful once the lookup is done).
    pub fn output(&self) -> (&str, i32) {
        (&self.stdout, self.exit_code)
    }

    fn start_server(&mut self) {
        self.server_start_ms = self.now_ms;
        self.round = 0;
        self.replies = 0;
        self.processed = 0;
        self.first_send = true;
        self.start_round();
    }

    /// Sends every unanswered query (`goto send`), waiting until the round's end.
    fn start_round(&mut self) {
        self.servfail_retry = 2 * self.queries.len() as u32;
        let unanswered: Vec<usize> = (0..self.queries.len()).filter(|i| !self.queries[*i].answered).collect();
        self.send(&unanswered);
    }

    fn round_end_ms(&self) -> u64 {
        self.server_start_ms + ((self.round + 1) * self.interval_ms).min(self.timeout_ms)
    }

    fn send(&mut self, which: &[usize]) {
        let mut messages = which.iter().map(|i| self.queries[*i].message.clone());
        let Some(message) = messages.next() else {
            self.next = None;
            return;
        };
        self.next = Some(PendingQuery {
            message,
            also: messages.collect(),
            server: self.servers[self.server],
            timeout_ms: self.round_end_ms().saturating_sub(self.now_ms).max(1),
            transport: Transport::Udp,
            new_socket: std::mem::take(&mut self.first_send),
        });
    }

    /// One reply, as `send_queries` handles it; returns the query to ask again (SERVFAIL).
    fn receive(&mut self, reply: &Message) -> Option<usize> {
        self.replies += 1;
        if self.replies == 1 {
            let server = self.servers[self.server];
            let address = match server {
                IpAddr::V4(v4) => format!("{v4}:53"),
                IpAddr::V6(v6) => format!("[{v6}]:53"),
            };
            let _ = write!(self.stdout, "Server:\t\t{server}\nAddress:\t{address}\n\n");
        }
        let qn = self.queries.iter().position(|q| q.message.header.id == reply.header.id)?;
        if self.queries[qn].answered {
            return None;
        }
        if reply.header.rcode == Rcode::ServFail && self.servfail_retry > 0 {
            self.servfail_retry -= 1;
            return Some(qn);
        }
        self.queries[qn].answered = true;
        if reply.header.rcode != Rcode::NoError {
            let _ = writeln!(
                self.stdout,
                "** server can't find {}: {}",
                self.queries[qn].printed,
                rcode_name(reply.header.rcode)
            );
            self.exit_code = 1;
        } else {
            print_reply(&mut self.stdout, reply);
        }
        self.stdout.push('\n');
        self.processed += 1;
        self.final_responses.push(reply.clone());
        None
    }

    fn finish(&mut self) {
        let mut missing = false;
        for q in &self.queries {
            if !q.answered {
                let _ = writeln!(self.stdout, "*** Can't find {}: No answer", q.printed);
                missing = true;
            }
        }
        if missing {
            self.stdout.push('\n');
        }
        self.done = true;
        self.next = None;
    }

    fn result(&self) -> LookupResult {
        let status = if self.exit_code == 0 { LookupStatus::Found } else { LookupStatus::NotFound };
        LookupResult::unanswered(status, self.final_responses.clone(), self.transcript.clone())
    }
}

impl DnsClient for Lookup {
    fn step(&self) -> Step {
        match &self.next {
            Some(q) if !self.done => Step::Send(q.clone()),
            _ => Step::Done(self.result()),
        }
    }

    fn feed_timed(&mut self, outcome: QueryOutcome, timing: SendTiming) {
        let Some(query) = self.next.take() else { return };
        let sent = 1 + query.also.len();
        let arrived = outcome.messages().to_vec();
        self.now_ms = if timing == SendTiming::default() {
            // Run without the network's clock: a full answer took no time.
            self.now_ms + if arrived.len() >= sent { 0 } else { query.timeout_ms }
        } else {
            timing.sent_at_ms + timing.waited_ms
        };
        self.transcript.push(Exchange { query, outcome, timing, notes: Vec::new(), hops: Vec::new() });
        let mut again = Vec::new();
        for reply in &arrived {
            again.extend(self.receive(reply));
        }
        if self.queries.iter().all(|q| q.answered) {
            return self.finish();
        }
        // SERVFAIL: written again at once, the round's wait going on.
        if !again.is_empty() && self.now_ms < self.round_end_ms() {
            return self.send(&again);
        }
        self.round += 1;
        if self.round * self.interval_ms < self.timeout_ms {
            self.now_ms = self.now_ms.max(self.server_start_ms + self.round * self.interval_ms);
            return self.start_round();
        }
        if self.processed > 0 {
            return self.finish();
        }
        self.server += 1;
        if self.server < self.servers.len() {
            return self.start_server();
        }
        self.stdout.push_str(";; connection timed out; no servers could be reached\n\n");
        self.exit_code = 1;
        self.done = true;
    }

    fn note_last(&mut self, note: String) {
        if let Some(e) = self.transcript.last_mut() {
            e.notes.push(note);
        }
    }
}

/// nslookup.c `rcodes`.
fn rcode_name(rcode: Rcode) -> String {
    const NAMES: [&str; 11] = [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
        "NOTAUTH", "NOTZONE",
    ];
    let code = match rcode {
        Rcode::NoError => 0,
        Rcode::FormErr => 1,
        Rcode::ServFail => 2,
        Rcode::NxDomain => 3,
        Rcode::NotImp => 4,
        Rcode::Refused => 5,
        Rcode::Other(c) => usize::from(c),
    };
    NAMES.get(code).map_or_else(|| code.to_string(), |n| n.to_string())
}

/// nslookup.c `parse_reply`: the answer section of a NOERROR reply.
fn print_reply(out: &mut String, m: &Message) {
    if !m.header.flags.aa {
        out.push_str("Non-authoritative answer:\n");
    }
    for r in &m.answers {
        let owner = r.name.to_relative_string();
        let _ = match &r.data {
            RData::A(ip) => writeln!(out, "Name:\t{owner}\nAddress: {ip}"),
            RData::Aaaa(ip) => writeln!(out, "Name:\t{owner}\nAddress: {ip}"),
            RData::Ns(n) => writeln!(out, "{owner}\tnameserver = {}", n.to_relative_string()),
            RData::Cname(n) => writeln!(out, "{owner}\tcanonical name = {}", n.to_relative_string()),
            RData::Ptr(n) => writeln!(out, "{owner}\tname = {}", n.to_relative_string()),
            // Only the first character-string, and nothing for an empty one.
            RData::Txt(strings) => match strings.first().filter(|s| !s.is_empty()) {
                Some(s) => writeln!(out, "{owner}\ttext = \"{}\"", String::from_utf8_lossy(s)),
                None => Ok(()),
            },
            RData::Srv(s) => writeln!(
                out,
                "{owner}\tservice = {} {} {} {}",
                s.priority,
                s.weight,
                s.port,
                s.target.to_relative_string()
            ),
            RData::Soa(s) => super::tools::write_soa(out, &owner, s),
            RData::Opt(_) | RData::Unknown { .. } => Ok(()),
        };
    }
}

/// A parsed busybox 1.28 `nslookup HOST [SERVER]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyCommand {
    /// The host as typed.
    pub host: String,
    /// The server argument (replaces the first resolv.conf nameserver).
    pub server: Option<IpAddr>,
}

impl LegacyCommand {
    /// `nslookup_main`: one or two arguments, the first not starting with a dash.
    pub fn parse(args: &[&str]) -> Result<LegacyCommand, Refused> {
        let usage = || Refused(LEGACY_USAGE.to_string());
        match args {
            [host, ..] if host.starts_with('-') => Err(usage()),
            [host] => Ok(LegacyCommand { host: host.to_string(), server: None }),
            [host, server] => {
                let ip = server
                    .parse::<IpAddr>()
                    .map_err(|_| Refused(format!("nslookup: bad address '{server}'\n")))?;
                Ok(LegacyCommand { host: host.to_string(), server: Some(ip) })
            }
            _ => Err(usage()),
        }
    }
}

/// busybox 1.28's output: (stdout, stderr, exit status) from the server, its PTR name, and
/// the addresses getaddrinfo returned with their PTR names (`None`: the lookup failed).
pub fn legacy_output(
    server: IpAddr,
    server_ptr: Option<&Name>,
    host: &str,
    addresses: Option<&[(IpAddr, Option<Name>)]>,
) -> (String, String, i32) {
    let with_ptr = |ip: &IpAddr, ptr: Option<&Name>| match ptr {
        Some(p) => format!("{ip} {}", p.to_relative_string()),
        None => ip.to_string(),
    };
    let mut out = format!("{:<10} {server}\nAddress 1: {}\n\n", "Server:", with_ptr(&server, server_ptr));
    let Some(addresses) = addresses.filter(|a| !a.is_empty()) else {
        return (out, format!("nslookup: can't resolve '{host}'\n"), 1);
    };
    let _ = writeln!(out, "{:<10} {host}", "Name:");
    for (i, (ip, ptr)) in addresses.iter().enumerate() {
        let _ = writeln!(out, "Address {}: {}", i + 1, with_ptr(ip, ptr.as_ref()));
    }
    (out, String::new(), 0)
}

/// The name a PTR lookup gave (getnameinfo takes the first PTR of the answer).
pub fn ptr_name(result: &LookupResult) -> Option<Name> {
    result
        .final_responses
        .iter()
        .filter(|m| m.header.rcode == Rcode::NoError)
        .flat_map(|m| &m.answers)
        .find_map(|r| match &r.data {
            RData::Ptr(n) => Some(n.clone()),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::super::message::Record;
    use super::*;

    fn conf() -> ResolvConf {
        ResolvConf::parse(
            "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
        )
        .unwrap()
    }

    fn names(cmd: &Command) -> Vec<(String, RecordType)> {
        cmd.queries(&conf()).unwrap().into_iter().map(|(p, _, t)| (p, t)).collect()
    }

    #[test]
    fn search_only_for_names_without_a_dot() {
        let c = Command::parse(&["kubernetes"]).unwrap();
        let n = names(&c);
        assert_eq!(n.len(), 6);
        assert_eq!(n[0], ("kubernetes.default.svc.cluster.local".to_string(), RecordType::A));
        assert_eq!(n[3], ("kubernetes.default.svc.cluster.local".to_string(), RecordType::Aaaa));
        let c = Command::parse(&["kubernetes.default"]).unwrap();
        assert_eq!(
            names(&c),
            [("kubernetes.default".into(), RecordType::A), ("kubernetes.default".into(), RecordType::Aaaa)]
        );
        // A server argument: resolv.conf is not read, so no search list either.
        let c = Command::parse(&["kubernetes", "10.96.0.10"]).unwrap();
        assert_eq!(names(&c)[0], ("kubernetes".to_string(), RecordType::A));
        let c = Command::parse(&["10.96.0.1"]).unwrap();
        assert_eq!(names(&c), [("1.0.96.10.in-addr.arpa".to_string(), RecordType::Ptr)]);
        let c = Command::parse(&["-type=srv", "-q=A", "x"]).unwrap();
        assert_eq!(c.types, [RecordType::A, RecordType::Srv]);
    }

    #[test]
    fn refusals_as_busybox_words_them() {
        assert_eq!(Command::parse(&[]), Err(Refused(USAGE.to_string())));
        assert_eq!(Command::parse(&["-bogus", "x"]), Err(Refused(USAGE.to_string())));
        assert_eq!(
            Command::parse(&["-type=bogus", "x"]),
            Err(Refused("nslookup: invalid query type \"bogus\"\n".into()))
        );
        // `-t` is the timeout, not the type (measured).
        assert_eq!(Command::parse(&["-t=A", "x"]), Err(Refused("nslookup: invalid number 'A'\n".into())));
        assert_eq!(Command::parse(&["a", "b", "c"]), Err(Refused(USAGE.to_string())));
        assert_eq!(LegacyCommand::parse(&["-type=a", "x"]), Err(Refused(LEGACY_USAGE.to_string())));
    }

    fn reply(q: &Message, rcode: Rcode, aa: bool, answers: Vec<RData>) -> Message {
        let mut m = q.clone();
        m.header.flags.qr = true;
        m.header.flags.aa = aa;
        m.header.rcode = rcode;
        let owner = q.question().unwrap().name.clone();
        m.answers =
            answers.into_iter().map(|d| super::super::message::Record::new(owner.clone(), 5, d)).collect();
        m
    }

    #[test]
    fn replies_print_in_arrival_order() {
        let c = Command::parse(&["kubernetes"]).unwrap();
        let mut l = Lookup::new(&c, &conf(), 100).unwrap();
        let Step::Send(q) = l.step() else { panic!("no send") };
        let sent: Vec<Message> = q.messages().cloned().collect();
        assert_eq!(sent.len(), 6);
        let arrived = sent
            .iter()
            .enumerate()
            .map(|(i, m)| match i {
                0 => reply(m, Rcode::NoError, true, vec![RData::A(Ipv4Addr::new(10, 96, 0, 1))]),
                3 => reply(m, Rcode::NoError, true, vec![]),
                _ => reply(m, Rcode::NxDomain, true, vec![]),
            })
            .collect();
        l.feed_timed(QueryOutcome::Responses(arrived), SendTiming::default());
        assert!(matches!(l.step(), Step::Done(_)));
        let (out, code) = l.output();
        assert_eq!(code, 1);
        assert_eq!(
            out,
            "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\tkubernetes.default.svc.cluster.local\nAddress: 10.96.0.1\n\n\
             ** server can't find kubernetes.svc.cluster.local: NXDOMAIN\n\n** server can't find kubernetes.cluster.local: NXDOMAIN\n\n\
             \n** server can't find kubernetes.svc.cluster.local: NXDOMAIN\n\n** server can't find kubernetes.cluster.local: NXDOMAIN\n\n"
        );
    }

    #[test]
    fn silence_is_a_timeout_after_two_sends() {
        let c = Command::parse(&["kubernetes.default.svc.cluster.local"]).unwrap();
        let mut l = Lookup::new(&c, &conf(), 1).unwrap();
        let mut waits = Vec::new();
        while let Step::Send(q) = l.step() {
            waits.push(q.timeout_ms);
            l.feed_timed(QueryOutcome::Timeout, SendTiming::default());
        }
        assert_eq!(waits, [2500, 2500]);
        assert_eq!(l.output(), (";; connection timed out; no servers could be reached\n\n", 1));
    }

    /// dnsmasq as recorded (tests/data/real-tools/nslookup/README.md): its two host names
    /// answered authoritatively, NODATA without AA, NXDOMAIN in cluster.local and
    /// 10.in-addr.arpa, REFUSED elsewhere.
    fn dnsmasq(q: &Message) -> Option<Message> {
        let question = q.question()?;
        let name = question.name.to_relative_string();
        let hosts = [
            ("kubernetes.default.svc.cluster.local", Ipv4Addr::new(10, 0, 0, 1)),
            ("kube-dns.kube-system.svc.cluster.local", Ipv4Addr::new(10, 0, 0, 10)),
        ];
        let host = hosts.iter().find(|(n, _)| *n == name);
        let ptr = hosts.iter().find(|(_, ip)| reverse_name(IpAddr::V4(*ip)).to_relative_string() == name);
        let parse = |n: &str| Name::parse(n).ok();
        if name == "my-service.default.svc.cluster.local" {
            let target = parse("my.database.example.com")?;
            let mut m = reply(q, Rcode::NoError, true, vec![RData::Cname(target.clone())]);
            if question.qtype == RecordType::A {
                m.answers.push(Record::new(target, 0, RData::A(Ipv4Addr::new(203, 0, 113, 50))));
            }
            return Some(m);
        }
        if (name.as_str(), question.qtype) == ("_http._tcp.web.default.svc.cluster.local", RecordType::Srv) {
            let target = parse("web-0.web.default.svc.cluster.local")?;
            let srv = super::super::message::Srv { priority: 0, weight: 100, port: 80, target };
            return Some(reply(q, Rcode::NoError, true, vec![RData::Srv(srv)]));
        }
        if (name.as_str(), question.qtype) == ("txt.default.svc.cluster.local", RecordType::Txt) {
            return Some(reply(q, Rcode::NoError, true, vec![RData::Txt(vec![b"hello world".to_vec()])]));
        }
        Some(match (question.qtype, host, ptr) {
            (RecordType::A, Some((_, ip)), _) => reply(q, Rcode::NoError, true, vec![RData::A(*ip)]),
            (RecordType::Ptr, _, Some((n, _))) => {
                reply(q, Rcode::NoError, true, vec![RData::Ptr(Name::parse(n).ok()?)])
            }
            (_, Some(_), _) => reply(q, Rcode::NoError, false, vec![]),
            _ if name.ends_with("cluster.local") || name.ends_with("10.in-addr.arpa") => {
                reply(q, Rcode::NxDomain, true, vec![])
            }
            _ => reply(q, Rcode::Refused, false, vec![]),
        })
    }

    #[test]
    fn output_matches_the_recordings() {
        let dir = format!("{}/../tests/data/real-tools/nslookup", env!("CARGO_MANIFEST_DIR"));
        let conf = ResolvConf::parse(
            "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.0.0.10\noptions ndots:5\n",
        )
        .unwrap();
        let cases: [(&str, &[&str]); 12] = [
            ("cname", &["my-service.default.svc.cluster.local"]),
            ("type-srv", &["-type=srv", "_http._tcp.web.default.svc.cluster.local"]),
            ("type-txt", &["-type=txt", "txt.default.svc.cluster.local"]),
            ("search", &["kubernetes"]),
            ("dotted", &["kubernetes.default"]),
            ("fqdn", &["kubernetes.default.svc.cluster.local"]),
            ("trailing-dot", &["kube-dns.kube-system.svc.cluster.local."]),
            ("nxdomain", &["nosuch"]),
            ("server-arg", &["kubernetes", "10.0.0.10"]),
            ("type-a", &["-type=a", "kubernetes"]),
            ("ptr", &["10.0.0.1"]),
            ("timeout", &["kubernetes.default.svc.cluster.local", "10.0.0.12"]),
        ];
        for (file, args) in cases {
            let mut l = Lookup::new(&Command::parse(args).unwrap(), &conf, 7).unwrap();
            while let Step::Send(q) = l.step() {
                let arrived: Vec<Message> = if q.server == "10.0.0.10".parse::<IpAddr>().unwrap() {
                    q.messages().filter_map(dnsmasq).collect()
                } else {
                    Vec::new()
                };
                let outcome =
                    if arrived.is_empty() { QueryOutcome::Timeout } else { QueryOutcome::Responses(arrived) };
                l.feed_timed(outcome, SendTiming::default());
            }
            let stdout = std::fs::read_to_string(format!("{dir}/bb-{file}.stdout")).unwrap();
            let rc: i32 =
                std::fs::read_to_string(format!("{dir}/bb-{file}.rc")).unwrap().trim().parse().unwrap();
            assert_eq!(l.output(), (stdout.as_str(), rc), "bb-{file}");
        }
    }

    #[test]
    fn legacy_format_of_the_docs() {
        let kube_dns = Name::parse("kube-dns.kube-system.svc.cluster.local").unwrap();
        let k = Name::parse("kubernetes.default.svc.cluster.local").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let (out, err, code) = legacy_output(
            ip("10.0.0.10"),
            Some(&kube_dns),
            "kubernetes.default",
            Some(&[(ip("10.0.0.1"), Some(k))]),
        );
        assert_eq!(
            (out.as_str(), err.as_str(), code),
            (
                "Server:    10.0.0.10\nAddress 1: 10.0.0.10 kube-dns.kube-system.svc.cluster.local\n\nName:      kubernetes.default\nAddress 1: 10.0.0.1 kubernetes.default.svc.cluster.local\n",
                "",
                0
            )
        );
        let (out, err, code) = legacy_output(ip("10.0.0.10"), None, "nosuch", None);
        assert_eq!(
            (out.as_str(), err.as_str(), code),
            ("Server:    10.0.0.10\nAddress 1: 10.0.0.10\n\n", "nslookup: can't resolve 'nosuch'\n", 1)
        );
    }
}
