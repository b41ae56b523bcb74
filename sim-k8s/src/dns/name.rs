//! Domain names as DNS carries them: a sequence of labels, always absolute.
//!
//! Follows RFC 1035 §2.3.4 (labels of 1–63 octets, at most 255 octets on the wire) and §4.1.4
//! (message compression, handled in `message`). Comparison is ASCII case-insensitive as
//! RFC 4343 requires; the original spelling is kept for display, because CoreDNS answers with
//! the question's own spelling. Text form follows bind9's presentation format (trailing dot,
//! `\.` and `\DDD` escapes on output).
//!
//! Left out: IDN/punycode, and escape sequences on *input* (a backslash is rejected, since no
//! Kubernetes object name can contain one).

use std::fmt;

use thiserror::Error;

/// Longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;
/// Longest name in wire form, length octets and the root label included (RFC 1035 §2.3.4).
pub const MAX_NAME_WIRE_LEN: usize = 255;

/// An absolute domain name.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name {
    labels: Vec<Vec<u8>>,
}

/// Why a text name was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    /// Two dots in a row, or a leading dot.
    #[error("empty label in domain name {0:?}")]
    EmptyLabel(String),
    /// A label longer than 63 octets.
    #[error("label longer than 63 octets in domain name {0:?}")]
    LabelTooLong(String),
    /// The whole name is longer than 255 octets in wire form.
    #[error("domain name longer than 255 octets: {0:?}")]
    NameTooLong(String),
    /// A character that has no business in a Kubernetes DNS name.
    #[error("unsupported character {ch:?} in domain name {name:?}")]
    BadChar {
        /// The offending character.
        ch: char,
        /// The whole input.
        name: String,
    },
}

impl Name {
    /// The root name `.`.
    pub fn root() -> Self {
        Name { labels: Vec::new() }
    }

    /// Parses a dotted name; a trailing dot is optional (the name is absolute either way).
    pub fn parse(text: &str) -> Result<Self, NameError> {
        if text.is_empty() || text == "." {
            return Ok(Name::root());
        }
        let body = text.strip_suffix('.').unwrap_or(text);
        let mut labels = Vec::new();
        for label in body.split('.') {
            if label.is_empty() {
                return Err(NameError::EmptyLabel(text.to_string()));
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong(text.to_string()));
            }
            if let Some(ch) = label.chars().find(|c| !c.is_ascii_graphic() || *c == '\\') {
                return Err(NameError::BadChar { ch, name: text.to_string() });
            }
            labels.push(label.as_bytes().to_vec());
        }
        let name = Name { labels };
        if name.wire_len() > MAX_NAME_WIRE_LEN {
            return Err(NameError::NameTooLong(text.to_string()));
        }
        Ok(name)
    }

    /// Builds a name from raw labels (used by the wire decoder, which checked the lengths).
    pub(crate) fn from_labels(labels: Vec<Vec<u8>>) -> Self {
        Name { labels }
    }

    /// The labels, leftmost first, without the root label.
    pub fn labels(&self) -> &[Vec<u8>] {
        &self.labels
    }

    /// Number of labels (the root has none).
    pub fn label_count(&self) -> usize {
        self.labels.len()
    }

    /// True for `.`.
    pub fn is_root(&self) -> bool {
        self.labels.is_empty()
    }

    /// Length of the uncompressed wire form.
    pub fn wire_len(&self) -> usize {
        self.labels.iter().map(|l| l.len() + 1).sum::<usize>() + 1
    }

    /// The same name in lower case (the form used as a lookup key).
    pub fn to_lowercase(&self) -> Name {
        Name { labels: self.labels.iter().map(|l| l.to_ascii_lowercase()).collect() }
    }

    /// Case-insensitive equality (RFC 4343).
    pub fn eq_ignore_case(&self, other: &Name) -> bool {
        self.labels.len() == other.labels.len()
            && self.labels.iter().zip(&other.labels).all(|(a, b)| a.eq_ignore_ascii_case(b))
    }

    /// True when `self` equals `zone` or lies below it (case-insensitive).
    pub fn is_subdomain_of(&self, zone: &Name) -> bool {
        if zone.labels.len() > self.labels.len() {
            return false;
        }
        let skip = self.labels.len() - zone.labels.len();
        self.labels[skip..].iter().zip(&zone.labels).all(|(a, b)| a.eq_ignore_ascii_case(b))
    }

    /// The labels of `self` left of `zone`, as text, when `self` is inside `zone`.
    pub fn strip_zone(&self, zone: &Name) -> Option<Vec<String>> {
        if !self.is_subdomain_of(zone) {
            return None;
        }
        let keep = self.labels.len() - zone.labels.len();
        Some(self.labels[..keep].iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect())
    }

    /// The last `n` labels, spelled as in this name (the whole name when it has fewer).
    pub fn suffix(&self, n: usize) -> Name {
        let skip = self.labels.len().saturating_sub(n);
        Name { labels: self.labels[skip..].to_vec() }
    }

    /// The first `keep` labels of this name followed by `suffix`'s, failing when the result
    /// would be too long.
    pub fn with_suffix(&self, keep: usize, suffix: &Name) -> Result<Name, NameError> {
        let mut labels: Vec<Vec<u8>> = self.labels.iter().take(keep).cloned().collect();
        labels.extend(suffix.labels.iter().cloned());
        let name = Name { labels };
        if name.wire_len() > MAX_NAME_WIRE_LEN {
            return Err(NameError::NameTooLong(name.to_string()));
        }
        Ok(name)
    }

    /// `label.self`, failing when the result would be too long.
    pub fn prepend(&self, label: &str) -> Result<Name, NameError> {
        Name::parse(&format!("{label}.{self}"))
    }

    /// The name without the trailing dot, as resolvers and `getent` print it.
    pub fn to_relative_string(&self) -> String {
        let s = self.to_string();
        if self.is_root() { s } else { s.trim_end_matches('.').to_string() }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.labels.is_empty() {
            return f.write_str(".");
        }
        for label in &self.labels {
            for &b in label {
                match b {
                    b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => write!(f, "\\{}", b as char)?,
                    0x21..=0x7e => write!(f, "{}", b as char)?,
                    _ => write!(f, "\\{b:03}")?,
                }
            }
            f.write_str(".")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Name {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Name::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_keep_spelling_and_add_the_root_dot() {
        let n = Name::parse("Kubernetes.default.svc.cluster.local").unwrap();
        assert_eq!(n.to_string(), "Kubernetes.default.svc.cluster.local.");
        assert_eq!(n.to_relative_string(), "Kubernetes.default.svc.cluster.local");
        assert_eq!(Name::parse("a.b.").unwrap(), Name::parse("a.b").unwrap());
        assert_eq!(Name::root().to_string(), ".");
    }

    #[test]
    fn comparison_is_case_insensitive() {
        let a = Name::parse("KUBERNETES.default.svc.cluster.local").unwrap();
        let zone = Name::parse("cluster.LOCAL").unwrap();
        assert!(a.is_subdomain_of(&zone));
        assert!(a.eq_ignore_case(&Name::parse("kubernetes.default.svc.cluster.local").unwrap()));
        assert_eq!(a.strip_zone(&zone).unwrap(), vec!["KUBERNETES", "default", "svc"]);
        assert!(!zone.is_subdomain_of(&a));
    }

    #[test]
    fn bad_names_are_refused_with_a_reason() {
        assert!(matches!(Name::parse("a..b"), Err(NameError::EmptyLabel(_))));
        assert!(matches!(Name::parse(&"x".repeat(64)), Err(NameError::LabelTooLong(_))));
        let long = vec!["abcdefghi"; 30].join(".");
        assert!(matches!(Name::parse(&long), Err(NameError::NameTooLong(_))));
        assert!(matches!(Name::parse("a b"), Err(NameError::BadChar { ch: ' ', .. })));
    }

    #[test]
    fn display_escapes_like_bind() {
        let n = Name::from_labels(vec![b"a.b".to_vec(), vec![0x07]]);
        assert_eq!(n.to_string(), "a\\.b.\\007.");
    }
}
