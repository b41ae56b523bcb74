//! What `dig`, `nslookup` and `getent hosts` print, byte for byte.
//!
//! dig follows bind9 bin/dig/dig.c and lib/dns/masterdump.c: records are laid out with the
//! `indent()` rule (tabs to columns 24/32/40/48, a single space once a column is passed), the
//! question line is indented to the class column 32, `.local` names get the mDNS warning
//! (dig ≥ 9.16), and `WARNING: recursion requested but not available` appears when `rd` was
//! asked and `ra` is missing. Id, cookie, query time and WHEN come from the caller.
//! nslookup follows bind9 bin/dig/nslookup.c (`Server:\t\t`, `Address:\t<ip>#53`, `Name:\t`,
//! `Address: `, `canonical name = `, `Non-authoritative answer:`, `** server can't find`),
//! (busybox's applets are in `busybox_nslookup`). getent follows glibc
//! nss/getent.c `print_hosts` (`%-15s %s`, one line per address).
//! Left out: dig `+trace`, `+tcp`, multiple queries per command line; nslookup interactive mode.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::message::{EDNS_OPTION_COOKIE, Message, RData, Rcode, Record, RecordType};
use super::name::Name;
use super::resolver::LookupResult;

/// Which parts of dig's output to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigStyle {
    /// The default full output.
    Full,
    /// `+short`: rdata only.
    Short,
    /// `+noall +answer`: answer records only.
    AnswerOnly,
}

/// The parts of a dig run that do not come from the DNS message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigRun {
    /// bind9 version in the banner (`9.18.24`).
    pub version: String,
    /// The command-line arguments echoed in the banner (`-x 10.96.0.1`, `SRV name`).
    pub args: String,
    /// Server address.
    pub server: IpAddr,
    /// `Query time` in milliseconds (from simulated time).
    pub query_time_ms: u64,
    /// `WHEN:` text (from simulated time), e.g. `Wed Oct 07 19:04:04 UTC 2026`.
    pub when: String,
    /// The answer came over TCP (`SERVER: ... (TCP)`).
    pub tcp: bool,
}

/// The query dig sends: RD and AD set, EDNS0 with a 1232-byte buffer and an 8-byte client
/// cookie (dig 9.18 defaults).
pub fn dig_query(name: Name, qtype: RecordType, id: u16, cookie: [u8; 8]) -> Message {
    let mut q = Message::query(id, name, qtype);
    q.header.flags.ad = true;
    q.set_edns(1232, vec![(EDNS_OPTION_COOKIE, cookie.to_vec())]);
    q
}

/// bind's masterdump `indent()`: tabs to the column when possible, at least one character.
fn indent(out: &mut String, col: &mut usize, to: usize) {
    let to = to.max(*col + 1);
    let ntabs = to / 8 - *col / 8;
    let mut from = *col;
    if ntabs > 0 {
        out.extend(std::iter::repeat_n('\t', ntabs));
        from = (to / 8) * 8;
    }
    out.extend(std::iter::repeat_n(' ', to - from));
    *col = to;
}

/// One record as dig prints it (`name.<tabs>ttl<tab>IN<tab>TYPE<tab>rdata`).
pub fn dig_record_line(r: &Record) -> String {
    let mut out = String::new();
    let mut col = 0;
    let name = r.name.to_string();
    out.push_str(&name);
    col += name.len();
    indent(&mut out, &mut col, 24);
    let ttl = r.ttl.to_string();
    out.push_str(&ttl);
    col += ttl.len();
    indent(&mut out, &mut col, 32);
    out.push_str("IN");
    col += 2;
    indent(&mut out, &mut col, 40);
    let t = r.rtype().to_string();
    out.push_str(&t);
    col += t.len();
    indent(&mut out, &mut col, 48);
    out.push_str(&r.data.to_string());
    out
}

fn dig_question_line(m: &Message) -> String {
    let Some(q) = m.question() else { return String::new() };
    let mut out = format!(";{}", q.name);
    let mut col = out.len();
    indent(&mut out, &mut col, 32);
    out.push_str("IN");
    col += 2;
    indent(&mut out, &mut col, 40);
    out.push_str(&q.qtype.to_string());
    out
}

/// dig's output for one response, given as the bytes that arrived (their length is the
/// `MSG SIZE  rcvd:` figure).
pub fn dig(run: &DigRun, wire: &[u8], style: DigStyle) -> String {
    let mut out = String::new();
    let response = match Message::decode(wire) {
        Ok(m) => m,
        Err(e) => return format!(";; Got bad packet: {e}\n{} bytes\n", wire.len()),
    };
    let response = &response;
    match style {
        DigStyle::Short => {
            for r in &response.answers {
                let _ = writeln!(out, "{}", r.data);
            }
            return out;
        }
        DigStyle::AnswerOnly => {
            for r in &response.answers {
                let _ = writeln!(out, "{}", dig_record_line(r));
            }
            return out;
        }
        DigStyle::Full => {}
    }
    let h = &response.header;
    let _ = writeln!(out);
    let _ = writeln!(out, "; <<>> DiG {} <<>> {}", run.version, run.args);
    let _ = writeln!(out, ";; global options: +cmd");
    let _ = writeln!(out, ";; Got answer:");
    let local = Name::parse("local").unwrap_or_default();
    if response.question().is_some_and(|q| q.name.is_subdomain_of(&local)) {
        let _ = writeln!(out, ";; WARNING: .local is reserved for Multicast DNS");
        let _ =
            writeln!(out, ";; You are currently testing what happens when an mDNS query is leaked to DNS");
    }
    let opcode =
        if h.flags.opcode == 0 { "QUERY".to_string() } else { format!("RESERVED{}", h.flags.opcode) };
    let _ = writeln!(out, ";; ->>HEADER<<- opcode: {opcode}, status: {}, id: {}", h.rcode, h.id);
    let mut flags = Vec::new();
    for (on, f) in [
        (h.flags.qr, "qr"),
        (h.flags.aa, "aa"),
        (h.flags.tc, "tc"),
        (h.flags.rd, "rd"),
        (h.flags.ra, "ra"),
        (h.flags.ad, "ad"),
        (h.flags.cd, "cd"),
    ] {
        if on {
            flags.push(f);
        }
    }
    let _ = writeln!(
        out,
        ";; flags: {}; QUERY: {}, ANSWER: {}, AUTHORITY: {}, ADDITIONAL: {}",
        flags.join(" "),
        response.questions.len(),
        response.answers.len(),
        response.authority.len(),
        response.additional.len()
    );
    if h.flags.rd && !h.flags.ra {
        let _ = writeln!(out, ";; WARNING: recursion requested but not available");
    }
    let _ = writeln!(out);
    if let Some(opt) = response.opt() {
        let _ = writeln!(out, ";; OPT PSEUDOSECTION:");
        let _ = writeln!(out, "; EDNS: version: {}, flags:; udp: {}", (opt.ttl >> 16) & 0xff, opt.class);
        if let RData::Opt(options) = &opt.data {
            for (code, data) in options {
                if *code == EDNS_OPTION_COOKIE {
                    let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
                    let tag = if data.len() == 8 { "echoed" } else { "good" };
                    let _ = writeln!(out, "; COOKIE: {hex} ({tag})");
                }
            }
        }
    }
    let _ = writeln!(out, ";; QUESTION SECTION:");
    let _ = writeln!(out, "{}", dig_question_line(response));
    let _ = writeln!(out);
    let extra: Vec<&Record> = response.additional.iter().filter(|r| r.rtype() != RecordType::Opt).collect();
    for (title, records) in [
        ("ANSWER", response.answers.iter().collect::<Vec<_>>()),
        ("AUTHORITY", response.authority.iter().collect()),
        ("ADDITIONAL", extra),
    ] {
        if records.is_empty() {
            continue;
        }
        let _ = writeln!(out, ";; {title} SECTION:");
        for r in records {
            let _ = writeln!(out, "{}", dig_record_line(r));
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, ";; Query time: {} msec", run.query_time_ms);
    let proto = if run.tcp { "TCP" } else { "UDP" };
    let _ = writeln!(out, ";; SERVER: {}#53({}) ({proto})", run.server, run.server);
    let _ = writeln!(out, ";; WHEN: {}", run.when);
    let _ = writeln!(out, ";; MSG SIZE  rcvd: {}", wire.len());
    let _ = writeln!(out);
    out
}

/// bind9 `nslookup NAME` output from a [`ResolverFlavour::Bind9`](super::resolver::ResolverFlavour)
/// lookup with `AddressFamily::Unspec` (nslookup.c `printmessage`): the A lookup with the search
/// list, then, after a NOERROR, an AAAA lookup for the CNAME-chased name.
pub fn nslookup_bind9(server: IpAddr, result: &LookupResult) -> String {
    let mut out = format!("Server:\t\t{server}\nAddress:\t{server}#53\n\n");
    let find =
        |t: RecordType| result.final_responses.iter().find(|m| m.question().is_some_and(|q| q.qtype == t));
    let (Some(a), aaaa) = (find(RecordType::A), find(RecordType::Aaaa)) else {
        return ";; connection timed out; no servers could be reached\n\n".to_string();
    };
    let qname = |m: &Message| m.question().map(|q| q.name.to_relative_string()).unwrap_or_default();
    if a.header.rcode != Rcode::NoError {
        let _ = writeln!(out, "** server can't find {}: {}\n", qname(a), a.header.rcode);
        return out;
    }
    if !a.header.flags.aa {
        out.push_str("Non-authoritative answer:\n");
    }
    let a_noanswer = a.answers.is_empty();
    nslookup_answers(&mut out, a);
    if let Some(aaaa) = aaaa {
        if aaaa.header.rcode != Rcode::NoError {
            let _ = writeln!(out, "** server can't find {}: {}", qname(aaaa), aaaa.header.rcode);
        } else if !aaaa.answers.is_empty() {
            nslookup_answers(&mut out, aaaa);
        } else if a_noanswer {
            let _ = writeln!(out, "*** Can't find {}: No answer", qname(aaaa));
        }
    }
    out.push('\n');
    out
}

/// nslookup.c `printsection` for the answer section.
fn nslookup_answers(out: &mut String, m: &Message) {
    nslookup_section(out, &m.answers, true);
}

/// nslookup.c `printsection`: addresses as `Name:`/`Address:` in the answer section only,
/// SOA as its field list, everything else `owner\t<type text> = rdata`.
fn nslookup_section(out: &mut String, records: &[Record], answer_section: bool) {
    for r in records {
        let owner = r.name.to_relative_string();
        let _ = match &r.data {
            RData::A(_) | RData::Aaaa(_) if answer_section => {
                writeln!(out, "Name:\t{owner}\nAddress: {}", r.data)
            }
            RData::A(_) => writeln!(out, "{owner}\tinternet address = {}", r.data),
            RData::Aaaa(_) => writeln!(out, "{owner}\thas AAAA address {}", r.data),
            RData::Soa(soa) => write_soa(out, &owner, soa),
            RData::Cname(t) => writeln!(out, "{owner}\tcanonical name = {t}"),
            RData::Ptr(t) => writeln!(out, "{owner}\tname = {t}"),
            RData::Srv(_) => writeln!(out, "{owner}\tservice = {}", r.data),
            RData::Txt(_) => writeln!(out, "{owner}\ttext = {}", r.data),
            RData::Ns(t) => writeln!(out, "{owner}\tnameserver = {t}"),
            RData::Opt(_) => Ok(()),
            other => writeln!(out, "{owner}\trdata_{} = {other}", other.rtype().code()),
        };
    }
}

/// bind9 `nslookup -type=T NAME` (or `nslookup ADDRESS`, a PTR lookup printed without the
/// server header): one lookup of one type, with the authority data of non-authoritative
/// answers for types other than A/AAAA.
pub fn nslookup_bind9_typed(server: IpAddr, header: bool, result: &LookupResult) -> String {
    let mut out =
        if header { format!("Server:\t\t{server}\nAddress:\t{server}#53\n\n") } else { String::new() };
    let Some(m) = result.final_responses.first() else {
        return ";; connection timed out; no servers could be reached\n\n".to_string();
    };
    let qname = m.question().map(|q| q.name.to_relative_string()).unwrap_or_default();
    let qtype = m.question().map(|q| q.qtype).unwrap_or(RecordType::A);
    if m.header.rcode != Rcode::NoError {
        let _ = writeln!(out, "** server can't find {qname}: {}\n", m.header.rcode);
        return out;
    }
    if !m.header.flags.aa {
        out.push_str("Non-authoritative answer:\n");
    }
    if m.answers.is_empty() {
        let _ = writeln!(out, "*** Can't find {qname}: No answer");
    } else {
        nslookup_answers(&mut out, m);
    }
    if !m.header.flags.aa && !matches!(qtype, RecordType::A | RecordType::Aaaa) {
        out.push_str("\nAuthoritative answers can be found from:\n");
        nslookup_section(&mut out, &m.authority, false);
        let extra: Vec<Record> =
            m.additional.iter().filter(|r| r.rtype() != RecordType::Opt).cloned().collect();
        nslookup_section(&mut out, &extra, false);
    }
    out.push('\n');
    out
}

/// `getent hosts NAME`: one `%-15s %s` line per address with the canonical name and aliases;
/// empty output (exit status 2) when the lookup found nothing.
pub fn getent_hosts(result: &LookupResult) -> String {
    let Some(canonical) = &result.canonical_name else { return String::new() };
    let mut out = String::new();
    for ip in &result.addresses {
        let _ = write!(out, "{:<15} {}", ip.to_string(), canonical.to_relative_string());
        for a in &result.aliases {
            let _ = write!(out, " {}", a.to_relative_string());
        }
        out.push('\n');
    }
    out
}

/// One DNS message the way tcpdump summarises it (print-domain.c `ns_print`): a query is
/// `id+ [1au] A? name. (len)`, a response `id NXDomain*- an/ns/ar A 10.96.0.1 (len)`.
pub fn tcpdump_dns(m: &Message) -> String {
    let len = m.encode().len();
    let h = &m.header;
    let mut out = h.id.to_string();
    let extra = m.additional.len();
    if !h.flags.qr {
        if h.flags.rd {
            out.push('+');
        }
        if h.flags.cd {
            out.push('%');
        }
        if extra > 0 {
            let _ = write!(out, " [{extra}au]");
        }
        for q in &m.questions {
            let _ = write!(out, " {}? {}", q.qtype, q.name);
        }
    } else {
        match h.rcode {
            Rcode::NoError => {}
            Rcode::NxDomain => out.push_str(" NXDomain"),
            Rcode::ServFail => out.push_str(" ServFail"),
            Rcode::FormErr => out.push_str(" FormErr"),
            Rcode::NotImp => out.push_str(" NotImp"),
            Rcode::Refused => out.push_str(" Refused"),
            Rcode::Other(c) => {
                let _ = write!(out, " Resp{c}");
            }
        }
        if h.flags.aa {
            out.push('*');
        }
        if !h.flags.ra {
            out.push('-');
        }
        if h.flags.tc {
            out.push('|');
        }
        if h.flags.ad {
            out.push('$');
        }
        let _ = write!(out, " {}/{}/{}", m.answers.len(), m.authority.len(), extra);
        let answers: Vec<String> = m.answers.iter().map(|r| format!("{} {}", r.rtype(), r.data)).collect();
        if !answers.is_empty() {
            let _ = write!(out, " {}", answers.join(", "));
        }
    }
    let _ = write!(out, " ({len})");
    out
}

/// A lookup's queries and answers in tcpdump's words (the "how many queries did that name
/// cost" view): each query with the time it left (seconds since the lookup began) and its
/// source port (one port for queries sent from one socket), each answer under it, and the
/// queries left unanswered when the wait ended.
pub fn transcript(result: &LookupResult) -> String {
    let mut out = String::new();
    // Without the network's timings (a lookup run against a server directly) there is no
    // time or port column.
    let timed = result.transcript.iter().any(|e| e.timing != super::resolver::SendTiming::default());
    let clock = |ms: u64| if timed { format!("{:>3}.{:03} ", ms / 1000, ms % 1000) } else { String::new() };
    for ex in &result.transcript {
        let t = &ex.timing;
        let at = clock(t.sent_at_ms);
        let port = t.local_port.map(|p| format!(":{p} ")).unwrap_or_default();
        let tcp = if ex.query.transport == super::resolver::Transport::Tcp { " [tcp]" } else { "" };
        for m in ex.query.messages() {
            let _ = writeln!(out, "{at}{port}> {}.53{tcp}: {}", ex.query.server, tcpdump_dns(m));
        }
        for hop in &ex.hops {
            let tcp = if hop.tcp { " [tcp]" } else { "" };
            let from = hop.local.map(|l| format!("{}.{}", l.ip(), l.port())).unwrap_or_default();
            let server = format!("{}.{}", hop.server.ip(), hop.server.port());
            let pad = " ".repeat(clock(0).len());
            let asked = hop.query.as_ref().map(tcpdump_dns).unwrap_or_default();
            let _ =
                writeln!(out, "{}  forward by {}: {from} > {server}{tcp}: {asked}", clock(hop.at_ms), hop.by);
            match &hop.answer {
                Some(m) => {
                    let _ = writeln!(
                        out,
                        "{pad}  forward by {}: {from} < {server}{tcp}: {}",
                        hop.by,
                        tcpdump_dns(m)
                    );
                }
                None if hop.waited_ms == 0 => {}
                None => {
                    let _ = writeln!(
                        out,
                        "{}  forward by {}: no answer from {server} after {}.{:03}s",
                        clock(hop.at_ms + hop.waited_ms),
                        hop.by,
                        hop.waited_ms / 1000,
                        hop.waited_ms % 1000
                    );
                }
            }
        }
        let arrived = ex.outcome.messages();
        for m in arrived {
            let _ = writeln!(
                out,
                "{}< {}.53{tcp}: {}",
                " ".repeat(at.len() + port.len()),
                ex.query.server,
                tcpdump_dns(m)
            );
        }
        for note in &ex.notes {
            let _ = writeln!(out, "{}! {note}", " ".repeat(at.len() + port.len()));
        }
        let missing: Vec<String> = ex
            .query
            .messages()
            .filter(|q| !arrived.iter().any(|m| m.header.id == q.header.id))
            .map(|q| {
                format!("{} {}", q.header.id, q.question().map(|q| q.qtype.to_string()).unwrap_or_default())
            })
            .collect();
        if !missing.is_empty() {
            let end = t.sent_at_ms + ex.query.timeout_ms;
            let wait = ex.query.timeout_ms;
            let wait = if wait % 1000 == 0 {
                format!("{}s", wait / 1000)
            } else {
                format!("{}.{}s", wait / 1000, (wait % 1000) / 100)
            };
            let _ = writeln!(out, "{}{port}no answer to {} after {wait}", clock(end), missing.join(", "));
        }
    }
    out
}

/// An SOA record as nslookup prints it (bind9's `printsoa`, which busybox's applet copies).
pub(crate) fn write_soa(out: &mut String, owner: &str, soa: &super::message::Soa) -> std::fmt::Result {
    writeln!(
        out,
        "{owner}\n\torigin = {}\n\tmail addr = {}\n\tserial = {}\n\trefresh = {}\n\tretry = {}\n\texpire = {}\n\tminimum = {}",
        soa.mname.to_relative_string(),
        soa.rname.to_relative_string(),
        soa.serial,
        soa.refresh,
        soa.retry,
        soa.expire,
        soa.minimum
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn record_columns_follow_bind_indent() {
        let r =
            Record::new(Name::parse("google.com").unwrap(), 300, RData::A(Ipv4Addr::new(142, 250, 74, 14)));
        assert_eq!(dig_record_line(&r), "google.com.\t\t300\tIN\tA\t142.250.74.14");
        let r = Record::new(
            Name::parse("kubernetes.default.svc.cluster.local").unwrap(),
            30,
            RData::A(Ipv4Addr::new(10, 96, 0, 1)),
        );
        assert_eq!(dig_record_line(&r), "kubernetes.default.svc.cluster.local. 30 IN A\t10.96.0.1");
        let q = Message::query(1, Name::parse("google.com").unwrap(), RecordType::A);
        assert_eq!(dig_question_line(&q), ";google.com.\t\t\tIN\tA");
    }
}
