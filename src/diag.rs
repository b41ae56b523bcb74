//! User-facing diagnostics of the root package: `file:line:column: message`, collected so a
//! user sees every mistake of a file at once. Library crates return their own typed errors;
//! they are converted here.

use std::fmt;

/// One problem with the user's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (as the user named it).
    pub file: String,
    /// 1-based line, if known.
    pub line: Option<u64>,
    /// 1-based column, if known.
    pub column: Option<u64>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Diagnostic {
    /// A problem at a position.
    pub fn at(file: &str, line: u64, column: u64, message: impl Into<String>) -> Self {
        Diagnostic { file: file.to_string(), line: Some(line), column: Some(column), message: message.into() }
    }

    /// A message that already names its position (a library error's own Display).
    pub fn raw(message: impl Into<String>) -> Self {
        Diagnostic { file: String::new(), line: None, column: None, message: message.into() }
    }

    /// A problem with a file as a whole.
    pub fn plain(file: String, message: impl Into<String>) -> Self {
        Diagnostic { file, line: None, column: None, message: message.into() }
    }

    /// Converts a serde-saphyr error: its location and its first message line, without the
    /// crate's own `error: line N column M:` prefix.
    pub fn from_yaml(file: &str, e: &serde_saphyr::Error) -> Self {
        let rendered = e.to_string();
        let first = rendered.lines().next().unwrap_or("invalid YAML").trim();
        let first = first.strip_prefix("error: ").unwrap_or(first);
        let message = match first.split_once(": ") {
            Some((head, rest)) if head.starts_with("line ") && head.contains(" column ") => rest.to_string(),
            _ => first.to_string(),
        };
        match e.location() {
            Some(l) => Diagnostic::at(file, l.line(), l.column(), message),
            None => Diagnostic::plain(file.to_string(), message),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{}:{}: {}", self.file, l, c, self.message),
            (Some(l), None) => write!(f, "{}:{}: {}", self.file, l, self.message),
            _ if self.file.is_empty() => write!(f, "{}", self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Several diagnostics, printed one per line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Exactly one diagnostic.
    pub fn single(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
    /// Adds one.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    /// True when there is nothing to report.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}
