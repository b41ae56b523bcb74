//! The command lines of `dig` and `nslookup` as typed in `kubectl exec pod -- ...`.
//!
//! Follows bind9 bin/dig/dig.c `parse_args` for the subset the labs use: `@server`, `-x addr`,
//! `-t type` or a bare type mnemonic, `+short`, `+noall`, `+answer`, `+[no]search`, `+[no]cmd`;
//! and bin/dig/nslookup.c for `nslookup [-type=T|-query=T] name [server]` (an address as the
//! name means a PTR lookup of its reverse name, printed without the Server header). dig does
//! not use the search list unless `+search` is given; nslookup always does.
//! Anything else is refused with the offending argument named (dig itself prints
//! `Invalid option: +foo` and its usage). Left out: batch files, `-p`, `-4/-6`, `+trace`.

use std::net::IpAddr;

use thiserror::Error;

use super::coredns::reverse_name;
use super::message::{Message, RecordType};
use super::name::Name;
use super::resolv_conf::ResolvConf;
use super::resolver::{AddressFamily, ResolverFlavour, StubResolver};
use super::tools::{DigStyle, dig_query};

/// A command line that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommandError {
    /// An option the model does not know.
    #[error("invalid option: {0}")]
    UnknownOption(String),
    /// `-t` / `-type=` with something that is not a record type.
    #[error("invalid type: {0}")]
    BadType(String),
    /// `-x` or `@` with something that is not an IP address.
    #[error("invalid address: {0}")]
    BadAddress(String),
    /// An option that needs a value came last.
    #[error("option {0} requires an argument")]
    MissingValue(String),
    /// The name is not a valid domain name.
    #[error("'{name}' is not a legal name ({reason})")]
    BadName {
        /// The argument.
        name: String,
        /// Why.
        reason: String,
    },
    /// No name to look up.
    #[error("missing name to look up")]
    MissingName,
    /// More positional arguments than the command takes.
    #[error("unexpected argument: {0}")]
    Extra(String),
}

/// A parsed `dig` invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigCommand {
    /// The name as typed (`-x` already turned into the reverse name).
    pub name: String,
    /// Query type (A by default, PTR with `-x`).
    pub qtype: RecordType,
    /// `@server`, when given (otherwise the first resolv.conf nameserver).
    pub server: Option<IpAddr>,
    /// Output style.
    pub style: DigStyle,
    /// `+search`.
    pub search: bool,
    /// The arguments as typed, for the banner.
    pub args: String,
}

impl DigCommand {
    /// Parses dig's arguments (without the program name).
    pub fn parse(args: &[&str]) -> Result<Self, CommandError> {
        let mut name: Option<String> = None;
        let mut qtype: Option<RecordType> = None;
        let mut server = None;
        let (mut short, mut noall, mut answer, mut search) = (false, false, false, false);
        let mut it = args.iter();
        while let Some(&arg) = it.next() {
            if let Some(addr) = arg.strip_prefix('@') {
                server = Some(parse_ip(addr)?);
            } else if arg == "-x" {
                let addr = it.next().ok_or_else(|| CommandError::MissingValue("-x".into()))?;
                name = Some(reverse_name(parse_ip(addr)?).to_string());
                qtype = qtype.or(Some(RecordType::Ptr));
            } else if arg == "-t" {
                let t = it.next().ok_or_else(|| CommandError::MissingValue("-t".into()))?;
                qtype =
                    Some(RecordType::from_mnemonic(t).ok_or_else(|| CommandError::BadType(t.to_string()))?);
            } else if let Some(opt) = arg.strip_prefix('+') {
                match opt {
                    "short" => short = true,
                    "noall" => noall = true,
                    "answer" => answer = true,
                    "search" => search = true,
                    "nosearch" => search = false,
                    "cmd" | "nocmd" | "nocomments" | "nostats" => {}
                    _ => return Err(CommandError::UnknownOption(arg.to_string())),
                }
            } else if arg.starts_with('-') {
                return Err(CommandError::UnknownOption(arg.to_string()));
            } else if let (None, Some(t)) = (qtype, RecordType::from_mnemonic(arg)) {
                // dig reads a bare word that names a type as the type (`dig SRV name`).
                // A known mnemonic (`HINFO`, `MX`) is a type anywhere; `TYPEnn` only after the name.
                let generic = arg.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("TYPE"));
                if name.is_some() || !matches!(t, RecordType::Other(_)) || !generic {
                    qtype = Some(t);
                } else {
                    name = Some(arg.to_string());
                }
            } else if name.is_none() {
                name = Some(arg.to_string());
            } else {
                return Err(CommandError::Extra(arg.to_string()));
            }
        }
        let name = name.ok_or(CommandError::MissingName)?;
        check_name(&name)?;
        let style = if short {
            DigStyle::Short
        } else if noall && answer {
            DigStyle::AnswerOnly
        } else {
            DigStyle::Full
        };
        Ok(DigCommand {
            name,
            qtype: qtype.unwrap_or(RecordType::A),
            server,
            style,
            search,
            args: args.join(" "),
        })
    }

    /// The query dig puts on the wire when it does not search (id and cookie from the sim).
    pub fn query(&self, id: u16, cookie: [u8; 8]) -> Result<Message, CommandError> {
        let name = Name::parse(&self.name)
            .map_err(|e| CommandError::BadName { name: self.name.clone(), reason: e.to_string() })?;
        Ok(dig_query(name, self.qtype, id, cookie))
    }

    /// The lookup with `+search` semantics (bind9 dighost), for callers that walk it.
    pub fn resolver(&self, conf: &ResolvConf, first_id: u16) -> StubResolver {
        StubResolver::for_qtype(ResolverFlavour::Bind9, conf, &self.name, self.qtype, self.search, first_id)
    }
}

/// Which `nslookup` an image ships.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NslookupImpl {
    /// bind9's (dnsutils, jessie-dnsutils, agnhost, netshoot, most Debian/Ubuntu images):
    /// [`tools::nslookup_bind9`](super::tools::nslookup_bind9).
    Bind9,
    /// busybox ≥ 1.29's applet (`busybox`, `busybox:1.36`, alpine, `*alpine*` tags,
    /// curlimages/curl): its own DNS client, [`busybox_nslookup::Lookup`](super::busybox_nslookup::Lookup).
    Busybox,
    /// busybox 1.28 and older (`busybox:1.28`, the Kubernetes docs' image): resolves through
    /// libc and names each address by its PTR,
    /// [`busybox_nslookup::legacy_output`](super::busybox_nslookup::legacy_output).
    BusyboxLegacy,
}

impl NslookupImpl {
    /// The implementation in an image, by its reference (the image's userland:
    /// [`crate::cluster::image_tools`]).
    pub fn for_image(image: &str) -> Self {
        crate::cluster::image_tools::Userland::nslookup_of_image(image)
    }
}

/// A parsed `nslookup` invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NslookupCommand {
    /// The name as typed, or the reverse name for an address.
    pub name: String,
    /// `-type=`, or PTR for an address; `None` = the default A-then-AAAA lookup.
    pub qtype: Option<RecordType>,
    /// The server argument, when given.
    pub server: Option<IpAddr>,
}

impl NslookupCommand {
    /// Parses nslookup's arguments (without the program name).
    pub fn parse(args: &[&str]) -> Result<Self, CommandError> {
        let mut qtype = None;
        let mut positional: Vec<&str> = Vec::new();
        for &arg in args {
            if let Some(opt) = arg.strip_prefix('-') {
                let value = opt
                    .strip_prefix("type=")
                    .or_else(|| opt.strip_prefix("query="))
                    .or_else(|| opt.strip_prefix("q="))
                    .or_else(|| opt.strip_prefix("ty="))
                    .ok_or_else(|| CommandError::UnknownOption(arg.to_string()))?;
                qtype = Some(
                    RecordType::from_mnemonic(value)
                        .ok_or_else(|| CommandError::BadType(value.to_string()))?,
                );
            } else {
                positional.push(arg);
            }
        }
        let (name, server) = match positional.as_slice() {
            [] => return Err(CommandError::MissingName),
            [name] => (*name, None),
            [name, server] => (*name, Some(parse_ip(server)?)),
            [_, _, extra, ..] => return Err(CommandError::Extra(extra.to_string())),
        };
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Ok(NslookupCommand {
                name: reverse_name(ip).to_string(),
                qtype: Some(qtype.unwrap_or(RecordType::Ptr)),
                server,
            });
        }
        check_name(name)?;
        Ok(NslookupCommand { name: name.to_string(), qtype, server })
    }

    /// True when nslookup prints the `Server:`/`Address:` header (nslookup.c: only for its
    /// default A lookup or an explicit `-type`, not for an address given as the name).
    pub fn prints_server_header(&self) -> bool {
        !(self.qtype == Some(RecordType::Ptr) && self.name.ends_with(".arpa."))
    }

    /// The lookup nslookup performs (search list, then the AAAA follow-up by default).
    pub fn resolver(&self, conf: &ResolvConf, first_id: u16) -> StubResolver {
        match self.qtype {
            None => {
                StubResolver::new(ResolverFlavour::Bind9, conf, &self.name, AddressFamily::Unspec, first_id)
            }
            Some(t) => StubResolver::for_qtype(ResolverFlavour::Bind9, conf, &self.name, t, true, first_id),
        }
    }
}

fn parse_ip(text: &str) -> Result<IpAddr, CommandError> {
    text.parse().map_err(|_| CommandError::BadAddress(text.to_string()))
}

fn check_name(name: &str) -> Result<(), CommandError> {
    Name::parse(name)
        .map(|_| ())
        .map_err(|e| CommandError::BadName { name: name.to_string(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dig_lines_of_the_labs() {
        let c = DigCommand::parse(&["SRV", "kafka-headless.kafka.svc.cluster.local"]).unwrap();
        assert_eq!(
            (c.qtype, c.name.as_str(), c.style),
            (RecordType::Srv, "kafka-headless.kafka.svc.cluster.local", DigStyle::Full)
        );
        let c =
            DigCommand::parse(&["+short", "kubernetes.default.svc.cluster.local", "@10.96.0.10"]).unwrap();
        assert_eq!((c.style, c.server), (DigStyle::Short, Some("10.96.0.10".parse().unwrap())));
        let c = DigCommand::parse(&["-x", "10.96.0.1"]).unwrap();
        assert_eq!((c.qtype, c.name.as_str()), (RecordType::Ptr, "1.0.96.10.in-addr.arpa."));
        let c = DigCommand::parse(&["+noall", "+answer", "a.example", "-t", "AAAA"]).unwrap();
        assert_eq!((c.style, c.qtype), (DigStyle::AnswerOnly, RecordType::Aaaa));
        // A name that spells a type only when a type was already given.
        let c = DigCommand::parse(&["A", "srv"]).unwrap();
        assert_eq!((c.qtype, c.name.as_str()), (RecordType::A, "srv"));
        // HINFO is a type to dig, not a name (the HINFO row of the dig list).
        let c = DigCommand::parse(&["HINFO", "kubernetes.default.svc.cluster.local"]).unwrap();
        assert_eq!(
            (c.qtype, c.name.as_str()),
            (RecordType::Other(13), "kubernetes.default.svc.cluster.local")
        );
        assert_eq!(DigCommand::parse(&["+trace", "x"]), Err(CommandError::UnknownOption("+trace".into())));
        assert_eq!(DigCommand::parse(&["-x", "nope"]), Err(CommandError::BadAddress("nope".into())));
        assert_eq!(DigCommand::parse(&["-t", "BOGUS", "x"]), Err(CommandError::BadType("BOGUS".into())));
        assert_eq!(DigCommand::parse(&["+short"]), Err(CommandError::MissingName));
        assert!(matches!(DigCommand::parse(&["a..b"]), Err(CommandError::BadName { .. })));
    }

    #[test]
    fn nslookup_by_image() {
        assert_eq!(NslookupImpl::for_image("busybox:1.28"), NslookupImpl::BusyboxLegacy);
        assert_eq!(NslookupImpl::for_image("busybox:1.28.4"), NslookupImpl::BusyboxLegacy);
        assert_eq!(NslookupImpl::for_image("busybox:1.27.2-glibc"), NslookupImpl::BusyboxLegacy);
        assert_eq!(NslookupImpl::for_image("busybox:1.29"), NslookupImpl::Busybox);
        assert_eq!(NslookupImpl::for_image("busybox:1.36.1"), NslookupImpl::Busybox);
        assert_eq!(NslookupImpl::for_image("busybox"), NslookupImpl::Busybox);
        assert_eq!(
            NslookupImpl::for_image("docker.io/library/busybox:1.28@sha256:0123"),
            NslookupImpl::BusyboxLegacy
        );
        assert_eq!(NslookupImpl::for_image("docker.io/library/alpine:3.19"), NslookupImpl::Busybox);
        assert_eq!(
            NslookupImpl::for_image("registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3"),
            NslookupImpl::Bind9
        );
        assert_eq!(NslookupImpl::for_image("nicolaka/netshoot"), NslookupImpl::Bind9);
        // Alpine-based: busybox's applet.
        assert_eq!(NslookupImpl::for_image("curlimages/curl"), NslookupImpl::Busybox);
        assert_eq!(NslookupImpl::for_image("nginx:1.27-alpine"), NslookupImpl::Busybox);
    }

    #[test]
    fn nslookup_lines_of_the_labs() {
        let c = NslookupCommand::parse(&["kubernetes"]).unwrap();
        assert_eq!((c.name.as_str(), c.qtype, c.prints_server_header()), ("kubernetes", None, true));
        let c = NslookupCommand::parse(&["-type=srv", "kafka-headless.kafka"]).unwrap();
        assert_eq!(c.qtype, Some(RecordType::Srv));
        let c = NslookupCommand::parse(&["10.96.0.10"]).unwrap();
        assert_eq!((c.name.as_str(), c.prints_server_header()), ("10.0.96.10.in-addr.arpa.", false));
        let c = NslookupCommand::parse(&["kubernetes.default", "10.96.0.10"]).unwrap();
        assert_eq!(c.server, Some("10.96.0.10".parse().unwrap()));
        assert_eq!(
            NslookupCommand::parse(&["-debug", "x"]),
            Err(CommandError::UnknownOption("-debug".into()))
        );
        assert_eq!(NslookupCommand::parse(&["a", "b"]), Err(CommandError::BadAddress("b".into())));
        assert_eq!(NslookupCommand::parse(&[]), Err(CommandError::MissingName));
    }
}
