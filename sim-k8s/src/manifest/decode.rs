//! The second loading pass: a serde `Deserializer` over a located YAML tree (`tree::Node`) that
//! knows the field path of every value. Struct fields the type does not declare are recorded
//! (all of them, like `kubectl --validate=strict`'s `unknown field "spec.portz"`) and skipped
//! instead of aborting; null values are treated as absent, as Go's JSON decoder does for
//! `omitempty` fields. Every visited field's position is recorded so later validation errors
//! can point at `file:line:column`. Field paths are built only when something is reported
//! ([`Path`] is a chain of segments on the stack); positions are kept by a hash of the path's
//! text, so recording one costs no string. Left out: YAML tags, enums in externally tagged form.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use indexmap::IndexMap;
use sim_core::hash::FxBuildHasher;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::tree::{Loc, Node, Value};

/// A decode failure at a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// What went wrong (serde's wording).
    pub message: String,
    /// Field path, e.g. `spec.ports[0].port` (empty for the document root).
    pub path: String,
    /// Position of the offending node.
    pub loc: Option<Loc>,
}

impl DecodeError {
    fn at(mut self, path: &Path<'_>, loc: Loc) -> Self {
        if self.loc.is_none() {
            self.path = path.render();
            self.loc = Some(loc);
        }
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DecodeError { message: go_type_names(&msg.to_string()), path: String::new(), loc: None }
    }
}

/// Rewrites serde's Rust type names in "expected ..." into the Kubernetes API's terms.
fn go_type_names(msg: &str) -> String {
    let Some(i) = msg.find(", expected ") else { return msg.to_string() };
    let (head, tail) = msg.split_at(i + ", expected ".len());
    let expected = match tail {
        "i32" | "i64" | "u16" | "u32" | "u64" => "an integer",
        "a sequence" => "a list",
        "a boolean" | "a string" => tail,
        t if t.starts_with("struct ") || t == "a map" => "an object",
        t => t,
    };
    format!("{head}{expected}")
}

/// A field that the target type does not declare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownField {
    /// Full field path (`spec.portz`).
    pub path: String,
    /// Position of the key.
    pub loc: Loc,
}

/// Positions of every field path seen while decoding one object, keyed by [`path_hash`] of the
/// path's text (64 bits: a collision among one object's hundred-odd paths is not a concern).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSpans {
    spans: IndexMap<u64, Loc, FxBuildHasher>,
}

impl FieldSpans {
    /// The position of `path`, or of its nearest recorded ancestor (a missing field points at
    /// its parent), or of the object itself.
    pub fn locate(&self, path: &str) -> Option<Loc> {
        let mut p = path;
        loop {
            if let Some(l) = self.spans.get(&path_hash(p)) {
                return Some(*l);
            }
            if p.is_empty() {
                return None;
            }
            let cut = p.rfind(['.', '[']).unwrap_or(0);
            p = &p[..cut];
        }
    }

    /// True if exactly `path` was present in the source.
    pub fn contains(&self, path: &str) -> bool {
        self.spans.contains_key(&path_hash(path))
    }

    /// Number of recorded paths.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True if nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// FNV-1a over bytes: a hash that can be extended segment by segment, so a child's path hash
/// is its parent's fed with `.name` or `[i]`, equal to the hash of the whole text.
#[derive(Clone, Copy, Debug)]
struct PathHash(u64);

impl PathHash {
    const ROOT: PathHash = PathHash(0xcbf2_9ce4_8422_2325);
    fn feed(self, bytes: &[u8]) -> PathHash {
        let mut h = self.0;
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        PathHash(h)
    }
}

/// The hash under which `path`'s position is recorded.
fn path_hash(path: &str) -> u64 {
    PathHash::ROOT.feed(path.as_bytes()).0
}

/// One step of a field path.
#[derive(Clone, Debug)]
enum Seg<'p> {
    /// The document root (the empty path).
    Root,
    /// A struct field: `.name` (no dot at the root).
    Field(Cow<'p, str>),
    /// A sequence item: `[i]`.
    Index(usize),
    /// A map entry: `[key]`.
    Key(Cow<'p, str>),
}

/// A field path as a chain from the node being decoded up to the root, with its hash.
struct Path<'p> {
    parent: Option<&'p Path<'p>>,
    seg: Seg<'p>,
    hash: PathHash,
}

impl<'p> Path<'p> {
    const ROOT: Path<'static> = Path { parent: None, seg: Seg::Root, hash: PathHash::ROOT };

    fn child(parent: &'p Path<'p>, seg: Seg<'p>) -> Path<'p> {
        let at_root = matches!(parent.seg, Seg::Root);
        let hash = match &seg {
            Seg::Root => parent.hash,
            Seg::Field(name) if at_root => parent.hash.feed(name.as_bytes()),
            Seg::Field(name) => parent.hash.feed(b".").feed(name.as_bytes()),
            Seg::Index(i) => {
                let (digits, n) = decimal(*i);
                parent.hash.feed(b"[").feed(&digits[20 - n..]).feed(b"]")
            }
            Seg::Key(key) => parent.hash.feed(b"[").feed(key.as_bytes()).feed(b"]"),
        };
        Path { parent: Some(parent), seg, hash }
    }

    /// The path's text (`spec.ports[0].port`), for messages.
    fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) {
        use std::fmt::Write;
        if let Some(p) = self.parent {
            p.render_into(out);
        }
        match &self.seg {
            Seg::Root => {}
            Seg::Field(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Seg::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Seg::Key(key) => {
                out.push('[');
                out.push_str(key);
                out.push(']');
            }
        }
    }
}

/// `i`'s decimal digits, right-aligned in the buffer, and how many there are.
fn decimal(mut i: usize) -> ([u8; 20], usize) {
    let mut digits = [0u8; 20];
    let mut n = 0;
    loop {
        digits[19 - n] = b'0' + (i % 10) as u8;
        n += 1;
        i /= 10;
        if i == 0 {
            return (digits, n);
        }
    }
}

#[derive(Default)]
struct Ctx {
    unknown: RefCell<Vec<UnknownField>>,
    spans: RefCell<IndexMap<u64, Loc, FxBuildHasher>>,
    recovered: RefCell<Vec<DecodeError>>,
}

/// The result of decoding one object.
#[derive(Debug)]
pub struct Decoded<T> {
    /// The value, unless a type error stopped decoding.
    pub value: Result<T, DecodeError>,
    /// Type errors decoding recovered from (a zero value was substituted so the rest of the
    /// document could still be checked); the value must not be used if this is non-empty.
    pub recovered: Vec<DecodeError>,
    /// Every undeclared field, in document order.
    pub unknown: Vec<UnknownField>,
    /// Field positions.
    pub spans: FieldSpans,
}

/// Decodes `node` into `T`, collecting unknown fields and field positions.
pub fn decode<T: DeserializeOwned>(node: &Node) -> Decoded<T> {
    let ctx = Ctx::default();
    ctx.spans.borrow_mut().insert(Path::ROOT.hash.0, node.loc);
    let value = T::deserialize(NodeDe { node, path: &Path::ROOT, ctx: &ctx });
    Decoded {
        value,
        recovered: ctx.recovered.into_inner(),
        unknown: ctx.unknown.into_inner(),
        spans: FieldSpans { spans: ctx.spans.into_inner() },
    }
}

struct NodeDe<'a, 'p> {
    node: &'a Node,
    path: &'p Path<'p>,
    ctx: &'a Ctx,
}

impl<'a, 'p> NodeDe<'a, 'p> {
    fn wrap<T>(&self, r: Result<T, DecodeError>) -> Result<T, DecodeError> {
        r.map_err(|e| e.at(self.path, self.node.loc))
    }

    /// Records a type mismatch at this node; the caller then substitutes a zero value so
    /// decoding continues and later errors in the same document are found too.
    fn mismatch(&self, expected: &str) {
        let message = format!("invalid type: {}, expected {expected}", unexpected(&self.node.value));
        self.ctx.recovered.borrow_mut().push(DecodeError {
            message,
            path: self.path.render(),
            loc: Some(self.node.loc),
        });
    }

    fn int<'de2, V: Visitor<'de2>>(
        self,
        visitor: V,
        lo: i128,
        hi: i128,
        name: &str,
    ) -> Result<V::Value, DecodeError> {
        let v: Option<i128> = match self.node.value {
            Value::Int(i) => Some(i128::from(i)),
            Value::UInt(u) => Some(i128::from(u)),
            _ => None,
        };
        match v {
            Some(v) if (lo..=hi).contains(&v) => {
                let r = if v < 0 { visitor.visit_i64(v as i64) } else { visitor.visit_u64(v as u64) };
                self.wrap(r)
            }
            Some(v) => {
                self.ctx.recovered.borrow_mut().push(DecodeError {
                    message: format!("invalid value: integer `{v}`, expected {name}"),
                    path: self.path.render(),
                    loc: Some(self.node.loc),
                });
                visitor.visit_u64(0)
            }
            None => {
                self.mismatch("an integer");
                visitor.visit_u64(0)
            }
        }
    }

    /// Records where the child at `path` is and decodes it with `seed`.
    fn child<'de, T: DeserializeSeed<'de>>(
        &self,
        node: &'a Node,
        path: &Path<'_>,
        loc: Loc,
        seed: T,
    ) -> Result<T::Value, DecodeError> {
        self.ctx.spans.borrow_mut().insert(path.hash.0, loc);
        seed.deserialize(NodeDe { node, path, ctx: self.ctx })
    }
}

impl<'de> de::Deserializer<'de> for NodeDe<'_, '_> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let r = match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::UInt(u) => visitor.visit_u64(*u),
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_str(s),
            Value::Seq(items) => visitor.visit_seq(Seq { de: &self, items, i: 0 }),
            Value::Map(entries) => {
                visitor.visit_map(Map { de: &self, entries, i: 0, fields: None, pending: None })
            }
        };
        self.wrap(r)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let r = match &self.node.value {
            Value::Null => visitor.visit_seq(Seq { de: &self, items: &[], i: 0 }),
            Value::Seq(items) => visitor.visit_seq(Seq { de: &self, items, i: 0 }),
            _ => {
                self.mismatch("a list");
                visitor.visit_seq(Seq { de: &self, items: &[], i: 0 })
            }
        };
        self.wrap(r)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let r = match &self.node.value {
            Value::Null => {
                visitor.visit_map(Map { de: &self, entries: &[], i: 0, fields: None, pending: None })
            }
            Value::Map(entries) => {
                visitor.visit_map(Map { de: &self, entries, i: 0, fields: None, pending: None })
            }
            _ => {
                self.mismatch("an object");
                visitor.visit_map(Map { de: &self, entries: &[], i: 0, fields: None, pending: None })
            }
        };
        self.wrap(r)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let r = match &self.node.value {
            Value::Null => {
                visitor.visit_map(Map { de: &self, entries: &[], i: 0, fields: Some(fields), pending: None })
            }
            Value::Map(entries) => {
                visitor.visit_map(Map { de: &self, entries, i: 0, fields: Some(fields), pending: None })
            }
            _ => {
                self.mismatch("an object");
                visitor.visit_map(Map { de: &self, entries: &[], i: 0, fields: Some(fields), pending: None })
            }
        };
        self.wrap(r)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let r = match &self.node.value {
            Value::Str(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        };
        self.wrap(r)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.node.value {
            Value::Bool(b) => visitor.visit_bool(b),
            _ => {
                self.mismatch("a boolean");
                visitor.visit_bool(false)
            }
        }
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.int(visitor, i128::from(i32::MIN), i128::from(i32::MAX), "int32")
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.int(visitor, i128::from(i64::MIN), i128::from(i64::MAX), "int64")
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.int(visitor, 0, i128::from(u16::MAX), "uint16")
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.int(visitor, 0, i128::from(u32::MAX), "uint32")
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.int(visitor, 0, i128::from(u64::MAX), "uint64")
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match &self.node.value {
            Value::Str(s) => self.wrap(visitor.visit_str(s).map_err(|mut e: DecodeError| {
                // std's IP parser says only "invalid IP address syntax"; say it like the API
                // server's IsValidIP does, quoting the value.
                if e.message == "invalid IP address syntax" {
                    e.message = format!(
                        "Invalid value: {}: must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                        crate::validation::go_quote(s)
                    );
                }
                e
            })),
            _ => {
                self.mismatch("a string");
                visitor.visit_str("")
            }
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_str(visitor)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i128 u8 u128 f32 f64 char
        bytes byte_buf unit unit_struct tuple tuple_struct identifier
    }
}

fn unexpected(v: &Value) -> de::Unexpected<'_> {
    match v {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Int(i) => de::Unexpected::Signed(*i),
        Value::UInt(u) => de::Unexpected::Unsigned(*u),
        Value::Float(f) => de::Unexpected::Float(*f),
        Value::Str(s) => de::Unexpected::Str(s),
        Value::Seq(_) => de::Unexpected::Seq,
        Value::Map(_) => de::Unexpected::Map,
    }
}

struct Seq<'s, 'a, 'p> {
    de: &'s NodeDe<'a, 'p>,
    items: &'a [Node],
    i: usize,
}

impl<'de> SeqAccess<'de> for Seq<'_, '_, '_> {
    type Error = DecodeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        let Some(node) = self.items.get(self.i) else { return Ok(None) };
        let path = Path::child(self.de.path, Seg::Index(self.i));
        self.i += 1;
        self.de.child(node, &path, node.loc, seed).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.i)
    }
}

struct Map<'s, 'a, 'p> {
    de: &'s NodeDe<'a, 'p>,
    entries: &'a [(Node, Node)],
    i: usize,
    /// Declared fields when decoding a struct; None for plain maps.
    fields: Option<&'static [&'static str]>,
    /// The value of the key just given out, and its path segment.
    pending: Option<(&'a Node, Loc, Seg<'a>)>,
}

impl<'de> MapAccess<'de> for Map<'_, '_, '_> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DecodeError> {
        while let Some((k, v)) = self.entries.get(self.i) {
            self.i += 1;
            let key: Cow<'_, str> = match &k.value {
                Value::Str(s) => Cow::Borrowed(s),
                _ => match k.key_text() {
                    Some(t) => Cow::Owned(t),
                    None => {
                        return Err(DecodeError {
                            message: format!("a mapping key must be a scalar, found {}", k.value.describe()),
                            path: self.de.path.render(),
                            loc: Some(k.loc),
                        });
                    }
                },
            };
            if let Some(fields) = self.fields {
                if !fields.contains(&key.as_ref()) {
                    let path = Path::child(self.de.path, Seg::Field(key)).render();
                    self.de.ctx.unknown.borrow_mut().push(UnknownField { path, loc: k.loc });
                    continue;
                }
                if v.value == Value::Null {
                    // Go leaves a field at its zero value when the JSON value is null.
                    continue;
                }
            }
            let key_node;
            let node = match &key {
                Cow::Borrowed(_) => k,
                Cow::Owned(t) => {
                    key_node = Node { value: Value::Str(t.clone()), loc: k.loc };
                    &key_node
                }
            };
            let seg = if self.fields.is_some() { Seg::Field(key) } else { Seg::Key(key) };
            self.pending = Some((v, k.loc, seg));
            return seed.deserialize(NodeDe { node, path: self.de.path, ctx: self.de.ctx }).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DecodeError> {
        let Some((node, loc, seg)) = self.pending.take() else {
            return Err(de::Error::custom("value requested before key"));
        };
        let path = Path::child(self.de.path, seg);
        self.de.child(node, &path, loc, seed)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len() - self.i)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tree::parse_stream;
    use super::*;
    use crate::api::Service;

    fn first(text: &str) -> Node {
        match parse_stream(text).into_iter().next().map(|d| d.result) {
            Some(Ok(Some(n))) => n,
            other => panic!("no document: {other:?}"),
        }
    }

    #[test]
    fn collects_all_unknown_fields_and_decodes_the_rest() {
        let n = first(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  bogus: 1\nspec:\n  portz: []\n  ports:\n  - port: 80\n",
        );
        let d = decode::<Service>(&n);
        let paths: Vec<_> = d.unknown.iter().map(|u| (u.path.as_str(), u.loc.line, u.loc.column)).collect();
        assert_eq!(paths, vec![("metadata.bogus", 5, 3), ("spec.portz", 7, 3)]);
        let svc = d.value.unwrap_or_default();
        assert_eq!(svc.spec.ports[0].port, 80);
        assert_eq!(d.spans.locate("spec.ports[0].port").map(|l| l.line), Some(9));
        assert_eq!(d.spans.locate("spec.ports[0].nodePort").map(|l| l.line), Some(9));
    }

    #[test]
    fn type_errors_carry_path_and_position() {
        let n = first("kind: Service\nspec:\n  ports:\n  - port: eighty\n");
        let d = decode::<Service>(&n);
        assert!(d.value.is_ok(), "decoding recovers with a zero value");
        assert_eq!(d.recovered.len(), 1);
        let e = d.recovered[0].clone();
        assert_eq!(e.path, "spec.ports[0].port");
        assert_eq!(e.loc, Some(Loc { line: 4, column: 11 }));
        assert_eq!(e.message, "invalid type: string \"eighty\", expected an integer");
    }

    #[test]
    fn a_path_hashed_segment_by_segment_is_the_hash_of_its_text() {
        let spec = Path::child(&Path::ROOT, Seg::Field("spec".into()));
        let ports = Path::child(&spec, Seg::Field("ports".into()));
        let item = Path::child(&ports, Seg::Index(12));
        let key = Path::child(&item, Seg::Key("app.kubernetes.io/name".into()));
        for (p, text) in [
            (&spec, "spec"),
            (&ports, "spec.ports"),
            (&item, "spec.ports[12]"),
            (&key, "spec.ports[12][app.kubernetes.io/name]"),
        ] {
            assert_eq!(p.render(), text);
            assert_eq!(p.hash.0, path_hash(text), "{text}");
        }
        let seq = Path::child(&Path::ROOT, Seg::Index(0));
        let under = Path::child(&seq, Seg::Field("name".into()));
        assert_eq!((under.render(), under.hash.0), ("[0].name".to_string(), path_hash("[0].name")));
    }

    #[test]
    fn spans_know_every_field_map_key_and_item() {
        let n = first(
            "kind: Service\nmetadata:\n  labels:\n    app.kubernetes.io/name: web\nspec:\n  clusterIP: null\n  ports:\n  - port: 80\n  - port: 81\n",
        );
        let d = decode::<Service>(&n);
        assert!(d.spans.contains("metadata.labels[app.kubernetes.io/name]"));
        assert!(d.spans.contains("spec.ports[1].port"));
        assert!(!d.spans.contains("spec.ports[2]"));
        // A null field is absent, as Go decodes it: its position is its parent's.
        assert!(!d.spans.contains("spec.clusterIP"));
        assert_eq!(d.spans.locate("spec.clusterIP").map(|l| l.line), Some(5));
        assert_eq!(d.spans.locate("spec.ports[1].nodePort").map(|l| l.line), Some(9));
    }
}
