//! The `nft -f` scanner (after `src/scanner.l`): words (identifiers, which may hold `/`, `-`,
//! `_` and `.` after their first character), numbers, IPv4 and IPv6 addresses (an IPv6
//! address is the longest run of hex digits, colons and dots that parses as one, as the
//! scanner's `ip6addr` patterns match greedily: `fd00::2:80` is one address), times (`3h`), quoted
//! strings, punctuation, and newlines (statement separators). `#` starts a comment; a
//! backslash before a newline joins lines.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A token's kind; text tokens borrow from the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok<'a> {
    /// An identifier or keyword.
    Word(&'a str),
    /// A decimal or hexadecimal number.
    Num(u64),
    /// A dotted-quad address.
    Addr(Ipv4Addr),
    /// An IPv6 address.
    Addr6(Ipv6Addr),
    /// A digit-led word that is neither (`3h`, `1.2.3.400`).
    Digits(&'a str),
    /// `"..."` (without the quotes).
    Str(&'a str),
    /// A punctuation character (`{ } ; , : . = @ $ / - + ( ) & | ^ < >`) or `!=`, `==`,
    /// `<=`, `>=`.
    Punct(&'static str),
    /// A newline.
    Newline,
    /// The end of the input.
    Eof,
}

/// A token with its position (1-based line and columns in characters, the end inclusive).
/// Positions are 32-bit: a ruleset of kube-proxy's size has millions of tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    /// The kind.
    pub tok: Tok<'a>,
    /// Line.
    pub line: u32,
    /// First column.
    pub col: u32,
    /// Last column.
    pub end: u32,
}

impl<'a> Token<'a> {
    fn new(tok: Tok<'a>, line: usize, col: usize, end: usize) -> Self {
        let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Token { tok, line: narrow(line), col: narrow(col), end: narrow(end) }
    }

    /// Line, first and last column.
    pub fn position(&self) -> (usize, usize, usize) {
        let wide = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
        (wide(self.line), wide(self.col), wide(self.end))
    }
}

const PUNCT: [&str; 23] = [
    "!=", "==", "<=", ">=", "{", "}", ";", ",", ":", ".", "=", "@", "$", "/", "-", "+", "(", ")", "&", "|",
    "^", "[", "]",
];

/// The IPv6 address starting at byte `i`, if one does, and its length in bytes (all ASCII).
fn ipv6_at(src: &str, i: usize) -> Option<(Ipv6Addr, usize)> {
    let b = src.as_bytes();
    let mut j = i;
    let mut colons = 0;
    while j < b.len() && (b[j].is_ascii_hexdigit() || b[j] == b':' || b[j] == b'.') {
        colons += usize::from(b[j] == b':');
        j += 1;
    }
    // A word goes on (`dead:beefy`): not an address.
    if colons < 2 || b.get(j).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
        return None;
    }
    while j > i && b[j - 1] == b'.' {
        j -= 1;
    }
    src[i..j].parse::<Ipv6Addr>().ok().map(|a| (a, j - i))
}

/// Splits `src` into tokens; the last is [`Tok::Eof`]. An unknown character is returned as
/// its position. The scan is over bytes: outside quoted strings and comments every token is
/// ASCII, and a column counts characters.
pub fn lex(src: &str) -> Result<Vec<Token<'_>>, (usize, usize)> {
    let b = src.as_bytes();
    // About one token per five bytes of kube-proxy's rulesets.
    let mut out = Vec::with_capacity(b.len() / 5 + 1);
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    while i < b.len() {
        let c = b[i];
        if c == b'\\' && b.get(i + 1) == Some(&b'\n') {
            i += 2;
            line += 1;
            col = 1;
            continue;
        }
        if c == b'\n' {
            out.push(Token::new(Tok::Newline, line, col, col));
            i += 1;
            line += 1;
            col = 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            col += 1;
            continue;
        }
        if c >= 0x80 {
            // Outside strings and comments only whitespace may be non-ASCII.
            let ch = src[i..].chars().next().unwrap_or('\u{fffd}');
            if ch.is_whitespace() {
                i += ch.len_utf8();
                col += 1;
                continue;
            }
            return Err((line, col));
        }
        if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = col;
        if (c.is_ascii_hexdigit() || c == b':')
            && let Some((a, n)) = ipv6_at(src, i)
        {
            out.push(Token::new(Tok::Addr6(a), line, start, start + n - 1));
            i += n;
            col += n;
            continue;
        }
        if c == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' && b[j] != b'\n' {
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                return Err((line, start));
            }
            let s = &src[i + 1..j];
            let n = s.chars().count() + 2;
            out.push(Token::new(Tok::Str(s), line, start, start + n - 1));
            i = j + 1;
            col += n;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'/' | b'-' | b'_' | b'.')) {
                j += 1;
            }
            // A word does not end with a dot or a dash (`ip daddr . meta`).
            while j > i + 1 && matches!(b[j - 1], b'.' | b'-') {
                j -= 1;
            }
            let n = j - i;
            out.push(Token::new(Tok::Word(&src[i..j]), line, start, start + n - 1));
            i = j;
            col += n;
            continue;
        }
        if c.is_ascii_digit() {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.') {
                j += 1;
            }
            while j > i + 1 && b[j - 1] == b'.' {
                j -= 1;
            }
            let w = &src[i..j];
            let n = j - i;
            let tok = if let Some(v) = super::expr::parse_number(w) {
                Tok::Num(v)
            } else if let Ok(a) = w.parse::<Ipv4Addr>() {
                Tok::Addr(a)
            } else {
                Tok::Digits(w)
            };
            out.push(Token::new(tok, line, start, start + n - 1));
            i = j;
            col += n;
            continue;
        }
        let rest = &b[i..b.len().min(i + 2)];
        match PUNCT.iter().find(|p| rest.starts_with(p.as_bytes())) {
            Some(p) => {
                let n = p.len();
                out.push(Token::new(Tok::Punct(p), line, start, start + n - 1));
                i += n;
                col += n;
            }
            None if c == b'<' || c == b'>' => {
                let p = if c == b'<' { "<" } else { ">" };
                out.push(Token::new(Tok::Punct(p), line, start, start));
                i += 1;
                col += 1;
            }
            None => return Err((line, start)),
        }
    }
    out.push(Token::new(Tok::Eof, line, col, col));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_names_addresses_and_punctuation() {
        let t = lex("goto endpoint-5OJB/p80__10.180.0.1/80 10.0.0.0/8 . 3h 0x4000 != \"c d\"\n").unwrap();
        let kinds: Vec<Tok> = t.into_iter().map(|t| t.tok).collect();
        assert_eq!(
            kinds,
            vec![
                Tok::Word("goto"),
                Tok::Word("endpoint-5OJB/p80__10.180.0.1/80"),
                Tok::Addr(Ipv4Addr::new(10, 0, 0, 0)),
                Tok::Punct("/"),
                Tok::Num(8),
                Tok::Punct("."),
                Tok::Digits("3h"),
                Tok::Num(0x4000),
                Tok::Punct("!="),
                Tok::Str("c d"),
                Tok::Newline,
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        // nft's columns are characters: a two-byte `é` in a string is one column.
        let t = lex("add rule x \"h\u{e9}llo\" @ \u{a0}:\n").unwrap();
        let at: Vec<(Tok<'_>, u32, u32)> = t.iter().map(|t| (t.tok, t.col, t.end)).collect();
        assert_eq!(at[3], (Tok::Str("h\u{e9}llo"), 12, 18));
        assert_eq!(at[4], (Tok::Punct("@"), 20, 20));
        // A no-break space separates tokens as whitespace does.
        assert_eq!(at[5], (Tok::Punct(":"), 23, 23));
        assert_eq!(lex("add \u{e9}"), Err((1, 5)));
    }
}
