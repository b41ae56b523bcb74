//! DNS messages: typed header, question and resource records, with RFC 1035 wire encoding.
//!
//! Follows RFC 1035 §4.1 (header, question, RR layout, §4.1.4 compression pointers), RFC 2782
//! (SRV), RFC 3596 (AAAA) and RFC 6891 (the OPT pseudo-record, kept as raw options). These bytes
//! are the UDP payload of the simulated packets to the kube-dns Service, so the decoder is
//! written for untrusted input: every read is bounds-checked, compression pointers must point
//! backwards (no loops), and a malformed message is an `Err`, never a panic.
//!
//! Encoding is uncompressed by default (CoreDNS only compresses a reply that would not fit
//! otherwise, which is why dig reports `MSG SIZE rcvd: 135` for a one-A answer);
//! [`Message::encode_compressed`] compresses owner names and the names inside CNAME/NS/PTR/SOA.
//! Left out: TSIG/DNSSEC records (decoded as [`RData::Unknown`]), multiple-question semantics.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use thiserror::Error;

use super::name::{MAX_LABEL_LEN, MAX_NAME_WIRE_LEN, Name};

/// Class IN (RFC 1035 §3.2.4).
pub const CLASS_IN: u16 = 1;
/// EDNS option code of DNS COOKIE (RFC 7873).
pub const EDNS_OPTION_COOKIE: u16 = 10;

/// A record type (the TYPE / QTYPE field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordType {
    /// IPv4 host address.
    A,
    /// Authoritative name server.
    Ns,
    /// Canonical name (alias).
    Cname,
    /// Start of authority.
    Soa,
    /// Domain name pointer (reverse lookups).
    Ptr,
    /// Text strings.
    Txt,
    /// IPv6 host address.
    Aaaa,
    /// Service locator.
    Srv,
    /// EDNS pseudo-record.
    Opt,
    /// QTYPE `*`.
    Any,
    /// Any other type, by number.
    Other(u16),
}

impl RecordType {
    /// The 16-bit type code.
    pub fn code(self) -> u16 {
        match self {
            RecordType::A => 1,
            RecordType::Ns => 2,
            RecordType::Cname => 5,
            RecordType::Soa => 6,
            RecordType::Ptr => 12,
            RecordType::Txt => 16,
            RecordType::Aaaa => 28,
            RecordType::Srv => 33,
            RecordType::Opt => 41,
            RecordType::Any => 255,
            RecordType::Other(c) => c,
        }
    }

    /// The type for a code.
    pub fn from_code(code: u16) -> Self {
        match code {
            1 => RecordType::A,
            2 => RecordType::Ns,
            5 => RecordType::Cname,
            6 => RecordType::Soa,
            12 => RecordType::Ptr,
            16 => RecordType::Txt,
            28 => RecordType::Aaaa,
            33 => RecordType::Srv,
            41 => RecordType::Opt,
            255 => RecordType::Any,
            c => RecordType::Other(c),
        }
    }

    /// Parses the mnemonic used on dig's command line (`A`, `aaaa`, `SRV`, `TYPE65`...).
    pub fn from_mnemonic(s: &str) -> Option<Self> {
        let up = s.to_ascii_uppercase();
        Some(match up.as_str() {
            "A" => RecordType::A,
            "NS" => RecordType::Ns,
            "CNAME" => RecordType::Cname,
            "SOA" => RecordType::Soa,
            "PTR" => RecordType::Ptr,
            "TXT" => RecordType::Txt,
            "AAAA" => RecordType::Aaaa,
            "SRV" => RecordType::Srv,
            "ANY" => RecordType::Any,
            other => match OTHER_MNEMONICS.iter().find(|(_, m)| *m == other) {
                Some((code, _)) => RecordType::Other(*code),
                None => RecordType::from_code(up.strip_prefix("TYPE")?.parse().ok()?),
            },
        })
    }
}

/// Mnemonics of the types netsim carries only by number (bind9 lib/dns/rdatatype names, as
/// dig accepts them on its command line and miekg/dns prints them in CoreDNS's log).
const OTHER_MNEMONICS: &[(u16, &str)] = &[
    (13, "HINFO"),
    (15, "MX"),
    (35, "NAPTR"),
    (43, "DS"),
    (46, "RRSIG"),
    (48, "DNSKEY"),
    (52, "TLSA"),
    (64, "SVCB"),
    (65, "HTTPS"),
    (99, "SPF"),
    (252, "AXFR"),
    (257, "CAA"),
];

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordType::A => f.write_str("A"),
            RecordType::Ns => f.write_str("NS"),
            RecordType::Cname => f.write_str("CNAME"),
            RecordType::Soa => f.write_str("SOA"),
            RecordType::Ptr => f.write_str("PTR"),
            RecordType::Txt => f.write_str("TXT"),
            RecordType::Aaaa => f.write_str("AAAA"),
            RecordType::Srv => f.write_str("SRV"),
            RecordType::Opt => f.write_str("OPT"),
            RecordType::Any => f.write_str("ANY"),
            RecordType::Other(c) => match OTHER_MNEMONICS.iter().find(|(code, _)| code == c) {
                Some((_, m)) => f.write_str(m),
                None => write!(f, "TYPE{c}"),
            },
        }
    }
}

/// Response code (RFC 1035 §4.1.1, the 4-bit RCODE).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rcode {
    /// No error.
    #[default]
    NoError,
    /// Format error.
    FormErr,
    /// Server failure.
    ServFail,
    /// The name does not exist.
    NxDomain,
    /// Not implemented.
    NotImp,
    /// Refused.
    Refused,
    /// Another 4-bit code.
    Other(u8),
}

impl Rcode {
    /// The 4-bit code.
    pub fn code(self) -> u8 {
        match self {
            Rcode::NoError => 0,
            Rcode::FormErr => 1,
            Rcode::ServFail => 2,
            Rcode::NxDomain => 3,
            Rcode::NotImp => 4,
            Rcode::Refused => 5,
            Rcode::Other(c) => c & 0x0f,
        }
    }

    /// The rcode for a 4-bit code.
    pub fn from_code(code: u8) -> Self {
        match code & 0x0f {
            0 => Rcode::NoError,
            1 => Rcode::FormErr,
            2 => Rcode::ServFail,
            3 => Rcode::NxDomain,
            4 => Rcode::NotImp,
            5 => Rcode::Refused,
            c => Rcode::Other(c),
        }
    }
}

impl fmt::Display for Rcode {
    /// The spelling of dig's `status:` field.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rcode::NoError => f.write_str("NOERROR"),
            Rcode::FormErr => f.write_str("FORMERR"),
            Rcode::ServFail => f.write_str("SERVFAIL"),
            Rcode::NxDomain => f.write_str("NXDOMAIN"),
            Rcode::NotImp => f.write_str("NOTIMP"),
            Rcode::Refused => f.write_str("REFUSED"),
            Rcode::Other(c) => write!(f, "RESERVED{c}"),
        }
    }
}

/// The header flag bits (RFC 1035 §4.1.1, RFC 4035 for AD/CD).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags {
    /// Query (false) or response (true).
    pub qr: bool,
    /// Opcode (0 = standard query).
    pub opcode: u8,
    /// Authoritative answer.
    pub aa: bool,
    /// Truncated.
    pub tc: bool,
    /// Recursion desired.
    pub rd: bool,
    /// Recursion available.
    pub ra: bool,
    /// Authentic data.
    pub ad: bool,
    /// Checking disabled.
    pub cd: bool,
}

/// The fixed 12-byte header, minus the section counts (those come from the sections).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Header {
    /// Transaction id.
    pub id: u16,
    /// Flag bits.
    pub flags: Flags,
    /// Response code.
    pub rcode: Rcode,
}

/// One entry of the question section.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Question {
    /// The name asked about.
    pub name: Name,
    /// The type asked for.
    pub qtype: RecordType,
    /// The class (IN in practice).
    pub qclass: u16,
}

impl Question {
    /// An IN-class question.
    pub fn new(name: Name, qtype: RecordType) -> Self {
        Question { name, qtype, qclass: CLASS_IN }
    }
}

/// Typed record data.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RData {
    /// IPv4 address.
    A(Ipv4Addr),
    /// IPv6 address.
    Aaaa(Ipv6Addr),
    /// Alias target.
    Cname(Name),
    /// Name server.
    Ns(Name),
    /// Reverse pointer target.
    Ptr(Name),
    /// Start of authority.
    Soa(Soa),
    /// Service locator (RFC 2782).
    Srv(Srv),
    /// Character strings, each at most 255 octets.
    Txt(Vec<Vec<u8>>),
    /// EDNS options as (code, data) pairs (RFC 6891 §6.1.2).
    Opt(Vec<(u16, Vec<u8>)>),
    /// Undecoded data of another type.
    Unknown {
        /// The record type code.
        rtype: u16,
        /// The raw RDATA.
        data: Vec<u8>,
    },
}

impl RData {
    /// The record type this data belongs to.
    pub fn rtype(&self) -> RecordType {
        match self {
            RData::A(_) => RecordType::A,
            RData::Aaaa(_) => RecordType::Aaaa,
            RData::Cname(_) => RecordType::Cname,
            RData::Ns(_) => RecordType::Ns,
            RData::Ptr(_) => RecordType::Ptr,
            RData::Soa(_) => RecordType::Soa,
            RData::Srv(_) => RecordType::Srv,
            RData::Txt(_) => RecordType::Txt,
            RData::Opt(_) => RecordType::Opt,
            RData::Unknown { rtype, .. } => RecordType::from_code(*rtype),
        }
    }
}

impl fmt::Display for RData {
    /// The presentation form dig prints after the type mnemonic.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RData::A(ip) => write!(f, "{ip}"),
            RData::Aaaa(ip) => write!(f, "{ip}"),
            RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) => write!(f, "{n}"),
            RData::Soa(s) => write!(
                f,
                "{} {} {} {} {} {} {}",
                s.mname, s.rname, s.serial, s.refresh, s.retry, s.expire, s.minimum
            ),
            RData::Srv(s) => write!(f, "{} {} {} {}", s.priority, s.weight, s.port, s.target),
            RData::Txt(strings) => {
                let parts: Vec<String> = strings
                    .iter()
                    .map(|s| {
                        let mut out = String::from("\"");
                        for &b in s {
                            match b {
                                b'"' | b'\\' => {
                                    out.push('\\');
                                    out.push(b as char);
                                }
                                0x20..=0x7e => out.push(b as char),
                                _ => out.push_str(&format!("\\{b:03}")),
                            }
                        }
                        out.push('"');
                        out
                    })
                    .collect();
                f.write_str(&parts.join(" "))
            }
            RData::Opt(_) => f.write_str("; OPT"),
            RData::Unknown { data, .. } => {
                write!(f, "\\# {}", data.len())?;
                if !data.is_empty() {
                    f.write_str(" ")?;
                    for b in data {
                        write!(f, "{b:02X}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// SOA fields (RFC 1035 §3.3.13).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Soa {
    /// Primary name server.
    pub mname: Name,
    /// Responsible mailbox.
    pub rname: Name,
    /// Serial.
    pub serial: u32,
    /// Refresh interval.
    pub refresh: u32,
    /// Retry interval.
    pub retry: u32,
    /// Expiry.
    pub expire: u32,
    /// Minimum / negative-caching TTL.
    pub minimum: u32,
}

/// SRV fields (RFC 2782).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Srv {
    /// Priority (lower first).
    pub priority: u16,
    /// Relative weight among equal priorities.
    pub weight: u16,
    /// Port.
    pub port: u16,
    /// Target host.
    pub target: Name,
}

/// A resource record.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    /// Owner name.
    pub name: Name,
    /// Class (for OPT: the requestor's UDP payload size).
    pub class: u16,
    /// Time to live (for OPT: extended rcode, version and flags).
    pub ttl: u32,
    /// Typed data; the record type is derived from it.
    pub data: RData,
}

impl Record {
    /// An IN-class record.
    pub fn new(name: Name, ttl: u32, data: RData) -> Self {
        Record { name, class: CLASS_IN, ttl, data }
    }

    /// The record type.
    pub fn rtype(&self) -> RecordType {
        self.data.rtype()
    }
}

/// A whole DNS message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Message {
    /// Id, flags, rcode.
    pub header: Header,
    /// Question section.
    pub questions: Vec<Question>,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section (the OPT pseudo-record lives here).
    pub additional: Vec<Record>,
}

/// Why bytes could not be decoded as a DNS message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// The message ended in the middle of a field.
    #[error("message truncated at offset {0}")]
    Truncated(usize),
    /// A compression pointer that does not point strictly backwards.
    #[error("bad compression pointer at offset {0}")]
    BadPointer(usize),
    /// Label type bits 01/10 (extended labels), which nobody uses.
    #[error("unsupported label type at offset {0}")]
    BadLabelType(usize),
    /// A name longer than 255 octets.
    #[error("domain name longer than 255 octets at offset {0}")]
    NameTooLong(usize),
    /// RDATA whose length disagrees with its type.
    #[error("rdata length {len} does not fit type {rtype} at offset {at}")]
    BadRdata {
        /// The record type.
        rtype: RecordType,
        /// The declared RDLENGTH.
        len: usize,
        /// Offset of the RDATA.
        at: usize,
    },
}

impl Message {
    /// A standard recursive query with one question, as a stub resolver sends it.
    pub fn query(id: u16, name: Name, qtype: RecordType) -> Self {
        Message {
            header: Header { id, flags: Flags { rd: true, ..Flags::default() }, rcode: Rcode::NoError },
            questions: vec![Question::new(name, qtype)],
            ..Message::default()
        }
    }

    /// The first question, if any.
    pub fn question(&self) -> Option<&Question> {
        self.questions.first()
    }

    /// The OPT pseudo-record, if present.
    pub fn opt(&self) -> Option<&Record> {
        self.additional.iter().find(|r| r.rtype() == RecordType::Opt)
    }

    /// Adds an EDNS0 OPT record advertising `udp_size` with the given options.
    pub fn set_edns(&mut self, udp_size: u16, options: Vec<(u16, Vec<u8>)>) {
        self.additional.retain(|r| r.rtype() != RecordType::Opt);
        self.additional.push(Record {
            name: Name::root(),
            class: udp_size,
            ttl: 0,
            data: RData::Opt(options),
        });
    }

    /// Wire form without name compression.
    pub fn encode(&self) -> Vec<u8> {
        Encoder::new(false).message(self)
    }

    /// Wire form with RFC 1035 §4.1.4 name compression.
    pub fn encode_compressed(&self) -> Vec<u8> {
        Encoder::new(true).message(self)
    }

    /// Decodes a message, refusing anything malformed.
    pub fn decode(bytes: &[u8]) -> Result<Message, WireError> {
        let mut d = Decoder { buf: bytes, pos: 0 };
        let id = d.u16()?;
        let f = d.u16()?;
        let counts = [d.u16()?, d.u16()?, d.u16()?, d.u16()?];
        let flags = Flags {
            qr: f & 0x8000 != 0,
            opcode: ((f >> 11) & 0x0f) as u8,
            aa: f & 0x0400 != 0,
            tc: f & 0x0200 != 0,
            rd: f & 0x0100 != 0,
            ra: f & 0x0080 != 0,
            ad: f & 0x0020 != 0,
            cd: f & 0x0010 != 0,
        };
        let header = Header { id, flags, rcode: Rcode::from_code((f & 0x0f) as u8) };
        let mut questions = Vec::new();
        for _ in 0..counts[0] {
            let name = d.name()?;
            let qtype = RecordType::from_code(d.u16()?);
            let qclass = d.u16()?;
            questions.push(Question { name, qtype, qclass });
        }
        let mut sections: [Vec<Record>; 3] = Default::default();
        for (section, &count) in sections.iter_mut().zip(&counts[1..]) {
            for _ in 0..count {
                section.push(d.record()?);
            }
        }
        let [answers, authority, additional] = sections;
        Ok(Message { header, questions, answers, authority, additional })
    }
}

/// A DNS message as TCP carries it: behind its 2-byte length (RFC 1035 §4.2.2).
pub fn frame_tcp(message: &[u8]) -> Vec<u8> {
    let len = u16::try_from(message.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(message.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&message[..usize::from(len)]);
    out
}

/// The first message of a TCP stream, or `None` when the stream holds less than its length says.
pub fn unframe_tcp(stream: &[u8]) -> Option<&[u8]> {
    let len = usize::from(u16::from_be_bytes([*stream.first()?, *stream.get(1)?]));
    stream.get(2..2 + len)
}

/// Every complete message of a TCP stream, in order (glibc's `send_vc` writes its A and AAAA
/// queries on one connection; the answers come back the same way).
pub fn unframe_all(mut stream: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some(m) = unframe_tcp(stream) {
        out.push(m);
        stream = &stream[2 + m.len()..];
    }
    out
}

struct Encoder {
    out: Vec<u8>,
    compress: bool,
    /// Name suffixes already written, as spelled, with their offsets. Matching is exact, not
    /// case-insensitive: a pointer to `example.com` would turn a later `Example.com` into the
    /// earlier spelling, and CoreDNS answers with the question's own spelling.
    seen: Vec<(Vec<Vec<u8>>, usize)>,
}

impl Encoder {
    fn new(compress: bool) -> Self {
        Encoder { out: Vec::with_capacity(512), compress, seen: Vec::new() }
    }

    fn message(mut self, m: &Message) -> Vec<u8> {
        let fl = &m.header.flags;
        let mut f: u16 = u16::from(fl.opcode & 0x0f) << 11;
        for (bit, on) in [
            (0x8000, fl.qr),
            (0x0400, fl.aa),
            (0x0200, fl.tc),
            (0x0100, fl.rd),
            (0x0080, fl.ra),
            (0x0020, fl.ad),
            (0x0010, fl.cd),
        ] {
            if on {
                f |= bit;
            }
        }
        f |= u16::from(m.header.rcode.code());
        self.u16(m.header.id);
        self.u16(f);
        for len in [m.questions.len(), m.answers.len(), m.authority.len(), m.additional.len()] {
            self.u16(u16::try_from(len).unwrap_or(u16::MAX));
        }
        for q in &m.questions {
            self.name(&q.name, true);
            self.u16(q.qtype.code());
            self.u16(q.qclass);
        }
        for r in m.answers.iter().chain(&m.authority).chain(&m.additional) {
            self.record(r);
        }
        self.out
    }

    fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    fn name(&mut self, name: &Name, may_compress: bool) {
        let labels = name.labels();
        for i in 0..labels.len() {
            let suffix = &labels[i..];
            if self.compress
                && may_compress
                && let Some((_, off)) = self.seen.iter().find(|(s, _)| s.as_slice() == suffix)
            {
                self.u16(0xC000 | (*off as u16));
                return;
            }
            if self.compress && self.out.len() < 0x3FFF {
                self.seen.push((suffix.to_vec(), self.out.len()));
            }
            let label = &name.labels()[i];
            self.out.push(label.len() as u8);
            self.out.extend_from_slice(label);
        }
        self.out.push(0);
    }

    fn record(&mut self, r: &Record) {
        self.name(&r.name, true);
        self.u16(r.rtype().code());
        self.u16(r.class);
        self.u32(r.ttl);
        let len_at = self.out.len();
        self.u16(0);
        match &r.data {
            RData::A(ip) => self.out.extend_from_slice(&ip.octets()),
            RData::Aaaa(ip) => self.out.extend_from_slice(&ip.octets()),
            RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) => self.name(n, true),
            RData::Soa(s) => {
                self.name(&s.mname, true);
                self.name(&s.rname, true);
                for v in [s.serial, s.refresh, s.retry, s.expire, s.minimum] {
                    self.u32(v);
                }
            }
            RData::Srv(s) => {
                self.u16(s.priority);
                self.u16(s.weight);
                self.u16(s.port);
                // RFC 2782: the target must not be compressed.
                self.name(&s.target, false);
            }
            RData::Txt(strings) => {
                for s in strings {
                    let s = &s[..s.len().min(255)];
                    self.out.push(s.len() as u8);
                    self.out.extend_from_slice(s);
                }
            }
            RData::Opt(options) => {
                for (code, data) in options {
                    self.u16(*code);
                    self.u16(u16::try_from(data.len()).unwrap_or(u16::MAX));
                    self.out.extend_from_slice(data);
                }
            }
            RData::Unknown { data, .. } => self.out.extend_from_slice(data),
        }
        let len = (self.out.len() - len_at - 2) as u16;
        self.out[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
    }
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Decoder<'_> {
    fn bytes(&mut self, n: usize) -> Result<&[u8], WireError> {
        let end = self.pos.checked_add(n).ok_or(WireError::Truncated(self.pos))?;
        let s = self.buf.get(self.pos..end).ok_or(WireError::Truncated(self.pos))?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.bytes(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a possibly compressed name at the cursor; the cursor ends after the name's own
    /// bytes (after the first pointer, if any).
    fn name(&mut self) -> Result<Name, WireError> {
        let start = self.pos;
        let mut labels = Vec::new();
        let mut wire_len = 1;
        let mut at = self.pos;
        // Every pointer must go strictly below the lowest offset visited so far, so the walk
        // terminates; `resume` is where the cursor continues after the first pointer.
        let mut floor = at;
        let mut resume = None;
        loop {
            let len = *self.buf.get(at).ok_or(WireError::Truncated(at))?;
            match len & 0xC0 {
                0x00 => {
                    if len == 0 {
                        at += 1;
                        break;
                    }
                    let len = usize::from(len);
                    debug_assert!(len <= MAX_LABEL_LEN);
                    let label = self.buf.get(at + 1..at + 1 + len).ok_or(WireError::Truncated(at + 1))?;
                    wire_len += len + 1;
                    if wire_len > MAX_NAME_WIRE_LEN {
                        return Err(WireError::NameTooLong(start));
                    }
                    labels.push(label.to_vec());
                    at += 1 + len;
                }
                0xC0 => {
                    let lo = *self.buf.get(at + 1).ok_or(WireError::Truncated(at + 1))?;
                    let target = (usize::from(len & 0x3F) << 8) | usize::from(lo);
                    if target >= floor {
                        return Err(WireError::BadPointer(at));
                    }
                    if resume.is_none() {
                        resume = Some(at + 2);
                    }
                    floor = target;
                    at = target;
                }
                _ => return Err(WireError::BadLabelType(at)),
            }
        }
        self.pos = resume.unwrap_or(at);
        Ok(Name::from_labels(labels))
    }

    fn record(&mut self) -> Result<Record, WireError> {
        let name = self.name()?;
        let rtype = RecordType::from_code(self.u16()?);
        let class = self.u16()?;
        let ttl = self.u32()?;
        let len = usize::from(self.u16()?);
        let at = self.pos;
        let end = at + len;
        if end > self.buf.len() {
            return Err(WireError::Truncated(at));
        }
        let bad = WireError::BadRdata { rtype, len, at };
        let data = match rtype {
            RecordType::A => {
                let b = self.bytes(len)?;
                RData::A(Ipv4Addr::from(<[u8; 4]>::try_from(b).map_err(|_| bad.clone())?))
            }
            RecordType::Aaaa => {
                let b = self.bytes(len)?;
                RData::Aaaa(Ipv6Addr::from(<[u8; 16]>::try_from(b).map_err(|_| bad.clone())?))
            }
            RecordType::Cname => RData::Cname(self.name()?),
            RecordType::Ns => RData::Ns(self.name()?),
            RecordType::Ptr => RData::Ptr(self.name()?),
            RecordType::Soa => RData::Soa(Soa {
                mname: self.name()?,
                rname: self.name()?,
                serial: self.u32()?,
                refresh: self.u32()?,
                retry: self.u32()?,
                expire: self.u32()?,
                minimum: self.u32()?,
            }),
            RecordType::Srv => RData::Srv(Srv {
                priority: self.u16()?,
                weight: self.u16()?,
                port: self.u16()?,
                target: self.name()?,
            }),
            RecordType::Txt => {
                let mut strings = Vec::new();
                while self.pos < end {
                    let n = usize::from(self.u8()?);
                    strings.push(self.bytes(n)?.to_vec());
                }
                RData::Txt(strings)
            }
            RecordType::Opt => {
                let mut options = Vec::new();
                while self.pos < end {
                    let code = self.u16()?;
                    let n = usize::from(self.u16()?);
                    options.push((code, self.bytes(n)?.to_vec()));
                }
                RData::Opt(options)
            }
            RecordType::Any | RecordType::Other(_) => {
                RData::Unknown { rtype: rtype.code(), data: self.bytes(len)?.to_vec() }
            }
        };
        if self.pos != end {
            return Err(bad);
        }
        Ok(Record { name, class, ttl, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    #[test]
    fn dig_type_mnemonics_beyond_the_modelled_types() {
        // `dig HINFO name`, `dig -t mx name`: bind9 knows these types by name.
        assert_eq!(RecordType::from_mnemonic("HINFO"), Some(RecordType::Other(13)));
        assert_eq!(RecordType::from_mnemonic("mx"), Some(RecordType::Other(15)));
        assert_eq!(RecordType::from_mnemonic("CAA"), Some(RecordType::Other(257)));
        assert_eq!(RecordType::from_mnemonic("TYPE13"), Some(RecordType::Other(13)));
        assert_eq!(RecordType::from_mnemonic("HINFOX"), None);
        assert_eq!(RecordType::Other(13).to_string(), "HINFO");
        assert_eq!(RecordType::Other(65).to_string(), "HTTPS");
        assert_eq!(RecordType::Other(99).to_string(), "SPF");
        assert_eq!(RecordType::Other(1234).to_string(), "TYPE1234");
    }

    #[test]
    fn query_golden_bytes() {
        // `dig +noedns kubernetes.default.svc.cluster.local` with id 0x1234: RD set, one question.
        let q = Message::query(0x1234, n("kubernetes.default.svc.cluster.local"), RecordType::A);
        let mut want = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in ["kubernetes", "default", "svc", "cluster", "local"] {
            want.push(l.len() as u8);
            want.extend_from_slice(l.as_bytes());
        }
        want.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert_eq!(q.encode(), want);
        assert_eq!(Message::decode(&want).unwrap(), q);
    }

    #[test]
    fn msg_size_matches_the_real_dig_capture() {
        // formats.md §1.11: one A answer for web-clusterip.default.svc.cluster.local, OPT with
        // an echoed 8-byte cookie, uncompressed: `MSG SIZE  rcvd: 135`.
        let name = n("web-clusterip.default.svc.cluster.local");
        let mut m = Message::query(58969, name.clone(), RecordType::A);
        m.header.flags.qr = true;
        m.header.flags.aa = true;
        m.answers.push(Record::new(name, 30, RData::A(Ipv4Addr::new(10, 102, 13, 85))));
        m.set_edns(1232, vec![(EDNS_OPTION_COOKIE, vec![0x3b; 8])]);
        assert_eq!(m.encode().len(), 135);
    }

    #[test]
    fn compression_round_trips_and_is_shorter() {
        let name = n("kafka-headless.kafka.svc.cluster.local");
        let mut m = Message::query(7, name.clone(), RecordType::Srv);
        m.header.flags.qr = true;
        for i in 0..3u8 {
            let target = n(&format!("kafka-{i}.kafka-headless.kafka.svc.cluster.local"));
            m.answers.push(Record::new(
                name.clone(),
                30,
                RData::Srv(Srv { priority: 0, weight: 33, port: 9092, target: target.clone() }),
            ));
            m.additional.push(Record::new(target, 30, RData::A(Ipv4Addr::new(172, 17, 0, 4 + i))));
        }
        m.authority.push(Record::new(
            n("cluster.local"),
            30,
            RData::Soa(Soa {
                mname: n("ns.dns.cluster.local"),
                rname: n("hostmaster.cluster.local"),
                serial: 1,
                refresh: 7200,
                retry: 1800,
                expire: 86400,
                minimum: 30,
            }),
        ));
        let plain = m.encode();
        let packed = m.encode_compressed();
        assert!(packed.len() < plain.len());
        assert_eq!(Message::decode(&plain).unwrap(), m);
        assert_eq!(Message::decode(&packed).unwrap(), m);
    }

    #[test]
    fn pointer_loops_and_forward_pointers_are_refused() {
        // Header with one question whose name is a pointer to itself.
        let mut b = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
        assert_eq!(Message::decode(&b), Err(WireError::BadPointer(12)));
        let mut b = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&[0xC0, 40, 0, 1, 0, 1]);
        assert_eq!(Message::decode(&b), Err(WireError::BadPointer(12)));
    }

    #[test]
    fn truncated_and_bad_rdata_are_errors() {
        assert_eq!(Message::decode(&[0, 1, 2]), Err(WireError::Truncated(2)));
        let mut m = Message::query(1, n("a"), RecordType::A);
        m.answers.push(Record::new(n("a"), 5, RData::Unknown { rtype: 1, data: vec![1, 2, 3] }));
        assert!(matches!(Message::decode(&m.encode()), Err(WireError::BadRdata { .. })));
    }

    /// Mixed-case names, half of them from a small pool of one name spelled several ways, so
    /// that compression meets an earlier suffix that differs only in case.
    fn arb_name() -> impl Strategy<Value = Name> {
        prop_oneof![
            proptest::collection::vec("[a-zA-Z0-9-]{1,12}", 0..5)
                .prop_map(|labels| Name::parse(&labels.join(".")).unwrap_or_else(|_| Name::root())),
            proptest::sample::select(vec![
                "example.com",
                "Example.com",
                "EXAMPLE.COM",
                "www.example.com",
                "www.Example.Com",
                "Kubernetes.Default.svc.Cluster.local",
                "kubernetes.default.svc.cluster.local",
            ])
            .prop_map(n),
        ]
    }

    #[test]
    fn r15_compression_keeps_each_names_case() {
        // Issue 15: a pointer to `example.com` turned the later `Example.com` into `example.com`.
        let mut m = Message::query(1, n("example.com"), RecordType::A);
        m.answers.push(Record::new(n("Example.com"), 30, RData::Cname(n("www.EXAMPLE.com"))));
        let back = Message::decode(&m.encode_compressed()).unwrap();
        assert_eq!(back.answers[0].name.to_string(), "Example.com.");
        assert_eq!(back, m);
    }

    fn arb_rdata() -> impl Strategy<Value = RData> {
        prop_oneof![
            any::<u32>().prop_map(|v| RData::A(Ipv4Addr::from(v))),
            any::<u128>().prop_map(|v| RData::Aaaa(Ipv6Addr::from(v))),
            arb_name().prop_map(RData::Cname),
            arb_name().prop_map(RData::Ptr),
            arb_name().prop_map(RData::Ns),
            (any::<u16>(), any::<u16>(), any::<u16>(), arb_name()).prop_map(
                |(priority, weight, port, target)| { RData::Srv(Srv { priority, weight, port, target }) }
            ),
            (arb_name(), arb_name(), any::<u32>()).prop_map(|(mname, rname, serial)| RData::Soa(Soa {
                mname,
                rname,
                serial,
                refresh: 7200,
                retry: 1800,
                expire: 86400,
                minimum: 30
            })),
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..3)
                .prop_map(RData::Txt),
        ]
    }

    fn arb_record() -> impl Strategy<Value = Record> {
        (arb_name(), any::<u32>(), arb_rdata()).prop_map(|(n, ttl, d)| Record::new(n, ttl, d))
    }

    fn arb_message() -> impl Strategy<Value = Message> {
        (
            any::<u16>(),
            any::<bool>(),
            any::<bool>(),
            0u8..6,
            arb_name(),
            proptest::collection::vec(arb_record(), 0..4),
            proptest::collection::vec(arb_record(), 0..3),
        )
            .prop_map(|(id, qr, aa, rc, qn, answers, additional)| {
                let mut m = Message::query(id, qn, RecordType::A);
                m.header.flags.qr = qr;
                m.header.flags.aa = aa;
                m.header.rcode = Rcode::from_code(rc);
                m.answers = answers;
                m.additional = additional;
                m
            })
    }

    proptest! {
        #[test]
        fn decode_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Message::decode(&bytes);
        }

        #[test]
        fn encode_decode_round_trip(m in arb_message()) {
            prop_assert_eq!(Message::decode(&m.encode()).unwrap(), m.clone());
            prop_assert_eq!(Message::decode(&m.encode_compressed()).unwrap(), m);
        }

        #[test]
        fn decode_never_panics_on_mutated_messages(m in arb_message(), at in any::<usize>(), byte in any::<u8>()) {
            let mut b = m.encode_compressed();
            if !b.is_empty() {
                let i = at % b.len();
                b[i] = byte;
            }
            let _ = Message::decode(&b);
        }
    }
}
