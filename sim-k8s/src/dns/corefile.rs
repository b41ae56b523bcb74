//! The Corefile: CoreDNS's configuration in the Caddyfile grammar, parsed and printed back.
//!
//! Follows coredns/caddy `caddyfile/lexer.go` and `parse.go`: tokens are separated by
//! whitespace, `"…"` quotes (only `\"` is an escape inside quotes), `#` starts a comment
//! anywhere outside quotes; a file is a list of server blocks, each a line of keys (`.:53`,
//! `cluster.local:53`, `dns://.`, a trailing comma continues the list) and an optional `{ … }`
//! of directives; a directive is a line of tokens with optional nested `{ … }` blocks;
//! `(name) { … }` defines a snippet that `import name` splices in; `{$VAR}` and `{%VAR%}` are
//! replaced from the CoreDNS container's environment (an unset variable is empty, as
//! `os.Getenv`). Errors are worded as Caddy words them (`Corefile:3 - Error during parsing:
//! Unknown directive 'foo'`), with the file name CoreDNS was started with.
//!
//! Which directives exist is CoreDNS v1.11's `plugin.cfg` ([`PLUGIN_ORDER`]); what each plugin
//! means is [`setup`]. Left out: `import` of files and globs (the simulated CoreDNS pod has only
//! its Corefile; a file import fails with Caddy's "File to import not found"). Departure: a `}`
//! on the same line as a block's last option closes the block here, where Caddy hands it to the
//! plugin as one more argument.

pub mod setup;

use std::collections::BTreeMap;
use std::fmt;

use thiserror::Error;

/// The file name CoreDNS is started with in kubeadm's Deployment (`-conf /etc/coredns/Corefile`).
pub const KUBEADM_COREFILE_PATH: &str = "/etc/coredns/Corefile";

/// CoreDNS v1.11's `plugin.cfg`: every directive the server knows, in the order its plugins run
/// for a query (not the order they are written in the Corefile).
pub const PLUGIN_ORDER: &[&str] = &[
    "root",
    "metadata",
    "geoip",
    "cancel",
    "tls",
    "timeouts",
    "reload",
    "nsid",
    "bufsize",
    "bind",
    "debug",
    "trace",
    "ready",
    "health",
    "pprof",
    "prometheus",
    "errors",
    "log",
    "dnstap",
    "local",
    "dns64",
    "acl",
    "any",
    "chaos",
    "loadbalance",
    "tsig",
    "cache",
    "rewrite",
    "header",
    "dnssec",
    "autopath",
    "minimal",
    "template",
    "transfer",
    "hosts",
    "route53",
    "azure",
    "clouddns",
    "k8s_external",
    "kubernetes",
    "file",
    "auto",
    "secondary",
    "etcd",
    "loop",
    "forward",
    "grpc",
    "erratic",
    "whoami",
    "on",
    "sign",
    "view",
];

/// A token with the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The text, quotes removed and environment references replaced.
    pub text: String,
    /// 1-based line number.
    pub line: usize,
}

/// One directive line: a name, its arguments and an optional block of sub-directive lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// The directive (or option) name.
    pub name: String,
    /// The arguments on the same line.
    pub args: Vec<String>,
    /// The `{ … }` block, if any (`Some(vec![])` for `{}`).
    pub block: Option<Vec<Directive>>,
    /// Line of the name.
    pub line: usize,
}

/// A server block: its keys and its directives in Corefile order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerBlock {
    /// The keys as written (`.:53`, `cluster.local`).
    pub keys: Vec<String>,
    /// Line of the first key.
    pub line: usize,
    /// Directives in written order.
    pub directives: Vec<Directive>,
}

/// A parsed Corefile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Corefile {
    /// The file name used in messages.
    pub file: String,
    /// Server blocks in order (snippets are expanded and not kept).
    pub blocks: Vec<ServerBlock>,
}

/// A Corefile that CoreDNS refuses, with Caddy's wording.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CorefileError {
    /// `FILE:LINE - Error during parsing: MSG` (Caddy `Dispenser.Err`).
    #[error("{file}:{line} - Error during parsing: {msg}")]
    Parse {
        /// File name.
        file: String,
        /// Line.
        line: usize,
        /// Message.
        msg: String,
    },
    /// `FILE:LINE - Syntax error: Unexpected token 'X', expecting 'Y'` (Caddy `SyntaxErr`).
    #[error("{file}:{line} - Syntax error: Unexpected token '{found}', expecting '{expected}'")]
    Syntax {
        /// File name.
        file: String,
        /// Line.
        line: usize,
        /// The token found.
        found: String,
        /// The token expected.
        expected: String,
    },
    /// A plugin's setup refused its configuration: `plugin/NAME: MSG`.
    #[error("plugin/{plugin}: {msg}")]
    Plugin {
        /// The plugin.
        plugin: String,
        /// The plugin's message (often itself a located parse error).
        msg: String,
    },
    /// A server-level problem (`cannot serve dns://.:53 - it is already defined`).
    #[error("{0}")]
    Server(String),
}

/// Longest snippet import chain Caddy allows (`maxSnippetExpansions`).
const MAX_IMPORTS: usize = 1000;

impl Corefile {
    /// Parses Corefile text. `file` names the file in messages; `env` is the CoreDNS
    /// container's environment for `{$VAR}` references.
    pub fn parse(file: &str, text: &str, env: &BTreeMap<String, String>) -> Result<Corefile, CorefileError> {
        let tokens = lex(text);
        let mut p = Parser { file, tokens, pos: 0, env, snippets: BTreeMap::new(), imports: 0 };
        let blocks = p.parse_all()?;
        Ok(Corefile { file: file.to_string(), blocks })
    }

    /// The same configuration with every line number set to 0 (for comparing two parses).
    pub fn without_lines(&self) -> Corefile {
        fn strip(d: &Directive) -> Directive {
            Directive {
                name: d.name.clone(),
                args: d.args.clone(),
                block: d.block.as_ref().map(|b| b.iter().map(strip).collect()),
                line: 0,
            }
        }
        Corefile {
            file: self.file.clone(),
            blocks: self
                .blocks
                .iter()
                .map(|b| ServerBlock {
                    keys: b.keys.clone(),
                    line: 0,
                    directives: b.directives.iter().map(strip).collect(),
                })
                .collect(),
        }
    }
}

/// Caddy's lexer: whitespace-separated words, `"…"` strings, `#` comments.
fn lex(text: &str) -> Vec<(Token, bool)> {
    let mut out = Vec::new();
    let mut line = 1;
    let chars = text.chars();
    let mut val = String::new();
    let mut start = 1;
    let mut comment = false;
    let mut quoted = false;
    let mut escaped = false;
    let mut was_quoted = false;
    for ch in chars {
        if quoted {
            if !escaped {
                if ch == '\\' {
                    escaped = true;
                    continue;
                }
                if ch == '"' {
                    quoted = false;
                    out.push((Token { text: std::mem::take(&mut val), line: start }, true));
                    was_quoted = false;
                    continue;
                }
            }
            if ch == '\n' {
                line += 1;
            }
            if escaped && ch != '"' {
                val.push('\\');
            }
            val.push(ch);
            escaped = false;
            continue;
        }
        if ch.is_whitespace() {
            if ch == '\n' {
                line += 1;
                comment = false;
            }
            if !val.is_empty() {
                out.push((Token { text: std::mem::take(&mut val), line: start }, was_quoted));
            }
            continue;
        }
        if ch == '#' {
            comment = true;
        }
        if comment {
            continue;
        }
        if val.is_empty() {
            start = line;
            if ch == '"' {
                quoted = true;
                was_quoted = true;
                continue;
            }
        }
        val.push(ch);
    }
    if quoted || !val.is_empty() {
        out.push((Token { text: val, line: start }, was_quoted));
    }
    out
}

/// `replaceEnvVars`: `{%VAR%}` then `{$VAR}`.
fn replace_env(s: &str, env: &BTreeMap<String, String>) -> String {
    let s = replace_refs(s, "{%", "%}", env);
    replace_refs(&s, "{$", "}", env)
}

fn replace_refs(s: &str, open: &str, close: &str, env: &BTreeMap<String, String>) -> String {
    let mut s = s.to_string();
    // Bounded: each pass removes one reference.
    for _ in 0..64 {
        let Some(i) = s.find(open) else { break };
        let Some(j) = s[i..].find(close).map(|j| j + i) else { break };
        if j <= i + open.len() {
            break;
        }
        let reference = s[i..j + close.len()].to_string();
        let name = &s[i + open.len()..j];
        let value = env.get(name).cloned().unwrap_or_default();
        s = s.replace(&reference, &value);
    }
    s
}

struct Parser<'a> {
    file: &'a str,
    tokens: Vec<(Token, bool)>,
    pos: usize,
    env: &'a BTreeMap<String, String>,
    snippets: BTreeMap<String, Vec<(Token, bool)>>,
    imports: usize,
}

impl Parser<'_> {
    fn err(&self, line: usize, msg: impl Into<String>) -> CorefileError {
        CorefileError::Parse { file: self.file.to_string(), line, msg: msg.into() }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn last_line(&self) -> usize {
        self.tokens.last().map_or(1, |(t, _)| t.line)
    }

    /// True when the token at `pos` starts a new line (or is the first token).
    fn new_line_at(&self, pos: usize) -> bool {
        pos == 0 || self.tokens.get(pos - 1).map(|(t, _)| t.line) != self.tokens.get(pos).map(|(t, _)| t.line)
    }

    fn is_brace(&self, pos: usize, brace: &str) -> bool {
        self.tokens.get(pos).is_some_and(|(t, _)| t.text == brace)
    }

    /// `doImport`: replaces `import NAME` at `pos` with the snippet's tokens.
    fn import(&mut self, pos: usize) -> Result<(), CorefileError> {
        let line = self.tokens[pos].0.line;
        let arg = self.tokens.get(pos + 1).filter(|(t, _)| t.line == line);
        let Some((arg, _)) = arg else {
            return Err(self.err(line, "Wrong argument count or unexpected line ending after 'import'"));
        };
        let name = replace_env(&arg.text, self.env);
        if name.is_empty() {
            return Err(self.err(line, "Import requires a non-empty filepath"));
        }
        if self.tokens.get(pos + 2).is_some_and(|(t, _)| t.line == line) {
            return Err(self.err(line, "Import takes only one argument (glob pattern or file)"));
        }
        let Some(body) = self.snippets.get(&name).cloned() else {
            return Err(self.err(line, format!("File to import not found: {name}")));
        };
        self.imports += 1;
        if self.imports > MAX_IMPORTS {
            return Err(self.err(line, format!("maximum snippet import depth ({MAX_IMPORTS}) exceeded")));
        }
        self.tokens.splice(pos..pos + 2, body);
        Ok(())
    }

    fn parse_all(&mut self) -> Result<Vec<ServerBlock>, CorefileError> {
        let mut blocks = Vec::new();
        while self.pos < self.tokens.len() {
            if self.tokens[self.pos].0.text == "import" && !self.tokens[self.pos].1 {
                self.import(self.pos)?;
                continue;
            }
            let line = self.tokens[self.pos].0.line;
            let keys = self.keys()?;
            if keys.len() == 1 && keys[0].starts_with('(') && keys[0].ends_with(')') {
                let name = keys[0][1..keys[0].len() - 1].to_string();
                self.snippet(name, line)?;
                continue;
            }
            let directives = if self.is_brace(self.pos, "{") {
                self.pos += 1;
                self.directives(true)?
            } else {
                // A single server block may omit its braces.
                self.directives(false)?
            };
            if !keys.is_empty() {
                blocks.push(ServerBlock { keys, line, directives });
            }
        }
        Ok(blocks)
    }

    /// `addresses`: the keys up to `{` or the end of the line.
    fn keys(&mut self) -> Result<Vec<String>, CorefileError> {
        let mut keys = Vec::new();
        let mut expecting_another = false;
        while let Some(tok) = self.peek() {
            let line = tok.line;
            let text = replace_env(&tok.text, self.env);
            if text == "{" && !self.tokens[self.pos].1 {
                if expecting_another {
                    return Err(self.err(
                        line,
                        format!("Expected another address but had '{text}' - check for extra comma"),
                    ));
                }
                return Ok(keys);
            }
            let mut key = text;
            if let Some(stripped) = key.strip_suffix(',') {
                key = stripped.to_string();
                expecting_another = true;
            } else {
                expecting_another = false;
            }
            if !key.is_empty() {
                keys.push(key);
            }
            self.pos += 1;
            if self.pos >= self.tokens.len() {
                if expecting_another {
                    return Err(self.err(line, "Unexpected EOF"));
                }
                return Ok(keys);
            }
            if !expecting_another && self.new_line_at(self.pos) {
                return Ok(keys);
            }
        }
        Ok(keys)
    }

    fn snippet(&mut self, name: String, line: usize) -> Result<(), CorefileError> {
        if self.snippets.contains_key(&name) {
            return Err(self.err(line, format!("redeclaration of previously declared snippet {name}")));
        }
        if !self.is_brace(self.pos, "{") {
            return Err(self.syntax(self.pos, "{"));
        }
        self.pos += 1;
        let mut depth = 1;
        let mut body = Vec::new();
        while let Some((tok, quoted)) = self.tokens.get(self.pos).cloned() {
            self.pos += 1;
            if !quoted && tok.text == "}" {
                depth -= 1;
                if depth == 0 {
                    self.snippets.insert(name, body);
                    return Ok(());
                }
            }
            if !quoted && tok.text == "{" {
                depth += 1;
            }
            body.push((tok, quoted));
        }
        Err(CorefileError::Syntax {
            file: self.file.to_string(),
            line: self.last_line(),
            found: self.tokens.last().map(|(t, _)| t.text.clone()).unwrap_or_default(),
            expected: "}".to_string(),
        })
    }

    fn syntax(&self, pos: usize, expected: &str) -> CorefileError {
        let (found, line) = match self.tokens.get(pos) {
            Some((t, _)) => (t.text.clone(), t.line),
            // At the end Caddy's cursor stays on the last token.
            None => (self.tokens.last().map(|(t, _)| t.text.clone()).unwrap_or_default(), self.last_line()),
        };
        CorefileError::Syntax { file: self.file.to_string(), line, found, expected: expected.to_string() }
    }

    /// Directive lines up to the closing `}` (when `braced`) or the end of input.
    fn directives(&mut self, braced: bool) -> Result<Vec<Directive>, CorefileError> {
        let mut out = Vec::new();
        loop {
            let Some((tok, quoted)) = self.tokens.get(self.pos).cloned() else {
                if braced {
                    return Err(self.syntax(self.pos, "}"));
                }
                return Ok(out);
            };
            if !quoted && tok.text == "}" {
                if braced {
                    self.pos += 1;
                    return Ok(out);
                }
                return Err(self.err(tok.line, "Unexpected '}' because no matching opening brace"));
            }
            if !quoted && tok.text == "import" && self.new_line_at(self.pos) {
                self.import(self.pos)?;
                continue;
            }
            let name = replace_env(&tok.text, self.env);
            if !PLUGIN_ORDER.contains(&name.as_str()) {
                return Err(self.err(tok.line, format!("Unknown directive '{name}'")));
            }
            out.push(self.line_of(name, tok.line)?);
        }
    }

    /// A directive or option line starting at `pos` (the name), with its nested block.
    fn line_of(&mut self, name: String, line: usize) -> Result<Directive, CorefileError> {
        self.pos += 1;
        let mut args = Vec::new();
        let mut block = None;
        while let Some((tok, quoted)) = self.tokens.get(self.pos).cloned() {
            if tok.line != line {
                break;
            }
            if !quoted && tok.text == "}" {
                // Closes the enclosing block (see the module doc's departure).
                break;
            }
            self.pos += 1;
            if !quoted && tok.text == "{" {
                block = Some(self.options()?);
                break;
            }
            args.push(replace_env(&tok.text, self.env));
        }
        Ok(Directive { name, args, block, line })
    }

    /// The option lines of a `{ … }` block inside a directive, up to its `}`.
    fn options(&mut self) -> Result<Vec<Directive>, CorefileError> {
        let mut out = Vec::new();
        loop {
            let Some((tok, quoted)) = self.tokens.get(self.pos).cloned() else {
                return Err(self.err(self.last_line(), "Unexpected EOF"));
            };
            if !quoted && tok.text == "}" {
                self.pos += 1;
                return Ok(out);
            }
            if !quoted && tok.text == "import" && self.new_line_at(self.pos) {
                self.import(self.pos)?;
                continue;
            }
            if !quoted && tok.text == "{" {
                return Err(self.err(tok.line, "Unexpected token '{', expecting argument"));
            }
            let name = replace_env(&tok.text, self.env);
            out.push(self.line_of(name, tok.line)?);
        }
    }
}

/// A token as it must be written to read back the same: bare when it can be, else quoted.
fn quote(text: &str) -> String {
    let bare = !text.is_empty()
        && !text.starts_with('"')
        && text != "{"
        && text != "}"
        && !text.chars().any(|c| c.is_whitespace() || c == '#');
    if bare { text.to_string() } else { format!("\"{}\"", text.replace('"', "\\\"")) }
}

fn write_lines(f: &mut fmt::Formatter<'_>, lines: &[Directive], depth: usize) -> fmt::Result {
    for d in lines {
        let pad = "    ".repeat(depth);
        write!(f, "{pad}{}", quote(&d.name))?;
        for a in &d.args {
            write!(f, " {}", quote(a))?;
        }
        match &d.block {
            None => writeln!(f)?,
            Some(inner) => {
                writeln!(f, " {{")?;
                write_lines(f, inner, depth + 1)?;
                writeln!(f, "{pad}}}")?;
            }
        }
    }
    Ok(())
}

impl fmt::Display for Corefile {
    /// The Corefile in canonical layout: four spaces per level, one option per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.blocks.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let keys: Vec<String> = b.keys.iter().map(|k| quote(k)).collect();
            writeln!(f, "{} {{", keys.join(" "))?;
            write_lines(f, &b.directives, 1)?;
            writeln!(f, "}}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Corefile, CorefileError> {
        Corefile::parse("Corefile", text, &BTreeMap::new())
    }

    #[test]
    fn kubeadm_corefile_parses_into_its_blocks() {
        let c = parse(crate::dns::coredns::KUBEADM_COREFILE).unwrap();
        assert_eq!(c.blocks.len(), 1);
        let b = &c.blocks[0];
        assert_eq!(b.keys, vec![".:53"]);
        let names: Vec<&str> = b.directives.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "errors",
                "health",
                "ready",
                "kubernetes",
                "prometheus",
                "forward",
                "cache",
                "loop",
                "reload",
                "loadbalance"
            ]
        );
        let k = &b.directives[3];
        assert_eq!(k.args, ["cluster.local", "in-addr.arpa", "ip6.arpa"]);
        assert_eq!(k.line, 7);
        let opts = k.block.as_ref().unwrap();
        assert_eq!(opts[1].name, "fallthrough");
        assert_eq!(opts[1].args, ["in-addr.arpa", "ip6.arpa"]);
        // It prints back as written (kubeadm indents options by seven spaces; we by eight).
        assert_eq!(parse(&c.to_string()).unwrap().without_lines(), c.without_lines());
    }

    #[test]
    fn errors_are_worded_as_caddy_words_them() {
        let e = |t: &str| parse(t).unwrap_err().to_string();
        assert_eq!(
            e(".:53 {\n    errors\n    foo\n}\n"),
            "Corefile:3 - Error during parsing: Unknown directive 'foo'"
        );
        assert_eq!(
            e(".:53 {\n    errors\n"),
            "Corefile:2 - Syntax error: Unexpected token 'errors', expecting '}'"
        );
        assert_eq!(
            e(". {\n  import nope\n}"),
            "Corefile:2 - Error during parsing: File to import not found: nope"
        );
        assert_eq!(
            e("a, {\n}"),
            "Corefile:1 - Error during parsing: Expected another address but had '{' - check for extra comma"
        );
        assert_eq!(
            e("(s) {\n log\n}\n(s) {\n}\n"),
            "Corefile:4 - Error during parsing: redeclaration of previously declared snippet s"
        );
        assert_eq!(
            e("errors\n}\n"),
            "Corefile:2 - Error during parsing: Unexpected '}' because no matching opening brace"
        );
    }

    #[test]
    fn snippets_env_comments_and_quotes() {
        let mut env = BTreeMap::new();
        env.insert("UPSTREAM".to_string(), "10.0.0.53".to_string());
        let text = "(common) {\n    errors\n    log\n}\n# main\ncluster.local:53, example.org {\n    import common\n    forward . {$UPSTREAM} \"a b\" # trailing\n}\n";
        let c = Corefile::parse("Corefile", text, &env).unwrap();
        let b = &c.blocks[0];
        assert_eq!(b.keys, ["cluster.local:53", "example.org"]);
        let names: Vec<&str> = b.directives.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["errors", "log", "forward"]);
        assert_eq!(b.directives[2].args, [".", "10.0.0.53", "a b"]);
        assert_eq!(b.directives[2].line, 8);
        let again = Corefile::parse("Corefile", &c.to_string(), &env).unwrap();
        assert_eq!(again.without_lines(), c.without_lines());
    }

    #[test]
    fn a_single_block_may_omit_braces() {
        let c = parse(".\nwhoami\nlog\n").unwrap();
        assert_eq!(c.blocks[0].directives.len(), 2);
    }

    proptest::proptest! {
        /// Any Corefile that parses prints back and parses to the same tree.
        #[test]
        fn printed_corefiles_parse_back_equal(
            blocks in proptest::collection::vec(
                (
                    proptest::collection::vec("[a-z.]{1,8}(:[0-9]{2,4})?", 1..3),
                    proptest::collection::vec(
                        (
                            proptest::sample::select(PLUGIN_ORDER.to_vec()),
                            proptest::collection::vec("[a-z0-9./:\" -]{0,6}", 0..3),
                            proptest::option::of(proptest::collection::vec(
                                ("[a-z_]{1,8}", proptest::collection::vec("[a-z0-9 #\"]{0,5}", 0..3)),
                                0..3,
                            )),
                        ),
                        0..4,
                    ),
                ),
                1..3,
            )
        ) {
            let mut text = String::new();
            for (keys, dirs) in &blocks {
                text.push_str(&keys.join(" "));
                text.push_str(" {\n");
                for (name, args, block) in dirs {
                    text.push_str(name);
                    for a in args {
                        text.push(' ');
                        text.push_str(&quote(a));
                    }
                    if let Some(opts) = block {
                        text.push_str(" {\n");
                        for (o, oargs) in opts {
                            text.push_str(o);
                            for a in oargs {
                                text.push(' ');
                                text.push_str(&quote(a));
                            }
                            text.push('\n');
                        }
                        text.push('}');
                    }
                    text.push('\n');
                }
                text.push_str("}\n");
            }
            let Ok(first) = parse(&text) else { return Ok(()) };
            let printed = first.to_string();
            let second = parse(&printed);
            proptest::prop_assert!(second.is_ok(), "{printed}");
            proptest::prop_assert_eq!(second.unwrap().without_lines(), first.without_lines());
        }
    }
}
