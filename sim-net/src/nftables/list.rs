//! `nft list ruleset`, `nft list table`, `nft list chain`, printed as nft v1.0.6 prints them
//! (`table_print`, `set_print_plain`, `chain_print` in `src/rule.c`; `set_expr_print` in
//! `src/expression.c`): tab indentation; in a table its flags and comment, then sets and maps,
//! then chains, in creation order, separated by blank lines; a base chain's `type ... hook ...
//! [device "x" | devices = { x, y }] priority ...; policy ...;` line, with priorities named
//! within ±10 of a standard one valid at that hook (the bridge family's names and values are
//! its own); set elements in the kernel's key order, wrapped as nft wraps them (5 per line
//! for numbers, ports and protocols, 2 for addresses, one per line otherwise).

use std::fmt::Write;

use super::expr::*;
use super::ruleset::*;

/// `nft list ruleset`.
pub fn ruleset(rs: &Ruleset) -> String {
    rs.tables.iter().map(table).collect()
}

/// `nft list table FAMILY NAME`.
pub fn table(t: &Table) -> String {
    let mut out = format!("table {} {} {{\n", t.family.name(), t.name);
    if t.flags.dormant {
        out.push_str("\tflags dormant\n");
    }
    if let Some(c) = &t.comment {
        let _ = writeln!(out, "\tcomment \"{c}\"");
    }
    let mut items: Vec<String> = t.sets.values().map(|s| set(s)).collect();
    items.extend(t.chains.values().map(|c| chain(c, t.family)));
    // nft's `table_print_options` starts the objects' separator at a blank line when the
    // table has flags (a comment alone does not).
    if t.flags.dormant && !items.is_empty() {
        out.push('\n');
    }
    out.push_str(&items.join("\n"));
    out.push_str("}\n");
    out
}

/// `nft list chain FAMILY TABLE NAME`.
pub fn chain_in_table(t: &Table, c: &Chain) -> String {
    format!("table {} {} {{\n{}}}\n", t.family.name(), t.name, chain(c, t.family))
}

/// `nft list set|map FAMILY TABLE NAME`.
pub fn set_in_table(t: &Table, s: &Set) -> String {
    format!("table {} {} {{\n{}}}\n", t.family.name(), t.name, set(s))
}

fn chain(c: &Chain, family: Family) -> String {
    let mut out = format!("\tchain {} {{\n", c.name);
    if let Some(cm) = &c.comment {
        let _ = writeln!(out, "\t\tcomment \"{cm}\"");
    }
    if let Some(b) = &c.base {
        let policy = match b.policy {
            Policy::Accept => "accept",
            Policy::Drop => "drop",
        };
        let devices = match c.devices.as_slice() {
            [] => String::new(),
            [one] => format!(" device \"{one}\""),
            many => format!(" devices = {{ {} }}", many.join(", ")),
        };
        let _ = writeln!(
            out,
            "\t\ttype {} hook {}{devices} priority {}; policy {policy};",
            b.kind.name(),
            b.hook.name(),
            priority_text(b.priority, family, b.hook)
        );
    }
    for r in &c.rules {
        let _ = writeln!(out, "\t\t{}", rule_text(r));
    }
    out.push_str("\t}\n");
    out
}

fn set(s: &Set) -> String {
    let kw = if s.is_map() { "map" } else { "set" };
    let mut out = format!("\t{kw} {} {{\n", s.name);
    let key: Vec<&str> = s.key.iter().map(|t| t.name()).collect();
    let _ = write!(out, "\t\ttype {}", key.join(" . "));
    if let Some(d) = s.data {
        let _ = write!(out, " : {}", d.name());
    }
    out.push('\n');
    if let Some(n) = s.size {
        let _ = writeln!(out, "\t\tsize {n}");
    }
    let mut flags = Vec::new();
    if s.flags.constant {
        flags.push("constant");
    }
    if s.flags.dynamic {
        flags.push("dynamic");
    }
    if s.flags.interval {
        flags.push("interval");
    }
    if s.flags.timeout {
        flags.push("timeout");
    }
    // nft leaves the line out when `timeout` is the only flag and the set has a timeout,
    // which implies it.
    let implied = flags == ["timeout"] && s.timeout_ms.is_some();
    if !flags.is_empty() && !implied {
        let _ = writeln!(out, "\t\tflags {}", flags.join(","));
    }
    if let Some(t) = s.timeout_ms {
        let _ = writeln!(out, "\t\ttimeout {}", format_time(t));
    }
    if let Some(c) = &s.comment {
        let _ = writeln!(out, "\t\tcomment \"{c}\"");
    }
    if !s.elements.is_empty() {
        let per_line = if s.key.len() == 1 { s.key[0].per_line() } else { None };
        out.push_str("\t\telements = ");
        out.push_str(&elements(s, per_line));
        out.push('\n');
    }
    out.push_str("\t}\n");
    out
}

/// `{ a, b,\n\t\t\t     c }` with `per_line` elements per line (`None`: one).
fn elements(s: &Set, per_line: Option<usize>) -> String {
    let mut out = String::from("{ ");
    let mut count = 0;
    for (i, e) in s.elements.listed().into_iter().enumerate() {
        if i > 0 {
            let newline = match per_line {
                Some(n) if count < n => false,
                Some(_) => {
                    count = 0;
                    true
                }
                None => true,
            };
            out.push_str(if newline { ",\n\t\t\t     " } else { ", " });
        }
        out.push_str(&element_text(e));
        count += 1;
    }
    out.push_str(" }");
    out
}

fn key_part(p: &KeyPart) -> String {
    match p {
        KeyPart::Single(v) => v.to_string(),
        KeyPart::Range(lo, hi) if lo.dtype().addr_bits().is_some() => match value_as_prefix(lo, hi) {
            Some(len) if lo.dtype().addr_bits() == Some(u32::from(len)) => lo.to_string(),
            Some(len) => format!("{lo}/{len}"),
            None => format!("{lo}-{hi}"),
        },
        KeyPart::Range(lo, hi) => format!("{lo}-{hi}"),
    }
}

/// One element as `nft list` prints it (`10.0.0.1 . tcp . 80 comment "x" : goto c`).
pub fn element_text(e: &Element) -> String {
    let mut out = e.key.iter().map(key_part).collect::<Vec<_>>().join(" . ");
    if let Some(t) = e.timeout_ms {
        let _ = write!(out, " timeout {}", format_time(t));
    }
    if let Some(c) = &e.comment {
        let _ = write!(out, " comment \"{c}\"");
    }
    match &e.data {
        Some(MapData::Verdict(v)) => {
            let _ = write!(out, " : {v}");
        }
        Some(MapData::Value(v)) => {
            let _ = write!(out, " : {v}");
        }
        None => {}
    }
    out
}

fn anon(s: &Set) -> String {
    let mut out = String::from("{ ");
    let items: Vec<String> = s.elements.listed().into_iter().map(element_text).collect();
    out.push_str(&items.join(", "));
    out.push_str(" }");
    out
}

fn set_ref(r: &SetRef) -> String {
    match r {
        SetRef::Named(n) => format!("@{n}"),
        SetRef::Anon(s) => anon(s),
    }
}

/// A merged comparison as nft lists it: fields of a named protocol one by one (`tcp sport
/// != 1 tcp dport != 2`); `th` ports, which no protocol names, as the raw load (`@th,0,32
/// 0x10002`: the transport header's 32 bits from offset 0, in hex). A merged `th` run is
/// always both ports, source first (runs are in header order, at most 4 bytes).
fn merged_text(fields: &[(Payload, Value)], ne: bool) -> String {
    let op = if ne { "!= " } else { "" };
    if fields.iter().all(|(p, _)| matches!(p, Payload::ThSport | Payload::ThDport)) {
        let value = fields.iter().fold(0u64, |acc, (_, v)| (acc << 16) | v.bits());
        return format!("@th,0,32 {op}0x{value:x}");
    }
    fields.iter().map(|(p, v)| format!("{} {op}{v}", p.text())).collect::<Vec<_>>().join(" ")
}

/// One statement as `nft list` prints it.
pub fn stmt_text(s: &Stmt) -> String {
    match s {
        // `tcp flags & (syn | ack) == syn` as nft prints it: `tcp flags syn / syn,ack`, and
        // `& syn == 0` as `! syn` (a single flag tested for itself stays as written).
        Stmt::Match {
            left: Expr::Binop { left: inner, op: BinOp::And, right: mask },
            op: op @ (RelOp::Eq | RelOp::Implicit | RelOp::Ne),
            right: Rhs::Value(v),
        } if inner.dtype().is_bitmask()
            && !(v.bits() == *mask && mask.count_ones() == 1)
            && let Some(m) = Value::from_bits(inner.dtype(), *mask) =>
        {
            match (op, v.bits()) {
                (RelOp::Ne, _) => format!("{inner} != {v} / {m}"),
                (_, 0) => format!("{inner} ! {m}"),
                _ => format!("{inner} {v} / {m}"),
            }
        }
        Stmt::Match { left, op, right } => {
            let op_text = match op {
                RelOp::Implicit => "",
                RelOp::Eq => "== ",
                RelOp::Ne => "!= ",
                RelOp::Lt => "< ",
                RelOp::Gt => "> ",
                RelOp::Le => "<= ",
                RelOp::Ge => ">= ",
            };
            let op_text =
                if *op == RelOp::Implicit && matches!(left, Expr::Binop { .. }) { "== " } else { op_text };
            let r = match right {
                Rhs::Value(v) => v.to_string(),
                Rhs::Range(lo, hi) => format!("{lo}-{hi}"),
                Rhs::Prefix(a, len) => format!("{a}/{len}"),
                Rhs::Set(r) => set_ref(r),
            };
            format!("{left} {op_text}{r}")
        }
        Stmt::Counter { packets, bytes } => format!("counter packets {packets} bytes {bytes}"),
        Stmt::Verdict(v) => v.to_string(),
        Stmt::Vmap { key, map } => format!("{key} vmap {}", set_ref(map)),
        Stmt::Log { prefix: None } => "log".to_string(),
        Stmt::Log { prefix: Some(p) } => format!("log prefix \"{p}\""),
        Stmt::Notrack => "notrack".to_string(),
        Stmt::Limit(l) => l.text(),
        Stmt::Merged { fields, ne } => merged_text(fields, *ne),
        Stmt::Reject(Reject::Default) => "reject".to_string(),
        Stmt::Reject(Reject::TcpReset) => "reject with tcp reset".to_string(),
        Stmt::Reject(r @ (Reject::Icmp(c) | Reject::Icmpv6(c) | Reject::Icmpx(c))) => {
            let kind = match r {
                Reject::Icmp(_) => "icmp",
                Reject::Icmpv6(_) => "icmpv6",
                _ => "icmpx",
            };
            match super::parse::reject_code_name(kind, *c) {
                Some(name) => format!("reject with {kind} {name}"),
                None => format!("reject with {kind} {c}"),
            }
        }
        Stmt::Nat { kind, addr, inet, ports, flags } => {
            let k = match kind {
                NatKind::Snat => "snat",
                NatKind::Dnat => "dnat",
            };
            // nft names the family in inet tables and brackets an IPv6 address with a port.
            let fam = match (inet, addr) {
                (false, _) => "",
                (true, std::net::IpAddr::V4(_)) => " ip",
                (true, std::net::IpAddr::V6(_)) => " ip6",
            };
            let a = match addr {
                std::net::IpAddr::V4(a) => a.to_string(),
                std::net::IpAddr::V6(a) if ports.is_some() => format!("[{}]", Value::Addr6(*a)),
                std::net::IpAddr::V6(a) => Value::Addr6(*a).to_string(),
            };
            format!("{k}{fam} to {a}{}{flags}", ports_text(*ports))
        }
        Stmt::Masquerade { ports: None, flags } => format!("masquerade{flags}"),
        Stmt::Masquerade { ports, flags } => format!("masquerade to {}{flags}", ports_text(*ports)),
        Stmt::MetaMarkSet(e) => format!("meta mark set {e}"),
        Stmt::CtMarkSet(e) => format!("ct mark set {e}"),
        Stmt::SetUpdate { op, set, key, timeout_ms } => {
            let o = match op {
                SetOp::Add => "add",
                SetOp::Update => "update",
            };
            let t = timeout_ms.map(|t| format!(" timeout {}", format_time(t))).unwrap_or_default();
            format!("{o} @{set} {{ {key}{t} }}")
        }
    }
}

fn ports_text(p: Option<(u16, u16)>) -> String {
    match p {
        None => String::new(),
        Some((lo, hi)) if lo == hi => format!(":{lo}"),
        Some((lo, hi)) => format!(":{lo}-{hi}"),
    }
}

/// One rule as `nft list` prints it.
pub fn rule_text(r: &Rule) -> String {
    let mut out = r.stmts.iter().map(stmt_text).collect::<Vec<_>>().join(" ");
    if let Some(c) = &r.comment {
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = write!(out, "comment \"{c}\"");
    }
    out
}
