//! The `nft -f` language, applied to a ruleset as one transaction: every command is applied
//! in order to a copy, and the copy replaces the ruleset only if all of them succeed (the
//! kernel's batch). A rule's references (jump/goto targets, `@set`) must exist when the rule
//! is added; in a `table { ... }` block, the block's chains are created first, then its sets,
//! then its rules, as nft orders a block's commands (and so the kernel's handles).
//!
//! Parsing canonicalizes as nft does before the kernel sees the rule: a one-element anonymous
//! set becomes a plain comparison (`ip daddr { 10.0.0.0/8 }` is `ip daddr 10.0.0.0/8`), a
//! `/32` prefix a plain address, `==` on a non-bitmask type the implicit form, and a protocol
//! match directly followed by a match on that protocol's header is dropped (`ip protocol tcp
//! tcp dport 80` is `tcp dport 80`), and so is a `meta l4proto tcp` right before `reject with
//! tcp reset` (which carries it; one that names another protocol is refused). An anonymous
//! interval set's overlapping or touching elements are merged (`{ 10.0.0.0/25, 10.0.0.128/25
//! }` is `{ 10.0.0.0/24 }`); in a named set or a map they are "conflicting intervals".

use std::borrow::Cow;
use std::net::IpAddr;

use super::NftError;
use super::expr::*;
use super::lexer::{Tok, Token, lex};
use super::ruleset::*;

/// Applies `src` (named `file` in messages) to `ruleset` as one transaction, in a namespace
/// with the interfaces named `interfaces` (`None`: any name is taken).
pub fn apply(
    ruleset: &mut Ruleset,
    file: &str,
    src: &str,
    interfaces: Option<&[String]>,
) -> Result<(), NftError> {
    let toks = match lex(src) {
        Ok(t) => t,
        Err((line, col)) => {
            return Err(NftError::at(file, src, line, col, col, "syntax error, unexpected junk".to_string()));
        }
    };
    let toks = match expand_defines(toks) {
        Ok(t) => t,
        Err((t, msg)) => {
            let (line, col, end) = t.position();
            return Err(NftError::at(file, src, line, col, end, msg));
        }
    };
    let mut work = ruleset.clone();
    let mut p = Parser {
        toks,
        pos: 0,
        file,
        src,
        rs: &mut work,
        refs: Vec::new(),
        spans: std::collections::VecDeque::new(),
        added: Vec::new(),
        committed: ruleset.tables.iter().map(|t| ((t.family, t.name.clone()), t.next_handle())).collect(),
        rule_l3: None,
        rule_family: Family::Ip,
        rule_l3_at: None,
        rule_l4: Vec::new(),
        int_max: None,
        deleting: None,
        depth: 0,
        stmt_spans: Vec::new(),
        added_intervals: Vec::new(),
        interfaces,
    };
    p.file()?;
    p.validate()?;
    *ruleset = work;
    Ok(())
}

/// `define NAME = TOKENS` (at the start of a line) and `$NAME` uses, replaced by the tokens
/// (located at the use); `redefine` replaces a definition, `undefine` drops one.
fn expand_defines(toks: Vec<Token<'_>>) -> Result<Vec<Token<'_>>, (Token<'_>, String)> {
    let uses_vars =
        |t: &Token<'_>| matches!(t.tok, Tok::Punct("$") | Tok::Word("define" | "redefine" | "undefine"));
    if !toks.iter().any(uses_vars) {
        return Ok(toks);
    }
    let mut vars: std::collections::BTreeMap<&str, Vec<Token<'_>>> = std::collections::BTreeMap::new();
    let mut out: Vec<Token> = Vec::with_capacity(toks.len());
    let mut i = 0;
    let line_start =
        |out: &[Token]| matches!(out.last().map(|t| &t.tok), None | Some(Tok::Newline | Tok::Punct(";")));
    let at = |i: usize| toks[i.min(toks.len() - 1)];
    while i < toks.len() {
        let t = &toks[i];
        match &t.tok {
            Tok::Word(w) if matches!(*w, "define" | "redefine" | "undefine") && line_start(&out) => {
                let Some(Tok::Word(name)) = toks.get(i + 1).map(|t| &t.tok) else {
                    return Err((at(i + 1), "syntax error, expecting string".to_string()));
                };
                if *w == "undefine" {
                    if vars.remove(name).is_none() {
                        return Err((at(i + 1), format!("undefined symbol '{name}'")));
                    }
                    i += 2;
                    continue;
                }
                if !matches!(toks.get(i + 2).map(|t| &t.tok), Some(Tok::Punct("="))) {
                    return Err((at(i + 2), "syntax error, expecting '='".to_string()));
                }
                if *w == "define" && vars.contains_key(name) {
                    return Err((at(i + 1), format!("symbol '{name}' already defined")));
                }
                let mut j = i + 3;
                let mut value = Vec::new();
                let mut depth = 0i32;
                while j < toks.len() {
                    match &toks[j].tok {
                        Tok::Eof => break,
                        Tok::Newline | Tok::Punct(";") if depth <= 0 => break,
                        Tok::Newline => {
                            j += 1;
                            continue;
                        }
                        Tok::Punct("{") => depth += 1,
                        Tok::Punct("}") => depth -= 1,
                        _ => {}
                    }
                    value.push(toks[j]);
                    j += 1;
                }
                // A value may use earlier variables.
                let value = expand_uses(&value, &vars)?;
                vars.insert(name, value);
                i = j;
            }
            Tok::Punct("$") => {
                out.extend(expand_uses(&toks[i..(i + 2).min(toks.len())], &vars)?);
                i += 2;
            }
            _ => {
                out.push(*t);
                i += 1;
            }
        }
    }
    if !matches!(out.last().map(|t| &t.tok), Some(Tok::Eof)) {
        out.push(at(toks.len()));
    }
    Ok(out)
}

/// Replaces `$NAME` in `toks` by the variable's tokens, located at the name.
fn expand_uses<'a>(
    toks: &[Token<'a>],
    vars: &std::collections::BTreeMap<&'a str, Vec<Token<'a>>>,
) -> Result<Vec<Token<'a>>, (Token<'a>, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if toks[i].tok != Tok::Punct("$") {
            out.push(toks[i]);
            i += 1;
            continue;
        }
        let Some(name_tok @ Token { tok: Tok::Word(name), .. }) = toks.get(i + 1) else {
            return Err((toks[i], "syntax error, unexpected '$'".to_string()));
        };
        // nft locates a use by the name after the `$`.
        let use_at = *name_tok;
        let Some(value) = vars.get(name) else {
            return Err((use_at, format!("unknown identifier '{name}'")));
        };
        for v in value {
            out.push(Token { tok: v.tok, ..use_at });
        }
        i += 2;
    }
    Ok(out)
}

/// Something a rule refers to, checked when the command that added it is done.
struct Ref {
    at: usize,
    family: Family,
    table: String,
    chain: Option<String>,
    set: Option<String>,
    /// The set is the target of an `add @set` / `update @set` statement (the kernel's
    /// dynset), which gives a set without a size the default 65535.
    dynset: bool,
}

/// A rule a transaction added: where, and its token span (what an error about it points at).
struct Added<'a> {
    family: Family,
    table: Cow<'a, str>,
    chain: Cow<'a, str>,
    span: (usize, usize),
}

struct Parser<'a> {
    toks: Vec<Token<'a>>,
    pos: usize,
    file: &'a str,
    src: &'a str,
    rs: &'a mut Ruleset,
    refs: Vec<Ref>,
    /// Token spans of parsed rules not yet added, in parse order.
    spans: std::collections::VecDeque<(usize, usize)>,
    /// Rules this transaction added, in order.
    added: Vec<Added<'a>>,
    /// Per table, the first handle this transaction can give: rules below it were committed
    /// before (only those can be named by `handle`/`position`, as in the kernel).
    committed: std::collections::BTreeMap<(Family, String), u64>,
    /// The network protocol (`ip` or `ip6`) the rule being parsed matches so far: the
    /// table's for ip and ip6 tables (arp for arp tables, where neither is), the first header
    /// field's in inet, bridge and netdev tables.
    rule_l3: Option<Family>,
    /// The family of the table the rule being parsed is in.
    rule_family: Family,
    /// The tokens of the header field that set [`Self::rule_l3`] in an inet rule (`ip6 saddr`).
    rule_l3_at: Option<(usize, usize)>,
    /// The largest value the integer being compared holds (`ip ttl`: 255), while the
    /// right-hand side of its match is parsed: nft's "exceeds valid range" check.
    int_max: Option<u64>,
    /// The transport protocols the rule being parsed has said so far (`meta l4proto tcp`,
    /// each of `meta l4proto { tcp, udp }`, `tcp dport 80`), in order, for nft's
    /// "conflicting protocols" check: a later header field of any other protocol is refused.
    rule_l4: Vec<u8>,
    /// A run of `delete chain` commands in progress (see [`ChainDeletes`]).
    deleting: Option<ChainDeletes<'a>>,
    /// How many `{ ... }` blocks (table, chain, set) the parser is in: a command at the top
    /// level may also end the file.
    depth: usize,
    /// The token spans of the statements of the rule being parsed, so far.
    stmt_spans: Vec<(usize, usize)>,
    /// The namespace's interface names, for `iif` and `oif` (`None`: any).
    interfaces: Option<&'a [String]>,
    /// Interval elements this transaction added to named sets (family, table, set, bounds)
    /// with their key's token span: nft places a conflict with one of them there.
    added_intervals: Vec<AddedInterval>,
}

type NameSet = indexmap::IndexSet<String, sim_core::hash::FxBuildHasher>;

/// A run of consecutive `delete chain` commands on one table (kube-proxy ends a sync with
/// one per stale chain): the run's chain names are read ahead from the commands, whether the
/// table's rules and maps reference each of them is found in one pass over the table, and
/// the chains leave the table together when the run ends, instead of each command reading
/// every rule and shifting every later chain. Nothing else runs in between, and a chain that
/// may be deleted is empty (so deleting it removes no reference), so the answers are the ones
/// each command would get alone. A name the read-ahead missed is looked for in the table.
struct ChainDeletes<'a> {
    family: Family,
    table: String,
    /// The names the run's commands delete, as written.
    names: indexmap::IndexSet<&'a str, sim_core::hash::FxBuildHasher>,
    /// Whether a rule or a map element of the table jumps to each of `names`.
    referenced: Vec<bool>,
    gone: NameSet,
}

type R<T> = Result<T, NftError>;

/// nft's automerge of an anonymous interval set: elements that overlap or touch become one
/// range (`{ 10.0.0.0/25, 10.0.0.128/25 }` is `{ 10.0.0.0/24 }`). Left alone when a key has
/// several fields or an element carries a comment or timeout.
fn merge_intervals(set: &mut Set) {
    let mut spans: Vec<(Value, Value)> = Vec::with_capacity(set.elements.len());
    for e in set.elements.iter() {
        match interval_bounds(e) {
            Some((lo, hi)) if e.comment.is_none() && e.timeout_ms.is_none() => {
                spans.push((lo.clone(), hi.clone()))
            }
            _ => return,
        }
    }
    spans.sort();
    let mut merged: Vec<(Value, Value)> = Vec::with_capacity(spans.len());
    for (lo, hi) in spans {
        if let Some((_, last_hi)) = merged.last_mut()
            && (lo <= *last_hi || next_value(last_hi).is_some_and(|n| n == lo))
        {
            if hi > *last_hi {
                *last_hi = hi;
            }
            continue;
        }
        merged.push((lo, hi));
    }
    if merged.len() == set.elements.len() {
        return;
    }
    set.elements.clear();
    for (lo, hi) in merged {
        let key = if lo == hi { KeyPart::Single(lo) } else { KeyPart::Range(lo, hi) };
        set.elements.insert(Element {
            key: vec![key],
            data: None,
            comment: None,
            timeout_ms: None,
            expires: None,
        });
    }
}

/// The value after `v` in its type's order, for the numeric types.
fn next_value(v: &Value) -> Option<Value> {
    Some(match v {
        Value::Addr(a) => Value::Addr(u32::from(*a).checked_add(1)?.into()),
        Value::Addr6(a) => Value::Addr6(u128::from(*a).checked_add(1)?.into()),
        Value::Port(p) => Value::Port(p.checked_add(1)?),
        Value::Proto(p) => Value::Proto(p.checked_add(1)?),
        Value::Mark(m) => Value::Mark(m.checked_add(1)?),
        Value::Int(i) => Value::Int(i.checked_add(1)?),
        _ => return None,
    })
}

/// The largest value an integer field holds, for the fields whose width their type does not say
/// (`ip ttl` and `ip length` are both `integer`).
fn integer_max(e: &Expr) -> Option<u64> {
    match e {
        Expr::Payload(Payload::IpTtl | Payload::Ip6Hoplimit) => Some(u64::from(u8::MAX)),
        Expr::Payload(Payload::IpLength) => Some(u64::from(u16::MAX)),
        Expr::Meta(MetaKey::Mark) | Expr::Ct(CtKey::Mark) => Some(u64::from(u32::MAX)),
        Expr::Meta(MetaKey::Protocol) => Some(u64::from(u16::MAX)),
        Expr::Meta(MetaKey::Pkttype) => Some(u64::from(u8::MAX)),
        _ => None,
    }
}

/// A decimal or `0x` hexadecimal number as written.
fn plain_integer(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The width in bits of the integer types a prefix may follow (`meta mark 0x4000/16`).
fn integer_width(t: DataType) -> Option<u32> {
    match t {
        DataType::Mark => Some(32),
        DataType::InetService => Some(16),
        DataType::InetProto => Some(8),
        _ => None,
    }
}

/// The bounds of an element of a one-field key (a value is its own range).
fn interval_bounds(e: &Element) -> Option<(&Value, &Value)> {
    match e.key.as_slice() {
        [KeyPart::Single(v)] => Some((v, v)),
        [KeyPart::Range(lo, hi)] => Some((lo, hi)),
        _ => None,
    }
}

/// Whether [`Parser::interval_conflicts`] needs its walk: some new element overlaps another
/// new one or an old one (an identical repeat counts here; the walk lets it pass). The new
/// elements sorted by start, and for each prefix the highest end, answer for each old element
/// with a binary search, so a command adding a few elements to a large set costs about one
/// pass over the set, as inserting them does.
fn may_conflict(old: Option<&Elements>, elements: &[Spanned]) -> bool {
    let mut new: Vec<(&Value, &Value)> = elements.iter().filter_map(|(e, _)| interval_bounds(e)).collect();
    new.sort();
    if new.windows(2).any(|w| w[1].0 <= w[0].1) {
        return true;
    }
    let mut highest: Vec<&Value> = Vec::with_capacity(new.len());
    for (_, hi) in &new {
        let top = highest.last().map_or(*hi, |h| if *hi > *h { *hi } else { *h });
        highest.push(top);
    }
    old.into_iter().flat_map(|o| o.iter()).filter_map(interval_bounds).any(|(lo, hi)| {
        let starts_before = new.partition_point(|(nlo, _)| *nlo <= hi);
        starts_before > 0 && highest.get(starts_before - 1).is_some_and(|top| *top >= lo)
    })
}

/// A parsed set element with the token span of its key.
type Spanned = (Element, (usize, usize));

/// An interval element an `add element` of this transaction put in a named set, with the
/// token span of its key.
struct AddedInterval {
    family: Family,
    table: String,
    set: String,
    lo: Value,
    hi: Value,
    span: (usize, usize),
}

/// An element's bounds in [`Parser::interval_conflicts`], with its key's span when known.
struct Bounds<'v> {
    lo: &'v Value,
    hi: &'v Value,
    span: Option<(usize, usize)>,
}

/// Where a chain's body is: in an `add chain` command (its first token) or in a table
/// block (the chain's name token).
#[derive(Clone, Copy)]
enum ChainAt {
    Command(usize),
    Block(usize),
}

/// nft's refusal of a range whose upper end is below its lower end.
const NEGATIVE_RANGE: &str = "Range has zero or negative size";
/// nft's refusal of a range element in a set without `flags interval`.
const NEEDS_INTERVAL_FOR_RANGES: &str =
    "You must add 'flags interval' to your set declaration if you want to add range elements";
/// The same for a prefix element.
const NEEDS_INTERVAL_FOR_PREFIXES: &str =
    "You must add 'flags interval' to your set declaration if you want to add prefix elements";

/// getaddrinfo's answer for an address of the other family, as nft reports it.
const ADDRESS_FAMILY: &str = "Could not resolve hostname: Address family for hostname not supported";

/// Of [`KEYWORDS`], those nft v1.0.6 takes as table, chain or set names (each tried as a
/// chain name with the real nft).
const NAME_KEYWORDS: [&str; 6] = ["with", "to", "saddr", "daddr", "state", "status"];

const KEYWORDS: [&str; 69] = [
    "table",
    "chain",
    "rule",
    "set",
    "map",
    "element",
    "elements",
    "add",
    "create",
    "delete",
    "flush",
    "insert",
    "list",
    "ruleset",
    "ip",
    "ip6",
    "inet",
    "arp",
    "bridge",
    "netdev",
    "type",
    "hook",
    "device",
    "devices",
    "rate",
    "over",
    "burst",
    "packets",
    "bytes",
    "priority",
    "policy",
    "accept",
    "drop",
    "continue",
    "return",
    "jump",
    "goto",
    "counter",
    "comment",
    "flags",
    "log",
    "notrack",
    "reject",
    "with",
    "tcp",
    "udp",
    "sctp",
    "icmp",
    "th",
    "meta",
    "ct",
    "fib",
    "numgen",
    "vmap",
    "dnat",
    "snat",
    "masquerade",
    "to",
    "mark",
    "saddr",
    "daddr",
    "state",
    "status",
    "handle",
    "position",
    "timeout",
    "size",
    "update",
    "define",
];

/// The longest of [`KEYWORDS`]: a longer word (kube-proxy's chain names) is none of them.
const KEYWORD_MAX_LEN: usize = {
    let mut max = 0;
    let mut i = 0;
    while i < KEYWORDS.len() {
        if KEYWORDS[i].len() > max {
            max = KEYWORDS[i].len();
        }
        i += 1;
    }
    max
};

/// True if nft's scanner makes `w` a keyword token of its own.
fn is_keyword(w: &str) -> bool {
    w.len() <= KEYWORD_MAX_LEN && KEYWORDS.contains(&w)
}

/// Statements and keywords nft accepts that netsim does not evaluate.
const UNMODELLED: [&str; 22] = [
    "limit", "quota", "queue", "tproxy", "redirect", "dup", "fwd", "meter", "synproxy", "flow", "xt", "osf",
    "socket", "rt", "ipsec", "exthdr", "ether", "vlan", "arp", "icmpv6", "igmp", "esp",
];

/// The network protocol a `meta protocol` value names (ip, ip6, arp), as a rule's context.
fn ethertype_family(t: u16) -> Option<Family> {
    match t {
        0x0800 => Some(Family::Ip),
        0x86dd => Some(Family::Ip6),
        0x0806 => Some(Family::Arp),
        _ => None,
    }
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Tok<'a> {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn peek_at(&self, n: usize) -> &Tok<'a> {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn bump(&mut self) -> usize {
        let at = self.pos.min(self.toks.len() - 1);
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        at
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Word(x) if *x == w)
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::Punct(x) if *x == p)
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.is_word(w) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        if self.is_punct(p) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn err(&self, at: usize, msg: impl Into<String>) -> NftError {
        self.err_span(at, at, msg)
    }

    fn err_span(&self, from: usize, to: usize, msg: impl Into<String>) -> NftError {
        let a = &self.toks[from.min(self.toks.len() - 1)];
        let b = &self.toks[to.min(self.toks.len() - 1)];
        let ((line, col, a_end), (b_line, _, b_end)) = (a.position(), b.position());
        let end = if b_line == line { b_end } else { a_end };
        NftError::at(self.file, self.src, line, col, end, msg.into())
    }

    /// `e` with tokens `from..=to` underlined by `~` when they are on its line.
    fn context(&self, e: NftError, from: usize, to: usize) -> NftError {
        let a = &self.toks[from.min(self.toks.len() - 1)];
        let b = &self.toks[to.min(self.toks.len() - 1)];
        let ((line, col, a_end), (b_line, _, b_end)) = (a.position(), b.position());
        if line != e.line {
            return e;
        }
        e.with_context(col, if b_line == line { b_end } else { a_end })
    }

    /// "syntax error, unexpected X" at the current token.
    fn unexpected(&self, expecting: Option<&str>) -> NftError {
        let what = match self.peek() {
            Tok::Word(w) if is_keyword(w) => w.to_string(),
            Tok::Word(_) | Tok::Addr(_) | Tok::Addr6(_) | Tok::Digits(_) => "string".to_string(),
            Tok::Num(_) => "number".to_string(),
            Tok::Str(_) => "quoted string".to_string(),
            Tok::Punct(";") => "semicolon".to_string(),
            Tok::Punct(",") => "comma".to_string(),
            Tok::Punct(":") => "colon".to_string(),
            Tok::Punct(p) => format!("'{p}'"),
            Tok::Newline => "newline".to_string(),
            Tok::Eof => "end of file".to_string(),
        };
        let mut msg = format!("syntax error, unexpected {what}");
        if let Some(e) = expecting {
            msg.push_str(", expecting ");
            msg.push_str(e);
        }
        self.err(self.pos, msg)
    }

    fn unmodelled(&self, at: usize, what: &str) -> NftError {
        self.err(at, format!("netsim does not evaluate '{what}' (nft accepts it; the model leaves it out)"))
    }

    fn skip_newlines(&mut self) {
        while matches!(self.peek(), Tok::Newline) {
            self.bump();
        }
    }

    fn skip_separators(&mut self) {
        while matches!(self.peek(), Tok::Newline | Tok::Punct(";")) {
            self.bump();
        }
    }

    /// The end of a command or block item: a newline, `;`, or (left in place) the end of
    /// the file. nft's grammar ends every item of a block with a separator (`rule
    /// stmt_separator`, `'}' stmt_separator` for a chain or set in a table), so a `}` right
    /// after an item is its syntax error, as is one closing nothing at the top level.
    fn end_of_item(&mut self) -> R<()> {
        match self.peek() {
            Tok::Newline | Tok::Punct(";") => {
                self.bump();
                Ok(())
            }
            Tok::Eof => Ok(()),
            _ if self.depth == 0 => Err(self.unexpected(Some("end of file or newline or semicolon"))),
            _ => Err(self.unexpected(Some("newline or semicolon"))),
        }
    }

    /// After the last item of a list separated by `sep` (a set's `type` or `flags`), before
    /// [`Parser::end_of_item`]: anything but the item's end is nft's "expecting newline or
    /// semicolon or SEP".
    fn end_of_list(&self, sep: &str) -> R<()> {
        match self.peek() {
            Tok::Newline | Tok::Punct(";") | Tok::Eof => Ok(()),
            _ => Err(self.unexpected(Some(&format!("newline or semicolon or {sep}")))),
        }
    }

    /// A table, chain or set name (nft's `identifier`): an unquoted string. A quoted string
    /// or a number there is nft's syntax error, "expecting `expecting`" ("string", or
    /// "handle or string" where a handle could stand instead, "'{'" after `jump`).
    fn ident_ref(&mut self, expecting: &str) -> R<(Cow<'a, str>, usize)> {
        match *self.peek() {
            // nft's scanner makes most keywords tokens of their own (`counter`, `mark`, ...):
            // not names. The ones its start conditions leave as strings can be names.
            Tok::Word(w) if is_keyword(w) && !NAME_KEYWORDS.contains(&w) => {
                Err(self.unexpected(Some(expecting)))
            }
            Tok::Word(w) => Ok((Cow::Borrowed(w), self.bump())),
            Tok::Digits(w) => {
                // nft's scanner reads the leading digits as a number (`5x` is 5, then x).
                let (line, col, _) = self.toks[self.pos].position();
                let digits = w.bytes().take_while(u8::is_ascii_digit).count().max(1);
                let msg = format!("syntax error, unexpected number, expecting {expecting}");
                Err(NftError::at(self.file, self.src, line, col, col + digits - 1, msg))
            }
            _ => Err(self.unexpected(Some(expecting))),
        }
    }

    /// [`Parser::ident_ref`], owned.
    fn ident(&mut self, expecting: &str) -> R<(String, usize)> {
        self.ident_ref(expecting).map(|(n, at)| (n.into_owned(), at))
    }

    fn name(&mut self) -> R<(String, usize)> {
        self.name_ref().map(|(n, at)| (n.into_owned(), at))
    }

    /// [`Parser::name`], borrowed from the text when it is there as written.
    fn name_ref(&mut self) -> R<(Cow<'a, str>, usize)> {
        match *self.peek() {
            Tok::Word(w) | Tok::Str(w) | Tok::Digits(w) => Ok((Cow::Borrowed(w), self.bump())),
            Tok::Num(n) => Ok((Cow::Owned(n.to_string()), self.bump())),
            _ => Err(self.unexpected(Some("string"))),
        }
    }

    fn family(&mut self) -> R<Family> {
        if let Tok::Word(w) = *self.peek()
            && let Some(f) = Family::parse(w)
        {
            self.bump();
            return Ok(f);
        }
        Ok(Family::Ip)
    }

    fn no_such(&self, at: usize, what: &str) -> NftError {
        self.err(at, format!("Could not process {what}: No such file or directory"))
    }

    fn table_of(&mut self, family: Family, at: usize, name: &str, what: &str) -> R<&mut Table> {
        // The error is built only when needed: building it scans the source for its line,
        // which per command made a large transaction quadratic.
        if self.rs.table(family, name).is_none() {
            return Err(self.no_such(at, what));
        }
        let (file, src) = (self.file, self.src);
        self.rs.table_mut(family, name).ok_or_else(|| {
            NftError::at(file, src, 0, 0, 0, format!("Could not process {what}: No such file or directory"))
        })
    }

    /// Ends a run of `delete chain` commands: its chains leave the table, the others keep
    /// their order.
    fn finish_chain_deletes(&mut self) {
        if let Some(d) = self.deleting.take()
            && !d.gone.is_empty()
            && let Some(t) = self.rs.table_mut(d.family, &d.table)
        {
            t.chains.retain(|name, _| !d.gone.contains(&**name));
        }
    }

    fn file(&mut self) -> R<()> {
        loop {
            self.skip_separators();
            if matches!(self.peek(), Tok::Eof) {
                self.finish_chain_deletes();
                return Ok(());
            }
            let deletes_chain = matches!(self.peek(), Tok::Word("delete" | "destroy"))
                && matches!(self.toks.get(self.pos + 1).map(|t| t.tok), Some(Tok::Word("chain")));
            if !deletes_chain {
                self.finish_chain_deletes();
            }
            self.command()?;
            self.check_refs()?;
        }
    }

    fn command(&mut self) -> R<()> {
        let at = self.pos;
        let Tok::Word(w) = *self.peek() else { return Err(self.unexpected(None)) };
        match w {
            "table" => {
                self.bump();
                self.table_cmd(false)
            }
            "add" | "create" | "insert" | "delete" | "destroy" | "flush" => {
                self.bump();
                self.verb(w)
            }
            "replace" => {
                self.bump();
                if !self.eat_word("rule") {
                    return Err(self.unexpected(Some("rule")));
                }
                self.replace_rule()
            }
            "include" | "list" | "reset" | "monitor" | "describe" | "rename" | "export" | "import" => {
                Err(self.unmodelled(at, w))
            }
            _ => Err(self.unexpected(None)),
        }
    }

    fn verb(&mut self, verb: &str) -> R<()> {
        let at = self.pos;
        let Tok::Word(obj) = *self.peek() else { return Err(self.unexpected(None)) };
        self.bump();
        match (verb, obj) {
            ("flush", "ruleset") => {
                self.rs.tables.clear();
                self.end_of_item()
            }
            ("add" | "create", "table") => self.table_cmd(verb == "create"),
            ("delete" | "destroy", "table") => {
                let f = self.family()?;
                let (n, nat) = self.ident("handle or string")?;
                if !self.rs.delete_table(f, &n) && verb == "delete" {
                    return Err(self.no_such(nat, "rule"));
                }
                self.end_of_item()
            }
            ("flush", "table") => {
                let f = self.family()?;
                let (n, nat) = self.ident("string")?;
                let t = self.table_of(f, nat, &n, "rule")?;
                for c in t.chains.values_mut() {
                    if !c.rules.is_empty() {
                        std::rc::Rc::make_mut(c).rules.clear();
                    }
                }
                self.end_of_item()
            }
            ("add" | "create", "chain") => {
                let cmd_at = at.saturating_sub(1);
                let f = self.family()?;
                let (t, tat) = self.ident("string")?;
                let (c, cat) = self.ident("string")?;
                if self.rs.table(f, &t).is_none() {
                    return Err(self.no_such(tat, "rule"));
                }
                if verb == "create" && self.rs.table(f, &t).is_some_and(|x| x.chains.contains_key(c.as_str()))
                {
                    return Err(self.err(cat, "Could not process rule: File exists"));
                }
                let mut chain = self.declared_chain(f, &t, &c);
                let mut rules = Vec::new();
                if self.eat_punct("{") {
                    self.chain_body(f, &t, &mut chain, &mut rules, ChainAt::Command(cmd_at))?;
                }
                let nrules = rules.len();
                let table = self.table_of(f, tat, &t, "rule")?;
                table.add_chain(chain);
                for r in rules {
                    table.add_rule(&c, r, None);
                }
                for _ in 0..nrules {
                    self.note_added(f, Cow::Owned(t.clone()), Cow::Owned(c.clone()));
                }
                self.end_of_item()
            }
            ("delete" | "destroy", "chain") => {
                let f = self.family()?;
                let (t, tat) = self.ident("string")?;
                let (c, cat) = self.ident("handle or string")?;
                if self.deleting.as_ref().is_some_and(|d| d.family != f || d.table != t) {
                    self.finish_chain_deletes();
                }
                self.table_of(f, tat, &t, "rule")?;
                let Some(table) = self.rs.table(f, &t) else { return Err(self.no_such(tat, "rule")) };
                let run = self.deleting.get_or_insert_with(|| {
                    let names = upcoming_chain_deletes(&self.toks, cat);
                    let referenced = referenced_among(table, &names);
                    ChainDeletes { family: f, table: t.clone(), names, referenced, gone: NameSet::default() }
                });
                let chain = table.chains.get(c.as_str()).filter(|_| !run.gone.contains(&c));
                let referenced = || match run.names.get_index_of(c.as_str()) {
                    Some(i) => run.referenced.get(i).copied().unwrap_or(true),
                    None => chain_referenced(table, &c),
                };
                match chain {
                    None if verb == "delete" => return Err(self.no_such(cat, "rule")),
                    None => {}
                    Some(ch) if !ch.rules.is_empty() || referenced() => {
                        return Err(self.err(cat, "Could not process rule: Device or resource busy"));
                    }
                    Some(_) => {
                        run.gone.insert(c);
                    }
                }
                self.end_of_item()
            }
            ("flush", "chain") => {
                let f = self.family()?;
                let (t, tat) = self.ident("string")?;
                let (c, cat) = self.ident("string")?;
                if self.rs.table(f, &t).is_some_and(|x| !x.chains.contains_key(c.as_str())) {
                    return Err(self.no_such(cat, "rule"));
                }
                let table = self.table_of(f, tat, &t, "rule")?;
                if let Some(chain) = table.chains.get_mut(c.as_str())
                    && !chain.rules.is_empty()
                {
                    std::rc::Rc::make_mut(chain).rules.clear();
                }
                self.end_of_item()
            }
            ("add" | "insert" | "create", "rule") => self.rule_cmd(verb == "insert"),
            ("delete" | "destroy", "rule") => {
                let f = self.family()?;
                let (t, tat) = self.ident("string")?;
                let (c, cat) = self.ident("string")?;
                if !self.eat_word("handle") {
                    return Err(self.unexpected(Some("handle")));
                }
                let hat = self.pos;
                let Tok::Num(h) = *self.peek() else { return Err(self.unexpected(Some("number"))) };
                self.bump();
                let err_c = self.no_such(cat, "rule");
                let err_h = self.no_such(hat, "rule");
                let table = self.table_of(f, tat, &t, "rule")?;
                let chain = std::rc::Rc::make_mut(table.chains.get_mut(c.as_str()).ok_or(err_c)?);
                let before = chain.rules.len();
                chain.rules.retain(|r| r.handle != h);
                if chain.rules.len() == before && verb == "delete" {
                    return Err(err_h);
                }
                self.end_of_item()
            }
            ("add" | "create", "set" | "map") => {
                let f = self.family()?;
                let (t, tat) = self.ident("string")?;
                let (s, sat) = self.ident("string")?;
                if self.rs.table(f, &t).is_none() {
                    return Err(self.no_such(tat, "rule"));
                }
                if verb == "create" && self.rs.table(f, &t).is_some_and(|x| x.sets.contains_key(&s)) {
                    return Err(self.err(sat, "Could not process rule: File exists"));
                }
                if !self.eat_punct("{") {
                    return Err(self.unexpected(Some("'{'")));
                }
                let set = self.set_body(&s, obj == "map", sat, f, &t)?;
                self.table_of(f, tat, &t, "rule")?.add_set(set);
                self.end_of_item()
            }
            ("delete" | "destroy" | "flush", "set" | "map") => {
                let f = self.family()?;
                let (t, tat) = self.ident("string")?;
                let (s, sat) = self.ident(if verb == "flush" { "string" } else { "handle or string" })?;
                let used = self.rs.table(f, &t).is_some_and(|x| set_referenced(x, &s));
                if self.rs.table(f, &t).is_some_and(|x| !x.sets.contains_key(&s))
                    && matches!(verb, "flush" | "delete")
                {
                    return Err(self.no_such(sat, "rule"));
                }
                let table = self.table_of(f, tat, &t, "rule")?;
                if verb == "flush" {
                    if let Some(set) = table.sets.get_mut(&s) {
                        std::rc::Rc::make_mut(set).elements.clear();
                    }
                } else if table.sets.contains_key(&s) {
                    if used {
                        return Err(self.err(sat, "Could not process rule: Device or resource busy"));
                    }
                    table.sets.shift_remove(&s);
                }
                self.end_of_item()
            }
            ("add" | "create" | "delete" | "destroy", "element") => {
                let f = self.family()?;
                let (t, tat) = self.ident("string")?;
                let (s, sat) = self.ident("string")?;
                let (key, data, interval) = match self.rs.table(f, &t) {
                    None => return Err(self.no_such(tat, "rule")),
                    Some(table) => match table.sets.get(&s) {
                        None => return Err(self.no_such(sat, "rule")),
                        Some(set) => (set.key.clone(), set.data, set.flags.interval),
                    },
                };
                if !self.eat_punct("{") {
                    return Err(self.unexpected(Some("'{'")));
                }
                let del = matches!(verb, "delete" | "destroy");
                let elems = self.elements(&key, if del { None } else { data }, interval, f, &t)?;
                if interval && !del {
                    let old = self.rs.table(f, &t).and_then(|x| x.sets.get(&s));
                    self.interval_conflicts(old.map(|set| &set.elements), &elems, (f, &t, &s))?;
                    for (e, span) in &elems {
                        if let Some((lo, hi)) = interval_bounds(e) {
                            self.added_intervals.push(AddedInterval {
                                family: f,
                                table: t.clone(),
                                set: s.clone(),
                                lo: lo.clone(),
                                hi: hi.clone(),
                                span: *span,
                            });
                        }
                    }
                }
                let table = self.table_of(f, tat, &t, "rule")?;
                let Some(target) = table.sets.get_mut(&s).map(std::rc::Rc::make_mut) else {
                    return Err(self.no_such(sat, "rule"));
                };
                for (e, (eat, _)) in elems {
                    if del {
                        if !target.elements.remove(&e.key) && verb == "delete" {
                            return Err(self.no_such(eat, "rule"));
                        }
                    } else {
                        target.elements.insert(e);
                    }
                }
                self.end_of_item()
            }
            // Stateful objects nft accepts, which netsim does not model.
            (_, "counter" | "quota" | "limit" | "synproxy" | "secmark" | "flowtable") => {
                Err(self.unmodelled(at, obj))
            }
            (_, "ct") if let Tok::Word(o @ ("helper" | "timeout" | "expectation")) = *self.peek() => {
                let what = format!("ct {o}");
                Err(self.err_span(at, at + 1, self.unmodelled(at, &what).message))
            }
            _ => {
                self.pos = at;
                Err(self.unexpected(None))
            }
        }
    }

    /// The chain a declaration of `name` builds on: a chain declared again keeps its hook, so
    /// `{ policy drop; }` alone changes the policy of an existing base chain.
    fn declared_chain(&self, f: Family, table: &str, name: &str) -> Chain {
        let mut chain = Chain::new(name);
        if let Some(old) = self.rs.table(f, table).and_then(|x| x.chains.get(name)) {
            chain.base = old.base;
            chain.devices.clone_from(&old.devices);
        }
        chain
    }

    /// `table [family] NAME [{ ... }]` (after `table`).
    fn table_cmd(&mut self, create: bool) -> R<()> {
        let f = self.family()?;
        let (name, at) = self.ident("string")?;
        if create && self.rs.table(f, &name).is_some() {
            return Err(self.err(at, "Could not process rule: File exists"));
        }
        self.rs.add_table(f, &name);
        if !self.eat_punct("{") {
            return self.end_of_item();
        }
        self.depth += 1;
        // Chains and sets first, then the rules (nft's order for a block).
        let mut rules: Vec<(String, Rule)> = Vec::new();
        let mut sets: Vec<Set> = Vec::new();
        loop {
            self.skip_separators();
            let iat = self.pos;
            match *self.peek() {
                Tok::Punct("}") => {
                    self.bump();
                    self.depth -= 1;
                    break;
                }
                Tok::Word("flags") => {
                    self.bump();
                    loop {
                        let (fl, fat) = self.name()?;
                        match fl.as_str() {
                            "dormant" => self.table_of(f, at, &name, "rule")?.flags.dormant = true,
                            _ => return Err(self.err(fat, format!("unknown table option {fl}"))),
                        }
                        if !self.eat_punct(",") {
                            break;
                        }
                    }
                    self.end_of_item()?;
                }
                Tok::Word("comment") => {
                    self.bump();
                    let c = self.string()?;
                    self.table_of(f, at, &name, "rule")?.comment = Some(c);
                    self.end_of_item()?;
                }
                Tok::Word("chain") => {
                    self.bump();
                    let (c, cat) = self.ident("string")?;
                    let mut chain = self.declared_chain(f, &name, &c);
                    let mut crules = Vec::new();
                    if !self.eat_punct("{") {
                        return Err(self.unexpected(Some("'{'")));
                    }
                    self.chain_body(f, &name, &mut chain, &mut crules, ChainAt::Block(cat))?;
                    self.table_of(f, at, &name, "rule")?.add_chain(chain);
                    rules.extend(crules.into_iter().map(|r| (c.clone(), r)));
                    self.end_of_item()?;
                }
                Tok::Word(w) if w == "set" || w == "map" => {
                    self.bump();
                    let (s, sat) = self.ident("string")?;
                    if !self.eat_punct("{") {
                        return Err(self.unexpected(Some("'{'")));
                    }
                    let set = self.set_body(&s, w == "map", sat, f, &name)?;
                    sets.push(set);
                    self.end_of_item()?;
                }
                Tok::Word(w)
                    if UNMODELLED.contains(&w) || matches!(w, "flowtable" | "counter" | "secmark") =>
                {
                    return Err(self.unmodelled(iat, w));
                }
                // Stateful conntrack objects (firewalld declares `ct helper`s).
                Tok::Word("ct")
                    if let Tok::Word(o @ ("helper" | "timeout" | "expectation")) = *self.peek_at(1) =>
                {
                    let what = format!("ct {o}");
                    return Err(self.err_span(iat, iat + 1, self.unmodelled(iat, &what).message));
                }
                _ => return Err(self.unexpected(None)),
            }
        }
        let table = self.table_of(f, at, &name, "rule")?;
        for set in sets {
            table.add_set(set);
        }
        let chains: Vec<String> = rules.iter().map(|(c, _)| c.clone()).collect();
        for (c, r) in rules {
            table.add_rule(&c, r, None);
        }
        for c in chains {
            self.note_added(f, Cow::Owned(name.clone()), Cow::Owned(c));
        }
        self.end_of_item()
    }

    fn string(&mut self) -> R<String> {
        match *self.peek() {
            Tok::Str(s) => {
                self.bump();
                Ok(s.to_string())
            }
            _ => Err(self.unexpected(Some("quoted string"))),
        }
    }

    fn number(&mut self) -> R<u64> {
        match *self.peek() {
            Tok::Num(n) => {
                self.bump();
                Ok(n)
            }
            _ => Err(self.unexpected(Some("number"))),
        }
    }

    /// The inside of `chain NAME { ... }` (after `{`, through `}`).
    fn chain_body(
        &mut self,
        f: Family,
        table: &str,
        chain: &mut Chain,
        rules: &mut Vec<Rule>,
        at: ChainAt,
    ) -> R<()> {
        self.depth += 1;
        let body = self.chain_items(f, table, chain, rules, at);
        self.depth -= 1;
        body
    }

    /// The position of the `}` that closes the `open` blocks already open at `from` and any
    /// opened after it, or of the end of the file.
    fn closing_brace(&self, from: usize, open: i32) -> usize {
        let mut depth = open;
        for (i, t) in self.toks.iter().enumerate().skip(from) {
            match t.tok {
                Tok::Punct("{") => depth += 1,
                Tok::Punct("}") => {
                    depth -= 1;
                    if depth == 0 {
                        return i;
                    }
                }
                Tok::Eof => return i,
                _ => {}
            }
        }
        self.toks.len().saturating_sub(1)
    }

    /// The kernel's refusal of a base chain: nft places it on the whole `add chain` command,
    /// or on the chain's name in a table block.
    fn chain_refused(&self, at: ChainAt, why: &str) -> NftError {
        let msg = format!("Could not process rule: {why}");
        match at {
            ChainAt::Command(start) => {
                let mut close = self.closing_brace(self.pos, 1);
                // The command's location runs through the newline or semicolon that ends it.
                if matches!(self.toks.get(close + 1).map(|t| t.tok), Some(Tok::Newline | Tok::Punct(";"))) {
                    close += 1;
                }
                self.err_span(start, close, msg)
            }
            ChainAt::Block(name) => self.err(name, msg),
        }
    }

    fn chain_items(
        &mut self,
        f: Family,
        table: &str,
        chain: &mut Chain,
        rules: &mut Vec<Rule>,
        at: ChainAt,
    ) -> R<()> {
        loop {
            self.skip_separators();
            match *self.peek() {
                Tok::Punct("}") => {
                    self.bump();
                    return Ok(());
                }
                Tok::Word("type") => {
                    self.bump();
                    let (ty, tyat) = self.name()?;
                    let kind = match ty.as_str() {
                        "filter" => ChainType::Filter,
                        "nat" => ChainType::Nat,
                        "route" => ChainType::Route,
                        _ => return Err(self.err(tyat, "unknown chain type")),
                    };
                    if !self.eat_word("hook") {
                        return Err(self.unexpected(Some("hook")));
                    }
                    let (h, hat) = self.name()?;
                    let Some(hook) = ChainHook::parse(&h) else {
                        return Err(self.err(hat, "unknown chain hook"));
                    };
                    if !hook.in_family(f) {
                        return Err(
                            self.err(hat, format!("The {} family does not support this hook", f.name()))
                        );
                    }
                    if f == Family::Inet && hook == ChainHook::Ingress {
                        return Err(self.unmodelled(hat, "inet ingress"));
                    }
                    let devices = self.chain_devices(f)?;
                    let pat = self.pos;
                    if !self.eat_word("priority") {
                        return Err(self.unexpected(Some("priority")));
                    }
                    let priority = self.priority(f, hook, pat)?;
                    // nft's evaluation, after its parser has read the whole line.
                    if f == Family::Netdev && devices.is_none() {
                        let declared = (tyat - 1, self.pos - 1);
                        self.end_of_item()?;
                        return Err(self.err_span(
                            declared.0,
                            declared.1,
                            "Missing `device' in this chain definition",
                        ));
                    }
                    // The kernel's refusals: only the IP families have nat and route chains
                    // (ENOENT: no such chain type), arp registers no forward hook.
                    let valid = match kind {
                        _ if f == Family::Arp && hook == ChainHook::Forward => false,
                        ChainType::Filter => true,
                        _ if !f.evaluated() => return Err(self.no_such(tyat, "rule")),
                        ChainType::Nat => hook != ChainHook::Forward,
                        ChainType::Route => hook == ChainHook::Output,
                    };
                    if !valid {
                        return Err(self.chain_refused(at, "Operation not supported"));
                    }
                    if let Some(mut d) = devices {
                        d.sort();
                        if d.windows(2).any(|w| w[0] == w[1]) {
                            return Err(self.chain_refused(at, "File exists"));
                        }
                        chain.devices = d;
                    }
                    let policy = chain.base.map_or(Policy::Accept, |b| b.policy);
                    chain.base = Some(BaseChain { kind, hook, priority, policy });
                    self.end_of_item()?;
                }
                Tok::Word("policy") => {
                    let pat = self.bump();
                    let policy = match self.peek() {
                        Tok::Word("accept") => Policy::Accept,
                        Tok::Word("drop") => Policy::Drop,
                        _ => return Err(self.unexpected(Some("accept or drop or '$'"))),
                    };
                    let vat = self.bump();
                    match chain.base.as_mut() {
                        Some(b) => b.policy = policy,
                        None => {
                            return Err(self.err_span(
                                pat,
                                vat,
                                "Could not process rule: Operation not supported",
                            ));
                        }
                    }
                    self.end_of_item()?;
                }
                Tok::Word(w)
                    if w == "comment" && matches!(self.peek_at(1), Tok::Str(_)) && self.comment_alone() =>
                {
                    self.bump();
                    chain.comment = Some(self.string()?);
                    self.end_of_item()?;
                }
                Tok::Word(w) if w == "device" || w == "flags" => return Err(self.unmodelled(self.pos, w)),
                Tok::Eof => return Err(self.unexpected(None)),
                _ => {
                    let r = self.rule(f, table)?;
                    rules.push(r);
                    if matches!(self.peek(), Tok::Eof) {
                        return Err(self.unexpected(Some("newline or semicolon")));
                    }
                    self.end_of_item()?;
                }
            }
        }
    }

    /// True if `comment "x"` is a whole item (a chain comment, not a rule's).
    fn comment_alone(&self) -> bool {
        matches!(self.peek_at(2), Tok::Newline | Tok::Punct(";") | Tok::Punct("}") | Tok::Eof)
    }

    /// A raw transport-header match as nft lists merged `th` ports: `@th,0,32 [!=] V` (both
    /// ports), `@th,0,16` (`th sport`), `@th,16,16` (`th dport`). Other raw loads are named as
    /// not evaluated.
    fn raw_th_match(&mut self) -> R<Stmt> {
        let at = self.bump();
        let (base, _) = self.name()?;
        let mut bits = [0u64; 2];
        for b in &mut bits {
            if !self.eat_punct(",") {
                return Err(self.unexpected(Some("comma")));
            }
            *b = self.number()?;
        }
        let fields: &[Payload] = match (base.as_ref(), bits) {
            ("th", [0, 32]) => &[Payload::ThSport, Payload::ThDport],
            ("th", [0, 16]) => &[Payload::ThSport],
            ("th", [16, 16]) => &[Payload::ThDport],
            _ => return Err(self.unmodelled(at, &format!("raw payload @{base},{},{}", bits[0], bits[1]))),
        };
        let op = if self.eat_punct("!=") {
            RelOp::Ne
        } else {
            self.eat_punct("==");
            RelOp::Implicit
        };
        let vat = self.pos;
        let v = self.number()?;
        if fields.len() == 1 {
            let port = u16::try_from(v)
                .map_err(|_| self.err(vat, format!("Value {v} exceeds valid range 0-65535")))?;
            return Ok(Stmt::Match {
                left: Expr::Payload(fields[0]),
                op,
                right: Rhs::Value(Value::Port(port)),
            });
        }
        let v = u32::try_from(v)
            .map_err(|_| self.err(vat, format!("Value {v} exceeds valid range 0-4294967295")))?;
        let ports = [(v >> 16) as u16, v as u16];
        Ok(Stmt::Merged {
            fields: fields.iter().zip(ports).map(|(p, port)| (*p, Value::Port(port))).collect(),
            ne: op == RelOp::Ne,
        })
    }

    /// `limit rate [over] N/UNIT [burst N packets]` or `limit rate [over] N BYTES/UNIT
    /// [burst N BYTES]` (after `limit`, at `at`), with nft's checks and then the
    /// kernel's (`nft_limit_init`), which nft marks on the whole statement.
    fn limit(&mut self, at: usize) -> R<Stmt> {
        use super::limit::{Limit, LimitRefused, byte_unit, time_unit};
        self.bump();
        if self.is_word("name") {
            return Err(self.unmodelled(at, "limit name"));
        }
        if !self.eat_word("rate") {
            return Err(self.unexpected(Some("name or rate")));
        }
        let over = self.eat_word("over");
        let nat = self.pos;
        let rate = self.number()?;
        let (rate, unit, bytes) = match *self.peek() {
            Tok::Punct("/") => {
                self.bump();
                let unit = match *self.peek() {
                    Tok::Word(w) => time_unit(w),
                    _ => None,
                };
                let Some(unit) = unit else { return Err(self.unexpected(None)) };
                self.bump();
                (rate, unit, false)
            }
            Tok::Word(w) => {
                let wat = self.bump();
                let parsed = w.split_once('/').and_then(|(b, t)| {
                    let per = byte_unit(b)?;
                    Some((rate.checked_mul(per)?, time_unit(t)?))
                });
                let Some((rate, unit)) = parsed else {
                    return Err(self.err_span(nat, wat, "Wrong rate format"));
                };
                (rate, unit, true)
            }
            _ => return Err(self.unexpected(Some("/ or string or bytes"))),
        };
        let mut burst: u64 = 0;
        if self.is_word("burst") {
            let bat = self.bump();
            let nat = self.pos;
            let n = self.number()?;
            if bytes {
                let per = match *self.peek() {
                    Tok::Word(w) if !is_keyword(w) || w == "bytes" => byte_unit(w),
                    _ => return Err(self.unexpected(Some("string or bytes"))),
                };
                let uat = self.bump();
                burst = per
                    .and_then(|p| n.checked_mul(p))
                    .ok_or_else(|| self.err_span(nat, uat, "Wrong rate format"))?;
            } else {
                if !self.is_word("packets") {
                    return Err(self.unexpected(Some("packets")));
                }
                let pat = self.bump();
                if n == 0 {
                    return Err(self.err_span(bat, pat, "packet limit burst must be > 0"));
                }
                burst = n;
            }
        }
        // The kernel's attribute is 32 bits wide.
        Limit::new(rate, unit, burst as u32, bytes, over).map(|l| Stmt::Limit(Box::new(l))).map_err(|e| {
            let why = match e {
                LimitRefused::ZeroRate => "Invalid argument",
                LimitRefused::Overflow => "Value too large for defined data type",
            };
            self.err_span(at, self.pos - 1, format!("Could not process rule: {why}"))
        })
    }

    /// `priority NAME [+|- N]` or `priority [-]N`.
    fn priority(&mut self, f: Family, hook: ChainHook, pat: usize) -> R<i32> {
        let neg = self.eat_punct("-");
        match *self.peek() {
            Tok::Num(n) => {
                self.bump();
                let v = i32::try_from(n).map_err(|_| self.err(pat, "priority out of range"))?;
                Ok(if neg { -v } else { v })
            }
            Tok::Word(w) if !neg => {
                let wat = self.bump();
                let base = std_priority(w, f, hook);
                let mut v = base.unwrap_or(0);
                let mut last = wat;
                if self.is_punct("+") || self.is_punct("-") {
                    let minus = self.is_punct("-");
                    self.bump();
                    last = self.pos;
                    let n = self.number()?;
                    let n = i32::try_from(n).map_err(|_| self.err(pat, "priority out of range"))?;
                    v = if minus { v.saturating_sub(n) } else { v.saturating_add(n) };
                }
                if base.is_none() {
                    return Err(self.err_span(
                        pat,
                        last,
                        "invalid priority expression value in this context.",
                    ));
                }
                Ok(v)
            }
            _ => Err(self.unexpected(Some("number"))),
        }
    }

    /// A base chain's `device NAME` or `devices = { NAME, ... }`, between its hook and its
    /// priority: None if there is none. Only netdev chains are bound to devices (and inet
    /// `ingress` ones, which netsim does not model).
    fn chain_devices(&mut self, f: Family) -> R<Option<Vec<String>>> {
        let at = self.pos;
        let names = if self.eat_word("device") {
            vec![self.device_name()?]
        } else if self.eat_word("devices") {
            if !self.eat_punct("=") {
                return Err(self.unexpected(Some("'='")));
            }
            if !self.eat_punct("{") {
                return Err(self.unexpected(Some("'{'")));
            }
            let mut names = Vec::new();
            loop {
                self.skip_newlines();
                if !matches!(self.peek(), Tok::Word(_) | Tok::Str(_) | Tok::Digits(_) | Tok::Num(_)) {
                    return Err(self.unexpected(Some("string or quoted string or '$'")));
                }
                names.push(self.device_name()?);
                self.skip_newlines();
                if self.eat_punct("}") {
                    break;
                }
                if !self.eat_punct(",") {
                    return Err(self.unexpected(Some("comma or '}'")));
                }
            }
            names
        } else {
            return Ok(None);
        };
        if f != Family::Netdev {
            return Err(self.err_span(at, self.pos - 1, "This chain type cannot be bound to device"));
        }
        Ok(Some(names))
    }

    /// One device name: a word or a quoted string, not empty.
    fn device_name(&mut self) -> R<String> {
        let (name, at) = self.name()?;
        if name.is_empty() {
            return Err(self.err(at, "an empty device name (nft v1.0.6 aborts on one)"));
        }
        Ok(name)
    }

    /// The inside of `set NAME { ... }` (after `{`, through `}`).
    fn set_body(&mut self, name: &str, is_map: bool, at: usize, f: Family, table: &str) -> R<Set> {
        self.depth += 1;
        let body = self.set_items(name, is_map, at, f, table);
        self.depth -= 1;
        body
    }

    fn set_items(&mut self, name: &str, is_map: bool, at: usize, f: Family, table: &str) -> R<Set> {
        let mut set = Set::new(name, Vec::new(), None);
        let mut pending: Option<usize> = None;
        loop {
            self.skip_separators();
            let iat = self.pos;
            let Tok::Word(w) = *self.peek() else {
                if self.eat_punct("}") {
                    break;
                }
                return Err(self.unexpected(None));
            };
            self.bump();
            match w {
                "type" => {
                    loop {
                        let (t, tat) = self.name()?;
                        let dt = DataType::parse(&t)
                            .filter(|d| *d != DataType::Verdict)
                            .ok_or_else(|| self.err(tat, format!("unknown datatype {t}")))?;
                        set.key.push(dt);
                        if !self.eat_punct(".") {
                            break;
                        }
                    }
                    if self.eat_punct(":") {
                        let (t, tat) = self.name()?;
                        let dt = DataType::parse(&t)
                            .ok_or_else(|| self.err(tat, format!("unknown datatype {t}")))?;
                        set.data = Some(dt);
                    }
                    self.end_of_list(".")?;
                }
                "flags" => loop {
                    let (fl, fat) = self.name()?;
                    match fl.as_str() {
                        "constant" => set.flags.constant = true,
                        "interval" => set.flags.interval = true,
                        "timeout" => set.flags.timeout = true,
                        "dynamic" => set.flags.dynamic = true,
                        _ => return Err(self.err(fat, format!("unknown set flag {fl}"))),
                    }
                    if !self.eat_punct(",") {
                        self.end_of_list("comma")?;
                        break;
                    }
                },
                "timeout" => set.timeout_ms = Some(self.time()?),
                "size" => {
                    let n = self.number()?;
                    set.size = Some(u32::try_from(n).map_err(|_| self.err(iat + 1, "size out of range"))?);
                }
                "comment" => set.comment = Some(self.string()?),
                "elements" => {
                    if !self.eat_punct("=") {
                        return Err(self.unexpected(Some("'='")));
                    }
                    pending = Some(self.pos);
                    // Skip to the matching brace; the elements are parsed once the type is known.
                    self.pos = self.closing_brace(self.pos, 0);
                    if matches!(self.peek(), Tok::Eof) {
                        return Err(self.unexpected(None));
                    }
                    self.bump();
                    // `set_block ELEMENTS '=' set_block_expr`: no separator needed after it.
                    continue;
                }
                "typeof" | "counter" | "policy" | "gc-interval" | "auto-merge" => {
                    return Err(self.unmodelled(iat, w));
                }
                _ => {
                    self.pos = iat;
                    return Err(self.unexpected(None));
                }
            }
            self.end_of_item()?;
        }
        if set.key.is_empty() {
            return Err(self.err(at, "set definition does not specify key"));
        }
        if set.key.contains(&DataType::Integer) {
            return Err(self.err(
                at,
                "unqualified type integer specified in set definition. Try \"typeof expression\" instead of \"type datatype\".",
            ));
        }
        if is_map != set.data.is_some() {
            return Err(self.err(
                at,
                if is_map {
                    "map definition does not specify data"
                } else {
                    "set definition specifies data: use map"
                },
            ));
        }
        if let Some(p) = pending {
            let end = self.pos;
            self.pos = p;
            if !self.eat_punct("{") {
                return Err(self.unexpected(Some("'{'")));
            }
            let elems = self.elements(&set.key, set.data, set.flags.interval, f, table)?;
            if set.flags.interval {
                self.interval_conflicts(None, &elems, (f, table, name))?;
            }
            for (e, _) in elems {
                set.elements.insert(e);
            }
            self.pos = end;
        }
        Ok(set)
    }

    fn time(&mut self) -> R<u64> {
        let at = self.pos;
        let text = match *self.peek() {
            Tok::Num(n) => n.to_string(),
            Tok::Digits(d) => d.to_string(),
            _ => return Err(self.unexpected(Some("string"))),
        };
        self.bump();
        parse_time(&text).ok_or_else(|| self.err(at, format!("Wrong time format: {text}")))
    }

    /// `{ elem, ... }` (after `{`, through `}`) with keys of `key` types; `data`: the map's
    /// data type. Each element comes with the token index where it starts.
    fn elements(
        &mut self,
        key: &[DataType],
        data: Option<DataType>,
        interval: bool,
        f: Family,
        table: &str,
    ) -> R<Vec<Spanned>> {
        let mut out = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat_punct("}") {
                return Ok(out);
            }
            let eat = self.pos;
            let mut parts = Vec::new();
            for (i, t) in key.iter().enumerate() {
                if i > 0 && !self.eat_punct(".") {
                    return Err(self.unexpected(Some("'.'")));
                }
                parts.push(self.key_part(*t, interval)?);
            }
            let kend = self.pos.saturating_sub(1);
            let mut e = Element { key: parts, data: None, comment: None, timeout_ms: None, expires: None };
            loop {
                if self.eat_word("timeout") {
                    e.timeout_ms = Some(self.time()?);
                } else if self.is_word("comment") {
                    self.bump();
                    e.comment = Some(self.string()?);
                } else if self.is_word("expires") || self.is_word("counter") {
                    return Err(self.unmodelled(self.pos, "element expires/counter"));
                } else {
                    break;
                }
            }
            if let Some(d) = data {
                if !self.eat_punct(":") {
                    return Err(self.unexpected(Some("colon")));
                }
                e.data = Some(if d == DataType::Verdict {
                    MapData::Verdict(self.verdict(f, table)?)
                } else {
                    let (v, _) = self.value(d)?;
                    MapData::Value(v)
                });
            }
            out.push((e, (eat, kend)));
            self.skip_newlines();
            if !self.eat_punct(",") {
                self.skip_newlines();
                if self.eat_punct("}") {
                    return Ok(out);
                }
                return Err(self.unexpected(Some("comma or '}'")));
            }
        }
    }

    /// nft's check of a named interval set's new elements (`elements`, with their key's
    /// token span) against each other and the set's `old` ones: in start order, an element
    /// that begins inside the one before it is "conflicting intervals specified", marked with
    /// `^` and the one before with `~` (an identical repeat is merged, not refused).
    /// Concatenated keys are left alone.
    fn interval_conflicts(
        &self,
        old: Option<&Elements>,
        elements: &[Spanned],
        (f, table, set): (Family, &str, &str),
    ) -> R<()> {
        if !may_conflict(old, elements) {
            return Ok(());
        }
        let added_at = |lo: &Value, hi: &Value| {
            self.added_intervals
                .iter()
                .find(|a| a.family == f && a.table == table && a.set == set && &a.lo == lo && &a.hi == hi)
                .map(|a| a.span)
        };
        let mut all: Vec<Bounds<'_>> = old
            .into_iter()
            .flat_map(|o| o.iter())
            .filter_map(|e| interval_bounds(e).map(|(lo, hi)| Bounds { lo, hi, span: added_at(lo, hi) }))
            .chain(elements.iter().filter_map(|(e, span)| {
                interval_bounds(e).map(|(lo, hi)| Bounds { lo, hi, span: Some(*span) })
            }))
            .collect();
        all.sort_by(|a, b| a.lo.cmp(b.lo));
        for w in all.windows(2) {
            let [p, c] = w else { continue };
            if (p.lo, p.hi) == (c.lo, c.hi) || c.lo > p.hi {
                continue;
            }
            const MSG: &str = "conflicting intervals specified";
            return Err(match (&c.span, &p.span) {
                (Some((from, to)), Some((pfrom, pto))) => {
                    let e = self.err_span(*from, *to, MSG);
                    self.context(e, *pfrom, *pto)
                }
                (Some((from, to)), None) | (None, Some((from, to))) => self.err_span(*from, *to, MSG),
                (None, None) => continue,
            });
        }
        Ok(())
    }

    /// One field of an element key: a value, `lo-hi`, or `addr/len`.
    fn key_part(&mut self, t: DataType, interval: bool) -> R<KeyPart> {
        let (v, at) = self.value(t)?;
        if self.is_punct("-") {
            self.bump();
            let (hi, hat) = self.value(t)?;
            if !interval {
                return Err(self.err_span(at, hat, NEEDS_INTERVAL_FOR_RANGES));
            }
            if hi < v {
                return Err(self.err_span(at, hat, NEGATIVE_RANGE));
            }
            return Ok(KeyPart::Range(v, hi));
        }
        if let (Some(bits), true) = (v.dtype().addr_bits(), self.is_punct("/")) {
            let len = self.prefix_len(at, bits)?;
            if u32::from(len) == bits {
                return Ok(KeyPart::Single(v));
            }
            if !interval {
                return Err(self.err_span(at, self.pos - 1, NEEDS_INTERVAL_FOR_PREFIXES));
            }
            let Some((lo, hi)) = value_prefix_range(&v, len) else { return Ok(KeyPart::Single(v)) };
            return Ok(KeyPart::Range(lo, hi));
        }
        Ok(KeyPart::Single(v))
    }

    /// `/LEN` after the address that starts at token `at` (the `/` is current), checked
    /// against the type's width as nft checks it.
    fn prefix_len(&mut self, at: usize, bits: u32) -> R<u8> {
        self.bump();
        let len = self.number()?;
        if len > u64::from(bits) {
            return Err(self.err_span(
                at,
                self.pos - 1,
                format!("Prefix length {len} is invalid for type of {bits} bits width"),
            ));
        }
        Ok(len as u8)
    }

    /// A constant of type `t` from the current token (an IPv6 address may be bracketed).
    fn value(&mut self, t: DataType) -> R<(Value, usize)> {
        let at = self.pos;
        let bracketed =
            t == DataType::Ipv6Addr && self.is_punct("[") && matches!(self.peek_at(1), Tok::Addr6(_));
        if bracketed {
            self.bump();
        }
        let text: std::borrow::Cow<'_, str> = match *self.peek() {
            Tok::Word(w) | Tok::Digits(w) => w.into(),
            Tok::Str(s) if t == DataType::Ifname => s.into(),
            Tok::Addr(_) if t == DataType::Ipv6Addr => return Err(self.err(at, ADDRESS_FAMILY)),
            Tok::Addr6(_) if t == DataType::Ipv4Addr => return Err(self.err(at, ADDRESS_FAMILY)),
            // The scanner has parsed these already.
            Tok::Addr(a) if t == DataType::Ipv4Addr && !bracketed => {
                self.bump();
                return Ok((Value::Addr(a), at));
            }
            Tok::Num(n) if t == DataType::InetService => {
                self.bump();
                return match u16::try_from(n) {
                    Ok(p) => Ok((Value::Port(p), at)),
                    Err(_) => Err(self.err(at, "Service out of range")),
                };
            }
            Tok::Num(n) => n.to_string().into(),
            Tok::Addr(a) => a.to_string().into(),
            Tok::Addr6(a) => a.to_string().into(),
            _ => return Err(self.unexpected(None)),
        };
        self.bump();
        if bracketed && !self.eat_punct("]") {
            return Err(self.unexpected(Some("']'")));
        }
        if let Some(max) = self.int_max
            && let Some(n) = plain_integer(&text)
            && n > max
        {
            return Err(self.err(at, format!("Value {n} exceeds valid range 0-{max}")));
        }
        match Value::parse(t, &text) {
            Some(v) => Ok((v, at)),
            None => Err(self.err(
                at,
                match t {
                    DataType::Ipv4Addr | DataType::Ipv6Addr => {
                        "Could not resolve hostname: Name or service not known".to_string()
                    }
                    DataType::InetService => {
                        "Could not resolve service: Servname not supported for ai_socktype".to_string()
                    }
                    DataType::InetProto => "Could not resolve protocol name".to_string(),
                    DataType::CtState => "Could not parse conntrack state".to_string(),
                    DataType::CtStatus => "Could not parse conntrack status".to_string(),
                    DataType::EtherType => "Could not parse Ethernet protocol".to_string(),
                    DataType::PktType => "Could not parse packet type".to_string(),
                    other => format!("Could not parse {}", other.name()),
                },
            )),
        }
    }

    fn verdict(&mut self, f: Family, table: &str) -> R<Verdict> {
        let at = self.pos;
        let Tok::Word(w) = *self.peek() else { return Err(self.unexpected(Some("verdict"))) };
        self.bump();
        Ok(match w {
            "accept" => Verdict::Accept,
            "drop" => Verdict::Drop,
            "continue" => Verdict::Continue,
            "return" => Verdict::Return,
            "jump" | "goto" => {
                let (c, cat) = self.ident("'{'")?;
                self.refs.push(Ref {
                    at: cat,
                    family: f,
                    table: table.to_string(),
                    chain: Some(c.clone()),
                    set: None,
                    dynset: false,
                });
                if w == "jump" { Verdict::Jump(c) } else { Verdict::Goto(c) }
            }
            "queue" => return Err(self.unmodelled(at, "queue")),
            _ => {
                self.pos = at;
                return Err(self.unexpected(Some("verdict")));
            }
        })
    }

    /// `[family] TABLE CHAIN` of a rule command: the chain must exist.
    fn rule_chain(&mut self) -> R<(Family, Cow<'a, str>, usize, Cow<'a, str>)> {
        let f = self.family()?;
        let (t, tat) = self.ident_ref("string")?;
        let (c, cat) = self.ident_ref("string")?;
        if self.rs.table(f, &t).is_none() {
            return Err(self.no_such(tat, "rule"));
        }
        if !self.rs.table(f, &t).is_some_and(|x| x.chains.contains_key(c.as_ref())) {
            return Err(self.no_such(cat, "rule"));
        }
        Ok((f, t, tat, c))
    }

    /// `replace rule [family] TABLE CHAIN handle N STATEMENTS`: the rule with that handle
    /// becomes the new one, in its place and under its handle (as `nft -a list` shows it).
    fn replace_rule(&mut self) -> R<()> {
        let (f, t, tat, c) = self.rule_chain()?;
        if !self.eat_word("handle") {
            return Err(self.unexpected(Some("handle")));
        }
        let hat = self.pos;
        let h = self.number()?;
        let at = self
            .rs
            .table(f, &t)
            .and_then(|x| x.chains.get(c.as_ref()))
            .and_then(|ch| ch.rules.iter().position(|r| r.handle == h));
        let Some(i) = at else { return Err(self.no_such(hat, "rule")) };
        let mut rule = self.rule(f, &t)?;
        rule.handle = h;
        let table = self.table_of(f, tat, &t, "rule")?;
        if let Some(chain) = table.chains.get_mut(c.as_ref())
            && let Some(slot) = std::rc::Rc::make_mut(chain).rules.get_mut(i)
        {
            *slot = rule;
        }
        self.note_added(f, t, c);
        self.end_of_item()
    }

    /// `add|insert rule [family] TABLE CHAIN [handle|position|index N] STATEMENTS`.
    fn rule_cmd(&mut self, insert: bool) -> R<()> {
        let (f, t, tat, c) = self.rule_chain()?;
        let mut index = if insert { Some(0) } else { None };
        if self.is_word("handle") || self.is_word("position") || self.is_word("index") {
            let by_index = self.is_word("index");
            let kat = self.bump();
            let nat = self.pos;
            let n = self.number()?;
            let committed = self.committed.get(&(f, t.to_string())).copied().unwrap_or(0);
            let rules: &[Rule] = self
                .rs
                .table(f, &t)
                .and_then(|x| x.chains.get(c.as_ref()))
                .map_or(&[], |ch| ch.rules.as_slice());
            let found = if by_index {
                usize::try_from(n).ok().filter(|i| *i < rules.len())
            } else {
                rules.iter().position(|r| r.handle == n && r.handle < committed)
            };
            let Some(i) = found else {
                return Err(self.err_span(kat, nat, "Could not process rule: No such file or directory"));
            };
            index = Some(if insert { i } else { i + 1 });
        }
        let rule = self.rule(f, &t)?;
        let table = self.table_of(f, tat, &t, "rule")?;
        table.add_rule(&c, rule, index);
        self.note_added(f, t, c);
        self.end_of_item()
    }

    fn check_refs(&mut self) -> R<()> {
        for r in std::mem::take(&mut self.refs) {
            let table = self.rs.table(r.family, &r.table);
            if let Some(c) = &r.chain
                && !table.is_some_and(|t| t.chains.contains_key(c.as_str()))
            {
                return Err(self.no_such(r.at, "rule"));
            }
            if let Some(s) = &r.set
                && !table.is_some_and(|t| t.sets.contains_key(s))
            {
                return Err(self.err_span(r.at, r.at + 1, "No such file or directory"));
            }
            if r.dynset
                && let Some(s) = &r.set
                && let Some(t) = self.rs.table_mut(r.family, &r.table)
                && let Some(set) = t.sets.get_mut(s)
                && set.size.is_none()
            {
                // `nft_dynset_init`: a set the packet path fills gets the default size.
                std::rc::Rc::make_mut(set).size = Some(65535);
            }
        }
        Ok(())
    }

    /// One rule's statements, up to (not including) a newline, `;`, `}` or EOF.
    /// Records that the next parsed rule was added to `chain`.
    fn note_added(&mut self, f: Family, table: Cow<'a, str>, chain: Cow<'a, str>) {
        if let Some(span) = self.spans.pop_front() {
            self.added.push(Added { family: f, table, chain, span });
        }
    }

    /// The kernel's check of a transaction (`nft_chain_validate`): no chain reachable from a
    /// base chain may reach itself or nest deeper than 16 jumps (EMLINK), nor hold a NAT
    /// statement that base chain cannot run (EOPNOTSUPP). The error names the last rule this
    /// transaction added on the offending path.
    fn validate(&self) -> R<()> {
        for t in &self.rs.tables {
            // Every chain once per allowance (a chain reached from many, such as the target
            // of every service's jump, is not walked again per path or per base chain); the
            // path to a problem is found by the walk that follows every path, only when there
            // is one.
            let mut marks: Vec<(Allowance, Vec<Mark>)> = Vec::new();
            for (ci, c) in t.chains.values().enumerate() {
                let Some(base) = c.base else { continue };
                let class = allowance(&base);
                let at = match marks.iter().position(|(a, _)| *a == class) {
                    Some(i) => i,
                    None => {
                        marks.push((class, vec![Mark::New; t.chains.len()]));
                        marks.len() - 1
                    }
                };
                if let Some((_, m)) = marks.get_mut(at)
                    && reach_is_valid(t, ci, class, m)
                {
                    continue;
                }
                // The check found a problem: the walk names it (were it to find none, the
                // marks this check left are not trusted again).
                if let Some((_, m)) = marks.get_mut(at) {
                    m.fill(Mark::New);
                }
                let mut path = vec![ci];
                if let Err(problem) = validate(t, &mut path, class) {
                    let on_path: Vec<&str> =
                        path.iter().filter_map(|i| t.chains.get_index(*i)).map(|(n, _)| &**n).collect();
                    let culprit = self.added.iter().rev().find(|a| {
                        a.family == t.family
                            && a.table == t.name.as_str()
                            && on_path.contains(&a.chain.as_ref())
                    });
                    let (from, to) = culprit.map_or((self.pos, self.pos), |a| a.span);
                    let msg = match problem {
                        Problem::Loop => "Could not process rule: Too many links",
                        Problem::Nat => "Could not process rule: Operation not supported",
                    };
                    return Err(self.err_span(from, to, msg));
                }
            }
        }
        Ok(())
    }

    /// Notes that the rule being parsed said transport protocol `x` ([`Self::rule_l4`]).
    fn say_protocol(&mut self, x: u8) {
        if !self.rule_l4.contains(&x) {
            self.rule_l4.push(x);
        }
    }

    fn rule(&mut self, f: Family, table: &str) -> R<Rule> {
        let mut stmts: Vec<Stmt> = Vec::new();
        let mut comment = None;
        let start = self.pos;
        self.rule_l3 = (!f.carries_both()).then_some(f);
        self.rule_family = f;
        self.rule_l3_at = None;
        self.rule_l4.clear();
        self.stmt_spans.clear();
        while !matches!(self.peek(), Tok::Newline | Tok::Punct(";") | Tok::Punct("}") | Tok::Eof) {
            if self.is_word("comment") {
                self.bump();
                comment = Some(self.string()?);
                continue;
            }
            let sat = self.pos;
            let s = self.stmt(f, table, &stmts)?;
            match protocol_rhs(&s) {
                Some(Rhs::Value(Value::Proto(x))) => self.say_protocol(*x),
                // `meta l4proto { tcp, udp }`: each element, in protocol order.
                Some(Rhs::Set(SetRef::Anon(set))) => {
                    let from = self.rule_l4.len();
                    for e in set.elements.iter() {
                        if let [KeyPart::Single(Value::Proto(x))] = e.key.as_slice() {
                            self.say_protocol(*x);
                        }
                    }
                    self.rule_l4[from..].sort_unstable();
                }
                _ => {}
            }
            // In a bridge or netdev table `meta protocol ip6` says which network protocol
            // the rule is about: a later `ip` field conflicts with it.
            if matches!(f, Family::Bridge | Family::Netdev)
                && self.rule_l3.is_none()
                && let Stmt::Match {
                    left: Expr::Meta(MetaKey::Protocol),
                    op: RelOp::Implicit | RelOp::Eq,
                    right: Rhs::Value(Value::EtherType(t)),
                } = &s
            {
                self.rule_l3 = ethertype_family(*t);
            }
            self.stmt_spans.push((sat, self.pos.saturating_sub(1)));
            stmts.push(s);
        }
        if stmts.is_empty() && comment.is_none() {
            return Err(self.err(start, "syntax error, unexpected newline"));
        }
        self.spans.push_back((start, self.pos.saturating_sub(1)));
        Ok(Rule { handle: 0, stmts: canonical(stmts, f), comment })
    }

    fn stmt(&mut self, f: Family, table: &str, before: &[Stmt]) -> R<Stmt> {
        let at = self.pos;
        if self.is_punct("@") {
            return self.match_stmt(f, table);
        }
        let Tok::Word(w) = *self.peek() else { return Err(self.unexpected(None)) };
        match w {
            "accept" | "drop" | "continue" | "return" | "jump" | "goto" => {
                Ok(Stmt::Verdict(self.verdict(f, table)?))
            }
            "queue" => Err(self.unmodelled(at, "queue")),
            "limit" => self.limit(at),
            "counter" => {
                self.bump();
                if self.is_word("name") {
                    // A reference to a named counter object (`counter foo { }` in the table).
                    return Err(self.unmodelled(at, "counter name"));
                }
                let (mut packets, mut bytes) = (0, 0);
                if self.eat_word("packets") {
                    packets = self.number()?;
                    if !self.eat_word("bytes") {
                        return Err(self.unexpected(Some("bytes")));
                    }
                    bytes = self.number()?;
                }
                Ok(Stmt::Counter { packets, bytes })
            }
            "log" => {
                self.bump();
                let mut prefix = None;
                loop {
                    if self.eat_word("prefix") {
                        prefix = Some(self.string()?);
                    } else if let Tok::Word(o) = *self.peek()
                        && matches!(o, "level" | "flags" | "group" | "snaplen" | "queue-threshold")
                    {
                        return Err(self.unmodelled(self.pos, &format!("log {o}")));
                    } else {
                        break;
                    }
                }
                Ok(Stmt::Log { prefix })
            }
            "notrack" => {
                self.bump();
                Ok(Stmt::Notrack)
            }
            "reject" => {
                self.bump();
                if f == Family::Arp {
                    return Err(self.err(at, "cannot use reject with arp"));
                }
                // The packet family the rule is about so far: the table's, or in inet what its
                // `ip`/`ip6` fields or `meta nfproto` said.
                let nfproto = before.iter().rposition(|s| nfproto_of(s).is_some());
                let l3 = self.rule_l3.or_else(|| nfproto.and_then(|i| nfproto_of(&before[i])));
                // Where that was said, which nft marks under a conflict: the field, the
                // `meta nfproto` match, or (the table's family) the statement itself.
                let (l3_from, l3_to) = match (self.rule_l3_at, nfproto.and_then(|i| self.stmt_spans.get(i))) {
                    (Some(span), _) if f.carries_both() => span,
                    (_, Some(&span)) if f.carries_both() && self.rule_l3.is_none() => span,
                    _ => (at, at),
                };
                if !self.eat_word("with") {
                    return Ok(Stmt::Reject(match l3 {
                        Some(Family::Ip) if f.carries_both() => Reject::Icmp(ICMP_PORT_UNREACHABLE),
                        Some(Family::Ip6) if f.carries_both() => Reject::Icmpv6(ICMPV6_PORT_UNREACHABLE),
                        _ => Reject::Default,
                    }));
                }
                let kind = match *self.peek() {
                    Tok::Word(k @ ("tcp" | "icmp" | "icmpv6" | "icmpx")) => {
                        self.bump();
                        k
                    }
                    _ => return Err(self.unexpected(Some("icmp or icmpv6 or tcp or icmpx"))),
                };
                if kind == "tcp" {
                    if !self.eat_word("reset") {
                        return Err(self.unexpected(Some("reset")));
                    }
                    // A TCP reset needs a TCP packet: nft adds `meta l4proto tcp` unless
                    // the rule already says so, and refuses a rule that says otherwise,
                    // marking the match that does.
                    let last = before.iter().rposition(|s| protocol_match(s).is_some());
                    if let Some(i) = last
                        && let Some((false, whole)) = before.get(i).and_then(protocol_match)
                        && let Some(&(from, to)) = self.stmt_spans.get(i)
                    {
                        let e = self.err(at, "you cannot use tcp reset with this protocol");
                        return Err(self.context(e, from, if whole { to } else { from + 1 }));
                    }
                    return Ok(Stmt::Reject(Reject::TcpReset));
                }
                self.eat_word("type");
                let cat = self.pos;
                let codes: &[(&str, u8)] = match kind {
                    "icmp" => &ICMP_CODES,
                    "icmpv6" => &ICMPV6_CODES,
                    _ => &ICMPX_CODES,
                };
                // A name of the kind's table, or a number (nft keeps its low byte).
                let code = match *self.peek() {
                    Tok::Num(n) => Some((n & 0xff) as u8),
                    Tok::Word(w) => codes.iter().find(|(name, _)| *name == w).map(|(_, c)| *c),
                    _ => None,
                };
                let Some(code) = code else {
                    return Err(self.err(cat, format!("Could not parse {kind} code")));
                };
                self.bump();
                // evaluate.c's family checks, then the kernel's and its own range checks.
                let net = if kind == "icmpv6" { Family::Ip6 } else { Family::Ip };
                if kind == "icmpx" && !f.carries_both() {
                    let e = self.err(cat, "abstracted ICMP unreachable not supported");
                    return Err(self.context(e, at, at));
                }
                let have = if f.carries_both() { l3 } else { Some(f) };
                if kind != "icmpx" && have.is_some_and(|h| h != net) {
                    let e = self.err(cat, "conflicting protocols specified: ip vs ip6");
                    return Err(self.context(e, l3_from, l3_to));
                }
                let einval = "Could not process rule: Invalid argument";
                let r = match kind {
                    "icmpx" if code > 3 => return Err(self.err(at, einval)),
                    "icmpx" if code == ICMPX_PORT_UNREACHABLE => Reject::Default,
                    "icmpx" => Reject::Icmpx(code),
                    _ if f.carries_both() && code >= 254 => {
                        return Err(self.err(at, "missing icmp error type"));
                    }
                    _ if code == 255 => return Err(self.err(at, einval)),
                    "icmp" if f == Family::Ip && code == ICMP_PORT_UNREACHABLE => Reject::Default,
                    "icmp" => Reject::Icmp(code),
                    _ if f == Family::Ip6 && code == ICMPV6_PORT_UNREACHABLE => Reject::Default,
                    _ => Reject::Icmpv6(code),
                };
                Ok(Stmt::Reject(r))
            }
            "dnat" | "snat" | "masquerade" if !f.evaluated() => {
                Err(self.err(at, "NAT is only supported for IPv4/IPv6"))
            }
            "dnat" | "snat" => {
                self.bump();
                // `dnat ip to` / `dnat ip6 to`: required in inet tables, else the table's own.
                let named = if self.eat_word("ip") {
                    Some(Family::Ip)
                } else if self.eat_word("ip6") {
                    Some(Family::Ip6)
                } else {
                    None
                };
                let nat_family = match (f, named) {
                    (Family::Inet, Some(n)) => n,
                    (Family::Inet, None) => {
                        return Err(self.err(at, "ip or ip6 must be specified with address for inet tables."));
                    }
                    (t, Some(n)) if n != t => {
                        return Err(self.err(
                            at,
                            format!(
                                "conflicting protocols specified: {} vs. {}. You must specify ip or ip6 family in nat statement",
                                t.name(),
                                n.name()
                            ),
                        ));
                    }
                    (t, _) => t,
                };
                if !self.eat_word("to") {
                    return Err(self.unexpected(Some("to")));
                }
                let aat = self.pos;
                // `dnat to ip daddr map @m`, `dnat to numgen ... map { ... }`: an address an
                // expression computes.
                if let Tok::Word(x) = *self.peek()
                    && matches!(
                        x,
                        "ip" | "ip6" | "meta" | "ct" | "numgen" | "jhash" | "symhash" | "tcp" | "udp" | "th"
                    )
                {
                    return Err(self.unmodelled(at, &format!("{w} to an expression")));
                }
                let addr = if nat_family == Family::Ip6 {
                    let bracketed = self.is_punct("[");
                    let (v, _) = self.value(DataType::Ipv6Addr)?;
                    let Value::Addr6(a) = v else { return Err(self.err(aat, "bad address")) };
                    // Without brackets a port would have been read into the address.
                    if !bracketed && self.is_punct(":") {
                        return Err(self.unexpected(None));
                    }
                    IpAddr::V6(a)
                } else {
                    let (v, _) = self.value(DataType::Ipv4Addr)?;
                    let Value::Addr(a) = v else { return Err(self.err(aat, "bad address")) };
                    IpAddr::V4(a)
                };
                let ports = self.nat_ports(before, at)?;
                let flags = self.nat_flags()?;
                let kind = if w == "dnat" { NatKind::Dnat } else { NatKind::Snat };
                Ok(Stmt::Nat { kind, addr, inet: f == Family::Inet, ports, flags })
            }
            "masquerade" => {
                self.bump();
                let mut ports = None;
                if self.eat_word("to") {
                    if !self.is_punct(":") {
                        return Err(self.unexpected(Some("colon")));
                    }
                    ports = self.nat_ports(before, at)?;
                }
                let flags = self.nat_flags()?;
                Ok(Stmt::Masquerade { ports, flags })
            }
            "add" | "update" => {
                self.bump();
                if !self.eat_punct("@") {
                    return Err(self.unexpected(Some("'@'")));
                }
                let (set, sat) = self.ident("string")?;
                self.refs.push(Ref {
                    at: sat - 1,
                    family: f,
                    table: table.to_string(),
                    chain: None,
                    set: Some(set.clone()),
                    dynset: true,
                });
                if !self.eat_punct("{") {
                    return Err(self.unexpected(Some("'{'")));
                }
                let key = self.expr()?;
                let mut timeout_ms = None;
                if self.eat_word("timeout") {
                    timeout_ms = Some(self.time()?);
                }
                if !self.eat_punct("}") {
                    return Err(self.unexpected(Some("'}'")));
                }
                let op = if w == "add" { SetOp::Add } else { SetOp::Update };
                Ok(Stmt::SetUpdate { op, set, key, timeout_ms })
            }
            x if UNMODELLED.contains(&x) && x != "arp" => Err(self.unmodelled(at, x)),
            _ => self.match_stmt(f, table),
        }
    }

    /// `:PORT[-PORT]` after a NAT address (only after a transport protocol match, as nft
    /// requires).
    fn nat_ports(&mut self, before: &[Stmt], stmt_at: usize) -> R<Option<(u16, u16)>> {
        if !self.is_punct(":") {
            return Ok(None);
        }
        let cat = self.bump();
        let lo = self.number()?;
        let mut hi = lo;
        if self.eat_punct("-") {
            hi = self.number()?;
        }
        let l4 = before.iter().any(|s| match s {
            Stmt::Match {
                left: Expr::Meta(MetaKey::L4proto) | Expr::Payload(Payload::IpProtocol), ..
            } => true,
            Stmt::Match { left: Expr::Payload(p), .. } => p.protocol().is_some(),
            _ => false,
        });
        if !l4 {
            let e = self.err_span(
                cat + 1,
                self.pos - 1,
                "transport protocol mapping is only valid after transport protocol match",
            );
            return Err(self.context(e, stmt_at, stmt_at));
        }
        let lo = u16::try_from(lo).map_err(|_| self.err(cat + 1, "port out of range"))?;
        let hi = u16::try_from(hi).map_err(|_| self.err(cat + 1, "port out of range"))?;
        Ok(Some((lo, hi)))
    }

    fn nat_flags(&mut self) -> R<NatFlags> {
        let mut fl = NatFlags::default();
        loop {
            if self.eat_word("random") {
                fl.random = true;
            } else if self.eat_word("fully-random") {
                fl.fully_random = true;
            } else if self.eat_word("persistent") {
                fl.persistent = true;
            } else {
                return Ok(fl);
            }
            self.eat_punct(",");
        }
    }

    /// `EXPR vmap MAP`, `EXPR [op] RHS`, `meta mark set EXPR`, `ct mark set EXPR`.
    fn match_stmt(&mut self, f: Family, table: &str) -> R<Stmt> {
        let lat = self.pos;
        if self.is_punct("@") {
            return self.raw_th_match();
        }
        let left = self.expr()?;
        if self.is_word("set") {
            let sat = self.bump();
            self.int_max = integer_max(&left);
            let value = self.set_value(&left);
            self.int_max = None;
            let value = value?;
            return match left {
                Expr::Meta(MetaKey::Mark) => Ok(Stmt::MetaMarkSet(value)),
                Expr::Ct(CtKey::Mark) => Ok(Stmt::CtMarkSet(value)),
                other => Err(self.unmodelled(sat, &format!("{other} set"))),
            };
        }
        if self.eat_word("vmap") {
            let map = self.set_ref(&left.dtypes(), Some(DataType::Verdict), f, table)?;
            return Ok(Stmt::Vmap { key: left, map });
        }
        if left == Expr::Meta(MetaKey::Nfproto) && f != Family::Inet {
            return Err(self.err_span(lat, lat + 1, "meta nfproto is only useful in the inet family"));
        }
        let op = match self.peek() {
            Tok::Punct("!=") => RelOp::Ne,
            Tok::Punct("==") => RelOp::Eq,
            Tok::Punct("<") => RelOp::Lt,
            Tok::Punct(">") => RelOp::Gt,
            Tok::Punct("<=") => RelOp::Le,
            Tok::Punct(">=") => RelOp::Ge,
            _ => RelOp::Implicit,
        };
        if op != RelOp::Implicit {
            self.bump();
        }
        if matches!(self.peek(), Tok::Newline | Tok::Punct(";") | Tok::Punct("}") | Tok::Eof) {
            return Err(self.unexpected(None));
        }
        let types = left.dtypes();
        self.int_max = integer_max(&left);
        let right = self.match_rhs(f, table, &left, op, &types);
        self.int_max = None;
        let right = match right? {
            Ok(right) => right,
            Err(stmt) => return Ok(stmt),
        };
        Ok(Stmt::Match { left, op, right })
    }

    /// The right-hand side of `left op ...`, or (`Err`) the whole statement when the
    /// comparison became another one (`tcp flags syn / syn,ack`).
    fn match_rhs(
        &mut self,
        f: Family,
        table: &str,
        left: &Expr,
        op: RelOp,
        types: &[DataType],
    ) -> R<Result<Rhs, Stmt>> {
        Ok(Ok(if self.is_punct("@") || self.is_punct("{") {
            Rhs::Set(self.set_ref(types, None, f, table)?)
        } else {
            if types.len() != 1 {
                return Err(self.err(self.pos, "a concatenation compares with a set only"));
            }
            let t = types[0];
            if t.is_bitmask() {
                let v = self.flags_value(t, ",")?;
                if !self.eat_punct("/") {
                    return Ok(Ok(Rhs::Value(v)));
                }
                // `tcp flags syn / syn,ack`: the flags under the mask are exactly these.
                let mask = self.flags_value(t, ",")?;
                let left = Expr::Binop { left: Box::new(left.clone()), op: BinOp::And, right: mask.bits() };
                let op = if op == RelOp::Ne { RelOp::Ne } else { RelOp::Eq };
                return Ok(Err(Stmt::Match { left, op, right: Rhs::Value(v) }));
            }
            let (v, vat) = self.value(t)?;
            if matches!(left, Expr::Meta(MetaKey::Iif | MetaKey::Oif))
                && let Value::Ifname(name) = &v
                && self.interfaces.is_some_and(|known| !known.iter().any(|i| i == name))
            {
                return Err(self.err(vat, "Interface does not exist"));
            }
            if self.is_punct("-") {
                self.bump();
                let (hi, hat) = self.value(t)?;
                if hi < v {
                    return Err(self.err_span(vat, hat, NEGATIVE_RANGE));
                }
                Rhs::Range(v, hi)
            } else if let (Some(bits), true) = (v.dtype().addr_bits(), self.is_punct("/")) {
                let len = self.prefix_len(vat, bits)?;
                Rhs::Prefix(v, len)
            } else if let (Some(width), true) = (integer_width(t), self.is_punct("/")) {
                // nft takes a prefix of an integer (`meta mark 0x4000/16`: the upper bits).
                self.bump();
                let lat = self.pos;
                let len = self.number()?;
                if len > u64::from(width) {
                    let msg = format!("Prefix length {len} is invalid for type of {width} bits width");
                    return Err(self.err_span(vat, lat, msg));
                }
                return Err(self.unmodelled(vat, "a prefix of an integer value"));
            } else {
                Rhs::Value(v)
            }
        }))
    }

    /// The value of `meta mark set ...`: a constant or `meta mark | 0x4000`-style expression.
    fn set_value(&mut self, target: &Expr) -> R<Expr> {
        match self.peek() {
            Tok::Num(_) => {
                let (v, _) = self.value(target.dtype())?;
                Ok(Expr::Const(v))
            }
            _ => self.expr(),
        }
    }

    /// `@name` or `{ ... }` for a match or a vmap.
    fn set_ref(&mut self, key: &[DataType], data: Option<DataType>, f: Family, table: &str) -> R<SetRef> {
        if self.eat_punct("@") {
            let (n, nat) = self.ident("string")?;
            self.refs.push(Ref {
                at: nat - 1,
                family: f,
                table: table.to_string(),
                chain: None,
                set: Some(n.clone()),
                dynset: false,
            });
            return Ok(SetRef::Named(n));
        }
        if !self.eat_punct("{") {
            return Err(self.unexpected(Some("'{'")));
        }
        let elems = self.elements(key, data, true, f, table)?;
        let mut set = Set::new("", key.to_vec(), data);
        set.flags.constant = true;
        set.flags.interval = elems.iter().any(|(e, _)| e.key.iter().any(|p| matches!(p, KeyPart::Range(..))));
        // An anonymous set's overlapping intervals are merged (see `canonical`); a map's are
        // refused, as in a named one.
        if set.flags.interval && data.is_some() {
            self.interval_conflicts(None, &elems, (f, table, ""))?;
        }
        for (e, _) in elems {
            set.elements.insert(e);
        }
        Ok(SetRef::Anon(Box::new(set)))
    }

    /// A primary expression, a concatenation, and a binop (`meta mark & 0xff`).
    fn expr(&mut self) -> R<Expr> {
        let mut parts = vec![self.primary()?];
        while self.is_punct(".") {
            self.bump();
            parts.push(self.primary()?);
        }
        let e = if parts.len() == 1 { parts.remove(0) } else { Expr::Concat(parts) };
        let op = match self.peek() {
            Tok::Punct("&") => Some(BinOp::And),
            Tok::Punct("|") => Some(BinOp::Or),
            Tok::Punct("^") => Some(BinOp::Xor),
            Tok::Word("and") => Some(BinOp::And),
            Tok::Word("or") => Some(BinOp::Or),
            Tok::Word("xor") => Some(BinOp::Xor),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let t = e.dtype();
            let right = if t.is_bitmask() {
                // `tcp flags & (syn | ack)`.
                let paren = self.eat_punct("(");
                let v = self.flags_value(t, "|")?;
                if paren && !self.eat_punct(")") {
                    return Err(self.unexpected(Some("')'")));
                }
                v.bits()
            } else {
                self.number()?
            };
            return Ok(Expr::Binop { left: Box::new(e), op, right });
        }
        Ok(e)
    }

    /// A value of a bitmask type: flag names or numbers joined by `sep` (`,` in a match,
    /// `|` in an expression), or a number (`0`).
    fn flags_value(&mut self, t: DataType, sep: &str) -> R<Value> {
        let mut acc = self.flag(t)?;
        while self.eat_punct(sep) || (sep == "," && self.eat_punct("|")) {
            let (more, mat) = (self.flag(t)?, self.pos.saturating_sub(1));
            acc = acc.or_bits(&more).ok_or_else(|| self.err(mat, "bad flag"))?;
        }
        Ok(acc)
    }

    fn flag(&mut self, t: DataType) -> R<Value> {
        if let Tok::Num(n) = *self.peek() {
            let at = self.bump();
            return Value::from_bits(t, n).ok_or_else(|| self.err(at, "value out of range"));
        }
        Ok(self.value(t)?.0)
    }

    fn field(&mut self, names: &[(&str, Payload)]) -> R<Expr> {
        let at = self.pos;
        let (n, _) = self.name()?;
        match names.iter().find(|(x, _)| *x == n) {
            Some((_, p)) => {
                // `ip6 daddr` in an ip table, or `ip` and `ip6` fields in one inet rule.
                if let Some(net) = p.network() {
                    match self.rule_l3 {
                        Some(have) if have != net => {
                            return Err(self.err_span(
                                at - 1,
                                at,
                                format!(
                                    "conflicting protocols specified: {} vs. {}",
                                    have.name(),
                                    net.name()
                                ),
                            ));
                        }
                        Some(_) => {}
                        None => {
                            self.rule_l3 = Some(net);
                            self.rule_l3_at = Some((at - 1, at));
                        }
                    }
                }
                // `tcp dport 80` in an arp table, whose packets carry no transport header.
                if let (Some(proto), Some(Family::Arp)) = (p.protocol(), self.rule_l3) {
                    return Err(self.err_span(
                        at - 1,
                        at,
                        format!("conflicting protocols specified: arp vs. {}", protocol_desc(proto)),
                    ));
                }
                // `meta l4proto udp tcp dport 80`, `tcp dport 80 udp sport 1`.
                if let Some(proto) = p.protocol() {
                    match self.rule_l4.iter().copied().find(|&x| x != proto) {
                        Some(have) => {
                            return Err(self.err_span(
                                at - 1,
                                at,
                                format!(
                                    "conflicting protocols specified: {} vs. {}",
                                    protocol_desc(have),
                                    protocol_desc(proto)
                                ),
                            ));
                        }
                        None => self.say_protocol(proto),
                    }
                }
                Ok(Expr::Payload(*p))
            }
            None => Err(self.unmodelled(at, &n)),
        }
    }

    fn primary(&mut self) -> R<Expr> {
        let at = self.pos;
        let Tok::Word(w) = *self.peek() else { return Err(self.unexpected(None)) };
        self.bump();
        match w {
            "ip" => self.field(&[
                ("saddr", Payload::IpSaddr),
                ("daddr", Payload::IpDaddr),
                ("protocol", Payload::IpProtocol),
                ("ttl", Payload::IpTtl),
                ("length", Payload::IpLength),
            ]),
            "ip6" => self.field(&[
                ("saddr", Payload::Ip6Saddr),
                ("daddr", Payload::Ip6Daddr),
                ("nexthdr", Payload::Ip6Nexthdr),
                ("hoplimit", Payload::Ip6Hoplimit),
            ]),
            "th" => self.field(&[("sport", Payload::ThSport), ("dport", Payload::ThDport)]),
            "tcp" => self.field(&[
                ("sport", Payload::TcpSport),
                ("dport", Payload::TcpDport),
                ("flags", Payload::TcpFlags),
            ]),
            "udp" => self.field(&[("sport", Payload::UdpSport), ("dport", Payload::UdpDport)]),
            "sctp" => self.field(&[("sport", Payload::SctpSport), ("dport", Payload::SctpDport)]),
            "icmp" => self.field(&[("type", Payload::IcmpType)]),
            "iifname" => Ok(Expr::Meta(MetaKey::Iifname)),
            "oifname" => Ok(Expr::Meta(MetaKey::Oifname)),
            "iif" => Ok(Expr::Meta(MetaKey::Iif)),
            "oif" => Ok(Expr::Meta(MetaKey::Oif)),
            "mark" => Ok(Expr::Meta(MetaKey::Mark)),
            "pkttype" => Ok(Expr::Meta(MetaKey::Pkttype)),
            "meta" => {
                let kat = self.pos;
                let (k, _) = self.name()?;
                Ok(Expr::Meta(match k.as_str() {
                    "l4proto" => MetaKey::L4proto,
                    "nfproto" => MetaKey::Nfproto,
                    "iifname" => MetaKey::Iifname,
                    "oifname" => MetaKey::Oifname,
                    "iif" => MetaKey::Iif,
                    "oif" => MetaKey::Oif,
                    "mark" => MetaKey::Mark,
                    "protocol" => MetaKey::Protocol,
                    "pkttype" => MetaKey::Pkttype,
                    _ => return Err(self.unmodelled(kat, &format!("meta {k}"))),
                }))
            }
            "ct" => {
                let kat = self.pos;
                let (k, _) = self.name()?;
                let key = match k.as_str() {
                    "state" => CtKey::State,
                    "status" => CtKey::Status,
                    "mark" => CtKey::Mark,
                    "original" | "reply" => {
                        self.eat_word("ip");
                        let fat = self.pos;
                        let (fld, _) = self.name()?;
                        match (k.as_str(), fld.as_str()) {
                            ("original", "saddr") => CtKey::OriginalSaddr,
                            ("original", "daddr") => CtKey::OriginalDaddr,
                            ("reply", "saddr") => CtKey::ReplySaddr,
                            ("reply", "daddr") => CtKey::ReplyDaddr,
                            _ => return Err(self.unmodelled(fat, &format!("ct {k} {fld}"))),
                        }
                    }
                    _ => return Err(self.unmodelled(kat, &format!("ct {k}"))),
                };
                // The kernel's `nf_ct_netns_get` has no conntrack for arp or netdev tables.
                if matches!(self.rule_family, Family::Arp | Family::Netdev) {
                    return Err(self.err_span(at, self.pos - 1, "Could not process rule: Protocol error"));
                }
                Ok(Expr::Ct(key))
            }
            "fib" => {
                let (a, aat) = self.name()?;
                let daddr = match a.as_str() {
                    "daddr" => true,
                    "saddr" => false,
                    _ => return Err(self.unmodelled(aat, &format!("fib {a}"))),
                };
                if self.is_punct(".") {
                    return Err(self.unmodelled(self.pos, "fib with iif/oif/mark"));
                }
                let rat = self.pos;
                let (r, _) = self.name()?;
                if r != "type" {
                    return Err(self.unmodelled(rat, &format!("fib {a} {r}")));
                }
                // The kernel has fib expressions for the IP families and netdev only.
                if matches!(self.rule_family, Family::Arp | Family::Bridge) {
                    return Err(self.err_span(
                        at,
                        self.pos - 1,
                        "Could not process rule: No such file or directory",
                    ));
                }
                Ok(Expr::FibType { daddr })
            }
            "numgen" => {
                let mat = self.pos;
                let (mode, _) = self.name()?;
                if mode != "random" {
                    return Err(self.unmodelled(mat, &format!("numgen {mode}")));
                }
                if !self.eat_word("mod") {
                    return Err(self.unexpected(Some("mod")));
                }
                let m = self.number()?;
                let modulus = u32::try_from(m)
                    .ok()
                    .filter(|m| *m > 0)
                    .ok_or_else(|| self.err(self.pos - 1, "Invalid numgen modulus"))?;
                let mut offset = 0;
                if self.eat_word("offset") {
                    offset = u32::try_from(self.number()?)
                        .map_err(|_| self.err(self.pos - 1, "offset out of range"))?;
                }
                Ok(Expr::Numgen { modulus, offset })
            }
            _ if UNMODELLED.contains(&w) => Err(self.unmodelled(at, w)),
            _ if is_keyword(w) => {
                self.pos = at;
                Err(self.unexpected(None))
            }
            // nft's grammar reads a bare word as the start of an expression and fails on
            // what follows it.
            _ => Err(self.unexpected(None)),
        }
    }
}

/// Whether `s` decides the transport protocol, and if so whether it says TCP, and whether
/// nft points at the whole statement (a protocol match) or at its header expression only
/// (`udp dport ...`, whose protocol is implied).
fn protocol_match(s: &Stmt) -> Option<(bool, bool)> {
    match s {
        Stmt::Match {
            left: Expr::Meta(MetaKey::L4proto) | Expr::Payload(Payload::IpProtocol | Payload::Ip6Nexthdr),
            op,
            right,
        } => Some((
            matches!(op, RelOp::Implicit | RelOp::Eq)
                && matches!(right, Rhs::Value(Value::Proto(p)) if *p == crate::wire::Protocol::Tcp.number()),
            true,
        )),
        Stmt::Match { left: Expr::Payload(p), .. } => {
            p.protocol().map(|x| (x == crate::wire::Protocol::Tcp.number(), false))
        }
        _ => None,
    }
}

/// ICMP's destination-unreachable codes by nft's names (`icmp_code_tbl`).
const ICMP_CODES: [(&str, u8); 8] = [
    ("net-unreachable", 0),
    ("host-unreachable", 1),
    ("prot-unreachable", 2),
    ("port-unreachable", ICMP_PORT_UNREACHABLE),
    ("frag-needed", 4),
    ("net-prohibited", 9),
    ("host-prohibited", 10),
    ("admin-prohibited", 13),
];
/// ICMPv6's (`icmpv6_code_tbl`).
const ICMPV6_CODES: [(&str, u8); 6] = [
    ("no-route", 0),
    ("admin-prohibited", 1),
    ("addr-unreachable", 3),
    ("port-unreachable", ICMPV6_PORT_UNREACHABLE),
    ("policy-fail", 5),
    ("reject-route", 6),
];
/// The abstract codes of an inet table's `icmpx` (`icmpx_code_tbl`).
const ICMPX_CODES: [(&str, u8); 4] = [
    ("no-route", 0),
    ("port-unreachable", ICMPX_PORT_UNREACHABLE),
    ("host-unreachable", 2),
    ("admin-prohibited", 3),
];
const ICMP_PORT_UNREACHABLE: u8 = 3;
const ICMPV6_PORT_UNREACHABLE: u8 = 4;
const ICMPX_PORT_UNREACHABLE: u8 = 1;

/// The name nft lists for a `reject` code of `kind` (`icmp`, `icmpv6`, `icmpx`), if it has one.
pub(super) fn reject_code_name(kind: &str, code: u8) -> Option<&'static str> {
    let codes: &[(&'static str, u8)] = match kind {
        "icmp" => &ICMP_CODES,
        "icmpv6" => &ICMPV6_CODES,
        _ => &ICMPX_CODES,
    };
    codes.iter().find(|(_, c)| *c == code).map(|(n, _)| *n)
}

/// What a protocol match compares with (`meta l4proto tcp`, `ip protocol == udp`, `meta
/// l4proto { tcp, udp }`), as nft's protocol context takes it.
fn protocol_rhs(s: &Stmt) -> Option<&Rhs> {
    match s {
        Stmt::Match {
            left: Expr::Meta(MetaKey::L4proto) | Expr::Payload(Payload::IpProtocol | Payload::Ip6Nexthdr),
            op: RelOp::Implicit | RelOp::Eq,
            right,
        } => Some(right),
        _ => None,
    }
}

/// A transport protocol as nft's messages name it.
fn protocol_desc(p: u8) -> String {
    match p {
        1 => "icmp".to_string(),
        6 => "tcp".to_string(),
        17 => "udp".to_string(),
        58 => "icmpv6".to_string(),
        132 => "sctp".to_string(),
        n => n.to_string(),
    }
}

/// The protocol a `meta l4proto P` / `ip protocol P` / `ip6 nexthdr P` match names, when it
/// names one.
fn single_protocol(s: &Stmt) -> Option<u8> {
    match protocol_rhs(s) {
        Some(Rhs::Value(Value::Proto(x))) => Some(*x),
        _ => None,
    }
}

/// The field of protocol `proto`'s own header a transport-header (`th`) port field reads.
fn transport_field(p: Payload, proto: u8) -> Option<Payload> {
    Some(match (p, proto) {
        (Payload::ThSport, 6) => Payload::TcpSport,
        (Payload::ThDport, 6) => Payload::TcpDport,
        (Payload::ThSport, 17) => Payload::UdpSport,
        (Payload::ThDport, 17) => Payload::UdpDport,
        (Payload::ThSport, 132) => Payload::SctpSport,
        (Payload::ThDport, 132) => Payload::SctpDport,
        _ => return None,
    })
}

/// The packet family a `meta nfproto ipv4|ipv6` match says.
fn nfproto_of(s: &Stmt) -> Option<Family> {
    match s {
        Stmt::Match {
            left: Expr::Meta(MetaKey::Nfproto),
            op: RelOp::Implicit | RelOp::Eq,
            right: Rhs::Value(Value::NfProto(p)),
        } => match p {
            2 => Some(Family::Ip),
            10 => Some(Family::Ip6),
            _ => None,
        },
        _ => None,
    }
}

/// nft's canonical form of a rule's statements (see the module doc).
fn canonical(stmts: Vec<Stmt>, f: Family) -> Vec<Stmt> {
    // A raw `@th,0,32` load is both ports' matches, which the steps below rewrite (and merge
    // again) as they would the fields written one by one.
    let stmts = if stmts.iter().any(|s| matches!(s, Stmt::Merged { .. })) {
        stmts
            .into_iter()
            .flat_map(|s| match s {
                Stmt::Merged { fields, ne } => fields
                    .into_iter()
                    .map(|(p, v)| Stmt::Match {
                        left: Expr::Payload(p),
                        op: if ne { RelOp::Ne } else { RelOp::Implicit },
                        right: Rhs::Value(v),
                    })
                    .collect(),
                other => vec![other],
            })
            .collect()
    } else {
        stmts
    };
    let mut out: Vec<Stmt> = Vec::with_capacity(stmts.len());
    // The transport protocol the rule has said so far, and where the match that said it is
    // while nft could still drop it as implied.
    let mut l4: Option<u8> = None;
    let mut dep: Option<usize> = None;
    for s in stmts {
        let s = match s {
            Stmt::Match { left, op, right } => {
                let op =
                    if op == RelOp::Eq && !left.dtype().is_bitmask() && !matches!(left, Expr::Binop { .. }) {
                        RelOp::Implicit
                    } else {
                        op
                    };
                let right = match right {
                    Rhs::Set(SetRef::Anon(set))
                        if set.data.is_none() && set.elements.len() == 1 && set.key.len() == 1 =>
                    {
                        single(&set).unwrap_or(Rhs::Set(SetRef::Anon(set)))
                    }
                    Rhs::Set(SetRef::Anon(mut set)) if set.data.is_none() && set.flags.interval => {
                        merge_intervals(&mut set);
                        Rhs::Set(SetRef::Anon(set))
                    }
                    Rhs::Prefix(a, len) if a.dtype().addr_bits() == Some(u32::from(len)) => Rhs::Value(a),
                    other => other,
                };
                Stmt::Match { left, op, right }
            }
            other => other,
        };
        // `ct state & (new | established) != 0` is `ct state established,new`.
        let mut s = s;
        if let Stmt::Match {
            left: Expr::Binop { left, op: BinOp::And, right: mask },
            op: RelOp::Ne,
            right: Rhs::Value(v),
        } = &s
            && left.dtype().is_bitmask()
            && v.bits() == 0
            && let Some(m) = Value::from_bits(left.dtype(), *mask)
        {
            s = Stmt::Match { left: (**left).clone(), op: RelOp::Implicit, right: Rhs::Value(m) };
        }
        // `meta l4proto tcp th dport 22` is `tcp dport 22`: once the rule has said which
        // protocol, nft reads the ports from that protocol's header.
        if let Stmt::Match { left: Expr::Payload(p), .. } = &mut s
            && let Some(x) = l4
            && let Some(q) = transport_field(*p, x)
        {
            *p = q;
        }
        // A field of the protocol the rule said implies that match, which nft then drops
        // (`ip protocol tcp ip saddr 10.0.0.1 tcp dport 80` lists as `ip saddr 10.0.0.1 tcp
        // dport 80`), unless a statement other than a match came between.
        if let Stmt::Match { left: Expr::Payload(p), .. } = &s
            && let Some(proto) = p.protocol()
        {
            if let Some(i) = dep.take()
                && l4 == Some(proto)
            {
                out.remove(i);
            }
            l4 = Some(proto);
        }
        if let Some(x) = single_protocol(&s) {
            l4 = Some(x);
            dep = Some(out.len());
        } else if !matches!(s, Stmt::Match { .. }) {
            dep = None;
        }
        // A TCP reset's implied `meta l4proto tcp` makes the rule's `th` ports TCP's too.
        if matches!(s, Stmt::Reject(Reject::TcpReset)) && !out.iter().any(|x| protocol_match(x).is_some()) {
            for x in &mut out {
                if let Stmt::Match { left: Expr::Payload(p), .. } = x
                    && let Some(q) = transport_field(*p, crate::wire::Protocol::Tcp.number())
                {
                    *p = q;
                }
            }
        }
        // `meta l4proto tcp reject with tcp reset`: the dependency is implied (and evaluated,
        // see `eval`) in an ip or ip6 table; an inet table lists it, first in the rule when
        // nothing in the rule says TCP.
        if matches!(s, Stmt::Reject(Reject::TcpReset))
            && !f.carries_both()
            && let Some(last) = out.last()
            && protocol_match(last) == Some((true, true))
        {
            out.pop();
        }
        // In an inet table an ICMP, ICMPv6 or TCP reset reject implies its packet family: the
        // `meta nfproto` that said it is dropped, unless a statement other than a match stands
        // between them (netlink_delinearize's dependency tracking starts over there).
        if f.carries_both()
            && matches!(s, Stmt::Reject(Reject::Icmp(_) | Reject::Icmpv6(_) | Reject::TcpReset))
        {
            let dep = out
                .iter()
                .rposition(|x| !matches!(x, Stmt::Match { .. }) || nfproto_of(x).is_some())
                .filter(|&i| nfproto_of(&out[i]).is_some());
            if let Some(i) = dep {
                out.remove(i);
            }
            if matches!(s, Stmt::Reject(Reject::TcpReset)) && !out.iter().any(|x| protocol_match(x).is_some())
            {
                out.insert(
                    0,
                    Stmt::Match {
                        left: Expr::Meta(MetaKey::L4proto),
                        op: RelOp::Implicit,
                        right: Rhs::Value(Value::Proto(crate::wire::Protocol::Tcp.number())),
                    },
                );
            }
        }
        out.push(s);
    }
    merge_payloads(&mut out);
    elide_ethertype(&mut out, f);
    out
}

/// `meta protocol ip` as nft lists it: the table's own network protocol in an ip or ip6
/// table says nothing and is left out wherever it stands; in a bridge or netdev table it is
/// left out where it is the dependency of the header field right after it (`meta protocol
/// ip ip saddr 1.1.1.1`); an inet or arp table keeps it.
fn elide_ethertype(out: &mut Vec<Stmt>, f: Family) {
    let ethertype = |s: &Stmt| match s {
        Stmt::Match {
            left: Expr::Meta(MetaKey::Protocol),
            op: RelOp::Implicit,
            right: Rhs::Value(Value::EtherType(t)),
        } => ethertype_family(*t),
        _ => None,
    };
    match f {
        Family::Ip | Family::Ip6 => out.retain(|s| ethertype(s) != Some(f)),
        Family::Bridge | Family::Netdev => {
            let mut i = 0;
            while i + 1 < out.len() {
                let next_net = match &out[i + 1] {
                    Stmt::Match { left: Expr::Payload(p), .. } => p.network(),
                    _ => None,
                };
                if ethertype(&out[i]).is_some() && ethertype(&out[i]) == next_net {
                    out.remove(i);
                } else {
                    i += 1;
                }
            }
        }
        Family::Inet | Family::Arp => {}
    }
}

/// nft's payload merge (`payload_try_merge` of nft v1.0.6's rule.c) as its listing shows it.
/// Comparisons (`==` or `!=`, with a value) of adjacent fields of one header, together at most
/// 32 bits (`tcp sport` and `tcp dport`, `ip ttl` and `ip protocol`), become one load, listed
/// in header order where one of them stood: the lower field's statement, or the protocol
/// field's (`ip protocol`) when that is the higher one. A statement other than a match ends the
/// fields collected so far only once two were collected (`if (idx < 2) continue;`), so `tcp
/// dport 22 counter tcp sport 1` merges across the counter. Evaluation is unchanged (the
/// matches of a rule all have to hold); `th` fields, which nft merges into a raw `@th,0,32`
/// load, are left as written.
fn merge_payloads(out: &mut Vec<Stmt>) {
    #[derive(Clone, Copy)]
    struct Field {
        at: usize,
        base: u8,
        offset: u8,
        len: u8,
        op: RelOp,
        protocol: bool,
    }
    let field = |at: usize, s: &Stmt| -> Option<Field> {
        let Stmt::Match {
            left: Expr::Payload(p),
            op: op @ (RelOp::Implicit | RelOp::Ne),
            right: Rhs::Value(_),
        } = s
        else {
            return None;
        };
        let (base, offset, len) = match p {
            Payload::IpLength => (0, 2, 2),
            Payload::IpTtl => (0, 8, 1),
            Payload::IpProtocol => (0, 9, 1),
            Payload::IpSaddr => (0, 12, 4),
            Payload::IpDaddr => (0, 16, 4),
            Payload::Ip6Nexthdr => (0, 6, 1),
            Payload::Ip6Hoplimit => (0, 7, 1),
            Payload::TcpSport | Payload::UdpSport | Payload::SctpSport | Payload::ThSport => (1, 0, 2),
            Payload::TcpDport | Payload::UdpDport | Payload::SctpDport | Payload::ThDport => (1, 2, 2),
            _ => return None,
        };
        let protocol = matches!(p, Payload::IpProtocol | Payload::Ip6Nexthdr);
        Some(Field { at, base, offset, len, op: *op, protocol })
    };
    // Most rules have fewer than two such fields: nothing to merge, nothing allocated.
    if out.iter().enumerate().filter(|(i, s)| field(*i, s).is_some()).nth(1).is_none() {
        return;
    }
    // What each statement's place lists: itself, a merged run of fields, or nothing.
    let mut places: Vec<Vec<usize>> = (0..out.len()).map(|i| vec![i]).collect();
    let mut merged = false;
    let mut merge = |sa: &mut Vec<Field>, places: &mut Vec<Vec<usize>>| {
        sa.sort_by_key(|f| (f.base, f.offset));
        let mut last = sa[0];
        for &this in &sa[1..] {
            if !(last.base == this.base
                && last.offset + last.len == this.offset
                && last.len + this.len <= 4
                && last.op == this.op)
            {
                last = this;
                continue;
            }
            let (keep, drop) = if this.protocol { (this.at, last.at) } else { (last.at, this.at) };
            let mut run = std::mem::take(&mut places[last.at]);
            run.append(&mut places[this.at]);
            places[drop].clear();
            places[keep] = run;
            last = Field {
                at: keep,
                len: last.len + this.len,
                protocol: last.protocol || this.protocol,
                ..last
            };
            merged = true;
        }
        sa.clear();
    };
    let mut sa: Vec<Field> = Vec::new();
    for (i, s) in out.iter().enumerate() {
        if !matches!(s, Stmt::Match { .. }) {
            if sa.len() >= 2 {
                merge(&mut sa, &mut places);
            }
            continue;
        }
        sa.extend(field(i, s));
    }
    if sa.len() >= 2 {
        merge(&mut sa, &mut places);
    }
    if !merged {
        return;
    }
    // The rule's first transport field carried the protocol match nft inserts before it
    // (`meta l4proto tcp`). Where a merge moved that field past a counter (the `idx < 2`
    // quirk), the match is no longer next to a field that implies it: nft lists it there.
    let first_transport = out.iter().position(|s| match s {
        Stmt::Match { left: Expr::Payload(p), .. } => p.protocol().is_some(),
        _ => false,
    });
    let dependency = first_transport.and_then(|i| {
        let Stmt::Match { left: Expr::Payload(p), .. } = &out[i] else { return None };
        let moved_to = places.iter().position(|pl| pl.contains(&i))?;
        let passed = (i..moved_to).any(|j| !matches!(out[j], Stmt::Match { .. }));
        (moved_to > i && passed).then(|| (i, p.protocol()))
    });
    let mut slots: Vec<Option<Stmt>> = std::mem::take(out).into_iter().map(Some).collect();
    for (i, place) in places.into_iter().enumerate() {
        if let Some((at, Some(proto))) = dependency
            && at == i
        {
            out.push(Stmt::Match {
                left: Expr::Meta(MetaKey::L4proto),
                op: RelOp::Implicit,
                right: Rhs::Value(Value::Proto(proto)),
            });
        }
        let run: Vec<Stmt> = place.iter().filter_map(|&i| slots[i].take()).collect();
        out.extend(merged_stmt(run));
    }
}

/// A run of fields `merge_payloads` merged, as the statements that evaluate and list it as
/// the kernel's one comparison: a [`Stmt::Merged`] for a `!=` run or one of `th` ports, the
/// fields themselves otherwise (an `==` run of a named protocol means what they do).
fn merged_stmt(run: Vec<Stmt>) -> Vec<Stmt> {
    if run.len() < 2 {
        return run;
    }
    let mut fields = Vec::with_capacity(run.len());
    let mut ne = false;
    let mut th = false;
    for s in &run {
        let Stmt::Match { left: Expr::Payload(p), op, right: Rhs::Value(v) } = s else { return run };
        ne = *op == RelOp::Ne;
        th |= matches!(p, Payload::ThSport | Payload::ThDport);
        fields.push((*p, v.clone()));
    }
    if ne || th { vec![Stmt::Merged { fields, ne }] } else { run }
}

/// The comparison a one-element anonymous set stands for.
fn single(set: &Set) -> Option<Rhs> {
    let e = set.elements.iter().next()?;
    match e.key.first()? {
        KeyPart::Single(v) => Some(Rhs::Value(v.clone())),
        KeyPart::Range(lo, hi) if lo.dtype().addr_bits().is_some() => match value_as_prefix(lo, hi) {
            Some(len) if lo.dtype().addr_bits() == Some(u32::from(len)) => Some(Rhs::Value(lo.clone())),
            Some(len) => Some(Rhs::Prefix(lo.clone(), len)),
            None => Some(Rhs::Range(lo.clone(), hi.clone())),
        },
        KeyPart::Range(lo, hi) => Some(Rhs::Range(lo.clone(), hi.clone())),
    }
}

/// The chains a chain's rules can continue in (jump, goto, verdict-map elements).
fn targets<'a>(t: &'a Table, c: &'a Chain) -> Vec<&'a str> {
    let mut out = Vec::new();
    let from_set = |s: &'a Set, out: &mut Vec<&'a str>| {
        for e in s.elements.iter() {
            if let Some(MapData::Verdict(Verdict::Jump(x) | Verdict::Goto(x))) = &e.data {
                out.push(x.as_str());
            }
        }
    };
    for s in c.rules.iter().flat_map(|r| &r.stmts) {
        match s {
            Stmt::Verdict(Verdict::Jump(x) | Verdict::Goto(x)) => out.push(x.as_str()),
            Stmt::Vmap { map: SetRef::Anon(set), .. } => from_set(set, &mut out),
            Stmt::Vmap { map: SetRef::Named(n), .. } => {
                if let Some(set) = t.sets.get(n) {
                    from_set(set, &mut out);
                }
            }
            _ => {}
        }
    }
    out
}

/// What the kernel's validation of a base chain's reach refuses.
enum Problem {
    /// A chain reaches itself, or the nesting passes 16 (EMLINK).
    Loop,
    /// A NAT statement where the base chain cannot have one (EOPNOTSUPP).
    Nat,
}

/// Whether a statement may run under base chain `b` (`nft_nat_validate`,
/// `nft_masq_validate`): snat in nat chains at postrouting and input, dnat at prerouting and
/// output, masquerade at postrouting.
fn allowed_under(s: &Stmt, a: Allowance) -> bool {
    match s {
        Stmt::Nat { kind: NatKind::Snat, .. } => a.snat,
        Stmt::Nat { kind: NatKind::Dnat, .. } => a.dnat,
        Stmt::Masquerade { .. } => a.masquerade,
        _ => true,
    }
}

/// The statements a base chain allows in what it reaches (the others are allowed anywhere):
/// snat at postrouting and input, dnat at prerouting and output, masquerade at postrouting,
/// each in a nat chain only. Base chains of the same allowance check their reach alike.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Allowance {
    snat: bool,
    dnat: bool,
    masquerade: bool,
}

fn allowance(b: &BaseChain) -> Allowance {
    let nat = b.kind == ChainType::Nat;
    Allowance {
        snat: nat && matches!(b.hook, ChainHook::Postrouting | ChainHook::Input),
        dnat: nat && matches!(b.hook, ChainHook::Prerouting | ChainHook::Output),
        masquerade: nat && b.hook == ChainHook::Postrouting,
    }
}

/// Per chain, in [`reach_is_valid`]'s walk: not seen, on the current walk, or checked, with the
/// longest path of jumps from it (in chains, itself included).
#[derive(Clone, Copy)]
enum Mark {
    New,
    OnPath,
    Height(usize),
}

/// Whether [`validate`] finds nothing wrong in what `base` (chain `from`) reaches, with each
/// chain visited once: every reached chain's statements are allowed under the base chain, no
/// jump closes a loop, and the longest path of jumps, counting the base chain, is at most
/// `MAX_DEPTH + 1` chains (the depth at which `validate` refuses). `marks` (one per chain) may
/// come from an earlier call for a base chain of the same [`Allowance`]: the chains it checked
/// are not walked again.
fn reach_is_valid(t: &Table, from: usize, a: Allowance, marks: &mut [Mark]) -> bool {
    /// `depth`: chains on the walk above `c` (a walk deeper than `validate` allows is refused
    /// before it can exhaust the stack).
    fn height(t: &Table, c: usize, a: Allowance, marks: &mut [Mark], depth: usize) -> Option<usize> {
        if depth > super::eval::MAX_DEPTH {
            return None;
        }
        match marks.get(c).copied() {
            Some(Mark::Height(h)) => return Some(h),
            Some(Mark::OnPath) | None => return None,
            Some(Mark::New) => {}
        }
        let (_, chain) = t.chains.get_index(c)?;
        if !chain.rules.iter().flat_map(|r| &r.stmts).all(|s| allowed_under(s, a)) {
            return None;
        }
        marks[c] = Mark::OnPath;
        let mut below = 0;
        for to in targets(t, chain) {
            let Some(next) = t.chains.get_index_of(to) else { continue };
            below = below.max(height(t, next, a, marks, depth + 1)?);
            if below > super::eval::MAX_DEPTH {
                return None;
            }
        }
        marks[c] = Mark::Height(below + 1);
        Some(below + 1)
    }
    height(t, from, a, marks, 0).is_some_and(|h| h <= super::eval::MAX_DEPTH + 1)
}

/// Depth-first from the last chain of `path` under base chain `base`: the first problem, with
/// `path` ending at the chain where it is.
fn validate(t: &Table, path: &mut Vec<usize>, a: Allowance) -> Result<(), Problem> {
    let Some(&cur) = path.last() else { return Ok(()) };
    let Some((_, c)) = t.chains.get_index(cur) else { return Ok(()) };
    if !c.rules.iter().flat_map(|r| &r.stmts).all(|s| allowed_under(s, a)) {
        return Err(Problem::Nat);
    }
    for to in targets(t, c) {
        let Some(next) = t.chains.get_index_of(to) else { continue };
        path.push(next);
        if path[..path.len() - 1].contains(&next) || path.len() > super::eval::MAX_DEPTH + 1 {
            return Err(Problem::Loop);
        }
        validate(t, path, a)?;
        path.pop();
    }
    Ok(())
}

/// Whether a jump or goto of `t` names chain `name`.
fn chain_referenced(t: &Table, name: &str) -> bool {
    let by_verdict = |v: &Verdict| matches!(v, Verdict::Jump(c) | Verdict::Goto(c) if c == name);
    let in_set =
        |s: &Set| s.elements.iter().any(|e| matches!(&e.data, Some(MapData::Verdict(v)) if by_verdict(v)));
    t.sets.values().any(|s| in_set(s))
        || t.chains.values().flat_map(|c| &c.rules).flat_map(|r| &r.stmts).any(|s| match s {
            Stmt::Verdict(v) => by_verdict(v),
            Stmt::Vmap { map: SetRef::Anon(s), .. } => in_set(s),
            _ => false,
        })
}

/// The chain names of the run of `delete chain` / `destroy chain` commands whose first
/// command names its chain at token `at`: each command's last name before its end.
fn upcoming_chain_deletes<'a>(
    toks: &[Token<'a>],
    at: usize,
) -> indexmap::IndexSet<&'a str, sim_core::hash::FxBuildHasher> {
    let mut names = indexmap::IndexSet::default();
    let name = |t: &Token<'a>| match t.tok {
        Tok::Word(w) | Tok::Str(w) | Tok::Digits(w) => Some(w),
        _ => None,
    };
    if let Some(first) = toks.get(at).and_then(name) {
        names.insert(first);
    }
    let mut i = at + 1;
    loop {
        while matches!(toks.get(i).map(|t| t.tok), Some(Tok::Newline | Tok::Punct(";"))) {
            i += 1;
        }
        let deletes_chain = matches!(toks.get(i).map(|t| t.tok), Some(Tok::Word("delete" | "destroy")))
            && matches!(toks.get(i + 1).map(|t| t.tok), Some(Tok::Word("chain")));
        if !deletes_chain {
            return names;
        }
        i += 2;
        let mut last = None;
        while let Some(t) = toks.get(i) {
            if matches!(t.tok, Tok::Newline | Tok::Punct(";") | Tok::Eof) {
                break;
            }
            last = name(t);
            i += 1;
        }
        if let Some(n) = last {
            names.insert(n);
        }
    }
}

/// For each of `names`, whether a jump or goto of `t` names it: in a rule, or in an element
/// of a verdict map (named or anonymous). One pass over the table.
fn referenced_among(t: &Table, names: &indexmap::IndexSet<&str, sim_core::hash::FxBuildHasher>) -> Vec<bool> {
    let mut out = vec![false; names.len()];
    let mut verdict = |v: &Verdict| {
        if let Verdict::Jump(c) | Verdict::Goto(c) = v
            && let Some(i) = names.get_index_of(c.as_str())
            && let Some(hit) = out.get_mut(i)
        {
            *hit = true;
        }
    };
    fn elements(s: &Set) -> impl Iterator<Item = &Verdict> {
        s.elements.iter().filter_map(|e| match &e.data {
            Some(MapData::Verdict(v)) => Some(v),
            _ => None,
        })
    }
    for s in t.sets.values() {
        elements(s).for_each(&mut verdict);
    }
    for s in t.chains.values().flat_map(|c| &c.rules).flat_map(|r| &r.stmts) {
        match s {
            Stmt::Verdict(v) => verdict(v),
            Stmt::Vmap { map: SetRef::Anon(s), .. } => elements(s).for_each(&mut verdict),
            _ => {}
        }
    }
    out
}

fn set_referenced(t: &Table, name: &str) -> bool {
    t.chains.values().flat_map(|c| &c.rules).flat_map(|r| &r.stmts).any(|s| match s {
        Stmt::Match { right: Rhs::Set(SetRef::Named(n)), .. } | Stmt::Vmap { map: SetRef::Named(n), .. } => {
            n == name
        }
        Stmt::SetUpdate { set, .. } => set == name,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Nftables;

    /// The error nft v1.0.6 printed for the same input (recorded in a network namespace).
    fn err(text: &str) -> String {
        let mut n = Nftables::new();
        match n.apply(text) {
            Ok(()) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn syntax_errors_are_worded_and_located_as_nft_does() {
        assert_eq!(
            err("table ip x {\n\tchain c {\n\t\tip daddr 1.2.3.4 frobnicate\n\t}\n}\n"),
            "/dev/stdin:3:30-30: Error: syntax error, unexpected newline\n\t\tip daddr 1.2.3.4 frobnicate\n\t\t                           ^"
        );
        assert_eq!(
            err("table ip x { chain c { tcp dport 80 accept"),
            "/dev/stdin:1:43-43: Error: syntax error, unexpected end of file, expecting newline or semicolon\ntable ip x { chain c { tcp dport 80 accept\n                                          ^"
        );
        assert_eq!(
            err("table ip x {\n\tchain c {\n\t\tip daddr 1.2.3.400 accept\n\t}\n}\n"),
            "/dev/stdin:3:12-20: Error: Could not resolve hostname: Name or service not known\n\t\tip daddr 1.2.3.400 accept\n\t\t         ^^^^^^^^^"
        );
    }

    #[test]
    fn missing_objects_are_refused_with_the_kernel_errno() {
        assert_eq!(
            err("add rule ip nope c accept\n"),
            "/dev/stdin:1:13-16: Error: Could not process rule: No such file or directory\nadd rule ip nope c accept\n            ^^^^"
        );
        assert_eq!(
            err("table ip x {\n\tchain c {\n\t\tjump nowhere\n\t}\n}\n"),
            "/dev/stdin:3:8-14: Error: Could not process rule: No such file or directory\n\t\tjump nowhere\n\t\t     ^^^^^^^"
        );
        assert_eq!(
            err("table ip x {\n chain c {\n tcp dport @nosuch accept\n }\n}\n"),
            "/dev/stdin:3:12-18: Error: No such file or directory\n tcp dport @nosuch accept\n           ^^^^^^^"
        );
    }

    /// Runs of `delete chain` (how kube-proxy ends a sync) are answered as each command
    /// alone would be: a chain deleted earlier in the run is gone, a chain a rule or a
    /// verdict map jumps to is busy, and a later command no longer finds it.
    #[test]
    fn runs_of_chain_deletes_answer_as_single_deletes() {
        assert_eq!(
            err(
                "table ip t {\n\tchain a {\n\t}\n\tchain b {\n\t}\n}\ndelete chain ip t a\ndelete chain ip t b\ndelete chain ip t a\n"
            ),
            "/dev/stdin:9:19-19: Error: Could not process rule: No such file or directory\ndelete chain ip t a\n                  ^"
        );
        assert_eq!(
            err(
                "table ip t {\n\tchain a {\n\t}\n\tchain b {\n\t\tjump keep\n\t}\n\tchain keep {\n\t}\n}\ndelete chain ip t a\ndelete chain ip t keep\n"
            ),
            "/dev/stdin:11:19-22: Error: Could not process rule: Device or resource busy\ndelete chain ip t keep\n                  ^^^^"
        );
        // One line, the family left out (nft v1.0.6 words and places it so).
        assert_eq!(
            err(
                "table ip t {\n\tchain a {\n\t}\n\tchain b {\n\t\tjump keep\n\t}\n\tchain keep {\n\t}\n}\ndelete chain t a; delete chain t keep\n"
            ),
            "/dev/stdin:10:34-37: Error: Could not process rule: Device or resource busy\ndelete chain t a; delete chain t keep\n                                 ^^^^"
        );
        assert_eq!(
            err(
                "table ip t {\n\tmap m {\n\t\ttype ipv4_addr : verdict\n\t\telements = { 10.0.0.1 : jump target }\n\t}\n\tchain target {\n\t}\n\tchain a {\n\t}\n}\ndelete chain ip t a\ndelete chain ip t target\n"
            ),
            "/dev/stdin:12:19-24: Error: Could not process rule: Device or resource busy\ndelete chain ip t target\n                  ^^^^^^"
        );
        assert_eq!(
            err(
                "table ip t {\n\tchain a {\n\t}\n\tchain b {\n\t}\n}\ndelete chain ip t a\nadd rule ip t b jump a\n"
            ),
            "/dev/stdin:8:22-22: Error: Could not process rule: No such file or directory\nadd rule ip t b jump a\n                     ^"
        );
    }

    #[test]
    fn context_errors_match_nft() {
        let e = err("table ip t {\n\tchain p6 { type nat hook output priority dstnat; }\n}\n");
        assert!(
            e.starts_with("/dev/stdin:2:34-48: Error: invalid priority expression value in this context."),
            "{e}"
        );
        let e = err("table ip t {\n\tchain c {\n\t\tmeta nfproto ipv4 accept\n\t}\n}\n");
        assert!(
            e.starts_with("/dev/stdin:3:3-14: Error: meta nfproto is only useful in the inet family"),
            "{e}"
        );
        let e = err("table ip t {\n\tchain c {\n\t\tsnat to 1.2.3.4:1000-2000\n\t}\n}\n");
        assert!(
            e.starts_with("/dev/stdin:3:19-27: Error: transport protocol mapping is only valid after transport protocol match"),
            "{e}"
        );
    }

    #[test]
    fn unmodelled_constructs_are_named_and_a_failed_batch_changes_nothing() {
        let mut n = Nftables::new();
        n.apply("table ip t { chain c { accept; }; }").unwrap();
        let before = n.list_ruleset();
        let e = n.apply("add rule ip t c drop\nadd rule ip t c quota 10 mbytes accept\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("netsim does not evaluate 'quota'"), "{e}");
        assert_eq!(n.list_ruleset(), before);
        for text in [
            "include \"x.nft\"\n",
            "table inet t {\n\tchain c { type filter hook ingress device lo priority 0; }\n}\n",
            "add rule ip t c numgen inc mod 2 vmap { 0 : accept, 1 : drop }\n",
            "table inet f {\n\tct helper h {\n\t\ttype \"ftp\" protocol tcp\n\t}\n}\n",
            "table inet f {\n\tct timeout t {\n\t\tprotocol tcp\n\t}\n}\n",
            "table inet f {\n\tsecmark s {\n\t\t\"system_u:object_r:ssh_server_packet_t:s0\"\n\t}\n}\n",
            "add table inet f\nadd ct helper inet f h { type \"ftp\" protocol tcp ; }\n",
            "add table inet f\nadd counter inet f c\n",
        ] {
            let e = n.apply(text).unwrap_err();
            assert!(e.message.contains("netsim"), "{text}: {e}");
        }
    }

    #[test]
    fn loops_reachable_from_a_base_chain_are_refused() {
        // An unreachable loop is accepted, as the kernel accepts it.
        let mut n = Nftables::new();
        n.apply("table ip t {\n\tchain a { jump b; }\n\tchain b { goto a; }\n}\n").unwrap();
        assert_eq!(
            err(
                "table ip t {\n\tchain a { jump b; }\n\tchain b { goto a; }\n\tchain base { type filter hook input priority 0; jump a; }\n}\n"
            ),
            "/dev/stdin:4:50-55: Error: Could not process rule: Too many links\n\tchain base { type filter hook input priority 0; jump a; }\n\t                                                ^^^^^^"
        );
        // Through a verdict map's element too.
        let e = n
            .apply("add chain ip t base { type filter hook input priority 0 ; }\nadd map ip t m { type inet_service : verdict ; }\nadd rule ip t base tcp dport vmap @m\nadd element ip t m { 80 : jump base }\n")
            .unwrap_err();
        assert!(e.message.contains("Too many links"), "{e}");
    }

    #[test]
    fn nat_statements_only_where_a_base_chain_can_run_them() {
        let e = err(
            "table ip t {\n\tchain f { type filter hook prerouting priority 0; jump d; }\n\tchain d {\n\t\tdnat to 10.0.0.1\n\t}\n}\n",
        );
        assert_eq!(
            e.lines().next(),
            Some("/dev/stdin:4:3-18: Error: Could not process rule: Operation not supported")
        );
        let e = err("table ip t {\n\tchain p { type nat hook prerouting priority dstnat; masquerade; }\n}\n");
        assert!(e.contains("Operation not supported"), "{e}");
        let mut n = Nftables::new();
        n.apply("table ip t {\n\tchain o { type nat hook output priority -100; dnat to 10.0.0.1; }\n\tchain i { type nat hook input priority 100; snat to 10.0.0.2; }\n}\n").unwrap();
    }

    #[test]
    fn positions_name_committed_rules_only() {
        let mut n = Nftables::new();
        n.apply("add table ip t\nadd chain ip t c\nadd rule ip t c accept\n").unwrap();
        // Handle 2 was committed by the first transaction; handle 3 is this one's own.
        n.apply("add rule ip t c position 2 drop\n").unwrap();
        let e = n.apply("add rule ip t c counter\nadd rule ip t c position 4 drop\n").unwrap_err();
        assert_eq!((e.line, e.col, e.end), (2, 17, 26));
        assert_eq!(e.message, "Could not process rule: No such file or directory");
        assert_eq!(n.list_ruleset(), "table ip t {\n\tchain c {\n\t\taccept\n\t\tdrop\n\t}\n}\n");
    }

    #[test]
    fn defines_expand_where_used() {
        let mut n = Nftables::new();
        n.apply(
            "define pods = 10.244.0.0/16\ndefine web = { 80, 443 }\ntable ip t {\n\tchain c {\n\t\tip saddr != $pods tcp dport $web accept\n\t}\n}\n",
        )
        .unwrap();
        assert!(
            n.list_ruleset().contains("ip saddr != 10.244.0.0/16 tcp dport { 80, 443 } accept"),
            "{}",
            n.list_ruleset()
        );
        let e = n.apply("add rule ip t c ip daddr $nope accept\n").unwrap_err();
        assert_eq!(e.message, "unknown identifier 'nope'");
        assert_eq!((e.line, e.col, e.end), (1, 27, 30));
    }

    #[test]
    fn canonical_forms() {
        let mut n = Nftables::new();
        n.apply(
            "add table t\nadd chain t c\nadd rule t c ip protocol tcp tcp dport 80 ip daddr { 10.0.0.0/8 } ip saddr 1.2.3.4/32 accept\nadd rule t c tcp dport == 22 ct state == new drop\n",
        )
        .unwrap();
        assert_eq!(
            n.list_ruleset(),
            "table ip t {\n\tchain c {\n\t\ttcp dport 80 ip daddr 10.0.0.0/8 ip saddr 1.2.3.4 accept\n\t\ttcp dport 22 ct state == new drop\n\t}\n}\n"
        );
    }

    mod reach {
        use proptest::prelude::*;

        use super::super::super::Nftables;
        use super::super::super::ruleset::{BaseChain, ChainType, Family, Policy};
        use super::super::{Mark, reach_is_valid, validate};
        use crate::nftables::ruleset::ChainHook;

        /// Regular chains `c0`..: each with its jumps (and gotos) to others, a `dnat` in some,
        /// a `masquerade` in others.
        fn text(chains: &[(Vec<(usize, bool)>, u8)]) -> String {
            let mut t = String::from("table ip t {\n");
            for (i, _) in chains.iter().enumerate() {
                t.push_str(&format!("\tchain c{i} {{\n\t}}\n"));
            }
            for (i, (jumps, nat)) in chains.iter().enumerate() {
                t.push_str(&format!("\tchain c{i} {{\n"));
                match nat {
                    1 => t.push_str("\t\tdnat to 10.0.0.1\n"),
                    2 => t.push_str("\t\tmasquerade\n"),
                    _ => {}
                }
                for (to, goto) in jumps {
                    let verb = if *goto { "goto" } else { "jump" };
                    t.push_str(&format!("\t\ttcp dport {} {verb} c{to}\n", 1000 + to));
                }
                t.push_str("\t}\n");
            }
            t.push_str("}\n");
            t
        }

        fn graphs() -> impl Strategy<Value = Vec<(Vec<(usize, bool)>, u8)>> {
            (1usize..24).prop_flat_map(|n| {
                proptest::collection::vec(
                    (
                        proptest::collection::vec((0..n, any::<bool>()), 0..3),
                        prop_oneof![8 => Just(0u8), 1 => Just(1), 1 => Just(2)],
                    ),
                    n,
                )
            })
        }

        proptest! {
            /// The once-per-chain check agrees with the walk of every path, for every kind of
            /// base chain the validation distinguishes.
            #[test]
            fn reach_check_agrees_with_the_path_walk(chains in graphs(), long in 0usize..24) {
                // A tail of `long` chains in a line after the last: deep reaches too.
                let mut chains = chains;
                let n = chains.len();
                if let Some(last) = chains.last_mut().filter(|_| long > 0) {
                    last.0.push((n, false));
                }
                for i in 0..long {
                    chains.push((if i + 1 < long { vec![(n + i + 1, false)] } else { Vec::new() }, 0));
                }
                let mut nft = Nftables::new();
                if let Err(e) = nft.apply(&text(&chains)) {
                    // A loop is refused as the rules are added, base chain or not.
                    prop_assert!(e.to_string().contains("Too many links"), "{}", e);
                    return Ok(());
                }
                let Some(t) = nft.ruleset().table(Family::Ip, "t") else {
                    return Err(TestCaseError::fail("no table"));
                };
                for (kind, hook) in [
                    (ChainType::Filter, ChainHook::Input),
                    (ChainType::Nat, ChainHook::Prerouting),
                    (ChainType::Nat, ChainHook::Postrouting),
                ] {
                    let base = BaseChain { kind, hook, priority: 0, policy: Policy::Accept };
                    let a = super::super::allowance(&base);
                    // Marks shared from one start to the next, as base chains of one allowance
                    // share them (and dropped after a problem).
                    let mut shared = vec![Mark::New; t.chains.len()];
                    for from in 0..t.chains.len() {
                        let walked = validate(t, &mut vec![from], a).is_ok();
                        let mut fresh = vec![Mark::New; t.chains.len()];
                        prop_assert_eq!(reach_is_valid(t, from, a, &mut fresh), walked, "from c{}", from);
                        prop_assert_eq!(reach_is_valid(t, from, a, &mut shared), walked, "shared, from c{}", from);
                        if !walked {
                            shared.fill(Mark::New);
                        }
                    }
                }
            }
        }
    }
}
