//! The `template` plugin: answers built from Go templates for names matching a regex.
//!
//! Follows coredns plugin/template (template.go `ServeDNS`, `match`; setup.go
//! `templateParse`): `template CLASS TYPE [ZONE...] { match REGEX...; answer RR; additional
//! RR; authority RR; rcode CODE; fallthrough [ZONES...] }`. The templates of a server block are
//! tried in order for a name in their zones and of their class and type (`ANY` matches all);
//! the first regex that matches the lower-case name (default `.*`) makes the reply: `aa`, the
//! rcode, each section's records rendered with `.Name .Zone .Class .Type .Match .Group
//! .Regex .Remote` and read as zone-file records. A template whose zone matched and no regex
//! did answers SERVFAIL, unless `fallthrough` lets the next template (then the next plugin)
//! try; `rcode SERVFAIL` is SERVFAIL; a template that fails to execute or renders no valid
//! record is SERVFAIL. For an A or AAAA query, an answer CNAME's target is looked up and its
//! answers appended (plugin/pkg/upstream).
//! Left out: `ederror` (the EDE option), `var`/`expr` (CoreDNS 1.12's expressions) — noted;
//! the upstream lookup of a CNAME target uses the upstream's data in the process, as the
//! kubernetes plugin's ExternalName does here, not a query through the server.

pub mod gotmpl;
pub mod rr;

use regex::Regex;

use super::super::message::{Message, Rcode, Record, RecordType};
use super::super::name::Name;

/// A query class the template matches (`dns.StringToClass`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Class(pub u16);

impl Class {
    /// `ANY`.
    pub const ANY: Class = Class(255);

    /// `dns.StringToClass` (upper case only, as miekg/dns has it).
    pub fn from_mnemonic(s: &str) -> Option<Class> {
        Some(Class(match s {
            "IN" => 1,
            "CS" => 2,
            "CH" => 3,
            "HS" => 4,
            "NONE" => 254,
            "ANY" => 255,
            _ => return None,
        }))
    }

    /// `dns.ClassToString`.
    pub fn mnemonic(self) -> String {
        match self.0 {
            1 => "IN".into(),
            2 => "CS".into(),
            3 => "CH".into(),
            4 => "HS".into(),
            254 => "NONE".into(),
            255 => "ANY".into(),
            c => format!("CLASS{c}"),
        }
    }
}

/// A regex, compared by its text.
#[derive(Clone, Debug)]
pub struct Pattern(pub Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Pattern {}

/// One `template` directive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// `ZONE...`, or the server block's zones.
    pub zones: Vec<Name>,
    /// CLASS.
    pub class: Class,
    /// TYPE (`ANY` matches every type).
    pub qtype: RecordType,
    /// `match` regexes, in order (`.*` when none).
    pub regex: Vec<Pattern>,
    /// `answer` templates.
    pub answer: Vec<gotmpl::Template>,
    /// `additional` templates.
    pub additional: Vec<gotmpl::Template>,
    /// `authority` templates.
    pub authority: Vec<gotmpl::Template>,
    /// `rcode` (NOERROR by default).
    pub rcode: Rcode,
    /// `fallthrough [ZONES]`: `None` = none; an empty list = every zone.
    pub fallthrough: Option<Vec<Name>>,
}

/// What the template plugin does with a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateAnswer {
    /// Not its zone, or every template fell through: the next plugin.
    Next,
    /// SERVFAIL (not written by the plugin: the server writes it).
    ServFail,
    /// The reply's rcode and sections (with `aa`), and the CNAME target to look up, if any.
    Reply {
        /// The template's rcode.
        rcode: Rcode,
        /// Answer records.
        answers: Vec<Record>,
        /// Authority records.
        authority: Vec<Record>,
        /// Additional records.
        additional: Vec<Record>,
        /// CNAME targets among the answers whose records are to be appended (A/AAAA queries).
        lookups: Vec<Name>,
    },
}

/// `Handler.ServeDNS` over the templates of a server block, for a question from `remote`.
pub fn serve(
    templates: &[Template],
    qname: &Name,
    qtype: RecordType,
    qclass: u16,
    remote: &str,
) -> TemplateAnswer {
    let name = qname.to_lowercase();
    if !templates.iter().any(|t| t.zones.iter().any(|z| name.is_subdomain_of(z))) {
        return TemplateAnswer::Next;
    }
    for t in templates {
        let (data, matched, fall) = t.matches(&name, qtype, qclass, remote);
        if !matched {
            if !fall {
                return TemplateAnswer::ServFail;
            }
            continue;
        }
        if t.rcode == Rcode::ServFail {
            return TemplateAnswer::ServFail;
        }
        let render = |ts: &[gotmpl::Template]| -> Result<Vec<Record>, String> {
            let mut out = Vec::new();
            for tmpl in ts {
                let text = tmpl.execute(&data)?;
                out.extend(rr::parse(&text)?);
            }
            Ok(out)
        };
        let (Ok(answers), Ok(additional), Ok(authority)) =
            (render(&t.answer), render(&t.additional), render(&t.authority))
        else {
            return TemplateAnswer::ServFail;
        };
        let lookups = if matches!(qtype, RecordType::A | RecordType::Aaaa) {
            answers
                .iter()
                .filter_map(|r| match &r.data {
                    super::super::message::RData::Cname(t) => Some(t.clone()),
                    _ => None,
                })
                .collect()
        } else {
            Vec::new()
        };
        return TemplateAnswer::Reply { rcode: t.rcode, answers, authority, additional, lookups };
    }
    TemplateAnswer::Next
}

impl Template {
    /// template.go `match`: the data, whether it matched, whether a miss falls through.
    fn matches(
        &self,
        name: &Name,
        qtype: RecordType,
        qclass: u16,
        remote: &str,
    ) -> (gotmpl::Data, bool, bool) {
        let mut data = gotmpl::Data { remote: remote.to_string(), ..gotmpl::Data::default() };
        let Some(zone) =
            self.zones.iter().filter(|z| name.is_subdomain_of(z)).max_by_key(|z| z.label_count())
        else {
            return (data, false, true);
        };
        if self.class != Class::ANY && qclass != Class::ANY.0 && qclass != self.class.0 {
            return (data, false, true);
        }
        if self.qtype != RecordType::Any && qtype != RecordType::Any && qtype != self.qtype {
            return (data, false, true);
        }
        let text = name.to_string();
        for re in &self.regex {
            let Some(caps) = re.0.captures(&text) else { continue };
            data.zone = zone.to_string();
            data.regex = re.0.as_str().to_string();
            data.name = text.clone();
            data.class =
                if qclass != Class::ANY.0 { Class(qclass).mnemonic() } else { self.class.mnemonic() };
            data.qtype = if qtype != RecordType::Any { qtype.to_string() } else { self.qtype.to_string() };
            data.question = (qtype.code(), qclass);
            data.matches = caps.iter().map(|m| m.map_or("", |m| m.as_str()).to_string()).collect();
            for (i, m) in data.matches.iter().enumerate() {
                data.group.insert(i.to_string(), m.clone());
            }
            for (i, n) in re.0.capture_names().enumerate() {
                if let Some(n) = n {
                    data.group.insert(n.to_string(), data.matches.get(i).cloned().unwrap_or_default());
                }
            }
            return (data, true, false);
        }
        let fall = match &self.fallthrough {
            None => false,
            Some(zs) => zs.is_empty() || zs.iter().any(|z| name.is_subdomain_of(z)),
        };
        (data, false, fall)
    }
}

/// The reply for a [`TemplateAnswer::Reply`] built on `resp` (the skeleton of the query).
pub fn fill(
    resp: &mut Message,
    rcode: Rcode,
    answers: Vec<Record>,
    authority: Vec<Record>,
    additional: Vec<Record>,
) {
    resp.header.flags.aa = true;
    resp.header.rcode = rcode;
    resp.answers = answers;
    resp.authority = authority;
    resp.additional = additional;
}
