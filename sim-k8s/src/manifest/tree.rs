//! A YAML document as a tree of nodes that each remember their line and column. This is the
//! first loading pass: serde-saphyr parses the text (with its budgets against alias bombs, deep
//! nesting and node floods) into `Node`s through `Spanned`, so the second pass can report any
//! field's position. Documents are split on `---` lines first so one broken document does not
//! hide the errors of the others. Left out: tags (ignored), comments, byte offsets.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Budget, Options, Spanned};

/// A 1-based line and column in a source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Loc {
    /// Line, 1-based.
    pub line: u32,
    /// Column, 1-based.
    pub column: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One YAML node and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where the node starts (the alias use site for aliases).
    pub loc: Loc,
}

/// A YAML value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `~`, `null` or an empty value.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// A short name for messages ("a mapping", "a string", ...).
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::UInt(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// The value under `key` if this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => {
                entries.iter().find(|(k, _)| matches!(&k.value, Value::Str(s) if s == key)).map(|(_, v)| v)
            }
            _ => None,
        }
    }
    /// The string value, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The key text of a scalar used as a mapping key.
    pub fn key_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::UInt(u) => Some(u.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Null => Some("null".to_string()),
            Value::Seq(_) | Value::Map(_) => None,
        }
    }
}

impl From<serde_saphyr::Location> for Loc {
    fn from(l: serde_saphyr::Location) -> Self {
        Loc {
            line: u32::try_from(l.line()).unwrap_or(u32::MAX),
            column: u32::try_from(l.column()).unwrap_or(u32::MAX),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Value>::deserialize(d)?;
        Ok(Node { value: s.value, loc: s.referenced.into() })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Int)
            .or_else(|_| u64::try_from(v).map(Value::UInt))
            .or(Ok(Value::Float(v as f64)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map(Value::Int).unwrap_or(Value::UInt(v)))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(u64::try_from(v)
            .map(|u| i64::try_from(u).map(Value::Int).unwrap_or(Value::UInt(u)))
            .unwrap_or(Value::Float(v as f64)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            out.push(n);
        }
        Ok(Value::Seq(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = map.next_entry::<Node, Node>()? {
            out.push((k, v));
        }
        Ok(Value::Map(out))
    }
}

/// One document of a stream: its tree, or why it could not be parsed.
#[derive(Clone, Debug)]
pub struct ParsedDoc {
    /// Zero-based index of the document in its file.
    pub index: usize,
    /// Line where the document's text starts.
    pub start_line: u32,
    /// The tree (None for an empty document), or a syntax error.
    pub result: Result<Option<Node>, SyntaxError>,
}

/// A YAML syntax or budget error at a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where, if the parser knew.
    pub loc: Option<Loc>,
    /// What went wrong.
    pub message: String,
}

/// Deepest nesting accepted (real manifests, even CRD schemas, stay well below this).
pub const MAX_DEPTH: usize = 64;
/// Most nodes per document, counting alias expansions, for a document up to this many bytes;
/// a larger document (a `kind: List` dump of a whole cluster) may have one node per byte, which
/// an alias bomb (a few hundred bytes expanding to billions of nodes) cannot reach.
pub const MAX_NODES: usize = 200_000;

/// The node budget of a document of `len` bytes.
fn node_budget(len: usize) -> usize {
    MAX_NODES.max(len)
}
/// Most aliases per document.
pub const MAX_ALIASES: usize = 1_000;

fn options(len: usize) -> Options {
    let mut budget = Budget::default();
    // These caps keep a hostile document to milliseconds and megabytes, and grow only with the
    // document's own size (linearly), so a cluster dump of any size still loads.
    budget.max_depth = MAX_DEPTH;
    budget.max_nodes = node_budget(len);
    budget.max_aliases = MAX_ALIASES;
    budget.max_events = 1_000_000usize.max(len.saturating_mul(4));
    budget.max_total_scalar_bytes = (16 * 1024 * 1024usize).max(len.saturating_mul(2));
    let mut o = Options::default();
    o.budget = Some(budget);
    o.with_snippet = false;
    o
}

/// Splits a stream at `---` lines, returning (start line, start byte, end byte) per document.
fn split_documents(text: &str) -> Vec<(u32, usize, usize)> {
    let mut docs = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1u32;
    let mut offset = 0usize;
    for (line_no, line) in (1u32..).zip(text.split_inclusive('\n')) {
        let body = line.trim_end_matches(['\n', '\r']);
        let is_marker = body == "---" || body.starts_with("--- ") || body.starts_with("---\t");
        if is_marker && offset > start {
            docs.push((start_line, start, offset));
            start = offset;
            start_line = line_no;
        } else if is_marker {
            start_line = line_no;
        }
        offset += line.len();
    }
    docs.push((start_line, start, text.len()));
    docs
}

fn message_of(e: &serde_saphyr::Error, len: usize) -> String {
    use serde_saphyr::budget::BudgetBreach;
    let max_nodes = node_budget(len);
    if let serde_saphyr::Error::Budget { breach, .. } = e {
        return match breach {
            BudgetBreach::Depth { .. } => format!("nesting is too deep (more than {MAX_DEPTH} levels)"),
            BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => {
                format!("document is too large: more than {max_nodes} nodes (an alias bomb expands to this)")
            }
            BudgetBreach::Aliases { .. } => format!("too many aliases (more than {MAX_ALIASES})"),
            other => format!("document exceeds a parser limit ({other:?})"),
        };
    }
    // Display may append "at line X column Y"; we print positions ourselves.
    let full = e.to_string();
    if full.starts_with("recursion limit exceeded") || full.contains("budget breached: Depth") {
        return format!("nesting is too deep (more than {MAX_DEPTH} levels)");
    }
    if full.contains("budget breached: Nodes") || full.contains("budget breached: Events") {
        return format!("document is too large: more than {max_nodes} nodes (an alias bomb expands to this)");
    }
    if full.contains("budget breached: Aliases") {
        return format!("too many aliases (more than {MAX_ALIASES})");
    }
    if let Some(rest) = full.strip_prefix("duplicate mapping key: ") {
        // Phrase it like the YAML-to-JSON step kubectl uses.
        let key = rest.split(", set DuplicateKeyPolicy").next().unwrap_or(rest).trim();
        return format!("key {} already set in map", crate::validation::go_quote(key));
    }
    let first = full.lines().next().unwrap_or("").trim().to_string();
    match first.find(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first,
    }
}

/// Parses every document of `text` into trees; positions are relative to the whole text.
/// Block-style documents take the fast path ([`super::block_yaml`]); the others, and every
/// document with an error, go through serde-saphyr.
pub fn parse_stream(text: &str) -> Vec<ParsedDoc> {
    let mut out = Vec::new();
    for (index, (start_line, from, to)) in split_documents(text).into_iter().enumerate() {
        let chunk = &text[from..to];
        let shift = start_line - 1;
        let result = match super::block_yaml::parse(chunk, shift) {
            Some(node) => Ok(node),
            None => parse_general(chunk, shift),
        };
        if matches!(result, Ok(None)) && chunk.trim().trim_start_matches("---").trim().is_empty() {
            continue;
        }
        out.push(ParsedDoc { index, start_line, result });
    }
    out
}

/// One document through serde-saphyr, its lines shifted by `shift`.
pub(super) fn parse_general(chunk: &str, shift: u32) -> Result<Option<Node>, SyntaxError> {
    match serde_saphyr::from_multiple_with_options::<Option<Node>>(chunk, options(chunk.len())) {
        Ok(mut nodes) => {
            let mut node = nodes.drain(..).flatten().next();
            if let Some(n) = node.as_mut() {
                shift_lines(n, shift);
            }
            Ok(node)
        }
        Err(e) => Err(SyntaxError {
            loc: e.location().map(|l| {
                let mut loc = Loc::from(l);
                loc.line += shift;
                loc
            }),
            message: message_of(&e, chunk.len()),
        }),
    }
}

/// The documents of `text` as `split_documents` cuts them: (start line, text).
#[cfg(test)]
pub(super) fn documents(text: &str) -> Vec<(u32, &str)> {
    split_documents(text).into_iter().map(|(line, from, to)| (line, &text[from..to])).collect()
}

fn shift_lines(n: &mut Node, shift: u32) {
    // Iterative walk: depth is bounded by the budget, but avoid recursion anyway.
    let mut stack = vec![n];
    while let Some(node) = stack.pop() {
        node.loc.line += shift;
        match &mut node.value {
            Value::Seq(items) => stack.extend(items.iter_mut()),
            Value::Map(entries) => {
                for (k, v) in entries.iter_mut() {
                    stack.push(k);
                    stack.push(v);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_carry_positions() {
        let docs = parse_stream("a: 1\nb:\n  - x\n  - {c: true}\n---\nkind: Service\n");
        assert_eq!(docs.len(), 2);
        let Ok(Some(root)) = &docs[0].result else { panic!("{:?}", docs[0].result) };
        let b = root.get("b").map(|n| n.loc);
        assert_eq!(b, Some(Loc { line: 3, column: 3 }));
        let Value::Map(entries) = &root.value else { panic!("not a map") };
        assert_eq!(entries[0].0.loc, Loc { line: 1, column: 1 });
        assert_eq!(entries[0].1.value, Value::Int(1));
        let Ok(Some(second)) = &docs[1].result else { panic!("second") };
        assert_eq!(second.get("kind").map(|n| n.loc), Some(Loc { line: 6, column: 7 }));
    }

    #[test]
    fn broken_document_does_not_hide_the_next() {
        let docs = parse_stream("a: [1, 2\n---\nb: 2\n");
        assert_eq!(docs.len(), 2);
        assert!(docs[0].result.is_err());
        assert!(matches!(docs[1].result, Ok(Some(_))));
    }

    #[test]
    fn empty_documents_are_skipped() {
        let docs = parse_stream("---\n---\na: 1\n---\n");
        assert_eq!(docs.len(), 1);
    }
}
