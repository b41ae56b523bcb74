//! Block-style YAML as `kubectl get -o yaml`, Helm and generators write it, read straight into
//! located trees. This is the loader's fast path: the general parser (serde-saphyr, in
//! [`super::tree`]) spends about a thousand instructions per byte on its event machinery, which
//! makes a real cluster's dump (tens of megabytes) the slowest part of loading it.
//!
//! The subset: block mappings and sequences (compact `- key: v` items included), plain scalars on
//! one line, single- and double-quoted scalars on one line, literal block scalars (`|`, `|-`),
//! the empty flow collections `{}` and `[]`, comments, one leading `---`. Plain scalars resolve
//! as serde-saphyr resolves them for an untyped value (YAML 1.1 booleans, `null`/`~`/empty,
//! decimal integers, everything else that cannot be a number is a string).
//!
//! Anything outside the subset — anchors, aliases, tags, other flow collections, folded or
//! indented block scalars, multi-line plain or quoted scalars, number spellings other than plain
//! decimal integers, tabs, carriage returns, directives, duplicate keys, any syntax error — makes
//! it decline, and the document goes through serde-saphyr, which also words every error. What it
//! accepts it must parse exactly as serde-saphyr does, values and positions alike: a differential
//! test over every YAML file in the repository and a property test hold it to that.

use super::tree::{Loc, Node, Value};

/// Deepest nesting taken on here (the general parser's limit is `tree::MAX_DEPTH`, 64).
const MAX_DEPTH: usize = 40;

/// Parses one document (the text between `---` lines) if it is in the subset: `Some(None)` for
/// a document without content, `None` to decline. `shift` is added to every line number.
pub(super) fn parse(chunk: &str, shift: u32) -> Option<Option<Node>> {
    if chunk.bytes().any(|b| b == b'\t' || b == b'\r') || chunk.starts_with('\u{feff}') {
        return None;
    }
    let mut p = Parser { lines: chunk.split('\n').collect(), line: 0, col: 0, shift, depth: 0 };
    // A leading `---` line (only the bare marker).
    if let Some(indent) = p.next_content() {
        let text = p.rest();
        if indent == 0 && text.starts_with("---") {
            if text != "---" {
                return None;
            }
            p.advance_line();
        }
    }
    let Some(indent) = p.next_content() else { return Some(None) };
    let node = p.collection(indent, false)?;
    // Nothing may follow the root collection.
    if p.next_content().is_some() {
        return None;
    }
    Some(Some(node))
}

struct Parser<'a> {
    lines: Vec<&'a str>,
    /// The current line.
    line: usize,
    /// Byte offset in the current line where its unread content starts.
    col: usize,
    shift: u32,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn current(&self) -> &'a str {
        self.lines.get(self.line).copied().unwrap_or("")
    }

    /// The unread part of the current line.
    fn rest(&self) -> &'a str {
        self.current().get(self.col..).unwrap_or("")
    }

    fn advance_line(&mut self) {
        self.line += 1;
        self.col = 0;
    }

    /// The position of byte `col` of the current line.
    fn loc_at(&self, col: usize) -> Loc {
        let line = self.current();
        let prefix = line.get(..col).unwrap_or(line);
        let column = if prefix.is_ascii() { col } else { prefix.chars().count() };
        Loc {
            line: u32::try_from(self.line + 1).unwrap_or(u32::MAX).saturating_add(self.shift),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }

    /// Moves to the next line with content (skipping blank and comment-only lines, unless the
    /// current line still has unread content) and returns its indentation.
    fn next_content(&mut self) -> Option<usize> {
        if self.col > 0 {
            return Some(self.col);
        }
        while self.line < self.lines.len() {
            let line = self.current();
            let body = line.trim_start_matches(' ');
            if body.is_empty() || body.starts_with('#') {
                self.advance_line();
                continue;
            }
            let indent = line.len() - body.len();
            self.col = indent;
            return Some(indent);
        }
        None
    }

    /// Whether the unread content is a sequence entry (`-` then a space or the line's end).
    fn at_entry(&self) -> bool {
        let r = self.rest().as_bytes();
        r.first() == Some(&b'-') && r.get(1).is_none_or(|b| *b == b' ')
    }

    /// A block collection whose first line is the current one, at `indent` (`compact`: an
    /// indentless sequence, a mapping value at its key's own indentation).
    fn collection(&mut self, indent: usize, compact: bool) -> Option<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let node = if self.at_entry() {
            self.sequence(indent, compact)
        } else if key_end(self.rest()).is_some() {
            self.mapping(indent)
        } else {
            // A scalar on a line of its own (a multi-line value): left to the general parser.
            None
        };
        self.depth -= 1;
        node
    }

    /// The value of a key or an entry whose line ended after the indicator: a collection on
    /// the following lines, or a compact sequence at the parent's own indentation (mapping
    /// values only). An empty value declines: the general parser places its null.
    fn value_below(&mut self, parent: usize, compact: bool) -> Option<Node> {
        match self.next_content() {
            Some(i) if i > parent => self.collection(i, false),
            Some(i) if i == parent && compact && self.at_entry() => self.collection(i, true),
            // An empty value: left to the general parser, which places it.
            _ => None,
        }
    }

    /// A block sequence at `indent`. An indentless one (`compact`: a mapping value at its key's
    /// own indentation) is placed, as the general parser places it, after its first `-` and the
    /// spaces that follow on that line; any other at its first `-`.
    fn sequence(&mut self, indent: usize, compact: bool) -> Option<Node> {
        let loc = if compact {
            let line = self.current();
            let after = indent + 1;
            let spaces = line.get(after..).map_or(0, |r| r.len() - r.trim_start_matches(' ').len());
            self.loc_at(after + spaces)
        } else {
            self.loc_at(indent)
        };
        let mut items = Vec::new();
        loop {
            let after_dash = self.col + 1;
            let rest = self.current().get(after_dash..).unwrap_or("");
            let body = rest.trim_start_matches(' ');
            let item = if body.is_empty() || body.starts_with('#') {
                self.advance_line();
                self.value_below(indent, false)?
            } else {
                self.col = after_dash + (rest.len() - body.len());
                self.inline_or_mapping(indent)?
            };
            items.push(item);
            match self.next_content() {
                Some(i) if i == indent && self.at_entry() => {}
                Some(i) if i > indent => return None,
                // A compact sequence ends at its mapping's next key.
                _ => break,
            }
        }
        Some(Node { value: Value::Seq(items), loc })
    }

    /// A sequence entry's content after `- `: a compact mapping, or an inline value.
    fn inline_or_mapping(&mut self, parent: usize) -> Option<Node> {
        if self.at_entry() {
            return None; // `- - x`
        }
        if key_end(self.rest()).is_some() {
            return self.collection(self.col, false);
        }
        self.inline_value(parent)
    }

    fn mapping(&mut self, indent: usize) -> Option<Node> {
        let loc = self.loc_at(indent);
        let mut entries: Vec<(Node, Node)> = Vec::new();
        loop {
            let rest = self.rest();
            let end = key_end(rest)?;
            let key = self.scalar(&rest[..end.text_end], self.col)?;
            let after = self.col + end.colon + 1;
            let tail = self.current().get(after..).unwrap_or("");
            let body = tail.trim_start_matches(' ');
            let value = if body.is_empty() || body.starts_with('#') {
                if body.starts_with('#') && body.len() == tail.len() {
                    return None; // `key:#`
                }
                self.advance_line();
                self.value_below(indent, true)?
            } else {
                if body.len() == tail.len() {
                    return None; // `key:value` is not a key
                }
                self.col = after + (tail.len() - body.len());
                self.inline_value(indent)?
            };
            entries.push((key, value));
            match self.next_content() {
                Some(i) if i == indent && !self.at_entry() => {}
                Some(i) if i >= indent => return None,
                _ => break,
            }
        }
        if has_duplicate_keys(&entries) {
            return None;
        }
        Some(Node { value: Value::Map(entries), loc })
    }

    /// A value that starts at the current position and (but for a block scalar) ends on this
    /// line, in the collection at indentation `parent`; moves past it.
    fn inline_value(&mut self, parent: usize) -> Option<Node> {
        let rest = self.rest();
        let col = self.col;
        let node = match rest.as_bytes().first()? {
            b'|' => return self.literal(rest, parent),
            b'{' | b'[' => {
                let (empty, tail) = match rest.as_bytes()[0] {
                    b'{' => (Value::Map(Vec::new()), rest.strip_prefix("{}")?),
                    _ => (Value::Seq(Vec::new()), rest.strip_prefix("[]")?),
                };
                end_of_line(tail)?;
                Node { value: empty, loc: self.loc_at(col) }
            }
            b'"' | b'\'' => {
                let (text, len) = quoted(rest)?;
                end_of_line(&rest[len..])?;
                Node { value: Value::Str(text), loc: self.loc_at(col) }
            }
            _ => {
                let text = plain_text(rest)?;
                self.scalar(text, col)?
            }
        };
        self.advance_line();
        Some(node)
    }

    /// A plain or quoted scalar (a key, or an inline plain value) starting at byte `col`.
    fn scalar(&self, text: &str, col: usize) -> Option<Node> {
        let value = match text.as_bytes().first()? {
            b'"' | b'\'' => {
                let (s, len) = quoted(text)?;
                if len != text.len() {
                    return None;
                }
                Value::Str(s)
            }
            _ => resolve_plain(text)?,
        };
        Some(Node { value, loc: self.loc_at(col) })
    }

    /// A literal block scalar (`|` or `|-`) whose header is `header`, in the collection at
    /// indentation `parent`. It is placed, as the general parser places it, at its first
    /// content line's text.
    fn literal(&mut self, header: &str, parent: usize) -> Option<Node> {
        let strip = match header.as_bytes().get(1) {
            Some(b'-') => true,
            None | Some(b' ') => false,
            _ => return None, // `|+`, indentation indicators, `|x`
        };
        end_of_line(&header[if strip { 2 } else { 1 }..])?;
        self.advance_line();
        // The first line sets the content's indentation (leading empty lines are declined).
        let first = self.current();
        let content = first.len() - first.trim_start_matches(' ').len();
        if content <= parent || content == first.len() {
            return None;
        }
        let loc = self.loc_at(content);
        let mut out = String::new();
        let mut pending_newlines = 0usize;
        while self.line < self.lines.len() {
            let line = self.current();
            let body = line.trim_start_matches(' ');
            let spaces = line.len() - body.len();
            if body.is_empty() {
                // An empty line (a longer run of spaces would be content: declined).
                if spaces > content {
                    return None;
                }
                pending_newlines += 1;
                self.advance_line();
                continue;
            }
            if spaces < content {
                break;
            }
            if !out.is_empty() {
                out.push('\n');
            }
            for _ in 0..pending_newlines {
                out.push('\n');
            }
            pending_newlines = 0;
            out.push_str(&line[content..]);
            self.advance_line();
        }
        if !strip {
            out.push('\n');
        }
        Some(Node { value: Value::Str(out), loc })
    }
}

/// Where a mapping key ends in `text`: the key's text (`..text_end`) and its colon.
struct KeyEnd {
    text_end: usize,
    colon: usize,
}

/// `text` as a mapping key line: a quoted or plain key followed by `:` and a space or the end.
fn key_end(text: &str) -> Option<KeyEnd> {
    let bytes = text.as_bytes();
    match bytes.first()? {
        b'"' | b'\'' => {
            let (_, len) = quoted(text)?;
            let after = text[len..].trim_start_matches(' ');
            let colon = text.len() - after.len();
            (after.starts_with(':') && matches!(after.as_bytes().get(1), None | Some(b' ')))
                .then_some(KeyEnd { text_end: len, colon })
        }
        b if is_indicator(*b) => None,
        _ => {
            for (i, b) in bytes.iter().enumerate() {
                match b {
                    b':' if matches!(bytes.get(i + 1), None | Some(b' ')) => {
                        let text_end = text[..i].trim_end_matches(' ').len();
                        return (text_end > 0).then_some(KeyEnd { text_end, colon: i });
                    }
                    b'#' if i > 0 && bytes[i - 1] == b' ' => return None,
                    _ => {}
                }
            }
            None
        }
    }
}

/// Bytes that cannot start a plain scalar here (or start something this subset declines).
fn is_indicator(b: u8) -> bool {
    matches!(
        b,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
            | b'.'
            | b'+'
    )
}

/// After a quoted scalar or an empty flow collection: only spaces and a comment.
fn end_of_line(tail: &str) -> Option<()> {
    let body = tail.trim_start_matches(' ');
    (body.is_empty() || (body.starts_with('#') && body.len() < tail.len())).then_some(())
}

/// A one-line plain value: up to a comment, without trailing spaces. Declines what would make
/// it a key, a continuation, or something other than a plain scalar.
fn plain_text(rest: &str) -> Option<&str> {
    let bytes = rest.as_bytes();
    if bytes.first().is_none_or(|b| is_indicator(*b) && *b != b'-') {
        return None;
    }
    let mut end = bytes.len();
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'#' if i > 0 && bytes[i - 1] == b' ' => {
                end = i;
                break;
            }
            b':' if matches!(bytes.get(i + 1), None | Some(b' ')) => return None,
            _ => {}
        }
    }
    let text = rest[..end].trim_end_matches(' ');
    (!text.is_empty()).then_some(text)
}

/// A quoted scalar at the start of `text` (on one line): its value and its length in bytes.
fn quoted(text: &str) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    let q = *bytes.first()?;
    let mut out = String::new();
    let mut i = 1;
    let mut run = 1; // start of the pending unescaped run
    while i < bytes.len() {
        let b = bytes[i];
        if b == q {
            out.push_str(&text[run..i]);
            if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                out.push('\'');
                i += 2;
                run = i;
                continue;
            }
            return Some((out, i + 1));
        }
        if q == b'"' && b == b'\\' {
            out.push_str(&text[run..i]);
            let (ch, len) = escape(&text[i + 1..])?;
            out.push(ch);
            i += 1 + len;
            run = i;
            continue;
        }
        i += 1;
    }
    None // not closed on this line
}

/// A double-quoted escape after its backslash: the character and the escape's length.
fn escape(after: &str) -> Option<(char, usize)> {
    let c = *after.as_bytes().first()?;
    let simple = match c {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'n' => '\n',
        b't' => '\t',
        b'r' => '\r',
        b'0' => '\0',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'u' => {
            let hex = after.get(1..5)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            return Some((char::from_u32(u32::from_str_radix(hex, 16).ok()?)?, 5));
        }
        _ => return None,
    };
    Some((simple, 1))
}

/// A plain scalar's value, as serde-saphyr resolves it for an untyped target (`None`: a
/// spelling this subset leaves to it, such as floats, `0x1F`, `007`, `+1`).
fn resolve_plain(t: &str) -> Option<Value> {
    if matches!(t, "~" | "null" | "Null" | "NULL") {
        return Some(Value::Null);
    }
    const TRUE: [&str; 4] = ["true", "yes", "y", "on"];
    const FALSE: [&str; 4] = ["false", "no", "n", "off"];
    if t.len() <= 5 {
        if TRUE.iter().any(|w| t.eq_ignore_ascii_case(w)) {
            return Some(Value::Bool(true));
        }
        if FALSE.iter().any(|w| t.eq_ignore_ascii_case(w)) {
            return Some(Value::Bool(false));
        }
    }
    let bytes = t.as_bytes();
    let first = *bytes.first()?;
    if first == b'-' {
        let digits = &t[1..];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
            return None;
        }
        return t.parse::<i64>().ok().map(Value::Int);
    }
    if !first.is_ascii_digit() {
        return Some(Value::Str(t.to_string()));
    }
    if bytes.iter().all(u8::is_ascii_digit) {
        if bytes.len() > 1 && first == b'0' {
            return None;
        }
        let v = t.parse::<u64>().ok()?;
        return Some(i64::try_from(v).map(Value::Int).unwrap_or(Value::UInt(v)));
    }
    // Only these bytes appear in the integer and float spellings serde-saphyr accepts (radix
    // prefixes, hex digits, underscores, one dot, an exponent); a float has at most one dot.
    let numeric = |b: &u8| b.is_ascii_hexdigit() || b"xXoO_.+-".contains(b);
    if !bytes.iter().all(numeric) || bytes.iter().filter(|b| **b == b'.').count() >= 2 {
        return Some(Value::Str(t.to_string()));
    }
    None
}

/// Whether two keys of a mapping are the same, or might be to the general parser (which
/// compares keys by their text: a quoted `"80"` and a plain `80` are declined together).
fn has_duplicate_keys(entries: &[(Node, Node)]) -> bool {
    let text = |n: &Node| match &n.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let same = |a: &Node, b: &Node| match (&a.value, &b.value) {
        (Value::Str(x), Value::Str(y)) => x == y,
        _ => a.value == b.value || text(a).is_none() || text(b).is_none() || text(a) == text(b),
    };
    if entries.len() <= 12 {
        return entries.iter().enumerate().any(|(i, (a, _))| entries[..i].iter().any(|(b, _)| same(a, b)));
    }
    let mut keys: Vec<Option<String>> = entries.iter().map(|(k, _)| text(k)).collect();
    if keys.iter().any(Option::is_none) {
        return true;
    }
    keys.sort_unstable();
    keys.windows(2).any(|w| w[0] == w[1])
}

#[cfg(test)]
mod tests;
