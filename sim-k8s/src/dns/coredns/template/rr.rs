//! One resource record in zone-file form, as miekg/dns `NewRR` reads it (RFC 1035 §5.1):
//! `OWNER [TTL] [CLASS] TYPE RDATA` (TTL and class in either order, TTL 3600 when absent, a
//! relative owner or target made absolute against the root), `( ... )` spanning the SOA's
//! numbers, `"..."` strings for TXT, `;` comments. An empty text is no record.
//! Types: A, AAAA, CNAME, NS, PTR, SOA, SRV, TXT; any other type is refused
//! (`dns: unknown RR type` for a word that is none, netsim's own text for a real type it does
//! not carry).

use super::super::super::message::{RData, Record, RecordType, Soa, Srv};
use super::super::super::name::Name;

/// miekg/dns's default TTL for a record that gives none.
const DEFAULT_TTL: u32 = 3600;

/// `dns.NewRR(text)`: `Ok(None)` for an empty text.
pub fn parse(text: &str) -> Result<Option<Record>, String> {
    let body = text.split(';').next().unwrap_or_default();
    let words = words(body)?;
    let Some((owner, rest)) = words.split_first() else { return Ok(None) };
    let owner = name(owner)?;
    let mut ttl = None;
    let mut class = None;
    let mut i = 0;
    while i < rest.len() {
        let w = rest[i].as_str();
        if ttl.is_none() && !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) {
            ttl = Some(w.parse::<u32>().map_err(|_| format!("dns: bad TTL: \"{w}\""))?);
        } else if class.is_none() && matches!(w, "IN" | "CH" | "CS" | "HS" | "ANY" | "NONE") {
            class = Some(w);
        } else {
            break;
        }
        i += 1;
    }
    let Some(rtype) = rest.get(i) else { return Err("dns: missing type".to_string()) };
    let rdata = &rest[i + 1..];
    let field = |n: usize| rdata.get(n).map(String::as_str).ok_or_else(|| format!("dns: bad {rtype} rdata"));
    let data = match rtype.as_str() {
        "A" => RData::A(field(0)?.parse().map_err(|_| format!("dns: bad A A: \"{}\"", rdata.join(" ")))?),
        "AAAA" => RData::Aaaa(
            field(0)?.parse().map_err(|_| format!("dns: bad AAAA AAAA: \"{}\"", rdata.join(" ")))?,
        ),
        "CNAME" => RData::Cname(name(field(0)?)?),
        "NS" => RData::Ns(name(field(0)?)?),
        "PTR" => RData::Ptr(name(field(0)?)?),
        "SOA" => {
            let n = |k: usize| -> Result<u32, String> {
                field(k)?.parse().map_err(|_| format!("dns: bad SOA zone parameter: \"{}\"", rdata.join(" ")))
            };
            RData::Soa(Soa {
                mname: name(field(0)?)?,
                rname: name(field(1)?)?,
                serial: n(2)?,
                refresh: n(3)?,
                retry: n(4)?,
                expire: n(5)?,
                minimum: n(6)?,
            })
        }
        "SRV" => {
            let n = |k: usize| -> Result<u16, String> {
                field(k)?.parse().map_err(|_| format!("dns: bad SRV: \"{}\"", rdata.join(" ")))
            };
            RData::Srv(Srv { priority: n(0)?, weight: n(1)?, port: n(2)?, target: name(field(3)?)? })
        }
        "TXT" => RData::Txt(rdata.iter().map(|s| s.as_bytes().to_vec()).collect()),
        other => {
            return Err(match RecordType::from_mnemonic(other) {
                Some(RecordType::Other(_)) | Some(RecordType::Opt) | Some(RecordType::Any) => {
                    format!("netsim: records of type {other} are not simulated")
                }
                _ => format!("dns: unknown RR type: \"{other}\""),
            });
        }
    };
    let _ = class;
    Ok(Some(Record::new(owner, ttl.unwrap_or(DEFAULT_TTL), data)))
}

fn name(w: &str) -> Result<Name, String> {
    Name::parse(w).map_err(|_| format!("dns: bad owner name: \"{w}\""))
}

/// Whitespace-separated words, `"..."` kept as one (quotes removed), parentheses dropped.
fn words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut depth = 0i32;
    for c in text.chars() {
        match c {
            '"' => {
                if quoted {
                    out.push(std::mem::take(&mut cur));
                }
                quoted = !quoted;
            }
            c if quoted => cur.push(c),
            '(' => depth += 1,
            ')' => depth -= 1,
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("dns: bad TXT: unterminated string".to_string());
    }
    if depth != 0 {
        return Err("dns: extra closing brace".to_string());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_as_new_rr_reads_them() {
        let r = parse("invalid. 60 IN SOA ns.invalid. hostmaster.invalid. (1 60 60 60 60)").unwrap().unwrap();
        assert_eq!(r.to_string_for_test(), "invalid. 60 SOA ns.invalid. hostmaster.invalid. 1 60 60 60 60");
        let r = parse("foogle.com 60 IN CNAME google.com").unwrap().unwrap();
        assert_eq!(r.to_string_for_test(), "foogle.com. 60 CNAME google.com.");
        let r = parse("x.example. IN 5 TXT \"a b\" c").unwrap().unwrap();
        assert_eq!(r.to_string_for_test(), "x.example. 5 TXT \"a b\" \"c\"");
        assert_eq!(parse("a.example. A 10.0.0.1").unwrap().unwrap().ttl, 3600);
        assert_eq!(parse("").unwrap(), None);
        assert!(parse("a.example. 60 IN A 10.0.0").unwrap_err().starts_with("dns: bad A A"));
        assert_eq!(parse("a.example. 60 IN FOO x").unwrap_err(), "dns: unknown RR type: \"FOO\"");
    }

    trait Show {
        fn to_string_for_test(&self) -> String;
    }
    impl Show for Record {
        fn to_string_for_test(&self) -> String {
            format!("{} {} {} {}", self.name, self.ttl, self.rtype(), self.data)
        }
    }
}
