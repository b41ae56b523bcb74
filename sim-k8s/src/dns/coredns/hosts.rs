//! The `hosts` plugin with inline entries: `hosts [ZONES...] { IP NAME...; ttl; no_reverse;
//! fallthrough [ZONES] }`.
//!
//! Follows coredns plugin/hosts (hosts.go `ServeDNS`, hostsfile.go): A/AAAA for the names
//! listed, PTR for their addresses unless `no_reverse`, TTL 3600 by default, answers with `aa`.
//! A name in its zones that it has nothing for goes on with `fallthrough`, else is NODATA when
//! the name has other records and SERVFAIL when it has none (hosts files carry no SOA to say
//! NXDOMAIN with). Left out: reading a hosts file (the CoreDNS container has none of the
//! cluster's); `reload` of the file.

use std::net::IpAddr;

use super::super::message::{RData, Record, RecordType};
use super::super::name::Name;
use super::reverse_name;

/// The hosts plugin's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostsConfig {
    /// The zones it answers for (the server block's when none are given).
    pub zones: Vec<Name>,
    /// Inline entries, in order: a name and one address.
    pub entries: Vec<(Name, IpAddr)>,
    /// `ttl` (default 3600).
    pub ttl: u32,
    /// `no_reverse`: no PTR records.
    pub no_reverse: bool,
    /// `fallthrough [ZONES]`.
    pub fallthrough: Option<Vec<Name>>,
}

/// What the hosts plugin did with a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostsAnswer {
    /// Not its zone, or fell through: the next plugin answers.
    Next,
    /// Records (possibly none: NODATA).
    Records(Vec<Record>),
    /// Nothing known for the name: SERVFAIL.
    ServFail,
}

impl HostsConfig {
    /// hosts.go `ServeDNS` for one question.
    pub fn answer(&self, qname: &Name, qtype: RecordType) -> HostsAnswer {
        if !self.zones.iter().any(|z| qname.is_subdomain_of(z)) {
            return HostsAnswer::Next;
        }
        let mut answers = Vec::new();
        match qtype {
            RecordType::A | RecordType::Aaaa => {
                for (_, ip) in self.entries.iter().filter(|(n, _)| n.eq_ignore_case(qname)) {
                    let data = match (ip, qtype) {
                        (IpAddr::V4(v4), RecordType::A) => RData::A(*v4),
                        (IpAddr::V6(v6), RecordType::Aaaa) => RData::Aaaa(*v6),
                        _ => continue,
                    };
                    answers.push(Record::new(qname.clone(), self.ttl, data));
                }
            }
            RecordType::Ptr if !self.no_reverse => {
                for (name, ip) in &self.entries {
                    if reverse_name(*ip).eq_ignore_case(qname) {
                        answers.push(Record::new(qname.clone(), self.ttl, RData::Ptr(name.clone())));
                    }
                }
            }
            _ => {}
        }
        if !answers.is_empty() {
            return HostsAnswer::Records(answers);
        }
        let falls = match &self.fallthrough {
            None => false,
            Some(z) => z.is_empty() || z.iter().any(|z| qname.is_subdomain_of(z)),
        };
        if falls {
            return HostsAnswer::Next;
        }
        let exists = self.entries.iter().any(|(n, ip)| {
            n.eq_ignore_case(qname) || (!self.no_reverse && reverse_name(*ip).eq_ignore_case(qname))
        });
        if exists { HostsAnswer::Records(Vec::new()) } else { HostsAnswer::ServFail }
    }
}
